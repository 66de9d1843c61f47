//! Findings of the fresh-context review of the HTTP host (issue 15), each proved by a request a
//! client could send: hand-signed aws-chunked bodies whose chunks do not add up to the declared
//! length, uploads larger than S3 takes in one PUT, conditional GETs, and clients that go away
//! mid-transfer. Checks the review found sound are kept here too, so that they stay so.

mod common;

use std::time::{Duration, SystemTime};

use aws_sdk_s3::primitives::ByteStream;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use base64::Engine as _;
use common::{Env, Raw, Transport};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A store over a socket with bucket `bkt`.
async fn env() -> Env {
    let env = Env::new(Transport::Socket).await;
    env.client.create_bucket().bucket("bkt").send().await.unwrap();
    env
}

/// A SigV4 signer of raw requests with the env's owner key, at one instant (chunk signatures
/// chain from the request's).
struct Signer {
    identity: aws_smithy_runtime_api::client::identity::Identity,
    time: SystemTime,
}

impl Signer {
    fn new(env: &Env) -> Signer {
        let creds = aws_credential_types::Credentials::new(
            &env.keys.access_key_id,
            &env.keys.secret_access_key,
            None,
            None,
            "review",
        );
        Signer { identity: creds.into(), time: SystemTime::now() }
    }

    fn params(&self) -> aws_sigv4::sign::v4::SigningParams<'_, SigningSettings> {
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&self.identity)
            .region("us-east-1")
            .name("s3")
            .time(self.time)
            .settings(settings)
            .build()
            .unwrap()
    }

    /// Signs `method path_and_query` on the env's host with `headers` and the payload hash
    /// `payload`; the headers to send (the given ones plus the signature's) and the signature.
    fn sign(
        &self,
        env: &Env,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        payload: &str,
    ) -> (Vec<(String, String)>, String) {
        let host = env.host();
        let mut all: Vec<(String, String)> =
            headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        all.push(("host".into(), host.clone()));
        let uri = format!("http://{host}{path_and_query}");
        let req = SignableRequest::new(
            method,
            &uri,
            all.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Precomputed(payload.to_owned()),
        )
        .unwrap();
        let params = self.params().into();
        let (instructions, signature) = aws_sigv4::http_request::sign(req, &params).unwrap().into_parts();
        for (k, v) in instructions.headers() {
            all.push((k.to_owned(), v.to_owned()));
        }
        all.retain(|(k, _)| k != "host"); // `Env::raw` sends it
        (all, signature)
    }

    /// One signed aws-chunked chunk after `prev` (the previous chunk's or the seed signature).
    fn chunk(&self, data: &[u8], prev: &mut String) -> Vec<u8> {
        let out = aws_sigv4::sign::v4::sign_chunk(&bytes::Bytes::copy_from_slice(data), prev, &self.params())
            .unwrap();
        *prev = out.signature().to_owned();
        let mut c = format!("{:x};chunk-signature={}\r\n", data.len(), prev).into_bytes();
        c.extend_from_slice(data);
        c.extend_from_slice(b"\r\n");
        c
    }
}

async fn send(env: &Env, method: &str, pq: &str, headers: &[(String, String)], body: &[u8]) -> Raw {
    let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.raw(method, pq, &h, body).await
}

/// A signed-chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) PUT of `/bkt/{key}` that declares
/// `declared` decoded bytes and sends `chunks`, then the final empty chunk if `terminate`.
async fn put_signed_chunks(env: &Env, key: &str, declared: usize, chunks: &[&[u8]], terminate: bool) -> Raw {
    let signer = Signer::new(env);
    let pq = format!("/bkt/{key}");
    let declared = declared.to_string();
    let (headers, seed) = signer.sign(
        env,
        "PUT",
        &pq,
        &[("x-amz-decoded-content-length", &declared), ("content-encoding", "aws-chunked")],
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    );
    let mut prev = seed;
    let mut body = Vec::new();
    for c in chunks {
        body.extend(signer.chunk(c, &mut prev));
    }
    if terminate {
        body.extend(signer.chunk(b"", &mut prev));
    }
    send(env, "PUT", &pq, &headers, &body).await
}

