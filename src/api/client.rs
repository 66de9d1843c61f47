//! The low-level client: one method per S3 operation, S3's names in snake_case, fluent builders
//! ending in `send()`. Every call acts as the client's principal and returns the operation's output
//! with response metadata (request id, HTTP status), or an [`Error`] whose `code()` and
//! `http_status()` are S3's.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use crate::engine::accounts::Credentials;
use crate::engine::catalog::Account;
use crate::engine::store::Store;
use crate::error::{Error, Result};
use crate::s3::S3;
use crate::s3::checksum::ChecksumAlgorithm;
use crate::s3::multipart::*;
use crate::s3::types::*;

/// What S3 returns with every response, so a host can map outputs to HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseMetadata {
    /// Unique id of the request (`x-amz-request-id`).
    pub request_id: String,
    /// HTTP status of the response.
    pub http_status: u16,
}

/// An operation's output and its response metadata. Derefs to the output, so its fields read as
/// the output's (`out.e_tag`); the metadata is behind methods so no output field is shadowed.
#[derive(Debug)]
pub struct Response<T> {
    output: T,
    response_metadata: ResponseMetadata,
}

impl<T> Response<T> {
    /// The request id.
    #[must_use]
    pub fn request_id(&self) -> &str {
        &self.response_metadata.request_id
    }

    /// The HTTP status.
    #[must_use]
    pub fn http_status(&self) -> u16 {
        self.response_metadata.http_status
    }

    /// The response metadata.
    #[must_use]
    pub fn response_metadata(&self) -> &ResponseMetadata {
        &self.response_metadata
    }

    /// The output.
    #[must_use]
    pub fn output(&self) -> &T {
        &self.output
    }

    /// The output, without the metadata.
    pub fn into_output(self) -> T {
        self.output
    }
}

impl<T> Deref for Response<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.output
    }
}

impl<T> std::ops::DerefMut for Response<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.output
    }
}

/// Where a client's presigned URLs point unless [`Client::with_endpoint_url`] says otherwise: the
/// address the README's `s3lite serve --listen 127.0.0.1:9000` serves on.
pub const DEFAULT_ENDPOINT_URL: &str = "http://127.0.0.1:9000";

/// A client of a store, acting as one principal. Cheap to clone; clones share the request counter.
/// Debug shows no secret.
#[derive(Debug, Clone)]
pub struct Client {
    s3: S3,
    requests: Arc<AtomicU64>,
    /// The access key the client was made from ([`Store::client_with_credentials`]): checked again
    /// at every call, so a key deactivated or deleted later stops the client too; and what
    /// presigned URLs are signed with.
    credentials: Option<Arc<Credentials>>,
    /// The S3 endpoint presigned URLs name (`scheme://host[:port][/prefix]`).
    endpoint_url: Arc<str>,
}

impl Store {
    /// A client acting as the store's owner. It holds no access key: it presigns with the owner's
    /// first active key, if the owner has one.
    #[must_use]
    pub fn client(&self) -> Client {
        Client::new(self.s3(), None)
    }

    /// A client acting as the account whose credentials these are. It keeps them: every call
    /// checks them again (so deactivating or deleting the key stops the client at its next call,
    /// with `InvalidAccessKeyId`), and presigned URLs are signed with them.
    ///
    /// # Errors
    /// `InvalidAccessKeyId` (unknown, deleted or inactive key), `SignatureDoesNotMatch`.
    pub fn client_with_credentials(&self, credentials: &Credentials) -> Result<Client> {
        let account = self.authenticate(credentials)?;
        Ok(Client::new(self.s3_as(&account), Some(Arc::new(credentials.clone()))))
    }

    /// A client acting as an anonymous caller.
    #[must_use]
    pub fn anonymous_client(&self) -> Client {
        Client::new(self.s3_anonymous(), None)
    }
}

impl Client {
    fn new(s3: S3, credentials: Option<Arc<Credentials>>) -> Client {
        Client {
            s3,
            requests: Arc::new(AtomicU64::new(0)),
            credentials,
            endpoint_url: DEFAULT_ENDPOINT_URL.into(),
        }
    }

