//! Listing operations: ListObjectsV2, ListObjects (v1) and ListObjectVersions, over the engine's
//! k-way merge (`crate::engine::listing`).

use super::access::BucketAction;
use super::rules;
use super::types::*;
use super::{S3, TOKEN_KEY, TOKEN_PREFIX, decode_token, encode_token, time_of, version_string};
use crate::engine::catalog::BucketInfo;
use crate::engine::listing::{ListItem, ListQuery, ListStart};
use crate::engine::options::entry_etag;
use crate::error::{Error, Result};
use crate::limits::LIST_KEYS_MAX;
use crate::types::VersionId;

fn max_keys(v: Option<i32>) -> Result<usize> {
    match v {
        None => Ok(LIST_KEYS_MAX),
        Some(n) if n < 0 => Err(Error::InvalidArgument {
            name: "max-keys",
            value: n.to_string(),
            reason: "max-keys must not be negative".into(),
        }),
        Some(n) => Ok((n as usize).min(LIST_KEYS_MAX)),
    }
}

/// Whether `marker` is a common prefix of a listing of `prefix` with `delimiter`: the prefix, then
/// the rest of a key up to and including its first delimiter, and nothing after. A marker merely
/// ending in the delimiter is not enough: with prefix `a/` the key `a/` is listed as a key, and
/// `a/b/` under no prefix lies inside the common prefix `a/`.
fn is_common_prefix(marker: &str, prefix: &str, delimiter: Option<&str>) -> bool {
    let Some(d) = delimiter.filter(|d| !d.is_empty()) else { return false };
    let Some(rest) = marker.strip_prefix(prefix) else { return false };
    rest.find(d).is_some_and(|pos| pos + d.len() == rest.len())
}

/// Where a listing resumes after a key marker (ListObjects' `marker`, ListObjectVersions'
/// `key-marker` without a version-id marker). A marker that is a common prefix skips every key under
/// it, as S3 does: the page before ended on that prefix, and resuming after the key alone would list
/// the prefix again, forever at one key per page.
fn key_marker_start<'a>(marker: &'a str, prefix: &str, delimiter: Option<&str>) -> ListStart<'a> {
    if is_common_prefix(marker, prefix, delimiter) {
        ListStart::AfterPrefix(marker.as_bytes())
    } else {
        ListStart::AfterKey(marker.as_bytes())
    }
}

impl S3 {
    pub(super) fn owner_of(&self, b: &BucketInfo) -> Owner {
        self.owner_by_id(&b.owner)
    }

    fn object_of(
        &self,
        key: Vec<u8>,
        e: &crate::engine::partition::index::IndexEntry,
        owner: Option<&Owner>,
        url: bool,
    ) -> ListedObject {
        let key = key_string(key);
        ListedObject {
            key: if url { rules::url_encode(&key) } else { key },
            last_modified: time_of(e.mtime_ms),
            e_tag: entry_etag(e),
            size: e.size,
            storage_class: e.class,
            owner: owner.cloned(),
        }
    }

    /// ListObjectsV2.
    ///
    /// # Errors
    /// `NoSuchBucket`; `InvalidArgument` for a negative `max_keys` or a forged or foreign token.
    pub fn list_objects_v2(&self, mut req: ListObjectsV2Request) -> Result<ListObjectsV2Output> {
        // An empty marker is no marker: listings always send them back, and callers echo them.
        req.start_after = req.start_after.filter(|s| !s.is_empty());
        let b = self.bucket_for(&req.bucket, BucketAction::List)?;
        let max = max_keys(req.max_keys)?;
        let token =
            req.continuation_token.as_deref().map(|t| decode_token(&self.secret(), b.id, t)).transpose()?;
        let prefix = req.prefix.clone().unwrap_or_default();
        let start = match (&token, &req.start_after) {
            (Some((TOKEN_PREFIX, p)), _) => ListStart::AfterPrefix(p),
            (Some((_, k)), _) => ListStart::AfterKey(k),
            (None, Some(s)) => ListStart::AfterKey(s.as_bytes()),
            (None, None) => ListStart::Beginning,
        };
        let q = ListQuery {
            prefix: prefix.as_bytes(),
            delimiter: req.delimiter.as_deref().map(str::as_bytes),
            start,
            max,
            versions: false,
        };
        let (items, truncated) =
            if max == 0 { (Vec::new(), false) } else { self.store.list_items(b.id, &q)? };
        let url = req.encoding_type == Some(EncodingType::Url);
        let owner = req.fetch_owner.then(|| self.owner_of(&b));
        let next_continuation_token = truncated.then(|| match items.last() {
            Some(ListItem::Prefix(p)) => encode_token(&self.secret(), b.id, TOKEN_PREFIX, p),
            Some(ListItem::Entry { key, .. }) => encode_token(&self.secret(), b.id, TOKEN_KEY, key),
            None => unreachable!("a truncated page has items"),
        });
        let (contents, common_prefixes) = self.split_items(items, owner.as_ref(), url);
        let enc = |s: Option<String>| if url { s.map(|s| rules::url_encode(&s)) } else { s };
        Ok(ListObjectsV2Output {
            name: b.name,
            // Always present in S3's answer (`<Prefix/>` when none was given).
            prefix: enc(Some(req.prefix.unwrap_or_default())),
            delimiter: enc(req.delimiter),
            max_keys: max as i32,
            key_count: (contents.len() + common_prefixes.len()) as i32,
            contents,
            common_prefixes,
            is_truncated: truncated,
            continuation_token: req.continuation_token,
            next_continuation_token,
            start_after: enc(req.start_after),
            encoding_type: req.encoding_type,
        })
    }

