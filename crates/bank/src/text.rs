//! Text lists: one hash a line, the simplest list anyone can make or read.
//!
//! A line is `HASH`, `TYPE HASH` or `TYPE:HASH`; words after the hash are ignored, so the
//! output of `md5sum` (`HASH  path`), of `vigie hash` (`pdq HASH path`) and of
//! `threatexchange dataset -P` without `--csv` (`['collab'] <signal_type> <signal_str>
//! <metadata>`, shape from python-threatexchange `cli/dataset_cmd.py`, `_print_stdout`) read
//! as they are; the quoted collaboration name that the last one may print first is skipped.
//! A bare hash's type comes from its length (see `Signal::detect`). Blank lines and `#`
//! comments, whole-line or trailing after a space, are ignored.
//!
//! Writing gives `TYPE HASH` lines, one per signal, after comment lines naming the bank. Ids,
//! categories, tags and the grouping of signals into entries do not survive: each line reads
//! back as an entry of its own.

use std::io::{BufRead, Write};

use crate::import::Collector;
use crate::{BankError, BankInfo, Entry, Signal, SignalType};

pub(crate) fn read<R: BufRead, S: FnMut(Entry)>(
    mut reader: R,
    collector: &mut Collector<'_, S>,
) -> Result<(), BankError> {
    let hex64 = collector.options().hex64;
    let mut buffer = Vec::new();
    let mut line_number = 0u64;
    loop {
        buffer.clear();
        if reader.read_until(b'\n', &mut buffer)? == 0 {
            return Ok(());
        }
        line_number += 1;
        let bytes = if line_number == 1 {
            buffer.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buffer)
        } else {
            &buffer
        };
        let Ok(line) = std::str::from_utf8(bytes) else {
            collector.problem(line_number, "the line is not UTF-8 text")?;
            continue;
        };
        if let Some(read) = parse_line(line, hex64) {
            let entry = read.map(|signal| Entry {
                signals: vec![signal],
                ..Entry::default()
            });
            collector.record(line_number, entry.map_err(|e| e.to_string()))?;
        }
    }
}

/// Reads one line: `None` if it holds no hash (blank or comment).
fn parse_line(line: &str, hex64: SignalType) -> Option<Result<Signal, BankError>> {
    let content = skip_quoted_name(strip_comment(line).trim());
    let mut words = content.split_whitespace();
    let first = words.next()?;
    if let Some((name, value)) = first.split_once(':') {
        if let Some(signal_type) = SignalType::from_alias(name) {
            return Some(Signal::parse(signal_type, value));
        }
    }
    Some(match SignalType::from_alias(first) {
        Some(signal_type) => match words.next() {
            Some(value) => Signal::parse(signal_type, value),
            None => Err(BankError::InvalidSignal(format!(
                "'{first}' names a signal type but no hash follows it"
            ))),
        },
        None => Signal::detect(first, hex64),
    })
}

/// The line without its comment: everything from a `#` that starts the line or follows
/// whitespace.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let start = (0..bytes.len())
        .find(|&i| bytes[i] == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()));
    match start {
        Some(i) => &line[..i],
        None => line,
    }
}

/// Skips a leading `'name'` or `"name"`, the collaboration python-threatexchange prints first.
fn skip_quoted_name(content: &str) -> &str {
    let Some(quote) = content.chars().next().filter(|c| *c == '\'' || *c == '"') else {
        return content;
    };
    match content[1..].find(quote) {
        Some(end) => &content[end + 2..],
        None => content,
    }
}

pub(crate) fn write<'a, W: Write>(
    mut writer: W,
    bank: &BankInfo,
    entries: impl Iterator<Item = &'a Entry>,
) -> Result<(), BankError> {
    writeln!(writer, "# Vigie bank: {}", one_line(&bank.name))?;
    if let Some(source) = &bank.source {
        writeln!(writer, "# source: {}", one_line(source))?;
    }
    for entry in entries.filter(|e| !e.deleted) {
        for signal in &entry.signals {
            writeln!(writer, "{signal}")?;
        }
    }
    writer.flush()?;
    Ok(())
}

