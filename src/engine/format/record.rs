//! Record layout: a 64-byte header, key, meta, padding to 8, body, padding to 8.
//!
//! The header CRC covers header bytes 8..64, the key and the meta, and is checked before any length
//! in the header is trusted for more than a bounds check. The body CRC covers the stored body.

use super::{FormatError, FormatResult, align8, mask, masked_crc, need, u16_at, u32_at, u64_at};
use crate::limits::{COMMIT_META_BYTES_MAX, KEY_BYTES_MAX, RECORD_BODY_BYTES_MAX, RECORD_META_BYTES_MAX};

/// Record magic, "REC1" little-endian. Never zero, so a zero-filled tail reads as "no record".
pub const RECORD_MAGIC: u32 = 0x3143_4552;
/// Fixed header length.
pub const RECORD_HEADER_BYTES: usize = 64;
/// Body length of a group-commit marker.
pub const GROUP_COMMIT_BODY_BYTES: usize = 32;
/// Body length of a seal record.
pub const SEAL_BODY_BYTES: usize = 32;

/// What a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RecordKind {
    /// A whole object version with its body inline.
    Put = 1,
    /// One chunk of a large object's body (or, later, of a multipart part).
    Chunk = 2,
    /// Commits a chunked object: its meta lists the chunks.
    ObjectCommit = 3,
    /// A delete marker version.
    DeleteMarker = 4,
    /// Permanently removes one version (bucket, key, version id).
    Purge = 5,
    /// Starts a multipart upload: the version-id field holds the upload id, the meta what the
    /// object will get (content type, metadata, tags, checksum algorithm and type).
    MultipartStart = 6,
    /// Ends a multipart upload (aborted, or completed by the object-commit record written in the
    /// same group): the version-id field holds the upload id. Kept by compaction while a surviving
    /// segment could hold the upload's start or parts.
    MultipartEnd = 7,
    /// A bucket catalog edit (create, delete, settings); body is the edit.
    Catalog = 8,
    /// Ends a group commit; body is [`GroupCommitBody`].
    GroupCommit = 9,
    /// Closes a segment; body is [`SealBody`].
    Seal = 10,
    /// Reserved: a temporary restored copy of an archived object.
    RestoredCopy = 11,
    /// One part of a multipart upload: the version-id field holds the upload id, `chunk_index`
    /// the part number, the meta the part's size, MD5, checksum and chunk list (its chunks are
    /// CHUNK records under the part's own chunk token).
    MultipartPart = 12,
}

impl RecordKind {
    /// Decodes the kind byte.
    ///
    /// # Errors
    /// `UnknownKind` for a byte this build does not know.
    pub fn from_u8(v: u8) -> FormatResult<RecordKind> {
        Ok(match v {
            1 => RecordKind::Put,
            2 => RecordKind::Chunk,
            3 => RecordKind::ObjectCommit,
            4 => RecordKind::DeleteMarker,
            5 => RecordKind::Purge,
            6 => RecordKind::MultipartStart,
            7 => RecordKind::MultipartEnd,
            8 => RecordKind::Catalog,
            9 => RecordKind::GroupCommit,
            10 => RecordKind::Seal,
            11 => RecordKind::RestoredCopy,
            12 => RecordKind::MultipartPart,
            other => return Err(FormatError::UnknownKind(other)),
        })
    }
}

/// Largest meta section a record of `kind` may have: object-commit records list chunks, and a
/// multipart object's list needs more than the 64 KiB every other record gets.
#[must_use]
pub fn meta_bytes_max(kind: RecordKind) -> usize {
    match kind {
        RecordKind::ObjectCommit => COMMIT_META_BYTES_MAX,
        _ => RECORD_META_BYTES_MAX,
    }
}

/// Record flag: the version id is the S3 `null` version.
pub const FLAG_NULL_VERSION: u8 = 1;
/// Record flag: the body is encrypted (envelope in meta).
pub const FLAG_ENCRYPTED: u8 = 2;
/// Record flag: last chunk of a body.
pub const FLAG_LAST_CHUNK: u8 = 4;

