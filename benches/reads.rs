//! GET benchmarks at the page-cache limit: 4 KiB, 64 KiB and 1 MiB bodies, every one warm in the
//! page cache, read by s3lite (`read_to_vec`, the whole body into a buffer the caller keeps, and
//! `write_to`, streamed to a sink; from active segments by `pread`, and `sealed` from sealed
//! segments through their maps) next to one file per object read whole with `std::fs::read`
//! and copying the same bytes in memory, all in the same run.
//!
//! `cargo bench --bench reads`; compare the bytes/s of each line within one size.
#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use s3lite::{Durability, GetOptions, PutOptions, Store};

/// Objects per size: more bytes than the last-level cache (16 MiB here) for the larger sizes, so
/// that a read comes from the page cache, not the CPU's; at most 2,048 (4 KiB gets are bound by
/// their per-call cost, not by bytes).
fn count(size: usize) -> usize {
    ((64 << 20) / size).min(2048)
}

/// Segment size of the store whose segments are sealed: 16 MiB, so that 64 MiB of objects fill
/// four sealed segments.
const SEALED_SEGMENT_BYTES: u64 = 16 << 20;

fn body(size: usize, seed: usize) -> Vec<u8> {
    (0..size).map(|i| ((i + seed).wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

fn gets(c: &mut Criterion) {
    for (name, size) in [("4k", 4096usize), ("64k", 64 << 10), ("1m", 1 << 20)] {
        let mut g = c.benchmark_group(format!("get_{name}"));
        g.throughput(Throughput::Bytes(size as u64)).sample_size(20).measurement_time(Duration::from_secs(3));
        let n = count(size);
        let dir = tempfile::tempdir().unwrap();
        let store = Store::builder(dir.path().join("s3lite")).open().unwrap();
        let bucket = store.create_bucket("bench").unwrap();
        let files = dir.path().join("files");
        std::fs::create_dir_all(&files).unwrap();
        let data = body(size, 0);
        // Written without a sync each (only the reads are measured).
        let eventual = PutOptions {
            durability: Some(Durability::Eventual { flush_interval_ms: 0 }),
            ..PutOptions::default()
        };
        // The same objects in a store whose segments are sealed (read through their maps, as every
        // segment but a partition's active one is): small segments, then filler past one segment,
        // so that the last object's segment is sealed too.
        let sealed_store = Store::builder(dir.path().join("sealed"))
            .partitions(1)
            .segment_bytes(SEALED_SEGMENT_BYTES)
            .open()
            .unwrap();
        let sealed_bucket = sealed_store.create_bucket("bench").unwrap();
        for i in 0..n {
            store.put_bytes(bucket, &format!("o{i:06}"), &data, &eventual).unwrap();
            sealed_store.put_bytes(sealed_bucket, &format!("o{i:06}"), &data, &eventual).unwrap();
            std::fs::write(files.join(format!("o{i:06}")), &data).unwrap();
        }
        let filler = vec![0u8; 1 << 20];
        for i in 0..(SEALED_SEGMENT_BYTES >> 20) + 1 {
            sealed_store.put_bytes(sealed_bucket, &format!("zz-filler-{i}"), &filler, &eventual).unwrap();
        }
        // Random order, the same for every reader; a warm-up pass reads everything once.
        let order: Vec<String> = (0..n).map(|i| format!("o{:06}", (i * 7919 + 13) % n)).collect();
        for k in &order {
            std::hint::black_box(std::fs::read(files.join(k)).unwrap());
            let (_, mut r) = store.get(bucket, k, &GetOptions::default()).unwrap();
            std::hint::black_box(r.read_to_vec().unwrap());
            let (_, mut r) = sealed_store.get(sealed_bucket, k, &GetOptions::default()).unwrap();
            std::hint::black_box(r.read_to_vec().unwrap());
        }
        let mut next = 0usize;
        let mut key = move || {
            next = (next + 1) % n;
            next
        };
        g.bench_function(BenchmarkId::new("file_per_object", size), |b| {
            b.iter(|| std::hint::black_box(std::fs::read(files.join(&order[key()])).unwrap()));
        });
        g.bench_function(BenchmarkId::new("s3lite_read_to_vec", size), |b| {
            b.iter(|| {
                let (_, mut r) = store.get(bucket, &order[key()], &GetOptions::default()).unwrap();
                std::hint::black_box(r.read_to_vec().unwrap())
            });
        });
        g.bench_function(BenchmarkId::new("s3lite_write_to", size), |b| {
            b.iter(|| {
                let (_, mut r) = store.get(bucket, &order[key()], &GetOptions::default()).unwrap();
                r.write_to(&mut std::io::sink()).unwrap()
            });
        });
        g.bench_function(BenchmarkId::new("s3lite_sealed_read_to_vec", size), |b| {
            b.iter(|| {
                let (_, mut r) =
                    sealed_store.get(sealed_bucket, &order[key()], &GetOptions::default()).unwrap();
                std::hint::black_box(r.read_to_vec().unwrap())
            });
        });
        g.bench_function(BenchmarkId::new("s3lite_sealed_write_to", size), |b| {
            b.iter(|| {
                let (_, mut r) =
                    sealed_store.get(sealed_bucket, &order[key()], &GetOptions::default()).unwrap();
                r.write_to(&mut std::io::sink()).unwrap()
            });
        });
        // The limit: copying the same number of bytes out of a buffer larger than the caches.
        let src = body(64 << 20, 1);
        let mut dst = vec![1u8; size];
        let mut at = 0usize;
        g.bench_function(BenchmarkId::new("memcpy_limit", size), |b| {
            b.iter(|| {
                at = (at + size) % src.len();
                dst.copy_from_slice(&src[at..at + size]);
                std::hint::black_box(&dst);
            });
        });
        g.finish();
    }
}

criterion_group!(benches, gets);
criterion_main!(benches);
