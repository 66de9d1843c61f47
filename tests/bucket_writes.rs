//! Object writes in flight and the catalog: a slow upload holds no lock that a catalog writer waits
//! behind, a bucket cannot be deleted under a write into it, and a failed conditional write with a
//! catalog writer queued answers instead of deadlocking.

mod common;

use std::io::Read;
use std::sync::mpsc;
use std::time::Duration;

use common::{body, read};
use s3lite::{Error, PutOptions, Store, WriteCondition};

/// A body that hands out its bytes only when the test says so: an upload from a slow client.
struct GatedBody {
    data: Vec<u8>,
    pos: usize,
    gate: mpsc::Receiver<usize>,
    started: Option<mpsc::Sender<()>>,
}

impl Read for GatedBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(started) = self.started.take() {
            let _ = started.send(());
        }
        if self.pos == self.data.len() {
            return Ok(0);
        }
        let allowed = self.gate.recv().unwrap_or(usize::MAX);
        let n = allowed.min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn a_slow_upload_blocks_no_catalog_writer_and_its_bucket_cannot_be_deleted_under_it() {
    let store = Store::in_memory_builder().inline_bytes(1024).chunk_bytes(4096).open().unwrap();
    let b = store.create_bucket("uploads").unwrap();
    let data = body(3, 20_000);
    let (gate, gate_rx) = mpsc::channel();
    let (started, started_rx) = mpsc::channel();
    let slow = {
        let (store, data) = (store.clone(), data.clone());
        std::thread::spawn(move || {
            let reader = GatedBody { data, pos: 0, gate: gate_rx, started: Some(started) };
            store.put(b, "big", reader, &PutOptions::default())
        })
    };
    started_rx.recv().unwrap();
    gate.send(5000).unwrap();
    // The upload is in flight and will stay so until the gate opens. Catalog writers go ahead.
    let (done, done_rx) = mpsc::channel();
    let catalog_writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            let r = (store.create_bucket("other"), store.create_account("alice"));
            let _ = done.send(());
            r
        })
    };
    assert!(
        done_rx.recv_timeout(Duration::from_secs(30)).is_ok(),
        "a catalog writer waited behind an upload in flight"
    );
    let (bucket, account) = catalog_writer.join().unwrap();
    bucket.unwrap();
    account.unwrap();
    // Small puts into the same bucket go ahead too.
    store.put_bytes(b, "small", b"x", &PutOptions::default()).unwrap();
    store.delete(b, "small").unwrap();
    let err = store.delete_bucket("uploads").unwrap_err();
    assert!(matches!(err, Error::OperationAborted { .. }), "{err:?}");
    assert_eq!((err.code(), err.http_status()), ("OperationAborted", 409));
    drop(gate);
    slow.join().unwrap().unwrap();
    assert_eq!(read(&store, b, "big").unwrap(), data);
    assert!(matches!(store.delete_bucket("uploads"), Err(Error::BucketNotEmpty { .. })));
    store.delete(b, "big").unwrap();
    store.delete_bucket("uploads").unwrap();
    assert!(matches!(
        store.put_bytes(b, "late", b"x", &PutOptions::default()),
        Err(Error::NoSuchBucket { .. })
    ));
}

/// A failed conditional write names its bucket without taking the catalog lock again: with a catalog
/// writer queued between two read acquisitions, parking_lot's fair RwLock would block the second for
/// ever, and with it every later call.
#[test]
fn failed_conditional_writes_race_catalog_writers_without_deadlock() {
    let store = Store::in_memory_builder().partitions(2).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    store.put_bytes(b, "k", b"v", &PutOptions::default()).unwrap();
    let (done, done_rx) = mpsc::channel();
    let workers: Vec<_> = (0..2)
        .map(|t| {
            let (store, done) = (store.clone(), done.clone());
            std::thread::spawn(move || {
                let absent = PutOptions { condition: Some(WriteCondition::IfAbsent), ..Default::default() };
                for i in 0..400 {
                    if t == 0 {
                        let e = store.put_bytes(b, "k", b"w", &absent).unwrap_err();
                        assert!(
                            matches!(&e, Error::PreconditionFailed { bucket, .. } if bucket == "b"),
                            "{e}"
                        );
                        let cond = WriteCondition::IfETagMatches("\"0123\"".into());
                        let e = store.put_delete_marker(b, "k", s3lite::NewVersion::Unique, Some(&cond));
                        assert!(matches!(e, Err(Error::PreconditionFailed { .. })));
                        let e = store.delete_version(b, "k", s3lite::VersionId::NULL, Some(&cond));
                        assert!(matches!(e, Err(Error::PreconditionFailed { .. })));
                    } else {
                        store.create_bucket(&format!("scratch-{i}")).unwrap();
                        store.delete_bucket(&format!("scratch-{i}")).unwrap();
                    }
                }
                let _ = done.send(());
            })
        })
        .collect();
    drop(done);
    for _ in 0..2 {
        assert!(
            done_rx.recv_timeout(Duration::from_secs(60)).is_ok(),
            "deadlock: a failed conditional write and a catalog writer stopped each other"
        );
    }
    for w in workers {
        w.join().unwrap();
    }
}
