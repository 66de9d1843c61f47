//! Opening a store: lock, manifest replay, orphan cleanup, segment scan and index rebuild, torn-tail
//! cut, manifest rewrite. The argument for why this is correct is in DESIGN.md ("Recovery").
//! Rebuilding one partition from its segments (and a checkpoint) is `partition.rs`.

mod partition;

use self::partition::{apply_records, recover_partition};

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::checkpoint;
use super::orphans::{Orphans, settle_orphans};
use crate::engine::catalog::{Catalog, CatalogEdit};
use crate::engine::context::{Context, ManifestLog, Params, partition_dir};
use crate::engine::format::manifest::{
    MANIFEST_FORMAT_VERSION, ManifestEdit, PREFIX_LEN_WHOLE_KEY, decode_log, decode_log_salvage, encode_frame,
};
use crate::engine::io::{OpenMode, Storage, StorageFile, StorageLock, read_all};
use crate::engine::partition::{Partition, now_ms};
use crate::engine::segment::scan::ScannedRecord;
use crate::error::{CorruptionSite, Error, Result};
use crate::types::{RecoveryMode, StorageClass};

/// What `open` found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The mode the store was opened in.
    pub mode: RecoveryMode,
    /// True when `open` created a new store.
    pub created: bool,
    /// Segments scanned.
    pub segments_scanned: u64,
    /// Records replayed into the index.
    pub records_replayed: u64,
    /// Unacknowledged tails cut from active segments.
    pub torn_tails: Vec<TornTail>,
    /// Damage skipped in `Salvage` mode.
    pub damaged: Vec<DamagedRange>,
    /// Files removed: debris of atomic writes (`*.tmp`), manifests CURRENT no longer names, segment
    /// files holding no byte of data (a creation that crashed first), and segments an intact
    /// manifest records as deleted. Never a segment with data the manifest may still need.
    pub orphans_removed: Vec<PathBuf>,
    /// Segment files with a valid header for this store that no manifest edit named (the edit that
    /// created them was the manifest's torn last frame): taken back into the store, not deleted.
    pub segments_adopted: Vec<PathBuf>,
    /// Files moved aside into `<root>/quarantine/` by `Salvage` (a segment whose header is damaged or
    /// belongs elsewhere): kept for inspection, never deleted, no longer part of the store.
    pub quarantined: Vec<PathBuf>,
    /// Byte ranges of damaged manifest frames that `Salvage` skipped.
    pub manifest_damaged: Vec<(u64, u64)>,
    /// Bytes cut from the manifest's torn tail.
    pub manifest_tail_bytes: u64,
    /// Sealed segments taken from a checkpoint without a scan (their records are in it).
    pub segments_loaded: u64,
    /// The checkpoint each partition started from (partitions with none are in
    /// `partitions_fully_scanned`).
    pub checkpoints_used: Vec<CheckpointUsed>,
    /// Checkpoints passed over, newest first, and why (damaged, or the log they cover changed).
    pub checkpoints_rejected: Vec<CheckpointRejected>,
    /// Partitions whose index was rebuilt by scanning every segment: no checkpoint, none valid, or
    /// a `Salvage` open (which always scans everything).
    pub partitions_fully_scanned: Vec<u16>,
    /// Crypto-shred key slots erased because no indexed version owns them (a put that never
    /// committed, or a removal whose erase a crash cut short).
    pub key_slots_erased: u64,
    /// Key slots that fail their CRC: left as they are, never reused (a version that needs one
    /// reads as `Corruption`).
    pub key_slots_damaged: u64,
    /// The orphan sweep of the key slots was skipped because the open found damage (a version in
    /// a damaged segment is not in the index, and its slot must not be erased).
    pub key_slots_sweep_skipped: bool,
}

/// A checkpoint an open started from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointUsed {
    /// Partition.
    pub partition: u16,
    /// The checkpoint's number (`p<pppp>/CHECKPOINT-<n>`).
    pub number: u64,
    /// Index entries it held.
    pub entries: u64,
    /// Records of the log after it that were replayed on top of it.
    pub records_after: u64,
}

/// A checkpoint an open did not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRejected {
    /// Partition.
    pub partition: u16,
    /// The file.
    pub path: PathBuf,
    /// Why (a failed check of the decoder, or how it disagrees with the manifest).
    pub reason: String,
}

/// A cut torn tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// Partition.
    pub partition: u16,
    /// Segment.
    pub segment_id: u64,
    /// Offset the segment was cut at.
    pub offset: u64,
    /// Bytes cut.
    pub len: u64,
}

