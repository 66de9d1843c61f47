//! Faults in sequences, as real machines produce them: a process kill keeps the page cache (unsynced
//! bytes stay readable, and unsynced), a power loss drops it, and they follow each other: kill →
//! restart → more work → power loss; a kill during recovery; a power loss at every write point of a
//! recovery. After each sequence every acknowledged write, catalog edits included, must be there.
//! `cargo test --test fault_sequences -- --nocapture` prints how many sequences were checked.

mod common;

use common::{body, read, sim_builder};
use s3lite::io::{CrashMode, OpKind, SimStorage};
use s3lite::{Error, PutOptions, Store};

/// The reviewer's scenario: a bucket's catalog record is written but its sync never returns, the
/// process is killed, the restarted store shows the bucket (its bytes are in the page cache), an
/// `Immediate` put into it on another partition is acknowledged, and then the power fails. The
/// bucket, and with it the acknowledged object, must survive: recovery has to make durable what it
/// accepted before the store answers anything.
#[test]
fn a_bucket_seen_after_a_kill_survives_a_later_power_loss() {
    // Without zero-fill ahead the active segment ends at its last marker, so recovery has no tail to
    // cut (a cut syncs the file as a side effect) and must sync on its own.
    for preallocate in [0, 1 << 20] {
        bucket_survives(preallocate);
    }
}

fn bucket_survives(preallocate: u64) {
    let sim = SimStorage::new();
    let builder = || sim_builder(&sim).preallocate_bytes(preallocate);
    let store = builder().open().unwrap();
    sim.fail_nth(OpKind::Sync, 1);
    assert!(store.create_bucket("photos").is_err(), "the catalog record's sync fails");
    drop(store);
    sim.kill();
    let store = builder().open().unwrap();
    let b = store.bucket("photos").expect("the bucket's record is in the page cache").id;
    // A key that is not on partition 0, where catalog records live.
    let key =
        (0..).map(|i| format!("k{i}")).find(|k| s3lite::route(b.0, k.as_bytes(), u32::MAX, 4) != 0).unwrap();
    store.put_bytes(b, &key, &body(7, 100), &PutOptions::default()).unwrap();
    drop(store);
    sim.crash(CrashMode::DropUnsynced);
    let store = builder().open().unwrap();
    let b = store.bucket("photos").expect("the bucket the acknowledged put went into").id;
    assert_eq!(read(&store, b, &key).unwrap(), body(7, 100));
}

#[test]
fn nothing_unsynced_is_left_once_recovery_has_run() {
    let sim = SimStorage::new();
    let store = sim_builder(&sim).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    store
        .put_bytes(
            b,
            "eventual",
            &body(1, 3000),
            &PutOptions {
                durability: Some(s3lite::Durability::Eventual { flush_interval_ms: 60_000 }),
                ..Default::default()
            },
        )
        .unwrap();
    sim.fail_nth(OpKind::Sync, 1);
    assert!(matches!(store.put_bytes(b, "x", b"x", &PutOptions::default()), Err(Error::Io { .. })));
    drop(store);
    sim.kill();
    assert!(sim.unsynced_bytes() > 0);
    let store = sim_builder(&sim).open().unwrap();
    assert_eq!(sim.unsynced_bytes(), 0, "recovery made durable everything it accepted");
    drop(store);
}

// ----- sequences of faults over a workload with catalog operations ---------------------------------

use std::collections::{BTreeMap, BTreeSet};

use s3lite::s3::types::{
    BucketVersioningStatus, GetObjectAclRequest, Grantee, Group, ObjectOwnership,
    PublicAccessBlockConfiguration, PutObjectAclRequest,
};
use s3lite::{Credentials, Durability, StorageClass, StoreBuilder, VersioningState};

const KEYS: u8 = 8;
const CLASSES: [StorageClass; 3] = [StorageClass::Standard, StorageClass::StandardIa, StorageClass::Glacier];
const LENGTHS: [usize; 5] = [0, 40, 1500, 5000, 9000];

