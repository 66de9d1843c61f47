//! Master keys: the [`KeyProvider`] trait a host can implement (a KMS, an HSM), and the built-in
//! [`MasterKeys`], kept in a key file created with mode 0600 or supplied by the host. Data files
//! hold key ids, never a master key.
//!
//! Wrapping uses AES-256-GCM-SIV (RFC 8452) with a random 96-bit nonce: nonce-misuse resistant, so
//! the 2^32-wraps-per-key ceiling of random-nonce AES-GCM (NIST SP 800-38D) does not apply.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use parking_lot::RwLock;
use zeroize::Zeroizing;

use super::{CryptoError, Dek};

/// A master key's id: 16 bytes, shown as 32 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 16]);

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl std::str::FromStr for KeyId {
    type Err = String;

    fn from_str(s: &str) -> Result<KeyId, String> {
        let bytes = hex32(s).ok_or_else(|| format!("key id {s:?} is not 32 hex digits"))?;
        Ok(KeyId(bytes))
    }
}

/// A data key wrapped under a master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// The wrap's nonce.
    pub nonce: [u8; 12],
    /// The wrapped key and its tag.
    pub sealed: [u8; 48],
}

/// Where master keys live. Implementations must be safe to call from many threads.
pub trait KeyProvider: std::fmt::Debug + Send + Sync {
    /// The key new SSE-S3 writes are wrapped under.
    ///
    /// # Errors
    /// When the provider has no active key.
    fn active_key(&self) -> Result<KeyId, CryptoError>;

    /// The key a KMS-style request names (`aws:kms` with a key id): by its id in hex or by its
    /// name. `None` when the provider has no such key.
    fn named_key(&self, name: &str) -> Option<KeyId>;

    /// Wraps `dek` under `key`, binding `aad`.
    ///
    /// # Errors
    /// `UnknownKey` when the provider has no such key.
    fn wrap(&self, key: KeyId, dek: &Dek, aad: &[u8]) -> Result<WrappedKey, CryptoError>;

    /// Unwraps a data key wrapped under `key` with `aad`.
    ///
    /// # Errors
    /// `UnknownKey`, or `Unwrap` when the wrap or `aad` do not verify.
    fn unwrap(&self, key: KeyId, wrapped: &WrappedKey, aad: &[u8]) -> Result<Dek, CryptoError>;

    /// Forgets `key` for good: [`Store::retire_key`](crate::Store::retire_key) calls it once it
    /// has proven that no live version needs the key. The default refuses: a provider whose keys
    /// live elsewhere (a KMS) retires them there.
    ///
    /// # Errors
    /// `Refused` when the provider cannot or will not forget the key.
    fn retire(&self, key: KeyId) -> Result<(), CryptoError> {
        Err(CryptoError::Refused { reason: format!("this key provider cannot retire master key {key}") })
    }
}

/// Wraps `dek` under the 32-byte `kek` with a fresh random nonce.
#[must_use]
pub fn wrap_with(kek: &[u8; 32], dek: &Dek, aad: &[u8]) -> WrappedKey {
    let cipher = Aes256GcmSiv::new(kek.into());
    let mut nonce = [0u8; 12];
    rand::fill(&mut nonce[..]);
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: dek.bytes(), aad })
        .expect("AES-GCM-SIV seals 32 bytes");
    WrappedKey { nonce, sealed: sealed.try_into().expect("32 bytes + 16 tag") }
}

/// Unwraps a data key wrapped under `kek`; `None` when it does not verify.
#[must_use]
pub fn unwrap_with(kek: &[u8; 32], wrapped: &WrappedKey, aad: &[u8]) -> Option<Dek> {
    let cipher = Aes256GcmSiv::new(kek.into());
    let plain = Zeroizing::new(
        cipher.decrypt(Nonce::from_slice(&wrapped.nonce), Payload { msg: &wrapped.sealed, aad }).ok()?,
    );
    Some(Dek::from_bytes(plain.as_slice().try_into().ok()?))
}

/// A master key's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// New SSE-S3 writes are wrapped under it (exactly one key is active).
    Active,
    /// Unwraps what it wrapped, and takes KMS-style writes that name it; no new SSE-S3 writes.
    Enabled,
}

