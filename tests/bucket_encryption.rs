//! Default encryption: the store's (SSE-S3 for every new object in a store with keys, as S3 since
//! 2023-01-05) and a bucket's own (Put/Get/DeleteBucketEncryption), through the client; a put's own
//! request overrides both; the setting survives reopen; the errors of bad configurations, unknown
//! buckets, other accounts, unknown KMS keys and a store without keys, with nothing stored changed.

use std::path::Path;
use std::sync::Arc;

use s3lite::crypto::MasterKeys;
use s3lite::s3::types::*;
use s3lite::{Error, Store};

const MARKER: &[u8] = b"S3LITE-DEFAULT-ENCRYPTION-MARKER";

fn marked(len: usize) -> Vec<u8> {
    MARKER.iter().copied().cycle().take(len).collect()
}

fn files_hold(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().flatten().any(|e| {
        let p = e.path();
        if p.is_dir() {
            files_hold(&p, needle)
        } else {
            std::fs::read(&p).unwrap().windows(needle.len()).any(|w| w == needle)
        }
    })
}

fn keys() -> Arc<MasterKeys> {
    let keys = MasterKeys::generate();
    keys.add_named("orders").unwrap();
    Arc::new(keys)
}

fn config(alg: ServerSideEncryption, key: Option<&str>) -> ServerSideEncryptionConfiguration {
    ServerSideEncryptionConfiguration {
        rules: vec![ServerSideEncryptionRule {
            apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                sse_algorithm: alg,
                kms_master_key_id: key.map(str::to_owned),
            }),
            bucket_key_enabled: Some(true),
            blocked_encryption_types: None,
        }],
    }
}

/// `c` as GetBucketEncryption reports it in a store that encrypts by default: with SSE-C blocked,
/// as S3 blocks it on new buckets since April 2026, when the configuration names no blocked types.
fn reported(mut c: ServerSideEncryptionConfiguration) -> ServerSideEncryptionConfiguration {
    for r in &mut c.rules {
        r.blocked_encryption_types.get_or_insert_with(|| vec![s3lite::EncryptionType::SseC]);
    }
    c
}

#[test]
fn a_store_with_keys_seals_what_asks_for_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::builder(dir.path()).key_provider(keys()).open().unwrap();
    let client = store.client();
    client.create_bucket().bucket("bkt").send().unwrap();
    for (key, len) in [("small", 100), ("large", 300_000)] {
        let put = client.put_object().bucket("bkt").key(key).body(marked(len)).send().unwrap();
        assert_eq!(put.server_side_encryption, Some(ServerSideEncryption::Aes256), "{key}");
        let head = client.head_object().bucket("bkt").key(key).send().unwrap();
        assert_eq!(head.server_side_encryption, Some(ServerSideEncryption::Aes256), "{key}");
        let mut got = client.get_object().bucket("bkt").key(key).send().unwrap();
        assert_eq!(got.head.server_side_encryption, Some(ServerSideEncryption::Aes256));
        assert_eq!(got.body.read_to_vec().unwrap(), marked(len));
    }
    // A copy that asks for nothing is sealed too (under a fresh data key).
    let copy = client.copy_object().bucket("bkt").key("copy").copy_source("bkt/large").send().unwrap();
    assert_eq!(copy.server_side_encryption, Some(ServerSideEncryption::Aes256));
    let cfg = client.get_bucket_encryption().bucket("bkt").send().unwrap();
    assert_eq!(cfg.server_side_encryption_configuration, {
        let mut c = config(ServerSideEncryption::Aes256, None);
        c.rules[0].bucket_key_enabled = Some(false);
        reported(c)
    });
    store.sync().unwrap();
    assert!(!files_hold(dir.path(), &MARKER[..24]), "default-encrypted bodies must not be in the clear");
}

#[test]
fn a_bucket_default_applies_until_deleted_and_a_request_of_its_own_wins() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let keys = keys();
    let orders = s3lite::crypto::KeyProvider::named_key(&*keys, "orders").unwrap().to_string();
    {
        let store = Store::builder(&root).key_provider(keys.clone()).open().unwrap();
        let client = store.client();
        client.create_bucket().bucket("bkt").send().unwrap();
        client
            .put_bucket_encryption()
            .bucket("bkt")
            .server_side_encryption_configuration(config(ServerSideEncryption::AwsKms, Some("orders")))
            .send()
            .unwrap();
        let put = client.put_object().bucket("bkt").key("kms").body(b"x".to_vec()).send().unwrap();
        assert_eq!(put.server_side_encryption, Some(ServerSideEncryption::AwsKms));
        assert_eq!(put.ssekms_key_id.as_deref(), Some(orders.as_str()));
        let own = client
            .put_object()
            .bucket("bkt")
            .key("own")
            .body(b"y".to_vec())
            .server_side_encryption(ServerSideEncryption::Aes256)
            .send()
            .unwrap();
        assert_eq!(
            (own.server_side_encryption, own.ssekms_key_id.clone()),
            (Some(ServerSideEncryption::Aes256), None)
        );
    }
    // The setting is a catalog edit: it survives reopen (with and without a checkpoint).
    for checkpoint in [false, true] {
        let store = Store::builder(&root).key_provider(keys.clone()).open().unwrap();
        let client = store.client();
        let cfg = client.get_bucket_encryption().bucket("bkt").send().unwrap();
        assert_eq!(
            cfg.server_side_encryption_configuration,
            reported(config(ServerSideEncryption::AwsKms, Some("orders")))
        );
        let head = client.head_object().bucket("bkt").key("kms").send().unwrap();
        assert_eq!(head.ssekms_key_id.as_deref(), Some(orders.as_str()));
        if checkpoint {
            store.checkpoint().unwrap();
        }
    }
    let store = Store::builder(&root).key_provider(keys).open().unwrap();
    let client = store.client();
    client.delete_bucket_encryption().bucket("bkt").send().unwrap();
    client.delete_bucket_encryption().bucket("bkt").send().unwrap(); // none left: still fine, as S3
    let put = client.put_object().bucket("bkt").key("after").body(b"z".to_vec()).send().unwrap();
    assert_eq!(
        (put.server_side_encryption, put.ssekms_key_id.clone()),
        (Some(ServerSideEncryption::Aes256), None)
    );
    let cfg = client.get_bucket_encryption().bucket("bkt").send().unwrap();
    assert_eq!(
        cfg.server_side_encryption_configuration.rules[0].apply_server_side_encryption_by_default,
        Some(ServerSideEncryptionByDefault {
            sse_algorithm: ServerSideEncryption::Aes256,
            kms_master_key_id: None
        })
    );
}

