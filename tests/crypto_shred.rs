//! Crypto-shred (`StoreBuilder::crypto_shred`): a deleted version's bytes cannot be decrypted from
//! the store's files, with the master keys in hand, even before compaction reclaims them; every
//! kind of removal erases the key slot; a crash at every write point leaves every acknowledged
//! version readable and no slot owned by a version that is gone.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{body, read, sim_builder, small};
use s3lite::crypto::chunks::BodyCipher;
use s3lite::crypto::{Dek, Envelope, KeyProvider, MasterKeys, body_aad, wrap_aad};
use s3lite::format::meta::ObjectMeta;
use s3lite::format::record::{RecordKind, decode_record};
use s3lite::format::segment_header::SegmentHeader;
use s3lite::io::{CrashMode, OpenMode, SimStorage, Storage};
use s3lite::segment::scan::{SegmentState, scan_segment};
use s3lite::{Error, GetOptions, NewVersion, PutOptions, Store, StoreBuilder};

const SLOT_BYTES: usize = 80;

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out
}

/// What an attacker holding the master keys and a copy of every file can make of `key`'s newest
/// commit record still in a segment: the first cipher chunk opened with the data key rebuilt from
/// the envelope and the key slot file (`Some(plaintext)`), or `None` when it does not open.
/// `use_slot: false` tries the envelope's half alone.
fn attack(dir: &Path, keys: &MasterKeys, key: &str, use_slot: bool) -> Option<Vec<u8>> {
    let mut commit = None;
    let mut chunks = BTreeMap::new();
    let mut uuid = [0u8; 16];
    for f in files_under(dir) {
        let bytes = std::fs::read(&f).unwrap();
        let Ok(h) = SegmentHeader::decode(&bytes) else { continue };
        uuid = h.store_uuid;
        for r in scan_segment(&bytes, SegmentState::Active, true).records {
            if r.key != key.as_bytes() {
                continue;
            }
            let rec = &bytes[r.offset as usize..(r.offset + r.header.record_len()) as usize];
            let view = decode_record(rec).unwrap();
            match r.header.kind {
                RecordKind::ObjectCommit => {
                    let meta = ObjectMeta::decode(view.meta).unwrap();
                    commit = Some((r.header.bucket_id, r.header.version_id, meta));
                }
                RecordKind::Chunk => {
                    chunks.insert((r.header.version_id, r.header.chunk_index), view.body.to_vec());
                }
                _ => {}
            }
        }
    }
    let (bucket, version, meta) = commit.expect("the commit record is still in the files");
    let env = Envelope::decode(meta.envelope.as_ref().expect("sealed")).unwrap();
    let token = meta.chunk_token.expect("chunk token");
    let first = chunks.get(&(token, 0)).expect("the first chunk record is still in the files");
    let aad = body_aad(&uuid, bucket, key.as_bytes(), &version, env.chunk_bytes() as u32);
    let half = keys.unwrap(
        env.key_id,
        &env.wrapped,
        &wrap_aad(&aad, env.plaintext_len, &env.nonce_prefix, env.mode),
    );
    let half = half.expect("the master key opens the envelope's half");
    let mut dek = *half.bytes();
    if use_slot {
        let slot = meta.key_slot.expect("a shredded store's version names its key slot").0 as usize;
        let slots = std::fs::read(dir.join("KEYSLOTS")).unwrap();
        for (d, s) in dek.iter_mut().zip(&slots[slot * SLOT_BYTES..slot * SLOT_BYTES + 32]) {
            *d ^= s;
        }
    }
    let cipher = BodyCipher::new(&Dek::from_bytes(dek), env.nonce_prefix, aad, env.chunk_bytes());
    let sealed = &first[..(env.chunk_bytes() + 16).min(first.len())];
    let mut out = Vec::new();
    let last = env.plaintext_len <= env.chunk_bytes() as u64;
    cipher.open_chunk(0, last, sealed, &mut out).ok().map(|()| out)
}

fn shredding(builder: StoreBuilder, keys: &Arc<MasterKeys>) -> StoreBuilder {
    builder.key_provider(keys.clone()).crypto_shred(true)
}

