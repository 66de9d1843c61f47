//! Encrypted multipart uploads through the engine's API (issue 16): parts sealed under the
//! upload's data key with a key per part attempt; round trips (whole, ranges across part
//! boundaries, after reopen and after compaction); a part uploaded again gets a new salt and key;
//! abort; unknown KMS keys and missing master keys; no plaintext and no data key in any file; and
//! tampering with the stored records (a part's chunk moved to another part, the commit record's
//! part list changed, a part record's salt hidden) serves no byte.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use md5::{Digest, Md5};
use parking_lot::Mutex;
use s3lite::crypto::{CryptoError, Dek, KeyId, KeyProvider, MasterKeys, SseMode, WrappedKey};
use s3lite::format::meta::ObjectMeta;
use s3lite::format::record::{RecordKind, RecordParts, decode_header, decode_record, encode_record};
use s3lite::{
    BucketId, ByteRange, CompactionPolicy, CompleteOptions, Encryption, Error, GetOptions, PartOptions,
    Store, UploadOptions,
};

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

const MARKER: &[u8; 16] = b"S3LITE-MPU-MARK!";
const MIB: usize = 1 << 20;

/// `len` bytes of the marker with a counter and a tag, so that parts and ranges are told apart.
fn marked(tag: u8, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 21);
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

fn enc_opts(enc: Encryption) -> UploadOptions {
    UploadOptions { encryption: Some(enc), ..UploadOptions::default() }
}

fn read(store: &Store, b: BucketId, key: &str, range: Option<(usize, usize)>) -> s3lite::Result<Vec<u8>> {
    let range = range.map(|(s, e)| ByteRange::Inclusive(s as u64, e as u64 - 1));
    let (_, mut r) = store.get(b, key, &GetOptions { range, ..GetOptions::default() })?;
    r.read_to_vec()
}

/// Uploads `parts` (number, body) into a new upload sealed as `enc` and completes it.
fn upload(store: &Store, b: BucketId, key: &str, enc: Encryption, parts: &[(u32, &[u8])]) -> String {
    let up = store.create_upload(b, key, &enc_opts(enc)).unwrap();
    assert!(up.encryption.is_some());
    for (n, body) in parts {
        store.upload_part(b, key, &up.upload_id, *n, *body, &PartOptions::default()).unwrap();
    }
    let numbers: Vec<(u32, Option<[u8; 16]>)> = parts.iter().map(|(n, _)| (*n, None)).collect();
    store.complete_upload(b, key, &up.upload_id, &numbers, &CompleteOptions::default()).unwrap();
    up.upload_id
}

/// The multipart ETag: MD5 of the parts' MD5s, `-N`.
fn multipart_etag(parts: &[&[u8]]) -> String {
    let mut all = Md5::new();
    for p in parts {
        all.update(Md5::digest(p));
    }
    format!("\"{}-{}\"", hex(&all.finalize()), parts.len())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Every record of every segment file under `root`: (file, offset, record bytes).
fn records(root: &Path) -> Vec<(PathBuf, usize, Vec<u8>)> {
    let mut out = Vec::new();
    for f in files_under(root).into_iter().filter(|f| f.extension().is_some_and(|e| e == "seg")) {
        let bytes = std::fs::read(&f).unwrap();
        let mut at = 4096;
        while let Some(h) = bytes.get(at..).and_then(|b| decode_header(b).ok()) {
            let len = h.record_len() as usize;
            if len == 0 || at + len > bytes.len() {
                break;
            }
            out.push((f.clone(), at, bytes[at..at + len].to_vec()));
            at += len;
        }
    }
    out
}

/// Writes `record` over the record at (`file`, `offset`) (same length), for a tamper test.
fn overwrite(file: &Path, offset: usize, record: &[u8]) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[offset..offset + record.len()].copy_from_slice(record);
    std::fs::write(file, bytes).unwrap();
}

