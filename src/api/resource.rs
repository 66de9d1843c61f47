//! The resource layer, as boto3's: handles whose attributes load lazily on first access (once;
//! `reload()` refreshes them), sub-resources, and collections that paginate by themselves. Creating a
//! handle makes no call. The collections are in `resource/collections.rs`.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::Mutex;

mod collections;

pub use collections::{BucketsCollection, ObjectVersionsCollection, ObjectsCollection};

use crate::api::transfer::ExtraArgs;
use crate::api::{Client, Response};
use crate::engine::store::Store;
use crate::error::{Error, Result};
use crate::s3::types::*;
use crate::types::StorageClass;

/// The entry point of the resource layer.
#[derive(Debug, Clone)]
pub struct Resource {
    client: Client,
}

impl Store {
    /// The resource layer, acting as the store's owner.
    #[must_use]
    pub fn resource(&self) -> Resource {
        Resource::new(self.client())
    }
}

impl Resource {
    pub(crate) fn new(client: Client) -> Resource {
        Resource { client }
    }

    /// The client underneath, for operations this layer does not wrap.
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A handle on a bucket (no call is made).
    #[must_use]
    pub fn bucket(&self, name: &str) -> Bucket {
        Bucket::new(self.client.clone(), name)
    }

    /// Creates a bucket and returns its handle.
    ///
    /// # Errors
    /// CreateBucket's errors.
    pub fn create_bucket(&self, name: &str, location_constraint: Option<&str>) -> Result<Bucket> {
        let b = self.bucket(name);
        b.create(location_constraint)?;
        Ok(b)
    }

    /// The caller's buckets.
    pub fn buckets(&self) -> BucketsCollection {
        BucketsCollection { client: self.client.clone(), page_size: None }
    }
}

#[derive(Debug, Clone)]
struct BucketAttrs {
    creation_date: SystemTime,
    region: String,
}

/// A bucket handle.
#[derive(Debug, Clone)]
pub struct Bucket {
    client: Client,
    name: String,
    attrs: Arc<Mutex<Option<BucketAttrs>>>,
}

impl Bucket {
    fn new(client: Client, name: &str) -> Bucket {
        Bucket { client, name: name.to_owned(), attrs: Arc::default() }
    }

    /// The bucket's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The client underneath.
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A handle on an object of this bucket (no call is made).
    #[must_use]
    pub fn object(&self, key: &str) -> Object {
        Object::new(self.client.clone(), &self.name, key, None)
    }

    /// The bucket's objects.
    pub fn objects(&self) -> ObjectsCollection {
        ObjectsCollection {
            client: self.client.clone(),
            bucket: self.name.clone(),
            prefix: None,
            page_size: None,
            limit: None,
        }
    }

    /// Every version and delete marker in the bucket.
    pub fn object_versions(&self) -> ObjectVersionsCollection {
        ObjectVersionsCollection {
            client: self.client.clone(),
            bucket: self.name.clone(),
            prefix: None,
            page_size: None,
            limit: None,
        }
    }

    /// The bucket's versioning sub-resource.
    #[must_use]
    pub fn versioning(&self) -> BucketVersioning {
        BucketVersioning { client: self.client.clone(), bucket: self.name.clone(), status: Arc::default() }
    }

    /// Creates the bucket.
    ///
    /// # Errors
    /// CreateBucket's errors.
    pub fn create(&self, location_constraint: Option<&str>) -> Result<Response<CreateBucketOutput>> {
        let mut b = self.client.create_bucket().bucket(self.name.clone());
        if let Some(c) = location_constraint {
            b = b.location_constraint(c);
        }
        b.send()
    }

    /// Deletes the (empty) bucket.
    ///
    /// # Errors
    /// `NoSuchBucket`, `BucketNotEmpty`.
    pub fn delete(&self) -> Result<Response<()>> {
        self.client.delete_bucket().bucket(self.name.clone()).send()
    }

    /// Loads the attributes (HeadBucket and the bucket's ListBuckets entry).
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub fn load(&self) -> Result<()> {
        *self.attrs.lock() = Some(self.fetch()?);
        Ok(())
    }

    fn fetch(&self) -> Result<BucketAttrs> {
        let region = self.client.head_bucket().bucket(self.name.clone()).send()?.into_output().bucket_region;
        let listed = self.client.list_buckets().prefix(self.name.clone()).send()?.into_output();
        let creation_date = listed
            .buckets
            .into_iter()
            .find(|b| b.name == self.name)
            .map(|b| b.creation_date)
            .ok_or_else(|| Error::NoSuchBucket { bucket: self.name.clone() })?;
        Ok(BucketAttrs { creation_date, region })
    }

