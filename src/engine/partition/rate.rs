//! Request-rate emulation: per-partition request limits like S3's per-prefix limits (3,500
//! PUT/COPY/POST/DELETE and 5,500 GET/HEAD per second by default), over one-second windows of the
//! store's clock. Requests past a limit get `SlowDown` (503), so hosts can test retry and backoff.
//!
//! Two models of "partition". Without splitting, the store's own partitions carry the limits (so the
//! scheme chosen at creation decides what is hot). With [`PartitionSplitting`], the limits apply to
//! S3-like *rate partitions*: key prefixes per bucket, starting with one per bucket (as a new S3
//! bucket has), and a rate partition that keeps refusing requests for `sustained_s` seconds in a row
//! is split after `delay_s` more: from then on each longer prefix (one more key byte) has a budget of
//! its own. Random leading characters therefore gain throughput as splits land, while timestamp-like
//! keys keep hitting the one partition that holds "now" — S3's behaviour, which this lets hosts
//! reproduce on a [`crate::clock::ManualClock`] in milliseconds.
//!
//! Rate partitions are emulation state: kept in memory, started afresh at open, never moving any
//! record (the store's own partitions stay as the scheme placed them).

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::types::BucketId;

/// Limits per partition and second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRateLimits {
    /// Writes (put, copy, delete) per second.
    pub writes_per_s: u32,
    /// Reads (get, head) per second.
    pub reads_per_s: u32,
    /// S3's automatic splitting of hot prefixes; `None` (default) puts the limits on the store's own
    /// partitions.
    pub splitting: Option<PartitionSplitting>,
}

impl Default for RequestRateLimits {
    /// S3's documented per-prefix rates, on the store's own partitions.
    fn default() -> Self {
        RequestRateLimits { writes_per_s: 3500, reads_per_s: 5500, splitting: None }
    }
}

/// How rate partitions split (see the module docs). S3 publishes no timings; the defaults are of
/// the order S3 users report (minutes), and tests set seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionSplitting {
    /// Key bytes that each bucket's first rate partitions cover (0: one per bucket).
    pub initial_prefix_len: u32,
    /// Consecutive seconds in which a rate partition refused requests before a split is decided
    /// (at least 1).
    pub sustained_s: u32,
    /// Seconds from that decision until the longer prefixes serve.
    pub delay_s: u32,
    /// Longest prefix a split creates, in key bytes (at least 1).
    pub max_prefix_len: u32,
}

impl Default for PartitionSplitting {
    fn default() -> Self {
        PartitionSplitting { initial_prefix_len: 0, sustained_s: 60, delay_s: 60, max_prefix_len: 64 }
    }
}

/// Where a rate partition stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatePartitionState {
    /// Serving every key under its prefix.
    Serving,
    /// Overloaded long enough: split decided, effective at `at_ms` (store clock).
    SplitScheduled {
        /// When the split takes effect.
        at_ms: u64,
    },
    /// Split at `at_ms`: longer prefixes serve its keys; it keeps only the key equal to its prefix.
    Split {
        /// When the split took effect.
        at_ms: u64,
    },
}

/// A snapshot of one rate partition (see [`crate::Store::rate_partitions`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatePartition {
    /// The bucket.
    pub bucket: BucketId,
    /// The key prefix it covers.
    pub prefix: Vec<u8>,
    /// Requests admitted since it was created.
    pub admitted: u64,
    /// Requests refused with `SlowDown`.
    pub slow_downs: u64,
    /// Split state.
    pub state: RatePartitionState,
}

/// Reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestKind {
    Read,
    Write,
}

impl RequestKind {
    pub(crate) fn noun(self) -> &'static str {
        match self {
            RequestKind::Read => "reads",
            RequestKind::Write => "writes",
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Window {
    second: u64,
    reads: u32,
    writes: u32,
}

impl Window {
    /// Counts a request in the window of `now_ms`, or says which limit it would exceed.
    fn admit(&mut self, limits: &RequestRateLimits, kind: RequestKind, now_ms: u64) -> Result<(), u32> {
        let second = now_ms / 1000;
        if self.second != second {
            *self = Window { second, reads: 0, writes: 0 };
        }
        let (count, limit) = match kind {
            RequestKind::Read => (&mut self.reads, limits.reads_per_s),
            RequestKind::Write => (&mut self.writes, limits.writes_per_s),
        };
        if *count >= limit {
            return Err(limit);
        }
        *count += 1;
        Ok(())
    }
}

/// One store partition's counters for the current second (the model without splitting).
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
        self.window.lock().admit(limits, kind, now_ms)
    }
}

