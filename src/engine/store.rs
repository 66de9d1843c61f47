//! The public store: open/create, buckets, and the engine-level object API on (bucket id, key).

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use md5::{Digest, Md5};
use parking_lot::{Condvar, Mutex, RwLock};
use rand::RngCore;

use crate::clock::{Clock, SystemClock};
use crate::engine::body::{BodySource, ByteRange, ChunkedBody, ObjectReader};
use crate::engine::buffer_pool::{BufferPool, PIECE_BYTES, Piece, SharedPiece};
use crate::engine::catalog::{Account, BucketInfo, Catalog, CatalogEdit, VersioningState};
use crate::engine::context::{Context, Params};
use crate::engine::etag_hasher::EtagHashers;
use crate::engine::format::manifest::PREFIX_LEN_WHOLE_KEY;
use crate::engine::format::meta::{CHUNKS_PER_OBJECT_MAX, ChunkRef, ObjectMeta};
use crate::engine::format::record::{
    FLAG_NULL_VERSION, RecordHeader, RecordKind, RecordParts, decode_prefix, encode_record,
    encode_record_head, record_len, verify_body_crc,
};
use crate::engine::format::segment_header::SEGMENT_DATA_START;
use crate::engine::io::{RealStorage, SimStorage, Storage, StorageLock};
use crate::engine::listing::{ListItem, ListQuery, ListStart};
use crate::engine::partition::index::{EntryKind, IndexEntry};
use crate::engine::partition::rate::{PrefixRates, RatePartition, RequestKind, RequestRateLimits};
use crate::engine::partition::stats::{self, PartitionStats};
use crate::engine::partition::{Condition, Effect, Partition, Precondition, SharedBody, WriteRecord, route};
use crate::engine::recovery::{self, OpenConfig, RecoveryReport};
use crate::engine::writeback::Writeback;
use crate::error::{CorruptionSite, Error, Result};
use crate::limits::{
    BUCKET_NAME_BYTES_MAX, CHUNK_BYTES_DEFAULT, GROUP_BYTES_DEFAULT, INLINE_BYTES_DEFAULT, LIST_KEYS_MAX,
    PARTITIONS_DEFAULT, PARTITIONS_MAX, PREALLOCATE_BYTES_DEFAULT, PUT_OBJECT_BYTES_MAX,
    RECORD_BODY_BYTES_MAX, RECORD_META_BYTES_MAX, SEGMENT_BYTES_DEFAULT, SEGMENT_BYTES_MAX,
    SEGMENT_BYTES_MIN,
};
use crate::types::{BucketId, Durability, RecoveryMode, StorageClass, VersionId, check_key};

/// Configures and opens a store. Values that are fixed at creation (partitions, prefix length,
/// region) are read from the store when it already exists.
#[derive(Debug, Clone)]
#[must_use]
pub struct StoreBuilder {
    root: PathBuf,
    storage: Option<Arc<dyn Storage>>,
    partitions: u32,
    prefix_len: Option<u32>,
    segment_bytes: u64,
    inline_bytes: u64,
    chunk_bytes: u64,
    group_bytes: u64,
    durability: Durability,
    recovery: RecoveryMode,
    region: String,
    owner_display_name: String,
    preallocate_bytes: u64,
    clock: Arc<dyn Clock>,
    rate_limits: Option<RequestRateLimits>,
    background_writeback: bool,
    cache_large_bodies: bool,
}

impl StoreBuilder {
    /// Partition count at creation: a power of two up to [`PARTITIONS_MAX`] (default 16).
    pub fn partitions(mut self, n: u32) -> Self {
        self.partitions = n;
        self
    }
    /// Key bytes the router hashes, at creation (default: the whole key). A short prefix makes keys
    /// sharing it share a partition, as S3 does.
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
    /// Upper bound of the bytes one group commit gathers (default 4 MiB).
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
    /// [`StoreBuilder::background_writeback`]), so that every operation a simulated storage sees
    /// comes from a caller's thread, in an order a seed reproduces.
    pub fn storage(mut self, s: Arc<dyn Storage>) -> Self {
        self.storage = Some(s);
        self.background_writeback = false;
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

    fn validate(&self) -> Result<()> {
        let bad = |name, value: u64, reason: &str| {
            Err(Error::InvalidArgument { name, value: value.to_string(), reason: reason.into() })
        };
        if !self.partitions.is_power_of_two() || self.partitions > PARTITIONS_MAX {
            return bad("partitions", u64::from(self.partitions), "must be a power of two, at most 4096");
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
    /// `InvalidArgument` for bad options; `Locked` if another process has it open; `Corruption` in
    /// `Strict` mode when damage other than a torn tail is found; `Io` on I/O errors.
    pub fn open(self) -> Result<Store> {
        self.validate()?;
        let storage = self.storage.clone().unwrap_or_else(|| Arc::new(RealStorage));
        let cfg = OpenConfig {
            params: Params {
                partitions: self.partitions,
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
        };
        let owner_display_name = self.owner_display_name.clone();
        let opened = recovery::open(storage, self.root, cfg)?;
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
                prefix_rates,
                writeback,
                _lock: opened.lock,
            }),
        };
        store.ensure_owner(&owner_display_name)?;
        Ok(store)
    }
}

#[derive(Debug)]
struct Flusher {
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

    fn stop(&mut self) {
        *self.stop.0.lock() = true;
        self.stop.1.notify_all();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[derive(Debug)]
struct Inner {
    ctx: Arc<Context>,
    partitions: Arc<Vec<Arc<Partition>>>,
    catalog: RwLock<Catalog>,
    /// Writes in flight per bucket id (see [`BucketWrite`]): a bucket with any cannot be deleted.
    /// Taken under a read or write guard of `catalog`, never the other way round (a leaf lock).
    writes_in_flight: Mutex<HashMap<u64, usize>>,
    report: RecoveryReport,
    region: String,
    flusher: Mutex<Option<Flusher>>,
    etag_hashers: EtagHashers,
    /// Piece buffers of large bodies, reused across puts.
    buffers: Arc<BufferPool>,
    /// See [`StoreBuilder::cache_large_bodies`].
    cache_large_bodies: bool,
    /// Rate partitions when request-rate emulation splits them.
    prefix_rates: Option<PrefixRates>,
    writeback: Option<Writeback>,
    _lock: Box<dyn StorageLock>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(mut f) = self.flusher.lock().take() {
            f.stop();
        }
        if let Some(w) = &mut self.writeback {
            w.stop();
        }
        for p in self.partitions.iter() {
            let _ = p.flush();
        }
    }
}

/// An open store. Cheap to clone; clones share the store, and it closes when the last one drops.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// An object write in flight into a bucket, from its bucket check to its commit (or failure).
///
/// No lock is held across the write: a put streams its body (up to 5 GiB, from a client of any
/// speed) with nothing that a catalog writer would queue behind. Instead the bucket's in-flight count
/// keeps `delete_bucket` from removing the bucket under it: the count is raised under the catalog's
/// read guard and `delete_bucket` reads it under the write guard, so either the write sees no bucket
/// or the delete sees the write.
struct BucketWrite<'a> {
    inner: &'a Inner,
    bucket: u64,
    /// The bucket's name, for errors (taken with the check, so errors need no second lock).
    name: String,
}

impl Drop for BucketWrite<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.inner.writes_in_flight.lock();
        if let Some(n) = in_flight.get_mut(&self.bucket) {
            *n -= 1;
            if *n == 0 {
                in_flight.remove(&self.bucket);
            }
        }
    }
}

