//! The segments of a partition beyond the write path: listing them, sealing an active one for a
//! compaction, syncing the active ones, and retiring a rewrite's inputs until their last reader is
//! done.

use std::sync::Arc;

use super::{Partition, stats};
use crate::engine::segment::Segment;
use crate::error::Result;
use crate::types::StorageClass;

impl Partition {
    /// Every segment of the partition, active and sealed, oldest id first.
    pub(crate) fn all_segments(&self) -> Vec<Arc<Segment>> {
        let mut all: Vec<Arc<Segment>> = self.segments.read().values().cloned().collect();
        all.sort_by_key(|s| s.id);
        all
    }

    /// Seals the active segment of `class` (if it holds any record), so that a compaction can take
    /// it: the next write starts a new one. Runs as the partition's group-commit leader, so that the
    /// index effects of every group in the segment have been applied before anything can read it as
    /// sealed. Returns whether a segment was sealed.
    pub(crate) fn seal_active(&self, class: StorageClass) -> Result<bool> {
        let _leadership = self.lead_alone();
        self.ctx.check()?;
        let mut active = self.active.lock();
        match active.remove(&class) {
            Some(a) if a.record_count > 0 => {
                self.seal(a)?;
                Ok(true)
            }
            Some(a) => {
                active.insert(class, a);
                Ok(false)
            }
            None => Ok(false),
        }
    }

    /// (segment id, bytes written) of every active segment. Takes `active`: never call it holding
    /// the index lock.
    pub(crate) fn active_tails(&self) -> Vec<(u64, u64)> {
        self.active.lock().values().map(|a| (a.seg.id, a.tail)).collect()
    }

    /// Syncs every active segment, whatever their writes' durability asked for (a rewrite's commit
    /// must not outlive the writes that made what it drops dead).
    pub(crate) fn sync_active(&self) -> Result<()> {
        self.ctx.check()?;
        let mut active = self.active.lock();
        for a in active.values_mut() {
            if a.synced_upto < a.tail {
                a.seg.sync_data().map_err(|e| self.ctx.poison("segment fdatasync", &a.seg.path, e))?;
                stats::add(&self.counters.fsyncs, 1);
                a.synced_upto = a.tail;
            }
        }
        Ok(())
    }

    /// Bytes written to the active segment of `class` (its file may be longer: zero-filled space).
    pub(crate) fn active_tail(&self, class: StorageClass) -> Option<(u64, u64)> {
        self.active.lock().get(&class).map(|a| (a.seg.id, a.tail))
    }

    /// Takes a rewrite's inputs out of the store (after its commit edit and index switch): new
    /// lookups no longer find them, and their files wait in `retired` for their last reader.
    pub(crate) fn retire(&self, inputs: &[Arc<Segment>]) {
        {
            let mut segments = self.segments.write();
            for s in inputs {
                segments.remove(&s.id);
            }
        }
        self.retired.lock().extend(inputs.iter().cloned());
    }

    /// Unlinks retired segments nothing else holds any more (a reader that still has one keeps it
    /// until it is done). Returns (files removed, files still held); a failed unlink leaves the file
    /// for the next open, which removes it since the manifest records it as deleted.
    pub(crate) fn reap_retired(&self) -> (Vec<std::path::PathBuf>, usize) {
        let free: Vec<Arc<Segment>> = {
            let mut retired = self.retired.lock();
            let (free, held): (Vec<_>, Vec<_>) = retired.drain(..).partition(|s| Arc::strong_count(s) == 1);
            *retired = held;
            free
        };
        let mut removed = Vec::new();
        let mut dirs = Vec::new();
        for seg in free {
            let path = seg.path.clone();
            // Unmapped and closed before the unlink.
            drop(seg);
            if self.ctx.storage.remove_file(&path).is_ok() {
                if let Some(dir) = path.parent() {
                    dirs.push(dir.to_path_buf());
                }
                removed.push(path);
            }
        }
        dirs.dedup();
        for dir in dirs {
            let _ = self.ctx.storage.sync_dir(&dir);
        }
        (removed, self.retired.lock().len())
    }
}
