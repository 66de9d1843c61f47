//! Tampering with sealed versions in the store's files (issue 16): bit flips in ciphertext, tags
//! and the envelope, swapped and truncated chunks, sealed records moved to another key or
//! version. Each gives an integrity error (`Corruption`, 500 `InternalError`) and no byte of the
//! tampered chunk's plaintext.
//!
//! Each tamper case copies a pristine store (written through the public API on a RealStorage temp
//! dir), edits its segment files, reopens it and reads. An edit "with CRCs fixed" recomputes every
//! record's header and body CRC and every group-commit marker's group CRC of the file (DESIGN
//! §3.2, §3.5; `common::segments`), so the store opens as if it had been written that way and only
//! the cryptography can catch the edit. Where the wrap's associated data would catch an edit first, a second case
//! re-wraps the data key for the edited place with the test's master keys (an attacker who can
//! make the provider wrap), so that the chunks' own tags and associated data are what catches it.
//!
//! The store opens a run of up to 16 cipher chunks (1 MiB) before any byte of it leaves, so a
//! streaming read of a 200 KiB body with a bad chunk serves nothing at all; a range that touches
//! only intact chunks is served.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::segments::{
    Crcs, Located, copy_dir, edit, flip, locate, locate_commit, put_meta, records, refresh_crcs,
    segment_files,
};
use s3lite::crypto::chunks::{CHUNK_BYTES, TAG_BYTES};
use s3lite::crypto::{KeyProvider, MasterKeys};
use s3lite::format::record::{
    RECORD_HEADER_BYTES, RecordKind, RecordParts, decode_header, decode_prefix, encode_record,
};
use s3lite::{
    BucketId, ByteRange, Checkpoints, Encryption, Error, GetOptions, NewVersion, PutOptions, Store,
};

/// Plaintext bytes per cipher chunk, and their sealed size (ciphertext and tag).
const C: usize = CHUNK_BYTES;
const SEALED_CHUNK: usize = C + TAG_BYTES;
/// Three full cipher chunks and a last one of 8 KiB.
const BIG: usize = 200 * 1024;
/// One cipher chunk, the last.
const SMALL: usize = 1000;

// The pristine store and reading a tampered copy of it.

struct Pristine {
    _dir: tempfile::TempDir,
    root: PathBuf,
    keys: Arc<MasterKeys>,
    bucket: BucketId,
}

fn sealed() -> PutOptions {
    PutOptions { encryption: Some(Encryption::S3), ..PutOptions::default() }
}

fn big(seed: u64) -> Vec<u8> {
    common::body(seed, BIG)
}

fn small(seed: u64) -> Vec<u8> {
    common::body(seed, SMALL)
}

/// Two big and two small sealed objects, and `ver` in two versions, each of its own body. Without
/// a checkpoint (unless `checkpoint`), so that the next open replays every record as it finds it.
fn pristine(checkpoint: bool) -> Pristine {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let keys = Arc::new(MasterKeys::generate());
    let store = builder(&root, &keys).open().unwrap();
    let bucket = store.create_bucket("bkt").unwrap();
    for (key, body) in [("big-a", big(1)), ("big-b", big(2)), ("small-a", small(3)), ("small-b", small(4))] {
        store.put_bytes(bucket, key, &body, &sealed()).unwrap();
    }
    for seed in [5, 6] {
        let opts = PutOptions { version: NewVersion::Unique, ..sealed() };
        store.put_bytes(bucket, "ver", &big(seed), &opts).unwrap();
    }
    if checkpoint {
        store.checkpoint().unwrap();
    }
    store.close().unwrap();
    Pristine { _dir: dir, root, keys, bucket }
}

/// The pristine store, and after `big-a` a small object in the same segment, so that a later
/// group-commit marker proves `big-a`'s group synced: damage in it is then corruption, not a torn
/// tail (DESIGN §6, `segment/scan.rs`).
fn pristine_with_big_a_followed() -> Pristine {
    let p = pristine(false);
    let store = builder(&p.root, &p.keys).open().unwrap();
    let segment = locate_commit(&p.root, "big-a", None).file;
    // Keys go to partitions by hash: one of the first few hundred lands in big-a's.
    let follower = (0..512)
        .map(|i| format!("follow-{i}"))
        .find(|key| {
            store.put_bytes(p.bucket, key, b"after", &sealed()).unwrap();
            locate_commit(&p.root, key, None).file == segment
        })
        .expect("a key in big-a's partition");
    store.close().unwrap();
    assert_eq!(locate_commit(&p.root, &follower, None).file, segment);
    p
}

