//! Injected I/O errors: the failing call errors, the store then answers `PreviousIo` to every call,
//! and a reopen recovers to a consistent state holding every acknowledged write.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use common::{body, read, sim_builder};
use s3lite::io::{CrashMode, MappedBytes, OpKind, OpenMode, SimStorage, Storage, StorageFile, StorageLock};
use s3lite::{Error, GetOptions, ListOptions, PutOptions, Store};

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

/// The race behind fsyncgate, forced: a large put's commit leader has passed its poison check and
/// is writing the commit record when the writeback thread's sync of the same segment fails (the
/// simulated kernel drops the chunks' dirty pages and reports it once). The leader's own sync comes
/// next; it must fail, or the put is acknowledged with its chunks gone.
#[test]
fn a_commit_racing_a_failed_writeback_sync_of_its_segment_is_not_acknowledged() {
    let sim = SimStorage::new();
    let race = Race::new(sim.clone());
    let open = || {
        common::small(Store::builder("/db").storage(Arc::new(race.clone())))
            .chunk_bytes(16 * 1024)
            .preallocate_bytes(0)
            .background_writeback(true)
    };
    let store = open().open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let big = body(9, 100 * 1024);
    race.arm();
    let put = store.put_bytes(b, "big", &big, &PutOptions::default());
    assert!(race.happened(), "the writeback's failing sync did not meet the commit");
    drop(store);
    sim.crash(CrashMode::DropUnsynced);
    let store = open().open().unwrap();
    match put {
        Ok(_) => assert_eq!(read(&store, b, "big").unwrap(), big, "acknowledged over a failed sync"),
        Err(e) => assert!(matches!(e, Error::Io { .. } | Error::PreviousIo), "{e:?}"),
    }
}

/// A `Storage` over `SimStorage` that stages the race above: the writeback thread's first sync of a
/// segment waits until the leader writes a small record (the commit) and then fails; that write waits
/// until the failure is done.
#[derive(Debug, Clone)]
struct Race {
    sim: SimStorage,
    state: Arc<RaceState>,
}

#[derive(Debug, Default)]
struct RaceState {
    armed: AtomicBool,
    flags: Mutex<(bool, bool)>, // (commit being written, writeback sync failed)
    cv: Condvar,
}

impl Race {
    fn new(sim: SimStorage) -> Race {
        Race { sim, state: Arc::default() }
    }
    fn arm(&self) {
        self.state.armed.store(true, Ordering::SeqCst);
    }
    fn happened(&self) -> bool {
        *self.state.flags.lock().unwrap() == (true, true)
    }
}

impl RaceState {
    fn wait_for(&self, which: fn(&(bool, bool)) -> bool) {
        let mut f = self.flags.lock().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !which(&f) && std::time::Instant::now() < deadline {
            f = self.cv.wait_timeout(f, std::time::Duration::from_millis(50)).unwrap().0;
        }
    }
    fn set(&self, update: fn(&mut (bool, bool))) {
        update(&mut self.flags.lock().unwrap());
        self.cv.notify_all();
    }
}

fn on_writeback_thread() -> bool {
    std::thread::current().name() == Some("s3lite-writeback")
}

#[derive(Debug)]
struct RaceFile {
    inner: Arc<dyn StorageFile>,
    segment: bool,
    sim: SimStorage,
    state: Arc<RaceState>,
}

impl RaceFile {
    fn staged(&self) -> bool {
        self.segment && self.state.armed.load(Ordering::SeqCst)
    }
    fn sync(&self, op: impl FnOnce() -> std::io::Result<()>) -> std::io::Result<()> {
        if self.staged() && on_writeback_thread() && !self.state.flags.lock().unwrap().1 {
            self.state.wait_for(|f| f.0);
            self.sim.fail_nth(OpKind::Sync, 1);
            let r = op();
            self.state.set(|f| f.1 = true);
            return r;
        }
        op()
    }
}

impl StorageFile for RaceFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.inner.read_exact_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        if self.staged() && !on_writeback_thread() && buf.len() < 2048 && !self.state.flags.lock().unwrap().0
        {
            self.state.set(|f| f.0 = true);
            self.state.wait_for(|f| f.1);
        }
        self.inner.write_all_at(buf, offset)
    }
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.inner.set_len(len)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.sync(|| self.inner.sync_data())
    }
    fn sync_all(&self) -> std::io::Result<()> {
        self.sync(|| self.inner.sync_all())
    }
    fn preallocate(&self, len: u64) -> std::io::Result<()> {
        self.inner.preallocate(len)
    }
    fn map(&self) -> std::io::Result<Arc<dyn MappedBytes>> {
        self.inner.map()
    }
}

impl Storage for Race {
    fn create_dir_all(&self, p: &Path) -> std::io::Result<()> {
        self.sim.create_dir_all(p)
    }
    fn open(&self, p: &Path, m: OpenMode) -> std::io::Result<Arc<dyn StorageFile>> {
        let segment = p.extension().is_some_and(|e| e == "seg");
        let inner = self.sim.open(p, m)?;
        Ok(Arc::new(RaceFile { inner, segment, sim: self.sim.clone(), state: self.state.clone() }))
    }
    fn exists(&self, p: &Path) -> std::io::Result<bool> {
        self.sim.exists(p)
    }
    fn rename(&self, f: &Path, t: &Path) -> std::io::Result<()> {
        self.sim.rename(f, t)
    }
    fn remove_file(&self, p: &Path) -> std::io::Result<()> {
        self.sim.remove_file(p)
    }
    fn list_dir(&self, p: &Path) -> std::io::Result<Vec<String>> {
        self.sim.list_dir(p)
    }
    fn sync_dir(&self, p: &Path) -> std::io::Result<()> {
        self.sim.sync_dir(p)
    }
    fn lock(&self, p: &Path) -> std::io::Result<Box<dyn StorageLock>> {
        self.sim.lock(p)
    }
}