/// Which version a write creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NewVersion {
    /// The `null` version, replacing any earlier `null` version of the key (unversioned buckets).
    #[default]
    Null,
    /// A new unique version id (versioned buckets).
    Unique,
}

/// An access key: what a client presents to act as an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Access key id (`AKIA...`).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

/// A condition a write needs to hold of the key's current version, checked atomically with the write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteCondition {
    /// The key must have no current object (`If-None-Match: *`); a delete marker counts as none.
    IfAbsent,
    /// The key's current object must have this ETag (`If-Match`), quoted or not.
    IfETagMatches(String),
}

impl WriteCondition {
    fn to_precondition(&self, bucket: u64, key: &str) -> Precondition {
        let condition = match self {
            WriteCondition::IfAbsent => Condition::Absent,
            // An ETag that is not a single-part digest matches no object this engine writes.
            WriteCondition::IfETagMatches(etag) => Condition::EtagIs(parse_etag(etag).unwrap_or([0xff; 16])),
        };
        Precondition { bucket, key: key.as_bytes().to_vec(), condition }
    }
}

/// Parses a (possibly quoted) 32-hex-digit ETag.
pub(crate) fn parse_etag(etag: &str) -> Option<[u8; 16]> {
    let hex = etag.trim().trim_matches('"');
    if hex.len() != 32 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Runs once a put's whole body has been read, before anything becomes visible: it gets the body's
/// MD5 and returns checksums to store, or an error that aborts the put (nothing is stored).
#[derive(Clone)]
pub struct BodyFinish(pub Arc<BodyFinishFn>);

/// The function inside a [`BodyFinish`].
pub type BodyFinishFn = dyn Fn(&[u8; 16]) -> Result<Vec<(u8, Vec<u8>)>> + Send + Sync;

impl std::fmt::Debug for BodyFinish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BodyFinish(..)")
    }
}

/// Options of a put.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// Version to create.
    pub version: NewVersion,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// User metadata.
    pub user_metadata: Vec<(String, String)>,
    /// Other stored headers (`Content-Encoding`, `Cache-Control`, ...), as (name, value).
    pub system_metadata: Vec<(String, String)>,
    /// Object tags.
    pub tags: Vec<(String, String)>,
    /// S3 checksums to store, as (algorithm code, raw digest); the caller has verified them.
    pub checksums: Vec<(u8, Vec<u8>)>,
    /// A condition checked atomically with the write.
    pub condition: Option<WriteCondition>,
    /// Storage class.
    pub storage_class: StorageClass,
    /// Overrides the store's durability for this call.
    pub durability: Option<Durability>,
    /// The body's length when known (lets the engine size its buffer; the body must match it).
    pub content_length: Option<u64>,
    /// Checks run after the body and before the commit (streamed checksums).
    pub finish: Option<BodyFinish>,
}

/// Options of a get.
#[derive(Debug, Clone, Default)]
pub struct GetOptions {
    /// A specific version (default: the current one).
    pub version: Option<VersionId>,
    /// A byte range (default: the whole body).
    pub range: Option<ByteRange>,
}

/// Options of a listing.
#[derive(Debug, Clone)]
pub struct ListOptions {
    /// Only keys starting with this.
    pub prefix: String,
    /// Only keys after this one.
    pub start_after: Option<String>,
    /// Page size (1..=1000, default 1000).
    pub max_keys: usize,
    /// List every version and delete marker instead of current objects.
    pub versions: bool,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions { prefix: String::new(), start_after: None, max_keys: LIST_KEYS_MAX, versions: false }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    /// Entries in key order (versions newest first).
    pub entries: Vec<ObjectInfo>,
    /// True when more entries follow.
    pub is_truncated: bool,
}

/// What the engine knows of an object version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Bucket.
    pub bucket: BucketId,
    /// Key.
    pub key: String,
    /// Version id (`null` for the null version).
    pub version_id: VersionId,
    /// True for a delete marker.
    pub is_delete_marker: bool,
    /// True for the key's newest version.
    pub is_latest: bool,
    /// Body size.
    pub size: u64,
    /// ETag as S3 returns it: quoted lowercase hex.
    pub e_tag: String,
    /// Last-modified time, ms since the Unix epoch.
    pub last_modified_ms: u64,
    /// Storage class.
    pub storage_class: StorageClass,
    /// Content type (loaded by `head` and `get`, `None` in listings).
    pub content_type: Option<String>,
    /// User metadata (loaded by `head` and `get`, empty in listings).
    pub user_metadata: Vec<(String, String)>,
    /// Other stored headers (loaded by `head` and `get`).
    pub system_metadata: Vec<(String, String)>,
    /// Tags (loaded by `head` and `get`).
    pub tags: Vec<(String, String)>,
    /// Stored S3 checksums (loaded by `head` and `get`).
    pub checksums: Vec<(u8, Vec<u8>)>,
}

fn new_account(display_name: &str) -> Account {
    let mut id = [0u8; 32];
    rand::rng().fill_bytes(&mut id);
    Account {
        canonical_id: id.iter().map(|b| format!("{b:02x}")).collect(),
        display_name: display_name.into(),
    }
}

fn account_created(account: &Account, is_owner: bool) -> CatalogEdit {
    CatalogEdit::AccountCreated {
        canonical_id: account.canonical_id.clone(),
        display_name: account.display_name.clone(),
        is_owner,
    }
}

pub(crate) fn etag_string(etag: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Built as bytes: pushing chars one by one showed in listing profiles.
    let mut s = Vec::with_capacity(2 + 2 * etag.len());
    s.push(b'"');
    for b in etag {
        s.extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
    }
    s.push(b'"');
    String::from_utf8(s).expect("quotes and hex digits are ASCII")
}

