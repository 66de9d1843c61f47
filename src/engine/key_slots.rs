//! Key slots: the one erasable copy of each crypto-shredded version's key material (DESIGN.md §7.6,
//! "Crypto-shred"). Segments are append-only, so an envelope in a commit record lives until
//! compaction; a store with `StoreBuilder::crypto_shred` therefore splits each sealed version's
//! data key in two: the envelope wraps `dek ⊕ secret`, and the 32-byte `secret` lives in a slot of
//! the `KEYSLOTS` file, overwritten with zeros once the version's removal is durable. Without the
//! slot, the master key and every byte of the segments do not give the data key.
//!
//! File: a sequence of [`SLOT_BYTES`]-byte slots. A slot is all zeros (free) or
//! `secret (32) | bucket id (8) | version id (16) | MD5 of the key (16) | CRC-32 of the rest (4) | tag (4)`.
//! The tag is random per slot taken, and the commit record names it with the slot: a slot erased
//! and taken again by another write of the same bucket, key and version id (a `null` version
//! rewritten) is not the first one's.
//! The identity lets an open find orphans (a slot whose version is not in the index: a put that
//! never committed, or a removal whose erase a crash cut short) without reading a record, and lets
//! a read check that the slot it was told of is its own.

use std::path::PathBuf;
use std::sync::Arc;

use md5::{Digest, Md5};
use parking_lot::Mutex;
use zeroize::Zeroizing;

use super::io::{OpenMode, Storage, StorageFile};

/// Bytes per slot.
pub(crate) const SLOT_BYTES: usize = 80;
/// Name of the slot file in the store's root.
pub(crate) const KEY_SLOTS_FILE: &str = "KEYSLOTS";
/// Slots zero-filled ahead of the last one in use, so that a slot's sync overwrites allocated
/// blocks rather than growing the file.
const ZERO_AHEAD_SLOTS: u64 = 4096 / SLOT_BYTES as u64 * 16;

/// Which write of which version a slot belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SlotOwner {
    pub(crate) bucket: u64,
    pub(crate) version: [u8; 16],
    pub(crate) key_md5: [u8; 16],
    /// Random per slot taken (named with the slot in the commit record).
    pub(crate) tag: u32,
}

impl SlotOwner {
    pub(crate) fn new(bucket: u64, key: &[u8], version: [u8; 16], tag: u32) -> SlotOwner {
        SlotOwner { bucket, version, key_md5: Md5::digest(key).into(), tag }
    }

    /// The version the owner names, whatever the write: what the index can tell.
    pub(crate) fn version_key(&self) -> (u64, [u8; 16], [u8; 16]) {
        (self.bucket, self.version, self.key_md5)
    }
}

/// What a slot holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SlotState {
    /// All zeros.
    Free,
    /// A secret and its owner.
    Owned(SlotOwner),
    /// Neither: bytes that fail their CRC (a torn or damaged slot). Never reused, never erased.
    Damaged,
}

fn encode_slot(secret: &[u8; 32], owner: &SlotOwner) -> Zeroizing<[u8; SLOT_BYTES]> {
    let mut b = Zeroizing::new([0u8; SLOT_BYTES]);
    b[..32].copy_from_slice(secret);
    b[32..40].copy_from_slice(&owner.bucket.to_le_bytes());
    b[40..56].copy_from_slice(&owner.version);
    b[56..72].copy_from_slice(&owner.key_md5);
    b[76..80].copy_from_slice(&owner.tag.to_le_bytes());
    let crc = crc32fast::hash(&[&b[..72], &b[76..80]].concat());
    b[72..76].copy_from_slice(&crc.to_le_bytes());
    b
}

