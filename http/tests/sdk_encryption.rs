//! aws-sdk-s3 against s3lite's server-side encryption, one suite body run over two transports (a
//! server on a free loopback port, and the same store in process): SSE-S3 and KMS-style headers,
//! encrypted multipart uploads, SSE-C, and bucket default encryption.

mod common;
#[path = "common/suite.rs"]
mod suite;

use aws_sdk_s3::primitives::ByteStream;
use common::{Env, Transport, code, status};

async fn body(out: aws_sdk_s3::operation::get_object::GetObjectOutput) -> Vec<u8> {
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

/// Encrypted multipart uploads over the protocol: `x-amz-server-side-encryption` (and the KMS key
/// id) on CreateMultipartUpload seal every part; Create, UploadPart, UploadPartCopy and Complete
/// report it, as do GET and HEAD; whole and ranged reads across part boundaries; an unknown KMS key
/// is refused at create.
async fn encrypted_multipart(env: Env) {
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
    let s3 = &env.client;
    s3.create_bucket().bucket("esse").send().await.unwrap();
    let part_bytes = 5 * 1024 * 1024;
    let data: Vec<u8> = (0..2 * part_bytes + 1234).map(|i| (i * 7 % 253) as u8).collect();
    for (key, sse) in [("s3", ServerSideEncryption::Aes256), ("kms", ServerSideEncryption::AwsKms)] {
        let up = s3
            .create_multipart_upload()
            .bucket("esse")
            .key(key)
            .server_side_encryption(sse.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(up.server_side_encryption(), Some(&sse), "{key}");
        let kms_key = up.ssekms_key_id().map(str::to_owned);
        assert_eq!(kms_key.is_some(), sse == ServerSideEncryption::AwsKms, "{key}");
        let id = up.upload_id().unwrap().to_owned();
        let mut parts = Vec::new();
        for n in 1..=2 {
            let chunk = data[(n as usize - 1) * part_bytes..n as usize * part_bytes].to_vec();
            let out = s3
                .upload_part()
                .bucket("esse")
                .key(key)
                .upload_id(&id)
                .part_number(n)
                .body(ByteStream::from(chunk))
                .send()
                .await
                .unwrap();
            assert_eq!(out.server_side_encryption(), Some(&sse), "{key} part {n}");
            assert_eq!(out.ssekms_key_id().map(str::to_owned), kms_key, "{key} part {n}");
            parts.push(CompletedPart::builder().part_number(n).e_tag(out.e_tag().unwrap()).build());
        }
        // The last part copied from a sealed object: read in the clear, sealed under this upload.
        s3.put_object()
            .bucket("esse")
            .key("tail")
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(ByteStream::from(data[2 * part_bytes..].to_vec()))
            .send()
            .await
            .unwrap();
        let copied = s3
            .upload_part_copy()
            .bucket("esse")
            .key(key)
            .upload_id(&id)
            .part_number(3)
            .copy_source("esse/tail")
            .send()
            .await
            .unwrap();
        assert_eq!(copied.server_side_encryption(), Some(&sse), "{key} copied part");
        let e_tag = copied.copy_part_result().unwrap().e_tag().unwrap().to_owned();
        parts.push(CompletedPart::builder().part_number(3).e_tag(e_tag).build());
        let done = s3
            .complete_multipart_upload()
            .bucket("esse")
            .key(key)
            .upload_id(&id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .unwrap();
        assert_eq!(done.server_side_encryption(), Some(&sse), "{key}");
        assert_eq!(done.ssekms_key_id().map(str::to_owned), kms_key, "{key}");
        assert!(done.e_tag().unwrap().ends_with("-3\""), "{:?}", done.e_tag());
        let got = s3.get_object().bucket("esse").key(key).send().await.unwrap();
        assert_eq!(got.server_side_encryption(), Some(&sse), "{key}");
        assert!(body(got).await == data, "{key}: the object is the parts in order");
        let (from, to) = (part_bytes - 5, 2 * part_bytes + 5);
        let range = format!("bytes={from}-{to}");
        let got = s3.get_object().bucket("esse").key(key).range(range).send().await.unwrap();
        assert!(body(got).await == data[from..=to], "{key}: a range across both part boundaries");
        let head = s3.head_object().bucket("esse").key(key).send().await.unwrap();
        assert_eq!((head.server_side_encryption(), head.e_tag()), (Some(&sse), done.e_tag()), "{key}");
    }
    let e = s3
        .create_multipart_upload()
        .bucket("esse")
        .key("bad")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id("no-such-key")
        .send()
        .await
        .unwrap_err();
    assert_eq!((common::code(&e), common::status(&e)), ("KMS.NotFoundException".into(), 400));
}

/// SSE-S3 and KMS-style encryption over the protocol: the headers go in and come back on PUT, GET,
/// HEAD and COPY; an unknown algorithm or KMS key is a 400; an SSE-C multipart upload in a
/// bucket that blocks SSE-C (every new one, in a store that encrypts by default) is a 403; nothing
/// refused is stored.
async fn server_side_encryption(env: Env) {
    use aws_sdk_s3::types::ServerSideEncryption;
    let s3 = &env.client;
    s3.create_bucket().bucket("sse").send().await.unwrap();
    let put = s3
        .put_object()
        .bucket("sse")
        .key("s3")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .body(ByteStream::from_static(b"secret body"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.server_side_encryption(), Some(&ServerSideEncryption::Aes256));
    let got = s3.get_object().bucket("sse").key("s3").send().await.unwrap();
    assert_eq!(got.server_side_encryption(), Some(&ServerSideEncryption::Aes256));
    assert_eq!(body(got).await, b"secret body");
    let ranged = s3.get_object().bucket("sse").key("s3").range("bytes=7-10").send().await.unwrap();
    assert_eq!(body(ranged).await, b"body");
    let head = s3.head_object().bucket("sse").key("s3").send().await.unwrap();
    assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::Aes256));
    assert_eq!(head.ssekms_key_id(), None);
    let kms = s3
        .put_object()
        .bucket("sse")
        .key("kms")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .body(ByteStream::from_static(b"kms body"))
        .send()
        .await
        .unwrap();
    assert_eq!(kms.server_side_encryption(), Some(&ServerSideEncryption::AwsKms));
    let kms_key = kms.ssekms_key_id().unwrap().to_owned();
    // The key id it reports names the key for later requests.
    let again = s3
        .put_object()
        .bucket("sse")
        .key("kms2")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&kms_key)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.ssekms_key_id(), Some(kms_key.as_str()));
    // A copy is encrypted as the copy request says (or by the default), not as its source was.
    let copied =
        s3.copy_object().bucket("sse").key("plain-copy").copy_source("sse/kms").send().await.unwrap();
    assert_eq!(copied.server_side_encryption(), Some(&ServerSideEncryption::Aes256));
    let got = s3.get_object().bucket("sse").key("plain-copy").send().await.unwrap();
    assert_eq!(body(got).await, b"kms body");
    let copied = s3
        .copy_object()
        .bucket("sse")
        .key("s3")
        .copy_source("sse/s3")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .send()
        .await
        .unwrap();
    assert_eq!(copied.server_side_encryption(), Some(&ServerSideEncryption::AwsKms));

    // An encryption context (base64 JSON) goes with aws:kms, is reported by the put, a copy and
    // a multipart create, and is bound to the object's key (it reads back).
    let ctx = "eyJ0ZWFtIjoiZGF0YSJ9"; // {"team":"data"}
    let with_ctx = s3
        .put_object()
        .bucket("sse")
        .key("ctx")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_encryption_context(ctx)
        .body(ByteStream::from_static(b"ctx body"))
        .send()
        .await
        .unwrap();
    assert_eq!(with_ctx.ssekms_encryption_context(), Some(ctx));
    let got = s3.get_object().bucket("sse").key("ctx").send().await.unwrap();
    assert_eq!(body(got).await, b"ctx body");
    let copied = s3
        .copy_object()
        .bucket("sse")
        .key("ctx-copy")
        .copy_source("sse/ctx")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_encryption_context(ctx)
        .send()
        .await
        .unwrap();
    assert_eq!(copied.ssekms_encryption_context(), Some(ctx));
    let up = s3
        .create_multipart_upload()
        .bucket("sse")
        .key("ctx-mp")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_encryption_context(ctx)
        .send()
        .await
        .unwrap();
    assert_eq!(up.ssekms_encryption_context(), Some(ctx));
    s3.abort_multipart_upload()
        .bucket("sse")
        .key("ctx-mp")
        .upload_id(up.upload_id().unwrap())
        .send()
        .await
        .unwrap();
    let e = s3
        .put_object()
        .bucket("sse")
        .key("bad")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .ssekms_encryption_context(ctx)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((common::code(&e), common::status(&e)), ("InvalidArgument".into(), 400));

    let put =
        |key: &'static str| s3.put_object().bucket("sse").key(key).body(ByteStream::from_static(b"refused"));
    let e = put("bad").server_side_encryption(ServerSideEncryption::from("AES512")).send().await.unwrap_err();
    assert_eq!((common::code(&e), common::status(&e)), ("InvalidArgument".into(), 400));
    let e = put("bad").ssekms_key_id(&kms_key).send().await.unwrap_err();
    assert_eq!((common::code(&e), common::status(&e)), ("InvalidArgument".into(), 400));
    let e = put("bad")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id("no-such-key")
        .send()
        .await
        .unwrap_err();
    assert_eq!((common::code(&e), common::status(&e)), ("KMS.NotFoundException".into(), 400));
    let key_b64 = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="; // 32 bytes
    let key_md5 = "KYvwGXoFFJ42a2u2GDWhwQ==";
    let e = s3
        .create_multipart_upload()
        .bucket("sse")
        .key("m")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(key_b64)
        .sse_customer_key_md5(key_md5)
        .send()
        .await
        .unwrap_err();
    assert_eq!((common::code(&e), common::status(&e)), ("AccessDenied".into(), 403));
    let up = s3.create_multipart_upload().bucket("sse").key("m").send().await.unwrap();
    let e = s3
        .upload_part()
        .bucket("sse")
        .key("m")
        .upload_id(up.upload_id().unwrap())
        .part_number(1)
        .sse_customer_algorithm("AES256")
        .sse_customer_key(key_b64)
        .sse_customer_key_md5(key_md5)
        .body(ByteStream::from_static(b"refused"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((common::code(&e), common::status(&e)), ("AccessDenied".into(), 403));
    // Nothing refused was stored.
    let e = s3.head_object().bucket("sse").key("bad").send().await.unwrap_err();
    assert_eq!(common::status(&e), 404);
    let parts =
        s3.list_parts().bucket("sse").key("m").upload_id(up.upload_id().unwrap()).send().await.unwrap();
    assert!(parts.parts().is_empty());
}

/// SSE-C over the protocol with aws-sdk-s3 (which sends the key and its MD5 as given, in base64):
/// PUT, GET (whole and ranged), HEAD and COPY report the algorithm and the key's MD5; a read
/// without the key, with another key, or with a key for an object not sealed under one is
/// refused with S3's status and code; a bad MD5 or algorithm is a 400 and stores nothing; the
/// bucket's SSE-C block (`BlockedEncryptionTypes`) over Put/GetBucketEncryption.
async fn sse_customer(env: Env) {
    use aws_sdk_s3::types::{
        BlockedEncryptionTypes, EncryptionType, ServerSideEncryption, ServerSideEncryptionByDefault,
        ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    };
    let s3 = &env.client;
    s3.create_bucket().bucket("ssec").send().await.unwrap();
    // Two keys: base64 of 32 bytes, and the base64 of their MD5.
    let (k1, m1) = ("MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=", "KYvwGXoFFJ42a2u2GDWhwQ==");
    let (k2, m2) = ("YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU=", "NX6C25NPxF9KJbS4Pci9GQ==");
    let body_bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    // A new bucket blocks SSE-C writes (S3 since April 2026), says so, and lets them in once its
    // configuration's BlockedEncryptionTypes say NONE.
    let blocked = |got: aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionOutput| {
        let rule = &got.server_side_encryption_configuration().unwrap().rules()[0];
        rule.blocked_encryption_types().map(|b| b.encryption_type().to_vec())
    };
    let got = s3.get_bucket_encryption().bucket("ssec").send().await.unwrap();
    assert_eq!(blocked(got), Some(vec![EncryptionType::SseC]));
    let e = s3
        .put_object()
        .bucket("ssec")
        .key("k")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(k1)
        .sse_customer_key_md5(m1)
        .body(ByteStream::from_static(b"blocked"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&e), status(&e)), ("AccessDenied".into(), 403));
    let allow = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::Aes256)
                        .build()
                        .unwrap(),
                )
                .blocked_encryption_types(
                    BlockedEncryptionTypes::builder().encryption_type(EncryptionType::None).build(),
                )
                .build(),
        )
        .build()
        .unwrap();
    s3.put_bucket_encryption()
        .bucket("ssec")
        .server_side_encryption_configuration(allow)
        .send()
        .await
        .unwrap();
    let got = s3.get_bucket_encryption().bucket("ssec").send().await.unwrap();
    let rule = &got.server_side_encryption_configuration().unwrap().rules()[0];
    let by_default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(by_default.sse_algorithm(), &ServerSideEncryption::Aes256, "the rest of the rule is kept");
    assert_eq!(blocked(got), Some(vec![EncryptionType::None]));
    let put = s3
        .put_object()
        .bucket("ssec")
        .key("k")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(k1)
        .sse_customer_key_md5(m1)
        .body(ByteStream::from(body_bytes.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!((put.sse_customer_algorithm(), put.sse_customer_key_md5()), (Some("AES256"), Some(m1)));
    assert_eq!(put.server_side_encryption(), None, "the store's default does not replace SSE-C");
    let get = |key: &'static str, k: Option<(&'static str, &'static str)>| {
        let g = s3.get_object().bucket("ssec").key(key);
        match k {
            Some((k, m)) => g.sse_customer_algorithm("AES256").sse_customer_key(k).sse_customer_key_md5(m),
            None => g,
        }
    };
    let head = |key: &'static str, k: Option<(&'static str, &'static str)>| {
        let h = s3.head_object().bucket("ssec").key(key);
        match k {
            Some((k, m)) => h.sse_customer_algorithm("AES256").sse_customer_key(k).sse_customer_key_md5(m),
            None => h,
        }
    };
    let got = get("k", Some((k1, m1))).send().await.unwrap();
    assert_eq!((got.sse_customer_algorithm(), got.sse_customer_key_md5()), (Some("AES256"), Some(m1)));
    assert_eq!(body(got).await, body_bytes);
    let ranged = get("k", Some((k1, m1))).range("bytes=65530-65545").send().await.unwrap();
    assert_eq!(body(ranged).await, &body_bytes[65_530..=65_545]);
    let h = head("k", Some((k1, m1))).send().await.unwrap();
    assert_eq!((h.sse_customer_key_md5(), h.content_length()), (Some(m1), Some(200_000)));
    // Without the key: 400 (HEAD too, with no body to carry the code); another key: 403.
    let e = get("k", None).send().await.unwrap_err();
    assert_eq!((code(&e), status(&e)), ("InvalidRequest".into(), 400));
    assert_eq!(status(&head("k", None).send().await.unwrap_err()), 400);
    let e = get("k", Some((k2, m2))).send().await.unwrap_err();
    assert_eq!((code(&e), status(&e)), ("AccessDenied".into(), 403));
    assert_eq!(status(&head("k", Some((k2, m2))).send().await.unwrap_err()), 403);
    // A key for an object not sealed under one (here SSE-S3 by the store's default): 400.
    s3.put_object().bucket("ssec").key("plain").body(ByteStream::from_static(b"x")).send().await.unwrap();
    let e = get("plain", Some((k1, m1))).send().await.unwrap_err();
    assert_eq!((code(&e), status(&e)), ("InvalidRequest".into(), 400));
    // Bad headers: 400 with S3's code, nothing stored.
    let e = s3
        .put_object()
        .bucket("ssec")
        .key("bad")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(k1)
        .sse_customer_key_md5(m2)
        .body(ByteStream::from_static(b"refused"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&e), status(&e)), ("InvalidArgument".into(), 400));
    let xml = String::from_utf8_lossy(e.raw_response().unwrap().body().bytes().unwrap()).into_owned();
    assert!(
        xml.contains("The calculated MD5 hash of the key did not match the hash that was provided."),
        "{xml}"
    );
    let e = s3
        .put_object()
        .bucket("ssec")
        .key("bad")
        .sse_customer_algorithm("AES128")
        .sse_customer_key(k1)
        .sse_customer_key_md5(m1)
        .body(ByteStream::from_static(b"refused"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&e), status(&e)), ("InvalidEncryptionAlgorithmError".into(), 400));
    let e = s3
        .put_object()
        .bucket("ssec")
        .key("bad")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(k1)
        .body(ByteStream::from_static(b"refused"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&e), status(&e)), ("InvalidArgument".into(), 400), "the MD5 is required");
    assert_eq!(status(&s3.head_object().bucket("ssec").key("bad").send().await.unwrap_err()), 404);
    // COPY: the source's key in the copy-source headers, the copy sealed under the destination's.
    let copy = || s3.copy_object().bucket("ssec").key("copy").copy_source("ssec/k");
    let e = copy().send().await.unwrap_err();
    assert_eq!((code(&e), status(&e)), ("InvalidRequest".into(), 400));
    let copied = copy()
        .copy_source_sse_customer_algorithm("AES256")
        .copy_source_sse_customer_key(k1)
        .copy_source_sse_customer_key_md5(m1)
        .sse_customer_algorithm("AES256")
        .sse_customer_key(k2)
        .sse_customer_key_md5(m2)
        .send()
        .await
        .unwrap();
    assert_eq!((copied.sse_customer_algorithm(), copied.sse_customer_key_md5()), (Some("AES256"), Some(m2)));
    assert_eq!(status(&get("copy", Some((k1, m1))).send().await.unwrap_err()), 403);
    assert_eq!(body(get("copy", Some((k2, m2))).send().await.unwrap()).await, body_bytes);
}

