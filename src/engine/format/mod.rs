//! Pure on-disk formats: encoding and decoding over byte slices, no I/O. Every decoder checks
//! lengths against the limits in [`crate::limits`] before it allocates or slices, so truncated or
//! garbage input is an error, never a panic or a huge allocation. Byte tables are in DESIGN.md.

pub mod checkpoint;
pub mod manifest;
pub mod meta;
pub mod record;
pub mod segment_header;

/// Why bytes failed to decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Fewer bytes than the structure needs.
    #[error("truncated: need {need} bytes, have {have}")]
    Truncated {
        /// Bytes needed.
        need: u64,
        /// Bytes present.
        have: u64,
    },
    /// The magic number is wrong (zero means "no record here").
    #[error("bad magic {found:#x}")]
    BadMagic {
        /// The value found.
        found: u64,
    },
    /// A CRC did not match.
    #[error("{what} crc mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    BadCrc {
        /// Which CRC.
        what: &'static str,
        /// Stored value.
        stored: u32,
        /// Computed value.
        computed: u32,
    },
    /// A length field is over its limit.
    #[error("{field} = {value} exceeds the limit {max}")]
    TooLarge {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The limit.
        max: u64,
    },
    /// The record kind byte is unknown.
    #[error("unknown record kind {0}")]
    UnknownKind(u8),
    /// The format version is not one this build reads.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u16),
    /// Any other structural problem.
    #[error("malformed: {0}")]
    Malformed(&'static str),
}

/// Result of a decoder.
pub type FormatResult<T> = Result<T, FormatError>;

const CRC_MASK_DELTA: u32 = 0xa282_ead8;

/// CRC-32/IEEE (crc32fast) of `data`, masked as LevelDB masks stored CRCs, so that a CRC computed over
/// bytes that themselves contain a CRC stays strong.
#[must_use]
pub fn masked_crc(data: &[u8]) -> u32 {
    mask(crc32fast::hash(data))
}

/// Masks a raw CRC.
#[must_use]
pub fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(CRC_MASK_DELTA)
}

/// Rounds up to a multiple of 8 (record alignment).
#[must_use]
pub const fn align8(n: u64) -> u64 {
    (n + 7) & !7
}

pub(crate) fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

pub(crate) fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().expect("4-byte slice"))
}

pub(crate) fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().expect("8-byte slice"))
}

pub(crate) fn need(b: &[u8], n: u64) -> FormatResult<()> {
    if (b.len() as u64) < n {
        return Err(FormatError::Truncated { need: n, have: b.len() as u64 });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_changes_value_and_align_rounds() {
        assert_ne!(masked_crc(b"abc"), crc32fast::hash(b"abc"));
        assert_eq!((align8(0), align8(1), align8(8), align8(9)), (0, 8, 8, 16));
    }
}
