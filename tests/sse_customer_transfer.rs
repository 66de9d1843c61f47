//! File transfers under a customer key (boto3's `ExtraArgs` `SSECustomerAlgorithm`,
//! `SSECustomerKey`, `SSECustomerKeyMD5`): `upload_file` below the multipart threshold (one
//! PutObject) and above it (every request of the upload carries the key), the MD5 computed when
//! only the key is given, `download_file_with` reading with the key (and a version), and the
//! arguments each call refuses.

use s3lite::s3::types::*;
use s3lite::{Client, ExtraArgs, Store, TransferConfig};

const KEY: [u8; 32] = [0x5a; 32];

fn customer(key: &[u8]) -> ExtraArgs {
    ExtraArgs {
        sse_customer_algorithm: Some("AES256".into()),
        sse_customer_key: Some(SseCustomerKey::of_bytes(key)),
        ..ExtraArgs::default()
    }
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// A store without master keys: it blocks no SSE-C write (S3 before its 2023 default).
fn client(dir: &std::path::Path) -> (Store, Client) {
    let store = Store::builder(dir.join("store")).open().unwrap();
    let client = store.client();
    client.create_bucket().bucket("bkt").send().unwrap();
    (store, client)
}

#[test]
fn upload_file_under_a_customer_key_below_and_above_the_threshold_reads_back_only_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = client(dir.path());
    let config =
        TransferConfig { multipart_threshold: 6 << 20, multipart_chunksize: 5 << 20, max_concurrency: 2 };
    for (name, len, parts) in [("small", 300_000, None), ("big", 11 << 20, Some("-3\""))] {
        let src = dir.path().join(format!("{name}.bin"));
        let bytes = data(len);
        std::fs::write(&src, &bytes).unwrap();
        let put = c.upload_file_with(&src, "bkt", name, &customer(&KEY), &config).unwrap();
        assert_eq!(put.sse_customer_algorithm.as_deref(), Some("AES256"), "{name}");
        assert_eq!(
            put.sse_customer_key_md5,
            Some(sse_customer_key_md5(&KEY)),
            "{name}: the MD5 botocore computes"
        );
        if let Some(suffix) = parts {
            assert!(put.e_tag.ends_with(suffix), "{name}: {}", put.e_tag);
        }
        // Without the key: S3's 400; with another: 403; the target file is never written.
        let back = dir.path().join(format!("{name}.back"));
        let e = c.download_file("bkt", name, &back).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("InvalidRequest", 400), "{name}");
        let e = c.download_file_with("bkt", name, &back, &customer(&[1; 32])).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("AccessDenied", 403), "{name}");
        assert!(!back.exists(), "{name}: a refused download left a file");
        assert_eq!(c.download_file_with("bkt", name, &back, &customer(&KEY)).unwrap(), len as u64);
        assert!(std::fs::read(&back).unwrap() == bytes, "{name}: downloaded bytes differ");
    }
}

#[test]
fn a_wrong_md5_or_a_key_that_is_not_base64_is_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = client(dir.path());
    let src = dir.path().join("f.bin");
    std::fs::write(&src, data(1000)).unwrap();
    let wrong_md5 =
        ExtraArgs { sse_customer_key_md5: Some(sse_customer_key_md5(&[2; 32])), ..customer(&KEY) };
    let e = c.upload_file(&src, "bkt", "k", &wrong_md5).unwrap_err();
    assert_eq!(e.code(), "InvalidArgument", "{e}");
    let not_base64 = ExtraArgs { sse_customer_key: Some("not base64!".into()), ..customer(&KEY) };
    let e = c.upload_file(&src, "bkt", "k", &not_base64).unwrap_err();
    assert_eq!(e.code(), "InvalidArgument", "{e}");
    assert_eq!(c.head_object().bucket("bkt").key("k").send().unwrap_err().code(), "NoSuchKey");
}

#[test]
fn each_transfer_refuses_the_arguments_boto3_does_not_allow_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = client(dir.path());
    let src = dir.path().join("f.bin");
    std::fs::write(&src, data(1000)).unwrap();
    let versioned = ExtraArgs { version_id: Some("v".into()), ..ExtraArgs::default() };
    let e = c.upload_file(&src, "bkt", "k", &versioned).unwrap_err();
    assert!(matches!(&e, s3lite::Error::InvalidArgument { name: "VersionId", .. }), "{e}");
    assert_eq!(c.head_object().bucket("bkt").key("k").send().unwrap_err().code(), "NoSuchKey");
    c.upload_file(&src, "bkt", "k", &ExtraArgs::default()).unwrap();
    let back = dir.path().join("back");
    let typed = ExtraArgs { content_type: Some("text/plain".into()), ..ExtraArgs::default() };
    let e = c.download_file_with("bkt", "k", &back, &typed).unwrap_err();
    assert!(matches!(&e, s3lite::Error::InvalidArgument { name: "ContentType", .. }), "{e}");
    assert!(!back.exists());
}

#[test]
fn download_file_with_a_version_id_reads_that_version() {
    let dir = tempfile::tempdir().unwrap();
    let (store, c) = client(dir.path());
    let resource = store.resource();
    resource.bucket("bkt").versioning().enable().unwrap();
    let first = c.put_object().bucket("bkt").key("k").body(b"first".to_vec()).send().unwrap();
    c.put_object().bucket("bkt").key("k").body(b"second".to_vec()).send().unwrap();
    let back = dir.path().join("back");
    let old = ExtraArgs { version_id: first.version_id.clone(), ..ExtraArgs::default() };
    assert_eq!(resource.bucket("bkt").object("k").download_file_with(&back, &old).unwrap(), 5);
    assert_eq!(std::fs::read(&back).unwrap(), b"first");
    resource.bucket("bkt").download_file_with("k", &back, &ExtraArgs::default()).unwrap();
    assert_eq!(std::fs::read(&back).unwrap(), b"second");
}
