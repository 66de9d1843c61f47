//! What a program using s3lite usually names, in one import:
//!
//! ```
//! use s3lite::prelude::*;
//!
//! fn main() -> Result<(), s3lite::Error> {
//!     let store = Store::open_in_memory()?;
//!     let client: Client = store.client();
//!     client.create_bucket().bucket("photos").send()?;
//!     client.put_bucket_versioning().bucket("photos").status(BucketVersioningStatus::Enabled).send()?;
//!     let body = Body::from("meow");
//!     client.put_object().bucket("photos").key("cat.jpg").body(body).send()?;
//!     let bucket: Bucket = store.resource().bucket("photos");
//!     let object: Object = bucket.object("cat.jpg");
//!     assert_eq!(object.content_length()?, 4);
//!     Ok(())
//! }
//! ```
//!
//! The resource layer's handles (`Bucket`, `Object`, `ObjectVersion`) are here; the listing entries
//! of the client's outputs are `s3::types::{ListedBucket, ListedObject, ListedVersion}`, named apart
//! so that both can be imported. `Result` is the crate's (`Result<T, E = Error>`): a two-parameter
//! `Result<T, E>` still means the standard one.

pub use crate::api::resource::{Bucket, Object, ObjectSummary, ObjectVersion, Resource};
pub use crate::api::{Client, ExtraArgs, Paginator, Response};
pub use crate::clock::{Clock, ManualClock};
pub use crate::s3::checksum::ChecksumAlgorithm;
pub use crate::s3::types::{
    Body, BucketVersioningStatus, CopySource, EncodingType, MetadataDirective, ObjectIdentifier,
};
pub use crate::{
    Credentials, Durability, Error, PrefixLoad, RecoveryMode, Result, StorageClass, Store, StoreBuilder,
};
