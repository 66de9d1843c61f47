//! S3's naming rules and limits, checked at the boundary.

use crate::error::{Error, Result};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Most user-metadata bytes (names + values) one object may carry.
pub const USER_METADATA_BYTES_MAX: usize = 2 * 1024;
/// Most tags per object.
pub const OBJECT_TAGS_MAX: usize = 10;
/// Longest tag key, in characters.
pub const TAG_KEY_CHARS_MAX: usize = 128;
/// Longest tag value, in characters.
pub const TAG_VALUE_CHARS_MAX: usize = 256;
/// Most keys one DeleteObjects request may name.
pub const DELETE_OBJECTS_KEYS_MAX: usize = 1000;
/// Most buckets one account may own (S3's default quota).
pub const BUCKETS_PER_ACCOUNT_MAX: usize = 10_000;
/// Most buckets one ListBuckets page holds.
pub const LIST_BUCKETS_MAX: usize = 10_000;

const RESERVED_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_SUFFIXES: [&str; 5] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/// Checks S3's bucket naming rules; the error names the rule broken.
///
/// # Errors
/// `InvalidBucketName` with the name and the rule.
pub fn check_bucket_name(name: &str) -> Result<()> {
    let bad = |reason: &str| Err(Error::InvalidBucketName { bucket: name.into(), reason: reason.into() });
    if name.len() < 3 || name.len() > 63 {
        return bad("bucket names must be between 3 and 63 characters long");
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-') {
        return bad("bucket names can consist only of lowercase letters, numbers, dots (.), and hyphens (-)");
    }
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(name.as_bytes()[0]) || !alnum(name.as_bytes()[name.len() - 1]) {
        return bad("bucket names must begin and end with a letter or number");
    }
    if name.contains("..") {
        return bad("bucket names must not contain two adjacent periods");
    }
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() == 4
        && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return bad("bucket names must not be formatted as an IP address");
    }
    if let Some(p) = RESERVED_PREFIXES.iter().find(|p| name.starts_with(*p)) {
        return bad(&format!("bucket names must not start with the prefix {p}"));
    }
    if let Some(s) = RESERVED_SUFFIXES.iter().find(|s| name.ends_with(*s)) {
        return bad(&format!("bucket names must not end with the suffix {s}"));
    }
    Ok(())
}

/// Checks user metadata: total size, and that names are non-empty header-safe tokens. Returns the
/// metadata with names lower-cased, as S3 stores and returns them.
///
/// # Errors
/// `MetadataTooLarge` over 2 KB; `InvalidArgument` for a name or value that cannot be an HTTP header.
pub fn normalize_user_metadata(meta: &[(String, String)]) -> Result<Vec<(String, String)>> {
    let size: usize = meta.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > USER_METADATA_BYTES_MAX {
        return Err(Error::MetadataTooLarge { size, max: USER_METADATA_BYTES_MAX });
    }
    let mut out: Vec<(String, String)> = Vec::with_capacity(meta.len());
    for (k, v) in meta {
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if k.is_empty() || !k.bytes().all(token) {
            return Err(Error::InvalidArgument {
                name: "x-amz-meta-*",
                value: k.clone(),
                reason: "metadata names must be HTTP header tokens".into(),
            });
        }
        if v.chars().any(|c| c.is_control() && c != '\t') {
            return Err(Error::InvalidArgument {
                name: "x-amz-meta-*",
                value: v.clone(),
                reason: "metadata values must not contain control characters".into(),
            });
        }
        let k = k.to_ascii_lowercase();
        // Two names differing only in case become one header, values joined as HTTP does.
        match out.iter_mut().find(|(name, _)| *name == k) {
            Some((_, existing)) => {
                existing.push(',');
                existing.push_str(v);
            }
            None => out.push((k, v.clone())),
        }
    }
    out.sort();
    Ok(out)
}