/// The record re-encoded with another meta or body (CRCs recomputed).
fn reencode(record: &[u8], meta: Option<&[u8]>, body: Option<&[u8]>) -> Vec<u8> {
    let r = decode_record(record).unwrap();
    let h = &r.header;
    encode_record(&RecordParts {
        kind: h.kind,
        flags: h.flags,
        seq: h.seq,
        bucket_id: h.bucket_id,
        version_id: h.version_id,
        chunk_index: h.chunk_index,
        key: r.key,
        meta: meta.unwrap_or(r.meta),
        body: body.unwrap_or(r.body),
    })
}

#[test]
fn sealed_parts_read_back_across_part_boundaries_after_reopen_and_compaction_and_no_file_holds_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let keys = MasterKeys::generate();
    let named = keys.add_named("billing").unwrap();
    let provider = Arc::new(Recording { keys, deks: Mutex::default() });
    let open = || {
        Store::builder(&root)
            .chunk_bytes(MIB as u64)
            .segment_bytes(4 * MIB as u64)
            .key_provider(provider.clone())
            .open()
    };
    let store = open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let (p1, p2, p3) = (marked(1, 5 * MIB), marked(2, 5 * MIB + 70_001), marked(3, 100_000));
    let whole: Vec<u8> = [&p1[..], &p2, &p3].concat();
    // Part 2 is uploaded twice (the first attempt becomes dead bytes for the compaction below).
    let up = store.create_upload(b, "obj", &enc_opts(Encryption::S3)).unwrap();
    for (n, body) in [(1, &p1[..]), (2, &marked(9, 5 * MIB)), (2, &p2), (3, &p3)] {
        store.upload_part(b, "obj", &up.upload_id, n, body, &PartOptions::default()).unwrap();
    }
    // A compaction while the upload is open moves its start and part records (the envelope and
    // the salts in their meta) as they are.
    let mid = store.compact_with(&CompactionPolicy::everything()).unwrap();
    assert!(mid.rewrites > 0, "{mid:?}");
    let parts = [(1, None), (2, None), (3, None)];
    let done = store.complete_upload(b, "obj", &up.upload_id, &parts, &CompleteOptions::default()).unwrap();
    assert_eq!(done.e_tag, multipart_etag(&[&p1, &p2, &p3]), "the ETag is over the plaintext parts");
    assert_eq!(done.size, whole.len() as u64);
    let active = provider.active_key().unwrap();
    let info = done.encryption.clone().expect("sealed");
    assert_eq!((info.mode, info.key_id), (SseMode::S3, active));
    upload(&store, b, "kms", Encryption::Kms { key: "billing".into() }, &[(1, &p1), (2, &p3)]);
    let kms = store.head(b, "kms", None).unwrap().encryption.expect("sealed");
    assert_eq!((kms.mode, kms.key_id), (SseMode::Kms, named));
    // A one-part object whose part is empty.
    upload(&store, b, "empty", Encryption::KmsDefault, &[(1, b"")]);

    let b1 = p1.len();
    let b2 = b1 + p2.len();
    let check = |store: &Store, ctx: &str| {
        assert_eq!(read(store, b, "obj", None).unwrap(), whole, "{ctx}: whole");
        for (s, e) in [
            (0, 1),
            (b1 - 10, b1 + 10),
            (b1 - 1, b1),
            (b1, b1 + 1),
            (b1 - 65_536, b2 + 65_537),
            (b2 - 1, b2 + 1),
            (100, whole.len()),
            (whole.len() - 1, whole.len()),
            (b1 + 65_535, b1 + 65_537),
        ] {
            assert_eq!(read(store, b, "obj", Some((s, e))).unwrap(), &whole[s..e], "{ctx}: {s}..{e}");
        }
        let head = store.head(b, "obj", None).unwrap();
        assert_eq!(
            (head.e_tag.as_str(), head.encryption.map(|e| e.mode)),
            (done.e_tag.as_str(), Some(SseMode::S3))
        );
        assert_eq!(read(store, b, "kms", None).unwrap(), [&p1[..], &p3].concat(), "{ctx}: kms");
        assert_eq!(read(store, b, "empty", None).unwrap(), b"", "{ctx}: empty");
        let mut streamed = Vec::new();
        let (_, mut r) = store.get(b, "obj", &GetOptions::default()).unwrap();
        std::io::copy(&mut r, &mut streamed).unwrap();
        assert!(streamed == whole, "{ctx}: through Read");
    };
    check(&store, "written");
    store.close().unwrap();
    let store = open().unwrap();
    check(&store, "reopened");
    let report = store.compact_with(&CompactionPolicy::everything()).unwrap();
    assert!(report.rewrites > 0, "{report:?}");
    check(&store, "compacted");
    store.close().unwrap();
    let store = open().unwrap();
    check(&store, "compacted and reopened");
    store.close().unwrap();
    let deks = provider.deks.lock().clone();
    assert_eq!(deks.len(), 6, "three uploads, each wrapped at create and at completion");
    for f in files_under(&root) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(!contains(&bytes, MARKER), "{} holds plaintext", f.display());
        for d in &deks {
            assert!(!contains(&bytes, d), "{} holds a data key", f.display());
        }
    }
}

