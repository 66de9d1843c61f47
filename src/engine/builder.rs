//! Configuring and opening a store: [`StoreBuilder`] (its options, their validation, and `open`,
//! which runs recovery and starts the background threads), and the [`Flusher`], the thread that
//! syncs every partition each `flush_interval_ms` under [`Durability::Eventual`].

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, RwLock};

use super::store::{Inner, Store};
use crate::clock::Clock;
use crate::engine::checkpoint::Checkpointer;
use crate::engine::context::Params;
use crate::engine::crypto::KeyProvider;
use crate::engine::etag_hasher::EtagHashers;
use crate::engine::format::manifest::PREFIX_LEN_WHOLE_KEY;
use crate::engine::format::segment_header::SEGMENT_DATA_START;
use crate::engine::ids::IdSource;
use crate::engine::io::{RealStorage, Storage};
use crate::engine::open_registry;
use crate::engine::partition::Partition;
use crate::engine::partition::rate::{PrefixRates, RequestRateLimits};
use crate::engine::recovery::{self, OpenConfig};
use crate::engine::writeback::Writeback;
use crate::error::{Error, Result};
use crate::limits::{
    GROUP_BYTES_MAX, PARTITIONS_DEFAULT, PARTITIONS_MAX, RECORD_BODY_BYTES_MAX, RECORD_META_BYTES_MAX,
    SEGMENT_BYTES_MAX, SEGMENT_BYTES_MIN,
};
use crate::types::{Checkpoints, Durability, RecoveryMode};

/// Configures and opens a store. Values that are fixed at creation (partitions, prefix length,
/// region) are read from the store when it already exists; a partition count or prefix length set
/// on the builder that differs from the store's is refused (`InvalidArgument`), not ignored.
#[derive(Debug, Clone)]
#[must_use]
pub struct StoreBuilder {
    pub(super) root: PathBuf,
    pub(super) storage: Option<Arc<dyn Storage>>,
    /// `None`: not set, [`crate::limits::PARTITIONS_DEFAULT`] for a new store, the stored count for
    /// an existing one.
    pub(super) partitions: Option<u32>,
    pub(super) prefix_len: Option<u32>,
    pub(super) segment_bytes: u64,
    pub(super) inline_bytes: u64,
    pub(super) chunk_bytes: u64,
    pub(super) group_bytes: u64,
    pub(super) durability: Durability,
    pub(super) recovery: RecoveryMode,
    pub(super) region: String,
    pub(super) owner_display_name: String,
    pub(super) preallocate_bytes: u64,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) rate_limits: Option<RequestRateLimits>,
    pub(super) background_writeback: bool,
    pub(super) cache_large_bodies: bool,
    pub(super) seed: Option<u64>,
    pub(super) checkpoints: Checkpoints,
    pub(super) keys: Option<Arc<dyn KeyProvider>>,
    pub(super) encrypt_by_default: Option<bool>,
    pub(super) profile: crate::profile::Profile,
    pub(super) crypto_shred: bool,
}

