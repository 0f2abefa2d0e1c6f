//! `vigie match`: hashes in, the bank entries they match out, for shell pipelines.
//!
//! Queries are read in batches and each batch is answered in one pass over every bank's index
//! (`PdqIndex::range_batch`, all cores), so a pipe of millions of hashes runs at the index's
//! batch speed rather than one scan a hash. Output follows input order. The exit code works as
//! grep's does: 0 when something matched, 1 when nothing did, 2 on an error.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use serde::Serialize;
use vigie_bank::{Entry, SignalType};
use vigie_hash::PdqHash;
use vigie_index::Hash256;

use crate::bank_file::{decode_hex, open_banks, read_one_list, Bank};
use crate::list_args::ListArgs;
use crate::matcher::{match_batch, Lookup};

/// Queries answered together: enough for the multi-index batch path, bounded in memory.
const BATCH: usize = 1 << 16;

/// Names of the dihedral variants, in the order of `vigie hash --dihedral` columns.
pub const VARIANTS: [(&str, &str); 8] = [
    ("orig", "pdq"),
    ("rot90", "pdq_rot90"),
    ("rot180", "pdq_rot180"),
    ("rot270", "pdq_rot270"),
    ("flipx", "pdq_flipx"),
    ("flipy", "pdq_flipy"),
    ("flipplus1", "pdq_flipplus1"),
    ("flipminus1", "pdq_flipminus1"),
];

#[derive(Debug, Args)]
pub struct MatchArgs {
    /// Banks to match against: `.vidx` files, or hash lists (banked in memory, named after the
    /// file). Disabled banks are skipped.
    #[arg(long = "bank", required = true, value_name = "BANK")]
    banks: Vec<PathBuf>,

    /// Queries: hash lists in any format (one hash a line is the simplest); `-` or nothing
    /// reads standard input.
    #[arg(value_name = "QUERIES")]
    queries: Vec<PathBuf>,

    /// The largest PDQ distance that counts as a match (default: each bank's threshold).
    #[arg(long, value_name = "BITS")]
    radius: Option<u32>,

    /// Also match the seven rotations and flips: the queries are the CSV written by
    /// `vigie hash --dihedral --format csv`, and each match says which variant matched.
    #[arg(long)]
    dihedral: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,

    #[command(flatten)]
    list: ListArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Csv,
    Jsonl,
}

/// One query: what the user gave, and the hashes to look up.
#[derive(Debug)]
struct Query {
    /// The query's own id (a path in `vigie hash` output, an id column), if any.
    id: Option<String>,
    lookup: Lookup,
}

/// One output row.
#[derive(Debug, Serialize)]
struct Row<'a> {
    query: String,
    #[serde(rename = "match")]
    matched: String,
    distance: u32,
    bank: &'a str,
    label: &'a str,
    category: Option<&'a str>,
    signal_type: &'static str,
    query_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'static str>,
}

