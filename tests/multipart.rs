//! Multipart uploads through the client: S3's flow, ETag, checksums, limits and errors, listings,
//! and uploads that outlive a reopen and a compaction.

mod common;

use common::{body, small};
use md5::{Digest, Md5};
use s3lite::s3::types::BucketVersioningStatus;
use s3lite::{
    Checkpoints, ChecksumAlgorithm, Client, CompactionPolicy, CompletedMultipartUpload, CompletedPart, Store,
};

const MIB: usize = 1024 * 1024;

fn setup() -> (Store, Client) {
    let store = Store::open_in_memory().unwrap();
    let c = store.client();
    c.create_bucket().bucket("bkt").send().unwrap();
    (store, c)
}

fn create(c: &Client, key: &str) -> String {
    c.create_multipart_upload().bucket("bkt").key(key).send().unwrap().into_output().upload_id
}

fn part(c: &Client, key: &str, upload: &str, n: i32, bytes: &[u8]) -> String {
    let out = c.upload_part().bucket("bkt").key(key).upload_id(upload).part_number(n).body(bytes.to_vec());
    out.send().unwrap().into_output().e_tag
}

fn get(c: &Client, key: &str) -> Vec<u8> {
    c.get_object().bucket("bkt").key(key).send().unwrap().into_output().body.read_to_vec().unwrap()
}

fn multipart_etag(parts: &[&[u8]]) -> String {
    let mut all = Md5::new();
    for p in parts {
        all.update(Md5::digest(p));
    }
    format!("\"{:x}-{}\"", all.finalize(), parts.len())
}

#[test]
fn three_parts_make_one_object_with_the_multipart_etag_and_a_full_object_crc() {
    let (_store, c) = setup();
    let (p1, p2, p3) = (body(1, 5 * MIB), body(2, 5 * MIB + 7), body(3, 1000));
    let up = create(&c, "big");
    let e1 = part(&c, "big", &up, 1, &p1);
    let e2 = part(&c, "big", &up, 2, &p2);
    let e3 = part(&c, "big", &up, 3, &p3);
    assert_eq!(e1, format!("\"{:x}\"", Md5::digest(&p1)));
    let done = c
        .complete_multipart_upload()
        .bucket("bkt")
        .key("big")
        .upload_id(&up)
        .part(1, e1)
        .part(2, e2)
        .part(3, e3)
        .send()
        .unwrap()
        .into_output();
    let want = multipart_etag(&[&p1, &p2, &p3]);
    assert_eq!(done.e_tag, want);
    let whole = [p1.clone(), p2.clone(), p3.clone()].concat();
    // Without a checksum algorithm, S3 keeps a full-object CRC64NVME.
    let crc = ChecksumAlgorithm::Crc64Nvme.compute(&whole);
    assert_eq!(done.checksums.checksum_crc64_nvme, Some(s3lite::s3::checksum::encode(&crc)));
    assert_eq!(done.checksums.checksum_type.as_deref(), Some("FULL_OBJECT"));
    assert_eq!(get(&c, "big"), whole);
    let head = c.head_object().bucket("bkt").key("big").send().unwrap();
    assert_eq!(head.e_tag, want);
    assert_eq!(head.content_length, whole.len() as u64);
    let range = c.get_object().bucket("bkt").key("big").range("bytes=5242878-5242881").send().unwrap();
    assert_eq!(range.into_output().body.read_to_vec().unwrap(), whole[5_242_878..5_242_882]);
    let listed = c.list_objects_v2().bucket("bkt").send().unwrap();
    assert_eq!(listed.contents[0].e_tag, want);
    // The upload is gone.
    let uploads = c.list_multipart_uploads().bucket("bkt").send().unwrap();
    assert!(uploads.uploads.is_empty());
    let e = c.list_parts().bucket("bkt").key("big").upload_id(&up).send().unwrap_err();
    assert_eq!(e.code(), "NoSuchUpload");
}