    fn split_items(
        &self,
        items: Vec<ListItem>,
        owner: Option<&Owner>,
        url: bool,
    ) -> (Vec<ListedObject>, Vec<CommonPrefix>) {
        let mut contents = Vec::with_capacity(items.len());
        let mut prefixes = Vec::new();
        for item in items {
            match item {
                ListItem::Entry { key, entry, .. } => {
                    contents.push(self.object_of(key, &entry, owner, url));
                }
                ListItem::Prefix(p) => {
                    let p = key_string(p);
                    prefixes.push(CommonPrefix { prefix: if url { rules::url_encode(&p) } else { p } });
                }
            }
        }
        (contents, prefixes)
    }

    /// ListObjects (v1).
    ///
    /// # Errors
    /// `NoSuchBucket`; `InvalidArgument` for a negative `max_keys`.
    pub fn list_objects(&self, mut req: ListObjectsRequest) -> Result<ListObjectsOutput> {
        req.marker = req.marker.filter(|s| !s.is_empty());
        let b = self.bucket_for(&req.bucket, BucketAction::List)?;
        let max = max_keys(req.max_keys)?;
        let prefix = req.prefix.clone().unwrap_or_default();
        let start = match &req.marker {
            Some(m) => key_marker_start(m, &prefix, req.delimiter.as_deref()),
            None => ListStart::Beginning,
        };
        let q = ListQuery {
            prefix: prefix.as_bytes(),
            delimiter: req.delimiter.as_deref().map(str::as_bytes),
            start,
            max,
            versions: false,
        };
        let (items, truncated) =
            if max == 0 { (Vec::new(), false) } else { self.store.list_items(b.id, &q)? };
        let url = req.encoding_type == Some(EncodingType::Url);
        let owner = self.owner_of(&b);
        let next_marker = (truncated && req.delimiter.is_some()).then(|| match items.last() {
            Some(ListItem::Prefix(p)) | Some(ListItem::Entry { key: p, .. }) => {
                String::from_utf8_lossy(p).into_owned()
            }
            None => String::new(),
        });
        let (contents, common_prefixes) = self.split_items(items, Some(&owner), url);
        let enc = |s: String| if url { rules::url_encode(&s) } else { s };
        Ok(ListObjectsOutput {
            name: b.name,
            // S3 always sends Prefix and Marker (empty when not given) and, with encoding-type=url,
            // encodes Delimiter, Marker, Prefix, NextMarker and Key (ListObjects, "EncodingType").
            prefix: Some(enc(prefix)),
            delimiter: req.delimiter.map(enc),
            marker: Some(enc(req.marker.unwrap_or_default())),
            next_marker: next_marker.map(enc),
            max_keys: max as i32,
            contents,
            common_prefixes,
            is_truncated: truncated,
            encoding_type: req.encoding_type,
        })
    }

