//! Sealed multipart uploads (DESIGN §4, §7.6): the upload's data key, drawn at
//! CreateMultipartUpload and wrapped into the start record's envelope (under a master key, or
//! under the caller's key for SSE-C, with a salted HMAC of it); each part attempt's sealer under
//! its own derived key (`crypto::parts`); the completed object's envelope (the same data key
//! wrapped once more binding the object's version, length and part list; under SSE-C, whose
//! completion carries no key, the upload's own wrap); and the reader's source for such an object,
//! one cipher per part.

use super::crypto::bind_context;
use super::crypto::chunks::{BodyCipher, CHUNK_BYTES, Sealer, sealed_len};
use super::crypto::keys::{unwrap_with, wrap_with};
use super::crypto::parts::{
    PART_SALT_BYTES, PartSeal, derive_part_key, object_aad, part_aad, random_part_salt, upload_aad,
};
use super::crypto::{CustomerKey, CustomerKeyMac, Dek, Envelope, KeyId, SseMode, WrappedKey, wrap_aad};
use super::options::Encryption;
use super::sealing::{SlotGuard, unwrap_error};
use crate::engine::body::{ChunkedBody, SealedBody, SealedPart};
use crate::engine::format::meta::PartSeals;
use crate::engine::key_slots::combine;
use crate::engine::partition::index::IndexEntry;
use crate::engine::rotation::{KeyUse, read_of_retired_key};
use crate::engine::store::Store;
use crate::error::{CorruptionSite, Error, Result};
use crate::types::{BucketId, VersionId};
use zeroize::Zeroizing;

/// Upload envelopes seal no body of their own: their nonce prefix is unused (each part derives
/// its own) and fixed, so that it says nothing.
const NO_PREFIX: [u8; 7] = [0; 7];

/// An encrypted upload's data key, unwrapped, with what its envelope says, and the use of its
/// master key the call holds until its record is indexed (a retirement waits for it; none under
/// SSE-C, where no master key is involved).
pub(super) struct UploadKey {
    dek: Dek,
    mode: SseMode,
    key_id: KeyId,
    _use: Option<KeyUse>,
    /// Crypto-shred: the secret of the upload's key slot (the start envelope wraps `dek ⊕ secret`).
    slot_secret: Option<Zeroizing<[u8; 32]>>,
    /// The upload's SSE-KMS encryption context (stored bytes), which the object's wrap binds too.
    kms_context: Option<Vec<u8>>,
}

/// What a completion needs of a sealed upload: its data key (under a master key: the object's
/// envelope wraps it anew), or, under SSE-C, the start record's envelope itself, which the object
/// keeps (a completion need not send the customer key, so the data key cannot be re-wrapped).
pub(super) enum UploadSeal {
    /// SSE-S3 or KMS-style: the unwrapped upload key.
    Master(UploadKey),
    /// SSE-C: the upload's envelope (its wrap and the salted HMAC of the customer key), and the
    /// secret of its key slot under crypto-shred.
    Customer(Envelope, Option<Zeroizing<[u8; 32]>>),
}

impl UploadSeal {
    /// The secret of the upload's key slot (crypto-shred), which the object's slot takes over.
    fn slot_secret(&self) -> Option<&Zeroizing<[u8; 32]>> {
        match self {
            UploadSeal::Master(k) => k.slot_secret.as_ref(),
            UploadSeal::Customer(_, secret) => secret.as_ref(),
        }
    }
}

/// A new upload's sealing: the start record's envelope, the master key's use (held until the
/// start record is indexed; none under SSE-C) and, under crypto-shred, the upload's key slot.
pub(super) struct SealedUpload {
    pub(super) envelope: Vec<u8>,
    /// The encryption context the wrap binds, for the start record's meta.
    pub(super) kms_context: Option<Vec<u8>>,
    pub(super) key_use: Option<KeyUse>,
    pub(super) slot: Option<SlotGuard>,
}

/// A completed upload's object sealing: its envelope and, under crypto-shred, its own key slot
/// (holding the upload's secret).
pub(super) struct SealedObject {
    pub(super) envelope: Vec<u8>,
    pub(super) slot: Option<SlotGuard>,
}

