//! Access control lists as S3 has them: canned ACLs, grants to canonical users and to S3's
//! groups, the `x-amz-grant-*` header form, and how a grant answers "may this principal do that".
//!
//! A bucket's ACL lives in the catalog; an object version's ACL is written with the version (its
//! record meta, opaque to the engine) and replaced by PutObjectAcl through a catalog edit naming
//! the write (bucket, key, write sequence), so a rewritten `null` version never inherits the ACL
//! of the write before it.

use serde::{Deserialize, Serialize};

use crate::engine::catalog::Account;
use crate::error::{Error, Result};

/// S3's limit on grants in one ACL.
pub const GRANTS_MAX: usize = 100;

/// The canonical id S3's `aws-exec-read` canned ACL grants READ to (Amazon EC2's).
pub const AWS_EXEC_READ_ID: &str = "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c";

/// A permission an ACL grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    /// `FULL_CONTROL`: all four below.
    FullControl,
    /// `READ`: an object's body and metadata; a bucket's listing.
    Read,
    /// `WRITE`: a bucket's objects (create, overwrite, delete). Not grantable on objects.
    Write,
    /// `READ_ACP`: read the ACL.
    ReadAcp,
    /// `WRITE_ACP`: replace the ACL.
    WriteAcp,
}

impl Permission {
    /// S3's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::FullControl => "FULL_CONTROL",
            Permission::Read => "READ",
            Permission::Write => "WRITE",
            Permission::ReadAcp => "READ_ACP",
            Permission::WriteAcp => "WRITE_ACP",
        }
    }

    /// Parses S3's name.
    ///
    /// # Errors
    /// `MalformedACLError` naming the value.
    pub fn parse(s: &str) -> Result<Permission> {
        Ok(match s {
            "FULL_CONTROL" => Permission::FullControl,
            "READ" => Permission::Read,
            "WRITE" => Permission::Write,
            "READ_ACP" => Permission::ReadAcp,
            "WRITE_ACP" => Permission::WriteAcp,
            other => return Err(Error::MalformedAcl { reason: format!("unknown permission {other:?}") }),
        })
    }

    /// Whether holding `self` gives `wanted`.
    #[must_use]
    pub fn covers(self, wanted: Permission) -> bool {
        self == wanted || self == Permission::FullControl
    }
}

/// One of S3's predefined groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Group {
    /// Anyone, signed or not: a grant to it makes the resource public.
    AllUsers,
    /// Any signed request by any account: also public, as S3 counts it.
    AuthenticatedUsers,
    /// S3's log delivery (server access logs); no principal of this store is it.
    LogDelivery,
}

impl Group {
    /// The group's URI.
    #[must_use]
    pub fn uri(self) -> &'static str {
        match self {
            Group::AllUsers => "http://acs.amazonaws.com/groups/global/AllUsers",
            Group::AuthenticatedUsers => "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
            Group::LogDelivery => "http://acs.amazonaws.com/groups/s3/LogDelivery",
        }
    }

    /// The group a URI names.
    ///
    /// # Errors
    /// `InvalidArgument` naming the URI for any other.
    pub fn from_uri(uri: &str) -> Result<Group> {
        [Group::AllUsers, Group::AuthenticatedUsers, Group::LogDelivery]
            .into_iter()
            .find(|g| g.uri() == uri)
            .ok_or_else(|| Error::InvalidArgument {
                name: "uri",
                value: uri.to_owned(),
                reason: "not a group S3 knows".into(),
            })
    }
}

/// Who a grant is to, as a request names it and as GetObjectAcl reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    /// An account, by canonical id (`display_name` as the profile reports it; ignored on input).
    CanonicalUser {
        /// Canonical id.
        id: String,
        /// Display name.
        display_name: Option<String>,
    },
    /// A predefined group.
    Group(Group),
    /// An account by e-mail address (input only: this store knows no account by e-mail, so a
    /// grant naming one is refused with `UnresolvableGrantByEmailAddress`).
    EmailAddress(String),
}

