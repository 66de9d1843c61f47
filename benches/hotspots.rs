//! Hot-spot bench: durable 1 KiB puts from 4 threads with sequential and random-prefix keys, under
//! prefix hashing (4 bytes) and whole-key hashing; and the cost of the always-on partition
//! statistics next to the cheapest operations they count. `cargo bench --bench hotspots`.
#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use s3lite::{GetOptions, PutOptions, Store};

fn key(sequential: bool, i: u64) -> String {
    if sequential {
        format!("2026-11-25T08:00:00.{i:09}Z")
    } else {
        format!("{:04x}/2026-11-25T08:00:00.{i:09}Z", (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 48) & 0xffff)
    }
}

fn hotspots(c: &mut Criterion) {
    let mut g = c.benchmark_group("hotspots_4_threads");
    g.throughput(Throughput::Elements(1)).sample_size(10).measurement_time(Duration::from_secs(4));
    for (scheme, prefix_len) in [("whole_key", None), ("prefix4", Some(4))] {
        for sequential in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let mut b = Store::builder(dir.path());
            if let Some(n) = prefix_len {
                b = b.prefix_len(n);
            }
            let store = b.open().unwrap();
            let bucket = store.create_bucket("bench").unwrap();
            let next = AtomicU64::new(0);
            let name = if sequential { "sequential" } else { "random_prefix" };
            g.bench_function(BenchmarkId::new(scheme, name), |bch| {
                bch.iter_custom(|iters| {
                    let start = Instant::now();
                    std::thread::scope(|s| {
                        for _ in 0..4 {
                            s.spawn(|| {
                                for _ in 0..iters.div_ceil(4) {
                                    let i = next.fetch_add(1, Ordering::Relaxed);
                                    store
                                        .put_bytes(
                                            bucket,
                                            &key(sequential, i),
                                            &[7u8; 1024],
                                            &PutOptions::default(),
                                        )
                                        .unwrap();
                                }
                            });
                        }
                    });
                    start.elapsed()
                });
            });
        }
    }
    g.finish();
}

/// The statistics work of one operation, as the engine does it: a put makes eight relaxed atomic
/// read-modify-writes (puts, bytes in, group count, grouped requests, largest group, queue wait,
/// appended bytes, fsyncs) and two clock reads (its queue wait); a get makes two (gets, bytes out).
/// Measured beside an in-memory put and get, the cheapest the engine has (no disk), so the ratio is
/// the largest share statistics can take.
fn stats_overhead(c: &mut Criterion) {
    #[derive(Default)]
    struct Counters([AtomicU64; 8]);
    let counters = Counters::default();
    let mut g = c.benchmark_group("stats_overhead");
    g.throughput(Throughput::Elements(1)).sample_size(20).measurement_time(Duration::from_secs(3));
    g.bench_function("put_statistics", |b| {
        b.iter(|| {
            let queued_at = Instant::now();
            let [puts, bytes_in, groups, grouped, largest, wait, appended, fsyncs] = &counters.0;
            let waited = std::hint::black_box(queued_at).elapsed().as_nanos() as u64;
            wait.fetch_add(waited, Ordering::Relaxed);
            groups.fetch_add(1, Ordering::Relaxed);
            grouped.fetch_add(1, Ordering::Relaxed);
            largest.fetch_max(1, Ordering::Relaxed);
            appended.fetch_add(4096 + 160, Ordering::Relaxed);
            fsyncs.fetch_add(1, Ordering::Relaxed);
            puts.fetch_add(1, Ordering::Relaxed);
            bytes_in.fetch_add(4096, Ordering::Relaxed);
        });
    });
    g.bench_function("get_statistics", |b| {
        b.iter(|| {
            counters.0[0].fetch_add(1, Ordering::Relaxed);
            counters.0[1].fetch_add(std::hint::black_box(4096), Ordering::Relaxed);
        });
    });
    let store = Store::open_in_memory().unwrap();
    let bucket = store.create_bucket("bench").unwrap();
    let body = [7u8; 4096];
    for i in 0..10_000 {
        store.put_bytes(bucket, &format!("k{i:05}"), &body, &PutOptions::default()).unwrap();
    }
    let next = AtomicU64::new(0);
    g.bench_function("in_memory_put_4k", |b| {
        b.iter(|| {
            let i = next.fetch_add(1, Ordering::Relaxed) % 10_000;
            store.put_bytes(bucket, &format!("k{i:05}"), &body, &PutOptions::default()).unwrap();
        });
    });
    g.bench_function("in_memory_get_4k", |b| {
        b.iter(|| {
            let i = next.fetch_add(7919, Ordering::Relaxed) % 10_000;
            let (_, mut r) = store.get(bucket, &format!("k{i:05}"), &GetOptions::default()).unwrap();
            r.write_to(&mut std::io::sink()).unwrap();
        });
    });
    g.finish();
}

criterion_group!(benches, hotspots, stats_overhead);
criterion_main!(benches);
