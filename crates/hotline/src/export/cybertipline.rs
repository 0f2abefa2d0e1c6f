//! NCMEC CyberTipline XML: the `report` and `fileDetails` documents of NCMEC's Reporting API.
//!
//! The element names, their order and their types are those of NCMEC's own schema,
//! `shared/schemas/ncmec-cybertipline/cyber_tipline.xsd` (as served by the API), and the tests
//! validate every document written here against it with `xmllint`. The API takes a report in
//! steps: `/submit` the `report` (NCMEC answers with its `reportId`), `/upload` each file (NCMEC
//! answers with a `fileId`), `/fileinfo` one `fileDetails` per file naming both ids, `/finish`.
//! So the report is one document and each file's details another, written with the ids NCMEC
//! gave.
//!
//! What goes where:
//! - `incidentSummary`: one incident type for the whole report (NCMEC takes one), from the most
//!   urgent category the reports gave: grooming and sextortion are "Online Enticement of
//!   Children for Sexual Acts", the rest "Child Pornography (possession, manufacture, and
//!   distribution)", the schema's words. Live-streamed abuse asks for `escalateToHighPriority`
//!   (a child may be at risk now); sextortion sets the `sextortion` annotation. The incident
//!   time is the earliest report to the hotline, since the hotline rarely knows when the
//!   content was made or posted, and `incidentDateTimeDescription` says so.
//! - `internetDetails/webPageIncident`: every URL of the case, marked
//!   `thirdPartyHostedContent` because a hotline reports what others host.
//! - `reporter/reportingPerson`: the hotline itself (its contact e-mail, phone and country);
//!   `companyTemplate` names it and the case. Members of the public who reported to the
//!   hotline are never named.
//! - `personOrUserReported`: each account the reports name, where known.
//! - `additionalInfo`: the reports, each with its receipt, time, category and description.
//! - `fileDetails`: the file's original name and URL, whether the hotline viewed it, its
//!   annotations (live streaming, possible self-production, infant, from the reports and the
//!   classification), the industry category (A1 to B2), its MD5, SHA-1 and SHA-256 as
//!   `originalFileHash`, its PDQ as a `HASH` detail, media type and size.

use std::borrow::Cow;
use std::io::{self, Write};

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use super::{is_country_code, rfc3339, CaseExport, CaseItem, ExportError, ReportedPerson};
use crate::{AgeGroup, ReportCategory};

const FORMAT: &str = "CyberTipline XML";

const CHILD_PORNOGRAPHY: &str = "Child Pornography (possession, manufacture, and distribution)";
const ONLINE_ENTICEMENT: &str = "Online Enticement of Children for Sexual Acts";

/// Writes the case as a CyberTipline `report` document.
pub fn write_cybertipline_report<W: Write>(case: &CaseExport, out: W) -> Result<(), ExportError> {
    if !is_country_code(&case.hotline.country) {
        return Err(ExportError::unexportable(
            FORMAT,
            format!(
                "the hotline's country '{}' is not an ISO 3166 alpha-2 code",
                case.hotline.country
            ),
        ));
    }
    let mut xml = Writer::new_with_indent(out, b' ', 2);
    xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    xml.create_element("report")
        .with_attribute(("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"))
        .with_attribute((
            "xsi:noNamespaceSchemaLocation",
            "https://report.cybertip.org/ispws/xsd",
        ))
        .write_inner_content(|xml| {
            incident_summary(xml, case)?;
            internet_details(xml, case)?;
            reporter(xml, case)?;
            for person in &case.reported_people {
                reported_person(xml, person)?;
            }
            if let Some(info) = reports_info(case) {
                text_element(xml, "additionalInfo", &info)?;
            }
            Ok(())
        })?;
    xml.into_inner().flush()?;
    Ok(())
}

