//! The partition hot-spot lab. Writes the same number of objects with timestamp-like sequential keys
//! and with keys that start with random hex characters, under whole-key hashing and under prefix
//! hashing (the first 4 key bytes, as S3 maps prefixes to partitions), with 1, 2 and 4 threads, on a
//! durable on-disk store. Prints throughput, skew (the busiest partition's share of writes) and writer
//! wait per put, and renders a heat map (partitions × time, colour = writes) of the 4-thread runs;
//! then names the busiest partition of each 4-thread run and the key prefixes its load came from
//! (`Store::top_prefixes`).
//!
//! `cargo run --release --example hotspots -- [--objects N] [--out FILE.svg]`
//!
//! Expected picture: with prefix hashing, sequential keys light up one partition and random prefixes
//! spread; with whole-key hashing both spread.
//!
//! Then S3's automatic splitting, emulated on a manual clock (a minute of simulated time in a few
//! seconds): clients offer 30 times a rate partition's write limit; a partition that refuses
//! requests for 5 s in a row splits 10 s later by one more key byte. Random prefixes gain throughput
//! with each split; timestamp keys keep hitting the one partition that holds "now".

use std::error::Error;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use plotters::prelude::*;
use s3lite::clock::ManualClock;
use s3lite::{PartitionSplitting, PrefixLoad, PutOptions, RatePartitionState, RequestRateLimits, Store};
use std::sync::Arc;

const PARTITIONS: u32 = 16;
const SLOT: Duration = Duration::from_millis(20);
const BODY: [u8; 1024] = [7; 1024];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Keys {
    Sequential,
    RandomPrefix,
}

struct Run {
    scheme: &'static str,
    keys: Keys,
    threads: usize,
    puts_per_s: f64,
    skew: f64,
    wait_us: f64,
    mean_group: f64,
    /// Writes per partition per time slot.
    heat: Vec<Vec<u64>>,
    /// The busiest partition and the prefixes its load came from, busiest first.
    busiest: (u16, Vec<PrefixLoad>),
}

fn key(keys: Keys, i: u64) -> String {
    let stamp =
        format!("2026-11-25T08:{:02}:{:02}.{:06}Z", i / 60_000_000 % 60, i / 1_000_000 % 60, i % 1_000_000);
    match keys {
        Keys::Sequential => format!("{stamp}/event.json"),
        // A stable pseudo-random 4-hex-digit prefix per key.
        Keys::RandomPrefix => {
            format!("{:04x}/{stamp}/event.json", (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 48) & 0xffff)
        }
    }
}

