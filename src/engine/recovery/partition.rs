//! Recovering one partition: its sealed segments (from a checkpoint where one covers them, by a
//! scan otherwise), its active segment's tail (settled: torn bytes cut, zeros kept), and the index
//! entries and live bytes their records make.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::Path;
use std::sync::Arc;

use crate::engine::checkpoint;
use crate::engine::context::Context;
use crate::engine::format::checkpoint::{Checkpoint, CheckpointSegment, Coverage};
use crate::engine::format::meta::ObjectMeta;
use crate::engine::format::record::{RecordKind, SEAL_BODY_BYTES, record_len};
use crate::engine::format::segment_header::{SEGMENT_DATA_START, SegmentHeader};
use crate::engine::io::{OpenMode, StorageFile, read_all};
use crate::engine::orphans::{self, quarantine};
use crate::engine::partition::index::{EntryKind, IndexEntry, narrow_place, spans_of};
use crate::engine::partition::{Partition, RecoveredActive};
use crate::engine::segment::Segment;
use crate::engine::segment::scan::{ScanStart, SegmentState, scan_segment_from};
use crate::error::{CorruptionSite, Error, Result};
use crate::types::{RecoveryMode, StorageClass, VersionId};

use super::{CheckpointUsed, DamagedRange, RecoveryReport, Replayed, SegInfo, TornTail, io_err};

