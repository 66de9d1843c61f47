//! The bucket catalog: accounts, buckets and bucket settings. Edits are records (kind `Catalog`) in
//! partition 0's segments, replayed in sequence order at open. Segments stay the only log.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::s3::acl::StoredAcl;
use crate::types::BucketId;

/// One catalog edit, the body of a `Catalog` record (postcard). New variants go at the end.
/// Debug hides the secrets of access-key edits (see the `Debug` impl).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum CatalogEdit {
    /// A bucket was created.
    BucketCreated { id: u64, name: String, owner: String, region: String, created_ms: u64 },
    /// A bucket was deleted.
    BucketDeleted { id: u64 },
    /// An account was created; the first one with `is_owner` is the store's owner.
    AccountCreated { canonical_id: String, display_name: String, is_owner: bool },
    /// A bucket's versioning state changed.
    BucketVersioning { id: u64, state: VersioningState },
    /// An access key was issued to an account; only a SHA-256 of the secret is kept (older stores).
    AccessKeyCreated { access_key_id: String, secret_sha256: [u8; 32], canonical_id: String },
    /// An access key was issued (or imported) with its secret kept: SigV4 signs with the secret
    /// itself, so a host verifying signatures must know it (as S3 does). Replaces `AccessKeyCreated`
    /// for new keys; keys created before keep only their hash and cannot sign HTTP requests.
    AccessKeyIssued { access_key_id: String, secret_access_key: String, canonical_id: String },
    /// A bucket's default encryption was set (`Some`) or deleted (`None`).
    BucketEncryption { id: u64, config: Option<BucketEncryption> },
    /// A bucket's default encryption was set together with the encryption types it blocks
    /// (`BlockedEncryptionTypes`). Its own variant: postcard has no optional trailing fields, so
    /// `BucketEncryption`'s layout cannot grow; a configuration that names no blocked types is
    /// still written as `BucketEncryption`, which older stores read.
    BucketEncryptionBlocking { id: u64, config: BucketEncryption, blocked: Vec<EncryptionType> },
    /// A bucket was created, with the settings its creation gave it: the profile it was created
    /// under (as `(year, month, day)`), its Object Ownership, Block Public Access and ACL. One
    /// record, so a bucket never exists without them. Replaces `BucketCreated` for new buckets.
    BucketCreatedWith {
        id: u64,
        name: String,
        owner: String,
        region: String,
        created_ms: u64,
        profile: (u16, u8, u8),
        ownership: Option<ObjectOwnership>,
        public_access_block: Option<PublicAccessBlockConfiguration>,
        acl: Option<StoredAcl>,
    },
    /// A bucket's Object Ownership was set (`Some`) or deleted (`None`).
    BucketOwnership { id: u64, ownership: Option<ObjectOwnership> },
    /// A bucket's Block Public Access was set (`Some`) or deleted (`None`).
    BucketPublicAccessBlock { id: u64, config: Option<PublicAccessBlockConfiguration> },
    /// The store-wide Block Public Access (S3's account-level setting) was set or deleted.
    StorePublicAccessBlock { config: Option<PublicAccessBlockConfiguration> },
    /// A bucket's ACL was replaced.
    BucketAcl { id: u64, acl: StoredAcl },
    /// An object version's ACL was replaced: the version the write `seq` of `key` made.
    ObjectAcl { bucket: u64, key: String, seq: u64, acl: StoredAcl },
    // Access-key lifecycle (IAM's CreateAccessKey / UpdateAccessKey / DeleteAccessKey): one
    // contiguous block, so a merge with other appended variants can move it as a whole.
    /// An access key was issued (or imported) with its secret and its creation time, Active.
    /// Replaces `AccessKeyIssued` for new keys (postcard has no optional trailing fields, so the
    /// old variant's layout cannot grow a date); keys issued before have no recorded date.
    AccessKeyIssuedAt {
        access_key_id: String,
        secret_access_key: String,
        canonical_id: String,
        created_ms: u64,
    },
    /// An access key was deactivated (`Inactive`: refused everywhere, as S3 refuses it) or
    /// reactivated (`Active`).
    AccessKeyStatusChanged { access_key_id: String, status: AccessKeyStatus },
    /// An access key was deleted: refused from then on, and its id never authenticates again.
    AccessKeyDeleted { access_key_id: String },
}

