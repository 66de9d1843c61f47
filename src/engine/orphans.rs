//! Files the manifest does not account for, found when a store opens: debris of atomic writes and
//! superseded manifests is removed, valid unlisted segments of this store are adopted, damaged ones
//! refuse a [`RecoveryMode::Strict`] open or are quarantined by [`RecoveryMode::Salvage`]. A segment
//! with data is never deleted. Used by [`super::recovery`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::recovery::{RecoveryReport, SegInfo, io_err, manifest_name, store_corruption};
use crate::engine::context::{Context, partition_dir, segment_file_name};
use crate::engine::format::segment_header::SegmentHeader;
use crate::engine::io::{OpenMode, Storage, read_all};
use crate::error::{CorruptionSite, Error, Result};
use crate::types::{RecoveryMode, StorageClass};

/// What [`settle_orphans`] may do with a segment file the manifest does not list.
pub(super) struct Orphans<'a> {
    /// Segments the manifest records as deleted: their files may be removed, if it is not damaged.
    pub(super) deleted: &'a [u64],
    /// The manifest had damage (not only a torn tail): an edit may be missing.
    pub(super) damaged: bool,
    /// The last rewrite begun per partition and class, with its inputs.
    pub(super) begun: &'a [(u16, StorageClass, Vec<u64>)],
    pub(super) mode: RecoveryMode,
}

/// Removes debris of atomic writes and superseded manifests, and deals with every segment file the
/// manifest does not list: a valid one of this store is adopted (its creating edit was the torn last
/// frame, or a bit flip made it look so), a damaged one refuses a strict open or is quarantined by
/// salvage. A segment file is removed only when an intact manifest records it as deleted, or when
/// it holds no byte at all. Returns the highest segment id named by any file (ids are never reused).
pub(super) fn settle_orphans(
    ctx: &Context,
    segments: &mut BTreeMap<u64, SegInfo>,
    manifest_no: u64,
    orphans: &Orphans<'_>,
    report: &mut RecoveryReport,
) -> Result<u64> {
    // Decide everything first, so that an open that refuses changes nothing on disk.
    let (actions, max_id) = plan_orphans(ctx, segments, manifest_no, orphans)?;
    let storage = &*ctx.storage;
    let mut dirs_to_sync: Vec<PathBuf> = Vec::new();
    for action in actions {
        match action {
            OrphanAction::Remove(f) => {
                storage.remove_file(&f).map_err(io_err("remove", &f))?;
                dirs_to_sync.push(f.parent().unwrap_or(&ctx.root).to_path_buf());
                report.orphans_removed.push(f);
            }
            OrphanAction::Adopt(f, info, id) => {
                // Durable before the snapshot that names it: its header and its directory entry may
                // never have been synced (the creation's own syncs did not return).
                let file = storage.open(&f, OpenMode::ReadWrite).map_err(io_err("open", &f))?;
                file.sync_all().map_err(io_err("fsync", &f))?;
                dirs_to_sync.push(f.parent().unwrap_or(&ctx.root).to_path_buf());
                segments.insert(id, info);
                report.segments_adopted.push(f);
            }
            OrphanAction::Quarantine(f) => quarantine(storage, &ctx.root, &f, report)?,
        }
    }
    dirs_to_sync.dedup();
    for dir in dirs_to_sync {
        storage.sync_dir(&dir).map_err(io_err("directory fsync", &dir))?;
    }
    Ok(max_id)
}

/// What to do with one file the manifest does not account for.
enum OrphanAction {
    Remove(PathBuf),
    Adopt(PathBuf, SegInfo, u64),
    Quarantine(PathBuf),
}