fn builder(root: &Path, keys: &Arc<MasterKeys>) -> s3lite::StoreBuilder {
    Store::builder(root).key_provider(keys.clone()).checkpoints(Checkpoints::OnDemand)
}

/// A tampered copy of the pristine store.
struct Case {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Pristine {
    fn copy(&self) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        copy_dir(&self.root, &root);
        Case { _dir: dir, root }
    }

    fn open(&self, case: &Case) -> s3lite::Result<Store> {
        builder(&case.root, &self.keys).open()
    }
}

/// What a read of a tampered object gave.
#[derive(Debug)]
enum Outcome {
    /// `get` itself refused (before any reader).
    Refused(Error),
    /// The streaming reader failed after serving `got`.
    Failed { got: Vec<u8>, error: Error },
    /// The whole body (or range) was served.
    Served(Vec<u8>),
}

/// Reads `key` through the streaming reader (`Read`, 4 KiB at a time), keeping what it served
/// before any error; and again with `read_to_vec`, which opens whole chunk records where they
/// land in its buffer (another path through the cipher), and must agree: the same bytes, or an
/// error with the same code and nothing served.
fn read(
    store: &Store,
    bucket: BucketId,
    key: &str,
    version: Option<[u8; 16]>,
    range: Option<&str>,
) -> Outcome {
    let streamed = read_streaming(store, bucket, key, version, range);
    let opts = GetOptions {
        version: version.map(s3lite::VersionId),
        range: range.map(|r| ByteRange::parse(r).unwrap()),
        ..GetOptions::default()
    };
    let whole = store.get(bucket, key, &opts).and_then(|(_, mut r)| r.read_to_vec());
    match (&streamed, &whole) {
        (Outcome::Served(got), Ok(all)) => assert!(got == all, "read_to_vec served other bytes"),
        (Outcome::Refused(e) | Outcome::Failed { error: e, .. }, Err(e2)) => {
            // The same check caught it on both paths.
            let reason = |e: &Error| {
                let m = e.to_string();
                [" crc ", TAG_FAILED, UNWRAP_FAILED].into_iter().find(|r| m.contains(r)).unwrap_or("other")
            };
            assert_eq!((e.code(), reason(e)), (e2.code(), reason(e2)), "streaming: {e}; read_to_vec: {e2}");
        }
        (s, w) => panic!("the readers disagree: streaming {s:?}, read_to_vec {:?}", w.as_ref().map(Vec::len)),
    }
    streamed
}

fn read_streaming(
    store: &Store,
    bucket: BucketId,
    key: &str,
    version: Option<[u8; 16]>,
    range: Option<&str>,
) -> Outcome {
    let opts = GetOptions {
        version: version.map(s3lite::VersionId),
        range: range.map(|r| ByteRange::parse(r).unwrap()),
        ..GetOptions::default()
    };
    let mut reader = match store.get(bucket, key, &opts) {
        Ok((_, r)) => r,
        Err(e) => return Outcome::Refused(e),
    };
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Outcome::Served(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => {
                // The reader hands the store's error over as the `io::Error`'s inner error.
                let msg = e.to_string();
                let error = *e
                    .into_inner()
                    .and_then(|inner| inner.downcast::<Error>().ok())
                    .unwrap_or_else(|| panic!("not the store's error: {msg}"));
                return Outcome::Failed { got, error };
            }
        }
    }
}

