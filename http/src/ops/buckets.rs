//! Bucket operations: create, head, list, delete, location, versioning, default encryption.

use s3lite::s3::types as t;
use s3s::dto;
use s3s::{S3Request, S3Response, S3Result};

use super::{StoreS3, owner, run, ts};

pub(super) async fn create_bucket(
    ops: &StoreS3,
    req: S3Request<dto::CreateBucketInput>,
) -> S3Result<S3Response<dto::CreateBucketOutput>> {
    let i = &req.input;
    let ownership = i.object_ownership.as_ref().map(|o| t::ObjectOwnership::parse(o.as_str())).transpose();
    let r = t::CreateBucketRequest {
        bucket: i.bucket.clone(),
        create_bucket_configuration: i.create_bucket_configuration.as_ref().map(|c| {
            t::CreateBucketConfiguration {
                location_constraint: c.location_constraint.as_ref().map(|l| l.as_str().to_owned()),
            }
        }),
        acl: i.acl.as_ref().map(|a| a.as_str().to_owned()),
        grant_full_control: i.grant_full_control.clone(),
        grant_read: i.grant_read.clone(),
        grant_read_acp: i.grant_read_acp.clone(),
        grant_write: i.grant_write.clone(),
        grant_write_acp: i.grant_write_acp.clone(),
        object_ownership: None,
    };
    run(
        ops,
        &req,
        move |s3| s3.create_bucket(t::CreateBucketRequest { object_ownership: ownership?, ..r }),
        |o| S3Response::new(dto::CreateBucketOutput { location: Some(o.location) }),
    )
    .await
}

pub(super) async fn head_bucket(
    ops: &StoreS3,
    req: S3Request<dto::HeadBucketInput>,
) -> S3Result<S3Response<dto::HeadBucketOutput>> {
    let bucket = req.input.bucket.clone();
    run(
        ops,
        &req,
        move |s3| s3.head_bucket(&bucket),
        |o| {
            S3Response::new(dto::HeadBucketOutput {
                bucket_region: Some(o.bucket_region),
                ..Default::default()
            })
        },
    )
    .await
}

pub(super) async fn delete_bucket(
    ops: &StoreS3,
    req: S3Request<dto::DeleteBucketInput>,
) -> S3Result<S3Response<dto::DeleteBucketOutput>> {
    let bucket = req.input.bucket.clone();
    run(ops, &req, move |s3| s3.delete_bucket(&bucket), |()| S3Response::new(dto::DeleteBucketOutput {}))
        .await
}

pub(super) async fn list_buckets(
    ops: &StoreS3,
    req: S3Request<dto::ListBucketsInput>,
) -> S3Result<S3Response<dto::ListBucketsOutput>> {
    let r = t::ListBucketsRequest {
        max_buckets: req.input.max_buckets.map(|m| usize::try_from(m.max(0)).unwrap_or(0)),
        continuation_token: req.input.continuation_token.clone(),
        prefix: req.input.prefix.clone(),
    };
    run(
        ops,
        &req,
        move |s3| s3.list_buckets(r),
        |o| {
            let buckets = o
                .buckets
                .iter()
                .map(|b| dto::Bucket {
                    bucket_region: Some(b.bucket_region.clone()),
                    creation_date: Some(ts(b.creation_date)),
                    name: Some(b.name.clone()),
                })
                .collect();
            S3Response::new(dto::ListBucketsOutput {
                buckets: Some(buckets),
                continuation_token: o.continuation_token,
                owner: Some(owner(&o.owner)),
                prefix: o.prefix,
            })
        },
    )
    .await
}

pub(super) async fn get_bucket_location(
    ops: &StoreS3,
    req: S3Request<dto::GetBucketLocationInput>,
) -> S3Result<S3Response<dto::GetBucketLocationOutput>> {
    let bucket = req.input.bucket.clone();
    run(
        ops,
        &req,
        move |s3| s3.head_bucket(&bucket),
        |o| {
            // us-east-1 is the empty LocationConstraint, as S3 answers.
            let location_constraint = (o.bucket_region != "us-east-1")
                .then(|| dto::BucketLocationConstraint::from(o.bucket_region));
            S3Response::new(dto::GetBucketLocationOutput { location_constraint })
        },
    )
    .await
}

