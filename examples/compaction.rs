//! Compaction against this machine's limits, in one run:
//!
//! - **throughput**: a store half of whose bytes are dead is compacted; the live bytes it copies per
//!   second are set against a plain sequential copy of as many bytes (read a cached file, write a
//!   new one, fsync) measured right after;
//! - **foreground latency**: one writer's durable 4 KiB puts, p50 and p99, alone and while a
//!   compaction of a large dead set runs (unpaced, and paced by the background compactor).
//!
//! `cargo run --release --example compaction -- [--mib N] [--dir PATH]` (default 256 MiB of dead and
//! live data, in a temporary directory under the working directory's `target/`).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use s3lite::{BackgroundCompaction, BucketId, CompactionPolicy, PutOptions, Store};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const OBJECT_BYTES: usize = 64 * 1024;

fn body(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A store holding `mib` MiB written as 64 KiB objects, every key written twice: half dead.
fn half_dead(dir: &Path, mib: usize) -> Res<(Store, BucketId)> {
    // Small segments, so that most of the data is in sealed ones (compaction candidates).
    let store = Store::builder(dir).segment_bytes(16 << 20).chunk_bytes(1 << 20).open()?;
    let b = store.create_bucket("b")?;
    let keys = mib * (1 << 20) / OBJECT_BYTES / 2;
    let eventual = PutOptions {
        durability: Some(s3lite::Durability::Eventual { flush_interval_ms: 1000 }),
        ..Default::default()
    };
    for round in 0..2u64 {
        for i in 0..keys {
            store.put_bytes(
                b,
                &format!("obj/{i:08}"),
                &body(round << 32 | i as u64, OBJECT_BYTES),
                &eventual,
            )?;
        }
    }
    store.sync()?;
    Ok((store, b))
}

/// Seconds to copy `bytes` bytes from a cached file into a new one, synced.
fn plain_copy(dir: &Path, bytes: u64) -> Res<f64> {
    let src = dir.join("copy-src");
    let dst = dir.join("copy-dst");
    let chunk = body(7, 1 << 20);
    let mut f = File::create(&src)?;
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    f.sync_all()?;
    let mut buf = vec![0u8; 1 << 20];
    // Warm: the source in the page cache, as compaction's inputs are.
    let mut r = File::open(&src)?;
    while r.read(&mut buf)? > 0 {}
    let t = Instant::now();
    let mut r = File::open(&src)?;
    let mut w = File::create(&dst)?;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        w.write_all(&buf[..n])?;
    }
    w.sync_all()?;
    let secs = t.elapsed().as_secs_f64();
    std::fs::remove_file(&src)?;
    std::fs::remove_file(&dst)?;
    Ok(secs)
}

/// p50 and p99 of `n` durable 4 KiB puts by one writer, in ms.
fn put_latency(store: &Store, b: BucketId, n: usize, tag: &str) -> Res<(f64, f64)> {
    let data = body(9, 4096);
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        store.put_bytes(b, &format!("fg/{tag}/{}", i % 500), &data, &PutOptions::default())?;
        lat.push(t.elapsed());
    }
    lat.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok((ms(lat[n / 2]), ms(lat[n * 99 / 100])))
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let mib: usize = arg("--mib").map_or(Ok(256), |v| v.parse())?;
    let base = arg("--dir").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    std::fs::create_dir_all(&base)?;
    let tmp = tempfile::tempdir_in(&base)?;
    let dir = tmp.path();

    // Throughput.
    let (store, _) = half_dead(&dir.join("t"), mib)?;
    let t = Instant::now();
    let report = store.compact_with(&CompactionPolicy::everything())?;
    let compact_s = t.elapsed().as_secs_f64();
    let copied = report.bytes_out;
    drop(store);
    let copy_s = plain_copy(dir, copied)?;
    let mbs = |bytes: u64, s: f64| bytes as f64 / s / 1e6;
    println!(
        "compaction: {} MB in, {} MB out in {compact_s:.2} s = {:.0} MB/s copied; plain copy of as many bytes \
         {:.0} MB/s; ratio {:.2}",
        report.bytes_in / 1_000_000,
        copied / 1_000_000,
        mbs(copied, compact_s),
        mbs(copied, copy_s),
        copy_s / compact_s
    );

    // Foreground latency.
    let (store, b) = half_dead(&dir.join("l"), mib)?;
    let n = 2000;
    put_latency(&store, b, 200, "warm")?;
    let (p50, p99) = put_latency(&store, b, n, "alone")?;
    println!("4 KiB durable put alone: p50 {p50:.3} ms, p99 {p99:.3} ms");
    // Only the puts made while the compaction runs count.
    let running = std::sync::atomic::AtomicBool::new(true);
    let (p50_c, p99_c, during) = std::thread::scope(|s| -> Res<(f64, f64, usize)> {
        let compactor = s.spawn(|| {
            let t = Instant::now();
            let r = store.compact_with(&CompactionPolicy::everything()).map(|r| (r.bytes_out, t.elapsed()));
            running.store(false, std::sync::atomic::Ordering::Relaxed);
            r
        });
        let data = body(9, 4096);
        let mut lat = Vec::new();
        while running.load(std::sync::atomic::Ordering::Relaxed) {
            let t = Instant::now();
            store.put_bytes(b, &format!("fg/during/{}", lat.len() % 500), &data, &PutOptions::default())?;
            lat.push(t.elapsed());
        }
        let (out, took) = compactor.join().expect("compaction thread")?;
        println!("  (the compaction wrote {} MB in {:.2} s)", out / 1_000_000, took.as_secs_f64());
        lat.sort();
        let n = lat.len().max(1);
        let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        Ok((ms(lat.get(n / 2)), ms(lat.get(n * 99 / 100)), lat.len()))
    })?;
    println!(
        "4 KiB durable put during an unpaced compaction ({during} puts): p50 {p50_c:.3} ms, p99 {p99_c:.3} ms; \
         p99 ratio {:.2}",
        p99_c / p99
    );
    drop(store);
    let (store, b) = half_dead(&dir.join("p"), mib)?;
    put_latency(&store, b, 200, "warm")?;
    let (_, p99_alone) = put_latency(&store, b, n, "alone")?;
    store.start_background_compaction(BackgroundCompaction {
        policy: CompactionPolicy::default(),
        bytes_per_sec: Some(64 << 20),
        concurrent_rewrites: 1,
        interval_ms: 10,
    })?;
    let (p50_p, p99_p) = put_latency(&store, b, n, "paced")?;
    store.stop_background_compaction();
    let done = store.background_compaction_report();
    println!(
        "4 KiB durable put during background compaction paced at 64 MiB/s ({} MB rewritten): p50 {p50_p:.3} ms, \
         p99 {p99_p:.3} ms; p99 ratio {:.2} (alone in this store: {p99_alone:.3} ms)",
        done.bytes_out / 1_000_000,
        p99_p / p99_alone
    );
    Ok(())
}
