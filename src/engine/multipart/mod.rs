//! Multipart uploads in the engine. An upload is a MULTIPART_START record (the upload id in its
//! version-id field, the object's future metadata in its meta); each part is chunk records under the
//! part upload's own chunk token, then a MULTIPART_PART record listing them; completion writes one
//! OBJECT_COMMIT record listing every chunk of the parts it takes, and a MULTIPART_END record in the
//! same group; abort writes the MULTIPART_END record alone. The partition's index keeps the uploads
//! in progress (`partition/uploads.rs`), so nothing here scans.

mod details;
mod replay;
mod types;

use details::encryption_info;
pub(crate) use replay::replay;
pub use types::{
    CompleteOptions, PartInfo, PartOptions, UploadDetails, UploadOptions, UploadStarted, UploadSummary,
};

use std::collections::BTreeMap;
use std::io::Read;
use std::ops::Bound;

use md5::{Digest, Md5};

use super::objects::{BodyPieces, chunk_token, name_error};
use super::options::{
    BodyFinish, Encryption, EncryptionInfo, NewVersion, ObjectInfo, PutOptions, WriteCondition, info_from,
    with_meta,
};
use crate::engine::crypto::parts::PartSeal;
use crate::engine::crypto::{CustomerKey, CustomerKeyMac, Envelope};
use crate::engine::format::meta::{CHUNKS_PER_MULTIPART_OBJECT_MAX, ChunkRef, ObjectMeta, PartSeals};
use crate::engine::format::record::{
    FLAG_NULL_VERSION, RecordKind, RecordParts, decode_record, encode_record,
};
use crate::engine::partition::index::{EntryKind, IndexEntry, spans_of};
use crate::engine::partition::rate::RequestKind;
use crate::engine::partition::uploads::{PartEntry, RecordAt, Upload, UploadKey, after_marker};
use crate::engine::partition::{Condition, Effect, Partition, Precondition, WriteRecord, stats};
use crate::engine::sealing_parts::{StartSeal, UploadName};
use crate::engine::store::Store;
use crate::error::{CorruptionSite, Error, Result};
use crate::limits::{COMMIT_META_BYTES_MAX, PART_BYTES_MAX, PART_NUMBER_MAX, RECORD_META_BYTES_MAX};
use crate::types::{
    BucketId, Durability, StorageClass, VersionId, check_key, parse_upload_id, upload_id_string,
};

/// Which parts of an upload a call needs.
#[derive(Clone, Copy)]
enum Parts<'a> {
    None,
    All,
    /// Numbers above the first, at most the second many.
    After(u32, usize),
    Numbers(&'a [u32]),
}

fn no_such_upload(upload_id: &str) -> Error {
    Error::NoSuchUpload { upload_id: upload_id.to_owned() }
}

fn upload_precondition(bucket: u64, key: &str, upload: [u8; 16]) -> Precondition {
    Precondition { bucket, key: key.as_bytes().to_vec(), condition: Condition::Any, upload: Some(upload) }
}

impl Store {
    /// The names of an upload, for an SSE-C refusal.
    fn upload_name<'a>(&self, bucket: BucketId, key: &'a str, upload_id: &'a str) -> Result<UploadName<'a>> {
        Ok(UploadName { bucket: self.bucket_name(bucket)?, key, upload_id })
    }

    fn parse_upload(&self, upload_id: &str) -> Result<[u8; 16]> {
        parse_upload_id(upload_id).ok_or_else(|| no_such_upload(upload_id))
    }

    /// The upload as the index has it now with only the parts `which` selects (cloning all of
    /// 10,000 parts for every part upload would make an upload quadratic), or `NoSuchUpload`.
    fn open_upload(
        &self,
        part: &Partition,
        bucket: BucketId,
        key: &str,
        upload_id: &str,
        which: Parts<'_>,
    ) -> Result<Upload> {
        let id = self.parse_upload(upload_id)?;
        let ix = part.index.read();
        let u = ix.uploads().get(bucket.0, key.as_bytes(), id).ok_or_else(|| no_such_upload(upload_id))?;
        let parts = match which {
            Parts::None => BTreeMap::new(),
            Parts::All => u.parts.clone(),
            Parts::After(after, max) => {
                u.parts.range(after.saturating_add(1)..).take(max).map(|(n, p)| (*n, p.clone())).collect()
            }
            Parts::Numbers(numbers) => {
                numbers.iter().filter_map(|n| u.parts.get(n).map(|p| (*n, p.clone()))).collect()
            }
        };
        Ok(Upload { at: u.at, seq: u.seq, initiated_ms: u.initiated_ms, class: u.class, parts })
    }