fn info_from(bucket: u64, key: &[u8], e: &IndexEntry, is_latest: bool) -> ObjectInfo {
    ObjectInfo {
        bucket: BucketId(bucket),
        key: String::from_utf8_lossy(key).into_owned(),
        version_id: e.version_id,
        is_delete_marker: e.kind == EntryKind::DeleteMarker,
        is_latest,
        size: e.size,
        e_tag: if e.kind == EntryKind::DeleteMarker { String::new() } else { etag_string(&e.etag) },
        last_modified_ms: e.mtime_ms,
        storage_class: e.class,
        content_type: None,
        user_metadata: Vec::new(),
        system_metadata: Vec::new(),
        tags: Vec::new(),
        checksums: Vec::new(),
    }
}

/// The error for a body whose length is not the declared one.
fn content_length_mismatch(declared: u64, size: u64) -> Error {
    Error::InvalidArgument {
        name: "Content-Length",
        value: declared.to_string(),
        reason: if size > declared {
            format!("the body is longer (at least {size} bytes)")
        } else {
            format!("the body has {size} bytes")
        },
    }
}

/// A fresh random id for the chunks of one upload (see `ObjectMeta::chunk_token`).
fn chunk_token() -> [u8; 16] {
    let mut t = [0u8; 16];
    rand::rng().fill_bytes(&mut t);
    t[0] |= 1; // never the all-zero `null` version id
    t
}

/// The chunk records one large put has written. Until its commit record lands they belong to no
/// object: if the put fails (a read error, a length or checksum mismatch, a failed precondition,
/// an I/O error), dropping this counts their bytes as abandoned at once, for the statistics and for
/// the compaction that will reclaim them.
struct WrittenChunks<'p> {
    part: &'p Partition,
    key_len: usize,
    chunks: Vec<ChunkRef>,
    size: u64,
    etag: [u8; 16],
    committed: bool,
}

impl Drop for WrittenChunks<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let bytes = self.chunks.iter().map(|c| record_len(self.key_len, 0, c.len)).sum();
            stats::add(&self.part.counters.abandoned_bytes, bytes);
        }
    }
}

/// Replaces the `#id` placeholder the partition layer puts in errors with the bucket's name, taken
/// when the write began (looking it up again would take the catalog lock a second time in one call,
/// which deadlocks behind a queued catalog writer: parking_lot's RwLock is fair).
fn name_error(e: Error, write: &BucketWrite<'_>) -> Error {
    match e {
        Error::PreconditionFailed { key, condition, .. } => {
            Error::PreconditionFailed { bucket: write.name.clone(), key, condition }
        }
        other => other,
    }
}

/// Fills the fields only the record's meta has.
fn with_meta(mut info: ObjectInfo, meta: ObjectMeta) -> ObjectInfo {
    info.content_type = meta.content_type;
    info.user_metadata = meta.user;
    info.system_metadata = meta.system;
    info.tags = meta.tags;
    info.checksums = meta.checksums;
    info
}

fn read_body(body: &mut dyn Read, buf: &mut Vec<u8>, want: u64) -> Result<u64> {
    let before = buf.len();
    body.take(want).read_to_end(buf).map_err(|source| Error::BodyRead { source })?;
    Ok((buf.len() - before) as u64)
}

/// A large body read as pieces: first the bytes already read to tell it from an inline one, then
/// pool buffers filled from the reader.
struct BodyPieces<'a> {
    first: Option<Vec<u8>>,
    body: &'a mut dyn Read,
    eof: bool,
    /// Bytes still to be read from `body` at most.
    left: u64,
}

