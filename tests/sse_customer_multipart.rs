//! SSE-C multipart uploads: the engine's round trip of a three-part upload sealed under the
//! caller's key (in a store with no key provider), read whole and by ranges across part
//! boundaries, after a part was uploaded again and after a reopen, with no file holding the
//! plaintext, the customer key, its MD5, the upload's data key or any part key; and through the
//! S3 layer, S3's refusals (a part without the key, with another key, with a bad MD5, a key sent
//! to an upload in the clear, reads without or with another key, a blocked bucket, a store whose
//! sealed records would not fit), each with S3's code and status and nothing stored changed, and
//! UploadPartCopy from an SSE-C source into an SSE-C and an SSE-S3 upload.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use s3lite::crypto::keys::unwrap_with;
use s3lite::crypto::parts::{derive_part_key, upload_aad};
use s3lite::crypto::{CustomerKey, Envelope, KeyId, MasterKeys, SseMode, wrap_aad};
use s3lite::format::meta::ObjectMeta;
use s3lite::format::record::{RecordKind, decode_header, decode_record};
use s3lite::format::segment_header::{SEGMENT_HEADER_BYTES, SegmentHeader};
use s3lite::s3::multipart::{CreateMultipartUploadOutput, UploadPartOutput};
use s3lite::s3::types::*;
use s3lite::{
    BucketId, ByteRange, Client, CompleteOptions, CompletedMultipartUpload, CompletedPart, Encryption,
    EncryptionType, GetOptions, PartOptions, Store, UploadOptions,
};

const MARKER: &[u8; 16] = b"S3LITE-SSECMPU!!";
const MIB: usize = 1 << 20;

/// `len` bytes of the marker with a counter and a tag, so that parts and ranges are told apart.
fn marked(tag: u8, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 24);
    let mut i = 0u32;
    while v.len() < len {
        v.extend_from_slice(MARKER);
        v.push(tag);
        v.extend_from_slice(&i.to_le_bytes());
        i += 1;
    }
    v.truncate(len);
    v
}

/// A key with no run of equal bytes, so that finding it in a file is not a coincidence.
fn key_bytes(seed: u8) -> [u8; 32] {
    std::array::from_fn(|i| (i as u8).wrapping_mul(41).wrapping_add(seed))
}

