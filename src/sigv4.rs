//! AWS Signature Version 4 for S3, as botocore and aws-sdk-s3 compute it: the canonical request,
//! the string to sign, the derived signing key and the signature, in the header form
//! (`Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`) and the
//! query form of a presigned URL (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
//! `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`, payload `UNSIGNED-PAYLOAD`).
//!
//! Pure code over strings: no clock, no store. [`crate::Client::generate_presigned_url`] signs with
//! it on the store's clock and [`crate::Store::verify_presigned`] checks with it; the known-answer
//! vectors in `tests/data/sigv4/vectors.json` were computed with botocore
//! (`tests/sigv4_vectors.rs`).
//!
//! S3's encoding rules: a path keeps `/` and encodes every byte but `A-Z a-z 0-9 - _ . ~` as `%XX`
//! (upper-case hex), once (S3 does not double-encode as other services do, and does not normalize
//! `.`, `..` or `//`); query names and values encode `/` too; a space is `%20`, never `+`.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The only algorithm S3 accepts for SigV4.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The payload hash of a presigned request (its body is not signed).
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The service name in S3's credential scope.
pub const SERVICE: &str = "s3";
/// The longest a presigned URL may live, as S3 allows: 7 days (`X-Amz-Expires` ≤ 604800).
pub const PRESIGNED_EXPIRES_MAX_SECS: u64 = 604_800;
/// How far in the future of the verifier's clock a presigned URL's `X-Amz-Date` may be: S3's
/// request-time skew allowance, 15 minutes.
pub const PRESIGNED_CLOCK_SKEW_MAX_SECS: u64 = 900;

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex SHA-256 of `data` (a payload hash, the hash of a canonical request).
#[must_use]
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// S3's URI encoding: every byte but `A-Z a-z 0-9 - _ . ~` (and `/` unless `encode_slash`) as
/// `%XX`, upper-case hex.
#[must_use]
pub fn uri_encode(input: &str, encode_slash: bool) -> String {
    uri_encode_bytes(input.as_bytes(), encode_slash)
}

fn uri_encode_bytes(input: &[u8], encode_slash: bool) -> String {
    let mut out = String::with_capacity(input.len());
    for &b in input {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(b)),
            b'/' if !encode_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn percent_decode(input: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(input).collect()
}

/// The canonical URI of a request path as sent (`/bucket/my%20key`): decoded once and encoded
/// again by S3's rules, so a client's choice of escapes for unreserved bytes does not matter.
#[must_use]
pub fn canonical_uri(raw_path: &str) -> String {
    if raw_path.is_empty() {
        return "/".into();
    }
    uri_encode_bytes(&percent_decode(raw_path), false)
}

/// A query string's pairs, decoded as S3 decodes them (`+` is a space, `%XX` a byte; invalid
/// UTF-8 is replaced). A name without `=` has the empty value.
#[must_use]
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    let decode = |s: &str| String::from_utf8_lossy(&percent_decode(&s.replace('+', " "))).into_owned();
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// The canonical query string: every pair but `X-Amz-Signature`, names and values encoded (`/`
/// too), sorted by name then value, joined with `&`. Also what a presigned URL carries.
#[must_use]
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "X-Amz-Signature")
        .map(|(k, v)| (uri_encode(k, true), uri_encode(v, true)))
        .collect();
    encoded.sort();
    encoded.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// The canonical headers block and the signed-headers list of `headers` (names lower-cased and
/// sorted, values trimmed with inner runs of whitespace made one space, repeated names joined
/// with `,`).
fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut sorted: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.split_whitespace().collect::<Vec<_>>().join(" ")))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut block = String::new();
    let mut names: Vec<&str> = Vec::new();
    for (i, (name, value)) in sorted.iter().enumerate() {
        if i > 0 && sorted[i - 1].0 == *name {
            block.pop(); // the newline: a repeated header joins the previous line
            block.push(',');
        } else {
            block.push_str(name);
            block.push(':');
            names.push(name);
        }
        block.push_str(value);
        block.push('\n');
    }
    (block, names.join(";"))
}

