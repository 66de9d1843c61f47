//! Media corruption: a flipped bit is found, never served. `Strict` opens fail naming where;
//! `Salvage` opens report the damaged range and serve everything else.

mod common;

use std::path::PathBuf;

use common::{body, read};
use s3lite::format::record::{RecordKind, decode_record};
use s3lite::io::{SimStorage, Storage};
use s3lite::{
    BucketId, ByteRange, Checkpoints, Error, GetOptions, PutOptions, RecoveryMode, Store, StoreBuilder,
};

/// No checkpoints: these tests are about what a full scan finds at open. Damage a checkpoint
/// covers is found by the read that meets it (`damage_a_checkpoint_covers_is_found_by_the_read`).
fn sim_builder(sim: &SimStorage) -> StoreBuilder {
    common::sim_builder(sim).checkpoints(Checkpoints::OnDemand)
}

/// Fills a store so that partition segments get sealed; returns the keys and values written.
fn fill(sim: &SimStorage) -> Vec<(String, Vec<u8>)> {
    let store = sim_builder(sim).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let mut written = Vec::new();
    for i in 0..700u64 {
        let (k, v) = (format!("k{i:03}"), body(i, 800 + (i as usize % 5) * 1000));
        store.put_bytes(b, &k, &v, &PutOptions::default()).unwrap();
        written.push((k, v));
    }
    written
}

/// Offset of the first inline object record with a body of at least 200 bytes, and its body offset.
fn first_put(sim: &SimStorage, seg: &std::path::Path) -> (u64, u64) {
    use s3lite::format::record::{RecordKind, decode_record};
    let f = sim.open(seg, s3lite::io::OpenMode::ReadOnly).unwrap();
    let bytes = s3lite::io::read_all(&*f).unwrap();
    let mut pos = 4096usize;
    loop {
        let r = decode_record(&bytes[pos..]).unwrap();
        if r.header.kind == RecordKind::Put && r.header.body_len >= 200 {
            return (pos as u64, pos as u64 + r.header.body_offset());
        }
        pos += r.header.record_len() as usize;
    }
}

/// The first segment of partition 0 (sealed, since every partition rotated).
fn sealed_segment(sim: &SimStorage) -> PathBuf {
    let dir = PathBuf::from("/db/p0000/STANDARD");
    let names = sim.list_dir(&dir).unwrap();
    assert!(names.len() > 1, "partition 0 rotated: {names:?}");
    dir.join(&names[0])
}

#[test]
fn flipped_bit_in_a_sealed_segment_fails_strict_open_naming_where() {
    let sim = SimStorage::new();
    fill(&sim);
    let seg = sealed_segment(&sim);
    let (rec, _) = first_put(&sim, &seg);
    sim.flip_bit(&seg, rec + 64 + 2, 3).unwrap();
    let e = sim_builder(&sim).open().unwrap_err();
    let Error::Corruption { site, reason } = &e else { panic!("{e:?}") };
    assert_eq!(site.partition, Some(0));
    assert_eq!(
        site.segment_id,
        Some(u64::from_str_radix(seg.file_stem().unwrap().to_str().unwrap(), 16).unwrap())
    );
    assert_eq!(site.offset, rec, "{reason}");
    assert_eq!(e.http_status(), 500);
}

#[test]
fn salvage_reports_the_range_and_serves_everything_else() {
    let sim = SimStorage::new();
    let written = fill(&sim);
    let seg = sealed_segment(&sim);
    // A bit in the body of an object record: its header still names the key.
    let (rec, body_at) = first_put(&sim, &seg);
    sim.flip_bit(&seg, body_at + 100, 0).unwrap();
    let store = sim_builder(&sim).recovery_mode(RecoveryMode::Salvage).open().unwrap();
    let report = store.recovery_report().clone();
    assert_eq!(report.damaged.len(), 1, "{report:?}");
    assert_eq!(report.damaged[0].start, rec);
    let b = store.bucket("b").unwrap().id;
    let mut corrupt = 0;
    for (k, v) in &written {
        match read(&store, b, k) {
            Ok(got) => assert_eq!(&got, v),
            Err(Error::Corruption { .. }) => corrupt += 1,
            Err(e) => panic!("{k}: {e}"),
        }
    }
    assert_eq!(corrupt, 1, "exactly the damaged object answers Corruption");
}

