//! The socket host: request ids, the routes s3s 0.14.1 does not cover (CORS preflight, browser POST
//! uploads), one `tracing` line per request, and the accept loop with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use s3s::service::S3Service;
use s3s::{HttpError, HttpResponse};
use tokio::net::TcpListener;

/// A request id (`x-amz-request-id`): 16 upper-case hex digits from a random UUID, as S3's look;
/// `x-amz-id-2` is the whole UUID in base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId {
    id: String,
    id2: String,
}

impl RequestId {
    /// A fresh id.
    #[must_use]
    #[allow(clippy::new_without_default, reason = "each call makes a different id")]
    pub fn new() -> RequestId {
        use base64::Engine as _;
        let uuid = uuid::Uuid::new_v4();
        let hex = uuid.simple().to_string().to_ascii_uppercase();
        RequestId {
            id: hex[..16].to_owned(),
            id2: base64::engine::general_purpose::STANDARD.encode(uuid.as_bytes()),
        }
    }

    /// The id.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// Puts `x-amz-request-id` and `x-amz-id-2` in `headers` unless they are there.
    pub fn stamp(&self, headers: &mut http::HeaderMap) {
        if !headers.contains_key("x-amz-request-id")
            && let Ok(v) = http::HeaderValue::from_str(&self.id)
        {
            headers.insert("x-amz-request-id", v);
        }
        if !headers.contains_key("x-amz-id-2")
            && let Ok(v) = http::HeaderValue::from_str(&self.id2)
        {
            headers.insert("x-amz-id-2", v);
        }
    }
}

/// The HTTP host over an s3s service: what every request goes through on the socket.
#[derive(Debug, Clone)]
pub struct Host {
    service: S3Service,
    /// The store whose clock and keys judge presigned URLs before s3s sees them
    /// ([`Host::judging_presigned_urls`]).
    presigned: Option<s3lite::Store>,
}

fn xml_error(status: http::StatusCode, code: &str, message: &str, rid: &RequestId) -> HttpResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>{}</RequestId></Error>",
        rid.as_str()
    );
    let mut resp = http::Response::new(s3s::Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/xml"));
    rid.stamp(resp.headers_mut());
    resp
}

/// Drops a `Range` header that S3 would ignore, so the GET or HEAD answers the whole object (200)
/// as S3 does, where s3s 0.14.1 refuses the request (400): one S3 cannot read (`bytes=abc`, a
/// last byte before the first, `items=0-1`) or several ranges (`bytes=0-1,4-5`, which S3 does
/// not serve). Only a header the request's signature does not cover can go (a presigned URL or an
/// anonymous request): removing a signed one would fail the signature check, so there s3s's 400
/// stands.
fn drop_unreadable_range(req: &mut s3s::HttpRequest) {
    if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
        return;
    }
    let Some(range) = req.headers().get(http::header::RANGE) else { return };
    let readable = range.to_str().is_ok_and(|r| s3s::dto::Range::parse(r.trim()).is_ok());
    if !readable && !range_is_signed(req) {
        req.headers_mut().remove(http::header::RANGE);
    }
}

/// True when the request's SigV4 signature lists `range` among its signed headers (from the
/// `Authorization` header, or `X-Amz-SignedHeaders` of a presigned URL).
fn range_is_signed(req: &s3s::HttpRequest) -> bool {
    let from_header = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split_once("SignedHeaders=").map(|(_, rest)| rest.split(',').next().unwrap_or("")))
        .map(str::to_owned);
    let from_query = req.uri().query().and_then(|q| url_query_value(q, "X-Amz-SignedHeaders"));
    from_header
        .or(from_query)
        .is_some_and(|list| list.split(';').any(|h| h.trim().eq_ignore_ascii_case("range")))
}

/// The percent-decoded value of `name` in a query string.
fn url_query_value(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned())
    })
}

impl Host {
    /// A host serving `service` (see [`crate::s3_service`]).
    #[must_use]
    pub fn new(service: S3Service) -> Host {
        Host { service, presigned: None }
    }