/// `YYYYMMDD'T'HHMMSS'Z'` for a time in seconds since the Unix epoch (UTC).
#[must_use]
pub fn amz_date(unix_secs: u64) -> String {
    let days = unix_secs / 86_400;
    let rem = unix_secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The seconds since the Unix epoch of an `X-Amz-Date` value; `None` if it is not one.
#[must_use]
pub fn parse_amz_date(value: &str) -> Option<u64> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let s = value.get(r)?;
        s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) {
        return None;
    }
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let days = days_from_civil(y as i64, mo as u32, d as u32);
    Some(days as u64 * 86_400 + h * 3600 + mi * 60 + s)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// What signs: a key, a region and a time. Debug hides the secret.
#[derive(Clone)]
pub struct Signer<'a> {
    /// The access key id (first field of the credential scope).
    pub access_key_id: &'a str,
    /// The secret the signing key derives from.
    pub secret_access_key: &'a str,
    /// The region of the credential scope.
    pub region: &'a str,
    /// The request time, seconds since the Unix epoch (`X-Amz-Date`).
    pub time_secs: u64,
}

impl std::fmt::Debug for Signer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<hidden>")
            .field("region", &self.region)
            .field("time_secs", &self.time_secs)
            .finish()
    }
}

/// One request as the signer sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `GET`, `PUT`, ...
    pub method: &'a str,
    /// The path as sent (already URI-encoded: `/bucket/my%20key`).
    pub path: &'a str,
    /// The query's decoded pairs (without the signature).
    pub query: &'a [(String, String)],
    /// The headers to sign (`host` among them), names in any case.
    pub headers: &'a [(String, String)],
}

impl Signer<'_> {
    /// `X-Amz-Date`.
    #[must_use]
    pub fn amz_date(&self) -> String {
        amz_date(self.time_secs)
    }

    /// The credential scope: `20261206/us-east-1/s3/aws4_request`.
    #[must_use]
    pub fn scope(&self) -> String {
        format!("{}/{}/{SERVICE}/aws4_request", &self.amz_date()[..8], self.region)
    }

    /// The hex signature of `request` with `payload_hash` (`UNSIGNED-PAYLOAD` when presigned).
    #[must_use]
    pub fn signature(&self, request: &Request<'_>, payload_hash: &str) -> String {
        let canonical = canonical_request(request, &canonical_uri(request.path), payload_hash);
        self.sign_canonical(&canonical)
    }

    fn sign_canonical(&self, canonical_request: &str) -> String {
        let date = self.amz_date();
        let string_to_sign =
            format!("{ALGORITHM}\n{date}\n{}\n{}", self.scope(), sha256_hex(canonical_request.as_bytes()));
        let k_date = hmac(format!("AWS4{}", self.secret_access_key).as_bytes(), &date.as_bytes()[..8]);
        let k_region = hmac(&k_date, self.region.as_bytes());
        let k_service = hmac(&k_region, SERVICE.as_bytes());
        let k_signing = hmac(&k_service, b"aws4_request");
        hex(&hmac(&k_signing, string_to_sign.as_bytes()))
    }

    /// The `Authorization` header of a header-signed request. Its headers must already hold
    /// what is signed: `host`, `x-amz-date` (= [`Signer::amz_date`]) and `x-amz-content-sha256`
    /// (= `payload_hash`) as S3 requires.
    #[must_use]
    pub fn authorization(&self, request: &Request<'_>, payload_hash: &str) -> String {
        let (_, signed) = canonical_headers(request.headers);
        format!(
            "{ALGORITHM} Credential={}/{}, SignedHeaders={signed}, Signature={}",
            self.access_key_id,
            self.scope(),
            self.signature(request, payload_hash)
        )
    }

    /// The query string of a presigned URL for `request` (its own query plus the `X-Amz-*`
    /// parameters, canonical order, then `X-Amz-Signature`), living `expires_secs`. The headers of
    /// `request` are the signed ones (`host` at least); a caller of the URL must send the others.
    #[must_use]
    pub fn presign_query(&self, request: &Request<'_>, expires_secs: u64) -> String {
        let (_, signed) = canonical_headers(request.headers);
        let mut pairs = request.query.to_vec();
        pairs.extend([
            ("X-Amz-Algorithm".to_owned(), ALGORITHM.to_owned()),
            ("X-Amz-Credential".to_owned(), format!("{}/{}", self.access_key_id, self.scope())),
            ("X-Amz-Date".to_owned(), self.amz_date()),
            ("X-Amz-Expires".to_owned(), expires_secs.to_string()),
            ("X-Amz-SignedHeaders".to_owned(), signed),
        ]);
        let request = Request { query: &pairs, ..*request };
        let signature = self.signature(&request, UNSIGNED_PAYLOAD);
        format!("{}&X-Amz-Signature={signature}", canonical_query(&pairs))
    }
}

