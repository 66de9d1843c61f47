//! An in-memory file system for tests and ephemeral stores.
//!
//! Each file keeps the bytes the process sees (volatile) and the bytes a crash would keep (durable),
//! plus the writes since its last sync. Each directory keeps its entries as seen and as durable, plus
//! the entry operations since its last `sync_dir`. [`SimStorage::crash`] rebuilds a post-crash image:
//! directories keep a random prefix of their unsynced operations (journaled metadata is ordered); each
//! unsynced file write is dropped, applied, or torn at 512-byte sector granularity, in random order.
//! Directories themselves are durable on creation (the engine creates them once, at store creation,
//! and syncs their parents anyway).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::{MappedBytes, OpenMode, Storage, StorageFile, StorageLock};

const SECTOR_BYTES: u64 = 512;

/// Kinds of operation, for fault injection and counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// File creation.
    Create,
    /// Positional write or append.
    Write,
    /// Truncate or extend.
    SetLen,
    /// `fdatasync` or `fsync` of a file.
    Sync,
    /// `fsync` of a directory.
    SyncDir,
    /// Rename.
    Rename,
    /// Unlink.
    Remove,
    /// Read.
    Read,
}

impl OpKind {
    fn mutates(self) -> bool {
        !matches!(self, OpKind::Read)
    }
}

/// How [`SimStorage::crash`] treats unsynced state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashMode {
    /// Keep only what was synced.
    DropUnsynced,
    /// Keep, tear or drop each unsynced write, in an order chosen by the seed.
    Random(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    File(u64),
    Dir,
}

#[derive(Debug, Clone)]
enum DirOp {
    Set(String, Entry),
    Remove(String),
}

#[derive(Debug, Default, Clone)]
struct SimDir {
    entries: BTreeMap<String, Entry>,
    durable: BTreeMap<String, Entry>,
    pending: Vec<DirOp>,
}

#[derive(Debug, Clone)]
enum Pending {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

#[derive(Debug, Default, Clone)]
struct SimFile {
    data: Vec<u8>,
    durable: Vec<u8>,
    pending: Vec<Pending>,
}

fn apply(buf: &mut Vec<u8>, p: &Pending) {
    match p {
        Pending::Write { offset, data } => write_into(buf, *offset, data),
        Pending::SetLen(len) => buf.resize(*len as usize, 0),
    }
}

fn write_into(buf: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let end = offset as usize + data.len();
    if buf.len() < end {
        buf.resize(end, 0);
    }
    buf[offset as usize..end].copy_from_slice(data);
}

#[derive(Debug, Default, Clone)]
struct SimState {
    files: HashMap<u64, SimFile>,
    dirs: BTreeMap<PathBuf, SimDir>,
    next_ino: u64,
    locks: Vec<PathBuf>,
    epoch: u64,
    mutating_ops: u64,
    freeze_after: Option<u64>,
    faults: Vec<(OpKind, u64)>,
    counts: HashMap<OpKind, u64>,
}

fn eio(what: &str) -> io::Error {
    io::Error::other(format!("simulated I/O error: {what}"))
}

fn split(path: &Path) -> io::Result<(PathBuf, String)> {
    let parent = path.parent().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no parent"))?;
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no name"))?;
    Ok((parent.to_path_buf(), name.to_string_lossy().into_owned()))
}

impl SimState {
    fn begin(&mut self, kind: OpKind) -> io::Result<()> {
        *self.counts.entry(kind).or_default() += 1;
        if kind.mutates() {
            self.mutating_ops += 1;
            if self.freeze_after.is_some_and(|f| self.mutating_ops > f) {
                return Err(eio("the machine crashed at this point"));
            }
        }
        for fault in &mut self.faults {
            if fault.0 == kind && fault.1 > 0 {
                fault.1 -= 1;
                if fault.1 == 0 {
                    return Err(eio("injected fault"));
                }
            }
        }
        Ok(())
    }