#[test]
fn without_default_encryption_objects_are_plain_until_the_bucket_asks() {
    let keyed = Store::in_memory_builder().key_provider(keys()).encrypt_by_default(false).open().unwrap();
    let keyless = Store::open_in_memory().unwrap();
    for store in [keyed, keyless] {
        assert!(!store.encrypts_by_default());
        let client = store.client();
        client.create_bucket().bucket("bkt").send().unwrap();
        let put = client.put_object().bucket("bkt").key("plain").body(b"p".to_vec()).send().unwrap();
        assert_eq!(put.server_side_encryption, None);
        let e = client.get_bucket_encryption().bucket("bkt").send().unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("ServerSideEncryptionConfigurationNotFoundError", 404));
        client
            .put_bucket_encryption()
            .bucket("bkt")
            .server_side_encryption_configuration(config(ServerSideEncryption::Aes256, None))
            .send()
            .unwrap();
        let put = client.put_object().bucket("bkt").key("sealed").body(b"s".to_vec()).send();
        match put {
            Ok(put) => assert_eq!(put.server_side_encryption, Some(ServerSideEncryption::Aes256)),
            // The keyless store cannot seal: the put is refused and nothing is stored.
            Err(e) => {
                assert!(matches!(e, Error::KeyUnavailable { .. }), "{e:?}");
                let e = client.head_object().bucket("bkt").key("sealed").send().unwrap_err();
                assert_eq!(e.code(), "NoSuchKey");
            }
        }
        let mut plain = client.get_object().bucket("bkt").key("plain").send().unwrap();
        assert_eq!(
            (plain.head.server_side_encryption, plain.body.read_to_vec().unwrap()),
            (None, b"p".to_vec())
        );
    }
}

#[test]
fn bad_configurations_unknown_buckets_other_accounts_and_unknown_kms_keys_are_refused() {
    let store = Store::in_memory_builder().key_provider(keys()).open().unwrap();
    let client = store.client();
    client.create_bucket().bucket("bkt").send().unwrap();
    let put = |c: ServerSideEncryptionConfiguration| {
        client.put_bucket_encryption().bucket("bkt").server_side_encryption_configuration(c).send()
    };
    assert_eq!(put(ServerSideEncryptionConfiguration::default()).unwrap_err().code(), "MalformedXML");
    let e = put(config(ServerSideEncryption::Aes256, Some("orders"))).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidArgument { name: "KMSMasterKeyID", value, .. } if value == "orders"),
        "{e:?}"
    );
    assert_eq!(put(config(ServerSideEncryption::AwsKms, Some(""))).unwrap_err().code(), "InvalidArgument");
    // Nothing was set by the refusals.
    let cfg = client.get_bucket_encryption().bucket("bkt").send().unwrap();
    assert_eq!(cfg.server_side_encryption_configuration.rules[0].bucket_key_enabled, Some(false));

    for e in [
        client.get_bucket_encryption().bucket("nope").send().unwrap_err(),
        client.delete_bucket_encryption().bucket("nope").send().unwrap_err(),
        client
            .put_bucket_encryption()
            .bucket("nope")
            .server_side_encryption_configuration(config(ServerSideEncryption::Aes256, None))
            .send()
            .unwrap_err(),
    ] {
        assert_eq!(e.code(), "NoSuchBucket");
    }
    assert_eq!(client.get_bucket_encryption().send().unwrap_err().code(), "MissingParameter");

    let other = store.create_account("other").unwrap();
    let theirs = store.s3_as(&other);
    assert_eq!(theirs.get_bucket_encryption("bkt").unwrap_err().code(), "AccessDenied");
    assert_eq!(theirs.delete_bucket_encryption("bkt").unwrap_err().code(), "AccessDenied");
    let e = theirs
        .put_bucket_encryption(PutBucketEncryptionRequest {
            bucket: "bkt".into(),
            server_side_encryption_configuration: config(ServerSideEncryption::Aes256, None),
        })
        .unwrap_err();
    assert_eq!(e.code(), "AccessDenied");

    // An unknown KMS key is kept as given (as S3 does) and refused by the put that would use it.
    put(config(ServerSideEncryption::AwsKms, Some("no-such-key"))).unwrap();
    let e = client.put_object().bucket("bkt").key("k").body(b"x".to_vec()).send().unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("KMS.NotFoundException", 400));
    assert_eq!(client.head_object().bucket("bkt").key("k").send().unwrap_err().code(), "NoSuchKey");
}
