//! Object operations: PutObject (streamed in, checksums verified), GetObject (streamed out),
//! HeadObject, DeleteObject, DeleteObjects, CopyObject.

use s3lite::ChecksumAlgorithm;
use s3lite::s3::types as t;
use s3s::dto;
use s3s::dto::TimestampFormat;
use s3s::{S3Request, S3Response, S3Result};

use super::{StoreS3, copy_source, etag, etag_condition, run, system_time, ts, with_request_id};
use crate::body::{TrailerChecked, blocking_reader, declared_length, streaming_body};
use crate::server::RequestId;

pub(crate) fn http_date(t: &dto::Timestamp) -> Option<String> {
    let mut buf = Vec::new();
    t.format(TimestampFormat::HttpDate, &mut buf).ok()?;
    String::from_utf8(buf).ok()
}

fn parse_http_date(s: &str) -> Option<dto::Timestamp> {
    dto::Timestamp::parse(TimestampFormat::HttpDate, s).ok()
}

fn metadata_map(pairs: &[(String, String)]) -> Option<dto::Metadata> {
    (!pairs.is_empty()).then(|| pairs.iter().cloned().collect())
}

pub(super) fn metadata_pairs(m: Option<&dto::Metadata>) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> =
        m.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
    pairs.sort();
    pairs
}

/// The checksum header an aws-chunked trailer will carry (`x-amz-trailer`), and its algorithm.
pub(super) fn trailer_checksum(headers: &http::HeaderMap) -> S3Result<Option<(ChecksumAlgorithm, String)>> {
    let Some(v) = headers.get("x-amz-trailer") else { return Ok(None) };
    let name = v.to_str().unwrap_or_default().trim().to_ascii_lowercase();
    let Some(alg) = name.strip_prefix("x-amz-checksum-") else {
        return Err(s3s::s3_error!(InvalidRequest, "unsupported x-amz-trailer: {name}"));
    };
    let alg = ChecksumAlgorithm::parse(alg).map_err(|e| crate::to_s3_error(&e))?;
    if headers.keys().any(|k| k.as_str().starts_with("x-amz-checksum-")) {
        return Err(s3s::s3_error!(
            InvalidRequest,
            "Expecting a single x-amz-checksum- header; x-amz-trailer and an x-amz-checksum- header were both sent"
        ));
    }
    Ok(Some((alg, name)))
}

