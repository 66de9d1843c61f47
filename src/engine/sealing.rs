//! Sealed (encrypted) versions on the store: drawing a version's data key, wrapping it into the
//! envelope its commit record keeps, and unwrapping it to open the body (DESIGN §7.6). A sealed
//! body is always stored as chunk records, whatever its size: the records hold ciphertext, and the
//! commit record's meta the envelope.

use super::crypto::chunks::{BodyCipher, CHUNK_BYTES, Sealer, sealed_len};
use super::crypto::{CryptoError, Dek, Envelope, KeyId, SseMode, body_aad, random_nonce_prefix, wrap_aad};
use super::options::Encryption;
use crate::engine::body::{ChunkedBody, SealedBody};
use crate::engine::partition::index::IndexEntry;
use crate::engine::rotation::KeyUse;
use crate::engine::store::Store;
use crate::error::{CorruptionSite, Error, Result};
use crate::types::{BucketId, VersionId};

/// A put's sealing: what the envelope needs once the body's length is known.
pub(super) struct Sealing {
    mode: SseMode,
    key_id: KeyId,
    dek: Dek,
    nonce_prefix: [u8; 7],
    aad: Vec<u8>,
    /// Holds `key_id` against retirement until the version is indexed.
    key_use: KeyUse,
}

/// The error of a body too long for one envelope (2^32 chunks, far past S3's 5 GiB put).
pub(super) fn sealing_error(e: CryptoError, size: u64) -> Error {
    match e {
        CryptoError::TooLong => Error::EntityTooLarge { len: size, max: crate::limits::PUT_OBJECT_BYTES_MAX },
        other => Error::KeyUnavailable { key_id: String::new(), reason: other.to_string() },
    }
}

impl Store {
    pub(super) fn key_provider(&self) -> Result<&dyn super::crypto::KeyProvider> {
        self.inner.keys.as_deref().ok_or_else(|| Error::KeyUnavailable {
            key_id: "(none)".into(),
            reason: "the store has no key provider (StoreBuilder::key_provider)".into(),
        })
    }

    /// Draws a fresh data key and nonce prefix for a put of `key`'s version `version`, and the
    /// sealer its body goes through.
    pub(super) fn start_sealing(
        &self,
        bucket: BucketId,
        key: &str,
        version: VersionId,
        enc: &Encryption,
    ) -> Result<(Sealing, Sealer)> {
        let keys = self.key_provider()?;
        let (mode, key_id) = match enc {
            Encryption::S3 => (
                SseMode::S3,
                keys.active_key().map_err(|e| Error::KeyUnavailable {
                    key_id: "(active)".into(),
                    reason: e.to_string(),
                })?,
            ),
            Encryption::KmsDefault => (
                SseMode::Kms,
                keys.active_key().map_err(|e| Error::KeyUnavailable {
                    key_id: "(active)".into(),
                    reason: e.to_string(),
                })?,
            ),
            Encryption::Kms { key } => {
                (SseMode::Kms, keys.named_key(key).ok_or_else(|| Error::KmsKeyNotFound { key: key.clone() })?)
            }
        };
        let aad =
            body_aad(&self.inner.ctx.store_uuid, bucket.0, key.as_bytes(), &version.0, CHUNK_BYTES as u32);
        let key_use = self.inner.key_uses.begin(key_id)?;
        let sealing =
            Sealing { mode, key_id, dek: Dek::random(), nonce_prefix: random_nonce_prefix(), aad, key_use };
        let sealer = Sealer::new(BodyCipher::new(
            &sealing.dek,
            sealing.nonce_prefix,
            sealing.aad.clone(),
            CHUNK_BYTES,
        ));
        Ok((sealing, sealer))
    }

    /// The envelope of a sealed body of `plain` bytes: its data key wrapped under the master key,
    /// binding the length and the nonce prefix; and the master key's use, which the put holds
    /// until its version is indexed (a retirement waits for it).
    pub(super) fn finish_sealing(&self, s: Sealing, plain: u64) -> Result<(Vec<u8>, KeyUse)> {
        let keys = self.key_provider()?;
        let wrapped = keys
            .wrap(s.key_id, &s.dek, &wrap_aad(&s.aad, plain, &s.nonce_prefix, s.mode))
            .map_err(|e| Error::KeyUnavailable { key_id: s.key_id.to_string(), reason: e.to_string() })?;
        let env = Envelope {
            mode: s.mode,
            key_id: s.key_id,
            wrapped,
            nonce_prefix: s.nonce_prefix,
            chunk_log2: CHUNK_BYTES.trailing_zeros() as u8,
            plaintext_len: plain,
            customer_key_mac: None,
        };
        Ok((env.encode(), s.key_use))
    }

    /// Opens a sealed version's body: decodes its envelope, checks it against the index entry and
    /// the stored chunks, unwraps the data key and returns the reader's source.
    pub(super) fn open_sealed(
        &self,
        envelope: &[u8],
        stored: ChunkedBody,
        bucket: BucketId,
        key: &str,
        entry: &IndexEntry,
        site: CorruptionSite,
    ) -> Result<SealedBody> {
        let (version, plain) = (entry.version_id, entry.size);
        let env = Envelope::decode(envelope).map_err(|e| Error::corruption(site.clone(), e.to_string()))?;
        let stored_len: u64 = stored.chunks.iter().map(|c| c.len).sum();
        if env.plaintext_len != plain || stored_len != sealed_len(plain, env.chunk_bytes()) {
            return Err(Error::corruption(
                site,
                format!(
                    "sealed body of {stored_len} bytes for {} plaintext bytes (the index says {plain})",
                    env.plaintext_len
                ),
            ));
        }
        if env.mode == SseMode::Customer {
            return Err(Error::NotImplemented { what: "SSE-C (customer-provided keys)" });
        }
        let aad = body_aad(
            &self.inner.ctx.store_uuid,
            bucket.0,
            key.as_bytes(),
            &version.0,
            env.chunk_bytes() as u32,
        );
        let dek = self
            .key_provider()?
            .unwrap(env.key_id, &env.wrapped, &wrap_aad(&aad, plain, &env.nonce_prefix, env.mode))
            .map_err(|e| Error::KeyUnavailable { key_id: env.key_id.to_string(), reason: e.to_string() })?;
        let cipher = BodyCipher::new(&dek, env.nonce_prefix, aad, env.chunk_bytes());
        Ok(SealedBody { stored, cipher, plain, opened: None, site })
    }
}
