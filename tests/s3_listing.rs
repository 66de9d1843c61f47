//! S3 listing: ListObjectsV2, ListObjects (v1) and ListObjectVersions.

mod common;

use s3lite::Store;
use s3lite::s3::S3;
use s3lite::s3::types::*;

/// Runs `f` with an S3 handle (owner) and a bucket "bkt", on disk, in memory, and in memory with
/// default encryption (every object sealed: one suite, both configurations).
fn each_store(f: impl Fn(&S3)) {
    let dir = tempfile::tempdir().unwrap();
    let keys = std::sync::Arc::new(s3lite::crypto::MasterKeys::generate());
    for store in [
        common::small(Store::builder(dir.path())).open().unwrap(),
        common::small(Store::in_memory_builder()).open().unwrap(),
        common::encrypted(common::small(Store::in_memory_builder()), &keys).open().unwrap(),
    ] {
        let s3 = store.s3();
        s3.create_bucket(CreateBucketRequest { bucket: "bkt".into(), ..Default::default() }).unwrap();
        f(&s3);
    }
}

fn put(s3: &S3, key: &str) -> PutObjectOutput {
    s3.put_object(PutObjectRequest {
        bucket: "bkt".into(),
        key: key.into(),
        body: key.into(),
        ..Default::default()
    })
    .unwrap()
}

fn v2(prefix: Option<&str>, delimiter: Option<&str>, max: Option<i32>) -> ListObjectsV2Request {
    ListObjectsV2Request {
        bucket: "bkt".into(),
        prefix: prefix.map(Into::into),
        delimiter: delimiter.map(Into::into),
        max_keys: max,
        ..Default::default()
    }
}

/// Pages through ListObjectsV2; returns keys and common prefixes in order, and the page count.
fn all_v2(s3: &S3, mut req: ListObjectsV2Request) -> (Vec<String>, Vec<String>, usize) {
    let (mut keys, mut prefixes, mut pages) = (Vec::new(), Vec::new(), 0);
    loop {
        let out = s3.list_objects_v2(req.clone()).unwrap();
        pages += 1;
        assert_eq!(out.key_count as usize, out.contents.len() + out.common_prefixes.len());
        assert!(out.key_count <= out.max_keys);
        keys.extend(out.contents.into_iter().map(|o| o.key));
        prefixes.extend(out.common_prefixes.into_iter().map(|p| p.prefix));
        if !out.is_truncated {
            assert!(out.next_continuation_token.is_none());
            return (keys, prefixes, pages);
        }
        req.continuation_token = out.next_continuation_token;
    }
}

#[test]
fn v2_pages_in_byte_order_at_every_boundary() {
    each_store(|s3| {
        let mut keys: Vec<String> = (0..25).map(|i| format!("k{i:03}")).collect();
        keys.extend(["K", "k", "\u{e9}", "a/b", "z"].map(String::from));
        for k in &keys {
            put(s3, k);
        }
        keys.sort();
        for page in [1, 2, 29, 30, 31, 1000] {
            let (got, prefixes, pages) = all_v2(s3, v2(None, None, Some(page)));
            assert_eq!(got, keys, "page size {page}");
            assert!(prefixes.is_empty());
            // The engine looks one item ahead, so the last page is never empty.
            assert_eq!(pages, keys.len().div_ceil(page as usize), "page size {page}");
        }
        let out = s3.list_objects_v2(v2(None, None, Some(0))).unwrap();
        assert!(out.contents.is_empty() && !out.is_truncated);
        assert_eq!(s3.list_objects_v2(v2(None, None, Some(5000))).unwrap().max_keys, 1000, "capped at 1000");
        assert_eq!(s3.list_objects_v2(v2(None, None, Some(-1))).unwrap_err().code(), "InvalidArgument");
    });
}

