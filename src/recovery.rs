//! Opening a store: lock, manifest replay, orphan cleanup, segment scan and index rebuild, torn-tail
//! cut, manifest rewrite. The argument for why this is correct is in DESIGN.md ("Recovery").

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;
use rand::RngCore;

use crate::catalog::{Catalog, CatalogEdit};
use crate::context::{Context, ManifestLog, Params, partition_dir, segment_file_name};
use crate::error::{CorruptionSite, Error, Result};
use crate::format::manifest::{MANIFEST_FORMAT_VERSION, ManifestEdit, decode_log, encode_frame};
use crate::format::meta::ObjectMeta;
use crate::format::record::RecordKind;
use crate::format::segment_header::SegmentHeader;
use crate::io::{OpenMode, Storage, StorageFile, StorageLock, read_all};
use crate::partition::index::{EntryKind, IndexEntry};
use crate::partition::{Partition, RecoveredActive, now_ms};
use crate::segment::Segment;
use crate::segment::scan::{ScannedRecord, SegmentState, scan_segment};
use crate::types::{RecoveryMode, StorageClass, VersionId};

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
    /// Files removed because no manifest edit owned them.
    pub orphans_removed: Vec<PathBuf>,
    /// Bytes cut from the manifest's torn tail.
    pub manifest_tail_bytes: u64,
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
struct SegInfo {
    partition: u16,
    class: StorageClass,
    generation: u64,
    sealed_len: Option<u64>,
}

struct Replayed {
    partition_records: Vec<(StorageClass, u64, ScannedRecord)>,
}

const CURRENT: &str = "CURRENT";

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |e| Error::io(op, path, e)
}

fn manifest_name(n: u64) -> String {
    format!("MANIFEST-{n:06}")
}

fn store_corruption(offset: u64, reason: impl Into<String>) -> Error {
    Error::corruption(CorruptionSite { partition: None, segment_id: None, offset }, reason)
}

/// Writes `name` atomically: temp file, fsync, rename, fsync of the directory.
fn write_atomic(storage: &dyn Storage, dir: &Path, name: &str, data: &[u8]) -> Result<()> {
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
    let (number, edits) = if storage.exists(&current).map_err(io_err("stat", &current))? {
        read_manifest(&*storage, &root, &mut report)?
    } else {
        create_store(&*storage, &root, &cfg, &mut report)?
    };
    let Some(ManifestEdit::StoreParams {
        format_version, store_uuid, partitions, prefix_len, region, ..
    }) = edits.first().cloned()
    else {
        return Err(store_corruption(0, "manifest does not start with the store parameters"));
    };
    if format_version != MANIFEST_FORMAT_VERSION {
        return Err(store_corruption(0, format!("unsupported manifest format version {format_version}")));
    }
    if !partitions.is_power_of_two() || partitions > crate::limits::PARTITIONS_MAX {
        return Err(store_corruption(0, format!("bad partition count {partitions}")));
    }
    cfg.params.partitions = partitions;
    cfg.params.prefix_len = prefix_len;
    cfg.region = region;
    let mut segments: BTreeMap<u64, SegInfo> = BTreeMap::new();
    let mut max_segment_id = 0u64;
    for edit in &edits[1..] {
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
            }
            ManifestEdit::StoreParams { .. } => {
                return Err(store_corruption(0, "store parameters repeated"));
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
    });
    remove_orphans(&ctx, &segments, number, &mut report)?;
    let partitions: Vec<Arc<Partition>> =
        (0..partitions).map(|p| Arc::new(Partition::new(p as u16, ctx.clone()))).collect();
    let mut catalog_records = Vec::new();
    let mut max_seq = 0u64;
    for part in &partitions {
        let segs: Vec<(u64, SegInfo)> =
            segments.iter().filter(|(_, s)| s.partition == part.id).map(|(id, s)| (*id, s.clone())).collect();
        let replayed = recover_partition(&ctx, part, &segs, cfg.recovery, &mut report, &mut segments)?;
        max_seq =
            max_seq.max(apply_records(part, replayed, &mut catalog_records, &mut report, cfg.recovery)?);
    }
    catalog_records.sort_by_key(|(seq, _)| *seq);
    let mut catalog = Catalog::default();
    for (seq, body) in &catalog_records {
        let edit: CatalogEdit = postcard::from_bytes(body)
            .map_err(|_| store_corruption(0, format!("undecodable catalog edit at seq {seq}")))?;
        catalog.apply(&edit);
    }
    ctx.next_seq.store(max_seq + 1, Ordering::Relaxed);
    let mut snapshot = vec![edits[0].clone()];
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
    let log = write_manifest(&*storage, &root, number + 1, &snapshot, Some(&old_manifest))?;
    *ctx.manifest.lock() = log;
    Ok(Opened { ctx, partitions, catalog, report, region: cfg.region, lock })
}

