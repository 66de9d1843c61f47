//! # s3lite
//!
//! An embedded, durable object store with Amazon S3 semantics: "SQLite for S3". A program opens a
//! directory and gets buckets, objects and versions stored in a log-structured segment store.
//!
//! **Durability.** By default ([`Durability::Immediate`]) a write returns only after the `fdatasync`
//! of the group commit that carries it: an acknowledged write survives a crash or power loss.
//! [`Durability::Eventual`] returns after `write(2)` and syncs in the background every
//! `flush_interval_ms`; a crash then loses at most that window, always as a suffix.
//! [`Durability::Paranoid`] adds a full `fsync` of the segment and of its directory to every group.
//! Corruption found at open fails the open ([`RecoveryMode::Strict`], the default) or is skipped and
//! reported ([`RecoveryMode::Salvage`]); corrupt bytes are never returned as data. Each partition's
//! index is checkpointed at clean close and in the background ([`Checkpoints`]), and an open
//! replays only the log after the newest valid checkpoint; damage inside what a checkpoint covers
//! is then found by the read that meets it (a Salvage open scans everything).
//!
//! Programs talk to it the two ways boto3 and aws-sdk-s3 users know.
//!
//! The **client** ([`Client`], from [`Store::client`]): one method per S3 operation, fluent builders
//! ending in `send()`, outputs with response metadata, errors with S3's codes.
//!
//! ```
//! use s3lite::Store;
//!
//! # fn main() -> s3lite::Result<()> {
//! let store = Store::open_in_memory()?;
//! let client = store.client();
//! client.create_bucket().bucket("photos").send()?;
//! let put = client.put_object().bucket("photos").key("2024/cat.jpg").body(b"meow").send()?;
//! println!("stored {} (request {})", put.e_tag, put.request_id());
//! let mut got = client.get_object().bucket("photos").key("2024/cat.jpg").send()?;
//! assert_eq!(got.body.read_to_vec()?, b"meow");
//! let err = client.get_object().bucket("photos").key("dog.jpg").send().unwrap_err();
//! assert_eq!((err.code(), err.http_status()), ("NoSuchKey", 404));
//! let listed = client.list_objects_v2().bucket("photos").delimiter("/").send()?;
//! assert_eq!(listed.common_prefixes[0].prefix, "2024/");
//! # Ok(())
//! # }
//! ```
//!
//! The **resource** layer ([`Resource`], from [`Store::resource`]): handles whose attributes load
//! lazily, and collections that paginate by themselves.
//!
//! ```
//! use s3lite::Store;
//!
//! # fn main() -> s3lite::Result<()> {
//! let store = Store::open_in_memory()?;
//! let s3 = store.resource();
//! let bucket = s3.create_bucket("photos", None)?;
//! bucket.put_object("2024/cat.jpg", b"meow".as_slice())?;
//! let object = bucket.object("2024/cat.jpg"); // no call yet
//! assert_eq!(object.content_length()?, 4); // loads once (HeadObject)
//! for summary in bucket.objects().filter().prefix("2024/") {
//!     println!("{} {} bytes", summary?.key, 4);
//! }
//! bucket.objects().all().delete()?; // DeleteObjects, 1000 keys at a time
//! bucket.delete()?;
//! # Ok(())
//! # }
//! ```
//!
//! Both sit on [`s3::S3`] (S3's rules over the engine), and below that [`Store`] has an engine-level
//! API on bucket ids that streams bodies of any size. README.md lists what is not there yet.
//!
//! The engine-level API:
//!
//! ```
//! use s3lite::{GetOptions, ListOptions, PutOptions, Store};
//!
//! # fn main() -> s3lite::Result<()> {
//! let dir = std::env::temp_dir().join(format!("s3lite-doc-{}", std::process::id()));
//! let store = Store::open(&dir)?;
//! let bucket = store.create_bucket("photos")?;
//! store.put_bytes(bucket, "2024/cat.jpg", b"meow", &PutOptions::default())?;
//! let (info, mut body) = store.get(bucket, "2024/cat.jpg", &GetOptions::default())?;
//! assert_eq!(body.read_to_vec()?, b"meow");
//! assert_eq!(info.e_tag, "\"4a4be40c96ac6314e91d93f38043a634\"");
//! let page = store.list(bucket, &ListOptions::default())?;
//! assert_eq!(page.entries.len(), 1);
//! drop(store);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```

#![deny(unsafe_code)]

/// The README's Rust snippets, compiled and run by `cargo test` as doc tests, so that they work as
/// written.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub mod api;
pub mod clock;
mod engine;
pub mod error;
pub mod limits;
pub mod prelude;
pub mod profile;
pub mod s3;
pub mod sigv4;
pub mod types;

pub use api::{
    Client, ExtraArgs, Paginator, PresignBuilder, PresignedOperation, PresignedRequest, Resource, Response,
    ResponseMetadata, TransferConfig,
};
pub use clock::{Clock, ManualClock};
pub use engine::accounts::{ACCESS_KEYS_PER_ACCOUNT_MAX, AccessKeyMetadata, Credentials};
pub use engine::body::{ByteRange, ObjectReader};
pub use engine::builder::StoreBuilder;
pub use engine::catalog::{
    AccessKeyStatus, Account, BucketEncryption, BucketInfo, DefaultSse, EncryptionType, VersioningState,
};
pub use engine::maintenance::{
    BACKGROUND_COMPACTION_BYTES_PER_SEC_DEFAULT, BackgroundCompaction, BackgroundScrub,
    CONCURRENT_REWRITES_MAX,
};
pub use engine::multipart::{
    CompleteOptions, PartInfo, PartOptions, UploadDetails, UploadOptions, UploadStarted, UploadSummary,
};
pub use engine::options::{
    BodyFinish, BodyFinishFn, Encryption, EncryptionInfo, GetOptions, ListOptions, ListPage, NewVersion,
    ObjectInfo, PutOptions, WriteCondition,
};
pub use engine::partition::prefix_load::PrefixLoad;
pub use engine::partition::rate::{PartitionSplitting, RatePartition, RatePartitionState, RequestRateLimits};
pub use engine::partition::route;
pub use engine::partition::stats::PartitionStats;
pub use engine::recovery::{CheckpointRejected, CheckpointUsed, DamagedRange, RecoveryReport, TornTail};
pub use engine::rewrite::{
    COMPACTION_DEAD_BYTES_MIN_DEFAULT, COMPACTION_DEAD_RATIO_MIN_DEFAULT, COMPACTION_INPUT_BYTES_MAX_DEFAULT,
    CompactionPolicy, CompactionReport, SegmentStats,
};
pub use engine::rotation::{KeyUsage, RewrapReport};
pub use engine::scrub::ScrubReport;
pub use engine::store::Store;
pub use engine::{crypto, format, io, segment};
pub use error::{CorruptionSite, Error, Result};
pub use profile::Profile;
pub use s3::checksum::ChecksumAlgorithm;
pub use s3::multipart::{ChecksumType, CompletedMultipartUpload, CompletedPart};
pub use s3::types::{
    Body, BucketVersioningStatus, CopySource, EncodingType, MetadataDirective, ObjectIdentifier,
};
pub use types::{BucketId, Checkpoints, Durability, RecoveryMode, StorageClass, VersionId};
