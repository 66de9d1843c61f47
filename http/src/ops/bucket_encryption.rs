//! Put/GetBucketEncryption with `BlockedEncryptionTypes`, which s3s 0.14.1 does not know: its XML
//! reader refuses the element inside a `Rule` (`MalformedXML`), and its DTOs cannot carry it out.
//! So these two requests are served by a custom route ([`BucketEncryptionRoute`]), which s3s calls
//! after it has checked the signature and the payload hash: the route takes the element's
//! `EncryptionType`s out of the body, reads the rest with s3s's own XML reader, and adds the
//! element to what s3s's XML writer makes of the answer. DeleteBucketEncryption has no body and
//! stays an s3s operation.

use bytes::Bytes;
use s3lite::EncryptionType;
use s3lite::s3::types as t;
use s3s::dto;
use s3s::route::S3Route;
use s3s::{Body, S3Request, S3Response, S3Result};

use super::{StoreS3, run, with_request_id};
use crate::access::StoreAccess;
use crate::server::RequestId;

const BLOCKED_OPEN: &str = "<BlockedEncryptionTypes>";
const BLOCKED_CLOSE: &str = "</BlockedEncryptionTypes>";
const BLOCKED_EMPTY: &str = "<BlockedEncryptionTypes/>";

/// The S3 layer's rules of a configuration s3s read; `blocked[i]` is rule `i`'s
/// `BlockedEncryptionTypes`, taken out of the body before s3s read it.
pub(super) fn rules_from_dto(
    rules: Vec<dto::ServerSideEncryptionRule>,
    mut blocked: Vec<Option<Vec<EncryptionType>>>,
) -> s3lite::Result<Vec<t::ServerSideEncryptionRule>> {
    blocked.resize(rules.len(), None);
    rules
        .into_iter()
        .zip(blocked)
        .map(|(r, blocked)| {
            let by_default = r
                .apply_server_side_encryption_by_default
                .map(|d| {
                    Ok::<_, s3lite::Error>(t::ServerSideEncryptionByDefault {
                        sse_algorithm: t::ServerSideEncryption::parse(d.sse_algorithm.as_str())?,
                        kms_master_key_id: d.kms_master_key_id,
                    })
                })
                .transpose()?;
            Ok(t::ServerSideEncryptionRule {
                apply_server_side_encryption_by_default: by_default,
                bucket_key_enabled: r.bucket_key_enabled,
                blocked_encryption_types: blocked,
            })
        })
        .collect()
}

/// s3s's rules of an S3-layer configuration, and each rule's blocked types (which s3s cannot hold).
pub(super) fn rules_to_dto(
    c: t::ServerSideEncryptionConfiguration,
) -> (Vec<dto::ServerSideEncryptionRule>, Vec<Option<Vec<EncryptionType>>>) {
    c.rules
        .into_iter()
        .map(|r| {
            let rule = dto::ServerSideEncryptionRule {
                apply_server_side_encryption_by_default: r.apply_server_side_encryption_by_default.map(|d| {
                    dto::ServerSideEncryptionByDefault {
                        kms_master_key_id: d.kms_master_key_id,
                        sse_algorithm: dto::ServerSideEncryption::from(d.sse_algorithm.as_str().to_owned()),
                    }
                }),
                bucket_key_enabled: r.bucket_key_enabled,
            };
            (rule, r.blocked_encryption_types)
        })
        .unzip()
}

fn malformed(why: &str) -> s3lite::Error {
    s3lite::Error::MalformedXML { reason: format!("ServerSideEncryptionConfiguration: {why}") }
}

