//! Request-rate emulation on the store's clock, and the clock driving modification times.

use std::sync::Arc;

use s3lite::clock::ManualClock;
use s3lite::{GetOptions, PutOptions, RequestRateLimits, Store};

#[test]
fn partitions_answer_slow_down_past_their_rates_until_the_next_second() {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let limits = RequestRateLimits { writes_per_s: 5, reads_per_s: 8 };
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
    assert_eq!(RequestRateLimits::default(), RequestRateLimits { writes_per_s: 3500, reads_per_s: 5500 });
}
