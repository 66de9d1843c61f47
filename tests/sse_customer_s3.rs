//! SSE-C through the S3 layer and the client: the three `x-amz-server-side-encryption-customer-*`
//! headers on PutObject, GetObject, HeadObject and CopyObject (both sides), what the outputs report,
//! and S3's refusals of each bad header, of a missing or wrong key and of a key sent for an object
//! not sealed under one, with nothing stored changed. The store has keys and seals by default, so
//! the tests also show that an SSE-C request is not overridden by the default.

use std::sync::Arc;

use s3lite::crypto::MasterKeys;
use s3lite::s3::types::*;
use s3lite::{Client, EncryptionType, Error, Store};

fn key_bytes(seed: u8) -> [u8; 32] {
    std::array::from_fn(|i| (i as u8).wrapping_mul(29).wrapping_add(seed))
}

/// The three header values for a key: algorithm, base64 key, base64 MD5.
fn headers(seed: u8) -> (String, SseCustomerKey, String) {
    let k = key_bytes(seed);
    (SSE_CUSTOMER_ALGORITHM.to_owned(), SseCustomerKey::of_bytes(&k), sse_customer_key_md5(&k))
}

/// Creates `bucket` and lets SSE-C writes in (`BlockedEncryptionTypes` `NONE`): a store that
/// encrypts by default blocks them on every bucket that does not, as S3 since April 2026.
fn allow_sse_c(client: &Client, bucket: &str) {
    client.create_bucket().bucket(bucket).send().unwrap();
    client
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(blocking(Some(vec![EncryptionType::None])))
        .send()
        .unwrap();
}

/// An SSE-S3 default whose rule blocks `blocked`.
fn blocking(blocked: Option<Vec<EncryptionType>>) -> ServerSideEncryptionConfiguration {
    ServerSideEncryptionConfiguration {
        rules: vec![ServerSideEncryptionRule {
            apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                sse_algorithm: ServerSideEncryption::Aes256,
                kms_master_key_id: None,
            }),
            bucket_key_enabled: None,
            blocked_encryption_types: blocked,
        }],
    }
}

fn store() -> Store {
    Store::in_memory_builder().key_provider(Arc::new(MasterKeys::generate())).open().unwrap()
}

fn put(client: &Client, key: &str, body: &[u8], seed: u8) -> PutObjectOutput {
    let (a, k, m) = headers(seed);
    client
        .put_object()
        .bucket("bkt")
        .key(key)
        .body(body.to_vec())
        .sse_customer_algorithm(a)
        .sse_customer_key(k)
        .sse_customer_key_md5(m)
        .send()
        .unwrap()
        .into_output()
}

fn get(client: &Client, key: &str, seed: Option<u8>) -> s3lite::Result<Vec<u8>> {
    let mut b = client.get_object().bucket("bkt").key(key);
    if let Some(seed) = seed {
        let (a, k, m) = headers(seed);
        b = b.sse_customer_algorithm(a).sse_customer_key(k).sse_customer_key_md5(m);
    }
    let mut out = b.send()?;
    assert_eq!(out.head.server_side_encryption, None, "SSE-C reports no x-amz-server-side-encryption");
    out.body.read_to_vec()
}

fn head(client: &Client, key: &str, seed: Option<u8>) -> s3lite::Result<HeadObjectOutput> {
    let mut b = client.head_object().bucket("bkt").key(key);
    if let Some(seed) = seed {
        let (a, k, m) = headers(seed);
        b = b.sse_customer_algorithm(a).sse_customer_key(k).sse_customer_key_md5(m);
    }
    b.send().map(s3lite::Response::into_output)
}

