//! The recovery scanner: pure code over a segment's bytes.
//!
//! It walks records from [`SEGMENT_DATA_START`], collecting them group by group; a group's records are
//! accepted only when its group-commit marker matches. For an active segment, the first bad byte X is
//! classified: if some later intact marker says the segment had been synced past X (`synced_upto > X`),
//! X was acknowledged-durable data, so it is corruption; otherwise it is a torn tail from a group whose
//! sync never returned, and everything from the last good marker on is cut. In a sealed segment every
//! bad byte is corruption. Salvage mode skips damage: a record with a good header and a bad body is
//! kept (reads of it fail), an unreadable header is skipped to the next intact record.

use crate::engine::format::record::{
    GroupCommitBody, RECORD_HEADER_BYTES, RECORD_MAGIC, RecordHeader, RecordKind, SealBody, decode_prefix,
    decode_record, verify_body_crc,
};
use crate::engine::format::segment_header::SEGMENT_DATA_START;
use crate::engine::format::{FormatError, mask, u32_at};

/// A record found by the scanner.
#[derive(Debug, Clone)]
pub struct ScannedRecord {
    /// Offset in the segment.
    pub offset: u64,
    /// Header.
    pub header: RecordHeader,
    /// Key.
    pub key: Vec<u8>,
    /// Meta.
    pub meta: Vec<u8>,
    /// Body, kept only for catalog records (the rest is read on demand).
    pub catalog_body: Vec<u8>,
    /// False when the body failed its CRC (salvage mode only).
    pub body_ok: bool,
}

/// A damaged byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// First damaged byte.
    pub start: u64,
    /// End of the damage (exclusive).
    pub end: u64,
    /// What failed.
    pub reason: String,
}

/// What a scan found.
#[derive(Debug, Clone, Default)]
pub struct ScanOutcome {
    /// Accepted records, in file order.
    pub records: Vec<ScannedRecord>,
    /// End of the accepted data: where appends continue (active) or the seal ends (sealed).
    pub end: u64,
    /// For an active segment: bytes from `end` on that were never acknowledged durable (cut them).
    pub torn_bytes: u64,
    /// Damage skipped in salvage mode.
    pub damage: Vec<Damage>,
    /// Corruption that fails a strict open: offset and reason.
    pub fatal: Option<(u64, String)>,
    /// The seal, when the segment ends with one.
    pub seal: Option<(u64, SealBody)>,
    /// Bytes before this had been synced, as the accepted markers prove (the greatest
    /// `synced_upto` among them; the end of the header page when none proves more). Bytes from here
    /// to `end` were accepted but may never have been made durable.
    pub synced_upto: u64,
}

/// Whether the scanned segment is active or sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentState {
    /// Still being appended to; its tail may be torn.
    Active,
    /// Sealed with this length; every byte must be intact.
    Sealed(u64),
}

enum Step {
    End,
    Bad(u64, String),
}

/// Where a scan starts: at a group boundary `offset` before which every byte is known (and synced),
/// with `crc`, the raw CRC-32 of the segment's bytes before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanStart {
    /// First byte the scan reads (a group boundary, at least [`SEGMENT_DATA_START`]).
    pub offset: u64,
    /// Raw (unmasked) CRC-32 of bytes `0..offset`: a seal's segment CRC is checked from it, so the
    /// bytes before `offset` need not be read.
    pub crc: u32,
}

/// Scans a segment's bytes (the whole file, header included).
#[must_use]
pub fn scan_segment(bytes: &[u8], state: SegmentState, salvage: bool) -> ScanOutcome {
    let head = &bytes[..bytes.len().min(SEGMENT_DATA_START as usize)];
    let start = ScanStart { offset: SEGMENT_DATA_START, crc: crc32fast::hash(head) };
    scan_segment_from(bytes, state, salvage, start)
}

