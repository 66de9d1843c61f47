//! A store's segment files read and edited in place, for tests that tamper with what is stored:
//! records found by their headers (DESIGN §3.2), CRCs recomputed after an edit (record header and
//! body CRCs, group-commit markers §3.5, seals §3.6) so that the store opens as if it had been
//! written that way, and the commit and chunk records of a sealed version located.

use std::path::{Path, PathBuf};

use s3lite::crypto::chunks::CHUNK_BYTES;
use s3lite::crypto::{Envelope, body_aad, wrap_aad};
use s3lite::format::masked_crc;
use s3lite::format::meta::ObjectMeta;
use s3lite::format::record::{
    GroupCommitBody, RECORD_HEADER_BYTES, RecordHeader, RecordKind, SealBody, decode_header, decode_prefix,
};

/// Where segment records start (DESIGN §3.1).
pub const DATA_START: usize = 4096;

/// Every file under `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out.sort();
    out
}

/// The segment files (`*.seg`) under a store's root.
pub fn segment_files(root: &Path) -> Vec<PathBuf> {
    files_under(root).into_iter().filter(|p| p.extension().is_some_and(|e| e == "seg")).collect()
}

/// Copies the directory tree `from` to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target)
        } else {
            std::fs::copy(e.path(), target).map(drop).unwrap()
        }
    }
}

/// The records of a segment file, in order: (offset, header).
pub fn records(bytes: &[u8]) -> Vec<(usize, RecordHeader)> {
    let mut out = Vec::new();
    let mut pos = DATA_START;
    while pos + RECORD_HEADER_BYTES <= bytes.len() {
        let Ok(h) = decode_header(&bytes[pos..]) else { break };
        out.push((pos, h));
        pos += h.record_len() as usize;
    }
    out
}

/// Recomputes every CRC of a segment file after an edit: each record's body and header CRC, each
/// group-commit marker's group CRC and record count, a seal's segment CRC. In file order, so each
/// marker covers records whose own CRCs are already final.
pub fn refresh_crcs(bytes: &mut [u8]) {
    let mut group_start = DATA_START;
    let mut group_records = 0u32;
    for (pos, h) in records(bytes) {
        let km_end = pos + RECORD_HEADER_BYTES + usize::from(h.key_len) + h.meta_len as usize;
        let body_at = pos + h.body_offset() as usize;
        let body = body_at..body_at + h.body_len as usize;
        match h.kind {
            RecordKind::GroupCommit => {
                let mut g = GroupCommitBody::decode(&bytes[body.clone()]).unwrap();
                assert_eq!(g.group_start as usize, group_start, "marker at {pos}");
                g.group_len = (pos - group_start) as u64;
                g.group_crc = masked_crc(&bytes[group_start..pos]);
                g.record_count = group_records;
                bytes[body.clone()].copy_from_slice(&g.encode());
            }
            RecordKind::Seal => {
                let mut s = SealBody::decode(&bytes[body.clone()]).unwrap();
                s.segment_crc = masked_crc(&bytes[..pos]);
                bytes[body.clone()].copy_from_slice(&s.encode());
            }
            _ => {}
        }
        let body_crc = masked_crc(&bytes[body]);
        bytes[pos + 56..pos + 60].copy_from_slice(&body_crc.to_le_bytes());
        let header_crc = masked_crc(&bytes[pos + 8..km_end]);
        bytes[pos + 4..pos + 8].copy_from_slice(&header_crc.to_le_bytes());
        if h.kind == RecordKind::GroupCommit {
            group_start = pos + h.record_len() as usize;
            group_records = 0;
        } else {
            group_records += 1;
        }
    }
}

/// Whether an edit leaves the CRCs as they were (so they catch it) or recomputes them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Crcs {
    /// As stored before the edit: the store's CRC checks see it.
    Stale,
    /// Recomputed over the edited bytes: only what is inside them (the cipher) can see it.
    Fixed,
}

/// Edits every file `f` asks to, then recomputes the CRCs of each edited file when asked.
pub fn edit(files: &[PathBuf], crcs: Crcs, f: impl FnOnce(&mut [Vec<u8>])) {
    let mut contents: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let before = contents.clone();
    f(&mut contents);
    for ((path, mut bytes), old) in files.iter().zip(contents).zip(before) {
        if bytes == old {
            continue;
        }
        if crcs == Crcs::Fixed {
            refresh_crcs(&mut bytes);
        }
        std::fs::write(path, bytes).unwrap();
    }
}

