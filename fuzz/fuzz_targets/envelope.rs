//! Encryption envelope and key-file decoders on arbitrary bytes: typed errors, never a panic, and
//! what decodes re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3lite::crypto::{Envelope, MasterKeys};

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = Envelope::decode(data) {
        assert_eq!(e.encode(), data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = MasterKeys::from_file_text(text);
    }
});