#[test]
fn salvage_skips_an_unreadable_header() {
    let sim = SimStorage::new();
    let written = fill(&sim);
    let seg = sealed_segment(&sim);
    let (rec, _) = first_put(&sim, &seg);
    sim.flip_bit(&seg, rec + 12, 6).unwrap(); // meta_len of an object record
    assert!(matches!(sim_builder(&sim).open(), Err(Error::Corruption { .. })));
    let store = sim_builder(&sim).recovery_mode(RecoveryMode::Salvage).open().unwrap();
    assert!(!store.recovery_report().damaged.is_empty());
    let b = store.bucket("b").unwrap().id;
    let served = written.iter().filter(|(k, v)| read(&store, b, k).is_ok_and(|g| &g == v)).count();
    assert!(served >= written.len() - 1, "served {served} of {}", written.len());
}

#[test]
fn corruption_in_the_active_segment_before_a_synced_marker_is_not_a_torn_tail() {
    let sim = SimStorage::new();
    let store = sim_builder(&sim).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    for i in 0..5u64 {
        store.put_bytes(b, &format!("k{i}"), &body(i, 100), &PutOptions::default()).unwrap();
    }
    drop(store);
    // Partition 0 holds the catalog record in its active segment, followed by later groups.
    let seg = PathBuf::from("/db/p0000/STANDARD/0000000000000001.seg");
    sim.flip_bit(&seg, 4096 + 70, 1).unwrap();
    let e = sim_builder(&sim).open().unwrap_err();
    assert!(matches!(e, Error::Corruption { .. }), "{e:?}");
}

#[test]
fn a_damaged_record_read_at_run_time_is_corruption_not_data() {
    let sim = SimStorage::new();
    let store = sim_builder(&sim).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    store.put_bytes(b, "inline", &body(1, 500), &PutOptions::default()).unwrap();
    store.put_bytes(b, "chunked", &body(2, 9000), &PutOptions::default()).unwrap();
    // Damage every segment byte past the headers while the store is open.
    for p in 0..4u16 {
        let dir = PathBuf::from(format!("/db/p{p:04x}/STANDARD"));
        for name in sim.list_dir(&dir).unwrap() {
            for off in (4096 + 200..4096 + 9000).step_by(512) {
                let _ = sim.flip_bit(&dir.join(&name), off, 2);
            }
        }
    }
    for key in ["inline", "chunked"] {
        let e = read(&store, b, key).unwrap_err();
        assert!(matches!(e, Error::Corruption { .. }), "{key}: {e:?}");
    }
}

#[test]
fn a_segment_from_another_store_is_refused() {
    let a = SimStorage::new();
    fill(&a);
    let b = SimStorage::new();
    fill(&b);
    // Copy a's first sealed segment over b's, byte for byte.
    let seg = sealed_segment(&a);
    let src = a.open(&seg, s3lite::io::OpenMode::ReadOnly).unwrap();
    let bytes = s3lite::io::read_all(&*src).unwrap();
    let dst = b.open(&sealed_segment(&b), s3lite::io::OpenMode::ReadWrite).unwrap();
    dst.set_len(0).unwrap();
    dst.write_all_at(&bytes, 0).unwrap();
    let e = sim_builder(&b).open().unwrap_err();
    assert!(e.to_string().contains("another store"), "{e}");
}

#[test]
fn manifest_torn_tail_is_cut_and_garbage_current_is_corruption() {
    let sim = SimStorage::new();
    drop(sim_builder(&sim).open().unwrap());
    let current = PathBuf::from("/db/CURRENT");
    let f = sim.open(&current, s3lite::io::OpenMode::ReadOnly).unwrap();
    let name = String::from_utf8(s3lite::io::read_all(&*f).unwrap()).unwrap();
    let manifest = PathBuf::from("/db").join(name.trim());
    let m = sim.open(&manifest, s3lite::io::OpenMode::ReadWrite).unwrap();
    m.append(&[7, 0, 0, 0, 1, 2]).unwrap();
    let store = sim_builder(&sim).open().unwrap();
    assert_eq!(store.recovery_report().manifest_tail_bytes, 6);
    drop(store);
    let f = sim.open(&current, s3lite::io::OpenMode::ReadWrite).unwrap();
    f.set_len(0).unwrap();
    f.write_all_at(b"garbage\n", 0).unwrap();
    assert!(matches!(sim_builder(&sim).open(), Err(Error::Corruption { .. })));
}

