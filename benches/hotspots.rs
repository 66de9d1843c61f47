//! Hot-spot bench: durable 1 KiB puts from 4 threads with sequential and random-prefix keys, under
//! prefix hashing (4 bytes) and whole-key hashing. `cargo bench --bench hotspots`.
#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use s3lite::{PutOptions, Store};

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

criterion_group!(benches, hotspots);
criterion_main!(benches);
