//! Behaviour of the engine-level API, run against the on-disk store and the in-memory store.

mod common;

use common::{body, read, small};
use s3lite::{
    ByteRange, Durability, Error, GetOptions, ListOptions, NewVersion, PutOptions, RecoveryMode,
    StorageClass, Store, VersionId, WriteCondition,
};

/// Runs `f` against a fresh on-disk store and a fresh in-memory store.
fn both(f: impl Fn(&dyn Fn() -> Store)) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    f(&|| small(Store::builder(&path)).open().unwrap());
    let sim = s3lite::io::SimStorage::new();
    f(&|| common::sim_builder(&sim).open().unwrap());
}

#[test]
fn put_get_head_round_trip_inline_and_chunked() {
    both(|open| {
        let store = open();
        let b = store.create_bucket("b").unwrap();
        for (i, len) in [0usize, 1, 1024, 1025, 4096, 4097, 50_000].into_iter().enumerate() {
            let key = format!("k{i}");
            let data = body(i as u64, len);
            let opts = PutOptions {
                content_type: Some("application/x-test".into()),
                user_metadata: vec![("color".into(), "blue".into())],
                ..Default::default()
            };
            let info = store.put(b, &key, &data[..], &opts).unwrap();
            assert_eq!(info.size, len as u64);
            let md5 = format!("{:x}", <md5::Md5 as md5::Digest>::digest(&data));
            assert_eq!(info.e_tag, format!("\"{md5}\""));
            assert_eq!(read(&store, b, &key).unwrap(), data, "len {len}");
            let head = store.head(b, &key, None).unwrap();
            assert_eq!(head.content_type.as_deref(), Some("application/x-test"));
            assert_eq!(head.user_metadata, vec![("color".to_string(), "blue".to_string())]);
            assert_eq!(head.e_tag, info.e_tag);
            assert!(head.version_id.is_null());
        }
    });
}

#[test]
fn data_survives_reopen() {
    both(|open| {
        let store = open();
        let b = store.create_bucket("b").unwrap();
        for i in 0..200u64 {
            store
                .put_bytes(
                    b,
                    &format!("key/{i:04}"),
                    &body(i, (i * 97 % 9000) as usize),
                    &PutOptions::default(),
                )
                .unwrap();
        }
        store.delete(b, "key/0007").unwrap();
        drop(store);
        let store = open();
        assert!(!store.recovery_report().created);
        let b = store.bucket("b").unwrap().id;
        for i in 0..200u64 {
            let got = read(&store, b, &format!("key/{i:04}"));
            if i == 7 {
                assert!(matches!(got, Err(Error::NoSuchKey { .. })));
            } else {
                assert_eq!(got.unwrap(), body(i, (i * 97 % 9000) as usize));
            }
        }
        // The reopened store accepts writes where it left off.
        store.put_bytes(b, "after", b"x", &PutOptions::default()).unwrap();
        drop(store);
        let store = open();
        assert_eq!(read(&store, b, "after").unwrap(), b"x");
    });
}

#[test]
fn overwrite_replaces_null_version() {
    both(|open| {
        let store = open();
        let b = store.create_bucket("b").unwrap();
        store.put_bytes(b, "k", b"one", &PutOptions::default()).unwrap();
        store.put_bytes(b, "k", b"two", &PutOptions::default()).unwrap();
        assert_eq!(read(&store, b, "k").unwrap(), b"two");
        let page = store.list(b, &ListOptions { versions: true, ..Default::default() }).unwrap();
        assert_eq!(page.entries.len(), 1, "the null version was replaced, not stacked");
    });
}