    /// Loads the attributes again.
    ///
    /// # Errors
    /// As [`Bucket::load`].
    pub fn reload(&self) -> Result<()> {
        self.load()
    }

    fn attr<T>(&self, f: impl Fn(&BucketAttrs) -> T) -> Result<T> {
        let mut attrs = self.attrs.lock();
        Ok(f(match attrs.take() {
            Some(a) => attrs.insert(a),
            None => attrs.insert(self.fetch()?),
        }))
    }

    /// Creation time (loads on first access).
    ///
    /// # Errors
    /// As [`Bucket::load`].
    pub fn creation_date(&self) -> Result<SystemTime> {
        self.attr(|a| a.creation_date)
    }

    /// Region (loads on first access).
    ///
    /// # Errors
    /// As [`Bucket::load`].
    pub fn region(&self) -> Result<String> {
        self.attr(|a| a.region.clone())
    }

    /// Puts an object and returns its handle.
    ///
    /// # Errors
    /// PutObject's errors.
    pub fn put_object(&self, key: &str, body: impl Into<Body>) -> Result<Object> {
        self.client.put_object().bucket(self.name.clone()).key(key).body(body).send()?;
        Ok(self.object(key))
    }

    /// Uploads a file as `key`, streamed.
    ///
    /// # Errors
    /// As [`Client::upload_file`].
    pub fn upload_file(&self, path: impl AsRef<Path>, key: &str, extra: &ExtraArgs) -> Result<Object> {
        self.client.upload_file(path, &self.name, key, extra)?;
        Ok(self.object(key))
    }

    /// Downloads `key` to `path`, atomically.
    ///
    /// # Errors
    /// As [`Client::download_file`].
    pub fn download_file(&self, key: &str, path: impl AsRef<Path>) -> Result<u64> {
        self.client.download_file(&self.name, key, path)
    }

    /// Downloads `key` with download `ExtraArgs` (version, SSE-C key).
    ///
    /// # Errors
    /// As [`Client::download_file_with`].
    pub fn download_file_with(&self, key: &str, path: impl AsRef<Path>, extra: &ExtraArgs) -> Result<u64> {
        self.client.download_file_with(&self.name, key, path, extra)
    }
}

/// An object handle (optionally of one version).
#[derive(Debug, Clone)]
pub struct Object {
    client: Client,
    bucket: String,
    key: String,
    version_id: Option<String>,
    attrs: Arc<Mutex<Option<HeadObjectOutput>>>,
}

impl Object {
    fn new(client: Client, bucket: &str, key: &str, version_id: Option<String>) -> Object {
        Object { client, bucket: bucket.to_owned(), key: key.to_owned(), version_id, attrs: Arc::default() }
    }

    /// A presigned URL for this object (its version, for a handle on one), as boto3's
    /// `object.meta.client.generate_presigned_url(ClientMethod, Params={'Bucket', 'Key'}, ExpiresIn)`:
    /// see [`Client::generate_presigned_url`]; [`Client::presign`] (through [`Object::client`]) has
    /// the other parameters. No call is made.
    ///
    /// # Errors
    /// As [`crate::api::presign::PresignBuilder::build`].
    pub fn generate_presigned_url(
        &self,
        operation: crate::api::presign::PresignedOperation,
        expires_in: std::time::Duration,
    ) -> Result<String> {
        let mut builder =
            self.client.presign(operation).bucket(&self.bucket).key(&self.key).expires_in(expires_in);
        if let Some(version_id) = &self.version_id {
            builder = builder.version_id(version_id);
        }
        builder.build().map(|p| p.url)
    }

    /// The key.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The bucket's name.
    #[must_use]
    pub fn bucket_name(&self) -> &str {
        &self.bucket
    }

    /// The bucket, as a handle.
    #[must_use]
    pub fn bucket(&self) -> Bucket {
        Bucket::new(self.client.clone(), &self.bucket)
    }

    /// Loads the attributes (HeadObject).
    ///
    /// # Errors
    /// HeadObject's errors.
    pub fn load(&self) -> Result<()> {
        *self.attrs.lock() = Some(self.fetch()?);
        Ok(())
    }

