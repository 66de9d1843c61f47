//! # s3lite-http
//!
//! The S3 HTTP host of [s3lite](s3lite): an [`s3s`] service over a [`Store`], so that any S3
//! client (boto3, the AWS CLI, aws-sdk-s3) talks to an s3lite store unchanged, over a socket
//! ([`serve`]) or, with the `aws-sdk` feature, in process (`aws_sdk_client`: an
//! `aws_sdk_s3::Client` wired to the store with no socket, the way to test aws-sdk-s3 code
//! against s3lite).
//!
//! Protocol by `s3s` 0.14.1 (routing, XML, SigV4 header and presigned-query auth, aws-chunked
//! bodies). What 0.14.1 leaves to a host, this crate does:
//! - `x-amz-request-id` (and `x-amz-id-2`) on every response, errors included: [`Host`] stamps
//!   every response, over the socket and in process alike;
//! - the credential scope's region must be the store's (`AuthorizationHeaderMalformed`, or
//!   `AuthorizationQueryParametersError` for a presigned URL);
//! - presigned expiry is capped at 7 days (`X-Amz-Expires` over 604800 is refused);
//! - SigV2 is refused (`InvalidRequest`, as S3 answers in regions opened since 2014): it is
//!   deprecated and s3lite serves SigV4 only;
//! - `x-amz-checksum-*` headers are verified by s3lite's S3 layer as the body streams (`BadDigest`),
//!   and a checksum in an aws-chunked trailer is verified here before the write commits; the
//!   `Content-MD5` and `x-amz-checksum-*` of an XML body (DeleteObjects, CompleteMultipartUpload,
//!   PutObjectTagging, ...), which s3s parses unseen, are checked by the host before it does, and
//!   DeleteObjects without either is refused (`InvalidRequest`), as S3 refuses it;
//! - an aws-chunked PutObject or UploadPart body must add up to its `x-amz-decoded-content-length`
//!   (s3s decodes the chunks but never compares their sum, and takes a stream ending between
//!   chunks as complete): `IncompleteBody`, nothing stored; more than 5 GiB declared is
//!   `EntityTooLarge` before the body is read;
//! - browser POST uploads are refused (`NotImplemented`) rather than buffered in memory, and CORS
//!   preflight (`OPTIONS`) answers `403 CORSResponse` (no bucket has a CORS configuration);
//! - response headers keep their Content-Type.
//!
//! Principals: every access key of the store ([`Store::create_access_key`],
//! [`Store::import_access_key`]) signs as its account; an unsigned request acts as the anonymous
//! principal, which the store's own rules limit.
//!
//! Bodies are never held whole: a request body streams through a `SyncIoBridge` into the
//! synchronous engine inside `spawn_blocking`; a GET body is read by a blocking task into a
//! bounded channel of chunks that feeds the response stream.

mod access;
mod body;
mod digest;
mod error;
mod ops;
mod server;

#[cfg(feature = "aws-sdk")]
mod aws;

use std::sync::Arc;

pub use s3lite::Store;

pub use crate::access::{PRESIGNED_EXPIRES_MAX_SECS, StoreAccess, StoreAuth};
pub use crate::body::BODY_IDLE_TIMEOUT;
pub use crate::error::to_s3_error;
pub use crate::ops::StoreS3;
pub use crate::server::{HEADER_READ_TIMEOUT, Host, MAX_HEAD_BYTES, RequestId, ServeError, serve};

#[cfg(feature = "aws-sdk")]
pub use crate::aws::{aws_sdk_client, aws_sdk_config};

/// Virtual-host parsing that ignores the `Host` header's port: s3s 0.14.1's `SingleDomain`
/// compares the whole header, so `bucket.s3.localhost:9000` (what every client sends to a server
/// not on port 80) would name no bucket of `s3.localhost`.
struct PortlessHost(s3s::host::SingleDomain);

impl s3s::host::S3Host for PortlessHost {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> s3s::S3Result<s3s::host::VirtualHost<'a>> {
        let name = match host.rsplit_once(':') {
            Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        self.0.parse_host_header(name)
    }
}

/// Builds the `s3s` service over a store: the [`StoreS3`] operations, [`StoreAuth`] (the store's
/// access keys) and [`StoreAccess`] (region, presigned expiry and SigV2 checks; anonymous
/// requests reach the store as the anonymous principal), path-style and virtual-host-style
/// addressing under `domain` (`s3.localhost` style names: `bucket.<domain>`).
#[must_use]
pub fn s3_service(store: &Store, domain: Option<&str>) -> s3s::service::S3Service {
    s3_service_with(StoreS3::new(store.clone()), domain)
}

/// As [`s3_service`], over operations configured by the caller (e.g.
/// [`StoreS3::body_idle_timeout`]).
#[must_use]
pub fn s3_service_with(ops: StoreS3, domain: Option<&str>) -> s3s::service::S3Service {
    let store = ops.store().clone();
    // Put/GetBucketEncryption with BlockedEncryptionTypes, which s3s's XML cannot carry.
    let route = crate::ops::BucketEncryptionRoute::new(ops.clone(), domain);
    let mut builder = s3s::service::S3ServiceBuilder::new(ops);
    builder.set_route(route);
    builder.set_auth(StoreAuth::new(store.clone()));
    builder.set_access(StoreAccess::for_store(&store));
    if let Some(domain) = domain {
        match s3s::host::SingleDomain::new(domain) {
            Ok(host) => builder.set_host(PortlessHost(host)),
            Err(e) => {
                tracing::warn!(target: "s3lite_http", domain, error = %e, "not a domain; serving path-style only")
            }
        }
    }
    let mut config = s3s::config::S3Config::default();
    config.xml_max_body_size = crate::digest::XML_BODY_BYTES_MAX;
    builder.set_config(Arc::new(s3s::config::StaticConfigProvider::new(Arc::new(config))));
    builder.build()
}
