//! Block Public Access's test of a policy: is it public? (S3 User Guide, "The meaning of
//! public"; the rules are restated on [`super::BucketPolicy::is_public`].)

use super::conditions::{Base, Condition, SetQualifier, Values};
use super::parse::{Effect, PrincipalPattern, Statement};

/// Keys whose fixed values pin a statement to known callers (lowercase, as normalized).
const PINNING_KEYS: &[&str] = &[
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceowner",
    "aws:sourceaccount",
    "aws:userid",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
];

/// Whether this statement makes its policy public: an Allow to everyone that no condition pins.
pub(super) fn is_public_statement(statement: &Statement) -> bool {
    statement.effect == Effect::Allow && grants_everyone(statement) && !statement.conditions.iter().any(pins)
}

/// `"*"` among the principals, or a NotPrincipal that leaves everyone else in.
fn grants_everyone(statement: &Statement) -> bool {
    let everyone = statement.principals.contains(&PrincipalPattern::Everyone);
    everyone != statement.not_principal
}

/// Whether a condition restricts its statement to fixed values of a pinning key.
fn pins(condition: &Condition) -> bool {
    let op = condition.op;
    if op.negated || op.if_exists || op.set == Some(SetQualifier::ForAllValues) {
        return false;
    }
    match (&condition.values, op.base) {
        (Values::Cidrs(cidrs), Base::IpAddress) => {
            condition.key == "aws:sourceip" && !cidrs.is_empty() && cidrs.iter().all(|c| c.is_narrow())
        }
        (
            Values::Patterns(patterns),
            Base::StringEquals | Base::StringEqualsIgnoreCase | Base::StringLike,
        )
        | (Values::Patterns(patterns), Base::ArnEquals | Base::ArnLike) => {
            if !PINNING_KEYS.contains(&condition.key.as_str()) || patterns.is_empty() {
                return false;
            }
            patterns.iter().all(|p| fixed_for(&condition.key, p))
        }
        _ => false,
    }
}

/// A value is fixed when it has no wildcard and no variable, with the two exceptions S3 names:
/// `aws:userid` may be `ROLEID:*` (every session of one role), and `s3:DataAccessPointArn` may
/// wildcard the access point's name as long as the account is fixed.
fn fixed_for(key: &str, value: &super::pattern::Template) -> bool {
    if value.is_fixed() {
        return true;
    }
    let text = value.text();
    match key {
        "aws:userid" => text
            .and_then(|t| t.strip_suffix(":*"))
            .is_some_and(|role| !role.is_empty() && !role.contains(['*', '?'])),
        "s3:dataaccesspointarn" => text.is_some_and(|t| {
            // arn:aws:s3:<region>:<account>:accesspoint/<name>
            let parts: Vec<&str> = t.splitn(6, ':').collect();
            parts.len() == 6
                && parts[..5].iter().all(|p| !p.contains(['*', '?']))
                && parts[4].len() == 12
                && parts[5].starts_with("accesspoint/")
        }),
        _ => false,
    }
}
