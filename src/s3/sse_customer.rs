//! SSE-C request headers: the algorithm (`AES256`), the key in base64 and the key's MD5 in base64,
//! checked as S3 checks them (the order and the messages follow S3's answers: a missing algorithm,
//! a missing key, another algorithm, a key that is not 32 bytes, a missing MD5, an MD5 that does
//! not match), and what the outputs report back.
//!
//! Real S3 takes SSE-C only over HTTPS. s3lite is an embedded store, and its HTTP host serves
//! plain HTTP on localhost, so the key travels only as far as the caller's own machine; SSE-C is
//! taken over either.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::Zeroizing;

use super::S3;
use super::types::ServerSideEncryption;
use crate::engine::catalog::{BucketInfo, EncryptionType};
use crate::engine::crypto::CustomerKey;
use crate::engine::crypto::SseMode;
use crate::engine::options::{Encryption, EncryptionInfo, ObjectInfo};
use crate::error::{Error, Result};

/// The one SSE-C algorithm S3 takes.
pub const SSE_CUSTOMER_ALGORITHM: &str = "AES256";

/// `x-amz-server-side-encryption-customer-key` as sent: the base64 of a 32-byte key. Zeroed when
/// dropped; its debug form shows no byte of it.
#[derive(Clone, PartialEq, Eq)]
pub struct SseCustomerKey(Zeroizing<String>);

impl std::fmt::Debug for SseCustomerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SseCustomerKey(..)")
    }
}

impl SseCustomerKey {
    /// The base64 of `key`, as a request carries it.
    #[must_use]
    pub fn of_bytes(key: &[u8]) -> SseCustomerKey {
        SseCustomerKey(Zeroizing::new(B64.encode(key)))
    }

    /// The text as sent.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for SseCustomerKey {
    fn from(s: String) -> SseCustomerKey {
        SseCustomerKey(Zeroizing::new(s))
    }
}

impl From<&str> for SseCustomerKey {
    fn from(s: &str) -> SseCustomerKey {
        SseCustomerKey(Zeroizing::new(s.to_owned()))
    }
}

impl From<&String> for SseCustomerKey {
    fn from(s: &String) -> SseCustomerKey {
        SseCustomerKey::from(s.as_str())
    }
}

/// The base64 MD5 of a key, as `x-amz-server-side-encryption-customer-key-MD5` carries it.
#[must_use]
pub fn sse_customer_key_md5(key: &[u8]) -> String {
    use md5::{Digest, Md5};
    B64.encode(Md5::digest(key))
}

/// The three SSE-C headers of one side of a request (the object's own, or a copy's source).
pub(super) struct SseCustomerHeaders<'a> {
    pub(super) algorithm: Option<&'a String>,
    pub(super) key: Option<&'a SseCustomerKey>,
    pub(super) key_md5: Option<&'a String>,
    /// Header-name prefix: `x-amz-server-side-encryption-customer` or
    /// `x-amz-copy-source-server-side-encryption-customer`.
    pub(super) names: &'static SseCustomerNames,
}

/// The header names of one side's SSE-C headers, for error messages.
pub(super) struct SseCustomerNames {
    algorithm: &'static str,
    key: &'static str,
    key_md5: &'static str,
}

/// The object's own SSE-C headers.
pub(super) const OBJECT_HEADERS: SseCustomerNames = SseCustomerNames {
    algorithm: "x-amz-server-side-encryption-customer-algorithm",
    key: "x-amz-server-side-encryption-customer-key",
    key_md5: "x-amz-server-side-encryption-customer-key-MD5",
};

/// A copy's source's SSE-C headers.
pub(super) const COPY_SOURCE_HEADERS: SseCustomerNames = SseCustomerNames {
    algorithm: "x-amz-copy-source-server-side-encryption-customer-algorithm",
    key: "x-amz-copy-source-server-side-encryption-customer-key",
    key_md5: "x-amz-copy-source-server-side-encryption-customer-key-MD5",
};

