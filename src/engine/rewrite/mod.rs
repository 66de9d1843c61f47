//! Rewriting sealed segments: compaction now, tier migration and crypto-shredding later, all by one
//! protocol (DESIGN.md, "Rewrite protocol").
//!
//! 1. **Pick** sealed segments of one partition and class: those whose dead share and dead bytes
//!    pass the policy's thresholds, or small ones to merge, oldest first, up to a byte budget. A
//!    segment holding chunks of a put still in flight is never picked.
//! 2. **Copy** every live record byte for byte into new segments (generation = max(inputs) + 1),
//!    written outside the manifest: until the commit they are orphans, and an open removes them.
//!    A chunked body moves whole: its chunks, then its commit record with the new chunk places.
//!    Catalog edits are kept; a purge is kept while a surviving segment could hold a record it
//!    hides; markers and seals are written anew.
//! 3. **Seal and sync** the outputs and their directory.
//! 4. **Commit** with one manifest edit naming outputs and inputs: from here the inputs are deleted.
//! 5. **Switch** each index entry that still points at its old copy; an entry changed meanwhile is
//!    left alone, and its copy is dead in the output.
//! 6. **Retire** the inputs: lookups stop finding them, and each file is unlinked once no reader
//!    holds it (a crash first leaves the unlink to the next open, which the commit edit tells to).

pub(crate) mod output;
pub(crate) mod pace;
pub(crate) mod rewrap;
mod uploads;

use std::sync::Arc;

use crate::engine::format::manifest::ManifestEdit;
use crate::engine::format::meta::{ChunkIds, ChunkRef, ObjectMeta, replace_chunks, replace_envelope};
use crate::engine::format::record::{
    RECORD_HEADER_BYTES, RecordKind, RecordParts, RecordView, SEAL_BODY_BYTES, decode_header, decode_record,
    encode_record, record_len,
};
use crate::engine::format::segment_header::SEGMENT_DATA_START;
use crate::engine::partition::Partition;
use crate::engine::partition::index::{Span, spans_of};
use crate::engine::segment::Segment;
use crate::engine::segment::scan::{SegmentState, scan_segment};
use crate::engine::store::Store;
use crate::error::{CorruptionSite, Error, Result};
use crate::types::StorageClass;
use output::OutputWriter;
use pace::Pacer;
use rewrap::EnvelopeRewrap;

/// Default [`CompactionPolicy::dead_ratio_min`].
pub const COMPACTION_DEAD_RATIO_MIN_DEFAULT: f64 = 0.25;
/// Default [`CompactionPolicy::dead_bytes_min`].
pub const COMPACTION_DEAD_BYTES_MIN_DEFAULT: u64 = 1024 * 1024;
/// Default [`CompactionPolicy::input_bytes_max`].
pub const COMPACTION_INPUT_BYTES_MAX_DEFAULT: u64 = 1024 * 1024 * 1024;

/// Which sealed segments a compaction rewrites.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompactionPolicy {
    /// A segment is rewritten when at least this share of its data bytes is dead ...
    pub dead_ratio_min: f64,
    /// ... and at least this many bytes are.
    pub dead_bytes_min: u64,
    /// Segments up to this length are merged with each other whatever their dead bytes (`None`:
    /// a quarter of the store's segment size).
    pub small_segment_bytes: Option<u64>,
    /// Most bytes of input segments one rewrite of a partition and class takes (at least one
    /// segment always fits).
    pub input_bytes_max: u64,
    /// Also seal active segments whose dead bytes pass the thresholds, so that they are rewritten
    /// too (the next write to their class starts a new segment). Off by default: an active segment
    /// is usually young, and sealing it early makes segments smaller.
    pub seal_active: bool,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        CompactionPolicy {
            dead_ratio_min: COMPACTION_DEAD_RATIO_MIN_DEFAULT,
            dead_bytes_min: COMPACTION_DEAD_BYTES_MIN_DEFAULT,
            small_segment_bytes: None,
            input_bytes_max: COMPACTION_INPUT_BYTES_MAX_DEFAULT,
            seal_active: false,
        }
    }
}

impl CompactionPolicy {
    /// A policy that rewrites every segment with any dead byte, the active ones included (and
    /// merges small ones): what a test, or a host that wants all the space back now, asks for.
    #[must_use]
    pub fn everything() -> Self {
        CompactionPolicy {
            dead_ratio_min: 0.0,
            dead_bytes_min: 1,
            seal_active: true,
            ..CompactionPolicy::default()
        }
    }
}

