//! Multipart uploads as S3 has them: create, upload a part (or copy one from an object range),
//! complete with S3's checks and its ETag (`md5(concat(part md5s))-N`), abort, and the two listings.
//! Checksums: each part is verified and stored under the upload's algorithm; completion computes the
//! object's, `FULL_OBJECT` (the CRCs of the parts combined into the CRC of the whole) or `COMPOSITE`
//! (the checksum of the parts' checksums, `-N`).

use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::Mutex;

mod types;

pub use types::*;

use super::access::BucketAction;
use super::acl::{AclHeaders, Permission};
use super::checksum::{self, ChecksumAlgorithm};
use super::objects::{
    DEFAULT_CONTENT_TYPE, HashingReader, given_checksums, new_version, open_body, output_version,
    parse_copy_source, refuse_archived, reported_encryption, reported_sealing, storage_class, system_headers,
};
use super::sse_customer::{
    COPY_SOURCE_HEADERS, OBJECT_HEADERS, customer_key_of, reported_customer_sealing, write_encryption,
};
use super::types::{Body, COMPOSITE_CHECKSUM_FLAG, Checksums};
use super::{S3, rules, time_of};
use crate::engine::body::ByteRange;
use crate::engine::multipart::{CompleteOptions, PartOptions, UploadOptions};
use crate::engine::options::{BodyFinish, GetOptions, WriteCondition};
use crate::error::{Error, Result};
use crate::limits::{LIST_PARTS_MAX, PART_BYTES_MIN};

/// Where the start record keeps the upload's checksum algorithm and type (never shown: removed
/// from the object's system metadata at completion).
const UPLOAD_CHECKSUM_ALGORITHM: &str = "x-s3lite-upload-checksum-algorithm";
const UPLOAD_CHECKSUM_TYPE: &str = "x-s3lite-upload-checksum-type";

fn part_number(n: Option<i32>) -> Result<u32> {
    let n = n.ok_or(Error::MissingParameter { operation: "UploadPart", field: "part_number" })?;
    u32::try_from(n).ok().filter(|n| (1..=10_000).contains(n)).ok_or_else(|| Error::InvalidArgument {
        name: "partNumber",
        value: n.to_string(),
        reason: "part number must be an integer between 1 and 10000, inclusive".into(),
    })
}

fn page_size(v: Option<i32>, name: &'static str) -> Result<usize> {
    match v {
        None => Ok(LIST_PARTS_MAX),
        Some(n) if n < 0 => {
            Err(Error::InvalidArgument { name, value: n.to_string(), reason: "must not be negative".into() })
        }
        Some(n) => Ok((n as usize).min(LIST_PARTS_MAX)),
    }
}

/// The upload's checksum algorithm and type, from its start record's system metadata.
fn upload_checksum(system: &[(String, String)]) -> (ChecksumAlgorithm, ChecksumType) {
    let (alg, kind, _) = upload_checksum_asked(system);
    (alg, kind)
}

/// As [`upload_checksum`], and whether the upload asked for its algorithm (else S3's default,
/// CRC64NVME FULL_OBJECT, under which a part may carry a checksum of any algorithm).
fn upload_checksum_asked(system: &[(String, String)]) -> (ChecksumAlgorithm, ChecksumType, bool) {
    let get = |name: &str| system.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let alg = get(UPLOAD_CHECKSUM_ALGORITHM).and_then(|a| ChecksumAlgorithm::parse(a).ok());
    let kind = get(UPLOAD_CHECKSUM_TYPE).and_then(|t| ChecksumType::parse(t).ok());
    (alg.unwrap_or(ChecksumAlgorithm::Crc64Nvme), kind.unwrap_or(ChecksumType::FullObject), alg.is_some())
}

fn strip_etag(e: &str) -> &str {
    e.trim().trim_matches('"')
}

