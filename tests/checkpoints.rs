//! Index checkpoints: an open from a checkpoint (plus the log after it) builds the same store as a
//! full scan; damaged or outdated checkpoints fall back to an older one or to a full scan, and the
//! recovery report says which; a crash or a kill at every write point of checkpoint writing loses
//! nothing; compaction after a checkpoint is seen by the next open.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::{body, sim_builder};
use s3lite::io::{CrashMode, SimStorage, Storage};
use s3lite::{
    BucketId, Checkpoints, CompactionPolicy, Durability, Error, GetOptions, ListOptions, NewVersion,
    PutOptions, Store, StoreBuilder,
};

fn builder(sim: &SimStorage) -> StoreBuilder {
    sim_builder(sim).segment_bytes(160 * 1024).checkpoints(Checkpoints::OnDemand)
}

/// Everything a reader can see, and the engine's per-segment accounting, as text.
fn state(store: &Store) -> String {
    let mut out = String::new();
    for b in store.list_buckets().unwrap() {
        writeln!(out, "bucket {} {:?} {:?} {}", b.name, b.id, b.versioning, b.owner).unwrap();
        let opts = ListOptions { versions: true, ..ListOptions::default() };
        let page = store.list(b.id, &opts).unwrap();
        assert!(!page.is_truncated, "the workloads here fit in one page");
        for e in page.entries {
            let data = if e.is_delete_marker {
                0
            } else {
                let opts = GetOptions { version: Some(e.version_id), ..GetOptions::default() };
                let (_, mut r) = store.get(b.id, &e.key, &opts).unwrap();
                let v = r.read_to_vec().unwrap();
                assert_eq!(v.len() as u64, e.size);
                crc32fast::hash(&v)
            };
            writeln!(
                out,
                "  {} {} m={} l={} {} {} {} {:?} {data:08x}",
                e.key,
                e.version_id,
                e.is_delete_marker,
                e.is_latest,
                e.size,
                e.e_tag,
                e.last_modified_ms,
                e.storage_class
            )
            .unwrap();
        }
    }
    for s in store.segment_stats() {
        writeln!(out, "segment {s:?}").unwrap();
    }
    let live: Vec<u64> = store.partition_stats().iter().map(|p| p.live_bytes).collect();
    writeln!(out, "live {live:?}").unwrap();
    out
}

/// Buckets created and deleted, plain and versioned keys, overwrites, delete markers, deleted
/// versions (purges), inline and chunked bodies, across segment rotations.
fn workload(store: &Store, round: u64) -> BucketId {
    let b = store.bucket("b").map(|i| i.id).or_else(|_| store.create_bucket("b")).unwrap();
    let scratch = format!("scratch-{round}");
    let s = store.create_bucket(&scratch).unwrap();
    store.put_bytes(s, "x", b"x", &PutOptions::default()).unwrap();
    store.delete(s, "x").unwrap();
    if round.is_multiple_of(2) {
        store.delete_bucket(&scratch).unwrap();
    }
    let unique = PutOptions { version: NewVersion::Unique, ..PutOptions::default() };
    for i in 0..200u64 {
        let key = format!("k{:02}", (i * 7 + round) % 40);
        let len = [10, 700, 3000, 9000][(i % 4) as usize];
        let v = body(round * 1000 + i, len);
        match i % 6 {
            0 => {
                store.delete(b, &key).unwrap();
            }
            1 => {
                let info = store.put_bytes(b, &key, &v, &unique).unwrap();
                store.delete_version(b, &key, info.version_id, None).unwrap();
            }
            2 => {
                store.put_bytes(b, &key, &v, &unique).unwrap();
                store.put_delete_marker(b, &key, NewVersion::Unique, None).unwrap();
            }
            _ => {
                store.put_bytes(b, &key, &v, &PutOptions::default()).unwrap();
            }
        }
    }
    b
}

fn checkpoint_files(sim: &SimStorage) -> Vec<PathBuf> {
    sim.file_paths().into_iter().filter(|p| p.to_string_lossy().contains("CHECKPOINT-")).collect()
}

/// The same store without its checkpoints: a full scan's view.
fn without_checkpoints(sim: &SimStorage) -> SimStorage {
    let copy = sim.fork();
    for p in checkpoint_files(&copy) {
        copy.remove_file(&p).unwrap();
    }
    copy
}

