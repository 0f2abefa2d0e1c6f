//! JSON documents read whole, whose records are then handled one at a time with their line.
//!
//! VICS files and ThreatExchange `threat_updates` dumps are single JSON documents with an
//! array of records inside. serde_json cannot stream the inside of an array from a reader, so
//! the document is read into memory (these files are case-sized, not bank-sized), split into
//! borrowed raw records (`serde_json::value::RawValue`), and each record is parsed on its own:
//! a bad record is a problem on its line and the others still import. The line is found from
//! where the raw record's text sits in the document.

use std::io::BufRead;

use crate::import::Collector;
use crate::{newlines, BankError, Entry, ListFormat};

/// Reads the whole document as text, or says it is not one.
pub(crate) fn read_text<R: BufRead, S: FnMut(Entry)>(
    mut reader: R,
    format: ListFormat,
    collector: &Collector<'_, S>,
) -> Result<String, BankError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| not_the_format(collector, format, "the document is not UTF-8 text"))?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

pub(crate) fn not_the_format<S: FnMut(Entry)>(
    collector: &Collector<'_, S>,
    format: ListFormat,
    reason: impl Into<String>,
) -> BankError {
    BankError::NotTheFormat {
        file: collector.source().to_string(),
        format,
        reason: reason.into(),
    }
}

/// Turns the position of a record's text in the document into its line, counting forward
/// from the previous record so a document of n records costs one pass, not n.
pub(crate) struct Lines<'t> {
    text: &'t str,
    offset: usize,
    line: u64,
}

impl<'t> Lines<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        Lines {
            text,
            offset: 0,
            line: 1,
        }
    }

    /// The line where `part`, a slice of the document, starts.
    pub(crate) fn line_of(&mut self, part: &str) -> u64 {
        let at = (part.as_ptr() as usize)
            .saturating_sub(self.text.as_ptr() as usize)
            .min(self.text.len());
        if at < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        self.line += newlines(&self.text.as_bytes()[self.offset..at]);
        self.offset = at;
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_slices() {
        let text = "{\n  \"a\": 1,\n\n  \"b\": 2\n}";
        let mut lines = Lines::new(text);
        let b = &text[text.find("\"b\"").unwrap()..];
        let a = &text[text.find("\"a\"").unwrap()..];
        assert_eq!(lines.line_of(a), 2);
        assert_eq!(lines.line_of(b), 4);
        assert_eq!(lines.line_of(a), 2, "going back recounts");
    }
}