/// S3 Object Ownership: who owns a bucket's new objects, and whether ACLs count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ObjectOwnership {
    /// The bucket's owner owns every object; ACLs are disabled (only policies grant access).
    BucketOwnerEnforced,
    /// The bucket's owner owns objects written with `bucket-owner-full-control`; the writer owns
    /// the rest. ACLs count.
    BucketOwnerPreferred,
    /// The writer owns what it writes; ACLs count. A bucket without ownership controls acts so.
    ObjectWriter,
}

impl ObjectOwnership {
    /// S3's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectOwnership::BucketOwnerEnforced => "BucketOwnerEnforced",
            ObjectOwnership::BucketOwnerPreferred => "BucketOwnerPreferred",
            ObjectOwnership::ObjectWriter => "ObjectWriter",
        }
    }

    /// Parses S3's name.
    ///
    /// # Errors
    /// `MalformedXML` naming the value (S3's answer to an unknown `ObjectOwnership`).
    pub fn parse(s: &str) -> crate::Result<ObjectOwnership> {
        [
            ObjectOwnership::BucketOwnerEnforced,
            ObjectOwnership::BucketOwnerPreferred,
            ObjectOwnership::ObjectWriter,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
        .ok_or_else(|| crate::Error::MalformedXML { reason: format!("unknown ObjectOwnership {s:?}") })
    }
}

/// S3 Block Public Access (`PublicAccessBlockConfiguration`), per bucket or store-wide; a setting
/// on at either level is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct PublicAccessBlockConfiguration {
    /// A request that sets a public ACL (a grant to AllUsers or AuthenticatedUsers) is refused.
    pub block_public_acls: bool,
    /// Public grants in ACLs are ignored when access is decided.
    pub ignore_public_acls: bool,
    /// A bucket policy that grants public access is refused.
    pub block_public_policy: bool,
    /// A public bucket policy grants nothing to principals outside the bucket owner's account.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlockConfiguration {
    /// All four settings on (what new buckets get since 2023-04-27).
    #[must_use]
    pub fn all() -> Self {
        PublicAccessBlockConfiguration {
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: true,
            restrict_public_buckets: true,
        }
    }

    /// Each setting on where it is on in `self` or in `other`.
    #[must_use]
    pub fn or(self, other: Option<Self>) -> Self {
        let o = other.unwrap_or_default();
        PublicAccessBlockConfiguration {
            block_public_acls: self.block_public_acls || o.block_public_acls,
            ignore_public_acls: self.ignore_public_acls || o.ignore_public_acls,
            block_public_policy: self.block_public_policy || o.block_public_policy,
            restrict_public_buckets: self.restrict_public_buckets || o.restrict_public_buckets,
        }
    }
}

