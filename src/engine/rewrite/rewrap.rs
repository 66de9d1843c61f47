//! Rewrap: the rewrite protocol run over the segments that hold a live commit record whose
//! envelope is wrapped under one master key, each such envelope re-wrapped on the way (DESIGN.md
//! §7.6, "Rotation"). The ciphertext is copied as it is, never re-encrypted; a chunk in a segment
//! that is no input stays where it is. Crash safety and resumption are the protocol's: a rewrite
//! either commits (its outputs hold the new envelopes, its inputs go) or leaves the store as it
//! was, and a later rewrap picks up what is left.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{
    COMPACTION_INPUT_BYTES_MAX_DEFAULT, CompactionReport, corrupt, decode_kind, read_record_at, reap,
    rewrite_marking_damage,
};
use crate::engine::crypto::{Envelope, KeyId, SseMode};
use crate::engine::format::meta::ObjectMeta;
use crate::engine::format::record::RecordKind;
use crate::engine::partition::Partition;
use crate::engine::partition::index::EntryKind;
use crate::engine::partition::uploads::UploadKey;
use crate::engine::segment::Segment;
use crate::error::{CorruptionSite, Result};
use crate::types::StorageClass;

/// Re-wraps one envelope as a rewrite copies its commit record.
pub(crate) trait EnvelopeRewrap {
    /// The envelope `env` of `key`'s version `version` in bucket `bucket`, re-wrapped, or `None`
    /// to keep it as it is (another key's, or SSE-C). `meta` is the commit record's meta: a
    /// sealed multipart object's part seals and an encryption context are bound by the wrap.
    /// `site` is the commit record's place, for the error of an envelope that does not decode or
    /// unwrap.
    ///
    /// # Errors
    /// `Corruption` for an envelope that does not decode or does not unwrap under a key the
    /// provider has; `KeyUnavailable` when the provider lacks a key.
    fn rewrap(
        &self,
        bucket: u64,
        key: &[u8],
        version: [u8; 16],
        env: &[u8],
        meta: &crate::engine::format::meta::ObjectMeta,
        site: CorruptionSite,
    ) -> Result<Option<Vec<u8>>>;

    /// The envelope `env` of upload `upload_id` of `key` in bucket `bucket` (its start record's),
    /// re-wrapped under the upload's associated data (and the context its `meta` names), or
    /// `None` to keep it. As [`Self::rewrap`].
    ///
    /// # Errors
    /// As [`Self::rewrap`].
    fn rewrap_upload(
        &self,
        bucket: u64,
        key: &[u8],
        upload_id: [u8; 16],
        env: &[u8],
        meta: &crate::engine::format::meta::ObjectMeta,
        site: CorruptionSite,
    ) -> Result<Option<Vec<u8>>>;
}

/// Where a live sealed version's commit record is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LiveSealed {
    pub(crate) segment_id: u64,
    pub(crate) class: StorageClass,
}

/// The live versions of `part` whose envelope is wrapped under `key`, by their commit record's
/// segment. The caller holds the partition's rewrite lock, so no record moves meanwhile; writes
/// and deletes go on (what they add or remove is not seen, or seen gone).
///
/// # Errors
/// `Corruption` when a commit record, its meta or its envelope does not decode: the key's use
/// cannot be proven absent.
pub(crate) fn live_under_key(part: &Partition, key: KeyId) -> Result<Vec<LiveSealed>> {
    let places: Vec<(u64, u64, StorageClass)> = part
        .index
        .read()
        .entries()
        .filter(|(_, e, _)| e.kind == EntryKind::Chunked)
        .map(|(_, e, _)| (e.segment_id, e.offset(), e.class))
        .collect();
    let mut found = Vec::new();
    let mut segment: Option<Arc<Segment>> = None;
    for (segment_id, offset, class) in places {
        if segment.as_ref().is_none_or(|s| s.id != segment_id) {
            segment = part.segment(segment_id);
        }
        let Some(seg) = segment.as_ref() else {
            return Err(corrupt(
                part,
                segment_id,
                offset,
                "an indexed version's segment is not in the store".into(),
            ));
        };
        let rec = read_record_at(part, seg, offset)?;
        let view = decode_kind(part, seg, offset, &rec, RecordKind::ObjectCommit)?;
        let meta = ObjectMeta::decode(view.meta)
            .map_err(|e| corrupt(part, segment_id, offset, format!("meta: {e}")))?;
        let Some(env) = meta.envelope.as_deref() else { continue };
        let env = Envelope::decode(env).map_err(|e| corrupt(part, segment_id, offset, e.to_string()))?;
        // An SSE-C envelope names no master key (its id field is zero).
        if env.mode != SseMode::Customer && env.key_id == key {
            found.push(LiveSealed { segment_id, class });
        }
    }
    Ok(found)
}

