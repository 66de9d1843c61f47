//! Regression tests from the review of multipart uploads (issue 15): the reproducers of what the
//! review found (each failed before its fix), and the checks it made that passed.

mod common;

use std::collections::BTreeMap;

use common::{body, small};
use s3lite::{
    BucketId, Checkpoints, Client, CompactionPolicy, CompleteOptions, PartOptions, Store, UploadOptions,
};

const MIB: usize = 1024 * 1024;

fn create(c: &Client, key: &str) -> String {
    c.create_multipart_upload().bucket("bkt").key(key).send().unwrap().into_output().upload_id
}

fn part(c: &Client, key: &str, upload: &str, n: i32, bytes: &[u8]) -> String {
    let out = c.upload_part().bucket("bkt").key(key).upload_id(upload).part_number(n).body(bytes.to_vec());
    out.send().unwrap().into_output().e_tag
}

/// Live bytes per segment id.
fn live(store: &Store) -> BTreeMap<u64, u64> {
    store.segment_stats().iter().map(|s| (s.segment_id, s.live_bytes)).collect()
}

/// A part of 12 MiB is a valid S3 part (up to 5 GiB); with 4 KiB chunks its record lists 3,072
/// chunks (73 KiB of meta) and is refused as "metadata over 64 KiB" after the whole body was
/// streamed. The same happens to a 5 GiB part with 1 MiB chunks.
/// The largest part is 2,560 chunks (what one part record lists): 20 GiB at the default 8 MiB
/// chunks, so S3's 5 GiB parts fit; with tiny test chunks a larger part is `EntityTooLarge`, never a
/// panic.
#[test]
fn a_part_with_more_chunks_than_one_record_meta_holds_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::builder(dir.path()).open().unwrap();
    let c = store.client();
    c.create_bucket().bucket("bkt").send().unwrap();
    let up = create(&c, "k");
    let bytes = body(1, 12 * MIB);
    let r = c.upload_part().bucket("bkt").key("k").upload_id(&up).part_number(1).body(bytes.clone()).send();
    assert!(r.is_ok(), "a 12 MiB part is refused: {:?}", r.err());
    drop(c);
    drop(store);
    let dir = tempfile::tempdir().unwrap();
    let store = small(Store::builder(dir.path())).open().unwrap();
    let c = store.client();
    c.create_bucket().bucket("bkt").send().unwrap();
    let up = create(&c, "k");
    let r = c.upload_part().bucket("bkt").key("k").upload_id(&up).part_number(1).body(bytes).send();
    assert_eq!(r.unwrap_err().code(), "EntityTooLarge", "2,560 chunks of 4 KiB are 10 MiB");
}

/// The engine's `complete_upload` takes part numbers unchecked: 70,000 numbers (repeats) make an
/// object whose part count is cut to u16 in the index (`-4464`) but saturated by recovery
/// (`-65535`): the ETag changes across a reopen by full scan.
#[test]
fn a_completion_with_more_than_u16_parts_changes_its_etag_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let open = || small(Store::builder(dir.path())).checkpoints(Checkpoints::OnDemand).open().unwrap();
    let store = open();
    let b: BucketId = store.create_bucket("bkt").unwrap();
    let up = store.create_upload(b, "k", &UploadOptions::default()).unwrap().upload_id;
    store.upload_part(b, "k", &up, 1, &b"x"[..], &PartOptions::default()).unwrap();
    let numbers = vec![(1u32, None); 70_000];
    let done = store.complete_upload(b, "k", &up, &numbers, &CompleteOptions::default());
    let Ok(done) = done else { return };
    let before = done.e_tag.clone();
    drop(store);
    let store = open();
    let after = store.head(b, "k", None).unwrap().e_tag;
    assert_eq!(before, after, "the ETag changed across a reopen");
}

