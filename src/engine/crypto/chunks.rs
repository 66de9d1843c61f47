//! A body's AES-256-GCM chunks: the plaintext is cut into `chunk_bytes` pieces (64 KiB by default),
//! each sealed under the version's data key with its own 16-byte tag, so that a range read opens
//! only the chunks it covers.
//!
//! Chunk `i`'s nonce is `nonce_prefix (7 random bytes) ‖ u32_be(i) ‖ last (1 byte)`, Tink's
//! streaming-AEAD construction: under one data key no two chunks share a nonce, a chunk moved to
//! another place fails its tag, and the last flag makes a truncated or extended body fail too. An
//! empty body is one empty chunk (its tag alone), so even it is authenticated.
//!
//! The cipher is `ring`'s AES-256-GCM, which runs the VAES/VPCLMULQDQ (AVX2) or AES-NI/PCLMULQDQ
//! code the CPU has, chosen at run time: about 5-6 GB/s a core on this project's machine, where
//! RustCrypto's `aes-gcm` 0.10 gives 1.0 and 0.11 gives 1.5-1.9 (DESIGN §7.6). The chunk format is
//! standard AES-GCM, so either opens what the other sealed (a test in `tests/encryption_nonces.rs`
//! holds them to it).

use std::sync::Arc;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, Tag, UnboundKey};

use super::{CryptoError, Dek};

/// A chunk's tag.
pub const TAG_BYTES: usize = 16;

/// Plaintext bytes per chunk unless the envelope says otherwise.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// The cipher of one body: the data key, the nonce prefix and the associated data every chunk
/// binds (see `super::body_aad`). A clone shares the key schedule and the associated data (a
/// large read opens a record's second half on a worker thread with a clone).
#[derive(Clone)]
pub struct BodyCipher {
    cipher: Arc<LessSafeKey>,
    nonce_prefix: [u8; 7],
    aad: Arc<[u8]>,
    chunk_bytes: usize,
}

impl std::fmt::Debug for BodyCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyCipher").field("chunk_bytes", &self.chunk_bytes).finish_non_exhaustive()
    }
}

/// How many chunks a body of `plain` bytes has: at least one.
#[must_use]
pub fn chunk_count(plain: u64, chunk_bytes: usize) -> u64 {
    plain.div_ceil(chunk_bytes as u64).max(1)
}

/// The most bytes one sealed chunk record can hold when records carry `record_plain` plaintext
/// bytes: the sealer may still hold up to one cipher chunk from the record before (emitted with
/// this one), and the last record also takes the final chunk; each cipher chunk carries its tag.
#[must_use]
pub fn sealed_record_bytes_max(record_plain: u64) -> u64 {
    let chunk = CHUNK_BYTES as u64;
    (record_plain / chunk + 3) * (chunk + TAG_BYTES as u64)
}

/// The stored (sealed) length of a body of `plain` bytes.
#[must_use]
pub fn sealed_len(plain: u64, chunk_bytes: usize) -> u64 {
    plain + chunk_count(plain, chunk_bytes) * TAG_BYTES as u64
}

/// The chunks a plaintext range `[start, end)` (end > start, end ≤ `plain`) touches, as
/// (first chunk, last chunk, sealed offset of the first, sealed length of the run).
#[must_use]
pub fn sealed_span(start: u64, end: u64, plain: u64, chunk_bytes: usize) -> (u64, u64, u64, u64) {
    let c = chunk_bytes as u64;
    let sealed_chunk = c + TAG_BYTES as u64;
    let first = start / c;
    let last = (end.max(start + 1) - 1) / c;
    let offset = first * sealed_chunk;
    let end_sealed = if last + 1 >= chunk_count(plain, chunk_bytes) {
        sealed_len(plain, chunk_bytes)
    } else {
        (last + 1) * sealed_chunk
    };
    (first, last, offset, end_sealed - offset)
}

