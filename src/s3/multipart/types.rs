//! The request and output types of the multipart operations, named as aws-sdk-s3 names them.

use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::s3::checksum::ChecksumAlgorithm;
use crate::s3::types::{Body, Checksums, EncodingType, Owner, ServerSideEncryption, SseCustomerKey};
use crate::types::StorageClass;

/// `FULL_OBJECT` or `COMPOSITE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumType {
    /// A checksum of the whole object (CRCs only).
    FullObject,
    /// A checksum of the parts' checksums, shown with `-N`.
    Composite,
}

impl ChecksumType {
    /// As S3 spells it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumType::FullObject => "FULL_OBJECT",
            ChecksumType::Composite => "COMPOSITE",
        }
    }

    /// Parses S3's spelling.
    ///
    /// # Errors
    /// `InvalidRequest` naming the value.
    pub fn parse(s: &str) -> Result<ChecksumType> {
        match s {
            "FULL_OBJECT" => Ok(ChecksumType::FullObject),
            "COMPOSITE" => Ok(ChecksumType::Composite),
            other => Err(Error::InvalidRequest { reason: format!("invalid x-amz-checksum-type: {other:?}") }),
        }
    }
}

/// CreateMultipartUpload input.
#[derive(Debug, Clone, Default)]
pub struct CreateMultipartUploadRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
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
    /// `x-amz-tagging`.
    pub tagging: Option<String>,
    /// Storage class name.
    pub storage_class: Option<String>,
    /// `x-amz-checksum-algorithm` for the parts and the object.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// `x-amz-checksum-type`: `FULL_OBJECT` or `COMPOSITE`.
    pub checksum_type: Option<String>,
    /// `x-amz-server-side-encryption` for the parts and the object (`None`: the bucket's default).
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// `x-amz-server-side-encryption-aws-kms-key-id` (with `aws:kms`).
    pub ssekms_key_id: Option<String>,
    /// `x-amz-server-side-encryption-context` (with `aws:kms`): the base64 of a JSON object of
    /// string pairs, bound to the data key's wrap.
    pub ssekms_encryption_context: Option<String>,
    /// `x-amz-server-side-encryption-customer-algorithm` (SSE-C: `AES256`): the parts and the object are sealed under the customer's key, which every part must send again.
    pub sse_customer_algorithm: Option<String>,
    /// `x-amz-server-side-encryption-customer-key`: the base64 of the customer's 256-bit key.
    pub sse_customer_key: Option<SseCustomerKey>,
    /// `x-amz-server-side-encryption-customer-key-MD5`: the base64 MD5 of the key.
    pub sse_customer_key_md5: Option<String>,
    /// `x-amz-acl`: a canned ACL (see [`CannedAcl`](crate::s3::types::CannedAcl)).
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

/// CreateMultipartUpload output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateMultipartUploadOutput {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// The upload id every later call names.
    pub upload_id: String,
    /// The upload's checksum algorithm.
    pub checksum_algorithm: ChecksumAlgorithm,
    /// Its checksum type.
    pub checksum_type: String,
    /// How the parts are encrypted (`x-amz-server-side-encryption`), `None` in the clear.
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// The KMS key (with `aws:kms`).
    pub ssekms_key_id: Option<String>,
    /// `x-amz-server-side-encryption-context`: the encryption context the wrap binds (base64 of
    /// its JSON object), when the request gave one.
    pub ssekms_encryption_context: Option<String>,
    /// SSE-C: `AES256` when the upload is sealed under the customer key the request sent.
    pub sse_customer_algorithm: Option<String>,
    /// SSE-C: the base64 MD5 of the key the request sent.
    pub sse_customer_key_md5: Option<String>,
}

/// UploadPart input.
#[derive(Debug, Default)]
pub struct UploadPartRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// Part number (1..=10,000).
    pub part_number: Option<i32>,
    /// The part's bytes.
    pub body: Body,
    /// `Content-MD5` (base64).
    pub content_md5: Option<String>,
    /// `x-amz-sdk-checksum-algorithm`.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// `x-amz-checksum-crc32`.
    pub checksum_crc32: Option<String>,
    /// `x-amz-checksum-crc32c`.
    pub checksum_crc32_c: Option<String>,
    /// `x-amz-checksum-crc64nvme`.
    pub checksum_crc64_nvme: Option<String>,
    /// `x-amz-checksum-sha1`.
    pub checksum_sha1: Option<String>,
    /// `x-amz-checksum-sha256`.
    pub checksum_sha256: Option<String>,
    /// `x-amz-server-side-encryption-customer-algorithm` (SSE-C: `AES256`): needed by every part of an upload created under a customer key.
    pub sse_customer_algorithm: Option<String>,
    /// `x-amz-server-side-encryption-customer-key`: the base64 of the customer's 256-bit key.
    pub sse_customer_key: Option<SseCustomerKey>,
    /// `x-amz-server-side-encryption-customer-key-MD5`: the base64 MD5 of the key.
    pub sse_customer_key_md5: Option<String>,
}

