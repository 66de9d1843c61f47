//! Crypto-shred on the partition: noting the sealed versions a group removed, and erasing their key
//! slots once the removals are durable (DESIGN.md §7.6, "Crypto-shred").

use std::sync::Arc;

use super::index::{EntryKind, IndexEntry};
use super::uploads::Upload;
use super::{Effect, Partition, WriteRecord};
use crate::engine::format::meta::ObjectMeta;
use crate::engine::format::record::decode_record;
use crate::engine::key_slots::SlotOwner;
use crate::engine::segment::Segment;
use crate::types::VersionId;

/// A chunked version a group removed, or an upload it ended: where its commit (or start) record
/// is (the segment pinned, so that a compaction cannot take the record away before its key slot
/// is read).
#[derive(Debug)]
pub(crate) struct RemovedVersion {
    bucket: u64,
    key: Vec<u8>,
    /// The version id, or the upload id (a slot's owner names either).
    version: VersionId,
    segment: Arc<Segment>,
    offset: u64,
    len: u64,
}

impl Partition {
    /// Notes the chunked versions `rec`'s effect removed, and the upload it `ended` (the
    /// group-commit leader, index write lock held: `segments` is taken under it, as lookups do).
    pub(super) fn note_removed_sealed(
        &self,
        rec: &WriteRecord,
        removed: Vec<IndexEntry>,
        ended: Option<Upload>,
    ) {
        let (bucket, key) = match &rec.effect {
            Effect::Upsert { bucket, key, .. } | Effect::Purge { bucket, key, .. } => (*bucket, key),
            Effect::UploadEnd { key: (bucket, key, upload) } => {
                // An ended upload's start record may name its key slot (a sealed upload begun
                // under crypto-shred): erased once the end is durable, as a removal's.
                if let Some(u) = ended
                    && let Some(segment) = self.segment(u.at.segment_id)
                {
                    self.removed_sealed.lock().push(RemovedVersion {
                        bucket: *bucket,
                        key: key.clone(),
                        version: VersionId(*upload),
                        segment,
                        offset: u.at.offset,
                        len: u.at.len,
                    });
                }
                return;
            }
            _ => return,
        };
        let mut noted = Vec::new();
        for e in removed.into_iter().filter(|e| e.kind == EntryKind::Chunked) {
            if let Some(segment) = self.segment(e.segment_id) {
                let (offset, len) = (e.offset(), e.record_len());
                noted.push(RemovedVersion {
                    bucket,
                    key: key.clone(),
                    version: e.version_id,
                    segment,
                    offset,
                    len,
                });
            }
        }
        if !noted.is_empty() {
            self.removed_sealed.lock().extend(noted);
        }
    }

    /// Erases the key slots of the removed versions noted so far. First syncs the partition's
    /// active segments, so that no removal whose slot is erased can be lost to a power loss (an
    /// `Eventual` delete would otherwise come back without its key). An I/O error poisons the
    /// store and is the caller's (its write may or may not survive, as for any failed sync); the
    /// next open's sweep erases what is left.
    pub(super) fn erase_removed_key_slots(&self) -> crate::Result<()> {
        let Some(slots) = self.ctx.key_slots.get() else { return Ok(()) };
        let removed = std::mem::take(&mut *self.removed_sealed.lock());
        if removed.is_empty() {
            return Ok(());
        }
        self.sync_active()?;
        let mut erased = false;
        for r in removed {
            let Ok(bytes) = r.segment.read_bytes(r.offset, r.len) else { continue };
            let Ok(view) = decode_record(bytes.bytes()) else { continue };
            let Some((slot, tag)) = ObjectMeta::decode(view.meta).ok().and_then(|m| m.key_slot) else {
                continue;
            };
            let owner = SlotOwner::new(r.bucket, &r.key, r.version.0, tag);
            erased |=
                slots.erase(slot, &owner).map_err(|e| self.ctx.poison("key slot erase", &slots.path, e))?;
        }
        if erased {
            slots.sync().map_err(|e| self.ctx.poison("key slot sync", &slots.path, e))?;
        }
        Ok(())
    }
}