struct MasterKey {
    id: KeyId,
    name: Option<String>,
    state: KeyState,
    secret: Zeroizing<[u8; 32]>,
}

/// The built-in key provider: master keys in memory, optionally kept in a key file.
///
/// The file (`s3lite-keys v1`, one key per line: id, state, name or `-`, secret, all hex but the
/// name) is created with mode 0600 and replaced atomically (temporary file, fsync, rename, fsync of
/// the directory) when keys change.
pub struct MasterKeys {
    path: Option<PathBuf>,
    keys: RwLock<Vec<MasterKey>>,
}

impl std::fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.keys.read();
        f.debug_struct("MasterKeys")
            .field("path", &self.path)
            .field(
                "keys",
                &keys.iter().map(|k| (k.id.to_string(), k.name.clone(), k.state)).collect::<Vec<_>>(),
            )
            .finish()
    }
}

const FILE_MAGIC: &str = "s3lite-keys v1";

/// A key file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Reading or writing it failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Its content is not a key file.
    #[error("key file {path}, line {line}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line (1-based).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A key operation that cannot be done (unknown id, retiring the active key, a taken name).
    #[error("{0}")]
    Refused(String),
}

fn hex32(s: &str) -> Option<[u8; 16]> {
    let v = hex_bytes(s)?;
    v.try_into().ok()
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn fresh_key(name: Option<String>, state: KeyState) -> MasterKey {
    let mut id = [0u8; 16];
    rand::fill(&mut id[..]);
    let mut secret = Zeroizing::new([0u8; 32]);
    rand::fill(&mut secret[..]);
    MasterKey { id: KeyId(id), name, state, secret }
}

impl MasterKeys {
    /// One fresh active key, in memory only.
    #[must_use]
    pub fn generate() -> MasterKeys {
        MasterKeys { path: None, keys: RwLock::new(vec![fresh_key(None, KeyState::Active)]) }
    }

    /// Keys supplied by the host (e.g. from an environment variable), in memory only: the first is
    /// active, the rest enabled.
    ///
    /// # Errors
    /// `Refused` when `secrets` is empty.
    pub fn from_secrets(secrets: &[(KeyId, [u8; 32])]) -> Result<MasterKeys, KeyFileError> {
        if secrets.is_empty() {
            return Err(KeyFileError::Refused("no master key given".into()));
        }
        let keys = secrets
            .iter()
            .enumerate()
            .map(|(i, (id, s))| MasterKey {
                id: *id,
                name: None,
                state: if i == 0 { KeyState::Active } else { KeyState::Enabled },
                secret: Zeroizing::new(*s),
            })
            .collect();
        Ok(MasterKeys { path: None, keys: RwLock::new(keys) })
    }

    /// Creates a key file at `path` (mode 0600) holding one fresh active key.
    ///
    /// # Errors
    /// `Io` when the file exists or cannot be written.
    pub fn create_file(path: impl AsRef<Path>) -> Result<MasterKeys, KeyFileError> {
        let path = path.as_ref().to_path_buf();
        let keys = MasterKeys {
            path: Some(path.clone()),
            keys: RwLock::new(vec![fresh_key(None, KeyState::Active)]),
        };
        let text = keys.file_text();
        write_new(&path, &text, true).map_err(|source| KeyFileError::Io { path, source })?;
        Ok(keys)
    }

    /// Opens a key file.
    ///
    /// # Errors
    /// `Io` when it cannot be read; `Malformed` naming the line and the problem.
    pub fn open_file(path: impl AsRef<Path>) -> Result<MasterKeys, KeyFileError> {
        let path = path.as_ref().to_path_buf();
        let text = std::fs::read_to_string(&path)
            .map_err(|source| KeyFileError::Io { path: path.clone(), source })?;
        let keys = parse_file(&text).map_err(|(line, reason)| KeyFileError::Malformed {
            path: path.clone(),
            line,
            reason,
        })?;
        Ok(MasterKeys { path: Some(path), keys: RwLock::new(keys) })
    }

    /// Keys from a key file's text (e.g. handed over by the host from a secret store), in memory
    /// only: changes are not written anywhere.
    ///
    /// # Errors
    /// `Malformed` naming the line and the problem.
    pub fn from_file_text(text: &str) -> Result<MasterKeys, KeyFileError> {
        let keys = parse_file(text).map_err(|(line, reason)| KeyFileError::Malformed {
            path: PathBuf::from("(text)"),
            line,
            reason,
        })?;
        Ok(MasterKeys { path: None, keys: RwLock::new(keys) })
    }

    /// Opens the key file at `path`, creating it (one fresh key) when it does not exist.
    ///
    /// # Errors
    /// As [`MasterKeys::open_file`] and [`MasterKeys::create_file`].
    pub fn open_or_create_file(path: impl AsRef<Path>) -> Result<MasterKeys, KeyFileError> {
        match MasterKeys::create_file(&path) {
            Err(KeyFileError::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                MasterKeys::open_file(path)
            }
            other => other,
        }
    }

    /// The keys' ids, names and states.
    #[must_use]
    pub fn list(&self) -> Vec<(KeyId, Option<String>, KeyState)> {
        self.keys.read().iter().map(|k| (k.id, k.name.clone(), k.state)).collect()
    }

    /// Makes a fresh key the active one (the old active key stays enabled, so what it wrapped still
    /// opens); returns its id.
    ///
    /// # Errors
    /// `Io` when the key file cannot be replaced (then nothing changes).
    pub fn rotate(&self) -> Result<KeyId, KeyFileError> {
        self.change(|keys| {
            for k in keys.iter_mut() {
                k.state = KeyState::Enabled;
            }
            let k = fresh_key(None, KeyState::Active);
            let id = k.id;
            keys.push(k);
            Ok(id)
        })
    }

    /// Adds a fresh enabled key under `name`, for KMS-style requests that name it.
    ///
    /// # Errors
    /// `Refused` when the name is taken, empty or holds whitespace; `Io` as for `rotate`.
    pub fn add_named(&self, name: &str) -> Result<KeyId, KeyFileError> {
        if name.is_empty() || name == "-" || name.chars().any(char::is_whitespace) || name.len() > 256 {
            return Err(KeyFileError::Refused(format!(
                "key name {name:?}: 1 to 256 characters, no whitespace, not \"-\""
            )));
        }
        self.change(|keys| {
            if keys.iter().any(|k| k.name.as_deref() == Some(name)) {
                return Err(KeyFileError::Refused(format!("a key is already named {name:?}")));
            }
            let k = fresh_key(Some(name.to_owned()), KeyState::Enabled);
            let id = k.id;
            keys.push(k);
            Ok(id)
        })
    }

    /// Removes a key for good. The caller (the store's `retire_master_key`) proves first that no
    /// data key is wrapped under it: what it wrapped could never be opened again.
    ///
    /// # Errors
    /// `Refused` for the active key or an unknown id; `Io` as for `rotate`.
    pub fn remove(&self, id: KeyId) -> Result<(), KeyFileError> {
        self.change(|keys| {
            let at = keys
                .iter()
                .position(|k| k.id == id)
                .ok_or_else(|| KeyFileError::Refused(format!("no master key {id}")))?;
            if keys[at].state == KeyState::Active {
                return Err(KeyFileError::Refused(format!(
                    "master key {id} is the active key: rotate first"
                )));
            }
            keys.remove(at);
            Ok(())
        })
    }

    fn change<T>(
        &self,
        f: impl FnOnce(&mut Vec<MasterKey>) -> Result<T, KeyFileError>,
    ) -> Result<T, KeyFileError> {
        let mut keys = self.keys.write();
        let mut next: Vec<MasterKey> = keys
            .iter()
            .map(|k| MasterKey { id: k.id, name: k.name.clone(), state: k.state, secret: k.secret.clone() })
            .collect();
        let out = f(&mut next)?;
        if let Some(path) = &self.path {
            replace_file(path, &file_text_of(&next))
                .map_err(|source| KeyFileError::Io { path: path.clone(), source })?;
        }
        *keys = next;
        Ok(out)
    }

    fn file_text(&self) -> Zeroizing<String> {
        file_text_of(&self.keys.read())
    }

    fn secret_of(&self, id: KeyId) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        self.keys
            .read()
            .iter()
            .find(|k| k.id == id)
            .map(|k| k.secret.clone())
            .ok_or_else(|| CryptoError::UnknownKey { key_id: id.to_string() })
    }
}