const NEEDS_ALGORITHM: &str = "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.";
const NEEDS_KEY: &str = "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.";
const BAD_KEY: &str = "The secret key was invalid for the specified algorithm.";
const NEEDS_MD5: &str = "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.";
const MD5_MISMATCH: &str = "The calculated MD5 hash of the key did not match the hash that was provided.";

impl SseCustomerHeaders<'_> {
    /// The customer key the headers carry, `None` when they carry none.
    ///
    /// # Errors
    /// `InvalidArgument` naming the header for a key without an algorithm, an algorithm (or an
    /// MD5) without a key, a key that is not the base64 of 32 bytes (the value shows its length,
    /// never the key), a missing or mismatching MD5; `InvalidEncryptionAlgorithm` for an
    /// algorithm other than `AES256`.
    pub(super) fn key(&self) -> Result<Option<CustomerKey>> {
        let n = self.names;
        let invalid = |name: &'static str, value: String, reason: &str| Error::InvalidArgument {
            name,
            value,
            reason: reason.to_owned(),
        };
        let (algorithm, text) = match (self.algorithm, self.key, self.key_md5) {
            (None, None, None) => return Ok(None),
            (None, Some(_), _) => return Err(invalid(n.algorithm, String::new(), NEEDS_ALGORITHM)),
            (_, None, _) => return Err(invalid(n.key, String::new(), NEEDS_KEY)),
            (Some(a), Some(k), _) => (a, k),
        };
        if algorithm != SSE_CUSTOMER_ALGORITHM {
            return Err(Error::InvalidEncryptionAlgorithm {
                header: n.algorithm,
                algorithm: algorithm.clone(),
            });
        }
        let raw = Zeroizing::new(
            B64.decode(text.as_str().trim()).map_err(|_| invalid(n.key, "(not base64)".into(), BAD_KEY))?,
        );
        let key = CustomerKey::from_slice(&raw)
            .ok_or_else(|| invalid(n.key, format!("(a {}-byte key)", raw.len()), BAD_KEY))?;
        let Some(md5) = self.key_md5 else {
            return Err(invalid(n.key_md5, String::new(), NEEDS_MD5));
        };
        // Compared as decoded digests: base64 of one digest has one canonical spelling, but a
        // trailing newline or space from a shell should not make a right MD5 wrong.
        if B64.decode(md5.trim()).ok().as_deref() != Some(&key.md5()[..]) {
            return Err(invalid(n.key_md5, md5.clone(), MD5_MISMATCH));
        }
        Ok(Some(key))
    }
}

/// The customer key one side's three SSE-C headers carry (`names`: the object's or a copy
/// source's), checked as [`SseCustomerHeaders::key`] checks them.
pub(super) fn customer_key_of(
    algorithm: Option<&String>,
    key: Option<&SseCustomerKey>,
    key_md5: Option<&String>,
    names: &'static SseCustomerNames,
) -> Result<Option<CustomerKey>> {
    SseCustomerHeaders { algorithm, key, key_md5, names }.key()
}

/// The engine's sealing for a write: SSE-C when the request carries a customer key, else what
/// `x-amz-server-side-encryption` and the KMS key id ask for.
///
/// # Errors
/// `InvalidArgument` for a customer key together with `x-amz-server-side-encryption` (as S3:
/// "Server Side Encryption with Customer provided key is incompatible with the encryption method
/// specified"), and as [`super::objects::encryption_of`].
pub(super) fn write_encryption(
    customer: Option<&CustomerKey>,
    sse: Option<ServerSideEncryption>,
    kms_key: Option<&String>,
) -> Result<Option<Encryption>> {
    match (customer, sse) {
        (Some(_), Some(sse)) => Err(Error::InvalidArgument {
            name: "x-amz-server-side-encryption",
            value: sse.as_str().into(),
            reason: "Server Side Encryption with Customer provided key is incompatible with the encryption method specified".into(),
        }),
        (Some(key), None) => match kms_key {
            Some(k) => Err(Error::InvalidArgument {
                name: "x-amz-server-side-encryption-aws-kms-key-id",
                value: k.clone(),
                reason: "a KMS key id needs x-amz-server-side-encryption: aws:kms".into(),
            }),
            None => Ok(Some(Encryption::Customer { key: key.clone() })),
        },
        (None, _) => super::objects::encryption_of(sse, kms_key),
    }
}

