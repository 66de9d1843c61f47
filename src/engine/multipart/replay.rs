//! Recovery's replay of upload records (start, part, end), in seq order like every record.

use std::collections::BTreeMap;

use crate::engine::format::meta::ObjectMeta;
use crate::engine::format::record::RecordKind;
use crate::engine::partition::index::{Index, spans_of};
use crate::engine::partition::uploads::{PartEntry, RecordAt, Upload, UploadKey};
use crate::engine::segment::scan::ScannedRecord;
use crate::format::FormatError;
use crate::types::{RecoveryMode, StorageClass};

/// Applies an upload record met by recovery (in seq order, like every record).
pub(crate) fn replay(
    index: &mut Index,
    class: StorageClass,
    segment_id: u64,
    r: &ScannedRecord,
    mode: RecoveryMode,
) -> std::result::Result<(), FormatError> {
    let h = &r.header;
    let at = RecordAt { segment_id, offset: r.offset, len: h.record_len() };
    let key: UploadKey = (h.bucket_id, r.key.clone(), h.version_id);
    let meta = || match ObjectMeta::decode(&r.meta) {
        Ok(m) => Ok(m),
        Err(e) if mode == RecoveryMode::Strict => Err(e),
        Err(_) => Ok(ObjectMeta::default()),
    };
    match h.kind {
        RecordKind::MultipartStart => {
            let m = meta()?;
            let upload = Upload { at, seq: h.seq, initiated_ms: m.mtime_ms, class, parts: BTreeMap::new() };
            index.start_upload(key, upload);
        }
        RecordKind::MultipartPart => {
            let m = meta()?;
            let mut etag = [0u8; 16];
            if m.etag.len() == 16 {
                etag.copy_from_slice(&m.etag);
            }
            let part = PartEntry {
                at,
                seq: h.seq,
                size: m.size,
                mtime_ms: m.mtime_ms,
                etag,
                spans: spans_of(&m.chunks, r.key.len()).into(),
            };
            index.put_part(key.0, &key.1, key.2, h.chunk_index, part);
        }
        RecordKind::MultipartEnd => {
            index.end_upload(key.0, &key.1, key.2);
            index.retain(segment_id, h.record_len());
        }
        _ => {}
    }
    Ok(())
}
