//! Frozen from the review of the sealed read path (ring, in-place opening of chunk records), the
//! writeback skip for a body's only record and the rewrap of uploads in progress: sealed reads of
//! every shape on both read paths, after compaction and during rewraps; chunk openers on
//! adversarial input; a single-record durable put surviving a crash; parts racing a rewrap and a
//! retirement; and the two findings, fixed: `cache_large_bodies(false)` still drops a one-record
//! large body from the page cache, and a rewrap that is thrown away counts no upload as rewrapped.

mod common;

use std::io::Read;
use std::sync::Arc;

use s3lite::crypto::MasterKeys;
use s3lite::{
    BucketId, ByteRange, CompactionPolicy, CompleteOptions, Encryption, GetOptions, PartOptions, PutOptions,
    Store, UploadOptions,
};

const K: usize = 64 * 1024;

fn get_vec(store: &Store, b: BucketId, key: &str, range: Option<(u64, u64)>) -> s3lite::Result<Vec<u8>> {
    let range = range.map(|(s, e)| ByteRange::Inclusive(s, e - 1));
    let (_, mut r) = store.get(b, key, &GetOptions { range, ..GetOptions::default() })?;
    r.read_to_vec()
}

fn get_stream(
    store: &Store,
    b: BucketId,
    key: &str,
    range: Option<(u64, u64)>,
    step: usize,
) -> Result<Vec<u8>, String> {
    let range = range.map(|(s, e)| ByteRange::Inclusive(s, e - 1));
    let (_, mut r) =
        store.get(b, key, &GetOptions { range, ..GetOptions::default() }).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; step];
    loop {
        let n = r.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    Ok(out)
}

fn ranges(len: u64) -> Vec<(u64, u64)> {
    let mut pts = vec![0u64, 1, len / 3, len / 2, len.saturating_sub(1), len];
    for m in 0..=(len / K as u64 + 1) {
        let b = m * K as u64;
        for d in [b.saturating_sub(1), b, b + 1] {
            pts.push(d);
        }
    }
    pts.retain(|&p| p <= len);
    pts.sort_unstable();
    pts.dedup();
    let mut out = Vec::new();
    for (i, &s) in pts.iter().enumerate() {
        for &e in &pts[i + 1..] {
            if e > s {
                out.push((s, e));
            }
        }
    }
    out
}

fn check_all(store: &Store, b: BucketId, key: &str, want: &[u8], ctx: &str) {
    assert_eq!(get_vec(store, b, key, None).unwrap(), want, "{ctx}: read_to_vec whole");
    assert_eq!(get_stream(store, b, key, None, 7000).unwrap(), want, "{ctx}: stream whole");
    if want.is_empty() {
        return;
    }
    let rs = ranges(want.len() as u64);
    let stride = (rs.len() / 150).max(1);
    for (s, e) in rs.into_iter().step_by(stride) {
        let w = &want[s as usize..e as usize];
        assert_eq!(get_vec(store, b, key, Some((s, e))).unwrap(), w, "{ctx}: read_to_vec {s}..{e}");
        assert_eq!(get_stream(store, b, key, Some((s, e)), 40_000).unwrap(), w, "{ctx}: stream {s}..{e}");
    }
}

