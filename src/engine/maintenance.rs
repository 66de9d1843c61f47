//! Background maintenance a host turns on, off and paces: the compactor (threads that each own a
//! share of the partitions, so that no two rewrite one partition and at most `concurrent_rewrites`
//! run at once) and the scrubber (one thread). Both work beside the foreground: a compaction holds
//! only its own partition's rewrite lock, and takes the index lock for the brief switch.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::engine::partition::Partition;
use crate::engine::rewrite::pace::Pacer;
use crate::engine::rewrite::{CompactionPolicy, CompactionReport, compact_partition};
use crate::engine::scrub::{ScrubReport, scrub_partition};
use crate::engine::store::Store;
use crate::error::{Error, Result};

/// Most background compaction threads.
pub const CONCURRENT_REWRITES_MAX: usize = 64;

/// Default [`BackgroundCompaction::bytes_per_sec`]: 16 MiB/s. Measured here (`examples/compaction`,
/// 256 MiB half dead): a durable 4 KiB put's p99 while the compactor ran was within 2 × its p99
/// alone in eight runs of nine at 16 MiB/s, and 1.9–2.2 × at 64. At this rate a day rewrites 1.4 TB.
pub const BACKGROUND_COMPACTION_BYTES_PER_SEC_DEFAULT: u64 = 16 * 1024 * 1024;

/// How the background compactor runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackgroundCompaction {
    /// Which segments it rewrites.
    pub policy: CompactionPolicy,
    /// Bytes written per second by all its threads together (`None`: as fast as the disk goes;
    /// default [`BACKGROUND_COMPACTION_BYTES_PER_SEC_DEFAULT`]).
    pub bytes_per_sec: Option<u64>,
    /// Rewrites that may run at once (threads; each owns a share of the partitions), 1 to
    /// [`CONCURRENT_REWRITES_MAX`].
    pub concurrent_rewrites: usize,
    /// Pause between passes over the partitions.
    pub interval_ms: u64,
}

impl Default for BackgroundCompaction {
    fn default() -> Self {
        BackgroundCompaction {
            policy: CompactionPolicy::default(),
            bytes_per_sec: Some(BACKGROUND_COMPACTION_BYTES_PER_SEC_DEFAULT),
            concurrent_rewrites: 1,
            interval_ms: 1000,
        }
    }
}

/// How the background scrubber runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackgroundScrub {
    /// Bytes read per second.
    pub bytes_per_sec: u64,
    /// Pause between passes over the store.
    pub interval_ms: u64,
}

impl Default for BackgroundScrub {
    fn default() -> Self {
        BackgroundScrub { bytes_per_sec: 32 * 1024 * 1024, interval_ms: 60_000 }
    }
}

