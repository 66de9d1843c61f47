//! Small value types shared by every layer.

use std::fmt;

use crate::error::{Error, Result};
use crate::limits::KEY_BYTES_MAX;

/// Internal bucket id: new on every bucket creation, never reused, so nothing of a deleted bucket can
/// reappear in a recreated one of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BucketId(pub u64);

/// A version id: 8 bytes of a store-wide counter (big-endian) and 8 random bytes. All zeros is the
/// S3 `null` version.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct VersionId(pub [u8; 16]);

impl VersionId {
    /// The `null` version: objects written while versioning was never enabled or is suspended.
    pub const NULL: VersionId = VersionId([0; 16]);

    /// True for the `null` version.
    #[must_use]
    pub fn is_null(&self) -> bool {
        self.0 == [0; 16]
    }

    /// Parses the string form (`"null"` or 32 hex digits).
    ///
    /// # Errors
    /// `InvalidArgument` naming the value when it is neither.
    pub fn parse(s: &str) -> Result<VersionId> {
        if s == "null" {
            return Ok(VersionId::NULL);
        }
        let bad = || Error::InvalidArgument {
            name: "versionId",
            value: s.to_owned(),
            reason: "invalid version id".into(),
        };
        if s.len() != 32 || !s.is_ascii() {
            return Err(bad());
        }
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        if out == [0; 16] {
            return Err(bad());
        }
        Ok(VersionId(out))
    }
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_null() {
            return f.write_str("null");
        }
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A multipart upload id's string form: 32 lowercase hex digits of its 16 bytes (8 of the store's
/// seq counter, big-endian, so one key's uploads sort by when they began, and 8 random).
pub(crate) fn upload_id_string(id: [u8; 16]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses an upload id's string form; `None` for anything this store never issued the form of.
pub(crate) fn parse_upload_id(s: &str) -> Option<[u8; 16]> {
    // Ids are case-sensitive, as S3's are: only the lowercase form this store issues names one.
    if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl fmt::Debug for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VersionId({self})")
    }
}

/// S3 storage classes. The code is what segment headers store; the class of a record is the class of
/// the segment it lives in, so migration can copy record bytes unchanged.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum StorageClass {
    /// S3 Standard.
    #[default]
    Standard,
    /// Standard-Infrequent Access.
    StandardIa,
    /// One Zone-Infrequent Access.
    OnezoneIa,
    /// Glacier Instant Retrieval.
    GlacierIr,
    /// Glacier Flexible Retrieval.
    Glacier,
    /// Glacier Deep Archive.
    DeepArchive,
    /// Intelligent-Tiering.
    IntelligentTiering,
    /// Reduced Redundancy (legacy).
    ReducedRedundancy,
}

impl StorageClass {
    /// All classes, in code order.
    pub const ALL: [StorageClass; 8] = [
        StorageClass::Standard,
        StorageClass::StandardIa,
        StorageClass::OnezoneIa,
        StorageClass::GlacierIr,
        StorageClass::Glacier,
        StorageClass::DeepArchive,
        StorageClass::IntelligentTiering,
        StorageClass::ReducedRedundancy,
    ];

    /// True for the archive classes (GLACIER, DEEP_ARCHIVE) whose objects must be restored before
    /// they can be read or copied (S3 user guide, "Working with archived objects"). GLACIER_IR
    /// objects are read directly.
    #[must_use]
    pub fn needs_restore(self) -> bool {
        matches!(self, StorageClass::Glacier | StorageClass::DeepArchive)
    }

    /// The on-disk code.
    #[must_use]
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Decodes an on-disk code.
    #[must_use]
    pub fn from_code(code: u8) -> Option<StorageClass> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// The S3 name (`STANDARD_IA`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            StorageClass::Standard => "STANDARD",
            StorageClass::StandardIa => "STANDARD_IA",
            StorageClass::OnezoneIa => "ONEZONE_IA",
            StorageClass::GlacierIr => "GLACIER_IR",
            StorageClass::Glacier => "GLACIER",
            StorageClass::DeepArchive => "DEEP_ARCHIVE",
            StorageClass::IntelligentTiering => "INTELLIGENT_TIERING",
            StorageClass::ReducedRedundancy => "REDUCED_REDUNDANCY",
        }
    }

    /// Parses the S3 name.
    ///
    /// # Errors
    /// `InvalidArgument` (S3's `InvalidStorageClass` comes with the semantics layer) naming the value.
    pub fn parse(s: &str) -> Result<StorageClass> {
        Self::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| Error::InvalidArgument {
            name: "x-amz-storage-class",
            value: s.to_owned(),
            reason: "unknown storage class".into(),
        })
    }
}

