//! Partition index checkpoints: a snapshot of one partition's index, covering its log up to a
//! recorded position, so that open replays only the log after it. Pure: encode and decode over byte
//! slices. Byte table in DESIGN.md (3.8).
//!
//! A file is a 64-byte header, then blocks (segments, then catalog edits, then entries sorted in
//! index order), each with its own CRC, then a 32-byte trailer with the entry count and a CRC over
//! the block CRCs. Every byte is under some CRC, so any single changed byte fails the decode, and
//! a file cut anywhere lacks its trailer.

use super::{FormatError, FormatResult, masked_crc, need, u16_at, u32_at, u64_at};
use crate::limits::{KEY_BYTES_MAX, PART_NUMBER_MAX};

/// Magic of a checkpoint file.
pub const CHECKPOINT_MAGIC: [u8; 8] = *b"S3LCKPT\x01";
/// Magic of a checkpoint's trailer.
pub const CHECKPOINT_TRAILER_MAGIC: [u8; 8] = *b"S3LCKEND";
/// Format version this build writes and reads.
pub const CHECKPOINT_FORMAT_VERSION: u16 = 1;
/// Header bytes.
pub const CHECKPOINT_HEADER_BYTES: usize = 64;
/// Block header bytes.
pub const CHECKPOINT_BLOCK_HEADER_BYTES: usize = 16;
/// Trailer bytes.
pub const CHECKPOINT_TRAILER_BYTES: usize = 32;
/// Largest payload of one block: bounds what one CRC covers and what a decoder slices at once.
pub const CHECKPOINT_BLOCK_BYTES_MAX: usize = 1024 * 1024;
/// Payload the encoder fills an entry block to before it starts the next one.
pub const CHECKPOINT_BLOCK_BYTES_TARGET: usize = 64 * 1024;
/// Bytes of one segment in a segments block.
pub const CHECKPOINT_SEGMENT_BYTES: usize = 64;
/// Most chunk spans one entry may list (one commit record lists at most 2,560 chunks).
pub const CHECKPOINT_SPANS_MAX: usize = 2560;
/// Largest catalog edit body (a catalog edit is a few names and ids).
pub const CHECKPOINT_CATALOG_BODY_BYTES_MAX: usize = 64 * 1024;
/// Fixed bytes of one entry before its key and spans.
const ENTRY_FIXED_BYTES: usize = 96;

const BLOCK_SEGMENTS: u8 = 1;
const BLOCK_CATALOG: u8 = 2;
const BLOCK_ENTRIES: u8 = 3;
const BLOCK_UPLOADS: u8 = 4;
const UPLOAD_ITEM_FIXED_BYTES: usize = 72;
const PART_ITEM_FIXED_BYTES: usize = 72;
const ITEM_UPLOAD: u8 = 1;
const ITEM_PART: u8 = 2;

/// How far a checkpoint covers one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// A sealed segment of this length, every record of it covered.
    Sealed(u64),
    /// The partition's active segment of its class, its records before this offset (a group
    /// boundary, every byte before it synced) covered.
    ActiveUpto(u64),
}

/// One segment of the partition as the checkpoint saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointSegment {
    /// Segment id.
    pub segment_id: u64,
    /// Storage class code.
    pub class: u8,
    /// What of it is covered.
    pub coverage: Coverage,
    /// Lowest seq of any record in it (`u64::MAX` when none): compaction's tombstone rule needs it.
    pub min_seq: u64,
    /// Live bytes of covered records no entry points at (catalog edits, purges).
    pub retained_bytes: u64,
    /// Records before the covered offset (active segments; the seal counts them).
    pub record_count: u64,
    /// Highest seq before the covered offset (active segments; the seal records it).
    pub last_seq: u64,
    /// Raw CRC-32 of the segment's bytes before the covered offset (active segments; 0 for
    /// sealed ones): the seal's segment CRC continues from it, so an open reads only the tail.
    pub crc_upto: u32,
}

/// A catalog edit record the checkpoint covers: its seq and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointCatalogEdit {
    /// The record's seq.
    pub seq: u64,
    /// The record's body (a postcard catalog edit).
    pub body: Vec<u8>,
}

/// Bytes of one chunked version's chunk records in one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointSpan {
    /// Segment id.
    pub segment_id: u64,
    /// Bytes.
    pub bytes: u64,
}

