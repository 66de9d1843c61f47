//! s3lite errors as `s3s` errors: the same S3 code and HTTP status, the message naming the
//! resource (s3s 0.14.1 writes no `<Resource>` element, so the message carries it).

use s3s::{S3Error, S3ErrorCode};

/// A checksum from an aws-chunked trailer that does not match the body (the request-body reader
/// fails with it, so nothing is stored).
#[derive(Debug, thiserror::Error)]
#[error("the {algorithm} checksum in the trailer ({given}) does not match the body ({computed})")]
pub(crate) struct TrailerMismatch {
    pub(crate) algorithm: &'static str,
    pub(crate) given: String,
    pub(crate) computed: String,
}

/// A request body that sent no byte for the host's idle timeout (the reader fails with it, so
/// nothing is stored; S3's `RequestTimeout`).
#[derive(Debug, thiserror::Error)]
#[error(
    "Your socket connection to the server was not read from or written to within the timeout period ({idle:?} without a byte of the body)"
)]
pub(crate) struct BodyIdle {
    pub(crate) idle: std::time::Duration,
}

/// A request body whose length is not the one its headers declared: for an aws-chunked body,
/// `x-amz-decoded-content-length` (s3s 0.14.1 decodes the chunks but never compares their sum
/// with it, and takes a stream that ends between chunks as a complete body), so a short body
/// would otherwise be stored as the object. The reader fails with it, so nothing is stored.
#[derive(Debug, thiserror::Error)]
#[error(
    "You did not provide the number of bytes specified by the Content-Length HTTP header: {declared} declared, {}",
    if *.longer { format!("more than {declared} sent") } else { format!("{} sent", .got) }
)]
pub(crate) struct LengthMismatch {
    pub(crate) declared: u64,
    pub(crate) got: u64,
    pub(crate) longer: bool,
}

/// The s3s error for an s3lite error.
#[must_use]
pub fn to_s3_error(err: &s3lite::Error) -> S3Error {
    if let s3lite::Error::BodyRead { source } = err
        && let Some(mismatch) = source.get_ref().and_then(|e| e.downcast_ref::<TrailerMismatch>())
    {
        return S3Error::with_message(S3ErrorCode::BadDigest, mismatch.to_string());
    }
    if let s3lite::Error::BodyRead { source } = err
        && let Some(mismatch) = source.get_ref().and_then(|e| e.downcast_ref::<LengthMismatch>())
    {
        return S3Error::with_message(S3ErrorCode::IncompleteBody, mismatch.to_string());
    }
    if let s3lite::Error::BodyRead { source } = err
        && let Some(idle) = source.get_ref().and_then(|e| e.downcast_ref::<BodyIdle>())
    {
        return S3Error::with_message(S3ErrorCode::RequestTimeout, idle.to_string());
    }
    let code = S3ErrorCode::from_bytes(err.code().as_bytes())
        .unwrap_or_else(|| S3ErrorCode::Custom(err.code().into()));
    let mut out = S3Error::with_message(code, err.message());
    if let Ok(status) = http::StatusCode::from_u16(err.http_status()) {
        out.set_status_code(status);
    }
    if let s3lite::Error::NoSuchKey { delete_marker: true, version_id, .. } = err {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-amz-delete-marker", http::HeaderValue::from_static("true"));
        if let Some(v) = version_id.as_deref().and_then(|v| http::HeaderValue::from_str(v).ok()) {
            headers.insert("x-amz-version-id", v);
        }
        out.set_headers(headers);
    }
    if let s3lite::Error::NotModified { e_tag, last_modified, .. } = err {
        // S3's 304 carries the validators a cache needs (RFC 9110 §15.4.5).
        let mut headers = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(e_tag) {
            headers.insert(http::header::ETAG, v);
        }
        let date = crate::ops::http_date(&s3s::dto::Timestamp::from(*last_modified));
        if let Some(v) = date.and_then(|d| http::HeaderValue::from_str(&d).ok()) {
            headers.insert(http::header::LAST_MODIFIED, v);
        }
        out.set_headers(headers);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_statuses_and_messages_carry_over() {
        let e = s3lite::Error::NoSuchBucket { bucket: "photos".into() };
        let s = to_s3_error(&e);
        assert_eq!(*s.code(), S3ErrorCode::NoSuchBucket);
        assert_eq!(s.status_code(), Some(http::StatusCode::NOT_FOUND));
        assert!(s.message().unwrap().contains("photos"));
        let e = s3lite::Error::KeyTooLong { len: 2000, max: 1024 };
        assert_eq!(to_s3_error(&e).code().as_str(), "KeyTooLongError");
        let io = std::io::Error::other(TrailerMismatch {
            algorithm: "CRC32",
            given: "a".into(),
            computed: "b".into(),
        });
        let s = to_s3_error(&s3lite::Error::BodyRead { source: io });
        assert_eq!(*s.code(), S3ErrorCode::BadDigest);
    }
}
