//! The resource layer's collections: lazy iterators over ListBuckets, ListObjectsV2 and
//! ListObjectVersions pages, with boto3's `all()`, `filter().prefix(..)`, `page_size(..)`,
//! `limit(..)` and batched `delete()`.

use std::collections::VecDeque;

use super::{Bucket, ObjectSummary, ObjectVersion};
use crate::api::{Client, Response};
use crate::error::Result;
use crate::s3::types::*;

/// The caller's buckets; iterating pages through ListBuckets.
#[derive(Debug, Clone)]
#[must_use]
pub struct BucketsCollection {
    pub(super) client: Client,
    pub(super) page_size: Option<usize>,
}

impl BucketsCollection {
    /// All of them (the collection itself, as in boto3).
    pub fn all(self) -> Self {
        self
    }

    /// Buckets per ListBuckets call.
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = Some(n);
        self
    }
}

impl IntoIterator for BucketsCollection {
    type Item = Result<Bucket>;
    type IntoIter = Box<dyn Iterator<Item = Result<Bucket>>>;

    fn into_iter(self) -> Self::IntoIter {
        let (client, page_size) = (self.client, self.page_size);
        pages(None, move |token: Option<String>, _| {
            let mut req = client.list_buckets();
            if let Some(n) = page_size {
                req = req.max_buckets(n);
            }
            if let Some(t) = token {
                req = req.continuation_token(t);
            }
            let out = req.send()?.into_output();
            let buckets = out.buckets.iter().map(|b| Bucket::new(client.clone(), &b.name)).collect();
            Ok((buckets, out.continuation_token))
        })
    }
}

/// Page size of the next request: the collection's, and no more than what the limit leaves.
fn page_of(page_size: Option<i32>, remaining: Option<usize>) -> Option<i32> {
    page_size.into_iter().chain(remaining.map(|r| r.min(1000) as i32)).min()
}

/// Yields items page by page, up to `limit`: `fetch(cursor, remaining)` returns one page and the
/// cursor of the next (`None` after the last page).
fn pages<T: 'static, C: 'static>(
    limit: Option<usize>,
    mut fetch: impl FnMut(Option<C>, Option<usize>) -> Result<(Vec<T>, Option<C>)> + 'static,
) -> Box<dyn Iterator<Item = Result<T>>> {
    let mut buf: VecDeque<T> = VecDeque::new();
    let mut cursor: Option<C> = None;
    let (mut done, mut yielded) = (false, 0usize);
    Box::new(std::iter::from_fn(move || {
        loop {
            if limit.is_some_and(|l| yielded >= l) {
                return None;
            }
            if let Some(item) = buf.pop_front() {
                yielded += 1;
                return Some(Ok(item));
            }
            if done {
                return None;
            }
            match fetch(cursor.take(), limit.map(|l| l - yielded)) {
                Ok((items, next)) => {
                    buf.extend(items);
                    done = next.is_none();
                    cursor = next;
                }
                Err(e) => {
                    done = true;
                    return Some(Err(e));
                }
            }
        }
    }))
}

/// A bucket's objects; iterating pages through ListObjectsV2.
#[derive(Debug, Clone)]
#[must_use]
pub struct ObjectsCollection {
    pub(super) client: Client,
    pub(super) bucket: String,
    pub(super) prefix: Option<String>,
    pub(super) page_size: Option<i32>,
    pub(super) limit: Option<usize>,
}

impl ObjectsCollection {
    /// All objects.
    pub fn all(self) -> Self {
        self
    }

    /// Starts a filter (chain `.prefix(..)`).
    pub fn filter(self) -> Self {
        self
    }

    /// Only keys starting with `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Keys per ListObjectsV2 call (1..=1000).
    pub fn page_size(mut self, n: i32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// At most `n` objects in all.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Deletes every object of the collection with DeleteObjects, in batches of at most 1000 keys.
    /// Returns each batch's output (errors of single keys are in them).
    ///
    /// # Errors
    /// The listing's or DeleteObjects' errors.
    pub fn delete(self) -> Result<Vec<Response<DeleteObjectsOutput>>> {
        let client = self.client.clone();
        let bucket = self.bucket.clone();
        let mut outputs = Vec::new();
        let mut batch = Vec::new();
        for summary in self {
            batch.push(ObjectIdentifier { key: summary?.key, ..Default::default() });
            if batch.len() == 1000 {
                outputs.push(
                    client
                        .delete_objects()
                        .bucket(bucket.clone())
                        .objects(std::mem::take(&mut batch))
                        .send()?,
                );
            }
        }
        if !batch.is_empty() {
            outputs.push(client.delete_objects().bucket(bucket).objects(batch).send()?);
        }
        Ok(outputs)
    }
}

impl IntoIterator for ObjectsCollection {
    type Item = Result<ObjectSummary>;
    type IntoIter = Box<dyn Iterator<Item = Result<ObjectSummary>>>;

