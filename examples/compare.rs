//! s3lite against the crates a Rust user would pick instead, in one process, on the same data:
//! object_store's `LocalFileSystem` and `InMemory`, one file per object with fsync, and redb storing
//! bodies as values (one durable transaction per put). Workloads 4 KiB x 100,000, 64 KiB x 10,000,
//! 1 MiB x 1,000 and one 256 MiB object per stream; phases put, get (random order), list, delete;
//! 1, 2 and 16 threads (16 for small puts). Also measures this machine's limits in the same run.
//!
//! `cargo run --release --example compare -- [--quick] [--csv] [--only 4k|64k|1m|256m] [--gets]`
//!
//! `--gets` runs only what the get ratios need: the 64 KiB and 1 MiB workloads with 1 thread, for
//! s3lite and one file per object (their puts still run, to have the data; the other rows are
//! left out).
//!
//! `--csv` prints `workload,store,threads,phase,ops_per_s,mb_per_s,durable`, with the limits as rows
//! of store `limit`, phase `put`: `4k` (one writer's 4 KiB append + fdatasync rate in ops_per_s; and
//! as store `limit_overwrite` the same writer's 4 KiB pwrite + fdatasync rate into preallocated,
//! already-written blocks, the honest limit for a log that overwrites zeros it wrote earlier),
//! `1m` and `256m` with 1 thread (min(sequential write, MD5) in mb_per_s), `1m` with 2 threads
//! (min(two streams of durable 1 MiB writes, two cores of MD5)) and `256m` with 2 threads (min(two
//! streams of sequential write, two cores of MD5)); and phase `get`, `64k`, `1m` and `256m` with 1
//! thread: memcpy in mb_per_s. MD5 is the `md-5` crate as this build has it (its assembly on x86 and
//! x86_64, as s3lite uses it). `--quick` cuts the counts so the whole matrix takes about two minutes.

use std::error::Error;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use md5::Digest;
use object_store::ObjectStoreExt;
use object_store::path::Path as OsPath;
use object_store::{ObjectStore, PutPayload};
use s3lite::{BucketId, GetOptions, ListOptions, PutOptions, Store};

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Objects each store writes and deletes before a workload is timed: enough for s3lite's 16
/// partitions to have their segments.
const WARMUP_OBJECTS: usize = 64;

/// A key-value store under test.
trait Peer: Send + Sync {
    fn name(&self) -> &'static str;
    fn durable(&self) -> bool;
    fn put(&self, key: &str, data: &[u8]) -> Res<()>;
    fn get(&self, key: &str) -> Res<usize>;
    fn list(&self) -> Res<usize>;
    fn delete(&self, key: &str) -> Res<()>;
}

struct S3lite {
    store: Store,
    bucket: BucketId,
}

impl Peer for S3lite {
    fn name(&self) -> &'static str {
        "s3lite"
    }
    fn durable(&self) -> bool {
        true
    }
    fn put(&self, key: &str, data: &[u8]) -> Res<()> {
        self.store.put_bytes(self.bucket, key, data, &PutOptions::default())?;
        Ok(())
    }
    fn get(&self, key: &str) -> Res<usize> {
        let (_, mut r) = self.store.get(self.bucket, key, &GetOptions::default())?;
        Ok(r.write_to(&mut std::io::sink())? as usize)
    }
    fn list(&self) -> Res<usize> {
        let mut n = 0;
        let mut opts = ListOptions::default();
        loop {
            let page = self.store.list(self.bucket, &opts)?;
            n += page.entries.len();
            if !page.is_truncated {
                return Ok(n);
            }
            opts.start_after = page.entries.last().map(|e| e.key.clone());
        }
    }
    fn delete(&self, key: &str) -> Res<()> {
        self.store.delete(self.bucket, key)?;
        Ok(())
    }
}

struct ObjStore {
    name: &'static str,
    store: Arc<dyn ObjectStore>,
    rt: Arc<tokio::runtime::Runtime>,
}

