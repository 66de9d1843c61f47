//! The two transports the suites run over: a server on a free loopback port, driven by
//! aws-sdk-s3 through its plain-HTTP hyper client, and the same store in process through
//! `s3lite_http::aws_sdk_client` (the host in process, no socket). Raw requests (presigned URLs,
//! unsigned and hostile requests) go over the socket as bytes, or in process to the host.

#![allow(dead_code, reason = "each test binary uses part of the harness")]

use std::net::SocketAddr;
use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use s3lite::Store;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Which way requests reach the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTP over a loopback socket.
    Socket,
    /// In process, through the host with no socket.
    InProcess,
}

/// A raw response.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Raw {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A store served one way, with the owner's key.
pub struct Env {
    pub transport: Transport,
    pub store: Store,
    pub keys: s3lite::Credentials,
    pub client: aws_sdk_s3::Client,
    pub addr: Option<SocketAddr>,
    service: s3s::service::S3Service,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Env {
    /// A fresh store on disk (region us-east-1), served by `transport`.
    pub async fn new(transport: Transport) -> Env {
        Env::with_region(transport, "us-east-1").await
    }

    pub async fn with_region(transport: Transport, region: &str) -> Env {
        Env::build(transport, region, s3lite_http::BODY_IDLE_TIMEOUT, None).await
    }

    /// A fresh store whose host gives up on a body idle for `idle`.
    pub async fn with_body_idle_timeout(transport: Transport, idle: Duration) -> Env {
        Env::build(transport, "us-east-1", idle, None).await
    }

    /// A fresh store served over a socket with virtual-host-style addressing under `domain`.
    pub async fn with_domain(domain: &str) -> Env {
        Env::build(Transport::Socket, "us-east-1", s3lite_http::BODY_IDLE_TIMEOUT, Some(domain)).await
    }

    async fn build(transport: Transport, region: &str, idle: Duration, domain: Option<&str>) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::builder(dir.path().join("store"))
            .region(region)
            .key_provider(std::sync::Arc::new(s3lite::crypto::MasterKeys::generate()))
            .open()
            .unwrap();
        let keys = store.create_access_key(&store.owner()).unwrap();
        let ops = s3lite_http::StoreS3::new(store.clone()).body_idle_timeout(idle);
        let service = s3lite_http::s3_service_with(ops, domain);
        let (mut addr, mut stop, mut server) = (None, None, None);
        if transport == Transport::Socket {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr = Some(listener.local_addr().unwrap());
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let host = s3lite_http::Host::new(service.clone());
            server = Some(tokio::spawn(async move {
                s3lite_http::serve(listener, host, async { drop(rx.await) }, Duration::from_secs(5))
                    .await
                    .unwrap();
            }));
            stop = Some(tx);
        }
        let mut env = Env {
            transport,
            store,
            keys: keys.clone(),
            client: placeholder(),
            addr,
            service,
            stop,
            server,
            _dir: dir,
        };
        env.client = env.client_with(&keys.access_key_id, &keys.secret_access_key, region);
        env
    }

    /// An aws-sdk-s3 client over this env's transport with these credentials and region.
    pub fn client_with(&self, access_key: &str, secret: &str, region: &str) -> aws_sdk_s3::Client {
        match self.transport {
            Transport::InProcess => {
                let creds = s3lite::Credentials {
                    access_key_id: access_key.into(),
                    secret_access_key: secret.into(),
                };
                let config = s3lite_http::aws_sdk_config(&self.store, &creds)
                    .to_builder()
                    .region(Region::new(region.to_owned()))
                    .build();
                aws_sdk_s3::Client::from_conf(config)
            }
            Transport::Socket => {
                let config = aws_sdk_s3::Config::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .http_client(aws_smithy_http_client::Builder::new().build_http())
                    .credentials_provider(Credentials::new(access_key, secret, None, None, "test"))
                    .region(Region::new(region.to_owned()))
                    .endpoint_url(format!("http://{}", self.addr.unwrap()))
                    .force_path_style(true)
                    .build();
                aws_sdk_s3::Client::from_conf(config)
            }
        }
    }

    pub fn is_socket(&self) -> bool {
        self.transport == Transport::Socket
    }

    /// The host header value requests carry.
    pub fn host(&self) -> String {
        match self.addr {
            Some(a) => a.to_string(),
            None => "s3lite.local".into(),
        }
    }

    /// Sends a raw request: `path_and_query` on this env's host, the given headers and body.
    pub async fn raw(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Raw {
        match self.transport {
            Transport::Socket => {
                let mut head = format!(
                    "{method} {path_and_query} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
                    self.host()
                );
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-length")) {
                    head.push_str(&format!("Content-Length: {}\r\n", body.len()));
                }
                head.push_str("\r\n");
                let mut bytes = head.into_bytes();
                bytes.extend_from_slice(body);
                raw_bytes(self.addr.unwrap(), &bytes).await.expect("a response")
            }
            Transport::InProcess => {
                let mut req = http::Request::builder()
                    .method(method)
                    .uri(format!("http://{}{path_and_query}", self.host()));
                req = req.header("host", self.host());
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                let req = req.body(s3s::Body::from(body.to_vec())).unwrap();
                let resp = s3lite_http::Host::new(self.service.clone()).call(req).await.unwrap();
                let (parts, body) = resp.into_parts();
                let body = http_body_util::BodyExt::collect(body).await.unwrap().to_bytes().to_vec();
                Raw { status: parts.status.as_u16(), headers: parts.headers, body }
            }
        }
    }

    /// Stops the server (socket transport) and waits for it; the store and its directory.
    pub async fn stop(mut self) -> (Store, tempfile::TempDir) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.unwrap();
        }
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().unwrap());
        (self.store.clone(), dir)
    }
}

fn placeholder() -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build(),
    )
}

/// Writes `bytes` to a fresh connection and reads the response until the server closes it.
/// `None` when the server closed the connection without a response.
pub async fn raw_bytes(addr: SocketAddr, bytes: &[u8]) -> Option<Raw> {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(bytes).await;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    parse_response(&out)
}

/// Parses an HTTP/1.1 response (Content-Length or chunked body, or up to the end).
pub fn parse_response(out: &[u8]) -> Option<Raw> {
    let end = out.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&out[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut headers = http::HeaderMap::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            headers.append(
                http::HeaderName::from_bytes(k.trim().as_bytes()).ok()?,
                http::HeaderValue::from_str(v.trim()).ok()?,
            );
        }
    }
    let rest = &out[end + 4..];
    let body = if headers.get("transfer-encoding").is_some_and(|v| v == "chunked") {
        let mut body = Vec::new();
        let mut r = rest;
        loop {
            let nl = r.windows(2).position(|w| w == b"\r\n")?;
            let n = usize::from_str_radix(std::str::from_utf8(&r[..nl]).ok()?.trim(), 16).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(r.get(nl + 2..nl + 2 + n)?);
            r = &r[nl + 2 + n + 2..];
        }
        body
    } else if let Some(len) =
        headers.get("content-length").and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
    {
        rest[..len.min(rest.len())].to_vec()
    } else {
        rest.to_vec()
    };
    Some(Raw { status, headers, body })
}

/// The S3 error code of an SDK error.
pub fn code<E, R>(e: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    e.as_service_error().and_then(|s| s.code()).unwrap_or("?").to_owned()
}

/// The HTTP status of an SDK error's response.
pub fn status<E>(e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> u16 {
    e.raw_response().map_or(0, |r| r.status().as_u16())
}
