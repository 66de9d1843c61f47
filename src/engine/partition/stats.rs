//! Per-partition statistics: relaxed atomic counters, cheap enough to stay on (a few uncontended
//! atomic adds per operation, next to a microsecond-scale put), with a snapshot and a reset.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of one partition.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) puts: AtomicU64,
    pub(crate) gets: AtomicU64,
    pub(crate) heads: AtomicU64,
    pub(crate) deletes: AtomicU64,
    pub(crate) lists: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) groups: AtomicU64,
    pub(crate) grouped_requests: AtomicU64,
    pub(crate) largest_group: AtomicU64,
    pub(crate) wait_ns: AtomicU64,
    pub(crate) fsyncs: AtomicU64,
    pub(crate) appended_bytes: AtomicU64,
    pub(crate) slow_downs: AtomicU64,
    pub(crate) abandoned_bytes: AtomicU64,
}

/// A snapshot of one partition's statistics since the store opened or the last reset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartitionStats {
    /// Partition number.
    pub partition: u16,
    /// Object writes (puts, copies into the partition).
    pub puts: u64,
    /// Reads of a body.
    pub gets: u64,
    /// Reads of metadata.
    pub heads: u64,
    /// Deletes (markers and permanent).
    pub deletes: u64,
    /// Listing scans of this partition's index: one per hold of its read lock, each visiting at
    /// most 4096 entries (so a listing over many delete markers counts several).
    pub lists: u64,
    /// Body bytes written.
    pub bytes_in: u64,
    /// Body bytes read.
    pub bytes_out: u64,
    /// Group commits.
    pub groups: u64,
    /// Write requests those groups carried (`grouped_requests / groups` = mean group size).
    pub grouped_requests: u64,
    /// Largest group, in requests.
    pub largest_group: u64,
    /// Total time write requests waited in the partition's queue before their group was written.
    pub wait_ns: u64,
    /// fdatasync / fsync calls on segments.
    pub fsyncs: u64,
    /// Bytes appended to segments (records, markers, seals).
    pub appended_bytes: u64,
    /// Requests refused with `SlowDown` by request-rate emulation.
    pub slow_downs: u64,
    /// Bytes of chunk records written by large puts that then failed (a read error, a length or
    /// checksum mismatch, a failed precondition, an I/O error): dead from the moment the put failed,
    /// and part of `dead_bytes`. Compaction reclaims them.
    pub abandoned_bytes: u64,
    /// Bytes of the records the index points at (current and older versions, chunks included).
    pub live_bytes: u64,
    /// Appended bytes no longer referenced (overwritten, deleted, markers, torn), since open.
    pub dead_bytes: u64,
}

impl PartitionStats {
    /// Mean requests per group commit.
    #[must_use]
    pub fn mean_group_size(&self) -> f64 {
        if self.groups == 0 { 0.0 } else { self.grouped_requests as f64 / self.groups as f64 }
    }

    /// All operations counted.
    #[must_use]
    pub fn operations(&self) -> u64 {
        self.puts + self.gets + self.heads + self.deletes
    }
}

pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self, partition: u16, live_bytes: u64) -> PartitionStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let appended = get(&self.appended_bytes);
        PartitionStats {
            partition,
            puts: get(&self.puts),
            gets: get(&self.gets),
            heads: get(&self.heads),
            deletes: get(&self.deletes),
            lists: get(&self.lists),
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
            groups: get(&self.groups),
            grouped_requests: get(&self.grouped_requests),
            largest_group: get(&self.largest_group),
            wait_ns: get(&self.wait_ns),
            fsyncs: get(&self.fsyncs),
            appended_bytes: appended,
            slow_downs: get(&self.slow_downs),
            abandoned_bytes: get(&self.abandoned_bytes),
            live_bytes,
            dead_bytes: appended.saturating_sub(live_bytes),
        }
    }

    pub(crate) fn reset(&self) {
        for c in [
            &self.puts,
            &self.gets,
            &self.heads,
            &self.deletes,
            &self.lists,
            &self.bytes_in,
            &self.bytes_out,
            &self.groups,
            &self.grouped_requests,
            &self.largest_group,
            &self.wait_ns,
            &self.fsyncs,
            &self.appended_bytes,
            &self.slow_downs,
            &self.abandoned_bytes,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}
