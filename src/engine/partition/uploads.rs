//! A partition's multipart uploads in progress: where each one's start record and part records
//! are, so that completion, listing and compaction need no scan. Kept inside the [`Index`] (under
//! its lock) because the records they point at are live bytes of their segments.
//!
//! [`Index`]: super::index::Index

use std::collections::BTreeMap;
use std::ops::Bound;

use super::index::Span;
use crate::types::StorageClass;

/// Where a record is: segment id, offset, record length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordAt {
    pub(crate) segment_id: u64,
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

/// One part as its latest upload left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartEntry {
    /// The part record.
    pub(crate) at: RecordAt,
    /// Its seq: a later upload of the same part number replaces it.
    pub(crate) seq: u64,
    pub(crate) size: u64,
    pub(crate) mtime_ms: u64,
    /// MD5 of the part's bytes.
    pub(crate) etag: [u8; 16],
    /// Where its chunk records lie, summed per segment.
    pub(crate) spans: Box<[Span]>,
}

/// One upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Upload {
    /// The start record.
    pub(crate) at: RecordAt,
    pub(crate) seq: u64,
    pub(crate) initiated_ms: u64,
    pub(crate) class: StorageClass,
    pub(crate) parts: BTreeMap<u32, PartEntry>,
}

/// (bucket id, key bytes, upload id): keys in byte order, one key's uploads in the order they
/// began (an upload id starts with the store's seq counter, big-endian), as ListMultipartUploads
/// returns them.
pub(crate) type UploadKey = (u64, Vec<u8>, [u8; 16]);

/// The uploads in progress of one partition.
#[derive(Debug, Default)]
pub(crate) struct Uploads {
    map: BTreeMap<UploadKey, Upload>,
}

impl Uploads {
    pub(crate) fn get(&self, bucket: u64, key: &[u8], upload: [u8; 16]) -> Option<&Upload> {
        self.map.get(&(bucket, key.to_vec(), upload))
    }

    pub(crate) fn get_mut(&mut self, bucket: u64, key: &[u8], upload: [u8; 16]) -> Option<&mut Upload> {
        self.map.get_mut(&(bucket, key.to_vec(), upload))
    }

    pub(crate) fn insert(&mut self, k: UploadKey, u: Upload) -> Option<Upload> {
        self.map.insert(k, u)
    }

    pub(crate) fn remove(&mut self, bucket: u64, key: &[u8], upload: [u8; 16]) -> Option<Upload> {
        self.map.remove(&(bucket, key.to_vec(), upload))
    }

    /// Every upload, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&UploadKey, &Upload)> + '_ {
        self.map.iter()
    }

    /// A bucket's uploads from `lower` on, in order.
    pub(crate) fn range<'a>(
        &'a self,
        bucket: u64,
        lower: Bound<UploadKey>,
    ) -> impl Iterator<Item = (&'a UploadKey, &'a Upload)> + 'a {
        self.map.range((lower, Bound::Unbounded)).take_while(move |(k, _)| k.0 == bucket)
    }

    /// A bucket's uploads after (`key`, `upload`) (both exclusive markers; an empty key and no
    /// upload = from the start), in order.
    pub(crate) fn after<'a>(
        &'a self,
        bucket: u64,
        key: &[u8],
        upload: Option<[u8; 16]>,
    ) -> impl Iterator<Item = (&'a UploadKey, &'a Upload)> + 'a {
        self.range(bucket, after_marker(bucket, key, upload))
    }

    /// Whether a bucket has an upload in progress.
    pub(crate) fn bucket_has_uploads(&self, bucket: u64) -> bool {
        self.after(bucket, b"", None).next().is_some()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// The bound after a (key, upload id) marker; an empty key and no upload = from the start.
pub(crate) fn after_marker(bucket: u64, key: &[u8], upload: Option<[u8; 16]>) -> Bound<UploadKey> {
    match upload {
        Some(u) => Bound::Excluded((bucket, key.to_vec(), u)),
        None if key.is_empty() => Bound::Included((bucket, Vec::new(), [0; 16])),
        // Every upload of `key` itself is before the marker.
        None => Bound::Excluded((bucket, key.to_vec(), [0xff; 16])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(seq: u64) -> Upload {
        Upload {
            at: RecordAt { segment_id: 1, offset: seq, len: 8 },
            seq,
            initiated_ms: seq,
            class: StorageClass::Standard,
            parts: BTreeMap::new(),
        }
    }

    #[test]
    fn after_orders_by_key_then_upload_and_honours_both_markers() {
        let mut u = Uploads::default();
        for (key, id) in [(&b"b"[..], 2u8), (b"a", 1), (b"b", 1), (b"c", 9)] {
            u.insert((7, key.to_vec(), [id; 16]), upload(u64::from(id)));
        }
        u.insert((8, b"a".to_vec(), [1; 16]), upload(1));
        let keys = |it: Vec<(&UploadKey, &Upload)>| -> Vec<(Vec<u8>, u8)> {
            it.into_iter().map(|(k, _)| (k.1.clone(), k.2[0])).collect()
        };
        assert_eq!(
            keys(u.after(7, b"", None).collect()),
            vec![(b"a".to_vec(), 1), (b"b".to_vec(), 1), (b"b".to_vec(), 2), (b"c".to_vec(), 9)]
        );
        assert_eq!(keys(u.after(7, b"b", None).collect()), vec![(b"c".to_vec(), 9)]);
        assert_eq!(
            keys(u.after(7, b"b", Some([1; 16])).collect()),
            vec![(b"b".to_vec(), 2), (b"c".to_vec(), 9)]
        );
        assert!(u.bucket_has_uploads(8));
        assert!(!u.bucket_has_uploads(9));
        assert_eq!(u.len(), 5);
    }
}
