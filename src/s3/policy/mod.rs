//! Bucket policies: parsing a policy document as PutBucketPolicy checks it, and evaluating a
//! request against it. Pure code (no store, no I/O, no clock of its own); the operations that
//! enforce a policy call [`BucketPolicy::evaluate`] with what they know of the request.
//!
//! ```
//! use s3lite::s3::policy::{BucketPolicy, PolicyDecision, PolicyRequest, Principal, RequestContext};
//!
//! let policy = BucketPolicy::parse(
//!     r#"{"Version": "2012-10-17", "Statement": [{
//!         "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
//!         "Resource": "arn:aws:s3:::photos/public/*"}]}"#,
//!     "photos",
//! )?;
//! let context = RequestContext::default(); // an in-process call
//! let request = |resource| PolicyRequest {
//!     principal: Principal::Anonymous,
//!     action: "s3:GetObject",
//!     resource,
//!     context: &context,
//!     now_ms: 0,
//!     keys: &[],
//! };
//! assert_eq!(policy.evaluate(&request("arn:aws:s3:::photos/public/cat.jpg")), PolicyDecision::Allow);
//! assert_eq!(policy.evaluate(&request("arn:aws:s3:::photos/private/dog.jpg")), PolicyDecision::Implicit);
//! assert!(policy.is_public());
//! # Ok::<(), s3lite::Error>(())
//! ```
//!
//! Files: `parse.rs` (the document and its statements), `conditions.rs` (operators and keys),
//! `actions.rs` (S3's actions and their resource kinds), `pattern.rs` (wildcards and policy
//! variables), `values.rs` (dates, numbers, CIDR blocks), `evaluate.rs` (a request against the
//! statements), `public.rs` (Block Public Access's "is this policy public").

mod actions;
mod conditions;
mod evaluate;
mod parse;
mod pattern;
mod public;
#[cfg(test)]
mod tests;
mod values;

use std::net::IpAddr;

use crate::error::{Error, Result};

/// The largest policy document S3 accepts, in bytes, counted without the JSON whitespace
/// between tokens (S3 measures a pretty-printed document as if minified).
pub const POLICY_BYTES_MAX: usize = 20 * 1024;

/// A parsed and checked bucket policy.
#[derive(Debug, Clone)]
pub struct BucketPolicy {
    text: String,
    doc: parse::Document,
}

impl BucketPolicy {
    /// Parses and checks a policy document for the bucket `bucket`, as PutBucketPolicy does; the
    /// text is kept as given, for GetBucketPolicy.
    ///
    /// What S3 checks, and so this: the size ([`POLICY_BYTES_MAX`]); the JSON (its first byte
    /// `{`, no name twice in an object); `Version` `2012-10-17` or `2008-10-17` (absent means
    /// `2008-10-17`, where `${...}` is plain text); `Statement` (one object or a non-empty array)
    /// with unique `Sid`s; in each statement `Effect`, exactly one of `Principal`/`NotPrincipal`
    /// (`"*"`, `{"AWS": "*" | "<12-digit id>" | "arn:aws:iam::<id>:root"}`,
    /// `{"CanonicalUser": "<64 hex>"}`, `{"Service": "..."}`, arrays of these), one of
    /// `Action`/`NotAction` (S3 actions, case-insensitive, with `*` and `?`), one of
    /// `Resource`/`NotResource` (this bucket's ARN or ARNs under it), and an optional
    /// `Condition`; an action that applies to none of the statement's resources is refused.
    ///
    /// # Errors
    /// [`Error::MalformedPolicy`] with S3's message: `Policies must be less than 20 KB`,
    /// `This policy contains invalid Json`, `Missing required field Principal`,
    /// `Invalid principal in policy`, `Policy has invalid action`, `Policy has invalid resource`,
    /// `Invalid Condition type : X`, `Policy has an invalid condition key`, ...
    pub fn parse(json: &str, bucket: &str) -> Result<BucketPolicy> {
        let doc = parse::parse_document(json, bucket).map_err(|reason| Error::MalformedPolicy { reason })?;
        Ok(BucketPolicy { text: json.to_owned(), doc })
    }