/// What a compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompactionReport {
    /// Rewrites committed (one per partition and class that had work).
    pub rewrites: u64,
    /// Segments rewritten.
    pub segments_in: u64,
    /// Segments written.
    pub segments_out: u64,
    /// Bytes of the rewritten segments.
    pub bytes_in: u64,
    /// Bytes of the segments written.
    pub bytes_out: u64,
    /// Records copied.
    pub records_copied: u64,
    /// Purge records dropped: no surviving segment could hold what they hide.
    pub tombstones_dropped: u64,
    /// Copies whose entry changed while the rewrite ran (overwritten or purged): dead on arrival.
    pub copies_superseded: u64,
    /// Input files unlinked.
    pub files_removed: u64,
    /// Input files still held by a reader: unlinked by a later compaction, or by the next open.
    pub files_held: u64,
    /// Envelopes re-wrapped under another master key while copied (a rewrap; 0 for a compaction).
    pub envelopes_rewrapped: u64,
    /// Uploads in progress whose envelope was re-wrapped as their start record was copied.
    pub upload_envelopes_rewrapped: u64,
    /// Segments found damaged while being copied: left as they are (nothing of that rewrite was
    /// committed), reported here, and never picked again.
    pub damaged: Vec<crate::DamagedRange>,
}

impl CompactionReport {
    /// Adds another report's counts to this one.
    pub(crate) fn absorb(&mut self, r: CompactionReport) {
        self.rewrites += r.rewrites;
        self.segments_in += r.segments_in;
        self.segments_out += r.segments_out;
        self.bytes_in += r.bytes_in;
        self.bytes_out += r.bytes_out;
        self.records_copied += r.records_copied;
        self.tombstones_dropped += r.tombstones_dropped;
        self.copies_superseded += r.copies_superseded;
        self.files_removed += r.files_removed;
        self.files_held += r.files_held;
        self.envelopes_rewrapped += r.envelopes_rewrapped;
        self.upload_envelopes_rewrapped += r.upload_envelopes_rewrapped;
        self.damaged.extend(r.damaged);
    }
}

/// Partitions an on-demand compaction rewrites at once.
const COMPACT_THREADS: usize = 4;

/// One segment's place in the accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentStats {
    /// Partition.
    pub partition: u16,
    /// Segment id.
    pub segment_id: u64,
    /// Storage class.
    pub class: StorageClass,
    /// Rewrite generation (0 = written by puts).
    pub generation: u64,
    /// Bytes in the file (its sealed length, or the active tail).
    pub bytes: u64,
    /// Bytes of records something still needs (see [`crate::PartitionStats::live_bytes`]).
    pub live_bytes: u64,
    /// Sealed (a compaction candidate) or active.
    pub sealed: bool,
}

impl SegmentStats {
    /// Bytes compaction could reclaim: everything but the live records, the header page and the seal.
    #[must_use]
    pub fn dead_bytes(&self) -> u64 {
        let overhead = if self.sealed { sealed_overhead_bytes() } else { SEGMENT_DATA_START };
        self.bytes.saturating_sub(self.live_bytes + overhead)
    }
}

/// Bytes of a sealed segment that no rewrite can save: its header page and its seal.
fn sealed_overhead_bytes() -> u64 {
    SEGMENT_DATA_START + record_len(0, 0, SEAL_BODY_BYTES as u64)
}

/// A record copied into an output, waiting for the index switch.
struct Move {
    bucket: u64,
    key: Vec<u8>,
    seq: u64,
    from: (u64, u64),
    to: (u64, u64, u64),
    spans: Vec<Span>,
    /// Its envelope was re-wrapped (counted once the move is applied).
    rewrapped: bool,
}

/// A record written anew by `copy_with_chunks`: its place (segment, offset, length), its chunk
/// spans, and whether its envelope was re-wrapped.
pub(super) struct CopiedRecord {
    pub(super) to: (u64, u64, u64),
    pub(super) spans: Vec<Span>,
    pub(super) rewrapped: bool,
}

/// What the copy step produced.
#[derive(Default)]
struct Copied {
    moves: Vec<Move>,
    /// Upload records moved (start and part records of uploads in progress).
    upload_moves: Vec<uploads::UploadMove>,
    /// Kept records no entry points at (catalog edits, purges): (output segment, bytes).
    retained: Vec<(u64, u64)>,
}

