//! A partition's ordered index: `(bucket id, key bytes, Reverse(seq))`, so keys sort in UTF-8 byte
//! order and one key's versions newest first (ListObjectVersions order).

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use super::uploads::{PartEntry, RecordAt, Upload, UploadKey, Uploads};
use crate::engine::format::meta::ChunkRef;
use crate::engine::format::record::record_len;
use crate::limits::{COMMIT_META_BYTES_MAX, GROUP_BYTES_MAX, RECORD_BODY_BYTES_MAX, SEGMENT_BYTES_MAX};
use crate::types::{StorageClass, VersionId};

/// Index key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct IndexKey {
    pub(crate) bucket: u64,
    pub(crate) key: KeyBytes,
    pub(crate) rev_seq: Reverse<u64>,
}

/// Longest key kept inside the index node itself.
const INLINE_KEY_BYTES: usize = 62;

/// An object key's bytes: short keys inside the index node, longer ones on the heap. A listing walks
/// keys in order; with every key behind its own pointer, each one was a cache miss (the top of the
/// listing profile), and each cost an allocation of its own.
#[derive(Clone)]
pub(crate) enum KeyBytes {
    Inline { len: u8, bytes: [u8; INLINE_KEY_BYTES] },
    Heap(Box<[u8]>),
}

impl std::ops::Deref for KeyBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            KeyBytes::Inline { len, bytes } => &bytes[..usize::from(*len)],
            KeyBytes::Heap(b) => b,
        }
    }
}

impl From<&[u8]> for KeyBytes {
    fn from(key: &[u8]) -> KeyBytes {
        if key.len() <= INLINE_KEY_BYTES {
            let mut bytes = [0u8; INLINE_KEY_BYTES];
            bytes[..key.len()].copy_from_slice(key);
            KeyBytes::Inline { len: key.len() as u8, bytes }
        } else {
            KeyBytes::Heap(key.into())
        }
    }
}

impl PartialEq for KeyBytes {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}
impl Eq for KeyBytes {}
impl PartialOrd for KeyBytes {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for KeyBytes {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (**self).cmp(&**other)
    }
}
impl std::fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

/// What an index entry stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// An object version whose body is inline in its record.
    Inline,
    /// An object version whose record lists chunks.
    Chunked,
    /// A delete marker.
    DeleteMarker,
}

/// Everything listing needs without I/O, and where the record is.
///
/// 68 bytes, the index's largest cost per version: a record's offset and length are `u32` (a
/// segment holds at most [`SEGMENT_BYTES_MAX`], 4 GiB), and the struct is packed to 2-byte
/// alignment, so the two one-byte fields do not round it up to 72 (the B-tree stores values in an
/// array, so every byte of padding is paid per version). Fields are read by value (no references
/// into a packed struct); `offset()` and `record_len()` widen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(Rust, packed(2))]
pub(crate) struct IndexEntry {
    pub(crate) segment_id: u64,
    offset: u32,
    record_len: u32,
    pub(crate) version_id: VersionId,
    pub(crate) kind: EntryKind,
    pub(crate) size: u64,
    pub(crate) mtime_ms: u64,
    pub(crate) etag: [u8; 16],
    pub(crate) class: StorageClass,
    /// Parts of a multipart object (its ETag is `<etag>-<parts>`); 0 for single-part ones.
    pub(crate) parts: u16,
}

// A record's offset and length in its segment fit the entry's `u32`s.
const _: () = assert!(SEGMENT_BYTES_MAX <= 1 << 32);
// A group larger than the room left goes whole into a fresh segment, so it must fit there too: a
// group gathers at most `GROUP_BYTES_MAX`, or one request past it (a few records of at most a
// body and a commit record's meta each; the exception, an unversioned delete of a key, writes one
// purge of about a key's length per version, so only millions of versions of one key pass this).
const _: () = assert!(GROUP_BYTES_MAX + 4 * (RECORD_BODY_BYTES_MAX + COMMIT_META_BYTES_MAX as u64) < 1 << 32);

