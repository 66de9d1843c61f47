//! Request-rate emulation: per-partition request limits like S3's per-prefix limits (3,500
//! PUT/COPY/POST/DELETE and 5,500 GET/HEAD per second by default), over one-second windows of the
//! store's clock. Requests past a limit get `SlowDown` (503), so hosts can test retry and backoff.

use parking_lot::Mutex;

/// Limits per partition and second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRateLimits {
    /// Writes (put, copy, delete) per second.
    pub writes_per_s: u32,
    /// Reads (get, head) per second.
    pub reads_per_s: u32,
}

impl Default for RequestRateLimits {
    /// S3's documented per-prefix rates.
    fn default() -> Self {
        RequestRateLimits { writes_per_s: 3500, reads_per_s: 5500 }
    }
}

/// Reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestKind {
    Read,
    Write,
}

#[derive(Debug, Default)]
struct Window {
    second: u64,
    reads: u32,
    writes: u32,
}

/// One partition's counters for the current second.
#[derive(Debug, Default)]
pub(crate) struct RateWindow {
    window: Mutex<Window>,
}

impl RateWindow {
    /// Admits a request at `now_ms`, or says which limit it would exceed.
    pub(crate) fn admit(
        &self,
        limits: &RequestRateLimits,
        kind: RequestKind,
        now_ms: u64,
    ) -> Result<(), u32> {
        let mut w = self.window.lock();
        let second = now_ms / 1000;
        if w.second != second {
            *w = Window { second, reads: 0, writes: 0 };
        }
        let (count, limit) = match kind {
            RequestKind::Read => (&mut w.reads, limits.reads_per_s),
            RequestKind::Write => (&mut w.writes, limits.writes_per_s),
        };
        if *count >= limit {
            return Err(limit);
        }
        *count += 1;
        Ok(())
    }
}