/// The CRC of `a ‖ b` from the CRCs of each and the length of `b`.
fn crc_combine(alg: ChecksumAlgorithm, a: &[u8], b: &[u8], b_len: u64) -> Vec<u8> {
    let be = |v: &[u8]| v.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
    let (algorithm, width) = match alg {
        ChecksumAlgorithm::Crc32 => (crc_fast::CrcAlgorithm::Crc32IsoHdlc, 4),
        ChecksumAlgorithm::Crc32c => (crc_fast::CrcAlgorithm::Crc32Iscsi, 4),
        _ => (crc_fast::CrcAlgorithm::Crc64Nvme, 8),
    };
    let c = crc_fast::checksum_combine(algorithm, be(a), be(b), b_len);
    c.to_be_bytes()[8 - width..].to_vec()
}

impl S3 {
    /// CreateMultipartUpload.
    ///
    /// # Errors
    /// `NoSuchBucket`, `KeyTooLongError`, `MetadataTooLarge`, `InvalidTag`, `InvalidStorageClass`,
    /// `InvalidRequest` for a checksum type the algorithm does not have (CRC64NVME is
    /// `FULL_OBJECT` only, SHA-1 and SHA-256 `COMPOSITE` only) or a type without an algorithm;
    /// `InvalidArgument` for a KMS key id without `aws:kms`, `KMS.NotFoundException` for a key the
    /// store does not know, `KeyUnavailable` for encryption in a store without keys; for SSE-C,
    /// the header errors of PutObject (`InvalidArgument`, `InvalidEncryptionAlgorithmError`) and
    /// `AccessDenied` when the bucket blocks SSE-C.
    pub fn create_multipart_upload(
        &self,
        req: CreateMultipartUploadRequest,
    ) -> Result<CreateMultipartUploadOutput> {
        let b = self.bucket_for(&req.bucket, BucketAction::Write)?;
        let customer = self.write_customer_key(
            &b,
            req.sse_customer_algorithm.as_ref(),
            req.sse_customer_key.as_ref(),
            req.sse_customer_key_md5.as_ref(),
        )?;
        let encryption =
            write_encryption(customer.as_ref(), req.server_side_encryption, req.ssekms_key_id.as_ref())?;
        let context = super::objects::encryption_context_of(req.ssekms_encryption_context.as_ref())?;
        let kind = req.checksum_type.as_deref().map(ChecksumType::parse).transpose()?;
        let (alg, kind) = match (req.checksum_algorithm, kind) {
            (None, Some(_)) => {
                return Err(Error::InvalidRequest {
                    reason: "x-amz-checksum-type requires x-amz-checksum-algorithm".into(),
                });
            }
            (None, None) => (ChecksumAlgorithm::Crc64Nvme, ChecksumType::FullObject),
            (Some(a @ ChecksumAlgorithm::Crc64Nvme), None | Some(ChecksumType::FullObject)) => {
                (a, ChecksumType::FullObject)
            }
            (
                Some(a @ (ChecksumAlgorithm::Sha1 | ChecksumAlgorithm::Sha256)),
                None | Some(ChecksumType::Composite),
            ) => (a, ChecksumType::Composite),
            (Some(a @ (ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c)), k) => {
                (a, k.unwrap_or(ChecksumType::Composite))
            }
            (Some(a), Some(k)) => {
                return Err(Error::InvalidRequest {
                    reason: format!("the {} checksum type is not supported for {}", k.as_str(), a.as_str()),
                });
            }
        };
        let mut system = system_headers([
            &req.content_encoding,
            &req.content_disposition,
            &req.content_language,
            &req.cache_control,
            &req.expires,
        ]);
        // Kept only when asked for: an upload on S3's default takes parts with any checksum.
        if req.checksum_algorithm.is_some() {
            system.push((UPLOAD_CHECKSUM_ALGORITHM.into(), alg.as_str().into()));
            system.push((UPLOAD_CHECKSUM_TYPE.into(), kind.as_str().into()));
        }
        let opts = UploadOptions {
            content_type: Some(req.content_type.unwrap_or_else(|| DEFAULT_CONTENT_TYPE.into())),
            user_metadata: rules::normalize_user_metadata(&req.metadata)?,
            system_metadata: system,
            tags: rules::parse_tagging(req.tagging.as_deref().unwrap_or(""))?,
            storage_class: storage_class(req.storage_class.as_ref())?,
            durability: None,
            encryption,
            encryption_context: context.clone(),
            acl: self.new_object_acl(
                &b,
                &AclHeaders::object(
                    &req.acl,
                    &req.grant_full_control,
                    &req.grant_read,
                    &req.grant_read_acp,
                    &req.grant_write_acp,
                ),
            )?,
        };
        let started = self.store.create_upload(b.id, &req.key, &opts)?;
        let (server_side_encryption, ssekms_key_id) = reported_sealing(started.encryption.as_ref());
        let (sse_customer_algorithm, sse_customer_key_md5) =
            reported_customer_sealing(started.encryption.as_ref(), customer.as_ref());
        Ok(CreateMultipartUploadOutput {
            bucket: req.bucket,
            key: req.key,
            upload_id: started.upload_id,
            checksum_algorithm: alg,
            checksum_type: kind.as_str().into(),
            server_side_encryption,
            ssekms_key_id,
            ssekms_encryption_context: super::objects::encryption_context_header(context.as_ref()),
            sse_customer_algorithm,
            sse_customer_key_md5,
        })
    }

