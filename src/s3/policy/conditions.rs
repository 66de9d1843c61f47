//! The Condition element: operators, condition keys, and how a condition holds for a request.
//!
//! IAM's rules, as its documentation states them:
//! - every operator block of a statement, and every key inside a block, must hold (AND); any of
//!   a key's policy values may match (OR);
//! - a key the request does not have makes a condition false, except for a negated operator
//!   (`StringNotEquals`, `NotIpAddress`, ...: true), an `...IfExists` operator (true), `Null`
//!   (which tests exactly that) and `ForAllValues:` (true: no value fails);
//!   `ForAnyValue:` on an absent key is false;
//! - `ForAnyValue:` holds when one of the request's values matches, `ForAllValues:` when each of
//!   them matches (with a negated operator: does not match); without a qualifier a key with
//!   several values holds for a positive operator when one matches, for a negated one when none
//!   does.
//!
//! Keys are case-insensitive (a tag key after `/` keeps its case). Keys under `aws:` are all
//! accepted, as S3 accepts them; keys under `s3:` must be S3's ("Policy has an invalid condition
//! key"); there is no other prefix.

use serde_json::Value;

use super::pattern::{Template, Tok, glob};
use super::values::{Cidr, parse_date_ms, parse_number};

/// The comparison an operator makes, before negation, `IfExists` and set qualifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    ArnEquals,
    ArnLike,
    Null,
}

use Base::*;

/// Operator names (matched case-insensitively), their comparison and whether it is negated.
const OPERATORS: &[(&str, Base, bool)] = &[
    ("StringEquals", StringEquals, false),
    ("StringNotEquals", StringEquals, true),
    ("StringEqualsIgnoreCase", StringEqualsIgnoreCase, false),
    ("StringNotEqualsIgnoreCase", StringEqualsIgnoreCase, true),
    ("StringLike", StringLike, false),
    ("StringNotLike", StringLike, true),
    ("NumericEquals", NumericEquals, false),
    ("NumericNotEquals", NumericEquals, true),
    ("NumericLessThan", NumericLessThan, false),
    ("NumericLessThanEquals", NumericLessThanEquals, false),
    ("NumericGreaterThan", NumericGreaterThan, false),
    ("NumericGreaterThanEquals", NumericGreaterThanEquals, false),
    ("DateEquals", DateEquals, false),
    ("DateNotEquals", DateEquals, true),
    ("DateLessThan", DateLessThan, false),
    ("DateLessThanEquals", DateLessThanEquals, false),
    ("DateGreaterThan", DateGreaterThan, false),
    ("DateGreaterThanEquals", DateGreaterThanEquals, false),
    ("Bool", Bool, false),
    ("BinaryEquals", BinaryEquals, false),
    ("IpAddress", IpAddress, false),
    ("NotIpAddress", IpAddress, true),
    ("ArnEquals", ArnEquals, false),
    ("ArnNotEquals", ArnEquals, true),
    ("ArnLike", ArnLike, false),
    ("ArnNotLike", ArnLike, true),
    ("Null", Null, false),
];

/// `ForAnyValue:` or `ForAllValues:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SetQualifier {
    /// One of the request's values must match.
    ForAnyValue,
    /// Each of the request's values must match (true when there is none).
    ForAllValues,
}

/// A parsed operator name: `ForAllValues:StringNotLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Operator {
    pub(super) base: Base,
    pub(super) negated: bool,
    pub(super) if_exists: bool,
    pub(super) set: Option<SetQualifier>,
}

impl Operator {
    /// Reads an operator name; `None` for one IAM does not have (`Null` takes neither `IfExists`
    /// nor a qualifier).
    pub(super) fn parse(name: &str) -> Option<Operator> {
        let lower = name.to_ascii_lowercase();
        let (set, rest) = if let Some(rest) = lower.strip_prefix("foranyvalue:") {
            (Some(SetQualifier::ForAnyValue), rest)
        } else if let Some(rest) = lower.strip_prefix("forallvalues:") {
            (Some(SetQualifier::ForAllValues), rest)
        } else {
            (None, lower.as_str())
        };
        let find = |n: &str| OPERATORS.iter().find(|(op, _, _)| op.eq_ignore_ascii_case(n));
        let (found, if_exists) = match find(rest) {
            Some(found) => (found, false),
            None => (find(rest.strip_suffix("ifexists")?)?, true),
        };
        let (_, base, negated) = *found;
        if base == Null && (if_exists || set.is_some()) {
            return None;
        }
        Some(Operator { base, negated, if_exists, set })
    }
}