/// Scans a segment's bytes from `start` (a checkpoint's covered offset): the records before it are
/// not looked at (`bytes` before it may be anything, such as zeros never read from the file), and
/// `synced_upto` is at least `start.offset`. A seal is checked against the CRC of every byte
/// before it, continued from `start.crc`.
#[must_use]
pub fn scan_segment_from(bytes: &[u8], state: SegmentState, salvage: bool, start: ScanStart) -> ScanOutcome {
    let limit = match state {
        SegmentState::Active => bytes.len() as u64,
        SegmentState::Sealed(len) => len.min(bytes.len() as u64),
    };
    let crc_before = |pos: u64| {
        let from = start.offset.min(pos);
        let mut h = crc32fast::Hasher::new_with_initial_len(start.crc, from);
        h.update(&bytes[from as usize..pos as usize]);
        mask(h.finalize())
    };
    let start = start.offset.max(SEGMENT_DATA_START);
    let mut out = ScanOutcome { end: start, synced_upto: start, ..ScanOutcome::default() };
    let mut pos = start;
    let mut group_start = start;
    let mut pending: Vec<ScannedRecord> = Vec::new();
    let mut salvaging = false;
    loop {
        let step = match next_record(bytes, pos, limit) {
            None => Step::End,
            Some(Err(e)) => Step::Bad(pos, e.to_string()),
            Some(Ok((h, key, meta, body_ok))) => {
                let len = h.record_len();
                if !body_ok && !salvage {
                    Step::Bad(pos, "record body crc mismatch".into())
                } else {
                    if !body_ok {
                        if let Some(proof) = corruption_proof(bytes, pos, state) {
                            let reason = format!("record body crc mismatch ({proof})");
                            out.damage.push(Damage { start: pos, end: pos + len, reason });
                            // Later markers and the seal cover the damaged bytes: judge them by their
                            // own CRCs only.
                            salvaging = true;
                        } else {
                            out.torn_bytes = limit.saturating_sub(out.end);
                            return out;
                        }
                    }
                    match h.kind {
                        RecordKind::GroupCommit => {
                            let body = &bytes
                                [(pos + h.body_offset()) as usize..(pos + len - pad(h.body_len)) as usize];
                            match GroupCommitBody::decode(body) {
                                Ok(g) if salvaging || group_matches(bytes, &g, group_start, pos) => {
                                    out.synced_upto = out.synced_upto.max(g.synced_upto.min(pos));
                                    out.records.append(&mut pending);
                                    group_start = pos + len;
                                    out.end = group_start;
                                    pos += len;
                                    continue;
                                }
                                Ok(_) => {
                                    Step::Bad(pos, "group commit marker does not match its group".into())
                                }
                                Err(e) => Step::Bad(pos, e.to_string()),
                            }
                        }
                        RecordKind::Seal => {
                            let body = &bytes[(pos + h.body_offset()) as usize
                                ..(pos + h.body_offset() + h.body_len) as usize];
                            match SealBody::decode(body) {
                                Ok(s)
                                    if s.sealed_at == pos
                                        && (salvaging || crc_before(pos) == s.segment_crc) =>
                                {
                                    if let SegmentState::Sealed(_) = state {
                                        out.records.append(&mut pending);
                                        out.end = pos + len;
                                        out.seal = Some((pos, s));
                                        if pos + len != limit {
                                            out.fatal
                                                .get_or_insert((pos + len, "data after the seal".into()));
                                        }
                                        return out;
                                    }
                                    // An active segment whose seal was written but never logged in the
                                    // manifest: recovery drops the seal and keeps the segment active
                                    // if it is its class's newest, else (the manifest lost the edit)
                                    // rescans it as sealed at this length.
                                    out.seal = Some((pos, s));
                                    Step::End
                                }
                                Ok(_) => Step::Bad(pos, "seal does not match the segment".into()),
                                Err(e) => Step::Bad(pos, e.to_string()),
                            }
                        }
                        _ => {
                            let catalog_body = if h.kind == RecordKind::Catalog {
                                let at = (pos + h.body_offset()) as usize;
                                bytes[at..at + h.body_len as usize].to_vec()
                            } else {
                                Vec::new()
                            };
                            pending.push(ScannedRecord {
                                offset: pos,
                                header: h,
                                key,
                                meta,
                                catalog_body,
                                body_ok,
                            });
                            pos += len;
                            continue;
                        }
                    }
                }
            }
        };
        let step = match step {
            // Zeros are the end of the data unless a later intact marker proves that bytes here had
            // been synced (zeroed sectors are a media fault too).
            Step::End if state == SegmentState::Active && pos < limit => {
                match corruption_proof(bytes, pos, state) {
                    Some(_) => Step::Bad(pos, "zeroed bytes".into()),
                    None => Step::End,
                }
            }
            other => other,
        };
        match step {
            Step::End => {
                if let SegmentState::Sealed(_) = state {
                    out.records.append(&mut pending);
                    out.fatal.get_or_insert((pos, "sealed segment ends without its seal".into()));
                    out.end = pos;
                    return out;
                }
                out.torn_bytes = limit.saturating_sub(out.end);
                return out;
            }
            Step::Bad(at, reason) => {
                let proof = match state {
                    SegmentState::Sealed(_) => Some(format!("{reason} (in a sealed segment)")),
                    SegmentState::Active => {
                        corruption_proof(bytes, at, state).map(|p| format!("{reason} ({p})"))
                    }
                };
                let Some(reason) = proof else {
                    out.torn_bytes = limit.saturating_sub(out.end);
                    return out;
                };
                if !salvage {
                    out.fatal = Some((at, reason));
                    return out;
                }
                let next = resync(bytes, at, limit);
                out.damage.push(Damage { start: at, end: next, reason });
                salvaging = true;
                pos = next;
                group_start = next;
                if next >= limit {
                    out.records.append(&mut pending);
                    out.end = next;
                    return out;
                }
            }
        }
    }
}

