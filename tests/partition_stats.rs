//! Partition statistics: counters by kind, bytes, groups, fsyncs, live and dead bytes, reset; and the
//! two partition schemes (whole key, prefix).

mod common;

use s3lite::{GetOptions, ListOptions, PutOptions, Store};

#[test]
fn counters_follow_operations_and_reset() {
    let store = Store::in_memory_builder().partitions(4).prefix_len(4).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    store.reset_partition_stats();
    for i in 0..50 {
        store.put_bytes(b, &format!("same/{i:03}"), &[1u8; 100], &PutOptions::default()).unwrap();
    }
    for i in 0..10 {
        let (_, mut r) = store.get(b, &format!("same/{i:03}"), &GetOptions::default()).unwrap();
        r.read_to_vec().unwrap();
        store.head(b, &format!("same/{i:03}"), None).unwrap();
    }
    store.delete(b, "same/000").unwrap();
    store.list(b, &ListOptions::default()).unwrap();
    let stats = store.partition_stats();
    assert_eq!(stats.len(), 4);
    let hot: Vec<_> = stats.iter().filter(|s| s.puts > 0).collect();
    assert_eq!(hot.len(), 1, "prefix hashing puts every 'same' key in one partition");
    let h = hot[0];
    assert_eq!((h.puts, h.gets, h.heads, h.deletes), (50, 10, 10, 1));
    assert_eq!((h.bytes_in, h.bytes_out), (5000, 1000));
    assert_eq!(h.grouped_requests, 51, "one request per put and per delete");
    assert!(h.groups >= 1 && h.groups <= 51 && h.largest_group >= 1);
    assert_eq!(h.fsyncs, h.groups, "Immediate: one fdatasync per group");
    assert!(h.appended_bytes > 5000);
    assert!(h.live_bytes > 0 && h.live_bytes < h.appended_bytes);
    assert!(stats.iter().all(|s| s.lists >= 1), "a listing reads every partition");
    assert_eq!(h.operations(), 71);
    let before_dead = h.dead_bytes;
    for i in 1..50 {
        store.put_bytes(b, &format!("same/{i:03}"), &[2u8; 100], &PutOptions::default()).unwrap();
    }
    let h2 = store.partition_stats()[usize::from(h.partition)];
    assert!(h2.dead_bytes > before_dead + 49 * 100, "overwrites turn old records into dead bytes");
    store.reset_partition_stats();
    let z = store.partition_stats()[usize::from(h.partition)];
    assert_eq!((z.puts, z.groups, z.fsyncs, z.wait_ns, z.appended_bytes), (0, 0, 0, 0, 0));
    assert_eq!(z.live_bytes, h2.live_bytes, "live bytes are state, not a counter");
}

#[test]
fn whole_key_hashing_spreads_sequential_keys() {
    let store = Store::in_memory_builder().partitions(16).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    store.reset_partition_stats();
    for i in 0..1600 {
        store.put_bytes(b, &format!("2026-11-25T00:00:{i:06}"), b"", &PutOptions::default()).unwrap();
    }
    let stats = store.partition_stats();
    let max = stats.iter().map(|s| s.puts).max().unwrap();
    assert!(max < 200, "busiest partition has {max} of 1600 (even would be 100)");
}

#[test]
fn writers_on_one_partition_share_group_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::builder(dir.path()).partitions(1).open().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    store.reset_partition_stats();
    std::thread::scope(|s| {
        for t in 0..8 {
            let store = store.clone();
            s.spawn(move || {
                for i in 0..40 {
                    store.put_bytes(b, &format!("t{t}/{i}"), &[0u8; 4096], &PutOptions::default()).unwrap();
                }
            });
        }
    });
    let st = store.partition_stats()[0];
    assert_eq!(st.grouped_requests, 320);
    assert!(st.largest_group > 1, "concurrent writers share a group: {st:?}");
    assert!(st.fsyncs < 320, "fewer fsyncs than writes: {}", st.fsyncs);
    assert!(st.wait_ns > 0);
}