/// Writes the `fileDetails` document of one item's file, with the `reportId` NCMEC gave the
/// report and the `fileId` it gave the uploaded file.
pub fn write_cybertipline_file_details<W: Write>(
    case: &CaseExport,
    item: &CaseItem,
    report_id: i64,
    file_id: &str,
    out: W,
) -> Result<(), ExportError> {
    let Some(file) = &item.file else {
        return Err(ExportError::unexportable(
            FORMAT,
            format!("item {} has no file", item.item_id),
        ));
    };
    // xs:token: no leading, trailing or repeated spaces; NCMEC's ids have none at all.
    if file_id.is_empty() || file_id.chars().any(char::is_whitespace) {
        return Err(ExportError::unexportable(
            FORMAT,
            format!("'{file_id}' is not a file id NCMEC gives"),
        ));
    }
    let classification = item.classification.as_ref();
    let annotations: Vec<&str> = [
        (
            item.has_category(ReportCategory::SelfGeneratedShared),
            "possibleSelfProduction",
        ),
        (
            item.has_category(ReportCategory::LiveStreamedAbuse),
            "liveStreaming",
        ),
        (
            classification.and_then(|c| c.age_group) == Some(AgeGroup::Infant),
            "infant",
        ),
    ]
    .into_iter()
    .filter_map(|(applies, name)| applies.then_some(name))
    .collect();

    let mut xml = Writer::new_with_indent(out, b' ', 2);
    xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    xml.create_element("fileDetails")
        .with_attribute(("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"))
        .with_attribute((
            "xsi:noNamespaceSchemaLocation",
            "https://report.cybertip.org/ispws/xsd",
        ))
        .write_inner_content(|xml| {
            text_element(xml, "reportId", &report_id.to_string())?;
            text_element(xml, "fileId", file_id)?;
            if let Some(name) = &file.name {
                text_element(xml, "originalFileName", name)?;
            }
            if let Some(url) = &item.url {
                text_element(xml, "locationOfFile", url)?;
            }
            if let Some(viewed) = file.viewed {
                text_element(
                    xml,
                    "fileViewedByEsp",
                    if viewed { "true" } else { "false" },
                )?;
            }
            if !annotations.is_empty() {
                xml.create_element("fileAnnotations")
                    .write_inner_content(|xml| {
                        for annotation in &annotations {
                            xml.create_element(*annotation).write_empty()?;
                        }
                        Ok(())
                    })?;
            }
            if let Some(category) = classification.and_then(|c| c.ncmec) {
                text_element(xml, "industryClassification", category.ncmec_code())?;
            }
            for (hash_type, value) in [
                ("MD5", &file.md5),
                ("SHA1", &file.sha1),
                ("SHA256", &file.sha256),
            ] {
                xml.create_element("originalFileHash")
                    .with_attribute(("hashType", hash_type))
                    .write_text_content(BytesText::new(&xml_text(value)))?;
            }
            if let Some(pdq) = &file.pdq {
                xml.create_element("details")
                    .with_attribute(("type", "HASH"))
                    .write_inner_content(|xml| {
                        xml.create_element("nameValuePair")
                            .write_inner_content(|xml| {
                                text_element(xml, "name", "PDQ")?;
                                text_element(xml, "value", pdq)
                            })?;
                        Ok(())
                    })?;
            }
            text_element(
                xml,
                "additionalInfo",
                &format!(
                    "Media type {}, {} bytes. Item {} of case {} at {}, reported by {} \
                     reporter(s).",
                    file.media_type,
                    file.size,
                    item.item_id,
                    case.case_id,
                    case.hotline.name,
                    item.reporters
                ),
            )
        })?;
    xml.into_inner().flush()?;
    Ok(())
}