/// An unsigned-chunk (STREAMING-UNSIGNED-PAYLOAD-TRAILER) PUT of `/bkt/{key}` declaring
/// `declared` bytes, sending `data` in one chunk and a CRC32 trailer of `data`.
async fn put_unsigned_trailer(env: &Env, key: &str, declared: usize, data: &[u8]) -> Raw {
    let signer = Signer::new(env);
    let pq = format!("/bkt/{key}");
    let declared = declared.to_string();
    let (headers, _) = signer.sign(
        env,
        "PUT",
        &pq,
        &[
            ("x-amz-decoded-content-length", &declared),
            ("content-encoding", "aws-chunked"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ],
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    );
    let crc = base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(data).to_be_bytes());
    let mut body = format!("{:x}\r\n", data.len()).into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n").as_bytes());
    send(env, "PUT", &pq, &headers, &body).await
}

/// Whether `/bkt/{key}` exists.
async fn exists(env: &Env, key: &str) -> bool {
    env.client.head_object().bucket("bkt").key(key).send().await.is_ok()
}

// --- sound: the hand-made requests are right, and a bad chunk signature stores nothing ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn well_formed_aws_chunked_uploads_are_stored() {
    let env = env().await;
    let r = put_signed_chunks(&env, "signed", 20, &[b"0123456789", b"abcdefghij"], true).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = put_unsigned_trailer(&env, "trailer", 10, b"0123456789").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let got = env.client.get_object().bucket("bkt").key("signed").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"0123456789abcdefghij");
    let got = env.client.get_object().bucket("bkt").key("trailer").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"0123456789");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_chunk_signature_stores_nothing() {
    let env = env().await;
    let signer = Signer::new(&env);
    let (headers, seed) = signer.sign(
        &env,
        "PUT",
        "/bkt/forged",
        &[("x-amz-decoded-content-length", "10"), ("content-encoding", "aws-chunked")],
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    );
    let mut prev = seed;
    let mut body = signer.chunk(b"0123456789", &mut prev);
    body[20] ^= 1; // one hex digit of the signature
    body.extend(signer.chunk(b"", &mut prev));
    let r = send(&env, "PUT", "/bkt/forged", &headers, &body).await;
    assert!(r.status >= 400, "{} {}", r.status, r.text());
    assert!(!exists(&env, "forged").await, "a forged chunk stored an object");
}

