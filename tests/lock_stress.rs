//! Every kind of call at once on one store, under a deadlock watchdog: catalog writers (bucket
//! creation and deletion, accounts, access keys, versioning changes), conditional puts, delete
//! markers and version deletes whose conditions fail and hold, slow streaming puts, listings,
//! reads and deletes. A run that has not finished by its deadline is a deadlock (or a store
//! frozen behind one slow call): the test fails and prints what each worker was doing, and since
//! when, instead of hanging.
//!
//! Two defects this guards against: a call that holds the catalog's read lock and takes it again
//! (parking_lot's lock is fair, so a catalog writer queued between the two acquisitions blocks the
//! second one for good), and a put that holds the catalog lock while it reads its body (one slow
//! upload then blocks every catalog writer, and every later call queues behind that writer).
//!
//! `cargo test --release --test lock_stress -- --ignored --nocapture` runs the mixed workload ten
//! more times on each store.

mod common;

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{body, read};
use s3lite::crypto::{KeyProvider, MasterKeys};
use s3lite::s3::types::BucketVersioningStatus;
use s3lite::{BucketId, Error, ListOptions, NewVersion, PutOptions, Store, VersionId, WriteCondition};

/// The default workload takes a few seconds; one still running after this is stuck.
const DEADLINE: Duration = Duration::from_secs(60);

/// How long the slow body of the progress test holds back its last bytes waiting for a catalog
/// write and other puts to complete. On a store where they cannot (they queue behind the slow put),
/// the wait ends here and the test fails; where they can, it ends as soon as they have.
const PROGRESS_WAIT: Duration = Duration::from_secs(15);

/// An ETag no object has.
const WRONG_ETAG: &str = "\"00000000000000000000000000000000\"";

// ----- the watchdog ------------------------------------------------------------------------------

/// What each worker last said it was doing, and when; printed if the run misses its deadline.
struct Board {
    started: Instant,
    names: Vec<&'static str>,
    slots: Vec<Mutex<Slot>>,
}

#[derive(Default)]
struct Slot {
    what: String,
    iteration: u64,
    at: Duration,
    finished: bool,
}

impl Board {
    fn render(&self) -> String {
        let mut out = String::new();
        let mut last = Duration::ZERO;
        for (name, slot) in self.names.iter().zip(&self.slots) {
            let s = slot.lock().unwrap_or_else(|p| p.into_inner());
            let state = if s.finished { "finished" } else { "stuck" };
            last = last.max(s.at);
            out += &format!(
                "  {name}: {state}; last: {} (iteration {}), at {:.3} s\n",
                s.what,
                s.iteration,
                s.at.as_secs_f64()
            );
        }
        out + &format!("  (the last recorded step was at {:.3} s)\n", last.as_secs_f64())
    }
}

/// A worker's handle on the board.
#[derive(Clone)]
struct Tracker {
    board: Arc<Board>,
    me: usize,
}

impl Tracker {
    fn doing(&self, iteration: u64, what: impl Into<String>) {
        let at = self.board.started.elapsed();
        let mut s = self.board.slots[self.me].lock().unwrap();
        (s.what, s.iteration, s.at) = (what.into(), iteration, at);
    }
}

/// Marks its worker finished (or panicked) and tells the watchdog, however the worker ends.
struct Done {
    tracker: Tracker,
    tx: mpsc::Sender<()>,
}

impl Drop for Done {
    fn drop(&mut self) {
        let at = self.tracker.board.started.elapsed();
        let mut s = self.tracker.board.slots[self.tracker.me].lock().unwrap_or_else(|p| p.into_inner());
        s.finished = true;
        if thread::panicking() {
            s.what = format!("PANICKED during: {}", s.what);
        }
        s.at = at;
        drop(s);
        let _ = self.tx.send(());
    }
}

type Work = Box<dyn FnOnce(&Tracker) + Send>;

