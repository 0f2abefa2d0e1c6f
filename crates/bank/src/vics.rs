//! Project VIC VICS JSON: the hash sets and case files forensic tools exchange.
//!
//! A VICS document is OData JSON: a context (`"odata.metadata": ".../DataModels/1.2.xml#Media"`
//! in 1.x, `"@odata.context": ".../DataModels/2.0.xml/Default/$metadata#Media"` in 2.0) and a
//! `value` array of Media, or in a 2.0 Cases document a `value` array of cases each carrying a
//! `Media` array. Both are read. No public schema of the data model was found; the fields come
//! from the NIST NSRL CAID files in `shared/schemas/projectvic-vics/` (1.2) and from the
//! fields sepinf-inc/IPED's `HashDBTool.java` reads (commit
//! 211c1da382f64805d2d82626242332f920d36ea5), as collected in `shared/schemas/README.md`.
//!
//! From each Media: `MediaID` is the id; `MD5`, `SHA1` (and `PhotoDNA`, `SHA256` where a
//! producer writes them as fields) are signals, as are the `{HashName, HashValue}` items of any
//! array of alternative hashes (PhotoDNA, PDQ, SHA256, MD5, SHA1; other hash names are
//! skipped); `Category` is the category; `Tags` (a string split on `,` and `;`, or an array)
//! are tags, and so are the flags `VictimIdentified`, `OffenderIdentified` and
//! `IsDistributed` when true (as tags of those exact names) and `Series` (as the tag
//! `Series:<name>`), because investigators triage on them and [`Entry`] has no field of its
//! own for them. Each `MediaFiles` item (a place on a seized disk where the Media was found)
//! is a file, kept whole: `FilePath` is the folder and `FileName` the name in it in the 1.2
//! CAID files, so the two are joined with `/`, unless `FilePath` already ends with the name
//! (then it is the whole path), and either alone is the path. `MediaSize` is not kept.
//!
//! The document is parsed whole (see the `json_document` module): VICS files are case-sized,
//! and serde_json cannot stream the inside of an array. Each Media is still parsed on its own,
//! so a bad one is a problem on its line.
//!
//! Writing gives a VICS 2.0 Media document. `MediaID` and `Category` are written as numbers
//! when they are integers, as VICS tools expect. The first MD5 and SHA-1 go in their fields;
//! PDQ, SHA-256, PhotoDNA and further MD5/SHA-1 go in `AlternativeHashes`, since VICS has no
//! field for them. The flag and series tags go back to their fields. Each file is a
//! `MediaFiles` item with the folder in `FilePath` and the name in `FileName`, as the CAID
//! files and the forensic tools reading them expect, which reads back as the same path. Deleted entries are left out: VICS cannot say that a
//! source withdraws an item.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::csv_list::values_of;
use crate::entry::union_into;
use crate::import::Collector;
use crate::json_document::{not_the_format, read_text, Lines};
use crate::{category_of, BankError, BankInfo, Entry, ListFormat, Signal, SignalType};

/// The context a VICS 2.0 Media document declares.
const VICS_2_MEDIA_CONTEXT: &str =
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media";

/// The flags written as tags of the same name.
const FLAGS: [&str; 3] = ["VictimIdentified", "OffenderIdentified", "IsDistributed"];
const SERIES_TAG: &str = "Series:";

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(borrow)]
    value: Vec<&'a RawValue>,
}

/// Probes an item of `value` for the `Media` of a case.
#[derive(Deserialize)]
struct Case<'a> {
    #[serde(rename = "Media", borrow)]
    media: Option<Vec<&'a RawValue>>,
}

pub(crate) fn read<R: BufRead, S: FnMut(Entry)>(
    reader: R,
    collector: &mut Collector<'_, S>,
) -> Result<(), BankError> {
    let text = read_text(reader, ListFormat::Vics, collector)?;
    let document: Document = serde_json::from_str(&text).map_err(|e| {
        not_the_format(
            collector,
            ListFormat::Vics,
            format!("not a VICS document (an object with a \"value\" array): {e}"),
        )
    })?;
    let mut lines = Lines::new(&text);
    for item in document.value {
        let case = serde_json::from_str::<Case>(item.get())
            .ok()
            .and_then(|case| case.media);
        for media in case.unwrap_or_else(|| vec![item]) {
            let line = lines.line_of(media.get());
            collector.record(line, media_entry(media.get()))?;
        }
    }
    Ok(())
}