/// Single sealed puts of many sizes, stored with several record sizes, read whole and by ranges on
/// both read paths, in the active segment, after sealing, and after compaction moved the records.
#[test]
fn sweep_single_puts_all_record_sizes() {
    for record in [4096u64, 65_536, 100_000, 300_000, 1 << 20] {
        let dir = tempfile::tempdir().unwrap();
        let keys = Arc::new(MasterKeys::generate());
        let store = Store::builder(dir.path())
            .chunk_bytes(record)
            .inline_bytes(1024)
            .segment_bytes(64 << 20)
            .key_provider(keys.clone())
            .open()
            .unwrap();
        let b = store.create_bucket("b").unwrap();
        let sizes = [
            0usize,
            1,
            K - 1,
            K,
            K + 1,
            2 * K,
            4 * K,
            4 * K + 3,
            5 * K,
            16 * K,
            17 * K,
            17 * K + 5,
            33 * K - 1,
        ];
        let opts = PutOptions { encryption: Some(Encryption::S3), ..PutOptions::default() };
        for (i, &n) in sizes.iter().enumerate() {
            store.put(b, &format!("k{n}"), &common::body(i as u64, n)[..], &opts).unwrap();
        }
        for (i, &n) in sizes.iter().enumerate() {
            check_all(
                &store,
                b,
                &format!("k{n}"),
                &common::body(i as u64, n),
                &format!("record {record} size {n} active"),
            );
        }
        store.compact_with(&CompactionPolicy::everything()).unwrap();
        for (i, &n) in sizes.iter().enumerate() {
            check_all(
                &store,
                b,
                &format!("k{n}"),
                &common::body(i as u64, n),
                &format!("record {record} size {n} compacted"),
            );
        }
    }
}

/// Sealed multipart objects: parts of various sizes, each with its own cipher and chunk numbering.
#[test]
fn sweep_multipart() {
    for record in [4096u64, 100_000, 1 << 20] {
        let dir = tempfile::tempdir().unwrap();
        let keys = Arc::new(MasterKeys::generate());
        let store = Store::builder(dir.path())
            .chunk_bytes(record)
            .inline_bytes(1024)
            .segment_bytes(64 << 20)
            .key_provider(keys.clone())
            .open()
            .unwrap();
        let b = store.create_bucket("b").unwrap();
        let layouts: Vec<Vec<usize>> = vec![
            vec![5 << 20, 3 * K],
            vec![5 << 20, K + 1, 0],
            vec![(5 << 20) + 7, 5 << 20, 1],
            vec![5 << 20, 5 << 20],
            vec![0, 3 * K, 0, K + 1, 1, 2 * K, 17 * K, K],
            vec![K, K, K, 16 * K, 100],
        ];
        for (li, parts) in layouts.iter().enumerate() {
            let key = format!("m{li}");
            let up = store
                .create_upload(
                    b,
                    &key,
                    &UploadOptions { encryption: Some(Encryption::S3), ..UploadOptions::default() },
                )
                .unwrap();
            let mut whole = Vec::new();
            let mut names = Vec::new();
            for (pi, &n) in parts.iter().enumerate() {
                let body = common::body((li * 10 + pi) as u64, n);
                store
                    .upload_part(b, &key, &up.upload_id, pi as u32 + 1, &body[..], &PartOptions::default())
                    .unwrap();
                whole.extend_from_slice(&body);
                names.push((pi as u32 + 1, None));
            }
            store.complete_upload(b, &key, &up.upload_id, &names, &CompleteOptions::default()).unwrap();
            let ctx = format!("record {record} layout {li}");
            if whole.len() < (2 << 20) {
                check_all(&store, b, &key, &whole, &ctx);
            }
            assert_eq!(get_vec(&store, b, &key, None).unwrap(), whole, "{ctx}: whole");
            assert_eq!(get_stream(&store, b, &key, None, 70_000).unwrap(), whole, "{ctx}: stream whole");
            let p0 = (parts[0] as u64).max(2 * K as u64 + 5).min(whole.len() as u64 - 1);
            for (s, e) in [
                (0, 1),
                (p0 - 1, p0 + 1),
                (p0 - K as u64, p0 + 2 * K as u64),
                (p0, whole.len() as u64),
                (1, whole.len() as u64),
                (p0 - 3, whole.len() as u64),
                (K as u64, whole.len() as u64 - 1),
            ] {
                if e > whole.len() as u64 || s >= e {
                    continue;
                }
                let w = &whole[s as usize..e as usize];
                assert_eq!(get_vec(&store, b, &key, Some((s, e))).unwrap(), w, "{ctx}: {s}..{e}");
                assert_eq!(
                    get_stream(&store, b, &key, Some((s, e)), 70_000).unwrap(),
                    w,
                    "{ctx}: stream {s}..{e}"
                );
            }
        }
    }
}