/// The `s3:` condition keys S3 documents (lowercase); `s3:ExistingObjectTag/<key>` and
/// `s3:RequestObjectTag/<key>` are checked apart.
const S3_KEYS: &[&str] = &[
    "s3:accesspointnetworkorigin",
    "s3:authtype",
    "s3:dataaccesspointaccount",
    "s3:dataaccesspointarn",
    "s3:delimiter",
    "s3:if-match",
    "s3:if-none-match",
    "s3:locationconstraint",
    "s3:max-keys",
    "s3:object-lock-legal-hold",
    "s3:object-lock-mode",
    "s3:object-lock-remaining-retention-days",
    "s3:object-lock-retain-until-date",
    "s3:prefix",
    "s3:requestobjecttagkeys",
    "s3:resourceaccount",
    "s3:signatureage",
    "s3:signatureversion",
    "s3:tlsversion",
    "s3:versionid",
    "s3:x-amz-acl",
    "s3:x-amz-content-sha256",
    "s3:x-amz-copy-source",
    "s3:x-amz-grant-full-control",
    "s3:x-amz-grant-read",
    "s3:x-amz-grant-read-acp",
    "s3:x-amz-grant-write",
    "s3:x-amz-grant-write-acp",
    "s3:x-amz-metadata-directive",
    "s3:x-amz-object-ownership",
    "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:x-amz-server-side-encryption-customer-algorithm",
    "s3:x-amz-storage-class",
    "s3:x-amz-website-redirect-location",
];

/// A condition key as compared: lowercase up to its first `/`, the rest (a tag key) as written.
pub(super) fn normalize_key(key: &str) -> String {
    match key.split_once('/') {
        Some((name, tag)) => format!("{}/{tag}", name.to_ascii_lowercase()),
        None => key.to_ascii_lowercase(),
    }
}

/// Whether S3 accepts the (normalized) key in a bucket policy.
fn is_known_key(key: &str) -> bool {
    if let Some(name) = key.strip_prefix("aws:") {
        return !name.is_empty();
    }
    if let Some(tag) =
        key.strip_prefix("s3:existingobjecttag/").or_else(|| key.strip_prefix("s3:requestobjecttag/"))
    {
        return !tag.is_empty();
    }
    S3_KEYS.contains(&key)
}

/// A condition's policy values, typed by its operator at parse time.
#[derive(Debug, Clone)]
pub(super) enum Values {
    /// String, ARN and binary operators: patterns that may hold variables.
    Patterns(Vec<Template>),
    /// Numeric operators.
    Numbers(Vec<f64>),
    /// Date operators, ms since the epoch.
    Dates(Vec<i64>),
    /// `Bool` and `Null`: the values, lowercase.
    Flags(Vec<String>),
    /// IP address operators.
    Cidrs(Vec<Cidr>),
}

/// One operator–key pair of a Condition element.
#[derive(Debug, Clone)]
pub(super) struct Condition {
    pub(super) op: Operator,
    /// Normalized ([`normalize_key`]).
    pub(super) key: String,
    pub(super) values: Values,
}

/// Reads a statement's Condition element. `variables`: the policy is `2012-10-17`.
pub(super) fn parse_conditions(value: &Value, variables: bool) -> Result<Vec<Condition>, String> {
    let Value::Object(blocks) = value else { return Err(super::parse::SYNTAX.into()) };
    let mut out = Vec::new();
    for (op_name, keys) in blocks {
        let op = Operator::parse(op_name).ok_or_else(|| format!("Invalid Condition type : {op_name}"))?;
        let Value::Object(keys) = keys else { return Err(super::parse::SYNTAX.into()) };
        for (key, raw) in keys {
            let key = normalize_key(key);
            if !is_known_key(&key) {
                return Err("Policy has an invalid condition key".into());
            }
            let strings = value_strings(raw)?;
            let values = typed_values(op.base, &strings, variables)?;
            out.push(Condition { op, key, values });
        }
    }
    Ok(out)
}

