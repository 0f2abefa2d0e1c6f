//! The transparency report a hotline publishes: a self-contained HTML page and a CSV of the
//! same figures.
//!
//! Hotlines publish their yearly figures (INHOPE's members, Point de Contact in France): what
//! was reported and of which kind, how much was settled without anyone having to look (known
//! material recognised by its hashes), what was decided, how many notices went to hosts, and
//! how long the content stayed online after them, overall, by hosting country and by network.
//! This module lays out what the caller computed for a period; it decides nothing about which
//! reports or takedowns belong to the period (the caller's query does). Open takedowns are
//! counted as of `generated_at`, the report's time of writing.
//!
//! # What is never published
//!
//! No URL, no item reference and nothing about who reported: only counts and durations, by
//! category, decision, day, country and network. The figures by host are left out of the
//! published report on purpose, although [`removal_stats`] computes them for the hotline's own
//! pages: a host with content still online, named in a public document, is a signpost to that
//! content, and a small site named beside one report may be enough to tell who reported it.
//!
//! # The HTML page
//!
//! One file, English, readable offline and printable: inline CSS, the charts as inline SVG
//! ([`crate::chart`]), no script, no font, image or link from elsewhere. It is written as
//! well-formed XML too (void elements closed, every text escaped), so any XML reader can check
//! it. Each chart has its table beside it.
//!
//! # The CSV
//!
//! One row per figure, with the header `section,group,metric,value`. The rows, in this order
//! (the names are stable; a consumer matches on them):
//!
//! | section | group | metric | value |
//! | --- | --- | --- | --- |
//! | `report` | `all` | `hotline`, `country` | text |
//! | `period` | `all` | `from_ms`, `to_ms` (exclusive), `generated_at_ms` | Unix ms |
//! | `reports` | `all` | `count` | reports in the period |
//! | `reports_by_category` | category code | `count` | reports |
//! | `reports_per_day` | `YYYY-MM-DD` (UTC) | `count` | reports |
//! | `items` | `all` | `count`, `resolved_without_view` | items |
//! | `decisions` | decision code | `count` | items |
//! | `notices` | `all` | `sent` | notices |
//! | `removal`, `removal_by_country`, `removal_by_network` | `all`, a country code or a network, `unknown` | `takedowns`, `removed`, `open`, `median_ms`, `p90_ms`, `open_longest_ms` | a count, or ms (empty when there is none: no removal, nothing open) |
//!
//! A text cell that a spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`,
//! a tab or a carriage return) is written with a leading `'`: network names come from
//! imported tables, and a published CSV is opened in spreadsheets.

use std::io::{self, Write};

use crate::chart::{counts_per_day, durations_by_group, escape};
use crate::removal::{removal_stats, Grouping, RemovalStats, Takedown};
use crate::{duration_text, utc_date};

/// What a transparency report says, for the period `[from, to)`. Times are Unix ms.
#[derive(Debug, Clone, Default)]
pub struct TransparencyInput {
    /// The hotline's name, as it signs the report.
    pub hotline: String,
    /// The hotline's country (ISO 3166 alpha-2).
    pub country: String,
    /// The first millisecond of the period.
    pub from: i64,
    /// The first millisecond after the period.
    pub to: i64,
    /// When the report was made; open takedowns are aged to this time.
    pub generated_at: i64,
    /// (category code, reports), in the order shown.
    pub reports_by_category: Vec<(String, i64)>,
    /// (start of the UTC day, reports), days without reports left out.
    pub reports_per_day: Vec<(i64, i64)>,
    /// Items (distinct reported URLs and files) assessed in the period.
    pub items: i64,
    /// Of those, resolved without any person viewing the content (a bank match).
    pub resolved_without_view: i64,
    /// (decision code, items), in the order shown.
    pub decisions: Vec<(String, i64)>,
    /// Notices sent to hosts.
    pub notices_sent: i64,
    /// The takedowns followed in the period.
    pub takedowns: Vec<Takedown>,
}