fn read_manifest(
    storage: &dyn Storage,
    root: &Path,
    report: &mut RecoveryReport,
) -> Result<(u64, Vec<ManifestEdit>)> {
    let current = root.join(CURRENT);
    let f = storage.open(&current, OpenMode::ReadOnly).map_err(io_err("open", &current))?;
    let text = read_all(&*f).map_err(io_err("read", &current))?;
    let name = std::str::from_utf8(&text).unwrap_or("").trim_end_matches('\n');
    let number = name
        .strip_prefix("MANIFEST-")
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| store_corruption(0, format!("CURRENT names no manifest: {name:?}")))?;
    let path = root.join(name);
    let f = storage.open(&path, OpenMode::ReadOnly).map_err(io_err("open", &path))?;
    let bytes = read_all(&*f).map_err(io_err("read", &path))?;
    let log = decode_log(&bytes);
    report.manifest_tail_bytes = bytes.len() as u64 - log.valid_len;
    Ok((number, log.edits))
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
    rand::rng().fill_bytes(&mut uuid);
    let edits = vec![params_edit(cfg, uuid)];
    for p in 0..cfg.params.partitions {
        let dir = partition_dir(root, p as u16);
        storage.create_dir_all(&dir.join(StorageClass::Standard.as_str())).map_err(io_err("mkdir", &dir))?;
        storage.sync_dir(&dir).map_err(io_err("directory fsync", &dir))?;
    }
    write_manifest(storage, root, 1, &edits, None)?;
    Ok((1, edits))
}

fn remove_orphans(
    ctx: &Context,
    segments: &BTreeMap<u64, SegInfo>,
    manifest_no: u64,
    report: &mut RecoveryReport,
) -> Result<()> {
    let storage = &*ctx.storage;
    let root = &ctx.root;
    let mut removed_in_root = false;
    for name in storage.list_dir(root).map_err(io_err("list", root))? {
        let stale_manifest = name.starts_with("MANIFEST-") && name != manifest_name(manifest_no);
        if stale_manifest || name.ends_with(".tmp") {
            let p = root.join(&name);
            storage.remove_file(&p).map_err(io_err("remove", &p))?;
            report.orphans_removed.push(p);
            removed_in_root = true;
        }
    }
    if removed_in_root {
        storage.sync_dir(root).map_err(io_err("directory fsync", root))?;
    }
    for p in 0..ctx.params.partitions {
        let pdir = partition_dir(root, p as u16);
        if !storage.exists(&pdir).map_err(io_err("stat", &pdir))? {
            continue;
        }
        for class_name in storage.list_dir(&pdir).map_err(io_err("list", &pdir))? {
            let dir = pdir.join(&class_name);
            let class = StorageClass::parse(&class_name).ok();
            let mut removed = false;
            for name in storage.list_dir(&dir).map_err(io_err("list", &dir))? {
                let owned = segments.iter().any(|(&id, s)| {
                    s.partition == p as u16 && Some(s.class) == class && segment_file_name(id) == name
                });
                if !owned {
                    let f = dir.join(&name);
                    storage.remove_file(&f).map_err(io_err("remove", &f))?;
                    report.orphans_removed.push(f);
                    removed = true;
                }
            }
            if removed {
                storage.sync_dir(&dir).map_err(io_err("directory fsync", &dir))?;
            }
        }
    }
    Ok(())
}