pub fn run(args: MatchArgs) -> anyhow::Result<ExitCode> {
    if args.radius.is_some_and(|r| r > 256) {
        bail!("--radius is a number of bits, 0 to 256");
    }
    let options = args.list.options();
    let banks: Vec<Bank> = open_banks(&args.banks, &options)?
        .into_iter()
        .filter(|bank| bank.info.enabled)
        .collect();
    if banks.is_empty() {
        bail!("every bank given is disabled");
    }
    let inputs = if args.queries.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.queries.clone()
    };

    let stdout = io::stdout();
    let mut output = Output::new(
        args.format,
        args.dihedral,
        io::BufWriter::new(stdout.lock()),
    )?;
    let mut matched = false;
    let mut batch = Vec::with_capacity(BATCH);
    let mut flush = |batch: &mut Vec<Query>| -> anyhow::Result<()> {
        matched |= answer(&banks, batch, args.radius, args.dihedral, &mut output)?;
        batch.clear();
        Ok(())
    };
    for input in &inputs {
        if args.dihedral {
            read_dihedral_csv(input, |query| {
                batch.push(query);
                if batch.len() == BATCH {
                    flush(&mut batch)?;
                }
                Ok(())
            })?;
            continue;
        }
        // Lists are read streaming; queries are answered a batch at a time.
        let mut failure = None;
        let summary = read_one_list(input, &options, |entry| {
            if failure.is_some() {
                return;
            }
            batch.push(query_of(entry));
            if batch.len() == BATCH {
                failure = flush(&mut batch).err();
            }
        })?;
        if let Some(error) = failure {
            return Err(error);
        }
        summary.write_problems(io::stderr().lock())?;
    }
    flush(&mut batch)?;
    match output.finish() {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {}
        other => other.context("writing the output")?,
    }
    Ok(if matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn query_of(entry: Entry) -> Query {
    let mut lookup = Lookup::default();
    for signal in entry.signals {
        match signal.signal_type {
            // The list reader has checked the hex already.
            SignalType::Pdq => {
                if let Ok(bytes) = decode_hex::<32>(&signal.value) {
                    lookup.pdq.push(Hash256::from_bytes(&bytes));
                }
            }
            SignalType::PhotoDna => {}
            other => lookup.digests.push((other, signal.value)),
        }
    }
    Query {
        id: entry.id,
        lookup,
    }
}

/// Reads `vigie hash --dihedral --format csv` output: the eight PDQ columns of each image.
fn read_dihedral_csv(
    input: &PathBuf,
    mut sink: impl FnMut(Query) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let name = input.display().to_string();
    let reader: Box<dyn io::Read> = if name == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(input).with_context(|| format!("cannot open {name}"))?)
    };
    let mut csv = csv::Reader::from_reader(reader);
    let header = csv.headers()?.clone();
    let column = |wanted: &str| header.iter().position(|h| h == wanted);
    let Some(columns) = VARIANTS
        .iter()
        .map(|(_, c)| column(c))
        .collect::<Option<Vec<usize>>>()
    else {
        bail!(
            "{name}: --dihedral reads the CSV of `vigie hash --dihedral --format csv` (columns pdq, pdq_rot90 ... pdq_flipminus1)"
        );
    };
    let path = column("path");
    for (row, record) in csv.records().enumerate() {
        let record = record.with_context(|| format!("{name}:{}", row + 2))?;
        if record.get(columns[0]).is_none_or(str::is_empty) {
            continue; // A file that could not be hashed: nothing to look up.
        }
        let mut pdq = Vec::with_capacity(8);
        for &c in &columns {
            let text = record.get(c).unwrap_or("");
            let hash: PdqHash = text
                .parse()
                .with_context(|| format!("{name}:{}: '{text}'", row + 2))?;
            pdq.push(Hash256::from_bytes(hash.as_bytes()));
        }
        sink(Query {
            id: path.and_then(|p| record.get(p)).map(str::to_string),
            lookup: Lookup {
                pdq,
                digests: Vec::new(),
            },
        })?;
    }
    Ok(())
}

/// Answers a batch against every bank and writes the rows; returns whether anything matched.
fn answer<W: Write>(
    banks: &[Bank],
    batch: &[Query],
    radius: Option<u32>,
    dihedral: bool,
    output: &mut Output<W>,
) -> anyhow::Result<bool> {
    let lookups: Vec<&Lookup> = batch.iter().map(|query| &query.lookup).collect();
    let mut matched = false;
    for (query, found) in batch.iter().zip(match_batch(banks, &lookups, radius)?) {
        for found in found {
            let entry = found.bank.entry(found.id);
            output.write(&Row {
                query: found.query,
                matched: found.matched,
                distance: found.distance,
                bank: &found.bank.info.name,
                label: entry.label,
                category: entry.category,
                signal_type: found.signal_type.name(),
                query_id: query.id.as_deref(),
                variant: dihedral.then_some(VARIANTS[found.variant].0),
            })?;
            matched = true;
        }
    }
    Ok(matched)
}

/// Writes rows as CSV or JSON lines.
enum Output<W: Write> {
    Csv(Box<csv::Writer<W>>),
    Jsonl(W),
}

impl<W: Write> Output<W> {
    fn new(format: Format, dihedral: bool, out: W) -> io::Result<Self> {
        Ok(match format {
            Format::Jsonl => Output::Jsonl(out),
            Format::Csv => {
                // The header is written here, with the dihedral column only when asked.
                let mut writer = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(out);
                let mut header = vec![
                    "query",
                    "match",
                    "distance",
                    "bank",
                    "label",
                    "category",
                    "signal_type",
                    "query_id",
                ];
                if dihedral {
                    header.push("variant");
                }
                writer.write_record(&header)?;
                Output::Csv(Box::new(writer))
            }
        })
    }

    fn write(&mut self, row: &Row) -> io::Result<()> {
        match self {
            Output::Jsonl(out) => {
                serde_json::to_writer(&mut *out, row)?;
                out.write_all(b"\n")
            }
            Output::Csv(writer) => writer.serialize(row).map_err(io::Error::from),
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            Output::Jsonl(mut out) => out.flush(),
            Output::Csv(mut writer) => writer.flush(),
        }
    }
}
