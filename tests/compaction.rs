//! Compaction: space comes back, nothing live is lost, nothing deleted comes back, and the
//! accounting agrees with a fresh recovery.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use common::{body, read, sim_builder, small};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use s3lite::io::{CrashMode, SimStorage};
use s3lite::{BucketId, CompactionPolicy, Error, GetOptions, NewVersion, PutOptions, Store, VersionId};

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() { dir_bytes(&entry.path()) } else { meta.len() };
    }
    total
}

fn live_bytes(store: &Store) -> u64 {
    store.partition_stats().iter().map(|p| p.live_bytes).sum()
}

fn check_model(store: &Store, b: BucketId, model: &BTreeMap<String, Vec<u8>>, keys: usize, ctx: &str) {
    for i in 0..keys {
        let key = format!("k{i:04}");
        match (read(store, b, &key), model.get(&key)) {
            (Ok(got), Some(want)) => assert!(got == *want, "{ctx}: {key} has other bytes"),
            (Err(Error::NoSuchKey { .. }), None) => {}
            (got, want) => {
                panic!("{ctx}: {key}: got {:?}, want {:?}", got.map(|v| v.len()), want.map(Vec::len))
            }
        }
    }
}

/// Overwrites and deletes until most of what was written is dead; returns the model.
fn churn(store: &Store, b: BucketId, keys: usize, rounds: usize, seed: u64) -> BTreeMap<String, Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut model = BTreeMap::new();
    for round in 0..rounds {
        for i in 0..keys {
            let key = format!("k{i:04}");
            if rng.random_range(0..4) == 0 {
                store.delete(b, &key).unwrap();
                model.remove(&key);
            } else {
                let len = [100, 900, 3000, 9000][rng.random_range(0..4)];
                let v = body(seed ^ (round * keys + i) as u64, len);
                store.put_bytes(b, &key, &v, &PutOptions::default()).unwrap();
                model.insert(key, v);
            }
        }
    }
    model
}

#[test]
fn heavy_overwrite_and_delete_then_compaction_is_within_1_5x_of_live_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // No zero-filled space ahead of the tail, so file sizes are what the records take.
    let builder = || small(Store::builder(dir.path())).preallocate_bytes(0);
    let store = builder().open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let model = churn(&store, b, 200, 12, 7);
    let user_bytes: u64 = model.values().map(|v| v.len() as u64).sum();
    let before = dir_bytes(dir.path());
    let report = store.compact_with(&CompactionPolicy::everything()).unwrap();
    let after = dir_bytes(dir.path());
    assert!(report.segments_in > 0 && report.files_removed == report.segments_in, "{report:?}");
    check_model(&store, b, &model, 200, "after compaction");
    let ratio = after as f64 / user_bytes as f64;
    println!("disk {before} -> {after} bytes for {user_bytes} live bytes: {ratio:.2}x; {report:?}");
    assert!(ratio <= 1.5, "disk use {after} is {ratio:.2}x the {user_bytes} live bytes");
    // Accounting is exact: a reopen (a full scan) finds the same live bytes, per segment.
    let live = live_bytes(&store);
    let segs = store.segment_stats();
    drop(store);
    let store = builder().open().unwrap();
    assert_eq!(live_bytes(&store), live, "live bytes after compaction differ from a fresh scan");
    assert_eq!(store.segment_stats(), segs);
    check_model(&store, b, &model, 200, "after reopen");
}

#[test]
fn a_reader_keeps_a_rewritten_segment_until_it_is_done() {
    let sim = SimStorage::new();
    let store = sim_builder(&sim).partitions(1).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let big = body(1, 200_000);
    store.put_bytes(b, "big", &big, &PutOptions::default()).unwrap();
    // Fill and seal segments with garbage so the one holding "big" is rewritten.
    for i in 0..300 {
        store.put_bytes(b, "junk", &body(i, 3000), &PutOptions::default()).unwrap();
    }
    let (_, mut reader) = store.get(b, "big", &GetOptions::default()).unwrap();
    let files_before = sim.file_paths().len();
    let report = store.compact_with(&CompactionPolicy::everything()).unwrap();
    assert!(report.files_held > 0, "the open reader holds an input: {report:?}");
    assert_eq!(reader.read_to_vec().unwrap(), big, "an open reader reads on from the old copy");
    drop(reader);
    let later = store.compact_with(&CompactionPolicy::everything()).unwrap();
    assert!(later.files_removed > 0 && later.files_held == 0, "{later:?}");
    assert!(sim.file_paths().len() < files_before);
    assert_eq!(read(&store, b, "big").unwrap(), big);
}

