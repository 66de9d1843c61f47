//! SSE-C (customer-provided keys) through the engine's public API: round trips of every size and
//! range under the caller's key, in a store with no key provider; no file holds the body, the
//! customer key, its MD5 or the version's data key (which the test recovers by unwrapping the
//! stored envelope under the customer key, so it knows what to look for); and the refusals of a
//! missing key, a wrong key and a key sent for a version not sealed under one, with nothing stored
//! changed. The S3-layer headers are in `tests/sse_customer_s3.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use s3lite::crypto::keys::unwrap_with;
use s3lite::crypto::{CustomerKey, Envelope, KeyId, KeyProvider, MasterKeys, SseMode, body_aad, wrap_aad};
use s3lite::format::segment_header::{SEGMENT_HEADER_BYTES, SegmentHeader};
use s3lite::{ByteRange, Encryption, Error, GetOptions, NewVersion, PutOptions, Store};

const MARKER: &[u8; 16] = b"S3LITE-SSEC-MARK";

/// `len` bytes of the marker repeated, with a counter so that ranges are told apart.
fn marked(len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 20);
    let mut i = 0u32;
    while v.len() < len {
        v.extend_from_slice(MARKER);
        v.extend_from_slice(&i.to_le_bytes());
        i += 1;
    }
    v.truncate(len);
    v
}

/// A key with no run of equal bytes, so that finding it in a file is not a coincidence of padding.
fn key_bytes(seed: u8) -> [u8; 32] {
    std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(seed))
}

fn customer(seed: u8) -> CustomerKey {
    CustomerKey::from_bytes(key_bytes(seed))
}

fn sealed_under(key: &CustomerKey) -> PutOptions {
    PutOptions { encryption: Some(Encryption::Customer { key: key.clone() }), ..PutOptions::default() }
}

