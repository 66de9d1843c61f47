//! S3 semantics over the engine: bucket rules and regions, versioning, conditional requests,
//! listing with delimiters and continuation tokens, batch delete and copy. Operations take typed
//! requests and return typed outputs named as S3 (and aws-sdk-s3) names them, and act as a
//! principal: the store owner ([`Store::s3`]), another account ([`Store::s3_as`]).
//!
//! Buckets are global per store: one name exists once across all accounts of the store.

pub mod checksum;
pub mod rules;
pub mod types;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::io::Read;
use std::sync::Arc;

use md5::{Digest, Md5};
use parking_lot::Mutex;

use crate::body::ByteRange;
use crate::catalog::{Account, BucketInfo, VersioningState};
use crate::error::{Error, Result};
use crate::limits::LIST_KEYS_MAX;
use crate::listing::{ListItem, ListQuery, ListStart};
use crate::store::{
    BodyFinish, GetOptions, NewVersion, ObjectInfo, PutOptions, Store, WriteCondition, etag_string,
};
use crate::types::{BucketId, StorageClass, VersionId};
use checksum::ChecksumAlgorithm;
use rules::{DELETE_OBJECTS_KEYS_MAX, LIST_BUCKETS_MAX};
use types::*;

const US_EAST_1: &str = "us-east-1";
const SYSTEM_HEADERS: [&str; 5] =
    ["Content-Encoding", "Content-Disposition", "Content-Language", "Cache-Control", "Expires"];

/// S3 operations acting as one principal.
#[derive(Debug, Clone)]
pub struct S3 {
    store: Store,
    caller: Option<Account>,
}

impl Store {
    /// S3 operations as the store's owner.
    #[must_use]
    pub fn s3(&self) -> S3 {
        S3 { store: self.clone(), caller: Some(self.owner()) }
    }

    /// S3 operations as another account of this store.
    #[must_use]
    pub fn s3_as(&self, account: &Account) -> S3 {
        S3 { store: self.clone(), caller: Some(account.clone()) }
    }

    /// S3 operations as an anonymous caller. Anonymous callers cannot own buckets or list them
    /// (`AccessDenied`); what else they may do arrives with access control.
    #[must_use]
    pub fn s3_anonymous(&self) -> S3 {
        S3 { store: self.clone(), caller: None }
    }
}

fn time_of(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// HTTP dates have whole seconds: conditions compare at that granularity, as S3 does.
fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn version_string(v: VersionId) -> String {
    v.to_string()
}

fn etags_match(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|h| h == "*" || h.trim_matches('"') == etag.trim_matches('"'))
}

