//! Regressions from the review of issue 16's rotation and crypto-shred (each failed on the commit
//! reviewed, dcfcd4f): a retirement synced before it counted, so an `Eventual` delete applied in
//! between could come back after a power loss wrapped under the retired key; a get racing a delete
//! (and a re-put of the `null` version, which took the freed slot) read the erased or reused key
//! slot as `Corruption`; the open's sweep kept a replaced `null` version's slot when the live
//! version named none.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{body, read, sim_builder};
use s3lite::crypto::{KeyProvider, MasterKeys};
use s3lite::io::{CrashMode, OpenMode, SimStorage, Storage};
use s3lite::{Durability, Encryption, Error, GetOptions, NewVersion, PutOptions, StoreBuilder};

const SLOT_BYTES: usize = 80;

/// Slots of the key slot file that are not all zeros.
fn owned_slots(storage: &dyn Storage) -> usize {
    let file = storage.open(&Path::new("/db").join("KEYSLOTS"), OpenMode::ReadOnly).unwrap();
    let bytes = s3lite::io::read_all(&*file).unwrap();
    bytes.chunks_exact(SLOT_BYTES).filter(|s| s.iter().any(|&x| x != 0)).count()
}

fn sealed() -> PutOptions {
    PutOptions { encryption: Some(Encryption::S3), ..PutOptions::default() }
}

