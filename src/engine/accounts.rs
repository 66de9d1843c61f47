//! Accounts and access keys: the store's owner, other accounts (principals for S3 calls), access
//! keys and authentication. The store keeps each key's secret (a SigV4 host signs with it, as S3
//! does) and compares a presented secret by its SHA-256. Edits go to the
//! catalog like bucket edits do.

use crate::engine::catalog::{Account, CatalogEdit};
use crate::engine::store::Store;
use crate::error::{Error, Result};

/// An access key: what a client presents to act as an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Access key id (`AKIA...`).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
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

    /// Issues an access key (id and secret) for an account. Clients made from the credentials act
    /// as the account; an HTTP host verifies SigV4 signatures with the secret
    /// ([`Store::access_key_secret`]).
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown account; `Io`/`PreviousIo`.
    pub fn create_access_key(&self, account: &Account) -> Result<Credentials> {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut raw = [0u8; 36];
        self.fill_id(&mut raw);
        let access_key_id: String =
            "AKIA".chars().chain(raw[..16].iter().map(|b| ALNUM[usize::from(b % 32)] as char)).collect();
        let secret_access_key: String = raw[16..].iter().map(|b| format!("{b:02x}")).collect();
        let credentials = Credentials { access_key_id, secret_access_key };
        self.import_access_key(account, &credentials)?;
        Ok(credentials)
    }

    /// Gives an account an access key chosen by the caller (a host's `--access-key K --secret-key S`).
    /// Importing a key the account already has with the same secret changes nothing.
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown account, an id or secret that is empty, over 128 bytes or not
    /// printable ASCII, or an id the store already has with another secret or account;
    /// `Io`/`PreviousIo`.
    pub fn import_access_key(&self, account: &Account, credentials: &Credentials) -> Result<()> {
        use sha2::Digest as _;
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
        if let Some((hash, owner)) = catalog.access_key(&credentials.access_key_id) {
            let given: [u8; 32] = sha2::Sha256::digest(credentials.secret_access_key.as_bytes()).into();
            if *hash == given && *owner == account.canonical_id {
                return Ok(());
            }
            return Err(invalid(
                "access_key_id",
                &credentials.access_key_id,
                "the store already has this access key with another secret or account",
            ));
        }
        let edit = CatalogEdit::AccessKeyIssued {
            access_key_id: credentials.access_key_id.clone(),
            secret_access_key: credentials.secret_access_key.clone(),
            canonical_id: account.canonical_id.clone(),
        };
        self.write_catalog(0, &credentials.access_key_id, &edit)?;
        catalog.apply(&edit);
        Ok(())
    }

    /// The secret of an access key and the account it acts as, for a host that verifies SigV4
    /// signatures (they are HMACs keyed by the secret). `None` for an unknown key, or one issued
    /// before the store kept secrets.
    #[must_use]
    pub fn access_key_secret(&self, access_key_id: &str) -> Option<(String, Account)> {
        let catalog = self.inner.catalog.read();
        let secret = catalog.access_key_secret(access_key_id)?.to_owned();
        let (_, id) = catalog.access_key(access_key_id)?;
        Some((secret, catalog.account(id)?.clone()))
    }

    /// The access key ids of an account.
    #[must_use]
    pub fn access_keys(&self, account: &Account) -> Vec<String> {
        let catalog = self.inner.catalog.read();
        let mut ids: Vec<String> = catalog
            .access_key_ids()
            .filter(|(_, owner)| *owner == account.canonical_id)
            .map(|(id, _)| id.to_owned())
            .collect();
        ids.sort();
        ids
    }

    /// The account whose credentials these are.
    ///
    /// # Errors
    /// `InvalidAccessKeyId` for an unknown key, `SignatureDoesNotMatch` for a wrong secret.
    pub fn authenticate(&self, credentials: &Credentials) -> Result<Account> {
        use sha2::Digest as _;
        let catalog = self.inner.catalog.read();
        let (hash, id) = catalog
            .access_key(&credentials.access_key_id)
            .ok_or_else(|| Error::InvalidAccessKeyId { access_key_id: credentials.access_key_id.clone() })?;
        let given: [u8; 32] = sha2::Sha256::digest(credentials.secret_access_key.as_bytes()).into();
        if given != *hash {
            return Err(Error::SignatureDoesNotMatch { access_key_id: credentials.access_key_id.clone() });
        }
        catalog
            .account(id)
            .cloned()
            .ok_or_else(|| Error::InvalidAccessKeyId { access_key_id: credentials.access_key_id.clone() })
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
