//! Manifest: a log of CRC-framed edits. Frame = `len u32 | masked crc32 u32 | payload`, payload a
//! postcard-encoded [`ManifestEdit`]. A bad frame that nothing valid follows is a torn tail (cut); a bad
//! frame with valid frames after it is damage (every append is synced before the engine acts on it,
//! so bytes after an append that did not finish cannot exist without damage).

use serde::{Deserialize, Serialize};

use super::{FormatError, FormatResult, masked_crc, u32_at};
use crate::limits::MANIFEST_FRAME_BYTES_MAX;

/// Frame header length.
pub const FRAME_HEADER_BYTES: usize = 8;
/// Prefix length meaning "hash the whole key".
pub const PREFIX_LEN_WHOLE_KEY: u32 = u32::MAX;
/// Manifest format version written by this build.
pub const MANIFEST_FORMAT_VERSION: u16 = 1;

/// One change to the store's structure. New variants go at the end (postcard encodes the index).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ManifestEdit {
    /// First edit of every manifest: the store's fixed parameters.
    StoreParams {
        /// Manifest format version.
        format_version: u16,
        /// Random store id, also in every segment header.
        store_uuid: [u8; 16],
        /// Partition count (power of two).
        partitions: u32,
        /// Key bytes hashed by the router ([`PREFIX_LEN_WHOLE_KEY`] = all).
        prefix_len: u32,
        /// Region the store answers for.
        region: String,
        /// Creation time, ms.
        created_ms: u64,
    },
    /// A segment file was created (header written and fsynced, directory fsynced).
    SegmentCreated {
        /// Partition.
        partition: u16,
        /// Storage class code.
        class: u8,
        /// Segment id.
        segment_id: u64,
        /// Rewrite generation.
        generation: u64,
    },
    /// A segment was sealed: its bytes `0..len` are final.
    SegmentSealed {
        /// Segment id.
        segment_id: u64,
        /// Length including the seal record.
        len: u64,
    },
    /// A segment was dropped (its records live elsewhere or are dead).
    SegmentDeleted {
        /// Segment id.
        segment_id: u64,
    },
    /// Every segment id up to this one has been used (high-water mark, written in every snapshot):
    /// ids stay monotonic even when the segment holding the highest one was quarantined or lost.
    SegmentIdsUsed {
        /// Highest segment id ever handed out.
        upto: u64,
    },
    /// The commit of one rewrite (compaction): the outputs, written, sealed and synced before this
    /// edit, replace the inputs, which are deleted from here on (their files are removed once no
    /// reader holds them, or by the next open). Before this edit the outputs are not part of the store.
    SegmentsRewritten {
        /// Partition of every input and output.
        partition: u16,
        /// Storage class code of the outputs.
        class: u8,
        /// The new segments: (segment id, generation, sealed length).
        outputs: Vec<(u64, u64, u64)>,
        /// The segments they replace.
        inputs: Vec<u64>,
    },
    /// A rewrite of these inputs is about to write outputs (synced before the first output file is
    /// created). At open, an unlisted output of this partition and class is removed only when every
    /// input named here is still there: if one is gone, the commit edit was lost after the inputs
    /// were (a bit flip in the manifest's last frame), and the output holds the only copy.
    RewriteBegun {
        /// Partition.
        partition: u16,
        /// Storage class code.
        class: u8,
        /// The segments being rewritten.
        inputs: Vec<u64>,
    },
}

