//! Sealed (encrypted) versions on the store: drawing a version's data key, wrapping it into the
//! envelope its commit record keeps, and unwrapping it to open the body (DESIGN §7.6). A sealed
//! body is always stored as chunk records, whatever its size: the records hold ciphertext, and the
//! commit record's meta the envelope. Under SSE-C the caller's key takes the master key's place
//! (the same AES-256-GCM-SIV wrap, the same associated data, with the mode bound), and the envelope
//! keeps a salted HMAC of it so a wrong key is refused before any unwrap.

use super::crypto::chunks::{BodyCipher, CHUNK_BYTES, Sealer, sealed_len, sealed_record_bytes_max};
use super::crypto::keys::{unwrap_with, wrap_with};
use super::crypto::{
    CryptoError, CustomerKey, CustomerKeyMac, Dek, Envelope, KeyId, SseMode, bind_context, body_aad,
    random_nonce_prefix, wrap_aad,
};
use super::options::Encryption;
use crate::engine::body::{ChunkedBody, SealedBody};
use crate::engine::key_slots::{KeySlots, SlotOwner, combine};
use crate::engine::partition::index::IndexEntry;
use crate::engine::rotation::{KeyUse, read_of_retired_key};
use crate::engine::store::Store;
use crate::error::{CorruptionSite, Error, Result};
use crate::limits::RECORD_BODY_BYTES_MAX;
use crate::types::{BucketId, VersionId};
use std::sync::Arc;
use zeroize::Zeroizing;

/// A put's sealing: what the envelope needs once the body's length is known.
pub(super) struct Sealing {
    mode: SseMode,
    key_id: KeyId,
    dek: Dek,
    nonce_prefix: [u8; 7],
    aad: Vec<u8>,
    /// Holds `key_id` against retirement until the version is indexed (none under SSE-C: no
    /// master key is involved).
    key_use: Option<KeyUse>,
    /// SSE-C: the caller's key, the wrapping key (dropped, and zeroed, once the envelope is made).
    customer: Option<CustomerKey>,
    /// Crypto-shred: the slot holding the secret half of the data key (the envelope wraps
    /// `dek ⊕ secret`).
    slot: Option<(SlotGuard, Zeroizing<[u8; 32]>)>,
    /// An SSE-KMS encryption context (its stored bytes), bound to the wrap.
    context: Option<Vec<u8>>,
}

/// A sealed put's key slot until its commit is submitted: a put that fails before that erases it
/// (the slot of a put whose submit failed may still be needed, if the record survived: the next
/// open's sweep settles it).
pub(super) struct SlotGuard {
    slots: Arc<KeySlots>,
    pub(super) slot: u32,
    pub(super) owner: SlotOwner,
    armed: bool,
}

impl SlotGuard {
    /// The commit is being submitted: from here the slot is the version's.
    pub(super) fn disarm(&mut self) {
        self.armed = false;
    }

    /// The submit failed before writing anything (a failed precondition): the slot is erased
    /// when the guard drops.
    pub(super) fn rearm(&mut self) {
        self.armed = true;
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        if self.armed {
            // Unsynced: a slot nothing refers to is harmless, and the next open erases it anyway.
            let _ = self.slots.erase(self.slot, &self.owner);
        }
    }
}

/// What `finish_sealing` hands the put: the envelope, the key slot (crypto-shred) and the master
/// key's use, held until the version is indexed.
pub(super) struct Sealed {
    pub(super) envelope: Vec<u8>,
    /// The encryption context the wrap binds, for the commit record's meta.
    pub(super) kms_context: Option<Vec<u8>>,
    pub(super) slot: Option<SlotGuard>,
    pub(super) key_use: Option<KeyUse>,
}

