//! A case as it leaves the hotline: one plain description ([`CaseExport`]) and a writer per
//! partner format.
//!
//! | writer | for | format |
//! | --- | --- | --- |
//! | [`write_cybertipline_report`], [`write_cybertipline_file_details`] | NCMEC | CyberTipline `report` and `fileDetails` XML (the real XSD) |
//! | [`write_iccam_report`] | INHOPE partner hotlines | ICCAM API v3 report JSON |
//! | [`write_vics_case`] | forensic tools | Project VIC VICS 2.0 Cases JSON |
//! | [`write_referral_package`] | the police | a zip: manifest, hashes, chain of custody, audit, sealed evidence |
//!
//! The caller (the server) gathers the case from the store into a [`CaseExport`] and hands a
//! stream in; the writers neither read a clock nor open a file, so the same case always gives
//! the same bytes, which is what lets a test compare them and a recipient re-check a package.
//! Times are Unix milliseconds, as the store keeps them, written as RFC 3339 UTC.
//!
//! Everything in a case that came from a reporter (descriptions, URLs, file names) is hostile
//! text: the XML writer escapes it and drops the characters XML cannot carry, the JSON writers
//! escape it by construction, the CSV files of the referral package quote it and defuse
//! spreadsheet formulas, and names that become paths in the zip are checked.

mod cybertipline;
mod iccam;
mod referral;
mod vics;

pub use cybertipline::{write_cybertipline_file_details, write_cybertipline_report};
pub use iccam::write_iccam_report;
pub use referral::write_referral_package;
pub use vics::{write_vics_case, VICS_CASES_CONTEXT};

use crate::{
    AgeGroup, Decision, Gender, IccamClassification, NcmecCategory, ReportCategory, SiteType,
    VicsCategory,
};

/// The name the exports give as the producing tool.
pub const TOOL_NAME: &str = "Vigie";
/// The version they give, this crate's.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why a case was not written, named for what the caller does.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The case lacks something the format cannot do without, or holds something it cannot
    /// carry (the message says what): complete the case, or choose another format.
    #[error("the case cannot be written as {format}: {reason}")]
    Unexportable {
        format: &'static str,
        reason: String,
    },
    /// Writing to the caller's stream failed.
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
}

impl ExportError {
    fn unexportable(format: &'static str, reason: impl Into<String>) -> ExportError {
        ExportError::Unexportable {
            format,
            reason: reason.into(),
        }
    }
}

/// A case and everything the exports say of it, gathered by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseExport {
    /// The store's id of the case.
    pub case_id: i64,
    pub title: String,
    /// When the case was opened (Unix milliseconds).
    pub created_at: i64,
    /// When this export is made (Unix milliseconds): the caller's clock, so the writers have
    /// none.
    pub exported_at: i64,
    /// The name of the analyst exporting the case, who answers for it to the recipient.
    pub analyst: String,
    /// Who the hotline is.
    pub hotline: Hotline,
    /// The items (URLs, files) grouped in the case.
    pub items: Vec<CaseItem>,
    /// People or accounts the reports name, where known (a screen name, a profile URL).
    pub reported_people: Vec<ReportedPerson>,
    /// What was done with the case and its evidence, oldest first.
    pub chain_of_custody: Vec<CustodyEvent>,
    /// The audit log rows about the case, each one already-serialised JSON object on one line.
    pub audit: Vec<String>,
    /// The evidence, each file already encrypted (sealed) by the caller.
    pub evidence: Vec<Evidence>,
}

/// The hotline's own identity, as recipients contact it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hotline {
    pub name: String,
    /// ISO 3166-1 alpha-2 code of the hotline's country (`FR`).
    pub country: String,
    /// The address recipients write to about a case.
    pub contact_email: String,
    pub contact_phone: Option<String>,
}

/// One URL or file of the case, with what reports and the analyst said of it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseItem {
    /// The store's id of the item.
    pub item_id: i64,
    /// The URL reported, if the item is a URL (or the URL a file was found at).
    pub url: Option<String>,
    /// The file, if the item is (or has) one.
    pub file: Option<ItemFile>,
    pub first_reported_at: i64,
    pub last_reported_at: i64,
    /// How many reports named it.
    pub reporters: u32,
    /// The reports, as their reporters described them.
    pub reports: Vec<ReportSummary>,
    /// ISO 3166-1 alpha-2 code of the country the content is hosted in, where located.
    pub hosting_country: Option<String>,
    /// The bank whose known material it matched, when it was classified from the bank rather
    /// than by an analyst.
    pub matched_bank: Option<String>,
    pub classification: Option<Classification>,
    pub decision: Option<DecisionRecord>,
}

/// One report naming an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSummary {
    /// The receipt number the reporter was given.
    pub receipt: String,
    pub received_at: i64,
    pub category: ReportCategory,
    /// The reporter's own words: hostile text.
    pub description: String,
}