    /// The document as it was given.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The policy language version: `2012-10-17`, or `2008-10-17` (also when the document names
    /// none).
    #[must_use]
    pub fn version(&self) -> &'static str {
        self.doc.version
    }

    /// The document's `Id`, if it has one.
    #[must_use]
    pub fn id(&self) -> Option<&str> {
        self.doc.id.as_deref()
    }

    /// What the policy says about a request: [`PolicyDecision::Deny`] if a Deny statement
    /// applies (an explicit deny wins, whatever allows), else [`PolicyDecision::Allow`] if an
    /// Allow statement applies, else [`PolicyDecision::Implicit`]. A statement applies when its
    /// principal, action, resource and every condition match. The owner's exemptions (a bucket
    /// owner can always put or delete the policy) are the caller's to apply.
    #[must_use]
    pub fn evaluate(&self, req: &PolicyRequest<'_>) -> PolicyDecision {
        let mut allowed = false;
        for statement in &self.doc.statements {
            if evaluate::applies(statement, req) {
                match statement.effect {
                    parse::Effect::Deny => return PolicyDecision::Deny,
                    parse::Effect::Allow => allowed = true,
                }
            }
        }
        if allowed { PolicyDecision::Allow } else { PolicyDecision::Implicit }
    }

    /// Whether S3 calls this policy public (what Block Public Access's `BlockPublicPolicy`
    /// refuses and `RestrictPublicBuckets` restricts; GetBucketPolicyStatus's `IsPublic`).
    ///
    /// S3 starts from "public" and calls a policy non-public when every Allow statement that
    /// grants to everyone (`"*"`, `{"AWS": "*"}`, or a `NotPrincipal`) is pinned by a condition
    /// to fixed values (no wildcard, no policy variable) of: `aws:SourceIp` (CIDR blocks no
    /// broader than /8 for IPv4, /32 for IPv6), `aws:SourceArn`, `aws:SourceVpc`,
    /// `aws:SourceVpce`, `aws:SourceOwner`, `aws:SourceAccount`, `aws:userid` (a `ROLEID:*`
    /// pattern counts as fixed), `s3:DataAccessPointArn` (the access point name may be a
    /// wildcard), `s3:DataAccessPointAccount`, `s3:x-amz-server-side-encryption-aws-kms-key-id`;
    /// and, as they name an account or organization as surely as a fixed principal does,
    /// `aws:PrincipalAccount`, `aws:PrincipalArn`, `aws:PrincipalOrgID`. A pinning condition is
    /// a positive one (`StringEquals`, `StringEqualsIgnoreCase`, `StringLike`, `ArnEquals`,
    /// `ArnLike`, `IpAddress`, optionally `ForAnyValue:`), without `IfExists`.
    #[must_use]
    pub fn is_public(&self) -> bool {
        self.doc.statements.iter().any(public::is_public_statement)
    }
}

/// The outcome of [`BucketPolicy::evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyDecision {
    /// An Allow statement applies and no Deny statement does.
    Allow,
    /// A Deny statement applies: refuse, whatever ACLs or owners say.
    Deny,
    /// No statement applies: the policy has no opinion (ACLs and ownership decide).
    Implicit,
}

/// Who sends a request, as a policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal<'a> {
    /// An unsigned request: matched by `"*"` and `{"AWS": "*"}` only.
    Anonymous,
    /// An account of the store.
    Account {
        /// Its canonical id (64 hex digits), matched by `{"CanonicalUser": ...}`.
        canonical_id: &'a str,
        /// Its 12-digit account id ([`crate::Account::account_id`]), matched
        /// by `{"AWS": "<id>"}` and `{"AWS": "arn:aws:iam::<id>:root"}`.
        account_id: &'a str,
    },
}

/// How a request reached the store: what `aws:SecureTransport` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// A call in the same process (the `S3` handle, the client): no network to eavesdrop on, so
    /// `aws:SecureTransport` is `true`, and a policy that denies insecure transport does not
    /// lock out the program embedding the store.
    #[default]
    InProcess,
    /// HTTPS: `aws:SecureTransport` is `true`.
    Https,
    /// Plain HTTP: `aws:SecureTransport` is `false`.
    Http,
}

/// What the host knows about a request beyond its operation: where it came from and how.
///
/// The default is an in-process call: no source address (so `aws:SourceIp` is absent: an
/// `IpAddress` condition is false, a `NotIpAddress` one true) and [`Transport::InProcess`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestContext {
    /// The client's address (`aws:SourceIp`), `None` when there is no network peer.
    pub source_ip: Option<IpAddr>,
    /// How the request arrived (`aws:SecureTransport`).
    pub transport: Transport,
}

/// One request, as [`BucketPolicy::evaluate`] sees it.
///
/// Keys the evaluator knows itself, from the principal, the context and the clock:
/// `aws:SecureTransport`, `aws:SourceIp`, `aws:CurrentTime` (ISO 8601 of `now_ms`),
/// `aws:EpochTime` (seconds), `aws:PrincipalAccount`, `aws:PrincipalArn`
/// (`arn:aws:iam::<id>:root`), `aws:PrincipalType` (`Account` or `Anonymous`) and `aws:userid`
/// (the account id, or `anonymous`); a value the caller gives for one of these in `keys` is
/// ignored. Every other key comes from `keys`.
#[derive(Debug, Clone, Copy)]
pub struct PolicyRequest<'a> {
    /// Who sends it.
    pub principal: Principal<'a>,
    /// The S3 action (`s3:GetObject`, `s3:ListBucket`; case-insensitive).
    pub action: &'a str,
    /// The resource ARN: [`resource_arn`] of the bucket and key.
    pub resource: &'a str,
    /// Where and how it arrived.
    pub context: &'a RequestContext,
    /// The store's clock, ms since the Unix epoch (`aws:CurrentTime`, `aws:EpochTime`).
    pub now_ms: u64,
    /// Request-specific condition keys and their values, names case-insensitive: `s3:prefix`,
    /// `s3:delimiter`, `s3:max-keys`, `s3:x-amz-server-side-encryption`,
    /// `s3:x-amz-server-side-encryption-aws-kms-key-id`, `s3:x-amz-acl`, `s3:VersionId`,
    /// `s3:ExistingObjectTag/<tag>`, `s3:RequestObjectTag/<tag>`, ... A key given several times
    /// has several values (`s3:RequestObjectTagKeys`); a key not given is absent.
    pub keys: &'a [(&'a str, &'a str)],
}

/// The ARN a policy names a bucket (`key` `None`: `arn:aws:s3:::bucket`) or an object by
/// (`arn:aws:s3:::bucket/key`).
#[must_use]
pub fn resource_arn(bucket: &str, key: Option<&str>) -> String {
    match key {
        Some(key) => format!("arn:aws:s3:::{bucket}/{key}"),
        None => format!("arn:aws:s3:::{bucket}"),
    }
}