/// What an upload's start record holds of its sealing.
#[derive(Clone, Copy)]
pub(super) struct StartSeal<'a> {
    /// The upload's envelope.
    pub(super) envelope: &'a [u8],
    /// Crypto-shred: the upload's key slot and tag.
    pub(super) key_slot: Option<(u32, u32)>,
    /// The upload's SSE-KMS encryption context (stored bytes).
    pub(super) kms_context: Option<&'a [u8]>,
}

/// The identity of an upload, for the errors of a customer key that does not fit it.
pub(super) struct UploadName<'a> {
    pub(super) bucket: String,
    pub(super) key: &'a str,
    pub(super) upload_id: &'a str,
}

impl UploadName<'_> {
    fn missing(&self) -> Error {
        Error::SseCustomerUploadKeyMissing {
            bucket: self.bucket.clone(),
            key: self.key.to_owned(),
            upload_id: self.upload_id.to_owned(),
        }
    }

    pub(super) fn mismatch(&self) -> Error {
        Error::SseCustomerUploadKeyMismatch {
            bucket: self.bucket.clone(),
            key: self.key.to_owned(),
            upload_id: self.upload_id.to_owned(),
        }
    }
}

/// Checks the customer key a request of an upload sends against the upload's envelope `env`:
/// an SSE-C upload needs its key (`SseCustomerUploadKeyMissing` when `required` and none is sent),
/// and any key sent must be the upload's (`SseCustomerUploadKeyMismatch` for another key, or for
/// an upload not sealed under a customer key).
pub(super) fn check_upload_customer_key(
    env: &Envelope,
    given: Option<&CustomerKey>,
    required: bool,
    name: &UploadName<'_>,
) -> Result<()> {
    match (env.mode, &env.customer_key_mac, given) {
        (SseMode::Customer, Some((salt, mac)), Some(k)) => {
            if (CustomerKeyMac { salt: *salt, mac: *mac }).matches(k) { Ok(()) } else { Err(name.mismatch()) }
        }
        (SseMode::Customer, _, None) if required => Err(name.missing()),
        (SseMode::Customer, _, None) => Ok(()),
        (_, _, Some(_)) => Err(name.mismatch()),
        (_, _, None) => Ok(()),
    }
}

/// The error of a wrap that failed (a key the provider lacks or will not use). A wrap that does
/// not *unwrap* is `unwrap_error`'s, as for a put's envelope.
fn key_error(key_id: KeyId, e: impl std::fmt::Display) -> Error {
    Error::KeyUnavailable { key_id: key_id.to_string(), reason: e.to_string() }
}

impl Store {
    /// The mode and master key an `enc` asks for (`KMS.NotFoundException` for a key the provider
    /// does not know). SSE-C involves no master key: its callers (a put's and an upload's sealing)
    /// take it before asking, and a caller that does not is refused (`InvalidRequest`).
    pub(super) fn master_key_for(&self, enc: &Encryption) -> Result<(SseMode, KeyId)> {
        let keys = self.key_provider()?;
        let active = || {
            keys.active_key()
                .map_err(|e| Error::KeyUnavailable { key_id: "(active)".into(), reason: e.to_string() })
        };
        Ok(match enc {
            Encryption::S3 => (SseMode::S3, active()?),
            Encryption::KmsDefault => (SseMode::Kms, active()?),
            Encryption::Customer { .. } => {
                return Err(Error::InvalidRequest {
                    reason: "SSE-C names no master key: the customer's key wraps the data key".into(),
                });
            }
            Encryption::Kms { key } => {
                (SseMode::Kms, keys.named_key(key).ok_or_else(|| Error::KmsKeyNotFound { key: key.clone() })?)
            }
        })
    }

