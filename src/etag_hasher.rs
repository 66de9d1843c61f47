//! MD5 (the ETag) of large bodies on a worker thread, so that one stream's put overlaps hashing with
//! the CRC, the segment writes and the early fdatasync of its chunks.
//!
//! MD5 cannot be split across threads, and at about 600 MB/s per core it is the slowest pass over a
//! body. The putting thread hands each chunk buffer to a worker and goes on writing it; the worker
//! hands the buffer back once hashed, so a put cycles through at most [`BUFFERS_PER_JOB`] buffers
//! (which also bounds how far the writer runs ahead). Workers are kept in a small idle list: starting
//! a thread per put would cost more than hashing a small body.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use md5::{Digest, Md5};
use parking_lot::Mutex;

/// Buffers one job cycles through: one being filled, one being hashed, one being written.
const BUFFERS_PER_JOB: usize = 3;
/// Idle workers kept for later puts; more exit when their job ends.
const IDLE_WORKERS_MAX: usize = 8;

enum ToWorker {
    Piece(Arc<Vec<u8>>),
    Finish,
}

enum FromWorker {
    Hashed(Arc<Vec<u8>>),
    Digest([u8; 16]),
}

struct Worker {
    to: SyncSender<ToWorker>,
    from: Receiver<FromWorker>,
}

impl Worker {
    fn spawn() -> std::io::Result<Worker> {
        let (to, rx) = sync_channel::<ToWorker>(BUFFERS_PER_JOB);
        let (tx, from) = sync_channel::<FromWorker>(BUFFERS_PER_JOB + 1);
        std::thread::Builder::new().name("s3lite-md5".into()).spawn(move || {
            let mut md5 = Md5::new();
            // Ends when the job side hangs up (store dropped, or a job abandoned midway).
            while let Ok(msg) = rx.recv() {
                let reply = match msg {
                    ToWorker::Piece(piece) => {
                        md5.update(&piece[..]);
                        FromWorker::Hashed(piece)
                    }
                    ToWorker::Finish => FromWorker::Digest(md5.finalize_reset().into()),
                };
                if tx.send(reply).is_err() {
                    return;
                }
            }
        })?;
        Ok(Worker { to, from })
    }
}

/// The idle workers of one store.
#[derive(Default)]
pub(crate) struct EtagHashers {
    idle: Mutex<Vec<Worker>>,
}

impl std::fmt::Debug for EtagHashers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtagHashers").field("idle", &self.idle.lock().len()).finish()
    }
}

impl EtagHashers {
    /// Starts hashing one body. Falls back to hashing on the calling thread if no worker can be
    /// started.
    pub(crate) fn job(&self) -> EtagJob<'_> {
        let worker = self.idle.lock().pop().or_else(|| Worker::spawn().ok());
        let mode = match worker {
            Some(w) => Mode::Worker(w),
            None => Mode::Local(Md5::new()),
        };
        EtagJob { hashers: self, mode, out: 0, spare: Vec::new() }
    }
}

enum Mode {
    Worker(Worker),
    Local(Md5),
    Done,
}

/// One body's MD5 in progress. Feed it with [`EtagJob::update`] in body order, take buffers with
/// [`EtagJob::buffer`], end with [`EtagJob::finish`]. Dropped unfinished, its worker exits.
pub(crate) struct EtagJob<'a> {
    hashers: &'a EtagHashers,
    mode: Mode,
    /// Pieces sent and not yet handed back.
    out: usize,
    spare: Vec<Vec<u8>>,
}

impl EtagJob<'_> {
    /// An empty buffer with room for `cap` bytes: a recycled one when the job already has
    /// [`BUFFERS_PER_JOB`] in flight (waiting for the worker to hand one back), else a new one.
    pub(crate) fn buffer(&mut self, cap: usize) -> Vec<u8> {
        if self.out >= BUFFERS_PER_JOB {
            self.wait_one();
        }
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.reserve(cap);
        buf
    }

    /// Hashes `piece` next. The caller may keep its own clone to write from.
    pub(crate) fn update(&mut self, piece: Arc<Vec<u8>>) {
        match &mut self.mode {
            Mode::Worker(w) => {
                // The worker only exits once this job hangs up.
                w.to.send(ToWorker::Piece(piece)).expect("MD5 worker alive while its job is open");
                self.out += 1;
            }
            Mode::Local(md5) => md5.update(&piece[..]),
            Mode::Done => unreachable!("update after finish"),
        }
    }

    /// Takes back one hashed buffer (only a worker job has any out).
    fn wait_one(&mut self) {
        if let Mode::Worker(w) = &self.mode
            && let Ok(FromWorker::Hashed(piece)) = w.from.recv()
        {
            self.out -= 1;
            // The writer has dropped its clone by now; if not, the buffer is simply not reused.
            if let Ok(buf) = Arc::try_unwrap(piece) {
                self.spare.push(buf);
            }
        }
    }

    /// The MD5 of every piece fed, in order. The worker goes back to the idle list.
    pub(crate) fn finish(mut self) -> [u8; 16] {
        match std::mem::replace(&mut self.mode, Mode::Done) {
            Mode::Local(md5) => md5.finalize().into(),
            Mode::Worker(w) => {
                w.to.send(ToWorker::Finish).expect("MD5 worker alive while its job is open");
                loop {
                    match w.from.recv().expect("MD5 worker alive while its job is open") {
                        FromWorker::Hashed(_) => {}
                        FromWorker::Digest(d) => {
                            let mut idle = self.hashers.idle.lock();
                            if idle.len() < IDLE_WORKERS_MAX {
                                idle.push(w);
                            }
                            return d;
                        }
                    }
                }
            }
            Mode::Done => unreachable!("finish twice"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_digest_matches_md5_of_the_whole_body() {
        let hashers = EtagHashers::default();
        let body: Vec<u8> = (0..1_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
        for round in 0..3 {
            let mut job = hashers.job();
            for part in body.chunks(70_000 + round * 10_000) {
                let mut buf = job.buffer(part.len());
                buf.extend_from_slice(part);
                job.update(Arc::new(buf));
            }
            assert_eq!(job.finish(), <[u8; 16]>::from(Md5::digest(&body)), "round {round}");
        }
        assert_eq!(hashers.idle.lock().len(), 1, "one worker, reused");
    }

    #[test]
    fn an_abandoned_job_does_not_poison_the_next() {
        let hashers = EtagHashers::default();
        let mut job = hashers.job();
        job.update(Arc::new(vec![1u8; 10]));
        drop(job);
        let mut job = hashers.job();
        job.update(Arc::new(b"abc".to_vec()));
        assert_eq!(job.finish(), <[u8; 16]>::from(Md5::digest(b"abc")));
    }
}