/// How many groups a chart by country or by network shows at most (those with the most
/// takedowns); the table beside it has them all.
const CHART_GROUPS: usize = 15;

/// What both writers show, computed once.
struct Figures {
    reports: i64,
    overall: RemovalStats,
    by_country: Vec<RemovalStats>,
    by_network: Vec<RemovalStats>,
}

impl Figures {
    fn of(input: &TransparencyInput) -> Figures {
        let stats = |grouping| removal_stats(&input.takedowns, grouping, input.generated_at);
        Figures {
            reports: input
                .reports_by_category
                .iter()
                .fold(0i64, |sum, (_, count)| sum.saturating_add(*count)),
            // Grouping::Overall always gives exactly one group, empty or not.
            overall: stats(Grouping::Overall).remove(0),
            by_country: stats(Grouping::Country),
            by_network: stats(Grouping::Network),
        }
    }
}

/// Writes the report as a self-contained HTML page (see the module documentation).
pub fn write_html(input: &TransparencyInput, out: &mut impl Write) -> io::Result<()> {
    let figures = Figures::of(input);
    let hotline = escape(&input.hotline);
    let period = format!(
        "{} to {}",
        utc_date(input.from),
        utc_date(input.to.saturating_sub(1))
    );
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n\
         <title>{hotline}: transparency report, {period}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n<main>\n<h1>{hotline}: transparency report</h1>\n\
         <p class=\"lead\">From {period} (UTC), hotline of {}. Written on {}.</p>\n",
        escape(&input.country),
        utc_date(input.generated_at)
    )?;

    writeln!(out, "<section id=\"reports\">\n<h2>Reports</h2>")?;
    writeln!(out, "<p>{} reports received.</p>", figures.reports)?;
    count_table(
        out,
        "Reports by category",
        "Category",
        "Reports",
        &input.reports_by_category,
    )?;
    writeln!(
        out,
        "{}",
        counts_per_day("Reports per day", &input.reports_per_day)
    )?;
    let days: Vec<(String, i64)> = input
        .reports_per_day
        .iter()
        .map(|&(day, count)| (utc_date(day), count))
        .collect();
    writeln!(
        out,
        "<details>\n<summary>Reports per day, as a table</summary>"
    )?;
    count_table(out, "Reports per day", "Day (UTC)", "Reports", &days)?;
    writeln!(out, "</details>\n</section>")?;

    writeln!(out, "<section id=\"assessment\">\n<h2>Assessment</h2>")?;
    row_table(
        out,
        &[
            ("Items assessed", input.items.to_string()),
            (
                "Resolved without anyone viewing the content (recognised by its hashes)",
                format!(
                    "{} ({})",
                    input.resolved_without_view,
                    share(input.resolved_without_view, input.items)
                ),
            ),
        ],
    )?;
    count_table(out, "Decisions", "Decision", "Items", &input.decisions)?;
    writeln!(out, "</section>")?;

    let overall = &figures.overall;
    let duration = |ms: Option<i64>| ms.map_or_else(|| "—".to_string(), duration_text);
    writeln!(
        out,
        "<section id=\"removal\">\n<h2>Notices and time to removal</h2>"
    )?;
    row_table(
        out,
        &[
            ("Notices sent to hosts", input.notices_sent.to_string()),
            ("Takedowns followed", overall.takedowns.to_string()),
            ("Content removed", overall.removed.to_string()),
            ("Median time to removal", duration(overall.median_ms)),
            ("90th percentile", duration(overall.p90_ms)),
            ("Still online", overall.open.to_string()),
            ("Longest still online", duration(overall.open_longest_ms)),
        ],
    )?;
    writeln!(
        out,
        "<p class=\"note\">Time to removal runs from the first notice to the host to the check \
         that found the content gone (from the report when the content went before any notice). \
         The median and the 90th percentile are those of the content removed, by the \
         nearest-rank method: each is one real takedown's time. Content still online is counted \
         apart, as of the day this report was written.</p>"
    )?;
    removal_group(out, "By hosting country", "Country", &figures.by_country)?;
    removal_group(out, "By network", "Network", &figures.by_network)?;
    writeln!(
        out,
        "</section>\n<footer>\n<p>Counts and durations only: this report names no address of \
         any content, no host, and nothing about who reported.</p>\n</footer>\n</main>\n\
         </body>\n</html>"
    )
}

