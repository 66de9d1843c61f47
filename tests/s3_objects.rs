//! S3 object semantics: metadata, versioning, conditional requests, batch delete, copy.

mod common;

use std::io::Read;
use std::time::Duration;

use s3lite::s3::S3;
use s3lite::s3::types::*;
use s3lite::{Error, StorageClass, Store};

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

fn put(s3: &S3, key: &str, body: &[u8]) -> PutObjectOutput {
    s3.put_object(PutObjectRequest {
        bucket: "bkt".into(),
        key: key.into(),
        body: body.into(),
        ..Default::default()
    })
    .unwrap()
}

fn get(key: &str) -> GetObjectRequest {
    GetObjectRequest { bucket: "bkt".into(), key: key.into(), ..Default::default() }
}

fn read(s3: &S3, req: GetObjectRequest) -> Result<Vec<u8>, Error> {
    s3.get_object(req)?.body.read_to_vec()
}

fn del(key: &str, version: Option<&str>) -> DeleteObjectRequest {
    DeleteObjectRequest {
        bucket: "bkt".into(),
        key: key.into(),
        version_id: version.map(Into::into),
        ..Default::default()
    }
}

#[test]
fn put_stores_headers_metadata_tags_and_class() {
    each_store(|s3| {
        let req = PutObjectRequest {
            bucket: "bkt".into(),
            key: "doc.txt".into(),
            body: b"hello".into(),
            content_type: Some("text/plain".into()),
            content_encoding: Some("identity".into()),
            content_disposition: Some("attachment".into()),
            content_language: Some("en".into()),
            cache_control: Some("max-age=60".into()),
            expires: Some("Thu, 01 Dec 2094 16:00:00 GMT".into()),
            metadata: vec![("Project".into(), "Apollo".into())],
            tagging: Some("team=blue&tier=1".into()),
            storage_class: Some("STANDARD_IA".into()),
            ..Default::default()
        };
        let out = s3.put_object(req).unwrap();
        assert_eq!(out.e_tag, "\"5d41402abc4b2a76b9719d911017c592\"");
        assert_eq!(out.version_id, None, "unversioned buckets return no version id");
        let h = s3.head_object(get("doc.txt")).unwrap();
        assert_eq!(h.content_length, 5);
        assert_eq!(h.content_type.as_deref(), Some("text/plain"));
        assert_eq!(h.content_encoding.as_deref(), Some("identity"));
        assert_eq!(h.content_disposition.as_deref(), Some("attachment"));
        assert_eq!(h.content_language.as_deref(), Some("en"));
        assert_eq!(h.cache_control.as_deref(), Some("max-age=60"));
        assert_eq!(h.expires.as_deref(), Some("Thu, 01 Dec 2094 16:00:00 GMT"));
        assert_eq!(h.metadata, vec![("project".to_string(), "Apollo".to_string())], "names lower-cased");
        assert_eq!(h.storage_class, Some(StorageClass::StandardIa));
        assert_eq!(h.tag_count, 2);
        assert_eq!(h.version_id, None);
        put(s3, "plain", b"x");
        assert_eq!(s3.head_object(get("plain")).unwrap().storage_class, None, "STANDARD is omitted");
    });
}

#[test]
fn put_limits_and_errors() {
    each_store(|s3| {
        let req = |f: &dyn Fn(&mut PutObjectRequest)| {
            let mut r = PutObjectRequest { bucket: "bkt".into(), key: "k".into(), ..Default::default() };
            f(&mut r);
            s3.put_object(r)
        };
        assert_eq!(req(&|r| r.key = "k".repeat(1025)).unwrap_err().code(), "KeyTooLongError");
        assert!(req(&|r| r.key = "k".repeat(1024)).is_ok());
        assert_eq!(
            req(&|r| r.metadata = vec![("m".into(), "v".repeat(2048))]).unwrap_err().code(),
            "MetadataTooLarge"
        );
        assert!(req(&|r| r.metadata = vec![("m".into(), "v".repeat(2047))]).is_ok());
        let eleven: Vec<String> = (0..11).map(|i| format!("t{i}=v")).collect();
        assert_eq!(req(&|r| r.tagging = Some(eleven.join("&"))).unwrap_err().code(), "InvalidTag");
        assert_eq!(
            req(&|r| r.storage_class = Some("COLD".into())).unwrap_err().code(),
            "InvalidStorageClass"
        );
        assert_eq!(req(&|r| r.bucket = "nope".into()).unwrap_err().code(), "NoSuchBucket");
        assert_eq!(req(&|r| r.if_none_match = Some("\"abc\"".into())).unwrap_err().code(), "NotImplemented");
        assert_eq!(req(&|r| r.if_match = Some("*".into())).unwrap_err().code(), "NotImplemented");
    });
}

