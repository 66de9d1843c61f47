//! The public store: the [`Store`] handle and the state its clones share ([`Inner`]), opening
//! (with defaults, on disk or in memory), the recovery report, statistics, `sync`/`close`, and the
//! helpers every operation uses (routing a key to its partition, the clock, request-rate
//! admission, durability). The rest of the API is by concern: [`super::builder`] (options and
//! open), [`super::accounts`], [`super::buckets`] (the catalog), [`super::objects`] (the
//! engine-level object API on (bucket id, key)) and [`super::options`] (its option and result
//! types).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::builder::{Flusher, StoreBuilder};
use crate::clock::SystemClock;
use crate::engine::buffer_pool::BufferPool;
use crate::engine::catalog::Catalog;
use crate::engine::checkpoint::{self, Checkpointer};
use crate::engine::context::Context;
use crate::engine::etag_hasher::EtagHashers;
use crate::engine::format::manifest::PREFIX_LEN_WHOLE_KEY;
use crate::engine::io::{SimStorage, StorageLock};
use crate::engine::partition::prefix_load::{PrefixLoad, load_prefix};
use crate::engine::partition::rate::{PrefixRates, RatePartition, RequestKind};
use crate::engine::partition::stats::{self, PartitionStats};
use crate::engine::partition::{Partition, route};
use crate::engine::recovery::RecoveryReport;
use crate::engine::writeback::Writeback;
use crate::error::{Error, Result};
use crate::limits::{
    CHECKPOINT_BYTES_DEFAULT, CHECKPOINT_INTERVAL_MS_DEFAULT, CHUNK_BYTES_DEFAULT, GROUP_BYTES_DEFAULT,
    INLINE_BYTES_DEFAULT, PREALLOCATE_BYTES_DEFAULT, SEGMENT_BYTES_DEFAULT,
};
use crate::types::{BucketId, Checkpoints, Durability, RecoveryMode};

#[derive(Debug)]
pub(super) struct Inner {
    pub(super) ctx: Arc<Context>,
    pub(super) partitions: Arc<Vec<Arc<Partition>>>,
    pub(super) catalog: RwLock<Catalog>,
    /// Writes in flight per bucket id (see [`BucketWrite`]): a bucket with any cannot be deleted.
    /// Taken under a read or write guard of `catalog`, never the other way round (a leaf lock).
    ///
    /// [`BucketWrite`]: super::buckets::BucketWrite
    pub(super) writes_in_flight: Mutex<HashMap<u64, usize>>,
    pub(super) report: RecoveryReport,
    pub(super) region: String,
    pub(super) flusher: Mutex<Option<Flusher>>,
    pub(super) etag_hashers: EtagHashers,
    /// Piece buffers of large bodies, reused across puts.
    pub(super) buffers: Arc<BufferPool>,
    /// See [`StoreBuilder::cache_large_bodies`].
    pub(super) cache_large_bodies: bool,
    /// See [`StoreBuilder::key_provider`].
    ///
    /// [`StoreBuilder::key_provider`]: super::builder::StoreBuilder::key_provider
    pub(super) keys: Option<Arc<dyn crate::engine::crypto::KeyProvider>>,
    /// New objects asking for nothing get SSE-S3 (the builder's setting, and the store has keys).
    pub(super) encrypt_by_default: bool,
    /// The S3 whose defaults the store follows (`StoreBuilder::profile`).
    pub(super) profile: crate::profile::Profile,
    /// New sealed versions keep half their data key in a key slot (`StoreBuilder::crypto_shred`).
    pub(super) crypto_shred: bool,
    /// Master keys in use by puts and rewraps, and those being retired.
    pub(super) key_uses: Arc<super::rotation::KeyUses>,
    /// Rate partitions when request-rate emulation splits them.
    pub(super) prefix_rates: Option<PrefixRates>,
    pub(super) writeback: Option<Writeback>,
    /// Background compaction and scrubbing.
    pub(super) maintenance: Mutex<super::maintenance::Maintenance>,
    /// When checkpoints are written.
    pub(super) checkpoints: Checkpoints,
    /// The background checkpoint thread, under [`Checkpoints::Background`].
    pub(super) checkpointer: Mutex<Option<Checkpointer>>,
    pub(super) _lock: Box<dyn StorageLock>,
    /// This directory's place among the stores open in this process (`None` on a custom storage).
    /// Declared after `_lock` so that it is released after the LOCK file.
    pub(super) _registered: Option<super::open_registry::Registered>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.maintenance.lock().stop_all();
        for p in self.partitions.iter() {
            p.reap_retired();
        }
        if let Some(mut f) = self.flusher.lock().take() {
            f.stop();
        }
        if let Some(mut c) = self.checkpointer.lock().take() {
            c.stop();
        }
        if let Some(w) = &mut self.writeback {
            w.stop();
        }
        for p in self.partitions.iter() {
            let _ = p.flush();
        }
        if self.checkpoints != Checkpoints::OnDemand {
            // A clean close: the next open replays nothing. Errors are dropped (a drop cannot
            // report them; `Store::close` does), and the older checkpoint stays.
            for p in self.partitions.iter() {
                if self.ctx.check().is_ok() {
                    let _ = checkpoint::checkpoint_partition(p);
                }
            }
        }
    }
}

