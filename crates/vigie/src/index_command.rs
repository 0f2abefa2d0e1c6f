//! `vigie index build`: hash lists in, one bank file (`.vidx`) out; `vigie index export`: back
//! to a list, in any format.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use vigie_bank::{
    merge_duplicates, write_list, BankError, BankInfo, Entry, ListFormat, DEFAULT_PDQ_THRESHOLD,
};

use crate::bank_file::{read_lists, Bank};
use crate::list_args::{Format, ListArgs};

#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Build a bank file from hash lists (text, CSV, ThreatExchange, VICS JSON, NCMEC XML).
    Build(BuildArgs),
    /// Write a bank's entries as a hash list, to share them with a partner or another tool.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The bank file.
    #[arg(value_name = "BANK.vidx")]
    bank: PathBuf,

    /// The list format to write.
    #[arg(long, value_enum)]
    format: Format,

    /// Where to write (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Hash lists to bank (`-` reads standard input); duplicates across them merge.
    #[arg(required = true, value_name = "LIST")]
    lists: Vec<PathBuf>,

    /// The bank file to write.
    #[arg(short, long, value_name = "BANK.vidx")]
    output: PathBuf,

    /// The bank's name (default: the output file's name without extension).
    #[arg(long)]
    name: Option<String>,

    /// Where the list comes from (NCMEC, a hotline, the platform's own reviewers...).
    #[arg(long)]
    source: Option<String>,

    /// The category of entries whose list gives none.
    #[arg(long, value_name = "CATEGORY")]
    category: Option<String>,

    /// The largest PDQ distance that counts as a match for this bank.
    #[arg(long, default_value_t = DEFAULT_PDQ_THRESHOLD, value_name = "BITS")]
    threshold: u32,

    /// Mark the bank disabled: it is kept and exported, but `vigie match` and `vigie scan`
    /// skip it.
    #[arg(long)]
    disabled: bool,

    #[command(flatten)]
    list: ListArgs,
}

pub fn run(command: IndexCommand) -> anyhow::Result<ExitCode> {
    match command {
        IndexCommand::Build(args) => build(args),
        IndexCommand::Export(args) => export(args),
    }
}

fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let bank = Bank::load(&args.bank)?;
    let format = ListFormat::from(args.format);
    let entries = bank.entries();
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
        ),
        None => Box::new(io::stdout().lock()),
    };
    match write_list(io::BufWriter::new(out), format, &bank.info, &entries) {
        Err(BankError::Io(error)) if error.kind() == io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    if let Some(path) = &args.output {
        eprintln!(
            "vigie: {} entries of bank '{}' written to {}",
            entries.len(),
            bank.info.name,
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn build(args: BuildArgs) -> anyhow::Result<ExitCode> {
    if args.threshold > 256 {
        anyhow::bail!("--threshold is a number of bits, 0 to 256");
    }
    let options = args.list.options();
    let (entries, problems) = read_lists(&args.lists, &options)?;
    let read = entries.len();
    let (entries, merged) = merge_duplicates(entries);
    let (entries, withdrawn): (Vec<Entry>, Vec<Entry>) =
        entries.into_iter().partition(|entry| !entry.deleted);
    let name = args.name.unwrap_or_else(|| {
        args.output
            .file_stem()
            .map_or_else(|| "bank".into(), |s| s.to_string_lossy().into_owned())
    });
    let info = BankInfo {
        name,
        source: args.source,
        default_category: args.category,
        pdq_threshold: args.threshold,
        enabled: !args.disabled,
    };
    let bank = Bank::from_entries(info, &entries)?;
    bank.save(&args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    let index = &bank.index;
    eprintln!(
        "vigie: bank '{}' written to {}: {} entries ({} PDQ, {} MD5, {} SHA-1, {} SHA-256) from {read} read; {merged} duplicates merged, {} withdrawn by their source left out, {problems} lines not read",
        bank.info.name,
        args.output.display(),
        entries.len(),
        index.pdq.len(),
        index.md5.len(),
        index.sha1.len(),
        index.sha256.len(),
        withdrawn.len(),
    );
    Ok(ExitCode::SUCCESS)
}