#[test]
fn ranges_and_bad_versions() {
    each_store(|s3| {
        put(s3, "k", b"0123456789");
        let out = s3.get_object(GetObjectRequest { range: Some("bytes=2-4".into()), ..get("k") }).unwrap();
        assert_eq!(out.head.content_length, 3);
        assert_eq!(out.head.content_range.as_deref(), Some("bytes 2-4/10"));
        let e = s3.get_object(GetObjectRequest { range: Some("bytes=10-".into()), ..get("k") }).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("InvalidRange", 416));
        let e =
            s3.get_object(GetObjectRequest { version_id: Some("garbage".into()), ..get("k") }).unwrap_err();
        assert_eq!(e.code(), "InvalidArgument");
        assert_eq!(
            read(s3, GetObjectRequest { version_id: Some("null".into()), ..get("k") }).unwrap(),
            b"0123456789"
        );
        let e = s3.get_object(get("missing")).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("NoSuchKey", 404));
    });
}

#[test]
fn versioning_enabled_semantics() {
    each_store(|s3| {
        put(s3, "k", b"before");
        s3.put_bucket_versioning("bkt", BucketVersioningStatus::Enabled).unwrap();
        let v1 = put(s3, "k", b"one").version_id.unwrap();
        let v2 = put(s3, "k", b"two").version_id.unwrap();
        assert_ne!(v1, v2);
        assert_eq!(
            read(s3, GetObjectRequest { version_id: Some("null".into()), ..get("k") }).unwrap(),
            b"before"
        );
        let d = s3.delete_object(del("k", None)).unwrap();
        assert!(d.delete_marker);
        let marker = d.version_id.unwrap();
        match s3.get_object(get("k")).unwrap_err() {
            Error::NoSuchKey { delete_marker, .. } => assert!(delete_marker),
            e => panic!("{e:?}"),
        }
        assert!(matches!(
            s3.head_object(get("k")).unwrap_err(),
            Error::NoSuchKey { delete_marker: true, .. }
        ));
        let e = s3.get_object(GetObjectRequest { version_id: Some(marker.clone()), ..get("k") }).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("MethodNotAllowed", 405));
        assert_eq!(read(s3, GetObjectRequest { version_id: Some(v1.clone()), ..get("k") }).unwrap(), b"one");
        // Removing the newest marker makes the previous version current again.
        let d = s3.delete_object(del("k", Some(&marker))).unwrap();
        assert!(d.delete_marker);
        assert_eq!(read(s3, get("k")).unwrap(), b"two");
        // Deleting a version permanently.
        s3.delete_object(del("k", Some(&v2))).unwrap();
        assert_eq!(read(s3, get("k")).unwrap(), b"one");
        assert_eq!(
            s3.get_object(GetObjectRequest { version_id: Some(v2), ..get("k") }).unwrap_err().code(),
            "NoSuchVersion"
        );
        assert_eq!(s3.head_object(get("k")).unwrap().version_id, Some(v1));
    });
}

#[test]
fn versioning_suspended_semantics() {
    each_store(|s3| {
        s3.put_bucket_versioning("bkt", BucketVersioningStatus::Enabled).unwrap();
        let kept = put(s3, "k", b"versioned").version_id.unwrap();
        s3.put_bucket_versioning("bkt", BucketVersioningStatus::Suspended).unwrap();
        let out = put(s3, "k", b"null one");
        assert_eq!(out.version_id, None, "suspended puts carry no version id");
        put(s3, "k", b"null two");
        let versions = s3
            .list_object_versions(ListObjectVersionsRequest { bucket: "bkt".into(), ..Default::default() })
            .unwrap();
        let ids: Vec<&str> = versions.entries.iter().map(|v| v.version_id.as_str()).collect();
        assert_eq!(ids, vec!["null", kept.as_str()], "the null version was replaced, the other kept");
        let d = s3.delete_object(del("k", None)).unwrap();
        assert_eq!((d.delete_marker, d.version_id.as_deref()), (true, Some("null")));
        let versions = s3
            .list_object_versions(ListObjectVersionsRequest { bucket: "bkt".into(), ..Default::default() })
            .unwrap();
        assert_eq!(versions.delete_markers.len(), 1);
        assert_eq!(versions.versions.len(), 1, "the null object was replaced by the null marker");
        assert_eq!(read(s3, GetObjectRequest { version_id: Some(kept), ..get("k") }).unwrap(), b"versioned");
    });
}

