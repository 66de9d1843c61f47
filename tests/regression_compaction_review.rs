//! Regressions from the review of compaction, scrubbing and background maintenance: each finding's
//! reproducer (a deadlock, data lost with `Eventual` writes, the only copy deleted after a bit flip
//! in the manifest's last frame, a resurrection after a kill in the unlink phase, compaction
//! blocked by one damaged chunk), now passing, and the accounting check that found nothing.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{body, read, sim_builder};
use s3lite::io::{CrashMode, OpenMode, SimStorage, Storage};
use s3lite::{CompactionPolicy, Durability, PutOptions, WriteCondition};

/// Rewrites every sealed segment with a dead byte, but never seals an active one.
fn sealed_only() -> CompactionPolicy {
    CompactionPolicy {
        dead_ratio_min: 0.0,
        dead_bytes_min: 1,
        small_segment_bytes: Some(0),
        seal_active: false,
        ..CompactionPolicy::default()
    }
}

fn manifest_path(sim: &SimStorage) -> PathBuf {
    sim.file_paths()
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("MANIFEST-")))
        .max()
        .expect("a manifest")
}

fn file_len(sim: &SimStorage, p: &Path) -> u64 {
    sim.open(p, OpenMode::ReadOnly).unwrap().len().unwrap()
}

/// `Durability::Eventual` promises that what survives a crash is a prefix of a partition's
/// acknowledged writes. A compaction that drops the record an unsynced overwrite made dead, and
/// deletes its segment, breaks that: after the crash neither the old (durable) version nor the new
/// (lost) one is there.
#[test]
fn eventual_overwrite_then_compaction_then_crash_keeps_a_prefix() {
    let sim = SimStorage::new();
    let open = || sim_builder(&sim).partitions(1).open().unwrap();
    let store = open();
    let b = store.create_bucket("b").unwrap();
    let v1 = body(1, 500);
    // Immediate (the store default): durable once acknowledged.
    store.put_bytes(b, "k", &v1, &PutOptions::default()).unwrap();
    // Fill and seal k's segment with junk (one key overwritten: all dead but the last).
    for i in 0..120 {
        store.put_bytes(b, "junk", &body(100 + i, 3000), &PutOptions::default()).unwrap();
    }
    assert!(store.segment_stats().iter().any(|s| s.sealed), "k's segment is sealed");
    // An Eventual overwrite: acknowledged, not yet synced.
    let eventual = PutOptions {
        durability: Some(Durability::Eventual { flush_interval_ms: 3_600_000 }),
        ..Default::default()
    };
    store.put_bytes(b, "k", &body(2, 500), &eventual).unwrap();
    let report = store.compact_with(&sealed_only()).unwrap();
    println!("{report:?}");
    assert!(report.rewrites > 0);
    // Power loss: the unsynced overwrite is gone, as Eventual allows.
    sim.crash(CrashMode::DropUnsynced);
    drop(store);
    let store = open();
    match read(&store, b, "k") {
        Ok(v) => assert!(v == v1 || v == body(2, 500)),
        Err(e) => panic!("k is gone after the crash: neither the durable v1 nor the lost v2 ({e})"),
    }
}

/// The same with a delete: an Eventual delete that the crash loses still takes the durable version
/// with it (the state after recovery is no prefix of the acknowledged writes).
#[test]
fn eventual_delete_then_compaction_then_crash_keeps_a_prefix() {
    let sim = SimStorage::new();
    let open = || sim_builder(&sim).partitions(1).open().unwrap();
    let store = open();
    let b = store.create_bucket("b").unwrap();
    let v1 = body(1, 500);
    store.put_bytes(b, "k", &v1, &PutOptions::default()).unwrap();
    for i in 0..120 {
        store.put_bytes(b, "junk", &body(100 + i, 3000), &PutOptions::default()).unwrap();
    }
    let store_ev = {
        // A store-wide Eventual default is how hosts use it; the delete takes it.
        drop(store);
        sim_builder(&sim)
            .partitions(1)
            .durability(Durability::Eventual { flush_interval_ms: 3_600_000 })
            .open()
            .unwrap()
    };
    store_ev.delete(b, "k").unwrap();
    // A later Eventual write the crash also loses: the prefix must end before the delete.
    store_ev.put_bytes(b, "later", b"x", &PutOptions::default()).unwrap();
    let report = store_ev.compact_with(&sealed_only()).unwrap();
    assert!(report.rewrites > 0, "{report:?}");
    sim.crash(CrashMode::DropUnsynced);
    drop(store_ev);
    let store = open();
    let later = read(&store, b, "later").is_ok();
    match read(&store, b, "k") {
        Ok(v) => assert_eq!(v, v1),
        Err(e) => assert!(later, "k deleted ({e}) though the delete was lost with everything after it"),
    }
}

