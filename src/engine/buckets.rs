//! Bucket catalog operations on the store: creating, deleting, looking up and listing buckets,
//! versioning and default-encryption settings, and writing catalog edits (records in partition 0). Also the
//! [`BucketWrite`] guard that every object write holds from its bucket check to its commit, so a
//! bucket cannot be deleted under a write in flight; and the two values listings resume with (the
//! continuation-token secret, a version's seq).

use crate::engine::catalog::{
    BucketEncryption, BucketInfo, CatalogEdit, ObjectOwnership, PublicAccessBlockConfiguration,
    VersioningState,
};
use crate::engine::format::record::{RecordKind, RecordParts, encode_record};
use crate::engine::options::Encryption;
use crate::engine::partition::{Effect, WriteRecord};
use crate::engine::store::{Inner, Store};
use crate::error::{Error, Result};
use crate::limits::BUCKET_NAME_BYTES_MAX;
use crate::s3::acl::StoredAcl;
use crate::types::{BucketId, StorageClass, VersionId};

/// An object write in flight into a bucket, from its bucket check to its commit (or failure).
///
/// No lock is held across the write: a put streams its body (up to 5 GiB, from a client of any
/// speed) with nothing that a catalog writer would queue behind. Instead the bucket's in-flight count
/// keeps `delete_bucket` from removing the bucket under it: the count is raised under the catalog's
/// read guard and `delete_bucket` reads it under the write guard, so either the write sees no bucket
/// or the delete sees the write.
pub(super) struct BucketWrite<'a> {
    inner: &'a Inner,
    bucket: u64,
    /// The bucket's name, for errors (taken with the check, so errors need no second lock).
    pub(super) name: String,
    /// The encryption a write that asks for none gets (the bucket's default, else the store's),
    /// taken with the check.
    pub(super) default_encryption: Option<Encryption>,
}

impl Drop for BucketWrite<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.inner.writes_in_flight.lock();
        if let Some(n) = in_flight.get_mut(&self.bucket) {
            *n -= 1;
            if *n == 0 {
                in_flight.remove(&self.bucket);
            }
        }
    }
}

/// The access settings a bucket is created with.
#[derive(Debug, Clone)]
pub(crate) struct NewBucketSettings {
    pub(crate) ownership: Option<ObjectOwnership>,
    pub(crate) public_access_block: Option<PublicAccessBlockConfiguration>,
    pub(crate) acl: Option<StoredAcl>,
}

impl Store {
    /// Creates a bucket owned by the store's owner and returns its new internal id. (The S3
    /// operation, with naming rules and regions, is [`crate::s3::S3::create_bucket`].)
    ///
    /// # Errors
    /// `InvalidArgument` for an empty or over-long name, `BucketAlreadyExists` if the name is taken.
    pub fn create_bucket(&self, name: &str) -> Result<BucketId> {
        let owner = self.owner().canonical_id;
        let settings = self.new_bucket_settings(None, None);
        self.create_bucket_owned(name, &owner, &self.inner.region.clone(), None, settings)
    }

    /// What a new bucket gets under the store's profile: Object Ownership `ownership` or the
    /// profile's default (`BucketOwnerEnforced` since 2023-04-27, none before), with all of Block
    /// Public Access where the profile gives it, and the ACL asked for.
    pub(crate) fn new_bucket_settings(
        &self,
        ownership: Option<ObjectOwnership>,
        acl: Option<StoredAcl>,
    ) -> NewBucketSettings {
        let profile = self.inner.profile;
        let enforced = profile.new_buckets_enforce_ownership();
        NewBucketSettings {
            ownership: ownership.or(enforced.then_some(ObjectOwnership::BucketOwnerEnforced)),
            public_access_block: enforced.then(PublicAccessBlockConfiguration::all),
            acl,
        }
    }