#[test]
fn zeroed_sector_before_synced_data_is_corruption_not_the_end() {
    let sim = SimStorage::new();
    let store = sim_builder(&sim).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    for i in 0..40u64 {
        store.put_bytes(b, &format!("k{i}"), &body(i, 100), &PutOptions::default()).unwrap();
    }
    drop(store);
    // Zero the first 512 bytes of records in partition 0's active segment (the catalog record and
    // whatever follows); later groups' markers prove those bytes had been synced.
    let seg = PathBuf::from("/db/p0000/STANDARD/0000000000000001.seg");
    let f = sim.open(&seg, s3lite::io::OpenMode::ReadWrite).unwrap();
    f.write_all_at(&[0u8; 512], 4096).unwrap();
    let e = sim_builder(&sim).open().unwrap_err();
    let Error::Corruption { site, reason } = &e else { panic!("{e:?}") };
    assert_eq!(site.offset, 4096);
    assert!(reason.contains("zeroed"), "{reason}");
}

/// A sealed segment cut short on a real disk (memory-mapped at open): Strict refuses naming it,
/// Salvage serves what is intact; neither touches bytes past the file's end (which through a map
/// would be SIGBUS, not an error).
#[test]
fn a_truncated_sealed_segment_on_disk_is_corruption_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let builder = || common::small(s3lite::Store::builder(dir.path()));
    let store = builder().open().unwrap();
    let b = store.create_bucket("b").unwrap();
    for i in 0..400u64 {
        store.put_bytes(b, &format!("k{i:03}"), &body(i, 4000), &PutOptions::default()).unwrap();
    }
    drop(store);
    let seg = dir.path().join("p0000/STANDARD/0000000000000001.seg");
    let segments = std::fs::read_dir(dir.path().join("p0000/STANDARD")).unwrap().count();
    assert!(segments > 1, "segment 1 was sealed");
    let len = std::fs::metadata(&seg).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&seg).unwrap().set_len(len - 5000).unwrap();
    let Err(e) = builder().open() else { panic!("a strict open accepted a truncated sealed segment") };
    let Error::Corruption { site, .. } = &e else { panic!("{e:?}") };
    assert_eq!((site.partition, site.segment_id), (Some(0), Some(1)), "{e}");
    let store = builder().recovery_mode(RecoveryMode::Salvage).open().unwrap();
    assert!(!store.recovery_report().damaged.is_empty());
    for i in 0..400u64 {
        match read(&store, b, &format!("k{i:03}")) {
            Ok(v) => assert!(v == body(i, 4000)),
            Err(Error::Corruption { .. } | Error::NoSuchKey { .. }) => {}
            Err(e) => panic!("k{i:03}: {e:?}"),
        }
    }
}

/// Where one body lies in a segment file: the record's kind, its chunk index, and the segment offset
/// of its body's middle byte.
fn body_middles(sim: &SimStorage, seg: &std::path::Path, key: &[u8]) -> Vec<(RecordKind, u32, u64)> {
    let f = sim.open(seg, s3lite::io::OpenMode::ReadOnly).unwrap();
    body_middles_in(&s3lite::io::read_all(&*f).unwrap(), key)
}

fn body_middles_in(bytes: &[u8], key: &[u8]) -> Vec<(RecordKind, u32, u64)> {
    let mut pos = 4096usize;
    let mut found = Vec::new();
    while let Ok(r) = decode_record(&bytes[pos..]) {
        if r.key == key && matches!(r.header.kind, RecordKind::Put | RecordKind::Chunk) {
            let middle = pos as u64 + r.header.body_offset() + r.header.body_len / 2;
            found.push((r.header.kind, r.header.chunk_index, middle));
        }
        pos += r.header.record_len() as usize;
    }
    found
}