#[test]
fn a_deleted_versions_bytes_cannot_be_decrypted_from_the_files_even_before_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MasterKeys::generate());
    let store = shredding(small(Store::builder(dir.path())), &keys).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let (kept, gone) = (body(1, 150_000), body(2, 150_000));
    store.put_bytes(b, "kept", &kept, &PutOptions::default()).unwrap();
    store.put_bytes(b, "gone", &gone, &PutOptions::default()).unwrap();
    // Before the delete the attack works on both (so it is a real attack), and the envelope's half
    // alone opens neither: the slot is needed.
    assert_eq!(attack(dir.path(), &keys, "gone", true).as_deref(), Some(&gone[..65_536]));
    assert_eq!(attack(dir.path(), &keys, "kept", false), None);
    store.delete(b, "gone").unwrap();
    // The records are all still there (no compaction ran), and the master key still opens the
    // envelope; but the slot is zeros, and no choice of it is left in any file.
    assert_eq!(attack(dir.path(), &keys, "gone", true), None, "a deleted version decrypts from the files");
    assert_eq!(attack(dir.path(), &keys, "gone", false), None);
    assert_eq!(attack(dir.path(), &keys, "kept", true).as_deref(), Some(&kept[..65_536]));
    assert_eq!(read(&store, b, "kept").unwrap(), kept);
    drop(store);
    // So after a reopen too; the store reads on.
    let store = shredding(small(Store::builder(dir.path())), &keys).open().unwrap();
    assert_eq!(attack(dir.path(), &keys, "gone", true), None);
    assert_eq!(read(&store, b, "kept").unwrap(), kept);
}

/// Owned slots in the key slot file.
fn owned_slots(storage: &dyn Storage, root: &Path) -> usize {
    let file = storage.open(&root.join("KEYSLOTS"), OpenMode::ReadOnly).unwrap();
    let bytes = s3lite::io::read_all(&*file).unwrap();
    bytes.chunks_exact(SLOT_BYTES).filter(|s| s.iter().any(|&x| x != 0)).count()
}

#[test]
fn every_removal_erases_the_slot_and_only_live_versions_own_one() {
    let sim = SimStorage::new();
    let keys = Arc::new(MasterKeys::generate());
    let store = shredding(sim_builder(&sim), &keys).open().unwrap();
    let root = Path::new("/db");
    let b = store.create_bucket("b").unwrap();
    let versioned = PutOptions { version: NewVersion::Unique, ..PutOptions::default() };
    let v1 = store.put_bytes(b, "v", &body(1, 3000), &versioned).unwrap().version_id;
    let v2 = store.put_bytes(b, "v", &body(2, 3000), &versioned).unwrap().version_id;
    store.put_bytes(b, "null", &body(3, 3000), &PutOptions::default()).unwrap();
    store.put_bytes(b, "plain-delete", &body(4, 3000), &PutOptions::default()).unwrap();
    assert_eq!(owned_slots(&sim, root), 4);
    // A `null` version replaced by another: the old one's slot goes, the new one has its own.
    store.put_bytes(b, "null", &body(5, 3000), &PutOptions::default()).unwrap();
    assert_eq!(owned_slots(&sim, root), 4);
    // A noncurrent version deleted by id; a key deleted.
    store.delete_version(b, "v", v1, None).unwrap();
    store.delete(b, "plain-delete").unwrap();
    assert_eq!(owned_slots(&sim, root), 2);
    // A failed conditional put leaves no slot behind.
    let cond = PutOptions { condition: Some(s3lite::WriteCondition::IfAbsent), ..PutOptions::default() };
    assert!(matches!(store.put_bytes(b, "null", b"x", &cond), Err(Error::PreconditionFailed { .. })));
    assert_eq!(owned_slots(&sim, root), 2);
    let (_, mut r) = store.get(b, "v", &GetOptions { version: Some(v2), ..GetOptions::default() }).unwrap();
    assert_eq!(r.read_to_vec().unwrap(), body(2, 3000));
    assert_eq!(read(&store, b, "null").unwrap(), body(5, 3000));
    // Erased slots are reused.
    for i in 0..3 {
        store.put_bytes(b, &format!("new-{i}"), &body(10 + i, 100), &PutOptions::default()).unwrap();
    }
    assert_eq!(owned_slots(&sim, root), 5);
    let file_len = sim.open(&root.join("KEYSLOTS"), OpenMode::ReadOnly).unwrap().len().unwrap();
    assert!(file_len < 64 * 1024, "slots are reused, not appended ({file_len} bytes)");
}

#[test]
fn a_live_versions_damaged_or_erased_slot_is_corruption_and_serves_nothing() {
    let sim = SimStorage::new();
    let keys = Arc::new(MasterKeys::generate());
    let store = shredding(sim_builder(&sim), &keys).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    store.put_bytes(b, "k", &body(1, 100_000), &PutOptions::default()).unwrap();
    // The only slot is slot 0: flip a bit of its secret.
    sim.flip_bit(Path::new("/db/KEYSLOTS"), 3, 1).unwrap();
    match read(&store, b, "k") {
        Err(Error::Corruption { reason, .. }) => assert!(reason.contains("key slot"), "{reason}"),
        other => panic!("a damaged key slot: {:?}", other.map(|v| v.len())),
    }
    drop(store);
    // A reopen does not erase a damaged slot (it is reported), and the version still reads as
    // corruption rather than as gone.
    let store = shredding(sim_builder(&sim), &keys).open().unwrap();
    assert_eq!(store.recovery_report().key_slots_damaged, 1);
    assert!(matches!(read(&store, b, "k"), Err(Error::Corruption { .. })));
}

