//! Time as the store sees it. Every time rule (object modification times, request-rate windows; later
//! lifecycle, restore expiry, presign expiry) reads a [`Clock`], so tests move time instead of
//! sleeping.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};

/// A source of the current time, in ms since the Unix epoch.
pub trait Clock: Send + Sync + Debug {
    /// Now, in ms since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The system's clock (default).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }
}

/// A clock that moves only when told to.
#[derive(Debug, Default)]
pub struct ManualClock {
    ms: AtomicU64,
}

impl ManualClock {
    /// A clock stopped at `ms`.
    #[must_use]
    pub fn new(ms: u64) -> ManualClock {
        ManualClock { ms: AtomicU64::new(ms) }
    }

    /// Moves the clock forward.
    pub fn advance_ms(&self, ms: u64) {
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set_ms(&self, ms: u64) {
        self.ms.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.ms.load(Ordering::SeqCst)
    }
}