    fn dir(&mut self, path: &Path) -> io::Result<&mut SimDir> {
        self.dirs.get_mut(path).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("no directory {}", path.display()))
        })
    }

    /// Inodes some directory entry names (the rest are unlinked and die with a crash).
    fn linked_files(&self) -> std::collections::HashSet<u64> {
        self.dirs
            .values()
            .flat_map(|d| d.entries.values())
            .filter_map(|e| if let Entry::File(ino) = e { Some(*ino) } else { None })
            .collect()
    }

    fn lookup(&self, path: &Path) -> Option<Entry> {
        if self.dirs.contains_key(path) {
            return Some(Entry::Dir);
        }
        let (parent, name) = split(path).ok()?;
        self.dirs.get(&parent)?.entries.get(&name).copied()
    }
}

/// The simulated file system. Cloning shares the same state.
#[derive(Clone, Default)]
pub struct SimStorage {
    state: Arc<Mutex<SimState>>,
}

impl std::fmt::Debug for SimStorage {
    /// A summary: the contents would drown any error message that includes a store.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.lock();
        let bytes: usize = s.files.values().map(|file| file.data.len()).sum();
        f.debug_struct("SimStorage")
            .field("files", &s.files.len())
            .field("bytes", &bytes)
            .field("epoch", &s.epoch)
            .field("mutating_ops", &s.mutating_ops)
            .finish()
    }
}

impl SimStorage {
    /// An empty file system.
    #[must_use]
    pub fn new() -> SimStorage {
        SimStorage::default()
    }

    /// Operations that changed (or tried to change) the file system so far: the crash points.
    #[must_use]
    pub fn mutating_ops(&self) -> u64 {
        self.state.lock().mutating_ops
    }

    /// After `n` more mutating operations, every further one fails as if the machine had stopped;
    /// then call [`SimStorage::crash`] and reopen.
    pub fn freeze_after(&self, n: u64) {
        let mut s = self.state.lock();
        s.freeze_after = Some(s.mutating_ops + n);
    }

    /// Makes the `n`-th next operation of `kind` (1 = the next one) fail with an I/O error.
    pub fn fail_nth(&self, kind: OpKind, n: u64) {
        self.state.lock().faults.push((kind, n.max(1)));
    }

    /// An independent copy of the whole file system as it is now (volatile and durable images, and
    /// what is pending between them), as if the machine had been cloned with its page cache. Handles
    /// and locks of the original do not carry over; injected faults and freezes neither.
    #[must_use]
    pub fn fork(&self) -> SimStorage {
        let mut copy = self.state.lock().clone();
        copy.locks.clear();
        copy.epoch += 1;
        copy.freeze_after = None;
        copy.faults.clear();
        SimStorage { state: Arc::new(Mutex::new(copy)) }
    }

    /// Paths of every file, sorted (to show that recovery deleted nothing).
    #[must_use]
    pub fn file_paths(&self) -> Vec<PathBuf> {
        let s = self.state.lock();
        let mut out: Vec<PathBuf> = s
            .dirs
            .iter()
            .flat_map(|(dir, d)| {
                d.entries.iter().filter(|(_, e)| matches!(e, Entry::File(_))).map(move |(n, _)| dir.join(n))
            })
            .collect();
        out.sort();
        out
    }

    /// Simulates a process kill (SIGKILL, a panic that aborts): the process's handles and locks die,
    /// but the page cache survives. Every file keeps the bytes the process saw, and what was not
    /// synced stays unsynced: a later [`SimStorage::crash`] (power loss) can still drop it. Directory
    /// operations since the last `sync_dir` likewise stay visible and undurable.
    pub fn kill(&self) {
        let mut s = self.state.lock();
        s.locks.clear();
        s.epoch += 1;
        s.freeze_after = None;
        s.faults.clear();
    }

    /// Bytes a power loss would change now, summed over every file: bytes where what the process
    /// sees differs from what is durable, plus the difference in length. Counts writes not yet synced
    /// and writes a failed sync dropped from durability (fsyncgate) alike.
    #[must_use]
    pub fn unsynced_bytes(&self) -> u64 {
        let s = self.state.lock();
        let linked = s.linked_files();
        s.files
            .iter()
            .filter(|(ino, _)| linked.contains(ino))
            .map(|(_, f)| {
                let common = f.data.len().min(f.durable.len());
                let differing =
                    f.data[..common].iter().zip(&f.durable[..common]).filter(|(a, b)| a != b).count();
                (differing + f.data.len().abs_diff(f.durable.len())) as u64
            })
            .sum()
    }