#[test]
fn chunked_bodies_move_whole_and_compaction_is_idempotent() {
    let sim = SimStorage::new();
    let store = sim_builder(&sim).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let mut model = BTreeMap::new();
    for i in 0..40 {
        let key = format!("k{:04}", i % 10);
        let v = body(i, 5000 + (i as usize % 3) * 9000);
        store.put_bytes(b, &key, &v, &PutOptions::default()).unwrap();
        model.insert(key, v);
    }
    let first = store.compact_with(&CompactionPolicy::everything()).unwrap();
    assert!(first.rewrites > 0, "{first:?}");
    check_model(&store, b, &model, 10, "after compaction");
    let live = live_bytes(&store);
    let second = store.compact_with(&CompactionPolicy::everything()).unwrap();
    assert_eq!(second.records_copied, 0, "nothing dead is left to reclaim: {second:?}");
    assert_eq!(live_bytes(&store), live);
    drop(store);
    sim.crash(CrashMode::DropUnsynced);
    let store = sim_builder(&sim).open().unwrap();
    check_model(&store, b, &model, 10, "after reopen");
    assert_eq!(live_bytes(&store), live);
}

/// Versioned buckets: purged versions and delete markers never come back, in whatever order the
/// rewritten segments are removed, across compaction, crash and reopen.
#[test]
fn no_delete_resurrects_after_compaction_crash_and_reopen() {
    for seed in 0..6u64 {
        let sim = SimStorage::new();
        let store = sim_builder(&sim).partitions(1).open().unwrap();
        let b = store.create_bucket("b").unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        // Per key: versions alive (id, bytes), oldest first.
        let mut alive: BTreeMap<String, Vec<(VersionId, Vec<u8>)>> = BTreeMap::new();
        for i in 0..400u64 {
            let key = format!("k{:02}", rng.random_range(0..12));
            let versions = alive.entry(key.clone()).or_default();
            if !versions.is_empty() && rng.random_range(0..3) == 0 {
                let victim = versions.remove(rng.random_range(0..versions.len())).0;
                store.delete_version(b, &key, victim, None).unwrap();
            } else {
                let v = body(seed * 10_000 + i, [50, 2000, 6000][rng.random_range(0..3)]);
                let opts = PutOptions { version: NewVersion::Unique, ..PutOptions::default() };
                let info = store.put_bytes(b, &key, &v, &opts).unwrap();
                versions.push((info.version_id, v));
            }
            if i % 37 == 0 {
                // Partial compactions too: some segments stay while others (and their purges) go.
                let policy = CompactionPolicy {
                    dead_ratio_min: [0.0, 0.3, 0.6][rng.random_range(0..3)],
                    dead_bytes_min: 1,
                    small_segment_bytes: Some(0),
                    input_bytes_max: [1, 200_000, u64::MAX][rng.random_range(0..3)],
                    seal_active: rng.random_bool(0.5),
                };
                store.compact_with(&policy).unwrap();
            }
        }
        drop(store);
        sim.crash(CrashMode::Random(seed));
        let store = sim_builder(&sim).partitions(1).open().unwrap();
        for (key, versions) in &alive {
            let listed: Vec<VersionId> = store
                .list(b, &s3lite::ListOptions { prefix: key.clone(), versions: true, ..Default::default() })
                .unwrap()
                .entries
                .iter()
                .filter(|e| e.key == *key)
                .map(|e| e.version_id)
                .collect();
            let mut want: Vec<VersionId> = versions.iter().map(|(v, _)| *v).collect();
            want.reverse();
            assert_eq!(listed, want, "seed {seed}: {key}: versions differ (a purged one came back?)");
            for (v, bytes) in versions {
                let (_, mut r) =
                    store.get(b, key, &GetOptions { version: Some(*v), ..Default::default() }).unwrap();
                assert_eq!(&r.read_to_vec().unwrap(), bytes, "seed {seed}: {key} {v}");
            }
        }
    }
}