/// Default encryption over HTTP: every new object of a store with keys is SSE-S3, a bucket's own
/// configuration (Put/Get/DeleteBucketEncryption) applies to puts that ask for nothing, and S3's
/// errors for a bad configuration.
async fn bucket_encryption(env: Env) {
    use aws_sdk_s3::types::{ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionRule};
    let s3 = &env.client;
    s3.create_bucket().bucket("defaults").send().await.unwrap();
    let put =
        s3.put_object().bucket("defaults").key("a").body(ByteStream::from_static(b"a")).send().await.unwrap();
    assert_eq!(put.server_side_encryption(), Some(&ServerSideEncryption::Aes256));
    let got = s3.get_bucket_encryption().bucket("defaults").send().await.unwrap();
    let rule = &got.server_side_encryption_configuration().unwrap().rules()[0];
    let by_default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(
        (by_default.sse_algorithm(), by_default.kms_master_key_id()),
        (&ServerSideEncryption::Aes256, None)
    );
    assert_eq!(rule.bucket_key_enabled(), Some(false));

    let kms_rule = |key: Option<&str>, alg: ServerSideEncryption| {
        aws_sdk_s3::types::ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(alg)
                            .set_kms_master_key_id(key.map(str::to_owned))
                            .build()
                            .unwrap(),
                    )
                    .bucket_key_enabled(true)
                    .build(),
            )
            .build()
            .unwrap()
    };
    s3.put_bucket_encryption()
        .bucket("defaults")
        .server_side_encryption_configuration(kms_rule(None, ServerSideEncryption::AwsKms))
        .send()
        .await
        .unwrap();
    let put =
        s3.put_object().bucket("defaults").key("b").body(ByteStream::from_static(b"b")).send().await.unwrap();
    assert_eq!(put.server_side_encryption(), Some(&ServerSideEncryption::AwsKms));
    assert!(put.ssekms_key_id().is_some());
    let got = s3.get_bucket_encryption().bucket("defaults").send().await.unwrap();
    let rule = &got.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default().unwrap().sse_algorithm(),
        &ServerSideEncryption::AwsKms
    );
    assert_eq!(rule.bucket_key_enabled(), Some(true));
    let head = s3.head_object().bucket("defaults").key("b").send().await.unwrap();
    assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::AwsKms));

    let e = s3
        .put_bucket_encryption()
        .bucket("defaults")
        .server_side_encryption_configuration(kms_rule(Some("k"), ServerSideEncryption::Aes256))
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&e), status(&e)), ("InvalidArgument".into(), 400));
    let e = s3
        .put_bucket_encryption()
        .bucket("defaults")
        .server_side_encryption_configuration(kms_rule(None, ServerSideEncryption::from("AES512")))
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&e), status(&e)), ("InvalidArgument".into(), 400));
    let e = s3.get_bucket_encryption().bucket("no-such-bucket").send().await.unwrap_err();
    assert_eq!((code(&e), status(&e)), ("NoSuchBucket".into(), 404));

    s3.delete_bucket_encryption().bucket("defaults").send().await.unwrap();
    let put =
        s3.put_object().bucket("defaults").key("c").body(ByteStream::from_static(b"c")).send().await.unwrap();
    assert_eq!(
        (put.server_side_encryption(), put.ssekms_key_id()),
        (Some(&ServerSideEncryption::Aes256), None)
    );
}

suite!(encrypted_multipart, server_side_encryption, sse_customer, bucket_encryption);
