//! Presigned URLs, as boto3's `generate_presigned_url` and aws-sdk-s3's `presigned()` make them:
//! SigV4 query signing ([`crate::sigv4`]) of a GetObject, PutObject, HeadObject or DeleteObject
//! request, path-style (`{endpoint}/{bucket}/{key}`), dated by the store's clock, living 1 s to 7
//! days. [`Store::verify_presigned`] judges one as S3 does, on the same clock, so a test harness
//! can serve presigned URLs without HTTP; the HTTP host judges them with the same code.

use std::time::Duration;

use crate::api::Client;
use crate::engine::accounts::Credentials;
use crate::engine::catalog::Account;
use crate::engine::store::Store;
use crate::error::{Error, Result};
use crate::s3::types::{SSE_CUSTOMER_ALGORITHM, sse_customer_key_md5};
use crate::sigv4::{
    self, PRESIGNED_CLOCK_SKEW_MAX_SECS, PRESIGNED_EXPIRES_MAX_SECS, QueryError, Request, Signer,
};

/// The operation a presigned URL is for (boto3's `ClientMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PresignedOperation {
    /// `get_object`: `GET`.
    GetObject,
    /// `put_object`: `PUT` (the body is not signed: `UNSIGNED-PAYLOAD`).
    PutObject,
    /// `head_object`: `HEAD`.
    HeadObject,
    /// `delete_object`: `DELETE`.
    DeleteObject,
}

impl PresignedOperation {
    /// The HTTP method of the request.
    #[must_use]
    pub fn http_method(self) -> &'static str {
        match self {
            PresignedOperation::GetObject => "GET",
            PresignedOperation::PutObject => "PUT",
            PresignedOperation::HeadObject => "HEAD",
            PresignedOperation::DeleteObject => "DELETE",
        }
    }

    fn name(self) -> &'static str {
        match self {
            PresignedOperation::GetObject => "GetObject",
            PresignedOperation::PutObject => "PutObject",
            PresignedOperation::HeadObject => "HeadObject",
            PresignedOperation::DeleteObject => "DeleteObject",
        }
    }
}

