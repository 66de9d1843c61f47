//! Linux calls that neither std nor rustix wraps, each behind a safe function: starting and
//! waiting for the writeback of a file range (`sync_file_range`) and lowering the calling thread's
//! I/O priority (`ioprio_set`). Elsewhere they do nothing: both are about pacing, never durability.

use std::fs::File;
use std::io;

/// Starts writing the dirty pages of `len` bytes at `offset` to the device, without waiting and
/// without a cache flush (`sync_file_range(SYNC_FILE_RANGE_WRITE)`). Makes nothing durable.
pub(crate) fn start_writeback(file: &File, offset: u64, len: u64) -> io::Result<()> {
    sync_file_range(file, offset, len, false)
}

/// Waits until every page of `len` bytes at `offset` is written to the device, starting the
/// writeback of those not yet started (`sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER)`). Makes
/// nothing durable (no cache flush, no metadata), but it does report, and consume, a writeback
/// error: the caller must treat an error as a failed write.
pub(crate) fn wait_writeback(file: &File, offset: u64, len: u64) -> io::Result<()> {
    sync_file_range(file, offset, len, true)
}

#[cfg(target_os = "linux")]
#[expect(unsafe_code, reason = "libc::sync_file_range is unsafe; see the SAFETY block")]
fn sync_file_range(file: &File, offset: u64, len: u64, wait: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let flags = if wait {
        libc::SYNC_FILE_RANGE_WAIT_BEFORE | libc::SYNC_FILE_RANGE_WRITE | libc::SYNC_FILE_RANGE_WAIT_AFTER
    } else {
        libc::SYNC_FILE_RANGE_WRITE
    };
    let (offset, len) = (i64::try_from(offset), i64::try_from(len));
    let (Ok(offset), Ok(len)) = (offset, len) else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "range past i64"));
    };
    // SAFETY: the call takes plain integers and a file descriptor that `file` keeps open for the
    // duration of the call; it reads and writes no memory of this process.
    let r = unsafe { libc::sync_file_range(file.as_raw_fd(), offset, len, flags) };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

#[cfg(not(target_os = "linux"))]
fn sync_file_range(_file: &File, _offset: u64, _len: u64, _wait: bool) -> io::Result<()> {
    Ok(())
}

/// `IOPRIO_CLASS_BE` (best effort, the default class) in the kernel's `ioprio` encoding.
#[cfg(target_os = "linux")]
const IOPRIO_CLASS_BE: libc::c_int = 2;
/// Bits of the class in an `ioprio` value.
#[cfg(target_os = "linux")]
const IOPRIO_CLASS_SHIFT: libc::c_int = 13;
/// `IOPRIO_WHO_PROCESS`: the `who` argument names a thread (0: the calling one).
#[cfg(target_os = "linux")]
const IOPRIO_WHO_PROCESS: libc::c_int = 1;
/// The lowest priority level within a class.
#[cfg(target_os = "linux")]
const IOPRIO_LEVEL_LOWEST: libc::c_int = 7;

/// Gives the I/O the calling thread submits itself (its `sync_file_range`, `fsync`) the lowest
/// best-effort priority, so that a scheduler that honours priorities (mq-deadline, bfq) serves
/// foreground requests first. Not the idle class: that could starve a rewrite holding its
/// partition's rewrite lock for as long as the foreground keeps the disk busy.
pub(crate) fn lower_io_priority() -> io::Result<()> {
    ioprio_set_self()
}

#[cfg(target_os = "linux")]
#[expect(unsafe_code, reason = "libc::syscall is unsafe; see the SAFETY block")]
fn ioprio_set_self() -> io::Result<()> {
    let prio = (IOPRIO_CLASS_BE << IOPRIO_CLASS_SHIFT) | IOPRIO_LEVEL_LOWEST;
    // SAFETY: ioprio_set takes three integers (who-kind, id 0 = the calling thread, priority) and
    // touches no memory of this process.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio) };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

#[cfg(not(target_os = "linux"))]
fn ioprio_set_self() -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::os::unix::fs::FileExt;

    use super::*;

    #[test]
    fn writeback_of_a_written_range_succeeds_and_a_range_past_i64_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("f")).unwrap();
        file.write_all_at(&[7u8; 8192], 0).unwrap();
        start_writeback(&file, 0, 8192).unwrap();
        wait_writeback(&file, 0, 8192).unwrap();
        let past = start_writeback(&file, u64::MAX, 1).unwrap_err();
        assert_eq!(past.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_thread_may_lower_its_own_io_priority() {
        std::thread::spawn(|| lower_io_priority().unwrap()).join().unwrap();
    }
}
