//! Time to removal: how long reported content stayed online once the host was told.
//!
//! # What is measured
//!
//! A takedown's time to removal runs from the first notice sent to the host (`noticed_at`) to
//! the check that found the content gone (`removed_at`): that is the host's part, the figure
//! INHOPE's members compare. A takedown removed without any notice having been sent (the host
//! acted on its own, or on a partner hotline's word, before ours went out) counts from
//! `reported_at` instead: leaving it out would hide the content that went quickest, and the
//! time since the report is what the public waited. A removal recorded before the notice (the
//! content was already gone at the first check after it) counts as zero, never negative.
//!
//! A takedown not yet removed is open; its age runs to `now` from the same start, and
//! `open_longest_ms` is the age of the oldest open one. Open takedowns are not in the median
//! or the 90th percentile, which describe what was removed: the open ones are shown beside
//! them, since a median over removed content alone flatters a hotline whose hardest cases
//! never end.
//!
//! # Percentiles
//!
//! The median and the 90th percentile are taken by the nearest-rank method: of `n` durations
//! sorted ascending, the `p`-th percentile is the one of rank `ceil(p / 100 * n)` (counting from
//! 1). It is always a duration that was observed (no interpolation between two takedowns), so
//! a published "median 2 d 4 h" is one real takedown's time; for an even count the median is
//! the lower of the two middle ones.

use std::collections::BTreeMap;

/// One item's takedown as the figures need it: where the content was, when it was reported,
/// told about and found gone. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Takedown {
    /// The item's reference, e.g. `item-42`; never a URL.
    pub reference: String,
    /// The host name the content was on.
    pub host: String,
    /// The network, as the locator names it (`AS16276 OVH SAS`), when known.
    pub network: Option<String>,
    /// The hosting country (ISO 3166 alpha-2), when known.
    pub country: Option<String>,
    /// When the item was first reported.
    pub reported_at: i64,
    /// When the first notice was sent, if one was.
    pub noticed_at: Option<i64>,
    /// When the content was found gone, if it was.
    pub removed_at: Option<i64>,
}

impl Takedown {
    /// Where this takedown's clock starts: the first notice, or the report if none was sent.
    fn started_at(&self) -> i64 {
        self.noticed_at.unwrap_or(self.reported_at)
    }
}

/// What the takedowns are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// One group, named [`OVERALL`].
    Overall,
    /// By host name.
    Host,
    /// By network (autonomous system).
    Network,
    /// By hosting country.
    Country,
}

/// The group name of [`Grouping::Overall`].
pub const OVERALL: &str = "all";

/// The group name of takedowns whose network or country is not known (or is blank).
pub const UNKNOWN: &str = "unknown";

impl Grouping {
    /// The group `takedown` falls in.
    fn group_of<'a>(&self, takedown: &'a Takedown) -> &'a str {
        let known = |value: &'a Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .unwrap_or(UNKNOWN)
        };
        match self {
            Grouping::Overall => OVERALL,
            Grouping::Host => Some(takedown.host.trim())
                .filter(|host| !host.is_empty())
                .unwrap_or(UNKNOWN),
            Grouping::Network => known(&takedown.network),
            Grouping::Country => known(&takedown.country),
        }
    }
}

/// The time-to-removal figures of one group. Durations are milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovalStats {
    /// The group's name: a host, a network, a country code, [`OVERALL`] or [`UNKNOWN`].
    pub group: String,
    /// Takedowns in the group.
    pub takedowns: usize,
    /// Of those, removed.
    pub removed: usize,
    /// Of those, still open (not removed).
    pub open: usize,
    /// The median time to removal of the removed ones (nearest rank), if any was removed.
    pub median_ms: Option<i64>,
    /// Their 90th percentile (nearest rank), if any was removed.
    pub p90_ms: Option<i64>,
    /// How long the oldest open one has been open at `now`, if any is open.
    pub open_longest_ms: Option<i64>,
}