/// Takes every `BlockedEncryptionTypes` element out of a configuration's XML: the rest (for s3s's
/// reader) and, per `Rule` in order, the types its element named (`None`: no element).
///
/// # Errors
/// `MalformedXML` for an element left open or outside a rule, `InvalidArgument` for an unknown
/// type (as [`EncryptionType::parse`]).
fn take_blocked(xml: &str) -> s3lite::Result<(String, Vec<Option<Vec<EncryptionType>>>)> {
    let mut rest = String::with_capacity(xml.len());
    let mut blocked: Vec<Option<Vec<EncryptionType>>> = Vec::new();
    let mut tail = xml;
    loop {
        let open = tail.find(BLOCKED_OPEN);
        let empty = tail.find(BLOCKED_EMPTY);
        let (at, inner, after) = match (open, empty) {
            (None, None) => break,
            (Some(o), Some(e)) if e < o => (e, "", &tail[e + BLOCKED_EMPTY.len()..]),
            (None, Some(e)) => (e, "", &tail[e + BLOCKED_EMPTY.len()..]),
            (Some(o), _) => {
                let body = &tail[o + BLOCKED_OPEN.len()..];
                let close = body
                    .find(BLOCKED_CLOSE)
                    .ok_or_else(|| malformed("BlockedEncryptionTypes is not closed"))?;
                (o, &body[..close], &body[close + BLOCKED_CLOSE.len()..])
            }
        };
        rest.push_str(&tail[..at]);
        let rule = rest
            .matches("<Rule>")
            .count()
            .checked_sub(1)
            .ok_or_else(|| malformed("BlockedEncryptionTypes outside a Rule"))?;
        let mut types = Vec::new();
        for part in inner.split("<EncryptionType>").skip(1) {
            let value = part.split("</EncryptionType>").next().unwrap_or_default();
            types.push(EncryptionType::parse(value.trim())?);
        }
        blocked.resize(blocked.len().max(rule + 1), None);
        blocked[rule].get_or_insert_with(Vec::new).extend(types);
        tail = after;
    }
    rest.push_str(tail);
    Ok((rest, blocked))
}

/// Reads a PutBucketEncryption body into the S3 layer's configuration.
fn read_configuration(body: &[u8]) -> s3lite::Result<t::ServerSideEncryptionConfiguration> {
    let xml = std::str::from_utf8(body).map_err(|_| malformed("the body is not UTF-8"))?;
    let (rest, blocked) = take_blocked(xml)?;
    let mut d = s3s::xml::Deserializer::new(rest.as_bytes());
    let c: dto::ServerSideEncryptionConfiguration =
        s3s::xml::Deserialize::deserialize(&mut d).map_err(|e| malformed(&format!("{e:?}")))?;
    Ok(t::ServerSideEncryptionConfiguration { rules: rules_from_dto(c.rules, blocked)? })
}

/// Writes a GetBucketEncryption answer: s3s's XML of the configuration, each rule's
/// `BlockedEncryptionTypes` added before its `</Rule>`.
fn write_configuration(c: t::ServerSideEncryptionConfiguration) -> S3Result<String> {
    let (rules, blocked) = rules_to_dto(c);
    let mut out = Vec::new();
    let mut ser = s3s::xml::Serializer::new(&mut out);
    let written = ser.decl().and_then(|()| {
        s3s::xml::Serialize::serialize(&dto::ServerSideEncryptionConfiguration { rules }, &mut ser)
    });
    written.map_err(|e| s3s::s3_error!(InternalError, "writing the configuration: {e:?}"))?;
    let xml = String::from_utf8(out).map_err(|e| s3s::s3_error!(InternalError, "{e}"))?;
    let mut pieces = xml.split("</Rule>");
    let mut answer = pieces.next().unwrap_or_default().to_owned();
    for (piece, types) in pieces.zip(blocked.into_iter().chain(std::iter::repeat(None))) {
        if let Some(types) = types {
            answer.push_str(BLOCKED_OPEN);
            for ty in types {
                answer.push_str(&format!("<EncryptionType>{}</EncryptionType>", ty.as_str()));
            }
            answer.push_str(BLOCKED_CLOSE);
        }
        answer.push_str("</Rule>");
        answer.push_str(piece);
    }
    Ok(answer)
}

/// Serves PutBucketEncryption and GetBucketEncryption (see the module's comment).
pub(crate) struct BucketEncryptionRoute {
    ops: StoreS3,
    access: StoreAccess,
    /// The virtual-host domain (`bucket.<domain>`), as the service's.
    domain: Option<String>,
}

impl BucketEncryptionRoute {
    pub(crate) fn new(ops: StoreS3, domain: Option<&str>) -> BucketEncryptionRoute {
        let access = StoreAccess::new(ops.store().region());
        BucketEncryptionRoute { ops, access, domain: domain.map(str::to_owned) }
    }

    /// The bucket a bucket-level request names: `bucket.<domain>` with path `/`, or path `/bucket`.
    fn bucket_of(&self, uri: &http::Uri, headers: &http::HeaderMap) -> Option<String> {
        let path = uri.path().trim_start_matches('/').trim_end_matches('/');
        let host = headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).or(uri.host());
        let host = host.map(|h| match h.rsplit_once(':') {
            Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => h,
        });
        let virtual_bucket = self
            .domain
            .as_deref()
            .zip(host)
            .and_then(|(domain, host)| host.strip_suffix(domain)?.strip_suffix('.').map(str::to_owned));
        match virtual_bucket {
            Some(bucket) => path.is_empty().then_some(bucket),
            None => (!path.is_empty() && !path.contains('/')).then(|| path.to_owned()),
        }
    }
}

