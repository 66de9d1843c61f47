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
//! reported ([`RecoveryMode::Salvage`]); corrupt bytes are never returned as data.
//!
//! Two layers: [`s3::S3`] (from [`Store::s3`]) runs S3 operations with S3's rules, typed requests and
//! outputs named as aws-sdk-s3 names them; below it, [`Store`] has an engine-level API on bucket ids
//! that streams bodies of any size. README.md lists what is not there yet.
//!
//! ```
//! use s3lite::Store;
//! use s3lite::s3::types::{CreateBucketRequest, GetObjectRequest, ListObjectsV2Request, PutObjectRequest};
//!
//! # fn main() -> s3lite::Result<()> {
//! let store = Store::open_in_memory()?;
//! let s3 = store.s3();
//! s3.create_bucket(CreateBucketRequest { bucket: "photos".into(), ..Default::default() })?;
//! let put = PutObjectRequest { bucket: "photos".into(), key: "2024/cat.jpg".into(), body: b"meow".into(), ..Default::default() };
//! let etag = s3.put_object(put)?.e_tag;
//! let mut got = s3.get_object(GetObjectRequest { bucket: "photos".into(), key: "2024/cat.jpg".into(), ..Default::default() })?;
//! assert_eq!((got.body.read_to_vec()?, got.head.e_tag), (b"meow".to_vec(), etag));
//! let list = ListObjectsV2Request { bucket: "photos".into(), delimiter: Some("/".into()), ..Default::default() };
//! assert_eq!(s3.list_objects_v2(list)?.common_prefixes[0].prefix, "2024/");
//! # Ok(())
//! # }
//! ```
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

mod body;
mod catalog;
mod context;
pub mod error;
pub mod format;
pub mod io;
pub mod limits;
mod listing;
mod partition;
mod recovery;
pub mod s3;
pub mod segment;
mod store;
pub mod types;

pub use body::{ByteRange, ObjectReader};
pub use catalog::{Account, BucketInfo, VersioningState};
pub use error::{CorruptionSite, Error, Result};
pub use partition::route;
pub use recovery::{DamagedRange, RecoveryReport, TornTail};
pub use store::{
    BodyFinish, BodyFinishFn, GetOptions, ListOptions, ListPage, NewVersion, ObjectInfo, PutOptions, Store,
    StoreBuilder, WriteCondition,
};
pub use types::{BucketId, Durability, RecoveryMode, StorageClass, VersionId};