/// The figures of `takedowns` by `grouping`, open ages measured at `now`.
///
/// Groups come most takedowns first, then by name. [`Grouping::Overall`] always gives one
/// group, with zero takedowns when there are none; the other groupings give no group for no
/// takedowns.
pub fn removal_stats(takedowns: &[Takedown], grouping: Grouping, now: i64) -> Vec<RemovalStats> {
    let mut groups: BTreeMap<&str, Vec<&Takedown>> = BTreeMap::new();
    if grouping == Grouping::Overall {
        groups.insert(OVERALL, Vec::new());
    }
    for takedown in takedowns {
        groups
            .entry(grouping.group_of(takedown))
            .or_default()
            .push(takedown);
    }
    let mut stats: Vec<RemovalStats> = groups
        .into_iter()
        .map(|(group, members)| group_stats(group, &members, now))
        .collect();
    // The map gave them by name; a stable sort keeps that order among equal counts.
    stats.sort_by_key(|stats| std::cmp::Reverse(stats.takedowns));
    stats
}

fn group_stats(group: &str, members: &[&Takedown], now: i64) -> RemovalStats {
    let mut durations: Vec<i64> = members
        .iter()
        .filter_map(|takedown| {
            let removed_at = takedown.removed_at?;
            Some(removed_at.saturating_sub(takedown.started_at()).max(0))
        })
        .collect();
    let open_longest_ms = members
        .iter()
        .filter(|takedown| takedown.removed_at.is_none())
        .map(|takedown| now.saturating_sub(takedown.started_at()).max(0))
        .max();
    let removed = durations.len();
    RemovalStats {
        group: group.to_string(),
        takedowns: members.len(),
        removed,
        open: members.len() - removed,
        median_ms: nearest_rank(&mut durations, 50),
        p90_ms: nearest_rank(&mut durations, 90),
        open_longest_ms,
    }
}

/// The `percent`-th percentile of `values` by nearest rank, found by selection (linear time,
/// no full sort: a year of takedowns is sorted only as much as the rank needs). Reorders
/// `values`.
fn nearest_rank(values: &mut [i64], percent: usize) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let index = rank_index(values.len(), percent);
    let (_, value, _) = values.select_nth_unstable(index);
    Some(*value)
}