#[test]
fn composite_checksums_end_in_the_part_count_and_full_object_crcs_combine() {
    let (_store, c) = setup();
    let (p1, p2) = (body(4, 5 * MIB), body(5, 300));
    for (alg, kind, composite) in [
        (ChecksumAlgorithm::Sha256, None, true),
        (ChecksumAlgorithm::Crc32, Some("COMPOSITE"), true),
        (ChecksumAlgorithm::Crc32, Some("FULL_OBJECT"), false),
        (ChecksumAlgorithm::Crc32c, Some("FULL_OBJECT"), false),
    ] {
        let mut req = c.create_multipart_upload().bucket("bkt").key("k").checksum_algorithm(alg);
        if let Some(k) = kind {
            req = req.checksum_type(k);
        }
        let up = req.send().unwrap().into_output().upload_id;
        let o1 = c
            .upload_part()
            .bucket("bkt")
            .key("k")
            .upload_id(&up)
            .part_number(1)
            .body(p1.clone())
            .send()
            .unwrap();
        let o2 = c
            .upload_part()
            .bucket("bkt")
            .key("k")
            .upload_id(&up)
            .part_number(2)
            .body(p2.clone())
            .send()
            .unwrap();
        let done = c
            .complete_multipart_upload()
            .bucket("bkt")
            .key("k")
            .upload_id(&up)
            .part(1, o1.e_tag.clone())
            .part(2, o2.e_tag.clone())
            .send()
            .unwrap()
            .into_output();
        let value = match alg {
            ChecksumAlgorithm::Sha256 => done.checksums.checksum_sha256.clone(),
            ChecksumAlgorithm::Crc32 => done.checksums.checksum_crc32.clone(),
            _ => done.checksums.checksum_crc32_c.clone(),
        }
        .unwrap();
        let enc = s3lite::s3::checksum::encode;
        if composite {
            let raw = [alg.compute(&p1), alg.compute(&p2)].concat();
            assert_eq!(value, format!("{}-2", enc(&alg.compute(&raw))), "{alg:?}");
            assert_eq!(done.checksums.checksum_type.as_deref(), Some("COMPOSITE"));
        } else {
            assert_eq!(value, enc(&alg.compute(&[p1.clone(), p2.clone()].concat())), "{alg:?}");
        }
    }
    // Checksum types an algorithm does not have.
    for (alg, kind) in [(ChecksumAlgorithm::Crc64Nvme, "COMPOSITE"), (ChecksumAlgorithm::Sha1, "FULL_OBJECT")]
    {
        let e =
            c.create_multipart_upload().bucket("bkt").key("k").checksum_algorithm(alg).checksum_type(kind);
        assert_eq!(e.send().unwrap_err().code(), "InvalidRequest");
    }
    let e = c.create_multipart_upload().bucket("bkt").key("k").checksum_type("COMPOSITE").send().unwrap_err();
    assert_eq!(e.code(), "InvalidRequest");
}

#[test]
fn completion_checks_parts_as_s3_does() {
    let (_store, c) = setup();
    let up = create(&c, "k");
    let small_part = body(6, 100);
    let e1 = part(&c, "k", &up, 1, &small_part);
    let e2 = part(&c, "k", &up, 2, &small_part);
    let complete = || c.complete_multipart_upload().bucket("bkt").key("k").upload_id(&up);
    // A part but the last under 5 MiB.
    let e = complete().part(1, e1.clone()).part(2, e2.clone()).send().unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("EntityTooSmall", 400));
    let e = complete().part(2, e2.clone()).part(1, e1.clone()).send().unwrap_err();
    assert_eq!(e.code(), "InvalidPartOrder");
    let e = complete().part(1, e1.clone()).part(1, e1.clone()).send().unwrap_err();
    assert_eq!(e.code(), "InvalidPartOrder");
    let e = complete().part(3, e1.clone()).send().unwrap_err();
    assert_eq!(e.code(), "InvalidPart");
    let e = complete().part(1, "\"00000000000000000000000000000000\"").send().unwrap_err();
    assert_eq!(e.code(), "InvalidPart");
    let e = complete().multipart_upload(CompletedMultipartUpload::default()).send().unwrap_err();
    assert_eq!(e.code(), "MalformedXML");
    let e = complete().part(1, e1.clone()).if_none_match("\"abc\"").send().unwrap_err();
    assert_eq!(e.code(), "NotImplemented");
    // Nothing was stored by any of them; one part alone may be small.
    assert_eq!(c.get_object().bucket("bkt").key("k").send().unwrap_err().code(), "NoSuchKey");
    complete().part(1, e1.clone()).send().unwrap();
    assert_eq!(get(&c, "k"), small_part);
    let e = complete().part(1, e1).send().unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("NoSuchUpload", 404));
}

