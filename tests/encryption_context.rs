//! SSE-KMS encryption context (`x-amz-server-side-encryption-context`): taken with `aws:kms` on
//! PutObject, CopyObject and CreateMultipartUpload, reported back as S3 reports it, bound to the
//! data key's wrap (the envelope does not unwrap under the same associated data without it), kept
//! through a rewrap to another key and the retirement of the first; malformed contexts and
//! contexts without `aws:kms` are refused with nothing stored.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use s3lite::crypto::{
    EncryptionContext, Envelope, KeyProvider, MasterKeys, bind_context, body_aad, wrap_aad,
};
use s3lite::format::meta::ObjectMeta;
use s3lite::format::record::{RecordKind, decode_record};
use s3lite::format::segment_header::SegmentHeader;
use s3lite::s3::types::*;
use s3lite::segment::scan::{SegmentState, scan_segment};
use s3lite::{Client, Store};

fn context_header(json: &str) -> String {
    B64.encode(json)
}

fn setup(dir: &Path) -> (Arc<MasterKeys>, Store, Client) {
    let keys = MasterKeys::generate();
    keys.add_named("orders").unwrap();
    keys.add_named("billing").unwrap();
    let keys = Arc::new(keys);
    let store = Store::builder(dir.join("store")).key_provider(keys.clone()).open().unwrap();
    let c = store.client();
    c.create_bucket().bucket("bkt").send().unwrap();
    (keys, store, c)
}

fn get(c: &Client, key: &str) -> s3lite::Result<Vec<u8>> {
    let out = c.get_object().bucket("bkt").key(key).send()?;
    out.into_output().body.read_to_vec()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out
}

/// `key`'s commit record's meta, its bucket and version, and the store's uuid.
fn commit_of(dir: &Path, key: &str) -> (ObjectMeta, u64, [u8; 16], [u8; 16]) {
    let mut found = None;
    for f in files_under(dir) {
        let bytes = std::fs::read(&f).unwrap();
        let Ok(h) = SegmentHeader::decode(&bytes) else { continue };
        for r in scan_segment(&bytes, SegmentState::Active, true).records {
            if r.key == key.as_bytes() && r.header.kind == RecordKind::ObjectCommit {
                let rec = &bytes[r.offset as usize..(r.offset + r.header.record_len()) as usize];
                let meta = ObjectMeta::decode(decode_record(rec).unwrap().meta).unwrap();
                found = Some((meta, r.header.bucket_id, r.header.version_id, h.store_uuid));
            }
        }
    }
    found.expect("a commit record")
}

