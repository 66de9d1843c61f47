//! Hostile input over HTTP: each gets a clear S3 error or a closed connection, the server stays
//! up, and nothing stored changes.

mod common;

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::{Env, Transport, raw_bytes};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A store with one object, served over a socket.
async fn env() -> Env {
    with_one_object(Env::new(Transport::Socket).await).await
}

/// `env` with the bucket "hostile" holding the one object "keep".
async fn with_one_object(env: Env) -> Env {
    env.client.create_bucket().bucket("hostile").send().await.unwrap();
    env.client
        .put_object()
        .bucket("hostile")
        .key("keep")
        .body(ByteStream::from_static(b"original"))
        .send()
        .await
        .unwrap();
    env
}

/// The server still answers, and the bucket holds exactly the one original object.
async fn unchanged(env: &Env) {
    let listed = env.client.list_objects_v2().bucket("hostile").send().await.unwrap();
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["keep"]);
    let got = env.client.get_object().bucket("hostile").key("keep").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"original");
}

/// A signed request made by the SDK, captured as bytes so a test can break it: the SDK's
/// presigned PUT URL for `key` (the signature is in the query, so the body and headers can be
/// edited freely below it).
async fn presigned_put(env: &Env, key: &str) -> String {
    let p = env
        .client
        .put_object()
        .bucket("hostile")
        .key(key)
        .presigned(aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let uri: http::Uri = p.uri().parse().unwrap();
    uri.path_and_query().unwrap().as_str().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_xml() {
    let env = env().await;
    let p = env
        .client
        .delete_objects()
        .bucket("hostile")
        .delete(
            aws_sdk_s3::types::Delete::builder()
                .objects(aws_sdk_s3::types::ObjectIdentifier::builder().key("keep").build().unwrap())
                .build()
                .unwrap(),
        )
        .customize()
        .mutate_request(|req| {
            // Not XML any more: the signature covers the body's hash, so it is UNSIGNED-PAYLOAD
            // that lets the broken body through to the parser.
            let broken = "<Delete><Object><Key>keep</Key></Obj";
            *req.body_mut() = aws_smithy_types::body::SdkBody::from(broken);
            req.headers_mut().remove("content-md5");
            req.headers_mut().remove("x-amz-checksum-crc32");
            req.headers_mut().remove("x-amz-checksum-crc64nvme");
            req.headers_mut().remove("x-amz-sdk-checksum-algorithm");
            req.headers_mut().insert("content-length", broken.len().to_string());
        })
        .send()
        .await;
    let err = p.unwrap_err();
    let status = err.raw_response().map(|r| r.status().as_u16());
    assert!(matches!(status, Some(400 | 403)), "{err:?}");
    unchanged(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_and_metadata() {
    let env = env().await;
    let big = "x".repeat(8 * 1024);
    let pq = presigned_put(&env, "big-header").await;
    let r = env.raw("PUT", &pq, &[("x-amz-meta-big", &big)], b"body").await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("MetadataTooLarge"), "{}", r.text());
    // A head far over any limit: hyper answers 431 and closes.
    let huge = "y".repeat(200 * 1024);
    let req = format!("GET /h/keep HTTP/1.1\r\nHost: x\r\nx-junk: {huge}\r\n\r\n");
    let resp = raw_bytes(env.addr.unwrap(), req.as_bytes()).await;
    assert!(resp.as_ref().is_none_or(|r| r.status == 431), "{resp:?}");
    unchanged(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_percent_encoding() {
    let env = env().await;
    for path in ["/hostile/%ZZ", "/hostile/%", "/hostile/%C3%28", "/%FF%FE/key"] {
        let r = env.raw("GET", path, &[], b"").await;
        assert!((400..500).contains(&r.status), "{path}: {} {}", r.status, r.text());
        assert!(r.text().contains("<Code>"), "{path}: an S3 error: {}", r.text());
    }
    unchanged(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_body_and_lying_content_length() {
    let env = env().await;
    let addr = env.addr.unwrap();
    // Content-Length says 1000, 10 bytes come, the client stops sending and closes its half.
    let pq = presigned_put(&env, "truncated").await;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!("PUT {pq} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1000\r\n\r\n0123456789");
    s.write_all(head.as_bytes()).await.unwrap();
    s.shutdown().await.unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    if let Some(r) = common::parse_response(&out) {
        assert!(r.status >= 400, "{r:?}");
    }
    // Content-Length says 4, 100 bytes come: the rest is the next "request", which is garbage.
    let pq = presigned_put(&env, "lying").await;
    let req = format!("PUT {pq} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 4\r\n\r\n{}", "z".repeat(100));
    let _ = raw_bytes(addr, req.as_bytes()).await;
    let h = env.client.head_object().bucket("hostile").key("lying").send().await;
    if let Ok(h) = h {
        assert_eq!(h.content_length(), Some(4), "only the declared bytes are the body");
        env.client.delete_object().bucket("hostile").key("lying").send().await.unwrap();
    }
    let err = env.client.head_object().bucket("hostile").key("truncated").send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(404), "a truncated body stores nothing");
    unchanged(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_is_cut_off_and_others_are_served() {
    let env = env().await;
    let addr = env.addr.unwrap();
    // Many connections that send half a request line and then nothing.
    let mut idle = Vec::new();
    for _ in 0..50 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /h/keep HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
        idle.push(s);
    }
    // Meanwhile the server serves others.
    unchanged(&env).await;
    // The server closes a stalled one (header read timeout) rather than waiting forever.
    let mut s = idle.pop().unwrap();
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(s3lite_http::HEADER_READ_TIMEOUT * 3, s.read_to_end(&mut buf)).await;
    assert!(closed.is_ok(), "the server never closed a stalled connection");
    unchanged(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_request_timeout_and_a_stalled_reader_is_let_go() {
    let idle = Duration::from_millis(600);
    let env = with_one_object(Env::with_body_idle_timeout(Transport::Socket, idle).await).await;
    let addr = env.addr.unwrap();

    // An upload that sends part of its body and then nothing: 400 RequestTimeout, nothing stored.
    let pq = presigned_put(&env, "stalled").await;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!("PUT {pq} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1000\r\n\r\n0123456789");
    s.write_all(head.as_bytes()).await.unwrap();
    let mut out = vec![0u8; 4096];
    let n = tokio::time::timeout(idle * 10, s.read(&mut out))
        .await
        .expect("an answer to a stalled upload")
        .unwrap();
    let resp = common::parse_response(&out[..n]).expect("a response");
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert!(resp.text().contains("<Code>RequestTimeout</Code>"), "{}", resp.text());
    let err = env.client.head_object().bucket("hostile").key("stalled").send().await.unwrap_err();
    assert_eq!(common::status(&err), 404, "a stalled upload stores nothing");

    // A GET whose client stops reading: the host ends the body rather than keep the reader forever.
    env.client
        .put_object()
        .bucket("hostile")
        .key("large")
        .body(ByteStream::from(vec![5u8; 8 << 20]))
        .send()
        .await
        .unwrap();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let url = env
        .client
        .get_object()
        .bucket("hostile")
        .key("large")
        .presigned(aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let uri: http::Uri = url.uri().parse().unwrap();
    let req = format!("GET {} HTTP/1.1\r\nHost: {addr}\r\n\r\n", uri.path_and_query().unwrap());
    s.write_all(req.as_bytes()).await.unwrap();
    // Read nothing for a while (the socket buffers fill, the channel fills, the sender waits).
    tokio::time::sleep(idle * 4).await;
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 20];
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the host kept a stalled GET open");
    assert!(got < 8 << 20, "the body was ended early ({got} bytes came), not sent whole");
    env.client.delete_object().bucket("hostile").key("large").send().await.unwrap();
    unchanged(&env).await;
}