#[test]
fn versions_and_delete_markers() {
    both(|open| {
        let store = open();
        let b = store.create_bucket("b").unwrap();
        let unique = PutOptions { version: NewVersion::Unique, ..Default::default() };
        let v1 = store.put_bytes(b, "k", b"v1", &unique).unwrap().version_id;
        let v2 = store.put_bytes(b, "k", b"v2", &unique).unwrap().version_id;
        assert_ne!(v1, v2);
        let marker = store.put_delete_marker(b, "k", NewVersion::Unique, None).unwrap();
        let e = read(&store, b, "k").unwrap_err();
        assert!(matches!(e, Error::NoSuchKey { delete_marker: true, .. }), "{e:?}");
        let (_, mut r) = store.get(b, "k", &GetOptions { version: Some(v1), ..Default::default() }).unwrap();
        assert_eq!(r.read_to_vec().unwrap(), b"v1");
        let page = store.list(b, &ListOptions { versions: true, ..Default::default() }).unwrap();
        let seen: Vec<(VersionId, bool, bool)> =
            page.entries.iter().map(|e| (e.version_id, e.is_delete_marker, e.is_latest)).collect();
        assert_eq!(seen, vec![(marker, true, true), (v2, false, false), (v1, false, false)]);
        assert!(
            store.list(b, &ListOptions::default()).unwrap().entries.is_empty(),
            "a key whose latest is a marker is not listed"
        );
        store.delete_version(b, "k", marker, None).unwrap();
        assert_eq!(read(&store, b, "k").unwrap(), b"v2", "removing the marker restores the previous version");
        let missing = VersionId([9; 16]);
        assert!(matches!(store.delete_version(b, "k", missing, None), Err(Error::NoSuchVersion { .. })));
        assert!(matches!(store.head(b, "k", Some(missing)), Err(Error::NoSuchVersion { .. })));
    });
}

#[test]
fn ranges_touch_only_the_needed_bytes() {
    both(|open| {
        let store = open();
        let b = store.create_bucket("b").unwrap();
        let data = body(3, 20_000);
        store.put_bytes(b, "big", &data, &PutOptions::default()).unwrap();
        for (spec, lo, hi) in [
            ("bytes=0-0", 0, 1),
            ("bytes=4090-4100", 4090, 4101),
            ("bytes=19990-", 19990, 20000),
            ("bytes=-5", 19995, 20000),
            ("bytes=100-99999", 100, 20000),
        ] {
            let range = ByteRange::parse(spec).unwrap();
            let (_, mut r) =
                store.get(b, "big", &GetOptions { range: Some(range), ..Default::default() }).unwrap();
            assert_eq!(r.remaining(), (hi - lo) as u64);
            assert_eq!(r.read_to_vec().unwrap(), data[lo..hi], "{spec}");
        }
        let e = store
            .get(b, "big", &GetOptions { range: Some(ByteRange::From(20_000)), ..Default::default() })
            .unwrap_err();
        assert!(matches!(e, Error::InvalidRange { size: 20_000, .. }));
        // std::io::Read streams the same bytes in small reads.
        let (_, mut r) = store.get(b, "big", &GetOptions::default()).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 777];
        loop {
            let n = std::io::Read::read(&mut r, &mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, data);
    });
}

#[test]
fn listing_is_in_byte_order_across_partitions_with_prefix_and_paging() {
    both(|open| {
        let store = open();
        let b = store.create_bucket("b").unwrap();
        let other = store.create_bucket("other").unwrap();
        let mut keys: Vec<String> = (0..300).map(|i| format!("dir{}/file{i:03}", i % 3)).collect();
        keys.push("Zebra".into());
        keys.push("\u{e9}t\u{e9}".into());
        for k in &keys {
            store.put_bytes(b, k, k.as_bytes(), &PutOptions::default()).unwrap();
        }
        store.put_bytes(other, "dir0/file000", b"x", &PutOptions::default()).unwrap();
        keys.sort();
        let mut listed = Vec::new();
        let mut start_after = None;
        loop {
            let page = store
                .list(b, &ListOptions { start_after: start_after.clone(), max_keys: 7, ..Default::default() })
                .unwrap();
            listed.extend(page.entries.iter().map(|e| e.key.clone()));
            if !page.is_truncated {
                break;
            }
            start_after = page.entries.last().map(|e| e.key.clone());
        }
        assert_eq!(listed, keys);
        let page = store.list(b, &ListOptions { prefix: "dir1/".into(), ..Default::default() }).unwrap();
        assert_eq!(page.entries.len(), 100);
        assert!(page.entries.iter().all(|e| e.key.starts_with("dir1/")));
        let one = store.list(b, &ListOptions { max_keys: 1000, ..Default::default() }).unwrap();
        assert_eq!((one.entries.len(), one.is_truncated), (302, false));
    });
}

