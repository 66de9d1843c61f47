//! aws-sdk-s3 against s3lite, one suite body run over two transports: a server on a free
//! loopback port, and the same store in process (`s3lite_http::aws_sdk_client`).

mod common;
#[path = "common/suite.rs"]
mod suite;

use std::time::{Duration, SystemTime};

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, Delete, ObjectIdentifier,
    VersioningConfiguration,
};
use common::{Env, Transport, code, status};

async fn body(out: aws_sdk_s3::operation::get_object::GetObjectOutput) -> Vec<u8> {
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

async fn buckets(env: Env) {
    let s3 = &env.client;
    s3.create_bucket().bucket("photos").send().await.unwrap();
    s3.create_bucket().bucket("videos").send().await.unwrap();
    s3.head_bucket().bucket("photos").send().await.unwrap();
    let listed = s3.list_buckets().send().await.unwrap();
    let names: Vec<_> = listed.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["photos", "videos"]);
    assert!(listed.owner().and_then(|o| o.id()).is_some());
    let loc = s3.get_bucket_location().bucket("photos").send().await.unwrap();
    let empty = loc.location_constraint().map_or("", |c| c.as_str());
    assert_eq!(empty, "", "us-east-1 is the empty constraint");
    // us-east-1's legacy answer to re-creating one's own bucket: 200.
    s3.create_bucket().bucket("photos").send().await.unwrap();
    let err = s3.head_bucket().bucket("nope").send().await.unwrap_err();
    assert_eq!(status(&err), 404);
    let err = s3
        .create_bucket()
        .bucket("elsewhere")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "IllegalLocationConstraintException");
    s3.put_object().bucket("videos").key("a").body(ByteStream::from_static(b"x")).send().await.unwrap();
    let err = s3.delete_bucket().bucket("videos").send().await.unwrap_err();
    assert_eq!((code(&err), status(&err)), ("BucketNotEmpty".into(), 409));
    let msg =
        err.as_service_error().and_then(|e| aws_sdk_s3::error::ProvideErrorMetadata::message(e)).unwrap();
    assert!(msg.contains("videos"), "the message names the bucket: {msg}");
    s3.delete_bucket().bucket("photos").send().await.unwrap();
    let err = s3.get_object().bucket("photos").key("k").send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchBucket");
}

