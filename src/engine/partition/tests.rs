//! Unit tests of the partition: the router, preconditions within a group, seq order across classes,
//! the panicking leader.

use super::*;

#[test]
fn router_is_stable_and_in_range() {
    // Pinned values: the router is part of the on-disk format.
    assert_eq!(route(1, b"photos/2024/a.jpg", u32::MAX, 16), route(1, b"photos/2024/a.jpg", u32::MAX, 16));
    let pinned: Vec<u16> = (0..4u64).map(|b| route(b, b"key", u32::MAX, 16)).collect();
    assert_eq!(pinned, PINNED_ROUTES.to_vec());
    for i in 0..1000u32 {
        assert!(route(7, &i.to_le_bytes(), u32::MAX, 8) < 8);
    }
}

const PINNED_ROUTES: [u16; 4] = [11, 6, 10, 0];

fn test_partition() -> Partition {
    use crate::engine::io::SimStorage;
    let storage: Arc<dyn crate::engine::io::Storage> = Arc::new(SimStorage::new());
    storage.create_dir_all(std::path::Path::new("/t")).unwrap();
    let file = storage.open(std::path::Path::new("/t/m"), OpenMode::CreateNew).unwrap();
    let ctx = Context {
        storage,
        root: "/t".into(),
        store_uuid: [1; 16],
        params: crate::engine::context::Params {
            partitions: 1,
            prefix_len: u32::MAX,
            segment_bytes: 1 << 20,
            inline_bytes: 1024,
            chunk_bytes: 4096,
            group_bytes: 1 << 20,
            durability: Durability::Immediate,
            preallocate_bytes: 0,
            rate_limits: None,
        },
        next_seq: std::sync::atomic::AtomicU64::new(1),
        next_segment_id: std::sync::atomic::AtomicU64::new(1),
        poisoned: AtomicBool::new(false),
        manifest: Mutex::new(crate::engine::context::ManifestLog { file, path: "/t/m".into(), tail: 0 }),
        clock: Arc::new(crate::clock::SystemClock),
        ids: Arc::new(crate::engine::ids::IdSource::new(None)),
        key_slots: std::sync::OnceLock::new(),
    };
    Partition::new(0, Arc::new(ctx))
}

fn put_request(key: &str, version: u8, condition: Option<Condition>) -> Arc<Request> {
    let entry = IndexEntry::unplaced(
        VersionId([version; 16]),
        index::EntryKind::Inline,
        1,
        0,
        [version; 16],
        StorageClass::Standard,
    );
    let effect =
        Effect::Upsert { bucket: 1, key: key.as_bytes().to_vec(), entry, spans: Vec::new(), settles: false };
    Arc::new(Request {
        records: Mutex::new(vec![WriteRecord::new(Vec::new(), effect)]),
        precondition: condition.map(|condition| Precondition {
            bucket: 1,
            key: key.as_bytes().to_vec(),
            condition,
            upload: None,
        }),
        bytes: 0,
        class: StorageClass::Standard,
        durability: Durability::Immediate,
        result: Mutex::new(None),
        queued_at: std::time::Instant::now(),
    })
}

#[test]
fn preconditions_see_earlier_requests_of_the_same_group() {
    let p = test_partition();
    let batch = vec![
        put_request("k", 1, Some(Condition::Absent)),
        put_request("k", 2, Some(Condition::Absent)),
        put_request("k", 3, Some(Condition::EtagIs([1; 16]))),
        put_request("k", 4, Some(Condition::EtagIs([1; 16]))),
        put_request("other", 5, Some(Condition::Absent)),
    ];
    let outcomes = p.check_preconditions(&batch);
    let passed: Vec<bool> = outcomes.iter().map(Option::is_none).collect();
    assert_eq!(passed, vec![true, false, true, false, true]);
}

/// A request carrying a real PUT record of `key`, version `version` (ETag all `version` bytes).
fn encoded_put(key: &str, version: u8, class: StorageClass, condition: Option<Condition>) -> Arc<Request> {
    let req = put_request(key, version, condition);
    let mut records = req.records.lock();
    records[0].bytes = encode_record(&RecordParts {
        kind: RecordKind::Put,
        flags: 0,
        seq: 0,
        bucket_id: 1,
        version_id: [version; 16],
        chunk_index: 0,
        key: key.as_bytes(),
        meta: &[],
        body: b"x",
    });
    if let Effect::Upsert { entry, .. } = &mut records[0].effect {
        entry.class = class;
    }
    drop(records);
    Arc::new(Request { class, ..Arc::try_unwrap(req).expect("one owner") })
}

#[test]
fn seqs_follow_queue_order_across_storage_classes() {
    let p = test_partition();
    // The second request's If-Match saw the first (queued before it, in another class): it must
    // end up newer, or recovery (which orders by seq) would bring the first back as current.
    // A STANDARD request first makes STANDARD the first class written.
    let batch = vec![
        encoded_put("other", 3, StorageClass::Standard, None),
        encoded_put("k", 1, StorageClass::StandardIa, None),
        encoded_put("k", 2, StorageClass::Standard, Some(Condition::EtagIs([1; 16]))),
    ];
    p.lead(&batch);
    let results: Vec<Vec<Written>> =
        batch.iter().map(|r| r.result.lock().take().expect("done").expect("written")).collect();
    assert!(results[0][0].seq < results[1][0].seq && results[1][0].seq < results[2][0].seq, "{results:?}");
    let index = p.index.read();
    assert_eq!(index.latest(1, b"k").map(|(_, e)| e.version_id), Some(VersionId([2; 16])));
}

#[test]
fn a_panicking_leader_hands_leadership_back_and_poisons() {
    let p = Arc::new(test_partition());
    let record = || WriteRecord::new(PANIC_IN_LEADER.to_vec(), Effect::Retain);
    let leader = {
        let p = p.clone();
        std::thread::spawn(move || {
            p.submit(vec![record()], StorageClass::Standard, Durability::Immediate, None)
        })
    };
    assert!(leader.join().is_err(), "the leader panicked");
    // The next writer neither waits for ever nor writes into a store in doubt.
    let (done, done_rx) = std::sync::mpsc::channel();
    let p2 = p.clone();
    std::thread::spawn(move || {
        let r = p2.submit(
            vec![WriteRecord::new(Vec::new(), Effect::Retain)],
            StorageClass::Standard,
            Durability::Immediate,
            None,
        );
        let _ = done.send(r.map(|_| ()));
    });
    let r =
        done_rx.recv_timeout(std::time::Duration::from_secs(30)).expect("a writer hung after a leader panic");
    assert!(matches!(r, Err(Error::PreviousIo)), "{r:?}");
    assert!(!p.queue.lock().leader);
}

#[test]
fn prefix_len_groups_keys_sharing_a_prefix() {
    let a = route(1, b"2024-01-01T00:00:01", 4, 16);
    for k in ["2024-02", "2024-12-31", "2024"] {
        assert_eq!(route(1, k.as_bytes(), 4, 16), a);
    }
    let spread: std::collections::HashSet<u16> =
        (0..200u32).map(|i| route(1, format!("2024-01-01T{i:06}").as_bytes(), u32::MAX, 16)).collect();
    assert!(spread.len() > 12, "whole-key hashing spreads sequential keys: {}", spread.len());
}
