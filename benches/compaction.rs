//! Compaction throughput next to this machine's limit, in the same run: a store of 256 MiB, half of
//! it dead (every 64 KiB object written twice), compacted whole (`CompactionPolicy::everything()`),
//! beside a plain sequential copy of as many bytes as the compaction writes (read a cached file in
//! 1 MiB pieces, write a new one, `fsync` it at the end). Both lines report the bytes written per
//! second; the ratio of their medians is printed at the end.
//!
//! `cargo bench --bench compaction` (about two minutes: every compaction sample builds its store
//! anew, untimed). `S3LITE_BENCH_MIB` sets the store's size.
#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

#[path = "../examples/support/compaction_setup.rs"]
mod setup;

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use parking_lot::Mutex;
use s3lite::{CompactionPolicy, CompactionReport};
use setup::{CopySource, half_dead};

/// Builds a half-dead store of `mib` MiB in `dir` and compacts it; the compaction alone is timed.
fn compact_once(dir: &Path, mib: usize) -> (Duration, CompactionReport) {
    let path = dir.join("store");
    let (store, _) = half_dead(&path, mib).expect("build the store");
    let t = std::time::Instant::now();
    let report = store.compact_with(&CompactionPolicy::everything()).expect("compact");
    let took = t.elapsed();
    drop(store);
    std::fs::remove_dir_all(&path).expect("remove the store");
    (took, report)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn compaction(c: &mut Criterion) {
    let mib: usize = std::env::var("S3LITE_BENCH_MIB").map_or(256, |v| v.parse().expect("a number of MiB"));
    let dir = tempfile::tempdir_in(std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into()))
        .expect("a temporary directory");
    // The bytes a compaction of this data writes: the same for every sample (same data, same
    // segment size), and what the plain copy copies.
    let (_, first) = compact_once(dir.path(), mib);
    let bytes = first.bytes_out;
    let source = CopySource::new(dir.path(), bytes).expect("the copy's source");
    let times: [Mutex<Vec<Duration>>; 2] = Default::default();
    let mut g = c.benchmark_group(format!("compaction_{mib}m"));
    g.throughput(Throughput::Bytes(bytes))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(10));
    g.bench_function("s3lite_compact", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (took, report) = compact_once(dir.path(), mib);
                assert_eq!(report.bytes_out, bytes, "every sample compacts the same data");
                times[0].lock().push(took);
                total += took;
            }
            total
        });
    });
    g.bench_function("plain_copy", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let took = source.copy().expect("copy");
                times[1].lock().push(took);
                total += took;
            }
            total
        });
    });
    g.finish();
    let (compact, copy) = (median(&mut times[0].lock()), median(&mut times[1].lock()));
    let mbs = |d: Duration| bytes as f64 / d.as_secs_f64() / 1e6;
    println!(
        "compaction_{mib}m: {} MB written; medians (warm-ups included): compaction {:.0} MB/s, plain copy {:.0} \
         MB/s; ratio {:.2}",
        bytes / 1_000_000,
        mbs(compact),
        mbs(copy),
        copy.as_secs_f64() / compact.as_secs_f64()
    );
}

criterion_group!(benches, compaction);
criterion_main!(benches);