#[test]
fn unversioned_delete_removes_and_is_idempotent() {
    each_store(|s3| {
        put(s3, "k", b"v");
        assert_eq!(s3.delete_object(del("k", None)).unwrap(), DeleteObjectOutput::default());
        assert_eq!(s3.get_object(get("k")).unwrap_err().code(), "NoSuchKey");
        assert_eq!(s3.delete_object(del("k", None)).unwrap(), DeleteObjectOutput::default());
        assert_eq!(s3.delete_object(del("k", Some("bogus"))).unwrap_err().code(), "InvalidArgument");
    });
}

#[test]
fn conditional_reads_follow_s3_precedence() {
    each_store(|s3| {
        let etag = put(s3, "k", b"v").e_tag;
        let modified = s3.head_object(get("k")).unwrap().last_modified;
        let before = modified - Duration::from_secs(3600);
        let after = modified + Duration::from_secs(3600);
        let cases: Vec<(GetObjectRequest, Option<&str>)> = vec![
            (GetObjectRequest { if_match: Some(etag.clone()), ..get("k") }, None),
            (GetObjectRequest { if_match: Some("\"other\"".into()), ..get("k") }, Some("PreconditionFailed")),
            (GetObjectRequest { if_none_match: Some(etag.clone()), ..get("k") }, Some("NotModified")),
            (GetObjectRequest { if_none_match: Some("\"other\"".into()), ..get("k") }, None),
            (GetObjectRequest { if_modified_since: Some(before), ..get("k") }, None),
            (GetObjectRequest { if_modified_since: Some(after), ..get("k") }, Some("NotModified")),
            (GetObjectRequest { if_unmodified_since: Some(after), ..get("k") }, None),
            (GetObjectRequest { if_unmodified_since: Some(before), ..get("k") }, Some("PreconditionFailed")),
            // If-Match true wins over If-Unmodified-Since false.
            (
                GetObjectRequest {
                    if_match: Some(etag.clone()),
                    if_unmodified_since: Some(before),
                    ..get("k")
                },
                None,
            ),
            // If-None-Match false wins over If-Modified-Since false... and the object is returned.
            (
                GetObjectRequest {
                    if_none_match: Some("\"other\"".into()),
                    if_modified_since: Some(after),
                    ..get("k")
                },
                None,
            ),
            (
                GetObjectRequest {
                    if_none_match: Some(etag.clone()),
                    if_modified_since: Some(before),
                    ..get("k")
                },
                Some("NotModified"),
            ),
        ];
        for (i, (req, want)) in cases.into_iter().enumerate() {
            let head = s3.head_object(req.clone()).map(|_| ()).map_err(|e| e.code());
            let get = s3.get_object(req).map(|_| ()).map_err(|e| e.code());
            assert_eq!(head.err(), want, "case {i} head");
            assert_eq!(get.err(), want, "case {i} get");
        }
        let e = s3.get_object(GetObjectRequest { if_none_match: Some(etag), ..get("k") }).unwrap_err();
        assert_eq!(e.http_status(), 304);
    });
}

#[test]
fn conditional_writes_and_deletes() {
    each_store(|s3| {
        let cond = |none: Option<&str>, m: Option<&str>| PutObjectRequest {
            bucket: "bkt".into(),
            key: "k".into(),
            body: b"x".into(),
            if_none_match: none.map(Into::into),
            if_match: m.map(Into::into),
            ..Default::default()
        };
        let first = s3.put_object(cond(Some("*"), None)).unwrap();
        let e = s3.put_object(cond(Some("*"), None)).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("PreconditionFailed", 412));
        assert_eq!(s3.put_object(cond(None, Some("\"0123\""))).unwrap_err().code(), "PreconditionFailed");
        s3.put_object(cond(None, Some(&first.e_tag))).unwrap();
        let e = s3
            .delete_object(DeleteObjectRequest { if_match: Some("\"nope\"".into()), ..del("k", None) })
            .unwrap_err();
        assert_eq!(e.code(), "PreconditionFailed");
        s3.delete_object(DeleteObjectRequest { if_match: Some(first.e_tag), ..del("k", None) }).unwrap();
        assert_eq!(s3.get_object(get("k")).unwrap_err().code(), "NoSuchKey");
    });
}