    /// Begins a multipart upload (CreateMultipartUpload).
    ///
    /// # Errors
    /// `NoSuchBucket`, `KeyTooLong`, `InvalidArgument` for metadata over 64 KiB, `Io`/`PreviousIo`.
    pub fn create_upload(&self, bucket: BucketId, key: &str, opts: &UploadOptions) -> Result<UploadStarted> {
        self.inner.ctx.check()?;
        check_key(key)?;
        let write = self.begin_write(bucket)?;
        let part = self.partition(bucket.0, key.as_bytes());
        self.admit(part, bucket.0, key.as_bytes(), RequestKind::Write)?;
        let id = self.new_version_id().0;
        let initiated_ms = self.now_ms();
        // The upload's data key is drawn now and kept (wrapped) in the start record: it survives
        // a reopen, and goes with the upload's records when it ends.
        // Crypto-shred: the upload's key slot, erased if the start record is never submitted.
        let enc = opts.encryption.as_ref().or(write.default_encryption.as_ref());
        let context = crate::engine::sealing::context_for(enc, opts.encryption_context.as_ref())?;
        let (envelope, kms_context, _key_use, mut key_slot) = match enc {
            Some(enc) => {
                let sealed = self.seal_upload(bucket, key, id, enc, context)?;
                (Some(sealed.envelope), sealed.kms_context, sealed.key_use, sealed.slot)
            }
            None => (None, None, None, None),
        };
        let encryption = encryption_info(envelope.as_deref());
        let meta = ObjectMeta {
            mtime_ms: initiated_ms,
            content_type: opts.content_type.clone(),
            user: opts.user_metadata.clone(),
            system: opts.system_metadata.clone(),
            tags: opts.tags.clone(),
            envelope,
            key_slot: key_slot.as_ref().map(|g| (g.slot, g.owner.tag)),
            kms_context,
            acl: opts.acl.clone(),
            ..ObjectMeta::default()
        };
        let meta = meta_bytes(&meta)?;
        let bytes = encode_record(&RecordParts {
            kind: RecordKind::MultipartStart,
            flags: 0,
            seq: 0,
            bucket_id: bucket.0,
            version_id: id,
            chunk_index: 0,
            key: key.as_bytes(),
            meta: &meta,
            body: &[],
        });
        let upload = Upload {
            at: RecordAt { segment_id: 0, offset: 0, len: 0 },
            seq: 0,
            initiated_ms,
            class: opts.storage_class,
            parts: BTreeMap::new(),
        };
        let effect = Effect::UploadStart { key: (bucket.0, key.as_bytes().to_vec(), id), upload };
        let durability = self.durability(opts.durability);
        // From here the slot is the upload's (a failed submit is an I/O error: whether the start
        // record survived, the next open's sweep tells).
        if let Some(g) = &mut key_slot {
            g.disarm();
        }
        part.submit(vec![WriteRecord::new(bytes, effect)], opts.storage_class, durability, None)
            .map_err(|e| name_error(e, &write))?;
        Ok(UploadStarted { upload_id: upload_id_string(id), initiated_ms, encryption })
    }