impl S3 {
    /// The customer key a write into `bucket` carries in its SSE-C headers (checked as
    /// [`customer_key_of`] checks them), refused when the bucket blocks SSE-C
    /// ([`S3::sse_customer_allowed`]): PutObject, CopyObject, CreateMultipartUpload, UploadPart and
    /// UploadPartCopy (their destination) take it before anything is written.
    ///
    /// # Errors
    /// As `customer_key_of`, and `AccessDenied` (403) for a blocked bucket.
    pub(super) fn write_customer_key(
        &self,
        bucket: &BucketInfo,
        algorithm: Option<&String>,
        key: Option<&SseCustomerKey>,
        key_md5: Option<&String>,
    ) -> Result<Option<CustomerKey>> {
        let customer = customer_key_of(algorithm, key, key_md5, &OBJECT_HEADERS)?;
        if customer.is_some() {
            self.sse_customer_allowed(bucket)?;
        }
        Ok(customer)
    }

    /// The encryption types a bucket whose configuration names none blocks: SSE-C for a bucket
    /// created under a profile dated 2026-04-06 or later, as S3 blocks it on every new bucket
    /// since then (user guide, "Blocking or unblocking SSE-C for a general purpose bucket"), in a
    /// store that encrypts by default; nothing in a store that does not (it stands for S3 before
    /// the 2023 default, when SSE-C was open).
    pub(super) fn default_blocked_encryption_types(
        &self,
        bucket: &BucketInfo,
    ) -> Option<Vec<EncryptionType>> {
        let profile = bucket.created_profile.unwrap_or(self.store.profile());
        (self.store.encrypts_by_default() && profile.new_buckets_block_sse_c())
            .then(|| vec![EncryptionType::SseC])
    }

    /// Whether `bucket` takes writes sealed under a customer key: PutObject, CopyObject,
    /// CreateMultipartUpload, UploadPart and UploadPartCopy (their destination) call it before
    /// anything is written. Reads of SSE-C objects already there (and copies out of them) are
    /// never refused by it, as in S3.
    ///
    /// # Errors
    /// `AccessDenied` (403) when the bucket's `BlockedEncryptionTypes` (or, naming none, the
    /// store's default) include `SSE-C`.
    pub(super) fn sse_customer_allowed(&self, bucket: &BucketInfo) -> Result<()> {
        let blocked = match bucket.encryption.as_ref().and_then(|e| e.blocked_encryption_types.clone()) {
            Some(types) => types,
            None => self.default_blocked_encryption_types(bucket).unwrap_or_default(),
        };
        if blocked.contains(&EncryptionType::SseC) {
            return Err(Error::AccessDenied {
                reason: format!(
                    "SSE-C is blocked for bucket {}: its encryption configuration's BlockedEncryptionTypes include SSE-C (PutBucketEncryption with BlockedEncryptionTypes NONE allows it)",
                    bucket.name
                ),
            });
        }
        Ok(())
    }
}

/// What an output reports of a customer-sealed version: (`x-amz-server-side-encryption-customer-algorithm`,
/// `x-amz-server-side-encryption-customer-key-MD5`), the MD5 computed from the key the request
/// sent (the store keeps no MD5).
pub(super) fn reported_customer(
    info: &ObjectInfo,
    key: Option<&CustomerKey>,
) -> (Option<String>, Option<String>) {
    reported_customer_sealing(info.encryption.as_ref(), key)
}

