//! Typed requests and outputs of the S3 operations, with fields named as aws-sdk-s3 names them. The
//! entries of listings are `ListedObject`, `ListedBucket` and `ListedVersion` (aws-sdk-s3's
//! `Object`, `Bucket`, `ObjectVersion`), so that they never collide with the resource layer's
//! `Bucket`, `Object` and `ObjectVersion` handles in a user's imports.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::engine::body::ObjectReader;
use crate::engine::catalog::VersioningState;
use crate::s3::checksum::ChecksumAlgorithm;
use crate::types::StorageClass;

pub use super::access_ops::{GetObjectAclRequest, PutBucketAclRequest, PutObjectAclRequest};
pub use super::acl::{AccessControlPolicy, CannedAcl, Grant, Grantee, Group, Permission};
pub use super::bucket_encryption::{
    GetBucketEncryptionOutput, PutBucketEncryptionRequest, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
pub use super::copy_source::CopySource;
pub use super::sse_customer::{SSE_CUSTOMER_ALGORITHM, SseCustomerKey, sse_customer_key_md5};
pub use crate::engine::catalog::{EncryptionType, ObjectOwnership, PublicAccessBlockConfiguration};

/// `CreateBucketConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateBucketConfiguration {
    /// `LocationConstraint`: the region (absent for us-east-1).
    pub location_constraint: Option<String>,
}

/// CreateBucket input.
#[derive(Debug, Clone, Default)]
pub struct CreateBucketRequest {
    /// Bucket name.
    pub bucket: String,
    /// Location configuration.
    pub create_bucket_configuration: Option<CreateBucketConfiguration>,
    /// `x-amz-object-ownership` (`None`: the profile's default, `BucketOwnerEnforced` today).
    pub object_ownership: Option<ObjectOwnership>,
    /// `x-amz-acl`: a canned ACL (see [`CannedAcl`]).
    pub acl: Option<String>,
    /// `x-amz-grant-full-control` (`id="…"`, `uri="…"`, comma-separated).
    pub grant_full_control: Option<String>,
    /// `x-amz-grant-read`.
    pub grant_read: Option<String>,
    /// `x-amz-grant-read-acp`.
    pub grant_read_acp: Option<String>,
    /// `x-amz-grant-write-acp`.
    pub grant_write_acp: Option<String>,
    /// `x-amz-grant-write`.
    pub grant_write: Option<String>,
}

/// CreateBucket output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateBucketOutput {
    /// `Location`: `/bucket`.
    pub location: String,
}

/// HeadBucket output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadBucketOutput {
    /// The bucket's region.
    pub bucket_region: String,
}

/// ListBuckets input.
#[derive(Debug, Clone, Default)]
pub struct ListBucketsRequest {
    /// Page size, 1..=10000 (default 10000).
    pub max_buckets: Option<usize>,
    /// Token from the previous page.
    pub continuation_token: Option<String>,
    /// Only buckets whose names start with this.
    pub prefix: Option<String>,
}

/// An account as S3 shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Canonical id.
    pub id: String,
    /// Display name: `None` under profiles dated 2025-11-21 or later, when S3 stopped returning
    /// it (see [`crate::profile`]).
    pub display_name: Option<String>,
}

/// A bucket in a listing (aws-sdk-s3's `types::Bucket`; named apart from the resource layer's
/// [`crate::api::resource::Bucket`] handle, so that both can be imported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedBucket {
    /// Name.
    pub name: String,
    /// Creation time.
    pub creation_date: SystemTime,
    /// Region.
    pub bucket_region: String,
}

/// ListBuckets output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListBucketsOutput {
    /// The caller's buckets, by name.
    pub buckets: Vec<ListedBucket>,
    /// The caller.
    pub owner: Owner,
    /// Token for the next page, when there is one.
    pub continuation_token: Option<String>,
    /// The prefix asked for.
    pub prefix: Option<String>,
}

/// `BucketVersioningStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketVersioningStatus {
    /// Enabled.
    Enabled,
    /// Suspended.
    Suspended,
}

impl BucketVersioningStatus {
    /// Parses `Enabled` / `Suspended`.
    ///
    /// # Errors
    /// `MalformedXML` for anything else.
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s {
            "Enabled" => Ok(Self::Enabled),
            "Suspended" => Ok(Self::Suspended),
            other => {
                Err(crate::Error::MalformedXML { reason: format!("unknown versioning status {other:?}") })
            }
        }
    }

    pub(crate) fn from_state(s: VersioningState) -> Option<Self> {
        match s {
            VersioningState::Unversioned => None,
            VersioningState::Enabled => Some(Self::Enabled),
            VersioningState::Suspended => Some(Self::Suspended),
        }
    }
}

