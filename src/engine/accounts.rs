//! Accounts and access keys: the store's owner, other accounts (principals for S3 calls), access
//! keys and authentication. The store keeps each key's secret (a SigV4 host signs with it, as S3
//! does) and compares a presented secret by its SHA-256. Keys live as IAM's do: created `Active`,
//! deactivated and reactivated, deleted, at most [`ACCESS_KEYS_PER_ACCOUNT_MAX`] per account. Edits
//! go to the catalog like bucket edits do.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::engine::catalog::{AccessKeyStatus, Account, CatalogEdit, secret_sha256};
use crate::engine::store::Store;
use crate::error::{Error, Result};

/// Most access keys one account may have, active or inactive: IAM's `AccessKeysPerUser` quota (2),
/// so a key can be rotated (create the new one, move the callers, deactivate, delete the old one).
/// [`Store::create_access_key`] past it is `LimitExceeded`; see [`Store::import_access_key`] for keys
/// a host is configured with.
pub const ACCESS_KEYS_PER_ACCOUNT_MAX: usize = 2;

/// An access key: what a client presents to act as an account. Debug shows the id only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Access key id (`AKIA...`).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

impl std::fmt::Debug for Credentials {
    /// The id, and the secret as `<hidden>`: credentials end up in test failures and logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<hidden>")
            .finish()
    }
}

/// One access key as IAM's ListAccessKeys describes it (`AccessKeyMetadata`); never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyMetadata {
    /// The key's id.
    pub access_key_id: String,
    /// `Active` or `Inactive`.
    pub status: AccessKeyStatus,
    /// When the key was created or imported; `None` for keys from stores that did not record it.
    pub create_date: Option<SystemTime>,
    /// Canonical id of the account the key acts as (IAM's `UserName`).
    pub canonical_id: String,
}

fn new_account(store: &Store, display_name: &str) -> Account {
    let mut id = [0u8; 32];
    store.fill_id(&mut id);
    Account {
        canonical_id: id.iter().map(|b| format!("{b:02x}")).collect(),
        display_name: display_name.into(),
    }
}

fn account_created(account: &Account, is_owner: bool) -> CatalogEdit {
    CatalogEdit::AccountCreated {
        canonical_id: account.canonical_id.clone(),
        display_name: account.display_name.clone(),
        is_owner,
    }
}

impl Store {
    /// The store owner's account.
    #[must_use]
    pub fn owner(&self) -> Account {
        self.inner.catalog.read().owner().cloned().expect("the owner account is created at open")
    }

    /// Creates another account (a principal for S3 calls; access control comes later).
    ///
    /// # Errors
    /// `InvalidArgument` for an empty or over-long display name; `Io`/`PreviousIo`.
    pub fn create_account(&self, display_name: &str) -> Result<Account> {
        self.inner.ctx.check()?;
        if display_name.is_empty() || display_name.len() > 128 {
            return Err(Error::InvalidArgument {
                name: "display_name",
                value: display_name.into(),
                reason: "display names are 1 to 128 bytes".into(),
            });
        }
        let mut catalog = self.inner.catalog.write();
        let account = new_account(self, display_name);
        let edit = account_created(&account, false);
        self.write_catalog(0, display_name, &edit)?;
        catalog.apply(&edit);
        Ok(account)
    }

