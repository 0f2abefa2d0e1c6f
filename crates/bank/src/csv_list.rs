//! CSV lists: a header row, then one entry a row.
//!
//! Columns are found by name, ignoring case and order, so that spreadsheets and other tools'
//! exports read without editing:
//! - a column per hash type (`pdq`, `md5`, `sha1`, `sha256`, `photodna`, or any alias of
//!   `SignalType::from_alias`); a cell may hold several hashes separated by spaces;
//! - or a `signal_type` (also `type`) column with a `signal_str` (also `hash`, `value`) column;
//!   without the type column, a value's type comes from its length;
//! - `id` (also `media_id`, `content_id`, and `path` when there is no id column), `category`
//!   (also `classification`), `tags` (also `label`, `labels`; split on spaces and `;`);
//! - `path`, one file path a cell, and `files`, paths separated by `;`: where the content was
//!   seen, kept in [`Entry::files`].
//!
//! Other columns are ignored. This reads `vigie hash --format csv`
//! (`path,pdq,quality,md5,sha1,sha256,error`: one entry per file with its four hashes, the path
//! as id and as its file) and `threatexchange dataset -P --csv` (`signal_type,signal_str,collab,category,tags`,
//! from python-threatexchange `cli/dataset_cmd.py`; the collaboration name is not kept).
//!
//! Writing gives `id,pdq,md5,sha1,sha256,photodna,category,tags,files`. Tags containing spaces
//! or `;`, and file paths containing `;`, come back split.

use std::io::{BufRead, Write};

use crate::entry::union_into;
use crate::import::Collector;
use crate::{category_of, BankError, BankInfo, Entry, ListFormat, Signal, SignalType};

/// What a header names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Hash(SignalType),
    HashType,
    HashValue,
    Id,
    /// One file path; also the id when no column is named as one.
    Path,
    /// File paths separated by `;`.
    Files,
    Category,
    Tags,
    Other,
}

fn column_of(name: &str) -> Column {
    let name = name.trim().to_ascii_lowercase();
    match name.as_str() {
        "signal_type" | "type" | "hash_type" => Column::HashType,
        "signal_str" | "hash" | "value" | "signal" => Column::HashValue,
        "id" | "media_id" | "mediaid" | "content_id" => Column::Id,
        "path" => Column::Path,
        "files" => Column::Files,
        "category" | "classification" => Column::Category,
        "tags" | "label" | "labels" => Column::Tags,
        _ => SignalType::from_alias(&name).map_or(Column::Other, Column::Hash),
    }
}

/// Whether a line is a header this module reads: it names a hash column.
pub(crate) fn is_header(line: &str) -> bool {
    line.split(',')
        .map(|name| column_of(name.trim_matches(|c: char| c == '"' || c.is_whitespace())))
        .any(|c| matches!(c, Column::Hash(_) | Column::HashValue))
}

/// Where each kind of column sits in the rows.
struct Layout {
    hashes: Vec<(usize, SignalType)>,
    pair: Option<(Option<usize>, usize)>,
    id: Option<usize>,
    path: Option<usize>,
    files: Option<usize>,
    category: Option<usize>,
    tags: Vec<usize>,
}

impl Layout {
    fn from_header(names: &[String]) -> Result<Layout, String> {
        let mut layout = Layout {
            hashes: Vec::new(),
            pair: None,
            id: None,
            path: None,
            files: None,
            category: None,
            tags: Vec::new(),
        };
        let (mut type_column, mut value_column) = (None, None);
        for (index, name) in names.iter().enumerate() {
            match column_of(name) {
                Column::Hash(signal_type) => layout.hashes.push((index, signal_type)),
                Column::HashType => type_column = type_column.or(Some(index)),
                Column::HashValue => value_column = value_column.or(Some(index)),
                Column::Id => layout.id = layout.id.or(Some(index)),
                Column::Path => layout.path = layout.path.or(Some(index)),
                Column::Files => layout.files = layout.files.or(Some(index)),
                Column::Category => layout.category = layout.category.or(Some(index)),
                Column::Tags => layout.tags.push(index),
                Column::Other => {}
            }
        }
        layout.pair = value_column.map(|value| (type_column, value));
        if layout.hashes.is_empty() && layout.pair.is_none() {
            return Err(format!(
                "the header ({}) names no hash column: expected pdq, md5, sha1, sha256, photodna \
                 or signal_type with signal_str",
                names.join(",")
            ));
        }
        Ok(layout)
    }