/// The canonical request: method, canonical URI, canonical query, headers, signed headers, payload.
fn canonical_request(request: &Request<'_>, canonical_uri: &str, payload_hash: &str) -> String {
    let (block, signed) = canonical_headers(request.headers);
    format!(
        "{}\n{canonical_uri}\n{}\n{block}\n{signed}\n{payload_hash}",
        request.method,
        canonical_query(request.query)
    )
}

/// The `X-Amz-*` parameters of a presigned URL, parsed and range-checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedParams {
    /// The access key id of `X-Amz-Credential`.
    pub access_key_id: String,
    /// The region of the credential scope.
    pub region: String,
    /// `X-Amz-Date`, seconds since the Unix epoch.
    pub time_secs: u64,
    /// `X-Amz-Expires`.
    pub expires_secs: u64,
    /// `X-Amz-SignedHeaders`, lower-case.
    pub signed_headers: Vec<String>,
    /// `X-Amz-Signature`.
    pub signature: String,
}

/// Why a presigned URL's parameters were refused: S3's code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// `AuthorizationQueryParametersError` (400) with S3's message.
    Malformed(String),
    /// `AccessDenied` "Request has expired" (403): `X-Amz-Expires=0`.
    Expired,
}

/// True when a query carries SigV4 query authentication (an `X-Amz-Signature` or
/// `X-Amz-Algorithm` parameter).
#[must_use]
pub fn is_presigned(pairs: &[(String, String)]) -> bool {
    pairs.iter().any(|(k, _)| k == "X-Amz-Signature" || k == "X-Amz-Algorithm")
}

