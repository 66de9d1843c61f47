//! The resource layer: lazy attributes, sub-resources, paginating collections, batched deletes,
//! atomic downloads.

mod common;

use std::sync::Arc;

use s3lite::api::ExtraArgs;
use s3lite::io::{OpKind, SimStorage};
use s3lite::{StorageClass, Store};

#[test]
fn handles_load_lazily_once_and_reload() {
    let store = Store::open_in_memory().unwrap();
    let resource = store.resource();
    let client = resource.client().clone();
    let bucket = resource.create_bucket("bkt", None).unwrap();
    bucket.put_object("k", b"12345".as_slice()).unwrap();
    let calls = client.request_count();
    let object = bucket.object("k");
    let same = resource.bucket("bkt").object("k");
    let _sub = object.bucket().object("other");
    assert_eq!(client.request_count(), calls, "creating handles makes no call");
    assert_eq!(object.content_length().unwrap(), 5);
    assert_eq!(client.request_count(), calls + 1, "the first attribute access loads");
    assert_eq!(object.e_tag().unwrap(), "\"827ccb0eea8a706c4c34a16891f84e7b\"");
    assert_eq!(object.storage_class().unwrap(), StorageClass::Standard);
    assert_eq!(object.version_id().unwrap(), None);
    assert_eq!(object.server_side_encryption().unwrap(), None);
    assert!(object.last_modified().is_ok() && object.metadata().unwrap().is_empty());
    assert_eq!(client.request_count(), calls + 1, "attributes load once");
    same.put(b"1234567890".as_slice()).unwrap();
    assert_eq!(object.content_length().unwrap(), 5, "cached until reload");
    object.reload().unwrap();
    assert_eq!(object.content_length().unwrap(), 10);
    assert_eq!(object.bucket().name(), "bkt");
    assert_eq!(bucket.region().unwrap(), "us-east-1");
    assert!(bucket.creation_date().is_ok());
    let missing = bucket.object("missing");
    assert_eq!(missing.content_length().unwrap_err().code(), "NoSuchKey");
    assert_eq!(resource.bucket("nobucket").creation_date().unwrap_err().code(), "NoSuchBucket");
}

#[test]
fn collections_paginate_at_every_boundary() {
    for n in [0usize, 1, 999, 1000, 1001, 2500] {
        let store = Store::open_in_memory().unwrap();
        let resource = store.resource();
        let bucket = resource.create_bucket("bkt", None).unwrap();
        let id = store.bucket("bkt").unwrap().id;
        for i in 0..n {
            store.put_bytes(id, &format!("k{i:05}"), b"", &s3lite::PutOptions::default()).unwrap();
        }
        let client = resource.client().clone();
        let before = client.request_count();
        let keys: Vec<String> = bucket.objects().all().into_iter().map(|o| o.unwrap().key).collect();
        assert_eq!(keys.len(), n);
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            client.request_count() - before,
            n.div_ceil(1000).max(1) as u64,
            "{n}: one ListObjectsV2 per 1000"
        );
        assert_eq!(bucket.objects().page_size(7).limit(20).into_iter().count(), n.min(20));
        assert_eq!(bucket.objects().filter().prefix("k000").into_iter().count(), n.min(100));
        assert_eq!(bucket.object_versions().all().into_iter().count(), n);
        let batches = bucket.objects().all().delete().unwrap();
        assert_eq!(batches.len(), n.div_ceil(1000), "{n}: batches of at most 1000");
        assert!(batches.iter().all(|b| b.deleted.len() <= 1000 && b.errors.is_empty()));
        assert_eq!(batches.iter().map(|b| b.deleted.len()).sum::<usize>(), n);
        assert_eq!(bucket.objects().all().into_iter().count(), 0);
    }
}