impl Store {
    /// Rewrites the sealed segments whose dead bytes pass the default [`CompactionPolicy`], in every
    /// partition, and gives their space back. Readers and writers go on meanwhile: a reader of a
    /// rewritten segment keeps it until it is done, and writers never wait for a compaction.
    ///
    /// # Errors
    /// `Corruption` when an input fails a check (nothing is rewritten from it; the store is
    /// unchanged); `Io` when writing an output fails (the outputs are removed, the store is
    /// unchanged); `PreviousIo` after a failed manifest append (the store is poisoned, as for any
    /// failed commit).
    pub fn compact(&self) -> Result<CompactionReport> {
        self.compact_with(&CompactionPolicy::default())
    }

    /// [`Store::compact`] with a policy of the caller's.
    ///
    /// # Errors
    /// As [`Store::compact`].
    pub fn compact_with(&self, policy: &CompactionPolicy) -> Result<CompactionReport> {
        let partitions = &self.inner.partitions;
        let threads = COMPACT_THREADS.min(partitions.len());
        // Partitions side by side: a rewrite spends much of its time waiting on syncs (outputs,
        // directory, manifest), which overlap across partitions.
        let results: Vec<Result<CompactionReport>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    s.spawn(move || {
                        let mut report = CompactionReport::default();
                        for part in partitions.iter().skip(t).step_by(threads) {
                            compact_partition(part, policy, None, &mut report)?;
                        }
                        Ok(report)
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
        });
        let mut report = CompactionReport::default();
        for r in results {
            report.absorb(r?);
        }
        Ok(report)
    }

    /// Every segment of the store with its live bytes, by partition then id.
    #[must_use]
    pub fn segment_stats(&self) -> Vec<SegmentStats> {
        let mut out = Vec::new();
        for part in self.inner.partitions.iter() {
            let segs = part.all_segments();
            // Before the index lock: the group-commit leader takes the index under `active`, so
            // nothing may take `active` under the index (DESIGN.md §8.1).
            let tails = part.active_tails();
            let ix = part.index.read();
            for s in segs {
                let (bytes, sealed) = match s.sealed_len() {
                    Some(len) => (len, true),
                    None => match tails.iter().find(|(id, _)| *id == s.id) {
                        Some((_, tail)) => (*tail, false),
                        None => (s.file.len().unwrap_or(0), false),
                    },
                };
                out.push(SegmentStats {
                    partition: part.id,
                    segment_id: s.id,
                    class: s.class,
                    generation: s.generation,
                    bytes,
                    live_bytes: ix.segment_live(s.id),
                    sealed,
                });
            }
        }
        out
    }
}

/// Compacts one partition, class by class.
pub(crate) fn compact_partition(
    part: &Partition,
    policy: &CompactionPolicy,
    pace: Option<&Pacer>,
    report: &mut CompactionReport,
) -> Result<()> {
    let _one_at_a_time = part.rewrite_lock.lock();
    part.ctx().check()?;
    reap(part, report);
    let mut classes: Vec<StorageClass> = part.all_segments().iter().map(|s| s.class).collect();
    classes.sort_unstable_by_key(|c| c.code());
    classes.dedup();
    for class in classes {
        if policy.seal_active && active_worth_sealing(part, class, policy) {
            part.seal_active(class)?;
        }
        let inputs = pick(part, class, policy);
        if inputs.is_empty() {
            continue;
        }
        rewrite_marking_damage(part, class, &inputs, pace, report, None)?;
    }
    // Once this function's own handles on the inputs are gone.
    reap(part, report);
    Ok(())
}

