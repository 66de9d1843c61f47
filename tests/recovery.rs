//! Recovery behaviour: orphan cleanup, torn-tail cut and its report, seals never logged.

mod common;

use std::path::PathBuf;

use common::{body, read, sim_builder};
use s3lite::io::{CrashMode, OpenMode, SimStorage, Storage};
use s3lite::segment::scan::{SegmentState, scan_segment};
use s3lite::{Durability, PutOptions};

/// Debris of atomic writes and of a creation that wrote nothing is removed; a segment file nothing
/// names whose bytes are not a segment of this store is damage: Strict refuses naming it, Salvage
/// moves it into quarantine; files that are not segments by name are left alone. No file with data
/// in it is deleted.
#[test]
fn debris_is_removed_and_unlisted_damaged_segments_are_refused_or_quarantined() {
    let sim = SimStorage::new();
    let store = sim_builder(&sim).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    store.put_bytes(b, "k", b"v", &PutOptions::default()).unwrap();
    drop(store);
    let debris = ["/db/CURRENT.tmp", "/db/MANIFEST-000099", "/db/p0002/STANDARD/00000000000000fe.seg"];
    let damaged = "/db/p0000/STANDARD/00000000000000ff.seg";
    let foreign = "/db/p0001/STANDARD/junk";
    for s in debris.iter().chain([&damaged, &foreign]) {
        let data: &[u8] = if s.ends_with("fe.seg") { &[0; 4096] } else { b"debris" };
        sim.open(&PathBuf::from(s), OpenMode::CreateNew).unwrap().write_all_at(data, 0).unwrap();
    }
    let e = sim_builder(&sim).open().unwrap_err();
    assert!(e.to_string().contains("00000000000000ff.seg is not in the manifest"), "{e}");
    let store = sim_builder(&sim).recovery_mode(s3lite::RecoveryMode::Salvage).open().unwrap();
    let report = store.recovery_report().clone();
    for s in debris {
        assert!(report.orphans_removed.contains(&PathBuf::from(s)), "{s} not in {report:?}");
        assert!(!sim.exists(&PathBuf::from(s)).unwrap(), "{s} still exists");
    }
    let moved = PathBuf::from("/db/quarantine/p0000-STANDARD-00000000000000ff.seg");
    assert_eq!(report.quarantined, vec![moved.clone()]);
    assert!(sim.exists(&moved).unwrap() && !sim.exists(&PathBuf::from(damaged)).unwrap());
    assert!(sim.exists(&PathBuf::from(foreign)).unwrap(), "not the engine's file: left alone");
    assert_eq!(read(&store, b, "k").unwrap(), b"v");
    drop(store);
    let store = sim_builder(&sim).open().expect("strict opens once the damage is out of the store");
    assert_eq!(read(&store, b, "k").unwrap(), b"v");
}

#[test]
fn torn_tail_is_cut_reported_and_overwritten() {
    let sim = SimStorage::new();
    let store = sim_builder(&sim).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    store.put_bytes(b, "k", &body(1, 300), &PutOptions::default()).unwrap();
    drop(store);
    // Garbage after the last commit marker, as a write whose sync never returned leaves it.
    let seg = PathBuf::from("/db/p0000/STANDARD/0000000000000001.seg");
    let f = sim.open(&seg, OpenMode::ReadWrite).unwrap();
    let bytes = s3lite::io::read_all(&*f).unwrap();
    // The data ends before the zero-filled (preallocated) part of the file.
    let end = scan_segment(&bytes, SegmentState::Active, false).end;
    assert!(bytes.len() as u64 > end, "the segment is zero-filled ahead of its tail");
    f.write_all_at(&[0x52, 0x45, 0x43, 0x31, 9, 9, 9, 9, 1, 2, 3], end).unwrap();
    let store = sim_builder(&sim).open().unwrap();
    let torn = &store.recovery_report().torn_tails;
    assert_eq!(torn.len(), 1, "{torn:?}");
    assert_eq!((torn[0].offset, torn[0].len), (end, bytes.len() as u64 - end));
    assert_eq!(f.len().unwrap(), end, "the tail was truncated");
    store.put_bytes(b, "k2", b"after", &PutOptions::default()).unwrap();
    drop(store);
    let store = sim_builder(&sim).open().unwrap();
    assert!(store.recovery_report().torn_tails.is_empty());
    assert_eq!(read(&store, b, "k2").unwrap(), b"after");
    assert_eq!(read(&store, b, "k").unwrap(), body(1, 300));
}

