//! SSE-KMS encryption context (`x-amz-server-side-encryption-context`): key-value pairs a
//! KMS-style put binds to its data key's wrap, as KMS binds a context to a data key. The record's
//! meta keeps the pairs (`TAG_KMS_CONTEXT`), and every unwrap and rewrap of the envelope binds
//! them again, so a context changed on disk fails the unwrap (an integrity error) rather than
//! opening.

use std::collections::BTreeMap;

/// An encryption context: pairs in key order, each key once (the canonical form bound and
/// stored; the header's JSON object may list them in any order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptionContext {
    pairs: BTreeMap<String, String>,
}

/// Domain separation of the context appended to a wrap's associated data.
const CONTEXT_AAD_TAG: &[u8] = b"s3lite/kmsctx/v1";

impl EncryptionContext {
    /// A context of these pairs (a repeated key keeps its last value, as a JSON object would).
    #[must_use]
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> EncryptionContext {
        EncryptionContext { pairs: pairs.into_iter().collect() }
    }

    /// The pairs, in key order.
    #[must_use]
    pub fn pairs(&self) -> &BTreeMap<String, String> {
        &self.pairs
    }

    /// Whether it has no pair.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The canonical bytes stored in the record's meta and bound to the wrap.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let pairs: Vec<(&str, &str)> = self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        postcard::to_allocvec(&pairs).unwrap_or_default()
    }

    /// The context `encode` wrote, or `None` for bytes it did not write.
    #[must_use]
    pub fn decode(bytes: &[u8]) -> Option<EncryptionContext> {
        let pairs: Vec<(String, String)> = postcard::from_bytes(bytes).ok()?;
        let ctx = EncryptionContext::new(pairs);
        (ctx.encode() == bytes).then_some(ctx)
    }
}

/// Appends a stored context (`encode`'s bytes) to a wrap's associated data; nothing when there
/// is none, so envelopes written without one bind what they always did.
pub fn bind_context(aad: &mut Vec<u8>, context: Option<&[u8]>) {
    if let Some(c) = context {
        aad.extend_from_slice(CONTEXT_AAD_TAG);
        aad.extend_from_slice(&(c.len() as u64).to_le_bytes());
        aad.extend_from_slice(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_encode_canonically_and_bind_distinctly() {
        let a = EncryptionContext::new([("b".into(), "2".into()), ("a".into(), "1".into())]);
        let b = EncryptionContext::new([("a".into(), "1".into()), ("b".into(), "2".into())]);
        assert_eq!(a.encode(), b.encode(), "order does not matter");
        assert_eq!(EncryptionContext::decode(&a.encode()), Some(a.clone()));
        assert_eq!(EncryptionContext::decode(b"\xff\xff"), None);
        let mut with = b"base".to_vec();
        bind_context(&mut with, Some(&a.encode()));
        let mut other = b"base".to_vec();
        bind_context(&mut other, Some(&EncryptionContext::new([("a".into(), "1".into())]).encode()));
        let mut none = b"base".to_vec();
        bind_context(&mut none, None);
        assert_eq!(none, b"base");
        assert_ne!(with, other);
        assert_ne!(with, none);
    }
}