fn incident_summary<W: Write>(xml: &mut Writer<W>, case: &CaseExport) -> io::Result<()> {
    let most_urgent = case.categories().reduce(ReportCategory::most_urgent);
    let incident_type = match most_urgent {
        Some(ReportCategory::Grooming | ReportCategory::Sextortion) => ONLINE_ENTICEMENT,
        _ => CHILD_PORNOGRAPHY,
    };
    let live = case
        .categories()
        .any(|c| c == ReportCategory::LiveStreamedAbuse);
    let sextortion = case.categories().any(|c| c == ReportCategory::Sextortion);
    xml.create_element("incidentSummary")
        .write_inner_content(|xml| {
            text_element(xml, "incidentType", incident_type)?;
            if live {
                text_element(
                    xml,
                    "escalateToHighPriority",
                    "Live-streamed abuse was reported: a child may be at risk now.",
                )?;
            }
            if sextortion {
                xml.create_element("reportAnnotations")
                    .write_inner_content(|xml| {
                        xml.create_element("sextortion").write_empty()?;
                        Ok(())
                    })?;
            }
            text_element(xml, "incidentDateTime", &rfc3339(case.first_reported_at()))?;
            text_element(
                xml,
                "incidentDateTimeDescription",
                "The time of the earliest report to the hotline; the content may be older.",
            )
        })?;
    Ok(())
}

fn internet_details<W: Write>(xml: &mut Writer<W>, case: &CaseExport) -> io::Result<()> {
    xml.create_element("internetDetails")
        .write_inner_content(|xml| {
            xml.create_element("webPageIncident")
                .with_attribute(("thirdPartyHostedContent", "true"))
                .write_inner_content(|xml| {
                    for url in case.items.iter().filter_map(|item| item.url.as_deref()) {
                        text_element(xml, "url", url)?;
                    }
                    let located: Vec<String> = case
                        .items
                        .iter()
                        .filter_map(|item| {
                            let url = item.url.as_deref()?;
                            let country = item.hosting_country.as_deref()?;
                            Some(format!("{url} is hosted in {country}."))
                        })
                        .collect();
                    if !located.is_empty() {
                        text_element(xml, "additionalInfo", &located.join("\n"))?;
                    }
                    Ok(())
                })?;
            Ok(())
        })?;
    Ok(())
}

fn reporter<W: Write>(xml: &mut Writer<W>, case: &CaseExport) -> io::Result<()> {
    let hotline = &case.hotline;
    xml.create_element("reporter").write_inner_content(|xml| {
        xml.create_element("reportingPerson")
            .write_inner_content(|xml| {
                if let Some(phone) = &hotline.contact_phone {
                    xml.create_element("phone")
                        .with_attribute(("type", "Business"))
                        .write_text_content(BytesText::new(&xml_text(phone)))?;
                }
                xml.create_element("email")
                    .with_attribute(("type", "Business"))
                    .write_text_content(BytesText::new(&xml_text(&hotline.contact_email)))?;
                xml.create_element("address")
                    .with_attribute(("type", "Business"))
                    .write_inner_content(|xml| text_element(xml, "country", &hotline.country))?;
                Ok(())
            })?;
        text_element(
            xml,
            "companyTemplate",
            &format!(
                "Reported by {}, a hotline in {}, from its case {} \"{}\". Contact {} about \
                 this report. The members of the public who reported to the hotline are not \
                 named.",
                hotline.name, hotline.country, case.case_id, case.title, hotline.contact_email
            ),
        )
    })?;
    Ok(())
}

fn reported_person<W: Write>(xml: &mut Writer<W>, person: &ReportedPerson) -> io::Result<()> {
    xml.create_element("personOrUserReported")
        .write_inner_content(|xml| {
            if let Some(service) = &person.service {
                text_element(xml, "espService", service)?;
            }
            if let Some(name) = &person.screen_name {
                text_element(xml, "screenName", name)?;
            }
            if let Some(name) = &person.display_name {
                text_element(xml, "displayName", name)?;
            }
            for url in &person.profile_urls {
                text_element(xml, "profileUrl", url)?;
            }
            // The account is on another company's service: the hotline knows no more of it.
            text_element(xml, "thirdPartyUserReported", "true")
        })?;
    Ok(())
}

