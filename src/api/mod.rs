//! The two ways a program talks to s3lite, modelled on boto3 and aws-sdk-s3: the low-level
//! [`Client`] (one method per S3 operation, fluent request builders ending in `send()`) and the
//! [`paginator`]s over the listings, and the high-level [`resource`] layer (`Bucket`, `Object`, collections that paginate by themselves,
//! file transfers).

pub mod client;
pub mod paginator;
pub mod presign;
pub mod resource;
pub mod transfer;

pub use client::{Client, Response, ResponseMetadata};
pub use paginator::{Items, Pages, Paginator};
pub use presign::{PresignBuilder, PresignedOperation, PresignedRequest};
pub use resource::Resource;
pub use transfer::{ExtraArgs, TransferConfig};
