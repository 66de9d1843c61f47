//! Issue 13, "the Rust API as a newcomer meets it": one test (at least) per item, through the public
//! API only.

use s3lite::Store;
use s3lite::s3::types::BucketVersioningStatus;

fn body_of(client: &s3lite::Client, bucket: &str, key: &str, version: Option<&str>) -> Vec<u8> {
    let mut get = client.get_object().bucket(bucket).key(key);
    if let Some(v) = version {
        get = get.version_id(v);
    }
    get.send().unwrap().body.read_to_vec().unwrap()
}

/// Item 1. S3's user guide, "Restoring previous versions": "Copy a previous version of the object
/// into the same bucket. The copied object becomes the current version of that object and all
/// object versions are preserved." Copying the current version onto itself stays refused.
#[test]
fn restoring_a_previous_version_by_copying_it_onto_its_key() {
    let store = Store::open_in_memory().unwrap();
    let client = store.client();
    client.create_bucket().bucket("photos").send().unwrap();
    // The null version, written before versioning was enabled.
    client.put_object().bucket("photos").key("cat.jpg").body(b"v-null").send().unwrap();
    let self_copy = |source: &str| {
        client
            .copy_object()
            .bucket("photos")
            .key("cat.jpg")
            .copy_source(source)
            .send()
            .map(|r| r.into_output())
    };
    // In an unversioned bucket the null version is the current one: still a copy onto itself.
    for source in ["photos/cat.jpg", "photos/cat.jpg?versionId=null"] {
        let e = self_copy(source).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("InvalidRequest", 400), "{source}");
    }
    client.put_bucket_versioning().bucket("photos").status(BucketVersioningStatus::Enabled).send().unwrap();
    let v1 = client.put_object().bucket("photos").key("cat.jpg").body(b"v1").send().unwrap();
    let v1 = v1.version_id.clone().unwrap();
    let v2 = client.put_object().bucket("photos").key("cat.jpg").body(b"v2").send().unwrap();
    let v2 = v2.version_id.clone().unwrap();
    // The current version, named or not, cannot be copied onto itself unchanged.
    for source in ["photos/cat.jpg".to_string(), format!("photos/cat.jpg?versionId={v2}")] {
        let e = self_copy(&source).unwrap_err();
        assert_eq!(e.code(), "InvalidRequest", "{source}");
        assert!(e.to_string().contains("copy an object to itself"), "{e}");
    }
    // Restore v1: it becomes current, and every version is kept.
    let restored = self_copy(&format!("photos/cat.jpg?versionId={v1}")).unwrap();
    assert_eq!(restored.copy_source_version_id.as_deref(), Some(v1.as_str()));
    let v3 = restored.version_id.clone().unwrap();
    assert!(v3 != v1 && v3 != v2);
    assert_eq!(body_of(&client, "photos", "cat.jpg", None), b"v1");
    // Restore the null version the same way.
    let restored = self_copy("photos/cat.jpg?versionId=null").unwrap();
    assert_eq!(restored.copy_source_version_id.as_deref(), Some("null"));
    assert_eq!(body_of(&client, "photos", "cat.jpg", None), b"v-null");
    let versions = client.list_object_versions().bucket("photos").send().unwrap();
    let ids: Vec<&str> = versions.versions.iter().map(|v| v.version_id.as_str()).collect();
    assert_eq!(ids.len(), 5, "null, v1, v2, the restored v1 and the restored null: {ids:?}");
    assert!(ids.contains(&"null") && ids.contains(&v1.as_str()) && ids.contains(&v2.as_str()));
    for (id, want) in [("null", &b"v-null"[..]), (v1.as_str(), b"v1"), (v2.as_str(), b"v2")] {
        assert_eq!(body_of(&client, "photos", "cat.jpg", Some(id)), want, "{id}");
    }
    // The user guide's other way: permanently delete the current version, the previous one becomes
    // current.
    let current = versions.versions.iter().find(|v| v.is_latest).unwrap().version_id.clone();
    client.delete_object().bucket("photos").key("cat.jpg").version_id(current).send().unwrap();
    assert_eq!(body_of(&client, "photos", "cat.jpg", None), b"v1");
    // Behind a current delete marker, even the newest version may be copied back onto the key.
    client.delete_object().bucket("photos").key("cat.jpg").send().unwrap();
    let newest = client.list_object_versions().bucket("photos").send().unwrap();
    let newest = newest.versions.iter().find(|v| v.version_id != "null").unwrap().version_id.clone();
    self_copy(&format!("photos/cat.jpg?versionId={newest}")).unwrap();
    assert_eq!(body_of(&client, "photos", "cat.jpg", None), b"v1");
}

