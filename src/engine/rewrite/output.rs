//! The segments a rewrite writes: created outside the manifest (orphans until the rewrite's commit
//! edit names them), filled with copied records, sealed, synced, then handed to the commit.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::engine::context::Context;
use crate::engine::format::mask;
use crate::engine::format::record::{RecordKind, SEAL_BODY_BYTES, SealBody, record_len};
use crate::engine::format::segment_header::{SEGMENT_DATA_START, SegmentHeader};
use crate::engine::io::{OpenMode, StorageFile};
use crate::engine::partition::{engine_record, now_ms};
use crate::error::{Error, Result};
use crate::types::StorageClass;

use super::pace::Pacer;

/// Bytes buffered before a write call.
const WRITE_BUFFER_BYTES: usize = 1024 * 1024;
/// Bytes buffered before a write call when paced: each piece is synced at once, so the device
/// never holds more than this of a background rewrite ahead of a foreground sync.
const PACED_WRITE_BYTES: usize = 256 * 1024;

/// One output segment, sealed and synced.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) id: u64,
    pub(crate) path: PathBuf,
    pub(crate) file: Arc<dyn StorageFile>,
    pub(crate) len: u64,
    pub(crate) min_seq: u64,
}

#[derive(Debug)]
struct Open {
    id: u64,
    path: PathBuf,
    file: Arc<dyn StorageFile>,
    /// Bytes written or buffered (the next record's offset).
    tail: u64,
    buf: Vec<u8>,
    /// Offset of `buf[0]`.
    buf_at: u64,
    crc: crc32fast::Hasher,
    record_count: u64,
    last_seq: u64,
    min_seq: u64,
}

/// Writes a rewrite's output segments of one partition and class, rotating at the store's segment
/// size.
pub(crate) struct OutputWriter<'a> {
    ctx: &'a Context,
    pace: Option<&'a Pacer>,
    /// Foreground calls waiting for the partition's rewrite lock: the pace is not kept meanwhile.
    waiters: &'a AtomicUsize,
    partition: u16,
    class: StorageClass,
    generation: u64,
    open: Option<Open>,
    finished: Vec<Finished>,
}

impl<'a> OutputWriter<'a> {
    pub(crate) fn new(
        ctx: &'a Context,
        partition: u16,
        class: StorageClass,
        generation: u64,
        pace: Option<&'a Pacer>,
        waiters: &'a AtomicUsize,
    ) -> Self {
        OutputWriter { ctx, pace, waiters, partition, class, generation, open: None, finished: Vec::new() }
    }

    /// Appends one record given as consecutive byte slices; returns (segment id, offset).
    pub(crate) fn append(&mut self, parts: &[&[u8]], seq: u64) -> Result<(u64, u64)> {
        let len: u64 = parts.iter().map(|p| p.len() as u64).sum();
        let seal_len = record_len(0, 0, SEAL_BODY_BYTES as u64);
        let full = self.open.as_ref().is_some_and(|o| {
            o.tail > SEGMENT_DATA_START && o.tail + len + seal_len > self.ctx.params.segment_bytes
        });
        if full {
            self.seal_current()?;
        }
        if self.open.is_none() {
            self.open = Some(self.create()?);
        }
        let o = self.open.as_mut().expect("opened above");
        let at = o.tail;
        for p in parts {
            o.crc.update(p);
            o.buf.extend_from_slice(p);
        }
        o.tail += len;
        o.record_count += 1;
        o.last_seq = o.last_seq.max(seq);
        o.min_seq = o.min_seq.min(seq);
        let limit = if self.pace.is_some() { PACED_WRITE_BYTES } else { WRITE_BUFFER_BYTES };
        if o.buf.len() >= limit {
            let n = o.buf.len() as u64;
            flush(o)?;
            if let Some(p) = self.pace {
                // Trickled out: a foreground `fdatasync` queues behind at most one such piece, and
                // no dirty backlog builds up in the page cache for one to meet all at once.
                o.file.sync_data().map_err(|e| Error::io("segment fdatasync", &o.path, e))?;
                p.consume_unless(n, self.waiters);
            }
        }
        Ok((o.id, at))
    }