    /// Draws a fresh data key for upload `upload_id` of `key` and returns its envelope (for the
    /// start record's meta): the key wrapped under the master key `enc` names (or under the
    /// customer's key for SSE-C, the envelope then keeping a salted HMAC of that key, never the
    /// key), binding the store, bucket id, key, upload id, chunk size and mode; the master key's
    /// use (none under SSE-C), which the caller holds until the start record is indexed; and,
    /// when the store crypto-shreds, the upload's key slot (taken and synced here, before the
    /// start record is written; the envelope then wraps `dek ⊕ secret`).
    pub(super) fn seal_upload(
        &self,
        bucket: BucketId,
        key: &str,
        upload_id: [u8; 16],
        enc: &Encryption,
        kms_context: Option<Vec<u8>>,
    ) -> Result<SealedUpload> {
        let dek = Dek::random();
        let customer = match enc {
            Encryption::Customer { key } => Some(key),
            _ => None,
        };
        let (mode, key_id, key_use) = match customer {
            // No provider involved: a store without keys takes SSE-C uploads too, if its sealed
            // records fit (as a put).
            Some(_) => {
                self.check_sealed_records_fit()?;
                (SseMode::Customer, KeyId([0; 16]), None)
            }
            None => {
                let (mode, key_id) = self.master_key_for(enc)?;
                (mode, key_id, Some(self.inner.key_uses.begin(key_id)?))
            }
        };
        let (slot, half) = match self.shredding_slots() {
            Some(slots) => {
                let (guard, secret) = self.take_key_slot(slots, bucket, key, upload_id, None)?;
                (Some(guard), Dek::from_bytes(*combine(dek.bytes(), &secret)))
            }
            None => (None, dek),
        };
        let aad = self.upload_wrap_aad(bucket, key, upload_id, mode, kms_context.as_deref());
        let envelope = match customer {
            Some(customer) => {
                let wrapped = wrap_with(customer.bytes(), &half, &aad);
                let mac = CustomerKeyMac::new(customer);
                envelope(SseMode::Customer, key_id, wrapped, 0, Some((mac.salt, mac.mac)))
            }
            None => {
                let wrapped =
                    self.key_provider()?.wrap(key_id, &half, &aad).map_err(|e| key_error(key_id, e))?;
                envelope(mode, key_id, wrapped, 0, None)
            }
        };
        Ok(SealedUpload { envelope, kms_context, key_use, slot })
    }

    pub(super) fn upload_wrap_aad(
        &self,
        bucket: BucketId,
        key: &str,
        upload_id: [u8; 16],
        mode: SseMode,
        kms_context: Option<&[u8]>,
    ) -> Vec<u8> {
        let a =
            upload_aad(&self.inner.ctx.store_uuid, bucket.0, key.as_bytes(), &upload_id, CHUNK_BYTES as u32);
        let mut aad = wrap_aad(&a, 0, &NO_PREFIX, mode);
        bind_context(&mut aad, kms_context);
        aad
    }

    /// Decodes an upload's start record `envelope` and checks what is fixed in it.
    fn upload_envelope(envelope: &[u8], site: &CorruptionSite) -> Result<Envelope> {
        let env = Envelope::decode(envelope).map_err(|e| Error::corruption(site.clone(), e.to_string()))?;
        if env.plaintext_len != 0 || env.chunk_bytes() != CHUNK_BYTES {
            return Err(Error::corruption(site.clone(), "upload envelope with a length or chunk size"));
        }
        Ok(env)
    }