/// A damaged range skipped by `Salvage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedRange {
    /// Partition.
    pub partition: u16,
    /// Segment (`None` when the whole segment file is missing).
    pub segment_id: u64,
    /// First damaged byte.
    pub start: u64,
    /// End of the damage (exclusive).
    pub end: u64,
    /// Which check failed.
    pub reason: String,
}

/// Everything the builder decides.
#[derive(Debug, Clone)]
pub(crate) struct OpenConfig {
    pub(crate) params: Params,
    pub(crate) clock: Arc<dyn crate::clock::Clock>,
    pub(crate) recovery: RecoveryMode,
    pub(crate) region: String,
    pub(crate) ids: Arc<crate::engine::ids::IdSource>,
    /// The partition count and prefix length the builder set explicitly, if it did.
    pub(crate) asked_layout: (Option<u32>, Option<u32>),
}

/// An opened store's parts.
pub(crate) struct Opened {
    pub(crate) ctx: Arc<Context>,
    pub(crate) partitions: Vec<Arc<Partition>>,
    pub(crate) catalog: Catalog,
    pub(crate) report: RecoveryReport,
    pub(crate) region: String,
    pub(crate) lock: Box<dyn StorageLock>,
}

#[derive(Debug, Clone)]
pub(crate) struct SegInfo {
    pub(super) partition: u16,
    pub(super) class: StorageClass,
    pub(super) generation: u64,
    pub(super) sealed_len: Option<u64>,
}

struct Replayed {
    partition_records: Vec<(StorageClass, u64, ScannedRecord)>,
}

const CURRENT: &str = "CURRENT";

pub(crate) fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |e| Error::io(op, path, e)
}

pub(super) fn manifest_name(n: u64) -> String {
    format!("MANIFEST-{n:06}")
}

pub(super) fn store_corruption(offset: u64, reason: impl Into<String>) -> Error {
    Error::corruption(CorruptionSite { partition: None, segment_id: None, offset }, reason)
}

/// Writes `name` atomically: temp file, fsync, rename, fsync of the directory.
pub(crate) fn write_atomic(storage: &dyn Storage, dir: &Path, name: &str, data: &[u8]) -> Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let dst = dir.join(name);
    if storage.exists(&tmp).map_err(io_err("stat", &tmp))? {
        storage.remove_file(&tmp).map_err(io_err("remove", &tmp))?;
    }
    let f = storage.open(&tmp, OpenMode::CreateNew).map_err(io_err("create", &tmp))?;
    f.write_all_at(data, 0).map_err(io_err("write", &tmp))?;
    f.sync_all().map_err(io_err("fsync", &tmp))?;
    storage.rename(&tmp, &dst).map_err(io_err("rename", &dst))?;
    storage.sync_dir(dir).map_err(io_err("directory fsync", dir))
}

/// Writes a fresh manifest holding `edits`, points CURRENT at it, removes the old one.
fn write_manifest(
    storage: &dyn Storage,
    root: &Path,
    number: u64,
    edits: &[ManifestEdit],
    old: Option<&Path>,
) -> Result<ManifestLog> {
    let path = root.join(manifest_name(number));
    if storage.exists(&path).map_err(io_err("stat", &path))? {
        storage.remove_file(&path).map_err(io_err("remove", &path))?;
    }
    let file = storage.open(&path, OpenMode::CreateNew).map_err(io_err("create", &path))?;
    let bytes: Vec<u8> = edits.iter().flat_map(encode_frame).collect();
    file.write_all_at(&bytes, 0).map_err(io_err("write", &path))?;
    file.sync_all().map_err(io_err("fsync", &path))?;
    storage.sync_dir(root).map_err(io_err("directory fsync", root))?;
    write_atomic(storage, root, CURRENT, format!("{}\n", manifest_name(number)).as_bytes())?;
    if let Some(old) = old {
        storage.remove_file(old).map_err(io_err("remove", old))?;
        storage.sync_dir(root).map_err(io_err("directory fsync", root))?;
    }
    Ok(ManifestLog { file, path, tail: bytes.len() as u64 })
}

fn params_edit(cfg: &OpenConfig, uuid: [u8; 16]) -> ManifestEdit {
    ManifestEdit::StoreParams {
        format_version: MANIFEST_FORMAT_VERSION,
        store_uuid: uuid,
        partitions: cfg.params.partitions,
        prefix_len: cfg.params.prefix_len,
        region: cfg.region.clone(),
        created_ms: now_ms(),
    }
}

