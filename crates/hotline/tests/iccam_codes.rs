//! Every ICCAM id and name this crate writes is the one in ICCAM's own code table, as SCART
//! (the Dutch hotline's tool, which talks to ICCAM every day) seeds it: a typo here would send
//! a partner hotline a wrong classification without any error.
//!
//! The table is `../shared/schemas/iccam-scart/abuseio_scart_iccam_api_field.csv`, found beside
//! the checkout or at `$VIGIE_SHARED`.

use std::path::PathBuf;

use vigie_hotline::{AgeGroup, Gender, IccamAction, IccamClassification, SiteType};

fn shared() -> PathBuf {
    std::env::var_os("VIGIE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

/// One row of the table: the ICCAM field, its id and its name.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    field: String,
    id: u32,
    name: String,
}

fn table() -> Vec<Row> {
    let path = shared().join("schemas/iccam-scart/abuseio_scart_iccam_api_field.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e} (is ../shared beside the checkout?)",
            path.display()
        )
    });
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("iccam_field,iccam_id,iccam_name,scart_field,scart_code")
    );
    lines
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let columns: Vec<&str> = line.split(',').collect();
            assert_eq!(columns.len(), 5, "{line}");
            Row {
                field: columns[0].to_string(),
                id: columns[1].parse().unwrap_or_else(|e| panic!("{line}: {e}")),
                name: columns[2].to_string(),
            }
        })
        .collect()
}

/// Each of ours is a row of the table, and each row of the table for that field is one of ours:
/// nothing ICCAM can send back is unknown here.
fn check(field: &str, ours: Vec<(String, u32, &str)>) {
    let table: Vec<Row> = table()
        .into_iter()
        .filter(|row| row.field == field)
        .collect();
    assert!(!table.is_empty(), "no {field} rows in the table");
    for (code, id, name) in &ours {
        let row = Row {
            field: field.to_string(),
            id: *id,
            name: name.to_string(),
        };
        assert!(
            table.contains(&row),
            "{field} {code}: id {id} '{name}' is not in ICCAM's table"
        );
    }
    for row in &table {
        assert!(
            ours.iter()
                .any(|(_, id, name)| *id == row.id && *name == row.name),
            "ICCAM's {field} {} '{}' has no variant here",
            row.id,
            row.name
        );
    }
}

#[test]
fn classification_ids_are_iccams() {
    check(
        "classification",
        IccamClassification::ALL
            .iter()
            .map(|c| (c.code().to_string(), c.iccam_id(), c.iccam_name()))
            .collect(),
    );
}

#[test]
fn site_type_ids_are_iccams() {
    check(
        "sourceUrlSiteType",
        SiteType::ALL
            .iter()
            .map(|c| (c.code().to_string(), c.iccam_id(), c.iccam_name()))
            .collect(),
    );
}

#[test]
fn age_group_ids_are_iccams() {
    check(
        "ageCategorization",
        AgeGroup::ALL
            .iter()
            .map(|c| (c.code().to_string(), c.iccam_id(), c.iccam_name()))
            .collect(),
    );
}

#[test]
fn gender_ids_are_iccams() {
    check(
        "genderCategorization",
        Gender::ALL
            .iter()
            .map(|c| (c.code().to_string(), c.iccam_id(), c.iccam_name()))
            .collect(),
    );
}

#[test]
fn action_ids_are_iccams() {
    check(
        "action",
        IccamAction::ALL
            .iter()
            .map(|c| (c.code().to_string(), c.iccam_id(), c.iccam_name()))
            .collect(),
    );
}