/// The purge of an old version lands in a segment that is rewritten while the segment holding the
/// version stays (it is mostly live): the purge must be kept, or the version comes back at reopen.
#[test]
fn a_purge_is_kept_while_the_segment_holding_what_it_hides_survives() {
    let sim = SimStorage::new();
    let store = sim_builder(&sim).partitions(1).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let unique = PutOptions { version: NewVersion::Unique, ..PutOptions::default() };
    let victim = store.put_bytes(b, "victim", &body(1, 2000), &unique).unwrap().version_id;
    store.put_bytes(b, "victim", &body(2, 2000), &unique).unwrap();
    // Live data fills the victim's segment and seals it.
    for i in 0..100 {
        store.put_bytes(b, &format!("live{i}"), &body(100 + i, 3000), &unique).unwrap();
    }
    store.delete_version(b, "victim", victim, None).unwrap();
    // Garbage after the purge: its segment is mostly dead.
    for i in 0..200 {
        store.put_bytes(b, "junk", &body(1000 + i, 3000), &PutOptions::default()).unwrap();
    }
    let policy = CompactionPolicy {
        dead_ratio_min: 0.5,
        dead_bytes_min: 1,
        small_segment_bytes: Some(0),
        seal_active: true,
        ..CompactionPolicy::default()
    };
    let report = store.compact_with(&policy).unwrap();
    assert!(report.rewrites > 0, "{report:?}");
    let first = store.segment_stats()[0];
    assert_eq!(first.generation, 0, "the victim's segment was not rewritten: {report:?}");
    drop(store);
    sim.crash(CrashMode::DropUnsynced);
    let store = sim_builder(&sim).partitions(1).open().unwrap();
    let versions: Vec<VersionId> = store
        .list(b, &s3lite::ListOptions { prefix: "victim".into(), versions: true, ..Default::default() })
        .unwrap()
        .entries
        .iter()
        .map(|e| e.version_id)
        .collect();
    assert_eq!(versions.len(), 1, "the purged version came back: {versions:?}");
    assert!(!versions.contains(&victim));
}

/// Writers and readers go on while compactions run; every read sees a value some write put there.
#[test]
fn compaction_under_concurrent_writes_and_reads_loses_nothing() {
    let sim = SimStorage::new();
    let store = sim_builder(&sim).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut last = BTreeMap::new();
                for i in 0..1500u64 {
                    let key = format!("w{w}-{:02}", i % 25);
                    let v = body(w * 1_000_000 + i, [10, 1500, 7000][(i % 3) as usize]);
                    store.put_bytes(b, &key, &v, &PutOptions::default()).unwrap();
                    last.insert(key, v);
                }
                last
            })
        })
        .collect();
    let reader = {
        let store = store.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for i in 0..25 {
                    match read(&store, b, &format!("w0-{i:02}")) {
                        Ok(_) | Err(Error::NoSuchKey { .. }) => reads += 1,
                        Err(e) => panic!("a read failed during compaction: {e}"),
                    }
                }
            }
            reads
        })
    };
    let mut rewrites = 0;
    while writers.iter().any(|w| !w.is_finished()) {
        rewrites += store.compact_with(&CompactionPolicy::everything()).unwrap().rewrites;
    }
    let models: Vec<_> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    assert!(rewrites > 0, "compaction ran while writes went on");
    store.compact_with(&CompactionPolicy::everything()).unwrap();
    let live = live_bytes(&store);
    for m in &models {
        for (k, v) in m {
            assert_eq!(&read(&store, b, k).unwrap(), v, "{k}");
        }
    }
    drop(store);
    let store = sim_builder(&sim).open().unwrap();
    assert_eq!(live_bytes(&store), live, "accounting after concurrent compaction matches a fresh scan");
    for m in &models {
        for (k, v) in m {
            assert_eq!(&read(&store, b, k).unwrap(), v, "{k} after reopen");
        }
    }
}