/// The read failed with `Corruption` whose reason holds `why`, and served nothing of the body from
/// cipher chunk `bad_chunk` on (what it served is an intact prefix of whole chunks before it).
#[track_caller]
fn assert_integrity(outcome: &Outcome, body: &[u8], bad_chunk: usize, why: &str) {
    let (got, error) = match outcome {
        Outcome::Refused(e) => (&[][..], e),
        Outcome::Failed { got, error } => (&got[..], error),
        Outcome::Served(got) => panic!("served {} bytes of a tampered body ({why})", got.len()),
    };
    assert!(matches!(error, Error::Corruption { .. }), "{why}: {error}");
    assert_eq!((error.code(), error.http_status()), ("InternalError", 500));
    assert!(error.to_string().contains(why), "expected {why:?} in: {error}");
    assert!(body.starts_with(got), "served bytes that are not the body's");
    assert!(
        got.len() <= bad_chunk * C,
        "served {} bytes, past the intact chunks before {bad_chunk}",
        got.len()
    );
}

#[track_caller]
fn assert_served(outcome: &Outcome, want: &[u8], what: &str) {
    match outcome {
        Outcome::Served(got) => assert!(got == want, "{what}: served bytes differ"),
        other => panic!("{what}: {other:?}"),
    }
}

/// The message of a tag that did not verify; of a wrap that did not unwrap.
const TAG_FAILED: &str = "failed authentication";
const UNWRAP_FAILED: &str = "does not unwrap";

// ---------------------------------------------------------------------------------------------
// Tamper cases.

#[test]
fn a_raw_flip_in_a_sealed_chunk_record_is_caught_by_its_crc_before_the_cipher() {
    // Without a checkpoint, the open replays the record and refuses it: a later marker proves it
    // was synced, so the bad CRC is damage, not a torn write.
    let p = pristine_with_big_a_followed();
    let case = p.copy();
    let a = locate(&case.root, "big-a", None);
    edit(&[a.chunks[0].file.clone()], Crcs::Stale, |f| {
        flip(&mut f[0], a.chunks[0].body_at + 2 * SEALED_CHUNK + 5, 1)
    });
    let e = p.open(&case).map(drop).unwrap_err();
    assert!(matches!(e, Error::Corruption { .. }) && e.to_string().contains("crc"), "{e}");

    // With a checkpoint covering it, the open does not replay it: the read's CRC check catches it,
    // for the whole record (its CRC covers every cipher chunk in it), before any tag is checked.
    let p = pristine(true);
    let case = p.copy();
    let a = locate(&case.root, "big-a", None);
    edit(&[a.chunks[0].file.clone()], Crcs::Stale, |f| {
        flip(&mut f[0], a.chunks[0].body_at + 2 * SEALED_CHUNK + 5, 1)
    });
    let store = p.open(&case).unwrap();
    assert_integrity(&read(&store, p.bucket, "big-a", None, None), &big(1), 0, "crc");
    assert_integrity(&read(&store, p.bucket, "big-a", None, Some("bytes=0-99")), &big(1), 0, "crc");
    assert!(!read_err(&store, p.bucket, "big-a").contains(TAG_FAILED));
    assert_served(&read(&store, p.bucket, "big-b", None, None), &big(2), "an untouched object");
}

fn read_err(store: &Store, bucket: BucketId, key: &str) -> String {
    match read(store, bucket, key, None, None) {
        Outcome::Refused(e) | Outcome::Failed { error: e, .. } => e.to_string(),
        Outcome::Served(_) => panic!("served"),
    }
}

#[test]
fn a_bit_flipped_in_ciphertext_with_crcs_fixed_fails_the_tag_and_serves_none_of_it() {
    let p = pristine(false);
    let body = big(1);
    for chunk in [0, 2, 3] {
        let case = p.copy();
        let a = locate(&case.root, "big-a", None);
        let at = a.chunks[0].body_at + chunk * SEALED_CHUNK + 100;
        edit(&[a.chunks[0].file.clone()], Crcs::Fixed, |f| flip(&mut f[0], at, 6));
        let store = p.open(&case).unwrap();
        let whole = read(&store, p.bucket, "big-a", None, None);
        assert_integrity(&whole, &body, chunk, TAG_FAILED);
        // The whole body is one batch of cipher chunks: nothing leaves before the bad one either.
        assert!(matches!(&whole, Outcome::Failed { got, .. } if got.is_empty()), "{chunk}: {whole:?}");
        let range = format!("bytes={}-{}", chunk * C, chunk * C + 9);
        assert_integrity(&read(&store, p.bucket, "big-a", None, Some(&range)), &body, chunk, TAG_FAILED);
        if chunk > 0 {
            // A range of intact chunks before it opens only those, and is served.
            let intact = format!("bytes=0-{}", chunk * C - 1);
            assert_served(
                &read(&store, p.bucket, "big-a", None, Some(&intact)),
                &body[..chunk * C],
                "intact",
            );
        }
    }
    let case = p.copy();
    let s = locate(&case.root, "small-a", None);
    edit(&[s.chunks[0].file.clone()], Crcs::Fixed, |f| flip(&mut f[0], s.chunks[0].body_at + 500, 0));
    let store = p.open(&case).unwrap();
    assert_integrity(&read(&store, p.bucket, "small-a", None, None), &small(3), 0, TAG_FAILED);
    assert_served(&read(&store, p.bucket, "small-b", None, None), &small(4), "an untouched object");
}

