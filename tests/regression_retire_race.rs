//! A read in flight across a rewrap and the old key's retirement (found by `lock_stress`:
//! `listings and reads` failed a get of an acknowledged object with `InternalError`, "master key …
//! is not known to the key provider").
//!
//! The race: a get looks up a version and reads its commit record, whose envelope wraps the data
//! key under the old master key; a rewrap then moves the version to a record wrapped under the new
//! key, and `retire_key` (which proves that no version *in the index* needs the old key) has the
//! provider forget it; the get, still holding the old record, then unwraps under a key that is
//! gone. S3 never fails a read of an acknowledged object that way. A provider whose `unwrap`
//! blocks on a gate holds the get at that point, deterministically.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::gate::{Gated as GatedStorage, Hook};
use common::{body, read, small};
use s3lite::crypto::{CryptoError, Dek, KeyId, KeyProvider, MasterKeys, WrappedKey};
use s3lite::io::SimStorage;
use s3lite::{Encryption, Error, PutOptions, Store};

/// One unwrap under a chosen key, held: it says it has begun, then waits for its release.
struct Held {
    key: KeyId,
    entered: mpsc::Sender<()>,
    release: mpsc::Receiver<()>,
}

/// `MasterKeys`, with one unwrap that can be held ([`Gated::hold_next_unwrap`]), and every call
/// under a key the provider no longer has recorded (the retirement's promise is that nothing asks).
#[derive(Debug)]
struct Gated {
    inner: MasterKeys,
    /// Whether retire may forget keys (the trait's default refuses).
    can_retire: bool,
    held: Mutex<Option<HeldDebug>>,
    asked_for_unknown: Mutex<Vec<KeyId>>,
}

/// `Held`, printable.
struct HeldDebug(Held);

impl std::fmt::Debug for HeldDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "held unwrap under {}", self.0.key)
    }
}

impl Gated {
    fn new(inner: MasterKeys, can_retire: bool) -> Gated {
        Gated { inner, can_retire, held: Mutex::new(None), asked_for_unknown: Mutex::new(Vec::new()) }
    }