#[test]
fn delete_objects_batches_limits_and_reports() {
    each_store(|s3| {
        for i in 0..5 {
            put(s3, &format!("k{i}"), b"v");
        }
        let ids = |n: usize| {
            (0..n)
                .map(|i| ObjectIdentifier { key: format!("k{i}"), ..Default::default() })
                .collect::<Vec<_>>()
        };
        let req = |objects, quiet| DeleteObjectsRequest { bucket: "bkt".into(), objects, quiet };
        let e = s3.delete_objects(req(ids(1001), false)).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("MalformedXML", 400));
        assert_eq!(s3.delete_objects(req(Vec::new(), false)).unwrap_err().code(), "MalformedXML");
        let mut objects = ids(3);
        objects.push(ObjectIdentifier { key: "k".repeat(1025), ..Default::default() });
        objects.push(ObjectIdentifier { key: "missing".into(), ..Default::default() });
        let out = s3.delete_objects(req(objects, false)).unwrap();
        assert_eq!(out.deleted.len(), 4, "missing keys count as deleted");
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].code, "KeyTooLongError");
        // Per-key If-Match: a wrong ETag fails that key only.
        let etag = put(s3, "guarded", b"g").e_tag;
        let guarded =
            |e: &str| ObjectIdentifier { key: "guarded".into(), e_tag: Some(e.into()), ..Default::default() };
        let out = s3.delete_objects(req(vec![guarded("\"0000\"")], false)).unwrap();
        assert_eq!(out.errors[0].code, "PreconditionFailed");
        assert!(s3.get_object(get("guarded")).is_ok());
        let out = s3.delete_objects(req(vec![guarded(&etag)], false)).unwrap();
        assert!(out.errors.is_empty());
        assert_eq!(s3.get_object(get("guarded")).unwrap_err().code(), "NoSuchKey");
        let out = s3.delete_objects(req(ids(1000), true)).unwrap();
        assert!(out.deleted.is_empty() && out.errors.is_empty(), "quiet mode reports only errors");
        assert!(s3.get_object(get("k4")).is_err());
        // Versioned: keys without version ids get delete markers.
        s3.put_bucket_versioning("bkt", BucketVersioningStatus::Enabled).unwrap();
        let v = put(s3, "kv", b"v").version_id.unwrap();
        let out = s3
            .delete_objects(req(vec![ObjectIdentifier { key: "kv".into(), ..Default::default() }], false))
            .unwrap();
        assert!(out.deleted[0].delete_marker);
        let marker = out.deleted[0].delete_marker_version_id.clone().unwrap();
        let both_versions = vec![
            ObjectIdentifier { key: "kv".into(), version_id: Some(marker), ..Default::default() },
            ObjectIdentifier { key: "kv".into(), version_id: Some(v), ..Default::default() },
        ];
        let out = s3.delete_objects(req(both_versions, false)).unwrap();
        assert!(out.deleted[0].delete_marker, "removing a marker reports it");
        let left = s3
            .list_object_versions(ListObjectVersionsRequest { bucket: "bkt".into(), ..Default::default() })
            .unwrap();
        assert!(left.entries.is_empty());
        s3.delete_bucket("bkt").unwrap();
    });
}

