//! From the document's text to checked statements. Every refusal is a reason string in S3's
//! words, which `BucketPolicy::parse` wraps in `Error::MalformedPolicy`.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::POLICY_BYTES_MAX;
use super::actions::{ActionKind, kinds_named};
use super::conditions::{Condition, parse_conditions};
use super::pattern::Template;

/// S3's answer for an element of the wrong JSON type.
pub(super) const SYNTAX: &str = "Invalid policy syntax.";
const TOO_LARGE: &str = "Policies must be less than 20 KB";
const FIRST_BYTE: &str = "Policies must be valid JSON and the first byte must be '{'";
const INVALID_JSON: &str = "This policy contains invalid Json";
const INVALID_PRINCIPAL: &str = "Invalid principal in policy";
const INVALID_ACTION: &str = "Policy has invalid action";
const INVALID_RESOURCE: &str = "Policy has invalid resource";

/// The policy language versions S3 accepts; a document without one is `2008-10-17`.
const VERSIONS: [&str; 2] = ["2012-10-17", "2008-10-17"];
const DOCUMENT_ELEMENTS: [&str; 3] = ["Version", "Id", "Statement"];
const STATEMENT_ELEMENTS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Effect {
    Allow,
    Deny,
}

/// One principal a statement names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PrincipalPattern {
    /// `"*"` or `{"AWS": "*"}`: everyone, anonymous callers included.
    Everyone,
    /// An account by its 12-digit id (`"123456789012"` or `"arn:aws:iam::123456789012:root"`).
    Account(String),
    /// `{"CanonicalUser": "<64 hex>"}`, lowercase.
    Canonical(String),
    /// `{"Service": "logging.s3.amazonaws.com"}`: accepted, never matches a caller of this store.
    Service(String),
}

/// A statement, checked.
#[derive(Debug, Clone)]
pub(super) struct Statement {
    pub(super) sid: Option<String>,
    pub(super) effect: Effect,
    /// True for NotPrincipal.
    pub(super) not_principal: bool,
    pub(super) principals: Vec<PrincipalPattern>,
    /// True for NotAction.
    pub(super) not_action: bool,
    /// Lowercase action patterns (`s3:get*`, `*`).
    pub(super) actions: Vec<String>,
    /// True for NotResource.
    pub(super) not_resource: bool,
    pub(super) resources: Vec<Template>,
    pub(super) conditions: Vec<Condition>,
}

/// A checked document: its version and statements.
#[derive(Debug, Clone)]
pub(super) struct Document {
    pub(super) version: &'static str,
    pub(super) id: Option<String>,
    pub(super) statements: Vec<Statement>,
}

/// Parses and checks a policy document for `bucket`.
pub(super) fn parse_document(json: &str, bucket: &str) -> Result<Document, String> {
    if significant_len(json) > POLICY_BYTES_MAX {
        return Err(TOO_LARGE.into());
    }
    if !json.trim_start_matches([' ', '\t', '\r', '\n']).starts_with('{') {
        return Err(FIRST_BYTE.into());
    }
    let Value::Object(doc) = strict_json(json)? else { return Err(FIRST_BYTE.into()) };
    if let Some(name) = doc.keys().find(|k| !DOCUMENT_ELEMENTS.contains(&k.as_str())) {
        return Err(format!("Unknown field {name}"));
    }
    let version = match doc.get("Version") {
        None => VERSIONS[1],
        Some(Value::String(v)) => VERSIONS
            .into_iter()
            .find(|known| known == v)
            .ok_or("The policy must contain a valid version string")?,
        Some(_) => return Err("The policy must contain a valid version string".into()),
    };
    let id = match doc.get("Id") {
        None => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(_) => return Err(SYNTAX.into()),
    };
    let items = match doc.get("Statement") {
        None => return Err("Missing required field Statement".into()),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        Some(_) => return Err(SYNTAX.into()),
    };
    if items.is_empty() {
        return Err("Could not parse the policy: Statement is empty!".into());
    }
    let mut statements: Vec<Statement> = Vec::with_capacity(items.len());
    for item in items {
        let statement = parse_statement(item, bucket, version == VERSIONS[0])?;
        if let Some(sid) = &statement.sid
            && statements.iter().any(|s| s.sid.as_ref() == Some(sid))
        {
            return Err("Statement IDs (SID) in a single policy must be unique.".into());
        }
        statements.push(statement);
    }
    Ok(Document { version, id, statements })
}

/// The document's size as S3 counts it: JSON whitespace between tokens does not count (a
/// pretty-printed policy is measured as if minified).
fn significant_len(json: &str) -> usize {
    let (mut n, mut in_string, mut escaped) = (0, false, false);
    for b in json.bytes() {
        if in_string {
            n += 1;
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if !matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            n += 1;
            in_string = b == b'"';
        }
    }
    n
}

