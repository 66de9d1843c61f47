//! File transfers: uploads stream from the file, downloads stream to a temporary file in the target's
//! directory that is synced and renamed over the target only when the whole object has arrived, so a
//! failed download never leaves a partial file under the target name.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use parking_lot::Mutex;

use crate::api::Client;
use crate::error::{Error, Result};
use crate::limits::{PART_BYTES_MIN, PART_NUMBER_MAX};

use crate::s3::types::{Body, PutObjectOutput, SseCustomerKey, sse_customer_key_md5};

/// How a file upload is sent, as boto3's `TransferConfig`: files larger than `multipart_threshold`
/// go as a multipart upload of `multipart_chunksize` parts, `max_concurrency` of them at once (each
/// part hashes on its own thread, so parts side by side are not bound by one MD5 stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferConfig {
    /// Files larger than this are uploaded in parts (boto3: 8 MiB).
    pub multipart_threshold: u64,
    /// Part size (boto3: 8 MiB; raised when a file would need more than 10,000 parts, and never
    /// under S3's 5 MiB).
    pub multipart_chunksize: u64,
    /// Parts uploaded at once (boto3: 10).
    pub max_concurrency: usize,
}

impl Default for TransferConfig {
    fn default() -> Self {
        TransferConfig { multipart_threshold: 8 << 20, multipart_chunksize: 8 << 20, max_concurrency: 10 }
    }
}

/// Extra arguments of an upload or a download (as boto3's `ExtraArgs`; each call takes the ones
/// boto3 allows it, and refuses the others with `InvalidArgument`, as boto3 raises `ValueError`).
#[derive(Debug, Clone, Default)]
pub struct ExtraArgs {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// User metadata.
    pub metadata: Vec<(String, String)>,
    /// Storage class name.
    pub storage_class: Option<String>,
    /// `ServerSideEncryption` (`AES256`, `aws:kms`).
    pub server_side_encryption: Option<crate::s3::types::ServerSideEncryption>,
    /// `SSEKMSKeyId`, with `aws:kms`.
    pub ssekms_key_id: Option<String>,
    /// `SSECustomerAlgorithm` (`AES256`), with `sse_customer_key`.
    pub sse_customer_algorithm: Option<String>,
    /// `SSECustomerKey`: the base64 of the caller's 32-byte key. Sent with every request of the
    /// transfer (PutObject, or CreateMultipartUpload, each UploadPart and CompleteMultipartUpload;
    /// GetObject for a download).
    pub sse_customer_key: Option<SseCustomerKey>,
    /// `SSECustomerKeyMD5`; computed from the key when `None`, as botocore does.
    pub sse_customer_key_md5: Option<String>,
    /// `VersionId`: the version a download reads (downloads only).
    pub version_id: Option<String>,
}

/// The three SSE-C headers a transfer sends: as given, the key's MD5 computed when only the key
/// is (a key that is not base64 goes as it is, for the S3 layer to refuse with its error).
type CustomerHeaders = (Option<String>, Option<SseCustomerKey>, Option<String>);

impl ExtraArgs {
    fn customer_headers(&self) -> CustomerHeaders {
        use base64::Engine;
        let md5 = self.sse_customer_key_md5.clone().or_else(|| {
            let key = self.sse_customer_key.as_ref()?;
            let bytes =
                zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(key.as_str()).ok()?);
            Some(sse_customer_key_md5(&bytes))
        });
        (self.sse_customer_algorithm.clone(), self.sse_customer_key.clone(), md5)
    }

    /// `InvalidArgument` naming `name` when `set` (an argument boto3 does not allow this call).
    fn refuse(set: bool, name: &'static str, call: &str) -> Result<()> {
        if set {
            return Err(Error::InvalidArgument {
                name,
                value: "(set)".into(),
                reason: format!("{name} is not an argument of {call}"),
            });
        }
        Ok(())
    }
}

impl Client {
    /// Uploads a file, streamed (never read whole into memory).
    ///
    /// # Errors
    /// `IncompleteBody` when the file cannot be read; PutObject's errors.
    pub fn upload_file(
        &self,
        path: impl AsRef<Path>,
        bucket: &str,
        key: &str,
        extra: &ExtraArgs,
    ) -> Result<PutObjectOutput> {
        self.upload_file_with(path, bucket, key, extra, &TransferConfig::default())
    }