fn customer(seed: u8) -> CustomerKey {
    CustomerKey::from_bytes(key_bytes(seed))
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn read(store: &Store, b: BucketId, key: &str, ck: &CustomerKey, range: Option<(usize, usize)>) -> Vec<u8> {
    let range = range.map(|(s, e)| ByteRange::Inclusive(s as u64, e as u64 - 1));
    let opts = GetOptions { range, customer_key: Some(ck.clone()), ..GetOptions::default() };
    let (_, mut r) = store.get(b, key, &opts).unwrap();
    r.read_to_vec().unwrap()
}

/// The upload's data key and every part attempt's key, recovered as someone holding the files and
/// the customer key would: the start record's envelope unwraps under the key with the upload's
/// associated data, and each part record's salt derives its part key.
fn recover_keys(root: &Path, bucket: BucketId, key: &str, ck: &CustomerKey) -> Vec<[u8; 32]> {
    let mut dek = None;
    let mut salts = Vec::new();
    for f in files_under(root).into_iter().filter(|p| p.extension().is_some_and(|e| e == "seg")) {
        let bytes = std::fs::read(&f).unwrap();
        let uuid = SegmentHeader::decode(&bytes[..SEGMENT_HEADER_BYTES]).unwrap().store_uuid;
        let mut at = 4096;
        while let Some(h) = bytes.get(at..).and_then(|b| decode_header(b).ok()) {
            let len = h.record_len() as usize;
            if len == 0 || at + len > bytes.len() {
                break;
            }
            let rec = decode_record(&bytes[at..at + len]).unwrap();
            at += len;
            if rec.key != key.as_bytes() {
                continue;
            }
            let meta = ObjectMeta::decode(rec.meta).unwrap();
            match rec.header.kind {
                RecordKind::MultipartStart => {
                    let env = Envelope::decode(meta.envelope.as_deref().expect("sealed upload")).unwrap();
                    assert_eq!((env.mode, env.key_id), (SseMode::Customer, KeyId([0; 16])));
                    assert!(env.customer_key_mac.is_some(), "the upload keeps the key's salted HMAC");
                    let aad = upload_aad(&uuid, bucket.0, key.as_bytes(), &rec.header.version_id, 65_536);
                    let wrap = wrap_aad(&aad, 0, &env.nonce_prefix, env.mode);
                    let found = unwrap_with(ck.bytes(), &env.wrapped, &wrap).expect("opens under the key");
                    assert!(unwrap_with(&key_bytes(222), &env.wrapped, &wrap).is_none());
                    dek = Some(found);
                }
                RecordKind::MultipartPart => {
                    salts.push((rec.header.chunk_index, meta.part_salt.expect("a sealed part's salt")));
                }
                _ => {}
            }
        }
    }
    let dek = dek.expect("a start record of the upload");
    let mut keys = vec![*dek.bytes()];
    keys.extend(salts.iter().map(|(n, salt)| *derive_part_key(&dek, salt, *n).0.bytes()));
    keys
}

#[test]
fn a_three_part_sse_c_upload_reads_back_across_part_boundaries_and_no_file_holds_plaintext_or_keys() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    // No key provider: the customer's key is the only key involved.
    let store = Store::builder(&root).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let ck = customer(7);
    let opts =
        UploadOptions { encryption: Some(Encryption::Customer { key: ck.clone() }), ..Default::default() };
    let started = store.create_upload(b, "obj", &opts).unwrap();
    let enc = started.encryption.expect("sealed");
    assert_eq!((enc.mode, enc.key_id), (SseMode::Customer, KeyId([0; 16])));
    assert!(enc.customer_key_mac.expect("a key MAC").matches(&ck));
    let up = started.upload_id;
    let (p1, p2, p3) = (marked(1, 5 * MIB), marked(2, 5 * MIB + 3), marked(3, MIB - 5));
    let with_key = PartOptions { customer_key: Some(ck.clone()), ..PartOptions::default() };
    // Part 2 first with other bytes, then again: the last attempt is the one completed.
    for (n, body) in [(2, &marked(9, 300_000)), (1, &p1), (3, &p3), (2, &p2)] {
        store.upload_part(b, "obj", &up, n, &body[..], &with_key).unwrap();
    }
    // The completion sends no key (S3 does not ask for one).
    let done =
        store.complete_upload(b, "obj", &up, &[(1, None), (2, None), (3, None)], &CompleteOptions::default());
    let done = done.unwrap();
    assert!(done.e_tag.ends_with("-3\""), "{}", done.e_tag);
    let whole = [&p1[..], &p2, &p3].concat();
    assert_eq!(done.size, whole.len() as u64);
    let (b1, b2) = (p1.len(), p1.len() + p2.len());
    let check = |store: &Store, ctx: &str| {
        assert!(read(store, b, "obj", &ck, None) == whole, "{ctx}: whole");
        for (s, e) in [
            (0, 1),
            (b1 - 10, b1 + 10),
            (b1 - 1, b1),
            (b1, b1 + 1),
            (b1 - 65_536, b2 + 65_537),
            (b2 - 1, b2 + 1),
            (b2 - 70_000, whole.len()),
            (whole.len() - 1, whole.len()),
        ] {
            assert!(read(store, b, "obj", &ck, Some((s, e))) == whole[s..e], "{ctx}: {s}..{e}");
        }
        let head = store.head(b, "obj", None).unwrap();
        assert_eq!((head.size, head.e_tag.as_str()), (whole.len() as u64, done.e_tag.as_str()));
        let enc = head.encryption.clone().expect("sealed");
        assert_eq!(enc.mode, SseMode::Customer);
        assert!(enc.customer_key_mac.expect("a key MAC").matches(&ck), "{ctx}");
        head.check_customer_key("bkt", Some(&ck)).unwrap();
        assert_eq!(head.check_customer_key("bkt", None).unwrap_err().code(), "InvalidRequest");
        let e = head.check_customer_key("bkt", Some(&customer(8))).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("AccessDenied", 403));
        // The engine's get refuses as S3 does, before any byte.
        let e = store.get(b, "obj", &GetOptions::default()).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("InvalidRequest", 400), "{ctx}");
        let other = GetOptions { customer_key: Some(customer(8)), ..GetOptions::default() };
        let e = store.get(b, "obj", &other).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("AccessDenied", 403), "{ctx}");
    };
    check(&store, "written");
    store.close().unwrap();
    let store = Store::builder(&root).open().unwrap();
    check(&store, "reopened");
    store.close().unwrap();
    let keys = recover_keys(&root, b, "obj", &ck);
    assert_eq!(keys.len(), 5, "the upload key and four part attempts' keys");
    let mut unique = keys.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "a part key repeated: the re-upload reused a key");
    for f in files_under(&root) {
        let bytes = std::fs::read(&f).unwrap();
        let name = f.display();
        assert!(!contains(&bytes, MARKER), "{name} holds plaintext");
        assert!(!contains(&bytes, ck.bytes()), "{name} holds the customer key");
        assert!(!contains(&bytes, &ck.md5()), "{name} holds the customer key's MD5");
        for k in &keys {
            assert!(!contains(&bytes, k), "{name} holds a data or part key");
        }
    }
}