#[test]
fn copy_object_rules() {
    each_store(|s3| {
        s3.create_bucket(CreateBucketRequest { bucket: "other".into(), ..Default::default() }).unwrap();
        let src = PutObjectRequest {
            bucket: "bkt".into(),
            key: "src".into(),
            body: common::body(1, 9000).into(),
            content_type: Some("a/b".into()),
            metadata: vec![("m".into(), "1".into())],
            ..Default::default()
        };
        let etag = s3.put_object(src).unwrap().e_tag;
        let copy = |key: &str, bucket: &str, source: &str, directive| CopyObjectRequest {
            bucket: bucket.into(),
            key: key.into(),
            copy_source: source.into(),
            metadata_directive: directive,
            content_type: Some("c/d".into()),
            metadata: vec![("n".into(), "2".into())],
            ..Default::default()
        };
        let out = s3.copy_object(copy("dst", "other", "bkt/src", MetadataDirective::Copy)).unwrap();
        assert_eq!(out.copy_object_result.e_tag, etag);
        let h = s3
            .head_object(GetObjectRequest { bucket: "other".into(), key: "dst".into(), ..Default::default() })
            .unwrap();
        assert_eq!(
            (h.content_type.as_deref(), h.metadata.clone()),
            (Some("a/b"), vec![("m".into(), "1".into())])
        );
        s3.copy_object(copy("dst2", "bkt", "/bkt/src", MetadataDirective::Replace)).unwrap();
        let h = s3.head_object(get("dst2")).unwrap();
        assert_eq!((h.content_type.as_deref(), h.metadata), (Some("c/d"), vec![("n".into(), "2".into())]));
        assert_eq!(read(s3, get("dst2")).unwrap(), common::body(1, 9000));
        let e = s3.copy_object(copy("src", "bkt", "bkt/src", MetadataDirective::Copy)).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("InvalidRequest", 400));
        s3.copy_object(copy("src", "bkt", "bkt/src", MetadataDirective::Replace)).unwrap();
        assert_eq!(
            s3.copy_object(copy("x", "bkt", "bkt/missing", MetadataDirective::Copy)).unwrap_err().code(),
            "NoSuchKey"
        );
        assert_eq!(
            s3.copy_object(copy("x", "bkt", "nobucket/src", MetadataDirective::Copy)).unwrap_err().code(),
            "NoSuchBucket"
        );
        assert_eq!(
            s3.copy_object(copy("x", "bkt", "garbage", MetadataDirective::Copy)).unwrap_err().code(),
            "InvalidArgument"
        );
        let guarded = CopyObjectRequest {
            copy_source_if_match: Some("\"nope\"".into()),
            ..copy("x", "bkt", "bkt/src", MetadataDirective::Copy)
        };
        assert_eq!(s3.copy_object(guarded).unwrap_err().code(), "PreconditionFailed");
        let guarded = CopyObjectRequest {
            copy_source_if_none_match: Some(etag.clone()),
            ..copy("x", "bkt", "bkt/src", MetadataDirective::Copy)
        };
        assert_eq!(s3.copy_object(guarded).unwrap_err().code(), "PreconditionFailed");
        // Copy of a specific source version.
        s3.put_bucket_versioning("bkt", BucketVersioningStatus::Enabled).unwrap();
        let v1 = put(s3, "ver", b"first").version_id.unwrap();
        put(s3, "ver", b"second");
        let out = s3
            .copy_object(copy("ver-copy", "bkt", &format!("bkt/ver?versionId={v1}"), MetadataDirective::Copy))
            .unwrap();
        assert_eq!(out.copy_source_version_id, Some(v1));
        assert!(out.version_id.is_some());
        assert_eq!(read(s3, get("ver-copy")).unwrap(), b"first");
    });
}

