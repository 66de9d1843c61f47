//! Record, segment-header and meta decoders on arbitrary bytes: errors, never panics or huge
//! allocations; whatever decodes re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3lite::format::meta::ObjectMeta;
use s3lite::format::record::{RecordParts, decode_record, encode_record};
use s3lite::format::segment_header::SegmentHeader;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = decode_record(data) {
        let again = encode_record(&RecordParts {
            kind: r.header.kind,
            flags: r.header.flags,
            seq: r.header.seq,
            bucket_id: r.header.bucket_id,
            version_id: r.header.version_id,
            chunk_index: r.header.chunk_index,
            key: r.key,
            meta: r.meta,
            body: r.body,
        });
        assert_eq!(&again[..64], &data[..64]);
    }
    if let Ok(h) = SegmentHeader::decode(data) {
        assert_eq!(&h.encode()[..], &data[..64]);
    }
    if let Ok(m) = ObjectMeta::decode(data) {
        assert_eq!(ObjectMeta::decode(&m.encode()).unwrap(), m);
    }
});