impl Peer for ObjStore {
    fn name(&self) -> &'static str {
        self.name
    }
    fn durable(&self) -> bool {
        // LocalFileSystem writes a temporary file and renames it, without fsync; InMemory is memory.
        false
    }
    fn put(&self, key: &str, data: &[u8]) -> Res<()> {
        let payload = PutPayload::from(bytes::Bytes::copy_from_slice(data));
        self.rt.block_on(self.store.put(&OsPath::from(key), payload))?;
        Ok(())
    }
    fn get(&self, key: &str) -> Res<usize> {
        let r = self.rt.block_on(async { self.store.get(&OsPath::from(key)).await?.bytes().await })?;
        Ok(r.len())
    }
    fn list(&self) -> Res<usize> {
        use futures::TryStreamExt;
        let all: Vec<_> = self.rt.block_on(self.store.list(None).try_collect())?;
        Ok(all.len())
    }
    fn delete(&self, key: &str) -> Res<()> {
        self.rt.block_on(self.store.delete(&OsPath::from(key)))?;
        Ok(())
    }
}

struct FilePerObject {
    dir: PathBuf,
}

impl Peer for FilePerObject {
    fn name(&self) -> &'static str {
        "file_per_object"
    }
    fn durable(&self) -> bool {
        true
    }
    fn put(&self, key: &str, data: &[u8]) -> Res<()> {
        let mut f = File::create(self.dir.join(key))?;
        f.write_all(data)?;
        f.sync_all()?;
        Ok(())
    }
    fn get(&self, key: &str) -> Res<usize> {
        Ok(std::fs::read(self.dir.join(key))?.len())
    }
    fn list(&self) -> Res<usize> {
        let mut names: Vec<_> =
            std::fs::read_dir(&self.dir)?.map(|e| e.map(|e| e.file_name())).collect::<Result<_, _>>()?;
        names.sort();
        Ok(names.len())
    }
    fn delete(&self, key: &str) -> Res<()> {
        std::fs::remove_file(self.dir.join(key))?;
        Ok(())
    }
}

const TABLE: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("objects");

struct Redb {
    db: redb::Database,
}

impl Peer for Redb {
    fn name(&self) -> &'static str {
        "redb"
    }
    fn durable(&self) -> bool {
        true
    }
    fn put(&self, key: &str, data: &[u8]) -> Res<()> {
        let txn = self.db.begin_write()?;
        txn.open_table(TABLE)?.insert(key, data)?;
        txn.commit()?;
        Ok(())
    }
    fn get(&self, key: &str) -> Res<usize> {
        use redb::ReadableDatabase;
        let txn = self.db.begin_read()?;
        let table = txn.open_table(TABLE)?;
        Ok(table.get(key)?.map_or(0, |v| v.value().len()))
    }
    fn list(&self) -> Res<usize> {
        use redb::{ReadableDatabase, ReadableTable};
        let txn = self.db.begin_read()?;
        let table = txn.open_table(TABLE)?;
        let mut n = 0;
        for row in table.iter()? {
            row?;
            n += 1;
        }
        Ok(n)
    }
    fn delete(&self, key: &str) -> Res<()> {
        let txn = self.db.begin_write()?;
        txn.open_table(TABLE)?.remove(key)?;
        txn.commit()?;
        Ok(())
    }
}

fn make_peers(dir: &Path, rt: &Arc<tokio::runtime::Runtime>) -> Res<Vec<Box<dyn Peer>>> {
    let s3 = dir.join("s3lite");
    let store = Store::open(&s3)?;
    let bucket = store.create_bucket("bench")?;
    let local = dir.join("object_store");
    std::fs::create_dir_all(&local)?;
    let files = dir.join("files");
    std::fs::create_dir_all(&files)?;
    let db = redb::Database::create(dir.join("redb.db"))?;
    let txn = db.begin_write()?;
    txn.open_table(TABLE)?;
    txn.commit()?;
    Ok(vec![
        Box::new(S3lite { store, bucket }),
        Box::new(ObjStore {
            name: "object_store_local",
            store: Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&local)?),
            rt: rt.clone(),
        }),
        Box::new(ObjStore {
            name: "object_store_memory",
            store: Arc::new(object_store::memory::InMemory::new()),
            rt: rt.clone(),
        }),
        Box::new(FilePerObject { dir: files }),
        Box::new(Redb { db }),
    ])
}

struct Row {
    workload: &'static str,
    store: &'static str,
    threads: usize,
    phase: &'static str,
    ops_per_s: f64,
    mb_per_s: f64,
    durable: bool,
}