/// A request body: bytes in memory, any reader, or a file streamed from disk (never read whole).
pub enum Body {
    /// Bytes in memory.
    Bytes(Vec<u8>),
    /// A reader of unknown length, streamed.
    Reader(Box<dyn Read + Send>),
    /// A file, streamed.
    File(PathBuf),
}

impl Default for Body {
    fn default() -> Self {
        Body::Bytes(Vec::new())
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Bytes(b) => write!(f, "Body::Bytes({} bytes)", b.len()),
            Body::Reader(_) => f.write_str("Body::Reader(..)"),
            Body::File(p) => write!(f, "Body::File({})", p.display()),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Body::Bytes(v)
    }
}

impl From<&[u8]> for Body {
    fn from(v: &[u8]) -> Self {
        Body::Bytes(v.to_vec())
    }
}

impl<const N: usize> From<&[u8; N]> for Body {
    fn from(v: &[u8; N]) -> Self {
        Body::Bytes(v.to_vec())
    }
}

impl From<&str> for Body {
    fn from(v: &str) -> Self {
        Body::Bytes(v.as_bytes().to_vec())
    }
}

impl From<String> for Body {
    fn from(v: String) -> Self {
        Body::Bytes(v.into_bytes())
    }
}

impl Body {
    /// A body streamed from any reader.
    pub fn from_reader(r: impl Read + Send + 'static) -> Body {
        Body::Reader(Box::new(r))
    }

    /// A body streamed from a file.
    pub fn from_path(p: impl Into<PathBuf>) -> Body {
        Body::File(p.into())
    }
}

