//! Model-based property test: random sequences of S3 operations run against the store and against a
//! plain in-memory model of S3 semantics; every output must agree. Sequences include crashes
//! (simulated power loss, then reopen), which must change nothing acknowledged.

mod common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use s3lite::io::{CrashMode, SimStorage};
use s3lite::s3::types::*;
use s3lite::{Error, Store};

const BUCKETS: [&str; 2] = ["bk1", "bk2"];
const KEYS: [&str; 6] = ["a", "a/b", "a/c", "b", "b/a/c", "c"];

#[derive(Debug, Clone)]
enum Op {
    CreateBucket(usize),
    DeleteBucket(usize),
    SetVersioning(usize, bool),
    Put {
        bucket: usize,
        key: usize,
        len: usize,
        if_none_match: bool,
    },
    Delete {
        bucket: usize,
        key: usize,
    },
    DeleteVersion {
        bucket: usize,
        key: usize,
        pick: usize,
    },
    Copy {
        from: (usize, usize),
        to: (usize, usize),
        replace: bool,
    },
    Get {
        bucket: usize,
        key: usize,
    },
    List {
        bucket: usize,
        prefix: usize,
        delimiter: bool,
        page: i32,
    },
    ListVersions {
        bucket: usize,
        page: i32,
    },
    /// A power loss with no clean close: the next open replays the log after the newest
    /// checkpoint (or all of it).
    Crash,
    /// A clean close (which writes checkpoints) and a power loss, then a reopen from them.
    CloseAndCrash,
    /// A compaction of every segment with a dead byte, active ones included.
    Compact,
    /// A checkpoint of every partition.
    Checkpoint,
    /// A power loss after this many write points of a checkpoint of every partition.
    CrashInCheckpoint(u64),
    /// CreateMultipartUpload.
    CreateUpload {
        bucket: usize,
        key: usize,
    },
    /// UploadPart to the `pick`-th upload in progress.
    UploadPart {
        pick: usize,
        number: i32,
        len: usize,
    },
    /// CompleteMultipartUpload of the `pick`-th upload with all its parts (S3 refuses small parts
    /// but the last), then with its last part alone.
    CompleteUpload {
        pick: usize,
    },
    /// AbortMultipartUpload.
    AbortUpload {
        pick: usize,
    },
    /// ListMultipartUploads, page by page.
    ListUploads {
        bucket: usize,
        page: i32,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let b = 0..BUCKETS.len();
    let k = 0..KEYS.len();
    prop_oneof![
        1 => b.clone().prop_map(Op::CreateBucket),
        1 => b.clone().prop_map(Op::DeleteBucket),
        1 => (b.clone(), any::<bool>()).prop_map(|(b, e)| Op::SetVersioning(b, e)),
        8 => (b.clone(), k.clone(), prop_oneof![Just(0usize), 1..40usize, 1000..1100usize, 4000..5000usize], any::<bool>())
            .prop_map(|(bucket, key, len, inm)| Op::Put { bucket, key, len, if_none_match: inm && len % 3 == 0 }),
        3 => (b.clone(), k.clone()).prop_map(|(bucket, key)| Op::Delete { bucket, key }),
        2 => (b.clone(), k.clone(), 0..4usize).prop_map(|(bucket, key, pick)| Op::DeleteVersion { bucket, key, pick }),
        2 => ((b.clone(), k.clone()), (b.clone(), k.clone()), any::<bool>()).prop_map(|(from, to, replace)| Op::Copy { from, to, replace }),
        3 => (b.clone(), k.clone()).prop_map(|(bucket, key)| Op::Get { bucket, key }),
        2 => (b.clone(), 0..3usize, any::<bool>(), 1..4i32).prop_map(|(bucket, prefix, delimiter, page)| Op::List { bucket, prefix, delimiter, page }),
        2 => (b.clone(), 1..4i32).prop_map(|(bucket, page)| Op::ListVersions { bucket, page }),
        1 => Just(Op::Crash),
        1 => Just(Op::Compact),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::CloseAndCrash),
        1 => (0..40u64).prop_map(Op::CrashInCheckpoint),
        2 => (b.clone(), k.clone()).prop_map(|(bucket, key)| Op::CreateUpload { bucket, key }),
        3 => (0..4usize, 1..4i32, prop_oneof![Just(0usize), 1..40usize, 4000..5000usize])
            .prop_map(|(pick, number, len)| Op::UploadPart { pick, number, len }),
        1 => (0..4usize).prop_map(|pick| Op::CompleteUpload { pick }),
        1 => (0..4usize).prop_map(|pick| Op::AbortUpload { pick }),
        1 => (b.clone(), 1..4i32).prop_map(|(bucket, page)| Op::ListUploads { bucket, page }),
    ]
}