impl BodyCipher {
    /// The cipher of a body under `dek`, with `nonce_prefix` and associated data `aad`.
    ///
    /// # Panics
    /// If `chunk_bytes` is 0 (a caller's bug: envelopes never hold it).
    #[must_use]
    pub fn new(dek: &Dek, nonce_prefix: [u8; 7], aad: Vec<u8>, chunk_bytes: usize) -> BodyCipher {
        assert!(chunk_bytes > 0, "chunk size 0");
        let key = UnboundKey::new(&AES_256_GCM, dek.bytes()).expect("AES-256 takes a 32-byte key");
        BodyCipher { cipher: Arc::new(LessSafeKey::new(key)), nonce_prefix, aad: aad.into(), chunk_bytes }
    }

    /// Plaintext bytes per chunk.
    #[must_use]
    pub fn chunk_bytes(&self) -> usize {
        self.chunk_bytes
    }

    fn nonce(&self, index: u64, last: bool) -> Result<[u8; 12], CryptoError> {
        let index = u32::try_from(index).map_err(|_| CryptoError::TooLong)?;
        let mut n = [0u8; 12];
        n[..7].copy_from_slice(&self.nonce_prefix);
        n[7..11].copy_from_slice(&index.to_be_bytes());
        n[11] = u8::from(last);
        Ok(n)
    }

    /// Seals `plain` (at most one chunk) as chunk `index`, appending ciphertext and tag to `out`.
    ///
    /// # Errors
    /// `TooLong` past 2^32 chunks.
    pub fn seal_chunk(
        &self,
        index: u64,
        last: bool,
        plain: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), CryptoError> {
        debug_assert!(plain.len() <= self.chunk_bytes);
        let nonce = self.nonce(index, last)?;
        let at = out.len();
        out.extend_from_slice(plain);
        let tag = self
            .cipher
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&self.aad[..]),
                &mut out[at..],
            )
            .map_err(|_| CryptoError::TooLong)?;
        out.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Opens chunk `index` (ciphertext and tag in `sealed`), appending its plaintext to `out` only
    /// once the tag verifies.
    ///
    /// # Errors
    /// `Integrity` when the tag does not verify (tampered, moved, truncated, wrong key or place).
    pub fn open_chunk(
        &self,
        index: u64,
        last: bool,
        sealed: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), CryptoError> {
        let at = out.len();
        out.extend_from_slice(sealed);
        match self.open_chunk_in_place(index, last, &mut out[at..], 0) {
            Ok(n) => {
                out.truncate(at + n);
                Ok(())
            }
            Err(e) => {
                // Nothing unverified leaves.
                out.truncate(at);
                Err(e)
            }
        }
    }

    /// Opens chunk `index` where it lies: `buf[src..]` holds its ciphertext and tag, and once the
    /// tag verifies the plaintext is written to `buf[..len]` (shifted down by `src`, so a run of
    /// chunks opens over itself, each plaintext over the tags before it). Returns `len`. On an
    /// error `buf`'s bytes are unspecified and must not be served.
    ///
    /// # Errors
    /// `Integrity` when the tag does not verify or the chunk's length is not a chunk's.
    pub fn open_chunk_in_place(
        &self,
        index: u64,
        last: bool,
        buf: &mut [u8],
        src: usize,
    ) -> Result<usize, CryptoError> {
        let Some(body_len) = buf
            .len()
            .checked_sub(src)
            .and_then(|n| n.checked_sub(TAG_BYTES))
            .filter(|&n| n <= self.chunk_bytes)
        else {
            return Err(CryptoError::Integrity { chunk: index });
        };
        if !last && body_len != self.chunk_bytes {
            return Err(CryptoError::Integrity { chunk: index });
        }
        let nonce = self.nonce(index, last)?;
        let tag_at = buf.len() - TAG_BYTES;
        let tag: [u8; TAG_BYTES] = buf[tag_at..].try_into().expect("TAG_BYTES split off above");
        self.cipher
            .open_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&self.aad[..]),
                Tag::from(tag),
                &mut buf[..tag_at],
                src..,
            )
            .map_err(|_| CryptoError::Integrity { chunk: index })?;
        Ok(body_len)
    }

    /// Opens the sealed run of chunks `first..=last_chunk` of a body of `plain` bytes, appending the
    /// plaintext to `out`. On an error `out` is as it was.
    ///
    /// # Errors
    /// `Integrity` when any chunk fails, or `sealed` is not the run's length.
    pub fn open_run(
        &self,
        first: u64,
        last_chunk: u64,
        plain: u64,
        sealed: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), CryptoError> {
        let base = out.len();
        out.extend_from_slice(sealed);
        let opened = self.open_run_in_place(first, plain, out, base)?;
        let c = self.chunk_bytes as u64;
        let want = ((last_chunk + 1) * c).min(plain).saturating_sub(first * c);
        if last_chunk < first || opened != want {
            out.truncate(base);
            return Err(CryptoError::Integrity { chunk: last_chunk });
        }
        Ok(())
    }

    /// Opens, where it lies, the run of whole sealed chunks from chunk `first` of a body of `plain`
    /// bytes that fills `buf[base..]` (as one chunk record holds them), leaving the plaintext at
    /// `buf[base..]`: its length. On an error `buf` is cut back to `base`, so no unverified byte
    /// stays in it.
    ///
    /// # Errors
    /// `Integrity` when any chunk fails, or the bytes are not whole chunks of the body.
    pub fn open_run_in_place(
        &self,
        first: u64,
        plain: u64,
        buf: &mut Vec<u8>,
        base: usize,
    ) -> Result<u64, CryptoError> {
        let n = chunk_count(plain, self.chunk_bytes);
        let step = self.chunk_bytes + TAG_BYTES;
        let (mut src, mut dst, mut i) = (base, base, first);
        let walked = loop {
            if src == buf.len() && i > first {
                break Ok(());
            }
            let is_last = i + 1 == n;
            let len = if is_last { buf.len() - src } else { step };
            let want =
                if is_last { (plain - i * self.chunk_bytes as u64) as usize + TAG_BYTES } else { step };
            if i >= n || len != want || src + len > buf.len() {
                break Err(CryptoError::Integrity { chunk: i });
            }
            match self.open_chunk_in_place(i, is_last, &mut buf[dst..src + len], src - dst) {
                Ok(m) => dst += m,
                Err(e) => break Err(e),
            }
            src += len;
            i += 1;
        };
        match walked {
            Ok(()) => {
                buf.truncate(dst);
                Ok((dst - base) as u64)
            }
            Err(e) => {
                buf.truncate(base);
                Err(e)
            }
        }
    }
}