fn key_headers(seed: u8) -> (String, SseCustomerKey, String) {
    let k = key_bytes(seed);
    (SSE_CUSTOMER_ALGORITHM.to_owned(), SseCustomerKey::of_bytes(&k), sse_customer_key_md5(&k))
}

/// An SSE-S3 default whose rule blocks `blocked`.
fn blocking(blocked: Vec<EncryptionType>) -> ServerSideEncryptionConfiguration {
    ServerSideEncryptionConfiguration {
        rules: vec![ServerSideEncryptionRule {
            apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                sse_algorithm: ServerSideEncryption::Aes256,
                kms_master_key_id: None,
            }),
            bucket_key_enabled: None,
            blocked_encryption_types: Some(blocked),
        }],
    }
}

fn set_blocked(client: &Client, bucket: &str, blocked: Vec<EncryptionType>) {
    client
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(blocking(blocked))
        .send()
        .unwrap();
}

/// A store with keys that seals by default, with bucket `bkt` letting SSE-C in.
fn s3_store() -> Store {
    let store = Store::in_memory_builder().key_provider(Arc::new(MasterKeys::generate())).open().unwrap();
    let client = store.client();
    client.create_bucket().bucket("bkt").send().unwrap();
    set_blocked(&client, "bkt", vec![EncryptionType::None]);
    store
}

fn create(client: &Client, key: &str, seed: Option<u8>) -> s3lite::Result<CreateMultipartUploadOutput> {
    let mut c = client.create_multipart_upload().bucket("bkt").key(key);
    if let Some(seed) = seed {
        let (a, k, m) = key_headers(seed);
        c = c.sse_customer_algorithm(a).sse_customer_key(k).sse_customer_key_md5(m);
    }
    c.send().map(s3lite::Response::into_output)
}

/// UploadPart of `body` with the key of `seed` (or none), or with `md5` in place of the key's MD5.
fn part(
    client: &Client,
    key: &str,
    up: &str,
    n: i32,
    body: &[u8],
    seed: Option<u8>,
    md5: Option<&str>,
) -> s3lite::Result<UploadPartOutput> {
    let mut p = client.upload_part().bucket("bkt").key(key).upload_id(up).part_number(n).body(body.to_vec());
    if let Some(seed) = seed {
        let (a, k, m) = key_headers(seed);
        p = p
            .sse_customer_algorithm(a)
            .sse_customer_key(k)
            .sse_customer_key_md5(md5.map_or(m, str::to_owned));
    }
    p.send().map(s3lite::Response::into_output)
}

fn get(client: &Client, key: &str, seed: Option<u8>, range: Option<&str>) -> s3lite::Result<Vec<u8>> {
    let mut g = client.get_object().bucket("bkt").key(key);
    if let Some(seed) = seed {
        let (a, k, m) = key_headers(seed);
        g = g.sse_customer_algorithm(a).sse_customer_key(k).sse_customer_key_md5(m);
    }
    if let Some(r) = range {
        g = g.range(r);
    }
    g.send()?.body.read_to_vec()
}

/// The parts ListParts shows (number, ETag, size): what a refused request must leave as it was.
fn listed(client: &Client, key: &str, up: &str) -> Vec<(i32, String, u64)> {
    let out = client.list_parts().bucket("bkt").key(key).upload_id(up).send().unwrap().into_output();
    out.parts.iter().map(|p| (p.part_number, p.e_tag.clone(), p.size)).collect()
}