#[derive(Debug, Clone)]
enum Op {
    Put {
        bucket: usize,
        key: u8,
        len: usize,
        class: StorageClass,
    },
    Delete {
        bucket: usize,
        key: u8,
    },
    CreateScratch(u32),
    DeleteScratch(u32),
    Versioning {
        bucket: usize,
        enabled: bool,
    },
    CreateAccount(u32),
    CreateAccessKey(u32),
    /// Block Public Access of a bucket put (all four on) or deleted.
    BlockPublicAccess {
        bucket: usize,
        on: bool,
    },
    /// Object Ownership `ObjectWriter` (ACLs enabled) or `BucketOwnerEnforced`.
    Ownership {
        bucket: usize,
        acls: bool,
    },
    /// PutObjectAcl public-read on a key (refused, and nothing changes, while ACLs are disabled,
    /// Block Public Access is on, or the key has no object).
    PublicRead {
        bucket: usize,
        key: u8,
    },
    /// A compaction that takes every segment with a dead byte (active ones sealed first).
    Compact,
    /// A checkpoint of every partition (the next restart starts from it).
    Checkpoint,
}

/// What the store must show: acknowledged objects, buckets, versioning states, accounts and keys.
#[derive(Debug, Clone, Default, PartialEq)]
struct Model {
    objects: BTreeMap<(usize, u8), Vec<u8>>,
    scratch: BTreeSet<u32>,
    versioning: [Option<bool>; 2],
    accounts: BTreeSet<u32>,
    keys: Vec<Credentials>,
    /// Buckets whose Block Public Access was deleted (new buckets have it on).
    bpa_off: [bool; 2],
    /// Buckets with ACLs enabled (ObjectWriter; new buckets are BucketOwnerEnforced).
    acls: [bool; 2],
    /// Objects whose current version was made public-read by PutObjectAcl.
    public: BTreeSet<(usize, u8)>,
}

fn value_of(seed: u64, i: usize, len: usize) -> Vec<u8> {
    body(seed * 100_000 + i as u64, len)
}

fn workload(seed: u64, n: usize) -> Vec<Op> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut scratch = Vec::new();
    let mut accounts = 0u32;
    (0..n)
        .map(|_| match rng.random_range(0..20) {
            0 => {
                let id = rng.random_range(0..1000);
                scratch.push(id);
                Op::CreateScratch(id)
            }
            1 if !scratch.is_empty() => Op::DeleteScratch(scratch.remove(rng.random_range(0..scratch.len()))),
            2 => Op::Versioning { bucket: rng.random_range(0..2), enabled: rng.random_bool(0.5) },
            3 => {
                accounts += 1;
                Op::CreateAccount(accounts)
            }
            4 if accounts > 0 => Op::CreateAccessKey(rng.random_range(1..=accounts)),
            10 => Op::BlockPublicAccess { bucket: rng.random_range(0..2), on: rng.random_bool(0.3) },
            11 => Op::Ownership { bucket: rng.random_range(0..2), acls: rng.random_bool(0.7) },
            12 => Op::PublicRead { bucket: rng.random_range(0..2), key: rng.random_range(0..KEYS) },
            8 => Op::Compact,
            9 => Op::Checkpoint,
            5..=7 => Op::Delete { bucket: rng.random_range(0..2), key: rng.random_range(0..KEYS) },
            _ => Op::Put {
                bucket: rng.random_range(0..2),
                key: rng.random_range(0..KEYS),
                len: LENGTHS[rng.random_range(0..LENGTHS.len())],
                class: CLASSES[rng.random_range(0..CLASSES.len())],
            },
        })
        .collect()
}

fn bucket_name(i: usize) -> String {
    format!("b{i}")
}

fn key_name(k: u8) -> String {
    format!("key-{k}")
}