#[test]
fn a_bit_flipped_in_a_chunk_tag_with_crcs_fixed_fails_it() {
    let p = pristine(false);
    let case = p.copy();
    let a = locate(&case.root, "big-a", None);
    let s = locate(&case.root, "small-a", None);
    // The last byte of chunk 1's tag, and the first of the small body's only tag.
    let files = [a.chunks[0].file.clone(), s.chunks[0].file.clone()];
    edit(&files, Crcs::Fixed, |f| {
        let same = files[0] == files[1];
        flip(&mut f[0], a.chunks[0].body_at + 2 * SEALED_CHUNK - 1, 7);
        flip(&mut f[usize::from(!same)], s.chunks[0].body_at + SMALL, 3);
    });
    let store = p.open(&case).unwrap();
    assert_integrity(&read(&store, p.bucket, "big-a", None, None), &big(1), 1, TAG_FAILED);
    assert_served(&read(&store, p.bucket, "big-a", None, Some("bytes=0-65535")), &big(1)[..C], "chunk 0");
    assert_integrity(&read(&store, p.bucket, "small-a", None, None), &small(3), 0, TAG_FAILED);
}

#[test]
fn a_bit_flipped_anywhere_in_the_envelope_with_crcs_fixed_serves_no_byte() {
    let p = pristine(false);
    let probe = p.copy();
    let a = locate(&probe.root, "big-a", None);
    let envelope = a.envelope.encode();
    // The envelope's offset in the commit record's meta.
    let meta_bytes = a.meta.encode();
    let env_in_meta = meta_bytes.windows(envelope.len()).position(|w| w == envelope).unwrap();
    for i in 0..envelope.len() {
        let case = p.copy();
        // The same record in the copy's files.
        let a = locate(&case.root, "big-a", None);
        // Captured, so shown only when this byte's case fails.
        eprintln!("envelope byte {i}");
        edit(std::slice::from_ref(&a.file), Crcs::Fixed, |f| {
            flip(&mut f[0], a.meta_at() + env_in_meta + i, (i % 8) as u8)
        });
        let store = p.open(&case).unwrap();
        let outcome = read(&store, p.bucket, "big-a", None, None);
        match i {
            // The master key id: it names a key the provider does not have.
            2..18 => match &outcome {
                Outcome::Refused(e @ Error::KeyUnavailable { .. }) => {
                    assert!(e.to_string().contains("is not known"), "byte {i}: {e}")
                }
                other => panic!("byte {i}: {other:?}"),
            },
            // Layout, mode, wrap algorithm, chunk size: the envelope does not decode, or names
            // another chunk size (then the stored length does not match), or the plaintext length
            // differs from the index's; the wrap nonce, wrapped key and nonce prefix: the wrap does
            // not verify. Each is corruption, and no byte leaves.
            _ => assert_integrity(&outcome, &big(1), 0, ""),
        }
        if (31..79).contains(&i) {
            // A flip in the wrapped key itself is named as a wrap that does not verify.
            assert_integrity(&outcome, &big(1), 0, UNWRAP_FAILED);
        }
    }
    // The small object's wrapped key.
    let case = p.copy();
    let s = locate(&case.root, "small-a", None);
    let mut meta = s.meta.clone();
    let mut env = s.envelope.clone();
    env.wrapped.sealed[20] ^= 0x10;
    meta.envelope = Some(env.encode());
    edit(std::slice::from_ref(&s.file), Crcs::Fixed, |f| put_meta(&mut f[0], &s, &meta));
    let store = p.open(&case).unwrap();
    assert_integrity(&read(&store, p.bucket, "small-a", None, None), &small(3), 0, UNWRAP_FAILED);
}

