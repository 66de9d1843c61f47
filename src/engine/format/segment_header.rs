//! Segment header: 64 bytes at offset 0; records start at [`SEGMENT_DATA_START`].

use super::{FormatError, FormatResult, masked_crc, need, u16_at, u32_at, u64_at};

/// Magic of a segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"S3LSEG\0\x01";
/// Encoded header length.
pub const SEGMENT_HEADER_BYTES: usize = 64;
/// Offset of the first record: the header is padded to a page so records start page-aligned.
pub const SEGMENT_DATA_START: u64 = 4096;
/// The only segment format version this build writes and reads.
pub const SEGMENT_FORMAT_VERSION: u16 = 1;

/// Decoded segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Storage class code of every record in the segment.
    pub storage_class: u8,
    /// Bit 0: written by a rewrite (compaction or migration).
    pub flags: u8,
    /// Partition the segment belongs to.
    pub partition: u16,
    /// Store-wide unique, monotonic segment id.
    pub segment_id: u64,
    /// Rewrite generation (0 for segments written by the write path).
    pub generation: u64,
    /// Random id of the store, so a segment copied in from another store is refused.
    pub store_uuid: [u8; 16],
    /// Creation time, ms since the Unix epoch.
    pub created_ms: u64,
}

impl SegmentHeader {
    /// Encodes the 64-byte header.
    #[must_use]
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_BYTES] {
        let mut b = [0u8; SEGMENT_HEADER_BYTES];
        b[0..8].copy_from_slice(&SEGMENT_MAGIC);
        b[8..10].copy_from_slice(&SEGMENT_FORMAT_VERSION.to_le_bytes());
        b[10] = self.storage_class;
        b[11] = self.flags;
        b[12..14].copy_from_slice(&self.partition.to_le_bytes());
        b[16..24].copy_from_slice(&self.segment_id.to_le_bytes());
        b[24..32].copy_from_slice(&self.generation.to_le_bytes());
        b[32..48].copy_from_slice(&self.store_uuid);
        b[48..56].copy_from_slice(&self.created_ms.to_le_bytes());
        let crc = masked_crc(&b[0..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and verifies a header.
    ///
    /// # Errors
    /// Truncated input, wrong magic, CRC mismatch or an unknown version.
    pub fn decode(b: &[u8]) -> FormatResult<SegmentHeader> {
        need(b, SEGMENT_HEADER_BYTES as u64)?;
        if b[0..8] != SEGMENT_MAGIC {
            return Err(FormatError::BadMagic { found: u64_at(b, 0) });
        }
        let stored = u32_at(b, 60);
        let computed = masked_crc(&b[0..60]);
        if stored != computed {
            return Err(FormatError::BadCrc { what: "segment header", stored, computed });
        }
        let version = u16_at(b, 8);
        if version != SEGMENT_FORMAT_VERSION {
            return Err(FormatError::UnsupportedVersion(version));
        }
        Ok(SegmentHeader {
            storage_class: b[10],
            flags: b[11],
            partition: u16_at(b, 12),
            segment_id: u64_at(b, 16),
            generation: u64_at(b, 24),
            store_uuid: b[32..48].try_into().expect("16 bytes"),
            created_ms: u64_at(b, 48),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header() -> SegmentHeader {
        SegmentHeader {
            storage_class: 1,
            flags: 0,
            partition: 3,
            segment_id: 42,
            generation: 0,
            store_uuid: [9; 16],
            created_ms: 1_700_000_000_000,
        }
    }

    proptest! {
        #[test]
        fn round_trip(class in any::<u8>(), part in any::<u16>(), id in any::<u64>(), uuid in any::<[u8; 16]>()) {
            let h = SegmentHeader { storage_class: class, partition: part, segment_id: id, store_uuid: uuid, ..header() };
            prop_assert_eq!(SegmentHeader::decode(&h.encode()).unwrap(), h);
        }

        #[test]
        fn any_bit_flip_is_detected(bit in 0usize..(64 * 8)) {
            let mut b = header().encode();
            b[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(SegmentHeader::decode(&b).is_err());
        }

        #[test]
        fn garbage_never_panics(b in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = SegmentHeader::decode(&b);
        }
    }

    #[test]
    fn truncated_is_an_error() {
        let b = header().encode();
        for n in 0..SEGMENT_HEADER_BYTES {
            assert!(matches!(SegmentHeader::decode(&b[..n]), Err(FormatError::Truncated { .. })));
        }
    }
}