// --- finding 1: aws-chunked bodies that do not add up to x-amz-decoded-content-length ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aws_chunked_body_shorter_than_declared_stores_nothing() {
    let env = env().await;
    // Every chunk signed, the final chunk too: only the declared length says bytes are missing.
    let r = put_signed_chunks(&env, "short", 20, &[b"0123456789"], true).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("<Code>IncompleteBody</Code>"), "{}", r.text());
    assert!(!exists(&env, "short").await, "a short aws-chunked body was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aws_chunked_body_without_its_final_chunk_stores_nothing() {
    let env = env().await;
    // A client (or proxy) that stops after the first of two chunks, with an HTTP framing that
    // ends there: s3s's decoder takes the end of the stream as the end of the body.
    let r = put_signed_chunks(&env, "cut", 20, &[b"0123456789"], false).await;
    assert!(r.status >= 400, "{} {}", r.status, r.text());
    assert!(!exists(&env, "cut").await, "a cut aws-chunked body was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_trailer_body_shorter_than_declared_stores_nothing() {
    let env = env().await;
    // The trailer's CRC32 is right for the bytes sent; the bytes are half of those declared.
    let r = put_unsigned_trailer(&env, "short-trailer", 20, b"0123456789").await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(!exists(&env, "short-trailer").await, "a short aws-chunked body was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aws_chunked_body_longer_than_declared_stores_nothing() {
    let env = env().await;
    let r = put_signed_chunks(&env, "long", 10, &[b"0123456789", b"abcdefghij"], true).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(!exists(&env, "long").await, "a long aws-chunked body was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_part_shorter_than_declared_is_refused() {
    let env = env().await;
    let up = env.client.create_multipart_upload().bucket("bkt").key("mp").send().await.unwrap();
    let id = up.upload_id().unwrap().to_owned();
    let key = format!("mp?partNumber=1&uploadId={id}");
    let r = put_signed_chunks(&env, &key, 20, &[b"0123456789"], true).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let parts = env.client.list_parts().bucket("bkt").key("mp").upload_id(&id).send().await.unwrap();
    assert!(parts.parts().is_empty(), "a short part was kept: {:?}", parts.parts());
}

// --- finding 2: a PUT over S3's 5 GiB is answered only after the client sends 5 GiB ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_over_five_gib_is_refused_before_its_body() {
    let env = env().await;
    let addr = env.addr.unwrap();
    let url = env
        .client
        .put_object()
        .bucket("bkt")
        .key("huge")
        .presigned(aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let uri: http::Uri = url.uri().parse().unwrap();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let declared = 6u64 << 30;
    let head = format!(
        "PUT {} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {declared}\r\n\r\n",
        uri.path_and_query().unwrap()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // S3 answers at once (EntityTooLarge); a host that waits reads until its body idle timeout.
    let mut out = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut out))
        .await
        .expect("no answer to a 6 GiB PUT before its body")
        .unwrap();
    let r = common::parse_response(&out[..n]).expect("a response");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("<Code>EntityTooLarge</Code>"), "{}", r.text());
}

// --- finding 3: 304 Not Modified carries no ETag ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_modified_carries_the_etag() {
    let env = env().await;
    let put = env
        .client
        .put_object()
        .bucket("bkt")
        .key("k")
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .unwrap();
    let etag = put.e_tag().unwrap().to_owned();
    for method in ["GET", "HEAD"] {
        let url = env
            .client
            .get_object()
            .bucket("bkt")
            .key("k")
            .presigned(
                aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300)).unwrap(),
            )
            .await
            .unwrap();
        let pq = url.uri().parse::<http::Uri>().unwrap().path_and_query().unwrap().as_str().to_owned();
        let pq = if method == "HEAD" {
            let url = env
                .client
                .head_object()
                .bucket("bkt")
                .key("k")
                .presigned(
                    aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300)).unwrap(),
                )
                .await
                .unwrap();
            url.uri().parse::<http::Uri>().unwrap().path_and_query().unwrap().as_str().to_owned()
        } else {
            pq
        };
        let r = env.raw(method, &pq, &[("If-None-Match", &etag)], b"").await;
        assert_eq!(r.status, 304, "{method}: {}", r.text());
        assert!(r.body.is_empty(), "{method}: a 304 has no body: {}", r.text());
        assert_eq!(
            r.headers.get("etag").and_then(|v| v.to_str().ok()),
            Some(etag.as_str()),
            "{method}: 304 without the ETag: {:?}",
            r.headers
        );
        assert!(r.headers.contains_key("last-modified"), "{method}: {:?}", r.headers);
        assert!(r.headers.contains_key("x-amz-request-id"), "{method}: {:?}", r.headers);
        assert!(
            !r.headers.contains_key("content-type"),
            "{method}: a 304 has no body to type: {:?}",
            r.headers
        );
    }
}

