//! No (data key, nonce) pair twice (issue 16): across puts, null-version overwrites on an
//! unversioned bucket, versioned puts, KMS-style puts, copies (re-sealed under a fresh data key)
//! and retries (a conditional put refused then retried, a body broken off half way then retried),
//! every stored version's data key, unwrapped from its envelope with the provider's public
//! `unwrap`, and every chunk's nonce are distinct.
//!
//! The nonces are not taken on trust from the construction: each stored cipher chunk is opened
//! here, with `aes-gcm` directly, under the nonce DESIGN §7.6 gives it (`nonce_prefix ‖
//! u32_be(index) ‖ last`), so a chunk sealed under any other nonce fails the test. Chunk records
//! that no commit lists (the half a broken put left) must not open under any stored version's key
//! and nonce either: a retry that reused the failed attempt's sealing would show there.
//!
//! SSE-C multipart uploads are in the workload too (the engine's own SSE-C: a bucket's SSE-C block
//! is the S3 layer's), a part uploaded again included: every part of a completed object is opened
//! under the key and nonce prefix its attempt's salt derives from the upload's data key (unwrapped
//! here under the customer key), and the attempt it replaced is an orphan that must open under
//! none of them.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use common::segments::{records, segment_files, segment_id_of};
use s3lite::crypto::chunks::{CHUNK_BYTES, TAG_BYTES};
use s3lite::crypto::keys::unwrap_with;
use s3lite::crypto::parts::{derive_part_key, part_aad, upload_aad};
use s3lite::crypto::{CustomerKey, Envelope, KeyProvider, MasterKeys, SseMode, body_aad, wrap_aad};
use s3lite::format::meta::ObjectMeta;
use s3lite::format::record::{RecordKind, decode_prefix};
use s3lite::{CompleteOptions, Encryption, Error, NewVersion, PartOptions, PutOptions, Store, UploadOptions};

/// One step of a workload: what a client does, retries included.
#[derive(Debug, Clone)]
enum Op {
    /// A put; KMS-style under a named key, or the bucket's SSE-S3 default.
    Put { versioned: bool, key: u8, size: usize, kms: bool },
    /// A copy (re-sealed under a fresh data key), possibly onto an existing key.
    Copy { from_versioned: bool, from: u8, versioned: bool, to: u8 },
    /// A conditional put refused (If-None-Match: * on an existing key), then retried without it.
    RefusedThenRetried { versioned: bool, key: u8, size: usize },
    /// A put whose body breaks off half way, then retried whole.
    BrokenBodyThenRetried { versioned: bool, key: u8, size: usize },
    /// A two-part multipart upload under the customer key, part 1 uploaded twice if `again`.
    CustomerMultipart { versioned: bool, key: u8, again: bool },
}

/// The customer key of the SSE-C uploads.
const CUSTOMER_KEY: [u8; 32] = [0x5c; 32];

const SIZES: [usize; 5] = [0, 1, 5_000, 70_000, 200_000];

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    let size = proptest::sample::select(&SIZES[..]);
    prop_oneof![
        4 => (any::<bool>(), 0..3u8, size.clone(), any::<bool>())
            .prop_map(|(versioned, key, size, kms)| Op::Put { versioned, key, size, kms }),
        2 => (any::<bool>(), 0..3u8, any::<bool>(), 0..3u8)
            .prop_map(|(from_versioned, from, versioned, to)| Op::Copy { from_versioned, from, versioned, to }),
        1 => (any::<bool>(), 0..3u8, size.clone())
            .prop_map(|(versioned, key, size)| Op::RefusedThenRetried { versioned, key, size }),
        1 => (any::<bool>(), 0..3u8, size)
            .prop_map(|(versioned, key, size)| Op::BrokenBodyThenRetried { versioned, key, size }),
        1 => (any::<bool>(), 0..3u8, any::<bool>())
            .prop_map(|(versioned, key, again)| Op::CustomerMultipart { versioned, key, again }),
    ]
}

fn bucket_name(versioned: bool) -> &'static str {
    if versioned { "versioned" } else { "plain" }
}

/// A body that fails after `ok` bytes.
struct Breaks {
    data: Vec<u8>,
    ok: usize,
    at: usize,
}

