//! S3 bucket semantics: naming rules, regions and location constraints, ownership, listing, delete.

mod common;

use s3lite::s3::types::*;
use s3lite::{Error, Profile, Store};

/// An on-disk store, an in-memory one, and an in-memory one with default encryption (the directory
/// lives as long as the returned guard).
fn stores(region: &str) -> (tempfile::TempDir, [Store; 3]) {
    let dir = tempfile::tempdir().unwrap();
    let disk = common::small(Store::builder(dir.path())).region(region).open().unwrap();
    let memory = common::small(Store::in_memory_builder()).region(region).open().unwrap();
    let keys = std::sync::Arc::new(s3lite::crypto::MasterKeys::generate());
    let sealed =
        common::encrypted(common::small(Store::in_memory_builder()), &keys).region(region).open().unwrap();
    (dir, [disk, memory, sealed])
}

fn create(name: &str, constraint: Option<&str>) -> CreateBucketRequest {
    CreateBucketRequest {
        bucket: name.into(),
        create_bucket_configuration: constraint
            .map(|c| CreateBucketConfiguration { location_constraint: Some(c.into()) }),
        ..Default::default()
    }
}

#[test]
fn invalid_names_are_refused_naming_the_rule() {
    let (_dir, both) = stores("us-east-1");
    for store in both {
        let s3 = store.s3();
        for (name, rule) in
            [("ab", "between 3 and 63"), ("Bad", "lowercase"), ("10.0.0.1", "IP address"), ("xn--x1", "xn--")]
        {
            let e = s3.create_bucket(create(name, None)).unwrap_err();
            assert_eq!((e.code(), e.http_status()), ("InvalidBucketName", 400));
            assert!(e.to_string().contains(rule), "{name}: {e}");
        }
        assert!(s3.create_bucket(create(&"a".repeat(63), None)).is_ok());
        assert!(s3.create_bucket(create(&"a".repeat(64), None)).is_err());
    }
}

#[test]
fn us_east_1_location_rules() {
    let (_dir, both) = stores("us-east-1");
    for store in both {
        let s3 = store.s3();
        assert_eq!(s3.create_bucket(create("plain", None)).unwrap().location, "/plain");
        let e = s3.create_bucket(create("explicit", Some("us-east-1"))).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("InvalidLocationConstraint", 400));
        let e = s3.create_bucket(create("elsewhere", Some("eu-west-1"))).unwrap_err();
        assert_eq!(e.code(), "IllegalLocationConstraintException");
        assert_eq!(s3.head_bucket("plain").unwrap().bucket_region, "us-east-1");
    }
}

#[test]
fn regional_store_location_rules() {
    let (_dir, both) = stores("eu-west-1");
    for store in both {
        let s3 = store.s3();
        s3.create_bucket(create("good", Some("eu-west-1"))).unwrap();
        for c in [None, Some("us-east-1"), Some("eu-central-1")] {
            let e = s3.create_bucket(create("bad", c)).unwrap_err();
            assert_eq!((e.code(), e.http_status()), ("IllegalLocationConstraintException", 400), "{c:?}");
        }
        assert_eq!(s3.head_bucket("good").unwrap().bucket_region, "eu-west-1");
    }
}

#[test]
fn taken_names_answer_by_owner_and_region() {
    for region in ["us-east-1", "eu-west-1"] {
        let (_dir, both) = stores(region);
        for store in both {
            let constraint = (region != "us-east-1").then_some(region);
            let owner = store.s3();
            owner.create_bucket(create("taken", constraint)).unwrap();
            let other = store.s3_as(&store.create_account("alice").unwrap());
            let e = other.create_bucket(create("taken", constraint)).unwrap_err();
            assert_eq!((e.code(), e.http_status()), ("BucketAlreadyExists", 409));
            let again = owner.create_bucket(create("taken", constraint));
            if region == "us-east-1" {
                assert_eq!(again.unwrap().location, "/taken", "us-east-1 answers 200 (legacy)");
            } else {
                let e = again.unwrap_err();
                assert_eq!((e.code(), e.http_status()), ("BucketAlreadyOwnedByYou", 409));
            }
        }
    }
}

