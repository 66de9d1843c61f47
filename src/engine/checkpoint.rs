//! Index checkpoints: writing them (on demand, at clean close, in the background), choosing the one
//! an open starts from, and turning it back into an index. The format is
//! [`crate::engine::format::checkpoint`]; the argument for why a checkpointed open equals a full
//! scan is in DESIGN.md (6.1).

use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::engine::context::Context;
use crate::engine::format::checkpoint::{
    Checkpoint, CheckpointSpan, Coverage, decode_checkpoint, encode_checkpoint,
};
use crate::engine::io::{OpenMode, read_all};
use crate::engine::partition::Partition;
use crate::engine::partition::index::{
    EntryKind, Index, IndexEntry, IndexKey, Span, key_bound, narrow_place,
};
use crate::engine::partition::uploads::{PartEntry, RecordAt, Upload};
use crate::engine::recovery::{CheckpointRejected, RecoveryReport, SegInfo, io_err, write_atomic};
use crate::error::{Error, Result};
use crate::types::{RecoveryMode, StorageClass, VersionId};

const PREFIX: &str = "CHECKPOINT-";

/// File name of checkpoint `n`.
pub(crate) fn checkpoint_name(n: u64) -> String {
    format!("{PREFIX}{n:06}")
}

fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// What a partition knows of its checkpoint files. Its mutex is held by whoever writes one, so
/// two writers (the background thread, `Store::checkpoint`, close) never race on a number.
#[derive(Debug, Default)]
pub(crate) struct PartitionCheckpoints {
    /// Highest checkpoint number in the partition's directory (written, loaded or rejected):
    /// the next one gets a higher number.
    pub(crate) newest: u64,
    /// What the newest valid checkpoint covers, as [`Partition::log_position`] reports it: when
    /// the log is still there, a new checkpoint would add nothing.
    pub(crate) covered: Option<Vec<(u64, Coverage)>>,
}

/// Writes a checkpoint of `part` unless the newest one already covers its whole log. Returns the
/// new checkpoint's number.
///
/// # Errors
/// `Io` if writing the file fails (the store stays usable: a checkpoint is never needed for
/// correctness); `PreviousIo` if the store is poisoned, and the syncs of the snapshot poison it
/// when they fail, as every segment sync does.
pub(crate) fn checkpoint_partition(part: &Partition) -> Result<Option<u64>> {
    let mut state = part.checkpoints.lock();
    if state.covered.as_deref() == Some(&part.log_position()[..]) {
        return Ok(None);
    }
    let Some(mut c) = part.durable_snapshot()? else { return Ok(None) };
    let covered: Vec<(u64, Coverage)> = c.segments.iter().map(|s| (s.segment_id, s.coverage)).collect();
    let n = state.newest + 1;
    c.number = n;
    let bytes = encode_checkpoint(&c);
    drop(c);
    let ctx = part.ctx();
    let dir = ctx.partition_dir(part.id);
    write_atomic(&*ctx.storage, &dir, &checkpoint_name(n), &bytes)?;
    state.newest = n;
    state.covered = Some(covered);
    prune(ctx, &dir, n)?;
    Ok(Some(n))
}

/// Removes checkpoints older than the newest two: the older of the two stays for a newer one
/// that turns out damaged.
fn prune(ctx: &Context, dir: &Path, newest: u64) -> Result<()> {
    let mut removed = false;
    for name in ctx.storage.list_dir(dir).map_err(io_err("list", dir))? {
        if parse_name(&name).is_some_and(|m| m + 1 < newest) {
            let p = dir.join(&name);
            ctx.storage.remove_file(&p).map_err(io_err("remove", &p))?;
            removed = true;
        }
    }
    if removed {
        ctx.storage.sync_dir(dir).map_err(io_err("directory fsync", dir))?;
    }
    Ok(())
}

/// Bytes the partition's log has grown by since its newest checkpoint (every byte when it has
/// none): what the background thread compares with its threshold. `u64::MAX` once a segment the
/// checkpoint covers is gone (compacted): an open would no longer use it, so one is due now.
pub(crate) fn bytes_since_checkpoint(part: &Partition) -> u64 {
    let now = part.log_position();
    let state = part.checkpoints.lock();
    let old: HashMap<u64, Coverage> = state.covered.iter().flatten().copied().collect();
    if old.keys().any(|id| !now.iter().any(|(n, _)| n == id)) {
        return u64::MAX;
    }
    now.iter()
        .map(|(id, c)| {
            let len = match c {
                Coverage::Sealed(l) | Coverage::ActiveUpto(l) => *l,
            };
            match old.get(id) {
                Some(Coverage::ActiveUpto(at)) => len.saturating_sub(*at),
                Some(Coverage::Sealed(_)) => 0,
                None => len,
            }
        })
        .sum()
}