/// Runs `f(i)` for i in 0..count over `threads` threads; returns seconds.
fn timed(count: usize, threads: usize, f: &(dyn Fn(usize) -> Res<()> + Sync)) -> Res<f64> {
    let start = Instant::now();
    let failed: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || (t..count).step_by(threads).try_for_each(f).err().map(|e| e.to_string()))
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().expect("worker")).collect()
    });
    if let Some(e) = failed.first() {
        return Err(e.clone().into());
    }
    Ok(start.elapsed().as_secs_f64())
}

fn run_workload(
    peer: &dyn Peer,
    workload: &'static str,
    size: usize,
    count: usize,
    threads: usize,
    data: &[u8],
    rows: &mut Vec<Row>,
) -> Res<()> {
    let key = |i: usize| format!("{workload}-t{threads}-{i:07}");
    // Warm up untimed, with objects of the workload's size (at most 1 MiB): files, segments (one per
    // partition for s3lite), worker threads and buffers exist before the clock starts, so that a
    // short run measures the steady state rather than start-up.
    let warm = |i: usize| format!("warmup-{i:03}");
    for i in 0..WARMUP_OBJECTS {
        peer.put(&warm(i), &data[..size.min(1 << 20)])?;
    }
    for i in 0..WARMUP_OBJECTS {
        peer.delete(&warm(i))?;
    }
    let mut push = |phase, secs: f64, n: usize, bytes: usize| {
        rows.push(Row {
            workload,
            store: peer.name(),
            threads,
            phase,
            ops_per_s: n as f64 / secs,
            mb_per_s: bytes as f64 / secs / 1e6,
            durable: peer.durable(),
        });
    };
    let secs = timed(count, threads, &|i| peer.put(&key(i), &data[..size]))?;
    push("put", secs, count, count * size);
    // Random order, the same for every store.
    let order: Vec<usize> = (0..count).map(|i| (i * 7919 + 13) % count).collect();
    let secs = timed(count, threads, &|i| {
        let n = peer.get(&key(order[i]))?;
        if n != size { Err(format!("{}: read {n} bytes, wrote {size}", peer.name()).into()) } else { Ok(()) }
    })?;
    push("get", secs, count, count * size);
    let start = Instant::now();
    let listed = peer.list()?;
    push("list", start.elapsed().as_secs_f64(), listed, 0);
    let secs = timed(count, threads, &|i| peer.delete(&key(i)))?;
    push("delete", secs, count, 0);
    Ok(())
}

/// This machine's limits, measured now: one writer's 4 KiB append + fdatasync rate; sequential
/// write with fdatasync (one stream of 256 MiB, and two of 128 MiB each side by side), durable 1 MiB
/// writes (one and two streams) and MD5, in MB/s. Each is the best of three tries, so that a first
/// touch of memory or a busy neighbour lowers no limit (a higher limit is the stricter reference).
fn limits(dir: &Path, data: &[u8]) -> Res<Limits> {
    let mut f = OpenOptions::new().create(true).append(true).open(dir.join("limit.log"))?;
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed().as_secs_f64() < 1.5 {
        f.write_all(&data[..4096])?;
        f.sync_data()?;
        n += 1;
    }
    let fsync_rate = f64::from(n) / start.elapsed().as_secs_f64();
    let overwrite_rate = overwrite_sync_rate(dir, data)?;
    let best =
        |f: &dyn Fn() -> Res<f64>| -> Res<f64> { (0..3).map(|_| f()).try_fold(0.0f64, |b, x| Ok(b.max(x?))) };
    let mib = data.len() >> 20;
    Ok(Limits {
        fsync_rate,
        overwrite_rate,
        seq: best(&|| stream_writes(dir, data, 1, mib, SyncWhen::AtEnd))?,
        seq_two: best(&|| stream_writes(dir, data, 2, mib / 2, SyncWhen::AtEnd))?,
        durable_1m_one: best(&|| stream_writes(dir, data, 1, 64, SyncWhen::EachMib))?,
        durable_1m_two: best(&|| stream_writes(dir, data, 2, 64, SyncWhen::EachMib))?,
        md5: best(&|| {
            let start = Instant::now();
            std::hint::black_box(md5::Md5::digest(data));
            Ok(data.len() as f64 / start.elapsed().as_secs_f64() / 1e6)
        })?,
        memcpy: best(&|| Ok(memcpy_rate(data)))?,
    })
}