#[test]
fn v2_delimiter_common_prefixes_and_paging_over_them() {
    each_store(|s3| {
        for k in ["a/1", "a/2", "b/1", "b/c/1", "c", "d/", "d/x", "e"] {
            put(s3, k);
        }
        let out = s3.list_objects_v2(v2(None, Some("/"), None)).unwrap();
        let keys: Vec<&str> = out.contents.iter().map(|o| o.key.as_str()).collect();
        let prefixes: Vec<&str> = out.common_prefixes.iter().map(|p| p.prefix.as_str()).collect();
        assert_eq!(keys, vec!["c", "e"]);
        assert_eq!(prefixes, vec!["a/", "b/", "d/"]);
        assert_eq!(out.key_count, 5);
        let (keys, prefixes, pages) = all_v2(s3, v2(None, Some("/"), Some(1)));
        assert_eq!(
            (keys, prefixes, pages),
            (vec!["c".into(), "e".into()], vec!["a/".into(), "b/".into(), "d/".into()], 5)
        );
        let out = s3.list_objects_v2(v2(Some("b/"), Some("/"), None)).unwrap();
        assert_eq!(out.contents.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), vec!["b/1"]);
        assert_eq!(out.common_prefixes, vec![CommonPrefix { prefix: "b/c/".into() }]);
        // Multi-character delimiter.
        let out = s3.list_objects_v2(v2(None, Some("/1"), None)).unwrap();
        assert_eq!(
            out.common_prefixes.iter().map(|p| p.prefix.as_str()).collect::<Vec<_>>(),
            vec!["a/1", "b/1", "b/c/1"]
        );
    });
}

#[test]
fn v2_start_after_fetch_owner_and_url_encoding() {
    each_store(|s3| {
        for k in ["a", "b c", "d+e", "f\u{e9}"] {
            put(s3, k);
        }
        let out = s3
            .list_objects_v2(ListObjectsV2Request { start_after: Some("b".into()), ..v2(None, None, None) })
            .unwrap();
        assert_eq!(
            out.contents.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(),
            vec!["b c", "d+e", "f\u{e9}"]
        );
        assert!(out.contents[0].owner.is_none());
        let out =
            s3.list_objects_v2(ListObjectsV2Request { fetch_owner: true, ..v2(None, None, None) }).unwrap();
        assert_eq!(out.contents[0].owner.as_ref().unwrap().id, s3.caller().unwrap().canonical_id);
        let out = s3
            .list_objects_v2(ListObjectsV2Request {
                encoding_type: Some(EncodingType::Url),
                ..v2(Some("b "), None, None)
            })
            .unwrap();
        assert_eq!(out.contents[0].key, "b%20c");
        assert_eq!(out.prefix.as_deref(), Some("b%20"));
        let out = s3
            .list_objects_v2(ListObjectsV2Request {
                encoding_type: Some(EncodingType::Url),
                ..v2(Some("f"), None, None)
            })
            .unwrap();
        assert_eq!(out.contents[0].key, "f%C3%A9");
        let o = &s3.list_objects_v2(v2(Some("a"), None, None)).unwrap().contents[0];
        assert_eq!((o.size, o.e_tag.len()), (1, 34));
    });
}

#[test]
fn v2_forged_or_foreign_tokens_are_refused() {
    each_store(|s3| {
        for i in 0..3 {
            put(s3, &format!("k{i}"));
        }
        let token = s3.list_objects_v2(v2(None, None, Some(1))).unwrap().next_continuation_token.unwrap();
        s3.create_bucket(CreateBucketRequest { bucket: "other".into(), ..Default::default() }).unwrap();
        let foreign = ListObjectsV2Request {
            bucket: "other".into(),
            continuation_token: Some(token.clone()),
            ..Default::default()
        };
        assert_eq!(s3.list_objects_v2(foreign).unwrap_err().code(), "InvalidArgument");
        let mut forged = token.into_bytes();
        forged[22] = if forged[22] == b'a' { b'b' } else { b'a' };
        let req = ListObjectsV2Request {
            continuation_token: Some(String::from_utf8(forged).unwrap()),
            ..v2(None, None, None)
        };
        let e = s3.list_objects_v2(req).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("InvalidArgument", 400));
        let req =
            ListObjectsV2Request { continuation_token: Some("not a token".into()), ..v2(None, None, None) };
        assert_eq!(s3.list_objects_v2(req).unwrap_err().code(), "InvalidArgument");
        assert_eq!(
            s3.list_objects_v2(ListObjectsV2Request { bucket: "nope".into(), ..Default::default() })
                .unwrap_err()
                .code(),
            "NoSuchBucket"
        );
    });
}

