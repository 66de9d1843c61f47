//! The data a compaction measurement works on, shared by `examples/compaction.rs` and
//! `benches/compaction.rs`: a store half of whose bytes are dead, and a plain sequential copy of as
//! many bytes as a compaction copies (the limit it is measured against).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use s3lite::{BucketId, Durability, PutOptions, Store};

/// Errors of the setup code.
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Bytes of each object the store holds.
pub const OBJECT_BYTES: usize = 64 * 1024;

/// `len` pseudo-random bytes (xorshift), different for each seed: nothing compresses or dedups.
pub fn body(seed: u64, len: usize) -> Vec<u8> {
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
pub fn half_dead(dir: &Path, mib: usize) -> Res<(Store, BucketId)> {
    // Small segments, so that most of the data is in sealed ones (compaction candidates).
    let store = Store::builder(dir).segment_bytes(16 << 20).chunk_bytes(1 << 20).open()?;
    let b = store.create_bucket("b")?;
    let keys = mib * (1 << 20) / OBJECT_BYTES / 2;
    let eventual = PutOptions {
        durability: Some(Durability::Eventual { flush_interval_ms: 1000 }),
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

/// A source file for a plain copy, written, synced and read once so that it is in the page cache
/// (as a compaction's inputs are); removed on drop.
pub struct CopySource {
    src: PathBuf,
    dst: PathBuf,
}

impl CopySource {
    /// Writes `bytes` bytes to a file in `dir`.
    pub fn new(dir: &Path, bytes: u64) -> Res<CopySource> {
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
        let mut r = File::open(&src)?;
        while r.read(&mut buf)? > 0 {}
        Ok(CopySource { src, dst })
    }

    /// Copies the source into a new file in 1 MiB reads and writes, then `fsync`s it (as a
    /// compaction syncs its outputs); returns the time taken. The copy is removed afterwards, untimed.
    pub fn copy(&self) -> Res<Duration> {
        let mut buf = vec![0u8; 1 << 20];
        let t = Instant::now();
        let mut r = File::open(&self.src)?;
        let mut w = File::create(&self.dst)?;
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                break;
            }
            w.write_all(&buf[..n])?;
        }
        w.sync_all()?;
        let took = t.elapsed();
        std::fs::remove_file(&self.dst)?;
        Ok(took)
    }
}

impl Drop for CopySource {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.src);
        let _ = std::fs::remove_file(&self.dst);
    }
}
