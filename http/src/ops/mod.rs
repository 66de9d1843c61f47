//! The `s3s::S3` operations over a store: each maps the s3s input to the s3lite request, runs the
//! synchronous S3 layer in `spawn_blocking` as the request's principal, and maps the output (or
//! error) back. By concern: buckets.rs, objects.rs, listing.rs, access.rs (ACLs, Object Ownership,
//! Block Public Access).
//!
//! Multipart uploads: multipart.rs.

mod access;
mod bucket_encryption;
mod buckets;
mod listing;
mod multipart;
mod objects;
pub(crate) use objects::http_date;

use std::time::SystemTime;

use s3lite::Store;
use s3lite::s3::S3 as Layer;
use s3s::dto::{self, Timestamp};
use s3s::{S3Error, S3Request, S3Response, S3Result};

use crate::error::to_s3_error;
use crate::server::RequestId;

pub(crate) use bucket_encryption::BucketEncryptionRoute;

/// The S3 operations over a store (the `s3s::S3` implementation).
#[derive(Debug, Clone)]
pub struct StoreS3 {
    store: Store,
    body_idle_timeout: std::time::Duration,
}

impl StoreS3 {
    /// Operations over `store`.
    #[must_use]
    pub fn new(store: Store) -> StoreS3 {
        StoreS3 { store, body_idle_timeout: crate::body::BODY_IDLE_TIMEOUT }
    }

    /// The store the operations run on.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// How long a request body may send no byte (`400 RequestTimeout`), and a GET's client take
    /// none (the body ends early), before the host gives up (default [`crate::BODY_IDLE_TIMEOUT`]).
    #[must_use]
    pub fn body_idle_timeout(mut self, idle: std::time::Duration) -> StoreS3 {
        self.body_idle_timeout = idle;
        self
    }

    /// The store's S3 layer acting as the request's principal: the account of the access key that
    /// signed it, or the anonymous principal for an unsigned request.
    fn principal<T>(&self, req: &S3Request<T>) -> Result<Layer, S3Error> {
        match &req.credentials {
            None => Ok(self.store.s3_anonymous()),
            Some(c) => match self.store.access_key_secret(&c.access_key) {
                Some((_, account)) => Ok(self.store.s3_as(&account)),
                None => Err(s3s::s3_error!(InvalidAccessKeyId)),
            },
        }
    }
}

/// Runs one synchronous S3-layer call on the blocking pool, as the request's principal, and turns
/// its result into the response (with `x-amz-request-id`) or the error (with it too).
async fn run<I, T, O>(
    ops: &StoreS3,
    req: &S3Request<I>,
    f: impl FnOnce(&Layer) -> s3lite::Result<T> + Send + 'static,
    map: impl FnOnce(T) -> S3Response<O>,
) -> S3Result<S3Response<O>>
where
    T: Send + 'static,
{
    let rid = req.extensions.get::<RequestId>().cloned().unwrap_or_else(RequestId::new);
    let s3 = ops.principal(req).map_err(|e| with_request_id(e, &rid))?;
    let result = tokio::task::spawn_blocking(move || f(&s3))
        .await
        .map_err(|e| S3Error::with_message(s3s::S3ErrorCode::InternalError, e.to_string()));
    match result {
        Ok(Ok(out)) => {
            let mut resp = map(out);
            rid.stamp(&mut resp.headers);
            Ok(resp)
        }
        Ok(Err(err)) => Err(with_request_id(to_s3_error(&err), &rid)),
        Err(err) => Err(with_request_id(err, &rid)),
    }
}

/// An error with the request id in its XML and headers. s3s replaces an error response's headers
/// with the error's own when it has any, so Content-Type goes in with them (except on a 304).
pub(crate) fn with_request_id(mut err: S3Error, rid: &RequestId) -> S3Error {
    err.set_request_id(rid.as_str());
    let mut headers = err.headers().cloned().unwrap_or_default();
    // A 304 has no body (RFC 9110 §15.4.5), so nothing to type; S3 sends none.
    if err.status_code() != Some(http::StatusCode::NOT_MODIFIED) {
        headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/xml"));
    }
    rid.stamp(&mut headers);
    err.set_headers(headers);
    err
}