#[test]
fn v1_marker_and_next_marker() {
    each_store(|s3| {
        for k in ["a/1", "a/2", "b", "c/1", "d"] {
            put(s3, k);
        }
        let req = |marker: Option<&str>, delimiter: Option<&str>| ListObjectsRequest {
            bucket: "bkt".into(),
            marker: marker.map(Into::into),
            delimiter: delimiter.map(Into::into),
            max_keys: Some(2),
            ..Default::default()
        };
        let p1 = s3.list_objects(req(None, None)).unwrap();
        assert_eq!(p1.contents.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), vec!["a/1", "a/2"]);
        assert!(p1.is_truncated);
        assert_eq!(p1.next_marker, None, "without a delimiter S3 gives no NextMarker");
        assert!(p1.contents[0].owner.is_some(), "v1 always includes owners");
        let p2 = s3.list_objects(req(Some("a/2"), None)).unwrap();
        assert_eq!(p2.contents.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), vec!["b", "c/1"]);
        let d1 = s3.list_objects(req(None, Some("/"))).unwrap();
        assert_eq!(d1.common_prefixes, vec![CommonPrefix { prefix: "a/".into() }]);
        assert_eq!(d1.contents.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), vec!["b"]);
        assert_eq!(d1.next_marker.as_deref(), Some("b"));
        let d2 = s3.list_objects(req(d1.next_marker.as_deref(), Some("/"))).unwrap();
        assert_eq!(d2.common_prefixes, vec![CommonPrefix { prefix: "c/".into() }]);
        assert_eq!(d2.contents.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), vec!["d"]);
        assert!(!d2.is_truncated);
        let p = s3.list_objects(req(Some("a/"), Some("/"))).unwrap();
        assert_eq!(p.contents[0].key, "b", "a marker that is a common prefix skips it");
    });
}

#[test]
fn versions_listing_order_markers_and_paging() {
    each_store(|s3| {
        put(s3, "a");
        s3.put_bucket_versioning("bkt", BucketVersioningStatus::Enabled).unwrap();
        let a1 = put(s3, "a").version_id.unwrap();
        let b1 = put(s3, "b").version_id.unwrap();
        let bm = s3
            .delete_object(DeleteObjectRequest {
                bucket: "bkt".into(),
                key: "b".into(),
                ..Default::default()
            })
            .unwrap()
            .version_id
            .unwrap();
        let b2 = put(s3, "b").version_id.unwrap();
        let expect = vec![
            ("a".to_string(), a1.clone(), true, false),
            ("a".to_string(), "null".to_string(), false, false),
            ("b".to_string(), b2.clone(), true, false),
            ("b".to_string(), bm.clone(), false, true),
            ("b".to_string(), b1.clone(), false, false),
        ];
        let req = ListObjectVersionsRequest { bucket: "bkt".into(), ..Default::default() };
        let out = s3.list_object_versions(req.clone()).unwrap();
        let got: Vec<_> = out
            .entries
            .iter()
            .map(|v| (v.key.clone(), v.version_id.clone(), v.is_latest, v.is_delete_marker))
            .collect();
        assert_eq!(got, expect);
        assert_eq!((out.versions.len(), out.delete_markers.len()), (4, 1));
        assert_eq!(out.delete_markers[0].e_tag, "");
        for page in 1..=5 {
            let mut r = ListObjectVersionsRequest { max_keys: Some(page), ..req.clone() };
            let mut got = Vec::new();
            loop {
                let out = s3.list_object_versions(r.clone()).unwrap();
                got.extend(
                    out.entries
                        .iter()
                        .map(|v| (v.key.clone(), v.version_id.clone(), v.is_latest, v.is_delete_marker)),
                );
                if !out.is_truncated {
                    break;
                }
                r.key_marker = out.next_key_marker;
                r.version_id_marker = out.next_version_id_marker;
            }
            assert_eq!(got, expect, "page size {page}");
        }
        let bad = ListObjectVersionsRequest { version_id_marker: Some(a1.clone()), ..req.clone() };
        assert_eq!(s3.list_object_versions(bad).unwrap_err().code(), "InvalidArgument");
        let bad = ListObjectVersionsRequest {
            key_marker: Some("a".into()),
            version_id_marker: Some(b1),
            ..req.clone()
        };
        assert_eq!(s3.list_object_versions(bad).unwrap_err().code(), "InvalidArgument");
        let after_a = s3
            .list_object_versions(ListObjectVersionsRequest { key_marker: Some("a".into()), ..req })
            .unwrap();
        assert_eq!(after_a.entries.len(), 3);
    });
}

