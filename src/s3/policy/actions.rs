//! The S3 actions a bucket policy may name, and what kind of resource each applies to.
//!
//! S3 refuses a policy naming an action it does not know ("Policy has invalid action") and one
//! whose actions apply to none of the statement's resources ("Action does not apply to any
//! resource(s) in statement": `s3:ListBucket` on `arn:aws:s3:::b/*`, `s3:GetObject` on
//! `arn:aws:s3:::b`). Action names are case-insensitive.

use super::pattern::wildcard_match;

/// What an action acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ActionKind {
    /// The bucket ARN, `arn:aws:s3:::bucket`.
    Bucket,
    /// Object ARNs, `arn:aws:s3:::bucket/key`.
    Object,
    /// The account (`s3:ListAllMyBuckets`, ...): never a resource of a bucket policy.
    Account,
}

use ActionKind::{Account, Bucket, Object};

/// Every action S3's service authorization reference lists for buckets, objects and accounts.
const ACTIONS: &[(&str, ActionKind)] = &[
    ("AbortMultipartUpload", Object),
    ("BypassGovernanceRetention", Object),
    ("DeleteObject", Object),
    ("DeleteObjectTagging", Object),
    ("DeleteObjectVersion", Object),
    ("DeleteObjectVersionTagging", Object),
    ("GetObject", Object),
    ("GetObjectAcl", Object),
    ("GetObjectAttributes", Object),
    ("GetObjectLegalHold", Object),
    ("GetObjectRetention", Object),
    ("GetObjectTagging", Object),
    ("GetObjectTorrent", Object),
    ("GetObjectVersion", Object),
    ("GetObjectVersionAcl", Object),
    ("GetObjectVersionAttributes", Object),
    ("GetObjectVersionForReplication", Object),
    ("GetObjectVersionTagging", Object),
    ("GetObjectVersionTorrent", Object),
    ("InitiateReplication", Object),
    ("ListMultipartUploadParts", Object),
    ("ObjectOwnerOverrideToBucketOwner", Object),
    ("PutObject", Object),
    ("PutObjectAcl", Object),
    ("PutObjectLegalHold", Object),
    ("PutObjectRetention", Object),
    ("PutObjectTagging", Object),
    ("PutObjectVersionAcl", Object),
    ("PutObjectVersionTagging", Object),
    ("ReplicateDelete", Object),
    ("ReplicateObject", Object),
    ("ReplicateTags", Object),
    ("RestoreObject", Object),
    ("CreateBucket", Bucket),
    ("DeleteBucket", Bucket),
    ("DeleteBucketPolicy", Bucket),
    ("DeleteBucketWebsite", Bucket),
    ("GetAccelerateConfiguration", Bucket),
    ("GetAnalyticsConfiguration", Bucket),
    ("GetBucketAcl", Bucket),
    ("GetBucketCORS", Bucket),
    ("GetBucketLocation", Bucket),
    ("GetBucketLogging", Bucket),
    ("GetBucketNotification", Bucket),
    ("GetBucketObjectLockConfiguration", Bucket),
    ("GetBucketOwnershipControls", Bucket),
    ("GetBucketPolicy", Bucket),
    ("GetBucketPolicyStatus", Bucket),
    ("GetBucketPublicAccessBlock", Bucket),
    ("GetBucketRequestPayment", Bucket),
    ("GetBucketTagging", Bucket),
    ("GetBucketVersioning", Bucket),
    ("GetBucketWebsite", Bucket),
    ("GetEncryptionConfiguration", Bucket),
    ("GetIntelligentTieringConfiguration", Bucket),
    ("GetInventoryConfiguration", Bucket),
    ("GetLifecycleConfiguration", Bucket),
    ("GetMetricsConfiguration", Bucket),
    ("GetReplicationConfiguration", Bucket),
    ("ListBucket", Bucket),
    ("ListBucketMultipartUploads", Bucket),
    ("ListBucketVersions", Bucket),
    ("PutAccelerateConfiguration", Bucket),
    ("PutAnalyticsConfiguration", Bucket),
    ("PutBucketAcl", Bucket),
    ("PutBucketCORS", Bucket),
    ("PutBucketLogging", Bucket),
    ("PutBucketNotification", Bucket),
    ("PutBucketObjectLockConfiguration", Bucket),
    ("PutBucketOwnershipControls", Bucket),
    ("PutBucketPolicy", Bucket),
    ("PutBucketPublicAccessBlock", Bucket),
    ("PutBucketRequestPayment", Bucket),
    ("PutBucketTagging", Bucket),
    ("PutBucketVersioning", Bucket),
    ("PutBucketWebsite", Bucket),
    ("PutEncryptionConfiguration", Bucket),
    ("PutIntelligentTieringConfiguration", Bucket),
    ("PutInventoryConfiguration", Bucket),
    ("PutLifecycleConfiguration", Bucket),
    ("PutMetricsConfiguration", Bucket),
    ("PutReplicationConfiguration", Bucket),
    ("CreateJob", Account),
    ("GetAccountPublicAccessBlock", Account),
    ("ListAccessPoints", Account),
    ("ListAllMyBuckets", Account),
    ("ListJobs", Account),
    ("PutAccountPublicAccessBlock", Account),
];

/// The kinds of the known actions an action pattern of the document (`s3:Get*`, `*`) names,
/// lowercase pattern in; empty when it names none (S3: "Policy has invalid action").
pub(super) fn kinds_named(pattern_lower: &str) -> Vec<ActionKind> {
    let mut kinds = Vec::new();
    for (name, kind) in ACTIONS {
        let full = format!("s3:{}", name.to_ascii_lowercase());
        if !kinds.contains(kind) && wildcard_match(pattern_lower, &full) {
            kinds.push(*kind);
        }
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_name_known_actions_only() {
        assert_eq!(kinds_named("s3:getobject"), vec![Object]);
        assert_eq!(kinds_named("s3:listbucket"), vec![Bucket]);
        assert_eq!(kinds_named("s3:listallmybuckets"), vec![Account]);
        let all = kinds_named("s3:*");
        assert!(all.contains(&Object) && all.contains(&Bucket) && all.contains(&Account));
        assert_eq!(kinds_named("*").len(), 3);
        assert_eq!(kinds_named("s3:putbucket*"), vec![Bucket]);
        assert!(kinds_named("s3:get*").contains(&Object));
        assert!(kinds_named("s3:getobjec?").contains(&Object));
        assert!(kinds_named("s3:fly").is_empty());
        assert!(kinds_named("iam:*").is_empty());
        assert!(kinds_named("getobject").is_empty());
        let names: std::collections::HashSet<_> =
            ACTIONS.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
        assert_eq!(names.len(), ACTIONS.len(), "no action listed twice");
    }
}
