//! Reading a large chunk record's body on two cores (DESIGN §7.6, "The sealed read path").
//!
//! A get that reads a whole chunk record into its caller's buffer reads, hashes and (when sealed)
//! opens it a slice at a time. From [`SPLIT_BODY_BYTES_MIN`] on, the body is cut in two spans: the
//! calling thread does the first into the caller's buffer while the store's read worker does the
//! second into buffers of its own (one per slice), which the caller copies after its own span
//! once both are done and every check passed. The two CRC states combine into the record's, and the errors rank as
//! they would on one thread: a read error, then the record's CRC, then what `take` (the opener)
//! found, the first span's before the second's. So the caller sees the same error whether or not
//! a read was split, and nothing of either span stays in its buffer unless the whole body passed.
//!
//! There is one worker per process, started on the first split read. A read that finds it busy
//! (another get has it) reads its whole body itself: the other core is taken then anyway.
//!
//! What the worker keeps between reads holds no plaintext: each of its buffers is zeroed as the
//! caller copies it (or, on an error, before it is kept or freed). A job that panics on the worker
//! is dropped unanswered, and its reader reads that span itself, as it does a span it took back;
//! the worker goes on to the next job. A worker whose thread is gone anyway is replaced by a later
//! read, and a thread that could not be started is tried again [`START_RETRY`] later. In a process
//! forked from the one that started the worker (whose thread the fork did not copy) the worker is
//! never used: reads there run on one thread and queue nothing.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, TryLockError, mpsc};
use std::time::{Duration, Instant};

use zeroize::Zeroize as _;

use crate::error::Result;

/// Bodies from this long on are read as two spans at once: 2 MiB. Below it the hand-off to the
/// worker (a wake-up, some tens of microseconds on a loaded machine) and the copy of its span take
/// much of what the second core saves.
pub(crate) const SPLIT_BODY_BYTES_MIN: u64 = 2 << 20;

/// Share of a split body, in per cent, the calling thread reads itself: it also copies the
/// worker's span after its own once both are done, so it takes less than half.
const SPLIT_CALLER_PERCENT: u64 = 45;

/// The worker's buffer is kept from read to read (no page faults, no unmapping) up to this size;
/// a larger one is freed after its read. Either way it is zeroed first.
const SCRATCH_KEPT_BYTES_MAX: usize = 16 << 20;

/// How long after a failed start of the worker thread the reads run on one thread before one of
/// them tries to start it again.
const START_RETRY: Duration = Duration::from_secs(1);

/// Where a body's bytes are read from (a chunk record's body in its segment).
pub(crate) trait SpanSource: Send + Sync {
    /// Appends the `n` body bytes at `pos` to `out`. On an error `out` is as it was.
    ///
    /// # Errors
    /// The read's (`Io`).
    fn append(&self, out: &mut Vec<u8>, pos: u64, n: u64) -> Result<()>;
}

/// What a read does with each slice once it is read and hashed: `take(buf, at, pos)` gets the
/// buffer, where the slice starts in it and the slice's offset in the body, and may rewrite the
/// buffer from `at` on (an opener writes plaintext over the ciphertext, and cuts the buffer to it).
pub(crate) type Take = dyn Fn(&mut Vec<u8>, usize, u64) -> Result<()> + Send + Sync;

/// How a body is read: slices of `slice_bytes`, a split (if any) at a multiple of `align` (whole
/// cipher chunks for a sealed body, whose opener takes whole chunks), from `split_min` bytes on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) slice_bytes: u64,
    pub(crate) align: u64,
    pub(crate) split_min: u64,
}

impl Plan {
    /// Where a body of `len` bytes is split between the calling thread (`[0, split)`) and the
    /// worker (`[split, len)`), or `None` when it is too short to gain from it.
    fn split_point(self, len: u64) -> Option<u64> {
        if len < self.split_min {
            return None;
        }
        let align = self.align.max(1);
        let split = len * SPLIT_CALLER_PERCENT / 100 / align * align;
        (split > 0 && split < len).then_some(split)
    }
}

/// The worker's buffers: one per slice of its span, each of its slice's size, so that a `pread`
/// fills it without a zero-fill pass first (a buffer with far more room than the read would be
/// zero-filled: `pread` fills all the room it is given) and nothing is moved as the span grows.
/// Zeroed whenever dropped, however that comes (a reader gone before it took the worker's answer):
/// besides, every buffer is zeroed before it is kept for the next read.
#[derive(Default, PartialEq, Eq)]
struct Slices(Vec<Vec<u8>>);

impl std::ops::Deref for Slices {
    type Target = Vec<Vec<u8>>;
    fn deref(&self) -> &Vec<Vec<u8>> {
        &self.0
    }
}

impl std::ops::DerefMut for Slices {
    fn deref_mut(&mut self) -> &mut Vec<Vec<u8>> {
        &mut self.0
    }
}

impl Drop for Slices {
    fn drop(&mut self) {
        wipe(self);
    }
}