#[test]
fn eventual_durability_loses_only_a_suffix() {
    for seed in 0..20u64 {
        let sim = SimStorage::new();
        let store =
            sim_builder(&sim).durability(Durability::Eventual { flush_interval_ms: 100_000 }).open().unwrap();
        let b = store.create_bucket("b").unwrap();
        store.sync().unwrap();
        for i in 0..30u64 {
            store.put_bytes(b, &format!("k{i:02}"), &body(i, 200), &PutOptions::default()).unwrap();
        }
        sim.crash(CrashMode::Random(seed));
        drop(store);
        let store = sim_builder(&sim).open().unwrap();
        let survivors: Vec<bool> = (0..30u64)
            .map(|i| read(&store, b, &format!("k{i:02}")).is_ok_and(|v| v == body(i, 200)))
            .collect();
        // Within each partition, what survives is a prefix of what was written there.
        for p in 0..store.partition_count() {
            let mine: Vec<bool> = (0..30u64)
                .filter(|i| s3lite::route(b.0, format!("k{i:02}").as_bytes(), u32::MAX, 4) == p as u16)
                .map(|i| survivors[i as usize])
                .collect();
            let first_lost = mine.iter().position(|s| !s).unwrap_or(mine.len());
            assert!(mine[first_lost..].iter().all(|s| !s), "seed {seed} partition {p}: {mine:?}");
        }
    }
}

/// Large bodies are written from the caller's buffer with their CRC computed once and combined into
/// the group and segment CRCs; a strict reopen re-checks every one of those CRCs by scanning.
#[test]
fn chunked_bodies_reopen_strict_across_seals() {
    let sim = SimStorage::new();
    let open = || {
        sim_builder(&sim)
            .partitions(1)
            .inline_bytes(1000)
            .chunk_bytes(1 << 20)
            .segment_bytes(3 << 20)
            .recovery_mode(s3lite::RecoveryMode::Strict)
            .open()
            .unwrap()
    };
    let store = open();
    let b = store.create_bucket("b").unwrap();
    // Odd sizes, so bodies need padding; over 1 MiB, so chunks are written in place, not coalesced.
    let sizes = [1001, (1 << 20) + 3, (2 << 20) + 5, (5 << 20) + 7];
    for (i, &n) in sizes.iter().enumerate() {
        store.put_bytes(b, &format!("k{i}"), &body(i as u64, n), &PutOptions::default()).unwrap();
    }
    let unknown_len = body(9, (3 << 20) + 1);
    store.put(b, "streamed", &unknown_len[..], &PutOptions::default()).unwrap();
    drop(store);
    let store = open();
    assert!(store.recovery_report().torn_tails.is_empty());
    for (i, &n) in sizes.iter().enumerate() {
        assert_eq!(read(&store, b, &format!("k{i}")).unwrap(), body(i as u64, n), "k{i}");
    }
    assert_eq!(read(&store, b, "streamed").unwrap(), unknown_len);
    let info = store.head(b, "streamed", None).unwrap();
    let md5: [u8; 16] =
        md5::Digest::finalize(<md5::Md5 as md5::Digest>::new_with_prefix(&unknown_len)).into();
    assert_eq!(info.e_tag, format!("\"{}\"", md5.iter().map(|b| format!("{b:02x}")).collect::<String>()));
}