/// A record's offset and length as an entry keeps them, or `None` when either is past 4 GiB (no
/// segment is that long: only a damaged file or checkpoint can say so).
pub(crate) fn narrow_place(offset: u64, record_len: u64) -> Option<(u32, u32)> {
    Some((u32::try_from(offset).ok()?, u32::try_from(record_len).ok()?))
}

impl IndexEntry {
    /// An entry for a record not yet written (segment 0, offset 0, length 0): the writer places it.
    pub(crate) fn unplaced(
        version_id: VersionId,
        kind: EntryKind,
        size: u64,
        mtime_ms: u64,
        etag: [u8; 16],
        class: StorageClass,
    ) -> IndexEntry {
        IndexEntry {
            segment_id: 0,
            offset: 0,
            record_len: 0,
            version_id,
            kind,
            size,
            mtime_ms,
            etag,
            class,
            parts: 0,
        }
    }

    /// The same entry for a multipart object of `parts` parts.
    pub(crate) fn with_parts(self, parts: u16) -> IndexEntry {
        IndexEntry { parts, ..self }
    }

    /// The same entry for the record at `offset` of `segment_id`, `record_len` bytes long (as
    /// [`narrow_place`] gives them).
    pub(crate) fn placed(self, segment_id: u64, (offset, record_len): (u32, u32)) -> IndexEntry {
        IndexEntry { segment_id, offset, record_len, ..self }
    }

    /// Offset of the record in its segment.
    pub(crate) fn offset(&self) -> u64 {
        u64::from(self.offset)
    }

    /// Length of the record.
    pub(crate) fn record_len(&self) -> u64 {
        u64::from(self.record_len)
    }

    /// Where the record is: (segment id, offset).
    pub(crate) fn at(&self) -> (u64, u64) {
        (self.segment_id, self.offset())
    }
}

/// Bytes of one chunked version's chunk records that lie in one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) segment_id: u64,
    pub(crate) bytes: u64,
}

/// The chunk records of a chunked version, summed per segment (a body's chunks usually lie in one
/// or two segments, so this is short).
pub(crate) fn spans_of(chunks: &[ChunkRef], key_len: usize) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    for c in chunks {
        let bytes = record_len(key_len, 0, c.len);
        match spans.iter_mut().find(|s| s.segment_id == c.segment_id) {
            Some(s) => s.bytes += bytes,
            None => spans.push(Span { segment_id: c.segment_id, bytes }),
        }
    }
    spans
}

/// The ordered index of one partition, and the live bytes of each of its segments.
///
/// A segment's live bytes are those of the records something still needs: every record an entry
/// points at, the chunk records of chunked entries, and the records compaction must keep although
/// no entry points at them (catalog edits, purges: see [`Index::retain`]). Everything else in the
/// segment (overwritten and purged versions, chunks of failed puts, markers, torn bytes) is dead:
/// compaction reclaims it. Kept exact by every change of the index, under the index lock.
#[derive(Debug, Default)]
pub(crate) struct Index {
    map: BTreeMap<IndexKey, IndexEntry>,
    /// Live bytes per segment id.
    segment_live: HashMap<u64, u64>,
    /// Where the chunks of each chunked entry lie, by the entry's record location.
    chunk_spans: HashMap<(u64, u64), Box<[Span]>>,
    /// Sum of `segment_live`.
    live_bytes: u64,
    /// Bytes per segment of chunk records whose put has not committed or failed yet: such a segment
    /// is no compaction input, since a commit may still make them live. Counted by the leader that
    /// wrote them, before any later group can seal their segment.
    pending_chunks: HashMap<u64, u64>,
    /// Every catalog edit record of the partition (seq, body), in seq order: a checkpoint carries
    /// them, since the catalog is rebuilt from its edits.
    catalog_edits: Vec<(u64, Vec<u8>)>,
    /// Multipart uploads in progress: their start and part records (and the parts' chunks) are live.
    uploads: Uploads,
}

pub(crate) fn key_bound(bucket: u64, key: &[u8], seq: u64) -> IndexKey {
    IndexKey { bucket, key: key.into(), rev_seq: Reverse(seq) }
}