#[test]
fn list_limits_at_and_past() {
    both(|open| {
        let store = open();
        let b = store.create_bucket("b").unwrap();
        assert!(store.list(b, &ListOptions { max_keys: 1000, ..Default::default() }).is_ok());
        for bad in [0, 1001] {
            let e = store.list(b, &ListOptions { max_keys: bad, ..Default::default() }).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument { name: "max-keys", .. }), "{e:?}");
        }
    });
}

#[test]
fn buckets_create_delete_and_errors() {
    both(|open| {
        let store = open();
        let b = store.create_bucket("b").unwrap();
        assert!(matches!(store.create_bucket("b"), Err(Error::BucketAlreadyExists { .. })));
        assert!(matches!(store.create_bucket(""), Err(Error::InvalidArgument { .. })));
        assert!(store.create_bucket(&"x".repeat(63)).is_ok());
        assert!(matches!(store.create_bucket(&"x".repeat(64)), Err(Error::InvalidArgument { .. })));
        store.put_bytes(b, "k", b"v", &PutOptions::default()).unwrap();
        let e = store.delete_bucket("b").unwrap_err();
        assert!(matches!(e, Error::BucketNotEmpty { .. }));
        assert_eq!((e.code(), e.http_status()), ("BucketNotEmpty", 409));
        store.delete(b, "k").unwrap();
        store.delete_bucket("b").unwrap();
        assert!(matches!(store.delete_bucket("b"), Err(Error::NoSuchBucket { .. })));
        assert!(matches!(
            store.put_bytes(b, "k", b"v", &PutOptions::default()),
            Err(Error::NoSuchBucket { .. })
        ));
        assert!(matches!(read(&store, b, "k"), Err(Error::NoSuchBucket { .. })));
        // A recreated bucket gets a new id: nothing of the old one reappears.
        let b2 = store.create_bucket("b").unwrap();
        assert_ne!(b, b2);
        drop(store);
        let store = open();
        assert_eq!(store.bucket("b").unwrap().id, b2);
        assert_eq!(store.list_buckets().unwrap().len(), 2);
        assert!(store.list(b2, &ListOptions::default()).unwrap().entries.is_empty());
    });
}

#[test]
fn key_limits_at_and_past() {
    both(|open| {
        let store = open();
        let b = store.create_bucket("b").unwrap();
        let at = "k".repeat(1024);
        store.put_bytes(b, &at, b"v", &PutOptions::default()).unwrap();
        assert_eq!(read(&store, b, &at).unwrap(), b"v");
        let past = "k".repeat(1025);
        let e = store.put_bytes(b, &past, b"v", &PutOptions::default()).unwrap_err();
        assert!(matches!(e, Error::KeyTooLong { len: 1025, max: 1024 }));
        assert_eq!(e.code(), "KeyTooLongError");
        assert!(matches!(read(&store, b, &past), Err(Error::KeyTooLong { .. })));
        assert!(matches!(store.delete(b, &past), Err(Error::KeyTooLong { .. })));
        assert!(matches!(
            store.put_bytes(b, "", b"v", &PutOptions::default()),
            Err(Error::InvalidArgument { .. })
        ));
    });
}

#[test]
fn missing_keys_and_deletes() {
    both(|open| {
        let store = open();
        let b = store.create_bucket("b").unwrap();
        let e = read(&store, b, "nope").unwrap_err();
        assert!(matches!(e, Error::NoSuchKey { delete_marker: false, .. }));
        assert_eq!((e.code(), e.http_status()), ("NoSuchKey", 404));
        assert!(matches!(store.head(b, "nope", None), Err(Error::NoSuchKey { .. })));
        store.delete(b, "nope").unwrap();
    });
}