/// What an open found in one partition's directory.
pub(crate) struct Selected {
    /// The checkpoint to start from, if one is valid.
    pub(crate) checkpoint: Option<Checkpoint>,
    /// Highest checkpoint number present.
    pub(crate) newest: u64,
}

/// Picks the newest checkpoint of partition `part` that decodes and agrees with the manifest
/// (`segs`: the partition's live segments), reporting every newer one it passes over and why.
/// `Salvage` never starts from a checkpoint: it is there to find and report every damaged byte,
/// so it scans every segment.
pub(crate) fn select(
    ctx: &Context,
    part: u16,
    segs: &[(u64, SegInfo)],
    mode: RecoveryMode,
    report: &mut RecoveryReport,
) -> Result<Selected> {
    let dir = ctx.partition_dir(part);
    let names = match ctx.storage.list_dir(&dir) {
        Ok(n) => n,
        Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io("list", &dir, e)),
    };
    let mut found: Vec<u64> = Vec::new();
    let mut debris = false;
    for name in &names {
        if let Some(n) = parse_name(name) {
            found.push(n);
        } else if name.starts_with(PREFIX) && name.ends_with(".tmp") {
            // An atomic write that never reached its rename: no checkpoint, no data.
            let p = dir.join(name);
            ctx.storage.remove_file(&p).map_err(io_err("remove", &p))?;
            report.orphans_removed.push(p);
            debris = true;
        }
    }
    if debris {
        ctx.storage.sync_dir(&dir).map_err(io_err("directory fsync", &dir))?;
    }
    found.sort_unstable_by(|a, b| b.cmp(a));
    let newest = found.first().copied().unwrap_or(0);
    if mode == RecoveryMode::Salvage {
        return Ok(Selected { checkpoint: None, newest });
    }
    for n in found {
        let path = dir.join(checkpoint_name(n));
        match read_valid(ctx, &path, part, n, segs) {
            Ok(c) => return Ok(Selected { checkpoint: Some(c), newest }),
            Err(reason) => {
                report.checkpoints_rejected.push(CheckpointRejected { partition: part, path, reason })
            }
        }
    }
    Ok(Selected { checkpoint: None, newest })
}

fn read_valid(
    ctx: &Context,
    path: &Path,
    part: u16,
    n: u64,
    segs: &[(u64, SegInfo)],
) -> Result<Checkpoint, String> {
    let f = ctx.storage.open(path, OpenMode::ReadOnly).map_err(|e| format!("open: {e}"))?;
    let bytes = read_all(&*f).map_err(|e| format!("read: {e}"))?;
    let c = decode_checkpoint(&bytes).map_err(|e| format!("undecodable: {e}"))?;
    if c.store_uuid != ctx.store_uuid {
        return Err("belongs to another store".into());
    }
    if c.partition != part || c.number != n {
        return Err(format!("is partition {} number {}, not what its place says", c.partition, c.number));
    }
    if let Some(u) = c.uploads.iter().find(|u| StorageClass::from_code(u.class).is_none()) {
        return Err(format!("upload of unknown storage class {}", u.class));
    }
    if let Some(e) = c.entries.iter().find(|e| StorageClass::from_code(e.class).is_none()) {
        return Err(format!("an entry has the unknown storage class {}", e.class));
    }
    if let Some(e) = c.entries.iter().find(|e| narrow_place(e.offset, e.record_len).is_none()) {
        return Err(format!("an entry's record lies past 4 GiB of segment {}", e.segment_id));
    }
    agrees_with_manifest(ctx, &c, part, segs)?;
    Ok(c)
}

