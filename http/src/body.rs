//! Bodies between the async protocol stack and the synchronous engine, never held whole: a request
//! body is read through a `SyncIoBridge` by the blocking task that runs the operation; a GET body
//! is read by a blocking task into a bounded channel of chunks that the response streams.

use std::io::{self, Read};

use bytes::Bytes;
use futures::TryStreamExt as _;
use s3lite::ChecksumAlgorithm;
use s3lite::s3::checksum::{StreamHasher, encode};
use s3s::TrailingHeaders;
use s3s::dto::StreamingBlob;

use crate::error::TrailerMismatch;

/// Size of one GET chunk.
pub(crate) const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the reading task and the socket: at most `CHUNK * DEPTH` bytes of a
/// GET body are in memory.
pub(crate) const DEPTH: usize = 4;

/// A blocking reader of a request body. Must be made inside the runtime (it keeps its handle) and
/// read outside it (in `spawn_blocking`).
pub(crate) fn blocking_reader(blob: Option<StreamingBlob>) -> Box<dyn Read + Send> {
    match blob {
        None => Box::new(io::empty()),
        Some(blob) => {
            let stream = blob.map_err(io::Error::other);
            let reader = tokio_util::io::StreamReader::new(stream);
            Box::new(tokio_util::io::SyncIoBridge::new(reader))
        }
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
/// blocking task.
pub(crate) fn streaming_body(mut reader: impl Read + Send + 'static, len: u64) -> StreamingBlob {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(DEPTH);
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
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
            if filled == 0 {
                let _ = tx.blocking_send(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "object body ended early",
                )));
                return;
            }
            buf.truncate(filled);
            left -= filled as u64;
            if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                return; // the client went away
            }
        }
    });
    StreamingBlob::wrap(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}
