//! The engine-level object API on (bucket id, key): puts (inline bodies as one record, large ones
//! streamed as chunk records through the MD5 worker and the writeback thread, then committed by one
//! record), delete markers, deletes and purges, lookups, heads, gets and listings.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::engine::ids::IdSource;
use md5::{Digest, Md5};

use super::buckets::BucketWrite;
use super::options::{
    GetOptions, ListOptions, ListPage, NewVersion, ObjectInfo, PutOptions, WriteCondition,
    customer_key_refusal, info_from, with_meta,
};
use crate::engine::body::{BodySource, ChunkedBody, ObjectReader};
use crate::engine::buffer_pool::{BufferPool, PIECE_BYTES, Piece, SharedPiece};
use crate::engine::crypto::chunks::{CHUNK_BYTES, Sealer, TAG_BYTES};
use crate::engine::format::align8;
use crate::engine::format::meta::{CHUNKS_PER_OBJECT_MAX, ChunkIds, ChunkRef, ObjectMeta};
use crate::engine::format::record::{
    FLAG_NULL_VERSION, RecordHeader, RecordKind, RecordParts, decode_prefix, encode_record,
    encode_record_head, record_len, verify_body_crc,
};
use crate::engine::listing::{ListItem, ListQuery, ListStart};
use crate::engine::partition::index::{EntryKind, IndexEntry, spans_of};
use crate::engine::partition::rate::RequestKind;
use crate::engine::partition::stats;
use crate::engine::partition::{Effect, Partition, SharedBody, WriteRecord};
use crate::engine::sealing::sealing_error;
use crate::engine::segment::{Segment, SegmentBytes};
use crate::engine::store::Store;
use crate::error::{CorruptionSite, Error, Result};
use crate::limits::{LIST_KEYS_MAX, PUT_OBJECT_BYTES_MAX, RECORD_META_BYTES_MAX};
use crate::types::{BucketId, Durability, StorageClass, VersionId, check_key};

/// Inline bodies at least this long are read apart from their record's head, into a buffer of their
/// own that `read_to_vec` hands over without a copy; shorter ones are read with the head in one
/// `pread` (a second system call would cost more than copying them). Bodies in sealed segments are
/// never read: they are views of the map.
const SPLIT_READ_BODY_BYTES: u64 = 16 * 1024;

/// A record read up to (and maybe including) its body, checked by [`Store::read_record`].
struct RecordRead {
    header: RecordHeader,
    meta: ObjectMeta,
    /// The whole record when `whole`, otherwise the record up to its body.
    bytes: SegmentBytes,
    whole: bool,
    seg: Arc<Segment>,
    site: CorruptionSite,
}

/// The error for a body whose length is not the declared one.
fn content_length_mismatch(declared: u64, size: u64) -> Error {
    Error::InvalidArgument {
        name: "Content-Length",
        value: declared.to_string(),
        reason: if size > declared {
            format!("the body is longer (at least {size} bytes)")
        } else {
            format!("the body has {size} bytes")
        },
    }
}

/// A fresh random id for the chunks of one upload (see `ObjectMeta::chunk_token`).
pub(super) fn chunk_token(ids: &IdSource) -> [u8; 16] {
    let mut t = [0u8; 16];
    ids.fill(&mut t);
    t[0] |= 1; // never the all-zero `null` version id
    t
}

/// The chunk records one large put has written. Until its commit record lands they belong to no
/// object: if the put fails (a read error, a length or checksum mismatch, a failed precondition,
/// an I/O error), dropping this counts their bytes as abandoned at once, for the statistics and for
/// the compaction that will reclaim them.
pub(super) struct WrittenChunks<'p> {
    part: &'p Partition,
    key_len: usize,
    pub(super) chunks: Vec<ChunkRef>,
    pub(super) size: u64,
    pub(super) etag: [u8; 16],
    pub(super) committed: bool,
}

impl Drop for WrittenChunks<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let bytes = self.chunks.iter().map(|c| record_len(self.key_len, 0, c.len)).sum();
            stats::add(&self.part.counters.abandoned_bytes, bytes);
            // No commit will make them live: their segments may be compacted now.
            self.part.index.write().settle_chunks(&spans_of(&self.chunks, self.key_len));
        }
    }
}

/// A version found in the index, with the segments its record and chunks are in, held.
struct Found {
    part: Arc<Partition>,
    seq: u64,
    entry: IndexEntry,
    latest: bool,
    pinned: Vec<Arc<Segment>>,
}

/// Replaces the `#id` placeholder the partition layer puts in errors with the bucket's name, taken
/// when the write began (looking it up again would take the catalog lock a second time in one call,
/// which deadlocks behind a queued catalog writer: parking_lot's RwLock is fair).
pub(super) fn name_error(e: Error, write: &BucketWrite<'_>) -> Error {
    match e {
        Error::PreconditionFailed { key, condition, .. } => {
            Error::PreconditionFailed { bucket: write.name.clone(), key, condition }
        }
        other => other,
    }
}