/// Where a chunk record's body is: (file, record offset, body offset).
#[derive(Clone, Debug)]
pub struct ChunkAt {
    pub file: PathBuf,
    pub record_at: usize,
    pub body_at: usize,
    pub len: usize,
}

/// A sealed version as found in the files.
#[derive(Clone, Debug)]
pub struct Located {
    pub file: PathBuf,
    pub record_at: usize,
    pub header: RecordHeader,
    pub key: Vec<u8>,
    pub meta: ObjectMeta,
    pub envelope: Envelope,
    pub chunks: Vec<ChunkAt>,
    pub store_uuid: [u8; 16],
}

impl Located {
    /// Where the commit record's meta starts in its file.
    pub fn meta_at(&self) -> usize {
        self.record_at + RECORD_HEADER_BYTES + self.key.len()
    }

    /// The associated data of this version's chunks.
    pub fn body_aad(&self) -> Vec<u8> {
        body_aad(
            &self.store_uuid,
            self.header.bucket_id,
            &self.key,
            &self.header.version_id,
            CHUNK_BYTES as u32,
        )
    }

    /// The associated data of this version's wrap, for an envelope `env` placed here.
    pub fn wrap_aad(&self, env: &Envelope) -> Vec<u8> {
        wrap_aad(&self.body_aad(), env.plaintext_len, &env.nonce_prefix, env.mode)
    }
}

/// The segment id a segment file's name holds (hex).
pub fn segment_id_of(path: &Path) -> u64 {
    u64::from_str_radix(path.file_stem().unwrap().to_str().unwrap(), 16).unwrap()
}

/// The newest commit record of `key` (of `version` when given) in the store's files, without its
/// chunks.
pub fn locate_commit(root: &Path, key: &str, version: Option<[u8; 16]>) -> Located {
    let segs = segment_files(root);
    let mut best: Option<Located> = None;
    for file in &segs {
        let bytes = std::fs::read(file).unwrap();
        for (pos, h) in records(&bytes) {
            if h.kind != RecordKind::ObjectCommit || version.is_some_and(|v| v != h.version_id) {
                continue;
            }
            let (_, k, meta) = decode_prefix(&bytes[pos..]).unwrap();
            if k != key.as_bytes() || best.as_ref().is_some_and(|b| b.header.seq > h.seq) {
                continue;
            }
            let meta_bytes = meta.to_vec();
            let meta = ObjectMeta::decode(&meta_bytes).unwrap();
            assert_eq!(
                meta.encode(),
                meta_bytes,
                "meta re-encodes to its bytes, so it can be edited in place"
            );
            let envelope = Envelope::decode(meta.envelope.as_deref().expect("sealed")).unwrap();
            best = Some(Located {
                file: file.clone(),
                record_at: pos,
                header: h,
                key: k.to_vec(),
                chunks: Vec::new(),
                envelope,
                meta,
                store_uuid: bytes[32..48].try_into().unwrap(),
            });
        }
    }
    best.unwrap_or_else(|| panic!("no commit record of {key}"))
}

/// The newest commit record of `key` (of `version` when given), and the chunk records it lists,
/// each checked to be a chunk record of the listed length.
pub fn locate(root: &Path, key: &str, version: Option<[u8; 16]>) -> Located {
    let segs = segment_files(root);
    let mut found = locate_commit(root, key, version);
    for c in &found.meta.chunks {
        let file = segs.iter().find(|p| segment_id_of(p) == c.segment_id).expect("chunk's segment").clone();
        let bytes = std::fs::read(&file).unwrap();
        let h = decode_header(&bytes[c.offset as usize..]).unwrap();
        assert_eq!((h.kind, h.body_len), (RecordKind::Chunk, c.len));
        let body_at = c.offset as usize + h.body_offset() as usize;
        found.chunks.push(ChunkAt { file, record_at: c.offset as usize, body_at, len: c.len as usize });
    }
    found
}

/// Rewrites `at`'s commit record meta to `meta` (same length: fixed-width fields only).
pub fn put_meta(bytes: &mut [u8], at: &Located, meta: &ObjectMeta) {
    let encoded = meta.encode();
    assert_eq!(encoded.len(), at.header.meta_len as usize, "an in-place meta edit keeps its length");
    bytes[at.meta_at()..at.meta_at() + encoded.len()].copy_from_slice(&encoded);
}

/// Flips one bit of the byte at `offset`.
pub fn flip(bytes: &mut [u8], offset: usize, bit: u8) {
    bytes[offset] ^= 1 << bit;
}