#[test]
fn checksums_are_verified_stored_and_returned() {
    use base64::Engine;
    use s3lite::s3::checksum::ChecksumAlgorithm;
    let b64 = |raw: &[u8]| base64::engine::general_purpose::STANDARD.encode(raw);
    each_store(|s3| {
        let body = b"checksummed body".to_vec();
        let base = || PutObjectRequest {
            bucket: "bkt".into(),
            key: "k".into(),
            body: body.clone().into(),
            ..Default::default()
        };
        // Without a checksum, CRC64NVME is computed and stored.
        let out = s3.put_object(base()).unwrap();
        let crc64 = b64(&ChecksumAlgorithm::Crc64Nvme.compute(&body));
        assert_eq!(out.checksums.checksum_crc64_nvme.as_deref(), Some(crc64.as_str()));
        let h = s3.head_object(GetObjectRequest { checksum_mode: true, ..get("k") }).unwrap();
        assert_eq!(h.checksums.checksum_crc64_nvme.as_deref(), Some(crc64.as_str()));
        assert_eq!(h.checksums.checksum_type.as_deref(), Some("FULL_OBJECT"));
        assert_eq!(
            s3.head_object(get("k")).unwrap().checksums,
            Checksums::default(),
            "only with checksum mode"
        );
        let ranged = s3
            .get_object(GetObjectRequest { checksum_mode: true, range: Some("bytes=0-1".into()), ..get("k") })
            .unwrap();
        assert_eq!(ranged.head.checksums, Checksums::default(), "no whole-object checksum for a range");
        // Each algorithm: the right value is accepted, stored and returned; a wrong one stores nothing.
        for alg in ChecksumAlgorithm::ALL {
            let good = b64(&alg.compute(&body));
            let bad = b64(&alg.compute(b"other"));
            let with = |v: &str| {
                let mut r = base();
                r.key = format!("sum-{}", alg.as_str());
                let v = Some(v.to_string());
                match alg {
                    ChecksumAlgorithm::Crc32 => r.checksum_crc32 = v,
                    ChecksumAlgorithm::Crc32c => r.checksum_crc32_c = v,
                    ChecksumAlgorithm::Crc64Nvme => r.checksum_crc64_nvme = v,
                    ChecksumAlgorithm::Sha1 => r.checksum_sha1 = v,
                    ChecksumAlgorithm::Sha256 => r.checksum_sha256 = v,
                }
                r
            };
            let e = s3.put_object(with(&bad)).unwrap_err();
            assert_eq!((e.code(), e.http_status()), ("BadDigest", 400), "{alg:?}");
            assert_eq!(
                s3.head_object(get(&format!("sum-{}", alg.as_str()))).unwrap_err().code(),
                "NoSuchKey"
            );
            assert_eq!(s3.put_object(with("not base64!")).unwrap_err().code(), "InvalidRequest");
            s3.put_object(with(&good)).unwrap();
            let h = s3
                .head_object(GetObjectRequest {
                    checksum_mode: true,
                    ..get(&format!("sum-{}", alg.as_str()))
                })
                .unwrap();
            let stored = [
                &h.checksums.checksum_crc32,
                &h.checksums.checksum_crc32_c,
                &h.checksums.checksum_crc64_nvme,
                &h.checksums.checksum_sha1,
                &h.checksums.checksum_sha256,
            ];
            assert_eq!(stored.iter().filter(|v| v.is_some()).count(), 1);
            assert!(stored.iter().any(|v| v.as_deref() == Some(good.as_str())), "{alg:?}");
        }
        // Two checksum headers, or an algorithm contradicting the header.
        let mut two = base();
        two.checksum_crc32 = Some(b64(&ChecksumAlgorithm::Crc32.compute(&body)));
        two.checksum_sha1 = Some(b64(&ChecksumAlgorithm::Sha1.compute(&body)));
        assert_eq!(s3.put_object(two).unwrap_err().code(), "InvalidRequest");
        let mut contra = base();
        contra.checksum_crc32 = Some(b64(&ChecksumAlgorithm::Crc32.compute(&body)));
        contra.checksum_algorithm = Some(ChecksumAlgorithm::Sha256);
        assert_eq!(s3.put_object(contra).unwrap_err().code(), "InvalidRequest");
        let mut chosen = base();
        chosen.key = "chosen".into();
        chosen.checksum_algorithm = Some(ChecksumAlgorithm::Sha256);
        assert!(s3.put_object(chosen).unwrap().checksums.checksum_sha256.is_some());
        // Content-MD5.
        let md5 = <md5::Md5 as md5::Digest>::digest(&body);
        let mut good = base();
        good.content_md5 = Some(b64(&md5));
        s3.put_object(good).unwrap();
        let mut bad = base();
        bad.key = "md5-bad".into();
        bad.content_md5 = Some(b64(&[0u8; 16]));
        assert_eq!(s3.put_object(bad).unwrap_err().code(), "BadDigest");
        let mut malformed = base();
        malformed.content_md5 = Some("abc".into());
        assert_eq!(s3.put_object(malformed).unwrap_err().code(), "InvalidDigest");
        assert_eq!(s3.head_object(get("md5-bad")).unwrap_err().code(), "NoSuchKey");
        // A copy keeps the checksum.
        s3.copy_object(CopyObjectRequest {
            bucket: "bkt".into(),
            key: "copy".into(),
            copy_source: "bkt/k".into(),
            ..Default::default()
        })
        .unwrap();
        let h = s3.head_object(GetObjectRequest { checksum_mode: true, ..get("copy") }).unwrap();
        assert_eq!(h.checksums.checksum_crc64_nvme.as_deref(), Some(crc64.as_str()));
    });
}