/// A condition value as strings: a string, number or boolean, or an array of them.
fn value_strings(raw: &Value) -> Result<Vec<String>, String> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(String::from(super::parse::SYNTAX)),
    };
    match raw {
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

fn typed_values(base: Base, strings: &[String], variables: bool) -> Result<Values, String> {
    Ok(match base {
        StringEquals | StringEqualsIgnoreCase | StringLike | ArnEquals | ArnLike | BinaryEquals => {
            Values::Patterns(strings.iter().map(|s| Template::parse(s, variables)).collect())
        }
        NumericEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => {
            let read = |s: &String| {
                parse_number(s).ok_or_else(|| format!("Invalid numeric value in Conditions: {s}"))
            };
            Values::Numbers(strings.iter().map(read).collect::<Result<_, _>>()?)
        }
        DateEquals | DateLessThan | DateLessThanEquals | DateGreaterThan | DateGreaterThanEquals => {
            let read =
                |s: &String| parse_date_ms(s).ok_or_else(|| format!("Invalid date value in Conditions: {s}"));
            Values::Dates(strings.iter().map(read).collect::<Result<_, _>>()?)
        }
        Bool | Null => Values::Flags(strings.iter().map(|s| s.to_ascii_lowercase()).collect()),
        IpAddress => {
            let read =
                |s: &String| Cidr::parse(s).ok_or_else(|| String::from("Invalid IP address in Conditions"));
            Values::Cidrs(strings.iter().map(read).collect::<Result<_, _>>()?)
        }
    })
}

/// What a condition sees of the request: the values of a key (none: absent).
pub(super) trait KeyValues {
    /// The request's values of the normalized `key`, empty when it has none.
    fn values(&self, key: &str) -> Vec<String>;

    /// The first value, for policy variables.
    fn first(&self, key: &str) -> Option<String> {
        self.values(key).into_iter().next()
    }
}

impl Condition {
    /// Whether the condition holds for the request.
    pub(super) fn holds(&self, request: &dyn KeyValues) -> bool {
        let present = request.values(&self.key);
        if let Values::Flags(flags) = &self.values
            && self.op.base == Null
        {
            // "true": the key must be absent; "false": present.
            return flags.iter().any(|f| (f == "true") == present.is_empty());
        }
        let negated = self.op.negated;
        let matches = |v: &String| self.matches(v, request);
        match self.op.set {
            None if present.is_empty() => self.op.if_exists || negated,
            None => present.iter().any(matches) != negated,
            Some(SetQualifier::ForAnyValue) => present.iter().any(|v| matches(v) != negated),
            Some(SetQualifier::ForAllValues) => present.iter().all(|v| matches(v) != negated),
        }
    }

    /// Whether one request value matches one of the policy values (before negation).
    fn matches(&self, value: &str, request: &dyn KeyValues) -> bool {
        let lookup = |key: &str| request.first(key);
        let base = self.op.base;
        match &self.values {
            Values::Patterns(patterns) => patterns.iter().any(|p| {
                let wild = matches!(base, StringLike | ArnEquals | ArnLike);
                let Some(tokens) = p.tokens(wild, &lookup) else { return false };
                match base {
                    StringEqualsIgnoreCase => glob(&lowercase(&tokens), &value.to_lowercase()),
                    ArnEquals | ArnLike => arn_match(&tokens, value),
                    _ => glob(&tokens, value),
                }
            }),
            Values::Numbers(numbers) => {
                let Some(v) = parse_number(value) else { return false };
                numbers.iter().any(|n| compare(base, v.partial_cmp(n)))
            }
            Values::Dates(dates) => {
                let Some(v) = parse_date_ms(value) else { return false };
                dates.iter().any(|d| compare(base, Some(v.cmp(d))))
            }
            Values::Flags(flags) => flags.iter().any(|f| value.eq_ignore_ascii_case(f)),
            Values::Cidrs(cidrs) => {
                let Ok(ip) = value.parse() else { return false };
                cidrs.iter().any(|c| c.contains(ip))
            }
        }
    }
}

fn lowercase(tokens: &[Tok]) -> Vec<Tok> {
    let mut out = Vec::with_capacity(tokens.len());
    for tok in tokens {
        match tok {
            Tok::Char(c) => out.extend(c.to_lowercase().map(Tok::Char)),
            other => out.push(*other),
        }
    }
    out
}

/// Request value against policy value for the ordered operators (`request <op> policy`).
fn compare(base: Base, order: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    matches!(
        (base, order),
        (NumericEquals | DateEquals, Some(Equal))
            | (NumericLessThan | DateLessThan, Some(Less))
            | (NumericLessThanEquals | DateLessThanEquals, Some(Less | Equal))
            | (NumericGreaterThan | DateGreaterThan, Some(Greater))
            | (NumericGreaterThanEquals | DateGreaterThanEquals, Some(Greater | Equal))
    )
}

/// ARN operators compare the six `:`-separated parts one by one, each with wildcards.
fn arn_match(pattern: &[Tok], value: &str) -> bool {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let mut pattern_parts: Vec<&[Tok]> = Vec::new();
    let mut rest = pattern;
    for _ in 0..5 {
        let Some(at) = rest.iter().position(|t| *t == Tok::Char(':')) else { break };
        pattern_parts.push(&rest[..at]);
        rest = &rest[at + 1..];
    }
    pattern_parts.push(rest);
    parts.len() == 6 && pattern_parts.len() == 6 && parts.iter().zip(&pattern_parts).all(|(v, p)| glob(p, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names() {
        let op = Operator::parse("ForAllValues:StringNotLikeIfExists").unwrap();
        assert_eq!(
            op,
            Operator {
                base: StringLike,
                negated: true,
                if_exists: true,
                set: Some(SetQualifier::ForAllValues)
            }
        );
        assert_eq!(Operator::parse("stringequals").unwrap().base, StringEquals);
        assert!(Operator::parse("NotIpAddress").unwrap().negated);
        assert_eq!(Operator::parse("NumericLessThanEqualsIfExists").unwrap().base, NumericLessThanEquals);
        for bad in
            ["StringEqual", "NullIfExists", "ForAnyValue:Null", "ForSomeValues:StringLike", "IfExists", ""]
        {
            assert_eq!(Operator::parse(bad), None, "{bad}");
        }
        // Every listed operator parses to itself.
        for (name, base, negated) in OPERATORS {
            let op = Operator::parse(name).unwrap();
            assert_eq!((op.base, op.negated, op.if_exists, op.set), (*base, *negated, false, None));
        }
    }

    #[test]
    fn keys_are_normalized_and_checked() {
        assert_eq!(normalize_key("S3:ExistingObjectTag/Project"), "s3:existingobjecttag/Project");
        assert_eq!(normalize_key("aws:SourceIp"), "aws:sourceip");
        for good in
            ["aws:SourceIp", "aws:AnythingAtAll", "s3:prefix", "s3:X-Amz-Acl", "s3:RequestObjectTag/k"]
        {
            assert!(is_known_key(&normalize_key(good)), "{good}");
        }
        for bad in ["s3:prefixes", "s3:ExistingObjectTag/", "kms:ViaService", "prefix", "aws:", ""] {
            assert!(!is_known_key(&normalize_key(bad)), "{bad}");
        }
    }

    #[test]
    fn arn_operators_compare_part_by_part() {
        let p = |s: &str| Template::parse(s, true).tokens(true, &|_| None).unwrap();
        assert!(arn_match(&p("arn:aws:s3:::b/*"), "arn:aws:s3:::b/x:y"));
        assert!(arn_match(&p("arn:aws:iam::*:root"), "arn:aws:iam::123456789012:root"));
        assert!(!arn_match(&p("arn:aws:iam::*:root"), "arn:aws:iam::123456789012:user/x"));
        assert!(!arn_match(&p("arn:*"), "arn:aws:iam::1:root"), "a * does not cross parts");
        assert!(!arn_match(&p("arn:aws:s3:::b"), "not-an-arn"));
    }
}
