//! Simulated crashes at every write and sync point of seeded workloads.
//!
//! For each crash point k, the simulated file system fails every mutating operation after the k-th
//! (the machine stopped there), then `crash()` keeps what was synced plus a seeded choice of unsynced
//! writes (dropped, torn at sector granularity, or reordered). The store is reopened in `Strict` mode
//! and checked: every acknowledged write is present and byte-identical, the one write in flight is
//! either wholly there or wholly absent, acknowledged deletes stay deleted, and the store accepts
//! writes again. `cargo test --test crash_sim -- --nocapture` prints how many points were checked;
//! `-- --ignored` runs the long version.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::{body, read, sim_builder};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use s3lite::io::{CrashMode, SimStorage};
use s3lite::{BucketId, Error, ListOptions, PutOptions, Store, StoreBuilder};

#[derive(Debug, Clone)]
enum Op {
    Put(String, usize),
    Delete(String),
}

const LENGTHS: [usize; 8] = [0, 10, 700, 1024, 1025, 3000, 9000, 20_000];

fn workload(seed: u64, n: usize, keys: usize) -> Vec<Op> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let key = format!("key-{:02}", rng.random_range(0..keys));
            if rng.random_range(0..5) == 0 {
                Op::Delete(key)
            } else {
                Op::Put(key, LENGTHS[rng.random_range(0..LENGTHS.len())])
            }
        })
        .collect()
}

type Value = Option<Vec<u8>>;
/// Per key: the last acknowledged value, and the value of a write that failed (if one did).
type AckLog = BTreeMap<String, (Value, Option<Value>)>;

fn observed(store: &Store, b: BucketId, key: &str, ctx: &str) -> Value {
    match read(store, b, key) {
        Ok(v) => Some(v),
        Err(Error::NoSuchKey { .. }) => None,
        Err(e) => panic!("{ctx}: reading {key}: {e}"),
    }
}

/// Runs the workload with a crash after `crash_after` mutating operations; returns false when the
/// workload finished before that point.
fn run_point(seed: u64, ops: &[Op], crash_after: Option<u64>, config: Config) -> (bool, u64) {
    let sim = SimStorage::new();
    let store = config(sim_builder(&sim)).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let start = sim.mutating_ops();
    if let Some(k) = crash_after {
        sim.freeze_after(k);
    }
    let mut acked: BTreeMap<String, Value> = BTreeMap::new();
    let mut in_flight: Option<(String, Value)> = None;
    for (i, op) in ops.iter().enumerate() {
        let (key, new) = match op {
            Op::Put(k, len) => (k, Some(body(seed * 1000 + i as u64, *len))),
            Op::Delete(k) => (k, None),
        };
        let r = match &new {
            Some(v) => store.put_bytes(b, key, v, &PutOptions::default()).map(|_| ()),
            None => store.delete(b, key),
        };
        match r {
            Ok(()) => {
                acked.insert(key.clone(), new);
            }
            Err(e) => {
                assert!(crash_after.is_some(), "seed {seed}: unexpected error {e}");
                in_flight = Some((key.clone(), new));
                break;
            }
        }
    }
    let used = sim.mutating_ops() - start;
    let crashed = in_flight.is_some();
    if crashed {
        // After the failure the store must refuse everything until reopened.
        assert!(matches!(store.put_bytes(b, "x", b"x", &PutOptions::default()), Err(Error::PreviousIo)));
        assert!(matches!(read(&store, b, "key-00"), Err(Error::PreviousIo)));
    }
    drop(store);
    let point = crash_after.unwrap_or(u64::MAX);
    sim.crash(CrashMode::Random(seed.wrapping_mul(1_000_003) ^ point));
    let ctx = format!("seed {seed} crash point {point}");
    let store = config(sim_builder(&sim)).open().unwrap_or_else(|e| panic!("{ctx}: reopen failed: {e}"));
    let b = store.bucket("b").unwrap_or_else(|e| panic!("{ctx}: bucket lost: {e}")).id;
    let mut present = Vec::new();
    for i in 0..16 {
        let key = format!("key-{i:02}");
        let got = observed(&store, b, &key, &ctx);
        let expected = acked.get(&key).cloned().flatten();
        match &in_flight {
            Some((k, new)) if *k == key => {
                assert!(got == expected || got == *new, "{ctx}: {key} is neither the old nor the new value")
            }
            _ => assert!(
                got == expected,
                "{ctx}: {key}: acknowledged state lost (got {} bytes, want {:?})",
                got.as_ref().map_or(0, Vec::len),
                expected.as_ref().map(Vec::len)
            ),
        }
        if got.is_some() {
            present.push(key);
        }
    }
    let listed: Vec<String> =
        store.list(b, &ListOptions::default()).unwrap().entries.into_iter().map(|e| e.key).collect();
    assert_eq!(listed, present, "{ctx}: listing disagrees with reads");
    store
        .put_bytes(b, "after-crash", &body(1, 5000), &PutOptions::default())
        .unwrap_or_else(|e| panic!("{ctx}: store not writable: {e}"));
    assert_eq!(read(&store, b, "after-crash").unwrap(), body(1, 5000));
    (crashed, used)
}