/// A checkpoint is used only if the segments it covers are all still there as it saw them (a
/// sealed one with the same length, an active one at least as long as its covered offset), and
/// every segment it does not name is newer than all it names (created after it: ids only grow).
/// A compaction after the checkpoint removed its inputs, so the checkpoint fails the first test.
fn agrees_with_manifest(
    ctx: &Context,
    c: &Checkpoint,
    part: u16,
    segs: &[(u64, SegInfo)],
) -> Result<(), String> {
    let by_id: HashMap<u64, &SegInfo> = segs.iter().map(|(id, s)| (*id, s)).collect();
    for s in &c.segments {
        let id = s.segment_id;
        let Some(info) = by_id.get(&id) else {
            return Err(format!("covers segment {id}, which is no longer in the store (compacted since)"));
        };
        if info.class.code() != s.class {
            return Err(format!("segment {id} has another storage class in the manifest"));
        }
        match s.coverage {
            Coverage::Sealed(len) if info.sealed_len != Some(len) => {
                return Err(format!(
                    "segment {id} was sealed at {len} bytes; the manifest says {:?}",
                    info.sealed_len
                ));
            }
            Coverage::Sealed(_) => {}
            Coverage::ActiveUpto(at) => {
                let path = ctx.segment_path(part, info.class, id);
                let len = ctx
                    .storage
                    .open(&path, OpenMode::ReadOnly)
                    .and_then(|f| f.len())
                    .map_err(|e| format!("segment {id}: {e}"))?;
                if len < at || info.sealed_len.is_some_and(|l| l < at) {
                    return Err(format!("covers segment {id} up to {at}, but it holds {len} bytes"));
                }
            }
        }
    }
    let newest_named = c.segments.iter().map(|s| s.segment_id).max().unwrap_or(0);
    let named: std::collections::HashSet<u64> = c.segments.iter().map(|s| s.segment_id).collect();
    if let Some((id, _)) = segs.iter().find(|(id, _)| !named.contains(id) && *id < newest_named) {
        return Err(format!("does not cover segment {id}, which is older than segments it covers"));
    }
    Ok(())
}

/// The index a checkpoint holds, and its catalog edits (seq, body).
pub(crate) fn index_of(c: Checkpoint) -> (Index, Vec<(u64, Vec<u8>)>) {
    let retained: Vec<(u64, u64)> = c
        .segments
        .iter()
        .filter(|s| s.retained_bytes > 0)
        .map(|s| (s.segment_id, s.retained_bytes))
        .collect();
    let entries: Vec<(IndexKey, IndexEntry, Box<[Span]>)> = c
        .entries
        .into_iter()
        .map(|e| {
            let kind = match e.kind {
                1 => EntryKind::Inline,
                2 => EntryKind::Chunked,
                _ => EntryKind::DeleteMarker,
            };
            // Class and place were checked by `read_valid` before the checkpoint was chosen.
            let class = StorageClass::from_code(e.class).unwrap_or(StorageClass::Standard);
            let place = narrow_place(e.offset, e.record_len).unwrap_or((u32::MAX, 0));
            let entry =
                IndexEntry::unplaced(VersionId(e.version_id), kind, e.size, e.mtime_ms, e.etag, class)
                    .placed(e.segment_id, place)
                    .with_parts(e.parts);
            let spans: Box<[Span]> =
                e.spans.iter().map(|s| Span { segment_id: s.segment_id, bytes: s.bytes }).collect();
            (key_bound(e.bucket, &e.key, e.seq), entry, spans)
        })
        .collect();
    let catalog: Vec<(u64, Vec<u8>)> = c.catalog.into_iter().map(|e| (e.seq, e.body)).collect();
    let spans_of = |spans: Vec<CheckpointSpan>| -> Box<[Span]> {
        spans.iter().map(|s| Span { segment_id: s.segment_id, bytes: s.bytes }).collect()
    };
    let uploads = c
        .uploads
        .into_iter()
        .map(|u| {
            let parts = u
                .parts
                .into_iter()
                .map(|p| {
                    let part = PartEntry {
                        at: RecordAt { segment_id: p.segment_id, offset: p.offset, len: p.record_len },
                        seq: p.seq,
                        size: p.size,
                        mtime_ms: p.mtime_ms,
                        etag: p.etag,
                        spans: spans_of(p.spans),
                    };
                    (p.number, part)
                })
                .collect();
            let upload = Upload {
                at: RecordAt { segment_id: u.segment_id, offset: u.offset, len: u.record_len },
                seq: u.seq,
                initiated_ms: u.initiated_ms,
                class: StorageClass::from_code(u.class).unwrap_or(StorageClass::Standard),
                parts,
            };
            ((u.bucket, u.key, u.upload_id), upload)
        })
        .collect();
    (Index::load(entries, &retained, catalog.clone(), uploads), catalog)
}

