//! Segment files: one handle per file, read by `pread` while active and through a memory map once
//! sealed; [`scan`] holds the pure recovery scanner.

pub mod scan;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::io::{MappedBytes, StorageFile};
use crate::types::StorageClass;

/// An open segment file.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) id: u64,
    pub(crate) class: StorageClass,
    pub(crate) path: PathBuf,
    pub(crate) file: Arc<dyn StorageFile>,
    /// Set once the segment is sealed; reads then go through the map.
    map: RwLock<Option<Arc<dyn MappedBytes>>>,
}

impl Segment {
    pub(crate) fn new(id: u64, class: StorageClass, path: PathBuf, file: Arc<dyn StorageFile>) -> Segment {
        Segment { id, class, path, file, map: RwLock::new(None) }
    }

    /// Switches reads to a memory map. Call only once the segment is sealed and durable.
    pub(crate) fn map_sealed(&self) -> io::Result<()> {
        let map = self.file.map()?;
        *self.map.write() = Some(map);
        Ok(())
    }

    /// Reads `len` bytes at `offset`.
    pub(crate) fn read(&self, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        if let Some(map) = self.map.read().as_ref() {
            let bytes = map.bytes();
            let end = offset.checked_add(len).filter(|&e| e <= bytes.len() as u64).ok_or_else(|| {
                io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of a sealed segment")
            })?;
            return Ok(bytes[offset as usize..end as usize].to_vec());
        }
        let mut buf = vec![0u8; usize::try_from(len).map_err(io::Error::other)?];
        self.file.read_exact_at(&mut buf, offset)?;
        Ok(buf)
    }
}
