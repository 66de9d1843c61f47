//! Builders of the access-control operations: bucket and object ACLs, Object Ownership, Block
//! Public Access, as aws-sdk-s3 names them.

use super::*;

/// PutBucketOwnershipControls input.
#[derive(Debug, Clone, Default)]
pub struct PutBucketOwnershipControlsRequest {
    /// Bucket.
    pub bucket: String,
    /// The one rule's `ObjectOwnership`.
    pub object_ownership: Option<ObjectOwnership>,
}

/// PutPublicAccessBlock input.
#[derive(Debug, Clone, Default)]
pub struct PutPublicAccessBlockRequest {
    /// Bucket.
    pub bucket: String,
    /// The configuration.
    pub public_access_block_configuration: Option<PublicAccessBlockConfiguration>,
}

builder!(
    /// Builder of GetBucketAcl.
    GetBucketAclBuilder, get_bucket_acl, BucketRequest, AccessControlPolicy, 200,
    |s3, r| s3.get_bucket_acl(&r.bucket),
    fields { bucket: String }
    optional {}
    required { bucket }
);
builder!(
    /// Builder of PutBucketAcl.
    PutBucketAclBuilder, put_bucket_acl, PutBucketAclRequest, (), 200,
    |s3, r| s3.put_bucket_acl(r),
    fields { bucket: String }
    optional {
        acl: String, grant_full_control: String, grant_read: String, grant_read_acp: String,
        grant_write: String, grant_write_acp: String, access_control_policy: AccessControlPolicy,
    }
    required { bucket }
);
builder!(
    /// Builder of GetObjectAcl.
    GetObjectAclBuilder, get_object_acl, GetObjectAclRequest, AccessControlPolicy, 200,
    |s3, r| s3.get_object_acl(r),
    fields { bucket: String, key: String }
    optional { version_id: String }
    required { bucket, key }
);
builder!(
    /// Builder of PutObjectAcl.
    PutObjectAclBuilder, put_object_acl, PutObjectAclRequest, (), 200,
    |s3, r| s3.put_object_acl(r),
    fields { bucket: String, key: String }
    optional {
        version_id: String, acl: String, grant_full_control: String, grant_read: String,
        grant_read_acp: String, grant_write_acp: String, access_control_policy: AccessControlPolicy,
    }
    required { bucket, key }
);
builder!(
    /// Builder of PutBucketOwnershipControls.
    PutBucketOwnershipControlsBuilder, put_bucket_ownership_controls, PutBucketOwnershipControlsRequest, (), 200,
    |s3, r| match r.object_ownership {
        Some(o) => s3.put_bucket_ownership_controls(&r.bucket, o),
        None => Err(Error::MissingParameter { operation: "PutBucketOwnershipControls", field: "object_ownership" }),
    },
    fields { bucket: String }
    optional { object_ownership: ObjectOwnership }
    required { bucket, object_ownership }
);
builder!(
    /// Builder of GetBucketOwnershipControls (the one rule's `ObjectOwnership`).
    GetBucketOwnershipControlsBuilder, get_bucket_ownership_controls, BucketRequest, ObjectOwnership, 200,
    |s3, r| s3.get_bucket_ownership_controls(&r.bucket),
    fields { bucket: String }
    optional {}
    required { bucket }
);
builder!(
    /// Builder of DeleteBucketOwnershipControls.
    DeleteBucketOwnershipControlsBuilder, delete_bucket_ownership_controls, BucketRequest, (), 204,
    |s3, r| s3.delete_bucket_ownership_controls(&r.bucket),
    fields { bucket: String }
    optional {}
    required { bucket }
);
builder!(
    /// Builder of PutPublicAccessBlock.
    PutPublicAccessBlockBuilder, put_public_access_block, PutPublicAccessBlockRequest, (), 200,
    |s3, r| match r.public_access_block_configuration {
        Some(c) => s3.put_public_access_block(&r.bucket, c),
        None => Err(Error::MissingParameter {
            operation: "PutPublicAccessBlock",
            field: "public_access_block_configuration",
        }),
    },
    fields { bucket: String }
    optional { public_access_block_configuration: PublicAccessBlockConfiguration }
    required { bucket, public_access_block_configuration }
);
builder!(
    /// Builder of GetPublicAccessBlock.
    GetPublicAccessBlockBuilder, get_public_access_block, BucketRequest, PublicAccessBlockConfiguration, 200,
    |s3, r| s3.get_public_access_block(&r.bucket),
    fields { bucket: String }
    optional {}
    required { bucket }
);
builder!(
    /// Builder of DeletePublicAccessBlock.
    DeletePublicAccessBlockBuilder, delete_public_access_block, BucketRequest, (), 204,
    |s3, r| s3.delete_public_access_block(&r.bucket),
    fields { bucket: String }
    optional {}
    required { bucket }
);