/// Store options on top of the small test sizes.
type Config = fn(StoreBuilder) -> StoreBuilder;

fn crash_every_point(seeds: std::ops::Range<u64>, ops_per_seed: usize, config: Config) -> u64 {
    let mut points = 0;
    for seed in seeds {
        let ops = workload(seed, ops_per_seed, 16);
        let (_, total) = run_point(seed, &ops, None, config);
        for k in 0..=total {
            let (crashed, _) = run_point(seed, &ops, Some(k), config);
            assert!(crashed || k == total, "seed {seed}: no crash at point {k} of {total}");
            points += 1;
        }
    }
    points
}

#[test]
fn crash_at_every_write_point() {
    let points = crash_every_point(0..12, 60, |b| b);
    println!("crash points checked: {points}");
    assert!(points >= 2000, "only {points} crash points");
}

/// With a small preallocation step, 4 KiB chunks count as large groups: each writes zeros past its
/// marker for the commit record that follows, and runs of small groups zero-fill ahead, so both
/// zero-writing paths meet crashes (the default sizes exercise only the second). One partition and
/// small segments make every seed seal a segment with its zero-padded tail.
#[test]
fn crash_at_every_write_point_with_zero_padded_large_groups() {
    let config: Config = |b| b.partitions(1).segment_bytes(160 * 1024).preallocate_bytes(8192);
    let points = crash_every_point(20..26, 60, config);
    println!("crash points checked (zero-padded large groups): {points}");
    assert!(points >= 1000, "only {points} crash points");
}

/// Every put sealed (SSE-S3 by default) with its data key split into a crypto-shred key slot,
/// every delete and `null` overwrite erasing one: the slot file's writes meet crashes too.
#[test]
fn crash_at_every_write_point_sealed_and_crypto_shredded() {
    let config: Config = |b| {
        let keys =
            s3lite::crypto::MasterKeys::from_secrets(&[(s3lite::crypto::KeyId([1; 16]), [7; 32])]).unwrap();
        b.key_provider(Arc::new(keys)).crypto_shred(true)
    };
    let points = crash_every_point(30..34, 60, config);
    println!("crash points checked (sealed, crypto-shredded): {points}");
    assert!(points >= 500, "only {points} crash points");
}

#[test]
#[ignore = "long run: cargo test --release --test crash_sim -- --ignored"]
fn crash_at_every_write_point_long() {
    let points = crash_every_point(100..400, 120, |b| b);
    println!("crash points checked: {points}");
}

