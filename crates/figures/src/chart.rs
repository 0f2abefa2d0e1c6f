//! SVG bar charts, written as strings: counts per day, and durations per group.
//!
//! The charts go inline into HTML: the server's figures page, whose Content-Security-Policy
//! allows no script and no inline style, and the self-contained transparency report. So they
//! use presentation attributes only (`fill`, `font-size`; never a `style` attribute or
//! element), carry no script, no link and no outside reference, and scale to the width they are
//! given (`width="100%"` and a `viewBox`, the height following from it).
//!
//! They are images to assistive technology (`role="img"`, `aria-label` and a `<title>`, the
//! caller's title): a page showing one keeps the table of the same figures beside it, which is
//! what a screen reader reads. Each bar has the class `bar` and a `<title>` of its own (a
//! tooltip with its label and value). Every text written, titles and labels included, is
//! escaped, and characters XML cannot hold are replaced, so a hostile group name (a network's
//! organisation comes from imported tables) can neither break out of the SVG nor make it
//! unreadable.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::{duration_text, utc_date, DAY_MS};

/// The drawing's width in its own units; it is scaled to the page.
const WIDTH: f64 = 720.0;
const BAR_FILL: &str = "#2a5d9f";
const AXIS_STROKE: &str = "#767676";
const TEXT_FILL: &str = "#1a1a1a";
/// The longest group label shown, in characters; the bar's tooltip has it whole.
const LABEL_CHARS: usize = 28;

/// A vertical bar chart of counts per day: `days` are (start of the UTC day in Unix ms,
/// count), in any order, one bar per distinct day (counts given twice for one day are added).
/// The days are laid on a continuous axis from the first to the last, so a day without a
/// value is a visible gap, not a bar moved next to its neighbour. Each bar's tooltip reads
/// `2026-11-30: 12`; negative counts are drawn as zero.
pub fn counts_per_day(title: &str, days: &[(i64, i64)]) -> String {
    const HEIGHT: f64 = 240.0;
    const LEFT: f64 = 48.0;
    const RIGHT: f64 = 12.0;
    const TOP: f64 = 16.0;
    const BOTTOM: f64 = 36.0;
    let (plot_width, plot_height) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let baseline = TOP + plot_height;

    let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
    for &(day, count) in days {
        let total = counts.entry(day.div_euclid(DAY_MS)).or_default();
        *total = total.saturating_add(count.max(0));
    }
    let mut svg = Svg::open(title, HEIGHT);
    let axis_max = nice_ceiling(counts.values().copied().max().unwrap_or(0));
    for tick in ticks(axis_max) {
        let y = baseline - scale(tick, axis_max, plot_height);
        svg.line(LEFT, y, WIDTH - RIGHT, y);
        svg.text(LEFT - 6.0, y + 4.0, "end", &tick.to_string());
    }
    let (Some((&first, _)), Some((&last, _))) = (counts.first_key_value(), counts.last_key_value())
    else {
        return svg.close();
    };
    let slots = (last - first + 1) as f64;
    let slot_width = plot_width / slots;
    let gap = (slot_width * 0.15).min(3.0);
    for (&day, &count) in &counts {
        let x = LEFT + (day - first) as f64 * slot_width;
        let height = scale(count, axis_max, plot_height);
        let date = utc_date(day.saturating_mul(DAY_MS));
        svg.bar(
            x + gap,
            baseline - height,
            slot_width - 2.0 * gap,
            height,
            &format!("{date}: {count}"),
        );
        if slot_width >= 20.0 {
            svg.text(
                x + slot_width / 2.0,
                baseline - height - 3.0,
                "middle",
                &count.to_string(),
            );
        }
    }
    // About six dates under the axis, at the days they name, the first and the last included
    // when they fall on the step; a date at an edge is moved in far enough to be read whole.
    let step = ((last - first) / 6).max(1);
    let mut day = first;
    while day <= last {
        let x = (LEFT + ((day - first) as f64 + 0.5) * slot_width).clamp(40.0, WIDTH - 34.0);
        svg.text(
            x,
            baseline + 18.0,
            "middle",
            &utc_date(day.saturating_mul(DAY_MS)),
        );
        day += step;
    }
    svg.close()
}

