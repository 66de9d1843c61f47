//! Simulated crashes at every write and sync point of a multipart workload: uploads begun, parts
//! uploaded (one of them again), an upload aborted, a compaction, a completion, a checkpoint, and
//! an upload left open. After each crash (a process kill that keeps the page cache, or a power loss
//! that keeps a seeded choice of unsynced writes) the store reopens in `Strict` mode and: every
//! acknowledged step holds, the step in flight is wholly there or wholly absent, an upload still in
//! progress completes with exactly its parts' bytes, and that completion survives a power loss that
//! follows. The workload runs three times: on a plain store; on a store with master keys, which
//! seals every upload by default (the upload's key in its start record, a salt per part attempt);
//! and with every upload under a customer key (SSE-C, a store without keys: each part and read
//! sends the key, the completion does not); each must give the same guarantees with every upload
//! and object sealed. The two sealed ones run again on a crypto-shredding store, where every
//! reopen must also leave exactly one owned key slot per live sealed object and per upload still
//! open (an ended upload's slot and an unacknowledged completion's are swept; a live one's never).
//! Every third crash is also followed by a kill or power loss at every write point of the
//! recovery itself, and the same checks.

mod common;

use std::sync::Arc;

use common::{body, encrypted, sim_builder};
use s3lite::crypto::{CustomerKey, MasterKeys};
use s3lite::io::{CrashMode, SimStorage};
use s3lite::{
    BucketId, CompactionPolicy, CompleteOptions, Encryption, Error, GetOptions, PartOptions, Store,
    UploadOptions,
};

/// How the workload's uploads are sealed.
#[derive(Clone)]
enum Sealing {
    /// In the clear.
    Plain,
    /// By the store's default, under its master keys.
    Default(Arc<MasterKeys>),
    /// SSE-C: every upload under this customer key.
    Customer(CustomerKey),
    /// As `Default`, on a crypto-shredding store.
    DefaultShredded(Arc<MasterKeys>),
    /// As `Customer`, on a crypto-shredding store (which has master keys: the slot file needs
    /// them).
    CustomerShredded(CustomerKey, Arc<MasterKeys>),
}

impl Sealing {
    fn customer(&self) -> Option<&CustomerKey> {
        match self {
            Sealing::Customer(k) | Sealing::CustomerShredded(k, _) => Some(k),
            _ => None,
        }
    }

    fn shreds(&self) -> bool {
        matches!(self, Sealing::DefaultShredded(_) | Sealing::CustomerShredded(..))
    }
}

/// Owned (non-zero) slots in the store's key slot file.
fn owned_slots(sim: &SimStorage) -> usize {
    use s3lite::io::{OpenMode, Storage};
    let file = sim.open(std::path::Path::new("/db/KEYSLOTS"), OpenMode::ReadOnly).unwrap();
    let bytes = s3lite::io::read_all(&*file).unwrap();
    bytes.chunks_exact(80).filter(|s| s.iter().any(|&x| x != 0)).count()
}

/// Live objects and open uploads: what owns a key slot on a shredding store.
fn slot_owners(store: &Store, b: BucketId, customer: Option<&CustomerKey>) -> usize {
    let uploads = store.list_uploads(b, "", "", None, 100).unwrap().0.len();
    let objects = KEYS.iter().filter(|k| read(store, b, k, customer).is_ok()).count();
    uploads + objects
}