/// The 0-based index of the nearest rank `ceil(percent / 100 * count)`, at least the first.
fn rank_index(count: usize, percent: usize) -> usize {
    (percent.min(100) * count).div_ceil(100).max(1) - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOUR: i64 = 3_600_000;

    fn takedown(
        host: &str,
        country: Option<&str>,
        noticed_at: Option<i64>,
        removed_at: Option<i64>,
    ) -> Takedown {
        Takedown {
            reference: format!("item-{host}"),
            host: host.to_string(),
            network: None,
            country: country.map(str::to_string),
            reported_at: 0,
            noticed_at,
            removed_at,
        }
    }

    /// The brute-force twin: sort everything and take the first value at or below which at
    /// least `percent` % of the values lie (the definition of the nearest rank).
    fn sorted_rank(values: &[i64], percent: usize) -> Option<i64> {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let count = sorted.len();
        let rank = (1..=count).find(|rank| rank * 100 >= percent * count)?;
        Some(sorted[rank - 1])
    }

    proptest! {
        #[test]
        fn percentiles_agree_with_sorting_and_indexing(
            values in proptest::collection::vec(0i64..10_000_000_000, 0..200),
        ) {
            for percent in [50, 90] {
                let mut scratch = values.clone();
                prop_assert_eq!(nearest_rank(&mut scratch, percent), sorted_rank(&values, percent));
            }
        }

        #[test]
        fn group_figures_agree_with_sorting_and_indexing(
            times in proptest::collection::vec((0i64..1_000_000, proptest::option::of(0i64..1_000_000)), 0..100),
        ) {
            let takedowns: Vec<Takedown> = times
                .iter()
                .map(|&(noticed, gone)| takedown("host.example", None, Some(noticed), gone.map(|g| noticed + g)))
                .collect();
            let durations: Vec<i64> = times.iter().filter_map(|&(_, gone)| gone).collect();
            let stats = &removal_stats(&takedowns, Grouping::Overall, 2_000_000)[0];
            prop_assert_eq!(stats.removed, durations.len());
            prop_assert_eq!(stats.median_ms, sorted_rank(&durations, 50));
            prop_assert_eq!(stats.p90_ms, sorted_rank(&durations, 90));
        }
    }

    #[test]
    fn nearest_rank_picks_an_observed_value() {
        // Ten values 1..=10: the median is the 5th, the 90th percentile the 9th.
        let mut values: Vec<i64> = (1..=10).rev().collect();
        assert_eq!(nearest_rank(&mut values, 50), Some(5));
        assert_eq!(nearest_rank(&mut values, 90), Some(9));
        assert_eq!(nearest_rank(&mut [7], 90), Some(7));
        assert_eq!(nearest_rank(&mut [], 50), None);
    }

    #[test]
    fn removal_counts_from_the_notice_or_else_the_report() {
        let takedowns = [
            // Noticed at 10 h, gone at 12 h: 2 h.
            takedown("a.example", Some("FR"), Some(10 * HOUR), Some(12 * HOUR)),
            // Never noticed, gone at 30 h after the report at 0: 30 h.
            takedown("b.example", Some("FR"), None, Some(30 * HOUR)),
            // Gone before the notice went out: zero.
            takedown("c.example", Some("DE"), Some(5 * HOUR), Some(4 * HOUR)),
            // Open since the notice at 20 h; now is 100 h: 80 h.
            takedown("d.example", None, Some(20 * HOUR), None),
            // Open and never noticed, reported at 0: 100 h, the longest.
            takedown("e.example", Some(" "), None, None),
        ];
        let overall = removal_stats(&takedowns, Grouping::Overall, 100 * HOUR);
        assert_eq!(
            overall,
            [RemovalStats {
                group: OVERALL.to_string(),
                takedowns: 5,
                removed: 3,
                open: 2,
                median_ms: Some(2 * HOUR),
                p90_ms: Some(30 * HOUR),
                open_longest_ms: Some(100 * HOUR),
            }]
        );
        let by_country = removal_stats(&takedowns, Grouping::Country, 100 * HOUR);
        let summary: Vec<_> = by_country
            .iter()
            .map(|s| {
                (
                    s.group.as_str(),
                    s.takedowns,
                    s.open,
                    s.median_ms,
                    s.open_longest_ms,
                )
            })
            .collect();
        // FR and unknown have two each (by name: FR before unknown), DE one.
        assert_eq!(
            summary,
            [
                ("FR", 2, 0, Some(2 * HOUR), None),
                (UNKNOWN, 2, 2, None, Some(100 * HOUR)),
                ("DE", 1, 0, Some(0), None),
            ]
        );
    }

    #[test]
    fn no_takedowns_is_one_empty_overall_group_and_nothing_else() {
        let overall = removal_stats(&[], Grouping::Overall, 0);
        assert_eq!(overall.len(), 1);
        assert_eq!(overall[0].takedowns, 0);
        assert_eq!(overall[0].median_ms, None);
        assert!(removal_stats(&[], Grouping::Network, 0).is_empty());
        assert!(removal_stats(&[], Grouping::Host, 0).is_empty());
    }

    #[test]
    fn extreme_times_neither_overflow_nor_go_negative() {
        let takedowns = [
            takedown("a.example", None, Some(i64::MIN), Some(i64::MAX)),
            takedown("b.example", None, Some(i64::MAX), None),
        ];
        let stats = &removal_stats(&takedowns, Grouping::Overall, i64::MIN)[0];
        assert_eq!(stats.median_ms, Some(i64::MAX));
        assert_eq!(stats.open_longest_ms, Some(0));
    }
}