impl Index {
    /// An index loaded from a checkpoint: `entries` in index order (key, entry, chunk spans), the
    /// live bytes of retained records per segment, and the catalog edits in seq order. Live bytes
    /// are recomputed from the entries, as every change of the index computes them.
    pub(crate) fn load(
        entries: Vec<(IndexKey, IndexEntry, Box<[Span]>)>,
        retained: &[(u64, u64)],
        catalog_edits: Vec<(u64, Vec<u8>)>,
        uploads: Vec<(UploadKey, Upload)>,
    ) -> Index {
        let mut ix = Index { catalog_edits, ..Index::default() };
        for (k, u) in uploads {
            ix.use_upload(&u);
            ix.uploads.insert(k, u);
        }
        let mut map_entries = Vec::with_capacity(entries.len());
        for (k, e, spans) in entries {
            ix.add_use(&e, &spans);
            map_entries.push((k, e));
        }
        // Sorted input: the map is built in one pass.
        ix.map = map_entries.into_iter().collect();
        for &(segment_id, bytes) in retained {
            ix.retain(segment_id, bytes);
        }
        ix
    }

    /// Every entry in index order, with its chunk spans.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&IndexKey, &IndexEntry, &[Span])> + '_ {
        self.map.iter().map(|(k, e)| (k, e, self.spans_at(e.at())))
    }

    /// Live bytes per segment that no entry accounts for: the retained records (catalog edits,
    /// purges), which a checkpoint must carry since no entry brings them back.
    pub(crate) fn retained_by_segment(&self) -> HashMap<u64, u64> {
        let mut left = self.segment_live.clone();
        let mut take = |segment_id: u64, bytes: u64| {
            if let Some(l) = left.get_mut(&segment_id) {
                *l -= bytes.min(*l);
            }
        };
        for e in self.map.values() {
            take(e.segment_id, e.record_len());
            for s in self.spans_at(e.at()) {
                take(s.segment_id, s.bytes);
            }
        }
        for (_, u) in self.uploads.iter() {
            for (at, spans) in upload_records(u) {
                take(at.segment_id, at.len);
                for s in spans {
                    take(s.segment_id, s.bytes);
                }
            }
        }
        left.retain(|_, b| *b > 0);
        left
    }

    /// The multipart uploads in progress.
    pub(crate) fn uploads(&self) -> &Uploads {
        &self.uploads
    }

    /// Begins a multipart upload whose start record is `u.at`.
    pub(crate) fn start_upload(&mut self, k: UploadKey, u: Upload) {
        self.use_upload(&u);
        if let Some(old) = self.uploads.insert(k, u) {
            self.drop_upload(&old);
        }
    }

    /// Records a part of an upload in progress, replacing an earlier upload of its number. A part
    /// of an upload that has ended (aborted or completed meanwhile) is dead: returns false.
    pub(crate) fn put_part(
        &mut self,
        bucket: u64,
        key: &[u8],
        upload: [u8; 16],
        number: u32,
        part: PartEntry,
    ) -> bool {
        let Some(u) = self.uploads.get_mut(bucket, key, upload) else { return false };
        let old = match u.parts.get(&number) {
            // A replay may meet an older record after a newer one only if seqs say so.
            Some(old) if old.seq > part.seq => return false,
            _ => u.parts.insert(number, part.clone()),
        };
        if let Some(old) = old {
            self.release_part(&old);
        }
        self.retain(part.at.segment_id, part.at.len);
        for s in &part.spans {
            self.retain(s.segment_id, s.bytes);
        }
        true
    }

    /// Ends an upload (aborted or completed): its start and part records, and the chunks of parts
    /// no object took over, are dead. Returns the upload, if it was in progress.
    pub(crate) fn end_upload(&mut self, bucket: u64, key: &[u8], upload: [u8; 16]) -> Option<Upload> {
        let u = self.uploads.remove(bucket, key, upload)?;
        self.drop_upload(&u);
        Some(u)
    }

    /// Moves an upload's start record (`number` `None`) or one of its part records to a new copy, if
    /// the upload still points at `from`: compaction's switch for upload records.
    pub(crate) fn relocate_upload_record(
        &mut self,
        k: &UploadKey,
        number: Option<u32>,
        from: (u64, u64),
        to: RecordAt,
        spans: &[Span],
    ) -> bool {
        let Some(u) = self.uploads.get_mut(k.0, &k.1, k.2) else { return false };
        let (old_at, old_spans) = match number {
            None if (u.at.segment_id, u.at.offset) == from => (std::mem::replace(&mut u.at, to), None),
            Some(n) => match u.parts.get_mut(&n) {
                Some(p) if (p.at.segment_id, p.at.offset) == from => {
                    let old_spans = std::mem::replace(&mut p.spans, spans.into());
                    (std::mem::replace(&mut p.at, to), Some(old_spans))
                }
                _ => return false,
            },
            None => return false,
        };
        self.release(old_at.segment_id, old_at.len);
        self.retain(to.segment_id, to.len);
        if let Some(old_spans) = old_spans {
            for s in old_spans.iter() {
                self.release(s.segment_id, s.bytes);
            }
            for s in spans {
                self.retain(s.segment_id, s.bytes);
            }
        }
        true
    }

    /// Parts of uploads in progress with a chunk in one of `segments`: (upload, part number, where
    /// the part record is).
    pub(crate) fn parts_touching(&self, segments: &[u64]) -> Vec<(UploadKey, u32, RecordAt)> {
        let mut out = Vec::new();
        for (k, u) in self.uploads.iter() {
            for (n, p) in &u.parts {
                if p.spans.iter().any(|s| segments.contains(&s.segment_id)) {
                    out.push((k.clone(), *n, p.at));
                }
            }
        }
        out
    }

    fn use_upload(&mut self, u: &Upload) {
        for (at, spans) in upload_records(u) {
            self.retain(at.segment_id, at.len);
            for s in spans {
                self.retain(s.segment_id, s.bytes);
            }
        }
    }

    fn drop_upload(&mut self, u: &Upload) {
        self.release(u.at.segment_id, u.at.len);
        for p in u.parts.values() {
            self.release_part(p);
        }
    }

    fn release_part(&mut self, p: &PartEntry) {
        self.release(p.at.segment_id, p.at.len);
        for s in &p.spans {
            self.release(s.segment_id, s.bytes);
        }
    }

    /// Notes a catalog edit record (seq, body) of the partition.
    pub(crate) fn note_catalog(&mut self, seq: u64, body: Vec<u8>) {
        self.catalog_edits.push((seq, body));
    }

    /// The partition's catalog edit records, in the order they were applied (seq order).
    pub(crate) fn catalog_edits(&self) -> &[(u64, Vec<u8>)] {
        &self.catalog_edits
    }

    /// Live bytes per segment (for comparing a checkpointed open with a full scan).
    #[cfg(test)]
    pub(crate) fn segment_live_map(&self) -> &HashMap<u64, u64> {
        &self.segment_live
    }

    /// Adds a version whose chunk records (when chunked) lie in `spans`; an older record of the
    /// same version (a replaced `null` version) goes away, and is returned.
    pub(crate) fn upsert(
        &mut self,
        bucket: u64,
        key: &[u8],
        seq: u64,
        entry: IndexEntry,
        spans: &[Span],
    ) -> Vec<IndexEntry> {
        let replaced = self.take_version(bucket, key, entry.version_id, seq);
        self.add_use(&entry, spans);
        if let Some(old) = self.map.insert(key_bound(bucket, key, seq), entry) {
            self.drop_use(&old);
        }
        replaced
    }

    /// Removes every record of `version` older than `seq`; returns how many.
    pub(crate) fn remove_version(&mut self, bucket: u64, key: &[u8], version: VersionId, seq: u64) -> usize {
        self.take_version(bucket, key, version, seq).len()
    }

    /// Removes every record of `version` older than `seq`, and returns their entries.
    pub(crate) fn take_version(
        &mut self,
        bucket: u64,
        key: &[u8],
        version: VersionId,
        seq: u64,
    ) -> Vec<IndexEntry> {
        let doomed: Vec<IndexKey> = self
            .versions(bucket, key)
            .filter(|(s, e)| e.version_id == version && *s < seq)
            .map(|(s, _)| key_bound(bucket, key, s))
            .collect();
        let mut taken = Vec::with_capacity(doomed.len());
        for k in &doomed {
            if let Some(old) = self.map.remove(k) {
                self.drop_use(&old);
                taken.push(old);
            }
        }
        taken
    }

    /// Moves the entry of (`bucket`, `key`, `seq`) to a new copy of its record, if it still points
    /// at `from` (segment id, offset): compaction's switch. An entry changed meanwhile (overwritten,
    /// purged) is left alone, and the copy is dead. Returns whether it moved.
    pub(crate) fn relocate(
        &mut self,
        bucket: u64,
        key: &[u8],
        seq: u64,
        from: (u64, u64),
        to: (u64, u64, u64),
        spans: &[Span],
    ) -> bool {
        // A copy past 4 GiB of its segment cannot be named by an entry (no segment is that long);
        // the entry stays where it is, and the copy is dead.
        let Some(place) = narrow_place(to.1, to.2) else { return false };
        let Some(e) = self.map.get_mut(&key_bound(bucket, key, seq)) else { return false };
        if e.at() != from {
            return false;
        }
        let old = *e;
        let moved = old.placed(to.0, place);
        *e = moved;
        self.drop_use(&old);
        self.add_use(&moved, spans);
        true
    }

    /// Where the record of (`bucket`, `key`, `seq`) is, if the index has that entry.
    pub(crate) fn location(&self, bucket: u64, key: &[u8], seq: u64) -> Option<(u64, u64)> {
        self.map.get(&key_bound(bucket, key, seq)).map(IndexEntry::at)
    }

    /// Counts `bytes` of a record no entry points at as live in `segment_id` (a catalog edit or a
    /// purge: compaction keeps them).
    pub(crate) fn retain(&mut self, segment_id: u64, bytes: u64) {
        *self.segment_live.entry(segment_id).or_default() += bytes;
        self.live_bytes += bytes;
    }

    /// Forgets a segment that left the store (a compaction input), returning the live bytes it
    /// still had: those of its retained records (their copies were retained in the outputs).
    pub(crate) fn forget_segment(&mut self, segment_id: u64) -> u64 {
        let left = self.segment_live.remove(&segment_id).unwrap_or(0);
        self.live_bytes -= left;
        left
    }

    /// Live bytes of one segment.
    pub(crate) fn segment_live(&self, segment_id: u64) -> u64 {
        self.segment_live.get(&segment_id).copied().unwrap_or(0)
    }

    /// The chunk spans of the chunked entry whose record is at (segment id, offset).
    pub(crate) fn spans_at(&self, at: (u64, u64)) -> &[Span] {
        self.chunk_spans.get(&at).map_or(&[], |s| s)
    }

    /// Record locations of the chunked entries with a chunk in one of `segments`.
    pub(crate) fn chunked_touching(&self, segments: &[u64]) -> Vec<(u64, u64)> {
        self.chunk_spans
            .iter()
            .filter(|(_, spans)| spans.iter().any(|s| segments.contains(&s.segment_id)))
            .map(|(at, _)| *at)
            .collect()
    }

    /// Counts a chunk record of a put in flight.
    pub(crate) fn pend_chunk(&mut self, segment_id: u64, bytes: u64) {
        *self.pending_chunks.entry(segment_id).or_default() += bytes;
    }

    /// The chunks of a put in flight were committed or abandoned.
    pub(crate) fn settle_chunks(&mut self, spans: &[Span]) {
        for s in spans {
            if let Some(p) = self.pending_chunks.get_mut(&s.segment_id) {
                *p -= s.bytes.min(*p);
                if *p == 0 {
                    self.pending_chunks.remove(&s.segment_id);
                }
            }
        }
    }

    /// Whether a segment holds chunks of a put in flight.
    pub(crate) fn has_pending_chunks(&self, segment_id: u64) -> bool {
        self.pending_chunks.contains_key(&segment_id)
    }

    fn add_use(&mut self, e: &IndexEntry, spans: &[Span]) {
        self.retain(e.segment_id, e.record_len());
        if e.kind == EntryKind::Chunked {
            for s in spans {
                self.retain(s.segment_id, s.bytes);
            }
            self.chunk_spans.insert(e.at(), spans.into());
        }
    }

    fn drop_use(&mut self, e: &IndexEntry) {
        self.release(e.segment_id, e.record_len());
        if e.kind == EntryKind::Chunked {
            for s in self.chunk_spans.remove(&e.at()).unwrap_or_default() {
                self.release(s.segment_id, s.bytes);
            }
        }
    }

    fn release(&mut self, segment_id: u64, bytes: u64) {
        if let Some(live) = self.segment_live.get_mut(&segment_id) {
            debug_assert!(*live >= bytes, "segment {segment_id}: releasing {bytes} of {live} live bytes");
            *live -= bytes.min(*live);
            self.live_bytes -= bytes.min(self.live_bytes);
        }
    }

    /// Versions of one key, newest first, with their seqs.
    pub(crate) fn versions<'a>(
        &'a self,
        bucket: u64,
        key: &[u8],
    ) -> impl Iterator<Item = (u64, &'a IndexEntry)> + 'a {
        let start = key_bound(bucket, key, u64::MAX);
        let end = key_bound(bucket, key, 0);
        self.map.range(start..=end).map(|(k, e)| (k.rev_seq.0, e))
    }

    /// The newest version of a key.
    pub(crate) fn latest(&self, bucket: u64, key: &[u8]) -> Option<(u64, &IndexEntry)> {
        self.versions(bucket, key).next()
    }

    /// A specific version of a key.
    pub(crate) fn version(&self, bucket: u64, key: &[u8], version: VersionId) -> Option<(u64, &IndexEntry)> {
        self.versions(bucket, key).find(|(_, e)| e.version_id == version)
    }

    /// True when the bucket has no version or marker in this partition.
    /// An upload in progress counts: its parts are stored bytes of the bucket.
    pub(crate) fn bucket_is_empty(&self, bucket: u64) -> bool {
        let start = IndexKey { bucket, key: KeyBytes::from(&[][..]), rev_seq: Reverse(u64::MAX) };
        self.map.range(start..).next().is_none_or(|(k, _)| k.bucket != bucket)
            && !self.uploads.bucket_has_uploads(bucket)
    }

    #[cfg(test)]
    /// Entries of a bucket from `start` (a key; `inclusive` says whether the key itself counts) in
    /// index order, while `keep_going` says yes.
    pub(crate) fn scan_from<'a>(
        &'a self,
        bucket: u64,
        start: &[u8],
        inclusive: bool,
    ) -> impl Iterator<Item = (&'a IndexKey, &'a IndexEntry)> + 'a {
        let lower = if inclusive {
            Bound::Included(key_bound(bucket, start, u64::MAX))
        } else {
            Bound::Excluded(key_bound(bucket, start, 0))
        };
        self.map.range((lower, Bound::Unbounded)).take_while(move |(k, _)| k.bucket == bucket)
    }

    /// Live bytes of every segment together.
    pub(crate) fn live_bytes(&self) -> u64 {
        self.live_bytes
    }

    /// Entries from `lower` on, in index order.
    pub(crate) fn range_from<'a>(
        &'a self,
        lower: Bound<IndexKey>,
    ) -> impl Iterator<Item = (&'a IndexKey, &'a IndexEntry)> + 'a {
        self.map.range((lower, Bound::Unbounded))
    }

    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// An upload's records (start, then parts) with their chunk spans.