#[test]
fn content_length_mismatch_and_failing_reader_store_nothing() {
    both(|open| {
        let store = open();
        let b = store.create_bucket("b").unwrap();
        let opts = PutOptions { content_length: Some(10), ..Default::default() };
        let e = store.put(b, "k", &b"short"[..], &opts).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { name: "Content-Length", .. }));
        struct Failing(usize);
        impl std::io::Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::Error::other("network went away"));
                }
                let n = buf.len().min(self.0);
                buf[..n].fill(7);
                self.0 -= n;
                Ok(n)
            }
        }
        // A declared length past the inline limit goes straight to chunks: a shorter or longer
        // body is refused all the same.
        for actual in [0usize, 100, 3000, 9000] {
            let opts = PutOptions { content_length: Some(5000), ..Default::default() };
            let e = store.put(b, "k", &body(3, actual)[..], &opts).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument { name: "Content-Length", .. }), "{actual}: {e}");
        }
        let e = store.put(b, "k", Failing(10_000), &PutOptions::default()).unwrap_err();
        assert!(matches!(e, Error::BodyRead { .. }));
        assert_eq!(e.code(), "IncompleteBody");
        assert!(matches!(read(&store, b, "k"), Err(Error::NoSuchKey { .. })));
    });
}

#[test]
fn storage_classes_get_their_own_segments() {
    both(|open| {
        let store = open();
        let b = store.create_bucket("b").unwrap();
        let ia = PutOptions { storage_class: StorageClass::StandardIa, ..Default::default() };
        store.put_bytes(b, "cold", &body(1, 5000), &ia).unwrap();
        store.put_bytes(b, "hot", b"h", &PutOptions::default()).unwrap();
        drop(store);
        let store = open();
        assert_eq!(store.head(b, "cold", None).unwrap().storage_class, StorageClass::StandardIa);
        assert_eq!(store.head(b, "hot", None).unwrap().storage_class, StorageClass::Standard);
        assert_eq!(read(&store, b, "cold").unwrap(), body(1, 5000));
    });
}

#[test]
fn segments_rotate_and_sealed_segments_are_read_back() {
    both(|open| {
        let store = open();
        let b = store.create_bucket("b").unwrap();
        // ~2 MiB over 4 partitions with 256 KiB segments: every partition rotates several times.
        for i in 0..400u64 {
            store.put_bytes(b, &format!("k{i}"), &body(i, 5000), &PutOptions::default()).unwrap();
        }
        for i in 0..400u64 {
            assert_eq!(read(&store, b, &format!("k{i}")).unwrap(), body(i, 5000));
        }
        drop(store);
        let store = open();
        let r = store.recovery_report();
        // Sealed segments a checkpoint covers are opened without a scan.
        assert!(r.segments_scanned + r.segments_loaded > 8, "{r:?}");
        for i in (0..400u64).step_by(37) {
            assert_eq!(read(&store, b, &format!("k{i}")).unwrap(), body(i, 5000));
        }
    });
}

#[test]
fn durability_modes_all_persist_after_a_clean_close() {
    for d in [Durability::Immediate, Durability::Paranoid, Durability::Eventual { flush_interval_ms: 5 }] {
        let sim = s3lite::io::SimStorage::new();
        let store = common::sim_builder(&sim).durability(d).open().unwrap();
        let b = store.create_bucket("b").unwrap();
        store.put_bytes(b, "k", b"v", &PutOptions::default()).unwrap();
        let fast = PutOptions {
            durability: Some(Durability::Eventual { flush_interval_ms: 1 }),
            ..Default::default()
        };
        store.put_bytes(b, "k2", b"v2", &fast).unwrap();
        store.close().unwrap();
        sim.crash(s3lite::io::CrashMode::DropUnsynced);
        let store = common::sim_builder(&sim).open().unwrap();
        assert_eq!(read(&store, b, "k").unwrap(), b"v", "{d:?}");
        assert_eq!(read(&store, b, "k2").unwrap(), b"v2", "{d:?}");
    }
}