fn pad(body_len: u64) -> u64 {
    crate::engine::format::align8(body_len) - body_len
}

type Parsed = (RecordHeader, Vec<u8>, Vec<u8>, bool);

/// The record at `pos`, `None` at the end (limit reached or zero magic).
fn next_record(bytes: &[u8], pos: u64, limit: u64) -> Option<Result<Parsed, FormatError>> {
    if pos >= limit {
        return None;
    }
    let window = &bytes[pos as usize..limit as usize];
    if window.len() >= 4 && u32_at(window, 0) == 0 && window.iter().take(RECORD_HEADER_BYTES).all(|&b| b == 0)
    {
        return None;
    }
    let (h, key, meta) = match decode_prefix(window) {
        Ok(v) => v,
        Err(e) => return Some(Err(e)),
    };
    if h.record_len() > window.len() as u64 {
        return Some(Err(FormatError::Truncated { need: h.record_len(), have: window.len() as u64 }));
    }
    let at = h.body_offset() as usize;
    let body_ok = verify_body_crc(&h, &window[at..at + h.body_len as usize]).is_ok();
    Some(Ok((h, key.to_vec(), meta.to_vec(), body_ok)))
}

fn group_matches(bytes: &[u8], g: &GroupCommitBody, group_start: u64, marker_at: u64) -> bool {
    g.group_start == group_start
        && g.group_start + g.group_len == marker_at
        && mask(crc32fast::hash(&bytes[group_start as usize..marker_at as usize])) == g.group_crc
}

/// Looks past `bad_at` for an intact group-commit marker that proves the segment had been synced past
/// `bad_at`; returns a description of the proof.
fn corruption_proof(bytes: &[u8], bad_at: u64, state: SegmentState) -> Option<String> {
    if let SegmentState::Sealed(_) = state {
        return Some("in a sealed segment".into());
    }
    let mut pos = (bad_at + 8) & !7;
    while pos + RECORD_HEADER_BYTES as u64 <= bytes.len() as u64 {
        let p = pos as usize;
        let is_marker = u32_at(bytes, p) == RECORD_MAGIC && bytes[p + 8] == RecordKind::GroupCommit as u8;
        if let Some(g) = is_marker
            .then(|| decode_record(&bytes[p..]).ok())
            .flatten()
            .and_then(|v| GroupCommitBody::decode(v.body).ok())
        {
            let intact = g.group_start + g.group_len == pos
                && g.group_start >= SEGMENT_DATA_START
                && mask(crc32fast::hash(&bytes[g.group_start as usize..p])) == g.group_crc;
            if intact && g.synced_upto > bad_at {
                return Some(format!("the marker at {pos} shows it had been synced up to {}", g.synced_upto));
            }
        }
        pos += 8;
    }
    None
}

/// Next 8-aligned offset after `bad_at` holding an intact record, or `limit`.
fn resync(bytes: &[u8], bad_at: u64, limit: u64) -> u64 {
    let mut pos = (bad_at + 8) & !7;
    while pos + RECORD_HEADER_BYTES as u64 <= limit {
        let p = pos as usize;
        if u32_at(bytes, p) == RECORD_MAGIC && decode_record(&bytes[p..limit as usize]).is_ok() {
            return pos;
        }
        pos += 8;
    }
    limit
}
