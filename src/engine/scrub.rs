//! The scrubber: re-reads segments and checks every CRC (each record's header and body, each group
//! marker, a sealed segment's whole-file CRC in its seal), so that damage is reported before a read
//! reaches it. It reports and marks; it never changes a byte (a damaged segment is also never a
//! compaction input, so its intact records stay where they are for a salvage).

use std::sync::Arc;

use crate::engine::io::read_all;
use crate::engine::partition::Partition;
use crate::engine::recovery::DamagedRange;
use crate::engine::rewrite::pace::Pacer;
use crate::engine::segment::Segment;
use crate::engine::segment::scan::{SegmentState, scan_segment};
use crate::engine::store::Store;
use crate::error::{Error, Result};

/// What a scrub found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScrubReport {
    /// Segments read.
    pub segments_checked: u64,
    /// Bytes read and checked.
    pub bytes_checked: u64,
    /// Records whose CRCs were checked.
    pub records_checked: u64,
    /// Damage found: the segment, the byte range and which check failed.
    pub damaged: Vec<DamagedRange>,
}

impl Store {
    /// Reads every segment of the store and checks every CRC in it; reports the damage found. Reads
    /// and writes go on meanwhile. A damaged segment is left exactly as it is (reads of its intact
    /// records still work, reads of damaged ones fail with `Corruption`) and is never rewritten by
    /// compaction; `RecoveryMode::Salvage` at the next open keeps what can be read.
    ///
    /// # Errors
    /// `Io` when a segment cannot be read; `PreviousIo` once the store is poisoned.
    pub fn scrub(&self) -> Result<ScrubReport> {
        let mut report = ScrubReport::default();
        for part in self.inner.partitions.iter() {
            scrub_partition(part, None, &mut report)?;
        }
        Ok(report)
    }
}

/// Scrubs one partition's segments, paced when `pace` is given.
pub(crate) fn scrub_partition(
    part: &Partition,
    pace: Option<&Pacer>,
    report: &mut ScrubReport,
) -> Result<()> {
    for seg in part.all_segments() {
        part.ctx().check()?;
        scrub_segment(part, &seg, report)?;
        if let Some(p) = pace {
            p.consume(seg.sealed_len().unwrap_or(0));
        }
    }
    Ok(())
}

fn scrub_segment(part: &Partition, seg: &Arc<Segment>, report: &mut ScrubReport) -> Result<()> {
    // An active segment is read up to where its writes have got to: a group being written right
    // now looks torn, never damaged, unless a later synced marker proves otherwise. Its file can
    // shrink under the read (a seal cuts the zero-filled space ahead of the tail): then it is read
    // again, sealed by then.
    let mut attempt = 0;
    let (state, bytes) = loop {
        let state = seg.sealed_len().map_or(SegmentState::Active, SegmentState::Sealed);
        // Read from the file, not the map, after dropping its cached pages: the point is what the
        // device holds now, which a cached copy (or a map made earlier) would hide. Readers of a
        // sealed segment fault its pages in again when they need them.
        if let Some(len) = seg.sealed_len() {
            seg.file.drop_cached(0, len);
        }
        match read_all(&*seg.file) {
            Ok(bytes) => break (state, bytes),
            Err(e)
                if e.kind() == std::io::ErrorKind::UnexpectedEof
                    && state == SegmentState::Active
                    && attempt < 3 =>
            {
                attempt += 1;
            }
            Err(e) => return Err(Error::io("read segment", &seg.path, e)),
        }
    };
    let scan = scan_segment(&bytes, state, false);
    report.segments_checked += 1;
    report.bytes_checked += scan.end;
    report.records_checked += scan.records.len() as u64;
    if let Some((offset, reason)) = scan.fatal {
        seg.mark_damaged();
        report.damaged.push(DamagedRange {
            partition: part.id,
            segment_id: seg.id,
            start: offset,
            end: bytes.len() as u64,
            reason,
        });
    }
    Ok(())
}