#[test]
fn put_get_head_and_range_report_the_algorithm_and_the_md5_of_the_key_sent() {
    let store = store();
    let client = store.client();
    allow_sse_c(&client, "bkt");
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let out = put(&client, "k", &body, 1);
    let md5 = sse_customer_key_md5(&key_bytes(1));
    assert_eq!(out.sse_customer_algorithm.as_deref(), Some("AES256"));
    assert_eq!(out.sse_customer_key_md5.as_deref(), Some(md5.as_str()));
    assert_eq!(out.server_side_encryption, None, "the store's default does not replace SSE-C");
    assert_eq!(get(&client, "k", Some(1)).unwrap(), body);
    let h = head(&client, "k", Some(1)).unwrap();
    assert_eq!(
        (h.sse_customer_algorithm.as_deref(), h.sse_customer_key_md5.as_deref()),
        (Some("AES256"), Some(md5.as_str()))
    );
    assert_eq!((h.server_side_encryption, h.content_length), (None, 300_000));
    let (a, k, m) = headers(1);
    let mut ranged = client
        .get_object()
        .bucket("bkt")
        .key("k")
        .range("bytes=65530-65545")
        .sse_customer_algorithm(a)
        .sse_customer_key(k)
        .sse_customer_key_md5(m)
        .send()
        .unwrap();
    assert_eq!(ranged.head.sse_customer_key_md5.as_deref(), Some(md5.as_str()));
    assert_eq!(ranged.body.read_to_vec().unwrap(), &body[65_530..=65_545]);
    // An object not sealed under a customer key reports none.
    let plain = client.put_object().bucket("bkt").key("plain").body(b"x".to_vec()).send().unwrap();
    assert_eq!((&plain.sse_customer_algorithm, &plain.sse_customer_key_md5), (&None, &None));
    let h = head(&client, "plain", None).unwrap();
    assert_eq!(
        (h.sse_customer_algorithm, h.server_side_encryption),
        (None, Some(ServerSideEncryption::Aes256))
    );
}

#[test]
fn reads_without_the_key_with_another_or_with_one_the_object_does_not_take_are_refused() {
    let store = store();
    let client = store.client();
    allow_sse_c(&client, "bkt");
    put(&client, "k", b"secret body", 1);
    client.put_object().bucket("bkt").key("sse-s3").body(b"x".to_vec()).send().unwrap();
    for e in [get(&client, "k", None).unwrap_err(), head(&client, "k", None).unwrap_err()] {
        assert_eq!((e.code(), e.http_status()), ("InvalidRequest", 400), "{e}");
        assert!(
            e.to_string().contains(
                "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."
            ),
            "{e}"
        );
    }
    for e in [get(&client, "k", Some(2)).unwrap_err(), head(&client, "k", Some(2)).unwrap_err()] {
        assert_eq!((e.code(), e.http_status()), ("AccessDenied", 403), "{e}");
    }
    for e in [get(&client, "sse-s3", Some(1)).unwrap_err(), head(&client, "sse-s3", Some(1)).unwrap_err()] {
        assert_eq!((e.code(), e.http_status()), ("InvalidRequest", 400), "{e}");
    }
    // The key is checked before the read's conditions: no ETag is confirmed without the key.
    let e = client.head_object().bucket("bkt").key("k").if_match("\"nope\"").send().unwrap_err();
    assert_eq!(e.code(), "InvalidRequest");
    assert_eq!(get(&client, "k", Some(1)).unwrap(), b"secret body");
}

/// What a bad-header case sends (algorithm, key, MD5) and the code and words it must get back.
type Case<'a> = (&'a str, Option<&'a str>, Option<SseCustomerKey>, Option<String>, &'a str, &'a str);

