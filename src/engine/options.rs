//! The public option and result types of the engine-level object API: which version a write
//! creates, write conditions, body-finish checks, put/get/list options, listing pages and
//! [`ObjectInfo`], with the helpers that build an `ObjectInfo` from an index entry and a record's
//! meta.

use std::sync::Arc;

use crate::engine::body::ByteRange;
use crate::engine::crypto::{CustomerKey, CustomerKeyMac, Envelope, KeyId, SseMode};
use crate::engine::format::meta::ObjectMeta;
use crate::engine::partition::index::{EntryKind, IndexEntry};
use crate::engine::partition::{Condition, Precondition};
use crate::error::{Error, Result};
use crate::limits::LIST_KEYS_MAX;
use crate::types::{BucketId, Durability, StorageClass, VersionId};

/// Which version a write creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NewVersion {
    /// The `null` version, replacing any earlier `null` version of the key (unversioned buckets).
    #[default]
    Null,
    /// A new unique version id (versioned buckets).
    Unique,
}

/// A condition a write needs to hold of the key's current version, checked atomically with the write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteCondition {
    /// The key must have no current object (`If-None-Match: *`); a delete marker counts as none.
    IfAbsent,
    /// The key's current object must have this ETag (`If-Match`), quoted or not.
    IfETagMatches(String),
    /// The key must have a current object, whatever its ETag (`If-Match: *`).
    IfExists,
}

impl WriteCondition {
    pub(super) fn to_precondition(&self, bucket: u64, key: &str) -> Precondition {
        let condition = match self {
            WriteCondition::IfAbsent => Condition::Absent,
            // An ETag that is not a single-part digest matches no object this engine writes.
            WriteCondition::IfETagMatches(etag) => Condition::EtagIs(parse_etag(etag).unwrap_or([0xff; 16])),
            WriteCondition::IfExists => Condition::Exists,
        };
        Precondition { bucket, key: key.as_bytes().to_vec(), condition, upload: None }
    }
}

/// Parses a (possibly quoted) 32-hex-digit ETag, or a multipart one (`<32 hex>-<parts>`): its
/// digest.
pub(crate) fn parse_etag(etag: &str) -> Option<[u8; 16]> {
    let hex = etag.trim().trim_matches('"');
    let hex = match hex.split_once('-') {
        Some((digest, parts)) if !parts.is_empty() && parts.bytes().all(|b| b.is_ascii_digit()) => digest,
        Some(_) => return None,
        None => hex,
    };
    if hex.len() != 32 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Runs once a put's whole body has been read, before anything becomes visible: it gets the body's
/// MD5 and returns checksums to store, or an error that aborts the put (nothing is stored).
#[derive(Clone)]
pub struct BodyFinish(pub Arc<BodyFinishFn>);

/// The function inside a [`BodyFinish`].
pub type BodyFinishFn = dyn Fn(&[u8; 16]) -> Result<Vec<(u8, Vec<u8>)>> + Send + Sync;

impl std::fmt::Debug for BodyFinish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BodyFinish(..)")
    }
}

/// Options of a put.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// Version to create.
    pub version: NewVersion,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// User metadata.
    pub user_metadata: Vec<(String, String)>,
    /// Other stored headers (`Content-Encoding`, `Cache-Control`, ...), as (name, value).
    pub system_metadata: Vec<(String, String)>,
    /// Object tags.
    pub tags: Vec<(String, String)>,
    /// S3 checksums to store, as (algorithm code, raw digest); the caller has verified them.
    pub checksums: Vec<(u8, Vec<u8>)>,
    /// A condition checked atomically with the write.
    pub condition: Option<WriteCondition>,
    /// Storage class.
    pub storage_class: StorageClass,
    /// Overrides the store's durability for this call.
    pub durability: Option<Durability>,
    /// The body's length when known (lets the engine size its buffer; the body must match it).
    pub content_length: Option<u64>,
    /// Checks run after the body and before the commit (streamed checksums).
    pub finish: Option<BodyFinish>,
    /// Seal the body under a fresh data key (needs the store's key provider). `None` takes the
    /// bucket's default encryption, else the store's (SSE-S3 in a store with keys, see
    /// `StoreBuilder::encrypt_by_default`), else none.
    pub encryption: Option<Encryption>,
    /// An SSE-KMS encryption context bound to the data key's wrap (KMS-style sealing only,
    /// `InvalidArgument` otherwise; an empty one is none).
    pub encryption_context: Option<crate::engine::crypto::EncryptionContext>,
    /// The version's owner and ACL as the S3 layer encodes them, kept opaque in its record (see
    /// [`ObjectInfo::acl`]); `None` for its bucket owner's private default.
    pub acl: Option<Vec<u8>>,
}