impl std::fmt::Debug for CatalogEdit {
    /// The derived form, except that a secret reads `<hidden>`: an edit may be printed in a
    /// panic, a log line or a test failure, and a secret must never be.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const HIDDEN: &str = "<hidden>";
        match self {
            CatalogEdit::BucketCreated { id, name, owner, region, created_ms } => f
                .debug_struct("BucketCreated")
                .field("id", id)
                .field("name", name)
                .field("owner", owner)
                .field("region", region)
                .field("created_ms", created_ms)
                .finish(),
            CatalogEdit::BucketDeleted { id } => f.debug_struct("BucketDeleted").field("id", id).finish(),
            CatalogEdit::AccountCreated { canonical_id, display_name, is_owner } => f
                .debug_struct("AccountCreated")
                .field("canonical_id", canonical_id)
                .field("display_name", display_name)
                .field("is_owner", is_owner)
                .finish(),
            CatalogEdit::BucketVersioning { id, state } => {
                f.debug_struct("BucketVersioning").field("id", id).field("state", state).finish()
            }
            CatalogEdit::AccessKeyCreated { access_key_id, secret_sha256: _, canonical_id } => f
                .debug_struct("AccessKeyCreated")
                .field("access_key_id", access_key_id)
                .field("secret_sha256", &HIDDEN)
                .field("canonical_id", canonical_id)
                .finish(),
            CatalogEdit::AccessKeyIssued { access_key_id, secret_access_key: _, canonical_id } => f
                .debug_struct("AccessKeyIssued")
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &HIDDEN)
                .field("canonical_id", canonical_id)
                .finish(),
            CatalogEdit::BucketEncryption { id, config } => {
                f.debug_struct("BucketEncryption").field("id", id).field("config", config).finish()
            }
            CatalogEdit::BucketEncryptionBlocking { id, config, blocked } => f
                .debug_struct("BucketEncryptionBlocking")
                .field("id", id)
                .field("config", config)
                .field("blocked", blocked)
                .finish(),
            CatalogEdit::AccessKeyIssuedAt {
                access_key_id,
                secret_access_key: _,
                canonical_id,
                created_ms,
            } => f
                .debug_struct("AccessKeyIssuedAt")
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &HIDDEN)
                .field("canonical_id", canonical_id)
                .field("created_ms", created_ms)
                .finish(),
            CatalogEdit::AccessKeyStatusChanged { access_key_id, status } => f
                .debug_struct("AccessKeyStatusChanged")
                .field("access_key_id", access_key_id)
                .field("status", status)
                .finish(),
            CatalogEdit::AccessKeyDeleted { access_key_id } => {
                f.debug_struct("AccessKeyDeleted").field("access_key_id", access_key_id).finish()
            }
            CatalogEdit::BucketCreatedWith {
                id,
                name,
                owner,
                region,
                created_ms,
                profile,
                ownership,
                public_access_block,
                acl,
            } => f
                .debug_struct("BucketCreatedWith")
                .field("id", id)
                .field("name", name)
                .field("owner", owner)
                .field("region", region)
                .field("created_ms", created_ms)
                .field("profile", profile)
                .field("ownership", ownership)
                .field("public_access_block", public_access_block)
                .field("acl", acl)
                .finish(),
            CatalogEdit::BucketOwnership { id, ownership } => {
                f.debug_struct("BucketOwnership").field("id", id).field("ownership", ownership).finish()
            }
            CatalogEdit::BucketPublicAccessBlock { id, config } => {
                f.debug_struct("BucketPublicAccessBlock").field("id", id).field("config", config).finish()
            }
            CatalogEdit::StorePublicAccessBlock { config } => {
                f.debug_struct("StorePublicAccessBlock").field("config", config).finish()
            }
            CatalogEdit::BucketAcl { id, acl } => {
                f.debug_struct("BucketAcl").field("id", id).field("acl", acl).finish()
            }
            CatalogEdit::ObjectAcl { bucket, key, seq, acl } => f
                .debug_struct("ObjectAcl")
                .field("bucket", bucket)
                .field("key", key)
                .field("seq", seq)
                .field("acl", acl)
                .finish(),
        }
    }
}

/// Whether an access key may be used, as IAM's `StatusType`: a new key is `Active`; an
/// `Inactive` one is refused (`InvalidAccessKeyId`) until it is made `Active` again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AccessKeyStatus {
    /// The key signs and authenticates.
    Active,
    /// The key is refused everywhere, as if it did not exist.
    Inactive,
}

impl AccessKeyStatus {
    /// IAM's spelling: `Active` or `Inactive`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AccessKeyStatus::Active => "Active",
            AccessKeyStatus::Inactive => "Inactive",
        }
    }
}

