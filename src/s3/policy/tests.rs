//! Evaluation and "is it public" against whole policies: every operator and key, wildcards, the
//! Not- elements, deny-wins, absent keys, set qualifiers, and the public cases of S3's guide.

use super::*;
use crate::engine::catalog::Account;

/// S3's example canonical id.
const ALICE_CANONICAL: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";
const ALICE_ID: &str = "438311332676";
const ALICE: Principal<'static> = Principal::Account { canonical_id: ALICE_CANONICAL, account_id: ALICE_ID };
const BOB: Principal<'static> = Principal::Account {
    canonical_id: "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0",
    account_id: "999988887777",
};

/// A `2012-10-17` policy of bucket `b` with these statements.
fn policy(statements: &str) -> BucketPolicy {
    let json = format!(r#"{{"Version": "2012-10-17", "Statement": [{statements}]}}"#);
    BucketPolicy::parse(&json, "b").unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// Allow everyone s3:GetObject on b's objects under one condition block.
fn allow_if(condition: &str) -> BucketPolicy {
    policy(&format!(
        r#"{{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
            "Condition": {condition}}}"#
    ))
}

/// A request under construction: anonymous GetObject of b/k, in process, at time 0, no keys.
#[derive(Clone)]
struct Ask<'a> {
    principal: Principal<'a>,
    action: &'a str,
    resource: &'a str,
    context: RequestContext,
    now_ms: u64,
    keys: Vec<(&'a str, &'a str)>,
}

fn ask() -> Ask<'static> {
    Ask {
        principal: Principal::Anonymous,
        action: "s3:GetObject",
        resource: "arn:aws:s3:::b/k",
        context: RequestContext::default(),
        now_ms: 0,
        keys: Vec::new(),
    }
}

impl<'a> Ask<'a> {
    fn by(mut self, principal: Principal<'a>) -> Self {
        self.principal = principal;
        self
    }
    fn action(mut self, action: &'a str) -> Self {
        self.action = action;
        self
    }
    fn on(mut self, resource: &'a str) -> Self {
        self.resource = resource;
        self
    }
    fn source(mut self, ip: &str) -> Self {
        self.context.source_ip = Some(ip.parse().unwrap());
        self
    }
    fn via(mut self, transport: Transport) -> Self {
        self.context.transport = transport;
        self
    }
    fn at(mut self, now_ms: u64) -> Self {
        self.now_ms = now_ms;
        self
    }
    fn key(mut self, name: &'a str, value: &'a str) -> Self {
        self.keys.push((name, value));
        self
    }
    fn to(&self, policy: &BucketPolicy) -> PolicyDecision {
        policy.evaluate(&PolicyRequest {
            principal: self.principal,
            action: self.action,
            resource: self.resource,
            context: &self.context,
            now_ms: self.now_ms,
            keys: &self.keys,
        })
    }
    fn allowed(&self, policy: &BucketPolicy) -> bool {
        self.to(policy) == PolicyDecision::Allow
    }
}

use PolicyDecision::{Allow, Deny, Implicit};

#[test]
fn account_ids_are_twelve_digits_derived_from_the_canonical_id() {
    let account = Account { canonical_id: ALICE_CANONICAL.into(), display_name: "alice".into() };
    assert_eq!(account.account_id(), ALICE_ID, "first 8 bytes of SHA-256, big-endian, mod 10^12");
    assert_eq!(account.account_id(), account.account_id());
    let other = Account { canonical_id: "0".repeat(64), display_name: "alice".into() };
    let id = other.account_id();
    assert!(id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) && id != ALICE_ID, "{id}");
}

