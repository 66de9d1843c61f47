//! Keys and associated data of encrypted multipart uploads (engine-anchors §9.12, Multipart).
//!
//! An upload draws one data key at CreateMultipartUpload, wrapped into the start record's envelope.
//! Every part *attempt* seals under its own key, `HKDF-SHA256(upload key, salt, "s3lite/part/v1" ‖
//! part number)` with 16 fresh random salt bytes kept in the part record: a part uploaded again
//! under the same number gets a new salt, so a new key, and no (key, nonce) pair ever repeats even
//! though the chunk nonces start again at 0. The same expansion gives the part's nonce prefix, so
//! the salt is all a part needs to keep.
//!
//! Completion wraps the upload key once more, for the object: that wrap binds the object's
//! version, its length and a digest of its part list (numbers, salts, lengths), so the commit
//! record's part list cannot be reordered, shortened or moved to another version unnoticed.

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::Dek;

/// Random salt bytes per part attempt.
pub const PART_SALT_BYTES: usize = 16;

const UPLOAD_AAD_TAG: &[u8] = b"s3lite/mpuenv/v1";
const PART_AAD_TAG: &[u8] = b"s3lite/mpupart/v1";
const OBJECT_AAD_TAG: &[u8] = b"s3lite/mpuobj/v1";
const PART_KEY_INFO: &[u8] = b"s3lite/part/v1";

/// A fresh random salt for one part attempt, from the operating system's generator.
#[must_use]
pub fn random_part_salt() -> [u8; PART_SALT_BYTES] {
    let mut s = [0u8; PART_SALT_BYTES];
    rand::fill(&mut s[..]);
    s
}

/// One part of a sealed multipart object, as its commit record lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartSeal {
    /// The part number (the key derivation and the part's associated data bind it).
    pub number: u32,
    /// The salt of the part attempt the object took.
    pub salt: [u8; PART_SALT_BYTES],
    /// The part's plaintext length.
    pub size: u64,
}

/// The part attempt's key and nonce prefix: HKDF-SHA256 over the upload's data key.
#[must_use]
pub fn derive_part_key(upload_key: &Dek, salt: &[u8; PART_SALT_BYTES], number: u32) -> (Dek, [u8; 7]) {
    let hk = Hkdf::<Sha256>::new(Some(salt), upload_key.bytes());
    let mut info = Vec::with_capacity(PART_KEY_INFO.len() + 4);
    info.extend_from_slice(PART_KEY_INFO);
    info.extend_from_slice(&number.to_be_bytes());
    let mut okm = Zeroizing::new([0u8; 39]);
    hk.expand(&info, &mut okm[..]).expect("39 bytes is far under HKDF-SHA256's 8160-byte limit");
    let mut key = [0u8; 32];
    key.copy_from_slice(&okm[..32]);
    let mut prefix = [0u8; 7];
    prefix.copy_from_slice(&okm[32..]);
    let dek = Dek::from_bytes(key);
    zeroize::Zeroize::zeroize(&mut key);
    (dek, prefix)
}

fn common(tag: &[u8], store: &[u8; 16], bucket_id: u64, key: &[u8], id: &[u8; 16]) -> Vec<u8> {
    let mut a = Vec::with_capacity(tag.len() + 16 + 8 + 4 + key.len() + 16 + 4 + 32);
    a.extend_from_slice(tag);
    a.extend_from_slice(store);
    a.extend_from_slice(&bucket_id.to_le_bytes());
    a.extend_from_slice(&(key.len() as u32).to_le_bytes());
    a.extend_from_slice(key);
    a.extend_from_slice(id);
    a
}

/// What the upload's wrap binds (with `super::wrap_aad`'s length 0, nonce prefix and mode): store,
/// bucket id, key, upload id and chunk size.
#[must_use]
pub fn upload_aad(
    store: &[u8; 16],
    bucket_id: u64,
    key: &[u8],
    upload_id: &[u8; 16],
    chunk_bytes: u32,
) -> Vec<u8> {
    let mut a = common(UPLOAD_AAD_TAG, store, bucket_id, key, upload_id);
    a.extend_from_slice(&chunk_bytes.to_le_bytes());
    a
}

