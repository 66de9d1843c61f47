//! A large upload and download through the socket host never sit in memory: the request body
//! streams into the engine and the GET body streams out of it through a bounded channel. The
//! bound is measured (the process's anonymous resident memory, sampled every 5 ms while the
//! bytes flow), not taken on trust. The default run moves 512 MiB each way; the 10 GiB run the
//! issue asks for is `cargo test -p s3lite-http --test large_bodies -- --ignored` (about 20 GiB of
//! disk is not needed: the store holds one copy, 10 GiB, in a temporary directory).
//!
//! The client side writes and reads raw HTTP/1.1 on a socket through presigned URLs, so that
//! nothing on the client holds the body either.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use common::{Env, Transport};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};

/// Most anonymous memory the transfer may add to the process: the host's 4 × 256 KiB GET channel,
/// the engine's put pipeline (a few 8 MiB pieces), hyper's buffers and the allocator's slack.
/// A body held whole would add its own size (512 MiB or 10 GiB).
const GROWTH_BYTES_MAX: u64 = 192 * 1024 * 1024;

/// The process's anonymous resident memory (`RssAnon`): heap and stacks, not the page cache or
/// the maps of sealed segments, which the kernel can drop.
fn rss_anon() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("RssAnon in /proc/self/status");
    kib * 1024
}

/// Samples [`rss_anon`] until dropped and keeps the highest.
struct PeakSampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PeakSampler {
    fn start() -> PeakSampler {
        let (peak, stop) = (Arc::new(AtomicU64::new(rss_anon())), Arc::new(AtomicBool::new(false)));
        let (p, s) = (peak.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_anon(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        PeakSampler { peak, stop, thread: Some(thread) }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
        self.peak.load(Ordering::Relaxed)
    }
}

/// The body's byte at `offset`: a pattern no two nearby pieces share, made on the fly.
fn fill(buf: &mut [u8], offset: u64) {
    for (i, b) in buf.iter_mut().enumerate() {
        let at = offset + i as u64;
        *b = (at ^ (at >> 11) ^ (at >> 23)).to_le_bytes()[0];
    }
}

/// Path and query of a presigned URL.
fn path_and_query(url: &str) -> String {
    let uri: http::Uri = url.parse().unwrap();
    uri.path_and_query().unwrap().as_str().to_owned()
}

/// Reads a response head; returns the status and the headers' lines.
async fn read_head(r: &mut BufReader<tokio::net::TcpStream>) -> (u16, Vec<String>) {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).await.unwrap();
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    let status = lines[0].split(' ').nth(1).unwrap().parse().unwrap();
    (status, lines)
}

/// Part size of the multipart upload of a body over 1 GiB.
const PART_BYTES: u64 = 2 << 30;

/// PUTs `len` bytes of the pattern from `at` to a presigned URL, piece by piece; returns the ETag.
async fn stream_put(
    addr: std::net::SocketAddr,
    path_and_query: &str,
    at: u64,
    len: u64,
    crc: &mut crc32fast::Hasher,
) -> String {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut stream = BufReader::new(stream);
    let head = format!("PUT {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {len}\r\n\r\n");
    stream.get_mut().write_all(head.as_bytes()).await.unwrap();
    let mut piece = vec![0u8; 1 << 20];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(piece.len() as u64) as usize;
        fill(&mut piece[..n], at + done);
        crc.update(&piece[..n]);
        stream.get_mut().write_all(&piece[..n]).await.unwrap();
        done += n as u64;
    }
    let (status, lines) = read_head(&mut stream).await;
    assert_eq!(status, 200, "{lines:?}");
    lines
        .iter()
        .find_map(|l| l.to_ascii_lowercase().starts_with("etag:").then(|| l[5..].trim().to_owned()))
        .expect("an ETag")
}

async fn put_and_get(size: u64) {
    let env = Env::new(Transport::Socket).await;
    let s3 = &env.client;
    s3.create_bucket().bucket("big").send().await.unwrap();
    let presign = || PresigningConfig::expires_in(Duration::from_secs(24 * 3600)).unwrap();
    let put_url = s3.put_object().bucket("big").key("blob").presigned(presign()).await.unwrap();
    let get_url = s3.get_object().bucket("big").key("blob").presigned(presign()).await.unwrap();
    let addr = env.addr.unwrap();

    // Warm up the host and the engine (threads, pools, first allocations) before the baseline.
    s3.put_object().bucket("big").key("warm").body(vec![7u8; 16 << 20].into()).send().await.unwrap();
    let baseline = rss_anon();
    let sampler = PeakSampler::start();

    // PUT (multipart above 1 GiB: one PutObject takes at most 5 GiB), each request's body streamed
    // from a buffer reused for every piece.
    let mut sent_crc = crc32fast::Hasher::new();
    if size <= 1 << 30 {
        stream_put(addr, &path_and_query(put_url.uri()), 0, size, &mut sent_crc).await;
    } else {
        let upload = s3.create_multipart_upload().bucket("big").key("blob").send().await.unwrap();
        let upload_id = upload.upload_id().unwrap();
        let mut parts = Vec::new();
        for (i, at) in (0..size).step_by(PART_BYTES as usize).enumerate() {
            let n = i32::try_from(i + 1).unwrap();
            let url = s3
                .upload_part()
                .bucket("big")
                .key("blob")
                .upload_id(upload_id)
                .part_number(n)
                .presigned(presign())
                .await
                .unwrap();
            let len = (size - at).min(PART_BYTES);
            let etag = stream_put(addr, &path_and_query(url.uri()), at, len, &mut sent_crc).await;
            parts.push(aws_sdk_s3::types::CompletedPart::builder().part_number(n).e_tag(etag).build());
        }
        s3.complete_multipart_upload()
            .bucket("big")
            .key("blob")
            .upload_id(upload_id)
            .multipart_upload(
                aws_sdk_s3::types::CompletedMultipartUpload::builder().set_parts(Some(parts)).build(),
            )
            .send()
            .await
            .unwrap();
    }
    let mut piece = vec![0u8; 1 << 20];

    // GET, read piece by piece.
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut stream = BufReader::new(stream);
    let head = format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
        path_and_query(get_url.uri())
    );
    stream.get_mut().write_all(head.as_bytes()).await.unwrap();
    let (status, lines) = read_head(&mut stream).await;
    assert_eq!(status, 200, "{lines:?}");
    let content_length = lines
        .iter()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
        .expect("a Content-Length");
    assert_eq!(content_length, size.to_string());
    let (mut got, mut got_crc) = (0u64, crc32fast::Hasher::new());
    loop {
        let n = stream.read(&mut piece).await.unwrap();
        if n == 0 {
            break;
        }
        got_crc.update(&piece[..n]);
        got += n as u64;
    }
    let peak = sampler.finish();
    assert_eq!(got, size, "the whole body came back");
    assert_eq!(got_crc.finalize(), sent_crc.finalize(), "the same bytes came back");
    let growth = peak.saturating_sub(baseline);
    println!("{size} bytes up and down: anonymous memory grew by at most {} MiB", growth >> 20);
    assert!(
        growth <= GROWTH_BYTES_MAX,
        "anonymous memory grew by {} MiB moving {} MiB (bound {} MiB)",
        growth >> 20,
        size >> 20,
        GROWTH_BYTES_MAX >> 20
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_512_mib_upload_and_download_stay_within_the_memory_bound() {
    put_and_get(512 << 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "10 GiB each way: minutes and 10 GiB of disk; run with --ignored"]
async fn a_10_gib_upload_and_download_stay_within_the_memory_bound() {
    put_and_get(10 << 30).await;
}