/// Finding 1. A sealed `null` version (with a key slot) replaced by a chunked version that has no
/// slot (a plain put here; a sealed put on a store reopened without `crypto_shred` is the same),
/// with a crash between the new commit's sync and the old slot's erase: the open's sweep sees one
/// slot for a live owner and keeps it ("one slot for a live owner is its version's") without
/// checking that the live commit record names it. The replaced version's key half survives for
/// good: the shred silently never happens, and the slot leaks.
#[test]
fn the_sweep_erases_a_replaced_null_versions_slot_when_the_live_version_names_none() {
    let keys = Arc::new(MasterKeys::generate());
    let builder = |sim: &SimStorage| -> StoreBuilder {
        sim_builder(sim).key_provider(keys.clone()).crypto_shred(true).encrypt_by_default(false)
    };
    let (old, new) = (body(1, 5000), body(2, 5000));
    let run = |freeze: Option<u64>| -> (u64, Option<String>) {
        let sim = SimStorage::new();
        let store = builder(&sim).open().unwrap();
        let b = store.create_bucket("b").unwrap();
        store.put_bytes(b, "k", &old, &sealed()).unwrap();
        assert_eq!(owned_slots(&sim), 1);
        let start = sim.mutating_ops();
        if let Some(n) = freeze {
            sim.freeze_after(n);
        }
        let _ = store.put_bytes(b, "k", &new, &PutOptions::default());
        let used = sim.mutating_ops() - start;
        let lost = sim.fork();
        lost.crash(CrashMode::DropUnsynced);
        drop(store);
        let store = builder(&lost).open().unwrap();
        let b = store.bucket("b").unwrap().id;
        let problem = match read(&store, b, "k") {
            // The plain version is live: no slot may be owned any more.
            Ok(got) if got == new && owned_slots(&lost) != 0 => Some(format!(
                "crash point {freeze:?}: the replaced sealed version's key slot survives the open \
                 ({} owned slot(s), the live version names none)",
                owned_slots(&lost)
            )),
            _ => None,
        };
        (used, problem)
    };
    let (total, clean) = run(None);
    assert_eq!(clean, None);
    let problems: Vec<String> = (0..=total).filter_map(|n| run(Some(n)).1).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Finding 2. A GET that looked a sealed, shredded version up just before a delete reads the key
/// slot after the delete erased it (or after a re-put of the same `null` version took the freed
/// slot): `Corruption` ("key slot ... of a live version holds Free", or a chunk that fails its
/// tag) instead of the object or `NoSuchKey`. The slot is not pinned the way segments are.
#[test]
fn a_get_racing_a_delete_reads_the_object_or_no_such_key() {
    let sim = SimStorage::new();
    let keys = Arc::new(MasterKeys::generate());
    let store = Arc::new(sim_builder(&sim).key_provider(keys.clone()).crypto_shred(true).open().unwrap());
    let b = store.create_bucket("b").unwrap();
    let data = body(7, 3000);
    store.put_bytes(b, "k", &data, &PutOptions::default()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop, data) = (store.clone(), stop.clone(), data.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                store.delete(b, "k").unwrap();
                store.put_bytes(b, "k", &data, &PutOptions::default()).unwrap();
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = None;
    let mut gets = 0u64;
    while Instant::now() < deadline && seen.is_none() {
        gets += 1;
        match store.get(b, "k", &GetOptions::default()).and_then(|(_, mut r)| r.read_to_vec()) {
            Ok(got) => assert_eq!(got, data),
            Err(Error::NoSuchKey { .. }) => {}
            Err(e) => seen = Some(e),
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    if let Some(e) = seen {
        panic!("after {gets} GETs racing delete+put, a GET failed with: {e}");
    }
}

/// Finding 3. `retire_key` syncs every partition's active segments and only then counts the live
/// versions. An `Eventual` delete applied in between is counted as gone but is not durable: the
/// key is retired, a power loss brings the deleted version back, and it can never be read again
/// (the very case DESIGN §7.6 says the sync is there for).
#[test]
fn an_eventual_delete_racing_a_retirement_never_strands_its_version() {
    let sim = SimStorage::new();
    let keys = Arc::new(MasterKeys::generate());
    let builder = |sim: &SimStorage| {
        sim_builder(sim)
            .key_provider(keys.clone())
            .durability(Durability::Eventual { flush_interval_ms: 3_600_000 })
            .checkpoints(s3lite::Checkpoints::OnDemand)
    };
    let store = Arc::new(builder(&sim).open().unwrap());
    let b = store.create_bucket("b").unwrap();
    let last = (store.partition_count() - 1) as u16;
    // Filler in the partitions counted before the last one, so that the count takes a while.
    let immediate = PutOptions { durability: Some(Durability::Immediate), ..PutOptions::default() };
    let mut n = 0;
    let mut i = 0;
    while n < 3000 {
        let key = format!("fill-{i}");
        i += 1;
        if store.partition_of("b", &key).unwrap() == last {
            continue;
        }
        store.put_bytes(b, &key, b"f", &PutOptions::default()).unwrap();
        n += 1;
    }
    store.sync().unwrap();
    keys.rotate().unwrap();
    let victims: Vec<String> = (0..)
        .map(|i| format!("v-{i}"))
        .filter(|k| store.partition_of("b", k).unwrap() == last)
        .take(400)
        .collect();
    // How long a retirement takes here, to spread the delete across it.
    let probe_key = keys.active_key().unwrap();
    keys.rotate().unwrap();
    let t0 = Instant::now();
    store.retire_key(probe_key).unwrap();
    let span = t0.elapsed().as_micros().max(50) as u64;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let hits = AtomicU64::new(0);
    for (t, key) in victims.iter().enumerate() {
        let old = keys.active_key().unwrap();
        store.put_bytes(b, key, &body(t as u64, 5000), &immediate).unwrap();
        keys.rotate().unwrap();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let delay = Duration::from_micros(rng % span);
        let gate = Arc::new(Barrier::new(2));
        let deleter = {
            let (store, gate, key) = (store.clone(), gate.clone(), key.clone());
            std::thread::spawn(move || {
                gate.wait();
                std::thread::sleep(delay);
                store.delete(b, &key).unwrap();
            })
        };
        gate.wait();
        let retired = store.retire_key(old);
        deleter.join().unwrap();
        match retired {
            Ok(_) => {}
            Err(Error::KeyInUse { .. }) => {
                store.retire_key(old).unwrap();
                continue;
            }
            Err(e) => panic!("retire: {e}"),
        }
        if sim.unsynced_bytes() == 0 {
            continue;
        }
        hits.fetch_add(1, Ordering::Relaxed);
        // The key is gone and the delete is not durable: lose power now.
        let lost = sim.fork();
        lost.crash(CrashMode::DropUnsynced);
        let reopened = builder(&lost).open().unwrap();
        let rb = reopened.bucket("b").unwrap().id;
        match read(&reopened, rb, key) {
            Err(Error::NoSuchKey { .. }) => {}
            other => panic!(
                "trial {t}: {key} was deleted (Eventual), its key {old} retired, then power lost: \
                 the version is back and reads as {:?}",
                other.map(|v| v.len())
            ),
        }
    }
    println!("{} retirements left a delete unsynced", hits.load(Ordering::Relaxed));
}

/// Sanity (passes): a truncated, garbage or missing KEYSLOTS file never panics an open or a read;
/// the versions that need it read as `Corruption`.
#[test]
fn a_damaged_key_slot_file_never_panics() {
    for damage in 0..3 {
        let sim = SimStorage::new();
        let keys = Arc::new(MasterKeys::generate());
        let builder = |sim: &SimStorage| sim_builder(sim).key_provider(keys.clone()).crypto_shred(true);
        let store = builder(&sim).open().unwrap();
        let b = store.create_bucket("b").unwrap();
        let versioned = PutOptions { version: NewVersion::Unique, ..PutOptions::default() };
        for i in 0..5 {
            store.put_bytes(b, &format!("k{i}"), &body(i, 3000), &versioned).unwrap();
        }
        drop(store);
        let path = Path::new("/db/KEYSLOTS");
        match damage {
            0 => {
                let f = sim.open(path, OpenMode::ReadWrite).unwrap();
                f.set_len(2 * SLOT_BYTES as u64 + 37).unwrap();
                f.sync_all().unwrap();
            }
            1 => {
                let f = sim.open(path, OpenMode::ReadWrite).unwrap();
                let junk: Vec<u8> =
                    (0..10_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
                f.write_all_at(&junk, 0).unwrap();
                f.sync_all().unwrap();
            }
            _ => sim.remove_file(path).unwrap(),
        }
        let store = builder(&sim).open().unwrap_or_else(|e| panic!("damage {damage}: open: {e}"));
        for i in 0..5 {
            match read(&store, b, &format!("k{i}")) {
                Ok(v) => assert_eq!(v, body(i, 3000)),
                Err(Error::Corruption { .. }) => {}
                Err(e) => panic!("damage {damage}: k{i}: {e}"),
            }
        }
        store.put_bytes(b, "after", &body(9, 3000), &versioned).unwrap();
        assert_eq!(read(&store, b, "after").unwrap(), body(9, 3000));
    }
}