/// A file's identity: what it was called, what it is, and its hashes (lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFile {
    /// The name it was reported under, if any: hostile text.
    pub name: Option<String>,
    /// The media type sniffed from its bytes.
    pub media_type: String,
    pub size: u64,
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
    /// The PDQ hash (64 hex digits), for images.
    pub pdq: Option<String>,
    /// Whether a person at the hotline saw the original (revealed it); `None` if not recorded.
    pub viewed: Option<bool>,
}

/// The analyst's classification of an item (or the bank's, for known material).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Classification {
    /// Who classified it (the bank's name for known material).
    pub analyst: String,
    pub classified_at: i64,
    pub iccam: Option<IccamClassification>,
    pub site_type: Option<SiteType>,
    pub age_group: Option<AgeGroup>,
    pub gender: Option<Gender>,
    pub ncmec: Option<NcmecCategory>,
    pub vics: Option<VicsCategory>,
}

/// What was decided about an item, by whom, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRecord {
    pub decision: Decision,
    pub analyst: String,
    pub decided_at: i64,
    /// The country the item was forwarded to (partner hotline), if not the hotline's own.
    pub country: Option<String>,
    /// Why, in the analyst's words.
    pub reason: Option<String>,
}

/// A person or account a report names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportedPerson {
    /// The service the account is on.
    pub service: Option<String>,
    pub screen_name: Option<String>,
    pub display_name: Option<String>,
    pub profile_urls: Vec<String>,
}

/// One step in the chain of custody: who did what to the case or its evidence, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustodyEvent {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// One evidence file, already encrypted by the caller (`vigie-vault`'s sealed format): the
/// package carries it as it is and never sees a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The file's name in the package (`evidence/NAME.sealed`): letters, digits, `.`, `_`
    /// and `-` only, so that it is a plain file name on every system.
    pub name: String,
    pub sealed: Vec<u8>,
}

impl CaseExport {
    /// The earliest time any item of the case was reported, or the case's creation.
    fn first_reported_at(&self) -> i64 {
        self.items
            .iter()
            .map(|item| item.first_reported_at)
            .min()
            .unwrap_or(self.created_at)
    }

    /// Every report category given to the case's items.
    fn categories(&self) -> impl Iterator<Item = ReportCategory> + '_ {
        self.items.iter().flat_map(CaseItem::categories)
    }
}

impl CaseItem {
    fn categories(&self) -> impl Iterator<Item = ReportCategory> + '_ {
        self.reports.iter().map(|report| report.category)
    }

    fn has_category(&self, category: ReportCategory) -> bool {
        self.categories().any(|c| c == category)
    }
}

