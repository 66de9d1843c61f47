//! Sealed multipart uploads (DESIGN §4, §7.6): the upload's data key, drawn at
//! CreateMultipartUpload and wrapped into the start record's envelope; each part attempt's sealer
//! under its own derived key (`crypto::parts`); the completed object's envelope, the same data key
//! wrapped once more binding the object's version, length and part list; and the reader's source
//! for such an object, one cipher per part.

use super::crypto::chunks::{BodyCipher, CHUNK_BYTES, Sealer, sealed_len};
use super::crypto::parts::{
    PART_SALT_BYTES, PartSeal, derive_part_key, object_aad, part_aad, random_part_salt, upload_aad,
};
use super::crypto::{Dek, Envelope, KeyId, SseMode, wrap_aad};
use super::options::Encryption;
use super::sealing::unwrap_error;
use crate::engine::body::{ChunkedBody, SealedBody, SealedPart};
use crate::engine::format::meta::PartSeals;
use crate::engine::partition::index::IndexEntry;
use crate::engine::rotation::KeyUse;
use crate::engine::store::Store;
use crate::error::{CorruptionSite, Error, Result};
use crate::types::{BucketId, VersionId};

/// Upload envelopes seal no body of their own: their nonce prefix is unused (each part derives
/// its own) and fixed, so that it says nothing.
const NO_PREFIX: [u8; 7] = [0; 7];

/// An encrypted upload's data key, unwrapped, with what its envelope says, and the use of its
/// master key the call holds until its record is indexed (a retirement waits for it).
pub(super) struct UploadKey {
    dek: Dek,
    mode: SseMode,
    key_id: KeyId,
    _use: Option<KeyUse>,
}

/// The error of a wrap that failed (a key the provider lacks or will not use). A wrap that does
/// not *unwrap* is `unwrap_error`'s, as for a put's envelope.
fn key_error(key_id: KeyId, e: impl std::fmt::Display) -> Error {
    Error::KeyUnavailable { key_id: key_id.to_string(), reason: e.to_string() }
}

impl Store {
    /// The mode and master key an `enc` asks for (`KMS.NotFoundException` for a key the provider
    /// does not know; SSE-C is the caller's, and `NotImplemented` here: the single put takes it
    /// before asking).
    pub(super) fn master_key_for(&self, enc: &Encryption) -> Result<(SseMode, KeyId)> {
        let keys = self.key_provider()?;
        let active = || {
            keys.active_key()
                .map_err(|e| Error::KeyUnavailable { key_id: "(active)".into(), reason: e.to_string() })
        };
        Ok(match enc {
            Encryption::S3 => (SseMode::S3, active()?),
            Encryption::KmsDefault => (SseMode::Kms, active()?),
            // SSE-C parts would need the customer key on every UploadPart: not built yet.
            Encryption::Customer { .. } => {
                return Err(Error::NotImplemented { what: "SSE-C multipart uploads" });
            }
            Encryption::Kms { key } => {
                (SseMode::Kms, keys.named_key(key).ok_or_else(|| Error::KmsKeyNotFound { key: key.clone() })?)
            }
        })
    }

    /// Draws a fresh data key for upload `upload_id` of `key` and returns its envelope (for the
    /// start record's meta): the key wrapped under the master key `enc` names, binding the store,
    /// bucket id, key, upload id, chunk size and mode; and the master key's use, which the caller
    /// holds until the start record is indexed.
    pub(super) fn seal_upload(
        &self,
        bucket: BucketId,
        key: &str,
        upload_id: [u8; 16],
        enc: &Encryption,
    ) -> Result<(Vec<u8>, KeyUse)> {
        let (mode, key_id) = self.master_key_for(enc)?;
        let key_use = self.inner.key_uses.begin(key_id)?;
        let dek = Dek::random();
        let aad = self.upload_wrap_aad(bucket, key, upload_id, mode);
        let wrapped = self.key_provider()?.wrap(key_id, &dek, &aad).map_err(|e| key_error(key_id, e))?;
        Ok((envelope(mode, key_id, wrapped, 0), key_use))
    }

