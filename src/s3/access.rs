//! Who may do what: S3's access decision for each operation, from the bucket's owner, its Object
//! Ownership, its ACL and the object's, and Block Public Access. Evaluation as S3: the bucket's
//! owner may configure its bucket and write and delete in it; anyone else needs a grant; with
//! `BucketOwnerEnforced` ACLs grant nothing (the bucket's owner owns every object); with
//! `IgnorePublicAcls` grants to AllUsers and AuthenticatedUsers count for nothing.
//!
//! A denied read never says whether the object exists: without permission to list the bucket a
//! missing key is `AccessDenied`, as S3 answers, not `NoSuchKey`.

use super::S3;
use super::acl::{AclHeaders, CannedAcl, Permission, StoredAcl};
use crate::engine::catalog::{BucketInfo, ObjectOwnership, PublicAccessBlockConfiguration};
use crate::engine::options::ObjectInfo;
use crate::error::{Error, Result};

/// What a call does to a bucket, as an access decision needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BucketAction {
    /// Listing objects, versions or uploads, HeadBucket: the bucket's `READ`.
    List,
    /// Writing or deleting objects, multipart calls: the bucket's `WRITE`.
    Write,
    /// GetBucketAcl: `READ_ACP`.
    ReadAcl,
    /// PutBucketAcl: `WRITE_ACP`.
    WriteAcl,
    /// An object-level call (GetObject, HeadObject, the object ACL calls): decided per object,
    /// after the bucket is found.
    Object,
    /// Anything else (versioning, encryption, ownership, Block Public Access, DeleteBucket): the
    /// bucket's owner only, as S3's default without a policy. The name is for the error.
    Configure(&'static str),
}

impl BucketAction {
    fn permission(self) -> Option<Permission> {
        match self {
            BucketAction::List => Some(Permission::Read),
            BucketAction::Write => Some(Permission::Write),
            BucketAction::ReadAcl => Some(Permission::ReadAcp),
            BucketAction::WriteAcl => Some(Permission::WriteAcp),
            BucketAction::Object | BucketAction::Configure(_) => None,
        }
    }
}

impl S3 {
    /// The caller's canonical id, if signed.
    fn caller_id(&self) -> Option<&str> {
        self.caller.as_ref().map(|a| a.canonical_id.as_str())
    }

    /// Whether the caller owns the bucket.
    pub(crate) fn owns(&self, b: &BucketInfo) -> bool {
        self.caller_id() == Some(b.owner.as_str())
    }

    /// Whether ACLs count in the bucket (anything but `BucketOwnerEnforced`).
    pub(crate) fn acls_enabled(b: &BucketInfo) -> bool {
        b.ownership != Some(ObjectOwnership::BucketOwnerEnforced)
    }

    /// The Block Public Access in force for the bucket: its own, with the store's.
    pub(crate) fn public_access_block(&self, b: &BucketInfo) -> PublicAccessBlockConfiguration {
        b.public_access_block.unwrap_or_default().or(self.store.store_public_access_block())
    }

    /// The bucket's ACL (its owner's private default when none was set).
    pub(crate) fn bucket_acl(b: &BucketInfo) -> StoredAcl {
        b.acl.clone().unwrap_or_else(|| StoredAcl::private(&b.owner))
    }

    /// The bucket `name` if the caller may do `action` on it. `NoSuchBucket` comes first, as S3
    /// answers (a bucket's existence is not secret).
    ///
    /// # Errors
    /// `NoSuchBucket`; `AccessDenied`.
    pub(crate) fn bucket_for(&self, name: &str, action: BucketAction) -> Result<BucketInfo> {
        let b = self.store.bucket(name)?;
        if action == BucketAction::Object || self.may_on_bucket(&b, action) {
            return Ok(b);
        }
        Err(self.denied(match action {
            BucketAction::Configure(what) => format!("only the owner of bucket {name} may {what}"),
            _ => format!("no grant of bucket {name} allows this"),
        }))
    }

    /// Whether the caller may do `action` on the bucket.
    pub(crate) fn may_on_bucket(&self, b: &BucketInfo, action: BucketAction) -> bool {
        if self.owns(b) {
            return true;
        }
        match action.permission() {
            Some(p) if Self::acls_enabled(b) => {
                let ignore = self.public_access_block(b).ignore_public_acls;
                Self::bucket_acl(b).allows(self.caller.as_ref(), p, ignore)
            }
            _ => false,
        }
    }

    /// The ACL that governs an object version: the one put on it since, else the one it was
    /// written with, else private to the bucket's owner. In a bucket with ACLs disabled, the
    /// bucket's owner owns it with FULL_CONTROL.
    pub(crate) fn object_acl(&self, b: &BucketInfo, info: &ObjectInfo) -> StoredAcl {
        if !Self::acls_enabled(b) {
            return StoredAcl::private(&b.owner);
        }
        self.store
            .object_acl_override(b.id, &info.key, info.seq)
            .or_else(|| info.acl.as_deref().and_then(StoredAcl::decode))
            .unwrap_or_else(|| StoredAcl::private(&b.owner))
    }

