//! Encrypted against unencrypted PUT and GET, as ratios measured round by round in one process:
//! 4 KiB and 8 MiB objects on a store in a temporary directory (RealStorage, default durability:
//! every put synced before it returns), one store without keys and one sealing every object with
//! SSE-S3. Each round times a batch of plain operations and a batch of sealed ones back to back
//! (the order alternating by round), so that the machine's other load falls on both; the ratio of
//! a round is plain time / sealed time, the sealed throughput as a fraction of the plain one.
//! Printed: the median and range of those ratios, and of each side's time per operation.
//!
//! A sealed body is always stored as chunk records, so a sealed 4 KiB put writes a chunk record
//! and a commit record where a plain one writes one inline record. A third store, without keys and
//! with `inline_bytes(0)` (every body in chunk records), tells that cost from the cipher's: its
//! line is "chunked" (plain chunked time / sealed time).
//!
//! `cargo run --profile bench --example sse_compare -- [rounds] [filter]` (default 9 rounds; a
//! filter such as `get 8` runs only the lines whose name holds it, e.g. under `perf record`).

use std::sync::Arc;
use std::time::Instant;

use s3lite::crypto::MasterKeys;
use s3lite::{BucketId, Encryption, GetOptions, PutOptions, Store};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// One store of the comparison.
struct Side {
    store: Store,
    bucket: BucketId,
    opts: PutOptions,
    _dir: tempfile::TempDir,
}

/// How a side stores its bodies.
#[derive(Clone, Copy)]
enum Kind {
    /// No keys, the default inline limit (256 KiB).
    Plain,
    /// No keys, every body in chunk records, as a sealed one is.
    PlainChunked,
    /// Keys, every put SSE-S3.
    Sealed,
}

fn side(kind: Kind) -> Res<Side> {
    let dir = tempfile::tempdir()?;
    let builder = Store::builder(dir.path());
    let (store, opts) = match kind {
        Kind::Plain => (builder.open()?, PutOptions::default()),
        Kind::PlainChunked => (builder.inline_bytes(0).open()?, PutOptions::default()),
        Kind::Sealed => {
            let opts = PutOptions { encryption: Some(Encryption::S3), ..PutOptions::default() };
            (builder.key_provider(Arc::new(MasterKeys::generate())).open()?, opts)
        }
    };
    let bucket = store.create_bucket("cmp")?;
    Ok(Side { store, bucket, opts, _dir: dir })
}

#[derive(Clone, Copy)]
enum Op {
    Put,
    Get,
}

/// Seconds for `n` operations of `op` on `s`.
fn batch(s: &Side, op: Op, data: &[u8], n: usize) -> Res<f64> {
    let t = Instant::now();
    for _ in 0..n {
        match op {
            // Overwrites of one null version.
            Op::Put => {
                s.store.put_bytes(s.bucket, "k", data, &s.opts)?;
            }
            Op::Get => {
                let (_, mut r) = s.store.get(s.bucket, "k", &GetOptions::default())?;
                let got = r.read_to_vec()?;
                assert_eq!(got.len(), data.len());
            }
        }
    }
    Ok(t.elapsed().as_secs_f64())
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn range(v: &[f64]) -> (f64, f64) {
    (v.iter().copied().fold(f64::MAX, f64::min), v.iter().copied().fold(0.0, f64::max))
}

/// "median [min-max]" of `v`.
fn summary(v: &[f64]) -> String {
    let (lo, hi) = range(v);
    format!("{:.3} [{lo:.3}-{hi:.3}]", median(v))
}

fn main() -> Res<()> {
    let rounds: usize = std::env::args().nth(1).map_or(Ok(9), |s| s.parse())?;
    let filter = std::env::args().nth(2).unwrap_or_default();
    #[cfg(target_arch = "x86_64")]
    println!(
        "cpu: aes {}, pclmulqdq {}, avx2 {}",
        std::arch::is_x86_feature_detected!("aes"),
        std::arch::is_x86_feature_detected!("pclmulqdq"),
        std::arch::is_x86_feature_detected!("avx2")
    );
    println!("{rounds} rounds; ratio = plain time / sealed time (sealed throughput / plain)");
    // Batches of about 10 ms or more of work, so that one scheduling hiccup moves a round little.
    for (size, name, per_batch) in [(4usize << 10, "4 KiB", 200usize), (8 << 20, "8 MiB", 4)] {
        let data: Vec<u8> = (0..size).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let sides = [side(Kind::Plain)?, side(Kind::PlainChunked)?, side(Kind::Sealed)?];
        for (op, op_name) in [(Op::Put, "put"), (Op::Get, "get")] {
            let line = format!("{op_name} {name}");
            if !line.contains(filter.as_str()) {
                continue;
            }
            for s in &sides {
                // Warm-up: the object exists, files and page cache are warm.
                s.store.put_bytes(s.bucket, "k", &data, &s.opts)?;
                batch(s, op, &data, per_batch)?;
            }
            // Per side, ms per operation in each round.
            let mut times: [Vec<f64>; 3] = Default::default();
            for round in 0..rounds {
                // The order turns by round, so no side always runs first or last.
                for k in 0..3 {
                    let i = (k + round) % 3;
                    times[i].push(batch(&sides[i], op, &data, per_batch)? / per_batch as f64 * 1e3);
                }
            }
            let ratio = |of: usize| -> Vec<f64> { (0..rounds).map(|r| times[of][r] / times[2][r]).collect() };
            println!(
                "{line}: ratio {}; chunked {}; ms/op plain {}, plain chunked {}, sealed {}",
                summary(&ratio(0)),
                summary(&ratio(1)),
                summary(&times[0]),
                summary(&times[1]),
                summary(&times[2]),
            );
        }
    }
    Ok(())
}