#[test]
fn listing_sees_every_write_immediately() {
    each_store(|s3| {
        for i in 0..50 {
            put(s3, &format!("k{i:02}"));
            let out = s3.list_objects_v2(v2(None, None, None)).unwrap();
            assert_eq!(out.key_count, i + 1);
        }
        s3.delete_object(DeleteObjectRequest {
            bucket: "bkt".into(),
            key: "k10".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s3.list_objects_v2(v2(None, None, None)).unwrap().key_count, 49);
    });
}

/// Many keys and versions over 16 partitions, so that partition cursors refill in the middle of a
/// key's versions and of a page: every page size gives the same sequence as the model.
#[test]
fn paging_a_large_versioned_bucket_matches_the_model() {
    let store = Store::in_memory_builder().open().unwrap();
    let s3 = store.s3();
    s3.create_bucket(CreateBucketRequest { bucket: "bkt".into(), ..Default::default() }).unwrap();
    s3.put_bucket_versioning("bkt", BucketVersioningStatus::Enabled).unwrap();
    let mut model: Vec<(String, Vec<(String, bool)>)> = Vec::new();
    for i in 0..600u32 {
        let key = format!("{}/{i:04}", ["x", "y", "z"][(i % 3) as usize]);
        let mut versions = Vec::new();
        for v in 0..(i % 4 + 1) {
            if (i + v) % 5 == 0 {
                let id = s3
                    .delete_object(DeleteObjectRequest {
                        bucket: "bkt".into(),
                        key: key.clone(),
                        ..Default::default()
                    })
                    .unwrap();
                versions.insert(0, (id.version_id.unwrap(), true));
            } else {
                versions.insert(0, (put(&s3, &key).version_id.unwrap(), false));
            }
        }
        model.push((key, versions));
    }
    model.sort();
    let want: Vec<(String, String, bool, bool)> = model
        .iter()
        .flat_map(|(k, vs)| {
            vs.iter().enumerate().map(move |(i, (id, m))| (k.clone(), id.clone(), i == 0, *m))
        })
        .collect();
    let live: Vec<String> = model.iter().filter(|(_, vs)| !vs[0].1).map(|(k, _)| k.clone()).collect();
    for page in [1, 2, 13, 100, 1000] {
        let mut req =
            ListObjectVersionsRequest { bucket: "bkt".into(), max_keys: Some(page), ..Default::default() };
        let mut got = Vec::new();
        loop {
            let out = s3.list_object_versions(req.clone()).unwrap();
            got.extend(
                out.entries.into_iter().map(|v| (v.key, v.version_id, v.is_latest, v.is_delete_marker)),
            );
            if !out.is_truncated {
                break;
            }
            req.key_marker = out.next_key_marker;
            req.version_id_marker = out.next_version_id_marker;
        }
        assert_eq!(got, want, "versions, page size {page}");
        let (keys, prefixes, _) = all_v2(&s3, v2(None, None, Some(page)));
        assert_eq!(keys, live, "v2, page size {page}");
        assert!(prefixes.is_empty());
        let (keys, prefixes, _) = all_v2(&s3, v2(None, Some("/"), Some(page)));
        assert!(keys.is_empty());
        assert_eq!(prefixes, vec!["x/", "y/", "z/"], "page size {page}");
    }
}

/// One version as the tests compare it: key, version id, is-latest, is-delete-marker.
type Version = (String, String, bool, bool);

/// A plain model of a versioned bucket: each key's versions, newest first, `true` for a marker.
type Model = Vec<(String, Vec<(String, bool)>)>;

/// Builds a bucket with `null` versions, versions, delete markers (as latest, in the middle, and as a
/// key's only version), the key `c/` itself and prefixes nested three deep; returns its model.
fn versions_fixture(s3: &S3) -> Model {
    let mut model: Model = Vec::new();
    let mut record = |key: &str, id: String, marker: bool| match model.iter_mut().find(|(k, _)| k == key) {
        Some((_, vs)) => vs.insert(0, (id, marker)),
        None => model.push((key.to_owned(), vec![(id, marker)])),
    };
    for key in ["a/1", "b", "c/"] {
        put(s3, key);
        record(key, "null".into(), false);
    }
    s3.put_bucket_versioning("bkt", BucketVersioningStatus::Enabled).unwrap();
    let delete = |key: &str| {
        let req = DeleteObjectRequest { bucket: "bkt".into(), key: key.into(), ..Default::default() };
        s3.delete_object(req).unwrap().version_id.unwrap()
    };
    let ops: [(&str, bool); 19] = [
        ("a/1", false),
        ("a/2", false),
        ("a/2", true),
        ("a/b/1", true),
        ("a/b/2", false),
        ("a/b/2", false),
        ("b", true),
        ("b", false),
        ("c/", true),
        ("c/d/e", false),
        ("c/d/f", false),
        ("d", false),
        ("d", true),
        ("e/x/y/z", false),
        ("e/x/y/z", true),
        ("e/x/q", false),
        ("f", true),
        ("f", true),
        ("g/", false),
    ];
    for (key, marker) in ops {
        let id = if marker { delete(key) } else { put(s3, key).version_id.unwrap() };
        record(key, id, marker);
    }
    model.sort();
    model
}

/// What ListObjectVersions must return in all: every version of every key under `prefix` whose rest
/// has no delimiter, and each common prefix once (delete markers count: they are versions).
fn model_versions(model: &Model, prefix: &str, delimiter: Option<&str>) -> (Vec<Version>, Vec<String>) {
    let (mut entries, mut prefixes) = (Vec::new(), Vec::<String>::new());
    for (key, vs) in model.iter().filter(|(k, _)| k.starts_with(prefix)) {
        let rest = &key[prefix.len()..];
        if let Some(pos) = delimiter.filter(|d| !d.is_empty()).and_then(|d| rest.find(d).map(|p| p + d.len()))
        {
            let common = key[..prefix.len() + pos].to_owned();
            if prefixes.last() != Some(&common) {
                prefixes.push(common);
            }
            continue;
        }
        for (i, (id, m)) in vs.iter().enumerate() {
            entries.push((key.clone(), id.clone(), i == 0, *m));
        }
    }
    (entries, prefixes)
}

/// Pages through ListObjectVersions with `page` keys per call and returns the concatenation. Fails
/// (rather than hangs) when it takes more pages than there are items plus one, and checks each
/// page's markers: after a common prefix, NextKeyMarker is that prefix and NextVersionIdMarker is
/// absent; after a version, they name that version.
fn page_versions(
    list: &dyn Fn(ListObjectVersionsRequest) -> ListObjectVersionsOutput,
    base: &ListObjectVersionsRequest,
    page: i32,
    items: usize,
) -> (Vec<Version>, Vec<String>) {
    let mut req = ListObjectVersionsRequest { max_keys: Some(page), ..base.clone() };
    let (mut entries, mut prefixes) = (Vec::new(), Vec::new());
    for _ in 0..=items + 1 {
        let out = list(req.clone());
        assert!(out.entries.len() + out.common_prefixes.len() <= page as usize);
        entries.extend(
            out.entries
                .iter()
                .map(|v| (v.key.clone(), v.version_id.clone(), v.is_latest, v.is_delete_marker)),
        );
        prefixes.extend(out.common_prefixes.iter().map(|p| p.prefix.clone()));
        if !out.is_truncated {
            assert_eq!((out.next_key_marker, out.next_version_id_marker), (None, None));
            return (entries, prefixes);
        }
        match &out.next_version_id_marker {
            None => {
                let last = out.common_prefixes.last().map(|p| &p.prefix);
                assert_eq!(
                    out.next_key_marker.as_ref(),
                    last,
                    "a page ending on a common prefix resumes after it"
                );
            }
            Some(v) => {
                let last = out.entries.last().map(|e| (&e.key, &e.version_id));
                assert_eq!(
                    out.next_key_marker.as_ref().zip(Some(v)),
                    last,
                    "a page ending on a version resumes after it"
                );
            }
        }
        req.key_marker = out.next_key_marker;
        req.version_id_marker = out.next_version_id_marker;
    }
    panic!(
        "ListObjectVersions made no progress: more than {} pages of {page} for {items} items ({base:?})",
        items + 1
    );
}

/// The queries the delimiter tests page through: with and without a delimiter, nested prefixes, a
/// prefix that is itself a key (`c/`), a prefix that ends inside a key name, a two-byte delimiter.
const VERSION_QUERIES: [(&str, Option<&str>); 8] = [
    ("", Some("/")),
    ("", None),
    ("a/", Some("/")),
    ("a", Some("/")),
    ("c/", Some("/")),
    ("e/", Some("/")),
    ("e/x/", Some("/")),
    ("", Some("/b")),
];

#[test]
fn versions_with_a_delimiter_page_at_every_size_like_one_page_and_the_model() {
    each_store(|s3| {
        let model = versions_fixture(s3);
        for (prefix, delimiter) in VERSION_QUERIES {
            let base = ListObjectVersionsRequest {
                bucket: "bkt".into(),
                prefix: (!prefix.is_empty()).then(|| prefix.into()),
                delimiter: delimiter.map(Into::into),
                ..Default::default()
            };
            let want = model_versions(&model, prefix, delimiter);
            let items = want.0.len() + want.1.len();
            assert!(items > 0, "query ({prefix:?}, {delimiter:?}) lists something");
            let list = |r| s3.list_object_versions(r).unwrap();
            let one = page_versions(&list, &base, 1000, items);
            assert_eq!(one, want, "one page, ({prefix:?}, {delimiter:?})");
            for page in 1..=items as i32 + 1 {
                let got = page_versions(&list, &base, page, items);
                assert_eq!(got, want, "page size {page}, ({prefix:?}, {delimiter:?})");
            }
        }
    });
}

/// The same paging through the client's fluent builder, as an application would write it.
#[test]
fn versions_with_a_delimiter_page_through_the_client() {
    let store = common::small(Store::in_memory_builder()).open().unwrap();
    let s3 = store.s3();
    s3.create_bucket(CreateBucketRequest { bucket: "bkt".into(), ..Default::default() }).unwrap();
    let model = versions_fixture(&s3);
    let client = store.client();
    let list = |r: ListObjectVersionsRequest| {
        let mut b = client.list_object_versions().bucket(r.bucket).delimiter("/");
        if let Some(n) = r.max_keys {
            b = b.max_keys(n);
        }
        if let Some(k) = r.key_marker {
            b = b.key_marker(k);
        }
        if let Some(v) = r.version_id_marker {
            b = b.version_id_marker(v);
        }
        b.send().unwrap().into_output()
    };
    let base =
        ListObjectVersionsRequest { bucket: "bkt".into(), delimiter: Some("/".into()), ..Default::default() };
    let want = model_versions(&model, "", Some("/"));
    let items = want.0.len() + want.1.len();
    for page in 1..=items as i32 + 1 {
        assert_eq!(page_versions(&list, &base, page, items), want, "page size {page}");
    }
}

/// The defect as reported: keys `a/1 a/2 c`, delimiter `/`, one key per page returned the page
/// `a/` forever.
#[test]
fn versions_page_ending_on_a_common_prefix_resumes_after_it() {
    each_store(|s3| {
        s3.put_bucket_versioning("bkt", BucketVersioningStatus::Enabled).unwrap();
        for k in ["a/1", "a/2", "c"] {
            put(s3, k);
        }
        let req = ListObjectVersionsRequest {
            bucket: "bkt".into(),
            delimiter: Some("/".into()),
            max_keys: Some(1),
            ..Default::default()
        };
        let p1 = s3.list_object_versions(req.clone()).unwrap();
        assert_eq!(p1.common_prefixes, vec![CommonPrefix { prefix: "a/".into() }]);
        assert!(p1.is_truncated);
        assert_eq!((p1.next_key_marker.as_deref(), p1.next_version_id_marker.as_deref()), (Some("a/"), None));
        let p2 = s3
            .list_object_versions(ListObjectVersionsRequest { key_marker: p1.next_key_marker, ..req })
            .unwrap();
        assert!(p2.common_prefixes.is_empty(), "a/ again: {:?}", p2.common_prefixes);
        assert_eq!(p2.entries.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), vec!["c"]);
        assert!(!p2.is_truncated);
    });
}

