//! Master key rotation on the store: rewrapping the data keys of stored versions under another
//! master key, proving a key unused, and retiring it (DESIGN.md §7.6, "Rotation").
//!
//! Rotating itself (a new key becomes active for new writes) is the key provider's business:
//! [`MasterKeys::rotate`](crate::crypto::MasterKeys::rotate). What was written before stays wrapped
//! under the old key until [`Store::rewrap`] moves it; [`Store::retire_key`] then proves that no
//! live version needs the old key and has the provider forget it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use super::crypto::{CryptoError, Dek, Envelope, KeyId, SseMode, body_aad, wrap_aad};
use super::rewrite::CompactionReport;
use super::rewrite::rewrap::{EnvelopeRewrap, live_under_key, rewrap_partition, uploads_under_key};
use super::store::Store;
use crate::error::{CorruptionSite, Error, Result};

/// What a [`Store::rewrap`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RewrapReport {
    /// The key the envelopes were wrapped under.
    pub from: KeyId,
    /// The key they are wrapped under now.
    pub to: KeyId,
    /// Envelopes re-wrapped (live versions, current and noncurrent).
    pub versions_rewrapped: u64,
    /// Envelopes of uploads in progress re-wrapped (their start records').
    pub uploads_rewrapped: u64,
    /// Live versions still under `from`: in a segment a put was writing chunks into (a later
    /// rewrap takes them), in a damaged segment (see `damaged`), or written while the rewrap ran
    /// (by a put that drew `from` before it stopped being active).
    pub versions_left: u64,
    /// Uploads in progress still under `from`: in a segment a put was writing chunks into, or a
    /// damaged one (as `versions_left`).
    pub uploads_left: u64,
    /// Segments rewritten (their live records copied, the ciphertext as it was).
    pub segments_rewritten: u64,
    /// Bytes of the segments written.
    pub bytes_written: u64,
    /// Segments found damaged: left as they are and reported, never rewritten.
    pub damaged: Vec<crate::DamagedRange>,
}

/// Where a master key is still needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyUsage {
    /// The key.
    pub key_id: KeyId,
    /// Live versions (current or noncurrent) whose data key is wrapped under it.
    pub versions: u64,
    /// Multipart uploads in progress sealed under it (their parts need it until they complete,
    /// abort, or a rewrap moves their start record's envelope to another key).
    pub uploads: u64,
}

/// Which master keys puts and rewraps are using right now, and which are being retired: a
/// retirement waits for the uses that began before it, and refuses new ones, so that nothing can
/// wrap a data key under a key that is about to go. Reads unwrapping a data key take a
/// [`ReadUse`] of its master key for the unwrap; a retirement that has proven the key unused
/// refuses new ones and waits for those in flight before the provider forgets the key.
#[derive(Debug, Default)]
pub(crate) struct KeyUses {
    state: Mutex<KeyUseState>,
    idle: Condvar,
}

#[derive(Debug, Default)]
struct KeyUseState {
    in_flight: HashMap<KeyId, usize>,
    retiring: HashSet<KeyId>,
    /// Reads unwrapping under each key right now.
    reading: HashMap<KeyId, usize>,
    /// Keys a retirement found no live version under (from its count on), and keys retired: a
    /// read whose record names one holds an envelope the index no longer has.
    retired: HashSet<KeyId>,
}

/// One use of a master key: from the moment a put draws it until its version is indexed (or the
/// put fails). Dropping it ends the use.
#[derive(Debug)]
pub(crate) struct KeyUse {
    uses: Arc<KeyUses>,
    key: KeyId,
}

impl Drop for KeyUse {
    fn drop(&mut self) {
        let mut st = self.uses.state.lock();
        if let Some(n) = st.in_flight.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                st.in_flight.remove(&self.key);
                self.uses.idle.notify_all();
            }
        }
    }
}

/// One read's use of a master key: around the unwrap of a data key wrapped under it. Dropping it
/// ends the use.
#[derive(Debug)]
pub(crate) struct ReadUse {
    uses: Arc<KeyUses>,
    key: KeyId,
}

impl Drop for ReadUse {
    fn drop(&mut self) {
        let mut st = self.uses.state.lock();
        if let Some(n) = st.reading.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                st.reading.remove(&self.key);
                self.uses.idle.notify_all();
            }
        }
    }
}

/// A retirement in progress: new uses of the key are refused until it drops; once it has
/// counted (`Retiring::seal`), new reads of it too, for good if it completed.
struct Retiring<'a> {
    uses: &'a KeyUses,
    key: KeyId,
    completed: bool,
}

