//! Bodies between the async protocol stack and the synchronous engine, never held whole: a request
//! body is read through a `SyncIoBridge` by the blocking task that runs the operation; a GET body
//! is read by a blocking task into a bounded channel of chunks that the response streams.

use std::io::{self, Read};
use std::time::Duration;

use bytes::Bytes;
use s3lite::ChecksumAlgorithm;
use s3lite::s3::checksum::{StreamHasher, encode};
use s3s::TrailingHeaders;
use s3s::dto::StreamingBlob;

use crate::error::{BodyIdle, LengthMismatch, TrailerMismatch};

/// Longest a request body may go without a byte, or a response body without the client taking
/// one, before the host gives up on it (S3 answers a stalled upload `400 RequestTimeout` after
/// about 20 seconds). A stalled body otherwise holds a blocking thread, and a GET's reader keeps
/// its segments from being reclaimed, for as long as the client likes.
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(20);

/// Size of one GET chunk.
pub(crate) const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the reading task and the socket: at most `CHUNK * DEPTH` bytes of a
/// GET body are in memory.
pub(crate) const DEPTH: usize = 4;

/// A blocking reader of a request body that fails with [`BodyIdle`] when no byte comes for
/// `idle`. Must be made inside the runtime (it keeps its handle) and read outside it (in
/// `spawn_blocking`).
pub(crate) fn blocking_reader(blob: Option<StreamingBlob>, idle: Duration) -> Box<dyn Read + Send> {
    match blob {
        None => Box::new(io::empty()),
        Some(blob) => {
            let stream = Box::pin(futures::stream::unfold(Some(blob), move |blob| async move {
                let mut blob = blob?;
                match tokio::time::timeout(idle, futures::StreamExt::next(&mut blob)).await {
                    Ok(Some(item)) => Some((item.map_err(io::Error::other), Some(blob))),
                    Ok(None) => None,
                    // The stream ends after the error: the reader has failed.
                    Err(_) => Some((Err(io::Error::new(io::ErrorKind::TimedOut, BodyIdle { idle })), None)),
                }
            }));
            let reader = tokio_util::io::StreamReader::new(stream);
            Box::new(tokio_util::io::SyncIoBridge::new(reader))
        }
    }
}

/// Checks what a request declares of its body before any byte is read, and wraps the body so
/// that it must be exactly that long. `declared` is the `Content-Length` s3s parsed, which for an
/// aws-chunked body is `x-amz-decoded-content-length` (s3s rewrites the header). hyper already
/// holds a plain body to its `Content-Length`; an aws-chunked one is held to its declared length
/// only here.
///
/// # Errors
/// `EntityTooLarge` when more than S3's 5 GiB is declared: answered before the body is read, as
/// S3 does, rather than after the client has sent 5 GiB.
pub(crate) fn declared_length(
    body: Box<dyn Read + Send>,
    declared: Option<i64>,
) -> Result<Box<dyn Read + Send>, s3lite::Error> {
    let Some(declared) = declared.and_then(|d| u64::try_from(d).ok()) else { return Ok(body) };
    let max = s3lite::limits::PUT_OBJECT_BYTES_MAX;
    if declared > max {
        return Err(s3lite::Error::EntityTooLarge { len: declared, max });
    }
    Ok(Box::new(ExactLength { inner: body, declared, got: 0 }))
}

/// A body that fails (so nothing commits) when it ends short of, or runs past, its declared length.
struct ExactLength {
    inner: Box<dyn Read + Send>,
    declared: u64,
    got: u64,
}

impl Read for ExactLength {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.got += n as u64;
        if self.got > self.declared {
            return Err(io::Error::other(LengthMismatch {
                declared: self.declared,
                got: self.got,
                longer: true,
            }));
        }
        if n == 0 && !buf.is_empty() && self.got < self.declared {
            return Err(io::Error::other(LengthMismatch {
                declared: self.declared,
                got: self.got,
                longer: false,
            }));
        }
        Ok(n)
    }
}

/// Wraps a body whose checksum comes in an aws-chunked trailer (after the body): hashes it as it
/// streams and, at its end, compares with the trailer, failing the read (so nothing commits) on a
/// mismatch or a missing trailer.
pub(crate) struct TrailerChecked {
    inner: Box<dyn Read + Send>,
    alg: ChecksumAlgorithm,
    hasher: StreamHasher,
    trailers: TrailingHeaders,
    header: String,
}

impl TrailerChecked {
    pub(crate) fn new(
        inner: Box<dyn Read + Send>,
        alg: ChecksumAlgorithm,
        trailers: TrailingHeaders,
        header: String,
    ) -> TrailerChecked {
        TrailerChecked { inner, alg, hasher: StreamHasher::new(alg), trailers, header }
    }
}

impl Read for TrailerChecked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.hasher.update(&buf[..n]);
            return Ok(n);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let computed = encode(&self.hasher.finish());
        let given = self
            .trailers
            .read(|h| h.get(self.header.as_str()).and_then(|v| v.to_str().ok()).map(str::to_owned))
            .flatten()
            .unwrap_or_default();
        if given != computed {
            return Err(io::Error::other(TrailerMismatch { algorithm: self.alg.as_str(), given, computed }));
        }
        Ok(0)
    }
}

/// A response body streaming `reader` (`len` bytes) through a bounded channel, read by a
/// blocking task, which gives up (ending the body early, so the connection fails) when the client
/// takes no chunk for `idle`. Must be called inside the runtime.
pub(crate) fn streaming_body(
    mut reader: impl Read + Send + 'static,
    len: u64,
    idle: Duration,
) -> StreamingBlob {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(DEPTH);
    let runtime = tokio::runtime::Handle::current();
    // Sends one item, waiting at most `idle` for room; false when the body is to end.
    let send = move |item: io::Result<Bytes>| {
        runtime.block_on(async { matches!(tokio::time::timeout(idle, tx.send(item)).await, Ok(Ok(()))) })
    };
    tokio::task::spawn_blocking(move || {
        let mut left = len;
        while left > 0 {
            let want = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
            let mut buf = vec![0u8; want];
            let mut filled = 0;
            while filled < want {
                match reader.read(&mut buf[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        send(Err(e));
                        return;
                    }
                }
            }
            if filled == 0 {
                send(Err(io::Error::new(io::ErrorKind::UnexpectedEof, "object body ended early")));
                return;
            }
            buf.truncate(filled);
            left -= filled as u64;
            if !send(Ok(Bytes::from(buf))) {
                return; // the client went away, or stopped reading
            }
        }
    });
    StreamingBlob::wrap(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}
