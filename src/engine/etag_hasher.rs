//! MD5 (the ETag) of large bodies on a worker thread, so that one stream's put overlaps hashing with
//! the CRC, the segment writes and the early fdatasync of its chunks.
//!
//! MD5 cannot be split across threads, and at about 600 MB/s per core it is the slowest pass over a
//! body. The putting thread hands each piece to a worker as soon as it is read and goes on reading,
//! CRC-ing and writing; the worker reports each piece hashed, and a job lets at most its
//! `ahead_bytes` wait for hashing (which bounds memory and how far the writer runs ahead). Workers
//! are kept in a small idle list: starting a thread per put would cost more than hashing a small
//! body.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use md5::{Digest, Md5};
use parking_lot::Mutex;

use crate::engine::buffer_pool::SharedPiece;

/// Messages a worker's queue holds before the job side blocks (the byte bound is the job's).
const QUEUE_PIECES_MAX: usize = 1024;
/// Idle workers kept for later puts; more exit when their job ends.
const IDLE_WORKERS_MAX: usize = 8;

enum ToWorker {
    Piece(SharedPiece),
    Finish,
}

enum FromWorker {
    Hashed(usize),
    Digest([u8; 16]),
}

struct Worker {
    to: SyncSender<ToWorker>,
    from: Receiver<FromWorker>,
}

impl Worker {
    fn spawn() -> std::io::Result<Worker> {
        let (to, rx) = sync_channel::<ToWorker>(QUEUE_PIECES_MAX);
        let (tx, from) = sync_channel::<FromWorker>(QUEUE_PIECES_MAX + 1);
        std::thread::Builder::new().name("s3lite-md5".into()).spawn(move || {
            let mut md5 = Md5::new();
            // Ends when the job side hangs up (store dropped, or a job abandoned midway).
            while let Ok(msg) = rx.recv() {
                let reply = match msg {
                    ToWorker::Piece(piece) => {
                        md5.update(piece.bytes());
                        // Dropped here: the last holder returns the buffer to the pool.
                        FromWorker::Hashed(piece.bytes().len())
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
    /// Starts hashing one body, letting at most `ahead_bytes` wait for hashing at a time. Falls back
    /// to hashing on the calling thread if no worker can be started.
    pub(crate) fn job(&self, ahead_bytes: usize) -> EtagJob<'_> {
        let worker = self.idle.lock().pop().or_else(|| Worker::spawn().ok());
        let mode = match worker {
            Some(w) => Mode::Worker(w),
            None => Mode::Local(Md5::new()),
        };
        EtagJob { hashers: self, mode, waiting: 0, pieces_waiting: 0, ahead_bytes }
    }
}

enum Mode {
    Worker(Worker),
    Local(Md5),
    Done,
}

/// One body's MD5 in progress. Feed it with [`EtagJob::update`] in body order, end with
/// [`EtagJob::finish`]. Dropped unfinished, its worker exits.
pub(crate) struct EtagJob<'a> {
    hashers: &'a EtagHashers,
    mode: Mode,
    /// Bytes and pieces sent and not yet hashed.
    waiting: usize,
    pieces_waiting: usize,
    ahead_bytes: usize,
}

impl EtagJob<'_> {
    /// Hashes `piece` next; first waits while more than the job's `ahead_bytes` wait for hashing.
    /// The caller keeps its own clone to write from.
    pub(crate) fn update(&mut self, piece: SharedPiece) {
        match &mut self.mode {
            Mode::Worker(w) => {
                while self.pieces_waiting > 0
                    && (self.waiting + piece.bytes().len() > self.ahead_bytes
                        || self.pieces_waiting >= QUEUE_PIECES_MAX)
                {
                    // The worker only exits once this job hangs up.
                    match w.from.recv().expect("MD5 worker alive while its job is open") {
                        FromWorker::Hashed(n) => {
                            self.waiting -= n;
                            self.pieces_waiting -= 1;
                        }
                        FromWorker::Digest(_) => unreachable!("no digest before Finish"),
                    }
                }
                self.waiting += piece.bytes().len();
                self.pieces_waiting += 1;
                w.to.send(ToWorker::Piece(piece)).expect("MD5 worker alive while its job is open");
            }
            Mode::Local(md5) => md5.update(piece.bytes()),
            Mode::Done => unreachable!("update after finish"),
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
    use std::sync::Arc;

    use super::*;
    use crate::engine::buffer_pool::{BufferPool, Piece};

    #[test]
    fn worker_digest_matches_md5_of_the_whole_body() {
        let hashers = EtagHashers::default();
        let pool = Arc::new(BufferPool::default());
        let body: Vec<u8> = (0..1_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
        // A bound smaller than one piece still makes progress (one piece at a time).
        for (round, ahead) in [(0, 1usize), (1, 100_000), (2, 1 << 20)] {
            let mut job = hashers.job(ahead);
            for part in body.chunks(70_000 + round * 10_000) {
                let mut buf = pool.take(part.len());
                buf.extend_from_slice(part);
                job.update(Arc::new(Piece::new(buf, Some(pool.clone()))));
            }
            assert_eq!(job.finish(), <[u8; 16]>::from(Md5::digest(&body)), "round {round}");
        }
        assert_eq!(hashers.idle.lock().len(), 1, "one worker, reused");
    }

    #[test]
    fn an_abandoned_job_does_not_poison_the_next() {
        let hashers = EtagHashers::default();
        let mut job = hashers.job(1 << 20);
        job.update(Arc::new(Piece::new(vec![1u8; 10], None)));
        drop(job);
        let mut job = hashers.job(1 << 20);
        job.update(Arc::new(Piece::new(b"abc".to_vec(), None)));
        assert_eq!(job.finish(), <[u8; 16]>::from(Md5::digest(b"abc")));
    }
}