    /// Unwraps an upload's data key from its start record's envelope, and begins a use of its
    /// master key (`KeyUnavailable` while the key is being retired). Under SSE-C the part's
    /// `customer` key unwraps it, once checked against the envelope's HMAC in constant time:
    /// `SseCustomerUploadKeyMissing` without one, `SseCustomerUploadKeyMismatch` for another key
    /// (or for a key sent to an upload not sealed under one); nothing is read or written before.
    /// Under crypto-shred the unwrapped half is joined with the upload's key slot (an upload that
    /// ended meanwhile, its slot erased, is `NoSuchUpload`).
    pub(super) fn open_upload_key(
        &self,
        bucket: BucketId,
        key: &str,
        upload_id: [u8; 16],
        start: StartSeal<'_>,
        customer: Option<&CustomerKey>,
        site: CorruptionSite,
    ) -> Result<UploadKey> {
        let env = Self::upload_envelope(start.envelope, &site)?;
        if env.mode == SseMode::Customer || customer.is_some() {
            let name = UploadName {
                bucket: self.bucket_name(bucket)?,
                key,
                upload_id: &crate::types::upload_id_string(upload_id),
            };
            check_upload_customer_key(&env, customer, true, &name)?;
        }
        if let (SseMode::Customer, Some(k)) = (env.mode, customer) {
            let aad = self.upload_wrap_aad(bucket, key, upload_id, SseMode::Customer, None);
            let half = unwrap_with(k.bytes(), &env.wrapped, &aad).ok_or_else(|| {
                // The key is the upload's (its HMAC matched): the wrap was changed on disk.
                Error::corruption(
                    site.clone(),
                    "the upload's data key does not unwrap under its customer key",
                )
            })?;
            let (dek, slot_secret) = self.join_upload_slot(half, start, bucket, key, upload_id, &site)?;
            return Ok(UploadKey {
                dek,
                mode: env.mode,
                key_id: env.key_id,
                _use: None,
                slot_secret,
                kms_context: None,
            });
        }
        // The upload is in the index, so a retirement of its key counts it and refuses.
        let key_use = self.inner.key_uses.begin_existing(env.key_id);
        let aad = self.upload_wrap_aad(bucket, key, upload_id, env.mode, start.kms_context);
        let half = self
            .key_provider()?
            .unwrap(env.key_id, &env.wrapped, &aad)
            .map_err(|e| unwrap_error(e, env.key_id, site.clone()))?;
        let (dek, slot_secret) = self.join_upload_slot(half, start, bucket, key, upload_id, &site)?;
        Ok(UploadKey {
            dek,
            mode: env.mode,
            key_id: env.key_id,
            _use: Some(key_use),
            slot_secret,
            kms_context: start.kms_context.map(<[u8]>::to_vec),
        })
    }

    /// The upload's key slot secret, if its start record names one (`NoSuchUpload` when the
    /// slot is gone because the upload ended meanwhile; `Corruption` otherwise).
    fn upload_slot_secret(
        &self,
        start: StartSeal<'_>,
        bucket: BucketId,
        key: &str,
        upload_id: [u8; 16],
        site: &CorruptionSite,
    ) -> Result<Option<Zeroizing<[u8; 32]>>> {
        let Some(named) = start.key_slot else { return Ok(None) };
        match self.key_slot_secret(named, bucket, key, upload_id, site) {
            Ok(secret) => Ok(Some(secret)),
            // An upload's slot is erased only once its end is indexed (and durable).
            Err(Error::Corruption { .. })
                if self
                    .partition(bucket.0, key.as_bytes())
                    .index
                    .read()
                    .uploads()
                    .get(bucket.0, key.as_bytes(), upload_id)
                    .is_none() =>
            {
                Err(Error::NoSuchUpload { upload_id: crate::types::upload_id_string(upload_id) })
            }
            Err(e) => Err(e),
        }
    }

