//! Request-rate emulation on the store's clock, and the clock driving modification times.

use std::sync::Arc;

use s3lite::clock::ManualClock;
use s3lite::{
    Error, GetOptions, PartitionSplitting, PutOptions, RatePartitionState, RequestRateLimits, Store,
};

#[test]
fn partitions_answer_slow_down_past_their_rates_until_the_next_second() {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let limits = RequestRateLimits { writes_per_s: 5, reads_per_s: 8, splitting: None };
    let store = Store::in_memory_builder()
        .partitions(2)
        .prefix_len(3)
        .clock(clock.clone())
        .request_rate_limits(limits)
        .open()
        .unwrap();
    let b = store.create_bucket("bkt").unwrap();
    for i in 0..5 {
        store.put_bytes(b, &format!("hot{i}"), b"v", &PutOptions::default()).unwrap();
    }
    let e = store.put_bytes(b, "hot5", b"v", &PutOptions::default()).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("SlowDown", 503));
    assert!(e.to_string().contains("5 writes per second"), "{e}");
    assert!(matches!(e, Error::SlowDown { prefix: None, .. }), "store partitions carry the limits: {e:?}");
    assert!(matches!(store.delete(b, "hot0"), Err(s3lite::Error::SlowDown { .. })), "deletes are writes");
    for _ in 0..8 {
        store.head(b, "hot1", None).unwrap();
    }
    assert_eq!(store.get(b, "hot1", &GetOptions::default()).unwrap_err().code(), "SlowDown");
    // Another partition has its own budget.
    let other = (0..100)
        .map(|i| format!("{i:03}x"))
        .find(|k| s3lite::route(b.0, k.as_bytes(), 3, 2) != s3lite::route(b.0, b"hot", 3, 2))
        .unwrap();
    store.put_bytes(b, &other, b"v", &PutOptions::default()).unwrap();
    clock.advance_ms(1000);
    store.put_bytes(b, "hot5", b"v", &PutOptions::default()).unwrap();
    assert_eq!(
        store.head(b, "hot5", None).unwrap().last_modified_ms,
        1_001_000,
        "mtime comes from the store's clock"
    );
    // Through the client, the same error.
    for i in 0..4 {
        store.client().put_object().bucket("bkt").key(format!("hot-c{i}")).body(b"v").send().unwrap();
    }
    let e = store.client().put_object().bucket("bkt").key("hot-c4").body(b"v").send().unwrap_err();
    assert_eq!(e.code(), "SlowDown");
}

#[test]
fn rates_are_off_by_default() {
    let store = Store::open_in_memory().unwrap();
    let b = store.create_bucket("bkt").unwrap();
    for i in 0..5000 {
        store.put_bytes(b, &format!("k{i}"), b"", &PutOptions::default()).unwrap();
    }
    assert_eq!(
        RequestRateLimits::default(),
        RequestRateLimits { writes_per_s: 3500, reads_per_s: 5500, splitting: None }
    );
}

const SPLITTING: PartitionSplitting =
    PartitionSplitting { initial_prefix_len: 0, sustained_s: 2, delay_s: 5, max_prefix_len: 8 };

fn splitting_store(clock: &Arc<ManualClock>) -> Store {
    let limits = RequestRateLimits { writes_per_s: 10, reads_per_s: 10, splitting: Some(SPLITTING) };
    Store::in_memory_builder().clock(clock.clone()).request_rate_limits(limits).open().unwrap()
}

/// Tries `per_second` puts in each of `seconds` seconds and returns the admitted count per second.
fn offered_load(
    store: &Store,
    clock: &ManualClock,
    seconds: u32,
    key: impl Fn(u32, u32) -> String,
) -> Vec<u32> {
    let b = store.bucket("bkt").unwrap().id;
    (0..seconds)
        .map(|s| {
            let admitted =
                (0..64).filter(|&i| store.put_bytes(b, &key(s, i), b"v", &PutOptions::default()).is_ok());
            let n = admitted.count() as u32;
            clock.advance_ms(1000);
            n
        })
        .collect()
}