fn run(
    scheme: &'static str,
    prefix_len: Option<u32>,
    keys: Keys,
    threads: usize,
    objects: u64,
) -> Result<Run, Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let mut builder = Store::builder(dir.path()).partitions(PARTITIONS);
    if let Some(n) = prefix_len {
        builder = builder.prefix_len(n);
    }
    let store = builder.open()?;
    let bucket = store.create_bucket("lab")?;
    store.reset_partition_stats();
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let heat = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let mut last = vec![0u64; PARTITIONS as usize];
            let mut heat = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(SLOT);
                let now: Vec<u64> = store.partition_stats().iter().map(|p| p.puts).collect();
                heat.push(now.iter().zip(&last).map(|(n, l)| n - l).collect::<Vec<_>>());
                last = now;
            }
            heat
        });
        let writers: Vec<_> = (0..threads as u64)
            .map(|t| {
                let store = store.clone();
                s.spawn(move || {
                    let mut i = t;
                    while i < objects {
                        store.put_bytes(bucket, &key(keys, i), &BODY, &PutOptions::default()).expect("put");
                        i += threads as u64;
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().expect("writer");
        }
        stop.store(true, Ordering::Relaxed);
        sampler.join().expect("sampler")
    });
    let secs = start.elapsed().as_secs_f64();
    let stats = store.partition_stats();
    let total: u64 = stats.iter().map(|p| p.puts).sum();
    let busiest = stats.iter().map(|p| p.puts).max().unwrap_or(0);
    let busiest_partition = stats.iter().max_by_key(|p| p.puts).map_or(0, |p| p.partition);
    let top = store.top_prefixes(busiest_partition)?;
    let wait_ns: u64 = stats.iter().map(|p| p.wait_ns).sum();
    let groups: u64 = stats.iter().map(|p| p.groups).sum();
    let requests: u64 = stats.iter().map(|p| p.grouped_requests).sum();
    Ok(Run {
        scheme,
        keys,
        threads,
        puts_per_s: total as f64 / secs,
        skew: busiest as f64 / total.max(1) as f64,
        wait_us: wait_ns as f64 / 1000.0 / total.max(1) as f64,
        mean_group: requests as f64 / groups.max(1) as f64,
        heat,
        busiest: (busiest_partition, top),
    })
}

fn colour(v: f64) -> RGBColor {
    // White through orange to dark red.
    let v = v.clamp(0.0, 1.0);
    let r = 255.0 - 115.0 * (v - 0.5).max(0.0) * 2.0;
    let g = 255.0 * (1.0 - v).powf(0.8);
    let b = 255.0 * (1.0 - v).powf(2.0);
    RGBColor(r as u8, g as u8, b as u8)
}

fn render(runs: &[&Run], path: &PathBuf) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(path, (1200, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(
        "s3lite partition heat map: writes per partition per 20 ms (sqrt scale), 4 writer threads",
        ("sans-serif", 22),
    )?;
    let panels = root.split_evenly((2, 2));
    let max = runs.iter().flat_map(|r| r.heat.iter().flatten()).copied().max().unwrap_or(1).max(1) as f64;
    for (area, r) in panels.iter().zip(runs) {
        let slots = r.heat.len().max(1);
        let title = format!(
            "{} hashing, {} keys: skew {:.0}%",
            r.scheme,
            if r.keys == Keys::Sequential { "sequential" } else { "random-prefix" },
            r.skew * 100.0
        );
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(0..slots, 0..PARTITIONS as usize)?;
        chart.configure_mesh().disable_mesh().x_desc("time (20 ms slots)").y_desc("partition").draw()?;
        chart.draw_series(r.heat.iter().enumerate().flat_map(|(t, row)| {
            row.iter().enumerate().map(move |(p, &n)| {
                // Square-root scale: one shared scale for all panels, faint cells still visible.
                Rectangle::new([(t, p), (t + 1, p + 1)], colour((n as f64 / max).sqrt()).filled())
            })
        }))?;
    }
    root.present()?;
    Ok(())
}

const SPLIT_LIMIT_PER_S: u32 = 100;
const SPLIT_OFFERED_PER_S: u64 = 3000;
const SPLIT_SECONDS: u64 = 60;

/// Admitted writes in each simulated second, and the rate partitions at the end (split, serving).
fn splitting_timeline(keys: Keys) -> Result<(Vec<u64>, usize, usize), Box<dyn Error>> {
    let clock = Arc::new(ManualClock::new(0));
    let splitting =
        PartitionSplitting { initial_prefix_len: 0, sustained_s: 5, delay_s: 10, max_prefix_len: 16 };
    let limits = RequestRateLimits {
        writes_per_s: SPLIT_LIMIT_PER_S,
        reads_per_s: SPLIT_LIMIT_PER_S,
        splitting: Some(splitting),
    };
    let store = Store::in_memory_builder().clock(clock.clone()).request_rate_limits(limits).open()?;
    let bucket = store.create_bucket("lab")?;
    let mut admitted = Vec::new();
    for second in 0..SPLIT_SECONDS {
        let mut n = 0;
        for i in 0..SPLIT_OFFERED_PER_S {
            // Keys advance with the simulated clock, a millisecond apart.
            let k = key(keys, (second * 1000 + i) * 1000);
            match store.put_bytes(bucket, &k, b"x", &PutOptions::default()) {
                Ok(_) => n += 1,
                Err(s3lite::Error::SlowDown { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        admitted.push(n);
        clock.advance_ms(1000);
    }
    let parts = store.rate_partitions();
    let split = parts.iter().filter(|p| matches!(p.state, RatePartitionState::Split { .. })).count();
    Ok((admitted, split, parts.len() - split))
}

fn splitting_lab() -> Result<(), Box<dyn Error>> {
    println!(
        "\nautomatic splitting (emulated): limit {SPLIT_LIMIT_PER_S} writes/s per rate partition, \
         {SPLIT_OFFERED_PER_S} offered/s, split after 5 s refusing + 10 s delay"
    );
    let (seq, seq_split, seq_serving) = splitting_timeline(Keys::Sequential)?;
    let (rnd, rnd_split, rnd_serving) = splitting_timeline(Keys::RandomPrefix)?;
    println!("{:>8} {:>14} {:>14}", "second", "sequential/s", "random/s");
    for s in (0..SPLIT_SECONDS as usize).step_by(5) {
        println!("{:>8} {:>14} {:>14}", s, seq[s], rnd[s]);
    }
    println!(
        "rate partitions at the end: sequential {seq_split} split, {seq_serving} serving; random {rnd_split} split, {rnd_serving} serving"
    );
    let last = SPLIT_SECONDS as usize - 1;
    if seq[last] > u64::from(SPLIT_LIMIT_PER_S) || rnd[last] < SPLIT_OFFERED_PER_S / 2 {
        return Err(format!(
            "unexpected splitting: sequential {} /s, random {} /s at the end",
            seq[last], rnd[last]
        )
        .into());
    }
    Ok(())
}

/// A prefix and its operations; a range when space-saving may have overcounted it.
fn shown_load(l: &PrefixLoad) -> String {
    match l.overcount {
        0 => format!("{:?} {}", l.prefix, l.operations),
        over => format!("{:?} {}-{}", l.prefix, l.operations - over, l.operations),
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let objects: u64 = arg("--objects").map_or(Ok(2000), |s| s.parse())?;
    let out = arg("--out").map_or_else(|| std::env::temp_dir().join("s3lite-hotspots.svg"), PathBuf::from);
    println!("{objects} objects of 1 KiB per run, durable puts, {PARTITIONS} partitions\n");
    println!(
        "{:<10} {:<14} {:>7} {:>10} {:>7} {:>10} {:>9}",
        "scheme", "keys", "threads", "puts/s", "skew", "wait/put", "group"
    );
    let mut runs = Vec::new();
    for (scheme, prefix_len) in [("whole-key", None), ("prefix", Some(4))] {
        for keys in [Keys::Sequential, Keys::RandomPrefix] {
            for threads in [1, 2, 4] {
                let r = run(scheme, prefix_len, keys, threads, objects)?;
                println!(
                    "{:<10} {:<14} {:>7} {:>10.0} {:>6.0}% {:>8.0}us {:>9.2}",
                    r.scheme,
                    if r.keys == Keys::Sequential { "sequential" } else { "random-prefix" },
                    r.threads,
                    r.puts_per_s,
                    r.skew * 100.0,
                    r.wait_us,
                    r.mean_group
                );
                runs.push(r);
            }
        }
    }
    let four: Vec<&Run> = runs.iter().filter(|r| r.threads == 4).collect();
    render(&four, &out)?;
    println!("\nheat map: {}", out.display());
    // Load by prefix (Store::top_prefixes): under prefix hashing the sequential run's one hot
    // partition is one prefix; random prefixes share each partition among many.
    println!("\nbusiest partition of each 4-thread run, and its top prefixes (operations):");
    for r in &four {
        let keys = if r.keys == Keys::Sequential { "sequential" } else { "random-prefix" };
        let (partition, top) = &r.busiest;
        let shown: Vec<String> = top.iter().take(3).map(shown_load).collect();
        println!(
            "{:<10} {:<14} partition {:>2}: {} ({} prefixes tracked)",
            r.scheme,
            keys,
            partition,
            shown.join(", "),
            top.len()
        );
    }
    let hot = four.iter().find(|r| r.scheme == "prefix" && r.keys == Keys::Sequential).expect("run");
    let spread = four.iter().find(|r| r.scheme == "prefix" && r.keys == Keys::RandomPrefix).expect("run");
    if hot.skew < 0.99 || spread.skew > 0.5 {
        return Err(format!("unexpected skew: sequential {:.2}, random {:.2}", hot.skew, spread.skew).into());
    }
    splitting_lab()
}