/// What the catalog knows about one access key.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AccessKeyRecord {
    /// SHA-256 of the secret, for comparing a presented secret.
    pub(crate) secret_sha256: [u8; 32],
    /// The secret itself, for keys issued since the store kept secrets.
    pub(crate) secret: Option<String>,
    /// Canonical id of the account the key acts as.
    pub(crate) canonical_id: String,
    /// Active or Inactive.
    pub(crate) status: AccessKeyStatus,
    /// Creation time (ms since the epoch), for keys issued since the store recorded it.
    pub(crate) created_ms: Option<u64>,
    /// Issue order in the catalog: listings and "the account's first key" follow it.
    pub(crate) order: u64,
}

impl std::fmt::Debug for AccessKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKeyRecord")
            .field("canonical_id", &self.canonical_id)
            .field("status", &self.status)
            .field("created_ms", &self.created_ms)
            .field("order", &self.order)
            .finish_non_exhaustive()
    }
}

/// SHA-256 of a secret: what a presented secret is compared by.
pub(crate) fn secret_sha256(secret: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(secret.as_bytes()).into()
}

/// A bucket's default encryption (PutBucketEncryption): what a new object that asks for no
/// encryption of its own is sealed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketEncryption {
    /// The algorithm, and for KMS-style encryption the master key.
    pub sse: DefaultSse,
    /// S3's Bucket Key setting, kept and reported (every version has its own data key here either
    /// way: there is no KMS call to save).
    pub bucket_key_enabled: bool,
    /// The encryption types new writes may not use (`BlockedEncryptionTypes`), as put; `None`
    /// when the configuration names none (the store's default then applies: see
    /// `S3::put_bucket_encryption`). Not in the `BucketEncryption` edit's encoding (skipped, so
    /// its layout stays what older stores wrote): the `BucketEncryptionBlocking` edit carries it.
    #[serde(skip)]
    pub blocked_encryption_types: Option<Vec<EncryptionType>>,
}

/// An encryption type a bucket can block for new writes (S3's `EncryptionType`, since 2026).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EncryptionType {
    /// `NONE`: no type is blocked (SSE-C writes allowed).
    None,
    /// `SSE-C`: writes sealed under a customer-provided key are refused (403 `AccessDenied`).
    SseC,
}

/// The algorithm of a bucket's default encryption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DefaultSse {
    /// SSE-S3 (`AES256`).
    S3,
    /// KMS-style (`aws:kms`), under the named master key or, with none, the provider's active key.
    Kms {
        /// The master key's id or name.
        key: Option<String>,
    },
}

impl BucketEncryption {
    /// The sealing a put gets from this default.
    #[must_use]
    pub fn encryption(&self) -> crate::engine::options::Encryption {
        use crate::engine::options::Encryption;
        match &self.sse {
            DefaultSse::S3 => Encryption::S3,
            DefaultSse::Kms { key: None } => Encryption::KmsDefault,
            DefaultSse::Kms { key: Some(key) } => Encryption::Kms { key: key.clone() },
        }
    }
}

/// A bucket's versioning state. Once `Enabled`, a bucket never returns to `Unversioned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum VersioningState {
    /// Versioning was never enabled: every write is the `null` version.
    #[default]
    Unversioned,
    /// Every write makes a new version; deletes add delete markers.
    Enabled,
    /// Writes replace the `null` version; other versions stay.
    Suspended,
}

/// An account: a canonical id (64 hex digits, as S3's) and a display name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Account {
    /// Canonical user id.
    pub canonical_id: String,
    /// Display name.
    pub display_name: String,
}

