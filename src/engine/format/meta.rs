//! Record meta: a TLV list (`u16 tag, u32 len, value`) so fields can be added without a format change.
//! A reader skips tags it does not know; a field that must not be skipped needs a new format version.

use super::{FormatError, FormatResult, need, u16_at, u32_at, u64_at};
use crate::engine::crypto::parts::{PART_SALT_BYTES, PartSeal};
use crate::limits::{COMMIT_META_BYTES_MAX, RECORD_META_BYTES_MAX};

const TAG_MTIME_MS: u16 = 1;
const TAG_SIZE: u16 = 2;
const TAG_ETAG: u16 = 3;
const TAG_CONTENT_TYPE: u16 = 4;
const TAG_SYSTEM: u16 = 5;
const TAG_USER: u16 = 6;
const TAG_TAGS: u16 = 7;
const TAG_CHECKSUMS: u16 = 8;
const TAG_ENVELOPE: u16 = 9;
const TAG_CHUNKS: u16 = 10;
const TAG_PARTS_COUNT: u16 = 11;
const TAG_CHUNK_TOKEN: u16 = 12;
const TAG_PART_RUNS: u16 = 13;
/// Past the multipart-encryption tags' range (14..).
const TAG_KEY_SLOT: u16 = 20;
const TAG_PART_SALT: u16 = 14;
const TAG_PART_SEALS: u16 = 15;
const TAG_KMS_CONTEXT: u16 = 21;
const TAG_ACL: u16 = 22;

/// Bytes one chunk reference takes in meta.
pub const CHUNK_REF_BYTES: usize = 24;
/// Most chunks one object-commit record can list (leaves 4 KiB of meta for everything else).
pub const CHUNKS_PER_OBJECT_MAX: usize = (RECORD_META_BYTES_MAX - 4096) / CHUNK_REF_BYTES;

/// Bytes one part run takes in meta (chunk token, chunk count).
pub const PART_RUN_BYTES: usize = 20;
/// Bytes one sealed part takes in a commit record's part seals (number, salt, plaintext length).
pub const PART_SEAL_BYTES: usize = 4 + PART_SALT_BYTES + 8;
/// Most chunks a multipart object's commit record can list: its meta may be larger than other
/// records' (the kind's own limit), with room left for 10,000 part runs, 10,000 part seals (a
/// sealed object's) and the other fields.
pub const CHUNKS_PER_MULTIPART_OBJECT_MAX: usize =
    (COMMIT_META_BYTES_MAX - RECORD_META_BYTES_MAX - 10_000 * (PART_RUN_BYTES + PART_SEAL_BYTES) - 16)
        / CHUNK_REF_BYTES;

/// Where one chunk of a large body lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    /// Segment holding the chunk record.
    pub segment_id: u64,
    /// Offset of the chunk record in that segment.
    pub offset: u64,
    /// Body bytes in the chunk.
    pub len: u64,
}