#[test]
fn a_store_without_crypto_shred_keeps_reading_shredded_versions_and_erasing_their_slots() {
    let sim = SimStorage::new();
    let keys = Arc::new(MasterKeys::generate());
    let store = shredding(sim_builder(&sim), &keys).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    store.put_bytes(b, "a", &body(1, 5000), &PutOptions::default()).unwrap();
    store.put_bytes(b, "b", &body(2, 5000), &PutOptions::default()).unwrap();
    drop(store);
    let store = sim_builder(&sim).key_provider(keys.clone()).open().unwrap();
    assert_eq!(read(&store, b, "a").unwrap(), body(1, 5000));
    store.put_bytes(b, "c", &body(3, 5000), &PutOptions::default()).unwrap();
    store.delete(b, "a").unwrap();
    assert_eq!(owned_slots(&sim, Path::new("/db")), 1, "a's slot erased, c has none");
    assert_eq!(read(&store, b, "b").unwrap(), body(2, 5000));
}

/// One crash point of a put/overwrite/delete workload on a shredding store: after the power loss
/// every acknowledged version reads back and the slot file holds exactly one owned slot per live
/// version (an unacknowledged put's slot and an interrupted erase are swept by the open).
fn shred_crash_point(seed: u64, crash_after: Option<u64>, durability: s3lite::Durability) -> (bool, u64) {
    let sim = SimStorage::new();
    let keys = Arc::new(MasterKeys::generate());
    let builder = |sim: &SimStorage| shredding(sim_builder(sim), &keys).durability(durability);
    let store = builder(&sim).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let start = sim.mutating_ops();
    if let Some(k) = crash_after {
        sim.freeze_after(k);
    }
    let mut acked: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
    let mut in_flight = None;
    let mut rng = seed.wrapping_mul(0x9e37_79b9) | 1;
    for i in 0..40u64 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let key = format!("k{}", rng % 6);
        let new =
            (!rng.is_multiple_of(4)).then(|| body(seed * 100 + i, [10, 3000, 70_000][(rng % 3) as usize]));
        let r = match &new {
            Some(v) => store.put_bytes(b, &key, v, &PutOptions::default()).map(|_| ()),
            None => store
                .delete(b, &key)
                .or_else(|e| if matches!(e, Error::NoSuchKey { .. }) { Ok(()) } else { Err(e) }),
        };
        match r {
            Ok(()) => {
                acked.insert(key, new);
            }
            Err(_) => {
                in_flight = Some((key, new));
                break;
            }
        }
    }
    let used = sim.mutating_ops() - start;
    // Power lost with the store open: a clean close would sync.
    let lost = sim.fork();
    lost.crash(CrashMode::Random(seed ^ crash_after.unwrap_or(u64::MAX)));
    drop(store);
    let ctx = format!("seed {seed} point {crash_after:?}");
    let store = builder(&lost).open().unwrap_or_else(|e| panic!("{ctx}: reopen: {e}"));
    let durable = !matches!(durability, s3lite::Durability::Eventual { .. });
    let mut live = 0;
    for i in 0..6 {
        let key = format!("k{i}");
        let got = match read(&store, b, &key) {
            Ok(v) => Some(v),
            Err(Error::NoSuchKey { .. }) => None,
            Err(e) => panic!("{ctx}: {key}: {e}"),
        };
        live += usize::from(got.is_some());
        let want = acked.get(&key).cloned().flatten();
        let maybe = in_flight.as_ref().filter(|(k, _)| *k == key).map(|(_, v)| v.clone());
        if durable {
            assert!(
                got == want || maybe.is_some_and(|m| m == got),
                "{ctx}: {key} lost its acknowledged state"
            );
        }
    }
    assert_eq!(owned_slots(&lost, Path::new("/db")), live, "{ctx}: slots owned by versions that are gone");
    (in_flight.is_some(), used)
}

#[test]
fn a_crash_at_every_write_point_leaves_acknowledged_versions_readable_and_no_stray_slot() {
    let mut points = 0;
    for (seed, durability) in [
        (1, s3lite::Durability::Immediate),
        (2, s3lite::Durability::Paranoid),
        (3, s3lite::Durability::Eventual { flush_interval_ms: 3_600_000 }),
    ] {
        let (_, total) = shred_crash_point(seed, None, durability);
        for k in 0..=total {
            shred_crash_point(seed, Some(k), durability);
            points += 1;
        }
    }
    println!("{points} crash points of a shredding workload checked");
    assert!(points > 300, "only {points} points");
}
