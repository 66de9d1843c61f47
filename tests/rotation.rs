//! Master key rotation: rotate, rewrap, retire the old key, reopen, everything readable; a crash at
//! every write point of a rewrap leaves everything readable (an upload in progress included, its
//! envelope rewrapped too); a retirement proves the key unused,
//! waits for puts still drawing it, and never strands a version.

mod common;

use std::io::Read;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use common::{body, sim_builder, small};
use s3lite::crypto::{CryptoError, Dek, KeyId, KeyProvider, MasterKeys, WrappedKey};
use s3lite::io::{CrashMode, SimStorage};
use s3lite::{
    BucketId, Durability, Encryption, Error, GetOptions, NewVersion, PutOptions, Store, StoreBuilder,
    VersionId,
};

/// Live versions as written: (key, version, body).
type Model = Vec<(String, VersionId, Vec<u8>)>;

fn put(store: &Store, b: BucketId, key: &str, data: &[u8], enc: Option<Encryption>) -> VersionId {
    let opts = PutOptions { version: NewVersion::Unique, encryption: enc, ..PutOptions::default() };
    store.put_bytes(b, key, data, &opts).unwrap().version_id
}

fn read_version(store: &Store, b: BucketId, key: &str, v: VersionId) -> s3lite::Result<Vec<u8>> {
    let (_, mut r) = store.get(b, key, &GetOptions { version: Some(v), ..GetOptions::default() })?;
    r.read_to_vec()
}

fn check_all(store: &Store, b: BucketId, model: &Model, ctx: &str) {
    for (key, v, data) in model {
        match read_version(store, b, key, *v) {
            Ok(got) => assert!(got == *data, "{ctx}: {key} {v:?} reads other bytes"),
            Err(e) => panic!("{ctx}: {key} {v:?}: {e}"),
        }
    }
}

/// Sealed versions under the active key (small, several chunk records, noncurrent ones), one
/// under a named KMS key, one in the clear, and a deleted one.
fn workload(store: &Store, b: BucketId, named: &str) -> Model {
    let mut model = Model::new();
    for i in 0..12u64 {
        let key = format!("obj-{:02}", i % 8);
        let len = [10, 3000, 70_000, 200_000][(i % 4) as usize];
        let data = body(i, len);
        let v = put(store, b, &key, &data, Some(Encryption::S3));
        model.push((key, v, data));
    }
    let data = body(100, 5000);
    let v = put(store, b, "kms", &data, Some(Encryption::Kms { key: named.into() }));
    model.push(("kms".into(), v, data));
    let data = body(101, 5000);
    let plain = PutOptions { version: NewVersion::Unique, ..PutOptions::default() };
    let v = store.put_bytes(b, "plain", &data, &plain).unwrap().version_id;
    model.push(("plain".into(), v, data));
    let gone = put(store, b, "gone", &body(102, 9000), Some(Encryption::S3));
    store.delete_version(b, "gone", gone, None).unwrap();
    model
}

/// An upload sealed under the active key, in progress, with its one (last, so small) part.
fn start_upload(store: &Store, b: BucketId) -> String {
    let opts = s3lite::UploadOptions { encryption: Some(Encryption::S3), ..s3lite::UploadOptions::default() };
    let upload = store.create_upload(b, "mp", &opts).unwrap().upload_id;
    store.upload_part(b, "mp", &upload, 1, &body(200, 7000)[..], &s3lite::PartOptions::default()).unwrap();
    upload
}

/// Completes `start_upload`'s upload (its data key must still unwrap) and reads it back.
fn finish_upload(store: &Store, b: BucketId, upload: &str, ctx: &str) {
    let done = store.complete_upload(b, "mp", upload, &[(1, None)], &s3lite::CompleteOptions::default());
    let v = done.unwrap_or_else(|e| panic!("{ctx}: complete: {e}")).version_id;
    let got = read_version(store, b, "mp", v).unwrap_or_else(|e| panic!("{ctx}: read mp: {e}"));
    assert!(got == body(200, 7000), "{ctx}: the completed upload reads other bytes");
}

fn keyed(builder: StoreBuilder, keys: &Arc<MasterKeys>) -> StoreBuilder {
    // Without encrypt-by-default, so that "plain" stays in the clear.
    builder.key_provider(keys.clone()).encrypt_by_default(false)
}

