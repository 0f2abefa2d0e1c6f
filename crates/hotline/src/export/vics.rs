//! Project VIC VICS 2.0 JSON: the case's media as a forensic tool imports them.
//!
//! A VICS 2.0 Cases document is OData JSON: the context
//! ([`VICS_CASES_CONTEXT`], the US data model) and a `value` array of cases, each with
//! `CaseID`, `CaseNumber`, `SourceApplicationName`, `SourceApplicationVersion` and its `Media`.
//! Each Media is one file of the case: `MediaID` (the item's id, a number as VICS tools expect),
//! `Category` (the Project VIC category, left out when the item is not categorised), `MD5`,
//! `SHA1`, `MediaSize`, `MimeType`, `IsPrecategorized` (true when the category came from a
//! hash list the hotline holds, not from its analyst) and `MediaFiles` with the name it was
//! reported under. No public copy of the 2.0 data model was found (see
//! `shared/schemas/README.md`); the field names are those VICS tools read, and the tests read
//! this output back with `vigie-bank`'s VICS reader.
//!
//! Items that are only URLs have no media and are left out.

use std::io::Write;

use serde::Serialize;

use super::{CaseExport, ExportError, TOOL_NAME, TOOL_VERSION};

/// The OData context of a VICS 2.0 Cases document (US data model).
pub const VICS_CASES_CONTEXT: &str =
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases";

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "@odata.context")]
    context: &'static str,
    value: [Case<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Case<'a> {
    #[serde(rename = "CaseID")]
    case_id: String,
    case_number: String,
    source_application_name: &'static str,
    source_application_version: &'static str,
    media: Vec<Media<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Media<'a> {
    #[serde(rename = "MediaID")]
    media_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<u8>,
    #[serde(rename = "MD5")]
    md5: &'a str,
    #[serde(rename = "SHA1")]
    sha1: &'a str,
    media_size: u64,
    mime_type: &'a str,
    is_precategorized: bool,
    media_files: Vec<MediaFile<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MediaFile<'a> {
    file_name: &'a str,
}

/// Writes the case's media as a VICS 2.0 Cases document with one case.
pub fn write_vics_case<W: Write>(case: &CaseExport, mut out: W) -> Result<(), ExportError> {
    let media = case
        .items
        .iter()
        .filter_map(|item| {
            let file = item.file.as_ref()?;
            Some(Media {
                media_id: item.item_id,
                category: item
                    .classification
                    .as_ref()
                    .and_then(|c| c.vics)
                    .map(|c| c.number()),
                md5: &file.md5,
                sha1: &file.sha1,
                media_size: file.size,
                mime_type: &file.media_type,
                is_precategorized: item.matched_bank.is_some(),
                media_files: file
                    .name
                    .iter()
                    .map(|name| MediaFile { file_name: name })
                    .collect(),
            })
        })
        .collect();
    let document = Document {
        context: VICS_CASES_CONTEXT,
        value: [Case {
            case_id: case.case_id.to_string(),
            case_number: format!("{}-{}", case.hotline.country, case.case_id),
            source_application_name: TOOL_NAME,
            source_application_version: TOOL_VERSION,
            media,
        }],
    };
    serde_json::to_writer_pretty(&mut out, &document).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}
