//! The recovery scanner on arbitrary segment bytes, active and sealed, strict and salvage.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3lite::segment::scan::{SegmentState, scan_segment};

fuzz_target!(|data: &[u8]| {
    let mut bytes = vec![0u8; 4096];
    bytes.extend_from_slice(data);
    for salvage in [false, true] {
        let out = scan_segment(&bytes, SegmentState::Active, salvage);
        assert!(out.end <= bytes.len() as u64);
        let _ = scan_segment(&bytes, SegmentState::Sealed(bytes.len() as u64), salvage);
    }
});
