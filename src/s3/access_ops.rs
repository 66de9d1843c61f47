//! The access-control operations: bucket and object ACLs, Object Ownership, Block Public Access
//! (per bucket, and store-wide as S3's account-level setting).

use super::S3;
use super::access::BucketAction;
use super::acl::{AccessControlPolicy, AclHeaders, Grant, Grantee, StoredAcl, StoredGrantee, from_policy};
use crate::engine::catalog::{BucketInfo, CatalogEdit, ObjectOwnership, PublicAccessBlockConfiguration};
use crate::error::{Error, Result};
use crate::types::VersionId;

/// PutBucketAcl input: a canned ACL, grant headers, or an `AccessControlPolicy` body (one of them).
#[derive(Debug, Clone, Default)]
pub struct PutBucketAclRequest {
    /// Bucket.
    pub bucket: String,
    /// `x-amz-acl`.
    pub acl: Option<String>,
    /// `x-amz-grant-full-control`.
    pub grant_full_control: Option<String>,
    /// `x-amz-grant-read`.
    pub grant_read: Option<String>,
    /// `x-amz-grant-read-acp`.
    pub grant_read_acp: Option<String>,
    /// `x-amz-grant-write`.
    pub grant_write: Option<String>,
    /// `x-amz-grant-write-acp`.
    pub grant_write_acp: Option<String>,
    /// The body form.
    pub access_control_policy: Option<AccessControlPolicy>,
}

/// PutObjectAcl input: a canned ACL, grant headers, or an `AccessControlPolicy` body (one of them).
#[derive(Debug, Clone, Default)]
pub struct PutObjectAclRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// The version (`None`: the current one).
    pub version_id: Option<String>,
    /// `x-amz-acl`.
    pub acl: Option<String>,
    /// `x-amz-grant-full-control`.
    pub grant_full_control: Option<String>,
    /// `x-amz-grant-read`.
    pub grant_read: Option<String>,
    /// `x-amz-grant-read-acp`.
    pub grant_read_acp: Option<String>,
    /// `x-amz-grant-write-acp`.
    pub grant_write_acp: Option<String>,
    /// The body form.
    pub access_control_policy: Option<AccessControlPolicy>,
}

/// GetObjectAcl input.
#[derive(Debug, Clone, Default)]
pub struct GetObjectAclRequest {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// The version (`None`: the current one).
    pub version_id: Option<String>,
}

impl S3 {
    /// An ACL as S3 shows it.
    fn policy_of(&self, acl: &StoredAcl) -> AccessControlPolicy {
        let grants = acl
            .grants
            .iter()
            .map(|(g, p)| Grant {
                grantee: match g {
                    StoredGrantee::User(id) => Grantee::CanonicalUser {
                        id: id.clone(),
                        display_name: self.owner_by_id(id).display_name,
                    },
                    StoredGrantee::Group(g) => Grantee::Group(*g),
                },
                permission: *p,
            })
            .collect();
        AccessControlPolicy { owner: self.owner_by_id(&acl.owner), grants }
    }

    /// The ACL a put-ACL request asks for, for a resource owned by `owner`.
    fn requested_acl(
        &self,
        b: &BucketInfo,
        owner: &str,
        headers: &AclHeaders<'_>,
        body: Option<&AccessControlPolicy>,
    ) -> Result<StoredAcl> {
        let known = |id: &str| self.store.account(id).is_some();
        match (headers.is_some(), body) {
            (true, Some(_)) => Err(Error::InvalidRequest {
                reason: "an ACL is given either in headers or in the body, not both".into(),
            }),
            (false, None) => Err(Error::InvalidRequest {
                reason: "no ACL given: send x-amz-acl, x-amz-grant-* headers or an AccessControlPolicy body"
                    .into(),
            }),
            (false, Some(policy)) => from_policy(policy, owner, &known),
            (true, None) => Ok(headers.resolve(owner, &b.owner, &known)?.expect("headers name an ACL")),
        }
    }

    /// GetBucketAcl: the bucket's owner and grants (with ACLs disabled, its owner's FULL_CONTROL).
    ///
    /// # Errors
    /// `NoSuchBucket`; `AccessDenied` without `READ_ACP`.
    pub fn get_bucket_acl(&self, bucket: &str) -> Result<AccessControlPolicy> {
        let b = self.bucket_for(bucket, BucketAction::ReadAcl)?;
        let acl = if Self::acls_enabled(&b) { Self::bucket_acl(&b) } else { StoredAcl::private(&b.owner) };
        Ok(self.policy_of(&acl))
    }

