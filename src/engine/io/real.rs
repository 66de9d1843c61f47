//! [`Storage`] on the operating system's file system.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use super::mmap::Map;
use super::{MappedBytes, OpenMode, Storage, StorageFile, StorageLock};

/// The real file system (Unix).
#[derive(Debug, Default, Clone, Copy)]
pub struct RealStorage;

#[derive(Debug)]
struct RealFile(File);

#[derive(Debug)]
struct RealLock(#[expect(dead_code, reason = "held for its flock, released on drop")] File);

impl StorageLock for RealLock {}

impl Storage for RealStorage {
    fn callable_from_store_threads(&self) -> bool {
        true
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::create_dir_all(path)
    }

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn StorageFile>> {
        let mut o = OpenOptions::new();
        match mode {
            OpenMode::CreateNew => o.read(true).write(true).create_new(true),
            OpenMode::ReadWrite => o.read(true).write(true),
            OpenMode::ReadOnly => o.read(true),
        };
        Ok(Arc::new(RealFile(o.open(path)?)))
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(path)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn StorageLock>> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Box::new(RealLock(file))),
            Err(fs::TryLockError::WouldBlock) => {
                Err(io::Error::new(io::ErrorKind::WouldBlock, "lock held by another holder"))
            }
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

impl StorageFile for RealFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.0.read_exact_at(buf, offset)
    }

    fn read_append_at(&self, out: &mut Vec<u8>, offset: u64, len: usize) -> io::Result<()> {
        let start = out.len();
        out.reserve_exact(len);
        // `pread` fills all the spare capacity it can; far more spare than `len` would be copied for
        // nothing, so such a buffer takes the zero-filling read instead.
        if out.capacity() - start > 2 * len + (64 << 10) {
            out.resize(start + len, 0);
            return self.0.read_exact_at(&mut out[start..], offset).inspect_err(|_| out.truncate(start));
        }
        while out.len() < start + len {
            let at = offset + (out.len() - start) as u64;
            // rustix's safe wrapper sets the length to what the kernel wrote: no zero-fill pass over a
            // buffer about to be overwritten.
            match rustix::io::pread(&self.0, rustix::buffer::spare_capacity(out), at) {
                Ok(0) => {
                    out.truncate(start);
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of file"));
                }
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => {
                    out.truncate(start);
                    return Err(e.into());
                }
            }
        }
        out.truncate(start + len);
        Ok(())
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(buf, offset)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.0.sync_all()
    }

    fn preallocate(&self, len: u64) -> io::Result<()> {
        // Written zeros, not fallocate: unwritten extents still need a journal commit on their first
        // overwrite, and std has no safe fallocate anyway.
        const STEP: usize = 256 * 1024;
        let mut at = self.len()?;
        if at >= len {
            return Ok(());
        }
        let zeros = vec![0u8; STEP];
        while at < len {
            let n = (len - at).min(STEP as u64) as usize;
            self.0.write_all_at(&zeros[..n], at)?;
            at += n as u64;
        }
        Ok(())
    }

    fn drop_cached(&self, offset: u64, len: u64) {
        // Dirty pages are not dropped (the kernel starts their writeback instead) and mapped ones
        // stay, so this never loses data; an error leaves the pages cached, which is harmless.
        // (A zero length would mean "to the end of the file".)
        if let Some(len) = std::num::NonZeroU64::new(len) {
            let _ = rustix::fs::fadvise(&self.0, offset, Some(len), rustix::fs::Advice::DontNeed);
        }
    }

    fn map(&self) -> io::Result<Arc<dyn MappedBytes>> {
        Ok(Arc::new(Map::new(&self.0)?))
    }
}