/// How a put asks for its body to be sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    /// SSE-S3 (`AES256`): the data key wrapped under the provider's active master key.
    S3,
    /// SSE-KMS-style (`aws:kms`) with no key named: S3 uses the account's AWS-managed key; here,
    /// the provider's active master key (reported as a KMS key).
    KmsDefault,
    /// SSE-KMS-style (`aws:kms`): the data key wrapped under the named master key.
    Kms {
        /// The key's id or name, as the provider knows it.
        key: String,
    },
    /// SSE-C: the data key wrapped under the caller's own key, which the store does not keep
    /// (only a salted HMAC of it, to refuse a wrong key); every read must send it again
    /// ([`GetOptions::customer_key`]). Needs no key provider.
    Customer {
        /// The caller's key.
        key: CustomerKey,
    },
}

/// How a stored version is sealed, as its envelope says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionInfo {
    /// The mode.
    pub mode: SseMode,
    /// The master key the data key is wrapped under (all zeros under SSE-C).
    pub key_id: KeyId,
    /// SSE-C: the salted HMAC of the customer key, to check the key a read sends.
    pub customer_key_mac: Option<CustomerKeyMac>,
}

/// Why a read's SSE-C key does not fit the version it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CustomerKeyRefusal {
    /// The version is sealed under a customer key and the read sent none.
    Missing,
    /// The read sent a key other than the one the version is sealed under.
    Mismatch,
    /// The read sent a key and the version is not sealed under one.
    NotApplicable,
}

impl CustomerKeyRefusal {
    /// What S3 answers (user guide, "Using server-side encryption with customer-provided keys").
    pub(crate) fn error(self, bucket: String, key: String) -> Error {
        match self {
            CustomerKeyRefusal::Missing => Error::SseCustomerKeyMissing { bucket, key },
            CustomerKeyRefusal::Mismatch => Error::SseCustomerKeyMismatch { bucket, key },
            CustomerKeyRefusal::NotApplicable => Error::SseCustomerKeyNotApplicable { bucket, key },
        }
    }
}

/// S3's rules for the SSE-C key of a read of a version sealed as `sealed` says.
pub(crate) fn customer_key_refusal(
    sealed: Option<&EncryptionInfo>,
    given: Option<&CustomerKey>,
) -> Option<CustomerKeyRefusal> {
    let mac = sealed.and_then(|e| e.customer_key_mac.as_ref());
    match (mac, given) {
        (None, None) => None,
        (Some(_), None) => Some(CustomerKeyRefusal::Missing),
        (None, Some(_)) => Some(CustomerKeyRefusal::NotApplicable),
        (Some(mac), Some(k)) => (!mac.matches(k)).then_some(CustomerKeyRefusal::Mismatch),
    }
}

/// Options of a get.
#[derive(Debug, Clone, Default)]
pub struct GetOptions {
    /// A specific version (default: the current one).
    pub version: Option<VersionId>,
    /// A byte range (default: the whole body).
    pub range: Option<ByteRange>,
    /// SSE-C: the key the version was sealed under. A version sealed under a customer key opens
    /// only with it (`SseCustomerKeyMissing` without, `SseCustomerKeyMismatch` for another); a key
    /// sent for any other version is `SseCustomerKeyNotApplicable`.
    pub customer_key: Option<CustomerKey>,
}

/// Options of a listing.
#[derive(Debug, Clone)]
pub struct ListOptions {
    /// Only keys starting with this.
    pub prefix: String,
    /// Only keys after this one.
    pub start_after: Option<String>,
    /// Page size (1..=1000, default 1000).
    pub max_keys: usize,
    /// List every version and delete marker instead of current objects.
    pub versions: bool,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions { prefix: String::new(), start_after: None, max_keys: LIST_KEYS_MAX, versions: false }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    /// Entries in key order (versions newest first).
    pub entries: Vec<ObjectInfo>,
    /// True when more entries follow.
    pub is_truncated: bool,
}

