//! Authentication (the store's access keys) and the request checks `s3s` 0.14.1 leaves to a host:
//! the credential scope's region, the presigned expiry cap and expiry on the store's clock, SigV2;
//! and the host's own judgement of presigned URLs on the store's clock ([`admit_presigned`]).
//!
//! Why the host judges presigned URLs itself: s3s 0.14.1 checks a presigned URL's expiry against
//! the system clock (`now - X-Amz-Date > X-Amz-Expires` is `AccessDenied`, a date more than 15
//! minutes ahead `RequestTimeTooSkewed`), before any hook a host has, and a store may run on
//! another clock (a `ManualClock` in a test). So [`crate::Host`], given the store, verifies the
//! URL first as [`Store::verify_presigned_parts`] does (keys, signature, expiry on the store's
//! clock, S3's codes), and hands s3s the same request signed again by the same key at the
//! system's now, which s3s then verifies as usual.

use std::time::{SystemTime, UNIX_EPOCH};

use s3lite::Store;
use s3lite::sigv4::{self, Request, Signer};
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::{S3Error, S3ErrorCode, S3Result};

/// The longest a presigned URL may live, as S3 allows: 7 days.
pub const PRESIGNED_EXPIRES_MAX_SECS: u64 = 604_800;

/// [`S3Auth`] over a store's access keys: the secret that verifies a SigV4 signature is the one
/// the store keeps for the key ([`Store::access_key_secret`]).
#[derive(Debug, Clone)]
pub struct StoreAuth {
    store: Store,
}

impl StoreAuth {
    /// Authentication against `store`'s keys.
    #[must_use]
    pub fn new(store: Store) -> StoreAuth {
        StoreAuth { store }
    }
}

#[async_trait::async_trait]
impl S3Auth for StoreAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.store.access_key_secret(access_key) {
            Some((secret, _)) => Ok(SecretKey::from(secret)),
            // S3's answer to a key it does not have, has deleted, or has deactivated.
            None => Err(S3Error::with_message(S3ErrorCode::InvalidAccessKeyId, INVALID_ACCESS_KEY_ID)),
        }
    }
}

/// S3's message for `InvalidAccessKeyId`.
const INVALID_ACCESS_KEY_ID: &str = "The AWS Access Key Id you provided does not exist in our records.";

/// [`S3Access`] for a store: every request, signed or not, gets through to the store's own
/// principal checks (an unsigned one as the anonymous principal), after the host's checks: the
/// credential scope names the store's region, a presigned URL lives at most 7 days and has not
/// expired by the store's clock, and SigV2 is refused.
#[derive(Debug, Clone)]
pub struct StoreAccess {
    region: String,
    /// The store whose clock judges presigned expiry (none: s3s's system-clock check only).
    store: Option<Store>,
}

/// In a request's extensions: [`crate::Host`] has judged its presigned URL on the store's clock
/// and re-signed it at the system's now, so [`StoreAccess`] does not judge its date again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PresignedAdmitted;

impl StoreAccess {
    /// Checks for a store in `region` (no expiry judged on a store's clock).
    #[must_use]
    pub fn new(region: &str) -> StoreAccess {
        StoreAccess { region: region.to_owned(), store: None }
    }

    /// Checks for `store`: its region, and presigned expiry on its clock too.
    #[must_use]
    pub fn for_store(store: &Store) -> StoreAccess {
        StoreAccess { region: store.region().to_owned(), store: Some(store.clone()) }
    }

    /// The checks, on a request's headers and query (also used by tests).
    ///
    /// # Errors
    /// `InvalidRequest` for SigV2; `AuthorizationHeaderMalformed` for a header credential scope
    /// naming another region; `AuthorizationQueryParametersError` for a presigned URL naming
    /// another region or living longer than 7 days; `AccessDenied` "Request has expired" for one
    /// whose `X-Amz-Date` + `X-Amz-Expires` is past by the store's clock (or `X-Amz-Expires=0`),
    /// "Request is not valid yet" for one dated more than 15 minutes ahead of it.
    pub fn check_request(&self, headers: &http::HeaderMap, query: Option<&str>) -> S3Result<()> {
        let sigv2 = S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
        );
        if let Some(auth) = headers.get(http::header::AUTHORIZATION) {
            let auth = auth.to_str().unwrap_or_default();
            if auth.starts_with("AWS ") {
                return Err(sigv2);
            }
            if let Some(scope) = auth.split("Credential=").nth(1) {
                let scope = scope.split([',', ' ']).next().unwrap_or_default();
                if let Some(region) = scope.split('/').nth(2)
                    && region != self.region
                {
                    return Err(S3Error::with_message(
                        S3ErrorCode::AuthorizationHeaderMalformed,
                        format!(
                            "The authorization header is malformed; the region '{region}' is wrong; expecting '{}'",
                            self.region
                        ),
                    ));
                }
            }
        }
        let Some(query) = query else { return Ok(()) };
        let params = form_pairs(query);
        if params.iter().any(|(k, _)| k == "AWSAccessKeyId" || k == "Signature") {
            return Err(sigv2);
        }
        let query_error =
            |msg: String| S3Error::with_message(S3ErrorCode::AuthorizationQueryParametersError, msg);
        for (k, v) in &params {
            match k.as_str() {
                "X-Amz-Credential" => {
                    if let Some(region) = v.split('/').nth(2)
                        && region != self.region
                    {
                        return Err(query_error(format!(
                            "Error parsing the X-Amz-Credential parameter; the region '{region}' is wrong; expecting '{}'",
                            self.region
                        )));
                    }
                }
                "X-Amz-Expires" => match v.parse::<i64>() {
                    Ok(secs) if (1..=PRESIGNED_EXPIRES_MAX_SECS as i64).contains(&secs) => {}
                    Ok(0) => return Err(expired()),
                    Ok(secs) if secs < 0 => {
                        return Err(query_error("X-Amz-Expires must be non-negative".into()));
                    }
                    Ok(_) => {
                        return Err(query_error(
                            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds".into(),
                        ));
                    }
                    Err(_) => {
                        return Err(query_error("X-Amz-Expires should be a number".into()));
                    }
                },
                _ => {}
            }
        }
        if let Some(store) = &self.store {
            check_presigned_time(store, &params)?;
        }
        Ok(())
    }
}

