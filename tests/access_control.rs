//! Access control through the S3 API: behaviour profiles both ways, the tutorial's ACL steps,
//! ACLs set at put, copy and multipart create, PutObjectAcl on a rewritten `null` version, what
//! survives a reopen and a compaction, and every error the access-control calls give.

use s3lite::s3::S3;
use s3lite::s3::multipart::{
    CompleteMultipartUploadRequest, CreateMultipartUploadRequest, UploadPartRequest,
};
use s3lite::s3::types::*;
use s3lite::{CompletedMultipartUpload, CompletedPart, Profile, Store};

fn create(s3: &S3, name: &str) {
    s3.create_bucket(CreateBucketRequest { bucket: name.into(), ..Default::default() }).unwrap();
}

fn put(s3: &S3, bucket: &str, key: &str, acl: Option<&str>) -> s3lite::Result<PutObjectOutput> {
    s3.put_object(PutObjectRequest {
        bucket: bucket.into(),
        key: key.into(),
        body: "hello".into(),
        acl: acl.map(str::to_owned),
        ..Default::default()
    })
}

fn get(s3: &S3, bucket: &str, key: &str) -> s3lite::Result<Vec<u8>> {
    let mut out =
        s3.get_object(GetObjectRequest { bucket: bucket.into(), key: key.into(), ..Default::default() })?;
    let mut v = Vec::new();
    std::io::Read::read_to_end(&mut out.body, &mut v).unwrap();
    Ok(v)
}

fn code<T: std::fmt::Debug>(r: s3lite::Result<T>) -> &'static str {
    r.unwrap_err().code()
}

fn object_acl(s3: &S3, bucket: &str, key: &str) -> AccessControlPolicy {
    s3.get_object_acl(GetObjectAclRequest { bucket: bucket.into(), key: key.into(), ..Default::default() })
        .unwrap()
}

fn set_object_acl(s3: &S3, bucket: &str, key: &str, acl: &str) -> s3lite::Result<()> {
    s3.put_object_acl(PutObjectAclRequest {
        bucket: bucket.into(),
        key: key.into(),
        acl: Some(acl.into()),
        ..Default::default()
    })
}

#[test]
fn new_buckets_follow_the_profile_both_ways() {
    let today = Store::in_memory_builder().open().unwrap();
    create(&today.s3(), "bucket-today");
    let s3 = today.s3();
    assert_eq!(
        s3.get_bucket_ownership_controls("bucket-today").unwrap(),
        ObjectOwnership::BucketOwnerEnforced
    );
    assert_eq!(s3.get_public_access_block("bucket-today").unwrap(), PublicAccessBlockConfiguration::all());
    assert_eq!(code(put(&s3, "bucket-today", "k", Some("public-read"))), "AccessControlListNotSupported");
    put(&s3, "bucket-today", "k", Some("bucket-owner-full-control")).unwrap();
    put(&s3, "bucket-today", "k", None).unwrap();

    // The day before 2023-04-27: ACLs enabled, no Block Public Access.
    let before = Store::in_memory_builder().profile(Profile::parse("2023-04-26").unwrap()).open().unwrap();
    let s3 = before.s3();
    create(&s3, "bucket-before");
    assert_eq!(code(s3.get_bucket_ownership_controls("bucket-before")), "OwnershipControlsNotFoundError");
    assert_eq!(code(s3.get_public_access_block("bucket-before")), "NoSuchPublicAccessBlockConfiguration");
    put(&s3, "bucket-before", "k", Some("public-read")).unwrap();
    assert_eq!(get(&before.s3_anonymous(), "bucket-before", "k").unwrap(), b"hello");
    // And on the day itself, today's defaults.
    let on = Store::in_memory_builder().profile(Profile::parse("2023-04-27").unwrap()).open().unwrap();
    create(&on.s3(), "bucket-on");
    assert_eq!(
        on.s3().get_bucket_ownership_controls("bucket-on").unwrap(),
        ObjectOwnership::BucketOwnerEnforced
    );
}

