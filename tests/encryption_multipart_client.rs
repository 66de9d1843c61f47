//! Encrypted multipart uploads through the client and resource layers: what a request asks for
//! (`AES256`, `aws:kms` with or without a key id), the bucket's default encryption and the store's
//! encrypt-by-default all seal an upload that asks for nothing more, as they do PutObject; Create,
//! UploadPart, UploadPartCopy and Complete report the encryption as S3 does; UploadPartCopy seals
//! copied bytes under the target upload; `upload_file` with ExtraArgs SSE above the multipart
//! threshold; and the errors of unknown KMS keys and key ids without `aws:kms`.

use std::path::Path;
use std::sync::Arc;

use s3lite::crypto::MasterKeys;
use s3lite::s3::types::*;
use s3lite::{Client, ExtraArgs, Store, TransferConfig};

const MARKER: &[u8] = b"S3LITE-MPU-CLIENT-MARKER";
const PART: usize = 5 << 20;

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

fn keys() -> (Arc<MasterKeys>, String) {
    let keys = MasterKeys::generate();
    let id = keys.add_named("orders").unwrap();
    (Arc::new(keys), id.to_string())
}

type Reported = (Option<ServerSideEncryption>, Option<String>);

/// A two-part upload of `key` (5 MiB and a small last part), with `sse` on its create request;
/// the encryption each of Create, UploadPart (both), Complete and HEAD reported.
fn two_parts(c: &Client, key: &str, sse: Option<ServerSideEncryption>, kms: Option<&str>) -> Vec<Reported> {
    let mut create = c.create_multipart_upload().bucket("bkt").key(key);
    if let Some(s) = sse {
        create = create.server_side_encryption(s);
    }
    if let Some(k) = kms {
        create = create.ssekms_key_id(k);
    }
    let created = create.send().unwrap().into_output();
    let mut seen = vec![(created.server_side_encryption, created.ssekms_key_id)];
    let mut complete = c.complete_multipart_upload().bucket("bkt").key(key).upload_id(&created.upload_id);
    for (n, body) in [(1, marked(PART)), (2, marked(1000))] {
        let part = c
            .upload_part()
            .bucket("bkt")
            .key(key)
            .upload_id(&created.upload_id)
            .part_number(n)
            .body(body)
            .send()
            .unwrap()
            .into_output();
        seen.push((part.server_side_encryption, part.ssekms_key_id));
        complete = complete.part(n, part.e_tag);
    }
    let done = complete.send().unwrap().into_output();
    seen.push((done.server_side_encryption, done.ssekms_key_id));
    let head = c.head_object().bucket("bkt").key(key).send().unwrap().into_output();
    seen.push((head.server_side_encryption, head.ssekms_key_id));
    let mut got = c.get_object().bucket("bkt").key(key).send().unwrap().into_output();
    assert!(got.body.read_to_vec().unwrap() == [marked(PART), marked(1000)].concat(), "{key}");
    seen
}

fn all(r: Reported) -> Vec<Reported> {
    vec![r; 5]
}

#[test]
fn the_store_default_seals_uploads_that_ask_for_nothing_and_a_store_without_it_does_not() {
    for default in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let (keys, _) = keys();
        let store = Store::builder(dir.path()).key_provider(keys).encrypt_by_default(default).open().unwrap();
        let c = store.client();
        c.create_bucket().bucket("bkt").send().unwrap();
        let seen = two_parts(&c, "k", None, None);
        let want = if default { (Some(ServerSideEncryption::Aes256), None) } else { (None, None) };
        assert_eq!(seen, all(want), "default {default}");
        store.close().unwrap();
        assert_eq!(files_hold(dir.path(), MARKER), !default, "default {default}: plaintext on disk");
    }
}

#[test]
fn a_buckets_default_seals_uploads_and_a_request_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, orders) = keys();
    let store = Store::builder(dir.path()).key_provider(keys).encrypt_by_default(false).open().unwrap();
    let c = store.client();
    c.create_bucket().bucket("bkt").send().unwrap();
    let config = ServerSideEncryptionConfiguration {
        rules: vec![ServerSideEncryptionRule {
            apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                sse_algorithm: ServerSideEncryption::AwsKms,
                kms_master_key_id: Some("orders".into()),
            }),
            bucket_key_enabled: None,
            blocked_encryption_types: None,
        }],
    };
    c.put_bucket_encryption().bucket("bkt").server_side_encryption_configuration(config).send().unwrap();
    let kms = (Some(ServerSideEncryption::AwsKms), Some(orders.clone()));
    assert_eq!(two_parts(&c, "by-default", None, None), all(kms.clone()));
    let s3 = (Some(ServerSideEncryption::Aes256), None);
    assert_eq!(two_parts(&c, "asked", Some(ServerSideEncryption::Aes256), None), all(s3));
    // A KMS key named by its id on the request.
    let by_id = two_parts(&c, "by-id", Some(ServerSideEncryption::AwsKms), Some(&orders));
    assert_eq!(by_id, all(kms));
    store.close().unwrap();
    assert!(!files_hold(dir.path(), MARKER));
}

