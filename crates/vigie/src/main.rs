//! `vigie`: the one binary. It parses arguments and wires the library crates together; the work
//! itself lives in the crates (see ARCHITECTURE.md).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod audit_command;
mod bank_command;
mod bank_file;
mod files;
mod hash_command;
mod index_command;
mod list_args;
mod match_command;
mod matcher;
mod scan_command;
mod scan_report;
mod serve_command;
mod takedown_commands;
mod worker_command;

#[derive(Debug, Parser)]
#[command(
    name = "vigie",
    version,
    about = "Receive reports, recognise known material by its hashes, get it taken down."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Hash image files: PDQ as HMA computes it, and MD5, SHA-1, SHA-256 of the bytes.
    Hash(hash_command::HashArgs),
    /// Build bank files from hash lists.
    #[command(subcommand)]
    Index(index_command::IndexCommand),
    /// Match hashes against banks: a hash list or `vigie hash` output in, matches out.
    Match(match_command::MatchArgs),
    /// Scan a tree (a seized disk): hash every file, match it against banks, and report known
    /// and unknown files, unknown first.
    Scan(scan_command::ScanArgs),
    /// Serve the HMA-compatible matching API (SQLite in a data directory, or PostgreSQL).
    Serve(serve_command::ServeArgs),
    /// Run a takedown worker: fetch reported pages, send notices, re-check until removed.
    Worker(worker_command::WorkerArgs),
    /// Import the hosting reference data (IP-to-ASN and country tables, GeoLite2 databases,
    /// abuse contacts, partner hotlines) into the store.
    #[command(subcommand)]
    Hosting(takedown_commands::HostingCommand),
    /// Write the hotline's reports (the transparency report).
    #[command(subcommand)]
    Report(takedown_commands::ReportCommand),
    /// Import hash lists into a bank of the store, or export one.
    #[command(subcommand)]
    Bank(bank_command::BankCommand),
    /// Check the store's tamper-evident audit log.
    #[command(subcommand)]
    Audit(audit_command::AuditCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Hash(args) => hash_command::run(args),
        Command::Index(command) => index_command::run(command),
        Command::Match(args) => match_command::run(args),
        Command::Scan(args) => scan_command::run(args),
        Command::Serve(args) => serve_command::run(args),
        Command::Worker(args) => worker_command::run(args),
        Command::Hosting(command) => takedown_commands::run_hosting(command),
        Command::Report(command) => takedown_commands::run_report(command),
        Command::Bank(command) => bank_command::run(command),
        Command::Audit(command) => audit_command::run(command),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("vigie: {error:#}");
            ExitCode::from(2)
        }
    }
}