/// Per-segment live bytes after a mix of multipart operations and compactions equal those a fresh
/// open computes (by full scan, and from checkpoints).
#[test]
fn live_bytes_after_multipart_operations_match_a_reopen() {
    for checkpoint in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            small(Store::builder(dir.path())).partitions(1).checkpoints(Checkpoints::OnDemand).open().unwrap()
        };
        let store = open();
        let c = store.client();
        c.create_bucket().bucket("bkt").send().unwrap();
        let a = create(&c, "a");
        let e1 = part(&c, "a", &a, 1, &body(1, 5 * MIB / 2));
        part(&c, "a", &a, 2, &body(2, 300_000));
        // Part 2 again, and part 3 left out of the completion.
        let e2 = part(&c, "a", &a, 2, &body(3, 200_000));
        part(&c, "a", &a, 3, &body(4, 100_000));
        let gone = create(&c, "gone");
        part(&c, "gone", &gone, 1, &body(5, 150_000));
        c.abort_multipart_upload().bucket("bkt").key("gone").upload_id(&gone).send().unwrap();
        let open_up = create(&c, "open");
        part(&c, "open", &open_up, 7, &body(6, 90_000));
        store.compact_with(&CompactionPolicy::everything()).unwrap();
        // Reuse the small part limit: part 1 is under 5 MiB, so complete with part 2 as the only one.
        let _ = e1;
        c.complete_multipart_upload().bucket("bkt").key("a").upload_id(&a).part(2, e2).send().unwrap();
        part(&c, "open", &open_up, 8, &body(7, 70_000));
        store.compact_with(&CompactionPolicy::everything()).unwrap();
        if checkpoint {
            store.checkpoint().unwrap();
        }
        let want = live(&store);
        drop(c);
        drop(store);
        let store = open();
        assert_eq!(live(&store), want, "checkpoint {checkpoint}");
    }
}

/// CompleteMultipartUpload checks the listed ETags against one read of the upload
/// (`Store::upload`) and then completes from a second read (`Store::complete_upload`): a part
/// uploaded again in between is what the object gets, under the ETag and checksum of the part the
/// caller named. Here a writer alternates part 1 between two bodies while completions name the
/// first body's ETag; every completion that succeeds must hold the first body (1,499 other
/// parts, left out, make `Store::upload` read long enough for the race to show).
#[test]
fn a_completion_gets_the_part_whose_etag_it_named() {
    let store = Store::open_in_memory().unwrap();
    let c = store.client();
    c.create_bucket().bucket("bkt").send().unwrap();
    let (x, y) = (body(10, 64 * 1024), body(11, 64 * 1024));
    let b = store.bucket("bkt").unwrap().id;
    let mut wrong = 0;
    for round in 0..8 {
        let up = create(&c, "k");
        let ex = part(&c, "k", &up, 1, &x);
        // Other parts (left out of the completion) widen the window: `Store::upload` reads them all.
        for n in 2..2000 {
            part(&c, "k", &up, n, b"o");
        }
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut i = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let body = if i.is_multiple_of(2) { &y } else { &x };
                    if store.upload_part(b, "k", &up, 1, &body[..], &PartOptions::default()).is_err() {
                        break;
                    }
                    i += 1;
                }
            });
            for _ in 0..10_000 {
                let r =
                    c.complete_multipart_upload().bucket("bkt").key("k").upload_id(&up).part(1, ex.clone());
                if r.send().is_ok() {
                    break;
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        let got =
            c.get_object().bucket("bkt").key("k").send().unwrap().into_output().body.read_to_vec().unwrap();
        if got != x {
            wrong += 1;
            eprintln!("round {round}: the object holds the other body");
            break;
        }
    }
    assert_eq!(wrong, 0, "completions that took a part other than the one named");
}