#[test]
fn every_refusal_of_an_sse_c_upload_is_s3s_and_changes_nothing() {
    let store = s3_store();
    let client = store.client();
    let created = create(&client, "k", Some(1)).unwrap();
    let md5_1 = key_headers(1).2;
    assert_eq!(
        (created.sse_customer_algorithm.as_deref(), created.sse_customer_key_md5.as_deref()),
        (Some("AES256"), Some(md5_1.as_str()))
    );
    assert_eq!(created.server_side_encryption, None, "the store's default does not replace SSE-C");
    let up = created.upload_id;
    let (p1, p2) = (marked(1, 5 * MIB), marked(2, 100_000));
    let out = part(&client, "k", &up, 1, &p1, Some(1), None).unwrap();
    assert_eq!(
        (out.sse_customer_algorithm.as_deref(), out.sse_customer_key_md5.as_deref()),
        (Some("AES256"), Some(md5_1.as_str()))
    );
    let before = listed(&client, "k", &up);
    assert_eq!(before.len(), 1);
    let missing = part(&client, "k", &up, 2, &p2, None, None).unwrap_err();
    assert_eq!((missing.code(), missing.http_status()), ("InvalidRequest", 400), "{missing}");
    assert!(
        missing.to_string().contains(
            "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters."
        ),
        "{missing}"
    );
    let wrong = part(&client, "k", &up, 2, &p2, Some(2), None).unwrap_err();
    assert_eq!((wrong.code(), wrong.http_status()), ("InvalidRequest", 400), "{wrong}");
    assert!(
        wrong
            .to_string()
            .contains("The provided encryption parameters did not match the ones used originally."),
        "{wrong}"
    );
    let md5_2 = key_headers(2).2;
    let bad_md5 = part(&client, "k", &up, 2, &p2, Some(1), Some(&md5_2)).unwrap_err();
    assert_eq!((bad_md5.code(), bad_md5.http_status()), ("InvalidArgument", 400), "{bad_md5}");
    assert!(bad_md5.to_string().contains("x-amz-server-side-encryption-customer-key-MD5"), "{bad_md5}");
    // Part 1 uploaded again under another key: refused, the first attempt stays.
    let again = part(&client, "k", &up, 1, &p2, Some(2), None).unwrap_err();
    assert_eq!(again.code(), "InvalidRequest");
    assert_eq!(listed(&client, "k", &up), before, "no refused part was stored");
    // A key sent to an upload in the clear (here sealed by the store's SSE-S3 default).
    let plain = create(&client, "plain", None).unwrap();
    assert_eq!(plain.server_side_encryption, Some(ServerSideEncryption::Aes256));
    let e = part(&client, "plain", &plain.upload_id, 1, &p2, Some(1), None).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("InvalidRequest", 400), "{e}");
    assert!(listed(&client, "plain", &plain.upload_id).is_empty());
    client.abort_multipart_upload().bucket("bkt").key("plain").upload_id(&plain.upload_id).send().unwrap();
    // The right key again: accepted.
    let out2 = part(&client, "k", &up, 2, &p2, Some(1), None).unwrap();
    let complete = || {
        client
            .complete_multipart_upload()
            .bucket("bkt")
            .key("k")
            .upload_id(&up)
            .part(1, before[0].1.clone())
            .part(2, out2.e_tag.clone())
    };
    // A completion may send the key; another key is refused and completes nothing.
    let (a, k, m) = key_headers(2);
    let e =
        complete().sse_customer_algorithm(a).sse_customer_key(k).sse_customer_key_md5(m).send().unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("InvalidRequest", 400), "{e}");
    assert_eq!(get(&client, "k", Some(1), None).unwrap_err().code(), "NoSuchKey");
    assert_eq!(listed(&client, "k", &up).len(), 2, "the upload is still in progress");
    let done = complete().send().unwrap().into_output();
    assert!(done.e_tag.ends_with("-2\""), "{}", done.e_tag);
    assert_eq!(done.server_side_encryption, None);
    let whole = [&p1[..], &p2].concat();
    assert!(get(&client, "k", Some(1), None).unwrap() == whole);
    let span = format!("bytes={}-{}", 5 * MIB - 7, 5 * MIB + 7);
    assert_eq!(get(&client, "k", Some(1), Some(&span)).unwrap(), &whole[5 * MIB - 7..=5 * MIB + 7]);
    let e = get(&client, "k", None, None).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("InvalidRequest", 400), "{e}");
    let e = get(&client, "k", Some(2), None).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("AccessDenied", 403), "{e}");
    let head = |seed: Option<u8>| {
        let mut h = client.head_object().bucket("bkt").key("k");
        if let Some(seed) = seed {
            let (a, k, m) = key_headers(seed);
            h = h.sse_customer_algorithm(a).sse_customer_key(k).sse_customer_key_md5(m);
        }
        h.send().map(s3lite::Response::into_output)
    };
    let h = head(Some(1)).unwrap();
    assert_eq!(
        (h.content_length, h.sse_customer_algorithm.as_deref(), h.sse_customer_key_md5.as_deref()),
        (whole.len() as u64, Some("AES256"), Some(md5_1.as_str()))
    );
    assert_eq!(head(None).unwrap_err().http_status(), 400);
    assert_eq!(head(Some(2)).unwrap_err().http_status(), 403);
    // ListParts and AbortMultipartUpload of an SSE-C upload need no key.
    let other = create(&client, "other", Some(3)).unwrap().upload_id;
    part(&client, "other", &other, 1, b"x", Some(3), None).unwrap();
    assert_eq!(listed(&client, "other", &other).len(), 1);
    client.abort_multipart_upload().bucket("bkt").key("other").upload_id(&other).send().unwrap();
    let e = part(&client, "other", &other, 2, b"x", Some(3), None).unwrap_err();
    assert_eq!(e.code(), "NoSuchUpload");
}

