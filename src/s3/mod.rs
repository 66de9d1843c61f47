//! S3 semantics over the engine: bucket rules and regions, versioning, conditional requests,
//! listing with delimiters and continuation tokens, batch delete and copy. Operations take typed
//! requests and return typed outputs named as S3 (and aws-sdk-s3) names them, and act as a
//! principal: the store owner ([`Store::s3`]), another account ([`Store::s3_as`]).
//!
//! Buckets are global per store: one name exists once across all accounts of the store.
//!
//! One file per concern: bucket operations in `buckets.rs`, default encryption in
//! `bucket_encryption.rs`; object writes, reads, deletes and copies
//! in `objects.rs`, their SSE-C headers in `sse_customer.rs`; the three listings in `listing.rs`. This file keeps the [`S3`] handle and what
//! they share (continuation tokens, time and version-id formatting).

pub mod acl;
pub mod checksum;
pub mod rules;
pub mod types;

pub(crate) mod access;
mod access_ops;
mod bucket_encryption;
mod buckets;
mod copy_source;
mod listing;
pub mod multipart;
mod objects;
pub mod policy;
mod sse_customer;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};

use crate::engine::catalog::Account;
use crate::engine::store::Store;
use crate::error::{Error, Result};
use crate::types::{BucketId, VersionId};

/// S3 operations acting as one principal.
#[derive(Debug, Clone)]
pub struct S3 {
    store: Store,
    caller: Option<Account>,
}

impl Store {
    /// S3 operations as the store's owner.
    #[must_use]
    pub fn s3(&self) -> S3 {
        S3 { store: self.clone(), caller: Some(self.owner()) }
    }

    /// S3 operations as another account of this store.
    #[must_use]
    pub fn s3_as(&self, account: &Account) -> S3 {
        S3 { store: self.clone(), caller: Some(account.clone()) }
    }

    /// S3 operations as an anonymous caller. Anonymous callers cannot own buckets or list them
    /// (`AccessDenied`); what else they may do arrives with access control.
    #[must_use]
    pub fn s3_anonymous(&self) -> S3 {
        S3 { store: self.clone(), caller: None }
    }
}

/// A stored time as S3 reports it: whole seconds (HTTP dates in `Last-Modified`, `.000Z` in listing
/// XML). The store keeps milliseconds; conditions compare whole seconds too.
fn time_of(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(ms / 1000)
}

fn version_string(v: VersionId) -> String {
    v.to_string()
}

/// Token format: hex of `1 ‖ bucket id (8) ‖ kind (1) ‖ marker ‖ mac (8)`, mac = MD5(store secret ‖
/// payload) truncated: a token from another bucket or store, or edited, does not verify.
fn encode_token(secret: &[u8], bucket: BucketId, kind: u8, marker: &[u8]) -> String {
    let mut payload = vec![1u8];
    payload.extend_from_slice(&bucket.0.to_le_bytes());
    payload.push(kind);
    payload.extend_from_slice(marker);
    let mac = Md5::new().chain_update(secret).chain_update(&payload).finalize();
    payload.extend_from_slice(&mac[..8]);
    payload.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_token(secret: &[u8], bucket: BucketId, token: &str) -> Result<(u8, Vec<u8>)> {
    let bad = || Error::InvalidArgument {
        name: "continuation-token",
        value: token.to_owned(),
        reason: "the continuation token provided is incorrect".into(),
    };
    if !token.len().is_multiple_of(2) || token.len() < 2 * 18 || !token.is_ascii() {
        return Err(bad());
    }
    let bytes: Vec<u8> = (0..token.len() / 2)
        .map(|i| u8::from_str_radix(&token[2 * i..2 * i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let (payload, mac) = bytes.split_at(bytes.len() - 8);
    let expect = Md5::new().chain_update(secret).chain_update(payload).finalize();
    if mac != &expect[..8] || payload[0] != 1 || payload[1..9] != bucket.0.to_le_bytes() {
        return Err(bad());
    }
    Ok((payload[9], payload[10..].to_vec()))
}

const TOKEN_KEY: u8 = 0;
const TOKEN_PREFIX: u8 = 1;

impl S3 {
    /// The account this handle acts as (`None` when anonymous).
    #[must_use]
    pub fn caller(&self) -> Option<&Account> {
        self.caller.as_ref()
    }

    fn account(&self, what: &str) -> Result<&Account> {
        self.caller
            .as_ref()
            .ok_or_else(|| Error::AccessDenied { reason: format!("anonymous users cannot {what}") })
    }

    /// The store underneath.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// An account as S3 shows it: its canonical id, and its display name under profiles that
    /// report one.
    pub(crate) fn owner_by_id(&self, canonical_id: &str) -> types::Owner {
        let display_name = if self.store.profile().reports_display_names() {
            Some(self.store.account(canonical_id).map(|a| a.display_name).unwrap_or_default())
        } else {
            None
        };
        types::Owner { id: canonical_id.to_owned(), display_name }
    }

    fn secret(&self) -> [u8; 16] {
        self.store.token_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_reject_forgery() {
        let secret = [7u8; 16];
        let t = encode_token(&secret, BucketId(3), TOKEN_KEY, b"key/1");
        assert_eq!(decode_token(&secret, BucketId(3), &t).unwrap(), (TOKEN_KEY, b"key/1".to_vec()));
        assert!(decode_token(&secret, BucketId(4), &t).is_err(), "foreign bucket");
        assert!(decode_token(&[8u8; 16], BucketId(3), &t).is_err(), "foreign store");
        let mut forged = t.clone().into_bytes();
        let last = forged.len() - 20;
        forged[last] = if forged[last] == b'0' { b'1' } else { b'0' };
        assert!(decode_token(&secret, BucketId(3), std::str::from_utf8(&forged).unwrap()).is_err());
        assert!(decode_token(&secret, BucketId(3), "zz").is_err());
        assert!(decode_token(&secret, BucketId(3), "").is_err());
    }
}
