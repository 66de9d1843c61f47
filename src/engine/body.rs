//! Object bodies: byte ranges and the streaming reader returned by `get`.

use std::io::{self, Read, Write};
use std::sync::Arc;

use crate::engine::format::align8;
use crate::engine::format::meta::{ChunkIds, ChunkRef};
use crate::engine::format::record::{
    RecordHeader, RecordKind, append_verified, decode_prefix, decode_record, record_len, verify_body_crc,
};
use crate::engine::partition::Partition;
use crate::engine::segment::{Segment, SegmentBytes};
use crate::error::{CorruptionSite, Error, Result};

/// A byte range of a GET, as in HTTP `Range: bytes=...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=first-last` (inclusive).
    Inclusive(u64, u64),
    /// `bytes=first-`.
    From(u64),
    /// `bytes=-n`: the last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    /// Parses `bytes=a-b`, `bytes=a-` or `bytes=-n` (one range only).
    ///
    /// # Errors
    /// `InvalidArgument` naming the header for anything else.
    pub fn parse(header: &str) -> Result<ByteRange> {
        let bad = || Error::InvalidArgument {
            name: "Range",
            value: header.to_owned(),
            reason: "expected bytes=a-b, bytes=a- or bytes=-n".into(),
        };
        let spec = header.strip_prefix("bytes=").ok_or_else(bad)?;
        let (a, b) = spec.split_once('-').ok_or_else(bad)?;
        let num = |s: &str| s.parse::<u64>().map_err(|_| bad());
        match (a.is_empty(), b.is_empty()) {
            (false, false) => {
                let (a, b) = (num(a)?, num(b)?);
                if b < a { Err(bad()) } else { Ok(ByteRange::Inclusive(a, b)) }
            }
            (false, true) => Ok(ByteRange::From(num(a)?)),
            (true, false) => Ok(ByteRange::Suffix(num(b)?)),
            (true, true) => Err(bad()),
        }
    }

    /// The half-open byte span this range selects in an object of `size` bytes.
    ///
    /// # Errors
    /// `InvalidRange` (with the size) when no byte of the object is selected.
    pub fn resolve(self, size: u64) -> Result<(u64, u64)> {
        let span = match self {
            ByteRange::Inclusive(a, b) if a < size => Some((a, b.saturating_add(1).min(size))),
            ByteRange::From(a) if a < size => Some((a, size)),
            ByteRange::Suffix(n) if n > 0 && size > 0 => Some((size - n.min(size), size)),
            _ => None,
        };
        span.ok_or_else(|| Error::InvalidRange { range: self.to_string(), size })
    }
}

impl std::fmt::Display for ByteRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ByteRange::Inclusive(a, b) => write!(f, "bytes={a}-{b}"),
            ByteRange::From(a) => write!(f, "bytes={a}-"),
            ByteRange::Suffix(n) => write!(f, "bytes=-{n}"),
        }
    }
}

/// Where the reader's bytes come from.
#[derive(Debug)]
pub(crate) enum BodySource {
    /// The whole (inline) body, already CRC-checked: `bytes[body_at..]`, where `bytes` is the
    /// record or just its body, as read (a view of a sealed segment's map, or the buffer the read
    /// filled), never copied out of it.
    Inline { bytes: SegmentBytes, body_at: usize },
    /// Chunk records, each read and checked when the reader reaches it.
    Chunked(ChunkedBody),
    /// Chunk records of ciphertext, opened a run of cipher chunks at a time (each chunk's tag
    /// verified before any of its bytes leave).
    Sealed(Box<SealedBody>),
}

/// Cipher chunks opened per batch when a sealed body is read: 1 MiB of plaintext at most.
const SEALED_BATCH_CHUNKS: u64 = 16;

#[derive(Debug)]
pub(crate) struct SealedBody {
    /// The ciphertext, as chunk records (positions in it are sealed-stream positions).
    pub(crate) stored: ChunkedBody,
    /// The body's sealed parts in order: one for a single put, one per part of a multipart object
    /// (each part sealed under its own key, its chunk indexes starting again at 0).
    pub(crate) parts: Vec<SealedPart>,
    /// The batch opened last: (plaintext offset of its first byte, its plaintext).
    pub(crate) opened: Option<(u64, Vec<u8>)>,
    /// The commit record, for errors.
    pub(crate) site: CorruptionSite,
}