#[derive(Debug, Clone, PartialEq)]
struct MVersion {
    id: String,
    body: Option<Vec<u8>>,
}

#[derive(Debug, Default)]
struct MBucket {
    versioning: Option<bool>,
    keys: BTreeMap<String, Vec<MVersion>>,
}

/// An upload in progress: (bucket, key, upload id, parts by number).
type MUpload = (String, String, String, BTreeMap<i32, Vec<u8>>);

#[derive(Debug, Default)]
struct Model {
    buckets: BTreeMap<String, MBucket>,
    /// In the order they began.
    uploads: Vec<MUpload>,
}

impl MBucket {
    fn enabled(&self) -> bool {
        self.versioning == Some(true)
    }
    fn latest(&self, key: &str) -> Option<&MVersion> {
        self.keys.get(key).and_then(|v| v.first())
    }
    /// Adds a version as S3 does: enabled → new id on top; otherwise replace the null version.
    fn add(&mut self, key: &str, v: MVersion) {
        let versions = self.keys.entry(key.to_owned()).or_default();
        if v.id == "null" {
            versions.retain(|x| x.id != "null");
        }
        versions.insert(0, v);
    }
}

fn body(seed: usize, len: usize) -> Vec<u8> {
    common::body(seed as u64, len)
}

fn code<T>(r: &Result<T, Error>) -> Option<&'static str> {
    r.as_ref().err().map(Error::code)
}

struct Harness {
    sim: SimStorage,
    /// Master keys when the store encrypts by default (the same keys at every reopen).
    keys: Option<std::sync::Arc<s3lite::crypto::MasterKeys>>,
    store: Option<Store>,
    model: Model,
    step: usize,
}

impl Harness {
    fn open(&self) -> Store {
        let builder = common::sim_builder(&self.sim);
        match &self.keys {
            Some(keys) => common::encrypted(builder, keys).open().unwrap(),
            None => builder.open().unwrap(),
        }
    }

    fn s3(&self) -> s3lite::s3::S3 {
        self.store.as_ref().unwrap().s3()
    }