/// Opens (or creates) the store at `root`.
pub(crate) fn open(storage: Arc<dyn Storage>, root: PathBuf, mut cfg: OpenConfig) -> Result<Opened> {
    storage.create_dir_all(&root).map_err(io_err("mkdir", &root))?;
    let lock_path = root.join("LOCK");
    let lock = storage.lock(&lock_path).map_err(|e| {
        if e.kind() == ErrorKind::WouldBlock {
            Error::Locked { path: root.clone() }
        } else {
            Error::io("lock", &lock_path, e)
        }
    })?;
    let mut report = RecoveryReport { mode: cfg.recovery, ..RecoveryReport::default() };
    let current = root.join(CURRENT);
    let (number, edits, damaged) = if storage.exists(&current).map_err(io_err("stat", &current))? {
        read_manifest(&*storage, &root, cfg.recovery, &mut report)?
    } else {
        let (number, edits) = create_store(&*storage, &root, &cfg, &mut report)?;
        (number, edits, false)
    };
    // Every snapshot holds the store parameters first and again last; salvage can use the copy.
    let params = match (edits.first(), cfg.recovery) {
        (Some(first @ ManifestEdit::StoreParams { .. }), _) => Some(first.clone()),
        (_, RecoveryMode::Salvage) => {
            edits.iter().find(|e| matches!(e, ManifestEdit::StoreParams { .. })).cloned()
        }
        _ => None,
    };
    let Some(params) = params else {
        return Err(store_corruption(0, "manifest does not start with the store parameters"));
    };
    let ManifestEdit::StoreParams { format_version, store_uuid, partitions, prefix_len, ref region, .. } =
        params
    else {
        unreachable!("only StoreParams edits are picked above");
    };
    let region = region.clone();
    if format_version != MANIFEST_FORMAT_VERSION {
        return Err(store_corruption(0, format!("unsupported manifest format version {format_version}")));
    }
    if !partitions.is_power_of_two() || partitions > crate::limits::PARTITIONS_MAX {
        return Err(store_corruption(0, format!("bad partition count {partitions}")));
    }
    check_layout(&root, cfg.asked_layout, partitions, prefix_len)?;
    cfg.params.partitions = partitions;
    cfg.params.prefix_len = prefix_len;
    cfg.region = region;
    let mut segments: BTreeMap<u64, SegInfo> = BTreeMap::new();
    let mut deleted: Vec<u64> = Vec::new();
    // Where rewrites deleted segments: their unlinks are made durable before the snapshot that
    // forgets the deleted ids (a process killed after an unlink, before its directory sync, leaves
    // a file that a power loss could bring back, unlisted, to be adopted).
    let mut rewritten_dirs: Vec<(u16, StorageClass)> = Vec::new();
    // The last rewrite begun per partition and class, with its inputs.
    let mut begun: Vec<(u16, StorageClass, Vec<u64>)> = Vec::new();
    let mut max_segment_id = 0u64;
    for edit in &edits {
        match *edit {
            ManifestEdit::SegmentCreated { partition, class, segment_id, generation } => {
                let class = StorageClass::from_code(class)
                    .ok_or_else(|| store_corruption(0, format!("unknown storage class {class}")))?;
                max_segment_id = max_segment_id.max(segment_id);
                segments.insert(segment_id, SegInfo { partition, class, generation, sealed_len: None });
            }
            ManifestEdit::SegmentSealed { segment_id, len } => {
                if let Some(s) = segments.get_mut(&segment_id) {
                    s.sealed_len = Some(len);
                }
            }
            ManifestEdit::SegmentDeleted { segment_id } => {
                segments.remove(&segment_id);
                deleted.push(segment_id);
            }
            ManifestEdit::SegmentIdsUsed { upto } => max_segment_id = max_segment_id.max(upto),
            ManifestEdit::RewriteBegun { partition, class, ref inputs } => {
                let class = StorageClass::from_code(class)
                    .ok_or_else(|| store_corruption(0, format!("unknown storage class {class}")))?;
                begun.retain(|(p, c, _)| (*p, *c) != (partition, class));
                begun.push((partition, class, inputs.clone()));
            }
            ManifestEdit::SegmentsRewritten { partition, class, ref outputs, ref inputs } => {
                let class = StorageClass::from_code(class)
                    .ok_or_else(|| store_corruption(0, format!("unknown storage class {class}")))?;
                for &(segment_id, generation, len) in outputs {
                    max_segment_id = max_segment_id.max(segment_id);
                    let info = SegInfo { partition, class, generation, sealed_len: Some(len) };
                    segments.insert(segment_id, info);
                }
                for id in inputs {
                    segments.remove(id);
                    deleted.push(*id);
                }
                if !rewritten_dirs.contains(&(partition, class)) {
                    rewritten_dirs.push((partition, class));
                }
            }
            ManifestEdit::StoreParams { .. } if *edit == params => {}
            ManifestEdit::StoreParams { .. } => {
                return Err(store_corruption(0, "store parameters differ between manifest frames"));
            }
        }
    }
    let old_manifest = root.join(manifest_name(number));
    let old_log = storage.open(&old_manifest, OpenMode::ReadWrite).map_err(io_err("open", &old_manifest))?;
    let ctx = Arc::new(Context {
        storage: storage.clone(),
        root: root.clone(),
        store_uuid,
        params: cfg.params.clone(),
        next_seq: AtomicU64::new(1),
        next_segment_id: AtomicU64::new(max_segment_id + 1),
        poisoned: AtomicBool::new(false),
        manifest: Mutex::new(ManifestLog { file: old_log, path: old_manifest.clone(), tail: 0 }),
        clock: cfg.clock.clone(),
        ids: cfg.ids.clone(),
        key_slots: std::sync::OnceLock::new(),
    });
    let orphans = Orphans { deleted: &deleted, damaged, mode: cfg.recovery, begun: &begun };
    let max_file_id = settle_orphans(&ctx, &mut segments, number, &orphans, &mut report)?;
    let max_segment_id = segments.keys().copied().fold(max_segment_id.max(max_file_id), u64::max);
    ctx.next_segment_id.store(max_segment_id + 1, Ordering::Relaxed);
    let partitions: Vec<Arc<Partition>> =
        (0..partitions).map(|p| Arc::new(Partition::new(p as u16, ctx.clone()))).collect();
    let mut catalog_records = Vec::new();
    let mut max_seq = 0u64;
    for part in &partitions {
        let segs: Vec<(u64, SegInfo)> =
            segments.iter().filter(|(_, s)| s.partition == part.id).map(|(id, s)| (*id, s.clone())).collect();
        let selected = checkpoint::select(&ctx, part.id, &segs, cfg.recovery, &mut report)?;
        let ckpt = selected.checkpoint;
        let replayed =
            recover_partition(&ctx, part, &segs, ckpt.as_ref(), cfg.recovery, &mut report, &mut segments)?;
        part.checkpoints.lock().newest = selected.newest;
        max_seq = max_seq.max(apply_records(
            part,
            replayed,
            ckpt,
            &mut catalog_records,
            &mut report,
            cfg.recovery,
        )?);
    }
    catalog_records.sort_by_key(|(seq, _)| *seq);
    let mut catalog = Catalog::default();
    for (seq, body) in &catalog_records {
        let edit: CatalogEdit = postcard::from_bytes(body)
            .map_err(|_| store_corruption(0, format!("undecodable catalog edit at seq {seq}")))?;
        catalog.apply(&edit);
    }
    ctx.next_seq.store(max_seq + 1, Ordering::Relaxed);
    // The session is the manifest this open writes: one more at every open that gets this far.
    ctx.ids.rekey(number + 1, max_seq + 1);
    let mut snapshot = vec![params.clone()];
    for (&id, s) in &segments {
        snapshot.push(ManifestEdit::SegmentCreated {
            partition: s.partition,
            class: s.class.code(),
            segment_id: id,
            generation: s.generation,
        });
        if let Some(len) = s.sealed_len {
            snapshot.push(ManifestEdit::SegmentSealed { segment_id: id, len });
        }
    }
    snapshot.push(ManifestEdit::SegmentIdsUsed { upto: max_segment_id });
    snapshot.push(params);
    for &(partition, class) in &rewritten_dirs {
        let dir = ctx.class_dir(partition, class);
        if storage.exists(&dir).map_err(io_err("stat", &dir))? {
            storage.sync_dir(&dir).map_err(io_err("directory fsync", &dir))?;
        }
    }
    let log = write_manifest(&*storage, &root, number + 1, &snapshot, Some(&old_manifest))?;
    *ctx.manifest.lock() = log;
    Ok(Opened { ctx, partitions, catalog, report, region: cfg.region, lock })
}