/// The same plaintext uploaded twice under one part number: the two attempts have other salts,
/// so other keys and nonces, so other ciphertexts (one key and nonce twice would give the same
/// bytes); the last attempt is the one completed.
#[test]
fn a_part_uploaded_again_gets_a_new_salt_and_key_and_the_last_attempt_wins() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MasterKeys::generate());
    let store = Store::builder(dir.path()).key_provider(keys.clone()).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let up = store.create_upload(b, "k", &enc_opts(Encryption::S3)).unwrap().upload_id;
    let same = marked(1, 200_000);
    let last = marked(2, 200_000);
    for body in [&same, &same, &last] {
        store.upload_part(b, "k", &up, 1, &body[..], &PartOptions::default()).unwrap();
    }
    store.complete_upload(b, "k", &up, &[(1, None)], &CompleteOptions::default()).unwrap();
    assert_eq!(read(&store, b, "k", None).unwrap(), last);
    store.close().unwrap();
    let recs = records(dir.path());
    let salts: Vec<[u8; 16]> = recs
        .iter()
        .map(|(_, _, r)| decode_record(r).unwrap())
        .filter(|r| r.header.kind == RecordKind::MultipartPart)
        .map(|r| ObjectMeta::decode(r.meta).unwrap().part_salt.expect("a sealed part keeps its salt"))
        .collect();
    assert_eq!(salts.len(), 3);
    assert!(salts[0] != salts[1] && salts[1] != salts[2] && salts[0] != salts[2], "{salts:?}");
    let bodies: Vec<Vec<u8>> = recs
        .iter()
        .map(|(_, _, r)| decode_record(r).unwrap())
        .filter(|r| r.header.kind == RecordKind::Chunk && r.key == b"k")
        .map(|r| r.body.to_vec())
        .collect();
    assert!(bodies.len() >= 3, "{}", bodies.len());
    assert_ne!(bodies[0][..64], bodies[1][..64], "the same plaintext twice sealed to the same bytes");
    for body in &bodies {
        assert!(!contains(body, MARKER));
    }
}

