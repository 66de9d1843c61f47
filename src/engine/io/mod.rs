//! Every file operation of the engine goes through [`Storage`]. Two implementations:
//! [`RealStorage`] on `std::fs` (memory maps for sealed segments) and [`SimStorage`], an in-memory
//! file system with durable and volatile images that can crash and inject I/O errors.

mod mmap;
mod real;
mod sim;

use std::fmt::Debug;
use std::io;
use std::path::Path;
use std::sync::Arc;

pub use real::RealStorage;
pub use sim::{CrashMode, OpKind, SimStorage};

/// How to open a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create a new file; fail if it exists.
    CreateNew,
    /// Open an existing file for reading and writing.
    ReadWrite,
    /// Open an existing file for reading only.
    ReadOnly,
}

/// A file system as the engine sees it.
pub trait Storage: Send + Sync + Debug {
    /// Creates a directory and its parents. Directories are made durable by [`Storage::sync_dir`] of
    /// their parent.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Opens or creates a file.
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn StorageFile>>;
    /// True when a file or directory exists at `path`.
    fn exists(&self, path: &Path) -> io::Result<bool>;
    /// Atomically renames a file (durable once both directories are synced).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file (durable once its directory is synced).
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Names of the entries of a directory, sorted.
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>>;
    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Takes an exclusive lock on `path` (created if missing) for as long as the guard lives.
    /// Fails with [`io::ErrorKind::WouldBlock`] when another holder has it.
    fn lock(&self, path: &Path) -> io::Result<Box<dyn StorageLock>>;
    /// Whether the store may call this storage from a thread of its own besides the caller's (the
    /// two-core read of a large sealed record does). Default `false`: a simulated storage sees
    /// every operation from a caller's thread, in an order a seed reproduces. The file system's
    /// [`RealStorage`] says `true`.
    fn callable_from_store_threads(&self) -> bool {
        false
    }
}

/// An open file.
pub trait StorageFile: Send + Sync + Debug {
    /// Reads exactly `buf.len()` bytes at `offset`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Appends exactly `len` bytes read at `offset` to `out` (on error `out` is as it was). The
    /// default zero-fills the new bytes and calls [`StorageFile::read_exact_at`]; the real file reads
    /// into `out`'s uninitialised capacity, so that a large read copies its bytes once, straight
    /// into the buffer the caller keeps, and writes nothing else.
    fn read_append_at(&self, out: &mut Vec<u8>, offset: u64, len: usize) -> io::Result<()> {
        let start = out.len();
        out.resize(start + len, 0);
        let r = self.read_exact_at(&mut out[start..], offset);
        if r.is_err() {
            out.truncate(start);
        }
        r
    }
    /// Writes all of `buf` at `offset` (the segment writer appends by writing at its tail offset).
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Appends `buf` at the current end of file and returns the offset it was written at. Not atomic
    /// with respect to other writers of the same file: callers serialize.
    fn append(&self, buf: &[u8]) -> io::Result<u64> {
        let at = self.len()?;
        self.write_all_at(buf, at)?;
        Ok(at)
    }
    /// Current length.
    fn len(&self) -> io::Result<u64>;
    /// True when the file is empty.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Truncates or extends (with zeros).
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// `fdatasync`: data and the metadata needed to read it back (size included).
    fn sync_data(&self) -> io::Result<()>;
    /// `fsync`: data and all metadata.
    fn sync_all(&self) -> io::Result<()>;
    /// Makes the file at least `len` bytes long, the new bytes allocated and zero (written, not a
    /// hole), so that later overwrites followed by `sync_data` change no metadata. Bytes below the
    /// current length are untouched. Zeros read as "no record" to the scanner.
    fn preallocate(&self, len: u64) -> io::Result<()>;
    /// Advises that `len` bytes at `offset` will not be read soon, so their cached pages (once
    /// clean) can be dropped. Advice only: nothing may depend on it, and failures are ignored.
    fn drop_cached(&self, _offset: u64, _len: u64) {}
    /// Maps the whole file read-only. Only for files that are never written or truncated again
    /// (sealed segments) while the map lives.
    fn map(&self) -> io::Result<Arc<dyn MappedBytes>>;
}

/// A read-only view of a whole file.
pub trait MappedBytes: Send + Sync + Debug {
    /// The bytes.
    fn bytes(&self) -> &[u8];
}

/// Held while a store is open.
pub trait StorageLock: Send + Sync + Debug {}

/// Reads a whole file.
///
/// # Errors
/// Any read error.
pub fn read_all(file: &dyn StorageFile) -> io::Result<Vec<u8>> {
    let len = file.len()?;
    let mut buf = vec![0u8; usize::try_from(len).map_err(io::Error::other)?];
    file.read_exact_at(&mut buf, 0)?;
    Ok(buf)
}
