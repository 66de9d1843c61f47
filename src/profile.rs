//! Behaviour profiles: the S3 whose rules a store follows, picked by date.
//!
//! S3's defaults changed after most tutorials and test suites were written. A program tested
//! against s3lite should meet the S3 it will deploy to, and a suite written against older S3
//! should still pass; a [`Profile`] names the date whose rules are in force. The default,
//! [`Profile::latest`], is every change this crate knows; [`Profile::classic`] is S3 before any of
//! them (the S3 of the boto3 tutorial: ACLs enabled, no Block Public Access, no default
//! encryption). Each dated change is a row of [`CHANGES`].
//!
//! A profile governs defaults: what a new bucket is created with, what a new object gets when it
//! asks for nothing. Settings a bucket was given stay with it (a bucket created under `classic`
//! keeps ACLs enabled when the store reopens under `latest`), as S3 never changed existing buckets.

use std::fmt;

use crate::error::{Error, Result};

/// A calendar date, `(year, month, day)`; compared as a tuple.
type Date = (u16, u8, u8);

/// One dated change in S3's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatedChange {
    /// The day the change was complete in every region (`YYYY-MM-DD`).
    pub date: &'static str,
    /// What changed, as S3's documentation says it.
    pub what: &'static str,
    date_parts: Date,
}

/// The dated changes a profile follows, oldest first. A profile dated on or after a change's
/// date has it.
pub const CHANGES: [DatedChange; 4] = [
    DatedChange {
        date: "2023-01-05",
        what: "SSE-S3 for every new object that asks for no other encryption",
        date_parts: (2023, 1, 5),
    },
    DatedChange {
        date: "2023-04-27",
        what: "new buckets get Object Ownership BucketOwnerEnforced (ACLs disabled) and all four \
               Block Public Access settings on",
        date_parts: (2023, 4, 27),
    },
    DatedChange {
        date: "2025-11-21",
        what: "Owner.DisplayName is no longer returned",
        date_parts: (2025, 11, 21),
    },
    DatedChange {
        date: "2026-04-06",
        what: "new buckets block SSE-C writes (BlockedEncryptionTypes SSE-C)",
        date_parts: (2026, 4, 6),
    },
];

const DEFAULT_ENCRYPTION: usize = 0;
const OWNER_ENFORCED: usize = 1;
const NO_DISPLAY_NAMES: usize = 2;
const SSE_C_BLOCKED: usize = 3;

/// The S3 whose defaults a store follows: S3 as it was on a date (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Profile {
    date: Date,
}

impl Default for Profile {
    fn default() -> Self {
        Profile::latest()
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.date;
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Profile {
    /// Today's S3: every change in [`CHANGES`]. The default.
    #[must_use]
    pub const fn latest() -> Profile {
        Profile { date: (9999, 12, 31) }
    }

    /// S3 before any change in [`CHANGES`]: ACLs enabled on new buckets, no Block Public Access,
    /// no default encryption, owners' display names reported. Dated 2006-03-01, S3's API version.
    #[must_use]
    pub const fn classic() -> Profile {
        Profile { date: (2006, 3, 1) }
    }

    /// S3 as it was on a date.
    ///
    /// # Errors
    /// `InvalidArgument` for a date that does not exist.
    pub fn on(year: u16, month: u8, day: u8) -> Result<Profile> {
        let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => 0,
        };
        if day == 0 || day > days || year == 0 {
            return Err(Error::InvalidArgument {
                name: "profile",
                value: format!("{year:04}-{month:02}-{day:02}"),
                reason: "not a calendar date".into(),
            });
        }
        Ok(Profile { date: (year, month, day) })
    }

    /// Parses `latest` (or `today`), `classic`, or a date `YYYY-MM-DD`.
    ///
    /// # Errors
    /// `InvalidArgument` naming the value for anything else.
    pub fn parse(s: &str) -> Result<Profile> {
        match s {
            "latest" | "today" => return Ok(Profile::latest()),
            "classic" => return Ok(Profile::classic()),
            _ => {}
        }
        let bad = || Error::InvalidArgument {
            name: "profile",
            value: s.to_owned(),
            reason: "a profile is latest, classic or a date YYYY-MM-DD".into(),
        };
        let parts: Vec<&str> = s.split('-').collect();
        let [y, m, d] = parts.as_slice() else { return Err(bad()) };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 || !s.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        {
            return Err(bad());
        }
        let (Ok(y), Ok(m), Ok(d)) = (y.parse(), m.parse(), d.parse()) else { return Err(bad()) };
        Profile::on(y, m, d)
    }

    pub(crate) fn ymd(&self) -> (u16, u8, u8) {
        self.date
    }

    fn has(&self, change: usize) -> bool {
        self.date >= CHANGES[change].date_parts
    }

    /// The changes this profile follows.
    #[must_use]
    pub fn changes(&self) -> Vec<DatedChange> {
        (0..CHANGES.len()).filter(|&i| self.has(i)).map(|i| CHANGES[i]).collect()
    }

    /// New objects asking for no encryption get SSE-S3 (since 2023-01-05; needs a key provider).
    #[must_use]
    pub fn encrypts_by_default(&self) -> bool {
        self.has(DEFAULT_ENCRYPTION)
    }

    /// New buckets get `BucketOwnerEnforced` and all of Block Public Access (since 2023-04-27).
    #[must_use]
    pub fn new_buckets_enforce_ownership(&self) -> bool {
        self.has(OWNER_ENFORCED)
    }

    /// Owners are reported without a display name (since 2025-11-21).
    #[must_use]
    pub fn reports_display_names(&self) -> bool {
        !self.has(NO_DISPLAY_NAMES)
    }

    /// New buckets block SSE-C writes (since 2026-04-06).
    #[must_use]
    pub fn new_buckets_block_sse_c(&self) -> bool {
        self.has(SSE_C_BLOCKED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_change_takes_effect_on_its_date() {
        for (i, change) in CHANGES.iter().enumerate() {
            let on = Profile::parse(change.date).unwrap();
            let (y, m, d) = change.date_parts;
            let before = if d > 1 { Profile::on(y, m, d - 1) } else { Profile::on(y, m - 1, 28) }.unwrap();
            assert!(on.has(i) && !before.has(i), "{}", change.date);
            assert!(Profile::latest().has(i) && !Profile::classic().has(i));
        }
        assert!(CHANGES.windows(2).all(|w| w[0].date_parts < w[1].date_parts), "oldest first");
        assert_eq!(Profile::classic().changes(), vec![]);
        assert_eq!(Profile::latest().changes().len(), CHANGES.len());
        assert_eq!(Profile::parse("2023-04-27").unwrap().changes().len(), 2);
    }

    #[test]
    fn parse_names_what_it_refuses() {
        assert_eq!(Profile::parse("today").unwrap(), Profile::latest());
        assert_eq!(Profile::parse("classic").unwrap().to_string(), "2006-03-01");
        assert_eq!(Profile::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
        for bad in
            ["", "2023", "2023-4-27", "2023-02-29", "2023-13-01", "2023-00-10", "0000-01-01", "yesterday"]
        {
            let e = Profile::parse(bad).unwrap_err();
            assert_eq!(e.code(), "InvalidArgument", "{bad}");
            assert!(e.to_string().contains(bad), "{e}");
        }
    }
}