/// The S3 layer's `x-amz-copy-source` value (URL-encoded again, as the layer decodes it) for
/// CopyObject and UploadPartCopy.
fn copy_source(src: &dto::CopySource) -> S3Result<String> {
    match src {
        dto::CopySource::Bucket { bucket, key, version_id } => {
            let mut c = s3lite::s3::types::CopySource::new(bucket.as_ref(), key.as_ref());
            if let Some(v) = version_id {
                c = c.version_id(v.as_ref());
            }
            Ok(String::from(c))
        }
        _ => Err(s3s::s3_error!(NotImplemented, "access points and outposts are not served")),
    }
}

fn ts(t: SystemTime) -> Timestamp {
    Timestamp::from(t)
}

fn system_time(t: Timestamp) -> SystemTime {
    SystemTime::from(time::OffsetDateTime::from(t))
}

fn etag(quoted: &str) -> Option<dto::ETag> {
    quoted.parse().ok().or_else(|| Some(dto::ETag::Strong(quoted.trim_matches('"').to_owned())))
}

fn etag_condition(c: &dto::ETagCondition) -> String {
    match c {
        dto::ETagCondition::Any => "*".into(),
        dto::ETagCondition::ETag(dto::ETag::Strong(v)) => format!("\"{v}\""),
        dto::ETagCondition::ETag(dto::ETag::Weak(v)) => format!("W/\"{v}\""),
    }
}

fn owner(o: &s3lite::s3::types::Owner) -> dto::Owner {
    dto::Owner { display_name: o.display_name.clone(), id: Some(o.id.clone()) }
}