/// A durable put whose body is one chunk record (the writeback sync is no longer requested for it)
/// survives a crash that keeps only synced bytes, in every durable mode, also when the segment
/// rotates between the chunk record and the commit record.
#[test]
fn single_record_durable_put_survives_crash() {
    use s3lite::Durability;
    use s3lite::io::{CrashMode, SimStorage};
    for d in [Durability::Immediate, Durability::Paranoid] {
        for sealed in [false, true] {
            for len in [2000usize, 3000, 4096, 5000, 70_000] {
                let sim = SimStorage::new();
                let keys = Arc::new(MasterKeys::generate());
                let mk = || {
                    let b = common::sim_builder(&sim)
                        .partitions(1)
                        .segment_bytes(256 * 1024)
                        .background_writeback(true);
                    if sealed { b.key_provider(keys.clone()) } else { b }
                };
                let store = mk().open().unwrap();
                let b = store.create_bucket("b").unwrap();
                let mut acked = Vec::new();
                for i in 0..40 {
                    let body = common::body(i, len + i as usize * 97);
                    let opts = PutOptions { durability: Some(d), ..PutOptions::default() };
                    store.put(b, &format!("k{i}"), &body[..], &opts).unwrap();
                    acked.push(body);
                }
                sim.crash(CrashMode::DropUnsynced);
                drop(store);
                let store = mk().open().unwrap();
                let b = store.bucket("b").unwrap().id;
                for (i, want) in acked.iter().enumerate() {
                    let got = common::read(&store, b, &format!("k{i}"));
                    assert_eq!(
                        got.as_ref().ok(),
                        Some(want),
                        "{d:?} sealed {sealed} len {len} key k{i}: {:?}",
                        got.as_ref().err()
                    );
                }
            }
        }
    }
}

/// Part uploads and a completion racing rewraps and retirements of the key the upload began under.
#[test]
fn upload_parts_race_rewrap_and_retire() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MasterKeys::generate());
    let store = Arc::new(
        Store::builder(dir.path())
            .chunk_bytes(100_000)
            .inline_bytes(1024)
            .segment_bytes(1 << 20)
            .key_provider(keys.clone())
            .open()
            .unwrap(),
    );
    let b = store.create_bucket("b").unwrap();
    for round in 0..6u64 {
        let key = format!("mp{round}");
        let up = store
            .create_upload(
                b,
                &key,
                &UploadOptions { encryption: Some(Encryption::S3), ..UploadOptions::default() },
            )
            .unwrap()
            .upload_id;
        let old = {
            use s3lite::crypto::KeyProvider;
            keys.active_key().unwrap()
        };
        let s2 = store.clone();
        let (k2, up2) = (key.clone(), up.clone());
        let writer = std::thread::spawn(move || {
            let mut parts = Vec::new();
            for n in 1..=12u32 {
                let body = common::body(round * 100 + n as u64, 150_000 + n as usize);
                s2.upload_part(b, &k2, &up2, n, &body[..], &PartOptions::default())
                    .unwrap_or_else(|e| panic!("part {n}: {e}"));
                parts.push(body);
            }
            parts
        });
        std::thread::sleep(std::time::Duration::from_millis(3 * round));
        keys.rotate().unwrap();
        let r = store.rewrap(old).unwrap();
        let retired = store.retire_key(old);
        let parts = writer.join().unwrap();
        let names: Vec<(u32, Option<[u8; 16]>)> = (1..=12).map(|n| (n, None)).collect();
        store
            .complete_upload(b, &key, &up, &names, &CompleteOptions::default())
            .unwrap_or_else(|e| panic!("round {round}: complete: {e} (rewrap {r:?}, retire {retired:?})"));
        let whole = parts.concat();
        assert_eq!(get_vec(&store, b, &key, None).unwrap(), whole, "round {round}");
        if retired.is_err() {
            // Let a later rewrap take what was left.
            store.rewrap(old).unwrap();
            store.retire_key(old).unwrap_or_else(|e| panic!("round {round}: second retire: {e}"));
        }
    }
}

