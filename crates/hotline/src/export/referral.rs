//! The police referral package: one zip an investigator can check file by file, with the
//! evidence still encrypted.
//!
//! | file | what it is |
//! | --- | --- |
//! | `README.txt` | what each file is, and how to get the key of the evidence |
//! | `hashes.csv` | each file of the case: item, name, media type, size, MD5, SHA-1, SHA-256, PDQ, categories, URL |
//! | `chain-of-custody.csv` | who did what to the case and its evidence, when |
//! | `audit.jsonl` | the hotline's audit log rows about the case, as its log holds them |
//! | `evidence/NAME.sealed` | each evidence file, encrypted by the hotline |
//! | `manifest.json` | the case, the tool and when the package was made, and every other file with its SHA-256 and size |
//!
//! The manifest is what makes the package checkable: a recipient recomputes each file's
//! SHA-256 and compares. It is written last, over the bytes exactly as stored. The evidence is
//! sealed by the caller (`vigie-vault`) before it reaches this crate and travels as it is: the
//! key never enters the package, and is given to the recipient out of band, so that a package
//! lost on the way discloses nothing. The manifest hashes the sealed bytes, `hashes.csv` the
//! original files, so the recipient can check both the package and, once decrypted, the media.
//!
//! CSV cells are quoted as CSV requires, and a text cell that a spreadsheet would run as a
//! formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'`,
//! because reporters write those texts and investigators open CSV files in spreadsheets; the
//! README says so.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::io::{Seek, Write};

use serde::Serialize;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::{civil_from_days, rfc3339, CaseExport, ExportError, TOOL_NAME, TOOL_VERSION};

const FORMAT: &str = "a referral package";

#[derive(Serialize)]
struct Manifest<'a> {
    tool: Tool,
    made_at: String,
    exported_by: &'a str,
    case: ManifestCase<'a>,
    hotline: ManifestHotline<'a>,
    files: Vec<ManifestFile>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct ManifestCase<'a> {
    id: i64,
    title: &'a str,
    created_at: String,
    items: usize,
}

#[derive(Serialize)]
struct ManifestHotline<'a> {
    name: &'a str,
    country: &'a str,
    contact_email: &'a str,
    contact_phone: Option<&'a str>,
}

#[derive(Serialize)]
struct ManifestFile {
    name: String,
    sha256: String,
    size: u64,
}

/// Writes the case's referral package as a zip to `out`, and hands `out` back.
pub fn write_referral_package<W: Write + Seek>(
    case: &CaseExport,
    out: W,
) -> Result<W, ExportError> {
    check_evidence_names(case)?;
    let audit = audit_lines(case)?;
    let mut package = Package::new(out, case.exported_at);
    package.add("README.txt", readme(case).as_bytes(), true)?;
    package.add("hashes.csv", &hashes_csv(case)?, true)?;
    package.add("chain-of-custody.csv", &custody_csv(case)?, true)?;
    package.add("audit.jsonl", audit.as_bytes(), true)?;
    for evidence in &case.evidence {
        // Sealed bytes are ciphertext: deflate would only spend time.
        package.add(
            &format!("evidence/{}.sealed", evidence.name),
            &evidence.sealed,
            false,
        )?;
    }
    let manifest = Manifest {
        tool: Tool {
            name: TOOL_NAME,
            version: TOOL_VERSION,
        },
        made_at: rfc3339(case.exported_at),
        exported_by: &case.analyst,
        case: ManifestCase {
            id: case.case_id,
            title: &case.title,
            created_at: rfc3339(case.created_at),
            items: case.items.len(),
        },
        hotline: ManifestHotline {
            name: &case.hotline.name,
            country: &case.hotline.country,
            contact_email: &case.hotline.contact_email,
            contact_phone: case.hotline.contact_phone.as_deref(),
        },
        files: std::mem::take(&mut package.files),
    };
    let mut json = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::from)?;
    json.push(b'\n');
    package.add("manifest.json", &json, true)?;
    Ok(package.zip.finish().map_err(std::io::Error::from)?)
}

/// The zip being written, and the manifest entries of what is in it so far.
struct Package<W: Write + Seek> {
    zip: ZipWriter<W>,
    modified: DateTime,
    files: Vec<ManifestFile>,
}