fn with_key(key: &CustomerKey) -> GetOptions {
    GetOptions { customer_key: Some(key.clone()), ..GetOptions::default() }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

const SIZES: [usize; 8] = [0, 1, 15, 65_536, 65_537, 300_000, 1 << 20, (8 << 20) + 70_000];

/// The data key of `key`'s current version, found the way an attacker holding the files and the
/// customer key would: the envelope ends with the salted HMAC the head reports, and unwraps under
/// the customer key with the associated data of the version's place.
fn recover_data_key(
    root: &Path,
    store: &Store,
    bucket: s3lite::BucketId,
    key: &str,
    ck: &CustomerKey,
) -> [u8; 32] {
    let info = store.head(bucket, key, None).unwrap();
    let mac = info.encryption.as_ref().and_then(|e| e.customer_key_mac).expect("an SSE-C version");
    let tail = [&mac.salt[..], &mac.mac[..]].concat();
    for f in files_under(root).into_iter().filter(|p| p.to_string_lossy().ends_with(".seg")) {
        let bytes = std::fs::read(&f).unwrap();
        let uuid = SegmentHeader::decode(&bytes[..SEGMENT_HEADER_BYTES]).unwrap().store_uuid;
        let ends =
            bytes.windows(tail.len()).enumerate().filter(|(_, w)| *w == tail).map(|(at, _)| at + tail.len());
        for end in ends.filter(|&end| end >= 143) {
            let Ok(env) = Envelope::decode(&bytes[end - 143..end]) else { continue };
            assert_eq!((env.mode, env.key_id), (SseMode::Customer, KeyId([0; 16])));
            let aad = body_aad(&uuid, bucket.0, key.as_bytes(), &info.version_id.0, env.chunk_bytes() as u32);
            let wrap = wrap_aad(&aad, env.plaintext_len, &env.nonce_prefix, env.mode);
            if let Some(dek) = unwrap_with(ck.bytes(), &env.wrapped, &wrap) {
                assert!(
                    unwrap_with(&key_bytes(200), &env.wrapped, &wrap).is_none(),
                    "another key does not unwrap"
                );
                return *dek.bytes();
            }
        }
    }
    panic!("no segment holds an envelope of {key} that opens under its customer key");
}

#[test]
fn sse_c_bodies_read_back_by_range_and_no_file_holds_the_body_the_key_its_md5_or_the_data_key() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    // No key provider: the customer's key is the only key involved.
    let store = Store::builder(&root).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let (ka, kb) = (customer(11), customer(90));
    for (i, &size) in SIZES.iter().enumerate() {
        let ck = if i % 2 == 0 { &ka } else { &kb };
        let body = marked(size);
        let put = store.put_bytes(b, &format!("k{size}"), &body, &sealed_under(ck)).unwrap();
        assert_eq!(put.size, size as u64);
        let info = store.head(b, &format!("k{size}"), None).unwrap().encryption.expect("sealed");
        assert_eq!((info.mode, info.key_id), (SseMode::Customer, KeyId([0; 16])));
        assert!(info.customer_key_mac.expect("a key MAC").matches(ck));
    }
    store.put(b, "streamed", &marked(200_000)[..], &sealed_under(&ka)).unwrap();
    let check = |store: &Store| {
        for (i, &size) in SIZES.iter().enumerate() {
            let ck = if i % 2 == 0 { &ka } else { &kb };
            let body = marked(size);
            let key = format!("k{size}");
            let (_, mut r) = store.get(b, &key, &with_key(ck)).unwrap();
            assert!(r.read_to_vec().unwrap() == body, "{size}");
            for (s, e) in [(0, 1), (65_535, 65_537), (1, 300_001), (8 << 20, (8 << 20) + 1), (size / 3, size)]
            {
                let (s, e) = (s.min(size), e.min(size));
                if s >= e {
                    continue;
                }
                let range = ByteRange::parse(&format!("bytes={s}-{}", e - 1)).unwrap();
                let opts = GetOptions { range: Some(range), ..with_key(ck) };
                let (_, mut r) = store.get(b, &key, &opts).unwrap();
                assert!(r.read_to_vec().unwrap() == body[s..e], "{size}: {s}..{e}");
            }
        }
        let (_, mut r) = store.get(b, "streamed", &with_key(&ka)).unwrap();
        assert!(r.read_to_vec().unwrap() == marked(200_000));
    };
    check(&store);
    store.sync().unwrap();
    let mut deks = vec![recover_data_key(&root, &store, b, "streamed", &ka)];
    for (i, &size) in SIZES.iter().enumerate() {
        let ck = if i % 2 == 0 { &ka } else { &kb };
        deks.push(recover_data_key(&root, &store, b, &format!("k{size}"), ck));
    }
    store.close().unwrap();
    let mut unique = deks.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), deks.len(), "a data key was reused");
    for f in files_under(&root) {
        let bytes = std::fs::read(&f).unwrap();
        let name = f.display();
        assert!(find(&bytes, MARKER).is_none(), "{name} holds plaintext");
        for ck in [&ka, &kb] {
            assert!(find(&bytes, ck.bytes()).is_none(), "{name} holds a customer key");
            assert!(find(&bytes, &ck.md5()).is_none(), "{name} holds a customer key's MD5");
        }
        for d in &deks {
            assert!(find(&bytes, d).is_none(), "{name} holds a data key");
        }
    }
    let store = Store::builder(&root).open().unwrap();
    check(&store);
}