#[test]
fn bad_part_numbers_ids_and_digests_are_refused() {
    let (_store, c) = setup();
    let up = create(&c, "k");
    for n in [0, 10_001, -1] {
        let e = c
            .upload_part()
            .bucket("bkt")
            .key("k")
            .upload_id(&up)
            .part_number(n)
            .body("x")
            .send()
            .unwrap_err();
        assert_eq!(e.code(), "InvalidArgument", "part {n}");
    }
    let e = c.upload_part().bucket("bkt").key("k").upload_id(&up).body("x").send().unwrap_err();
    assert_eq!(e.code(), "MissingParameter");
    for bad in ["nope", "00000000000000000000000000000001", &up.to_uppercase()] {
        let e = c
            .upload_part()
            .bucket("bkt")
            .key("k")
            .upload_id(bad)
            .part_number(1)
            .body("x")
            .send()
            .unwrap_err();
        assert_eq!(e.code(), "NoSuchUpload", "{bad}");
    }
    // The right id under another key is another upload.
    let e = c
        .upload_part()
        .bucket("bkt")
        .key("other")
        .upload_id(&up)
        .part_number(1)
        .body("x")
        .send()
        .unwrap_err();
    assert_eq!(e.code(), "NoSuchUpload");
    let e = c
        .upload_part()
        .bucket("bkt")
        .key("k")
        .upload_id(&up)
        .part_number(1)
        .body("x")
        .content_md5("AAAAAAAAAAAAAAAAAAAAAA==");
    assert_eq!(e.send().unwrap_err().code(), "BadDigest");
    // A checksum of another algorithm than the upload's (CRC64NVME by default).
    let e = c
        .upload_part()
        .bucket("bkt")
        .key("k")
        .upload_id(&up)
        .part_number(1)
        .body("x")
        .checksum_crc32("AAAAAA==");
    // On S3's default (no algorithm asked for) a part may carry a checksum of another algorithm
    // (boto3 sends CRC32): it is verified with it, and stored under the upload's.
    assert_eq!(e.send().unwrap_err().code(), "BadDigest");
    let right = s3lite::s3::checksum::encode(&ChecksumAlgorithm::Crc32.compute(b"y"));
    let ok =
        c.upload_part().bucket("bkt").key("k").upload_id(&up).part_number(9).body("y").checksum_crc32(right);
    assert!(ok.send().unwrap().checksums.checksum_crc64_nvme.is_some());
    // An upload that asked for an algorithm takes no other.
    let asked =
        c.create_multipart_upload().bucket("bkt").key("k2").checksum_algorithm(ChecksumAlgorithm::Sha256);
    let asked = asked.send().unwrap().into_output().upload_id;
    let e = c
        .upload_part()
        .bucket("bkt")
        .key("k2")
        .upload_id(&asked)
        .part_number(1)
        .body("x")
        .checksum_crc32("AAAAAA==");
    assert_eq!(e.send().unwrap_err().code(), "InvalidRequest");
    let wrong = s3lite::s3::checksum::encode(&ChecksumAlgorithm::Crc64Nvme.compute(b"y"));
    let e = c
        .upload_part()
        .bucket("bkt")
        .key("k")
        .upload_id(&up)
        .part_number(1)
        .body("x")
        .checksum_crc64_nvme(wrong);
    assert_eq!(e.send().unwrap_err().code(), "BadDigest");
    let parts = c.list_parts().bucket("bkt").key("k").upload_id(&up).send().unwrap();
    let numbers: Vec<i32> = parts.parts.iter().map(|p| p.part_number).collect();
    assert_eq!(numbers, vec![9], "refused parts are not stored");
    let e = c.create_multipart_upload().bucket("absent").key("k").send().unwrap_err();
    assert_eq!(e.code(), "NoSuchBucket");
    c.abort_multipart_upload().bucket("bkt").key("k").upload_id(&up).send().unwrap();
    let e = c.abort_multipart_upload().bucket("bkt").key("k").upload_id(&up).send().unwrap_err();
    assert_eq!(e.code(), "NoSuchUpload");
    let e =
        c.upload_part().bucket("bkt").key("k").upload_id(&up).part_number(1).body("x").send().unwrap_err();
    assert_eq!(e.code(), "NoSuchUpload");
}