/// One independently sealed stretch of a body: its cipher and where it lies.
#[derive(Debug)]
pub(crate) struct SealedPart {
    pub(crate) cipher: crate::engine::crypto::chunks::BodyCipher,
    /// Plaintext offset of the part's first byte in the object.
    pub(crate) plain_at: u64,
    /// The part's plaintext length.
    pub(crate) plain: u64,
    /// Offset of the part's first sealed byte in the stored stream.
    pub(crate) sealed_at: u64,
}

impl SealedBody {
    /// A body sealed as one stream (a single put).
    pub(crate) fn single(
        stored: ChunkedBody,
        cipher: crate::engine::crypto::chunks::BodyCipher,
        plain: u64,
        site: CorruptionSite,
    ) -> SealedBody {
        let parts = vec![SealedPart { cipher, plain_at: 0, plain, sealed_at: 0 }];
        SealedBody { stored, parts, opened: None, site }
    }

    /// The opened plaintext from `pos` to the end of its batch (at most to `end`), opening the
    /// batch of cipher chunks that holds `pos` when it is not the one opened last. A batch never
    /// crosses a part's end: each part has its own key and chunk numbering.
    fn run(&mut self, pos: u64, end: u64) -> Result<&[u8]> {
        use crate::engine::crypto::chunks::sealed_span;
        let hit = self.opened.as_ref().is_some_and(|(at, b)| *at <= pos && pos < *at + b.len() as u64);
        if !hit {
            // The last part starting at or before `pos` (an empty part shares its start with the
            // next one, and `pos` < the object's length, so the part found holds `pos`).
            let i = self.parts.partition_point(|p| p.plain_at <= pos).saturating_sub(1);
            let p = &self.parts[i];
            let c = p.cipher.chunk_bytes() as u64;
            let (at, part_end) = (pos - p.plain_at, (end - p.plain_at).min(p.plain));
            if at >= part_end {
                return Err(Error::corruption(self.site.clone(), "sealed parts do not cover the object"));
            }
            let first = at / c;
            let last = ((part_end - 1) / c).min(first + SEALED_BATCH_CHUNKS - 1);
            let (first, last, off, len) = sealed_span(first * c, (last + 1) * c, p.plain, c as usize);
            let (off, end_off) = (p.sealed_at + off, p.sealed_at + off + len);
            // The last batch's buffer, reused: a fresh megabyte per batch costs a page fault per
            // page (and the allocator's trimming) on every batch of every get.
            let mut plain = self.opened.take().map(|(_, b)| b).unwrap_or_default();
            plain.clear();
            plain.reserve((last - first + 1) as usize * c as usize);
            // Opened straight from the chunk record when the run lies in one (CRC-checked when it
            // was loaded); copied out of the records only when it spans two.
            let opened = match self.stored.slice(off, end_off)? {
                Some(sealed) => p.cipher.open_run(first, last, p.plain, sealed, &mut plain),
                None => {
                    let mut sealed = Vec::with_capacity(len as usize);
                    self.stored.read_range(off, end_off, &mut sealed)?;
                    p.cipher.open_run(first, last, p.plain, &sealed, &mut plain)
                }
            };
            opened.map_err(|e| Error::corruption(self.site.clone(), format!("sealed body: {e}")))?;
            self.opened = Some((p.plain_at + first * c, plain));
        }
        let (at, b) = self.opened.as_ref().expect("opened above");
        let from = (pos - at) as usize;
        let to = ((end - at) as usize).min(b.len());
        Ok(&b[from..to])
    }
}