/// Zeroes all of `buf`'s room and empties it. Not `Vec::zeroize`, which zeroes a vector's
/// elements one volatile byte store at a time (0.5 ms more for the 8 MiB get's 4.4 MiB, measured):
/// a slice's `zeroize` is a `memset` the compiler must keep.
fn zero(buf: &mut Vec<u8>) {
    buf.as_mut_slice().zeroize();
    buf.spare_capacity_mut().zeroize();
    buf.clear();
}

/// What reading one span came to. Every part is kept, so that two spans' errors rank as one
/// thread's would.
struct Span {
    /// The read's outcome: on an error the span stopped there.
    read: Result<()>,
    /// The CRC state over the span's bytes (all of them when `read` is `Ok`).
    crc: crc32fast::Hasher,
    /// The first failure of `take`; the slices after it were read and hashed, not taken.
    taken: Result<()>,
}

/// Appends body bytes `[lo, hi)` to `out`, `slice_bytes` at a time, hashing each slice and
/// handing it to `take` while it is in cache. A slice `take` failed on, or that came after its
/// failure, is cut back off `out`; on a read error `out` holds what came before it.
fn read_span(
    source: &dyn SpanSource,
    (lo, hi): (u64, u64),
    slice_bytes: u64,
    out: &mut Vec<u8>,
    take: &Take,
) -> Span {
    let mut span = Span { read: Ok(()), crc: crc32fast::Hasher::new(), taken: Ok(()) };
    let mut pos = lo;
    while pos < hi {
        let n = slice_bytes.max(1).min(hi - pos);
        let at = out.len();
        if let Err(e) = source.append(out, pos, n) {
            span.read = Err(e);
            break;
        }
        span.crc.update(&out[at..]);
        if span.taken.is_ok() {
            span.taken = take(out, at, pos);
        }
        if span.taken.is_err() {
            out.truncate(at);
        }
        pos += n;
    }
    span
}

/// As [`read_span`], each slice read into its own buffer of `slices` (reused, one per slice, cut
/// to the slices read): the worker's way, whose slices the caller copies in order.
fn read_span_sliced(
    source: &dyn SpanSource,
    (lo, hi): (u64, u64),
    slice_bytes: u64,
    slices: &mut Slices,
    take: &Take,
) -> Span {
    let mut span = Span { read: Ok(()), crc: crc32fast::Hasher::new(), taken: Ok(()) };
    let (mut pos, mut k) = (lo, 0);
    while pos < hi {
        let n = slice_bytes.max(1).min(hi - pos);
        if slices.len() == k {
            slices.push(Vec::new());
        }
        let buf = &mut slices[k];
        buf.clear();
        if buf.capacity() as u64 > n + (64 << 10) {
            // The last, short slice: room for itself only (a `pread` fills all the room it has).
            *buf = Vec::new();
        }
        if let Err(e) = source.append(buf, pos, n) {
            span.read = Err(e);
            break;
        }
        span.crc.update(buf);
        if span.taken.is_ok() {
            span.taken = take(buf, 0, pos);
        }
        if span.taken.is_err() {
            buf.clear();
        }
        pos += n;
        k += 1;
    }
    slices.truncate(k);
    span
}

/// Reads a body of `len` bytes from `source` into `out` as `plan` says, each slice handed to
/// `take`, the second span on `worker` when the body is split and the worker is free; then
/// checks the whole body's CRC state with `verify`. Errors rank: a read error, `verify`'s, then
/// `take`'s (the first span's before the second's). On any error `out` is cut back to its length
/// on entry; on success it holds what `take` left of every slice, in order.
///
/// # Errors
/// As said; `take`'s and `verify`'s are theirs.
pub(crate) fn read_body(
    source: &Arc<dyn SpanSource>,
    len: u64,
    plan: Plan,
    take: &Arc<Take>,
    worker: Option<&ReadWorker>,
    out: &mut Vec<u8>,
    verify: impl FnOnce(crc32fast::Hasher) -> Result<()>,
) -> Result<()> {
    let start = out.len();
    let claim = plan.split_point(len).and_then(|split| Some((split, worker?.claim()?)));
    let (mut span, rest) = match claim {
        None => (read_span(&**source, (0, len), plan.slice_bytes, out, &**take), None),
        Some((split, mut claim)) => {
            // Room for all of it up front: the worker's span is copied in without moving this one.
            out.reserve_exact(usize::try_from(len).unwrap_or(usize::MAX));
            let pending = claim.send(source, (split, len), plan.slice_bytes, take);
            let first = read_span(&**source, (0, split), plan.slice_bytes, out, &**take);
            // A worker that has not started the span yet (its core is busy elsewhere) loses it to
            // this thread, which reads it straight after its own: never slower than one thread.
            let done = pending.filter(|p| !p.take_back()).and_then(|p| p.done.recv().ok());
            let (second, scratch) = match done {
                Some((second, scratch)) => (second, Some(scratch)),
                None => (read_span(&**source, (split, len), plan.slice_bytes, out, &**take), None),
            };
            (first, Some((second, scratch, claim)))
        }
    };
    let mut extra = None;
    if let Some((second, scratch, claim)) = rest {
        span.crc.combine(&second.crc);
        span.read = span.read.and(second.read);
        span.taken = span.taken.and(second.taken);
        extra = scratch.map(|scratch| (scratch, claim));
    }
    let result = span.read.and_then(|()| verify(span.crc)).and(span.taken);
    if result.is_err() {
        out.truncate(start);
    }
    if let Some((mut scratch, claim)) = extra {
        for slice in scratch.iter_mut() {
            if result.is_ok() {
                out.extend_from_slice(slice);
            }
            // Zeroed while the copy has it in cache: the worker keeps no plaintext (its buffers
            // outlive the read, the object's key and the store).
            zero(slice);
        }
        claim.keep(scratch);
    }
    result
}

