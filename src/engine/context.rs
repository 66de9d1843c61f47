//! State shared by every partition of an open store: the storage, fixed parameters, counters, the
//! poison flag and the manifest log.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::engine::format::manifest::{ManifestEdit, encode_frame};
use crate::engine::io::{Storage, StorageFile};
use crate::error::{Error, Result};
use crate::types::{Durability, StorageClass};

/// Parameters fixed for the life of an open store.
#[derive(Debug, Clone)]
pub(crate) struct Params {
    pub(crate) partitions: u32,
    pub(crate) prefix_len: u32,
    pub(crate) segment_bytes: u64,
    pub(crate) inline_bytes: u64,
    pub(crate) chunk_bytes: u64,
    pub(crate) group_bytes: u64,
    pub(crate) durability: Durability,
    pub(crate) preallocate_bytes: u64,
    pub(crate) rate_limits: Option<crate::engine::partition::rate::RequestRateLimits>,
}

/// The manifest log being appended to.
#[derive(Debug)]
pub(crate) struct ManifestLog {
    pub(crate) file: Arc<dyn StorageFile>,
    pub(crate) path: PathBuf,
    pub(crate) tail: u64,
}

impl ManifestLog {
    /// Appends one edit and makes it durable before returning.
    pub(crate) fn append(&mut self, edit: &ManifestEdit) -> std::io::Result<()> {
        let frame = encode_frame(edit);
        self.file.write_all_at(&frame, self.tail)?;
        self.file.sync_data()?;
        self.tail += frame.len() as u64;
        Ok(())
    }
}

/// Shared engine state.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) root: PathBuf,
    pub(crate) store_uuid: [u8; 16],
    pub(crate) params: Params,
    pub(crate) next_seq: AtomicU64,
    pub(crate) next_segment_id: AtomicU64,
    pub(crate) poisoned: AtomicBool,
    pub(crate) manifest: Mutex<ManifestLog>,
    pub(crate) clock: Arc<dyn crate::clock::Clock>,
    /// Every random id of the store (see [`crate::engine::ids`]).
    pub(crate) ids: Arc<crate::engine::ids::IdSource>,
    /// The crypto-shred key slots (`KEYSLOTS`), once the open has found or made them.
    pub(crate) key_slots: std::sync::OnceLock<Arc<crate::engine::key_slots::KeySlots>>,
}

impl Context {
    /// Fails with `PreviousIo` once the store is poisoned.
    pub(crate) fn check(&self) -> Result<()> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(Error::PreviousIo);
        }
        Ok(())
    }

    /// Marks the store poisoned and turns the I/O error into the crate's error.
    pub(crate) fn poison(&self, op: &'static str, path: &Path, e: std::io::Error) -> Error {
        self.poisoned.store(true, Ordering::Release);
        tracing_poison(op, path, &e);
        Error::io(op, path, e)
    }

    pub(crate) fn partition_dir(&self, partition: u16) -> PathBuf {
        partition_dir(&self.root, partition)
    }

    pub(crate) fn class_dir(&self, partition: u16, class: StorageClass) -> PathBuf {
        self.partition_dir(partition).join(class.as_str())
    }

    pub(crate) fn segment_path(&self, partition: u16, class: StorageClass, id: u64) -> PathBuf {
        self.class_dir(partition, class).join(segment_file_name(id))
    }
}

/// Directory of a partition.
pub(crate) fn partition_dir(root: &Path, partition: u16) -> PathBuf {
    root.join(format!("p{partition:04x}"))
}

/// File name of a segment.
pub(crate) fn segment_file_name(id: u64) -> String {
    format!("{id:016x}.seg")
}

fn tracing_poison(op: &str, path: &Path, e: &std::io::Error) {
    // The store has no logging dependency; the error itself reaches the caller. This hook keeps the
    // one place where a future `tracing` event belongs.
    let _ = (op, path, e);
}