#[derive(Debug)]
pub(crate) struct ChunkedBody {
    pub(crate) partition: Arc<Partition>,
    pub(crate) bucket: u64,
    pub(crate) key: Vec<u8>,
    /// The identity each chunk record must carry.
    pub(crate) ids: ChunkIds,
    pub(crate) chunks: Vec<ChunkRef>,
    /// Start offset of each chunk in the object.
    pub(crate) starts: Vec<u64>,
    /// The chunk last read (and checked): its index, its whole record, and where its body starts.
    pub(crate) loaded: Option<(usize, SegmentBytes, usize)>,
    /// The segments holding the chunks, taken when the reader was opened: a compaction that moves
    /// the body meanwhile leaves these readable until the reader is dropped.
    pub(crate) pinned: Vec<Arc<Segment>>,
}

impl ChunkedBody {
    pub(crate) fn new(
        partition: Arc<Partition>,
        bucket: u64,
        key: Vec<u8>,
        ids: ChunkIds,
        chunks: Vec<ChunkRef>,
        pinned: Vec<Arc<Segment>>,
    ) -> ChunkedBody {
        let mut starts = Vec::with_capacity(chunks.len());
        let mut at = 0;
        for c in &chunks {
            starts.push(at);
            at += c.len;
        }
        ChunkedBody { partition, bucket, key, ids, chunks, starts, loaded: None, pinned }
    }

    fn chunk(&mut self, i: usize) -> Result<&[u8]> {
        let (_, record, body_at) = match self.loaded.take() {
            Some(hit) if hit.0 == i => self.loaded.insert(hit),
            _ => {
                let (record, body_at) = self.load(i)?;
                self.loaded.insert((i, record, body_at))
            }
        };
        Ok(&record.bytes()[*body_at..*body_at + self.chunks[i].len as usize])
    }

    /// The segment chunk `i` is in, and where the chunk is (for errors).
    fn segment(&self, i: usize) -> Result<(Arc<Segment>, CorruptionSite)> {
        let c = self.chunks[i];
        let site = CorruptionSite {
            partition: Some(self.partition.id),
            segment_id: Some(c.segment_id),
            offset: c.offset,
        };
        let seg = self
            .pinned
            .iter()
            .find(|s| s.id == c.segment_id)
            .cloned()
            .or_else(|| self.partition.segment(c.segment_id))
            .ok_or_else(|| Error::corruption(site.clone(), "chunk's segment is not in the store"))?;
        Ok((seg, site))
    }

    /// Checks that a chunk record's header and key are chunk `i` of this object.
    fn check_identity(&self, i: usize, h: &RecordHeader, key: &[u8], site: CorruptionSite) -> Result<()> {
        let (token, index) = self.ids.get(i);
        let identity_ok = h.kind == RecordKind::Chunk
            && h.bucket_id == self.bucket
            && h.version_id == token
            && h.chunk_index == index
            && key == self.key.as_slice()
            && h.body_len == self.chunks[i].len;
        if !identity_ok {
            return Err(Error::corruption(
                site,
                format!("chunk {i} record identity does not match the object"),
            ));
        }
        Ok(())
    }

    /// Appends the stored bytes `[start, end)` of the body to `out`, each chunk checked first.
    /// The stored bytes `[start, end)` as a view of the one chunk record holding them all (loaded
    /// and checked), or `None` when they span records.
    fn slice(&mut self, start: u64, end: u64) -> Result<Option<&[u8]>> {
        let i = self.starts.partition_point(|&s| s <= start) - 1;
        let at = self.starts[i];
        if end > at + self.chunks[i].len {
            return Ok(None);
        }
        let chunk = self.chunk(i)?;
        Ok(Some(&chunk[(start - at) as usize..(end - at) as usize]))
    }

    fn read_range(&mut self, start: u64, end: u64, out: &mut Vec<u8>) -> Result<()> {
        let mut pos = start;
        while pos < end {
            let i = self.starts.partition_point(|&s| s <= pos) - 1;
            let at = self.starts[i];
            let chunk = self.chunk(i)?;
            let from = (pos - at) as usize;
            let to = ((end - at) as usize).min(chunk.len());
            if from >= to {
                return Err(Error::corruption(self.segment(i)?.1, "sealed body shorter than its chunks say"));
            }
            out.extend_from_slice(&chunk[from..to]);
            pos += (to - from) as u64;
        }
        Ok(())
    }