/// When a write call returns, relative to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Return after the group's `fdatasync`: an acknowledged write survives a crash (default).
    #[default]
    Immediate,
    /// Return after `write(2)`; a background thread syncs every `flush_interval_ms`. A crash loses at
    /// most that window, and what survives is always a prefix of the acknowledged writes of a partition.
    Eventual {
        /// Period of the background sync.
        flush_interval_ms: u64,
    },
    /// Like `Immediate`, with a full `fsync` of the segment and of its directory on every group.
    Paranoid,
}

/// When index checkpoints are written. Whatever the policy, `open` starts from the newest valid
/// checkpoint of each partition and replays only the log after it, and
/// [`crate::Store::checkpoint`] writes one on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoints {
    /// Only when [`crate::Store::checkpoint`] is called.
    OnDemand,
    /// At clean close ([`crate::Store::close`], or when the last handle drops), and on demand.
    AtClose,
    /// At clean close, on demand, and by a background thread that looks every `interval_ms` and
    /// checkpoints each partition whose log grew by at least `bytes` since its newest checkpoint
    /// (default for a store on disk: 64 MiB, every 10 s).
    Background {
        /// Log growth of one partition that makes its checkpoint due.
        bytes: u64,
        /// How often the thread looks.
        interval_ms: u64,
    },
}

/// What `open` does with damage that is not a torn tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecoveryMode {
    /// Fail the open with [`Error::Corruption`] naming partition, segment and offset (default).
    #[default]
    Strict,
    /// Skip damaged ranges, open, and list them in the [`crate::RecoveryReport`].
    Salvage,
}

/// Formats a time as S3 writes dates in XML: ISO 8601 in UTC with milliseconds
/// (`2009-10-12T17:50:30.000Z`).
#[must_use]
pub fn iso8601(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Checks a key against S3's length limit.
///
/// # Errors
/// `KeyTooLong` over [`KEY_BYTES_MAX`] bytes; `InvalidArgument` for the empty key.
pub fn check_key(key: &str) -> Result<()> {
    if key.len() > KEY_BYTES_MAX {
        return Err(Error::KeyTooLong { len: key.len(), max: KEY_BYTES_MAX });
    }
    if key.is_empty() {
        return Err(Error::InvalidArgument {
            name: "key",
            value: String::new(),
            reason: "the key must not be empty".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_id_round_trips_and_rejects_garbage() {
        let v = VersionId([7; 16]);
        assert_eq!(VersionId::parse(&v.to_string()).unwrap(), v);
        assert_eq!(VersionId::parse("null").unwrap(), VersionId::NULL);
        assert_eq!(VersionId::NULL.to_string(), "null");
        for bad in ["", "xyz", "0000000000000000000000000000000g", "00000000000000000000000000000000"] {
            assert!(matches!(VersionId::parse(bad), Err(Error::InvalidArgument { .. })), "{bad}");
        }
    }

    #[test]
    fn storage_class_codes_round_trip() {
        for c in StorageClass::ALL {
            assert_eq!(StorageClass::from_code(c.code()), Some(c));
            assert_eq!(StorageClass::parse(c.as_str()).unwrap(), c);
        }
        assert_eq!(StorageClass::from_code(200), None);
        assert!(StorageClass::parse("COLD").is_err());
    }

    #[test]
    fn iso8601_dates() {
        use std::time::{Duration, UNIX_EPOCH};
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso8601(UNIX_EPOCH + Duration::from_millis(1_255_369_830_123)),
            "2009-10-12T17:50:30.123Z"
        );
        assert_eq!(iso8601(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn key_limit_at_and_past() {
        assert!(check_key(&"k".repeat(KEY_BYTES_MAX)).is_ok());
        assert!(matches!(
            check_key(&"k".repeat(KEY_BYTES_MAX + 1)),
            Err(Error::KeyTooLong { len: 1025, max: 1024 })
        ));
        assert!(check_key("").is_err());
    }
}
