//! Segment files: one handle per file, read by `pread` while active and through a memory map once
//! sealed; [`scan`] holds the pure recovery scanner.

pub mod scan;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};

use crate::engine::io::{MappedBytes, StorageFile};
use crate::types::StorageClass;

/// An open segment file.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) id: u64,
    pub(crate) class: StorageClass,
    pub(crate) path: PathBuf,
    pub(crate) file: Arc<dyn StorageFile>,
    /// Rewrite generation: 0 for a segment the write path filled, max(inputs) + 1 for a compaction
    /// output.
    pub(crate) generation: u64,
    /// Lowest seq of any record in the segment (`u64::MAX` while it holds none): a purge record may be
    /// dropped only when no surviving segment can hold an older record it hides.
    min_seq: AtomicU64,
    /// Length once sealed (0 while active).
    sealed_len: AtomicU64,
    /// Set when a scrub or a compaction found damage in it: never a compaction input again.
    damaged: AtomicBool,
    /// Set when it holds the commit record of a body whose chunk failed its checks: the record
    /// cannot move, so neither can the segment.
    held_by_damage: AtomicBool,
    /// Set once the segment is sealed; reads then go through the map.
    map: RwLock<Option<Arc<dyn MappedBytes>>>,
    /// True once a sync of this file failed. Held across every sync of the file, so that two syncers
    /// (the commit leader and the writeback thread) never race past a failure: after a failed
    /// `fdatasync` the kernel may have dropped the dirty pages and reports the error to one caller
    /// only (errseq), so a later sync can succeed over lost data (fsyncgate). Every sync after a
    /// failed one fails.
    sync_failed: Mutex<bool>,
}

impl Segment {
    pub(crate) fn new(
        id: u64,
        class: StorageClass,
        generation: u64,
        path: PathBuf,
        file: Arc<dyn StorageFile>,
    ) -> Segment {
        Segment {
            id,
            class,
            path,
            file,
            generation,
            min_seq: AtomicU64::new(u64::MAX),
            sealed_len: AtomicU64::new(0),
            damaged: AtomicBool::new(false),
            held_by_damage: AtomicBool::new(false),
            map: RwLock::new(None),
            sync_failed: Mutex::new(false),
        }
    }

    /// Notes that a record with `seq` is in the segment.
    pub(crate) fn note_seq(&self, seq: u64) {
        self.min_seq.fetch_min(seq, Ordering::Relaxed);
    }

    /// Lowest seq of any record in the segment (`u64::MAX` when it holds none).
    pub(crate) fn min_seq(&self) -> u64 {
        self.min_seq.load(Ordering::Relaxed)
    }

    /// Marks the segment as holding damage.
    pub(crate) fn mark_damaged(&self) {
        self.damaged.store(true, Ordering::Relaxed);
    }

    /// Marks the segment as holding a record that cannot move (see `held_by_damage`).
    pub(crate) fn hold_for_damage(&self) {
        self.held_by_damage.store(true, Ordering::Relaxed);
    }

    /// Whether a compaction may take it as an input.
    pub(crate) fn rewritable(&self) -> bool {
        !self.damaged.load(Ordering::Relaxed) && !self.held_by_damage.load(Ordering::Relaxed)
    }

    /// Length once sealed, `None` while active.
    pub(crate) fn sealed_len(&self) -> Option<u64> {
        Some(self.sealed_len.load(Ordering::Acquire)).filter(|&l| l > 0)
    }

    /// The bytes of a sealed segment's map (`None` while active).
    pub(crate) fn mapped(&self) -> Option<Arc<dyn MappedBytes>> {
        self.map.read().clone()
    }

    /// `fdatasync`, failing for good once any sync of this segment failed (see `sync_failed`).
    pub(crate) fn sync_data(&self) -> io::Result<()> {
        self.sync(|f| f.sync_data())
    }

    /// `fsync`, failing for good once any sync of this segment failed.
    pub(crate) fn sync_all(&self) -> io::Result<()> {
        self.sync(|f| f.sync_all())
    }

    fn sync(&self, op: impl FnOnce(&dyn StorageFile) -> io::Result<()>) -> io::Result<()> {
        let mut failed = self.sync_failed.lock();
        if *failed {
            return Err(io::Error::other(
                "an earlier sync of this segment failed: its unsynced pages may be lost, so no later sync can vouch for them",
            ));
        }
        let r = op(&*self.file);
        *failed = r.is_err();
        r
    }