/// Zeroes every buffer of `slices`, all its capacity (an opener cuts a buffer to the plaintext it
/// wrote, and what lay past it may be plaintext too), and empties it.
fn wipe(slices: &mut Slices) {
    for slice in slices.iter_mut() {
        zero(slice);
    }
}

/// A job's state: sent, taken by the worker, or taken back by its reader.
const JOB_SENT: u8 = 0;
const JOB_STARTED: u8 = 1;
const JOB_TAKEN_BACK: u8 = 2;

/// A job sent to the worker, as its reader holds it.
struct Pending {
    state: Arc<AtomicU8>,
    done: mpsc::Receiver<(Span, Slices)>,
}

impl Pending {
    /// Takes the job back unless the worker started it: true when it did (the worker then drops
    /// it unread, and will send nothing).
    fn take_back(&self) -> bool {
        self.state.compare_exchange(JOB_SENT, JOB_TAKEN_BACK, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
}

/// A job for the worker: read `span` of `source` into `scratch`, then send both back on `done`.
/// A job the worker drops unanswered (taken back, or one that panicked) is read by its reader.
struct Job {
    source: Arc<dyn SpanSource>,
    span: (u64, u64),
    slice_bytes: u64,
    take: Arc<Take>,
    scratch: Slices,
    state: Arc<AtomicU8>,
    done: mpsc::SyncSender<(Span, Slices)>,
}

/// A thread that reads the second span of split bodies, one at a time.
pub(crate) struct ReadWorker {
    jobs: mpsc::Sender<Job>,
    /// Set while a read has the worker (`Claim`).
    busy: AtomicBool,
    /// The worker's buffer between reads (zeroed: see [`read_body`]).
    scratch: Arc<Mutex<Slices>>,
    /// The process the thread was started in: a process forked from it has no such thread.
    pid: u32,
    /// Cleared when the thread ends (or is found gone), so that a later read starts another.
    alive: Arc<AtomicBool>,
}

impl std::fmt::Debug for ReadWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadWorker")
            .field("busy", &self.busy.load(Ordering::Relaxed))
            .field("pid", &self.pid)
            .field("alive", &self.alive.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Clears the worker's `alive` flag however its thread ends.
struct Alive(Arc<AtomicBool>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Puts the worker's (zeroed) buffer back for the next read.
fn keep_scratch(kept: &Mutex<Slices>, scratch: Slices) {
    *kept.lock().unwrap_or_else(|p| p.into_inner()) = scratch;
}

/// The worker thread: serves `queue` until every sender is gone. A job that panics is dropped
/// unanswered (its reader reads the span itself) and the thread goes on.
fn serve(queue: &mpsc::Receiver<Job>, kept: &Mutex<Slices>) {
    for job in queue {
        let Job { source, span, slice_bytes, take, mut scratch, state, done } = job;
        if state.compare_exchange(JOB_SENT, JOB_STARTED, Ordering::AcqRel, Ordering::Acquire).is_err() {
            // Taken back by its reader: the buffer goes back for the next read.
            keep_scratch(kept, scratch);
            continue;
        }
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let read = read_span_sliced(&*source, span, slice_bytes, &mut scratch, &*take);
            // The record's segment and its cipher are let go before the reader hears back.
            drop((source, take));
            read
        }));
        match read {
            Ok(read) => {
                // The reader waits for it; if it is gone (it panicked), its buffers come back.
                if let Err(mpsc::SendError((_, mut scratch))) = done.send((read, scratch)) {
                    wipe(&mut scratch);
                    keep_scratch(kept, scratch);
                }
            }
            Err(_panic) => {
                // Already reported by the panic hook. `done` is dropped unanswered.
                wipe(&mut scratch);
                keep_scratch(kept, scratch);
            }
        }
    }
}

impl ReadWorker {
    /// Starts a worker thread; `None` when the OS refuses one. The thread ends once the worker
    /// is dropped (and its last job is done).
    pub(crate) fn start() -> Option<ReadWorker> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let scratch = Arc::new(Mutex::new(Slices::default()));
        let alive = Arc::new(AtomicBool::new(true));
        let (kept, flag) = (scratch.clone(), Alive(alive.clone()));
        std::thread::Builder::new()
            .name("s3lite-read".into())
            .spawn(move || {
                let _alive = flag;
                serve(&queue, &kept);
            })
            .ok()?;
        Some(ReadWorker { jobs, busy: AtomicBool::new(false), scratch, pid: std::process::id(), alive })
    }

