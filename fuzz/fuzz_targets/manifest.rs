//! Manifest log decoder on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3lite::format::manifest::{decode_log, decode_log_salvage, encode_frame};

fuzz_target!(|data: &[u8]| {
    let log = decode_log(data);
    assert!(log.valid_len <= data.len() as u64);
    let again: Vec<u8> = log.edits.iter().flat_map(encode_frame).collect();
    assert_eq!(decode_log(&again).edits, log.edits);
    let (salvaged, skipped) = decode_log_salvage(data);
    assert!(salvaged.len() >= log.edits.len());
    assert!(skipped.iter().all(|&(a, b)| a < b && b <= data.len() as u64));
});