impl StoreBuilder {
    /// The master keys sealed bodies' data keys are wrapped under (see [`crate::crypto`]). Without
    /// one, a put asking for encryption is refused and a sealed version cannot be read.
    pub fn key_provider(mut self, keys: Arc<dyn KeyProvider>) -> Self {
        self.keys = Some(keys);
        self
    }
    /// Whether a new object that asks for no encryption, in a bucket with no default encryption of
    /// its own, is sealed with SSE-S3, as S3 does since 2023-01-05 (default `true`). It takes
    /// effect only in a store with a [`key_provider`](Self::key_provider): a store without keys
    /// stores such objects in the clear and reports no encryption, as S3 did before 2023.
    ///
    /// Default: the [`profile`](Self::profile)'s (on for profiles dated 2023-01-05 or later).
    pub fn encrypt_by_default(mut self, on: bool) -> Self {
        self.encrypt_by_default = Some(on);
        self
    }
    /// The S3 whose defaults the store follows ([`Profile`](crate::Profile); default
    /// [`Profile::latest`](crate::Profile::latest), today's S3): what new buckets are created with
    /// (Object Ownership, Block Public Access, SSE-C blocking), whether new objects are encrypted
    /// by default, whether owners carry display names. Not stored: each open picks its own, and a
    /// bucket keeps what it was created with.
    pub fn profile(mut self, profile: crate::profile::Profile) -> Self {
        self.profile = profile;
        self
    }
    /// Crypto-shred (default off): each new sealed version keeps half of its data key in a slot of
    /// the store's `KEYSLOTS` file, which is overwritten once the version's removal (a delete, a
    /// version delete, a `null` version replaced) is durable. From then on its bytes cannot be
    /// decrypted from the files, with the master keys or without, even before compaction reclaims
    /// them. Costs one more synced write per sealed put (shared by concurrent puts) and makes a
    /// removal of a sealed version sync its partition. Versions written with it stay shreddable
    /// when a later open turns it off. Multipart uploads are shredded too (their slot goes to the
    /// completed object). A store without a [`key_provider`](Self::key_provider) seals only SSE-C
    /// writes, and shreds those. Not shredded: a multipart upload begun before the store shredded
    /// (its start record wraps the data key with no slot's secret), whose object's bytes become
    /// unreadable from the files only when compaction reclaims its records.
    pub fn crypto_shred(mut self, on: bool) -> Self {
        self.crypto_shred = on;
        self
    }
    /// Partition count at creation: a power of two up to [`PARTITIONS_MAX`] (default 16). Opening
    /// an existing store with another count fails (`InvalidArgument` naming both): records are not
    /// moved between partitions.
    pub fn partitions(mut self, n: u32) -> Self {
        self.partitions = Some(n);
        self
    }
    /// Key bytes the router hashes, at creation (default: the whole key). A short prefix makes keys
    /// sharing it share a partition, as S3 does. Opening an existing store with another prefix length
    /// fails (`InvalidArgument` naming both).
    pub fn prefix_len(mut self, n: u32) -> Self {
        self.prefix_len = Some(n);
        self
    }
    /// Segment size at which the active segment is sealed and a new one started (default 256 MiB).
    pub fn segment_bytes(mut self, n: u64) -> Self {
        self.segment_bytes = n;
        self
    }
    /// Largest body stored inline in one record (default 1 MiB).
    pub fn inline_bytes(mut self, n: u64) -> Self {
        self.inline_bytes = n;
        self
    }
    /// Chunk size for larger bodies (default 8 MiB).
    pub fn chunk_bytes(mut self, n: u64) -> Self {
        self.chunk_bytes = n;
        self
    }
    /// Upper bound of the bytes one group commit gathers (default 4 MiB, at most 1 GiB).
    pub fn group_bytes(mut self, n: u64) -> Self {
        self.group_bytes = n;
        self
    }
    /// Default durability of writes (default [`Durability::Immediate`]).
    pub fn durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }
    /// What to do with corruption found at open (default [`RecoveryMode::Strict`]).
    pub fn recovery_mode(mut self, m: RecoveryMode) -> Self {
        self.recovery = m;
        self
    }
    /// Display name of the owner account of a new store (default `owner`).
    pub fn owner_display_name(mut self, name: impl Into<String>) -> Self {
        self.owner_display_name = name.into();
        self
    }
    /// Region of a new store (default `us-east-1`).
    pub fn region(mut self, r: impl Into<String>) -> Self {
        self.region = r.into();
        self
    }
    /// How far ahead of the active segment's tail the file is kept allocated and zero-filled
    /// (default 1 MiB; 0 turns it off). Overwriting written zeros lets each group's `fdatasync` skip
    /// the metadata commit an append needs (measured here: about 1.45× more syncs per second).
    pub fn preallocate_bytes(mut self, n: u64) -> Self {
        self.preallocate_bytes = n;
        self
    }
    /// The clock every time rule reads (default: the system clock; [`crate::clock::ManualClock`] in
    /// tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// Emulates S3's per-partition request rates: requests past the limits in one second of the
    /// store's clock answer `SlowDown` (503). Off by default.
    pub fn request_rate_limits(mut self, limits: RequestRateLimits) -> Self {
        self.rate_limits = Some(limits);
        self
    }
    /// Uses another [`Storage`] (the simulated one, for tests).
    ///
    /// A store on a custom storage starts without background writeback (see
    /// [`StoreBuilder::background_writeback`]) and never hands half of a large sealed read to the
    /// process's read worker thread (that is done only on the file system's storage,
    /// [`RealStorage`](crate::io::RealStorage), whose [`Storage::callable_from_store_threads`] says
    /// so), so that every operation a simulated storage sees
    /// comes from a caller's thread, in an order a seed reproduces.
    pub fn storage(mut self, s: Arc<dyn Storage>) -> Self {
        self.storage = Some(s);
        self.background_writeback = false;
        if let Checkpoints::Background { .. } = self.checkpoints {
            self.checkpoints = Checkpoints::AtClose;
        }
        self
    }

    /// When index checkpoints are written (default [`Checkpoints::Background`] every 64 MiB of a
    /// partition's log, looked at every 10 s; a store on a custom storage defaults to
    /// [`Checkpoints::AtClose`], so that no background thread does I/O a seed cannot reproduce).
    /// An open always starts from the newest valid checkpoint, whatever the policy.
    pub fn checkpoints(mut self, c: Checkpoints) -> Self {
        self.checkpoints = c;
        self
    }

    /// Whether a background thread starts the fdatasync of a large body's chunks while the put is
    /// still hashing and writing the rest (default: on for a store on disk). Durability is the same
    /// either way: an object is acknowledged by its commit record's sync, which covers its chunks.
    pub fn background_writeback(mut self, on: bool) -> Self {
        self.background_writeback = on;
        self
    }

    /// Whether the chunks of large bodies stay in the page cache once the writeback thread has
    /// synced them (default: on, the kernel decides as for any file). Turn it off for write-heavy
    /// stores whose large objects are rarely read soon after they are written: growing the page
    /// cache by every byte written makes the write itself several times slower (measured here: a
    /// 1 MiB `pwrite` took 0.8–1.4 ms into a growing page cache, 0.2 ms into recycled pages, and one
    /// stream of durable 1 MiB puts gained 3%), while a large object read back soon after it was
    /// written then comes from the disk (1 MiB gets: about 4× slower here). Small (inline) bodies
    /// always stay cached. Only advice to the kernel: durability and correctness do not depend on it.
    pub fn cache_large_bodies(mut self, on: bool) -> Self {
        self.cache_large_bodies = on;
        self
    }

    /// Makes every id the store generates reproducible from `seed`: version ids, request ids,
    /// chunk tokens, account ids and access keys, and the store's uuid (the continuation-token
    /// secret). With a [`crate::clock::ManualClock`] fixing times, the same seed and the same
    /// operations give the same outputs run to run. Unseeded (the default), ids are random.
    ///
    /// For tests: a seeded store's ids (and its continuation tokens) are predictable by anyone who
    /// knows the seed. Ids stay unique with concurrent writers, but which writer gets which then
    /// depends on their order. The stream is rand's `StdRng`, reproducible within one version of
    /// rand.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    fn validate(&self) -> Result<()> {
        let bad = |name, value: u64, reason: &str| {
            Err(Error::InvalidArgument { name, value: value.to_string(), reason: reason.into() })
        };
        let partitions = self.partitions.unwrap_or(PARTITIONS_DEFAULT);
        if !partitions.is_power_of_two() || partitions > PARTITIONS_MAX {
            return bad("partitions", u64::from(partitions), "must be a power of two, at most 4096");
        }
        if !(SEGMENT_BYTES_MIN..=SEGMENT_BYTES_MAX).contains(&self.segment_bytes) {
            return bad("segment_bytes", self.segment_bytes, "must be between 64 KiB and 4 GiB");
        }
        if self.chunk_bytes == 0 || self.chunk_bytes > RECORD_BODY_BYTES_MAX {
            return bad("chunk_bytes", self.chunk_bytes, "must be between 1 byte and 64 MiB");
        }
        if self.inline_bytes > self.chunk_bytes {
            return bad("inline_bytes", self.inline_bytes, "must not exceed chunk_bytes");
        }
        if self.chunk_bytes + (RECORD_META_BYTES_MAX as u64) * 2 + SEGMENT_DATA_START > self.segment_bytes {
            return bad(
                "segment_bytes",
                self.segment_bytes,
                "must hold a whole chunk record and a maximal meta section",
            );
        }
        // A sealed chunk record carries ciphertext, which can run past `chunk_bytes` (see
        // `sealed_record_bytes_max`); with keys, that record too must be one a scan accepts.
        let sealed = crate::engine::crypto::chunks::sealed_record_bytes_max(self.chunk_bytes);
        if self.keys.is_some() && sealed > RECORD_BODY_BYTES_MAX {
            return bad(
                "chunk_bytes",
                self.chunk_bytes,
                &format!(
                    "with a key provider, a sealed chunk record ({sealed} bytes at most) must fit a record (64 MiB)"
                ),
            );
        }
        if self.group_bytes > GROUP_BYTES_MAX {
            return bad("group_bytes", self.group_bytes, "must be at most 1 GiB");
        }
        if let Checkpoints::Background { bytes, interval_ms } = self.checkpoints {
            if bytes == 0 {
                return bad("checkpoint bytes", 0, "must be at least 1");
            }
            if interval_ms == 0 {
                return bad("checkpoint interval_ms", 0, "must be at least 1");
            }
        }
        if let Durability::Eventual { flush_interval_ms: 0 } = self.durability {
            return bad("flush_interval_ms", 0, "must be at least 1");
        }
        if let Some(split) = self.rate_limits.and_then(|l| l.splitting) {
            if split.sustained_s == 0 {
                return bad("sustained_s", 0, "must be at least 1 second");
            }
            if split.max_prefix_len == 0 || split.max_prefix_len < split.initial_prefix_len {
                return bad(
                    "max_prefix_len",
                    u64::from(split.max_prefix_len),
                    "must be at least 1 and at least initial_prefix_len",
                );
            }
        }
        Ok(())
    }

    /// Opens the store, creating it if the directory holds none, and runs recovery.
    ///
    /// # Errors
    /// `InvalidArgument` for bad options, or a partition count or prefix length other than the
    /// existing store's; `AlreadyOpen` if a live store of this process has the
    /// directory open; `Locked` if another process has it open; `Corruption` in
    /// `Strict` mode when damage other than a torn tail is found; `Io` on I/O errors.
    pub fn open(self) -> Result<Store> {
        self.validate()?;
        let registered = match &self.storage {
            Some(_) => None,
            None => {
                std::fs::create_dir_all(&self.root).map_err(|e| Error::io("mkdir", &self.root, e))?;
                Some(open_registry::register(&self.root)?)
            }
        };
        let storage = self.storage.clone().unwrap_or_else(|| Arc::new(RealStorage));
        let cfg = OpenConfig {
            params: Params {
                partitions: self.partitions.unwrap_or(PARTITIONS_DEFAULT),
                prefix_len: self.prefix_len.unwrap_or(PREFIX_LEN_WHOLE_KEY),
                segment_bytes: self.segment_bytes,
                inline_bytes: self.inline_bytes,
                chunk_bytes: self.chunk_bytes,
                group_bytes: self.group_bytes.max(1),
                durability: self.durability,
                preallocate_bytes: self.preallocate_bytes,
                rate_limits: self.rate_limits,
            },
            clock: self.clock.clone(),
            recovery: self.recovery,
            region: self.region,
            ids: Arc::new(IdSource::new(self.seed)),
            asked_layout: (self.partitions, self.prefix_len),
        };
        let owner_display_name = self.owner_display_name.clone();
        let mut opened = recovery::open(storage, self.root, cfg)?;
        crate::engine::key_slots::open_key_slots(&mut opened, self.crypto_shred)?;
        let partitions = Arc::new(opened.partitions);
        let flusher = match opened.ctx.params.durability {
            Durability::Eventual { flush_interval_ms } => {
                let root = opened.ctx.root.clone();
                let f = Flusher::start(partitions.clone(), flush_interval_ms);
                Some(f.map_err(|e| Error::io("spawn flush thread", root, e))?)
            }
            _ => None,
        };
        let writeback = if self.background_writeback {
            let w = Writeback::start(partitions.clone());
            Some(w.map_err(|e| Error::io("spawn writeback thread", &opened.ctx.root, e))?)
        } else {
            None
        };
        let checkpointer = match self.checkpoints {
            Checkpoints::Background { bytes, interval_ms } => {
                let c = Checkpointer::start(partitions.clone(), bytes, interval_ms);
                Some(c.map_err(|e| Error::io("spawn checkpoint thread", &opened.ctx.root, e))?)
            }
            _ => None,
        };
        let prefix_rates =
            self.rate_limits.and_then(|l| l.splitting.map(|splitting| PrefixRates::new(l, splitting)));
        let store = Store {
            inner: Arc::new(Inner {
                ctx: opened.ctx,
                partitions,
                catalog: RwLock::new(opened.catalog),
                writes_in_flight: Mutex::default(),
                report: opened.report,
                region: opened.region,
                flusher: Mutex::new(flusher),
                etag_hashers: EtagHashers::default(),
                buffers: Arc::default(),
                cache_large_bodies: self.cache_large_bodies,
                keys: self.keys.clone(),
                encrypt_by_default: self.encrypt_by_default.unwrap_or(self.profile.encrypts_by_default())
                    && self.keys.is_some(),
                profile: self.profile,
                crypto_shred: self.crypto_shred,
                key_uses: Arc::default(),
                prefix_rates,
                writeback,
                maintenance: Mutex::default(),
                checkpoints: self.checkpoints,
                checkpointer: Mutex::new(checkpointer),
                _lock: opened.lock,
                _registered: registered,
            }),
        };
        store.ensure_owner(&owner_display_name)?;
        Ok(store)
    }
}

#[derive(Debug)]
pub(super) struct Flusher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Flusher {
    fn start(partitions: Arc<Vec<Arc<Partition>>>, interval_ms: u64) -> std::io::Result<Flusher> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let s = stop.clone();
        let handle = std::thread::Builder::new().name("s3lite-flush".into()).spawn(move || {
            let (lock, cv) = &*s;
            let mut stopped = lock.lock();
            while !*stopped {
                cv.wait_for(&mut stopped, Duration::from_millis(interval_ms));
                for p in partitions.iter() {
                    // An error poisons the store; writers see it as PreviousIo.
                    let _ = p.flush();
                }
            }
        })?;
        Ok(Flusher { stop, handle: Some(handle) })
    }

    pub(super) fn stop(&mut self) {
        *self.stop.0.lock() = true;
        self.stop.1.notify_all();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