fn asks_for_encryption(uri: &http::Uri) -> bool {
    uri.query().is_some_and(|q| q.split('&').any(|p| p == "encryption" || p.starts_with("encryption=")))
}

#[async_trait::async_trait]
impl S3Route for BucketEncryptionRoute {
    fn is_match(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        _: &mut http::Extensions,
    ) -> bool {
        (method == http::Method::PUT || method == http::Method::GET)
            && asks_for_encryption(uri)
            && self.bucket_of(uri, headers).is_some()
    }

    /// The checks every operation gets ([`StoreAccess`]); who may read or change the
    /// configuration is the S3 layer's (the bucket's owner), as for the s3s operations.
    async fn check_access(&self, req: &mut S3Request<Body>) -> S3Result<()> {
        self.access.check_request(&req.headers, req.uri.query())
    }

    async fn call(&self, mut req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let bucket = self.bucket_of(&req.uri, &req.headers).unwrap_or_default();
        if req.method == http::Method::GET {
            let resp = run(
                &self.ops,
                &req,
                move |s3| s3.get_bucket_encryption(&bucket),
                |o| S3Response::new(write_configuration(o.server_side_encryption_configuration)),
            )
            .await?;
            let rid = req.extensions.get::<RequestId>().cloned().unwrap_or_else(RequestId::new);
            let mut answer = Ok(String::new());
            let resp = resp.map_output(|o| answer = o);
            let xml = answer.map_err(|e| with_request_id(e, &rid))?;
            let mut resp = resp.map_output(|_| Body::from(xml));
            resp.headers
                .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/xml"));
            return Ok(resp);
        }
        let body: Bytes = req
            .input
            .store_all_limited(crate::digest::XML_BODY_BYTES_MAX)
            .await
            .map_err(|e| s3s::s3_error!(MalformedXML, "the body could not be read: {e}"))?;
        run(
            &self.ops,
            &req,
            move |s3| {
                let configuration = read_configuration(&body)?;
                s3.put_bucket_encryption(t::PutBucketEncryptionRequest {
                    bucket,
                    server_side_encryption_configuration: configuration,
                })
            },
            |()| S3Response::new(Body::empty()),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault>";

    fn config(rule_tail: &str) -> String {
        format!(
            "<ServerSideEncryptionConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Rule>{RULE}{rule_tail}</Rule></ServerSideEncryptionConfiguration>"
        )
    }

    #[test]
    fn blocked_types_are_read_out_of_a_rule_and_written_back_into_it() {
        for (tail, want) in [
            ("", None),
            (
                "<BlockedEncryptionTypes><EncryptionType>SSE-C</EncryptionType></BlockedEncryptionTypes>",
                Some(vec![EncryptionType::SseC]),
            ),
            (
                "<BlockedEncryptionTypes>\n  <EncryptionType>NONE</EncryptionType>\n</BlockedEncryptionTypes>",
                Some(vec![EncryptionType::None]),
            ),
            ("<BlockedEncryptionTypes/>", Some(vec![])),
        ] {
            let c = read_configuration(config(tail).as_bytes()).unwrap();
            assert_eq!(c.rules.len(), 1, "{tail}");
            assert_eq!(c.rules[0].blocked_encryption_types, want, "{tail}");
            let written = write_configuration(c.clone()).unwrap();
            assert_eq!(read_configuration(written.as_bytes()).unwrap(), c, "{written}");
            assert_eq!(written.contains(BLOCKED_OPEN), want.is_some(), "{written}");
        }
        let e = read_configuration(
            config(
                "<BlockedEncryptionTypes><EncryptionType>SSE-KMS</EncryptionType></BlockedEncryptionTypes>",
            )
            .as_bytes(),
        )
        .unwrap_err();
        assert!(
            matches!(&e, s3lite::Error::InvalidArgument { name: "EncryptionType", value, .. } if value == "SSE-KMS"),
            "{e:?}"
        );
        for bad in [
            config("<BlockedEncryptionTypes><EncryptionType>SSE-C</EncryptionType>"),
            format!("{BLOCKED_EMPTY}{}", config("")),
        ] {
            assert_eq!(read_configuration(bad.as_bytes()).unwrap_err().code(), "MalformedXML", "{bad}");
        }
        // Anything else s3s does not know is still s3s's to refuse.
        assert_eq!(read_configuration(config("<Other/>").as_bytes()).unwrap_err().code(), "MalformedXML");
    }
}