#[test]
fn bodies_too_large_for_one_put_are_refused_and_leave_nothing() {
    // With 4 KiB chunks one object-commit record can list 2,560 chunks (10 MiB); past that the put
    // answers EntityTooLarge, the same path as S3's 5 GiB single-PUT limit with default chunks.
    let store = common::small(Store::in_memory_builder()).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let at = 2560 * 4096;
    store.put(b, "at", std::io::repeat(7).take(at), &s3lite::PutOptions::default()).unwrap();
    let e =
        store.put(b, "past", std::io::repeat(7).take(at + 1), &s3lite::PutOptions::default()).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("EntityTooLarge", 400));
    assert_eq!(store.head(b, "past", None).unwrap_err().code(), "NoSuchKey");
}

#[test]
fn streamed_bodies_from_readers_and_files_with_checksums() {
    use base64::Engine;
    use s3lite::s3::checksum::ChecksumAlgorithm;
    each_store(|s3| {
        let data = common::body(9, 50_000);
        let sha = base64::engine::general_purpose::STANDARD.encode(ChecksumAlgorithm::Sha256.compute(&data));
        let reader = PutObjectRequest {
            bucket: "bkt".into(),
            key: "from-reader".into(),
            body: Body::from_reader(std::io::Cursor::new(data.clone())),
            checksum_sha256: Some(sha.clone()),
            ..Default::default()
        };
        s3.put_object(reader).unwrap();
        assert_eq!(read(s3, get("from-reader")).unwrap(), data);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upload.bin");
        std::fs::write(&path, &data).unwrap();
        let file = PutObjectRequest {
            bucket: "bkt".into(),
            key: "from-file".into(),
            body: Body::from_path(&path),
            ..Default::default()
        };
        s3.put_object(file).unwrap();
        assert_eq!(read(s3, get("from-file")).unwrap(), data);
        // A streamed (chunked) body whose checksum does not match stores nothing.
        let wrong = PutObjectRequest {
            bucket: "bkt".into(),
            key: "wrong".into(),
            body: Body::from_path(&path),
            checksum_sha256: Some(base64::engine::general_purpose::STANDARD.encode([0u8; 32])),
            ..Default::default()
        };
        assert_eq!(s3.put_object(wrong).unwrap_err().code(), "BadDigest");
        assert_eq!(s3.head_object(get("wrong")).unwrap_err().code(), "NoSuchKey");
        let missing = PutObjectRequest {
            bucket: "bkt".into(),
            key: "m".into(),
            body: Body::from_path(dir.path().join("nope")),
            ..Default::default()
        };
        assert_eq!(s3.put_object(missing).unwrap_err().code(), "IncompleteBody");
    });
}

/// A GetObject that names no version answers for the key as it is when the body opens: a delete or
/// an overwrite racing it gives the old body, the new one, or NoSuchKey, never NoSuchVersion for a
/// version the caller did not name (GetObject resolves the version, then opens it).
#[test]
fn a_get_racing_deletes_and_overwrites_never_answers_no_such_version() {
    let store = common::small(Store::in_memory_builder()).open().unwrap();
    let s3 = store.s3();
    s3.create_bucket(CreateBucketRequest { bucket: "bkt".into(), ..Default::default() }).unwrap();
    let bodies: Vec<Vec<u8>> = (0..4).map(|i| common::body(i, 3000)).collect();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..3000 {
                if i % 3 == 2 {
                    s3.delete_object(DeleteObjectRequest {
                        bucket: "bkt".into(),
                        key: "k".into(),
                        ..Default::default()
                    })
                    .unwrap();
                } else {
                    put(&s3, "k", &bodies[i % 4]);
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            match read(&s3, get("k")) {
                Ok(got) => assert!(bodies.contains(&got), "a body nobody wrote"),
                Err(e) => assert_eq!(e.code(), "NoSuchKey", "{e}"),
            }
        }
    });
}