/// Item 2 (and item 6's versioning call with no status): a builder sent without a field the
/// operation requires names the operation and the field, and sends nothing.
#[test]
fn a_request_missing_a_required_field_names_it_and_is_not_sent() {
    let store = Store::open_in_memory().unwrap();
    let client = store.client();
    client.create_bucket().bucket("photos").send().unwrap();
    let sent = client.request_count();
    let missing = |e: s3lite::Error| match e {
        s3lite::Error::MissingParameter { operation, field } => {
            assert_eq!((e.code(), e.http_status()), ("MissingParameter", 400));
            assert!(e.to_string().contains(&format!("{operation} needs `{field}`")), "{e}");
            (operation, field)
        }
        other => panic!("expected MissingParameter, got {other}"),
    };
    let cases: Vec<(s3lite::Error, (&str, &str))> = vec![
        (client.create_bucket().send().unwrap_err(), ("CreateBucket", "bucket")),
        (client.head_bucket().send().unwrap_err(), ("HeadBucket", "bucket")),
        (client.delete_bucket().send().unwrap_err(), ("DeleteBucket", "bucket")),
        (client.get_bucket_versioning().send().unwrap_err(), ("GetBucketVersioning", "bucket")),
        (
            client.put_bucket_versioning().bucket("photos").send().unwrap_err(),
            ("PutBucketVersioning", "status"),
        ),
        (client.put_object().key("k").body(b"x").send().unwrap_err(), ("PutObject", "bucket")),
        (client.put_object().bucket("photos").body(b"x").send().unwrap_err(), ("PutObject", "key")),
        (client.get_object().bucket("photos").send().unwrap_err(), ("GetObject", "key")),
        (client.head_object().key("k").send().unwrap_err(), ("HeadObject", "bucket")),
        (client.delete_object().bucket("photos").send().unwrap_err(), ("DeleteObject", "key")),
        (client.delete_objects().send().unwrap_err(), ("DeleteObjects", "bucket")),
        (client.copy_object().bucket("photos").key("k").send().unwrap_err(), ("CopyObject", "copy_source")),
        (client.list_objects_v2().send().unwrap_err(), ("ListObjectsV2", "bucket")),
        (client.list_objects().send().unwrap_err(), ("ListObjects", "bucket")),
        (client.list_object_versions().send().unwrap_err(), ("ListObjectVersions", "bucket")),
    ];
    for (e, want) in cases {
        assert_eq!(missing(e), want);
    }
    assert_eq!(client.request_count(), sent, "a request missing a field is never sent");
    // ListBuckets needs nothing; a set field is never reported missing.
    client.list_buckets().send().unwrap();
    let e = client.get_object().bucket("photos").key("absent").send().unwrap_err();
    assert_eq!(e.code(), "NoSuchKey");
}

