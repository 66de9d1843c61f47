//! Server-side encryption against none, in one run: PUT and GET of 4 KiB and 8 MiB objects on a
//! store in a temporary directory (RealStorage, its default durability: every put synced before
//! it returns), once in a store without keys and once sealing every object with SSE-S3
//! (AES-256-GCM in 64 KiB chunks under a fresh data key, `s3lite::crypto`).
//!
//! `cargo bench --bench sse`; the ratios of the lines are what to read. For ratios measured
//! round by round (median and range), `cargo run --profile bench --example sse_compare`.
#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use s3lite::crypto::MasterKeys;
use s3lite::{BucketId, Encryption, GetOptions, PutOptions, Store};

const SIZES: [(usize, &str); 2] = [(4 << 10, "4KiB"), (8 << 20, "8MiB")];

/// A store in `dir`, sealing every put (`sse`) or holding no keys at all.
fn store(dir: &std::path::Path, sse: bool) -> (Store, BucketId, PutOptions) {
    let builder = Store::builder(dir);
    let (store, opts) = if sse {
        let opts = PutOptions { encryption: Some(Encryption::S3), ..PutOptions::default() };
        (builder.key_provider(Arc::new(MasterKeys::generate())).open().unwrap(), opts)
    } else {
        (builder.open().unwrap(), PutOptions::default())
    };
    let b = store.create_bucket("bench").unwrap();
    (store, b, opts)
}

fn sse(c: &mut Criterion) {
    #[cfg(target_arch = "x86_64")]
    eprintln!(
        "aes: {}, pclmulqdq: {}",
        std::arch::is_x86_feature_detected!("aes"),
        std::arch::is_x86_feature_detected!("pclmulqdq")
    );
    for (size, name) in SIZES {
        let data: Vec<u8> = (0..size).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(size as u64))
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(if size > 1 << 20 { 4 } else { 2 }));
        for (mode, sealed) in [("plain", false), ("sse", true)] {
            let dir = tempfile::tempdir().unwrap();
            let (store, b, opts) = store(dir.path(), sealed);
            // Overwrites of one null version: the store does not grow in keys as the bench runs.
            g.bench_function(BenchmarkId::new("put", mode), |bench| {
                bench.iter(|| store.put_bytes(b, "k", &data, &opts).unwrap());
            });
            store.put_bytes(b, "k", &data, &opts).unwrap();
            g.bench_function(BenchmarkId::new("get", mode), |bench| {
                bench.iter(|| {
                    let (_, mut r) = store.get(b, "k", &GetOptions::default()).unwrap();
                    r.read_to_vec().unwrap()
                });
            });
            store.close().unwrap();
        }
        g.finish();
    }
}

criterion_group!(benches, sse);
criterion_main!(benches);