impl<W: Write + Seek> Package<W> {
    fn new(out: W, made_at: i64) -> Self {
        Package {
            zip: ZipWriter::new(out),
            modified: zip_time(made_at),
            files: Vec::new(),
        }
    }

    fn add(&mut self, name: &str, bytes: &[u8], compress: bool) -> Result<(), ExportError> {
        let method = if compress {
            CompressionMethod::Deflated
        } else {
            CompressionMethod::Stored
        };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(self.modified)
            .unix_permissions(0o644)
            // Evidence can exceed 4 GiB in a video case.
            .large_file(bytes.len() as u64 >= u64::from(u32::MAX));
        self.zip
            .start_file(name, options)
            .map_err(std::io::Error::from)?;
        self.zip.write_all(bytes)?;
        self.files.push(ManifestFile {
            name: name.to_string(),
            sha256: hex(&Sha256::digest(bytes)),
            size: bytes.len() as u64,
        });
        Ok(())
    }
}

/// The package's time as a zip timestamp (whole seconds, 1980 to 2107, local time by the
/// format's definition; written as UTC and said so in the README).
fn zip_time(millis: i64) -> DateTime {
    let seconds = millis.div_euclid(1000);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let second_of_day = seconds.rem_euclid(86_400);
    u16::try_from(year)
        .ok()
        .and_then(|year| {
            DateTime::from_date_and_time(
                year,
                month as u8,
                day as u8,
                (second_of_day / 3600) as u8,
                (second_of_day / 60 % 60) as u8,
                (second_of_day % 60) as u8,
            )
            .ok()
        })
        .unwrap_or_default()
}

/// Evidence names become paths in the zip: only plain, distinct file names, so that no name
/// climbs out of `evidence/` (`../`) or hides a file behind another.
fn check_evidence_names(case: &CaseExport) -> Result<(), ExportError> {
    let mut seen = BTreeSet::new();
    for evidence in &case.evidence {
        let name = &evidence.name;
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !plain {
            return Err(ExportError::unexportable(
                FORMAT,
                format!("'{name}' is not a plain evidence file name"),
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(ExportError::unexportable(
                FORMAT,
                format!("two evidence files are named '{name}'"),
            ));
        }
    }
    Ok(())
}

/// The audit rows as JSON lines, each checked to be one JSON value on one line, so that the
/// file reads back row for row.
fn audit_lines(case: &CaseExport) -> Result<String, ExportError> {
    let mut text = String::new();
    for (index, line) in case.audit.iter().enumerate() {
        let one_value = !line.contains(['\n', '\r'])
            && serde_json::from_str::<serde::de::IgnoredAny>(line).is_ok();
        if !one_value {
            return Err(ExportError::unexportable(
                FORMAT,
                format!("audit row {} is not one JSON value on one line", index + 1),
            ));
        }
        text.push_str(line);
        text.push('\n');
    }
    Ok(text)
}

fn hashes_csv(case: &CaseExport) -> Result<Vec<u8>, ExportError> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record([
        "item_id",
        "file_name",
        "media_type",
        "size",
        "md5",
        "sha1",
        "sha256",
        "pdq",
        "ncmec_category",
        "vics_category",
        "matched_bank",
        "url",
    ])
    .map_err(csv_error)?;
    for item in &case.items {
        let Some(file) = &item.file else { continue };
        let classification = item.classification.as_ref();
        csv.write_record([
            item.item_id.to_string().as_str(),
            &cell(file.name.as_deref().unwrap_or_default()),
            &cell(&file.media_type),
            &file.size.to_string(),
            &cell(&file.md5),
            &cell(&file.sha1),
            &cell(&file.sha256),
            &cell(file.pdq.as_deref().unwrap_or_default()),
            classification
                .and_then(|c| c.ncmec)
                .map_or("", |c| c.ncmec_code()),
            &classification
                .and_then(|c| c.vics)
                .map_or(String::new(), |c| c.number().to_string()),
            &cell(item.matched_bank.as_deref().unwrap_or_default()),
            &cell(item.url.as_deref().unwrap_or_default()),
        ])
        .map_err(csv_error)?;
    }
    csv.into_inner()
        .map_err(|e| ExportError::Io(e.into_error()))
}

fn custody_csv(case: &CaseExport) -> Result<Vec<u8>, ExportError> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(["at", "actor", "action", "detail"])
        .map_err(csv_error)?;
    for event in &case.chain_of_custody {
        csv.write_record([
            rfc3339(event.at).as_str(),
            &cell(&event.actor),
            &cell(&event.action),
            &cell(&event.detail),
        ])
        .map_err(csv_error)?;
    }
    csv.into_inner()
        .map_err(|e| ExportError::Io(e.into_error()))
}