impl Retiring<'_> {
    /// After a count that found no live version under the key: refuses new reads under it (each
    /// holds a record the index no longer names: its version moved, or was removed) and waits for
    /// those in flight, which may have taken their record before the count.
    fn seal(&self) {
        let mut st = self.uses.state.lock();
        st.retired.insert(self.key);
        while st.reading.contains_key(&self.key) {
            self.uses.idle.wait(&mut st);
        }
    }
}

impl Drop for Retiring<'_> {
    fn drop(&mut self) {
        let mut st = self.uses.state.lock();
        st.retiring.remove(&self.key);
        if !self.completed {
            // The provider still has the key (the retirement failed after its count).
            st.retired.remove(&self.key);
        }
    }
}

impl KeyUses {
    /// Starts a use of `key`.
    ///
    /// # Errors
    /// `KeyUnavailable` while `key` is being retired.
    pub(crate) fn begin(self: &Arc<Self>, key: KeyId) -> Result<KeyUse> {
        let mut st = self.state.lock();
        if st.retiring.contains(&key) {
            return Err(Error::KeyUnavailable {
                key_id: key.to_string(),
                reason: "the master key is being retired".into(),
            });
        }
        *st.in_flight.entry(key).or_insert(0) += 1;
        Ok(KeyUse { uses: self.clone(), key })
    }

    /// Starts a use of `key` on behalf of something already stored under it (a multipart upload
    /// in progress, whose start record names it): not refused while `key` is being retired.
    /// Safe because the part or completion reads the start record and unwraps the upload's key
    /// under the partition's rewrite lock (`hold_rewrites`), which a rewrap and the retirement's
    /// count also hold: either the start record still names `key`, and the retirement, waiting for
    /// this use, then counts the upload and refuses; or a rewrap already moved it to another key,
    /// and this use (taken from an envelope read before the move) ends before the retirement goes
    /// on. After the unwrap a part needs only the upload's data key. Refusing would fail the
    /// upload's parts for nothing.
    pub(crate) fn begin_existing(self: &Arc<Self>, key: KeyId) -> KeyUse {
        *self.state.lock().in_flight.entry(key).or_insert(0) += 1;
        KeyUse { uses: self.clone(), key }
    }

    /// Refuses new uses of `key`, then waits until the ones in flight have ended.
    fn retire(&self, key: KeyId) -> Result<Retiring<'_>> {
        let mut st = self.state.lock();
        if !st.retiring.insert(key) {
            return Err(Error::InvalidArgument {
                name: "key_id",
                value: key.to_string(),
                reason: "the master key is already being retired".into(),
            });
        }
        while st.in_flight.contains_key(&key) {
            self.idle.wait(&mut st);
        }
        Ok(Retiring { uses: self, key, completed: false })
    }

    /// Starts a read's use of `key`, for the unwrap of a data key a commit record wraps under it.
    /// `None` once a retirement has proven that no live version needs `key`: the read's record is
    /// one the index no longer names (a rewrap moved its version to another key, or it was
    /// removed), and the read must look its version up again.
    pub(crate) fn begin_read(self: &Arc<Self>, key: KeyId) -> Option<ReadUse> {
        let mut st = self.state.lock();
        if st.retired.contains(&key) {
            return None;
        }
        *st.reading.entry(key).or_insert(0) += 1;
        Some(ReadUse { uses: self.clone(), key })
    }
}

/// The error of a read whose record wraps its data key under a key retired (or being retired)
/// since the read looked the version up; [`Store::get`] looks the version up again when its
/// entry has moved.
pub(super) fn read_of_retired_key(key: KeyId) -> Error {
    Error::KeyUnavailable {
        key_id: key.to_string(),
        reason: "the master key was retired: no live version is wrapped under it".into(),
    }
}

/// Re-wraps envelopes under `from` as `to`, binding the same associated data.
struct Rewrap<'a> {
    store: &'a Store,
    from: KeyId,
    to: KeyId,
}