#[test]
fn two_cipher_chunks_swapped_with_crcs_fixed_fail_their_tags() {
    let p = pristine(false);
    let case = p.copy();
    let a = locate(&case.root, "big-a", None);
    let at = a.chunks[0].body_at;
    edit(&[a.chunks[0].file.clone()], Crcs::Fixed, |f| {
        let (first, rest) = f[0][at..at + 2 * SEALED_CHUNK].split_at_mut(SEALED_CHUNK);
        first.swap_with_slice(rest);
    });
    let store = p.open(&case).unwrap();
    assert_integrity(&read(&store, p.bucket, "big-a", None, None), &big(1), 0, TAG_FAILED);
    assert_integrity(
        &read(&store, p.bucket, "big-a", None, Some("bytes=65536-65545")),
        &big(1),
        0,
        TAG_FAILED,
    );
    // Chunks 2 and 3 are where they were: a range of them is served.
    assert_served(
        &read(&store, p.bucket, "big-a", None, Some("bytes=131072-")),
        &big(1)[2 * C..],
        "chunks 2-3",
    );
}

/// Cuts the last cipher chunk (8 KiB + tag) out of `a`'s chunk record, CRCs fixed. The freed
/// bytes become an orphan chunk record of their own (as an abandoned put leaves), so every later
/// record stays where it was. With `claim_shorter`, the commit record's meta says the body is three
/// chunks long (size, chunk length, envelope's plaintext length), so that no length check can
/// catch the cut; with `rewrap` too, the data key is wrapped again for that length.
fn cut_last_chunk(p: &Pristine, case: &Case, key: &str, claim_shorter: bool, rewrap: bool) {
    let a = locate(&case.root, key, None);
    assert_eq!(a.chunks.len(), 1, "one chunk record holds all four cipher chunks");
    let chunk = a.chunks[0].clone();
    let cut = chunk.len - 3 * SEALED_CHUNK;
    assert_eq!(cut, BIG - 3 * C + TAG_BYTES);
    assert_eq!(cut % 8, 0, "the record stays 8-byte aligned");
    let mut meta = a.meta.clone();
    if claim_shorter {
        let mut env = a.envelope.clone();
        meta.size = 3 * C as u64;
        meta.chunks[0].len = 3 * SEALED_CHUNK as u64;
        env.plaintext_len = 3 * C as u64;
        if rewrap {
            let dek = p.keys.unwrap(env.key_id, &a.envelope.wrapped, &a.wrap_aad(&a.envelope)).unwrap();
            env.wrapped = p.keys.wrap(env.key_id, &dek, &a.wrap_aad(&env)).unwrap();
        }
        meta.envelope = Some(env.encode());
    }
    let mut files = vec![chunk.file.clone()];
    if a.file != chunk.file {
        files.push(a.file.clone());
    }
    edit(&files, Crcs::Fixed, |f| {
        let bytes = &mut f[0];
        let new_len = (chunk.len - cut) as u64;
        bytes[chunk.record_at + 48..chunk.record_at + 56].copy_from_slice(&new_len.to_le_bytes());
        let filler_at = chunk.body_at + chunk.len - cut;
        let filler = encode_record(&RecordParts {
            kind: RecordKind::Chunk,
            flags: 0,
            seq: 0,
            bucket_id: a.header.bucket_id,
            version_id: [0xee; 16],
            chunk_index: 0,
            key: b"orphan",
            meta: &[],
            body: &vec![0u8; cut - RECORD_HEADER_BYTES - 8],
        });
        assert_eq!(filler.len(), cut);
        bytes[filler_at..filler_at + cut].copy_from_slice(&filler);
        let commit = usize::from(files.len() == 2);
        put_meta(&mut f[commit], &a, &meta);
    });
    // The edit is what it claims: the files hold the cut record and the claimed lengths.
    let bytes = std::fs::read(&chunk.file).unwrap();
    let h = decode_header(&bytes[chunk.record_at..]).unwrap();
    assert_eq!((h.kind, h.body_len as usize), (RecordKind::Chunk, 3 * SEALED_CHUNK));
    let after = locate_commit(&case.root, key, None);
    assert_eq!(after.meta.chunks[0].len as usize, if claim_shorter { 3 * SEALED_CHUNK } else { chunk.len });
}