    /// This client with presigned URLs pointing at `endpoint_url` (`http://localhost:9000`,
    /// `https://s3.example.com/prefix`; a trailing `/` is dropped), as boto3's and aws-sdk-s3's
    /// `endpoint_url`. It changes nothing else: calls still go to the store in process. Clones
    /// made before keep their endpoint; the request counter stays shared.
    #[must_use]
    pub fn with_endpoint_url(mut self, endpoint_url: impl Into<String>) -> Client {
        let url: String = endpoint_url.into();
        self.endpoint_url = url.trim_end_matches('/').into();
        self
    }

    /// The endpoint presigned URLs name (default [`DEFAULT_ENDPOINT_URL`]).
    #[must_use]
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint_url
    }

    /// The access key the client was made from, if any.
    #[must_use]
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_deref()
    }

    /// Checks that the key the client was made from still authenticates as its account: a key
    /// deactivated or deleted since is `InvalidAccessKeyId`, as S3 answers it. A read lock and a
    /// SHA-256 per call.
    pub(crate) fn check_credentials(&self) -> Result<()> {
        let Some(credentials) = &self.credentials else { return Ok(()) };
        let account = self.s3.store().authenticate(credentials)?;
        match self.caller() {
            Some(caller) if caller.canonical_id == account.canonical_id => Ok(()),
            _ => Err(Error::InvalidAccessKeyId { access_key_id: credentials.access_key_id.clone() }),
        }
    }

    /// The account the client acts as (`None` when anonymous).
    #[must_use]
    pub fn caller(&self) -> Option<&Account> {
        self.s3.caller()
    }

    /// The store underneath.
    #[must_use]
    pub fn store(&self) -> &Store {
        self.s3.store()
    }

    /// Requests sent through this client and its clones (tests count calls with it).
    #[must_use]
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The high-level resource layer over this client.
    #[must_use]
    pub fn resource(&self) -> crate::api::Resource {
        crate::api::Resource::new(self.clone())
    }

    fn call<T>(&self, status: u16, f: impl FnOnce(&S3) -> Result<T>) -> Result<Response<T>> {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        self.check_credentials()?;
        let output = f(&self.s3)?;
        let mut rnd = [0u8; 4];
        self.s3.store().fill_id(&mut rnd);
        let request_id = format!("{n:08X}{:08X}", u32::from_le_bytes(rnd));
        Ok(Response { output, response_metadata: ResponseMetadata { request_id, http_status: status } })
    }
}

/// A request field that `send` insists on: an empty bucket, key or copy source, or an absent
/// versioning status, was never set (S3 has no bucket named "" and no key "").
trait Required {
    fn is_missing(&self) -> bool;
}

impl Required for String {
    fn is_missing(&self) -> bool {
        self.is_empty()
    }
}

impl<T> Required for Option<T> {
    fn is_missing(&self) -> bool {
        self.is_none()
    }
}