/// A bit flip in the manifest's last frame reads as a torn tail ("not damage" since this change).
/// If that frame is a rewrite's commit, the inputs were already unlinked, and the open now removes
/// the outputs as uncommitted: every record they held is lost, in a Strict open, silently.
#[test]
fn a_bit_flip_in_the_commit_frame_never_deletes_the_only_copy() {
    let sim = SimStorage::new();
    let open = || sim_builder(&sim).partitions(1).open();
    let store = open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let keep = body(7, 2000);
    store.put_bytes(b, "keep", &keep, &PutOptions::default()).unwrap();
    for i in 0..120 {
        store.put_bytes(b, "junk", &body(100 + i, 3000), &PutOptions::default()).unwrap();
    }
    let manifest = manifest_path(&sim);
    let before = file_len(&sim, &manifest);
    let report = store.compact_with(&sealed_only()).unwrap();
    assert!(report.rewrites == 1 && report.files_removed > 0, "{report:?}");
    let after = file_len(&sim, &manifest);
    assert!(after > before, "the commit edit is the manifest's last frame");
    drop(store);
    // One bit of the commit frame's payload.
    sim.flip_bit(&manifest, before + (after - before) / 2, 3).unwrap();
    let segs = |sim: &SimStorage| -> Vec<PathBuf> {
        sim.file_paths().into_iter().filter(|p| p.extension().is_some_and(|e| e == "seg")).collect()
    };
    println!("segment files before the open: {:?}", segs(&sim));
    let strict = open();
    println!(
        "segment files after the strict open ({}): {:?}",
        if strict.is_ok() { "opened" } else { "refused" },
        segs(&sim)
    );
    let store = match strict {
        Ok(s) => s,
        Err(e) => {
            // Strict refuses (an input is missing); the salvage the error points to must keep
            // everything that can still be read, and the outputs can be.
            println!("strict open refused: {e}");
            sim_builder(&sim).partitions(1).recovery_mode(s3lite::RecoveryMode::Salvage).open().unwrap()
        }
    };
    let r = store.recovery_report();
    println!("orphans removed: {:?}; manifest tail bytes {}", r.orphans_removed, r.manifest_tail_bytes);
    match read(&store, b, "keep") {
        Ok(v) => assert_eq!(v, keep),
        Err(e) => panic!("'keep' lost after a one-bit manifest error: {e}"),
    }
}