    /// Reads chunk `i`'s record and checks its identity and both CRCs before anything may be served
    /// from it. From a sealed segment the CRC pass is the only pass over the bytes until they are
    /// handed out (no copy into a buffer of our own).
    fn load(&self, i: usize) -> Result<(SegmentBytes, usize)> {
        let (seg, site) = self.segment(i)?;
        let c = self.chunks[i];
        let len = record_len(self.key.len(), 0, c.len);
        let bytes = seg.read_bytes(c.offset, len).map_err(|e| Error::io("read chunk", &seg.path, e))?;
        let rec = decode_record(bytes.bytes())
            .map_err(|e| Error::corruption(site.clone(), format!("chunk {i}: {e}")))?;
        self.check_identity(i, &rec.header, rec.key, site)?;
        let body_at = rec.header.body_offset() as usize;
        Ok((bytes, body_at))
    }

    /// Appends chunk `i`'s whole body to `out`, checked. From a sealed segment: the CRC pass over
    /// the map, then one copy. From an active one: the head is read and checked, the body read by
    /// `pread` straight into `out` (no buffer of our own, no zero-fill) and its CRC checked there;
    /// on a mismatch `out` is cut back, so an unverified byte never stays in it.
    fn append_to(&self, i: usize, out: &mut Vec<u8>) -> Result<()> {
        let (seg, site) = self.segment(i)?;
        let c = self.chunks[i];
        if seg.is_mapped() {
            // A view of the map: the head is checked, then the body is hashed and copied in one
            // pass (`append_verified`) instead of a CRC pass over the view and a copy after it.
            let len = record_len(self.key.len(), 0, c.len);
            let bytes = seg.read_bytes(c.offset, len).map_err(|e| Error::io("read chunk", &seg.path, e))?;
            let (h, key, _) = decode_prefix(bytes.bytes())
                .map_err(|e| Error::corruption(site.clone(), format!("chunk {i}: {e}")))?;
            self.check_identity(i, &h, key, site.clone())?;
            let body_at = h.body_offset() as usize;
            let body = bytes
                .bytes()
                .get(body_at..body_at + c.len as usize)
                .ok_or_else(|| Error::corruption(site.clone(), format!("chunk {i}: body past the record")))?;
            return append_verified(&h, body, out)
                .map_err(|e| Error::corruption(site, format!("chunk {i}: {e}")));
        }
        let body_at = record_len(self.key.len(), 0, c.len) - align8(c.len);
        let head =
            seg.read_bytes(c.offset, body_at).map_err(|e| Error::io("read chunk head", &seg.path, e))?;
        let (h, key, _) = decode_prefix(head.bytes())
            .map_err(|e| Error::corruption(site.clone(), format!("chunk {i}: {e}")))?;
        self.check_identity(i, &h, key, site.clone())?;
        let start = out.len();
        seg.read_append(out, c.offset + body_at, c.len).map_err(|e| Error::io("read chunk", &seg.path, e))?;
        if let Err(e) = verify_body_crc(&h, &out[start..]) {
            out.truncate(start);
            return Err(Error::corruption(site, format!("chunk {i}: {e}")));
        }
        Ok(())
    }
}

/// A streaming object body. Implements [`Read`]; chunked bodies are read one chunk at a time, and a
/// ranged reader touches only the chunks its range overlaps. Every chunk's identity and CRC are checked
/// before any of its bytes are returned.
#[derive(Debug)]
pub struct ObjectReader {
    pub(crate) source: BodySource,
    pub(crate) pos: u64,
    pub(crate) end: u64,
}

impl ObjectReader {
    /// Bytes left to read.
    #[must_use]
    pub fn remaining(&self) -> u64 {
        self.end - self.pos
    }

