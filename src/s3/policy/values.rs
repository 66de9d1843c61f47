//! Typed condition values: dates (ISO 8601 or epoch seconds), numbers, IP addresses and CIDR
//! blocks. Each parser answers `None` for what it cannot read; the document side turns that into
//! `MalformedPolicy`, the request side into "does not match".

use std::net::IpAddr;

/// Milliseconds since the Unix epoch of an IAM date: epoch seconds (`1700000000`), or ISO 8601 as
/// IAM reads it: `2026-12-06`, `2026-12-06T21:00Z`, `2026-12-06T21:00:00Z`,
/// `2026-12-06T21:00:00.123+01:00` (no zone means UTC).
pub(super) fn parse_date_ms(s: &str) -> Option<i64> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok()?.checked_mul(1000);
    }
    let b = s.as_bytes();
    let year = digits(b, 0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (month, day) = (digits(b, 5, 2)?, digits(b, 8, 2)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let mut ms = days * 86_400_000;
    if b.len() == 10 {
        return Some(ms);
    }
    if !matches!(b[10], b'T' | b't') {
        return None;
    }
    let (hour, minute) = (digits(b, 11, 2)?, digits(b, 14, 2)?);
    if b.get(13) != Some(&b':') || hour > 23 || minute > 59 {
        return None;
    }
    ms += (hour * 3600 + minute * 60) * 1000;
    let mut at = 16;
    if b.get(at) == Some(&b':') {
        let second = digits(b, at + 1, 2)?;
        if second > 60 {
            return None;
        }
        ms += second * 1000;
        at += 3;
        if b.get(at) == Some(&b'.') {
            let start = at + 1;
            at = start;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            if at == start {
                return None;
            }
            // Milliseconds: the first three fraction digits, padded.
            let frac: String = s[start..at].chars().chain("000".chars()).take(3).collect();
            ms += frac.parse::<i64>().ok()?;
        }
    }
    let offset_ms = match &b[at..] {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), ..] => {
            let zone = &s[at + 1..];
            let (h, m) = match zone.len() {
                5 if zone.as_bytes()[2] == b':' => (zone.get(..2)?, zone.get(3..)?),
                4 => (zone.get(..2)?, zone.get(2..)?),
                2 => (zone, "00"),
                _ => return None,
            };
            let (h, m) = (digits(h.as_bytes(), 0, 2)?, digits(m.as_bytes(), 0, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let offset = (h * 60 + m) * 60_000;
            if *sign == b'+' { offset } else { -offset }
        }
        _ => return None,
    };
    Some(ms - offset_ms)
}

/// `n` ASCII digits of `b` at `at`, as a number.
fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let slice = b.get(at..at + n)?;
    if !slice.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(slice.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil, the
/// inverse of the days-to-civil in `crate::types::iso8601`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An IAM number: an integer or a decimal (`10`, `-3`, `2.5`); no `inf`, `NaN` or hex.
pub(super) fn parse_number(s: &str) -> Option<f64> {
    let valid = s.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'-' || b == b'+')
        && s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if !valid {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// An IPv4 or IPv6 CIDR block (`192.0.2.0/24`, `2001:db8::/32`); a bare address is a block of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Reads a block; `None` for a bad address or a prefix longer than the address.
    pub(super) fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().ok()?
            }
            Some(_) => return None,
            None => max,
        };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    /// Whether `ip` is inside the block. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) counts
    /// as its IPv4 address; otherwise the families must agree.
    pub(super) fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// Whether Block Public Access calls the block narrow enough to pin a policy: S3 counts a
    /// range broader than /8 (IPv4) or /32 (IPv6) as public.
    pub(super) fn is_narrow(&self) -> bool {
        self.prefix >= if self.addr.is_ipv4() { 8 } else { 32 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_every_form_iam_reads() {
        let base = 1_783_371_600_000; // 2026-07-06T21:00:00Z
        assert_eq!(parse_date_ms("2026-07-06T21:00:00Z"), Some(base));
        assert_eq!(parse_date_ms("2026-07-06T21:00Z"), Some(base));
        assert_eq!(parse_date_ms("2026-07-06T21:00:00"), Some(base));
        assert_eq!(parse_date_ms("2026-07-06T21:00:00.250Z"), Some(base + 250));
        assert_eq!(parse_date_ms("2026-07-06T21:00:00.2Z"), Some(base + 200));
        assert_eq!(parse_date_ms("2026-07-06T22:00:00+01:00"), Some(base));
        assert_eq!(parse_date_ms("2026-07-06T20:30:00-0030"), Some(base));
        assert_eq!(parse_date_ms("2026-07-06"), Some(base - 21 * 3_600_000));
        assert_eq!(parse_date_ms("1783371600"), Some(base));
        assert_eq!(parse_date_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_date_ms("1969-12-31T23:59:59Z"), Some(-1000));
        assert_eq!(parse_date_ms("2024-02-29"), Some(1_709_164_800_000));
        for bad in [
            "",
            "2023-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-7-6",
            "2026-07-06T25:00:00Z",
            "2026-07-06T21:00:00Q",
            "2026-07-06 21:00:00",
            "yesterday",
            "2026-07-06T21:00:00.Z",
            "2026-07-06T21:00:00+1",
            "99999999999999999999",
            "2026-07-06T21",
        ] {
            assert_eq!(parse_date_ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn numbers_are_plain_decimals() {
        assert_eq!(parse_number("10"), Some(10.0));
        assert_eq!(parse_number("-2.5"), Some(-2.5));
        for bad in ["", "ten", "inf", "NaN", "0x10", " 1", "1e999"] {
            assert_eq!(parse_number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cidr_blocks_of_both_families() {
        let net = Cidr::parse("192.0.2.0/24").unwrap();
        assert!(net.contains("192.0.2.200".parse().unwrap()));
        assert!(!net.contains("192.0.3.1".parse().unwrap()));
        assert!(net.contains("::ffff:192.0.2.7".parse().unwrap()), "IPv4-mapped");
        assert!(!net.contains("2001:db8::1".parse().unwrap()));
        let one = Cidr::parse("192.0.2.7").unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()) && !one.contains("192.0.2.8".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("203.0.113.9".parse().unwrap()));
        let v6 = Cidr::parse("2001:DB8:1234:5678::/64").unwrap();
        assert!(v6.contains("2001:db8:1234:5678:abcd::1".parse().unwrap()));
        assert!(!v6.contains("2001:db8:1234:5679::1".parse().unwrap()));
        assert!(Cidr::parse("::/0").unwrap().contains("::1".parse().unwrap()));
        for bad in ["", "10.0.0.0/33", "10.0.0/8", "10.0.0.0/", "10.0.0.0/x", "2001:db8::/129", "host/8"] {
            assert_eq!(Cidr::parse(bad), None, "{bad:?}");
        }
        assert!(Cidr::parse("10.0.0.0/8").unwrap().is_narrow());
        assert!(!Cidr::parse("0.0.0.0/1").unwrap().is_narrow());
        assert!(Cidr::parse("2001:db8::/32").unwrap().is_narrow());
        assert!(!Cidr::parse("2000::/16").unwrap().is_narrow());
    }
}
