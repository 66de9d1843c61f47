//! Engine benchmarks: durable 4 KiB puts with 1, 2 and 16 writers and random 4 KiB gets, measured
//! next to two references in the same run: this machine's limit for one writer (4 KiB append +
//! fdatasync in a loop) and a plain "one file per object, fsync each" store.
//!
//! `cargo bench --bench engine`; compare the elements/s of each line within one run.
#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use s3lite::{GetOptions, PutOptions, Store};

const BODY: usize = 4096;

/// Runs `iters` operations split over `threads` threads; `op(thread, i)` does one.
fn parallel(iters: u64, threads: u64, op: impl Fn(u64, u64) + Sync) -> Duration {
    let per = iters.div_ceil(threads);
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let op = &op;
            s.spawn(move || {
                for i in 0..per {
                    op(t, i);
                }
            });
        }
    });
    start.elapsed()
}

fn put_small(c: &mut Criterion) {
    let mut g = c.benchmark_group("put_small");
    g.throughput(Throughput::Elements(1)).sample_size(10).measurement_time(Duration::from_secs(4));
    let body = vec![7u8; BODY];

    let dir = tempfile::tempdir().unwrap();
    let mut log = OpenOptions::new().create(true).append(true).open(dir.path().join("log")).unwrap();
    g.bench_function(BenchmarkId::new("fdatasync_limit", 1), |b| {
        b.iter(|| {
            log.write_all(&body).unwrap();
            log.sync_data().unwrap();
        });
    });

    for threads in [1u64, 16] {
        let dir = tempfile::tempdir().unwrap();
        let n = AtomicU64::new(0);
        g.bench_function(BenchmarkId::new("file_per_object", threads), |b| {
            b.iter_custom(|iters| {
                parallel(iters, threads, |t, _| {
                    let i = n.fetch_add(1, Ordering::Relaxed);
                    file_put(dir.path(), &format!("o{t}-{i}"), &body);
                })
            });
        });
    }

    for threads in [1u64, 2, 16] {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let bucket = store.create_bucket("bench").unwrap();
        let n = AtomicU64::new(0);
        g.bench_function(BenchmarkId::new("s3lite", threads), |b| {
            b.iter_custom(|iters| {
                parallel(iters, threads, |t, _| {
                    let i = n.fetch_add(1, Ordering::Relaxed);
                    store.put_bytes(bucket, &format!("o{t}-{i}"), &body, &PutOptions::default()).unwrap();
                })
            });
        });
    }
    g.finish();
}

fn file_put(dir: &Path, name: &str, body: &[u8]) {
    let mut f = File::create(dir.join(name)).unwrap();
    f.write_all(body).unwrap();
    f.sync_all().unwrap();
}

fn get_small(c: &mut Criterion) {
    let mut g = c.benchmark_group("get_small");
    g.throughput(Throughput::Elements(1));
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let bucket = store.create_bucket("bench").unwrap();
    let keys = 10_000u64;
    let body = vec![7u8; BODY];
    for i in 0..keys {
        let opts = PutOptions {
            durability: Some(s3lite::Durability::Eventual { flush_interval_ms: 1000 }),
            ..Default::default()
        };
        store.put_bytes(bucket, &format!("o{i}"), &body, &opts).unwrap();
    }
    store.sync().unwrap();
    let mut x = 1u64;
    g.bench_function(BenchmarkId::new("s3lite", 1), |b| {
        b.iter(|| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let (_, mut r) =
                store.get(bucket, &format!("o{}", (x >> 33) % keys), &GetOptions::default()).unwrap();
            assert_eq!(r.read_to_vec().unwrap().len(), BODY);
        });
    });
    // The same objects in 1 MiB segments: nearly all of them sealed, read like any sealed data.
    let sdir = tempfile::tempdir().unwrap();
    let sealed = Store::builder(sdir.path()).segment_bytes(1 << 20).chunk_bytes(256 << 10).open().unwrap();
    let sbucket = sealed.create_bucket("bench").unwrap();
    for i in 0..keys {
        let opts = PutOptions {
            durability: Some(s3lite::Durability::Eventual { flush_interval_ms: 1000 }),
            ..Default::default()
        };
        sealed.put_bytes(sbucket, &format!("o{i}"), &body, &opts).unwrap();
    }
    sealed.sync().unwrap();
    g.bench_function(BenchmarkId::new("s3lite_sealed_segments", 1), |b| {
        b.iter(|| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let (_, mut r) =
                sealed.get(sbucket, &format!("o{}", (x >> 33) % keys), &GetOptions::default()).unwrap();
            assert_eq!(r.read_to_vec().unwrap().len(), BODY);
        });
    });
    let fdir = tempfile::tempdir().unwrap();
    for i in 0..keys {
        std::fs::write(fdir.path().join(format!("o{i}")), &body).unwrap();
    }
    g.bench_function(BenchmarkId::new("file_per_object", 1), |b| {
        b.iter(|| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let v = std::fs::read(fdir.path().join(format!("o{}", (x >> 33) % keys))).unwrap();
            assert_eq!(v.len(), BODY);
        });
    });
    g.finish();
}

criterion_group!(benches, put_small, get_small);
criterion_main!(benches);