/// PutObject input. `metadata` are the `x-amz-meta-*` pairs without the prefix.
#[derive(Debug, Default)]
pub struct PutObjectRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// The body.
    pub body: Body,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Expires`, as sent.
    pub expires: Option<String>,
    /// User metadata.
    pub metadata: Vec<(String, String)>,
    /// `x-amz-tagging`: URL-encoded `k=v&k2=v2`.
    pub tagging: Option<String>,
    /// Storage class name (`STANDARD_IA`, ...).
    pub storage_class: Option<String>,
    /// `If-None-Match` (only `*`).
    pub if_none_match: Option<String>,
    /// `If-Match`.
    pub if_match: Option<String>,
    /// `Content-MD5` (base64).
    pub content_md5: Option<String>,
    /// `x-amz-sdk-checksum-algorithm`: compute and store this checksum.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// `x-amz-checksum-crc32` (base64).
    pub checksum_crc32: Option<String>,
    /// `x-amz-checksum-crc32c` (base64).
    pub checksum_crc32_c: Option<String>,
    /// `x-amz-checksum-crc64nvme` (base64).
    pub checksum_crc64_nvme: Option<String>,
    /// `x-amz-checksum-sha1` (base64).
    pub checksum_sha1: Option<String>,
    /// `x-amz-checksum-sha256` (base64).
    pub checksum_sha256: Option<String>,
    /// `x-amz-server-side-encryption`.
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// `x-amz-server-side-encryption-aws-kms-key-id` (with `aws:kms`).
    pub ssekms_key_id: Option<String>,
    /// `x-amz-server-side-encryption-context` (with `aws:kms`): the base64 of a JSON object of
    /// string pairs, bound to the data key's wrap.
    pub ssekms_encryption_context: Option<String>,
    /// `x-amz-server-side-encryption-customer-algorithm` (SSE-C): `AES256`.
    pub sse_customer_algorithm: Option<String>,
    /// `x-amz-server-side-encryption-customer-key` (SSE-C): the base64 of a 32-byte key.
    pub sse_customer_key: Option<SseCustomerKey>,
    /// `x-amz-server-side-encryption-customer-key-MD5` (SSE-C): the base64 of the key's MD5.
    pub sse_customer_key_md5: Option<String>,
    /// `x-amz-acl`: a canned ACL (see [`CannedAcl`]).
    pub acl: Option<String>,
    /// `x-amz-grant-full-control` (`id="…"`, `uri="…"`, comma-separated).
    pub grant_full_control: Option<String>,
    /// `x-amz-grant-read`.
    pub grant_read: Option<String>,
    /// `x-amz-grant-read-acp`.
    pub grant_read_acp: Option<String>,
    /// `x-amz-grant-write-acp`.
    pub grant_write_acp: Option<String>,
}

/// The checksum fields of an output: the one stored for the object, base64.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checksums {
    /// CRC32.
    pub checksum_crc32: Option<String>,
    /// CRC32C.
    pub checksum_crc32_c: Option<String>,
    /// CRC64NVME.
    pub checksum_crc64_nvme: Option<String>,
    /// SHA-1.
    pub checksum_sha1: Option<String>,
    /// SHA-256.
    pub checksum_sha256: Option<String>,
    /// `FULL_OBJECT` when a checksum is present.
    pub checksum_type: Option<String>,
}

impl Checksums {
    pub(crate) fn from_stored(stored: &[(u8, Vec<u8>)]) -> Checksums {
        let mut c = Checksums::default();
        for (code, raw) in stored {
            // A multipart object's composite checksum is kept as its text (`<base64>-<parts>`),
            // under the algorithm's code with the high bit set.
            let composite = code & COMPOSITE_CHECKSUM_FLAG != 0;
            let v = Some(if composite {
                String::from_utf8_lossy(raw).into_owned()
            } else {
                crate::s3::checksum::encode(raw)
            });
            match ChecksumAlgorithm::from_code(code & !COMPOSITE_CHECKSUM_FLAG) {
                Some(ChecksumAlgorithm::Crc32) => c.checksum_crc32 = v,
                Some(ChecksumAlgorithm::Crc32c) => c.checksum_crc32_c = v,
                Some(ChecksumAlgorithm::Crc64Nvme) => c.checksum_crc64_nvme = v,
                Some(ChecksumAlgorithm::Sha1) => c.checksum_sha1 = v,
                Some(ChecksumAlgorithm::Sha256) => c.checksum_sha256 = v,
                None => continue,
            }
            c.checksum_type = Some(if composite { "COMPOSITE" } else { "FULL_OBJECT" }.into());
        }
        c
    }
}

/// Set on a stored checksum's algorithm code when the value is a multipart upload's composite
/// checksum (a checksum of the parts' checksums), kept as its text.
pub(crate) const COMPOSITE_CHECKSUM_FLAG: u8 = 0x80;

/// PutObject output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutObjectOutput {
    /// Quoted ETag.
    pub e_tag: String,
    /// Version id, in a versioning-enabled bucket.
    pub version_id: Option<String>,
    /// The checksum stored (CRC64NVME unless the request chose another).
    pub checksums: Checksums,
    /// How the body is encrypted at rest (`None`: it is not).
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// The master key of an `aws:kms` object.
    pub ssekms_key_id: Option<String>,
    /// `x-amz-server-side-encryption-context`: the encryption context the wrap binds (base64 of
    /// its JSON object), when the request gave one.
    pub ssekms_encryption_context: Option<String>,
    /// SSE-C: `AES256` when the body is sealed under the request's customer key.
    pub sse_customer_algorithm: Option<String>,
    /// SSE-C: the base64 MD5 of the request's customer key.
    pub sse_customer_key_md5: Option<String>,
}

/// GetObject / HeadObject input.
#[derive(Debug, Clone, Default)]
pub struct GetObjectRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// A version (`"null"` for the null version).
    pub version_id: Option<String>,
    /// `Range: bytes=...`.
    pub range: Option<String>,
    /// `If-Match`.
    pub if_match: Option<String>,
    /// `If-None-Match`.
    pub if_none_match: Option<String>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<SystemTime>,
    /// `If-Unmodified-Since`.
    pub if_unmodified_since: Option<SystemTime>,
    /// `x-amz-checksum-mode: ENABLED`: return the stored checksum.
    pub checksum_mode: bool,
    /// `x-amz-server-side-encryption-customer-algorithm` (SSE-C): `AES256`.
    pub sse_customer_algorithm: Option<String>,
    /// `x-amz-server-side-encryption-customer-key` (SSE-C): the base64 of the 32-byte key the object was stored with.
    pub sse_customer_key: Option<SseCustomerKey>,
    /// `x-amz-server-side-encryption-customer-key-MD5` (SSE-C): the base64 of the key's MD5.
    pub sse_customer_key_md5: Option<String>,
}

/// HeadObject input (the same fields as GetObject).
pub type HeadObjectRequest = GetObjectRequest;

/// Everything HeadObject returns; GetObject returns it with the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadObjectOutput {
    /// Bytes in the response body (the range's length for a ranged GET).
    pub content_length: u64,
    /// `Content-Range` for a ranged GET.
    pub content_range: Option<String>,
    /// Quoted ETag.
    pub e_tag: String,
    /// Last-modified time.
    pub last_modified: SystemTime,
    /// Version id (present when the bucket has been versioned).
    pub version_id: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Expires`.
    pub expires: Option<String>,
    /// User metadata (names lower-cased).
    pub metadata: Vec<(String, String)>,
    /// Storage class; `None` for STANDARD, as S3 omits it.
    pub storage_class: Option<StorageClass>,
    /// Number of tags (`x-amz-tagging-count`).
    pub tag_count: usize,
    /// The stored checksum, with `checksum_mode` on a whole-object read.
    pub checksums: Checksums,
    /// How the body is encrypted at rest (`None`: it is not).
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// The master key of an `aws:kms` object.
    pub ssekms_key_id: Option<String>,
    /// SSE-C: `AES256` when the body is sealed under the request's customer key.
    pub sse_customer_algorithm: Option<String>,
    /// SSE-C: the base64 MD5 of the request's customer key.
    pub sse_customer_key_md5: Option<String>,
}

