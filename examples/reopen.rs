//! Reopen time of a store of many small objects: from index checkpoints (replaying only the log
//! after them) and by a full scan of every segment, measured in the same run on the same files.
//!
//! `cargo run --release --example reopen -- [objects, default 100000] [directory, default a temp dir]`
//!
//! The files are in the page cache for both opens (just written); a cold cache adds the time to
//! read the segments for the full scan, and only the checkpoints and active tails otherwise.

use std::path::{Path, PathBuf};
use std::time::Instant;

use s3lite::{Checkpoints, Durability, PutOptions, Store};

fn checkpoint_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in std::fs::read_dir(root).unwrap().flatten() {
        if p.file_name().to_string_lossy().starts_with('p') && p.path().is_dir() {
            for f in std::fs::read_dir(p.path()).unwrap().flatten() {
                if f.file_name().to_string_lossy().starts_with("CHECKPOINT-") {
                    out.push(f.path());
                }
            }
        }
    }
    out
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let m = e.metadata().unwrap();
            if m.is_dir() { dir_bytes(&e.path()) } else { m.len() }
        })
        .sum()
}

fn open(root: &Path) -> Store {
    Store::builder(root).checkpoints(Checkpoints::OnDemand).open().unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).map_or(100_000, |a| a.parse().expect("objects: a number"));
    let tmp = tempfile::tempdir().unwrap();
    let root = args.get(2).map_or_else(|| tmp.path().join("store"), PathBuf::from);
    let t = Instant::now();
    {
        let store = Store::builder(&root)
            .durability(Durability::Eventual { flush_interval_ms: 1000 })
            .checkpoints(Checkpoints::OnDemand)
            .open()
            .unwrap();
        let b = store.create_bucket("bench").unwrap();
        let body = [7u8; 100];
        for i in 0..n {
            store.put_bytes(b, &format!("objects/{i:010}"), &body, &PutOptions::default()).unwrap();
        }
        store.sync().unwrap();
        println!("wrote {n} objects of 100 bytes in {:.2} s", t.elapsed().as_secs_f64());
        let t = Instant::now();
        let written = store.checkpoint().unwrap();
        println!("checkpoint of {written} partitions written in {:.3} s", t.elapsed().as_secs_f64());
        store.close().unwrap();
    }
    let ckpt_bytes: u64 = checkpoint_files(&root).iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
    println!("store {} bytes, checkpoints {ckpt_bytes} bytes", dir_bytes(&root));
    // Warm both paths once, then measure each.
    drop(open(&root));
    let t = Instant::now();
    let store = open(&root);
    let with = t.elapsed().as_secs_f64();
    let r = store.recovery_report();
    assert_eq!(r.checkpoints_used.len(), 16, "every partition from its checkpoint");
    println!(
        "open from checkpoints: {with:.3} s ({} segments scanned, {} loaded, {} records replayed)",
        r.segments_scanned, r.segments_loaded, r.records_replayed
    );
    drop(store);
    let aside: Vec<(PathBuf, PathBuf)> =
        checkpoint_files(&root).into_iter().map(|p| (p.clone(), p.with_extension("aside"))).collect();
    for (from, to) in &aside {
        std::fs::rename(from, to).unwrap();
    }
    drop(open(&root));
    let t = Instant::now();
    let store = open(&root);
    let without = t.elapsed().as_secs_f64();
    let r = store.recovery_report();
    assert_eq!(r.partitions_fully_scanned.len(), 16);
    println!(
        "open by full scan:     {without:.3} s ({} segments scanned, {} records replayed)",
        r.segments_scanned, r.records_replayed
    );
    drop(store);
    for (from, to) in &aside {
        std::fs::rename(to, from).unwrap();
    }
    println!("full scan / checkpoint: {:.1}x", without / with);
}