/// One grant: a grantee and a permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Who.
    pub grantee: Grantee,
    /// What.
    pub permission: Permission,
}

/// An ACL in S3's XML shape (`AccessControlPolicy`): the resource's owner and its grants. The body
/// form of PutObjectAcl and PutBucketAcl, and what GetObjectAcl and GetBucketAcl return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessControlPolicy {
    /// The resource's owner.
    pub owner: super::types::Owner,
    /// Its grants.
    pub grants: Vec<Grant>,
}

/// S3's canned ACLs (`x-amz-acl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CannedAcl {
    /// `private`: the owner has FULL_CONTROL, no one else anything.
    Private,
    /// `public-read`: and AllUsers READ.
    PublicRead,
    /// `public-read-write`: and AllUsers READ and WRITE.
    PublicReadWrite,
    /// `authenticated-read`: and AuthenticatedUsers READ.
    AuthenticatedRead,
    /// `aws-exec-read`: and Amazon EC2 READ.
    AwsExecRead,
    /// `bucket-owner-read` (objects): and the bucket's owner READ.
    BucketOwnerRead,
    /// `bucket-owner-full-control` (objects): and the bucket's owner FULL_CONTROL.
    BucketOwnerFullControl,
    /// `log-delivery-write` (buckets): and LogDelivery WRITE and READ_ACP.
    LogDeliveryWrite,
}

impl CannedAcl {
    /// Parses the header value.
    ///
    /// # Errors
    /// `InvalidArgument` naming the value.
    pub fn parse(s: &str) -> Result<CannedAcl> {
        Ok(match s {
            "private" => CannedAcl::Private,
            "public-read" => CannedAcl::PublicRead,
            "public-read-write" => CannedAcl::PublicReadWrite,
            "authenticated-read" => CannedAcl::AuthenticatedRead,
            "aws-exec-read" => CannedAcl::AwsExecRead,
            "bucket-owner-read" => CannedAcl::BucketOwnerRead,
            "bucket-owner-full-control" => CannedAcl::BucketOwnerFullControl,
            "log-delivery-write" => CannedAcl::LogDeliveryWrite,
            other => {
                return Err(Error::InvalidArgument {
                    name: "x-amz-acl",
                    value: other.to_owned(),
                    reason: "not a canned ACL".into(),
                });
            }
        })
    }

    /// The header value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            CannedAcl::Private => "private",
            CannedAcl::PublicRead => "public-read",
            CannedAcl::PublicReadWrite => "public-read-write",
            CannedAcl::AuthenticatedRead => "authenticated-read",
            CannedAcl::AwsExecRead => "aws-exec-read",
            CannedAcl::BucketOwnerRead => "bucket-owner-read",
            CannedAcl::BucketOwnerFullControl => "bucket-owner-full-control",
            CannedAcl::LogDeliveryWrite => "log-delivery-write",
        }
    }
}

/// A grantee as stored: resolved to an account id or a group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) enum StoredGrantee {
    User(String),
    Group(Group),
}

/// An ACL as stored: the owner's canonical id and the grants (postcard, after a version byte).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredAcl {
    pub(crate) owner: String,
    pub(crate) grants: Vec<(StoredGrantee, Permission)>,
}

const STORED_ACL_VERSION: u8 = 1;

impl StoredAcl {
    /// The default ACL: `owner` has FULL_CONTROL.
    pub(crate) fn private(owner: &str) -> StoredAcl {
        StoredAcl {
            owner: owner.to_owned(),
            grants: vec![(StoredGrantee::User(owner.to_owned()), Permission::FullControl)],
        }
    }