    /// The upload's data key from its envelope's unwrapped `half` (itself, unless the start
    /// record names a key slot), and the slot's secret.
    fn join_upload_slot(
        &self,
        half: Dek,
        start: StartSeal<'_>,
        bucket: BucketId,
        key: &str,
        upload_id: [u8; 16],
        site: &CorruptionSite,
    ) -> Result<(Dek, Option<Zeroizing<[u8; 32]>>)> {
        Ok(match self.upload_slot_secret(start, bucket, key, upload_id, site)? {
            Some(secret) => (Dek::from_bytes(*combine(half.bytes(), &secret)), Some(secret)),
            None => (half, None),
        })
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

    /// What a completion of the upload whose start record holds `envelope` needs to seal the
    /// object: the upload key (under a master key), or the envelope itself (SSE-C, whose key a
    /// completion need not send; one it sends must be the upload's, else
    /// `SseCustomerUploadKeyMismatch`, as is a key sent to an upload not sealed under one).
    pub(super) fn open_upload_for_completion(
        &self,
        bucket: BucketId,
        key: &str,
        upload_id: [u8; 16],
        start: StartSeal<'_>,
        customer: Option<&CustomerKey>,
        site: CorruptionSite,
    ) -> Result<UploadSeal> {
        let env = Self::upload_envelope(start.envelope, &site)?;
        if env.mode != SseMode::Customer {
            return Ok(UploadSeal::Master(
                self.open_upload_key(bucket, key, upload_id, start, customer, site)?,
            ));
        }
        let name = UploadName {
            bucket: self.bucket_name(bucket)?,
            key,
            upload_id: &crate::types::upload_id_string(upload_id),
        };
        check_upload_customer_key(&env, customer, false, &name)?;
        let secret = self.upload_slot_secret(start, bucket, key, upload_id, &site)?;
        Ok(UploadSeal::Customer(env, secret))
    }

    /// The completed object's envelope. Under a master key: the upload's data key wrapped again,
    /// binding the object's version, its length and its part list, so that the commit record's
    /// part list cannot be reordered, cut or moved to another version unnoticed. Under SSE-C: the
    /// upload's envelope with the object's length (the wrap binds the upload, see DESIGN §7.6).
    /// Under crypto-shred (an upload whose start record names a key slot), the object takes a
    /// slot of its own holding the upload's secret, synced here, before the commit is written;
    /// both envelopes wrap `dek ⊕ secret`, so once the upload's slot is erased the object's is
    /// the secret's only copy.
    #[expect(clippy::too_many_arguments, reason = "the fields the object's wrap binds")]
    pub(super) fn seal_completed(
        &self,
        upload: &UploadSeal,
        bucket: BucketId,
        key: &str,
        version: VersionId,
        upload_id: [u8; 16],
        parts: &[PartSeal],
        size: u64,
    ) -> Result<SealedObject> {
        let slot = match upload.slot_secret() {
            Some(secret) => {
                let Some(slots) = self.inner.ctx.key_slots.get() else {
                    return Err(Error::InvalidRequest { reason: "the store has no key slot file".into() });
                };
                Some(self.take_key_slot(slots, bucket, key, version.0, Some(secret.clone()))?.0)
            }
            None => None,
        };
        let k = match upload {
            UploadSeal::Master(k) => k,
            UploadSeal::Customer(env, _) => {
                let envelope = Envelope { plaintext_len: size, ..env.clone() }.encode();
                return Ok(SealedObject { envelope, slot });
            }
        };
        let half = match &k.slot_secret {
            Some(secret) => Dek::from_bytes(*combine(k.dek.bytes(), secret)),
            None => Dek::from_bytes(*k.dek.bytes()),
        };
        let aad = self.object_wrap_aad(
            k.mode,
            bucket,
            key,
            version,
            upload_id,
            parts,
            size,
            k.kms_context.as_deref(),
        );
        let wrapped = self.key_provider()?.wrap(k.key_id, &half, &aad).map_err(|e| key_error(k.key_id, e))?;
        Ok(SealedObject { envelope: envelope(k.mode, k.key_id, wrapped, size, None), slot })
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
        kms_context: Option<&[u8]>,
    ) -> Vec<u8> {
        let seals = PartSeals { upload_id, parts: parts.to_vec() };
        self.multipart_wrap_aad(mode, bucket.0, key.as_bytes(), version.0, &seals, size, kms_context)
    }

    /// What a sealed multipart object's envelope binds (for a rewrap, which re-wraps it as is).
    #[expect(clippy::too_many_arguments, reason = "the fields the object's wrap binds")]
    pub(crate) fn multipart_wrap_aad(
        &self,
        mode: SseMode,
        bucket: u64,
        key: &[u8],
        version: [u8; 16],
        seals: &PartSeals,
        size: u64,
        kms_context: Option<&[u8]>,
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
        let mut aad = wrap_aad(&a, size, &NO_PREFIX, mode);
        bind_context(&mut aad, kms_context);
        aad
    }

    /// Opens a sealed multipart object's body: checks the envelope and the part list against the
    /// index entry and each part's stored chunks (`runs`: chunks per part), unwraps the data key
    /// (under SSE-C with `customer`, the key the read sent, which must match the envelope's HMAC),
    /// joins it with its key slot's secret under crypto-shred, and returns the reader's source,
    /// one cipher per part.
    #[expect(clippy::too_many_arguments, reason = "what the commit record and the index say")]
    pub(super) fn open_sealed_parts(
        &self,
        envelope: &[u8],
        key_slot: Option<(u32, u32)>,
        kms_context: Option<&[u8]>,
        seals: &PartSeals,
        runs: &[u32],
        customer: Option<&CustomerKey>,
        stored: ChunkedBody,
        bucket: BucketId,
        key: &str,
        entry: &IndexEntry,
        site: CorruptionSite,
    ) -> Result<SealedBody> {
        let env = Envelope::decode(envelope).map_err(|e| Error::corruption(site.clone(), e.to_string()))?;
        let (total, size) = (seals.parts.iter().map(|p| p.size).sum::<u64>(), entry.size);
        // S3 assembles parts in ascending number order: a part list out of order was changed (the
        // SSE-C object's wrap does not bind the list, so this is checked here for every mode).
        if seals.parts.windows(2).any(|w| w[0].number >= w[1].number) {
            return Err(Error::corruption(site, "sealed parts out of ascending part-number order"));
        }
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
        let dek = if env.mode == SseMode::Customer {
            self.open_customer_object_key(&env, customer, bucket, key, seals.upload_id, &site)?
        } else {
            if customer.is_some() {
                return Err(Error::SseCustomerKeyNotApplicable {
                    bucket: self.bucket_name(bucket)?,
                    key: key.into(),
                });
            }
            let aad = self.object_wrap_aad(
                env.mode,
                bucket,
                key,
                entry.version_id,
                seals.upload_id,
                &seals.parts,
                total,
                kms_context,
            );
            // Held across the unwrap, as a single-stream object's (`Store::open_sealed`).
            let Some(_reading) = self.inner.key_uses.begin_read(env.key_id) else {
                return Err(read_of_retired_key(env.key_id));
            };
            self.key_provider()?
                .unwrap(env.key_id, &env.wrapped, &aad)
                .map_err(|e| unwrap_error(e, env.key_id, site.clone()))?
        };
        let dek = match key_slot {
            Some(named) => {
                let secret = self.key_slot_secret(named, bucket, key, entry.version_id.0, &site)?;
                Dek::from_bytes(*combine(dek.bytes(), &secret))
            }
            None => dek,
        };
        let upload = UploadKey {
            dek,
            mode: env.mode,
            key_id: env.key_id,
            _use: None,
            slot_secret: None,
            kms_context: None,
        };
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

impl Store {
    /// The data key of an SSE-C multipart object: the read's `customer` key checked against the
    /// envelope's HMAC (`SseCustomerKeyMissing` without one, `SseCustomerKeyMismatch` for another:
    /// the object's rules, as a put's), then the upload's wrap opened under it.
    fn open_customer_object_key(
        &self,
        env: &Envelope,
        customer: Option<&CustomerKey>,
        bucket: BucketId,
        key: &str,
        upload_id: [u8; 16],
        site: &CorruptionSite,
    ) -> Result<Dek> {
        let Some(k) = customer else {
            return Err(Error::SseCustomerKeyMissing { bucket: self.bucket_name(bucket)?, key: key.into() });
        };
        match &env.customer_key_mac {
            Some((salt, mac)) if (CustomerKeyMac { salt: *salt, mac: *mac }).matches(k) => {}
            _ => {
                return Err(Error::SseCustomerKeyMismatch {
                    bucket: self.bucket_name(bucket)?,
                    key: key.into(),
                });
            }
        }
        let aad = self.upload_wrap_aad(bucket, key, upload_id, SseMode::Customer, None);
        unwrap_with(k.bytes(), &env.wrapped, &aad).ok_or_else(|| {
            Error::corruption(site.clone(), "the data key does not unwrap under the customer key")
        })
    }
}

fn envelope(
    mode: SseMode,
    key_id: KeyId,
    wrapped: WrappedKey,
    plaintext_len: u64,
    customer_key_mac: Option<([u8; 16], [u8; 32])>,
) -> Vec<u8> {
    Envelope {
        mode,
        key_id,
        wrapped,
        nonce_prefix: NO_PREFIX,
        chunk_log2: CHUNK_BYTES.trailing_zeros() as u8,
        plaintext_len,
        customer_key_mac,
    }
    .encode()
}
