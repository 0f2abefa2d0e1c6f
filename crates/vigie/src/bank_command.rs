//! `vigie bank import` and `vigie bank export`: hash lists into and out of the store that
//! `vigie serve` matches against (SQLite in a data directory, or PostgreSQL).
//!
//! An import streams: a thread reads and parses the lists while the store writes the previous
//! batch, and at most a few batches are held at once, so a list of 100 million lines needs the
//! memory of a few batches. Each batch is one transaction with its own `bank.import` audit
//! row, so that other writers (a running server) get their turn between batches and an
//! interrupted import leaves whole, audited batches behind. The last batch of each list also
//! carries the list's counts (entries read, lines not read, entries skipped) in its audit row.
//!
//! What the store keeps of an entry: its PDQ, MD5, SHA-1 and SHA-256 hashes, its id (as the
//! content's label) and its category. PhotoDNA values, tags and file names are not kept;
//! entries the source withdraws, or with no hash the store keeps, are skipped and counted.
//! Duplicates are not merged: the store holds what the lists said.

use std::fs::File;
use std::io::{self, IsTerminal as _, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};
use vigie_bank::SignalType;
use vigie_bank::{write_list, BankError, BankInfo, Entry, ImportSummary, ListFormat, Signal};
use vigie_store::{NewAuditEntry, NewBank, NewContent, Store, StoreError};

use crate::bank_file::read_one_list;
use crate::list_args::{Format, ListArgs};
use crate::serve_command::StoreArgs;

#[derive(Debug, Subcommand)]
pub enum BankCommand {
    /// Add the entries of hash lists (text, CSV, ThreatExchange, VICS JSON, NCMEC XML) to a
    /// bank of the store.
    Import(ImportArgs),
    /// Write a bank of the store as a hash list.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The bank, in UPPER_SNAKE_CASE as HMA names banks.
    name: String,

    /// Hash lists to import (`-` reads standard input).
    #[arg(required = true, value_name = "LIST")]
    lists: Vec<PathBuf>,

    /// Create the bank (with the default threshold) if the store has none of this name.
    #[arg(long)]
    create: bool,

    /// Contents written per transaction.
    #[arg(long, default_value_t = 50_000, value_name = "CONTENTS")]
    batch: usize,

    #[command(flatten)]
    list: ListArgs,

    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The bank.
    name: String,

    /// The list format to write.
    #[arg(long, value_enum)]
    format: Format,

    /// Where to write (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    #[command(flatten)]
    store: StoreArgs,
}

pub fn run(command: BankCommand) -> anyhow::Result<ExitCode> {
    match command {
        BankCommand::Import(args) => import(args),
        BankCommand::Export(args) => export(args),
    }
}

/// Contents read from one list, written in one transaction.
#[derive(Debug)]
struct Batch {
    list: String,
    contents: Vec<NewContent>,
    /// The list's counts, on its last batch.
    finished: Option<ListCounts>,
}

/// What reading one list came to.
#[derive(Debug, Clone, Copy, Default)]
struct ListCounts {
    read: u64,
    problems: u64,
    skipped: u64,
}

/// Batches in flight between the reading thread and the store: one being written, one ready.
const BATCHES_IN_FLIGHT: usize = 2;

fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    if args.batch == 0 {
        anyhow::bail!("--batch is a number of contents, at least 1");
    }
    let url = args.store.database_url()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let store = runtime
        .block_on(Store::open(&url))
        .context("opening the store")?;
    let actor = actor();
    runtime.block_on(ensure_bank(&store, &args.name, args.create, &actor))?;

    let bar = progress_spinner();
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Batch>(BATCHES_IN_FLIGHT);
    let options = args.list.options();
    let (lists, batch_size) = (args.lists, args.batch);
    // Parsing is CPU work; it runs beside the store's writes instead of between them.
    let reader = std::thread::spawn(move || -> anyhow::Result<ListCounts> {
        let mut totals = ListCounts::default();
        for path in &lists {
            let list = path.display().to_string();
            let mut contents = Vec::with_capacity(batch_size);
            let mut skipped = 0;
            let summary = read_one_list(path, &options, |entry| match content_of(entry) {
                Some(content) => {
                    contents.push(content);
                    if contents.len() == batch_size {
                        let full = std::mem::replace(&mut contents, Vec::with_capacity(batch_size));
                        // A closed channel means the store failed; its error is reported by
                        // the writer, and the rest of the list is read without being kept.
                        let _ = sender.blocking_send(Batch {
                            list: list.clone(),
                            contents: full,
                            finished: None,
                        });
                    }
                }
                None => skipped += 1,
            });
            let summary: ImportSummary = summary?;
            summary.write_problems(io::stderr().lock())?;
            let counts = ListCounts {
                read: summary.entries,
                problems: summary.problem_count,
                skipped,
            };
            totals.read += counts.read;
            totals.problems += counts.problems;
            totals.skipped += counts.skipped;
            if sender
                .blocking_send(Batch {
                    list,
                    contents,
                    finished: Some(counts),
                })
                .is_err()
            {
                break;
            }
        }
        Ok(totals)
    });

    let written = runtime.block_on(async {
        let mut written = 0u64;
        while let Some(batch) = receiver.recv().await {
            let audit = import_audit(&actor, &args.name, &batch);
            written += store
                .import_contents(&args.name, &batch.contents, &audit)
                .await
                .with_context(|| {
                    format!(
                        "writing to bank {} ({written} contents written before)",
                        args.name
                    )
                })?;
            bar.set_position(written);
        }
        anyhow::Ok(written)
    });
    // The receiver is gone once the writer stops, so a reader blocked on a full channel wakes.
    drop(receiver);
    bar.finish_and_clear();
    let totals = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the list reader panicked"))?;
    let written = written?;
    let totals = totals.with_context(|| format!("{written} contents were written before"))?;
    eprintln!(
        "vigie: {written} contents added to bank {} from {} entries read; {} skipped (withdrawn or without a PDQ, MD5, SHA-1 or SHA-256 hash), {} lines not read",
        args.name, totals.read, totals.skipped, totals.problems
    );
    Ok(ExitCode::SUCCESS)
}

