//! Opens a store in a temporary directory (or the directory given as the first argument), writes,
//! reads back, lists, reopens, and prints what it did. Exits non-zero if anything misbehaves.

use std::error::Error;

use s3lite::{GetOptions, ListOptions, PutOptions, Store};

fn main() -> Result<(), Box<dyn Error>> {
    let tmp;
    let dir = match std::env::args().nth(1) {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().join("store")
        }
    };
    println!("opening a store in {}", dir.display());
    let store = Store::open(&dir)?;
    let report = store.recovery_report();
    println!(
        "  created: {}, partitions: {}, region: {}",
        report.created,
        store.partition_count(),
        store.region()
    );

    let bucket = match store.bucket("quickstart") {
        Ok(b) => b.id,
        Err(_) => store.create_bucket("quickstart")?,
    };
    println!("bucket 'quickstart' has internal id {}", bucket.0);

    let small = b"hello, s3lite".to_vec();
    let info = store.put_bytes(
        bucket,
        "greetings/hello.txt",
        &small,
        &PutOptions { content_type: Some("text/plain".into()), ..Default::default() },
    )?;
    println!("put greetings/hello.txt: {} bytes, ETag {}", info.size, info.e_tag);

    let large: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let info = store.put(bucket, "blobs/large.bin", &large[..], &PutOptions::default())?;
    println!("put blobs/large.bin: {} bytes streamed as chunks, ETag {}", info.size, info.e_tag);

    let (_, mut body) = store.get(bucket, "greetings/hello.txt", &GetOptions::default())?;
    let got = body.read_to_vec()?;
    check(got == small, "small object reads back")?;
    println!("get greetings/hello.txt -> {:?}", String::from_utf8_lossy(&got));

    let range = s3lite::ByteRange::parse("bytes=1048570-1048580")?;
    let (_, mut body) =
        store.get(bucket, "blobs/large.bin", &GetOptions { range: Some(range), ..Default::default() })?;
    let got = body.read_to_vec()?;
    check(got == large[1_048_570..=1_048_580], "ranged read of a chunked object")?;
    println!("get blobs/large.bin {range} -> {} bytes, matching", got.len());

    let page = store.list(bucket, &ListOptions::default())?;
    println!("list:");
    for e in &page.entries {
        println!("  {:<24} {:>9} bytes  {}", e.key, e.size, e.e_tag);
    }
    check(page.entries.len() == 2, "two keys listed")?;

    drop(store);
    println!("reopening");
    let store = Store::open(&dir)?;
    let r = store.recovery_report();
    println!(
        "  segments scanned: {}, records replayed: {}, torn tails cut: {}",
        r.segments_scanned,
        r.records_replayed,
        r.torn_tails.len()
    );
    let (_, mut body) = store.get(bucket, "blobs/large.bin", &GetOptions::default())?;
    check(body.read_to_vec()? == large, "large object survives reopen")?;
    store.delete(bucket, "blobs/large.bin")?;
    store.delete(bucket, "greetings/hello.txt")?;
    store.delete_bucket("quickstart")?;
    println!("deleted both objects and the bucket; all steps behaved as expected");
    Ok(())
}

fn check(ok: bool, what: &str) -> Result<(), Box<dyn Error>> {
    if ok { Ok(()) } else { Err(format!("check failed: {what}").into()) }
}
