//! Object bodies: byte ranges and the streaming reader returned by `get`.

use std::io::{self, Read, Write};
use std::sync::Arc;

use crate::engine::format::align8;
use crate::engine::format::meta::{ChunkIds, ChunkRef};
use crate::engine::format::record::{
    RecordHeader, RecordKind, append_verified, decode_prefix, decode_record, record_len, verify_body_crc,
    verify_body_crc_hashed,
};
use crate::engine::io::Storage;
use crate::engine::partition::Partition;
use crate::engine::segment::{Segment, SegmentBytes};
use crate::engine::split_read::{Plan, ReadWorker, SPLIT_BODY_BYTES_MIN, SpanSource, Take, read_body};
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

/// Cipher chunks read, hashed and opened at a time when a whole chunk record is opened into a
/// caller's buffer: 256 KiB, half this machine's L2 cache.
const OPEN_SLICE_CHUNKS: u64 = 4;

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

    /// The batch of cipher chunks that holds `pos` (reaching at most to `end`). A batch never
    /// crosses a part's end: each part has its own key and chunk numbering.
    fn batch(&self, pos: u64, end: u64) -> Result<Batch> {
        use crate::engine::crypto::chunks::{TAG_BYTES, sealed_span};
        // The last part starting at or before `pos` (an empty part shares its start with the
        // next one, and `pos` < the object's length, so the part found holds `pos`).
        let part = self.parts.partition_point(|p| p.plain_at <= pos).saturating_sub(1);
        let p = &self.parts[part];
        let c = p.cipher.chunk_bytes() as u64;
        let (at, part_end) = (pos - p.plain_at, (end - p.plain_at).min(p.plain));
        if at >= part_end {
            return Err(Error::corruption(self.site.clone(), "sealed parts do not cover the object"));
        }
        let first = at / c;
        let mut last = ((part_end - 1) / c).min(first + SEALED_BATCH_CHUNKS - 1);
        let (_, _, mut off, mut len) = sealed_span(first * c, (last + 1) * c, p.plain, c as usize);
        // Cut at the end of the chunk record holding its first byte when a whole cipher chunk
        // fits before it: the batch then opens straight from the record instead of being copied
        // out of two first.
        let step = c + TAG_BYTES as u64;
        let room = self.stored.record_room(p.sealed_at + off);
        if len > room && room >= step {
            last = first + room / step - 1;
            (_, _, off, len) = sealed_span(first * c, (last + 1) * c, p.plain, c as usize);
        }
        let plain_at = first * c;
        Ok(Batch {
            part,
            first,
            last,
            sealed: (p.sealed_at + off, p.sealed_at + off + len),
            plain_at: p.plain_at + plain_at,
            plain_len: ((last + 1) * c).min(p.plain) - plain_at,
        })
    }

    /// Opens batch `b`, appending its plaintext to `out` (each chunk only once its tag verified).
    fn open_batch(&mut self, b: &Batch, out: &mut Vec<u8>) -> Result<()> {
        let SealedBody { stored, parts, site, .. } = self;
        let p = &parts[b.part];
        out.reserve(b.plain_len as usize);
        // Opened straight from the chunk record when the run lies in one (CRC-checked when it
        // was loaded); copied out of the records only when it spans two.
        let (from, to) = b.sealed;
        let opened = match stored.slice(from, to)? {
            Some(sealed) => p.cipher.open_run(b.first, b.last, p.plain, sealed, out),
            None => {
                let mut sealed = Vec::with_capacity((to - from) as usize);
                stored.read_range(from, to, &mut sealed)?;
                p.cipher.open_run(b.first, b.last, p.plain, &sealed, out)
            }
        };
        opened.map_err(|e| Error::corruption(site.clone(), format!("sealed body: {e}")))
    }

    /// The opened plaintext from `pos` to the end of its batch (at most to `end`), opening the
    /// batch that holds `pos` when it is not the one opened last.
    fn run(&mut self, pos: u64, end: u64) -> Result<&[u8]> {
        let hit = self.opened.as_ref().is_some_and(|(at, b)| *at <= pos && pos < *at + b.len() as u64);
        if !hit {
            let b = self.batch(pos, end)?;
            // The last batch's buffer, reused: a fresh megabyte per batch costs a page fault per
            // page (and the allocator's trimming) on every batch of every get.
            let mut plain = self.opened.take().map(|(_, b)| b).unwrap_or_default();
            plain.clear();
            self.open_batch(&b, &mut plain)?;
            self.opened = Some((b.plain_at, plain));
        }
        let (at, b) = self.opened.as_ref().expect("opened above");
        let from = (pos - at) as usize;
        let to = ((end - at) as usize).min(b.len());
        Ok(&b[from..to])
    }

    /// Opens the chunk record that starts at `pos` straight into `out` when the read takes all of
    /// it: the record's body is read into `out` (its CRC checked there, as a plain body's is),
    /// then opened where it lies, each chunk's plaintext written over the ciphertext and tags
    /// before it. Against opening batches out of a loaded record this saves a buffer as large as
    /// the record (faulted in afresh by every get) and a copy of every byte. The number of bytes
    /// appended, or `None` when no such record starts at `pos`. On an error `out` is as it was.
    fn append_record_opened(&mut self, pos: u64, end: u64, out: &mut Vec<u8>) -> Result<Option<u64>> {
        use crate::engine::crypto::chunks::{TAG_BYTES, sealed_len};
        let SealedBody { stored, parts, site, .. } = self;
        let p = &parts[parts.partition_point(|p| p.plain_at <= pos).saturating_sub(1)];
        let c = p.cipher.chunk_bytes() as u64;
        let step = c + TAG_BYTES as u64;
        let at = pos - p.plain_at;
        if !at.is_multiple_of(c) {
            return Ok(None);
        }
        let first = at / c;
        let from = p.sealed_at + first * step;
        let Some(i) = stored.starts.partition_point(|&s| s <= from).checked_sub(1) else { return Ok(None) };
        let len = stored.chunks[i].len;
        let (to, part_end) = (from + len, p.sealed_at + sealed_len(p.plain, c as usize));
        // The record must be whole chunks of this part: up to the part's end, or whole
        // non-last chunks before it.
        let plain_len = match () {
            () if stored.starts[i] != from || to > part_end => return Ok(None),
            () if to == part_end => p.plain - first * c,
            () if len % step == 0 => len / step * c,
            () => return Ok(None),
        };
        if pos + plain_len > end {
            return Ok(None);
        }
        // Slices of whole cipher chunks, about 256 KiB: each is read, hashed and opened while it
        // is in the L2 cache, one pass over memory instead of three (read, CRC, open).
        // Large records are opened on two cores at once, split at a cipher chunk (`split_read`).
        let base = out.len();
        let (cipher, plain, site_of) = (p.cipher.clone(), p.plain, site.clone());
        let open: Arc<Take> = Arc::new(move |out: &mut Vec<u8>, at: usize, body_pos: u64| {
            cipher
                .open_run_in_place(first + body_pos / step, plain, out, at)
                .map(drop)
                .map_err(|e| Error::corruption(site_of.clone(), format!("sealed body: {e}")))
        });
        let plan =
            Plan { slice_bytes: OPEN_SLICE_CHUNKS * step, align: step, split_min: SPLIT_BODY_BYTES_MIN };
        stored.stream_record(i, plan, out, &open)?;
        let n = (out.len() - base) as u64;
        if n != plain_len {
            out.truncate(base);
            return Err(Error::corruption(
                site.clone(),
                "sealed body: a chunk record's chunks do not match its part",
            ));
        }
        Ok(Some(n))
    }

    /// Opens the batch starting at `pos` straight into `out` when it starts there and ends by
    /// `end` (a whole read's batches but perhaps its first and last), saving the copy out of a
    /// batch buffer: the number of bytes appended, or `None` when the batch does not fit.
    /// On an error `out` is as it was.
    fn append_opened(&mut self, pos: u64, end: u64, out: &mut Vec<u8>) -> Result<Option<u64>> {
        let b = self.batch(pos, end)?;
        if b.plain_at != pos || b.plain_at + b.plain_len > end {
            return Ok(None);
        }
        let start = out.len();
        if let Err(e) = self.open_batch(&b, out) {
            out.truncate(start);
            return Err(e);
        }
        Ok(Some(b.plain_len))
    }
}

