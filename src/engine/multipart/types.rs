//! The public types of multipart uploads: what a call asks and what it gets back.

use super::*;

/// What a new multipart upload's object will get: everything but its body and checksums.
#[derive(Debug, Clone, Default)]
pub struct UploadOptions {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// User metadata (`x-amz-meta-*` without the prefix).
    pub user_metadata: Vec<(String, String)>,
    /// Other system headers, and whatever else the S3 layer keeps for completion.
    pub system_metadata: Vec<(String, String)>,
    /// Object tags.
    pub tags: Vec<(String, String)>,
    /// Storage class of the parts and of the object.
    pub storage_class: StorageClass,
    /// Durability of the start record (the store's default when `None`).
    pub durability: Option<Durability>,
    /// Seal the parts under the upload's own data key (needs the store's key provider). `None`
    /// takes the bucket's default encryption, else the store's, as a put does.
    pub encryption: Option<Encryption>,
    /// An SSE-KMS encryption context, as [`PutOptions::encryption_context`]: bound to the upload's
    /// wrap and to the completed object's.
    pub encryption_context: Option<crate::engine::crypto::EncryptionContext>,
    /// The completed object's owner and ACL, as [`PutOptions::acl`](crate::PutOptions::acl).
    pub acl: Option<Vec<u8>>,
}

/// An upload that has begun.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadStarted {
    /// The upload id (32 hex digits).
    pub upload_id: String,
    /// When it began, ms since the Unix epoch.
    pub initiated_ms: u64,
    /// How its parts (and the object) are sealed, `None` when they are stored in the clear.
    pub encryption: Option<EncryptionInfo>,
}

/// How one part is uploaded.
#[derive(Debug, Clone, Default)]
pub struct PartOptions {
    /// The declared length; a body of another length is refused.
    pub content_length: Option<u64>,
    /// Checks the part once read (the S3 layer's checksums) and returns the checksums to keep.
    pub finish: Option<BodyFinish>,
    /// Durability of the part record (the store's default when `None`).
    pub durability: Option<Durability>,
    /// SSE-C: the key the upload was created under, which every part of such an upload must
    /// send (`SseCustomerUploadKeyMissing` without, `SseCustomerUploadKeyMismatch` for another,
    /// or for a key sent to an upload not sealed under one).
    pub customer_key: Option<CustomerKey>,
}

/// One part as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    /// Part number (1..=10,000).
    pub part_number: u32,
    /// Bytes.
    pub size: u64,
    /// The part's ETag: quoted hex MD5.
    pub e_tag: String,
    /// Raw MD5.
    pub md5: [u8; 16],
    /// When it was uploaded, ms.
    pub last_modified_ms: u64,
    /// Checksums kept for it (algorithm code, raw digest); loaded by [`Store::upload`] only.
    pub checksums: Vec<(u8, Vec<u8>)>,
}

/// An upload in progress, with its parts.
#[derive(Debug, Clone)]
pub struct UploadDetails {
    /// The object key.
    pub key: String,
    /// The upload id.
    pub upload_id: String,
    /// When it began, ms.
    pub initiated_ms: u64,
    /// Storage class.
    pub storage_class: StorageClass,
    /// What the start record holds: content type, metadata, tags.
    pub content_type: Option<String>,
    /// User metadata.
    pub user_metadata: Vec<(String, String)>,
    /// System metadata (and what the S3 layer kept for completion).
    pub system_metadata: Vec<(String, String)>,
    /// Tags.
    pub tags: Vec<(String, String)>,
    /// Parts, ascending by number.
    pub parts: Vec<PartInfo>,
    /// How its parts are sealed, `None` when they are stored in the clear.
    pub encryption: Option<EncryptionInfo>,
}

/// One upload in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSummary {
    /// The object key.
    pub key: String,
    /// The upload id.
    pub upload_id: String,
    /// When it began, ms.
    pub initiated_ms: u64,
    /// Storage class.
    pub storage_class: StorageClass,
}

/// How an upload completes.
#[derive(Debug, Clone, Default)]
pub struct CompleteOptions {
    /// The object's version (`null` or a new unique one).
    pub version: NewVersion,
    /// A conditional completion (`If-None-Match: *`, `If-Match`).
    pub condition: Option<WriteCondition>,
    /// The whole object's checksums (the S3 layer computes them from the parts').
    pub checksums: Vec<(u8, Vec<u8>)>,
    /// System metadata for the object (the upload's, less what only completion needed).
    pub system_metadata: Option<Vec<(String, String)>>,
    /// Durability of the commit (the store's default when `None`).
    pub durability: Option<Durability>,
    /// SSE-C: a completion need not send the upload's customer key (S3 does not ask for it); one
    /// it sends must be the upload's (`SseCustomerUploadKeyMismatch` otherwise).
    pub customer_key: Option<CustomerKey>,
}