#[test]
fn a_part_uploaded_again_replaces_the_old_one_and_parts_page() {
    let (_store, c) = setup();
    let up = create(&c, "k");
    for n in 1..=5 {
        part(&c, "k", &up, n, &body(n as u64, 10));
    }
    let new3 = body(99, 20);
    let e3 = part(&c, "k", &up, 3, &new3);
    let page = c.list_parts().bucket("bkt").key("k").upload_id(&up).max_parts(2).send().unwrap();
    assert_eq!(page.parts.iter().map(|p| p.part_number).collect::<Vec<_>>(), vec![1, 2]);
    assert!(page.is_truncated);
    assert_eq!(page.next_part_number_marker, Some(2));
    let page = c.list_parts().bucket("bkt").key("k").upload_id(&up).part_number_marker(2).send().unwrap();
    assert_eq!(page.parts.iter().map(|p| p.part_number).collect::<Vec<_>>(), vec![3, 4, 5]);
    assert!(!page.is_truncated);
    assert_eq!((page.parts[0].e_tag.clone(), page.parts[0].size), (e3.clone(), 20));
    assert!(page.parts[0].checksums.checksum_crc64_nvme.is_some());
    c.complete_multipart_upload().bucket("bkt").key("k").upload_id(&up).part(3, e3).send().unwrap();
    assert_eq!(get(&c, "k"), new3);
}