/// Runs one operation; on success returns the model after it.
fn apply(store: &Store, model: &Model, op: &Op, value: &[u8]) -> s3lite::Result<Model> {
    let mut m = model.clone();
    let bucket = |i: usize| store.bucket(&bucket_name(i)).map(|b| b.id);
    match op {
        Op::Put { bucket: b, key, class, .. } => {
            let opts = PutOptions { storage_class: *class, ..Default::default() };
            store.put_bytes(bucket(*b)?, &key_name(*key), value, &opts)?;
            m.objects.insert((*b, *key), value.to_vec());
            m.public.remove(&(*b, *key));
        }
        Op::Delete { bucket: b, key } => {
            store.delete(bucket(*b)?, &key_name(*key))?;
            m.objects.remove(&(*b, *key));
            m.public.remove(&(*b, *key));
        }
        Op::BlockPublicAccess { bucket: b, on } => {
            let s3 = store.s3();
            if *on {
                s3.put_public_access_block(&bucket_name(*b), PublicAccessBlockConfiguration::all())?;
            } else {
                s3.delete_public_access_block(&bucket_name(*b))?;
            }
            m.bpa_off[*b] = !*on;
        }
        Op::Ownership { bucket: b, acls } => {
            let o = if *acls { ObjectOwnership::ObjectWriter } else { ObjectOwnership::BucketOwnerEnforced };
            store.s3().put_bucket_ownership_controls(&bucket_name(*b), o)?;
            m.acls[*b] = *acls;
        }
        Op::PublicRead { bucket: b, key } => {
            let req = PutObjectAclRequest {
                bucket: bucket_name(*b),
                key: key_name(*key),
                acl: Some("public-read".into()),
                ..Default::default()
            };
            match store.s3().put_object_acl(req) {
                Ok(()) => drop(m.public.insert((*b, *key))),
                // S3's refusals: nothing changed.
                Err(
                    Error::AccessControlListNotSupported { .. }
                    | Error::AccessDenied { .. }
                    | Error::NoSuchKey { .. },
                ) => {}
                Err(e) => return Err(e),
            }
        }
        Op::CreateScratch(id) => match store.create_bucket(&format!("scratch-{id}")) {
            Ok(_) | Err(Error::BucketAlreadyExists { .. }) => {
                m.scratch.insert(*id);
            }
            Err(e) => return Err(e),
        },
        Op::DeleteScratch(id) => match store.delete_bucket(&format!("scratch-{id}")) {
            Ok(()) | Err(Error::NoSuchBucket { .. }) => {
                m.scratch.remove(id);
            }
            Err(e) => return Err(e),
        },
        Op::Versioning { bucket: b, enabled } => {
            let status =
                if *enabled { BucketVersioningStatus::Enabled } else { BucketVersioningStatus::Suspended };
            store.s3().put_bucket_versioning(&bucket_name(*b), status)?;
            m.versioning[*b] = Some(*enabled);
        }
        Op::CreateAccount(n) => {
            store.create_account(&format!("account-{n}"))?;
            m.accounts.insert(*n);
        }
        Op::CreateAccessKey(n) => {
            let name = format!("account-{n}");
            let Some(account) = store.accounts().into_iter().find(|a| a.display_name == name) else {
                return Ok(m); // its creation was the write in flight of an earlier phase, and lost
            };
            m.keys.push(store.create_access_key(&account)?);
        }
        Op::Compact => {
            store.compact_with(&s3lite::CompactionPolicy::everything())?;
        }
        Op::Checkpoint => {
            store.checkpoint()?;
        }
    }
    Ok(m)
}

