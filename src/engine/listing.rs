//! Listing: a lazy k-way merge of the partitions' ordered indexes. Each partition has a cursor that
//! reads small batches under its index's read lock (seeking past whole common prefixes when a
//! delimiter is given); a heap merges the cursors' heads in UTF-8 byte order, newest version first.
//! A page of n items touches about n index entries, not n per partition. Entries a listing does not
//! show (older versions, keys whose current version is a delete marker) are still visited, so one
//! hold of a partition's lock visits at most [`LIST_SCAN_ENTRIES_PER_LOCK`] entries, shown or not.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use crate::engine::partition::Partition;
use crate::engine::partition::index::{EntryKind, Index, IndexEntry, IndexKey, key_bound};

/// Where a listing starts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ListStart<'a> {
    /// At the first key of the prefix.
    Beginning,
    /// After every version of this key.
    AfterKey(&'a [u8]),
    /// After this version (by seq) of this key: its older versions, then later keys.
    AfterVersion(&'a [u8], u64),
    /// After every key starting with this common prefix.
    AfterPrefix(&'a [u8]),
}

/// A listing query.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListQuery<'a> {
    pub(crate) prefix: &'a [u8],
    pub(crate) delimiter: Option<&'a [u8]>,
    pub(crate) start: ListStart<'a>,
    pub(crate) max: usize,
    pub(crate) versions: bool,
}

/// One listing item.
#[derive(Debug, Clone)]
pub(crate) enum ListItem {
    /// A version (or the current version) of a key.
    Entry { key: Vec<u8>, seq: u64, entry: IndexEntry, is_latest: bool },
    /// A common prefix.
    Prefix(Vec<u8>),
}

impl ListItem {
    fn sort_key(&self) -> (&[u8], Reverse<u64>) {
        match self {
            ListItem::Entry { key, seq, .. } => (key, Reverse(*seq)),
            ListItem::Prefix(p) => (p, Reverse(u64::MAX)),
        }
    }
}

/// Index entries one scan visits, shown or skipped, under one hold of a partition's index read lock.
/// The partition's writer needs the write lock to make each group visible, so this bounds how long a
/// listing stalls it: a bucket of nothing but delete markers used to be walked whole under one hold.
/// 4096 entries match the largest batch (4096 items); measured in a release build here, a hold over
/// delete markers took about 0.4 ms (a listing of 200,000 markers in one partition: 49 holds, 19 ms
/// in all, where it had been one hold of 27-32 ms).
pub(crate) const LIST_SCAN_ENTRIES_PER_LOCK: usize = 4096;

/// Largest batch of items a cursor asks one scan for (its batches start small and double).
const CURSOR_BATCH_MAX: usize = 4096;

/// Keys are UTF-8, which never contains 0xFF: `prefix ‖ 0xFF` sorts after every key with the prefix.
fn past_prefix(p: &[u8]) -> Vec<u8> {
    let mut v = p.to_vec();
    v.push(0xff);
    v
}

/// Where a partition's scan goes on from: the first index entry at or after `lower`.
#[derive(Debug, Clone)]
struct Position {
    lower: Bound<IndexKey>,
    /// The key the position is inside of: its remaining versions are not its newest.
    mid_key: Option<Vec<u8>>,
}

/// What one scan (one lock hold) found.
#[derive(Debug)]
struct Scanned {
    items: Vec<ListItem>,
    /// Where to go on from; `None` when the partition has nothing more for this listing.
    next: Option<Position>,
    /// Index entries visited, shown or not (at most the scan's budget).
    visited: usize,
}

/// One partition's position in a listing.
struct Cursor<'p> {
    partition: &'p Partition,
    pos: Position,
    buf: VecDeque<ListItem>,
    done: bool,
    batch: usize,
}

impl Cursor<'_> {
    /// One scan under one hold of the index's read lock.
    fn refill(&mut self, bucket: u64, q: &ListQuery<'_>) {
        crate::engine::partition::stats::add(&self.partition.counters.lists, 1);
        let ix = self.partition.index.read();
        let scanned = scan(&ix, bucket, q, &self.pos, self.batch, LIST_SCAN_ENTRIES_PER_LOCK);
        drop(ix);
        debug_assert!(
            scanned.visited <= LIST_SCAN_ENTRIES_PER_LOCK,
            "one lock hold visited {}",
            scanned.visited
        );
        match scanned.next {
            Some(pos) => self.pos = pos,
            None => self.done = true,
        }
        self.batch = (self.batch * 2).min(CURSOR_BATCH_MAX);
        self.buf.extend(scanned.items);
    }

    fn next(&mut self, bucket: u64, q: &ListQuery<'_>) -> Option<ListItem> {
        // A scan that spent its budget on entries the listing does not show returns no items but is
        // not done: take the lock again (letting a waiting writer in between) and go on.
        while self.buf.is_empty() && !self.done {
            self.refill(bucket, q);
        }
        self.buf.pop_front()
    }
}