    /// Simulates power loss: rebuilds every file and directory from what was made durable, plus what
    /// `mode` lets through of the rest. Open handles and locks from before the crash become invalid.
    pub fn crash(&self, mode: CrashMode) {
        let mut s = self.state.lock();
        let mut rng = StdRng::seed_from_u64(match mode {
            CrashMode::DropUnsynced => 0,
            CrashMode::Random(seed) => seed,
        });
        let random = matches!(mode, CrashMode::Random(_));
        for dir in s.dirs.values_mut() {
            let keep = if random { rng.random_range(0..=dir.pending.len()) } else { 0 };
            for op in dir.pending.drain(..).take(keep) {
                match op {
                    DirOp::Set(name, e) => {
                        dir.durable.insert(name, e);
                    }
                    DirOp::Remove(name) => {
                        dir.durable.remove(&name);
                    }
                }
            }
            dir.entries = dir.durable.clone();
        }
        for file in s.files.values_mut() {
            let mut image = std::mem::take(&mut file.durable);
            let mut pending = std::mem::take(&mut file.pending);
            if random {
                pending.shuffle(&mut rng);
                for p in &pending {
                    match rng.random_range(0..3) {
                        0 => {}
                        1 => apply(&mut image, p),
                        _ => tear(&mut image, p, &mut rng),
                    }
                }
            }
            file.data = image.clone();
            file.durable = image;
        }
        let live = s.linked_files();
        s.files.retain(|ino, _| live.contains(ino));
        s.locks.clear();
        s.epoch += 1;
        s.freeze_after = None;
        s.faults.clear();
    }

    /// Flips one bit of a file in both images (media corruption, for tests).
    ///
    /// # Errors
    /// `NotFound` when there is no such file or offset.
    pub fn flip_bit(&self, path: &Path, offset: u64, bit: u8) -> io::Result<()> {
        let mut s = self.state.lock();
        let Some(Entry::File(ino)) = s.lookup(path) else {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such file"));
        };
        let f = s.files.get_mut(&ino).expect("entry points at a file");
        let o = offset as usize;
        if o >= f.data.len() || o >= f.durable.len() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "offset past end"));
        }
        f.data[o] ^= 1 << (bit % 8);
        f.durable[o] ^= 1 << (bit % 8);
        Ok(())
    }

    fn handle(&self, ino: u64, writable: bool) -> Arc<dyn StorageFile> {
        let epoch = self.state.lock().epoch;
        Arc::new(SimFileHandle { sim: self.clone(), ino, epoch, writable })
    }
}

fn tear(image: &mut Vec<u8>, p: &Pending, rng: &mut StdRng) {
    let Pending::Write { offset, data } = p else {
        if rng.random_bool(0.5) {
            apply(image, p);
        }
        return;
    };
    let mut pos = 0u64;
    while pos < data.len() as u64 {
        let abs = offset + pos;
        let sector_end = (abs / SECTOR_BYTES + 1) * SECTOR_BYTES;
        let n = (sector_end - abs).min(data.len() as u64 - pos);
        if rng.random_bool(0.5) {
            write_into(image, abs, &data[pos as usize..(pos + n) as usize]);
        }
        pos += n;
    }
}