#[test]
fn hot_prefixes_split_after_sustained_overload_and_random_prefixes_gain() {
    let clock = Arc::new(ManualClock::new(0));
    let store = splitting_store(&clock);
    store.create_bucket("bkt").unwrap();
    let random = offered_load(&store, &clock, 10, |s, i| format!("{:x}{s}-{i}", i % 16));
    // One rate partition per bucket at first: 10 a second. Refusing in seconds 0 and 1 decides a
    // split that lands 5 s later (at 6.0 s), after which 16 first characters have 10 each.
    assert_eq!(random, [10, 10, 10, 10, 10, 10, 64, 64, 64, 64], "{random:?}");
    let parts = store.rate_partitions();
    assert_eq!(parts[0].prefix, b"");
    assert_eq!(parts[0].state, RatePartitionState::Split { at_ms: 6000 });
    assert_eq!(parts.len(), 17, "the bucket's partition and one per hex digit");
    let refused: u64 = parts.iter().map(|p| p.slow_downs).sum();
    assert_eq!(refused, 6 * 54);
    let stats_refused: u64 = store.partition_stats().iter().map(|p| p.slow_downs).sum();
    assert_eq!(stats_refused, refused, "store partition statistics count the same refusals");
}

#[test]
fn timestamp_keys_stay_throttled_however_often_their_prefix_splits() {
    let clock = Arc::new(ManualClock::new(0));
    let store = splitting_store(&clock);
    store.create_bucket("bkt").unwrap();
    let sequential = offered_load(&store, &clock, 60, |s, i| format!("2026-11-25T10:{s:02}:{i:03}"));
    assert!(sequential.iter().all(|&n| n == 10), "{sequential:?}");
    // Each split moves the load to the one longer prefix that holds "now": eight levels, then none.
    let parts = store.rate_partitions();
    let prefixes: Vec<String> =
        parts.iter().map(|p| String::from_utf8_lossy(&p.prefix).into_owned()).collect();
    assert_eq!(prefixes, ["", "2", "20", "202", "2026", "2026-", "2026-1", "2026-11", "2026-11-"]);
    assert_eq!(parts[8].state, RatePartitionState::Serving, "max_prefix_len reached");
    let b = store.bucket("bkt").unwrap().id;
    // This second's budget is spent by the first ten of these (the clock stands still).
    for _ in 0..19 {
        let _ = store.put_bytes(b, "2026-11-25T11:00:000", b"v", &PutOptions::default());
    }
    let e = store.put_bytes(b, "2026-11-25T11:00:000", b"v", &PutOptions::default());
    let Err(Error::SlowDown { prefix: Some(prefix), limit: 10, kind: "writes", .. }) = e else {
        panic!("{e:?}")
    };
    assert_eq!(prefix, "2026-11-");
    let e =
        store.client().put_object().bucket("bkt").key("2026-11-25T11:00:001").body(b"v").send().unwrap_err();
    assert_eq!(e.code(), "SlowDown");
    assert!(e.to_string().contains("prefix \"2026-11-\""), "{e}");
    // A key outside the hot prefix is served by a partition of its own.
    store.put_bytes(b, "archive/1", b"v", &PutOptions::default()).unwrap();
}

#[test]
fn splitting_options_are_checked() {
    for (splitting, name) in [
        (PartitionSplitting { sustained_s: 0, ..SPLITTING }, "sustained_s"),
        (PartitionSplitting { max_prefix_len: 0, initial_prefix_len: 0, ..SPLITTING }, "max_prefix_len"),
        (PartitionSplitting { max_prefix_len: 2, initial_prefix_len: 3, ..SPLITTING }, "max_prefix_len"),
    ] {
        let limits = RequestRateLimits { splitting: Some(splitting), ..RequestRateLimits::default() };
        let e = Store::in_memory_builder().request_rate_limits(limits).open().unwrap_err();
        assert!(matches!(&e, Error::InvalidArgument { name: n, .. } if *n == name), "{e:?}");
    }
    assert!(Store::open_in_memory().unwrap().rate_partitions().is_empty(), "empty without splitting");
}