/// The fixed header of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Kind.
    pub kind: RecordKind,
    /// `FLAG_*` bits.
    pub flags: u8,
    /// Key length.
    pub key_len: u16,
    /// Meta length.
    pub meta_len: u32,
    /// Store-wide commit sequence number (assigned by the partition's group-commit leader).
    pub seq: u64,
    /// Internal bucket id (0 for engine records).
    pub bucket_id: u64,
    /// Version id (all zero for the null version and engine records).
    pub version_id: [u8; 16],
    /// Stored body length.
    pub body_len: u64,
    /// Masked CRC of the stored body.
    pub body_crc: u32,
    /// Chunk index for `Chunk` records.
    pub chunk_index: u32,
}

impl RecordHeader {
    /// Total on-disk length of a record with this header, padding included.
    #[must_use]
    pub fn record_len(&self) -> u64 {
        record_len(usize::from(self.key_len), self.meta_len as usize, self.body_len)
    }

    /// Offset of the body within the record.
    #[must_use]
    pub fn body_offset(&self) -> u64 {
        RECORD_HEADER_BYTES as u64 + align8(u64::from(self.key_len) + u64::from(self.meta_len))
    }

    fn write(&self, b: &mut [u8]) {
        b[0..4].copy_from_slice(&RECORD_MAGIC.to_le_bytes());
        b[8] = self.kind as u8;
        b[9] = self.flags;
        b[10..12].copy_from_slice(&self.key_len.to_le_bytes());
        b[12..16].copy_from_slice(&self.meta_len.to_le_bytes());
        b[16..24].copy_from_slice(&self.seq.to_le_bytes());
        b[24..32].copy_from_slice(&self.bucket_id.to_le_bytes());
        b[32..48].copy_from_slice(&self.version_id);
        b[48..56].copy_from_slice(&self.body_len.to_le_bytes());
        b[56..60].copy_from_slice(&self.body_crc.to_le_bytes());
        b[60..64].copy_from_slice(&self.chunk_index.to_le_bytes());
    }
}

/// On-disk length of a record with these section lengths.
#[must_use]
pub fn record_len(key_len: usize, meta_len: usize, body_len: u64) -> u64 {
    RECORD_HEADER_BYTES as u64 + align8(key_len as u64 + meta_len as u64) + align8(body_len)
}

/// The parts of a record to encode. `seq` may be patched later with [`patch_seq`].
#[derive(Debug, Clone, Copy)]
pub struct RecordParts<'a> {
    /// Kind.
    pub kind: RecordKind,
    /// Flags.
    pub flags: u8,
    /// Sequence number.
    pub seq: u64,
    /// Bucket id.
    pub bucket_id: u64,
    /// Version id.
    pub version_id: [u8; 16],
    /// Chunk index.
    pub chunk_index: u32,
    /// Key bytes (≤ 1024).
    pub key: &'a [u8],
    /// Meta bytes (≤ 64 KiB).
    pub meta: &'a [u8],
    /// Body bytes.
    pub body: &'a [u8],
}

/// Encodes a whole record, both CRCs included.
///
/// # Panics
/// When a section is over its limit: callers validate input at the API boundary first.
#[must_use]
pub fn encode_record(p: &RecordParts<'_>) -> Vec<u8> {
    let mut b = encode_record_head(p, p.body.len() as u64, crc32fast::hash(p.body));
    b.reserve_exact(align8(p.body.len() as u64) as usize);
    b.extend_from_slice(p.body);
    b.resize(b.len() + body_padding(p.body.len() as u64), 0);
    b
}