    fn run(&mut self, op: &Op) {
        self.step += 1;
        let s3 = self.s3();
        match op.clone() {
            Op::CreateBucket(b) => {
                let r =
                    s3.create_bucket(CreateBucketRequest { bucket: BUCKETS[b].into(), ..Default::default() });
                assert!(r.is_ok(), "{r:?}");
                self.model.buckets.entry(BUCKETS[b].into()).or_default();
            }
            Op::DeleteBucket(b) => {
                let r = s3.delete_bucket(BUCKETS[b]);
                let want = match self.model.buckets.get(BUCKETS[b]) {
                    None => Some("NoSuchBucket"),
                    Some(m) if m.keys.values().any(|v| !v.is_empty()) => Some("BucketNotEmpty"),
                    Some(_) if self.model.uploads.iter().any(|u| u.0 == BUCKETS[b]) => Some("BucketNotEmpty"),
                    Some(_) => None,
                };
                assert_eq!(code(&r), want);
                if want.is_none() {
                    self.model.buckets.remove(BUCKETS[b]);
                }
            }
            Op::SetVersioning(b, enabled) => {
                let status =
                    if enabled { BucketVersioningStatus::Enabled } else { BucketVersioningStatus::Suspended };
                let r = s3.put_bucket_versioning(BUCKETS[b], status);
                match self.model.buckets.get_mut(BUCKETS[b]) {
                    None => assert_eq!(code(&r), Some("NoSuchBucket")),
                    Some(m) => {
                        assert!(r.is_ok());
                        m.versioning = Some(enabled);
                    }
                }
            }
            Op::Put { bucket, key, len, if_none_match } => {
                let data = body(self.step, len);
                let r = s3.put_object(PutObjectRequest {
                    bucket: BUCKETS[bucket].into(),
                    key: KEYS[key].into(),
                    body: data.clone().into(),
                    if_none_match: if_none_match.then(|| "*".into()),
                    ..Default::default()
                });
                let Some(m) = self.model.buckets.get_mut(BUCKETS[bucket]) else {
                    return assert_eq!(code(&r), Some("NoSuchBucket"));
                };
                if if_none_match && m.latest(KEYS[key]).is_some_and(|v| v.body.is_some()) {
                    return assert_eq!(code(&r), Some("PreconditionFailed"));
                }
                let out = r.unwrap();
                assert_eq!(out.version_id.is_some(), m.enabled());
                let id = out.version_id.unwrap_or_else(|| "null".into());
                m.add(KEYS[key], MVersion { id, body: Some(data) });
            }
            Op::Delete { bucket, key } => {
                let r = s3.delete_object(DeleteObjectRequest {
                    bucket: BUCKETS[bucket].into(),
                    key: KEYS[key].into(),
                    ..Default::default()
                });
                let Some(m) = self.model.buckets.get_mut(BUCKETS[bucket]) else {
                    return assert_eq!(code(&r), Some("NoSuchBucket"));
                };
                let out = r.unwrap();
                match m.versioning {
                    None => {
                        assert!(!out.delete_marker);
                        m.keys.remove(KEYS[key]);
                    }
                    Some(enabled) => {
                        assert!(out.delete_marker);
                        let id = out.version_id.unwrap();
                        assert_eq!(id == "null", !enabled);
                        m.add(KEYS[key], MVersion { id, body: None });
                    }
                }
            }
            Op::DeleteVersion { bucket, key, pick } => {
                let Some(m) = self.model.buckets.get_mut(BUCKETS[bucket]) else { return };
                let Some(versions) = m.keys.get_mut(KEYS[key]) else { return };
                if versions.is_empty() {
                    return;
                }
                let v = versions.remove(pick % versions.len());
                let r = s3.delete_object(DeleteObjectRequest {
                    bucket: BUCKETS[bucket].into(),
                    key: KEYS[key].into(),
                    version_id: Some(v.id.clone()),
                    ..Default::default()
                });
                assert_eq!(r.unwrap().delete_marker, v.body.is_none());
            }
            Op::Copy { from, to, replace } => {
                let req = CopyObjectRequest {
                    bucket: BUCKETS[to.0].into(),
                    key: KEYS[to.1].into(),
                    copy_source: format!("{}/{}", BUCKETS[from.0], KEYS[from.1]),
                    metadata_directive: if replace {
                        MetadataDirective::Replace
                    } else {
                        MetadataDirective::Copy
                    },
                    ..Default::default()
                };
                let r = s3.copy_object(req);
                let src = self.model.buckets.get(BUCKETS[from.0]).map(|m| m.latest(KEYS[from.1]).cloned());
                let want = match (src, self.model.buckets.contains_key(BUCKETS[to.0])) {
                    (_, false) => Some("NoSuchBucket"),
                    (None, _) => Some("NoSuchBucket"),
                    (Some(None), _) | (Some(Some(MVersion { body: None, .. })), _) => Some("NoSuchKey"),
                    (Some(Some(_)), _) if from == to && !replace => Some("InvalidRequest"),
                    _ => None,
                };
                assert_eq!(code(&r), want, "{op:?}");
                if want.is_none() {
                    let data = self.model.buckets[BUCKETS[from.0]].latest(KEYS[from.1]).unwrap().body.clone();
                    let m = self.model.buckets.get_mut(BUCKETS[to.0]).unwrap();
                    let out = r.unwrap();
                    assert_eq!(out.version_id.is_some(), m.enabled());
                    m.add(
                        KEYS[to.1],
                        MVersion { id: out.version_id.unwrap_or_else(|| "null".into()), body: data },
                    );
                }
            }
            Op::Get { bucket, key } => {
                let r = s3
                    .get_object(GetObjectRequest {
                        bucket: BUCKETS[bucket].into(),
                        key: KEYS[key].into(),
                        ..Default::default()
                    })
                    .and_then(|mut o| o.body.read_to_vec());
                match self.model.buckets.get(BUCKETS[bucket]) {
                    None => assert_eq!(code(&r), Some("NoSuchBucket")),
                    Some(m) => match m.latest(KEYS[key]).and_then(|v| v.body.clone()) {
                        None => assert_eq!(code(&r), Some("NoSuchKey")),
                        Some(want) => assert_eq!(r.unwrap(), want),
                    },
                }
            }
            Op::List { bucket, prefix, delimiter, page } => {
                self.check_list(bucket, ["", "a", "b/"][prefix], delimiter, page)
            }
            Op::ListVersions { bucket, page } => self.check_versions(bucket, page),
            Op::Compact => {
                self.store.as_ref().unwrap().compact_with(&s3lite::CompactionPolicy::everything()).unwrap();
            }
            Op::Checkpoint => {
                self.store.as_ref().unwrap().checkpoint().unwrap();
            }
            Op::CrashInCheckpoint(k) => {
                self.sim.freeze_after(k);
                // Fails when the machine stops inside it; S3's state is the same either way.
                let _ = self.store.as_ref().unwrap().checkpoint();
                self.sim.freeze_after(0);
                drop(self.store.take());
                self.sim.crash(CrashMode::Random(self.step as u64));
                self.store = Some(self.open());
            }
            Op::CreateUpload { bucket, key } => {
                let r = s3.create_multipart_upload(s3lite::s3::multipart::CreateMultipartUploadRequest {
                    bucket: BUCKETS[bucket].into(),
                    key: KEYS[key].into(),
                    ..Default::default()
                });
                if !self.model.buckets.contains_key(BUCKETS[bucket]) {
                    return assert_eq!(code(&r), Some("NoSuchBucket"));
                }
                let id = r.unwrap().upload_id;
                self.model.uploads.push((BUCKETS[bucket].into(), KEYS[key].into(), id, BTreeMap::new()));
            }
            Op::UploadPart { pick, number, len } => {
                let Some(n) = (!self.model.uploads.is_empty()).then(|| pick % self.model.uploads.len())
                else {
                    return;
                };
                let data = body(self.step, len);
                let u = &mut self.model.uploads[n];
                let r = s3.upload_part(s3lite::s3::multipart::UploadPartRequest {
                    bucket: u.0.clone(),
                    key: u.1.clone(),
                    upload_id: u.2.clone(),
                    part_number: Some(number),
                    body: data.clone().into(),
                    ..Default::default()
                });
                r.unwrap();
                u.3.insert(number, data);
            }
            Op::CompleteUpload { pick } => {
                let Some(n) = (!self.model.uploads.is_empty()).then(|| pick % self.model.uploads.len())
                else {
                    return;
                };
                let u = self.model.uploads[n].clone();
                let req = |parts: Vec<i32>| s3lite::s3::multipart::CompleteMultipartUploadRequest {
                    bucket: u.0.clone(),
                    key: u.1.clone(),
                    upload_id: u.2.clone(),
                    multipart_upload: Some(s3lite::CompletedMultipartUpload {
                        parts: parts
                            .into_iter()
                            .map(|p| s3lite::CompletedPart { part_number: Some(p), ..Default::default() })
                            .collect(),
                    }),
                    ..Default::default()
                };
                let all: Vec<i32> = u.3.keys().copied().collect();
                let r = s3.complete_multipart_upload(req(all.clone()));
                match all.len() {
                    0 => return assert_eq!(code(&r), Some("MalformedXML")),
                    1 => {}
                    // Every part here is under 5 MiB: only the last may be.
                    _ => assert_eq!(code(&r), Some("EntityTooSmall")),
                }
                let last = *all.last().unwrap();
                let r = if all.len() == 1 { r } else { s3.complete_multipart_upload(req(vec![last])) };
                let out = r.unwrap();
                assert!(out.e_tag.ends_with("-1\""), "{}", out.e_tag);
                self.model.uploads.remove(n);
                let m = self.model.buckets.get_mut(&u.0).unwrap();
                assert_eq!(out.version_id.is_some(), m.enabled());
                let id = out.version_id.unwrap_or_else(|| "null".into());
                m.add(&u.1, MVersion { id, body: Some(u.3[&last].clone()) });
            }
            Op::AbortUpload { pick } => {
                let Some(n) = (!self.model.uploads.is_empty()).then(|| pick % self.model.uploads.len())
                else {
                    return;
                };
                let u = self.model.uploads.remove(n);
                let req = s3lite::s3::multipart::AbortMultipartUploadRequest {
                    bucket: u.0,
                    key: u.1,
                    upload_id: u.2,
                };
                s3.abort_multipart_upload(req.clone()).unwrap();
                assert_eq!(code(&s3.abort_multipart_upload(req)), Some("NoSuchUpload"));
            }
            Op::ListUploads { bucket, page } => self.check_uploads(bucket, page),
            Op::Crash | Op::CloseAndCrash => {
                if matches!(op, Op::Crash) {
                    // The machine stops before the drop's checkpoints can be written.
                    self.sim.freeze_after(0);
                }
                drop(self.store.take());
                self.sim.crash(CrashMode::Random(self.step as u64));
                self.store = Some(self.open());
            }
        }
    }