    /// UploadPart: the part is checked against `Content-MD5` and its checksum header (which must be
    /// of the upload's algorithm) and stored with its checksum under the upload's algorithm.
    ///
    /// # Errors
    /// `NoSuchBucket`, `NoSuchUpload`, `InvalidArgument` (part number), `InvalidRequest` (a checksum
    /// of another algorithm than the upload's), `BadDigest`, `InvalidDigest`, `EntityTooLarge`;
    /// SSE-C: the header errors, `AccessDenied` when the bucket blocks SSE-C, `InvalidRequest`
    /// for an SSE-C upload's part without its key or with another key (or a key sent to an upload
    /// not sealed under one), all before the body is read.
    pub fn upload_part(&self, req: UploadPartRequest) -> Result<UploadPartOutput> {
        let b = self.bucket_for(&req.bucket, BucketAction::Write)?;
        let number = part_number(req.part_number)?;
        let customer = self.write_customer_key(
            &b,
            req.sse_customer_algorithm.as_ref(),
            req.sse_customer_key.as_ref(),
            req.sse_customer_key_md5.as_ref(),
        )?;
        let details = self.store.upload_start(b.id, &req.key, &req.upload_id)?;
        let (alg, _, asked) = upload_checksum_asked(&details.system_metadata);
        let given = given_checksums([
            &req.checksum_crc32,
            &req.checksum_crc32_c,
            &req.checksum_crc64_nvme,
            &req.checksum_sha1,
            &req.checksum_sha256,
        ]);
        // The algorithm the part's own checksum (if any) is verified with.
        let verify = if given.is_empty() && req.checksum_algorithm.is_none() {
            alg
        } else {
            checksum::choose(&given, req.checksum_algorithm)?
        };
        if asked && verify != alg {
            return Err(Error::InvalidRequest {
                reason: format!(
                    "checksum type mismatch occurred, expected checksum type: {}, actual checksum type: {}",
                    alg.as_str().to_ascii_lowercase(),
                    verify.as_str().to_ascii_lowercase()
                ),
            });
        }
        let (reader, content_length) = open_body(req.body)?;
        // The part is stored with the upload's algorithm; on S3's default a part sent with another
        // (boto3 sends CRC32) is verified with that one too.
        let hasher = Arc::new(Mutex::new(checksum::StreamHasher::new(alg)));
        let mut reader: Box<dyn std::io::Read + Send> =
            Box::new(HashingReader { inner: reader, hasher: hasher.clone() });
        let verifier = (verify != alg).then(|| Arc::new(Mutex::new(checksum::StreamHasher::new(verify))));
        if let Some(v) = &verifier {
            reader = Box::new(HashingReader { inner: reader, hasher: v.clone() });
        }
        let given_value = given.first().map(|(_, v)| (*v).clone());
        let content_md5 = req.content_md5.clone();
        let finish = BodyFinish(Arc::new(move |md5: &[u8; 16]| {
            let sum = hasher.lock().finish();
            match &verifier {
                Some(v) => checksum::check(
                    verify,
                    &v.lock().finish(),
                    given_value.as_ref(),
                    content_md5.as_ref(),
                    md5,
                )?,
                None => checksum::check(alg, &sum, given_value.as_ref(), content_md5.as_ref(), md5)?,
            }
            Ok(vec![(alg.code(), sum)])
        }));
        let opts = PartOptions {
            content_length,
            finish: Some(finish),
            durability: None,
            customer_key: customer.clone(),
        };
        let info = self.store.upload_part(b.id, &req.key, &req.upload_id, number, reader, &opts)?;
        let (server_side_encryption, ssekms_key_id) = reported_sealing(details.encryption.as_ref());
        let (sse_customer_algorithm, sse_customer_key_md5) =
            reported_customer_sealing(details.encryption.as_ref(), customer.as_ref());
        Ok(UploadPartOutput {
            e_tag: info.e_tag,
            checksums: Checksums::from_stored(&info.checksums),
            server_side_encryption,
            ssekms_key_id,
            sse_customer_algorithm,
            sse_customer_key_md5,
        })
    }

