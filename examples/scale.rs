//! A million objects: put rate, disk bytes, index memory per object version (measured as the growth
//! of a fresh process's anonymous resident memory across the open, not computed; it includes what
//! the open allocated and freed, which the allocator keeps), reopen time from checkpoints and by a
//! full scan of every segment, and the time to list every key.
//!
//! `cargo run --release --example scale -- [--objects N] [--bytes B] [--dir PATH]` (defaults:
//! 1,000,000 objects of 1 KiB, under `target/`). Writes use `Eventual` durability and one
//! `Store::sync` at the end: the point is the index and the reopen, not the fsync rate.

use std::path::{Path, PathBuf};
use std::time::Instant;

use s3lite::{Durability, ListOptions, PutOptions, Store};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Anonymous resident memory of this process, bytes (heap and the like; not file-backed maps, so a
/// segment's mapped pages do not count).
fn rss_anon() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |rd| {
        rd.flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    })
}

/// Opens the store at `dir` and reports the time and the growth of anonymous memory across the
/// open: the index (plus the catalog and a few buffers, small next to it).
fn reopen(dir: &Path, objects: usize, key_bytes: usize) -> Res<()> {
    let before = rss_anon();
    let t = Instant::now();
    let store = Store::open(dir)?;
    let open_s = t.elapsed().as_secs_f64();
    let grown = rss_anon().saturating_sub(before);
    let report = store.recovery_report();
    println!(
        "  reopen: {open_s:.2} s ({} partitions from a checkpoint, {} segments scanned, {} records replayed)",
        report.checkpoints_used.len(),
        report.segments_scanned,
        report.records_replayed
    );
    println!(
        "  memory grown across the open: {:.1} MB for {objects} versions = {:.0} bytes per version, or {:.0} bytes plus its \
         {:.1} key bytes",
        grown as f64 / 1e6,
        grown as f64 / objects as f64,
        (grown as f64 - key_bytes as f64) / objects as f64,
        key_bytes as f64 / objects as f64
    );
    Ok(())
}

fn key(i: usize) -> String {
    // Keys as a photo archive might name them: 28-30 bytes.
    format!("photos/{:04}/{:02}/img-{i:08}.jpg", 2000 + i % 25, i % 12 + 1)
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    if let Some(dir) = arg("--reopen") {
        return reopen(
            Path::new(&dir),
            arg("--objects").map_or(Ok(1), |v| v.parse())?,
            arg("--key-bytes").map_or(Ok(0), |v| v.parse())?,
        );
    }
    let objects: usize = arg("--objects").map_or(Ok(1_000_000), |v| v.parse())?;
    let bytes: usize = arg("--bytes").map_or(Ok(1024), |v| v.parse())?;
    let base = arg("--dir").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    std::fs::create_dir_all(&base)?;
    let tmp = tempfile::tempdir_in(&base)?;
    let dir = tmp.path().join("store");
    let key_bytes: usize = (0..objects).map(|i| key(i).len()).sum();

    let body: Vec<u8> = (0..bytes).map(|i| (i * 31 % 251) as u8).collect();
    let opts = PutOptions {
        durability: Some(Durability::Eventual { flush_interval_ms: 1000 }),
        ..Default::default()
    };
    let store = Store::open(&dir)?;
    let b = store.create_bucket("archive")?;
    let t = Instant::now();
    for i in 0..objects {
        store.put_bytes(b, &key(i), &body, &opts)?;
    }
    store.sync()?;
    let put_s = t.elapsed().as_secs_f64();
    let disk = dir_bytes(&dir);
    println!(
        "{objects} puts of {bytes} B: {put_s:.1} s ({:.0} puts/s); disk {:.1} MB ({:.2} x the body bytes)",
        objects as f64 / put_s,
        disk as f64 / 1e6,
        disk as f64 / (objects * bytes) as f64
    );
    let t = Instant::now();
    let mut listed = 0usize;
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list(b, &ListOptions { start_after: after.clone(), max_keys: 1000, ..Default::default() })?;
        listed += page.entries.len();
        after = page.entries.last().map(|e| e.key.clone());
        if !page.is_truncated {
            break;
        }
    }
    println!("list all {listed} keys: {:.2} s", t.elapsed().as_secs_f64());
    assert_eq!(listed, objects);
    store.close()?;

    // Reopen in a fresh process: this one's allocator keeps the closed store's memory, which would
    // hide the reopened index's.
    let reopen_child = || -> Res<()> {
        let status = std::process::Command::new(std::env::current_exe()?)
            .args(["--reopen", &dir.to_string_lossy(), "--objects", &objects.to_string()])
            .args(["--key-bytes", &key_bytes.to_string()])
            .status()?;
        assert!(status.success(), "the reopen failed");
        Ok(())
    };
    // `close` wrote a checkpoint of every partition: the first reopen starts from them.
    println!("with checkpoints:");
    reopen_child()?;
    // Without them (removed), the open scans every segment.
    for part in std::fs::read_dir(&dir)?.flatten().filter(|e| e.path().is_dir()) {
        for f in std::fs::read_dir(part.path())?.flatten() {
            if f.file_name().to_string_lossy().starts_with("CHECKPOINT-") {
                std::fs::remove_file(f.path())?;
            }
        }
    }
    println!("without checkpoints:");
    reopen_child()?;
    Ok(())
}