#[test]
fn eventual_writes_are_synced_by_the_flusher() {
    let sim = s3lite::io::SimStorage::new();
    let store =
        common::sim_builder(&sim).durability(Durability::Eventual { flush_interval_ms: 5 }).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    store.put_bytes(b, "k", b"v", &PutOptions::default()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    // Crash without a close: only the background flush can have made the write durable.
    sim.crash(s3lite::io::CrashMode::DropUnsynced);
    drop(store);
    let store = common::sim_builder(&sim).open().unwrap();
    assert_eq!(read(&store, b, "k").unwrap(), b"v");
}

#[test]
fn a_second_open_is_refused_while_the_first_lives() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let Err(e) = Store::open(dir.path()) else { panic!("a second open in this process succeeded") };
    assert!(matches!(e, Error::AlreadyOpen { .. }), "{e:?}");
    assert!(e.to_string().contains("already open in this process"), "{e}");
    // Through another spelling of the same directory too: the registry holds canonical paths.
    let Err(e) = Store::open(dir.path().join(".")) else { panic!("a second open succeeded") };
    assert!(matches!(e, Error::AlreadyOpen { .. }), "{e:?}");
    let clone = store.clone();
    drop(store);
    let Err(e) = Store::open(dir.path()) else { panic!("a clone keeps the store open") };
    assert!(matches!(e, Error::AlreadyOpen { .. }), "{e:?}");
    drop(clone);
    Store::open(dir.path()).unwrap();
    let sim = s3lite::io::SimStorage::new();
    let _a = common::sim_builder(&sim).open().unwrap();
    assert!(matches!(common::sim_builder(&sim).open(), Err(Error::Locked { .. })));
}

