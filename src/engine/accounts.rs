//! Accounts and access keys: the store's owner, other accounts (principals for S3 calls), access
//! keys (the store keeps only a SHA-256 of each secret) and authentication. Edits go to the
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

    /// Issues an access key (id and secret) for an account; the store keeps only a SHA-256 of the
    /// secret. Clients made from the credentials act as the account.
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown account; `Io`/`PreviousIo`.
    pub fn create_access_key(&self, account: &Account) -> Result<Credentials> {
        use sha2::Digest as _;
        self.inner.ctx.check()?;
        let mut catalog = self.inner.catalog.write();
        if catalog.account(&account.canonical_id).is_none() {
            return Err(Error::InvalidArgument {
                name: "account",
                value: account.canonical_id.clone(),
                reason: "no such account in this store".into(),
            });
        }
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut raw = [0u8; 36];
        self.fill_id(&mut raw);
        let access_key_id: String =
            "AKIA".chars().chain(raw[..16].iter().map(|b| ALNUM[usize::from(b % 32)] as char)).collect();
        let secret_access_key: String = raw[16..].iter().map(|b| format!("{b:02x}")).collect();
        let edit = CatalogEdit::AccessKeyCreated {
            access_key_id: access_key_id.clone(),
            secret_sha256: sha2::Sha256::digest(secret_access_key.as_bytes()).into(),
            canonical_id: account.canonical_id.clone(),
        };
        self.write_catalog(0, &access_key_id, &edit)?;
        catalog.apply(&edit);
        Ok(Credentials { access_key_id, secret_access_key })
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