#[test]
fn uploads_list_by_key_then_age_with_prefix_delimiter_and_markers() {
    let (_store, c) = setup();
    let a1 = create(&c, "a");
    let a2 = create(&c, "a");
    let _p1 = create(&c, "photos/1");
    let _p2 = create(&c, "photos/2");
    let z = create(&c, "z");
    let all = c.list_multipart_uploads().bucket("bkt").send().unwrap();
    let got: Vec<(String, String)> =
        all.uploads.iter().map(|u| (u.key.clone(), u.upload_id.clone())).collect();
    assert_eq!(got[0], ("a".into(), a1.clone()));
    assert_eq!(got[1], ("a".into(), a2.clone()));
    assert_eq!(got.len(), 5);
    let grouped = c.list_multipart_uploads().bucket("bkt").delimiter("/").send().unwrap();
    assert_eq!(grouped.common_prefixes, vec!["photos/".to_string()]);
    assert_eq!(grouped.uploads.iter().map(|u| u.key.as_str()).collect::<Vec<_>>(), vec!["a", "a", "z"]);
    let page = c.list_multipart_uploads().bucket("bkt").max_uploads(1).send().unwrap();
    assert!(page.is_truncated);
    assert_eq!(page.next_key_marker.as_deref(), Some("a"));
    assert_eq!(page.next_upload_id_marker.as_deref(), Some(a1.as_str()));
    let next = c
        .list_multipart_uploads()
        .bucket("bkt")
        .key_marker("a")
        .upload_id_marker(a1)
        .max_uploads(1)
        .send()
        .unwrap();
    assert_eq!(next.uploads[0].upload_id, a2);
    let after_a = c.list_multipart_uploads().bucket("bkt").key_marker("a").send().unwrap();
    assert_eq!(after_a.uploads.len(), 3);
    let prefixed = c.list_multipart_uploads().bucket("bkt").prefix("photos/").send().unwrap();
    assert_eq!(prefixed.uploads.len(), 2);
    // Paging through a common prefix returns it once.
    let first = c.list_multipart_uploads().bucket("bkt").delimiter("/").max_uploads(3).send().unwrap();
    assert_eq!(first.common_prefixes.len(), 1);
    assert_eq!(first.next_key_marker.as_deref(), Some("photos/"));
    let rest = c.list_multipart_uploads().bucket("bkt").delimiter("/").key_marker("photos/").send().unwrap();
    assert!(rest.common_prefixes.is_empty());
    assert_eq!(rest.uploads[0].upload_id, z);
    // encoding-type=url encodes keys, prefixes, the delimiter and the markers, and is echoed.
    let _odd = create(&c, "odd key/é+%");
    let enc = c
        .list_multipart_uploads()
        .bucket("bkt")
        .prefix("odd ")
        .encoding_type(s3lite::s3::types::EncodingType::Url)
        .send()
        .unwrap();
    assert_eq!(enc.uploads.iter().map(|u| u.key.as_str()).collect::<Vec<_>>(), ["odd%20key/%C3%A9%2B%25"]);
    assert_eq!(enc.prefix.as_deref(), Some("odd%20"));
    assert_eq!(enc.encoding_type, Some(s3lite::s3::types::EncodingType::Url));
    let grouped = c
        .list_multipart_uploads()
        .bucket("bkt")
        .delimiter(" ")
        .key_marker("b c")
        .max_uploads(1)
        .encoding_type(s3lite::s3::types::EncodingType::Url)
        .send()
        .unwrap();
    assert_eq!(grouped.common_prefixes, ["odd%20"]);
    assert_eq!((grouped.delimiter.as_deref(), grouped.key_marker.as_deref()), (Some("%20"), Some("b%20c")));
    assert_eq!(grouped.next_key_marker.as_deref(), Some("odd%20"));
    let plain = c.list_multipart_uploads().bucket("bkt").prefix("odd ").send().unwrap();
    assert_eq!(plain.uploads[0].key, "odd key/é+%");
    assert_eq!(plain.encoding_type, None);
    // A bucket with an upload in progress is not empty.
    assert_eq!(c.delete_bucket().bucket("bkt").send().unwrap_err().code(), "BucketNotEmpty");
}

#[test]
fn upload_part_copy_takes_a_range_of_an_object() {
    let (_store, c) = setup();
    let src = body(7, 6 * MIB);
    c.put_object().bucket("bkt").key("src").body(src.clone()).send().unwrap();
    let up = create(&c, "dst");
    let copy = |n: i32, range: Option<&str>| {
        let mut r = c
            .upload_part_copy()
            .bucket("bkt")
            .key("dst")
            .upload_id(&up)
            .part_number(n)
            .copy_source("bkt/src");
        if let Some(range) = range {
            r = r.copy_source_range(range);
        }
        r.send()
    };
    let e1 = copy(1, None).unwrap().into_output().copy_part_result.e_tag;
    let e2 = copy(2, Some("bytes=10-19")).unwrap().into_output().copy_part_result.e_tag;
    assert_eq!(copy(3, Some("bytes=5-")).unwrap_err().code(), "InvalidArgument");
    assert_eq!(copy(3, Some("bytes=0-99999999")).unwrap_err().code(), "InvalidArgument");
    c.complete_multipart_upload()
        .bucket("bkt")
        .key("dst")
        .upload_id(&up)
        .part(1, e1)
        .part(2, e2)
        .send()
        .unwrap();
    assert_eq!(get(&c, "dst"), [&src[..], &src[10..20]].concat());
}