    /// Creates a bucket for `owner` in `region` (the S3 layer has checked name and region) with
    /// `settings`, in one catalog record. With `quota`, fails with `TooManyBuckets` when `owner`
    /// already has that many (checked under the catalog lock, so concurrent creations cannot pass
    /// it together).
    pub(crate) fn create_bucket_owned(
        &self,
        name: &str,
        owner: &str,
        region: &str,
        quota: Option<usize>,
        settings: NewBucketSettings,
    ) -> Result<BucketId> {
        self.inner.ctx.check()?;
        if name.is_empty() || name.len() > BUCKET_NAME_BYTES_MAX {
            return Err(Error::InvalidArgument {
                name: "bucket",
                value: name.into(),
                reason: "bucket names are 1 to 63 bytes".into(),
            });
        }
        let mut catalog = self.inner.catalog.write();
        if catalog.by_name(name).is_some() {
            return Err(Error::BucketAlreadyExists { bucket: name.into() });
        }
        if let Some(max) = quota
            && catalog.all().filter(|b| b.owner == owner).count() >= max
        {
            return Err(Error::TooManyBuckets { max });
        }
        let id = catalog.max_id + 1;
        let edit = CatalogEdit::BucketCreatedWith {
            id,
            name: name.into(),
            owner: owner.into(),
            region: region.into(),
            created_ms: self.now_ms(),
            profile: self.inner.profile.ymd(),
            ownership: settings.ownership,
            public_access_block: settings.public_access_block,
            acl: settings.acl,
        };
        self.write_catalog(id, name, &edit)?;
        catalog.apply(&edit);
        Ok(BucketId(id))
    }

    /// Deletes an empty bucket.
    ///
    /// # Errors
    /// `NoSuchBucket`, or `BucketNotEmpty` while any version or delete marker remains.
    pub fn delete_bucket(&self, name: &str) -> Result<()> {
        self.delete_bucket_named(name, None)
    }

    /// Deletes the empty bucket `name` if it is still the bucket `expected` (when given): a caller
    /// that checked who owns a bucket by name must not delete another bucket created under that name
    /// since (the check and the delete are one step under the catalog lock).
    pub(crate) fn delete_bucket_named(&self, name: &str, expected: Option<BucketId>) -> Result<()> {
        self.inner.ctx.check()?;
        let mut catalog = self.inner.catalog.write();
        let id = catalog
            .by_name(name)
            .filter(|b| expected.is_none_or(|e| b.id == e))
            .ok_or_else(|| Error::NoSuchBucket { bucket: name.into() })?
            .id;
        if self.inner.writes_in_flight.lock().contains_key(&id.0) {
            return Err(Error::OperationAborted {
                bucket: name.into(),
                reason: "an object write into the bucket is in progress".into(),
            });
        }
        if !self.inner.partitions.iter().all(|p| p.index.read().bucket_is_empty(id.0)) {
            return Err(Error::BucketNotEmpty { bucket: name.into() });
        }
        let edit = CatalogEdit::BucketDeleted { id: id.0 };
        self.write_catalog(id.0, name, &edit)?;
        catalog.apply(&edit);
        Ok(())
    }

    /// Looks a bucket up by name.
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub fn bucket(&self, name: &str) -> Result<BucketInfo> {
        self.inner.ctx.check()?;
        self.inner
            .catalog
            .read()
            .by_name(name)
            .cloned()
            .ok_or_else(|| Error::NoSuchBucket { bucket: name.into() })
    }