pub(super) async fn put_object(
    ops: &StoreS3,
    mut req: S3Request<dto::PutObjectInput>,
) -> S3Result<S3Response<dto::PutObjectOutput>> {
    let rid = req.extensions.get::<RequestId>().cloned().unwrap_or_else(RequestId::new);
    let trailer = trailer_checksum(&req.headers).map_err(|e| with_request_id(e, &rid))?;
    let i = &mut req.input;
    let server_side_encryption =
        sse_of(i.server_side_encryption.as_ref()).map_err(|e| with_request_id(e, &rid))?;
    let body = blocking_reader(i.body.take(), ops.body_idle_timeout);
    let mut body =
        declared_length(body, i.content_length).map_err(|e| with_request_id(crate::to_s3_error(&e), &rid))?;
    let mut checksum_algorithm = i
        .checksum_algorithm
        .as_ref()
        .map(|a| ChecksumAlgorithm::parse(a.as_str()))
        .transpose()
        .map_err(|e| with_request_id(crate::to_s3_error(&e), &rid))?;
    if let (Some((alg, header)), Some(trailers)) = (trailer, req.trailing_headers.clone()) {
        body = Box::new(TrailerChecked::new(body, alg, trailers, header));
        checksum_algorithm = Some(alg);
    }
    let r = t::PutObjectRequest {
        acl: i.acl.as_ref().map(|a| a.as_str().to_owned()),
        grant_full_control: i.grant_full_control.clone(),
        grant_read: i.grant_read.clone(),
        grant_read_acp: i.grant_read_acp.clone(),
        grant_write_acp: i.grant_write_acp.clone(),
        bucket: i.bucket.clone(),
        key: i.key.clone(),
        body: t::Body::Reader(body),
        content_type: i.content_type.clone(),
        content_encoding: i.content_encoding.clone(),
        content_disposition: i.content_disposition.clone(),
        content_language: i.content_language.clone(),
        cache_control: i.cache_control.clone(),
        expires: i.expires.as_ref().and_then(http_date),
        metadata: metadata_pairs(i.metadata.as_ref()),
        tagging: i.tagging.clone(),
        storage_class: i.storage_class.as_ref().map(|s| s.as_str().to_owned()),
        if_none_match: i.if_none_match.as_ref().map(etag_condition),
        if_match: i.if_match.as_ref().map(etag_condition),
        content_md5: i.content_md5.clone(),
        checksum_algorithm,
        checksum_crc32: i.checksum_crc32.clone(),
        checksum_crc32_c: i.checksum_crc32c.clone(),
        checksum_crc64_nvme: i.checksum_crc64nvme.clone(),
        checksum_sha1: i.checksum_sha1.clone(),
        checksum_sha256: i.checksum_sha256.clone(),
        server_side_encryption,
        ssekms_key_id: i.ssekms_key_id.clone(),
        ssekms_encryption_context: i.ssekms_encryption_context.clone(),
        sse_customer_algorithm: i.sse_customer_algorithm.clone(),
        sse_customer_key: i.sse_customer_key.as_ref().map(t::SseCustomerKey::from),
        sse_customer_key_md5: i.sse_customer_key_md5.clone(),
    };
    run(
        ops,
        &req,
        move |s3| s3.put_object(r),
        |o| {
            let c = o.checksums;
            S3Response::new(dto::PutObjectOutput {
                e_tag: etag(&o.e_tag),
                version_id: o.version_id,
                checksum_crc32: c.checksum_crc32,
                checksum_crc32c: c.checksum_crc32_c,
                checksum_crc64nvme: c.checksum_crc64_nvme,
                checksum_sha1: c.checksum_sha1,
                checksum_sha256: c.checksum_sha256,
                checksum_type: c.checksum_type.map(dto::ChecksumType::from),
                server_side_encryption: sse_out(o.server_side_encryption),
                ssekms_key_id: o.ssekms_key_id,
                ssekms_encryption_context: o.ssekms_encryption_context,
                sse_customer_algorithm: o.sse_customer_algorithm,
                sse_customer_key_md5: o.sse_customer_key_md5,
                ..Default::default()
            })
        },
    )
    .await
}

/// The S3 layer's `x-amz-server-side-encryption` from the header's value.
pub(super) fn sse_of(v: Option<&dto::ServerSideEncryption>) -> S3Result<Option<t::ServerSideEncryption>> {
    v.map(|v| t::ServerSideEncryption::parse(v.as_str())).transpose().map_err(|e| crate::to_s3_error(&e))
}

/// The response header's value.
pub(super) fn sse_out(v: Option<t::ServerSideEncryption>) -> Option<dto::ServerSideEncryption> {
    v.map(|v| dto::ServerSideEncryption::from(v.as_str().to_owned()))
}

/// The S3 layer's GetObject/HeadObject request from an s3s GetObjectInput or HeadObjectInput
/// (the same fields).
macro_rules! get_request {
    ($i:expr) => {
        t::GetObjectRequest {
            bucket: $i.bucket.clone(),
            key: $i.key.clone(),
            version_id: $i.version_id.clone(),
            range: $i.range.as_ref().map(dto::Range::to_header_string),
            if_match: $i.if_match.as_ref().map(etag_condition),
            if_none_match: $i.if_none_match.as_ref().map(etag_condition),
            if_modified_since: $i.if_modified_since.clone().map(system_time),
            if_unmodified_since: $i.if_unmodified_since.clone().map(system_time),
            checksum_mode: $i
                .checksum_mode
                .as_ref()
                .is_some_and(|m| m.as_str().eq_ignore_ascii_case(dto::ChecksumMode::ENABLED)),
            sse_customer_algorithm: $i.sse_customer_algorithm.clone(),
            sse_customer_key: $i.sse_customer_key.as_ref().map(t::SseCustomerKey::from),
            sse_customer_key_md5: $i.sse_customer_key_md5.clone(),
        }
    };
}