/// The reports of the case as one text, one paragraph each.
fn reports_info(case: &CaseExport) -> Option<String> {
    let paragraphs: Vec<String> = case
        .items
        .iter()
        .flat_map(|item| {
            item.reports.iter().map(move |report| {
                let subject = item.url.as_deref().unwrap_or("a file");
                let description = if report.description.trim().is_empty() {
                    "(no description)"
                } else {
                    &report.description
                };
                format!(
                    "Report {} received {} about {subject} (category {}): {}",
                    report.receipt,
                    rfc3339(report.received_at),
                    report.category,
                    description
                )
            })
        })
        .collect();
    (!paragraphs.is_empty()).then(|| paragraphs.join("\n\n"))
}

fn text_element<W: Write>(xml: &mut Writer<W>, name: &str, text: &str) -> io::Result<()> {
    xml.create_element(name)
        .write_text_content(BytesText::new(&xml_text(text)))?;
    Ok(())
}

/// The text without the characters XML 1.0 cannot carry at all (control characters other than
/// tab, line feed and carriage return, and U+FFFE, U+FFFF), which a hostile description could
/// hold and which would make the whole document unreadable. Escaping `<`, `&` and the like is
/// left to quick-xml.
fn xml_text(text: &str) -> Cow<'_, str> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
    };
    if text.chars().all(allowed) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|&c| allowed(c)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::sample;

    fn report() -> String {
        let mut out = Vec::new();
        write_cybertipline_report(&sample::case(), &mut out).expect("the sample is exportable");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn hostile_text_is_escaped_and_cleaned() {
        let xml = report();
        assert!(xml.contains("Seen on &lt;/description&gt;&lt;/report&gt;&lt;x&gt;"));
        assert!(!xml.contains('\u{1}'));
        assert!(xml.contains("<screenName>user&lt;1&gt;</screenName>"));
        assert_eq!(xml.matches("</report>").count(), 1);
    }

    #[test]
    fn the_most_urgent_category_chooses_the_incident() {
        let xml = report();
        // Live abuse (urgency 3) outranks the sextortion report (2).
        assert!(xml.contains(&format!("<incidentType>{CHILD_PORNOGRAPHY}</incidentType>")));
        assert!(xml.contains("<escalateToHighPriority>"));
        assert!(xml.contains("<sextortion/>"));
        let mut case = sample::case();
        case.items.retain(|item| item.item_id == 8);
        let mut out = Vec::new();
        write_cybertipline_report(&case, &mut out).unwrap();
        let xml = String::from_utf8(out).unwrap();
        assert!(xml.contains(&format!("<incidentType>{ONLINE_ENTICEMENT}</incidentType>")));
        assert!(!xml.contains("escalateToHighPriority"));
    }

    #[test]
    fn file_details_need_a_file_and_a_token_id() {
        let case = sample::case();
        let url_only = &case.items[1];
        assert!(matches!(
            write_cybertipline_file_details(&case, url_only, 1, "abc", Vec::new()),
            Err(ExportError::Unexportable { .. })
        ));
        assert!(matches!(
            write_cybertipline_file_details(&case, &case.items[0], 1, "a b", Vec::new()),
            Err(ExportError::Unexportable { .. })
        ));
    }

    #[test]
    fn a_country_name_is_refused() {
        let mut case = sample::case();
        case.hotline.country = "France".into();
        assert!(matches!(
            write_cybertipline_report(&case, Vec::new()),
            Err(ExportError::Unexportable { .. })
        ));
    }

    #[test]
    fn text_xml_cannot_carry_is_dropped() {
        assert_eq!(xml_text("a\u{0}b\u{1b}c\u{FFFF}"), "abc");
        assert!(matches!(xml_text("tab\tok\n"), Cow::Borrowed(_)));
    }
}