/// Every way of reading a body (whole, a range over the damage, `Read`, `write_to`) fails with
/// `Corruption`; a streaming read hands out only bytes of chunks before the damaged one.
fn assert_every_read_path_finds(store: &Store, b: BucketId, key: &str, good: &[u8], damaged_at: u64) {
    let get = |range: Option<ByteRange>| {
        store.get(b, key, &GetOptions { range, ..GetOptions::default() }).map(|(_, r)| r)
    };
    // Lengths, not bodies, in the messages.
    let whole = get(None).and_then(|mut r| r.read_to_vec()).map(|v| v.len());
    assert!(matches!(whole, Err(Error::Corruption { .. })), "{key} whole: {whole:?}");
    let range = get(Some(ByteRange::Inclusive(damaged_at - 3, damaged_at + 3)))
        .and_then(|mut r| r.read_to_vec())
        .map(|v| v.len());
    assert!(matches!(range, Err(Error::Corruption { .. })), "{key} range: {range:?}");
    // Streaming: an inline body fails at `get`; a chunked one when the reader reaches the chunk.
    match get(None) {
        Err(e) => assert!(matches!(e, Error::Corruption { .. }), "{key} get: {e:?}"),
        Ok(mut r) => {
            let mut out = Vec::new();
            let e = std::io::Read::read_to_end(&mut r, &mut out).unwrap_err();
            assert!(e.to_string().contains("crc"), "{key} read: {e}");
            assert!(
                out.len() as u64 <= damaged_at && good.starts_with(&out),
                "{key}: served {} bytes",
                out.len()
            );
            let mut sink = Vec::new();
            let e = get(None).unwrap().write_to(&mut sink).unwrap_err();
            assert!(matches!(e, Error::Corruption { .. }), "{key} write_to: {e:?}");
            assert!(
                sink.len() as u64 <= damaged_at && good.starts_with(&sink),
                "{key}: wrote {} bytes",
                sink.len()
            );
        }
    }
}

/// A byte flipped in the middle of an inline body (read with its record, and read on its own) and
/// of a chunk is found by every read path, from an active segment (read by `pread`) and again once
/// the segment is sealed (read through its map).
#[test]
fn a_flipped_body_byte_is_found_by_every_read_path_active_and_sealed() {
    let sim = SimStorage::new();
    let builder = || {
        Store::builder("/db")
            .storage(std::sync::Arc::new(sim.clone()))
            .partitions(1)
            .segment_bytes(512 * 1024)
            .inline_bytes(64 * 1024)
            .chunk_bytes(64 * 1024)
    };
    let store = builder().open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let objects = [("small", body(1, 900)), ("large", body(2, 40_000)), ("chunked", body(3, 150_000))];
    for (k, v) in &objects {
        store.put_bytes(b, k, v, &PutOptions::default()).unwrap();
    }
    let dir = PathBuf::from("/db/p0000/STANDARD");
    let seg = dir.join(&sim.list_dir(&dir).unwrap()[0]);
    // Found before any damage: a damaged record ends the scan.
    let places: Vec<_> = objects
        .iter()
        .map(|(k, _)| {
            // The middle of the body of an inline object, or of its second chunk.
            *body_middles(&sim, &seg, k.as_bytes())
                .iter()
                .find(|b| b.0 == RecordKind::Put || b.1 == 1)
                .unwrap()
        })
        .collect();
    let mut damaged = Vec::new();
    for ((k, v), (kind, index, at)) in objects.iter().zip(places) {
        sim.flip_bit(&seg, at, 5).unwrap();
        // Chunk 1 is whole (64 KiB), so its middle is 32 KiB into it.
        let in_object =
            if kind == RecordKind::Chunk { 65_536 * u64::from(index) + 32_768 } else { v.len() as u64 / 2 };
        damaged.push((*k, v.clone(), in_object));
    }
    for (k, v, at) in &damaged {
        assert_every_read_path_finds(&store, b, k, v, *at);
    }
    // A range inside an undamaged chunk is still served.
    let (_, mut r) = store
        .get(b, "chunked", &GetOptions { range: Some(ByteRange::Inclusive(10, 20)), ..GetOptions::default() })
        .unwrap();
    assert_eq!(r.read_to_vec().unwrap(), &objects[2].1[10..=20]);
    // Seal the damaged segment: the segment CRC is the writer's, so the damage is in the map only.
    let filler = body(4, 60_000);
    for i in 0..10 {
        store.put_bytes(b, &format!("filler{i}"), &filler, &PutOptions::default()).unwrap();
    }
    assert!(sim.list_dir(&dir).unwrap().len() > 1, "the first segment was sealed");
    for (k, v, at) in &damaged {
        assert_every_read_path_finds(&store, b, k, v, *at);
    }
}