/// A marker ending in the delimiter is a common prefix only if it is one under the query's prefix:
/// with prefix `a/`, the key `a/` itself is listed, and a NextMarker of `a/` resumes after that key,
/// not after every key under `a/`.
#[test]
fn v1_marker_equal_to_the_prefix_is_a_key_not_a_common_prefix() {
    each_store(|s3| {
        for k in ["a/", "a/b", "a/c/d", "a/c/e", "b"] {
            put(s3, k);
        }
        let mut req = ListObjectsRequest {
            bucket: "bkt".into(),
            prefix: Some("a/".into()),
            delimiter: Some("/".into()),
            max_keys: Some(1),
            ..Default::default()
        };
        let (mut keys, mut prefixes) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let out = s3.list_objects(req.clone()).unwrap();
            keys.extend(out.contents.into_iter().map(|o| o.key));
            prefixes.extend(out.common_prefixes.into_iter().map(|p| p.prefix));
            if !out.is_truncated {
                break;
            }
            req.marker = out.next_marker;
        }
        assert_eq!((keys, prefixes), (vec!["a/".to_string(), "a/b".into()], vec!["a/c/".to_string()]));
    });
}

/// Index entries one listing scan may visit per hold of a partition's lock
/// (`listing::LIST_SCAN_ENTRIES_PER_LOCK`, crate-private).
const SCAN_ENTRIES_PER_LOCK: usize = 4096;

