//! Authentication (the store's access keys) and the request checks `s3s` 0.14.1 leaves to a host:
//! the credential scope's region, the presigned expiry cap, SigV2.

use s3lite::Store;
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
            None => Err(S3Error::with_message(
                S3ErrorCode::InvalidAccessKeyId,
                format!("The AWS access key Id you provided does not exist in our records: {access_key}"),
            )),
        }
    }
}

/// [`S3Access`] for a store: every request, signed or not, gets through to the store's own
/// principal checks (an unsigned one as the anonymous principal), after the host's checks: the
/// credential scope names the store's region, a presigned URL lives at most 7 days, and SigV2
/// is refused.
#[derive(Debug, Clone)]
pub struct StoreAccess {
    region: String,
}

impl StoreAccess {
    /// Checks for a store in `region`.
    #[must_use]
    pub fn new(region: &str) -> StoreAccess {
        StoreAccess { region: region.to_owned() }
    }

    /// The checks, on a request's headers and query (also used by tests).
    ///
    /// # Errors
    /// `InvalidRequest` for SigV2; `AuthorizationHeaderMalformed` for a header credential scope
    /// naming another region; `AuthorizationQueryParametersError` for a presigned URL naming
    /// another region or living longer than 7 days.
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
                "X-Amz-Expires" => match v.parse::<u64>() {
                    Ok(secs) if (1..=PRESIGNED_EXPIRES_MAX_SECS).contains(&secs) => {}
                    Ok(0) => {
                        return Err(query_error("X-Amz-Expires must be non-negative".into()));
                    }
                    Ok(_) => {
                        return Err(query_error(format!(
                            "X-Amz-Expires must be less than a week (in seconds) that is {PRESIGNED_EXPIRES_MAX_SECS}"
                        )));
                    }
                    Err(_) => {
                        return Err(query_error("X-Amz-Expires should be a number".into()));
                    }
                },
                _ => {}
            }
        }
        Ok(())
    }
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
        let v2 = "AWSAccessKeyId=AK&Expires=1&Signature=x";
        assert_eq!(*a.check_request(&empty, Some(v2)).unwrap_err().code(), S3ErrorCode::InvalidRequest);
    }
}