/// Parses an `x-amz-tagging` value (`k1=v1&k2=v2`, URL-encoded) and checks the tag limits.
///
/// # Errors
/// `InvalidTag` naming the problem (too many, too long, duplicate key, bad encoding).
pub fn parse_tagging(tagging: &str) -> Result<Vec<(String, String)>> {
    if tagging.is_empty() {
        return Ok(Vec::new());
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    for pair in tagging.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (url_decode(k)?, url_decode(v)?);
        tags.push((k, v));
    }
    check_tags(&tags)?;
    Ok(tags)
}

/// Checks tag count, lengths and uniqueness.
///
/// # Errors
/// `InvalidTag`.
pub fn check_tags(tags: &[(String, String)]) -> Result<()> {
    let bad = |reason: String| Err(Error::InvalidTag { reason });
    if tags.len() > OBJECT_TAGS_MAX {
        return bad(format!("object tags cannot be greater than {OBJECT_TAGS_MAX}, got {}", tags.len()));
    }
    for (i, (k, v)) in tags.iter().enumerate() {
        if k.is_empty() || k.chars().count() > TAG_KEY_CHARS_MAX {
            return bad(format!("the tag key {k:?} must be 1 to {TAG_KEY_CHARS_MAX} characters"));
        }
        if v.chars().count() > TAG_VALUE_CHARS_MAX {
            return bad(format!("the tag value of {k:?} is longer than {TAG_VALUE_CHARS_MAX} characters"));
        }
        if tags[..i].iter().any(|(other, _)| other == k) {
            return bad(format!("cannot provide multiple tags with the same key {k:?}"));
        }
        if k.get(..TAG_KEY_RESERVED_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(TAG_KEY_RESERVED_PREFIX))
        {
            return bad(format!(
                "the tag key {k:?} uses the prefix {TAG_KEY_RESERVED_PREFIX:?}, reserved for AWS"
            ));
        }
        if let Some(c) = k.chars().chain(v.chars()).find(|&c| !tag_char_allowed(c)) {
            return bad(format!("the tag {k:?}={v:?} holds {c:?}, which tags may not hold"));
        }
    }
    Ok(())
}

/// Tag keys AWS keeps for itself, in any case (S3 user guide, "Categorizing your storage using
/// tags"; AWS tagging guide: "aws:, AWS:, or any upper or lowercase combination").
const TAG_KEY_RESERVED_PREFIX: &str = "aws:";

/// S3 user guide, "Categorizing your storage using tags": letters, numbers and spaces representable
/// in UTF-8 (any Unicode space that is not a control character), and `+ - = . _ : / @`.
fn tag_char_allowed(c: char) -> bool {
    c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "+-=._:/@".contains(c)
}

/// Decodes one side of a tagging header pair (`application/x-www-form-urlencoded`: `+` is a space).
fn url_decode(s: &str) -> Result<String> {
    let bad = || Error::InvalidTag { reason: format!("the tagging header is not URL-encoded: {s:?}") };
    percent_decode(&s.replace('+', " ")).ok_or_else(bad)
}

/// What S3 escapes for `encoding-type=url`: everything but RFC 3986's unreserved characters and `/`.
const URL_ENCODE_SET: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

/// URL-encodes a key or prefix as S3 does for `encoding-type=url` (RFC 3986 unreserved kept, `/` kept).
#[must_use]
pub fn url_encode(s: &str) -> String {
    utf8_percent_encode(s, URL_ENCODE_SET).to_string()
}