/// Crashes while recovery itself runs (manifest rewrite, torn-tail cut), then opens again.
#[test]
fn crash_during_recovery() {
    let mut points = 0;
    for seed in 0..6u64 {
        let sim = SimStorage::new();
        let store = sim_builder(&sim).open().unwrap();
        let b = store.create_bucket("b").unwrap();
        let mut acked = BTreeMap::new();
        for (i, op) in workload(seed, 30, 8).iter().enumerate() {
            if let Op::Put(k, len) = op {
                let v = body(seed + i as u64, *len);
                store.put_bytes(b, k, &v, &PutOptions::default()).unwrap();
                acked.insert(k.clone(), v);
            }
        }
        drop(store);
        // Leave an unsynced tail so recovery has something to cut.
        sim.crash(CrashMode::Random(seed));
        for k in 0..40u64 {
            sim.freeze_after(k);
            let attempt = sim_builder(&sim).open();
            drop(attempt);
            sim.crash(CrashMode::Random(seed * 100 + k));
            let store =
                sim_builder(&sim).open().unwrap_or_else(|e| panic!("seed {seed} recovery crash {k}: {e}"));
            for (key, v) in &acked {
                assert_eq!(&read(&store, b, key).unwrap(), v, "seed {seed} recovery crash {k}");
            }
            points += 1;
        }
    }
    println!("recovery crash points checked: {points}");
}

/// Concurrent writers on disjoint keys, crash at random points.
#[test]
fn crash_with_concurrent_writers() {
    let mut points = 0;
    for seed in 0..60u64 {
        let sim = SimStorage::new();
        let store = sim_builder(&sim).open().unwrap();
        let b = store.create_bucket("b").unwrap();
        sim.freeze_after(StdRng::seed_from_u64(seed).random_range(0..150));
        let acked: Arc<Mutex<AckLog>> = Arc::default();
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let store = store.clone();
                let acked = acked.clone();
                s.spawn(move || {
                    let mut rng = StdRng::seed_from_u64(seed * 10 + t);
                    for i in 0..40u64 {
                        let key = format!("t{t}-k{}", rng.random_range(0..4));
                        let new = if rng.random_range(0..4) == 0 {
                            None
                        } else {
                            Some(body(seed * 1000 + t * 100 + i, LENGTHS[rng.random_range(0..LENGTHS.len())]))
                        };
                        let r = match &new {
                            Some(v) => store.put_bytes(b, &key, v, &PutOptions::default()).map(|_| ()),
                            None => store.delete(b, &key),
                        };
                        let mut a = acked.lock().unwrap();
                        let entry = a.entry(key).or_insert((None, None));
                        match r {
                            Ok(()) => entry.0 = new,
                            Err(_) => {
                                entry.1 = Some(new);
                                return;
                            }
                        }
                    }
                });
            }
        });
        drop(store);
        sim.crash(CrashMode::Random(seed));
        let store = sim_builder(&sim).open().unwrap_or_else(|e| panic!("seed {seed}: reopen: {e}"));
        for (key, (ok, maybe)) in acked.lock().unwrap().iter() {
            let got = observed(&store, b, key, &format!("seed {seed}"));
            let allowed = got == *ok || maybe.as_ref().is_some_and(|m| got == *m);
            assert!(allowed, "seed {seed}: {key} lost its acknowledged value");
        }
        points += 1;
    }
    println!("concurrent crash runs checked: {points}");
}