    fn fetch(&self) -> Result<HeadObjectOutput> {
        let mut b = self.client.head_object().bucket(self.bucket.clone()).key(self.key.clone());
        if let Some(v) = &self.version_id {
            b = b.version_id(v.clone());
        }
        Ok(b.send()?.into_output())
    }

    /// Loads the attributes again.
    ///
    /// # Errors
    /// As [`Object::load`].
    pub fn reload(&self) -> Result<()> {
        self.load()
    }

    fn attr<T>(&self, f: impl Fn(&HeadObjectOutput) -> T) -> Result<T> {
        let mut attrs = self.attrs.lock();
        Ok(f(match attrs.take() {
            Some(a) => attrs.insert(a),
            None => attrs.insert(self.fetch()?),
        }))
    }

    /// Size in bytes (loads on first access).
    ///
    /// # Errors
    /// As [`Object::load`].
    pub fn content_length(&self) -> Result<u64> {
        self.attr(|a| a.content_length)
    }

    /// Quoted ETag (loads on first access).
    ///
    /// # Errors
    /// As [`Object::load`].
    pub fn e_tag(&self) -> Result<String> {
        self.attr(|a| a.e_tag.clone())
    }

    /// Last-modified time (loads on first access).
    ///
    /// # Errors
    /// As [`Object::load`].
    pub fn last_modified(&self) -> Result<SystemTime> {
        self.attr(|a| a.last_modified)
    }

    /// Storage class (loads on first access).
    ///
    /// # Errors
    /// As [`Object::load`].
    pub fn storage_class(&self) -> Result<StorageClass> {
        self.attr(|a| a.storage_class.unwrap_or_default())
    }

    /// Version id, in a bucket that has been versioned (loads on first access).
    ///
    /// # Errors
    /// As [`Object::load`].
    pub fn version_id(&self) -> Result<Option<String>> {
        self.attr(|a| a.version_id.clone())
    }

    /// User metadata (loads on first access).
    ///
    /// # Errors
    /// As [`Object::load`].
    pub fn metadata(&self) -> Result<std::collections::BTreeMap<String, String>> {
        self.attr(|a| a.metadata_map())
    }

    /// `Content-Type` (loads on first access).
    ///
    /// # Errors
    /// As [`Object::load`].
    pub fn content_type(&self) -> Result<Option<String>> {
        self.attr(|a| a.content_type.clone())
    }

    /// Server-side encryption of the object (`AES256`, `aws:kms`), `None` when it is stored in
    /// the clear (loads on first access, like every attribute).
    ///
    /// # Errors
    /// As [`Object::load`].
    pub fn server_side_encryption(&self) -> Result<Option<String>> {
        self.attr(|a| a.server_side_encryption.map(|e| e.as_str().to_owned()))
    }

    /// Reads the object (GetObject).
    ///
    /// # Errors
    /// GetObject's errors.
    pub fn get(&self) -> Result<Response<GetObjectOutput>> {
        let mut b = self.client.get_object().bucket(self.bucket.clone()).key(self.key.clone());
        if let Some(v) = &self.version_id {
            b = b.version_id(v.clone());
        }
        b.send()
    }

    /// Writes the object (PutObject).
    ///
    /// # Errors
    /// PutObject's errors.
    pub fn put(&self, body: impl Into<Body>) -> Result<Response<PutObjectOutput>> {
        self.client.put_object().bucket(self.bucket.clone()).key(self.key.clone()).body(body).send()
    }

    /// Deletes the object (or, for a version handle, that version).
    ///
    /// # Errors
    /// DeleteObject's errors.
    pub fn delete(&self) -> Result<Response<DeleteObjectOutput>> {
        let mut b = self.client.delete_object().bucket(self.bucket.clone()).key(self.key.clone());
        if let Some(v) = &self.version_id {
            b = b.version_id(v.clone());
        }
        b.send()
    }

    /// Copies another object here (CopyObject). Takes the source's bucket and key as they are, as
    /// boto3's `{Bucket, Key}` copy source does, and URL-encodes the key for `x-amz-copy-source`
    /// (which is percent-decoded, so a key holding `%` or a space is copied as itself).
    ///
    /// # Errors
    /// CopyObject's errors.
    pub fn copy_from(&self, source_bucket: &str, source_key: &str) -> Result<Response<CopyObjectOutput>> {
        self.copy_from_source(&CopySource::new(source_bucket, source_key))
    }

