//! Helpers shared by the behaviour tests.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::sync::Arc;

use s3lite::crypto::MasterKeys;
use s3lite::io::SimStorage;
use s3lite::{BucketId, GetOptions, Store, StoreBuilder};

/// Small sizes so that tests cross the inline limit, chunk boundaries and segment rotation quickly.
pub fn small(builder: StoreBuilder) -> StoreBuilder {
    builder.partitions(4).segment_bytes(256 * 1024).inline_bytes(1024).chunk_bytes(4096)
}

/// The store with master keys, so that it seals every new object by default (SSE-S3, as S3 since
/// 2023): the S3 semantics suites run on such a store as well as on plain ones. Pass the same keys
/// to every reopen of one store.
pub fn encrypted(builder: StoreBuilder, keys: &Arc<MasterKeys>) -> StoreBuilder {
    builder.key_provider(keys.clone())
}

pub fn sim_builder(sim: &SimStorage) -> StoreBuilder {
    small(Store::builder("/db").storage(Arc::new(sim.clone())))
}

pub fn read(store: &Store, bucket: BucketId, key: &str) -> s3lite::Result<Vec<u8>> {
    let (_, mut r) = store.get(bucket, key, &GetOptions::default())?;
    r.read_to_vec()
}

/// Deterministic body of `len` bytes whose content depends on `seed`.
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
pub mod gate;
pub mod segments;