fn parse_statement(value: &Value, bucket: &str, variables: bool) -> Result<Statement, String> {
    let Value::Object(s) = value else { return Err(SYNTAX.into()) };
    if let Some(name) = s.keys().find(|k| !STATEMENT_ELEMENTS.contains(&k.as_str())) {
        return Err(format!("Unknown field {name}"));
    }
    for name in ["Principal", "Action", "Resource"] {
        if s.contains_key(name) && s.contains_key(&format!("Not{name}")) {
            return Err(format!("Statement/policy already has instance of {name}"));
        }
    }
    let effect = match s.get("Effect") {
        None => return Err("Missing required field Effect".into()),
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(Value::String(e)) => return Err(format!("Invalid effect: {e}")),
        Some(other) => return Err(format!("Invalid effect: {other}")),
    };
    let sid = match s.get("Sid") {
        None => None,
        Some(Value::String(sid)) => Some(sid.clone()),
        Some(_) => return Err(SYNTAX.into()),
    };
    let (not_principal, principal) = either(s, "Principal")?;
    let principals = parse_principal(principal)?;
    let (not_action, actions) = either(s, "Action")?;
    let actions = list(actions, "Action")?;
    let (not_resource, resources) = either(s, "Resource")?;
    let resources = list(resources, "Resource")?;
    let conditions = match s.get("Condition") {
        Some(c) => parse_conditions(c, variables)?,
        None => Vec::new(),
    };

    let mut kinds = Vec::new();
    for action in &actions {
        let named = if action == "*" || action.starts_with("s3:") { kinds_named(action) } else { Vec::new() };
        if named.is_empty() {
            return Err(INVALID_ACTION.into());
        }
        kinds.push(named);
    }
    let mut templates = Vec::with_capacity(resources.len());
    let mut reach = Reach::default();
    for resource in &resources {
        reach.add(resource_reach(resource, bucket).ok_or(INVALID_RESOURCE)?);
        templates.push(Template::parse(resource, variables));
    }
    if !not_action && !not_resource && !kinds.iter().all(|named| named.iter().any(|k| reach.covers(*k))) {
        return Err("Action does not apply to any resource(s) in statement".into());
    }
    Ok(Statement {
        sid,
        effect,
        not_principal,
        principals,
        not_action,
        actions,
        not_resource,
        resources: templates,
        conditions,
    })
}

/// The element `name` or `Not<name>` (never both: checked before), and which one it was.
fn either<'v>(s: &'v Map<String, Value>, name: &str) -> Result<(bool, &'v Value), String> {
    match (s.get(name), s.get(&format!("Not{name}"))) {
        (Some(v), _) => Ok((false, v)),
        (None, Some(v)) => Ok((true, v)),
        (None, None) => Err(format!("Missing required field {name}")),
    }
}

/// A string or a non-empty array of strings. Actions are returned lowercase.
fn list(value: &Value, name: &str) -> Result<Vec<String>, String> {
    let items = strings(value).ok_or(SYNTAX)?;
    if items.is_empty() {
        return Err(format!("Missing required field {name} cannot be empty!"));
    }
    Ok(if name == "Action" { items.into_iter().map(|a| a.to_ascii_lowercase()).collect() } else { items })
}

fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => None,
    }
}

fn parse_principal(value: &Value) -> Result<Vec<PrincipalPattern>, String> {
    let map = match value {
        Value::String(s) if s == "*" => return Ok(vec![PrincipalPattern::Everyone]),
        Value::Object(map) if !map.is_empty() => map,
        _ => return Err(INVALID_PRINCIPAL.into()),
    };
    let mut out = Vec::new();
    for (kind, ids) in map {
        let ids = strings(ids).filter(|ids| !ids.is_empty()).ok_or(INVALID_PRINCIPAL)?;
        for id in ids {
            out.push(match kind.as_str() {
                "AWS" => aws_principal(&id).ok_or(INVALID_PRINCIPAL)?,
                "CanonicalUser" if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    PrincipalPattern::Canonical(id.to_ascii_lowercase())
                }
                "Service" if !id.is_empty() && !id.contains(['*', '?']) => PrincipalPattern::Service(id),
                _ => return Err(INVALID_PRINCIPAL.into()),
            });
        }
    }
    Ok(out)
}

