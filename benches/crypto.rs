//! The passes a large encrypted put and get add, next to the one that bounds a put today: sealing
//! and opening 8 MiB in 64 KiB AES-256-GCM chunks (`s3lite::crypto::chunks`), beside MD5 (the
//! ETag) and CRC-32 (every record) of the same bytes, in the same run. Also prints whether this
//! CPU has the AES and carry-less multiply instructions the `aes` and `ghash` crates pick at run
//! time.
//!
//! `cargo bench --bench crypto`; compare the bytes/s of the lines.
#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use md5::{Digest, Md5};
use s3lite::crypto::chunks::{BodyCipher, CHUNK_BYTES, Sealer, sealed_len};
use s3lite::crypto::{Dek, random_nonce_prefix};

const BYTES: usize = 8 << 20;

fn passes(c: &mut Criterion) {
    #[cfg(target_arch = "x86_64")]
    eprintln!(
        "aes: {}, pclmulqdq: {}, avx2: {}",
        std::arch::is_x86_feature_detected!("aes"),
        std::arch::is_x86_feature_detected!("pclmulqdq"),
        std::arch::is_x86_feature_detected!("avx2")
    );
    let data: Vec<u8> = (0..BYTES).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let dek = Dek::random();
    let prefix = random_nonce_prefix();
    let cipher = || BodyCipher::new(&dek, prefix, b"bench".to_vec(), CHUNK_BYTES);
    let mut sealed = Vec::with_capacity(sealed_len(BYTES as u64, CHUNK_BYTES) as usize);
    let mut s = Sealer::new(cipher());
    s.push(&data, &mut sealed).unwrap();
    s.finish(&mut sealed).unwrap();

    let mut g = c.benchmark_group("8m");
    g.throughput(Throughput::Bytes(BYTES as u64)).sample_size(20).measurement_time(Duration::from_secs(3));
    g.bench_function("seal", |b| {
        let mut out = Vec::with_capacity(sealed.len());
        b.iter(|| {
            out.clear();
            let mut s = Sealer::new(cipher());
            s.push(&data, &mut out).unwrap();
            s.finish(&mut out).unwrap();
        });
    });
    g.bench_function("open", |b| {
        let c = cipher();
        let mut out = Vec::with_capacity(BYTES);
        let last = sealed_len(BYTES as u64, CHUNK_BYTES) / (CHUNK_BYTES as u64 + 16) - 1;
        b.iter(|| {
            out.clear();
            c.open_run(0, last, BYTES as u64, &sealed, &mut out).unwrap();
        });
    });
    g.bench_function("md5", |b| b.iter(|| Md5::digest(&data)));
    g.bench_function("crc32", |b| b.iter(|| crc32fast::hash(&data)));
    g.finish();
}

criterion_group!(benches, passes);
criterion_main!(benches);