    /// Issues an access key (id and secret) for an account, `Active` (IAM's CreateAccessKey).
    /// Clients made from the credentials act as the account; an HTTP host verifies SigV4
    /// signatures with the secret ([`Store::access_key_secret`]).
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown account; `LimitExceeded` (409, "Cannot exceed quota for
    /// AccessKeysPerUser: 2", as IAM answers) when the account already has
    /// [`ACCESS_KEYS_PER_ACCOUNT_MAX`] keys, active or inactive; `Io`/`PreviousIo`.
    pub fn create_access_key(&self, account: &Account) -> Result<Credentials> {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut raw = [0u8; 36];
        self.fill_id(&mut raw);
        let access_key_id: String =
            "AKIA".chars().chain(raw[..16].iter().map(|b| ALNUM[usize::from(b % 32)] as char)).collect();
        let secret_access_key: String = raw[16..].iter().map(|b| format!("{b:02x}")).collect();
        let credentials = Credentials { access_key_id, secret_access_key };
        self.add_access_key(account, &credentials, Some(ACCESS_KEYS_PER_ACCOUNT_MAX))?;
        Ok(credentials)
    }

    /// Gives an account an access key chosen by the caller (a host's `--access-key K --secret-key S`,
    /// `--user NAME:K:S`), `Active`. Importing a key the account already has with the same secret
    /// changes nothing (not even a status: a host re-imports its keys at every start, and a key
    /// deactivated through [`Store::update_access_key`] stays deactivated).
    ///
    /// Imports are not held to [`ACCESS_KEYS_PER_ACCOUNT_MAX`]: they are the host operator's
    /// configuration, not IAM's CreateAccessKey, and a host started with a new `--access-key` must
    /// not fail because earlier starts left keys (delete those with [`Store::delete_access_key`]).
    /// They do count toward it for [`Store::create_access_key`].
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown account, an id or secret that is empty, over 128 bytes or not
    /// printable ASCII, or an id the store already has with another secret or account;
    /// `Io`/`PreviousIo`.
    pub fn import_access_key(&self, account: &Account, credentials: &Credentials) -> Result<()> {
        self.add_access_key(account, credentials, None)
    }

    fn add_access_key(&self, account: &Account, credentials: &Credentials, max: Option<usize>) -> Result<()> {
        self.inner.ctx.check()?;
        let printable = |s: &str| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic());
        let invalid = |name, value: &str, reason: &str| Error::InvalidArgument {
            name,
            value: value.into(),
            reason: reason.into(),
        };
        if !printable(&credentials.access_key_id) || credentials.access_key_id.contains('/') {
            return Err(invalid(
                "access_key_id",
                &credentials.access_key_id,
                "access key ids are 1 to 128 printable ASCII bytes without '/'",
            ));
        }
        if !printable(&credentials.secret_access_key) {
            return Err(invalid(
                "secret_access_key",
                "<hidden>",
                "secrets are 1 to 128 printable ASCII bytes",
            ));
        }
        let mut catalog = self.inner.catalog.write();
        if catalog.account(&account.canonical_id).is_none() {
            return Err(invalid("account", &account.canonical_id, "no such account in this store"));
        }
        if let Some(key) = catalog.access_key(&credentials.access_key_id) {
            if key.secret_sha256 == secret_sha256(&credentials.secret_access_key)
                && key.canonical_id == account.canonical_id
            {
                return Ok(());
            }
            return Err(invalid(
                "access_key_id",
                &credentials.access_key_id,
                "the store already has this access key with another secret or account",
            ));
        }
        if max.is_some_and(|max| catalog.access_keys_of(&account.canonical_id).count() >= max) {
            return Err(access_keys_limit());
        }
        let edit = CatalogEdit::AccessKeyIssuedAt {
            access_key_id: credentials.access_key_id.clone(),
            secret_access_key: credentials.secret_access_key.clone(),
            canonical_id: account.canonical_id.clone(),
            created_ms: self.now_ms(),
        };
        self.write_catalog(0, &credentials.access_key_id, &edit)?;
        catalog.apply(&edit);
        Ok(())
    }

    /// The secret of an active access key and the account it acts as, for a host that verifies
    /// SigV4 signatures (they are HMACs keyed by the secret). `None` for an unknown, deleted or
    /// inactive key, or one issued before the store kept secrets: a host refuses all of them.
    #[must_use]
    pub fn access_key_secret(&self, access_key_id: &str) -> Option<(String, Account)> {
        let catalog = self.inner.catalog.read();
        let key = catalog.access_key(access_key_id)?;
        if key.status != AccessKeyStatus::Active {
            return None;
        }
        let secret = key.secret.clone()?;
        Some((secret, catalog.account(&key.canonical_id)?.clone()))
    }

    /// The access key ids of an account, active or inactive, sorted.
    #[must_use]
    pub fn access_keys(&self, account: &Account) -> Vec<String> {
        let catalog = self.inner.catalog.read();
        let mut ids: Vec<String> =
            catalog.access_keys_of(&account.canonical_id).map(|(id, _)| id.to_owned()).collect();
        ids.sort();
        ids
    }

    /// An account's access keys with their status and creation date, in the order they were
    /// issued (IAM's ListAccessKeys; secrets are never listed).
    #[must_use]
    pub fn list_access_keys(&self, account: &Account) -> Vec<AccessKeyMetadata> {
        let catalog = self.inner.catalog.read();
        catalog
            .access_keys_of(&account.canonical_id)
            .map(|(id, key)| AccessKeyMetadata {
                access_key_id: id.to_owned(),
                status: key.status,
                create_date: key.created_ms.map(|ms| UNIX_EPOCH + Duration::from_millis(ms)),
                canonical_id: key.canonical_id.clone(),
            })
            .collect()
    }

