//! Regression tests from the fresh-context review of access control (2026-12-06): the findings
//! fixed so far (a WRITE grantee or an anonymous caller deleting versions permanently; UploadPartCopy
//! reading a `null` version rewritten after its ACL check; profile dates with signs). The other
//! findings are listed in README "Access control" for the next session.

use s3lite::s3::S3;
use s3lite::s3::multipart::{CreateMultipartUploadRequest, UploadPartCopyRequest};
use s3lite::s3::types::*;
use s3lite::{Profile, Store};

/// A store whose new buckets have ACLs enabled and no Block Public Access (S3 before 2023-04-27).
fn acl_store() -> Store {
    Store::in_memory_builder().profile(Profile::parse("2023-04-26").unwrap()).open().unwrap()
}

fn create(s3: &S3, name: &str) {
    s3.create_bucket(CreateBucketRequest { bucket: name.into(), ..Default::default() }).unwrap();
}

fn code<T: std::fmt::Debug>(r: s3lite::Result<T>) -> &'static str {
    r.unwrap_err().code()
}

/// GetObject/HeadObject naming a delete marker's version id: a caller with no grant on the private
/// bucket gets 405 MethodNotAllowed, which tells it the key and the marker exist. S3 answers 403
/// AccessDenied to a caller who may not read (and may not list) -- the same answer as for a
/// version id that does not exist, which s3lite does give (`read_error`), so the two can be told
/// apart: an existence oracle for keys and version ids.

#[test]
fn a_write_grantee_may_not_delete_versions_permanently() {
    let store = acl_store();
    let s3 = store.s3();
    create(&s3, "versioned");
    s3.put_bucket_versioning("versioned", BucketVersioningStatus::Enabled).unwrap();
    let writer = store.create_account("writer").unwrap();
    s3.put_bucket_acl(PutBucketAclRequest {
        bucket: "versioned".into(),
        grant_full_control: Some(format!("id={}", store.owner().canonical_id)),
        grant_write: Some(format!("id={}", writer.canonical_id)),
        ..Default::default()
    })
    .unwrap();
    let v1 = s3
        .put_object(PutObjectRequest {
            bucket: "versioned".into(),
            key: "ledger".into(),
            body: "precious".into(),
            ..Default::default()
        })
        .unwrap()
        .version_id
        .unwrap();
    let r = store.s3_as(&writer).delete_object(DeleteObjectRequest {
        bucket: "versioned".into(),
        key: "ledger".into(),
        version_id: Some(v1.clone()),
        ..Default::default()
    });
    let gone = store
        .s3()
        .head_object(GetObjectRequest {
            bucket: "versioned".into(),
            key: "ledger".into(),
            version_id: Some(v1.clone()),
            ..Default::default()
        })
        .is_err();
    assert_eq!(code(r), "AccessDenied", "version destroyed by a WRITE grantee: {gone}");
}

/// The same through `public-read-write`: an anonymous caller permanently deletes the owner's
/// versions.

#[test]
fn anonymous_may_not_delete_versions_under_public_read_write() {
    let store = acl_store();
    let s3 = store.s3();
    create(&s3, "open-bucket");
    s3.put_bucket_versioning("open-bucket", BucketVersioningStatus::Enabled).unwrap();
    s3.put_bucket_acl(PutBucketAclRequest {
        bucket: "open-bucket".into(),
        acl: Some("public-read-write".into()),
        ..Default::default()
    })
    .unwrap();
    let v1 = s3
        .put_object(PutObjectRequest {
            bucket: "open-bucket".into(),
            key: "k".into(),
            body: "precious".into(),
            ..Default::default()
        })
        .unwrap()
        .version_id
        .unwrap();
    let r = store.s3_anonymous().delete_object(DeleteObjectRequest {
        bucket: "open-bucket".into(),
        key: "k".into(),
        version_id: Some(v1),
        ..Default::default()
    });
    assert_eq!(code(r), "AccessDenied");
}

/// PutBucketAcl decides "ACLs enabled?" and "public ACL blocked?" on a `BucketInfo` read before
/// `edit_bucket` takes the catalog lock, and its closure ignores the bucket it is handed
/// (`|_| Ok(CatalogEdit::BucketAcl ..)`). Raced with PutBucketOwnershipControls
/// (BucketOwnerEnforced) both can succeed, which no serial order allows: ACL first makes the
/// ownership call fail with InvalidBucketAclWithObjectOwnership, ownership first makes the ACL
/// call fail with AccessControlListNotSupported. The bucket ends up enforced with a public ACL
/// stored, which comes back into force when the ownership controls are deleted.

#[test]
fn profile_parse_refuses_signs() {
    assert!(Profile::parse("+202-01-01").is_err(), "{:?}", Profile::parse("+202-01-01"));
    assert!(Profile::parse("2024-+1-01").is_err(), "{:?}", Profile::parse("2024-+1-01"));
}

/// UploadPartCopy checks the source's ACL on a `head` and then opens the source by the head's
/// version id. In an unversioned (or suspended) bucket that id is `null` and survives overwrites,
/// so an overwrite in between is read without its ACL being checked -- the very case `get_object`
/// re-checks for ("the `null` version keeps its id across overwrites"). A caller allowed to read
/// a public-read object copies the private object that replaces it into its own upload.

#[test]
fn upload_part_copy_reads_a_null_version_overwritten_after_its_acl_check() {
    let store = acl_store();
    let s3 = store.s3();
    create(&s3, "src-bucket");
    let thief = store.create_account("thief").unwrap();
    let t = store.s3_as(&thief);
    create(&t, "thief-bucket");
    let up = t
        .create_multipart_upload(CreateMultipartUploadRequest {
            bucket: "thief-bucket".into(),
            key: "loot".into(),
            ..Default::default()
        })
        .unwrap();
    let secret = vec![b's'; 4096];
    let mut leaked = 0;
    for i in 0..2000u64 {
        s3.put_object(PutObjectRequest {
            bucket: "src-bucket".into(),
            key: "k".into(),
            body: vec![b'p'; 4096].into(),
            acl: Some("public-read".into()),
            ..Default::default()
        })
        .unwrap();
        let barrier = std::sync::Barrier::new(2);
        let (copied, secret_etag) = std::thread::scope(|sc| {
            let copy = sc.spawn(|| {
                barrier.wait();
                t.upload_part_copy(UploadPartCopyRequest {
                    bucket: "thief-bucket".into(),
                    key: "loot".into(),
                    upload_id: up.upload_id.clone(),
                    part_number: Some(1),
                    copy_source: "src-bucket/k".into(),
                    ..Default::default()
                })
            });
            let over = sc.spawn(|| {
                barrier.wait();
                let mut x = 0u64;
                for j in 0..(i % 64) * 20 {
                    x = std::hint::black_box(x.wrapping_add(j));
                }
                s3.put_object(PutObjectRequest {
                    bucket: "src-bucket".into(),
                    key: "k".into(),
                    body: secret.clone().into(),
                    ..Default::default()
                })
                .unwrap()
                .e_tag
            });
            (copy.join().unwrap(), over.join().unwrap())
        });
        if let Ok(c) = copied
            && c.copy_part_result.e_tag == secret_etag
        {
            leaked += 1;
        }
    }
    assert_eq!(
        leaked, 0,
        "the private overwrite was copied {leaked} times in 2000 by a caller who may not read it"
    );
}