    /// Reads the rest into memory, with the crate's error (not wrapped in `io::Error`).
    ///
    /// # Errors
    /// `Corruption` when a chunk fails its checks; `Io` on a read error.
    pub fn read_to_vec(&mut self) -> Result<Vec<u8>> {
        // A whole inline body read into a buffer of its own is that buffer: no copy.
        if let BodySource::Inline { bytes: SegmentBytes::Owned(body), body_at: 0 } = &mut self.source
            && self.pos == 0
            && self.end == body.len() as u64
        {
            self.pos = self.end;
            return Ok(std::mem::take(body));
        }
        // Chunks are read straight into `out`, each reserving its own room (`pread` fills all the
        // spare capacity it is given).
        let room = if matches!(self.source, BodySource::Chunked(_)) { 0 } else { self.remaining() };
        let mut out = Vec::with_capacity(usize::try_from(room).unwrap_or(0).min(64 << 20));
        while self.pos < self.end {
            if let BodySource::Chunked(body) = &mut self.source {
                let i = body.starts.partition_point(|&s| s <= self.pos) - 1;
                let len = body.chunks[i].len;
                let loaded = body.loaded.as_ref().is_some_and(|l| l.0 == i);
                if body.starts[i] == self.pos && self.pos + len <= self.end && !loaded {
                    body.append_to(i, &mut out)?;
                    self.pos += len;
                    continue;
                }
            }
            let n = self.fill_next(&mut out)?;
            if n == 0 {
                break;
            }
        }
        Ok(out)
    }

    /// Streams the rest into `w`, straight from the records as read.
    ///
    /// # Errors
    /// As [`ObjectReader::read_to_vec`], plus the writer's errors as `Io`.
    pub fn write_to(&mut self, w: &mut impl Write) -> Result<u64> {
        let mut total = 0;
        while self.pos < self.end {
            let run = self.next_run()?;
            w.write_all(run).map_err(|e| Error::io("write body", "<writer>", e))?;
            let n = run.len() as u64;
            self.pos += n;
            total += n;
        }
        Ok(total)
    }

    /// Appends the next run of bytes (the rest of the current chunk) to `out`.
    fn fill_next(&mut self, out: &mut Vec<u8>) -> Result<usize> {
        let run = self.next_run()?;
        out.extend_from_slice(run);
        let n = run.len();
        self.pos += n as u64;
        Ok(n)
    }

    /// The bytes from `pos` to the end of the range or of the current chunk, whichever is first.
    /// Does not advance.
    fn next_run(&mut self) -> Result<&[u8]> {
        let (pos, end) = (self.pos, self.end);
        match &mut self.source {
            BodySource::Inline { bytes, body_at } => {
                Ok(&bytes.bytes()[*body_at + pos as usize..*body_at + end as usize])
            }
            BodySource::Chunked(body) => {
                let i = body.starts.partition_point(|&s| s <= pos) - 1;
                let start = body.starts[i];
                let chunk = body.chunk(i)?;
                let from = (pos - start) as usize;
                let to = ((end - start) as usize).min(chunk.len());
                Ok(&chunk[from..to])
            }
            BodySource::Sealed(body) => body.run(pos, end),
        }
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.end || buf.is_empty() {
            return Ok(0);
        }
        let run = self.next_run().map_err(io::Error::other)?;
        let n = buf.len().min(run.len());
        buf[..n].copy_from_slice(&run[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_resolve_like_s3() {
        assert_eq!(ByteRange::parse("bytes=0-9").unwrap().resolve(100).unwrap(), (0, 10));
        assert_eq!(ByteRange::parse("bytes=90-200").unwrap().resolve(100).unwrap(), (90, 100));
        assert_eq!(ByteRange::parse("bytes=95-").unwrap().resolve(100).unwrap(), (95, 100));
        assert_eq!(ByteRange::parse("bytes=-10").unwrap().resolve(100).unwrap(), (90, 100));
        assert_eq!(ByteRange::parse("bytes=-500").unwrap().resolve(100).unwrap(), (0, 100));
        let e = ByteRange::parse("bytes=100-").unwrap().resolve(100).unwrap_err();
        assert!(matches!(e, Error::InvalidRange { size: 100, .. }));
        assert_eq!(e.code(), "InvalidRange");
        assert!(ByteRange::Suffix(0).resolve(10).is_err());
        assert!(ByteRange::From(0).resolve(0).is_err());
        for bad in ["bytes=", "bytes=-", "items=0-1", "bytes=5-1", "bytes=a-b", "bytes=1"] {
            assert!(ByteRange::parse(bad).is_err(), "{bad}");
        }
    }
}