#[test]
fn blocked_buckets_and_stores_whose_sealed_records_would_not_fit_refuse_sse_c_uploads_as_puts() {
    // A store that encrypts by default blocks SSE-C on a new bucket (S3 since April 2026).
    let store = Store::in_memory_builder().key_provider(Arc::new(MasterKeys::generate())).open().unwrap();
    let client = store.client();
    client.create_bucket().bucket("bkt").send().unwrap();
    let uploads = |client: &Client| {
        client.list_multipart_uploads().bucket("bkt").send().unwrap().into_output().uploads.len()
    };
    let e = create(&client, "k", Some(1)).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("AccessDenied", 403), "{e}");
    assert_eq!(uploads(&client), 0, "nothing was started");
    set_blocked(&client, "bkt", vec![EncryptionType::None]);
    let up = create(&client, "k", Some(1)).unwrap().upload_id;
    part(&client, "k", &up, 1, b"first", Some(1), None).unwrap();
    // Blocked again: parts sealed under a customer key are writes, and are refused.
    set_blocked(&client, "bkt", vec![EncryptionType::SseC]);
    let before = listed(&client, "k", &up);
    let e = part(&client, "k", &up, 2, b"second", Some(1), None).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("AccessDenied", 403), "{e}");
    assert_eq!(listed(&client, "k", &up), before);
    assert_eq!(uploads(&client), 1);
    // A store without keys takes SSE-C uploads unless its sealed records would pass the record
    // limit, the put's refusal.
    let store = Store::in_memory_builder().chunk_bytes(64 << 20).open().unwrap();
    let client = store.client();
    client.create_bucket().bucket("bkt").send().unwrap();
    let e = create(&client, "k", Some(1)).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("InvalidRequest", 400), "{e}");
    assert!(e.to_string().contains("chunk_bytes (67108864)"), "{e}");
    assert_eq!(uploads(&client), 0);
    let e = client
        .put_object()
        .bucket("bkt")
        .key("k")
        .body(b"x".to_vec())
        .sse_customer_algorithm(key_headers(1).0)
        .sse_customer_key(key_headers(1).1)
        .sse_customer_key_md5(key_headers(1).2)
        .send()
        .unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("InvalidRequest", 400), "as the single put: {e}");
    let store = Store::in_memory_builder().open().unwrap();
    let client = store.client();
    client.create_bucket().bucket("bkt").send().unwrap();
    let up = create(&client, "k", Some(1)).unwrap().upload_id;
    let e = part(&client, "k", &up, 1, b"x", None, None).unwrap_err();
    assert_eq!(e.code(), "InvalidRequest");
    let p = part(&client, "k", &up, 1, b"keyless", Some(1), None).unwrap();
    client.complete_multipart_upload().bucket("bkt").key("k").upload_id(&up).part(1, p.e_tag).send().unwrap();
    assert_eq!(get(&client, "k", Some(1), None).unwrap(), b"keyless");
}

