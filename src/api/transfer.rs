//! File transfers: uploads stream from the file, downloads stream to a temporary file in the target's
//! directory that is synced and renamed over the target only when the whole object has arrived, so a
//! failed download never leaves a partial file under the target name.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use crate::api::Client;
use crate::error::{Error, Result};
use crate::s3::types::{Body, PutObjectOutput};

/// Extra arguments of an upload (as boto3's `ExtraArgs`).
#[derive(Debug, Clone, Default)]
pub struct ExtraArgs {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// User metadata.
    pub metadata: Vec<(String, String)>,
    /// Storage class name.
    pub storage_class: Option<String>,
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
        let mut b = self.put_object().bucket(bucket).key(key).body(Body::from_path(path.as_ref()));
        if let Some(ct) = &extra.content_type {
            b = b.content_type(ct.clone());
        }
        if let Some(sc) = &extra.storage_class {
            b = b.storage_class(sc.clone());
        }
        for (k, v) in &extra.metadata {
            b = b.metadata(k.clone(), v.clone());
        }
        Ok(b.send()?.into_output())
    }

    /// Downloads an object to `path`, atomically: the bytes go to a temporary file beside it, which is
    /// synced and renamed over `path` only once the whole object has arrived.
    ///
    /// # Errors
    /// GetObject's errors; `Io` for local file errors. On any error `path` is untouched.
    pub fn download_file(&self, bucket: &str, key: &str, path: impl AsRef<Path>) -> Result<u64> {
        let path = path.as_ref();
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = path.file_name().ok_or_else(|| Error::InvalidArgument {
            name: "path",
            value: path.display().to_string(),
            reason: "a download needs a file name".into(),
        })?;
        let mut out = self.get_object().bucket(bucket).key(key).send()?;
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
