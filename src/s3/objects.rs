//! Object operations: put, head, get, delete (one and many), copy, and the conditions and
//! versioning rules they apply.

use std::io::Read;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use super::access::BucketAction;
use super::acl::{AclHeaders, Permission};
use super::checksum::{self, ChecksumAlgorithm};
use super::rules::{self, DELETE_OBJECTS_KEYS_MAX};
use super::sse_customer::{
    COPY_SOURCE_HEADERS, OBJECT_HEADERS, SseCustomerHeaders, reported_customer, write_encryption,
};
use super::types::*;
use super::{S3, time_of, version_string};
use crate::engine::body::ByteRange;
use crate::engine::catalog::{BucketInfo, VersioningState};
use crate::engine::crypto::{CustomerKey, EncryptionContext, SseMode};
use crate::engine::options::{
    BodyFinish, Encryption, GetOptions, NewVersion, ObjectInfo, PutOptions, WriteCondition,
};
use crate::error::{Error, Result};
use crate::types::{StorageClass, VersionId};

/// How often a GetObject that named no version re-resolves the key when its version vanishes
/// between lookup and open (a delete or overwrite racing it); past this it answers NoSuchKey.
const GET_RESOLVE_ATTEMPTS: u32 = 8;

const SYSTEM_HEADERS: [&str; 5] =
    ["Content-Encoding", "Content-Disposition", "Content-Language", "Cache-Control", "Expires"];

/// HTTP dates have whole seconds: conditions compare at that granularity, as S3 does.
fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn etags_match(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|h| h == "*" || h.trim_matches('"') == etag.trim_matches('"'))
}

/// The one byte range of a `Range` header that S3 honours; anything else it ignores and serves the
/// whole object (RFC 9110 §14.2: a server may ignore a Range header; S3 serves no multi-range, and a
/// malformed range or another unit is no range): `bytes=0-1,4-5`, `bytes=abc`, `bytes=5-2`,
/// `items=0-1`. A well-formed range past the end stays `InvalidRange` (416).
fn s3_range(header: Option<&str>) -> Option<ByteRange> {
    header.and_then(|h| ByteRange::parse(h).ok())
}

/// GetObject and CopyObject of an archived object that was never restored are 403
/// `InvalidObjectState` (S3 API reference, GetObject: "If the object you are retrieving is stored in
/// the S3 Glacier Flexible Retrieval storage class, the S3 Glacier Deep Archive storage class ...
/// before you can retrieve the object you must first restore a copy"; CopyObject likewise). Restore
/// comes with the tiering issue; until then no archived object is restored. HeadObject is allowed.
pub(super) fn refuse_archived(bucket: &str, key: &str, info: &ObjectInfo) -> Result<()> {
    if info.storage_class.needs_restore() {
        return Err(Error::InvalidObjectState {
            bucket: bucket.into(),
            key: key.into(),
            storage_class: info.storage_class.as_str().into(),
        });
    }
    Ok(())
}

/// What S3 reports for an object stored without a `Content-Type` (S3 user guide, "Working with
/// object metadata", system-defined metadata: S3 stores `binary/octet-stream` when none is given).
pub(super) const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

pub(super) fn storage_class(v: Option<&String>) -> Result<StorageClass> {
    match v {
        None => Ok(StorageClass::Standard),
        Some(s) => {
            StorageClass::parse(s).map_err(|_| Error::InvalidStorageClass { storage_class: s.clone() })
        }
    }
}

/// The engine's sealing for a request's `x-amz-server-side-encryption` and KMS key id.
///
/// # Errors
/// `InvalidArgument` for a KMS key id without `aws:kms` (as S3).
pub(super) fn encryption_of(
    sse: Option<ServerSideEncryption>,
    kms_key: Option<&String>,
) -> Result<Option<Encryption>> {
    match (sse, kms_key) {
        (None, None) => Ok(None),
        (Some(ServerSideEncryption::Aes256), None) => Ok(Some(Encryption::S3)),
        (Some(ServerSideEncryption::AwsKms), None) => Ok(Some(Encryption::KmsDefault)),
        (Some(ServerSideEncryption::AwsKms), Some(k)) => Ok(Some(Encryption::Kms { key: k.clone() })),
        (_, Some(k)) => Err(Error::InvalidArgument {
            name: "x-amz-server-side-encryption-aws-kms-key-id",
            value: k.clone(),
            reason: "a KMS key id needs x-amz-server-side-encryption: aws:kms".into(),
        }),
    }
}