/// The page's inline style: readable, printable, no outside resource.
const STYLE: &str = "body{font-family:system-ui,sans-serif;color:#1a1a1a;margin:0;\
line-height:1.45}main{max-width:60rem;margin:0 auto;padding:1rem 1.5rem 3rem}\
table{border-collapse:collapse;width:100%;margin:0.5rem 0 1.5rem}caption{text-align:left;\
font-weight:600;padding:0.3rem 0}th,td{text-align:left;padding:0.3rem 0.5rem;\
border-bottom:1px solid #ccc}thead th+th,td.number{text-align:right;font-variant-numeric:tabular-nums}\
svg.chart{display:block;max-width:100%;height:auto;margin:0.5rem 0}.note{color:#444}\
footer{margin-top:2rem;border-top:1px solid #ccc;color:#444}";

/// A two-column table of counts with a caption, or a row saying there are none.
fn count_table(
    out: &mut impl Write,
    caption: &str,
    name: &str,
    counted: &str,
    rows: &[(String, i64)],
) -> io::Result<()> {
    writeln!(
        out,
        "<table>\n<caption>{caption}</caption>\n<thead><tr><th scope=\"col\">{name}</th>\
         <th scope=\"col\">{counted}</th></tr></thead>\n<tbody>"
    )?;
    for (label, count) in rows {
        writeln!(
            out,
            "<tr><td>{}</td><td class=\"number\">{count}</td></tr>",
            escape(label)
        )?;
    }
    if rows.is_empty() {
        writeln!(out, "<tr><td colspan=\"2\">None</td></tr>")?;
    }
    writeln!(out, "</tbody>\n</table>")
}

/// A table of labelled figures, one a row.
fn row_table(out: &mut impl Write, rows: &[(&str, String)]) -> io::Result<()> {
    writeln!(out, "<table>\n<tbody>")?;
    for (label, value) in rows {
        writeln!(
            out,
            "<tr><th scope=\"row\">{label}</th><td class=\"number\">{}</td></tr>",
            escape(value)
        )?;
    }
    writeln!(out, "</tbody>\n</table>")
}

/// One grouping's time to removal: a chart of the medians and the table of every group.
fn removal_group(
    out: &mut impl Write,
    heading: &str,
    group_name: &str,
    groups: &[RemovalStats],
) -> io::Result<()> {
    writeln!(out, "<h3>{heading}</h3>")?;
    let medians: Vec<(String, i64)> = groups
        .iter()
        .filter_map(|group| Some((group.group.clone(), group.median_ms?)))
        .take(CHART_GROUPS)
        .collect();
    if !medians.is_empty() {
        let title = format!("Median time to removal, {}", heading.to_lowercase());
        writeln!(out, "{}", durations_by_group(&title, &medians))?;
    }
    writeln!(
        out,
        "<table>\n<caption>Time to removal, {}</caption>\n<thead><tr>\
         <th scope=\"col\">{group_name}</th><th scope=\"col\">Takedowns</th>\
         <th scope=\"col\">Removed</th><th scope=\"col\">Median</th>\
         <th scope=\"col\">90th percentile</th><th scope=\"col\">Still online</th>\
         <th scope=\"col\">Longest still online</th></tr></thead>\n<tbody>",
        heading.to_lowercase()
    )?;
    let duration = |ms: Option<i64>| ms.map_or_else(|| "—".to_string(), duration_text);
    for group in groups {
        writeln!(
            out,
            "<tr><td>{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td>\
             <td class=\"number\">{}</td><td class=\"number\">{}</td>\
             <td class=\"number\">{}</td><td class=\"number\">{}</td></tr>",
            escape(&group.group),
            group.takedowns,
            group.removed,
            duration(group.median_ms),
            duration(group.p90_ms),
            group.open,
            duration(group.open_longest_ms)
        )?;
    }
    if groups.is_empty() {
        writeln!(out, "<tr><td colspan=\"7\">None</td></tr>")?;
    }
    writeln!(out, "</tbody>\n</table>")
}