    fn entry(&self, row: &[String], hex64: SignalType) -> Result<Entry, String> {
        let cell = |index: usize| row.get(index).map(|c| c.trim()).unwrap_or_default();
        let present = |index: Option<usize>| {
            index
                .map(cell)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
        };
        let mut signals = Vec::new();
        for &(index, signal_type) in &self.hashes {
            for value in cell(index).split_whitespace() {
                let signal = Signal::parse(signal_type, value)
                    .map_err(|e| format!("column {}: {e}", signal_type))?;
                signals.push(signal);
            }
        }
        if let Some((type_column, value_column)) = self.pair {
            let value = cell(value_column);
            if !value.is_empty() {
                let type_name = type_column.map(cell).unwrap_or_default();
                let signal = if type_name.is_empty() {
                    Signal::detect(value, hex64)
                } else {
                    let signal_type = SignalType::from_alias(type_name)
                        .ok_or_else(|| format!("unknown signal type '{type_name}'"))?;
                    Signal::parse(signal_type, value)
                };
                signals.push(signal.map_err(|e| e.to_string())?);
            }
        }
        if signals.is_empty() {
            return Err("the row has no hash".to_string());
        }
        let tags = self
            .tags
            .iter()
            .flat_map(|&index| cell(index).split([' ', ';', '\t']))
            .filter(|tag| !tag.is_empty())
            .map(str::to_string)
            .collect();
        let listed = self.files.map(cell).unwrap_or_default().split(';');
        let mut files = Vec::new();
        // A list with both columns may name the same path in each, so they are united.
        union_into(
            &mut files,
            self.path
                .map(cell)
                .into_iter()
                .chain(listed)
                .map(str::trim)
                .filter(|file| !file.is_empty())
                .map(str::to_string),
        );
        Ok(Entry {
            id: present(self.id.or(self.path)),
            signals,
            category: present(self.category),
            tags,
            files,
            deleted: false,
        })
    }
}

/// A CSV reader over the caller's stream that leaves the header to us, so header and rows are
/// handled (and numbered) alike. Shared with the ThreatExchange `.te` rows.
pub(crate) fn csv_reader<R: BufRead>(reader: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader)
}

/// A row as text with the line it starts on, or the reason it is not text.
pub(crate) type Row = (u64, Result<Vec<String>, String>);

/// Reads the next row; `Ok(None)` at the end.
pub(crate) fn next_row<R: BufRead>(
    reader: &mut csv::Reader<R>,
    record: &mut csv::ByteRecord,
) -> Result<Option<Row>, BankError> {
    if !reader
        .read_byte_record(record)
        .map_err(std::io::Error::from)?
    {
        return Ok(None);
    }
    let line = record.position().map_or(0, |p| p.line());
    let fields = record
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let field = match (line, index) {
                (1, 0) => field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field),
                _ => field,
            };
            String::from_utf8(field.to_vec()).map_err(|_| "the row is not UTF-8 text".to_string())
        })
        .collect();
    Ok(Some((line, fields)))
}

pub(crate) fn read<R: BufRead, S: FnMut(Entry)>(
    reader: R,
    collector: &mut Collector<'_, S>,
) -> Result<(), BankError> {
    let mut reader = csv_reader(reader);
    let mut record = csv::ByteRecord::new();
    let not_csv = |collector: &Collector<'_, S>, reason: String| BankError::NotTheFormat {
        file: collector.source().to_string(),
        format: ListFormat::Csv,
        reason,
    };
    let layout = match next_row(&mut reader, &mut record)? {
        None => return Ok(()),
        Some((_, Err(reason))) => return Err(not_csv(collector, reason)),
        Some((_, Ok(names))) => {
            Layout::from_header(&names).map_err(|reason| not_csv(collector, reason))?
        }
    };
    let hex64 = collector.options().hex64;
    while let Some((line, row)) = next_row(&mut reader, &mut record)? {
        let entry = row.and_then(|row| layout.entry(&row, hex64));
        collector.record(line, entry)?;
    }
    Ok(())
}

