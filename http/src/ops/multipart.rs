//! Multipart uploads: CreateMultipartUpload, UploadPart (streamed in, checksums verified as
//! PutObject's, trailers included), UploadPartCopy, CompleteMultipartUpload,
//! AbortMultipartUpload, ListParts, ListMultipartUploads.

use s3lite::ChecksumAlgorithm;
use s3lite::s3::multipart as m;
use s3lite::s3::types as t;
use s3s::dto;
use s3s::{S3Request, S3Response, S3Result};

use super::objects::{http_date, metadata_pairs, sse_of, sse_out, trailer_checksum};
use super::{StoreS3, copy_source, etag, etag_condition, owner, run, ts, with_request_id};
use crate::body::{TrailerChecked, blocking_reader, declared_length};
use crate::server::RequestId;

fn algorithm(a: Option<&dto::ChecksumAlgorithm>) -> Result<Option<ChecksumAlgorithm>, s3s::S3Error> {
    a.map(|a| ChecksumAlgorithm::parse(a.as_str())).transpose().map_err(|e| crate::to_s3_error(&e))
}

/// An output's CRC32, CRC32C, CRC64NVME, SHA-1 and SHA-256 values, in the order s3s's DTOs name them.
type ChecksumValues = (Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);

fn checksums_of(c: &t::Checksums) -> ChecksumValues {
    (
        c.checksum_crc32.clone(),
        c.checksum_crc32_c.clone(),
        c.checksum_crc64_nvme.clone(),
        c.checksum_sha1.clone(),
        c.checksum_sha256.clone(),
    )
}