/// A horizontal bar chart of durations per group: `rows` are (group, milliseconds), drawn in
/// the order given, one bar each, its length proportional to the duration and the duration
/// written after it in words ("2 d 4 h"). A label longer than 28 characters is cut (with "…")
/// beside its bar and whole in the bar's tooltip. Negative durations are drawn as zero.
pub fn durations_by_group(title: &str, rows: &[(String, i64)]) -> String {
    const LABELS: f64 = 200.0;
    const VALUES: f64 = 90.0;
    const ROW: f64 = 24.0;
    const BAR: f64 = 16.0;
    const MARGIN: f64 = 8.0;
    let bar_area = WIDTH - LABELS - VALUES;
    let height = 2.0 * MARGIN + ROW * rows.len().max(1) as f64;
    let longest = rows
        .iter()
        .map(|(_, ms)| (*ms).max(0))
        .max()
        .unwrap_or(0)
        .max(1);

    let mut svg = Svg::open(title, height);
    svg.line(LABELS, MARGIN, LABELS, height - MARGIN);
    for (index, (group, ms)) in rows.iter().enumerate() {
        let ms = (*ms).max(0);
        let top = MARGIN + index as f64 * ROW;
        let middle = top + ROW / 2.0 + 4.0;
        let length = scale(ms, longest, bar_area);
        let words = duration_text(ms);
        svg.text(LABELS - 6.0, middle, "end", &shortened(group));
        svg.bar(
            LABELS,
            top + (ROW - BAR) / 2.0,
            length,
            BAR,
            &format!("{group}: {words}"),
        );
        svg.text(LABELS + length + 6.0, middle, "start", &words);
    }
    svg.close()
}

/// `value` of `max` as a share of `extent` (0 when `max` is not positive).
fn scale(value: i64, max: i64, extent: f64) -> f64 {
    if max <= 0 {
        return 0.0;
    }
    value.clamp(0, max) as f64 / max as f64 * extent
}

/// The smallest of 1, 2, 5, 10, 20, 50 ... at or above `max`: the top of the count axis, a
/// round number so that its label and the half-way one read easily.
fn nice_ceiling(max: i64) -> i64 {
    let mut power: i64 = 1;
    loop {
        for step in [1, 2, 5] {
            let candidate = power.saturating_mul(step);
            if candidate >= max {
                return candidate;
            }
        }
        if power > i64::MAX / 10 {
            return i64::MAX;
        }
        power *= 10;
    }
}

/// The count axis's labelled lines: zero, the half-way mark when it is whole, and the top.
fn ticks(axis_max: i64) -> Vec<i64> {
    let mut ticks = vec![0];
    if axis_max % 2 == 0 && axis_max > 2 {
        ticks.push(axis_max / 2);
    }
    ticks.push(axis_max);
    ticks
}

/// `label` cut to [`LABEL_CHARS`] characters, with "…" when cut.
fn shortened(label: &str) -> String {
    match label.char_indices().nth(LABEL_CHARS) {
        Some((end, _)) => format!("{}…", &label[..end]),
        None => label.to_string(),
    }
}

/// `text` made safe inside an SVG element or a double- or single-quoted attribute: the five
/// markup characters as entities, and the characters XML 1.0 cannot hold at all (controls but
/// tab and line breaks, U+FFFE, U+FFFF) as U+FFFD, so the document stays well-formed.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '\t' | '\n' | '\r' => escaped.push(c),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => escaped.push('\u{FFFD}'),
            c => escaped.push(c),
        }
    }
    escaped
}

/// An SVG document being written: `open`, shapes, `close`.
struct Svg {
    out: String,
}