/// Rebuilds one partition: its segments in order, each from the checkpoint that covers it or by a
/// scan, then the active tail; index entries, uploads and live bytes as the records say.
pub(super) fn recover_partition(
    ctx: &Context,
    part: &Partition,
    segs: &[(u64, SegInfo)],
    ckpt: Option<&Checkpoint>,
    mode: RecoveryMode,
    report: &mut RecoveryReport,
    manifest_segments: &mut BTreeMap<u64, SegInfo>,
) -> Result<Replayed> {
    let salvage = mode == RecoveryMode::Salvage;
    let mut out = Replayed { partition_records: Vec::new() };
    let mut active_seen: Vec<StorageClass> = Vec::new();
    let covered: std::collections::HashMap<u64, &CheckpointSegment> =
        ckpt.iter().flat_map(|c| &c.segments).map(|s| (s.segment_id, s)).collect();
    for (id, info) in segs {
        let covered = covered.get(id).copied();
        if let Some(cs @ CheckpointSegment { coverage: Coverage::Sealed(len), .. }) = covered {
            load_sealed(ctx, part, *id, info, cs, *len)?;
            report.segments_loaded += 1;
            continue;
        }
        // Records before this offset are in the checkpoint (every byte before it was synced).
        let start = match covered {
            Some(CheckpointSegment { coverage: Coverage::ActiveUpto(at), crc_upto, .. }) => {
                Some(ScanStart { offset: *at, crc: *crc_upto })
            }
            _ => None,
        };
        let site = |offset| CorruptionSite { partition: Some(part.id), segment_id: Some(*id), offset };
        let path = ctx.segment_path(part.id, info.class, *id);
        let damaged = |report: &mut RecoveryReport, start, end, reason: String| {
            report.damaged.push(DamagedRange { partition: part.id, segment_id: *id, start, end, reason });
        };
        let file = match ctx
            .storage
            .open(&path, if info.sealed_len.is_some() { OpenMode::ReadOnly } else { OpenMode::ReadWrite })
        {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound && salvage => {
                damaged(report, 0, 0, "segment file missing".into());
                manifest_segments.remove(id);
                continue;
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let reason = if self::orphans::quarantined_ids(&*ctx.storage, &ctx.root)?.contains(id) {
                    "segment file listed in the manifest is in quarantine/ (a salvage moved it there and \
                     stopped before it finished; open with RecoveryMode::Salvage again)"
                } else {
                    "segment file listed in the manifest is missing"
                };
                return Err(Error::corruption(site(0), reason));
            }
            Err(e) => return Err(Error::io("open segment", &path, e)),
        };
        report.segments_scanned += 1;
        // An adopted segment's bytes are all written again below (no marker of it can be trusted
        // to prove a sync): they must all be read, never left as the zeros of a partial read.
        let adopted = report.segments_adopted.contains(&path);
        let map;
        let mut owned;
        let bytes: &[u8] = if info.sealed_len.is_some() {
            map = file.map().map_err(io_err("map", &path))?;
            map.bytes()
        } else if let Some(start) = start.filter(|_| !adopted) {
            owned = read_header_and_tail(&*file, start.offset).map_err(io_err("read", &path))?;
            &owned
        } else {
            owned = read_all(&*file).map_err(io_err("read", &path))?;
            if owned.len() < SEGMENT_DATA_START as usize && SegmentHeader::decode(&owned).is_ok() {
                // A creation whose header page was torn after its first sector: the header is
                // intact and the rest of the page is zeros by definition.
                file.set_len(SEGMENT_DATA_START).map_err(io_err("extend header page", &path))?;
                owned.resize(SEGMENT_DATA_START as usize, 0);
            }
            &owned
        };
        if let Some(reason) = header_problem(ctx, bytes, *id, part.id, info) {
            if !salvage {
                return Err(Error::corruption(site(0), reason));
            }
            // Never deleted: moved aside with every intact record in it, and its id stays used.
            damaged(report, 0, bytes.len() as u64, reason);
            drop(file);
            quarantine(&*ctx.storage, &ctx.root, &path, report)?;
            manifest_segments.remove(id);
            continue;
        }
        let state = info.sealed_len.map_or(SegmentState::Active, SegmentState::Sealed);
        let start = start.unwrap_or_else(|| ScanStart {
            offset: SEGMENT_DATA_START,
            // A sealed segment cut short (media damage) may end inside its header page.
            crc: crc32fast::hash(&bytes[..bytes.len().min(SEGMENT_DATA_START as usize)]),
        });
        let mut scan = scan_segment_from(bytes, state, salvage, start);
        let mut sealed_len = info.sealed_len;
        let newest_of_class =
            segs.iter().filter(|(_, s)| s.class == info.class).all(|(other, _)| other <= id);
        if let (None, Some((at, _)), false) = (sealed_len, &scan.seal, newest_of_class) {
            // Sealed on disk, a newer segment of the class exists, and the manifest lost the edit
            // (salvage of a damaged manifest, or a bit flip in its last frame): sealed, not active.
            let len = at + record_len(0, 0, SEAL_BODY_BYTES as u64);
            sealed_len = Some(len);
            scan = scan_segment_from(bytes, SegmentState::Sealed(len), salvage, start);
            if let Some(s) = manifest_segments.get_mut(id) {
                s.sealed_len = Some(len);
            }
        }
        if let Some((offset, reason)) = scan.fatal.clone() {
            if !salvage {
                return Err(Error::corruption(site(offset), reason));
            }
            damaged(report, offset, bytes.len() as u64, reason);
        }
        for d in &scan.damage {
            damaged(report, d.start, d.end, d.reason.clone());
        }
        let seg = Arc::new(Segment::new(*id, info.class, info.generation, path.clone(), file.clone()));
        if scan.fatal.is_some() || !scan.damage.is_empty() {
            // Salvage opened it with damage: never a compaction input (its intact records stay).
            seg.mark_damaged();
        }
        for r in &scan.records {
            seg.note_seq(r.header.seq);
        }
        let (count_before, last_seq_before) = covered.map_or((0, 0), |cs| {
            seg.note_seq(cs.min_seq);
            (cs.record_count, cs.last_seq)
        });
        if let Some(len) = sealed_len {
            seg.map_sealed(len).map_err(io_err("map", &path))?;
        } else {
            if active_seen.contains(&info.class) {
                return Err(Error::corruption(site(0), "two active segments for one storage class"));
            }
            active_seen.push(info.class);
            let rewrite_from = if adopted { 0 } else { scan.synced_upto };
            // A partial read holds zeros before the scan's start: nothing before it is written.
            debug_assert!(adopted || rewrite_from >= start.offset);
            settle_active_tail(&*file, &path, bytes, rewrite_from, scan.end, part.id, *id, report)?;
            let mut crc = crc32fast::Hasher::new_with_initial_len(start.crc, start.offset);
            crc.update(&bytes[start.offset as usize..scan.end as usize]);
            part.set_active(RecoveredActive {
                seg: seg.clone(),
                tail: scan.end,
                record_count: count_before + scan.records.len() as u64,
                last_seq: scan.records.iter().map(|r| r.header.seq).fold(last_seq_before, u64::max),
                crc,
            });
        }
        part.add_segment(seg);
        out.partition_records.extend(scan.records.into_iter().map(|r| (info.class, *id, r)));
    }
    Ok(out)
}

