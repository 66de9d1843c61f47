//! S3's additional checksums (CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256): computed over the body,
//! verified against what the caller sent, stored, and returned on request. Values travel base64-
//! encoded; CRCs as big-endian bytes, as S3 sends them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// `ChecksumAlgorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumAlgorithm {
    /// CRC-32/ISO-HDLC.
    Crc32,
    /// CRC-32C (Castagnoli).
    Crc32c,
    /// CRC-64/NVME: what S3 computes when the caller sends no checksum.
    Crc64Nvme,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl ChecksumAlgorithm {
    /// All algorithms.
    pub const ALL: [ChecksumAlgorithm; 5] =
        [Self::Crc32, Self::Crc32c, Self::Crc64Nvme, Self::Sha1, Self::Sha256];

    /// The code stored in record meta.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::Crc32 => 1,
            Self::Crc32c => 2,
            Self::Crc64Nvme => 3,
            Self::Sha1 => 4,
            Self::Sha256 => 5,
        }
    }

    /// Decodes a stored code.
    #[must_use]
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.code() == code)
    }

    /// The S3 name (`CRC64NVME`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Crc64Nvme => "CRC64NVME",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
        }
    }

    /// Parses the S3 name.
    ///
    /// # Errors
    /// `InvalidRequest` naming the value.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|a| a.as_str().eq_ignore_ascii_case(s)).ok_or_else(|| {
            Error::InvalidRequest {
                reason: format!("value for x-amz-checksum-algorithm header is invalid: {s:?}"),
            }
        })
    }

    fn digest_len(self) -> usize {
        match self {
            Self::Crc32 | Self::Crc32c => 4,
            Self::Crc64Nvme => 8,
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }

    /// The raw checksum of `data`.
    #[must_use]
    pub fn compute(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Crc32 => crc32fast::hash(data).to_be_bytes().to_vec(),
            Self::Crc32c => {
                (crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, data) as u32).to_be_bytes().to_vec()
            }
            Self::Crc64Nvme => {
                crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, data).to_be_bytes().to_vec()
            }
            Self::Sha1 => Sha1::digest(data).to_vec(),
            Self::Sha256 => Sha256::digest(data).to_vec(),
        }
    }
}

/// Base64 as S3 sends checksums.
#[must_use]
pub fn encode(raw: &[u8]) -> String {
    B64.encode(raw)
}

/// Picks the algorithm of a PutObject from the `x-amz-checksum-*` values sent (at most one) and the
/// `x-amz-sdk-checksum-algorithm`; CRC64NVME when neither is given.
///
/// # Errors
/// `InvalidRequest` for several checksums, or an algorithm that contradicts the value sent.
pub fn choose(
    given: &[(ChecksumAlgorithm, &String)],
    algorithm: Option<ChecksumAlgorithm>,
) -> Result<ChecksumAlgorithm> {
    if given.len() > 1 {
        return Err(Error::InvalidRequest {
            reason: "expecting a single x-amz-checksum- header; multiple checksum types are not allowed"
                .into(),
        });
    }
    match (given.first(), algorithm) {
        (Some((a, _)), Some(b)) if *a != b => Err(Error::InvalidRequest {
            reason: format!(
                "x-amz-sdk-checksum-algorithm {} does not match the x-amz-checksum-{} header",
                b.as_str(),
                a.as_str().to_ascii_lowercase()
            ),
        }),
        (Some((a, _)), _) => Ok(*a),
        (None, Some(b)) => Ok(b),
        (None, None) => Ok(ChecksumAlgorithm::Crc64Nvme),
    }
}