/// Everything stored about an object version besides its identity and body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectMeta {
    /// Last-modified time, ms since the Unix epoch.
    pub mtime_ms: u64,
    /// Plaintext body size.
    pub size: u64,
    /// Raw ETag digest (MD5 of the body for single-part objects).
    pub etag: Vec<u8>,
    /// Number of parts for multipart objects (0 for single-part).
    pub parts_count: u32,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// Other system headers (`Content-Encoding`, `Cache-Control`, ...), as (name, value).
    pub system: Vec<(String, String)>,
    /// User metadata (`x-amz-meta-*` without the prefix), as (name, value).
    pub user: Vec<(String, String)>,
    /// Object tags, as (key, value).
    pub tags: Vec<(String, String)>,
    /// S3 checksums, as (algorithm code, raw digest).
    pub checksums: Vec<(u8, Vec<u8>)>,
    /// Encryption envelope, opaque here.
    pub envelope: Option<Vec<u8>>,
    /// Chunks of a chunked body, in order (object-commit records only).
    pub chunks: Vec<ChunkRef>,
    /// Random id of the upload that wrote the chunks, carried in each chunk record's version-id
    /// field: a chunk of another upload of the same key and version (a `null` version rewritten, an
    /// abandoned put) never passes a read's identity check. `None` in records written before it
    /// existed; their chunks carry the object's version id.
    pub chunk_token: Option<[u8; 16]>,
    /// A multipart object's chunks by part: (the part upload's chunk token, its chunk count), in
    /// part order. Chunk `i` of the object is chunk `i - first` of its part's run, written under
    /// that run's token. Empty for single-part objects (all chunks under `chunk_token`).
    pub part_runs: Vec<([u8; 16], u32)>,
    /// A crypto-shredded version's key slot (`KEYSLOTS`), which holds the other half of its data
    /// key, and the slot's tag (random per slot taken).
    pub key_slot: Option<(u32, u32)>,
    /// A part record of an encrypted upload: the salt its attempt's key was derived with.
    pub part_salt: Option<[u8; PART_SALT_BYTES]>,
    /// A sealed multipart object's commit record: what opens each part (one per part run).
    pub part_seals: Option<PartSeals>,
    /// An SSE-KMS encryption context bound to the envelope's wrap
    /// (`crypto::EncryptionContext::encode`'s bytes), on a commit or an upload's start record.
    pub kms_context: Option<Vec<u8>>,
    /// The version's owner and ACL grants as the S3 layer encodes them (`s3::acl`), opaque here;
    /// `None`: owned by its bucket's owner, private. On a commit record or an upload's start.
    pub acl: Option<Vec<u8>>,
}

/// What a sealed multipart object's reader needs per part, besides the chunks: the upload id the
/// parts' associated data names and, in part order, each part's number, salt and length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSeals {
    /// The upload the parts were sealed in.
    pub upload_id: [u8; 16],
    /// One per part run, in order.
    pub parts: Vec<PartSeal>,
}

/// The identity each chunk record of a body must carry: (token in its version-id field, its
/// `chunk_index`).
#[derive(Debug, Clone)]
pub struct ChunkIds {
    /// (first chunk position, token) per run, ascending.
    runs: Vec<(u64, [u8; 16])>,
}

impl ChunkIds {
    /// The identities of `meta`'s chunks; `version` is the token of records from before chunk
    /// tokens existed.
    #[must_use]
    pub fn of(meta: &ObjectMeta, version: [u8; 16]) -> ChunkIds {
        if meta.part_runs.is_empty() {
            return ChunkIds { runs: vec![(0, meta.chunk_token.unwrap_or(version))] };
        }
        let mut first = 0u64;
        let runs = meta
            .part_runs
            .iter()
            .map(|&(token, count)| {
                let run = (first, token);
                first += u64::from(count);
                run
            })
            .collect();
        ChunkIds { runs }
    }

    /// The identities of one run of chunks, all under `token` (one part of a multipart object).
    #[must_use]
    pub fn single(token: [u8; 16]) -> ChunkIds {
        ChunkIds { runs: vec![(0, token)] }
    }

    /// (token, chunk index) chunk `i` must carry.
    #[must_use]
    pub fn get(&self, i: usize) -> ([u8; 16], u32) {
        let i = i as u64;
        let at = self.runs.partition_point(|&(first, _)| first <= i).saturating_sub(1);
        let (first, token) = self.runs[at];
        (token, (i - first) as u32)
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn tlv(&mut self, tag: u16, value: &[u8]) {
        self.0.extend_from_slice(&tag.to_le_bytes());
        self.0.extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.0.extend_from_slice(value);
    }
}

fn push_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s);
}

fn encode_pairs(pairs: &[(String, String)]) -> Vec<u8> {
    let mut v = (pairs.len() as u32).to_le_bytes().to_vec();
    for (k, val) in pairs {
        push_str(&mut v, k.as_bytes());
        push_str(&mut v, val.as_bytes());
    }
    v
}