/// `*`, a 12-digit account id, or the account's root ARN. IAM users and roles do not exist in
/// this store, and S3 refuses a policy naming a principal that does not exist.
fn aws_principal(id: &str) -> Option<PrincipalPattern> {
    let account = |a: &str| (a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())).then(|| a.to_owned());
    if id == "*" {
        return Some(PrincipalPattern::Everyone);
    }
    let root = id.strip_prefix("arn:aws:iam::").and_then(|rest| rest.strip_suffix(":root"));
    account(root.unwrap_or(id)).map(PrincipalPattern::Account)
}

/// Which kinds of this bucket's ARNs a statement's resources can match.
#[derive(Debug, Default, Clone, Copy)]
struct Reach {
    bucket: bool,
    objects: bool,
}

impl Reach {
    fn add(&mut self, other: Reach) {
        self.bucket |= other.bucket;
        self.objects |= other.objects;
    }

    fn covers(&self, kind: ActionKind) -> bool {
        match kind {
            ActionKind::Bucket => self.bucket,
            ActionKind::Object => self.objects,
            ActionKind::Account => false,
        }
    }
}

/// A resource must be this bucket's ARN or under it: `arn:aws:s3:::<bucket>`, then nothing
/// (the bucket), `/...` (its objects) or a `*` (both, as `arn:aws:s3:::<bucket>*` can match
/// only this bucket's ARNs here). A variable can only come after that (bucket names hold no `$`).
fn resource_reach(raw: &str, bucket: &str) -> Option<Reach> {
    let rest = raw.strip_prefix("arn:aws:s3:::")?.strip_prefix(bucket)?;
    match rest.as_bytes().first() {
        None => Some(Reach { bucket: true, objects: false }),
        Some(b'/') => Some(Reach { bucket: false, objects: true }),
        Some(b'*') => Some(Reach { bucket: true, objects: true }),
        Some(_) => None,
    }
}

/// The marker of a duplicate name in a strict parse error (a character JSON text cannot hold
/// unescaped, followed by the name as a JSON string).
const DUPLICATE: &str = "\u{0}duplicate:";

/// Parses JSON, refusing a name given twice in one object (serde_json would keep the last).
fn strict_json(json: &str) -> Result<Value, String> {
    match serde_json::from_str::<Strict>(json) {
        Ok(Strict(v)) => Ok(v),
        Err(e) => {
            let shown = e.to_string();
            let name = shown.strip_prefix(DUPLICATE).and_then(|rest| {
                serde_json::Deserializer::from_str(rest).into_iter::<String>().next().and_then(Result::ok)
            });
            Err(match name {
                Some(name) => format!("Statement/policy already has instance of {name}"),
                None => INVALID_JSON.into(),
            })
        }
    }
}

/// A `serde_json::Value` that refuses duplicate names.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if out.contains_key(&name) {
                let quoted = serde_json::to_string(&name).unwrap_or_default();
                return Err(de::Error::custom(format!("{DUPLICATE}{quoted}")));
            }
            let Strict(v) = map.next_value()?;
            out.insert(name, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_ignores_whitespace_between_tokens() {
        assert_eq!(significant_len(r#"{ "a" : "b c" }"#), r#"{"a":"b c"}"#.len());
        assert_eq!(significant_len(r#"{"a\" b":1}"#), r#"{"a\" b":1}"#.len());
        assert_eq!(significant_len("\n\t "), 0);
    }

    #[test]
    fn duplicate_names_are_refused_with_their_name() {
        assert_eq!(
            strict_json(r#"{"a":1,"b":{"c":1,"c":2}}"#).unwrap_err(),
            "Statement/policy already has instance of c"
        );
        assert_eq!(
            strict_json(r#"{"a\"x":1,"a\"x":2}"#).unwrap_err(),
            "Statement/policy already has instance of a\"x"
        );
        assert_eq!(strict_json(r#"{"a":1,}"#).unwrap_err(), INVALID_JSON);
        assert_eq!(strict_json(r#"{"a":[1,2.5,"x",null,true,{}]}"#).unwrap()["a"][1], 2.5);
    }

    #[test]
    fn resources_reach_the_bucket_its_objects_or_both() {
        let r = |raw: &str| resource_reach(raw, "b").map(|r| (r.bucket, r.objects));
        assert_eq!(r("arn:aws:s3:::b"), Some((true, false)));
        assert_eq!(r("arn:aws:s3:::b/*"), Some((false, true)));
        assert_eq!(r("arn:aws:s3:::b*"), Some((true, true)));
        assert_eq!(r("arn:aws:s3:::bc/*"), None, "another bucket");
        assert_eq!(r("arn:aws:s3:::*"), None);
        assert_eq!(r("*"), None);
        assert_eq!(r("arn:aws:s3:::B/*"), None, "bucket names are case-sensitive");
    }
}