pub(super) async fn create_multipart_upload(
    ops: &StoreS3,
    req: S3Request<dto::CreateMultipartUploadInput>,
) -> S3Result<S3Response<dto::CreateMultipartUploadOutput>> {
    let rid = req.extensions.get::<RequestId>().cloned().unwrap_or_else(RequestId::new);
    let i = &req.input;
    let server_side_encryption =
        sse_of(i.server_side_encryption.as_ref()).map_err(|e| with_request_id(e, &rid))?;
    let r = m::CreateMultipartUploadRequest {
        acl: i.acl.as_ref().map(|a| a.as_str().to_owned()),
        grant_full_control: i.grant_full_control.clone(),
        grant_read: i.grant_read.clone(),
        grant_read_acp: i.grant_read_acp.clone(),
        grant_write_acp: i.grant_write_acp.clone(),
        bucket: i.bucket.clone(),
        key: i.key.clone(),
        content_type: i.content_type.clone(),
        content_encoding: i.content_encoding.clone(),
        content_disposition: i.content_disposition.clone(),
        content_language: i.content_language.clone(),
        cache_control: i.cache_control.clone(),
        expires: i.expires.as_ref().and_then(http_date),
        metadata: metadata_pairs(i.metadata.as_ref()),
        tagging: i.tagging.clone(),
        storage_class: i.storage_class.as_ref().map(|s| s.as_str().to_owned()),
        checksum_algorithm: algorithm(i.checksum_algorithm.as_ref()).map_err(|e| with_request_id(e, &rid))?,
        checksum_type: i.checksum_type.as_ref().map(|c| c.as_str().to_owned()),
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
        move |s3| s3.create_multipart_upload(r),
        |o| {
            S3Response::new(dto::CreateMultipartUploadOutput {
                bucket: Some(o.bucket),
                key: Some(o.key),
                upload_id: Some(o.upload_id),
                checksum_algorithm: Some(dto::ChecksumAlgorithm::from(
                    o.checksum_algorithm.as_str().to_owned(),
                )),
                checksum_type: Some(dto::ChecksumType::from(o.checksum_type)),
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

pub(super) async fn upload_part(
    ops: &StoreS3,
    mut req: S3Request<dto::UploadPartInput>,
) -> S3Result<S3Response<dto::UploadPartOutput>> {
    let rid = req.extensions.get::<RequestId>().cloned().unwrap_or_else(RequestId::new);
    let trailer = trailer_checksum(&req.headers).map_err(|e| with_request_id(e, &rid))?;
    let i = &mut req.input;
    let body = blocking_reader(i.body.take(), ops.body_idle_timeout);
    let mut body =
        declared_length(body, i.content_length).map_err(|e| with_request_id(crate::to_s3_error(&e), &rid))?;
    let mut checksum_algorithm =
        algorithm(i.checksum_algorithm.as_ref()).map_err(|e| with_request_id(e, &rid))?;
    if let (Some((alg, header)), Some(trailers)) = (trailer, req.trailing_headers.clone()) {
        body = Box::new(TrailerChecked::new(body, alg, trailers, header));
        checksum_algorithm = Some(alg);
    }
    let r = m::UploadPartRequest {
        bucket: i.bucket.clone(),
        key: i.key.clone(),
        upload_id: i.upload_id.clone(),
        part_number: Some(i.part_number),
        body: t::Body::Reader(body),
        content_md5: i.content_md5.clone(),
        checksum_algorithm,
        checksum_crc32: i.checksum_crc32.clone(),
        checksum_crc32_c: i.checksum_crc32c.clone(),
        checksum_crc64_nvme: i.checksum_crc64nvme.clone(),
        checksum_sha1: i.checksum_sha1.clone(),
        checksum_sha256: i.checksum_sha256.clone(),
        sse_customer_algorithm: i.sse_customer_algorithm.clone(),
        sse_customer_key: i.sse_customer_key.as_ref().map(t::SseCustomerKey::from),
        sse_customer_key_md5: i.sse_customer_key_md5.clone(),
    };
    run(
        ops,
        &req,
        move |s3| s3.upload_part(r),
        |o| {
            let (crc32, crc32c, crc64, sha1, sha256) = checksums_of(&o.checksums);
            S3Response::new(dto::UploadPartOutput {
                e_tag: etag(&o.e_tag),
                checksum_crc32: crc32,
                checksum_crc32c: crc32c,
                checksum_crc64nvme: crc64,
                checksum_sha1: sha1,
                checksum_sha256: sha256,
                server_side_encryption: sse_out(o.server_side_encryption),
                ssekms_key_id: o.ssekms_key_id,
                sse_customer_algorithm: o.sse_customer_algorithm,
                sse_customer_key_md5: o.sse_customer_key_md5,
                ..Default::default()
            })
        },
    )
    .await
}

pub(super) async fn upload_part_copy(
    ops: &StoreS3,
    req: S3Request<dto::UploadPartCopyInput>,
) -> S3Result<S3Response<dto::UploadPartCopyOutput>> {
    let i = &req.input;
    let copy_source = copy_source(&i.copy_source)?;
    if i.copy_source_if_match.is_some()
        || i.copy_source_if_none_match.is_some()
        || i.copy_source_if_modified_since.is_some()
        || i.copy_source_if_unmodified_since.is_some()
    {
        return Err(s3s::s3_error!(NotImplemented, "UploadPartCopy's x-amz-copy-source-if-* conditions"));
    }
    let r = m::UploadPartCopyRequest {
        bucket: i.bucket.clone(),
        key: i.key.clone(),
        upload_id: i.upload_id.clone(),
        part_number: Some(i.part_number),
        copy_source,
        copy_source_range: i.copy_source_range.clone(),
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
        move |s3| s3.upload_part_copy(r),
        |o| {
            let res = o.copy_part_result;
            let (crc32, crc32c, crc64, sha1, sha256) = checksums_of(&res.checksums);
            S3Response::new(dto::UploadPartCopyOutput {
                copy_part_result: Some(dto::CopyPartResult {
                    e_tag: etag(&res.e_tag),
                    last_modified: Some(ts(res.last_modified)),
                    checksum_crc32: crc32,
                    checksum_crc32c: crc32c,
                    checksum_crc64nvme: crc64,
                    checksum_sha1: sha1,
                    checksum_sha256: sha256,
                }),
                copy_source_version_id: o.copy_source_version_id,
                server_side_encryption: sse_out(o.server_side_encryption),
                ssekms_key_id: o.ssekms_key_id,
                sse_customer_algorithm: o.sse_customer_algorithm,
                sse_customer_key_md5: o.sse_customer_key_md5,
                ..Default::default()
            })
        },
    )
    .await
}

pub(super) async fn complete_multipart_upload(
    ops: &StoreS3,
    req: S3Request<dto::CompleteMultipartUploadInput>,
) -> S3Result<S3Response<dto::CompleteMultipartUploadOutput>> {
    let i = &req.input;
    let parts = i.multipart_upload.as_ref().and_then(|u| u.parts.as_ref()).map(|parts| {
        parts
            .iter()
            .map(|p| m::CompletedPart {
                part_number: p.part_number,
                e_tag: p.e_tag.as_ref().map(|e| match e {
                    dto::ETag::Strong(v) => format!("\"{v}\""),
                    dto::ETag::Weak(v) => format!("W/\"{v}\""),
                }),
                checksums: t::Checksums {
                    checksum_crc32: p.checksum_crc32.clone(),
                    checksum_crc32_c: p.checksum_crc32c.clone(),
                    checksum_crc64_nvme: p.checksum_crc64nvme.clone(),
                    checksum_sha1: p.checksum_sha1.clone(),
                    checksum_sha256: p.checksum_sha256.clone(),
                    checksum_type: None,
                },
            })
            .collect()
    });
    let r = m::CompleteMultipartUploadRequest {
        bucket: i.bucket.clone(),
        key: i.key.clone(),
        upload_id: i.upload_id.clone(),
        multipart_upload: Some(m::CompletedMultipartUpload { parts: parts.unwrap_or_default() }),
        if_none_match: i.if_none_match.as_ref().map(etag_condition),
        if_match: i.if_match.as_ref().map(etag_condition),
        sse_customer_algorithm: i.sse_customer_algorithm.clone(),
        sse_customer_key: i.sse_customer_key.as_ref().map(t::SseCustomerKey::from),
        sse_customer_key_md5: i.sse_customer_key_md5.clone(),
    };
    run(
        ops,
        &req,
        move |s3| s3.complete_multipart_upload(r),
        |o| {
            let (crc32, crc32c, crc64, sha1, sha256) = checksums_of(&o.checksums);
            S3Response::new(dto::CompleteMultipartUploadOutput {
                bucket: Some(o.bucket),
                key: Some(o.key),
                location: Some(o.location),
                e_tag: etag(&o.e_tag),
                version_id: o.version_id,
                checksum_crc32: crc32,
                checksum_crc32c: crc32c,
                checksum_crc64nvme: crc64,
                checksum_sha1: sha1,
                checksum_sha256: sha256,
                checksum_type: o.checksums.checksum_type.map(dto::ChecksumType::from),
                server_side_encryption: sse_out(o.server_side_encryption),
                ssekms_key_id: o.ssekms_key_id,
                ..Default::default()
            })
        },
    )
    .await
}

pub(super) async fn abort_multipart_upload(
    ops: &StoreS3,
    req: S3Request<dto::AbortMultipartUploadInput>,
) -> S3Result<S3Response<dto::AbortMultipartUploadOutput>> {
    let i = &req.input;
    let r = m::AbortMultipartUploadRequest {
        bucket: i.bucket.clone(),
        key: i.key.clone(),
        upload_id: i.upload_id.clone(),
    };
    run(
        ops,
        &req,
        move |s3| s3.abort_multipart_upload(r),
        |()| S3Response::new(dto::AbortMultipartUploadOutput::default()),
    )
    .await
}

pub(super) async fn list_parts(
    ops: &StoreS3,
    req: S3Request<dto::ListPartsInput>,
) -> S3Result<S3Response<dto::ListPartsOutput>> {
    let i = &req.input;
    let r = m::ListPartsRequest {
        bucket: i.bucket.clone(),
        key: i.key.clone(),
        upload_id: i.upload_id.clone(),
        max_parts: i.max_parts,
        part_number_marker: i.part_number_marker,
    };
    let marker = i.part_number_marker;
    run(
        ops,
        &req,
        move |s3| s3.list_parts(r),
        move |o| {
            let parts = o
                .parts
                .iter()
                .map(|p| {
                    let (crc32, crc32c, crc64, sha1, sha256) = checksums_of(&p.checksums);
                    dto::Part {
                        part_number: Some(p.part_number),
                        e_tag: etag(&p.e_tag),
                        size: Some(p.size as i64),
                        last_modified: Some(ts(p.last_modified)),
                        checksum_crc32: crc32,
                        checksum_crc32c: crc32c,
                        checksum_crc64nvme: crc64,
                        checksum_sha1: sha1,
                        checksum_sha256: sha256,
                    }
                })
                .collect();
            S3Response::new(dto::ListPartsOutput {
                bucket: Some(o.bucket),
                key: Some(o.key),
                upload_id: Some(o.upload_id),
                parts: Some(parts),
                is_truncated: Some(o.is_truncated),
                next_part_number_marker: o.next_part_number_marker,
                part_number_marker: marker,
                max_parts: Some(o.max_parts),
                storage_class: Some(dto::StorageClass::from(o.storage_class.as_str().to_owned())),
                owner: Some(owner(&o.owner)),
                initiator: Some(dto::Initiator {
                    display_name: o.owner.display_name.clone(),
                    id: Some(o.owner.id.clone()),
                }),
                checksum_algorithm: o
                    .checksum_algorithm
                    .map(|a| dto::ChecksumAlgorithm::from(a.as_str().to_owned())),
                checksum_type: o.checksum_type.map(dto::ChecksumType::from),
                ..Default::default()
            })
        },
    )
    .await
}

pub(super) async fn list_multipart_uploads(
    ops: &StoreS3,
    req: S3Request<dto::ListMultipartUploadsInput>,
) -> S3Result<S3Response<dto::ListMultipartUploadsOutput>> {
    let i = &req.input;
    let encoding_type = super::listing::encoding(i.encoding_type.as_ref());
    let r = m::ListMultipartUploadsRequest {
        bucket: i.bucket.clone(),
        prefix: i.prefix.clone(),
        delimiter: i.delimiter.clone(),
        key_marker: i.key_marker.clone(),
        upload_id_marker: i.upload_id_marker.clone(),
        max_uploads: i.max_uploads,
        encoding_type: None,
    };
    run(
        ops,
        &req,
        move |s3| {
            let mut r = r;
            r.encoding_type = encoding_type?;
            s3.list_multipart_uploads(r)
        },
        move |o| {
            let uploads = o
                .uploads
                .iter()
                .map(|u| dto::MultipartUpload {
                    key: Some(u.key.clone()),
                    upload_id: Some(u.upload_id.clone()),
                    initiated: Some(ts(u.initiated)),
                    storage_class: Some(dto::StorageClass::from(u.storage_class.as_str().to_owned())),
                    owner: Some(owner(&u.owner)),
                    initiator: Some(dto::Initiator {
                        display_name: u.owner.display_name.clone(),
                        id: Some(u.owner.id.clone()),
                    }),
                    ..Default::default()
                })
                .collect();
            let prefixes: Vec<dto::CommonPrefix> =
                o.common_prefixes.iter().map(|p| dto::CommonPrefix { prefix: Some(p.clone()) }).collect();
            S3Response::new(dto::ListMultipartUploadsOutput {
                bucket: Some(o.bucket),
                uploads: Some(uploads),
                common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
                is_truncated: Some(o.is_truncated),
                next_key_marker: o.next_key_marker,
                next_upload_id_marker: o.next_upload_id_marker,
                max_uploads: Some(o.max_uploads),
                prefix: o.prefix,
                delimiter: o.delimiter,
                key_marker: o.key_marker,
                upload_id_marker: o.upload_id_marker,
                encoding_type: super::listing::encoding_out(o.encoding_type),
                ..Default::default()
            })
        },
    )
    .await
}