fn file_text_of(keys: &[MasterKey]) -> Zeroizing<String> {
    let mut t = Zeroizing::new(format!("{FILE_MAGIC}\n"));
    for k in keys {
        let state = match k.state {
            KeyState::Active => "active",
            KeyState::Enabled => "enabled",
        };
        t.push_str(&format!(
            "{} {state} {} {}\n",
            k.id,
            k.name.as_deref().unwrap_or("-"),
            *Zeroizing::new(hex(&k.secret[..]))
        ));
    }
    t
}

fn parse_file(text: &str) -> Result<Vec<MasterKey>, (usize, String)> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, l)) if l.trim_end() == FILE_MAGIC => {}
        _ => return Err((1, format!("the first line is not {FILE_MAGIC:?}"))),
    }
    let mut keys: Vec<MasterKey> = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let [id, state, name, secret] = f[..] else {
            return Err((n, format!("{} fields, 4 expected (id state name secret)", f.len())));
        };
        let id: KeyId = id.parse().map_err(|e| (n, e))?;
        let state = match state {
            "active" => KeyState::Active,
            "enabled" => KeyState::Enabled,
            s => return Err((n, format!("state {s:?}, expected active or enabled"))),
        };
        let secret: [u8; 32] =
            Zeroizing::new(hex_bytes(secret).ok_or((n, "the secret is not hex".to_owned()))?)
                .as_slice()
                .try_into()
                .map_err(|_| (n, "the secret is not 32 bytes".to_owned()))?;
        let name = (name != "-").then(|| name.to_owned());
        if keys.iter().any(|k| k.id == id) {
            return Err((n, format!("key {id} appears twice")));
        }
        if name.is_some() && keys.iter().any(|k| k.name == name) {
            return Err((n, format!("the name {:?} appears twice", name.unwrap_or_default())));
        }
        keys.push(MasterKey { id, name, state, secret: Zeroizing::new(secret) });
    }
    let active = keys.iter().filter(|k| k.state == KeyState::Active).count();
    if active != 1 {
        return Err((text.lines().count().max(1), format!("{active} active keys, exactly 1 expected")));
    }
    Ok(keys)
}