#[test]
fn an_aborted_sealed_upload_takes_no_more_parts_and_its_records_go_at_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MasterKeys::generate());
    let open = || {
        Store::builder(dir.path())
            .chunk_bytes(256 << 10)
            .segment_bytes(1 << 20)
            .key_provider(keys.clone())
            .open()
            .unwrap()
    };
    let store = open();
    let b = store.create_bucket("bkt").unwrap();
    let up = store.create_upload(b, "k", &enc_opts(Encryption::S3)).unwrap().upload_id;
    store.upload_part(b, "k", &up, 1, &marked(1, 300_000)[..], &PartOptions::default()).unwrap();
    store.abort_upload(b, "k", &up).unwrap();
    let e = store.upload_part(b, "k", &up, 2, &b"late"[..], &PartOptions::default()).unwrap_err();
    assert_eq!(e.code(), "NoSuchUpload");
    let e = store.complete_upload(b, "k", &up, &[(1, None)], &CompleteOptions::default()).unwrap_err();
    assert_eq!(e.code(), "NoSuchUpload");
    // Enough other writes to seal the segments the upload's records are in.
    for i in 0..6 {
        store.put_bytes(b, &format!("filler{i}"), &vec![i as u8; 300_000], &Default::default()).unwrap();
    }
    let starts = |dir: &Path| {
        records(dir)
            .iter()
            .filter(|(_, _, r)| decode_header(r).unwrap().kind == RecordKind::MultipartStart)
            .count()
    };
    assert_eq!(starts(dir.path()), 1);
    store.compact_with(&CompactionPolicy::everything()).unwrap();
    store.close().unwrap();
    assert_eq!(starts(dir.path()), 0, "the aborted upload's start record (and its wrapped key) is gone");
    let store = open();
    assert_eq!(store.list_uploads(b, "", "", None, 10).unwrap().0.len(), 0);
}

#[test]
fn unknown_kms_keys_missing_providers_and_missing_master_keys_are_typed_errors() {
    let keys = Arc::new(MasterKeys::generate());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::builder(dir.path()).key_provider(keys.clone()).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let e = store.create_upload(b, "k", &enc_opts(Encryption::Kms { key: "nope".into() })).unwrap_err();
    assert!(matches!(&e, Error::KmsKeyNotFound { key } if key == "nope"), "{e:?}");
    assert_eq!((e.code(), e.http_status()), ("KMS.NotFoundException", 400));
    assert!(store.list_uploads(b, "", "", None, 10).unwrap().0.is_empty(), "nothing was started");
    let plain = Store::open_in_memory().unwrap();
    let pb = plain.create_bucket("bkt").unwrap();
    let e = plain.create_upload(pb, "k", &enc_opts(Encryption::S3)).unwrap_err();
    assert!(matches!(e, Error::KeyUnavailable { .. }), "{e:?}");
    // A store reopened without the master key the upload's key is wrapped under: no part goes
    // in, no completion, no read of a completed object.
    let up = store.create_upload(b, "k", &enc_opts(Encryption::S3)).unwrap().upload_id;
    store.upload_part(b, "k", &up, 1, &marked(1, 1000)[..], &PartOptions::default()).unwrap();
    upload(&store, b, "done", Encryption::S3, &[(1, &marked(2, 1000))]);
    store.close().unwrap();
    let other = Store::builder(dir.path()).key_provider(Arc::new(MasterKeys::generate())).open().unwrap();
    let e = other.upload_part(b, "k", &up, 2, &b"x"[..], &PartOptions::default()).unwrap_err();
    assert!(matches!(e, Error::KeyUnavailable { .. }), "{e:?}");
    let e = other.complete_upload(b, "k", &up, &[(1, None)], &CompleteOptions::default()).unwrap_err();
    assert!(matches!(e, Error::KeyUnavailable { .. }), "{e:?}");
    let e = read(&other, b, "done", None).unwrap_err();
    assert!(matches!(e, Error::KeyUnavailable { .. }), "{e:?}");
    other.close().unwrap();
    let store = Store::builder(dir.path()).key_provider(keys).open().unwrap();
    assert_eq!(read(&store, b, "done", None).unwrap(), marked(2, 1000), "nothing was changed");
}

/// A sealed multipart object of three parts, two of them of equal length, closed; returns the
/// store's root, the keys and the parts.
fn three_part_object(dir: &Path, keys: &Arc<MasterKeys>) -> (BucketId, Vec<Vec<u8>>) {
    let store = Store::builder(dir).key_provider(keys.clone()).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let parts = vec![marked(1, 5 * MIB), marked(2, 5 * MIB), marked(3, 10_000)];
    upload(&store, b, "k", Encryption::S3, &[(1, &parts[0]), (2, &parts[1]), (3, &parts[2])]);
    store.close().unwrap();
    (b, parts)
}