    /// A canned ACL for a resource owned by `owner` in a bucket owned by `bucket_owner`.
    pub(crate) fn canned(canned: CannedAcl, owner: &str, bucket_owner: &str) -> StoredAcl {
        let mut acl = StoredAcl::private(owner);
        let mut add = |g: StoredGrantee, p| acl.grants.push((g, p));
        match canned {
            CannedAcl::Private => {}
            CannedAcl::PublicRead => add(StoredGrantee::Group(Group::AllUsers), Permission::Read),
            CannedAcl::PublicReadWrite => {
                add(StoredGrantee::Group(Group::AllUsers), Permission::Read);
                add(StoredGrantee::Group(Group::AllUsers), Permission::Write);
            }
            CannedAcl::AuthenticatedRead => {
                add(StoredGrantee::Group(Group::AuthenticatedUsers), Permission::Read);
            }
            CannedAcl::AwsExecRead => add(StoredGrantee::User(AWS_EXEC_READ_ID.into()), Permission::Read),
            CannedAcl::BucketOwnerRead if bucket_owner != owner => {
                add(StoredGrantee::User(bucket_owner.into()), Permission::Read);
            }
            CannedAcl::BucketOwnerFullControl if bucket_owner != owner => {
                add(StoredGrantee::User(bucket_owner.into()), Permission::FullControl);
            }
            CannedAcl::BucketOwnerRead | CannedAcl::BucketOwnerFullControl => {}
            CannedAcl::LogDeliveryWrite => {
                add(StoredGrantee::Group(Group::LogDelivery), Permission::Write);
                add(StoredGrantee::Group(Group::LogDelivery), Permission::ReadAcp);
            }
        }
        acl
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = vec![STORED_ACL_VERSION];
        out.extend(postcard::to_allocvec(self).expect("an ACL always encodes"));
        out
    }

    /// Decodes what [`StoredAcl::encode`] wrote; `None` for bytes it did not (a damaged or newer
    /// record: the caller treats the version as private to its bucket's owner).
    pub(crate) fn decode(bytes: &[u8]) -> Option<StoredAcl> {
        match bytes.split_first() {
            Some((&STORED_ACL_VERSION, rest)) => postcard::from_bytes(rest).ok(),
            _ => None,
        }
    }

    /// Whether a grant gives `who` the permission. `ignore_public` drops grants to AllUsers and
    /// AuthenticatedUsers (Block Public Access's `IgnorePublicAcls`).
    pub(crate) fn allows(&self, who: Option<&Account>, wanted: Permission, ignore_public: bool) -> bool {
        self.grants.iter().any(|(g, p)| {
            p.covers(wanted)
                && match g {
                    StoredGrantee::User(id) => who.is_some_and(|a| &a.canonical_id == id),
                    StoredGrantee::Group(Group::AllUsers) => !ignore_public,
                    StoredGrantee::Group(Group::AuthenticatedUsers) => !ignore_public && who.is_some(),
                    StoredGrantee::Group(Group::LogDelivery) => false,
                }
        })
    }

    /// Whether S3 calls this ACL public: a grant to AllUsers or AuthenticatedUsers.
    pub(crate) fn is_public(&self) -> bool {
        self.grants
            .iter()
            .any(|(g, _)| matches!(g, StoredGrantee::Group(Group::AllUsers | Group::AuthenticatedUsers)))
    }

    /// Whether every grant is to `a` or `b` with FULL_CONTROL (a bucket's default ACL, an object's
    /// `bucket-owner-full-control`): what a bucket with ACLs disabled accepts.
    pub(crate) fn only_full_control_of(&self, a: &str, b: &str) -> bool {
        self.grants.iter().all(|(g, p)| {
            *p == Permission::FullControl && matches!(g, StoredGrantee::User(id) if id == a || id == b)
        })
    }
}

/// The ACL fields of a request: a canned ACL or explicit grants in `x-amz-grant-*` form
/// (`id="…"`, `uri="…"`, `emailAddress="…"`, comma-separated), not both.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AclHeaders<'a> {
    pub(crate) acl: Option<&'a str>,
    pub(crate) grant_full_control: Option<&'a str>,
    pub(crate) grant_read: Option<&'a str>,
    pub(crate) grant_read_acp: Option<&'a str>,
    pub(crate) grant_write: Option<&'a str>,
    pub(crate) grant_write_acp: Option<&'a str>,
}