/// Frames one edit.
///
/// # Panics
/// Only if postcard cannot encode the edit (it always can).
#[must_use]
pub fn encode_frame(edit: &ManifestEdit) -> Vec<u8> {
    let payload = postcard::to_allocvec(edit).expect("manifest edits always encode");
    let mut out = Vec::with_capacity(FRAME_HEADER_BYTES + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&masked_crc(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

/// What decoding a manifest log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedLog {
    /// Edits of the valid frames, in order.
    pub edits: Vec<ManifestEdit>,
    /// Bytes of valid frames; anything after is a torn tail.
    pub valid_len: u64,
    /// Why decoding stopped before the end, if it did.
    pub tail_error: Option<FormatError>,
    /// The first bad frame that valid frames follow (damage, not a torn tail), if any.
    pub damage: Option<FrameDamage>,
}

/// A bad frame with valid frames after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameDamage {
    /// Index of the bad frame (0 = the first frame of the log).
    pub frame: usize,
    /// Its offset in the log.
    pub offset: u64,
    /// Where the next valid frame starts.
    pub resumes_at: u64,
    /// What was wrong with it.
    pub error: FormatError,
}

/// Decodes one frame at the start of `b`: the edit and the frame's length.
///
/// # Errors
/// Truncation, an over-long frame, a CRC mismatch or an undecodable payload.
pub fn decode_frame(b: &[u8]) -> FormatResult<(ManifestEdit, usize)> {
    if b.len() < FRAME_HEADER_BYTES {
        return Err(FormatError::Truncated { need: FRAME_HEADER_BYTES as u64, have: b.len() as u64 });
    }
    let len = u32_at(b, 0) as usize;
    if len > MANIFEST_FRAME_BYTES_MAX {
        return Err(FormatError::TooLarge {
            field: "manifest frame",
            value: len as u64,
            max: MANIFEST_FRAME_BYTES_MAX as u64,
        });
    }
    let end = FRAME_HEADER_BYTES + len;
    if b.len() < end {
        return Err(FormatError::Truncated { need: end as u64, have: b.len() as u64 });
    }
    let payload = &b[FRAME_HEADER_BYTES..end];
    let stored = u32_at(b, 4);
    let computed = masked_crc(payload);
    if stored != computed {
        return Err(FormatError::BadCrc { what: "manifest frame", stored, computed });
    }
    let edit = postcard::from_bytes(payload).map_err(|_| FormatError::Malformed("manifest edit"))?;
    Ok((edit, end))
}

/// Decodes frames until the end or the first bad frame. A bad frame that some valid frame follows
/// (at any later offset) is reported as [`DecodedLog::damage`]; otherwise it starts the torn tail.
#[must_use]
pub fn decode_log(b: &[u8]) -> DecodedLog {
    let mut edits = Vec::new();
    let mut pos = 0usize;
    while pos < b.len() {
        match decode_frame(&b[pos..]) {
            Ok((edit, n)) => {
                edits.push(edit);
                pos += n;
            }
            Err(error) => {
                let damage = next_valid_frame(b, pos + 1).map(|resumes_at| FrameDamage {
                    frame: edits.len(),
                    offset: pos as u64,
                    resumes_at: resumes_at as u64,
                    error: error.clone(),
                });
                return DecodedLog { edits, valid_len: pos as u64, tail_error: Some(error), damage };
            }
        }
    }
    DecodedLog { edits, valid_len: pos as u64, tail_error: None, damage: None }
}

/// Every frame that can be decoded, skipping bad ones by searching for the next offset where a
/// valid frame starts (salvage). Returns the edits and the skipped (start, end) ranges.
#[must_use]
pub fn decode_log_salvage(b: &[u8]) -> (Vec<ManifestEdit>, Vec<(u64, u64)>) {
    let mut edits = Vec::new();
    let mut skipped = Vec::new();
    let mut pos = 0usize;
    while pos < b.len() {
        match decode_frame(&b[pos..]) {
            Ok((edit, n)) => {
                edits.push(edit);
                pos += n;
            }
            Err(_) => {
                let next = next_valid_frame(b, pos + 1).unwrap_or(b.len());
                skipped.push((pos as u64, next as u64));
                pos = next;
            }
        }
    }
    (edits, skipped)
}

/// The first offset at or after `from` where a valid frame starts. Manifests are small (rewritten
/// as a snapshot at every open), so trying every offset is cheap; a false match needs a length and
/// a 32-bit CRC to agree by chance.
fn next_valid_frame(b: &[u8], from: usize) -> Option<usize> {
    (from..b.len()).find(|&at| decode_frame(&b[at..]).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn edits() -> Vec<ManifestEdit> {
        vec![
            ManifestEdit::StoreParams {
                format_version: 1,
                store_uuid: [3; 16],
                partitions: 16,
                prefix_len: PREFIX_LEN_WHOLE_KEY,
                region: "us-east-1".into(),
                created_ms: 5,
            },
            ManifestEdit::SegmentCreated { partition: 2, class: 0, segment_id: 1, generation: 0 },
            ManifestEdit::SegmentSealed { segment_id: 1, len: 9000 },
            ManifestEdit::SegmentDeleted { segment_id: 1 },
            ManifestEdit::RewriteBegun { partition: 3, class: 1, inputs: vec![1, 4] },
            ManifestEdit::SegmentsRewritten {
                partition: 3,
                class: 1,
                outputs: vec![(9, 2, 4096)],
                inputs: vec![1, 4],
            },
            ManifestEdit::SegmentIdsUsed { upto: 9 },
        ]
    }

    #[test]
    fn log_round_trips_and_torn_tail_is_cut() {
        let mut log = Vec::new();
        for e in edits() {
            log.extend(encode_frame(&e));
        }
        let d = decode_log(&log);
        assert_eq!(d.edits, edits());
        assert_eq!(d.valid_len, log.len() as u64);
        let n = edits().len();
        let last = encode_frame(&edits()[n - 1]).len();
        for cut in 1..last {
            let d = decode_log(&log[..log.len() - cut]);
            assert_eq!(d.edits.len(), n - 1);
            assert!(d.tail_error.is_some());
            assert_eq!(d.damage, None, "a torn last frame is not damage");
        }
    }

    #[test]
    fn a_bad_frame_before_valid_ones_is_damage_and_salvage_skips_it() {
        let frames: Vec<Vec<u8>> = edits().iter().map(encode_frame).collect();
        for bad in 0..frames.len() {
            for byte in [0usize, 5, 9] {
                let mut log = frames.concat();
                let at: usize = frames[..bad].iter().map(Vec::len).sum::<usize>() + byte;
                log[at] ^= 0x10;
                let d = decode_log(&log);
                assert_eq!(d.edits, edits()[..bad]);
                if bad + 1 < frames.len() {
                    let damage = d.damage.expect("valid frames follow the bad one");
                    assert_eq!(damage.frame, bad);
                } else {
                    assert_eq!(d.damage, None, "a bad last frame looks like a torn tail");
                }
                let (salvaged, skipped) = decode_log_salvage(&log);
                let mut want = edits();
                want.remove(bad);
                assert_eq!(salvaged, want, "frame {bad} byte {byte}");
                assert_eq!(skipped.len(), 1);
            }
        }
    }

    proptest! {
        #[test]
        fn garbage_never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_log(&b);
        }

        #[test]
        fn bit_flip_is_detected(pick in any::<prop::sample::Index>(), bit in 0u8..8) {
            let frame = encode_frame(&edits()[1]);
            let mut bad = frame.clone();
            let i = pick.index(bad.len());
            bad[i] ^= 1 << bit;
            prop_assert!(decode_frame(&bad).is_err());
        }
    }
}