#[test]
fn upload_part_copy_reads_an_sse_c_source_with_its_copy_source_key_into_sse_c_and_sse_s3_uploads() {
    let store = s3_store();
    let client = store.client();
    let source = marked(5, 300_000);
    let (a, k, m) = key_headers(1);
    client
        .put_object()
        .bucket("bkt")
        .key("src")
        .body(source.clone())
        .sse_customer_algorithm(a)
        .sse_customer_key(k)
        .sse_customer_key_md5(m)
        .send()
        .unwrap();
    let copy = |up: &str, key: &str, n: i32, src_seed: Option<u8>, dst_seed: Option<u8>| {
        let mut c = client
            .upload_part_copy()
            .bucket("bkt")
            .key(key)
            .upload_id(up)
            .part_number(n)
            .copy_source("bkt/src")
            .copy_source_range("bytes=1000-200999");
        if let Some(seed) = src_seed {
            let (a, k, m) = key_headers(seed);
            c = c
                .copy_source_sse_customer_algorithm(a)
                .copy_source_sse_customer_key(k)
                .copy_source_sse_customer_key_md5(m);
        }
        if let Some(seed) = dst_seed {
            let (a, k, m) = key_headers(seed);
            c = c.sse_customer_algorithm(a).sse_customer_key(k).sse_customer_key_md5(m);
        }
        c.send().map(s3lite::Response::into_output)
    };
    let range = &source[1000..201_000];
    // Into an SSE-C upload under another key than the source's.
    let up = create(&client, "dst", Some(2)).unwrap().upload_id;
    for (src, dst, code, status) in [
        (None, Some(2), "InvalidRequest", 400),    // the source needs its key
        (Some(3), Some(2), "AccessDenied", 403),   // another source key
        (Some(1), None, "InvalidRequest", 400),    // the destination upload needs its key
        (Some(1), Some(1), "InvalidRequest", 400), // another destination key
    ] {
        let e = copy(&up, "dst", 1, src, dst).unwrap_err();
        assert_eq!((e.code(), e.http_status()), (code, status), "{src:?} {dst:?}: {e}");
        assert!(listed(&client, "dst", &up).is_empty(), "{src:?} {dst:?}");
    }
    let out = copy(&up, "dst", 1, Some(1), Some(2)).unwrap();
    let md5_2 = key_headers(2).2;
    assert_eq!(
        (out.sse_customer_algorithm.as_deref(), out.sse_customer_key_md5.as_deref()),
        (Some("AES256"), Some(md5_2.as_str()))
    );
    let e_tag = out.copy_part_result.e_tag;
    client.complete_multipart_upload().bucket("bkt").key("dst").upload_id(&up).part(1, e_tag).send().unwrap();
    assert_eq!(get(&client, "dst", Some(2), None).unwrap(), range);
    assert_eq!(get(&client, "dst", Some(1), None).unwrap_err().code(), "AccessDenied");
    // Into an SSE-S3 upload: the source's key only; the part is sealed as the upload is.
    let up = client
        .create_multipart_upload()
        .bucket("bkt")
        .key("s3")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .send()
        .unwrap()
        .into_output()
        .upload_id;
    let e = copy(&up, "s3", 1, Some(1), Some(1)).unwrap_err();
    assert_eq!(e.code(), "InvalidRequest", "a destination key for an upload not under one: {e}");
    let out = copy(&up, "s3", 1, Some(1), None).unwrap();
    assert_eq!(
        (out.server_side_encryption, out.sse_customer_algorithm),
        (Some(ServerSideEncryption::Aes256), None)
    );
    client
        .complete_multipart_upload()
        .bucket("bkt")
        .key("s3")
        .upload_id(&up)
        .multipart_upload(CompletedMultipartUpload {
            parts: vec![CompletedPart::new(1, out.copy_part_result.e_tag)],
        })
        .send()
        .unwrap();
    assert_eq!(get(&client, "s3", None, None).unwrap(), range);
}
