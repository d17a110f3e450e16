//! Dates as articles write them: RFC 3339, `YYYY-MM-DD HH:MM[:SS]`,
//! `YYYY-MM-DD` or a TOML datetime; times without an offset take the site
//! time zone. Years outside 1..=9999 are refused (feed formats cannot
//! write them).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Timelike};

use crate::config::SiteZone;

/// Parses a date in any accepted form; naive times take `zone`.
///
/// Fails on text that is none of the forms, and on years outside 1..=9999
/// (feed date formatters cannot write them); see [`settle_date`].
pub fn parse_date(s: &str, zone: &SiteZone) -> Result<DateTime<FixedOffset>, String> {
    let s = s.trim();
    let dt = if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        dt
    } else if let Some(naive) = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    {
        zone.localize(naive)
    } else if let Some(dt) = [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M%:z",
    ]
    .iter()
    .find_map(|f| DateTime::parse_from_str(s, f).ok())
    {
        dt
    } else if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        zone.localize(d.and_time(chrono::NaiveTime::MIN))
    } else {
        return Err(format!(
            "invalid date {s:?}: expected RFC 3339, \"YYYY-MM-DD HH:MM[:SS]\" or \"YYYY-MM-DD\""
        ));
    };
    settle_date(dt)
}

/// The date as herald keeps it: an error outside the years 1 to 9999; a
/// leap second (`23:59:60`, which chrono holds as a second 59 with a
/// nanosecond past 999,999,999) read as the second before it, since HTML
/// `<time>` and most feed readers know no second 60.
pub(super) fn settle_date(dt: DateTime<FixedOffset>) -> Result<DateTime<FixedOffset>, String> {
    let utc_year = dt.naive_utc().year();
    if !(1..=9999).contains(&dt.year()) || !(1..=9999).contains(&utc_year) {
        return Err(format!("date {dt} is out of range (years 1 to 9999)"));
    }
    let nanos = dt.nanosecond();
    Ok(if nanos >= 1_000_000_000 {
        dt.with_nanosecond(nanos - 1_000_000_000).unwrap_or(dt)
    } else {
        dt
    })
}
