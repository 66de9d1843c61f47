//! Digests of request bodies the operations never see as bytes. s3s reads and parses the XML body
//! of DeleteObjects, CompleteMultipartUpload, PutObjectTagging, PutBucketVersioning and the like
//! itself, so the host stores such a body first (bounded, as s3s would) and checks its
//! `Content-MD5` and `x-amz-checksum-*` headers here; s3s then parses the stored bytes. Object
//! payloads (PutObject, UploadPart) are checked by s3lite's S3 layer as they stream, never here.
//!
//! DeleteObjects must carry one of the two (S3: "Missing required header for this request:
//! Content-MD5", `InvalidRequest`): current SDKs send a CRC32 and no MD5, and both are taken.

use md5::{Digest as _, Md5};
use s3lite::ChecksumAlgorithm;
use s3lite::s3::checksum;

/// Largest XML body the host takes (and s3s parses): DeleteObjects with 1000 long keys is the
/// largest S3 takes, about 1.1 MiB.
pub(crate) const XML_BODY_BYTES_MAX: usize = 2 * 1024 * 1024;

/// Why a request is answered before the service sees it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: http::StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl Refusal {
    fn of(err: &s3lite::Error) -> Refusal {
        Refusal {
            status: http::StatusCode::from_u16(err.http_status()).unwrap_or(http::StatusCode::BAD_REQUEST),
            code: err.code(),
            message: err.message(),
        }
    }
}

/// Query parameters that leave a PUT an object payload (PutObject, UploadPart, their presigned
/// forms); any other names a sub-resource whose body is XML.
fn is_payload_param(name: &str) -> bool {
    matches!(name, "uploadId" | "partNumber" | "x-id") || name.to_ascii_lowercase().starts_with("x-amz-")
}

fn query_names(uri: &http::Uri) -> impl Iterator<Item = &str> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').map_or(p, |(k, _)| k))
}

/// Whether s3s will read this request's body whole: every body but a PUT's object payload (a PUT
/// with no sub-resource: PutObject, UploadPart, and CreateBucket, whose optional configuration is
/// left unchecked) and an aws-chunked stream (its trailer checksum is checked as it streams).
fn body_is_small(req: &s3s::HttpRequest) -> bool {
    let streaming = req
        .headers()
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("STREAMING-"));
    let payload = req.method() == http::Method::PUT && query_names(req.uri()).all(is_payload_param);
    !streaming && !payload
}

fn is_delete_objects(req: &s3s::HttpRequest) -> bool {
    req.method() == http::Method::POST && query_names(req.uri()).any(|n| n == "delete")
}