impl Storage for SimStorage {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        let mut cur = PathBuf::new();
        for comp in path.components() {
            let parent = cur.clone();
            cur.push(comp);
            if s.dirs.contains_key(&cur) {
                continue;
            }
            s.dirs.insert(cur.clone(), SimDir::default());
            if let (Some(pd), Some(name)) = (s.dirs.get_mut(&parent), cur.file_name()) {
                let name = name.to_string_lossy().into_owned();
                pd.entries.insert(name.clone(), Entry::Dir);
                pd.durable.insert(name, Entry::Dir);
            }
        }
        Ok(())
    }

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn StorageFile>> {
        let (parent, name) = split(path)?;
        let ino = {
            let mut s = self.state.lock();
            let existing = s.dir(&parent)?.entries.get(&name).copied();
            match (mode, existing) {
                (OpenMode::CreateNew, Some(_)) => {
                    return Err(io::Error::new(io::ErrorKind::AlreadyExists, "file exists"));
                }
                (OpenMode::CreateNew, None) => {
                    s.begin(OpKind::Create)?;
                    s.next_ino += 1;
                    let ino = s.next_ino;
                    s.files.insert(ino, SimFile::default());
                    let d = s.dir(&parent)?;
                    d.entries.insert(name.clone(), Entry::File(ino));
                    d.pending.push(DirOp::Set(name, Entry::File(ino)));
                    ino
                }
                (_, Some(Entry::File(ino))) => ino,
                (_, Some(Entry::Dir)) => {
                    return Err(io::Error::new(io::ErrorKind::IsADirectory, "is a directory"));
                }
                (_, None) => return Err(io::Error::new(io::ErrorKind::NotFound, "no such file")),
            }
        };
        Ok(self.handle(ino, mode != OpenMode::ReadOnly))
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        Ok(self.state.lock().lookup(path).is_some())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (fp, fname) = split(from)?;
        let (tp, tname) = split(to)?;
        let mut s = self.state.lock();
        let entry = s
            .dir(&fp)?
            .entries
            .get(&fname)
            .copied()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))?;
        s.dir(&tp)?;
        s.begin(OpKind::Rename)?;
        let d = s.dir(&fp)?;
        d.entries.remove(&fname);
        d.pending.push(DirOp::Remove(fname));
        let d = s.dir(&tp)?;
        d.entries.insert(tname.clone(), entry);
        d.pending.push(DirOp::Set(tname, entry));
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let (parent, name) = split(path)?;
        let mut s = self.state.lock();
        if !matches!(s.dir(&parent)?.entries.get(&name), Some(Entry::File(_))) {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such file"));
        }
        s.begin(OpKind::Remove)?;
        let d = s.dir(&parent)?;
        d.entries.remove(&name);
        d.pending.push(DirOp::Remove(name));
        Ok(())
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut s = self.state.lock();
        Ok(s.dir(path)?.entries.keys().cloned().collect())
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        s.dir(path)?;
        s.begin(OpKind::SyncDir)?;
        let d = s.dir(path)?;
        d.durable = d.entries.clone();
        d.pending.clear();
        Ok(())
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn StorageLock>> {
        let mut s = self.state.lock();
        if s.locks.iter().any(|p| p == path) {
            return Err(io::Error::new(io::ErrorKind::WouldBlock, "lock held by another holder"));
        }
        s.locks.push(path.to_path_buf());
        Ok(Box::new(SimLock { sim: self.clone(), path: path.to_path_buf(), epoch: s.epoch }))
    }
}

#[derive(Debug)]
struct SimLock {
    sim: SimStorage,
    path: PathBuf,
    epoch: u64,
}

impl StorageLock for SimLock {}

impl Drop for SimLock {
    fn drop(&mut self) {
        let mut s = self.sim.state.lock();
        if s.epoch == self.epoch {
            s.locks.retain(|p| p != &self.path);
        }
    }
}

#[derive(Debug)]
struct SimFileHandle {
    sim: SimStorage,
    ino: u64,
    epoch: u64,
    writable: bool,
}

#[derive(Debug)]
struct SimMap(Vec<u8>);

impl MappedBytes for SimMap {
    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl SimFileHandle {
    fn with<T>(&self, kind: OpKind, f: impl FnOnce(&mut SimFile) -> io::Result<T>) -> io::Result<T> {
        let mut s = self.sim.state.lock();
        if s.epoch != self.epoch {
            return Err(eio("handle from before a crash"));
        }
        if kind.mutates() && !self.writable {
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, "read-only handle"));
        }
        s.begin(kind)?;
        let file = s.files.get_mut(&self.ino).ok_or_else(|| eio("file vanished"))?;
        f(file)
    }
}