/// The uploads in progress in `part` whose envelope (in their start record) is wrapped under
/// `key`, by their start record's segment. As [`live_under_key`]: the caller holds the rewrite
/// lock.
///
/// # Errors
/// `Corruption` when a start record, its meta or its envelope does not decode.
pub(crate) fn uploads_under_key(part: &Partition, key: KeyId) -> Result<Vec<LiveSealed>> {
    let starts: Vec<(UploadKey, u64, u64, StorageClass)> = part
        .index
        .read()
        .uploads()
        .iter()
        .map(|(k, u)| (k.clone(), u.at.segment_id, u.at.offset, u.class))
        .collect();
    let mut found = Vec::new();
    for ((bucket, name, upload_id), segment_id, offset, class) in starts {
        let Some(seg) = part.segment(segment_id) else {
            return Err(corrupt(part, segment_id, offset, "an upload's segment is not in the store".into()));
        };
        let rec = read_record_at(part, &seg, offset)?;
        let view = decode_kind(part, &seg, offset, &rec, RecordKind::MultipartStart)?;
        let h = &view.header;
        if h.bucket_id != bucket || h.version_id != upload_id || view.key != name.as_slice() {
            // Counting another upload's envelope would prove nothing about this one's key.
            let what = "start record identity does not match the upload in the index".into();
            return Err(corrupt(part, segment_id, offset, what));
        }
        let meta = ObjectMeta::decode(view.meta)
            .map_err(|e| corrupt(part, segment_id, offset, format!("meta: {e}")))?;
        let Some(env) = meta.envelope.as_deref() else { continue };
        let env = Envelope::decode(env).map_err(|e| corrupt(part, segment_id, offset, e.to_string()))?;
        // An SSE-C envelope names no master key (its id field is zero).
        if env.mode != SseMode::Customer && env.key_id == key {
            found.push(LiveSealed { segment_id, class });
        }
    }
    Ok(found)
}

/// What is still under a key after a partition's rewrap.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LeftUnder {
    pub(crate) versions: u64,
    pub(crate) uploads: u64,
}

/// Rewraps what `part` holds under `from` through `rewrap` (live versions' commit records and
/// uploads' start records); returns how many are still under `from` afterwards (those in a
/// segment a put is still writing chunks into, or in a damaged one: a later rewrap takes the
/// first, the report names the second).
pub(crate) fn rewrap_partition(
    part: &Partition,
    from: KeyId,
    rewrap: &dyn EnvelopeRewrap,
    report: &mut CompactionReport,
) -> Result<LeftUnder> {
    let _one_at_a_time = part.rewrite_lock.lock();
    part.ctx().check()?;
    reap(part, report);
    let mut by_class: BTreeMap<u8, (StorageClass, Vec<u64>)> = BTreeMap::new();
    for l in live_under_key(part, from)?.into_iter().chain(uploads_under_key(part, from)?) {
        let ids = &mut by_class.entry(l.class.code()).or_insert((l.class, Vec::new())).1;
        if !ids.contains(&l.segment_id) {
            ids.push(l.segment_id);
        }
    }
    for (class, mut ids) in by_class.into_values() {
        // An active segment holding one is sealed first, as a compaction with `seal_active` does,
        // unless a put is still writing chunks into it.
        if let Some((active_id, _)) = part.active_tail(class)
            && ids.contains(&active_id)
            && !part.index.read().has_pending_chunks(active_id)
        {
            part.seal_active(class)?;
        }
        ids.sort_unstable();
        let inputs: Vec<Arc<Segment>> = {
            let ix = part.index.read();
            ids.iter()
                .filter_map(|&id| part.segment(id))
                .filter(|s| s.sealed_len().is_some() && s.rewritable() && !ix.has_pending_chunks(s.id))
                .collect()
        };
        // Batches of a bounded size, each its own rewrite: a crash loses at most the one in hand.
        let mut batch: Vec<Arc<Segment>> = Vec::new();
        let mut batch_bytes = 0u64;
        for seg in inputs {
            let len = seg.sealed_len().unwrap_or(0);
            if !batch.is_empty() && batch_bytes + len > COMPACTION_INPUT_BYTES_MAX_DEFAULT {
                rewrite_marking_damage(part, class, &std::mem::take(&mut batch), None, report, Some(rewrap))?;
                batch_bytes = 0;
            }
            batch_bytes += len;
            batch.push(seg);
        }
        if !batch.is_empty() {
            rewrite_marking_damage(part, class, &batch, None, report, Some(rewrap))?;
        }
    }
    reap(part, report);
    Ok(LeftUnder {
        versions: live_under_key(part, from)?.len() as u64,
        uploads: uploads_under_key(part, from)?.len() as u64,
    })
}