/// `segment_stats` holds the index read lock while it takes `active` (order index -> active); a
/// leader holds `active` while it takes the index read lock for preconditions (active -> index).
/// With a writer queued on the (fair) index lock, the three wait for each other for ever.
#[test]
fn segment_stats_beside_a_conditional_write_leader_does_not_deadlock() {
    let sim = SimStorage::new();
    let store = sim_builder(&sim).partitions(1).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let progress: Arc<Vec<AtomicU64>> = Arc::new((0..4).map(|_| AtomicU64::new(0)).collect());
    let mut handles = Vec::new();
    // 0: statistics.
    {
        let (store, stop, progress) = (store.clone(), stop.clone(), progress.clone());
        handles.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = store.segment_stats();
                progress[0].fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // 1, 2: conditional puts (the leader checks them under `active`).
    for t in 1..3u64 {
        let (store, stop, progress) = (store.clone(), stop.clone(), progress.clone());
        handles.push(std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let opts = PutOptions { condition: Some(WriteCondition::IfAbsent), ..Default::default() };
                let _ = store.put_bytes(b, &format!("c{t}-{i}"), b"v", &opts);
                i += 1;
                progress[t as usize].fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // 3: index writers: failed conditional large puts (their chunks are settled under the index
    // write lock) and compactions (the switch).
    {
        let (store, stop, progress) = (store.clone(), stop.clone(), progress.clone());
        handles.push(std::thread::spawn(move || {
            let big = body(5, 6000);
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let opts = PutOptions { condition: Some(WriteCondition::IfExists), ..Default::default() };
                let _ = store.put_bytes(b, "missing", &big, &opts);
                if i.is_multiple_of(16) {
                    let _ = store.compact_with(&CompactionPolicy::everything());
                }
                i += 1;
                progress[3].fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let start = Instant::now();
    let mut last: Vec<u64> = vec![0; 4];
    let mut still_since = Instant::now();
    while start.elapsed() < Duration::from_secs(6) {
        std::thread::sleep(Duration::from_millis(500));
        let now: Vec<u64> = progress.iter().map(|p| p.load(Ordering::Relaxed)).collect();
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if still_since.elapsed() > Duration::from_secs(3) {
            panic!(
                "deadlock: no thread made progress for 3 s (counts {last:?}, after {:?})",
                start.elapsed()
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    println!("no deadlock in 6 s: {last:?}");
}

fn segment_file(sim: &SimStorage, id: u64) -> PathBuf {
    let name = format!("{id:016x}.seg");
    sim.file_paths().into_iter().find(|p| p.file_name().is_some_and(|n| n.to_string_lossy() == name)).unwrap()
}

/// One damaged chunk in segment S1 of an object whose commit record is in S2: S1 is marked damaged
/// (never an input), but every later rewrite that takes S2 re-reads the damaged chunk through the
/// commit record, fails with Corruption and is abandoned whole. S2 (almost all dead) and whatever
/// else is picked with it are never rewritten: the space is never given back.
#[test]
fn one_damaged_chunk_does_not_block_compaction_of_its_class() {
    let sim = SimStorage::new();
    let store = sim_builder(&sim).partitions(1).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let active = |store: &s3lite::Store| store.segment_stats().into_iter().find(|s| !s.sealed).unwrap();
    // Fill the first segment to within a few chunks of its end.
    let mut i = 0;
    while active(&store).bytes < 256 * 1024 - 12_000 {
        store.put_bytes(b, "junk", &body(100 + i, 3000), &PutOptions::default()).unwrap();
        i += 1;
    }
    let s1 = active(&store).segment_id;
    // 40 KiB in 4 KiB chunks: the first ones land in S1, the rest and the commit in S2.
    let big = body(9, 40_000);
    store.put_bytes(b, "big", &big, &PutOptions::default()).unwrap();
    let s2 = active(&store).segment_id;
    assert_ne!(s1, s2, "the chunks straddle a seal");
    // S2 fills with dead junk and is sealed.
    for j in 0..120 {
        store.put_bytes(b, "junk", &body(10_000 + j, 3000), &PutOptions::default()).unwrap();
    }
    let len1 = store.segment_stats().iter().find(|s| s.segment_id == s1).unwrap().bytes;
    // A bit in the last chunk S1 holds (before its group marker and seal).
    sim.flip_bit(&segment_file(&sim, s1), len1 - 2000, 1).unwrap();
    // (SimStorage's maps are copies taken at seal time: reopen so the map shows the damage, as a
    // real mmap does at once. Salvage, since a strict open refuses the damaged segment.)
    drop(store);
    let store = sim_builder(&sim).partitions(1).recovery_mode(s3lite::RecoveryMode::Salvage).open().unwrap();
    println!("recovery: {:?}", store.recovery_report().damaged);
    let mut reports = Vec::new();
    for _ in 0..3 {
        reports.push(store.compact_with(&sealed_only()).unwrap());
    }
    let s2_stats = store.segment_stats().into_iter().find(|s| s.segment_id == s2);
    for r in &reports {
        println!(
            "rewrites {} damaged {:?}",
            r.rewrites,
            r.damaged.iter().map(|d| (d.segment_id, &d.reason)).collect::<Vec<_>>()
        );
    }
    if let Some(s) = s2_stats {
        panic!(
            "segment {s2} is still there after 3 compactions: {} bytes, {} live ({} dead)",
            s.bytes,
            s.live_bytes,
            s.dead_bytes()
        );
    }
}

/// Per-segment live bytes after compactions that ran beside writers (overwrites, chunked puts,
/// versions and purges, failed large puts) must be what a fresh scan finds.
#[test]
fn per_segment_accounting_after_concurrent_compaction_matches_a_reopen() {
    use s3lite::NewVersion;
    let sim = SimStorage::new();
    let open = || sim_builder(&sim).partitions(1).open().unwrap();
    let store = open();
    let b = store.create_bucket("b").unwrap();
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                let unique = PutOptions { version: NewVersion::Unique, ..Default::default() };
                let mut versions = Vec::new();
                for i in 0..600u64 {
                    let key = format!("w{w}-{}", i % 13);
                    match i % 6 {
                        0 | 1 => {
                            let len = [200, 5000, 13_000][(i % 3) as usize];
                            store
                                .put_bytes(b, &key, &body(w * 100_000 + i, len), &PutOptions::default())
                                .unwrap();
                        }
                        2 => {
                            let v = store.put_bytes(b, &format!("v{w}"), &body(i, 6000), &unique).unwrap();
                            versions.push(v.version_id);
                        }
                        3 => {
                            if let Some(v) = versions.pop() {
                                store.delete_version(b, &format!("v{w}"), v, None).unwrap();
                            }
                        }
                        4 => store.delete(b, &key).unwrap(),
                        _ => {
                            let opts = PutOptions {
                                condition: Some(WriteCondition::IfExists),
                                ..Default::default()
                            };
                            let _ = store.put_bytes(b, "missing", &body(i, 9000), &opts);
                        }
                    }
                }
            })
        })
        .collect();
    while writers.iter().any(|w| !w.is_finished()) {
        store.compact_with(&CompactionPolicy::everything()).unwrap();
    }
    for w in writers {
        w.join().unwrap();
    }
    store.compact_with(&CompactionPolicy::everything()).unwrap();
    let live = |s: &s3lite::Store| -> Vec<(u64, u64)> {
        s.segment_stats().iter().map(|x| (x.segment_id, x.live_bytes)).collect()
    };
    let before = live(&store);
    let total: u64 = store.partition_stats().iter().map(|p| p.live_bytes).sum();
    drop(store);
    let store = open();
    let after = live(&store);
    let total_after: u64 = store.partition_stats().iter().map(|p| p.live_bytes).sum();
    assert_eq!(before, after, "per-segment live bytes differ from a fresh scan");
    assert_eq!(total, total_after);
}

/// Kill at every point of a compaction (its unlink phase included), restart, more work, then lose
/// power: a purged version must never come back. A GLACIER input whose unlink was not yet durable
/// when the process died is gone from the restarted store's view, so the restart's manifest
/// snapshot forgets that it was ever deleted, and the tombstone rule no longer counts it as a
/// survivor: a compaction of STANDARD (where purges live) drops the purge and durably removes its
/// segment (syncing only the STANDARD directory). The power loss brings the GLACIER file back, the
/// next open adopts it as an unlisted generation-0 segment, and the version is back.
#[test]
fn a_kill_in_the_unlink_phase_then_a_power_loss_resurrects_nothing() {
    use s3lite::{ListOptions, NewVersion, StorageClass};
    let base = SimStorage::new();
    let open = |sim: &SimStorage| sim_builder(sim).partitions(1).open();
    let store = open(&base).unwrap();
    let b = store.create_bucket("b").unwrap();
    let glacier =
        |version| PutOptions { version, storage_class: StorageClass::Glacier, ..Default::default() };
    let victim =
        store.put_bytes(b, "victim", &body(1, 2000), &glacier(NewVersion::Unique)).unwrap().version_id;
    // The purge: a STANDARD record.
    store.delete_version(b, "victim", victim, None).unwrap();
    // GLACIER junk (one key, all dead but the last) fills and seals the victim's segment.
    let mut i = 0;
    while !store.segment_stats().iter().any(|s| s.class == StorageClass::Glacier && s.sealed) {
        store.put_bytes(b, "junk", &body(100 + i, 3000), &glacier(NewVersion::Null)).unwrap();
        i += 1;
    }
    // STANDARD overwrites after the purge: dead bytes in the purge's segment.
    for i in 0..20 {
        store.put_bytes(b, "sjunk", &body(500 + i, 3000), &PutOptions::default()).unwrap();
    }
    drop(store);
    let versions = |store: &s3lite::Store| -> Vec<s3lite::VersionId> {
        store
            .list(b, &ListOptions { prefix: "victim".into(), versions: true, ..Default::default() })
            .unwrap()
            .entries
            .iter()
            .map(|e| e.version_id)
            .collect()
    };
    let mut points = 0;
    for n in 0..200u64 {
        let sim = base.fork();
        let store = open(&sim).unwrap();
        let before = sim.mutating_ops();
        sim.freeze_after(n);
        // Rewrites the sealed GLACIER segment (nothing of STANDARD is sealed yet).
        let result = store.compact_with(&sealed_only());
        let done = sim.mutating_ops() - before <= n;
        drop(store);
        sim.kill();
        let store = open(&sim).unwrap();
        assert!(!versions(&store).contains(&victim), "n={n}: after the kill");
        // More work: compact everything (STANDARD too, its active segment sealed first).
        // Only STANDARD is worth it: the active GLACIER segment holds one record.
        let policy = CompactionPolicy {
            dead_ratio_min: 0.0,
            dead_bytes_min: 20_000,
            small_segment_bytes: Some(0),
            seal_active: true,
            ..CompactionPolicy::default()
        };
        let r2 = store.compact_with(&policy).unwrap();
        drop(store);
        sim.crash(CrashMode::DropUnsynced);
        let store = match open(&sim) {
            Ok(s) => s,
            Err(e) => panic!("n={n}: open after kill + power loss fails: {e}"),
        };
        let adopted = store.recovery_report().segments_adopted.clone();
        assert!(
            !versions(&store).contains(&victim),
            "n={n} (first compaction {}; second dropped {} purges): purged version {victim} is back after \
             kill + more work + power loss; adopted {adopted:?}",
            if result.is_ok() { "finished" } else { "cut short" },
            r2.tombstones_dropped
        );
        points += 1;
        if done {
            break;
        }
    }
    println!("{points} points checked");
}