    pub(super) fn upload_wrap_aad(
        &self,
        bucket: BucketId,
        key: &str,
        upload_id: [u8; 16],
        mode: SseMode,
    ) -> Vec<u8> {
        let a =
            upload_aad(&self.inner.ctx.store_uuid, bucket.0, key.as_bytes(), &upload_id, CHUNK_BYTES as u32);
        wrap_aad(&a, 0, &NO_PREFIX, mode)
    }

    /// Unwraps an upload's data key from its start record's `envelope`, and begins a use of its
    /// master key (`KeyUnavailable` while the key is being retired).
    pub(super) fn open_upload_key(
        &self,
        bucket: BucketId,
        key: &str,
        upload_id: [u8; 16],
        envelope: &[u8],
        site: CorruptionSite,
    ) -> Result<UploadKey> {
        let env = Envelope::decode(envelope).map_err(|e| Error::corruption(site.clone(), e.to_string()))?;
        if env.mode == SseMode::Customer {
            return Err(Error::NotImplemented { what: "SSE-C (customer-provided keys)" });
        }
        if env.plaintext_len != 0 || env.chunk_bytes() != CHUNK_BYTES {
            return Err(Error::corruption(site, "upload envelope with a length or chunk size"));
        }
        // The upload is in the index, so a retirement of its key counts it and refuses.
        let key_use = self.inner.key_uses.begin_existing(env.key_id);
        let aad = self.upload_wrap_aad(bucket, key, upload_id, env.mode);
        let dek = self
            .key_provider()?
            .unwrap(env.key_id, &env.wrapped, &aad)
            .map_err(|e| unwrap_error(e, env.key_id, site))?;
        Ok(UploadKey { dek, mode: env.mode, key_id: env.key_id, _use: Some(key_use) })
    }

    /// A fresh part attempt: its salt (for the part record) and the sealer its body goes through,
    /// under `HKDF(upload key, salt, part number)` and associated data naming the part.
    pub(super) fn part_sealer(
        &self,
        upload: &UploadKey,
        bucket: BucketId,
        key: &str,
        upload_id: [u8; 16],
        number: u32,
    ) -> ([u8; PART_SALT_BYTES], Sealer) {
        let salt = random_part_salt();
        (salt, Sealer::new(self.part_cipher(upload, bucket, key, upload_id, number, &salt)))
    }

    fn part_cipher(
        &self,
        upload: &UploadKey,
        bucket: BucketId,
        key: &str,
        upload_id: [u8; 16],
        number: u32,
        salt: &[u8; PART_SALT_BYTES],
    ) -> BodyCipher {
        let (part_key, prefix) = derive_part_key(&upload.dek, salt, number);
        let aad = part_aad(
            &self.inner.ctx.store_uuid,
            bucket.0,
            key.as_bytes(),
            &upload_id,
            number,
            CHUNK_BYTES as u32,
        );
        BodyCipher::new(&part_key, prefix, aad, CHUNK_BYTES)
    }

    /// The completed object's envelope: the upload's data key wrapped again under its master key,
    /// binding the object's version, its length and its part list, so that the commit record's
    /// part list cannot be reordered, cut or moved to another version unnoticed.
    #[expect(clippy::too_many_arguments, reason = "the fields the object's wrap binds")]
    pub(super) fn seal_completed(
        &self,
        upload: &UploadKey,
        bucket: BucketId,
        key: &str,
        version: VersionId,
        upload_id: [u8; 16],
        parts: &[PartSeal],
        size: u64,
    ) -> Result<Vec<u8>> {
        let aad = self.object_wrap_aad(upload.mode, bucket, key, version, upload_id, parts, size);
        let wrapped = self
            .key_provider()?
            .wrap(upload.key_id, &upload.dek, &aad)
            .map_err(|e| key_error(upload.key_id, e))?;
        Ok(envelope(upload.mode, upload.key_id, wrapped, size))
    }

    #[expect(clippy::too_many_arguments, reason = "the fields the object's wrap binds")]
    fn object_wrap_aad(
        &self,
        mode: SseMode,
        bucket: BucketId,
        key: &str,
        version: VersionId,
        upload_id: [u8; 16],
        parts: &[PartSeal],
        size: u64,
    ) -> Vec<u8> {
        let seals = PartSeals { upload_id, parts: parts.to_vec() };
        self.multipart_wrap_aad(mode, bucket.0, key.as_bytes(), version.0, &seals, size)
    }