/// `PutObjectBuilder` → `PutObject`: the operation's name as S3 and aws-sdk-s3 spell it.
fn operation_name(builder: &'static str) -> &'static str {
    builder.strip_suffix("Builder").unwrap_or(builder)
}

/// Generates a fluent builder: plain setters for `fields`, `Some(..)` setters for `optional` fields;
/// `send` refuses a request missing one of the `required` fields.
macro_rules! builder {
    (
        $(#[$doc:meta])* $builder:ident, $method:ident, $req:ty, $out:ty, $status:expr,
        |$s3:ident, $r:ident| $call:expr,
        fields { $($field:ident : $ty:ty),* $(,)? }
        optional { $($ofield:ident : $oty:ty),* $(,)? }
        required { $($rfield:ident),* $(,)? }
    ) => {
        $(#[$doc])*
        #[must_use]
        #[derive(Debug)]
        pub struct $builder {
            client: Client,
            pub(crate) request: $req,
        }

        impl $builder {
            $(
                #[doc = concat!("Sets `", stringify!($field), "`.")]
                pub fn $field(mut self, value: impl Into<$ty>) -> Self {
                    self.request.$field = value.into();
                    self
                }
            )*
            $(
                #[doc = concat!("Sets `", stringify!($ofield), "`.")]
                pub fn $ofield(mut self, value: impl Into<$oty>) -> Self {
                    self.request.$ofield = Some(value.into());
                    self
                }
            )*

            /// The request as built so far.
            pub fn as_input(&self) -> &$req {
                &self.request
            }

            /// A builder for `request` (paginators send each page's request through it).
            #[allow(dead_code, reason = "only the listing builders' are used, by their paginators")]
            pub(crate) fn from_request(client: &Client, request: $req) -> Self {
                $builder { client: client.clone(), request }
            }

            /// The client and the request.
            #[allow(dead_code, reason = "only the listing builders' are used, by their paginators")]
            pub(crate) fn into_parts(self) -> (Client, $req) {
                (self.client, self.request)
            }

            /// Sends the request.
            ///
            /// # Errors
            /// `MissingParameter`, before anything is sent, when a required field was not set (as
            /// aws-sdk-s3 refuses to build such a request); otherwise the operation's S3 errors.
            pub fn send(self) -> Result<Response<$out>> {
                $(
                    if Required::is_missing(&self.request.$rfield) {
                        return Err(Error::MissingParameter {
                            operation: operation_name(stringify!($builder)),
                            field: stringify!($rfield),
                        });
                    }
                )*
                let $r = self.request;
                self.client.call($status, |$s3| $call)
            }
        }

        impl Client {
            #[doc = concat!("Starts a `", stringify!($method), "` request.")]
            pub fn $method(&self) -> $builder {
                $builder { client: self.clone(), request: Default::default() }
            }
        }
    };
}

/// Input of the operations that name only a bucket.
#[derive(Debug, Clone, Default)]
pub struct BucketRequest {
    /// Bucket.
    pub bucket: String,
}

/// PutBucketVersioning input.
#[derive(Debug, Clone, Default)]
pub struct PutBucketVersioningRequest {
    /// Bucket.
    pub bucket: String,
    /// `VersioningConfiguration.Status`.
    pub status: Option<BucketVersioningStatus>,
}

/// GetBucketVersioning output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetBucketVersioningOutput {
    /// `Enabled`, `Suspended`, or `None` when never enabled.
    pub status: Option<BucketVersioningStatus>,
}

impl CreateBucketBuilder {
    /// Sets the location constraint (the region).
    pub fn location_constraint(mut self, region: impl Into<String>) -> Self {
        self.request.create_bucket_configuration =
            Some(CreateBucketConfiguration { location_constraint: Some(region.into()) });
        self
    }
}

impl PutObjectBuilder {
    /// Adds one user-metadata pair (`x-amz-meta-<name>`).
    pub fn metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.request.metadata.push((name.into(), value.into()));
        self
    }
}

impl CopyObjectBuilder {
    /// Adds one user-metadata pair (with `MetadataDirective::Replace`).
    pub fn metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.request.metadata.push((name.into(), value.into()));
        self
    }
}

impl DeleteObjectsBuilder {
    /// Adds a key to delete (its current version: a delete marker in a versioned bucket).
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.request.objects.push(ObjectIdentifier::new(key));
        self
    }

    /// Adds keys to delete.
    pub fn keys(mut self, keys: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.request.objects.extend(keys.into_iter().map(ObjectIdentifier::new));
        self
    }

    /// Adds one version of a key to delete permanently.
    pub fn version(mut self, key: impl Into<String>, version_id: impl Into<String>) -> Self {
        self.request.objects.push(ObjectIdentifier::version(key, version_id));
        self
    }

    /// Adds an entry (see [`ObjectIdentifier::new`], [`ObjectIdentifier::version`]).
    pub fn object(mut self, object: ObjectIdentifier) -> Self {
        self.request.objects.push(object);
        self
    }

    /// Sets all the keys to delete.
    pub fn objects(mut self, objects: Vec<ObjectIdentifier>) -> Self {
        self.request.objects = objects;
        self
    }

    /// Quiet mode: report only errors.
    pub fn quiet(mut self, quiet: bool) -> Self {
        self.request.quiet = quiet;
        self
    }
}

impl GetObjectBuilder {
    /// Asks for the stored checksum (`x-amz-checksum-mode: ENABLED`).
    pub fn checksum_mode(mut self, enabled: bool) -> Self {
        self.request.checksum_mode = enabled;
        self
    }
}

impl HeadObjectBuilder {
    /// Asks for the stored checksum (`x-amz-checksum-mode: ENABLED`).
    pub fn checksum_mode(mut self, enabled: bool) -> Self {
        self.request.checksum_mode = enabled;
        self
    }
}

impl ListObjectsV2Builder {
    /// Includes owners in the listing.
    pub fn fetch_owner(mut self, on: bool) -> Self {
        self.request.fetch_owner = on;
        self
    }
}