/// The live manifest's number and edits, and whether it is damaged (a bad frame that valid frames
/// follow: then an edit may be missing, and no segment file may be deleted on its word). A torn tail
/// is not damage: every frame before it was synced before the engine acted on it, and the torn one
/// was never acknowledged.
fn read_manifest(
    storage: &dyn Storage,
    root: &Path,
    mode: RecoveryMode,
    report: &mut RecoveryReport,
) -> Result<(u64, Vec<ManifestEdit>, bool)> {
    let current = root.join(CURRENT);
    let f = storage.open(&current, OpenMode::ReadOnly).map_err(io_err("open", &current))?;
    let text = read_all(&*f).map_err(io_err("read", &current))?;
    let name = std::str::from_utf8(&text).unwrap_or("").trim_end_matches('\n');
    let number = name
        .strip_prefix("MANIFEST-")
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| store_corruption(0, format!("CURRENT names no manifest: {name:?}")))?;
    let path = root.join(name);
    let f = storage.open(&path, OpenMode::ReadWrite).map_err(io_err("open", &path))?;
    let bytes = read_all(&*f).map_err(io_err("read", &path))?;
    let log = decode_log(&bytes);
    if let Some(d) = &log.damage {
        if mode == RecoveryMode::Strict {
            return Err(store_corruption(
                d.offset,
                format!(
                    "manifest {name} frame {} is damaged ({}) and valid frames follow it (from offset {}): \
                     the store's structure is in doubt, so nothing is opened or removed \
                     (RecoveryMode::Salvage opens what can be read and deletes nothing)",
                    d.frame, d.error, d.resumes_at
                ),
            ));
        }
        let (edits, skipped) = decode_log_salvage(&bytes);
        report.manifest_damaged = skipped;
        make_durable(&*f, &path, &bytes)?;
        return Ok((number, edits, true));
    }
    report.manifest_tail_bytes = bytes.len() as u64 - log.valid_len;
    make_durable(&*f, &path, &bytes[..log.valid_len as usize])?;
    Ok((number, log.edits, false))
}