#[test]
fn conditional_completion_and_versioned_buckets() {
    let (_store, c) = setup();
    c.put_bucket_versioning().bucket("bkt").status(BucketVersioningStatus::Enabled).send().unwrap();
    c.put_object().bucket("bkt").key("k").body("old").send().unwrap();
    let up = create(&c, "k");
    let e1 = part(&c, "k", &up, 1, b"new");
    let e = c
        .complete_multipart_upload()
        .bucket("bkt")
        .key("k")
        .upload_id(&up)
        .part(1, e1.clone())
        .if_none_match("*");
    assert_eq!(e.send().unwrap_err().code(), "PreconditionFailed");
    let done =
        c.complete_multipart_upload().bucket("bkt").key("k").upload_id(&up).part(1, e1).send().unwrap();
    assert!(done.version_id.is_some());
    let versions = c.list_object_versions().bucket("bkt").send().unwrap();
    assert_eq!(versions.versions.len(), 2);
    assert_eq!(get(&c, "k"), b"new");
    // If-Match with the multipart ETag is a compare-and-swap on it.
    let up = create(&c, "k");
    let e1 = part(&c, "k", &up, 1, b"newer");
    let by_etag = c
        .complete_multipart_upload()
        .bucket("bkt")
        .key("k")
        .upload_id(&up)
        .part(1, e1)
        .if_match(done.e_tag.clone());
    by_etag.send().unwrap();
    assert_eq!(get(&c, "k"), b"newer");
    let _ = CompletedPart::new(1, "x");
}

#[test]
fn uploads_survive_reopen_with_and_without_checkpoints_and_compaction() {
    for checkpoint in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let p1 = body(11, 5 * MIB);
        let p2 = body(12, 4000);
        let (up, e1) = {
            let store = small(Store::builder(dir.path())).open().unwrap();
            let c = store.client();
            c.create_bucket().bucket("bkt").send().unwrap();
            let up = create(&c, "k");
            let e1 = part(&c, "k", &up, 1, &p1);
            // An aborted upload, whose bytes compaction gives back.
            let gone = create(&c, "gone");
            part(&c, "gone", &gone, 1, &body(13, 200_000));
            c.abort_multipart_upload().bucket("bkt").key("gone").upload_id(&gone).send().unwrap();
            if checkpoint {
                store.checkpoint().unwrap();
            }
            (up, e1)
        };
        let store = small(Store::builder(dir.path())).open().unwrap();
        let c = store.client();
        let uploads = c.list_multipart_uploads().bucket("bkt").send().unwrap();
        assert_eq!(uploads.uploads.len(), 1, "checkpoint {checkpoint}");
        let before: u64 = store.segment_stats().iter().map(|s| s.bytes).sum();
        let report = store.compact_with(&CompactionPolicy::everything()).unwrap();
        let after: u64 = store.segment_stats().iter().map(|s| s.bytes).sum();
        assert!(report.rewrites > 0);
        assert!(after < before, "the aborted upload's bytes come back: {before} -> {after}");
        let e2 = part(&c, "k", &up, 2, &p2);
        drop(c);
        drop(store);
        let store = small(Store::builder(dir.path())).open().unwrap();
        let c = store.client();
        c.complete_multipart_upload()
            .bucket("bkt")
            .key("k")
            .upload_id(&up)
            .part(1, e1)
            .part(2, e2)
            .send()
            .unwrap();
        assert_eq!(get(&c, "k"), [p1, p2].concat(), "checkpoint {checkpoint}");
        store.compact_with(&CompactionPolicy::everything()).unwrap();
        drop(c);
        drop(store);
        let store = small(Store::builder(dir.path())).open().unwrap();
        let c = store.client();
        assert!(c.list_multipart_uploads().bucket("bkt").send().unwrap().uploads.is_empty());
        assert_eq!(get(&c, "k").len(), 5 * MIB + 4000);
    }
}