fn write_new(path: &Path, text: &str, exclusive: bool) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true);
    if exclusive {
        o.create_new(true);
    } else {
        o.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn replace_file(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    write_new(&tmp, text, false)?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

impl KeyProvider for MasterKeys {
    fn active_key(&self) -> Result<KeyId, CryptoError> {
        self.keys
            .read()
            .iter()
            .find(|k| k.state == KeyState::Active)
            .map(|k| k.id)
            .ok_or_else(|| CryptoError::UnknownKey { key_id: "(active)".into() })
    }

    fn named_key(&self, name: &str) -> Option<KeyId> {
        let keys = self.keys.read();
        keys.iter().find(|k| k.name.as_deref() == Some(name) || k.id.to_string() == name).map(|k| k.id)
    }

    fn wrap(&self, key: KeyId, dek: &Dek, aad: &[u8]) -> Result<WrappedKey, CryptoError> {
        Ok(wrap_with(&*self.secret_of(key)?, dek, aad))
    }

    fn unwrap(&self, key: KeyId, wrapped: &WrappedKey, aad: &[u8]) -> Result<Dek, CryptoError> {
        unwrap_with(&*self.secret_of(key)?, wrapped, aad)
            .ok_or_else(|| CryptoError::Unwrap { key_id: key.to_string() })
    }

    /// Removes the key, from the key file too ([`MasterKeys::remove`]).
    fn retire(&self, key: KeyId) -> Result<(), CryptoError> {
        self.remove(key).map_err(|e| CryptoError::Refused { reason: e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_open_only_under_their_key_and_associated_data() {
        let keys = MasterKeys::generate();
        let id = keys.active_key().unwrap();
        let dek = Dek::random();
        let w = keys.wrap(id, &dek, b"aad").unwrap();
        assert_eq!(keys.unwrap(id, &w, b"aad").unwrap().bytes(), dek.bytes());
        assert_eq!(keys.unwrap(id, &w, b"aaD").unwrap_err(), CryptoError::Unwrap { key_id: id.to_string() });
        let mut bad = w.clone();
        bad.sealed[3] ^= 1;
        assert!(keys.unwrap(id, &bad, b"aad").is_err());
        let mut bad = w.clone();
        bad.nonce[0] ^= 1;
        assert!(keys.unwrap(id, &bad, b"aad").is_err());
        let other = KeyId([9; 16]);
        assert!(matches!(keys.unwrap(other, &w, b"aad"), Err(CryptoError::UnknownKey { .. })));
        // Two wraps of one key differ (fresh nonces), and neither holds the key.
        let w2 = keys.wrap(id, &dek, b"aad").unwrap();
        assert_ne!(w.sealed, w2.sealed);
        assert!(!w.sealed.windows(32).any(|x| x == dek.bytes()));
    }

    #[test]
    fn the_key_file_is_private_survives_reopen_rotation_names_and_removal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        let keys = MasterKeys::create_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(matches!(MasterKeys::create_file(&path), Err(KeyFileError::Io { .. })));
        let first = keys.active_key().unwrap();
        let dek = Dek::random();
        let w = keys.wrap(first, &dek, b"x").unwrap();
        let second = keys.rotate().unwrap();
        let named = keys.add_named("billing").unwrap();
        assert!(matches!(keys.add_named("billing"), Err(KeyFileError::Refused(_))));
        assert!(matches!(keys.add_named("a b"), Err(KeyFileError::Refused(_))));
        let again = MasterKeys::open_or_create_file(&path).unwrap();
        assert_eq!(again.active_key().unwrap(), second);
        assert_eq!(again.named_key("billing"), Some(named));
        assert_eq!(again.named_key(&named.to_string()), Some(named));
        assert_eq!(again.named_key("nope"), None);
        assert_eq!(again.unwrap(first, &w, b"x").unwrap().bytes(), dek.bytes());
        assert!(matches!(again.remove(second), Err(KeyFileError::Refused(_))));
        again.remove(first).unwrap();
        assert!(matches!(again.remove(first), Err(KeyFileError::Refused(_))));
        let reopened = MasterKeys::open_file(&path).unwrap();
        assert!(matches!(reopened.unwrap(first, &w, b"x"), Err(CryptoError::UnknownKey { .. })));
        assert_eq!(reopened.list().len(), 2);
        // The file holds the secret in hex, and the debug form never shows it.
        assert!(!format!("{reopened:?}").contains(&hex(&reopened.secret_of(second).unwrap()[..])));
    }

    #[test]
    fn malformed_key_files_name_the_line_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let id = "00112233445566778899aabbccddeeff";
        let secret = "11".repeat(32);
        for (text, line, want) in [
            ("nope\n".to_owned(), 1, "first line"),
            (format!("{FILE_MAGIC}\n{id} active -\n"), 2, "3 fields"),
            (format!("{FILE_MAGIC}\nxyz active - {secret}\n"), 2, "not 32 hex"),
            (format!("{FILE_MAGIC}\n{id} sleepy - {secret}\n"), 2, "state"),
            (format!("{FILE_MAGIC}\n{id} active - 1122\n"), 2, "32 bytes"),
            (format!("{FILE_MAGIC}\n{id} active - zz{}\n", "1".repeat(62)), 2, "not hex"),
            (format!("{FILE_MAGIC}\n{id} active - {secret}\n{id} enabled - {secret}\n"), 3, "twice"),
            (format!("{FILE_MAGIC}\n{id} enabled - {secret}\n"), 2, "0 active"),
        ] {
            let path = dir.path().join("k");
            std::fs::write(&path, &text).unwrap();
            match MasterKeys::open_file(&path) {
                Err(KeyFileError::Malformed { line: l, reason, .. }) => {
                    assert_eq!(l, line, "{text:?}: {reason}");
                    assert!(reason.contains(want), "{text:?}: {reason}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        assert!(matches!(MasterKeys::open_file(dir.path().join("absent")), Err(KeyFileError::Io { .. })));
        assert!(MasterKeys::from_secrets(&[]).is_err());
        let k = MasterKeys::from_secrets(&[(KeyId([1; 16]), [2; 32]), (KeyId([3; 16]), [4; 32])]).unwrap();
        assert_eq!(k.active_key().unwrap(), KeyId([1; 16]));
    }
}