#[test]
fn accounts_persist_and_own_their_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::builder(dir.path()).owner_display_name("root").open().unwrap();
    let owner = store.owner();
    assert_eq!(owner.display_name, "root");
    assert_eq!(owner.canonical_id.len(), 64);
    let alice = store.create_account("alice").unwrap();
    store.s3_as(&alice).create_bucket(create("alices", None)).unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.owner(), owner);
    assert_eq!(store.account(&alice.canonical_id), Some(alice.clone()));
    assert_eq!(store.accounts().len(), 2);
    let listed = store.s3_as(&alice).list_buckets(ListBucketsRequest::default()).unwrap();
    assert_eq!(listed.buckets.len(), 1);
    assert_eq!(listed.owner.display_name, None, "S3 stopped returning display names on 2025-11-21");
    assert_eq!(listed.owner.id, alice.canonical_id);
    assert!(store.s3().list_buckets(ListBucketsRequest::default()).unwrap().buckets.is_empty());
    assert!(matches!(store.create_account(""), Err(Error::InvalidArgument { .. })));
    drop(store);
    // The profile of a day before: display names reported.
    let store = Store::builder(dir.path()).profile(Profile::parse("2025-11-20").unwrap()).open().unwrap();
    let listed = store.s3_as(&alice).list_buckets(ListBucketsRequest::default()).unwrap();
    assert_eq!(listed.owner.display_name.as_deref(), Some("alice"));
}

#[test]
fn list_buckets_pages_with_tokens() {
    let (_dir, both) = stores("us-east-1");
    for store in both {
        let s3 = store.s3();
        for i in 0..7 {
            s3.create_bucket(create(&format!("bucket-{i}"), None)).unwrap();
        }
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let page = s3
                .list_buckets(ListBucketsRequest {
                    max_buckets: Some(3),
                    continuation_token: token.clone(),
                    prefix: None,
                })
                .unwrap();
            assert!(page.buckets.len() <= 3);
            names.extend(page.buckets.into_iter().map(|b| b.name));
            match page.continuation_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(names, (0..7).map(|i| format!("bucket-{i}")).collect::<Vec<_>>());
        let with_prefix = s3
            .list_buckets(ListBucketsRequest { prefix: Some("bucket-1".into()), ..Default::default() })
            .unwrap();
        assert_eq!(with_prefix.buckets.len(), 1);
        for bad in [0, 10_001] {
            let e = s3
                .list_buckets(ListBucketsRequest { max_buckets: Some(bad), ..Default::default() })
                .unwrap_err();
            assert_eq!(e.code(), "InvalidArgument");
        }
        assert!(
            s3.list_buckets(ListBucketsRequest { max_buckets: Some(10_000), ..Default::default() }).is_ok()
        );
        let e = s3
            .list_buckets(ListBucketsRequest {
                continuation_token: Some("abcd".into()),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(e.code(), "InvalidArgument");
    }
}

#[test]
fn delete_bucket_refuses_while_anything_remains() {
    let (_dir, both) = stores("us-east-1");
    for store in both {
        let s3 = store.s3();
        s3.create_bucket(create("vers", None)).unwrap();
        s3.put_bucket_versioning("vers", BucketVersioningStatus::Enabled).unwrap();
        let put = PutObjectRequest {
            bucket: "vers".into(),
            key: "k".into(),
            body: b"v".into(),
            ..Default::default()
        };
        let v = s3.put_object(put).unwrap().version_id.unwrap();
        let marker = s3
            .delete_object(DeleteObjectRequest {
                bucket: "vers".into(),
                key: "k".into(),
                ..Default::default()
            })
            .unwrap();
        assert!(marker.delete_marker);
        // Only a version and a delete marker remain: still not empty.
        assert_eq!(s3.delete_bucket("vers").unwrap_err().code(), "BucketNotEmpty");
        for id in [v, marker.version_id.unwrap()] {
            s3.delete_object(DeleteObjectRequest {
                bucket: "vers".into(),
                key: "k".into(),
                version_id: Some(id),
                ..Default::default()
            })
            .unwrap();
        }
        s3.delete_bucket("vers").unwrap();
        let e = s3.head_bucket("vers").unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("NoSuchBucket", 404));
        assert_eq!(s3.delete_bucket("vers").unwrap_err().code(), "NoSuchBucket");
    }
}

#[test]
fn versioning_states() {
    let (_dir, both) = stores("us-east-1");
    for store in both {
        let s3 = store.s3();
        s3.create_bucket(create("bkt", None)).unwrap();
        assert_eq!(s3.get_bucket_versioning("bkt").unwrap(), None);
        s3.put_bucket_versioning("bkt", BucketVersioningStatus::Enabled).unwrap();
        assert_eq!(s3.get_bucket_versioning("bkt").unwrap(), Some(BucketVersioningStatus::Enabled));
        s3.put_bucket_versioning("bkt", BucketVersioningStatus::Suspended).unwrap();
        assert_eq!(s3.get_bucket_versioning("bkt").unwrap(), Some(BucketVersioningStatus::Suspended));
        assert_eq!(BucketVersioningStatus::parse("Disabled").unwrap_err().code(), "MalformedXML");
        assert_eq!(s3.get_bucket_versioning("nope").unwrap_err().code(), "NoSuchBucket");
    }
}

#[test]
fn ten_thousand_buckets_per_account() {
    let store = Store::open_in_memory().unwrap();
    let s3 = store.s3();
    for i in 0..10_000 {
        s3.create_bucket(create(&format!("b{i:05}"), None)).unwrap();
    }
    let e = s3.create_bucket(create("one-more", None)).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("TooManyBuckets", 400));
    // The quota is per account.
    store.s3_as(&store.create_account("bob").unwrap()).create_bucket(create("bobs", None)).unwrap();
    // All 10,000 fit one ListBuckets page.
    let page = s3.list_buckets(ListBucketsRequest::default()).unwrap();
    assert_eq!((page.buckets.len(), page.continuation_token), (10_000, None));
}