fn decode_slot(b: &[u8]) -> (SlotState, Zeroizing<[u8; 32]>) {
    let mut secret = Zeroizing::new([0u8; 32]);
    if b.iter().all(|&x| x == 0) {
        return (SlotState::Free, secret);
    }
    let crc = u32::from_le_bytes(b[72..76].try_into().expect("4 bytes"));
    if crc != crc32fast::hash(&[&b[..72], &b[76..80]].concat()) {
        return (SlotState::Damaged, secret);
    }
    secret.copy_from_slice(&b[..32]);
    let mut version = [0u8; 16];
    version.copy_from_slice(&b[40..56]);
    let mut key_md5 = [0u8; 16];
    key_md5.copy_from_slice(&b[56..72]);
    let bucket = u64::from_le_bytes(b[32..40].try_into().expect("8 bytes"));
    let tag = u32::from_le_bytes(b[76..80].try_into().expect("4 bytes"));
    (SlotState::Owned(SlotOwner { bucket, version, key_md5, tag }), secret)
}

#[derive(Debug, Default)]
struct Allocation {
    /// Free slots below `next`.
    free: Vec<u32>,
    /// Slots at or past this one have never been used.
    next: u32,
    /// Slots below this one are zero-filled on disk.
    zeroed: u64,
}

/// Writes counted and synced, so that concurrent syncs are shared: a caller whose write an
/// earlier sync already covered returns at once.
#[derive(Debug, Default)]
struct Syncs {
    written: u64,
    synced: u64,
}

/// The store's slot file.
#[derive(Debug)]
pub(crate) struct KeySlots {
    file: Arc<dyn StorageFile>,
    pub(crate) path: PathBuf,
    alloc: Mutex<Allocation>,
    writes: Mutex<Syncs>,
    /// Held across a sync; `writes` is taken inside it, never the other way round.
    sync_lock: Mutex<()>,
}

impl KeySlots {
    /// Opens the slot file (creating it when `create`); `None` when it does not exist and
    /// `create` is false.
    pub(crate) fn open(
        storage: &dyn Storage,
        root: &std::path::Path,
        create: bool,
    ) -> std::io::Result<Option<KeySlots>> {
        let path = root.join(KEY_SLOTS_FILE);
        let existed = storage.exists(&path)?;
        if !existed && !create {
            return Ok(None);
        }
        let file = storage.open(&path, if existed { OpenMode::ReadWrite } else { OpenMode::CreateNew })?;
        if !existed {
            file.sync_all()?;
            storage.sync_dir(root)?;
        }
        let len = file.len()?;
        let slots = KeySlots {
            file,
            path,
            alloc: Mutex::new(Allocation { free: Vec::new(), next: 0, zeroed: len }),
            writes: Mutex::default(),
            sync_lock: Mutex::new(()),
        };
        Ok(Some(slots))
    }

    /// Every slot in the file with what it holds; sets the allocation from them (free slots are
    /// reused, damaged ones never).
    pub(crate) fn load(&self) -> std::io::Result<Vec<(u32, SlotState)>> {
        let bytes = super::io::read_all(&*self.file)?;
        let mut out = Vec::with_capacity(bytes.len() / SLOT_BYTES);
        let mut alloc = self.alloc.lock();
        alloc.free.clear();
        let mut last_used = 0u32;
        for (i, b) in bytes.chunks_exact(SLOT_BYTES).enumerate() {
            let slot = u32::try_from(i).map_err(|_| std::io::Error::other("key slot file too long"))?;
            let (state, _secret) = decode_slot(b);
            if state != SlotState::Free {
                last_used = slot + 1;
            }
            out.push((slot, state));
        }
        alloc.next = last_used;
        alloc.free =
            out.iter().filter(|(s, st)| *st == SlotState::Free && *s < last_used).map(|(s, _)| *s).collect();
        // Reused lowest first.
        alloc.free.sort_unstable_by(|a, b| b.cmp(a));
        Ok(out)
    }

    /// Takes a slot for `key`'s version `version` in `bucket` under a fresh random tag, writes a
    /// fresh random secret into it and syncs it: when this returns, the slot survives any crash.
    /// Returns the slot, its owner and the secret.
    pub(crate) fn allocate(
        &self,
        bucket: u64,
        key: &[u8],
        version: [u8; 16],
    ) -> std::io::Result<(u32, SlotOwner, Zeroizing<[u8; 32]>)> {
        let mut secret = Zeroizing::new([0u8; 32]);
        rand::fill(&mut secret[..]);
        self.allocate_holding(bucket, key, version, secret)
    }