#[test]
fn rotate_rewrap_retire_and_reopen_keep_everything_readable() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("keys");
    let keys = Arc::new(MasterKeys::create_file(&key_file).unwrap());
    let named = keys.add_named("orders").unwrap();
    let old = keys.active_key().unwrap();
    let open =
        |keys: &Arc<MasterKeys>| keyed(small(Store::builder(dir.path().join("db"))), keys).open().unwrap();
    let store = open(&keys);
    let b = store.create_bucket("b").unwrap();
    let model = workload(&store, b, "orders");
    let upload = start_upload(&store, b);
    let sealed_under_old = 12;
    assert_eq!(store.key_usage(old).unwrap().versions, sealed_under_old);
    assert_eq!(store.key_usage(old).unwrap().uploads, 1);
    assert_eq!(store.key_usage(named).unwrap().versions, 1);

    let new = keys.rotate().unwrap();
    assert_ne!(new, old);
    // New writes take the new key; the old one still opens what it wrapped.
    let info = store.put_bytes(
        b,
        "after",
        b"after rotation",
        &PutOptions { encryption: Some(Encryption::S3), ..PutOptions::default() },
    );
    assert_eq!(info.unwrap().encryption.map(|e| e.key_id), Some(new));
    check_all(&store, b, &model, "rotated");

    // The old key is still needed: retiring it is refused, with the count, and changes nothing.
    match store.retire_key(old) {
        Err(e @ Error::KeyInUse { versions, .. }) => {
            assert_eq!(versions, sealed_under_old + 1, "the versions and the upload");
            assert_eq!((e.code(), e.http_status()), ("KMS.KMSInvalidStateException", 400));
        }
        other => panic!("retiring a key in use: {other:?}"),
    }
    assert!(keys.list().iter().any(|(id, _, _)| *id == old));

    let report = store.rewrap(old).unwrap();
    assert_eq!((report.from, report.to), (old, new));
    assert_eq!(report.versions_rewrapped, sealed_under_old, "{report:?}");
    assert_eq!(report.versions_left, 0, "{report:?}");
    assert_eq!((report.uploads_rewrapped, report.uploads_left), (1, 0), "{report:?}");
    assert!(report.segments_rewritten > 0 && report.damaged.is_empty(), "{report:?}");
    assert_eq!(store.key_usage(old).unwrap().versions, 0);
    assert_eq!(store.key_usage(old).unwrap().uploads, 0);
    assert_eq!(store.key_usage(new).unwrap().uploads, 1);
    assert_eq!(store.key_usage(new).unwrap().versions, sealed_under_old + 1);
    assert_eq!(store.key_usage(named).unwrap().versions, 1, "a named key's versions are not touched");
    for (key, v, _) in &model[..12] {
        let info = store.head(b, key, Some(*v)).unwrap();
        assert_eq!(info.encryption.map(|e| e.key_id), Some(new), "{key}");
    }
    check_all(&store, b, &model, "rewrapped");
    // Resumable: nothing is left, so a second rewrap rewrites nothing.
    let again = store.rewrap(old).unwrap();
    assert_eq!((again.versions_rewrapped, again.segments_rewritten), (0, 0), "{again:?}");

    assert_eq!(store.retire_key(old).unwrap().versions, 0);
    assert!(!keys.list().iter().any(|(id, _, _)| *id == old), "the provider forgot the key");
    check_all(&store, b, &model, "retired");
    drop(store);

    // A reopen with the key file as it is now: the old key is gone from it, and nothing needs it.
    let keys = Arc::new(MasterKeys::open_file(&key_file).unwrap());
    assert!(!keys.list().iter().any(|(id, _, _)| *id == old));
    let store = open(&keys);
    check_all(&store, b, &model, "reopened");
    // The upload begun under the old key completes: its data key is under the new one now.
    finish_upload(&store, b, &upload, "reopened");
    assert_eq!(
        read_version(&store, b, "after", store.head(b, "after", None).unwrap().version_id).unwrap(),
        b"after rotation"
    );
}