/// Creates `n` keys `<prefix><i>` whose only version is a delete marker (a versioned delete of a
/// missing key), and makes every seventh one a live version under a marker instead; returns the
/// index entries written.
fn marker_keys(s3: &S3, prefix: &str, n: usize) -> usize {
    let mut entries = 0;
    for i in 0..n {
        let key = format!("{prefix}{i:05}");
        if i % 7 == 0 {
            put(s3, &key);
            entries += 1;
        }
        let req = DeleteObjectRequest { bucket: "bkt".into(), key, ..Default::default() };
        assert!(s3.delete_object(req).unwrap().delete_marker);
        entries += 1;
    }
    entries
}

fn lists(store: &Store) -> u64 {
    store.partition_stats().iter().map(|s| s.lists).sum()
}

/// 20,000 keys whose current version is a delete marker, around a few live keys: every listing shows
/// exactly the live keys and common prefixes, with exact `is_truncated` (the look-ahead crosses
/// thousands of markers to find that nothing follows), and a listing takes at least one lock hold per
/// `SCAN_ENTRIES_PER_LOCK` entries (before the bound it took one per partition).
#[test]
fn a_bucket_of_delete_markers_lists_only_its_live_keys() {
    let store = common::small(Store::in_memory_builder()).open().unwrap();
    let s3 = store.s3();
    s3.create_bucket(CreateBucketRequest { bucket: "bkt".into(), ..Default::default() }).unwrap();
    s3.put_bucket_versioning("bkt", BucketVersioningStatus::Enabled).unwrap();
    let mut entries = marker_keys(&s3, "d/", 20_000);
    // A prefix whose keys all have markers as current versions makes no common prefix.
    entries += marker_keys(&s3, "e/x/", 100);
    let live = ["a", "d/10000.live", "d/19999/sub", "z"];
    for k in live {
        put(&s3, k);
        entries += 1;
    }
    let before = lists(&store);
    let (keys, prefixes, pages) = all_v2(&s3, v2(None, None, None));
    assert_eq!((keys, prefixes, pages), (live.map(String::from).to_vec(), vec![], 1));
    let holds = lists(&store) - before;
    assert!(
        holds as usize >= entries.div_ceil(SCAN_ENTRIES_PER_LOCK),
        "{entries} entries in {holds} lock holds: more than {SCAN_ENTRIES_PER_LOCK} per hold"
    );
    for page in 1..=5 {
        let (keys, _, pages) = all_v2(&s3, v2(None, None, Some(page)));
        assert_eq!(keys, live.map(String::from).to_vec(), "page size {page}");
        assert_eq!(pages, live.len().div_ceil(page as usize), "page size {page}: is_truncated is exact");
    }
    let out = s3.list_objects_v2(v2(None, None, Some(3))).unwrap();
    assert!(out.is_truncated, "z follows");
    let out = s3.list_objects_v2(v2(Some("d/"), None, Some(2))).unwrap();
    assert!(!out.is_truncated, "nothing but markers after d/19999/sub");
    let (keys, prefixes, _) = all_v2(&s3, v2(None, Some("/"), None));
    assert_eq!((keys, prefixes), (vec!["a".into(), "z".into()], vec!["d/".into()]));
    let (keys, prefixes, _) = all_v2(&s3, v2(Some("d/"), Some("/"), Some(1)));
    assert_eq!((keys, prefixes), (vec!["d/10000.live".into()], vec!["d/19999/".into()]));
    let out = s3.list_objects_v2(v2(Some("e/"), Some("/"), None)).unwrap();
    assert!(out.contents.is_empty() && out.common_prefixes.is_empty() && !out.is_truncated);
    let v1 = s3
        .list_objects(ListObjectsRequest { bucket: "bkt".into(), max_keys: Some(2), ..Default::default() })
        .unwrap();
    assert_eq!(v1.contents.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), vec!["a", "d/10000.live"]);
    assert!(v1.is_truncated);
    // Versions show every marker: the 100 keys under e/x/, 15 of them with a live version too.
    let req =
        ListObjectVersionsRequest { bucket: "bkt".into(), prefix: Some("e/".into()), ..Default::default() };
    let out = s3.list_object_versions(req).unwrap();
    assert_eq!((out.delete_markers.len(), out.versions.len(), out.is_truncated), (100, 15, false));
}

