//! Sealed (encrypted) versions through the engine's public API: round trips of every size and range,
//! no plaintext and no data key anywhere in the store's files, fresh keys per write, and the errors
//! of a missing provider, an unknown KMS key and a wrong key file, with nothing stored changed.

use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use s3lite::crypto::{CryptoError, Dek, KeyId, KeyProvider, MasterKeys, SseMode, WrappedKey};
use s3lite::{ByteRange, Encryption, Error, GetOptions, NewVersion, PutOptions, Store};

/// A provider that remembers every data key it wraps, so the test can look for them in the files.
#[derive(Debug)]
struct Recording {
    keys: MasterKeys,
    deks: Mutex<Vec<[u8; 32]>>,
}

impl KeyProvider for Recording {
    fn active_key(&self) -> Result<KeyId, CryptoError> {
        self.keys.active_key()
    }
    fn named_key(&self, name: &str) -> Option<KeyId> {
        self.keys.named_key(name)
    }
    fn wrap(&self, key: KeyId, dek: &Dek, aad: &[u8]) -> Result<WrappedKey, CryptoError> {
        self.deks.lock().push(*dek.bytes());
        self.keys.wrap(key, dek, aad)
    }
    fn unwrap(&self, key: KeyId, wrapped: &WrappedKey, aad: &[u8]) -> Result<Dek, CryptoError> {
        self.keys.unwrap(key, wrapped, aad)
    }
}

const MARKER: &[u8; 16] = b"S3LITE-MARKER-42";

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

fn sealed(enc: Encryption) -> PutOptions {
    PutOptions { encryption: Some(enc), ..PutOptions::default() }
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
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

const SIZES: [usize; 8] = [0, 1, 15, 65_536, 65_537, 300_000, 1 << 20, (8 << 20) + 70_000];

#[test]
fn sealed_bodies_read_back_whole_and_by_range_and_no_file_holds_plaintext_or_a_data_key() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let keys = MasterKeys::create_file(dir.path().join("keys")).unwrap();
    let named = keys.add_named("billing").unwrap();
    let provider = Arc::new(Recording { keys, deks: Mutex::default() });
    let store = Store::builder(&root).key_provider(provider.clone()).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    for (i, &size) in SIZES.iter().enumerate() {
        let body = marked(size);
        let enc = if i % 2 == 0 { Encryption::S3 } else { Encryption::Kms { key: "billing".into() } };
        let put = store.put_bytes(b, &format!("k{size}"), &body, &sealed(enc.clone())).unwrap();
        assert_eq!(put.size, size as u64);
        let md5 = md5_hex(&body);
        assert_eq!(put.e_tag, format!("\"{md5}\""), "the ETag is the plaintext's MD5");
        let head = store.head(b, &format!("k{size}"), None).unwrap();
        let info = head.encryption.expect("sealed");
        match enc {
            Encryption::S3 => {
                assert_eq!((info.mode, info.key_id), (SseMode::S3, provider.active_key().unwrap()))
            }
            Encryption::Kms { .. } => assert_eq!((info.mode, info.key_id), (SseMode::Kms, named)),
            Encryption::KmsDefault | Encryption::Customer { .. } => unreachable!("not used here"),
        }
    }
    // A streamed body of unknown length seals too.
    let streamed = marked(200_000);
    store.put(b, "streamed", &streamed[..], &sealed(Encryption::S3)).unwrap();
    let check = |store: &Store| {
        for &size in &SIZES {
            let body = marked(size);
            let key = format!("k{size}");
            let (_, mut r) = store.get(b, &key, &GetOptions::default()).unwrap();
            assert_eq!(r.read_to_vec().unwrap(), body, "{size}");
            let mut streamed_out = Vec::new();
            let (_, mut r) = store.get(b, &key, &GetOptions::default()).unwrap();
            std::io::copy(&mut r, &mut streamed_out).unwrap();
            assert_eq!(streamed_out, body, "{size} through Read");
            for (s, e) in [(0, 1), (65_535, 65_537), (1, 300_001), (8 << 20, (8 << 20) + 1), (size / 3, size)]
            {
                let (s, e) = (s.min(size), e.min(size));
                if s >= e {
                    continue;
                }
                let range = ByteRange::parse(&format!("bytes={s}-{}", e - 1)).unwrap();
                let (_, mut r) =
                    store.get(b, &key, &GetOptions { range: Some(range), ..GetOptions::default() }).unwrap();
                assert_eq!(r.read_to_vec().unwrap(), &body[s..e], "{size}: {s}..{e}");
            }
        }
        let (_, mut r) = store.get(b, "streamed", &GetOptions::default()).unwrap();
        assert_eq!(r.read_to_vec().unwrap(), streamed);
    };
    check(&store);
    store.close().unwrap();
    let deks = provider.deks.lock().clone();
    assert_eq!(deks.len(), SIZES.len() + 1);
    for f in files_under(&root) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(!contains(&bytes, MARKER), "{} holds plaintext", f.display());
        for d in &deks {
            assert!(!contains(&bytes, d), "{} holds a data key", f.display());
        }
    }
    let store = Store::builder(&root).key_provider(provider.clone()).open().unwrap();
    check(&store);
}