#[test]
fn a_named_key_rewraps_to_another_and_its_versions_stay_kms() {
    let keys = Arc::new(MasterKeys::generate());
    let orders = keys.add_named("orders").unwrap();
    let billing = keys.add_named("billing").unwrap();
    let store =
        keyed(small(Store::builder("/db").storage(Arc::new(SimStorage::new()))), &keys).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let data = body(7, 150_000);
    let v = put(&store, b, "k", &data, Some(Encryption::Kms { key: "orders".into() }));
    let report = store.rewrap_to(orders, billing).unwrap();
    assert_eq!((report.versions_rewrapped, report.versions_left), (1, 0));
    let info = store.head(b, "k", Some(v)).unwrap().encryption.unwrap();
    assert_eq!((info.mode, info.key_id), (s3lite::crypto::SseMode::Kms, billing));
    assert_eq!(read_version(&store, b, "k", v).unwrap(), data);
    store.retire_key(orders).unwrap();
    assert_eq!(read_version(&store, b, "k", v).unwrap(), data);
    // A retired key is unknown to the provider: a KMS request naming it is refused as KMS does.
    let refused = store.put_bytes(
        b,
        "k2",
        b"x",
        &PutOptions { encryption: Some(Encryption::Kms { key: "orders".into() }), ..PutOptions::default() },
    );
    assert!(matches!(refused, Err(Error::KmsKeyNotFound { .. })), "{refused:?}");
}

#[test]
fn rotation_errors_are_typed_and_change_nothing() {
    let keys = Arc::new(MasterKeys::generate());
    let store =
        keyed(small(Store::builder("/db").storage(Arc::new(SimStorage::new()))), &keys).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let active = keys.active_key().unwrap();
    let v = put(&store, b, "k", b"sealed", Some(Encryption::S3));
    let unknown = KeyId([9; 16]);
    let bad_arg = |r: s3lite::Result<_>| match r {
        Err(Error::InvalidArgument { name: "key_id", value, .. }) => value,
        other => panic!("expected InvalidArgument, got {other:?}"),
    };
    assert_eq!(bad_arg(store.rewrap_to(active, active).map(|_| ())), active.to_string());
    assert_eq!(bad_arg(store.retire_key(active).map(|_| ())), active.to_string());
    assert_eq!(bad_arg(store.retire_key(unknown).map(|_| ())), unknown.to_string());
    for r in [store.rewrap(unknown), store.rewrap_to(active, unknown)] {
        match r {
            Err(Error::KeyUnavailable { key_id, .. }) => assert_eq!(key_id, unknown.to_string()),
            other => panic!("rewrap with an unknown key: {other:?}"),
        }
    }
    assert_eq!(read_version(&store, b, "k", v).unwrap(), b"sealed");
    assert_eq!(store.key_usage(active).unwrap().versions, 1);

    // A store without keys has nothing to rewrap or retire with.
    let plain = small(Store::builder("/db").storage(Arc::new(SimStorage::new()))).open().unwrap();
    assert!(matches!(plain.rewrap(active), Err(Error::KeyUnavailable { .. })));
    assert!(matches!(plain.retire_key(active), Err(Error::KeyUnavailable { .. })));
}

/// A provider that keeps its keys elsewhere and cannot forget one (the trait's default `retire`).
#[derive(Debug)]
struct External(MasterKeys);

impl KeyProvider for External {
    fn active_key(&self) -> Result<KeyId, CryptoError> {
        self.0.active_key()
    }
    fn named_key(&self, name: &str) -> Option<KeyId> {
        self.0.named_key(name)
    }
    fn wrap(&self, key: KeyId, dek: &Dek, aad: &[u8]) -> Result<WrappedKey, CryptoError> {
        self.0.wrap(key, dek, aad)
    }
    fn unwrap(&self, key: KeyId, wrapped: &WrappedKey, aad: &[u8]) -> Result<Dek, CryptoError> {
        self.0.unwrap(key, wrapped, aad)
    }
}