/// An active segment's bytes as far as an open from a checkpoint needs them: the header page and
/// everything from `from` (the covered offset) on; the bytes between are left zero, never read (a
/// zeroed allocation costs no memory until written).
fn read_header_and_tail(file: &dyn StorageFile, from: u64) -> std::io::Result<Vec<u8>> {
    let len = file.len()?;
    let mut bytes = vec![0u8; usize::try_from(len).map_err(std::io::Error::other)?];
    let head = SEGMENT_DATA_START.min(len) as usize;
    file.read_exact_at(&mut bytes[..head], 0)?;
    let from = from.clamp(head as u64, len);
    file.read_exact_at(&mut bytes[from as usize..], from)?;
    Ok(bytes)
}

/// Why a segment's header is not the one the manifest expects, if it is not.
fn header_problem(ctx: &Context, bytes: &[u8], id: u64, partition: u16, info: &SegInfo) -> Option<String> {
    match SegmentHeader::decode(bytes) {
        Err(e) => Some(e.to_string()),
        Ok(h) if h.store_uuid != ctx.store_uuid => Some("segment belongs to another store".into()),
        Ok(h) if h.segment_id != id || h.partition != partition || h.storage_class != info.class.code() => {
            Some("segment header does not match the manifest".into())
        }
        Ok(_) => None,
    }
}

/// Opens a sealed segment a checkpoint covers whole: mapped, its header checked, its lowest seq
/// restored from the checkpoint, no record scanned (a damaged byte in it is found by the CRC
/// check of the read that meets it, as after any open).
fn load_sealed(
    ctx: &Context,
    part: &Partition,
    id: u64,
    info: &SegInfo,
    cs: &CheckpointSegment,
    len: u64,
) -> Result<()> {
    let path = ctx.segment_path(part.id, info.class, id);
    let site = CorruptionSite { partition: Some(part.id), segment_id: Some(id), offset: 0 };
    let file = match ctx.storage.open(&path, OpenMode::ReadOnly) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(Error::corruption(site, "segment file listed in the manifest is missing"));
        }
        Err(e) => return Err(Error::io("open segment", &path, e)),
    };
    let map = file.map().map_err(io_err("map", &path))?;
    if let Some(reason) = header_problem(ctx, map.bytes(), id, part.id, info) {
        return Err(Error::corruption(site, reason));
    }
    if (map.bytes().len() as u64) < len {
        return Err(Error::corruption(
            site,
            format!("sealed segment is shorter than its sealed length {len}"),
        ));
    }
    drop(map);
    let seg = Arc::new(Segment::new(id, info.class, info.generation, path.clone(), file));
    seg.note_seq(cs.min_seq);
    seg.map_sealed(len).map_err(io_err("map", &path))?;
    part.add_segment(seg);
    Ok(())
}

/// Cuts an active segment to its last good marker and makes what is kept durable.
///
/// The sync is not only for the cut: after a process kill (not a power loss) the page cache still
/// holds writes whose sync never returned, and the scan accepts them, since their markers are
/// intact. The store is about to act on them (show a bucket, accept a put into it), so they must be
/// durable before it answers anything; otherwise a later power loss takes them away while what
/// depends on them, acknowledged meanwhile in another partition, stays. And a sync alone is not
/// enough: if the killed process's sync had failed, the kernel marked those pages clean without
/// writing them (fsyncgate), so a new sync would succeed and write nothing. The bytes no marker
/// proves synced (from `rewrite_from`) are therefore written again before the sync.
#[expect(clippy::too_many_arguments, reason = "one call site; the pieces of one segment's recovery")]
fn settle_active_tail(
    file: &dyn StorageFile,
    path: &Path,
    bytes: &[u8],
    rewrite_from: u64,
    end: u64,
    partition: u16,
    segment_id: u64,
    report: &mut RecoveryReport,
) -> Result<()> {
    if (bytes.len() as u64) > end {
        let tail = &bytes[end as usize..];
        if tail.iter().any(|&b| b != 0) {
            report.torn_tails.push(TornTail { partition, segment_id, offset: end, len: tail.len() as u64 });
        }
        file.set_len(end).map_err(io_err("truncate torn tail", path))?;
    }
    if rewrite_from < end {
        let from = rewrite_from as usize;
        file.write_all_at(&bytes[from..end as usize], rewrite_from)
            .map_err(io_err("rewrite accepted tail", path))?;
    }
    file.sync_data().map_err(io_err("fdatasync", path))
}