impl StorageFile for SimFileHandle {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.with(OpKind::Read, |f| {
            let end = offset as usize + buf.len();
            if end > f.data.len() {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "read past end of file"));
            }
            buf.copy_from_slice(&f.data[offset as usize..end]);
            Ok(())
        })
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.with(OpKind::Write, |f| {
            write_into(&mut f.data, offset, buf);
            f.pending.push(Pending::Write { offset, data: buf.to_vec() });
            Ok(())
        })
    }

    fn len(&self) -> io::Result<u64> {
        self.with(OpKind::Read, |f| Ok(f.data.len() as u64))
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.with(OpKind::SetLen, |f| {
            f.data.resize(len as usize, 0);
            f.pending.push(Pending::SetLen(len));
            Ok(())
        })
    }

    fn sync_data(&self) -> io::Result<()> {
        let r = self.with(OpKind::Sync, |f| {
            for p in f.pending.drain(..) {
                apply(&mut f.durable, &p);
            }
            Ok(())
        });
        if r.is_err() {
            // As Linux does after a failed writeback: the dirty pages are marked clean (dropped from
            // durability; the process still reads them) and the error is reported once, so a
            // later sync succeeds without making them durable (fsyncgate).
            // (Not when the machine stopped at this point: the crash that follows decides.)
            let mut s = self.sim.state.lock();
            let stopped = s.freeze_after.is_some_and(|f| s.mutating_ops > f);
            if s.epoch == self.epoch
                && !stopped
                && let Some(f) = s.files.get_mut(&self.ino)
            {
                f.pending.clear();
            }
        }
        r
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync_data()
    }

    fn preallocate(&self, len: u64) -> io::Result<()> {
        if self.len()? < len { self.set_len(len) } else { Ok(()) }
    }

    fn map(&self) -> io::Result<Arc<dyn MappedBytes>> {
        self.with(OpKind::Read, |f| Ok(Arc::new(SimMap(f.data.clone())) as Arc<dyn MappedBytes>))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn unsynced_data_and_entries_are_lost_on_crash() {
        let fs = SimStorage::new();
        fs.create_dir_all(&p("/r")).unwrap();
        let f = fs.open(&p("/r/a"), OpenMode::CreateNew).unwrap();
        f.write_all_at(b"hello", 0).unwrap();
        f.sync_data().unwrap();
        fs.crash(CrashMode::DropUnsynced);
        assert!(!fs.exists(&p("/r/a")).unwrap(), "entry was never made durable");

        let f = fs.open(&p("/r/b"), OpenMode::CreateNew).unwrap();
        fs.sync_dir(&p("/r")).unwrap();
        f.write_all_at(b"durable", 0).unwrap();
        f.sync_data().unwrap();
        f.write_all_at(b"XX", 0).unwrap();
        assert!(f.read_exact_at(&mut [0; 2], 0).is_ok());
        fs.crash(CrashMode::DropUnsynced);
        assert!(f.len().is_err(), "old handles die with the crash");
        let f = fs.open(&p("/r/b"), OpenMode::ReadOnly).unwrap();
        let mut buf = [0u8; 7];
        f.read_exact_at(&mut buf, 0).unwrap();
        assert_eq!(&buf, b"durable");
    }

    #[test]
    fn a_kill_keeps_unsynced_bytes_readable_until_power_loss() {
        let fs = SimStorage::new();
        fs.create_dir_all(&p("/r")).unwrap();
        let f = fs.open(&p("/r/a"), OpenMode::CreateNew).unwrap();
        fs.sync_dir(&p("/r")).unwrap();
        f.write_all_at(b"synced", 0).unwrap();
        f.sync_data().unwrap();
        f.write_all_at(b"+cache", 6).unwrap();
        let g = fs.open(&p("/r/b"), OpenMode::CreateNew).unwrap();
        g.write_all_at(b"entry not synced", 0).unwrap();
        let _lock = fs.lock(&p("/r/LOCK")).unwrap();
        fs.kill();
        assert!(f.len().is_err(), "the killed process's handles are gone");
        assert!(fs.lock(&p("/r/LOCK")).is_ok(), "and so are its locks");
        let f = fs.open(&p("/r/a"), OpenMode::ReadOnly).unwrap();
        let mut buf = [0u8; 12];
        f.read_exact_at(&mut buf, 0).unwrap();
        assert_eq!(&buf, b"synced+cache", "the page cache survives a kill");
        assert!(fs.exists(&p("/r/b")).unwrap());
        assert_eq!(fs.unsynced_bytes(), 6 + 16);
        // A failed sync drops what it covered from durability (fsyncgate): still unsynced.
        fs.fail_nth(OpKind::Sync, 1);
        let h = fs.open(&p("/r/a"), OpenMode::ReadWrite).unwrap();
        assert!(h.sync_data().is_err());
        h.sync_data().unwrap();
        assert_eq!(fs.unsynced_bytes(), 6 + 16, "a sync after a failed one made nothing durable");
        fs.crash(CrashMode::DropUnsynced);
        let f = fs.open(&p("/r/a"), OpenMode::ReadOnly).unwrap();
        assert_eq!(f.len().unwrap(), 6, "what the kill left unsynced, a power loss drops");
        assert!(!fs.exists(&p("/r/b")).unwrap());
    }

    #[test]
    fn random_crash_tears_at_sector_granularity() {
        let mut saw_torn = false;
        for seed in 0..64 {
            let fs = SimStorage::new();
            fs.create_dir_all(&p("/r")).unwrap();
            let f = fs.open(&p("/r/a"), OpenMode::CreateNew).unwrap();
            fs.sync_dir(&p("/r")).unwrap();
            f.write_all_at(&[1u8; 2048], 0).unwrap();
            fs.crash(CrashMode::Random(seed));
            let f = fs.open(&p("/r/a"), OpenMode::ReadOnly).unwrap();
            let len = f.len().unwrap();
            let mut buf = vec![0u8; len as usize];
            f.read_exact_at(&mut buf, 0).unwrap();
            for sector in buf.chunks(512) {
                assert!(sector.iter().all(|&b| b == sector[0]), "a sector is all or nothing");
            }
            saw_torn |= buf.contains(&0) && buf.contains(&1);
        }
        assert!(saw_torn, "some seed tears the write");
    }

    #[test]
    fn faults_and_freeze_fail_operations() {
        let fs = SimStorage::new();
        fs.create_dir_all(&p("/r")).unwrap();
        let f = fs.open(&p("/r/a"), OpenMode::CreateNew).unwrap();
        fs.fail_nth(OpKind::Sync, 2);
        f.sync_data().unwrap();
        assert!(f.sync_data().is_err());
        f.sync_data().unwrap();
        fs.freeze_after(1);
        f.write_all_at(b"a", 0).unwrap();
        assert!(f.write_all_at(b"b", 1).is_err());
        assert!(f.read_exact_at(&mut [0; 1], 0).is_ok(), "reads still work");
    }

    #[test]
    fn lock_is_exclusive_until_dropped_or_crash() {
        let fs = SimStorage::new();
        fs.create_dir_all(&p("/r")).unwrap();
        let g = fs.lock(&p("/r/LOCK")).unwrap();
        assert_eq!(fs.lock(&p("/r/LOCK")).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        drop(g);
        let _g = fs.lock(&p("/r/LOCK")).unwrap();
        fs.crash(CrashMode::DropUnsynced);
        assert!(fs.lock(&p("/r/LOCK")).is_ok());
    }

    #[test]
    fn rename_is_durable_only_after_sync_dir() {
        let fs = SimStorage::new();
        fs.create_dir_all(&p("/r")).unwrap();
        let f = fs.open(&p("/r/tmp"), OpenMode::CreateNew).unwrap();
        f.write_all_at(b"x", 0).unwrap();
        f.sync_all().unwrap();
        fs.sync_dir(&p("/r")).unwrap();
        fs.rename(&p("/r/tmp"), &p("/r/final")).unwrap();
        assert_eq!(fs.list_dir(&p("/r")).unwrap(), vec!["final".to_string()]);
        fs.crash(CrashMode::DropUnsynced);
        assert_eq!(fs.list_dir(&p("/r")).unwrap(), vec!["tmp".to_string()]);
        fs.rename(&p("/r/tmp"), &p("/r/final")).unwrap();
        fs.sync_dir(&p("/r")).unwrap();
        fs.crash(CrashMode::DropUnsynced);
        assert_eq!(fs.list_dir(&p("/r")).unwrap(), vec!["final".to_string()]);
        fs.remove_file(&p("/r/final")).unwrap();
        assert!(fs.remove_file(&p("/r/final")).is_err());
    }
}