/// One index entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointEntry {
    /// Bucket id.
    pub bucket: u64,
    /// Object key bytes.
    pub key: Vec<u8>,
    /// The record's seq.
    pub seq: u64,
    /// Segment of the record.
    pub segment_id: u64,
    /// Offset of the record.
    pub offset: u64,
    /// Length of the record.
    pub record_len: u64,
    /// Version id.
    pub version_id: [u8; 16],
    /// 1 inline, 2 chunked, 3 delete marker.
    pub kind: u8,
    /// Storage class code.
    pub class: u8,
    /// Object size.
    pub size: u64,
    /// Modification time, ms.
    pub mtime_ms: u64,
    /// ETag digest.
    pub etag: [u8; 16],
    /// Chunk spans (chunked entries only).
    pub spans: Vec<CheckpointSpan>,
    /// Parts of a multipart object (0 for single-part), for its `-N` ETag.
    pub parts: u16,
}

/// One part of an upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointPart {
    /// Part number (1..=10,000).
    pub number: u32,
    /// The part record's seq.
    pub seq: u64,
    /// Segment of the part record.
    pub segment_id: u64,
    /// Offset of the part record.
    pub offset: u64,
    /// Length of the part record.
    pub record_len: u64,
    /// Part size.
    pub size: u64,
    /// Upload time, ms.
    pub mtime_ms: u64,
    /// MD5 of the part.
    pub etag: [u8; 16],
    /// Where the part's chunk records lie.
    pub spans: Vec<CheckpointSpan>,
}

/// One multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointUpload {
    /// Bucket id.
    pub bucket: u64,
    /// Object key bytes.
    pub key: Vec<u8>,
    /// Upload id.
    pub upload_id: [u8; 16],
    /// The start record's seq.
    pub seq: u64,
    /// Segment of the start record.
    pub segment_id: u64,
    /// Offset of the start record.
    pub offset: u64,
    /// Length of the start record.
    pub record_len: u64,
    /// Initiation time, ms.
    pub initiated_ms: u64,
    /// Storage class code.
    pub class: u8,
    /// Parts, ascending by number.
    pub parts: Vec<CheckpointPart>,
}

/// A whole checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checkpoint {
    /// Partition.
    pub partition: u16,
    /// Store uuid.
    pub store_uuid: [u8; 16],
    /// Checkpoint number (the file's `<n>`).
    pub number: u64,
    /// Highest seq of any covered record of the partition.
    pub max_seq: u64,
    /// Every segment of the partition at the time.
    pub segments: Vec<CheckpointSegment>,
    /// Covered catalog edits in seq order.
    pub catalog: Vec<CheckpointCatalogEdit>,
    /// Entries in index order: bucket, key ascending, seq descending.
    pub entries: Vec<CheckpointEntry>,
    /// Multipart uploads in progress, ascending by (bucket, key, upload id).
    pub uploads: Vec<CheckpointUpload>,
}