/// ListMultipartUploads paged one at a time (with prefix and delimiter) returns exactly what one
/// page of 1000 returns.
#[test]
fn uploads_paged_one_at_a_time_equal_one_page() {
    let (store, c) = {
        let store = Store::open_in_memory().unwrap();
        let c = store.client();
        c.create_bucket().bucket("bkt").send().unwrap();
        (store, c)
    };
    for k in ["a/1", "a/2", "a/2", "b", "b", "b", "c/x/1", "c/x/2", "c/y", "d", "e/", "e/f"] {
        create(&c, k);
    }
    for (prefix, delim) in [("", None), ("", Some("/")), ("c/", Some("/")), ("c", Some("/")), ("a", None)] {
        let mut req = c.list_multipart_uploads().bucket("bkt").prefix(prefix).max_uploads(1000);
        if let Some(d) = delim {
            req = req.delimiter(d);
        }
        let all = req.send().unwrap().into_output();
        let want: Vec<String> = all
            .uploads
            .iter()
            .map(|u| format!("{} {}", u.key, u.upload_id))
            .chain(all.common_prefixes.iter().map(|p| format!("CP {p}")))
            .collect();
        let mut got = Vec::new();
        let (mut km, mut um): (Option<String>, Option<String>) = (None, None);
        for _ in 0..100 {
            let mut req = c.list_multipart_uploads().bucket("bkt").prefix(prefix).max_uploads(1);
            if let Some(d) = delim {
                req = req.delimiter(d);
            }
            if let Some(k) = &km {
                req = req.key_marker(k);
            }
            if let Some(u) = &um {
                req = req.upload_id_marker(u);
            }
            let page = req.send().unwrap().into_output();
            assert!(page.uploads.len() + page.common_prefixes.len() <= 1);
            got.extend(page.uploads.iter().map(|u| format!("{} {}", u.key, u.upload_id)));
            got.extend(page.common_prefixes.iter().map(|p| format!("CP {p}")));
            if !page.is_truncated {
                break;
            }
            (km, um) = (page.next_key_marker, page.next_upload_id_marker);
        }
        let mut sorted_want = want.clone();
        sorted_want.sort();
        got.sort();
        assert_eq!(got, sorted_want, "prefix {prefix:?} delimiter {delim:?}");
    }
    drop(store);
}

/// `Store::complete_upload` bounds the chunk count but not the part-run list: 400,000 repeats of
/// a one-chunk part make 9.6 MB of chunk refs and 8 MB of runs, over the 16 MiB commit meta, and
/// `encode_record`'s assertion panics instead of an error being returned.
#[test]
fn a_completion_with_huge_part_list_returns_an_error_not_a_panic() {
    let store = Store::open_in_memory().unwrap();
    let b: BucketId = store.create_bucket("bkt").unwrap();
    let up = store.create_upload(b, "k", &UploadOptions::default()).unwrap().upload_id;
    store.upload_part(b, "k", &up, 1, &b"x"[..], &PartOptions::default()).unwrap();
    let numbers = vec![(1u32, None); 400_000];
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.complete_upload(b, "k", &up, &numbers, &CompleteOptions::default()).map(drop)
    }));
    assert!(r.is_ok(), "complete_upload panicked");
}

/// S3's conditional writes answer `If-Match` on a key with no current object with 404 NoSuchKey,
/// as PutObject here does (`s3/objects.rs`); CompleteMultipartUpload answers 412.
#[test]
fn a_completion_with_if_match_on_a_missing_key_is_no_such_key() {
    let store = Store::open_in_memory().unwrap();
    let c = store.client();
    c.create_bucket().bucket("bkt").send().unwrap();
    let up = create(&c, "k");
    let e = part(&c, "k", &up, 1, b"tiny");
    let err = c
        .complete_multipart_upload()
        .bucket("bkt")
        .key("k")
        .upload_id(&up)
        .part(1, e)
        .if_match("\"0123456789abcdef0123456789abcdef\"")
        .send()
        .unwrap_err();
    assert_eq!(err.code(), "NoSuchKey");
}

