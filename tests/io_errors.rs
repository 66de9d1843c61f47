//! Injected I/O errors: the failing call errors, the store then answers `PreviousIo` to every call,
//! and a reopen recovers to a consistent state holding every acknowledged write.

mod common;

use common::{body, read, sim_builder};
use s3lite::io::{CrashMode, OpKind, SimStorage};
use s3lite::{Error, GetOptions, ListOptions, PutOptions};

fn check_kind(kind: OpKind, nth_max: u64) {
    for nth in 1..=nth_max {
        let sim = SimStorage::new();
        let store = sim_builder(&sim).open().unwrap();
        let b = store.create_bucket("b").unwrap();
        sim.fail_nth(kind, nth);
        let mut acked = Vec::new();
        let mut failed = None;
        for i in 0..40u64 {
            let key = format!("k{i}");
            let v = body(i, [10usize, 3000, 9000][i as usize % 3]);
            match store.put_bytes(b, &key, &v, &PutOptions::default()) {
                Ok(_) => acked.push((key, v)),
                Err(e) => {
                    assert!(matches!(e, Error::Io { .. }), "{kind:?} #{nth}: {e:?}");
                    assert_eq!(e.http_status(), 500);
                    failed = Some((key, v));
                    break;
                }
            }
        }
        let Some((failed_key, failed_value)) = failed else {
            continue;
        };
        // Poisoned: every call answers PreviousIo, reads included, and nothing is retried.
        let e = store.put_bytes(b, "more", b"x", &PutOptions::default()).unwrap_err();
        assert!(matches!(e, Error::PreviousIo), "{e:?}");
        assert!(matches!(store.get(b, "k0", &GetOptions::default()), Err(Error::PreviousIo)));
        assert!(matches!(store.list(b, &ListOptions::default()), Err(Error::PreviousIo)));
        assert!(matches!(store.create_bucket("c"), Err(Error::PreviousIo)));
        assert!(matches!(store.sync(), Err(Error::PreviousIo)));
        drop(store);
        for mode in [None, Some(CrashMode::Random(nth))] {
            if let Some(m) = mode {
                sim.crash(m);
            }
            let store = sim_builder(&sim).open().unwrap_or_else(|e| panic!("{kind:?} #{nth}: reopen: {e}"));
            for (k, v) in &acked {
                assert_eq!(&read(&store, b, k).unwrap(), v, "{kind:?} #{nth}");
            }
            match read(&store, b, &failed_key) {
                Ok(v) => assert_eq!(v, failed_value, "the failed write is whole or absent"),
                Err(Error::NoSuchKey { .. }) => {}
                Err(e) => panic!("{kind:?} #{nth}: {e}"),
            }
            store.put_bytes(b, "after", b"ok", &PutOptions::default()).unwrap();
        }
    }
}

#[test]
fn failed_write_poisons_and_reopen_recovers() {
    check_kind(OpKind::Write, 30);
}

#[test]
fn failed_sync_poisons_and_reopen_recovers() {
    check_kind(OpKind::Sync, 30);
}

#[test]
fn failed_directory_sync_and_create_poison() {
    check_kind(OpKind::SyncDir, 4);
    check_kind(OpKind::Create, 4);
}

#[test]
fn failed_bucket_creation_poisons() {
    let sim = SimStorage::new();
    let store = sim_builder(&sim).open().unwrap();
    sim.fail_nth(OpKind::Sync, 1);
    assert!(matches!(store.create_bucket("b"), Err(Error::Io { .. })));
    assert!(matches!(store.list_buckets(), Err(Error::PreviousIo)));
    drop(store);
    let store = sim_builder(&sim).open().unwrap();
    // The bucket's record may have reached the disk before its sync failed: either state is valid.
    let n = store.list_buckets().unwrap().len();
    assert!(n <= 1);
}

#[test]
fn open_reports_io_errors() {
    let sim = SimStorage::new();
    drop(sim_builder(&sim).open().unwrap());
    sim.fail_nth(OpKind::Write, 1);
    let e = sim_builder(&sim).open().unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    sim_builder(&sim).open().unwrap();
}

/// A failed background writeback sync poisons the store like any other failed sync (after a failed
/// fdatasync the kernel may have dropped the dirty pages), and no object it covered is reported
/// durable unless it is.
#[test]
fn failed_writeback_sync_poisons_the_store() {
    let sim = SimStorage::new();
    let open = || sim_builder(&sim).inline_bytes(1024).chunk_bytes(64 * 1024).background_writeback(true);
    let store = open().open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let big = body(7, 1 << 20);
    store.put_bytes(b, "before", &big, &PutOptions::default()).unwrap();
    // The next sync fails, the writeback thread's or the put's own. As on Linux, the failed sync
    // drops the file's dirty pages from durability and a later sync succeeds (fsyncgate): no put
    // may be acknowledged over it.
    sim.fail_nth(OpKind::Sync, 1);
    let mut poisoned = false;
    let mut acked = Vec::new();
    for i in 0..50 {
        match store.put_bytes(b, &format!("k{i}"), &big, &PutOptions::default()) {
            Ok(_) => acked.push(format!("k{i}")),
            Err(Error::Io { .. } | Error::PreviousIo) => {
                poisoned = true;
                break;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(poisoned, "a failed sync went unnoticed");
    assert!(matches!(store.put_bytes(b, "more", b"x", &PutOptions::default()), Err(Error::PreviousIo)));
    drop(store);
    sim.crash(CrashMode::DropUnsynced);
    let store = open().open().unwrap();
    assert_eq!(read(&store, b, "before").unwrap(), big);
    for k in &acked {
        assert_eq!(read(&store, b, k).unwrap(), big, "{k} was acknowledged over a failed sync");
    }
}

/// Two syncers of one segment (the commit leader and the writeback thread): once a sync of it has
/// failed, a later one must not succeed over the pages the failure dropped. Many rounds, so that the
/// writeback's failed sync lands at every moment of a put's commit.
#[test]
fn no_commit_is_acknowledged_after_a_failed_sync_of_its_segment() {
    for round in 0..40u64 {
        let sim = SimStorage::new();
        let open = || sim_builder(&sim).inline_bytes(1024).chunk_bytes(16 * 1024).background_writeback(true);
        let store = open().open().unwrap();
        let b = store.create_bucket("b").unwrap();
        sim.fail_nth(OpKind::Sync, 1 + round % 4);
        let big = body(round, 100 * 1024);
        let acked: Vec<String> = (0..8)
            .map(|i| format!("k{i}"))
            .take_while(|k| store.put_bytes(b, k, &big, &PutOptions::default()).is_ok())
            .collect();
        drop(store);
        sim.crash(CrashMode::DropUnsynced);
        let store = open().open().unwrap_or_else(|e| panic!("round {round}: {e}"));
        for k in &acked {
            let got = read(&store, b, k).unwrap_or_else(|e| panic!("round {round}: acknowledged {k}: {e}"));
            assert_eq!(got, big, "round {round}: {k}");
        }
    }
}
