//! `vigie hosting import` and `vigie report transparency` on a fresh data directory, as an
//! administrator runs them.

mod common;

use common::{csv_rows, stderr, stdout, vigie_in};

#[test]
fn reference_data_is_checked_imported_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("contacts.csv"),
        "scope,value,email,webhook,language\n\
         domain,example-host.net,abuse@example-host.net,,en\n\
         asn,not-a-number,noc@example.org,,fr\n",
    )
    .unwrap();
    let imported = vigie_in(
        dir.path(),
        &["hosting", "import", "abuse-contacts", "contacts.csv"],
    );
    assert!(imported.status.success(), "{}", stderr(&imported));
    assert!(
        stdout(&imported).contains("as abuse-contacts"),
        "{}",
        stdout(&imported)
    );
    // The bad line is named, and left out.
    assert!(
        stderr(&imported).contains("contacts.csv: line 3"),
        "{}",
        stderr(&imported)
    );

    std::fs::write(
        dir.path().join("asn.tsv"),
        "192.0.2.0\t192.0.2.255\t64500\tNL\tEXAMPLE\n",
    )
    .unwrap();
    let imported = vigie_in(dir.path(), &["hosting", "import", "ip-asn", "asn.tsv"]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    assert!(
        stdout(&imported).contains("1 ranges"),
        "{}",
        stdout(&imported)
    );

    let listed = vigie_in(dir.path(), &["hosting", "list"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let listing = stdout(&listed);
    let names: Vec<&str> = listing
        .lines()
        .filter_map(|line| line.split('\t').next())
        .collect();
    assert_eq!(names, ["abuse-contacts", "ip-asn"]);

    // A file of the wrong kind is refused, saying what is wrong, and nothing is stored.
    let refused = vigie_in(dir.path(), &["hosting", "import", "geoip", "asn.tsv"]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("asn.tsv"), "{}", stderr(&refused));
    let unknown = vigie_in(dir.path(), &["hosting", "import", "whois", "asn.tsv"]);
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("ip-asn"),
        "the kinds are listed: {}",
        stderr(&unknown)
    );
}

#[test]
fn the_transparency_report_of_an_empty_period_says_so_in_html_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let html = vigie_in(
        dir.path(),
        &[
            "report",
            "transparency",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "-o",
            "report.html",
        ],
    );
    assert!(html.status.success(), "{}", stderr(&html));
    let page = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(page.contains("<html"), "{page}");
    assert!(page.contains("2026-11-01"), "the period is named");

    let csv = vigie_in(
        dir.path(),
        &[
            "report",
            "transparency",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--format",
            "csv",
        ],
    );
    assert!(csv.status.success(), "{}", stderr(&csv));
    let rows = csv_rows(&stdout(&csv));
    assert!(!rows.is_empty());
    for column in ["section", "group", "metric", "value"] {
        assert!(rows[0].contains_key(column), "{column} in {:?}", rows[0]);
    }

    let backwards = vigie_in(
        dir.path(),
        &[
            "report",
            "transparency",
            "--from",
            "2026-11-30",
            "--to",
            "2026-11-01",
        ],
    );
    assert!(!backwards.status.success());
    assert!(
        stderr(&backwards).contains("before"),
        "{}",
        stderr(&backwards)
    );
}