pub(crate) fn write<'a, W: Write>(
    writer: W,
    bank: &BankInfo,
    entries: impl Iterator<Item = &'a Entry>,
) -> Result<(), BankError> {
    let mut writer = csv::Writer::from_writer(writer);
    let mut header = vec!["id"];
    header.extend(SignalType::ALL.map(SignalType::name));
    header.extend(["category", "tags", "files"]);
    writer.write_record(&header).map_err(std::io::Error::from)?;
    for entry in entries.filter(|e| !e.deleted) {
        let mut row = vec![entry.id.clone().unwrap_or_default()];
        row.extend(SignalType::ALL.map(|signal_type| values_of(entry, signal_type).join(" ")));
        row.push(category_of(entry, bank).unwrap_or_default().to_string());
        row.push(entry.tags.join(" "));
        row.push(entry.files.join(";"));
        writer.write_record(&row).map_err(std::io::Error::from)?;
    }
    writer.flush()?;
    Ok(())
}

/// The entry's values of one type, in order.
pub(crate) fn values_of(entry: &Entry, signal_type: SignalType) -> Vec<&str> {
    entry
        .signals
        .iter()
        .filter(|s| s.signal_type == signal_type)
        .map(|s| s.value.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{read_list, write_list, ImportOptions, ImportSummary};
    use proptest::prelude::*;

    const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
    const SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn read_csv(text: &str) -> Result<(Vec<Entry>, ImportSummary), BankError> {
        let mut entries = Vec::new();
        let summary = read_list(
            "list.csv",
            text.as_bytes(),
            ListFormat::Csv,
            &ImportOptions::default(),
            |e| entries.push(e),
        )?;
        Ok((entries, summary))
    }

    #[test]
    fn reads_vigie_hash_output() {
        let text = format!(
            "path,pdq,quality,md5,sha1,sha256,error\n\
             photos/bridge.jpg,{PDQ},100,{MD5},{SHA1},{SHA256},\n\
             notes.txt,,,{MD5},{SHA1},{SHA256},not an image\n\
             unreadable.jpg,,,,,,permission denied\n"
        );
        let (entries, summary) = read_csv(&text).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].id.as_deref(), Some("photos/bridge.jpg"));
        assert_eq!(entries[0].files, ["photos/bridge.jpg"]);
        let types: Vec<_> = entries[0].signals.iter().map(|s| s.signal_type).collect();
        assert_eq!(
            types,
            [
                SignalType::Pdq,
                SignalType::Md5,
                SignalType::Sha1,
                SignalType::Sha256
            ]
        );
        assert_eq!(entries[1].signals.len(), 3);
        assert_eq!(summary.problems.len(), 1);
        assert_eq!(summary.problems[0].line, 4);
        assert_eq!(summary.problems[0].reason, "the row has no hash");
    }

    #[test]
    fn reads_threatexchange_dataset_csv() {
        // Columns in the order DictWriter writes them in dataset_cmd.py.
        let text = format!(
            "collab,signal_type,signal_str,category,tags\n\
             Sample Data,pdq,{PDQ},TRUE_POSITIVE,media_type_photo sample\n\
             \"Sample, Data\",video_md5,{MD5},TRUE_POSITIVE,\n\
             Sample Data,url,https://example.invalid/,TRUE_POSITIVE,\n"
        );
        let (entries, summary) = read_csv(&text).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[0].signals[0],
            Signal::parse(SignalType::Pdq, PDQ).unwrap()
        );
        assert_eq!(entries[0].category.as_deref(), Some("TRUE_POSITIVE"));
        assert_eq!(entries[0].tags, ["media_type_photo", "sample"]);
        assert_eq!(entries[1].signals[0].signal_type, SignalType::Md5);
        assert_eq!(summary.problems[0].line, 4);
        assert_eq!(summary.problems[0].reason, "unknown signal type 'url'");
    }

    #[test]
    fn columns_by_any_case_and_bad_cells() {
        let text = format!(
            "Media_ID,MD5,Label,hash\n\
             7,{},a;b c,\n\
             8,{MD5},,{SHA1}\n\
             9,nothex,,\n",
            MD5.to_uppercase()
        );
        let (entries, summary) = read_csv(&text).unwrap();
        assert_eq!(entries.len(), 2, "{:?}", summary.problems);
        assert_eq!(entries[0].signals[0].value, MD5);
        assert_eq!(entries[0].tags, ["a", "b", "c"]);
        assert_eq!(entries[1].signals.len(), 2);
        assert_eq!(summary.problems[0].line, 4);
        assert!(summary.problems[0]
            .reason
            .starts_with("column md5: 'nothex' is not an MD5"));
    }

    #[test]
    fn a_csv_without_hash_columns_is_not_a_list() {
        let error = read_csv("name,size\nx,1\n").unwrap_err();
        assert!(matches!(error, BankError::NotTheFormat { .. }), "{error}");
    }

    #[test]
    fn strict_stops_at_the_bad_row() {
        let options = ImportOptions {
            strict: true,
            ..ImportOptions::default()
        };
        let text = format!("md5\n{MD5}\n\"multi\nline\"\nzz\n");
        let error =
            read_list("l.csv", text.as_bytes(), ListFormat::Csv, &options, |_| {}).unwrap_err();
        assert!(
            matches!(error, BankError::InvalidLine { line: 3, .. }),
            "{error}"
        );
    }

    #[test]
    fn files_round_trip_in_their_own_column() {
        let entry = Entry {
            id: Some("7".to_string()),
            signals: vec![Signal::parse(SignalType::Md5, MD5).unwrap()],
            files: vec![
                "C:/Users/case/Pictures/lake.jpg".to_string(),
                "E:/backup/lake copy.jpg".to_string(),
            ],
            ..Entry::default()
        };
        let mut out = Vec::new();
        write_list(&mut out, ListFormat::Csv, &BankInfo::new("b"), [&entry]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            format!(
                "id,pdq,md5,sha1,sha256,photodna,category,tags,files\n\
                 7,,{MD5},,,,,,C:/Users/case/Pictures/lake.jpg;E:/backup/lake copy.jpg\n"
            )
        );
        let (read, _) = read_csv(&text).unwrap();
        assert_eq!(read, [entry]);
    }

    #[test]
    fn a_path_column_beside_an_id_column_is_only_a_file() {
        let text = format!("md5,path,id\n{MD5},photos/bridge.jpg,31\n");
        let (entries, _) = read_csv(&text).unwrap();
        assert_eq!(entries[0].id.as_deref(), Some("31"));
        assert_eq!(entries[0].files, ["photos/bridge.jpg"]);
    }

    fn entry_strategy() -> impl Strategy<Value = Entry> {
        let signals = (
            proptest::option::of("[0-9a-f]{64}"),
            proptest::collection::vec("[0-9a-f]{32}", 0..3),
            proptest::option::of("[0-9a-f]{40}"),
            proptest::option::of("[0-9a-f]{64}"),
            proptest::option::of("[A-Za-z0-9+/]{192}"),
        )
            .prop_map(|(pdq, md5s, sha1, sha256, photodna)| {
                let mut signals = Vec::new();
                let mut add =
                    |signal_type, value: String| signals.push(Signal { signal_type, value });
                pdq.into_iter().for_each(|v| add(SignalType::Pdq, v));
                md5s.into_iter().for_each(|v| add(SignalType::Md5, v));
                sha1.into_iter().for_each(|v| add(SignalType::Sha1, v));
                sha256.into_iter().for_each(|v| add(SignalType::Sha256, v));
                photodna
                    .into_iter()
                    .for_each(|v| add(SignalType::PhotoDna, v));
                signals
            })
            .prop_filter("an entry has a hash", |s| !s.is_empty());
        (
            proptest::option::of("[a-zA-Z0-9 ,\"/._-]{1,12}"),
            signals,
            proptest::option::of("[A-Z0-9]{1,3}"),
            proptest::collection::vec("[a-z0-9_:-]{1,8}", 0..4),
            proptest::collection::vec("[a-zA-Z0-9 ,\"/\\\\._:-]{1,16}", 0..3),
        )
            .prop_map(|(id, signals, category, tags, paths)| {
                // Reading trims cells and drops repeated paths, so the generated ones are too.
                let mut files = Vec::new();
                union_into(
                    &mut files,
                    paths
                        .iter()
                        .map(|p| p.trim().to_string())
                        .filter(|p| !p.is_empty()),
                );
                Entry {
                    id: id.map(|i| i.trim().to_string()).filter(|i| !i.is_empty()),
                    signals,
                    category,
                    tags,
                    files,
                    deleted: false,
                }
            })
    }

    proptest! {
        #[test]
        fn round_trip(entries in proptest::collection::vec(entry_strategy(), 0..12)) {
            let mut out = Vec::new();
            write_list(&mut out, ListFormat::Csv, &BankInfo::new("b"), &entries).unwrap();
            let (read, summary) = read_csv(&String::from_utf8(out).unwrap()).unwrap();
            prop_assert_eq!(summary.problem_count, 0);
            prop_assert_eq!(read, entries);
        }
    }
}