/// A request refused by a rate partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) limit: u32,
    pub(crate) prefix: Vec<u8>,
}

#[derive(Debug, Default)]
struct PrefixPartition {
    window: Window,
    /// The last second in which this partition refused a request, and how many seconds in a row
    /// (ending there) it did.
    last_refusing_second: Option<u64>,
    refusing_seconds: u32,
    split_at_ms: Option<u64>,
    admitted: u64,
    slow_downs: u64,
}

impl PrefixPartition {
    fn is_split(&self, now_ms: u64) -> bool {
        self.split_at_ms.is_some_and(|at| now_ms >= at)
    }

    /// Notes a refusal at `now_ms` and decides a split once refusals have lasted long enough.
    fn note_refusal(&mut self, cfg: &PartitionSplitting, now_ms: u64, may_split: bool) {
        self.slow_downs += 1;
        let second = now_ms / 1000;
        if self.last_refusing_second == Some(second) {
            return;
        }
        let in_a_row = second.checked_sub(1).is_some_and(|prev| self.last_refusing_second == Some(prev));
        self.refusing_seconds = if in_a_row { self.refusing_seconds + 1 } else { 1 };
        self.last_refusing_second = Some(second);
        if may_split && self.split_at_ms.is_none() && self.refusing_seconds >= cfg.sustained_s {
            self.split_at_ms = Some(now_ms + u64::from(cfg.delay_s) * 1000);
        }
    }
}

/// Rate partitions of every bucket, with S3-like automatic splitting.
#[derive(Debug)]
pub(crate) struct PrefixRates {
    limits: RequestRateLimits,
    splitting: PartitionSplitting,
    /// Bucket id → prefix → rate partition.
    partitions: Mutex<HashMap<u64, HashMap<Vec<u8>, PrefixPartition>>>,
}

impl PrefixRates {
    pub(crate) fn new(limits: RequestRateLimits, splitting: PartitionSplitting) -> PrefixRates {
        PrefixRates { limits, splitting, partitions: Mutex::new(HashMap::new()) }
    }

    /// Admits a request for `key` at `now_ms` against the rate partition serving it.
    pub(crate) fn admit(
        &self,
        bucket: u64,
        key: &[u8],
        kind: RequestKind,
        now_ms: u64,
    ) -> Result<(), Refusal> {
        let cfg = &self.splitting;
        let max_len = (cfg.max_prefix_len as usize).min(key.len());
        let mut len = (cfg.initial_prefix_len as usize).min(max_len);
        let mut all = self.partitions.lock();
        let map = all.entry(bucket).or_default();
        // Walk down through the splits that have taken effect to the partition serving the key.
        while len < max_len && map.get(&key[..len]).is_some_and(|p| p.is_split(now_ms)) {
            len += 1;
        }
        let part = map.entry(key[..len].to_vec()).or_default();
        match part.window.admit(&self.limits, kind, now_ms) {
            Ok(()) => {
                part.admitted += 1;
                Ok(())
            }
            Err(limit) => {
                let may_split = len < cfg.max_prefix_len as usize;
                part.note_refusal(cfg, now_ms, may_split);
                Err(Refusal { limit, prefix: key[..len].to_vec() })
            }
        }
    }

