//! A hotline exports a case to each partner, and each export is checked the way its recipient
//! would read it: the CyberTipline XML against NCMEC's real schema (with `xmllint`), the ICCAM
//! JSON parsed back, the VICS JSON read back by Vigie's own VICS reader (`vigie-bank`), the
//! referral zip reopened and every file checked against its manifest.
//!
//! The case is benign test data: made-up URLs, made-up hashes, placeholder sealed bytes, with
//! hostile text where reporters write.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;
use sha2::{Digest, Sha256};
use vigie_hotline::export::{
    write_cybertipline_file_details, write_cybertipline_report, write_iccam_report,
    write_referral_package, write_vics_case, CaseExport, CaseItem, Classification, CustodyEvent,
    DecisionRecord, Evidence, Hotline, ItemFile, ReportSummary, ReportedPerson, VICS_CASES_CONTEXT,
};
use vigie_hotline::{
    AgeGroup, Decision, Gender, IccamClassification, NcmecCategory, ReportCategory, SiteType,
    VicsCategory,
};

fn shared() -> PathBuf {
    std::env::var_os("VIGIE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

fn xsd() -> PathBuf {
    let path = shared().join("schemas/ncmec-cybertipline/cyber_tipline.xsd");
    assert!(
        path.exists(),
        "{} is missing (is ../shared beside the checkout?)",
        path.display()
    );
    path
}

/// Validates a document against NCMEC's schema; the error is xmllint's complaint. A machine
/// without xmllint fails the test: the exports would otherwise go unchecked.
fn validate(document: &[u8]) -> Result<(), String> {
    let mut child = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(xsd())
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("running xmllint: {e} (install libxml2-utils: scripts/bootstrap does)")
        });
    child
        .stdin
        .take()
        .expect("xmllint's stdin")
        .write_all(document)
        .expect("writing to xmllint");
    let output = child.wait_with_output().expect("waiting for xmllint");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

const AT: i64 = 1_714_550_400_000; // 2024-05-01T08:00:00Z

fn file(name: Option<&str>, seed: u8, pdq: bool) -> ItemFile {
    let hex = |len: usize| format!("{seed:02x}").repeat(len / 2);
    ItemFile {
        name: name.map(str::to_string),
        media_type: "image/png".into(),
        size: 1000 + u64::from(seed),
        md5: hex(32),
        sha1: hex(40),
        sha256: hex(64),
        pdq: pdq.then(|| hex(64)),
        viewed: Some(seed.is_multiple_of(2)),
    }
}

fn report(receipt: &str, category: ReportCategory, description: &str) -> ReportSummary {
    ReportSummary {
        receipt: receipt.into(),
        received_at: AT - 3_600_000,
        category,
        description: description.into(),
    }
}

/// A case of three items: a URL with its file (classified by an analyst, forwarded to the
/// partner hotline abroad), a URL alone (sent to the police), a file recognised from a bank.
fn case() -> CaseExport {
    CaseExport {
        case_id: 1201,
        title: "Mirrors of one gallery <\"test\"> & co".into(),
        created_at: AT,
        exported_at: AT + 86_400_000,
        analyst: "Analyst One".into(),
        hotline: Hotline {
            name: "Hotline de test".into(),
            country: "FR".into(),
            contact_email: "cases@hotline.example".into(),
            contact_phone: Some("+33 1 00 00 00 00".into()),
        },
        items: vec![
            CaseItem {
                item_id: 31,
                url: Some("https://gallery.example/a?id=3&ref=<x>".into()),
                file: Some(file(Some("lake & hills.png"), 0x31, true)),
                first_reported_at: AT - 7_200_000,
                last_reported_at: AT - 3_600_000,
                reporters: 3,
                reports: vec![
                    report(
                        "R-7Q2K",
                        ReportCategory::ChildSexualAbuseMaterial,
                        "Found it here ]]> </additionalInfo> \u{7} &amp; more",
                    ),
                    report(
                        "R-8W3M",
                        ReportCategory::SelfGeneratedShared,
                        "=cmd|' /C calc'!A0",
                    ),
                ],
                hosting_country: Some("NL".into()),
                matched_bank: None,
                classification: Some(Classification {
                    analyst: "Analyst One".into(),
                    classified_at: AT,
                    iccam: Some(IccamClassification::Baseline),
                    site_type: Some(SiteType::ImageHost),
                    age_group: Some(AgeGroup::Pubescent),
                    gender: Some(Gender::Male),
                    ncmec: Some(NcmecCategory::B2),
                    vics: Some(VicsCategory::ChildAbuseMaterial),
                }),
                decision: Some(DecisionRecord {
                    decision: Decision::ForwardToPartnerHotline,
                    analyst: "Analyst One".into(),
                    decided_at: AT + 60_000,
                    country: Some("NL".into()),
                    reason: Some("Hosted in the Netherlands".into()),
                }),
            },
            CaseItem {
                item_id: 32,
                url: Some("https://gallery.example/b".into()),
                file: None,
                first_reported_at: AT - 3_600_000,
                last_reported_at: AT - 3_600_000,
                reporters: 1,
                reports: vec![report(
                    "R-9E4N",
                    ReportCategory::LiveStreamedAbuse,
                    "Stream announced for tonight",
                )],
                hosting_country: Some("FR".into()),
                matched_bank: None,
                classification: Some(Classification {
                    analyst: "Analyst Two".into(),
                    classified_at: AT,
                    iccam: Some(IccamClassification::National),
                    site_type: Some(SiteType::Forum),
                    ..Classification::default()
                }),
                decision: Some(DecisionRecord {
                    decision: Decision::ForwardToLawEnforcement,
                    analyst: "Analyst Two".into(),
                    decided_at: AT + 120_000,
                    country: None,
                    reason: None,
                }),
            },
            CaseItem {
                item_id: 33,
                url: None,
                file: Some(file(None, 0x33, false)),
                first_reported_at: AT - 1_000,
                last_reported_at: AT - 1_000,
                reporters: 1,
                reports: vec![report("R-0T5P", ReportCategory::Other, "")],
                hosting_country: None,
                matched_bank: Some("hotline-known".into()),
                classification: Some(Classification {
                    analyst: "hotline-known".into(),
                    classified_at: AT,
                    iccam: Some(IccamClassification::Baseline),
                    age_group: Some(AgeGroup::Infant),
                    ncmec: Some(NcmecCategory::A1),
                    vics: Some(VicsCategory::ChildAbuseMaterial),
                    ..Classification::default()
                }),
                decision: None,
            },
        ],
        reported_people: vec![ReportedPerson {
            service: Some("Example Gallery".into()),
            screen_name: Some("uploader_01".into()),
            display_name: Some("Up & Loader".into()),
            profile_urls: vec!["https://gallery.example/u/uploader_01".into()],
        }],
        chain_of_custody: vec![
            CustodyEvent {
                at: AT,
                actor: "Analyst One".into(),
                action: "case_created".into(),
                detail: "items 31, 32, 33".into(),
            },
            CustodyEvent {
                at: AT + 86_400_000,
                actor: "Analyst One".into(),
                action: "referral_exported".into(),
                detail: "+for the police, \"unit 3\"\non request".into(),
            },
        ],
        audit: vec![
            r#"{"seq":10,"action":"case.create","case":1201}"#.into(),
            r#"{"seq":11,"action":"item.reveal","item":31,"note":"line\nbreak escaped"}"#.into(),
        ],
        evidence: vec![
            Evidence {
                name: "item-31".into(),
                sealed: b"VGV1\x00\x01opaque ciphertext".to_vec(),
            },
            Evidence {
                name: "item-33.png".into(),
                sealed: (0..=255).collect(),
            },
        ],
    }
}

#[test]
fn xmllint_really_checks_the_schema() {
    let sample = std::fs::read(shared().join("schemas/ncmec-cybertipline/report.xml"))
        .expect("NCMEC's sample report");
    validate(&sample).expect("NCMEC's own sample validates");
    let broken = String::from_utf8(sample).unwrap().replace(
        "Child Pornography (possession, manufacture, and distribution)",
        "Other",
    );
    assert!(validate(broken.as_bytes()).is_err());
}

#[test]
fn the_cybertipline_report_and_file_details_validate_against_ncmecs_schema() {
    let case = case();
    let mut report = Vec::new();
    write_cybertipline_report(&case, &mut report).unwrap();
    validate(&report).unwrap_or_else(|e| {
        panic!("{e}\n{}", String::from_utf8_lossy(&report));
    });
    let text = String::from_utf8(report).unwrap();
    assert!(text.contains("<url>https://gallery.example/a?id=3&amp;ref=&lt;x&gt;</url>"));
    assert!(text.contains("<url>https://gallery.example/b</url>"));
    assert!(text.contains("<incidentDateTime>2024-05-01T06:00:00.000Z</incidentDateTime>"));
    assert!(text.contains("<escalateToHighPriority>"));
    assert!(text.contains("R-8W3M"));
    assert!(!text.contains('\u{7}'));

    let mut files = 0;
    for (index, item) in case.items.iter().filter(|i| i.file.is_some()).enumerate() {
        let mut details = Vec::new();
        write_cybertipline_file_details(
            &case,
            item,
            4_564_654,
            &format!("b0754af766b426f2928a02c651ed4b9{index}"),
            &mut details,
        )
        .unwrap();
        validate(&details).unwrap_or_else(|e| {
            panic!("{e}\n{}", String::from_utf8_lossy(&details));
        });
        let text = String::from_utf8(details).unwrap();
        let file = item.file.as_ref().unwrap();
        assert!(text.contains(&format!(
            "<originalFileHash hashType=\"MD5\">{}</originalFileHash>",
            file.md5
        )));
        assert!(text.contains(&format!(
            "<originalFileHash hashType=\"SHA1\">{}</originalFileHash>",
            file.sha1
        )));
        let category = item.classification.as_ref().unwrap().ncmec.unwrap();
        assert!(text.contains(&format!(
            "<industryClassification>{}</industryClassification>",
            category.ncmec_code()
        )));
        files += 1;
    }
    assert_eq!(files, 2);
}

#[test]
fn every_case_shape_gives_a_valid_cybertipline_report() {
    let full = case();
    let mut shapes = Vec::new();
    for keep in [vec![], vec![31], vec![32], vec![33], vec![32, 33]] {
        let mut case = full.clone();
        case.items.retain(|item| keep.contains(&item.item_id));
        shapes.push(case);
    }
    let mut bare = full.clone();
    bare.reported_people.clear();
    bare.hotline.contact_phone = None;
    shapes.push(bare);
    for case in shapes {
        let mut report = Vec::new();
        write_cybertipline_report(&case, &mut report).unwrap();
        validate(&report).unwrap_or_else(|e| {
            panic!("{e}\n{}", String::from_utf8_lossy(&report));
        });
        for item in case.items.iter().filter(|i| i.file.is_some()) {
            let mut item = item.clone();
            item.classification = None;
            let file = item.file.as_mut().unwrap();
            file.name = None;
            file.pdq = None;
            file.viewed = None;
            let mut details = Vec::new();
            write_cybertipline_file_details(&case, &item, 1, "f1", &mut details).unwrap();
            validate(&details).unwrap_or_else(|e| {
                panic!("{e}\n{}", String::from_utf8_lossy(&details));
            });
        }
    }
}

#[test]
fn the_iccam_report_parses_back_with_iccams_ids() {
    let mut out = Vec::new();
    write_iccam_report(&case(), &mut out).unwrap();
    let report: Value = serde_json::from_slice(&out).expect("ICCAM JSON parses");
    assert_eq!(report["reportingAnalystName"], "Analyst One");
    assert_eq!(report["hotlineReceivedDate"], "2024-05-01T06:00:00.000Z");
    assert_eq!(report["hotlineReference"], "case-1201");
    assert_eq!(report["memo"], "Mirrors of one gallery <\"test\"> & co");
    assert_eq!(report["sourceUrlSiteType"], 20);
    assert_eq!(report["sourceUrlCommerciality"], 1);
    assert_eq!(report["sourceUrlPaymentMethods"], serde_json::json!([1]));
    let urls = report["urls"].as_array().expect("urls");
    // The file-only item is not an ICCAM content item.
    assert_eq!(urls.len(), 2);

    let first = &urls[0];
    assert_eq!(first["urlString"], "https://gallery.example/a?id=3&ref=<x>");
    assert_eq!(first["hotlineReference"], "case-1201-item-31");
    assert_eq!(first["hostingCountryCode"], "NL");
    assert_eq!(first["isSourceUrl"], true);
    assert!(first["memo"]
        .as_str()
        .unwrap()
        .contains("</additionalInfo>"));
    let assessment = &first["assessment"];
    assert_eq!(assessment["assessingAnalystName"], "Analyst One");
    assert_eq!(assessment["classification"], 1);
    assert_eq!(assessment["ageCategorization"], 4);
    assert_eq!(assessment["genderCategorization"], 3);
    assert_eq!(assessment["virtualContentCategorization"], 0);
    assert_eq!(assessment["userGeneratedContentCategorization"], 1);
    assert_eq!(assessment["childModelingCategorization"], 0);
    let action = &first["actions"][0];
    assert_eq!(action["actionType"], 0, "forwarded abroad: Moved");
    assert_eq!(action["actioningAnalystName"], "Analyst One");
    assert_eq!(action["actionDate"], "2024-05-01T08:01:00.000Z");
    assert_eq!(action["country"], "NL");
    assert_eq!(action["reason"], "Hosted in the Netherlands");

    let second = &urls[1];
    assert_eq!(second["isSourceUrl"], false);
    assert_eq!(second["assessment"]["classification"], 2);
    assert_eq!(second["assessment"]["ageCategorization"], Value::Null);
    assert_eq!(second["actions"][0]["actionType"], 1, "to the police");
    assert_eq!(second["actions"][0]["country"], "FR");
}

#[test]
fn the_vics_case_reads_back_with_vigies_vics_reader() {
    let case = case();
    let mut out = Vec::new();
    write_vics_case(&case, &mut out).unwrap();
    let document: Value = serde_json::from_slice(&out).expect("VICS JSON parses");
    assert_eq!(document["@odata.context"], VICS_CASES_CONTEXT);
    let vics_case = &document["value"][0];
    assert_eq!(vics_case["CaseID"], "1201");
    assert_eq!(vics_case["SourceApplicationName"], "Vigie");
    assert_eq!(
        vics_case["SourceApplicationVersion"],
        env!("CARGO_PKG_VERSION")
    );
    let media = vics_case["Media"].as_array().unwrap();
    assert_eq!(media.len(), 2, "one Media per file, none for the URL alone");
    assert_eq!(media[0]["MediaID"], 31);
    assert_eq!(media[0]["MediaSize"], 1049);
    assert_eq!(media[0]["MimeType"], "image/png");
    assert_eq!(media[0]["IsPrecategorized"], false);
    assert_eq!(media[1]["IsPrecategorized"], true);

    let options = vigie_bank::ImportOptions {
        strict: true,
        ..Default::default()
    };
    let mut entries = Vec::new();
    let summary = vigie_bank::read_list(
        "case.json",
        out.as_slice(),
        vigie_bank::ListFormat::Vics,
        &options,
        |entry| entries.push(entry),
    )
    .expect("our VICS reader reads the export");
    assert_eq!(summary.entries, 2);
    for (entry, item) in entries.iter().zip([&case.items[0], &case.items[2]]) {
        let file = item.file.as_ref().unwrap();
        assert_eq!(entry.id.as_deref(), Some(item.item_id.to_string().as_str()));
        assert_eq!(entry.category.as_deref(), Some("1"));
        let signals: BTreeMap<&str, &str> = entry
            .signals
            .iter()
            .map(|s| (s.signal_type.name(), s.value.as_str()))
            .collect();
        assert_eq!(signals.get("md5"), Some(&file.md5.as_str()), "{signals:?}");
        assert_eq!(
            signals.get("sha1"),
            Some(&file.sha1.as_str()),
            "{signals:?}"
        );
        assert_eq!(entry.files, file.name.iter().cloned().collect::<Vec<_>>());
    }
}

#[test]
fn the_referral_package_checks_out_against_its_manifest() {
    let case = case();
    let zip = write_referral_package(&case, Cursor::new(Vec::new()))
        .unwrap()
        .into_inner();
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).expect("a zip");
    let mut files = BTreeMap::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        files.insert(entry.name().expect("a UTF-8 name").to_string(), bytes);
    }
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "README.txt",
            "audit.jsonl",
            "chain-of-custody.csv",
            "evidence/item-31.sealed",
            "evidence/item-33.png.sealed",
            "hashes.csv",
            "manifest.json"
        ]
    );

    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(manifest["tool"]["name"], "Vigie");
    assert_eq!(manifest["tool"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["made_at"], "2024-05-02T08:00:00.000Z");
    assert_eq!(manifest["case"]["id"], 1201);
    assert_eq!(manifest["case"]["title"], case.title.as_str());
    assert_eq!(manifest["hotline"]["country"], "FR");
    let listed = manifest["files"].as_array().unwrap();
    assert_eq!(listed.len(), files.len() - 1, "every file but the manifest");
    for entry in listed {
        let name = entry["name"].as_str().unwrap();
        let bytes = files
            .get(name)
            .unwrap_or_else(|| panic!("{name} is listed but not in the zip"));
        let sha256: String = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(entry["sha256"], sha256.as_str(), "{name}");
        assert_eq!(entry["size"], bytes.len() as u64, "{name}");
    }

    // The evidence travels exactly as sealed.
    assert_eq!(files["evidence/item-31.sealed"], case.evidence[0].sealed);
    assert_eq!(
        files["evidence/item-33.png.sealed"],
        case.evidence[1].sealed
    );

    // The audit extract is the rows, one a line.
    let audit = String::from_utf8(files["audit.jsonl"].clone()).unwrap();
    assert_eq!(audit.lines().collect::<Vec<_>>(), case.audit);

    let hashes = csv_rows(&files["hashes.csv"]);
    assert_eq!(hashes.len(), 2);
    assert_eq!(hashes[0]["item_id"], "31");
    assert_eq!(hashes[0]["file_name"], "lake & hills.png");
    assert_eq!(
        hashes[0]["sha256"],
        case.items[0].file.as_ref().unwrap().sha256
    );
    assert_eq!(hashes[0]["ncmec_category"], "B2");
    assert_eq!(hashes[0]["vics_category"], "1");
    assert_eq!(hashes[1]["matched_bank"], "hotline-known");
    assert_eq!(hashes[1]["url"], "");

    let custody = csv_rows(&files["chain-of-custody.csv"]);
    assert_eq!(custody.len(), 2);
    assert_eq!(custody[0]["at"], "2024-05-01T08:00:00.000Z");
    assert_eq!(custody[0]["action"], "case_created");
    // A formula-looking detail is defused; the line break inside it survives quoting.
    assert_eq!(
        custody[1]["detail"],
        "'+for the police, \"unit 3\"\non request"
    );

    let readme = String::from_utf8(files["README.txt"].clone()).unwrap();
    assert!(readme.contains("out of band"));
    assert!(readme.contains("cases@hotline.example"));
    for name in [
        "manifest.json",
        "hashes.csv",
        "chain-of-custody.csv",
        "audit.jsonl",
    ] {
        assert!(readme.contains(name), "the README explains {name}");
    }
}

#[test]
fn the_same_case_gives_the_same_package() {
    let write = || {
        write_referral_package(&case(), Cursor::new(Vec::new()))
            .unwrap()
            .into_inner()
    };
    assert_eq!(write(), write());
}

fn csv_rows(bytes: &[u8]) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            headers
                .iter()
                .zip(record.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}