/// Runs the workers on their own threads and waits for all of them, at most `deadline`. Past it,
/// fails with every worker's last state; the stuck threads are left behind (the test binary's
/// exit ends them), so a deadlock fails the test rather than hanging it. A worker's panic is
/// re-raised once all have finished. Returns the time taken and the workers' final states.
fn run_watched(deadline: Duration, workers: Vec<(&'static str, Work)>) -> (Duration, String) {
    let board = Arc::new(Board {
        started: Instant::now(),
        names: workers.iter().map(|(name, _)| *name).collect(),
        slots: workers.iter().map(|_| Mutex::default()).collect(),
    });
    let (tx, rx) = mpsc::channel();
    let mut handles = Vec::new();
    for (me, (name, work)) in workers.into_iter().enumerate() {
        let tracker = Tracker { board: board.clone(), me };
        let done = Done { tracker: tracker.clone(), tx: tx.clone() };
        let spawned = thread::Builder::new().name(name.into()).spawn(move || {
            let _done = done;
            work(&tracker);
        });
        handles.push(spawned.unwrap());
    }
    drop(tx);
    for _ in 0..handles.len() {
        let left = deadline.saturating_sub(board.started.elapsed());
        if rx.recv_timeout(left).is_err() {
            panic!(
                "deadlock: the workers did not all finish within {deadline:?}; each worker's last \
                 recorded state:\n{}",
                board.render()
            );
        }
    }
    for h in handles {
        if let Err(panic) = h.join() {
            std::panic::resume_unwind(panic);
        }
    }
    (board.started.elapsed(), board.render())
}

// ----- slow bodies -------------------------------------------------------------------------------

/// A body that arrives slowly: at most `piece` bytes per read, each after a `pause`. Before handing
/// out its last bytes it calls `before_end` (the progress test holds the body open there).
struct SlowBody {
    data: Vec<u8>,
    at: usize,
    piece: usize,
    pause: Duration,
    on_first_read: Option<Box<dyn FnOnce() + Send>>,
    before_end: Option<Box<dyn FnOnce() + Send>>,
}

impl SlowBody {
    fn new(data: Vec<u8>, piece: usize, pause: Duration) -> SlowBody {
        SlowBody { data, at: 0, piece, pause, on_first_read: None, before_end: None }
    }
}

impl Read for SlowBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(f) = self.on_first_read.take() {
            f();
        }
        if self.at == self.data.len() {
            return Ok(0);
        }
        thread::sleep(self.pause);
        let n = buf.len().min(self.piece).min(self.data.len() - self.at);
        if self.at + n == self.data.len()
            && let Some(f) = self.before_end.take()
        {
            f();
        }
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

// ----- helpers -----------------------------------------------------------------------------------

/// A store with master keys: every put is sealed (SSE-S3 by default), and the mixed workload's
/// rotation worker rotates, rewraps and retires keys under everything else.
fn store(on_disk: bool, dir: &tempfile::TempDir, keys: &Arc<MasterKeys>) -> Store {
    let builder = if on_disk { Store::builder(dir.path()) } else { Store::in_memory_builder() };
    common::encrypted(common::small(builder), keys).open().unwrap()
}

fn if_absent() -> PutOptions {
    PutOptions { condition: Some(WriteCondition::IfAbsent), ..PutOptions::default() }
}

fn if_etag(etag: &str) -> PutOptions {
    PutOptions { condition: Some(WriteCondition::IfETagMatches(etag.into())), ..PutOptions::default() }
}

/// The call must fail its precondition, and the error must name the bucket.
#[track_caller]
fn expect_precondition_failed<T: std::fmt::Debug>(got: s3lite::Result<T>, bucket: &str, key: &str) {
    match got {
        Err(Error::PreconditionFailed { bucket: b, key: k, .. }) if b == bucket && k == key => {}
        other => panic!("{bucket}/{key}: expected PreconditionFailed naming the bucket, got {other:?}"),
    }
}

// ----- the mixed workload ------------------------------------------------------------------------

/// Keys whose conditional writes all fail, so they must end as they started.
const FIXED_KEYS: u64 = 16;

fn fixed_key(i: u64) -> String {
    format!("fixed/k{}", i % FIXED_KEYS)
}

fn fixed_body(i: u64) -> Vec<u8> {
    body(7_000 + i % FIXED_KEYS, 100 + (i % FIXED_KEYS) as usize * 150)
}

/// Counts the workers that drive the run (a fixed number of calls each); the others (catalog
/// writers and failing conditional calls) go on until it reaches zero, so that they race each other
/// for the whole run.
#[derive(Clone)]
struct Drivers(Arc<AtomicUsize>);

impl Drivers {
    /// True while any driver runs, and for at least `min` iterations.
    fn running(&self, i: u64, min: u64) -> bool {
        i < min || self.0.load(Ordering::SeqCst) > 0
    }

    /// Wraps a driver's work so that it counts as finished however it ends.
    fn drive(&self, work: impl FnOnce(&Tracker) + Send + 'static) -> Work {
        struct Finished(Arc<AtomicUsize>);
        impl Drop for Finished {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.0.fetch_add(1, Ordering::SeqCst);
        let finished = Finished(self.0.clone());
        Box::new(move |t| {
            let _finished = finished;
            work(t);
        })
    }
}

/// Every worker at once. The drivers (conditional puts that hold, slow streaming puts, puts and
/// deletes) make a number of calls that `n` scales; catalog writers, failing conditional calls and
/// listings repeat until the drivers are done (at least `n` times). The slow puts set the pace:
/// `n / 20` bodies of about 0.25 s each.
fn mixed_workload(on_disk: bool, n: u64, deadline: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MasterKeys::generate());
    let store = store(on_disk, &dir, &keys);
    let b = store.create_bucket("b").unwrap();
    store.create_bucket("vers").unwrap();
    for i in 0..FIXED_KEYS {
        store.put_bytes(b, &fixed_key(i), &fixed_body(i), &PutOptions::default()).unwrap();
    }
    let accounts_before = store.accounts().len();
    let accounts_made = Arc::new(AtomicU64::new(0));
    let slow_puts = (n / 20).max(2);
    let drivers = Drivers(Arc::new(AtomicUsize::new(0)));

    let mut workers: Vec<(&'static str, Work)> = Vec::new();
    let s = store.clone();
    workers.push(("holding conditional puts", drivers.drive(move |t| holding_puts(&s, b, n, t))));
    let s = store.clone();
    workers.push(("slow streaming puts", drivers.drive(move |t| slow_puts_worker(&s, b, slow_puts, t))));
    let s = store.clone();
    workers.push(("puts and deletes", drivers.drive(move |t| puts_and_deletes(&s, b, n, t))));
    for w in 0..3 {
        let (s, d) = (store.clone(), drivers.clone());
        workers.push(("failing conditional puts", Box::new(move |t| failing_puts(&s, b, w, &d, n, t))));
    }
    let (s, d) = (store.clone(), drivers.clone());
    workers.push(("listings and reads", Box::new(move |t| listings(&s, b, &d, n, t))));
    let (s, d) = (store.clone(), drivers.clone());
    workers.push(("conditional deletes", Box::new(move |t| failing_deletes(&s, b, &d, n, t))));
    let (s, d) = (store.clone(), drivers.clone());
    workers.push(("bucket churn", Box::new(move |t| bucket_churn(&s, &d, n, t))));
    let (s, d) = (store.clone(), drivers.clone());
    workers.push(("bucket catalog", Box::new(move |t| bucket_catalog(&s, &d, n, t))));
    let (s, d, made) = (store.clone(), drivers.clone(), accounts_made.clone());
    workers
        .push(("accounts and versioning", Box::new(move |t| accounts_and_versioning(&s, &d, n, &made, t))));

    let (s, d) = (store.clone(), drivers.clone());
    workers.push(("compaction and scrub", Box::new(move |t| compaction_and_scrub(&s, &d, n, t))));
    let (s, d) = (store.clone(), drivers.clone());
    workers
        .push(("multipart uploads and checkpoints", Box::new(move |t| multipart_uploads(&s, b, &d, n, t))));
    let (s, d) = (store.clone(), drivers.clone());
    workers.push(("key rotation", Box::new(move |t| key_rotation(&s, &keys, &d, n, t))));
    let s = store.clone();
    s.start_background_compaction(s3lite::BackgroundCompaction {
        policy: s3lite::CompactionPolicy::everything(),
        interval_ms: 1,
        ..Default::default()
    })
    .unwrap();

    let (took, states) = run_watched(deadline, workers);
    store.stop_background_compaction();
    println!(
        "mixed workload (on disk: {on_disk}, n = {n}) finished in {:.2} s:\n{states}",
        took.as_secs_f64()
    );

    // Failed conditions changed nothing; the catalog holds exactly what the workers left.
    for i in 0..FIXED_KEYS {
        assert_eq!(read(&store, b, &fixed_key(i)).unwrap(), fixed_body(i), "{}", fixed_key(i));
    }
    for i in 0..n {
        assert_eq!(read(&store, b, &format!("held/{i}")).unwrap(), body(20_000 + i, 600), "held/{i}");
    }
    for i in 0..slow_puts {
        assert_eq!(read(&store, b, &format!("slow/{i}")).unwrap(), slow_body(i), "slow/{i}");
    }
    let names: Vec<String> = store.list_buckets().unwrap().into_iter().map(|b| b.name).collect();
    assert_eq!(names, ["b", "vers"], "scratch buckets left behind");
    assert_eq!(store.accounts().len(), accounts_before + accounts_made.load(Ordering::SeqCst) as usize);
}

/// Creates and deletes an empty bucket, as fast as it can, while the drivers run.
fn bucket_churn(store: &Store, drivers: &Drivers, min: u64, t: &Tracker) {
    let mut i = 0;
    while drivers.running(i, min) {
        let name = format!("churn-{i}");
        t.doing(i, format!("create_bucket {name}"));
        store.create_bucket(&name).unwrap();
        t.doing(i, format!("delete_bucket {name}"));
        store.delete_bucket(&name).unwrap();
        i += 1;
    }
}

/// Creates a scratch bucket, fails to delete it while it holds an object, empties it, deletes it.
fn bucket_catalog(store: &Store, drivers: &Drivers, min: u64, t: &Tracker) {
    let mut i = 0;
    while drivers.running(i, min) {
        let name = format!("scratch-{i}");
        t.doing(i, format!("create_bucket {name}"));
        let id = store.create_bucket(&name).unwrap();
        t.doing(i, format!("put into {name}"));
        store.put_bytes(id, "k", b"x", &PutOptions::default()).unwrap();
        t.doing(i, format!("delete_bucket {name} (not empty)"));
        assert!(matches!(store.delete_bucket(&name), Err(Error::BucketNotEmpty { .. })));
        t.doing(i, format!("delete {name}/k"));
        store.delete(id, "k").unwrap();
        t.doing(i, format!("delete_bucket {name}"));
        store.delete_bucket(&name).unwrap();
        i += 1;
    }
}

/// Accounts, access keys and versioning changes: catalog writes that are not buckets.
fn accounts_and_versioning(store: &Store, drivers: &Drivers, min: u64, made: &AtomicU64, t: &Tracker) {
    let client = store.client();
    let mut i = 0;
    while drivers.running(i, min) {
        t.doing(i, "create_account");
        let account = store.create_account(&format!("account-{i}")).unwrap();
        made.fetch_add(1, Ordering::SeqCst);
        t.doing(i, "create_access_key");
        let key = store.create_access_key(&account).unwrap();
        t.doing(i, "authenticate");
        assert_eq!(store.authenticate(&key).unwrap(), account);
        let status =
            if i % 2 == 0 { BucketVersioningStatus::Enabled } else { BucketVersioningStatus::Suspended };
        t.doing(i, format!("put_bucket_versioning vers {status:?}"));
        client.put_bucket_versioning().bucket("vers").status(status).send().unwrap();
        i += 1;
    }
}

/// Conditional puts on keys that exist, with conditions that never hold.
fn failing_puts(store: &Store, b: BucketId, w: u64, drivers: &Drivers, min: u64, t: &Tracker) {
    let mut i = 0;
    while drivers.running(i, min) {
        let key = fixed_key(i + w * 5);
        let junk = body(i, 50);
        t.doing(i, format!("put {key} if absent (must fail)"));
        expect_precondition_failed(store.put_bytes(b, &key, &junk, &if_absent()), "b", &key);
        t.doing(i, format!("put {key} if ETag matches a wrong one (must fail)"));
        expect_precondition_failed(store.put(b, &key, &junk[..], &if_etag(WRONG_ETAG)), "b", &key);
        i += 1;
    }
}

/// Conditional puts whose conditions hold: a fresh key if absent, then an overwrite by its ETag;
/// then a repeated if-absent, which must fail.
fn holding_puts(store: &Store, b: BucketId, n: u64, t: &Tracker) {
    for i in 0..n {
        let key = format!("held/{i}");
        t.doing(i, format!("put {key} if absent (must succeed)"));
        let first = store.put_bytes(b, &key, &body(10_000 + i, 300), &if_absent()).unwrap();
        t.doing(i, format!("put {key} if ETag matches (must succeed)"));
        store.put_bytes(b, &key, &body(20_000 + i, 600), &if_etag(&first.e_tag)).unwrap();
        t.doing(i, format!("put {key} if absent again (must fail)"));
        expect_precondition_failed(store.put_bytes(b, &key, b"late", &if_absent()), "b", &key);
    }
}

/// Delete markers and version deletes whose conditions fail.
fn failing_deletes(store: &Store, b: BucketId, drivers: &Drivers, min: u64, t: &Tracker) {
    let wrong = WriteCondition::IfETagMatches(WRONG_ETAG.into());
    let mut i = 0;
    while drivers.running(i, min) {
        let key = fixed_key(i);
        t.doing(i, format!("put_delete_marker {key} if ETag matches a wrong one (must fail)"));
        expect_precondition_failed(
            store.put_delete_marker(b, &key, NewVersion::Unique, Some(&wrong)),
            "b",
            &key,
        );
        t.doing(i, format!("put_delete_marker {key} if absent (must fail)"));
        let absent = WriteCondition::IfAbsent;
        expect_precondition_failed(
            store.put_delete_marker(b, &key, NewVersion::Null, Some(&absent)),
            "b",
            &key,
        );
        t.doing(i, format!("delete_version {key} null if ETag matches a wrong one (must fail)"));
        expect_precondition_failed(store.delete_version(b, &key, VersionId::NULL, Some(&wrong)), "b", &key);
        i += 1;
    }
}

fn slow_body(i: u64) -> Vec<u8> {
    // Above the inline limit of `common::small` (1 KiB), so chunked (4 KiB chunks).
    body(30_000 + i, 24 * 1024 + 100)
}

/// Streaming puts whose bodies arrive in small pieces with pauses (~0.25 s per body).
fn slow_puts_worker(store: &Store, b: BucketId, n: u64, t: &Tracker) {
    for i in 0..n {
        let key = format!("slow/{i}");
        t.doing(i, format!("slow streaming put {key}"));
        let slow = SlowBody::new(slow_body(i), 512, Duration::from_millis(5));
        store.put(b, &key, slow, &PutOptions::default()).unwrap();
    }
}

/// Listings, bucket lookups and reads of keys that never change.
fn listings(store: &Store, b: BucketId, drivers: &Drivers, min: u64, t: &Tracker) {
    let mut i = 0;
    while drivers.running(i, min) {
        t.doing(i, "list fixed/");
        let page = store.list(b, &ListOptions { prefix: "fixed/".into(), ..ListOptions::default() }).unwrap();
        assert_eq!(page.entries.len(), FIXED_KEYS as usize, "a failed condition changed the listing");
        t.doing(i, "list_buckets, bucket b");
        assert!(store.list_buckets().unwrap().iter().any(|info| info.name == "b"));
        assert_eq!(store.bucket("b").unwrap().id, b);
        let key = fixed_key(i);
        t.doing(i, format!("get {key}"));
        assert_eq!(read(store, b, &key).unwrap(), fixed_body(i), "{key}");
        i += 1;
    }
}

/// On-demand compactions (active segments sealed too) and scrubs, beside the background compactor,
/// while the drivers run.
fn compaction_and_scrub(store: &Store, drivers: &Drivers, min: u64, t: &Tracker) {
    let mut i = 0;
    while drivers.running(i, min) {
        t.doing(i, "compact everything");
        store.compact_with(&s3lite::CompactionPolicy::everything()).unwrap();
        t.doing(i, "scrub");
        let report = store.scrub().unwrap();
        assert!(report.damaged.is_empty(), "{report:?}");
        i += 1;
    }
}

/// Rotates the master key, rewraps what the old one wrapped and retires it, while the drivers
/// run: a retirement waits for puts still sealing under the key; one that finds versions written
/// by such puts after the rewrap is refused (`KeyInUse`), and the next round rewraps them.
fn key_rotation(store: &Store, keys: &MasterKeys, drivers: &Drivers, min: u64, t: &Tracker) {
    let mut i = 0;
    let mut old_keys = Vec::new();
    while drivers.running(i, min.min(50)) {
        t.doing(i, "rotate");
        old_keys.push(keys.active_key().unwrap());
        keys.rotate().unwrap();
        let mut still = Vec::new();
        for old in old_keys.drain(..) {
            t.doing(i, format!("rewrap {old}"));
            store.rewrap(old).unwrap();
            t.doing(i, format!("retire {old}"));
            match store.retire_key(old) {
                Ok(_) => {}
                Err(Error::KeyInUse { .. }) => still.push(old),
                Err(e) => panic!("retire {old}: {e}"),
            }
        }
        old_keys = still;
        i += 1;
    }
}

/// Multipart uploads begun, given parts, completed (read back) or aborted, with checkpoints between:
/// completion takes the partition's rewrite lock, as compaction and checkpoints do.
fn multipart_uploads(store: &Store, b: BucketId, drivers: &Drivers, min: u64, t: &Tracker) {
    let mut i = 0;
    while drivers.running(i, min) {
        let key = format!("mp/{}", i % 8);
        t.doing(i, format!("create upload {key}"));
        let id = store.create_upload(b, &key, &s3lite::UploadOptions::default()).unwrap().upload_id;
        let (p1, p2) = (body(40_000 + i, 5000), body(50_000 + i, 1500));
        t.doing(i, format!("upload parts of {key}"));
        store.upload_part(b, &key, &id, 1, &p1[..], &s3lite::PartOptions::default()).unwrap();
        store.upload_part(b, &key, &id, 2, &p2[..], &s3lite::PartOptions::default()).unwrap();
        if i % 3 == 2 {
            t.doing(i, format!("abort {key}"));
            store.abort_upload(b, &key, &id).unwrap();
        } else {
            t.doing(i, format!("complete {key}"));
            store
                .complete_upload(b, &key, &id, &[(1, None), (2, None)], &s3lite::CompleteOptions::default())
                .unwrap();
            t.doing(i, format!("read {key}"));
            assert_eq!(read(store, b, &key).unwrap(), [p1, p2].concat(), "{key}");
        }
        if i % 4 == 0 {
            t.doing(i, "checkpoint");
            store.checkpoint().unwrap();
        }
        i += 1;
    }
}

/// Plain puts and deletes across partitions.
fn puts_and_deletes(store: &Store, b: BucketId, n: u64, t: &Tracker) {
    for i in 0..n {
        let key = format!("plain/{}", i % 32);
        t.doing(i, format!("put {key}"));
        store
            .put_bytes(b, &key, &body(i, [10usize, 2000, 5000][(i % 3) as usize]), &PutOptions::default())
            .unwrap();
        let gone = format!("plain/{}", (i + 16) % 32);
        t.doing(i, format!("delete {gone}"));
        store.delete(b, &gone).unwrap();
    }
}

/// The default suite's size: 7 slow puts, a run of about 2 s.
const DEFAULT_N: u64 = 150;

#[test]
fn mixed_workload_on_disk_finishes() {
    mixed_workload(true, DEFAULT_N, DEADLINE);
}

#[test]
fn mixed_workload_in_memory_finishes() {
    mixed_workload(false, DEFAULT_N, DEADLINE);
}

#[test]
#[ignore = "long run: cargo test --release --test lock_stress -- --ignored --nocapture"]
fn mixed_workload_long() {
    for _ in 0..10 {
        for on_disk in [true, false] {
            mixed_workload(on_disk, DEFAULT_N, DEADLINE);
        }
    }
}

// ----- progress while a slow put streams ---------------------------------------------------------

/// What has happened while the slow put streams, in order.
#[derive(Default)]
struct Progress {
    body_started: bool,
    create_bucket_called: bool,
    create_bucket_returned: bool,
    /// Puts that returned after `create_bucket` was called.
    puts_done: u64,
    slow_put_returned: bool,
    /// The state when the slow body handed out its last bytes.
    at_body_end: Option<(bool, u64)>,
    events: Vec<String>,
}

/// Puts that must complete while the slow put streams (and after the catalog write was issued).
const PUTS_WANTED: u64 = 20;

type Shared = Arc<(Mutex<Progress>, Condvar)>;

/// Applies `f` and logs the event it names.
fn record(shared: &Shared, f: impl FnOnce(&mut Progress) -> &'static str) {
    let mut p = shared.0.lock().unwrap();
    let event = f(&mut p);
    p.events.push(event.into());
    shared.1.notify_all();
}

/// Waits until `what` holds. No timeout of its own: the watchdog bounds the whole run.
fn wait_for(shared: &Shared, what: fn(&Progress) -> bool) {
    let p = shared.0.lock().unwrap();
    drop(shared.1.wait_while(p, |p| !what(p)).unwrap());
}

/// While one put streams a slow body, a `create_bucket` completes and other puts keep completing.
/// The slow body does not end until they have (or until `PROGRESS_WAIT`), so the order of events,
/// not their speed, decides.
fn progress_during_slow_put(on_disk: bool) {
    let dir = tempfile::tempdir().unwrap();
    let store = store(on_disk, &dir, &Arc::new(MasterKeys::generate()));
    let b = store.create_bucket("b").unwrap();
    let shared: Shared = Arc::new((Mutex::new(Progress::default()), Condvar::new()));
    let slow_data = body(99, 64 * 1024);
    let stop = Arc::new(AtomicBool::new(false));

    let mut workers: Vec<(&'static str, Work)> = Vec::new();
    {
        let (s, shared, data, stop) = (store.clone(), shared.clone(), slow_data.clone(), stop.clone());
        workers.push((
            "slow put",
            Box::new(move |t| {
                let mut slow = SlowBody::new(data, 512, Duration::from_millis(8));
                let on_start = shared.clone();
                slow.on_first_read = Some(Box::new(move || {
                    record(&on_start, |p| {
                        p.body_started = true;
                        "slow body: first read"
                    })
                }));
                let at_end = shared.clone();
                slow.before_end = Some(Box::new(move || {
                    let p = at_end.0.lock().unwrap();
                    let (mut p, _) = at_end
                        .1
                        .wait_timeout_while(p, PROGRESS_WAIT, |p| {
                            !(p.create_bucket_returned && p.puts_done >= PUTS_WANTED)
                        })
                        .unwrap();
                    p.at_body_end = Some((p.create_bucket_returned, p.puts_done));
                    let event = format!(
                        "slow body: last bytes (create_bucket returned: {}, puts done: {})",
                        p.create_bucket_returned, p.puts_done
                    );
                    p.events.push(event);
                }));
                t.doing(0, "slow streaming put");
                s.put(b, "slow", slow, &PutOptions::default()).unwrap();
                stop.store(true, Ordering::SeqCst);
                record(&shared, |p| {
                    p.slow_put_returned = true;
                    "slow put returned"
                });
            }),
        ));
    }
    {
        let (s, shared) = (store.clone(), shared.clone());
        workers.push((
            "catalog writer",
            Box::new(move |t| {
                t.doing(0, "waiting for the slow body to start");
                wait_for(&shared, |p| p.body_started);
                record(&shared, |p| {
                    p.create_bucket_called = true;
                    "create_bucket called"
                });
                t.doing(0, "create_bucket during-slow-put");
                s.create_bucket("during-slow-put").unwrap();
                record(&shared, |p| {
                    p.create_bucket_returned = true;
                    "create_bucket returned"
                });
            }),
        ));
    }
    {
        let (s, shared, stop) = (store.clone(), shared.clone(), stop.clone());
        workers.push((
            "other puts",
            Box::new(move |t| {
                t.doing(0, "waiting for create_bucket to be called");
                wait_for(&shared, |p| p.create_bucket_called);
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let key = format!("other/{}", i % 16);
                    t.doing(i, format!("put {key}"));
                    s.put_bytes(b, &key, &body(i, 200), &PutOptions::default()).unwrap();
                    let mut p = shared.0.lock().unwrap();
                    p.puts_done += 1;
                    shared.1.notify_all();
                    i += 1;
                }
            }),
        ));
    }
    let (took, _) = run_watched(DEADLINE, workers);
    println!("progress during a slow put (on disk: {on_disk}) finished in {:.2} s", took.as_secs_f64());

    let p = shared.0.lock().unwrap();
    let events = &p.events;
    let (created, puts) = p.at_body_end.expect("the slow body ended");
    assert!(
        created,
        "create_bucket did not return while a put streamed its body (the body's last bytes were held \
         back {PROGRESS_WAIT:?} waiting for it); events: {events:#?}"
    );
    assert!(
        puts >= PUTS_WANTED,
        "only {puts} other puts completed while a put streamed its body and a catalog write was \
         pending; events: {events:#?}"
    );
    let at = |e: &str| events.iter().position(|x| x == e).unwrap();
    assert!(at("create_bucket returned") < at("slow put returned"), "{events:#?}");
    assert!(p.slow_put_returned);
    drop(p);
    assert_eq!(read(&store, b, "slow").unwrap(), slow_data);
    assert!(store.bucket("during-slow-put").is_ok());
}

#[test]
fn slow_put_does_not_block_catalog_writes_or_other_puts_on_disk() {
    progress_during_slow_put(true);
}

#[test]
fn slow_put_does_not_block_catalog_writes_or_other_puts_in_memory() {
    progress_during_slow_put(false);
}
