//! Load by key prefix, per partition: which prefixes the operations of a partition went to, so a
//! researcher sees which of two prefixes sharing a partition is the hot one.
//!
//! Bounded by the space-saving algorithm (Metwally, Agrawal, El Abbadi, 2005): at most
//! [`PREFIX_LOAD_SLOTS`] (bucket, prefix) counters per partition; a prefix that finds no slot takes
//! over the smallest, starting at its count + 1 and remembering that count as its possible
//! overcount. Every prefix with more than 1/N of the partition's operations is guaranteed a slot,
//! and a slot's true count lies in `[operations - overcount, operations]`. One brief lock of a
//! per-partition mutex per operation (a scan of 16 slots; a slot changing hands reuses its buffer, so
//! nothing is allocated once the slots are full), beside the partition's own locks: never held while taking another.
//!
//! The prefix an operation counts for: with prefix hashing (`prefix_len = P`), the P bytes the
//! router hashes (the unit that shares a partition); with whole-key hashing, the key up to and
//! including its first `/`, or the whole key, cut at [`PREFIX_LOAD_BYTES_MAX`] bytes (so with a
//! `prefix_len` over that, keys that differ only past it share one slot).

use parking_lot::Mutex;

use crate::engine::format::manifest::PREFIX_LEN_WHOLE_KEY;
use crate::limits::{PREFIX_LOAD_BYTES_MAX, PREFIX_LOAD_SLOTS};

/// Load attributed to one key prefix of one bucket in one partition, since open or the last
/// [`crate::Store::reset_partition_stats`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixLoad {
    /// The store partition.
    pub partition: u16,
    /// The bucket (`#<id>` once it has been deleted).
    pub bucket: String,
    /// The prefix as text: UTF-8, with each byte that is not part of a whole character (a cut
    /// inside one, or a key that is not UTF-8) written `\xNN`, so two different prefixes never
    /// read the same.
    pub prefix: String,
    /// The prefix's bytes, exactly.
    pub prefix_bytes: Vec<u8>,
    /// Operations counted for it (puts, gets, heads, deletes), at most `overcount` too many.
    pub operations: u64,
    /// How many of `operations` may belong to prefixes this slot took over (0: exact).
    pub overcount: u64,
}

#[derive(Debug, Clone)]
struct Slot {
    bucket: u64,
    /// [`fingerprint`] of (bucket, prefix): compared first, so a miss costs no byte comparison.
    print: u64,
    prefix: Vec<u8>,
    count: u64,
    error: u64,
}

/// One partition's counters.
#[derive(Debug, Default)]
pub(crate) struct PrefixLoads {
    slots: Mutex<Vec<Slot>>,
}

/// `bytes` as text, each byte outside a whole UTF-8 character escaped as `\xNN`.
pub(crate) fn escaped(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// The prefix `key`'s operations count for (see the module doc).
pub(crate) fn load_prefix(key: &[u8], prefix_len: u32) -> &[u8] {
    let end = if prefix_len == PREFIX_LEN_WHOLE_KEY {
        key.iter().position(|&b| b == b'/').map_or(key.len(), |i| i + 1)
    } else {
        key.len().min(prefix_len as usize)
    };
    &key[..end.min(PREFIX_LOAD_BYTES_MAX)]
}

/// A cheap 64-bit digest of (bucket, prefix), eight bytes at a time (prefixes are at most 64 bytes).
fn fingerprint(bucket: u64, prefix: &[u8]) -> u64 {
    let mut h = bucket ^ (prefix.len() as u64).rotate_left(56);
    for word in prefix.chunks(8) {
        let mut w = [0u8; 8];
        w[..word.len()].copy_from_slice(word);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
    }
    h
}

impl PrefixLoads {
    /// Counts one operation on `prefix` of `bucket`.
    pub(crate) fn record(&self, bucket: u64, prefix: &[u8]) {
        let print = fingerprint(bucket, prefix);
        let mut slots = self.slots.lock();
        if let Some(s) =
            slots.iter_mut().find(|s| s.print == print && s.bucket == bucket && s.prefix == prefix)
        {
            s.count += 1;
            return;
        }
        if slots.len() < PREFIX_LOAD_SLOTS {
            // Room for any prefix, so that a slot changing hands later never allocates.
            let mut owned = Vec::with_capacity(PREFIX_LOAD_BYTES_MAX);
            owned.extend_from_slice(prefix);
            slots.push(Slot { bucket, print, prefix: owned, count: 1, error: 0 });
            return;
        }
        let min = slots.iter_mut().min_by_key(|s| s.count).expect("PREFIX_LOAD_SLOTS is at least 1");
        min.bucket = bucket;
        min.print = print;
        min.prefix.clear();
        min.prefix.extend_from_slice(prefix);
        min.error = min.count;
        min.count += 1;
    }

    /// (bucket id, prefix, count, overcount), busiest first.
    pub(crate) fn snapshot(&self) -> Vec<(u64, Vec<u8>, u64, u64)> {
        let mut out: Vec<_> =
            self.slots.lock().iter().map(|s| (s.bucket, s.prefix.clone(), s.count, s.error)).collect();
        out.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (a.0, &a.1).cmp(&(b.0, &b.1))));
        out
    }

    pub(crate) fn reset(&self) {
        self.slots.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_follow_the_routing_unit() {
        assert_eq!(load_prefix(b"2024/05/cat.jpg", PREFIX_LEN_WHOLE_KEY), b"2024/");
        assert_eq!(load_prefix(b"flat", PREFIX_LEN_WHOLE_KEY), b"flat");
        assert_eq!(load_prefix(b"2024/05/cat.jpg", 7), b"2024/05");
        assert_eq!(load_prefix(b"ab", 7), b"ab");
        let long = vec![b'x'; 100];
        assert_eq!(load_prefix(&long, PREFIX_LEN_WHOLE_KEY).len(), PREFIX_LOAD_BYTES_MAX);
    }

    #[test]
    fn space_saving_keeps_the_heavy_prefixes_within_its_bound() {
        let loads = PrefixLoads::default();
        // Two heavy prefixes among a stream of 100 one-off ones, more than the slots.
        for i in 0..100u32 {
            loads.record(1, b"hot/");
            loads.record(1, format!("cold{i}/").as_bytes());
            if i % 2 == 0 {
                loads.record(2, b"warm/");
            }
        }
        let snap = loads.snapshot();
        assert_eq!(snap.len(), PREFIX_LOAD_SLOTS);
        assert_eq!((snap[0].0, snap[0].1.as_slice()), (1, &b"hot/"[..]));
        let (hot, hot_err) = (snap[0].2, snap[0].3);
        assert!(hot - hot_err <= 100 && 100 <= hot, "true count within [count - overcount, count]");
        let warm = snap.iter().find(|s| s.1 == b"warm/").expect("a prefix over 1/N of the load keeps a slot");
        assert!(warm.2 - warm.3 <= 50 && 50 <= warm.2);
        assert_eq!(snap.iter().map(|s| s.2).sum::<u64>(), 250, "space-saving counts every operation once");
        loads.reset();
        assert!(loads.snapshot().is_empty());
    }
}
