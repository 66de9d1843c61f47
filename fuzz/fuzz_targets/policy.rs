//! Bucket policy parsing on arbitrary bytes: a typed `MalformedPolicy`, never a panic; a policy
//! that parses evaluates arbitrary requests, and answers `is_public`, without panicking, the same
//! way twice.
//!
//! Input: `policy text ‖ 0xFF ‖ request`, the request being NUL-separated fields: action,
//! resource, then key/value pairs; its first bytes also choose the principal, transport, source
//! address and clock. The text is tried as a whole document and, so that the fuzzer reaches
//! evaluation often, as the Condition, the Resource and the Principal of a valid statement.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use s3lite::s3::policy::{BucketPolicy, PolicyRequest, Principal, RequestContext, Transport};

const CANONICAL: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";

fuzz_target!(|data: &[u8]| {
    let (text, request) = match data.iter().position(|b| *b == 0xFF) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let text = String::from_utf8_lossy(text);
    let documents = [
        text.to_string(),
        statement(&format!(r#""Principal": "*", "Resource": "arn:aws:s3:::b/*", "Condition": {text}"#)),
        statement(&format!(r#""Principal": "*", "Resource": {text}"#)),
        statement(&format!(r#""Principal": {text}, "Resource": "arn:aws:s3:::b/*""#)),
    ];
    for json in &documents {
        match BucketPolicy::parse(json, "b") {
            Ok(policy) => {
                assert_eq!(policy.text(), json);
                let _ = policy.is_public();
                evaluate(&policy, request);
            }
            Err(e) => assert_eq!(e.code(), "MalformedPolicy"),
        }
    }
});

fn statement(elements: &str) -> String {
    format!(
        r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "Allow", "Action": "s3:*", {elements}}}}}"#
    )
}

fn evaluate(policy: &BucketPolicy, request: &[u8]) {
    let byte = |i: usize| request.get(i).copied().unwrap_or(0);
    let mut fields = request.split(|b| *b == 0).map(|f| String::from_utf8_lossy(f).into_owned());
    let action = fields.next().unwrap_or_else(|| "s3:GetObject".into());
    let resource = fields.next().map_or_else(|| "arn:aws:s3:::b/k".into(), |r| format!("arn:aws:s3:::b/{r}"));
    let rest: Vec<String> = fields.collect();
    let keys: Vec<(&str, &str)> =
        rest.chunks(2).map(|kv| (kv[0].as_str(), kv.get(1).map_or("", String::as_str))).collect();
    let source_ip = match byte(0) % 3 {
        0 => None,
        1 => Some(IpAddr::V4(Ipv4Addr::new(byte(1), byte(2), byte(3), byte(4)))),
        _ => Some(IpAddr::V6(Ipv6Addr::from(u128::from_le_bytes(std::array::from_fn(byte))))),
    };
    let transport = [Transport::InProcess, Transport::Https, Transport::Http][usize::from(byte(5) % 3)];
    let context = RequestContext { source_ip, transport };
    let now_ms = u64::from_le_bytes(std::array::from_fn(|i| byte(6 + i)));
    for principal in [
        Principal::Anonymous,
        Principal::Account { canonical_id: CANONICAL, account_id: "438311332676" },
        Principal::Account { canonical_id: &action, account_id: &resource },
    ] {
        let req = PolicyRequest {
            principal,
            action: &action,
            resource: &resource,
            context: &context,
            now_ms,
            keys: &keys,
        };
        assert_eq!(policy.evaluate(&req), policy.evaluate(&req));
    }
}
