//! The envelope a sealed version's meta carries: how its body was sealed and its data key wrapped.
//! Fixed layout, little-endian, version 1:
//!
//! | field | bytes |
//! |---|---|
//! | layout version (1) | 1 |
//! | mode (1 SSE-S3, 2 SSE-KMS, 3 SSE-C) | 1 |
//! | master key id | 16 |
//! | wrap algorithm (1 = AES-256-GCM-SIV) | 1 |
//! | wrap nonce | 12 |
//! | wrapped data key (32 + 16 tag) | 48 |
//! | chunk nonce prefix | 7 |
//! | log2 of the chunk size | 1 |
//! | plaintext length | 8 |
//! | SSE-C only: HMAC salt, HMAC-SHA256 of the customer key | 16 + 32 |

use super::keys::{KeyId, WrappedKey};

/// How a version is encrypted, as S3 reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SseMode {
    /// `AES256`: a master key of the store's.
    S3 = 1,
    /// `aws:kms`: a named master key.
    Kms = 2,
    /// SSE-C: the caller's key, sent with every request.
    Customer = 3,
}

/// A sealed version's envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The mode.
    pub mode: SseMode,
    /// The master key the data key is wrapped under (for SSE-C, all zeros: the caller's key).
    pub key_id: KeyId,
    /// The wrapped data key.
    pub wrapped: WrappedKey,
    /// The chunks' nonce prefix.
    pub nonce_prefix: [u8; 7],
    /// log2 of the plaintext bytes per chunk (10 to 24).
    pub chunk_log2: u8,
    /// The plaintext length.
    pub plaintext_len: u64,
    /// SSE-C: a random salt and the HMAC-SHA256 of the customer key under it, to tell a wrong
    /// key from a right one without keeping the key.
    pub customer_key_mac: Option<([u8; 16], [u8; 32])>,
}

/// An envelope that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad encryption envelope: {reason}")]
pub struct EnvelopeError {
    /// What is wrong.
    pub reason: String,
}

const LAYOUT: u8 = 1;
const WRAP_GCM_SIV: u8 = 1;
const BASE_LEN: usize = 1 + 1 + 16 + 1 + 12 + 48 + 7 + 1 + 8;
const CUSTOMER_LEN: usize = BASE_LEN + 16 + 32;
/// The chunk sizes an envelope may name.
const CHUNK_LOG2: std::ops::RangeInclusive<u8> = 10..=24;

impl Envelope {
    /// Plaintext bytes per chunk.
    #[must_use]
    pub fn chunk_bytes(&self) -> usize {
        1 << self.chunk_log2
    }

    /// The encoded envelope.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(CUSTOMER_LEN);
        b.push(LAYOUT);
        b.push(self.mode as u8);
        b.extend_from_slice(&self.key_id.0);
        b.push(WRAP_GCM_SIV);
        b.extend_from_slice(&self.wrapped.nonce);
        b.extend_from_slice(&self.wrapped.sealed);
        b.extend_from_slice(&self.nonce_prefix);
        b.push(self.chunk_log2);
        b.extend_from_slice(&self.plaintext_len.to_le_bytes());
        if let Some((salt, mac)) = &self.customer_key_mac {
            b.extend_from_slice(salt);
            b.extend_from_slice(mac);
        }
        b
    }

    /// Decodes an envelope.
    ///
    /// # Errors
    /// `EnvelopeError` naming what is wrong: length, layout version, mode, wrap algorithm, chunk size.
    pub fn decode(b: &[u8]) -> Result<Envelope, EnvelopeError> {
        let bad = |reason: String| EnvelopeError { reason };
        if b.len() < BASE_LEN {
            return Err(bad(format!("{} bytes, at least {BASE_LEN} expected", b.len())));
        }
        if b[0] != LAYOUT {
            return Err(bad(format!("layout version {}, expected {LAYOUT}", b[0])));
        }
        let mode = match b[1] {
            1 => SseMode::S3,
            2 => SseMode::Kms,
            3 => SseMode::Customer,
            m => return Err(bad(format!("unknown mode {m}"))),
        };
        let want = if mode == SseMode::Customer { CUSTOMER_LEN } else { BASE_LEN };
        if b.len() != want {
            return Err(bad(format!("{} bytes, {want} expected for mode {}", b.len(), b[1])));
        }
        if b[18] != WRAP_GCM_SIV {
            return Err(bad(format!("unknown wrap algorithm {}", b[18])));
        }
        let take = |at: usize, n: usize| &b[at..at + n];
        let chunk_log2 = b[86];
        if !CHUNK_LOG2.contains(&chunk_log2) {
            return Err(bad(format!("chunk size 2^{chunk_log2} out of range")));
        }
        let arr16 = |at| <[u8; 16]>::try_from(take(at, 16)).expect("length checked");
        Ok(Envelope {
            mode,
            key_id: KeyId(arr16(2)),
            wrapped: WrappedKey {
                nonce: take(19, 12).try_into().expect("length checked"),
                sealed: take(31, 48).try_into().expect("length checked"),
            },
            nonce_prefix: take(79, 7).try_into().expect("length checked"),
            chunk_log2,
            plaintext_len: u64::from_le_bytes(take(87, 8).try_into().expect("length checked")),
            customer_key_mac: (mode == SseMode::Customer)
                .then(|| (arr16(95), take(111, 32).try_into().expect("length checked"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(mode: SseMode) -> Envelope {
        Envelope {
            mode,
            key_id: KeyId([3; 16]),
            wrapped: WrappedKey { nonce: [4; 12], sealed: [5; 48] },
            nonce_prefix: [6; 7],
            chunk_log2: 16,
            plaintext_len: 123_456_789,
            customer_key_mac: (mode == SseMode::Customer).then_some(([7; 16], [8; 32])),
        }
    }

    #[test]
    fn envelopes_round_trip_and_bad_ones_name_the_problem() {
        for mode in [SseMode::S3, SseMode::Kms, SseMode::Customer] {
            let e = sample(mode);
            let b = e.encode();
            assert_eq!(b.len(), if mode == SseMode::Customer { CUSTOMER_LEN } else { BASE_LEN });
            assert_eq!(Envelope::decode(&b).unwrap(), e);
            for cut in 0..b.len() {
                assert!(Envelope::decode(&b[..cut]).is_err(), "{mode:?} cut at {cut}");
            }
        }
        let b = sample(SseMode::S3).encode();
        let with = |at: usize, v: u8| {
            let mut c = b.clone();
            c[at] = v;
            Envelope::decode(&c).unwrap_err().reason
        };
        assert!(with(0, 2).contains("layout version 2"));
        assert!(with(1, 9).contains("unknown mode 9"));
        assert!(with(1, 3).contains("143 expected"));
        assert!(with(18, 0).contains("wrap algorithm 0"));
        assert!(with(86, 9).contains("2^9"));
        assert!(with(86, 25).contains("2^25"));
        let mut long = b.clone();
        long.push(0);
        assert!(Envelope::decode(&long).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_to_an_error_or_to_what_encodes_back(data in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            if let Ok(e) = Envelope::decode(&data) {
                proptest::prop_assert_eq!(e.encode(), data);
            }
        }
    }
}