fn expired() -> S3Error {
    S3Error::with_message(S3ErrorCode::AccessDenied, "Request has expired")
}

/// A presigned URL's date and expiry against the store's clock (nothing for other requests).
fn check_presigned_time(store: &Store, params: &[(String, String)]) -> S3Result<()> {
    let value = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let (Some(date), Some(expires)) = (value("X-Amz-Date"), value("X-Amz-Expires")) else { return Ok(()) };
    let (Some(date), Ok(expires)) = (sigv4::parse_amz_date(date), expires.parse::<u64>()) else {
        return Ok(());
    };
    let now = store.clock_now_ms() / 1000;
    if date > now + sigv4::PRESIGNED_CLOCK_SKEW_MAX_SECS {
        return Err(S3Error::with_message(S3ErrorCode::AccessDenied, "Request is not valid yet"));
    }
    if now > date + expires {
        return Err(expired());
    }
    Ok(())
}

/// Judges a request's SigV4 presigned URL as [`Store::verify_presigned_parts`] does (on the
/// store's clock and keys), and on success re-signs it with the same key at the system's now so
/// that s3s 0.14.1, which judges expiry by the system clock, takes it as the valid URL it is; the
/// request is marked ([`PresignedAdmitted`]). Requests without query auth pass unchanged.
///
/// # Errors
/// The refusal as an HTTP status, S3 code and S3's message: `AuthorizationQueryParametersError`
/// (400), `InvalidAccessKeyId`, `SignatureDoesNotMatch`, `AccessDenied` (403); `InvalidArgument`
/// (400) for a request that also has an `Authorization` header.
pub(crate) fn admit_presigned(
    store: &Store,
    req: &mut s3s::HttpRequest,
) -> Result<(), (http::StatusCode, &'static str, String)> {
    let Some(query) = req.uri().query() else { return Ok(()) };
    let pairs = sigv4::parse_query(query);
    if !pairs.iter().any(|(k, _)| k == "X-Amz-Signature") {
        return Ok(()); // unsigned, or SigV2 (refused by StoreAccess)
    }
    if req.headers().contains_key(http::header::AUTHORIZATION) {
        return Err((
            http::StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified".into(),
        ));
    }
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    store.verify_presigned_parts(&method, &path, query, &headers).map_err(|e| refusal(&e))?;
    let params = sigv4::parse_presigned(&pairs).map_err(|_| internal("a verified URL parses"))?;
    let (secret, _) =
        store.access_key_secret(&params.access_key_id).ok_or_else(|| internal("verified key"))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let signer = Signer {
        access_key_id: &params.access_key_id,
        secret_access_key: &secret,
        region: &params.region,
        time_secs: now,
    };
    // Everything but the six query-auth parameters stays as signed (`x-id`, `versionId`, an
    // `X-Amz-Content-Sha256` some SDKs sign into the query).
    const AUTH: [&str; 6] = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
    ];
    let kept: Vec<(String, String)> =
        pairs.into_iter().filter(|(k, _)| !AUTH.contains(&k.as_str())).collect();
    let signed: Vec<(String, String)> = params
        .signed_headers
        .iter()
        .map(|name| {
            let values: Vec<&str> = headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect();
            (name.clone(), values.join(","))
        })
        .collect();
    let request = Request { method: &method, path: &path, query: &kept, headers: &signed };
    let resigned = signer.presign_query(&request, params.expires_secs);
    let uri =
        format!("{path}?{resigned}").parse::<http::Uri>().map_err(|_| internal("a re-signed URI parses"))?;
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = uri.into_parts().path_and_query;
    *req.uri_mut() = http::Uri::from_parts(parts).map_err(|_| internal("a re-signed URI builds"))?;
    req.extensions_mut().insert(PresignedAdmitted);
    Ok(())
}