    /// Stores one part of an upload in progress (UploadPart); a part uploaded again under the same
    /// number replaces the earlier one. Bodies of any size up to 5 GiB are streamed as chunk
    /// records, never held whole.
    ///
    /// # Errors
    /// `NoSuchUpload` (also when the upload ends while the part is being written: its bytes are
    /// then dead), `InvalidArgument` for a part number outside 1..=10,000 or a length mismatch,
    /// `EntityTooLarge` over 5 GiB, `BodyRead`, what `finish` returns, `Io`/`PreviousIo`.
    pub fn upload_part(
        &self,
        bucket: BucketId,
        key: &str,
        upload_id: &str,
        part_number: u32,
        mut body: impl Read,
        opts: &PartOptions,
    ) -> Result<PartInfo> {
        self.inner.ctx.check()?;
        check_key(key)?;
        check_part_number(part_number)?;
        let write = self.begin_write(bucket)?;
        let part = self.partition(bucket.0, key.as_bytes());
        let id = self.parse_upload(upload_id)?;
        let (upload, sealing) = {
            // The start record says whether the parts are sealed; no rewrite moves it meanwhile.
            let _still = part.hold_rewrites();
            let upload = self.open_upload(part, bucket, key, upload_id, Parts::None)?;
            let start =
                read_upload_record(part, bucket.0, key, id, RecordKind::MultipartStart, 0, upload.at)?;
            let sealing = match &start.envelope {
                Some(env) => {
                    let site = site_of(part, upload.at);
                    let customer = opts.customer_key.as_ref();
                    let seal = StartSeal {
                        envelope: env,
                        key_slot: start.key_slot,
                        kms_context: start.kms_context.as_deref(),
                    };
                    let upload_key = self.open_upload_key(bucket, key, id, seal, customer, site)?;
                    // A new salt per attempt: a part uploaded again never reuses a (key, nonce).
                    let (salt, sealer) = self.part_sealer(&upload_key, bucket, key, id, part_number);
                    Some((salt, sealer, upload_key))
                }
                // A customer key for an upload stored in the clear is not the one it was created with.
                None if opts.customer_key.is_some() => {
                    return Err(self.upload_name(bucket, key, upload_id)?.mismatch());
                }
                None => None,
            };
            (upload, sealing)
        };
        // The upload's key (and the use of its master key) is held until the part is indexed.
        let (salt, sealer, _upload_key) = match sealing {
            Some((salt, s, k)) => (Some(salt), Some(s), Some(k)),
            None => (None, None, None),
        };
        self.admit(part, bucket.0, key.as_bytes(), RequestKind::Write)?;
        let durability = self.durability(opts.durability);
        let limit = opts.content_length.map_or(PART_BYTES_MAX + 1, |l| l.saturating_add(1));
        let pieces = BodyPieces { first: None, body: &mut body, eof: false, left: limit };
        let token = chunk_token(&self.inner.ctx.ids);
        let put_opts = PutOptions {
            content_length: opts.content_length,
            storage_class: upload.class,
            ..PutOptions::default()
        };
        let mut written =
            self.write_chunks(part, bucket.0, key, token, pieces, durability, &put_opts, sealer)?;
        if let Some(expected) = opts.content_length.filter(|&e| e != written.size) {
            return Err(Error::InvalidArgument {
                name: "Content-Length",
                value: expected.to_string(),
                reason: format!("the part has {} bytes", written.size),
            });
        }
        let checksums = match &opts.finish {
            Some(finish) => (finish.0)(&written.etag)?,
            None => Vec::new(),
        };
        let mtime_ms = self.now_ms();
        let meta = ObjectMeta {
            mtime_ms,
            size: written.size,
            etag: written.etag.to_vec(),
            checksums: checksums.clone(),
            chunks: written.chunks.clone(),
            chunk_token: Some(token),
            part_salt: salt,
            ..ObjectMeta::default()
        };
        let meta = meta_bytes(&meta)?;
        let bytes = encode_record(&RecordParts {
            kind: RecordKind::MultipartPart,
            flags: 0,
            seq: 0,
            bucket_id: bucket.0,
            version_id: id,
            chunk_index: part_number,
            key: key.as_bytes(),
            meta: &meta,
            body: &[],
        });
        let entry = PartEntry {
            at: RecordAt { segment_id: 0, offset: 0, len: 0 },
            seq: 0,
            size: written.size,
            mtime_ms,
            etag: written.etag,
            spans: spans_of(&written.chunks, key.len()).into(),
        };
        let effect = Effect::UploadPart {
            key: (bucket.0, key.as_bytes().to_vec(), id),
            number: part_number,
            part: entry,
        };
        let pre = upload_precondition(bucket.0, key, id);
        let submitted =
            part.submit(vec![WriteRecord::new(bytes, effect)], upload.class, durability, Some(pre));
        // The part record settles its chunks whether or not the upload is still open: applied (or
        // refused before writing, when `Drop` counts them abandoned).
        written.committed = submitted.is_ok();
        submitted.map_err(|e| name_error(e, &write))?;
        stats::add(&part.counters.bytes_in, written.size);
        Ok(PartInfo {
            part_number,
            size: written.size,
            e_tag: super::options::etag_string(&written.etag),
            md5: written.etag,
            last_modified_ms: mtime_ms,
            checksums,
        })
    }

