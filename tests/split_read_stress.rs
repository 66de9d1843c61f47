//! The two-core read of large sealed records (`engine/split_read.rs`) under contention, with a
//! deadlock watchdog: several readers of sealed multi-MiB objects at once (one of them holds the
//! process's read worker; the others read alone, or take a job back that the worker had not
//! started), beside compactions that move the records and puts that replace other keys. Every get
//! returns exactly its object's bytes, and the run ends within the deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use s3lite::crypto::MasterKeys;
use s3lite::{CompactionPolicy, GetOptions, PutOptions, Store};

fn body(seed: u64, len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i as u64 * 31 + seed * 7) % 251) as u8).collect()
}

/// Tells the main thread a worker ended, and whether it panicked, however it ends.
struct Done(std::sync::mpsc::Sender<(&'static str, bool)>, &'static str);

impl Drop for Done {
    fn drop(&mut self) {
        let _ = self.0.send((self.1, std::thread::panicking()));
    }
}

const OBJECTS: [(u64, usize); 4] = [(1, 3 << 20), (2, (2 << 20) + 70_000), (3, 5 << 20), (4, 4 << 20)];

#[test]
fn concurrent_split_reads_with_compaction_return_their_bytes_and_never_hang() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MasterKeys::generate());
    // Default chunk size: each object is one sealed chunk record of more than 2 MiB, read split.
    let store = Store::builder(dir.path()).key_provider(keys).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    for (seed, len) in OBJECTS {
        store.put_bytes(b, &format!("big{seed}"), &body(seed, len), &PutOptions::default()).unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = std::sync::mpsc::channel::<(&'static str, bool)>();
    let mut threads = Vec::new();
    for r in 0..4u64 {
        let (store, done) = (store.clone(), done_tx.clone());
        threads.push(std::thread::spawn(move || {
            let _done = Done(done, "reader");
            for i in 0..25u64 {
                let (seed, len) = OBJECTS[((r + i) % 4) as usize];
                let (_, mut reader) = store.get(b, &format!("big{seed}"), &GetOptions::default()).unwrap();
                let got = reader.read_to_vec().unwrap();
                assert!(got.len() == len && got == body(seed, len), "big{seed}: wrong bytes");
            }
        }));
    }
    for (name, work) in [("compactor", 0u8), ("writer", 1)] {
        let (store, stop, done) = (store.clone(), stop.clone(), done_tx.clone());
        threads.push(std::thread::spawn(move || {
            let _done = Done(done, name);
            let mut i = 0u64;
            while !stop.load(Ordering::Acquire) {
                if work == 0 {
                    store.compact_with(&CompactionPolicy::everything()).unwrap();
                } else {
                    store
                        .put_bytes(b, &format!("small{}", i % 8), &body(i, 300_000), &PutOptions::default())
                        .unwrap();
                }
                i += 1;
            }
        }));
    }
    drop(done_tx);
    let deadline = Duration::from_secs(240);
    for _ in 0..4 {
        let (who, panicked) =
            done_rx.recv_timeout(deadline).expect("a reader did not finish: deadlock or livelock");
        assert!(!panicked, "{who} panicked");
        assert_eq!(who, "reader", "the {who} ended before the readers");
    }
    stop.store(true, Ordering::Release);
    for _ in 0..2 {
        let (who, panicked) =
            done_rx.recv_timeout(deadline).expect("the compactor or writer did not stop: deadlock");
        assert!(!panicked, "{who} panicked");
    }
    for t in threads {
        t.join().unwrap();
    }
}