impl ObjectMeta {
    /// Encodes to TLV bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(64));
        w.tlv(TAG_MTIME_MS, &self.mtime_ms.to_le_bytes());
        w.tlv(TAG_SIZE, &self.size.to_le_bytes());
        if !self.etag.is_empty() {
            w.tlv(TAG_ETAG, &self.etag);
        }
        if self.parts_count != 0 {
            w.tlv(TAG_PARTS_COUNT, &self.parts_count.to_le_bytes());
        }
        if let Some(ct) = &self.content_type {
            w.tlv(TAG_CONTENT_TYPE, ct.as_bytes());
        }
        for (tag, pairs) in [(TAG_SYSTEM, &self.system), (TAG_USER, &self.user), (TAG_TAGS, &self.tags)] {
            if !pairs.is_empty() {
                w.tlv(tag, &encode_pairs(pairs));
            }
        }
        if !self.checksums.is_empty() {
            let mut v = (self.checksums.len() as u32).to_le_bytes().to_vec();
            for (alg, digest) in &self.checksums {
                v.push(*alg);
                push_str(&mut v, digest);
            }
            w.tlv(TAG_CHECKSUMS, &v);
        }
        if let Some(env) = &self.envelope {
            w.tlv(TAG_ENVELOPE, env);
        }
        if !self.chunks.is_empty() {
            let mut v = Vec::with_capacity(self.chunks.len() * CHUNK_REF_BYTES);
            for c in &self.chunks {
                v.extend_from_slice(&c.segment_id.to_le_bytes());
                v.extend_from_slice(&c.offset.to_le_bytes());
                v.extend_from_slice(&c.len.to_le_bytes());
            }
            w.tlv(TAG_CHUNKS, &v);
        }
        if let Some(token) = &self.chunk_token {
            w.tlv(TAG_CHUNK_TOKEN, token);
        }
        if !self.part_runs.is_empty() {
            let mut v = Vec::with_capacity(self.part_runs.len() * PART_RUN_BYTES);
            for (token, count) in &self.part_runs {
                v.extend_from_slice(token);
                v.extend_from_slice(&count.to_le_bytes());
            }
            w.tlv(TAG_PART_RUNS, &v);
        }
        if let Some((slot, tag)) = self.key_slot {
            w.tlv(TAG_KEY_SLOT, &[slot.to_le_bytes(), tag.to_le_bytes()].concat());
        }
        if let Some(salt) = &self.part_salt {
            w.tlv(TAG_PART_SALT, salt);
        }
        if let Some(c) = &self.kms_context {
            w.tlv(TAG_KMS_CONTEXT, c);
        }
        if let Some(a) = &self.acl {
            w.tlv(TAG_ACL, a);
        }
        if let Some(seals) = &self.part_seals {
            let mut v = Vec::with_capacity(16 + seals.parts.len() * PART_SEAL_BYTES);
            v.extend_from_slice(&seals.upload_id);
            for p in &seals.parts {
                v.extend_from_slice(&p.number.to_le_bytes());
                v.extend_from_slice(&p.salt);
                v.extend_from_slice(&p.size.to_le_bytes());
            }
            w.tlv(TAG_PART_SEALS, &v);
        }
        w.0
    }

    /// Decodes TLV bytes, skipping unknown tags.
    ///
    /// # Errors
    /// Truncated or over-long fields, non-UTF-8 strings, a meta section over its limit.
    pub fn decode(b: &[u8]) -> FormatResult<ObjectMeta> {
        if b.len() > COMMIT_META_BYTES_MAX {
            return Err(FormatError::TooLarge {
                field: "meta",
                value: b.len() as u64,
                max: COMMIT_META_BYTES_MAX as u64,
            });
        }
        let mut m = ObjectMeta::default();
        let mut pos = 0usize;
        while pos < b.len() {
            need(&b[pos..], 6)?;
            let tag = u16_at(b, pos);
            let len = u32_at(b, pos + 2) as usize;
            pos += 6;
            need(&b[pos..], len as u64)?;
            let v = &b[pos..pos + len];
            pos += len;
            match tag {
                TAG_MTIME_MS => m.mtime_ms = fixed_u64(v)?,
                TAG_SIZE => m.size = fixed_u64(v)?,
                TAG_ETAG => m.etag = v.to_vec(),
                TAG_PARTS_COUNT => {
                    m.parts_count =
                        u32::from_le_bytes(v.try_into().map_err(|_| FormatError::Malformed("parts count"))?);
                }
                TAG_CONTENT_TYPE => m.content_type = Some(utf8(v)?),
                TAG_SYSTEM => m.system = decode_pairs(v)?,
                TAG_USER => m.user = decode_pairs(v)?,
                TAG_TAGS => m.tags = decode_pairs(v)?,
                TAG_CHECKSUMS => m.checksums = decode_checksums(v)?,
                TAG_ENVELOPE => m.envelope = Some(v.to_vec()),
                TAG_CHUNKS => m.chunks = decode_chunks(v)?,
                TAG_CHUNK_TOKEN => {
                    m.chunk_token = Some(v.try_into().map_err(|_| FormatError::Malformed("chunk token"))?);
                }
                TAG_PART_RUNS => m.part_runs = decode_part_runs(v)?,
                TAG_KEY_SLOT => {
                    if v.len() != 8 {
                        return Err(FormatError::Malformed("key slot"));
                    }
                    m.key_slot = Some((u32_at(v, 0), u32_at(v, 4)));
                }
                TAG_PART_SALT => {
                    m.part_salt = Some(v.try_into().map_err(|_| FormatError::Malformed("part salt"))?);
                }
                TAG_PART_SEALS => m.part_seals = Some(decode_part_seals(v)?),
                TAG_KMS_CONTEXT => m.kms_context = Some(v.to_vec()),
                TAG_ACL => m.acl = Some(v.to_vec()),
                _ => {}
            }
        }
        if !m.part_runs.is_empty() {
            let listed: u64 = m.part_runs.iter().map(|&(_, n)| u64::from(n)).sum();
            if listed != m.chunks.len() as u64 {
                return Err(FormatError::Malformed("part runs do not cover the chunk list"));
            }
        }
        if m.part_seals.as_ref().is_some_and(|s| s.parts.len() != m.part_runs.len()) {
            return Err(FormatError::Malformed("part seals do not match the part runs"));
        }
        Ok(m)
    }
}