#[test]
fn bad_sse_c_headers_are_refused_with_s3s_codes_and_store_nothing() {
    let store = store();
    let client = store.client();
    allow_sse_c(&client, "bkt");
    let (aes, key, md5) = headers(1);
    let short = SseCustomerKey::of_bytes(&[7; 16]);
    let short_md5 = sse_customer_key_md5(&[7; 16]);
    let cases: Vec<Case> = vec![
        (
            "bad MD5",
            Some("AES256"),
            Some(key.clone()),
            Some(sse_customer_key_md5(&key_bytes(2))),
            "InvalidArgument",
            "The calculated MD5 hash of the key did not match the hash that was provided.",
        ),
        (
            "MD5 not base64",
            Some("AES256"),
            Some(key.clone()),
            Some("***".into()),
            "InvalidArgument",
            "The calculated MD5 hash of the key did not match the hash that was provided.",
        ),
        (
            "no MD5",
            Some("AES256"),
            Some(key.clone()),
            None,
            "InvalidArgument",
            "calculated MD5 of the secret key",
        ),
        (
            "AES128",
            Some("AES128"),
            Some(key.clone()),
            Some(md5.clone()),
            "InvalidEncryptionAlgorithmError",
            "Supported value: AES256",
        ),
        (
            "aws:kms",
            Some("aws:kms"),
            Some(key.clone()),
            Some(md5.clone()),
            "InvalidEncryptionAlgorithmError",
            "aws:kms",
        ),
        (
            "no algorithm",
            None,
            Some(key.clone()),
            Some(md5.clone()),
            "InvalidArgument",
            "valid encryption algorithm",
        ),
        ("no key", Some("AES256"), None, Some(md5.clone()), "InvalidArgument", "appropriate secret key"),
        ("16-byte key", Some("AES256"), Some(short), Some(short_md5), "InvalidArgument", "(a 16-byte key)"),
        (
            "key not base64",
            Some("AES256"),
            Some(SseCustomerKey::from("not base64!")),
            Some(md5.clone()),
            "InvalidArgument",
            "(not base64)",
        ),
    ];
    for (what, alg, k, m, code, says) in cases {
        let mut p = client.put_object().bucket("bkt").key("k").body(b"x".to_vec());
        let mut g = client.get_object().bucket("bkt").key("k");
        if let Some(a) = alg {
            p = p.sse_customer_algorithm(a);
            g = g.sse_customer_algorithm(a);
        }
        if let Some(k) = &k {
            p = p.sse_customer_key(k.clone());
            g = g.sse_customer_key(k.clone());
        }
        if let Some(m) = &m {
            p = p.sse_customer_key_md5(m.clone());
            g = g.sse_customer_key_md5(m.clone());
        }
        for e in [p.send().unwrap_err(), g.send().map(|_| ()).unwrap_err()] {
            assert_eq!((e.code(), e.http_status()), (code, 400), "{what}: {e}");
            assert!(e.to_string().contains(says), "{what}: {e}");
            assert!(!e.to_string().contains(key.as_str()), "{what}: the key is never echoed: {e}");
        }
        assert_eq!(head(&client, "k", None).unwrap_err().code(), "NoSuchKey", "{what}: stored nothing");
    }
    // SSE-C and x-amz-server-side-encryption exclude each other.
    let e = client
        .put_object()
        .bucket("bkt")
        .key("k")
        .body(b"x".to_vec())
        .server_side_encryption(ServerSideEncryption::Aes256)
        .sse_customer_algorithm(aes)
        .sse_customer_key(key)
        .sse_customer_key_md5(md5)
        .send()
        .unwrap_err();
    assert!(matches!(&e, Error::InvalidArgument { name: "x-amz-server-side-encryption", .. }), "{e:?}");
    assert_eq!(head(&client, "k", None).unwrap_err().code(), "NoSuchKey");
}

