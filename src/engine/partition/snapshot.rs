//! A checkpoint's snapshot of one partition: its index, and the log position the index covers,
//! taken so that every record the snapshot includes is durable (DESIGN.md 6.1).

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use super::Partition;
use super::index::EntryKind;
use crate::engine::format::checkpoint::{
    Checkpoint, CheckpointCatalogEdit, CheckpointEntry, CheckpointPart, CheckpointSegment, CheckpointSpan,
    CheckpointUpload, Coverage,
};
use crate::error::Result;

impl Partition {
    /// The partition's index and covered position, as a checkpoint (numbered 0: the writer numbers
    /// it). Taken as the partition's leader with no group of its own, so no group is half written
    /// or half applied, and under the rewrite lock, so no compaction changes the segments meanwhile.
    /// Active segments are synced first (under `Eventual` the index holds records no sync covered
    /// yet): then every record at or before the covered offsets is durable, and the checkpoint
    /// never names an entry a power loss could take away. `None` when some segment is neither
    /// sealed nor active (cannot happen under the rewrite lock; refused rather than guessed).
    pub(crate) fn durable_snapshot(&self) -> Result<Option<Checkpoint>> {
        let _one_rewrite = self.hold_rewrites();
        let _leadership = self.lead_alone();
        self.ctx.check()?;
        let mut active_at: HashMap<u64, (u64, u64, u64, u32)> = HashMap::new();
        {
            let mut active = self.active.lock();
            for a in active.values_mut() {
                if a.synced_upto < a.tail {
                    a.seg.sync_data().map_err(|e| self.ctx.poison("segment fdatasync", &a.seg.path, e))?;
                    super::stats::add(&self.counters.fsyncs, 1);
                    a.synced_upto = a.tail;
                }
                active_at.insert(a.seg.id, (a.tail, a.record_count, a.last_seq, a.crc.clone().finalize()));
            }
        }
        // Every seq handed out so far is below the counter: an upper bound of this partition's.
        let max_seq = self.ctx.next_seq.load(Ordering::Relaxed).saturating_sub(1);
        let index = self.index.read();
        let retained = index.retained_by_segment();
        let mut segments = Vec::new();
        for seg in self.all_segments() {
            let (coverage, record_count, last_seq, crc_upto) =
                match (active_at.get(&seg.id), seg.sealed_len()) {
                    (Some(&(tail, count, last, crc)), _) => (Coverage::ActiveUpto(tail), count, last, crc),
                    (None, Some(len)) => (Coverage::Sealed(len), 0, 0, 0),
                    (None, None) => return Ok(None),
                };
            segments.push(CheckpointSegment {
                segment_id: seg.id,
                class: seg.class.code(),
                coverage,
                min_seq: seg.min_seq(),
                retained_bytes: retained.get(&seg.id).copied().unwrap_or(0),
                record_count,
                last_seq,
                crc_upto,
            });
        }
        let catalog = index
            .catalog_edits()
            .iter()
            .map(|(seq, body)| CheckpointCatalogEdit { seq: *seq, body: body.clone() })
            .collect();
        let entries = index
            .entries()
            .map(|(k, e, spans)| CheckpointEntry {
                bucket: k.bucket,
                key: k.key.to_vec(),
                seq: k.rev_seq.0,
                segment_id: e.segment_id,
                offset: e.offset(),
                record_len: e.record_len(),
                version_id: e.version_id.0,
                kind: match e.kind {
                    EntryKind::Inline => 1,
                    EntryKind::Chunked => 2,
                    EntryKind::DeleteMarker => 3,
                },
                class: e.class.code(),
                size: e.size,
                mtime_ms: e.mtime_ms,
                etag: e.etag,
                spans: spans
                    .iter()
                    .map(|s| CheckpointSpan { segment_id: s.segment_id, bytes: s.bytes })
                    .collect(),
                parts: e.parts,
            })
            .collect();
        let uploads = index
            .uploads()
            .iter()
            .map(|((bucket, key, upload_id), u)| CheckpointUpload {
                bucket: *bucket,
                key: key.clone(),
                upload_id: *upload_id,
                seq: u.seq,
                segment_id: u.at.segment_id,
                offset: u.at.offset,
                record_len: u.at.len,
                initiated_ms: u.initiated_ms,
                class: u.class.code(),
                parts: u
                    .parts
                    .iter()
                    .map(|(n, p)| CheckpointPart {
                        number: *n,
                        seq: p.seq,
                        segment_id: p.at.segment_id,
                        offset: p.at.offset,
                        record_len: p.at.len,
                        size: p.size,
                        mtime_ms: p.mtime_ms,
                        etag: p.etag,
                        spans: p
                            .spans
                            .iter()
                            .map(|s| CheckpointSpan { segment_id: s.segment_id, bytes: s.bytes })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        Ok(Some(Checkpoint {
            partition: self.id,
            store_uuid: self.ctx.store_uuid,
            number: 0,
            max_seq,
            segments,
            catalog,
            entries,
            uploads,
        }))
    }

    /// Segments and how far each is written now (sealed length, or active tail), without leading:
    /// what decides whether a checkpoint would cover anything new.
    pub(crate) fn log_position(&self) -> Vec<(u64, Coverage)> {
        let tails: HashMap<u64, u64> = self.active.lock().values().map(|a| (a.seg.id, a.tail)).collect();
        self.all_segments()
            .iter()
            .map(|s| match (tails.get(&s.id), s.sealed_len()) {
                (Some(&t), _) => (s.id, Coverage::ActiveUpto(t)),
                (None, Some(len)) => (s.id, Coverage::Sealed(len)),
                (None, None) => (s.id, Coverage::ActiveUpto(0)),
            })
            .collect()
    }
}