/// A presigned request: the method, the URL, and the headers the caller must send with it (the
/// signed ones besides `host`: SSE-C, `content-type`), as aws-sdk-s3's `PresignedRequest`. Debug
/// hides an SSE-C key.
#[derive(Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    /// `GET`, `PUT`, `HEAD` or `DELETE`.
    pub method: &'static str,
    /// The whole URL, signature included.
    pub url: String,
    /// Headers to send, as signed.
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for PresignedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let hidden = k.eq_ignore_ascii_case("x-amz-server-side-encryption-customer-key");
                (k.as_str(), if hidden { "<hidden>" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("PresignedRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .finish()
    }
}

/// Builder of a presigned request ([`Client::presign`]): bucket, key and expiry, and what S3 lets
/// a presigned URL carry besides (a version id; GetObject's `response-*` overrides; a PUT's
/// content type; SSE-C headers for GET, HEAD and PUT).
#[must_use]
#[derive(Debug, Clone)]
pub struct PresignBuilder {
    client: Client,
    operation: PresignedOperation,
    bucket: String,
    key: String,
    expires_in: Duration,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

/// The expiry of a presign when the builder is not given one: boto3's default, 3600 s.
pub const PRESIGNED_EXPIRES_DEFAULT: Duration = Duration::from_secs(3600);

impl PresignBuilder {
    /// Sets the bucket.
    pub fn bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = bucket.into();
        self
    }

    /// Sets the key.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// How long the URL lives: 1 s to 7 days, whole seconds (a fraction is dropped). Default 3600 s.
    pub fn expires_in(mut self, expires_in: Duration) -> Self {
        self.expires_in = expires_in;
        self
    }

    /// A version of the object (`versionId`; GetObject, HeadObject, DeleteObject).
    pub fn version_id(self, version_id: impl Into<String>) -> Self {
        self.query_param("versionId", version_id.into())
    }

    /// GetObject's `response-cache-control` override.
    pub fn response_cache_control(self, value: impl Into<String>) -> Self {
        self.query_param("response-cache-control", value.into())
    }

    /// GetObject's `response-content-disposition` override.
    pub fn response_content_disposition(self, value: impl Into<String>) -> Self {
        self.query_param("response-content-disposition", value.into())
    }

    /// GetObject's `response-content-encoding` override.
    pub fn response_content_encoding(self, value: impl Into<String>) -> Self {
        self.query_param("response-content-encoding", value.into())
    }

    /// GetObject's `response-content-language` override.
    pub fn response_content_language(self, value: impl Into<String>) -> Self {
        self.query_param("response-content-language", value.into())
    }

    /// GetObject's `response-content-type` override.
    pub fn response_content_type(self, value: impl Into<String>) -> Self {
        self.query_param("response-content-type", value.into())
    }

    /// GetObject's `response-expires` override.
    pub fn response_expires(self, value: impl Into<String>) -> Self {
        self.query_param("response-expires", value.into())
    }

    /// A PUT's `Content-Type`, signed: the caller must send exactly this header.
    pub fn content_type(mut self, value: impl Into<String>) -> Self {
        self.headers.push(("content-type".into(), value.into()));
        self
    }

    /// SSE-C with this 32-byte key (GET, HEAD, PUT): the three `x-amz-server-side-encryption-customer-*`
    /// headers are signed, and the caller must send them ([`PresignedRequest::headers`]), as S3 takes
    /// an SSE-C key only in headers.
    pub fn sse_customer_key(mut self, key: &[u8]) -> Self {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(key);
        let prefix = "x-amz-server-side-encryption-customer";
        self.headers.push((format!("{prefix}-algorithm"), SSE_CUSTOMER_ALGORITHM.into()));
        self.headers.push((format!("{prefix}-key"), b64));
        self.headers.push((format!("{prefix}-key-md5"), sse_customer_key_md5(key)));
        self
    }

    fn query_param(mut self, name: &str, value: String) -> Self {
        self.query.push((name.to_owned(), value));
        self
    }

    /// Signs the request.
    ///
    /// # Errors
    /// `MissingParameter` for no bucket or key, or for a client with no key to sign with (an
    /// anonymous client, or the owner's with no active key: boto3's `NoCredentialsError`);
    /// `AuthorizationQueryParametersError` for an expiry under 1 s or over 7 days (the code S3
    /// would answer such a URL with; aws-sdk-s3 refuses one over a week before signing too);
    /// `InvalidAccessKeyId` when the client's key was deactivated or deleted; `InvalidArgument`
    /// for an endpoint URL that is not `http(s)://host...`, or `response-*` overrides on another
    /// operation than GetObject and HeadObject.
    pub fn build(self) -> Result<PresignedRequest> {
        let operation = self.operation.name();
        let missing = |field| Error::MissingParameter { operation, field };
        if self.bucket.is_empty() {
            return Err(missing("bucket"));
        }
        if self.key.is_empty() {
            return Err(missing("key"));
        }
        let expires_secs = self.expires_in.as_secs();
        if !(1..=PRESIGNED_EXPIRES_MAX_SECS).contains(&expires_secs) {
            return Err(Error::AuthorizationQueryParametersError {
                reason: format!(
                    "X-Amz-Expires must be 1 to {PRESIGNED_EXPIRES_MAX_SECS} seconds (7 days); {} s asked",
                    self.expires_in.as_secs_f64()
                ),
            });
        }
        let reads = matches!(self.operation, PresignedOperation::GetObject | PresignedOperation::HeadObject);
        if !reads && self.query.iter().any(|(k, _)| k.starts_with("response-")) {
            return Err(Error::InvalidArgument {
                name: "response-*",
                value: operation.into(),
                reason: "response header overrides are for GetObject and HeadObject".into(),
            });
        }
        let credentials = self.client.signing_credentials()?.ok_or_else(|| missing("credentials"))?;
        let (base, host, prefix) = split_endpoint(self.client.endpoint_url())?;
        let path = format!(
            "{prefix}/{}/{}",
            sigv4::uri_encode(&self.bucket, true),
            sigv4::uri_encode(&self.key, false)
        );
        let mut headers = vec![("host".to_owned(), host)];
        headers.extend(self.headers.iter().cloned());
        let store = self.client.store();
        let signer = Signer {
            access_key_id: &credentials.access_key_id,
            secret_access_key: &credentials.secret_access_key,
            region: store.region(),
            time_secs: store.now_ms() / 1000,
        };
        let method = self.operation.http_method();
        let request = Request { method, path: &path, query: &self.query, headers: &headers };
        let query = signer.presign_query(&request, expires_secs);
        Ok(PresignedRequest { method, url: format!("{base}{path}?{query}"), headers: self.headers })
    }
}

/// `scheme://authority`, the `host` header (a default port dropped, as SDKs send it) and the
/// path prefix of an endpoint URL.
fn split_endpoint(endpoint: &str) -> Result<(String, String, String)> {
    let invalid = || Error::InvalidArgument {
        name: "endpoint_url",
        value: endpoint.into(),
        reason: "an endpoint is http://host[:port][/prefix] or https://...".into(),
    };
    let (scheme, rest) = endpoint.split_once("://").ok_or_else(invalid)?;
    if scheme != "http" && scheme != "https" {
        return Err(invalid());
    }
    let (authority, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains(['?', '#', '@']) {
        return Err(invalid());
    }
    let default_port = if scheme == "http" { ":80" } else { ":443" };
    let host = authority.strip_suffix(default_port).unwrap_or(authority).to_owned();
    Ok((format!("{scheme}://{authority}"), host, prefix.to_owned()))
}

impl Client {
    /// A presigned URL for `operation` on `bucket`/`key`, living `expires_in` (1 s to 7 days), as
    /// boto3's `generate_presigned_url(ClientMethod, Params={'Bucket', 'Key'}, ExpiresIn)`. Signed
    /// with the client's key (the owner's client: the owner's first active key) on the store's
    /// clock, for the store's region, pointing at [`Client::endpoint_url`]. For a version id,
    /// `response-*` overrides or SSE-C, use [`Client::presign`].
    ///
    /// # Errors
    /// As [`PresignBuilder::build`].
    pub fn generate_presigned_url(
        &self,
        operation: PresignedOperation,
        bucket: &str,
        key: &str,
        expires_in: Duration,
    ) -> Result<String> {
        self.presign(operation).bucket(bucket).key(key).expires_in(expires_in).build().map(|p| p.url)
    }

    /// Starts a presigned request for `operation` (expiry 3600 s unless set).
    pub fn presign(&self, operation: PresignedOperation) -> PresignBuilder {
        PresignBuilder {
            client: self.clone(),
            operation,
            bucket: String::new(),
            key: String::new(),
            expires_in: PRESIGNED_EXPIRES_DEFAULT,
            query: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// The key this client signs with: its own (checked again: deactivated or deleted is
    /// `InvalidAccessKeyId`), or for a client without one acting as an account, that account's
    /// first active key; `None` when there is none (anonymous).
    fn signing_credentials(&self) -> Result<Option<Credentials>> {
        if let Some(credentials) = self.credentials() {
            self.check_credentials()?;
            return Ok(Some(credentials.clone()));
        }
        Ok(self.caller().and_then(|caller| self.store().first_active_key(caller)))
    }
}

impl Store {
    /// Now by the store's clock ([`crate::StoreBuilder::clock`]), in ms since the Unix epoch: what
    /// presigned URLs are dated and judged by (an HTTP host judging them needs it too).
    #[must_use]
    pub fn clock_now_ms(&self) -> u64 {
        self.now_ms()
    }

    /// Judges a presigned URL as S3 would, on this store's clock and keys, and gives the account
    /// it acts as. `url` is a whole URL or a path and query (`/bucket/key?X-Amz-...`); `headers`
    /// are the request's (the signed ones among them; `host` defaults to the URL's authority).
    /// A harness serving presigned URLs without HTTP runs the operation as the account after this.
    ///
    /// # Errors
    /// - `AuthorizationQueryParametersError` (400): a missing or repeated `X-Amz-*` parameter, an
    ///   algorithm other than `AWS4-HMAC-SHA256`, a malformed credential or date, a credential
    ///   scope naming another region than the store's, `X-Amz-Expires` negative or over 604800;
    /// - `InvalidAccessKeyId` (403): a key the store does not have, or has deleted or deactivated;
    /// - `SignatureDoesNotMatch` (403): the signature is not the key's over this method, path,
    ///   query and signed headers (any of them changed, or another secret signed);
    /// - `AccessDenied` (403) "Request has expired": the store's clock is past `X-Amz-Date` +
    ///   `X-Amz-Expires` (or `X-Amz-Expires` is 0); "Request is not valid yet": `X-Amz-Date` is
    ///   more than 15 minutes ahead of the store's clock.
    pub fn verify_presigned(&self, method: &str, url: &str, headers: &[(&str, &str)]) -> Result<Account> {
        let (authority, path_and_query) = match url.split_once("://") {
            Some((_, rest)) => match rest.find('/') {
                Some(i) => (Some(&rest[..i]), &rest[i..]),
                None => (Some(rest), "/"),
            },
            None => (None, url),
        };
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let mut headers: Vec<(String, String)> =
            headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        if let Some(host) = authority
            && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host"))
        {
            headers.push(("host".into(), host.to_owned()));
        }
        self.verify_presigned_parts(method, path, query, &headers)
    }

    /// [`Store::verify_presigned`] on a request's parts: the method, the path as sent, the raw
    /// query string and the headers (what an HTTP host has).
    ///
    /// # Errors
    /// As [`Store::verify_presigned`].
    pub fn verify_presigned_parts(
        &self,
        method: &str,
        raw_path: &str,
        raw_query: &str,
        headers: &[(String, String)],
    ) -> Result<Account> {
        let query = sigv4::parse_query(raw_query);
        let params = sigv4::parse_presigned(&query).map_err(|e| match e {
            QueryError::Malformed(reason) => Error::AuthorizationQueryParametersError { reason },
            QueryError::Expired => expired(),
        })?;
        if params.region != self.region() {
            return Err(Error::AuthorizationQueryParametersError {
                reason: format!(
                    "Error parsing the X-Amz-Credential parameter; the region '{}' is wrong; expecting '{}'",
                    params.region,
                    self.region()
                ),
            });
        }
        let unknown = || Error::InvalidAccessKeyId { access_key_id: params.access_key_id.clone() };
        let (secret, account) = self.access_key_secret(&params.access_key_id).ok_or_else(unknown)?;
        if !sigv4::presigned_signature_matches(&params, &secret, method, raw_path, &query, headers) {
            return Err(Error::SignatureDoesNotMatch { access_key_id: params.access_key_id.clone() });
        }
        let now_secs = self.now_ms() / 1000;
        if params.time_secs > now_secs + PRESIGNED_CLOCK_SKEW_MAX_SECS {
            return Err(Error::AccessDenied { reason: "Request is not valid yet".into() });
        }
        if now_secs > params.time_secs + params.expires_secs {
            return Err(expired());
        }
        Ok(account)
    }
}

fn expired() -> Error {
    Error::AccessDenied { reason: "Request has expired".into() }
}
