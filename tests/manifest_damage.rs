//! Damage to the manifest and to segment headers: Strict refuses naming the damaged frame, Salvage
//! opens, reports, and deletes nothing; ids stay monotonic across quarantine and reopen.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{body, read, sim_builder};
use s3lite::format::manifest::decode_frame;
use s3lite::io::{CrashMode, OpenMode, SimStorage, Storage, read_all};
use s3lite::{BucketId, Error, PutOptions, RecoveryMode, StorageClass, Store};

type Objects = BTreeMap<String, Vec<u8>>;

/// A store whose manifest has many frames: a snapshot from a reopen, then appended edits from
/// segment rotations in two classes.
fn many_frames(sim: &SimStorage) -> Objects {
    let builder = || sim_builder(sim).segment_bytes(160 * 1024);
    let mut objects = Objects::new();
    let put = |store: &Store, b: BucketId, objects: &mut Objects, i: u64| {
        let key = format!("k{i:03}");
        let class = if i.is_multiple_of(3) { StorageClass::StandardIa } else { StorageClass::Standard };
        let v = body(i, 20_000);
        store.put_bytes(b, &key, &v, &PutOptions { storage_class: class, ..Default::default() }).unwrap();
        objects.insert(key, v);
    };
    let store = builder().open().unwrap();
    let b = store.create_bucket("b").unwrap();
    for i in 0..40 {
        put(&store, b, &mut objects, i);
    }
    drop(store);
    let store = builder().open().unwrap();
    for i in 40..80 {
        put(&store, b, &mut objects, i);
    }
    objects
}

fn manifest_path(sim: &SimStorage) -> PathBuf {
    let f = sim.open(Path::new("/db/CURRENT"), OpenMode::ReadOnly).unwrap();
    let name = String::from_utf8(read_all(&*f).unwrap()).unwrap();
    PathBuf::from("/db").join(name.trim())
}

/// (offset, length) of every frame.
fn frames(sim: &SimStorage) -> Vec<(u64, u64)> {
    let f = sim.open(&manifest_path(sim), OpenMode::ReadOnly).unwrap();
    let bytes = read_all(&*f).unwrap();
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let (_, n) = decode_frame(&bytes[pos..]).expect("an undamaged manifest");
        out.push((pos as u64, n as u64));
        pos += n;
    }
    out
}

fn all_readable(store: &Store, objects: &Objects, ctx: &str) {
    let b = store.bucket("b").unwrap_or_else(|e| panic!("{ctx}: bucket lost: {e}")).id;
    for (k, v) in objects {
        let got = read(store, b, k).unwrap_or_else(|e| panic!("{ctx}: {k}: {e}"));
        assert!(got == *v, "{ctx}: {k} differs");
    }
}

#[test]
fn a_bit_flipped_in_any_manifest_frame_is_refused_by_strict_and_salvaged_without_deleting() {
    let sim = SimStorage::new();
    let objects = many_frames(&sim);
    let frames = frames(&sim);
    assert!(frames.len() >= 10, "only {} frames", frames.len());
    let manifest = manifest_path(&sim);
    let files_before = sim.file_paths();
    let mut checked = 0;
    for (i, &(offset, len)) in frames.iter().enumerate() {
        // The length field, the first payload byte, the last payload byte.
        for at in [offset, offset + 8, offset + len - 1] {
            let ctx = format!("frame {i} of {} (byte {at})", frames.len());
            let strict = sim.fork();
            strict.flip_bit(&manifest, at, 3).unwrap();
            let last = i + 1 == frames.len();
            match sim_builder(&strict).open() {
                Err(Error::Corruption { site, reason }) if !last => {
                    assert!(reason.contains(&format!("frame {i} ")), "{ctx}: {reason}");
                    assert_eq!(site.offset, offset, "{ctx}");
                }
                // A bad last frame is what a torn append looks like: cut, and nothing lost by it.
                Ok(store) if last => all_readable(&store, &objects, &ctx),
                other => panic!("{ctx}: strict open gave {other:?}"),
            }
            assert_eq!(strict.file_paths().len(), files_before.len(), "{ctx}: strict removed a file");
            let salvage = sim.fork();
            salvage.flip_bit(&manifest, at, 3).unwrap();
            let store = sim_builder(&salvage)
                .recovery_mode(RecoveryMode::Salvage)
                .open()
                .unwrap_or_else(|e| panic!("{ctx}: salvage failed: {e}"));
            all_readable(&store, &objects, &ctx);
            if !last {
                assert!(!store.recovery_report().manifest_damaged.is_empty(), "{ctx}: not reported");
            }
            drop(store);
            let after: Vec<PathBuf> = salvage.file_paths();
            for f in files_before.iter().filter(|f| f.extension().is_some_and(|e| e == "seg")) {
                assert!(after.contains(f), "{ctx}: salvage removed {}", f.display());
            }
            // The salvaged store opens strictly from now on, with everything in it.
            let store = sim_builder(&salvage).open().unwrap_or_else(|e| panic!("{ctx}: reopen: {e}"));
            all_readable(&store, &objects, &ctx);
            checked += 1;
        }
    }
    println!("manifest bit flips checked: {checked}");
}

