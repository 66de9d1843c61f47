//! One request against one statement: principal, action, resource, conditions.

use std::time::{Duration, UNIX_EPOCH};

use super::conditions::{KeyValues, normalize_key};
use super::parse::{PrincipalPattern, Statement};
use super::pattern::{glob, wildcard_match};
use super::{PolicyRequest, Principal, Transport};

/// Whether `statement` applies to `req` (its effect then counts).
pub(super) fn applies(statement: &Statement, req: &PolicyRequest<'_>) -> bool {
    let named = statement.principals.iter().any(|p| principal_matches(p, req.principal));
    if named == statement.not_principal {
        return false;
    }
    let action = req.action.to_ascii_lowercase();
    let named = statement.actions.iter().any(|pattern| wildcard_match(pattern, &action));
    if named == statement.not_action {
        return false;
    }
    let keys = Keys { req };
    let lookup = |key: &str| keys.first(key);
    let named = statement
        .resources
        .iter()
        .any(|r| r.tokens(true, &lookup).is_some_and(|tokens| glob(&tokens, req.resource)));
    if named == statement.not_resource {
        return false;
    }
    statement.conditions.iter().all(|c| c.holds(&keys))
}

fn principal_matches(pattern: &PrincipalPattern, principal: Principal<'_>) -> bool {
    match (pattern, principal) {
        (PrincipalPattern::Everyone, _) => true,
        (PrincipalPattern::Account(id), Principal::Account { account_id, .. }) => id == account_id,
        (PrincipalPattern::Canonical(id), Principal::Account { canonical_id, .. }) => {
            id.eq_ignore_ascii_case(canonical_id)
        }
        _ => false,
    }
}

/// The request's condition keys: the evaluator's own, then the caller's.
struct Keys<'r, 'a> {
    req: &'r PolicyRequest<'a>,
}

impl KeyValues for Keys<'_, '_> {
    fn values(&self, key: &str) -> Vec<String> {
        let req = self.req;
        let account = match req.principal {
            Principal::Account { account_id, .. } => Some(account_id),
            Principal::Anonymous => None,
        };
        let own = match key {
            "aws:securetransport" => {
                Some(matches!(req.context.transport, Transport::InProcess | Transport::Https).to_string())
            }
            "aws:sourceip" => req.context.source_ip.map(|ip| ip.to_string()),
            "aws:currenttime" => Some(crate::types::iso8601(UNIX_EPOCH + Duration::from_millis(req.now_ms))),
            "aws:epochtime" => Some((req.now_ms / 1000).to_string()),
            "aws:principalaccount" => account.map(str::to_owned),
            "aws:principalarn" => account.map(|id| format!("arn:aws:iam::{id}:root")),
            "aws:principaltype" => Some(if account.is_some() { "Account" } else { "Anonymous" }.to_owned()),
            "aws:userid" => Some(account.unwrap_or("anonymous").to_owned()),
            _ => {
                return req
                    .keys
                    .iter()
                    .filter(|(name, _)| normalize_key(name) == key)
                    .map(|(_, value)| (*value).to_owned())
                    .collect();
            }
        };
        own.into_iter().collect()
    }
}
