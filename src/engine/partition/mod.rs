//! Partitions: the router, the ordered index, and the single writer per partition that appends
//! records in group commits.
//!
//! Write path (per partition): writers enqueue requests; the first writer to find no leader becomes
//! the leader, takes every queued request (up to `group_bytes`), appends their records and one
//! group-commit marker to the class's active segment, issues one `fdatasync` for the group (when any
//! request asks for `Immediate`), updates the index, and only then completes every request. So readers
//! see a write exactly when its writer is acknowledged, and an acknowledged `Immediate` write is on disk.

mod commit;
pub(crate) mod index;
mod lifecycle;
pub(crate) mod prefix_load;
pub(crate) mod rate;
mod shred;
mod snapshot;
pub(crate) mod stats;
pub(crate) mod uploads;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use parking_lot::{Condvar, Mutex, MutexGuard, RwLock};

use crate::engine::buffer_pool::SharedPiece;
use crate::engine::context::Context;
use crate::engine::format::manifest::ManifestEdit;
use crate::engine::format::record::{
    GroupCommitBody, RecordKind, RecordParts, SealBody, body_padding, encode_record, patch_seq, record_len,
};
use crate::engine::format::segment_header::{SEGMENT_DATA_START, SegmentHeader};
use crate::engine::format::{align8, mask};
use crate::engine::io::OpenMode;
use crate::engine::segment::Segment;
use crate::error::{Error, Result};
use crate::types::{Durability, StorageClass, VersionId};
use index::{Index, IndexEntry, narrow_place};

/// Router: a stable hash of (bucket id, first `prefix_len` key bytes) modulo the partition count.
///
/// FNV-1a 64 over `bucket_id` (8 bytes LE) then the key prefix, finished with the splitmix64 mixer so
/// the low bits (which pick the partition) depend on every input bit. Stable across versions and
/// platforms: changing it would move keys, so it is part of the on-disk format.
#[must_use]
pub fn route(bucket_id: u64, key: &[u8], prefix_len: u32, partitions: u32) -> u16 {
    let n = key.len().min(prefix_len as usize);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bucket_id.to_le_bytes().iter().chain(&key[..n]) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h & u64::from(partitions - 1)) as u16
}

/// What applying a record does to the index.
#[derive(Debug)]
pub(crate) enum Effect {
    /// Adds a version (location filled in by the leader), with where its chunk records lie;
    /// `settles` when this commits chunks a put wrote as [`Effect::Chunk`].
    Upsert { bucket: u64, key: Vec<u8>, entry: IndexEntry, spans: Vec<index::Span>, settles: bool },
    /// A chunk record of a put that has not committed yet.
    Chunk,
    /// A record no entry points at that compaction must keep (a catalog edit).
    Retain,
    /// Removes a version.
    Purge { bucket: u64, key: Vec<u8>, version: VersionId },
    /// Begins a multipart upload (the start record's place filled in by the leader).
    UploadStart { key: uploads::UploadKey, upload: uploads::Upload },
    /// One part of an upload (its record's place filled in by the leader); it commits the chunks
    /// the part upload wrote as [`Effect::Chunk`].
    UploadPart { key: uploads::UploadKey, number: u32, part: uploads::PartEntry },
    /// Ends an upload (abort, or the completion whose commit record is in the same request).
    UploadEnd { key: uploads::UploadKey },
}

/// One encoded record (seq patched by the leader) and its index effect.
#[derive(Debug)]
pub(crate) struct WriteRecord {
    /// The whole record, or only its head when `body` is set.
    pub(crate) bytes: Vec<u8>,
    /// A large body written from where it already is (after `bytes`, then its padding), so that it
    /// is neither copied into the record nor CRC'd again.
    pub(crate) body: Option<SharedBody>,
    pub(crate) effect: Effect,
}

