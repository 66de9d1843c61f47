//! Bucket operations: create, head, list, delete, versioning.

use super::access::BucketAction;
use super::acl::{AclHeaders, StoredAcl};
use super::rules::{self, LIST_BUCKETS_MAX};
use super::types::*;
use super::{S3, TOKEN_KEY, decode_token, encode_token, time_of};
use crate::engine::buckets::NewBucketSettings;
use crate::engine::catalog::{BucketInfo, VersioningState};
use crate::error::{Error, Result};
use crate::types::BucketId;

const US_EAST_1: &str = "us-east-1";

impl S3 {
    /// CreateBucket.
    ///
    /// # Errors
    /// `InvalidBucketName` (naming the rule), `IllegalLocationConstraintException` when the
    /// constraint does not match the store's region (or is missing outside us-east-1),
    /// `InvalidLocationConstraint` for an explicit `us-east-1`, `BucketAlreadyExists` when another
    /// account owns the name, `BucketAlreadyOwnedByYou` when the caller does (outside us-east-1; in
    /// us-east-1 S3's legacy answer is success), `TooManyBuckets` past 10,000 buckets per account.
    pub fn create_bucket(&self, mut req: CreateBucketRequest) -> Result<CreateBucketOutput> {
        rules::check_bucket_name(&req.bucket)?;
        let region = self.store.region().to_owned();
        let constraint = req
            .create_bucket_configuration
            .take()
            .and_then(|c| c.location_constraint)
            .filter(|c| !c.is_empty());
        // `EU` is the legacy name of eu-west-1, still a valid `BucketLocationConstraint` value.
        let effective =
            constraint.as_deref().map(|c| if c == "EU" { "eu-west-1" } else { c }).map(str::to_owned);
        match (&effective, region.as_str()) {
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
        if let Ok(existing) = self.store.bucket(&req.bucket) {
            return if existing.owner != caller.canonical_id {
                Err(Error::BucketAlreadyExists { bucket: req.bucket })
            } else if region == US_EAST_1 {
                Ok(CreateBucketOutput { location })
            } else {
                Err(Error::BucketAlreadyOwnedByYou { bucket: req.bucket })
            };
        }
        let settings = self.new_bucket_access(&req, &caller.canonical_id)?;
        let quota = Some(rules::BUCKETS_PER_ACCOUNT_MAX);
        match self.store.create_bucket_owned(&req.bucket, &caller.canonical_id, &region, quota, settings) {
            Ok(_) => Ok(CreateBucketOutput { location }),
            // Lost a race for the name: answer as if it had been there.
            Err(Error::BucketAlreadyExists { .. }) => self.create_bucket(CreateBucketRequest {
                create_bucket_configuration: constraint
                    .map(|c| CreateBucketConfiguration { location_constraint: Some(c) }),
                ..req
            }),
            Err(e) => Err(e),
        }
    }

    /// The Object Ownership, Block Public Access and ACL a CreateBucket gives its bucket.
    fn new_bucket_access(&self, req: &CreateBucketRequest, owner: &str) -> Result<NewBucketSettings> {
        let headers = AclHeaders {
            acl: req.acl.as_deref(),
            grant_full_control: req.grant_full_control.as_deref(),
            grant_read: req.grant_read.as_deref(),
            grant_read_acp: req.grant_read_acp.as_deref(),
            grant_write: req.grant_write.as_deref(),
            grant_write_acp: req.grant_write_acp.as_deref(),
        };
        let known = |id: &str| self.store.account(id).is_some();
        let acl = headers.resolve(owner, owner, &known)?.filter(|a| *a != StoredAcl::private(owner));
        let settings = self.store.new_bucket_settings(req.object_ownership, acl.clone());
        let Some(acl) = acl else { return Ok(settings) };
        if settings.ownership == Some(ObjectOwnership::BucketOwnerEnforced)
            && !acl.only_full_control_of(owner, owner)
        {
            return Err(Error::InvalidBucketAclWithObjectOwnership { bucket: req.bucket.clone() });
        }
        let blocked =
            settings.public_access_block.unwrap_or_default().or(self.store.store_public_access_block());
        if acl.is_public() && blocked.block_public_acls {
            return Err(Error::InvalidBucketAclWithBlockPublicAccess { bucket: req.bucket.clone() });
        }
        Ok(settings)
    }

    /// HeadBucket.
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub fn head_bucket(&self, bucket: &str) -> Result<HeadBucketOutput> {
        Ok(HeadBucketOutput { bucket_region: self.bucket_for(bucket, BucketAction::List)?.region })
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
                .map(|b| ListedBucket {
                    name: b.name,
                    creation_date: time_of(b.created_ms),
                    bucket_region: b.region,
                })
                .collect(),
            owner: self.owner_by_id(&caller.canonical_id),
            continuation_token,
            prefix: req.prefix,
        })
    }

    /// DeleteBucket.
    ///
    /// # Errors
    /// `NoSuchBucket`; `AccessDenied` for a caller that does not own it; `BucketNotEmpty` while any
    /// object, version or delete marker remains.
    pub fn delete_bucket(&self, bucket: &str) -> Result<()> {
        let checked = self.bucket_for(bucket, BucketAction::Configure("delete it"))?;
        self.store.delete_bucket_named(bucket, Some(checked.id))
    }

    /// PutBucketVersioning. A bucket once versioned never returns to unversioned: only `Enabled` and
    /// `Suspended` exist.
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub fn put_bucket_versioning(&self, bucket: &str, status: BucketVersioningStatus) -> Result<()> {
        let b = self.bucket_for(bucket, BucketAction::Configure("set its versioning"))?;
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
        Ok(BucketVersioningStatus::from_state(
            self.bucket_for(bucket, BucketAction::Configure("read its versioning"))?.versioning,
        ))
    }
}