    /// PutBucketAcl.
    ///
    /// # Errors
    /// `NoSuchBucket`; `AccessDenied` without `WRITE_ACP`, or for a public ACL under
    /// `BlockPublicAcls`; `AccessControlListNotSupported` for anything but the private ACL in a
    /// bucket with ACLs disabled; `InvalidRequest` for no ACL or two forms at once; as the grants
    /// are checked (`InvalidArgument`, `UnresolvableGrantByEmailAddress`, `MalformedACLError`).
    pub fn put_bucket_acl(&self, req: PutBucketAclRequest) -> Result<()> {
        let b = self.bucket_for(&req.bucket, BucketAction::WriteAcl)?;
        let headers = AclHeaders {
            acl: req.acl.as_deref(),
            grant_full_control: req.grant_full_control.as_deref(),
            grant_read: req.grant_read.as_deref(),
            grant_read_acp: req.grant_read_acp.as_deref(),
            grant_write: req.grant_write.as_deref(),
            grant_write_acp: req.grant_write_acp.as_deref(),
        };
        let acl = self.requested_acl(&b, &b.owner, &headers, req.access_control_policy.as_ref())?;
        if !Self::acls_enabled(&b) {
            if !acl.only_full_control_of(&b.owner, &b.owner) {
                return Err(Error::AccessControlListNotSupported { bucket: b.name });
            }
            return Ok(());
        }
        self.refuse_public_acl(&b, Some(&acl))?;
        self.store.edit_bucket(b.id, |_| Ok(CatalogEdit::BucketAcl { id: b.id.0, acl }))
    }

    /// GetObjectAcl: the version's owner and grants (with ACLs disabled, the bucket owner's
    /// FULL_CONTROL).
    ///
    /// # Errors
    /// `NoSuchBucket`; `NoSuchKey`/`NoSuchVersion` (`AccessDenied` instead for a caller who may not
    /// list the bucket); `AccessDenied` without `READ_ACP`; `InvalidArgument` for a bad version id.
    pub fn get_object_acl(&self, req: GetObjectAclRequest) -> Result<AccessControlPolicy> {
        let b = self.bucket_for(&req.bucket, BucketAction::Object)?;
        let version = req.version_id.as_deref().map(VersionId::parse).transpose()?;
        let info = self
            .store
            .head(b.id, &req.key, version)
            .map_err(|e| self.read_error(&b, &req.key, version, e))?;
        if info.is_delete_marker {
            return Err(Error::MethodNotAllowed {
                bucket: b.name,
                key: req.key,
                version_id: info.version_id.to_string(),
            });
        }
        self.check_object(&b, &info, super::acl::Permission::ReadAcp)?;
        Ok(self.policy_of(&self.object_acl(&b, &info)))
    }

    /// PutObjectAcl: replaces the ACL of one version (the current one without a version id).
    ///
    /// # Errors
    /// As [`S3::get_object_acl`], with `WRITE_ACP`; `AccessControlListNotSupported` for anything
    /// but `bucket-owner-full-control` in a bucket with ACLs disabled; `AccessDenied` for a public
    /// ACL under `BlockPublicAcls`; as [`S3::put_bucket_acl`] for the ACL itself.
    pub fn put_object_acl(&self, req: PutObjectAclRequest) -> Result<()> {
        let b = self.bucket_for(&req.bucket, BucketAction::Object)?;
        let version = req.version_id.as_deref().map(VersionId::parse).transpose()?;
        let info = self
            .store
            .head(b.id, &req.key, version)
            .map_err(|e| self.read_error(&b, &req.key, version, e))?;
        if info.is_delete_marker {
            return Err(Error::MethodNotAllowed {
                bucket: b.name,
                key: req.key,
                version_id: info.version_id.to_string(),
            });
        }
        self.check_object(&b, &info, super::acl::Permission::WriteAcp)?;
        let owner = self.object_acl(&b, &info).owner;
        let headers = AclHeaders {
            acl: req.acl.as_deref(),
            grant_full_control: req.grant_full_control.as_deref(),
            grant_read: req.grant_read.as_deref(),
            grant_read_acp: req.grant_read_acp.as_deref(),
            grant_write: None,
            grant_write_acp: req.grant_write_acp.as_deref(),
        };
        let acl = self.requested_acl(&b, &owner, &headers, req.access_control_policy.as_ref())?;
        if !Self::acls_enabled(&b) {
            let writer = self.caller.as_ref().map_or("", |a| a.canonical_id.as_str());
            if !acl.only_full_control_of(writer, &b.owner) {
                return Err(Error::AccessControlListNotSupported { bucket: b.name });
            }
            return Ok(());
        }
        self.refuse_public_acl(&b, Some(&acl))?;
        self.store.set_object_acl(b.id, &info.key, info.seq, acl)
    }

