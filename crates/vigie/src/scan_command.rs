//! `vigie scan`: the investigator's job. Hash every file of a tree (a seized disk) on every
//! core, match each against the banks, and sort the files into known (bank, category, distance)
//! and unknown, unknown first: unknown material is where a child may still be at risk.
//!
//! A scan of millions of files takes hours, so it must survive an interruption. Each result is
//! appended to a checkpoint file (JSON lines) as soon as its batch is matched; run the same
//! command again and it skips the files the checkpoint holds. The reports are written from the
//! checkpoint at the end, then the checkpoint is removed. A last line cut short by a crash is
//! dropped and its file scanned again.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use vigie_bank::{write_list, BankInfo, Entry, ListFormat, Signal, SignalType};
use vigie_index::Hash256;

use crate::bank_file::{decode_hex, open_banks, Bank};
use crate::files::list_inputs;
use crate::hash_command::{process_in_order, progress_bar, HashingArgs, Record};
use crate::list_args::ListArgs;
use crate::matcher::{match_batch, Lookup};

/// Files matched together: large enough for the index's batch path, small enough that an
/// interruption loses little work.
const BATCH: usize = 4096;

/// PDQ hashes under this quality are not trusted (flat or tiny images all hash alike), so they
/// are not matched; the file's digests still are.
const MIN_PDQ_QUALITY: u8 = 50;

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Directories or files to scan.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Banks to match against: `.vidx` files or hash lists.
    #[arg(long = "bank", required = true, value_name = "BANK")]
    banks: Vec<PathBuf>,

    /// The report to write.
    #[arg(short, long, value_name = "REPORT")]
    output: PathBuf,

    /// Report format (default: from the report's extension: .csv, .json, .html; .vics.json
    /// for VICS).
    #[arg(long, value_enum)]
    format: Option<ReportFormat>,

    /// The largest PDQ distance that counts as a match (default: each bank's threshold).
    #[arg(long, value_name = "BITS")]
    radius: Option<u32>,

    /// Also match rotated and flipped copies of images.
    #[arg(long)]
    dihedral: bool,

    /// Where to keep progress (default: the report's path with `.checkpoint` added).
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,

    #[command(flatten)]
    hashing: HashingArgs,

    #[command(flatten)]
    list: ListArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Csv,
    Json,
    Vics,
    Html,
}

/// Where a file lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    /// Matched nothing: for a human to review first.
    Unknown,
    /// Matched a bank entry.
    Known,
    /// Could not be read at all: no hash to match.
    Unreadable,
}

/// One bank entry a file matched.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FileMatch {
    bank: String,
    label: String,
    category: Option<String>,
    signal_type: String,
    distance: u32,
    /// The dihedral variant that matched, when not the image as it is.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    variant: Option<String>,
}

/// The result for one file: a checkpoint line, and a report row.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ScanResult {
    path: String,
    status: Status,
    pdq: Option<String>,
    quality: Option<u8>,
    md5: Option<String>,
    sha1: Option<String>,
    sha256: Option<String>,
    /// Why something could not be computed or matched (a non-image has no PDQ).
    error: Option<String>,
    matches: Vec<FileMatch>,
}

impl ScanResult {
    /// The closest match: an exact digest before any PDQ match, then by distance.
    fn best(&self) -> Option<&FileMatch> {
        self.matches
            .iter()
            .min_by_key(|m| (m.signal_type == "pdq", m.distance))
    }
}