/// Checks a computed checksum and MD5 against the values the caller sent.
///
/// # Errors
/// `InvalidRequest` for a malformed checksum value; `InvalidDigest` for a malformed `Content-MD5`;
/// `BadDigest` on any mismatch.
pub fn check(
    alg: ChecksumAlgorithm,
    computed: &[u8],
    given: Option<&String>,
    content_md5: Option<&String>,
    md5: &[u8; 16],
) -> Result<()> {
    if let Some(m) = content_md5 {
        let raw = B64.decode(m.trim()).ok().filter(|r| r.len() == 16).ok_or_else(|| {
            Error::InvalidDigest { reason: format!("the Content-MD5 you specified is not valid: {m:?}") }
        })?;
        if raw != md5 {
            return Err(Error::BadDigest {
                reason: "the Content-MD5 you specified did not match what we received".into(),
            });
        }
    }
    if let Some(value) = given {
        let raw = B64.decode(value.trim()).ok().filter(|r| r.len() == alg.digest_len()).ok_or_else(|| {
            Error::InvalidRequest {
                reason: format!(
                    "value for x-amz-checksum-{} header is invalid",
                    alg.as_str().to_ascii_lowercase()
                ),
            }
        })?;
        if raw != computed {
            return Err(Error::BadDigest {
                reason: format!("the {} you specified did not match the calculated checksum", alg.as_str()),
            });
        }
    }
    Ok(())
}

/// A checksum computed over a body as it streams by (a host verifying a checksum that arrives in
/// an aws-chunked trailer, after the body, uses it).
pub enum StreamHasher {
    #[doc(hidden)]
    Crc32(crc32fast::Hasher),
    #[doc(hidden)]
    Crc(ChecksumAlgorithm, crc_fast::Digest),
    #[doc(hidden)]
    Sha1(Sha1),
    #[doc(hidden)]
    Sha256(Sha256),
}

impl StreamHasher {
    /// A hasher of `alg`.
    #[must_use]
    pub fn new(alg: ChecksumAlgorithm) -> StreamHasher {
        match alg {
            ChecksumAlgorithm::Crc32 => StreamHasher::Crc32(crc32fast::Hasher::new()),
            ChecksumAlgorithm::Crc32c => {
                StreamHasher::Crc(alg, crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi))
            }
            ChecksumAlgorithm::Crc64Nvme => {
                StreamHasher::Crc(alg, crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Nvme))
            }
            ChecksumAlgorithm::Sha1 => StreamHasher::Sha1(Sha1::new()),
            ChecksumAlgorithm::Sha256 => StreamHasher::Sha256(Sha256::new()),
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            StreamHasher::Crc32(h) => h.update(data),
            StreamHasher::Crc(_, d) => d.update(data),
            StreamHasher::Sha1(h) => h.update(data),
            StreamHasher::Sha256(h) => h.update(data),
        }
    }

    /// The checksum of the bytes fed so far (raw; [`encode`] gives S3's base64).
    #[must_use]
    pub fn finish(&self) -> Vec<u8> {
        match self {
            StreamHasher::Crc32(h) => h.clone().finalize().to_be_bytes().to_vec(),
            StreamHasher::Crc(ChecksumAlgorithm::Crc32c, d) => (d.finalize() as u32).to_be_bytes().to_vec(),
            StreamHasher::Crc(_, d) => d.finalize().to_be_bytes().to_vec(),
            StreamHasher::Sha1(h) => h.clone().finalize().to_vec(),
            StreamHasher::Sha256(h) => h.clone().finalize().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_values_of_each_algorithm() {
        let check = b"123456789";
        assert_eq!(ChecksumAlgorithm::Crc32.compute(check), 0xCBF4_3926u32.to_be_bytes());
        assert_eq!(ChecksumAlgorithm::Crc32c.compute(check), 0xE306_9283u32.to_be_bytes());
        assert_eq!(ChecksumAlgorithm::Crc64Nvme.compute(check), 0xAE8B_1486_0A79_9888u64.to_be_bytes());
        assert_eq!(encode(&ChecksumAlgorithm::Sha1.compute(b"abc")), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
        assert_eq!(
            encode(&ChecksumAlgorithm::Sha256.compute(b"abc")),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
        for a in ChecksumAlgorithm::ALL {
            assert_eq!(ChecksumAlgorithm::from_code(a.code()), Some(a));
            assert_eq!(ChecksumAlgorithm::parse(a.as_str()).unwrap(), a);
            assert_eq!(a.compute(b"x").len(), a.digest_len());
        }
        assert!(ChecksumAlgorithm::parse("MD4").is_err());
    }
}
