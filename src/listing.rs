//! Listing: a lazy k-way merge of the partitions' ordered indexes. Each partition has a cursor that
//! reads small batches under its index's read lock (seeking past whole common prefixes when a
//! delimiter is given); a heap merges the cursors' heads in UTF-8 byte order, newest version first.
//! A page of n items touches about n index entries, not n per partition.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use crate::partition::Partition;
use crate::partition::index::{EntryKind, Index, IndexEntry, IndexKey, key_bound};

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

/// Keys are UTF-8, which never contains 0xFF: `prefix ‖ 0xFF` sorts after every key with the prefix.
fn past_prefix(p: &[u8]) -> Vec<u8> {
    let mut v = p.to_vec();
    v.push(0xff);
    v
}

/// One partition's position in a listing.
struct Cursor<'p> {
    partition: &'p Partition,
    lower: Bound<IndexKey>,
    /// The key the cursor stopped inside of (its remaining versions are not the latest).
    mid_key: Option<Vec<u8>>,
    buf: VecDeque<ListItem>,
    done: bool,
    batch: usize,
}

impl Cursor<'_> {
    fn refill(&mut self, bucket: u64, q: &ListQuery<'_>) {
        crate::partition::stats::add(&self.partition.counters.lists, 1);
        let ix = self.partition.index.read();
        let (items, done) = scan(&ix, bucket, q, self.lower.clone(), self.mid_key.as_deref(), self.batch);
        drop(ix);
        self.done = done;
        self.batch = (self.batch * 2).min(4096);
        match items.last() {
            Some(ListItem::Entry { key, seq, .. }) if q.versions => {
                self.lower = Bound::Excluded(key_bound(bucket, key, *seq));
                self.mid_key = Some(key.clone());
            }
            Some(ListItem::Entry { key, .. }) => {
                self.lower = Bound::Excluded(key_bound(bucket, key, 0));
                self.mid_key = None;
            }
            Some(ListItem::Prefix(p)) => {
                self.lower = Bound::Included(key_bound(bucket, &past_prefix(p), u64::MAX));
                self.mid_key = None;
            }
            None => {}
        }
        self.buf.extend(items);
    }

    fn next(&mut self, bucket: u64, q: &ListQuery<'_>) -> Option<ListItem> {
        if self.buf.is_empty() && !self.done {
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
    let mut cursors: Vec<Cursor<'_>> = partitions
        .iter()
        .map(|p| Cursor {
            partition: p,
            lower: lower.clone(),
            mid_key: mid_key.clone(),
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

/// Up to `limit` items of one partition from `lower`; true when the partition has no more.
fn scan(
    ix: &Index,
    bucket: u64,
    q: &ListQuery<'_>,
    mut lower: Bound<IndexKey>,
    mid_key: Option<&[u8]>,
    limit: usize,
) -> (Vec<ListItem>, bool) {
    let prefix = q.prefix;
    let mut items = Vec::with_capacity(limit.min(4096));
    'seek: loop {
        let mut last_key: Option<&[u8]> = None;
        for (k, e) in ix.range_from(lower.clone()) {
            if k.bucket != bucket || !k.key.starts_with(prefix) {
                return (items, true);
            }
            // Resuming inside a key (versions mode): its first entry here is not its newest.
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
                    items.push(ListItem::Prefix(common));
                    if items.len() >= limit {
                        return (items, false);
                    }
                    continue 'seek;
                }
            }
            items.push(ListItem::Entry {
                key: k.key.to_vec(),
                seq: k.rev_seq.0,
                entry: e.clone(),
                is_latest: first_of_key,
            });
            if items.len() >= limit {
                return (items, false);
            }
        }
        return (items, true);
    }
}