impl HeadObjectOutput {
    /// The value of one user-metadata entry (`x-amz-meta-<name>`); names are case-insensitive, as
    /// S3 stores them lower-cased.
    #[must_use]
    pub fn metadata(&self, name: &str) -> Option<&str> {
        metadata_value(&self.metadata, name)
    }

    /// The user metadata as a map, as aws-sdk-s3's `metadata()` and boto3's `Metadata` give it.
    #[must_use]
    pub fn metadata_map(&self) -> BTreeMap<String, String> {
        self.metadata.iter().cloned().collect()
    }
}

pub(crate) fn metadata_value<'a>(metadata: &'a [(String, String)], name: &str) -> Option<&'a str> {
    metadata.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// GetObject output.
#[derive(Debug)]
pub struct GetObjectOutput {
    /// The metadata.
    pub head: HeadObjectOutput,
    /// The body (streams chunk by chunk).
    pub body: ObjectReader,
}

/// DeleteObject input.
#[derive(Debug, Clone, Default)]
pub struct DeleteObjectRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// A version to remove permanently.
    pub version_id: Option<String>,
    /// `If-Match`.
    pub if_match: Option<String>,
}

/// DeleteObject output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteObjectOutput {
    /// True when a delete marker was created, or the version removed was one.
    pub delete_marker: bool,
    /// The version created (a delete marker) or removed.
    pub version_id: Option<String>,
}

/// One key (and optional version) of a DeleteObjects request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectIdentifier {
    /// Key.
    pub key: String,
    /// Version.
    pub version_id: Option<String>,
    /// Delete only if the current object has this ETag (a per-key `If-Match`).
    pub e_tag: Option<String>,
}

impl ObjectIdentifier {
    /// The current version of `key` (a delete marker in a versioned bucket).
    #[must_use]
    pub fn new(key: impl Into<String>) -> ObjectIdentifier {
        ObjectIdentifier { key: key.into(), version_id: None, e_tag: None }
    }

    /// One version of `key`, removed permanently.
    #[must_use]
    pub fn version(key: impl Into<String>, version_id: impl Into<String>) -> ObjectIdentifier {
        ObjectIdentifier { key: key.into(), version_id: Some(version_id.into()), e_tag: None }
    }

    /// Deletes only if the current object has this ETag.
    #[must_use]
    pub fn if_e_tag(mut self, e_tag: impl Into<String>) -> ObjectIdentifier {
        self.e_tag = Some(e_tag.into());
        self
    }
}

/// DeleteObjects input.
#[derive(Debug, Clone, Default)]
pub struct DeleteObjectsRequest {
    /// Bucket.
    pub bucket: String,
    /// Keys (at most 1000).
    pub objects: Vec<ObjectIdentifier>,
    /// Report only errors.
    pub quiet: bool,
}

/// One deleted entry of DeleteObjects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeletedObject {
    /// Key.
    pub key: String,
    /// Version asked for.
    pub version_id: Option<String>,
    /// True when a delete marker was created or removed.
    pub delete_marker: bool,
    /// Version id of the delete marker created or removed.
    pub delete_marker_version_id: Option<String>,
}

