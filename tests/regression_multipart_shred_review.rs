//! Review of issue 16's slice: SSE-C multipart uploads and crypto-shred of multipart objects
//! (merge fe769f2, and 086f63f..a861a8d). One #[test] per finding; each fails on a861a8d.
//! The attacker and helpers are those of tests/crypto_shred_multipart.rs.

mod common;

use std::sync::Arc;

use common::{body, small};
use s3lite::Store;
use s3lite::crypto::{CustomerKey, MasterKeys};

#[path = "common/multipart_attack.rs"]
mod multipart_attack;

use multipart_attack::*;

/// Finding 1: a multipart object completed on a shredding store is not shredded when its upload
/// was begun before the store shredded (or on a store opened without the option). Not fixable at
/// completion: the upload's start record, still in the files, wraps the data key under the master
/// key with no slot's secret, so a slot taken for the object would hide nothing. Documented as a
/// limit (README "Crypto-shred", DESIGN §7.6): such an object's bytes are unreadable from the
/// files only once compaction has reclaimed its records. This test pins both halves: decryptable
/// after the delete, not after the compaction.
#[test]
fn a_multipart_object_begun_before_shredding_is_reclaimed_only_by_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MasterKeys::generate());
    let attacker = Attacker { keys: &keys, customer: None };
    let store = small(Store::builder(dir.path())).key_provider(keys.clone()).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let id = two_parts(&store, b, "k", None, 1);
    drop(store);
    let store = shredding(dir.path(), &keys).open().unwrap();
    complete(&store, b, "k", &id);
    let whole = [body(1, 100_000), body(2, 30_000)].concat();
    assert_eq!(read(&store, b, "k", None).unwrap(), whole);
    // A put on the same store is shredded: the control.
    store.put_bytes(b, "p", b"put", &s3lite::PutOptions::default()).unwrap();
    store.delete(b, "p").unwrap();
    store.delete(b, "k").unwrap();
    assert!(
        attacker.part_one(dir.path(), "k").is_some(),
        "the documented limit: the start record written before shredding still gives the key"
    );
    store.compact_with(&s3lite::CompactionPolicy::everything()).unwrap();
    assert!(
        attacker.part_one(dir.path(), "k").is_none(),
        "compaction reclaimed the deleted object's records"
    );
}

/// Finding 2: `crypto_shred(true)` on a store without a key provider is silently ignored (no
/// `KEYSLOTS` file, no slot taken), yet such a store takes SSE-C uploads (DESIGN §7.6: "a store
/// without keys takes it"). A deleted SSE-C multipart object on a store built to crypto-shred then
/// opens for whoever holds the customer key and the files, before compaction. Either the option
/// should work under SSE-C alone, or the builder should refuse the combination; the builder's doc
/// ("multipart objects are not shredded yet") is also stale.
#[test]
fn a_keyless_shredding_store_shreds_a_deleted_sse_c_multipart_object() {
    let dir = tempfile::tempdir().unwrap();
    let unused = MasterKeys::generate();
    let ck = CustomerKey::from_bytes([9; 32]);
    let attacker = Attacker { keys: &unused, customer: Some(&ck) };
    let store = small(Store::builder(dir.path())).crypto_shred(true).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let id = two_parts(&store, b, "k", Some(&ck), 1);
    complete(&store, b, "k", &id);
    assert_eq!(read(&store, b, "k", Some(&ck)).unwrap(), [body(1, 100_000), body(2, 30_000)].concat());
    store.delete(b, "k").unwrap();
    assert!(
        attacker.part_one(dir.path(), "k").is_none(),
        "a deleted SSE-C multipart object on a store built with crypto_shred(true) decrypts from the files"
    );
}