    /// Completes an upload with `parts`: (part number, strictly ascending in 1..=10,000; the MD5
    /// the caller expects the part to have, if any). One object version whose body is the parts'
    /// bytes in order, committed atomically with the upload's end. The MD5s are checked against
    /// the same reading of the parts the commit is made from, so a part uploaded again meanwhile
    /// is never taken in place of the one the caller checked.
    ///
    /// # Errors
    /// `MalformedXML` for no parts, `InvalidPartOrder`, `InvalidArgument` for a part number out of
    /// range, `NoSuchUpload`, `InvalidPart` for a number the upload does not have or an MD5 that
    /// differs, `EntityTooLarge` past the chunks one commit record can list, `PreconditionFailed`
    /// for a failed condition, `Io`/`PreviousIo`.
    pub fn complete_upload(
        &self,
        bucket: BucketId,
        key: &str,
        upload_id: &str,
        parts: &[(u32, Option<[u8; 16]>)],
        opts: &CompleteOptions,
    ) -> Result<ObjectInfo> {
        if parts.is_empty() {
            return Err(Error::MalformedXML {
                reason: "CompleteMultipartUpload needs at least one part".into(),
            });
        }
        for (i, &(n, _)) in parts.iter().enumerate() {
            check_part_number(n)?;
            if i > 0 && n <= parts[i - 1].0 {
                return Err(Error::InvalidPartOrder { part_number: n, previous: parts[i - 1].0 });
            }
        }
        let numbers: Vec<u32> = parts.iter().map(|(n, _)| *n).collect();
        self.inner.ctx.check()?;
        check_key(key)?;
        let write = self.begin_write(bucket)?;
        let part = self.partition(bucket.0, key.as_bytes());
        self.admit(part, bucket.0, key.as_bytes(), RequestKind::Write)?;
        // The commit record names the parts' chunks where they are: no rewrite may move them
        // between reading the part records and the commit (it would leave the object pointing at
        // a retired segment).
        let _no_rewrite = part.hold_rewrites();
        let upload = self.open_upload(part, bucket, key, upload_id, Parts::Numbers(&numbers))?;
        let id = self.parse_upload(upload_id)?;
        let start = read_upload_record(part, bucket.0, key, id, RecordKind::MultipartStart, 0, upload.at)?;
        let customer = opts.customer_key.as_ref();
        let upload_key = match &start.envelope {
            Some(env) => Some(self.open_upload_for_completion(
                bucket,
                key,
                id,
                StartSeal {
                    envelope: env,
                    key_slot: start.key_slot,
                    kms_context: start.kms_context.as_deref(),
                },
                customer,
                site_of(part, upload.at),
            )?),
            None if customer.is_some() => return Err(self.upload_name(bucket, key, upload_id)?.mismatch()),
            None => None,
        };
        let mut seals = Vec::with_capacity(if upload_key.is_some() { numbers.len() } else { 0 });
        let mut chunks: Vec<ChunkRef> = Vec::new();
        let mut runs = Vec::with_capacity(numbers.len());
        let mut md5s = Md5::new();
        let mut size = 0u64;
        for &(n, md5) in parts {
            let p = upload.parts.get(&n).ok_or_else(|| Error::InvalidPart {
                part_number: n,
                reason: "the upload has no such part".into(),
            })?;
            if md5.is_some_and(|m| m != p.etag) {
                return Err(Error::InvalidPart {
                    part_number: n,
                    reason: "the part's ETag is not the one named (uploaded again meanwhile?)".into(),
                });
            }
            let meta = read_upload_record(part, bucket.0, key, id, RecordKind::MultipartPart, n, p.at)?;
            let token =
                meta.chunk_token.ok_or_else(|| corrupt(part, p.at, "part record without chunk token"))?;
            match (upload_key.is_some(), meta.part_salt) {
                (true, Some(salt)) => seals.push(PartSeal { number: n, salt, size: p.size }),
                (false, None) => {}
                (true, None) => return Err(corrupt(part, p.at, "part of a sealed upload without its salt")),
                (false, Some(_)) => return Err(corrupt(part, p.at, "sealed part of an upload in the clear")),
            }
            runs.push((token, meta.chunks.len() as u32));
            chunks.extend_from_slice(&meta.chunks);
            md5s.update(p.etag);
            size += p.size;
        }
        if chunks.len() > CHUNKS_PER_MULTIPART_OBJECT_MAX {
            return Err(Error::EntityTooLarge {
                len: size,
                max: CHUNKS_PER_MULTIPART_OBJECT_MAX as u64 * self.inner.ctx.params.chunk_bytes,
            });
        }
        let (version, flags) = match opts.version {
            NewVersion::Null => (VersionId::NULL, FLAG_NULL_VERSION),
            NewVersion::Unique => (self.new_version_id(), 0),
        };
        let etag: [u8; 16] = md5s.finalize().into();
        // Crypto-shred: the object's key slot, erased if the commit is never submitted.
        let (envelope, part_seals, mut key_slot) = match &upload_key {
            Some(k) => {
                let sealed = self.seal_completed(k, bucket, key, version, id, &seals, size)?;
                (Some(sealed.envelope), Some(PartSeals { upload_id: id, parts: seals }), sealed.slot)
            }
            None => (None, None, None),
        };
        let meta = ObjectMeta {
            mtime_ms: self.now_ms(),
            size,
            etag: etag.to_vec(),
            parts_count: numbers.len() as u32,
            content_type: start.content_type,
            system: opts.system_metadata.clone().unwrap_or(start.system),
            user: start.user,
            tags: start.tags,
            checksums: opts.checksums.clone(),
            chunks,
            part_runs: runs,
            envelope,
            part_seals,
            key_slot: key_slot.as_ref().map(|g| (g.slot, g.owner.tag)),
            kms_context: start.kms_context,
            acl: start.acl,
            ..ObjectMeta::default()
        };
        let meta_bytes = meta.encode();
        if meta_bytes.len() > COMMIT_META_BYTES_MAX {
            return Err(Error::EntityTooLarge { len: size, max: size });
        }
        let commit = encode_record(&RecordParts {
            kind: RecordKind::ObjectCommit,
            flags,
            seq: 0,
            bucket_id: bucket.0,
            version_id: version.0,
            chunk_index: 0,
            key: key.as_bytes(),
            meta: &meta_bytes,
            body: &[],
        });
        let end = end_record(bucket, key, id);
        let entry =
            IndexEntry::unplaced(version, EntryKind::Chunked, size, meta.mtime_ms, etag, upload.class)
                .with_parts(numbers.len() as u16);
        let upload_key: UploadKey = (bucket.0, key.as_bytes().to_vec(), id);
        let recs = vec![
            WriteRecord::new(
                commit,
                Effect::Upsert {
                    bucket: bucket.0,
                    key: key.as_bytes().to_vec(),
                    entry,
                    spans: spans_of(&meta.chunks, key.len()),
                    settles: false,
                },
            ),
            WriteRecord::new(end, Effect::UploadEnd { key: upload_key }),
        ];
        let mut pre = upload_precondition(bucket.0, key, id);
        if let Some(c) = &opts.condition {
            pre.condition = c.to_precondition(bucket.0, key).condition;
        }
        let durability = self.durability(opts.durability);
        if let Some(g) = &mut key_slot {
            g.disarm();
        }
        let submitted = part.submit(recs, upload.class, durability, Some(pre));
        if let (Err(Error::PreconditionFailed { .. } | Error::NoSuchUpload { .. }), Some(g)) =
            (&submitted, &mut key_slot)
        {
            // Refused before anything was written (the upload ended meanwhile, or the condition
            // failed): the slot is no one's. The upload's own slot is erased by its end.
            g.rearm();
        }
        let written = submitted.map_err(|e| name_error(e, &write))?;
        stats::add(&part.counters.puts, 1);
        self.count_prefix(part, bucket, key);
        drop(write);
        let mut info = with_meta(info_from(bucket.0, key.as_bytes(), &entry, true), meta);
        info.seq = written.first().map_or(0, |w| w.seq);
        Ok(info)
    }