fn fixed_u64(v: &[u8]) -> FormatResult<u64> {
    if v.len() != 8 {
        return Err(FormatError::Malformed("u64 field length"));
    }
    Ok(u64_at(v, 0))
}

fn utf8(v: &[u8]) -> FormatResult<String> {
    String::from_utf8(v.to_vec()).map_err(|_| FormatError::Malformed("string is not UTF-8"))
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn u32(&mut self) -> FormatResult<u32> {
        need(&self.b[self.pos..], 4)?;
        let v = u32_at(self.b, self.pos);
        self.pos += 4;
        Ok(v)
    }
    fn bytes(&mut self) -> FormatResult<&'a [u8]> {
        let len = self.u32()? as usize;
        need(&self.b[self.pos..], len as u64)?;
        let v = &self.b[self.pos..self.pos + len];
        self.pos += len;
        Ok(v)
    }
    fn u8(&mut self) -> FormatResult<u8> {
        need(&self.b[self.pos..], 1)?;
        self.pos += 1;
        Ok(self.b[self.pos - 1])
    }
    /// A count, bounded by the bytes left so that a forged count cannot force a huge allocation.
    fn count(&mut self, min_entry_bytes: usize) -> FormatResult<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_entry_bytes) > self.b.len() - self.pos {
            return Err(FormatError::Malformed("count larger than the bytes present"));
        }
        Ok(n)
    }
}

fn decode_pairs(v: &[u8]) -> FormatResult<Vec<(String, String)>> {
    let mut c = Cursor { b: v, pos: 0 };
    let n = c.count(8)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let k = utf8(c.bytes()?)?;
        let val = utf8(c.bytes()?)?;
        out.push((k, val));
    }
    Ok(out)
}

fn decode_checksums(v: &[u8]) -> FormatResult<Vec<(u8, Vec<u8>)>> {
    let mut c = Cursor { b: v, pos: 0 };
    let n = c.count(5)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let alg = c.u8()?;
        out.push((alg, c.bytes()?.to_vec()));
    }
    Ok(out)
}