#[test]
fn a_truncated_body_with_crcs_fixed_is_caught_by_its_lengths_its_wrap_or_its_last_flag() {
    let p = pristine(false);
    let body = big(1);
    // Only the record cut: its length no longer matches the commit record's chunk list.
    let case = p.copy();
    cut_last_chunk(&p, &case, "big-a", false, false);
    let store = p.open(&case).unwrap();
    assert_integrity(&read(&store, p.bucket, "big-a", None, None), &body, 0, "record identity");

    // The lengths claim three chunks: the wrap binds the plaintext length, so the key does not unwrap.
    let case = p.copy();
    cut_last_chunk(&p, &case, "big-a", true, false);
    let store = p.open(&case).unwrap();
    assert_eq!(store.head(p.bucket, "big-a", None).unwrap().size, 3 * C as u64);
    assert_integrity(&read(&store, p.bucket, "big-a", None, None), &body, 0, UNWRAP_FAILED);

    // And the key wrapped again for the shorter length: chunk 2 now has to be the last, and its
    // tag was made with the last flag clear.
    let case = p.copy();
    cut_last_chunk(&p, &case, "big-a", true, true);
    let store = p.open(&case).unwrap();
    let outcome = read(&store, p.bucket, "big-a", None, None);
    assert_integrity(&outcome, &body, 2, TAG_FAILED);
    assert!(outcome_error(&outcome).to_string().contains("chunk 2"), "{outcome:?}");
    // Chunks 0 and 1 are intact and not the last: a range of them is served.
    assert_served(
        &read(&store, p.bucket, "big-a", None, Some("bytes=0-131071")),
        &body[..2 * C],
        "chunks 0-1",
    );
}

fn outcome_error(o: &Outcome) -> &Error {
    match o {
        Outcome::Refused(e) | Outcome::Failed { error: e, .. } => e,
        Outcome::Served(_) => panic!("served"),
    }
}

/// What is moved from one version to another of equal sealed length.
#[derive(Clone, Copy, Debug)]
enum Move {
    /// The chunk records' bodies only (the target keeps its own envelope).
    Chunks,
    /// The chunk records' bodies and the envelope, as stored.
    ChunksAndEnvelope,
    /// Both, with the data key wrapped again for the target's place.
    ChunksAndRewrappedEnvelope,
}

/// Copies `from`'s sealed chunk bodies (and envelope) over `to`'s, CRCs fixed.
fn move_sealed(p: &Pristine, from: &Located, to: &Located, what: Move) {
    assert_eq!(from.chunks.len(), to.chunks.len());
    let mut files: Vec<PathBuf> = Vec::new();
    for c in to.chunks.iter().map(|c| &c.file).chain([&to.file]) {
        if !files.contains(c) {
            files.push(c.clone());
        }
    }
    let sources: Vec<Vec<u8>> = from
        .chunks
        .iter()
        .map(|c| std::fs::read(&c.file).unwrap()[c.body_at..c.body_at + c.len].to_vec())
        .collect();
    let mut meta = to.meta.clone();
    match what {
        Move::Chunks => {}
        Move::ChunksAndEnvelope => meta.envelope = Some(from.envelope.encode()),
        Move::ChunksAndRewrappedEnvelope => {
            let mut env = from.envelope.clone();
            let dek = p.keys.unwrap(env.key_id, &env.wrapped, &from.wrap_aad(&env)).unwrap();
            env.wrapped = p.keys.wrap(env.key_id, &dek, &to.wrap_aad(&env)).unwrap();
            meta.envelope = Some(env.encode());
        }
    }
    edit(&files, Crcs::Fixed, |f| {
        for (c, src) in to.chunks.iter().zip(&sources) {
            assert_eq!(c.len, src.len(), "equal sealed lengths");
            let i = files.iter().position(|p| *p == c.file).unwrap();
            f[i][c.body_at..c.body_at + c.len].copy_from_slice(src);
        }
        let i = files.iter().position(|p| *p == to.file).unwrap();
        put_meta(&mut f[i], to, &meta);
    });
}

