//! Access-control operations: bucket and object ACLs, Object Ownership, Block Public Access.

use s3lite::s3::types as t;
use s3s::dto;
use s3s::{S3Request, S3Response, S3Result};

use super::{StoreS3, owner, run};

fn grants_out(grants: &[t::Grant]) -> dto::Grants {
    grants
        .iter()
        .map(|g| {
            let grantee = match &g.grantee {
                t::Grantee::CanonicalUser { id, display_name } => dto::Grantee {
                    display_name: display_name.clone(),
                    email_address: None,
                    id: Some(id.clone()),
                    type_: dto::Type::from(dto::Type::CANONICAL_USER.to_owned()),
                    uri: None,
                },
                t::Grantee::Group(group) => dto::Grantee {
                    display_name: None,
                    email_address: None,
                    id: None,
                    type_: dto::Type::from(dto::Type::GROUP.to_owned()),
                    uri: Some(group.uri().to_owned()),
                },
                t::Grantee::EmailAddress(e) => dto::Grantee {
                    display_name: None,
                    email_address: Some(e.clone()),
                    id: None,
                    type_: dto::Type::from(dto::Type::AMAZON_CUSTOMER_BY_EMAIL.to_owned()),
                    uri: None,
                },
            };
            dto::Grant {
                grantee: Some(grantee),
                permission: Some(dto::Permission::from(g.permission.as_str().to_owned())),
            }
        })
        .collect()
}

/// The body form of a put-ACL request, in the S3 layer's terms.
fn policy_in(p: &dto::AccessControlPolicy) -> s3lite::Result<t::AccessControlPolicy> {
    let malformed = |reason: &str| s3lite::Error::MalformedAcl { reason: reason.to_owned() };
    let owner =
        p.owner.as_ref().and_then(|o| o.id.clone()).ok_or_else(|| malformed("the ACL names no Owner ID"))?;
    let mut grants = Vec::new();
    for g in p.grants.iter().flatten() {
        let grantee = g.grantee.as_ref().ok_or_else(|| malformed("a Grant has no Grantee"))?;
        let permission = g.permission.as_ref().ok_or_else(|| malformed("a Grant has no Permission"))?;
        let grantee = match grantee.type_.as_str() {
            dto::Type::CANONICAL_USER => t::Grantee::CanonicalUser {
                id: grantee.id.clone().ok_or_else(|| malformed("a CanonicalUser grantee has no ID"))?,
                display_name: None,
            },
            dto::Type::GROUP => t::Grantee::Group(t::Group::from_uri(
                grantee.uri.as_deref().ok_or_else(|| malformed("a Group grantee has no URI"))?,
            )?),
            dto::Type::AMAZON_CUSTOMER_BY_EMAIL => t::Grantee::EmailAddress(
                grantee
                    .email_address
                    .clone()
                    .ok_or_else(|| malformed("an e-mail grantee has no EmailAddress"))?,
            ),
            other => return Err(malformed(&format!("unknown grantee type {other:?}"))),
        };
        grants.push(t::Grant { grantee, permission: t::Permission::parse(permission.as_str())? });
    }
    Ok(t::AccessControlPolicy { owner: t::Owner { id: owner, display_name: None }, grants })
}

pub(super) async fn get_bucket_acl(
    ops: &StoreS3,
    req: S3Request<dto::GetBucketAclInput>,
) -> S3Result<S3Response<dto::GetBucketAclOutput>> {
    let bucket = req.input.bucket.clone();
    run(
        ops,
        &req,
        move |s3| s3.get_bucket_acl(&bucket),
        |p| {
            S3Response::new(dto::GetBucketAclOutput {
                grants: Some(grants_out(&p.grants)),
                owner: Some(owner(&p.owner)),
            })
        },
    )
    .await
}

pub(super) async fn put_bucket_acl(
    ops: &StoreS3,
    req: S3Request<dto::PutBucketAclInput>,
) -> S3Result<S3Response<dto::PutBucketAclOutput>> {
    let i = &req.input;
    let policy = i.access_control_policy.clone();
    let r = t::PutBucketAclRequest {
        bucket: i.bucket.clone(),
        acl: i.acl.as_ref().map(|a| a.as_str().to_owned()),
        grant_full_control: i.grant_full_control.clone(),
        grant_read: i.grant_read.clone(),
        grant_read_acp: i.grant_read_acp.clone(),
        grant_write: i.grant_write.clone(),
        grant_write_acp: i.grant_write_acp.clone(),
        access_control_policy: None,
    };
    run(
        ops,
        &req,
        move |s3| {
            let access_control_policy = policy.as_ref().map(policy_in).transpose()?;
            s3.put_bucket_acl(t::PutBucketAclRequest { access_control_policy, ..r })
        },
        |()| S3Response::new(dto::PutBucketAclOutput {}),
    )
    .await
}

pub(super) async fn get_object_acl(
    ops: &StoreS3,
    req: S3Request<dto::GetObjectAclInput>,
) -> S3Result<S3Response<dto::GetObjectAclOutput>> {
    let r = t::GetObjectAclRequest {
        bucket: req.input.bucket.clone(),
        key: req.input.key.clone(),
        version_id: req.input.version_id.clone(),
    };
    run(
        ops,
        &req,
        move |s3| s3.get_object_acl(r),
        |p| {
            S3Response::new(dto::GetObjectAclOutput {
                grants: Some(grants_out(&p.grants)),
                owner: Some(owner(&p.owner)),
                request_charged: None,
            })
        },
    )
    .await
}