fn open(sim: &SimStorage) -> Store {
    builder(sim).open().unwrap()
}

#[test]
fn a_checkpointed_open_builds_what_a_full_scan_builds() {
    let sim = SimStorage::new();
    let store = open(&sim);
    workload(&store, 0);
    workload(&store, 1);
    assert_eq!(store.checkpoint().unwrap(), 4, "every partition has news");
    assert_eq!(store.checkpoint().unwrap(), 0, "nothing new: nothing written");
    workload(&store, 2);
    let before = state(&store);
    drop(store);
    let scanned = open(&without_checkpoints(&sim));
    let r = scanned.recovery_report();
    assert_eq!(r.partitions_fully_scanned, vec![0, 1, 2, 3]);
    assert!(r.checkpoints_used.is_empty());
    let full = state(&scanned);
    let store = open(&sim);
    let r = store.recovery_report().clone();
    assert!(r.partitions_fully_scanned.is_empty(), "{r:?}");
    assert_eq!(r.checkpoints_used.len(), 4, "{r:?}");
    assert!(r.checkpoints_used.iter().all(|c| c.number == 1 && c.records_after > 0), "{r:?}");
    assert!(r.segments_loaded > 0, "sealed segments come from the checkpoint: {r:?}");
    let after: u64 = r.checkpoints_used.iter().map(|c| c.records_after).sum();
    assert_eq!(after, r.records_replayed, "only the log after the checkpoints is replayed");
    assert!(after < scanned.recovery_report().records_replayed);
    assert_eq!(state(&store), full, "checkpointed open vs full scan");
    assert_eq!(full, before, "full scan vs the store before the reopen");
    // Compaction decides by each segment's live bytes and lowest seq: both opens must agree.
    let policy = CompactionPolicy::everything();
    store.compact_with(&policy).unwrap();
    scanned.compact_with(&policy).unwrap();
    // Output ids depend on which partition's rewrite asked first (they run side by side).
    let unnumbered = |s: String| {
        s.lines()
            .map(|l| match l.find("segment_id: ") {
                Some(at) => {
                    let rest = &l[at + 12..];
                    let end = rest.find(',').unwrap_or(rest.len());
                    format!("{}segment_id: _{}", &l[..at], &rest[end..])
                }
                None => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(unnumbered(state(&store)), unnumbered(state(&scanned)), "after compacting both");
    // Writes continue where the checkpointed open left them.
    workload(&store, 3);
    scanned.close().unwrap();
    store.checkpoint().unwrap();
    store.close().unwrap();
    let store = open(&sim);
    assert!(store.recovery_report().checkpoints_used.iter().all(|c| c.records_after == 0));
    workload(&store, 4);
}

#[test]
fn a_clean_close_checkpoints_and_the_next_open_replays_nothing() {
    let sim = SimStorage::new();
    let store = sim_builder(&sim).segment_bytes(160 * 1024).open().unwrap();
    workload(&store, 0);
    let before = state(&store);
    drop(store);
    assert_eq!(checkpoint_files(&sim).len(), 4, "one per partition at close");
    let store = sim_builder(&sim).segment_bytes(160 * 1024).open().unwrap();
    let r = store.recovery_report();
    assert_eq!(r.records_replayed, 0, "{r:?}");
    assert_eq!(r.checkpoints_used.len(), 4);
    assert_eq!(state(&store), before);
    drop(store);
    assert_eq!(checkpoint_files(&sim).len(), 4, "nothing new at the second close: no new checkpoint");
    // Each partition keeps its newest two.
    let store = open(&sim);
    for round in 1..4 {
        workload(&store, round);
        store.checkpoint().unwrap();
    }
    let names: Vec<String> = checkpoint_files(&sim)
        .iter()
        .filter(|p| p.starts_with("/db/p0000"))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["CHECKPOINT-000003", "CHECKPOINT-000004"]);
}

fn flip(sim: &SimStorage, path: &Path, offset: u64) {
    sim.flip_bit(path, offset, 3).unwrap();
}

#[test]
fn a_damaged_checkpoint_falls_back_to_the_older_one_then_to_a_full_scan() {
    let sim = SimStorage::new();
    let store = open(&sim);
    workload(&store, 0);
    store.checkpoint().unwrap();
    workload(&store, 1);
    store.checkpoint().unwrap();
    workload(&store, 2);
    let before = state(&store);
    drop(store);
    let p0 = |n: u64| PathBuf::from(format!("/db/p0000/CHECKPOINT-{n:06}"));
    // A bit in the middle of an entry block of the newest one.
    let len = sim.fork().open(&p0(2), s3lite::io::OpenMode::ReadOnly).unwrap().len().unwrap();
    flip(&sim, &p0(2), len / 2);
    let store = open(&sim);
    let r = store.recovery_report().clone();
    assert_eq!(r.checkpoints_rejected.len(), 1, "{r:?}");
    assert_eq!(r.checkpoints_rejected[0].partition, 0);
    assert_eq!(r.checkpoints_rejected[0].path, p0(2));
    assert!(r.checkpoints_rejected[0].reason.contains("crc"), "{r:?}");
    let used0 = r.checkpoints_used.iter().find(|c| c.partition == 0).unwrap();
    assert_eq!(used0.number, 1, "the older checkpoint");
    let used1 = r.checkpoints_used.iter().find(|c| c.partition == 1).unwrap();
    assert_eq!(used1.number, 2);
    assert!(used0.records_after > 0 && used1.records_after > 0, "{r:?}");
    assert_eq!(state(&store), before);
    drop(store);
    // Both of partition 0's damaged (the header of the older one): a full scan of partition 0.
    flip(&sim, &p0(1), 20);
    let store = open(&sim);
    let r = store.recovery_report().clone();
    assert_eq!(r.partitions_fully_scanned, vec![0], "{r:?}");
    assert_eq!(r.checkpoints_rejected.len(), 2, "{r:?}");
    assert!(r.checkpoints_rejected[1].reason.contains("checkpoint header crc"), "{r:?}");
    assert_eq!(state(&store), before);
    // Damaged files are passed over, not deleted; the next checkpoint gets a new number.
    assert!(sim.file_paths().contains(&p0(2)));
    workload(&store, 3);
    store.checkpoint().unwrap();
    assert!(sim.file_paths().contains(&p0(3)));
}

#[test]
fn salvage_scans_everything_whatever_the_checkpoints() {
    let sim = SimStorage::new();
    let store = open(&sim);
    workload(&store, 0);
    store.checkpoint().unwrap();
    let before = state(&store);
    drop(store);
    let store = builder(&sim).recovery_mode(s3lite::RecoveryMode::Salvage).open().unwrap();
    let r = store.recovery_report();
    assert_eq!(r.partitions_fully_scanned, vec![0, 1, 2, 3]);
    assert!(r.checkpoints_used.is_empty() && r.checkpoints_rejected.is_empty());
    assert_eq!(state(&store), before);
}

#[test]
fn compaction_after_a_checkpoint_makes_it_fall_back_until_the_next_one() {
    let sim = SimStorage::new();
    let store = open(&sim);
    workload(&store, 0);
    workload(&store, 1);
    store.checkpoint().unwrap();
    let report = store.compact_with(&CompactionPolicy::everything()).unwrap();
    assert!(report.segments_in > 0, "{report:?}");
    workload(&store, 2);
    let before = state(&store);
    drop(store);
    let store = open(&sim);
    let r = store.recovery_report().clone();
    assert!(!r.partitions_fully_scanned.is_empty(), "{r:?}");
    assert!(r.checkpoints_rejected.iter().all(|c| c.reason.contains("no longer in the store")), "{r:?}");
    assert_eq!(r.checkpoints_rejected.len(), r.partitions_fully_scanned.len());
    assert_eq!(state(&store), before);
    store.checkpoint().unwrap();
    drop(store);
    let store = open(&sim);
    assert!(store.recovery_report().partitions_fully_scanned.is_empty());
    assert_eq!(state(&store), before);
}

#[test]
fn builder_refuses_a_background_policy_of_zero() {
    let sim = SimStorage::new();
    let bad = [
        (Checkpoints::Background { bytes: 0, interval_ms: 10 }, "checkpoint bytes"),
        (Checkpoints::Background { bytes: 1, interval_ms: 0 }, "checkpoint interval_ms"),
    ];
    for (policy, field) in bad {
        let Err(e) = builder(&sim).checkpoints(policy).open() else { panic!("{policy:?} opened") };
        assert!(matches!(&e, Error::InvalidArgument { name, .. } if *name == field), "{e}");
        assert_eq!(e.code(), "InvalidArgument");
    }
}

#[test]
fn the_background_thread_checkpoints_a_growing_partition() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        Store::builder(dir.path())
            .partitions(1)
            .checkpoints(Checkpoints::Background { bytes: 1, interval_ms: 5 })
            .open()
            .unwrap()
    };
    let store = open();
    let b = store.create_bucket("b").unwrap();
    store.put_bytes(b, "k", b"v", &PutOptions::default()).unwrap();
    let wait_for = |n: u64| {
        let ckpt = dir.path().join(format!("p0000/CHECKPOINT-{n:06}"));
        let t = std::time::Instant::now();
        while !ckpt.exists() {
            assert!(t.elapsed().as_secs() < 60, "no background checkpoint {n} within 60 s");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    };
    wait_for(1);
    // It looks again, and checkpoints again once the log grew.
    store.put_bytes(b, "k2", b"v2", &PutOptions::default()).unwrap();
    wait_for(2);
    drop(store);
    // A compaction removes the segments the newest checkpoint covers: one is due at once, however
    // little the log grew.
    let store = Store::builder(dir.path())
        .partitions(1)
        .checkpoints(Checkpoints::Background { bytes: u64::MAX - 1, interval_ms: 5 })
        .open()
        .unwrap();
    store.delete(b, "k").unwrap();
    store.compact_with(&CompactionPolicy::everything()).unwrap();
    wait_for(3);
    drop(store);
    let store = open();
    assert_eq!(store.recovery_report().checkpoints_used.len(), 1);
    assert_eq!(common::read(&store, b, "k2").unwrap(), b"v2");
}

/// A crash (power loss, or a process kill) at every write point of `Store::checkpoint`: the open
/// after it uses the new checkpoint, the old one or a full scan, and builds the same store.
fn crash_at_every_point_of_checkpoint_writing(durability: Durability, kill: bool) -> u64 {
    let prepare = || {
        let sim = SimStorage::new();
        let store = builder(&sim).durability(durability).open().unwrap();
        workload(&store, 0);
        store.checkpoint().unwrap();
        store.sync().unwrap();
        workload(&store, 1);
        (sim, store)
    };
    let (sim, store) = prepare();
    let start = sim.mutating_ops();
    store.checkpoint().unwrap();
    let total = sim.mutating_ops() - start;
    drop(store);
    assert!(total > 8, "a checkpoint of four partitions writes, syncs and renames: {total}");
    for k in 0..=total {
        let (sim, store) = prepare();
        // Reading writes nothing: the state every acknowledged write makes.
        let complete = state(&store);
        sim.freeze_after(k);
        let done = store.checkpoint();
        let ctx = format!("{durability:?}, kill {kill}, crash after {k} of {total}");
        if k == total {
            assert!(done.is_ok(), "{ctx}");
        }
        std::mem::forget(store);
        if kill {
            sim.kill();
        } else {
            sim.crash(CrashMode::Random(k));
        }
        let store = builder(&sim).durability(durability).open().unwrap_or_else(|e| panic!("{ctx}: {e}"));
        let r = store.recovery_report().clone();
        let now = state(&store);
        if done.is_ok() || kill || durability == Durability::Immediate {
            // A finished checkpoint synced what it covers; a kill keeps the page cache; under
            // Immediate everything was durable anyway.
            assert_eq!(now, complete, "{ctx}: {r:?}");
        }
        let scanned = state(&builder(&without_checkpoints(&sim)).durability(durability).open().unwrap());
        assert_eq!(now, scanned, "{ctx}: checkpointed open vs full scan");
        assert!(
            r.checkpoints_rejected.is_empty(),
            "{ctx}: a torn checkpoint is never renamed into place: {r:?}"
        );
        workload(&store, 2);
    }
    total
}

#[test]
fn a_crash_at_every_write_point_of_checkpoint_writing_loses_nothing() {
    let mut points = 0;
    for durability in [Durability::Immediate, Durability::Eventual { flush_interval_ms: 3_600_000 }] {
        for kill in [false, true] {
            points += crash_at_every_point_of_checkpoint_writing(durability, kill);
        }
    }
    println!("checkpoint crash points checked: {points}");
}

#[test]
fn debris_of_an_interrupted_checkpoint_write_is_removed_and_reported() {
    let sim = SimStorage::new();
    let store = open(&sim);
    workload(&store, 0);
    store.checkpoint().unwrap();
    drop(store);
    let tmp = PathBuf::from("/db/p0001/CHECKPOINT-000002.tmp");
    let f = sim.open(&tmp, s3lite::io::OpenMode::CreateNew).unwrap();
    f.write_all_at(b"half a checkpoint", 0).unwrap();
    drop(f);
    let store = open(&sim);
    assert!(store.recovery_report().orphans_removed.contains(&tmp));
    assert!(!sim.file_paths().contains(&tmp));
    assert!(store.recovery_report().partitions_fully_scanned.is_empty());
}

#[test]
fn a_failed_checkpoint_write_is_an_error_that_leaves_the_store_usable_and_the_older_checkpoint() {
    let sim = SimStorage::new();
    let store = open(&sim);
    let b = workload(&store, 0);
    store.checkpoint().unwrap();
    workload(&store, 1);
    // Immediate: nothing to sync first, so the next create is the checkpoint's temp file.
    sim.fail_nth(s3lite::io::OpKind::Create, 1);
    let Err(e) = store.checkpoint() else { panic!("the checkpoint write did not fail") };
    assert!(matches!(&e, Error::Io { op: "create", .. }), "{e}");
    // Not a poisoning error: the log has everything, and writes go on.
    store.put_bytes(b, "after", b"v", &PutOptions::default()).unwrap();
    let before = state(&store);
    drop(store);
    let store = open(&sim);
    let r = store.recovery_report();
    assert!(r.checkpoints_used.iter().any(|c| c.number == 1), "the older checkpoint: {r:?}");
    assert_eq!(state(&store), before);
    // A poisoned store answers PreviousIo, and writes no checkpoint.
    sim.fail_nth(s3lite::io::OpKind::Sync, 1);
    assert!(store.put_bytes(b, "poison", b"v", &PutOptions::default()).is_err());
    assert!(matches!(store.checkpoint(), Err(Error::PreviousIo)));
}

/// Regression: the manifest's last frame (the newest segment's creation) read as a torn append
/// made that segment adopted, and recovery writes an adopted segment's bytes again from its
/// start; an open from a checkpoint had read only its tail, and wrote zeros over its records.
#[test]
fn an_adopted_segment_a_checkpoint_covers_is_read_whole_and_keeps_its_bytes() {
    use s3lite::format::manifest::{ManifestEdit, decode_frame};
    let sim = SimStorage::new();
    let builder = || sim_builder(&sim).partitions(1).segment_bytes(160 * 1024);
    let store = builder().open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let mut written = Vec::new();
    let mut after_rotation = 0;
    for i in 0u64.. {
        let (k, v) = (format!("k{i:03}"), body(i, 20_000));
        store.put_bytes(b, &k, &v, &PutOptions::default()).unwrap();
        written.push((k, v));
        if store.segment_stats().len() > 1 {
            after_rotation += 1;
            if after_rotation == 3 {
                break;
            }
        }
    }
    drop(store); // A clean close: the checkpoint covers the new segment up to its tail.
    let current = sim.open(Path::new("/db/CURRENT"), s3lite::io::OpenMode::ReadOnly).unwrap();
    let name = String::from_utf8(s3lite::io::read_all(&*current).unwrap()).unwrap();
    let manifest = PathBuf::from("/db").join(name.trim());
    let bytes = s3lite::io::read_all(&*sim.open(&manifest, s3lite::io::OpenMode::ReadOnly).unwrap()).unwrap();
    let (mut pos, mut last) = (0, (0, None));
    while pos < bytes.len() {
        let (edit, n) = decode_frame(&bytes[pos..]).unwrap();
        last = (pos, Some(edit));
        pos += n;
    }
    assert!(matches!(last.1, Some(ManifestEdit::SegmentCreated { .. })), "{last:?}");
    sim.flip_bit(&manifest, last.0 as u64 + 8, 3).unwrap();
    let check = |store: &Store| {
        for (k, v) in &written {
            assert!(common::read(store, b, k).unwrap() == *v, "{k}");
        }
    };
    let store = builder().open().unwrap();
    let r = store.recovery_report();
    assert_eq!(r.segments_adopted.len(), 1, "{r:?}");
    assert_eq!(r.checkpoints_used.len(), 1, "{r:?}");
    check(&store);
    drop(store);
    let store = builder().open().unwrap();
    check(&store);
}