/// The actions of [`settle_orphans`], and the highest segment id any file is named for; fails
/// (changing nothing) on a damaged unlisted segment in `Strict` mode.
fn plan_orphans(
    ctx: &Context,
    segments: &BTreeMap<u64, SegInfo>,
    manifest_no: u64,
    orphans: &Orphans<'_>,
) -> Result<(Vec<OrphanAction>, u64)> {
    let storage = &*ctx.storage;
    let root = &ctx.root;
    let mut actions = Vec::new();
    // Quarantined segments keep their ids used: a salvage that moved one aside may have stopped
    // before its snapshot recorded the high-water mark.
    let mut max_id = quarantined_ids(storage, root)?.into_iter().max().unwrap_or(0);
    for name in storage.list_dir(root).map_err(io_err("list", root))? {
        let stale_manifest = name.starts_with("MANIFEST-") && name != manifest_name(manifest_no);
        if stale_manifest || name.ends_with(".tmp") {
            actions.push(OrphanAction::Remove(root.join(&name)));
        }
    }
    for p in 0..ctx.params.partitions {
        let partition = p as u16;
        let pdir = partition_dir(root, partition);
        if !storage.exists(&pdir).map_err(io_err("stat", &pdir))? {
            continue;
        }
        for class_name in storage.list_dir(&pdir).map_err(io_err("list", &pdir))? {
            let Ok(class) = StorageClass::parse(&class_name) else { continue };
            let dir = pdir.join(&class_name);
            for name in storage.list_dir(&dir).map_err(io_err("list", &dir))? {
                // Files that are not segments by name are not the engine's: left alone.
                let Some(id) = parse_segment_file_name(&name) else { continue };
                max_id = max_id.max(id);
                if segments.get(&id).is_some_and(|s| s.partition == partition && s.class == class) {
                    continue;
                }
                let f = dir.join(&name);
                // Removed: a segment an undamaged manifest deleted, and a creation that crashed
                // before any byte of it was durable (nothing in it; its id stays used, see `max_id`).
                if (orphans.deleted.contains(&id) && !orphans.damaged) || holds_nothing(storage, &f)? {
                    actions.push(OrphanAction::Remove(f));
                    continue;
                }
                if orphans.deleted.contains(&id) {
                    // A damaged manifest deleted it: its records live on in a rewrite's outputs, or
                    // are dead, and adopting it could bring back what a dropped purge hid. Kept aside.
                    actions.push(OrphanAction::Quarantine(f));
                    continue;
                }
                match unlisted_segment_problem(ctx, &f, partition, class, id, segments)? {
                    None => {
                        let generation = read_generation(storage, &f)?;
                        if generation > 0 {
                            actions.push(unlisted_output(ctx, segments, orphans, f, partition, class)?);
                            continue;
                        }
                        let info = SegInfo { partition, class, generation, sealed_len: None };
                        actions.push(OrphanAction::Adopt(f, info, id));
                    }
                    Some(_) if orphans.mode == RecoveryMode::Salvage => {
                        actions.push(OrphanAction::Quarantine(f))
                    }
                    Some(reason) => {
                        let site =
                            CorruptionSite { partition: Some(partition), segment_id: Some(id), offset: 0 };
                        return Err(Error::corruption(
                            site,
                            format!("segment file {} is not in the manifest: {reason}", f.display()),
                        ));
                    }
                }
            }
        }
    }
    Ok((actions, max_id))
}

/// What to do with a rewrite's output that the manifest does not list. Its commit edit never
/// became durable, so its inputs (deleted only after the commit) are all still there and hold every
/// record it has: it is removed. Unless one of the inputs of the last rewrite begun in its
/// partition and class is gone: then the commit edit was lost after the inputs were (its frame
/// damaged in a way that reads as a torn tail), and the output, whole and sealed before the commit,
/// holds the only copy: it is adopted as sealed. Kept aside when the manifest is damaged.
fn unlisted_output(
    ctx: &Context,
    segments: &BTreeMap<u64, SegInfo>,
    orphans: &Orphans<'_>,
    f: PathBuf,
    partition: u16,
    class: StorageClass,
) -> Result<OrphanAction> {
    if orphans.damaged {
        return Ok(OrphanAction::Quarantine(f));
    }
    let Some((_, _, inputs)) = orphans.begun.iter().find(|(p, c, _)| (*p, *c) == (partition, class)) else {
        // No rewrite begun that could have made it survives in the log: then none was committed.
        return Ok(OrphanAction::Remove(f));
    };
    let mut input_gone = false;
    for id in inputs {
        let present = match segments.get(id) {
            Some(info) => {
                let path = ctx.segment_path(info.partition, info.class, *id);
                ctx.storage.exists(&path).map_err(io_err("stat", &path))?
            }
            None => false,
        };
        input_gone |= !present;
    }
    if !input_gone {
        return Ok(OrphanAction::Remove(f));
    }
    let generation = read_generation(&*ctx.storage, &f)?;
    let file = ctx.storage.open(&f, OpenMode::ReadOnly).map_err(io_err("open", &f))?;
    let len = file.len().map_err(io_err("stat", &f))?;
    let id = parse_segment_file_name(f.file_name().and_then(|n| n.to_str()).unwrap_or(""))
        .ok_or_else(|| store_corruption(0, format!("{}: not a segment file name", f.display())))?;
    Ok(OrphanAction::Adopt(f, SegInfo { partition, class, generation, sealed_len: Some(len) }, id))
}