    /// Seals and syncs every output and syncs their directory; returns them in order.
    pub(crate) fn finish(mut self) -> Result<Vec<Finished>> {
        if self.open.is_some() {
            self.seal_current()?;
        }
        if !self.finished.is_empty() {
            let dir = self.ctx.class_dir(self.partition, self.class);
            self.ctx.storage.sync_dir(&dir).map_err(|e| Error::io("directory fsync", &dir, e))?;
        }
        Ok(std::mem::take(&mut self.finished))
    }

    /// Files written so far (for cleanup when the rewrite fails before its commit).
    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        self.finished.iter().map(|f| f.path.clone()).chain(self.open.iter().map(|o| o.path.clone())).collect()
    }

    fn create(&self) -> Result<Open> {
        let ctx = self.ctx;
        let id = ctx.next_segment_id.fetch_add(1, Ordering::Relaxed);
        let dir = ctx.class_dir(self.partition, self.class);
        let path = ctx.segment_path(self.partition, self.class, id);
        if !ctx.storage.exists(&dir).map_err(|e| Error::io("stat", &dir, e))? {
            ctx.storage.create_dir_all(&dir).map_err(|e| Error::io("mkdir", &dir, e))?;
            let pdir = ctx.partition_dir(self.partition);
            ctx.storage.sync_dir(&pdir).map_err(|e| Error::io("directory fsync", &pdir, e))?;
        }
        let file = ctx
            .storage
            .open(&path, OpenMode::CreateNew)
            .map_err(|e| Error::io("create segment", &path, e))?;
        let header = SegmentHeader {
            storage_class: self.class.code(),
            flags: 0,
            partition: self.partition,
            segment_id: id,
            generation: self.generation,
            store_uuid: ctx.store_uuid,
            created_ms: now_ms(),
        };
        let mut page = vec![0u8; SEGMENT_DATA_START as usize];
        page[..64].copy_from_slice(&header.encode());
        // The header is durable before any record: a file of this store with data always names
        // itself (and its generation), so an open that finds it uncommitted knows what it is.
        file.write_all_at(&page, 0).map_err(|e| Error::io("segment header write", &path, e))?;
        file.sync_all().map_err(|e| Error::io("segment fsync", &path, e))?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&page);
        Ok(Open {
            id,
            path,
            file,
            tail: SEGMENT_DATA_START,
            buf: Vec::with_capacity(WRITE_BUFFER_BYTES),
            buf_at: SEGMENT_DATA_START,
            crc,
            record_count: 0,
            last_seq: 0,
            min_seq: u64::MAX,
        })
    }

    fn seal_current(&mut self) -> Result<()> {
        let mut o = self.open.take().expect("an open output");
        let body = SealBody {
            record_count: o.record_count,
            last_seq: o.last_seq,
            sealed_at: o.tail,
            segment_crc: mask(o.crc.clone().finalize()),
        };
        let seal = engine_record(RecordKind::Seal, &body.encode());
        o.buf.extend_from_slice(&seal);
        o.tail += seal.len() as u64;
        let n = o.buf.len() as u64;
        flush(&mut o)?;
        o.file.sync_all().map_err(|e| Error::io("segment fsync", &o.path, e))?;
        // The last piece is paced like the others (with segments under a piece, it is every byte).
        if let Some(p) = self.pace {
            p.consume_unless(n, self.waiters);
        }
        self.finished.push(Finished {
            id: o.id,
            path: o.path,
            file: o.file,
            len: o.tail,
            min_seq: o.min_seq,
        });
        Ok(())
    }
}

/// Writes the buffered piece.
fn flush(o: &mut Open) -> Result<()> {
    o.file.write_all_at(&o.buf, o.buf_at).map_err(|e| Error::io("segment write", &o.path, e))?;
    o.buf_at += o.buf.len() as u64;
    o.buf.clear();
    Ok(())
}