/// The stored bytes of the encryption context `context` a write under `enc` asks for: `None`
/// for none (or an empty one); `InvalidArgument` unless the write is sealed KMS-style, as S3
/// takes `x-amz-server-side-encryption-context` only with `aws:kms`.
pub(super) fn context_for(
    enc: Option<&Encryption>,
    context: Option<&crate::engine::crypto::EncryptionContext>,
) -> Result<Option<Vec<u8>>> {
    let Some(c) = context.filter(|c| !c.is_empty()) else { return Ok(None) };
    match enc {
        Some(Encryption::Kms { .. } | Encryption::KmsDefault) => Ok(Some(c.encode())),
        _ => Err(Error::InvalidArgument {
            name: "x-amz-server-side-encryption-context",
            value: c.pairs().keys().cloned().collect::<Vec<_>>().join(","),
            reason: "an encryption context needs x-amz-server-side-encryption: aws:kms".into(),
        }),
    }
}

/// The error of a body too long for one envelope (2^32 chunks, far past S3's 5 GiB put).
pub(super) fn sealing_error(e: CryptoError, size: u64) -> Error {
    match e {
        CryptoError::TooLong => Error::EntityTooLarge { len: size, max: crate::limits::PUT_OBJECT_BYTES_MAX },
        other => Error::KeyUnavailable { key_id: String::new(), reason: other.to_string() },
    }
}

/// The error of a data key that does not unwrap. A master key the provider lacks is a key
/// problem (`KeyUnavailable`); a wrap that does not verify under a key it has means the envelope,
/// or the place its associated data names (bucket, key, version), is not the one it was sealed
/// for: the stored bytes were changed or moved, which is corruption, as a failed chunk tag is.
pub(super) fn unwrap_error(e: CryptoError, key_id: KeyId, site: CorruptionSite) -> Error {
    match e {
        CryptoError::Unwrap { .. } => Error::corruption(
            site,
            format!(
                "sealed body: the data key does not unwrap under master key {key_id}, which the key \
                 provider has: the envelope was changed, or it belongs to another object or version"
            ),
        ),
        other => Error::KeyUnavailable { key_id: key_id.to_string(), reason: other.to_string() },
    }
}

impl Store {
    pub(super) fn key_provider(&self) -> Result<&dyn super::crypto::KeyProvider> {
        self.inner.keys.as_deref().ok_or_else(|| Error::KeyUnavailable {
            key_id: "(none)".into(),
            reason: "the store has no key provider (StoreBuilder::key_provider)".into(),
        })
    }

    /// Whether this store's chunk records, sealed, fit a record. The builder checks it for a store
    /// with a key provider; a store without one seals only SSE-C puts, checked here.
    pub(super) fn check_sealed_records_fit(&self) -> Result<()> {
        let chunk_bytes = self.inner.ctx.params.chunk_bytes;
        let sealed = sealed_record_bytes_max(chunk_bytes);
        if sealed > RECORD_BODY_BYTES_MAX {
            return Err(Error::InvalidRequest {
                reason: format!(
                    "this store's chunk_bytes ({chunk_bytes}) makes sealed chunk records of up to {sealed} bytes, past the 64 MiB record limit: SSE-C needs a store with a smaller chunk_bytes"
                ),
            });
        }
        Ok(())
    }

    /// The key slots new sealed writes take: the store's, when it crypto-shreds.
    pub(super) fn shredding_slots(&self) -> Option<&Arc<KeySlots>> {
        self.inner.ctx.key_slots.get().filter(|_| self.inner.crypto_shred)
    }

    /// Takes (and syncs) a key slot owned by `owner_id` (a version id, or an upload id: both come
    /// from one counter) of `key` in `bucket`, holding `secret`, or a fresh one when `None`;
    /// returns its guard (armed: dropped before its write is submitted, it erases the slot) and
    /// the secret. An I/O error poisons the store.
    pub(super) fn take_key_slot(
        &self,
        slots: &Arc<KeySlots>,
        bucket: BucketId,
        key: &str,
        owner_id: [u8; 16],
        secret: Option<Zeroizing<[u8; 32]>>,
    ) -> Result<(SlotGuard, Zeroizing<[u8; 32]>)> {
        let taken = match secret {
            Some(s) => slots.allocate_holding(bucket.0, key.as_bytes(), owner_id, s),
            None => slots.allocate(bucket.0, key.as_bytes(), owner_id),
        };
        let (slot, owner, secret) =
            taken.map_err(|e| self.inner.ctx.poison("key slot write", &slots.path, e))?;
        Ok((SlotGuard { slots: slots.clone(), slot, owner, armed: true }, secret))
    }