#[test]
fn version_collections_delete_everything_and_buckets_list() {
    let store = Store::open_in_memory().unwrap();
    let resource = store.resource();
    let bucket = resource.create_bucket("bkt", None).unwrap();
    bucket.versioning().enable().unwrap();
    for i in 0..1200 {
        bucket.put_object(&format!("k{}", i % 400), b"v".as_slice()).unwrap();
    }
    bucket.object("k1").delete().unwrap();
    let versions: Vec<_> = bucket.object_versions().all().into_iter().map(Result::unwrap).collect();
    assert_eq!(versions.len(), 1201);
    assert!(versions.iter().any(|v| v.is_delete_marker && v.is_latest));
    let oldest = versions.iter().find(|v| v.key == "k0" && !v.is_latest).unwrap();
    assert_eq!(oldest.object().get().unwrap().body.read_to_vec().unwrap(), b"v");
    assert_eq!(bucket.delete().unwrap_err().code(), "BucketNotEmpty");
    let batches = bucket.object_versions().delete().unwrap();
    assert_eq!(batches.len(), 2);
    bucket.delete().unwrap();
    resource.create_bucket("bkt2", None).unwrap();
    resource.create_bucket("bkt3", None).unwrap();
    let names: Vec<String> =
        resource.buckets().page_size(1).into_iter().map(|b| b.unwrap().name().to_owned()).collect();
    assert_eq!(names, vec!["bkt2", "bkt3"]);
    assert_eq!(bucket.versioning().status().unwrap_err().code(), "NoSuchBucket");
}

#[test]
fn transfers_stream_and_downloads_are_atomic() {
    let sim = SimStorage::new();
    let store = common::small(Store::builder("/db").storage(Arc::new(sim.clone()))).open().unwrap();
    let resource = store.resource();
    let bucket = resource.create_bucket("bkt", None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.bin");
    let data = common::body(7, 40_000);
    std::fs::write(&src, &data).unwrap();
    let extra = ExtraArgs {
        content_type: Some("application/x-test".into()),
        metadata: vec![("m".into(), "1".into())],
        storage_class: Some("STANDARD_IA".into()),
        ..ExtraArgs::default()
    };
    let object = bucket.upload_file(&src, "big", &extra).unwrap();
    assert_eq!(object.content_type().unwrap().as_deref(), Some("application/x-test"));
    assert_eq!(object.storage_class().unwrap(), StorageClass::StandardIa);
    let target = dir.path().join("out.bin");
    assert_eq!(object.download_file(&target).unwrap(), 40_000);
    assert_eq!(std::fs::read(&target).unwrap(), data);
    // A read that fails half-way (the object's chunks become unreadable) leaves no file under the
    // target name, and no temporary file either.
    let fresh = dir.path().join("fresh.bin");
    sim.fail_nth(OpKind::Read, 6);
    assert!(bucket.download_file("big", &fresh).is_err());
    assert!(!fresh.exists(), "no partial file under the target name");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A failed download over an existing file leaves the old file untouched.
    std::fs::write(&target, b"old").unwrap();
    assert!(resource.client().download_file("bkt", "missing", &target).is_err());
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
}

#[test]
fn a_download_racing_a_delete_is_whole_or_absent() {
    let store = common::small(Store::in_memory_builder()).open().unwrap();
    let resource = store.resource();
    let bucket = resource.create_bucket("bkt", None).unwrap();
    let data = common::body(3, 200_000);
    let dir = tempfile::tempdir().unwrap();
    for round in 0..20 {
        bucket.put_object("v", data.clone()).unwrap();
        let target = dir.path().join(format!("r{round}"));
        std::thread::scope(|s| {
            let b = bucket.clone();
            s.spawn(move || b.object("v").delete().unwrap());
            match bucket.download_file("v", &target) {
                Ok(n) => {
                    assert_eq!((n as usize, std::fs::read(&target).unwrap()), (data.len(), data.clone()))
                }
                Err(e) => {
                    assert_eq!(e.code(), "NoSuchKey");
                    assert!(!target.exists());
                }
            }
        });
    }
}