/// A run of cipher chunks of one sealed part, opened together.
#[derive(Debug)]
struct Batch {
    part: usize,
    first: u64,
    last: u64,
    /// Its sealed bytes' place in the stored stream, `[from, to)`.
    sealed: (u64, u64),
    /// Plaintext offset of its first byte in the object, and its plaintext length.
    plain_at: u64,
    plain_len: u64,
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
            other => {
                // The record read last is done with: its buffer takes the next one.
                let reuse = match other {
                    Some((_, SegmentBytes::Owned(buf), _)) => buf,
                    _ => Vec::new(),
                };
                let (record, body_at) = self.load(i, reuse)?;
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

    /// Bytes from stored position `at` to the end of the chunk record holding it (0 past the
    /// last record).
    fn record_room(&self, at: u64) -> u64 {
        let Some(i) = self.starts.partition_point(|&s| s <= at).checked_sub(1) else { return 0 };
        (self.starts[i] + self.chunks[i].len).saturating_sub(at)
    }

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
    fn load(&self, i: usize, reuse: Vec<u8>) -> Result<(SegmentBytes, usize)> {
        let (seg, site) = self.segment(i)?;
        let c = self.chunks[i];
        let len = record_len(self.key.len(), 0, c.len);
        let bytes = seg
            .read_bytes_reusing(c.offset, len, reuse)
            .map_err(|e| Error::io("read chunk", &seg.path, e))?;
        let rec = decode_record(bytes.bytes())
            .map_err(|e| Error::corruption(site.clone(), format!("chunk {i}: {e}")))?;
        self.check_identity(i, &rec.header, rec.key, site)?;
        let body_at = rec.header.body_offset() as usize;
        Ok((bytes, body_at))
    }

    /// Reads chunk `i`'s body into `out` as `plan` says, hashing each slice for the record's CRC
    /// and handing it to `take` while it is still in cache (`split_read::read_body`: a large body
    /// is read as two spans at once, the second on the read worker). The CRC is compared once the
    /// whole body went by: on a mismatch, or any error, `out` is cut back to its length on entry,
    /// so nothing unverified stays in it. When `take` fails, the rest is still read and hashed: a
    /// CRC mismatch is the error then (damage of the record is reported as such, not as whatever
    /// `take` made of damaged bytes).
    fn stream_record(&self, i: usize, plan: Plan, out: &mut Vec<u8>, take: &Arc<Take>) -> Result<()> {
        let (seg, site) = self.segment(i)?;
        let c = self.chunks[i];
        let body_at = record_len(self.key.len(), 0, c.len) - align8(c.len);
        let head =
            seg.read_bytes(c.offset, body_at).map_err(|e| Error::io("read chunk head", &seg.path, e))?;
        let (h, key, _) = decode_prefix(head.bytes())
            .map_err(|e| Error::corruption(site.clone(), format!("chunk {i}: {e}")))?;
        self.check_identity(i, &h, key, site.clone())?;
        let source: Arc<dyn SpanSource> = Arc::new(RecordBody { seg, body: c.offset + body_at });
        // The worker thread reads only from the file system's storage: a custom one sees every
        // operation from a caller's thread, in an order a seed reproduces (`StoreBuilder::storage`).
        let worker = if c.len >= plan.split_min && on_file_storage(&*self.partition.ctx().storage) {
            ReadWorker::shared()
        } else {
            None
        };
        read_body(&source, c.len, plan, take, worker.as_deref(), out, |crc| {
            verify_body_crc_hashed(&h, crc).map_err(|e| Error::corruption(site, format!("chunk {i}: {e}")))
        })
    }

    /// Appends chunk `i`'s whole body to `out`, checked. From a sealed segment: the CRC pass over
    /// the map, then one copy. From an active one: the head is read and checked, the body read by
    /// `pread` straight into `out` (no buffer of our own, no zero-fill) and its CRC checked there;
    /// on a mismatch `out` is cut back, so an unverified byte never stays in it.
    ///
    /// Not split over two cores as a sealed record is (`split_read`): measured, a plain record's
    /// read and CRC pass is cheap enough that the copy of the worker's span and the hand-off took
    /// what the second core saved (DESIGN §7.6).
    fn append_to(&self, i: usize, out: &mut Vec<u8>) -> Result<()> {
        let c = self.chunks[i];
        let (seg, site) = self.segment(i)?;
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

/// Whether the split read may call `storage` from its worker thread: only a storage that says
/// so ([`Storage::callable_from_store_threads`]: the file system's, `RealStorage`).
fn on_file_storage(storage: &dyn Storage) -> bool {
    storage.callable_from_store_threads()
}

/// A chunk record's body in its segment, as `split_read` reads it.
struct RecordBody {
    seg: Arc<Segment>,
    /// The body's offset in the segment.
    body: u64,
}

impl SpanSource for RecordBody {
    fn append(&self, out: &mut Vec<u8>, pos: u64, n: u64) -> Result<()> {
        self.seg.read_append(out, self.body + pos, n).map_err(|e| Error::io("read chunk", &self.seg.path, e))
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
        // Plain chunks are read straight into `out`, each reserving its own room (`pread` fills
        // all the spare capacity it is given). A sealed body's room is reserved at once: a record
        // opened on two cores has the worker's span copied in after the caller's, and growing
        // `out` record by record moved megabytes (a realloc copy) at the last record of a get.
        let room = match &self.source {
            BodySource::Inline { .. } => self.remaining(),
            // Plaintext, and the tags of the record being opened in `out` (a record of chunks
            // opens where it lands).
            BodySource::Sealed(body) => {
                let c = body.parts.first().map_or(1, |p| p.cipher.chunk_bytes() as u64);
                let tags = self.remaining() / c + 2 * body.parts.len() as u64 + 2;
                self.remaining() + tags * crate::engine::crypto::chunks::TAG_BYTES as u64
            }
            BodySource::Chunked(_) => 0,
        };
        let mut out = Vec::with_capacity(usize::try_from(room).unwrap_or(0).min(64 << 20));
        while self.pos < self.end {
            if let BodySource::Sealed(body) = &mut self.source {
                let n = match body.append_record_opened(self.pos, self.end, &mut out)? {
                    Some(n) => Some(n),
                    None => body.append_opened(self.pos, self.end, &mut out)?,
                };
                if let Some(n) = n {
                    self.pos += n;
                    continue;
                }
            }
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

    // The split read (`split_read`) through a store: sealed bodies whose chunk records are around
    // the split size or well past it (and plain ones, read on one thread, as a control), whole and
    // by ranges that start and end inside records, and tampered records whose damage only the
    // second span sees. (The pure cases,
    // with small chunks, are in `split_read`'s tests.)

    use std::os::unix::fs::FileExt as _;

    use crate::engine::crypto::chunks::{CHUNK_BYTES, TAG_BYTES};
    use crate::engine::split_read::SPLIT_BODY_BYTES_MIN;
    use crate::{BucketId, Encryption, GetOptions, PutOptions, Store};

    const C: usize = CHUNK_BYTES;
    const STEP: usize = C + TAG_BYTES;

    fn body(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect()
    }

    fn store(dir: &std::path::Path, sealed: bool, chunk_bytes: u64) -> (Store, BucketId, PutOptions) {
        let mut b = Store::builder(dir).chunk_bytes(chunk_bytes).inline_bytes(0);
        let mut opts = PutOptions::default();
        if sealed {
            b = b.key_provider(Arc::new(crate::crypto::MasterKeys::generate()));
            opts.encryption = Some(Encryption::S3);
        }
        let store = b.open().unwrap();
        let bucket = store.create_bucket("split").unwrap();
        (store, bucket, opts)
    }

    /// `read_to_vec` and the streaming reader (64 KiB reads) over `range`: the same bytes or the
    /// same error message.
    fn both(
        store: &Store,
        bucket: BucketId,
        key: &str,
        range: Option<ByteRange>,
    ) -> std::result::Result<Vec<u8>, String> {
        let opts = GetOptions { range, ..GetOptions::default() };
        let whole =
            store.get(bucket, key, &opts).and_then(|(_, mut r)| r.read_to_vec()).map_err(|e| e.to_string());
        let (_, mut r) = store.get(bucket, key, &opts).unwrap();
        let mut streamed = Vec::new();
        let mut buf = vec![0; 64 << 10];
        let streamed = loop {
            match r.read(&mut buf) {
                Ok(0) => break Ok(streamed),
                Ok(n) => streamed.extend_from_slice(&buf[..n]),
                Err(e) => break Err(e.to_string()),
            }
        };
        assert!(whole == streamed, "{key} {range:?}: read_to_vec and the streaming reader disagree");
        whole
    }

    #[test]
    fn only_the_file_systems_storage_is_read_on_the_worker() {
        assert!(on_file_storage(&crate::engine::io::RealStorage));
        assert!(!on_file_storage(&crate::io::SimStorage::new()));
    }

    #[test]
    fn split_reads_of_large_records_serve_every_byte_whole_and_by_ranges() {
        assert!(31 * STEP < SPLIT_BODY_BYTES_MIN as usize && 32 * STEP >= SPLIT_BODY_BYTES_MIN as usize);
        for sealed in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            // 3 MiB records: a 7 MiB body is three records, the first two split.
            let (store, bucket, opts) = store(dir.path(), sealed, 3 << 20);
            // Records around the split size (31 and 32 cipher chunks, 2 MiB plain), odd chunk
            // counts, and bodies of several records.
            let sizes =
                [31 * C, 31 * C + 100, 32 * C - 1, 32 * C, 32 * C + 1, 33 * C + 5, 3 << 20, (7 << 20) + 3];
            for (n, &len) in sizes.iter().enumerate() {
                let data = body(len + n);
                let key = format!("k{n}");
                store.put_bytes(bucket, &key, &data, &opts).unwrap();
                assert!(both(&store, bucket, &key, None).unwrap() == data, "{key}: {} bytes", data.len());
                let l = data.len() as u64;
                let record = 3u64 << 20;
                for (a, b) in
                    [(1, l - 1), (C as u64 / 2, l - 7), (record - 1, l - 1), (record + 1, l), (0, record + 1)]
                {
                    if a >= b || b > l {
                        continue;
                    }
                    let got = both(&store, bucket, &key, Some(ByteRange::Inclusive(a, b - 1))).unwrap();
                    assert!(got == data[a as usize..b as usize], "{key}: bytes {a}..{b}");
                }
            }
        }
    }

    /// Where chunk record `i` of `key`'s body is: (segment file, record offset, body offset, body
    /// length).
    fn chunk_at(store: &Store, bucket: BucketId, key: &str, i: usize) -> (std::path::PathBuf, u64, u64, u64) {
        let (_, r) = store.get(bucket, key, &GetOptions::default()).unwrap();
        let BodySource::Sealed(b) = &r.source else { panic!("{key} is not sealed") };
        let (seg, _) = b.stored.segment(i).unwrap();
        let c = b.stored.chunks[i];
        let body_at = record_len(b.stored.key.len(), 0, c.len) - align8(c.len);
        (seg.path.clone(), c.offset, c.offset + body_at, c.len)
    }

    /// Flips a bit of byte `at` of the body of the chunk record at `record`; with `fix_crcs` the
    /// record's body and header CRCs are recomputed, so that only the cipher can tell.
    fn flip(file: &std::path::Path, record: u64, body_at: u64, len: u64, at: u64, fix_crcs: bool) {
        let f = std::fs::OpenOptions::new().read(true).write(true).open(file).unwrap();
        let end = body_at + align8(len);
        let mut rec = vec![0; (end - record) as usize];
        f.read_exact_at(&mut rec, record).unwrap();
        let b = (body_at - record) as usize;
        rec[b + at as usize] ^= 0x04;
        if fix_crcs {
            let body_crc = crate::engine::format::masked_crc(&rec[b..b + len as usize]);
            rec[56..60].copy_from_slice(&body_crc.to_le_bytes());
            let h = crate::engine::format::record::decode_header(&rec).unwrap();
            let km_end = crate::engine::format::record::RECORD_HEADER_BYTES
                + usize::from(h.key_len)
                + h.meta_len as usize;
            let header_crc = crate::engine::format::masked_crc(&rec[8..km_end]);
            rec[4..8].copy_from_slice(&header_crc.to_le_bytes());
            decode_record(&rec).expect("the edited record's CRCs are right");
        }
        f.write_all_at(&rec, record).unwrap();
    }

    #[test]
    fn damage_in_a_split_record_is_reported_as_on_one_thread() {
        let dir = tempfile::tempdir().unwrap();
        let (store, bucket, opts) = store(dir.path(), true, 8 << 20);
        // 40 cipher chunks in one record: the calling thread opens 18, the worker 22.
        let data = body(40 * C - 9);
        for key in ["tag", "crc", "both"] {
            store.put_bytes(bucket, key, &data, &opts).unwrap();
        }
        // A chunk of the worker's span changed with its CRCs fixed: its tag fails, on both paths.
        let (file, record, body_at, len) = chunk_at(&store, bucket, "tag", 0);
        assert!(len >= SPLIT_BODY_BYTES_MIN);
        flip(&file, record, body_at, len, 30 * STEP as u64 + 9, true);
        let e = both(&store, bucket, "tag", None).unwrap_err();
        assert!(e.contains("encrypted chunk 30 failed authentication"), "{e}");
        // A range that starts inside the record and takes the tampered chunk fails too; one
        // before it is served.
        let e =
            both(&store, bucket, "tag", Some(ByteRange::Inclusive(C as u64 + 1, 31 * C as u64))).unwrap_err();
        assert!(e.contains("encrypted chunk 30"), "{e}");
        let got = both(&store, bucket, "tag", Some(ByteRange::Inclusive(7, 30 * C as u64 - 1))).unwrap();
        assert!(got == data[7..30 * C], "intact chunks before the tampered one");

        // A raw flip in the worker's span: the CRC fails, not a tag.
        let (file, record, body_at, len) = chunk_at(&store, bucket, "crc", 0);
        flip(&file, record, body_at, len, 35 * STEP as u64, false);
        let e = both(&store, bucket, "crc", None).unwrap_err();
        assert!(e.contains("crc") && !e.contains("failed authentication"), "{e}");

        // The worker's span fails its tag (CRCs fixed), then a raw flip in the caller's span: the
        // CRC mismatch is what both paths report.
        let (file, record, body_at, len) = chunk_at(&store, bucket, "both", 0);
        flip(&file, record, body_at, len, 25 * STEP as u64 + 1, true);
        flip(&file, record, body_at, len, STEP as u64 + 3, false);
        let e = both(&store, bucket, "both", None).unwrap_err();
        assert!(e.contains("crc") && !e.contains("failed authentication"), "{e}");
    }
}
