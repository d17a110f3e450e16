//! The site time zone: an IANA name or a fixed offset, and how a local
//! time written without an offset is placed in it (a time that falls in a
//! daylight-saving gap moves forward; an ambiguous one takes the earlier).

use chrono::{DateTime, FixedOffset, NaiveDateTime, Offset as _, TimeZone as _};

/// The site time zone: an IANA zone or a fixed offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SiteZone {
    /// An IANA zone such as `Asia/Shanghai`.
    Named(chrono_tz::Tz),
    /// A fixed offset such as `+08:00`.
    Fixed(FixedOffset),
}

impl SiteZone {
    /// Interprets a naive local time in this zone. Ambiguous times (a DST
    /// fold) take the earlier instant; times in a DST gap take the offset
    /// in force just before the gap.
    pub fn localize(&self, naive: NaiveDateTime) -> DateTime<FixedOffset> {
        match self {
            SiteZone::Fixed(off) => naive_with_offset(naive, *off),
            SiteZone::Named(tz) => {
                let resolved = tz.from_local_datetime(&naive);
                if let Some(dt) = resolved.earliest() {
                    return dt.fixed_offset();
                }
                // In a gap: use the offset an hour before.
                let before = naive - chrono::Duration::hours(1);
                match tz.from_local_datetime(&before).earliest() {
                    Some(dt) => naive_with_offset(naive, dt.offset().fix()),
                    None => naive_with_offset(naive, FixedOffset::east_opt(0).unwrap_or(utc())),
                }
            }
        }
    }
}

fn utc() -> FixedOffset {
    // 0 is always in range for FixedOffset::east_opt; Utc.fix() avoids an unwrap.
    chrono::Utc.fix()
}

fn naive_with_offset(naive: NaiveDateTime, off: FixedOffset) -> DateTime<FixedOffset> {
    match off.from_local_datetime(&naive).single() {
        Some(dt) => dt,
        // A fixed offset always maps a local time to exactly one instant;
        // fall back to treating it as UTC rather than panicking.
        None => DateTime::from_naive_utc_and_offset(naive, off),
    }
}

/// Parses a time zone: an IANA name or a fixed offset `+HH:MM` / `-HH:MM` / `Z`/`UTC`.
pub fn parse_zone(s: &str) -> Option<SiteZone> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("utc") || s == "Z" {
        return Some(SiteZone::Fixed(utc()));
    }
    if let Some(rest) = s
        .strip_prefix('+')
        .map(|r| (1, r))
        .or_else(|| s.strip_prefix('-').map(|r| (-1, r)))
    {
        let (sign, body) = rest;
        let (h, m) = match body.split_once(':') {
            Some((h, m)) => (h, m),
            None if body.len() == 4 => body.split_at(2),
            None => (body, "0"),
        };
        let h: i32 = h.parse().ok()?;
        let m: i32 = m.parse().ok()?;
        if !(0..=23).contains(&h) || !(0..=59).contains(&m) {
            return None;
        }
        return FixedOffset::east_opt(sign * (h * 3600 + m * 60)).map(SiteZone::Fixed);
    }
    s.parse::<chrono_tz::Tz>().ok().map(SiteZone::Named)
}