#[test]
fn a_copy_reads_its_source_with_the_copy_source_key_and_seals_as_its_destination_asks() {
    let store = store();
    let client = store.client();
    allow_sse_c(&client, "bkt");
    let body: Vec<u8> = (0..150_000u32).map(|i| (i % 241) as u8).collect();
    put(&client, "src", &body, 1);
    let copy = |dst: &str, src_seed: Option<u8>, dst_seed: Option<u8>| {
        let mut c = client.copy_object().bucket("bkt").key(dst).copy_source("bkt/src");
        if let Some(s) = src_seed {
            let (a, k, m) = headers(s);
            c = c
                .copy_source_sse_customer_algorithm(a)
                .copy_source_sse_customer_key(k)
                .copy_source_sse_customer_key_md5(m);
        }
        if let Some(s) = dst_seed {
            let (a, k, m) = headers(s);
            c = c.sse_customer_algorithm(a).sse_customer_key(k).sse_customer_key_md5(m);
        }
        c.send()
    };
    // The source needs its key; a wrong one is 403; the destination is not written either way.
    assert_eq!(copy("dst", None, None).unwrap_err().code(), "InvalidRequest");
    let e = copy("dst", Some(2), None).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("AccessDenied", 403));
    assert_eq!(head(&client, "dst", None).unwrap_err().code(), "NoSuchKey");
    // Bad copy-source headers name the copy-source header.
    let (_, k, m) = headers(1);
    let e = client
        .copy_object()
        .bucket("bkt")
        .key("dst")
        .copy_source("bkt/src")
        .copy_source_sse_customer_algorithm("AES128")
        .copy_source_sse_customer_key(k)
        .copy_source_sse_customer_key_md5(m)
        .send()
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::InvalidEncryptionAlgorithm {
                header: "x-amz-copy-source-server-side-encryption-customer-algorithm",
                ..
            }
        ),
        "{e:?}"
    );
    // Out of SSE-C into the store's default (SSE-S3): read with no key afterwards.
    let out = copy("clear", Some(1), None).unwrap();
    assert_eq!(
        (out.server_side_encryption, &out.sse_customer_algorithm),
        (Some(ServerSideEncryption::Aes256), &None)
    );
    let mut g = client.get_object().bucket("bkt").key("clear").send().unwrap();
    assert_eq!(g.head.server_side_encryption, Some(ServerSideEncryption::Aes256));
    assert_eq!(g.body.read_to_vec().unwrap(), body);
    // Under another customer key; and onto itself with a new key (a key rotation, which S3 allows).
    let out = copy("other", Some(1), Some(3)).unwrap();
    assert_eq!(out.sse_customer_key_md5, Some(sse_customer_key_md5(&key_bytes(3))));
    assert_eq!(get(&client, "other", Some(1)).unwrap_err().code(), "AccessDenied");
    assert_eq!(get(&client, "other", Some(3)).unwrap(), body);
    let rotated = client
        .copy_object()
        .bucket("bkt")
        .key("src")
        .copy_source("bkt/src")
        .copy_source_sse_customer_algorithm("AES256")
        .copy_source_sse_customer_key(headers(1).1)
        .copy_source_sse_customer_key_md5(headers(1).2)
        .sse_customer_algorithm("AES256")
        .sse_customer_key(headers(4).1)
        .sse_customer_key_md5(headers(4).2)
        .send()
        .unwrap();
    assert_eq!(rotated.sse_customer_algorithm.as_deref(), Some("AES256"));
    assert_eq!(get(&client, "src", Some(4)).unwrap(), body);
    // Into SSE-C from an SSE-S3 source, which takes no copy-source key.
    let e = client
        .copy_object()
        .bucket("bkt")
        .key("x")
        .copy_source("bkt/clear")
        .copy_source_sse_customer_algorithm("AES256")
        .copy_source_sse_customer_key(headers(1).1)
        .copy_source_sse_customer_key_md5(headers(1).2)
        .send()
        .unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("InvalidRequest", 400));
    let (a, k, m) = headers(5);
    let c = client
        .copy_object()
        .bucket("bkt")
        .key("x")
        .copy_source("bkt/clear")
        .sse_customer_algorithm(a)
        .sse_customer_key(k)
        .sse_customer_key_md5(m)
        .send()
        .unwrap();
    assert_eq!(c.server_side_encryption, None);
    assert_eq!(get(&client, "x", Some(5)).unwrap(), body);
}

fn blocked_of(client: &Client, bucket: &str) -> Option<Vec<EncryptionType>> {
    let cfg = client.get_bucket_encryption().bucket(bucket).send().unwrap();
    cfg.server_side_encryption_configuration.rules[0].blocked_encryption_types.clone()
}

fn put_ssec(client: &Client, bucket: &str, key: &str) -> s3lite::Result<()> {
    let (a, k, m) = headers(1);
    let p = client.put_object().bucket(bucket).key(key).body(b"body".to_vec());
    p.sse_customer_algorithm(a).sse_customer_key(k).sse_customer_key_md5(m).send().map(|_| ())
}