/// Encodes a checkpoint. Entries must be in index order (the decoder refuses anything else).
#[must_use]
pub fn encode_checkpoint(c: &Checkpoint) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        CHECKPOINT_HEADER_BYTES + c.entries.iter().map(|e| ENTRY_FIXED_BYTES + e.key.len()).sum::<usize>(),
    );
    out.extend_from_slice(&CHECKPOINT_MAGIC);
    out.extend_from_slice(&CHECKPOINT_FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&c.partition.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&c.store_uuid);
    out.extend_from_slice(&c.number.to_le_bytes());
    out.extend_from_slice(&c.max_seq.to_le_bytes());
    out.extend_from_slice(&(c.segments.len() as u32).to_le_bytes());
    out.extend_from_slice(&(c.catalog.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    let crc = masked_crc(&out[..60]);
    out.extend_from_slice(&crc.to_le_bytes());
    let mut crcs = Vec::new();
    let mut block = Vec::new();
    let mut count = 0u32;
    let mut flush = |out: &mut Vec<u8>, kind: u8, block: &mut Vec<u8>, count: &mut u32| {
        crcs.push(write_block(out, kind, *count, block));
        block.clear();
        *count = 0;
    };
    for s in &c.segments {
        if block.len() + CHECKPOINT_SEGMENT_BYTES > CHECKPOINT_BLOCK_BYTES_TARGET {
            flush(&mut out, BLOCK_SEGMENTS, &mut block, &mut count);
        }
        encode_segment(&mut block, s);
        count += 1;
    }
    if count > 0 {
        flush(&mut out, BLOCK_SEGMENTS, &mut block, &mut count);
    }
    for e in &c.catalog {
        if count > 0 && block.len() + 12 + e.body.len() > CHECKPOINT_BLOCK_BYTES_TARGET {
            flush(&mut out, BLOCK_CATALOG, &mut block, &mut count);
        }
        block.extend_from_slice(&e.seq.to_le_bytes());
        block.extend_from_slice(&(e.body.len() as u32).to_le_bytes());
        block.extend_from_slice(&e.body);
        count += 1;
    }
    if count > 0 {
        flush(&mut out, BLOCK_CATALOG, &mut block, &mut count);
    }
    for e in &c.entries {
        if count > 0 && block.len() + entry_len(e) > CHECKPOINT_BLOCK_BYTES_TARGET {
            flush(&mut out, BLOCK_ENTRIES, &mut block, &mut count);
        }
        encode_entry(&mut block, e);
        count += 1;
    }
    if count > 0 {
        flush(&mut out, BLOCK_ENTRIES, &mut block, &mut count);
    }
    // Uploads as a flat list of items (an upload, then its parts), so a block may end anywhere.
    let mut items: Vec<Vec<u8>> = Vec::new();
    for u in &c.uploads {
        items.push(encode_upload_item(u));
        items.extend(u.parts.iter().map(encode_part_item));
    }
    for item in items {
        if count > 0 && block.len() + item.len() > CHECKPOINT_BLOCK_BYTES_TARGET {
            flush(&mut out, BLOCK_UPLOADS, &mut block, &mut count);
        }
        block.extend_from_slice(&item);
        count += 1;
    }
    if count > 0 {
        flush(&mut out, BLOCK_UPLOADS, &mut block, &mut count);
    }
    let start = out.len();
    out.extend_from_slice(&CHECKPOINT_TRAILER_MAGIC);
    out.extend_from_slice(&(crcs.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(c.entries.len() as u64).to_le_bytes());
    let all: Vec<u8> = crcs.iter().flat_map(|c| c.to_le_bytes()).collect();
    out.extend_from_slice(&masked_crc(&all).to_le_bytes());
    let crc = masked_crc(&out[start..start + 28]);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn write_block(out: &mut Vec<u8>, kind: u8, count: u32, payload: &[u8]) -> u32 {
    let start = out.len();
    out.push(kind);
    out.extend_from_slice(&[0u8; 3]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    let mut h = crc32fast::Hasher::new();
    h.update(&out[start..start + 12]);
    h.update(payload);
    let crc = super::mask(h.finalize());
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
    crc
}

fn encode_segment(out: &mut Vec<u8>, s: &CheckpointSegment) {
    let (state, len) = match s.coverage {
        Coverage::Sealed(len) => (0u8, len),
        Coverage::ActiveUpto(at) => (1u8, at),
    };
    out.extend_from_slice(&s.segment_id.to_le_bytes());
    out.push(s.class);
    out.push(state);
    out.extend_from_slice(&[0u8; 6]);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&s.min_seq.to_le_bytes());
    out.extend_from_slice(&s.retained_bytes.to_le_bytes());
    out.extend_from_slice(&s.record_count.to_le_bytes());
    out.extend_from_slice(&s.last_seq.to_le_bytes());
    out.extend_from_slice(&s.crc_upto.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
}

fn entry_len(e: &CheckpointEntry) -> usize {
    ENTRY_FIXED_BYTES + e.key.len() + 16 * e.spans.len()
}

fn encode_entry(out: &mut Vec<u8>, e: &CheckpointEntry) {
    for v in [e.bucket, e.seq, e.segment_id, e.offset, e.record_len, e.size, e.mtime_ms] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&e.version_id);
    out.extend_from_slice(&e.etag);
    out.push(e.kind);
    out.push(e.class);
    out.extend_from_slice(&(e.key.len() as u16).to_le_bytes());
    out.extend_from_slice(&(e.spans.len() as u16).to_le_bytes());
    out.extend_from_slice(&e.parts.to_le_bytes());
    out.extend_from_slice(&e.key);
    for s in &e.spans {
        out.extend_from_slice(&s.segment_id.to_le_bytes());
        out.extend_from_slice(&s.bytes.to_le_bytes());
    }
}

fn encode_upload_item(u: &CheckpointUpload) -> Vec<u8> {
    let mut out = Vec::with_capacity(UPLOAD_ITEM_FIXED_BYTES + u.key.len());
    out.extend_from_slice(&[ITEM_UPLOAD, u.class]);
    out.extend_from_slice(&(u.key.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&u.bucket.to_le_bytes());
    out.extend_from_slice(&u.upload_id);
    for v in [u.seq, u.segment_id, u.offset, u.record_len, u.initiated_ms] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&u.key);
    out
}

fn encode_part_item(p: &CheckpointPart) -> Vec<u8> {
    let mut out = Vec::with_capacity(PART_ITEM_FIXED_BYTES + 16 * p.spans.len());
    out.extend_from_slice(&[ITEM_PART, 0]);
    out.extend_from_slice(&(p.spans.len() as u16).to_le_bytes());
    out.extend_from_slice(&p.number.to_le_bytes());
    for v in [p.seq, p.segment_id, p.offset, p.record_len, p.size, p.mtime_ms] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&p.etag);
    for s in &p.spans {
        out.extend_from_slice(&s.segment_id.to_le_bytes());
        out.extend_from_slice(&s.bytes.to_le_bytes());
    }
    out
}

fn bad_crc(what: &'static str, stored: u32, computed: u32) -> FormatError {
    FormatError::BadCrc { what, stored, computed }
}

/// Decodes a whole checkpoint file, checking every CRC, every length against its limit, the block
/// order (segments, catalog, entries), the entries' index order and the counts.
///
/// # Errors
/// A [`FormatError`] naming the first check that failed.
pub fn decode_checkpoint(b: &[u8]) -> FormatResult<Checkpoint> {
    need(b, (CHECKPOINT_HEADER_BYTES + CHECKPOINT_TRAILER_BYTES) as u64)?;
    if b[..8] != CHECKPOINT_MAGIC {
        return Err(FormatError::BadMagic { found: u64_at(b, 0) });
    }
    let stored = u32_at(b, 60);
    let computed = masked_crc(&b[..60]);
    if stored != computed {
        return Err(bad_crc("checkpoint header", stored, computed));
    }
    let version = u16_at(b, 8);
    if version != CHECKPOINT_FORMAT_VERSION {
        return Err(FormatError::UnsupportedVersion(version));
    }
    if u32_at(b, 12) != 0 || u32_at(b, 56) != 0 {
        return Err(FormatError::Malformed("reserved header bytes are not zero"));
    }
    let mut c = Checkpoint {
        partition: u16_at(b, 10),
        store_uuid: b[16..32].try_into().expect("16 bytes"),
        number: u64_at(b, 32),
        max_seq: u64_at(b, 40),
        ..Checkpoint::default()
    };
    let segment_count = u32_at(b, 48) as usize;
    let catalog_count = u32_at(b, 52) as usize;
    let mut pos = CHECKPOINT_HEADER_BYTES;
    let mut crcs = Vec::new();
    let mut last_kind = 0u8;
    let trailer_at = b.len() - CHECKPOINT_TRAILER_BYTES;
    while pos < trailer_at {
        let (kind, count, payload, crc) = read_block(&b[..trailer_at], pos)?;
        if kind < last_kind {
            return Err(FormatError::Malformed("checkpoint blocks out of order"));
        }
        last_kind = kind;
        crcs.push(crc);
        pos += CHECKPOINT_BLOCK_HEADER_BYTES + payload.len();
        match kind {
            BLOCK_SEGMENTS => decode_segments(payload, count, segment_count, &mut c.segments)?,
            BLOCK_CATALOG => decode_catalog(payload, count, catalog_count, &mut c.catalog)?,
            BLOCK_ENTRIES => decode_entries(payload, count, &mut c.entries)?,
            BLOCK_UPLOADS => decode_uploads(payload, count, &mut c.uploads)?,
            _ => return Err(FormatError::Malformed("unknown checkpoint block kind")),
        }
    }
    if c.segments.len() != segment_count || c.catalog.len() != catalog_count {
        return Err(FormatError::Malformed(
            "checkpoint holds fewer segments or catalog edits than its header says",
        ));
    }
    let t = &b[trailer_at..];
    if t[..8] != CHECKPOINT_TRAILER_MAGIC {
        return Err(FormatError::BadMagic { found: u64_at(t, 0) });
    }
    let stored = u32_at(t, 28);
    let computed = masked_crc(&t[..28]);
    if stored != computed {
        return Err(bad_crc("checkpoint trailer", stored, computed));
    }
    if u32_at(t, 8) as usize != crcs.len() || u32_at(t, 12) != 0 {
        return Err(FormatError::Malformed("checkpoint trailer's block count does not match"));
    }
    if u64_at(t, 16) != c.entries.len() as u64 {
        return Err(FormatError::Malformed("checkpoint trailer's entry count does not match"));
    }
    let all: Vec<u8> = crcs.iter().flat_map(|c| c.to_le_bytes()).collect();
    let (stored, computed) = (u32_at(t, 24), masked_crc(&all));
    if stored != computed {
        return Err(bad_crc("checkpoint block crcs", stored, computed));
    }
    Ok(c)
}

fn read_block(b: &[u8], pos: usize) -> FormatResult<(u8, u32, &[u8], u32)> {
    let rest = &b[pos..];
    need(rest, CHECKPOINT_BLOCK_HEADER_BYTES as u64)?;
    let len = u32_at(rest, 8) as usize;
    if len > CHECKPOINT_BLOCK_BYTES_MAX {
        return Err(FormatError::TooLarge {
            field: "checkpoint block length",
            value: len as u64,
            max: CHECKPOINT_BLOCK_BYTES_MAX as u64,
        });
    }
    need(rest, (CHECKPOINT_BLOCK_HEADER_BYTES + len) as u64)?;
    let payload = &rest[CHECKPOINT_BLOCK_HEADER_BYTES..CHECKPOINT_BLOCK_HEADER_BYTES + len];
    let mut h = crc32fast::Hasher::new();
    h.update(&rest[..12]);
    h.update(payload);
    let computed = super::mask(h.finalize());
    let stored = u32_at(rest, 12);
    if stored != computed {
        return Err(bad_crc("checkpoint block", stored, computed));
    }
    if rest[1..4] != [0, 0, 0] {
        return Err(FormatError::Malformed("reserved block bytes are not zero"));
    }
    Ok((rest[0], u32_at(rest, 4), payload, stored))
}

fn decode_segments(p: &[u8], count: u32, total: usize, out: &mut Vec<CheckpointSegment>) -> FormatResult<()> {
    if p.len() != count as usize * CHECKPOINT_SEGMENT_BYTES || out.len() + count as usize > total {
        return Err(FormatError::Malformed("segments block length does not match its count"));
    }
    for s in p.chunks_exact(CHECKPOINT_SEGMENT_BYTES) {
        let len = u64_at(s, 16);
        let coverage = match s[9] {
            0 => Coverage::Sealed(len),
            1 => Coverage::ActiveUpto(len),
            _ => return Err(FormatError::Malformed("unknown segment coverage")),
        };
        if s[10..16].iter().chain(&s[60..64]).any(|&x| x != 0) {
            return Err(FormatError::Malformed("reserved segment bytes are not zero"));
        }
        let segment_id = u64_at(s, 0);
        if out.last().is_some_and(|l: &CheckpointSegment| l.segment_id >= segment_id) {
            return Err(FormatError::Malformed("checkpoint segments not in ascending id order"));
        }
        out.push(CheckpointSegment {
            segment_id,
            class: s[8],
            coverage,
            min_seq: u64_at(s, 24),
            retained_bytes: u64_at(s, 32),
            record_count: u64_at(s, 40),
            last_seq: u64_at(s, 48),
            crc_upto: u32_at(s, 56),
        });
    }
    Ok(())
}

fn decode_catalog(
    p: &[u8],
    count: u32,
    total: usize,
    out: &mut Vec<CheckpointCatalogEdit>,
) -> FormatResult<()> {
    let mut pos = 0;
    for _ in 0..count {
        if out.len() >= total {
            return Err(FormatError::Malformed("more catalog edits than the header says"));
        }
        need(&p[pos..], 12)?;
        let seq = u64_at(p, pos);
        let len = u32_at(p, pos + 8) as usize;
        if len > CHECKPOINT_CATALOG_BODY_BYTES_MAX {
            return Err(FormatError::TooLarge {
                field: "catalog edit length",
                value: len as u64,
                max: CHECKPOINT_CATALOG_BODY_BYTES_MAX as u64,
            });
        }
        need(&p[pos + 12..], len as u64)?;
        if out.last().is_some_and(|l: &CheckpointCatalogEdit| l.seq >= seq) {
            return Err(FormatError::Malformed("catalog edits not in seq order"));
        }
        out.push(CheckpointCatalogEdit { seq, body: p[pos + 12..pos + 12 + len].to_vec() });
        pos += 12 + len;
    }
    if pos != p.len() {
        return Err(FormatError::Malformed("catalog block length does not match its edits"));
    }
    Ok(())
}

fn decode_entries(p: &[u8], count: u32, out: &mut Vec<CheckpointEntry>) -> FormatResult<()> {
    let mut pos = 0;
    for _ in 0..count {
        let e = decode_entry(p, &mut pos)?;
        if let Some(prev) = out.last() {
            let before = (prev.bucket, &prev.key[..], std::cmp::Reverse(prev.seq));
            if before >= (e.bucket, &e.key[..], std::cmp::Reverse(e.seq)) {
                return Err(FormatError::Malformed("checkpoint entries not in index order"));
            }
        }
        out.push(e);
    }
    if pos != p.len() {
        return Err(FormatError::Malformed("entries block length does not match its entries"));
    }
    Ok(())
}

fn decode_entry(p: &[u8], pos: &mut usize) -> FormatResult<CheckpointEntry> {
    let b = &p[*pos..];
    need(b, ENTRY_FIXED_BYTES as u64)?;
    let key_len = usize::from(u16_at(b, 90));
    let span_count = usize::from(u16_at(b, 92));
    if key_len > KEY_BYTES_MAX {
        return Err(FormatError::TooLarge {
            field: "key_len",
            value: key_len as u64,
            max: KEY_BYTES_MAX as u64,
        });
    }
    if span_count > CHECKPOINT_SPANS_MAX {
        return Err(FormatError::TooLarge {
            field: "span_count",
            value: span_count as u64,
            max: CHECKPOINT_SPANS_MAX as u64,
        });
    }
    if !(1..=3).contains(&b[88]) {
        return Err(FormatError::Malformed("unknown entry kind"));
    }
    let parts = u16_at(b, 94);
    if parts != 0 && b[88] != 2 {
        return Err(FormatError::Malformed("a part count on an entry that is no chunked object"));
    }
    if u32::from(parts) > PART_NUMBER_MAX {
        return Err(FormatError::TooLarge {
            field: "parts",
            value: u64::from(parts),
            max: u64::from(PART_NUMBER_MAX),
        });
    }
    let total = ENTRY_FIXED_BYTES + key_len + 16 * span_count;
    need(b, total as u64)?;
    let key = b[ENTRY_FIXED_BYTES..ENTRY_FIXED_BYTES + key_len].to_vec();
    let spans = b[ENTRY_FIXED_BYTES + key_len..total]
        .chunks_exact(16)
        .map(|s| CheckpointSpan { segment_id: u64_at(s, 0), bytes: u64_at(s, 8) })
        .collect();
    *pos += total;
    Ok(CheckpointEntry {
        bucket: u64_at(b, 0),
        seq: u64_at(b, 8),
        segment_id: u64_at(b, 16),
        offset: u64_at(b, 24),
        record_len: u64_at(b, 32),
        size: u64_at(b, 40),
        mtime_ms: u64_at(b, 48),
        version_id: b[56..72].try_into().expect("16 bytes"),
        etag: b[72..88].try_into().expect("16 bytes"),
        kind: b[88],
        class: b[89],
        key,
        spans,
        parts,
    })
}

fn decode_spans(b: &[u8], count: usize) -> Vec<CheckpointSpan> {
    b[..16 * count]
        .chunks_exact(16)
        .map(|s| CheckpointSpan { segment_id: u64_at(s, 0), bytes: u64_at(s, 8) })
        .collect()
}

/// Upload items: each upload, then its parts; uploads strictly ascending by (bucket, key, upload
/// id), one upload's parts strictly ascending by number, a part never before its upload.
fn decode_uploads(p: &[u8], count: u32, out: &mut Vec<CheckpointUpload>) -> FormatResult<()> {
    let mut pos = 0;
    for _ in 0..count {
        let b = &p[pos..];
        need(b, 1)?;
        match b[0] {
            ITEM_UPLOAD => {
                need(b, UPLOAD_ITEM_FIXED_BYTES as u64)?;
                let key_len = usize::from(u16_at(b, 2));
                if key_len > KEY_BYTES_MAX {
                    return Err(FormatError::TooLarge {
                        field: "key_len",
                        value: key_len as u64,
                        max: KEY_BYTES_MAX as u64,
                    });
                }
                if u32_at(b, 4) != 0 {
                    return Err(FormatError::Malformed("reserved upload bytes are not zero"));
                }
                need(b, (UPLOAD_ITEM_FIXED_BYTES + key_len) as u64)?;
                let u = CheckpointUpload {
                    bucket: u64_at(b, 8),
                    upload_id: b[16..32].try_into().expect("16 bytes"),
                    seq: u64_at(b, 32),
                    segment_id: u64_at(b, 40),
                    offset: u64_at(b, 48),
                    record_len: u64_at(b, 56),
                    initiated_ms: u64_at(b, 64),
                    class: b[1],
                    key: b[UPLOAD_ITEM_FIXED_BYTES..UPLOAD_ITEM_FIXED_BYTES + key_len].to_vec(),
                    parts: Vec::new(),
                };
                if let Some(prev) = out.last()
                    && (prev.bucket, &prev.key[..], prev.upload_id) >= (u.bucket, &u.key[..], u.upload_id)
                {
                    return Err(FormatError::Malformed("checkpoint uploads not in order"));
                }
                pos += UPLOAD_ITEM_FIXED_BYTES + key_len;
                out.push(u);
            }
            ITEM_PART => {
                need(b, PART_ITEM_FIXED_BYTES as u64)?;
                let span_count = usize::from(u16_at(b, 2));
                if span_count > CHECKPOINT_SPANS_MAX {
                    return Err(FormatError::TooLarge {
                        field: "span_count",
                        value: span_count as u64,
                        max: CHECKPOINT_SPANS_MAX as u64,
                    });
                }
                if b[1] != 0 {
                    return Err(FormatError::Malformed("reserved part bytes are not zero"));
                }
                let total = PART_ITEM_FIXED_BYTES + 16 * span_count;
                need(b, total as u64)?;
                let number = u32_at(b, 4);
                let Some(upload) = out.last_mut() else {
                    return Err(FormatError::Malformed("a checkpoint part before any upload"));
                };
                if number == 0
                    || number > PART_NUMBER_MAX
                    || upload.parts.last().is_some_and(|l| l.number >= number)
                {
                    return Err(FormatError::Malformed("checkpoint part numbers out of order or range"));
                }
                upload.parts.push(CheckpointPart {
                    number,
                    seq: u64_at(b, 8),
                    segment_id: u64_at(b, 16),
                    offset: u64_at(b, 24),
                    record_len: u64_at(b, 32),
                    size: u64_at(b, 40),
                    mtime_ms: u64_at(b, 48),
                    etag: b[56..72].try_into().expect("16 bytes"),
                    spans: decode_spans(&b[PART_ITEM_FIXED_BYTES..], span_count),
                });
                pos += total;
            }
            _ => return Err(FormatError::Malformed("unknown checkpoint upload item")),
        }
    }
    if pos != p.len() {
        return Err(FormatError::Malformed("uploads block length does not match its items"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(entries: usize) -> Checkpoint {
        let mut c = Checkpoint {
            partition: 3,
            store_uuid: [7; 16],
            number: 12,
            max_seq: 900,
            segments: vec![
                CheckpointSegment {
                    segment_id: 4,
                    class: 0,
                    coverage: Coverage::Sealed(65_536),
                    min_seq: 1,
                    retained_bytes: 80,
                    record_count: 0,
                    last_seq: 0,
                    crc_upto: 0,
                },
                CheckpointSegment {
                    segment_id: 9,
                    class: 0,
                    coverage: Coverage::ActiveUpto(8192),
                    min_seq: 40,
                    retained_bytes: 0,
                    record_count: 30,
                    last_seq: 899,
                    crc_upto: 0xdead_beef,
                },
            ],
            catalog: vec![CheckpointCatalogEdit { seq: 2, body: b"edit".to_vec() }],
            entries: Vec::new(),
            uploads: Vec::new(),
        };
        for i in 0..entries {
            c.entries.push(CheckpointEntry {
                bucket: 1 + (i / 1000) as u64,
                key: format!("key-{:06}", i % 1000).into_bytes(),
                seq: 10 + i as u64,
                segment_id: 9,
                offset: 4096 + 8 * i as u64,
                record_len: 128,
                version_id: [i as u8; 16],
                kind: 1 + (i % 3) as u8,
                class: 0,
                size: i as u64,
                mtime_ms: 5,
                etag: [3; 16],
                spans: if i % 3 == 1 {
                    vec![CheckpointSpan { segment_id: 4, bytes: 300 }]
                } else {
                    Vec::new()
                },
                parts: if i % 3 == 1 { 2 } else { 0 },
            });
        }
        for u in 0..3u8 {
            c.uploads.push(CheckpointUpload {
                bucket: 1,
                key: format!("upload-{u}").into_bytes(),
                upload_id: [u; 16],
                seq: 7 + u64::from(u),
                segment_id: 9,
                offset: 4096,
                record_len: 96,
                initiated_ms: 11,
                class: 0,
                parts: (1..=u32::from(u))
                    .map(|n| CheckpointPart {
                        number: n,
                        seq: 20 + u64::from(n),
                        segment_id: 9,
                        offset: 8192 * u64::from(n),
                        record_len: 200,
                        size: 5 << 20,
                        mtime_ms: 12,
                        etag: [n as u8; 16],
                        spans: vec![CheckpointSpan { segment_id: 4, bytes: 5 << 20 }],
                    })
                    .collect(),
            });
        }
        c
    }

    #[test]
    fn round_trips_across_several_entry_blocks() {
        let c = sample(3000);
        let bytes = encode_checkpoint(&c);
        assert!(bytes.len() > 3 * CHECKPOINT_BLOCK_BYTES_TARGET, "several entry blocks");
        assert_eq!(decode_checkpoint(&bytes), Ok(c));
        let empty = Checkpoint::default();
        assert_eq!(decode_checkpoint(&encode_checkpoint(&empty)), Ok(empty));
    }

    #[test]
    fn every_single_byte_corruption_and_every_cut_is_detected() {
        let bytes = encode_checkpoint(&sample(40));
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                assert!(decode_checkpoint(&b).is_err(), "byte {i} ^ {flip:#x} went unnoticed");
            }
        }
        for len in 0..bytes.len() {
            assert!(decode_checkpoint(&bytes[..len]).is_err(), "cut at {len} went unnoticed");
        }
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0; 8]);
        assert!(decode_checkpoint(&longer).is_err(), "trailing bytes went unnoticed");
    }

    #[test]
    fn entries_out_of_index_order_are_refused() {
        let mut c = sample(3);
        c.entries.swap(0, 1);
        let err = decode_checkpoint(&encode_checkpoint(&c)).unwrap_err();
        assert_eq!(err, FormatError::Malformed("checkpoint entries not in index order"));
        let mut c = sample(2);
        c.entries[1] = c.entries[0].clone();
        assert!(decode_checkpoint(&encode_checkpoint(&c)).is_err(), "a duplicate entry");
    }

    #[test]
    fn limits_are_checked() {
        let mut c = sample(1);
        c.entries[0].key = vec![b'k'; KEY_BYTES_MAX];
        assert!(decode_checkpoint(&encode_checkpoint(&c)).is_ok(), "a key at the limit");
        c.entries[0].key = vec![b'k'; KEY_BYTES_MAX + 1];
        assert_eq!(
            decode_checkpoint(&encode_checkpoint(&c)),
            Err(FormatError::TooLarge { field: "key_len", value: 1025, max: 1024 })
        );
        let mut c = sample(0);
        c.catalog[0].body = vec![0; CHECKPOINT_CATALOG_BODY_BYTES_MAX + 1];
        assert!(matches!(
            decode_checkpoint(&encode_checkpoint(&c)),
            Err(FormatError::TooLarge { field: "catalog edit length", .. })
        ));
    }

    fn arb_entry() -> impl Strategy<Value = CheckpointEntry> {
        (
            (0u64..4, proptest::collection::vec(any::<u8>(), 0..80), any::<u64>()),
            (any::<u64>(), any::<u64>(), any::<u64>(), any::<[u8; 16]>(), 1u8..=3, any::<u8>()),
            (any::<u64>(), any::<u64>(), any::<[u8; 16]>()),
            proptest::collection::vec((any::<u64>(), any::<u64>()), 0..4),
        )
            .prop_map(
                |(
                    (bucket, key, seq),
                    (segment_id, offset, record_len, version_id, kind, class),
                    (size, mtime_ms, etag),
                    spans,
                )| {
                    CheckpointEntry {
                        bucket,
                        key,
                        seq,
                        segment_id,
                        offset,
                        record_len,
                        version_id,
                        kind,
                        class,
                        size,
                        mtime_ms,
                        etag,
                        spans: spans
                            .into_iter()
                            .map(|(segment_id, bytes)| CheckpointSpan { segment_id, bytes })
                            .collect(),
                        parts: if kind == 2 { (size % 3) as u16 } else { 0 },
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn proptest_round_trip(
            mut entries in proptest::collection::vec(arb_entry(), 0..60),
            max_seq in any::<u64>(),
            seg_ids in proptest::collection::btree_set(any::<u64>(), 0..5),
            bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..4),
        ) {
            entries.sort_by(|a, b| (a.bucket, &a.key, std::cmp::Reverse(a.seq)).cmp(&(b.bucket, &b.key, std::cmp::Reverse(b.seq))));
            entries.dedup_by(|a, b| (a.bucket, &a.key, a.seq) == (b.bucket, &b.key, b.seq));
            let segments = seg_ids.into_iter().enumerate().map(|(i, segment_id)| CheckpointSegment {
                segment_id,
                class: i as u8,
                coverage: if i % 2 == 0 { Coverage::Sealed(segment_id / 3) } else { Coverage::ActiveUpto(segment_id / 5) },
                min_seq: segment_id / 7,
                retained_bytes: i as u64,
                record_count: 2 * i as u64,
                last_seq: max_seq,
                crc_upto: segment_id as u32,
            }).collect();
            let catalog = bodies.into_iter().enumerate().map(|(i, body)| CheckpointCatalogEdit { seq: i as u64 * 3 + 1, body }).collect();
            let c = Checkpoint {
                partition: 1, store_uuid: [9; 16], number: 2, max_seq, segments, catalog, entries, uploads: Vec::new(),
            };
            prop_assert_eq!(decode_checkpoint(&encode_checkpoint(&c)), Ok(c));
        }

        #[test]
        fn garbage_never_panics(b in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_checkpoint(&b);
        }

        #[test]
        fn damaged_checkpoints_never_panic_and_never_decode(
            flips in proptest::collection::vec((any::<proptest::sample::Index>(), 1u8..=255), 1..6),
            cut in any::<proptest::sample::Index>(),
        ) {
            let good = encode_checkpoint(&sample(30));
            let mut b = good.clone();
            for (at, x) in &flips {
                b[at.index(good.len())] ^= x;
            }
            // Several flips can cancel out (the same byte twice): then it is the good file.
            prop_assert!(decode_checkpoint(&b).is_err() || b == good);
            prop_assert!(decode_checkpoint(&b[..cut.index(good.len())]).is_err());
        }
    }
}
