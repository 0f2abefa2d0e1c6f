//! The figures page through the real server: reports on three of the last days appear as a
//! bar chart, one bar per day of the table under it, inline SVG that the page's
//! Content-Security-Policy lets through (no script, no inline style).

use reqwest::{Client, StatusCode};

mod common;
use common::*;

const DAY_MS: i64 = 24 * 3600 * 1000;

#[tokio::test(flavor = "multi_thread")]
async fn the_reports_per_day_table_has_its_chart_above_it() {
    let directory = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", directory.path().join("f.sqlite3").display());
    let server = start(&database).await;
    let client = Client::new();
    let admin = first_admin(&client, &server).await;

    // One report today, two five days ago, three nine days ago (a second after midnight UTC).
    let today = vigie_server::now().div_euclid(DAY_MS) * DAY_MS;
    let mut number = 0;
    for (days_ago, reports) in [(0, 1), (5, 2), (9, 3)] {
        for _ in 0..reports {
            number += 1;
            let at = today - days_ago * DAY_MS + 1000;
            execute_sqlite(
                &database,
                &format!(
                    "INSERT INTO reports (receipt, channel, category, description, language, \
                     received_at) VALUES ('R-{number}', 'public', 'csam', 'benign test', 'en', {at})"
                ),
            )
            .await;
        }
    }

    let response = client
        .get(format!("{}/figures?lang=en", server.base))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("default-src 'none'") && !policy.contains("script-src"));
    let html = response.text().await.unwrap();

    let chart_start = html
        .find("<div id=\"per-day-chart\"><svg ")
        .expect("the chart");
    let table_start = html.find("<table id=\"per-day\">").expect("the table");
    assert!(chart_start < table_start, "the chart comes above the table");
    let chart = &html[chart_start..html[chart_start..].find("</svg>").unwrap() + chart_start];
    assert!(chart.contains("role=\"img\""), "{chart}");
    assert!(chart.contains("aria-label=\"Reports per day (last 30 days)\""));
    assert!(!chart.contains("style=") && !chart.contains("<script"));

    // One bar per row of the table, each saying its day and count.
    let table = &html[table_start..html[table_start..].find("</table>").unwrap() + table_start];
    let rows: Vec<(String, String)> = table
        .split("<tr><td>")
        .skip(1)
        .map(|row| {
            let (day, rest) = row.split_once("</td><td>").unwrap();
            (day.to_owned(), rest.split('<').next().unwrap().to_owned())
        })
        .collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert_eq!(
        chart.matches("<rect class=\"bar\"").count(),
        rows.len(),
        "{chart}"
    );
    for (day, count) in &rows {
        assert!(
            chart.contains(&format!("<title>{day}: {count}</title>")),
            "no bar for {day}: {chart}"
        );
    }
    let counts: Vec<&str> = rows.iter().map(|(_, count)| count.as_str()).collect();
    assert_eq!(counts, ["3", "2", "1"], "oldest day first");
}