/// The background checkpoint thread: every `interval_ms`, a checkpoint of each partition whose log
/// grew by `bytes` since its newest one.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread.
    pub(crate) fn start(
        partitions: Arc<Vec<Arc<Partition>>>,
        bytes: u64,
        interval_ms: u64,
    ) -> std::io::Result<Checkpointer> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let s = stop.clone();
        let handle = std::thread::Builder::new().name("s3lite-checkpoint".into()).spawn(move || {
            let (lock, cv) = &*s;
            let mut stopped = lock.lock();
            while !*stopped {
                cv.wait_for(&mut stopped, Duration::from_millis(interval_ms));
                if *stopped {
                    break;
                }
                drop(stopped);
                for p in partitions.iter() {
                    if p.ctx().check().is_ok() && bytes_since_checkpoint(p) >= bytes {
                        // A failed checkpoint leaves the older one; a failed segment sync has
                        // poisoned the store, and writers see PreviousIo.
                        let _ = checkpoint_partition(p);
                    }
                }
                stopped = lock.lock();
            }
        })?;
        Ok(Checkpointer { stop, handle: Some(handle) })
    }

    /// Stops the thread and waits for it.
    pub(crate) fn stop(&mut self) {
        *self.stop.0.lock() = true;
        self.stop.1.notify_all();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::engine::io::{SimStorage, Storage};
    use crate::engine::options::{NewVersion, PutOptions};
    use crate::engine::store::Store;
    use crate::types::Checkpoints;

    fn open(sim: &SimStorage) -> Store {
        Store::builder("/db")
            .storage(Arc::new(sim.clone()))
            .partitions(2)
            .segment_bytes(160 * 1024)
            .inline_bytes(1024)
            .chunk_bytes(4096)
            .checkpoints(Checkpoints::OnDemand)
            .open()
            .unwrap()
    }

    fn work(store: &Store, round: u64) {
        let b = store.bucket("b").map(|i| i.id).or_else(|_| store.create_bucket("b")).unwrap();
        let unique = PutOptions { version: NewVersion::Unique, ..PutOptions::default() };
        for i in 0..80u64 {
            let key = format!("k{}", (i * 5 + round) % 30);
            let v = vec![i as u8; [10, 900, 5000, 13_000][(i % 4) as usize]];
            match i % 5 {
                0 => store.delete(b, &key).unwrap(),
                1 => {
                    let info = store.put_bytes(b, &key, &v, &unique).unwrap();
                    store.delete_version(b, &key, info.version_id, None).unwrap();
                }
                2 => {
                    store.put_bytes(b, &key, &v, &unique).unwrap();
                    store.put_delete_marker(b, &key, NewVersion::Unique, None).unwrap();
                }
                _ => drop(store.put_bytes(b, &key, &v, &PutOptions::default()).unwrap()),
            }
        }
        store.create_bucket(&format!("s{round}")).unwrap();
    }

    /// Each partition's index, live bytes per segment, catalog edits and segment lowest seqs.
    fn inside(store: &Store) -> Vec<String> {
        store
            .inner
            .partitions
            .iter()
            .map(|p| {
                let ix = p.index.read();
                let entries: Vec<String> =
                    ix.entries().map(|(k, e, s)| format!("{k:?} {e:?} {s:?}")).collect();
                let mut live: Vec<(u64, u64)> = ix.segment_live_map().iter().map(|(a, b)| (*a, *b)).collect();
                live.sort_unstable();
                let min_seqs: Vec<(u64, u64)> =
                    p.all_segments().iter().map(|s| (s.id, s.min_seq())).collect();
                format!("{entries:#?}\n{live:?}\n{:?}\n{min_seqs:?}", ix.catalog_edits())
            })
            .collect()
    }

    #[test]
    fn the_index_from_a_checkpoint_and_its_tail_is_the_index_of_a_full_scan() {
        let sim = SimStorage::new();
        let store = open(&sim);
        for round in 0..3 {
            work(&store, round);
        }
        store.checkpoint().unwrap();
        work(&store, 3);
        let live = inside(&store);
        drop(store);
        let scan = sim.fork();
        for p in scan.file_paths() {
            if p.to_string_lossy().contains("CHECKPOINT-") {
                scan.remove_file(&p).unwrap();
            }
        }
        let scanned = open(&scan);
        assert_eq!(scanned.recovery_report().partitions_fully_scanned, vec![0, 1]);
        let from_checkpoint = open(&sim);
        let r = from_checkpoint.recovery_report();
        assert_eq!(r.checkpoints_used.len(), 2, "{r:?}");
        assert!(r.segments_loaded > 0, "{r:?}");
        let (a, b) = (inside(&from_checkpoint), inside(&scanned));
        assert_eq!(a, b);
        assert_eq!(a, live, "the index before the reopen");
        assert!(a.iter().all(|p| p.contains("Chunked")), "chunked entries with spans are covered");
    }
}