    /// Copies a given source (a version of it, say) onto this object: copying an older version of
    /// this very object restores it.
    ///
    /// # Errors
    /// CopyObject's errors.
    pub fn copy_from_source(&self, source: &CopySource) -> Result<Response<CopyObjectOutput>> {
        self.client.copy_object().bucket(self.bucket.clone()).key(self.key.clone()).copy_source(source).send()
    }

    /// Uploads a file as this object, streamed.
    ///
    /// # Errors
    /// As [`Client::upload_file`].
    pub fn upload_file(&self, path: impl AsRef<Path>, extra: &ExtraArgs) -> Result<PutObjectOutput> {
        self.client.upload_file(path, &self.bucket, &self.key, extra)
    }

    /// Downloads this object to `path`, atomically.
    ///
    /// # Errors
    /// As [`Client::download_file`].
    pub fn download_file(&self, path: impl AsRef<Path>) -> Result<u64> {
        self.client.download_file(&self.bucket, &self.key, path)
    }

    /// Downloads this object with download `ExtraArgs` (version, SSE-C key).
    ///
    /// # Errors
    /// As [`Client::download_file_with`].
    pub fn download_file_with(&self, path: impl AsRef<Path>, extra: &ExtraArgs) -> Result<u64> {
        self.client.download_file_with(&self.bucket, &self.key, path, extra)
    }
}

/// An object as a listing shows it.
#[derive(Debug, Clone)]
pub struct ObjectSummary {
    client: Client,
    /// Bucket name.
    pub bucket_name: String,
    /// Key.
    pub key: String,
    /// Size.
    pub size: u64,
    /// Quoted ETag.
    pub e_tag: String,
    /// Last-modified time.
    pub last_modified: SystemTime,
    /// Storage class.
    pub storage_class: StorageClass,
}

impl ObjectSummary {
    /// The object, as a handle.
    #[must_use]
    pub fn object(&self) -> Object {
        Object::new(self.client.clone(), &self.bucket_name, &self.key, None)
    }
}

/// A version (or delete marker) as a version listing shows it.
#[derive(Debug, Clone)]
pub struct ObjectVersion {
    client: Client,
    /// Bucket name.
    pub bucket_name: String,
    /// Key.
    pub key: String,
    /// Version id (`"null"` for the null version).
    pub version_id: String,
    /// Newest version of its key.
    pub is_latest: bool,
    /// True for a delete marker.
    pub is_delete_marker: bool,
    /// Size.
    pub size: u64,
    /// Quoted ETag (empty for delete markers).
    pub e_tag: String,
    /// Last-modified time.
    pub last_modified: SystemTime,
    /// Storage class.
    pub storage_class: StorageClass,
}

impl ObjectVersion {
    /// The object at this version, as a handle.
    #[must_use]
    pub fn object(&self) -> Object {
        Object::new(self.client.clone(), &self.bucket_name, &self.key, Some(self.version_id.clone()))
    }

    /// Deletes this version permanently.
    ///
    /// # Errors
    /// DeleteObject's errors.
    pub fn delete(&self) -> Result<Response<DeleteObjectOutput>> {
        self.object().delete()
    }
}

/// A bucket's versioning sub-resource.
#[derive(Debug, Clone)]
pub struct BucketVersioning {
    client: Client,
    bucket: String,
    status: Arc<Mutex<Option<Option<BucketVersioningStatus>>>>,
}

impl BucketVersioning {
    /// `Enabled`, `Suspended`, or `None` when never enabled (loads on first access).
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub fn status(&self) -> Result<Option<BucketVersioningStatus>> {
        let mut status = self.status.lock();
        if let Some(s) = *status {
            return Ok(s);
        }
        let s = self.fetch()?;
        *status = Some(s);
        Ok(s)
    }

    /// Loads the status again.
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub fn reload(&self) -> Result<()> {
        *self.status.lock() = Some(self.fetch()?);
        Ok(())
    }

    fn fetch(&self) -> Result<Option<BucketVersioningStatus>> {
        Ok(self.client.get_bucket_versioning().bucket(self.bucket.clone()).send()?.into_output().status)
    }

    /// Enables versioning.
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub fn enable(&self) -> Result<()> {
        self.set(BucketVersioningStatus::Enabled)
    }

    /// Suspends versioning.
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub fn suspend(&self) -> Result<()> {
        self.set(BucketVersioningStatus::Suspended)
    }

    fn set(&self, status: BucketVersioningStatus) -> Result<()> {
        self.client.put_bucket_versioning().bucket(self.bucket.clone()).status(status).send()?;
        *self.status.lock() = Some(Some(status));
        Ok(())
    }
}