/// Segment files (path, id) under `under`.
fn segment_ids(paths: &[PathBuf], under: &str) -> Vec<(PathBuf, u64)> {
    paths
        .iter()
        .filter(|p| p.to_string_lossy().contains(under))
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            let hex = name.rsplit('-').next()?.strip_suffix(".seg")?.to_string();
            Some((p.clone(), u64::from_str_radix(&hex, 16).ok()?))
        })
        .collect()
}

#[test]
fn salvage_quarantines_a_segment_with_a_damaged_header_and_never_reuses_its_id() {
    let sim = SimStorage::new();
    let objects = many_frames(&sim);
    // Damage the header of the segment with the highest id: the one a careless recovery would reuse.
    let (seg, max_id) =
        segment_ids(&sim.file_paths(), "/db/p").into_iter().max_by_key(|(_, id)| *id).expect("segments");
    sim.flip_bit(&seg, 20, 1).unwrap();
    assert!(matches!(sim_builder(&sim).open(), Err(Error::Corruption { .. })));
    let store = sim_builder(&sim).recovery_mode(RecoveryMode::Salvage).open().unwrap();
    let report = store.recovery_report().clone();
    assert_eq!(report.quarantined.len(), 1, "{report:?}");
    assert!(report.quarantined[0].starts_with("/db/quarantine"));
    drop(store);
    let moved = sim.open(&report.quarantined[0], OpenMode::ReadOnly).unwrap();
    assert!(moved.len().unwrap() > 4096, "the quarantined file keeps its records");
    // Strict opens again (the damaged file is out of the store), and new segments get new ids.
    let store = sim_builder(&sim).segment_bytes(160 * 1024).open().unwrap();
    let b = store.bucket("b").unwrap().id;
    for i in 0..20u64 {
        store.put_bytes(b, &format!("new{i}"), &body(i, 20_000), &PutOptions::default()).unwrap();
    }
    drop(store);
    let store = sim_builder(&sim).open().unwrap();
    let live = segment_ids(&sim.file_paths(), "/db/p");
    assert!(live.iter().all(|(_, id)| *id != max_id), "segment id {max_id} was reused: {live:?}");
    assert!(live.iter().any(|(_, id)| *id > max_id), "no segment was created after the quarantine");
    assert!(sim.file_paths().contains(&report.quarantined[0]), "the quarantined file is still there");
    let b = store.bucket("b").unwrap().id;
    let readable = objects.keys().filter(|k| read(&store, b, k).is_ok()).count();
    assert!(readable > 0);
}

/// A salvage that quarantines a segment and is then stopped by a power loss at any of its write
/// points, before its snapshot records the high-water mark: the id stays used all the same.
#[test]
fn a_quarantined_segment_id_is_never_reused_after_an_interrupted_salvage() {
    let base = SimStorage::new();
    // No checkpoint at close: the write points counted are those of the salvaging open.
    let open = |sim: &SimStorage, mode| {
        sim_builder(sim).partitions(1).recovery_mode(mode).checkpoints(s3lite::Checkpoints::OnDemand).open()
    };
    let b = {
        let store = open(&base, RecoveryMode::Strict).unwrap();
        let b = store.create_bucket("b").unwrap();
        store.put_bytes(b, "k", b"v", &PutOptions::default()).unwrap();
        b
    };
    // An unlisted file named as the next segment, with a header that is not a segment's.
    let next = segment_ids(&base.file_paths(), "/db/p0000/").iter().map(|(_, id)| *id).max().unwrap() + 1;
    let dir = Path::new("/db/p0000/STANDARD");
    let f = base.open(&dir.join(format!("{next:016x}.seg")), OpenMode::CreateNew).unwrap();
    f.write_all_at(&[0xAB; 8192], 0).unwrap();
    f.sync_all().unwrap();
    base.sync_dir(dir).unwrap();
    let probe = base.fork();
    let start = probe.mutating_ops();
    drop(open(&probe, RecoveryMode::Salvage).unwrap());
    let total = probe.mutating_ops() - start;
    let mut checked = 0;
    for j in 0..total {
        let sim = base.fork();
        sim.freeze_after(j);
        assert!(open(&sim, RecoveryMode::Salvage).is_err());
        sim.crash(CrashMode::DropUnsynced);
        let store = match open(&sim, RecoveryMode::Strict) {
            Ok(store) => store,
            // The move into quarantine happened but the snapshot did not: Strict says where it went.
            Err(e) => {
                assert!(e.to_string().contains("segment"), "{e}");
                open(&sim, RecoveryMode::Salvage).unwrap_or_else(|e| panic!("point {j}: salvage again: {e}"))
            }
        };
        let ia = PutOptions { storage_class: StorageClass::StandardIa, ..Default::default() };
        store.put_bytes(b, "k2", b"v", &ia).unwrap();
        drop(store);
        let paths = sim.file_paths();
        for (q, qid) in segment_ids(&paths, "/quarantine/") {
            let reused = segment_ids(&paths, "/db/p0000/").into_iter().find(|(_, id)| *id == qid);
            assert!(reused.is_none(), "point {j}: id {qid} is both {} and {reused:?}", q.display());
        }
        checked += 1;
    }
    assert!(checked > 5, "only {checked} points");
}