impl Svg {
    fn open(title: &str, height: f64) -> Svg {
        let title = escape(title);
        let mut out = String::with_capacity(4096);
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"100%\" \
             viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{title}\" \
             font-family=\"sans-serif\" font-size=\"11\" fill=\"{TEXT_FILL}\">\
             <title>{title}</title>"
        );
        Svg { out }
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64) {
        let _ = write!(
            self.out,
            "<line x1=\"{x1:.2}\" y1=\"{y1:.2}\" x2=\"{x2:.2}\" y2=\"{y2:.2}\" \
             stroke=\"{AXIS_STROKE}\" stroke-width=\"1\"/>"
        );
    }

    fn bar(&mut self, x: f64, y: f64, width: f64, height: f64, tooltip: &str) {
        let _ = write!(
            self.out,
            "<rect class=\"bar\" x=\"{x:.2}\" y=\"{y:.2}\" width=\"{:.2}\" height=\"{height:.2}\" \
             fill=\"{BAR_FILL}\"><title>{}</title></rect>",
            width.max(0.0),
            escape(tooltip)
        );
    }

    fn text(&mut self, x: f64, y: f64, anchor: &str, text: &str) {
        let _ = write!(
            self.out,
            "<text x=\"{x:.2}\" y=\"{y:.2}\" text-anchor=\"{anchor}\">{}</text>",
            escape(text)
        );
    }

    fn close(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::events::Event;

    /// A `<rect class="bar">` as read back: its geometry and its tooltip.
    #[derive(Debug, Default)]
    struct Bar {
        x: f64,
        y: f64,
        width: f64,
        height: f64,
        tooltip: String,
    }

    /// A chart as read back: the root's attributes, the root's title, the bars and every
    /// text drawn.
    struct Drawing {
        root: Vec<(String, String)>,
        title: String,
        bars: Vec<Bar>,
        texts: Vec<String>,
    }

    /// Reads `svg` as XML, failing on anything not well-formed.
    fn parse(svg: &str) -> Drawing {
        let mut reader = quick_xml::Reader::from_str(svg);
        let (mut root, mut title, mut bars, mut texts) =
            (Vec::new(), String::new(), Vec::new(), Vec::new());
        let mut path: Vec<String> = Vec::new();
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Start(element) => {
                    let name = String::from_utf8(element.name().as_ref().to_vec()).unwrap();
                    let attributes: Vec<(String, String)> = element
                        .attributes()
                        .map(|a| {
                            let a = a.expect("a well-formed attribute");
                            (
                                String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                                a.unescape_value().expect("escaped").into_owned(),
                            )
                        })
                        .collect();
                    let value = |key: &str| {
                        attributes
                            .iter()
                            .find(|(k, _)| k == key)
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default()
                    };
                    if path.is_empty() {
                        assert_eq!(name, "svg");
                        root = attributes.clone();
                    } else if name == "rect" && value("class") == "bar" {
                        let number = |key: &str| value(key).parse::<f64>().expect("a number");
                        bars.push(Bar {
                            x: number("x"),
                            y: number("y"),
                            width: number("width"),
                            height: number("height"),
                            tooltip: String::new(),
                        });
                    }
                    path.push(name);
                }
                Event::Text(text) => {
                    let text = text.unescape().expect("escaped").into_owned();
                    match path.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                        ["svg", "title"] => title = text,
                        ["svg", "rect", "title"] => bars.last_mut().unwrap().tooltip = text,
                        ["svg", "text"] => texts.push(text),
                        _ => {}
                    }
                }
                Event::End(_) => {
                    path.pop();
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert!(path.is_empty(), "unclosed elements: {path:?}");
        Drawing {
            root,
            title,
            bars,
            texts,
        }
    }

    const DAY_2026_11_28: i64 = 1_795_824_000_000;

    #[test]
    fn a_day_chart_has_one_bar_per_day_with_heights_proportional() {
        let days = [
            (DAY_2026_11_28, 4),
            (DAY_2026_11_28 + DAY_MS, 12),
            // 2026-11-30 had no report: a gap. 2026-12-01 is given twice.
            (DAY_2026_11_28 + 3 * DAY_MS, 1),
            (DAY_2026_11_28 + 3 * DAY_MS, 1),
        ];
        let svg = counts_per_day("Reports per day", &days);
        let Drawing {
            root,
            title,
            bars,
            texts,
        } = parse(&svg);
        assert!(root.contains(&("role".into(), "img".into())));
        assert!(root.contains(&("aria-label".into(), "Reports per day".into())));
        assert_eq!(title, "Reports per day");
        let tooltips: Vec<&str> = bars.iter().map(|bar| bar.tooltip.as_str()).collect();
        assert_eq!(
            tooltips,
            ["2026-11-28: 4", "2026-11-29: 12", "2026-12-01: 2"]
        );
        // Heights in proportion to the counts, all on one baseline.
        let per_report = bars[1].height / 12.0;
        for (bar, count) in bars.iter().zip([4.0, 12.0, 2.0]) {
            assert!((bar.height - count * per_report).abs() < 0.02, "{bar:?}");
            assert!((bar.y + bar.height - (bars[0].y + bars[0].height)).abs() < 0.02);
        }
        // The missing day is a gap of one slot: the last bar starts three slots after the first.
        let slot = bars[1].x - bars[0].x;
        assert!(
            (bars[2].x - bars[0].x - 3.0 * slot).abs() < 0.02,
            "{bars:?}"
        );
        assert!(texts.contains(&"2026-11-28".to_string()), "{texts:?}");
        // The axis tops out at a round 20, half-way at 10.
        assert!(texts.contains(&"20".to_string()) && texts.contains(&"10".to_string()));
    }

    #[test]
    fn a_duration_chart_has_one_bar_per_group_with_lengths_proportional() {
        let hour = 3_600_000;
        let rows = vec![
            ("FR".to_string(), 52 * hour),
            ("DE".to_string(), 13 * hour),
            ("unknown".to_string(), 0),
        ];
        let svg = durations_by_group("Median time to removal by country", &rows);
        let Drawing {
            title, bars, texts, ..
        } = parse(&svg);
        assert_eq!(title, "Median time to removal by country");
        assert_eq!(bars.len(), 3);
        let per_hour = bars[0].width / 52.0;
        for (bar, hours) in bars.iter().zip([52.0, 13.0, 0.0]) {
            assert!((bar.width - hours * per_hour).abs() < 0.02, "{bar:?}");
        }
        assert_eq!(bars[0].tooltip, "FR: 2 d 4 h");
        for words in ["2 d 4 h", "13 h 0 min", "0 s", "FR", "unknown"] {
            assert!(texts.contains(&words.to_string()), "{words}: {texts:?}");
        }
    }

    #[test]
    fn hostile_text_is_escaped_and_the_svg_stays_well_formed() {
        let hostile = "AS666 <script>alert(1)</script> & \"Evil\" 'Org'\u{0}\u{7}\u{FFFF}";
        let rows = vec![(hostile.to_string(), 1000)];
        let svg = durations_by_group(hostile, &rows);
        assert!(!svg.contains("<script"), "{svg}");
        let Drawing {
            root,
            title,
            bars,
            texts,
        } = parse(&svg);
        let readable = "AS666 <script>alert(1)</script> & \"Evil\" 'Org'\u{FFFD}\u{FFFD}\u{FFFD}";
        assert_eq!(title, readable);
        assert!(root.contains(&("aria-label".into(), readable.into())));
        assert_eq!(bars[0].tooltip, format!("{readable}: 1 s"));
        // The label beside the bar is cut; the tooltip keeps it whole.
        assert!(
            texts.contains(&format!("{}…", &readable[..28])),
            "{texts:?}"
        );
    }

    #[test]
    fn empty_and_extreme_input_draws_without_panicking() {
        for days in [
            &[][..],
            &[(0, 0)][..],
            &[(i64::MIN, i64::MAX), (i64::MAX, -5)][..],
        ] {
            let bars = parse(&counts_per_day("t", days)).bars;
            assert_eq!(bars.len(), days.len());
        }
        for rows in [
            vec![],
            vec![("a".to_string(), i64::MIN), ("b".to_string(), i64::MAX)],
        ] {
            let bars = parse(&durations_by_group("t", &rows)).bars;
            assert_eq!(bars.len(), rows.len());
        }
    }

    #[test]
    fn the_count_axis_ends_on_a_round_number() {
        let tops: Vec<i64> = [0, 1, 2, 3, 7, 12, 51, 999, i64::MAX]
            .iter()
            .map(|&max| nice_ceiling(max))
            .collect();
        assert_eq!(tops, [1, 1, 2, 5, 10, 20, 100, 1000, i64::MAX]);
    }
}