/// Meta bytes equal to `meta` except for the chunk list, which becomes `chunks` (as many as
/// before): every other field, known to this build or not, is kept byte for byte. Used when a
/// rewrite moves a chunked body's chunks, so that it never drops a field a newer build wrote.
///
/// # Errors
/// Malformed TLV bytes, no chunk list, or a chunk list of another length.
pub fn replace_chunks(meta: &[u8], chunks: &[ChunkRef]) -> FormatResult<Vec<u8>> {
    let mut v = Vec::with_capacity(chunks.len() * CHUNK_REF_BYTES);
    for c in chunks {
        v.extend_from_slice(&c.segment_id.to_le_bytes());
        v.extend_from_slice(&c.offset.to_le_bytes());
        v.extend_from_slice(&c.len.to_le_bytes());
    }
    replace_tlv(meta, TAG_CHUNKS, &v, true, ("chunk list to replace", "no chunk list to replace"))
}

/// `meta` (encoded) with its envelope replaced by `envelope`, every other field byte for byte as it
/// was (unknown tags too): how a rewrap re-writes a commit record under another master key.
///
/// # Errors
/// Malformed TLV bytes, or no envelope (or two).
pub fn replace_envelope(meta: &[u8], envelope: &[u8]) -> FormatResult<Vec<u8>> {
    replace_tlv(meta, TAG_ENVELOPE, envelope, false, ("two envelopes", "no envelope to replace"))
}

/// `meta` with the value of its one `tag` field replaced by `value` (of the same length when
/// `same_len`), every other field kept byte for byte. `errors`: the field twice (or of another
/// length), and the field missing.
fn replace_tlv(
    meta: &[u8],
    tag: u16,
    value: &[u8],
    same_len: bool,
    errors: (&'static str, &'static str),
) -> FormatResult<Vec<u8>> {
    let value_len = u32::try_from(value.len()).map_err(|_| FormatError::Malformed(errors.0))?;
    let mut out = Vec::with_capacity(meta.len() + value.len());
    let mut replaced = false;
    let mut pos = 0usize;
    while pos < meta.len() {
        need(&meta[pos..], 6)?;
        let here = u16_at(meta, pos);
        let len = u32_at(meta, pos + 2) as usize;
        need(&meta[pos + 6..], len as u64)?;
        let end = pos + 6 + len;
        if here == tag {
            if replaced || (same_len && len != value.len()) {
                return Err(FormatError::Malformed(errors.0));
            }
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&value_len.to_le_bytes());
            out.extend_from_slice(value);
            replaced = true;
        } else {
            out.extend_from_slice(&meta[pos..end]);
        }
        pos = end;
    }
    if !replaced {
        return Err(FormatError::Malformed(errors.1));
    }
    Ok(out)
}

fn decode_part_runs(v: &[u8]) -> FormatResult<Vec<([u8; 16], u32)>> {
    if !v.len().is_multiple_of(PART_RUN_BYTES) {
        return Err(FormatError::Malformed("part run list length"));
    }
    Ok(v.chunks_exact(PART_RUN_BYTES)
        .map(|r| {
            let mut token = [0u8; 16];
            token.copy_from_slice(&r[..16]);
            (token, u32_at(r, 16))
        })
        .collect())
}

fn decode_part_seals(v: &[u8]) -> FormatResult<PartSeals> {
    if v.len() < 16 || !(v.len() - 16).is_multiple_of(PART_SEAL_BYTES) {
        return Err(FormatError::Malformed("part seal list length"));
    }
    let mut upload_id = [0u8; 16];
    upload_id.copy_from_slice(&v[..16]);
    let parts = v[16..]
        .chunks_exact(PART_SEAL_BYTES)
        .map(|r| {
            let mut salt = [0u8; PART_SALT_BYTES];
            salt.copy_from_slice(&r[4..4 + PART_SALT_BYTES]);
            PartSeal { number: u32_at(r, 0), salt, size: u64_at(r, 4 + PART_SALT_BYTES) }
        })
        .collect();
    Ok(PartSeals { upload_id, parts })
}

fn decode_chunks(v: &[u8]) -> FormatResult<Vec<ChunkRef>> {
    if !v.len().is_multiple_of(CHUNK_REF_BYTES) {
        return Err(FormatError::Malformed("chunk list length"));
    }
    Ok(v.chunks_exact(CHUNK_REF_BYTES)
        .map(|c| ChunkRef { segment_id: u64_at(c, 0), offset: u64_at(c, 8), len: u64_at(c, 16) })
        .collect())
}