/// An abort's end record is kept by a compaction while the segment with the upload's start record
/// survives it: dropping it would bring the aborted upload back at the next open.
#[test]
fn an_abort_survives_compaction_of_its_segment_alone() {
    let dir = tempfile::tempdir().unwrap();
    // No checkpoint at close: the reopen replays the log, where the end record must be.
    let open =
        || small(Store::builder(dir.path())).partitions(1).checkpoints(Checkpoints::OnDemand).open().unwrap();
    let store = open();
    let c = store.client();
    c.create_bucket().bucket("bkt").send().unwrap();
    let up = create(&c, "u");
    let start_segment = store.segment_stats().iter().map(|s| s.segment_id).max().unwrap();
    // Live objects fill the start record's segment: it stays out of the compaction below.
    for i in 0..300 {
        c.put_object().bucket("bkt").key(format!("live-{i}")).body(body(i, 900)).send().unwrap();
    }
    c.abort_multipart_upload().bucket("bkt").key("u").upload_id(&up).send().unwrap();
    // Overwrites fill the end record's segment with dead bytes.
    for i in 0..300 {
        c.put_object().bucket("bkt").key("hot").body(body(1000 + i, 900)).send().unwrap();
    }
    let policy = CompactionPolicy {
        dead_ratio_min: 0.5,
        dead_bytes_min: 1,
        small_segment_bytes: Some(0),
        ..CompactionPolicy::default()
    };
    let report = store.compact_with(&policy).unwrap();
    assert!(report.rewrites > 0, "the dead segment is rewritten");
    assert!(
        store.segment_stats().iter().any(|s| s.segment_id == start_segment),
        "the start record's segment stays"
    );
    drop(c);
    drop(store);
    let store = open();
    let c = store.client();
    assert!(
        c.list_multipart_uploads().bucket("bkt").send().unwrap().uploads.is_empty(),
        "the aborted upload came back"
    );
    assert_eq!(
        c.list_parts().bucket("bkt").key("u").upload_id(&up).send().unwrap_err().code(),
        "NoSuchUpload"
    );
}

#[test]
fn upload_file_goes_multipart_above_the_threshold_with_parts_in_parallel() {
    let (store, c) = setup();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let data = body(21, 17 * MIB + 3);
    std::fs::write(&path, &data).unwrap();
    let extra = s3lite::ExtraArgs { content_type: Some("application/x-tar".into()), ..Default::default() };
    let config = s3lite::TransferConfig {
        multipart_threshold: 8 * MIB as u64,
        multipart_chunksize: 5 * MIB as u64,
        max_concurrency: 3,
    };
    let out = c.upload_file_with(&path, "bkt", "big", &extra, &config).unwrap();
    assert!(out.e_tag.ends_with("-4\""), "{}", out.e_tag);
    assert_eq!(get(&c, "big"), data);
    let head = c.head_object().bucket("bkt").key("big").send().unwrap();
    assert_eq!(head.content_type.as_deref(), Some("application/x-tar"));
    assert!(c.list_multipart_uploads().bucket("bkt").send().unwrap().uploads.is_empty());
    // The resource layer's upload_file takes the same path (default: 8 MiB parts above 8 MiB).
    let obj = store
        .resource()
        .bucket("bkt")
        .upload_file(&path, "via-resource", &s3lite::ExtraArgs::default())
        .unwrap();
    assert!(obj.e_tag().unwrap().ends_with("-3\""));
    // At or under the threshold: one PutObject.
    let small_path = dir.path().join("small.bin");
    std::fs::write(&small_path, body(22, 1000)).unwrap();
    let out = c.upload_file_with(&small_path, "bkt", "small", &extra, &config).unwrap();
    assert!(!out.e_tag.contains('-'));
    let e = c.upload_file_with(dir.path().join("absent"), "bkt", "x", &extra, &config).unwrap_err();
    assert_eq!(e.code(), "IncompleteBody");
    let e = c.upload_file_with(&path, "no-such-bucket", "x", &extra, &config).unwrap_err();
    assert_eq!(e.code(), "NoSuchBucket");
}
