//! The crate's only `unsafe`: memory maps of sealed segments.

use std::fs::File;
use std::io;

use super::MappedBytes;

/// A read-only map of a sealed segment file.
#[derive(Debug)]
pub(crate) struct Map(memmap2::Mmap);

impl Map {
    #[expect(unsafe_code, reason = "memmap2::Mmap::map is unsafe; see the SAFETY block")]
    pub(crate) fn new(file: &File) -> io::Result<Map> {
        // SAFETY: mapping a file is undefined behaviour if the file is modified or truncated while
        // mapped. The engine maps only sealed segments: after sealing no byte is written again, the
        // store's LOCK file keeps every other s3lite process out, recovery truncates only active
        // segments and does so before any map exists, and segments are removed by unlink (never
        // truncated), which leaves existing maps valid.
        let map = unsafe { memmap2::Mmap::map(file)? };
        Ok(Map(map))
    }
}

impl MappedBytes for Map {
    fn bytes(&self) -> &[u8] {
        &self.0
    }
}