/// A part whose chunks lie in sealed segments full of dead bytes and whose record is in the active
/// segment: a compaction of the sealed ones (the active one stays) moves the chunks and rewrites
/// the part record; after a reopen by full scan and one from a checkpoint, the completed object
/// holds the part's bytes and live bytes match.
#[test]
fn a_part_whose_record_stays_survives_compaction_of_its_chunks_and_reopen() {
    for checkpoint in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            small(Store::builder(dir.path())).partitions(1).checkpoints(Checkpoints::OnDemand).open().unwrap()
        };
        let store = open();
        let c = store.client();
        c.create_bucket().bucket("bkt").send().unwrap();
        let up = create(&c, "k");
        let bytes = body(21, 5 * MIB + 3);
        let mut overwrite = 0;
        let mut hot = || {
            overwrite += 1;
            c.put_object().bucket("bkt").key("hot").body(body(1000 + overwrite, 1000)).send().unwrap();
        };
        for _ in 0..200 {
            hot();
        }
        let e1 = part(&c, "k", &up, 1, &bytes);
        for _ in 0..10 {
            hot();
        }
        let policy = CompactionPolicy {
            dead_ratio_min: 0.0,
            dead_bytes_min: 1,
            small_segment_bytes: Some(0),
            seal_active: false,
            ..CompactionPolicy::default()
        };
        let report = store.compact_with(&policy).unwrap();
        assert!(report.rewrites > 0);
        if checkpoint {
            store.checkpoint().unwrap();
        }
        let want = live(&store);
        drop(c);
        drop(store);
        let store = open();
        assert_eq!(live(&store), want, "live bytes after reopen, checkpoint {checkpoint}");
        let c = store.client();
        c.complete_multipart_upload().bucket("bkt").key("k").upload_id(&up).part(1, e1).send().unwrap();
        let got =
            c.get_object().bucket("bkt").key("k").send().unwrap().into_output().body.read_to_vec().unwrap();
        assert!(got == bytes, "checkpoint {checkpoint}: the object differs from its part");
    }
}

/// An object of empty parts (S3 takes a one-part upload of an empty part) reads back empty, and
/// so after a reopen from a checkpoint and after a compaction.
#[test]
fn an_object_of_empty_parts_reads_back_across_reopen_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let open = || small(Store::builder(dir.path())).partitions(1).open().unwrap();
    let store = open();
    let c = store.client();
    c.create_bucket().bucket("bkt").send().unwrap();
    let up = create(&c, "k");
    let e = part(&c, "k", &up, 1, b"");
    let done = c.complete_multipart_upload().bucket("bkt").key("k").upload_id(&up).part(1, e).send().unwrap();
    let etag = done.into_output().e_tag;
    let get = |c: &Client| {
        c.get_object().bucket("bkt").key("k").send().unwrap().into_output().body.read_to_vec().unwrap()
    };
    assert!(get(&c).is_empty());
    drop(c);
    drop(store);
    let store = open();
    let c = store.client();
    assert!(get(&c).is_empty());
    store.compact_with(&CompactionPolicy::everything()).unwrap();
    assert!(get(&c).is_empty());
    assert_eq!(c.head_object().bucket("bkt").key("k").send().unwrap().e_tag, etag);
}

/// ListParts paged one part at a time returns every part once, with the markers S3 gives.
#[test]
fn parts_paged_one_at_a_time_equal_one_page() {
    let store = Store::open_in_memory().unwrap();
    let c = store.client();
    c.create_bucket().bucket("bkt").send().unwrap();
    let up = create(&c, "k");
    for n in [1, 3, 7, 10_000] {
        part(&c, "k", &up, n, b"p");
    }
    let mut got = Vec::new();
    let mut marker = None;
    for _ in 0..10 {
        let mut r = c.list_parts().bucket("bkt").key("k").upload_id(&up).max_parts(1);
        if let Some(m) = marker {
            r = r.part_number_marker(m);
        }
        let page = r.send().unwrap().into_output();
        got.extend(page.parts.iter().map(|p| p.part_number));
        if !page.is_truncated {
            break;
        }
        marker = page.next_part_number_marker;
    }
    assert_eq!(got, vec![1, 3, 7, 10_000]);
    drop(store);
}