fn read_body(body: &mut dyn Read, buf: &mut Vec<u8>, want: u64) -> Result<u64> {
    let before = buf.len();
    body.take(want).read_to_end(buf).map_err(|source| Error::BodyRead { source })?;
    Ok((buf.len() - before) as u64)
}

/// A large body read as pieces: first the bytes already read to tell it from an inline one, then
/// pool buffers filled from the reader.
pub(super) struct BodyPieces<'a> {
    pub(super) first: Option<Vec<u8>>,
    pub(super) body: &'a mut dyn Read,
    pub(super) eof: bool,
    /// Bytes still to be read from `body` at most.
    pub(super) left: u64,
}

impl BodyPieces<'_> {
    /// The next piece of at most `want` bytes, or `None` at the end of the body.
    fn next(&mut self, want: usize, pool: &Arc<BufferPool>) -> Result<Option<SharedPiece>> {
        if let Some(mut first) = self.first.take() {
            if first.len() > want {
                self.first = Some(first.split_off(want));
            }
            return Ok(Some(Arc::new(Piece::new(first, None))));
        }
        let want = want.min(usize::try_from(self.left).unwrap_or(usize::MAX));
        if self.eof || want == 0 {
            return Ok(None);
        }
        let mut buf = pool.take(want);
        let got = read_body(self.body, &mut buf, want as u64)?;
        self.eof = got < want as u64;
        self.left -= got;
        let piece = Piece::new(buf, Some(pool.clone()));
        Ok((got > 0).then(|| Arc::new(piece)))
    }
}

impl Store {
    /// Stores a body from a slice (the known-length fast path).
    ///
    /// # Errors
    /// As [`Store::put`].
    pub fn put_bytes(
        &self,
        bucket: BucketId,
        key: &str,
        body: &[u8],
        opts: &PutOptions,
    ) -> Result<ObjectInfo> {
        let mut opts = opts.clone();
        opts.content_length = Some(body.len() as u64);
        self.put(bucket, key, body, &opts)
    }

