//! Eight threads writing and reading across partitions: no lost, torn or mixed-up writes.

mod common;

use common::{body, read};
use s3lite::{Error, PutOptions, Store};

/// What thread `t` writes in its `i`-th put.
fn value(t: u64, i: u64) -> Vec<u8> {
    body(t * 10_000 + i, [5usize, 900, 2000, 6000][(i % 4) as usize])
}

#[test]
fn eight_threads_write_and_read_across_partitions() {
    for on_disk in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let store = if on_disk {
            common::small(Store::builder(dir.path())).open().unwrap()
        } else {
            common::small(Store::in_memory_builder()).open().unwrap()
        };
        let b = store.create_bucket("b").unwrap();
        std::thread::scope(|s| {
            for t in 0..8u64 {
                let store = store.clone();
                s.spawn(move || {
                    for i in 0..150u64 {
                        let key = format!("t{t}/k{}", i % 40);
                        let v = value(t, i);
                        store.put_bytes(b, &key, &v, &PutOptions::default()).unwrap();
                        assert_eq!(read(&store, b, &key).unwrap(), v, "read-after-write of {key}");
                        // Readers of other threads' keys see whole values or nothing.
                        let (ot, ok) = ((t + 1) % 8, i % 40);
                        let other = format!("t{ot}/k{ok}");
                        match read(&store, b, &other) {
                            Ok(got) => assert!(
                                (0..150u64).filter(|j| j % 40 == ok).any(|j| got == value(ot, j)),
                                "{other} holds bytes its writer never wrote"
                            ),
                            Err(Error::NoSuchKey { .. }) => {}
                            Err(e) => panic!("{other}: {e}"),
                        }
                    }
                });
            }
        });
        let expected = |t: u64, k: u64| value(t, (0..150u64).filter(|i| i % 40 == k).max().unwrap());
        for t in 0..8 {
            for k in 0..40 {
                assert_eq!(read(&store, b, &format!("t{t}/k{k}")).unwrap(), expected(t, k));
            }
        }
        if on_disk {
            drop(store);
            let store = Store::open(dir.path()).unwrap();
            for t in 0..8 {
                for k in 0..40 {
                    assert_eq!(read(&store, b, &format!("t{t}/k{k}")).unwrap(), expected(t, k));
                }
            }
        }
    }
}