/// The first line of a checkpoint: what the scan was, so that a resume matches like the start.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct CheckpointHeader {
    vigie_scan_checkpoint: u32,
    banks: Vec<String>,
    radius: Option<u32>,
    dihedral: bool,
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let format = match args.format {
        Some(format) => format,
        None => format_of(&args.output)?,
    };
    if args.radius.is_some_and(|r| r > 256) {
        bail!("--radius is a number of bits, 0 to 256");
    }
    let banks: Vec<Bank> = open_banks(&args.banks, &args.list.options())?
        .into_iter()
        .filter(|bank| bank.info.enabled)
        .collect();
    if banks.is_empty() {
        bail!("every bank given is disabled");
    }
    let checkpoint_path = args.checkpoint.clone().unwrap_or_else(|| {
        let mut path = args.output.clone().into_os_string();
        path.push(".checkpoint");
        PathBuf::from(path)
    });
    let header = CheckpointHeader {
        vigie_scan_checkpoint: 1,
        banks: args.banks.iter().map(|p| p.display().to_string()).collect(),
        radius: args.radius,
        dihedral: args.dihedral,
    };
    let done = resume(&checkpoint_path, &header)?;
    let mut checkpoint = BufWriter::new(
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&checkpoint_path)
            .with_context(|| format!("cannot write {}", checkpoint_path.display()))?,
    );
    if done.is_empty() {
        serde_json::to_writer(&mut checkpoint, &header)?;
        checkpoint.write_all(b"\n")?;
    } else {
        eprintln!(
            "vigie: resuming from {}: {} files already scanned",
            checkpoint_path.display(),
            done.len()
        );
    }

    let inputs: Vec<_> = list_inputs(&args.paths)
        .into_iter()
        .filter(|input| !done.contains(&input.label))
        .collect();
    let limits = args.hashing.limits(args.dihedral);
    let progress = progress_bar(inputs.len());
    let mut batch: Vec<Record> = Vec::with_capacity(BATCH);
    let mut failure: Option<anyhow::Error> = None;
    let mut flush = |batch: &mut Vec<Record>| -> anyhow::Result<()> {
        for result in match_records(&banks, batch, args.radius)? {
            serde_json::to_writer(&mut checkpoint, &result)?;
            checkpoint.write_all(b"\n")?;
        }
        checkpoint.flush()?;
        batch.clear();
        Ok(())
    };
    let hashed = process_in_order(&inputs, args.hashing.threads()?, &limits, |record| {
        progress.inc(1);
        batch.push(record);
        if batch.len() == BATCH {
            if let Err(error) = flush(&mut batch) {
                failure = Some(error);
                return Err(io::Error::other("matching failed"));
            }
        }
        Ok(())
    });
    if let Some(error) = failure {
        return Err(error);
    }
    hashed?;
    flush(&mut batch)?;
    progress.finish_and_clear();

    let mut results = read_checkpoint(&checkpoint_path)?;
    results.sort_by(|a, b| (a.status, &a.path).cmp(&(b.status, &b.path)));
    write_report(&args.output, format, &results)?;
    std::fs::remove_file(&checkpoint_path)
        .with_context(|| format!("removing {}", checkpoint_path.display()))?;
    let count = |status| results.iter().filter(|r| r.status == status).count();
    eprintln!(
        "vigie: {} files: {} unknown, {} known, {} unreadable; report in {}",
        results.len(),
        count(Status::Unknown),
        count(Status::Known),
        count(Status::Unreadable),
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn format_of(output: &Path) -> anyhow::Result<ReportFormat> {
    let name = output.to_string_lossy().to_ascii_lowercase();
    Ok(if name.ends_with(".vics.json") {
        ReportFormat::Vics
    } else if name.ends_with(".json") {
        ReportFormat::Json
    } else if name.ends_with(".csv") {
        ReportFormat::Csv
    } else if name.ends_with(".html") || name.ends_with(".htm") {
        ReportFormat::Html
    } else {
        bail!("cannot tell the report format from {name}: give --format csv|json|vics|html")
    })
}

/// The paths a checkpoint already holds, after checking it belongs to this scan. A torn last
/// line is cut off so that appending continues on a clean line.
fn resume(path: &Path, header: &CheckpointHeader) -> anyhow::Result<HashSet<String>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
    };
    let mut lines = BufReader::new(file).lines();
    let Some(first) = lines.next().transpose()? else {
        return Ok(HashSet::new());
    };
    let found: CheckpointHeader = serde_json::from_str(&first)
        .with_context(|| format!("{} is not a scan checkpoint", path.display()))?;
    if &found != header {
        bail!(
            "{} is the checkpoint of a different scan (banks {:?}); delete it to start over",
            path.display(),
            found.banks
        );
    }
    let mut done = HashSet::new();
    let mut good_bytes = first.len() as u64 + 1;
    for line in lines {
        let line = line?;
        match serde_json::from_str::<ScanResult>(&line) {
            Ok(result) => {
                done.insert(result.path);
                good_bytes += line.len() as u64 + 1;
            }
            Err(_) => break,
        }
    }
    let file = OpenOptions::new().write(true).open(path)?;
    file.set_len(good_bytes)?;
    Ok(done)
}