/// Timing probe (not an assertion of correctness): read_to_vec of a large sealed body in an active
/// segment against the streaming reader.
#[test]
fn chunk_openers_do_not_panic_on_adversarial_input() {
    use s3lite::crypto::Dek;
    use s3lite::crypto::chunks::{BodyCipher, Sealer, sealed_span};
    let mk = |c: usize| BodyCipher::new(&Dek::from_bytes([3; 32]), [9; 7], b"aad".to_vec(), c);
    let mut x: u64 = 0x1234_5678;
    let mut rnd = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m.max(1)
    };
    for c in [1usize, 16, 100, 4096] {
        for plain_len in [0usize, 1, c - 1, c, c + 1, 3 * c, 3 * c + 7] {
            let data = common::body(plain_len as u64, plain_len);
            let mut s = Sealer::new(mk(c));
            let mut sealed = Vec::new();
            s.push(&data, &mut sealed).unwrap();
            s.finish(&mut sealed).unwrap();
            let plain = plain_len as u64;
            for _ in 0..300 {
                let a = rnd(sealed.len() as u64 + 3) as usize;
                let b = (a + rnd(sealed.len() as u64 + 3) as usize).min(sealed.len());
                let a = a.min(b);
                let first = rnd(6);
                let last = rnd(8);
                let pl = if rnd(4) == 0 { rnd(5 * c as u64) } else { plain };
                let mut out = vec![7u8; 3];
                let r = mk(c).open_run(first, last, pl, &sealed[a..b], &mut out);
                if r.is_err() {
                    assert_eq!(out, [7, 7, 7]);
                }
                let mut buf = vec![7u8; 5];
                buf.extend_from_slice(&sealed[a..b]);
                let r = mk(c).open_run_in_place(first, pl, &mut buf, 5);
                if r.is_err() {
                    assert_eq!(buf, [7; 5]);
                }
                let mut buf = sealed[a..b].to_vec();
                let src = rnd(buf.len() as u64 + 2) as usize;
                let _ = mk(c).open_chunk_in_place(first, rnd(2) == 0, &mut buf, src);
            }
            // And the honest spans open to the plaintext.
            if plain > 0 {
                let (f, l, off, len) = sealed_span(0, plain, plain, c);
                let mut out = Vec::new();
                mk(c).open_run(f, l, plain, &sealed[off as usize..(off + len) as usize], &mut out).unwrap();
                assert_eq!(out, data);
            }
        }
    }
}

mod drops {
    use std::io;
    use std::path::Path;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use s3lite::io::{MappedBytes, OpenMode, SimStorage, Storage, StorageFile, StorageLock};

    /// SimStorage that counts `drop_cached` calls (bytes advised away) and syncs.
    #[derive(Debug, Clone)]
    pub struct Counting {
        pub sim: SimStorage,
        pub dropped: Arc<AtomicU64>,
        pub syncs: Arc<AtomicU64>,
    }

    #[derive(Debug)]
    struct File {
        inner: Arc<dyn StorageFile>,
        dropped: Arc<AtomicU64>,
        syncs: Arc<AtomicU64>,
    }

