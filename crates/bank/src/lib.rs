//! Banks: named lists of hashes of known content, and the file formats they travel in.
//!
//! Hotlines, NCMEC, Project VIC and ThreatExchange members exchange hash lists in a handful of
//! formats. This crate reads each of them into one shape, [`Entry`] (an id, the hashes of one
//! content item, a category, tags, the files it was seen as, whether the source withdraws it),
//! and writes that shape back out, so the rest of Vigie knows one list model and no file format.
//!
//! | [`ListFormat`] | reads | writes |
//! | --- | --- | --- |
//! | `text` | one hash a line, `TYPE HASH`, `TYPE:HASH`, `threatexchange dataset` output | `TYPE HASH` lines |
//! | `csv` | a header naming hash columns or `signal_type,signal_str`; `vigie hash --format csv` | `id,pdq,md5,sha1,sha256,photodna,category,tags,files` |
//! | `threatexchange` | python-threatexchange / HMA `.te` files, `threat_updates` JSON | HMA `.te` rows |
//! | `vics` | Project VIC VICS 1.x and 2.0 JSON (Media and Cases) | VICS 2.0 Media |
//! | `ncmec` | NCMEC hash-sharing API v2 `queryResult` XML | `queryResult` XML |
//!
//! Each format's module doc says what it reads, what it writes, what does not survive the trip
//! and which upstream sources its shape was learnt from.
//!
//! Reading is streaming: [`read_list`] hands each entry to the caller's sink as soon as it is
//! read, and never holds the whole file nor all entries, because lists can hold 100 million
//! lines. The exception is VICS JSON, parsed as one document (see the `vics` module). A bad line
//! or record is a [`Problem`] and the import goes on (see the `import` module).
//!
//! **Architecture invariant:** this crate does no I/O of its own. It reads the `BufRead` and
//! writes the `Write` it is given; it opens no file, knows no network, database or HTTP.
//! Errors are [`BankError`], named for what the caller decides.

mod csv_list;
mod entry;
mod import;
mod json_document;
mod ncmec;
mod signal;
mod text;
mod threatexchange;
mod vics;

use std::fmt;
use std::io::{BufRead, Write};
use std::path::Path;
use std::str::FromStr;

pub use entry::{merge_duplicates, BankInfo, Entry, DEFAULT_PDQ_THRESHOLD};
pub use import::{ImportOptions, ImportSummary, Problem, KEPT_PROBLEMS};
pub use signal::{Signal, SignalType};
pub use threatexchange::threatexchange_file_name;

/// What went wrong, named for what the caller does about it.
#[derive(Debug, thiserror::Error)]
pub enum BankError {
    /// A line or record is bad and the import was strict: fix the file or import leniently.
    /// (The file is `file`, not `source`, because thiserror reserves a field named `source` for
    /// the underlying error.)
    #[error("{file}:{line}: {reason}")]
    InvalidLine {
        file: String,
        line: u64,
        reason: String,
    },
    /// The input is not this format at all: choose another format.
    #[error("{file} is not a {format} list: {reason}")]
    NotTheFormat {
        file: String,
        format: ListFormat,
        reason: String,
    },
    /// A hash given on its own is malformed: reject it.
    #[error("{0}")]
    InvalidSignal(String),
    /// The entries cannot be written in this format: choose another or split the list.
    #[error("a {format} list cannot hold these entries: {reason}")]
    CannotWrite { format: ListFormat, reason: String },
    /// A format or signal type name is unknown: a usage error.
    #[error("unknown {what} '{name}'")]
    UnknownName { what: &'static str, name: String },
    /// Reading or writing the caller's stream failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The list formats this crate reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListFormat {
    Text,
    Csv,
    ThreatExchange,
    Vics,
    NcmecXml,
}

impl ListFormat {
    pub const ALL: [ListFormat; 5] = [
        ListFormat::Text,
        ListFormat::Csv,
        ListFormat::ThreatExchange,
        ListFormat::Vics,
        ListFormat::NcmecXml,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ListFormat::Text => "text",
            ListFormat::Csv => "csv",
            ListFormat::ThreatExchange => "threatexchange",
            ListFormat::Vics => "vics",
            ListFormat::NcmecXml => "ncmec",
        }
    }
}

impl fmt::Display for ListFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ListFormat {
    type Err = BankError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ListFormat::ALL
            .into_iter()
            .find(|format| format.name().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| BankError::UnknownName {
                what: "list format",
                name: name.to_string(),
            })
    }
}

