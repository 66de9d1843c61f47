//! ListObjects, ListObjectsV2, ListObjectVersions.

use s3lite::s3::types as t;
use s3s::dto;
use s3s::{S3Request, S3Response, S3Result};

use super::{StoreS3, etag, owner, run, ts};

/// The request's `encoding-type`, or the S3 layer's `InvalidArgument` for a value S3 does not know
/// (returned inside `run`, so the error carries the request id).
pub(super) fn encoding(e: Option<&dto::EncodingType>) -> s3lite::Result<Option<t::EncodingType>> {
    e.map(|e| t::EncodingType::parse(e.as_str())).transpose()
}

pub(super) fn encoding_out(e: Option<t::EncodingType>) -> Option<dto::EncodingType> {
    e.map(|t::EncodingType::Url| dto::EncodingType::from_static(dto::EncodingType::URL))
}

fn object(o: &t::ListedObject) -> dto::Object {
    dto::Object {
        e_tag: etag(&o.e_tag),
        key: Some(o.key.clone()),
        last_modified: Some(ts(o.last_modified)),
        owner: o.owner.as_ref().map(owner),
        size: Some(i64::try_from(o.size).unwrap_or(i64::MAX)),
        storage_class: Some(dto::ObjectStorageClass::from(o.storage_class.as_str().to_owned())),
        ..Default::default()
    }
}

fn prefixes(p: &[t::CommonPrefix]) -> Option<Vec<dto::CommonPrefix>> {
    (!p.is_empty()).then(|| p.iter().map(|p| dto::CommonPrefix { prefix: Some(p.prefix.clone()) }).collect())
}

pub(super) async fn list_objects_v2(
    ops: &StoreS3,
    req: S3Request<dto::ListObjectsV2Input>,
) -> S3Result<S3Response<dto::ListObjectsV2Output>> {
    let i = &req.input;
    let encoding_type = encoding(i.encoding_type.as_ref());
    let r = t::ListObjectsV2Request {
        bucket: i.bucket.clone(),
        prefix: i.prefix.clone(),
        delimiter: i.delimiter.clone(),
        max_keys: i.max_keys,
        continuation_token: i.continuation_token.clone(),
        start_after: i.start_after.clone(),
        fetch_owner: i.fetch_owner.unwrap_or(false),
        encoding_type: None,
    };
    run(
        ops,
        &req,
        move |s3| {
            let mut r = r;
            r.encoding_type = encoding_type?;
            s3.list_objects_v2(r)
        },
        |o| {
            S3Response::new(dto::ListObjectsV2Output {
                name: Some(o.name),
                prefix: Some(o.prefix.unwrap_or_default()),
                max_keys: Some(o.max_keys),
                key_count: Some(o.key_count),
                continuation_token: o.continuation_token,
                is_truncated: Some(o.is_truncated),
                next_continuation_token: o.next_continuation_token,
                contents: (!o.contents.is_empty()).then(|| o.contents.iter().map(object).collect()),
                common_prefixes: prefixes(&o.common_prefixes),
                delimiter: o.delimiter,
                encoding_type: encoding_out(o.encoding_type),
                start_after: o.start_after,
                request_charged: None,
            })
        },
    )
    .await
}

pub(super) async fn list_objects(
    ops: &StoreS3,
    req: S3Request<dto::ListObjectsInput>,
) -> S3Result<S3Response<dto::ListObjectsOutput>> {
    let i = &req.input;
    let encoding_type = encoding(i.encoding_type.as_ref());
    let r = t::ListObjectsRequest {
        bucket: i.bucket.clone(),
        prefix: i.prefix.clone(),
        delimiter: i.delimiter.clone(),
        max_keys: i.max_keys,
        marker: i.marker.clone(),
        encoding_type: None,
    };
    run(
        ops,
        &req,
        move |s3| {
            let mut r = r;
            r.encoding_type = encoding_type?;
            s3.list_objects(r)
        },
        |o| {
            S3Response::new(dto::ListObjectsOutput {
                name: Some(o.name),
                prefix: Some(o.prefix.unwrap_or_default()),
                marker: Some(o.marker.unwrap_or_default()),
                max_keys: Some(o.max_keys),
                is_truncated: Some(o.is_truncated),
                contents: (!o.contents.is_empty()).then(|| o.contents.iter().map(object).collect()),
                common_prefixes: prefixes(&o.common_prefixes),
                delimiter: o.delimiter,
                next_marker: o.next_marker,
                encoding_type: encoding_out(o.encoding_type),
                request_charged: None,
            })
        },
    )
    .await
}

pub(super) async fn list_object_versions(
    ops: &StoreS3,
    req: S3Request<dto::ListObjectVersionsInput>,
) -> S3Result<S3Response<dto::ListObjectVersionsOutput>> {
    let i = &req.input;
    let encoding_type = encoding(i.encoding_type.as_ref());
    let r = t::ListObjectVersionsRequest {
        bucket: i.bucket.clone(),
        prefix: i.prefix.clone(),
        delimiter: i.delimiter.clone(),
        max_keys: i.max_keys,
        key_marker: i.key_marker.clone(),
        version_id_marker: i.version_id_marker.clone(),
        encoding_type: None,
    };
    run(
        ops,
        &req,
        move |s3| {
            let mut r = r;
            r.encoding_type = encoding_type?;
            s3.list_object_versions(r)
        },
        |o| {
            let versions: Vec<dto::ObjectVersion> = o
                .versions
                .iter()
                .map(|v| dto::ObjectVersion {
                    e_tag: etag(&v.e_tag),
                    is_latest: Some(v.is_latest),
                    key: Some(v.key.clone()),
                    last_modified: Some(ts(v.last_modified)),
                    owner: v.owner.as_ref().map(owner),
                    size: Some(i64::try_from(v.size).unwrap_or(i64::MAX)),
                    storage_class: Some(dto::ObjectVersionStorageClass::from(
                        v.storage_class.as_str().to_owned(),
                    )),
                    version_id: Some(v.version_id.clone()),
                    ..Default::default()
                })
                .collect();
            let markers: Vec<dto::DeleteMarkerEntry> = o
                .delete_markers
                .iter()
                .map(|v| dto::DeleteMarkerEntry {
                    is_latest: Some(v.is_latest),
                    key: Some(v.key.clone()),
                    last_modified: Some(ts(v.last_modified)),
                    owner: v.owner.as_ref().map(owner),
                    version_id: Some(v.version_id.clone()),
                })
                .collect();
            S3Response::new(dto::ListObjectVersionsOutput {
                common_prefixes: prefixes(&o.common_prefixes),
                delete_markers: (!markers.is_empty()).then_some(markers),
                delimiter: o.delimiter,
                encoding_type: encoding_out(o.encoding_type),
                is_truncated: Some(o.is_truncated),
                key_marker: Some(o.key_marker.unwrap_or_default()),
                max_keys: Some(o.max_keys),
                name: Some(o.name),
                next_key_marker: o.next_key_marker,
                next_version_id_marker: o.next_version_id_marker,
                prefix: Some(o.prefix.unwrap_or_default()),
                request_charged: None,
                version_id_marker: Some(o.version_id_marker.unwrap_or_default()),
                versions: (!versions.is_empty()).then_some(versions),
            })
        },
    )
    .await
}