    fn check_list(&self, bucket: usize, prefix: &str, delimiter: bool, page: i32) {
        let s3 = self.s3();
        let mut req = ListObjectsV2Request {
            bucket: BUCKETS[bucket].into(),
            prefix: Some(prefix.into()),
            delimiter: delimiter.then(|| "/".into()),
            max_keys: Some(page),
            ..Default::default()
        };
        let Some(m) = self.model.buckets.get(BUCKETS[bucket]) else {
            return assert_eq!(code(&s3.list_objects_v2(req)), Some("NoSuchBucket"));
        };
        let mut got = Vec::new();
        loop {
            let out = s3.list_objects_v2(req.clone()).unwrap();
            // Within a page S3 returns contents and prefixes separately; merge them back in order.
            let mut items: Vec<String> = out.contents.iter().map(|o| o.key.clone()).collect();
            items.extend(out.common_prefixes.iter().map(|p| format!("{}*", p.prefix)));
            items.sort_by(|a, b| a.trim_end_matches('*').cmp(b.trim_end_matches('*')));
            got.extend(items);
            if !out.is_truncated {
                break;
            }
            req.continuation_token = out.next_continuation_token;
        }
        let mut want: Vec<String> = Vec::new();
        for (k, versions) in &m.keys {
            if !k.starts_with(prefix) || versions.first().is_none_or(|v| v.body.is_none()) {
                continue;
            }
            match k[prefix.len()..].find('/').filter(|_| delimiter) {
                Some(i) => {
                    let p = format!("{}*", &k[..prefix.len() + i + 1]);
                    if want.last() != Some(&p) {
                        want.push(p);
                    }
                }
                None => want.push(k.clone()),
            }
        }
        assert_eq!(got, want, "list {prefix:?} delimiter {delimiter} page {page}");
    }