/// The encryption context `x-amz-server-side-encryption-context` carries: the base64 of a UTF-8
/// JSON object whose values are strings (S3's form).
///
/// # Errors
/// `InvalidArgument` naming the header for anything else.
pub(super) fn encryption_context_of(header: Option<&String>) -> Result<Option<EncryptionContext>> {
    use base64::Engine;
    let Some(h) = header else { return Ok(None) };
    let bad = |reason: &str| Error::InvalidArgument {
        name: "x-amz-server-side-encryption-context",
        value: h.clone(),
        reason: format!("the encryption context must be the base64 of a JSON object of strings: {reason}"),
    };
    let bytes =
        base64::engine::general_purpose::STANDARD.decode(h.trim()).map_err(|e| bad(&e.to_string()))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad("not UTF-8"))?;
    let pairs: std::collections::BTreeMap<String, String> =
        serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    Ok(Some(EncryptionContext::new(pairs)))
}

/// The header form of an encryption context (what PutObject, CopyObject and
/// CreateMultipartUpload report): base64 of its JSON object, keys in order; `None` for none.
pub(super) fn encryption_context_header(context: Option<&EncryptionContext>) -> Option<String> {
    use base64::Engine;
    let c = context.filter(|c| !c.is_empty())?;
    let json = serde_json::to_string(c.pairs()).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(json))
}

/// What a version's encryption is reported as: (`x-amz-server-side-encryption`, KMS key id).
pub(super) fn reported_encryption(info: &ObjectInfo) -> (Option<ServerSideEncryption>, Option<String>) {
    reported_sealing(info.encryption.as_ref())
}

/// What a sealing is reported as: (`x-amz-server-side-encryption`, KMS key id).
pub(super) fn reported_sealing(
    enc: Option<&crate::engine::options::EncryptionInfo>,
) -> (Option<ServerSideEncryption>, Option<String>) {
    match enc {
        None => (None, None),
        Some(e) => match e.mode {
            SseMode::S3 => (Some(ServerSideEncryption::Aes256), None),
            SseMode::Kms => (Some(ServerSideEncryption::AwsKms), Some(e.key_id.to_string())),
            SseMode::Customer => (None, None),
        },
    }
}

fn system_get<'a>(info: &'a ObjectInfo, name: &str) -> Option<&'a String> {
    info.system_metadata.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