/// UploadPart output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPartOutput {
    /// The part's ETag (its MD5).
    pub e_tag: String,
    /// The part's checksum under the upload's algorithm.
    pub checksums: Checksums,
    /// How the part is encrypted (`x-amz-server-side-encryption`), `None` in the clear.
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// The KMS key (with `aws:kms`).
    pub ssekms_key_id: Option<String>,
    /// SSE-C: `AES256` when the upload is sealed under the customer key the request sent.
    pub sse_customer_algorithm: Option<String>,
    /// SSE-C: the base64 MD5 of the key the request sent.
    pub sse_customer_key_md5: Option<String>,
}

/// UploadPartCopy input.
#[derive(Debug, Clone, Default)]
pub struct UploadPartCopyRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// Part number.
    pub part_number: Option<i32>,
    /// `x-amz-copy-source`: `bucket/key[?versionId=..]`.
    pub copy_source: String,
    /// `x-amz-copy-source-range`: `bytes=first-last`.
    pub copy_source_range: Option<String>,
    /// `x-amz-server-side-encryption-customer-algorithm` (SSE-C: `AES256`): the destination upload's key.
    pub sse_customer_algorithm: Option<String>,
    /// `x-amz-server-side-encryption-customer-key`: the base64 of the customer's 256-bit key.
    pub sse_customer_key: Option<SseCustomerKey>,
    /// `x-amz-server-side-encryption-customer-key-MD5`: the base64 MD5 of the key.
    pub sse_customer_key_md5: Option<String>,
    /// `x-amz-copy-source-server-side-encryption-customer-algorithm`: an SSE-C source's.
    pub copy_source_sse_customer_algorithm: Option<String>,
    /// `x-amz-copy-source-server-side-encryption-customer-key`: the key an SSE-C source is sealed under.
    pub copy_source_sse_customer_key: Option<SseCustomerKey>,
    /// `x-amz-copy-source-server-side-encryption-customer-key-MD5`.
    pub copy_source_sse_customer_key_md5: Option<String>,
}

/// The `CopyPartResult` of UploadPartCopy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyPartResult {
    /// The new part's ETag.
    pub e_tag: String,
    /// When it was written.
    pub last_modified: SystemTime,
    /// Its checksum.
    pub checksums: Checksums,
}

/// UploadPartCopy output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPartCopyOutput {
    /// The result.
    pub copy_part_result: CopyPartResult,
    /// The source version read, when the source bucket is versioned.
    pub copy_source_version_id: Option<String>,
    /// How the part is encrypted (`x-amz-server-side-encryption`), `None` in the clear.
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// The KMS key (with `aws:kms`).
    pub ssekms_key_id: Option<String>,
    /// SSE-C: `AES256` when the upload is sealed under the customer key the request sent.
    pub sse_customer_algorithm: Option<String>,
    /// SSE-C: the base64 MD5 of the key the request sent.
    pub sse_customer_key_md5: Option<String>,
}

/// One part named in CompleteMultipartUpload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompletedPart {
    /// Part number.
    pub part_number: Option<i32>,
    /// The ETag UploadPart returned.
    pub e_tag: Option<String>,
    /// The part's checksum, if the caller sends it (base64, any algorithm field).
    pub checksums: Checksums,
}

impl CompletedPart {
    /// A part by number and ETag.
    #[must_use]
    pub fn new(part_number: i32, e_tag: impl Into<String>) -> CompletedPart {
        CompletedPart {
            part_number: Some(part_number),
            e_tag: Some(e_tag.into()),
            checksums: Checksums::default(),
        }
    }
}

/// The `CompleteMultipartUpload` XML body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompletedMultipartUpload {
    /// The parts, ascending by number.
    pub parts: Vec<CompletedPart>,
}

