//! Large (chunked) puts that fail: reading stops one byte past a declared length, the chunks
//! already written are counted as abandoned at once, and a chunk of another upload of the same key
//! and version never passes for this one's.

mod common;

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{body, read, sim_builder};
use s3lite::format::record::RecordKind;
use s3lite::io::{OpenMode, SimStorage, Storage, read_all};
use s3lite::segment::scan::{SegmentState, scan_segment};
use s3lite::{Error, PutOptions, Store, WriteCondition};

/// An endless body that counts what was read of it.
struct Endless(Arc<AtomicU64>);

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        buf.fill(7);
        self.0.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }
}

/// A body that fails after `ok` bytes.
struct FailsAfter(usize);

impl Read for FailsAfter {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0 == 0 {
            return Err(std::io::Error::other("client went away"));
        }
        let n = buf.len().min(self.0);
        buf[..n].fill(1);
        self.0 -= n;
        Ok(n)
    }
}

fn abandoned(store: &Store) -> u64 {
    store.partition_stats().iter().map(|p| p.abandoned_bytes).sum()
}

fn store() -> Store {
    Store::in_memory_builder().partitions(1).inline_bytes(1024).chunk_bytes(4096).open().unwrap()
}

#[test]
fn a_stream_longer_than_its_declared_length_is_read_one_byte_past_it() {
    let store = store();
    let b = store.create_bucket("b").unwrap();
    let read_bytes = Arc::new(AtomicU64::new(0));
    let declared = 20_000;
    let opts = PutOptions { content_length: Some(declared), ..Default::default() };
    let e = store.put(b, "k", Endless(read_bytes.clone()), &opts).unwrap_err();
    assert!(matches!(&e, Error::InvalidArgument { name: "Content-Length", .. }), "{e:?}");
    assert_eq!(read_bytes.load(Ordering::Relaxed), declared + 1, "read to the end of an endless stream");
    assert!(matches!(read(&store, b, "k"), Err(Error::NoSuchKey { .. })));
}

#[test]
fn chunks_of_failed_large_puts_count_as_abandoned_at_once() {
    let store = store();
    let b = store.create_bucket("b").unwrap();
    assert_eq!(abandoned(&store), 0);
    // A read error after three whole chunks.
    let e = store.put(b, "k", FailsAfter(3 * 4096 + 100), &PutOptions::default()).unwrap_err();
    assert!(matches!(e, Error::BodyRead { .. }), "{e:?}");
    let after_read_error = abandoned(&store);
    assert!(after_read_error >= 3 * 4096, "{after_read_error}");
    // A body shorter than declared.
    let opts = PutOptions { content_length: Some(50_000), ..Default::default() };
    assert!(store.put_bytes(b, "k", &body(1, 30_000), &PutOptions { ..opts.clone() }).is_ok());
    let short = store.put(b, "k2", &body(1, 30_000)[..], &opts).unwrap_err();
    assert!(matches!(short, Error::InvalidArgument { .. }), "{short:?}");
    let after_short = abandoned(&store);
    assert!(after_short >= after_read_error + 7 * 4096, "{after_short}");
    // A failed precondition, decided only once the whole body is written.
    let absent = PutOptions { condition: Some(WriteCondition::IfAbsent), ..Default::default() };
    let e = store.put_bytes(b, "k", &body(2, 10_000), &absent).unwrap_err();
    assert!(matches!(e, Error::PreconditionFailed { .. }), "{e:?}");
    assert!(abandoned(&store) >= after_short + 2 * 4096);
    // A put that succeeds abandons nothing.
    let before = abandoned(&store);
    store.put_bytes(b, "k3", &body(3, 10_000), &PutOptions::default()).unwrap();
    assert_eq!(abandoned(&store), before);
    let stats = &store.partition_stats()[0];
    assert!(stats.dead_bytes >= stats.abandoned_bytes);
}

/// A misdirected write: the first chunk of the second upload of a `null` version lands where the
/// first upload's chunk is (simulated by copying that chunk's record over it). Same bucket, key,
/// version (`null`), chunk index and length, and a valid CRC: only the upload's own id tells them
/// apart, and the read must refuse rather than return the other upload's bytes.
#[test]
fn a_chunk_of_another_upload_of_the_same_null_version_is_refused() {
    let sim = SimStorage::new();
    let store = sim_builder(&sim).partitions(1).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let (first, second) = (body(1, 10_000), body(2, 10_000));
    store.put_bytes(b, "k", &first, &PutOptions::default()).unwrap();
    store.put_bytes(b, "k", &second, &PutOptions::default()).unwrap();
    assert_eq!(read(&store, b, "k").unwrap(), second);
    // The store stays open: the damage happens under a live store, whose reads must catch it.
    let seg = PathBuf::from("/db/p0000/STANDARD/0000000000000001.seg");
    let f = sim.open(&seg, OpenMode::ReadWrite).unwrap();
    let bytes = read_all(&*f).unwrap();
    let scan = scan_segment(&bytes, SegmentState::Active, false);
    let chunk0: Vec<u64> = scan
        .records
        .iter()
        .filter(|r| r.header.kind == RecordKind::Chunk && r.header.chunk_index == 0)
        .map(|r| r.offset)
        .collect();
    assert_eq!(chunk0.len(), 2);
    let len = scan.records.iter().find(|r| r.offset == chunk0[0]).unwrap().header.record_len() as usize;
    let old = &bytes[chunk0[0] as usize..chunk0[0] as usize + len];
    f.write_all_at(old, chunk0[1]).unwrap();
    match read(&store, b, "k") {
        Err(Error::Corruption { reason, .. }) => assert!(reason.contains("chunk"), "{reason}"),
        Ok(v) => panic!(
            "served {} bytes of {}",
            v.len(),
            if v[..4096] == first[..4096] { "the other upload" } else { "?" }
        ),
        Err(e) => panic!("{e:?}"),
    }
}