    /// [`Client::upload_file`] with a [`TransferConfig`]: above its threshold, a multipart upload
    /// with parts sent in parallel; on any failure the upload is aborted (no parts stay behind).
    ///
    /// # Errors
    /// `IncompleteBody` when the file cannot be read; PutObject's or the multipart operations'
    /// errors.
    pub fn upload_file_with(
        &self,
        path: impl AsRef<Path>,
        bucket: &str,
        key: &str,
        extra: &ExtraArgs,
        config: &TransferConfig,
    ) -> Result<PutObjectOutput> {
        let path = path.as_ref();
        ExtraArgs::refuse(extra.version_id.is_some(), "VersionId", "upload_file")?;
        let size = std::fs::metadata(path).map_err(|source| Error::BodyRead { source })?.len();
        if size > config.multipart_threshold {
            return self.upload_file_in_parts(path, size, bucket, key, extra, config);
        }
        let mut b = self.put_object().bucket(bucket).key(key).body(Body::from_path(path));
        if let Some(ct) = &extra.content_type {
            b = b.content_type(ct.clone());
        }
        if let Some(sc) = &extra.storage_class {
            b = b.storage_class(sc.clone());
        }
        for (k, v) in &extra.metadata {
            b = b.metadata(k.clone(), v.clone());
        }
        if let Some(sse) = extra.server_side_encryption {
            b = b.server_side_encryption(sse);
        }
        if let Some(k) = &extra.ssekms_key_id {
            b = b.ssekms_key_id(k.clone());
        }
        let (alg, key, md5) = extra.customer_headers();
        b.request.sse_customer_algorithm = alg;
        b.request.sse_customer_key = key;
        b.request.sse_customer_key_md5 = md5;
        Ok(b.send()?.into_output())
    }