/// A multi-record request (deleting every version of a key writes one purge record per version) is
/// atomic: after a crash at any point the key has all its versions or none.
#[test]
fn multi_record_requests_are_atomic_across_crashes() {
    let mut points = 0;
    // Long keys make each purge record ~970 bytes, so a group spans sectors and can tear.
    let key = |k: usize| format!("{k}-{}", "x".repeat(900));
    for seed in 0..16u64 {
        let setup = |sim: &SimStorage| {
            let store = sim_builder(sim).open().unwrap();
            let b = store.create_bucket("b").unwrap();
            let unique = PutOptions { version: s3lite::NewVersion::Unique, ..Default::default() };
            for k in 0..6 {
                for v in 0..3u64 {
                    store.put_bytes(b, &key(k), &body(seed * 100 + v, 600), &unique).unwrap();
                }
            }
            (store, b)
        };
        let dry = SimStorage::new();
        let (store, b) = setup(&dry);
        let start = dry.mutating_ops();
        for k in 0..6 {
            store.delete(b, &key(k)).unwrap();
        }
        let total = dry.mutating_ops() - start;
        drop(store);
        for point in 0..=total {
            let sim = SimStorage::new();
            let (store, b) = setup(&sim);
            sim.freeze_after(point);
            let mut deleted = Vec::new();
            for k in 0..6 {
                match store.delete(b, &key(k)) {
                    Ok(()) => deleted.push(k),
                    Err(_) => break,
                }
            }
            drop(store);
            sim.crash(CrashMode::Random(seed * 7919 + point));
            let store = sim_builder(&sim).open().unwrap_or_else(|e| panic!("seed {seed} point {point}: {e}"));
            let versions =
                store.list(b, &ListOptions { versions: true, ..Default::default() }).unwrap().entries;
            for k in 0..6 {
                let n = versions.iter().filter(|e| e.key == key(k)).count();
                assert!(n == 0 || n == 3, "seed {seed} point {point}: k{k} has {n} of 3 versions");
                if deleted.contains(&k) {
                    assert_eq!(n, 0, "seed {seed} point {point}: acknowledged delete of k{k} undone");
                }
            }
            points += 1;
        }
    }
    println!("atomic multi-record crash points checked: {points}");
}

/// Puts whose chunks span several 256 KiB pieces (each written by its own call) crash at every write
/// and sync point: after a strict reopen each object is whole (and acknowledged ones are there) or
/// absent, never a mix of pieces.
#[test]
fn multi_piece_chunks_survive_a_crash_at_every_point() {
    let config = |sim: &SimStorage| {
        sim_builder(sim).partitions(1).segment_bytes(4 << 20).inline_bytes(1024).chunk_bytes(1100 * 1024)
    };
    // 1100 KiB chunks, past the size up to which a group is copied into one write: each is written
    // piece by piece (4 x 256 KiB + 76 KiB). The first object also has a short last chunk.
    let objects =
        [("first", body(1, 1300 * 1024)), ("second", body(2, 1100 * 1024)), ("third", body(3, 300))];
    let run = |sim: &SimStorage, freeze: Option<u64>| -> (usize, u64) {
        let store = config(sim).open().unwrap();
        let b = store.create_bucket("b").unwrap();
        let start = sim.mutating_ops();
        if let Some(k) = freeze {
            sim.freeze_after(k);
        }
        let acked = objects
            .iter()
            .take_while(|(k, v)| store.put_bytes(b, k, v, &PutOptions::default()).is_ok())
            .count();
        (acked, sim.mutating_ops() - start)
    };
    let (_, total) = run(&SimStorage::new(), None);
    let mut points = 0;
    for point in 0..=total {
        let sim = SimStorage::new();
        let (acked, _) = run(&sim, Some(point));
        sim.crash(CrashMode::Random(point * 31 + 7));
        let store = config(&sim).open().unwrap_or_else(|e| panic!("point {point}: reopen failed: {e}"));
        let b = store.bucket("b").unwrap().id;
        for (i, (key, v)) in objects.iter().enumerate() {
            match read(&store, b, key) {
                Ok(got) => assert!(got == *v, "point {point}: {key} is not what was written"),
                Err(Error::NoSuchKey { .. }) => assert!(i >= acked, "point {point}: acknowledged {key} lost"),
                Err(e) => panic!("point {point}: reading {key}: {e}"),
            }
        }
        points += 1;
    }
    println!("multi-piece chunk crash points checked: {points}");
    assert!(points >= 20, "only {points} crash points");
}