fn md5_hex(b: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn every_write_draws_a_fresh_data_key() {
    let provider = Arc::new(Recording { keys: MasterKeys::generate(), deks: Mutex::default() });
    let store = Store::in_memory_builder().key_provider(provider.clone()).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let null = PutOptions { version: NewVersion::Null, ..sealed(Encryption::S3) };
    for i in 0..50 {
        // Overwrites of one null version, new keys, and a failed write retried.
        store.put_bytes(b, "same", b"body", &null).unwrap();
        store.put_bytes(b, &format!("k{i}"), &marked(70_000), &sealed(Encryption::S3)).unwrap();
    }
    let mut deks = provider.deks.lock().clone();
    let n = deks.len();
    deks.sort_unstable();
    deks.dedup();
    assert_eq!(deks.len(), n, "a data key was reused");
    assert_eq!(n, 100);
}

#[test]
fn a_store_without_keys_refuses_to_seal_and_an_unknown_kms_key_is_named() {
    let store = Store::in_memory_builder().open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let e = store.put_bytes(b, "k", b"secret", &sealed(Encryption::S3)).unwrap_err();
    assert!(matches!(e, Error::KeyUnavailable { .. }), "{e}");
    assert_eq!((e.code(), e.http_status()), ("InternalError", 500));
    assert_eq!(store.head(b, "k", None).unwrap_err().code(), "NoSuchKey");

    let store = Store::in_memory_builder().key_provider(Arc::new(MasterKeys::generate())).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let e = store.put_bytes(b, "k", b"secret", &sealed(Encryption::Kms { key: "nope".into() })).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("KMS.NotFoundException", 400));
    assert!(e.to_string().contains("nope"), "{e}");
    assert_eq!(store.head(b, "k", None).unwrap_err().code(), "NoSuchKey");
    // A store with keys seals a put that asks for nothing (SSE-S3 by default); one without keys,
    // or told not to, stores it in the clear.
    store.put_bytes(b, "default", b"x", &PutOptions::default()).unwrap();
    assert_eq!(store.head(b, "default", None).unwrap().encryption.map(|e| e.mode), Some(SseMode::S3));
    for store in [
        Store::in_memory_builder().open().unwrap(),
        Store::in_memory_builder()
            .key_provider(Arc::new(MasterKeys::generate()))
            .encrypt_by_default(false)
            .open()
            .unwrap(),
    ] {
        let b = store.create_bucket("bkt").unwrap();
        store.put_bytes(b, "plain", b"x", &PutOptions::default()).unwrap();
        assert_eq!(store.head(b, "plain", None).unwrap().encryption, None);
    }
}

#[test]
fn a_wrong_or_missing_key_file_serves_no_byte_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let keys = Arc::new(MasterKeys::create_file(dir.path().join("keys")).unwrap());
    let store = Store::builder(&root).key_provider(keys.clone()).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let body = marked(100_000);
    store.put_bytes(b, "k", &body, &sealed(Encryption::S3)).unwrap();
    store.close().unwrap();
    // Another key file: the data key does not unwrap.
    let other = Store::builder(&root).key_provider(Arc::new(MasterKeys::generate())).open().unwrap();
    let e = other.get(b, "k", &GetOptions::default()).unwrap_err();
    assert!(matches!(e, Error::KeyUnavailable { .. }), "{e}");
    assert!(e.to_string().contains("is not known"), "{e}");
    // HEAD still answers (metadata is not encrypted), and reports the key.
    assert_eq!(other.head(b, "k", None).unwrap().size, body.len() as u64);
    other.close().unwrap();
    // No provider at all.
    let none = Store::builder(&root).open().unwrap();
    assert!(matches!(none.get(b, "k", &GetOptions::default()), Err(Error::KeyUnavailable { .. })));
    none.close().unwrap();
    // The right keys again: everything is there.
    let store = Store::builder(&root).key_provider(keys).open().unwrap();
    let (_, mut r) = store.get(b, "k", &GetOptions::default()).unwrap();
    assert_eq!(r.read_to_vec().unwrap(), body);
}