impl WriteRecord {
    /// A record encoded whole.
    pub(crate) fn new(bytes: Vec<u8>, effect: Effect) -> WriteRecord {
        WriteRecord { bytes, body: None, effect }
    }

    /// Bytes on disk.
    fn len(&self) -> u64 {
        self.bytes.len() as u64 + self.body.as_ref().map_or(0, |b| align8(b.len))
    }
}

/// A body shared with whoever else reads it (the MD5 worker): its pieces in order, their total
/// length and their raw CRC-32.
#[derive(Debug)]
pub(crate) struct SharedBody {
    pub(crate) pieces: Vec<SharedPiece>,
    pub(crate) len: u64,
    pub(crate) crc: u32,
}

/// Where a record landed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Written {
    pub(crate) seq: u64,
    pub(crate) segment_id: u64,
    pub(crate) offset: u64,
}

/// What must hold of a key's current version for a conditional write to proceed. Checked by the
/// partition leader against the index and the earlier requests of its group, so that of two racing
/// conditional writes exactly one can win.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Condition {
    /// The key has no current version (or its current version is a delete marker).
    Absent,
    /// The key's current version is an object with this ETag digest.
    EtagIs([u8; 16]),
    /// The key's current version is an object (not a delete marker).
    Exists,
    /// Nothing about the key (a condition on the upload alone).
    Any,
}

/// A condition on one key.
#[derive(Debug, Clone)]
pub(crate) struct Precondition {
    pub(crate) bucket: u64,
    pub(crate) key: Vec<u8>,
    pub(crate) condition: Condition,
    /// The multipart upload (of this bucket and key) that must still be in progress.
    pub(crate) upload: Option<[u8; 16]>,
}

/// A key's state after earlier requests of a group: its newest new version, and the versions purged.
type KeyOverlay = (Option<IndexEntry>, Vec<VersionId>);

#[derive(Debug)]
struct Request {
    records: Mutex<Vec<WriteRecord>>,
    precondition: Option<Precondition>,
    bytes: u64,
    class: StorageClass,
    durability: Durability,
    result: Mutex<Option<Result<Vec<Written>>>>,
    queued_at: std::time::Instant,
}

#[derive(Debug, Default)]
struct Queue {
    pending: VecDeque<Arc<Request>>,
    leader: bool,
}

#[derive(Debug)]
struct ActiveSegment {
    seg: Arc<Segment>,
    tail: u64,
    synced_upto: u64,
    record_count: u64,
    last_seq: u64,
    crc: crc32fast::Hasher,
    /// The file is allocated and zero up to here (at least `tail`).
    zeroed_upto: u64,
    /// Whether the last group was one that zero-filling serves (see `write_group`).
    last_group_small: bool,
}

/// The active segment of a class as recovery left it.
#[derive(Debug)]
pub(crate) struct RecoveredActive {
    pub(crate) seg: Arc<Segment>,
    pub(crate) tail: u64,
    pub(crate) record_count: u64,
    pub(crate) last_seq: u64,
    pub(crate) crc: crc32fast::Hasher,
}

/// One partition.
#[derive(Debug)]
pub(crate) struct Partition {
    pub(crate) id: u16,
    ctx: Arc<Context>,
    pub(crate) index: RwLock<Index>,
    segments: RwLock<HashMap<u64, Arc<Segment>>>,
    queue: Mutex<Queue>,
    wake: Condvar,
    active: Mutex<HashMap<StorageClass, ActiveSegment>>,
    dirty: AtomicBool,
    pub(crate) counters: stats::Counters,
    pub(crate) prefix_loads: prefix_load::PrefixLoads,
    pub(crate) rate: rate::RateWindow,
    /// Held by the one rewrite (compaction) of this partition that may run at a time, and by the
    /// foreground calls that must not see its records move (see [`Partition::hold_rewrites`]).
    pub(crate) rewrite_lock: Mutex<()>,
    /// Foreground calls waiting for `rewrite_lock`: while there are any, a paced rewrite holding it
    /// does not sleep, so they wait for its I/O but never for its pace.
    pub(crate) rewrite_waiters: AtomicUsize,
    /// Compaction inputs that left the store but whose files a reader may still hold: unlinked by
    /// [`Partition::reap_retired`] once nothing else holds them.
    retired: Mutex<Vec<Arc<Segment>>>,
    /// The partition's checkpoint files: held by whoever writes one (see `crate::engine::checkpoint`).
    pub(crate) checkpoints: Mutex<crate::engine::checkpoint::PartitionCheckpoints>,
    /// Crypto-shred: sealed versions removed whose key slots are still to be erased (a leaf lock).
    removed_sealed: Mutex<Vec<shred::RemovedVersion>>,
}