    /// Deactivates (`Inactive`) or reactivates (`Active`) an access key (IAM's UpdateAccessKey).
    /// An inactive key stops working at once: [`Store::authenticate`] refuses it, clients made
    /// from it fail their next call, [`Store::access_key_secret`] no longer gives its secret (so
    /// an HTTP host refuses its signatures and presigned URLs), all with `InvalidAccessKeyId`, as
    /// S3 answers an inactive key. Setting the status a key has changes nothing.
    ///
    /// # Errors
    /// `NoSuchEntity` (404) for a key the store does not have; `Io`/`PreviousIo`.
    pub fn update_access_key(&self, access_key_id: &str, status: AccessKeyStatus) -> Result<()> {
        self.inner.ctx.check()?;
        let mut catalog = self.inner.catalog.write();
        let key = catalog.access_key(access_key_id).ok_or_else(|| no_such_key(access_key_id))?;
        if key.status == status {
            return Ok(());
        }
        let edit = CatalogEdit::AccessKeyStatusChanged { access_key_id: access_key_id.to_owned(), status };
        self.write_catalog(0, access_key_id, &edit)?;
        catalog.apply(&edit);
        Ok(())
    }

    /// Deletes an access key (IAM's DeleteAccessKey), active or not. It stops working at once, as
    /// a deactivated key does, and frees its place under [`ACCESS_KEYS_PER_ACCOUNT_MAX`].
    ///
    /// # Errors
    /// `NoSuchEntity` (404) for a key the store does not have; `Io`/`PreviousIo`.
    pub fn delete_access_key(&self, access_key_id: &str) -> Result<()> {
        self.inner.ctx.check()?;
        let mut catalog = self.inner.catalog.write();
        if catalog.access_key(access_key_id).is_none() {
            return Err(no_such_key(access_key_id));
        }
        let edit = CatalogEdit::AccessKeyDeleted { access_key_id: access_key_id.to_owned() };
        self.write_catalog(0, access_key_id, &edit)?;
        catalog.apply(&edit);
        Ok(())
    }

    /// The first active access key of an account whose secret the store keeps, in issue order:
    /// what a client without credentials of its own (the owner's, [`Store::client`]) presigns with.
    pub(crate) fn first_active_key(&self, account: &Account) -> Option<Credentials> {
        let catalog = self.inner.catalog.read();
        catalog.access_keys_of(&account.canonical_id).find_map(|(id, key)| {
            let secret = key.secret.as_ref().filter(|_| key.status == AccessKeyStatus::Active)?;
            Some(Credentials { access_key_id: id.to_owned(), secret_access_key: secret.clone() })
        })
    }

    /// The account whose credentials these are.
    ///
    /// # Errors
    /// `InvalidAccessKeyId` for an unknown, deleted or inactive key (S3 answers an inactive key as
    /// one it does not have), `SignatureDoesNotMatch` for a wrong secret.
    pub fn authenticate(&self, credentials: &Credentials) -> Result<Account> {
        let unknown = || Error::InvalidAccessKeyId { access_key_id: credentials.access_key_id.clone() };
        let catalog = self.inner.catalog.read();
        let key = catalog.access_key(&credentials.access_key_id).ok_or_else(unknown)?;
        if key.status != AccessKeyStatus::Active {
            return Err(unknown());
        }
        if secret_sha256(&credentials.secret_access_key) != key.secret_sha256 {
            return Err(Error::SignatureDoesNotMatch { access_key_id: credentials.access_key_id.clone() });
        }
        catalog.account(&key.canonical_id).cloned().ok_or_else(unknown)
    }

    /// Every account, by canonical id.
    #[must_use]
    pub fn accounts(&self) -> Vec<Account> {
        self.inner.catalog.read().accounts().cloned().collect()
    }

    /// Looks an account up by canonical id.
    #[must_use]
    pub fn account(&self, canonical_id: &str) -> Option<Account> {
        self.inner.catalog.read().account(canonical_id).cloned()
    }

    /// Creates the owner account on a store that has none (a new store).
    pub(super) fn ensure_owner(&self, display_name: &str) -> Result<()> {
        let mut catalog = self.inner.catalog.write();
        if catalog.owner().is_some() {
            return Ok(());
        }
        let edit = account_created(&new_account(self, display_name), true);
        self.write_catalog(0, display_name, &edit)?;
        catalog.apply(&edit);
        Ok(())
    }
}

fn access_keys_limit() -> Error {
    Error::LimitExceeded { quota: "AccessKeysPerUser", max: ACCESS_KEYS_PER_ACCOUNT_MAX }
}

fn no_such_key(access_key_id: &str) -> Error {
    Error::NoSuchEntity { entity: "Access Key", id: access_key_id.to_owned() }
}