#[test]
fn a_bucket_keeps_what_it_was_created_with_when_the_store_reopens_under_another_profile() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::builder(dir.path()).profile(Profile::classic()).open().unwrap();
    create(&store.s3(), "old-bucket");
    put(&store.s3(), "old-bucket", "k", Some("public-read")).unwrap();
    drop(store);
    let store = Store::builder(dir.path()).open().unwrap();
    assert_eq!(
        code(store.s3().get_bucket_ownership_controls("old-bucket")),
        "OwnershipControlsNotFoundError"
    );
    assert_eq!(get(&store.s3_anonymous(), "old-bucket", "k").unwrap(), b"hello");
    create(&store.s3(), "new-bucket");
    assert_eq!(
        code(put(&store.s3(), "new-bucket", "k", Some("public-read"))),
        "AccessControlListNotSupported"
    );
}

/// The tutorial's steps, on today's S3.
#[test]
fn enabling_acls_the_documented_way_then_public_read_then_private() {
    let store = Store::in_memory_builder().open().unwrap();
    let (s3, anon) = (store.s3(), store.s3_anonymous());
    create(&s3, "tutorial-bucket");
    assert_eq!(code(put(&s3, "tutorial-bucket", "k", Some("public-read"))), "AccessControlListNotSupported");
    s3.put_bucket_ownership_controls("tutorial-bucket", ObjectOwnership::ObjectWriter).unwrap();
    // Block Public Access still refuses a public ACL.
    assert_eq!(code(put(&s3, "tutorial-bucket", "k", Some("public-read"))), "AccessDenied");
    s3.delete_public_access_block("tutorial-bucket").unwrap();
    put(&s3, "tutorial-bucket", "k", Some("public-read")).unwrap();
    let acl = object_acl(&s3, "tutorial-bucket", "k");
    let owner = store.owner().canonical_id;
    assert_eq!(acl.owner.id, owner);
    assert_eq!(acl.owner.display_name, None, "no display names since 2025-11-21");
    assert_eq!(
        acl.grants,
        vec![
            Grant {
                grantee: Grantee::CanonicalUser { id: owner.clone(), display_name: None },
                permission: Permission::FullControl
            },
            Grant { grantee: Grantee::Group(Group::AllUsers), permission: Permission::Read },
        ]
    );
    assert_eq!(get(&anon, "tutorial-bucket", "k").unwrap(), b"hello");
    set_object_acl(&s3, "tutorial-bucket", "k", "private").unwrap();
    assert_eq!(code(get(&anon, "tutorial-bucket", "k")), "AccessDenied");
    assert_eq!(get(&s3, "tutorial-bucket", "k").unwrap(), b"hello");
}

#[test]
fn acls_persist_across_reopen_checkpoint_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let open = || Store::builder(dir.path()).profile(Profile::classic()).open().unwrap();
    let store = open();
    let other = store.create_account("other").unwrap();
    let s3 = store.s3();
    create(&s3, "persist-bucket");
    s3.put_bucket_acl(PutBucketAclRequest {
        bucket: "persist-bucket".into(),
        grant_read: Some(format!("id=\"{}\"", other.canonical_id)),
        ..Default::default()
    })
    .unwrap();
    put(&s3, "persist-bucket", "k", None).unwrap();
    set_object_acl(&s3, "persist-bucket", "k", "public-read").unwrap();
    let block = PublicAccessBlockConfiguration { block_public_policy: true, ..Default::default() };
    s3.put_store_public_access_block(block).unwrap();
    s3.put_bucket_ownership_controls("persist-bucket", ObjectOwnership::BucketOwnerPreferred).unwrap();
    // Churn so that compaction has inputs.
    for i in 0..50 {
        put(&s3, "persist-bucket", &format!("churn-{i}"), None).unwrap();
        s3.delete_object(DeleteObjectRequest {
            bucket: "persist-bucket".into(),
            key: format!("churn-{i}"),
            ..Default::default()
        })
        .unwrap();
    }
    let check = |store: &Store| {
        let s3 = store.s3();
        assert_eq!(get(&store.s3_anonymous(), "persist-bucket", "k").unwrap(), b"hello");
        let listed = store
            .s3_as(&other)
            .list_objects_v2(ListObjectsV2Request { bucket: "persist-bucket".into(), ..Default::default() });
        assert_eq!(listed.unwrap().contents.len(), 1);
        assert_eq!(s3.get_store_public_access_block().unwrap(), block);
        assert_eq!(
            s3.get_bucket_ownership_controls("persist-bucket").unwrap(),
            ObjectOwnership::BucketOwnerPreferred
        );
    };
    check(&store);
    drop((s3, store));
    let store = open();
    check(&store);
    store.compact().unwrap();
    store.checkpoint().unwrap();
    drop(store);
    let store = open();
    check(&store);
}