/// Part 1's ciphertext copied into part 2's chunk record (equal length, CRC fixed): the bytes are
/// sealed under part 1's key and name part 1, so part 2 fails its tag; part 1 still reads.
#[test]
fn a_parts_chunk_moved_to_another_part_number_fails_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MasterKeys::generate());
    let (b, parts) = three_part_object(dir.path(), &keys);
    let recs = records(dir.path());
    let chunks: Vec<&(PathBuf, usize, Vec<u8>)> = recs
        .iter()
        .filter(|(_, _, r)| {
            let r = decode_record(r).unwrap();
            r.header.kind == RecordKind::Chunk && r.key == b"k" && r.body.len() > 5 * MIB
        })
        .collect();
    assert_eq!(chunks.len(), 2, "one chunk record per 5 MiB part");
    let (file, offset, target) = chunks[1];
    let moved = reencode(target, None, Some(decode_record(&chunks[0].2).unwrap().body));
    assert_eq!(moved.len(), target.len());
    overwrite(file, *offset, &moved);
    let store = Store::builder(dir.path()).key_provider(keys).open().unwrap();
    let e = read(&store, b, "k", None).unwrap_err();
    assert!(matches!(&e, Error::Corruption { reason, .. } if reason.contains("authentication")), "{e:?}");
    let e = read(&store, b, "k", Some((5 * MIB + 10, 5 * MIB + 20))).unwrap_err();
    assert!(matches!(e, Error::Corruption { .. }), "{e:?}");
    assert_eq!(read(&store, b, "k", Some((10, 5 * MIB))).unwrap(), &parts[0][10..], "part 1 is intact");
}

/// Hides the TLV `tag` of a meta (renames it to a tag no reader knows, same length); whether it
/// was there.
fn hide_tag(meta: &mut [u8], tag: u16) -> bool {
    let mut at = 0;
    let mut hidden = false;
    while at + 6 <= meta.len() {
        let t = u16::from_le_bytes([meta[at], meta[at + 1]]);
        let len = u32::from_le_bytes(meta[at + 2..at + 6].try_into().unwrap()) as usize;
        if t == tag {
            meta[at..at + 2].copy_from_slice(&999u16.to_le_bytes());
            hidden = true;
        }
        at += 6 + len;
    }
    hidden
}

/// The commit record's part list changed (two parts' lengths traded, or a salt changed) or its
/// envelope hidden, with the record's CRCs fixed: the lengths fail the stored-length check, the
/// salt the object's wrap, the missing envelope the record's own check.
#[test]
fn a_changed_part_list_in_the_commit_record_serves_no_byte() {
    for change in ["lengths", "salt", "envelope hidden"] {
        let dir = tempfile::tempdir().unwrap();
        let keys = Arc::new(MasterKeys::generate());
        let (b, _) = three_part_object(dir.path(), &keys);
        let recs = records(dir.path());
        let (file, offset, commit) =
            recs.iter().find(|(_, _, r)| decode_header(r).unwrap().kind == RecordKind::ObjectCommit).unwrap();
        let mut meta = ObjectMeta::decode(decode_record(commit).unwrap().meta).unwrap();
        let seals = meta.part_seals.as_mut().unwrap();
        let mut bytes = match change {
            "lengths" => {
                seals.parts[0].size += 1;
                seals.parts[1].size -= 1;
                meta.encode()
            }
            "salt" => {
                seals.parts[1].salt[0] ^= 1;
                meta.encode()
            }
            _ => decode_record(commit).unwrap().meta.to_vec(),
        };
        if change == "envelope hidden" {
            assert!(hide_tag(&mut bytes, 9));
        }
        let new = reencode(commit, Some(&bytes), None);
        assert_eq!(new.len(), commit.len());
        overwrite(file, *offset, &new);
        let store = Store::builder(dir.path()).key_provider(keys.clone()).open().unwrap();
        let e = read(&store, b, "k", None).unwrap_err();
        let want = match change {
            "lengths" => "sealed bytes",
            "salt" => "does not unwrap",
            _ => "without an encryption envelope",
        };
        assert!(e.to_string().contains(want), "{change}: {e:?}");
    }
}