impl EnvelopeRewrap for Rewrap<'_> {
    fn rewrap(
        &self,
        bucket: u64,
        key: &[u8],
        version: [u8; 16],
        env: &[u8],
        meta: &crate::engine::format::meta::ObjectMeta,
        site: CorruptionSite,
    ) -> Result<Option<Vec<u8>>> {
        let mut env = Envelope::decode(env).map_err(|e| Error::corruption(site.clone(), e.to_string()))?;
        if env.key_id != self.from || env.mode == SseMode::Customer {
            return Ok(None);
        }
        let context = meta.kms_context.as_deref();
        let aad = match &meta.part_seals {
            // A sealed multipart object's wrap binds its part list (`sealing_parts.rs`).
            Some(seals) => self.store.multipart_wrap_aad(
                env.mode,
                bucket,
                key,
                version,
                seals,
                env.plaintext_len,
                context,
            ),
            None => {
                let aad = body_aad(
                    &self.store.inner.ctx.store_uuid,
                    bucket,
                    key,
                    &version,
                    env.chunk_bytes() as u32,
                );
                let mut aad = wrap_aad(&aad, env.plaintext_len, &env.nonce_prefix, env.mode);
                crate::engine::crypto::bind_context(&mut aad, context);
                aad
            }
        };
        env.wrapped = self.rewrapped(&env.wrapped, &aad, site)?;
        env.key_id = self.to;
        Ok(Some(env.encode()))
    }

    fn rewrap_upload(
        &self,
        bucket: u64,
        key: &[u8],
        upload_id: [u8; 16],
        env: &[u8],
        meta: &crate::engine::format::meta::ObjectMeta,
        site: CorruptionSite,
    ) -> Result<Option<Vec<u8>>> {
        let mut env = Envelope::decode(env).map_err(|e| Error::corruption(site.clone(), e.to_string()))?;
        if env.key_id != self.from || env.mode == SseMode::Customer {
            return Ok(None);
        }
        let key = std::str::from_utf8(key)
            .map_err(|_| Error::corruption(site.clone(), "upload key is not UTF-8"))?;
        let aad = self.store.upload_wrap_aad(
            crate::types::BucketId(bucket),
            key,
            upload_id,
            env.mode,
            meta.kms_context.as_deref(),
        );
        env.wrapped = self.rewrapped(&env.wrapped, &aad, site)?;
        env.key_id = self.to;
        Ok(Some(env.encode()))
    }
}

impl Rewrap<'_> {
    /// `wrapped` (a data key under `from` with associated data `aad`) unwrapped and wrapped
    /// under `to`.
    fn rewrapped(
        &self,
        wrapped: &crate::crypto::WrappedKey,
        aad: &[u8],
        site: CorruptionSite,
    ) -> Result<crate::crypto::WrappedKey> {
        let keys = self.store.key_provider()?;
        let dek = keys.unwrap(self.from, wrapped, aad).map_err(|e| match e {
            // The provider has the key, and the wrap does not verify: the envelope was changed.
            CryptoError::Unwrap { .. } => Error::corruption(site, e.to_string()),
            other => Error::KeyUnavailable { key_id: self.from.to_string(), reason: other.to_string() },
        })?;
        keys.wrap(self.to, &dek, aad)
            .map_err(|e| Error::KeyUnavailable { key_id: self.to.to_string(), reason: e.to_string() })
    }
}

impl Store {
    /// Re-wraps the data key of every live version sealed under master key `from` under the
    /// provider's active key; see [`Store::rewrap_to`].
    ///
    /// # Errors
    /// As [`Store::rewrap_to`]; `KeyUnavailable` when the provider has no active key.
    pub fn rewrap(&self, from: KeyId) -> Result<RewrapReport> {
        let to = self
            .key_provider()?
            .active_key()
            .map_err(|e| Error::KeyUnavailable { key_id: "(active)".into(), reason: e.to_string() })?;
        self.rewrap_to(from, to)
    }

    /// Re-wraps the data key of every live version (current and noncurrent) sealed under master
    /// key `from` under `to`, without re-encrypting any body: the rewrite protocol copies the
    /// segments holding their commit records, each envelope re-wrapped on the way, and the
    /// ciphertext as it is. Crash-safe (each rewrite commits whole or not at all) and resumable (a
    /// later call takes what is left, and one with nothing left does nothing). SSE-KMS versions
    /// stay SSE-KMS, now naming `to`; SSE-C versions are the caller's and are never touched.
    /// Readers and writers go on meanwhile.
    ///
    /// # Errors
    /// `InvalidArgument` when `from` is `to`; `KeyUnavailable` when the provider lacks `from` or
    /// `to`, or `to` is being retired; `Io`, `PreviousIo` as for [`Store::compact`].
    pub fn rewrap_to(&self, from: KeyId, to: KeyId) -> Result<RewrapReport> {
        self.inner.ctx.check()?;
        if from == to {
            return Err(Error::InvalidArgument {
                name: "key_id",
                value: to.to_string(),
                reason: "a rewrap needs another key to wrap under".into(),
            });
        }
        let keys = self.key_provider()?;
        // Both keys must be there before anything is rewritten.
        let probe = Dek::random();
        for k in [to, from] {
            keys.wrap(k, &probe, b"s3lite/rewrap-probe")
                .map_err(|e| Error::KeyUnavailable { key_id: k.to_string(), reason: e.to_string() })?;
        }
        let _using_to = self.inner.key_uses.begin(to)?;
        let rewrap = Rewrap { store: self, from, to };
        let mut report = CompactionReport::default();
        let (mut versions_left, mut uploads_left) = (0, 0);
        for part in self.inner.partitions.iter() {
            let left = rewrap_partition(part, from, &rewrap, &mut report)?;
            versions_left += left.versions;
            uploads_left += left.uploads;
        }
        Ok(RewrapReport {
            from,
            to,
            versions_rewrapped: report.envelopes_rewrapped,
            uploads_rewrapped: report.upload_envelopes_rewrapped,
            versions_left,
            uploads_left,
            segments_rewritten: report.segments_in,
            bytes_written: report.bytes_out,
            damaged: report.damaged,
        })
    }

