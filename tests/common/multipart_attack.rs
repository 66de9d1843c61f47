//! The multipart crypto-shred attacker (master keys, the SSE-C key and every file of the store,
//! trying every slot's bytes and zeros) and the helpers its tests share
//! (`tests/crypto_shred_multipart.rs`, `tests/regression_multipart_shred_review.rs`).
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::common::{body, small};
use s3lite::crypto::chunks::{BodyCipher, CHUNK_BYTES};
use s3lite::crypto::keys::unwrap_with;
use s3lite::crypto::parts::{derive_part_key, object_aad, part_aad, upload_aad};
use s3lite::crypto::{CustomerKey, Dek, Envelope, KeyProvider, MasterKeys, SseMode, wrap_aad};
use s3lite::format::meta::ObjectMeta;
use s3lite::format::record::{RecordKind, decode_record};
use s3lite::format::segment_header::SegmentHeader;
use s3lite::segment::scan::{SegmentState, scan_segment};
use s3lite::{
    BucketId, CompleteOptions, Encryption, GetOptions, PartOptions, Store, StoreBuilder, UploadOptions,
};

pub const SLOT_BYTES: usize = 80;

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out
}

/// Everything an attacker can read of `key`'s multipart records in the store's files.
#[derive(Default)]
pub struct Found {
    pub uuid: [u8; 16],
    /// Segment id → file bytes.
    pub segments: HashMap<u64, Vec<u8>>,
    /// (bucket, version id, meta) of each sealed multipart commit record.
    pub commits: Vec<(u64, [u8; 16], ObjectMeta)>,
    /// (bucket, upload id, meta) of each start record.
    pub starts: Vec<(u64, [u8; 16], ObjectMeta)>,
    /// (upload id, part number) → the part record's meta.
    pub parts: HashMap<([u8; 16], u32), ObjectMeta>,
    /// Every 32-byte secret a slot file holds, and zeros (an attacker tries them all).
    pub secrets: Vec<[u8; 32]>,
}

pub fn scan(dir: &Path, key: &str) -> Found {
    let mut f = Found { secrets: vec![[0; 32]], ..Found::default() };
    for path in files_under(dir) {
        let bytes = std::fs::read(&path).unwrap();
        if path.file_name().is_some_and(|n| n == "KEYSLOTS") {
            for s in bytes.chunks_exact(SLOT_BYTES) {
                f.secrets.push(s[..32].try_into().unwrap());
            }
            continue;
        }
        let Ok(h) = SegmentHeader::decode(&bytes) else { continue };
        f.uuid = h.store_uuid;
        for r in scan_segment(&bytes, SegmentState::Active, true).records {
            if r.key != key.as_bytes() {
                continue;
            }
            let rec = &bytes[r.offset as usize..(r.offset + r.header.record_len()) as usize];
            let view = decode_record(rec).unwrap();
            let (bucket, id) = (r.header.bucket_id, r.header.version_id);
            match r.header.kind {
                RecordKind::ObjectCommit => {
                    let meta = ObjectMeta::decode(view.meta).unwrap();
                    if meta.part_seals.is_some() {
                        f.commits.push((bucket, id, meta));
                    }
                }
                RecordKind::MultipartStart => {
                    f.starts.push((bucket, id, ObjectMeta::decode(view.meta).unwrap()))
                }
                RecordKind::MultipartPart => {
                    f.parts.insert((id, r.header.chunk_index), ObjectMeta::decode(view.meta).unwrap());
                }
                _ => {}
            }
        }
        f.segments.insert(h.segment_id, bytes);
    }
    f
}

/// Who attacks: the master keys, and the customer key of an SSE-C upload.
pub struct Attacker<'a> {
    pub keys: &'a MasterKeys,
    pub customer: Option<&'a CustomerKey>,
}