/// An open store. Cheap to clone; clones share the store, and it closes when the last one drops.
#[derive(Debug, Clone)]
pub struct Store {
    pub(super) inner: Arc<Inner>,
}

impl Store {
    /// Opens (or creates) a store in `path` with default options.
    ///
    /// # Errors
    /// As [`StoreBuilder::open`].
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Store::builder(path).open()
    }

    /// A builder for a store in `path`.
    pub fn builder(path: impl AsRef<Path>) -> StoreBuilder {
        StoreBuilder {
            root: path.as_ref().to_path_buf(),
            storage: None,
            partitions: None,
            prefix_len: None,
            segment_bytes: SEGMENT_BYTES_DEFAULT,
            inline_bytes: INLINE_BYTES_DEFAULT,
            chunk_bytes: CHUNK_BYTES_DEFAULT,
            group_bytes: GROUP_BYTES_DEFAULT,
            durability: Durability::Immediate,
            recovery: RecoveryMode::Strict,
            region: "us-east-1".into(),
            owner_display_name: "owner".into(),
            preallocate_bytes: PREALLOCATE_BYTES_DEFAULT,
            clock: Arc::new(SystemClock),
            rate_limits: None,
            background_writeback: true,
            cache_large_bodies: true,
            seed: None,
            checkpoints: Checkpoints::Background {
                bytes: CHECKPOINT_BYTES_DEFAULT,
                interval_ms: CHECKPOINT_INTERVAL_MS_DEFAULT,
            },
            keys: None,
            encrypt_by_default: None,
            profile: crate::profile::Profile::latest(),
            crypto_shred: false,
        }
    }

    /// A fresh store in memory on the simulated file system: fast and ephemeral, for tests.
    ///
    /// # Errors
    /// Only if creation fails, which it does not on an empty simulated file system.
    pub fn open_in_memory() -> Result<Store> {
        Store::in_memory_builder().open()
    }

    /// A builder for an in-memory store (to set options such as partition count).
    pub fn in_memory_builder() -> StoreBuilder {
        Store::builder("/s3lite").storage(Arc::new(SimStorage::new())).preallocate_bytes(0)
    }

    /// What recovery found when the store was opened.
    #[must_use]
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.report
    }

    /// The region the store answers for.
    #[must_use]
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// Per-partition statistics since open or the last [`Store::reset_partition_stats`]: operations by
    /// kind, bytes in and out, group commit sizes, queue wait, fsyncs, live and dead bytes.
    #[must_use]
    pub fn partition_stats(&self) -> Vec<PartitionStats> {
        self.inner.partitions.iter().map(|p| p.stats()).collect()
    }

    /// Zeroes the partition statistics and the prefix loads (live bytes are a state, not a counter,
    /// and stay).
    pub fn reset_partition_stats(&self) {
        for p in self.inner.partitions.iter() {
            p.counters.reset();
            p.prefix_loads.reset();
        }
    }

    /// The busiest key prefixes of one partition, busiest first (at most
    /// [`crate::limits::PREFIX_LOAD_SLOTS`]; see [`PrefixLoad`] for the bound on the counts): when
    /// two prefixes share a partition, which one its load comes from.
    ///
    /// # Errors
    /// `InvalidArgument` for a partition the store does not have.
    pub fn top_prefixes(&self, partition: u16) -> Result<Vec<PrefixLoad>> {
        let part =
            self.inner.partitions.get(usize::from(partition)).ok_or_else(|| Error::InvalidArgument {
                name: "partition",
                value: partition.to_string(),
                reason: format!("the store has {} partitions", self.partition_count()),
            })?;
        let catalog = self.inner.catalog.read();
        let name = |id: u64| catalog.by_id(BucketId(id)).map_or_else(|| format!("#{id}"), |b| b.name.clone());
        Ok(part
            .prefix_loads
            .snapshot()
            .into_iter()
            .map(|(bucket, prefix, operations, overcount)| PrefixLoad {
                partition,
                bucket: name(bucket),
                prefix: crate::engine::partition::prefix_load::escaped(&prefix),
                prefix_bytes: prefix,
                operations,
                overcount,
            })
            .collect())
    }

    /// The partition a key of a bucket is stored in: the same for every version of the key, fixed
    /// for the life of the store (see [`route`]).
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub fn partition_of(&self, bucket: &str, key: &str) -> Result<u16> {
        let id = self.bucket(bucket)?.id;
        Ok(self.partition(id.0, key.as_bytes()).id)
    }

    /// Key bytes the router hashes: `None` when it hashes the whole key (the default), `Some(p)`
    /// when keys sharing their first `p` bytes share a partition.
    #[must_use]
    pub fn prefix_len(&self) -> Option<u32> {
        let p = self.inner.ctx.params.prefix_len;
        (p != PREFIX_LEN_WHOLE_KEY).then_some(p)
    }

    /// The partitions that can hold keys of `bucket` starting with `prefix`: with prefix hashing
    /// (`prefix_len = P`) and a prefix of at least P bytes, every such key shares its first P bytes
    /// with the prefix, so they all route to that one partition; otherwise all of them.
    pub(super) fn partitions_for_prefix(&self, bucket: BucketId, prefix: &[u8]) -> &[Arc<Partition>] {
        let params = &self.inner.ctx.params;
        let all = &self.inner.partitions[..];
        if params.prefix_len == PREFIX_LEN_WHOLE_KEY || prefix.len() < params.prefix_len as usize {
            return all;
        }
        let p = usize::from(route(bucket.0, prefix, params.prefix_len, params.partitions));
        &all[p..=p]
    }

    /// Counts one operation on `key` for its prefix's load (see [`PrefixLoad`]).
    pub(super) fn count_prefix(&self, part: &Partition, bucket: BucketId, key: &str) {
        let prefix = load_prefix(key.as_bytes(), self.inner.ctx.params.prefix_len);
        part.prefix_loads.record(bucket.0, prefix);
    }

    /// The rate partitions of request-rate emulation with splitting (see
    /// [`crate::PartitionSplitting`]), by bucket and prefix; empty when splitting is off.
    #[must_use]
    pub fn rate_partitions(&self) -> Vec<RatePartition> {
        self.inner.prefix_rates.as_ref().map_or_else(Vec::new, |r| r.snapshot(self.now_ms()))
    }

    /// Fills `buf` with the next id bytes (see [`crate::engine::ids`]).
    pub(crate) fn fill_id(&self, buf: &mut [u8]) {
        self.inner.ctx.ids.fill(buf);
    }

    /// Number of partitions.
    #[must_use]
    pub fn partition_count(&self) -> u32 {
        self.inner.ctx.params.partitions
    }

    /// Makes every write acknowledged so far durable (useful with `Eventual` durability), then
    /// closes the store. Unless checkpoints are [`Checkpoints::OnDemand`], it also writes a
    /// checkpoint of every partition whose log grew since its newest one, so the next open replays
    /// nothing.
    ///
    /// # Errors
    /// `Io` if a sync or a checkpoint write fails (every acknowledged write is durable once the
    /// sync returned; a failed checkpoint only makes the next open replay more log);
    /// `PreviousIo` if the store was poisoned.
    pub fn close(self) -> Result<()> {
        self.sync()?;
        if self.inner.checkpoints != Checkpoints::OnDemand {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Writes a checkpoint of every partition whose log grew since its newest one: a snapshot of
    /// its index covering its log up to now (synced first, so the checkpoint names only durable
    /// records), so that the next open replays only the log after it. Writers of a partition wait
    /// while its index is copied. Returns how many partitions were checkpointed.
    ///
    /// # Errors
    /// `Io` if a segment sync or a checkpoint write fails (a failed sync poisons the store, as
    /// any does; a failed checkpoint write leaves the older checkpoint and the store usable);
    /// `PreviousIo` if the store was poisoned.
    pub fn checkpoint(&self) -> Result<usize> {
        self.inner.ctx.check()?;
        let mut written = 0;
        for p in self.inner.partitions.iter() {
            written += usize::from(checkpoint::checkpoint_partition(p)?.is_some());
        }
        Ok(written)
    }

    /// Makes every write acknowledged so far durable.
    ///
    /// # Errors
    /// `Io` if a sync fails; `PreviousIo` if the store was poisoned.
    pub fn sync(&self) -> Result<()> {
        self.inner.ctx.check()?;
        for p in self.inner.partitions.iter() {
            p.flush()?;
        }
        Ok(())
    }

    pub(super) fn partition(&self, bucket: u64, key: &[u8]) -> &Arc<Partition> {
        let params = &self.inner.ctx.params;
        &self.inner.partitions[usize::from(route(bucket, key, params.prefix_len, params.partitions))]
    }

    /// The store clock's now, ms since the Unix epoch.
    pub(crate) fn now_ms(&self) -> u64 {
        self.inner.ctx.clock.now_ms()
    }

    /// Admits a request for `key` under the emulated request rates, if any: against its rate
    /// partition when splitting is on, else against its store partition.
    pub(super) fn admit(&self, part: &Partition, bucket: u64, key: &[u8], kind: RequestKind) -> Result<()> {
        let Some(limits) = &self.inner.ctx.params.rate_limits else { return Ok(()) };
        let now_ms = self.now_ms();
        let refused = match &self.inner.prefix_rates {
            Some(rates) => rates.admit(bucket, key, kind, now_ms).map_err(|r| (r.limit, Some(r.prefix))),
            None => part.rate.admit(limits, kind, now_ms).map_err(|limit| (limit, None)),
        };
        refused.map_err(|(limit, prefix)| {
            stats::add(&part.counters.slow_downs, 1);
            Error::SlowDown {
                partition: part.id,
                prefix: prefix.map(|p| String::from_utf8_lossy(&p).into_owned()),
                kind: kind.noun(),
                limit,
            }
        })
    }

    pub(super) fn durability(&self, d: Option<Durability>) -> Durability {
        d.unwrap_or(self.inner.ctx.params.durability)
    }
}