    /// ListObjectVersions: keys in byte order, each key's versions newest first, delete markers in
    /// place.
    ///
    /// # Errors
    /// `NoSuchBucket`; `InvalidArgument` for a version-id marker without a key marker, a bad version
    /// id, or a version-id marker that names no version of the key.
    pub fn list_object_versions(
        &self,
        mut req: ListObjectVersionsRequest,
    ) -> Result<ListObjectVersionsOutput> {
        req.key_marker = req.key_marker.filter(|s| !s.is_empty());
        req.version_id_marker = req.version_id_marker.filter(|s| !s.is_empty());
        let b = self.bucket_for(&req.bucket, BucketAction::List)?;
        let max = max_keys(req.max_keys)?;
        let prefix = req.prefix.clone().unwrap_or_default();
        let marker_seq = match (&req.key_marker, &req.version_id_marker) {
            (None, Some(v)) => {
                return Err(Error::InvalidArgument {
                    name: "version-id-marker",
                    value: v.clone(),
                    reason: "a version-id marker cannot be specified without a key marker".into(),
                });
            }
            (Some(k), Some(v)) => Some(self.store.version_seq(b.id, k, VersionId::parse(v)?)?),
            _ => None,
        };
        let start = match (&req.key_marker, marker_seq) {
            (Some(k), Some(seq)) => ListStart::AfterVersion(k.as_bytes(), seq),
            // A key marker alone resumes after that key, or after a whole common prefix: a page that
            // ends on one answers NextKeyMarker = the prefix and no NextVersionIdMarker.
            (Some(k), None) => key_marker_start(k, &prefix, req.delimiter.as_deref()),
            (None, _) => ListStart::Beginning,
        };
        let q = ListQuery {
            prefix: prefix.as_bytes(),
            delimiter: req.delimiter.as_deref().map(str::as_bytes),
            start,
            max,
            versions: true,
        };
        let (items, truncated) =
            if max == 0 { (Vec::new(), false) } else { self.store.list_items(b.id, &q)? };
        let url = req.encoding_type == Some(EncodingType::Url);
        let owner = self.owner_of(&b);
        let mut entries = Vec::new();
        let mut common_prefixes = Vec::new();
        for item in &items {
            match item {
                ListItem::Entry { key, entry, is_latest, .. } => {
                    let key = String::from_utf8_lossy(key).into_owned();
                    let marker = entry.kind == crate::engine::partition::index::EntryKind::DeleteMarker;
                    entries.push(ListedVersion {
                        key: if url { rules::url_encode(&key) } else { key },
                        version_id: version_string(entry.version_id),
                        is_latest: *is_latest,
                        last_modified: time_of(entry.mtime_ms),
                        e_tag: entry_etag(entry),
                        size: entry.size,
                        storage_class: entry.class,
                        is_delete_marker: marker,
                        owner: Some(owner.clone()),
                    });
                }
                ListItem::Prefix(p) => {
                    let p = String::from_utf8_lossy(p).into_owned();
                    common_prefixes
                        .push(CommonPrefix { prefix: if url { rules::url_encode(&p) } else { p } });
                }
            }
        }
        let (next_key_marker, next_version_id_marker) = match (truncated, items.last()) {
            (true, Some(ListItem::Entry { key, entry, .. })) => {
                (Some(String::from_utf8_lossy(key).into_owned()), Some(version_string(entry.version_id)))
            }
            (true, Some(ListItem::Prefix(p))) => (Some(String::from_utf8_lossy(p).into_owned()), None),
            _ => (None, None),
        };
        let enc = |s: String| if url { rules::url_encode(&s) } else { s };
        Ok(ListObjectVersionsOutput {
            name: b.name,
            // S3 always sends Prefix, KeyMarker and VersionIdMarker (empty when not given) and, with
            // encoding-type=url, encodes KeyMarker, NextKeyMarker, Prefix, Key and Delimiter
            // (ListObjectVersions, "EncodingType").
            prefix: Some(enc(req.prefix.unwrap_or_default())),
            delimiter: req.delimiter.map(enc),
            max_keys: max as i32,
            key_marker: Some(enc(req.key_marker.unwrap_or_default())),
            version_id_marker: Some(req.version_id_marker.unwrap_or_default()),
            next_key_marker: next_key_marker.map(enc),
            next_version_id_marker,
            versions: entries.iter().filter(|e| !e.is_delete_marker).cloned().collect(),
            delete_markers: entries.iter().filter(|e| e.is_delete_marker).cloned().collect(),
            entries,
            common_prefixes,
            is_truncated: truncated,
            encoding_type: req.encoding_type,
        })
    }
}

/// A key from the index as a `String`, without copying (keys are UTF-8 by construction).
fn key_string(key: Vec<u8>) -> String {
    String::from_utf8(key).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_whole_first_level_prefix_is_a_common_prefix_marker() {
        assert!(is_common_prefix("a/", "", Some("/")));
        assert!(is_common_prefix("a/b/", "a/", Some("/")));
        assert!(is_common_prefix("ab/", "a", Some("/")));
        assert!(!is_common_prefix("x/bc/b", "", Some("/b")), "the first `/b` ends at 3");
        assert!(is_common_prefix("x/b", "", Some("/b")));
        assert!(!is_common_prefix("a/", "a/", Some("/")), "the key equal to the prefix");
        assert!(!is_common_prefix("a/b/", "", Some("/")), "inside the common prefix a/");
        assert!(!is_common_prefix("b/", "a/", Some("/")), "outside the prefix");
        assert!(!is_common_prefix("a/", "", None));
        assert!(!is_common_prefix("a/", "", Some("")));
        assert!(!is_common_prefix("a", "", Some("/")));
    }
}
