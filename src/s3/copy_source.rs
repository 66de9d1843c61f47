//! [`CopySource`]: the value of CopyObject's `x-amz-copy-source` built from its parts, so a caller
//! does not percent-encode a key by hand (a key holding `%`, a space or `?` must be encoded, or it
//! names another object, or none).

use std::fmt;

use crate::s3::rules::url_encode;

/// A copy source: bucket, key and optionally a version, written as `x-amz-copy-source` carries it
/// (`bucket/key` with the key URL-encoded, then `?versionId=` when a version is named).
///
/// ```
/// use s3lite::s3::types::CopySource;
///
/// let source = CopySource::new("photos", "2024/my cat.jpg").version_id("null");
/// assert_eq!(source.to_string(), "photos/2024/my%20cat.jpg?versionId=null");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct CopySource {
    bucket: String,
    key: String,
    version_id: Option<String>,
}

impl CopySource {
    /// The current version of `key` in `bucket`.
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> CopySource {
        CopySource { bucket: bucket.into(), key: key.into(), version_id: None }
    }

    /// A given version of it (`"null"` for the null version).
    pub fn version_id(mut self, version_id: impl Into<String>) -> CopySource {
        self.version_id = Some(version_id.into());
        self
    }
}

impl fmt::Display for CopySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.bucket, url_encode(&self.key))?;
        if let Some(v) = &self.version_id {
            write!(f, "?versionId={v}")?;
        }
        Ok(())
    }
}

impl From<CopySource> for String {
    fn from(source: CopySource) -> String {
        source.to_string()
    }
}

impl From<&CopySource> for String {
    fn from(source: &CopySource) -> String {
        source.to_string()
    }
}