#[test]
fn builder_rejects_bad_options() {
    let cases: Vec<(s3lite::StoreBuilder, &str)> = vec![
        (Store::in_memory_builder().partitions(3), "partitions"),
        (Store::in_memory_builder().partitions(8192), "partitions"),
        (Store::in_memory_builder().segment_bytes(1024), "segment_bytes"),
        (Store::in_memory_builder().chunk_bytes(0), "chunk_bytes"),
        (Store::in_memory_builder().chunk_bytes(1024).inline_bytes(2048), "inline_bytes"),
        (
            Store::in_memory_builder().durability(Durability::Eventual { flush_interval_ms: 0 }),
            "flush_interval_ms",
        ),
    ];
    for (b, name) in cases {
        match b.open() {
            Err(Error::InvalidArgument { name: n, .. }) => assert_eq!(n, name),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn creation_parameters_persist_and_a_different_layout_is_refused() {
    let sim = s3lite::io::SimStorage::new();
    let store = common::sim_builder(&sim).partitions(8).region("eu-west-1").open().unwrap();
    assert_eq!((store.partition_count(), store.region()), (8, "eu-west-1"));
    drop(store);
    // The region of an existing store is its own; a different partition count is refused, not
    // ignored (issue 13: an experiment must not measure a layout it did not ask for).
    let Err(e) = common::sim_builder(&sim).partitions(2).open() else {
        panic!("a layout change was ignored")
    };
    assert!(matches!(&e, Error::InvalidArgument { name: "partitions", value, .. } if value == "2"), "{e}");
    assert!(e.to_string().contains("has 8 partitions"), "{e}");
    let Err(e) = common::sim_builder(&sim).partitions(8).prefix_len(4).open() else { panic!("ignored") };
    assert!(matches!(&e, Error::InvalidArgument { name: "prefix_len", value, .. } if value == "4"), "{e}");
    assert!(e.to_string().contains("routes by the whole key"), "{e}");
    let store = common::sim_builder(&sim).partitions(8).region("us-east-1").open().unwrap();
    assert_eq!((store.partition_count(), store.region()), (8, "eu-west-1"));
    assert_eq!(store.recovery_report().mode, RecoveryMode::Strict);
    drop(store);
    // Without the options, the stored layout is used.
    let store = Store::builder("/db").storage(std::sync::Arc::new(sim.clone())).open().unwrap();
    assert_eq!((store.partition_count(), store.prefix_len()), (8, None));
}

#[test]
fn in_memory_store_works() {
    let store = Store::open_in_memory().unwrap();
    let b = store.create_bucket("b").unwrap();
    store.put_bytes(b, "k", b"v", &PutOptions::default()).unwrap();
    assert_eq!(read(&store, b, "k").unwrap(), b"v");
}

#[test]
fn conditional_writes_are_checked_atomically() {
    both(|open| {
        let store = open();
        let b = store.create_bucket("b").unwrap();
        let if_absent = PutOptions { condition: Some(WriteCondition::IfAbsent), ..Default::default() };
        let first = store.put_bytes(b, "k", b"one", &if_absent).unwrap();
        let e = store.put_bytes(b, "k", b"two", &if_absent).unwrap_err();
        assert!(matches!(&e, Error::PreconditionFailed { bucket, .. } if bucket == "b"), "{e:?}");
        assert_eq!((e.code(), e.http_status()), ("PreconditionFailed", 412));
        let if_match = |etag: &str| PutOptions {
            condition: Some(WriteCondition::IfETagMatches(etag.into())),
            ..Default::default()
        };
        assert!(matches!(
            store.put_bytes(b, "k", b"x", &if_match("\"00000000000000000000000000000000\"")),
            Err(Error::PreconditionFailed { .. })
        ));
        assert!(matches!(
            store.put_bytes(b, "k", b"x", &if_match("garbage")),
            Err(Error::PreconditionFailed { .. })
        ));
        let second = store.put_bytes(b, "k", b"two", &if_match(&first.e_tag)).unwrap();
        assert_eq!(read(&store, b, "k").unwrap(), b"two");
        // Chunked bodies check the condition when they commit.
        assert!(matches!(
            store.put_bytes(b, "k", &body(1, 9000), &if_match(&first.e_tag)),
            Err(Error::PreconditionFailed { .. })
        ));
        assert_eq!(read(&store, b, "k").unwrap(), b"two");
        // Conditional deletes.
        let cond = WriteCondition::IfETagMatches(first.e_tag.clone());
        assert!(matches!(
            store.delete_version(b, "k", VersionId::NULL, Some(&cond)),
            Err(Error::PreconditionFailed { .. })
        ));
        let cond = WriteCondition::IfETagMatches(second.e_tag.clone());
        store.delete_version(b, "k", VersionId::NULL, Some(&cond)).unwrap();
        // A delete marker is "absent" for If-None-Match.
        store
            .put_bytes(b, "m", b"v", &PutOptions { version: NewVersion::Unique, ..Default::default() })
            .unwrap();
        store.put_delete_marker(b, "m", NewVersion::Unique, None).unwrap();
        store
            .put_bytes(b, "m", b"again", &PutOptions { version: NewVersion::Unique, ..if_absent.clone() })
            .unwrap();
        assert!(matches!(
            store.put_delete_marker(b, "m", NewVersion::Unique, Some(&WriteCondition::IfAbsent)),
            Err(Error::PreconditionFailed { .. })
        ));
    });
}

#[test]
fn racing_conditional_puts_have_exactly_one_winner() {
    // On disk with one partition, and a large unconditional put holding the leader in its fsync while
    // the racers queue up, so that the racers land in one group together.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::builder(dir.path()).partitions(1).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    for round in 0..60 {
        let key = format!("race-{round}");
        let barrier = std::sync::Barrier::new(5);
        let wins: usize = std::thread::scope(|s| {
            let (store2, barrier2) = (store.clone(), &barrier);
            s.spawn(move || {
                barrier2.wait();
                store2.put_bytes(b, "blocker", &body(round, 600_000), &PutOptions::default()).unwrap();
            });
            let handles: Vec<_> = (0..4u64)
                .map(|t| {
                    let (store, key, barrier) = (store.clone(), key.clone(), &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        std::thread::sleep(std::time::Duration::from_micros(300));
                        let opts =
                            PutOptions { condition: Some(WriteCondition::IfAbsent), ..Default::default() };
                        match store.put_bytes(b, &key, &body(t, 100), &opts) {
                            Ok(_) => 1,
                            Err(Error::PreconditionFailed { .. }) => 0,
                            Err(e) => panic!("{e}"),
                        }
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(wins, 1, "round {round}");
    }
}

/// A durable large put on disk has its chunks synced by the writeback thread as well as by its
/// commit record's group (`fsyncs` counts both); with writeback off only the commit syncs.
#[test]
fn large_puts_on_disk_use_background_writeback() {
    for writeback in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::builder(dir.path())
            .partitions(1)
            .chunk_bytes(256 * 1024)
            .background_writeback(writeback)
            .open()
            .unwrap();
        let b = store.create_bucket("b").unwrap();
        store.put_bytes(b, "warm", b"creates the segment", &PutOptions::default()).unwrap();
        store.reset_partition_stats();
        let big: Vec<u8> = (0..4u32 << 20).map(|i| (i % 251) as u8).collect();
        store.put_bytes(b, "big", &big, &PutOptions::default()).unwrap();
        let fsyncs = || store.partition_stats()[0].fsyncs;
        if writeback {
            // The writeback thread may still be syncing after the put returns.
            let start = std::time::Instant::now();
            while fsyncs() < 2 && start.elapsed().as_secs() < 30 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            assert!(fsyncs() >= 2, "writeback synced nothing: {}", fsyncs());
        } else {
            assert_eq!(fsyncs(), 1, "only the commit record's group syncs");
        }
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let mut r = store.get(b, "big", &GetOptions::default()).unwrap().1;
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut r, &mut back).unwrap();
        assert_eq!(back, big);
    }
}

/// A reader that hands out its bytes in uneven small reads, as a socket would.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.step = self.step % 7919 + 1013;
        let n = buf.len().min(self.step).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn large_bodies_at_default_sizes_read_back_cached_or_not() {
    for cache in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let open = || Store::builder(dir.path()).partitions(2).cache_large_bodies(cache).open().unwrap();
        let store = open();
        let b = store.create_bucket("b").unwrap();
        // Known lengths (straight to pieces) and unknown ones (read past the inline limit first),
        // across the 8 MiB chunk boundary.
        let sizes = [256 * 1024 + 1, 1 << 20, (8 << 20) + 3];
        let mut bodies = Vec::new();
        for (i, &len) in sizes.iter().enumerate() {
            let data = body(40 + i as u64, len);
            let md5 = format!("\"{:x}\"", <md5::Md5 as md5::Digest>::digest(&data));
            let known = store.put_bytes(b, &format!("known-{i}"), &data, &PutOptions::default()).unwrap();
            let streamed = store.put(
                b,
                &format!("streamed-{i}"),
                Trickle { data: &data, step: i },
                &PutOptions::default(),
            );
            assert_eq!(
                (known.e_tag.as_str(), streamed.unwrap().e_tag.as_str()),
                (md5.as_str(), md5.as_str())
            );
            bodies.push(data);
        }
        let check = |store: &Store, when: &str| {
            for (i, data) in bodies.iter().enumerate() {
                for name in ["known", "streamed"] {
                    let key = format!("{name}-{i}");
                    assert_eq!(&read(store, b, &key).unwrap(), data, "cache {cache}, {when}: {key}");
                }
            }
            // A range across the chunk boundary.
            let edge = 8 << 20;
            let range =
                GetOptions { range: Some(ByteRange::Inclusive(edge - 5, edge + 1)), ..Default::default() };
            let got = store.get(b, "streamed-2", &range).unwrap().1.read_to_vec().unwrap();
            assert_eq!(got, bodies[2][edge as usize - 5..=edge as usize + 1], "cache {cache}, {when}");
        };
        check(&store, "just written");
        drop(store);
        let store = open();
        check(&store, "reopened");
        drop(store);
    }
}