    /// Every bucket, by name.
    ///
    /// # Errors
    /// `PreviousIo` once poisoned.
    pub fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        self.inner.ctx.check()?;
        Ok(self.inner.catalog.read().all().cloned().collect())
    }

    /// The secret that keys continuation-token MACs: the random store id, never shown.
    pub(crate) fn token_secret(&self) -> [u8; 16] {
        self.inner.ctx.store_uuid
    }

    /// The seq of a version of a key (to resume a version listing after it).
    pub(crate) fn version_seq(&self, bucket: BucketId, key: &str, version: VersionId) -> Result<u64> {
        let part = self.partition(bucket.0, key.as_bytes());
        let ix = part.index.read();
        ix.version(bucket.0, key.as_bytes(), version).map(|(s, _)| s).ok_or_else(|| Error::InvalidArgument {
            name: "version-id-marker",
            value: version.to_string(),
            reason: format!("no version {version} of key {key:?}"),
        })
    }

    /// Sets a bucket's versioning state (`Unversioned` is refused: a bucket never returns to it).
    pub(crate) fn set_versioning(&self, bucket: BucketId, state: VersioningState) -> Result<()> {
        self.edit_bucket(bucket, |_| Ok(CatalogEdit::BucketVersioning { id: bucket.0, state }))
    }

    /// Writes the catalog edit `make` builds from the bucket's current settings (under the catalog's
    /// write lock, so the check `make` does and the edit are one step), and applies it.
    ///
    /// # Errors
    /// `NoSuchBucket`; what `make` returns; `Io`/`PreviousIo`.
    pub(crate) fn edit_bucket(
        &self,
        bucket: BucketId,
        make: impl FnOnce(&BucketInfo) -> Result<CatalogEdit>,
    ) -> Result<()> {
        self.inner.ctx.check()?;
        let mut catalog = self.inner.catalog.write();
        let info =
            catalog.by_id(bucket).ok_or_else(|| Error::NoSuchBucket { bucket: format!("#{}", bucket.0) })?;
        let name = info.name.clone();
        let edit = make(info)?;
        self.write_catalog(bucket.0, &name, &edit)?;
        catalog.apply(&edit);
        Ok(())
    }

    /// Sets or deletes the store-wide Block Public Access.
    pub(crate) fn set_store_public_access_block(
        &self,
        config: Option<PublicAccessBlockConfiguration>,
    ) -> Result<()> {
        self.inner.ctx.check()?;
        let mut catalog = self.inner.catalog.write();
        let edit = CatalogEdit::StorePublicAccessBlock { config };
        self.write_catalog(0, "", &edit)?;
        catalog.apply(&edit);
        Ok(())
    }

    /// The store-wide Block Public Access, if set.
    pub(crate) fn store_public_access_block(&self) -> Option<PublicAccessBlockConfiguration> {
        self.inner.catalog.read().public_access_block
    }

    /// Replaces the ACL of the version of `key` written by `seq` (it was checked to exist; a
    /// version removed meanwhile leaves an edit nothing reads).
    pub(crate) fn set_object_acl(&self, bucket: BucketId, key: &str, seq: u64, acl: StoredAcl) -> Result<()> {
        self.edit_bucket(bucket, |_| {
            Ok(CatalogEdit::ObjectAcl { bucket: bucket.0, key: key.to_owned(), seq, acl })
        })
    }

    /// The ACL put on the version of `key` written by `seq` since it was written, if any.
    pub(crate) fn object_acl_override(&self, bucket: BucketId, key: &str, seq: u64) -> Option<StoredAcl> {
        self.inner.catalog.read().object_acl(bucket.0, key, seq).cloned()
    }

    pub(super) fn write_catalog(&self, id: u64, name: &str, edit: &CatalogEdit) -> Result<()> {
        let body = postcard::to_allocvec(edit).expect("catalog edits always encode");
        let bytes = encode_record(&RecordParts {
            kind: RecordKind::Catalog,
            flags: 0,
            seq: 0,
            bucket_id: id,
            version_id: [0; 16],
            chunk_index: 0,
            key: name.as_bytes(),
            meta: &[],
            body: &body,
        });
        let durability = crate::engine::partition::catalog_durability(self.durability(None));
        self.inner.partitions[0].submit(
            vec![WriteRecord::new(bytes, Effect::Retain)],
            StorageClass::Standard,
            durability,
            None,
        )?;
        Ok(())
    }

    pub(super) fn bucket_name(&self, bucket: BucketId) -> Result<String> {
        self.inner
            .catalog
            .read()
            .by_id(bucket)
            .map(|b| b.name.clone())
            .ok_or_else(|| Error::NoSuchBucket { bucket: format!("#{}", bucket.0) })
    }

    /// Starts an object write into `bucket` (see [`BucketWrite`]).
    pub(super) fn begin_write(&self, bucket: BucketId) -> Result<BucketWrite<'_>> {
        let catalog = self.inner.catalog.read();
        let info =
            catalog.by_id(bucket).ok_or_else(|| Error::NoSuchBucket { bucket: format!("#{}", bucket.0) })?;
        let (name, default_encryption) = (info.name.clone(), self.default_encryption(info));
        *self.inner.writes_in_flight.lock().entry(bucket.0).or_default() += 1;
        Ok(BucketWrite { inner: &self.inner, bucket: bucket.0, name, default_encryption })
    }

    /// The encryption a new object of `bucket` that asks for none gets: the bucket's default, else
    /// SSE-S3 when the store encrypts by default ([`StoreBuilder::encrypt_by_default`]), else none.
    ///
    /// [`StoreBuilder::encrypt_by_default`]: super::builder::StoreBuilder::encrypt_by_default
    pub(crate) fn default_encryption(&self, bucket: &BucketInfo) -> Option<Encryption> {
        match &bucket.encryption {
            Some(config) => Some(config.encryption()),
            None => self.inner.encrypt_by_default.then_some(Encryption::S3),
        }
    }

    /// Whether the store seals new objects with SSE-S3 when neither they nor their bucket ask for
    /// anything (see [`StoreBuilder::encrypt_by_default`]).
    ///
    /// [`StoreBuilder::encrypt_by_default`]: super::builder::StoreBuilder::encrypt_by_default
    #[must_use]
    pub fn encrypts_by_default(&self) -> bool {
        self.inner.encrypt_by_default
    }

    /// The S3 whose defaults this store follows (see [`crate::profile`]).
    #[must_use]
    pub fn profile(&self) -> crate::profile::Profile {
        self.inner.profile
    }

    /// Sets (`Some`) or deletes (`None`) a bucket's default encryption.
    pub(crate) fn set_bucket_encryption(
        &self,
        bucket: BucketId,
        config: Option<BucketEncryption>,
    ) -> Result<()> {
        self.inner.ctx.check()?;
        let mut catalog = self.inner.catalog.write();
        let name = catalog
            .by_id(bucket)
            .map(|b| b.name.clone())
            .ok_or_else(|| Error::NoSuchBucket { bucket: format!("#{}", bucket.0) })?;
        let edit = match config {
            Some(BucketEncryption { blocked_encryption_types: Some(blocked), sse, bucket_key_enabled }) => {
                let config = BucketEncryption { sse, bucket_key_enabled, blocked_encryption_types: None };
                CatalogEdit::BucketEncryptionBlocking { id: bucket.0, config, blocked }
            }
            config => CatalogEdit::BucketEncryption { id: bucket.0, config },
        };
        self.write_catalog(bucket.0, &name, &edit)?;
        catalog.apply(&edit);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;
    use crate::error::Error;

    #[test]
    fn a_checked_delete_spares_a_bucket_recreated_under_the_name() {
        let store = Store::open_in_memory().unwrap();
        let first = store.create_bucket("b").unwrap();
        store.delete_bucket("b").unwrap();
        let second = store.create_bucket("b").unwrap();
        assert_ne!(first, second, "bucket ids are never reused");
        let err = store.delete_bucket_named("b", Some(first)).unwrap_err();
        assert!(matches!(err, Error::NoSuchBucket { .. }), "{err:?}");
        assert_eq!(store.bucket("b").unwrap().id, second, "the new bucket is still there");
        store.delete_bucket_named("b", Some(second)).unwrap();
        assert!(store.bucket("b").is_err());
    }
}