/// On the real file system (where an active segment is read by `pread` into a buffer never
/// zero-filled), a byte changed on disk under an open store in an inline body read apart from its
/// head and in a chunk read straight into the caller's buffer is found by every read path.
#[test]
fn a_body_byte_changed_on_disk_is_found_by_every_read_path() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::builder(dir.path())
        .partitions(1)
        .inline_bytes(64 * 1024)
        .chunk_bytes(64 * 1024)
        .open()
        .unwrap();
    let b = store.create_bucket("b").unwrap();
    let objects = [("large", body(5, 50_000)), ("chunked", body(6, 200_000))];
    for (k, v) in &objects {
        store.put_bytes(b, k, v, &PutOptions::default()).unwrap();
    }
    let segs = dir.path().join("p0000/STANDARD");
    let seg = std::fs::read_dir(&segs).unwrap().next().unwrap().unwrap().path();
    let bytes = std::fs::read(&seg).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    for (k, v) in &objects {
        let (kind, index, at) = *body_middles_in(&bytes, k.as_bytes())
            .iter()
            .find(|b| b.0 == RecordKind::Put || b.1 == 1)
            .unwrap();
        file.write_all_at(&[bytes[at as usize] ^ 0x20], at).unwrap();
        let in_object =
            if kind == RecordKind::Chunk { 65_536 * u64::from(index) + 32_768 } else { v.len() as u64 / 2 };
        assert_every_read_path_finds(&store, b, k, v, in_object);
    }
}

#[test]
fn damage_a_checkpoint_covers_is_found_by_the_read_that_meets_it() {
    let sim = SimStorage::new();
    let written = {
        let store = common::sim_builder(&sim).open().unwrap();
        let b = store.create_bucket("b").unwrap();
        let mut written = Vec::new();
        for i in 0..700u64 {
            let (k, v) = (format!("k{i:03}"), body(i, 800 + (i as usize % 5) * 1000));
            store.put_bytes(b, &k, &v, &PutOptions::default()).unwrap();
            written.push((k, v));
        }
        written
        // Dropped: a clean close, which checkpoints every partition.
    };
    let seg = sealed_segment(&sim);
    let (_, body_at) = first_put(&sim, &seg);
    sim.flip_bit(&seg, body_at + 10, 2).unwrap();
    let store = common::sim_builder(&sim).open().unwrap();
    let r = store.recovery_report();
    assert!(r.segments_loaded > 0 && r.partitions_fully_scanned.is_empty(), "{r:?}");
    let b = store.bucket("b").unwrap().id;
    let mut corrupt = 0;
    for (k, v) in &written {
        match read(&store, b, k) {
            Ok(got) => assert!(got == *v, "{k}: other bytes served"),
            Err(Error::Corruption { .. }) => corrupt += 1,
            Err(e) => panic!("{k}: {e}"),
        }
    }
    assert_eq!(corrupt, 1, "exactly the damaged object answers Corruption");
    drop(store);
    // A full scan (Salvage never starts from a checkpoint) reports the range.
    let store = common::sim_builder(&sim).recovery_mode(RecoveryMode::Salvage).open().unwrap();
    assert_eq!(store.recovery_report().damaged.len(), 1, "{:?}", store.recovery_report());
}

#[test]
fn a_sealed_segment_cut_inside_its_header_page_is_corruption_not_a_panic() {
    let sim = SimStorage::new();
    fill(&sim);
    let seg = sealed_segment(&sim);
    let f = sim.open(&seg, s3lite::io::OpenMode::ReadWrite).unwrap();
    f.set_len(100).unwrap();
    f.sync_all().unwrap();
    drop(f);
    let Err(e) = sim_builder(&sim).open() else { panic!("a cut sealed segment opened") };
    assert!(matches!(e, Error::Corruption { .. }), "{e}");
}