// --- sound: ranges, ETag quoting, hostile header values ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_etags_and_hostile_headers() {
    let env = env().await;
    env.client
        .put_object()
        .bucket("bkt")
        .key("k")
        .body(ByteStream::from_static(b"0123456789"))
        .send()
        .await
        .unwrap();
    let url = env
        .client
        .get_object()
        .bucket("bkt")
        .key("k")
        .presigned(aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let pq = url.uri().parse::<http::Uri>().unwrap().path_and_query().unwrap().as_str().to_owned();
    let r = env.raw("GET", &pq, &[("Range", "bytes=2-5")], b"").await;
    assert_eq!(r.status, 206, "{}", r.text());
    assert_eq!(r.headers.get("content-range").unwrap(), "bytes 2-5/10");
    assert_eq!(r.body, b"2345");
    let etag = r.headers.get("etag").unwrap().to_str().unwrap();
    assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34, "{etag}");
    assert!(r.headers.contains_key("x-amz-request-id"));
    let r = env.raw("GET", &pq, &[("Range", "bytes=100-")], b"").await;
    assert_eq!(r.status, 416, "{}", r.text());
    assert!(r.text().contains("InvalidRange"), "{}", r.text());
    let r = env.raw("GET", &pq, &[("Range", "bytes=5-99999999999999999999")], b"").await;
    assert!((200..500).contains(&r.status), "{}", r.status);
    let r = env.raw("GET", &pq, &[("Range", "bytes=-0")], b"").await;
    assert!((400..500).contains(&r.status) || r.status == 200, "{} {}", r.status, r.text());
    // Header values that are not UTF-8: a clear 4xx (or the header ignored), never a 5xx.
    let addr = env.addr.unwrap();
    for (name, value) in [
        (&b"x-amz-meta-bad"[..], &b"\xff\xfe"[..]),
        (b"Authorization", b"AWS4-HMAC-SHA256 Credential=\xff/x"),
        (b"x-amz-trailer", b"\xff"),
        (b"Range", b"bytes=\xff-"),
        (b"Content-Type", b"multipart/form-data\xff"),
    ] {
        let mut req =
            format!("PUT {pq} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 2\r\n")
                .into_bytes();
        req.extend_from_slice(name);
        req.extend_from_slice(b": ");
        req.extend_from_slice(value);
        req.extend_from_slice(b"\r\n\r\nab");
        let r = common::raw_bytes(addr, &req).await;
        if let Some(r) = r {
            assert!((400..500).contains(&r.status), "{:?}: {} {}", name, r.status, r.text());
        }
    }
    let got = env.client.get_object().bucket("bkt").key("k").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"0123456789");
}

// --- clients that go away mid-transfer: nothing stored, nothing held ---