struct Head {
    item: ListItem,
    cursor: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        self.item.sort_key().cmp(&other.item.sort_key()).then(self.cursor.cmp(&other.cursor))
    }
}

/// One page: at most `q.max` items, and whether more follow.
pub(crate) fn list(partitions: &[Arc<Partition>], bucket: u64, q: &ListQuery<'_>) -> (Vec<ListItem>, bool) {
    let want = q.max + 1;
    let first_batch = (want / partitions.len().max(1)).max(8) + 8;
    let (lower, mid_key) = start_bound(bucket, q);
    let start = Position { lower, mid_key };
    let mut cursors: Vec<Cursor<'_>> = partitions
        .iter()
        .map(|p| Cursor {
            partition: p,
            pos: start.clone(),
            buf: VecDeque::new(),
            done: false,
            batch: first_batch,
        })
        .collect();
    let mut heap = BinaryHeap::with_capacity(cursors.len());
    for (i, c) in cursors.iter_mut().enumerate() {
        if let Some(item) = c.next(bucket, q) {
            heap.push(Reverse(Head { item, cursor: i }));
        }
    }
    let mut out: Vec<ListItem> = Vec::with_capacity(want.min(1024));
    while out.len() < want {
        let Some(Reverse(Head { item, cursor })) = heap.pop() else { break };
        if let Some(next) = cursors[cursor].next(bucket, q) {
            heap.push(Reverse(Head { item: next, cursor }));
        }
        // The same common prefix can come from several partitions: they pop one after the other.
        if let (ListItem::Prefix(p), Some(ListItem::Prefix(last))) = (&item, out.last())
            && p == last
        {
            continue;
        }
        out.push(item);
    }
    let truncated = out.len() > q.max;
    out.truncate(q.max);
    (out, truncated)
}

fn start_bound(bucket: u64, q: &ListQuery<'_>) -> (Bound<IndexKey>, Option<Vec<u8>>) {
    let prefix = q.prefix;
    let at_prefix = Bound::Included(key_bound(bucket, prefix, u64::MAX));
    match q.start {
        ListStart::Beginning => (at_prefix, None),
        ListStart::AfterKey(k) if k < prefix => (at_prefix, None),
        ListStart::AfterKey(k) => (Bound::Excluded(key_bound(bucket, k, 0)), None),
        ListStart::AfterVersion(k, _) if k < prefix => (at_prefix, None),
        ListStart::AfterVersion(k, seq) => (Bound::Excluded(key_bound(bucket, k, seq)), Some(k.to_vec())),
        ListStart::AfterPrefix(p) if p < prefix => (at_prefix, None),
        ListStart::AfterPrefix(p) => (Bound::Included(key_bound(bucket, &past_prefix(p), u64::MAX)), None),
    }
}

/// Key equality, cheapest rejection first: neighbouring keys in an index mostly differ in their last
/// byte, and a full compare of every key with the one before it was the top of listing profiles.
fn same_key(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.last() == b.last() && a == b
}

/// The last thing a scan got past, which is where the next scan goes on from.
enum Passed<'a> {
    /// Nothing since the scan's current `lower` (its start, or a seek past a common prefix).
    Lower,
    /// This index entry, shown or skipped.
    Entry(&'a IndexKey),
}

/// Up to `limit` items of one partition from `from`, visiting at most `budget` index entries.
fn scan(ix: &Index, bucket: u64, q: &ListQuery<'_>, from: &Position, limit: usize, budget: usize) -> Scanned {
    // A zero budget would return where it started, forever.
    debug_assert!(budget > 0 && limit > 0, "scan budget {budget}, limit {limit}");
    let prefix = q.prefix;
    let mut items = Vec::with_capacity(limit.min(CURSOR_BATCH_MAX));
    let mut lower = from.lower.clone();
    let mut mid_key = from.mid_key.as_deref();
    let mut visited = 0;
    let mut passed = Passed::Lower;
    'seek: loop {
        let mut last_key: Option<&[u8]> = None;
        for (k, e) in ix.range_from(lower.clone()) {
            if k.bucket != bucket || !k.key.starts_with(prefix) {
                return Scanned { items, next: None, visited };
            }
            if visited == budget {
                let next = Some(resume(bucket, q, lower, mid_key, &passed));
                return Scanned { items, next, visited };
            }
            visited += 1;
            passed = Passed::Entry(k);
            // Resuming inside a key: its first entry here is not its newest.
            let first_of_key = !last_key.is_some_and(|l| same_key(l, &k.key))
                && !mid_key.is_some_and(|m| same_key(m, &k.key));
            last_key = Some(&k.key[..]);
            // Only what the listing shows can make a common prefix: a prefix whose keys all have a
            // delete marker as their current version is not listed.
            let visible = q.versions || (first_of_key && e.kind != EntryKind::DeleteMarker);
            if !visible {
                continue;
            }
            if let Some(d) = q.delimiter.filter(|d| !d.is_empty()) {
                let rest = &k.key[prefix.len()..];
                if let Some(pos) = rest.windows(d.len()).position(|w| w == d) {
                    let common = k.key[..prefix.len() + pos + d.len()].to_vec();
                    lower = Bound::Included(key_bound(bucket, &past_prefix(&common), u64::MAX));
                    // The seek lands past every key with this prefix, the mid key's among them.
                    mid_key = None;
                    passed = Passed::Lower;
                    items.push(ListItem::Prefix(common));
                    if items.len() >= limit {
                        let next = Some(resume(bucket, q, lower, mid_key, &passed));
                        return Scanned { items, next, visited };
                    }
                    continue 'seek;
                }
            }
            items.push(ListItem::Entry {
                key: k.key.to_vec(),
                seq: k.rev_seq.0,
                entry: *e,
                is_latest: first_of_key,
            });
            if items.len() >= limit {
                let next = Some(resume(bucket, q, lower, mid_key, &passed));
                return Scanned { items, next, visited };
            }
        }
        return Scanned { items, next: None, visited };
    }
}

