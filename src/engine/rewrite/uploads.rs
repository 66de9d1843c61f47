//! What a rewrite does with multipart upload records: a start or part record of an upload in
//! progress is live and moves (a part with those of its chunks that lie in an input); an end
//! record is kept, like a purge, while a surviving segment could hold the upload's start or parts.

use super::rewrap::EnvelopeRewrap;
use super::{CompactionReport, Copied, copy_with_chunks, corrupt, decode_kind, read_record_at};
use crate::engine::format::meta::{ObjectMeta, replace_envelope};
use crate::engine::format::record::{RecordKind, RecordParts, RecordView, decode_record, encode_record};
use crate::engine::partition::Partition;
use crate::engine::partition::index::Span;
use crate::engine::partition::uploads::{RecordAt, UploadKey};
use crate::engine::segment::Segment;
use crate::error::{CorruptionSite, Result};

use super::output::OutputWriter;

/// An upload record's move to its copy: (upload, `None` for the start record or the part
/// number, old place, new place, the part's chunk spans).
pub(super) struct UploadMove {
    pub(super) upload: UploadKey,
    pub(super) number: Option<u32>,
    pub(super) from: (u64, u64),
    pub(super) to: RecordAt,
    pub(super) spans: Vec<Span>,
    /// Its envelope was re-wrapped (a start record's; counted once the move is applied).
    pub(super) rewrapped: bool,
}

/// Where the index has the upload record of (`upload`, `number`), if it is in progress.
fn live_at(part: &Partition, upload: &UploadKey, number: Option<u32>) -> Option<(u64, u64)> {
    let ix = part.index.read();
    let u = ix.uploads().get(upload.0, &upload.1, upload.2)?;
    let at = match number {
        None => u.at,
        Some(n) => u.parts.get(&n)?.at,
    };
    Some((at.segment_id, at.offset))
}

/// Copies an upload's start record (`rec`, at `offset` of `seg`) if the upload is in progress;
/// with `rewrap`, its envelope re-wrapped on the way (a rotation's rewrap).
#[allow(clippy::too_many_arguments, reason = "the record's place and bytes, and the rewrite's state")]
pub(super) fn copy_start(
    part: &Partition,
    seg: &Segment,
    offset: u64,
    rec: &[u8],
    out: &mut OutputWriter<'_>,
    copied: &mut Copied,
    report: &mut CompactionReport,
    rewrap: Option<&dyn EnvelopeRewrap>,
) -> Result<()> {
    let view = decode_record(rec).map_err(|e| corrupt(part, seg.id, offset, e.to_string()))?;
    let h = view.header;
    let upload: UploadKey = (h.bucket_id, view.key.to_vec(), h.version_id);
    if live_at(part, &upload, None) != Some((seg.id, offset)) {
        return Ok(());
    }
    let rewrapped = match rewrap {
        Some(rewrap) => rewrap_start(part, seg, offset, &view, rewrap)?,
        None => None,
    };
    let rec = rewrapped.as_deref().unwrap_or(rec);
    let (id, at) = out.append(&[rec], h.seq)?;
    report.records_copied += 1;
    let to = RecordAt { segment_id: id, offset: at, len: rec.len() as u64 };
    copied.upload_moves.push(UploadMove {
        upload,
        number: None,
        from: (seg.id, offset),
        to,
        spans: Vec::new(),
        rewrapped: rewrapped.is_some(),
    });
    Ok(())
}

/// The start record `view` (at `offset` of `seg`) anew with its envelope re-wrapped, every other
/// byte of its meta and header as it was; `None` when it has no envelope or `rewrap` keeps it.
fn rewrap_start(
    part: &Partition,
    seg: &Segment,
    offset: u64,
    view: &RecordView<'_>,
    rewrap: &dyn EnvelopeRewrap,
) -> Result<Option<Vec<u8>>> {
    let h = &view.header;
    let meta =
        ObjectMeta::decode(view.meta).map_err(|e| corrupt(part, seg.id, offset, format!("meta: {e}")))?;
    let Some(env) = meta.envelope.as_deref() else { return Ok(None) };
    let site = CorruptionSite { partition: Some(part.id), segment_id: Some(seg.id), offset };
    let Some(env) = rewrap.rewrap_upload(h.bucket_id, view.key, h.version_id, env, &meta, site)? else {
        return Ok(None);
    };
    let new_meta =
        replace_envelope(view.meta, &env).map_err(|e| corrupt(part, seg.id, offset, format!("meta: {e}")))?;
    Ok(Some(encode_record(&RecordParts {
        kind: h.kind,
        flags: h.flags,
        seq: h.seq,
        bucket_id: h.bucket_id,
        version_id: h.version_id,
        chunk_index: h.chunk_index,
        key: view.key,
        meta: &new_meta,
        body: view.body,
    })))
}

/// Copies an upload's part record at `offset` of `seg`, with those of its chunks that lie in an
/// input, if it is still the part's latest upload and the upload is in progress.
#[allow(clippy::too_many_arguments, reason = "the record's place and bytes, and the rewrite's state")]
pub(super) fn copy_part(
    part: &Partition,
    seg: &Segment,
    offset: u64,
    rec: &[u8],
    input_ids: &[u64],
    out: &mut OutputWriter<'_>,
    copied: &mut Copied,
    report: &mut CompactionReport,
) -> Result<()> {
    let view = decode_kind(part, seg, offset, rec, RecordKind::MultipartPart)?;
    let h = view.header;
    let upload: UploadKey = (h.bucket_id, view.key.to_vec(), h.version_id);
    let number = Some(h.chunk_index);
    if live_at(part, &upload, number) != Some((seg.id, offset)) {
        return Ok(());
    }
    let copy = copy_with_chunks(part, seg, offset, &view, input_ids, out, report, None)?;
    let (to, spans) = (RecordAt { segment_id: copy.to.0, offset: copy.to.1, len: copy.to.2 }, copy.spans);
    copied.upload_moves.push(UploadMove {
        upload,
        number,
        from: (seg.id, offset),
        to,
        spans,
        rewrapped: false,
    });
    Ok(())
}

/// Parts of uploads in progress whose record lies outside the inputs but with a chunk in one.
pub(super) fn copy_parts_outside(
    part: &Partition,
    input_ids: &[u64],
    out: &mut OutputWriter<'_>,
    copied: &mut Copied,
    report: &mut CompactionReport,
) -> Result<()> {
    let touching = part.index.read().parts_touching(input_ids);
    for (_, _, at) in touching.into_iter().filter(|(_, _, at)| !input_ids.contains(&at.segment_id)) {
        if let Some(seg) = part.segment(at.segment_id) {
            let rec = read_record_at(part, &seg, at.offset)?;
            copy_part(part, &seg, at.offset, &rec, input_ids, out, copied, report)?;
        }
    }
    Ok(())
}