    /// The next unwrap under `key` waits, once it has said so on the first channel, until the
    /// second is sent to (or dropped).
    fn hold_next_unwrap(&self, key: KeyId) -> (mpsc::Receiver<()>, mpsc::Sender<()>) {
        let (entered_tx, entered_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel();
        *self.held.lock().unwrap() = Some(HeldDebug(Held { key, entered: entered_tx, release: release_rx }));
        (entered_rx, release_tx)
    }

    fn known(&self, key: KeyId) -> bool {
        self.inner.list().iter().any(|(id, _, _)| *id == key)
    }
}

impl KeyProvider for Gated {
    fn active_key(&self) -> Result<KeyId, CryptoError> {
        self.inner.active_key()
    }
    fn named_key(&self, name: &str) -> Option<KeyId> {
        self.inner.named_key(name)
    }
    fn wrap(&self, key: KeyId, dek: &Dek, aad: &[u8]) -> Result<WrappedKey, CryptoError> {
        self.inner.wrap(key, dek, aad)
    }
    fn unwrap(&self, key: KeyId, wrapped: &WrappedKey, aad: &[u8]) -> Result<Dek, CryptoError> {
        let held = {
            let mut slot = self.held.lock().unwrap();
            if slot.as_ref().is_some_and(|h| h.0.key == key) { slot.take() } else { None }
        };
        if let Some(HeldDebug(h)) = held {
            h.entered.send(()).unwrap();
            let _ = h.release.recv();
        }
        if !self.known(key) {
            self.asked_for_unknown.lock().unwrap().push(key);
        }
        self.inner.unwrap(key, wrapped, aad)
    }
    fn retire(&self, key: KeyId) -> Result<(), CryptoError> {
        if self.can_retire {
            self.inner.retire(key)
        } else {
            Err(CryptoError::Refused { reason: format!("this key provider cannot retire master key {key}") })
        }
    }
}

fn store_with(keys: &Arc<Gated>) -> Store {
    small(Store::builder("/db").storage(Arc::new(SimStorage::new())))
        .key_provider(keys.clone())
        .open()
        .unwrap()
}

/// Holds the next file read once armed (a get's read of its commit record, on a quiet store),
/// until released.
#[derive(Debug, Default)]
struct HoldRead {
    armed: Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>>,
}

impl HoldRead {
    fn arm(&self) -> (mpsc::Receiver<()>, mpsc::Sender<()>) {
        let (entered_tx, entered_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel();
        *self.armed.lock().unwrap() = Some((entered_tx, release_rx));
        (entered_rx, release_tx)
    }
}

impl Hook for HoldRead {
    fn before_read(&self) {
        let armed = self.armed.lock().unwrap().take();
        if let Some((entered, release)) = armed {
            entered.send(()).unwrap();
            let _ = release.recv();
        }
    }
}

/// How long the test lets a retirement run while a read it must wait for is held. A retirement
/// that does not wait returns well within it (the bug); one that waits is still waiting at its end,
/// and the read is then let go.
const RETIRE_GRACE: Duration = Duration::from_millis(500);

/// The read holds the old record when the rewrap moves its version and the retirement runs: the
/// retirement must wait for the read's unwrap (and the read must succeed), not strand it.
#[test]
fn a_read_holding_the_old_envelope_survives_the_rewrap_and_the_retirement() {
    let keys = Arc::new(Gated::new(MasterKeys::generate(), true));
    let store = store_with(&keys);
    let b = store.create_bucket("b").unwrap();
    // Above the inline limit (1 KiB): chunked, sealed under the active key.
    let data = body(1, 3000);
    store.put_bytes(b, "k", &data, &PutOptions::default()).unwrap();
    let old = keys.active_key().unwrap();
    keys.inner.rotate().unwrap();

    let (entered, release) = keys.hold_next_unwrap(old);
    let reader = {
        let s = store.clone();
        thread::spawn(move || read(&s, b, "k"))
    };
    entered.recv_timeout(Duration::from_secs(10)).expect("the read reached its unwrap");

    // The read holds the record wrapped under `old`; the version moves to one under the new key.
    let report = store.rewrap(old).unwrap();
    assert_eq!((report.versions_rewrapped, report.versions_left), (1, 0), "{report:?}");

    let (done_tx, done_rx) = mpsc::channel();
    let retirer = {
        let s = store.clone();
        thread::spawn(move || {
            let r = s.retire_key(old);
            done_tx.send(()).unwrap();
            r
        })
    };
    let retired_while_held = done_rx.recv_timeout(RETIRE_GRACE).is_ok();
    release.send(()).unwrap();
    let got = reader.join().unwrap();
    let retired = retirer.join().unwrap();

    match got {
        Ok(got) => assert!(got == data, "the read returned other bytes"),
        Err(e) => panic!("a read of an acknowledged object failed across the retirement: {e}"),
    }
    assert!(
        !retired_while_held,
        "the retirement returned while a read that had the old envelope was unwrapping under it"
    );
    let usage = retired.unwrap_or_else(|e| panic!("the retirement failed: {e}"));
    assert_eq!((usage.versions, usage.uploads), (0, 0));
    assert!(!keys.known(old), "the provider still has the retired key");
    assert_eq!(*keys.asked_for_unknown.lock().unwrap(), [], "a call under a key the provider had forgotten");
    // And afterwards: read under the new key, and nothing asks for the old one.
    assert!(read(&store, b, "k").unwrap() == data);
    assert_eq!(*keys.asked_for_unknown.lock().unwrap(), []);
}

/// A read held in its unwrap while a retirement of its key is refused (`KeyInUse`: the version was
/// never rewrapped) goes on as before, and the retirement does not wait for it.
#[test]
fn a_refused_retirement_neither_waits_for_reads_nor_fails_them() {
    let keys = Arc::new(Gated::new(MasterKeys::generate(), true));
    let store = store_with(&keys);
    let b = store.create_bucket("b").unwrap();
    let data = body(2, 3000);
    store.put_bytes(b, "k", &data, &PutOptions::default()).unwrap();
    let old = keys.active_key().unwrap();
    keys.inner.rotate().unwrap();

    let (entered, release) = keys.hold_next_unwrap(old);
    let reader = {
        let s = store.clone();
        thread::spawn(move || read(&s, b, "k"))
    };
    entered.recv_timeout(Duration::from_secs(10)).unwrap();
    match store.retire_key(old) {
        Err(Error::KeyInUse { versions: 1, .. }) => {}
        other => panic!("retiring a key a live version needs: {other:?}"),
    }
    release.send(()).unwrap();
    assert!(reader.join().unwrap().unwrap() == data);
    assert!(keys.known(old));
}

/// A provider that refuses to forget a key: the retirement fails after its count, and the key must
/// stay usable for reads and writes (the store must not go on treating it as retired).
#[test]
fn a_retirement_the_provider_refuses_leaves_the_key_readable() {
    let keys = Arc::new(Gated::new(MasterKeys::generate(), false));
    keys.inner.add_named("orders").unwrap();
    let named = keys.named_key("orders").unwrap();
    let store = store_with(&keys);
    let b = store.create_bucket("b").unwrap();
    match store.retire_key(named) {
        Err(Error::KeyUnavailable { reason, .. }) => assert!(reason.contains("cannot retire"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let data = body(3, 3000);
    let kms =
        PutOptions { encryption: Some(Encryption::Kms { key: "orders".into() }), ..PutOptions::default() };
    let info = store.put_bytes(b, "k", &data, &kms).unwrap();
    assert_eq!(info.encryption.map(|e| e.key_id), Some(named));
    match read(&store, b, "k") {
        Ok(got) => assert!(got == data),
        Err(e) => panic!("a read under a key whose retirement was refused: {e}"),
    }
}

/// The read takes the old record before the rewrap, and reaches its unwrap only once the old key
/// is retired: it must look the version up again (and read it under the new key), never ask the
/// provider for the retired key nor fail.
#[test]
fn a_read_that_reaches_its_unwrap_after_the_retirement_looks_again() {
    let keys = Arc::new(Gated::new(MasterKeys::generate(), true));
    let hold = Arc::new(HoldRead::default());
    let storage = GatedStorage::with_hook(SimStorage::new(), hold.clone());
    let store =
        small(Store::builder("/db").storage(Arc::new(storage))).key_provider(keys.clone()).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let data = body(4, 3000);
    store.put_bytes(b, "k", &data, &PutOptions::default()).unwrap();
    let old = keys.active_key().unwrap();
    keys.inner.rotate().unwrap();

    let (entered, release) = hold.arm();
    let reader = {
        let s = store.clone();
        thread::spawn(move || read(&s, b, "k"))
    };
    // Held in the read of the commit record the lookup found (under `old`).
    entered.recv_timeout(Duration::from_secs(10)).expect("the read reached its record");
    let report = store.rewrap(old).unwrap();
    assert_eq!((report.versions_rewrapped, report.versions_left), (1, 0), "{report:?}");
    store.retire_key(old).unwrap();
    assert!(!keys.known(old));
    release.send(()).unwrap();
    match reader.join().unwrap() {
        Ok(got) => assert!(got == data, "the read returned other bytes"),
        Err(e) => panic!("a read of an acknowledged object failed after the retirement: {e}"),
    }
    assert_eq!(*keys.asked_for_unknown.lock().unwrap(), [], "a call under a key the provider had forgotten");
}
