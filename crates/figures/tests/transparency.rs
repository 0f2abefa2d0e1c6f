//! A hotline publishes its year: the HTML page reads as a well-formed document with every
//! section and the right figures, names no host, item or address, and the CSV read back gives
//! the same numbers.

use std::collections::HashMap;

use quick_xml::events::Event;
use vigie_figures::{write_csv, write_html, Takedown, TransparencyInput};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2026-01-01T00:00:00Z.
const YEAR_START: i64 = 1_767_225_600_000;
/// 2027-01-01T00:00:00Z.
const YEAR_END: i64 = 1_798_761_600_000;
/// 2027-01-05T00:00:00Z.
const WRITTEN: i64 = 1_799_107_200_000;

fn takedown(
    number: u32,
    network: Option<&str>,
    country: Option<&str>,
    noticed_at: i64,
    removed_after: Option<i64>,
) -> Takedown {
    Takedown {
        reference: format!("item-{number}"),
        host: format!("host-{number}.example"),
        network: network.map(str::to_string),
        country: country.map(str::to_string),
        reported_at: noticed_at - HOUR,
        noticed_at: Some(noticed_at),
        removed_at: removed_after.map(|after| noticed_at + after),
    }
}

/// A small year, benign and made up: 37 reports, 20 items, 4 takedowns.
fn year() -> TransparencyInput {
    let march = YEAR_START + 60 * DAY;
    TransparencyInput {
        hotline: "Test Hotline <FR>".to_string(),
        country: "FR".to_string(),
        from: YEAR_START,
        to: YEAR_END,
        generated_at: WRITTEN,
        reports_by_category: vec![
            ("csam".to_string(), 30),
            ("grooming".to_string(), 5),
            ("not_illegal".to_string(), 2),
        ],
        reports_per_day: vec![(march, 20), (march + DAY, 10), (march + 134 * DAY, 7)],
        items: 20,
        resolved_without_view: 15,
        decisions: vec![
            ("notice_host".to_string(), 8),
            ("law_enforcement".to_string(), 3),
        ],
        notices_sent: 9,
        takedowns: vec![
            takedown(
                1,
                Some("AS16276 OVH SAS"),
                Some("FR"),
                march,
                Some(2 * HOUR),
            ),
            takedown(
                2,
                Some("AS16276 OVH SAS"),
                Some("FR"),
                march,
                Some(10 * HOUR),
            ),
            takedown(
                3,
                Some("AS24940 Hetzner"),
                Some("DE"),
                march,
                Some(30 * HOUR),
            ),
            // Still online, noticed two days before the report was written.
            takedown(4, None, None, WRITTEN - 2 * DAY, None),
        ],
    }
}