/// Item 6: an error returned from `main` (printed in its Debug form) names its S3 code and status.
#[test]
fn an_error_prints_its_code_and_status() {
    let store = Store::open_in_memory().unwrap();
    let client = store.client();
    let e = client.get_object().bucket("photos").key("dog.jpg").send().unwrap_err();
    let debug = format!("{e:?}");
    assert_eq!(debug, "NoSuchBucket (HTTP 404): the specified bucket does not exist: photos");
    assert_eq!(e.to_string(), debug);
    assert_eq!(e.message(), "the specified bucket does not exist: photos");
    // What `fn main() -> Result<(), s3lite::Error>` prints on the way out (`Error: {err:?}`).
    fn main_like(client: &s3lite::Client) -> Result<(), s3lite::Error> {
        client.create_bucket().bucket("photos").send()?;
        client.get_object().bucket("photos").key("dog.jpg").send()?;
        Ok(())
    }
    let Err(e) = main_like(&client) else { panic!("the key does not exist") };
    assert!(format!("Error: {e:?}").starts_with("Error: NoSuchKey (HTTP 404): "), "{e:?}");
}

/// Item 6: user metadata by name and as a map, on the client's output and the resource's object.
#[test]
fn user_metadata_reads_by_name_and_as_a_map() {
    let store = Store::open_in_memory().unwrap();
    let client = store.client();
    client.create_bucket().bucket("photos").send().unwrap();
    let put = client.put_object().bucket("photos").key("cat.jpg").body(b"meow");
    put.metadata("Camera", "X100").metadata("taken", "2024-05-01").send().unwrap();
    let head = client.head_object().bucket("photos").key("cat.jpg").send().unwrap();
    assert_eq!(head.metadata("camera"), Some("X100"));
    assert_eq!(head.metadata("CAMERA"), Some("X100"), "names are case-insensitive");
    assert_eq!(head.metadata("lens"), None);
    let map = head.metadata_map();
    assert_eq!(map.get("taken").map(String::as_str), Some("2024-05-01"));
    assert_eq!(map.len(), 2);
    let got = client.get_object().bucket("photos").key("cat.jpg").send().unwrap();
    assert_eq!(got.head.metadata("taken"), Some("2024-05-01"));
    let object = store.resource().bucket("photos").object("cat.jpg");
    assert_eq!(object.metadata().unwrap(), map);
}

/// Item 6: a copy source built from bucket, key and version id, encoded as S3 expects; the resource
/// layer restores a version with it.
#[test]
fn copy_sources_are_built_from_their_parts() {
    use s3lite::s3::types::CopySource;
    assert_eq!(CopySource::new("b", "a/b c%d?e").to_string(), "b/a/b%20c%25d%3Fe");
    assert_eq!(String::from(CopySource::new("b", "k").version_id("null")), "b/k?versionId=null");
    let store = Store::open_in_memory().unwrap();
    let client = store.client();
    client.create_bucket().bucket("photos").send().unwrap();
    client.put_bucket_versioning().bucket("photos").status(BucketVersioningStatus::Enabled).send().unwrap();
    let key = "2024/my cat?.jpg";
    let v1 = client.put_object().bucket("photos").key(key).body(b"v1").send().unwrap().version_id.clone();
    client.put_object().bucket("photos").key(key).body(b"v2").send().unwrap();
    let source = CopySource::new("photos", key).version_id(v1.clone().unwrap());
    let out = client.copy_object().bucket("photos").key("copy").copy_source(&source).send().unwrap();
    assert_eq!(out.copy_source_version_id, v1);
    assert_eq!(body_of(&client, "photos", "copy", None), b"v1");
    let object = store.resource().bucket("photos").object(key);
    object.copy_from_source(&source).unwrap();
    assert_eq!(body_of(&client, "photos", key, None), b"v1", "restored");
}