    /// What a sealed multipart object's envelope binds (for a rewrap, which re-wraps it as is).
    pub(crate) fn multipart_wrap_aad(
        &self,
        mode: SseMode,
        bucket: u64,
        key: &[u8],
        version: [u8; 16],
        seals: &PartSeals,
        size: u64,
    ) -> Vec<u8> {
        let a = object_aad(
            &self.inner.ctx.store_uuid,
            bucket,
            key,
            &version,
            CHUNK_BYTES as u32,
            &seals.upload_id,
            &seals.parts,
        );
        wrap_aad(&a, size, &NO_PREFIX, mode)
    }

    /// Opens a sealed multipart object's body: checks the envelope and the part list against the
    /// index entry and each part's stored chunks (`runs`: chunks per part), unwraps the data key
    /// and returns the reader's source, one cipher per part.
    #[expect(clippy::too_many_arguments, reason = "what the commit record and the index say")]
    pub(super) fn open_sealed_parts(
        &self,
        envelope: &[u8],
        seals: &PartSeals,
        runs: &[u32],
        stored: ChunkedBody,
        bucket: BucketId,
        key: &str,
        entry: &IndexEntry,
        site: CorruptionSite,
    ) -> Result<SealedBody> {
        let env = Envelope::decode(envelope).map_err(|e| Error::corruption(site.clone(), e.to_string()))?;
        if env.mode == SseMode::Customer {
            return Err(Error::NotImplemented { what: "SSE-C (customer-provided keys)" });
        }
        let (total, size) = (seals.parts.iter().map(|p| p.size).sum::<u64>(), entry.size);
        if env.plaintext_len != size || total != size || env.chunk_bytes() != CHUNK_BYTES {
            return Err(Error::corruption(
                site,
                format!(
                    "sealed parts of {total} bytes, envelope of {}, for {} bytes in the index",
                    env.plaintext_len, size
                ),
            ));
        }
        // Each part's stored length first (a part list that does not fit its chunks is named as
        // such, before any key is unwrapped).
        let mut spans = Vec::with_capacity(seals.parts.len());
        let (mut plain_at, mut sealed_at, mut chunk) = (0u64, 0u64, 0usize);
        for (seal, &n) in seals.parts.iter().zip(runs) {
            let run = stored.chunks.get(chunk..chunk + n as usize).unwrap_or_default();
            let stored_len: u64 = run.iter().map(|c| c.len).sum();
            if stored_len != sealed_len(seal.size, CHUNK_BYTES) {
                return Err(Error::corruption(
                    site,
                    format!(
                        "part {} has {stored_len} sealed bytes for {} plaintext bytes",
                        seal.number, seal.size
                    ),
                ));
            }
            spans.push((plain_at, sealed_at));
            plain_at += seal.size;
            sealed_at += stored_len;
            chunk += n as usize;
        }
        let aad = self.object_wrap_aad(
            env.mode,
            bucket,
            key,
            entry.version_id,
            seals.upload_id,
            &seals.parts,
            total,
        );
        let dek = self
            .key_provider()?
            .unwrap(env.key_id, &env.wrapped, &aad)
            .map_err(|e| unwrap_error(e, env.key_id, site.clone()))?;
        let upload = UploadKey { dek, mode: env.mode, key_id: env.key_id, _use: None };
        let parts = seals
            .parts
            .iter()
            .zip(spans)
            .map(|(seal, (plain_at, sealed_at))| SealedPart {
                cipher: self.part_cipher(&upload, bucket, key, seals.upload_id, seal.number, &seal.salt),
                plain_at,
                plain: seal.size,
                sealed_at,
            })
            .collect();
        Ok(SealedBody { stored, parts, opened: None, site })
    }
}

fn envelope(mode: SseMode, key_id: KeyId, wrapped: super::crypto::WrappedKey, plaintext_len: u64) -> Vec<u8> {
    Envelope {
        mode,
        key_id,
        wrapped,
        nonce_prefix: NO_PREFIX,
        chunk_log2: CHUNK_BYTES.trailing_zeros() as u8,
        plaintext_len,
        customer_key_mac: None,
    }
    .encode()
}