/// True when a file is empty or all zeros.
fn holds_nothing(storage: &dyn Storage, path: &Path) -> Result<bool> {
    let f = storage.open(path, OpenMode::ReadOnly).map_err(io_err("open", path))?;
    Ok(read_all(&*f).map_err(io_err("read", path))?.iter().all(|&b| b == 0))
}

/// Where quarantine keeps moved files.
pub(super) fn quarantine_dir(root: &Path) -> PathBuf {
    root.join("quarantine")
}

/// Ids of the segments in quarantine, from their names (`p0000-STANDARD-<id>.seg`, perhaps with a
/// `.N` suffix when a name was taken).
pub(super) fn quarantined_ids(storage: &dyn Storage, root: &Path) -> Result<Vec<u64>> {
    let qdir = quarantine_dir(root);
    if !storage.exists(&qdir).map_err(io_err("stat", &qdir))? {
        return Ok(Vec::new());
    }
    let names = storage.list_dir(&qdir).map_err(io_err("list", &qdir))?;
    Ok(names
        .iter()
        .filter_map(|name| {
            let base = name.rsplit_once(".seg.").map_or(name.as_str(), |(b, _)| b);
            let base = base.strip_suffix(".seg").unwrap_or(base);
            let file = format!("{}.seg", base.rsplit('-').next()?);
            parse_segment_file_name(&file)
        })
        .collect())
}

/// The id in a segment file name (`<16 hex digits>.seg`).
fn parse_segment_file_name(name: &str) -> Option<u64> {
    let hex = name.strip_suffix(".seg").filter(|h| h.len() == 16)?;
    u64::from_str_radix(hex, 16).ok().filter(|&id| segment_file_name(id) == name)
}

/// Why a segment file the manifest does not list cannot be adopted, if it cannot. An adopted segment
/// starts as active; if its class has a newer segment and it ends with a valid seal, the scan makes
/// it sealed (see `recover_partition`).
fn unlisted_segment_problem(
    ctx: &Context,
    path: &Path,
    partition: u16,
    class: StorageClass,
    id: u64,
    segments: &BTreeMap<u64, SegInfo>,
) -> Result<Option<String>> {
    if segments.contains_key(&id) {
        return Ok(Some(format!("segment id {id} belongs to another partition or class")));
    }
    let f = ctx.storage.open(path, OpenMode::ReadOnly).map_err(io_err("open", path))?;
    let len = f.len().map_err(io_err("stat", path))?.min(64);
    let mut head = vec![0u8; len as usize];
    f.read_exact_at(&mut head, 0).map_err(io_err("read", path))?;
    Ok(match SegmentHeader::decode(&head) {
        Err(e) => Some(e.to_string()),
        Ok(h) if h.store_uuid != ctx.store_uuid => Some("it belongs to another store".into()),
        Ok(h) if h.segment_id != id || h.partition != partition || h.storage_class != class.code() => {
            Some("its header names another place".into())
        }
        Ok(_) => None,
    })
}

fn read_generation(storage: &dyn Storage, path: &Path) -> Result<u64> {
    let f = storage.open(path, OpenMode::ReadOnly).map_err(io_err("open", path))?;
    let mut head = [0u8; 64];
    f.read_exact_at(&mut head, 0).map_err(io_err("read", path))?;
    SegmentHeader::decode(&head)
        .map(|h| h.generation)
        .map_err(|e| store_corruption(0, format!("{}: {e}", path.display())))
}

/// Moves a file the store cannot use into `<root>/quarantine/` (never deletes it) and reports it.
pub(super) fn quarantine(
    storage: &dyn Storage,
    root: &Path,
    path: &Path,
    report: &mut RecoveryReport,
) -> Result<()> {
    let qdir = quarantine_dir(root);
    if !storage.exists(&qdir).map_err(io_err("stat", &qdir))? {
        storage.create_dir_all(&qdir).map_err(io_err("mkdir", &qdir))?;
        storage.sync_dir(root).map_err(io_err("directory fsync", root))?;
    }
    let parent = path.parent().unwrap_or(root);
    let rel = path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace(['/', '\\'], "-");
    let mut dest = qdir.join(&rel);
    let mut n = 1;
    while storage.exists(&dest).map_err(io_err("stat", &dest))? {
        dest = qdir.join(format!("{rel}.{n}"));
        n += 1;
    }
    storage.rename(path, &dest).map_err(io_err("rename into quarantine", path))?;
    storage.sync_dir(&qdir).map_err(io_err("directory fsync", &qdir))?;
    storage.sync_dir(parent).map_err(io_err("directory fsync", parent))?;
    report.quarantined.push(dest);
    Ok(())
}