pub(super) async fn put_object_acl(
    ops: &StoreS3,
    req: S3Request<dto::PutObjectAclInput>,
) -> S3Result<S3Response<dto::PutObjectAclOutput>> {
    let i = &req.input;
    let policy = i.access_control_policy.clone();
    if i.grant_write.is_some() {
        return Err(s3s::s3_error!(InvalidArgument, "objects take no WRITE grant (x-amz-grant-write)"));
    }
    let r = t::PutObjectAclRequest {
        bucket: i.bucket.clone(),
        key: i.key.clone(),
        version_id: i.version_id.clone(),
        acl: i.acl.as_ref().map(|a| a.as_str().to_owned()),
        grant_full_control: i.grant_full_control.clone(),
        grant_read: i.grant_read.clone(),
        grant_read_acp: i.grant_read_acp.clone(),
        grant_write_acp: i.grant_write_acp.clone(),
        access_control_policy: None,
    };
    run(
        ops,
        &req,
        move |s3| {
            let access_control_policy = policy.as_ref().map(policy_in).transpose()?;
            s3.put_object_acl(t::PutObjectAclRequest { access_control_policy, ..r })
        },
        |()| S3Response::new(dto::PutObjectAclOutput { request_charged: None }),
    )
    .await
}

pub(super) async fn put_bucket_ownership_controls(
    ops: &StoreS3,
    req: S3Request<dto::PutBucketOwnershipControlsInput>,
) -> S3Result<S3Response<dto::PutBucketOwnershipControlsOutput>> {
    let bucket = req.input.bucket.clone();
    let rules: Vec<String> =
        req.input.ownership_controls.rules.iter().map(|r| r.object_ownership.as_str().to_owned()).collect();
    run(
        ops,
        &req,
        move |s3| {
            let [rule] = rules.as_slice() else {
                return Err(s3lite::Error::MalformedXML {
                    reason: format!("OwnershipControls has one Rule, this one {}", rules.len()),
                });
            };
            s3.put_bucket_ownership_controls(&bucket, t::ObjectOwnership::parse(rule)?)
        },
        |()| S3Response::new(dto::PutBucketOwnershipControlsOutput {}),
    )
    .await
}

pub(super) async fn get_bucket_ownership_controls(
    ops: &StoreS3,
    req: S3Request<dto::GetBucketOwnershipControlsInput>,
) -> S3Result<S3Response<dto::GetBucketOwnershipControlsOutput>> {
    let bucket = req.input.bucket.clone();
    run(
        ops,
        &req,
        move |s3| s3.get_bucket_ownership_controls(&bucket),
        |o| {
            S3Response::new(dto::GetBucketOwnershipControlsOutput {
                ownership_controls: Some(dto::OwnershipControls {
                    rules: vec![dto::OwnershipControlsRule {
                        object_ownership: dto::ObjectOwnership::from(o.as_str().to_owned()),
                    }],
                }),
            })
        },
    )
    .await
}

pub(super) async fn delete_bucket_ownership_controls(
    ops: &StoreS3,
    req: S3Request<dto::DeleteBucketOwnershipControlsInput>,
) -> S3Result<S3Response<dto::DeleteBucketOwnershipControlsOutput>> {
    let bucket = req.input.bucket.clone();
    run(
        ops,
        &req,
        move |s3| s3.delete_bucket_ownership_controls(&bucket),
        |()| S3Response::new(dto::DeleteBucketOwnershipControlsOutput {}),
    )
    .await
}

pub(super) async fn put_public_access_block(
    ops: &StoreS3,
    req: S3Request<dto::PutPublicAccessBlockInput>,
) -> S3Result<S3Response<dto::PutPublicAccessBlockOutput>> {
    let bucket = req.input.bucket.clone();
    let c = &req.input.public_access_block_configuration;
    let config = t::PublicAccessBlockConfiguration {
        block_public_acls: c.block_public_acls.unwrap_or(false),
        ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
        block_public_policy: c.block_public_policy.unwrap_or(false),
        restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
    };
    run(
        ops,
        &req,
        move |s3| s3.put_public_access_block(&bucket, config),
        |()| S3Response::new(dto::PutPublicAccessBlockOutput {}),
    )
    .await
}

pub(super) async fn get_public_access_block(
    ops: &StoreS3,
    req: S3Request<dto::GetPublicAccessBlockInput>,
) -> S3Result<S3Response<dto::GetPublicAccessBlockOutput>> {
    let bucket = req.input.bucket.clone();
    run(
        ops,
        &req,
        move |s3| s3.get_public_access_block(&bucket),
        |c| {
            S3Response::new(dto::GetPublicAccessBlockOutput {
                public_access_block_configuration: Some(dto::PublicAccessBlockConfiguration {
                    block_public_acls: Some(c.block_public_acls),
                    ignore_public_acls: Some(c.ignore_public_acls),
                    block_public_policy: Some(c.block_public_policy),
                    restrict_public_buckets: Some(c.restrict_public_buckets),
                }),
            })
        },
    )
    .await
}

pub(super) async fn delete_public_access_block(
    ops: &StoreS3,
    req: S3Request<dto::DeletePublicAccessBlockInput>,
) -> S3Result<S3Response<dto::DeletePublicAccessBlockOutput>> {
    let bucket = req.input.bucket.clone();
    run(
        ops,
        &req,
        move |s3| s3.delete_public_access_block(&bucket),
        |()| S3Response::new(dto::DeletePublicAccessBlockOutput {}),
    )
    .await
}
