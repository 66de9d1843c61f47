//! The directories this process has open as stores. The LOCK file (an OS file lock) tells processes
//! apart, but a second `Store::open` of a directory in the same process would otherwise read as
//! "locked by another process", which sends a newcomer looking for a process that does not exist.
//! This registry lets the second open say what happened ([`Error::AlreadyOpen`]): the first handle
//! is still alive and can be cloned.
//!
//! Only stores on the real file system are registered: a custom [`crate::io::Storage`] (the
//! simulated one) has its own lock, and its paths name nothing outside it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use crate::error::{Error, Result};

/// Canonical roots of the stores open in this process.
static OPEN: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// Holds a directory's place in the registry; dropping it (with the store) releases it.
#[derive(Debug)]
pub(crate) struct Registered(PathBuf);

impl Drop for Registered {
    fn drop(&mut self) {
        OPEN.lock().remove(&self.0);
    }
}

/// Registers `root` (which must exist) as open in this process.
///
/// # Errors
/// `AlreadyOpen` when a live store of this process has it open; `Io` when it cannot be
/// canonicalized.
pub(crate) fn register(root: &Path) -> Result<Registered> {
    let canonical = std::fs::canonicalize(root).map_err(|e| Error::io("canonicalize", root, e))?;
    if !OPEN.lock().insert(canonical.clone()) {
        return Err(Error::AlreadyOpen { path: canonical });
    }
    Ok(Registered(canonical))
}
