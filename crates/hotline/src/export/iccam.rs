//! ICCAM-shaped JSON: the case as the report a hotline posts to INHOPE's ICCAM (API v3).
//!
//! INHOPE publishes no schema of its API, so the shape is the one SCART (the Dutch hotline's
//! open-source tool, AGPL, `scart/classes/iccam/api3/classes/ScartExportICCAMV3.php`) posts,
//! with the ids of its ICCAM code table (see [`crate::classification`]):
//! - the report: `reportingAnalystName`, `hotlineReceivedDate`, `hotlineReference`, `memo`,
//!   `urls`, `sourceUrlUsername`, `sourceUrlPassword`, `sourceUrlReferrer`,
//!   `sourceUrlSiteType`, `sourceUrlCommerciality`, `sourceUrlPaymentMethods`;
//! - each URL (ICCAM's content item): `urlString`, its own `hotlineReference`,
//!   `hostingCountryCode`, `isSourceUrl` (the first URL of the case), `memo`, the
//!   `assessment` (`assessingAnalystName`, `classification`, `ageCategorization`,
//!   `genderCategorization`, `virtualContentCategorization`,
//!   `userGeneratedContentCategorization`, `childModelingCategorization`) and the `actions`
//!   (`actionType`, `actioningAnalystName`, `actionDate`, `country`, `reason`).
//!
//! SCART posts the report, then each assessment and action in calls of their own once ICCAM
//! has given content ids; this document holds them together, in the shape of each call's body,
//! for the caller that makes those calls (or a partner that imports the file).
//!
//! ICCAM exchanges URLs: an item that is only a file has no place in it, and a case without any
//! URL is refused. Commerciality and payment methods are not recorded by Vigie and go as
//! "not determined" (id 1), as SCART sends them when unknown; a case's site type is that of its
//! first classified URL. The virtual-content flag is set for Project VIC's CGI/animation
//! category, the user-generated one for self-generated material; child modelling is not
//! recorded and goes as "no".

use std::io::Write;

use serde::Serialize;

use super::{is_country_code, rfc3339, CaseExport, CaseItem, ExportError};
use crate::{ReportCategory, SiteType, VicsCategory};

const FORMAT: &str = "ICCAM JSON";

/// ICCAM's id for "not determined" commerciality and payment method.
const NOT_DETERMINED: u32 = 1;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    reporting_analyst_name: &'a str,
    hotline_received_date: String,
    hotline_reference: String,
    memo: String,
    urls: Vec<Url<'a>>,
    source_url_username: &'a str,
    source_url_password: &'a str,
    source_url_referrer: Option<&'a str>,
    source_url_site_type: u32,
    source_url_commerciality: u32,
    source_url_payment_methods: [u32; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Url<'a> {
    url_string: &'a str,
    hotline_reference: String,
    hosting_country_code: Option<&'a str>,
    is_source_url: bool,
    memo: String,
    assessment: Option<Assessment<'a>>,
    actions: Vec<Action<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Assessment<'a> {
    assessing_analyst_name: &'a str,
    classification: u32,
    age_categorization: Option<u32>,
    gender_categorization: Option<u32>,
    virtual_content_categorization: u32,
    user_generated_content_categorization: u32,
    child_modeling_categorization: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Action<'a> {
    action_type: u32,
    actioning_analyst_name: &'a str,
    action_date: String,
    country: &'a str,
    reason: &'a str,
}

/// Writes the case as one ICCAM report with a content item per URL.
pub fn write_iccam_report<W: Write>(case: &CaseExport, mut out: W) -> Result<(), ExportError> {
    let url_items: Vec<(&CaseItem, &str)> = case
        .items
        .iter()
        .filter_map(|item| Some((item, item.url.as_deref()?)))
        .collect();
    if url_items.is_empty() {
        return Err(ExportError::unexportable(
            FORMAT,
            "ICCAM exchanges URLs and the case has none",
        ));
    }
    if !is_country_code(&case.hotline.country) {
        return Err(ExportError::unexportable(
            FORMAT,
            format!(
                "the hotline's country '{}' is not an ISO 3166 alpha-2 code",
                case.hotline.country
            ),
        ));
    }
    for (item, _) in &url_items {
        let countries = item
            .hosting_country
            .iter()
            .chain(item.decision.iter().flat_map(|d| d.country.iter()));
        for country in countries {
            if !is_country_code(country) {
                return Err(ExportError::unexportable(
                    FORMAT,
                    format!(
                        "item {}: '{country}' is not an ISO 3166 alpha-2 code",
                        item.item_id
                    ),
                ));
            }
        }
    }
    let site_type = url_items
        .iter()
        .find_map(|(item, _)| item.classification.as_ref()?.site_type)
        .unwrap_or(SiteType::NotDetermined);
    let report = Report {
        reporting_analyst_name: &case.analyst,
        hotline_received_date: rfc3339(case.first_reported_at()),
        hotline_reference: format!("case-{}", case.case_id),
        memo: case.title.clone(),
        urls: url_items
            .iter()
            .enumerate()
            .map(|(index, (item, url))| content(case, item, url, index == 0))
            .collect(),
        source_url_username: "",
        source_url_password: "",
        source_url_referrer: None,
        source_url_site_type: site_type.iccam_id(),
        source_url_commerciality: NOT_DETERMINED,
        source_url_payment_methods: [NOT_DETERMINED],
    };
    serde_json::to_writer_pretty(&mut out, &report).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

fn content<'a>(case: &'a CaseExport, item: &'a CaseItem, url: &'a str, first: bool) -> Url<'a> {
    let assessment = item.classification.as_ref().and_then(|c| {
        Some(Assessment {
            assessing_analyst_name: &c.analyst,
            classification: c.iccam?.iccam_id(),
            age_categorization: c.age_group.map(|a| a.iccam_id()),
            gender_categorization: c.gender.map(|g| g.iccam_id()),
            virtual_content_categorization: u32::from(c.vics == Some(VicsCategory::CgiAnimation)),
            user_generated_content_categorization: u32::from(
                item.has_category(ReportCategory::SelfGeneratedShared),
            ),
            child_modeling_categorization: 0,
        })
    });
    let actions = item
        .decision
        .iter()
        .map(|decision| Action {
            action_type: decision.decision.iccam_action().iccam_id(),
            actioning_analyst_name: &decision.analyst,
            action_date: rfc3339(decision.decided_at),
            country: decision.country.as_deref().unwrap_or(&case.hotline.country),
            reason: decision.reason.as_deref().unwrap_or_default(),
        })
        .collect();
    let memo = item
        .reports
        .iter()
        .map(|r| format!("{} ({}): {}", r.receipt, r.category, r.description))
        .collect::<Vec<_>>()
        .join("\n");
    Url {
        url_string: url,
        hotline_reference: format!("case-{}-item-{}", case.case_id, item.item_id),
        hosting_country_code: item.hosting_country.as_deref(),
        is_source_url: first,
        memo,
        assessment,
        actions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::sample;

    #[test]
    fn file_only_cases_have_no_iccam_report() {
        let mut case = sample::case();
        case.items.retain(|item| item.url.is_none());
        assert!(matches!(
            write_iccam_report(&case, Vec::new()),
            Err(ExportError::Unexportable { .. })
        ));
    }

    #[test]
    fn a_hosting_country_must_be_a_code() {
        let mut case = sample::case();
        case.items[0].hosting_country = Some("Germany".into());
        assert!(matches!(
            write_iccam_report(&case, Vec::new()),
            Err(ExportError::Unexportable { .. })
        ));
    }
}