/// Keeps a comment on one line whatever the bank name holds.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{read_list, write_list, ImportOptions, ImportSummary, ListFormat};
    use proptest::prelude::*;

    const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

    fn read_text(
        text: &str,
        options: &ImportOptions,
    ) -> Result<(Vec<Entry>, ImportSummary), BankError> {
        let mut entries = Vec::new();
        let summary = read_list(
            "list.txt",
            text.as_bytes(),
            ListFormat::Text,
            options,
            |e| entries.push(e),
        )?;
        Ok((entries, summary))
    }

    fn signal_of(entry: &Entry) -> (SignalType, &str) {
        (
            entry.signals[0].signal_type,
            entry.signals[0].value.as_str(),
        )
    }

    #[test]
    fn reads_every_line_shape() {
        let sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
        let text = format!(
            "\u{feff}# a list\n\n  {}  \r\n{MD5}  some/file.jpg\npdq {PDQ} # trailing\n\
             sha1:{sha1}\nvideo_md5 {MD5}\n'Sample Data' pdq {PDQ} FetchedSignalMetadata()\n\
             photo_md5:{MD5}\n",
            PDQ.to_uppercase()
        );
        let (entries, summary) = read_text(&text, &ImportOptions::default()).unwrap();
        assert_eq!(summary.problem_count, 0, "{:?}", summary.problems);
        let read: Vec<_> = entries.iter().map(signal_of).collect();
        assert_eq!(
            read,
            [
                (SignalType::Pdq, PDQ),
                (SignalType::Md5, MD5),
                (SignalType::Pdq, PDQ),
                (SignalType::Sha1, sha1),
                (SignalType::Md5, MD5),
                (SignalType::Pdq, PDQ),
                (SignalType::Md5, MD5),
            ]
        );
        assert_eq!(summary.entries, 7);
    }

    #[test]
    fn hex64_option_makes_bare_64_hex_sha256() {
        let options = ImportOptions {
            hex64: SignalType::Sha256,
            ..ImportOptions::default()
        };
        let (entries, _) = read_text(&format!("{PDQ}\npdq {PDQ}\n"), &options).unwrap();
        assert_eq!(signal_of(&entries[0]).0, SignalType::Sha256);
        assert_eq!(
            signal_of(&entries[1]).0,
            SignalType::Pdq,
            "a named type wins"
        );
    }

    #[test]
    fn bad_lines_are_problems_with_their_line_numbers() {
        let text = format!("{MD5}\n# comment\nxyz\nmd5 {PDQ}\n\n{MD5}\npdq\n");
        let (entries, summary) = read_text(&text, &ImportOptions::default()).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(summary.problem_count, 3);
        let lines: Vec<_> = summary.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 4, 7]);
        assert_eq!(
            summary.problems[0].to_string(),
            "line 3: 'xyz' is not a hash: expected 32, 40, 64 or 288 hex digits or 192 base64 \
             characters, found 3 characters"
        );
        assert!(summary.problems[1].reason.contains("is not an MD5 hash"));
        assert!(summary.problems[2].reason.contains("no hash follows"));
    }

    #[test]
    fn invalid_utf8_is_a_problem() {
        let mut bytes = format!("{MD5}\n").into_bytes();
        bytes.extend_from_slice(b"\xff\xfe\n");
        let mut count = 0;
        let summary = read_list(
            "l",
            &bytes[..],
            ListFormat::Text,
            &ImportOptions::default(),
            |_| count += 1,
        )
        .unwrap();
        assert_eq!(count, 1);
        assert_eq!(summary.problems[0].line, 2);
    }

    #[test]
    fn strict_stops_at_the_first_bad_line() {
        let options = ImportOptions {
            strict: true,
            ..ImportOptions::default()
        };
        let text = format!("{MD5}\nbad\nworse\n");
        let mut seen = 0;
        let error = read_list(
            "list.txt",
            text.as_bytes(),
            ListFormat::Text,
            &options,
            |_| seen += 1,
        )
        .unwrap_err();
        assert!(
            matches!(error, BankError::InvalidLine { line: 2, .. }),
            "{error:?}"
        );
        assert_eq!(seen, 1);
    }

    #[test]
    fn writes_named_lines_without_deleted_entries() {
        let live = Entry {
            signals: vec![Signal::parse(SignalType::Md5, MD5).unwrap()],
            ..Entry::default()
        };
        let withdrawn = Entry {
            deleted: true,
            ..live.clone()
        };
        let mut out = Vec::new();
        let mut bank = BankInfo::new("benign\nsample");
        bank.source = Some("tests".to_string());
        write_list(&mut out, ListFormat::Text, &bank, [&live, &withdrawn]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("# Vigie bank: benign sample\n# source: tests\nmd5 {MD5}\n")
        );
    }

    fn signal_strategy() -> impl Strategy<Value = Signal> {
        prop_oneof![
            "[0-9a-f]{64}".prop_map(|v| (SignalType::Pdq, v)),
            "[0-9a-f]{32}".prop_map(|v| (SignalType::Md5, v)),
            "[0-9a-f]{40}".prop_map(|v| (SignalType::Sha1, v)),
            "[0-9a-f]{64}".prop_map(|v| (SignalType::Sha256, v)),
            "[A-Za-z0-9+/]{192}".prop_map(|v| (SignalType::PhotoDna, v)),
        ]
        .prop_map(|(signal_type, value)| Signal { signal_type, value })
    }

    proptest! {
        #[test]
        fn round_trip(signals in proptest::collection::vec(signal_strategy(), 0..20)) {
            let entries: Vec<Entry> = signals
                .into_iter()
                .map(|signal| Entry { signals: vec![signal], ..Entry::default() })
                .collect();
            let mut out = Vec::new();
            write_list(&mut out, ListFormat::Text, &BankInfo::new("b"), &entries).unwrap();
            let (read, summary) = read_text(&String::from_utf8(out).unwrap(), &ImportOptions::default()).unwrap();
            prop_assert_eq!(summary.problem_count, 0);
            prop_assert_eq!(read, entries);
        }
    }
}
