//! What an import reports: the entries it passed on, and the lines it could not read.
//!
//! Lists from the field are messy (a truncated last line, a spreadsheet's stray cell) and can
//! hold 100 million lines, so one bad line must not lose the other 99,999,999: it becomes a
//! [`Problem`] and the import goes on. An analyst fixing the file needs the first problems and
//! the total, not a million messages, so at most [`KEPT_PROBLEMS`] are kept and all are counted.
//! With [`ImportOptions::strict`] the first bad line stops the import instead, for pipelines
//! that would rather refuse a list than bank part of it.

use std::fmt;
use std::io::{self, Write};

use crate::entry::Entry;
use crate::signal::SignalType;
use crate::BankError;

/// How an import treats what it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Stop at the first bad line with [`BankError::InvalidLine`].
    pub strict: bool,
    /// What a bare 64-hex value is when the list does not say: PDQ (the default) or SHA-256.
    pub hex64: SignalType,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            strict: false,
            hex64: SignalType::Pdq,
        }
    }
}

/// A line or record that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The 1-based line where the line or record starts in the file.
    pub line: u64,
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// The number of problems an import keeps; the rest are only counted.
pub const KEPT_PROBLEMS: usize = 1000;

/// The result of reading one list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// The name the caller gave the list, usually its file name.
    pub source: String,
    /// Entries passed to the sink.
    pub entries: u64,
    /// The first [`KEPT_PROBLEMS`] problems.
    pub problems: Vec<Problem>,
    /// All problems, kept or not.
    pub problem_count: u64,
}

impl ImportSummary {
    /// Writes the problems one a line as `file:line: reason`, the form editors and terminals
    /// turn into links, then how many more were found but not kept.
    pub fn write_problems<W: Write>(&self, mut out: W) -> io::Result<()> {
        for problem in &self.problems {
            writeln!(out, "{}:{}: {}", self.source, problem.line, problem.reason)?;
        }
        let unlisted = self.problem_count - self.problems.len() as u64;
        if unlisted > 0 {
            writeln!(out, "{}: {unlisted} more problems not listed", self.source)?;
        }
        Ok(())
    }
}

/// Gathers what a format reader finds: entries go to the caller's sink at once (nothing is
/// held), problems are kept or counted, and strict mode turns the first into an error.
pub(crate) struct Collector<'o, S> {
    summary: ImportSummary,
    options: &'o ImportOptions,
    sink: S,
}

impl<'o, S: FnMut(Entry)> Collector<'o, S> {
    pub(crate) fn new(source: &str, options: &'o ImportOptions, sink: S) -> Self {
        Collector {
            summary: ImportSummary {
                source: source.to_string(),
                entries: 0,
                problems: Vec::new(),
                problem_count: 0,
            },
            options,
            sink,
        }
    }

    pub(crate) fn options(&self) -> &ImportOptions {
        self.options
    }

    pub(crate) fn source(&self) -> &str {
        &self.summary.source
    }

    pub(crate) fn entry(&mut self, entry: Entry) {
        self.summary.entries += 1;
        (self.sink)(entry);
    }

    /// Records a bad line; in strict mode, returns the error that ends the import.
    pub(crate) fn problem(
        &mut self,
        line: u64,
        reason: impl Into<String>,
    ) -> Result<(), BankError> {
        let reason = reason.into();
        if self.options.strict {
            return Err(BankError::InvalidLine {
                file: self.summary.source.clone(),
                line,
                reason,
            });
        }
        self.summary.problem_count += 1;
        if self.summary.problems.len() < KEPT_PROBLEMS {
            self.summary.problems.push(Problem { line, reason });
        }
        Ok(())
    }

    /// Passes the entry on, or records the reason it could not be read.
    pub(crate) fn record(
        &mut self,
        line: u64,
        read: Result<Entry, String>,
    ) -> Result<(), BankError> {
        match read {
            Ok(entry) => {
                self.entry(entry);
                Ok(())
            }
            Err(reason) => self.problem(line, reason),
        }
    }

    pub(crate) fn finish(self) -> ImportSummary {
        self.summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_problems_and_counts_all() {
        let options = ImportOptions::default();
        let mut collector = Collector::new("list.txt", &options, |_| {});
        for line in 1..=(KEPT_PROBLEMS as u64 + 5) {
            collector.problem(line, "bad").unwrap();
        }
        let summary = collector.finish();
        assert_eq!(summary.problems.len(), KEPT_PROBLEMS);
        assert_eq!(summary.problem_count, KEPT_PROBLEMS as u64 + 5);
        let mut printed = Vec::new();
        summary.write_problems(&mut printed).unwrap();
        let printed = String::from_utf8(printed).unwrap();
        assert!(printed.starts_with("list.txt:1: bad\nlist.txt:2: bad\n"));
        assert!(printed.ends_with("list.txt: 5 more problems not listed\n"));
    }

    #[test]
    fn strict_turns_the_first_problem_into_an_error() {
        let options = ImportOptions {
            strict: true,
            ..ImportOptions::default()
        };
        let mut collector = Collector::new("list.txt", &options, |_| {});
        let error = collector.problem(7, "'xyz' is not a hash").unwrap_err();
        assert_eq!(error.to_string(), "list.txt:7: 'xyz' is not a hash");
    }
}
