//! Default article ids: tag URIs (RFC 4151)
//! `tag:{authority},{YYYY-MM-DD}:{category}/{slug}`, so an id survives a
//! change of domain, scheme or permalink pattern.

use chrono::{DateTime, Datelike, FixedOffset};

use crate::config::Config;
use crate::url_segment::push_segment;

/// The default id: `tag:{authority},{YYYY-MM-DD}:{category}/{slug}` (RFC 4151).
pub fn tag_id(config: &Config, category: &str, slug: &str, date: &DateTime<FixedOffset>) -> String {
    thread_local! {
        /// Where ids are put together: each id is then one allocation of
        /// its exact size, however much percent-encoding grew it.
        static ID_BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    ID_BUF.with_borrow_mut(|id| {
        id.clear();
        build_tag_id(id, &config.site.id_authority, category, slug, date);
        id.as_str().into()
    })
}

pub(super) fn build_tag_id(
    id: &mut String,
    authority: &str,
    category: &str,
    slug: &str,
    date: &DateTime<FixedOffset>,
) {
    use std::fmt::Write;
    id.push_str("tag:");
    id.push_str(authority);
    // Every file of a first load gets here: one buffer, digits by hand.
    // The local date, worked out once (each accessor of a zoned time
    // would add the offset again).
    let day = date.date_naive();
    let year = day.year();
    if (0..=9999).contains(&year) {
        let y = year as u32;
        let (m, d) = (day.month(), day.day());
        let digits = [
            b',',
            b'0' + (y / 1000 % 10) as u8,
            b'0' + (y / 100 % 10) as u8,
            b'0' + (y / 10 % 10) as u8,
            b'0' + (y % 10) as u8,
            b'-',
            b'0' + (m / 10) as u8,
            b'0' + (m % 10) as u8,
            b'-',
            b'0' + (d / 10) as u8,
            b'0' + (d % 10) as u8,
            b':',
        ];
        id.push_str(std::str::from_utf8(&digits).expect("ASCII digits and punctuation are UTF-8"));
    } else {
        let _ = write!(
            id,
            ",{:04}-{:02}-{:02}:",
            date.year(),
            date.month(),
            date.day()
        );
    }
    if !category.is_empty() {
        push_segment(id, category);
        id.push('/');
    }
    push_segment(id, slug);
}