    /// The secret in the key slot `named` (slot, tag) by the record of `owner_id` (a version or
    /// an upload) of `key`: `Corruption` when the slot is not that record's (erased, taken by
    /// another, damaged) or the store has no slot file.
    pub(super) fn key_slot_secret(
        &self,
        (slot, tag): (u32, u32),
        bucket: BucketId,
        key: &str,
        owner_id: [u8; 16],
        site: &CorruptionSite,
    ) -> Result<Zeroizing<[u8; 32]>> {
        let owner = SlotOwner::new(bucket.0, key.as_bytes(), owner_id, tag);
        let Some(slots) = self.inner.ctx.key_slots.get() else {
            return Err(Error::corruption(
                site.clone(),
                format!("key slot {slot} named, but the store has no KEYSLOTS file"),
            ));
        };
        let secret = slots.read(slot, &owner).map_err(|e| Error::io("read key slot", &slots.path, e))?;
        secret.map_err(|found| {
            Error::corruption(
                site.clone(),
                format!("key slot {slot} holds {found:?}, not its record's secret"),
            )
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
        context: Option<Vec<u8>>,
    ) -> Result<(Sealing, Sealer)> {
        let customer = match enc {
            Encryption::Customer { key } => Some(key.clone()),
            _ => None,
        };
        let (mode, key_id) = match enc {
            // The caller's key wraps the data key: no provider is involved, so a store without
            // keys takes SSE-C too, and its chunk size was never checked against sealed records.
            Encryption::Customer { .. } => {
                self.check_sealed_records_fit()?;
                (SseMode::Customer, KeyId([0; 16]))
            }
            other => self.master_key_for(other)?,
        };
        let aad =
            body_aad(&self.inner.ctx.store_uuid, bucket.0, key.as_bytes(), &version.0, CHUNK_BYTES as u32);
        let key_use = match customer {
            Some(_) => None,
            None => Some(self.inner.key_uses.begin(key_id)?),
        };
        let slot = match self.shredding_slots() {
            Some(slots) => Some(self.take_key_slot(slots, bucket, key, version.0, None)?),
            None => None,
        };
        let sealing = Sealing {
            mode,
            key_id,
            dek: Dek::random(),
            nonce_prefix: random_nonce_prefix(),
            aad,
            key_use,
            slot,
            customer,
            context,
        };
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
    /// until its version is indexed (a retirement waits for it; none under SSE-C, whose caller's
    /// key wraps the data key in the master key's place).
    pub(super) fn finish_sealing(&self, s: Sealing, plain: u64) -> Result<Sealed> {
        let mut aad = wrap_aad(&s.aad, plain, &s.nonce_prefix, s.mode);
        bind_context(&mut aad, s.context.as_deref());
        // Crypto-shred: the envelope keeps only `dek ⊕ secret`; the secret is in the slot. Under
        // SSE-C too: a removed version must not open for someone holding its customer key.
        let wrapped_half = match &s.slot {
            Some((_, secret)) => Dek::from_bytes(*combine(s.dek.bytes(), secret)),
            None => Dek::from_bytes(*s.dek.bytes()),
        };
        let (wrapped, customer_key_mac) = match &s.customer {
            Some(key) => {
                let mac = CustomerKeyMac::new(key);
                (wrap_with(key.bytes(), &wrapped_half, &aad), Some((mac.salt, mac.mac)))
            }
            None => {
                let wrapped = self.key_provider()?.wrap(s.key_id, &wrapped_half, &aad).map_err(|e| {
                    Error::KeyUnavailable { key_id: s.key_id.to_string(), reason: e.to_string() }
                })?;
                (wrapped, None)
            }
        };
        let env = Envelope {
            mode: s.mode,
            key_id: s.key_id,
            wrapped,
            nonce_prefix: s.nonce_prefix,
            chunk_log2: CHUNK_BYTES.trailing_zeros() as u8,
            plaintext_len: plain,
            customer_key_mac,
        };
        Ok(Sealed {
            envelope: env.encode(),
            kms_context: s.context,
            slot: s.slot.map(|(guard, _)| guard),
            key_use: s.key_use,
        })
    }

    /// Opens a sealed version's body: decodes its envelope, checks it against the index entry and
    /// the stored chunks, unwraps the data key (under the master key, or under `customer`, the
    /// key an SSE-C read sent, which the caller has checked against the envelope's HMAC), joins
    /// it with its key slot's secret under crypto-shred, and returns the reader's source.
    #[allow(
        clippy::too_many_arguments,
        reason = "the version's identity, its meta's parts and the read's place"
    )]
    pub(super) fn open_sealed(
        &self,
        envelope: &[u8],
        key_slot: Option<(u32, u32)>,
        kms_context: Option<&[u8]>,
        customer: Option<&CustomerKey>,
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
        let aad = body_aad(
            &self.inner.ctx.store_uuid,
            bucket.0,
            key.as_bytes(),
            &version.0,
            env.chunk_bytes() as u32,
        );
        let mut wrap = wrap_aad(&aad, plain, &env.nonce_prefix, env.mode);
        bind_context(&mut wrap, kms_context);
        let mut dek = match (env.mode, customer) {
            (SseMode::Customer, Some(k)) => match &env.customer_key_mac {
                Some((salt, mac)) if (CustomerKeyMac { salt: *salt, mac: *mac }).matches(k) => {
                    // The key is the one the version was sealed under: a wrap that does not open
                    // under it was changed on disk.
                    unwrap_with(k.bytes(), &env.wrapped, &wrap).ok_or_else(|| {
                        Error::corruption(site.clone(), "the data key does not unwrap under the customer key")
                    })?
                }
                _ => {
                    return Err(Error::SseCustomerKeyMismatch {
                        bucket: self.bucket_name(bucket)?,
                        key: key.into(),
                    });
                }
            },
            (SseMode::Customer, None) => {
                return Err(Error::SseCustomerKeyMissing {
                    bucket: self.bucket_name(bucket)?,
                    key: key.into(),
                });
            }
            (_, Some(_)) => {
                return Err(Error::SseCustomerKeyNotApplicable {
                    bucket: self.bucket_name(bucket)?,
                    key: key.into(),
                });
            }
            (_, None) => {
                // Held across the unwrap: a retirement of the key waits for it (DESIGN.md §7.6,
                // "Reads across a retirement").
                let Some(_reading) = self.inner.key_uses.begin_read(env.key_id) else {
                    return Err(read_of_retired_key(env.key_id));
                };
                self.key_provider()?
                    .unwrap(env.key_id, &env.wrapped, &wrap)
                    .map_err(|e| unwrap_error(e, env.key_id, site.clone()))?
            }
        };
        if let Some(named) = key_slot {
            let secret = self.key_slot_secret(named, bucket, key, version.0, &site)?;
            dek = Dek::from_bytes(*combine(dek.bytes(), &secret));
        }
        let cipher = BodyCipher::new(&dek, env.nonce_prefix, aad, env.chunk_bytes());
        Ok(SealedBody::single(stored, cipher, plain, site))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrap_that_does_not_verify_is_corruption_and_a_missing_key_is_unavailable() {
        let site = CorruptionSite { partition: Some(1), segment_id: Some(2), offset: 4096 };
        let id = KeyId([7; 16]);
        let e = unwrap_error(CryptoError::Unwrap { key_id: id.to_string() }, id, site.clone());
        assert!(matches!(&e, Error::Corruption { site: s, .. } if *s == site), "{e}");
        assert!(e.to_string().contains(&id.to_string()), "{e}");
        let e = unwrap_error(CryptoError::UnknownKey { key_id: id.to_string() }, id, site);
        assert!(matches!(&e, Error::KeyUnavailable { key_id, .. } if *key_id == id.to_string()), "{e}");
    }
}