/// Encodes a record's head (header, key, meta and their padding) for a body of `body_len` bytes whose
/// raw (unmasked) CRC-32 is `body_crc`; `p.body` is ignored. The body, then [`body_padding`] zero
/// bytes, follow the head on disk. Lets a large body be written from where it already is, its CRC
/// computed once.
///
/// # Panics
/// When a section is over its limit: callers validate input at the API boundary first.
#[must_use]
pub fn encode_record_head(p: &RecordParts<'_>, body_len: u64, body_crc: u32) -> Vec<u8> {
    assert!(p.key.len() <= KEY_BYTES_MAX, "key over limit reached the encoder");
    assert!(p.meta.len() <= meta_bytes_max(p.kind), "meta over limit reached the encoder");
    assert!(body_len <= RECORD_BODY_BYTES_MAX, "body over limit reached the encoder");
    let header = RecordHeader {
        kind: p.kind,
        flags: p.flags,
        key_len: p.key.len() as u16,
        meta_len: p.meta.len() as u32,
        seq: p.seq,
        bucket_id: p.bucket_id,
        version_id: p.version_id,
        body_len,
        body_crc: mask(body_crc),
        chunk_index: p.chunk_index,
    };
    let mut b = vec![0u8; header.body_offset() as usize];
    header.write(&mut b);
    let km = RECORD_HEADER_BYTES + p.key.len();
    b[RECORD_HEADER_BYTES..km].copy_from_slice(p.key);
    b[km..km + p.meta.len()].copy_from_slice(p.meta);
    seal_header_crc(&mut b, km + p.meta.len());
    b
}

/// Zero bytes after a body of `body_len` bytes, up to the record's 8-byte alignment.
#[must_use]
pub fn body_padding(body_len: u64) -> usize {
    (align8(body_len) - body_len) as usize
}

fn seal_header_crc(b: &mut [u8], key_meta_end: usize) {
    let crc = masked_crc(&b[8..key_meta_end]);
    b[4..8].copy_from_slice(&crc.to_le_bytes());
}

/// Rewrites the sequence number of an encoded record and its header CRC (the body is untouched).
///
/// # Panics
/// If `record` is not a record produced by [`encode_record`].
pub fn patch_seq(record: &mut [u8], seq: u64) {
    record[16..24].copy_from_slice(&seq.to_le_bytes());
    let end = RECORD_HEADER_BYTES + usize::from(u16_at(record, 10)) + u32_at(record, 12) as usize;
    seal_header_crc(record, end);
}

/// Decodes the fixed header and bounds-checks its lengths. Does not check the header CRC, which
/// needs the key and meta: see [`verify_header_crc`].
///
/// # Errors
/// Truncated input, zero or wrong magic, unknown kind, a length over its limit.
pub fn decode_header(b: &[u8]) -> FormatResult<RecordHeader> {
    need(b, RECORD_HEADER_BYTES as u64)?;
    let magic = u32_at(b, 0);
    if magic != RECORD_MAGIC {
        return Err(FormatError::BadMagic { found: u64::from(magic) });
    }
    let key_len = u16_at(b, 10);
    if usize::from(key_len) > KEY_BYTES_MAX {
        return Err(FormatError::TooLarge {
            field: "key_len",
            value: u64::from(key_len),
            max: KEY_BYTES_MAX as u64,
        });
    }
    let kind = RecordKind::from_u8(b[8])?;
    let meta_len = u32_at(b, 12);
    let meta_max = meta_bytes_max(kind);
    if meta_len as usize > meta_max {
        return Err(FormatError::TooLarge {
            field: "meta_len",
            value: u64::from(meta_len),
            max: meta_max as u64,
        });
    }
    let body_len = u64_at(b, 48);
    if body_len > RECORD_BODY_BYTES_MAX {
        return Err(FormatError::TooLarge { field: "body_len", value: body_len, max: RECORD_BODY_BYTES_MAX });
    }
    Ok(RecordHeader {
        kind,
        flags: b[9],
        key_len,
        meta_len,
        seq: u64_at(b, 16),
        bucket_id: u64_at(b, 24),
        version_id: b[32..48].try_into().expect("16 bytes"),
        body_len,
        body_crc: u32_at(b, 56),
        chunk_index: u32_at(b, 60),
    })
}

/// Checks the header CRC; `b` starts at the record and holds at least header, key and meta.
///
/// # Errors
/// Truncated input or a CRC mismatch.
pub fn verify_header_crc(b: &[u8], h: &RecordHeader) -> FormatResult<()> {
    let end = RECORD_HEADER_BYTES as u64 + u64::from(h.key_len) + u64::from(h.meta_len);
    need(b, end)?;
    let stored = u32_at(b, 4);
    let computed = masked_crc(&b[8..end as usize]);
    if stored != computed {
        return Err(FormatError::BadCrc { what: "record header", stored, computed });
    }
    Ok(())
}