/// The `response-*` query overrides of a GET or HEAD.
struct Overrides {
    cache_control: Option<String>,
    content_disposition: Option<String>,
    content_encoding: Option<String>,
    content_language: Option<String>,
    content_type: Option<String>,
    expires: Option<dto::Timestamp>,
}

/// The fields GetObject and HeadObject share, from the S3 layer's head.
struct Head {
    content_length: i64,
    content_range: Option<String>,
    e_tag: Option<dto::ETag>,
    last_modified: dto::Timestamp,
    version_id: Option<String>,
    content_type: Option<String>,
    content_encoding: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    expires: Option<dto::Timestamp>,
    metadata: Option<dto::Metadata>,
    storage_class: Option<dto::StorageClass>,
    tag_count: Option<i32>,
    checksums: t::Checksums,
    server_side_encryption: Option<dto::ServerSideEncryption>,
    ssekms_key_id: Option<String>,
    sse_customer_algorithm: Option<String>,
    sse_customer_key_md5: Option<String>,
}

fn head_fields(h: &t::HeadObjectOutput, o: Overrides) -> Head {
    Head {
        content_length: i64::try_from(h.content_length).unwrap_or(i64::MAX),
        content_range: h.content_range.clone(),
        e_tag: etag(&h.e_tag),
        last_modified: ts(h.last_modified),
        version_id: h.version_id.clone(),
        content_type: o.content_type.or_else(|| h.content_type.clone()),
        content_encoding: o.content_encoding.or_else(|| h.content_encoding.clone()),
        content_disposition: o.content_disposition.or_else(|| h.content_disposition.clone()),
        content_language: o.content_language.or_else(|| h.content_language.clone()),
        cache_control: o.cache_control.or_else(|| h.cache_control.clone()),
        expires: o.expires.or_else(|| h.expires.as_deref().and_then(parse_http_date)),
        metadata: metadata_map(&h.metadata),
        storage_class: h.storage_class.map(|c| dto::StorageClass::from(c.as_str().to_owned())),
        server_side_encryption: sse_out(h.server_side_encryption),
        ssekms_key_id: h.ssekms_key_id.clone(),
        sse_customer_algorithm: h.sse_customer_algorithm.clone(),
        sse_customer_key_md5: h.sse_customer_key_md5.clone(),
        tag_count: (h.tag_count > 0).then(|| i32::try_from(h.tag_count).unwrap_or(i32::MAX)),
        checksums: h.checksums.clone(),
    }
}

pub(super) async fn get_object(
    ops: &StoreS3,
    req: S3Request<dto::GetObjectInput>,
) -> S3Result<S3Response<dto::GetObjectOutput>> {
    let i = &req.input;
    if i.part_number.is_some() {
        return Err(s3s::s3_error!(NotImplemented, "GetObject by partNumber comes with multipart uploads"));
    }
    let r = get_request!(i);
    let o = Overrides {
        cache_control: i.response_cache_control.clone(),
        content_disposition: i.response_content_disposition.clone(),
        content_encoding: i.response_content_encoding.clone(),
        content_language: i.response_content_language.clone(),
        content_type: i.response_content_type.clone(),
        expires: i.response_expires.clone(),
    };
    run(
        ops,
        &req,
        move |s3| s3.get_object(r),
        move |out| {
            let len = out.head.content_length;
            let h = head_fields(&out.head, o);
            let c = h.checksums;
            let ranged = h.content_range.is_some();
            let mut resp = S3Response::new(dto::GetObjectOutput {
                accept_ranges: Some("bytes".into()),
                body: Some(streaming_body(out.body, len, ops.body_idle_timeout)),
                content_length: Some(h.content_length),
                content_range: h.content_range,
                e_tag: h.e_tag,
                last_modified: Some(h.last_modified),
                version_id: h.version_id,
                content_type: h.content_type,
                content_encoding: h.content_encoding,
                content_disposition: h.content_disposition,
                content_language: h.content_language,
                cache_control: h.cache_control,
                expires: h.expires,
                metadata: h.metadata,
                storage_class: h.storage_class,
                tag_count: h.tag_count,
                checksum_crc32: c.checksum_crc32,
                checksum_crc32c: c.checksum_crc32_c,
                checksum_crc64nvme: c.checksum_crc64_nvme,
                checksum_sha1: c.checksum_sha1,
                checksum_sha256: c.checksum_sha256,
                checksum_type: c.checksum_type.map(dto::ChecksumType::from),
                server_side_encryption: h.server_side_encryption,
                ssekms_key_id: h.ssekms_key_id,
                sse_customer_algorithm: h.sse_customer_algorithm,
                sse_customer_key_md5: h.sse_customer_key_md5,
                ..Default::default()
            });
            if ranged {
                resp.status = Some(http::StatusCode::PARTIAL_CONTENT);
            }
            resp
        },
    )
    .await
}