    /// The process's worker, started on first use: `None` on a machine with one core (nothing to
    /// gain), when no thread could be started (tried again [`START_RETRY`] later), or while
    /// another read is starting it. One whose thread is gone is replaced.
    pub(crate) fn shared() -> Option<Arc<ReadWorker>> {
        static CORES: OnceLock<usize> = OnceLock::new();
        static SLOT: Mutex<Slot> = Mutex::new(Slot { worker: None, retry_at: None });
        if *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from)) < 2 {
            return None;
        }
        // Never waits: a read that finds the slot taken reads on one thread (in a forked child,
        // the slot may be held by a thread the fork did not copy).
        let mut slot = match SLOT.try_lock() {
            Ok(slot) => slot,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        slot.worker(ReadWorker::start)
    }

    /// The worker for one split read, or `None` when another read has it, or in a process
    /// forked from the one that started it (no thread would take the job there).
    fn claim(&self) -> Option<Claim<'_>> {
        if self.pid != std::process::id() {
            return None;
        }
        self.busy.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).ok()?;
        Some(Claim { worker: self })
    }
}

/// Where the process's worker is kept ([`ReadWorker::shared`]).
struct Slot {
    worker: Option<Arc<ReadWorker>>,
    /// After a failed start: when the next may be tried.
    retry_at: Option<Instant>,
}

impl Slot {
    /// The worker if its thread lives; else one `start`s, unless a start failed less than
    /// [`START_RETRY`] ago.
    fn worker(&mut self, start: impl FnOnce() -> Option<ReadWorker>) -> Option<Arc<ReadWorker>> {
        if let Some(w) = &self.worker
            && w.alive.load(Ordering::Acquire)
        {
            return Some(w.clone());
        }
        let now = Instant::now();
        if self.retry_at.is_some_and(|at| now < at) {
            return None;
        }
        let worker = start().map(Arc::new);
        self.retry_at = worker.is_none().then(|| now + START_RETRY);
        self.worker.clone_from(&worker);
        worker
    }
}

/// A read's hold on the worker, released when dropped.
struct Claim<'a> {
    worker: &'a ReadWorker,
}