/// A decoded record borrowing its bytes.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    /// The header.
    pub header: RecordHeader,
    /// Key bytes.
    pub key: &'a [u8],
    /// Meta bytes.
    pub meta: &'a [u8],
    /// Body bytes.
    pub body: &'a [u8],
}

/// Decodes header, key and meta and checks the header CRC, without touching the body.
///
/// # Errors
/// As [`decode_header`] and [`verify_header_crc`].
pub fn decode_prefix(b: &[u8]) -> FormatResult<(RecordHeader, &[u8], &[u8])> {
    let h = decode_header(b)?;
    verify_header_crc(b, &h)?;
    let k_end = RECORD_HEADER_BYTES + usize::from(h.key_len);
    let m_end = k_end + h.meta_len as usize;
    Ok((h, &b[RECORD_HEADER_BYTES..k_end], &b[k_end..m_end]))
}

/// Decodes a whole record and checks both CRCs. `b` starts at the record; it may run past its end.
///
/// # Errors
/// Truncated input, bad magic or kind, lengths over limits, either CRC wrong.
pub fn decode_record(b: &[u8]) -> FormatResult<RecordView<'_>> {
    let (header, key, meta) = decode_prefix(b)?;
    need(b, header.record_len())?;
    let body_at = header.body_offset() as usize;
    let body = &b[body_at..body_at + header.body_len as usize];
    verify_body_crc(&header, body)?;
    Ok(RecordView { header, key, meta, body })
}

/// Checks the body CRC.
///
/// # Errors
/// `BadCrc` on mismatch.
pub fn verify_body_crc(h: &RecordHeader, body: &[u8]) -> FormatResult<()> {
    let computed = masked_crc(body);
    if computed != h.body_crc {
        return Err(FormatError::BadCrc { what: "record body", stored: h.body_crc, computed });
    }
    Ok(())
}

/// Checks a record's body CRC computed piece by piece (`crc` has hashed the whole body).
///
/// # Errors
/// `BadCrc` when it is not the header's.
pub fn verify_body_crc_hashed(h: &RecordHeader, crc: crc32fast::Hasher) -> FormatResult<()> {
    let computed = super::mask(crc.finalize());
    if computed != h.body_crc {
        return Err(FormatError::BadCrc { what: "record body", stored: h.body_crc, computed });
    }
    Ok(())
}

/// Bytes of a body hashed and then copied at a time by [`append_verified`]: small enough that the
/// slice is still in the L1 data cache (32 KiB per core here) when it is copied.
pub const VERIFY_SLICE_BYTES: usize = 16 * 1024;

/// Appends `body` to `out` and checks its CRC in the same pass over memory: slice by slice, each
/// slice is hashed and then copied while it is still in the L1 cache. Hashing the whole body first
/// and copying it afterwards reads it twice, the second time from a larger, slower cache (a 1 MiB
/// body does not fit in L2). On a mismatch `out` is cut back to its length on entry, so no
/// unverified byte stays in it.
///
/// # Errors
/// `BadCrc` on mismatch.
pub fn append_verified(h: &RecordHeader, body: &[u8], out: &mut Vec<u8>) -> FormatResult<()> {
    let start = out.len();
    out.reserve(body.len());
    let mut crc = crc32fast::Hasher::new();
    for slice in body.chunks(VERIFY_SLICE_BYTES) {
        let at = out.len();
        out.extend_from_slice(slice);
        crc.update(&out[at..]);
    }
    let computed = super::mask(crc.finalize());
    if computed != h.body_crc {
        out.truncate(start);
        return Err(FormatError::BadCrc { what: "record body", stored: h.body_crc, computed });
    }
    Ok(())
}

/// Body of a group-commit marker: the group it closes and how far the segment was known durable when
/// the marker was written. Recovery uses `synced_upto` to tell a torn tail from corruption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommitBody {
    /// Offset of the group's first record (the end of the previous marker).
    pub group_start: u64,
    /// Bytes from `group_start` to this marker.
    pub group_len: u64,
    /// Every byte before this offset had been fdatasynced when the marker was written.
    pub synced_upto: u64,
    /// Masked CRC over the group's bytes.
    pub group_crc: u32,
    /// Records in the group.
    pub record_count: u32,
}