#[cfg(test)]
mod replace_tests {
    use super::*;

    #[test]
    fn replace_envelope_changes_the_envelope_alone() {
        let m = ObjectMeta {
            size: 10,
            etag: vec![7; 16],
            user: vec![("a".into(), "b".into())],
            envelope: Some(vec![1; 95]),
            chunk_token: Some([3; 16]),
            ..ObjectMeta::default()
        };
        let mut bytes = m.encode();
        bytes.extend_from_slice(&999u16.to_le_bytes());
        bytes.extend_from_slice(&3u32.to_le_bytes());
        bytes.extend_from_slice(b"new");
        let out = replace_envelope(&bytes, &[2; 95]).unwrap();
        assert_eq!(out.len(), bytes.len());
        assert!(out.ends_with(b"new"), "unknown tags survive");
        assert_eq!(
            ObjectMeta::decode(&out).unwrap(),
            ObjectMeta { envelope: Some(vec![2; 95]), ..m.clone() }
        );
        let plain = ObjectMeta { envelope: None, ..m }.encode();
        assert!(replace_envelope(&plain, &[2; 95]).is_err(), "no envelope to replace");
        assert!(replace_envelope(&bytes[..bytes.len() - 1], &[2; 95]).is_err(), "truncated meta");
    }

    #[test]
    fn replace_chunks_keeps_every_other_field_and_unknown_tags() {
        let m = ObjectMeta {
            size: 10,
            etag: vec![7; 16],
            user: vec![("a".into(), "b".into())],
            chunks: vec![
                ChunkRef { segment_id: 1, offset: 4096, len: 5 },
                ChunkRef { segment_id: 2, offset: 8, len: 5 },
            ],
            chunk_token: Some([3; 16]),
            ..ObjectMeta::default()
        };
        let mut bytes = m.encode();
        // A tag this build does not know, as a newer build could write.
        bytes.extend_from_slice(&999u16.to_le_bytes());
        bytes.extend_from_slice(&3u32.to_le_bytes());
        bytes.extend_from_slice(b"new");
        let moved = [
            ChunkRef { segment_id: 9, offset: 4096, len: 5 },
            ChunkRef { segment_id: 9, offset: 4200, len: 5 },
        ];
        let out = replace_chunks(&bytes, &moved).unwrap();
        assert_eq!(out.len(), bytes.len());
        assert!(out.ends_with(b"new"), "unknown tags survive");
        let back = ObjectMeta::decode(&out).unwrap();
        assert_eq!(back, ObjectMeta { chunks: moved.to_vec(), ..m });
        assert!(replace_chunks(&bytes, &moved[..1]).is_err(), "another chunk count");
        assert!(replace_chunks(&ObjectMeta::default().encode(), &moved).is_err(), "no chunk list");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
        proptest::collection::vec((".{0,12}", ".{0,20}"), 0..4)
    }