    fn upload_file_in_parts(
        &self,
        path: &Path,
        size: u64,
        bucket: &str,
        key: &str,
        extra: &ExtraArgs,
        config: &TransferConfig,
    ) -> Result<PutObjectOutput> {
        let part_bytes =
            config.multipart_chunksize.max(PART_BYTES_MIN).max(size.div_ceil(u64::from(PART_NUMBER_MAX)));
        let parts = u32::try_from(size.div_ceil(part_bytes)).unwrap_or(PART_NUMBER_MAX);
        let mut create = self.create_multipart_upload().bucket(bucket).key(key);
        if let Some(ct) = &extra.content_type {
            create = create.content_type(ct.clone());
        }
        if let Some(sc) = &extra.storage_class {
            create = create.storage_class(sc.clone());
        }
        for (k, v) in &extra.metadata {
            create = create.metadata(k.clone(), v.clone());
        }
        if let Some(sse) = extra.server_side_encryption {
            create = create.server_side_encryption(sse);
        }
        if let Some(k) = &extra.ssekms_key_id {
            create = create.ssekms_key_id(k.clone());
        }
        let (alg, customer, md5) = extra.customer_headers();
        create.request.sse_customer_algorithm.clone_from(&alg);
        create.request.sse_customer_key.clone_from(&customer);
        create.request.sse_customer_key_md5.clone_from(&md5);
        let created = create.send()?.into_output();
        let upload_id = created.upload_id;
        let next = AtomicU32::new(1);
        let etags: Mutex<Vec<(u32, String)>> = Mutex::new(Vec::with_capacity(parts as usize));
        let failed: Mutex<Option<Error>> = Mutex::new(None);
        let send_part = |n: u32| -> Result<String> {
            let offset = u64::from(n - 1) * part_bytes;
            let len = part_bytes.min(size - offset);
            let mut file = File::open(path).map_err(|source| Error::BodyRead { source })?;
            file.seek(SeekFrom::Start(offset)).map_err(|source| Error::BodyRead { source })?;
            let body = Body::Reader(Box::new(std::io::BufReader::with_capacity(1 << 20, file.take(len))));
            let mut part = self
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .part_number(n as i32)
                .body(body);
            part.request.sse_customer_algorithm.clone_from(&alg);
            part.request.sse_customer_key.clone_from(&customer);
            part.request.sse_customer_key_md5.clone_from(&md5);
            let out = part.send()?;
            Ok(out.into_output().e_tag)
        };
        std::thread::scope(|scope| {
            for _ in 0..config.max_concurrency.clamp(1, parts as usize) {
                scope.spawn(|| {
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n > parts || failed.lock().is_some() {
                            return;
                        }
                        match send_part(n) {
                            Ok(e_tag) => etags.lock().push((n, e_tag)),
                            Err(e) => {
                                failed.lock().get_or_insert(e);
                                return;
                            }
                        }
                    }
                });
            }
        });
        let abort = || {
            let _ = self.abort_multipart_upload().bucket(bucket).key(key).upload_id(&upload_id).send();
        };
        if let Some(e) = failed.into_inner() {
            abort();
            return Err(e);
        }
        let mut etags = etags.into_inner();
        etags.sort();
        let mut complete = self.complete_multipart_upload().bucket(bucket).key(key).upload_id(&upload_id);
        for (n, e_tag) in etags {
            complete = complete.part(n as i32, e_tag);
        }
        match complete.send() {
            Ok(done) => {
                let done = done.into_output();
                Ok(PutObjectOutput {
                    e_tag: done.e_tag,
                    version_id: done.version_id,
                    checksums: done.checksums,
                    server_side_encryption: done.server_side_encryption,
                    ssekms_key_id: done.ssekms_key_id,
                    ssekms_encryption_context: created.ssekms_encryption_context,
                    // CompleteMultipartUpload reports no SSE-C headers; CreateMultipartUpload did.
                    sse_customer_algorithm: created.sse_customer_algorithm,
                    sse_customer_key_md5: created.sse_customer_key_md5,
                })
            }
            Err(e) => {
                abort();
                Err(e)
            }
        }
    }

    /// Downloads an object to `path`, atomically: the bytes go to a temporary file beside it, which is
    /// synced and renamed over `path` only once the whole object has arrived.
    ///
    /// # Errors
    /// GetObject's errors; `Io` for local file errors. On any error `path` is untouched.
    pub fn download_file(&self, bucket: &str, key: &str, path: impl AsRef<Path>) -> Result<u64> {
        self.download_file_with(bucket, key, path, &ExtraArgs::default())
    }

    /// [`Client::download_file`] with boto3's download `ExtraArgs`: `version_id`, and the SSE-C
    /// key of an object stored under one.
    ///
    /// # Errors
    /// As `download_file`; `InvalidArgument` for an argument downloads do not take (content
    /// type, metadata, storage class, `ServerSideEncryption`, `SSEKMSKeyId`).
    pub fn download_file_with(
        &self,
        bucket: &str,
        key: &str,
        path: impl AsRef<Path>,
        extra: &ExtraArgs,
    ) -> Result<u64> {
        for (set, name) in [
            (extra.content_type.is_some(), "ContentType"),
            (!extra.metadata.is_empty(), "Metadata"),
            (extra.storage_class.is_some(), "StorageClass"),
            (extra.server_side_encryption.is_some(), "ServerSideEncryption"),
            (extra.ssekms_key_id.is_some(), "SSEKMSKeyId"),
        ] {
            ExtraArgs::refuse(set, name, "download_file")?;
        }
        let path = path.as_ref();
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = path.file_name().ok_or_else(|| Error::InvalidArgument {
            name: "path",
            value: path.display().to_string(),
            reason: "a download needs a file name".into(),
        })?;
        let mut get = self.get_object().bucket(bucket).key(key);
        get.request.version_id.clone_from(&extra.version_id);
        (
            get.request.sse_customer_algorithm,
            get.request.sse_customer_key,
            get.request.sse_customer_key_md5,
        ) = extra.customer_headers();
        let mut out = get.send()?;
        let tmp = dir.join(format!(".{}.s3lite-{:016x}.part", name.to_string_lossy(), rand::random::<u64>()));
        let result = (|| {
            let file = File::create(&tmp).map_err(|e| Error::io("create download file", &tmp, e))?;
            let mut w = BufWriter::with_capacity(1 << 20, file);
            let n = out.body.write_to(&mut w)?;
            let file = w.into_inner().map_err(|e| Error::io("write download file", &tmp, e.into_error()))?;
            file.sync_all().map_err(|e| Error::io("fsync download file", &tmp, e))?;
            std::fs::rename(&tmp, path).map_err(|e| Error::io("rename download file", path, e))?;
            Ok(n)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}