fn recover_partition(
    ctx: &Context,
    part: &Partition,
    segs: &[(u64, SegInfo)],
    mode: RecoveryMode,
    report: &mut RecoveryReport,
    manifest_segments: &mut BTreeMap<u64, SegInfo>,
) -> Result<Replayed> {
    let salvage = mode == RecoveryMode::Salvage;
    let mut out = Replayed { partition_records: Vec::new() };
    let mut active_seen: Vec<StorageClass> = Vec::new();
    for (id, info) in segs {
        let site = |offset| CorruptionSite { partition: Some(part.id), segment_id: Some(*id), offset };
        let path = ctx.segment_path(part.id, info.class, *id);
        let damaged = |report: &mut RecoveryReport, start, end, reason: String| {
            report.damaged.push(DamagedRange { partition: part.id, segment_id: *id, start, end, reason });
        };
        let file = match ctx
            .storage
            .open(&path, if info.sealed_len.is_some() { OpenMode::ReadOnly } else { OpenMode::ReadWrite })
        {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound && salvage => {
                damaged(report, 0, 0, "segment file missing".into());
                manifest_segments.remove(id);
                continue;
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::corruption(site(0), "segment file listed in the manifest is missing"));
            }
            Err(e) => return Err(Error::io("open segment", &path, e)),
        };
        report.segments_scanned += 1;
        let map;
        let owned;
        let bytes: &[u8] = if info.sealed_len.is_some() {
            map = file.map().map_err(io_err("map", &path))?;
            map.bytes()
        } else {
            owned = read_all(&*file).map_err(io_err("read", &path))?;
            &owned
        };
        let header_problem = match SegmentHeader::decode(bytes) {
            Err(e) => Some(e.to_string()),
            Ok(h) if h.store_uuid != ctx.store_uuid => Some("segment belongs to another store".into()),
            Ok(h)
                if h.segment_id != *id || h.partition != part.id || h.storage_class != info.class.code() =>
            {
                Some("segment header does not match the manifest".into())
            }
            Ok(_) => None,
        };
        if let Some(reason) = header_problem {
            if !salvage {
                return Err(Error::corruption(site(0), reason));
            }
            damaged(report, 0, bytes.len() as u64, reason);
            manifest_segments.remove(id);
            continue;
        }
        let state = info.sealed_len.map_or(SegmentState::Active, SegmentState::Sealed);
        let scan = scan_segment(bytes, state, salvage);
        if let Some((offset, reason)) = scan.fatal.clone() {
            if !salvage {
                return Err(Error::corruption(site(offset), reason));
            }
            damaged(report, offset, bytes.len() as u64, reason);
        }
        for d in &scan.damage {
            damaged(report, d.start, d.end, d.reason.clone());
        }
        let seg = Arc::new(Segment::new(*id, info.class, path.clone(), file.clone()));
        if info.sealed_len.is_some() {
            seg.map_sealed().map_err(io_err("map", &path))?;
        } else {
            if active_seen.contains(&info.class) {
                return Err(Error::corruption(site(0), "two active segments for one storage class"));
            }
            active_seen.push(info.class);
            settle_active_tail(&*file, &path, bytes, scan.end, part.id, *id, report)?;
            let mut crc = crc32fast::Hasher::new();
            crc.update(&bytes[..scan.end as usize]);
            part.set_active(RecoveredActive {
                seg: seg.clone(),
                tail: scan.end,
                record_count: scan.records.len() as u64,
                last_seq: scan.records.iter().map(|r| r.header.seq).max().unwrap_or(0),
                crc,
            });
        }
        part.add_segment(seg);
        out.partition_records.extend(scan.records.into_iter().map(|r| (info.class, *id, r)));
    }
    Ok(out)
}

/// Cuts an active segment to its last good marker and makes what is kept durable.
///
/// The sync is not only for the cut: after a process kill (not a power loss) the page cache still
/// holds writes whose sync never returned, and the scan accepts them, since their markers are
/// intact. The store is about to act on them (show a bucket, accept a put into it), so they must be
/// durable before it answers anything; otherwise a later power loss takes them away while what
/// depends on them, acknowledged meanwhile in another partition, stays.
fn settle_active_tail(
    file: &dyn StorageFile,
    path: &Path,
    bytes: &[u8],
    end: u64,
    partition: u16,
    segment_id: u64,
    report: &mut RecoveryReport,
) -> Result<()> {
    if (bytes.len() as u64) > end {
        let tail = &bytes[end as usize..];
        if tail.iter().any(|&b| b != 0) {
            report.torn_tails.push(TornTail { partition, segment_id, offset: end, len: tail.len() as u64 });
        }
        file.set_len(end).map_err(io_err("truncate torn tail", path))?;
    }
    file.sync_data().map_err(io_err("fdatasync", path))
}

fn apply_records(
    part: &Partition,
    replayed: Replayed,
    catalog: &mut Vec<(u64, Vec<u8>)>,
    report: &mut RecoveryReport,
    mode: RecoveryMode,
) -> Result<u64> {
    let mut records = replayed.partition_records;
    records.sort_by_key(|(_, _, r)| r.header.seq);
    let mut index = part.index.write();
    let mut max_seq = 0;
    for (class, segment_id, r) in records {
        let h = &r.header;
        max_seq = max_seq.max(h.seq);
        report.records_replayed += 1;
        let version = VersionId(h.version_id);
        let kind = match h.kind {
            RecordKind::Put => EntryKind::Inline,
            RecordKind::ObjectCommit => EntryKind::Chunked,
            RecordKind::DeleteMarker => EntryKind::DeleteMarker,
            RecordKind::Purge => {
                index.remove_version(h.bucket_id, &r.key, version, h.seq);
                continue;
            }
            RecordKind::Catalog => {
                catalog.push((h.seq, r.catalog_body));
                continue;
            }
            _ => continue,
        };
        let meta = match ObjectMeta::decode(&r.meta) {
            Ok(m) => m,
            Err(e) if mode == RecoveryMode::Strict => {
                let site = CorruptionSite {
                    partition: Some(part.id),
                    segment_id: Some(segment_id),
                    offset: r.offset,
                };
                return Err(Error::corruption(site, format!("meta: {e}")));
            }
            Err(_) => ObjectMeta::default(),
        };
        let mut etag = [0u8; 16];
        if meta.etag.len() == 16 {
            etag.copy_from_slice(&meta.etag);
        }
        let entry = IndexEntry {
            segment_id,
            offset: r.offset,
            record_len: h.record_len(),
            version_id: version,
            kind,
            size: meta.size,
            mtime_ms: meta.mtime_ms,
            etag,
            class,
        };
        index.upsert(h.bucket_id, &r.key, h.seq, entry);
    }
    Ok(max_seq)
}