impl Account {
    /// The account's 12-digit AWS account id, as bucket policies name accounts (`"123456789012"`,
    /// `"arn:aws:iam::123456789012:root"`, `aws:PrincipalAccount`). Derived, never stored: the
    /// first 8 bytes of SHA-256(canonical id) as a big-endian u64, modulo 10^12, zero-padded. The
    /// same canonical id always gives the same account id; two accounts of one store collide
    /// with probability about n²/2·10⁻¹².
    #[must_use]
    pub fn account_id(&self) -> String {
        use sha2::Digest as _;
        let hash = sha2::Sha256::digest(self.canonical_id.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&hash[..8]);
        format!("{:012}", u64::from_be_bytes(first) % 1_000_000_000_000)
    }
}

/// What the store knows about a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketInfo {
    /// Internal id, never reused.
    pub id: BucketId,
    /// Name.
    pub name: String,
    /// Canonical id of the owning account.
    pub owner: String,
    /// Region the bucket was created in.
    pub region: String,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: u64,
    /// Versioning state.
    pub versioning: VersioningState,
    /// The bucket's own default encryption, if one was put (the store's default applies otherwise).
    pub encryption: Option<BucketEncryption>,
    /// The profile the bucket was created under (`None` for buckets of stores from before
    /// profiles: the store's profile applies).
    pub created_profile: Option<crate::profile::Profile>,
    /// Object Ownership (`None`: no ownership controls, which acts as `ObjectWriter`).
    pub ownership: Option<ObjectOwnership>,
    /// The bucket's Block Public Access (`None`: none of its own).
    pub public_access_block: Option<PublicAccessBlockConfiguration>,
    /// The bucket's ACL (`None`: private to its owner).
    pub(crate) acl: Option<StoredAcl>,
}

/// Accounts, and buckets by name and id.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    by_name: BTreeMap<String, BucketInfo>,
    name_of: HashMap<u64, String>,
    accounts: BTreeMap<String, Account>,
    owner: Option<String>,
    access_keys: HashMap<String, AccessKeyRecord>,
    keys_issued: u64,
    pub(crate) max_id: u64,
    /// The store-wide Block Public Access.
    pub(crate) public_access_block: Option<PublicAccessBlockConfiguration>,
    /// ACLs put on object versions since they were written, by (bucket, key, write seq).
    object_acls: HashMap<(u64, String, u64), StoredAcl>,
}

