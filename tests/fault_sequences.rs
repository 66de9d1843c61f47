//! Faults in sequences, as real machines produce them: a process kill keeps the page cache (unsynced
//! bytes stay readable, and unsynced), a power loss drops it, and they follow each other: kill →
//! restart → more work → power loss; a kill during recovery; a power loss at every write point of a
//! recovery. After each sequence every acknowledged write, catalog edits included, must be there.
//! `cargo test --test fault_sequences -- --nocapture` prints how many sequences were checked.

mod common;

use common::{body, read, sim_builder};
use s3lite::io::{CrashMode, OpKind, SimStorage};
use s3lite::{Error, PutOptions, Store};

/// The reviewer's scenario: a bucket's catalog record is written but its sync never returns, the
/// process is killed, the restarted store shows the bucket (its bytes are in the page cache), an
/// `Immediate` put into it on another partition is acknowledged, and then the power fails. The
/// bucket, and with it the acknowledged object, must survive: recovery has to make durable what it
/// accepted before the store answers anything.
#[test]
fn a_bucket_seen_after_a_kill_survives_a_later_power_loss() {
    // Without zero-fill ahead the active segment ends at its last marker, so recovery has no tail to
    // cut (a cut syncs the file as a side effect) and must sync on its own.
    for preallocate in [0, 1 << 20] {
        bucket_survives(preallocate);
    }
}

fn bucket_survives(preallocate: u64) {
    let sim = SimStorage::new();
    let builder = || sim_builder(&sim).preallocate_bytes(preallocate);
    let store = builder().open().unwrap();
    sim.fail_nth(OpKind::Sync, 1);
    assert!(store.create_bucket("photos").is_err(), "the catalog record's sync fails");
    drop(store);
    sim.kill();
    let store = builder().open().unwrap();
    let b = store.bucket("photos").expect("the bucket's record is in the page cache").id;
    // A key that is not on partition 0, where catalog records live.
    let key =
        (0..).map(|i| format!("k{i}")).find(|k| s3lite::route(b.0, k.as_bytes(), u32::MAX, 4) != 0).unwrap();
    store.put_bytes(b, &key, &body(7, 100), &PutOptions::default()).unwrap();
    drop(store);
    sim.crash(CrashMode::DropUnsynced);
    let store = builder().open().unwrap();
    let b = store.bucket("photos").expect("the bucket the acknowledged put went into").id;
    assert_eq!(read(&store, b, &key).unwrap(), body(7, 100));
}

#[test]
fn nothing_unsynced_is_left_once_recovery_has_run() {
    let sim = SimStorage::new();
    let store = sim_builder(&sim).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    store
        .put_bytes(
            b,
            "eventual",
            &body(1, 3000),
            &PutOptions {
                durability: Some(s3lite::Durability::Eventual { flush_interval_ms: 60_000 }),
                ..Default::default()
            },
        )
        .unwrap();
    sim.fail_nth(OpKind::Sync, 1);
    assert!(matches!(store.put_bytes(b, "x", b"x", &PutOptions::default()), Err(Error::Io { .. })));
    drop(store);
    sim.kill();
    assert!(sim.unsynced_bytes() > 0);
    let store = sim_builder(&sim).open().unwrap();
    assert_eq!(sim.unsynced_bytes(), 0, "recovery made durable everything it accepted");
    drop(store);
}