    /// How many live versions need master key `key` (their data key is wrapped under it). Reads
    /// the commit record of every chunked version.
    ///
    /// # Errors
    /// `Corruption` when a commit record or its envelope does not decode (the answer would not be
    /// a proof); `Io`.
    pub fn key_usage(&self, key: KeyId) -> Result<KeyUsage> {
        self.inner.ctx.check()?;
        let (mut versions, mut uploads) = (0u64, 0u64);
        for part in self.inner.partitions.iter() {
            let _no_moves = part.rewrite_lock.lock();
            versions += live_under_key(part, key)?.len() as u64;
            uploads += uploads_under_key(part, key)?.len() as u64;
        }
        Ok(KeyUsage { key_id: key, versions, uploads })
    }

    /// Retires master key `key` once the store proves nothing live needs it: new puts may no
    /// longer draw it, the puts that already did are waited for, no live version may be wrapped
    /// under it, the gets unwrapping under it (their version looked up before a rewrap moved it)
    /// are waited for, and then every partition's acknowledged writes are synced (so a power loss cannot
    /// bring back a version a delete had removed). The provider then forgets the key
    /// ([`KeyProvider::retire`](crate::crypto::KeyProvider::retire); the built-in one removes it
    /// from its key file). Dead records that still hold an envelope under it become unreadable,
    /// which is what retiring is for; compaction reclaims them.
    ///
    /// # Errors
    /// `KeyInUse` with the count when live versions still need it (run [`Store::rewrap`] first);
    /// `InvalidArgument` for the provider's active key (rotate first), an unknown key, or a key
    /// already being retired; `KeyUnavailable` when the provider cannot retire keys; `Corruption`
    /// when a commit record does not decode (nothing is retired); `Io`, `PreviousIo`.
    pub fn retire_key(&self, key: KeyId) -> Result<KeyUsage> {
        self.inner.ctx.check()?;
        let keys = self.key_provider()?;
        if keys.active_key().ok() == Some(key) {
            return Err(Error::InvalidArgument {
                name: "key_id",
                value: key.to_string(),
                reason: "the active master key cannot be retired: rotate first".into(),
            });
        }
        if keys.wrap(key, &Dek::random(), b"s3lite/retire-probe").is_err() {
            return Err(Error::InvalidArgument {
                name: "key_id",
                value: key.to_string(),
                reason: "the key provider has no such master key".into(),
            });
        }
        let mut retiring = self.inner.key_uses.retire(key)?;
        let usage = self.key_usage(key)?;
        if usage.versions > 0 || usage.uploads > 0 {
            let versions = usage.versions + usage.uploads;
            return Err(Error::KeyInUse { key_id: key.to_string(), versions });
        }
        // Gets that took a commit record before a rewrap moved its version (or a delete removed
        // it) may still be about to unwrap under the key: wait for them, and refuse new ones
        // (their record is stale; they look their version up again, `Store::get`).
        retiring.seal();
        // After the count: every removal the count saw as done was written before the index
        // showed it, so this sync makes each durable (syncing first would miss one applied in
        // between: an `Eventual` delete a power loss then undoes, bringing back a version
        // wrapped under the key that is gone).
        for part in self.inner.partitions.iter() {
            part.sync_active()?;
        }
        keys.retire(key)
            .map_err(|e| Error::KeyUnavailable { key_id: key.to_string(), reason: e.to_string() })?;
        retiring.completed = true;
        Ok(usage)
    }
}
