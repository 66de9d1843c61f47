//! Envelope encryption of object bodies (engine-anchors §9.12): every version gets a fresh random
//! 256-bit data key (DEK); the body is sealed with AES-256-GCM in chunks ([`chunks`]); the DEK is
//! wrapped under a master key (KEK) held by a [`KeyProvider`] ([`keys`]) with AES-256-GCM-SIV, and
//! the record keeps only the wrapped DEK and the KEK's id, in its [`Envelope`]. Under SSE-C the
//! caller's key ([`customer`]) wraps the DEK instead, and the envelope keeps a salted HMAC of it.
//!
//! What binds a body to its place is the associated data: the store, the bucket id (not its name:
//! a bucket recreated under the same name cannot take old ciphertext), the key and the version id.
//! Segment, offset and storage class are left out on purpose, so compaction and tier moves copy
//! ciphertext untouched. The plaintext length and the nonce prefix are bound by the wrap's
//! associated data: the length is known only at the end of a streamed put, when the DEK is wrapped.
//!
//! Randomness here never comes from a seeded store's id source: a DEK or nonce prefix repeated
//! under a reused seed would repeat nonces under one key.

pub mod chunks;
pub mod context;
pub mod customer;
pub mod envelope;
pub mod keys;
pub mod parts;

use zeroize::Zeroizing;

pub use context::{EncryptionContext, bind_context};
pub use customer::{CustomerKey, CustomerKeyMac};
pub use envelope::{Envelope, EnvelopeError, SseMode};
pub use keys::{KeyFileError, KeyId, KeyProvider, KeyState, MasterKeys, WrappedKey};

/// A data key: 32 bytes, zeroed when dropped.
#[derive(Clone)]
pub struct Dek(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for Dek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dek(..)")
    }
}

impl Dek {
    /// A fresh random key from the operating system's generator.
    #[must_use]
    pub fn random() -> Dek {
        let mut k = Zeroizing::new([0u8; 32]);
        rand::fill(&mut k[..]);
        Dek(k)
    }

    /// A key from its bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Dek {
        Dek(Zeroizing::new(bytes))
    }

    /// The key's bytes.
    #[must_use]
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// A fresh random nonce prefix for a body's chunks.
#[must_use]
pub fn random_nonce_prefix() -> [u8; 7] {
    let mut p = [0u8; 7];
    rand::fill(&mut p[..]);
    p
}

/// Why a sealed body or key did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A chunk's tag did not verify: the bytes were changed, moved, cut or extended, or belong to
    /// another object, version or key.
    #[error("encrypted chunk {chunk} failed authentication")]
    Integrity {
        /// The chunk's index.
        chunk: u64,
    },
    /// A wrapped data key did not unwrap under its master key and associated data.
    #[error("the data key does not unwrap under master key {key_id}")]
    Unwrap {
        /// The master key's id.
        key_id: String,
    },
    /// The master key an envelope names is not in the key provider.
    #[error("master key {key_id} is not known to the key provider")]
    UnknownKey {
        /// The master key's id.
        key_id: String,
    },
    /// A body past 2^32 chunks.
    #[error("body too long for one envelope")]
    TooLong,
    /// The key provider refused an operation on a key (e.g. retiring the active key).
    #[error("the key provider refused: {reason}")]
    Refused {
        /// Why.
        reason: String,
    },
}

/// Version of the associated-data layout.
const AAD_TAG: &[u8] = b"s3lite/objenv/v1";

/// The associated data every chunk of a body binds: store, bucket id, key, version id and chunk size.
#[must_use]
pub fn body_aad(
    store: &[u8; 16],
    bucket_id: u64,
    key: &[u8],
    version_id: &[u8; 16],
    chunk_bytes: u32,
) -> Vec<u8> {
    let mut a = Vec::with_capacity(AAD_TAG.len() + 16 + 8 + 4 + key.len() + 16 + 4);
    a.extend_from_slice(AAD_TAG);
    a.extend_from_slice(store);
    a.extend_from_slice(&bucket_id.to_le_bytes());
    a.extend_from_slice(&(key.len() as u32).to_le_bytes());
    a.extend_from_slice(key);
    a.extend_from_slice(version_id);
    a.extend_from_slice(&chunk_bytes.to_le_bytes());
    a
}

/// The associated data of a DEK's wrap: the body's, plus the plaintext length, the nonce prefix
/// and the encryption mode, so none of them can be changed without the unwrap failing.
#[must_use]
pub fn wrap_aad(body_aad: &[u8], plaintext_len: u64, nonce_prefix: &[u8; 7], mode: SseMode) -> Vec<u8> {
    let mut a = Vec::with_capacity(body_aad.len() + 16);
    a.extend_from_slice(body_aad);
    a.extend_from_slice(&plaintext_len.to_le_bytes());
    a.extend_from_slice(nonce_prefix);
    a.push(mode as u8);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn associated_data_differs_by_every_bound_field() {
        let base = body_aad(&[1; 16], 7, b"k", &[2; 16], 65536);
        for other in [
            body_aad(&[9; 16], 7, b"k", &[2; 16], 65536),
            body_aad(&[1; 16], 8, b"k", &[2; 16], 65536),
            body_aad(&[1; 16], 7, b"j", &[2; 16], 65536),
            body_aad(&[1; 16], 7, b"k", &[3; 16], 65536),
            body_aad(&[1; 16], 7, b"k", &[2; 16], 4096),
        ] {
            assert_ne!(base, other);
        }
        // Length-prefixed keys: ("ab", …) and ("a", "b…") cannot collide.
        assert_ne!(body_aad(&[1; 16], 7, b"ab", &[2; 16], 1), body_aad(&[1; 16], 7, b"a", &[b'b'; 16], 1));
        let w = wrap_aad(&base, 10, &[4; 7], SseMode::S3);
        assert_ne!(w, wrap_aad(&base, 11, &[4; 7], SseMode::S3));
        assert_ne!(w, wrap_aad(&base, 10, &[5; 7], SseMode::S3));
        assert_ne!(w, wrap_aad(&base, 10, &[4; 7], SseMode::Kms));
    }

    #[test]
    fn data_keys_and_prefixes_are_fresh() {
        assert_ne!(Dek::random().bytes(), Dek::random().bytes());
        assert_ne!(random_nonce_prefix(), random_nonce_prefix());
        assert_eq!(format!("{:?}", Dek::from_bytes([1; 32])), "Dek(..)");
    }
}