    /// UploadPartCopy: a part from an object (or a byte range of it).
    ///
    /// # Errors
    /// As [`S3::upload_part`], plus the source's `NoSuchKey`, `NoSuchVersion`, `InvalidObjectState`,
    /// `InvalidArgument` for a malformed `x-amz-copy-source-range` or one past the source's end;
    /// an SSE-C source read without its key (the `x-amz-copy-source-server-side-encryption-customer-*`
    /// headers) or with another is refused as CopyObject's source is, and the destination's key
    /// is checked as UploadPart checks it.
    pub fn upload_part_copy(&self, req: UploadPartCopyRequest) -> Result<UploadPartCopyOutput> {
        let (src_bucket, src_key, src_version) = parse_copy_source(&req.copy_source)?;
        // Both sides' headers are checked before anything is read.
        let source_key = customer_key_of(
            req.copy_source_sse_customer_algorithm.as_ref(),
            req.copy_source_sse_customer_key.as_ref(),
            req.copy_source_sse_customer_key_md5.as_ref(),
            &COPY_SOURCE_HEADERS,
        )?;
        // The destination's headers are checked (and the block applied) here, before the source
        // is read; `upload_part` takes them again to seal the part.
        self.write_customer_key(
            &self.bucket_for(&req.bucket, BucketAction::Write)?,
            req.sse_customer_algorithm.as_ref(),
            req.sse_customer_key.as_ref(),
            req.sse_customer_key_md5.as_ref(),
        )?;
        let src = self.bucket_for(&src_bucket, BucketAction::Object)?;
        let range = match &req.copy_source_range {
            None => None,
            Some(r) => Some(parse_copy_range(r)?),
        };
        let head = self
            .store
            .head(src.id, &src_key, src_version)
            .map_err(|e| self.read_error(&src, &src_key, src_version, e))?;
        self.check_object(&src, &head, Permission::Read)?;
        refuse_archived(&src_bucket, &src_key, &head)?;
        if let Some((_, last)) = range
            && last >= head.size
        {
            return Err(Error::InvalidArgument {
                name: "x-amz-copy-source-range",
                value: req.copy_source_range.clone().unwrap_or_default(),
                reason: format!("the range is outside the source object ({} bytes)", head.size),
            });
        }
        let get = GetOptions {
            version: Some(head.version_id),
            range: range.map(|(first, last)| ByteRange::Inclusive(first, last)),
            customer_key: source_key,
        };
        let (info, body) = self.store.get(src.id, &src_key, &get)?;
        // A `null` version rewritten since the lookup keeps its id: the version opened is checked
        // too, as GetObject does.
        self.check_object(&src, &info, Permission::Read)?;
        let out = self.upload_part(UploadPartRequest {
            bucket: req.bucket,
            key: req.key,
            upload_id: req.upload_id,
            part_number: req.part_number,
            body: Body::Reader(Box::new(body)),
            sse_customer_algorithm: req.sse_customer_algorithm,
            sse_customer_key: req.sse_customer_key,
            sse_customer_key_md5: req.sse_customer_key_md5,
            ..UploadPartRequest::default()
        })?;
        Ok(UploadPartCopyOutput {
            copy_part_result: CopyPartResult {
                e_tag: out.e_tag,
                last_modified: SystemTime::now(),
                checksums: out.checksums,
            },
            copy_source_version_id: (src.versioning != crate::engine::catalog::VersioningState::Unversioned)
                .then(|| super::version_string(info.version_id)),
            server_side_encryption: out.server_side_encryption,
            ssekms_key_id: out.ssekms_key_id,
            sse_customer_algorithm: out.sse_customer_algorithm,
            sse_customer_key_md5: out.sse_customer_key_md5,
        })
    }