/// Runs `ops` until one fails; returns the acknowledged model and the operation in flight with the
/// model it would have made.
fn run(store: &Store, model: Model, ops: &[Op], seed: u64, first: usize) -> (Model, Option<Model>) {
    let mut model = model;
    for (i, op) in ops.iter().enumerate() {
        let value = match op {
            Op::Put { len, .. } => value_of(seed, first + i, *len),
            _ => Vec::new(),
        };
        match apply(store, &model, op, &value) {
            Ok(m) => model = m,
            Err(_) => {
                let mut would = model.clone();
                match op {
                    Op::Put { bucket, key, .. } => {
                        would.objects.insert((*bucket, *key), value);
                        would.public.remove(&(*bucket, *key));
                    }
                    Op::Delete { bucket, key } => {
                        would.objects.remove(&(*bucket, *key));
                        would.public.remove(&(*bucket, *key));
                    }
                    Op::CreateScratch(id) => drop(would.scratch.insert(*id)),
                    Op::DeleteScratch(id) => drop(would.scratch.remove(id)),
                    Op::Versioning { bucket, enabled } => would.versioning[*bucket] = Some(*enabled),
                    Op::CreateAccount(n) => drop(would.accounts.insert(*n)),
                    Op::BlockPublicAccess { bucket, on } => would.bpa_off[*bucket] = !*on,
                    Op::Ownership { bucket, acls } => would.acls[*bucket] = *acls,
                    Op::PublicRead { bucket, key } => drop(would.public.insert((*bucket, *key))),
                    Op::CreateAccessKey(_) | Op::Compact | Op::Checkpoint => {}
                }
                return (model, Some(would));
            }
        }
    }
    (model, None)
}

/// Where the store differs from the model, if it does.
fn differs(store: &Store, m: &Model) -> Option<String> {
    let mut want: BTreeSet<String> = (0..2).map(bucket_name).collect();
    want.extend(m.scratch.iter().map(|id| format!("scratch-{id}")));
    let have: BTreeSet<String> = match store.list_buckets() {
        Ok(b) => b.into_iter().map(|b| b.name).collect(),
        Err(e) => return Some(format!("list_buckets: {e}")),
    };
    if have != want {
        return Some(format!("buckets {have:?}, want {want:?}"));
    }
    for (i, v) in m.versioning.iter().enumerate() {
        let want = match v {
            None => VersioningState::Unversioned,
            Some(true) => VersioningState::Enabled,
            Some(false) => VersioningState::Suspended,
        };
        let have = store.bucket(&bucket_name(i)).map(|b| b.versioning);
        if have.as_ref().ok() != Some(&want) {
            return Some(format!("versioning of b{i}: {have:?}, want {want:?}"));
        }
    }
    let accounts: BTreeSet<String> =
        store.accounts().into_iter().map(|a| a.display_name).filter(|n| n != "owner").collect();
    let want: BTreeSet<String> = m.accounts.iter().map(|n| format!("account-{n}")).collect();
    if accounts != want {
        return Some(format!("accounts {accounts:?}, want {want:?}"));
    }
    for b in 0..2 {
        let s3 = store.s3();
        let bpa = s3.get_public_access_block(&bucket_name(b)).ok();
        if bpa.is_some() == m.bpa_off[b] {
            return Some(format!("b{b}: Block Public Access {bpa:?}, want it off: {}", m.bpa_off[b]));
        }
        let acls =
            s3.get_bucket_ownership_controls(&bucket_name(b)).ok() == Some(ObjectOwnership::ObjectWriter);
        if acls != m.acls[b] {
            return Some(format!("b{b}: ACLs enabled {acls}, want {}", m.acls[b]));
        }
        for k in 0..KEYS {
            if !m.objects.contains_key(&(b, k)) {
                continue;
            }
            let req = GetObjectAclRequest { bucket: bucket_name(b), key: key_name(k), ..Default::default() };
            let public = match s3.get_object_acl(req) {
                Ok(acl) => acl.grants.iter().any(|g| g.grantee == Grantee::Group(Group::AllUsers)),
                Err(e) => return Some(format!("b{b}/{}: get_object_acl: {e}", key_name(k))),
            };
            let want = m.public.contains(&(b, k)) && m.acls[b];
            if public != want {
                return Some(format!("b{b}/{}: public-read {public}, want {want}", key_name(k)));
            }
        }
    }
    for c in &m.keys {
        if let Err(e) = store.authenticate(c) {
            return Some(format!("access key {} lost: {e}", c.access_key_id));
        }
    }
    for b in 0..2 {
        let id = store.bucket(&bucket_name(b)).ok()?.id;
        for k in 0..KEYS {
            let got = match read(store, id, &key_name(k)) {
                Ok(v) => Some(v),
                Err(Error::NoSuchKey { .. }) => None,
                Err(e) => return Some(format!("b{b}/{}: {e}", key_name(k))),
            };
            if got.as_ref() != m.objects.get(&(b, k)) {
                return Some(format!(
                    "b{b}/{}: {:?} bytes, want {:?}",
                    key_name(k),
                    got.map(|v| v.len()),
                    m.objects.get(&(b, k)).map(Vec::len)
                ));
            }
        }
    }
    None
}