    /// As `allocate`, with `secret` (an upload's, handed to the object its completion makes: the
    /// object's envelope wraps the same `dek ⊕ secret` half as the upload's start record, so that
    /// the completion needs no key to re-wrap, and the secret outlives the upload's slot).
    pub(crate) fn allocate_holding(
        &self,
        bucket: u64,
        key: &[u8],
        version: [u8; 16],
        secret: Zeroizing<[u8; 32]>,
    ) -> std::io::Result<(u32, SlotOwner, Zeroizing<[u8; 32]>)> {
        let owner = SlotOwner::new(bucket, key, version, rand::random());
        let slot = {
            let mut a = self.alloc.lock();
            let slot = match a.free.pop() {
                Some(s) => s,
                None => {
                    let s = a.next;
                    a.next =
                        a.next.checked_add(1).ok_or_else(|| std::io::Error::other("key slots exhausted"))?;
                    s
                }
            };
            let end = (u64::from(slot) + 1) * SLOT_BYTES as u64;
            if end > a.zeroed {
                // Under the lock: a slot written past `zeroed` by another caller must not be
                // overwritten by these zeros.
                let to = end + ZERO_AHEAD_SLOTS * SLOT_BYTES as u64;
                self.file.write_all_at(&vec![0u8; (to - a.zeroed) as usize], a.zeroed)?;
                a.zeroed = to;
            }
            slot
        };
        self.write(slot, &encode_slot(&secret, &owner)[..])?;
        self.sync()?;
        Ok((slot, owner, secret))
    }

    /// The secret of `slot`, if the slot is `owner`'s; otherwise what it holds instead.
    pub(crate) fn read(
        &self,
        slot: u32,
        owner: &SlotOwner,
    ) -> std::io::Result<Result<Zeroizing<[u8; 32]>, SlotState>> {
        let mut b = Zeroizing::new([0u8; SLOT_BYTES]);
        let at = u64::from(slot) * SLOT_BYTES as u64;
        if at + SLOT_BYTES as u64 > self.file.len()? {
            return Ok(Err(SlotState::Free));
        }
        self.file.read_exact_at(&mut b[..], at)?;
        Ok(match decode_slot(&b[..]) {
            (SlotState::Owned(o), secret) if o == *owner => Ok(secret),
            (state, _) => Err(state),
        })
    }