    /// Aborts an upload (AbortMultipartUpload): its parts' bytes are dead at once, for compaction.
    ///
    /// # Errors
    /// `NoSuchUpload`, `Io`/`PreviousIo`.
    pub fn abort_upload(&self, bucket: BucketId, key: &str, upload_id: &str) -> Result<()> {
        self.inner.ctx.check()?;
        check_key(key)?;
        let write = self.begin_write(bucket)?;
        let part = self.partition(bucket.0, key.as_bytes());
        let upload = self.open_upload(part, bucket, key, upload_id, Parts::None)?;
        let id = self.parse_upload(upload_id)?;
        self.admit(part, bucket.0, key.as_bytes(), RequestKind::Write)?;
        let end = end_record(bucket, key, id);
        let effect = Effect::UploadEnd { key: (bucket.0, key.as_bytes().to_vec(), id) };
        let pre = upload_precondition(bucket.0, key, id);
        let durability = self.durability(None);
        part.submit(vec![WriteRecord::new(end, effect)], upload.class, durability, Some(pre))
            .map_err(|e| name_error(e, &write))?;
        Ok(())
    }
}

/// The MULTIPART_END record of upload `id` of (`bucket`, `key`).
fn end_record(bucket: BucketId, key: &str, id: [u8; 16]) -> Vec<u8> {
    encode_record(&RecordParts {
        kind: RecordKind::MultipartEnd,
        flags: 0,
        seq: 0,
        bucket_id: bucket.0,
        version_id: id,
        chunk_index: 0,
        key: key.as_bytes(),
        meta: &[],
        body: &[],
    })
}