/// Writing CSV into memory fails only if memory does: as an I/O error.
fn csv_error(error: csv::Error) -> ExportError {
    ExportError::Io(std::io::Error::other(error))
}

/// A text cell a spreadsheet will not run as a formula.
fn cell(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn readme(case: &CaseExport) -> String {
    let hotline = &case.hotline;
    let phone = hotline
        .contact_phone
        .as_deref()
        .map(|phone| format!(" or {phone}"))
        .unwrap_or_default();
    format!(
        "\
Referral package: case {id} \"{title}\"
From {name} ({country}), made {made} (UTC) by {analyst} with {tool} {version}.
Contact: {email}{phone}.

What each file is
- manifest.json: the case, the hotline, when and with what this package was made, and every
  other file of the package with its SHA-256 and size in bytes. Check each file against it
  first (for example `sha256sum FILE`).
- hashes.csv: one row per file of the case: the hotline's item number, the name it was reported
  under, its media type (from its bytes), size, MD5, SHA-1, SHA-256 and PDQ of the original
  file, the NCMEC industry category and Project VIC category given to it, the hash list it
  matched if it was recognised as known material, and the URL it was reported at.
- chain-of-custody.csv: who did what to the case and its evidence, and when (UTC).
- audit.jsonl: the hotline's audit log rows about the case, one JSON object per line, as the
  hotline's tamper-evident log holds them.
- evidence/*.sealed: the evidence files, ENCRYPTED.

The evidence is encrypted
Each evidence/*.sealed file is one original file encrypted by the hotline with
XChaCha20-Poly1305 (Vigie's sealed format: a header with the key id, a random nonce, the
ciphertext and its authentication tag). The key is NOT in this package, nor sent with it: ask
{name} for it out of band (by telephone{phone_hint}, or in person), quoting case {id} and the
file's name. Once decrypted, each file's SHA-256 is the one in hashes.csv.

CSV cells that start with =, +, -, @, a tab or a carriage return are prefixed with ' so that a
spreadsheet does not run them as formulas; the texts come from reporters. The times in the
zip entries are UTC.
",
        id = case.case_id,
        title = case.title,
        name = hotline.name,
        country = hotline.country,
        made = rfc3339(case.exported_at),
        analyst = case.analyst,
        tool = TOOL_NAME,
        version = TOOL_VERSION,
        email = hotline.contact_email,
        phone_hint = hotline
            .contact_phone
            .as_deref()
            .map(|phone| format!(" at {phone}"))
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{sample, Evidence};
    use std::io::Cursor;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(cell("-1+1"), "'-1+1");
        assert_eq!(cell("@here"), "'@here");
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell(""), "");
    }

    #[test]
    fn evidence_names_stay_inside_evidence() {
        for name in ["../escape", "a/b", "", ".hidden", "é", "a b"] {
            let mut case = sample::case();
            case.evidence[0].name = name.into();
            assert!(
                matches!(
                    write_referral_package(&case, Cursor::new(Vec::new())),
                    Err(ExportError::Unexportable { .. })
                ),
                "{name:?}"
            );
        }
        let mut case = sample::case();
        case.evidence.push(Evidence {
            name: "item-7".into(),
            sealed: Vec::new(),
        });
        assert!(write_referral_package(&case, Cursor::new(Vec::new())).is_err());
    }

    #[test]
    fn audit_rows_must_be_json_lines() {
        for line in ["not json", "{\"a\":\n1}", ""] {
            let mut case = sample::case();
            case.audit.push(line.into());
            assert!(
                write_referral_package(&case, Cursor::new(Vec::new())).is_err(),
                "{line:?}"
            );
        }
    }

    #[test]
    fn zip_times_are_the_package_time_in_utc() {
        let time = zip_time(1_714_636_800_000);
        assert_eq!(
            (time.year(), time.month(), time.day(), time.hour()),
            (2024, 5, 2, 8)
        );
        // Before 1980 the zip format has no time: its default (1980-01-01) stands in.
        assert_eq!(zip_time(0), DateTime::default());
    }
}
