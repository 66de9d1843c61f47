//! Presigned URLs over HTTP: URLs made by s3lite's `Client` and by aws-sdk-s3's presigning, sent
//! as plain HTTP/1.1 requests (no SDK on the sending side) to a host on a loopback port whose
//! store runs on a `ManualClock` set years behind the system clock, so that expiry is seen to be
//! judged on the store's clock. Deactivated and deleted keys, tampering and S3's codes.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::config::{BehaviorVersion, Credentials as SdkCredentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;
use common::{Raw, raw_bytes};
use s3lite::{AccessKeyStatus, Client, Credentials, ManualClock, PresignedOperation::*, Store};

/// 2023-11-14T22:13:20Z: years behind the system clock.
const T0_MS: u64 = 1_700_000_000_000;

struct Served {
    store: Store,
    clock: Arc<ManualClock>,
    addr: SocketAddr,
    keys: Credentials,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Served {
    /// A store on a manual clock at `clock_ms`, served on a free port; `judging` gives the host
    /// the store to judge presigned URLs with (`Host::judging_presigned_urls`).
    async fn start(clock_ms: u64, judging: bool) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(clock_ms));
        let store = Store::builder(dir.path().join("store")).clock(clock.clone()).open().unwrap();
        let keys = store.create_access_key(&store.owner()).unwrap();
        let mut host = s3lite_http::Host::new(s3lite_http::s3_service(&store, None));
        if judging {
            host = host.judging_presigned_urls(&store);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            s3lite_http::serve(listener, host, async { drop(rx.await) }, Duration::from_secs(5))
                .await
                .unwrap();
        });
        let served = Served { store, clock, addr, keys, stop: Some(tx), server: Some(server), _dir: dir };
        let client = served.client();
        client.create_bucket().bucket("photos").send().unwrap();
        client.put_object().bucket("photos").key("cat.jpg").body(b"meow").send().unwrap();
        served
    }

    /// The owner's s3lite client, its presigned URLs pointing at this server.
    fn client(&self) -> Client {
        self.store
            .client_with_credentials(&self.keys)
            .unwrap()
            .with_endpoint_url(format!("http://{}", self.addr))
    }

    fn url(&self, op: s3lite::PresignedOperation, key: &str, secs: u64) -> String {
        self.client().generate_presigned_url(op, "photos", key, Duration::from_secs(secs)).unwrap()
    }

    /// Sends `method url` as plain HTTP/1.1 with `headers` and `body`.
    async fn send(&self, method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Raw {
        let (authority, path_and_query) = url.strip_prefix("http://").unwrap().split_once('/').unwrap();
        let mut head = format!(
            "{method} /{path_and_query} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        raw_bytes(self.addr, &bytes).await.expect("a response")
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.server.take().unwrap().await.unwrap();
    }
}

fn error_code(raw: &Raw) -> String {
    let text = raw.text();
    text.split("<Code>").nth(1).and_then(|r| r.split("</Code>").next()).unwrap_or("").to_owned()
}

fn assert_refused(raw: &Raw, status: u16, code: &str) {
    assert_eq!((raw.status, error_code(raw).as_str()), (status, code), "{}", raw.text());
    assert!(raw.headers.contains_key("x-amz-request-id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3lite_urls_work_for_every_method_on_a_store_clock_behind_the_system() {
    let s = Served::start(T0_MS, true).await;
    let put = s.url(PutObject, "dir/my cat+1 ☕.txt", 600);
    let raw = s.send("PUT", &put, &[], b"hello").await;
    assert_eq!(raw.status, 200, "{}", raw.text());
    assert_eq!(raw.headers["etag"], "\"5d41402abc4b2a76b9719d911017c592\"");
    let get = s.url(GetObject, "dir/my cat+1 ☕.txt", 600);
    let raw = s.send("GET", &get, &[], b"").await;
    assert_eq!((raw.status, raw.body.as_slice()), (200, b"hello".as_slice()), "{}", raw.text());
    let raw = s.send("HEAD", &s.url(HeadObject, "dir/my cat+1 ☕.txt", 600), &[], b"").await;
    assert_eq!(
        (raw.status, &raw.headers["content-length"]),
        (200, &"5".parse::<http::HeaderValue>().unwrap())
    );
    let raw = s.send("DELETE", &s.url(DeleteObject, "dir/my cat+1 ☕.txt", 600), &[], b"").await;
    assert_eq!(raw.status, 204, "{}", raw.text());
    assert_refused(&s.send("GET", &get, &[], b"").await, 404, "NoSuchKey");
    // A GET URL is not a PUT URL.
    assert_refused(&s.send("PUT", &get, &[], b"x").await, 403, "SignatureDoesNotMatch");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_is_judged_on_the_store_clock() {
    let s = Served::start(T0_MS, true).await;
    let get = s.url(GetObject, "cat.jpg", 60);
    assert_eq!(s.send("GET", &get, &[], b"").await.status, 200);
    s.clock.advance_ms(60_000);
    assert_eq!(s.send("GET", &get, &[], b"").await.status, 200, "X-Amz-Date + 60 s is still in time");
    s.clock.advance_ms(1_000);
    let raw = s.send("GET", &get, &[], b"").await;
    assert_refused(&raw, 403, "AccessDenied");
    assert!(raw.text().contains("<Message>Request has expired</Message>"), "{}", raw.text());
    // Dated more than 15 minutes ahead of the store: not valid yet (the store's clock went back).
    s.clock.set_ms(T0_MS - 901_000);
    let raw = s.send("GET", &get, &[], b"").await;
    assert_refused(&raw, 403, "AccessDenied");
    assert!(raw.text().contains("Request is not valid yet"), "{}", raw.text());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_judging_host_the_store_clock_still_expires_urls() {
    // A host built from the service alone: s3s judges on the system clock, StoreAccess on the
    // store's; with the store's clock at the system's, a URL lives as long as it says.
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let s = Served::start(now_ms, false).await;
    let get = s.url(GetObject, "cat.jpg", 60);
    assert_eq!(s.send("GET", &get, &[], b"").await.status, 200);
    s.clock.advance_ms(61_000);
    let raw = s.send("GET", &get, &[], b"").await;
    assert_refused(&raw, 403, "AccessDenied");
    assert!(raw.text().contains("Request has expired"), "{}", raw.text());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivated_and_deleted_keys_are_refused() {
    let s = Served::start(T0_MS, true).await;
    let get = s.url(GetObject, "cat.jpg", 600);
    s.store.update_access_key(&s.keys.access_key_id, AccessKeyStatus::Inactive).unwrap();
    let raw = s.send("GET", &get, &[], b"").await;
    assert_refused(&raw, 403, "InvalidAccessKeyId");
    assert!(
        raw.text().contains("The AWS Access Key Id you provided does not exist in our records."),
        "{}",
        raw.text()
    );
    s.store.update_access_key(&s.keys.access_key_id, AccessKeyStatus::Active).unwrap();
    assert_eq!(s.send("GET", &get, &[], b"").await.status, 200);
    s.store.delete_access_key(&s.keys.access_key_id).unwrap();
    assert_refused(&s.send("GET", &get, &[], b"").await, 403, "InvalidAccessKeyId");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_and_out_of_range_urls_get_s3s_codes() {
    let s = Served::start(T0_MS, true).await;
    let get = s.url(GetObject, "cat.jpg", 600);
    assert_refused(
        &s.send("GET", &get.replace("cat.jpg", "dog.jpg"), &[], b"").await,
        403,
        "SignatureDoesNotMatch",
    );
    assert_refused(
        &s.send("GET", &get.replace("X-Amz-Expires=600", "X-Amz-Expires=700"), &[], b"").await,
        403,
        "SignatureDoesNotMatch",
    );
    let long = get.replace("X-Amz-Expires=600", "X-Amz-Expires=604801");
    assert_refused(&s.send("GET", &long, &[], b"").await, 400, "AuthorizationQueryParametersError");
    let both = s.send("GET", &get, &[("Authorization", "AWS4-HMAC-SHA256 Credential=x")], b"").await;
    assert_refused(&both, 400, "InvalidArgument");
    // Signed by a key of another store.
    let other = Store::open_in_memory().unwrap();
    let other_keys = other.create_access_key(&other.owner()).unwrap();
    let foreign = other
        .client_with_credentials(&other_keys)
        .unwrap()
        .with_endpoint_url(format!("http://{}", s.addr))
        .generate_presigned_url(GetObject, "photos", "cat.jpg", Duration::from_secs(60))
        .unwrap();
    assert_refused(&s.send("GET", &foreign, &[], b"").await, 403, "InvalidAccessKeyId");
    // Versions and response overrides travel in the signed query.
    let url = s
        .client()
        .presign(GetObject)
        .bucket("photos")
        .key("cat.jpg")
        .response_content_disposition("attachment; filename=\"a b.txt\"")
        .build()
        .unwrap()
        .url;
    assert_eq!(s.send("GET", &url, &[], b"").await.status, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_c_headers_are_signed_and_must_be_sent() {
    let s = Served::start(T0_MS, true).await;
    let client = s.client();
    let key = [5u8; 32];
    let put =
        client.presign(PutObject).bucket("photos").key("sealed").sse_customer_key(&key).build().unwrap();
    let headers: Vec<(&str, &str)> = put.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let raw = s.send("PUT", &put.url, &headers, b"secret body").await;
    assert_eq!(raw.status, 200, "{}", raw.text());
    assert_refused(&s.send("PUT", &put.url, &[], b"x").await, 403, "SignatureDoesNotMatch");
    let get =
        client.presign(GetObject).bucket("photos").key("sealed").sse_customer_key(&key).build().unwrap();
    let headers: Vec<(&str, &str)> = get.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let raw = s.send("GET", &get.url, &headers, b"").await;
    assert_eq!((raw.status, raw.body.as_slice()), (200, b"secret body".as_slice()), "{}", raw.text());
    s.stop().await;
}

fn sdk_client(s: &Served) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .credentials_provider(SdkCredentials::new(
            &s.keys.access_key_id,
            &s.keys.secret_access_key,
            None,
            None,
            "test",
        ))
        .region(Region::new("us-east-1"))
        .endpoint_url(format!("http://{}", s.addr))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_sdk_presigned_urls_are_accepted() {
    // Signed at the store's time (the SDK's clock told to start there), on a store behind the system.
    let s = Served::start(T0_MS, true).await;
    let sdk = sdk_client(&s);
    let start = UNIX_EPOCH + Duration::from_millis(T0_MS);
    let config = || {
        PresigningConfig::builder().start_time(start).expires_in(Duration::from_secs(300)).build().unwrap()
    };
    let put = sdk.put_object().bucket("photos").key("from sdk+1.txt").presigned(config()).await.unwrap();
    let raw = s.send("PUT", put.uri(), &[], b"sdk body").await;
    assert_eq!(raw.status, 200, "{}", raw.text());
    let get = sdk.get_object().bucket("photos").key("from sdk+1.txt").presigned(config()).await.unwrap();
    let raw = s.send("GET", get.uri(), &[], b"").await;
    assert_eq!((raw.status, raw.body.as_slice()), (200, b"sdk body".as_slice()), "{}", raw.text());
    s.clock.advance_ms(301_000);
    assert_refused(&s.send("GET", get.uri(), &[], b"").await, 403, "AccessDenied");
    s.stop().await;

    // Signed at the SDK's own (system) time, on a store on the system's time.
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let s = Served::start(now_ms, true).await;
    let sdk = sdk_client(&s);
    let get = sdk
        .get_object()
        .bucket("photos")
        .key("cat.jpg")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(60)).unwrap())
        .await
        .unwrap();
    let raw = s.send("GET", get.uri(), &[], b"").await;
    assert_eq!((raw.status, raw.body.as_slice()), (200, b"meow".as_slice()), "{}", raw.text());
    // And the same URL judged in process by the store agrees.
    s.store.verify_presigned("GET", get.uri(), &[]).unwrap();
    s.stop().await;
}
