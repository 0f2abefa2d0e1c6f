//! ThreatExchange lists, as python-threatexchange and HMA (Hasher-Matcher-Actioner) store them.
//!
//! Shapes learnt from facebook/ThreatExchange (code read, none copied):
//! - `python-threatexchange/threatexchange/cli/dataset/simple_serialization.py` at commits
//!   1a44ddc62d71b069f9b440cca12a982a0f26ec99 and 1458d4e476c361338901f2fd92e1a1893800d19f:
//!   files named `simple.<INDICATOR_TYPE>.te` hold header-less CSV rows, one per indicator, of
//!   `indicator,first_descriptor_id,added_on,labels` (`CliIndicatorSerialization`; the older
//!   commit writes `indicator_id,indicator,...` first), and HMA's `HMASerialization` writes
//!   `indicator,indicator_id,first_descriptor_id,added_on,labels`;
//! - `exchanges/clients/fb_threatexchange/descriptor.py` (commit
//!   390023946f8358aa96e8e6da976749fa02bce12f): `SimpleDescriptorRollup.as_row` joins labels
//!   with spaces, and `threat_updates` records carry `id`, `indicator`, `type`,
//!   `should_delete` and `descriptors.data[].tags`;
//! - `hasher-matcher-actioner/hmalib/common/s3_adapters.py` (commit
//!   0069ad83ca0e0575eccc7c2660d17971ed7c722d): HMA names its files
//!   `<privacy_group>.<indicator_type lowercased>.te` (`hash_pdq`, `hash_video_md5`) and reads
//!   the columns `hash,indicator_id,descriptor_id,timestamp,tags`;
//! - `cli/dataset_cmd.py` (commit 02ca20ac38c0ef9e221926db786d0e98a094a27f): the `dataset`
//!   output, read by the text and CSV formats instead.
//!
//! HMA 2 (`hasher-matcher-actioner/src/OpenMediaMatch`) has no bank file format: banks go in
//! and out through its JSON API, one content item at a time.
//!
//! Reading: the rows carry no type, so the type is the indicator type in the file name
//! (`simple.HASH_PDQ.te`); without one, the value's length decides. The row shape is told by
//! its field count and by which field is a hash. The id is the indicator id, else the first
//! descriptor id; labels become tags. A document starting with `{` or `[` is read as
//! `threat_updates` JSON instead (`{"data": [...]}` or a bare array), where `should_delete`
//! marks the entry deleted; it is parsed whole (see the `json_document` module).
//!
//! Writing gives HMA rows (`indicator,indicator_id,first_descriptor_id,added_on,labels`), the
//! form that keeps the id; `first_descriptor_id` repeats a numeric id (else `0`, since readers
//! parse it as an integer) and `added_on` is empty. A `.te` file holds one indicator type, so
//! entries of several signal types are refused: name the file with
//! [`threatexchange_file_name`] and write one file per type. Categories are not kept, and
//! deleted entries are left out.

use std::io::{BufRead, Write};
use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::csv_list::{csv_reader, next_row};
use crate::import::Collector;
use crate::json_document::{not_the_format, read_text, Lines};
use crate::{BankError, Entry, ListFormat, Signal, SignalType};

/// The file name python-threatexchange gives a `.te` file of this signal type.
pub fn threatexchange_file_name(signal_type: SignalType) -> String {
    format!("simple.{}.te", indicator_type(signal_type))
}

fn indicator_type(signal_type: SignalType) -> &'static str {
    match signal_type {
        SignalType::Pdq => "HASH_PDQ",
        SignalType::Md5 => "HASH_MD5",
        SignalType::Sha1 => "HASH_SHA1",
        SignalType::Sha256 => "HASH_SHA256",
        SignalType::PhotoDna => "HASH_PHOTODNA",
    }
}

