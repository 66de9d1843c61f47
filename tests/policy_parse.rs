//! PutBucketPolicy's checks on a policy document: a table of malformed documents, each with the
//! code and message S3 answers, then the documents S3 accepts (the limit at and past 20 KB
//! included).

use s3lite::Error;
use s3lite::s3::policy::{BucketPolicy, POLICY_BYTES_MAX};

const BUCKET: &str = "photos";

/// A 2012-10-17 document with one statement made of these elements.
fn statement(elements: &str) -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": [{{{elements}}}]}}"#)
}

/// A statement that is valid, with `extra` elements added.
fn valid_with(extra: &str) -> String {
    statement(&format!(
        r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*"{extra}"#
    ))
}

/// A valid statement whose Condition element is `condition`.
fn condition(condition: &str) -> String {
    valid_with(&format!(r#", "Condition": {condition}"#))
}

fn refusal(json: &str) -> String {
    match BucketPolicy::parse(json, BUCKET) {
        Ok(_) => panic!("accepted: {json}"),
        Err(e) => {
            assert_eq!((e.code(), e.http_status()), ("MalformedPolicy", 400), "{e}");
            assert!(matches!(e, Error::MalformedPolicy { .. }));
            e.message()
        }
    }
}

#[test]
fn malformed_documents_and_s3s_messages() {
    let bucket = r#""Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::photos""#;
    let too_large = valid_with(&format!(r#", "Sid": "{}""#, "x".repeat(POLICY_BYTES_MAX)));
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "not JSON at all",
            "Version: 2012".into(),
            "Policies must be valid JSON and the first byte must be '{'",
        ),
        ("an array", "[]".into(), "Policies must be valid JSON and the first byte must be '{'"),
        ("empty", String::new(), "Policies must be valid JSON and the first byte must be '{'"),
        ("bad JSON", r#"{"Version": "2012-10-17",}"#.into(), "This policy contains invalid Json"),
        ("trailing bytes", format!("{} x", valid_with("")), "This policy contains invalid Json"),
        (
            "unknown top-level field",
            r#"{"Version": "2012-10-17", "Statement": [], "Extra": 1}"#.into(),
            "Unknown field Extra",
        ),
        (
            "wrong version",
            r#"{"Version": "2013-01-01", "Statement": []}"#.into(),
            "The policy must contain a valid version string",
        ),
        (
            "version not a string",
            r#"{"Version": 2012, "Statement": []}"#.into(),
            "The policy must contain a valid version string",
        ),
        ("no Statement", r#"{"Version": "2012-10-17"}"#.into(), "Missing required field Statement"),
        (
            "empty statement list",
            r#"{"Version": "2012-10-17", "Statement": []}"#.into(),
            "Could not parse the policy: Statement is empty!",
        ),
        (
            "Statement a string",
            r#"{"Version": "2012-10-17", "Statement": "allow"}"#.into(),
            "Invalid policy syntax.",
        ),
        ("Id not a string", r#"{"Id": 7, "Statement": []}"#.into(), "Invalid policy syntax."),
        (
            "duplicate name",
            r#"{"Version": "2012-10-17", "Version": "2012-10-17", "Statement": []}"#.into(),
            "Statement/policy already has instance of Version",
        ),
        (
            "missing Effect",
            statement(r#""Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*""#),
            "Missing required field Effect",
        ),
        (
            "bad Effect",
            statement(
                r#""Effect": "Permit", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*""#,
            ),
            "Invalid effect: Permit",
        ),
        (
            "lowercase Effect",
            statement(
                r#""Effect": "allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*""#,
            ),
            "Invalid effect: allow",
        ),
        ("unknown statement field", valid_with(r#", "Principals": "*""#), "Unknown field Principals"),
        (
            "missing Principal",
            statement(r#""Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*""#),
            "Missing required field Principal",
        ),
        (
            "Principal and NotPrincipal",
            valid_with(r#", "NotPrincipal": "*""#),
            "Statement/policy already has instance of Principal",
        ),
        (
            "bad principal string",
            statement(
                r#""Effect": "Allow", "Principal": "alice", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*""#,
            ),
            "Invalid principal in policy",
        ),
        (
            "short account id",
            statement(
                r#""Effect": "Allow", "Principal": {"AWS": "12345"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*""#,
            ),
            "Invalid principal in policy",
        ),
        (
            "an IAM user",
            statement(
                r#""Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/alice"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*""#,
            ),
            "Invalid principal in policy",
        ),
        (
            "short canonical id",
            statement(
                r#""Effect": "Allow", "Principal": {"CanonicalUser": "abc"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*""#,
            ),
            "Invalid principal in policy",
        ),
        (
            "unknown principal type",
            statement(
                r#""Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*""#,
            ),
            "Invalid principal in policy",
        ),
        (
            "empty principal",
            statement(
                r#""Effect": "Allow", "Principal": {}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*""#,
            ),
            "Invalid principal in policy",
        ),
        (
            "empty principal list",
            statement(
                r#""Effect": "Allow", "Principal": {"AWS": []}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*""#,
            ),
            "Invalid principal in policy",
        ),
        (
            "missing Action",
            statement(r#""Effect": "Allow", "Principal": "*", "Resource": "arn:aws:s3:::photos/*""#),
            "Missing required field Action",
        ),
        (
            "empty Action",
            statement(
                r#""Effect": "Allow", "Principal": "*", "Action": [], "Resource": "arn:aws:s3:::photos/*""#,
            ),
            "Missing required field Action cannot be empty!",
        ),
        (
            "unknown action",
            statement(
                r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObjects", "Resource": "arn:aws:s3:::photos/*""#,
            ),
            "Policy has invalid action",
        ),
        (
            "wildcard naming nothing",
            statement(
                r#""Effect": "Allow", "Principal": "*", "Action": "s3:Fly*", "Resource": "arn:aws:s3:::photos/*""#,
            ),
            "Policy has invalid action",
        ),
        (
            "another service",
            statement(
                r#""Effect": "Allow", "Principal": "*", "Action": "iam:PassRole", "Resource": "arn:aws:s3:::photos/*""#,
            ),
            "Policy has invalid action",
        ),
        (
            "action without service",
            statement(
                r#""Effect": "Allow", "Principal": "*", "Action": "GetObject", "Resource": "arn:aws:s3:::photos/*""#,
            ),
            "Policy has invalid action",
        ),
        (
            "action a number",
            statement(
                r#""Effect": "Allow", "Principal": "*", "Action": 3, "Resource": "arn:aws:s3:::photos/*""#,
            ),
            "Invalid policy syntax.",
        ),
        (
            "missing Resource",
            statement(r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject""#),
            "Missing required field Resource",
        ),
        (
            "resource in another bucket",
            statement(
                r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other/*""#,
            ),
            "Policy has invalid resource",
        ),
        (
            "resource a longer bucket name",
            statement(
                r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos2/*""#,
            ),
            "Policy has invalid resource",
        ),
        (
            "every bucket",
            statement(
                r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*""#,
            ),
            "Policy has invalid resource",
        ),
        (
            "resource *",
            statement(r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*""#),
            "Policy has invalid resource",
        ),
        (
            "not an S3 ARN",
            statement(
                r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "photos/*""#,
            ),
            "Policy has invalid resource",
        ),
        (
            "object action on the bucket",
            statement(
                r#""Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos""#,
            ),
            "Action does not apply to any resource(s) in statement",
        ),
        (
            "bucket action on objects",
            statement(
                r#""Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "arn:aws:s3:::photos/*""#,
            ),
            "Action does not apply to any resource(s) in statement",
        ),
        (
            "account action",
            statement(
                r#""Effect": "Allow", "Principal": "*", "Action": "s3:ListAllMyBuckets", "Resource": "arn:aws:s3:::photos""#,
            ),
            "Action does not apply to any resource(s) in statement",
        ),
        (
            "unknown condition operator",
            condition(r#"{"StringEqual": {"s3:prefix": "a"}}"#),
            "Invalid Condition type : StringEqual",
        ),
        (
            "Null with IfExists",
            condition(r#"{"NullIfExists": {"s3:prefix": "true"}}"#),
            "Invalid Condition type : NullIfExists",
        ),
        (
            "unknown qualifier",
            condition(r#"{"ForSomeValues:StringLike": {"s3:prefix": "a"}}"#),
            "Invalid Condition type : ForSomeValues:StringLike",
        ),
        (
            "unknown s3 key",
            condition(r#"{"StringEquals": {"s3:prefixes": "a"}}"#),
            "Policy has an invalid condition key",
        ),
        (
            "key of another service",
            condition(r#"{"StringEquals": {"kms:ViaService": "a"}}"#),
            "Policy has an invalid condition key",
        ),
        (
            "tag key without a tag",
            condition(r#"{"StringEquals": {"s3:ExistingObjectTag/": "a"}}"#),
            "Policy has an invalid condition key",
        ),
        (
            "bad CIDR",
            condition(r#"{"IpAddress": {"aws:SourceIp": "192.0.2.0/33"}}"#),
            "Invalid IP address in Conditions",
        ),
        (
            "not an address",
            condition(r#"{"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "intranet"]}}"#),
            "Invalid IP address in Conditions",
        ),
        (
            "bad date",
            condition(r#"{"DateLessThan": {"aws:CurrentTime": "2026-02-30T00:00:00Z"}}"#),
            "Invalid date value in Conditions: 2026-02-30T00:00:00Z",
        ),
        (
            "bad number",
            condition(r#"{"NumericLessThan": {"s3:max-keys": "ten"}}"#),
            "Invalid numeric value in Conditions: ten",
        ),
        (
            "condition value an object",
            condition(r#"{"StringEquals": {"s3:prefix": {"a": 1}}}"#),
            "Invalid policy syntax.",
        ),
        (
            "condition block not an object",
            condition(r#"{"StringEquals": "s3:prefix"}"#),
            "Invalid policy syntax.",
        ),
        ("condition not an object", condition(r#"["StringEquals"]"#), "Invalid policy syntax."),
        (
            "duplicate Sid",
            format!(
                r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "A", {bucket}}}, {{"Sid": "A", {bucket}}}]}}"#
            ),
            "Statement IDs (SID) in a single policy must be unique.",
        ),
        ("Sid not a string", valid_with(r#", "Sid": 1"#), "Invalid policy syntax."),
        ("over 20 KB", too_large, "Policies must be less than 20 KB"),
    ];
    for (what, json, message) in &cases {
        assert_eq!(refusal(json), *message, "{what}: {json}");
    }
    assert_eq!(cases.len(), 58);
}

#[test]
fn documents_s3_accepts() {
    let accepted = [
        valid_with(""),
        // One statement as an object, no Version (2008-10-17), an Id.
        r#"{"Id": "p1", "Statement": {"Effect": "Deny", "Principal": {"AWS": ["*"]}, "Action": ["s3:*"],
            "Resource": ["arn:aws:s3:::photos", "arn:aws:s3:::photos/*"]}}"#
            .into(),
        statement(
            r#""Sid": "Accounts", "Effect": "Allow",
               "Principal": {"AWS": ["111122223333", "arn:aws:iam::444455556666:root"],
                             "CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
               "NotAction": "s3:Delete*", "NotResource": "arn:aws:s3:::photos/private/*""#,
        ),
        statement(
            r#""Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
               "Resource": "arn:aws:s3:::photos/logs/${aws:SourceAccount}/*""#,
        ),
        statement(
            r#""Effect": "Allow", "Principal": "*", "Action": "S3:LISTBUCKET", "Resource": "arn:aws:s3:::photos""#,
        ),
        statement(
            r#""Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::photos*""#,
        ),
        condition(
            r#"{"StringLikeIfExists": {"s3:prefix": ["", "home/*"]}, "NumericLessThanEquals": {"s3:max-keys": 100},
                "DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z", "aws:EpochTime": 1700000000},
                "Bool": {"aws:SecureTransport": true}, "Null": {"s3:x-amz-acl": "true"},
                "IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32", "203.0.113.9"]},
                "ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["Project", "Owner"]},
                "ForAnyValue:StringLike": {"s3:ExistingObjectTag/Project": "blue*"},
                "ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::111122223333:distribution/*"},
                "StringEquals": {"aws:SomeKeyS3DoesNotCheck": "x"}}"#,
        ),
        // Whitespace around tokens does not count toward the limit.
        format!("{}{}", " ".repeat(POLICY_BYTES_MAX), valid_with("")),
    ];
    for json in &accepted {
        let policy = BucketPolicy::parse(json, BUCKET).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(policy.text(), json, "the text is kept as given");
    }
    assert_eq!(BucketPolicy::parse(&accepted[1], BUCKET).unwrap().id(), Some("p1"));
    assert_eq!(BucketPolicy::parse(&accepted[1], BUCKET).unwrap().version(), "2008-10-17");
}

#[test]
fn the_size_limit_at_and_past() {
    let fill = |n: usize| valid_with(&format!(r#", "Sid": "{}""#, "x".repeat(n)));
    let base = fill(0).len();
    let at = fill(POLICY_BYTES_MAX - base);
    // fill() is pretty-printed: its spaces between tokens do not count, so the largest accepted
    // document is longer than the limit by exactly them.
    let spaces = at.len() - minified_len(&at);
    let at = fill(POLICY_BYTES_MAX - base + spaces);
    assert_eq!(minified_len(&at), POLICY_BYTES_MAX);
    assert!(BucketPolicy::parse(&at, BUCKET).is_ok());
    let past = fill(POLICY_BYTES_MAX - base + spaces + 1);
    assert_eq!(refusal(&past), "Policies must be less than 20 KB");
}

/// The document's length without the whitespace between tokens (none of these strings holds a
/// space).
fn minified_len(json: &str) -> usize {
    let mut in_string = false;
    json.chars()
        .filter(|c| {
            if *c == '"' {
                in_string = !in_string;
            }
            in_string || !c.is_whitespace()
        })
        .count()
}