impl GroupCommitBody {
    /// Encodes the 32-byte body.
    #[must_use]
    pub fn encode(&self) -> [u8; GROUP_COMMIT_BODY_BYTES] {
        let mut b = [0u8; GROUP_COMMIT_BODY_BYTES];
        b[0..8].copy_from_slice(&self.group_start.to_le_bytes());
        b[8..16].copy_from_slice(&self.group_len.to_le_bytes());
        b[16..24].copy_from_slice(&self.synced_upto.to_le_bytes());
        b[24..28].copy_from_slice(&self.group_crc.to_le_bytes());
        b[28..32].copy_from_slice(&self.record_count.to_le_bytes());
        b
    }

    /// Decodes the body.
    ///
    /// # Errors
    /// Wrong length, or a group that does not end where it claims.
    pub fn decode(b: &[u8]) -> FormatResult<GroupCommitBody> {
        if b.len() != GROUP_COMMIT_BODY_BYTES {
            return Err(FormatError::Malformed("group commit body length"));
        }
        let body = GroupCommitBody {
            group_start: u64_at(b, 0),
            group_len: u64_at(b, 8),
            synced_upto: u64_at(b, 16),
            group_crc: u32_at(b, 24),
            record_count: u32_at(b, 28),
        };
        if body.group_start.checked_add(body.group_len).is_none() {
            return Err(FormatError::Malformed("group range overflows"));
        }
        Ok(body)
    }
}

/// Body of a seal record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealBody {
    /// Records in the segment before the seal.
    pub record_count: u64,
    /// Highest sequence number in the segment.
    pub last_seq: u64,
    /// Offset of the seal record (= bytes covered by `segment_crc`).
    pub sealed_at: u64,
    /// Masked CRC over bytes `0..sealed_at` of the segment.
    pub segment_crc: u32,
}

impl SealBody {
    /// Encodes the 32-byte body.
    #[must_use]
    pub fn encode(&self) -> [u8; SEAL_BODY_BYTES] {
        let mut b = [0u8; SEAL_BODY_BYTES];
        b[0..8].copy_from_slice(&self.record_count.to_le_bytes());
        b[8..16].copy_from_slice(&self.last_seq.to_le_bytes());
        b[16..24].copy_from_slice(&self.sealed_at.to_le_bytes());
        b[24..28].copy_from_slice(&self.segment_crc.to_le_bytes());
        b
    }