#[test]
fn a_kms_put_with_a_context_reports_it_binds_it_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, _store, c) = setup(dir.path());
    let header = context_header(r#"{"project":"apollo","team":"data"}"#);
    let body = vec![7u8; 200_000];
    let put = c
        .put_object()
        .bucket("bkt")
        .key("k")
        .body(body.clone())
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id("orders")
        .ssekms_encryption_context(header.clone())
        .send()
        .unwrap()
        .into_output();
    assert_eq!(put.ssekms_encryption_context.as_deref(), Some(header.as_str()), "keys in order, as sent");
    assert_eq!(get(&c, "k").unwrap(), body);
    // The wrap binds the context: the master key opens the envelope under the associated data
    // with the context, and not without it.
    let (meta, bucket, version, uuid) = commit_of(dir.path(), "k");
    let stored = meta.kms_context.clone().expect("the context is kept in the commit record");
    let want = EncryptionContext::new([("project".into(), "apollo".into()), ("team".into(), "data".into())]);
    assert_eq!(EncryptionContext::decode(&stored), Some(want));
    let env = Envelope::decode(meta.envelope.as_deref().unwrap()).unwrap();
    let base = body_aad(&uuid, bucket, b"k", &version, env.chunk_bytes() as u32);
    let mut with = wrap_aad(&base, env.plaintext_len, &env.nonce_prefix, env.mode);
    let without = with.clone();
    bind_context(&mut with, Some(&stored));
    assert!(keys.unwrap(env.key_id, &env.wrapped, &with).is_ok());
    assert!(keys.unwrap(env.key_id, &env.wrapped, &without).is_err(), "the context is not bound");
    // Key order in the header does not matter; the report is canonical.
    let reordered = c
        .put_object()
        .bucket("bkt")
        .key("k2")
        .body(b"x".to_vec())
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_encryption_context(context_header(r#"{"team":"data","project":"apollo"}"#))
        .send()
        .unwrap()
        .into_output();
    assert_eq!(reordered.ssekms_encryption_context.as_deref(), Some(header.as_str()));
    // A put without one reports none.
    let plain = c
        .put_object()
        .bucket("bkt")
        .key("k3")
        .body(b"x".to_vec())
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .send()
        .unwrap()
        .into_output();
    assert_eq!(plain.ssekms_encryption_context, None);
}

#[test]
fn malformed_contexts_and_contexts_without_kms_are_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (_keys, _store, c) = setup(dir.path());
    let good = context_header(r#"{"a":"b"}"#);
    let cases: [(Option<ServerSideEncryption>, String); 6] = [
        (Some(ServerSideEncryption::AwsKms), "not base64!".into()),
        (Some(ServerSideEncryption::AwsKms), context_header("[1,2]")),
        (Some(ServerSideEncryption::AwsKms), context_header(r#"{"a":1}"#)),
        (Some(ServerSideEncryption::AwsKms), B64.encode([0xff, 0xfe])),
        (Some(ServerSideEncryption::Aes256), good.clone()),
        (None, good.clone()),
    ];
    for (sse, ctx) in cases {
        let mut put =
            c.put_object().bucket("bkt").key("k").body(b"x".to_vec()).ssekms_encryption_context(ctx.clone());
        if let Some(s) = sse {
            put = put.server_side_encryption(s);
        }
        let e = put.send().unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("InvalidArgument", 400), "{sse:?} {ctx}: {e}");
        let mut create =
            c.create_multipart_upload().bucket("bkt").key("k").ssekms_encryption_context(ctx.clone());
        if let Some(s) = sse {
            create = create.server_side_encryption(s);
        }
        assert_eq!(create.send().unwrap_err().code(), "InvalidArgument", "{sse:?} {ctx}");
    }
    assert_eq!(get(&c, "k").unwrap_err().code(), "NoSuchKey");
    let uploads = c.list_multipart_uploads().bucket("bkt").send().unwrap().into_output();
    assert!(uploads.uploads.is_empty());
}

#[test]
fn copies_and_multipart_uploads_take_a_context_and_it_survives_a_rewrap_and_retirement() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, store, c) = setup(dir.path());
    let header = context_header(r#"{"x":"1"}"#);
    let kms = |b: s3lite::api::client::PutObjectBuilder| {
        b.server_side_encryption(ServerSideEncryption::AwsKms).ssekms_key_id("orders")
    };
    kms(c.put_object().bucket("bkt").key("src").body(vec![1u8; 90_000]))
        .ssekms_encryption_context(header.clone())
        .send()
        .unwrap();
    // A copy does not carry the source's context over; one sent with it is the copy's.
    let copy = c
        .copy_object()
        .bucket("bkt")
        .key("copied")
        .copy_source("bkt/src")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id("orders")
        .ssekms_encryption_context(header.clone())
        .send()
        .unwrap()
        .into_output();
    assert_eq!(copy.ssekms_encryption_context.as_deref(), Some(header.as_str()));
    let bare = c.copy_object().bucket("bkt").key("bare").copy_source("bkt/src").send().unwrap().into_output();
    assert_eq!(bare.ssekms_encryption_context, None);
    // A multipart upload under a context: the start record and the object bind it.
    let create = c
        .create_multipart_upload()
        .bucket("bkt")
        .key("mp")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id("orders")
        .ssekms_encryption_context(header.clone())
        .send()
        .unwrap()
        .into_output();
    assert_eq!(create.ssekms_encryption_context.as_deref(), Some(header.as_str()));
    let part = |n: i32, len: usize| {
        c.upload_part()
            .bucket("bkt")
            .key("mp")
            .upload_id(&create.upload_id)
            .part_number(n)
            .body(vec![n as u8; len])
            .send()
            .unwrap()
            .into_output()
            .e_tag
    };
    let e1 = part(1, 5 << 20);
    // An upload still open when the key is rewrapped: its start record's wrap (with the
    // context) is rewrapped too.
    let open = c
        .create_multipart_upload()
        .bucket("bkt")
        .key("open")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id("orders")
        .ssekms_encryption_context(header.clone())
        .send()
        .unwrap()
        .into_output();
    let e2 = part(2, 1000);
    c.complete_multipart_upload()
        .bucket("bkt")
        .key("mp")
        .upload_id(&create.upload_id)
        .part(1, e1)
        .part(2, e2)
        .send()
        .unwrap();
    let mp = [vec![1u8; 5 << 20], vec![2u8; 1000]].concat();
    assert!(get(&c, "mp").unwrap() == mp);
    let orders = keys.named_key("orders").unwrap();
    let billing = keys.named_key("billing").unwrap();
    let report = store.rewrap_to(orders, billing).unwrap();
    assert_eq!((report.versions_left, report.uploads_left), (0, 0), "{report:?}");
    assert!(report.versions_rewrapped >= 3 && report.uploads_rewrapped == 1, "{report:?}");
    store.retire_key(orders).unwrap();
    assert_eq!(get(&c, "src").unwrap(), vec![1u8; 90_000]);
    assert_eq!(get(&c, "copied").unwrap(), vec![1u8; 90_000]);
    assert!(get(&c, "mp").unwrap() == mp);
    let e = c
        .upload_part()
        .bucket("bkt")
        .key("open")
        .upload_id(&open.upload_id)
        .part_number(1)
        .body(vec![9u8; 10])
        .send()
        .unwrap()
        .into_output()
        .e_tag;
    c.complete_multipart_upload()
        .bucket("bkt")
        .key("open")
        .upload_id(&open.upload_id)
        .part(1, e)
        .send()
        .unwrap();
    assert_eq!(get(&c, "open").unwrap(), vec![9u8; 10]);
}