/// Item 6: DeleteObjects takes keys and versions without positional `Option`s.
#[test]
fn delete_objects_takes_keys_and_versions() {
    use s3lite::s3::types::ObjectIdentifier;
    let store = Store::open_in_memory().unwrap();
    let client = store.client();
    client.create_bucket().bucket("photos").send().unwrap();
    client.put_bucket_versioning().bucket("photos").status(BucketVersioningStatus::Enabled).send().unwrap();
    let mut versions = Vec::new();
    for key in ["a", "b", "c", "d", "e"] {
        let put = client.put_object().bucket("photos").key(key).body(key).send().unwrap();
        versions.push(put.version_id.clone().unwrap());
    }
    let out = client
        .delete_objects()
        .bucket("photos")
        .key("a")
        .keys(["b", "c"])
        .version("d", &versions[3])
        .object(ObjectIdentifier::version("e", &versions[4]).if_e_tag("\"nope\""))
        .send()
        .unwrap();
    let deleted: Vec<(&str, bool)> = out.deleted.iter().map(|d| (d.key.as_str(), d.delete_marker)).collect();
    assert_eq!(deleted, [("a", true), ("b", true), ("c", true), ("d", false)]);
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    assert_eq!((out.errors[0].key.as_str(), out.errors[0].code.as_str()), ("e", "PreconditionFailed"));
    assert!(!out.errors[0].message.starts_with("PreconditionFailed"), "the entry's message is S3's alone");
    let left = client.list_object_versions().bucket("photos").send().unwrap();
    let keys: Vec<&str> = left.versions.iter().map(|v| v.key.as_str()).collect();
    assert_eq!(keys, ["a", "b", "c", "e"], "d's only version is gone");
}

/// What a seeded run shows a test: every id it can see.
fn seeded_run(seed: u64) -> Vec<String> {
    use std::sync::Arc;
    let clock = Arc::new(s3lite::clock::ManualClock::new(1_700_000_000_000));
    let store = Store::in_memory_builder().seed(seed).clock(clock.clone()).open().unwrap();
    let client = store.client();
    let mut seen = vec![store.owner().canonical_id];
    seen.push(client.create_bucket().bucket("photos").send().unwrap().request_id().to_owned());
    let on = client.put_bucket_versioning().bucket("photos").status(BucketVersioningStatus::Enabled);
    seen.push(on.send().unwrap().request_id().to_owned());
    for (i, len) in [(0, 10), (1, 5000), (2, 10)] {
        clock.advance_ms(1500);
        let put =
            client.put_object().bucket("photos").key(format!("k{i}")).body(vec![7u8; len]).send().unwrap();
        seen.extend([put.request_id().to_owned(), put.version_id.clone().unwrap()]);
    }
    let marker = client.delete_object().bucket("photos").key("k0").send().unwrap();
    seen.push(marker.version_id.clone().unwrap());
    let page = client.list_objects_v2().bucket("photos").max_keys(1).send().unwrap();
    seen.push(page.next_continuation_token.clone().unwrap());
    let creds = store.create_access_key(&store.create_account("alice").unwrap()).unwrap();
    seen.extend([creds.access_key_id, creds.secret_access_key]);
    seen
}

/// Item 4: a seeded store makes the same ids run to run; another seed, other ids; unseeded, random.
#[test]
fn a_seeded_store_makes_the_same_ids_run_to_run() {
    let first = seeded_run(42);
    assert_eq!(first, seeded_run(42), "same seed, same operations, same ids");
    let other = seeded_run(43);
    for (a, b) in first.iter().zip(&other) {
        assert_ne!(a, b, "another seed gives other ids");
    }
    let unseeded = || {
        let store = Store::open_in_memory().unwrap();
        store.client().create_bucket().bucket("bkt").send().unwrap().request_id().to_owned()
    };
    assert_ne!(unseeded(), unseeded());
}