/// As [`reported_customer`], for a sealing (a multipart upload's, as its start record says).
pub(super) fn reported_customer_sealing(
    enc: Option<&EncryptionInfo>,
    key: Option<&CustomerKey>,
) -> (Option<String>, Option<String>) {
    match (enc, key) {
        (Some(e), Some(k)) if e.mode == SseMode::Customer => {
            (Some(SSE_CUSTOMER_ALGORITHM.to_owned()), Some(B64.encode(k.md5())))
        }
        _ => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(
        algorithm: Option<&'a String>,
        key: Option<&'a SseCustomerKey>,
        key_md5: Option<&'a String>,
    ) -> SseCustomerHeaders<'a> {
        SseCustomerHeaders { algorithm, key, key_md5, names: &OBJECT_HEADERS }
    }

    #[test]
    fn sse_c_headers_are_checked_in_s3s_order_with_its_messages() {
        let raw = [9u8; 32];
        let aes = String::from("AES256");
        let key = SseCustomerKey::of_bytes(&raw);
        let md5 = sse_customer_key_md5(&raw);
        let got = headers(Some(&aes), Some(&key), Some(&md5)).key().unwrap().unwrap();
        assert_eq!(got.bytes(), &raw);
        assert!(headers(None, None, None).key().unwrap().is_none());
        let short = SseCustomerKey::of_bytes(&[9u8; 16]);
        let short_md5 = sse_customer_key_md5(&[9u8; 16]);
        let not_b64 = SseCustomerKey::from("***");
        let other_md5 = sse_customer_key_md5(&[8u8; 32]);
        let aes128 = String::from("AES128");
        for (h, code, name, says) in [
            (
                headers(None, Some(&key), Some(&md5)),
                "InvalidArgument",
                OBJECT_HEADERS.algorithm,
                NEEDS_ALGORITHM,
            ),
            (headers(Some(&aes), None, Some(&md5)), "InvalidArgument", OBJECT_HEADERS.key, NEEDS_KEY),
            (headers(None, None, Some(&md5)), "InvalidArgument", OBJECT_HEADERS.key, NEEDS_KEY),
            (
                headers(Some(&aes128), Some(&key), Some(&md5)),
                "InvalidEncryptionAlgorithmError",
                "",
                "Supported value: AES256",
            ),
            (
                headers(Some(&aes), Some(&short), Some(&short_md5)),
                "InvalidArgument",
                OBJECT_HEADERS.key,
                BAD_KEY,
            ),
            (headers(Some(&aes), Some(&not_b64), Some(&md5)), "InvalidArgument", OBJECT_HEADERS.key, BAD_KEY),
            (headers(Some(&aes), Some(&key), None), "InvalidArgument", OBJECT_HEADERS.key_md5, NEEDS_MD5),
            (
                headers(Some(&aes), Some(&key), Some(&other_md5)),
                "InvalidArgument",
                OBJECT_HEADERS.key_md5,
                MD5_MISMATCH,
            ),
        ] {
            let e = h.key().unwrap_err();
            assert_eq!((e.code(), e.http_status()), (code, 400), "{e}");
            assert!(e.to_string().contains(says), "{e}");
            if let Error::InvalidArgument { name: n, value, .. } = &e {
                assert_eq!(*n, name, "{e}");
                assert!(!value.contains(key.as_str()), "the key is never echoed: {e}");
            }
        }
        assert_eq!(format!("{key:?}"), "SseCustomerKey(..)");
    }

    #[test]
    fn a_customer_key_excludes_the_other_modes() {
        let k = CustomerKey::from_bytes([1; 32]);
        assert!(matches!(write_encryption(Some(&k), None, None), Ok(Some(Encryption::Customer { .. }))));
        for sse in [ServerSideEncryption::Aes256, ServerSideEncryption::AwsKms] {
            let e = write_encryption(Some(&k), Some(sse), None).unwrap_err();
            assert!(e.to_string().contains("incompatible with the encryption method"), "{e}");
        }
        let kms = String::from("billing");
        assert_eq!(write_encryption(Some(&k), None, Some(&kms)).unwrap_err().code(), "InvalidArgument");
        assert_eq!(
            write_encryption(None, Some(ServerSideEncryption::Aes256), None).unwrap(),
            Some(Encryption::S3)
        );
    }
}