/// Completions (rewrite lock, then submit), ListParts (rewrite lock), compactions and checkpoints
/// (checkpoints, then rewrite lock, then leadership) on one partition at once finish: no lock
/// cycle. A watchdog (not a timing assertion: a deadlock never ends) reports a hang.
#[test]
fn completions_compactions_and_checkpoints_at_once_do_not_deadlock() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        small(Store::builder(dir.path())).partitions(1).checkpoints(Checkpoints::OnDemand).open().unwrap();
    store.client().create_bucket().bucket("bkt").send().unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let watchdog = {
        let done = done.clone();
        std::thread::spawn(move || {
            for _ in 0..1200 {
                if done.load(std::sync::atomic::Ordering::SeqCst) == 4 {
                    return true;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            false
        })
    };
    std::thread::scope(|s| {
        for w in 0..2 {
            let (store, done) = (&store, &done);
            s.spawn(move || {
                let c = store.client();
                for i in 0..20 {
                    let key = format!("k{w}-{i}");
                    let up = create(&c, &key);
                    let e1 = part(&c, &key, &up, 1, &body(i, 5 * MIB));
                    let e2 = part(&c, &key, &up, 2, &body(i + 1, 3000));
                    c.list_parts().bucket("bkt").key(&key).upload_id(&up).send().unwrap();
                    c.put_object().bucket("bkt").key("hot").body(body(i, 2000)).send().unwrap();
                    c.complete_multipart_upload()
                        .bucket("bkt")
                        .key(&key)
                        .upload_id(&up)
                        .part(1, e1)
                        .part(2, e2)
                        .send()
                        .unwrap();
                    c.delete_object().bucket("bkt").key(&key).send().unwrap();
                }
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        let (store, done) = (&store, &done);
        s.spawn(move || {
            for _ in 0..30 {
                store.compact_with(&CompactionPolicy::everything()).unwrap();
            }
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        s.spawn(move || {
            for _ in 0..30 {
                store.checkpoint().unwrap();
            }
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        let finished = watchdog.join().unwrap();
        if !finished {
            eprintln!("deadlock: workers did not finish in 120 s");
            std::process::abort();
        }
    });
}

/// An upload of 3,000 parts and many uploads fill several checkpoint blocks of kind 4 (items
/// split across blocks); the reopen uses the checkpoint (nothing rejected), lists every part and
/// upload, and its live bytes are the full scan's.
#[test]
fn uploads_spanning_checkpoint_blocks_reopen_from_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let open =
        || small(Store::builder(dir.path())).partitions(1).checkpoints(Checkpoints::OnDemand).open().unwrap();
    let store = open();
    let c = store.client();
    c.create_bucket().bucket("bkt").send().unwrap();
    let up = create(&c, "many");
    for n in 1..=3000 {
        part(&c, "many", &up, n, b"p");
    }
    for i in 0..800 {
        create(&c, &format!("u-{i:04}-{}", "x".repeat(100)));
    }
    store.checkpoint().unwrap();
    let want = live(&store);
    drop(c);
    drop(store);
    let store = open();
    let r = store.recovery_report();
    assert!(r.checkpoints_rejected.is_empty() && !r.checkpoints_used.is_empty(), "{r:?}");
    assert_eq!(live(&store), want);
    let c = store.client();
    let mut n = 0;
    let mut marker = None;
    loop {
        let mut q = c.list_parts().bucket("bkt").key("many").upload_id(&up);
        if let Some(m) = marker {
            q = q.part_number_marker(m);
        }
        let page = q.send().unwrap().into_output();
        n += page.parts.len();
        if !page.is_truncated {
            break;
        }
        marker = page.next_part_number_marker;
    }
    assert_eq!(n, 3000);
    let all = c.list_multipart_uploads().bucket("bkt").send().unwrap().into_output();
    assert_eq!(all.uploads.len(), 801);
}

/// The same unchecked part list with 10,001 numbers: the index entry's part count is over the
/// checkpoint decoder's 10,000, so every checkpoint of the partition is rejected at open from then
/// on (each open scans the partition whole).
#[test]
fn a_completion_with_10001_parts_makes_every_checkpoint_unusable() {
    let dir = tempfile::tempdir().unwrap();
    let open = || small(Store::builder(dir.path())).checkpoints(Checkpoints::OnDemand).open().unwrap();
    let store = open();
    let b: BucketId = store.create_bucket("bkt").unwrap();
    let up = store.create_upload(b, "k", &UploadOptions::default()).unwrap().upload_id;
    store.upload_part(b, "k", &up, 1, &b"x"[..], &PartOptions::default()).unwrap();
    let numbers = vec![(1u32, None); 10_001];
    if store.complete_upload(b, "k", &up, &numbers, &CompleteOptions::default()).is_err() {
        return;
    }
    store.checkpoint().unwrap();
    drop(store);
    let store = open();
    let r = store.recovery_report();
    assert!(r.checkpoints_rejected.is_empty(), "{:?}", r.checkpoints_rejected);
}
