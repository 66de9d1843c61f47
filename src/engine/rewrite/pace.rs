//! A byte-rate limit shared by background work (compaction, scrubbing), so that it leaves the disk
//! to foreground requests: whoever has done more than the rate allows since the pacer started
//! sleeps until the rate is met again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Longest single sleep, so that a stop request is seen soon.
const SLEEP_MAX: Duration = Duration::from_millis(50);

/// Limits the bytes per second of every caller together.
#[derive(Debug)]
pub(crate) struct Pacer {
    bytes_per_sec: u64,
    /// When pacing started, and the bytes done since.
    state: Mutex<(Instant, u64)>,
    /// Set when the work is being stopped: sleeps end at once.
    stopped: AtomicBool,
}

impl Pacer {
    pub(crate) fn new(bytes_per_sec: u64) -> Pacer {
        Pacer {
            bytes_per_sec: bytes_per_sec.max(1),
            state: Mutex::new((Instant::now(), 0)),
            stopped: AtomicBool::new(false),
        }
    }

    /// Counts `bytes` done, then sleeps while the total is ahead of the rate.
    pub(crate) fn consume(&self, bytes: u64) {
        self.state.lock().1 += bytes;
        loop {
            let wait = {
                let st = self.state.lock();
                Duration::from_secs_f64(st.1 as f64 / self.bytes_per_sec as f64)
                    .saturating_sub(st.0.elapsed())
            };
            if wait.is_zero() || self.stopped.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(wait.min(SLEEP_MAX));
        }
    }

    /// Ends every sleep, now and later.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_holds_callers_to_the_rate_and_a_stop_ends_the_wait() {
        let p = Pacer::new(1_000_000);
        let t = Instant::now();
        p.consume(100_000);
        assert!(t.elapsed() >= Duration::from_millis(90), "{:?}", t.elapsed());
        let p = std::sync::Arc::new(Pacer::new(1));
        let waiter = {
            let p = p.clone();
            std::thread::spawn(move || p.consume(1_000_000))
        };
        std::thread::sleep(Duration::from_millis(20));
        p.stop();
        waiter.join().unwrap();
    }

    /// Review finding 3: time the pacer sat idle is no credit for a burst later. The rate is
    /// measured from the pacer's start, so a background compactor (or scrubber) that found nothing
    /// to do for an hour could then write an hour's worth of bytes (57 GB at 16 MiB/s) unpaced.
    /// Only a lower bound on the time is asserted: a slow machine can only make the wait longer.
    #[test]
    #[ignore = "review finding 3: idle time accrues as credit, so a later burst is unpaced"]
    fn idle_time_is_no_credit_for_a_burst() {
        let p = Pacer::new(1_000_000);
        std::thread::sleep(Duration::from_millis(600));
        let t = Instant::now();
        p.consume(400_000);
        assert!(t.elapsed() >= Duration::from_millis(200), "400 KB at 1 MB/s took {:?}", t.elapsed());
    }
}