pub(super) async fn put_bucket_versioning(
    ops: &StoreS3,
    req: S3Request<dto::PutBucketVersioningInput>,
) -> S3Result<S3Response<dto::PutBucketVersioningOutput>> {
    let bucket = req.input.bucket.clone();
    let status = req.input.versioning_configuration.status.as_ref().map(|s| s.as_str().to_owned());
    run(
        ops,
        &req,
        move |s3| {
            let status = status.ok_or_else(|| s3lite::Error::MalformedXML {
                reason: "VersioningConfiguration has no Status".into(),
            })?;
            s3.put_bucket_versioning(&bucket, t::BucketVersioningStatus::parse(&status)?)
        },
        |()| S3Response::new(dto::PutBucketVersioningOutput {}),
    )
    .await
}

pub(super) async fn get_bucket_versioning(
    ops: &StoreS3,
    req: S3Request<dto::GetBucketVersioningInput>,
) -> S3Result<S3Response<dto::GetBucketVersioningOutput>> {
    let bucket = req.input.bucket.clone();
    run(
        ops,
        &req,
        move |s3| s3.get_bucket_versioning(&bucket),
        |status| {
            let status = status.map(|s| {
                dto::BucketVersioningStatus::from_static(match s {
                    t::BucketVersioningStatus::Enabled => dto::BucketVersioningStatus::ENABLED,
                    t::BucketVersioningStatus::Suspended => dto::BucketVersioningStatus::SUSPENDED,
                })
            });
            S3Response::new(dto::GetBucketVersioningOutput { status, mfa_delete: None })
        },
    )
    .await
}

pub(super) async fn put_bucket_encryption(
    ops: &StoreS3,
    req: S3Request<dto::PutBucketEncryptionInput>,
) -> S3Result<S3Response<dto::PutBucketEncryptionOutput>> {
    let bucket = req.input.bucket.clone();
    let rules = req.input.server_side_encryption_configuration.rules.clone();
    run(
        ops,
        &req,
        move |s3| {
            // Reached only past the route (`bucket_encryption.rs`), which serves what names a bucket.
            let rules = super::bucket_encryption::rules_from_dto(rules, Vec::new())?;
            s3.put_bucket_encryption(t::PutBucketEncryptionRequest {
                bucket,
                server_side_encryption_configuration: t::ServerSideEncryptionConfiguration { rules },
            })
        },
        |()| S3Response::new(dto::PutBucketEncryptionOutput {}),
    )
    .await
}

pub(super) async fn get_bucket_encryption(
    ops: &StoreS3,
    req: S3Request<dto::GetBucketEncryptionInput>,
) -> S3Result<S3Response<dto::GetBucketEncryptionOutput>> {
    let bucket = req.input.bucket.clone();
    run(
        ops,
        &req,
        move |s3| s3.get_bucket_encryption(&bucket),
        |o| {
            let (rules, _) = super::bucket_encryption::rules_to_dto(o.server_side_encryption_configuration);
            S3Response::new(dto::GetBucketEncryptionOutput {
                server_side_encryption_configuration: Some(dto::ServerSideEncryptionConfiguration { rules }),
            })
        },
    )
    .await
}

pub(super) async fn delete_bucket_encryption(
    ops: &StoreS3,
    req: S3Request<dto::DeleteBucketEncryptionInput>,
) -> S3Result<S3Response<dto::DeleteBucketEncryptionOutput>> {
    let bucket = req.input.bucket.clone();
    run(
        ops,
        &req,
        move |s3| s3.delete_bucket_encryption(&bucket),
        |()| S3Response::new(dto::DeleteBucketEncryptionOutput {}),
    )
    .await
}