#[test]
fn principals_match_by_account_id_root_arn_canonical_id_or_everyone() {
    for principal in [
        format!(r#"{{"AWS": "{ALICE_ID}"}}"#),
        format!(r#"{{"AWS": "arn:aws:iam::{ALICE_ID}:root"}}"#),
        format!(r#"{{"CanonicalUser": "{}"}}"#, ALICE_CANONICAL.to_uppercase()),
        format!(r#"{{"AWS": ["111111111111", "{ALICE_ID}"]}}"#),
    ] {
        let p = policy(&format!(
            r#"{{"Effect": "Allow", "Principal": {principal}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}}"#
        ));
        assert_eq!(ask().by(ALICE).to(&p), Allow, "{principal}");
        assert_eq!(ask().by(BOB).to(&p), Implicit, "{principal}");
        assert_eq!(ask().to(&p), Implicit, "anonymous: {principal}");
    }
    for everyone in [r#""*""#, r#"{"AWS": "*"}"#, r#"{"AWS": ["*"]}"#] {
        let p = policy(&format!(
            r#"{{"Effect": "Allow", "Principal": {everyone}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}}"#
        ));
        assert!(ask().allowed(&p) && ask().by(ALICE).allowed(&p), "{everyone}");
    }
    let service = policy(
        r#"{"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::b/*"}"#,
    );
    assert_eq!(ask().by(ALICE).action("s3:PutObject").to(&service), Implicit, "no service calls this store");
}

#[test]
fn an_explicit_deny_wins_in_any_order() {
    let allow = r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}"#;
    let deny = format!(
        r#"{{"Effect": "Deny", "Principal": {{"AWS": "{ALICE_ID}"}}, "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/*"}}"#
    );
    for p in [policy(&format!("{allow},{deny}")), policy(&format!("{deny},{allow}"))] {
        assert_eq!(ask().by(ALICE).action("s3:DeleteObject").to(&p), Deny);
        assert_eq!(ask().by(ALICE).to(&p), Allow);
        assert_eq!(ask().by(BOB).action("s3:DeleteObject").to(&p), Allow);
        assert_eq!(ask().on("arn:aws:s3:::b").action("s3:ListBucket").to(&p), Implicit);
    }
}

#[test]
fn not_principal_not_action_and_not_resource_invert_their_match() {
    let p = policy(&format!(
        r#"{{"Effect": "Deny", "NotPrincipal": {{"AWS": "{ALICE_ID}"}}, "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}}"#
    ));
    assert_eq!(ask().by(ALICE).to(&p), Implicit);
    assert_eq!(ask().by(BOB).to(&p), Deny);
    assert_eq!(ask().to(&p), Deny, "anonymous is not Alice");

    let p = policy(
        r#"{"Effect": "Allow", "Principal": "*", "NotAction": ["s3:Delete*", "s3:Put*"], "Resource": "arn:aws:s3:::b/*"}"#,
    );
    assert_eq!(ask().to(&p), Allow);
    assert_eq!(ask().action("s3:DeleteObjectVersion").to(&p), Implicit);
    assert_eq!(ask().action("s3:PutObject").to(&p), Implicit);

    let p = policy(
        r#"{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b/public/*"}"#,
    );
    assert_eq!(ask().on("arn:aws:s3:::b/private/x").to(&p), Deny);
    assert_eq!(ask().on("arn:aws:s3:::b/public/x").to(&p), Implicit);
}

#[test]
fn actions_match_case_insensitively_with_wildcards() {
    for action in
        [r#""s3:GetObject""#, r#""S3:GETOBJECT""#, r#""s3:Get*""#, r#""s3:GetObjec?""#, r#""s3:*""#, r#""*""#]
    {
        let p = policy(&format!(
            r#"{{"Effect": "Allow", "Principal": "*", "Action": {action}, "Resource": "arn:aws:s3:::b/*"}}"#
        ));
        assert!(ask().action("s3:getobject").allowed(&p), "{action}");
        assert!(ask().action("S3:GetObject").allowed(&p), "{action}");
    }
    let p = policy(
        r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}"#,
    );
    assert!(!ask().action("s3:PutObject").allowed(&p));
    assert!(ask().action("s3:GetObjectVersion").allowed(&p));
}

#[test]
fn resources_tell_the_bucket_from_its_objects() {
    let p =
        policy(r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}"#);
    assert!(ask().allowed(&p));
    assert!(!ask().action("s3:ListBucket").on("arn:aws:s3:::b").allowed(&p), "b/* is not the bucket");
    assert!(!ask().on("arn:aws:s3:::bc/k").allowed(&p));

    let p = policy(
        r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/docs/*.pdf"}"#,
    );
    assert!(ask().on("arn:aws:s3:::b/docs/2024/a.pdf").allowed(&p), "* crosses /");
    assert!(!ask().on("arn:aws:s3:::b/docs/a.txt").allowed(&p));
    assert!(!ask().on("arn:aws:s3:::b/Docs/a.pdf").allowed(&p), "resources are case-sensitive");

    let p = policy(
        r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/a?c"}"#,
    );
    assert!(ask().on("arn:aws:s3:::b/abc").allowed(&p) && !ask().on("arn:aws:s3:::b/ac").allowed(&p));

    let p =
        policy(r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b*"}"#);
    assert!(ask().on("arn:aws:s3:::b").action("s3:ListBucket").allowed(&p) && ask().allowed(&p));
}

#[test]
fn policy_variables_fill_resources_in_2012_policies_only() {
    let statement = r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::b/home/${aws:userid}/*"}"#;
    let p = policy(statement);
    let home = format!("arn:aws:s3:::b/home/{ALICE_ID}/notes");
    assert!(ask().by(ALICE).on(&home).allowed(&p));
    assert!(!ask().by(BOB).on(&home).allowed(&p));
    assert!(ask().on("arn:aws:s3:::b/home/anonymous/x").allowed(&p));

    let old = BucketPolicy::parse(&format!(r#"{{"Version": "2008-10-17", "Statement": {statement}}}"#), "b")
        .unwrap();
    assert_eq!(old.version(), "2008-10-17");
    assert!(!ask().by(ALICE).on(&home).allowed(&old));
    assert!(ask().on("arn:aws:s3:::b/home/${aws:userid}/x").allowed(&old), "plain text in 2008-10-17");

    let p = policy(
        r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:username}/*"}"#,
    );
    assert!(
        !ask().by(ALICE).on("arn:aws:s3:::b//x").allowed(&p),
        "a variable without a value matches nothing"
    );
}

/// Whether `allow_if(condition)` allows the request.
fn holds(condition: &str, request: &Ask<'_>) -> bool {
    request.allowed(&allow_if(condition))
}

#[test]
fn string_operators() {
    let k = |v| ask().key("s3:x-amz-acl", v);
    let c = |op: &str, values: &str| format!(r#"{{"{op}": {{"s3:x-amz-acl": {values}}}}}"#);
    assert!(holds(&c("StringEquals", r#""private""#), &k("private")));
    assert!(!holds(&c("StringEquals", r#""private""#), &k("Private")));
    assert!(holds(&c("StringEquals", r#"["public-read", "private"]"#), &k("private")), "any value");
    assert!(!holds(&c("StringNotEquals", r#"["public-read", "private"]"#), &k("private")));
    assert!(holds(&c("StringNotEquals", r#""private""#), &k("public-read")));
    assert!(holds(&c("StringEqualsIgnoreCase", r#""PRIVATE""#), &k("Private")));
    assert!(!holds(&c("StringNotEqualsIgnoreCase", r#""PRIVATE""#), &k("private")));
    assert!(holds(&c("StringNotEqualsIgnoreCase", r#""PRIVATE""#), &k("public-read")));
    assert!(holds(&c("StringLike", r#""pub*-r??d""#), &k("public-read")));
    assert!(!holds(&c("StringLike", r#""pub*-r?d""#), &k("public-read")));
    assert!(holds(&c("StringNotLike", r#""pub*""#), &k("private")));
    assert!(!holds(&c("StringNotLike", r#""pub*""#), &k("public-read")));
    assert!(!holds(&c("StringEquals", r#""pri*""#), &k("private")), "no wildcards in StringEquals");
    assert!(
        holds(&c("StringLike", r#""a${*}b""#), &k("a*b"))
            && !holds(&c("StringLike", r#""a${*}b""#), &k("aXb"))
    );
    // A policy variable in a value: the prefix must be the caller's own folder.
    let own = r#"{"StringLike": {"s3:prefix": "home/${aws:userid}/*"}}"#;
    assert!(holds(own, &ask().by(ALICE).key("s3:prefix", "home/438311332676/docs")));
    assert!(!holds(own, &ask().by(BOB).key("s3:prefix", "home/438311332676/docs")));
}

#[test]
fn numeric_operators() {
    let k = |v| ask().key("s3:max-keys", v);
    let c = |op: &str, v: &str| format!(r#"{{"{op}": {{"s3:max-keys": {v}}}}}"#);
    assert!(holds(&c("NumericEquals", "10"), &k("10")) && holds(&c("NumericEquals", r#""10""#), &k("10.0")));
    assert!(!holds(&c("NumericEquals", "10"), &k("11")));
    assert!(holds(&c("NumericNotEquals", "10"), &k("11")) && !holds(&c("NumericNotEquals", "10"), &k("10")));
    assert!(holds(&c("NumericLessThan", "10"), &k("9")) && !holds(&c("NumericLessThan", "10"), &k("10")));
    assert!(
        holds(&c("NumericLessThanEquals", "10"), &k("10"))
            && !holds(&c("NumericLessThanEquals", "10"), &k("11"))
    );
    assert!(
        holds(&c("NumericGreaterThan", "10"), &k("11")) && !holds(&c("NumericGreaterThan", "10"), &k("10"))
    );
    assert!(
        holds(&c("NumericGreaterThanEquals", "2.5"), &k("2.5"))
            && !holds(&c("NumericGreaterThanEquals", "2.5"), &k("2"))
    );
    assert!(!holds(&c("NumericLessThan", "10"), &k("nine")), "an unreadable request value matches nothing");
    assert!(holds(&c("NumericNotEquals", "10"), &k("nine")), "so its negation holds");
}

#[test]
fn date_operators_read_iso_8601_and_epoch_seconds() {
    let noon = 1_783_339_200_000; // 2026-07-06T12:00:00Z
    let at = |ms| ask().at(ms);
    let c = |op: &str, v: &str| format!(r#"{{"{op}": {{"aws:CurrentTime": "{v}"}}}}"#);
    assert!(holds(&c("DateLessThan", "2026-07-06T12:00:01Z"), &at(noon)));
    assert!(!holds(&c("DateLessThan", "2026-07-06T12:00:00Z"), &at(noon)));
    assert!(holds(&c("DateLessThanEquals", "2026-07-06T13:00:00+01:00"), &at(noon)));
    assert!(holds(&c("DateGreaterThan", "2026-07-06"), &at(noon)));
    assert!(!holds(&c("DateGreaterThan", "2026-07-07"), &at(noon)));
    assert!(holds(&c("DateGreaterThanEquals", "1783339200"), &at(noon)), "epoch seconds");
    assert!(holds(&c("DateEquals", "2026-07-06T12:00:00Z"), &at(noon)));
    assert!(!holds(&c("DateEquals", "2026-07-06T12:00:00Z"), &at(noon + 400)), "to the millisecond");
    assert!(holds(&c("DateNotEquals", "2026-07-06T12:00:00Z"), &at(noon + 1000)));
    let epoch = |op: &str, v: &str| format!(r#"{{"{op}": {{"aws:EpochTime": {v}}}}}"#);
    assert!(holds(&epoch("DateLessThan", "1783339201"), &at(noon)));
    assert!(holds(&epoch("NumericGreaterThanEquals", "1783339200"), &at(noon + 999)));
    assert!(holds(&epoch("DateGreaterThan", r#""2026-07-06T11:59:59Z""#), &at(noon)));
    // A date from the request's own keys.
    let lock = r#"{"DateLessThanEquals": {"s3:object-lock-retain-until-date": "2027-01-01T00:00:00Z"}}"#;
    assert!(holds(lock, &ask().key("s3:object-lock-retain-until-date", "2026-12-31T00:00:00.000Z")));
    assert!(!holds(lock, &ask().key("s3:object-lock-retain-until-date", "2027-06-01T00:00:00Z")));
    assert!(!holds(lock, &ask().key("s3:object-lock-retain-until-date", "soon")));
}

#[test]
fn bool_and_secure_transport() {
    let deny_plain = policy(
        r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
           {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}"#,
    );
    assert_eq!(ask().via(Transport::Http).to(&deny_plain), Deny);
    assert_eq!(ask().via(Transport::Https).to(&deny_plain), Allow);
    assert_eq!(ask().via(Transport::InProcess).to(&deny_plain), Allow, "in-process calls are not on a wire");
    assert!(holds(r#"{"Bool": {"aws:SecureTransport": true}}"#, &ask()), "a JSON boolean");
    assert!(holds(r#"{"Bool": {"aws:SecureTransport": "TRUE"}}"#, &ask().via(Transport::Https)));
    assert!(!holds(r#"{"Bool": {"aws:SecureTransport": "true"}}"#, &ask().via(Transport::Http)));
}

#[test]
fn ip_address_operators_on_both_families() {
    let v4 = r#"{"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.7"]}}"#;
    assert!(holds(v4, &ask().source("192.0.2.44")));
    assert!(holds(v4, &ask().source("203.0.113.7")));
    assert!(!holds(v4, &ask().source("203.0.113.8")));
    assert!(!holds(v4, &ask()), "no source address: absent");
    let v6 = r#"{"IpAddress": {"aws:SourceIp": "2001:DB8:1234:5678::/64"}}"#;
    assert!(holds(v6, &ask().source("2001:db8:1234:5678:abcd::1")));
    assert!(!holds(v6, &ask().source("2001:db8:1234:5679::1")));
    assert!(!holds(v6, &ask().source("192.0.2.1")));
    // S3's example: allow a /24 but not one address in it.
    let carve = r#"{"IpAddress": {"aws:SourceIp": "54.240.143.0/24"}, "NotIpAddress": {"aws:SourceIp": "54.240.143.188/32"}}"#;
    assert!(holds(carve, &ask().source("54.240.143.1")));
    assert!(!holds(carve, &ask().source("54.240.143.188")));
    assert!(holds(r#"{"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}"#, &ask()), "negated on an absent key");
    let caller_said = ask().key("aws:SourceIp", "192.0.2.1");
    assert!(!holds(v4, &caller_said), "aws:SourceIp comes from the context only");
}

#[test]
fn null_arn_and_binary_operators() {
    let no_tag = r#"{"Null": {"s3:RequestObjectTag/Project": "true"}}"#;
    assert!(holds(no_tag, &ask()));
    assert!(!holds(no_tag, &ask().key("s3:RequestObjectTag/Project", "x")));
    let tagged = r#"{"Null": {"s3:RequestObjectTag/Project": false}}"#;
    assert!(holds(tagged, &ask().key("s3:requestobjecttag/Project", "x")), "key names are case-insensitive");
    assert!(!holds(tagged, &ask().key("s3:RequestObjectTag/project", "x")), "tag keys are not");

    let arn = r#"{"ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::111122223333:distribution/*"}}"#;
    assert!(holds(arn, &ask().key("aws:SourceArn", "arn:aws:cloudfront::111122223333:distribution/E1")));
    assert!(!holds(arn, &ask().key("aws:SourceArn", "arn:aws:cloudfront::444455556666:distribution/E1")));
    let not_arn = r#"{"ArnNotEquals": {"aws:SourceArn": "arn:aws:s3:::logs"}}"#;
    assert!(holds(not_arn, &ask().key("aws:SourceArn", "arn:aws:s3:::other")));
    assert!(!holds(not_arn, &ask().key("aws:SourceArn", "arn:aws:s3:::logs")));

    let binary = r#"{"BinaryEquals": {"aws:RequestTag/blob": "QmluYXJ5"}}"#;
    assert!(holds(binary, &ask().key("aws:RequestTag/blob", "QmluYXJ5")));
    assert!(!holds(binary, &ask().key("aws:RequestTag/blob", "QmluYXJ6")));
}

#[test]
fn absent_keys_follow_iam() {
    let absent = ask();
    let present = ask().key("s3:x-amz-server-side-encryption", "aws:kms");
    let c = |op: &str| format!(r#"{{"{op}": {{"s3:x-amz-server-side-encryption": "AES256"}}}}"#);
    assert!(!holds(&c("StringEquals"), &absent), "positive on an absent key: false");
    assert!(holds(&c("StringNotEquals"), &absent), "negated on an absent key: true");
    assert!(holds(&c("StringEqualsIfExists"), &absent), "IfExists on an absent key: true");
    assert!(!holds(&c("StringEqualsIfExists"), &present), "IfExists on a present key: the operator");
    assert!(holds(&c("StringNotEqualsIfExists"), &present));
    assert!(!holds(&c("ForAnyValue:StringEquals"), &absent), "ForAnyValue on an absent key: false");
    assert!(holds(&c("ForAllValues:StringEquals"), &absent), "ForAllValues on an absent key: true");
    assert!(!holds(&c("NumericLessThan").replace("AES256", "5"), &absent));
    assert!(holds(&c("NumericLessThanIfExists").replace("AES256", "5"), &absent));
    assert!(!holds(&c("DateLessThan").replace("AES256", "2030-01-01"), &absent));
    assert!(!holds(&c("Bool").replace("AES256", "true"), &absent));
    assert!(!holds(r#"{"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}"#, &absent));
    assert!(holds(r#"{"IpAddressIfExists": {"aws:SourceIp": "192.0.2.0/24"}}"#, &absent));
    // S3's "require encryption" deny: refuses a put without the header, and one with another value.
    let p = policy(
        r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"},
           {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*",
            "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}}"#,
    );
    assert_eq!(ask().action("s3:PutObject").to(&p), Deny);
    assert_eq!(present.clone().action("s3:PutObject").to(&p), Deny);
    assert_eq!(ask().action("s3:PutObject").key("s3:x-amz-server-side-encryption", "AES256").to(&p), Allow);
}

#[test]
fn set_qualifiers_over_several_values() {
    let tags =
        |values: &[&'static str]| values.iter().fold(ask(), |a, v| a.key("s3:RequestObjectTagKeys", v));
    let any = r#"{"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": ["Project", "Owner"]}}"#;
    assert!(holds(any, &tags(&["Cost", "Owner"])));
    assert!(!holds(any, &tags(&["Cost", "Team"])));
    let all = r#"{"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["Project", "Owner"]}}"#;
    assert!(holds(all, &tags(&["Project", "Owner"])));
    assert!(!holds(all, &tags(&["Project", "Cost"])));
    assert!(holds(all, &tags(&[])), "no values: none fails");
    let all_not = r#"{"ForAllValues:StringNotLike": {"s3:RequestObjectTagKeys": "secret*"}}"#;
    assert!(holds(all_not, &tags(&["Project", "Owner"])));
    assert!(!holds(all_not, &tags(&["Project", "secret-x"])));
    let any_not = r#"{"ForAnyValue:StringNotEquals": {"s3:RequestObjectTagKeys": "Project"}}"#;
    assert!(holds(any_not, &tags(&["Project", "Owner"])));
    assert!(!holds(any_not, &tags(&["Project"])));
    // Unqualified on several values: a positive operator needs one match, a negated one none.
    assert!(holds(r#"{"StringEquals": {"s3:RequestObjectTagKeys": "Owner"}}"#, &tags(&["Cost", "Owner"])));
    assert!(!holds(
        r#"{"StringNotEquals": {"s3:RequestObjectTagKeys": "Owner"}}"#,
        &tags(&["Cost", "Owner"])
    ));
}

#[test]
fn conditions_combine_with_and_and_values_with_or() {
    let c = r#"{"StringEquals": {"s3:prefix": ["", "home/"], "s3:delimiter": "/"}, "NumericLessThanEquals": {"s3:max-keys": 100}}"#;
    let list = |prefix, delimiter, max| {
        ask().key("s3:prefix", prefix).key("s3:delimiter", delimiter).key("s3:max-keys", max)
    };
    assert!(holds(c, &list("home/", "/", "100")));
    assert!(holds(c, &list("", "/", "1")));
    assert!(!holds(c, &list("home/", "/", "101")));
    assert!(!holds(c, &list("other/", "/", "10")));
    assert!(!holds(c, &list("home/", "|", "10")));
    assert!(
        holds(r#"{"StringEquals": {"S3:Prefix": "home/"}}"#, &ask().key("s3:PREFIX", "home/")),
        "names ignore case"
    );
    assert!(holds("{}", &ask()), "an empty Condition holds");
}

#[test]
fn the_evaluators_own_keys() {
    let c = |key: &str, op: &str, v: &str| format!(r#"{{"{op}": {{"{key}": "{v}"}}}}"#);
    assert!(holds(&c("aws:PrincipalAccount", "StringEquals", ALICE_ID), &ask().by(ALICE)));
    assert!(!holds(&c("aws:PrincipalAccount", "StringEquals", ALICE_ID), &ask().by(BOB)));
    assert!(!holds(&c("aws:PrincipalAccount", "StringLike", "*"), &ask()), "anonymous has no account");
    assert!(holds(&c("aws:PrincipalArn", "ArnEquals", "arn:aws:iam::438311332676:root"), &ask().by(ALICE)));
    assert!(holds(&c("aws:PrincipalType", "StringEquals", "Anonymous"), &ask()));
    assert!(holds(&c("aws:PrincipalType", "StringEquals", "Account"), &ask().by(BOB)));
    assert!(holds(&c("aws:userid", "StringEquals", "anonymous"), &ask()));
    assert!(holds(&c("aws:userid", "StringEquals", "999988887777"), &ask().by(BOB)));
    assert!(!holds(&c("aws:username", "StringLike", "*"), &ask().by(BOB)), "accounts have no user name");
    assert!(holds(&c("aws:CurrentTime", "StringLike", "1970-01-01T00:00:01*"), &ask().at(1500)));
    assert!(holds(&c("aws:EpochTime", "StringEquals", "1"), &ask().at(1999)));
    let forged = ask().by(BOB).key("aws:PrincipalAccount", ALICE_ID);
    assert!(
        !holds(&c("aws:PrincipalAccount", "StringEquals", ALICE_ID), &forged),
        "the caller cannot forge it"
    );
    assert!(
        holds(&c("aws:SourceVpc", "StringEquals", "vpc-1"), &ask().key("aws:SourceVpc", "vpc-1")),
        "others: the caller's"
    );
}

#[test]
fn evaluation_is_deterministic_across_clones() {
    let p = allow_if(r#"{"StringLike": {"s3:prefix": "a*"}}"#);
    let copy = p.clone();
    assert_eq!(copy.text(), p.text());
    assert_eq!(ask().key("s3:prefix", "abc").to(&copy), Allow);
    assert_eq!(p.id(), None);
}

/// Whether a policy of the given statements is public.
fn public(statements: &str) -> bool {
    policy(statements).is_public()
}

/// An Allow of s3:GetObject on b's objects from `principal` under `condition`.
fn grant(principal: &str, condition: &str) -> String {
    format!(
        r#"{{"Effect": "Allow", "Principal": {principal}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
            "Condition": {condition}}}"#
    )
}

#[test]
fn public_policies_as_s3_counts_them() {
    // The guide's examples: public...
    assert!(public(&grant(r#""*""#, "{}")));
    assert!(public(&grant(r#"{"AWS": "*"}"#, "{}")));
    assert!(public(&grant(r#""*""#, r#"{"StringLike": {"aws:SourceVpc": "vpc-*"}}"#)));
    // ...and made non-public with a fixed value.
    assert!(!public(&grant(r#""*""#, r#"{"StringEquals": {"aws:SourceVpc": "vpc-91237329"}}"#)));
    for key in [
        "aws:SourceArn",
        "aws:SourceVpce",
        "aws:SourceOwner",
        "aws:SourceAccount",
        "aws:PrincipalAccount",
        "aws:PrincipalOrgID",
        "s3:DataAccessPointAccount",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
    ] {
        assert!(
            !public(&grant(r#""*""#, &format!(r#"{{"StringEquals": {{"{key}": "111122223333"}}}}"#))),
            "{key}"
        );
        assert!(
            public(&grant(r#""*""#, &format!(r#"{{"StringLike": {{"{key}": "1111*"}}}}"#))),
            "{key} wildcard"
        );
        assert!(
            public(&grant(r#""*""#, &format!(r#"{{"StringNotEquals": {{"{key}": "111122223333"}}}}"#))),
            "{key} negated"
        );
        assert!(
            public(&grant(r#""*""#, &format!(r#"{{"StringEqualsIfExists": {{"{key}": "111122223333"}}}}"#))),
            "{key} IfExists"
        );
        assert!(
            public(&grant(
                r#""*""#,
                &format!(r#"{{"ForAllValues:StringEquals": {{"{key}": "111122223333"}}}}"#)
            )),
            "{key} ForAllValues"
        );
        assert!(
            !public(&grant(
                r#""*""#,
                &format!(r#"{{"ForAnyValue:StringEquals": {{"{key}": "111122223333"}}}}"#)
            )),
            "{key} ForAnyValue"
        );
    }
    assert!(!public(&grant(
        r#""*""#,
        r#"{"ArnEquals": {"aws:SourceArn": "arn:aws:cloudfront::111122223333:distribution/E1"}}"#
    )));
    assert!(public(&grant(
        r#""*""#,
        r#"{"ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::*:distribution/*"}}"#
    )));
    assert!(
        public(&grant(r#""*""#, r#"{"StringEquals": {"aws:SourceAccount": "${aws:PrincipalAccount}"}}"#)),
        "a variable is not fixed"
    );
    // aws:userid: a role's sessions (ROLEID:*) count as fixed; other wildcards do not.
    assert!(!public(&grant(r#""*""#, r#"{"StringLike": {"aws:userid": "AROAEXAMPLEID:*"}}"#)));
    assert!(public(&grant(r#""*""#, r#"{"StringLike": {"aws:userid": "AROA*"}}"#)));
    // s3:DataAccessPointArn: the access point name may be a wildcard if the account is fixed.
    assert!(!public(&grant(
        r#""*""#,
        r#"{"StringLike": {"s3:DataAccessPointArn": "arn:aws:s3:us-east-1:111122223333:accesspoint/*"}}"#
    )));
    assert!(public(&grant(
        r#""*""#,
        r#"{"StringLike": {"s3:DataAccessPointArn": "arn:aws:s3:us-east-1:*:accesspoint/*"}}"#
    )));
}

#[test]
fn source_ip_pins_only_narrow_blocks() {
    let ip = |cidrs: &str| grant(r#""*""#, &format!(r#"{{"IpAddress": {{"aws:SourceIp": {cidrs}}}}}"#));
    assert!(!public(&ip(r#""192.0.2.0/24""#)));
    assert!(!public(&ip(r#"["10.0.0.0/8", "2001:db8::/32"]"#)));
    assert!(public(&ip(r#""0.0.0.0/1""#)), "broader than /8");
    assert!(public(&ip(r#"["192.0.2.0/24", "::/0"]"#)), "one broad block is enough");
    assert!(public(&ip(r#""2000::/16""#)), "IPv6 broader than /32");
    assert!(public(&grant(r#""*""#, r#"{"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}"#)));
    assert!(public(&grant(r#""*""#, r#"{"IpAddressIfExists": {"aws:SourceIp": "192.0.2.0/24"}}"#)));
}

#[test]
fn what_is_never_public() {
    assert!(!public(&grant(&format!(r#"{{"AWS": "{ALICE_ID}"}}"#), "{}")), "a fixed principal");
    assert!(!public(&grant(&format!(r#"{{"CanonicalUser": "{ALICE_CANONICAL}"}}"#), "{}")));
    assert!(!public(
        r#"{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}"#
    ));
    // Conditions on keys that pin nobody do not help.
    assert!(public(&grant(r#""*""#, r#"{"Bool": {"aws:SecureTransport": "true"}}"#)));
    assert!(public(&grant(r#""*""#, r#"{"StringEquals": {"s3:prefix": "public/"}}"#)));
    // One pinning condition among others is enough; one public statement among others too.
    assert!(!public(&grant(
        r#""*""#,
        r#"{"Bool": {"aws:SecureTransport": "true"}, "StringEquals": {"aws:SourceAccount": "111122223333"}}"#
    )));
    let private = grant(&format!(r#"{{"AWS": "{ALICE_ID}"}}"#), "{}");
    assert!(public(&format!("{private},{}", grant(r#""*""#, "{}"))));
    // An Allow with NotPrincipal grants everyone else.
    assert!(public(&format!(
        r#"{{"Effect": "Allow", "NotPrincipal": {{"AWS": "{ALICE_ID}"}}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}}"#
    )));
    assert!(!public(
        r#"{"Effect": "Allow", "NotPrincipal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}"#
    ));
}
