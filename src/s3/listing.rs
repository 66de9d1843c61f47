//! Listing operations: ListObjectsV2, ListObjects (v1) and ListObjectVersions, over the engine's
//! k-way merge (`crate::listing`).

use super::rules;
use super::types::*;
use super::{S3, TOKEN_KEY, TOKEN_PREFIX, decode_token, encode_token, time_of, version_string};
use crate::catalog::BucketInfo;
use crate::error::{Error, Result};
use crate::limits::LIST_KEYS_MAX;
use crate::listing::{ListItem, ListQuery, ListStart};
use crate::store::etag_string;
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

impl S3 {
    fn owner_of(&self, b: &BucketInfo) -> Owner {
        let a = self.store.account(&b.owner);
        Owner { id: b.owner.clone(), display_name: a.map(|a| a.display_name).unwrap_or_default() }
    }

    fn object_of(
        &self,
        key: Vec<u8>,
        e: &crate::partition::index::IndexEntry,
        owner: Option<&Owner>,
        url: bool,
    ) -> Object {
        let key = key_string(key);
        Object {
            key: if url { rules::url_encode(&key) } else { key },
            last_modified: time_of(e.mtime_ms),
            e_tag: etag_string(&e.etag),
            size: e.size,
            storage_class: e.class,
            owner: owner.cloned(),
        }
    }

    /// ListObjectsV2.
    ///
    /// # Errors
    /// `NoSuchBucket`; `InvalidArgument` for a negative `max_keys` or a forged or foreign token.
    pub fn list_objects_v2(&self, req: ListObjectsV2Request) -> Result<ListObjectsV2Output> {
        let b = self.bucket(&req.bucket)?;
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
            prefix: enc(req.prefix),
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
    ) -> (Vec<Object>, Vec<CommonPrefix>) {
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
    pub fn list_objects(&self, req: ListObjectsRequest) -> Result<ListObjectsOutput> {
        let b = self.bucket(&req.bucket)?;
        let max = max_keys(req.max_keys)?;
        let prefix = req.prefix.clone().unwrap_or_default();
        let start = match &req.marker {
            // A marker that is a common prefix skips the whole prefix, as S3 does.
            Some(m)
                if req
                    .delimiter
                    .as_deref()
                    .is_some_and(|d| !d.is_empty() && m.ends_with(d) && m.starts_with(&prefix)) =>
            {
                ListStart::AfterPrefix(m.as_bytes())
            }
            Some(m) => ListStart::AfterKey(m.as_bytes()),
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
        Ok(ListObjectsOutput {
            name: b.name,
            prefix: req.prefix,
            delimiter: req.delimiter,
            marker: req.marker,
            next_marker,
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
    pub fn list_object_versions(&self, req: ListObjectVersionsRequest) -> Result<ListObjectVersionsOutput> {
        let b = self.bucket(&req.bucket)?;
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
            (Some(k), None) => ListStart::AfterKey(k.as_bytes()),
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
                    let marker = entry.kind == crate::partition::index::EntryKind::DeleteMarker;
                    entries.push(ObjectVersion {
                        key: if url { rules::url_encode(&key) } else { key },
                        version_id: version_string(entry.version_id),
                        is_latest: *is_latest,
                        last_modified: time_of(entry.mtime_ms),
                        e_tag: if marker { String::new() } else { etag_string(&entry.etag) },
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
        Ok(ListObjectVersionsOutput {
            name: b.name,
            prefix: req.prefix,
            delimiter: req.delimiter,
            max_keys: max as i32,
            key_marker: req.key_marker,
            version_id_marker: req.version_id_marker,
            next_key_marker,
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