/// The exact position after what a scan got past. After an entry of a version listing: its key's
/// older versions, which are not the newest (`mid_key`). After an entry of an object listing: the
/// next key, since only a key's newest entry can be shown and it has been seen (shown, or a
/// delete marker, or an older version when resuming inside the key); seeking past the rest of the
/// key also saves visiting its older versions.
fn resume(
    bucket: u64,
    q: &ListQuery<'_>,
    lower: Bound<IndexKey>,
    mid_key: Option<&[u8]>,
    passed: &Passed<'_>,
) -> Position {
    match passed {
        Passed::Lower => Position { lower, mid_key: mid_key.map(<[u8]>::to_vec) },
        Passed::Entry(k) if q.versions => {
            Position { lower: Bound::Excluded((*k).clone()), mid_key: Some(k.key.to_vec()) }
        }
        Passed::Entry(k) => Position { lower: Bound::Excluded(key_bound(bucket, &k.key, 0)), mid_key: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{StorageClass, VersionId};

    const BUCKET: u64 = 7;

    fn entry(seq: u64, kind: EntryKind) -> IndexEntry {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&seq.to_le_bytes());
        let place = (u32::try_from(seq * 64).unwrap(), 64);
        IndexEntry::unplaced(VersionId(id), kind, 1, 0, [0; 16], StorageClass::Standard).placed(1, place)
    }

    /// Builds an index from `(key, versions oldest first, true for a delete marker)`, with a key of
    /// another bucket on either side so that a scan must stop at the bucket's edge.
    fn index(keys: &[(&str, &[bool])]) -> Index {
        let mut ix = Index::default();
        let mut seq = 0;
        let mut add = |ix: &mut Index, bucket: u64, key: &str, marker: bool| {
            seq += 1;
            let kind = if marker { EntryKind::DeleteMarker } else { EntryKind::Inline };
            ix.upsert(bucket, key.as_bytes(), seq, entry(seq, kind), &[]);
        };
        add(&mut ix, BUCKET - 1, "a", false);
        add(&mut ix, BUCKET + 1, "a", false);
        for (key, versions) in keys {
            for &marker in *versions {
                add(&mut ix, BUCKET, key, marker);
            }
        }
        ix
    }

    fn query<'a>(
        prefix: &'a str,
        delimiter: Option<&'a str>,
        start: ListStart<'a>,
        versions: bool,
    ) -> ListQuery<'a> {
        ListQuery {
            prefix: prefix.as_bytes(),
            delimiter: delimiter.map(str::as_bytes),
            start,
            max: 1000,
            versions,
        }
    }

    /// An item as the tests compare it: key or prefix, seq (0 for a prefix), is-latest.
    fn plain(item: &ListItem) -> (String, u64, bool) {
        match item {
            ListItem::Entry { key, seq, is_latest, .. } => {
                (String::from_utf8_lossy(key).into_owned(), *seq, *is_latest)
            }
            ListItem::Prefix(p) => (String::from_utf8_lossy(p).into_owned(), 0, false),
        }
    }

    /// Scans as a cursor does, from the query's start to the end of the partition, with `limit`
    /// items and `budget` entries per scan; returns the items and every scan's visit count.
    fn scan_all(
        ix: &Index,
        q: &ListQuery<'_>,
        limit: usize,
        budget: usize,
    ) -> (Vec<(String, u64, bool)>, Vec<usize>) {
        let (lower, mid_key) = start_bound(BUCKET, q);
        let mut pos = Position { lower, mid_key };
        let (mut items, mut visits) = (Vec::new(), Vec::new());
        loop {
            let s = scan(ix, BUCKET, q, &pos, limit, budget);
            assert!(s.visited <= budget && s.items.len() <= limit);
            items.extend(s.items.iter().map(plain));
            visits.push(s.visited);
            assert!(visits.len() <= 10_000, "the scans make no progress");
            match s.next {
                Some(next) => pos = next,
                None => return (items, visits),
            }
        }
    }

    #[test]
    fn a_scan_stops_after_its_budget_even_with_nothing_to_show() {
        let markers: Vec<String> = (0..10_000).map(|i| format!("m{i:05}")).collect();
        let mut keys: Vec<(&str, &[bool])> = markers.iter().map(|k| (k.as_str(), &[true][..])).collect();
        keys.push(("z", &[false]));
        let ix = index(&keys);
        let q = query("", None, ListStart::Beginning, false);
        let (lower, mid_key) = start_bound(BUCKET, &q);
        let first = scan(&ix, BUCKET, &q, &Position { lower, mid_key }, 100, LIST_SCAN_ENTRIES_PER_LOCK);
        assert!(first.items.is_empty(), "all markers so far");
        assert_eq!(first.visited, LIST_SCAN_ENTRIES_PER_LOCK);
        assert!(first.next.is_some(), "not done: it stopped for the budget");
        let (items, visits) = scan_all(&ix, &q, 100, LIST_SCAN_ENTRIES_PER_LOCK);
        assert_eq!(items, vec![("z".to_string(), 10_001 + 2, true)]);
        assert_eq!(visits, vec![4096, 4096, 10_001 - 2 * 4096], "3 lock holds for 10,001 entries");
        // The same walk in a version listing shows every marker, still 4096 entries per hold.
        let q = query("", None, ListStart::Beginning, true);
        let (items, visits) = scan_all(&ix, &q, 1000, LIST_SCAN_ENTRIES_PER_LOCK);
        assert_eq!(items.len(), 10_001);
        assert!(visits.iter().all(|&v| v <= LIST_SCAN_ENTRIES_PER_LOCK));
    }

    /// Every query, resumed after every possible stop (budgets 1 to 9 entries, limits 1 to 3 and
    /// unbounded), lists exactly what one unbounded scan lists: nothing lost or repeated when a
    /// scan stops inside a key's versions, after a skipped marker or older version, or past a prefix.
    #[test]
    fn resuming_after_any_budget_lists_what_one_scan_lists() {
        let ix = index(&[
            ("a", &[false, false, true]),
            ("a/1", &[false]),
            ("a/2", &[true]),
            ("a/b/1", &[false, true, false]),
            ("a/b/2", &[true, true]),
            ("b", &[true, false, false, false]),
            ("c/", &[false, false]),
            ("c/d", &[true]),
            ("c/e", &[false, true]),
            ("d", &[true]),
            ("e", &[false]),
        ]);
        let mid_seq = 9; // "a/b/1"'s second version (a marker): a version listing can resume there.
        let starts = [
            ListStart::Beginning,
            ListStart::AfterKey(b"a/1"),
            ListStart::AfterKey(b"b"),
            ListStart::AfterVersion(b"a/b/1", mid_seq),
            ListStart::AfterVersion(b"b", 15),
            ListStart::AfterPrefix(b"a/"),
        ];
        let mut checked = 0;
        for versions in [false, true] {
            for (prefix, delimiter) in
                [("", None), ("", Some("/")), ("a/", Some("/")), ("a/", None), ("c/", Some("/"))]
            {
                for start in starts {
                    let q = query(prefix, delimiter, start, versions);
                    let (want, visits) = scan_all(&ix, &q, usize::MAX, usize::MAX);
                    assert_eq!(visits.len(), 1);
                    for budget in 1..=9 {
                        for limit in [1, 2, 3, usize::MAX] {
                            let (got, _) = scan_all(&ix, &q, limit, budget);
                            assert_eq!(got, want, "{q:?}, budget {budget}, limit {limit}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 2 * 5 * 6 * 9 * 4);
        // Spot checks that the reference itself is right.
        let q = query("", Some("/"), ListStart::Beginning, false);
        let names: Vec<String> =
            scan_all(&ix, &q, usize::MAX, usize::MAX).0.into_iter().map(|i| i.0).collect();
        assert_eq!(names, ["a/", "b", "c/", "e"], "a's current version is a marker, d has only one");
        let q = query("a/", None, ListStart::AfterVersion(b"a/b/1", mid_seq), true);
        let got = scan_all(&ix, &q, usize::MAX, 1).0;
        assert_eq!(
            got[0],
            ("a/b/1".to_string(), mid_seq - 1, false),
            "the oldest version of a/b/1, not latest"
        );
    }
}
