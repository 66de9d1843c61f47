//! SSE-C multipart uploads with aws-sdk-s3, over the socket and in process: create an upload under
//! a customer key, upload its parts with that key, complete it without, and read it back with the
//! key (whole and across the part boundary); a part without the key, or with another key, is S3's
//! 400 `InvalidRequest` and stores nothing; reads without the key or with another are refused.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BlockedEncryptionTypes, CompletedMultipartUpload, CompletedPart, EncryptionType, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use common::{Env, Transport, code, status};

/// Two keys: base64 of 32 bytes, and the base64 of their MD5.
const K1: (&str, &str) = ("MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=", "KYvwGXoFFJ42a2u2GDWhwQ==");
const K2: (&str, &str) = ("YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU=", "NX6C25NPxF9KJbS4Pci9GQ==");

async fn body(out: aws_sdk_s3::operation::get_object::GetObjectOutput) -> Vec<u8> {
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

async fn sse_c_multipart(env: Env) {
    let s3 = &env.client;
    s3.create_bucket().bucket("ssec").send().await.unwrap();
    // The store encrypts by default, so a new bucket blocks SSE-C until its configuration allows it.
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
    let created = s3
        .create_multipart_upload()
        .bucket("ssec")
        .key("big")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(K1.0)
        .sse_customer_key_md5(K1.1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (created.sse_customer_algorithm(), created.sse_customer_key_md5()),
        (Some("AES256"), Some(K1.1))
    );
    assert_eq!(created.server_side_encryption(), None);
    let up = created.upload_id().unwrap().to_owned();
    let p1: Vec<u8> = (0..5u32 << 20).map(|i| (i % 251) as u8).collect();
    let p2: Vec<u8> = (0..300_000u32).map(|i| (i % 241) as u8).collect();
    let part = |n: i32, bytes: &[u8], key: Option<(&'static str, &'static str)>| {
        let p = s3
            .upload_part()
            .bucket("ssec")
            .key("big")
            .upload_id(&up)
            .part_number(n)
            .body(ByteStream::from(bytes.to_vec()));
        match key {
            Some((k, m)) => p.sse_customer_algorithm("AES256").sse_customer_key(k).sse_customer_key_md5(m),
            None => p,
        }
    };
    let out1 = part(1, &p1, Some(K1)).send().await.unwrap();
    assert_eq!((out1.sse_customer_algorithm(), out1.sse_customer_key_md5()), (Some("AES256"), Some(K1.1)));
    for key in [None, Some(K2)] {
        let e = part(2, &p2, key).send().await.unwrap_err();
        assert_eq!((code(&e), status(&e)), ("InvalidRequest".into(), 400), "{key:?}");
    }
    let listed = s3.list_parts().bucket("ssec").key("big").upload_id(&up).send().await.unwrap();
    assert_eq!(listed.parts().len(), 1, "no refused part was stored; ListParts needs no key");
    let out2 = part(2, &p2, Some(K1)).send().await.unwrap();
    let parts = CompletedMultipartUpload::builder()
        .parts(CompletedPart::builder().part_number(1).e_tag(out1.e_tag().unwrap()).build())
        .parts(CompletedPart::builder().part_number(2).e_tag(out2.e_tag().unwrap()).build())
        .build();
    let done = s3
        .complete_multipart_upload()
        .bucket("ssec")
        .key("big")
        .upload_id(&up)
        .multipart_upload(parts)
        .send()
        .await
        .unwrap();
    assert!(done.e_tag().unwrap().ends_with("-2\""), "{:?}", done.e_tag());
    let get = |key: Option<(&'static str, &'static str)>| {
        let g = s3.get_object().bucket("ssec").key("big");
        match key {
            Some((k, m)) => g.sse_customer_algorithm("AES256").sse_customer_key(k).sse_customer_key_md5(m),
            None => g,
        }
    };
    let whole = [&p1[..], &p2].concat();
    let got = get(Some(K1)).send().await.unwrap();
    assert_eq!((got.sse_customer_algorithm(), got.sse_customer_key_md5()), (Some("AES256"), Some(K1.1)));
    assert!(body(got).await == whole);
    let at = 5usize << 20;
    let ranged = get(Some(K1)).range(format!("bytes={}-{}", at - 9, at + 9)).send().await.unwrap();
    assert_eq!(body(ranged).await, &whole[at - 9..=at + 9]);
    let e = get(None).send().await.unwrap_err();
    assert_eq!((code(&e), status(&e)), ("InvalidRequest".into(), 400));
    let e = get(Some(K2)).send().await.unwrap_err();
    assert_eq!((code(&e), status(&e)), ("AccessDenied".into(), 403));
    let h = s3
        .head_object()
        .bucket("ssec")
        .key("big")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(K1.0)
        .sse_customer_key_md5(K1.1)
        .send()
        .await
        .unwrap();
    assert_eq!((h.content_length(), h.sse_customer_key_md5()), (Some(whole.len() as i64), Some(K1.1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_c_multipart_over_the_socket() {
    sse_c_multipart(Env::new(Transport::Socket).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_c_multipart_in_process() {
    sse_c_multipart(Env::new(Transport::InProcess).await).await;
}