/// One failed entry of DeleteObjects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteError {
    /// Key.
    pub key: String,
    /// Version asked for.
    pub version_id: Option<String>,
    /// S3 error code.
    pub code: String,
    /// Message.
    pub message: String,
}

/// DeleteObjects output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteObjectsOutput {
    /// Deleted entries (empty in quiet mode).
    pub deleted: Vec<DeletedObject>,
    /// Failed entries.
    pub errors: Vec<DeleteError>,
}

/// `MetadataDirective` of CopyObject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetadataDirective {
    /// Keep the source's metadata (default).
    #[default]
    Copy,
    /// Use the request's metadata.
    Replace,
}

/// CopyObject input. `copy_source` is `bucket/key` with an optional `?versionId=`.
#[derive(Debug, Clone, Default)]
pub struct CopyObjectRequest {
    /// Destination bucket.
    pub bucket: String,
    /// Destination key.
    pub key: String,
    /// `x-amz-copy-source` as the header carries it: `bucket/key`, the key URL-encoded (`%25` for
    /// `%`, `%20` for a space), optionally followed by `?versionId=`.
    pub copy_source: String,
    /// Metadata directive.
    pub metadata_directive: MetadataDirective,
    /// With `Replace`: `Content-Type`.
    pub content_type: Option<String>,
    /// With `Replace`: user metadata.
    pub metadata: Vec<(String, String)>,
    /// Storage class of the copy.
    pub storage_class: Option<String>,
    /// `x-amz-copy-source-if-match`.
    pub copy_source_if_match: Option<String>,
    /// `x-amz-copy-source-if-none-match`.
    pub copy_source_if_none_match: Option<String>,
    /// `x-amz-copy-source-if-modified-since`.
    pub copy_source_if_modified_since: Option<SystemTime>,
    /// `x-amz-copy-source-if-unmodified-since`.
    pub copy_source_if_unmodified_since: Option<SystemTime>,
    /// How the copy is encrypted (S3 does not carry the source's setting over).
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// With `aws:kms`: the copy's master key.
    pub ssekms_key_id: Option<String>,
    /// `x-amz-server-side-encryption-context` (with `aws:kms`): the base64 of a JSON object of
    /// string pairs, bound to the data key's wrap.
    pub ssekms_encryption_context: Option<String>,
    /// `x-amz-server-side-encryption-customer-algorithm` (SSE-C): `AES256`.
    pub sse_customer_algorithm: Option<String>,
    /// `x-amz-server-side-encryption-customer-key` (SSE-C): the base64 of the copy's 32-byte key.
    pub sse_customer_key: Option<SseCustomerKey>,
    /// `x-amz-server-side-encryption-customer-key-MD5` (SSE-C): the base64 of the key's MD5.
    pub sse_customer_key_md5: Option<String>,
    /// `x-amz-copy-source-server-side-encryption-customer-algorithm`: the source's SSE-C algorithm.
    pub copy_source_sse_customer_algorithm: Option<String>,
    /// `x-amz-copy-source-server-side-encryption-customer-key`: the key the source is sealed under.
    pub copy_source_sse_customer_key: Option<SseCustomerKey>,
    /// `x-amz-copy-source-server-side-encryption-customer-key-MD5`: its base64 MD5.
    pub copy_source_sse_customer_key_md5: Option<String>,
    /// `x-amz-acl`: the copy's canned ACL (S3 copies no ACL from the source) (see [`CannedAcl`]).
    pub acl: Option<String>,
    /// `x-amz-grant-full-control` (`id="…"`, `uri="…"`, comma-separated).
    pub grant_full_control: Option<String>,
    /// `x-amz-grant-read`.
    pub grant_read: Option<String>,
    /// `x-amz-grant-read-acp`.
    pub grant_read_acp: Option<String>,
    /// `x-amz-grant-write-acp`.
    pub grant_write_acp: Option<String>,
}

/// `CopyObjectResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyObjectResult {
    /// ETag of the copy.
    pub e_tag: String,
    /// Last-modified time of the copy.
    pub last_modified: SystemTime,
}