    /// CompleteMultipartUpload.
    ///
    /// # Errors
    /// `NoSuchBucket`, `NoSuchUpload`, `MalformedXML` (no parts), `InvalidPartOrder`, `InvalidPart`
    /// (a part not uploaded, an ETag or checksum that differs), `EntityTooSmall` (a part but the
    /// last under 5 MiB), `PreconditionFailed`, `NotImplemented` for conditions S3 does not take;
    /// an SSE-C upload completes without its key (as in S3), and a key sent must be the
    /// upload's (`InvalidRequest` otherwise).
    pub fn complete_multipart_upload(
        &self,
        req: CompleteMultipartUploadRequest,
    ) -> Result<CompleteMultipartUploadOutput> {
        let b = self.bucket_for(&req.bucket, BucketAction::Write)?;
        let customer = customer_key_of(
            req.sse_customer_algorithm.as_ref(),
            req.sse_customer_key.as_ref(),
            req.sse_customer_key_md5.as_ref(),
            &OBJECT_HEADERS,
        )?;
        let condition = match (&req.if_none_match, &req.if_match) {
            (None, None) => None,
            (Some(n), None) if n.trim() == "*" => Some(WriteCondition::IfAbsent),
            (None, Some(m)) if m.trim() != "*" => Some(WriteCondition::IfETagMatches(m.clone())),
            _ => {
                return Err(Error::NotImplemented {
                    what: "conditional CompleteMultipartUpload other than If-None-Match: * or If-Match: <etag>",
                });
            }
        };
        let listed = req.multipart_upload.as_ref().map(|m| m.parts.as_slice()).unwrap_or_default();
        if listed.is_empty() {
            return Err(Error::MalformedXML {
                reason: "CompleteMultipartUpload needs at least one part".into(),
            });
        }
        // Only the named parts' records are read here (the engine's commit reads them once more,
        // under the partition's rewrite lock, and checks their MD5s against these ETags: a part
        // re-uploaded in between fails the completion rather than slipping into it).
        let named: Vec<u32> =
            listed.iter().filter_map(|p| p.part_number.and_then(|n| u32::try_from(n).ok())).collect();
        let details = self.store.upload_numbered(b.id, &req.key, &req.upload_id, &named)?;
        let (alg, kind) = upload_checksum(&details.system_metadata);
        // S3's order of checks: the list's order, then each part's existence and ETag, then sizes.
        let mut numbers: Vec<u32> = Vec::with_capacity(listed.len());
        for p in listed {
            let n =
                p.part_number.ok_or(Error::MalformedXML { reason: "a part without PartNumber".into() })?;
            let n = u32::try_from(n).map_err(|_| Error::InvalidPart {
                part_number: 0,
                reason: format!("part number {n} is not a part of this upload"),
            })?;
            if let Some(&prev) = numbers.last()
                && n <= prev
            {
                return Err(Error::InvalidPartOrder { part_number: n, previous: prev });
            }
            numbers.push(n);
        }
        let mut parts = Vec::with_capacity(listed.len());
        for (p, &n) in listed.iter().zip(&numbers) {
            let stored = details
                .parts
                .binary_search_by_key(&n, |s| s.part_number)
                .ok()
                .map(|i| &details.parts[i])
                .ok_or_else(|| Error::InvalidPart {
                    part_number: n,
                    reason:
                        "one or more of the specified parts could not be found: the part may not have been \
                         uploaded, or the specified entity tag may not match the part's entity tag"
                            .into(),
                })?;
            if let Some(e) = &p.e_tag
                && strip_etag(e) != strip_etag(&stored.e_tag)
            {
                return Err(Error::InvalidPart {
                    part_number: n,
                    reason: format!("ETag {e} does not match the part's"),
                });
            }
            let given = Checksums::from_stored(&stored.checksums);
            for (mine, theirs) in [
                (&given.checksum_crc32, &p.checksums.checksum_crc32),
                (&given.checksum_crc32_c, &p.checksums.checksum_crc32_c),
                (&given.checksum_crc64_nvme, &p.checksums.checksum_crc64_nvme),
                (&given.checksum_sha1, &p.checksums.checksum_sha1),
                (&given.checksum_sha256, &p.checksums.checksum_sha256),
            ] {
                if let Some(t) = theirs
                    && mine.as_deref() != Some(t.as_str())
                {
                    return Err(Error::InvalidPart {
                        part_number: n,
                        reason: "checksum does not match the part's".into(),
                    });
                }
            }
            parts.push(stored.clone());
        }
        if let Some(p) = parts[..parts.len() - 1].iter().find(|p| p.size < PART_BYTES_MIN) {
            return Err(Error::EntityTooSmall {
                part_number: p.part_number,
                size: p.size,
                min: PART_BYTES_MIN,
            });
        }
        let raw = |p: &crate::engine::multipart::PartInfo| {
            p.checksums.iter().find(|(c, _)| *c == alg.code()).map(|(_, v)| v.clone()).unwrap_or_default()
        };
        let checksum = match kind {
            ChecksumType::Composite => {
                let all: Vec<u8> = parts.iter().flat_map(raw).collect();
                let text = format!("{}-{}", checksum::encode(&alg.compute(&all)), parts.len());
                (alg.code() | COMPOSITE_CHECKSUM_FLAG, text.into_bytes())
            }
            ChecksumType::FullObject => {
                let mut crc = raw(&parts[0]);
                for p in &parts[1..] {
                    crc = crc_combine(alg, &crc, &raw(p), p.size);
                }
                (alg.code(), crc)
            }
        };
        let system: Vec<(String, String)> = details
            .system_metadata
            .iter()
            .filter(|(k, _)| k != UPLOAD_CHECKSUM_ALGORITHM && k != UPLOAD_CHECKSUM_TYPE)
            .cloned()
            .collect();
        let opts = CompleteOptions {
            version: new_version(b.versioning),
            condition,
            checksums: vec![checksum.clone()],
            system_metadata: Some(system),
            durability: None,
            customer_key: customer,
        };
        // The MD5s of the parts read above: the checksums were computed from these very parts.
        let chosen: Vec<(u32, Option<[u8; 16]>)> =
            parts.iter().map(|p| (p.part_number, Some(p.md5))).collect();
        let if_match = matches!(opts.condition, Some(WriteCondition::IfETagMatches(_)));
        let info = match self.store.complete_upload(b.id, &req.key, &req.upload_id, &chosen, &opts) {
            // As PutObject: `If-Match` on a key with no current object is 404 NoSuchKey.
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
        let (server_side_encryption, ssekms_key_id) = reported_encryption(&info);
        Ok(CompleteMultipartUploadOutput {
            location: format!("/{}/{}", req.bucket, rules::url_encode(&req.key)),
            bucket: req.bucket,
            key: req.key,
            e_tag: info.e_tag,
            version_id: output_version(b.versioning, info.version_id),
            checksums: Checksums::from_stored(&[checksum]),
            server_side_encryption,
            ssekms_key_id,
        })
    }

    /// AbortMultipartUpload.
    ///
    /// # Errors
    /// `NoSuchBucket`, `NoSuchUpload`.
    pub fn abort_multipart_upload(&self, req: AbortMultipartUploadRequest) -> Result<()> {
        let b = self.bucket_for(&req.bucket, BucketAction::Write)?;
        self.store.abort_upload(b.id, &req.key, &req.upload_id)
    }

    /// ListParts.
    ///
    /// # Errors
    /// `NoSuchBucket`, `NoSuchUpload`, `InvalidArgument` for a negative page size or marker.
    pub fn list_parts(&self, req: ListPartsRequest) -> Result<ListPartsOutput> {
        let b = self.bucket_for(&req.bucket, BucketAction::List)?;
        let max = page_size(req.max_parts, "max-parts")?;
        let marker = match req.part_number_marker {
            None => 0,
            Some(n) => u32::try_from(n).map_err(|_| Error::InvalidArgument {
                name: "part-number-marker",
                value: n.to_string(),
                reason: "must not be negative".into(),
            })?,
        };
        let details = self.store.upload_parts(b.id, &req.key, &req.upload_id, marker, max + 1)?;
        let (alg, kind) = upload_checksum(&details.system_metadata);
        let after: Vec<_> = details.parts.iter().collect();
        let is_truncated = after.len() > max;
        let parts: Vec<Part> = after
            .into_iter()
            .take(max)
            .map(|p| Part {
                part_number: p.part_number as i32,
                e_tag: p.e_tag.clone(),
                size: p.size,
                last_modified: time_of(p.last_modified_ms),
                checksums: Checksums { checksum_type: None, ..Checksums::from_stored(&p.checksums) },
            })
            .collect();
        Ok(ListPartsOutput {
            next_part_number_marker: if is_truncated { parts.last().map(|p| p.part_number) } else { None },
            bucket: req.bucket,
            key: req.key,
            upload_id: req.upload_id,
            parts,
            is_truncated,
            max_parts: max as i32,
            storage_class: details.storage_class,
            owner: self.owner_of(&b),
            checksum_algorithm: Some(alg),
            checksum_type: Some(kind.as_str().into()),
        })
    }

    /// ListMultipartUploads: uploads in progress in key order (one key's in the order they
    /// began), with prefix, delimiter and markers as ListObjects has them.
    ///
    /// # Errors
    /// `NoSuchBucket`, `InvalidArgument` for a negative page size.
    pub fn list_multipart_uploads(
        &self,
        req: ListMultipartUploadsRequest,
    ) -> Result<ListMultipartUploadsOutput> {
        let b = self.bucket_for(&req.bucket, BucketAction::List)?;
        let max = page_size(req.max_uploads, "max-uploads")?;
        let prefix = req.prefix.clone().unwrap_or_default();
        let delimiter = req.delimiter.clone().filter(|d| !d.is_empty());
        let owner = self.owner_of(&b);
        let mut key_marker = req.key_marker.clone().unwrap_or_default();
        // A common prefix given back as the marker (S3's NextKeyMarker after one) skips every key
        // under it, not only the prefix itself.
        if let Some(d) = &delimiter
            && key_marker.len() > prefix.len()
            && key_marker.starts_with(&prefix)
            && key_marker.ends_with(d.as_str())
        {
            key_marker.push(char::MAX);
        }
        let mut upload_marker = if key_marker.is_empty() { None } else { req.upload_id_marker.clone() };
        let mut uploads = Vec::new();
        let mut common_prefixes: Vec<String> = Vec::new();
        let mut is_truncated = false;
        let mut last: Option<(String, Option<String>)> = None;
        'pages: loop {
            let (page, more) =
                self.store.list_uploads(b.id, &prefix, &key_marker, upload_marker.as_deref(), max.max(1))?;
            for u in &page {
                let grouped = delimiter.as_ref().and_then(|d| {
                    u.key[prefix.len()..]
                        .find(d.as_str())
                        .map(|at| u.key[..prefix.len() + at + d.len()].to_owned())
                });
                if grouped.is_some() && common_prefixes.last() == grouped.as_ref() {
                    continue;
                }
                if uploads.len() + common_prefixes.len() == max {
                    is_truncated = true;
                    break 'pages;
                }
                match grouped {
                    Some(p) => {
                        common_prefixes.push(p.clone());
                        last = Some((p, None));
                    }
                    None => {
                        uploads.push(MultipartUpload {
                            key: u.key.clone(),
                            upload_id: u.upload_id.clone(),
                            initiated: time_of(u.initiated_ms),
                            storage_class: u.storage_class,
                            owner: owner.clone(),
                        });
                        last = Some((u.key.clone(), Some(u.upload_id.clone())));
                    }
                }
            }
            if !more || page.is_empty() {
                break;
            }
            // Past a common prefix, every key under it is skipped at once.
            match &last {
                Some((k, None)) => {
                    let mut past = k.clone();
                    past.push(char::MAX);
                    (key_marker, upload_marker) = (past, None);
                }
                Some((k, Some(u))) => (key_marker, upload_marker) = (k.clone(), Some(u.clone())),
                None => break,
            }
            if max == 0 {
                is_truncated = more;
                break;
            }
        }
        let (next_key_marker, next_upload_id_marker) = match (is_truncated, last) {
            (true, Some((k, u))) => (Some(k), u),
            _ => (None, None),
        };
        // With encoding-type=url S3 encodes Delimiter, KeyMarker, Prefix, NextKeyMarker and Key
        // (ListMultipartUploads, "EncodingType").
        let url = req.encoding_type == Some(crate::s3::types::EncodingType::Url);
        let enc = |s: String| if url { rules::url_encode(&s) } else { s };
        for u in &mut uploads {
            u.key = enc(std::mem::take(&mut u.key));
        }
        Ok(ListMultipartUploadsOutput {
            bucket: req.bucket,
            uploads,
            common_prefixes: common_prefixes.into_iter().map(enc).collect(),
            is_truncated,
            next_key_marker: next_key_marker.map(enc),
            next_upload_id_marker,
            max_uploads: max as i32,
            prefix: req.prefix.map(enc),
            delimiter: req.delimiter.map(enc),
            key_marker: req.key_marker.map(enc),
            upload_id_marker: req.upload_id_marker,
            encoding_type: req.encoding_type,
        })
    }
}

/// Parses `bytes=first-last` (both required, first ≤ last), as UploadPartCopy takes it.
fn parse_copy_range(r: &str) -> Result<(u64, u64)> {
    let bad = || Error::InvalidArgument {
        name: "x-amz-copy-source-range",
        value: r.to_owned(),
        reason:
            "the x-amz-copy-source-range value must be of the form bytes=first-last where first and last \
                 are the zero-based offsets of the first and last bytes to copy"
                .into(),
    };
    let (first, last) = r.strip_prefix("bytes=").and_then(|s| s.split_once('-')).ok_or_else(bad)?;
    let (first, last) = (first.parse::<u64>().map_err(|_| bad())?, last.parse::<u64>().map_err(|_| bad())?);
    if first > last {
        return Err(bad());
    }
    Ok((first, last))
}
