//! The one error type of the crate, with the S3 code and HTTP status of every variant mapped in one
//! place ([`Error::code`], [`Error::http_status`]).

use std::path::PathBuf;

/// Where damage was found: enough to locate the bytes with a hex editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptionSite {
    /// Partition number, or `None` for store-wide files (manifest, CURRENT).
    pub partition: Option<u16>,
    /// Segment id, or `None` when the damage is not in a segment.
    pub segment_id: Option<u64>,
    /// Byte offset in the file where the damaged record or frame starts.
    pub offset: u64,
}

impl std::fmt::Display for CorruptionSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.partition, self.segment_id) {
            (Some(p), Some(s)) => write!(f, "partition {p} segment {s} offset {}", self.offset),
            (Some(p), None) => write!(f, "partition {p} offset {}", self.offset),
            (None, Some(s)) => write!(f, "segment {s} offset {}", self.offset),
            (None, None) => write!(f, "manifest offset {}", self.offset),
        }
    }
}

/// Every error s3lite returns.
///
/// S3-visible errors carry the bucket, key or version involved; engine errors carry the file and
/// offset. [`Error::code`] gives the S3 error code string and [`Error::http_status`] its status.
///
/// Display and Debug both read `NoSuchKey (HTTP 404): the specified key does not exist: photos/dog.jpg`,
/// so an error returned from `main` (which prints the Debug form) names its S3 code and status.
#[non_exhaustive]
#[derive(thiserror::Error)]
pub enum Error {
    /// An operating-system I/O call failed. The store is poisoned afterwards if it was a write or sync.
    #[error("{} (HTTP {}): I/O error during {op} on {path}: {source}", self.code(), self.http_status())]
    Io {
        /// What the engine was doing.
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An earlier write or sync failed, so the in-memory state can no longer be trusted to match the
    /// disk. Every call answers this until the store is reopened (fsync is never retried).
    #[error("{} (HTTP {}): a previous I/O error poisoned the store; reopen it to recover", self.code(), self.http_status())]
    PreviousIo,
    /// Stored bytes failed a CRC, identity or structure check. Never returned as data.
    #[error("{} (HTTP {}): corruption at {site}: {reason}", self.code(), self.http_status())]
    Corruption {
        /// Where the damage is.
        site: CorruptionSite,
        /// What check failed.
        reason: String,
    },
    /// Another process holds the store's LOCK file. (A second open in this process is
    /// [`Error::AlreadyOpen`].)
    #[error("{} (HTTP {}): store at {path} is locked by another process (or, on a custom storage, by another store on it)", self.code(), self.http_status())]
    Locked {
        /// The store's root directory.
        path: PathBuf,
    },
    /// This process already has the store open (a [`crate::Store`] of the same directory that has
    /// not been dropped yet): clone that handle instead of opening the directory again.
    #[error("{} (HTTP {}): store at {path} is already open in this process; clone the open Store instead", self.code(), self.http_status())]
    AlreadyOpen {
        /// The store's root directory, canonicalized.
        path: PathBuf,
    },
    /// A request built without a field the operation requires (aws-sdk-s3 refuses such a request
    /// before sending it); nothing was sent.
    #[error("{} (HTTP {}): {operation} needs `{field}`, and the request has none", self.code(), self.http_status())]
    MissingParameter {
        /// The operation (`PutObject`).
        operation: &'static str,
        /// The builder method that sets the missing field (`bucket`).
        field: &'static str,
    },
    /// The bucket does not exist.
    #[error("{} (HTTP {}): the specified bucket does not exist: {bucket}", self.code(), self.http_status())]
    NoSuchBucket {
        /// The bucket name.
        bucket: String,
    },
    /// The bucket name is already in use.
    #[error("{} (HTTP {}): bucket already exists: {bucket}", self.code(), self.http_status())]
    BucketAlreadyExists {
        /// The bucket name.
        bucket: String,
    },
    /// The bucket still holds objects, versions or delete markers.
    #[error("{} (HTTP {}): the bucket you tried to delete is not empty: {bucket}", self.code(), self.http_status())]
    BucketNotEmpty {
        /// The bucket name.
        bucket: String,
    },
    /// The key (or the requested version of it) does not exist.
    #[error("{} (HTTP {}): the specified key does not exist: {bucket}/{key}", self.code(), self.http_status())]
    NoSuchKey {
        /// The bucket name.
        bucket: String,
        /// The key.
        key: String,
        /// True when the current version is a delete marker.
        delete_marker: bool,
        /// The delete marker's version id, when there is one: S3's 404 carries it
        /// (`x-amz-version-id`, beside `x-amz-delete-marker: true`).
        version_id: Option<String>,
    },
    /// The requested version does not exist.
    #[error("{} (HTTP {}): the specified version does not exist: {bucket}/{key} version {version_id}", self.code(), self.http_status())]
    NoSuchVersion {
        /// The bucket name.
        bucket: String,
        /// The key.
        key: String,
        /// The version id asked for.
        version_id: String,
    },
    /// The key is longer than [`crate::limits::KEY_BYTES_MAX`] bytes.
    #[error("{} (HTTP {}): key is {len} bytes, over the limit of {max}", self.code(), self.http_status())]
    KeyTooLong {
        /// Length of the key in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The body is larger than a single PUT may be.
    #[error("{} (HTTP {}): body of {len} bytes is larger than the limit of {max}", self.code(), self.http_status())]
    EntityTooLarge {
        /// Body length seen so far.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The requested range cannot be satisfied for an object of this size.
    #[error("{} (HTTP {}): range {range} is not satisfiable for an object of {size} bytes", self.code(), self.http_status())]
    InvalidRange {
        /// The range as given.
        range: String,
        /// The object size.
        size: u64,
    },
    /// An argument is out of its allowed domain.
    #[error("{} (HTTP {}): invalid argument {name}={value}: {reason}", self.code(), self.http_status())]
    InvalidArgument {
        /// The argument's name.
        name: &'static str,
        /// The offending value.
        value: String,
        /// Which rule it broke.
        reason: String,
    },
    /// Reading the caller's body stream failed; nothing was stored.
    #[error("{} (HTTP {}): reading the request body failed: {source}", self.code(), self.http_status())]
    BodyRead {
        /// The reader's error.
        #[source]
        source: std::io::Error,
    },
    /// The bucket name breaks one of S3's naming rules.
    #[error("{} (HTTP {}): invalid bucket name {bucket:?}: {reason}", self.code(), self.http_status())]
    InvalidBucketName {
        /// The name.
        bucket: String,
        /// The rule broken.
        reason: String,
    },
    /// The location constraint does not match the store's region.
    #[error("{} (HTTP {}): the {constraint:?} location constraint is incompatible with the region {region}", self.code(), self.http_status())]
    IllegalLocationConstraintException {
        /// The constraint given (empty when none was).
        constraint: String,
        /// The store's region.
        region: String,
    },
    /// The location constraint is not valid (an explicit `us-east-1`).
    #[error("{} (HTTP {}): the specified location constraint {constraint:?} is not valid", self.code(), self.http_status())]
    InvalidLocationConstraint {
        /// The constraint given.
        constraint: String,
    },
    /// The caller already owns a bucket of this name (outside us-east-1).
    #[error("{} (HTTP {}): you already own the bucket {bucket}", self.code(), self.http_status())]
    BucketAlreadyOwnedByYou {
        /// The bucket name.
        bucket: String,
    },
    /// The operation is not allowed on this resource (GET of a delete marker's version).
    #[error("{} (HTTP {}): the specified method is not allowed against {bucket}/{key} version {version_id}", self.code(), self.http_status())]
    MethodNotAllowed {
        /// The bucket name.
        bucket: String,
        /// The key.
        key: String,
        /// The version id.
        version_id: String,
    },
    /// The object was not modified (HTTP 304), for a conditional GET or HEAD.
    #[error("{} (HTTP {}): not modified: {bucket}/{key}", self.code(), self.http_status())]
    NotModified {
        /// The bucket name.
        bucket: String,
        /// The key.
        key: String,
        /// The object's ETag, quoted (a 304 carries it, as S3's does).
        e_tag: String,
        /// The object's Last-Modified time (a 304 carries it).
        last_modified: std::time::SystemTime,
    },
    /// User metadata over 2 KB.
    #[error("{} (HTTP {}): your metadata headers are {size} bytes, over the limit of {max}", self.code(), self.http_status())]
    MetadataTooLarge {
        /// Metadata size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Tags over a limit or malformed.
    #[error("{} (HTTP {}): invalid tag: {reason}", self.code(), self.http_status())]
    InvalidTag {
        /// What is wrong.
        reason: String,
    },
    /// The storage class is not one S3 knows.
    #[error("{} (HTTP {}): the storage class you specified is not valid: {storage_class}", self.code(), self.http_status())]
    InvalidStorageClass {
        /// The value given.
        storage_class: String,
    },
    /// A request that S3 refuses as malformed (for example more than 1000 keys to delete).
    #[error("{} (HTTP {}): the XML you provided was not well-formed or did not validate: {reason}", self.code(), self.http_status())]
    MalformedXML {
        /// What is wrong.
        reason: String,
    },
    /// A bucket policy document S3 refuses (PutBucketPolicy): bad JSON, a missing or invalid
    /// element, a resource outside the bucket, a document over 20 KB. The reason is S3's message
    /// (`Policy has invalid action`, `Missing required field Principal`, ...).
    #[error("{} (HTTP {}): {reason}", self.code(), self.http_status())]
    MalformedPolicy {
        /// What is wrong, in S3's words.
        reason: String,
    },
    /// The caller may not do this.
    #[error("{} (HTTP {}): access denied: {reason}", self.code(), self.http_status())]
    AccessDenied {
        /// Why.
        reason: String,
    },
    /// The access key id is not one the store knows.
    #[error("{} (HTTP {}): the access key id {access_key_id} does not exist in our records", self.code(), self.http_status())]
    InvalidAccessKeyId {
        /// The key id given.
        access_key_id: String,
    },
    /// The secret does not match the access key.
    #[error("{} (HTTP {}): the request signature we calculated does not match the signature you provided (access key {access_key_id})", self.code(), self.http_status())]
    SignatureDoesNotMatch {
        /// The key id given.
        access_key_id: String,
    },
    /// An access-key (IAM) quota would be exceeded: more than
    /// [`crate::ACCESS_KEYS_PER_ACCOUNT_MAX`] keys for one account. IAM's `LimitExceeded` (409).
    #[error("{} (HTTP {}): Cannot exceed quota for {quota}: {max}", self.code(), self.http_status())]
    LimitExceeded {
        /// IAM's name of the quota (`AccessKeysPerUser`).
        quota: &'static str,
        /// The quota.
        max: usize,
    },
    /// An access key (IAM entity) the store does not have. IAM's `NoSuchEntity` (404).
    #[error("{} (HTTP {}): The {entity} with id {id} cannot be found.", self.code(), self.http_status())]
    NoSuchEntity {
        /// What kind of entity (`Access Key`).
        entity: &'static str,
        /// Its id.
        id: String,
    },
    /// A presigned URL's query parameters are malformed or out of range (`X-Amz-Expires` over 7
    /// days, a credential scope naming another region, a missing parameter).
    #[error("{} (HTTP {}): {reason}", self.code(), self.http_status())]
    AuthorizationQueryParametersError {
        /// What is wrong, in S3's words where S3 has them.
        reason: String,
    },
    /// The partition is over its emulated request rate; retry with backoff.
    #[error("{} (HTTP {}): please reduce your request rate: {} is over {limit} {kind} per second", self.code(), self.http_status(), rate_scope(*.partition, .prefix.as_deref()))]
    SlowDown {
        /// The store partition of the key.
        partition: u16,
        /// With partition splitting on, the prefix of the rate partition that refused (lossy UTF-8).
        prefix: Option<String>,
        /// "reads" or "writes".
        kind: &'static str,
        /// The limit.
        limit: u32,
    },
    /// The account already has as many buckets as it may.
    #[error("{} (HTTP {}): you have attempted to create more buckets than allowed ({max})", self.code(), self.http_status())]
    TooManyBuckets {
        /// The quota.
        max: usize,
    },
    /// A digest or checksum the caller sent does not match the body; nothing was stored.
    #[error("{} (HTTP {}): bad digest: {reason}", self.code(), self.http_status())]
    BadDigest {
        /// Which digest.
        reason: String,
    },
    /// A `Content-MD5` that is not a base64 MD5.
    #[error("{} (HTTP {}): invalid digest: {reason}", self.code(), self.http_status())]
    InvalidDigest {
        /// What is wrong.
        reason: String,
    },
    /// A request S3 answers with `InvalidRequest`.
    #[error("{} (HTTP {}): invalid request: {reason}", self.code(), self.http_status())]
    InvalidRequest {
        /// What is wrong.
        reason: String,
    },
    /// A conditional request's condition did not hold (HTTP 412).
    #[error("{} (HTTP {}): precondition failed for {bucket}/{key}: {condition}", self.code(), self.http_status())]
    PreconditionFailed {
        /// The bucket name.
        bucket: String,
        /// The key.
        key: String,
        /// The condition that failed.
        condition: String,
    },
    /// A conflicting operation on the bucket is in progress (HTTP 409), e.g. deleting a bucket while an
    /// object write into it has not finished. Try again.
    #[error("{} (HTTP {}): a conflicting operation is in progress on {bucket}: {reason}", self.code(), self.http_status())]
    OperationAborted {
        /// The bucket name.
        bucket: String,
        /// What conflicts.
        reason: String,
    },
    /// The object is in an archive class (GLACIER, DEEP_ARCHIVE) and has not been restored, so it
    /// cannot be read or copied (HTTP 403).
    #[error("{} (HTTP {}): {bucket}/{key} is in {storage_class} and has not been restored", self.code(), self.http_status())]
    InvalidObjectState {
        /// The bucket name.
        bucket: String,
        /// The key.
        key: String,
        /// The object's storage class.
        storage_class: String,
    },
    /// No multipart upload with this id is in progress for the bucket and key (never begun,
    /// aborted, or completed) (HTTP 404).
    #[error("{} (HTTP {}): no multipart upload {upload_id} is in progress", self.code(), self.http_status())]
    NoSuchUpload {
        /// The upload id as given.
        upload_id: String,
    },
    /// A part other than the last of a completed upload is under 5 MiB (HTTP 400).
    #[error("{} (HTTP {}): part {part_number} is {size} bytes; every part but the last must be at least {min}", self.code(), self.http_status())]
    EntityTooSmall {
        /// The part's number.
        part_number: u32,
        /// Its size.
        size: u64,
        /// The smallest allowed.
        min: u64,
    },
    /// A part named in CompleteMultipartUpload was not uploaded, or its ETag differs (HTTP 400).
    #[error("{} (HTTP {}): part {part_number}: {reason}", self.code(), self.http_status())]
    InvalidPart {
        /// The part's number.
        part_number: u32,
        /// What does not match.
        reason: String,
    },
    /// CompleteMultipartUpload's part list is not in ascending order of part number (HTTP 400).
    #[error("{} (HTTP {}): part {part_number} follows part {previous}: the list must ascend", self.code(), self.http_status())]
    InvalidPartOrder {
        /// The part out of order.
        part_number: u32,
        /// The part before it in the list.
        previous: u32,
    },
    /// The feature exists in S3 but not yet in s3lite (listed in README.md).
    #[error("{} (HTTP {}): not implemented: {what}", self.code(), self.http_status())]
    NotImplemented {
        /// The missing feature.
        what: &'static str,
    },
    /// A KMS-style request named a master key the key provider does not have.
    #[error("{} (HTTP {}): Invalid keyId {key}", self.code(), self.http_status())]
    KmsKeyNotFound {
        /// The key id or name as given.
        key: String,
    },
    /// GetBucketEncryption of a bucket with no default encryption (in a store that does not
    /// encrypt by default).
    #[error("{} (HTTP {}): the bucket {bucket} has no server-side encryption configuration", self.code(), self.http_status())]
    NoBucketEncryption {
        /// The bucket.
        bucket: String,
    },
    /// The store cannot seal or open a body: no key provider, or the master key an envelope names
    /// is missing or does not unwrap its data key (a wrong key file). Nothing is served or stored.
    #[error("{} (HTTP {}): encryption key unavailable ({key_id}): {reason}", self.code(), self.http_status())]
    KeyUnavailable {
        /// The master key's id, or what was asked for.
        key_id: String,
        /// What is wrong.
        reason: String,
    },
    /// A master key cannot be retired: live versions still have their data keys wrapped under it
    /// (rewrap them first). Nothing is changed. The code is the one KMS gives for a key whose state
    /// does not allow the request.
    #[error("{} (HTTP {}): master key {key_id} is still used by {versions} live versions or uploads in progress: rewrap them first (and complete or abort the uploads)", self.code(), self.http_status())]
    KeyInUse {
        /// The master key's id.
        key_id: String,
        /// Live versions wrapped under it, and multipart uploads in progress sealed under it.
        versions: u64,
    },
    /// A read (GET, HEAD, a copy's source) of a version sealed under a customer key (SSE-C) that
    /// sent no key. S3's words.
    #[error("{} (HTTP {}): The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object. ({bucket}/{key})", self.code(), self.http_status())]
    SseCustomerKeyMissing {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// A read of an SSE-C version that sent another key than the one it is sealed under.
    #[error("{} (HTTP {}): Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key. ({bucket}/{key})", self.code(), self.http_status())]
    SseCustomerKeyMismatch {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// A read that sent an SSE-C key for a version not sealed under one.
    #[error("{} (HTTP {}): The encryption parameters are not applicable to this object. ({bucket}/{key})", self.code(), self.http_status())]
    SseCustomerKeyNotApplicable {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// An UploadPart (or UploadPartCopy) of a multipart upload created under a customer key
    /// (SSE-C) that sent no key. S3's words.
    #[error("{} (HTTP {}): The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters. ({bucket}/{key}, upload {upload_id})", self.code(), self.http_status())]
    SseCustomerUploadKeyMissing {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The upload id.
        upload_id: String,
    },
    /// A request of a multipart upload (a part, a part copy, the completion) that sent an SSE-C
    /// key other than the one the upload was created under, or one for an upload created without
    /// a customer key. S3's words (400 `InvalidRequest`, not GET's 403).
    #[error("{} (HTTP {}): The provided encryption parameters did not match the ones used originally. ({bucket}/{key}, upload {upload_id})", self.code(), self.http_status())]
    SseCustomerUploadKeyMismatch {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The upload id.
        upload_id: String,
    },
    /// An SSE-C algorithm other than `AES256`.
    #[error("{} (HTTP {}): The Encryption request you specified is not valid. Supported value: AES256. ({header}: {algorithm:?})", self.code(), self.http_status())]
    InvalidEncryptionAlgorithm {
        /// The header that named it.
        header: &'static str,
        /// The algorithm as given.
        algorithm: String,
    },
    /// An ACL set on a bucket whose Object Ownership is `BucketOwnerEnforced` (ACLs disabled):
    /// anything but none or `bucket-owner-full-control`.
    #[error("{} (HTTP {}): The bucket does not allow ACLs ({bucket})", self.code(), self.http_status())]
    AccessControlListNotSupported {
        /// The bucket.
        bucket: String,
    },
    /// `BucketOwnerEnforced` asked for (CreateBucket, PutBucketOwnershipControls) where the bucket's
    /// ACL grants anyone but its owner.
    #[error("{} (HTTP {}): Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting ({bucket})", self.code(), self.http_status())]
    InvalidBucketAclWithObjectOwnership {
        /// The bucket.
        bucket: String,
    },
    /// A CreateBucket with a public ACL while the new bucket's Block Public Access (or the store's)
    /// blocks public ACLs.
    #[error("{} (HTTP {}): Bucket cannot have public ACLs set with BlockPublicAccess enabled ({bucket})", self.code(), self.http_status())]
    InvalidBucketAclWithBlockPublicAccess {
        /// The bucket.
        bucket: String,
    },
    /// GetBucketOwnershipControls on a bucket with none.
    #[error("{} (HTTP {}): The bucket ownership controls were not found ({bucket})", self.code(), self.http_status())]
    OwnershipControlsNotFound {
        /// The bucket.
        bucket: String,
    },
    /// GetPublicAccessBlock on a bucket (or a store) with no configuration.
    #[error("{} (HTTP {}): The public access block configuration was not found ({scope})", self.code(), self.http_status())]
    NoSuchPublicAccessBlockConfiguration {
        /// The bucket, or `the store` for the store-wide setting.
        scope: String,
    },
    /// An ACL grant to an e-mail address: this store knows no account by e-mail.
    #[error("{} (HTTP {}): The e-mail address you provided does not match any account on record ({email})", self.code(), self.http_status())]
    UnresolvableGrantByEmailAddress {
        /// The address as given.
        email: String,
    },
    /// An ACL that is not one S3 accepts (a grant header it cannot parse, an unknown grantee id or
    /// group, more than 100 grants, a permission S3 does not name).
    #[error("{} (HTTP {}): The XML you provided was not well-formed or did not validate against our published schema: {reason}", self.code(), self.http_status())]
    MalformedAcl {
        /// What is wrong, naming the offending value.
        reason: String,
    },
}

/// Names what refused a request: the store partition, or the rate partition's prefix.
fn rate_scope(partition: u16, prefix: Option<&str>) -> String {
    match prefix {
        Some(prefix) => format!("the partition of prefix {prefix:?}"),
        None => format!("partition {partition}"),
    }
}

impl Error {
    /// The S3 error code string (`"NoSuchKey"`), or an engine code for errors S3 has no name for.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } | Error::PreviousIo | Error::Corruption { .. } => "InternalError",
            Error::Locked { .. } | Error::AlreadyOpen { .. } => "ServiceUnavailable",
            Error::MissingParameter { .. } => "MissingParameter",
            Error::NoSuchBucket { .. } => "NoSuchBucket",
            Error::BucketAlreadyExists { .. } => "BucketAlreadyExists",
            Error::BucketNotEmpty { .. } => "BucketNotEmpty",
            Error::OperationAborted { .. } => "OperationAborted",
            Error::InvalidObjectState { .. } => "InvalidObjectState",
            Error::NoSuchKey { .. } => "NoSuchKey",
            Error::NoSuchVersion { .. } => "NoSuchVersion",
            Error::KeyTooLong { .. } => "KeyTooLongError",
            Error::EntityTooLarge { .. } => "EntityTooLarge",
            Error::InvalidRange { .. } => "InvalidRange",
            Error::InvalidArgument { .. } => "InvalidArgument",
            Error::BodyRead { .. } => "IncompleteBody",
            Error::NotImplemented { .. } => "NotImplemented",
            Error::KmsKeyNotFound { .. } => "KMS.NotFoundException",
            Error::NoBucketEncryption { .. } => "ServerSideEncryptionConfigurationNotFoundError",
            Error::KeyUnavailable { .. } => "InternalError",
            Error::KeyInUse { .. } => "KMS.KMSInvalidStateException",
            Error::SseCustomerKeyMissing { .. }
            | Error::SseCustomerKeyNotApplicable { .. }
            | Error::SseCustomerUploadKeyMissing { .. }
            | Error::SseCustomerUploadKeyMismatch { .. } => "InvalidRequest",
            Error::SseCustomerKeyMismatch { .. } => "AccessDenied",
            Error::InvalidEncryptionAlgorithm { .. } => "InvalidEncryptionAlgorithmError",
            Error::NoSuchUpload { .. } => "NoSuchUpload",
            Error::EntityTooSmall { .. } => "EntityTooSmall",
            Error::InvalidPart { .. } => "InvalidPart",
            Error::InvalidPartOrder { .. } => "InvalidPartOrder",
            Error::PreconditionFailed { .. } => "PreconditionFailed",
            Error::InvalidBucketName { .. } => "InvalidBucketName",
            Error::IllegalLocationConstraintException { .. } => "IllegalLocationConstraintException",
            Error::InvalidLocationConstraint { .. } => "InvalidLocationConstraint",
            Error::BucketAlreadyOwnedByYou { .. } => "BucketAlreadyOwnedByYou",
            Error::MethodNotAllowed { .. } => "MethodNotAllowed",
            Error::NotModified { .. } => "NotModified",
            Error::MetadataTooLarge { .. } => "MetadataTooLarge",
            Error::InvalidTag { .. } => "InvalidTag",
            Error::InvalidStorageClass { .. } => "InvalidStorageClass",
            Error::MalformedXML { .. } => "MalformedXML",
            Error::MalformedPolicy { .. } => "MalformedPolicy",
            Error::InvalidRequest { .. } => "InvalidRequest",
            Error::BadDigest { .. } => "BadDigest",
            Error::TooManyBuckets { .. } => "TooManyBuckets",
            Error::SlowDown { .. } => "SlowDown",
            Error::AccessDenied { .. } => "AccessDenied",
            Error::InvalidAccessKeyId { .. } => "InvalidAccessKeyId",
            Error::SignatureDoesNotMatch { .. } => "SignatureDoesNotMatch",
            Error::InvalidDigest { .. } => "InvalidDigest",
            Error::AccessControlListNotSupported { .. } => "AccessControlListNotSupported",
            Error::InvalidBucketAclWithObjectOwnership { .. } => "InvalidBucketAclWithObjectOwnership",
            Error::OwnershipControlsNotFound { .. } => "OwnershipControlsNotFoundError",
            Error::InvalidBucketAclWithBlockPublicAccess { .. } => {
                "InvalidBucketAclWithBlockPublicAccessError"
            }
            Error::NoSuchPublicAccessBlockConfiguration { .. } => "NoSuchPublicAccessBlockConfiguration",
            Error::UnresolvableGrantByEmailAddress { .. } => "UnresolvableGrantByEmailAddress",
            Error::MalformedAcl { .. } => "MalformedACLError",
            Error::LimitExceeded { .. } => "LimitExceeded",
            Error::NoSuchEntity { .. } => "NoSuchEntity",
            Error::AuthorizationQueryParametersError { .. } => "AuthorizationQueryParametersError",
        }
    }

    /// The HTTP status S3 answers with for this error.
    #[must_use]
    pub fn http_status(&self) -> u16 {
        match self {
            Error::Io { .. }
            | Error::PreviousIo
            | Error::Corruption { .. }
            | Error::KeyUnavailable { .. } => 500,
            Error::KmsKeyNotFound { .. }
            | Error::KeyInUse { .. }
            | Error::SseCustomerKeyMissing { .. }
            | Error::SseCustomerKeyNotApplicable { .. }
            | Error::SseCustomerUploadKeyMissing { .. }
            | Error::SseCustomerUploadKeyMismatch { .. }
            | Error::InvalidEncryptionAlgorithm { .. } => 400,
            Error::SseCustomerKeyMismatch { .. } => 403,
            Error::NoBucketEncryption { .. } => 404,
            Error::Locked { .. } | Error::AlreadyOpen { .. } | Error::SlowDown { .. } => 503,
            Error::MissingParameter { .. } => 400,
            Error::NoSuchBucket { .. }
            | Error::NoSuchKey { .. }
            | Error::NoSuchVersion { .. }
            | Error::NoSuchUpload { .. } => 404,
            Error::EntityTooSmall { .. } | Error::InvalidPart { .. } | Error::InvalidPartOrder { .. } => 400,
            Error::BucketAlreadyExists { .. }
            | Error::BucketNotEmpty { .. }
            | Error::OperationAborted { .. } => 409,
            Error::KeyTooLong { .. }
            | Error::EntityTooLarge { .. }
            | Error::InvalidArgument { .. }
            | Error::BodyRead { .. } => 400,
            Error::InvalidRange { .. } => 416,
            Error::NotImplemented { .. } => 501,
            Error::PreconditionFailed { .. } => 412,
            Error::InvalidBucketName { .. }
            | Error::IllegalLocationConstraintException { .. }
            | Error::InvalidLocationConstraint { .. }
            | Error::MetadataTooLarge { .. }
            | Error::InvalidTag { .. }
            | Error::InvalidStorageClass { .. }
            | Error::MalformedXML { .. }
            | Error::MalformedPolicy { .. }
            | Error::InvalidRequest { .. }
            | Error::BadDigest { .. }
            | Error::TooManyBuckets { .. }
            | Error::InvalidDigest { .. } => 400,
            Error::BucketAlreadyOwnedByYou { .. } => 409,
            Error::MethodNotAllowed { .. } => 405,
            Error::NotModified { .. } => 304,
            Error::AccessDenied { .. }
            | Error::InvalidObjectState { .. }
            | Error::InvalidAccessKeyId { .. }
            | Error::SignatureDoesNotMatch { .. } => 403,
            Error::AccessControlListNotSupported { .. }
            | Error::InvalidBucketAclWithObjectOwnership { .. }
            | Error::InvalidBucketAclWithBlockPublicAccess { .. }
            | Error::UnresolvableGrantByEmailAddress { .. }
            | Error::MalformedAcl { .. } => 400,
            Error::OwnershipControlsNotFound { .. } | Error::NoSuchPublicAccessBlockConfiguration { .. } => {
                404
            }
            Error::LimitExceeded { .. } => 409,
            Error::NoSuchEntity { .. } => 404,
            Error::AuthorizationQueryParametersError { .. } => 400,
        }
    }

    /// The message alone, without the `Code (HTTP status): ` that Display puts before it (what S3
    /// puts in an error's `<Message>`, and in a DeleteObjects error entry).
    #[must_use]
    pub fn message(&self) -> String {
        let shown = self.to_string();
        let prefix = format!("{} (HTTP {}): ", self.code(), self.http_status());
        shown.strip_prefix(&prefix).map_or_else(|| shown.clone(), str::to_owned)
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { op, path: path.into(), source }
    }

    pub(crate) fn corruption(site: CorruptionSite, reason: impl Into<String>) -> Self {
        Error::Corruption { site, reason: reason.into() }
    }
}

impl std::fmt::Debug for Error {
    /// The Display form: `fn main() -> Result<(), s3lite::Error>` prints the Debug form of the error
    /// it returns, and a newcomer should see the S3 code, the status and the message there, not a
    /// struct dump.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant, with the S3 code and status it must map to. The exhaustive match makes a new
    /// variant without an entry here a compile error.
    fn every_error() -> Vec<(Error, &'static str, u16)> {
        let s = || String::from("x");
        let site = CorruptionSite { partition: None, segment_id: None, offset: 0 };
        let all = vec![
            (Error::io("op", "/p", std::io::Error::other("e")), "InternalError", 500),
            (Error::PreviousIo, "InternalError", 500),
            (Error::corruption(site, "r"), "InternalError", 500),
            (Error::Locked { path: "/p".into() }, "ServiceUnavailable", 503),
            (Error::AlreadyOpen { path: "/p".into() }, "ServiceUnavailable", 503),
            (Error::MissingParameter { operation: "PutObject", field: "key" }, "MissingParameter", 400),
            (Error::NoSuchBucket { bucket: s() }, "NoSuchBucket", 404),
            (Error::BucketAlreadyExists { bucket: s() }, "BucketAlreadyExists", 409),
            (Error::BucketNotEmpty { bucket: s() }, "BucketNotEmpty", 409),
            (Error::OperationAborted { bucket: s(), reason: s() }, "OperationAborted", 409),
            (
                Error::InvalidObjectState { bucket: s(), key: s(), storage_class: s() },
                "InvalidObjectState",
                403,
            ),
            (
                Error::NoSuchKey { bucket: s(), key: s(), delete_marker: false, version_id: None },
                "NoSuchKey",
                404,
            ),
            (Error::NoSuchVersion { bucket: s(), key: s(), version_id: s() }, "NoSuchVersion", 404),
            (Error::KeyTooLong { len: 1025, max: 1024 }, "KeyTooLongError", 400),
            (Error::EntityTooLarge { len: 1, max: 0 }, "EntityTooLarge", 400),
            (Error::InvalidRange { range: s(), size: 0 }, "InvalidRange", 416),
            (Error::InvalidArgument { name: "n", value: s(), reason: s() }, "InvalidArgument", 400),
            (Error::BodyRead { source: std::io::Error::other("e") }, "IncompleteBody", 400),
            (Error::InvalidBucketName { bucket: s(), reason: s() }, "InvalidBucketName", 400),
            (
                Error::IllegalLocationConstraintException { constraint: s(), region: s() },
                "IllegalLocationConstraintException",
                400,
            ),
            (Error::InvalidLocationConstraint { constraint: s() }, "InvalidLocationConstraint", 400),
            (Error::BucketAlreadyOwnedByYou { bucket: s() }, "BucketAlreadyOwnedByYou", 409),
            (Error::MethodNotAllowed { bucket: s(), key: s(), version_id: s() }, "MethodNotAllowed", 405),
            (
                Error::NotModified {
                    bucket: s(),
                    key: s(),
                    e_tag: s(),
                    last_modified: std::time::UNIX_EPOCH,
                },
                "NotModified",
                304,
            ),
            (Error::MetadataTooLarge { size: 1, max: 0 }, "MetadataTooLarge", 400),
            (Error::InvalidTag { reason: s() }, "InvalidTag", 400),
            (Error::InvalidStorageClass { storage_class: s() }, "InvalidStorageClass", 400),
            (Error::MalformedXML { reason: s() }, "MalformedXML", 400),
            (Error::MalformedPolicy { reason: s() }, "MalformedPolicy", 400),
            (Error::AccessDenied { reason: s() }, "AccessDenied", 403),
            (Error::InvalidAccessKeyId { access_key_id: s() }, "InvalidAccessKeyId", 403),
            (Error::SignatureDoesNotMatch { access_key_id: s() }, "SignatureDoesNotMatch", 403),
            (Error::TooManyBuckets { max: 1 }, "TooManyBuckets", 400),
            (Error::BadDigest { reason: s() }, "BadDigest", 400),
            (Error::InvalidDigest { reason: s() }, "InvalidDigest", 400),
            (Error::InvalidRequest { reason: s() }, "InvalidRequest", 400),
            (Error::PreconditionFailed { bucket: s(), key: s(), condition: s() }, "PreconditionFailed", 412),
            (Error::NotImplemented { what: "w" }, "NotImplemented", 501),
            (Error::KmsKeyNotFound { key: s() }, "KMS.NotFoundException", 400),
            (
                Error::NoBucketEncryption { bucket: s() },
                "ServerSideEncryptionConfigurationNotFoundError",
                404,
            ),
            (Error::KeyUnavailable { key_id: s(), reason: s() }, "InternalError", 500),
            (Error::KeyInUse { key_id: s(), versions: 2 }, "KMS.KMSInvalidStateException", 400),
            (Error::SseCustomerKeyMissing { bucket: s(), key: s() }, "InvalidRequest", 400),
            (Error::SseCustomerKeyMismatch { bucket: s(), key: s() }, "AccessDenied", 403),
            (Error::SseCustomerKeyNotApplicable { bucket: s(), key: s() }, "InvalidRequest", 400),
            (
                Error::SseCustomerUploadKeyMissing { bucket: s(), key: s(), upload_id: s() },
                "InvalidRequest",
                400,
            ),
            (
                Error::SseCustomerUploadKeyMismatch { bucket: s(), key: s(), upload_id: s() },
                "InvalidRequest",
                400,
            ),
            (
                Error::InvalidEncryptionAlgorithm { header: "h", algorithm: s() },
                "InvalidEncryptionAlgorithmError",
                400,
            ),
            (Error::NoSuchUpload { upload_id: s() }, "NoSuchUpload", 404),
            (Error::AccessControlListNotSupported { bucket: s() }, "AccessControlListNotSupported", 400),
            (
                Error::InvalidBucketAclWithObjectOwnership { bucket: s() },
                "InvalidBucketAclWithObjectOwnership",
                400,
            ),
            (Error::OwnershipControlsNotFound { bucket: s() }, "OwnershipControlsNotFoundError", 404),
            (
                Error::InvalidBucketAclWithBlockPublicAccess { bucket: s() },
                "InvalidBucketAclWithBlockPublicAccessError",
                400,
            ),
            (
                Error::NoSuchPublicAccessBlockConfiguration { scope: s() },
                "NoSuchPublicAccessBlockConfiguration",
                404,
            ),
            (Error::UnresolvableGrantByEmailAddress { email: s() }, "UnresolvableGrantByEmailAddress", 400),
            (Error::MalformedAcl { reason: s() }, "MalformedACLError", 400),
            (Error::EntityTooSmall { part_number: 1, size: 1, min: 2 }, "EntityTooSmall", 400),
            (Error::InvalidPart { part_number: 1, reason: s() }, "InvalidPart", 400),
            (Error::InvalidPartOrder { part_number: 1, previous: 2 }, "InvalidPartOrder", 400),
            (Error::SlowDown { partition: 0, prefix: None, kind: "writes", limit: 1 }, "SlowDown", 503),
            (Error::LimitExceeded { quota: "AccessKeysPerUser", max: 2 }, "LimitExceeded", 409),
            (Error::NoSuchEntity { entity: "Access Key", id: s() }, "NoSuchEntity", 404),
            (
                Error::AuthorizationQueryParametersError { reason: s() },
                "AuthorizationQueryParametersError",
                400,
            ),
        ];
        for (e, _, _) in &all {
            match e {
                Error::Io { .. }
                | Error::PreviousIo
                | Error::Corruption { .. }
                | Error::Locked { .. }
                | Error::AlreadyOpen { .. }
                | Error::MissingParameter { .. }
                | Error::NoSuchBucket { .. }
                | Error::BucketAlreadyExists { .. }
                | Error::BucketNotEmpty { .. }
                | Error::OperationAborted { .. }
                | Error::InvalidObjectState { .. }
                | Error::NoSuchKey { .. }
                | Error::NoSuchVersion { .. }
                | Error::KeyTooLong { .. }
                | Error::EntityTooLarge { .. }
                | Error::InvalidRange { .. }
                | Error::InvalidArgument { .. }
                | Error::BodyRead { .. }
                | Error::InvalidBucketName { .. }
                | Error::IllegalLocationConstraintException { .. }
                | Error::InvalidLocationConstraint { .. }
                | Error::BucketAlreadyOwnedByYou { .. }
                | Error::MethodNotAllowed { .. }
                | Error::NotModified { .. }
                | Error::MetadataTooLarge { .. }
                | Error::InvalidTag { .. }
                | Error::InvalidStorageClass { .. }
                | Error::MalformedXML { .. }
                | Error::MalformedPolicy { .. }
                | Error::AccessDenied { .. }
                | Error::InvalidAccessKeyId { .. }
                | Error::SignatureDoesNotMatch { .. }
                | Error::TooManyBuckets { .. }
                | Error::BadDigest { .. }
                | Error::InvalidDigest { .. }
                | Error::InvalidRequest { .. }
                | Error::PreconditionFailed { .. }
                | Error::NotImplemented { .. }
                | Error::KmsKeyNotFound { .. }
                | Error::NoBucketEncryption { .. }
                | Error::KeyUnavailable { .. }
                | Error::KeyInUse { .. }
                | Error::SseCustomerKeyMissing { .. }
                | Error::SseCustomerKeyMismatch { .. }
                | Error::SseCustomerKeyNotApplicable { .. }
                | Error::SseCustomerUploadKeyMissing { .. }
                | Error::SseCustomerUploadKeyMismatch { .. }
                | Error::InvalidEncryptionAlgorithm { .. }
                | Error::NoSuchUpload { .. }
                | Error::EntityTooSmall { .. }
                | Error::InvalidPart { .. }
                | Error::InvalidPartOrder { .. }
                | Error::SlowDown { .. }
                | Error::AccessControlListNotSupported { .. }
                | Error::InvalidBucketAclWithObjectOwnership { .. }
                | Error::InvalidBucketAclWithBlockPublicAccess { .. }
                | Error::OwnershipControlsNotFound { .. }
                | Error::NoSuchPublicAccessBlockConfiguration { .. }
                | Error::UnresolvableGrantByEmailAddress { .. }
                | Error::MalformedAcl { .. }
                | Error::LimitExceeded { .. }
                | Error::NoSuchEntity { .. }
                | Error::AuthorizationQueryParametersError { .. } => {}
            }
        }
        all
    }

    #[test]
    fn every_error_has_its_s3_code_and_status() {
        let all = every_error();
        assert_eq!(all.len(), 63);
        for (e, code, status) in all {
            assert_eq!((e.code(), e.http_status()), (code, status), "{e:?}");
            let shown = format!("{code} (HTTP {status}): ");
            assert!(e.to_string().starts_with(&shown), "{e}");
            assert_eq!(format!("{e:?}"), e.to_string(), "Debug is the Display form");
            assert_eq!(format!("{shown}{}", e.message()), e.to_string());
        }
    }

    #[test]
    fn codes_and_statuses_are_mapped() {
        let e =
            Error::NoSuchKey { bucket: "b".into(), key: "k".into(), delete_marker: false, version_id: None };
        assert_eq!((e.code(), e.http_status()), ("NoSuchKey", 404));
        let e = Error::KeyTooLong { len: 1025, max: 1024 };
        assert_eq!((e.code(), e.http_status()), ("KeyTooLongError", 400));
        assert_eq!(Error::PreviousIo.http_status(), 500);
        let site = CorruptionSite { partition: Some(3), segment_id: Some(7), offset: 4096 };
        let e = Error::corruption(site, "body crc");
        assert!(e.to_string().contains("partition 3 segment 7 offset 4096"), "{e}");
    }
}