/// [`rewrite`], except that an input found damaged is marked and reported rather than failing the
/// caller: the other classes and partitions go on.
fn rewrite_marking_damage(
    part: &Partition,
    class: StorageClass,
    inputs: &[Arc<Segment>],
    pace: Option<&Pacer>,
    report: &mut CompactionReport,
    rewrap: Option<&dyn EnvelopeRewrap>,
) -> Result<()> {
    match rewrite(part, class, inputs, pace, report, rewrap) {
        Ok(()) => Ok(()),
        Err(Error::Corruption { site, reason }) => {
            if let Some(seg) = site.segment_id.and_then(|id| part.segment(id)) {
                seg.mark_damaged();
            }
            report.damaged.push(crate::DamagedRange {
                partition: part.id,
                segment_id: site.segment_id.unwrap_or(0),
                start: site.offset,
                end: site.offset,
                reason,
            });
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn reap(part: &Partition, report: &mut CompactionReport) {
    let (removed, held) = part.reap_retired();
    report.files_removed += removed.len() as u64;
    report.files_held = held as u64;
}

/// Whether the active segment of `class` has dead bytes past the policy's thresholds.
fn active_worth_sealing(part: &Partition, class: StorageClass, policy: &CompactionPolicy) -> bool {
    let Some((id, len)) = part.active_tail(class) else { return false };
    let ix = part.index.read();
    let dead = len.saturating_sub(ix.segment_live(id) + SEGMENT_DATA_START);
    let data = len.saturating_sub(SEGMENT_DATA_START).max(1);
    !ix.has_pending_chunks(id)
        && dead >= policy.dead_bytes_min
        && dead as f64 >= policy.dead_ratio_min * data as f64
}

/// The inputs of one rewrite of `class`, oldest first.
fn pick(part: &Partition, class: StorageClass, policy: &CompactionPolicy) -> Vec<Arc<Segment>> {
    let segment_bytes = part.ctx().params.segment_bytes;
    let small = policy.small_segment_bytes.unwrap_or(segment_bytes / 4);
    let overhead = sealed_overhead_bytes();
    let candidates: Vec<(Arc<Segment>, u64, u64)> = {
        let segs = part.all_segments();
        let ix = part.index.read();
        segs.into_iter()
            .filter(|s| s.class == class && s.rewritable() && !ix.has_pending_chunks(s.id))
            .filter_map(|s| {
                let len = s.sealed_len()?;
                let dead = len.saturating_sub(ix.segment_live(s.id) + overhead);
                Some((s, len, dead))
            })
            .collect()
    };
    let mut chosen = Vec::new();
    let (mut total, mut dead_total, mut small_count) = (0u64, 0u64, 0usize);
    for (seg, len, dead) in candidates {
        let data = len.saturating_sub(overhead).max(1);
        let worth = (dead as f64 >= policy.dead_ratio_min * data as f64 && dead >= policy.dead_bytes_min)
            || len <= small;
        if !worth || (!chosen.is_empty() && total + len > policy.input_bytes_max) {
            continue;
        }
        total += len;
        dead_total += dead;
        small_count += usize::from(len <= small);
        chosen.push(seg);
    }
    // Rewriting one segment with nothing dead gains nothing; merging small ones does.
    if dead_total < policy.dead_bytes_min && small_count < 2 {
        return Vec::new();
    }
    chosen
}

/// Runs the protocol on `inputs` (sealed segments of `part` and `class`); with `rewrap`, each copied
/// commit record's envelope goes through it (a rotation's rewrap, `rewrap.rs`).
fn rewrite(
    part: &Partition,
    class: StorageClass,
    inputs: &[Arc<Segment>],
    pace: Option<&Pacer>,
    report: &mut CompactionReport,
    rewrap: Option<&dyn EnvelopeRewrap>,
) -> Result<()> {
    let ctx = part.ctx().clone();
    let input_ids: Vec<u64> = inputs.iter().map(|s| s.id).collect();
    let generation = inputs.iter().map(|s| s.generation).max().unwrap_or(0) + 1;
    // A purge no newer than every record of every surviving segment hides nothing that survives:
    // what it hides is older than it, so in no surviving segment.
    let survivors_min_seq =
        part.all_segments().iter().filter(|s| !input_ids.contains(&s.id)).map(|s| s.min_seq()).min();
    let survivors_min_seq = survivors_min_seq.unwrap_or(u64::MAX);
    // The intent first: an open that finds an output without its commit can then tell whether the
    // inputs are still there (see `orphans::unlisted_output`).
    let begun =
        ManifestEdit::RewriteBegun { partition: part.id, class: class.code(), inputs: input_ids.clone() };
    {
        let mut manifest = ctx.manifest.lock();
        ctx.check()?;
        manifest.append(&begun).map_err(|e| ctx.poison("manifest append", &manifest.path, e))?;
    }
    let mut out = OutputWriter::new(&ctx, part.id, class, generation, pace, &part.rewrite_waiters);
    let copied = copy_live(part, inputs, &input_ids, survivors_min_seq, &mut out, report, rewrap);
    let paths = out.paths();
    let finished = match copied.and_then(|c| out.finish().map(|f| (c, f))) {
        Ok(done) => done,
        Err(e) => {
            // Orphans nothing refers to: the store is as it was.
            for p in paths {
                let _ = ctx.storage.remove_file(&p);
            }
            return Err(e);
        }
    };
    let (copied, finished) = finished;
    let mut outputs = Vec::with_capacity(finished.len());
    for f in &finished {
        let seg = Arc::new(Segment::new(f.id, class, generation, f.path.clone(), f.file.clone()));
        seg.note_seq(f.min_seq);
        seg.map_sealed(f.len).map_err(|e| Error::io("map sealed segment", &f.path, e))?;
        part.add_segment(seg.clone());
        outputs.push(seg);
    }
    let edit = ManifestEdit::SegmentsRewritten {
        partition: part.id,
        class: class.code(),
        outputs: finished.iter().map(|f| (f.id, generation, f.len)).collect(),
        inputs: input_ids.clone(),
    };
    // What the copy judged dead may be dead only through `Eventual` writes not synced yet (an
    // overwrite, a purge): they must be durable before the inputs go, or a power loss would take
    // both the old record (gone with its input) and the new one, and what survives of the partition
    // would not be a prefix of its writes.
    part.sync_active()?;
    {
        let mut manifest = ctx.manifest.lock();
        ctx.check()?;
        manifest.append(&edit).map_err(|e| ctx.poison("manifest append", &manifest.path, e))?;
    }
    {
        let mut ix = part.index.write();
        // A rewrapped envelope counts only where its copy took the record's place: a copy
        // superseded meanwhile (an overwrite, a purge, an abort) rewrapped nothing that lives.
        for m in &copied.moves {
            if !ix.relocate(m.bucket, &m.key, m.seq, m.from, m.to, &m.spans) {
                report.copies_superseded += 1;
            } else if m.rewrapped {
                report.envelopes_rewrapped += 1;
            }
        }
        for m in &copied.upload_moves {
            if !ix.relocate_upload_record(&m.upload, m.number, m.from, m.to, &m.spans) {
                report.copies_superseded += 1;
            } else if m.rewrapped {
                report.upload_envelopes_rewrapped += 1;
            }
        }
        for &(seg, bytes) in &copied.retained {
            ix.retain(seg, bytes);
        }
        for id in &input_ids {
            ix.forget_segment(*id);
        }
    }
    part.retire(inputs);
    report.rewrites += 1;
    report.segments_in += inputs.len() as u64;
    report.segments_out += finished.len() as u64;
    report.bytes_in += inputs.iter().filter_map(|s| s.sealed_len()).sum::<u64>();
    report.bytes_out += finished.iter().map(|f| f.len).sum::<u64>();
    Ok(())
}

/// Copies the live records of `inputs`, and the chunked bodies with a chunk in them.
fn copy_live(
    part: &Partition,
    inputs: &[Arc<Segment>],
    input_ids: &[u64],
    survivors_min_seq: u64,
    out: &mut OutputWriter<'_>,
    report: &mut CompactionReport,
    rewrap: Option<&dyn EnvelopeRewrap>,
) -> Result<Copied> {
    let mut copied = Copied::default();
    for seg in inputs {
        let site = |offset| CorruptionSite { partition: Some(part.id), segment_id: Some(seg.id), offset };
        let (Some(map), Some(len)) = (seg.mapped(), seg.sealed_len()) else {
            return Err(Error::corruption(site(0), "compaction input is not sealed"));
        };
        let bytes = map.bytes();
        let scan = scan_segment(bytes, SegmentState::Sealed(len), false);
        if let Some((offset, reason)) = scan.fatal {
            // Never copied past: the segment stays as it is, and is never picked again.
            seg.mark_damaged();
            return Err(Error::corruption(site(offset), format!("compaction input: {reason}")));
        }
        for r in &scan.records {
            let h = &r.header;
            let rec = &bytes[r.offset as usize..(r.offset + h.record_len()) as usize];
            let from = (seg.id, r.offset);
            match h.kind {
                RecordKind::Put | RecordKind::DeleteMarker
                    if part.index.read().location(h.bucket_id, &r.key, h.seq) == Some(from) =>
                {
                    let (id, at) = out.append(&[rec], h.seq)?;
                    report.records_copied += 1;
                    copied.moves.push(Move {
                        bucket: h.bucket_id,
                        key: r.key.clone(),
                        seq: h.seq,
                        from,
                        to: (id, at, h.record_len()),
                        spans: Vec::new(),
                        rewrapped: false,
                    });
                }
                RecordKind::ObjectCommit => {
                    copy_chunked(part, seg, r.offset, rec, input_ids, out, &mut copied, report, rewrap)?
                }
                RecordKind::MultipartStart => {
                    uploads::copy_start(part, seg, r.offset, rec, out, &mut copied, report, rewrap)?;
                }
                RecordKind::MultipartPart => {
                    uploads::copy_part(part, seg, r.offset, rec, input_ids, out, &mut copied, report)?;
                }
                // An end record no newer than every surviving record hides nothing that survives
                // (the upload's start and part records it ends are older than it).
                RecordKind::Purge | RecordKind::MultipartEnd if h.seq <= survivors_min_seq => {
                    report.tombstones_dropped += 1;
                }
                RecordKind::Purge | RecordKind::MultipartEnd | RecordKind::Catalog => {
                    let (id, _) = out.append(&[rec], h.seq)?;
                    report.records_copied += 1;
                    copied.retained.push((id, h.record_len()));
                }
                // Chunks move with their commit record; markers and seals are written anew.
                _ => {}
            }
        }
    }
    // Chunked bodies committed in a segment that stays, with chunks in one that goes.
    let outside: Vec<(u64, u64)> = part
        .index
        .read()
        .chunked_touching(input_ids)
        .into_iter()
        .filter(|(seg, _)| !input_ids.contains(seg))
        .collect();
    for (seg_id, offset) in outside {
        if let Some(seg) = part.segment(seg_id) {
            let rec = read_record_at(part, &seg, offset)?;
            copy_chunked(part, &seg, offset, &rec, input_ids, out, &mut copied, report, rewrap)?;
        }
    }
    uploads::copy_parts_outside(part, input_ids, out, &mut copied, report)?;
    Ok(copied)
}

/// Moves one chunked body out of the inputs, if the index still points at its commit record at
/// `offset` of `seg`: its chunks that lie in an input are copied, the others stay where they are
/// (a segment that is no input stays, a damaged one included), and the commit record is written
/// anew pointing at every chunk's place.
#[allow(clippy::too_many_arguments, reason = "the scan's place and bytes, and the rewrite's state")]
fn copy_chunked(
    part: &Partition,
    seg: &Segment,
    offset: u64,
    rec: &[u8],
    input_ids: &[u64],
    out: &mut OutputWriter<'_>,
    copied: &mut Copied,
    report: &mut CompactionReport,
    rewrap: Option<&dyn EnvelopeRewrap>,
) -> Result<()> {
    let view = decode_kind(part, seg, offset, rec, RecordKind::ObjectCommit)?;
    let h = view.header;
    if part.index.read().location(h.bucket_id, view.key, h.seq) != Some((seg.id, offset)) {
        return Ok(());
    }
    let CopiedRecord { to, spans, rewrapped } =
        copy_with_chunks(part, seg, offset, &view, input_ids, out, report, rewrap)?;
    copied.moves.push(Move {
        bucket: h.bucket_id,
        key: view.key.to_vec(),
        seq: h.seq,
        from: (seg.id, offset),
        to,
        spans,
        rewrapped,
    });
    Ok(())
}

fn corrupt(part: &Partition, segment_id: u64, offset: u64, what: String) -> Error {
    Error::corruption(CorruptionSite { partition: Some(part.id), segment_id: Some(segment_id), offset }, what)
}

fn read_at(s: &Segment, offset: u64, len: u64) -> Result<Vec<u8>> {
    s.read_bytes(offset, len).map(|b| b.bytes().to_vec()).map_err(|e| Error::io("read record", &s.path, e))
}

/// Decodes the record `rec` read at `offset` of `seg` and checks it is of the `kind` the index or
/// the scan expects there.
fn decode_kind<'a>(
    part: &Partition,
    seg: &Segment,
    offset: u64,
    rec: &'a [u8],
    kind: RecordKind,
) -> Result<RecordView<'a>> {
    let view = decode_record(rec).map_err(|e| corrupt(part, seg.id, offset, e.to_string()))?;
    if view.header.kind != kind {
        let what = format!("expected a {kind:?} record, found a {:?} record", view.header.kind);
        return Err(corrupt(part, seg.id, offset, what));
    }
    Ok(view)
}

/// The whole record at `offset` of `seg`, as bytes of our own.
fn read_record_at(part: &Partition, seg: &Segment, offset: u64) -> Result<Vec<u8>> {
    let head = read_at(seg, offset, RECORD_HEADER_BYTES as u64)?;
    let h = decode_header(&head).map_err(|e| corrupt(part, seg.id, offset, e.to_string()))?;
    read_at(seg, offset, h.record_len())
}

/// Copies a record that lists chunks (an object commit, or an upload's part): those of its chunks
/// that lie in an input are copied and checked, the others stay, and the record is written anew
/// with every chunk's place (and, with `rewrap`, its envelope rewrapped). Returns the new record's
/// place, its chunk spans, and whether its envelope was rewrapped.
#[allow(clippy::too_many_arguments, reason = "the scan's place and bytes, and the rewrite's state")]
fn copy_with_chunks(
    part: &Partition,
    seg: &Segment,
    offset: u64,
    view: &RecordView<'_>,
    input_ids: &[u64],
    out: &mut OutputWriter<'_>,
    report: &mut CompactionReport,
    rewrap: Option<&dyn EnvelopeRewrap>,
) -> Result<CopiedRecord> {
    let h = &view.header;
    let meta =
        ObjectMeta::decode(view.meta).map_err(|e| corrupt(part, seg.id, offset, format!("meta: {e}")))?;
    let ids = ChunkIds::of(&meta, h.version_id);
    let mut moved = Vec::with_capacity(meta.chunks.len());
    for (i, c) in meta.chunks.iter().enumerate() {
        if !input_ids.contains(&c.segment_id) {
            moved.push(*c);
            continue;
        }
        let chunk_seg = part.segment(c.segment_id).ok_or_else(|| {
            corrupt(part, c.segment_id, c.offset, "chunk segment is not in the store".into())
        })?;
        // A chunk that fails its checks stays where it is, and so must the record listing it: the
        // chunk's segment is marked damaged and the record's held, so later rewrites leave both
        // (and everything else they picked is rewritten).
        let damaged = |e: Error| {
            chunk_seg.mark_damaged();
            seg.hold_for_damage();
            e
        };
        let bytes = read_at(&chunk_seg, c.offset, record_len(view.key.len(), 0, c.len))?;
        let chunk = decode_record(&bytes)
            .map_err(|e| damaged(corrupt(part, c.segment_id, c.offset, e.to_string())))?;
        let ch = &chunk.header;
        let (token, index) = ids.get(i);
        if ch.kind != RecordKind::Chunk
            || ch.bucket_id != h.bucket_id
            || ch.version_id != token
            || ch.chunk_index != index
            || chunk.key != view.key
            || ch.body_len != c.len
        {
            let reason = "chunk identity does not match the record listing it".into();
            return Err(damaged(corrupt(part, c.segment_id, c.offset, reason)));
        }
        let (id, at) = out.append(&[&bytes], ch.seq)?;
        report.records_copied += 1;
        moved.push(ChunkRef { segment_id: id, offset: at, len: c.len });
    }
    let mut new_meta =
        replace_chunks(view.meta, &moved).map_err(|e| corrupt(part, seg.id, offset, format!("meta: {e}")))?;
    let mut rewrapped = false;
    if let (Some(rewrap), Some(env)) = (rewrap, meta.envelope.as_deref()) {
        let site = CorruptionSite { partition: Some(part.id), segment_id: Some(seg.id), offset };
        if let Some(env) = rewrap.rewrap(h.bucket_id, view.key, h.version_id, env, &meta, site)? {
            new_meta = replace_envelope(&new_meta, &env)
                .map_err(|e| corrupt(part, seg.id, offset, format!("meta: {e}")))?;
            rewrapped = true;
        }
    }
    let record = encode_record(&RecordParts {
        kind: h.kind,
        flags: h.flags,
        seq: h.seq,
        bucket_id: h.bucket_id,
        version_id: h.version_id,
        chunk_index: h.chunk_index,
        key: view.key,
        meta: &new_meta,
        body: view.body,
    });
    let (id, at) = out.append(&[&record], h.seq)?;
    report.records_copied += 1;
    Ok(CopiedRecord { to: (id, at, record.len() as u64), spans: spans_of(&moved, view.key.len()), rewrapped })
}