/// The signal type a `.te` file name states: the dotted part before `.te`.
fn type_from_file_name(source: &str) -> Option<SignalType> {
    let name = Path::new(source).file_name()?.to_str()?;
    let stem = name
        .strip_suffix(".te")
        .or_else(|| name.strip_suffix(".TE"))?;
    SignalType::from_alias(stem.rsplit('.').next()?)
}

pub(crate) fn read<R: BufRead, S: FnMut(Entry)>(
    mut reader: R,
    collector: &mut Collector<'_, S>,
) -> Result<(), BankError> {
    let start = reader.fill_buf()?;
    let is_json = start
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['));
    if is_json {
        read_threat_updates(reader, collector)
    } else {
        read_rows(reader, collector)
    }
}

fn read_rows<R: BufRead, S: FnMut(Entry)>(
    reader: R,
    collector: &mut Collector<'_, S>,
) -> Result<(), BankError> {
    let signal_type = type_from_file_name(collector.source());
    let hex64 = collector.options().hex64;
    let parse = |value: &str| match signal_type {
        Some(signal_type) => Signal::parse(signal_type, value),
        None => Signal::detect(value, hex64),
    };
    let mut reader = csv_reader(reader);
    let mut record = csv::ByteRecord::new();
    while let Some((line, row)) = next_row(&mut reader, &mut record)? {
        let entry = row.and_then(|row| row_entry(&row, parse));
        collector.record(line, entry)?;
    }
    Ok(())
}

/// Reads one `.te` row in any of the three shapes (see the module doc).
fn row_entry(
    row: &[String],
    parse: impl Fn(&str) -> Result<Signal, BankError>,
) -> Result<Entry, String> {
    let field = |index: usize| row[index].trim();
    let (signal, id, labels) = match row.len() {
        4 => (parse(field(0)), field(1), field(3)),
        5 => match parse(field(0)) {
            Ok(signal) => (Ok(signal), field(1), field(4)),
            Err(first_error) => match parse(field(1)) {
                Ok(signal) => (Ok(signal), field(0), field(4)),
                Err(_) => (Err(first_error), "", ""),
            },
        },
        count => {
            return Err(format!(
                "expected 4 fields (indicator,first_descriptor_id,added_on,labels) or 5 (with \
                 indicator_id), found {count}"
            ))
        }
    };
    Ok(Entry {
        id: (!id.is_empty()).then(|| id.to_string()),
        signals: vec![signal.map_err(|e| e.to_string())?],
        category: None,
        tags: labels.split_whitespace().map(str::to_string).collect(),
        files: Vec::new(),
        deleted: false,
    })
}

/// A `threat_updates` page: its records are in `data`.
#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
}

fn read_threat_updates<R: BufRead, S: FnMut(Entry)>(
    reader: R,
    collector: &mut Collector<'_, S>,
) -> Result<(), BankError> {
    let format = ListFormat::ThreatExchange;
    let text = read_text(reader, format, collector)?;
    let records: Vec<&RawValue> = if text.trim_start().starts_with('[') {
        serde_json::from_str(&text)
    } else {
        serde_json::from_str::<Page>(&text).map(|page| page.data)
    }
    .map_err(|e| {
        not_the_format(
            collector,
            format,
            format!("not a threat_updates document ({{\"data\": [...]}}): {e}"),
        )
    })?;
    let hex64 = collector.options().hex64;
    let mut lines = Lines::new(&text);
    for record in records {
        let line = lines.line_of(record.get());
        collector.record(line, threat_update_entry(record.get(), hex64))?;
    }
    Ok(())
}