#[test]
fn a_provider_that_cannot_retire_keys_says_so() {
    let inner = MasterKeys::generate();
    let old = inner.active_key().unwrap();
    inner.rotate().unwrap();
    let store = small(Store::builder("/db").storage(Arc::new(SimStorage::new())))
        .key_provider(Arc::new(External(inner)))
        .open()
        .unwrap();
    match store.retire_key(old) {
        Err(Error::KeyUnavailable { key_id, reason }) => {
            assert_eq!(key_id, old.to_string());
            assert!(reason.contains("cannot retire"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

/// A body that hands out its first half, then waits for a signal before the rest.
struct Gated {
    data: Vec<u8>,
    at: usize,
    gate: Option<mpsc::Receiver<()>>,
    reached: Option<mpsc::Sender<()>>,
}

impl Read for Gated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.data.len() / 2
            && let Some(gate) = self.gate.take()
        {
            if let Some(r) = self.reached.take() {
                let _ = r.send(());
            }
            let _ = gate.recv();
        }
        let n = buf.len().min(self.data.len() - self.at).min(4096);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn a_retirement_waits_for_the_put_still_sealing_under_the_key_and_then_refuses() {
    let keys = Arc::new(MasterKeys::generate());
    keys.add_named("orders").unwrap();
    let orders = keys.named_key("orders").unwrap();
    let store =
        keyed(small(Store::builder("/db").storage(Arc::new(SimStorage::new()))), &keys).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    // A multipart upload sealed under the key, in progress throughout.
    let kms = Some(Encryption::Kms { key: "orders".into() });
    let upload_opts = s3lite::UploadOptions { encryption: kms.clone(), ..s3lite::UploadOptions::default() };
    let upload = store.create_upload(b, "mp", &upload_opts).unwrap().upload_id;
    store.upload_part(b, "mp", &upload, 1, &body(6, 5000)[..], &s3lite::PartOptions::default()).unwrap();
    let (open_gate, gate) = mpsc::channel();
    let (reached_tx, reached) = mpsc::channel();
    let data = body(5, 100_000);
    let putter = {
        let (store, data) = (store.clone(), data.clone());
        std::thread::spawn(move || {
            let body = Gated { data, at: 0, gate: Some(gate), reached: Some(reached_tx) };
            let opts = PutOptions {
                encryption: Some(Encryption::Kms { key: "orders".into() }),
                ..PutOptions::default()
            };
            store.put(b, "k", body, &opts)
        })
    };
    reached.recv_timeout(Duration::from_secs(60)).expect("the put reached its gate");
    let (done_tx, done) = mpsc::channel();
    let retirer = {
        let store = store.clone();
        std::thread::spawn(move || {
            let r = store.retire_key(orders);
            let _ = done_tx.send(());
            r
        })
    };
    // While the put is in flight the retirement must not finish (it would remove the key the
    // put is about to wrap its data key under).
    assert!(
        done.recv_timeout(Duration::from_millis(300)).is_err(),
        "retired while a put was sealing under the key"
    );
    // A new put under the key being retired is refused meanwhile.
    let refused = store.put_bytes(
        b,
        "other",
        b"x",
        &PutOptions { encryption: Some(Encryption::Kms { key: "orders".into() }), ..PutOptions::default() },
    );
    assert!(matches!(refused, Err(Error::KeyUnavailable { .. })), "{refused:?}");
    // The upload already under the key goes on: the retirement will count it and refuse anyway
    // (failing its parts meanwhile was found by lock_stress).
    let part = store.upload_part(b, "mp", &upload, 2, &body(7, 5000)[..], &s3lite::PartOptions::default());
    assert!(part.is_ok(), "a part of an upload under a key being retired: {part:?}");
    open_gate.send(()).unwrap();
    // Watchdog: neither thread may hang.
    done.recv_timeout(Duration::from_secs(60)).expect("the retirement finished (no deadlock)");
    let put = putter.join().unwrap();
    assert!(put.is_ok(), "the put in flight completes: {put:?}");
    match retirer.join().unwrap() {
        // The version the put wrote, and the upload.
        Err(Error::KeyInUse { versions: 2, .. }) => {}
        other => panic!("the retirement must see the version the put wrote and the upload: {other:?}"),
    }
    let (_, mut r) = store.get(b, "k", &GetOptions::default()).unwrap();
    assert_eq!(r.read_to_vec().unwrap(), data);
    // After the refusal the key is usable again.
    store
        .put_bytes(
            b,
            "other",
            b"x",
            &PutOptions {
                encryption: Some(Encryption::Kms { key: "orders".into() }),
                ..PutOptions::default()
            },
        )
        .unwrap();
}

/// A retirement syncs what was acknowledged first: a version deleted with `Eventual` durability
/// must not come back after a power loss, needing the key that is gone.
#[test]
fn an_eventual_delete_is_durable_before_the_key_it_freed_is_retired() {
    let sim = SimStorage::new();
    let keys = Arc::new(MasterKeys::generate());
    let old = keys.active_key().unwrap();
    let builder = || {
        keyed(sim_builder(&sim), &keys)
            .durability(Durability::Eventual { flush_interval_ms: 3_600_000 })
            .checkpoints(s3lite::Checkpoints::OnDemand)
    };
    let store = builder().open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let opts = PutOptions {
        durability: Some(Durability::Immediate),
        encryption: Some(Encryption::S3),
        ..PutOptions::default()
    };
    store.put_bytes(b, "k", &body(1, 8000), &opts).unwrap();
    keys.rotate().unwrap();
    store.delete(b, "k").unwrap();
    store.retire_key(old).unwrap();
    // Power lost right now, the store still open (a clean close would sync everything).
    let lost = sim.fork();
    lost.crash(CrashMode::DropUnsynced);
    drop(store);
    let store = keyed(sim_builder(&lost), &keys).open().unwrap();
    let b = store.bucket("b").unwrap().id;
    match common::read(&store, b, "k") {
        Err(Error::NoSuchKey { .. }) => {}
        other => panic!("the deleted version came back: {:?}", other.map(|v| v.len())),
    }
}

/// Runs the workload, rotates, and crashes the machine after `crash_after` mutating operations of
/// the rewrap; returns whether the rewrap finished first.
fn rewrap_crash_point(crash_after: u64, seed: u64) -> bool {
    let sim = SimStorage::new();
    let keys = Arc::new(MasterKeys::generate());
    let named = keys.add_named("orders").unwrap();
    let old = keys.active_key().unwrap();
    let builder = || keyed(sim_builder(&sim), &keys);
    let store = builder().open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let model = workload(&store, b, "orders");
    let upload = start_upload(&store, b);
    keys.rotate().unwrap();
    sim.freeze_after(crash_after);
    let finished = store.rewrap(old).is_ok();
    drop(store);
    let ctx = format!("crash point {crash_after}");
    // A process kill first (the page cache survives), a restart that recovers, then a power loss
    // during that recovery's own writes, or after it.
    sim.kill();
    let store = builder().open().unwrap_or_else(|e| panic!("{ctx}: reopen after kill: {e}"));
    check_all(&store, b, &model, &ctx);
    drop(store);
    sim.crash(CrashMode::Random(seed ^ crash_after));
    let store = builder().open().unwrap_or_else(|e| panic!("{ctx}: reopen after power loss: {e}"));
    check_all(&store, b, &model, &ctx);
    // The rewrap resumes and finishes; the key can go, and a power loss after that loses nothing.
    let report = store.rewrap(old).unwrap_or_else(|e| panic!("{ctx}: resumed rewrap: {e}"));
    assert_eq!((report.versions_left, report.uploads_left), (0, 0), "{ctx}: {report:?}");
    store.retire_key(old).unwrap_or_else(|e| panic!("{ctx}: retire: {e}"));
    assert_eq!(store.key_usage(named).unwrap().versions, 1);
    // Power lost with the store still open (a clean close would sync what is left).
    let lost = sim.fork();
    lost.crash(CrashMode::Random(seed.rotate_left(7) ^ crash_after));
    drop(store);
    let store =
        keyed(sim_builder(&lost), &keys).open().unwrap_or_else(|e| panic!("{ctx}: reopen after retire: {e}"));
    check_all(&store, b, &model, &ctx);
    finish_upload(&store, b, &upload, &ctx);
    finished
}

#[test]
fn a_crash_at_every_write_point_of_a_rewrap_leaves_everything_readable() {
    let mut points = 0;
    for k in 0.. {
        points += 1;
        if rewrap_crash_point(k, 0x5eed) {
            break;
        }
        assert!(k < 5000, "the rewrap never finished");
    }
    println!("{points} crash points of a rewrap checked");
    assert!(points > 10, "a rewrap writes more than {points} times");
}