pub(super) async fn head_object(
    ops: &StoreS3,
    req: S3Request<dto::HeadObjectInput>,
) -> S3Result<S3Response<dto::HeadObjectOutput>> {
    let i = &req.input;
    if i.part_number.is_some() {
        return Err(s3s::s3_error!(NotImplemented, "HeadObject by partNumber comes with multipart uploads"));
    }
    let r = get_request!(i);
    let o = Overrides {
        cache_control: i.response_cache_control.clone(),
        content_disposition: i.response_content_disposition.clone(),
        content_encoding: i.response_content_encoding.clone(),
        content_language: i.response_content_language.clone(),
        content_type: i.response_content_type.clone(),
        expires: i.response_expires.clone(),
    };
    run(
        ops,
        &req,
        move |s3| s3.head_object(r),
        move |out| {
            let h = head_fields(&out, o);
            let c = h.checksums;
            S3Response::new(dto::HeadObjectOutput {
                accept_ranges: Some("bytes".into()),
                content_length: Some(h.content_length),
                content_range: h.content_range,
                e_tag: h.e_tag,
                last_modified: Some(h.last_modified),
                version_id: h.version_id,
                content_type: h.content_type,
                content_encoding: h.content_encoding,
                content_disposition: h.content_disposition,
                content_language: h.content_language,
                cache_control: h.cache_control,
                expires: h.expires,
                metadata: h.metadata,
                storage_class: h.storage_class,
                checksum_crc32: c.checksum_crc32,
                checksum_crc32c: c.checksum_crc32_c,
                checksum_crc64nvme: c.checksum_crc64_nvme,
                checksum_sha1: c.checksum_sha1,
                checksum_sha256: c.checksum_sha256,
                checksum_type: c.checksum_type.map(dto::ChecksumType::from),
                server_side_encryption: h.server_side_encryption,
                ssekms_key_id: h.ssekms_key_id,
                sse_customer_algorithm: h.sse_customer_algorithm,
                sse_customer_key_md5: h.sse_customer_key_md5,
                ..Default::default()
            })
        },
    )
    .await
}

pub(super) async fn delete_object(
    ops: &StoreS3,
    req: S3Request<dto::DeleteObjectInput>,
) -> S3Result<S3Response<dto::DeleteObjectOutput>> {
    let i = &req.input;
    let r = t::DeleteObjectRequest {
        bucket: i.bucket.clone(),
        key: i.key.clone(),
        version_id: i.version_id.clone(),
        if_match: i.if_match.as_ref().map(etag_condition),
    };
    run(
        ops,
        &req,
        move |s3| s3.delete_object(r),
        |o| {
            let mut resp = S3Response::new(dto::DeleteObjectOutput {
                delete_marker: o.delete_marker.then_some(true),
                version_id: o.version_id,
                request_charged: None,
            });
            resp.status = Some(http::StatusCode::NO_CONTENT);
            resp
        },
    )
    .await
}

