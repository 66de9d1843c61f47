//! Findings of the fresh-context review of the issue-14 changes (index entry narrowing, one-pass
//! verified reads, compaction pacing, GetObject re-resolution), each proven by a test here.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use s3lite::io::SimStorage;
use s3lite::s3::types::*;
use s3lite::{BackgroundCompaction, CompactionPolicy, CompleteOptions, PartOptions, Store, UploadOptions};

/// A one-shot gate on reads: once armed, the next read of any file blocks until the gate opens,
/// so that a test can stop a reader between two of its reads and change the store meanwhile.
#[derive(Debug, Default)]
struct ReadGate {
    armed: AtomicBool,
    state: Mutex<(bool, bool)>, // (someone blocked, released)
    cv: Condvar,
}

impl ReadGate {
    fn pass(&self) {
        if !self.armed.swap(false, Ordering::SeqCst) {
            return;
        }
        let mut s = self.state.lock();
        s.0 = true;
        self.cv.notify_all();
        while !s.1 {
            self.cv.wait(&mut s);
        }
    }
    fn wait_blocked(&self) {
        let mut s = self.state.lock();
        let t = Instant::now();
        while !s.0 {
            assert!(t.elapsed() < Duration::from_secs(10), "no read reached the gate");
            self.cv.wait_for(&mut s, Duration::from_millis(10));
        }
    }
    fn release(&self) {
        self.state.lock().1 = true;
        self.cv.notify_all();
    }
}

impl common::gate::Hook for ReadGate {
    fn before_read(&self) {
        self.pass();
    }
}

/// The store's storage, stopping the next read once the gate is armed.
type ReadGated = common::gate::Gated<ReadGate>;

fn put_req(key: &str, body: &[u8]) -> PutObjectRequest {
    PutObjectRequest { bucket: "bkt".into(), key: key.into(), body: body.into(), ..Default::default() }
}

/// Finding 1. GetObject checks its conditions (If-Match here) against the version its first lookup
/// resolved, then opens the body by that version id. In an unversioned bucket every put is the
/// `null` version, so an overwrite between the two lookups is opened under the same id: the caller
/// gets the new object (its body and its ETag) although its If-Match named the old one, which S3
/// answers with 412 PreconditionFailed (or, had the GET won the race, the old body).
#[test]
fn a_conditional_get_racing_an_overwrite_never_returns_an_object_its_condition_refuses() {
    let gated = ReadGated { sim: SimStorage::new(), gate: Arc::default() };
    let store = common::small(Store::builder("/db").storage(Arc::new(gated.clone()))).open().unwrap();
    let s3 = store.s3();
    s3.create_bucket(CreateBucketRequest { bucket: "bkt".into(), ..Default::default() }).unwrap();
    let (old, new) = (b"the old body".to_vec(), b"the new body, longer".to_vec());
    let old_etag = s3.put_object(put_req("k", &old)).unwrap().e_tag;
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            gated.gate.armed.store(true, Ordering::SeqCst);
            let req = GetObjectRequest {
                bucket: "bkt".into(),
                key: "k".into(),
                if_match: Some(old_etag.clone()),
                ..Default::default()
            };
            s3.get_object(req).and_then(|mut out| Ok((out.head.e_tag.clone(), out.body.read_to_vec()?)))
        });
        // The reader has resolved the old version and is reading its record (the HEAD half).
        gated.gate.wait_blocked();
        s3.put_object(put_req("k", &new)).unwrap();
        gated.gate.release();
        match reader.join().unwrap() {
            Ok((etag, body)) => {
                assert_eq!(
                    (etag.as_str(), body.as_slice()),
                    (old_etag.as_str(), old.as_slice()),
                    "If-Match {old_etag} answered with another object"
                );
            }
            Err(e) => assert_eq!(e.code(), "PreconditionFailed", "{e}"),
        }
    });
}

/// A store of one partition whose sealed segments hold well over one paced output piece (256 KiB)
/// of live bytes, and some dead ones, with an upload of one part in progress.
fn store_with_work_and_an_upload(sim: &SimStorage) -> (Store, s3lite::BucketId, String) {
    let store = common::sim_builder(sim).partitions(1).segment_bytes(1 << 20).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let opts = s3lite::PutOptions::default();
    for i in 0..200u64 {
        store.put_bytes(b, &format!("k{i:03}"), &common::body(i, 3000), &opts).unwrap();
    }
    for i in 0..50u64 {
        store.put_bytes(b, &format!("k{i:03}"), &common::body(1000 + i, 3000), &opts).unwrap();
    }
    let up = store.create_upload(b, "mp", &UploadOptions::default()).unwrap().upload_id;
    store.upload_part(b, "mp", &up, 1, &common::body(7, 5000)[..], &PartOptions::default()).unwrap();
    (store, b, up)
}

