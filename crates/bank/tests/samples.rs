//! The real sample files in `../shared/schemas/` import, with the values they hold.
//!
//! The VICS files are NIST NSRL CAID releases (hashes of known software files); the NCMEC
//! files are the `queryResult` fixtures of python-threatexchange's NCMEC client, two of them
//! apparently from NCMEC's documentation. The expected values below were read from the files
//! by hand, not computed by this crate.

use std::io::BufReader;
use std::path::PathBuf;

use vigie_bank::{
    detect_format, merge_duplicates, read_list, write_list, BankInfo, Entry, ImportOptions,
    ImportSummary, ListFormat, Signal, SignalType,
};

fn schemas() -> PathBuf {
    let shared = std::env::var_os("VIGIE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    shared.join("schemas")
}

/// Imports a sample the way the CLI will: the format detected from the name and first bytes.
fn import(sample: &str, expected_format: ListFormat) -> (Vec<Entry>, ImportSummary) {
    let path = schemas().join(sample);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e} (is ../shared beside the checkout?)",
            path.display()
        )
    });
    let format = detect_format(sample, &bytes[..bytes.len().min(4096)]);
    assert_eq!(format, expected_format, "{sample}");
    let mut entries = Vec::new();
    let summary = read_list(
        sample,
        BufReader::new(&bytes[..]),
        format,
        &ImportOptions::default(),
        |e| entries.push(e),
    )
    .unwrap_or_else(|e| panic!("{sample}: {e}"));
    assert_eq!(summary.problem_count, 0, "{sample}: {:?}", summary.problems);
    assert_eq!(summary.entries, entries.len() as u64);
    (entries, summary)
}

fn signal(signal_type: SignalType, value: &str) -> Signal {
    Signal::parse(signal_type, value).unwrap()
}

fn ids(entries: &[Entry]) -> Vec<(&str, bool)> {
    entries
        .iter()
        .map(|e| (e.id.as_deref().unwrap_or_default(), e.deleted))
        .collect()
}

#[test]
fn vics_nsrl_caid_mov() {
    let (entries, _) = import("projectvic-vics/NSRL-CAID-MOV.json", ListFormat::Vics);
    assert_eq!(entries.len(), 9);
    assert_eq!(
        entries[0].signals,
        [
            signal(SignalType::Md5, "17ade15fb16ab1613091e2f2e85dd0dc"),
            signal(SignalType::Sha1, "3a8908e6edf9a865f4163a0935550b5925add052"),
        ]
    );
    assert_eq!(
        entries[8].signals[1],
        signal(SignalType::Sha1, "7a55e58570d81a244af7af18b1bf9d9101906b7f")
    );
    assert_eq!(
        entries[0].files,
        ["Payload/TikTok.app/IESLiveMTKit.bundle/file/video/black-video-480-360.mov"],
        "FilePath is the folder, FileName the name in it"
    );
    assert_eq!(entries[8].files, ["Payload/Kasual.app/KasualNew.MOV"]);
    for entry in &entries {
        assert_eq!(
            entry.id.as_deref(),
            Some("0"),
            "CAID files leave MediaID at 0"
        );
        assert_eq!(entry.category.as_deref(), Some("8"));
        assert!(entry.tags.is_empty());
        assert!(!entry.deleted);
    }
}

#[test]
fn vics_nsrl_caid_mpg() {
    let (entries, _) = import("projectvic-vics/NSRL-CAID-MPG.json", ListFormat::Vics);
    assert_eq!(entries.len(), 3);
    assert_eq!(
        entries[1].signals,
        [
            signal(SignalType::Md5, "c44b7688a7d948229a58c2684db19de2"),
            signal(SignalType::Sha1, "e0e06a5796fc5def42e01f61f5c3678a583c4c56"),
        ]
    );
    assert_eq!(
        entries[2].signals[0],
        signal(SignalType::Md5, "4a592ac24a4b88cc5a785a25c2f1874d")
    );
}

#[test]
fn vics_nsrl_caid_art() {
    let (entries, _) = import("projectvic-vics/NSRL-CAID-ART.json", ListFormat::Vics);
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].signals,
        [
            signal(SignalType::Md5, "588cd1c0e48916d8e7403310402d0a68"),
            signal(SignalType::Sha1, "e65706b487c73e992bab2a50707a9fd8b0bd6866"),
        ]
    );
    assert_eq!(entries[0].category.as_deref(), Some("8"));
}

#[test]
fn vics_sample_survives_export_to_2_0_and_back() {
    let (entries, _) = import("projectvic-vics/NSRL-CAID-MOV.json", ListFormat::Vics);
    let mut out = Vec::new();
    write_list(&mut out, ListFormat::Vics, &BankInfo::new("nsrl"), &entries).unwrap();
    let mut read = Vec::new();
    read_list(
        "out.json",
        &out[..],
        ListFormat::Vics,
        &ImportOptions::default(),
        |e| read.push(e),
    )
    .unwrap();
    assert_eq!(read, entries);
}