impl Catalog {
    pub(crate) fn apply(&mut self, edit: &CatalogEdit) {
        match edit {
            CatalogEdit::BucketCreated { id, name, owner, region, created_ms } => {
                self.insert_bucket(BucketInfo {
                    id: BucketId(*id),
                    name: name.clone(),
                    owner: owner.clone(),
                    region: region.clone(),
                    created_ms: *created_ms,
                    versioning: VersioningState::Unversioned,
                    encryption: None,
                    created_profile: None,
                    ownership: None,
                    public_access_block: None,
                    acl: None,
                })
            }
            CatalogEdit::BucketCreatedWith {
                id,
                name,
                owner,
                region,
                created_ms,
                profile,
                ownership,
                public_access_block,
                acl,
            } => {
                let (y, m, d) = *profile;
                self.insert_bucket(BucketInfo {
                    id: BucketId(*id),
                    name: name.clone(),
                    owner: owner.clone(),
                    region: region.clone(),
                    created_ms: *created_ms,
                    versioning: VersioningState::Unversioned,
                    encryption: None,
                    created_profile: crate::profile::Profile::on(y, m, d).ok(),
                    ownership: *ownership,
                    public_access_block: *public_access_block,
                    acl: acl.clone(),
                });
            }
            CatalogEdit::BucketOwnership { id, ownership } => {
                if let Some(b) = self.name_of.get(id).and_then(|n| self.by_name.get_mut(n)) {
                    b.ownership = *ownership;
                }
            }
            CatalogEdit::BucketPublicAccessBlock { id, config } => {
                if let Some(b) = self.name_of.get(id).and_then(|n| self.by_name.get_mut(n)) {
                    b.public_access_block = *config;
                }
            }
            CatalogEdit::StorePublicAccessBlock { config } => self.public_access_block = *config,
            CatalogEdit::BucketAcl { id, acl } => {
                if let Some(b) = self.name_of.get(id).and_then(|n| self.by_name.get_mut(n)) {
                    b.acl = Some(acl.clone());
                }
            }
            CatalogEdit::ObjectAcl { bucket, key, seq, acl } => {
                self.object_acls.insert((*bucket, key.clone(), *seq), acl.clone());
            }
            CatalogEdit::BucketDeleted { id } => {
                self.max_id = self.max_id.max(*id);
                if let Some(name) = self.name_of.remove(id) {
                    self.by_name.remove(&name);
                }
            }
            CatalogEdit::AccountCreated { canonical_id, display_name, is_owner } => {
                if *is_owner && self.owner.is_none() {
                    self.owner = Some(canonical_id.clone());
                }
                let account =
                    Account { canonical_id: canonical_id.clone(), display_name: display_name.clone() };
                self.accounts.insert(canonical_id.clone(), account);
            }
            CatalogEdit::AccessKeyCreated { access_key_id, secret_sha256, canonical_id } => {
                self.issue_key(access_key_id, *secret_sha256, None, canonical_id, None);
            }
            CatalogEdit::AccessKeyIssued { access_key_id, secret_access_key, canonical_id } => {
                let hash = secret_sha256(secret_access_key);
                self.issue_key(access_key_id, hash, Some(secret_access_key), canonical_id, None);
            }
            CatalogEdit::AccessKeyIssuedAt { access_key_id, secret_access_key, canonical_id, created_ms } => {
                let hash = secret_sha256(secret_access_key);
                self.issue_key(access_key_id, hash, Some(secret_access_key), canonical_id, Some(*created_ms));
            }
            CatalogEdit::AccessKeyStatusChanged { access_key_id, status } => {
                if let Some(key) = self.access_keys.get_mut(access_key_id) {
                    key.status = *status;
                }
            }
            CatalogEdit::AccessKeyDeleted { access_key_id } => {
                self.access_keys.remove(access_key_id);
            }
            CatalogEdit::BucketVersioning { id, state } => {
                if let Some(b) = self.name_of.get(id).and_then(|n| self.by_name.get_mut(n)) {
                    b.versioning = *state;
                }
            }
            CatalogEdit::BucketEncryption { id, config } => {
                if let Some(b) = self.name_of.get(id).and_then(|n| self.by_name.get_mut(n)) {
                    b.encryption = config.clone();
                }
            }
            CatalogEdit::BucketEncryptionBlocking { id, config, blocked } => {
                if let Some(b) = self.name_of.get(id).and_then(|n| self.by_name.get_mut(n)) {
                    b.encryption = Some(BucketEncryption {
                        blocked_encryption_types: Some(blocked.clone()),
                        ..config.clone()
                    });
                }
            }
        }
    }

    /// A bucket created (by either creation edit): named, counted in `max_id`.
    fn insert_bucket(&mut self, info: BucketInfo) {
        self.max_id = self.max_id.max(info.id.0);
        self.name_of.insert(info.id.0, info.name.clone());
        self.by_name.insert(info.name.clone(), info);
    }

    pub(crate) fn by_name(&self, name: &str) -> Option<&BucketInfo> {
        self.by_name.get(name)
    }

