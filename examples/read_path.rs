//! The GET read path in CPU time: one GET of 64 KiB and of 1 MiB by s3lite (`read_to_vec`,
//! `write_to` and `head`), beside `std::fs::read` of one file per object and a memcpy of the same
//! bytes, each as this thread's CPU time per operation (from `/proc/thread-self/schedstat`) and its
//! minor page faults. On a shared machine wall-clock rates swing with the other load; CPU time per
//! GET moves far less, so the ratios in one run are what to read.
//!
//! `cargo run --release --example read_path -- [--sealed]`: without `--sealed` the objects lie in
//! active segments (read by `pread`), with it in sealed ones (read through their maps). 96 MiB of
//! objects per size, more than the last-level cache, all warm in the page cache.

use std::path::Path;

use s3lite::{Durability, GetOptions, PutOptions, Store, StoreBuilder};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Bytes of objects per size.
const DATA_BYTES: usize = 96 << 20;

/// This thread's CPU time, ns.
fn cpu_ns() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    s.split(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// This thread's minor page faults (field 10 of `stat`).
fn faults() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let rest = s.rfind(')').map_or("", |i| &s[i + 2..]);
    rest.split(' ').nth(7).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Best of five passes after a warm-up round, each pass as many rounds over `keys` as take 50 ms of
/// CPU (the kernel's count of a thread's CPU time moves in steps): CPU µs per operation and page
/// faults per operation.
fn measure(keys: &[String], f: &mut dyn FnMut(&str) -> Res<usize>) -> Res<(f64, f64)> {
    for k in keys {
        std::hint::black_box(f(k)?);
    }
    let mut best = (f64::MAX, 0.0);
    for _ in 0..5 {
        let (t0, f0) = (cpu_ns(), faults());
        let mut rounds = 0;
        while rounds < 3 || cpu_ns() - t0 < 50_000_000 {
            for k in keys {
                std::hint::black_box(f(k)?);
            }
            rounds += 1;
        }
        let ops = (rounds * keys.len()) as f64;
        let us = (cpu_ns() - t0) as f64 / 1e3 / ops;
        if us < best.0 {
            best = (us, (faults() - f0) as f64 / ops);
        }
    }
    Ok(best)
}

/// Sealed: one partition, 4 MiB segments and 1 MiB chunks, so that all but the last few MiB of
/// the objects lie in sealed segments.
fn builder(path: &Path, sealed: bool) -> StoreBuilder {
    let b = Store::builder(path);
    if sealed { b.partitions(1).segment_bytes(4 << 20).chunk_bytes(1 << 20) } else { b }
}

fn main() -> Res<()> {
    let sealed = std::env::args().any(|a| a == "--sealed");
    for size in [64usize << 10, 1 << 20] {
        let n = DATA_BYTES / size;
        let dir = tempfile::tempdir()?;
        let data: Vec<u8> = (0..size).map(|i| ((i * 2_654_435_761) >> 13) as u8).collect();
        let files = dir.path().join("files");
        std::fs::create_dir_all(&files)?;
        let path = dir.path().join("s3lite");
        let eventual = PutOptions {
            durability: Some(Durability::Eventual { flush_interval_ms: 0 }),
            ..Default::default()
        };
        let key = |i: usize| format!("o{i:06}");
        {
            let store = builder(&path, sealed).open()?;
            let b = store.create_bucket("bench")?;
            for i in 0..n {
                store.put_bytes(b, &key(i), &data, &eventual)?;
                std::fs::write(files.join(key(i)), &data)?;
            }
            store.close()?;
        }
        let store = builder(&path, sealed).open()?;
        let b = store.bucket("bench")?.id;
        let keys: Vec<String> = (0..n).map(|i| key((i * 7919 + 13) % n)).collect();
        let src: Vec<u8> = (0..DATA_BYTES * 2).map(|i| (i >> 7) as u8).collect();
        let mut dst = vec![1u8; size];
        let mut at = 0usize;
        let mut rows = Vec::new();
        let mut row = |name: &'static str, r: (f64, f64)| {
            println!(
                "{size:>8} {name:<20} {:8.2} us cpu/op {:6.2} GB/s {:6.2} faults/op",
                r.0,
                size as f64 / r.0 / 1e3,
                r.1
            );
            rows.push((name, r.0));
        };
        row("file_per_object", measure(&keys, &mut |k| Ok(std::fs::read(files.join(k))?.len()))?);
        row(
            "s3lite_read_to_vec",
            measure(&keys, &mut |k| Ok(store.get(b, k, &GetOptions::default())?.1.read_to_vec()?.len()))?,
        );
        row(
            "s3lite_write_to",
            measure(&keys, &mut |k| {
                Ok(store.get(b, k, &GetOptions::default())?.1.write_to(&mut std::io::sink())? as usize)
            })?,
        );
        row("s3lite_head", measure(&keys, &mut |k| Ok(store.head(b, k, None)?.size as usize))?);
        row(
            "memcpy",
            measure(&keys, &mut |_| {
                at = (at + size) % (src.len() - size);
                dst.copy_from_slice(&src[at..at + size]);
                Ok(usize::from(dst[7]))
            })?,
        );
        let us = |name: &str| rows.iter().find(|r| r.0 == name).map_or(f64::NAN, |r| r.1);
        let (file, memcpy) = (us("file_per_object"), us("memcpy"));
        for name in ["s3lite_read_to_vec", "s3lite_write_to"] {
            println!(
                "{size:>8} {} {name}: {:.2} x one file per object, {:.2} x memcpy",
                if sealed { "sealed" } else { "active" },
                file / us(name),
                memcpy / us(name)
            );
        }
    }
    Ok(())
}
