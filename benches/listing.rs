//! Listing speed: keys per second paged through ListObjectsV2 over a bucket of a million keys, with
//! and without a delimiter. `cargo bench --bench listing`.
#![expect(missing_docs, reason = "criterion_group! generates an undocumented function")]

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use s3lite::s3::S3;
use s3lite::s3::types::{CreateBucketRequest, ListObjectsV2Request};
use s3lite::{Durability, PutOptions, Store};

const KEYS: u64 = 1_000_000;

/// A bucket of `KEYS` keys `dd/nnnnnnn` (100 top-level prefixes), each key `pad` bytes longer (keys
/// over 30 bytes are not kept inline in the index).
fn populated(pad: usize) -> (Store, S3) {
    let store = Store::in_memory_builder()
        .durability(Durability::Eventual { flush_interval_ms: 60_000 })
        .open()
        .unwrap();
    let s3 = store.s3();
    s3.create_bucket(CreateBucketRequest { bucket: "bench".into(), ..Default::default() }).unwrap();
    let bucket = store.bucket("bench").unwrap().id;
    for i in 0..KEYS {
        let key = format!("{:02}/{}{i:07}", i % 100, "p".repeat(pad));
        store.put_bytes(bucket, &key, b"", &PutOptions::default()).unwrap();
    }
    (store, s3)
}

/// Pages through a listing; returns keys + prefixes seen.
fn page_through(s3: &S3, prefix: Option<&str>, delimiter: Option<&str>) -> u64 {
    let mut req = ListObjectsV2Request {
        bucket: "bench".into(),
        prefix: prefix.map(Into::into),
        delimiter: delimiter.map(Into::into),
        ..Default::default()
    };
    let mut n = 0u64;
    loop {
        let out = s3.list_objects_v2(req.clone()).unwrap();
        n += out.key_count as u64;
        if !out.is_truncated {
            return n;
        }
        req.continuation_token = out.next_continuation_token;
    }
}

fn listing(c: &mut Criterion) {
    let (store, s3) = populated(0);
    let mut g = c.benchmark_group("list_objects_v2");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(KEYS));
    g.bench_function("1m_keys_no_delimiter", |b| b.iter(|| assert_eq!(page_through(&s3, None, None), KEYS)));
    g.throughput(Throughput::Elements(KEYS / 100));
    g.bench_function("10k_keys_under_a_prefix_with_delimiter", |b| {
        b.iter(|| assert_eq!(page_through(&s3, Some("07/"), Some("/")), KEYS / 100));
    });
    g.throughput(Throughput::Elements(100));
    g.bench_function("100_common_prefixes_over_1m_keys", |b| {
        b.iter(|| assert_eq!(page_through(&s3, None, Some("/")), 100))
    });
    drop((store, s3));
    let (_store, s3) = populated(40);
    g.throughput(Throughput::Elements(KEYS));
    g.bench_function("1m_50_byte_keys_no_delimiter", |b| {
        b.iter(|| assert_eq!(page_through(&s3, None, None), KEYS));
    });
    g.finish();
}

criterion_group!(benches, listing);
criterion_main!(benches);