    /// Decodes the body.
    ///
    /// # Errors
    /// Wrong length.
    pub fn decode(b: &[u8]) -> FormatResult<SealBody> {
        if b.len() != SEAL_BODY_BYTES {
            return Err(FormatError::Malformed("seal body length"));
        }
        Ok(SealBody {
            record_count: u64_at(b, 0),
            last_seq: u64_at(b, 8),
            sealed_at: u64_at(b, 16),
            segment_crc: u32_at(b, 24),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parts<'a>(key: &'a [u8], meta: &'a [u8], body: &'a [u8]) -> RecordParts<'a> {
        RecordParts {
            kind: RecordKind::Put,
            flags: FLAG_NULL_VERSION,
            seq: 5,
            bucket_id: 9,
            version_id: [0; 16],
            chunk_index: 0,
            key,
            meta,
            body,
        }
    }

    proptest! {
        #[test]
        fn round_trip(key in proptest::collection::vec(any::<u8>(), 0..300),
                      meta in proptest::collection::vec(any::<u8>(), 0..300),
                      body in proptest::collection::vec(any::<u8>(), 0..3000),
                      seq in any::<u64>()) {
            let mut rec = encode_record(&parts(&key, &meta, &body));
            prop_assert_eq!(rec.len() % 8, 0);
            patch_seq(&mut rec, seq);
            let v = decode_record(&rec).unwrap();
            prop_assert_eq!(v.key, &key[..]);
            prop_assert_eq!(v.meta, &meta[..]);
            prop_assert_eq!(v.body, &body[..]);
            prop_assert_eq!(v.header.seq, seq);
            prop_assert_eq!(v.header.record_len(), rec.len() as u64);
        }

        #[test]
        fn bit_flip_in_any_covered_byte_is_detected(body in proptest::collection::vec(any::<u8>(), 1..200), pick in any::<prop::sample::Index>(), bit in 0u8..8) {
            let rec = encode_record(&parts(b"key", b"meta", &body));
            let h = decode_header(&rec).unwrap();
            // Every byte except the padding is covered by a CRC or is the magic itself.
            let covered: Vec<usize> = (0..rec.len())
                .filter(|&i| i < RECORD_HEADER_BYTES + 7
                    || (i >= h.body_offset() as usize && i < h.body_offset() as usize + body.len()))
                .collect();
            let i = covered[pick.index(covered.len())];
            let mut bad = rec.clone();
            bad[i] ^= 1 << bit;
            prop_assert!(decode_record(&bad).is_err(), "flip at {} undetected", i);
        }

        #[test]
        fn garbage_never_panics(b in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_record(&b);
        }

        #[test]
        fn group_commit_body_round_trips(s in any::<u32>(), l in any::<u32>(), u in any::<u64>(), c in any::<u32>(), n in any::<u32>()) {
            let g = GroupCommitBody { group_start: u64::from(s), group_len: u64::from(l), synced_upto: u, group_crc: c, record_count: n };
            prop_assert_eq!(GroupCommitBody::decode(&g.encode()).unwrap(), g);
        }
    }

    /// The fused hash-and-copy agrees with the CRC of the whole body across slice boundaries, and a
    /// flipped byte in any slice leaves the buffer as it was.
    #[test]
    fn append_verified_copies_a_good_body_and_leaves_nothing_of_a_bad_one() {
        for len in [0, 1, VERIFY_SLICE_BYTES - 1, VERIFY_SLICE_BYTES, 3 * VERIFY_SLICE_BYTES + 5] {
            let body: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let rec = encode_record(&parts(b"key", b"meta", &body));
            let h = decode_header(&rec).unwrap();
            let mut out = b"before".to_vec();
            append_verified(&h, &body, &mut out).unwrap();
            assert_eq!(&out[6..], &body[..]);
            for flip in [0, len / 2, len.saturating_sub(1)].into_iter().filter(|_| len > 0) {
                let mut bad = body.clone();
                bad[flip] ^= 0x20;
                let mut out = b"before".to_vec();
                assert!(append_verified(&h, &bad, &mut out).is_err(), "len {len}, flip at {flip}");
                assert_eq!(out, b"before");
            }
        }
    }

    #[test]
    fn truncation_at_every_length_is_an_error() {
        let rec = encode_record(&parts(b"key", b"meta", b"hello body"));
        for n in 0..rec.len() - 6 {
            assert!(decode_record(&rec[..n]).is_err(), "len {n}");
        }
    }

    #[test]
    fn huge_lengths_are_refused_before_allocation() {
        let mut rec = encode_record(&parts(b"k", b"", b""));
        rec[48..56].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(decode_header(&rec), Err(FormatError::TooLarge { field: "body_len", .. })));
        let mut rec = encode_record(&parts(b"k", b"", b""));
        rec[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(decode_header(&rec), Err(FormatError::TooLarge { field: "meta_len", .. })));
        let mut rec = encode_record(&parts(b"k", b"", b""));
        rec[10..12].copy_from_slice(&2000u16.to_le_bytes());
        assert!(matches!(decode_header(&rec), Err(FormatError::TooLarge { field: "key_len", .. })));
    }

    #[test]
    fn zero_bytes_are_not_a_record() {
        assert!(matches!(decode_header(&[0u8; 64]), Err(FormatError::BadMagic { found: 0 })));
    }

    #[test]
    fn seal_body_round_trips() {
        let s = SealBody { record_count: 3, last_seq: 99, sealed_at: 8192, segment_crc: 7 };
        assert_eq!(SealBody::decode(&s.encode()).unwrap(), s);
        assert!(SealBody::decode(&[0; 5]).is_err());
        assert!(GroupCommitBody::decode(&[0; 5]).is_err());
    }
}
