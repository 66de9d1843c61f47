//! The scrubber finds damage before a read does; compaction leaves damaged segments alone; the
//! background compactor and scrubber run, pace and stop.

mod common;

use std::time::{Duration, Instant};

use common::{body, read, sim_builder};
use s3lite::io::SimStorage;
use s3lite::{BackgroundCompaction, BackgroundScrub, CompactionPolicy, Error, PutOptions, Store};

/// A store with sealed segments holding `keys` live 3000-byte objects after some overwrites.
fn filled(sim: &SimStorage, keys: u64) -> (Store, s3lite::BucketId) {
    let store = sim_builder(sim).partitions(1).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    for round in 0..3 {
        for i in 0..keys {
            store
                .put_bytes(b, &format!("k{i}"), &body(round * 1000 + i, 3000), &PutOptions::default())
                .unwrap();
        }
    }
    (store, b)
}

/// Flips a bit in the middle of the first sealed segment; returns its id.
fn damage_a_sealed_segment(sim: &SimStorage, store: &Store) -> u64 {
    let seg = store.segment_stats().into_iter().find(|s| s.sealed).expect("a sealed segment");
    let name = format!("{:016x}.seg", seg.segment_id);
    let path = sim.file_paths().into_iter().find(|p| p.ends_with(&name)).unwrap();
    sim.flip_bit(&path, seg.bytes / 2, 3).unwrap();
    seg.segment_id
}

#[test]
fn scrub_reports_damage_in_a_sealed_segment_and_compaction_leaves_it_alone() {
    let sim = SimStorage::new();
    let (store, b) = filled(&sim, 200);
    let clean = store.scrub().unwrap();
    assert!(
        clean.damaged.is_empty() && clean.segments_checked > 1 && clean.records_checked > 600,
        "{clean:?}"
    );
    let damaged = damage_a_sealed_segment(&sim, &store);
    let report = store.scrub().unwrap();
    assert_eq!(report.damaged.len(), 1, "{report:?}");
    assert_eq!(report.damaged[0].segment_id, damaged);
    let files = sim.file_paths();
    let compacted = store.compact_with(&CompactionPolicy::everything()).unwrap();
    assert!(
        sim.file_paths().iter().any(|p| p.ends_with(format!("{damaged:016x}.seg"))),
        "the damaged segment is kept as it is"
    );
    assert!(compacted.damaged.is_empty(), "a segment the scrub marked is never picked: {compacted:?}");
    assert!(files.len() >= 2);
    // The current versions live in later segments and read as before.
    for i in 0..200 {
        assert_eq!(read(&store, b, &format!("k{i}")).unwrap(), body(2000 + i, 3000));
    }
}