/// Waits until a segment file appears that `before` did not have: a rewrite's first output, which
/// exists only while the rewrite holds its partition's rewrite lock (until its commit).
fn wait_for_an_output(sim: &SimStorage, before: &[std::path::PathBuf]) {
    let t = Instant::now();
    while !sim.file_paths().iter().any(|p| p.extension().is_some_and(|e| e == "seg") && !before.contains(p)) {
        assert!(t.elapsed() < Duration::from_secs(20), "the background compactor wrote no output");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Finding 2. A paced background rewrite sleeps (`Pacer::consume`) while it holds its partition's
/// rewrite lock, and CompleteMultipartUpload, ListParts (`upload`, `upload_parts`) and checkpoints
/// take that lock: each waits out the whole paced rewrite. At the default 16 MiB/s and the default
/// 1 GiB input budget that is about a minute per rewrite; here (1 byte/s) the completion never
/// returns while the compactor runs. A foreground request must not wait for a background pace: it
/// may wait for the rest of the rewrite's copy, which then runs unpaced.
#[test]
fn completing_an_upload_does_not_wait_out_a_paced_background_rewrite() {
    let sim = SimStorage::new();
    let (store, b, up) = store_with_work_and_an_upload(&sim);
    let before = sim.file_paths();
    store
        .start_background_compaction(BackgroundCompaction {
            policy: CompactionPolicy::everything(),
            bytes_per_sec: Some(1),
            concurrent_rewrites: 1,
            interval_ms: 10,
        })
        .unwrap();
    wait_for_an_output(&sim, &before);
    let done = AtomicUsize::new(0);
    let completed = std::thread::scope(|s| {
        let completer = s.spawn(|| {
            let r = store
                .complete_upload(b, "mp", &up, &[(1, None)], &CompleteOptions::default())
                .and_then(|_| store.checkpoint());
            done.store(1, Ordering::SeqCst);
            r
        });
        let t = Instant::now();
        while done.load(Ordering::SeqCst) == 0 && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let in_time = done.load(Ordering::SeqCst) == 1;
        // Ends the paced sleeps either way, so the completion (and the test) can finish.
        store.stop_background_compaction();
        completer.join().unwrap().unwrap();
        in_time
    });
    assert!(completed, "CompleteMultipartUpload and a checkpoint waited 10 s behind a paced rewrite");
    assert_eq!(common::read(&store, b, "mp").unwrap(), common::body(7, 5000));
}

/// Finding 4. An index entry keeps a record's offset as a `u32`, on the grounds that no segment is
/// past 4 GiB. But the group-commit leader puts a whole group into a fresh segment whatever its
/// size, and a group gathers up to `group_bytes` (plus one request), which the builder did not
/// bound: with `group_bytes(u64::MAX)` and enough concurrent large puts a group passes 4 GiB, its
/// records land past the offsets an entry can name (a debug build panics in the leader, a release
/// build indexes them at a wrong place), and the next open refuses the segment as corrupt. Too
/// large to run here (4 GiB queued at once); the option is refused instead.
#[test]
fn a_group_size_that_could_pass_4_gib_is_refused() {
    let e = Store::in_memory_builder().group_bytes(u64::MAX).open().unwrap_err();
    assert_eq!(e.code(), "InvalidArgument", "{e}");
    let e = Store::in_memory_builder().group_bytes(2 << 30).open().unwrap_err();
    assert_eq!(e.code(), "InvalidArgument", "{e}");
    Store::in_memory_builder().group_bytes(1 << 30).open().unwrap();
}

/// Finding 5. A paced rewrite counted (and synced) only the full 256 KiB pieces it wrote; the last
/// piece of each output, flushed by its seal, was never paced. With segments of at most about
/// 256 KiB no piece ever fills, so the pace did nothing at all: here, at 1 byte/s, a rewrite of
/// about 900 KB committed at once.
#[test]
fn a_paced_rewrite_of_small_segments_is_paced() {
    let sim = SimStorage::new();
    let store = common::sim_builder(&sim).partitions(1).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    for i in 0..250u64 {
        store.put_bytes(b, &format!("k{:03}", i % 200), &common::body(i, 3000), &Default::default()).unwrap();
    }
    store
        .start_background_compaction(BackgroundCompaction {
            policy: CompactionPolicy::everything(),
            bytes_per_sec: Some(1),
            concurrent_rewrites: 1,
            interval_ms: 10,
        })
        .unwrap();
    // Absence over a second: a slow machine cannot make a paced rewrite commit sooner.
    std::thread::sleep(Duration::from_secs(1));
    let report = store.background_compaction_report();
    store.stop_background_compaction();
    assert_eq!(report.rewrites, 0, "a rewrite at 1 byte/s committed within a second: {report:?}");
}