/// Held by the writer that leads a group. Dropping it hands leadership back and wakes the waiting
/// writers, also when the leader unwinds from a panic: then the store is poisoned (the group may be
/// half written and its index effects half applied) and every request of the group that has no
/// result yet gets `PreviousIo`, so no writer waits for ever on a leader that is gone.
struct Leadership<'a> {
    partition: &'a Partition,
    batch: &'a [Arc<Request>],
}

impl Drop for Leadership<'_> {
    fn drop(&mut self) {
        let p = self.partition;
        if std::thread::panicking() {
            p.ctx.poisoned.store(true, Ordering::Release);
            for req in self.batch {
                let mut result = req.result.lock();
                if result.is_none() {
                    *result = Some(Err(Error::PreviousIo));
                }
            }
        }
        let mut q = p.queue.lock();
        q.leader = false;
        p.wake.notify_all();
    }
}

/// A record whose bytes are this makes the leader panic (tests of the panic path only).
#[cfg(test)]
const PANIC_IN_LEADER: &[u8] = b"test: panic in the leader";

const MARKER_BYTES: u64 = 64 + 32;
/// Zeros written after a large group's marker (see `write_group`): room for a commit record with
/// its metadata and marker.
const LARGE_GROUP_ZERO_PAD_BYTES: u64 = 4096;
/// Groups up to this size are appended with one write call.
const COALESCE_BYTES_MAX: u64 = 1024 * 1024;