/// `part` of `whole` as a percentage with one decimal ("87.5 %"), "—" when `whole` is not
/// positive.
fn share(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "—".to_string();
    }
    let permille = (i128::from(part) * 1000 + i128::from(whole) / 2) / i128::from(whole);
    format!("{}.{} %", permille / 10, (permille % 10).abs())
}

/// Writes the report's figures as CSV, one row per figure (see the module documentation).
pub fn write_csv(input: &TransparencyInput, out: &mut impl Write) -> io::Result<()> {
    let figures = Figures::of(input);
    let mut csv = csv::Writer::from_writer(out);
    let mut row = |section: &str, group: &str, metric: &str, value: &str| {
        csv.write_record([section, spreadsheet_safe(group).as_str(), metric, value])
    };
    row("section", "group", "metric", "value")?;
    row(
        "report",
        "all",
        "hotline",
        &spreadsheet_safe(&input.hotline),
    )?;
    row(
        "report",
        "all",
        "country",
        &spreadsheet_safe(&input.country),
    )?;
    row("period", "all", "from_ms", &input.from.to_string())?;
    row("period", "all", "to_ms", &input.to.to_string())?;
    row(
        "period",
        "all",
        "generated_at_ms",
        &input.generated_at.to_string(),
    )?;
    row("reports", "all", "count", &figures.reports.to_string())?;
    for (category, count) in &input.reports_by_category {
        row("reports_by_category", category, "count", &count.to_string())?;
    }
    for &(day, count) in &input.reports_per_day {
        row(
            "reports_per_day",
            &utc_date(day),
            "count",
            &count.to_string(),
        )?;
    }
    row("items", "all", "count", &input.items.to_string())?;
    row(
        "items",
        "all",
        "resolved_without_view",
        &input.resolved_without_view.to_string(),
    )?;
    for (decision, count) in &input.decisions {
        row("decisions", decision, "count", &count.to_string())?;
    }
    row("notices", "all", "sent", &input.notices_sent.to_string())?;
    let sections = [
        ("removal", std::slice::from_ref(&figures.overall)),
        ("removal_by_country", &figures.by_country[..]),
        ("removal_by_network", &figures.by_network[..]),
    ];
    for (section, groups) in sections {
        for group in groups {
            let optional = |ms: Option<i64>| ms.map(|ms| ms.to_string()).unwrap_or_default();
            let metrics = [
                ("takedowns", group.takedowns.to_string()),
                ("removed", group.removed.to_string()),
                ("open", group.open.to_string()),
                ("median_ms", optional(group.median_ms)),
                ("p90_ms", optional(group.p90_ms)),
                ("open_longest_ms", optional(group.open_longest_ms)),
            ];
            for (metric, value) in metrics {
                row(section, &group.group, metric, &value)?;
            }
        }
    }
    csv.flush()
}

/// `text` as a spreadsheet shows it and does not run: a leading `'` before what would start a
/// formula.
fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_to_one_decimal() {
        assert_eq!(share(7, 8), "87.5 %");
        assert_eq!(share(2, 3), "66.7 %");
        assert_eq!(share(0, 5), "0.0 %");
        assert_eq!(share(5, 0), "—");
        assert_eq!(share(i64::MAX, i64::MAX), "100.0 %");
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("AS16276 OVH SAS"), "AS16276 OVH SAS");
        assert_eq!(spreadsheet_safe(""), "");
    }
}
