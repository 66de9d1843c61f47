//! The low-level client: fluent builders, principals, response metadata, errors.

mod common;

use s3lite::s3::types::{Body, BucketVersioningStatus};
use s3lite::{Credentials, Store};

#[test]
fn fluent_calls_carry_response_metadata() {
    let store = Store::open_in_memory().unwrap();
    let client = store.client();
    let out = client.create_bucket().bucket("bkt").send().unwrap();
    assert_eq!((out.location.as_str(), out.http_status()), ("/bkt", 200));
    let put = client
        .put_object()
        .bucket("bkt")
        .key("k")
        .body(b"hello")
        .content_type("text/plain")
        .metadata("a", "b")
        .send()
        .unwrap();
    assert_ne!(put.request_id(), out.request_id(), "request ids are unique");
    assert_eq!(put.request_id().len(), 16);
    let mut got = client.get_object().bucket("bkt").key("k").range("bytes=1-3").send().unwrap();
    assert_eq!(got.body.read_to_vec().unwrap(), b"ell");
    assert_eq!(got.head.content_range.as_deref(), Some("bytes 1-3/5"));
    let head = client.head_object().bucket("bkt").key("k").send().unwrap();
    assert_eq!(head.metadata, vec![("a".to_string(), "b".to_string())]);
    let mut sink = Vec::new();
    client.get_object().bucket("bkt").key("k").send().unwrap().body.write_to(&mut sink).unwrap();
    assert_eq!(sink, b"hello");
    let del = client.delete_object().bucket("bkt").key("k").send().unwrap();
    assert_eq!(del.http_status(), 204);
    client.put_bucket_versioning().bucket("bkt").status(BucketVersioningStatus::Enabled).send().unwrap();
    assert_eq!(
        client.get_bucket_versioning().bucket("bkt").send().unwrap().status,
        Some(BucketVersioningStatus::Enabled)
    );
    let e = client.get_object().bucket("bkt").key("absent").send().unwrap_err();
    assert_eq!(e.code(), "NoSuchKey");
    assert_eq!(client.request_count(), 9, "failed requests count too");
}

#[test]
fn errors_name_what_they_are_about() {
    let store = Store::open_in_memory().unwrap();
    let client = store.client();
    client.create_bucket().bucket("bkt").send().unwrap();
    let e = client.get_object().bucket("bkt").key("nope").send().unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("NoSuchKey", 404));
    assert!(e.to_string().contains("bkt/nope"), "{e}");
    let e = client.get_object().bucket("other").key("k").send().unwrap_err();
    assert!(e.to_string().contains("other"), "{e}");
    let e = client
        .get_object()
        .bucket("bkt")
        .key("k")
        .version_id("00000000000000000000000000000001")
        .send()
        .unwrap_err();
    assert_eq!(e.code(), "NoSuchVersion");
    assert!(e.to_string().contains("00000000000000000000000000000001"), "{e}");
}

#[test]
fn principals_credentials_and_anonymous() {
    let store = Store::open_in_memory().unwrap();
    let alice = store.create_account("alice").unwrap();
    let creds = store.create_access_key(&alice).unwrap();
    assert!(creds.access_key_id.starts_with("AKIA") && creds.access_key_id.len() == 20);
    let as_alice = store.client_with_credentials(&creds).unwrap();
    assert_eq!(as_alice.caller(), Some(&alice));
    as_alice.create_bucket().bucket("alices").send().unwrap();
    assert_eq!(store.bucket("alices").unwrap().owner, alice.canonical_id);
    let wrong = Credentials { secret_access_key: "nope".into(), ..creds.clone() };
    let e = store.client_with_credentials(&wrong).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("SignatureDoesNotMatch", 403));
    let unknown = Credentials { access_key_id: "AKIAUNKNOWN".into(), ..creds };
    assert_eq!(store.client_with_credentials(&unknown).unwrap_err().code(), "InvalidAccessKeyId");
    let anon = store.anonymous_client();
    assert_eq!(anon.caller(), None);
    let e = anon.create_bucket().bucket("anons").send().unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("AccessDenied", 403));
    assert_eq!(anon.list_buckets().send().unwrap_err().code(), "AccessDenied");
    let ghost = s3lite::Account { canonical_id: "0".repeat(64), display_name: "ghost".into() };
    assert_eq!(store.create_access_key(&ghost).unwrap_err().code(), "InvalidArgument");
}

#[test]
fn credentials_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let creds = store.create_access_key(&store.owner()).unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.client_with_credentials(&creds).unwrap().caller(), Some(&store.owner()));
}

#[test]
fn bodies_from_bytes_readers_and_files() {
    let store = Store::open_in_memory().unwrap();
    let client = store.client();
    client.create_bucket().bucket("bkt").send().unwrap();
    let data = common::body(4, 30_000);
    client.put_object().bucket("bkt").key("bytes").body(data.clone()).send().unwrap();
    client
        .put_object()
        .bucket("bkt")
        .key("reader")
        .body(Body::from_reader(std::io::Cursor::new(data.clone())))
        .send()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), &data).unwrap();
    client.put_object().bucket("bkt").key("file").body(Body::from_path(dir.path().join("f"))).send().unwrap();
    for key in ["bytes", "reader", "file"] {
        let mut out = client.get_object().bucket("bkt").key(key).send().unwrap();
        assert_eq!(out.body.read_to_vec().unwrap(), data, "{key}");
    }
}