/// A Unix time in milliseconds as RFC 3339 UTC with milliseconds (`2024-05-01T08:30:00.000Z`),
/// which is also a valid XML Schema `dateTime`.
pub fn rfc3339(millis: i64) -> String {
    let seconds = millis.div_euclid(1000);
    let millis = millis.rem_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// The proleptic Gregorian date of a count of days since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), so that no date library is needed for one conversion.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Whether a text is an ISO 3166-1 alpha-2 code in the form the formats take (`FR`).
fn is_country_code(text: &str) -> bool {
    text.len() == 2 && text.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
pub(crate) mod sample {
    //! A benign sample case the writers' tests share: two URL items (one with a file), one file
    //! item matched from a bank, hostile text in the places reporters fill in.

    use super::*;

    pub(crate) fn case() -> CaseExport {
        CaseExport {
            case_id: 42,
            title: "Forum thread & mirrors <test>".into(),
            created_at: 1_714_550_400_000,
            exported_at: 1_714_636_800_000,
            analyst: "Analyst One".into(),
            hotline: Hotline {
                name: "Test Hotline".into(),
                country: "FR".into(),
                contact_email: "cases@hotline.example".into(),
                contact_phone: Some("+33 1 00 00 00 00".into()),
            },
            items: vec![
                CaseItem {
                    item_id: 7,
                    url: Some("https://forum.example/thread?id=1&x=<b>".into()),
                    file: Some(ItemFile {
                        name: Some("landscape \"1\".png".into()),
                        media_type: "image/png".into(),
                        size: 1234,
                        md5: "0123456789abcdef0123456789abcdef".into(),
                        sha1: "0123456789abcdef0123456789abcdef01234567".into(),
                        sha256: "ab".repeat(32),
                        pdq: Some("f".repeat(64)),
                        viewed: Some(true),
                    }),
                    first_reported_at: 1_714_464_000_000,
                    last_reported_at: 1_714_500_000_000,
                    reporters: 2,
                    reports: vec![
                        ReportSummary {
                            receipt: "R-AAAA".into(),
                            received_at: 1_714_464_000_000,
                            category: ReportCategory::ChildSexualAbuseMaterial,
                            description: "Seen on </description></report><x> \u{1} a forum".into(),
                        },
                        ReportSummary {
                            receipt: "R-BBBB".into(),
                            received_at: 1_714_500_000_000,
                            category: ReportCategory::LiveStreamedAbuse,
                            description: "=HYPERLINK(\"http://evil.example\") streams".into(),
                        },
                    ],
                    hosting_country: Some("DE".into()),
                    matched_bank: None,
                    classification: Some(Classification {
                        analyst: "Analyst One".into(),
                        classified_at: 1_714_550_000_000,
                        iccam: Some(IccamClassification::Baseline),
                        site_type: Some(SiteType::Forum),
                        age_group: Some(AgeGroup::PrePubescent),
                        gender: Some(Gender::Female),
                        ncmec: Some(NcmecCategory::A2),
                        vics: Some(VicsCategory::ChildAbuseMaterial),
                    }),
                    decision: Some(DecisionRecord {
                        decision: Decision::ForwardToPartnerHotline,
                        analyst: "Analyst One".into(),
                        decided_at: 1_714_551_000_000,
                        country: Some("DE".into()),
                        reason: Some("Hosted in Germany".into()),
                    }),
                },
                CaseItem {
                    item_id: 8,
                    url: Some("https://mirror.example/page".into()),
                    file: None,
                    first_reported_at: 1_714_470_000_000,
                    last_reported_at: 1_714_470_000_000,
                    reporters: 1,
                    reports: vec![ReportSummary {
                        receipt: "R-CCCC".into(),
                        received_at: 1_714_470_000_000,
                        category: ReportCategory::Sextortion,
                        description: "Threats to publish".into(),
                    }],
                    hosting_country: Some("FR".into()),
                    matched_bank: None,
                    classification: None,
                    decision: Some(DecisionRecord {
                        decision: Decision::ForwardToLawEnforcement,
                        analyst: "Analyst Two".into(),
                        decided_at: 1_714_552_000_000,
                        country: None,
                        reason: None,
                    }),
                },
                CaseItem {
                    item_id: 9,
                    url: None,
                    file: Some(ItemFile {
                        name: None,
                        media_type: "image/jpeg".into(),
                        size: 99,
                        md5: "fedcba9876543210fedcba9876543210".into(),
                        sha1: "fedcba9876543210fedcba9876543210fedcba98".into(),
                        sha256: "cd".repeat(32),
                        pdq: None,
                        viewed: Some(false),
                    }),
                    first_reported_at: 1_714_480_000_000,
                    last_reported_at: 1_714_480_000_000,
                    reporters: 1,
                    reports: vec![ReportSummary {
                        receipt: "R-DDDD".into(),
                        received_at: 1_714_480_000_000,
                        category: ReportCategory::SelfGeneratedShared,
                        description: String::new(),
                    }],
                    hosting_country: None,
                    matched_bank: Some("partner-list".into()),
                    classification: Some(Classification {
                        analyst: "partner-list".into(),
                        classified_at: 1_714_480_000_000,
                        iccam: Some(IccamClassification::Baseline),
                        ncmec: Some(NcmecCategory::B1),
                        vics: Some(VicsCategory::ChildAbuseMaterial),
                        age_group: Some(AgeGroup::Infant),
                        ..Classification::default()
                    }),
                    decision: None,
                },
            ],
            reported_people: vec![ReportedPerson {
                service: Some("Example Chat".into()),
                screen_name: Some("user<1>".into()),
                display_name: None,
                profile_urls: vec!["https://chat.example/u/1".into()],
            }],
            chain_of_custody: vec![
                CustodyEvent {
                    at: 1_714_550_400_000,
                    actor: "Analyst One".into(),
                    action: "case_created".into(),
                    detail: "from items 7, 8".into(),
                },
                CustodyEvent {
                    at: 1_714_636_800_000,
                    actor: "Analyst One".into(),
                    action: "exported".into(),
                    detail: "-1+1, \"quoted\"\nsecond line".into(),
                },
            ],
            audit: vec![
                r#"{"seq":1,"action":"case.create","case":42}"#.into(),
                r#"{"seq":2,"action":"case.export","case":42}"#.into(),
            ],
            evidence: vec![
                Evidence {
                    name: "item-7".into(),
                    sealed: b"VGV1 sealed bytes, opaque".to_vec(),
                },
                Evidence {
                    name: "item-9".into(),
                    sealed: vec![0, 1, 2, 3, 255],
                },
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_714_550_400_123), "2024-05-01T08:00:00.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(4_102_444_799_000), "2099-12-31T23:59:59.000Z");
    }

    #[test]
    fn country_codes_are_two_capitals() {
        assert!(is_country_code("FR"));
        for text in ["fr", "FRA", "", "F1", "France"] {
            assert!(!is_country_code(text), "{text}");
        }
    }
}
