//! The bucket catalog: bucket edits are records (kind `Catalog`) in partition 0's segments, replayed
//! in sequence order at open. Segments stay the only log.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::types::BucketId;

/// One catalog edit, the body of a `Catalog` record (postcard). New variants go at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum CatalogEdit {
    /// A bucket was created.
    BucketCreated { id: u64, name: String, owner: String, region: String, created_ms: u64 },
    /// A bucket was deleted.
    BucketDeleted { id: u64 },
}

/// What the store knows about a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketInfo {
    /// Internal id, never reused.
    pub id: BucketId,
    /// Name.
    pub name: String,
    /// Canonical id of the owning account.
    pub owner: String,
    /// Region the bucket was created in.
    pub region: String,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: u64,
}

/// Buckets by name and id.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    by_name: BTreeMap<String, BucketInfo>,
    name_of: HashMap<u64, String>,
    pub(crate) max_id: u64,
}

impl Catalog {
    pub(crate) fn apply(&mut self, edit: &CatalogEdit) {
        match edit {
            CatalogEdit::BucketCreated { id, name, owner, region, created_ms } => {
                self.max_id = self.max_id.max(*id);
                self.name_of.insert(*id, name.clone());
                self.by_name.insert(
                    name.clone(),
                    BucketInfo {
                        id: BucketId(*id),
                        name: name.clone(),
                        owner: owner.clone(),
                        region: region.clone(),
                        created_ms: *created_ms,
                    },
                );
            }
            CatalogEdit::BucketDeleted { id } => {
                self.max_id = self.max_id.max(*id);
                if let Some(name) = self.name_of.remove(id) {
                    self.by_name.remove(&name);
                }
            }
        }
    }

    pub(crate) fn by_name(&self, name: &str) -> Option<&BucketInfo> {
        self.by_name.get(name)
    }

    pub(crate) fn by_id(&self, id: BucketId) -> Option<&BucketInfo> {
        self.name_of.get(&id.0).and_then(|n| self.by_name.get(n))
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &BucketInfo> {
        self.by_name.values()
    }
}