/// CopyObject output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyObjectOutput {
    /// The result.
    pub copy_object_result: CopyObjectResult,
    /// Version id of the copy (versioning-enabled destination).
    pub version_id: Option<String>,
    /// Version id of the source that was copied.
    pub copy_source_version_id: Option<String>,
    /// How the copy is encrypted at rest (`None`: it is not).
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// The master key of an `aws:kms` copy.
    pub ssekms_key_id: Option<String>,
    /// `x-amz-server-side-encryption-context`: the encryption context the wrap binds (base64 of
    /// its JSON object), when the request gave one.
    pub ssekms_encryption_context: Option<String>,
    /// SSE-C: `AES256` when the body is sealed under the request's customer key.
    pub sse_customer_algorithm: Option<String>,
    /// SSE-C: the base64 MD5 of the request's customer key.
    pub sse_customer_key_md5: Option<String>,
}

/// `x-amz-server-side-encryption`: how a version's body is encrypted at rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerSideEncryption {
    /// `AES256` (SSE-S3): under the store's active master key.
    Aes256,
    /// `aws:kms` (SSE-KMS-style): under a named master key (`ssekms_key_id`), or the active one.
    AwsKms,
}

impl ServerSideEncryption {
    /// The name S3 uses.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ServerSideEncryption::Aes256 => "AES256",
            ServerSideEncryption::AwsKms => "aws:kms",
        }
    }

    /// Parses S3's name.
    ///
    /// # Errors
    /// `InvalidArgument` naming the value (`AES512`, ...); `NotImplemented` for `aws:kms:dsse`.
    pub fn parse(s: &str) -> crate::error::Result<ServerSideEncryption> {
        match s {
            "AES256" => Ok(ServerSideEncryption::Aes256),
            "aws:kms" => Ok(ServerSideEncryption::AwsKms),
            "aws:kms:dsse" => Err(crate::error::Error::NotImplemented { what: "DSSE-KMS (aws:kms:dsse)" }),
            other => Err(crate::error::Error::InvalidArgument {
                name: "x-amz-server-side-encryption",
                value: other.into(),
                reason: "the encryption method specified is not supported (AES256 or aws:kms)".into(),
            }),
        }
    }
}

/// `EncodingType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodingType {
    /// URL-encode keys, prefixes and delimiters in the output.
    Url,
}

impl EncodingType {
    /// Parses the `encoding-type` query value (`url`, in any case).
    ///
    /// # Errors
    /// `InvalidArgument` naming the value for anything else, as S3 answers ("Invalid Encoding Method
    /// specified in Request").
    pub fn parse(s: &str) -> crate::error::Result<EncodingType> {
        if s.eq_ignore_ascii_case("url") {
            Ok(EncodingType::Url)
        } else {
            Err(crate::error::Error::InvalidArgument {
                name: "encoding-type",
                value: s.into(),
                reason: "Invalid Encoding Method specified in Request".into(),
            })
        }
    }
}

/// ListObjectsV2 input.
#[derive(Debug, Clone, Default)]
pub struct ListObjectsV2Request {
    /// Bucket.
    pub bucket: String,
    /// Prefix.
    pub prefix: Option<String>,
    /// Delimiter.
    pub delimiter: Option<String>,
    /// Page size, 0..=1000 (default 1000; larger values are capped at 1000).
    pub max_keys: Option<i32>,
    /// Token from the previous page.
    pub continuation_token: Option<String>,
    /// Start after this key.
    pub start_after: Option<String>,
    /// Include owners.
    pub fetch_owner: bool,
    /// Encoding type.
    pub encoding_type: Option<EncodingType>,
}

/// An object in a listing (aws-sdk-s3's `types::Object`; named apart from the resource layer's
/// [`crate::api::resource::Object`] handle, so that both can be imported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// Key (URL-encoded with `encoding_type=url`).
    pub key: String,
    /// Last-modified time.
    pub last_modified: SystemTime,
    /// Quoted ETag.
    pub e_tag: String,
    /// Size.
    pub size: u64,
    /// Storage class.
    pub storage_class: StorageClass,
    /// Owner (with `fetch_owner`, and always in v1 listings).
    pub owner: Option<Owner>,
}

/// A common prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonPrefix {
    /// The prefix.
    pub prefix: String,
}

