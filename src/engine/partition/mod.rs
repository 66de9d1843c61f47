//! Partitions: the router, the ordered index, and the single writer per partition that appends
//! records in group commits.
//!
//! Write path (per partition): writers enqueue requests; the first writer to find no leader becomes
//! the leader, takes every queued request (up to `group_bytes`), appends their records and one
//! group-commit marker to the class's active segment, issues one `fdatasync` for the group (when any
//! request asks for `Immediate`), updates the index, and only then completes every request. So readers
//! see a write exactly when its writer is acknowledged, and an acknowledged `Immediate` write is on disk.

pub(crate) mod index;
mod lifecycle;
pub(crate) mod prefix_load;
pub(crate) mod rate;
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

    /// Appends records as one atomic unit of a group commit and returns where they landed.
    pub(crate) fn submit(
        &self,
        records: Vec<WriteRecord>,
        class: StorageClass,
        durability: Durability,
        precondition: Option<Precondition>,
    ) -> Result<Vec<Written>> {
        self.ctx.check()?;
        let bytes = records.iter().map(WriteRecord::len).sum();
        let req = Arc::new(Request {
            records: Mutex::new(records),
            precondition,
            bytes,
            class,
            durability,
            result: Mutex::new(None),
            queued_at: std::time::Instant::now(),
        });
        let mut q = self.queue.lock();
        q.pending.push_back(req.clone());
        loop {
            if let Some(res) = req.result.lock().take() {
                return res;
            }
            if q.leader {
                self.wake.wait(&mut q);
                continue;
            }
            // No leader: this writer leads one group, then looks at its own result again (its request
            // may not have fit in the group it led).
            q.leader = true;
            let mut batch = Vec::new();
            let mut taken = 0u64;
            while let Some(next) = q.pending.front() {
                if !batch.is_empty() && taken + next.bytes > self.ctx.params.group_bytes {
                    break;
                }
                taken += next.bytes;
                batch.push(q.pending.pop_front().expect("front exists"));
            }
            drop(q);
            let guard = Leadership { partition: self, batch: &batch };
            self.lead(&batch);
            drop(guard);
            q = self.queue.lock();
        }
    }

    fn lead(&self, batch: &[Arc<Request>]) {
        #[cfg(test)]
        if batch.iter().any(|r| r.records.lock().iter().any(|rec| rec.bytes == PANIC_IN_LEADER)) {
            panic!("test: a bug in the leader");
        }
        let mut active = self.active.lock();
        let c = &self.counters;
        let waited: u64 = batch.iter().map(|r| r.queued_at.elapsed().as_nanos() as u64).sum();
        stats::add(&c.wait_ns, waited);
        stats::add(&c.groups, 1);
        stats::add(&c.grouped_requests, batch.len() as u64);
        c.largest_group.fetch_max(batch.len() as u64, Ordering::Relaxed);
        let mut outcomes = self.check_preconditions(batch);
        // Seqs follow queue order across classes: a precondition was checked as if every earlier
        // request of the batch had been applied, so each must also be older than the ones after it.
        let seqs: Vec<Vec<u64>> = batch
            .iter()
            .zip(&outcomes)
            .map(|(req, outcome)| match outcome {
                Some(_) => Vec::new(),
                None => req
                    .records
                    .lock()
                    .iter_mut()
                    .map(|rec| {
                        let seq = self.ctx.next_seq.fetch_add(1, Ordering::Relaxed);
                        patch_seq(&mut rec.bytes, seq);
                        seq
                    })
                    .collect(),
            })
            .collect();
        let mut classes: Vec<StorageClass> = batch.iter().map(|r| r.class).collect();
        classes.sort_unstable_by_key(|c| c.code());
        classes.dedup();
        // Each class's group is written (and synced) on its own; the index effects of the whole batch
        // are applied afterwards, in queue (= seq) order: upserts and purges only replace what is
        // older than them, so a put and a delete of one version in two classes applied class by class
        // would leave the delete undone in the live index.
        let mut written: Vec<Option<Vec<Written>>> = (0..batch.len()).map(|_| None).collect();
        let mut failed: Option<Error> = None;
        for class in classes {
            let members: Vec<usize> =
                (0..batch.len()).filter(|&i| batch[i].class == class && outcomes[i].is_none()).collect();
            if members.is_empty() {
                continue;
            }
            let reqs: Vec<(&Request, &[u64])> = members.iter().map(|&i| (&*batch[i], &seqs[i][..])).collect();
            match self.check_then_write(&mut active, class, &reqs) {
                Ok(per_req) => {
                    for (&i, w) in members.iter().zip(per_req) {
                        written[i] = Some(w);
                    }
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        drop(active);
        match failed {
            // The store is poisoned. Nothing of the batch is acknowledged: a request's precondition
            // may have counted on an earlier request whose group failed. Written records may or may
            // not survive, as for any write whose call failed.
            Some(e) => {
                for outcome in outcomes.iter_mut().filter(|o| o.is_none()) {
                    *outcome = Some(Err(clone_err(&e)));
                }
            }
            None => {
                let mut index = self.index.write();
                for (i, w) in written.into_iter().enumerate() {
                    let Some(w) = w else { continue };
                    let mut records = batch[i].records.lock();
                    for (rec, at) in records.iter_mut().zip(&w) {
                        apply_effect(&mut index, rec, at);
                    }
                    records.clear();
                    outcomes[i] = Some(Ok(w));
                }
            }
        }
        for (req, outcome) in batch.iter().zip(outcomes) {
            *req.result.lock() = outcome;
        }
    }

    /// Evaluates the batch's preconditions in order, each seeing the effects of the requests before it
    /// that will be written. Requests whose condition fails get their error; the rest `None`.
    fn check_preconditions(&self, batch: &[Arc<Request>]) -> Vec<Option<Result<Vec<Written>>>> {
        let mut outcomes: Vec<Option<Result<Vec<Written>>>> = (0..batch.len()).map(|_| None).collect();
        if batch.iter().all(|r| r.precondition.is_none()) {
            return outcomes;
        }
        let index = self.index.read();
        // Per key touched so far in this batch: its newest new version, and the versions purged.
        let mut overlay: HashMap<(u64, Vec<u8>), KeyOverlay> = HashMap::new();
        // Uploads ended, and begun, by earlier requests of this batch.
        let mut ended: Vec<[u8; 16]> = Vec::new();
        let mut begun: Vec<[u8; 16]> = Vec::new();
        for (i, req) in batch.iter().enumerate() {
            if let Some(p) = &req.precondition
                && let Some(upload) = p.upload
            {
                let open = !ended.contains(&upload)
                    && (begun.contains(&upload) || index.uploads().get(p.bucket, &p.key, upload).is_some());
                if !open {
                    outcomes[i] =
                        Some(Err(Error::NoSuchUpload { upload_id: crate::types::upload_id_string(upload) }));
                    continue;
                }
            }
            if let Some(p) = &req.precondition {
                let (added, purged) = overlay.get(&(p.bucket, p.key.clone())).cloned().unwrap_or_default();
                let current = added.filter(|e| !purged.contains(&e.version_id)).or_else(|| {
                    index
                        .versions(p.bucket, &p.key)
                        .map(|(_, e)| e)
                        .find(|e| !purged.contains(&e.version_id))
                        .cloned()
                });
                let live = current.filter(|e| e.kind != index::EntryKind::DeleteMarker);
                let ok = match &p.condition {
                    Condition::Absent => live.is_none(),
                    Condition::EtagIs(etag) => live.is_some_and(|e| e.etag == *etag),
                    Condition::Exists => live.is_some(),
                    Condition::Any => true,
                };
                if !ok {
                    outcomes[i] = Some(Err(Error::PreconditionFailed {
                        bucket: format!("#{}", p.bucket),
                        key: String::from_utf8_lossy(&p.key).into_owned(),
                        condition: match &p.condition {
                            Condition::Absent => "If-None-Match: *".into(),
                            Condition::EtagIs(_) => "If-Match".into(),
                            Condition::Exists => "If-Match: *".into(),
                            Condition::Any => String::new(),
                        },
                    }));
                    continue;
                }
            }
            for rec in req.records.lock().iter() {
                match &rec.effect {
                    Effect::Retain | Effect::Chunk | Effect::UploadPart { .. } => {}
                    Effect::UploadStart { key, .. } => begun.push(key.2),
                    Effect::UploadEnd { key } => ended.push(key.2),
                    Effect::Upsert { bucket, key, entry, .. } => {
                        let o = overlay.entry((*bucket, key.clone())).or_default();
                        o.1.retain(|v| *v != entry.version_id);
                        o.0 = Some(*entry);
                    }
                    Effect::Purge { bucket, key, version } => {
                        let o = overlay.entry((*bucket, key.clone())).or_default();
                        o.1.push(*version);
                    }
                }
            }
        }
        outcomes
    }

    fn check_then_write(
        &self,
        active: &mut HashMap<StorageClass, ActiveSegment>,
        class: StorageClass,
        reqs: &[(&Request, &[u64])],
    ) -> Result<Vec<Vec<Written>>> {
        self.ctx.check()?;
        self.write_group(active, class, reqs)
    }

    /// Appends the records of `reqs` (each with the seqs the leader gave them) and one marker to the
    /// class's active segment, syncs as the strongest durability among them asks, and returns where
    /// each record landed.
    fn write_group(
        &self,
        active: &mut HashMap<StorageClass, ActiveSegment>,
        class: StorageClass,
        reqs: &[(&Request, &[u64])],
    ) -> Result<Vec<Vec<Written>>> {
        let total: u64 = reqs.iter().map(|(r, _)| r.bytes).sum::<u64>() + MARKER_BYTES;
        let needs_rotation = active
            .get(&class)
            .is_some_and(|a| a.tail + total > self.ctx.params.segment_bytes && a.tail > SEGMENT_DATA_START);
        if needs_rotation {
            let old = active.remove(&class).expect("checked above");
            self.seal(old)?;
        }
        let a = match active.entry(class) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(self.create_segment(class)?),
        };
        let step = self.ctx.params.preallocate_bytes;
        // Only runs of small groups gain: a large group's own bytes are most of its sync anyway, and
        // zeroing ahead of it would write them twice; and the small group right after a large one
        // (a chunked object's commit record) syncs the large one's allocation anyway, so zeroing a
        // step ahead of it would double the bytes of every large put.
        let small = total <= step / 4;
        let zero_fill = step > 0 && small && a.last_group_small && a.tail + total > a.zeroed_upto;
        a.last_group_small = small;
        if zero_fill {
            // Keep the file allocated and zero ahead of the tail, so this group's fdatasync (and the
            // next ones') need not commit a size or extent change.
            let upto = (a.tail + total + step).min(self.ctx.params.segment_bytes).max(a.tail + total);
            let path = &a.seg.path;
            a.seg.file.preallocate(upto).map_err(|e| self.ctx.poison("preallocate", path, e))?;
            a.zeroed_upto = upto;
        }
        let group_start = a.tail;
        let mut group_crc = crc32fast::Hasher::new();
        let mut buf = Vec::with_capacity(if total <= COALESCE_BYTES_MAX { total as usize } else { 0 });
        let mut out = Vec::with_capacity(reqs.len());
        let mut count = 0u32;
        let seg = a.seg.clone();
        let io_err = |e| self.ctx.poison("segment write", &seg.path, e);
        for (req, seqs) in reqs {
            let mut records = req.records.lock();
            let mut written = Vec::with_capacity(records.len());
            for (rec, &seq) in records.iter_mut().zip(seqs.iter()) {
                written.push(Written { seq, segment_id: a.seg.id, offset: a.tail });
                group_crc.update(&rec.bytes);
                a.crc.update(&rec.bytes);
                if total <= COALESCE_BYTES_MAX {
                    buf.extend_from_slice(&rec.bytes);
                } else {
                    a.seg.file.write_all_at(&rec.bytes, a.tail).map_err(io_err)?;
                }
                a.tail += rec.bytes.len() as u64;
                if let Some(body) = &rec.body {
                    let len = body.len;
                    let pad = &[0u8; 8][..body_padding(len)];
                    let body_crc = crc32fast::Hasher::new_with_initial_len(body.crc, len);
                    group_crc.combine(&body_crc);
                    a.crc.combine(&body_crc);
                    group_crc.update(pad);
                    a.crc.update(pad);
                    if total <= COALESCE_BYTES_MAX {
                        body.pieces.iter().for_each(|p| buf.extend_from_slice(p.bytes()));
                        buf.extend_from_slice(pad);
                    } else {
                        let mut at = a.tail;
                        for piece in &body.pieces {
                            a.seg.file.write_all_at(piece.bytes(), at).map_err(io_err)?;
                            at += piece.bytes().len() as u64;
                        }
                        a.seg.file.write_all_at(pad, a.tail + len).map_err(io_err)?;
                    }
                    a.tail += len + pad.len() as u64;
                }
                a.record_count += 1;
                a.last_seq = a.last_seq.max(seq);
                a.seg.note_seq(seq);
                count += 1;
            }
            out.push(written);
        }
        let marker_body = GroupCommitBody {
            group_start,
            group_len: a.tail - group_start,
            synced_upto: a.synced_upto,
            group_crc: mask(group_crc.finalize()),
            record_count: count,
        };
        let mut marker = engine_record(RecordKind::GroupCommit, &marker_body.encode());
        a.crc.update(&marker);
        let marker_len = marker.len() as u64;
        // A large group also writes a few zeros past its marker, so that the small group that
        // usually follows it (a chunked object's commit record) overwrites allocated blocks: once the
        // large group is synced (the writeback thread does that early), the commit's fdatasync then
        // writes one block and no size change. Measured here: 0.20 -> 0.12 ms per commit sync.
        let pad_upto = (a.tail + marker_len + LARGE_GROUP_ZERO_PAD_BYTES).min(self.ctx.params.segment_bytes);
        let pad_zeros = if !small && step > 0 && pad_upto > a.zeroed_upto.max(a.tail + marker_len) {
            pad_upto - (a.tail + marker_len)
        } else {
            0
        };
        marker.resize(marker.len() + pad_zeros as usize, 0);
        if total <= COALESCE_BYTES_MAX {
            buf.extend_from_slice(&marker);
            a.seg.file.write_all_at(&buf, group_start).map_err(io_err)?;
        } else {
            a.seg.file.write_all_at(&marker, a.tail).map_err(io_err)?;
        }
        if pad_zeros > 0 {
            a.zeroed_upto = pad_upto;
        }
        a.tail += marker_len;
        stats::add(&self.counters.appended_bytes, a.tail - group_start);
        let durability = reqs
            .iter()
            .fold(Durability::Eventual { flush_interval_ms: 0 }, |d, (r, _)| strongest(d, r.durability));
        match durability {
            Durability::Eventual { .. } => self.dirty.store(true, Ordering::Release),
            Durability::Immediate => {
                a.seg.sync_data().map_err(|e| self.ctx.poison("segment fdatasync", &seg.path, e))?;
                stats::add(&self.counters.fsyncs, 1);
                a.synced_upto = a.tail;
            }
            Durability::Paranoid => {
                a.seg.sync_all().map_err(|e| self.ctx.poison("segment fsync", &seg.path, e))?;
                stats::add(&self.counters.fsyncs, 1);
                let dir = self.ctx.class_dir(self.id, class);
                self.ctx.storage.sync_dir(&dir).map_err(|e| self.ctx.poison("directory fsync", &dir, e))?;
                a.synced_upto = a.tail;
            }
        }
        Ok(out)
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

fn apply_effect(index: &mut Index, rec: &WriteRecord, w: &Written) {
    match &rec.effect {
        Effect::Upsert { bucket, key, entry, spans, settles } => {
            // A record lies below `segment_bytes` (at most 4 GiB, checked by the builder), so its
            // place always fits the entry's `u32`s.
            let place = narrow_place(w.offset, rec.bytes.len() as u64);
            debug_assert!(place.is_some(), "a record at {} of {} bytes", w.offset, rec.bytes.len());
            let e = entry.placed(w.segment_id, place.unwrap_or((u32::MAX, 0)));
            index.upsert(*bucket, key, w.seq, e, spans);
            if *settles {
                index.settle_chunks(spans);
            }
        }
        Effect::Chunk => index.pend_chunk(w.segment_id, rec.len()),
        Effect::Retain => {
            index.retain(w.segment_id, rec.bytes.len() as u64);
            // Retained records are catalog edits: a checkpoint carries their bodies.
            if let Ok(r) = crate::engine::format::record::decode_record(&rec.bytes) {
                index.note_catalog(w.seq, r.body.to_vec());
            }
        }
        Effect::Purge { bucket, key, version } => {
            index.remove_version(*bucket, key, *version, w.seq);
            // Kept by compaction while an older record of the version may survive somewhere.
            index.retain(w.segment_id, rec.bytes.len() as u64);
        }
        Effect::UploadStart { key, upload } => {
            let mut u = upload.clone();
            u.at = uploads::RecordAt { segment_id: w.segment_id, offset: w.offset, len: rec.len() };
            u.seq = w.seq;
            index.start_upload(key.clone(), u);
        }
        Effect::UploadPart { key, number, part } => {
            let mut p = part.clone();
            p.at = uploads::RecordAt { segment_id: w.segment_id, offset: w.offset, len: rec.len() };
            p.seq = w.seq;
            index.settle_chunks(&part.spans);
            // A part of an upload that ended meanwhile is dead on arrival, chunks and all.
            index.put_part(key.0, &key.1, key.2, *number, p);
        }
        Effect::UploadEnd { key } => {
            index.end_upload(key.0, &key.1, key.2);
            // Kept by compaction while the upload's start or parts may survive somewhere.
            index.retain(w.segment_id, rec.bytes.len() as u64);
        }
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