/// The store shows `before`, or `after` (the write in flight took effect); returns which.
fn shows_one_of(store: &Store, before: &Model, after: Option<&Model>, ctx: &str) -> Model {
    match (differs(store, before), after) {
        (None, _) => before.clone(),
        (Some(d), None) => panic!("{ctx}: {d}"),
        (Some(d), Some(after)) => match differs(store, after) {
            None => after.clone(),
            Some(d2) => panic!("{ctx}: neither before the write in flight ({d}) nor after it ({d2})"),
        },
    }
}

type Config = fn(StoreBuilder) -> StoreBuilder;

/// The master keys of the sealed configuration: the same across every reopen of the process.
static MASTER_KEYS: std::sync::LazyLock<std::sync::Arc<s3lite::crypto::MasterKeys>> =
    std::sync::LazyLock::new(|| std::sync::Arc::new(s3lite::crypto::MasterKeys::generate()));

fn configs() -> [(&'static str, Config); 4] {
    [
        ("immediate", |b| b),
        // Every object sealed (SSE-S3 by default) and crypto-shredded: a put also writes and syncs
        // a key slot, a delete erases one; the open sweeps slots no version owns.
        ("sealed, shredded", |b| b.key_provider(MASTER_KEYS.clone()).crypto_shred(true)),
        // Without zero-fill ahead (as in-memory stores run) an active segment ends at its last marker,
        // so recovery has no tail to cut, and a cut's sync cannot stand in for the one recovery owes.
        ("paranoid", |b| b.durability(Durability::Paranoid).preallocate_bytes(0)),
        // A long interval: the flusher never runs inside a test, so only syncs the engine owes run.
        ("eventual", |b| {
            b.durability(Durability::Eventual { flush_interval_ms: 3_600_000 }).preallocate_bytes(0)
        }),
    ]
}

fn open(sim: &SimStorage, config: Config) -> s3lite::Result<Store> {
    config(sim_builder(sim)).open()
}

/// Work after a restart: a new bucket, a put on every partition, a catalog edit, all acknowledged.
fn more_work(store: &Store, model: Model, seed: u64) -> Model {
    let mut ops = vec![Op::CreateScratch(5000), Op::CreateAccount(900)];
    for key in 0..KEYS {
        ops.push(Op::Put { bucket: (key % 2) as usize, key, len: 700, class: StorageClass::Standard });
    }
    let (model, failed) = run(store, model, &ops, seed + 7, 50_000);
    assert!(failed.is_none(), "work after a restart failed");
    model
}

struct Counts {
    points: u64,
    sequences: u64,
}

/// One workload, stopped at every write point of its first phase by a power loss (checked) and by a
/// process kill; then, for each point: restart, check, more work, power loss, check; and for some
/// points a kill and a power loss at every write point of the recovery itself.
fn sequences_for(seed: u64, n: usize, name: &str, config: Config, counts: &mut Counts) {
    let ops = workload(seed, n);
    let durable_before_sync = name != "eventual";
    let setup = |sim: &SimStorage| -> Store {
        let store = open(sim, config).unwrap();
        store.create_bucket("b0").unwrap();
        store.create_bucket("b1").unwrap();
        store.sync().unwrap();
        store
    };
    let total = {
        let sim = SimStorage::new();
        let store = setup(&sim);
        let start = sim.mutating_ops();
        let (_, failed) = run(&store, Model::default(), &ops, seed, 0);
        assert!(failed.is_none(), "seed {seed}: the workload fails without faults");
        sim.mutating_ops() - start
    };
    for k in 0..=total {
        let ctx = format!("{name} seed {seed} kill at point {k}/{total}");
        let sim = SimStorage::new();
        let store = setup(&sim);
        sim.freeze_after(k);
        let (acked, in_flight) = run(&store, Model::default(), &ops, seed, 0);
        drop(store);
        if durable_before_sync {
            // The same point as a power loss straight away: everything acknowledged is there.
            let lost = sim.fork();
            lost.crash(CrashMode::Random(seed.wrapping_mul(31) ^ k));
            let store = open(&lost, config).unwrap_or_else(|e| panic!("{ctx}: open after power loss: {e}"));
            shows_one_of(&store, &acked, in_flight.as_ref(), &format!("{ctx}, as a power loss"));
            counts.points += 1;
        }
        sim.kill();
        counts.points += 1;
        // After a kill every acknowledged write is there in every mode: the page cache survived.
        let after_kill = sim.fork();
        let store = open(&sim, config).unwrap_or_else(|e| panic!("{ctx}: restart failed: {e}"));
        let shown = shows_one_of(&store, &acked, in_flight.as_ref(), &format!("{ctx}, after restart"));
        let model = more_work(&store, shown, seed);
        if !durable_before_sync {
            store.sync().unwrap();
        }
        drop(store);
        sim.crash(CrashMode::Random(seed.wrapping_mul(7919) ^ k));
        let store = open(&sim, config).unwrap_or_else(|e| panic!("{ctx}: open after power loss: {e}"));
        // What the restarted store showed, and everything acknowledged since, survives the power loss.
        if let Some(d) = differs(&store, &model) {
            panic!("{ctx}, then work, then power loss: {d}");
        }
        drop(store);
        counts.sequences += 1;
        if k % 8 == 0 {
            recovery_faults(
                &after_kill,
                config,
                &acked,
                in_flight.as_ref(),
                durable_before_sync,
                &ctx,
                counts,
            );
        }
    }
}

/// From a killed store: a kill during its recovery, then a restart; and a power loss at every write
/// point of its recovery, then a restart.
fn recovery_faults(
    killed: &SimStorage,
    config: Config,
    acked: &Model,
    in_flight: Option<&Model>,
    durable_before_sync: bool,
    ctx: &str,
    counts: &mut Counts,
) {
    let probe = killed.fork();
    let start = probe.mutating_ops();
    let store = open(&probe, config).unwrap();
    // The write points of the open itself (its drop writes checkpoints, which are no recovery).
    let recovery_ops = probe.mutating_ops() - start;
    drop(store);
    for j in 0..recovery_ops {
        for power_loss in [false, true] {
            let sim = killed.fork();
            sim.freeze_after(j);
            assert!(open(&sim, config).is_err(), "{ctx}: recovery did not reach write point {j}");
            if power_loss {
                sim.crash(CrashMode::Random(j * 31 + 1));
            } else {
                sim.kill();
            }
            let what = if power_loss { "power loss" } else { "kill" };
            let store = open(&sim, config)
                .unwrap_or_else(|e| panic!("{ctx}, {what} at recovery point {j}: reopen failed: {e}"));
            if durable_before_sync || !power_loss {
                shows_one_of(&store, acked, in_flight, &format!("{ctx}, {what} at recovery point {j}"));
            }
            counts.sequences += 1;
        }
    }
}

#[test]
fn fault_sequences_at_every_point_with_catalog_operations_classes_and_durability_modes() {
    let mut counts = Counts { points: 0, sequences: 0 };
    for (name, config) in configs() {
        for seed in 0..2 {
            sequences_for(seed, 30, name, config, &mut counts);
        }
    }
    println!("crash points checked: {}", counts.points);
    println!("fault sequences checked: {}", counts.sequences);
    assert!(counts.sequences > 1000, "only {} sequences", counts.sequences);
}

#[test]
#[ignore = "long run: cargo test --release --test fault_sequences -- --ignored"]
fn fault_sequences_long() {
    let mut counts = Counts { points: 0, sequences: 0 };
    for (name, config) in configs() {
        for seed in 100..140 {
            sequences_for(seed, 60, name, config, &mut counts);
        }
    }
    println!("crash points checked: {}", counts.points);
    println!("fault sequences checked: {}", counts.sequences);
}