/// A part record's salt hidden (its TLV tag changed to one no reader knows, CRC fixed): the
/// completion refuses the part rather than seal the object with a key it cannot derive.
#[test]
fn a_sealed_part_without_its_salt_is_refused_at_completion() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MasterKeys::generate());
    let store = Store::builder(dir.path()).key_provider(keys.clone()).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    let up = store.create_upload(b, "k", &enc_opts(Encryption::S3)).unwrap().upload_id;
    store.upload_part(b, "k", &up, 1, &marked(1, 1000)[..], &PartOptions::default()).unwrap();
    store.close().unwrap();
    let recs = records(dir.path());
    let (file, offset, part) =
        recs.iter().find(|(_, _, r)| decode_header(r).unwrap().kind == RecordKind::MultipartPart).unwrap();
    let mut meta = decode_record(part).unwrap().meta.to_vec();
    let hidden = hide_tag(&mut meta, 14);
    assert!(hidden, "the part record keeps a 16-byte salt under tag 14");
    overwrite(file, *offset, &reencode(part, Some(&meta), None));
    let store = Store::builder(dir.path()).key_provider(keys).open().unwrap();
    let e = store.complete_upload(b, "k", &up, &[(1, None)], &CompleteOptions::default()).unwrap_err();
    assert!(matches!(&e, Error::Corruption { reason, .. } if reason.contains("without its salt")), "{e:?}");
}

/// Rotation: a rewrap re-wraps a sealed multipart object's envelope (binding its part list) as it
/// does a put's, and an upload in progress under the old key too (its start record's envelope):
/// `key_usage` then counts nothing under the old key, it can be retired at once, and the upload
/// goes on without it, completes under the new key, and everything reads back after a reopen.
#[test]
fn a_rewrap_moves_sealed_multipart_objects_and_the_uploads_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MasterKeys::generate());
    let open = || Store::builder(dir.path()).key_provider(keys.clone()).open().unwrap();
    let store = open();
    let b = store.create_bucket("bkt").unwrap();
    let old = keys.active_key().unwrap();
    let (p1, p2) = (marked(1, 5 * MIB), marked(2, 70_000));
    upload(&store, b, "done", Encryption::S3, &[(1, &p1), (2, &p2)]);
    let up = store.create_upload(b, "open", &enc_opts(Encryption::S3)).unwrap().upload_id;
    store.upload_part(b, "open", &up, 1, &p2[..], &PartOptions::default()).unwrap();
    let usage = store.key_usage(old).unwrap();
    assert_eq!((usage.versions, usage.uploads), (1, 1));
    let new = keys.rotate().unwrap();
    let report = store.rewrap(old).unwrap();
    assert_eq!((report.versions_rewrapped, report.versions_left), (1, 0), "{report:?}");
    assert_eq!((report.uploads_rewrapped, report.uploads_left), (1, 0), "{report:?}");
    assert_eq!(store.head(b, "done", None).unwrap().encryption.unwrap().key_id, new);
    assert_eq!(read(&store, b, "done", None).unwrap(), [&p1[..], &p2].concat());
    let usage = store.key_usage(old).unwrap();
    assert_eq!((usage.versions, usage.uploads), (0, 0));
    assert_eq!(store.key_usage(new).unwrap().uploads, 1);
    store.retire_key(old).unwrap();
    // The upload goes on without the old key: its data key unwraps under the new one.
    store.upload_part(b, "open", &up, 2, &p1[..], &PartOptions::default()).unwrap();
    store.complete_upload(b, "open", &up, &[(1, None), (2, None)], &CompleteOptions::default()).unwrap();
    assert_eq!(store.head(b, "open", None).unwrap().encryption.unwrap().key_id, new);
    store.close().unwrap();
    let store = open();
    assert_eq!(read(&store, b, "done", None).unwrap(), [&p1[..], &p2].concat());
    assert_eq!(read(&store, b, "open", Some((69_990, 70_010))).unwrap(), [&p2[69_990..], &p1[..10]].concat());
}
