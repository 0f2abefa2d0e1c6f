//! `vigie hosting import`: the hosting reference data into the store, for every worker;
//! `vigie report transparency`: the figures a hotline publishes, for a period.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use vigie_store::{NewAuditEntry, Store, DAY_MS};
use vigie_takedown::ReferenceKind;

use crate::bank_command::actor;
use crate::serve_command::StoreArgs;

#[derive(Debug, Subcommand)]
pub enum HostingCommand {
    /// Import one file of reference data, replacing the previous one of its kind. KIND is
    /// `ip-asn` (iptoasn.com TSV), `ip-country` (range-to-country CSV), `geoip` (a MaxMind
    /// .mmdb: GeoLite2 ASN, Country or City), `abuse-contacts` or `partner-hotlines` (CSV).
    Import(ImportArgs),
    /// List the reference data in the store.
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[arg(value_parser = parse_kind)]
    kind: ReferenceKind,
    file: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    store: StoreArgs,
}

fn parse_kind(code: &str) -> Result<ReferenceKind, String> {
    ReferenceKind::from_code(code).ok_or_else(|| {
        let codes: Vec<&str> = ReferenceKind::ALL.iter().map(|kind| kind.code()).collect();
        format!("unknown kind '{code}': one of {}", codes.join(", "))
    })
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The transparency report of a period: reports, what became of them, notices sent and
    /// time to removal, by country and network; HTML or CSV. No URL and nothing about a
    /// reporter is in it.
    Transparency(TransparencyArgs),
}

#[derive(Debug, Args)]
pub struct TransparencyArgs {
    /// The first day of the period (UTC, `YYYY-MM-DD`).
    #[arg(long, value_parser = parse_day)]
    from: i64,
    /// The last day of the period, included.
    #[arg(long, value_parser = parse_day)]
    to: i64,
    #[arg(long, value_enum, default_value = "html")]
    format: ReportFormat,
    /// Where to write it (standard output when not given).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The hotline's name and country, as the report says them.
    #[arg(long, default_value = "Vigie hotline", value_name = "NAME")]
    hotline_name: String,
    #[arg(long, default_value = "FR", value_name = "CODE")]
    hotline_country: String,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ReportFormat {
    Html,
    Csv,
}

/// `2026-11-30` as the Unix milliseconds of its start (UTC).
fn parse_day(text: &str) -> Result<i64, String> {
    let invalid = || format!("'{text}' is not a date YYYY-MM-DD");
    let fields: Vec<&str> = text.split('-').collect();
    let [year, month, day] = fields.as_slice() else {
        return Err(invalid());
    };
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return Err(invalid());
    }
    let year: i32 = year.parse().map_err(|_| invalid())?;
    let month: u8 = month.parse().map_err(|_| invalid())?;
    let day: u8 = day.parse().map_err(|_| invalid())?;
    let month = time::Month::try_from(month).map_err(|_| invalid())?;
    let date = time::Date::from_calendar_date(year, month, day).map_err(|_| invalid())?;
    Ok(date.midnight().assume_utc().unix_timestamp() * 1000)
}

fn open_store(args: &StoreArgs) -> anyhow::Result<(tokio::runtime::Runtime, Store)> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let url = args.database_url()?;
    let store = runtime
        .block_on(Store::open(&url))
        .with_context(|| format!("opening the store {url}"))?;
    Ok((runtime, store))
}

pub fn run_hosting(command: HostingCommand) -> anyhow::Result<ExitCode> {
    match command {
        HostingCommand::Import(args) => {
            let bytes = std::fs::read(&args.file)
                .with_context(|| format!("reading {}", args.file.display()))?;
            let checked = vigie_takedown::check_reference(args.kind, &bytes)
                .with_context(|| args.file.display().to_string())?;
            for problem in checked.problems.iter().take(20) {
                eprintln!("{}: {problem} (left out)", args.file.display());
            }
            if checked.problems.len() > 20 {
                eprintln!(
                    "... and {} more lines left out",
                    checked.problems.len() - 20
                );
            }
            let (runtime, store) = open_store(&args.store)?;
            let now = vigie_server::now();
            let audit = NewAuditEntry {
                at: now,
                actor: actor(),
                action: "hosting.import".into(),
                target: format!("reference:{}", checked.name),
                detail: serde_json::json!({
                    "file": args.file.display().to_string(),
                    "bytes": bytes.len(),
                    "summary": checked.summary,
                    "lines_left_out": checked.problems.len(),
                }),
            };
            runtime.block_on(store.put_reference_data(&checked.name, &bytes, now, &audit))?;
            println!(
                "imported {} as {}: {} ({} lines left out)",
                args.file.display(),
                checked.name,
                checked.summary,
                checked.problems.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        HostingCommand::List(args) => {
            let (runtime, store) = open_store(&args.store)?;
            for (name, imported_at) in runtime.block_on(store.reference_data_version())? {
                println!("{name}\timported {}", vigie_figures::utc_date(imported_at));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn run_report(command: ReportCommand) -> anyhow::Result<ExitCode> {
    let ReportCommand::Transparency(args) = command;
    if args.to < args.from {
        anyhow::bail!("--to is before --from");
    }
    let (from, to) = (args.from, args.to + DAY_MS);
    let (runtime, store) = open_store(&args.store)?;
    let input = runtime.block_on(vigie_takedown::transparency_input(
        &store,
        from,
        to,
        &args.hotline_name,
        &args.hotline_country,
        vigie_server::now(),
    ))?;
    let mut out: Box<dyn std::io::Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    match args.format {
        ReportFormat::Html => vigie_figures::write_html(&input, &mut out)?,
        ReportFormat::Csv => vigie_figures::write_csv(&input, &mut out)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_read_as_utc_midnights() {
        assert_eq!(parse_day("1970-01-01"), Ok(0));
        assert_eq!(parse_day("2026-12-01"), Ok(1_796_083_200_000));
        assert_eq!(parse_day("2024-02-29").map(|ms| ms / DAY_MS), Ok(19_782));
        assert!(parse_day("2026-02-29").is_err());
        assert!(parse_day("2026-13-01").is_err());
        assert!(parse_day("yesterday").is_err());
    }
}