    /// Stores an object version from a reader of any length. Bodies up to the inline limit become one
    /// record; larger ones are streamed as chunk records (never held whole in memory) and committed by
    /// one object-commit record. The version is visible, and the call returns, once that record is
    /// durable (per the durability in force).
    ///
    /// # Errors
    /// `NoSuchBucket`, `KeyTooLong`, `EntityTooLarge` (over 5 GiB, or more chunks than one commit
    /// record can list), `BodyRead` if the reader fails, `InvalidArgument` if the body's length differs
    /// from `content_length`, `Io`/`PreviousIo` on I/O failure. On error nothing becomes visible.
    pub fn put(
        &self,
        bucket: BucketId,
        key: &str,
        mut body: impl Read,
        opts: &PutOptions,
    ) -> Result<ObjectInfo> {
        self.inner.ctx.check()?;
        check_key(key)?;
        let write = self.begin_write(bucket)?;
        let params = &self.inner.ctx.params;
        let (version, flags) = match opts.version {
            NewVersion::Null => (VersionId::NULL, FLAG_NULL_VERSION),
            NewVersion::Unique => (self.new_version_id(), 0),
        };
        let part = self.partition(bucket.0, key.as_bytes());
        self.admit(part, bucket.0, key.as_bytes(), RequestKind::Write)?;
        let durability = self.durability(opts.durability);
        // A sealed body is always chunk records (see `sealing.rs`).
        let enc = opts.encryption.as_ref().or(write.default_encryption.as_ref());
        let context = crate::engine::sealing::context_for(enc, opts.encryption_context.as_ref())?;
        let mut sealing = match enc {
            Some(enc) => Some(self.start_sealing(bucket, key, version, enc, context)?),
            None => None,
        };
        // A body whose length says it is chunked goes straight to pieces; any other is read up to
        // one byte past the inline limit to find out. `inline` is the whole body when it fits,
        // `first` what was read of one that does not.
        let (inline, first) = match opts.content_length {
            _ if sealing.is_some() => (None, None),
            Some(len) if len > params.inline_bytes => (None, None),
            known => {
                let cap = known.unwrap_or((64 * 1024).min(params.inline_bytes + 1));
                let mut buf = Vec::with_capacity(cap as usize);
                let n = read_body(&mut body, &mut buf, params.inline_bytes + 1)?;
                if n <= params.inline_bytes { (Some(buf), None) } else { (None, Some(buf)) }
            }
        };
        let mut meta = ObjectMeta {
            mtime_ms: self.now_ms(),
            content_type: opts.content_type.clone(),
            user: opts.user_metadata.clone(),
            system: opts.system_metadata.clone(),
            tags: opts.tags.clone(),
            checksums: opts.checksums.clone(),
            acl: opts.acl.clone(),
            ..ObjectMeta::default()
        };
        // Chunks written so far: dead bytes unless the commit record below lands (see `Drop`).
        let mut chunked: Option<WrittenChunks<'_>> = None;
        // The sealing master key's use: held until the version is indexed, or the put fails.
        let mut master_key_use = None;
        // Crypto-shred: the version's key slot, erased if the put fails before its submit.
        let mut key_slot: Option<crate::engine::sealing::SlotGuard> = None;
        let (kind, record_body, size, etag) = match inline {
            Some(buf) => {
                let etag: [u8; 16] = Md5::digest(&buf).into();
                let size = buf.len() as u64;
                (RecordKind::Put, buf, size, etag)
            }
            None => {
                // Never more than one byte past a declared length: that byte proves the mismatch.
                let limit = opts.content_length.map_or(PUT_OBJECT_BYTES_MAX + 1, |l| l.saturating_add(1));
                let pieces = BodyPieces { first, body: &mut body, eof: false, left: limit };
                let token = chunk_token(&self.inner.ctx.ids);
                let (envelope, sealer) = match sealing.take() {
                    Some((envelope, sealer)) => (Some(envelope), Some(sealer)),
                    None => (None, None),
                };
                let written =
                    self.write_chunks(part, bucket.0, key, token, pieces, durability, opts, sealer)?;
                let (size, etag) = (written.size, written.etag);
                if let Some(s) = envelope {
                    let sealed = self.finish_sealing(s, size)?;
                    meta.envelope = Some(sealed.envelope);
                    meta.kms_context = sealed.kms_context;
                    meta.key_slot = sealed.slot.as_ref().map(|g| (g.slot, g.owner.tag));
                    key_slot = sealed.slot;
                    master_key_use = sealed.key_use;
                }
                meta.chunks = written.chunks.clone();
                meta.chunk_token = Some(token);
                chunked = Some(written);
                (RecordKind::ObjectCommit, Vec::new(), size, etag)
            }
        };
        if let Some(expected) = opts.content_length.filter(|&e| e != size) {
            return Err(content_length_mismatch(expected, size));
        }
        meta.size = size;
        if let Some(finish) = &opts.finish {
            meta.checksums.extend((finish.0)(&etag)?);
        }
        meta.etag = etag.to_vec();
        let meta_bytes = meta.encode();
        if meta_bytes.len() > RECORD_META_BYTES_MAX {
            return Err(Error::InvalidArgument {
                name: "metadata",
                value: meta_bytes.len().to_string(),
                reason: "object metadata is over 64 KiB".into(),
            });
        }
        let bytes = encode_record(&RecordParts {
            kind,
            flags,
            seq: 0,
            bucket_id: bucket.0,
            version_id: version.0,
            chunk_index: 0,
            key: key.as_bytes(),
            meta: &meta_bytes,
            body: &record_body,
        });
        let entry = IndexEntry::unplaced(
            version,
            if kind == RecordKind::Put { EntryKind::Inline } else { EntryKind::Chunked },
            size,
            meta.mtime_ms,
            etag,
            opts.storage_class,
        );
        let rec = WriteRecord::new(
            bytes,
            Effect::Upsert {
                bucket: bucket.0,
                key: key.as_bytes().to_vec(),
                entry,
                spans: spans_of(&meta.chunks, key.len()),
                settles: chunked.is_some(),
            },
        );
        let pre = opts.condition.as_ref().map(|c| c.to_precondition(bucket.0, key));
        if let Some(g) = &mut key_slot {
            g.disarm();
        }
        let submitted = part.submit(vec![rec], opts.storage_class, durability, pre);
        if let (Err(Error::PreconditionFailed { .. }), Some(g)) = (&submitted, &mut key_slot) {
            // Nothing was written: the slot is no one's.
            g.rearm();
        }
        let written = submitted.map_err(|e| name_error(e, &write))?;
        if let Some(c) = &mut chunked {
            c.committed = true;
        }
        stats::add(&part.counters.puts, 1);
        self.count_prefix(part, bucket, key);
        stats::add(&part.counters.bytes_in, size);
        // Indexed: a retirement of the master key now sees this version.
        drop(master_key_use);
        drop(write);
        let mut info = with_meta(info_from(bucket.0, key.as_bytes(), &entry, true), meta);
        info.seq = written.first().map_or(0, |w| w.seq);
        Ok(info)
    }

