//! Requests of one group commit in different storage classes: their seqs follow queue order, and so
//! must their effects on the index. A review found them applied class by class (STANDARD first), so
//! a put and a delete of one `null` version queued in that order in two classes left the delete
//! undone in the live store, and two `null` puts left two `null` versions. A gate holds a leader
//! inside its fdatasync so that the two requests queue behind it as one batch, in a known order.
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::gate::Gated;
use s3lite::io::SimStorage;
use s3lite::{GetOptions, ListOptions, PutOptions, StorageClass, Store};

fn builder(g: &Gated) -> s3lite::StoreBuilder {
    Store::builder("/db").storage(Arc::new(g.clone())).partitions(1)
}

fn ia() -> PutOptions {
    PutOptions { storage_class: StorageClass::StandardIa, ..Default::default() }
}

/// Holds the partition leader in its fdatasync, then queues `first` and `second` behind it so that
/// the next leader takes them as one batch, in that order.
fn batch_of_two(
    store: &Arc<Store>,
    g: &Gated,
    first: impl FnOnce(&Store) + Send + 'static,
    second: impl FnOnce(&Store) + Send + 'static,
) {
    let b = store.bucket("b").unwrap().id;
    g.gate.close();
    let s = store.clone();
    let leader = std::thread::spawn(move || {
        s.put_bytes(b, "busy", b"x", &PutOptions::default()).unwrap();
    });
    g.gate.wait_blocked(1);
    let s = store.clone();
    let t1 = std::thread::spawn(move || first(&s));
    std::thread::sleep(Duration::from_millis(100));
    let s = store.clone();
    let t2 = std::thread::spawn(move || second(&s));
    std::thread::sleep(Duration::from_millis(100));
    g.gate.open();
    leader.join().unwrap();
    t1.join().unwrap();
    t2.join().unwrap();
}

#[test]
fn an_acknowledged_delete_queued_after_a_put_in_another_class_is_undone_in_the_live_index() {
    let g = Gated::new(SimStorage::new());
    let store = Arc::new(builder(&g).open().unwrap());
    let b = store.create_bucket("b").unwrap();
    store.put_bytes(b, "k", b"v0", &PutOptions::default()).unwrap();
    // put k (STANDARD_IA, null version) queued first, then delete k (a STANDARD purge of `null`):
    // the delete is newer, so k must be gone.
    batch_of_two(
        &store,
        &g,
        move |s| {
            s.put_bytes(b, "k", b"v1-ia", &ia()).unwrap();
        },
        move |s| {
            s.delete(b, "k").unwrap();
        },
    );
    let live = store.get(b, "k", &GetOptions::default()).map(|(i, _)| i.size);
    drop(store);
    let store = builder(&g).open().unwrap();
    let b = store.bucket("b").unwrap().id;
    let reopened = store.get(b, "k", &GetOptions::default()).map(|(i, _)| i.size);
    println!("live: {live:?}\nafter reopen: {reopened:?}");
    assert_eq!(live.is_ok(), reopened.is_ok(), "the live store and the reopened store disagree about k");
}

#[test]
fn two_null_puts_in_one_batch_across_classes_leave_two_null_versions() {
    let g = Gated::new(SimStorage::new());
    let store = Arc::new(builder(&g).open().unwrap());
    let b = store.create_bucket("b").unwrap();
    batch_of_two(
        &store,
        &g,
        move |s| {
            s.put_bytes(b, "k", b"older-ia", &ia()).unwrap();
        },
        move |s| {
            s.put_bytes(b, "k", b"newer-std", &PutOptions::default()).unwrap();
        },
    );
    let opts = ListOptions { prefix: "k".into(), start_after: None, max_keys: 1000, versions: true };
    let live: Vec<_> = store.list(b, &opts).unwrap().entries.iter().map(|e| (e.version_id, e.size)).collect();
    drop(store);
    let store = builder(&g).open().unwrap();
    let b = store.bucket("b").unwrap().id;
    let reopened: Vec<_> =
        store.list(b, &opts).unwrap().entries.iter().map(|e| (e.version_id, e.size)).collect();
    println!("live versions: {live:?}\nafter reopen: {reopened:?}");
    assert_eq!(live, reopened, "an unversioned key has one null version");
}