fn strongest(a: Durability, b: Durability) -> Durability {
    let rank = |d: Durability| match d {
        Durability::Eventual { .. } => 0,
        Durability::Immediate => 1,
        Durability::Paranoid => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}

fn clone_err(e: &Error) -> Error {
    match e {
        Error::Io { op, path, source } => Error::Io {
            op,
            path: path.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        _ => Error::PreviousIo,
    }
}

impl Partition {
    pub(crate) fn new(id: u16, ctx: Arc<Context>) -> Partition {
        Partition {
            id,
            ctx,
            index: RwLock::new(Index::default()),
            segments: RwLock::new(HashMap::new()),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            active: Mutex::new(HashMap::new()),
            dirty: AtomicBool::new(false),
            counters: stats::Counters::default(),
            prefix_loads: prefix_load::PrefixLoads::default(),
            rate: rate::RateWindow::default(),
            rewrite_lock: Mutex::new(()),
            rewrite_waiters: AtomicUsize::new(0),
            retired: Mutex::new(Vec::new()),
            checkpoints: Mutex::default(),
            removed_sealed: Mutex::default(),
        }
    }

    /// Takes the rewrite lock for a foreground call (completion, part listing, checkpoint), so that
    /// no rewrite moves records meanwhile. A paced rewrite holding it stops sleeping while this
    /// waits: the caller waits for the rest of its copy, never for its pace.
    pub(crate) fn hold_rewrites(&self) -> MutexGuard<'_, ()> {
        if let Some(held) = self.rewrite_lock.try_lock() {
            return held;
        }
        self.rewrite_waiters.fetch_add(1, Ordering::SeqCst);
        let held = self.rewrite_lock.lock();
        self.rewrite_waiters.fetch_sub(1, Ordering::SeqCst);
        held
    }

    /// Registers a segment found by recovery.
    pub(crate) fn add_segment(&self, seg: Arc<Segment>) {
        self.segments.write().insert(seg.id, seg);
    }

    /// Makes a recovered segment the class's active one.
    pub(crate) fn set_active(&self, r: RecoveredActive) {
        let class = r.seg.class;
        let a = ActiveSegment {
            seg: r.seg,
            tail: r.tail,
            synced_upto: r.tail,
            record_count: r.record_count,
            last_seq: r.last_seq,
            crc: r.crc,
            zeroed_upto: r.tail,
            last_group_small: true,
        };
        self.active.lock().insert(class, a);
    }

    /// A segment of this partition by id.
    pub(crate) fn segment(&self, id: u64) -> Option<Arc<Segment>> {
        self.segments.read().get(&id).cloned()
    }

    /// Becomes the partition's leader with no group to write, once the current leader is done: no
    /// group is then half written or half applied (a seal, a checkpoint's snapshot).
    fn lead_alone(&self) -> Leadership<'_> {
        let mut q = self.queue.lock();
        while q.leader {
            self.wake.wait(&mut q);
        }
        q.leader = true;
        drop(q);
        Leadership { partition: self, batch: &[] }
    }

    /// The store's shared state.
    pub(crate) fn ctx(&self) -> &Arc<Context> {
        &self.ctx
    }

    fn seal(&self, a: ActiveSegment) -> Result<()> {
        self.ctx.check()?;
        let body = SealBody {
            record_count: a.record_count,
            last_seq: a.last_seq,
            sealed_at: a.tail,
            segment_crc: mask(a.crc.clone().finalize()),
        };
        let rec = engine_record(RecordKind::Seal, &body.encode());
        let path = &a.seg.path;
        a.seg.file.write_all_at(&rec, a.tail).map_err(|e| self.ctx.poison("seal write", path, e))?;
        let sealed_len = a.tail + rec.len() as u64;
        if a.zeroed_upto > sealed_len {
            // Drop the zero-filled tail: a sealed segment ends with its seal.
            a.seg.file.set_len(sealed_len).map_err(|e| self.ctx.poison("seal truncate", path, e))?;
        }
        a.seg.sync_data().map_err(|e| self.ctx.poison("seal fdatasync", path, e))?;
        stats::add(&self.counters.fsyncs, 1);
        stats::add(&self.counters.appended_bytes, rec.len() as u64);
        let edit = ManifestEdit::SegmentSealed { segment_id: a.seg.id, len: a.tail + rec.len() as u64 };
        let mut manifest = self.ctx.manifest.lock();
        manifest.append(&edit).map_err(|e| self.ctx.poison("manifest append", &manifest.path, e))?;
        drop(manifest);
        a.seg.map_sealed(sealed_len).map_err(|e| Error::io("map sealed segment", path, e))
    }

    fn create_segment(&self, class: StorageClass) -> Result<ActiveSegment> {
        let ctx = &self.ctx;
        // A leader of another partition may have poisoned the store since this group's check; the
        // manifest must not take appends after a failed one.
        ctx.check()?;
        let id = ctx.next_segment_id.fetch_add(1, Ordering::Relaxed);
        let dir = ctx.class_dir(self.id, class);
        let path = ctx.segment_path(self.id, class, id);
        let fail = |op, p: &std::path::Path, e| ctx.poison(op, p, e);
        if !ctx.storage.exists(&dir).map_err(|e| fail("stat", &dir, e))? {
            ctx.storage.create_dir_all(&dir).map_err(|e| fail("mkdir", &dir, e))?;
        }
        // Every time, not only after the mkdir: a process killed between its mkdir and this sync
        // leaves a class directory that exists but may not be durable (segment creation is rare,
        // one per `segment_bytes`, so the extra directory sync costs nothing that matters).
        let pdir = ctx.partition_dir(self.id);
        ctx.storage.sync_dir(&pdir).map_err(|e| fail("directory fsync", &pdir, e))?;
        let file =
            ctx.storage.open(&path, OpenMode::CreateNew).map_err(|e| fail("create segment", &path, e))?;
        let header = SegmentHeader {
            storage_class: class.code(),
            flags: 0,
            partition: self.id,
            segment_id: id,
            generation: 0,
            store_uuid: ctx.store_uuid,
            created_ms: now_ms(),
        };
        let mut page = vec![0u8; SEGMENT_DATA_START as usize];
        page[..64].copy_from_slice(&header.encode());
        file.write_all_at(&page, 0).map_err(|e| fail("segment header write", &path, e))?;
        file.sync_all().map_err(|e| fail("segment fsync", &path, e))?;
        ctx.storage.sync_dir(&dir).map_err(|e| fail("directory fsync", &dir, e))?;
        let edit = ManifestEdit::SegmentCreated {
            partition: self.id,
            class: class.code(),
            segment_id: id,
            generation: 0,
        };
        let mut manifest = ctx.manifest.lock();
        manifest.append(&edit).map_err(|e| ctx.poison("manifest append", &manifest.path, e))?;
        drop(manifest);
        let seg = Arc::new(Segment::new(id, class, 0, path, file));
        self.add_segment(seg.clone());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&page);
        Ok(ActiveSegment {
            seg,
            tail: SEGMENT_DATA_START,
            synced_upto: SEGMENT_DATA_START,
            record_count: 0,
            last_seq: 0,
            crc,
            zeroed_upto: SEGMENT_DATA_START,
            last_group_small: true,
        })
    }

    /// A snapshot of the statistics.
    pub(crate) fn stats(&self) -> stats::PartitionStats {
        let live = self.index.read().live_bytes();
        self.counters.snapshot(self.id, live)
    }

    /// Syncs one segment's data without holding up writers (see `crate::engine::writeback`), then drops
    /// `ranges` (offset, length) of it from the page cache. The sync acknowledges nothing, so it
    /// leaves `synced_upto` alone.
    pub(crate) fn write_back(&self, segment_id: u64, ranges: &[(u64, u64)]) -> Result<()> {
        self.ctx.check()?;
        let Some(seg) = self.segment(segment_id) else { return Ok(()) };
        seg.sync_data().map_err(|e| self.ctx.poison("segment fdatasync", &seg.path, e))?;
        stats::add(&self.counters.fsyncs, 1);
        for &(offset, len) in ranges {
            seg.file.drop_cached(offset, len);
        }
        Ok(())
    }

    /// Syncs active segments written with `Eventual` durability since the last flush.
    pub(crate) fn flush(&self) -> Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        self.ctx.check()?;
        let mut active = self.active.lock();
        for a in active.values_mut() {
            a.seg.sync_data().map_err(|e| self.ctx.poison("segment fdatasync", &a.seg.path, e))?;
            stats::add(&self.counters.fsyncs, 1);
            a.synced_upto = a.tail;
        }
        Ok(())
    }
}

/// Durability for engine records whose loss the caller must not see: never weaker than `Immediate`.
pub(crate) fn catalog_durability(d: Durability) -> Durability {
    strongest(d, Durability::Immediate)
}

/// An engine record (marker, seal) with no key or meta.
pub(crate) fn engine_record(kind: RecordKind, body: &[u8]) -> Vec<u8> {
    let rec = encode_record(&RecordParts {
        kind,
        flags: 0,
        seq: 0,
        bucket_id: 0,
        version_id: [0; 16],
        chunk_index: 0,
        key: &[],
        meta: &[],
        body,
    });
    debug_assert_eq!(rec.len() as u64, record_len(0, 0, body.len() as u64));
    rec
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests;