    /// Whether the caller holds `wanted` on the object version. Its owner always may read and
    /// replace its ACL, as in S3.
    pub(crate) fn may_on_object(&self, b: &BucketInfo, info: &ObjectInfo, wanted: Permission) -> bool {
        let acl = self.object_acl(b, info);
        if self.caller_id() == Some(acl.owner.as_str())
            && matches!(wanted, Permission::ReadAcp | Permission::WriteAcp)
        {
            return true;
        }
        acl.allows(self.caller.as_ref(), wanted, self.public_access_block(b).ignore_public_acls)
    }

    /// `AccessDenied` for an object the caller may not `wanted`.
    ///
    /// # Errors
    /// `AccessDenied`.
    pub(crate) fn check_object(&self, b: &BucketInfo, info: &ObjectInfo, wanted: Permission) -> Result<()> {
        if self.may_on_object(b, info, wanted) {
            return Ok(());
        }
        Err(self.denied(format!("no grant of {}/{} allows {}", b.name, info.key, wanted.as_str())))
    }

    /// What a read that failed says to this caller: a missing key or version becomes
    /// `AccessDenied` for a caller who may not list the bucket (S3 hides what exists from it);
    /// another error (an SSE-C key refused) becomes `AccessDenied` when the caller may not read
    /// the version at all.
    pub(crate) fn read_error(
        &self,
        b: &BucketInfo,
        key: &str,
        version: Option<crate::types::VersionId>,
        e: Error,
    ) -> Error {
        if self.owns(b) && !Self::acls_enabled(b) {
            return e;
        }
        match e {
            Error::NoSuchKey { .. } | Error::NoSuchVersion { .. } => {
                if self.may_on_bucket(b, BucketAction::List) {
                    e
                } else {
                    self.denied(format!("no grant of bucket {} allows listing it", b.name))
                }
            }
            Error::SseCustomerKeyMissing { .. }
            | Error::SseCustomerKeyMismatch { .. }
            | Error::SseCustomerKeyNotApplicable { .. } => match self.store.head(b.id, key, version) {
                Ok(info) if !self.may_on_object(b, &info, Permission::Read) => {
                    self.denied(format!("no grant of {}/{key} allows READ", b.name))
                }
                _ => e,
            },
            e => e,
        }
    }

    pub(crate) fn denied(&self, reason: String) -> Error {
        match &self.caller {
            Some(_) => Error::AccessDenied { reason },
            None => Error::AccessDenied { reason: format!("anonymous request: {reason}") },
        }
    }

    /// The owner and ACL a new object version gets from a write's ACL fields, as the bucket's Object
    /// Ownership and Block Public Access decide, encoded for its record (`None`: owned by the
    /// bucket's owner, private, which needs no bytes).
    ///
    /// # Errors
    /// `AccessControlListNotSupported` for an ACL other than `bucket-owner-full-control` in a
    /// bucket with ACLs disabled; `AccessDenied` for a public ACL under `BlockPublicAcls`; as
    /// [`AclHeaders::resolve`] for the fields themselves.
    pub(crate) fn new_object_acl(&self, b: &BucketInfo, headers: &AclHeaders<'_>) -> Result<Option<Vec<u8>>> {
        let writer = self.caller_id().unwrap_or("");
        let known = |id: &str| self.store.account(id).is_some();
        let preferred = b.ownership == Some(ObjectOwnership::BucketOwnerPreferred)
            && headers.acl == Some(CannedAcl::BucketOwnerFullControl.as_str());
        let owner =
            if !Self::acls_enabled(b) || preferred || writer.is_empty() { b.owner.as_str() } else { writer };
        let acl = headers.resolve(owner, &b.owner, &known)?;
        if !Self::acls_enabled(b) {
            return match acl {
                Some(a) if !a.only_full_control_of(writer, &b.owner) => {
                    Err(Error::AccessControlListNotSupported { bucket: b.name.clone() })
                }
                _ => Ok(None),
            };
        }
        self.refuse_public_acl(b, acl.as_ref())?;
        let acl = acl.unwrap_or_else(|| StoredAcl::private(owner));
        Ok((acl != StoredAcl::private(&b.owner)).then(|| acl.encode()))
    }

    /// `AccessDenied` for a public ACL where Block Public Access blocks public ACLs.
    pub(crate) fn refuse_public_acl(&self, b: &BucketInfo, acl: Option<&StoredAcl>) -> Result<()> {
        if acl.is_some_and(StoredAcl::is_public) && self.public_access_block(b).block_public_acls {
            return Err(self.denied(format!(
                "Block Public Access (BlockPublicAcls) of bucket {} refuses a public ACL",
                b.name
            )));
        }
        Ok(())
    }
}