#[async_trait::async_trait]
impl s3s::S3 for StoreS3 {
    async fn create_bucket(
        &self,
        req: S3Request<dto::CreateBucketInput>,
    ) -> S3Result<S3Response<dto::CreateBucketOutput>> {
        buckets::create_bucket(self, req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<dto::HeadBucketInput>,
    ) -> S3Result<S3Response<dto::HeadBucketOutput>> {
        buckets::head_bucket(self, req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<dto::DeleteBucketInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketOutput>> {
        buckets::delete_bucket(self, req).await
    }

    async fn list_buckets(
        &self,
        req: S3Request<dto::ListBucketsInput>,
    ) -> S3Result<S3Response<dto::ListBucketsOutput>> {
        buckets::list_buckets(self, req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<dto::GetBucketLocationInput>,
    ) -> S3Result<S3Response<dto::GetBucketLocationOutput>> {
        buckets::get_bucket_location(self, req).await
    }

    async fn get_bucket_acl(
        &self,
        req: S3Request<dto::GetBucketAclInput>,
    ) -> S3Result<S3Response<dto::GetBucketAclOutput>> {
        access::get_bucket_acl(self, req).await
    }

    async fn put_bucket_acl(
        &self,
        req: S3Request<dto::PutBucketAclInput>,
    ) -> S3Result<S3Response<dto::PutBucketAclOutput>> {
        access::put_bucket_acl(self, req).await
    }

    async fn get_object_acl(
        &self,
        req: S3Request<dto::GetObjectAclInput>,
    ) -> S3Result<S3Response<dto::GetObjectAclOutput>> {
        access::get_object_acl(self, req).await
    }

    async fn put_object_acl(
        &self,
        req: S3Request<dto::PutObjectAclInput>,
    ) -> S3Result<S3Response<dto::PutObjectAclOutput>> {
        access::put_object_acl(self, req).await
    }

    async fn put_bucket_ownership_controls(
        &self,
        req: S3Request<dto::PutBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<dto::PutBucketOwnershipControlsOutput>> {
        access::put_bucket_ownership_controls(self, req).await
    }

    async fn get_bucket_ownership_controls(
        &self,
        req: S3Request<dto::GetBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<dto::GetBucketOwnershipControlsOutput>> {
        access::get_bucket_ownership_controls(self, req).await
    }

    async fn delete_bucket_ownership_controls(
        &self,
        req: S3Request<dto::DeleteBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketOwnershipControlsOutput>> {
        access::delete_bucket_ownership_controls(self, req).await
    }

    async fn put_public_access_block(
        &self,
        req: S3Request<dto::PutPublicAccessBlockInput>,
    ) -> S3Result<S3Response<dto::PutPublicAccessBlockOutput>> {
        access::put_public_access_block(self, req).await
    }

    async fn get_public_access_block(
        &self,
        req: S3Request<dto::GetPublicAccessBlockInput>,
    ) -> S3Result<S3Response<dto::GetPublicAccessBlockOutput>> {
        access::get_public_access_block(self, req).await
    }

    async fn delete_public_access_block(
        &self,
        req: S3Request<dto::DeletePublicAccessBlockInput>,
    ) -> S3Result<S3Response<dto::DeletePublicAccessBlockOutput>> {
        access::delete_public_access_block(self, req).await
    }

    async fn put_bucket_versioning(
        &self,
        req: S3Request<dto::PutBucketVersioningInput>,
    ) -> S3Result<S3Response<dto::PutBucketVersioningOutput>> {
        buckets::put_bucket_versioning(self, req).await
    }

    async fn get_bucket_versioning(
        &self,
        req: S3Request<dto::GetBucketVersioningInput>,
    ) -> S3Result<S3Response<dto::GetBucketVersioningOutput>> {
        buckets::get_bucket_versioning(self, req).await
    }

    async fn put_bucket_encryption(
        &self,
        req: S3Request<dto::PutBucketEncryptionInput>,
    ) -> S3Result<S3Response<dto::PutBucketEncryptionOutput>> {
        buckets::put_bucket_encryption(self, req).await
    }

    async fn get_bucket_encryption(
        &self,
        req: S3Request<dto::GetBucketEncryptionInput>,
    ) -> S3Result<S3Response<dto::GetBucketEncryptionOutput>> {
        buckets::get_bucket_encryption(self, req).await
    }

    async fn delete_bucket_encryption(
        &self,
        req: S3Request<dto::DeleteBucketEncryptionInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketEncryptionOutput>> {
        buckets::delete_bucket_encryption(self, req).await
    }

    async fn put_object(
        &self,
        req: S3Request<dto::PutObjectInput>,
    ) -> S3Result<S3Response<dto::PutObjectOutput>> {
        objects::put_object(self, req).await
    }

    async fn get_object(
        &self,
        req: S3Request<dto::GetObjectInput>,
    ) -> S3Result<S3Response<dto::GetObjectOutput>> {
        objects::get_object(self, req).await
    }

    async fn head_object(
        &self,
        req: S3Request<dto::HeadObjectInput>,
    ) -> S3Result<S3Response<dto::HeadObjectOutput>> {
        objects::head_object(self, req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<dto::DeleteObjectInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectOutput>> {
        objects::delete_object(self, req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<dto::DeleteObjectsInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectsOutput>> {
        objects::delete_objects(self, req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<dto::CopyObjectInput>,
    ) -> S3Result<S3Response<dto::CopyObjectOutput>> {
        objects::copy_object(self, req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<dto::ListObjectsInput>,
    ) -> S3Result<S3Response<dto::ListObjectsOutput>> {
        listing::list_objects(self, req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<dto::ListObjectsV2Input>,
    ) -> S3Result<S3Response<dto::ListObjectsV2Output>> {
        listing::list_objects_v2(self, req).await
    }

    async fn list_object_versions(
        &self,
        req: S3Request<dto::ListObjectVersionsInput>,
    ) -> S3Result<S3Response<dto::ListObjectVersionsOutput>> {
        listing::list_object_versions(self, req).await
    }
    async fn create_multipart_upload(
        &self,
        req: S3Request<dto::CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CreateMultipartUploadOutput>> {
        multipart::create_multipart_upload(self, req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<dto::UploadPartInput>,
    ) -> S3Result<S3Response<dto::UploadPartOutput>> {
        multipart::upload_part(self, req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<dto::UploadPartCopyInput>,
    ) -> S3Result<S3Response<dto::UploadPartCopyOutput>> {
        multipart::upload_part_copy(self, req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<dto::CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CompleteMultipartUploadOutput>> {
        multipart::complete_multipart_upload(self, req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<dto::AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::AbortMultipartUploadOutput>> {
        multipart::abort_multipart_upload(self, req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<dto::ListPartsInput>,
    ) -> S3Result<S3Response<dto::ListPartsOutput>> {
        multipart::list_parts(self, req).await
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<dto::ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<dto::ListMultipartUploadsOutput>> {
        multipart::list_multipart_uploads(self, req).await
    }
}