/// What every chunk of a part binds: store, bucket id, key, upload id, part number and chunk size.
#[must_use]
pub fn part_aad(
    store: &[u8; 16],
    bucket_id: u64,
    key: &[u8],
    upload_id: &[u8; 16],
    number: u32,
    chunk_bytes: u32,
) -> Vec<u8> {
    let mut a = common(PART_AAD_TAG, store, bucket_id, key, upload_id);
    a.extend_from_slice(&number.to_le_bytes());
    a.extend_from_slice(&chunk_bytes.to_le_bytes());
    a
}

/// What the completed object's wrap binds (with `super::wrap_aad`'s length, nonce prefix and
/// mode): store, bucket id, key, version id, chunk size, the upload id and the SHA-256 of the part
/// list.
#[must_use]
pub fn object_aad(
    store: &[u8; 16],
    bucket_id: u64,
    key: &[u8],
    version_id: &[u8; 16],
    chunk_bytes: u32,
    upload_id: &[u8; 16],
    parts: &[PartSeal],
) -> Vec<u8> {
    let mut a = common(OBJECT_AAD_TAG, store, bucket_id, key, version_id);
    a.extend_from_slice(&chunk_bytes.to_le_bytes());
    a.extend_from_slice(upload_id);
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.number.to_le_bytes());
        h.update(p.salt);
        h.update(p.size.to_le_bytes());
    }
    a.extend_from_slice(&h.finalize());
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_keys_differ_by_salt_number_and_upload_key() {
        let k = Dek::from_bytes([1; 32]);
        let (a, pa) = derive_part_key(&k, &[2; 16], 1);
        let (same, psame) = derive_part_key(&k, &[2; 16], 1);
        assert_eq!((a.bytes(), pa), (same.bytes(), psame), "deterministic");
        for (other, po) in [
            derive_part_key(&k, &[3; 16], 1),
            derive_part_key(&k, &[2; 16], 2),
            derive_part_key(&Dek::from_bytes([9; 32]), &[2; 16], 1),
        ] {
            assert_ne!(a.bytes(), other.bytes());
            assert_ne!(pa, po);
        }
        assert_ne!(random_part_salt(), random_part_salt());
    }

    #[test]
    fn associated_data_differs_by_every_bound_field() {
        let base = part_aad(&[1; 16], 7, b"k", &[2; 16], 1, 65536);
        for other in [
            part_aad(&[9; 16], 7, b"k", &[2; 16], 1, 65536),
            part_aad(&[1; 16], 8, b"k", &[2; 16], 1, 65536),
            part_aad(&[1; 16], 7, b"j", &[2; 16], 1, 65536),
            part_aad(&[1; 16], 7, b"k", &[3; 16], 1, 65536),
            part_aad(&[1; 16], 7, b"k", &[2; 16], 2, 65536),
            part_aad(&[1; 16], 7, b"k", &[2; 16], 1, 4096),
            upload_aad(&[1; 16], 7, b"k", &[2; 16], 65536),
        ] {
            assert_ne!(base, other);
        }
        let p = |n, s, z| PartSeal { number: n, salt: [s; 16], size: z };
        let parts = [p(1, 1, 10), p(2, 2, 20)];
        let o = |v: [u8; 16], parts: &[PartSeal]| object_aad(&[1; 16], 7, b"k", &v, 65536, &[2; 16], parts);
        let base = o([5; 16], &parts);
        assert_ne!(base, o([6; 16], &parts));
        assert_ne!(base, o([5; 16], &[p(2, 2, 20), p(1, 1, 10)]), "order");
        assert_ne!(base, o([5; 16], &[p(1, 1, 10)]), "a part left out");
        assert_ne!(base, o([5; 16], &[p(1, 1, 10), p(2, 3, 20)]), "another attempt");
        assert_ne!(base, o([5; 16], &[p(1, 1, 10), p(2, 2, 21)]), "another length");
    }
}
