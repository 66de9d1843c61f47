//! Compaction against this machine's limits, in one run:
//!
//! - **throughput**: a store half of whose bytes are dead is compacted; the live bytes it copies per
//!   second are set against a plain sequential copy of as many bytes (read a cached file, write a
//!   new one, fsync) measured right after;
//! - **foreground latency**: one writer's durable 4 KiB puts, p50 and p99, alone and while a
//!   compaction of a large dead set runs (unpaced, and paced by the background compactor).
//!
//! `cargo run --release --example compaction -- [--mib N] [--runs N] [--pace MIB_PER_S] [--dir PATH]
//! [--only throughput|on-demand|background]` (default 256 MiB of dead and live data, one run, the background compactor's default pace, in a
//! temporary directory under the working directory's `target/`). Each run measures every figure
//! anew; the ratios of all runs are summed up at the end.

#[path = "support/compaction_setup.rs"]
mod setup;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use s3lite::{BackgroundCompaction, BucketId, CompactionPolicy, PutOptions, Store};
use setup::{CopySource, Res, body, half_dead};

/// Latencies of durable 4 KiB puts by one writer, sorted.
struct Latencies(Vec<Duration>);

impl Latencies {
    fn ms(&self, per_cent: usize) -> f64 {
        let n = self.0.len();
        self.0.get((n * per_cent / 100).min(n.saturating_sub(1))).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}

/// Durable 4 KiB puts by one writer until `n` are done or `stop` says so (checked every 50 puts).
fn puts(store: &Store, b: BucketId, tag: &str, n: usize, stop: &dyn Fn() -> bool) -> Res<Latencies> {
    let data = body(9, 4096);
    let mut lat = Vec::with_capacity(n.min(PUTS));
    while lat.len() < n && !(lat.len() % 50 == 0 && stop()) {
        let t = Instant::now();
        store.put_bytes(b, &format!("fg/{tag}/{}", lat.len() % 500), &data, &PutOptions::default())?;
        lat.push(t.elapsed());
    }
    lat.sort();
    Ok(Latencies(lat))
}

/// Puts a warm-up, then the baseline of a store: puts alone.
fn alone(store: &Store, b: BucketId) -> Res<Latencies> {
    puts(store, b, "warm", 200, &|| false)?;
    puts(store, b, "alone", PUTS, &|| false)
}

/// Puts measured alone and during each compaction.
const PUTS: usize = 2000;

/// Prints the puts' p50 and p99 `what`, and alone; returns the ratio of the p99s.
fn report(what: &str, during: &Latencies, base: &Latencies) -> f64 {
    let ratio = during.ms(99) / base.ms(99);
    println!(
        "4 KiB durable put {what}: p50 {:.3} ms, p99 {:.3} ms; alone p50 {:.3} ms, p99 {:.3} ms; p99 ratio \
         {ratio:.2}",
        during.ms(50),
        during.ms(99),
        base.ms(50),
        base.ms(99)
    );
    ratio
}

/// Compaction MB/s and a plain copy's of as many bytes; returns their ratio.
fn throughput(dir: &Path, mib: usize) -> Res<f64> {
    let (store, _) = half_dead(&dir.join("t"), mib)?;
    let t = Instant::now();
    let report = store.compact_with(&CompactionPolicy::everything())?;
    let compact_s = t.elapsed().as_secs_f64();
    let copied = report.bytes_out;
    drop(store);
    let copy_s = CopySource::new(dir, copied)?.copy()?.as_secs_f64();
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
    std::fs::remove_dir_all(dir.join("t"))?;
    Ok(copy_s / compact_s)
}

/// p99 during an on-demand compaction (unpaced) over p99 alone in the same store.
fn unpaced(dir: &Path, mib: usize) -> Res<f64> {
    let (store, b) = half_dead(&dir.join("l"), mib)?;
    let base = alone(&store, b)?;
    let running = AtomicBool::new(true);
    let during = std::thread::scope(|s| -> Res<Latencies> {
        let compactor = s.spawn(|| {
            let t = Instant::now();
            let r = store.compact_with(&CompactionPolicy::everything()).map(|r| (r.bytes_out, t.elapsed()));
            running.store(false, Ordering::Relaxed);
            r
        });
        // Only the puts made while the compaction runs count.
        let lat = puts(&store, b, "during", usize::MAX, &|| !running.load(Ordering::Relaxed))?;
        let (out, took) = compactor.join().expect("compaction thread")?;
        println!("  (the on-demand compaction wrote {} MB in {:.2} s)", out / 1_000_000, took.as_secs_f64());
        Ok(lat)
    })?;
    let ratio = report(&format!("during an on-demand compaction ({} puts)", during.0.len()), &during, &base);
    drop(store);
    std::fs::remove_dir_all(dir.join("l"))?;
    Ok(ratio)
}

/// p99 while the background compactor runs at `pace` over p99 alone in the same store.
fn paced(dir: &Path, mib: usize, pace: Option<u64>) -> Res<f64> {
    let (store, b) = half_dead(&dir.join("p"), mib)?;
    let base = alone(&store, b)?;
    // The compactor's work: the sealed segments past the default thresholds (a quarter dead).
    let work: u64 = store
        .segment_stats()
        .iter()
        .filter(|s| s.sealed && s.dead_bytes() * 4 >= s.bytes)
        .map(|s| s.bytes)
        .sum();
    let settings =
        BackgroundCompaction { bytes_per_sec: pace, interval_ms: 10, ..BackgroundCompaction::default() };
    store.start_background_compaction(settings)?;
    // Only the puts made before the compactor has done its work count.
    let during =
        puts(&store, b, "paced", usize::MAX, &|| store.background_compaction_report().bytes_in >= work)?;
    store.stop_background_compaction();
    let done = store.background_compaction_report();
    let pace = pace.map_or_else(|| "unpaced".to_string(), |p| format!("paced at {} MiB/s", p >> 20));
    let what = format!(
        "during background compaction {pace} ({} MB rewritten, {} puts)",
        done.bytes_out / 1_000_000,
        during.0.len()
    );
    let ratio = report(&what, &during, &base);
    drop(store);
    std::fs::remove_dir_all(dir.join("p"))?;
    Ok(ratio)
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let mib: usize = arg("--mib").map_or(Ok(256), |v| v.parse())?;
    let runs: usize = arg("--runs").map_or(Ok(1), |v| v.parse())?;
    let pace = match arg("--pace") {
        Some(v) => Some(v.parse::<u64>()? << 20),
        None => BackgroundCompaction::default().bytes_per_sec,
    };
    let only = arg("--only");
    let base = arg("--dir").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    std::fs::create_dir_all(&base)?;
    let tmp = tempfile::tempdir_in(&base)?;
    let dir = tmp.path();
    let mut ratios: [Vec<f64>; 3] = Default::default();
    for run in 1..=runs {
        println!("run {run} of {runs}");
        let run_it = |name: &str| only.as_deref().is_none_or(|o| o == name);
        if run_it("throughput") {
            ratios[0].push(throughput(dir, mib)?);
        }
        if run_it("on-demand") {
            ratios[1].push(unpaced(dir, mib)?);
        }
        if run_it("background") {
            ratios[2].push(paced(dir, mib, pace)?);
        }
    }
    let range = |v: &[f64]| {
        let (lo, hi) = v.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        format!("{lo:.2}–{hi:.2} ({})", v.iter().map(|x| format!("{x:.2}")).collect::<Vec<_>>().join(", "))
    };
    println!("over {runs} runs:");
    let names =
        ["compaction / plain copy", "p99 ratio, on-demand compaction", "p99 ratio, background compactor"];
    for (name, v) in names.iter().zip(&ratios).filter(|(_, v)| !v.is_empty()) {
        println!("  {name}: {}", range(v));
    }
    Ok(())
}
