//! SSE-C: a key the caller sends with every request. It wraps the version's fresh data key (as a
//! master key would) and is then forgotten; the envelope keeps only a random salt and
//! HMAC-SHA256(salt, key), enough to tell the right key from a wrong one (s3-rules §1.9), never the
//! key nor its MD5 (an unsalted MD5 of a key would let anyone holding the files test a guess
//! against every object sealed under it at once).

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Bytes of the random salt of a customer key's HMAC.
pub const KEY_MAC_SALT_BYTES: usize = 16;

/// A customer-provided key (SSE-C): 32 bytes for AES-256, zeroed when dropped, never printed.
#[derive(Clone)]
pub struct CustomerKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for CustomerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomerKey(..)")
    }
}

impl PartialEq for CustomerKey {
    /// Constant time: how long a comparison takes says nothing of where two keys differ.
    fn eq(&self, other: &CustomerKey) -> bool {
        self.0.iter().zip(other.0.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl Eq for CustomerKey {}

impl CustomerKey {
    /// A key from its 32 bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> CustomerKey {
        CustomerKey(Zeroizing::new(bytes))
    }

    /// A key from a slice; `None` unless it is exactly 32 bytes.
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Option<CustomerKey> {
        Some(CustomerKey::from_bytes(bytes.try_into().ok()?))
    }

    /// The key's bytes.
    #[must_use]
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key's MD5, as S3 reports it (`x-amz-server-side-encryption-customer-key-MD5`, in
    /// base64): computed from the key a request sends, never stored.
    #[must_use]
    pub fn md5(&self) -> [u8; 16] {
        Md5::digest(&self.0[..]).into()
    }
}

/// What an envelope keeps of a customer key: a random salt and HMAC-SHA256(salt, key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerKeyMac {
    /// The salt, fresh for every sealed version.
    pub salt: [u8; KEY_MAC_SALT_BYTES],
    /// HMAC-SHA256 keyed by the salt, over the customer key.
    pub mac: [u8; 32],
}

fn mac_of(salt: &[u8; KEY_MAC_SALT_BYTES]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(salt).expect("HMAC takes a key of any length")
}

impl CustomerKeyMac {
    /// The MAC of `key` under a fresh random salt.
    #[must_use]
    pub fn new(key: &CustomerKey) -> CustomerKeyMac {
        let mut salt = [0u8; KEY_MAC_SALT_BYTES];
        rand::fill(&mut salt[..]);
        let mut m = mac_of(&salt);
        m.update(key.bytes());
        CustomerKeyMac { salt, mac: m.finalize().into_bytes().into() }
    }

    /// Whether `key` is the key this MAC was made of, compared in constant time.
    #[must_use]
    pub fn matches(&self, key: &CustomerKey) -> bool {
        let mut m = mac_of(&self.salt);
        m.update(key.bytes());
        m.verify_slice(&self.mac).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mac_matches_its_key_only_and_holds_neither_the_key_nor_its_md5() {
        let key = CustomerKey::from_bytes([7; 32]);
        let mac = CustomerKeyMac::new(&key);
        assert!(mac.matches(&key));
        let mut other = [7; 32];
        other[31] ^= 1;
        assert!(!mac.matches(&CustomerKey::from_bytes(other)));
        let mut bent = mac;
        bent.mac[0] ^= 1;
        assert!(!bent.matches(&key));
        let mut salted = mac;
        salted.salt[0] ^= 1;
        assert!(!salted.matches(&key), "the salt is bound");
        // Fresh salts: two MACs of one key differ, so equal keys cannot be told apart on disk.
        let again = CustomerKeyMac::new(&key);
        assert_ne!((mac.salt, mac.mac), (again.salt, again.mac));
        assert!(again.matches(&key));
        let stored = [&mac.salt[..], &mac.mac[..]].concat();
        assert!(!stored.windows(16).any(|w| w == key.md5() || w == &key.bytes()[..16]));
    }

    #[test]
    fn keys_compare_print_and_parse_as_they_should() {
        assert_eq!(CustomerKey::from_bytes([1; 32]), CustomerKey::from_bytes([1; 32]));
        assert_ne!(CustomerKey::from_bytes([1; 32]), CustomerKey::from_bytes([2; 32]));
        assert_eq!(format!("{:?}", CustomerKey::from_bytes([1; 32])), "CustomerKey(..)");
        assert!(CustomerKey::from_slice(&[0; 31]).is_none());
        assert!(CustomerKey::from_slice(&[0; 33]).is_none());
        assert!(CustomerKey::from_slice(&[0; 32]).is_some());
        // RFC 1321 test vector shape: the MD5 of 32 zero bytes.
        let md5 = CustomerKey::from_bytes([0; 32]).md5();
        let hex: String = md5.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "70bc8f4b72a86921468bf8e8441dce51");
    }
}