/// Makes the manifest bytes recovery is about to act on durable. After a process kill the page
/// cache may hold frames whose sync never returned (a rewrite's commit edit, say); removing the
/// inputs it names, and then losing the edit to a power loss, would lose the data. Written again
/// before the sync, since a sync that failed in the killed process may have left those pages clean
/// but unwritten (see `settle_active_tail`).
fn make_durable(f: &dyn StorageFile, path: &Path, bytes: &[u8]) -> Result<()> {
    f.write_all_at(bytes, 0).map_err(io_err("rewrite manifest", path))?;
    f.sync_data().map_err(io_err("fdatasync", path))
}

/// Refuses a builder's explicit partition count or prefix length that differs from the store's: the
/// layout is fixed at creation (records stay in the partition their key routes to), and a silently
/// ignored option would leave an experiment measuring a layout it did not ask for.
fn check_layout(
    root: &Path,
    asked: (Option<u32>, Option<u32>),
    partitions: u32,
    prefix_len: u32,
) -> Result<()> {
    let shown =
        |p: u32| if p == PREFIX_LEN_WHOLE_KEY { "the whole key".to_owned() } else { format!("{p} bytes") };
    if let Some(n) = asked.0.filter(|&n| n != partitions) {
        return Err(Error::InvalidArgument {
            name: "partitions",
            value: n.to_string(),
            reason: format!(
                "the store at {} has {partitions} partitions, fixed at creation (open it without .partitions(), or with .partitions({partitions}))",
                root.display()
            ),
        });
    }
    if let Some(p) = asked.1.filter(|&p| p != prefix_len) {
        return Err(Error::InvalidArgument {
            name: "prefix_len",
            value: p.to_string(),
            reason: format!(
                "the store at {} routes by {}, fixed at creation (open it without .prefix_len())",
                root.display(),
                shown(prefix_len)
            ),
        });
    }
    Ok(())
}

fn create_store(
    storage: &dyn Storage,
    root: &Path,
    cfg: &OpenConfig,
    report: &mut RecoveryReport,
) -> Result<(u64, Vec<ManifestEdit>)> {
    report.created = true;
    for name in storage.list_dir(root).map_err(io_err("list", root))? {
        if name.starts_with("MANIFEST-") {
            // Debris of a creation that crashed before CURRENT existed.
            let p = root.join(&name);
            storage.remove_file(&p).map_err(io_err("remove", &p))?;
        }
    }
    let mut uuid = [0u8; 16];
    cfg.ids.fill(&mut uuid);
    let edits = vec![params_edit(cfg, uuid)];
    for p in 0..cfg.params.partitions {
        let dir = partition_dir(root, p as u16);
        storage.create_dir_all(&dir.join(StorageClass::Standard.as_str())).map_err(io_err("mkdir", &dir))?;
        storage.sync_dir(&dir).map_err(io_err("directory fsync", &dir))?;
    }
    write_manifest(storage, root, 1, &edits, None)?;
    Ok((1, edits))
}