/// Who the audit log says imported: the operator's account on this machine.
pub(crate) fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

/// Checks the bank exists, creating it when asked to.
async fn ensure_bank(store: &Store, name: &str, create: bool, actor: &str) -> anyhow::Result<()> {
    match store.bank(name).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound(_)) if create => {
            store
                .create_bank(&NewBank::named(name), |bank| NewAuditEntry {
                    at: vigie_server::now(),
                    actor: actor.to_owned(),
                    action: "bank.create".into(),
                    target: bank.name.clone(),
                    detail: json!({"pdq_threshold": bank.pdq_threshold}),
                })
                .await
                .with_context(|| format!("creating bank {name}"))?;
            Ok(())
        }
        Err(StoreError::NotFound(_)) => {
            anyhow::bail!("the store has no bank {name} (--create makes it)")
        }
        Err(other) => Err(other).context("reading the store"),
    }
}

/// The audit row of one batch.
fn import_audit(actor: &str, bank: &str, batch: &Batch) -> NewAuditEntry {
    let mut detail = json!({"list": batch.list, "contents": batch.contents.len()});
    if let (Some(counts), Value::Object(fields)) = (batch.finished, &mut detail) {
        fields.insert("read".into(), json!(counts.read));
        fields.insert("problems".into(), json!(counts.problems));
        fields.insert("skipped".into(), json!(counts.skipped));
    }
    NewAuditEntry {
        at: vigie_server::now(),
        actor: actor.to_owned(),
        action: "bank.import".into(),
        target: bank.to_owned(),
        detail,
    }
}

/// The content the store keeps of an entry, if it keeps anything.
fn content_of(entry: Entry) -> Option<NewContent> {
    if entry.deleted {
        return None;
    }
    let signals: Vec<(String, String)> = entry
        .signals
        .into_iter()
        .filter(|signal| signal.signal_type != SignalType::PhotoDna)
        .map(|signal| (signal.signal_type.name().to_owned(), signal.value))
        .collect();
    (!signals.is_empty()).then_some(NewContent {
        label: entry.id,
        category: entry.category,
        note: None,
        signals,
    })
}

/// A spinner counting contents written, on standard error when it is a terminal.
fn progress_spinner() -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {pos} contents written  {per_sec}  elapsed {elapsed}",
        )
        .expect("the template is valid"),
    );
    bar
}

/// Contents read from the store at a time.
const EXPORT_PAGE: i64 = 10_000;

fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let url = args.store.database_url()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    // Every format but text needs the whole list at hand (a document, or NCMEC's images and
    // videos in separate sections), so the entries are gathered before writing.
    let (info, entries) = runtime.block_on(async {
        let store = Store::open(&url).await.context("opening the store")?;
        let bank = store.bank(&args.name).await.context("reading the bank")?;
        let info = BankInfo {
            name: bank.name.clone(),
            source: bank.source.clone(),
            default_category: bank.default_category.clone(),
            pdq_threshold: bank.pdq_threshold.clamp(0, 256) as u32,
            enabled: bank.matching_enabled_ratio > 0.0,
        };
        let mut entries = Vec::new();
        let mut after_id = 0;
        loop {
            let page = store
                .bank_contents(&args.name, after_id, EXPORT_PAGE)
                .await
                .context("reading the bank's contents")?;
            let Some(last) = page.last() else { break };
            after_id = last.id;
            entries.extend(page.into_iter().map(|content| {
                Entry {
                    id: content.label,
                    signals: content
                        .signals
                        .into_iter()
                        .filter_map(|(signal_type, value)| {
                            SignalType::from_alias(&signal_type)
                                .map(|signal_type| Signal { signal_type, value })
                        })
                        .collect(),
                    category: content.category,
                    // A disabled content is one the bank no longer matches: formats that can say
                    // so write it as withdrawn, the others leave it out.
                    deleted: !content.enabled,
                    ..Entry::default()
                }
            }));
        }
        anyhow::Ok((info, entries))
    })?;
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
        ),
        None => Box::new(io::stdout().lock()),
    };
    match write_list(
        io::BufWriter::new(out),
        ListFormat::from(args.format),
        &info,
        &entries,
    ) {
        Err(BankError::Io(error)) if error.kind() == io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    if let Some(path) = &args.output {
        eprintln!(
            "vigie: {} contents of bank {} written to {}",
            entries.len(),
            info.name,
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
