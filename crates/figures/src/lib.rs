//! The hotline's figures: time-to-removal statistics, SVG charts and the transparency report.
//!
//! Hotlines account for their work in figures: how many reports came in and of what, how many
//! were settled without anyone having to look, how many notices went out, and above all how
//! long content stayed online after the host was told (INHOPE publishes its members' median
//! time to removal; Point de Contact its yearly figures). This crate computes and presents
//! them from plain data the caller has read from the store:
//!
//! - [`removal`]: [`removal_stats`], time to removal by group (overall, host, network,
//!   country): median and 90th percentile by the nearest-rank method, what is still open and
//!   for how long.
//! - [`chart`]: SVG bar charts as strings, counts per day and durations per group, for the
//!   server's figures page and the report.
//! - [`transparency`]: the published report, a self-contained HTML page and a CSV of the same
//!   figures.
//!
//! # Why the charts are written here and not with `plotters`
//!
//! `plotters` 0.3.7 with its default features off and only `svg_backend` was tried on this
//! machine with every font hidden (`/usr/share/fonts` and `/etc/fonts` masked by empty mounts):
//! it does render, because its SVG backend writes text as `<text>` elements and only estimates
//! their size, and it escapes what it writes. It was still not taken: the charts must be
//! accessible (`role="img"`, `aria-label`, a `<title>`, one per bar too), which plotters has no
//! way to say, so its output would have to be patched as a string; its bars carry no mark a
//! page or a test can find them by, and their coordinates are rounded to whole pixels; its
//! drawing calls return errors a caller would have to handle although nothing can fail; and
//! one careless `default-features` away it needs fontconfig and FreeType at build time, which a
//! bare CI machine lacks. A bar chart is rectangles and text: [`chart`] writes them itself
//! (output only, no parser), escaping every text.
//!
//! **Architecture invariant:** pure: no files, network, SQL or HTTP. Everything arrives as
//! plain values and leaves as a `String` or through the caller's `std::io::Write`.
//!
//! **Invariant:** what is published names no URL and nothing that could identify a reporter:
//! only counts, durations, and host-level groups (networks and countries; the by-host figures
//! are for the hotline's own pages, see [`transparency`]).

pub mod chart;
pub mod removal;
pub mod transparency;

pub use removal::{removal_stats, Grouping, RemovalStats, Takedown};
pub use transparency::{write_csv, write_html, TransparencyInput};

/// One day in milliseconds.
pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// A duration in words as analysts read it: "2 d 4 h", "3 h 12 min", "5 min", "40 s"
/// (negative durations read as zero).
pub fn duration_text(ms: i64) -> String {
    let seconds = ms.max(0) / 1000;
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else if minutes > 0 {
        format!("{minutes} min")
    } else {
        format!("{seconds} s")
    }
}

/// The UTC date of a Unix time in milliseconds, as `2026-11-30`. A time outside the years
/// -9999 to 9999 has no such date and is written as its milliseconds (`"…ms"`) rather than
/// failing: a figure with an odd date is better shown than lost.
pub fn utc_date(ms: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) {
        Ok(at) => {
            let date = at.date();
            format!(
                "{:04}-{:02}-{:02}",
                date.year(),
                u8::from(date.month()),
                date.day()
            )
        }
        Err(_) => format!("{ms} ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_largest_units() {
        assert_eq!(
            duration_text(2 * DAY_MS + 4 * 3_600_000 + 59_000),
            "2 d 4 h"
        );
        assert_eq!(duration_text(3 * 3_600_000 + 12 * 60_000), "3 h 12 min");
        assert_eq!(duration_text(5 * 60_000 + 1), "5 min");
        assert_eq!(duration_text(40_999), "40 s");
        assert_eq!(duration_text(-5), "0 s");
        assert_eq!(duration_text(i64::MAX), "106751991167 d 7 h");
    }

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(-1), "1969-12-31");
        // 2026-11-30T23:59:59.999Z and the next millisecond.
        assert_eq!(utc_date(1_796_083_199_999), "2026-11-30");
        assert_eq!(utc_date(1_796_083_200_000), "2026-12-01");
        assert_eq!(utc_date(i64::MAX), format!("{} ms", i64::MAX));
        assert_eq!(utc_date(i64::MIN), format!("{} ms", i64::MIN));
    }
}