fn check_part_number(n: u32) -> Result<()> {
    if n == 0 || n > PART_NUMBER_MAX {
        return Err(Error::InvalidArgument {
            name: "partNumber",
            value: n.to_string(),
            reason: "part number must be an integer between 1 and 10000, inclusive".into(),
        });
    }
    Ok(())
}

fn meta_bytes(meta: &ObjectMeta) -> Result<Vec<u8>> {
    let bytes = meta.encode();
    if bytes.len() > RECORD_META_BYTES_MAX {
        return Err(Error::InvalidArgument {
            name: "metadata",
            value: bytes.len().to_string(),
            reason: "object metadata is over 64 KiB".into(),
        });
    }
    Ok(bytes)
}

fn site_of(part: &Partition, at: RecordAt) -> CorruptionSite {
    CorruptionSite { partition: Some(part.id), segment_id: Some(at.segment_id), offset: at.offset }
}

fn corrupt(part: &Partition, at: RecordAt, what: &str) -> Error {
    Error::corruption(site_of(part, at), what.to_owned())
}

/// Reads an upload's start or part record and checks it is the one the index expects.
pub(super) fn read_upload_record(
    part: &Partition,
    bucket: u64,
    key: &str,
    upload: [u8; 16],
    kind: RecordKind,
    number: u32,
    at: RecordAt,
) -> Result<ObjectMeta> {
    let seg =
        part.segment(at.segment_id).ok_or_else(|| corrupt(part, at, "upload record's segment is missing"))?;
    let bytes =
        seg.read_bytes(at.offset, at.len).map_err(|e| Error::io("read upload record", &seg.path, e))?;
    let rec = decode_record(bytes.bytes()).map_err(|e| corrupt(part, at, &format!("upload record: {e}")))?;
    let h = &rec.header;
    if h.kind != kind
        || h.bucket_id != bucket
        || h.version_id != upload
        || h.chunk_index != number
        || rec.key != key.as_bytes()
    {
        return Err(corrupt(part, at, "upload record identity does not match the index"));
    }
    ObjectMeta::decode(rec.meta).map_err(|e| corrupt(part, at, &format!("upload record meta: {e}")))
}