    fn check_uploads(&self, bucket: usize, page: i32) {
        let s3 = self.s3();
        let mut req = s3lite::s3::multipart::ListMultipartUploadsRequest {
            bucket: BUCKETS[bucket].into(),
            max_uploads: Some(page),
            ..Default::default()
        };
        if !self.model.buckets.contains_key(BUCKETS[bucket]) {
            return assert_eq!(code(&s3.list_multipart_uploads(req)), Some("NoSuchBucket"));
        }
        let mut got = Vec::new();
        loop {
            let out = s3.list_multipart_uploads(req.clone()).unwrap();
            got.extend(out.uploads.iter().map(|u| (u.key.clone(), u.upload_id.clone())));
            if !out.is_truncated {
                break;
            }
            req.key_marker = out.next_key_marker;
            req.upload_id_marker = out.next_upload_id_marker;
        }
        // Keys in byte order, one key's uploads in the order they began.
        let mut want: Vec<(String, String)> = Vec::new();
        for k in KEYS {
            want.extend(
                self.model
                    .uploads
                    .iter()
                    .filter(|u| u.0 == BUCKETS[bucket] && u.1 == k)
                    .map(|u| (u.1.clone(), u.2.clone())),
            );
        }
        assert_eq!(got, want);
    }

    fn check_versions(&self, bucket: usize, page: i32) {
        let s3 = self.s3();
        let mut req = ListObjectVersionsRequest {
            bucket: BUCKETS[bucket].into(),
            max_keys: Some(page),
            ..Default::default()
        };
        let Some(m) = self.model.buckets.get(BUCKETS[bucket]) else {
            return assert_eq!(code(&s3.list_object_versions(req)), Some("NoSuchBucket"));
        };
        let mut got = Vec::new();
        loop {
            let out = s3.list_object_versions(req.clone()).unwrap();
            got.extend(
                out.entries
                    .iter()
                    .map(|v| (v.key.clone(), v.version_id.clone(), v.is_latest, v.is_delete_marker)),
            );
            if !out.is_truncated {
                break;
            }
            req.key_marker = out.next_key_marker;
            req.version_id_marker = out.next_version_id_marker;
        }
        let want: Vec<_> = m
            .keys
            .iter()
            .flat_map(|(k, vs)| {
                vs.iter().enumerate().map(move |(i, v)| (k.clone(), v.id.clone(), i == 0, v.body.is_none()))
            })
            .collect();
        assert_eq!(got, want);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn store_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        agrees_with_the_model(&ops, None);
    }

    /// The same suite on a store that seals every object by default (SSE-S3, as S3 since 2023).
    #[test]
    fn store_with_default_encryption_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        agrees_with_the_model(&ops, Some(std::sync::Arc::new(s3lite::crypto::MasterKeys::generate())));
    }
}

fn agrees_with_the_model(ops: &[Op], keys: Option<std::sync::Arc<s3lite::crypto::MasterKeys>>) {
    let mut h = Harness { sim: SimStorage::new(), keys, store: None, model: Model::default(), step: 0 };
    h.store = Some(h.open());
    h.run(&Op::CreateBucket(0));
    h.run(&Op::CreateBucket(1));
    for op in ops {
        h.run(op);
    }
    // Finally, everything survives a crash and reopen.
    h.run(&Op::Crash);
    for b in 0..BUCKETS.len() {
        h.check_versions(b, 1000);
        h.check_list(b, "", true, 1000);
        h.check_uploads(b, 1000);
    }
}