    pub(crate) fn by_id(&self, id: BucketId) -> Option<&BucketInfo> {
        self.name_of.get(&id.0).and_then(|n| self.by_name.get(n))
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &BucketInfo> {
        self.by_name.values()
    }

    pub(crate) fn owner(&self) -> Option<&Account> {
        self.owner.as_ref().and_then(|id| self.accounts.get(id))
    }

    pub(crate) fn account(&self, canonical_id: &str) -> Option<&Account> {
        self.accounts.get(canonical_id)
    }

    fn issue_key(
        &mut self,
        access_key_id: &str,
        secret_sha256: [u8; 32],
        secret: Option<&String>,
        canonical_id: &str,
        created_ms: Option<u64>,
    ) {
        self.keys_issued += 1;
        let record = AccessKeyRecord {
            secret_sha256,
            secret: secret.cloned(),
            canonical_id: canonical_id.to_owned(),
            status: AccessKeyStatus::Active,
            created_ms,
            order: self.keys_issued,
        };
        self.access_keys.insert(access_key_id.to_owned(), record);
    }

    /// An access key, whatever its status (deleted keys are gone).
    pub(crate) fn access_key(&self, access_key_id: &str) -> Option<&AccessKeyRecord> {
        self.access_keys.get(access_key_id)
    }

    /// An account's access keys in issue order, with their ids.
    pub(crate) fn access_keys_of<'a>(
        &'a self,
        canonical_id: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a AccessKeyRecord)> + 'a {
        let mut keys: Vec<_> = self
            .access_keys
            .iter()
            .filter(move |(_, k)| k.canonical_id == canonical_id)
            .map(|(id, k)| (id.as_str(), k))
            .collect();
        keys.sort_by_key(|(id, k)| (k.order, *id));
        keys.into_iter()
    }

    pub(crate) fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    /// The ACL put on the version written by `seq` since it was written, if any.
    pub(crate) fn object_acl(&self, bucket: u64, key: &str, seq: u64) -> Option<&StoredAcl> {
        self.object_acls.get(&(bucket, key.to_owned(), seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `BucketEncryption` edit (bucket 5, `aws:kms` under key `k`, Bucket Key on) as stores
    /// wrote it before `BlockedEncryptionTypes` existed: variant 6, id, `Some`, `Kms`, `Some`,
    /// length 1, `k`, `true`.
    const OLD_BUCKET_ENCRYPTION_EDIT: [u8; 8] = [6, 5, 1, 1, 1, 1, b'k', 1];

    fn kms(blocked: Option<Vec<EncryptionType>>) -> BucketEncryption {
        BucketEncryption {
            sse: DefaultSse::Kms { key: Some("k".into()) },
            bucket_key_enabled: true,
            blocked_encryption_types: blocked,
        }
    }

    #[test]
    fn the_bucket_encryption_edit_keeps_its_layout_and_blocked_types_have_their_own() {
        let old = CatalogEdit::BucketEncryption { id: 5, config: Some(kms(None)) };
        assert_eq!(postcard::to_allocvec(&old).unwrap(), OLD_BUCKET_ENCRYPTION_EDIT);
        let read: CatalogEdit = postcard::from_bytes(&OLD_BUCKET_ENCRYPTION_EDIT).unwrap();
        assert_eq!(read, old);

        let mut catalog = Catalog::default();
        let created = CatalogEdit::BucketCreated {
            id: 5,
            name: "b".into(),
            owner: "o".into(),
            region: "r".into(),
            created_ms: 1,
        };
        catalog.apply(&created);
        catalog.apply(&read);
        assert_eq!(catalog.by_id(BucketId(5)).unwrap().encryption, Some(kms(None)));
        let blocking = CatalogEdit::BucketEncryptionBlocking {
            id: 5,
            config: kms(None),
            blocked: vec![EncryptionType::SseC],
        };
        let bytes = postcard::to_allocvec(&blocking).unwrap();
        assert_eq!(bytes[0], 7, "a new variant, at the end");
        let read: CatalogEdit = postcard::from_bytes(&bytes).unwrap();
        catalog.apply(&read);
        assert_eq!(
            catalog.by_id(BucketId(5)).unwrap().encryption,
            Some(kms(Some(vec![EncryptionType::SseC])))
        );
        // A later configuration without blocked types replaces the block, and deleting clears all.
        catalog.apply(&old);
        assert_eq!(catalog.by_id(BucketId(5)).unwrap().encryption, Some(kms(None)));
        catalog.apply(&CatalogEdit::BucketEncryption { id: 5, config: None });
        assert_eq!(catalog.by_id(BucketId(5)).unwrap().encryption, None);
    }

    fn issued_at(id: &str, secret: &str, owner: &str, ms: u64) -> CatalogEdit {
        CatalogEdit::AccessKeyIssuedAt {
            access_key_id: id.into(),
            secret_access_key: secret.into(),
            canonical_id: owner.into(),
            created_ms: ms,
        }
    }

    #[test]
    fn access_key_edits_are_the_last_variants_and_replay() {
        // The lifecycle block follows the access-control block (`BucketCreatedWith` 8 to
        // `ObjectAcl` 13): 14, 15, 16.
        let edits = [
            issued_at("AK1", "s1", "alice", 5),
            CatalogEdit::AccessKeyStatusChanged {
                access_key_id: "AK1".into(),
                status: AccessKeyStatus::Inactive,
            },
            CatalogEdit::AccessKeyDeleted { access_key_id: "AK1".into() },
        ];
        for (edit, tag) in edits.iter().zip([14u8, 15, 16]) {
            let bytes = postcard::to_allocvec(edit).unwrap();
            assert_eq!(bytes[0], tag, "{edit:?}");
            assert_eq!(&postcard::from_bytes::<CatalogEdit>(&bytes).unwrap(), edit);
        }
        let mut catalog = Catalog::default();
        catalog.apply(&CatalogEdit::AccessKeyIssued {
            access_key_id: "AK0".into(),
            secret_access_key: "s0".into(),
            canonical_id: "alice".into(),
        });
        catalog.apply(&edits[0]);
        let keys: Vec<_> =
            catalog.access_keys_of("alice").map(|(id, k)| (id, k.created_ms, k.status)).collect();
        assert_eq!(keys, [("AK0", None, AccessKeyStatus::Active), ("AK1", Some(5), AccessKeyStatus::Active)]);
        assert_eq!(catalog.access_key("AK1").unwrap().secret.as_deref(), Some("s1"));
        assert_eq!(catalog.access_key("AK1").unwrap().secret_sha256, secret_sha256("s1"));
        catalog.apply(&edits[1]);
        assert_eq!(catalog.access_key("AK1").unwrap().status, AccessKeyStatus::Inactive);
        catalog.apply(&CatalogEdit::AccessKeyStatusChanged {
            access_key_id: "AK1".into(),
            status: AccessKeyStatus::Active,
        });
        assert_eq!(catalog.access_key("AK1").unwrap().status, AccessKeyStatus::Active);
        catalog.apply(&edits[2]);
        assert!(catalog.access_key("AK1").is_none());
        assert_eq!(catalog.access_keys_of("alice").count(), 1);
        // An edit for a key that is gone changes nothing.
        catalog.apply(&edits[1]);
        assert!(catalog.access_key("AK1").is_none());
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let edits = [
            issued_at("AKX", "top-secret-1", "o", 1),
            CatalogEdit::AccessKeyIssued {
                access_key_id: "AKY".into(),
                secret_access_key: "top-secret-2".into(),
                canonical_id: "o".into(),
            },
        ];
        let mut catalog = Catalog::default();
        for edit in &edits {
            let shown = format!("{edit:?}");
            assert!(
                shown.contains("AK") && shown.contains("<hidden>") && !shown.contains("top-secret"),
                "{shown}"
            );
            catalog.apply(edit);
        }
        let shown = format!("{catalog:?}");
        assert!(shown.contains("AKX") && !shown.contains("top-secret"), "{shown}");
        let creds =
            crate::Credentials { access_key_id: "AKZ".into(), secret_access_key: "top-secret-3".into() };
        let shown = format!("{creds:?}");
        assert!(shown.contains("AKZ") && !shown.contains("top-secret"), "{shown}");
    }
}