/// Token format: hex of `1 ‖ bucket id (8) ‖ kind (1) ‖ marker ‖ mac (8)`, mac = MD5(store secret ‖
/// payload) truncated: a token from another bucket or store, or edited, does not verify.
fn encode_token(secret: &[u8], bucket: BucketId, kind: u8, marker: &[u8]) -> String {
    let mut payload = vec![1u8];
    payload.extend_from_slice(&bucket.0.to_le_bytes());
    payload.push(kind);
    payload.extend_from_slice(marker);
    let mac = Md5::new().chain_update(secret).chain_update(&payload).finalize();
    payload.extend_from_slice(&mac[..8]);
    payload.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_token(secret: &[u8], bucket: BucketId, token: &str) -> Result<(u8, Vec<u8>)> {
    let bad = || Error::InvalidArgument {
        name: "continuation-token",
        value: token.to_owned(),
        reason: "the continuation token provided is incorrect".into(),
    };
    if !token.len().is_multiple_of(2) || token.len() < 2 * 18 || !token.is_ascii() {
        return Err(bad());
    }
    let bytes: Vec<u8> = (0..token.len() / 2)
        .map(|i| u8::from_str_radix(&token[2 * i..2 * i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let (payload, mac) = bytes.split_at(bytes.len() - 8);
    let expect = Md5::new().chain_update(secret).chain_update(payload).finalize();
    if mac != &expect[..8] || payload[0] != 1 || payload[1..9] != bucket.0.to_le_bytes() {
        return Err(bad());
    }
    Ok((payload[9], payload[10..].to_vec()))
}

const TOKEN_KEY: u8 = 0;
const TOKEN_PREFIX: u8 = 1;

fn max_keys(v: Option<i32>) -> Result<usize> {
    match v {
        None => Ok(LIST_KEYS_MAX),
        Some(n) if n < 0 => Err(Error::InvalidArgument {
            name: "max-keys",
            value: n.to_string(),
            reason: "max-keys must not be negative".into(),
        }),
        Some(n) => Ok((n as usize).min(LIST_KEYS_MAX)),
    }
}

fn storage_class(v: Option<&String>) -> Result<StorageClass> {
    match v {
        None => Ok(StorageClass::Standard),
        Some(s) => {
            StorageClass::parse(s).map_err(|_| Error::InvalidStorageClass { storage_class: s.clone() })
        }
    }
}

fn system_get<'a>(info: &'a ObjectInfo, name: &str) -> Option<&'a String> {
    info.system_metadata.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

impl S3 {
    /// The account this handle acts as (`None` when anonymous).
    #[must_use]
    pub fn caller(&self) -> Option<&Account> {
        self.caller.as_ref()
    }

    fn account(&self, what: &str) -> Result<&Account> {
        self.caller
            .as_ref()
            .ok_or_else(|| Error::AccessDenied { reason: format!("anonymous users cannot {what}") })
    }

    /// The store underneath.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn bucket(&self, name: &str) -> Result<BucketInfo> {
        self.store.bucket(name)
    }

    fn secret(&self) -> [u8; 16] {
        self.store.token_secret()
    }

    // ----- buckets -------------------------------------------------------------------------------

    /// CreateBucket.
    ///
    /// # Errors
    /// `InvalidBucketName` (naming the rule), `IllegalLocationConstraintException` when the
    /// constraint does not match the store's region (or is missing outside us-east-1),
    /// `InvalidLocationConstraint` for an explicit `us-east-1`, `BucketAlreadyExists` when another
    /// account owns the name, `BucketAlreadyOwnedByYou` when the caller does (outside us-east-1; in
    /// us-east-1 S3's legacy answer is success), `TooManyBuckets` past 10,000 buckets per account.
    pub fn create_bucket(&self, req: CreateBucketRequest) -> Result<CreateBucketOutput> {
        rules::check_bucket_name(&req.bucket)?;
        let region = self.store.region().to_owned();
        let constraint =
            req.create_bucket_configuration.and_then(|c| c.location_constraint).filter(|c| !c.is_empty());
        match (&constraint, region.as_str()) {
            (None, US_EAST_1) => {}
            (Some(c), US_EAST_1) if c == US_EAST_1 => {
                return Err(Error::InvalidLocationConstraint { constraint: c.clone() });
            }
            (Some(c), r) if c == r => {}
            (c, _) => {
                return Err(Error::IllegalLocationConstraintException {
                    constraint: c.clone().unwrap_or_default(),
                    region,
                });
            }
        }
        let caller = self.account("create buckets")?.clone();
        let location = format!("/{}", req.bucket);
        if let Ok(existing) = self.bucket(&req.bucket) {
            return if existing.owner != caller.canonical_id {
                Err(Error::BucketAlreadyExists { bucket: req.bucket })
            } else if region == US_EAST_1 {
                Ok(CreateBucketOutput { location })
            } else {
                Err(Error::BucketAlreadyOwnedByYou { bucket: req.bucket })
            };
        }
        let quota = Some(rules::BUCKETS_PER_ACCOUNT_MAX);
        match self.store.create_bucket_owned(&req.bucket, &caller.canonical_id, &region, quota) {
            Ok(_) => Ok(CreateBucketOutput { location }),
            // Lost a race for the name: answer as if it had been there.
            Err(Error::BucketAlreadyExists { .. }) => self.create_bucket(CreateBucketRequest {
                bucket: req.bucket,
                create_bucket_configuration: constraint
                    .map(|c| CreateBucketConfiguration { location_constraint: Some(c) }),
            }),
            Err(e) => Err(e),
        }
    }

    /// HeadBucket.
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub fn head_bucket(&self, bucket: &str) -> Result<HeadBucketOutput> {
        Ok(HeadBucketOutput { bucket_region: self.bucket(bucket)?.region })
    }

    /// ListBuckets: the caller's buckets, by name, in pages.
    ///
    /// # Errors
    /// `InvalidArgument` for `max_buckets` outside 1..=10000 or a bad continuation token.
    pub fn list_buckets(&self, req: ListBucketsRequest) -> Result<ListBucketsOutput> {
        let caller = self.account("list buckets")?.clone();
        let max = req.max_buckets.unwrap_or(LIST_BUCKETS_MAX);
        if max == 0 || max > LIST_BUCKETS_MAX {
            return Err(Error::InvalidArgument {
                name: "max-buckets",
                value: max.to_string(),
                reason: "max-buckets must be between 1 and 10000".into(),
            });
        }
        let after = match &req.continuation_token {
            Some(t) => {
                Some(String::from_utf8(decode_token(&self.secret(), BucketId(0), t)?.1).unwrap_or_default())
            }
            None => None,
        };
        let mut mine: Vec<BucketInfo> = self
            .store
            .list_buckets()?
            .into_iter()
            .filter(|b| b.owner == caller.canonical_id)
            .filter(|b| req.prefix.as_deref().is_none_or(|p| b.name.starts_with(p)))
            .filter(|b| after.as_deref().is_none_or(|a| b.name.as_str() > a))
            .collect();
        let continuation_token = (mine.len() > max)
            .then(|| encode_token(&self.secret(), BucketId(0), TOKEN_KEY, mine[max - 1].name.as_bytes()));
        mine.truncate(max);
        Ok(ListBucketsOutput {
            buckets: mine
                .into_iter()
                .map(|b| Bucket {
                    name: b.name,
                    creation_date: time_of(b.created_ms),
                    bucket_region: b.region,
                })
                .collect(),
            owner: Owner { id: caller.canonical_id.clone(), display_name: caller.display_name.clone() },
            continuation_token,
            prefix: req.prefix,
        })
    }

    /// DeleteBucket.
    ///
    /// # Errors
    /// `NoSuchBucket`; `BucketNotEmpty` while any object, version or delete marker remains.
    pub fn delete_bucket(&self, bucket: &str) -> Result<()> {
        self.store.delete_bucket(bucket)
    }

    /// PutBucketVersioning. A bucket once versioned never returns to unversioned: only `Enabled` and
    /// `Suspended` exist.
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub fn put_bucket_versioning(&self, bucket: &str, status: BucketVersioningStatus) -> Result<()> {
        let b = self.bucket(bucket)?;
        let state = match status {
            BucketVersioningStatus::Enabled => VersioningState::Enabled,
            BucketVersioningStatus::Suspended => VersioningState::Suspended,
        };
        self.store.set_versioning(b.id, state)
    }

    /// GetBucketVersioning: `None` when versioning was never enabled.
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub fn get_bucket_versioning(&self, bucket: &str) -> Result<Option<BucketVersioningStatus>> {
        Ok(BucketVersioningStatus::from_state(self.bucket(bucket)?.versioning))
    }

    // ----- objects -------------------------------------------------------------------------------

    /// PutObject.
    ///
    /// # Errors
    /// `NoSuchBucket`, `KeyTooLongError`, `MetadataTooLarge`, `InvalidTag`, `InvalidStorageClass`,
    /// `NotImplemented` for `If-None-Match` other than `*` or both conditions at once (as S3),
    /// `PreconditionFailed`.
    pub fn put_object(&self, req: PutObjectRequest) -> Result<PutObjectOutput> {
        let b = self.bucket(&req.bucket)?;
        let condition = match (&req.if_none_match, &req.if_match) {
            (None, None) => None,
            (Some(n), None) if n.trim() == "*" => Some(WriteCondition::IfAbsent),
            (None, Some(m)) if m.trim() != "*" => Some(WriteCondition::IfETagMatches(m.clone())),
            _ => {
                return Err(Error::NotImplemented {
                    what: "conditional PUT other than If-None-Match: * or If-Match: <etag>",
                });
            }
        };
        let mut system = Vec::new();
        for (name, value) in SYSTEM_HEADERS.iter().zip([
            &req.content_encoding,
            &req.content_disposition,
            &req.content_language,
            &req.cache_control,
            &req.expires,
        ]) {
            if let Some(v) = value {
                system.push(((*name).to_owned(), v.clone()));
            }
        }
        let given: Vec<(ChecksumAlgorithm, &String)> = [
            (ChecksumAlgorithm::Crc32, &req.checksum_crc32),
            (ChecksumAlgorithm::Crc32c, &req.checksum_crc32_c),
            (ChecksumAlgorithm::Crc64Nvme, &req.checksum_crc64_nvme),
            (ChecksumAlgorithm::Sha1, &req.checksum_sha1),
            (ChecksumAlgorithm::Sha256, &req.checksum_sha256),
        ]
        .into_iter()
        .filter_map(|(a, v)| v.as_ref().map(|v| (a, v)))
        .collect();
        let alg = checksum::choose(&given, req.checksum_algorithm)?;
        let (reader, content_length) = open_body(req.body)?;
        let hasher = Arc::new(Mutex::new(checksum::StreamHasher::new(alg)));
        let reader = HashingReader { inner: reader, hasher: hasher.clone() };
        let given_value = given.first().map(|(_, v)| (*v).clone());
        let content_md5 = req.content_md5.clone();
        let stored = Arc::new(Mutex::new(Vec::new()));
        let stored_out = stored.clone();
        let finish = BodyFinish(Arc::new(move |md5: &[u8; 16]| {
            let sum = hasher.lock().finish();
            checksum::check(alg, &sum, given_value.as_ref(), content_md5.as_ref(), md5)?;
            *stored_out.lock() = vec![(alg.code(), sum.clone())];
            Ok(vec![(alg.code(), sum)])
        }));
        let opts = PutOptions {
            version: new_version(b.versioning),
            finish: Some(finish),
            content_type: req.content_type,
            user_metadata: rules::normalize_user_metadata(&req.metadata)?,
            system_metadata: system,
            tags: rules::parse_tagging(req.tagging.as_deref().unwrap_or(""))?,
            storage_class: storage_class(req.storage_class.as_ref())?,
            condition,
            content_length,
            ..PutOptions::default()
        };
        let info = self.store.put(b.id, &req.key, reader, &opts)?;
        let stored = stored.lock().clone();
        Ok(PutObjectOutput {
            e_tag: info.e_tag,
            version_id: output_version(b.versioning, info.version_id),
            checksums: Checksums::from_stored(&stored),
        })
    }

    fn find(&self, req: &GetObjectRequest) -> Result<(BucketInfo, Option<VersionId>)> {
        let b = self.bucket(&req.bucket)?;
        let version = req.version_id.as_deref().map(VersionId::parse).transpose()?;
        Ok((b, version))
    }

    fn head_of(
        &self,
        b: &BucketInfo,
        info: &ObjectInfo,
        range: Option<(u64, u64)>,
        checksum_mode: bool,
    ) -> HeadObjectOutput {
        let (content_length, content_range) = match range {
            Some((s, e)) => (e - s, Some(format!("bytes {}-{}/{}", s, e - 1, info.size))),
            None => (info.size, None),
        };
        HeadObjectOutput {
            content_length,
            content_range,
            e_tag: info.e_tag.clone(),
            last_modified: time_of(info.last_modified_ms),
            version_id: (b.versioning != VersioningState::Unversioned)
                .then(|| version_string(info.version_id)),
            content_type: info.content_type.clone(),
            content_encoding: system_get(info, "Content-Encoding").cloned(),
            content_disposition: system_get(info, "Content-Disposition").cloned(),
            content_language: system_get(info, "Content-Language").cloned(),
            cache_control: system_get(info, "Cache-Control").cloned(),
            expires: system_get(info, "Expires").cloned(),
            metadata: info.user_metadata.clone(),
            storage_class: (info.storage_class != StorageClass::Standard).then_some(info.storage_class),
            tag_count: info.tags.len(),
            // A ranged read has no whole-object checksum to offer.
            checksums: if checksum_mode && range.is_none() {
                Checksums::from_stored(&info.checksums)
            } else {
                Checksums::default()
            },
        }
    }

    /// Evaluates GET/HEAD conditions with S3's precedence: `If-Match` (412) decides before
    /// `If-Unmodified-Since`; `If-None-Match` (304) decides before `If-Modified-Since`.
    fn check_read_conditions(&self, req: &GetObjectRequest, info: &ObjectInfo) -> Result<()> {
        let modified = secs(time_of(info.last_modified_ms));
        let failed = Error::PreconditionFailed {
            bucket: req.bucket.clone(),
            key: req.key.clone(),
            condition: String::new(),
        };
        let fail = |c: &str| match &failed {
            Error::PreconditionFailed { bucket, key, .. } => Err(Error::PreconditionFailed {
                bucket: bucket.clone(),
                key: key.clone(),
                condition: c.into(),
            }),
            _ => unreachable!("built above"),
        };
        match (&req.if_match, req.if_unmodified_since) {
            (Some(m), _) if !etags_match(m, &info.e_tag) => return fail("If-Match"),
            (None, Some(t)) if modified > secs(t) => return fail("If-Unmodified-Since"),
            _ => {}
        }
        let not_modified = Err(Error::NotModified { bucket: req.bucket.clone(), key: req.key.clone() });
        match (&req.if_none_match, req.if_modified_since) {
            (Some(n), _) if etags_match(n, &info.e_tag) => not_modified,
            (None, Some(t)) if modified <= secs(t) => not_modified,
            _ => Ok(()),
        }
    }

    fn marker_version_error(&self, req: &GetObjectRequest, e: Error) -> Error {
        match (e, &req.version_id) {
            (Error::NoSuchKey { delete_marker: true, .. }, Some(v)) => Error::MethodNotAllowed {
                bucket: req.bucket.clone(),
                key: req.key.clone(),
                version_id: v.clone(),
            },
            (e, _) => e,
        }
    }

    /// HeadObject.
    ///
    /// # Errors
    /// As [`S3::get_object`].
    pub fn head_object(&self, req: HeadObjectRequest) -> Result<HeadObjectOutput> {
        let (b, version) = self.find(&req)?;
        let info = self.store.head(b.id, &req.key, version)?;
        if info.is_delete_marker {
            let e =
                Error::NoSuchKey { bucket: req.bucket.clone(), key: req.key.clone(), delete_marker: true };
            return Err(self.marker_version_error(&req, e));
        }
        self.check_read_conditions(&req, &info)?;
        let range = req
            .range
            .as_deref()
            .map(ByteRange::parse)
            .transpose()?
            .map(|r| r.resolve(info.size))
            .transpose()?;
        Ok(self.head_of(&b, &info, range, req.checksum_mode))
    }

    /// GetObject.
    ///
    /// # Errors
    /// `NoSuchBucket`; `NoSuchKey` (with `delete_marker` when the current version is a marker);
    /// `NoSuchVersion`; `MethodNotAllowed` for a delete marker's version; `InvalidRange`;
    /// `PreconditionFailed` / `NotModified` for conditions; `InvalidArgument` for a bad version id.
    pub fn get_object(&self, req: GetObjectRequest) -> Result<GetObjectOutput> {
        let (b, version) = self.find(&req)?;
        let info = self.store.head(b.id, &req.key, version)?;
        if info.is_delete_marker {
            let e =
                Error::NoSuchKey { bucket: req.bucket.clone(), key: req.key.clone(), delete_marker: true };
            return Err(self.marker_version_error(&req, e));
        }
        self.check_read_conditions(&req, &info)?;
        let range = req.range.as_deref().map(ByteRange::parse).transpose()?;
        let (info, body) =
            self.store.get(b.id, &req.key, &GetOptions { version: Some(info.version_id), range })?;
        let span = range.map(|r| r.resolve(info.size)).transpose()?;
        Ok(GetObjectOutput { head: self.head_of(&b, &info, span, req.checksum_mode), body })
    }

    /// DeleteObject, with S3's versioning rules: without a version id, an unversioned bucket removes
    /// the object, an enabled one adds a delete marker, a suspended one replaces the `null` version
    /// with a `null` delete marker; with a version id, that version is removed permanently.
    ///
    /// # Errors
    /// `NoSuchBucket`, `InvalidArgument` for a bad version id, `PreconditionFailed` for `If-Match`.
    pub fn delete_object(&self, req: DeleteObjectRequest) -> Result<DeleteObjectOutput> {
        let b = self.bucket(&req.bucket)?;
        let condition = req.if_match.clone().map(WriteCondition::IfETagMatches);
        if let Some(v) = &req.version_id {
            let version = VersionId::parse(v)?;
            let was_marker = self.store.head(b.id, &req.key, Some(version)).is_ok_and(|i| i.is_delete_marker);
            match self.store.delete_version(b.id, &req.key, version, condition.as_ref()) {
                Ok(()) | Err(Error::NoSuchVersion { .. }) => {}
                Err(e) => return Err(e),
            }
            return Ok(DeleteObjectOutput { delete_marker: was_marker, version_id: Some(v.clone()) });
        }
        match b.versioning {
            VersioningState::Unversioned => {
                match self.store.delete_version(b.id, &req.key, VersionId::NULL, condition.as_ref()) {
                    Ok(()) | Err(Error::NoSuchVersion { .. }) => Ok(DeleteObjectOutput::default()),
                    Err(e) => Err(e),
                }
            }
            VersioningState::Enabled => {
                let v =
                    self.store.put_delete_marker(b.id, &req.key, NewVersion::Unique, condition.as_ref())?;
                Ok(DeleteObjectOutput { delete_marker: true, version_id: Some(version_string(v)) })
            }
            VersioningState::Suspended => {
                self.store.put_delete_marker(b.id, &req.key, NewVersion::Null, condition.as_ref())?;
                Ok(DeleteObjectOutput { delete_marker: true, version_id: Some("null".into()) })
            }
        }
    }

    /// DeleteObjects: up to 1000 keys, each deleted as [`S3::delete_object`] would; per-key errors are
    /// reported, not raised. Missing keys count as deleted.
    ///
    /// # Errors
    /// `NoSuchBucket`; `MalformedXML` for no keys or more than 1000.
    pub fn delete_objects(&self, req: DeleteObjectsRequest) -> Result<DeleteObjectsOutput> {
        self.bucket(&req.bucket)?;
        if req.objects.is_empty() || req.objects.len() > DELETE_OBJECTS_KEYS_MAX {
            return Err(Error::MalformedXML {
                reason: format!("a delete request names 1 to 1000 keys, this one {}", req.objects.len()),
            });
        }
        let mut out = DeleteObjectsOutput::default();
        for o in req.objects {
            let r = self.delete_object(DeleteObjectRequest {
                bucket: req.bucket.clone(),
                key: o.key.clone(),
                version_id: o.version_id.clone(),
                if_match: o.e_tag.clone(),
            });
            match r {
                Ok(d) => {
                    if !req.quiet {
                        let marker_version = if d.delete_marker { d.version_id.clone() } else { None };
                        out.deleted.push(DeletedObject {
                            key: o.key,
                            version_id: o.version_id,
                            delete_marker: d.delete_marker,
                            delete_marker_version_id: marker_version,
                        });
                    }
                }
                Err(e @ (Error::Io { .. } | Error::PreviousIo | Error::NoSuchBucket { .. })) => {
                    return Err(e);
                }
                Err(e) => out.errors.push(DeleteError {
                    key: o.key,
                    version_id: o.version_id,
                    code: e.code().into(),
                    message: e.to_string(),
                }),
            }
        }
        Ok(out)
    }

    /// CopyObject, within or across buckets, of the current or a given source version.
    ///
    /// # Errors
    /// `InvalidArgument` for a malformed source; the source's `NoSuchBucket` / `NoSuchKey` /
    /// `NoSuchVersion`; `PreconditionFailed` for copy-source conditions; `InvalidRequest` for a copy
    /// onto itself that changes nothing.
    pub fn copy_object(&self, req: CopyObjectRequest) -> Result<CopyObjectOutput> {
        let (src_bucket, src_key, src_version) = parse_copy_source(&req.copy_source)?;
        let dst = self.bucket(&req.bucket)?;
        let src = self.bucket(&src_bucket)?;
        let (info, mut body) =
            self.store.get(src.id, &src_key, &GetOptions { version: src_version, range: None })?;
        let cond = GetObjectRequest {
            bucket: src_bucket.clone(),
            key: src_key.clone(),
            if_match: req.copy_source_if_match.clone(),
            if_none_match: req.copy_source_if_none_match.clone(),
            if_modified_since: req.copy_source_if_modified_since,
            if_unmodified_since: req.copy_source_if_unmodified_since,
            ..GetObjectRequest::default()
        };
        // For copies, every failed source condition is a 412.
        match self.check_read_conditions(&cond, &info) {
            Err(Error::NotModified { bucket, key }) => {
                return Err(Error::PreconditionFailed {
                    bucket,
                    key,
                    condition: "x-amz-copy-source-if-none-match / if-modified-since".into(),
                });
            }
            r => r?,
        }
        let class = match &req.storage_class {
            Some(_) => storage_class(req.storage_class.as_ref())?,
            None => info.storage_class,
        };
        let same = src.id == dst.id && src_key == req.key && src_version.is_none_or(|v| v == info.version_id);
        if same && req.metadata_directive == MetadataDirective::Copy && req.storage_class.is_none() {
            return Err(Error::InvalidRequest {
                reason: "this copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes".into(),
            });
        }
        let (content_type, user, system) = match req.metadata_directive {
            MetadataDirective::Copy => {
                (info.content_type.clone(), info.user_metadata.clone(), info.system_metadata.clone())
            }
            MetadataDirective::Replace => {
                (req.content_type.clone(), rules::normalize_user_metadata(&req.metadata)?, Vec::new())
            }
        };
        let opts = PutOptions {
            version: new_version(dst.versioning),
            content_type,
            user_metadata: user,
            system_metadata: system,
            tags: info.tags.clone(),
            // The same bytes: the source's checksums hold for the copy.
            checksums: info.checksums.clone(),
            storage_class: class,
            content_length: Some(info.size),
            ..PutOptions::default()
        };
        let copied = self.store.put(dst.id, &req.key, &mut body, &opts)?;
        Ok(CopyObjectOutput {
            copy_object_result: CopyObjectResult {
                e_tag: copied.e_tag,
                last_modified: time_of(copied.last_modified_ms),
            },
            version_id: output_version(dst.versioning, copied.version_id),
            copy_source_version_id: (src.versioning != VersioningState::Unversioned)
                .then(|| version_string(info.version_id)),
        })
    }

    // ----- listing -------------------------------------------------------------------------------

    fn owner_of(&self, b: &BucketInfo) -> Owner {
        let a = self.store.account(&b.owner);
        Owner { id: b.owner.clone(), display_name: a.map(|a| a.display_name).unwrap_or_default() }
    }

    fn object_of(
        &self,
        key: Vec<u8>,
        e: &crate::partition::index::IndexEntry,
        owner: Option<&Owner>,
        url: bool,
    ) -> Object {
        let key = key_string(key);
        Object {
            key: if url { rules::url_encode(&key) } else { key },
            last_modified: time_of(e.mtime_ms),
            e_tag: etag_string(&e.etag),
            size: e.size,
            storage_class: e.class,
            owner: owner.cloned(),
        }
    }

    /// ListObjectsV2.
    ///
    /// # Errors
    /// `NoSuchBucket`; `InvalidArgument` for a negative `max_keys` or a forged or foreign token.
    pub fn list_objects_v2(&self, req: ListObjectsV2Request) -> Result<ListObjectsV2Output> {
        let b = self.bucket(&req.bucket)?;
        let max = max_keys(req.max_keys)?;
        let token =
            req.continuation_token.as_deref().map(|t| decode_token(&self.secret(), b.id, t)).transpose()?;
        let prefix = req.prefix.clone().unwrap_or_default();
        let start = match (&token, &req.start_after) {
            (Some((TOKEN_PREFIX, p)), _) => ListStart::AfterPrefix(p),
            (Some((_, k)), _) => ListStart::AfterKey(k),
            (None, Some(s)) => ListStart::AfterKey(s.as_bytes()),
            (None, None) => ListStart::Beginning,
        };
        let q = ListQuery {
            prefix: prefix.as_bytes(),
            delimiter: req.delimiter.as_deref().map(str::as_bytes),
            start,
            max,
            versions: false,
        };
        let (items, truncated) =
            if max == 0 { (Vec::new(), false) } else { self.store.list_items(b.id, &q)? };
        let url = req.encoding_type == Some(EncodingType::Url);
        let owner = req.fetch_owner.then(|| self.owner_of(&b));
        let next_continuation_token = truncated.then(|| match items.last() {
            Some(ListItem::Prefix(p)) => encode_token(&self.secret(), b.id, TOKEN_PREFIX, p),
            Some(ListItem::Entry { key, .. }) => encode_token(&self.secret(), b.id, TOKEN_KEY, key),
            None => unreachable!("a truncated page has items"),
        });
        let (contents, common_prefixes) = self.split_items(items, owner.as_ref(), url);
        let enc = |s: Option<String>| if url { s.map(|s| rules::url_encode(&s)) } else { s };
        Ok(ListObjectsV2Output {
            name: b.name,
            prefix: enc(req.prefix),
            delimiter: enc(req.delimiter),
            max_keys: max as i32,
            key_count: (contents.len() + common_prefixes.len()) as i32,
            contents,
            common_prefixes,
            is_truncated: truncated,
            continuation_token: req.continuation_token,
            next_continuation_token,
            start_after: enc(req.start_after),
            encoding_type: req.encoding_type,
        })
    }

    fn split_items(
        &self,
        items: Vec<ListItem>,
        owner: Option<&Owner>,
        url: bool,
    ) -> (Vec<Object>, Vec<CommonPrefix>) {
        let mut contents = Vec::with_capacity(items.len());
        let mut prefixes = Vec::new();
        for item in items {
            match item {
                ListItem::Entry { key, entry, .. } => {
                    contents.push(self.object_of(key, &entry, owner, url));
                }
                ListItem::Prefix(p) => {
                    let p = key_string(p);
                    prefixes.push(CommonPrefix { prefix: if url { rules::url_encode(&p) } else { p } });
                }
            }
        }
        (contents, prefixes)
    }

    /// ListObjects (v1).
    ///
    /// # Errors
    /// `NoSuchBucket`; `InvalidArgument` for a negative `max_keys`.
    pub fn list_objects(&self, req: ListObjectsRequest) -> Result<ListObjectsOutput> {
        let b = self.bucket(&req.bucket)?;
        let max = max_keys(req.max_keys)?;
        let prefix = req.prefix.clone().unwrap_or_default();
        let start = match &req.marker {
            // A marker that is a common prefix skips the whole prefix, as S3 does.
            Some(m)
                if req
                    .delimiter
                    .as_deref()
                    .is_some_and(|d| !d.is_empty() && m.ends_with(d) && m.starts_with(&prefix)) =>
            {
                ListStart::AfterPrefix(m.as_bytes())
            }
            Some(m) => ListStart::AfterKey(m.as_bytes()),
            None => ListStart::Beginning,
        };
        let q = ListQuery {
            prefix: prefix.as_bytes(),
            delimiter: req.delimiter.as_deref().map(str::as_bytes),
            start,
            max,
            versions: false,
        };
        let (items, truncated) =
            if max == 0 { (Vec::new(), false) } else { self.store.list_items(b.id, &q)? };
        let url = req.encoding_type == Some(EncodingType::Url);
        let owner = self.owner_of(&b);
        let next_marker = (truncated && req.delimiter.is_some()).then(|| match items.last() {
            Some(ListItem::Prefix(p)) | Some(ListItem::Entry { key: p, .. }) => {
                String::from_utf8_lossy(p).into_owned()
            }
            None => String::new(),
        });
        let (contents, common_prefixes) = self.split_items(items, Some(&owner), url);
        Ok(ListObjectsOutput {
            name: b.name,
            prefix: req.prefix,
            delimiter: req.delimiter,
            marker: req.marker,
            next_marker,
            max_keys: max as i32,
            contents,
            common_prefixes,
            is_truncated: truncated,
            encoding_type: req.encoding_type,
        })
    }

    /// ListObjectVersions: keys in byte order, each key's versions newest first, delete markers in
    /// place.
    ///
    /// # Errors
    /// `NoSuchBucket`; `InvalidArgument` for a version-id marker without a key marker, a bad version
    /// id, or a version-id marker that names no version of the key.
    pub fn list_object_versions(&self, req: ListObjectVersionsRequest) -> Result<ListObjectVersionsOutput> {
        let b = self.bucket(&req.bucket)?;
        let max = max_keys(req.max_keys)?;
        let prefix = req.prefix.clone().unwrap_or_default();
        let marker_seq = match (&req.key_marker, &req.version_id_marker) {
            (None, Some(v)) => {
                return Err(Error::InvalidArgument {
                    name: "version-id-marker",
                    value: v.clone(),
                    reason: "a version-id marker cannot be specified without a key marker".into(),
                });
            }
            (Some(k), Some(v)) => Some(self.store.version_seq(b.id, k, VersionId::parse(v)?)?),
            _ => None,
        };
        let start = match (&req.key_marker, marker_seq) {
            (Some(k), Some(seq)) => ListStart::AfterVersion(k.as_bytes(), seq),
            (Some(k), None) => ListStart::AfterKey(k.as_bytes()),
            (None, _) => ListStart::Beginning,
        };
        let q = ListQuery {
            prefix: prefix.as_bytes(),
            delimiter: req.delimiter.as_deref().map(str::as_bytes),
            start,
            max,
            versions: true,
        };
        let (items, truncated) =
            if max == 0 { (Vec::new(), false) } else { self.store.list_items(b.id, &q)? };
        let url = req.encoding_type == Some(EncodingType::Url);
        let owner = self.owner_of(&b);
        let mut entries = Vec::new();
        let mut common_prefixes = Vec::new();
        for item in &items {
            match item {
                ListItem::Entry { key, entry, is_latest, .. } => {
                    let key = String::from_utf8_lossy(key).into_owned();
                    let marker = entry.kind == crate::partition::index::EntryKind::DeleteMarker;
                    entries.push(ObjectVersion {
                        key: if url { rules::url_encode(&key) } else { key },
                        version_id: version_string(entry.version_id),
                        is_latest: *is_latest,
                        last_modified: time_of(entry.mtime_ms),
                        e_tag: if marker { String::new() } else { etag_string(&entry.etag) },
                        size: entry.size,
                        storage_class: entry.class,
                        is_delete_marker: marker,
                        owner: Some(owner.clone()),
                    });
                }
                ListItem::Prefix(p) => {
                    let p = String::from_utf8_lossy(p).into_owned();
                    common_prefixes
                        .push(CommonPrefix { prefix: if url { rules::url_encode(&p) } else { p } });
                }
            }
        }
        let (next_key_marker, next_version_id_marker) = match (truncated, items.last()) {
            (true, Some(ListItem::Entry { key, entry, .. })) => {
                (Some(String::from_utf8_lossy(key).into_owned()), Some(version_string(entry.version_id)))
            }
            (true, Some(ListItem::Prefix(p))) => (Some(String::from_utf8_lossy(p).into_owned()), None),
            _ => (None, None),
        };
        Ok(ListObjectVersionsOutput {
            name: b.name,
            prefix: req.prefix,
            delimiter: req.delimiter,
            max_keys: max as i32,
            key_marker: req.key_marker,
            version_id_marker: req.version_id_marker,
            next_key_marker,
            next_version_id_marker,
            versions: entries.iter().filter(|e| !e.is_delete_marker).cloned().collect(),
            delete_markers: entries.iter().filter(|e| e.is_delete_marker).cloned().collect(),
            entries,
            common_prefixes,
            is_truncated: truncated,
            encoding_type: req.encoding_type,
        })
    }
}

/// A key from the index as a `String`, without copying (keys are UTF-8 by construction).
fn key_string(key: Vec<u8>) -> String {
    String::from_utf8(key).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A reader that feeds every byte it passes through a checksum.
struct HashingReader {
    inner: Box<dyn Read + Send>,
    hasher: Arc<Mutex<checksum::StreamHasher>>,
}

impl Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.lock().update(&buf[..n]);
        Ok(n)
    }
}

/// Opens a request body as a reader, with its length when known.
fn open_body(body: Body) -> Result<(Box<dyn Read + Send>, Option<u64>)> {
    Ok(match body {
        Body::Bytes(b) => {
            let n = b.len() as u64;
            (Box::new(std::io::Cursor::new(b)), Some(n))
        }
        Body::Reader(r) => (r, None),
        Body::File(p) => {
            let f = std::fs::File::open(&p).map_err(|source| Error::BodyRead { source })?;
            let n = f.metadata().map_err(|source| Error::BodyRead { source })?.len();
            (Box::new(std::io::BufReader::with_capacity(1 << 20, f)), Some(n))
        }
    })
}

fn new_version(state: VersioningState) -> NewVersion {
    match state {
        VersioningState::Enabled => NewVersion::Unique,
        VersioningState::Unversioned | VersioningState::Suspended => NewVersion::Null,
    }
}

fn output_version(state: VersioningState, v: VersionId) -> Option<String> {
    (state == VersioningState::Enabled).then(|| version_string(v))
}

/// Parses `bucket/key[?versionId=v]` (a leading `/` allowed, key URL-encoded or not).
fn parse_copy_source(src: &str) -> Result<(String, String, Option<VersionId>)> {
    let bad = || Error::InvalidArgument {
        name: "x-amz-copy-source",
        value: src.to_owned(),
        reason: "copy source must be bucket/key with an optional ?versionId=".into(),
    };
    let s = src.strip_prefix('/').unwrap_or(src);
    let (path, version) = match s.split_once("?versionId=") {
        Some((p, v)) => (p, Some(VersionId::parse(v)?)),
        None => (s, None),
    };
    let (bucket, key) = path.split_once('/').ok_or_else(bad)?;
    if bucket.is_empty() || key.is_empty() {
        return Err(bad());
    }
    let key = percent_decode(key).ok_or_else(bad)?;
    Ok((bucket.to_owned(), key, version))
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(s.get(i + 1..i + 3)?, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_parsing() {
        assert_eq!(parse_copy_source("b/k/x").unwrap(), ("b".into(), "k/x".into(), None));
        assert_eq!(parse_copy_source("/b/a%20b").unwrap(), ("b".into(), "a b".into(), None));
        let v = VersionId([3; 16]);
        assert_eq!(parse_copy_source(&format!("b/k?versionId={v}")).unwrap().2, Some(v));
        for bad in ["b", "/b/", "b/%zz", "b/k?versionId=nope"] {
            assert!(parse_copy_source(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_verify_and_reject_forgery() {
        let secret = [7u8; 16];
        let t = encode_token(&secret, BucketId(3), TOKEN_KEY, b"key/1");
        assert_eq!(decode_token(&secret, BucketId(3), &t).unwrap(), (TOKEN_KEY, b"key/1".to_vec()));
        assert!(decode_token(&secret, BucketId(4), &t).is_err(), "foreign bucket");
        assert!(decode_token(&[8u8; 16], BucketId(3), &t).is_err(), "foreign store");
        let mut forged = t.clone().into_bytes();
        let last = forged.len() - 20;
        forged[last] = if forged[last] == b'0' { b'1' } else { b'0' };
        assert!(decode_token(&secret, BucketId(3), std::str::from_utf8(&forged).unwrap()).is_err());
        assert!(decode_token(&secret, BucketId(3), "zz").is_err());
        assert!(decode_token(&secret, BucketId(3), "").is_err());
    }

    #[test]
    fn etag_matching_accepts_lists_and_stars() {
        assert!(etags_match("\"abc\"", "\"abc\""));
        assert!(etags_match("abc", "\"abc\""));
        assert!(etags_match("\"x\", \"abc\"", "\"abc\""));
        assert!(etags_match("*", "\"abc\""));
        assert!(!etags_match("\"x\"", "\"abc\""));
    }
}