    /// This host, judging SigV4 presigned URLs itself on `store`'s clock and keys (the store the
    /// service serves) before s3s sees them, as [`s3lite::Store::verify_presigned_parts`] does:
    /// S3's codes for a bad URL, and an expiry S3 would judge on its clock judged on the
    /// store's, even when that is not the system's (a `ManualClock`). Without it s3s 0.14.1 judges
    /// expiry on the system clock and [`crate::StoreAccess`] again on the store's, so a URL must
    /// be in time on both: the same thing when the store runs on the system clock, as
    /// `s3lite serve` does.
    #[must_use]
    pub fn judging_presigned_urls(mut self, store: &s3lite::Store) -> Host {
        self.presigned = Some(store.clone());
        self
    }

    /// Serves one request: gives it a request id (in its extensions, where the operations find
    /// it, and on the response), answers CORS preflight and browser POST uploads, checks the
    /// digests of an XML body (see `digest.rs`), calls the service and logs one line.
    ///
    /// # Errors
    /// The service's `HttpError` (s3s answers S3 errors as responses; this is for broken bodies).
    pub async fn call(&self, mut req: s3s::HttpRequest) -> Result<HttpResponse, HttpError> {
        let started = Instant::now();
        let rid = RequestId::new();
        req.extensions_mut().insert(rid.clone());
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let is_form = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
        let result = if method == http::Method::OPTIONS {
            Ok(xml_error(
                http::StatusCode::FORBIDDEN,
                "CORSResponse",
                "CORS is not enabled for this bucket (s3lite serves no CORS configuration)",
                &rid,
            ))
        } else if method == http::Method::POST && is_form {
            Ok(xml_error(
                http::StatusCode::NOT_IMPLEMENTED,
                "NotImplemented",
                "browser POST uploads (POST Object with a form) are not served; use PUT or a presigned PUT URL",
                &rid,
            ))
        } else if let Err(refusal) = {
            drop_unreadable_range(&mut req);
            crate::digest::check(&mut req).await
        } {
            Ok(xml_error(refusal.status, refusal.code, &refusal.message, &rid))
        } else if let Some(Err((status, code, message))) =
            self.presigned.as_ref().map(|store| crate::access::admit_presigned(store, &mut req))
        {
            Ok(xml_error(status, code, &message, &rid))
        } else {
            self.service.call(req).await.map(|mut resp| {
                rid.stamp(resp.headers_mut());
                resp
            })
        };
        let status = result.as_ref().map_or(500, |r| r.status().as_u16());
        tracing::info!(
            target: "s3lite_http",
            request_id = rid.as_str(),
            %method,
            path = %path,
            status,
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
        result
    }
}

/// Why [`serve`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Accepting a connection failed.
    #[error("accepting a connection on {addr} failed: {source}")]
    Accept {
        /// The listening address.
        addr: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Longest a client may take to send a request's headers (a slowloris client is cut off).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (request line and headers) read: S3 allows 8 KB of headers, and a
/// client's head past this is answered `431` and the connection closed.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Serves `host` on `listener` until `shutdown` completes, then stops accepting, lets in-flight
/// requests finish (at most `drain` long) and returns.
///
/// # Errors
/// [`ServeError::Accept`] when the listener fails (not for per-connection errors, which close
/// that connection only).
pub async fn serve(
    listener: TcpListener,
    host: Host,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) -> Result<(), ServeError> {
    let addr = listener.local_addr().map_or_else(|_| "?".to_owned(), |a: SocketAddr| a.to_string());
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) if is_transient(&e) => continue,
                Err(source) => return Err(ServeError::Accept { addr, source }),
            },
            () = &mut shutdown => break,
        };
        // Without TCP_NODELAY a response written in two pieces (head, then a body chunk from the
        // reading task) waits for the client's delayed ACK of the first: about 40 ms per GET.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(target: "s3lite_http", error = %e, "TCP_NODELAY not set");
        }
        let host = host.clone();
        let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
            let host = host.clone();
            async move { host.call(req.map(s3s::Body::from)).await }
        });
        let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(target: "s3lite_http", error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(drain, graceful.shutdown()).await.is_err() {
        tracing::warn!(target: "s3lite_http", "in-flight requests still running after {drain:?}; stopping anyway");
    }
    Ok(())
}

fn is_transient(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::Interrupted
    ) || e.raw_os_error().is_some_and(|c| c == 24 || c == 23) // EMFILE, ENFILE: retry
}