/// Reads `html` as XML, failing on anything not well-formed; returns the text of every
/// element by name (`h2`, `td`, `title`, ...) and how many of each element there are.
fn read_xml(html: &str) -> (HashMap<String, Vec<String>>, HashMap<String, usize>) {
    let mut reader = quick_xml::Reader::from_str(html);
    let (mut texts, mut counts): (HashMap<String, Vec<String>>, HashMap<String, usize>) =
        Default::default();
    let mut open: Vec<String> = Vec::new();
    loop {
        match reader.read_event().expect("well-formed") {
            Event::Start(element) => {
                let name = String::from_utf8(element.name().as_ref().to_vec()).unwrap();
                *counts.entry(name.clone()).or_default() += 1;
                open.push(name);
            }
            Event::Empty(element) => {
                let name = String::from_utf8(element.name().as_ref().to_vec()).unwrap();
                *counts.entry(name).or_default() += 1;
            }
            Event::Text(text) => {
                let text = text.unescape().expect("escaped").trim().to_string();
                if let (Some(name), false) = (open.last(), text.is_empty()) {
                    texts.entry(name.clone()).or_default().push(text);
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
    (texts, counts)
}

#[test]
fn the_html_report_has_every_section_and_the_right_figures() {
    let mut html = Vec::new();
    write_html(&year(), &mut html).expect("writing to memory");
    let html = String::from_utf8(html).expect("UTF-8");
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    let (texts, counts) = read_xml(&html);

    assert_eq!(
        texts["title"][0],
        "Test Hotline <FR>: transparency report, 2026-01-01 to 2026-12-31"
    );
    assert_eq!(
        texts["h2"],
        ["Reports", "Assessment", "Notices and time to removal"]
    );
    assert_eq!(texts["h3"], ["By hosting country", "By network"]);
    // Self-contained: a style of its own, no script, nothing loaded from elsewhere.
    assert_eq!(counts["style"], 1);
    for absent in ["script", "link", "img", "iframe"] {
        assert!(!counts.contains_key(absent), "a <{absent}> in the report");
    }
    // The per-day chart and one chart of medians for each grouping, each with its table.
    assert_eq!(counts["svg"], 3);
    assert_eq!(
        html.matches("<rect class=\"bar\"").count(),
        3 + 2 + 2,
        "three days, two countries and two networks with a removal"
    );
    let cells = &texts["td"];
    let has = |text: &str| cells.iter().any(|cell| cell == text);
    for figure in [
        "30",
        "15 (75.0 %)",
        "9",
        // Overall: removed in 2 h, 10 h and 30 h: median 10 h, 90th percentile 30 h.
        "10 h 0 min",
        "1 d 6 h",
        // One still online for two days.
        "2 d 0 h",
        "AS16276 OVH SAS",
        "unknown",
    ] {
        assert!(has(figure), "no cell {figure:?} in {cells:?}");
    }
    assert!(!html.contains("<script"));
}

#[test]
fn the_report_names_no_host_item_or_address() {
    let input = year();
    let mut html = Vec::new();
    write_html(&input, &mut html).unwrap();
    let mut csv = Vec::new();
    write_csv(&input, &mut csv).unwrap();
    for written in [
        String::from_utf8(html).unwrap(),
        String::from_utf8(csv).unwrap(),
    ] {
        for takedown in &input.takedowns {
            assert!(
                !written.contains(&takedown.host),
                "{} published",
                takedown.host
            );
            assert!(!written.contains(&takedown.reference));
        }
        assert!(!written.contains("https://"));
    }
}

#[test]
fn the_csv_read_back_gives_the_numbers() {
    let mut csv = Vec::new();
    write_csv(&year(), &mut csv).expect("writing to memory");
    let mut reader = csv::Reader::from_reader(&csv[..]);
    assert_eq!(
        reader.headers().unwrap(),
        vec!["section", "group", "metric", "value"]
    );
    let mut figures: HashMap<(String, String, String), String> = HashMap::new();
    for record in reader.records() {
        let record = record.expect("a well-formed row");
        assert_eq!(record.len(), 4, "{record:?}");
        let key = (record[0].into(), record[1].into(), record[2].into());
        assert!(
            figures.insert(key.clone(), record[3].into()).is_none(),
            "{key:?} twice"
        );
    }
    let value = |section: &str, group: &str, metric: &str| {
        figures
            .get(&(section.into(), group.into(), metric.into()))
            .unwrap_or_else(|| panic!("no row {section},{group},{metric}"))
            .as_str()
    };
    assert_eq!(value("report", "all", "hotline"), "Test Hotline <FR>");
    assert_eq!(value("period", "all", "from_ms"), YEAR_START.to_string());
    assert_eq!(value("period", "all", "to_ms"), YEAR_END.to_string());
    assert_eq!(value("reports", "all", "count"), "37");
    assert_eq!(value("reports_by_category", "grooming", "count"), "5");
    assert_eq!(value("reports_per_day", "2026-03-02", "count"), "20");
    assert_eq!(value("reports_per_day", "2026-07-14", "count"), "7");
    assert_eq!(value("items", "all", "resolved_without_view"), "15");
    assert_eq!(value("decisions", "law_enforcement", "count"), "3");
    assert_eq!(value("notices", "all", "sent"), "9");
    assert_eq!(value("removal", "all", "takedowns"), "4");
    assert_eq!(value("removal", "all", "removed"), "3");
    assert_eq!(value("removal", "all", "open"), "1");
    assert_eq!(
        value("removal", "all", "median_ms"),
        (10 * HOUR).to_string()
    );
    assert_eq!(value("removal", "all", "p90_ms"), (30 * HOUR).to_string());
    assert_eq!(
        value("removal", "all", "open_longest_ms"),
        (2 * DAY).to_string()
    );
    assert_eq!(
        value("removal_by_country", "FR", "median_ms"),
        (2 * HOUR).to_string()
    );
    assert_eq!(value("removal_by_country", "FR", "open_longest_ms"), "");
    assert_eq!(
        value("removal_by_network", "AS16276 OVH SAS", "removed"),
        "2"
    );
    assert_eq!(value("removal_by_network", "unknown", "open"), "1");
    assert!(
        !figures
            .keys()
            .any(|(section, _, _)| section.contains("host")),
        "by-host rows are not published"
    );
}

#[test]
fn an_empty_period_still_makes_a_whole_report() {
    let empty = TransparencyInput {
        hotline: "Test Hotline".to_string(),
        from: YEAR_START,
        to: YEAR_END,
        generated_at: WRITTEN,
        ..TransparencyInput::default()
    };
    let mut html = Vec::new();
    write_html(&empty, &mut html).unwrap();
    let (texts, _) = read_xml(&String::from_utf8(html).unwrap());
    assert!(texts["td"].iter().any(|cell| cell == "None"));
    let mut csv = Vec::new();
    write_csv(&empty, &mut csv).unwrap();
    let text = String::from_utf8(csv).unwrap();
    assert!(text.contains("removal,all,takedowns,0\n"), "{text}");
    assert!(text.contains("removal,all,median_ms,\n"), "{text}");
}