#[test]
fn a_missing_wrong_or_misplaced_customer_key_serves_no_byte_and_changes_nothing() {
    let store = Store::in_memory_builder().key_provider(Arc::new(MasterKeys::generate())).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let (right, wrong) = (customer(3), customer(4));
    let body = marked(100_000);
    store.put_bytes(b, "ssec", &body, &sealed_under(&right)).unwrap();
    store.put_bytes(b, "ssec-empty", b"", &sealed_under(&right)).unwrap();
    store
        .put_bytes(
            b,
            "sse-s3",
            b"sealed",
            &PutOptions { encryption: Some(Encryption::S3), ..Default::default() },
        )
        .unwrap();
    let plain = Store::in_memory_builder().open().unwrap();
    let pb = plain.create_bucket("bkt").unwrap();
    plain.put_bytes(pb, "plain", b"clear", &PutOptions::default()).unwrap();

    for key in ["ssec", "ssec-empty"] {
        let e = store.get(b, key, &GetOptions::default()).unwrap_err();
        assert!(
            matches!(&e, Error::SseCustomerKeyMissing { bucket, key: k } if bucket == "bkt" && k == key),
            "{e:?}"
        );
        assert_eq!((e.code(), e.http_status()), ("InvalidRequest", 400));
        assert!(
            e.to_string().contains("The correct parameters must be provided to retrieve the object."),
            "{e}"
        );
        let e = store.get(b, key, &with_key(&wrong)).unwrap_err();
        assert!(matches!(&e, Error::SseCustomerKeyMismatch { .. }), "{e:?}");
        assert_eq!((e.code(), e.http_status()), ("AccessDenied", 403));
        // A range does not get around it.
        if key == "ssec" {
            let range = Some(ByteRange::parse("bytes=0-0").unwrap());
            let e = store.get(b, key, &GetOptions { range, ..GetOptions::default() }).unwrap_err();
            assert_eq!(e.code(), "InvalidRequest");
        }
        // HEAD reads no body; the host serving S3's HEAD checks the key on the info.
        let info = store.head(b, key, None).unwrap();
        assert_eq!(info.check_customer_key("bkt", None).unwrap_err().code(), "InvalidRequest");
        assert_eq!(info.check_customer_key("bkt", Some(&wrong)).unwrap_err().code(), "AccessDenied");
        info.check_customer_key("bkt", Some(&right)).unwrap();
    }
    for (s, bucket, key) in [(&store, b, "sse-s3"), (&plain, pb, "plain")] {
        let e = s.get(bucket, key, &with_key(&right)).unwrap_err();
        assert!(matches!(&e, Error::SseCustomerKeyNotApplicable { .. }), "{e:?}");
        assert_eq!((e.code(), e.http_status()), ("InvalidRequest", 400));
        assert_eq!(
            s.head(bucket, key, None).unwrap().check_customer_key("bkt", Some(&right)).unwrap_err().code(),
            "InvalidRequest"
        );
        s.get(bucket, key, &GetOptions::default()).unwrap();
    }
    // Nothing changed: the right key still reads every byte, and the versions are the same.
    let (info, mut r) = store.get(b, "ssec", &with_key(&right)).unwrap();
    assert!(r.read_to_vec().unwrap() == body);
    assert_eq!(store.head(b, "ssec", None).unwrap().version_id, info.version_id);
}

#[test]
fn every_sse_c_write_draws_a_fresh_salt_and_an_overwrite_takes_the_new_key() {
    let store = Store::in_memory_builder().open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let null = |k: &CustomerKey| PutOptions { version: NewVersion::Null, ..sealed_under(k) };
    let (one, two) = (customer(1), customer(2));
    store.put_bytes(b, "k", b"first", &null(&one)).unwrap();
    let first = store.head(b, "k", None).unwrap().encryption.unwrap().customer_key_mac.unwrap();
    store.put_bytes(b, "k", b"second", &null(&one)).unwrap();
    let second = store.head(b, "k", None).unwrap().encryption.unwrap().customer_key_mac.unwrap();
    assert_ne!((first.salt, first.mac), (second.salt, second.mac), "one key, two versions: two salts");
    store.put_bytes(b, "k", b"third", &null(&two)).unwrap();
    assert_eq!(store.get(b, "k", &with_key(&one)).unwrap_err().code(), "AccessDenied");
    let (_, mut r) = store.get(b, "k", &with_key(&two)).unwrap();
    assert_eq!(r.read_to_vec().unwrap(), b"third");
}