    /// Switches reads to a memory map. Call only once the segment is sealed and durable.
    pub(crate) fn map_sealed(&self, len: u64) -> io::Result<()> {
        let map = self.file.map()?;
        *self.map.write() = Some(map);
        self.sealed_len.store(len, Ordering::Release);
        Ok(())
    }

    /// Reads `len` bytes at `offset`: a view of the map of a sealed segment (no copy), or, while the
    /// segment is active, one `pread` into a buffer that is never zero-filled first (the page cache
    /// is copied once, straight into the buffer the caller gets).
    pub(crate) fn read_bytes(&self, offset: u64, len: u64) -> io::Result<SegmentBytes> {
        if let Some(map) = self.map.read().as_ref() {
            let end =
                offset.checked_add(len).filter(|&e| e <= map.bytes().len() as u64).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of a sealed segment")
                })?;
            return Ok(SegmentBytes::Mapped {
                map: map.clone(),
                start: offset as usize,
                len: (end - offset) as usize,
            });
        }
        self.read_bytes_reusing(offset, len, Vec::new())
    }

    /// As [`Segment::read_bytes`], but an active segment's bytes are read into `buf` (emptied
    /// first), so a reader going through a body record by record faults its buffer in once
    /// instead of once per record.
    pub(crate) fn read_bytes_reusing(
        &self,
        offset: u64,
        len: u64,
        mut buf: Vec<u8>,
    ) -> io::Result<SegmentBytes> {
        if self.is_mapped() {
            return self.read_bytes(offset, len);
        }
        buf.clear();
        self.file.read_append_at(&mut buf, offset, usize::try_from(len).map_err(io::Error::other)?)?;
        Ok(SegmentBytes::Owned(buf))
    }

    /// Appends `len` bytes at `offset` to `out`: copied from the map of a sealed segment, or read by
    /// `pread` straight into `out`'s spare capacity. On error `out` is as it was.
    pub(crate) fn read_append(&self, out: &mut Vec<u8>, offset: u64, len: u64) -> io::Result<()> {
        if self.is_mapped() {
            out.extend_from_slice(self.read_bytes(offset, len)?.bytes());
            return Ok(());
        }
        self.file.read_append_at(out, offset, usize::try_from(len).map_err(io::Error::other)?)
    }

    /// True once reads go through the map (the segment is sealed).
    pub(crate) fn is_mapped(&self) -> bool {
        self.map.read().is_some()
    }
}

/// Bytes read from a segment. A view of a sealed segment's map keeps the map alive (segments are
/// removed by unlink, which leaves live maps valid; see the SAFETY block of the mmap module).
#[derive(Debug)]
pub(crate) enum SegmentBytes {
    /// `len` bytes at `start` of a sealed segment's map.
    Mapped { map: Arc<dyn MappedBytes>, start: usize, len: usize },
    /// Bytes read from an active segment.
    Owned(Vec<u8>),
}

impl SegmentBytes {
    /// The bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            SegmentBytes::Mapped { map, start, len } => &map.bytes()[*start..*start + *len],
            SegmentBytes::Owned(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::engine::io::{OpKind, OpenMode, SimStorage, Storage};

    /// The writeback thread's sync fails (the kernel drops the dirty pages and reports it once);
    /// the commit leader's sync of the same segment, after it, must fail too, or it would
    /// acknowledge a commit whose chunks are gone.
    #[test]
    fn every_sync_after_a_failed_one_fails() {
        let sim = SimStorage::new();
        sim.create_dir_all(Path::new("/s")).unwrap();
        let file = sim.open(Path::new("/s/x.seg"), OpenMode::CreateNew).unwrap();
        let seg = Segment::new(1, StorageClass::Standard, 0, "/s/x.seg".into(), file.clone());
        file.write_all_at(b"chunk", 0).unwrap();
        sim.fail_nth(OpKind::Sync, 1);
        assert!(seg.sync_data().is_err(), "the writeback's sync");
        assert!(file.sync_data().is_ok(), "the storage itself reports the error once (errseq)");
        file.write_all_at(b"commit", 5).unwrap();
        assert!(seg.sync_data().is_err(), "the leader's sync must not vouch for the lost chunk");
        assert!(seg.sync_all().is_err());
    }
}
