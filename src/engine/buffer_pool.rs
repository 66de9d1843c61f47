//! Reused buffers for the pieces of large bodies.
//!
//! A large put reads its body in pieces of [`PIECE_BYTES`]; each piece is shared (behind an `Arc`)
//! by the MD5 worker and the partition writer, and goes back to the store's pool when the last of
//! them drops it. Reuse matters more than it looks: a fresh buffer costs a page fault per 4 KiB on
//! first touch, and on a VM that hands freed memory back to its host that is a large share of the
//! time a put spends copying its body.

use std::sync::Arc;

use parking_lot::Mutex;

/// Bytes of one piece: small enough that hashing starts soon after a put starts reading (and the
/// writeback of the first piece soon after it is written), large enough that per-piece costs vanish.
pub(crate) const PIECE_BYTES: usize = 256 * 1024;
/// Idle bytes a store keeps for later puts; buffers past this are freed.
const IDLE_BYTES_MAX: usize = 8 * 1024 * 1024;

/// The idle piece buffers of one store.
#[derive(Debug, Default)]
pub(crate) struct BufferPool {
    idle: Mutex<Vec<Vec<u8>>>,
}

/// One piece of a body: its bytes, returned to the pool when dropped.
#[derive(Debug)]
pub(crate) struct Piece {
    data: Vec<u8>,
    pool: Option<Arc<BufferPool>>,
}

/// A piece shared by its readers (the MD5 worker, the partition writer).
pub(crate) type SharedPiece = Arc<Piece>;

impl BufferPool {
    /// An empty buffer with room for at least `cap` bytes, recycled when one is idle.
    pub(crate) fn take(&self, cap: usize) -> Vec<u8> {
        let mut buf = self.idle.lock().pop().unwrap_or_default();
        buf.clear();
        buf.reserve_exact(cap);
        buf
    }

    fn give_back(&self, buf: Vec<u8>) {
        // Only piece-sized buffers are worth keeping; a probe buffer or a shrunken one is freed.
        if !(PIECE_BYTES..=2 * PIECE_BYTES).contains(&buf.capacity()) {
            return;
        }
        let mut idle = self.idle.lock();
        if (idle.len() + 1) * PIECE_BYTES <= IDLE_BYTES_MAX {
            idle.push(buf);
        }
    }

    /// Idle buffers (for tests).
    #[cfg(test)]
    pub(crate) fn idle_count(&self) -> usize {
        self.idle.lock().len()
    }
}

impl Piece {
    /// Wraps `data`; it goes back to `pool` (if any) when the piece is dropped.
    pub(crate) fn new(data: Vec<u8>, pool: Option<Arc<BufferPool>>) -> Piece {
        Piece { data, pool }
    }

    /// The piece's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data
    }
}

impl Drop for Piece {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.give_back(std::mem::take(&mut self.data));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_return_to_the_pool_when_their_last_holder_drops_them() {
        let pool = Arc::new(BufferPool::default());
        let mut buf = pool.take(PIECE_BYTES);
        buf.extend_from_slice(b"abc");
        let piece: SharedPiece = Arc::new(Piece::new(buf, Some(pool.clone())));
        let other = piece.clone();
        drop(piece);
        assert_eq!(pool.idle_count(), 0, "still held");
        assert_eq!(other.bytes(), b"abc");
        drop(other);
        assert_eq!(pool.idle_count(), 1);
        let again = pool.take(10);
        assert!(again.is_empty() && again.capacity() >= PIECE_BYTES, "recycled, emptied");
    }

    #[test]
    fn the_pool_keeps_only_piece_sized_buffers_up_to_its_limit() {
        let pool = Arc::new(BufferPool::default());
        drop(Piece::new(vec![0; 100], Some(pool.clone())));
        assert_eq!(pool.idle_count(), 0, "a small buffer is freed");
        for _ in 0..(IDLE_BYTES_MAX / PIECE_BYTES + 5) {
            drop(Piece::new(Vec::with_capacity(PIECE_BYTES), Some(pool.clone())));
        }
        assert_eq!(pool.idle_count(), IDLE_BYTES_MAX / PIECE_BYTES);
    }
}