/// S3 since April 2026: a new bucket refuses SSE-C writes (403 AccessDenied) until its encryption
/// configuration's `BlockedEncryptionTypes` say `NONE`; a block put later refuses new SSE-C writes
/// and copies but leaves the SSE-C objects there readable with their key.
#[test]
fn sse_c_writes_are_blocked_on_new_buckets_until_the_configuration_allows_them() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MasterKeys::generate());
    let store = Store::builder(dir.path()).key_provider(keys.clone()).open().unwrap();
    let client = store.client();
    client.create_bucket().bucket("bkt").send().unwrap();
    assert_eq!(blocked_of(&client, "bkt"), Some(vec![EncryptionType::SseC]), "reported on a new bucket");
    let e = put_ssec(&client, "bkt", "k").unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("AccessDenied", 403), "{e}");
    assert!(e.to_string().contains("BlockedEncryptionTypes"), "{e}");
    assert_eq!(head(&client, "k", None).unwrap_err().code(), "NoSuchKey", "nothing stored");
    // Writes that do not ask for SSE-C are not blocked.
    client.put_object().bucket("bkt").key("plain").body(b"x".to_vec()).send().unwrap();

    let put_config = |blocked: Option<Vec<EncryptionType>>| {
        client
            .put_bucket_encryption()
            .bucket("bkt")
            .server_side_encryption_configuration(blocking(blocked))
            .send()
    };
    put_config(Some(vec![EncryptionType::None])).unwrap();
    assert_eq!(blocked_of(&client, "bkt"), Some(vec![EncryptionType::None]));
    put_ssec(&client, "bkt", "k").unwrap();
    assert_eq!(get(&client, "k", Some(1)).unwrap(), b"body");

    // Blocked again: new SSE-C puts and copies are refused; what is there still reads.
    put_config(Some(vec![EncryptionType::SseC])).unwrap();
    assert_eq!(put_ssec(&client, "bkt", "k2").unwrap_err().code(), "AccessDenied");
    let (a, k, m) = headers(2);
    let copy = client.copy_object().bucket("bkt").key("copy").copy_source("bkt/plain");
    let e = copy.sse_customer_algorithm(a).sse_customer_key(k).sse_customer_key_md5(m).send().unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("AccessDenied", 403));
    assert_eq!(head(&client, "copy", None).unwrap_err().code(), "NoSuchKey");
    assert_eq!(get(&client, "k", Some(1)).unwrap(), b"body");
    assert_eq!(head(&client, "k", Some(1)).unwrap().sse_customer_algorithm.as_deref(), Some("AES256"));
    // Out of SSE-C is not into it: a copy of the SSE-C object under the default is allowed.
    let (a, k, m) = headers(1);
    let out = client.copy_object().bucket("bkt").key("clear").copy_source("bkt/k");
    out.copy_source_sse_customer_algorithm(a)
        .copy_source_sse_customer_key(k)
        .copy_source_sse_customer_key_md5(m)
        .send()
        .unwrap();

    // A configuration naming no blocked types, or none at all, is the default: blocked.
    put_config(Some(vec![EncryptionType::None])).unwrap();
    put_config(None).unwrap();
    assert_eq!(blocked_of(&client, "bkt"), Some(vec![EncryptionType::SseC]));
    assert_eq!(put_ssec(&client, "bkt", "k3").unwrap_err().code(), "AccessDenied");
    put_config(Some(vec![EncryptionType::None])).unwrap();
    client.delete_bucket_encryption().bucket("bkt").send().unwrap();
    assert_eq!(put_ssec(&client, "bkt", "k3").unwrap_err().code(), "AccessDenied");
    // NONE with SSE-C says two things: refused, nothing changed.
    let e = put_config(Some(vec![EncryptionType::None, EncryptionType::SseC])).unwrap_err();
    assert!(matches!(&e, Error::InvalidArgument { name: "EncryptionType", .. }), "{e:?}");
    assert_eq!(blocked_of(&client, "bkt"), Some(vec![EncryptionType::SseC]));

    // The setting is a catalog edit of its own: it survives reopen, with and without a checkpoint.
    put_config(Some(vec![EncryptionType::None])).unwrap();
    drop(client);
    store.close().unwrap();
    for checkpoint in [false, true] {
        let store = Store::builder(dir.path()).key_provider(keys.clone()).open().unwrap();
        let client = store.client();
        assert_eq!(blocked_of(&client, "bkt"), Some(vec![EncryptionType::None]), "checkpoint {checkpoint}");
        put_ssec(&client, "bkt", "after-reopen").unwrap();
        if checkpoint {
            store.checkpoint().unwrap();
        }
        drop(client);
        store.close().unwrap();
    }
}

#[test]
fn a_store_that_does_not_encrypt_by_default_blocks_no_sse_c() {
    for store in [
        Store::in_memory_builder().open().unwrap(),
        Store::in_memory_builder()
            .key_provider(Arc::new(MasterKeys::generate()))
            .encrypt_by_default(false)
            .open()
            .unwrap(),
    ] {
        let client = store.client();
        client.create_bucket().bucket("bkt").send().unwrap();
        put_ssec(&client, "bkt", "k").unwrap();
        assert_eq!(get(&client, "k", Some(1)).unwrap(), b"body");
        // A block can still be put.
        let blocked = blocking(Some(vec![EncryptionType::SseC]));
        client
            .put_bucket_encryption()
            .bucket("bkt")
            .server_side_encryption_configuration(blocked)
            .send()
            .unwrap();
        assert_eq!(put_ssec(&client, "bkt", "k2").unwrap_err().code(), "AccessDenied");
    }
}