/// Builds the partition's index: from the checkpoint when there is one, then the replayed records
/// (all of the log, or only what follows the checkpoint) applied in seq order on top of it.
pub(super) fn apply_records(
    part: &Partition,
    replayed: Replayed,
    ckpt: Option<Checkpoint>,
    catalog: &mut Vec<(u64, Vec<u8>)>,
    report: &mut RecoveryReport,
    mode: RecoveryMode,
) -> Result<u64> {
    let mut records = replayed.partition_records;
    records.sort_by_key(|(_, _, r)| r.header.seq);
    let mut index = part.index.write();
    let mut max_seq = 0;
    match ckpt {
        Some(c) => {
            max_seq = c.max_seq;
            let (number, entries) = (c.number, c.entries.len() as u64);
            part.checkpoints.lock().covered =
                Some(c.segments.iter().map(|s| (s.segment_id, s.coverage)).collect());
            let (loaded, edits) = checkpoint::index_of(c);
            *index = loaded;
            catalog.extend(edits);
            let records_after = records.len() as u64;
            report.checkpoints_used.push(CheckpointUsed {
                partition: part.id,
                number,
                entries,
                records_after,
            });
        }
        None => report.partitions_fully_scanned.push(part.id),
    }
    for (class, segment_id, r) in records {
        let h = &r.header;
        max_seq = max_seq.max(h.seq);
        report.records_replayed += 1;
        let version = VersionId(h.version_id);
        if matches!(h.kind, RecordKind::MultipartStart | RecordKind::MultipartPart | RecordKind::MultipartEnd)
        {
            crate::engine::multipart::replay(&mut index, class, segment_id, &r, mode).map_err(|e| {
                Error::corruption(
                    CorruptionSite {
                        partition: Some(part.id),
                        segment_id: Some(segment_id),
                        offset: r.offset,
                    },
                    format!("meta: {e}"),
                )
            })?;
            continue;
        }
        let kind = match h.kind {
            RecordKind::Put => EntryKind::Inline,
            RecordKind::ObjectCommit => EntryKind::Chunked,
            RecordKind::DeleteMarker => EntryKind::DeleteMarker,
            RecordKind::Purge => {
                index.remove_version(h.bucket_id, &r.key, version, h.seq);
                index.retain(segment_id, h.record_len());
                continue;
            }
            RecordKind::Catalog => {
                index.note_catalog(h.seq, r.catalog_body.clone());
                catalog.push((h.seq, r.catalog_body));
                index.retain(segment_id, h.record_len());
                continue;
            }
            _ => continue,
        };
        let site =
            || CorruptionSite { partition: Some(part.id), segment_id: Some(segment_id), offset: r.offset };
        let meta = match ObjectMeta::decode(&r.meta) {
            Ok(m) => m,
            Err(e) if mode == RecoveryMode::Strict => {
                return Err(Error::corruption(site(), format!("meta: {e}")));
            }
            Err(_) => ObjectMeta::default(),
        };
        let Some(place) = narrow_place(r.offset, h.record_len()) else {
            return Err(Error::corruption(site(), "record lies past the 4 GiB a segment may hold"));
        };
        let mut etag = [0u8; 16];
        if meta.etag.len() == 16 {
            etag.copy_from_slice(&meta.etag);
        }
        let entry = IndexEntry::unplaced(version, kind, meta.size, meta.mtime_ms, etag, class)
            .placed(segment_id, place)
            .with_parts(u16::try_from(meta.parts_count).unwrap_or(u16::MAX));
        let spans = spans_of(&meta.chunks, r.key.len());
        index.upsert(h.bucket_id, &r.key, h.seq, entry, &spans);
    }
    Ok(max_seq)
}