#[test]
fn unknown_kms_keys_and_key_ids_without_kms_are_refused_at_create() {
    let (keys, _) = keys();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::builder(dir.path()).key_provider(keys).open().unwrap();
    let c = store.client();
    c.create_bucket().bucket("bkt").send().unwrap();
    let e = c
        .create_multipart_upload()
        .bucket("bkt")
        .key("k")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id("no-such-key")
        .send()
        .unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("KMS.NotFoundException", 400), "{e}");
    let e = c.create_multipart_upload().bucket("bkt").key("k").ssekms_key_id("orders").send().unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("InvalidArgument", 400), "{e}");
    let uploads = c.list_multipart_uploads().bucket("bkt").send().unwrap().into_output();
    assert!(uploads.uploads.is_empty(), "nothing was started");
    let plain = Store::open_in_memory().unwrap();
    let c = plain.client();
    c.create_bucket().bucket("bkt").send().unwrap();
    let e = c
        .create_multipart_upload()
        .bucket("bkt")
        .key("k")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .send()
        .unwrap_err();
    assert_eq!(e.http_status(), 500, "a store without keys cannot seal: {e}");
}

/// UploadPartCopy into a sealed upload: the source (sealed under its own key) is read in the
/// clear and the copy sealed as a new part attempt of the target upload.
#[test]
fn upload_part_copy_seals_the_copied_bytes_under_the_target_upload() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, orders) = keys();
    let store = Store::builder(dir.path()).key_provider(keys).open().unwrap();
    let c = store.client();
    c.create_bucket().bucket("bkt").send().unwrap();
    let src = marked(PART + 5000);
    c.put_object().bucket("bkt").key("src").body(src.clone()).send().unwrap();
    let up = c
        .create_multipart_upload()
        .bucket("bkt")
        .key("dst")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id("orders")
        .send()
        .unwrap()
        .into_output()
        .upload_id;
    let mut complete = c.complete_multipart_upload().bucket("bkt").key("dst").upload_id(&up);
    for (n, range) in [(1, format!("bytes=0-{}", PART - 1)), (2, format!("bytes={PART}-{}", PART + 4999))] {
        let copied = c
            .upload_part_copy()
            .bucket("bkt")
            .key("dst")
            .upload_id(&up)
            .part_number(n)
            .copy_source("bkt/src")
            .copy_source_range(range)
            .send()
            .unwrap()
            .into_output();
        assert_eq!(
            (copied.server_side_encryption, copied.ssekms_key_id.as_deref()),
            (Some(ServerSideEncryption::AwsKms), Some(orders.as_str()))
        );
        complete = complete.part(n, copied.copy_part_result.e_tag);
    }
    let done = complete.send().unwrap().into_output();
    assert_eq!(done.server_side_encryption, Some(ServerSideEncryption::AwsKms));
    let mut got = c.get_object().bucket("bkt").key("dst").send().unwrap().into_output();
    assert!(got.body.read_to_vec().unwrap() == src);
    let range = c.get_object().bucket("bkt").key("dst").range(format!("bytes={}-{}", PART - 3, PART + 3));
    let got = range.send().unwrap().into_output().body.read_to_vec().unwrap();
    assert_eq!(got, &src[PART - 3..PART + 4]);
    store.close().unwrap();
    assert!(!files_hold(dir.path(), MARKER));
}

#[test]
fn upload_file_with_extra_args_sse_above_the_threshold_is_a_sealed_multipart_object() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, orders) = keys();
    let store = Store::builder(dir.path().join("store")).key_provider(keys).open().unwrap();
    let resource = store.resource();
    let bucket = resource.create_bucket("bkt", None).unwrap();
    let src = dir.path().join("src.bin");
    let data = marked(11 << 20);
    std::fs::write(&src, &data).unwrap();
    let extra = ExtraArgs {
        server_side_encryption: Some(ServerSideEncryption::AwsKms),
        ssekms_key_id: Some("orders".into()),
        ..ExtraArgs::default()
    };
    let config =
        TransferConfig { multipart_threshold: 6 << 20, multipart_chunksize: PART as u64, max_concurrency: 2 };
    let put = store.client().upload_file_with(&src, "bkt", "big", &extra, &config).unwrap();
    assert!(put.e_tag.ends_with("-3\""), "{}", put.e_tag);
    assert_eq!(
        (put.server_side_encryption, put.ssekms_key_id.as_deref()),
        (Some(ServerSideEncryption::AwsKms), Some(orders.as_str()))
    );
    let object = bucket.object("big");
    assert_eq!(object.server_side_encryption().unwrap().as_deref(), Some("aws:kms"));
    let back = dir.path().join("back.bin");
    object.download_file(&back).unwrap();
    assert!(std::fs::read(&back).unwrap() == data);
    // The resource layer's upload_file takes the same ExtraArgs (default TransferConfig: 8 MiB).
    let object = bucket
        .upload_file(
            &src,
            "big2",
            &ExtraArgs { server_side_encryption: Some(ServerSideEncryption::Aes256), ..ExtraArgs::default() },
        )
        .unwrap();
    assert_eq!(object.server_side_encryption().unwrap().as_deref(), Some("AES256"));
    assert!(object.e_tag().unwrap().ends_with("-2\""));
    store.close().unwrap();
    assert!(!files_hold(&dir.path().join("store"), MARKER));
}