fn read_checkpoint(path: &Path) -> anyhow::Result<Vec<ScanResult>> {
    let file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut results = Vec::new();
    for (number, line) in BufReader::new(file).lines().enumerate().skip(1) {
        let line = line?;
        results.push(
            serde_json::from_str(&line)
                .with_context(|| format!("{}:{}", path.display(), number + 1))?,
        );
    }
    Ok(results)
}

/// Matches a batch of hashed files against the banks.
fn match_records(
    banks: &[Bank],
    records: &[Record],
    radius: Option<u32>,
) -> anyhow::Result<Vec<ScanResult>> {
    let lookups: Vec<Lookup> = records
        .iter()
        .map(lookup_of)
        .collect::<anyhow::Result<_>>()?;
    let lookup_refs: Vec<&Lookup> = lookups.iter().collect();
    let found = match_batch(banks, &lookup_refs, radius)?;
    Ok(records
        .iter()
        .zip(found)
        .map(|(record, found)| {
            let matches: Vec<FileMatch> = found
                .into_iter()
                .map(|found| {
                    let entry = found.bank.entry(found.id);
                    FileMatch {
                        bank: found.bank.info.name.clone(),
                        label: entry.label.to_string(),
                        category: entry.category.map(str::to_string),
                        signal_type: found.signal_type.name().to_string(),
                        distance: found.distance,
                        variant: (found.variant > 0)
                            .then(|| crate::match_command::VARIANTS[found.variant].0.to_string()),
                    }
                })
                .collect();
            let status = if !matches.is_empty() {
                Status::Known
            } else if record.md5.is_none() {
                Status::Unreadable
            } else {
                Status::Unknown
            };
            let low_quality = record.quality.is_some_and(|q| q < MIN_PDQ_QUALITY);
            let error = match (&record.error, low_quality) {
                (Some(error), _) => Some(error.clone()),
                (None, true) => Some(format!(
                    "PDQ quality under {MIN_PDQ_QUALITY}: not matched by PDQ"
                )),
                (None, false) => None,
            };
            ScanResult {
                path: record.path.clone(),
                status,
                pdq: record.pdq.clone(),
                quality: record.quality,
                md5: record.md5.clone(),
                sha1: record.sha1.clone(),
                sha256: record.sha256.clone(),
                error,
                matches,
            }
        })
        .collect())
}

fn lookup_of(record: &Record) -> anyhow::Result<Lookup> {
    let mut lookup = Lookup::default();
    if record.quality.is_some_and(|q| q >= MIN_PDQ_QUALITY) {
        let hashes: Vec<&str> = match (&record.dihedral, &record.pdq) {
            (Some(dihedral), _) => dihedral.all().to_vec(),
            (None, Some(pdq)) => vec![pdq.as_str()],
            (None, None) => Vec::new(),
        };
        for hash in hashes {
            lookup.pdq.push(Hash256::from_bytes(&decode_hex(hash)?));
        }
    }
    for (signal_type, value) in [
        (SignalType::Md5, &record.md5),
        (SignalType::Sha1, &record.sha1),
        (SignalType::Sha256, &record.sha256),
    ] {
        if let Some(value) = value {
            lookup.digests.push((signal_type, value.clone()));
        }
    }
    Ok(lookup)
}

