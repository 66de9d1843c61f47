//! A `Storage` over `SimStorage` that calls a hook before every file read and sync. The usual hook,
//! [`Gate`], blocks syncs while it is closed, so that a test can hold a partition leader inside its
//! fdatasync and queue requests behind it in a known order; a test can bring its own (e.g. one
//! that stops a reader between two reads).

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::{Condvar, Mutex};
use s3lite::io::{MappedBytes, OpenMode, SimStorage, Storage, StorageFile, StorageLock};

#[derive(Debug, Default)]
pub struct Gate {
    closed: Mutex<bool>,
    cv: Condvar,
    pub blocked: AtomicUsize,
}

impl Gate {
    pub fn close(&self) {
        *self.closed.lock() = true;
    }
    pub fn open(&self) {
        *self.closed.lock() = false;
        self.cv.notify_all();
    }
    fn pass(&self) {
        let mut c = self.closed.lock();
        if *c {
            self.blocked.fetch_add(1, Ordering::SeqCst);
            while *c {
                self.cv.wait(&mut c);
            }
            self.blocked.fetch_sub(1, Ordering::SeqCst);
        }
    }
    pub fn wait_blocked(&self, n: usize) {
        let t = std::time::Instant::now();
        while self.blocked.load(Ordering::SeqCst) < n {
            assert!(t.elapsed().as_secs() < 10, "nobody blocked at the gate");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

/// What a [`Gated`] storage calls before file operations.
pub trait Hook: std::fmt::Debug + Send + Sync + 'static {
    /// Before every read of a file.
    fn before_read(&self) {}
    /// Before every `sync_data` / `sync_all` of a file.
    fn before_sync(&self) {}
}

impl Hook for Gate {
    fn before_sync(&self) {
        self.pass();
    }
}

#[derive(Debug)]
pub struct Gated<H: Hook = Gate> {
    pub sim: SimStorage,
    pub gate: Arc<H>,
}

impl<H: Hook> Clone for Gated<H> {
    fn clone(&self) -> Self {
        Gated { sim: self.sim.clone(), gate: self.gate.clone() }
    }
}

impl Gated {
    pub fn new(sim: SimStorage) -> Gated {
        Gated { sim, gate: Arc::default() }
    }
}

#[allow(dead_code, reason = "not every test binary brings its own hook")]
impl<H: Hook> Gated<H> {
    pub fn with_hook(sim: SimStorage, hook: Arc<H>) -> Gated<H> {
        Gated { sim, gate: hook }
    }
}

#[derive(Debug)]
struct GatedFile<H: Hook> {
    inner: Arc<dyn StorageFile>,
    gate: Arc<H>,
}

impl<H: Hook> StorageFile for GatedFile<H> {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.gate.before_read();
        self.inner.read_exact_at(buf, offset)
    }
    fn read_append_at(&self, out: &mut Vec<u8>, offset: u64, len: usize) -> io::Result<()> {
        self.gate.before_read();
        self.inner.read_append_at(out, offset, len)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.inner.write_all_at(buf, offset)
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.gate.before_sync();
        self.inner.sync_data()
    }
    fn sync_all(&self) -> io::Result<()> {
        self.gate.before_sync();
        self.inner.sync_all()
    }
    fn preallocate(&self, len: u64) -> io::Result<()> {
        self.inner.preallocate(len)
    }
    fn map(&self) -> io::Result<Arc<dyn MappedBytes>> {
        self.inner.map()
    }
}

impl<H: Hook> Storage for Gated<H> {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.sim.create_dir_all(path)
    }
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn StorageFile>> {
        let inner = self.sim.open(path, mode)?;
        Ok(Arc::new(GatedFile { inner, gate: self.gate.clone() }))
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.sim.exists(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.sim.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.sim.remove_file(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        self.sim.list_dir(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.sim.sync_dir(path)
    }
    fn lock(&self, path: &Path) -> io::Result<Box<dyn StorageLock>> {
        self.sim.lock(path)
    }
}