builder!(
    /// Builder of CreateBucket.
    CreateBucketBuilder, create_bucket, CreateBucketRequest, CreateBucketOutput, 200,
    |s3, r| s3.create_bucket(r),
    fields { bucket: String }
    optional {
        create_bucket_configuration: CreateBucketConfiguration, object_ownership: ObjectOwnership,
        acl: String, grant_full_control: String, grant_read: String, grant_read_acp: String, grant_write_acp: String,
        grant_write: String,
    }
    required { bucket }
);
builder!(
    /// Builder of HeadBucket.
    HeadBucketBuilder, head_bucket, BucketRequest, HeadBucketOutput, 200,
    |s3, r| s3.head_bucket(&r.bucket),
    fields { bucket: String }
    optional {}
    required { bucket }
);
builder!(
    /// Builder of DeleteBucket.
    DeleteBucketBuilder, delete_bucket, BucketRequest, (), 204,
    |s3, r| s3.delete_bucket(&r.bucket),
    fields { bucket: String }
    optional {}
    required { bucket }
);
builder!(
    /// Builder of ListBuckets.
    ListBucketsBuilder, list_buckets, ListBucketsRequest, ListBucketsOutput, 200,
    |s3, r| s3.list_buckets(r),
    fields {}
    optional { max_buckets: usize, continuation_token: String, prefix: String }
    required {}
);
builder!(
    /// Builder of PutBucketVersioning.
    PutBucketVersioningBuilder, put_bucket_versioning, PutBucketVersioningRequest, (), 200,
    |s3, r| match r.status {
        // `send` has refused a request without a status before this runs.
        Some(status) => s3.put_bucket_versioning(&r.bucket, status),
        None => Err(Error::MissingParameter { operation: "PutBucketVersioning", field: "status" }),
    },
    fields { bucket: String }
    optional { status: BucketVersioningStatus }
    required { bucket, status }
);
builder!(
    /// Builder of GetBucketVersioning.
    GetBucketVersioningBuilder, get_bucket_versioning, BucketRequest, GetBucketVersioningOutput, 200,
    |s3, r| s3.get_bucket_versioning(&r.bucket).map(|status| GetBucketVersioningOutput { status }),
    fields { bucket: String }
    optional {}
    required { bucket }
);
builder!(
    /// Builder of PutBucketEncryption.
    PutBucketEncryptionBuilder, put_bucket_encryption, PutBucketEncryptionRequest, (), 200,
    |s3, r| s3.put_bucket_encryption(r),
    fields { bucket: String, server_side_encryption_configuration: ServerSideEncryptionConfiguration }
    optional {}
    required { bucket }
);
builder!(
    /// Builder of GetBucketEncryption.
    GetBucketEncryptionBuilder, get_bucket_encryption, BucketRequest, GetBucketEncryptionOutput, 200,
    |s3, r| s3.get_bucket_encryption(&r.bucket),
    fields { bucket: String }
    optional {}
    required { bucket }
);
builder!(
    /// Builder of DeleteBucketEncryption.
    DeleteBucketEncryptionBuilder, delete_bucket_encryption, BucketRequest, (), 204,
    |s3, r| s3.delete_bucket_encryption(&r.bucket),
    fields { bucket: String }
    optional {}
    required { bucket }
);
builder!(
    /// Builder of PutObject.
    PutObjectBuilder, put_object, PutObjectRequest, PutObjectOutput, 200,
    |s3, r| s3.put_object(r),
    fields { bucket: String, key: String, body: Body }
    optional {
        content_type: String, content_encoding: String, content_disposition: String,
        content_language: String, cache_control: String, expires: String, tagging: String,
        storage_class: String, if_none_match: String, if_match: String, content_md5: String,
        checksum_algorithm: ChecksumAlgorithm, checksum_crc32: String, checksum_crc32_c: String,
        checksum_crc64_nvme: String, checksum_sha1: String, checksum_sha256: String,
        server_side_encryption: ServerSideEncryption, ssekms_key_id: String, ssekms_encryption_context: String,
        sse_customer_algorithm: String, sse_customer_key: SseCustomerKey, sse_customer_key_md5: String,
        acl: String, grant_full_control: String, grant_read: String, grant_read_acp: String, grant_write_acp: String,
    }
    required { bucket, key }
);
builder!(
    /// Builder of GetObject.
    GetObjectBuilder, get_object, GetObjectRequest, GetObjectOutput, 200,
    |s3, r| s3.get_object(r),
    fields { bucket: String, key: String }
    optional {
        version_id: String, range: String, if_match: String, if_none_match: String,
        if_modified_since: SystemTime, if_unmodified_since: SystemTime,
        sse_customer_algorithm: String, sse_customer_key: SseCustomerKey, sse_customer_key_md5: String,
    }
    required { bucket, key }
);
builder!(
    /// Builder of HeadObject.
    HeadObjectBuilder, head_object, HeadObjectRequest, HeadObjectOutput, 200,
    |s3, r| s3.head_object(r),
    fields { bucket: String, key: String }
    optional {
        version_id: String, range: String, if_match: String, if_none_match: String,
        if_modified_since: SystemTime, if_unmodified_since: SystemTime,
        sse_customer_algorithm: String, sse_customer_key: SseCustomerKey, sse_customer_key_md5: String,
    }
    required { bucket, key }
);
builder!(
    /// Builder of DeleteObject.
    DeleteObjectBuilder, delete_object, DeleteObjectRequest, DeleteObjectOutput, 204,
    |s3, r| s3.delete_object(r),
    fields { bucket: String, key: String }
    optional { version_id: String, if_match: String }
    required { bucket, key }
);
builder!(
    /// Builder of DeleteObjects.
    DeleteObjectsBuilder, delete_objects, DeleteObjectsRequest, DeleteObjectsOutput, 200,
    |s3, r| s3.delete_objects(r),
    fields { bucket: String }
    optional {}
    required { bucket }
);
builder!(
    /// Builder of CopyObject.
    CopyObjectBuilder, copy_object, CopyObjectRequest, CopyObjectOutput, 200,
    |s3, r| s3.copy_object(r),
    fields { bucket: String, key: String, copy_source: String, metadata_directive: MetadataDirective }
    optional {
        content_type: String, storage_class: String, copy_source_if_match: String,
        copy_source_if_none_match: String, copy_source_if_modified_since: SystemTime,
        copy_source_if_unmodified_since: SystemTime, server_side_encryption: ServerSideEncryption,
        ssekms_key_id: String, ssekms_encryption_context: String, sse_customer_algorithm: String,
        sse_customer_key: SseCustomerKey, sse_customer_key_md5: String,
        copy_source_sse_customer_algorithm: String, copy_source_sse_customer_key: SseCustomerKey,
        copy_source_sse_customer_key_md5: String,
        acl: String, grant_full_control: String, grant_read: String, grant_read_acp: String, grant_write_acp: String,
    }
    required { bucket, key, copy_source }
);
builder!(
    /// Builder of ListObjectsV2.
    ListObjectsV2Builder, list_objects_v2, ListObjectsV2Request, ListObjectsV2Output, 200,
    |s3, r| s3.list_objects_v2(r),
    fields { bucket: String }
    optional {
        prefix: String, delimiter: String, max_keys: i32, continuation_token: String,
        start_after: String, encoding_type: EncodingType,
    }
    required { bucket }
);
builder!(
    /// Builder of ListObjects (v1).
    ListObjectsBuilder, list_objects, ListObjectsRequest, ListObjectsOutput, 200,
    |s3, r| s3.list_objects(r),
    fields { bucket: String }
    optional { prefix: String, delimiter: String, max_keys: i32, marker: String, encoding_type: EncodingType }
    required { bucket }
);
builder!(
    /// Builder of ListObjectVersions.
    ListObjectVersionsBuilder, list_object_versions, ListObjectVersionsRequest, ListObjectVersionsOutput, 200,
    |s3, r| s3.list_object_versions(r),
    fields { bucket: String }
    optional {
        prefix: String, delimiter: String, max_keys: i32, key_marker: String,
        version_id_marker: String, encoding_type: EncodingType,
    }
    required { bucket }
);
builder!(
    /// Builder of CreateMultipartUpload.
    CreateMultipartUploadBuilder, create_multipart_upload, CreateMultipartUploadRequest,
    CreateMultipartUploadOutput, 200,
    |s3, r| s3.create_multipart_upload(r),
    fields { bucket: String, key: String }
    optional {
        content_type: String, content_encoding: String, content_disposition: String,
        content_language: String, cache_control: String, expires: String, tagging: String,
        storage_class: String, checksum_algorithm: ChecksumAlgorithm, checksum_type: String,
        server_side_encryption: ServerSideEncryption, ssekms_key_id: String, ssekms_encryption_context: String,
        sse_customer_algorithm: String, sse_customer_key: SseCustomerKey, sse_customer_key_md5: String,
        acl: String, grant_full_control: String, grant_read: String, grant_read_acp: String, grant_write_acp: String,
    }
    required { bucket, key }
);
builder!(
    /// Builder of UploadPart.
    UploadPartBuilder, upload_part, UploadPartRequest, UploadPartOutput, 200,
    |s3, r| s3.upload_part(r),
    fields { bucket: String, key: String, upload_id: String, body: Body }
    optional {
        part_number: i32, content_md5: String, checksum_algorithm: ChecksumAlgorithm,
        checksum_crc32: String, checksum_crc32_c: String, checksum_crc64_nvme: String,
        checksum_sha1: String, checksum_sha256: String,
        sse_customer_algorithm: String, sse_customer_key: SseCustomerKey, sse_customer_key_md5: String,
    }
    required { bucket, key, upload_id, part_number }
);
builder!(
    /// Builder of UploadPartCopy.
    UploadPartCopyBuilder, upload_part_copy, UploadPartCopyRequest, UploadPartCopyOutput, 200,
    |s3, r| s3.upload_part_copy(r),
    fields { bucket: String, key: String, upload_id: String, copy_source: String }
    optional {
        part_number: i32, copy_source_range: String,
        sse_customer_algorithm: String, sse_customer_key: SseCustomerKey, sse_customer_key_md5: String,
        copy_source_sse_customer_algorithm: String, copy_source_sse_customer_key: SseCustomerKey,
        copy_source_sse_customer_key_md5: String,
    }
    required { bucket, key, upload_id, part_number, copy_source }
);
builder!(
    /// Builder of CompleteMultipartUpload.
    CompleteMultipartUploadBuilder, complete_multipart_upload, CompleteMultipartUploadRequest,
    CompleteMultipartUploadOutput, 200,
    |s3, r| s3.complete_multipart_upload(r),
    fields { bucket: String, key: String, upload_id: String }
    optional {
        multipart_upload: CompletedMultipartUpload, if_none_match: String, if_match: String,
        sse_customer_algorithm: String, sse_customer_key: SseCustomerKey, sse_customer_key_md5: String,
    }
    required { bucket, key, upload_id }
);
builder!(
    /// Builder of AbortMultipartUpload.
    AbortMultipartUploadBuilder, abort_multipart_upload, AbortMultipartUploadRequest, (), 204,
    |s3, r| s3.abort_multipart_upload(r),
    fields { bucket: String, key: String, upload_id: String }
    optional {}
    required { bucket, key, upload_id }
);
builder!(
    /// Builder of ListParts.
    ListPartsBuilder, list_parts, ListPartsRequest, ListPartsOutput, 200,
    |s3, r| s3.list_parts(r),
    fields { bucket: String, key: String, upload_id: String }
    optional { max_parts: i32, part_number_marker: i32 }
    required { bucket, key, upload_id }
);
builder!(
    /// Builder of ListMultipartUploads.
    ListMultipartUploadsBuilder, list_multipart_uploads, ListMultipartUploadsRequest,
    ListMultipartUploadsOutput, 200,
    |s3, r| s3.list_multipart_uploads(r),
    fields { bucket: String }
    optional {
        prefix: String, delimiter: String, key_marker: String, upload_id_marker: String,
        max_uploads: i32, encoding_type: EncodingType,
    }
    required { bucket }
);

impl CompleteMultipartUploadBuilder {
    /// Adds a part (number and the ETag UploadPart returned) to the completion list.
    pub fn part(mut self, part_number: i32, e_tag: impl Into<String>) -> Self {
        self.request
            .multipart_upload
            .get_or_insert_with(Default::default)
            .parts
            .push(CompletedPart::new(part_number, e_tag));
        self
    }
}

impl CreateMultipartUploadBuilder {
    /// Adds one user-metadata pair (`x-amz-meta-<name>`).
    pub fn metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.request.metadata.push((name.into(), value.into()));
        self
    }
}

/// The access-control operations' builders (ACLs, Object Ownership, Block Public Access).
#[path = "client_access.rs"]
pub mod access;