    /// Writes a large body as chunk records and returns them with the body's size and MD5. Each
    /// piece goes to the MD5 worker as soon as it is read, while this thread reads on, CRCs and writes
    /// whole chunks; for a durable put the writeback thread syncs each chunk once it is written (and
    /// may drop it from the page cache, see [`StoreBuilder::cache_large_bodies`]), but for a body's
    /// only record, which the commit's own sync covers (unless it is to be dropped and not small).
    ///
    /// [`StoreBuilder::cache_large_bodies`]: super::builder::StoreBuilder::cache_large_bodies
    #[expect(clippy::too_many_arguments, reason = "one call site; the pieces of one put")]
    pub(super) fn write_chunks<'p>(
        &self,
        part: &'p Partition,
        bucket: u64,
        key: &str,
        token: [u8; 16],
        mut pieces: BodyPieces<'_>,
        durability: Durability,
        opts: &PutOptions,
        mut sealer: Option<Sealer>,
    ) -> Result<WrittenChunks<'p>> {
        let chunk_bytes = self.inner.ctx.params.chunk_bytes;
        // Two chunks may wait for hashing while a third is read and written: memory stays bounded,
        // and hashing (the slowest pass) never waits for a chunk's write.
        let mut etag = self.inner.etag_hashers.job(2 * chunk_bytes as usize);
        let mut out = WrittenChunks {
            part,
            key_len: key.len(),
            chunks: Vec::new(),
            size: 0,
            etag: [0; 16],
            committed: false,
        };
        let chunks = &mut out.chunks;
        let mut size = 0u64;
        let mut ended = false;
        while !ended {
            let mut chunk = Vec::new();
            // Stored bytes (ciphertext when sealed) and plaintext bytes of this chunk record.
            let (mut len, mut plain) = (0u64, 0u64);
            let mut crc = crc32fast::Hasher::new();
            while plain < chunk_bytes {
                let want = (chunk_bytes - plain).min(PIECE_BYTES as u64) as usize;
                let Some(piece) = pieces.next(want, &self.inner.buffers)? else {
                    // The end of the body: a sealer's last chunk joins this record.
                    ended = true;
                    if let Some(s) = sealer.take() {
                        let mut sealed = Vec::with_capacity(CHUNK_BYTES + TAG_BYTES);
                        s.finish(&mut sealed).map_err(|e| sealing_error(e, size + plain))?;
                        crc.update(&sealed);
                        len += sealed.len() as u64;
                        chunk.push(Arc::new(Piece::new(sealed, None)));
                    }
                    break;
                };
                plain += piece.bytes().len() as u64;
                etag.update(piece.clone());
                let stored = match &mut sealer {
                    Some(s) => {
                        // The MD5 worker hashes the plaintext piece; the record takes its ciphertext.
                        let n = piece.bytes().len();
                        let mut sealed =
                            Vec::with_capacity(n + CHUNK_BYTES + (n / CHUNK_BYTES + 2) * TAG_BYTES);
                        s.push(piece.bytes(), &mut sealed).map_err(|e| sealing_error(e, size + plain))?;
                        if sealed.is_empty() {
                            continue;
                        }
                        Arc::new(Piece::new(sealed, None))
                    }
                    None => piece,
                };
                // CRC'd while the piece is still in cache from being read.
                crc.update(stored.bytes());
                len += stored.bytes().len() as u64;
                chunk.push(stored);
            }
            size += plain;
            if size > PUT_OBJECT_BYTES_MAX {
                return Err(Error::EntityTooLarge { len: size, max: PUT_OBJECT_BYTES_MAX });
            }
            if let Some(declared) = opts.content_length.filter(|&d| size > d) {
                return Err(content_length_mismatch(declared, size));
            }
            if len == 0 {
                // Nothing to store: the body ended (unsealed), or this record's plaintext is all
                // still in the sealer (a record smaller than one cipher chunk, or a full chunk the
                // sealer holds until it knows whether it is the last); it goes out with the next.
                continue;
            }
            if chunks.len() >= CHUNKS_PER_OBJECT_MAX {
                return Err(Error::EntityTooLarge { len: size, max: chunks.len() as u64 * chunk_bytes });
            }
            let crc = crc.finalize();
            let head = encode_record_head(
                &RecordParts {
                    kind: RecordKind::Chunk,
                    flags: 0,
                    seq: 0,
                    bucket_id: bucket,
                    version_id: token,
                    chunk_index: chunks.len() as u32,
                    key: key.as_bytes(),
                    meta: &[],
                    body: &[],
                },
                len,
                crc,
            );
            // A chunk is visible to nobody until the object-commit record lists it; that record's
            // group sync covers every earlier write to its segment, and a rotation seals (and syncs)
            // the segment before it. The writeback sync only gets the data going early.
            let rec = WriteRecord {
                bytes: head,
                body: Some(SharedBody { pieces: chunk, len, crc }),
                effect: Effect::Chunk,
            };
            let eventual = Durability::Eventual { flush_interval_ms: 0 };
            let written = part.submit(vec![rec], opts.storage_class, eventual, None)?;
            // A body's only record is synced by the commit's group, which follows at once: a
            // writeback sync racing it would be a second `fdatasync` of the file for a small put.
            // Still asked for when it drops a large body from the page cache afterwards.
            let only_record = ended && chunks.is_empty();
            let small = plain <= self.inner.ctx.params.inline_bytes;
            let skip_writeback = only_record && (self.inner.cache_large_bodies || small);
            if let (Some(w), Durability::Immediate | Durability::Paranoid, false) =
                (&self.inner.writeback, durability, skip_writeback)
            {
                let drop_range = (!self.inner.cache_large_bodies)
                    .then_some((written[0].offset, record_len(key.len(), 0, len)));
                w.request(usize::from(part.id), written[0].segment_id, drop_range);
            }
            chunks.push(ChunkRef { segment_id: written[0].segment_id, offset: written[0].offset, len });
        }
        out.size = size;
        out.etag = etag.finish();
        Ok(out)
    }

    pub(super) fn new_version_id(&self) -> VersionId {
        let mut v = [0u8; 16];
        v[..8].copy_from_slice(&self.inner.ctx.next_seq.load(Ordering::Relaxed).to_be_bytes());
        self.fill_id(&mut v[8..]);
        if v == [0; 16] {
            v[15] = 1;
        }
        VersionId(v)
    }

    /// Adds a delete marker as the key's newest version and returns its version id.
    ///
    /// # Errors
    /// `NoSuchBucket`, `KeyTooLong`, `Io`/`PreviousIo`.
    pub fn put_delete_marker(
        &self,
        bucket: BucketId,
        key: &str,
        version: NewVersion,
        condition: Option<&WriteCondition>,
    ) -> Result<VersionId> {
        self.inner.ctx.check()?;
        check_key(key)?;
        let write = self.begin_write(bucket)?;
        let (vid, flags) = match version {
            NewVersion::Null => (VersionId::NULL, FLAG_NULL_VERSION),
            NewVersion::Unique => (self.new_version_id(), 0),
        };
        let meta = ObjectMeta { mtime_ms: self.now_ms(), ..ObjectMeta::default() };
        let bytes = encode_record(&RecordParts {
            kind: RecordKind::DeleteMarker,
            flags,
            seq: 0,
            bucket_id: bucket.0,
            version_id: vid.0,
            chunk_index: 0,
            key: key.as_bytes(),
            meta: &meta.encode(),
            body: &[],
        });
        let entry = IndexEntry::unplaced(
            vid,
            EntryKind::DeleteMarker,
            0,
            meta.mtime_ms,
            [0; 16],
            StorageClass::Standard,
        );
        let effect = Effect::Upsert {
            bucket: bucket.0,
            key: key.as_bytes().to_vec(),
            entry,
            spans: Vec::new(),
            settles: false,
        };
        let part = self.partition(bucket.0, key.as_bytes());
        self.admit(part, bucket.0, key.as_bytes(), RequestKind::Write)?;
        let pre = condition.map(|c| c.to_precondition(bucket.0, key));
        part.submit(
            vec![WriteRecord::new(bytes, effect)],
            StorageClass::Standard,
            self.durability(None),
            pre,
        )
        .map_err(|e| name_error(e, &write))?;
        stats::add(&part.counters.deletes, 1);
        self.count_prefix(part, bucket, key);
        Ok(vid)
    }

    /// Permanently removes one version (object or delete marker), if `condition` holds.
    ///
    /// # Errors
    /// `NoSuchBucket`, `NoSuchVersion`, `KeyTooLong`, `PreconditionFailed`, `Io`/`PreviousIo`.
    pub fn delete_version(
        &self,
        bucket: BucketId,
        key: &str,
        version: VersionId,
        condition: Option<&WriteCondition>,
    ) -> Result<()> {
        self.purge(bucket, key, Some(version), condition)
    }

    /// Removes every version of a key (unversioned delete). Deleting a missing key succeeds, as in S3.
    ///
    /// # Errors
    /// `NoSuchBucket`, `KeyTooLong`, `Io`/`PreviousIo`.
    pub fn delete(&self, bucket: BucketId, key: &str) -> Result<()> {
        self.purge(bucket, key, None, None)
    }

    fn purge(
        &self,
        bucket: BucketId,
        key: &str,
        only: Option<VersionId>,
        condition: Option<&WriteCondition>,
    ) -> Result<()> {
        self.inner.ctx.check()?;
        check_key(key)?;
        let write = self.begin_write(bucket)?;
        let part = self.partition(bucket.0, key.as_bytes());
        self.admit(part, bucket.0, key.as_bytes(), RequestKind::Write)?;
        let versions: Vec<VersionId> = {
            let ix = part.index.read();
            ix.versions(bucket.0, key.as_bytes())
                .map(|(_, e)| e.version_id)
                .filter(|v| only.is_none_or(|o| o == *v))
                .collect()
        };
        if let (Some(v), true) = (only, versions.is_empty()) {
            let bucket = write.name.clone();
            return Err(Error::NoSuchVersion { bucket, key: key.into(), version_id: v.to_string() });
        }
        if versions.is_empty() {
            return Ok(());
        }
        let records = versions
            .into_iter()
            .map(|v| {
                let bytes = encode_record(&RecordParts {
                    kind: RecordKind::Purge,
                    flags: if v.is_null() { FLAG_NULL_VERSION } else { 0 },
                    seq: 0,
                    bucket_id: bucket.0,
                    version_id: v.0,
                    chunk_index: 0,
                    key: key.as_bytes(),
                    meta: &[],
                    body: &[],
                });
                WriteRecord::new(
                    bytes,
                    Effect::Purge { bucket: bucket.0, key: key.as_bytes().to_vec(), version: v },
                )
            })
            .collect();
        let pre = condition.map(|c| c.to_precondition(bucket.0, key));
        part.submit(records, StorageClass::Standard, self.durability(None), pre)
            .map_err(|e| name_error(e, &write))?;
        stats::add(&part.counters.deletes, 1);
        self.count_prefix(part, bucket, key);
        Ok(())
    }

    fn lookup(&self, bucket: BucketId, key: &str, version: Option<VersionId>) -> Result<Found> {
        self.inner.ctx.check()?;
        check_key(key)?;
        let name = self.bucket_name(bucket)?;
        let part = self.partition(bucket.0, key.as_bytes()).clone();
        self.admit(&part, bucket.0, key.as_bytes(), RequestKind::Read)?;
        let found = {
            let ix = part.index.read();
            let latest_seq = ix.latest(bucket.0, key.as_bytes()).map(|(s, _)| s);
            let hit = match version {
                None => ix.latest(bucket.0, key.as_bytes()),
                Some(v) => ix.version(bucket.0, key.as_bytes(), v),
            };
            // The segments are taken while the index lock is held: a compaction switches the entry
            // before it takes the old segments out of the store, so what the entry names is there,
            // and a held segment stays readable until the reader drops it.
            hit.map(|(s, e)| {
                let mut pinned: Vec<Arc<Segment>> = part.segment(e.segment_id).into_iter().collect();
                for span in ix.spans_at(e.at()) {
                    pinned.extend(part.segment(span.segment_id));
                }
                (s, *e, Some(s) == latest_seq, pinned)
            })
        };
        match (found, version) {
            (Some((_, e, _, _)), None) if e.kind == EntryKind::DeleteMarker => Err(Error::NoSuchKey {
                bucket: name,
                key: key.into(),
                delete_marker: true,
                version_id: Some(e.version_id.to_string()),
            }),
            (Some((seq, entry, latest, pinned)), _) => Ok(Found { part, seq, entry, latest, pinned }),
            (None, None) => Err(Error::NoSuchKey {
                bucket: name,
                key: key.into(),
                delete_marker: false,
                version_id: None,
            }),
            (None, Some(v)) => {
                Err(Error::NoSuchVersion { bucket: name, key: key.into(), version_id: v.to_string() })
            }
        }
    }

    /// Reads and checks a version's record up to its body: header, key and meta (the header CRC and
    /// the identity the index expects). Returns them with the bytes read and the segment. With
    /// `want_body`, the bytes are the whole record when that costs no second read (a sealed segment's
    /// map, or a body under [`SPLIT_READ_BODY_BYTES`]); otherwise the body is left unread, for
    /// [`Store::read_inline_body`] to read into a buffer of its own.
    fn read_record(&self, found: &Found, bucket: BucketId, key: &str, want_body: bool) -> Result<RecordRead> {
        let (part, seq, e) = (&found.part, found.seq, &found.entry);
        let site =
            CorruptionSite { partition: Some(part.id), segment_id: Some(e.segment_id), offset: e.offset() };
        let seg = found
            .pinned
            .iter()
            .find(|s| s.id == e.segment_id)
            .ok_or_else(|| Error::corruption(site.clone(), "segment is not in the store"))?;
        let inline = e.kind == EntryKind::Inline;
        // An inline body is the record's last section, so the index alone says where it starts; an
        // object-commit or delete-marker record has no body.
        let body_at = if inline { e.record_len().checked_sub(align8(e.size)) } else { Some(e.record_len()) }
            .ok_or_else(|| Error::corruption(site.clone(), "index entry's body is longer than its record"))?;
        let whole = want_body && inline && (seg.is_mapped() || e.size < SPLIT_READ_BODY_BYTES);
        let len = if whole { e.record_len() } else { body_at };
        let bytes =
            seg.read_bytes(e.offset(), len).map_err(|err| Error::io("read record", &seg.path, err))?;
        let (h, k, m) =
            decode_prefix(bytes.bytes()).map_err(|err| Error::corruption(site.clone(), err.to_string()))?;
        let kind_ok = matches!(
            (h.kind, e.kind),
            (RecordKind::Put, EntryKind::Inline)
                | (RecordKind::ObjectCommit, EntryKind::Chunked)
                | (RecordKind::DeleteMarker, EntryKind::DeleteMarker)
        );
        if !kind_ok
            || h.bucket_id != bucket.0
            || h.seq != seq
            || h.version_id != e.version_id.0
            || k != key.as_bytes()
            || h.record_len() != e.record_len()
            || (inline && (h.body_len != e.size || h.body_offset() != body_at))
        {
            return Err(Error::corruption(
                site,
                "record identity does not match the index (misdirected read or write)",
            ));
        }
        let meta =
            ObjectMeta::decode(m).map_err(|err| Error::corruption(site.clone(), format!("meta: {err}")))?;
        Ok(RecordRead { header: h, meta, bytes, whole, seg: seg.clone(), site })
    }

    /// The checked body of an inline record read by [`Store::read_record`]: the CRC is verified
    /// before this returns, so a reader built on it never holds an unverified byte. A body not yet
    /// read is read on its own (from an active segment, one `pread` into a buffer never zero-filled,
    /// which `read_to_vec` then hands over as it is).
    fn read_inline_body(&self, rec: RecordRead, e: &IndexEntry) -> Result<BodySource> {
        let body_at = rec.header.body_offset();
        let (bytes, at) = if rec.whole {
            (rec.bytes, body_at as usize)
        } else {
            let body = rec
                .seg
                .read_bytes(e.offset() + body_at, e.size)
                .map_err(|err| Error::io("read record body", &rec.seg.path, err))?;
            (body, 0)
        };
        let body = &bytes.bytes()[at..at + e.size as usize];
        verify_body_crc(&rec.header, body).map_err(|err| Error::corruption(rec.site, err.to_string()))?;
        Ok(BodySource::Inline { bytes, body_at: at })
    }

    /// Metadata of the current version, or of `version`.
    ///
    /// # Errors
    /// `NoSuchBucket`, `NoSuchKey` (with `delete_marker` set when the current version is a marker),
    /// `NoSuchVersion`, `Corruption`, `Io`/`PreviousIo`.
    pub fn head(&self, bucket: BucketId, key: &str, version: Option<VersionId>) -> Result<ObjectInfo> {
        let found = self.lookup(bucket, key, version)?;
        let rec = self.read_record(&found, bucket, key, false)?;
        let (part, e, latest) = (&found.part, &found.entry, found.latest);
        stats::add(&part.counters.heads, 1);
        self.count_prefix(part, bucket, key);
        let mut info = with_meta(info_from(bucket.0, key.as_bytes(), e, latest), rec.meta);
        info.seq = found.seq;
        Ok(info)
    }

    /// Opens a version's body for reading (whole, or one range).
    ///
    /// # Errors
    /// As [`Store::head`], plus `InvalidRange` for an unsatisfiable range. Corruption of a chunk
    /// surfaces when the reader reaches it.
    pub fn get(&self, bucket: BucketId, key: &str, opts: &GetOptions) -> Result<(ObjectInfo, ObjectReader)> {
        // A crypto-shredded version removed between the lookup and the read of its key slot finds
        // the slot erased (or taken again), and a version whose old record's master key was
        // retired meanwhile finds the key gone (a rewrap moved it first): then the get starts
        // over and sees what is there now.
        loop {
            if let Some(done) = self.get_once(bucket, key, opts)? {
                return Ok(done);
            }
        }
    }

    /// One attempt of [`Store::get`]: `None` when the version was removed between its lookup
    /// and the read of its key slot, or moved (or removed) before its old record's master key
    /// was retired.
    fn get_once(
        &self,
        bucket: BucketId,
        key: &str,
        opts: &GetOptions,
    ) -> Result<Option<(ObjectInfo, ObjectReader)>> {
        let found = self.lookup(bucket, key, opts.version)?;
        let e = &found.entry;
        if e.kind == EntryKind::DeleteMarker {
            let name = self.bucket_name(bucket)?;
            let version_id = Some(e.version_id.to_string());
            return Err(Error::NoSuchKey { bucket: name, key: key.into(), delete_marker: true, version_id });
        }
        let rec = self.read_record(&found, bucket, key, true)?;
        let part = &found.part;
        let (start, end) = match opts.range {
            Some(r) => r.resolve(e.size)?,
            None => (0, e.size),
        };
        let meta = rec.meta.clone();
        let mut info = with_meta(info_from(bucket.0, key.as_bytes(), e, found.latest), meta.clone());
        info.seq = found.seq;
        // S3's SSE-C rules, before a byte is read: a customer-sealed version needs its key, and no
        // other version takes one.
        if let Some(refusal) = customer_key_refusal(info.encryption.as_ref(), opts.customer_key.as_ref()) {
            return Err(refusal.error(self.bucket_name(bucket)?, key.into()));
        }
        let source = if e.kind == EntryKind::Inline {
            if meta.envelope.is_some() {
                return Err(Error::corruption(rec.site, "an inline record with an encryption envelope"));
            }
            self.read_inline_body(rec, e)?
        } else {
            let chunks = ChunkedBody::new(
                part.clone(),
                bucket.0,
                key.as_bytes().to_vec(),
                ChunkIds::of(&meta, e.version_id.0),
                meta.chunks.clone(),
                found.pinned.clone(),
            );
            match (&meta.envelope, &meta.part_seals) {
                (Some(env), seals) => {
                    let customer = opts.customer_key.as_ref();
                    let site = rec.site.clone();
                    let opened = match seals {
                        Some(seals) => {
                            let runs: Vec<u32> = meta.part_runs.iter().map(|r| r.1).collect();
                            self.open_sealed_parts(
                                env,
                                meta.key_slot,
                                meta.kms_context.as_deref(),
                                seals,
                                &runs,
                                customer,
                                chunks,
                                bucket,
                                key,
                                e,
                                site,
                            )
                        }
                        None => self.open_sealed(
                            env,
                            meta.key_slot,
                            meta.kms_context.as_deref(),
                            customer,
                            chunks,
                            bucket,
                            key,
                            e,
                            site,
                        ),
                    };
                    match opened {
                        Ok(body) => BodySource::Sealed(Box::new(body)),
                        // Its key slot is gone: if the version is too, it was removed meanwhile.
                        Err(Error::Corruption { .. })
                            if meta.key_slot.is_some()
                                && part
                                    .index
                                    .read()
                                    .location(bucket.0, key.as_bytes(), found.seq)
                                    .is_none() =>
                        {
                            return Ok(None);
                        }
                        // Its master key was retired since the lookup: a retirement proves that
                        // no version in the index needs the key, so this record is one the index
                        // no longer names (a rewrap moved the version, or it was removed). Look
                        // again; an entry still where it was gets the error.
                        Err(Error::KeyUnavailable { .. })
                            if part.index.read().location(bucket.0, key.as_bytes(), found.seq)
                                != Some(e.at()) =>
                        {
                            return Ok(None);
                        }
                        Err(err) => return Err(err),
                    }
                }
                (None, Some(_)) => {
                    return Err(Error::corruption(rec.site, "sealed parts without an encryption envelope"));
                }
                (None, None) => BodySource::Chunked(chunks),
            }
        };
        stats::add(&part.counters.gets, 1);
        self.count_prefix(part, bucket, key);
        stats::add(&part.counters.bytes_out, end - start);
        Ok(Some((info, ObjectReader { source, pos: start, end })))
    }

    /// One page of listing items, merged across partitions in UTF-8 byte order (versions of one key
    /// newest first). With a delimiter, keys sharing a common prefix collapse into one item and the
    /// scan seeks past them. Returns the items (at most `max`) and whether more follow.
    pub(crate) fn list_items(&self, bucket: BucketId, q: &ListQuery<'_>) -> Result<(Vec<ListItem>, bool)> {
        self.inner.ctx.check()?;
        Ok(crate::engine::listing::list(self.partitions_for_prefix(bucket, q.prefix), bucket.0, q))
    }

    /// One page of keys (or versions) in UTF-8 byte order, merged across partitions.
    ///
    /// # Errors
    /// `NoSuchBucket`, `InvalidArgument` for `max_keys` outside 1..=1000, `PreviousIo`.
    pub fn list(&self, bucket: BucketId, opts: &ListOptions) -> Result<ListPage> {
        self.inner.ctx.check()?;
        self.bucket_name(bucket)?;
        if opts.max_keys == 0 || opts.max_keys > LIST_KEYS_MAX {
            return Err(Error::InvalidArgument {
                name: "max-keys",
                value: opts.max_keys.to_string(),
                reason: "must be 1 to 1000".into(),
            });
        }
        let q = ListQuery {
            prefix: opts.prefix.as_bytes(),
            delimiter: None,
            start: opts
                .start_after
                .as_deref()
                .map_or(ListStart::Beginning, |s| ListStart::AfterKey(s.as_bytes())),
            max: opts.max_keys,
            versions: opts.versions,
        };
        let (items, is_truncated) = self.list_items(bucket, &q)?;
        let entries = items
            .iter()
            .filter_map(|item| match item {
                ListItem::Entry { key, entry, is_latest, .. } => {
                    Some(info_from(bucket.0, key, entry, *is_latest))
                }
                ListItem::Prefix(_) => None,
            })
            .collect();
        Ok(ListPage { entries, is_truncated })
    }
}