/// With no grants and no policy (S3's default), only a bucket's owner may act on it or its objects:
/// another account and an anonymous caller get `AccessDenied`, and nothing they send is stored; a
/// bucket that does not exist is `NoSuchBucket` to everyone, as S3 answers.
#[test]
fn only_the_owner_acts_on_a_bucket_and_its_objects() {
    let store = Store::open_in_memory().unwrap();
    let owner = store.s3();
    owner.create_bucket(create("owned", None)).unwrap();
    owner
        .put_object(PutObjectRequest {
            bucket: "owned".into(),
            key: "k".into(),
            body: b"owner's".to_vec().into(),
            ..Default::default()
        })
        .unwrap();
    let alice = store.s3_as(&store.create_account("alice").unwrap());
    for (who, s3) in [("alice", &alice), ("anonymous", &store.s3_anonymous())] {
        let denied = |r: Result<(), Error>, what: &str| {
            assert!(matches!(r, Err(Error::AccessDenied { .. })), "{who} {what}: {r:?}");
        };
        let get = GetObjectRequest { bucket: "owned".into(), key: "k".into(), ..Default::default() };
        denied(s3.get_object(get.clone()).map(drop), "GetObject");
        denied(s3.head_object(get).map(drop), "HeadObject");
        let put = PutObjectRequest {
            bucket: "owned".into(),
            key: format!("from-{who}"),
            body: b"x".to_vec().into(),
            ..Default::default()
        };
        denied(s3.put_object(put).map(drop), "PutObject");
        let del = DeleteObjectRequest { bucket: "owned".into(), key: "k".into(), ..Default::default() };
        denied(s3.delete_object(del).map(drop), "DeleteObject");
        let list = ListObjectsV2Request { bucket: "owned".into(), ..Default::default() };
        denied(s3.list_objects_v2(list).map(drop), "ListObjectsV2");
        denied(s3.head_bucket("owned").map(drop), "HeadBucket");
        denied(s3.put_bucket_versioning("owned", BucketVersioningStatus::Enabled), "PutBucketVersioning");
        denied(s3.delete_bucket("owned"), "DeleteBucket");
        let copy = CopyObjectRequest {
            bucket: "owned".into(),
            key: "copy".into(),
            copy_source: "owned/k".into(),
            ..Default::default()
        };
        denied(s3.copy_object(copy).map(drop), "CopyObject");
        let mpu = s3lite::s3::multipart::CreateMultipartUploadRequest {
            bucket: "owned".into(),
            key: "m".into(),
            ..Default::default()
        };
        denied(s3.create_multipart_upload(mpu).map(drop), "CreateMultipartUpload");
        assert!(matches!(s3.head_bucket("nowhere"), Err(Error::NoSuchBucket { .. })), "{who}");
    }
    let listed = owner.list_objects_v2(ListObjectsV2Request { bucket: "owned".into(), ..Default::default() });
    let keys: Vec<String> = listed.unwrap().contents.into_iter().map(|o| o.key).collect();
    assert_eq!(keys, ["k"], "nothing the others sent was stored, nothing deleted");
    owner.head_bucket("owned").unwrap();
}