    fn into_iter(self) -> Self::IntoIter {
        let Self { client, bucket, prefix, page_size, limit } = self;
        pages(limit, move |token: Option<String>, remaining| {
            let mut req = client.list_objects_v2().bucket(bucket.clone());
            if let Some(p) = &prefix {
                req = req.prefix(p.clone());
            }
            if let Some(n) = page_of(page_size, remaining) {
                req = req.max_keys(n);
            }
            if let Some(t) = token {
                req = req.continuation_token(t);
            }
            let out = req.send()?.into_output();
            let summaries = out
                .contents
                .into_iter()
                .map(|o| ObjectSummary {
                    client: client.clone(),
                    bucket_name: bucket.clone(),
                    key: o.key,
                    size: o.size,
                    e_tag: o.e_tag,
                    last_modified: o.last_modified,
                    storage_class: o.storage_class,
                })
                .collect();
            Ok((summaries, out.next_continuation_token.filter(|_| out.is_truncated)))
        })
    }
}

/// A bucket's versions and delete markers; iterating pages through ListObjectVersions.
#[derive(Debug, Clone)]
#[must_use]
pub struct ObjectVersionsCollection {
    pub(super) client: Client,
    pub(super) bucket: String,
    pub(super) prefix: Option<String>,
    pub(super) page_size: Option<i32>,
    pub(super) limit: Option<usize>,
}

impl ObjectVersionsCollection {
    /// All versions.
    pub fn all(self) -> Self {
        self
    }

    /// Starts a filter (chain `.prefix(..)`).
    pub fn filter(self) -> Self {
        self
    }

    /// Only keys starting with `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Versions per ListObjectVersions call (1..=1000).
    pub fn page_size(mut self, n: i32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// At most `n` versions in all.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Deletes every version and delete marker of the collection permanently, with DeleteObjects in
    /// batches of at most 1000.
    ///
    /// # Errors
    /// The listing's or DeleteObjects' errors.
    pub fn delete(self) -> Result<Vec<Response<DeleteObjectsOutput>>> {
        let client = self.client.clone();
        let bucket = self.bucket.clone();
        // Listed first, deleted after: removing versions while paging would move the markers.
        let all: Vec<ObjectIdentifier> = self
            .into_iter()
            .map(|v| v.map(|v| ObjectIdentifier { key: v.key, version_id: Some(v.version_id), e_tag: None }))
            .collect::<Result<_>>()?;
        all.chunks(1000)
            .map(|batch| client.delete_objects().bucket(bucket.clone()).objects(batch.to_vec()).send())
            .collect()
    }
}

impl IntoIterator for ObjectVersionsCollection {
    type Item = Result<ObjectVersion>;
    type IntoIter = Box<dyn Iterator<Item = Result<ObjectVersion>>>;

    fn into_iter(self) -> Self::IntoIter {
        let Self { client, bucket, prefix, page_size, limit } = self;
        pages(limit, move |markers: Option<(Option<String>, Option<String>)>, remaining| {
            let mut req = client.list_object_versions().bucket(bucket.clone());
            if let Some(p) = &prefix {
                req = req.prefix(p.clone());
            }
            if let Some(n) = page_of(page_size, remaining) {
                req = req.max_keys(n);
            }
            if let Some((key, version)) = markers {
                if let Some(k) = key {
                    req = req.key_marker(k);
                }
                if let Some(v) = version {
                    req = req.version_id_marker(v);
                }
            }
            let out = req.send()?.into_output();
            let versions = out
                .entries
                .into_iter()
                .map(|v| ObjectVersion {
                    client: client.clone(),
                    bucket_name: bucket.clone(),
                    key: v.key,
                    version_id: v.version_id,
                    is_latest: v.is_latest,
                    is_delete_marker: v.is_delete_marker,
                    size: v.size,
                    e_tag: v.e_tag,
                    last_modified: v.last_modified,
                    storage_class: v.storage_class,
                })
                .collect();
            let next = out.is_truncated.then_some((out.next_key_marker, out.next_version_id_marker));
            Ok((versions, next))
        })
    }
}