/// Deletes the bucket, retrying for a while: a write still in flight makes DeleteBucket fail.
async fn bucket_deletable(env: &Env) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..50 {
        match env.client.delete_bucket().bucket("bkt").send().await {
            Ok(_) => return Ok(()),
            Err(e) => {
                last = format!("{} {:?}", common::code(&e), e.as_service_error().map(|s| s.to_string()))
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_gone_mid_upload_leaves_nothing_in_flight() {
    let env = env().await;
    let addr = env.addr.unwrap();
    let url = env
        .client
        .put_object()
        .bucket("bkt")
        .key("gone")
        .presigned(aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let uri: http::Uri = url.uri().parse().unwrap();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "PUT {} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n",
        uri.path_and_query().unwrap(),
        64 << 20
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&vec![1u8; 12 << 20]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(s); // gone, 12 of 64 MiB sent
    assert!(!exists(&env, "gone").await, "a partial upload was stored");
    bucket_deletable(&env).await.expect("DeleteBucket after an abandoned upload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_gone_mid_download_leaves_nothing_held() {
    let env = env().await;
    env.client
        .put_object()
        .bucket("bkt")
        .key("big")
        .body(ByteStream::from(vec![3u8; 16 << 20]))
        .send()
        .await
        .unwrap();
    let addr = env.addr.unwrap();
    let url = env
        .client
        .get_object()
        .bucket("bkt")
        .key("big")
        .presigned(aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let uri: http::Uri = url.uri().parse().unwrap();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {} HTTP/1.1\r\nHost: {addr}\r\n\r\n", uri.path_and_query().unwrap());
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let n = s.read(&mut buf).await.unwrap();
    assert!(n > 0);
    drop(s);
    env.client.delete_object().bucket("bkt").key("big").send().await.unwrap();
    bucket_deletable(&env).await.expect("DeleteBucket after an abandoned download");
}

// --- finding 4: no bucket is private: unsigned requests and other accounts reach every bucket ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_requests_cannot_touch_an_accounts_bucket() {
    let env = env().await;
    let r = env.raw("PUT", "/bkt/anon", &[], b"data").await;
    assert_eq!(r.status, 403, "an anonymous PUT: {}", r.text());
    assert!(!exists(&env, "anon").await, "an anonymous PUT stored an object");
    let r = env.raw("GET", "/bkt", &[], b"").await;
    assert_eq!(r.status, 403, "an anonymous ListObjects: {}", r.text());
    let r = env.raw("DELETE", "/bkt", &[], b"").await;
    assert_eq!(r.status, 403, "an anonymous DeleteBucket: {}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_account_cannot_touch_an_accounts_bucket() {
    let env = env().await;
    env.client
        .put_object()
        .bucket("bkt")
        .key("secret")
        .body(ByteStream::from_static(b"owner's"))
        .send()
        .await
        .unwrap();
    let alice = env.store.create_account("alice").unwrap();
    let keys = env.store.create_access_key(&alice).unwrap();
    let s3 = env.client_with(&keys.access_key_id, &keys.secret_access_key, "us-east-1");
    let got = s3.get_object().bucket("bkt").key("secret").send().await;
    assert_eq!(got.as_ref().map_err(common::code).err().as_deref(), Some("AccessDenied"), "{got:?}");
    let put = s3.put_object().bucket("bkt").key("alice").body(ByteStream::from_static(b"x")).send().await;
    assert!(put.is_err(), "alice wrote into the owner's bucket");
    assert!(!exists(&env, "alice").await);
}

// --- a Range S3 cannot read is ignored, as S3 does ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_range_answers_the_whole_object() {
    let env = env().await;
    env.client
        .put_object()
        .bucket("bkt")
        .key("k")
        .body(ByteStream::from_static(b"0123456789"))
        .send()
        .await
        .unwrap();
    let presigned = aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300)).unwrap();
    let get = env.client.get_object().bucket("bkt").key("k").presigned(presigned.clone()).await.unwrap();
    let head = env.client.head_object().bucket("bkt").key("k").presigned(presigned).await.unwrap();
    let path = |u: &str| u.parse::<http::Uri>().unwrap().path_and_query().unwrap().as_str().to_owned();
    let (get, head) = (path(get.uri()), path(head.uri()));
    for range in ["bytes=abc", "bytes=5-2", "items=0-1", "bytes=0-1,4-5", "bytes="] {
        let r = env.raw("GET", &get, &[("Range", range)], b"").await;
        assert_eq!(r.status, 200, "{range}: {}", r.text());
        assert_eq!(r.body, b"0123456789", "{range}");
        assert!(!r.headers.contains_key("content-range"), "{range}: {:?}", r.headers);
        let r = env.raw("HEAD", &head, &[("Range", range)], b"").await;
        assert_eq!(r.status, 200, "HEAD {range}");
        assert_eq!(r.headers.get("content-length").unwrap(), "10", "HEAD {range}");
    }
    // A readable range still answers 206.
    let r = env.raw("GET", &get, &[("Range", "bytes=-3")], b"").await;
    assert_eq!((r.status, r.body.as_slice()), (206, &b"789"[..]));
    // A signed unreadable Range cannot be dropped without failing the signature: s3s's 400 stands
    // (README, "Differences from S3").
    let err = env.client.get_object().bucket("bkt").key("k").range("bytes=abc").send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400), "{err:?}");
}
