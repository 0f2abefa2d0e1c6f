//! `vigie audit verify`: walks the store's hash-chained audit log and says whether it is intact,
//! or which row was edited, deleted or moved.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use vigie_store::{AuditVerdict, Store};

use crate::serve_command::StoreArgs;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain (exit 0 intact, 1 broken).
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    store: StoreArgs,
}

pub fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify(args) = command;
    let url = args.store.database_url()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let store = Store::open(&url).await.context("opening the store")?;
        Ok(
            match store
                .verify_audit()
                .await
                .context("reading the audit log")?
            {
                AuditVerdict::Intact { rows } => {
                    println!("audit log intact: {rows} rows, every hash and link checks out");
                    ExitCode::SUCCESS
                }
                AuditVerdict::Broken { seq, reason } => {
                    println!("audit log BROKEN at row {seq}: {reason}");
                    ExitCode::from(1)
                }
            },
        )
    })
}