/// CompleteMultipartUpload input.
#[derive(Debug, Clone, Default)]
pub struct CompleteMultipartUploadRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// The parts.
    pub multipart_upload: Option<CompletedMultipartUpload>,
    /// `If-None-Match` (only `*`).
    pub if_none_match: Option<String>,
    /// `If-Match`.
    pub if_match: Option<String>,
    /// `x-amz-server-side-encryption-customer-algorithm` (SSE-C: `AES256`): optional, as in S3; checked against the upload's when sent.
    pub sse_customer_algorithm: Option<String>,
    /// `x-amz-server-side-encryption-customer-key`: the base64 of the customer's 256-bit key.
    pub sse_customer_key: Option<SseCustomerKey>,
    /// `x-amz-server-side-encryption-customer-key-MD5`: the base64 MD5 of the key.
    pub sse_customer_key_md5: Option<String>,
}

/// CompleteMultipartUpload output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteMultipartUploadOutput {
    /// `/bucket/key`.
    pub location: String,
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// `"<md5 of the part md5s>-<parts>"`.
    pub e_tag: String,
    /// The new version, when the bucket is versioned.
    pub version_id: Option<String>,
    /// The object's checksum (`-N` for a composite one) and its type.
    pub checksums: Checksums,
    /// How the object is encrypted (`x-amz-server-side-encryption`), `None` in the clear.
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// The KMS key (with `aws:kms`).
    pub ssekms_key_id: Option<String>,
}

/// AbortMultipartUpload input; ListParts' fields as well.
#[derive(Debug, Clone, Default)]
pub struct AbortMultipartUploadRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
}

/// ListParts input.
#[derive(Debug, Clone, Default)]
pub struct ListPartsRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// At most this many parts (≤ 1000; 1000 when absent).
    pub max_parts: Option<i32>,
    /// Parts after this number.
    pub part_number_marker: Option<i32>,
}

/// One part in ListParts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Number.
    pub part_number: i32,
    /// ETag.
    pub e_tag: String,
    /// Bytes.
    pub size: u64,
    /// When it was uploaded.
    pub last_modified: SystemTime,
    /// Its checksum.
    pub checksums: Checksums,
}

/// ListParts output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPartsOutput {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// The parts of this page.
    pub parts: Vec<Part>,
    /// More parts follow.
    pub is_truncated: bool,
    /// The marker for the next page.
    pub next_part_number_marker: Option<i32>,
    /// The page size used.
    pub max_parts: i32,
    /// The upload's storage class.
    pub storage_class: StorageClass,
    /// The bucket's owner.
    pub owner: Owner,
    /// The upload's checksum algorithm.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// The upload's checksum type.
    pub checksum_type: Option<String>,
}

/// ListMultipartUploads input.
#[derive(Debug, Clone, Default)]
pub struct ListMultipartUploadsRequest {
    /// Bucket.
    pub bucket: String,
    /// Only keys with this prefix.
    pub prefix: Option<String>,
    /// Groups keys by what follows the prefix up to this.
    pub delimiter: Option<String>,
    /// Uploads after this key (with `upload_id_marker`: after that upload of it).
    pub key_marker: Option<String>,
    /// With `key_marker`.
    pub upload_id_marker: Option<String>,
    /// At most this many uploads and prefixes (≤ 1000).
    pub max_uploads: Option<i32>,
    /// `url`: keys, prefixes, the delimiter and key markers come back URL-encoded.
    pub encoding_type: Option<EncodingType>,
}

/// One upload in ListMultipartUploads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartUpload {
    /// Key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// When it began.
    pub initiated: SystemTime,
    /// Storage class.
    pub storage_class: StorageClass,
    /// The bucket's owner.
    pub owner: Owner,
}

/// ListMultipartUploads output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListMultipartUploadsOutput {
    /// Bucket.
    pub bucket: String,
    /// Uploads of this page.
    pub uploads: Vec<MultipartUpload>,
    /// Prefixes grouped by the delimiter.
    pub common_prefixes: Vec<String>,
    /// More follow.
    pub is_truncated: bool,
    /// The key marker of the next page.
    pub next_key_marker: Option<String>,
    /// The upload id marker of the next page.
    pub next_upload_id_marker: Option<String>,
    /// The page size used.
    pub max_uploads: i32,
    /// The request's prefix, echoed (encoded with `encoding-type=url`).
    pub prefix: Option<String>,
    /// The request's delimiter, echoed (encoded with `encoding-type=url`).
    pub delimiter: Option<String>,
    /// The request's key marker, echoed (encoded with `encoding-type=url`).
    pub key_marker: Option<String>,
    /// The request's upload id marker, echoed.
    pub upload_id_marker: Option<String>,
    /// The request's encoding type, echoed.
    pub encoding_type: Option<EncodingType>,
}