/// Parses and range-checks the `X-Amz-*` parameters of a presigned URL, with S3's messages: each
/// parameter once, the algorithm `AWS4-HMAC-SHA256`, a credential `AK/YYYYMMDD/region/s3/aws4_request`
/// whose date is `X-Amz-Date`'s, `X-Amz-Expires` a number of seconds up to 7 days (0 is
/// [`QueryError::Expired`]), `host` among the signed headers.
///
/// # Errors
/// [`QueryError`].
pub fn parse_presigned(pairs: &[(String, String)]) -> Result<PresignedParams, QueryError> {
    let malformed = |m: &str| QueryError::Malformed(m.to_owned());
    let missing = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, \
                   X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.";
    let one = |name: &str| -> Result<&str, QueryError> {
        let mut values = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (Some(v), None) => Ok(v),
            _ => Err(malformed(missing)),
        }
    };
    if one("X-Amz-Algorithm")? != ALGORITHM {
        return Err(malformed("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""));
    }
    let credential = one("X-Amz-Credential")?;
    let date = one("X-Amz-Date")?;
    let expires = one("X-Amz-Expires")?;
    let signed = one("X-Amz-SignedHeaders")?;
    let signature = one("X-Amz-Signature")?;
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, scope_date, region, service, terminator] = parts[..] else {
        return Err(malformed(&format!(
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\". ({credential})"
        )));
    };
    if access_key_id.is_empty() || service != SERVICE || terminator != "aws4_request" {
        return Err(malformed(&format!(
            "Error parsing the X-Amz-Credential parameter; incorrect service or terminator in {credential:?}; expecting \"s3\" and \"aws4_request\""
        )));
    }
    let time_secs = parse_amz_date(date)
        .ok_or_else(|| malformed("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""))?;
    if !date.starts_with(scope_date) || scope_date.len() != 8 {
        return Err(malformed("Invalid credential date. Date is not the same as X-Amz-Date."));
    }
    let expires_secs = match expires.parse::<i64>() {
        Err(_) => return Err(malformed("X-Amz-Expires should be a number")),
        Ok(n) if n < 0 => return Err(malformed("X-Amz-Expires must be non-negative")),
        Ok(0) => return Err(QueryError::Expired),
        Ok(n) if n as u64 > PRESIGNED_EXPIRES_MAX_SECS => {
            return Err(malformed(
                "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
            ));
        }
        Ok(n) => n as u64,
    };
    let signed_headers: Vec<String> = signed.split(';').map(str::to_ascii_lowercase).collect();
    if !signed_headers.iter().any(|h| h == "host") {
        return Err(malformed("X-Amz-SignedHeaders must contain \"host\""));
    }
    Ok(PresignedParams {
        access_key_id: access_key_id.to_owned(),
        region: region.to_owned(),
        time_secs,
        expires_secs,
        signed_headers,
        signature: signature.to_owned(),
    })
}

/// Whether `params.signature` is the signature of the request (method, raw path, query pairs,
/// headers) under `secret_access_key`. The signed headers are looked up in `headers` by name,
/// case-insensitively (a missing one signs as empty, so fails). The path is tried canonicalized
/// and, if it has escapes S3 would not make, as sent. Compared in constant time.
#[must_use]
pub fn presigned_signature_matches(
    params: &PresignedParams,
    secret_access_key: &str,
    method: &str,
    raw_path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
) -> bool {
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
    let signer = Signer {
        access_key_id: &params.access_key_id,
        secret_access_key,
        region: &params.region,
        time_secs: params.time_secs,
    };
    let request = Request { method, path: raw_path, query, headers: &signed };
    let canonical = canonical_uri(raw_path);
    let mut uris = vec![canonical.clone()];
    if canonical != raw_path && !raw_path.is_empty() {
        uris.push(raw_path.to_owned());
    }
    uris.iter().any(|uri| {
        let expected = signer.sign_canonical(&canonical_request(&request, uri, UNSIGNED_PAYLOAD));
        constant_time_eq(expected.as_bytes(), params.signature.as_bytes())
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_700_000_000), "20231114T221320Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
        for t in [0, 1_700_000_000, 951_782_400, 4_102_444_799, 1_798_000_000] {
            assert_eq!(parse_amz_date(&amz_date(t)), Some(t));
        }
        for bad in ["20230230T000000Z", "2023111T221320Z", "20231114T241320Z", "20231114 221320Z", "x"] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn encoding_follows_s3() {
        assert_eq!(uri_encode("a b+c~d/e", false), "a%20b%2Bc~d/e");
        assert_eq!(uri_encode("a/b", true), "a%2Fb");
        assert_eq!(uri_encode("é", false), "%C3%A9");
        assert_eq!(canonical_uri("/b/%7e%41 x"), "/b/~A%20x");
        assert_eq!(
            parse_query("a=1+2&b=%2F&c"),
            [("a".into(), "1 2".into()), ("b".into(), "/".into()), ("c".into(), String::new())]
        );
        let q = canonical_query(&[
            ("b".into(), "2".into()),
            ("a".into(), "x y".into()),
            ("X-Amz-Signature".into(), "s".into()),
        ]);
        assert_eq!(q, "a=x%20y&b=2");
    }

    #[test]
    fn headers_are_trimmed_sorted_and_joined() {
        let h = [
            ("X-B".into(), " two  words ".into()),
            ("host".into(), "h".into()),
            ("x-b".into(), "again".into()),
        ];
        let (block, signed) = canonical_headers(&h);
        assert_eq!(block, "host:h\nx-b:two words,again\n");
        assert_eq!(signed, "host;x-b");
    }

    #[test]
    fn presigned_params_are_checked() {
        let q = |expires: &str| {
            parse_query(&format!(
                "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261206%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261206T213045Z&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&X-Amz-Signature=00"
            ))
        };
        let p = parse_presigned(&q("604800")).unwrap();
        assert_eq!(
            (p.access_key_id.as_str(), p.region.as_str(), p.expires_secs),
            ("AK", "us-east-1", 604_800)
        );
        assert_eq!(parse_presigned(&q("0")), Err(QueryError::Expired));
        for bad in ["604801", "-1", "ten"] {
            assert!(matches!(parse_presigned(&q(bad)), Err(QueryError::Malformed(_))), "{bad}");
        }
        let mut other_day = q("1");
        other_day[1].1 = "AK/20261205/us-east-1/s3/aws4_request".into();
        assert!(
            matches!(parse_presigned(&other_day), Err(QueryError::Malformed(m)) if m.contains("credential date"))
        );
        let mut twice = q("1");
        twice.push(("X-Amz-Expires".into(), "2".into()));
        assert!(parse_presigned(&twice).is_err());
    }
}