pub(super) async fn delete_objects(
    ops: &StoreS3,
    req: S3Request<dto::DeleteObjectsInput>,
) -> S3Result<S3Response<dto::DeleteObjectsOutput>> {
    let i = &req.input;
    let r = t::DeleteObjectsRequest {
        bucket: i.bucket.clone(),
        objects: i
            .delete
            .objects
            .iter()
            .map(|o| t::ObjectIdentifier {
                key: o.key.clone(),
                version_id: o.version_id.clone(),
                e_tag: o.e_tag.as_ref().map(|e| match e {
                    dto::ETag::Strong(v) => format!("\"{v}\""),
                    dto::ETag::Weak(v) => format!("W/\"{v}\""),
                }),
            })
            .collect(),
        quiet: i.delete.quiet.unwrap_or(false),
    };
    run(
        ops,
        &req,
        move |s3| s3.delete_objects(r),
        |o| {
            let deleted = o
                .deleted
                .into_iter()
                .map(|d| dto::DeletedObject {
                    delete_marker: d.delete_marker.then_some(true),
                    delete_marker_version_id: d.delete_marker_version_id,
                    key: Some(d.key),
                    version_id: d.version_id,
                })
                .collect();
            let errors = o
                .errors
                .into_iter()
                .map(|e| dto::Error {
                    code: Some(e.code),
                    key: Some(e.key),
                    message: Some(e.message),
                    version_id: e.version_id,
                })
                .collect();
            S3Response::new(dto::DeleteObjectsOutput {
                deleted: Some(deleted),
                errors: Some(errors),
                request_charged: None,
            })
        },
    )
    .await
}

pub(super) async fn copy_object(
    ops: &StoreS3,
    req: S3Request<dto::CopyObjectInput>,
) -> S3Result<S3Response<dto::CopyObjectOutput>> {
    let i = &req.input;
    let server_side_encryption = sse_of(i.server_side_encryption.as_ref())?;
    let copy_source = copy_source(&i.copy_source)?;
    let replace =
        i.metadata_directive.as_ref().is_some_and(|d| d.as_str() == dto::MetadataDirective::REPLACE);
    let r = t::CopyObjectRequest {
        acl: i.acl.as_ref().map(|a| a.as_str().to_owned()),
        grant_full_control: i.grant_full_control.clone(),
        grant_read: i.grant_read.clone(),
        grant_read_acp: i.grant_read_acp.clone(),
        grant_write_acp: i.grant_write_acp.clone(),
        bucket: i.bucket.clone(),
        key: i.key.clone(),
        copy_source,
        metadata_directive: if replace { t::MetadataDirective::Replace } else { t::MetadataDirective::Copy },
        content_type: i.content_type.clone(),
        metadata: metadata_pairs(i.metadata.as_ref()),
        storage_class: i.storage_class.as_ref().map(|s| s.as_str().to_owned()),
        copy_source_if_match: i.copy_source_if_match.as_ref().map(etag_condition),
        copy_source_if_none_match: i.copy_source_if_none_match.as_ref().map(etag_condition),
        copy_source_if_modified_since: i.copy_source_if_modified_since.clone().map(system_time),
        copy_source_if_unmodified_since: i.copy_source_if_unmodified_since.clone().map(system_time),
        server_side_encryption,
        ssekms_key_id: i.ssekms_key_id.clone(),
        ssekms_encryption_context: i.ssekms_encryption_context.clone(),
        sse_customer_algorithm: i.sse_customer_algorithm.clone(),
        sse_customer_key: i.sse_customer_key.as_ref().map(t::SseCustomerKey::from),
        sse_customer_key_md5: i.sse_customer_key_md5.clone(),
        copy_source_sse_customer_algorithm: i.copy_source_sse_customer_algorithm.clone(),
        copy_source_sse_customer_key: i.copy_source_sse_customer_key.as_ref().map(t::SseCustomerKey::from),
        copy_source_sse_customer_key_md5: i.copy_source_sse_customer_key_md5.clone(),
    };
    run(
        ops,
        &req,
        move |s3| s3.copy_object(r),
        |o| {
            S3Response::new(dto::CopyObjectOutput {
                copy_object_result: Some(dto::CopyObjectResult {
                    e_tag: etag(&o.copy_object_result.e_tag),
                    last_modified: Some(ts(o.copy_object_result.last_modified)),
                    ..Default::default()
                }),
                version_id: o.version_id,
                copy_source_version_id: o.copy_source_version_id,
                server_side_encryption: sse_out(o.server_side_encryption),
                ssekms_key_id: o.ssekms_key_id,
                ssekms_encryption_context: o.ssekms_encryption_context,
                sse_customer_algorithm: o.sse_customer_algorithm,
                sse_customer_key_md5: o.sse_customer_key_md5,
                ..Default::default()
            })
        },
    )
    .await
}