    /// Overwrites `slot` with zeros if it is `owner`'s, and frees it; returns whether it did. Not
    /// synced: the caller syncs once for all it erases.
    pub(crate) fn erase(&self, slot: u32, owner: &SlotOwner) -> std::io::Result<bool> {
        match self.read(slot, owner)? {
            Ok(_secret) => {
                self.write(slot, &[0u8; SLOT_BYTES])?;
                self.alloc.lock().free.push(slot);
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    }

    /// Erases a slot found orphaned by an open (its owner is not in the index).
    pub(crate) fn erase_orphan(&self, slot: u32) -> std::io::Result<()> {
        self.write(slot, &[0u8; SLOT_BYTES])?;
        self.alloc.lock().free.push(slot);
        Ok(())
    }

    fn write(&self, slot: u32, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all_at(bytes, u64::from(slot) * SLOT_BYTES as u64)?;
        self.writes.lock().written += 1;
        Ok(())
    }

    /// Makes every write so far durable; one `fdatasync` serves every caller waiting for it.
    pub(crate) fn sync(&self) -> std::io::Result<()> {
        let mine = self.writes.lock().written;
        let _one = self.sync_lock.lock();
        let target = {
            let w = self.writes.lock();
            if w.synced >= mine {
                return Ok(());
            }
            w.written
        };
        self.file.sync_data()?;
        self.writes.lock().synced = target;
        Ok(())
    }
}

/// Opens the store's key slots after recovery (creating the file when `create`, i.e. the store
/// crypto-shreds and has none yet), erases the orphans (slots no indexed version owns) unless the
/// open found damage, and hands them to the context.
///
/// # Errors
/// `Io` when the file cannot be opened, read, written or synced.
pub(crate) fn open_key_slots(
    opened: &mut crate::engine::recovery::Opened,
    create: bool,
) -> crate::Result<()> {
    let ctx = opened.ctx.clone();
    let path = ctx.root.join(KEY_SLOTS_FILE);
    let io = |op: &'static str| {
        let path = path.clone();
        move |e| crate::Error::io(op, path, e)
    };
    let Some(slots) = KeySlots::open(&*ctx.storage, &ctx.root, create).map_err(io("open key slots"))? else {
        return Ok(());
    };
    let loaded = slots.load().map_err(io("read key slots"))?;
    let r = &mut opened.report;
    let damaged: Vec<u32> =
        loaded.iter().filter(|(_, s)| *s == SlotState::Damaged).map(|(i, _)| *i).collect();
    r.key_slots_damaged = damaged.len() as u64;
    let whole = r.damaged.is_empty() && r.quarantined.is_empty() && r.manifest_damaged.is_empty();
    if !whole {
        r.key_slots_sweep_skipped = true;
    } else if loaded.iter().any(|(_, s)| *s != SlotState::Free) {
        // Each live chunked version and upload in progress, by what a slot's owner names of it,
        // and where its commit (or start) record is.
        let mut live = std::collections::HashMap::new();
        for part in &opened.partitions {
            let ix = part.index.read();
            for (k, e, _) in ix.entries() {
                if e.kind == crate::engine::partition::index::EntryKind::Chunked {
                    let owner = SlotOwner::new(k.bucket, &k.key, e.version_id.0, 0).version_key();
                    live.insert(owner, (part.clone(), e.segment_id, e.offset(), e.record_len()));
                }
            }
            // An upload in progress owns a slot under its upload id (drawn from the same counter
            // as version ids) until its end is durable; its start record names it.
            for ((bucket, key, upload), u) in ix.uploads().iter() {
                let owner = SlotOwner::new(*bucket, key, *upload, 0).version_key();
                live.insert(owner, (part.clone(), u.at.segment_id, u.at.offset, u.at.len));
            }
        }
        let mut by_version: std::collections::HashMap<_, Vec<(u32, SlotOwner)>> =
            std::collections::HashMap::new();
        for (slot, state) in &loaded {
            if let SlotState::Owned(owner) = state {
                by_version.entry(owner.version_key()).or_default().push((*slot, *owner));
            }
        }
        // Whatever slot a live version's commit record names (with its tag) is kept; every other
        // slot of that version, or of one not in the index, is an orphan: a put that never
        // committed, or a replaced `null` version whose erase a crash cut short (also when the
        // live version names no slot: a put without crypto-shred), or an ended upload's whose
        // erase a crash cut short.
        let mut named = std::collections::HashSet::new();
        for (version, owned) in by_version {
            let keep = match live.get(&version) {
                None => None,
                Some((part, segment_id, offset, len)) => {
                    match commit_key_slot(part, *segment_id, *offset, *len) {
                        Ok(names) => names,
                        // Unreadable: erase nothing of this version's.
                        Err(()) => continue,
                    }
                }
            };
            for (slot, owner) in owned {
                if keep == Some((slot, owner.tag)) {
                    named.insert(slot);
                    continue;
                }
                slots.erase_orphan(slot).map_err(io("erase key slot"))?;
                r.key_slots_erased += 1;
            }
        }
        // A slot that fails its CRC is most likely a put's that a power loss tore before it was
        // synced (so before its commit was written): erased unless a live version names it (then
        // it is damage, kept and reported; that version reads as `Corruption`). Finding out reads
        // every live version's commit record, which only such an open pays for.
        if !damaged.is_empty() {
            let mut named_any = std::collections::HashSet::new();
            for (part, segment_id, offset, len) in live.values() {
                match commit_key_slot(part, *segment_id, *offset, *len) {
                    Ok(Some((slot, _))) => {
                        named_any.insert(slot);
                    }
                    Ok(None) => {}
                    // An unreadable commit record might name any of them: erase none.
                    Err(()) => named_any.extend(damaged.iter().copied()),
                }
            }
            for &slot in damaged.iter().filter(|s| !named_any.contains(s)) {
                slots.erase_orphan(slot).map_err(io("erase key slot"))?;
                r.key_slots_erased += 1;
                r.key_slots_damaged -= 1;
            }
        }
        if r.key_slots_erased > 0 {
            slots.sync().map_err(io("sync key slots"))?;
        }
    }
    let _ = ctx.key_slots.set(Arc::new(slots));
    Ok(())
}

/// The key slot and tag the commit record at (`segment_id`, `offset`) of `part` names (`None`:
/// none); `Err` when the record cannot be read.
fn commit_key_slot(
    part: &crate::engine::partition::Partition,
    segment_id: u64,
    offset: u64,
    len: u64,
) -> Result<Option<(u32, u32)>, ()> {
    let bytes = part.segment(segment_id).ok_or(())?.read_bytes(offset, len).map_err(|_| ())?;
    let view = crate::engine::format::record::decode_record(bytes.bytes()).map_err(|_| ())?;
    Ok(crate::engine::format::meta::ObjectMeta::decode(view.meta).map_err(|_| ())?.key_slot)
}

/// `wrapped ⊕ secret`: the data key from the envelope's half and the slot's.
pub(crate) fn combine(half: &[u8; 32], secret: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    for (o, (a, b)) in out.iter_mut().zip(half.iter().zip(secret)) {
        *o = a ^ b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::io::SimStorage;

    #[test]
    fn slots_round_trip_erase_and_reuse() {
        let sim = SimStorage::new();
        sim.create_dir_all(std::path::Path::new("/s")).unwrap();
        let slots = KeySlots::open(&sim, std::path::Path::new("/s"), true).unwrap().unwrap();
        let (sa, a, secret_a) = slots.allocate(1, b"a", [1; 16]).unwrap();
        let (sb, b, _) = slots.allocate(1, b"b", [1; 16]).unwrap();
        assert_ne!(sa, sb);
        assert_eq!(*slots.read(sa, &a).unwrap().unwrap(), *secret_a);
        assert_eq!(slots.read(sa, &b).unwrap().unwrap_err(), SlotState::Owned(a), "another owner's slot");
        assert!(!slots.erase(sa, &b).unwrap(), "only the owner's slot is erased");
        assert!(slots.erase(sa, &a).unwrap());
        assert_eq!(slots.read(sa, &a).unwrap().unwrap_err(), SlotState::Free);
        // Taken again by another write of the same version: a new tag, so not the first one's.
        let (again, a2, _) = slots.allocate(1, b"a", [1; 16]).unwrap();
        assert_eq!(again, sa, "an erased slot is reused");
        assert_eq!(a2.version_key(), a.version_key());
        assert_ne!(a2.tag, a.tag);
        assert!(
            slots.read(sa, &a).unwrap().is_err(),
            "the first write's reader does not get the second's secret"
        );
        // After a power loss every allocated slot is there: allocate syncs.
        drop(slots);
        sim.crash(crate::engine::io::CrashMode::DropUnsynced);
        let slots = KeySlots::open(&sim, std::path::Path::new("/s"), false).unwrap().unwrap();
        let loaded = slots.load().unwrap();
        let owned: Vec<u32> =
            loaded.iter().filter(|(_, s)| matches!(s, SlotState::Owned(_))).map(|(i, _)| *i).collect();
        assert_eq!(owned, vec![sa.min(sb), sa.max(sb)]);
    }

    #[test]
    fn a_slot_that_fails_its_crc_is_damaged_and_never_reused() {
        let mut b = encode_slot(&[7; 32], &SlotOwner::new(2, b"k", [3; 16], 9));
        b[5] ^= 1;
        assert_eq!(decode_slot(&b[..]).0, SlotState::Damaged);
        assert_eq!(decode_slot(&[0u8; SLOT_BYTES]).0, SlotState::Free);
    }
}