/// Undoes [`url_encode`] (any `%XX` escape; `+` stays `+`, as in a path): `None` for a bad escape
/// (a `%` not followed by two hex digits, which `percent-encoding` would pass through as it is) or
/// bytes that are not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let escapes_well_formed = s
        .split('%')
        .skip(1)
        .all(|after| after.as_bytes().get(..2).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)));
    if !escapes_well_formed {
        return None;
    }
    percent_decode_str(s).decode_utf8().ok().map(std::borrow::Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_rules_each_with_its_reason() {
        for ok in ["abc", "a-b.c1", &"a".repeat(63), "my.bucket.name", "1.2.3", "1.2.3.4a"] {
            assert!(check_bucket_name(ok).is_ok(), "{ok}");
        }
        let cases = [
            ("ab", "between 3 and 63"),
            (&"a".repeat(64)[..], "between 3 and 63"),
            ("Abc", "lowercase"),
            ("a_b", "lowercase"),
            ("-abc", "begin and end"),
            ("abc.", "begin and end"),
            ("a..b", "adjacent periods"),
            ("192.168.5.4", "IP address"),
            ("xn--abc", "xn--"),
            ("sthree-abc", "sthree-"),
            ("amzn-s3-demo-x", "amzn-s3-demo-"),
            ("abc-s3alias", "-s3alias"),
            ("abc--ol-s3", "--ol-s3"),
            ("abc.mrap", ".mrap"),
            ("abc--x-s3", "--x-s3"),
        ];
        for (name, reason) in cases {
            match check_bucket_name(name) {
                Err(Error::InvalidBucketName { reason: r, .. }) => assert!(r.contains(reason), "{name}: {r}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn user_metadata_limit_at_and_past_and_case() {
        let at = vec![("k".to_string(), "v".repeat(USER_METADATA_BYTES_MAX - 1))];
        assert!(normalize_user_metadata(&at).is_ok());
        let past = vec![("k".to_string(), "v".repeat(USER_METADATA_BYTES_MAX))];
        assert!(matches!(
            normalize_user_metadata(&past),
            Err(Error::MetadataTooLarge { size: 2049, max: 2048 })
        ));
        let m =
            normalize_user_metadata(&[("Color".into(), "blue".into()), ("SIZE".into(), "L".into())]).unwrap();
        assert_eq!(m, vec![("color".into(), "blue".into()), ("size".into(), "L".into())]);
        assert!(normalize_user_metadata(&[("bad name".into(), "v".into())]).is_err());
        assert!(normalize_user_metadata(&[("k".into(), "a\nb".into())]).is_err());
    }

    #[test]
    fn tags_limits_at_and_past() {
        let ten: String = (0..10).map(|i| format!("k{i}=v")).collect::<Vec<_>>().join("&");
        assert_eq!(parse_tagging(&ten).unwrap().len(), 10);
        let eleven = format!("{ten}&k10=v");
        assert!(matches!(parse_tagging(&eleven), Err(Error::InvalidTag { .. })));
        assert!(parse_tagging(&format!("{}=v", "k".repeat(128))).is_ok());
        assert!(parse_tagging(&format!("{}=v", "k".repeat(129))).is_err());
        assert!(parse_tagging(&format!("k={}", "v".repeat(256))).is_ok());
        assert!(parse_tagging(&format!("k={}", "v".repeat(257))).is_err());
        assert!(parse_tagging("a=1&a=2").is_err());
        assert_eq!(parse_tagging("a%20b=c+d").unwrap(), vec![("a b".to_string(), "c d".to_string())]);
        assert!(parse_tagging("a=%zz").is_err());
        // S3's character set and reserved prefix (user guide, "Categorizing your storage using tags").
        assert!(parse_tagging("Proj%C3%A9t=a%20b%2B-%3D._%3A%2F%40").is_ok());
        for bad in ["aws%3Aname=v", "AWS%3Aname=v", "k=v%21", "k%23=v", "k=%3Cv%3E"] {
            assert!(matches!(parse_tagging(bad), Err(Error::InvalidTag { .. })), "{bad}");
        }
        assert!(parse_tagging("myaws%3Aname=v").is_ok(), "only the prefix is reserved");
        // Spaces representable in UTF-8 (AWS's tag pattern has \p{Z}): no-break, ideographic.
        assert!(parse_tagging("k=a%C2%A0b%E3%80%80c").is_ok());
        assert!(parse_tagging("k=a%09b").is_err(), "a tab is a control character");
        assert_eq!(url_encode("a b/c+é"), "a%20b/c%2B%C3%A9");
    }
}