impl S3 {
    /// PutObject.
    ///
    /// # Errors
    /// `NoSuchBucket`, `KeyTooLongError`, `MetadataTooLarge`, `InvalidTag`, `InvalidStorageClass`,
    /// `NotImplemented` for `If-None-Match` other than `*` or both conditions at once (as S3),
    /// `PreconditionFailed`, `NoSuchKey` for `If-Match` on a key with no current object.
    pub fn put_object(&self, req: PutObjectRequest) -> Result<PutObjectOutput> {
        let b = self.bucket_for(&req.bucket, BucketAction::Write)?;
        let acl = self.new_object_acl(
            &b,
            &AclHeaders::object(
                &req.acl,
                &req.grant_full_control,
                &req.grant_read,
                &req.grant_read_acp,
                &req.grant_write_acp,
            ),
        )?;
        let customer = self.write_customer_key(
            &b,
            req.sse_customer_algorithm.as_ref(),
            req.sse_customer_key.as_ref(),
            req.sse_customer_key_md5.as_ref(),
        )?;
        let encryption =
            write_encryption(customer.as_ref(), req.server_side_encryption, req.ssekms_key_id.as_ref())?;
        let context = encryption_context_of(req.ssekms_encryption_context.as_ref())?;
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
        let system = system_headers([
            &req.content_encoding,
            &req.content_disposition,
            &req.content_language,
            &req.cache_control,
            &req.expires,
        ]);
        let given = given_checksums([
            &req.checksum_crc32,
            &req.checksum_crc32_c,
            &req.checksum_crc64_nvme,
            &req.checksum_sha1,
            &req.checksum_sha256,
        ]);
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
            content_type: Some(req.content_type.unwrap_or_else(|| DEFAULT_CONTENT_TYPE.into())),
            user_metadata: rules::normalize_user_metadata(&req.metadata)?,
            system_metadata: system,
            tags: rules::parse_tagging(req.tagging.as_deref().unwrap_or(""))?,
            storage_class: storage_class(req.storage_class.as_ref())?,
            condition,
            content_length,
            encryption,
            encryption_context: context.clone(),
            acl,
            ..PutOptions::default()
        };
        let if_match = matches!(opts.condition, Some(WriteCondition::IfETagMatches(_)));
        let info = match self.store.put(b.id, &req.key, reader, &opts) {
            // S3 answers a conditional write whose `If-Match` names a key with no current object
            // (none, or a delete marker) with 404 NoSuchKey, a mismatching ETag with 412 (S3 user
            // guide, "Conditional writes"). Checked after the refusal, so a writer racing in
            // between can only turn a 404 into a 412: both store nothing.
            Err(Error::PreconditionFailed { .. })
                if if_match && self.current_object_missing(&b, &req.key) =>
            {
                return Err(Error::NoSuchKey {
                    bucket: req.bucket,
                    key: req.key,
                    delete_marker: false,
                    version_id: None,
                });
            }
            r => r?,
        };
        let stored = stored.lock().clone();
        let (server_side_encryption, ssekms_key_id) = reported_encryption(&info);
        let (sse_customer_algorithm, sse_customer_key_md5) = reported_customer(&info, customer.as_ref());
        Ok(PutObjectOutput {
            e_tag: info.e_tag,
            version_id: output_version(b.versioning, info.version_id),
            checksums: Checksums::from_stored(&stored),
            server_side_encryption,
            ssekms_key_id,
            ssekms_encryption_context: encryption_context_header(context.as_ref()),
            sse_customer_algorithm,
            sse_customer_key_md5,
        })
    }

    fn find(&self, req: &GetObjectRequest) -> Result<(BucketInfo, Option<VersionId>)> {
        let b = self.bucket_for(&req.bucket, BucketAction::Object)?;
        let version = req.version_id.as_deref().map(VersionId::parse).transpose()?;
        Ok((b, version))
    }

    /// The customer key a GET or HEAD sends (SSE-C), checked as S3 checks the headers.
    fn read_customer_key(req: &GetObjectRequest) -> Result<Option<CustomerKey>> {
        SseCustomerHeaders {
            algorithm: req.sse_customer_algorithm.as_ref(),
            key: req.sse_customer_key.as_ref(),
            key_md5: req.sse_customer_key_md5.as_ref(),
            names: &OBJECT_HEADERS,
        }
        .key()
    }

    fn head_of(
        &self,
        b: &BucketInfo,
        info: &ObjectInfo,
        range: Option<(u64, u64)>,
        checksum_mode: bool,
        customer: Option<&CustomerKey>,
    ) -> HeadObjectOutput {
        let (sse_customer_algorithm, sse_customer_key_md5) = reported_customer(info, customer);
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
            server_side_encryption: reported_encryption(info).0,
            ssekms_key_id: reported_encryption(info).1,
            sse_customer_algorithm,
            sse_customer_key_md5,
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
        let not_modified = Err(Error::NotModified {
            bucket: req.bucket.clone(),
            key: req.key.clone(),
            e_tag: info.e_tag.clone(),
            last_modified: time_of(info.last_modified_ms),
        });
        match (&req.if_none_match, req.if_modified_since) {
            (Some(n), _) if etags_match(n, &info.e_tag) => not_modified,
            (None, Some(t)) if modified <= secs(t) => not_modified,
            _ => Ok(()),
        }
    }

    /// True when `key` has no current object (no version, or a delete marker as its newest).
    pub(super) fn current_object_missing(&self, b: &BucketInfo, key: &str) -> bool {
        matches!(self.store.head(b.id, key, None), Err(Error::NoSuchKey { .. }))
    }

    /// The bucket and the version a GET or HEAD reads, once its SSE-C key fits it and its
    /// conditions hold. A delete marker is `MethodNotAllowed` when named by version id, else
    /// `NoSuchKey` carrying the marker's version. The SSE-C key is checked before the conditions,
    /// so a caller without the key learns nothing from a 304 or 412 of its ETag.
    fn readable_version(
        &self,
        req: &GetObjectRequest,
        customer: Option<&CustomerKey>,
    ) -> Result<(BucketInfo, ObjectInfo)> {
        let (b, version) = self.find(req)?;
        let info = self
            .store
            .head(b.id, &req.key, version)
            .map_err(|e| self.read_error(&b, &req.key, version, e))?;
        if info.is_delete_marker {
            let found = match &req.version_id {
                Some(v) => Error::MethodNotAllowed {
                    bucket: req.bucket.clone(),
                    key: req.key.clone(),
                    version_id: v.clone(),
                },
                None => Error::NoSuchKey {
                    bucket: req.bucket.clone(),
                    key: req.key.clone(),
                    delete_marker: true,
                    version_id: Some(version_string(info.version_id)),
                },
            };
            return Err(self.read_error(&b, &req.key, version, found));
        }
        // Who may read comes first: a caller without READ learns nothing from an SSE-C refusal.
        self.check_object(&b, &info, Permission::Read)?;
        info.check_customer_key(&req.bucket, customer)?;
        self.check_read_conditions(req, &info)?;
        Ok((b, info))
    }

    /// HeadObject.
    ///
    /// # Errors
    /// As [`S3::get_object`].
    pub fn head_object(&self, req: HeadObjectRequest) -> Result<HeadObjectOutput> {
        let customer = Self::read_customer_key(&req)?;
        let (b, info) = self.readable_version(&req, customer.as_ref())?;
        let range = s3_range(req.range.as_deref()).map(|r| r.resolve(info.size)).transpose()?;
        Ok(self.head_of(&b, &info, range, req.checksum_mode, customer.as_ref()))
    }

    /// GetObject.
    ///
    /// # Errors
    /// `NoSuchBucket`; `NoSuchKey` (with `delete_marker` when the current version is a marker);
    /// `NoSuchVersion`; `MethodNotAllowed` for a delete marker's version; `InvalidRange`;
    /// `PreconditionFailed` / `NotModified` for conditions; `InvalidArgument` for a bad version id.
    pub fn get_object(&self, req: GetObjectRequest) -> Result<GetObjectOutput> {
        let range = s3_range(req.range.as_deref());
        let customer = Self::read_customer_key(&req)?;
        let mut attempts = 0;
        loop {
            let (b, info) = self.readable_version(&req, customer.as_ref())?;
            refuse_archived(&req.bucket, &req.key, &info)?;
            // The version is resolved (and its conditions checked) by one lookup and opened by a
            // second: a request that named no version and lost its version to a delete or an
            // overwrite in between resolves again, so it answers for the key as it now is (the new
            // current version, or NoSuchKey), never NoSuchVersion for a version it did not name.
            let opts = GetOptions { version: Some(info.version_id), range, customer_key: customer.clone() };
            match self.store.get(b.id, &req.key, &opts) {
                Ok((info, body)) => {
                    // The `null` version keeps its id across overwrites, so what opened may be a
                    // newer object than the one the conditions were checked on: they (and the
                    // archive check) hold for the object returned, or the request fails as it
                    // would have a moment later.
                    self.check_object(&b, &info, Permission::Read)?;
                    self.check_read_conditions(&req, &info)?;
                    refuse_archived(&req.bucket, &req.key, &info)?;
                    let span = range.map(|r| r.resolve(info.size)).transpose()?;
                    return Ok(GetObjectOutput {
                        head: self.head_of(&b, &info, span, req.checksum_mode, customer.as_ref()),
                        body,
                    });
                }
                Err(Error::NoSuchVersion { .. })
                    if req.version_id.is_none() && attempts < GET_RESOLVE_ATTEMPTS =>
                {
                    attempts += 1;
                }
                Err(Error::NoSuchVersion { .. }) if req.version_id.is_none() => {
                    return Err(Error::NoSuchKey {
                        bucket: req.bucket,
                        key: req.key,
                        delete_marker: false,
                        version_id: None,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// DeleteObject, with S3's versioning rules: without a version id, an unversioned bucket removes
    /// the object, an enabled one adds a delete marker, a suspended one replaces the `null` version
    /// with a `null` delete marker; with a version id, that version is removed permanently.
    ///
    /// # Errors
    /// `NoSuchBucket`, `InvalidArgument` for a bad version id, `PreconditionFailed` for `If-Match`.
    pub fn delete_object(&self, req: DeleteObjectRequest) -> Result<DeleteObjectOutput> {
        let b = self.bucket_for(&req.bucket, BucketAction::Write)?;
        // S3's conditional deletes take `If-Match: *` as "the object exists" (user guide,
        // "Conditional deletes"); any other value names an ETag.
        let condition = req.if_match.as_deref().map(|m| match m.trim() {
            "*" => WriteCondition::IfExists,
            etag => WriteCondition::IfETagMatches(etag.to_owned()),
        });
        // A conditional delete of a key with no current object (none, or a delete marker) is 404
        // NoSuchKey in every kind of bucket (user guide, "Conditional deletes": a delete that
        // finds the key gone answers 404). Conditions apply to the current version only, so a
        // delete naming a version is left to the write's own precondition.
        if condition.is_some() && req.version_id.is_none() && self.current_object_missing(&b, &req.key) {
            return Err(Error::NoSuchKey {
                bucket: req.bucket,
                key: req.key,
                delete_marker: false,
                version_id: None,
            });
        }
        if let Some(v) = &req.version_id {
            let version = VersionId::parse(v)?;
            // A permanent delete is s3:DeleteObjectVersion: a bucket ACL's WRITE gives it to the
            // bucket's owner only (S3's ACL permission mapping), never to a grantee.
            if !self.owns(&b) {
                return Err(self.denied(format!(
                    "only the owner of bucket {} may delete a version permanently (s3:DeleteObjectVersion)",
                    b.name
                )));
            }
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
        self.bucket_for(&req.bucket, BucketAction::Object)?;
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
                    message: e.message(),
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
        let source_key = SseCustomerHeaders {
            algorithm: req.copy_source_sse_customer_algorithm.as_ref(),
            key: req.copy_source_sse_customer_key.as_ref(),
            key_md5: req.copy_source_sse_customer_key_md5.as_ref(),
            names: &COPY_SOURCE_HEADERS,
        }
        .key()?;
        let dst = self.bucket_for(&req.bucket, BucketAction::Write)?;
        let acl = self.new_object_acl(
            &dst,
            &AclHeaders::object(
                &req.acl,
                &req.grant_full_control,
                &req.grant_read,
                &req.grant_read_acp,
                &req.grant_write_acp,
            ),
        )?;
        let customer = self.write_customer_key(
            &dst,
            req.sse_customer_algorithm.as_ref(),
            req.sse_customer_key.as_ref(),
            req.sse_customer_key_md5.as_ref(),
        )?;
        // Decrypted by the read, sealed again under a fresh data key as the copy asks (S3 does
        // not carry the source's encryption over).
        let encryption =
            write_encryption(customer.as_ref(), req.server_side_encryption, req.ssekms_key_id.as_ref())?;
        let context = encryption_context_of(req.ssekms_encryption_context.as_ref())?;
        let src = self.bucket_for(&src_bucket, BucketAction::Object)?;
        let read = GetOptions { version: src_version, range: None, customer_key: source_key };
        let (info, mut body) = match self.store.get(src.id, &src_key, &read) {
            // S3 (CopyObject, "Errors"): a source naming a delete marker by version id is a 400.
            Err(Error::NoSuchKey { delete_marker: true, .. }) if src_version.is_some() => {
                return Err(Error::InvalidRequest {
                    reason: "the source of a copy request may not specifically refer to a delete marker by version id"
                        .into(),
                });
            }
            r => r.map_err(|e| self.read_error(&src, &src_key, src_version, e))?,
        };
        self.check_object(&src, &info, Permission::Read)?;
        refuse_archived(&src_bucket, &src_key, &info)?;
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
            Err(Error::NotModified { bucket, key, .. }) => {
                return Err(Error::PreconditionFailed {
                    bucket,
                    key,
                    condition: "x-amz-copy-source-if-none-match / if-modified-since".into(),
                });
            }
            r => r?,
        }
        // S3 stores a copy as STANDARD unless the request names a class (CopyObject,
        // `x-amz-storage-class`: "By default, Amazon S3 uses the STANDARD Storage Class").
        let class = storage_class(req.storage_class.as_ref())?;
        if req.metadata_directive == MetadataDirective::Copy
            && req.storage_class.is_none()
            && req.server_side_encryption.is_none()
            && customer.is_none()
            && copies_onto_itself(&src, &src_key, &info, &dst, &req.key)
        {
            return Err(Error::InvalidRequest {
                reason: "this copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes".into(),
            });
        }
        let (content_type, user, system) = match req.metadata_directive {
            MetadataDirective::Copy => {
                (info.content_type.clone(), info.user_metadata.clone(), info.system_metadata.clone())
            }
            MetadataDirective::Replace => {
                let content_type = req.content_type.clone().unwrap_or_else(|| DEFAULT_CONTENT_TYPE.into());
                (Some(content_type), rules::normalize_user_metadata(&req.metadata)?, Vec::new())
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
            encryption,
            // Not carried over from the source: S3 wants it sent again with the copy.
            encryption_context: context.clone(),
            acl,
            ..PutOptions::default()
        };
        let copied = self.store.put(dst.id, &req.key, &mut body, &opts)?;
        let (server_side_encryption, ssekms_key_id) = reported_encryption(&copied);
        let (sse_customer_algorithm, sse_customer_key_md5) = reported_customer(&copied, customer.as_ref());
        Ok(CopyObjectOutput {
            copy_object_result: CopyObjectResult {
                e_tag: copied.e_tag,
                last_modified: time_of(copied.last_modified_ms),
            },
            version_id: output_version(dst.versioning, copied.version_id),
            copy_source_version_id: (src.versioning != VersioningState::Unversioned)
                .then(|| version_string(info.version_id)),
            server_side_encryption,
            ssekms_key_id,
            ssekms_encryption_context: encryption_context_header(context.as_ref()),
            sse_customer_algorithm,
            sse_customer_key_md5,
        })
    }
}

/// The system headers a request sets, as (name, value), from its `Content-Encoding`,
/// `Content-Disposition`, `Content-Language`, `Cache-Control` and `Expires` fields.
pub(super) fn system_headers(values: [&Option<String>; 5]) -> Vec<(String, String)> {
    SYSTEM_HEADERS
        .iter()
        .zip(values)
        .filter_map(|(name, v)| v.as_ref().map(|v| ((*name).to_owned(), v.clone())))
        .collect()
}

/// The `x-amz-checksum-*` values a request sends, from its CRC32, CRC32C, CRC64NVME, SHA-1 and
/// SHA-256 fields.
pub(super) fn given_checksums(values: [&Option<String>; 5]) -> Vec<(ChecksumAlgorithm, &String)> {
    ChecksumAlgorithm::ALL.into_iter().zip(values).filter_map(|(a, v)| v.as_ref().map(|v| (a, v))).collect()
}

/// A reader that feeds every byte it passes through a checksum.
pub(super) struct HashingReader {
    pub(super) inner: Box<dyn Read + Send>,
    pub(super) hasher: Arc<Mutex<checksum::StreamHasher>>,
}

impl Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.lock().update(&buf[..n]);
        Ok(n)
    }
}

/// Opens a request body as a reader, with its length when known.
pub(super) fn open_body(body: Body) -> Result<(Box<dyn Read + Send>, Option<u64>)> {
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

pub(super) fn new_version(state: VersioningState) -> NewVersion {
    match state {
        VersioningState::Enabled => NewVersion::Unique,
        VersioningState::Unversioned | VersioningState::Suspended => NewVersion::Null,
    }
}

pub(super) fn output_version(state: VersioningState, v: VersionId) -> Option<String> {
    (state == VersioningState::Enabled).then(|| version_string(v))
}

/// Parses `bucket/key[?versionId=v]` (a leading `/` allowed, key URL-encoded or not).
/// Whether a copy would write the destination key's current version over itself: the source is the
/// destination key and the version read (named or not) is its newest. A copy of an older version
/// (or of the `null` version when another is newer) onto its own key is how S3's user guide restores
/// a previous version ("Restoring previous versions": copy it into the same bucket and it becomes
/// the current version), so only the newest version is compared, never the requested one with
/// itself.
fn copies_onto_itself(
    src: &BucketInfo,
    src_key: &str,
    read: &ObjectInfo,
    dst: &BucketInfo,
    dst_key: &str,
) -> bool {
    src.id == dst.id && src_key == dst_key && read.is_latest
}

pub(super) fn parse_copy_source(src: &str) -> Result<(String, String, Option<VersionId>)> {
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
    let key = rules::percent_decode(key).ok_or_else(bad)?;
    Ok((bucket.to_owned(), key, version))
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
    fn etag_matching_accepts_lists_and_stars() {
        assert!(etags_match("\"abc\"", "\"abc\""));
        assert!(etags_match("abc", "\"abc\""));
        assert!(etags_match("\"x\", \"abc\"", "\"abc\""));
        assert!(etags_match("*", "\"abc\""));
        assert!(!etags_match("\"x\"", "\"abc\""));
    }
}