fn threat_update_entry(json: &str, hex64: SignalType) -> Result<Entry, String> {
    let record: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let text = |key: &str| match record.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let indicator = text("indicator").ok_or("the record has no \"indicator\"")?;
    let signal = match text("type") {
        Some(type_name) => {
            let signal_type = SignalType::from_alias(&type_name)
                .ok_or_else(|| format!("indicator type '{type_name}' is not a hash Vigie keeps"))?;
            Signal::parse(signal_type, &indicator)
        }
        None => Signal::detect(&indicator, hex64),
    }
    .map_err(|e| e.to_string())?;
    let mut tags: Vec<String> = Vec::new();
    let descriptors = record
        .pointer("/descriptors/data")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for descriptor in descriptors {
        for tag in descriptor_tags(descriptor) {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
    }
    Ok(Entry {
        id: text("id"),
        signals: vec![signal],
        category: None,
        tags,
        files: Vec::new(),
        deleted: record.get("should_delete").and_then(Value::as_bool) == Some(true),
    })
}

/// A descriptor's tags: a list of strings, or the Graph API's `{"data": [{"text": ...}]}`.
fn descriptor_tags(descriptor: &Value) -> Vec<String> {
    let tags = match descriptor.get("tags") {
        Some(Value::Array(tags)) => tags.clone(),
        Some(Value::Object(page)) => page
            .get("data")
            .and_then(Value::as_array)
            .map(|data| data.iter().filter_map(|t| t.get("text").cloned()).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    tags.into_iter()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect()
}

pub(crate) fn write<'a, W: Write>(
    writer: W,
    entries: impl Iterator<Item = &'a Entry>,
) -> Result<(), BankError> {
    let mut writer = csv::Writer::from_writer(writer);
    let mut file_type: Option<SignalType> = None;
    for entry in entries.filter(|e| !e.deleted) {
        let id = entry.id.as_deref().unwrap_or_default();
        let descriptor_id = if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
            id
        } else {
            "0"
        };
        let labels = entry.tags.join(" ");
        for signal in &entry.signals {
            match file_type {
                Some(t) if t != signal.signal_type => {
                    return Err(BankError::CannotWrite {
                        format: ListFormat::ThreatExchange,
                        reason: format!(
                            "a .te file holds one indicator type, and these entries have {t} and \
                             {} hashes: write one file per type",
                            signal.signal_type
                        ),
                    })
                }
                _ => file_type = Some(signal.signal_type),
            }
            let row = [
                signal.value.as_str(),
                id,
                descriptor_id,
                "",
                labels.as_str(),
            ];
            writer.write_record(row).map_err(std::io::Error::from)?;
        }
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{read_list, write_list, BankInfo, ImportOptions, ImportSummary};

    const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

    fn read_te(source: &str, text: &str, options: &ImportOptions) -> (Vec<Entry>, ImportSummary) {
        let mut entries = Vec::new();
        let summary = read_list(
            source,
            text.as_bytes(),
            ListFormat::ThreatExchange,
            options,
            |e| entries.push(e),
        )
        .unwrap();
        (entries, summary)
    }

    #[test]
    fn file_names_state_the_type() {
        assert_eq!(
            type_from_file_name("state/simple.HASH_PDQ.te"),
            Some(SignalType::Pdq)
        );
        assert_eq!(
            type_from_file_name("258601789084078.hash_video_md5.te"),
            Some(SignalType::Md5)
        );
        assert_eq!(type_from_file_name("simple.HASH_TMK.te"), None);
        assert_eq!(type_from_file_name("list.csv"), None);
        assert_eq!(
            threatexchange_file_name(SignalType::Sha256),
            "simple.HASH_SHA256.te"
        );
    }

    #[test]
    fn reads_the_three_row_shapes() {
        // The PDQ is 64 hex: the file name, not the hex64 option, makes it PDQ.
        let options = ImportOptions {
            hex64: SignalType::Sha256,
            ..ImportOptions::default()
        };
        let text = format!(
            "{PDQ},3058061737574159,2020-07-01T18:31:15+0000,media_type_photo true_positive\n\
             {PDQ},1234,5678,today,\n\
             4321,{},5678,today,disputed\n\
             {PDQ},1,2\n\
             nothex,1,2,3\n",
            PDQ.to_uppercase()
        );
        let (entries, summary) = read_te("simple.HASH_PDQ.te", &text, &options);
        assert_eq!(entries.len(), 3);
        assert!(entries
            .iter()
            .all(|e| e.signals == [Signal::parse(SignalType::Pdq, PDQ).unwrap()]));
        assert_eq!(entries[0].id.as_deref(), Some("3058061737574159"));
        assert_eq!(entries[0].tags, ["media_type_photo", "true_positive"]);
        assert_eq!(entries[1].id.as_deref(), Some("1234"));
        assert!(entries[1].tags.is_empty());
        assert_eq!(entries[2].id.as_deref(), Some("4321"));
        assert_eq!(entries[2].tags, ["disputed"]);
        let lines: Vec<_> = summary.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [4, 5]);
        assert!(summary.problems[0].reason.starts_with("expected 4 fields"));
        assert!(summary.problems[1].reason.contains("is not a PDQ hash"));
    }

    #[test]
    fn reads_threat_updates_json() {
        let text = format!(
            r#"{{"data": [
  {{"id": "111", "indicator": "{PDQ}", "type": "HASH_PDQ", "should_delete": false,
    "descriptors": {{"data": [{{"tags": ["sample", "benign"]}}, {{"tags": {{"data": [{{"text": "other"}}]}}}}]}}}},
  {{"id": 222, "indicator": "{MD5}", "type": "HASH_MD5", "should_delete": true}},
  {{"id": "333", "indicator": "https://example.invalid/", "type": "URI"}}
], "paging": {{}}}}"#
        );
        let (entries, summary) = read_te("updates.json", &text, &ImportOptions::default());
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].id.as_deref(), Some("111"));
        assert_eq!(entries[0].tags, ["sample", "benign", "other"]);
        assert!(!entries[0].deleted);
        assert_eq!(entries[1].id.as_deref(), Some("222"));
        assert!(entries[1].deleted);
        assert_eq!(summary.problems.len(), 1);
        assert_eq!(summary.problems[0].line, 5);
        assert_eq!(
            summary.problems[0].reason,
            "indicator type 'URI' is not a hash Vigie keeps"
        );
    }

    #[test]
    fn broken_json_is_not_the_format() {
        let error = read_list(
            "x.te",
            &b"{\"data\": [ oops"[..],
            ListFormat::ThreatExchange,
            &ImportOptions::default(),
            |_| {},
        )
        .unwrap_err();
        assert!(matches!(error, BankError::NotTheFormat { .. }), "{error}");
    }

    #[test]
    fn round_trip() {
        let signal = |v: &str| Signal::parse(SignalType::Pdq, v).unwrap();
        let entries = vec![
            Entry {
                id: Some("1001".to_string()),
                signals: vec![signal(PDQ)],
                tags: vec!["a".to_string(), "b".to_string()],
                ..Entry::default()
            },
            Entry {
                id: Some("not-numeric".to_string()),
                signals: vec![signal(&"0".repeat(64))],
                ..Entry::default()
            },
            Entry {
                signals: vec![signal(&"f".repeat(64))],
                ..Entry::default()
            },
        ];
        let mut out = Vec::new();
        write_list(
            &mut out,
            ListFormat::ThreatExchange,
            &BankInfo::new("b"),
            &entries,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(&format!("{PDQ},1001,1001,,a b\n")),
            "{text}"
        );
        let name = threatexchange_file_name(SignalType::Pdq);
        let (read, summary) = read_te(&name, &text, &ImportOptions::default());
        assert_eq!(summary.problem_count, 0, "{:?}", summary.problems);
        assert_eq!(read, entries);
    }

    #[test]
    fn mixed_types_are_refused() {
        let entry = Entry {
            signals: vec![
                Signal::parse(SignalType::Pdq, PDQ).unwrap(),
                Signal::parse(SignalType::Md5, MD5).unwrap(),
            ],
            ..Entry::default()
        };
        let error = write_list(
            Vec::new(),
            ListFormat::ThreatExchange,
            &BankInfo::new("b"),
            [&entry],
        )
        .unwrap_err();
        assert!(matches!(error, BankError::CannotWrite { .. }), "{error}");
    }
}