/// Item 4: a seeded store with concurrent writers still gives every version a unique id, and a
/// reopened seeded store does not replay its first session's ids.
#[test]
fn a_seeded_store_keeps_ids_unique_across_threads_and_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let open = || Store::builder(dir.path()).seed(9).partitions(4).open().unwrap();
    let store = open();
    let client = store.client();
    client.create_bucket().bucket("bkt").send().unwrap();
    client.put_bucket_versioning().bucket("bkt").status(BucketVersioningStatus::Enabled).send().unwrap();
    let ids: Vec<String> = std::thread::scope(|s| {
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let client = client.clone();
                s.spawn(move || {
                    (0..100)
                        .map(|i| {
                            let put =
                                client.put_object().bucket("bkt").key(format!("k{}", i % 7)).body(vec![t; 3]);
                            put.send().unwrap().version_id.clone().unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        writers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 400);
    let before = client.put_object().bucket("bkt").key("after").body(b"x").send().unwrap();
    drop((client, store));
    let store = open();
    let again = store.client().put_object().bucket("bkt").key("after").body(b"x").send().unwrap();
    assert_ne!(again.version_id, before.version_id);
    assert_ne!(again.request_id(), before.request_id());
    assert!(!unique.contains(again.version_id.as_ref().unwrap()));
}

/// Item 3: paginators follow the tokens and markers of every listing, as aws-sdk-s3's
/// `into_paginator()` does: pages with `send()`, entries with `items()`.
#[test]
fn paginators_walk_every_listing() {
    use s3lite::s3::types::EncodingType;
    let store = Store::open_in_memory().unwrap();
    let client = store.client();
    client.create_bucket().bucket("photos").send().unwrap();
    client.put_bucket_versioning().bucket("photos").status(BucketVersioningStatus::Enabled).send().unwrap();
    // Keys that need encoding, some under a common prefix, three versions of one and a marker.
    let mut keys: Vec<String> = (0..7).map(|i| format!("a b%{i}?")).collect();
    keys.extend((0..3).map(|i| format!("dir/{i}")));
    keys.sort();
    for key in &keys {
        client.put_object().bucket("photos").key(key).body(b"x").send().unwrap();
    }
    for _ in 0..2 {
        client.put_object().bucket("photos").key("a b%3?").body(b"y").send().unwrap();
    }
    client.delete_object().bucket("photos").key("dir/1").send().unwrap();
    let live: Vec<String> = keys.iter().filter(|k| *k != "dir/1").cloned().collect();

    let v2 = || client.list_objects_v2().bucket("photos").into_paginator();
    for size in [1, 2, 3, 9, 1000] {
        let pages: Vec<_> = v2().page_size(size).send().collect::<s3lite::Result<_>>().unwrap();
        assert_eq!(pages.len(), live.len().div_ceil(size as usize), "page size {size}");
        let got: Vec<String> = pages.iter().flat_map(|p| p.contents.iter().map(|o| o.key.clone())).collect();
        assert_eq!(got, live, "page size {size}");
    }
    let got: Vec<String> = v2().page_size(4).items().map(|o| o.unwrap().key).collect();
    assert_eq!(got, live);
    let dir = client.list_objects_v2().bucket("photos").prefix("dir/").start_after("dir/0");
    let got: Vec<String> = dir.into_paginator().page_size(1).items().map(|o| o.unwrap().key).collect();
    assert_eq!(got, ["dir/2"], "start-after holds on the first page only");

    // ListObjects (v1): without a delimiter the next marker is the last key; with encoding-type=url
    // the paginator decodes it before sending it back.
    for encoding in [None, Some(EncodingType::Url)] {
        let mut v1 = client.list_objects().bucket("photos");
        if let Some(e) = encoding {
            v1 = v1.encoding_type(e);
        }
        let got: Vec<String> = v1.into_paginator().page_size(2).items().map(|o| o.unwrap().key).collect();
        let want: Vec<String> = live
            .iter()
            .map(|k| if encoding.is_some() { s3lite::s3::rules::url_encode(k) } else { k.clone() })
            .collect();
        assert_eq!(got, want, "{encoding:?}");
    }
    let v1 = client.list_objects().bucket("photos").delimiter("/").into_paginator().page_size(3);
    let pages: Vec<_> = v1.send().collect::<s3lite::Result<_>>().unwrap();
    let prefixes: Vec<&str> =
        pages.iter().flat_map(|p| p.common_prefixes.iter().map(|c| c.prefix.as_str())).collect();
    assert_eq!(prefixes, ["dir/"]);
    assert_eq!(pages.iter().map(|p| p.contents.len()).sum::<usize>(), 7);

    // ListObjectVersions: pages may end inside one key's versions.
    let all = client.list_object_versions().bucket("photos").send().unwrap().entries.clone();
    assert_eq!(all.len(), 10 + 2 + 1);
    for size in [1, 2, 5] {
        let versions = client.list_object_versions().bucket("photos").encoding_type(EncodingType::Url);
        let got: Vec<(String, String)> = versions
            .into_paginator()
            .page_size(size)
            .items()
            .map(|v| v.map(|v| (v.key, v.version_id)).unwrap())
            .collect();
        let want: Vec<(String, String)> =
            all.iter().map(|v| (s3lite::s3::rules::url_encode(&v.key), v.version_id.clone())).collect();
        assert_eq!(got, want, "page size {size}");
    }

    // ListBuckets.
    for name in ["albums", "backups", "cache", "docs"] {
        client.create_bucket().bucket(name).send().unwrap();
    }
    let names: Vec<String> =
        client.list_buckets().into_paginator().page_size(2).items().map(|b| b.unwrap().name).collect();
    assert_eq!(names, ["albums", "backups", "cache", "docs", "photos"]);
    assert_eq!(client.list_buckets().into_paginator().page_size(2).send().count(), 3);

    // A failing page yields its error, then the iteration ends.
    let mut missing = client.list_objects_v2().bucket("nowhere").into_paginator().items();
    assert_eq!(missing.next().unwrap().unwrap_err().code(), "NoSuchBucket");
    assert!(missing.next().is_none());
    let mut bad = client.list_buckets().into_paginator().page_size(0).send();
    assert_eq!(bad.next().unwrap().unwrap_err().code(), "InvalidArgument");
    assert!(bad.next().is_none());
}

/// Item 7: where a key lives, the layout's getters, load by prefix within a partition, and a
/// listing under a prefix that pins one partition touching only that partition.
#[test]
fn hot_spot_helpers_show_where_the_load_goes() {
    let store = Store::in_memory_builder().partitions(4).prefix_len(4).open().unwrap();
    assert_eq!((store.partition_count(), store.prefix_len()), (4, Some(4)));
    assert_eq!(Store::open_in_memory().unwrap().prefix_len(), None, "whole-key hashing by default");
    let client = store.client();
    client.create_bucket().bucket("photos").send().unwrap();
    // Two 4-byte prefixes that share a partition, found as a researcher would.
    let hot = "img0";
    let shared = store.partition_of("photos", "img0/a.jpg").unwrap();
    assert_eq!(store.partition_of("photos", "img0/zzz").unwrap(), shared, "one prefix, one partition");
    let cold = (1..1000)
        .map(|i| format!("c{i:03}"))
        .find(|p| store.partition_of("photos", &format!("{p}/x")).unwrap() == shared)
        .unwrap();
    store.reset_partition_stats();
    for i in 0..30 {
        client.put_object().bucket("photos").key(format!("{hot}/{i}.jpg")).body(b"x").send().unwrap();
    }
    for i in 0..5 {
        client.put_object().bucket("photos").key(format!("{cold}/{i}.jpg")).body(b"x").send().unwrap();
    }
    client.get_object().bucket("photos").key(format!("{cold}/0.jpg")).send().unwrap();
    let stats = store.partition_stats();
    assert_eq!(stats[usize::from(shared)].puts, 35, "both prefixes load the one partition");
    let top = store.top_prefixes(shared).unwrap();
    let seen: Vec<(&str, &str, u64, u64)> =
        top.iter().map(|l| (l.bucket.as_str(), l.prefix.as_str(), l.operations, l.overcount)).collect();
    // An S3 GET is an engine head (conditions, delete markers) and an engine get: two operations,
    // as the partition counts them.
    assert_eq!(seen, [("photos", hot, 30, 0), ("photos", cold.as_str(), 7, 0)]);
    assert_eq!(top.iter().map(|l| l.operations).sum::<u64>(), stats[usize::from(shared)].operations());
    assert!(top.iter().all(|l| l.partition == shared));
    for p in (0..4).filter(|&p| p != shared) {
        assert!(store.top_prefixes(p).unwrap().is_empty(), "partition {p}");
    }
    let Err(e) = store.top_prefixes(4) else { panic!("partition 4 of 4") };
    assert_eq!(e.code(), "InvalidArgument");
    assert!(e.to_string().contains("4 partitions"), "{e}");
    assert_eq!(store.partition_of("nowhere", "k").unwrap_err().code(), "NoSuchBucket");

    // A listing whose prefix is at least prefix_len bytes long scans only its partition.
    store.reset_partition_stats();
    let listed = client.list_objects_v2().bucket("photos").prefix(format!("{cold}/")).send().unwrap();
    assert_eq!(listed.contents.len(), 5);
    let scanned: Vec<u64> = store.partition_stats().iter().map(|s| s.lists).collect();
    for (p, lists) in scanned.iter().enumerate() {
        assert_eq!(*lists > 0, p == usize::from(shared), "partition {p}: {scanned:?}");
    }
    let versions = client.list_object_versions().bucket("photos").prefix(hot).send().unwrap();
    assert_eq!(versions.versions.len(), 30);
    // A shorter prefix can match keys of any partition: every one is scanned.
    store.reset_partition_stats();
    let listed = client.list_objects_v2().bucket("photos").prefix("c").send().unwrap();
    assert_eq!(listed.contents.len(), 5);
    assert!(store.partition_stats().iter().all(|s| s.lists > 0));
    assert!(store.top_prefixes(shared).unwrap().is_empty(), "reset clears the prefix loads");
}

/// Item 5: the prelude (and the crate root) reach every type a program names, and importing the
/// resource handles beside all of `s3::types` collides on nothing.
mod imports {
    use s3lite::prelude::*;
    use s3lite::s3::types::*;

    fn archive(bucket: &Bucket, key: &str) -> s3lite::Result<Object> {
        bucket.put_object(key, Body::from("meow"))
    }

    fn first_listed(out: &ListObjectsV2Output) -> Option<&ListedObject> {
        out.contents.first()
    }

    #[test]
    fn prelude_and_listing_types_import_together() {
        let store: Store = Store::open_in_memory().unwrap();
        let s3: Resource = store.resource();
        let bucket = s3.create_bucket("photos", None).unwrap();
        let object = archive(&bucket, "cat.jpg").unwrap();
        assert_eq!(object.content_length().unwrap(), 4);
        let client: Client = store.client();
        let listed = client.list_objects_v2().bucket("photos").send().unwrap();
        assert_eq!(first_listed(&listed).map(|o| o.key.as_str()), Some("cat.jpg"));
        let versions: Vec<ListedVersion> =
            client.list_object_versions().bucket("photos").send().unwrap().entries.clone();
        assert_eq!(versions.len(), 1);
        let buckets: Vec<ListedBucket> = client.list_buckets().send().unwrap().buckets.clone();
        assert_eq!(buckets[0].name, "photos");
        let copy = client
            .copy_object()
            .bucket("photos")
            .key("copy.jpg")
            .copy_source(CopySource::new("photos", "cat.jpg"));
        copy.metadata_directive(MetadataDirective::Replace).send().unwrap();
        let _: (ExtraArgs, BucketVersioningStatus, ObjectIdentifier) =
            (ExtraArgs::default(), BucketVersioningStatus::Enabled, ObjectIdentifier::new("k"));
        // The same types at the crate root.
        let _: (s3lite::Body, s3lite::ExtraArgs, s3lite::MetadataDirective, s3lite::ManualClock) = (
            s3lite::Body::from("x"),
            s3lite::ExtraArgs::default(),
            s3lite::MetadataDirective::Copy,
            s3lite::ManualClock::new(0),
        );
    }
}