#[test]
fn a_store_without_keys_whose_records_sealed_would_not_fit_refuses_sse_c_and_stores_nothing() {
    // Without a key provider the builder allows the largest records, whose ciphertext would pass
    // the record limit: SSE-C is refused at the put, with nothing stored.
    let store = Store::in_memory_builder().chunk_bytes(64 << 20).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let e = store.put_bytes(b, "k", b"secret", &sealed_under(&customer(5))).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidRequest { reason } if reason.contains("chunk_bytes (67108864)")),
        "{e:?}"
    );
    assert_eq!(store.head(b, "k", None).unwrap_err().code(), "NoSuchKey");
    let store = Store::in_memory_builder().chunk_bytes((64 << 20) - (256 << 10)).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    store.put_bytes(b, "k", b"secret", &sealed_under(&customer(5))).unwrap();
}

/// Rotation moves what is under the master key and leaves SSE-C versions, whose data keys no
/// master key wraps, as they are: a rewrap neither fails on them nor counts them, retiring the old
/// key does not need them, and the customer key still opens every byte after a reopen.
#[test]
fn a_rewrap_and_a_retirement_leave_sse_c_versions_to_their_customer_key() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MasterKeys::create_file(dir.path().join("keys")).unwrap());
    let root = dir.path().join("store");
    let store = Store::builder(&root).key_provider(keys.clone()).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let ck = customer(7);
    let old = keys.active_key().unwrap();
    for i in 0..4 {
        store.put_bytes(b, &format!("ssec{i}"), &marked(70_000 + i), &sealed_under(&ck)).unwrap();
        let s3 = PutOptions { encryption: Some(Encryption::S3), ..PutOptions::default() };
        store.put_bytes(b, &format!("s3-{i}"), &marked(70_000 + i), &s3).unwrap();
    }
    assert_eq!(store.key_usage(old).unwrap().versions, 4, "SSE-C versions use no master key");
    keys.rotate().unwrap();
    let report = store.rewrap(old).unwrap();
    assert_eq!((report.versions_rewrapped, report.versions_left), (4, 0), "{report:?}");
    assert!(report.damaged.is_empty(), "{report:?}");
    assert_eq!(store.retire_key(old).unwrap().versions, 0);
    store.close().unwrap();
    let store = Store::builder(&root).key_provider(keys).open().unwrap();
    for i in 0..4 {
        let info = store.head(b, &format!("ssec{i}"), None).unwrap().encryption.unwrap();
        assert_eq!((info.mode, info.key_id), (SseMode::Customer, KeyId([0; 16])));
        let (_, mut r) = store.get(b, &format!("ssec{i}"), &with_key(&ck)).unwrap();
        assert!(r.read_to_vec().unwrap() == marked(70_000 + i));
        let (_, mut r) = store.get(b, &format!("s3-{i}"), &GetOptions::default()).unwrap();
        assert!(r.read_to_vec().unwrap() == marked(70_000 + i));
    }
}