/// A writer to the same (only) partition keeps completing writes while one listing walks 40,000
/// delete markers: the listing lets go of the index lock every `SCAN_ENTRIES_PER_LOCK` entries (10
/// holds), and the writer's index update gets in between.
///
/// Progress is counted in writes, not time: writes that began after the listing's first lock hold
/// ended and completed before its last one began. The partition's `lists` counter, which the listing
/// bumps as it starts each hold, dates them: the writer reads it before and after each write. (Writes
/// merely completed while the call ran are no measure: a lister waiting for its first read lock lets
/// the writer in many times; before the bound, such a count reached 1,424 with one hold.) Before the
/// bound there was one hold, so no write fitted between holds. The writer can be descheduled on a
/// busy machine, so listings repeat (up to `ROUNDS`) until one has `WRITES_MIN` such writes.
#[test]
fn a_writer_to_the_same_partition_progresses_during_a_long_listing() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    const ROUNDS: usize = 100;
    const WRITES_MIN: usize = 3;
    let store = Store::in_memory_builder().partitions(1).open().unwrap();
    let s3 = store.s3();
    s3.create_bucket(CreateBucketRequest { bucket: "bkt".into(), ..Default::default() }).unwrap();
    s3.create_bucket(CreateBucketRequest { bucket: "writes".into(), ..Default::default() }).unwrap();
    s3.put_bucket_versioning("bkt", BucketVersioningStatus::Enabled).unwrap();
    let markers: usize = 40_000;
    for i in 0..markers {
        let req = DeleteObjectRequest { bucket: "bkt".into(), key: format!("k{i:05}"), ..Default::default() };
        s3.delete_object(req).unwrap();
    }
    // (lock holds begun before the write started, lock holds begun when it had completed)
    let log = Arc::new(parking_lot::Mutex::new(Vec::<(u64, u64)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, s3, log, stop) = (store.clone(), s3.clone(), log.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let req = PutObjectRequest {
                    bucket: "writes".into(),
                    key: format!("w{}", i % 64),
                    body: b"x".to_vec().into(),
                    ..Default::default()
                };
                let began = lists(&store);
                s3.put_object(req).unwrap();
                log.lock().push((began, lists(&store)));
                i += 1;
            }
        })
    };
    while log.lock().len() < 10 {
        std::thread::yield_now();
    }
    let (mut between, mut holds) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let first = lists(&store) + 1;
        let req = ListObjectsV2Request { bucket: "bkt".into(), ..Default::default() };
        let out = s3.list_objects_v2(req).unwrap();
        let last = lists(&store);
        assert!(out.contents.is_empty() && !out.is_truncated);
        holds.push(last + 1 - first);
        // Began once hold `first + 1` had started (so hold `first` was over), done before hold `last`.
        let n = log.lock().iter().filter(|&&(b, e)| b > first && e < last).count();
        between.push(n);
        if n >= WRITES_MIN {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    eprintln!("writes between the first and last lock holds of each listing: {between:?}, holds: {holds:?}");
    let best = between.iter().copied().max().unwrap_or(0);
    assert!(
        best >= WRITES_MIN,
        "at most {best} writes fitted between one listing's lock holds over {markers} markers ({} listings)",
        between.len()
    );
    let want = markers.div_ceil(SCAN_ENTRIES_PER_LOCK) as u64;
    assert!(holds.iter().all(|&h| h == want), "lock holds per listing {holds:?}, want {want}");
}