/// `key`'s current object, read with the workload's customer key (if any).
fn read(store: &Store, b: BucketId, key: &str, customer: Option<&CustomerKey>) -> s3lite::Result<Vec<u8>> {
    let opts = GetOptions { customer_key: customer.cloned(), ..GetOptions::default() };
    let (_, mut r) = store.get(b, key, &opts)?;
    r.read_to_vec()
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Create(usize),
    Part(usize, u32, u64, usize),
    Abort(usize),
    Compact,
    Complete(usize, &'static [u32]),
    Checkpoint,
}

const KEYS: [&str; 3] = ["mp", "aborted", "open"];

const STEPS: [Step; 13] = [
    Step::Create(0),
    Step::Part(0, 1, 1, 3000),
    Step::Part(0, 2, 2, 9000),
    Step::Part(0, 1, 3, 5000),
    Step::Create(1),
    Step::Part(1, 1, 4, 7000),
    Step::Abort(1),
    Step::Compact,
    Step::Complete(0, &[1, 2]),
    Step::Create(2),
    Step::Part(2, 1, 5, 2000),
    Step::Checkpoint,
    Step::Part(2, 2, 6, 4500),
];

/// Runs the steps until one fails; returns the upload ids begun and how many steps were acknowledged.
fn run(store: &Store, b: BucketId, customer: Option<&CustomerKey>) -> ([Option<String>; 3], usize) {
    let mut ids: [Option<String>; 3] = [None, None, None];
    let create = UploadOptions {
        encryption: customer.map(|k| Encryption::Customer { key: k.clone() }),
        ..UploadOptions::default()
    };
    let part = PartOptions { customer_key: customer.cloned(), ..PartOptions::default() };
    for (i, step) in STEPS.iter().enumerate() {
        let ok = match *step {
            Step::Create(u) => store.create_upload(b, KEYS[u], &create).map(|s| {
                ids[u] = Some(s.upload_id);
            }),
            Step::Part(u, n, seed, len) => {
                let id = ids[u].clone().expect("created before");
                let bytes = body(seed, len);
                store.upload_part(b, KEYS[u], &id, n, &bytes[..], &part).map(drop)
            }
            Step::Abort(u) => store.abort_upload(b, KEYS[u], ids[u].as_deref().expect("created")),
            Step::Compact => store.compact_with(&CompactionPolicy::everything()).map(drop),
            Step::Complete(u, parts) => store
                .complete_upload(
                    b,
                    KEYS[u],
                    ids[u].as_deref().expect("created"),
                    &parts.iter().map(|&n| (n, None)).collect::<Vec<_>>(),
                    &CompleteOptions::default(),
                )
                .map(drop),
            Step::Checkpoint => store.checkpoint().map(drop),
        };
        if ok.is_err() {
            return (ids, i);
        }
    }
    (ids, STEPS.len())
}

/// The bytes each part of upload `u` may have after `acked` steps (with step `acked` in flight):
/// (part number, the possible bodies; an empty list entry = the part may be absent).
fn possible_parts(u: usize, acked: usize) -> Vec<(u32, Vec<Option<Vec<u8>>>)> {
    let mut parts: Vec<(u32, Vec<Option<Vec<u8>>>)> = Vec::new();
    for (i, step) in STEPS.iter().enumerate().take(acked + 1) {
        if let Step::Part(pu, n, seed, len) = *step
            && pu == u
        {
            let new = Some(body(seed, len));
            let before: Vec<Option<Vec<u8>>> = match parts.iter().find(|(pn, _)| *pn == n) {
                Some((_, b)) => b.clone(),
                None => vec![None],
            };
            let now = if i < acked { vec![new] } else { [before, vec![new]].concat() };
            parts.retain(|(pn, _)| *pn != n);
            parts.push((n, now));
        }
    }
    parts
}

fn step_index(want: fn(&Step) -> bool) -> usize {
    STEPS.iter().position(want).expect("in the workload")
}

fn check(store: &Store, b: BucketId, ids: &[Option<String>; 3], acked: usize, sealing: &Sealing, ctx: &str) {
    let sealed = !matches!(sealing, Sealing::Plain);
    let customer = sealing.customer();
    let listed: Vec<String> =
        store.list_uploads(b, "", "", None, 100).unwrap().0.into_iter().map(|u| u.upload_id).collect();
    let complete_at = step_index(|s| matches!(s, Step::Complete(..)));
    let abort_at = step_index(|s| matches!(s, Step::Abort(..)));
    for u in 0..3 {
        let Some(id) = &ids[u] else { continue };
        let ended_at = match u {
            0 => Some(complete_at),
            1 => Some(abort_at),
            _ => None,
        };
        let open = listed.contains(id);
        if u == 0 {
            // Completion is one commit: the object appears exactly when its upload goes.
            let object = read(store, b, KEYS[0], customer).is_ok();
            assert_eq!(object, !open, "{ctx}: completed object {object}, upload still listed {open}");
        }
        match ended_at {
            Some(at) if acked > at => assert!(!open, "{ctx}: upload {u} ended but is listed"),
            Some(at) if acked < at => assert!(open, "{ctx}: upload {u} lost"),
            Some(_) => {}
            None => assert!(open, "{ctx}: upload {u} lost"),
        }
        if !open {
            continue;
        }
        let details = store.upload(b, KEYS[u], id).unwrap();
        assert_eq!(details.encryption.is_some(), sealed, "{ctx}: upload {u} sealed");
        for (n, bodies) in possible_parts(u, acked) {
            let got = details.parts.iter().find(|p| p.part_number == n);
            let ok = bodies.iter().any(|want| match (want, got) {
                (None, None) => true,
                (Some(w), Some(g)) => g.size == w.len() as u64 && g.md5 == *md5_of(w),
                _ => false,
            });
            assert!(ok, "{ctx}: upload {u} part {n} is {:?}", got.map(|g| g.size));
        }
    }
    // The completed object: there exactly when its completion was acknowledged (or landed in flight).
    match read(store, b, "mp", customer) {
        Ok(got) => {
            assert!(acked >= complete_at, "{ctx}: object before its completion");
            assert!(got == [body(3, 5000), body(2, 9000)].concat(), "{ctx}: completed object differs");
            let info = store.head(b, "mp", None).unwrap();
            assert_eq!(info.encryption.is_some(), sealed, "{ctx}: completed object sealed");
            if customer.is_some() {
                assert_eq!(read(store, b, "mp", None).unwrap_err().code(), "InvalidRequest", "{ctx}");
            }
        }
        Err(Error::NoSuchKey { .. }) => assert!(acked <= complete_at, "{ctx}: completed object lost"),
        Err(e) => panic!("{ctx}: {e}"),
    }
}

fn md5_of(b: &[u8]) -> Box<[u8; 16]> {
    use md5::Digest;
    Box::new(md5::Md5::digest(b).into())
}

/// Completes whatever is still open with its listed parts, and checks the object's bytes.
fn finish_open_uploads(
    store: &Store,
    b: BucketId,
    customer: Option<&CustomerKey>,
    ctx: &str,
) -> Vec<(String, Vec<u8>)> {
    let mut done = Vec::new();
    for u in store.list_uploads(b, "", "", None, 100).unwrap().0 {
        let details = store.upload(b, &u.key, &u.upload_id).unwrap();
        let numbers: Vec<(u32, Option<[u8; 16]>)> =
            details.parts.iter().map(|p| (p.part_number, Some(p.md5))).collect();
        if numbers.is_empty() {
            // Nothing to complete (S3 refuses an empty part list): abort it.
            store.abort_upload(b, &u.key, &u.upload_id).unwrap();
            continue;
        }
        let info =
            store.complete_upload(b, &u.key, &u.upload_id, &numbers, &CompleteOptions::default()).unwrap();
        let got = read(store, b, &u.key, customer).unwrap();
        assert_eq!(got.len() as u64, info.size, "{ctx}: {} size", u.key);
        assert_eq!(got.len() as u64, details.parts.iter().map(|p| p.size).sum::<u64>(), "{ctx}");
        done.push((u.key, got));
    }
    done
}

#[test]
fn multipart_steps_survive_a_crash_at_every_point() {
    crash_at_every_point(&Sealing::Plain);
}

#[test]
fn sealed_multipart_steps_survive_a_crash_at_every_point() {
    crash_at_every_point(&Sealing::Default(Arc::new(MasterKeys::generate())));
}

fn customer_key() -> CustomerKey {
    CustomerKey::from_bytes(std::array::from_fn(|i| i as u8 * 7 + 3))
}

#[test]
fn sse_c_multipart_steps_survive_a_crash_at_every_point() {
    crash_at_every_point(&Sealing::Customer(customer_key()));
}

#[test]
fn shredded_multipart_steps_survive_a_crash_at_every_point() {
    crash_at_every_point(&Sealing::DefaultShredded(Arc::new(MasterKeys::generate())));
}

#[test]
fn shredded_sse_c_multipart_steps_survive_a_crash_at_every_point() {
    crash_at_every_point(&Sealing::CustomerShredded(customer_key(), Arc::new(MasterKeys::generate())));
}

fn crash_at_every_point(sealing: &Sealing) {
    let customer = sealing.customer();
    let open = |sim: &SimStorage| match sealing {
        Sealing::Default(k) => encrypted(sim_builder(sim), k).open(),
        Sealing::DefaultShredded(k) | Sealing::CustomerShredded(_, k) => {
            encrypted(sim_builder(sim), k).crypto_shred(true).open()
        }
        Sealing::Plain | Sealing::Customer(_) => sim_builder(sim).open(),
    };
    let setup = |sim: &SimStorage| {
        let store = open(sim).unwrap();
        let b = store.create_bucket("bkt").unwrap();
        (store, b)
    };
    let dry = SimStorage::new();
    let (store, b) = setup(&dry);
    let start = dry.mutating_ops();
    let (_, acked) = run(&store, b, customer);
    assert_eq!(acked, STEPS.len());
    let total = dry.mutating_ops() - start;
    drop(store);
    let (mut points, mut recovery_points) = (0, 0);
    for point in 0..=total {
        let sim = SimStorage::new();
        let (store, b) = setup(&sim);
        sim.freeze_after(point);
        let (ids, acked) = run(&store, b, customer);
        drop(store);
        // Even points: the process is killed (the page cache stays); odd: the power goes.
        let kill = point % 2 == 0;
        if kill {
            sim.kill();
        } else {
            sim.crash(CrashMode::Random(point * 7919 + 1));
        }
        let ctx = format!(
            "point {point} ({}), {acked} steps acknowledged",
            if kill { "kill" } else { "power loss" }
        );
        // A kill or power loss at every write point of the recovery itself (tail cuts, the key
        // slot sweep's erases and syncs), then the check below on what that recovery left.
        let probe = sim.fork();
        let before = probe.mutating_ops();
        drop(open(&probe).unwrap_or_else(|e| panic!("{ctx}: reopen: {e}")));
        // Every third crash point (the default suite's time): each recovery has ~40 write points.
        let recovery_ops = if point % 3 == 1 { probe.mutating_ops() - before } else { 0 };
        for j in 0..recovery_ops {
            for power_loss in [false, true] {
                let again = sim.fork();
                again.freeze_after(j);
                if open(&again).is_ok() {
                    // The drop's checkpoint, not the recovery, reached this point.
                    continue;
                }
                if power_loss {
                    again.crash(CrashMode::Random(j * 31 + point));
                } else {
                    again.kill();
                }
                let ctx = format!(
                    "{ctx}, {} at recovery point {j}",
                    if power_loss { "power loss" } else { "kill" }
                );
                let store = open(&again).unwrap_or_else(|e| panic!("{ctx}: reopen: {e}"));
                check(&store, b, &ids, acked, sealing, &ctx);
                if sealing.shreds() {
                    let owners = slot_owners(&store, b, customer);
                    assert_eq!(
                        owned_slots(&again),
                        owners,
                        "{ctx}: key slots vs live objects and open uploads"
                    );
                }
                recovery_points += 1;
            }
        }
        let store = open(&sim).unwrap_or_else(|e| panic!("{ctx}: reopen: {e}"));
        check(&store, b, &ids, acked, sealing, &ctx);
        if sealing.shreds() {
            let owners = slot_owners(&store, b, customer);
            assert_eq!(owned_slots(&sim), owners, "{ctx}: key slots vs live objects and open uploads");
        }
        // More work, then a power loss: what it acknowledged stays.
        let done = finish_open_uploads(&store, b, customer, &ctx);
        drop(store);
        sim.crash(CrashMode::DropUnsynced);
        let store = open(&sim).unwrap_or_else(|e| panic!("{ctx}: second reopen: {e}"));
        assert!(store.list_uploads(b, "", "", None, 100).unwrap().0.is_empty(), "{ctx}");
        for (key, bytes) in done {
            assert!(read(&store, b, &key, customer).unwrap() == bytes, "{ctx}: {key} after the power loss");
        }
        if sealing.shreds() {
            let owners = slot_owners(&store, b, customer);
            assert_eq!(owned_slots(&sim), owners, "{ctx}: key slots after the second reopen");
        }
        store.compact_with(&CompactionPolicy::everything()).unwrap();
        points += 1;
    }
    println!(
        "multipart crash points checked: {points}, and {recovery_points} faults during their recoveries"
    );
    assert!(points >= 50, "only {points} crash points");
    assert!(recovery_points > 0, "no fault during a recovery");
}