#[test]
fn ncmec_entries_xml() {
    let (entries, _) = import("ncmec-hashsharing-v2/ENTRIES_XML.xml", ListFormat::NcmecXml);
    assert_eq!(
        ids(&entries),
        [
            ("image1", false),
            ("image4", true),
            ("video1", false),
            ("video4", true)
        ]
    );
    let image1 = &entries[0];
    assert_eq!(image1.category.as_deref(), Some("A1"));
    assert_eq!(image1.tags, ["image"]);
    assert_eq!(
        image1.signals,
        [
            signal(SignalType::Md5, "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"),
            signal(SignalType::Sha1, "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"),
            signal(
                SignalType::PhotoDna,
                "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1..."
            ),
        ]
    );
    assert!(entries[1].signals.is_empty());
    assert_eq!(entries[2].category, None, "video1 has no classification");
    assert_eq!(entries[2].tags, ["video"]);
    assert_eq!(
        entries[2].signals[1],
        signal(SignalType::Sha1, "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1")
    );
    assert_eq!(entries[3].tags, ["video"]);
}

#[test]
fn ncmec_entries_xml2() {
    let (entries, _) = import(
        "ncmec-hashsharing-v2/ENTRIES_XML2.xml",
        ListFormat::NcmecXml,
    );
    assert_eq!(ids(&entries), [("image10", false)]);
    assert_eq!(
        entries[0].signals[0],
        signal(SignalType::Md5, "b1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1")
    );
    assert_eq!(entries[0].signals.len(), 3);
}

#[test]
fn ncmec_entries_xml3() {
    let (entries, _) = import(
        "ncmec-hashsharing-v2/ENTRIES_XML3.xml",
        ListFormat::NcmecXml,
    );
    assert_eq!(
        ids(&entries),
        [("willupdate", false), ("willdelete", false)]
    );
    assert_eq!(
        entries[1].signals,
        [signal(SignalType::Md5, "bacebacebacebacebacebacebacebace")]
    );
    assert_eq!(entries[0].category.as_deref(), Some("A1"));
}

#[test]
fn ncmec_entries_xml4() {
    let (entries, _) = import(
        "ncmec-hashsharing-v2/ENTRIES_XML4.xml",
        ListFormat::NcmecXml,
    );
    assert_eq!(ids(&entries), [("willupdate", false), ("willdelete", true)]);
    assert_eq!(
        entries[0].category.as_deref(),
        Some("A2"),
        "the update reclassifies"
    );
}

#[test]
fn ncmec_entries_large_fingerprints() {
    let (entries, _) = import(
        "ncmec-hashsharing-v2/ENTRIES_LARGE_FINGERPRINTS.xml",
        ListFormat::NcmecXml,
    );
    assert_eq!(ids(&entries), [("largetags", false)]);
    assert_eq!(
        entries[0].signals,
        [signal(SignalType::Md5, "facefacefacefacefacefacefaceface")],
        "fingerprints given only as links are not hashes"
    );
}

#[test]
fn ncmec_entries_no_data() {
    let (entries, summary) = import(
        "ncmec-hashsharing-v2/ENTRIES_NO_DATA_XML.xml",
        ListFormat::NcmecXml,
    );
    assert!(entries.is_empty());
    assert_eq!(summary.entries, 0);
}

#[test]
fn an_ncmec_status_document_is_not_a_list() {
    let bytes = std::fs::read(schemas().join("ncmec-hashsharing-v2/STATUS_XML.xml")).unwrap();
    let error = read_list(
        "STATUS_XML.xml",
        &bytes[..],
        ListFormat::NcmecXml,
        &ImportOptions::default(),
        |_| {},
    )
    .unwrap_err();
    assert!(error.to_string().contains("not <queryResult>"), "{error}");
}

#[test]
fn the_ncmec_update_flow_merges_by_hash() {
    // Importing a page and its update, then merging: the reclassified video keeps one entry.
    let (mut entries, _) = import(
        "ncmec-hashsharing-v2/ENTRIES_XML3.xml",
        ListFormat::NcmecXml,
    );
    let (update, _) = import(
        "ncmec-hashsharing-v2/ENTRIES_XML4.xml",
        ListFormat::NcmecXml,
    );
    entries.extend(update);
    let (merged, count) = merge_duplicates(entries);
    assert_eq!(count, 1, "willupdate appears twice with the same MD5");
    assert_eq!(
        ids(&merged),
        [
            ("willupdate", false),
            ("willdelete", false),
            ("willdelete", true)
        ]
    );
}