    proptest! {
        #[test]
        fn round_trip(mtime in any::<u64>(), size in any::<u64>(), etag in proptest::collection::vec(any::<u8>(), 0..20),
                      ct in proptest::option::of(".{0,20}"), system in pairs(), user in pairs(), tags in pairs(),
                      sums in proptest::collection::vec((any::<u8>(), proptest::collection::vec(any::<u8>(), 0..32)), 0..3),
                      env in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..100)),
                      chunks in proptest::collection::vec((any::<u64>(), any::<u64>(), any::<u64>()), 0..5),
                      parts in any::<u32>(), token in proptest::option::of(any::<[u8; 16]>()),
                      key_slot in proptest::option::of(any::<(u32, u32)>()),
                      salt in proptest::option::of(any::<[u8; 16]>()),
                      kms_context in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
                      acl in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..60))) {
            let m = ObjectMeta {
                mtime_ms: mtime, size, etag, parts_count: parts, content_type: ct, system, user, tags,
                checksums: sums, envelope: env,
                part_runs: match token {
                    Some(t) if chunks.len() > 1 => vec![(t, 1), (t, chunks.len() as u32 - 1)],
                    _ => Vec::new(),
                },
                chunks: chunks.into_iter().map(|(s, o, l)| ChunkRef { segment_id: s, offset: o, len: l }).collect(),
                chunk_token: token,
                key_slot,
                part_salt: salt,
                part_seals: None,
                kms_context,
                acl,
            };
            prop_assert_eq!(ObjectMeta::decode(&m.encode()).unwrap(), m);
        }

        #[test]
        fn garbage_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = ObjectMeta::decode(&b);
        }
    }

    #[test]
    fn unknown_tags_are_skipped_and_truncation_fails() {
        let m =
            ObjectMeta { mtime_ms: 1, size: 2, user: vec![("a".into(), "b".into())], ..Default::default() };
        let mut b = m.encode();
        b.extend_from_slice(&999u16.to_le_bytes());
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(b"xyz");
        assert_eq!(ObjectMeta::decode(&b).unwrap(), m);
        let full = m.encode();
        for n in 1..full.len() {
            // A cut inside a field is an error; a cut between fields decodes to less than was written.
            assert_ne!(ObjectMeta::decode(&full[..n]).ok().as_ref(), Some(&m), "len {n}");
        }
    }

    #[test]
    fn forged_count_does_not_allocate() {
        let mut b = Vec::new();
        b.extend_from_slice(&TAG_USER.to_le_bytes());
        b.extend_from_slice(&4u32.to_le_bytes());
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(ObjectMeta::decode(&b), Err(FormatError::Malformed(_))));
    }
}

#[cfg(test)]
mod part_run_tests {
    use super::*;

    #[test]
    fn chunk_ids_follow_part_runs_and_runs_must_cover_the_chunks() {
        let c = |n: u64| ChunkRef { segment_id: 1, offset: n, len: 1 };
        let mut m = ObjectMeta {
            chunks: (0..5).map(c).collect(),
            part_runs: vec![([1; 16], 2), ([2; 16], 0), ([3; 16], 3)],
            ..ObjectMeta::default()
        };
        let ids = ChunkIds::of(&ObjectMeta::decode(&m.encode()).unwrap(), [9; 16]);
        let got: Vec<([u8; 16], u32)> = (0..5).map(|i| ids.get(i)).collect();
        assert_eq!(got, vec![([1; 16], 0), ([1; 16], 1), ([3; 16], 0), ([3; 16], 1), ([3; 16], 2)]);
        // Without runs: the chunk token (or the version id of old records), by position.
        m.part_runs.clear();
        m.chunk_token = Some([4; 16]);
        assert_eq!(ChunkIds::of(&m, [9; 16]).get(3), ([4; 16], 3));
        m.chunk_token = None;
        assert_eq!(ChunkIds::of(&m, [9; 16]).get(1), ([9; 16], 1));
        m.part_runs = vec![([1; 16], 4)];
        assert!(ObjectMeta::decode(&m.encode()).is_err(), "runs that do not cover the chunk list");
    }

    #[test]
    fn part_seals_round_trip_and_must_match_the_part_runs() {
        let c = |n: u64| ChunkRef { segment_id: 1, offset: n, len: 1 };
        let seal = |n: u32| PartSeal { number: n, salt: [n as u8; 16], size: u64::from(n) * 1000 };
        let mut m = ObjectMeta {
            chunks: (0..3).map(c).collect(),
            part_runs: vec![([1; 16], 1), ([2; 16], 2)],
            part_seals: Some(PartSeals { upload_id: [7; 16], parts: vec![seal(1), seal(3)] }),
            ..ObjectMeta::default()
        };
        assert_eq!(ObjectMeta::decode(&m.encode()).unwrap(), m);
        m.part_seals.as_mut().unwrap().parts.pop();
        assert!(ObjectMeta::decode(&m.encode()).is_err(), "a part run without its seal");
        let mut bytes = ObjectMeta::default().encode();
        bytes.extend_from_slice(&TAG_PART_SEALS.to_le_bytes());
        bytes.extend_from_slice(&20u32.to_le_bytes());
        bytes.extend_from_slice(&[0; 20]);
        assert!(ObjectMeta::decode(&bytes).is_err(), "a seal list of a length no list has");
    }
}