fn internal(what: &str) -> (http::StatusCode, &'static str, String) {
    (http::StatusCode::INTERNAL_SERVER_ERROR, "InternalError", format!("presigned URL handling: {what}"))
}

/// S3's status, code and message for a refused presigned URL.
fn refusal(err: &s3lite::Error) -> (http::StatusCode, &'static str, String) {
    let message = match err {
        s3lite::Error::InvalidAccessKeyId { .. } => INVALID_ACCESS_KEY_ID.to_owned(),
        s3lite::Error::SignatureDoesNotMatch { .. } => "The request signature we calculated does not match the signature you provided. Check your key and signing method.".to_owned(),
        s3lite::Error::AccessDenied { reason } | s3lite::Error::AuthorizationQueryParametersError { reason } => reason.clone(),
        other => other.message(),
    };
    let status = http::StatusCode::from_u16(err.http_status()).unwrap_or(http::StatusCode::FORBIDDEN);
    (status, err.code(), message)
}

/// `application/x-www-form-urlencoded` pairs of a query string, percent-decoded (invalid UTF-8
/// is replaced; these are checks, not the values s3s verifies).
fn form_pairs(query: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        percent_encoding::percent_decode_str(&s).decode_utf8_lossy().into_owned()
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

#[async_trait::async_trait]
impl S3Access for StoreAccess {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        if cx.extensions_mut().get::<PresignedAdmitted>().is_some() {
            // Judged by the host on the store's clock; the date it carries now is the system's.
            return StoreAccess { store: None, ..self.clone() }.check_request(cx.headers(), cx.uri().query());
        }
        self.check_request(cx.headers(), cx.uri().query())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, auth.parse().unwrap());
        h
    }

    #[test]
    fn region_expiry_and_sigv2() {
        let a = StoreAccess::new("eu-west-1");
        let ok = "AWS4-HMAC-SHA256 Credential=AK/20250101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=00";
        assert!(a.check_request(&headers(ok), None).is_ok());
        let bad = ok.replace("eu-west-1", "us-east-1");
        let err = a.check_request(&headers(&bad), None).unwrap_err();
        assert_eq!(*err.code(), S3ErrorCode::AuthorizationHeaderMalformed);
        let err = a.check_request(&headers("AWS AK:sig"), None).unwrap_err();
        assert_eq!(*err.code(), S3ErrorCode::InvalidRequest);
        let empty = http::HeaderMap::new();
        let q = "X-Amz-Credential=AK%2F20250101%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Expires=604800";
        assert!(a.check_request(&empty, Some(q)).is_ok());
        let long = q.replace("604800", "604801");
        let err = a.check_request(&empty, Some(&long)).unwrap_err();
        assert_eq!(*err.code(), S3ErrorCode::AuthorizationQueryParametersError);
        let other = q.replace("eu-west-1", "us-west-2");
        let err = a.check_request(&empty, Some(&other)).unwrap_err();
        assert_eq!(*err.code(), S3ErrorCode::AuthorizationQueryParametersError);
        let zero = q.replace("604800", "0");
        assert_eq!(*a.check_request(&empty, Some(&zero)).unwrap_err().code(), S3ErrorCode::AccessDenied);
        let negative = q.replace("604800", "-1");
        let err = a.check_request(&empty, Some(&negative)).unwrap_err();
        assert_eq!(*err.code(), S3ErrorCode::AuthorizationQueryParametersError);
        let v2 = "AWSAccessKeyId=AK&Expires=1&Signature=x";
        assert_eq!(*a.check_request(&empty, Some(v2)).unwrap_err().code(), S3ErrorCode::InvalidRequest);
    }

    #[test]
    fn presigned_expiry_is_judged_on_the_store_clock() {
        let clock = std::sync::Arc::new(s3lite::ManualClock::new(1_700_000_000_000));
        let store = Store::in_memory_builder().clock(clock.clone()).open().unwrap();
        let a = StoreAccess::for_store(&store);
        let empty = http::HeaderMap::new();
        let q = "X-Amz-Credential=AK%2F20231114%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20231114T221320Z&X-Amz-Expires=60";
        assert!(a.check_request(&empty, Some(q)).is_ok());
        clock.advance_ms(60_000);
        assert!(a.check_request(&empty, Some(q)).is_ok());
        clock.advance_ms(1_000);
        let err = a.check_request(&empty, Some(q)).unwrap_err();
        assert_eq!((err.code(), err.message()), (&S3ErrorCode::AccessDenied, Some("Request has expired")));
        clock.set_ms(1_700_000_000_000 - 901_000);
        let err = a.check_request(&empty, Some(q)).unwrap_err();
        assert_eq!(err.message(), Some("Request is not valid yet"));
        // A host without the store judges nothing by a clock.
        assert!(StoreAccess::new("us-east-1").check_request(&empty, Some(q)).is_ok());
    }
}