impl BodyPieces<'_> {
    /// The next piece of at most `want` bytes, or `None` at the end of the body.
    fn next(&mut self, want: usize, pool: &Arc<BufferPool>) -> Result<Option<SharedPiece>> {
        if let Some(mut first) = self.first.take() {
            if first.len() > want {
                self.first = Some(first.split_off(want));
            }
            return Ok(Some(Arc::new(Piece::new(first, None))));
        }
        let want = want.min(usize::try_from(self.left).unwrap_or(usize::MAX));
        if self.eof || want == 0 {
            return Ok(None);
        }
        let mut buf = pool.take(want);
        let got = read_body(self.body, &mut buf, want as u64)?;
        self.eof = got < want as u64;
        self.left -= got;
        let piece = Piece::new(buf, Some(pool.clone()));
        Ok((got > 0).then(|| Arc::new(piece)))
    }
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
            partitions: PARTITIONS_DEFAULT,
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

    /// Zeroes the partition statistics (live bytes are a state, not a counter, and stay).
    pub fn reset_partition_stats(&self) {
        for p in self.inner.partitions.iter() {
            p.counters.reset();
        }
    }

    /// The rate partitions of request-rate emulation with splitting (see
    /// [`crate::PartitionSplitting`]), by bucket and prefix; empty when splitting is off.
    #[must_use]
    pub fn rate_partitions(&self) -> Vec<RatePartition> {
        self.inner.prefix_rates.as_ref().map_or_else(Vec::new, |r| r.snapshot(self.now_ms()))
    }

    /// Number of partitions.
    #[must_use]
    pub fn partition_count(&self) -> u32 {
        self.inner.ctx.params.partitions
    }

    /// Makes every write acknowledged so far durable (useful with `Eventual` durability), then
    /// closes the store.
    ///
    /// # Errors
    /// `Io` if a sync fails; `PreviousIo` if the store was poisoned.
    pub fn close(self) -> Result<()> {
        self.sync()
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

    fn partition(&self, bucket: u64, key: &[u8]) -> &Arc<Partition> {
        let params = &self.inner.ctx.params;
        &self.inner.partitions[usize::from(route(bucket, key, params.prefix_len, params.partitions))]
    }

    /// The store clock's now, ms since the Unix epoch.
    pub(crate) fn now_ms(&self) -> u64 {
        self.inner.ctx.clock.now_ms()
    }

    /// Admits a request for `key` under the emulated request rates, if any: against its rate
    /// partition when splitting is on, else against its store partition.
    fn admit(&self, part: &Partition, bucket: u64, key: &[u8], kind: RequestKind) -> Result<()> {
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

    fn durability(&self, d: Option<Durability>) -> Durability {
        d.unwrap_or(self.inner.ctx.params.durability)
    }

    // ----- buckets -------------------------------------------------------------------------------

    /// Creates a bucket owned by the store's owner and returns its new internal id. (The S3
    /// operation, with naming rules and regions, is [`crate::s3::S3::create_bucket`].)
    ///
    /// # Errors
    /// `InvalidArgument` for an empty or over-long name, `BucketAlreadyExists` if the name is taken.
    pub fn create_bucket(&self, name: &str) -> Result<BucketId> {
        let owner = self.owner().canonical_id;
        self.create_bucket_owned(name, &owner, &self.inner.region.clone(), None)
    }

    /// Creates a bucket for `owner` in `region` (the S3 layer has checked name and region).
    /// With `quota`, fails with `TooManyBuckets` when `owner` already has that many (checked under the
    /// catalog lock, so concurrent creations cannot pass it together).
    pub(crate) fn create_bucket_owned(
        &self,
        name: &str,
        owner: &str,
        region: &str,
        quota: Option<usize>,
    ) -> Result<BucketId> {
        self.inner.ctx.check()?;
        if name.is_empty() || name.len() > BUCKET_NAME_BYTES_MAX {
            return Err(Error::InvalidArgument {
                name: "bucket",
                value: name.into(),
                reason: "bucket names are 1 to 63 bytes".into(),
            });
        }
        let mut catalog = self.inner.catalog.write();
        if catalog.by_name(name).is_some() {
            return Err(Error::BucketAlreadyExists { bucket: name.into() });
        }
        if let Some(max) = quota
            && catalog.all().filter(|b| b.owner == owner).count() >= max
        {
            return Err(Error::TooManyBuckets { max });
        }
        let id = catalog.max_id + 1;
        let edit = CatalogEdit::BucketCreated {
            id,
            name: name.into(),
            owner: owner.into(),
            region: region.into(),
            created_ms: self.now_ms(),
        };
        self.write_catalog(id, name, &edit)?;
        catalog.apply(&edit);
        Ok(BucketId(id))
    }

    /// Deletes an empty bucket.
    ///
    /// # Errors
    /// `NoSuchBucket`, or `BucketNotEmpty` while any version or delete marker remains.
    pub fn delete_bucket(&self, name: &str) -> Result<()> {
        self.inner.ctx.check()?;
        let mut catalog = self.inner.catalog.write();
        let id = catalog.by_name(name).ok_or_else(|| Error::NoSuchBucket { bucket: name.into() })?.id;
        if self.inner.writes_in_flight.lock().contains_key(&id.0) {
            return Err(Error::OperationAborted {
                bucket: name.into(),
                reason: "an object write into the bucket is in progress".into(),
            });
        }
        if !self.inner.partitions.iter().all(|p| p.index.read().bucket_is_empty(id.0)) {
            return Err(Error::BucketNotEmpty { bucket: name.into() });
        }
        let edit = CatalogEdit::BucketDeleted { id: id.0 };
        self.write_catalog(id.0, name, &edit)?;
        catalog.apply(&edit);
        Ok(())
    }

    /// Looks a bucket up by name.
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub fn bucket(&self, name: &str) -> Result<BucketInfo> {
        self.inner.ctx.check()?;
        self.inner
            .catalog
            .read()
            .by_name(name)
            .cloned()
            .ok_or_else(|| Error::NoSuchBucket { bucket: name.into() })
    }

    /// Every bucket, by name.
    ///
    /// # Errors
    /// `PreviousIo` once poisoned.
    pub fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        self.inner.ctx.check()?;
        Ok(self.inner.catalog.read().all().cloned().collect())
    }

    /// The secret that keys continuation-token MACs: the random store id, never shown.
    pub(crate) fn token_secret(&self) -> [u8; 16] {
        self.inner.ctx.store_uuid
    }

    /// The seq of a version of a key (to resume a version listing after it).
    pub(crate) fn version_seq(&self, bucket: BucketId, key: &str, version: VersionId) -> Result<u64> {
        let part = self.partition(bucket.0, key.as_bytes());
        let ix = part.index.read();
        ix.version(bucket.0, key.as_bytes(), version).map(|(s, _)| s).ok_or_else(|| Error::InvalidArgument {
            name: "version-id-marker",
            value: version.to_string(),
            reason: format!("no version {version} of key {key:?}"),
        })
    }

    /// The store owner's account.
    #[must_use]
    pub fn owner(&self) -> Account {
        self.inner.catalog.read().owner().cloned().expect("the owner account is created at open")
    }

    /// Creates another account (a principal for S3 calls; access control comes later).
    ///
    /// # Errors
    /// `InvalidArgument` for an empty or over-long display name; `Io`/`PreviousIo`.
    pub fn create_account(&self, display_name: &str) -> Result<Account> {
        self.inner.ctx.check()?;
        if display_name.is_empty() || display_name.len() > 128 {
            return Err(Error::InvalidArgument {
                name: "display_name",
                value: display_name.into(),
                reason: "display names are 1 to 128 bytes".into(),
            });
        }
        let mut catalog = self.inner.catalog.write();
        let account = new_account(display_name);
        let edit = account_created(&account, false);
        self.write_catalog(0, display_name, &edit)?;
        catalog.apply(&edit);
        Ok(account)
    }

    /// Issues an access key (id and secret) for an account; the store keeps only a SHA-256 of the
    /// secret. Clients made from the credentials act as the account.
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown account; `Io`/`PreviousIo`.
    pub fn create_access_key(&self, account: &Account) -> Result<Credentials> {
        use sha2::Digest as _;
        self.inner.ctx.check()?;
        let mut catalog = self.inner.catalog.write();
        if catalog.account(&account.canonical_id).is_none() {
            return Err(Error::InvalidArgument {
                name: "account",
                value: account.canonical_id.clone(),
                reason: "no such account in this store".into(),
            });
        }
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut raw = [0u8; 36];
        rand::rng().fill_bytes(&mut raw);
        let access_key_id: String =
            "AKIA".chars().chain(raw[..16].iter().map(|b| ALNUM[usize::from(b % 32)] as char)).collect();
        let secret_access_key: String = raw[16..].iter().map(|b| format!("{b:02x}")).collect();
        let edit = CatalogEdit::AccessKeyCreated {
            access_key_id: access_key_id.clone(),
            secret_sha256: sha2::Sha256::digest(secret_access_key.as_bytes()).into(),
            canonical_id: account.canonical_id.clone(),
        };
        self.write_catalog(0, &access_key_id, &edit)?;
        catalog.apply(&edit);
        Ok(Credentials { access_key_id, secret_access_key })
    }

    /// The account whose credentials these are.
    ///
    /// # Errors
    /// `InvalidAccessKeyId` for an unknown key, `SignatureDoesNotMatch` for a wrong secret.
    pub fn authenticate(&self, credentials: &Credentials) -> Result<Account> {
        use sha2::Digest as _;
        let catalog = self.inner.catalog.read();
        let (hash, id) = catalog
            .access_key(&credentials.access_key_id)
            .ok_or_else(|| Error::InvalidAccessKeyId { access_key_id: credentials.access_key_id.clone() })?;
        let given: [u8; 32] = sha2::Sha256::digest(credentials.secret_access_key.as_bytes()).into();
        if given != *hash {
            return Err(Error::SignatureDoesNotMatch { access_key_id: credentials.access_key_id.clone() });
        }
        catalog
            .account(id)
            .cloned()
            .ok_or_else(|| Error::InvalidAccessKeyId { access_key_id: credentials.access_key_id.clone() })
    }

    /// Every account, by canonical id.
    #[must_use]
    pub fn accounts(&self) -> Vec<Account> {
        self.inner.catalog.read().accounts().cloned().collect()
    }

    /// Looks an account up by canonical id.
    #[must_use]
    pub fn account(&self, canonical_id: &str) -> Option<Account> {
        self.inner.catalog.read().account(canonical_id).cloned()
    }

    /// Sets a bucket's versioning state (`Unversioned` is refused: a bucket never returns to it).
    pub(crate) fn set_versioning(&self, bucket: BucketId, state: VersioningState) -> Result<()> {
        self.inner.ctx.check()?;
        let mut catalog = self.inner.catalog.write();
        let name = catalog
            .by_id(bucket)
            .map(|b| b.name.clone())
            .ok_or_else(|| Error::NoSuchBucket { bucket: format!("#{}", bucket.0) })?;
        let edit = CatalogEdit::BucketVersioning { id: bucket.0, state };
        self.write_catalog(bucket.0, &name, &edit)?;
        catalog.apply(&edit);
        Ok(())
    }

    /// Creates the owner account on a store that has none (a new store).
    fn ensure_owner(&self, display_name: &str) -> Result<()> {
        let mut catalog = self.inner.catalog.write();
        if catalog.owner().is_some() {
            return Ok(());
        }
        let edit = account_created(&new_account(display_name), true);
        self.write_catalog(0, display_name, &edit)?;
        catalog.apply(&edit);
        Ok(())
    }

    fn write_catalog(&self, id: u64, name: &str, edit: &CatalogEdit) -> Result<()> {
        let body = postcard::to_allocvec(edit).expect("catalog edits always encode");
        let bytes = encode_record(&RecordParts {
            kind: RecordKind::Catalog,
            flags: 0,
            seq: 0,
            bucket_id: id,
            version_id: [0; 16],
            chunk_index: 0,
            key: name.as_bytes(),
            meta: &[],
            body: &body,
        });
        let durability = crate::engine::partition::catalog_durability(self.durability(None));
        self.inner.partitions[0].submit(
            vec![WriteRecord::new(bytes, Effect::None)],
            StorageClass::Standard,
            durability,
            None,
        )?;
        Ok(())
    }

    fn bucket_name(&self, bucket: BucketId) -> Result<String> {
        self.inner
            .catalog
            .read()
            .by_id(bucket)
            .map(|b| b.name.clone())
            .ok_or_else(|| Error::NoSuchBucket { bucket: format!("#{}", bucket.0) })
    }

    // ----- objects -------------------------------------------------------------------------------

    /// Stores a body from a slice (the known-length fast path).
    ///
    /// # Errors
    /// As [`Store::put`].
    pub fn put_bytes(
        &self,
        bucket: BucketId,
        key: &str,
        body: &[u8],
        opts: &PutOptions,
    ) -> Result<ObjectInfo> {
        let mut opts = opts.clone();
        opts.content_length = Some(body.len() as u64);
        self.put(bucket, key, body, &opts)
    }

    /// Stores an object version from a reader of any length. Bodies up to the inline limit become one
    /// record; larger ones are streamed as chunk records (never held whole in memory) and committed by
    /// one object-commit record. The version is visible, and the call returns, once that record is
    /// durable (per the durability in force).
    ///
    /// # Errors
    /// `NoSuchBucket`, `KeyTooLong`, `EntityTooLarge` (over 5 GiB, or more chunks than one commit
    /// record can list), `BodyRead` if the reader fails, `InvalidArgument` if the body's length differs
    /// from `content_length`, `Io`/`PreviousIo` on I/O failure. On error nothing becomes visible.
    pub fn put(
        &self,
        bucket: BucketId,
        key: &str,
        mut body: impl Read,
        opts: &PutOptions,
    ) -> Result<ObjectInfo> {
        self.inner.ctx.check()?;
        check_key(key)?;
        let write = self.begin_write(bucket)?;
        let params = &self.inner.ctx.params;
        let (version, flags) = match opts.version {
            NewVersion::Null => (VersionId::NULL, FLAG_NULL_VERSION),
            NewVersion::Unique => (self.new_version_id(), 0),
        };
        let part = self.partition(bucket.0, key.as_bytes());
        self.admit(part, bucket.0, key.as_bytes(), RequestKind::Write)?;
        let durability = self.durability(opts.durability);
        // A body whose length says it is chunked goes straight to pieces; any other is read up to
        // one byte past the inline limit to find out. `inline` is the whole body when it fits,
        // `first` what was read of one that does not.
        let (inline, first) = match opts.content_length {
            Some(len) if len > params.inline_bytes => (None, None),
            known => {
                let cap = known.unwrap_or((64 * 1024).min(params.inline_bytes + 1));
                let mut buf = Vec::with_capacity(cap as usize);
                let n = read_body(&mut body, &mut buf, params.inline_bytes + 1)?;
                if n <= params.inline_bytes { (Some(buf), None) } else { (None, Some(buf)) }
            }
        };
        let mut meta = ObjectMeta {
            mtime_ms: self.now_ms(),
            content_type: opts.content_type.clone(),
            user: opts.user_metadata.clone(),
            system: opts.system_metadata.clone(),
            tags: opts.tags.clone(),
            checksums: opts.checksums.clone(),
            ..ObjectMeta::default()
        };
        // Chunks written so far: dead bytes unless the commit record below lands (see `Drop`).
        let mut chunked: Option<WrittenChunks<'_>> = None;
        let (kind, record_body, size, etag) = match inline {
            Some(buf) => {
                let etag: [u8; 16] = Md5::digest(&buf).into();
                let size = buf.len() as u64;
                (RecordKind::Put, buf, size, etag)
            }
            None => {
                // Never more than one byte past a declared length: that byte proves the mismatch.
                let limit = opts.content_length.map_or(PUT_OBJECT_BYTES_MAX + 1, |l| l.saturating_add(1));
                let pieces = BodyPieces { first, body: &mut body, eof: false, left: limit };
                let token = chunk_token();
                let written = self.write_chunks(part, bucket.0, key, token, pieces, durability, opts)?;
                let (size, etag) = (written.size, written.etag);
                meta.chunks = written.chunks.clone();
                meta.chunk_token = Some(token);
                chunked = Some(written);
                (RecordKind::ObjectCommit, Vec::new(), size, etag)
            }
        };
        if let Some(expected) = opts.content_length.filter(|&e| e != size) {
            return Err(content_length_mismatch(expected, size));
        }
        meta.size = size;
        if let Some(finish) = &opts.finish {
            meta.checksums.extend((finish.0)(&etag)?);
        }
        meta.etag = etag.to_vec();
        let meta_bytes = meta.encode();
        if meta_bytes.len() > RECORD_META_BYTES_MAX {
            return Err(Error::InvalidArgument {
                name: "metadata",
                value: meta_bytes.len().to_string(),
                reason: "object metadata is over 64 KiB".into(),
            });
        }
        let bytes = encode_record(&RecordParts {
            kind,
            flags,
            seq: 0,
            bucket_id: bucket.0,
            version_id: version.0,
            chunk_index: 0,
            key: key.as_bytes(),
            meta: &meta_bytes,
            body: &record_body,
        });
        let entry = IndexEntry {
            segment_id: 0,
            offset: 0,
            record_len: 0,
            version_id: version,
            kind: if kind == RecordKind::Put { EntryKind::Inline } else { EntryKind::Chunked },
            size,
            mtime_ms: meta.mtime_ms,
            etag,
            class: opts.storage_class,
        };
        let rec = WriteRecord::new(
            bytes,
            Effect::Upsert { bucket: bucket.0, key: key.as_bytes().to_vec(), entry: entry.clone() },
        );
        let pre = opts.condition.as_ref().map(|c| c.to_precondition(bucket.0, key));
        part.submit(vec![rec], opts.storage_class, durability, pre).map_err(|e| name_error(e, &write))?;
        if let Some(c) = &mut chunked {
            c.committed = true;
        }
        stats::add(&part.counters.puts, 1);
        stats::add(&part.counters.bytes_in, size);
        drop(write);
        Ok(with_meta(info_from(bucket.0, key.as_bytes(), &entry, true), meta))
    }

    /// Writes a large body as chunk records and returns them with the body's size and MD5. Each
    /// piece goes to the MD5 worker as soon as it is read, while this thread reads on, CRCs and writes
    /// whole chunks; for a durable put the writeback thread syncs each chunk once it is written (and
    /// may drop it from the page cache, see [`StoreBuilder::cache_large_bodies`]).
    #[expect(clippy::too_many_arguments, reason = "one call site; the pieces of one put")]
    fn write_chunks<'p>(
        &self,
        part: &'p Partition,
        bucket: u64,
        key: &str,
        token: [u8; 16],
        mut pieces: BodyPieces<'_>,
        durability: Durability,
        opts: &PutOptions,
    ) -> Result<WrittenChunks<'p>> {
        let chunk_bytes = self.inner.ctx.params.chunk_bytes;
        // Two chunks may wait for hashing while a third is read and written: memory stays bounded,
        // and hashing (the slowest pass) never waits for a chunk's write.
        let mut etag = self.inner.etag_hashers.job(2 * chunk_bytes as usize);
        let mut out = WrittenChunks {
            part,
            key_len: key.len(),
            chunks: Vec::new(),
            size: 0,
            etag: [0; 16],
            committed: false,
        };
        let chunks = &mut out.chunks;
        let mut size = 0u64;
        loop {
            let mut chunk = Vec::new();
            let mut len = 0u64;
            let mut crc = crc32fast::Hasher::new();
            while len < chunk_bytes {
                let want = (chunk_bytes - len).min(PIECE_BYTES as u64) as usize;
                let Some(piece) = pieces.next(want, &self.inner.buffers)? else { break };
                // CRC'd while the piece is still in cache from being read.
                crc.update(piece.bytes());
                len += piece.bytes().len() as u64;
                etag.update(piece.clone());
                chunk.push(piece);
            }
            if len == 0 {
                break;
            }
            size += len;
            if size > PUT_OBJECT_BYTES_MAX {
                return Err(Error::EntityTooLarge { len: size, max: PUT_OBJECT_BYTES_MAX });
            }
            if let Some(declared) = opts.content_length.filter(|&d| size > d) {
                return Err(content_length_mismatch(declared, size));
            }
            if chunks.len() >= CHUNKS_PER_OBJECT_MAX {
                return Err(Error::EntityTooLarge { len: size, max: chunks.len() as u64 * chunk_bytes });
            }
            let crc = crc.finalize();
            let head = encode_record_head(
                &RecordParts {
                    kind: RecordKind::Chunk,
                    flags: 0,
                    seq: 0,
                    bucket_id: bucket,
                    version_id: token,
                    chunk_index: chunks.len() as u32,
                    key: key.as_bytes(),
                    meta: &[],
                    body: &[],
                },
                len,
                crc,
            );
            // A chunk is visible to nobody until the object-commit record lists it; that record's
            // group sync covers every earlier write to its segment, and a rotation seals (and syncs)
            // the segment before it. The writeback sync only gets the data going early.
            let rec = WriteRecord {
                bytes: head,
                body: Some(SharedBody { pieces: chunk, len, crc }),
                effect: Effect::None,
            };
            let eventual = Durability::Eventual { flush_interval_ms: 0 };
            let written = part.submit(vec![rec], opts.storage_class, eventual, None)?;
            if let (Some(w), Durability::Immediate | Durability::Paranoid) =
                (&self.inner.writeback, durability)
            {
                let drop_range = (!self.inner.cache_large_bodies)
                    .then_some((written[0].offset, record_len(key.len(), 0, len)));
                w.request(usize::from(part.id), written[0].segment_id, drop_range);
            }
            chunks.push(ChunkRef { segment_id: written[0].segment_id, offset: written[0].offset, len });
        }
        out.size = size;
        out.etag = etag.finish();
        Ok(out)
    }

    /// Starts an object write into `bucket` (see [`BucketWrite`]).
    fn begin_write(&self, bucket: BucketId) -> Result<BucketWrite<'_>> {
        let catalog = self.inner.catalog.read();
        let name = catalog
            .by_id(bucket)
            .map(|b| b.name.clone())
            .ok_or_else(|| Error::NoSuchBucket { bucket: format!("#{}", bucket.0) })?;
        *self.inner.writes_in_flight.lock().entry(bucket.0).or_default() += 1;
        Ok(BucketWrite { inner: &self.inner, bucket: bucket.0, name })
    }

    fn new_version_id(&self) -> VersionId {
        let mut v = [0u8; 16];
        v[..8].copy_from_slice(&self.inner.ctx.next_seq.load(Ordering::Relaxed).to_be_bytes());
        rand::rng().fill_bytes(&mut v[8..]);
        if v == [0; 16] {
            v[15] = 1;
        }
        VersionId(v)
    }

    /// Adds a delete marker as the key's newest version and returns its version id.
    ///
    /// # Errors
    /// `NoSuchBucket`, `KeyTooLong`, `Io`/`PreviousIo`.
    pub fn put_delete_marker(
        &self,
        bucket: BucketId,
        key: &str,
        version: NewVersion,
        condition: Option<&WriteCondition>,
    ) -> Result<VersionId> {
        self.inner.ctx.check()?;
        check_key(key)?;
        let write = self.begin_write(bucket)?;
        let (vid, flags) = match version {
            NewVersion::Null => (VersionId::NULL, FLAG_NULL_VERSION),
            NewVersion::Unique => (self.new_version_id(), 0),
        };
        let meta = ObjectMeta { mtime_ms: self.now_ms(), ..ObjectMeta::default() };
        let bytes = encode_record(&RecordParts {
            kind: RecordKind::DeleteMarker,
            flags,
            seq: 0,
            bucket_id: bucket.0,
            version_id: vid.0,
            chunk_index: 0,
            key: key.as_bytes(),
            meta: &meta.encode(),
            body: &[],
        });
        let entry = IndexEntry {
            segment_id: 0,
            offset: 0,
            record_len: 0,
            version_id: vid,
            kind: EntryKind::DeleteMarker,
            size: 0,
            mtime_ms: meta.mtime_ms,
            etag: [0; 16],
            class: StorageClass::Standard,
        };
        let effect = Effect::Upsert { bucket: bucket.0, key: key.as_bytes().to_vec(), entry };
        let part = self.partition(bucket.0, key.as_bytes());
        self.admit(part, bucket.0, key.as_bytes(), RequestKind::Write)?;
        let pre = condition.map(|c| c.to_precondition(bucket.0, key));
        part.submit(
            vec![WriteRecord::new(bytes, effect)],
            StorageClass::Standard,
            self.durability(None),
            pre,
        )
        .map_err(|e| name_error(e, &write))?;
        stats::add(&part.counters.deletes, 1);
        Ok(vid)
    }

    /// Permanently removes one version (object or delete marker), if `condition` holds.
    ///
    /// # Errors
    /// `NoSuchBucket`, `NoSuchVersion`, `KeyTooLong`, `PreconditionFailed`, `Io`/`PreviousIo`.
    pub fn delete_version(
        &self,
        bucket: BucketId,
        key: &str,
        version: VersionId,
        condition: Option<&WriteCondition>,
    ) -> Result<()> {
        self.purge(bucket, key, Some(version), condition)
    }

    /// Removes every version of a key (unversioned delete). Deleting a missing key succeeds, as in S3.
    ///
    /// # Errors
    /// `NoSuchBucket`, `KeyTooLong`, `Io`/`PreviousIo`.
    pub fn delete(&self, bucket: BucketId, key: &str) -> Result<()> {
        self.purge(bucket, key, None, None)
    }

    fn purge(
        &self,
        bucket: BucketId,
        key: &str,
        only: Option<VersionId>,
        condition: Option<&WriteCondition>,
    ) -> Result<()> {
        self.inner.ctx.check()?;
        check_key(key)?;
        let write = self.begin_write(bucket)?;
        let part = self.partition(bucket.0, key.as_bytes());
        self.admit(part, bucket.0, key.as_bytes(), RequestKind::Write)?;
        let versions: Vec<VersionId> = {
            let ix = part.index.read();
            ix.versions(bucket.0, key.as_bytes())
                .map(|(_, e)| e.version_id)
                .filter(|v| only.is_none_or(|o| o == *v))
                .collect()
        };
        if let (Some(v), true) = (only, versions.is_empty()) {
            let bucket = write.name.clone();
            return Err(Error::NoSuchVersion { bucket, key: key.into(), version_id: v.to_string() });
        }
        if versions.is_empty() {
            return Ok(());
        }
        let records = versions
            .into_iter()
            .map(|v| {
                let bytes = encode_record(&RecordParts {
                    kind: RecordKind::Purge,
                    flags: if v.is_null() { FLAG_NULL_VERSION } else { 0 },
                    seq: 0,
                    bucket_id: bucket.0,
                    version_id: v.0,
                    chunk_index: 0,
                    key: key.as_bytes(),
                    meta: &[],
                    body: &[],
                });
                WriteRecord::new(
                    bytes,
                    Effect::Purge { bucket: bucket.0, key: key.as_bytes().to_vec(), version: v },
                )
            })
            .collect();
        let pre = condition.map(|c| c.to_precondition(bucket.0, key));
        part.submit(records, StorageClass::Standard, self.durability(None), pre)
            .map_err(|e| name_error(e, &write))?;
        stats::add(&part.counters.deletes, 1);
        Ok(())
    }

    fn lookup(
        &self,
        bucket: BucketId,
        key: &str,
        version: Option<VersionId>,
    ) -> Result<(Arc<Partition>, u64, IndexEntry, bool)> {
        self.inner.ctx.check()?;
        check_key(key)?;
        let name = self.bucket_name(bucket)?;
        let part = self.partition(bucket.0, key.as_bytes()).clone();
        self.admit(&part, bucket.0, key.as_bytes(), RequestKind::Read)?;
        let found = {
            let ix = part.index.read();
            let latest_seq = ix.latest(bucket.0, key.as_bytes()).map(|(s, _)| s);
            let hit = match version {
                None => ix.latest(bucket.0, key.as_bytes()),
                Some(v) => ix.version(bucket.0, key.as_bytes(), v),
            };
            hit.map(|(s, e)| (s, e.clone(), Some(s) == latest_seq))
        };
        match (found, version) {
            (Some((_, e, _)), None) if e.kind == EntryKind::DeleteMarker => {
                Err(Error::NoSuchKey { bucket: name, key: key.into(), delete_marker: true })
            }
            (Some((s, e, latest)), _) => Ok((part, s, e, latest)),
            (None, None) => Err(Error::NoSuchKey { bucket: name, key: key.into(), delete_marker: false }),
            (None, Some(v)) => {
                Err(Error::NoSuchVersion { bucket: name, key: key.into(), version_id: v.to_string() })
            }
        }
    }

    /// Reads and checks a version's record; returns header, meta and the record's bytes (with the inline
    /// body's CRC checked when `want_body`).
    fn read_record(
        &self,
        part: &Partition,
        bucket: BucketId,
        key: &str,
        seq: u64,
        e: &IndexEntry,
        want_body: bool,
    ) -> Result<(RecordHeader, ObjectMeta, Vec<u8>)> {
        let site =
            CorruptionSite { partition: Some(part.id), segment_id: Some(e.segment_id), offset: e.offset };
        let seg = part
            .segment(e.segment_id)
            .ok_or_else(|| Error::corruption(site.clone(), "segment is not in the store"))?;
        let bytes =
            seg.read(e.offset, e.record_len).map_err(|err| Error::io("read record", &seg.path, err))?;
        let (h, k, m) =
            decode_prefix(&bytes).map_err(|err| Error::corruption(site.clone(), err.to_string()))?;
        let kind_ok = matches!(
            (h.kind, e.kind),
            (RecordKind::Put, EntryKind::Inline)
                | (RecordKind::ObjectCommit, EntryKind::Chunked)
                | (RecordKind::DeleteMarker, EntryKind::DeleteMarker)
        );
        if !kind_ok
            || h.bucket_id != bucket.0
            || h.seq != seq
            || h.version_id != e.version_id.0
            || k != key.as_bytes()
            || h.record_len() != e.record_len
        {
            return Err(Error::corruption(
                site,
                "record identity does not match the index (misdirected read or write)",
            ));
        }
        let meta =
            ObjectMeta::decode(m).map_err(|err| Error::corruption(site.clone(), format!("meta: {err}")))?;
        if want_body && h.kind == RecordKind::Put {
            let at = h.body_offset() as usize;
            let b = &bytes[at..at + h.body_len as usize];
            verify_body_crc(&h, b).map_err(|err| Error::corruption(site, err.to_string()))?;
        }
        Ok((h, meta, bytes))
    }

    /// Metadata of the current version, or of `version`.
    ///
    /// # Errors
    /// `NoSuchBucket`, `NoSuchKey` (with `delete_marker` set when the current version is a marker),
    /// `NoSuchVersion`, `Corruption`, `Io`/`PreviousIo`.
    pub fn head(&self, bucket: BucketId, key: &str, version: Option<VersionId>) -> Result<ObjectInfo> {
        let (part, seq, e, latest) = self.lookup(bucket, key, version)?;
        let (_, meta, _) = self.read_record(&part, bucket, key, seq, &e, false)?;
        stats::add(&part.counters.heads, 1);
        Ok(with_meta(info_from(bucket.0, key.as_bytes(), &e, latest), meta))
    }

    /// Opens a version's body for reading (whole, or one range).
    ///
    /// # Errors
    /// As [`Store::head`], plus `InvalidRange` for an unsatisfiable range. Corruption of a chunk
    /// surfaces when the reader reaches it.
    pub fn get(&self, bucket: BucketId, key: &str, opts: &GetOptions) -> Result<(ObjectInfo, ObjectReader)> {
        let (part, seq, e, latest) = self.lookup(bucket, key, opts.version)?;
        if e.kind == EntryKind::DeleteMarker {
            let name = self.bucket_name(bucket)?;
            return Err(Error::NoSuchKey { bucket: name, key: key.into(), delete_marker: true });
        }
        let (header, meta, record) = self.read_record(&part, bucket, key, seq, &e, true)?;
        stats::add(&part.counters.gets, 1);
        let (start, end) = match opts.range {
            Some(r) => r.resolve(e.size)?,
            None => (0, e.size),
        };
        stats::add(&part.counters.bytes_out, end - start);
        let source = if e.kind == EntryKind::Inline {
            BodySource::Inline { record, body_at: header.body_offset() as usize }
        } else {
            BodySource::Chunked(ChunkedBody::new(
                part.clone(),
                bucket.0,
                key.as_bytes().to_vec(),
                meta.chunk_token.map_or(e.version_id, VersionId),
                meta.chunks.clone(),
            ))
        };
        let info = with_meta(info_from(bucket.0, key.as_bytes(), &e, latest), meta.clone());
        Ok((info, ObjectReader { source, pos: start, end }))
    }

    /// One page of listing items, merged across partitions in UTF-8 byte order (versions of one key
    /// newest first). With a delimiter, keys sharing a common prefix collapse into one item and the
    /// scan seeks past them. Returns the items (at most `max`) and whether more follow.
    pub(crate) fn list_items(&self, bucket: BucketId, q: &ListQuery<'_>) -> Result<(Vec<ListItem>, bool)> {
        self.inner.ctx.check()?;
        Ok(crate::engine::listing::list(&self.inner.partitions, bucket.0, q))
    }

    /// One page of keys (or versions) in UTF-8 byte order, merged across partitions.
    ///
    /// # Errors
    /// `NoSuchBucket`, `InvalidArgument` for `max_keys` outside 1..=1000, `PreviousIo`.
    pub fn list(&self, bucket: BucketId, opts: &ListOptions) -> Result<ListPage> {
        self.inner.ctx.check()?;
        self.bucket_name(bucket)?;
        if opts.max_keys == 0 || opts.max_keys > LIST_KEYS_MAX {
            return Err(Error::InvalidArgument {
                name: "max-keys",
                value: opts.max_keys.to_string(),
                reason: "must be 1 to 1000".into(),
            });
        }
        let q = ListQuery {
            prefix: opts.prefix.as_bytes(),
            delimiter: None,
            start: opts
                .start_after
                .as_deref()
                .map_or(ListStart::Beginning, |s| ListStart::AfterKey(s.as_bytes())),
            max: opts.max_keys,
            versions: opts.versions,
        };
        let (items, is_truncated) = self.list_items(bucket, &q)?;
        let entries = items
            .iter()
            .filter_map(|item| match item {
                ListItem::Entry { key, entry, is_latest, .. } => {
                    Some(info_from(bucket.0, key, entry, *is_latest))
                }
                ListItem::Prefix(_) => None,
            })
            .collect();
        Ok(ListPage { entries, is_truncated })
    }
}
