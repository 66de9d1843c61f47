//! Reading uploads in progress: one upload's start record and parts, and the listing of a bucket's
//! uploads (nothing here writes).

use super::*;

impl Store {
    /// An upload in progress without its parts: what its start record holds (one record read,
    /// whatever the number of parts: UploadPart needs the upload's checksum algorithm).
    ///
    /// # Errors
    /// `NoSuchUpload`, `Corruption` if the start record fails its checks, `Io`.
    pub fn upload_start(&self, bucket: BucketId, key: &str, upload_id: &str) -> Result<UploadDetails> {
        self.upload_details(bucket, key, upload_id, Parts::None)
    }

    /// An upload in progress with all its parts, their checksums read from the part records (what
    /// CompleteMultipartUpload checks).
    ///
    /// # Errors
    /// `NoSuchUpload`, `Corruption` if a part record fails its checks, `Io`.
    pub fn upload(&self, bucket: BucketId, key: &str, upload_id: &str) -> Result<UploadDetails> {
        self.upload_details(bucket, key, upload_id, Parts::All)
    }

    /// An upload in progress with those of its parts whose numbers are in `numbers` (the parts a
    /// CompleteMultipartUpload names; numbers it does not have are left out), in number order,
    /// only their records read.
    ///
    /// # Errors
    /// As [`Store::upload`].
    pub fn upload_numbered(
        &self,
        bucket: BucketId,
        key: &str,
        upload_id: &str,
        numbers: &[u32],
    ) -> Result<UploadDetails> {
        self.upload_details(bucket, key, upload_id, Parts::Numbers(numbers))
    }

    /// An upload in progress with at most `max` of its parts numbered above `after` (a ListParts
    /// page), only their records read.
    ///
    /// # Errors
    /// As [`Store::upload`].
    pub fn upload_parts(
        &self,
        bucket: BucketId,
        key: &str,
        upload_id: &str,
        after: u32,
        max: usize,
    ) -> Result<UploadDetails> {
        self.upload_details(bucket, key, upload_id, Parts::After(after, max))
    }

    fn upload_details(
        &self,
        bucket: BucketId,
        key: &str,
        upload_id: &str,
        which: Parts<'_>,
    ) -> Result<UploadDetails> {
        self.inner.ctx.check()?;
        check_key(key)?;
        self.bucket_name(bucket)?;
        let part = self.partition(bucket.0, key.as_bytes());
        self.admit(part, bucket.0, key.as_bytes(), RequestKind::Read)?;
        // No rewrite moves the records while they are read.
        let _still = part.hold_rewrites();
        let upload = self.open_upload(part, bucket, key, upload_id, which)?;
        let id = self.parse_upload(upload_id)?;
        let start = read_upload_record(part, bucket.0, key, id, RecordKind::MultipartStart, 0, upload.at)?;
        let mut parts = Vec::with_capacity(upload.parts.len());
        for (n, p) in &upload.parts {
            let meta = read_upload_record(part, bucket.0, key, id, RecordKind::MultipartPart, *n, p.at)?;
            parts.push(part_info(*n, p, meta.checksums));
        }
        Ok(UploadDetails {
            key: key.to_owned(),
            upload_id: upload_id.to_owned(),
            initiated_ms: upload.initiated_ms,
            storage_class: upload.class,
            content_type: start.content_type,
            user_metadata: start.user,
            system_metadata: start.system,
            tags: start.tags,
            parts,
            encryption: encryption_info(start.envelope.as_deref()),
        })
    }

    /// Uploads in progress of a bucket whose key starts with `prefix`, after (`key_marker`,
    /// `upload_id_marker`), in key order and, for one key, the order they began; at most `max`,
    /// and whether more follow.
    ///
    /// # Errors
    /// `NoSuchBucket`.
    pub fn list_uploads(
        &self,
        bucket: BucketId,
        prefix: &str,
        key_marker: &str,
        upload_id_marker: Option<&str>,
        max: usize,
    ) -> Result<(Vec<UploadSummary>, bool)> {
        self.inner.ctx.check()?;
        self.bucket_name(bucket)?;
        // An upload id marker the store never issued names no position: from after the key.
        let upload_marker = upload_id_marker.and_then(parse_upload_id);
        let lower = if key_marker.is_empty() || key_marker.as_bytes() < prefix.as_bytes() {
            Bound::Included((bucket.0, prefix.as_bytes().to_vec(), [0u8; 16]))
        } else {
            after_marker(bucket.0, key_marker.as_bytes(), upload_marker)
        };
        let mut all = Vec::new();
        for part in self.inner.partitions.iter() {
            let ix = part.index.read();
            let uploads = ix.uploads().range(bucket.0, lower.clone());
            for ((_, k, u), up) in
                uploads.take_while(|((_, k, _), _)| k.starts_with(prefix.as_bytes())).take(max + 1)
            {
                all.push((k.clone(), *u, up.initiated_ms, up.class));
            }
        }
        all.sort();
        let truncated = all.len() > max;
        all.truncate(max);
        let out = all
            .into_iter()
            .map(|(k, u, initiated_ms, storage_class)| UploadSummary {
                key: String::from_utf8_lossy(&k).into_owned(),
                upload_id: upload_id_string(u),
                initiated_ms,
                storage_class,
            })
            .collect();
        Ok((out, truncated))
    }
}

fn part_info(number: u32, p: &PartEntry, checksums: Vec<(u8, Vec<u8>)>) -> PartInfo {
    PartInfo {
        part_number: number,
        size: p.size,
        e_tag: crate::engine::options::etag_string(&p.etag),
        md5: p.etag,
        last_modified_ms: p.mtime_ms,
        checksums,
    }
}

/// The mode and master key an upload's (or object's) envelope names.
pub(super) fn encryption_info(envelope: Option<&[u8]>) -> Option<EncryptionInfo> {
    envelope.and_then(|e| Envelope::decode(e).ok()).map(|e| EncryptionInfo {
        mode: e.mode,
        key_id: e.key_id,
        customer_key_mac: e.customer_key_mac.map(|(salt, mac)| CustomerKeyMac { salt, mac }),
    })
}