#[test]
fn put_object_acl_names_one_write_a_rewritten_null_version_starts_private() {
    let store = Store::in_memory_builder().profile(Profile::classic()).open().unwrap();
    let (s3, anon) = (store.s3(), store.s3_anonymous());
    create(&s3, "null-bucket");
    put(&s3, "null-bucket", "k", None).unwrap();
    set_object_acl(&s3, "null-bucket", "k", "public-read").unwrap();
    assert_eq!(get(&anon, "null-bucket", "k").unwrap(), b"hello");
    put(&s3, "null-bucket", "k", None).unwrap();
    assert_eq!(code(get(&anon, "null-bucket", "k")), "AccessDenied", "the new write is private");
    // In a versioned bucket, the ACL belongs to its version alone.
    s3.put_bucket_versioning("null-bucket", BucketVersioningStatus::Enabled).unwrap();
    let v1 = put(&s3, "null-bucket", "v", Some("public-read")).unwrap().version_id.unwrap();
    put(&s3, "null-bucket", "v", None).unwrap();
    assert_eq!(code(get(&anon, "null-bucket", "v")), "AccessDenied");
    let old = anon
        .get_object(GetObjectRequest {
            bucket: "null-bucket".into(),
            key: "v".into(),
            version_id: Some(v1),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(old.head.content_length, 5);
}

#[test]
fn copies_and_multipart_uploads_take_the_acl_they_ask_for() {
    let store = Store::in_memory_builder().profile(Profile::classic()).open().unwrap();
    let (s3, anon) = (store.s3(), store.s3_anonymous());
    create(&s3, "copy-bucket");
    put(&s3, "copy-bucket", "src", Some("public-read")).unwrap();
    s3.copy_object(CopyObjectRequest {
        bucket: "copy-bucket".into(),
        key: "plain-copy".into(),
        copy_source: "copy-bucket/src".into(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(code(get(&anon, "copy-bucket", "plain-copy")), "AccessDenied", "S3 copies no ACL");
    s3.copy_object(CopyObjectRequest {
        bucket: "copy-bucket".into(),
        key: "public-copy".into(),
        copy_source: "copy-bucket/src".into(),
        acl: Some("public-read".into()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(get(&anon, "copy-bucket", "public-copy").unwrap(), b"hello");

    let up = s3
        .create_multipart_upload(CreateMultipartUploadRequest {
            bucket: "copy-bucket".into(),
            key: "mp".into(),
            acl: Some("public-read".into()),
            ..Default::default()
        })
        .unwrap();
    let part = s3
        .upload_part(UploadPartRequest {
            bucket: "copy-bucket".into(),
            key: "mp".into(),
            upload_id: up.upload_id.clone(),
            part_number: Some(1),
            body: "multipart".into(),
            ..Default::default()
        })
        .unwrap();
    s3.complete_multipart_upload(CompleteMultipartUploadRequest {
        bucket: "copy-bucket".into(),
        key: "mp".into(),
        upload_id: up.upload_id,
        multipart_upload: Some(CompletedMultipartUpload { parts: vec![CompletedPart::new(1, part.e_tag)] }),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(get(&anon, "copy-bucket", "mp").unwrap(), b"multipart");
    let acl = object_acl(&s3, "copy-bucket", "mp");
    assert!(acl.grants.iter().any(|g| g.grantee == Grantee::Group(Group::AllUsers)));
}

#[test]
fn display_names_follow_the_profile() {
    let store =
        Store::in_memory_builder().profile(Profile::classic()).owner_display_name("root").open().unwrap();
    create(&store.s3(), "names-bucket");
    let acl = store.s3().get_bucket_acl("names-bucket").unwrap();
    assert_eq!(acl.owner.display_name.as_deref(), Some("root"));
    assert!(
        matches!(&acl.grants[0].grantee, Grantee::CanonicalUser { display_name: Some(n), .. } if n == "root")
    );
}

#[test]
fn every_access_control_error_path() {
    let today = Store::in_memory_builder().open().unwrap();
    let other = today.create_account("other").unwrap();
    let s3 = today.s3();
    // CreateBucket: an ACL with BucketOwnerEnforced (today's default), a public ACL under the new
    // bucket's Block Public Access.
    let with_acl = |acl: &str, ownership| CreateBucketRequest {
        bucket: "err-bucket".into(),
        acl: Some(acl.into()),
        object_ownership: ownership,
        ..Default::default()
    };
    assert_eq!(code(s3.create_bucket(with_acl("public-read", None))), "InvalidBucketAclWithObjectOwnership");
    assert_eq!(
        code(s3.create_bucket(with_acl("public-read", Some(ObjectOwnership::ObjectWriter)))),
        "InvalidBucketAclWithBlockPublicAccessError"
    );
    assert!(today.bucket("err-bucket").is_err(), "nothing was created");
    s3.create_bucket(with_acl("private", None)).unwrap();
    // Ownership controls: BucketOwnerEnforced over a bucket ACL that grants others.
    s3.put_bucket_ownership_controls("err-bucket", ObjectOwnership::ObjectWriter).unwrap();
    s3.put_bucket_acl(PutBucketAclRequest {
        bucket: "err-bucket".into(),
        grant_read: Some(format!("id={}", other.canonical_id)),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        code(s3.put_bucket_ownership_controls("err-bucket", ObjectOwnership::BucketOwnerEnforced)),
        "InvalidBucketAclWithObjectOwnership"
    );
    assert_eq!(
        s3.get_bucket_ownership_controls("err-bucket").unwrap(),
        ObjectOwnership::ObjectWriter,
        "unchanged"
    );
    s3.delete_bucket_ownership_controls("err-bucket").unwrap();
    assert_eq!(code(s3.get_bucket_ownership_controls("err-bucket")), "OwnershipControlsNotFoundError");
    // Block Public Access: BlockPublicAcls refuses public ACLs on put, on PutObjectAcl and on
    // PutBucketAcl; nothing changes.
    put(&s3, "err-bucket", "k", None).unwrap();
    assert_eq!(code(put(&s3, "err-bucket", "k2", Some("public-read"))), "AccessDenied");
    assert_eq!(code(set_object_acl(&s3, "err-bucket", "k", "public-read")), "AccessDenied");
    let public_bucket = PutBucketAclRequest {
        bucket: "err-bucket".into(),
        acl: Some("public-read".into()),
        ..Default::default()
    };
    assert_eq!(code(s3.put_bucket_acl(public_bucket.clone())), "AccessDenied");
    assert_eq!(code(get(&today.s3_anonymous(), "err-bucket", "k")), "AccessDenied");
    s3.delete_public_access_block("err-bucket").unwrap();
    assert_eq!(code(s3.get_public_access_block("err-bucket")), "NoSuchPublicAccessBlockConfiguration");
    s3.put_bucket_acl(public_bucket).unwrap();
    // The store-wide setting: only the store's owner; none set is a 404.
    assert_eq!(code(s3.get_store_public_access_block()), "NoSuchPublicAccessBlockConfiguration");
    let block = PublicAccessBlockConfiguration { block_public_acls: true, ..Default::default() };
    assert_eq!(code(today.s3_as(&other).put_store_public_access_block(block)), "AccessDenied");
    assert_eq!(code(today.s3_anonymous().get_store_public_access_block()), "AccessDenied");
    s3.put_store_public_access_block(block).unwrap();
    assert_eq!(code(set_object_acl(&s3, "err-bucket", "k", "public-read")), "AccessDenied");
    s3.delete_store_public_access_block().unwrap();
    // Grants that do not parse or name no one.
    let with_grant = |grant: &str| PutObjectAclRequest {
        bucket: "err-bucket".into(),
        key: "k".into(),
        grant_read: Some(grant.into()),
        ..Default::default()
    };
    assert_eq!(
        code(s3.put_object_acl(with_grant("emailAddress=\"a@example.com\""))),
        "UnresolvableGrantByEmailAddress"
    );
    assert_eq!(code(s3.put_object_acl(with_grant("id=\"0000\""))), "InvalidArgument");
    assert_eq!(code(s3.put_object_acl(with_grant("uri=\"http://example.com/g\""))), "InvalidArgument");
    assert_eq!(code(s3.put_object_acl(with_grant(&vec!["id=\"x\""; 101].join(",")))), "InvalidArgument");
    let many = vec![format!("id={}", other.canonical_id); 101].join(",");
    assert_eq!(code(s3.put_object_acl(with_grant(&many))), "MalformedACLError");
    assert_eq!(code(set_object_acl(&s3, "err-bucket", "k", "public")), "InvalidArgument");
    // No ACL, and two forms at once.
    let none = PutObjectAclRequest { bucket: "err-bucket".into(), key: "k".into(), ..Default::default() };
    assert_eq!(code(s3.put_object_acl(none)), "InvalidRequest");
    let policy = object_acl(&s3, "err-bucket", "k");
    let both = PutObjectAclRequest {
        bucket: "err-bucket".into(),
        key: "k".into(),
        acl: Some("private".into()),
        access_control_policy: Some(policy.clone()),
        ..Default::default()
    };
    assert_eq!(code(s3.put_object_acl(both)), "InvalidRequest");
    let canned_and_grant = PutObjectAclRequest {
        bucket: "err-bucket".into(),
        key: "k".into(),
        acl: Some("private".into()),
        grant_read: Some(format!("id={}", other.canonical_id)),
        ..Default::default()
    };
    assert_eq!(code(s3.put_object_acl(canned_and_grant)), "InvalidRequest");
    // A body that names another owner.
    let mut foreign = policy.clone();
    foreign.owner.id = other.canonical_id.clone();
    let body = |p: AccessControlPolicy| PutObjectAclRequest {
        bucket: "err-bucket".into(),
        key: "k".into(),
        access_control_policy: Some(p),
        ..Default::default()
    };
    assert_eq!(code(s3.put_object_acl(body(foreign))), "AccessDenied");
    // The body form works: grant the other account READ.
    let mut grant = policy;
    grant.grants.push(Grant {
        grantee: Grantee::CanonicalUser { id: other.canonical_id.clone(), display_name: None },
        permission: Permission::Read,
    });
    s3.put_object_acl(body(grant)).unwrap();
    assert_eq!(get(&today.s3_as(&other), "err-bucket", "k").unwrap(), b"hello");
    // Missing keys and versions, bad version ids, delete markers.
    let missing =
        GetObjectAclRequest { bucket: "err-bucket".into(), key: "nope".into(), ..Default::default() };
    assert_eq!(code(s3.get_object_acl(missing.clone())), "NoSuchKey");
    assert_eq!(
        code(today.s3_anonymous().get_object_acl(missing.clone())),
        "NoSuchKey",
        "the bucket is public-read"
    );
    let bad = GetObjectAclRequest { version_id: Some("not-a-version".into()), ..missing };
    assert_eq!(code(s3.get_object_acl(bad)), "InvalidArgument");
    assert_eq!(code(s3.get_bucket_acl("no-such-bucket")), "NoSuchBucket");
    assert_eq!(code(today.s3_anonymous().get_bucket_acl("err-bucket")), "AccessDenied");
}