#[derive(Debug, Default)]
struct Signal {
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Signal {
    /// Waits up to `ms`; returns whether a stop was asked for.
    fn wait(&self, ms: u64) -> bool {
        let mut stop = self.stop.lock();
        if !*stop {
            self.wake.wait_for(&mut stop, Duration::from_millis(ms));
        }
        *stop
    }
}

/// Running background threads of one kind.
#[derive(Debug)]
struct Workers {
    signal: Arc<Signal>,
    pacer: Option<Arc<Pacer>>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    fn stop(mut self) {
        *self.signal.stop.lock() = true;
        self.signal.wake.notify_all();
        if let Some(p) = &self.pacer {
            p.stop();
        }
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// The store's background maintenance.
#[derive(Debug, Default)]
pub(crate) struct Maintenance {
    compactor: Option<Workers>,
    scrubber: Option<Workers>,
    compacted: Arc<Mutex<CompactionReport>>,
    scrubbed: Arc<Mutex<Option<ScrubReport>>>,
}

impl Maintenance {
    /// Stops every thread (at close).
    pub(crate) fn stop_all(&mut self) {
        if let Some(w) = self.compactor.take() {
            w.stop();
        }
        if let Some(w) = self.scrubber.take() {
            w.stop();
        }
    }
}

/// A pace of nothing: refused rather than taken as 1 byte per second (`None` is "unpaced").
fn zero_pace() -> Error {
    Error::InvalidArgument {
        name: "bytes_per_sec",
        value: "0".into(),
        reason: "a pace must be at least 1 byte per second (None runs unpaced)".into(),
    }
}

impl Store {
    /// Starts the background compactor (replacing one already running with these settings).
    ///
    /// # Errors
    /// `InvalidArgument` for `concurrent_rewrites` outside 1 to [`CONCURRENT_REWRITES_MAX`] or a
    /// pace of 0 bytes per second; `Io` if a thread cannot be started; `PreviousIo` once the store
    /// is poisoned.
    pub fn start_background_compaction(&self, settings: BackgroundCompaction) -> Result<()> {
        self.inner.ctx.check()?;
        if settings.bytes_per_sec == Some(0) {
            return Err(zero_pace());
        }
        let n = settings.concurrent_rewrites;
        if !(1..=CONCURRENT_REWRITES_MAX).contains(&n) {
            return Err(Error::InvalidArgument {
                name: "concurrent_rewrites",
                value: n.to_string(),
                reason: format!("must be 1 to {CONCURRENT_REWRITES_MAX}"),
            });
        }
        let mut m = self.inner.maintenance.lock();
        if let Some(w) = m.compactor.take() {
            w.stop();
        }
        let signal = Arc::new(Signal::default());
        let pacer = settings.bytes_per_sec.map(|r| Arc::new(Pacer::new(r)));
        let mut workers = Workers { signal: signal.clone(), pacer: pacer.clone(), handles: Vec::new() };
        for i in 0..n {
            let (signal, pacer, done) = (signal.clone(), pacer.clone(), m.compacted.clone());
            let partitions = self.inner.partitions.clone();
            let spawned = std::thread::Builder::new().name("s3lite-compact".into()).spawn(move || {
                let mine: Vec<&Arc<Partition>> = partitions.iter().skip(i).step_by(n).collect();
                loop {
                    for part in &mine {
                        let mut r = CompactionReport::default();
                        let result = compact_partition(part, &settings.policy, pacer.as_deref(), &mut r);
                        {
                            let mut d = done.lock();
                            let held = r.files_held;
                            d.absorb(r);
                            // A count now, not a sum over passes.
                            d.files_held = held;
                        }
                        // Poisoned: nothing more to do. Another error (an output that could not be
                        // written, the rewrite undone) is tried again on the next pass.
                        if matches!(result, Err(Error::PreviousIo)) || *signal.stop.lock() {
                            return;
                        }
                    }
                    if signal.wait(settings.interval_ms) {
                        return;
                    }
                }
            });
            match spawned {
                Ok(h) => workers.handles.push(h),
                Err(e) => {
                    workers.stop();
                    return Err(Error::io("start compaction thread", "<thread>", e));
                }
            }
        }
        m.compactor = Some(workers);
        Ok(())
    }

    /// Stops the background compactor, after the rewrite it is in (if any) commits or is undone.
    pub fn stop_background_compaction(&self) {
        let w = self.inner.maintenance.lock().compactor.take();
        if let Some(w) = w {
            w.stop();
        }
    }

    /// What the background compactor has done since the store opened.
    #[must_use]
    pub fn background_compaction_report(&self) -> CompactionReport {
        self.inner.maintenance.lock().compacted.lock().clone()
    }

    /// Starts the background scrubber (replacing one already running).
    ///
    /// # Errors
    /// `InvalidArgument` for a pace of 0 bytes per second; `Io` if the thread cannot be started;
    /// `PreviousIo` once the store is poisoned.
    pub fn start_background_scrub(&self, settings: BackgroundScrub) -> Result<()> {
        self.inner.ctx.check()?;
        if settings.bytes_per_sec == 0 {
            return Err(zero_pace());
        }
        let mut m = self.inner.maintenance.lock();
        if let Some(w) = m.scrubber.take() {
            w.stop();
        }
        let signal = Arc::new(Signal::default());
        let pacer = Arc::new(Pacer::new(settings.bytes_per_sec));
        let (s, p, last) = (signal.clone(), pacer.clone(), m.scrubbed.clone());
        let partitions = self.inner.partitions.clone();
        let handle = std::thread::Builder::new()
            .name("s3lite-scrub".into())
            .spawn(move || {
                loop {
                    let mut r = ScrubReport::default();
                    for part in partitions.iter() {
                        if scrub_partition(part, Some(&p), &mut r).is_err() || *s.stop.lock() {
                            return;
                        }
                    }
                    *last.lock() = Some(r);
                    if s.wait(settings.interval_ms) {
                        return;
                    }
                }
            })
            .map_err(|e| Error::io("start scrub thread", "<thread>", e))?;
        m.scrubber = Some(Workers { signal, pacer: Some(pacer), handles: vec![handle] });
        Ok(())
    }

    /// Stops the background scrubber.
    pub fn stop_background_scrub(&self) {
        let w = self.inner.maintenance.lock().scrubber.take();
        if let Some(w) = w {
            w.stop();
        }
    }

    /// The report of the background scrubber's last full pass, if it has finished one.
    #[must_use]
    pub fn last_scrub_report(&self) -> Option<ScrubReport> {
        self.inner.maintenance.lock().scrubbed.lock().clone()
    }
}