    impl StorageFile for File {
        fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            self.inner.read_exact_at(buf, offset)
        }
        fn read_append_at(&self, out: &mut Vec<u8>, offset: u64, len: usize) -> io::Result<()> {
            self.inner.read_append_at(out, offset, len)
        }
        fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
            self.inner.write_all_at(buf, offset)
        }
        fn len(&self) -> io::Result<u64> {
            self.inner.len()
        }
        fn set_len(&self, len: u64) -> io::Result<()> {
            self.inner.set_len(len)
        }
        fn sync_data(&self) -> io::Result<()> {
            self.syncs.fetch_add(1, Ordering::SeqCst);
            self.inner.sync_data()
        }
        fn sync_all(&self) -> io::Result<()> {
            self.syncs.fetch_add(1, Ordering::SeqCst);
            self.inner.sync_all()
        }
        fn preallocate(&self, len: u64) -> io::Result<()> {
            self.inner.preallocate(len)
        }
        fn drop_cached(&self, _offset: u64, len: u64) {
            self.dropped.fetch_add(len, Ordering::SeqCst);
        }
        fn map(&self) -> io::Result<Arc<dyn MappedBytes>> {
            self.inner.map()
        }
    }

    impl Storage for Counting {
        fn create_dir_all(&self, path: &Path) -> io::Result<()> {
            self.sim.create_dir_all(path)
        }
        fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn StorageFile>> {
            let inner = self.sim.open(path, mode)?;
            Ok(Arc::new(File { inner, dropped: self.dropped.clone(), syncs: self.syncs.clone() }))
        }
        fn exists(&self, path: &Path) -> io::Result<bool> {
            self.sim.exists(path)
        }
        fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
            self.sim.rename(from, to)
        }
        fn remove_file(&self, path: &Path) -> io::Result<()> {
            self.sim.remove_file(path)
        }
        fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
            self.sim.list_dir(path)
        }
        fn sync_dir(&self, path: &Path) -> io::Result<()> {
            self.sim.sync_dir(path)
        }
        fn lock(&self, path: &Path) -> io::Result<Box<dyn StorageLock>> {
            self.sim.lock(path)
        }
    }
}

/// `cache_large_bodies(false)` promises that a large body's chunks are dropped from the page cache
/// once the writeback synced them: a body of one chunk record (1 MiB, under the default 8 MiB
/// records) too, although its writeback sync is otherwise skipped; a small one (under the inline
/// limit) is left cached.
#[test]
fn cache_large_bodies_off_still_drops_single_record_bodies() {
    use std::sync::atomic::Ordering;
    let storage = drops::Counting {
        sim: s3lite::io::SimStorage::new(),
        dropped: Arc::default(),
        syncs: Arc::default(),
    };
    let store = Store::builder("/db")
        .storage(Arc::new(storage.clone()))
        .background_writeback(true)
        .cache_large_bodies(false)
        .inline_bytes(0)
        .open()
        .unwrap();
    let b = store.create_bucket("b").unwrap();
    store.put(b, "small", &common::body(3, 100)[..], &PutOptions::default()).unwrap();
    store.put(b, "one-mib", &common::body(1, 1 << 20)[..], &PutOptions::default()).unwrap();
    // The writeback finishes what it was asked for when the store goes.
    store.close().unwrap();
    let dropped = storage.dropped.load(Ordering::SeqCst);
    assert!(dropped >= 1 << 20, "the 1 MiB body's only record was not dropped ({dropped} bytes advised)");
    assert!(dropped < (1 << 20) + 4096, "the small body was dropped too ({dropped} bytes advised)");
}