#[test]
fn sealed_records_moved_to_another_key_or_version_with_crcs_fixed_serve_no_byte() {
    let p = pristine(false);
    let probe = p.copy();
    let versions: Vec<[u8; 16]> = {
        let newest = locate(&probe.root, "ver", None);
        let all: Vec<[u8; 16]> = segment_files(&probe.root)
            .iter()
            .flat_map(|f| {
                let bytes = std::fs::read(f).unwrap();
                records(&bytes)
                    .into_iter()
                    .filter(|(pos, h)| {
                        h.kind == RecordKind::ObjectCommit
                            && decode_prefix(&bytes[*pos..]).unwrap().1 == b"ver"
                    })
                    .map(|(_, h)| h.version_id)
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(all.len(), 2);
        let older = *all.iter().find(|v| **v != newest.header.version_id).unwrap();
        vec![older, newest.header.version_id]
    };
    // (from key, from version, to key, to version, the target's own body)
    type Version = Option<[u8; 16]>;
    let moves: [(&str, Version, &str, Version, Vec<u8>); 3] = [
        ("big-a", None, "big-b", None, big(2)),
        ("small-a", None, "small-b", None, small(4)),
        ("ver", Some(versions[0]), "ver", Some(versions[1]), big(6)),
    ];
    for (from_key, from_v, to_key, to_v, target_body) in moves {
        for what in [Move::Chunks, Move::ChunksAndEnvelope, Move::ChunksAndRewrappedEnvelope] {
            let case = p.copy();
            let from = locate(&case.root, from_key, from_v);
            let to = locate(&case.root, to_key, to_v);
            move_sealed(&p, &from, &to, what);
            let store = p.open(&case).unwrap();
            let outcome = read(&store, p.bucket, to_key, to_v, None);
            let why = match what {
                // The target's data key does not open chunks sealed under another.
                Move::Chunks => TAG_FAILED,
                // The wrap's associated data names the target's key or version.
                Move::ChunksAndEnvelope => UNWRAP_FAILED,
                // The right data key, but the chunks' associated data names the source.
                Move::ChunksAndRewrappedEnvelope => TAG_FAILED,
            };
            let ctx = format!("{from_key} -> {to_key} ({what:?})");
            assert_integrity(&outcome, &target_body, 0, why);
            if let Outcome::Failed { got, .. } = &outcome {
                assert!(got.is_empty(), "{ctx}: served {} bytes", got.len());
            }
            // Not the source's plaintext either, through a range of its first chunk.
            let first = read(&store, p.bucket, to_key, to_v, Some("bytes=0-99"));
            assert_integrity(&first, &target_body, 0, why);
            // The source is untouched and still reads.
            let source_body = match from_key {
                "big-a" => big(1),
                "small-a" => small(3),
                _ => big(5),
            };
            assert_served(&read(&store, p.bucket, from_key, from_v, None), &source_body, &ctx);
        }
    }
}

#[test]
fn an_untampered_copy_of_the_store_reads_back_whole() {
    // The edit machinery itself changes nothing when nothing is edited: CRCs recomputed over the
    // unchanged bytes are the stored ones.
    let p = pristine(false);
    let case = p.copy();
    for f in segment_files(&case.root) {
        let before = std::fs::read(&f).unwrap();
        let mut after = before.clone();
        refresh_crcs(&mut after);
        assert!(before == after, "{} changed", f.display());
        assert!(records(&before).iter().any(|(_, h)| h.kind == RecordKind::GroupCommit));
    }
    let store = p.open(&case).unwrap();
    assert_served(&read(&store, p.bucket, "big-a", None, None), &big(1), "big-a");
    assert_served(&read(&store, p.bucket, "small-b", None, None), &small(4), "small-b");
}