    /// PutBucketOwnershipControls.
    ///
    /// # Errors
    /// `NoSuchBucket`; `AccessDenied` but for the bucket's owner; `InvalidBucketAclWithObjectOwnership`
    /// for `BucketOwnerEnforced` while the bucket's ACL grants anyone but its owner.
    pub fn put_bucket_ownership_controls(&self, bucket: &str, ownership: ObjectOwnership) -> Result<()> {
        let b = self.bucket_for(bucket, BucketAction::Configure("set its ownership controls"))?;
        self.store.edit_bucket(b.id, |b| {
            if ownership == ObjectOwnership::BucketOwnerEnforced
                && !Self::bucket_acl(b).only_full_control_of(&b.owner, &b.owner)
            {
                return Err(Error::InvalidBucketAclWithObjectOwnership { bucket: b.name.clone() });
            }
            Ok(CatalogEdit::BucketOwnership { id: b.id.0, ownership: Some(ownership) })
        })
    }

    /// GetBucketOwnershipControls.
    ///
    /// # Errors
    /// `NoSuchBucket`; `AccessDenied` but for the bucket's owner; `OwnershipControlsNotFoundError`.
    pub fn get_bucket_ownership_controls(&self, bucket: &str) -> Result<ObjectOwnership> {
        let b = self.bucket_for(bucket, BucketAction::Configure("read its ownership controls"))?;
        b.ownership.ok_or(Error::OwnershipControlsNotFound { bucket: b.name })
    }

    /// DeleteBucketOwnershipControls: the bucket then acts as `ObjectWriter`.
    ///
    /// # Errors
    /// `NoSuchBucket`; `AccessDenied` but for the bucket's owner.
    pub fn delete_bucket_ownership_controls(&self, bucket: &str) -> Result<()> {
        let b = self.bucket_for(bucket, BucketAction::Configure("delete its ownership controls"))?;
        self.store.edit_bucket(b.id, |b| Ok(CatalogEdit::BucketOwnership { id: b.id.0, ownership: None }))
    }

    /// PutPublicAccessBlock on a bucket.
    ///
    /// # Errors
    /// `NoSuchBucket`; `AccessDenied` but for the bucket's owner.
    pub fn put_public_access_block(
        &self,
        bucket: &str,
        config: PublicAccessBlockConfiguration,
    ) -> Result<()> {
        let b = self.bucket_for(bucket, BucketAction::Configure("set its public access block"))?;
        self.store.edit_bucket(b.id, |b| {
            Ok(CatalogEdit::BucketPublicAccessBlock { id: b.id.0, config: Some(config) })
        })
    }

    /// GetPublicAccessBlock of a bucket (its own setting, not the store's).
    ///
    /// # Errors
    /// `NoSuchBucket`; `AccessDenied` but for the bucket's owner; `NoSuchPublicAccessBlockConfiguration`.
    pub fn get_public_access_block(&self, bucket: &str) -> Result<PublicAccessBlockConfiguration> {
        let b = self.bucket_for(bucket, BucketAction::Configure("read its public access block"))?;
        b.public_access_block.ok_or(Error::NoSuchPublicAccessBlockConfiguration { scope: b.name })
    }

    /// DeletePublicAccessBlock of a bucket.
    ///
    /// # Errors
    /// `NoSuchBucket`; `AccessDenied` but for the bucket's owner.
    pub fn delete_public_access_block(&self, bucket: &str) -> Result<()> {
        let b = self.bucket_for(bucket, BucketAction::Configure("delete its public access block"))?;
        self.store
            .edit_bucket(b.id, |b| Ok(CatalogEdit::BucketPublicAccessBlock { id: b.id.0, config: None }))
    }

    fn store_owner_only(&self, what: &str) -> Result<()> {
        if self.caller_is_store_owner() {
            return Ok(());
        }
        Err(self.denied(format!("only the store's owner may {what} the store-wide public access block")))
    }

    fn caller_is_store_owner(&self) -> bool {
        self.caller.as_ref().is_some_and(|a| *a == self.store.owner())
    }

    /// Sets the store-wide Block Public Access (S3 Control's account-level PutPublicAccessBlock):
    /// a setting on here is on for every bucket.
    ///
    /// # Errors
    /// `AccessDenied` but for the store's owner.
    pub fn put_store_public_access_block(&self, config: PublicAccessBlockConfiguration) -> Result<()> {
        self.store_owner_only("set")?;
        self.store.set_store_public_access_block(Some(config))
    }

    /// The store-wide Block Public Access.
    ///
    /// # Errors
    /// `AccessDenied` but for the store's owner; `NoSuchPublicAccessBlockConfiguration`.
    pub fn get_store_public_access_block(&self) -> Result<PublicAccessBlockConfiguration> {
        self.store_owner_only("read")?;
        self.store
            .store_public_access_block()
            .ok_or_else(|| Error::NoSuchPublicAccessBlockConfiguration { scope: "the store".into() })
    }

    /// Deletes the store-wide Block Public Access.
    ///
    /// # Errors
    /// `AccessDenied` but for the store's owner.
    pub fn delete_store_public_access_block(&self) -> Result<()> {
        self.store_owner_only("delete")?;
        self.store.set_store_public_access_block(None)
    }
}