async fn objects(env: Env) {
    let s3 = &env.client;
    s3.create_bucket().bucket("bkt").send().await.unwrap();
    let put = s3
        .put_object()
        .bucket("bkt")
        .key("dir/cat.jpg")
        .body(ByteStream::from_static(b"meow meow"))
        .content_type("image/jpeg")
        .metadata("camera", "X100")
        .cache_control("max-age=60")
        .send()
        .await
        .unwrap();
    let e_tag = put.e_tag().unwrap().to_owned();
    assert_eq!(e_tag, "\"250774fb0ad3ac59de43e002d61e0fbe\"", "the MD5 of the body");
    let got = s3.get_object().bucket("bkt").key("dir/cat.jpg").send().await.unwrap();
    assert_eq!(got.content_type(), Some("image/jpeg"));
    assert_eq!(got.cache_control(), Some("max-age=60"));
    assert_eq!(got.metadata().unwrap().get("camera").map(String::as_str), Some("X100"));
    assert_eq!(got.e_tag(), Some(e_tag.as_str()));
    assert_eq!(got.content_length(), Some(9));
    assert!(got.last_modified().is_some());
    assert_eq!(body(got).await, b"meow meow");
    // Ranges.
    let r = s3.get_object().bucket("bkt").key("dir/cat.jpg").range("bytes=5-").send().await.unwrap();
    assert_eq!(r.content_range(), Some("bytes 5-8/9"));
    assert_eq!(body(r).await, b"meow");
    let r = s3.get_object().bucket("bkt").key("dir/cat.jpg").range("bytes=-3").send().await.unwrap();
    assert_eq!(body(r).await, b"eow");
    let err =
        s3.get_object().bucket("bkt").key("dir/cat.jpg").range("bytes=100-200").send().await.unwrap_err();
    assert_eq!((code(&err), status(&err)), ("InvalidRange".into(), 416));
    // Head.
    let h = s3.head_object().bucket("bkt").key("dir/cat.jpg").send().await.unwrap();
    assert_eq!(h.content_length(), Some(9));
    assert_eq!(h.metadata().unwrap().get("camera").map(String::as_str), Some("X100"));
    let err = s3.head_object().bucket("bkt").key("dog.jpg").send().await.unwrap_err();
    assert_eq!(status(&err), 404);
    let err = s3.get_object().bucket("bkt").key("dog.jpg").send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchKey");
    // Conditions.
    let err = s3.get_object().bucket("bkt").key("dir/cat.jpg").if_match("\"nope\"").send().await.unwrap_err();
    assert_eq!(status(&err), 412);
    let err =
        s3.head_object().bucket("bkt").key("dir/cat.jpg").if_none_match(&e_tag).send().await.unwrap_err();
    assert_eq!(status(&err), 304);
    let err = s3
        .put_object()
        .bucket("bkt")
        .key("dir/cat.jpg")
        .if_none_match("*")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    // Copy, with metadata copied and then replaced.
    let c =
        s3.copy_object().bucket("bkt").key("copy.jpg").copy_source("bkt/dir/cat.jpg").send().await.unwrap();
    assert_eq!(c.copy_object_result().and_then(|r| r.e_tag()), Some(e_tag.as_str()));
    let h = s3.head_object().bucket("bkt").key("copy.jpg").send().await.unwrap();
    assert_eq!(h.metadata().unwrap().get("camera").map(String::as_str), Some("X100"));
    s3.copy_object()
        .bucket("bkt")
        .key("copy.jpg")
        .copy_source("bkt/dir/cat.jpg")
        .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
        .metadata("lens", "23mm")
        .content_type("image/png")
        .send()
        .await
        .unwrap();
    let h = s3.head_object().bucket("bkt").key("copy.jpg").send().await.unwrap();
    assert_eq!(h.content_type(), Some("image/png"));
    assert_eq!(h.metadata().unwrap().len(), 1);
    assert_eq!(h.metadata().unwrap().get("lens").map(String::as_str), Some("23mm"));
    // A key that needs encoding.
    let odd = "sp ace/ü+%?#=&.txt";
    s3.put_object().bucket("bkt").key(odd).body(ByteStream::from_static(b"odd")).send().await.unwrap();
    assert_eq!(body(s3.get_object().bucket("bkt").key(odd).send().await.unwrap()).await, b"odd");
    s3.copy_object()
        .bucket("bkt")
        .key("odd-copy")
        .copy_source(format!("bkt/{}", urlencode(odd)))
        .send()
        .await
        .unwrap();
    assert_eq!(body(s3.get_object().bucket("bkt").key("odd-copy").send().await.unwrap()).await, b"odd");
    // Delete.
    s3.delete_object().bucket("bkt").key("copy.jpg").send().await.unwrap();
    let err = s3.get_object().bucket("bkt").key("copy.jpg").send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchKey");
    // Checksums: the SDK sends CRC32 in an aws-chunked trailer and checks it on GET.
    s3.put_object()
        .bucket("bkt")
        .key("summed")
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .body(ByteStream::from(vec![7u8; 100_000]))
        .send()
        .await
        .unwrap();
    let got = s3
        .get_object()
        .bucket("bkt")
        .key("summed")
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert!(got.checksum_sha256().is_some());
    assert_eq!(body(got).await.len(), 100_000);
    let err = s3
        .put_object()
        .bucket("bkt")
        .key("bad-sum")
        .checksum_crc32("AAAAAA==")
        .body(ByteStream::from_static(b"data"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "BadDigest");
    let err = s3.head_object().bucket("bkt").key("bad-sum").send().await.unwrap_err();
    assert_eq!(status(&err), 404, "nothing stored");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn versioning(env: Env) {
    let s3 = &env.client;
    s3.create_bucket().bucket("ver").send().await.unwrap();
    s3.put_bucket_versioning()
        .bucket("ver")
        .versioning_configuration(
            VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build(),
        )
        .send()
        .await
        .unwrap();
    let got = s3.get_bucket_versioning().bucket("ver").send().await.unwrap();
    assert_eq!(got.status(), Some(&BucketVersioningStatus::Enabled));
    let v1 = s3
        .put_object()
        .bucket("ver")
        .key("docs/a.txt")
        .body(ByteStream::from_static(b"1"))
        .send()
        .await
        .unwrap();
    let v2 = s3
        .put_object()
        .bucket("ver")
        .key("docs/a.txt")
        .body(ByteStream::from_static(b"2"))
        .send()
        .await
        .unwrap();
    let v1 = v1.version_id().unwrap().to_owned();
    assert_ne!(Some(v1.as_str()), v2.version_id());
    s3.put_object()
        .bucket("ver")
        .key("docs/sub/b.txt")
        .body(ByteStream::from_static(b"b"))
        .send()
        .await
        .unwrap();
    s3.put_object().bucket("ver").key("top.txt").body(ByteStream::from_static(b"t")).send().await.unwrap();
    let old = s3.get_object().bucket("ver").key("docs/a.txt").version_id(&v1).send().await.unwrap();
    assert_eq!(old.version_id(), Some(v1.as_str()));
    assert_eq!(body(old).await, b"1");
    let del = s3.delete_object().bucket("ver").key("docs/a.txt").send().await.unwrap();
    assert_eq!(del.delete_marker(), Some(true));
    let marker = del.version_id().unwrap().to_owned();
    let err = s3.get_object().bucket("ver").key("docs/a.txt").send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchKey");
    let raw = err.raw_response().unwrap();
    assert_eq!(raw.headers().get("x-amz-delete-marker"), Some("true"));
    assert_eq!(raw.headers().get("x-amz-version-id"), Some(marker.as_str()));
    // Version listing with a delimiter: top-level entries and common prefixes.
    let l = s3.list_object_versions().bucket("ver").delimiter("/").send().await.unwrap();
    let prefixes: Vec<_> = l.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(prefixes, ["docs/"]);
    assert_eq!(l.versions().iter().filter_map(|v| v.key()).collect::<Vec<_>>(), ["top.txt"]);
    let l = s3.list_object_versions().bucket("ver").prefix("docs/").delimiter("/").send().await.unwrap();
    assert_eq!(l.versions().len(), 2);
    assert_eq!(l.delete_markers().len(), 1);
    assert_eq!(l.delete_markers()[0].version_id(), Some(marker.as_str()));
    assert_eq!(l.common_prefixes().iter().filter_map(|p| p.prefix()).collect::<Vec<_>>(), ["docs/sub/"]);
    // Paging through versions one at a time.
    let mut seen = 0;
    let mut key_marker: Option<String> = None;
    let mut vid_marker: Option<String> = None;
    loop {
        let page = s3
            .list_object_versions()
            .bucket("ver")
            .max_keys(1)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(vid_marker.clone())
            .send()
            .await
            .unwrap();
        seen += page.versions().len() + page.delete_markers().len();
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        vid_marker = page.next_version_id_marker().map(str::to_owned);
    }
    assert_eq!(seen, 5);
    // Removing the marker brings the object back.
    s3.delete_object().bucket("ver").key("docs/a.txt").version_id(&marker).send().await.unwrap();
    assert_eq!(body(s3.get_object().bucket("ver").key("docs/a.txt").send().await.unwrap()).await, b"2");
}

async fn listing_and_batch_delete(env: Env) {
    let s3 = &env.client;
    s3.create_bucket().bucket("lst").send().await.unwrap();
    for i in 0..25 {
        s3.put_object()
            .bucket("lst")
            .key(format!("p/{i:02}"))
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap();
    }
    s3.put_object().bucket("lst").key("q/1").body(ByteStream::from_static(b"x")).send().await.unwrap();
    let page = s3.list_objects_v2().bucket("lst").delimiter("/").send().await.unwrap();
    assert_eq!(page.common_prefixes().iter().filter_map(|p| p.prefix()).collect::<Vec<_>>(), ["p/", "q/"]);
    let mut keys = Vec::new();
    let mut pages = s3.list_objects_v2().bucket("lst").prefix("p/").max_keys(10).into_paginator().send();
    while let Some(page) = pages.next().await {
        keys.extend(page.unwrap().contents().iter().filter_map(|o| o.key().map(str::to_owned)));
    }
    assert_eq!(keys.len(), 25);
    let v1 = s3.list_objects().bucket("lst").prefix("p/").max_keys(5).send().await.unwrap();
    assert_eq!(v1.contents().len(), 5);
    assert_eq!(v1.is_truncated(), Some(true));
    let ids: Vec<_> =
        keys.iter().take(20).map(|k| ObjectIdentifier::builder().key(k).build().unwrap()).collect();
    let out = s3
        .delete_objects()
        .bucket("lst")
        .delete(Delete::builder().set_objects(Some(ids)).build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.deleted().len(), 20);
    assert!(out.errors().is_empty());
    let left = s3.list_objects_v2().bucket("lst").send().await.unwrap();
    assert_eq!(left.key_count(), Some(6));
}

/// A 50 MiB object in five 10 MiB parts (sent two at a time), its ETag and bytes; ListParts and
/// ListMultipartUploads; an abort; S3's errors for a small part and an unknown upload.
async fn multipart(env: Env) {
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    let s3 = &env.client;
    s3.create_bucket().bucket("mpu").send().await.unwrap();
    let up = s3.create_multipart_upload().bucket("mpu").key("big").send().await.unwrap();
    let id = up.upload_id().unwrap().to_owned();
    let part_bytes = 10 * 1024 * 1024;
    let data: Vec<u8> = (0..5 * part_bytes).map(|i| (i * 31 % 251) as u8).collect();
    let mut etags = Vec::new();
    for pair in (1..=5).collect::<Vec<i32>>().chunks(2) {
        let sends = pair.iter().map(|&n| {
            let chunk = data[(n as usize - 1) * part_bytes..n as usize * part_bytes].to_vec();
            s3.upload_part()
                .bucket("mpu")
                .key("big")
                .upload_id(&id)
                .part_number(n)
                .body(ByteStream::from(chunk))
                .send()
        });
        for (n, out) in pair.iter().zip(futures::future::join_all(sends).await) {
            etags.push((*n, out.unwrap().e_tag().unwrap().to_owned()));
        }
    }
    let parts = s3.list_parts().bucket("mpu").key("big").upload_id(&id).max_parts(2).send().await.unwrap();
    assert_eq!(parts.parts().iter().filter_map(|p| p.part_number()).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(parts.is_truncated(), Some(true));
    let uploads = s3.list_multipart_uploads().bucket("mpu").send().await.unwrap();
    assert_eq!(uploads.uploads().iter().filter_map(|u| u.upload_id()).collect::<Vec<_>>(), [id.as_str()]);
    let encoded = s3
        .list_multipart_uploads()
        .bucket("mpu")
        .prefix("b g")
        .encoding_type(aws_sdk_s3::types::EncodingType::Url)
        .send()
        .await
        .unwrap();
    assert_eq!(encoded.encoding_type(), Some(&aws_sdk_s3::types::EncodingType::Url));
    // As S3 sends it: aws-sdk-s3 leaves the decoding to its caller (boto3 decodes).
    assert_eq!(encoded.prefix(), Some("b%20g"));
    // An encoding S3 does not know is refused, on the uploads listing and the object listings alike.
    let xml = aws_sdk_s3::types::EncodingType::from("xml");
    let e = s3.list_multipart_uploads().bucket("mpu").encoding_type(xml.clone()).send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidArgument");
    let e = s3.list_objects_v2().bucket("mpu").encoding_type(xml.clone()).send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidArgument");
    let e = s3.list_objects().bucket("mpu").encoding_type(xml.clone()).send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidArgument");
    let e = s3.list_object_versions().bucket("mpu").encoding_type(xml).send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidArgument");
    let completed = CompletedMultipartUpload::builder()
        .set_parts(Some(
            etags.iter().map(|(n, e)| CompletedPart::builder().part_number(*n).e_tag(e).build()).collect(),
        ))
        .build();
    let done = s3
        .complete_multipart_upload()
        .bucket("mpu")
        .key("big")
        .upload_id(&id)
        .multipart_upload(completed)
        .send()
        .await
        .unwrap();
    assert!(done.e_tag().unwrap().ends_with("-5\""), "{:?}", done.e_tag());
    let got = body(s3.get_object().bucket("mpu").key("big").send().await.unwrap()).await;
    assert!(got == data, "the object is the parts in order");
    let head = s3.head_object().bucket("mpu").key("big").send().await.unwrap();
    assert_eq!(head.e_tag(), done.e_tag());
    // A small part but the last, then an abort.
    let id = s3
        .create_multipart_upload()
        .bucket("mpu")
        .key("small")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let mut small = Vec::new();
    for n in 1..=2 {
        let out = s3
            .upload_part()
            .bucket("mpu")
            .key("small")
            .upload_id(&id)
            .part_number(n)
            .body(ByteStream::from_static(b"tiny"))
            .send()
            .await
            .unwrap();
        small.push(CompletedPart::builder().part_number(n).e_tag(out.e_tag().unwrap()).build());
    }
    let err = s3
        .complete_multipart_upload()
        .bucket("mpu")
        .key("small")
        .upload_id(&id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(small)).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "EntityTooSmall");
    s3.abort_multipart_upload().bucket("mpu").key("small").upload_id(&id).send().await.unwrap();
    let err = s3.list_parts().bucket("mpu").key("small").upload_id(&id).send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchUpload");
    assert_eq!(status(&err), 404);
}

async fn presigned(env: Env) {
    let s3 = &env.client;
    s3.create_bucket().bucket("pre").send().await.unwrap();
    s3.put_object()
        .bucket("pre")
        .key("a b.txt")
        .body(ByteStream::from_static(b"shared"))
        .send()
        .await
        .unwrap();
    let url = s3
        .get_object()
        .bucket("pre")
        .key("a b.txt")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let uri: http::Uri = url.uri().parse().unwrap();
    let pq = uri.path_and_query().unwrap().as_str().to_owned();
    let ok = env.raw("GET", &pq, &[], b"").await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.body, b"shared");
    // Tampered: another key under the same signature.
    let tampered = pq.replace("a%20b.txt", "a%20c.txt");
    let bad = env.raw("GET", &tampered, &[], b"").await;
    assert_eq!(bad.status, 403, "{}", bad.text());
    assert!(bad.text().contains("SignatureDoesNotMatch"), "{}", bad.text());
    // Expired: signed an hour ago for a minute.
    let old = s3
        .get_object()
        .bucket("pre")
        .key("a b.txt")
        .presigned(
            PresigningConfig::builder()
                .start_time(SystemTime::now() - Duration::from_secs(3600))
                .expires_in(Duration::from_secs(60))
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let uri: http::Uri = old.uri().parse().unwrap();
    let expired = env.raw("GET", uri.path_and_query().unwrap().as_str(), &[], b"").await;
    assert_eq!(expired.status, 403, "{}", expired.text());
    assert!(expired.text().contains("AccessDenied"), "{}", expired.text());
    // Over 7 days: the SDK refuses to build it, so edit a valid URL's expiry (the signature then
    // no longer matches either; the cap is checked in any case, see access.rs's unit test).
    let long = pq.replace("X-Amz-Expires=300", "X-Amz-Expires=604801");
    let refused = env.raw("GET", &long, &[], b"").await;
    assert!(refused.status == 400 || refused.status == 403, "{}", refused.text());
    // A presigned PUT.
    let put = s3
        .put_object()
        .bucket("pre")
        .key("up.txt")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let uri: http::Uri = put.uri().parse().unwrap();
    let done = env.raw("PUT", uri.path_and_query().unwrap().as_str(), &[], b"uploaded").await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(body(s3.get_object().bucket("pre").key("up.txt").send().await.unwrap()).await, b"uploaded");
}

async fn credentials(env: Env) {
    env.client.create_bucket().bucket("creds").send().await.unwrap();
    let wrong = env.client_with(&env.keys.access_key_id, "not-the-secret", "us-east-1");
    let err = wrong.list_buckets().send().await.unwrap_err();
    assert_eq!((code(&err), status(&err)), ("SignatureDoesNotMatch".into(), 403));
    let unknown = env.client_with("AKIAUNKNOWN", "whatever", "us-east-1");
    let err = unknown.list_buckets().send().await.unwrap_err();
    assert_eq!((code(&err), status(&err)), ("InvalidAccessKeyId".into(), 403));
    let region = env.client_with(&env.keys.access_key_id, &env.keys.secret_access_key, "eu-west-1");
    let err = region.list_buckets().send().await.unwrap_err();
    assert_eq!((code(&err), status(&err)), ("AuthorizationHeaderMalformed".into(), 400));
    let err = region
        .put_object()
        .bucket("creds")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 400);
    // Anonymous: the anonymous principal, which cannot list buckets.
    let anon = env.raw("GET", "/", &[], b"").await;
    assert_eq!(anon.status, 403, "{}", anon.text());
    assert!(anon.text().contains("AccessDenied"), "{}", anon.text());
    if env.is_socket() {
        assert_eq!(anon.headers.get("x-amz-request-id").map(|v| v.len()), Some(16));
    }
    // SigV2 is refused.
    let v2 = env.raw("GET", "/creds", &[("Authorization", "AWS AKIAX:c2ln")], b"").await;
    assert!(v2.status == 400 || v2.status == 403, "{}", v2.text());
    // Another account owns its own buckets.
    let alice = env.store.create_account("alice").unwrap();
    let keys = env.store.create_access_key(&alice).unwrap();
    let a = env.client_with(&keys.access_key_id, &keys.secret_access_key, "us-east-1");
    a.create_bucket().bucket("alices").send().await.unwrap();
    let mine = a.list_buckets().send().await.unwrap();
    assert_eq!(mine.buckets().iter().filter_map(|b| b.name()).collect::<Vec<_>>(), ["alices"]);
}

async fn request_ids(env: Env) {
    let s3 = &env.client;
    s3.create_bucket().bucket("rid").send().await.unwrap();
    // An anonymous GET: of a bucket that does not exist, 404 naming it; of the owner's private
    // bucket, 403. Both carry the request id in header and body.
    let anon = env.raw("GET", "/rid-nowhere/missing", &[], b"").await;
    assert_eq!(anon.status, 404, "{}", anon.text());
    let rid = anon.headers.get("x-amz-request-id").and_then(|v| v.to_str().ok()).unwrap().to_owned();
    assert!(anon.text().contains(&format!("<RequestId>{rid}</RequestId>")), "{}", anon.text());
    assert!(anon.text().contains("rid-nowhere"), "the message names the resource: {}", anon.text());
    let private = env.raw("GET", "/rid/missing", &[], b"").await;
    assert_eq!(private.status, 403, "{}", private.text());
    assert!(private.text().contains("<Code>AccessDenied</Code>"), "{}", private.text());
    let out = s3.head_bucket().bucket("rid").send().await.unwrap();
    let rid = aws_sdk_s3::operation::RequestId::request_id(&out).map(str::to_owned);
    assert_eq!(rid.as_deref().map(str::len), Some(16));
    let err = s3.get_object().bucket("rid").key("missing").send().await.unwrap_err();
    let rid = err.raw_response().unwrap().headers().get("x-amz-request-id").map(str::to_owned);
    assert_eq!(rid.as_deref().map(str::len), Some(16));
    let xml = String::from_utf8_lossy(err.raw_response().unwrap().body().bytes().unwrap()).into_owned();
    assert!(xml.contains(&format!("<RequestId>{}</RequestId>", rid.unwrap())), "{xml}");
    let ct = err.raw_response().unwrap().headers().get("content-type").map(str::to_owned);
    assert_eq!(ct.as_deref(), Some("application/xml"));
}

suite!(
    buckets,
    objects,
    versioning,
    listing_and_batch_delete,
    multipart,
    presigned,
    credentials,
    request_ids
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_region_is_enforced_over_the_socket() {
    let env = Env::with_region(Transport::Socket, "eu-central-1").await;
    env.client
        .create_bucket()
        .bucket("eu-bucket")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuCentral1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let loc = env.client.get_bucket_location().bucket("eu-bucket").send().await.unwrap();
    assert_eq!(loc.location_constraint(), Some(&BucketLocationConstraint::EuCentral1));
    let us = env.client_with(&env.keys.access_key_id, &env.keys.secret_access_key, "us-east-1");
    let err = us.head_bucket().bucket("eu-bucket").send().await.unwrap_err();
    assert_eq!(status(&err), 400);
    let (store, _dir) = env.stop().await;
    store.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_keys_sign_and_conflicts_are_refused() {
    let env = Env::new(Transport::InProcess).await;
    let owner = env.store.owner();
    let given =
        s3lite::Credentials { access_key_id: "AKIAGIVEN".into(), secret_access_key: "given-secret".into() };
    env.store.import_access_key(&owner, &given).unwrap();
    env.store.import_access_key(&owner, &given).unwrap(); // the same key again: no change
    let other = s3lite::Credentials { secret_access_key: "another".into(), ..given.clone() };
    assert_eq!(env.store.import_access_key(&owner, &other).unwrap_err().code(), "InvalidArgument");
    let bad = s3lite::Credentials { access_key_id: "A/B".into(), secret_access_key: "s".into() };
    assert_eq!(env.store.import_access_key(&owner, &bad).unwrap_err().code(), "InvalidArgument");
    assert_eq!(env.store.access_keys(&owner).len(), 2);
    let (secret, account) = env.store.access_key_secret("AKIAGIVEN").unwrap();
    assert_eq!((secret.as_str(), account), ("given-secret", owner));
    let s3 = env.client_with("AKIAGIVEN", "given-secret", "us-east-1");
    s3.create_bucket().bucket("imported").send().await.unwrap();
    let (store, _dir) = env.stop().await;
    assert!(store.access_key_secret("AKIAGIVEN").is_some());
}