/// What someone holding `ck` and a copy of every file can make of `key`'s newest commit record
/// still in a segment: its first cipher chunk opened with the data key rebuilt from the envelope
/// (unwrapped under the customer key) and, with `use_slot`, the key slot file.
fn shred_attack(dir: &Path, ck: &CustomerKey, key: &str, use_slot: bool) -> Option<Vec<u8>> {
    use s3lite::crypto::Dek;
    use s3lite::crypto::chunks::BodyCipher;
    use s3lite::format::meta::ObjectMeta;
    use s3lite::format::record::{RecordKind, decode_record};
    use s3lite::segment::scan::{SegmentState, scan_segment};
    let (mut commit, mut chunks, mut uuid) = (None, std::collections::BTreeMap::new(), [0u8; 16]);
    for f in files_under(dir) {
        let bytes = std::fs::read(&f).unwrap();
        let Ok(h) = SegmentHeader::decode(&bytes) else { continue };
        uuid = h.store_uuid;
        for r in scan_segment(&bytes, SegmentState::Active, true)
            .records
            .into_iter()
            .filter(|r| r.key == key.as_bytes())
        {
            let view = decode_record(&bytes[r.offset as usize..(r.offset + r.header.record_len()) as usize])
                .unwrap();
            match r.header.kind {
                RecordKind::ObjectCommit => {
                    commit = Some((
                        r.header.bucket_id,
                        r.header.version_id,
                        ObjectMeta::decode(view.meta).unwrap(),
                    ))
                }
                RecordKind::Chunk => {
                    chunks.insert((r.header.version_id, r.header.chunk_index), view.body.to_vec());
                }
                _ => {}
            }
        }
    }
    let (bucket, version, meta) = commit.expect("the commit record is still in the files");
    let env = Envelope::decode(meta.envelope.as_ref().expect("sealed")).unwrap();
    let first =
        chunks.get(&(meta.chunk_token.expect("chunk token"), 0)).expect("the first chunk is still there");
    let aad = body_aad(&uuid, bucket, key.as_bytes(), &version, env.chunk_bytes() as u32);
    let wrap = wrap_aad(&aad, env.plaintext_len, &env.nonce_prefix, env.mode);
    let mut dek =
        *unwrap_with(ck.bytes(), &env.wrapped, &wrap).expect("the customer key opens the half").bytes();
    if use_slot {
        let slot = meta.key_slot.expect("a shredding store's version names its slot").0 as usize;
        let slots = std::fs::read(dir.join("KEYSLOTS")).unwrap();
        dek.iter_mut().zip(&slots[slot * 80..slot * 80 + 32]).for_each(|(d, s)| *d ^= s);
    }
    let cipher = BodyCipher::new(&Dek::from_bytes(dek), env.nonce_prefix, aad, env.chunk_bytes());
    let mut out = Vec::new();
    let last = env.plaintext_len <= env.chunk_bytes() as u64;
    cipher
        .open_chunk(0, last, &first[..(env.chunk_bytes() + 16).min(first.len())], &mut out)
        .ok()
        .map(|()| out)
}

/// Crypto-shred covers SSE-C: the customer key wraps only `dek ⊕ secret`, so once a version is
/// deleted its bytes do not decrypt from the files even for whoever holds its customer key.
#[test]
fn a_deleted_sse_c_version_does_not_decrypt_from_the_files_even_with_its_customer_key() {
    let dir = tempfile::tempdir().unwrap();
    // Crypto-shred takes effect only in a store with keys (StoreBuilder::crypto_shred).
    let keys = Arc::new(MasterKeys::generate());
    let shredding = || Store::builder(dir.path()).key_provider(keys.clone()).crypto_shred(true);
    let store = shredding().open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let ck = customer(9);
    let (kept, gone) = (marked(150_000), marked(140_000));
    store.put_bytes(b, "kept", &kept, &sealed_under(&ck)).unwrap();
    store.put_bytes(b, "gone", &gone, &sealed_under(&ck)).unwrap();
    assert_eq!(
        shred_attack(dir.path(), &ck, "gone", true).as_deref(),
        Some(&gone[..65_536]),
        "a real attack"
    );
    assert_eq!(shred_attack(dir.path(), &ck, "kept", false), None, "the envelope's half alone opens nothing");
    store.delete(b, "gone").unwrap();
    assert_eq!(shred_attack(dir.path(), &ck, "gone", true), None, "a deleted SSE-C version decrypts");
    let (_, mut r) = store.get(b, "kept", &with_key(&ck)).unwrap();
    assert!(r.read_to_vec().unwrap() == kept);
    drop(store);
    let store = shredding().open().unwrap();
    let (_, mut r) = store.get(b, "kept", &with_key(&ck)).unwrap();
    assert!(r.read_to_vec().unwrap() == kept);
}