fn write_report(path: &Path, format: ReportFormat, results: &[ScanResult]) -> anyhow::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".partial");
    let temporary = PathBuf::from(temporary);
    let file = File::create(&temporary)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    let mut out = BufWriter::new(file);
    match format {
        ReportFormat::Csv => write_csv(&mut out, results)?,
        ReportFormat::Json => write_json(&mut out, results)?,
        ReportFormat::Vics => write_vics(&mut out, results)?,
        ReportFormat::Html => crate::scan_report::write_html(&mut out, results_view(results))?,
    }
    out.flush()?;
    drop(out);
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn write_csv(out: &mut impl Write, results: &[ScanResult]) -> anyhow::Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record([
        "status",
        "path",
        "bank",
        "category",
        "label",
        "signal_type",
        "distance",
        "pdq",
        "quality",
        "md5",
        "sha1",
        "sha256",
        "error",
    ])?;
    for result in results {
        let best = result.best();
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        csv.write_record([
            status_name(result.status).to_string(),
            result.path.clone(),
            best.map(|m| m.bank.clone()).unwrap_or_default(),
            best.and_then(|m| m.category.clone()).unwrap_or_default(),
            best.map(|m| m.label.clone()).unwrap_or_default(),
            best.map(|m| m.signal_type.clone()).unwrap_or_default(),
            best.map(|m| m.distance.to_string()).unwrap_or_default(),
            text(&result.pdq),
            result.quality.map(|q| q.to_string()).unwrap_or_default(),
            text(&result.md5),
            text(&result.sha1),
            text(&result.sha256),
            text(&result.error),
        ])?;
    }
    csv.flush()?;
    Ok(())
}

fn write_json(out: &mut impl Write, results: &[ScanResult]) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct Report<'a> {
        summary: Summary,
        files: &'a [ScanResult],
    }
    serde_json::to_writer_pretty(
        &mut *out,
        &Report {
            summary: Summary::of(results),
            files: results,
        },
    )?;
    out.write_all(b"\n")?;
    Ok(())
}

/// VICS 2.0 Media, one a file, so that forensic tools (Griffeye-like) import the scan: the
/// category of the closest match, the file's path, its hashes.
fn write_vics(out: &mut impl Write, results: &[ScanResult]) -> anyhow::Result<()> {
    let entries: Vec<Entry> = results
        .iter()
        .filter(|result| result.md5.is_some())
        .enumerate()
        .map(|(number, result)| {
            let signals = [
                (SignalType::Md5, &result.md5),
                (SignalType::Sha1, &result.sha1),
                (SignalType::Sha256, &result.sha256),
                (SignalType::Pdq, &result.pdq),
            ]
            .into_iter()
            .filter_map(|(signal_type, value)| {
                value.as_ref().map(|value| Signal {
                    signal_type,
                    value: value.clone(),
                })
            })
            .collect();
            Entry {
                id: Some((number + 1).to_string()),
                signals,
                category: result.best().and_then(|m| m.category.clone()),
                files: vec![result.path.clone()],
                ..Entry::default()
            }
        })
        .collect();
    write_list(
        out,
        ListFormat::Vics,
        &BankInfo::new("vigie scan"),
        &entries,
    )?;
    Ok(())
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Unknown => "unknown",
        Status::Known => "known",
        Status::Unreadable => "unreadable",
    }
}

/// Counts for the top of a report.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub files: usize,
    pub unknown: usize,
    pub known: usize,
    pub unreadable: usize,
}

impl Summary {
    fn of(results: &[ScanResult]) -> Summary {
        let count = |status| results.iter().filter(|r| r.status == status).count();
        Summary {
            files: results.len(),
            unknown: count(Status::Unknown),
            known: count(Status::Known),
            unreadable: count(Status::Unreadable),
        }
    }
}

/// What the HTML report shows of each file.
#[derive(Debug)]
pub struct FileView<'a> {
    pub status: &'static str,
    pub path: &'a str,
    pub bank: Option<&'a str>,
    pub category: Option<&'a str>,
    pub label: Option<&'a str>,
    pub signal_type: Option<&'a str>,
    pub distance: Option<u32>,
    pub md5: Option<&'a str>,
    pub pdq: Option<&'a str>,
    pub error: Option<&'a str>,
}

fn results_view(results: &[ScanResult]) -> (Summary, Vec<FileView<'_>>) {
    let views = results
        .iter()
        .map(|result| {
            let best = result.best();
            FileView {
                status: status_name(result.status),
                path: &result.path,
                bank: best.map(|m| m.bank.as_str()),
                category: best.and_then(|m| m.category.as_deref()),
                label: best.map(|m| m.label.as_str()),
                signal_type: best.map(|m| m.signal_type.as_str()),
                distance: best.map(|m| m.distance),
                md5: result.md5.as_deref(),
                pdq: result.pdq.as_deref(),
                error: result.error.as_deref(),
            }
        })
        .collect();
    (Summary::of(results), views)
}