#[test]
fn a_flipped_bit_anywhere_in_a_sealed_body_serves_no_plaintext() {
    let sim = s3lite::io::SimStorage::new();
    let keys = Arc::new(MasterKeys::generate());
    let store =
        Store::builder("/s").storage(Arc::new(sim.clone())).key_provider(keys.clone()).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let body = marked(200_000);
    store.put_bytes(b, "k", &body, &sealed(Encryption::S3)).unwrap();
    store.close().unwrap();
    // Every segment file: flip bits across the record region, one at a time, on forks.
    let mut tried = 0;
    for path in sim.file_paths().into_iter().filter(|p| p.to_string_lossy().ends_with(".seg")) {
        for offset in (4096..4096 + 210_000).step_by(9_973) {
            let fork = sim.fork();
            if fork.flip_bit(&path, offset, 3).is_err() {
                continue;
            }
            let Ok(s) = Store::builder("/s").storage(Arc::new(fork)).key_provider(keys.clone()).open() else {
                continue;
            };
            tried += 1;
            match s.get(b, "k", &GetOptions::default()).and_then(|(_, mut r)| r.read_to_vec()) {
                Ok(got) => assert_eq!(got, body, "a flip at {offset} of {} changed the body", path.display()),
                Err(e) => assert!(matches!(e, Error::Corruption { .. }), "flip at {offset}: {e}"),
            }
        }
    }
    assert!(tried > 10, "{tried}");
}

/// Chunk records smaller than a cipher chunk (4 KiB records, 64 KiB cipher chunks) and record
/// boundaries on cipher-chunk boundaries: the plaintext the sealer still holds at a record's end
/// goes out with the next record. (The first sealed put of a 4 KiB body into 4 KiB records stored
/// nothing and failed, and a streamed one lost its body.)
#[test]
fn sealed_bodies_in_records_of_any_size_keep_every_byte() {
    for chunk_bytes in [4096, 65_536, 100_000] {
        let store = Store::in_memory_builder()
            .inline_bytes(1024)
            .chunk_bytes(chunk_bytes)
            .segment_bytes(1 << 20)
            .key_provider(Arc::new(MasterKeys::generate()))
            .open()
            .unwrap();
        let b = store.create_bucket("bkt").unwrap();
        for size in [0, 4096, 4097, 65_536, 65_537, 131_072, 200_000, 300_001] {
            let body = marked(size);
            let key = format!("k{size}");
            store.put_bytes(b, &key, &body, &sealed(Encryption::S3)).unwrap();
            store.put(b, &format!("streamed-{size}"), &body[..], &sealed(Encryption::S3)).unwrap();
            for key in [key.clone(), format!("streamed-{size}")] {
                let (info, mut r) = store.get(b, &key, &GetOptions::default()).unwrap();
                assert_eq!((info.size, info.e_tag.clone()), (size as u64, format!("\"{}\"", md5_hex(&body))));
                assert!(r.read_to_vec().unwrap() == body, "{chunk_bytes}: {key}");
            }
            if size > 10 {
                let range = ByteRange::parse(&format!("bytes={}-{}", size / 2 - 5, size / 2 + 5)).unwrap();
                let opts = GetOptions { range: Some(range), ..GetOptions::default() };
                let (_, mut r) = store.get(b, &key, &opts).unwrap();
                assert_eq!(r.read_to_vec().unwrap(), &body[size / 2 - 5..=size / 2 + 5]);
            }
        }
    }
}

#[test]
fn a_store_with_keys_refuses_chunk_records_whose_ciphertext_would_not_fit_a_record() {
    let keys = Arc::new(MasterKeys::generate());
    let e = Store::in_memory_builder().key_provider(keys.clone()).chunk_bytes(64 << 20).open().unwrap_err();
    assert!(matches!(&e, Error::InvalidArgument { name: "chunk_bytes", .. }), "{e:?}");
    // Without keys nothing is sealed, so the largest records are allowed; with keys, a little less.
    Store::in_memory_builder().chunk_bytes(64 << 20).open().unwrap();
    Store::in_memory_builder().key_provider(keys).chunk_bytes((64 << 20) - (256 << 10)).open().unwrap();
}