fn header<'a>(req: &'a s3s::HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Stores an XML request body and checks the digests its headers name, or says why the request
/// is refused.
pub(crate) async fn check(req: &mut s3s::HttpRequest) -> Result<(), Refusal> {
    if !body_is_small(req) {
        return Ok(());
    }
    let content_md5 = header(req, "content-md5").map(str::to_owned);
    let given: Vec<(ChecksumAlgorithm, String)> = ChecksumAlgorithm::ALL
        .into_iter()
        .filter_map(|a| {
            header(req, &format!("x-amz-checksum-{}", a.as_str().to_ascii_lowercase()))
                .map(|v| (a, v.to_owned()))
        })
        .collect();
    if content_md5.is_none() && given.is_empty() {
        if is_delete_objects(req) {
            return Err(Refusal::of(&s3lite::Error::InvalidRequest {
                reason:
                    "Missing required header for this request: Content-MD5 (or an x-amz-checksum-* header)"
                        .into(),
            }));
        }
        return Ok(());
    }
    let bytes = req.body_mut().store_all_limited(XML_BODY_BYTES_MAX).await.map_err(|e| Refusal {
        status: http::StatusCode::BAD_REQUEST,
        code: "MaxMessageLengthExceeded",
        message: format!("the request body could not be read within {XML_BODY_BYTES_MAX} bytes: {e}"),
    })?;
    let md5: [u8; 16] = Md5::digest(&bytes).into();
    let refs: Vec<(ChecksumAlgorithm, &String)> = given.iter().map(|(a, v)| (*a, v)).collect();
    let alg = checksum::choose(&refs, None).map_err(|e| Refusal::of(&e))?;
    let value = refs.first().map(|(_, v)| *v);
    let computed = if value.is_some() { alg.compute(&bytes) } else { Vec::new() };
    checksum::check(alg, &computed, value, content_md5.as_ref(), &md5).map_err(|e| Refusal::of(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(
        method: http::Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: &'static [u8],
    ) -> s3s::HttpRequest {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(s3s::Body::from(bytes::Bytes::from_static(body))).unwrap()
    }

    fn md5_b64(data: &[u8]) -> String {
        checksum::encode(&Md5::digest(data))
    }

    #[tokio::test]
    async fn delete_objects_needs_a_digest_and_a_right_one() {
        let body: &[u8] = b"<Delete><Object><Key>a</Key></Object></Delete>";
        let mut r = req(http::Method::POST, "/bkt?delete", &[], body);
        let e = check(&mut r).await.unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (400, "InvalidRequest"));
        assert!(e.message.contains("Content-MD5"), "{}", e.message);

        let good = md5_b64(body);
        let mut r = req(http::Method::POST, "/bkt?delete", &[("content-md5", &good)], body);
        check(&mut r).await.unwrap();
        assert_eq!(r.body().bytes().as_deref(), Some(body), "the stored body is what s3s parses");

        let crc = checksum::encode(&ChecksumAlgorithm::Crc32.compute(body));
        let mut r = req(http::Method::POST, "/bkt?delete=", &[("x-amz-checksum-crc32", &crc)], body);
        check(&mut r).await.unwrap();

        let wrong = md5_b64(b"something else");
        let mut r = req(http::Method::POST, "/bkt?delete", &[("content-md5", &wrong)], body);
        assert_eq!(check(&mut r).await.unwrap_err().code, "BadDigest");
        let wrong = checksum::encode(&ChecksumAlgorithm::Crc32.compute(b"x"));
        let mut r = req(http::Method::POST, "/bkt?delete", &[("x-amz-checksum-crc32", &wrong)], body);
        assert_eq!(check(&mut r).await.unwrap_err().code, "BadDigest");
        let mut r = req(http::Method::POST, "/bkt?delete", &[("content-md5", "not base64!")], body);
        assert_eq!(check(&mut r).await.unwrap_err().code, "InvalidDigest");
        let mut r = req(http::Method::POST, "/bkt?delete", &[("x-amz-checksum-sha256", "AAAA")], body);
        assert_eq!(check(&mut r).await.unwrap_err().code, "InvalidRequest");
    }

    #[tokio::test]
    async fn xml_bodies_of_other_operations_are_checked_when_they_name_a_digest() {
        let body: &[u8] = b"<Tagging><TagSet></TagSet></Tagging>";
        let wrong = md5_b64(b"other");
        let mut r = req(http::Method::PUT, "/bkt/k?tagging", &[("content-md5", &wrong)], body);
        assert_eq!(check(&mut r).await.unwrap_err().code, "BadDigest");
        let mut r = req(http::Method::PUT, "/bkt/k?tagging", &[], body);
        check(&mut r).await.unwrap();
    }

    #[tokio::test]
    async fn object_payloads_and_streams_are_left_to_the_operations() {
        let body: &[u8] = b"payload";
        let wrong = md5_b64(b"other");
        for uri in [
            "/bkt/k",
            "/bkt/k?partNumber=1&uploadId=u",
            "/bkt/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&x-id=PutObject",
        ] {
            // A wrong digest passes here: the S3 layer checks it as the payload streams.
            let mut r = req(http::Method::PUT, uri, &[("content-md5", &wrong)], body);
            check(&mut r).await.unwrap();
        }
        let mut r = req(
            http::Method::POST,
            "/bkt?delete",
            &[("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")],
            body,
        );
        check(&mut r).await.unwrap();
    }

    #[tokio::test]
    async fn a_body_past_the_bound_is_refused_unread_past_it() {
        static BIG: [u8; XML_BODY_BYTES_MAX + 1] = [b' '; XML_BODY_BYTES_MAX + 1];
        let mut r =
            req(http::Method::POST, "/bkt?delete", &[("content-md5", "AAAAAAAAAAAAAAAAAAAAAA==")], &BIG);
        assert_eq!(check(&mut r).await.unwrap_err().code, "MaxMessageLengthExceeded");
    }
}