impl Claim<'_> {
    /// Hands the worker `span` of `source`: the job, whose result comes back on its channel, or
    /// `None` when the worker thread is gone (then marked so, for a later read to replace it).
    fn send(
        &mut self,
        source: &Arc<dyn SpanSource>,
        span: (u64, u64),
        slice_bytes: u64,
        take: &Arc<Take>,
    ) -> Option<Pending> {
        let scratch = std::mem::take(&mut *self.worker.scratch.lock().unwrap_or_else(|p| p.into_inner()));
        let (done, pending) = mpsc::sync_channel(1);
        let state = Arc::new(AtomicU8::new(JOB_SENT));
        let job = Job {
            source: source.clone(),
            span,
            slice_bytes,
            take: take.clone(),
            scratch,
            state: state.clone(),
            done,
        };
        match self.worker.jobs.send(job) {
            Ok(()) => Some(Pending { state, done: pending }),
            Err(mpsc::SendError(job)) => {
                self.worker.alive.store(false, Ordering::Release);
                keep_scratch(&self.worker.scratch, job.scratch);
                None
            }
        }
    }

    /// Gives the worker its buffer back for the next read (freed when large); zeroed already.
    fn keep(self, mut scratch: Slices) {
        if scratch.iter().map(Vec::capacity).sum::<usize>() <= SCRATCH_KEPT_BYTES_MAX {
            keep_scratch(&self.worker.scratch, scratch);
        } else {
            // Freed as it is, not zeroed a second time by the drop of `Slices`.
            drop(std::mem::take(&mut scratch.0));
        }
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.worker.busy.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::crypto::Dek;
    use crate::engine::crypto::chunks::{BodyCipher, Sealer, TAG_BYTES};
    use crate::error::{CorruptionSite, Error};
    use std::time::Duration;

    /// Plaintext bytes per cipher chunk in these tests, and a sealed chunk's size.
    const C: usize = 100;
    const STEP: u64 = (C + TAG_BYTES) as u64;

    /// A body in memory; reads from `fail_at` on fail.
    struct Bytes {
        bytes: Vec<u8>,
        fail_at: u64,
    }

    impl SpanSource for Bytes {
        fn append(&self, out: &mut Vec<u8>, pos: u64, n: u64) -> Result<()> {
            if pos + n > self.fail_at {
                return Err(Error::io("read chunk", "<test>", std::io::Error::other("injected")));
            }
            out.extend_from_slice(&self.bytes[pos as usize..(pos + n) as usize]);
            Ok(())
        }
    }

    fn site() -> CorruptionSite {
        CorruptionSite { partition: None, segment_id: None, offset: 0 }
    }

    fn cipher() -> BodyCipher {
        BodyCipher::new(&Dek::from_bytes([3; 32]), [9; 7], b"split".to_vec(), C)
    }

    fn plaintext(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    fn seal(plain: &[u8]) -> Vec<u8> {
        let mut s = Sealer::new(cipher());
        let mut out = Vec::new();
        s.push(plain, &mut out).unwrap();
        s.finish(&mut out).unwrap();
        out
    }

    /// The opener `body.rs` hands a sealed record's read, for a body of `plain` bytes read whole.
    fn opener(plain: u64) -> Arc<Take> {
        let cipher = cipher();
        Arc::new(move |out: &mut Vec<u8>, at: usize, pos: u64| {
            cipher
                .open_run_in_place(pos / STEP, plain, out, at)
                .map(drop)
                .map_err(|e| Error::corruption(site(), format!("sealed body: {e}")))
        })
    }

    /// Reads `sealed` (whose CRC is `crc`) into a buffer holding "before", split from `split_min`
    /// bytes on, on `worker` if any: the buffer, and the error's message.
    fn read(
        sealed: &[u8],
        crc: u32,
        plain: u64,
        split_min: u64,
        fail_at: u64,
        worker: Option<&ReadWorker>,
    ) -> (Vec<u8>, std::result::Result<(), String>) {
        let source: Arc<dyn SpanSource> = Arc::new(Bytes { bytes: sealed.to_vec(), fail_at });
        // Slices of three chunks: an odd count, so spans end inside and on slice boundaries.
        let plan = Plan { slice_bytes: 3 * STEP, align: STEP, split_min };
        let mut out = b"before".to_vec();
        let verify = |h: crc32fast::Hasher| {
            let got = h.finalize();
            if got == crc {
                Ok(())
            } else {
                Err(Error::corruption(site(), format!("chunk 0: bad crc {got}")))
            }
        };
        let r = read_body(&source, sealed.len() as u64, plan, &opener(plain), worker, &mut out, verify);
        (out, r.map_err(|e| e.to_string()))
    }

    fn crc(bytes: &[u8]) -> u32 {
        crc32fast::hash(bytes)
    }

    #[test]
    fn split_reads_open_what_one_thread_opens_around_the_split_size() {
        let worker = ReadWorker::start().unwrap();
        // Odd and even chunk counts, a short last chunk and a full one.
        for plain_len in [1, C, C + 1, 2 * C, 3 * C + 7, 7 * C, 9 * C + 50, 16 * C] {
            let plain = plaintext(plain_len);
            let sealed = seal(&plain);
            let len = sealed.len() as u64;
            let mut want = b"before".to_vec();
            want.extend_from_slice(&plain);
            for split_min in [len - 1, len, len + 1, 0, u64::MAX] {
                let (out, r) =
                    read(&sealed, crc(&sealed), plain_len as u64, split_min, u64::MAX, Some(&worker));
                assert_eq!(r, Ok(()), "{plain_len} bytes, split from {split_min}");
                assert!(out == want, "{plain_len} bytes, split from {split_min}");
            }
        }
    }

    #[test]
    fn the_split_is_at_a_whole_chunk_and_leaves_both_sides_some() {
        let plan = Plan { slice_bytes: 3 * STEP, align: STEP, split_min: 2 * STEP };
        assert_eq!(plan.split_point(2 * STEP - 1), None);
        // Two chunks: 45 % of them rounds down to none for the caller, so there is no split.
        assert_eq!(plan.split_point(2 * STEP), None);
        for n in 3..40 {
            let split = plan.split_point(n * STEP).unwrap();
            assert!(split.is_multiple_of(STEP) && split > 0 && split < n * STEP, "{n} chunks: {split}");
        }
        let plain = Plan { slice_bytes: 1 << 18, align: 1, split_min: SPLIT_BODY_BYTES_MIN };
        assert_eq!(plain.split_point(SPLIT_BODY_BYTES_MIN - 1), None);
        assert!(plain.split_point(SPLIT_BODY_BYTES_MIN).is_some());
    }

    /// A chunk of `sealed` tampered with so that only its tag can tell (the CRC is recomputed).
    fn flip(sealed: &mut [u8], chunk: u64) {
        sealed[(chunk * STEP + 5) as usize] ^= 0x10;
    }

    #[test]
    fn a_tampered_chunk_in_the_second_span_fails_as_on_one_thread_and_leaves_nothing() {
        let worker = ReadWorker::start().unwrap();
        let plain = plaintext(9 * C + 50);
        let sealed = seal(&plain);
        let len = sealed.len() as u64;
        let split = Plan { slice_bytes: 0, align: STEP, split_min: 0 }.split_point(len).unwrap() / STEP;
        for chunk in [split, split + 1, 9] {
            let mut bad = sealed.clone();
            flip(&mut bad, chunk);
            let one = read(&bad, crc(&bad), plain.len() as u64, u64::MAX, u64::MAX, None);
            let two = read(&bad, crc(&bad), plain.len() as u64, 0, u64::MAX, Some(&worker));
            assert_eq!(one, two, "chunk {chunk}");
            assert_eq!(two.0, b"before", "chunk {chunk}: nothing of the body stays");
            assert!(two.1.unwrap_err().contains(&format!("encrypted chunk {chunk} failed")), "chunk {chunk}");
        }
        // Both spans tampered: the first span's chunk is the one named, as on one thread.
        let mut bad = sealed.clone();
        flip(&mut bad, 1);
        flip(&mut bad, split + 1);
        let two = read(&bad, crc(&bad), plain.len() as u64, 0, u64::MAX, Some(&worker));
        assert_eq!(two, read(&bad, crc(&bad), plain.len() as u64, u64::MAX, u64::MAX, None));
        assert!(two.1.unwrap_err().contains("encrypted chunk 1 failed"));
    }

    #[test]
    fn a_crc_failure_outranks_tag_failures_in_either_span() {
        let worker = ReadWorker::start().unwrap();
        let plain = plaintext(7 * C + 3);
        let sealed = seal(&plain);
        let good_crc = crc(&sealed);
        // A raw flip in the first span (the stored CRC no longer matches), with the second span's
        // tag failing too, then each alone.
        let len = sealed.len() as u64;
        let split = Plan { slice_bytes: 0, align: STEP, split_min: 0 }.split_point(len).unwrap() / STEP;
        for chunks in [&[0, split][..], &[0], &[split + 1]] {
            let mut bad = sealed.clone();
            for &c in chunks {
                flip(&mut bad, c);
            }
            let two = read(&bad, good_crc, plain.len() as u64, 0, u64::MAX, Some(&worker));
            assert_eq!(two, read(&bad, good_crc, plain.len() as u64, u64::MAX, u64::MAX, None), "{chunks:?}");
            assert_eq!(two.0, b"before");
            let e = two.1.unwrap_err();
            assert!(e.contains("bad crc") && !e.contains("failed authentication"), "{chunks:?}: {e}");
        }
    }

    #[test]
    fn a_read_error_in_either_span_outranks_the_rest_and_leaves_nothing() {
        let worker = ReadWorker::start().unwrap();
        let plain = plaintext(8 * C);
        let sealed = seal(&plain);
        let mut bad = sealed.clone();
        flip(&mut bad, 0);
        for fail_at in [STEP, sealed.len() as u64 - 1] {
            let two = read(&bad, crc(&sealed), plain.len() as u64, 0, fail_at, Some(&worker));
            assert_eq!(two, read(&bad, crc(&sealed), plain.len() as u64, u64::MAX, fail_at, None));
            assert_eq!(two.0, b"before");
            assert!(two.1.unwrap_err().contains("injected"), "failing from {fail_at}");
        }
    }

    #[test]
    fn a_busy_worker_leaves_the_read_to_its_caller() {
        let worker = ReadWorker::start().unwrap();
        let plain = plaintext(5 * C);
        let sealed = seal(&plain);
        let claim = worker.claim().unwrap();
        assert!(worker.claim().is_none(), "one read at a time");
        let (out, r) = read(&sealed, crc(&sealed), plain.len() as u64, 0, u64::MAX, Some(&worker));
        assert_eq!((r, &out[6..]), (Ok(()), &plain[..]));
        drop(claim);
        let (out, r) = read(&sealed, crc(&sealed), plain.len() as u64, 0, u64::MAX, Some(&worker));
        assert_eq!((r, &out[6..]), (Ok(()), &plain[..]));
        assert!(!worker.busy.load(Ordering::Relaxed), "released after the read");
    }

    /// A source whose reads wait until the gate opens.
    struct Gated(Arc<(Mutex<bool>, std::sync::Condvar)>);

    impl SpanSource for Gated {
        fn append(&self, out: &mut Vec<u8>, _pos: u64, n: u64) -> Result<()> {
            let (open, cv) = &*self.0;
            let mut open = open.lock().unwrap();
            while !*open {
                open = cv.wait(open).unwrap();
            }
            out.resize(out.len() + n as usize, 0);
            Ok(())
        }
    }

    #[test]
    fn a_span_the_worker_has_not_started_is_read_by_its_caller() {
        let worker = ReadWorker::start().unwrap();
        // The worker is held in another read's job, as if its core were busy elsewhere.
        let gate = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let gated: Arc<dyn SpanSource> = Arc::new(Gated(gate.clone()));
        let keep: Arc<Take> = Arc::new(|_: &mut Vec<u8>, _: usize, _: u64| Ok(()));
        let mut claim = worker.claim().unwrap();
        let stuck = claim.send(&gated, (0, 1), 1, &keep).unwrap();
        drop(claim);
        while stuck.state.load(Ordering::Acquire) != JOB_STARTED {
            std::thread::yield_now();
        }
        // This read's second span waits behind it: its caller takes it back and reads it.
        let plain = plaintext(9 * C + 1);
        let sealed = seal(&plain);
        let (out, r) = read(&sealed, crc(&sealed), plain.len() as u64, 0, u64::MAX, Some(&worker));
        assert_eq!((r, &out[6..]), (Ok(()), &plain[..]));
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        let (span, scratch) = stuck.done.recv().unwrap();
        assert!(span.read.is_ok() && *scratch == [vec![0]]);
        // The worker went past the job taken back and serves the next read.
        let (out, r) = read(&sealed, crc(&sealed), plain.len() as u64, 0, u64::MAX, Some(&worker));
        assert_eq!((r, &out[6..]), (Ok(()), &plain[..]));
    }

    /// What a [`Watched`] source saw, and what it does.
    #[derive(Default)]
    struct Watch {
        /// Appends issued on the worker thread.
        worker_reads: std::sync::atomic::AtomicUsize,
        /// Panic on the worker thread's first append (once).
        panic_on_worker: AtomicBool,
        /// Panic on a caller's append once the worker has started (the caller "dies" mid-read).
        panic_on_caller: AtomicBool,
        /// Set (and signalled) once the worker issued an append.
        worker_started: (Mutex<bool>, std::sync::Condvar),
        /// Run on the worker thread's first append (once).
        on_worker: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    }

    /// Plain bytes whose reads on the calling thread wait (up to 10 s) until the worker issued
    /// one, so that the worker always takes the job it was sent (none is taken back).
    struct Watched {
        bytes: Vec<u8>,
        watch: Arc<Watch>,
    }

    fn on_worker_thread() -> bool {
        std::thread::current().name() == Some("s3lite-read")
    }

    impl SpanSource for Watched {
        fn append(&self, out: &mut Vec<u8>, pos: u64, n: u64) -> Result<()> {
            let w = &*self.watch;
            let (started, cv) = &w.worker_started;
            if on_worker_thread() {
                w.worker_reads.fetch_add(1, Ordering::SeqCst);
                *started.lock().unwrap() = true;
                cv.notify_all();
                if let Some(hook) = w.on_worker.lock().unwrap().take() {
                    hook();
                }
                if w.panic_on_worker.swap(false, Ordering::SeqCst) {
                    panic!("injected: a panic on the read worker");
                }
            } else {
                let mut s = started.lock().unwrap();
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                while !*s && std::time::Instant::now() < deadline {
                    s = cv.wait_timeout(s, Duration::from_millis(50)).unwrap().0;
                }
                drop(s);
                if w.panic_on_caller.load(Ordering::SeqCst) {
                    panic!("injected: the caller dies mid-read");
                }
            }
            out.extend_from_slice(&self.bytes[pos as usize..(pos + n) as usize]);
            Ok(())
        }
    }

    /// Reads `bytes` whole, split, through `worker`, the watcher `watch`: what came out.
    fn read_watched(bytes: &[u8], watch: &Arc<Watch>, worker: &ReadWorker) -> (Vec<u8>, Result<()>) {
        *watch.worker_started.0.lock().unwrap() = false;
        let source: Arc<dyn SpanSource> = Arc::new(Watched { bytes: bytes.to_vec(), watch: watch.clone() });
        let plan = Plan { slice_bytes: 1000, align: 1, split_min: 0 };
        let keep: Arc<Take> = Arc::new(|_: &mut Vec<u8>, _: usize, _: u64| Ok(()));
        let want = crc(bytes);
        let mut out = Vec::new();
        let r = read_body(&source, bytes.len() as u64, plan, &keep, Some(worker), &mut out, |h| {
            if h.finalize() == want { Ok(()) } else { Err(Error::corruption(site(), "bad crc")) }
        });
        (out, r)
    }

    #[test]
    fn a_panic_on_the_worker_is_served_by_its_caller_and_the_worker_goes_on() {
        let worker = ReadWorker::start().unwrap();
        let bytes = plaintext(10_000);
        let watch = Arc::new(Watch::default());
        watch.panic_on_worker.store(true, Ordering::SeqCst);
        let (out, r) = read_watched(&bytes, &watch, &worker);
        assert!(r.is_ok() && out == bytes, "the caller reads the span whose job panicked");
        assert_eq!(watch.worker_reads.load(Ordering::SeqCst), 1, "the worker met the panic");
        for round in 0..3 {
            let (out, r) = read_watched(&bytes, &watch, &worker);
            assert!(r.is_ok() && out == bytes);
            assert!(
                watch.worker_reads.load(Ordering::SeqCst) > 1 + round,
                "round {round}: the worker serves reads"
            );
        }
        assert!(worker.alive.load(Ordering::SeqCst), "the thread lives on");
        // Its buffers were zeroed and emptied, the ones the panicking job had too.
        assert!(worker.scratch.lock().unwrap().iter().all(Vec::is_empty));
    }

    #[test]
    fn a_caller_dying_mid_read_leaves_the_worker_serving() {
        let worker = Arc::new(ReadWorker::start().unwrap());
        let bytes = plaintext(10_000);
        let watch = Arc::new(Watch::default());
        watch.panic_on_caller.store(true, Ordering::SeqCst);
        let (w, b, wa) = (worker.clone(), bytes.clone(), watch.clone());
        let died = std::thread::Builder::new()
            .name("doomed".into())
            .spawn(move || read_watched(&b, &wa, &w))
            .unwrap();
        assert!(died.join().is_err(), "the caller died");
        watch.panic_on_caller.store(false, Ordering::SeqCst);
        assert!(!worker.busy.load(Ordering::SeqCst), "its claim was released");
        let before = watch.worker_reads.load(Ordering::SeqCst);
        let (out, r) = read_watched(&bytes, &watch, &worker);
        assert!(r.is_ok() && out == bytes);
        assert!(watch.worker_reads.load(Ordering::SeqCst) > before, "the worker serves the next read");
    }

    #[test]
    fn a_read_issued_from_within_the_worker_reads_alone() {
        let worker = Arc::new(ReadWorker::start().unwrap());
        let bytes = plaintext(10_000);
        let watch = Arc::new(Watch::default());
        let (tx, rx) = mpsc::channel();
        let (w, b) = (worker.clone(), bytes.clone());
        *watch.on_worker.lock().unwrap() = Some(Box::new(move || {
            // The worker is this read's, so the nested one finds it busy and reads alone.
            let nested = Arc::new(Watch::default());
            *nested.worker_started.0.lock().unwrap() = true;
            let _ = tx.send(read_watched(&b, &nested, &w).0 == b);
        }));
        let (out, r) = read_watched(&bytes, &watch, &worker);
        assert!(r.is_ok() && out == bytes);
        assert_eq!(rx.recv_timeout(Duration::from_secs(30)), Ok(true), "the nested read got its bytes");
    }

    #[test]
    fn a_worker_of_another_process_gets_no_job() {
        // As in a child forked from the process that started the worker: its thread is not there.
        let mut worker = ReadWorker::start().unwrap();
        worker.pid = worker.pid.wrapping_add(1);
        assert!(worker.claim().is_none());
        let bytes = plaintext(10_000);
        let watch = Arc::new(Watch::default());
        // The caller would wait for the worker: mark it started so that it does not.
        let source: Arc<dyn SpanSource> = Arc::new(Watched { bytes: bytes.clone(), watch: watch.clone() });
        *watch.worker_started.0.lock().unwrap() = true;
        let keep: Arc<Take> = Arc::new(|_: &mut Vec<u8>, _: usize, _: u64| Ok(()));
        let plan = Plan { slice_bytes: 1000, align: 1, split_min: 0 };
        let mut out = Vec::new();
        read_body(&source, bytes.len() as u64, plan, &keep, Some(&worker), &mut out, |_| Ok(())).unwrap();
        assert!(out == bytes);
        assert_eq!(watch.worker_reads.load(Ordering::SeqCst), 0, "read on one thread");
        assert!(!worker.busy.load(Ordering::SeqCst));
    }

    #[test]
    fn a_worker_whose_thread_is_gone_is_replaced_and_a_failed_start_is_tried_again_later() {
        // A worker whose thread is gone: its read is served by the caller, and it is marked so.
        let (jobs, queue) = mpsc::channel();
        drop(queue);
        let gone = ReadWorker {
            jobs,
            busy: AtomicBool::new(false),
            scratch: Arc::default(),
            pid: std::process::id(),
            alive: Arc::new(AtomicBool::new(true)),
        };
        let bytes = plaintext(10_000);
        let watch = Arc::new(Watch::default());
        *watch.worker_started.0.lock().unwrap() = true;
        let source: Arc<dyn SpanSource> = Arc::new(Watched { bytes: bytes.clone(), watch: watch.clone() });
        let keep: Arc<Take> = Arc::new(|_: &mut Vec<u8>, _: usize, _: u64| Ok(()));
        let plan = Plan { slice_bytes: 1000, align: 1, split_min: 0 };
        let mut out = Vec::new();
        read_body(&source, bytes.len() as u64, plan, &keep, Some(&gone), &mut out, |_| Ok(())).unwrap();
        assert!(out == bytes && !gone.alive.load(Ordering::SeqCst));
        // The slot replaces it.
        let mut slot = Slot { worker: Some(Arc::new(gone)), retry_at: None };
        let fresh = slot.worker(ReadWorker::start).unwrap();
        assert!(fresh.alive.load(Ordering::SeqCst) && Arc::ptr_eq(&fresh, slot.worker.as_ref().unwrap()));
        assert!(Arc::ptr_eq(&slot.worker(|| panic!("the live worker is kept")).unwrap(), &fresh));
        // A start that fails is not tried again at once, but once the wait is over.
        fresh.alive.store(false, Ordering::SeqCst);
        assert!(slot.worker(|| None).is_none());
        assert!(slot.worker(|| panic!("tried again at once")).is_none());
        assert!(slot.retry_at.is_some_and(|at| at > std::time::Instant::now()));
        slot.retry_at = Some(std::time::Instant::now());
        assert!(slot.worker(ReadWorker::start).is_some() && slot.retry_at.is_none());
        // The process's own slot hands out one live worker.
        let shared = ReadWorker::shared().unwrap();
        assert!(shared.alive.load(Ordering::SeqCst) && shared.pid == std::process::id());
    }
}