/// What the engine knows of an object version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Bucket.
    pub bucket: BucketId,
    /// Key.
    pub key: String,
    /// Version id (`null` for the null version).
    pub version_id: VersionId,
    /// True for a delete marker.
    pub is_delete_marker: bool,
    /// True for the key's newest version.
    pub is_latest: bool,
    /// Body size.
    pub size: u64,
    /// ETag as S3 returns it: quoted lowercase hex.
    pub e_tag: String,
    /// Last-modified time, ms since the Unix epoch.
    pub last_modified_ms: u64,
    /// Storage class.
    pub storage_class: StorageClass,
    /// Content type (loaded by `head` and `get`, `None` in listings).
    pub content_type: Option<String>,
    /// User metadata (loaded by `head` and `get`, empty in listings).
    pub user_metadata: Vec<(String, String)>,
    /// Other stored headers (loaded by `head` and `get`).
    pub system_metadata: Vec<(String, String)>,
    /// Tags (loaded by `head` and `get`).
    pub tags: Vec<(String, String)>,
    /// Stored S3 checksums (loaded by `head` and `get`).
    pub checksums: Vec<(u8, Vec<u8>)>,
    /// How the body is sealed (loaded by `head` and `get`; `None`: stored in the clear).
    pub encryption: Option<EncryptionInfo>,
    /// The owner and ACL the version was written with, as given in [`PutOptions::acl`] (loaded by
    /// `head` and `get`).
    pub acl: Option<Vec<u8>>,
    /// The sequence number of the write that made this version: unique in its partition and kept
    /// by compaction, so (bucket, key, seq) names one write even of a `null` version rewritten.
    pub(crate) seq: u64,
}

pub(crate) fn etag_string(etag: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Built as bytes: pushing chars one by one showed in listing profiles.
    let mut s = Vec::with_capacity(2 + 2 * etag.len());
    s.push(b'"');
    for b in etag {
        s.extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
    }
    s.push(b'"');
    String::from_utf8(s).expect("quotes and hex digits are ASCII")
}

/// An index entry's ETag as S3 shows it: quoted hex of the digest, with `-<parts>` for a
/// multipart object.
pub(crate) fn entry_etag(e: &IndexEntry) -> String {
    if e.kind == EntryKind::DeleteMarker {
        return String::new();
    }
    let mut s = etag_string(&e.etag);
    if e.parts > 0 {
        s.pop();
        s.push_str(&format!("-{}\"", e.parts));
    }
    s
}

pub(super) fn info_from(bucket: u64, key: &[u8], e: &IndexEntry, is_latest: bool) -> ObjectInfo {
    ObjectInfo {
        bucket: BucketId(bucket),
        key: String::from_utf8_lossy(key).into_owned(),
        version_id: e.version_id,
        is_delete_marker: e.kind == EntryKind::DeleteMarker,
        is_latest,
        size: e.size,
        e_tag: entry_etag(e),
        last_modified_ms: e.mtime_ms,
        storage_class: e.class,
        content_type: None,
        user_metadata: Vec::new(),
        system_metadata: Vec::new(),
        tags: Vec::new(),
        checksums: Vec::new(),
        encryption: None,
        acl: None,
        seq: 0,
    }
}

/// Fills the fields only the record's meta has.
pub(super) fn with_meta(mut info: ObjectInfo, meta: ObjectMeta) -> ObjectInfo {
    info.content_type = meta.content_type;
    info.user_metadata = meta.user;
    info.system_metadata = meta.system;
    info.tags = meta.tags;
    info.checksums = meta.checksums;
    info.acl = meta.acl;
    info.encryption =
        meta.envelope.as_deref().and_then(|e| Envelope::decode(e).ok()).map(|e| EncryptionInfo {
            mode: e.mode,
            key_id: e.key_id,
            customer_key_mac: e.customer_key_mac.map(|(salt, mac)| CustomerKeyMac { salt, mac }),
        });
    info
}

impl ObjectInfo {
    /// Checks the SSE-C key a read of this version sends, by S3's rules: a version sealed under a
    /// customer key needs that key, and no other version takes one. The engine's `get` checks
    /// it itself; `head` reads no body and checks nothing, so a host serving S3's HEAD (which
    /// refuses a missing or wrong key as GET does) calls this.
    ///
    /// # Errors
    /// `SseCustomerKeyMissing` (400), `SseCustomerKeyMismatch` (403),
    /// `SseCustomerKeyNotApplicable` (400), naming `bucket` and the key.
    pub fn check_customer_key(&self, bucket: &str, given: Option<&CustomerKey>) -> Result<()> {
        match customer_key_refusal(self.encryption.as_ref(), given) {
            None => Ok(()),
            Some(r) => Err(r.error(bucket.to_owned(), self.key.clone())),
        }
    }
}