impl Attacker<'_> {
    /// The half an envelope wraps (`dek ⊕ secret` on a shredding store), unwrapped under `aad`.
    pub fn half(&self, env: &Envelope, aad: &[u8]) -> Option<Dek> {
        match (env.mode, self.customer) {
            (SseMode::Customer, Some(k)) => unwrap_with(k.bytes(), &env.wrapped, aad),
            (SseMode::Customer, None) => None,
            _ => self.keys.unwrap(env.key_id, &env.wrapped, aad).ok(),
        }
    }

    /// Every upload key the files give (each envelope's half joined with each candidate secret),
    /// with the upload id it is for.
    pub fn upload_keys(&self, f: &Found, key: &str) -> Vec<([u8; 16], u64, [u8; 32])> {
        let mut halves = Vec::new();
        for (bucket, upload, meta) in &f.starts {
            let env = Envelope::decode(meta.envelope.as_deref().expect("a sealed upload")).unwrap();
            let a = upload_aad(&f.uuid, *bucket, key.as_bytes(), upload, CHUNK_BYTES as u32);
            if let Some(h) = self.half(&env, &wrap_aad(&a, 0, &env.nonce_prefix, env.mode)) {
                halves.push((*upload, *bucket, *h.bytes()));
            }
        }
        for (bucket, version, meta) in &f.commits {
            let env = Envelope::decode(meta.envelope.as_deref().unwrap()).unwrap();
            let seals = meta.part_seals.as_ref().unwrap();
            let wrap = if env.mode == SseMode::Customer {
                let a = upload_aad(&f.uuid, *bucket, key.as_bytes(), &seals.upload_id, CHUNK_BYTES as u32);
                wrap_aad(&a, 0, &env.nonce_prefix, env.mode)
            } else {
                let a = object_aad(
                    &f.uuid,
                    *bucket,
                    key.as_bytes(),
                    version,
                    CHUNK_BYTES as u32,
                    &seals.upload_id,
                    &seals.parts,
                );
                wrap_aad(&a, env.plaintext_len, &env.nonce_prefix, env.mode)
            };
            if let Some(h) = self.half(&env, &wrap) {
                halves.push((seals.upload_id, *bucket, *h.bytes()));
            }
        }
        let mut out = Vec::new();
        for (upload, bucket, half) in halves {
            for s in &f.secrets {
                out.push((upload, bucket, std::array::from_fn(|i| half[i] ^ s[i])));
            }
        }
        out
    }

    /// Part 1's first cipher chunk of any upload of `key`, opened with any key the files give.
    pub fn part_one(&self, dir: &Path, key: &str) -> Option<Vec<u8>> {
        let f = scan(dir, key);
        for (upload, bucket, dek) in self.upload_keys(&f, key) {
            let Some(part) = f.parts.get(&(upload, 1)) else { continue };
            let (part_key, prefix) = derive_part_key(&Dek::from_bytes(dek), &part.part_salt.unwrap(), 1);
            let c = part.chunks[0];
            let seg = &f.segments[&c.segment_id];
            let view = decode_record(&seg[c.offset as usize..]).unwrap();
            let sealed = &view.body[..(CHUNK_BYTES + 16).min(view.body.len())];
            let aad = part_aad(&f.uuid, bucket, key.as_bytes(), &upload, 1, CHUNK_BYTES as u32);
            let cipher = BodyCipher::new(&part_key, prefix, aad, CHUNK_BYTES);
            let mut out = Vec::new();
            let last = part.size <= CHUNK_BYTES as u64;
            if cipher.open_chunk(0, last, sealed, &mut out).is_ok() {
                return Some(out);
            }
        }
        None
    }
}

pub fn shredding(dir: &Path, keys: &Arc<MasterKeys>) -> StoreBuilder {
    small(Store::builder(dir)).key_provider(keys.clone()).crypto_shred(true)
}

pub fn owned_slots(dir: &Path) -> usize {
    let bytes = std::fs::read(dir.join("KEYSLOTS")).unwrap();
    bytes.chunks_exact(SLOT_BYTES).filter(|s| s.iter().any(|&x| x != 0)).count()
}

pub fn read(
    store: &Store,
    b: BucketId,
    key: &str,
    customer: Option<&CustomerKey>,
) -> s3lite::Result<Vec<u8>> {
    let opts = GetOptions { customer_key: customer.cloned(), ..GetOptions::default() };
    let (_, mut r) = store.get(b, key, &opts)?;
    r.read_to_vec()
}

/// Begins an upload of `key` and uploads parts 1 and 2 (100,000 and 30,000 bytes).
pub fn two_parts(store: &Store, b: BucketId, key: &str, customer: Option<&CustomerKey>, seed: u64) -> String {
    let create = UploadOptions {
        encryption: customer.map(|k| Encryption::Customer { key: k.clone() }),
        ..UploadOptions::default()
    };
    let id = store.create_upload(b, key, &create).unwrap().upload_id;
    let opts = PartOptions { customer_key: customer.cloned(), ..PartOptions::default() };
    store.upload_part(b, key, &id, 1, &body(seed, 100_000)[..], &opts).unwrap();
    store.upload_part(b, key, &id, 2, &body(seed + 1, 30_000)[..], &opts).unwrap();
    id
}

pub fn complete(store: &Store, b: BucketId, key: &str, id: &str) {
    store.complete_upload(b, key, id, &[(1, None), (2, None)], &CompleteOptions::default()).unwrap();
}