/// Seals a stream of plaintext as it arrives. A full chunk is sealed only once a byte after it
/// has arrived, so the last chunk (and only it) carries the last flag without the caller knowing
/// the length in advance.
#[derive(Debug)]
pub struct Sealer {
    cipher: BodyCipher,
    pending: Vec<u8>,
    index: u64,
    plain: u64,
}

impl Sealer {
    /// A sealer over `cipher`.
    #[must_use]
    pub fn new(cipher: BodyCipher) -> Sealer {
        let cap = cipher.chunk_bytes;
        Sealer { cipher, pending: Vec::with_capacity(cap), index: 0, plain: 0 }
    }

    /// Plaintext bytes taken so far.
    #[must_use]
    pub fn plain_len(&self) -> u64 {
        self.plain
    }

    /// Takes `data`, appending to `out` every chunk known not to be the last.
    ///
    /// # Errors
    /// `TooLong` past 2^32 chunks.
    pub fn push(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), CryptoError> {
        let c = self.cipher.chunk_bytes;
        self.plain += data.len() as u64;
        while !data.is_empty() {
            if self.pending.len() == c {
                // More follows: the pending chunk is not the last.
                self.cipher.seal_chunk(self.index, false, &self.pending, out)?;
                self.index += 1;
                self.pending.clear();
            }
            if self.pending.is_empty() && data.len() > c {
                // Whole chunks straight from the input, none of them the last.
                self.cipher.seal_chunk(self.index, false, &data[..c], out)?;
                self.index += 1;
                data = &data[c..];
                continue;
            }
            let take = (c - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(())
    }

    /// Seals what is pending as the last chunk.
    ///
    /// # Errors
    /// `TooLong` past 2^32 chunks.
    pub fn finish(self, out: &mut Vec<u8>) -> Result<u64, CryptoError> {
        self.cipher.seal_chunk(self.index, true, &self.pending, out)?;
        Ok(self.plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(chunk: usize) -> BodyCipher {
        BodyCipher::new(&Dek::from_bytes([7; 32]), [1; 7], b"aad".to_vec(), chunk)
    }

    fn seal_all(data: &[u8], chunk: usize, pieces: usize) -> Vec<u8> {
        let mut s = Sealer::new(cipher(chunk));
        let mut out = Vec::new();
        for p in data.chunks(pieces.max(1)) {
            s.push(p, &mut out).unwrap();
        }
        s.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn sealed_bodies_open_whole_and_by_range_whatever_the_piece_sizes() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        for chunk in [1, 16, 100, 1000, 4096] {
            let want = seal_all(&data, chunk, 1000);
            for pieces in [1, 3, 16, 99, 100, 101, 999] {
                assert_eq!(seal_all(&data, chunk, pieces), want, "chunk {chunk} pieces {pieces}");
            }
            assert_eq!(want.len() as u64, sealed_len(1000, chunk));
            let c = cipher(chunk);
            for (s, e) in [(0, 1000), (0, 1), (999, 1000), (15, 17), (100, 300)] {
                let (first, last, off, len) = sealed_span(s, e, 1000, chunk);
                let mut out = Vec::new();
                c.open_run(first, last, 1000, &want[off as usize..(off + len) as usize], &mut out).unwrap();
                let skip = (s - first * chunk as u64) as usize;
                assert_eq!(
                    &out[skip..skip + (e - s) as usize],
                    &data[s as usize..e as usize],
                    "{chunk} {s}..{e}"
                );
            }
        }
    }

    #[test]
    fn an_empty_body_is_one_authenticated_chunk() {
        let sealed = seal_all(&[], 64, 1);
        assert_eq!(sealed.len(), TAG_BYTES);
        let mut out = Vec::new();
        cipher(64).open_run(0, 0, 0, &sealed, &mut out).unwrap();
        assert!(out.is_empty());
        assert!(cipher(64).open_run(0, 0, 0, &[], &mut out).is_err());
    }

    #[test]
    fn tampering_swapping_truncating_and_extending_fail_with_no_plaintext() {
        let data = vec![0x5a; 300];
        let sealed = seal_all(&data, 100, 7);
        let c = cipher(100);
        let open = |s: &[u8]| {
            let mut out = Vec::new();
            let r = c.open_run(0, 2, 300, s, &mut out);
            (r, out)
        };
        assert_eq!(open(&sealed).1, data);
        let mut flipped = sealed.clone();
        flipped[5] ^= 1;
        let mut tag = sealed.clone();
        tag[110] ^= 0x80;
        let mut swapped = sealed.clone();
        swapped[..116].copy_from_slice(&sealed[116..232]);
        swapped[116..232].copy_from_slice(&sealed[..116]);
        let truncated = &sealed[..232];
        let mut extended = sealed.clone();
        extended.push(0);
        for (what, s) in [
            ("bit", &flipped[..]),
            ("tag", &tag),
            ("swap", &swapped),
            ("trunc", truncated),
            ("ext", &extended),
        ] {
            let (r, out) = open(s);
            assert!(matches!(r, Err(CryptoError::Integrity { .. })), "{what}: {r:?}");
            // Chunks before the damaged one verified; nothing of the damaged one is out.
            assert!(data.starts_with(&out) && out.len() % 100 == 0, "{what}");
        }
        // A body cut at a chunk boundary, claiming to be shorter: the last flag catches it.
        let mut out = Vec::new();
        assert!(c.open_run(0, 1, 200, &sealed[..232], &mut out).is_err());
        // Another body's associated data (another key or version) fails.
        let other = BodyCipher::new(&Dek::from_bytes([7; 32]), [1; 7], b"other".to_vec(), 100);
        assert!(other.open_run(0, 2, 300, &sealed, &mut Vec::new()).is_err());
    }
}
