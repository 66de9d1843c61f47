//! Where every random id of a store comes from: version ids, chunk tokens, account ids, access
//! keys, the store's uuid (and with it the continuation-token secret), and the client's request ids.
//!
//! Unseeded (the default) each id draws from the thread's OS-seeded generator: unpredictable, and
//! no lock is taken. With [`crate::StoreBuilder::seed`], one ChaCha generator per store, behind a
//! mutex, makes them all: the same seed and the same sequence of operations give the same ids run to
//! run, so snapshot tests and replayed property-test failures see the same ids. Ids stay unique
//! under concurrent writers (each draw advances the one stream; version ids also start with the
//! store's sequence number); only which writer gets which id then depends on the order they came in.
//!
//! A reopened seeded store must not replay the ids of an earlier session (chunk tokens tell uploads
//! of one version apart, across sessions too, and S3 never reuses a version id), so after recovery
//! the generator is re-keyed with the seed, the session (the number of the manifest the open
//! writes, one more at every open that succeeds) and the store's next sequence number, all
//! reproducible. The sequence number alone is not enough: a session that wrote nothing, or whose
//! writes a crash took, leaves it where it was.
//!
//! A seed is a store's identity: two stores made with one seed share their uuid too, and with it
//! the continuation-token secret. Two stores in one test need two seeds.

use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

/// A store's id generator.
#[derive(Debug)]
pub(crate) struct IdSource {
    seeded: Option<(u64, Mutex<StdRng>)>,
}

impl IdSource {
    /// Random ids (`None`), or ids reproducible from `seed`.
    pub(crate) fn new(seed: Option<u64>) -> IdSource {
        IdSource { seeded: seed.map(|s| (s, Mutex::new(keyed(s, 0, 0)))) }
    }

    /// Fills `buf` with the next id bytes.
    pub(crate) fn fill(&self, buf: &mut [u8]) {
        match &self.seeded {
            Some((_, rng)) => rng.lock().fill_bytes(buf),
            None => rand::rng().fill_bytes(buf),
        }
    }

    /// Restarts a seeded stream for session `session` (see the module doc), whose first sequence
    /// number is `next_seq`.
    pub(crate) fn rekey(&self, session: u64, next_seq: u64) {
        if let Some((seed, rng)) = &self.seeded {
            *rng.lock() = keyed(*seed, session, next_seq);
        }
    }
}

fn keyed(seed: u64, session: u64, next_seq: u64) -> StdRng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&session.to_le_bytes());
    key[16..24].copy_from_slice(&next_seq.to_le_bytes());
    key[24..].copy_from_slice(b"s3ids-v2");
    StdRng::from_seed(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(ids: &IdSource) -> [u8; 16] {
        let mut b = [0u8; 16];
        ids.fill(&mut b);
        b
    }

    #[test]
    fn seeded_streams_repeat_and_differ_by_seed_and_session() {
        let (a, b, c) = (IdSource::new(Some(7)), IdSource::new(Some(7)), IdSource::new(Some(8)));
        let first = draw(&a);
        assert_eq!(first, draw(&b));
        assert_ne!(first, draw(&c));
        assert_ne!(draw(&a), first, "the stream moves on");
        a.rekey(2, 100);
        b.rekey(2, 100);
        assert_eq!(draw(&a), draw(&b));
        let fresh = IdSource::new(Some(7));
        fresh.rekey(2, 101);
        assert_ne!(draw(&fresh), draw(&IdSource::new(Some(7))), "another sequence number, another stream");
        let (s2, s3) = (IdSource::new(Some(7)), IdSource::new(Some(7)));
        s2.rekey(2, 100);
        s3.rekey(3, 100);
        assert_ne!(draw(&s2), draw(&s3), "another session at the same sequence number, another stream");
        let (r1, r2) = (IdSource::new(None), IdSource::new(None));
        assert_ne!(draw(&r1), draw(&r2));
    }
}