impl<'a> AclHeaders<'a> {
    /// The ACL fields of an object write (objects take no `WRITE` grant).
    pub(crate) fn object(
        acl: &'a Option<String>,
        grant_full_control: &'a Option<String>,
        grant_read: &'a Option<String>,
        grant_read_acp: &'a Option<String>,
        grant_write_acp: &'a Option<String>,
    ) -> AclHeaders<'a> {
        AclHeaders {
            acl: acl.as_deref(),
            grant_full_control: grant_full_control.as_deref(),
            grant_read: grant_read.as_deref(),
            grant_read_acp: grant_read_acp.as_deref(),
            grant_write: None,
            grant_write_acp: grant_write_acp.as_deref(),
        }
    }

    fn grants(&self) -> [(Permission, &'static str, Option<&str>); 5] {
        [
            (Permission::FullControl, "x-amz-grant-full-control", self.grant_full_control),
            (Permission::Read, "x-amz-grant-read", self.grant_read),
            (Permission::ReadAcp, "x-amz-grant-read-acp", self.grant_read_acp),
            (Permission::Write, "x-amz-grant-write", self.grant_write),
            (Permission::WriteAcp, "x-amz-grant-write-acp", self.grant_write_acp),
        ]
    }

    /// Whether the request names any ACL.
    pub(crate) fn is_some(&self) -> bool {
        self.acl.is_some() || self.grants().iter().any(|(_, _, v)| v.is_some())
    }

    /// The ACL the request asks for, for a resource owned by `owner` in a bucket owned by
    /// `bucket_owner` (`None` when it asks for none). `known` says whether a canonical id is an
    /// account of this store.
    ///
    /// # Errors
    /// `InvalidRequest` for a canned ACL together with grant headers; `InvalidArgument` for an
    /// unknown canned ACL, a grant header that does not parse, an id no account has or an unknown
    /// group; `UnresolvableGrantByEmailAddress`; `MalformedACLError` past 100 grants.
    pub(crate) fn resolve(
        &self,
        owner: &str,
        bucket_owner: &str,
        known: &dyn Fn(&str) -> bool,
    ) -> Result<Option<StoredAcl>> {
        let explicit = self.grants().iter().any(|(_, _, v)| v.is_some());
        match (self.acl, explicit) {
            (Some(_), true) => Err(Error::InvalidRequest {
                reason: "Specifying both Canned ACLs and Header Grants is not allowed".into(),
            }),
            (Some(canned), false) => {
                Ok(Some(StoredAcl::canned(CannedAcl::parse(canned)?, owner, bucket_owner)))
            }
            (None, false) => Ok(None),
            (None, true) => {
                let mut grants = Vec::new();
                for (permission, header, value) in self.grants() {
                    let Some(value) = value else { continue };
                    for grantee in parse_grantees(header, value)? {
                        grants.push((stored_grantee(grantee, known)?, permission));
                    }
                }
                check_grant_count(grants.len())?;
                Ok(Some(StoredAcl { owner: owner.to_owned(), grants }))
            }
        }
    }
}

fn check_grant_count(n: usize) -> Result<()> {
    if n > GRANTS_MAX {
        return Err(Error::MalformedAcl { reason: format!("{n} grants; an ACL has at most {GRANTS_MAX}") });
    }
    Ok(())
}

/// Resolves a request's grantee to what is stored.
fn stored_grantee(grantee: Grantee, known: &dyn Fn(&str) -> bool) -> Result<StoredGrantee> {
    match grantee {
        Grantee::CanonicalUser { id, .. } if known(&id) || id == AWS_EXEC_READ_ID => {
            Ok(StoredGrantee::User(id))
        }
        Grantee::CanonicalUser { id, .. } => Err(Error::InvalidArgument {
            name: "grantee id",
            value: id,
            reason: "Invalid id: no account of this store has it".into(),
        }),
        Grantee::Group(g) => Ok(StoredGrantee::Group(g)),
        Grantee::EmailAddress(email) => Err(Error::UnresolvableGrantByEmailAddress { email }),
    }
}