/// Guesses the format of a list from its first bytes (a few kilobytes are plenty), then from
/// its file name.
///
/// Content wins because files are often misnamed: JSON (`{` or `[`) is ThreatExchange
/// `threat_updates` if it mentions `"indicator"`, VICS otherwise; XML (`<`) is NCMEC; a first
/// line that is a CSV header naming a known column is CSV. Then the extension: `.te` is
/// ThreatExchange (its rows have no header), `.csv` CSV, `.json` VICS, `.xml` NCMEC. Anything
/// else is read as text, the most forgiving format.
pub fn detect_format(file_name: &str, first_bytes: &[u8]) -> ListFormat {
    let start = first_bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(first_bytes);
    let start = trim_ascii_start(start);
    match start.first() {
        Some(b'{' | b'[') if contains(start, b"\"indicator\"") => {
            return ListFormat::ThreatExchange
        }
        Some(b'{' | b'[') => return ListFormat::Vics,
        Some(b'<') => return ListFormat::NcmecXml,
        _ => {}
    }
    let first_line = start.split(|&b| b == b'\n').next().unwrap_or_default();
    if csv_list::is_header(&String::from_utf8_lossy(first_line)) {
        return ListFormat::Csv;
    }
    let extension = Path::new(file_name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("te") => ListFormat::ThreatExchange,
        Some("csv") => ListFormat::Csv,
        Some("json") => ListFormat::Vics,
        Some("xml") => ListFormat::NcmecXml,
        _ => ListFormat::Text,
    }
}

fn trim_ascii_start(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &bytes[skip..]
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Reads a list, handing each entry to `sink` as soon as it is read.
///
/// `source` names the list in problems and errors (usually its file name); the ThreatExchange
/// format also reads the signal type from it (`simple.HASH_PDQ.te`). A bad line or record is a
/// [`Problem`] in the summary and the import goes on, unless `options.strict`, where it is
/// [`BankError::InvalidLine`]. An input that is not the format at all is
/// [`BankError::NotTheFormat`].
pub fn read_list<R: BufRead>(
    source: &str,
    reader: R,
    format: ListFormat,
    options: &ImportOptions,
    sink: impl FnMut(Entry),
) -> Result<ImportSummary, BankError> {
    let mut collector = import::Collector::new(source, options, sink);
    match format {
        ListFormat::Text => text::read(reader, &mut collector)?,
        ListFormat::Csv => csv_list::read(reader, &mut collector)?,
        ListFormat::ThreatExchange => threatexchange::read(reader, &mut collector)?,
        ListFormat::Vics => vics::read(reader, &mut collector)?,
        ListFormat::NcmecXml => ncmec::read(reader, &mut collector)?,
    }
    Ok(collector.finish())
}

/// Writes entries as a list of `format`.
///
/// Formats without a way to say "withdrawn" (text, CSV, ThreatExchange `.te`) leave deleted
/// entries out. Entries without a category get `bank.default_category` where the format has
/// a category. What else each format cannot carry is in its module doc.
pub fn write_list<'a, W: Write>(
    writer: W,
    format: ListFormat,
    bank: &BankInfo,
    entries: impl IntoIterator<Item = &'a Entry>,
) -> Result<(), BankError> {
    let entries = entries.into_iter();
    match format {
        ListFormat::Text => text::write(writer, bank, entries),
        ListFormat::Csv => csv_list::write(writer, bank, entries),
        ListFormat::ThreatExchange => threatexchange::write(writer, entries),
        ListFormat::Vics => vics::write(writer, bank, entries),
        ListFormat::NcmecXml => ncmec::write(writer, bank, entries),
    }
}

/// The category an export writes for an entry: its own, or the bank's default.
fn category_of<'a>(entry: &'a Entry, bank: &'a BankInfo) -> Option<&'a str> {
    entry
        .category
        .as_deref()
        .or(bank.default_category.as_deref())
}

/// Counts the newlines in a slice, to turn byte positions into line numbers.
fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for format in ListFormat::ALL {
            assert_eq!(format.to_string().parse::<ListFormat>().unwrap(), format);
        }
        assert!("xls".parse::<ListFormat>().is_err());
    }

    #[test]
    fn detect_by_content_first() {
        assert_eq!(
            detect_format("list.txt", b"  {\"odata.metadata\": \"x\"}"),
            ListFormat::Vics
        );
        assert_eq!(
            detect_format(
                "list.txt",
                b"{\"data\":[{\"id\":\"1\",\"indicator\":\"ab\"}]}"
            ),
            ListFormat::ThreatExchange
        );
        assert_eq!(
            detect_format("list.json", b"<?xml version"),
            ListFormat::NcmecXml
        );
        assert_eq!(
            detect_format("list.txt", b"path,pdq,quality,md5,sha1,sha256,error\n"),
            ListFormat::Csv
        );
        assert_eq!(
            detect_format("x", b"\xEF\xBB\xBFsignal_type,signal_str,collab\r\n"),
            ListFormat::Csv
        );
    }

    #[test]
    fn detect_by_extension_then_text() {
        let md5 = b"d41d8cd98f00b204e9800998ecf8427e,1,2020,tag\n";
        assert_eq!(
            detect_format("simple.HASH_MD5.te", md5),
            ListFormat::ThreatExchange
        );
        assert_eq!(detect_format("hashes.CSV", b"a,b\n"), ListFormat::Csv);
        assert_eq!(detect_format("hashes", md5), ListFormat::Text);
        assert_eq!(detect_format("hashes.txt", b""), ListFormat::Text);
    }
}