fn upload_records(u: &Upload) -> impl Iterator<Item = (RecordAt, &[Span])> + '_ {
    std::iter::once((u.at, &[][..])).chain(u.parts.values().map(|p| (p.at, &*p.spans)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_bytes_order_is_byte_order_across_inline_and_heap() {
        let mut keys: Vec<Vec<u8>> = vec![Vec::new(), b"a".to_vec(), vec![0xef; 100]];
        for len in [1, INLINE_KEY_BYTES - 1, INLINE_KEY_BYTES, INLINE_KEY_BYTES + 1, INLINE_KEY_BYTES + 2] {
            keys.push(vec![b'k'; len]);
            let mut bigger = vec![b'k'; len];
            bigger[len - 1] = b'l';
            keys.push(bigger);
        }
        for a in &keys {
            let ka = KeyBytes::from(&a[..]);
            assert_eq!(&*ka, &a[..]);
            assert_eq!(matches!(ka, KeyBytes::Inline { .. }), a.len() <= INLINE_KEY_BYTES);
            for b in &keys {
                let kb = KeyBytes::from(&b[..]);
                assert_eq!(ka.cmp(&kb), a.cmp(b), "{a:?} vs {b:?}");
                assert_eq!(ka == kb, a == b);
            }
        }
    }

    /// The entry is the index's largest cost per version (DESIGN §4 states the measured total).
    #[test]
    fn an_entry_is_66_bytes_and_records_past_4_gib_have_no_place() {
        assert_eq!(size_of::<IndexEntry>(), 68);
        assert_eq!(narrow_place(u64::from(u32::MAX), u64::from(u32::MAX)), Some((u32::MAX, u32::MAX)));
        assert_eq!(narrow_place(1 << 32, 0), None);
        assert_eq!(narrow_place(0, 1 << 32), None);
        let e = entry(1, EntryKind::Inline).placed(7, (4096, 100));
        assert_eq!((e.at(), e.record_len()), ((7, 4096), 100));
        let mut ix = Index::default();
        ix.upsert(1, b"k", 10, e, &[]);
        assert!(
            !ix.relocate(1, b"k", 10, (7, 4096), (8, 1 << 32, 100), &[]),
            "no entry names a place past 4 GiB"
        );
        assert!(ix.relocate(1, b"k", 10, (7, 4096), (8, 8192, 100), &[]));
        assert_eq!(
            (ix.location(1, b"k", 10), ix.segment_live(7), ix.segment_live(8)),
            (Some((8, 8192)), 0, 100)
        );
    }

    fn entry(v: u8, kind: EntryKind) -> IndexEntry {
        IndexEntry {
            segment_id: 1,
            offset: 0,
            record_len: 0,
            version_id: if v == 0 { VersionId::NULL } else { VersionId([v; 16]) },
            kind,
            size: 0,
            mtime_ms: 0,
            etag: [0; 16],
            class: StorageClass::Standard,
            parts: 0,
        }
    }

    #[test]
    fn versions_sort_newest_first_and_null_is_replaced() {
        let mut ix = Index::default();
        ix.upsert(1, b"k", 10, entry(0, EntryKind::Inline), &[]);
        ix.upsert(1, b"k", 11, entry(5, EntryKind::Inline), &[]);
        ix.upsert(1, b"k", 12, entry(0, EntryKind::Inline), &[]);
        let seqs: Vec<u64> = ix.versions(1, b"k").map(|(s, _)| s).collect();
        assert_eq!(seqs, vec![12, 11]);
        assert_eq!(ix.latest(1, b"k").unwrap().0, 12);
        assert_eq!(ix.remove_version(1, b"k", VersionId([5; 16]), 13), 1);
        assert!(ix.version(1, b"k", VersionId([5; 16])).is_none());
    }

    #[test]
    fn keys_sort_bytewise_and_buckets_are_separate() {
        let mut ix = Index::default();
        for (i, k) in ["b", "a", "ab", "\u{e9}", "B"].iter().enumerate() {
            ix.upsert(2, k.as_bytes(), i as u64 + 1, entry(0, EntryKind::Inline), &[]);
        }
        ix.upsert(3, b"a", 99, entry(0, EntryKind::Inline), &[]);
        let keys: Vec<&[u8]> = ix.scan_from(2, b"", true).map(|(k, _)| &*k.key).collect();
        assert_eq!(keys, vec![&b"B"[..], b"a", b"ab", b"b", "\u{e9}".as_bytes()]);
        let after: Vec<&[u8]> = ix.scan_from(2, b"a", false).map(|(k, _)| &*k.key).collect();
        assert_eq!(after[0], b"ab");
        assert!(!ix.bucket_is_empty(3));
        assert!(ix.bucket_is_empty(4));
        assert_eq!(ix.len(), 6);
    }
}
