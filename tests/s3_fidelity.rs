//! Answers that must be S3's, each with where S3 documents it (issue 12, the S3 fidelity sweep;
//! the items not listed here are still open there).

mod common;

use s3lite::s3::S3;
use s3lite::s3::types::*;
use s3lite::{Error, StorageClass, Store};

fn store_in(region: &str) -> Store {
    common::small(Store::in_memory_builder()).region(region).open().unwrap()
}

fn bucket(s3: &S3, name: &str) {
    s3.create_bucket(CreateBucketRequest { bucket: name.into(), ..Default::default() }).unwrap();
}

fn put(s3: &S3, key: &str, class: Option<&str>) -> PutObjectOutput {
    s3.put_object(PutObjectRequest {
        bucket: "bkt".into(),
        key: key.into(),
        body: b"body".as_slice().into(),
        storage_class: class.map(Into::into),
        ..Default::default()
    })
    .unwrap()
}

fn head(s3: &S3, key: &str) -> HeadObjectOutput {
    s3.head_object(HeadObjectRequest { bucket: "bkt".into(), key: key.into(), ..Default::default() }).unwrap()
}

/// S3 API reference, CreateBucketConfiguration / BucketLocationConstraint: `EU` is a valid value and
/// means eu-west-1 (the legacy name); a bucket created with it lives in eu-west-1.
#[test]
fn location_constraint_eu_creates_a_bucket_in_eu_west_1() {
    let store = store_in("eu-west-1");
    let s3 = store.s3();
    let config = |c: &str| Some(CreateBucketConfiguration { location_constraint: Some(c.into()) });
    s3.create_bucket(CreateBucketRequest {
        bucket: "legacy-eu".into(),
        create_bucket_configuration: config("EU"),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(store.bucket("legacy-eu").unwrap().region, "eu-west-1");
    // Any other region still is the wrong one for this store.
    let e = s3
        .create_bucket(CreateBucketRequest {
            bucket: "other".into(),
            create_bucket_configuration: config("eu-central-1"),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(e.code(), "IllegalLocationConstraintException");
    // And `EU` on a store in another region is refused as S3 refuses it there.
    let s3 = store_in("us-west-2").s3();
    let e = s3
        .create_bucket(CreateBucketRequest {
            bucket: "legacy-eu".into(),
            create_bucket_configuration: config("EU"),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(e.code(), "IllegalLocationConstraintException");
}

/// S3 API reference, CopyObject, `x-amz-storage-class`: "By default, Amazon S3 uses the STANDARD
/// Storage Class to store newly created objects" — a copy does not inherit the source's class.
#[test]
fn a_copy_without_a_storage_class_is_standard() {
    let store = store_in("us-east-1");
    let s3 = store.s3();
    bucket(&s3, "bkt");
    put(&s3, "cold", Some("STANDARD_IA"));
    assert_eq!(head(&s3, "cold").storage_class, Some(StorageClass::StandardIa));
    let copy = |key: &str, class: Option<&str>| {
        s3.copy_object(CopyObjectRequest {
            bucket: "bkt".into(),
            key: key.into(),
            copy_source: "bkt/cold".into(),
            storage_class: class.map(Into::into),
            ..Default::default()
        })
    };
    copy("copy", None).unwrap();
    // HeadObject reports no class for STANDARD, as S3 does.
    assert_eq!(head(&s3, "copy").storage_class, None);
    copy("copy-ia", Some("ONEZONE_IA")).unwrap();
    assert_eq!(head(&s3, "copy-ia").storage_class, Some(StorageClass::OnezoneIa));
}

/// S3 API reference, CopyObject: "If the source object is a delete marker ... you specify the
/// version ID of a delete marker as the source, Amazon S3 returns an HTTP 400 Bad Request error
/// (InvalidRequest)" — "The source of a copy request may not specifically refer to a delete marker
/// by version id". Without a version id the copy of a key whose current version is a marker is 404.
#[test]
fn a_copy_from_a_delete_marker_by_version_id_is_invalid_request() {
    let store = store_in("us-east-1");
    let s3 = store.s3();
    bucket(&s3, "bkt");
    s3.put_bucket_versioning("bkt", BucketVersioningStatus::Enabled).unwrap();
    put(&s3, "k", None);
    let marker = s3
        .delete_object(DeleteObjectRequest { bucket: "bkt".into(), key: "k".into(), ..Default::default() })
        .unwrap();
    assert!(marker.delete_marker);
    let marker_id = marker.version_id.expect("a delete marker's version id");
    let copy = |source: String| {
        s3.copy_object(CopyObjectRequest {
            bucket: "bkt".into(),
            key: "dst".into(),
            copy_source: source,
            ..Default::default()
        })
    };
    let e = copy(format!("bkt/k?versionId={marker_id}")).unwrap_err();
    assert!(matches!(e, Error::InvalidRequest { .. }), "{e:?}");
    assert_eq!((e.code(), e.http_status()), ("InvalidRequest", 400));
    let e = copy("bkt/k".into()).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("NoSuchKey", 404));
}

/// S3 user guide, "Working with object metadata" (system-defined `Content-Type`): an object stored
/// without one is reported as `binary/octet-stream` by HeadObject and GetObject. (Objects stored
/// before this change keep reporting none: the default is applied when writing.)
#[test]
fn an_object_put_without_a_content_type_reports_binary_octet_stream() {
    let store = store_in("us-east-1");
    let s3 = store.s3();
    bucket(&s3, "bkt");
    put(&s3, "plain", None);
    assert_eq!(head(&s3, "plain").content_type.as_deref(), Some("binary/octet-stream"));
    let got =
        s3.get_object(GetObjectRequest { bucket: "bkt".into(), key: "plain".into(), ..Default::default() });
    assert_eq!(got.unwrap().head.content_type.as_deref(), Some("binary/octet-stream"));
    // A given type is kept, and a copy that replaces metadata without one gets the default too.
    s3.put_object(PutObjectRequest {
        bucket: "bkt".into(),
        key: "typed".into(),
        body: b"x".as_slice().into(),
        content_type: Some("text/plain".into()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(head(&s3, "typed").content_type.as_deref(), Some("text/plain"));
    s3.copy_object(CopyObjectRequest {
        bucket: "bkt".into(),
        key: "replaced".into(),
        copy_source: "bkt/typed".into(),
        metadata_directive: MetadataDirective::Replace,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(head(&s3, "replaced").content_type.as_deref(), Some("binary/octet-stream"));
}

/// S3 user guide, "Categorizing your storage using tags": tag keys and values hold letters, numbers
/// and spaces representable in UTF-8 and `+ - = . _ : / @`; keys starting with `aws:` are reserved
/// for AWS (AWS tagging guide: in any case). PutObject answers `InvalidTag` otherwise. (Whether S3
/// refuses `aws:` in *values* too is not documented; values are checked for characters only.)
#[test]
fn tags_outside_s3s_character_set_or_with_the_aws_prefix_are_invalid() {
    let store = store_in("us-east-1");
    let s3 = store.s3();
    bucket(&s3, "bkt");
    let put_tagged = |tagging: &str| {
        s3.put_object(PutObjectRequest {
            bucket: "bkt".into(),
            key: "tagged".into(),
            body: b"x".as_slice().into(),
            tagging: Some(tagging.into()),
            ..Default::default()
        })
    };
    put_tagged("project=blue%20sky&path=a%2Fb%40c%3Ad").unwrap();
    for bad in ["aws%3Acreated=me", "Aws%3Acreated=me", "note=hi%21", "k%3F=v"] {
        let e = put_tagged(bad).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("InvalidTag", 400), "{bad}");
    }
}

/// S3 API reference, GetObject, `Range`: "Amazon S3 doesn't support retrieving multiple ranges of
/// data per GET request"; RFC 9110 §14.2 lets a server ignore a Range header it does not serve.
/// S3 then answers 200 with the whole object, for several ranges, a malformed range or another unit
/// alike. A well-formed range wholly past the end stays 416 `InvalidRange`. (That an empty
/// `bytes=` is ignored rather than refused is the same rule applied, not a documented case.)
#[test]
fn ranges_s3_cannot_use_are_ignored() {
    let store = store_in("us-east-1");
    let s3 = store.s3();
    bucket(&s3, "bkt");
    s3.put_object(PutObjectRequest {
        bucket: "bkt".into(),
        key: "k".into(),
        body: b"0123456789".as_slice().into(),
        ..Default::default()
    })
    .unwrap();
    let get = |range: &str| {
        s3.get_object(GetObjectRequest {
            bucket: "bkt".into(),
            key: "k".into(),
            range: Some(range.into()),
            ..Default::default()
        })
    };
    let mut one = get("bytes=2-4").unwrap();
    assert_eq!(one.body.read_to_vec().unwrap(), b"234");
    for ignored in ["bytes=0-1,4-5", "bytes=abc", "bytes=5-2", "items=0-1", "bytes="] {
        let mut whole = get(ignored).unwrap_or_else(|e| panic!("{ignored}: {e}"));
        assert_eq!(whole.body.read_to_vec().unwrap(), b"0123456789", "{ignored}");
        assert_eq!(whole.head.content_length, 10, "{ignored}");
    }
    let e = get("bytes=10-").unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("InvalidRange", 416));
    let head = s3.head_object(HeadObjectRequest {
        bucket: "bkt".into(),
        key: "k".into(),
        range: Some("bytes=0-1,4-5".into()),
        ..Default::default()
    });
    assert_eq!(head.unwrap().content_length, 10);
}

/// S3 reports times in whole seconds: `Last-Modified` is an HTTP date (RFC 9110 §5.6.7, seconds),
/// and listings' `LastModified` has `.000Z` (S3 API reference, ListObjectsV2 response examples).
/// The store keeps the milliseconds of its clock; what S3 reports has none.
#[test]
fn times_are_reported_in_whole_seconds() {
    let clock = std::sync::Arc::new(s3lite::clock::ManualClock::new(1_700_000_000_123));
    let store = common::small(Store::in_memory_builder()).clock(clock).open().unwrap();
    let s3 = store.s3();
    bucket(&s3, "bkt");
    put(&s3, "k", None);
    let whole = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    assert_eq!(head(&s3, "k").last_modified, whole);
    let listed =
        s3.list_objects_v2(ListObjectsV2Request { bucket: "bkt".into(), ..Default::default() }).unwrap();
    assert_eq!(listed.contents[0].last_modified, whole);
    let buckets = s3.list_buckets(ListBucketsRequest::default()).unwrap();
    assert_eq!(buckets.buckets[0].creation_date, whole);
}

/// S3 API reference, GetObject: an object in GLACIER or DEEP_ARCHIVE must be restored before it
/// can be retrieved, else 403 `InvalidObjectState`; CopyObject refuses such a source the same way
/// (its "Errors" list `InvalidObjectState`). HeadObject answers. GLACIER_IR is read directly. No
/// object can be restored yet (restore comes with the tiering issue).
#[test]
fn archived_objects_never_restored_are_not_served_or_copied() {
    let store = store_in("us-east-1");
    let s3 = store.s3();
    bucket(&s3, "bkt");
    for class in ["GLACIER", "DEEP_ARCHIVE"] {
        put(&s3, class, Some(class));
        let e = s3
            .get_object(GetObjectRequest { bucket: "bkt".into(), key: class.into(), ..Default::default() })
            .unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("InvalidObjectState", 403), "{class}");
        let e = s3
            .copy_object(CopyObjectRequest {
                bucket: "bkt".into(),
                key: format!("{class}-copy"),
                copy_source: format!("bkt/{class}"),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("InvalidObjectState", 403), "{class}");
        assert_eq!(head(&s3, class).content_length, 4, "HEAD of an archived object answers");
    }
    put(&s3, "instant", Some("GLACIER_IR"));
    let mut got = s3
        .get_object(GetObjectRequest { bucket: "bkt".into(), key: "instant".into(), ..Default::default() })
        .unwrap();
    assert_eq!(got.body.read_to_vec().unwrap(), b"body");
}

/// S3 user guide, "Conditional writes": a PUT with `If-Match` on a key that has no current object
/// (never written, or its current version is a delete marker) fails with 404 `NoSuchKey`; with a
/// current object whose ETag differs, 412 `PreconditionFailed`. (The 404 for a delete marker is
/// what the probe against S3's documentation found; AWS does not spell that case out.)
#[test]
fn if_match_on_a_key_without_a_current_object_is_no_such_key() {
    let store = store_in("us-east-1");
    let s3 = store.s3();
    bucket(&s3, "bkt");
    s3.put_bucket_versioning("bkt", BucketVersioningStatus::Enabled).unwrap();
    let put_if = |key: &str, etag: &str| {
        s3.put_object(PutObjectRequest {
            bucket: "bkt".into(),
            key: key.into(),
            body: b"new".as_slice().into(),
            if_match: Some(etag.into()),
            ..Default::default()
        })
    };
    let e = put_if("never", "\"0123456789abcdef0123456789abcdef\"").unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("NoSuchKey", 404));
    let first = put(&s3, "gone", None);
    s3.delete_object(DeleteObjectRequest { bucket: "bkt".into(), key: "gone".into(), ..Default::default() })
        .unwrap();
    let e = put_if("gone", &first.e_tag).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("NoSuchKey", 404));
    let live = put(&s3, "live", None);
    let e = put_if("live", "\"0123456789abcdef0123456789abcdef\"").unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("PreconditionFailed", 412));
    put_if("live", &live.e_tag).unwrap();
}

/// S3 API reference, ListObjectsV2 / ListObjects / ListObjectVersions, "Response Syntax": `Prefix`
/// is always in the answer (`<Prefix/>`, which SDKs read as ""), and so are ListObjects' `Marker`
/// and ListObjectVersions' `KeyMarker` and `VersionIdMarker`.
#[test]
fn listings_always_report_prefix_and_markers() {
    let store = store_in("us-east-1");
    let s3 = store.s3();
    bucket(&s3, "bkt");
    put(&s3, "k", None);
    let v2 = s3.list_objects_v2(ListObjectsV2Request { bucket: "bkt".into(), ..Default::default() }).unwrap();
    assert_eq!(v2.prefix.as_deref(), Some(""));
    let v1 = s3.list_objects(ListObjectsRequest { bucket: "bkt".into(), ..Default::default() }).unwrap();
    assert_eq!((v1.prefix.as_deref(), v1.marker.as_deref()), (Some(""), Some("")));
    let versions = s3
        .list_object_versions(ListObjectVersionsRequest { bucket: "bkt".into(), ..Default::default() })
        .unwrap();
    assert_eq!(versions.prefix.as_deref(), Some(""));
    assert_eq!((versions.key_marker.as_deref(), versions.version_id_marker.as_deref()), (Some(""), Some("")));
    // Echoed back, the empty markers mean no marker.
    let echoed = s3
        .list_object_versions(ListObjectVersionsRequest {
            bucket: "bkt".into(),
            key_marker: versions.key_marker,
            version_id_marker: versions.version_id_marker,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(echoed.entries.len(), 1);
    let echoed =
        s3.list_objects(ListObjectsRequest { bucket: "bkt".into(), marker: v1.marker, ..Default::default() });
    assert_eq!(echoed.unwrap().contents.len(), 1);
}

/// S3 API reference, "EncodingType" of each listing: with `encoding-type=url`, ListObjects encodes
/// Delimiter, Marker, Prefix, NextMarker and Key; ListObjectVersions encodes KeyMarker,
/// NextKeyMarker, Prefix, Key and Delimiter (as ListObjectsV2 encodes Delimiter, Prefix, Key and
/// StartAfter).
#[test]
fn encoding_type_url_encodes_every_field_s3_encodes() {
    let store = store_in("us-east-1");
    let s3 = store.s3();
    bucket(&s3, "bkt");
    for key in ["a b/1", "a b/2", "a b/3"] {
        put(&s3, key, None);
    }
    let url = Some(EncodingType::Url);
    let v1 = s3
        .list_objects(ListObjectsRequest {
            bucket: "bkt".into(),
            prefix: Some("a b/".into()),
            delimiter: Some(" ".into()),
            marker: Some("a b/1".into()),
            max_keys: Some(1),
            encoding_type: url,
        })
        .unwrap();
    assert_eq!(v1.prefix.as_deref(), Some("a%20b/"));
    assert_eq!(v1.delimiter.as_deref(), Some("%20"));
    assert_eq!(v1.marker.as_deref(), Some("a%20b/1"));
    assert_eq!(v1.next_marker.as_deref(), Some("a%20b/2"));
    assert_eq!(v1.contents[0].key, "a%20b/2");
    let versions = s3
        .list_object_versions(ListObjectVersionsRequest {
            bucket: "bkt".into(),
            prefix: Some("a b/".into()),
            delimiter: Some(" ".into()),
            key_marker: Some("a b/1".into()),
            max_keys: Some(1),
            encoding_type: url,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(versions.prefix.as_deref(), Some("a%20b/"));
    assert_eq!(versions.delimiter.as_deref(), Some("%20"));
    assert_eq!(versions.key_marker.as_deref(), Some("a%20b/1"));
    assert_eq!(versions.next_key_marker.as_deref(), Some("a%20b/2"));
}

/// S3 API reference, GetObject / HeadObject: when the current version is a delete marker, the 404
/// carries `x-amz-delete-marker: true` and `x-amz-version-id` of the marker (user guide, "Working
/// with delete markers"). The error holds both, so a host can send both headers.
#[test]
fn a_404_for_a_delete_marker_carries_the_markers_version_id() {
    let store = store_in("us-east-1");
    let s3 = store.s3();
    bucket(&s3, "bkt");
    s3.put_bucket_versioning("bkt", BucketVersioningStatus::Enabled).unwrap();
    put(&s3, "k", None);
    let marker = s3
        .delete_object(DeleteObjectRequest { bucket: "bkt".into(), key: "k".into(), ..Default::default() })
        .unwrap()
        .version_id;
    let get = s3.get_object(GetObjectRequest { bucket: "bkt".into(), key: "k".into(), ..Default::default() });
    let head =
        s3.head_object(HeadObjectRequest { bucket: "bkt".into(), key: "k".into(), ..Default::default() });
    let (Err(get), Err(head)) = (get, head) else { panic!("a delete marker was served") };
    for e in [get, head] {
        assert_eq!(e.http_status(), 404);
        let Error::NoSuchKey { delete_marker, version_id, .. } = e else { panic!("{e:?}") };
        assert!(delete_marker);
        assert_eq!(version_id, marker);
    }
    let missing =
        s3.head_object(HeadObjectRequest { bucket: "bkt".into(), key: "none".into(), ..Default::default() });
    assert!(matches!(missing, Err(Error::NoSuchKey { delete_marker: false, version_id: None, .. })));
}

/// boto3's `Object.copy_from(CopySource={"Bucket": b, "Key": k})` takes the key as it is and
/// URL-encodes it for `x-amz-copy-source`, which S3 percent-decodes (CopyObject, `x-amz-copy-source`:
/// "The value must be URL-encoded"). Keys holding `%`, an encoded-looking `%20` or a space copy as
/// themselves; the client's `copy_source` takes the header's encoded form.
#[test]
fn resource_copy_from_encodes_keys_with_percent_and_spaces() {
    let store = store_in("us-east-1");
    let s3 = store.resource();
    let bucket = s3.create_bucket("bkt", None).unwrap();
    for key in ["100%", "a%20b", "a b", "ünï/cødé+?"] {
        bucket.put_object(key, key.as_bytes()).unwrap();
        bucket
            .object(&format!("copy of {key}"))
            .copy_from("bkt", key)
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        let mut got = bucket.object(&format!("copy of {key}")).get().unwrap();
        assert_eq!(got.body.read_to_vec().unwrap(), key.as_bytes(), "{key}");
    }
    assert!(bucket.object("a b").content_length().is_ok());
    let client = s3.client();
    client.copy_object().bucket("bkt").key("via-client").copy_source("bkt/100%25").send().unwrap();
    let mut got = bucket.object("via-client").get().unwrap();
    assert_eq!(got.body.read_to_vec().unwrap(), b"100%");
}

/// S3 user guide, "Conditional deletes": `If-Match: *` on DeleteObject means "the object exists";
/// `If-Match: <etag>` deletes only a current object with that ETag (412 otherwise); a delete that
/// finds the key gone answers 404. So a key with no current object is `NoSuchKey` alike in
/// unversioned and versioned buckets. Conditions apply to the current version only: a delete naming
/// a version is judged by the current object's ETag.
#[test]
fn conditional_deletes_take_star_as_exists_and_agree_across_versioning() {
    for versioned in [false, true] {
        let store = store_in("us-east-1");
        let s3 = store.s3();
        bucket(&s3, "bkt");
        if versioned {
            s3.put_bucket_versioning("bkt", BucketVersioningStatus::Enabled).unwrap();
        }
        let delete_if = |key: &str, m: &str| {
            s3.delete_object(DeleteObjectRequest {
                bucket: "bkt".into(),
                key: key.into(),
                if_match: Some(m.into()),
                ..Default::default()
            })
        };
        put(&s3, "k", None);
        delete_if("k", "*").unwrap_or_else(|e| panic!("versioned {versioned}: {e}"));
        assert!(
            s3.head_object(HeadObjectRequest { bucket: "bkt".into(), key: "k".into(), ..Default::default() })
                .is_err()
        );
        for key in ["missing", "k"] {
            for m in ["*", "\"0123456789abcdef0123456789abcdef\""] {
                let e = delete_if(key, m).unwrap_err();
                assert_eq!(
                    (e.code(), e.http_status()),
                    ("NoSuchKey", 404),
                    "versioned {versioned}, {key}, If-Match {m}"
                );
            }
        }
        let live = put(&s3, "etag", None);
        assert_eq!(delete_if("etag", "\"0123456789abcdef0123456789abcdef\"").unwrap_err().http_status(), 412);
        if versioned {
            // A version the key does not have, with the current object's ETag: 204, as without it.
            let other = put(&s3, "other", None).version_id.unwrap();
            let r = s3.delete_object(DeleteObjectRequest {
                bucket: "bkt".into(),
                key: "etag".into(),
                version_id: Some(other),
                if_match: Some(live.e_tag.clone()),
            });
            r.unwrap();
        }
        delete_if("etag", &live.e_tag).unwrap();
    }
}