    /// Every rate partition, by bucket and prefix.
    pub(crate) fn snapshot(&self, now_ms: u64) -> Vec<RatePartition> {
        let all = self.partitions.lock();
        let mut out: Vec<RatePartition> = all
            .iter()
            .flat_map(|(bucket, map)| map.iter().map(move |(prefix, p)| (bucket, prefix, p)))
            .map(|(bucket, prefix, p)| RatePartition {
                bucket: BucketId(*bucket),
                prefix: prefix.clone(),
                admitted: p.admitted,
                slow_downs: p.slow_downs,
                state: match p.split_at_ms {
                    None => RatePartitionState::Serving,
                    Some(at_ms) if now_ms >= at_ms => RatePartitionState::Split { at_ms },
                    Some(at_ms) => RatePartitionState::SplitScheduled { at_ms },
                },
            })
            .collect();
        out.sort_by(|a, b| (a.bucket.0, &a.prefix).cmp(&(b.bucket.0, &b.prefix)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: RequestKind = RequestKind::Write;

    fn rates(sustained_s: u32, delay_s: u32) -> PrefixRates {
        let splitting = PartitionSplitting { initial_prefix_len: 0, sustained_s, delay_s, max_prefix_len: 3 };
        PrefixRates::new(
            RequestRateLimits { writes_per_s: 2, reads_per_s: 2, splitting: Some(splitting) },
            splitting,
        )
    }

    /// Sends `n` writes for `key` at `now_ms` and returns how many were admitted.
    fn flood(r: &PrefixRates, key: &[u8], n: u32, now_ms: u64) -> u32 {
        (0..n).filter(|_| r.admit(1, key, W, now_ms).is_ok()).count() as u32
    }

    #[test]
    fn a_partition_splits_after_sustained_refusals_and_the_delay() {
        let r = rates(2, 3);
        assert_eq!(flood(&r, b"a1", 5, 0), 2);
        assert_eq!(
            r.admit(1, b"b1", W, 500),
            Err(Refusal { limit: 2, prefix: vec![] }),
            "one partition per bucket"
        );
        assert_eq!(
            r.snapshot(500)[0].state,
            RatePartitionState::Serving,
            "one refusing second is not enough"
        );
        assert_eq!(flood(&r, b"a1", 5, 1000), 2);
        assert_eq!(r.snapshot(1000)[0].state, RatePartitionState::SplitScheduled { at_ms: 4000 });
        assert_eq!(flood(&r, b"a1", 5, 3999), 2, "not before the delay");
        // After the split, "a" and "b" have budgets of their own; other buckets are untouched.
        assert_eq!(flood(&r, b"a1", 5, 4000), 2);
        assert_eq!(flood(&r, b"b1", 5, 4000), 2);
        assert_eq!(flood(&r, b"", 5, 4000), 2, "the key equal to the prefix stays with it");
        assert_eq!(r.admit(2, b"a1", W, 4000), Ok(()));
        let snap = r.snapshot(4000);
        let prefixes: Vec<(u64, &[u8])> = snap.iter().map(|p| (p.bucket.0, p.prefix.as_slice())).collect();
        assert_eq!(prefixes, [(1, &b""[..]), (1, b"a"), (1, b"b"), (2, b"")]);
        assert_eq!(snap[0].state, RatePartitionState::Split { at_ms: 4000 });
        assert_eq!((snap[1].admitted, snap[1].slow_downs), (2, 3));
    }

    #[test]
    fn refusals_must_come_in_consecutive_seconds() {
        let r = rates(2, 0);
        flood(&r, b"k", 5, 0);
        flood(&r, b"k", 5, 2000);
        flood(&r, b"k", 5, 4000);
        assert_eq!(r.snapshot(4000)[0].state, RatePartitionState::Serving);
        flood(&r, b"k", 5, 5000);
        assert_eq!(r.snapshot(5000)[0].state, RatePartitionState::Split { at_ms: 5000 });
    }

    #[test]
    fn splitting_stops_at_the_longest_prefix() {
        let r = rates(1, 0);
        for t in 0..10 {
            flood(&r, b"abcdef", 5, t * 1000);
        }
        let snap = r.snapshot(10_000);
        let prefixes: Vec<&[u8]> = snap.iter().map(|p| p.prefix.as_slice()).collect();
        assert_eq!(prefixes, [&b""[..], b"a", b"ab", b"abc"]);
        assert_eq!(snap[3].state, RatePartitionState::Serving, "max_prefix_len 3 cannot split further");
        assert_eq!(flood(&r, b"abcdef", 5, 10_000), 2);
    }

    #[test]
    fn reads_and_writes_have_separate_budgets() {
        let mut w = Window::default();
        let limits = RequestRateLimits { writes_per_s: 1, reads_per_s: 2, splitting: None };
        assert_eq!(w.admit(&limits, W, 0), Ok(()));
        assert_eq!(w.admit(&limits, W, 10), Err(1));
        assert_eq!(w.admit(&limits, RequestKind::Read, 10), Ok(()));
        assert_eq!(w.admit(&limits, RequestKind::Read, 10), Ok(()));
        assert_eq!(w.admit(&limits, RequestKind::Read, 10), Err(2));
        assert_eq!(w.admit(&limits, W, 1000), Ok(()), "a new second, a new window");
    }
}