/// Parses one `x-amz-grant-*` header: `id="…"`, `uri="…"` or `emailAddress="…"`, comma-separated,
/// each value quoted or not.
fn parse_grantees(header: &'static str, value: &str) -> Result<Vec<Grantee>> {
    let bad =
        |why: &str| Error::InvalidArgument { name: header, value: value.to_owned(), reason: why.to_owned() };
    let mut out = Vec::new();
    for item in value.split(',') {
        let item = item.trim();
        let (kind, v) = item.split_once('=').ok_or_else(|| bad("each grantee is type=\"value\""))?;
        let v = v.trim();
        let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
        if v.is_empty() {
            return Err(bad("a grantee's value is empty"));
        }
        out.push(match kind.trim() {
            "id" => Grantee::CanonicalUser { id: v.to_owned(), display_name: None },
            "uri" => Grantee::Group(Group::from_uri(v)?),
            "emailAddress" => Grantee::EmailAddress(v.to_owned()),
            _ => return Err(bad("a grantee type is id, uri or emailAddress")),
        });
    }
    Ok(out)
}

/// The stored form of an `AccessControlPolicy` body: its grants resolved, its owner checked.
///
/// # Errors
/// `AccessDenied` when the body names another owner than `owner` (an ACL cannot change who owns a
/// resource); as [`AclHeaders::resolve`] for its grantees and count.
pub(crate) fn from_policy(
    policy: &AccessControlPolicy,
    owner: &str,
    known: &dyn Fn(&str) -> bool,
) -> Result<StoredAcl> {
    if policy.owner.id != owner {
        return Err(Error::AccessDenied {
            reason: format!("the ACL names owner {} but the resource is owned by {owner}", policy.owner.id),
        });
    }
    check_grant_count(policy.grants.len())?;
    let grants = policy
        .grants
        .iter()
        .map(|g| Ok((stored_grantee(g.grantee.clone(), known)?, g.permission)))
        .collect::<Result<Vec<_>>>()?;
    Ok(StoredAcl { owner: owner.to_owned(), grants })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str) -> Account {
        Account { canonical_id: id.into(), display_name: id.into() }
    }

    #[test]
    fn canned_acls_grant_what_s3_says() {
        let (o, b) = ("owner", "bucket-owner");
        let (me, other, bo) = (account(o), account("x"), account(b));
        let acl = StoredAcl::canned(CannedAcl::PublicRead, o, b);
        assert!(acl.allows(None, Permission::Read, false) && !acl.allows(None, Permission::Write, false));
        assert!(!acl.allows(None, Permission::Read, true), "IgnorePublicAcls");
        assert!(acl.allows(Some(&me), Permission::WriteAcp, true), "the owner keeps FULL_CONTROL");
        assert!(acl.is_public());
        let acl = StoredAcl::canned(CannedAcl::AuthenticatedRead, o, b);
        assert!(
            acl.allows(Some(&other), Permission::Read, false) && !acl.allows(None, Permission::Read, false)
        );
        assert!(acl.is_public(), "S3 counts AuthenticatedUsers as public");
        let acl = StoredAcl::canned(CannedAcl::BucketOwnerFullControl, o, b);
        assert!(acl.allows(Some(&bo), Permission::Read, false) && acl.only_full_control_of(o, b));
        assert_eq!(StoredAcl::canned(CannedAcl::BucketOwnerFullControl, b, b), StoredAcl::private(b));
        let acl = StoredAcl::canned(CannedAcl::BucketOwnerRead, o, b);
        assert!(
            acl.allows(Some(&bo), Permission::Read, false)
                && !acl.allows(Some(&bo), Permission::ReadAcp, false)
        );
        assert!(!acl.only_full_control_of(o, b));
        let acl = StoredAcl::canned(CannedAcl::PublicReadWrite, o, b);
        assert!(acl.allows(None, Permission::Write, false));
        let acl = StoredAcl::canned(CannedAcl::LogDeliveryWrite, o, b);
        assert!(!acl.allows(None, Permission::Write, false) && !acl.is_public());
        let acl = StoredAcl::canned(CannedAcl::Private, o, b);
        assert!(!acl.allows(Some(&other), Permission::Read, false) && !acl.is_public());
        for name in [
            "private",
            "public-read",
            "public-read-write",
            "authenticated-read",
            "aws-exec-read",
            "bucket-owner-read",
            "bucket-owner-full-control",
            "log-delivery-write",
        ] {
            assert_eq!(CannedAcl::parse(name).unwrap().as_str(), name);
        }
        assert_eq!(CannedAcl::parse("public").unwrap_err().code(), "InvalidArgument");
    }

    #[test]
    fn grant_headers_parse_and_refuse_what_s3_refuses() {
        let known = |id: &str| id == "alice" || id == "owner";
        let h = AclHeaders {
            grant_read: Some(r#"id="alice", uri="http://acs.amazonaws.com/groups/global/AllUsers""#),
            grant_write_acp: Some("id=alice"),
            ..AclHeaders::default()
        };
        let acl = h.resolve("owner", "owner", &known).unwrap().unwrap();
        assert_eq!(acl.grants.len(), 3);
        assert!(acl.allows(None, Permission::Read, false));
        assert!(acl.allows(Some(&account("alice")), Permission::WriteAcp, false));
        assert!(
            !acl.allows(Some(&account("owner")), Permission::FullControl, false),
            "explicit grants replace the default"
        );
        let both = AclHeaders { acl: Some("private"), grant_read: Some("id=alice"), ..AclHeaders::default() };
        assert_eq!(both.resolve("owner", "owner", &known).unwrap_err().code(), "InvalidRequest");
        for (value, code) in [
            ("id=\"nobody\"", "InvalidArgument"),
            ("uri=\"http://acs.amazonaws.com/groups/global/Everyone\"", "InvalidArgument"),
            ("emailAddress=\"a@example.com\"", "UnresolvableGrantByEmailAddress"),
            ("alice", "InvalidArgument"),
            ("id=\"\"", "InvalidArgument"),
            ("name=\"alice\"", "InvalidArgument"),
        ] {
            let h = AclHeaders { grant_read: Some(value), ..AclHeaders::default() };
            let e = h.resolve("owner", "owner", &known).unwrap_err();
            assert_eq!(e.code(), code, "{value}: {e}");
        }
        let many = vec!["id=alice"; GRANTS_MAX + 1].join(",");
        let h = AclHeaders { grant_read: Some(&many), ..AclHeaders::default() };
        assert_eq!(h.resolve("owner", "owner", &known).unwrap_err().code(), "MalformedACLError");
        let many = vec!["id=alice"; GRANTS_MAX].join(",");
        let h = AclHeaders { grant_read: Some(&many), ..AclHeaders::default() };
        assert!(h.resolve("owner", "owner", &known).is_ok());
        assert_eq!(AclHeaders::default().resolve("owner", "owner", &known).unwrap(), None);
    }

    #[test]
    fn stored_acls_round_trip_and_refuse_garbage() {
        let acl = StoredAcl::canned(CannedAcl::PublicReadWrite, "o", "b");
        assert_eq!(StoredAcl::decode(&acl.encode()), Some(acl));
        assert_eq!(StoredAcl::decode(&[]), None);
        assert_eq!(StoredAcl::decode(&[2, 0]), None);
        assert_eq!(StoredAcl::decode(&[1, 0xff, 0xff]), None);
    }
}