/// One writer's 4 KiB `pwrite` + `fdatasync` rate into blocks written (zeros) and synced
/// beforehand: no size or extent changes to commit, only the data. s3lite writes records over zeros
/// it preallocated, so this, not appending, is the limit its one-writer puts can approach.
fn overwrite_sync_rate(dir: &Path, data: &[u8]) -> Res<f64> {
    use std::os::unix::fs::FileExt;
    const FILE_BYTES: u64 = 64 << 20;
    let path = dir.join("limit.overwrite");
    let f = File::create(&path)?;
    let zeros = vec![0u8; 1 << 20];
    for at in (0..FILE_BYTES).step_by(zeros.len()) {
        f.write_all_at(&zeros, at)?;
    }
    f.sync_all()?;
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < 1.5 {
        // Round the file again if the device is faster than 64 MiB per 1.5 s of 4 KiB syncs.
        f.write_all_at(&data[..4096], (n * 4096) % FILE_BYTES)?;
        f.sync_data()?;
        n += 1;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    std::fs::remove_file(path)?;
    Ok(rate)
}

/// MB/s of copying `data` in 1 MiB pieces into a buffer touched beforehand (so that the figure is
/// the copy, not page faults).
fn memcpy_rate(data: &[u8]) -> f64 {
    let mut to = vec![1u8; data.len()];
    let start = Instant::now();
    for (dst, src) in to.chunks_mut(1 << 20).zip(data.chunks(1 << 20)) {
        dst.copy_from_slice(src);
    }
    std::hint::black_box(&to);
    data.len() as f64 / start.elapsed().as_secs_f64() / 1e6
}

/// When a limit's writer syncs.
#[derive(Clone, Copy, PartialEq)]
enum SyncWhen {
    /// Once, after all its bytes (sequential write).
    AtEnd,
    /// After each MiB, dropping the synced pages from the page cache as s3lite can (a durable 1 MiB
    /// put's I/O without hashing; the figure is the device's, not the page cache's).
    EachMib,
}

/// MB/s of `streams` threads each writing `mib` MiB in 1 MiB calls to a file of its own.
fn stream_writes(dir: &Path, data: &[u8], streams: usize, mib: usize, sync: SyncWhen) -> Res<f64> {
    use std::os::unix::fs::FileExt;
    let start = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..streams)
            .map(|t| {
                s.spawn(move || -> std::io::Result<()> {
                    let path = dir.join(format!("limit.stream{t}"));
                    let f = File::create(&path)?;
                    for (i, piece) in data.chunks(1 << 20).take(mib).enumerate() {
                        let at = (i as u64) << 20;
                        f.write_all_at(piece, at)?;
                        if sync == SyncWhen::EachMib {
                            f.sync_data()?;
                            let len = std::num::NonZeroU64::new(1 << 20);
                            rustix::fs::fadvise(&f, at, len, rustix::fs::Advice::DontNeed)?;
                        }
                    }
                    f.sync_data()?;
                    std::fs::remove_file(path)
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().expect("limit writer"))
    })?;
    Ok((streams * mib) as f64 * 1.048_576 / start.elapsed().as_secs_f64())
}

struct Limits {
    fsync_rate: f64,
    /// 4 KiB pwrite + fdatasync into preallocated, already-written blocks, per second.
    overwrite_rate: f64,
    seq: f64,
    seq_two: f64,
    md5: f64,
    /// Copying memory in 1 MiB pieces, MB/s: what a get of a large body can at best approach.
    memcpy: f64,
    /// Durable 1 MiB writes (write + fdatasync each), MB/s, one and two streams.
    durable_1m_one: f64,
    durable_1m_two: f64,
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let csv = args.iter().any(|a| a == "--csv");
    // `--only 1m` runs one workload (for tuning).
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).cloned();
    let gets = args.iter().any(|a| a == "--gets");
    let workloads: [(&'static str, usize, usize, &[usize]); 4] = if quick {
        [
            ("4k", 4096, 3000, &[1, 2, 16]),
            ("64k", 65536, 500, &[1, 2]),
            ("1m", 1 << 20, 200, &[1, 2]),
            ("256m", 256 << 20, 1, &[1, 2]),
        ]
    } else {
        [
            ("4k", 4096, 100_000, &[1, 2, 16]),
            ("64k", 65536, 10_000, &[1, 2]),
            ("1m", 1 << 20, 1000, &[1, 2]),
            ("256m", 256 << 20, 1, &[1, 2]),
        ]
    };
    let mut data = vec![0u8; 256 << 20];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for b in &mut data {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let rt = Arc::new(tokio::runtime::Builder::new_multi_thread().worker_threads(2).build()?);
    let mut rows = Vec::new();
    let tmp = tempfile::tempdir()?;
    let lim = limits(tmp.path(), &data)?;
    let fsync_rate = lim.fsync_rate;
    let limit_row = |workload, threads, ops_per_s: f64, mb_per_s: f64| Row {
        workload,
        store: "limit",
        threads,
        phase: "put",
        ops_per_s,
        mb_per_s,
        durable: true,
    };
    rows.push(limit_row("4k", 1, fsync_rate, fsync_rate * 4096.0 / 1e6));
    let overwrite_rate = lim.overwrite_rate;
    rows.push(Row {
        store: "limit_overwrite",
        ..limit_row("4k", 1, overwrite_rate, overwrite_rate * 4096.0 / 1e6)
    });
    // A stream goes no faster than the disk takes its writes, nor than one core hashes; two streams
    // no faster than the disk takes two such streams side by side, nor than two cores hash.
    let stream_limits = [
        ("1m", 1, lim.seq.min(lim.md5)),
        ("1m", 2, lim.durable_1m_two.min(2.0 * lim.md5)),
        ("256m", 1, lim.seq.min(lim.md5)),
        ("256m", 2, lim.seq_two.min(2.0 * lim.md5)),
    ];
    // Object sizes in MB, to turn the MB/s limits into objects per second.
    let object_mb = |workload: &str| match workload {
        "64k" => 0.065_536,
        "1m" => 1.048_576,
        _ => 268.435_456,
    };
    for (workload, threads, mb) in stream_limits {
        rows.push(limit_row(workload, threads, mb / object_mb(workload), mb));
    }
    // A get of a large body cannot beat copying it.
    for workload in ["64k", "1m", "256m"] {
        rows.push(Row {
            phase: "get",
            ..limit_row(workload, 1, lim.memcpy / object_mb(workload), lim.memcpy)
        });
    }
    let stream_limit = |workload: &str, threads: usize| {
        stream_limits.iter().find(|l| l.0 == workload && l.1 == threads).map_or(f64::NAN, |l| l.2)
    };
    for (workload, size, count, threads) in workloads {
        if only.as_deref().is_some_and(|o| o != workload) || (gets && !matches!(workload, "64k" | "1m")) {
            continue;
        }
        let threads: &[usize] = if gets { &[1] } else { threads };
        for &t in threads {
            // The 256 MiB workload is one object per stream.
            let count = if workload == "256m" { t } else { count };
            let dir = tempfile::tempdir()?;
            let peers = make_peers(dir.path(), &rt)?;
            let peers =
                peers.into_iter().filter(|p| !gets || matches!(p.name(), "s3lite" | "file_per_object"));
            for peer in peers {
                eprintln!("{workload} x {count}, {t} thread(s): {}", peer.name());
                run_workload(peer.as_ref(), workload, size, count, t, &data, &mut rows)?;
            }
        }
    }
    if csv {
        println!("workload,store,threads,phase,ops_per_s,mb_per_s,durable");
        for r in &rows {
            println!(
                "{},{},{},{},{:.1},{:.1},{}",
                r.workload, r.store, r.threads, r.phase, r.ops_per_s, r.mb_per_s, r.durable
            );
        }
        return Ok(());
    }
    println!(
        "limits (same run): 4 KiB append+fdatasync {fsync_rate:.0}/s; 4 KiB overwrite+fdatasync \
         {overwrite_rate:.0}/s; memcpy {:.0} MB/s; MD5 {:.0} MB/s; sequential \
         write {:.0} MB/s (two streams {:.0}, {:.2}x); durable 1 MiB writes {:.0} MB/s (two streams {:.0}, {:.2}x)",
        lim.memcpy,
        lim.md5,
        lim.seq,
        lim.seq_two,
        lim.seq_two / lim.seq,
        lim.durable_1m_one,
        lim.durable_1m_two,
        lim.durable_1m_two / lim.durable_1m_one
    );
    println!(
        "  stream limits: one stream min(sequential write, MD5) = {:.0} MB/s; two streams: 1m min(durable 1 MiB \
         writes, 2 x MD5) = {:.0}, 256m min(sequential write, 2 x MD5) = {:.0} MB/s\n",
        stream_limit("1m", 1),
        stream_limit("1m", 2),
        stream_limit("256m", 2)
    );
    println!(
        "{:<6} {:>3} {:<7} {:>12} {:>10}   s3lite / peer (ops/s ratio)",
        "load", "thr", "phase", "s3lite op/s", "MB/s"
    );
    let peers = ["object_store_local", "object_store_memory", "file_per_object", "redb"];
    for r in rows.iter().filter(|r| r.store == "s3lite") {
        let ratios: Vec<String> = peers
            .iter()
            .filter_map(|p| {
                rows.iter()
                    .find(|o| {
                        o.store == *p
                            && o.workload == r.workload
                            && o.threads == r.threads
                            && o.phase == r.phase
                    })
                    .map(|o| {
                        format!("{}{} {:.2}", p, if o.durable { "*" } else { "" }, r.ops_per_s / o.ops_per_s)
                    })
            })
            .collect();
        println!(
            "{:<6} {:>3} {:<7} {:>12.0} {:>10.1}   {}",
            r.workload,
            r.threads,
            r.phase,
            r.ops_per_s,
            r.mb_per_s,
            ratios.join("  ")
        );
    }
    println!("\n* durable peers (fsync or durable commit per put). s3lite is durable (Immediate).");
    let s3lite_row = |workload: &str, threads: usize, phase: &str| {
        rows.iter().find(|r| {
            r.store == "s3lite" && r.workload == workload && r.threads == threads && r.phase == phase
        })
    };
    if let Some(p) = s3lite_row("4k", 1, "put") {
        println!(
            "s3lite 4k put, 1 writer: {:.2} of the append+fdatasync limit, {:.2} of the overwrite+fdatasync \
             limit (preallocated, already-written blocks)",
            p.ops_per_s / fsync_rate,
            p.ops_per_s / overwrite_rate
        );
    }
    let file_row = |workload: &str, threads: usize| {
        rows.iter().find(|r| {
            r.store == "file_per_object" && r.workload == workload && r.threads == threads && r.phase == "get"
        })
    };
    for workload in ["64k", "1m"] {
        if let (Some(get), Some(file)) = (s3lite_row(workload, 1, "get"), file_row(workload, 1)) {
            println!(
                "s3lite {workload} get, 1 thread: {:.2} of one file per object, {:.2} of memcpy",
                get.ops_per_s / file.ops_per_s,
                get.mb_per_s / lim.memcpy
            );
        }
    }
    for workload in ["1m", "256m"] {
        if let Some(one) = s3lite_row(workload, 1, "put") {
            print!(
                "s3lite {workload} put, 1 stream: {:.2} of min(sequential write, MD5)",
                one.mb_per_s / stream_limit(workload, 1)
            );
            if workload == "1m" {
                print!(
                    ", {:.2} of min(durable 1 MiB writes, MD5)",
                    one.mb_per_s / lim.durable_1m_one.min(lim.md5)
                );
            }
            if let Some(get) = s3lite_row(workload, 1, "get") {
                print!("; get: {:.2} of memcpy", get.mb_per_s / lim.memcpy);
            }
            if let Some(two) = s3lite_row(workload, 2, "put") {
                print!(
                    "; 2 streams: {:.2}x one, {:.2} of the two-stream limit (1.6x one would be {:.2} of it)",
                    two.mb_per_s / one.mb_per_s,
                    two.mb_per_s / stream_limit(workload, 2),
                    1.6 * one.mb_per_s / stream_limit(workload, 2)
                );
            }
            println!();
        }
    }
    Ok(())
}