/// ListObjectsV2 output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListObjectsV2Output {
    /// Bucket.
    pub name: String,
    /// Prefix asked for.
    pub prefix: Option<String>,
    /// Delimiter asked for.
    pub delimiter: Option<String>,
    /// Page size asked for.
    pub max_keys: i32,
    /// Objects.
    pub contents: Vec<ListedObject>,
    /// Common prefixes.
    pub common_prefixes: Vec<CommonPrefix>,
    /// Objects + common prefixes on this page.
    pub key_count: i32,
    /// More follow.
    pub is_truncated: bool,
    /// Token given.
    pub continuation_token: Option<String>,
    /// Token for the next page.
    pub next_continuation_token: Option<String>,
    /// Start-after given.
    pub start_after: Option<String>,
    /// Encoding type given.
    pub encoding_type: Option<EncodingType>,
}

/// ListObjects (v1) input.
#[derive(Debug, Clone, Default)]
pub struct ListObjectsRequest {
    /// Bucket.
    pub bucket: String,
    /// Prefix.
    pub prefix: Option<String>,
    /// Delimiter.
    pub delimiter: Option<String>,
    /// Page size (default and cap 1000).
    pub max_keys: Option<i32>,
    /// Start after this key.
    pub marker: Option<String>,
    /// Encoding type.
    pub encoding_type: Option<EncodingType>,
}

/// ListObjects (v1) output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListObjectsOutput {
    /// Bucket.
    pub name: String,
    /// Prefix.
    pub prefix: Option<String>,
    /// Delimiter.
    pub delimiter: Option<String>,
    /// Marker given.
    pub marker: Option<String>,
    /// Where the next page starts (only with a delimiter, as in S3; otherwise use the last key).
    pub next_marker: Option<String>,
    /// Page size.
    pub max_keys: i32,
    /// Objects.
    pub contents: Vec<ListedObject>,
    /// Common prefixes.
    pub common_prefixes: Vec<CommonPrefix>,
    /// More follow.
    pub is_truncated: bool,
    /// Encoding type given.
    pub encoding_type: Option<EncodingType>,
}

/// ListObjectVersions input.
#[derive(Debug, Clone, Default)]
pub struct ListObjectVersionsRequest {
    /// Bucket.
    pub bucket: String,
    /// Prefix.
    pub prefix: Option<String>,
    /// Delimiter.
    pub delimiter: Option<String>,
    /// Page size (default and cap 1000).
    pub max_keys: Option<i32>,
    /// Start after this key (with `version_id_marker`: after that version of it).
    pub key_marker: Option<String>,
    /// Start after this version of `key_marker`.
    pub version_id_marker: Option<String>,
    /// Encoding type.
    pub encoding_type: Option<EncodingType>,
}

/// A version (or delete marker) in a version listing (aws-sdk-s3's `types::ObjectVersion`; named
/// apart from the resource layer's [`crate::api::resource::ObjectVersion`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedVersion {
    /// Key.
    pub key: String,
    /// Version id (`"null"` for the null version).
    pub version_id: String,
    /// Newest version of its key.
    pub is_latest: bool,
    /// Last-modified time.
    pub last_modified: SystemTime,
    /// Quoted ETag (empty for delete markers).
    pub e_tag: String,
    /// Size (0 for delete markers).
    pub size: u64,
    /// Storage class.
    pub storage_class: StorageClass,
    /// True for a delete marker.
    pub is_delete_marker: bool,
    /// Owner.
    pub owner: Option<Owner>,
}

/// ListObjectVersions output. `entries` keeps S3's order (delete markers in place); `versions` and
/// `delete_markers` split it as aws-sdk-s3 does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListObjectVersionsOutput {
    /// Bucket.
    pub name: String,
    /// Prefix.
    pub prefix: Option<String>,
    /// Delimiter.
    pub delimiter: Option<String>,
    /// Page size.
    pub max_keys: i32,
    /// Key marker given.
    pub key_marker: Option<String>,
    /// Version id marker given.
    pub version_id_marker: Option<String>,
    /// Where the next page starts.
    pub next_key_marker: Option<String>,
    /// Where the next page starts.
    pub next_version_id_marker: Option<String>,
    /// Versions and delete markers in order.
    pub entries: Vec<ListedVersion>,
    /// The versions.
    pub versions: Vec<ListedVersion>,
    /// The delete markers.
    pub delete_markers: Vec<ListedVersion>,
    /// Common prefixes.
    pub common_prefixes: Vec<CommonPrefix>,
    /// More follow.
    pub is_truncated: bool,
    /// Encoding type given.
    pub encoding_type: Option<EncodingType>,
}
