//! Checkpoint decoder on arbitrary bytes: never panics, and what it accepts encodes back to the
//! same bytes (the format has one encoding of each checkpoint).
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3lite::format::checkpoint::{decode_checkpoint, encode_checkpoint};

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = decode_checkpoint(data) {
        let again = encode_checkpoint(&c);
        assert_eq!(decode_checkpoint(&again).as_ref(), Ok(&c));
    }
});