fn media_entry(json: &str) -> Result<Entry, String> {
    let media: Map<String, Value> =
        serde_json::from_str(json).map_err(|_| "a Media record must be a JSON object")?;
    let mut signals = Vec::new();
    let mut add = |signal_type: SignalType, field: &str, value: &str| -> Result<(), String> {
        let signal = Signal::parse(signal_type, value).map_err(|e| format!("{field}: {e}"))?;
        signals.push(signal);
        Ok(())
    };
    for (field, signal_type) in [
        ("MD5", SignalType::Md5),
        ("SHA1", SignalType::Sha1),
        ("PhotoDNA", SignalType::PhotoDna),
        ("SHA256", SignalType::Sha256),
    ] {
        if let Some(value) = scalar(media.get(field)) {
            add(signal_type, field, &value)?;
        }
    }
    for (field, value) in &media {
        for item in value.as_array().into_iter().flatten() {
            let name = scalar(item.get("HashName"));
            let value = scalar(item.get("HashValue"));
            if let (Some(name), Some(value)) = (name, value) {
                if let Some(signal_type) = SignalType::from_alias(&name) {
                    add(signal_type, field, &value)?;
                }
            }
        }
    }
    if signals.is_empty() {
        return Err("the Media has no MD5, SHA1 or alternative hash".to_string());
    }
    let mut tags: Vec<String> = match media.get("Tags") {
        Some(Value::String(tags)) => tags
            .split([',', ';'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        Some(Value::Array(tags)) => tags.iter().filter_map(|t| scalar(Some(t))).collect(),
        _ => Vec::new(),
    };
    for flag in FLAGS {
        if media.get(flag).and_then(Value::as_bool) == Some(true) {
            tags.push(flag.to_string());
        }
    }
    if let Some(series) = scalar(media.get("Series")) {
        tags.push(format!("{SERIES_TAG}{series}"));
    }
    let mut files = Vec::new();
    let media_files = media.get("MediaFiles").and_then(Value::as_array);
    union_into(
        &mut files,
        media_files.into_iter().flatten().filter_map(file_path),
    );
    Ok(Entry {
        id: scalar(media.get("MediaID")),
        signals,
        category: scalar(media.get("Category")),
        tags,
        files,
        deleted: false,
    })
}

/// The whole path of a `MediaFiles` item, from its `FilePath` and `FileName`.
fn file_path(item: &Value) -> Option<String> {
    match (scalar(item.get("FilePath")), scalar(item.get("FileName"))) {
        (Some(path), Some(name)) if !ends_with_name(&path, &name) => {
            // A Windows folder (backslashes only) is joined the Windows way.
            let separator = if path.contains('\\') && !path.contains('/') {
                '\\'
            } else {
                '/'
            };
            Some(format!(
                "{}{separator}{name}",
                path.trim_end_matches(SEPARATORS)
            ))
        }
        (path, name) => path.or(name),
    }
}

/// Path separators of the disks VICS describes: Windows writes `\`, everything else `/`.
const SEPARATORS: [char; 2] = ['/', '\\'];

/// Whether `name` is the last component of `path`, so `path` is already the whole path.
fn ends_with_name(path: &str, name: &str) -> bool {
    path.strip_suffix(name)
        .is_some_and(|folder| folder.is_empty() || folder.ends_with(SEPARATORS))
}

/// A string or number field as non-empty text.
fn scalar(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Media<'a> {
    #[serde(rename = "MediaID", skip_serializing_if = "Option::is_none")]
    media_id: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<Value>,
    #[serde(rename = "MD5", skip_serializing_if = "Option::is_none")]
    md5: Option<&'a str>,
    #[serde(rename = "SHA1", skip_serializing_if = "Option::is_none")]
    sha1: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    victim_identified: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    offender_identified: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_distributed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    series: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    alternative_hashes: Vec<AlternativeHash<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    media_files: Vec<MediaFile<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MediaFile<'a> {
    file_name: &'a str,
    file_path: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AlternativeHash<'a> {
    hash_name: &'static str,
    hash_value: &'a str,
}

/// How VICS names each hash in `AlternativeHashes`.
fn hash_name(signal_type: SignalType) -> &'static str {
    match signal_type {
        SignalType::Pdq => "PDQ",
        SignalType::Md5 => "MD5",
        SignalType::Sha1 => "SHA1",
        SignalType::Sha256 => "SHA256",
        SignalType::PhotoDna => "PhotoDNA",
    }
}

/// An integer when the text is one exactly, so `"0012"` stays text; otherwise the text.
fn number_or_text(text: &str) -> Value {
    match text.parse::<i64>() {
        Ok(n) if n.to_string() == text => Value::from(n),
        _ => Value::from(text),
    }
}

fn media_of<'a>(entry: &'a Entry, bank: &'a BankInfo) -> Media<'a> {
    let md5s = values_of(entry, SignalType::Md5);
    let sha1s = values_of(entry, SignalType::Sha1);
    let mut alternative_hashes = Vec::new();
    for signal in &entry.signals {
        let in_field = match signal.signal_type {
            SignalType::Md5 => md5s.first() == Some(&signal.value.as_str()),
            SignalType::Sha1 => sha1s.first() == Some(&signal.value.as_str()),
            _ => false,
        };
        if !in_field {
            alternative_hashes.push(AlternativeHash {
                hash_name: hash_name(signal.signal_type),
                hash_value: &signal.value,
            });
        }
    }
    let has = |flag: &str| entry.tags.iter().any(|t| t == flag);
    let series = entry.tags.iter().find_map(|t| t.strip_prefix(SERIES_TAG));
    let tags: Vec<&str> = entry
        .tags
        .iter()
        .map(String::as_str)
        .filter(|t| !FLAGS.contains(t) && !t.starts_with(SERIES_TAG))
        .collect();
    Media {
        media_id: entry.id.as_deref().map(number_or_text),
        category: category_of(entry, bank).map(number_or_text),
        md5: md5s.first().copied(),
        sha1: sha1s.first().copied(),
        victim_identified: has(FLAGS[0]),
        offender_identified: has(FLAGS[1]),
        is_distributed: has(FLAGS[2]),
        series,
        tags: (!tags.is_empty()).then(|| tags.join(",")),
        alternative_hashes,
        media_files: entry
            .files
            .iter()
            .map(|path| {
                let (folder, name) = path.rsplit_once(SEPARATORS).unwrap_or(("", path));
                MediaFile {
                    file_name: name,
                    file_path: folder,
                }
            })
            .collect(),
    }
}

pub(crate) fn write<'a, W: Write>(
    mut writer: W,
    bank: &BankInfo,
    entries: impl Iterator<Item = &'a Entry>,
) -> Result<(), BankError> {
    write!(
        writer,
        "{{\n  \"@odata.context\": {},\n  \"value\": [",
        Value::from(VICS_2_MEDIA_CONTEXT)
    )?;
    for (index, entry) in entries.filter(|e| !e.deleted).enumerate() {
        writer.write_all(if index == 0 { b"\n    " } else { b",\n    " })?;
        serde_json::to_writer(&mut writer, &media_of(entry, bank)).map_err(std::io::Error::from)?;
    }
    writer.write_all(b"\n  ]\n}\n")?;
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{read_list, write_list, ImportOptions, ImportSummary};

    const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
    const SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

    fn read_vics(text: &str) -> Result<(Vec<Entry>, ImportSummary), BankError> {
        let mut entries = Vec::new();
        let summary = read_list(
            "case.json",
            text.as_bytes(),
            ListFormat::Vics,
            &ImportOptions::default(),
            |e| entries.push(e),
        )?;
        Ok((entries, summary))
    }

    #[test]
    fn reads_a_2_0_cases_document() {
        let photodna = "A".repeat(192);
        let text = format!(
            r#"{{"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases",
"value": [{{"CaseID": "c1", "Media": [
  {{"MediaID": 12, "MD5": "{}", "SHA1": "{SHA1}", "Category": 1, "VictimIdentified": true,
    "IsDistributed": false, "Series": "Benign landscapes", "Tags": "lake, sunset;",
    "AlternativeHashes": [{{"HashName": "PhotoDNA", "HashValue": "{photodna}"}},
                          {{"HashName": "PDQ", "HashValue": "{PDQ}"}},
                          {{"HashName": "ssdeep", "HashValue": "3:abc:def"}}]}},
  {{"MediaID": 13, "MD5": "short"}},
  "not an object",
  {{"MediaID": "x", "Category": 0}}
]}}]}}"#,
            MD5.to_uppercase()
        );
        let (entries, summary) = read_vics(&text).unwrap();
        assert_eq!(entries.len(), 1);
        let entry = &entries[0];
        assert_eq!(entry.id.as_deref(), Some("12"));
        assert_eq!(entry.category.as_deref(), Some("1"));
        let signals: Vec<_> = entry
            .signals
            .iter()
            .map(|s| (s.signal_type, s.value.as_str()))
            .collect();
        assert_eq!(
            signals,
            [
                (SignalType::Md5, MD5),
                (SignalType::Sha1, SHA1),
                (SignalType::PhotoDna, photodna.as_str()),
                (SignalType::Pdq, PDQ),
            ]
        );
        assert_eq!(
            entry.tags,
            [
                "lake",
                "sunset",
                "VictimIdentified",
                "Series:Benign landscapes"
            ]
        );
        let problems: Vec<_> = summary
            .problems
            .iter()
            .map(|p| (p.line, p.reason.as_str()))
            .collect();
        assert_eq!(problems.len(), 3);
        assert_eq!(problems[0].0, 8);
        assert!(problems[0].1.starts_with("MD5: 'short' is not an MD5 hash"));
        assert_eq!(problems[1], (9, "a Media record must be a JSON object"));
        assert_eq!(
            problems[2],
            (10, "the Media has no MD5, SHA1 or alternative hash")
        );
    }

    #[test]
    fn media_files_give_whole_paths() {
        let text = format!(
            r#"{{"odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml#Media",
"value": [{{"MediaID": 5, "MD5": "{MD5}", "MediaFiles": [
  {{"MD5": "{MD5}", "FileName": "lake.jpg", "FilePath": "C:/Users/case/Pictures"}},
  {{"FileName": "lake.jpg", "FilePath": "C:\\Users\\case\\Desktop\\"}},
  {{"FileName": "lake.jpg", "FilePath": "E:/export/lake.jpg"}},
  {{"FileName": "lake.jpg", "FilePath": "E:/export/biglake.jpg"}},
  {{"FilePath": "F:/carved/000123.jpg"}},
  {{"FileName": "lake (1).jpg"}},
  {{"FileName": "lake.jpg", "FilePath": "C:/Users/case/Pictures"}},
  {{"Created": "2020-01-01T00:00:00Z"}}
]}}]}}"#
        );
        let (entries, summary) = read_vics(&text).unwrap();
        assert_eq!(summary.problem_count, 0, "{:?}", summary.problems);
        assert_eq!(
            entries[0].files,
            [
                "C:/Users/case/Pictures/lake.jpg",
                "C:\\Users\\case\\Desktop\\lake.jpg",
                "E:/export/lake.jpg",
                "E:/export/biglake.jpg/lake.jpg",
                "F:/carved/000123.jpg",
                "lake (1).jpg",
            ],
            "the repeated path is kept once, the item without a path is skipped"
        );
    }

    #[test]
    fn documents_that_are_not_vics() {
        for text in ["{\"value\": 3}", "[1, 2]", "{\"value\": [", "\u{0}"] {
            let error = read_vics(text).unwrap_err();
            assert!(
                matches!(error, BankError::NotTheFormat { .. }),
                "{text}: {error}"
            );
        }
    }

    #[test]
    fn round_trip_as_2_0_media() {
        let signal = |t, v: &str| Signal::parse(t, v).unwrap();
        let entries = vec![
            Entry {
                id: Some("42".to_string()),
                signals: vec![
                    signal(SignalType::Md5, MD5),
                    signal(SignalType::Sha1, SHA1),
                    signal(SignalType::Pdq, PDQ),
                    signal(SignalType::Sha256, &"e".repeat(64)),
                    signal(SignalType::PhotoDna, &"Q".repeat(192)),
                ],
                category: Some("2".to_string()),
                tags: vec![
                    "kept".to_string(),
                    "OffenderIdentified".to_string(),
                    "Series:Sample".to_string(),
                ],
                files: vec![
                    "C:/Users/case/Pictures/lake.jpg".to_string(),
                    "D:\\backup\\lake.jpg".to_string(),
                ],
                deleted: false,
            },
            Entry {
                id: Some("0012".to_string()),
                signals: vec![signal(SignalType::Pdq, PDQ)],
                category: Some("A1".to_string()),
                ..Entry::default()
            },
        ];
        let mut out = Vec::new();
        write_list(&mut out, ListFormat::Vics, &BankInfo::new("b"), &entries).unwrap();
        let text = String::from_utf8(out).unwrap();
        let document: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(document["@odata.context"], VICS_2_MEDIA_CONTEXT);
        assert_eq!(document["value"][0]["MediaID"], 42);
        assert_eq!(document["value"][0]["OffenderIdentified"], true);
        assert_eq!(
            document["value"][0]["MediaFiles"][1],
            serde_json::json!({"FileName": "lake.jpg", "FilePath": "D:\\backup"})
        );
        assert!(document["value"][1].get("MediaFiles").is_none());
        assert_eq!(document["value"][1]["MediaID"], "0012");
        let (read, summary) = read_vics(&text).unwrap();
        assert_eq!(summary.problem_count, 0, "{:?}", summary.problems);
        assert_eq!(read, entries);
    }
}