/// A rewrap whose batch holds an upload's start record and a damaged segment: the rewrite is
/// abandoned (nothing of it committed), yet the report counts the upload as rewrapped, and as left.
#[test]
fn rewrap_report_counts_an_abandoned_upload_rewrap() {
    use common::segments::{DATA_START, records, segment_files, segment_id_of};
    use s3lite::crypto::KeyProvider;
    use s3lite::format::record::RecordKind;
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MasterKeys::generate());
    let store =
        common::small(Store::builder(dir.path())).partitions(1).key_provider(keys.clone()).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let old = keys.active_key().unwrap();
    let up = store
        .create_upload(
            b,
            "mp",
            &UploadOptions { encryption: Some(Encryption::S3), ..UploadOptions::default() },
        )
        .unwrap()
        .upload_id;
    store.upload_part(b, "mp", &up, 1, &common::body(9, 5000)[..], &PartOptions::default()).unwrap();
    let opts = PutOptions { encryption: Some(Encryption::S3), ..PutOptions::default() };
    for i in 0..40 {
        store.put(b, &format!("k{i}"), &common::body(i, 20_000)[..], &opts).unwrap();
    }
    // Damage the last chunk record of the newest sealed segment (its header CRC then fails).
    let mut segs: Vec<_> = segment_files(dir.path());
    segs.sort_by_key(|p| segment_id_of(p));
    let sealed: Vec<_> = segs
        .iter()
        .filter(|p| {
            let bytes = std::fs::read(p).unwrap();
            records(&bytes).iter().any(|(_, h)| h.kind == RecordKind::Seal)
        })
        .cloned()
        .collect();
    assert!(sealed.len() >= 2, "{segs:?}");
    let victim = sealed.last().unwrap();
    let bytes = std::fs::read(victim).unwrap();
    let (at, _) = *records(&bytes).iter().rfind(|(_, h)| h.kind == RecordKind::Chunk).unwrap();
    assert!(at >= DATA_START);
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new().write(true).open(victim).unwrap();
        f.write_all_at(&[bytes[at + 70] ^ 0xff], (at + 70) as u64).unwrap();
    }
    keys.rotate().unwrap();
    let report = store.rewrap(old).unwrap();
    eprintln!("{report:?}");
    assert!(!report.damaged.is_empty(), "the damage is found: {report:?}");
    let usage = store.key_usage(old).unwrap();
    assert_eq!(report.uploads_left, usage.uploads, "{report:?}");
    assert!(
        report.uploads_rewrapped + report.uploads_left <= 1,
        "one upload, reported rewrapped {} times and left {} times: {report:?}",
        report.uploads_rewrapped,
        report.uploads_left
    );
}

/// Sealed reads on both paths (whole and ranges) while compactions and rewraps move the records.
#[test]
fn sealed_reads_during_compaction_and_rewrap() {
    use s3lite::crypto::KeyProvider;
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MasterKeys::generate());
    let store = Arc::new(
        Store::builder(dir.path())
            .chunk_bytes(300_000)
            .inline_bytes(1024)
            .segment_bytes(2 << 20)
            .partitions(1)
            .key_provider(keys.clone())
            .open()
            .unwrap(),
    );
    let b = store.create_bucket("b").unwrap();
    let opts = PutOptions { encryption: Some(Encryption::S3), ..PutOptions::default() };
    let sizes = [1usize, K, 5 * K + 3, 16 * K, 20 * K + 1];
    for (i, &n) in sizes.iter().enumerate() {
        store.put(b, &format!("k{i}"), &common::body(i as u64, n)[..], &opts).unwrap();
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (s2, stop2, k2) = (store.clone(), stop.clone(), keys.clone());
    let mover = std::thread::spawn(move || {
        let mut n = 0;
        while !stop2.load(std::sync::atomic::Ordering::SeqCst) {
            // Overwrites leave dead bytes, so every compaction has work.
            s2.put(
                b,
                "churn",
                &common::body(99, 40_000)[..],
                &PutOptions { encryption: Some(Encryption::S3), ..PutOptions::default() },
            )
            .unwrap();
            s2.compact_with(&CompactionPolicy::everything()).unwrap();
            if n % 3 == 0 {
                let old = k2.active_key().unwrap();
                k2.rotate().unwrap();
                s2.rewrap(old).unwrap();
            }
            n += 1;
        }
        n
    });
    let t = std::time::Instant::now();
    let mut reads = 0;
    while t.elapsed().as_secs() < 8 {
        for (i, &n) in sizes.iter().enumerate() {
            let want = common::body(i as u64, n);
            let key = format!("k{i}");
            assert_eq!(get_vec(&store, b, &key, None).unwrap(), want);
            let (s, e) = (n as u64 / 3, n as u64);
            assert_eq!(get_vec(&store, b, &key, Some((s, e))).unwrap(), &want[s as usize..]);
            assert_eq!(get_stream(&store, b, &key, None, 30_000).unwrap(), want);
            reads += 3;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let moves = mover.join().unwrap();
    eprintln!("{reads} reads during {moves} compactions");
    assert!(moves > 3);
}