/// On a real file system: the map of a sealed segment shows a byte changed on the device (the same
/// page cache), so the compaction reading it meets the damage.
#[test]
fn compaction_that_meets_damage_reports_it_and_changes_nothing() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let store = common::small(Store::builder(dir.path())).partitions(1).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    for round in 0..3 {
        for i in 0..200u64 {
            store
                .put_bytes(b, &format!("k{i}"), &body(round * 1000 + i, 3000), &PutOptions::default())
                .unwrap();
        }
    }
    let seg = store.segment_stats().into_iter().find(|s| s.sealed).unwrap();
    let path = dir.path().join("p0000").join("STANDARD").join(format!("{:016x}.seg", seg.segment_id));
    let f = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
    let mut byte = [0u8; 1];
    f.read_exact_at(&mut byte, seg.bytes / 2).unwrap();
    f.write_all_at(&[byte[0] ^ 0x08], seg.bytes / 2).unwrap();
    let before: u64 = store.partition_stats().iter().map(|p| p.live_bytes).sum();
    let report = store.compact_with(&CompactionPolicy::everything()).unwrap();
    assert!(report.damaged.iter().any(|d| d.segment_id == seg.segment_id), "{report:?}");
    assert!(report.damaged[0].reason.contains("compaction input"), "{report:?}");
    assert!(path.exists(), "the damaged segment is kept as it is");
    // Nothing of the failed rewrite was committed, and the segment is not tried again.
    let again = store.compact_with(&CompactionPolicy::everything()).unwrap();
    assert!(again.damaged.is_empty(), "{again:?}");
    assert!(path.exists());
    let after: u64 = store.partition_stats().iter().map(|p| p.live_bytes).sum();
    assert!(after <= before);
    for i in 0..200 {
        assert_eq!(read(&store, b, &format!("k{i}")).unwrap(), body(2000 + i, 3000));
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(60), "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn the_background_compactor_reclaims_space_while_writes_go_on_and_stops() {
    let sim = SimStorage::new();
    let store = sim_builder(&sim).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let settings = BackgroundCompaction {
        policy: CompactionPolicy { dead_bytes_min: 1, ..CompactionPolicy::default() },
        bytes_per_sec: Some(64 << 20),
        concurrent_rewrites: 2,
        interval_ms: 1,
    };
    store.start_background_compaction(settings).unwrap();
    for round in 0..8u64 {
        for i in 0..100u64 {
            store
                .put_bytes(b, &format!("k{i}"), &body(round * 1000 + i, 3000), &PutOptions::default())
                .unwrap();
        }
    }
    wait_until("a background rewrite", || store.background_compaction_report().rewrites > 0);
    store.stop_background_compaction();
    let done = store.background_compaction_report();
    assert!(done.segments_in > 0 && done.bytes_out < done.bytes_in, "{done:?}");
    // Stopped: more garbage stays garbage.
    for i in 0..100u64 {
        store.put_bytes(b, &format!("k{i}"), &body(9000 + i, 3000), &PutOptions::default()).unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(store.background_compaction_report().rewrites, done.rewrites);
    for i in 0..100 {
        assert_eq!(read(&store, b, &format!("k{i}")).unwrap(), body(9000 + i, 3000));
    }
}

#[test]
fn background_compaction_settings_are_checked() {
    let store = Store::open_in_memory().unwrap();
    for n in [0, s3lite::CONCURRENT_REWRITES_MAX + 1] {
        let r = store.start_background_compaction(BackgroundCompaction {
            concurrent_rewrites: n,
            ..Default::default()
        });
        match r {
            Err(Error::InvalidArgument { name: "concurrent_rewrites", value, .. }) => {
                assert_eq!(value, n.to_string())
            }
            other => panic!("{n}: {other:?}"),
        }
    }
    // A pace of nothing is refused (None is "unpaced"), for the compactor and the scrubber.
    let zero = store
        .start_background_compaction(BackgroundCompaction { bytes_per_sec: Some(0), ..Default::default() });
    assert!(matches!(zero, Err(Error::InvalidArgument { name: "bytes_per_sec", .. })), "{zero:?}");
    let zero =
        store.start_background_scrub(s3lite::BackgroundScrub { bytes_per_sec: 0, ..Default::default() });
    assert!(matches!(zero, Err(Error::InvalidArgument { name: "bytes_per_sec", .. })), "{zero:?}");
    store.start_background_compaction(BackgroundCompaction::default()).unwrap();
    // Starting again replaces the running one; stopping twice is harmless.
    store.start_background_compaction(BackgroundCompaction::default()).unwrap();
    store.stop_background_compaction();
    store.stop_background_compaction();
}

#[test]
fn the_background_scrubber_finds_damage_and_stops() {
    let sim = SimStorage::new();
    let (store, _) = filled(&sim, 200);
    let damaged = damage_a_sealed_segment(&sim, &store);
    assert!(store.last_scrub_report().is_none());
    store.start_background_scrub(BackgroundScrub { bytes_per_sec: 1 << 30, interval_ms: 1 }).unwrap();
    wait_until("a scrub pass", || store.last_scrub_report().is_some());
    store.stop_background_scrub();
    let report = store.last_scrub_report().unwrap();
    assert!(report.damaged.iter().any(|d| d.segment_id == damaged), "{report:?}");
}