impl Read for Breaks {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.ok {
            return Err(std::io::Error::other("connection reset"));
        }
        let n = buf.len().min(self.ok - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Runs `ops`; returns how many writes succeeded (each stores one sealed version).
fn run_workload(store: &Store, ops: &[Op]) -> usize {
    use s3lite::s3::types::{CopySource, ServerSideEncryption};
    let client = store.client();
    let mut stored = 0;
    for (i, op) in ops.iter().enumerate() {
        let data = common::body(
            i as u64,
            match op {
                Op::Put { size, .. }
                | Op::RefusedThenRetried { size, .. }
                | Op::BrokenBodyThenRetried { size, .. } => *size,
                Op::Copy { .. } => 0,
                Op::CustomerMultipart { .. } => 75_000,
            },
        );
        match *op {
            Op::Put { versioned, key, kms, .. } => {
                let put =
                    client.put_object().bucket(bucket_name(versioned)).key(format!("k{key}")).body(data);
                let put = if kms {
                    put.server_side_encryption(ServerSideEncryption::AwsKms).ssekms_key_id("billing")
                } else {
                    put
                };
                put.send().unwrap();
                stored += 1;
            }
            Op::Copy { from_versioned, from, versioned, to } => {
                let source = CopySource::new(bucket_name(from_versioned), format!("k{from}"));
                let r = client
                    .copy_object()
                    .bucket(bucket_name(versioned))
                    .key(format!("k{to}"))
                    .copy_source(&source)
                    .send();
                match r {
                    Ok(_) => stored += 1,
                    // No source yet, or a copy onto itself that changes nothing.
                    Err(e) => assert!(matches!(e.code(), "NoSuchKey" | "InvalidRequest"), "{e}"),
                }
            }
            Op::RefusedThenRetried { versioned, key, .. } => {
                let put = || {
                    client
                        .put_object()
                        .bucket(bucket_name(versioned))
                        .key(format!("k{key}"))
                        .body(data.clone())
                };
                match put().if_none_match("*").send() {
                    Ok(_) => stored += 1,
                    Err(e) => {
                        assert_eq!(e.code(), "PreconditionFailed", "{e}");
                        put().send().unwrap();
                        stored += 1;
                    }
                }
            }
            Op::BrokenBodyThenRetried { versioned, key, .. } => {
                let b = store.bucket(bucket_name(versioned)).unwrap().id;
                let version = if versioned { NewVersion::Unique } else { NewVersion::Null };
                let opts = PutOptions {
                    version,
                    ..PutOptions { encryption: Some(Encryption::S3), ..PutOptions::default() }
                };
                let broken = Breaks { ok: data.len() / 2, data: data.clone(), at: 0 };
                let e = store.put(b, &format!("k{key}"), broken, &opts).unwrap_err();
                assert!(matches!(e, Error::BodyRead { .. }), "{e}");
                store.put_bytes(b, &format!("k{key}"), &data, &opts).unwrap();
                stored += 1;
            }
            Op::CustomerMultipart { versioned, key, again } => {
                let b = store.bucket(bucket_name(versioned)).unwrap().id;
                let ck = CustomerKey::from_bytes(CUSTOMER_KEY);
                let create = UploadOptions {
                    encryption: Some(Encryption::Customer { key: ck.clone() }),
                    ..UploadOptions::default()
                };
                let name = format!("k{key}");
                let up = store.create_upload(b, &name, &create).unwrap().upload_id;
                let part = PartOptions { customer_key: Some(ck), ..PartOptions::default() };
                let (one, two) = data.split_at(70_000);
                if again {
                    store.upload_part(b, &name, &up, 1, one, &part).unwrap();
                }
                store.upload_part(b, &name, &up, 1, one, &part).unwrap();
                store.upload_part(b, &name, &up, 2, two, &part).unwrap();
                let version = if versioned { NewVersion::Unique } else { NewVersion::Null };
                let done = CompleteOptions { version, ..CompleteOptions::default() };
                store.complete_upload(b, &name, &up, &[(1, None), (2, None)], &done).unwrap();
                stored += 1;
            }
        }
    }
    stored
}

/// A stored sealed body (a version's, or one part of a multipart object's): its data key (a
/// part's derived key), nonce prefix and the associated data of its chunks.
struct Version {
    dek: [u8; 32],
    nonce_prefix: [u8; 7],
    aad: Vec<u8>,
    chunk_bytes: usize,
    plaintext_len: u64,
    /// The stored (sealed) body, from its chunk records in order.
    sealed: Vec<u8>,
}

/// The nonce DESIGN §7.6 gives chunk `index` of a body.
fn spec_nonce(prefix: &[u8; 7], index: u32, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// Whether `sealed` (ciphertext and tag) opens under `dek`, `nonce` and `aad`.
fn opens(dek: &[u8; 32], nonce: &[u8; 12], aad: &[u8], sealed: &[u8]) -> bool {
    let Some(n) = sealed.len().checked_sub(TAG_BYTES) else { return false };
    let mut buf = sealed[..n].to_vec();
    Aes256Gcm::new(dek.into())
        .decrypt_in_place_detached(Nonce::from_slice(nonce), aad, &mut buf, Tag::from_slice(&sealed[n..]))
        .is_ok()
}

/// Every sealed version in the store's files (superseded ones included), each data key unwrapped
/// with the associated data of the place its commit record names (a multipart object gives one
/// entry per part); how many commit records there were; and the bodies of the chunk records no
/// commit lists.
fn stored(root: &Path, keys: &MasterKeys) -> (Vec<Version>, usize, Vec<Vec<u8>>) {
    let files: HashMap<u64, Vec<u8>> =
        segment_files(root).iter().map(|f| (segment_id_of(f), std::fs::read(f).unwrap())).collect();
    let mut versions = Vec::new();
    let mut listed = HashSet::new();
    let mut chunk_records = Vec::new();
    let mut commits = 0;
    for (&segment_id, bytes) in &files {
        let store_uuid: [u8; 16] = bytes[32..48].try_into().unwrap();
        for (pos, h) in records(bytes) {
            if h.kind == RecordKind::Chunk {
                let at = pos + h.body_offset() as usize;
                chunk_records.push(((segment_id, pos as u64), bytes[at..at + h.body_len as usize].to_vec()));
            }
            if h.kind != RecordKind::ObjectCommit {
                continue;
            }
            commits += 1;
            let (_, key, meta) = decode_prefix(&bytes[pos..]).unwrap();
            let meta = ObjectMeta::decode(meta).unwrap();
            let env = Envelope::decode(meta.envelope.as_deref().expect("every version is sealed")).unwrap();
            let run = |chunks: &[s3lite::format::meta::ChunkRef], listed: &mut HashSet<(u64, u64)>| {
                let mut sealed = Vec::new();
                for c in chunks {
                    listed.insert((c.segment_id, c.offset));
                    let file = &files[&c.segment_id];
                    let (rec, _, _) = decode_prefix(&file[c.offset as usize..]).unwrap();
                    let at = c.offset as usize + rec.body_offset() as usize;
                    sealed.extend_from_slice(&file[at..at + c.len as usize]);
                }
                sealed
            };
            if let Some(seals) = &meta.part_seals {
                // An SSE-C multipart object: the upload's data key under the customer key, and
                // each part under the key its attempt's salt derives.
                assert_eq!(env.mode, SseMode::Customer);
                let aad = upload_aad(&store_uuid, h.bucket_id, key, &seals.upload_id, CHUNK_BYTES as u32);
                let wrap = wrap_aad(&aad, 0, &env.nonce_prefix, env.mode);
                let dek =
                    unwrap_with(&CUSTOMER_KEY, &env.wrapped, &wrap).expect("opens under the customer key");
                let mut at = 0;
                for (seal, &(_, n)) in seals.parts.iter().zip(&meta.part_runs) {
                    let (part_key, nonce_prefix) = derive_part_key(&dek, &seal.salt, seal.number);
                    let chunks = &meta.chunks[at..at + n as usize];
                    at += n as usize;
                    versions.push(Version {
                        dek: *part_key.bytes(),
                        nonce_prefix,
                        aad: part_aad(
                            &store_uuid,
                            h.bucket_id,
                            key,
                            &seals.upload_id,
                            seal.number,
                            CHUNK_BYTES as u32,
                        ),
                        chunk_bytes: CHUNK_BYTES,
                        plaintext_len: seal.size,
                        sealed: run(chunks, &mut listed),
                    });
                }
                continue;
            }
            let aad = body_aad(&store_uuid, h.bucket_id, key, &h.version_id, env.chunk_bytes() as u32);
            let dek = keys
                .unwrap(
                    env.key_id,
                    &env.wrapped,
                    &wrap_aad(&aad, env.plaintext_len, &env.nonce_prefix, env.mode),
                )
                .unwrap();
            let sealed = run(&meta.chunks, &mut listed);
            versions.push(Version {
                dek: *dek.bytes(),
                nonce_prefix: env.nonce_prefix,
                aad,
                chunk_bytes: env.chunk_bytes(),
                plaintext_len: env.plaintext_len,
                sealed,
            });
        }
    }
    let orphans = chunk_records.into_iter().filter(|(at, _)| !listed.contains(at)).map(|(_, b)| b).collect();
    (versions, commits, orphans)
}

/// A store with 4 KiB chunk records (so a body broken off half way leaves sealed records behind)
/// and 256 KiB segments (so the workload crosses rotations), and its keys with a named one.
fn open_store(root: &Path) -> (Store, Arc<MasterKeys>) {
    let keys = Arc::new(MasterKeys::generate());
    keys.add_named("billing").unwrap();
    let store = common::small(Store::builder(root)).key_provider(keys.clone()).open().unwrap();
    let client = store.client();
    for versioned in [false, true] {
        client.create_bucket().bucket(bucket_name(versioned)).send().unwrap();
    }
    client
        .put_bucket_versioning()
        .bucket("versioned")
        .status(s3lite::s3::types::BucketVersioningStatus::Enabled)
        .send()
        .unwrap();
    (store, keys)
}

/// Runs `ops` on a fresh store and checks what it stored: one sealed version per acknowledged
/// write, no data key twice, every chunk sealed under its own nonce and no (data key, nonce) pair
/// twice, and no chunk a failed attempt left behind sealed under a stored version's key and nonce.
/// Returns how many such orphan chunk records there were.
fn check_workload(ops: &[Op]) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let (store, keys) = open_store(&root);
    let written = run_workload(&store, ops);
    store.close().unwrap();
    let (versions, commits, orphans) = stored(&root, &keys);
    assert_eq!(commits, written, "one sealed version per acknowledged write");
    let deks: HashSet<[u8; 32]> = versions.iter().map(|v| v.dek).collect();
    assert_eq!(deks.len(), versions.len(), "a data key was drawn twice");
    let mut nonces = HashSet::new();
    // The first bytes of every stored chunk's ciphertext: a retry of the same body under a reused
    // key and nonce would store the same ciphertext, whatever its associated data.
    let mut ciphertexts = HashSet::new();
    for v in &versions {
        let chunks = sealed_chunks(&v.sealed, v.chunk_bytes);
        assert_eq!(chunks.len() as u64, v.plaintext_len.div_ceil(v.chunk_bytes as u64).max(1));
        for (i, chunk) in chunks.iter().enumerate() {
            let nonce = spec_nonce(&v.nonce_prefix, i as u32, i + 1 == chunks.len());
            assert!(opens(&v.dek, &nonce, &v.aad, chunk), "chunk {i} is not sealed under its nonce");
            assert!(nonces.insert((v.dek, nonce)), "a (data key, nonce) pair repeats");
            ciphertexts.insert(ciphertext_head(chunk));
        }
    }
    for orphan in &orphans {
        // An orphan record holds whole cipher chunks of its attempt, from some index on.
        for chunk in sealed_chunks(orphan, s3lite::crypto::chunks::CHUNK_BYTES) {
            if chunk.len() >= TAG_BYTES + 16 {
                assert!(!ciphertexts.contains(&ciphertext_head(chunk)), "a stored chunk repeats an orphan's");
            }
            for v in &versions {
                for i in 0..4 {
                    for last in [false, true] {
                        let nonce = spec_nonce(&v.nonce_prefix, i, last);
                        assert!(
                            !opens(&v.dek, &nonce, &v.aad, chunk),
                            "an orphan opens under a version's key"
                        );
                    }
                }
            }
        }
    }
    orphans.len()
}

/// A sealed body cut into its cipher chunks (ciphertext and tag each); an empty body is one empty
/// chunk's tag.
fn sealed_chunks(sealed: &[u8], chunk_bytes: usize) -> Vec<&[u8]> {
    sealed.chunks(chunk_bytes + TAG_BYTES).collect()
}

/// Up to 32 bytes of a chunk's ciphertext (its tag left out).
fn ciphertext_head(chunk: &[u8]) -> Vec<u8> {
    let body = &chunk[..chunk.len() - TAG_BYTES];
    body[..body.len().min(32)].to_vec()
}

/// Every kind of step, and both broken-body retries leave sealed chunk records behind.
#[test]
fn a_fixed_workload_of_every_kind_of_write_repeats_no_key_or_nonce() {
    let ops = [
        Op::Put { versioned: false, key: 0, size: 200_000, kms: false },
        Op::Put { versioned: false, key: 0, size: 200_000, kms: false },
        Op::Put { versioned: true, key: 0, size: 70_000, kms: true },
        Op::Put { versioned: true, key: 0, size: 0, kms: false },
        Op::Copy { from_versioned: false, from: 0, versioned: false, to: 1 },
        Op::Copy { from_versioned: true, from: 0, versioned: true, to: 0 },
        Op::RefusedThenRetried { versioned: false, key: 0, size: 5_000 },
        Op::BrokenBodyThenRetried { versioned: false, key: 2, size: 200_000 },
        Op::BrokenBodyThenRetried { versioned: true, key: 2, size: 200_000 },
        Op::Put { versioned: false, key: 2, size: 1, kms: true },
        Op::CustomerMultipart { versioned: false, key: 1, again: true },
        Op::CustomerMultipart { versioned: true, key: 1, again: false },
        Op::CustomerMultipart { versioned: true, key: 1, again: true },
    ];
    assert!(
        check_workload(&ops) >= 4,
        "each broken 200 KB put and each replaced part left a sealed chunk record"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 16, ..Default::default() })]

    /// Random workloads of puts, overwrites, copies and retries.
    #[test]
    fn no_data_key_and_nonce_pair_repeats(ops in proptest::collection::vec(op(), 1..30)) {
        check_workload(&ops);
    }
}
