//! `vigie serve`: the matching service on the embedded store (SQLite in a data directory) or on
//! PostgreSQL (`--database-url postgres://...`, the way to run several replicas).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use crate::worker_command::{default_worker_name, takedown_settings, HotlineArgs, TakedownArgs};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDRESS:PORT")]
    listen: SocketAddr,

    #[command(flatten)]
    store: StoreArgs,

    /// Where this replica keeps the snapshot of its index, so that a start maps it and reads
    /// only the newer changes of the log (default with the embedded store:
    /// `<data-dir>/index.vidx`; on PostgreSQL, none unless given: one file per replica).
    #[arg(long, value_name = "PATH")]
    snapshot: Option<PathBuf>,

    /// The vault's key ring: the keys reported files are sealed with (the last one current)
    /// and opened with, one `id:base64key` a line. Also `$VIGIE_VAULT_KEYS_FILE`. Default with
    /// the embedded store: `<data-dir>/vault.keys`, made with one new key on the first start;
    /// on PostgreSQL, none unless given (files are then refused): every replica needs the same
    /// ring.
    #[arg(long, value_name = "FILE")]
    vault_keys: Option<PathBuf>,

    /// The largest upload accepted, in bytes.
    #[arg(long, default_value_t = 32 << 20, value_name = "BYTES")]
    max_upload_bytes: usize,

    /// How long an analyst's reveal of an original lasts, in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    reveal_seconds: u64,

    /// How many distinct items one analyst may reveal in a (UTC) day; 0 for no limit.
    #[arg(long, default_value_t = 50, value_name = "ITEMS")]
    daily_reveal_limit: u32,

    /// Suggest a break to an analyst after every this many reveals in a day; 0 never.
    #[arg(long, default_value_t = 10, value_name = "REVEALS")]
    break_every: u32,

    #[command(flatten)]
    hotline: HotlineArgs,

    #[command(flatten)]
    takedown: TakedownArgs,

    /// Runs no takedown worker in this process: reported URLs wait for a `vigie worker`.
    #[arg(long)]
    no_takedown: bool,

    /// How log lines are written to standard error: `text` for people, `json` (one object a
    /// line) for a log collector. `RUST_LOG` chooses the levels (default `info`).
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Sends the server's `tracing` events to standard error.
pub fn start_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}

/// Completes on Ctrl-C or, on Unix, SIGTERM (what service managers send to stop a process).
pub async fn stop_requested() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    () = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => interrupt.await,
        }
    }
    #[cfg(not(unix))]
    interrupt.await;
}

/// Which store to open: the embedded one in a data directory, or PostgreSQL.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The embedded store's directory, created on first run.
    #[arg(long, default_value = "vigie-data", value_name = "DIR")]
    data_dir: PathBuf,

    /// A PostgreSQL URL (`postgres://user@host/db`) instead of the embedded store.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

impl StoreArgs {
    /// The store's URL, creating the data directory of the embedded store if needed.
    pub fn database_url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating {}", self.data_dir.display()))?;
        Ok(format!(
            "sqlite:{}",
            self.data_dir.join("vigie.sqlite3").display()
        ))
    }
}

/// The id of the key a first start makes.
const FIRST_KEY_ID: &str = "k1";

/// Reads the vault's key ring from `given` (`--vault-keys`) or `$VIGIE_VAULT_KEYS_FILE`; on the
/// embedded store without either, from `<data-dir>/vault.keys`, which the first start of
/// `vigie serve` writes (readable by its owner only) with one new key (`create_first`).
pub fn vault_keys(
    given: Option<&PathBuf>,
    store: &StoreArgs,
    create_first: bool,
) -> anyhow::Result<Option<vigie_vault::KeyRing>> {
    let given = given
        .cloned()
        .or_else(|| std::env::var_os("VIGIE_VAULT_KEYS_FILE").map(PathBuf::from));
    let path = match given {
        Some(path) => path,
        None if store.database_url.is_none() => {
            let path = store.data_dir.join("vault.keys");
            if !path.exists() {
                if !create_first {
                    return Ok(None);
                }
                write_new_ring(&path)?;
                tracing::info!(path = %path.display(), "first start: wrote a new vault key; back it up, files sealed with it are lost without it");
                eprintln!(
                    "vigie: wrote a new vault key to {} (back it up: reported files are sealed with it)",
                    path.display()
                );
            }
            path
        }
        None => return Ok(None),
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the vault keys {}", path.display()))?;
    let ring = vigie_vault::KeyRing::parse(&text)
        .with_context(|| format!("the vault keys {}", path.display()))?;
    Ok(Some(ring))
}

/// Writes a ring of one new key to a file that must not exist yet, mode 0600.
fn write_new_ring(path: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write as _;
    let ring = vigie_vault::KeyRing::generate(FIRST_KEY_ID).context("making a vault key")?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(ring.to_text().as_bytes())?;
    file.sync_all()?;
    Ok(())
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    start_logging(args.log_format);
    let database_url = args.store.database_url()?;
    let mut config = vigie_server::Config::new(args.listen, database_url);
    config.max_upload_bytes = args.max_upload_bytes;
    config.hotline = vigie_server::triage::HotlineSettings {
        reveal_seconds: args.reveal_seconds,
        daily_reveal_limit: args.daily_reveal_limit,
        break_every: args.break_every,
        name: args.hotline.hotline_name.clone(),
        country: args.hotline.hotline_country.clone(),
        contact_email: args.hotline.hotline_email.clone(),
    };
    config.fetch_policy.allow_loopback = args.takedown.test_allow_loopback;
    config.snapshot_path = args.snapshot.clone().or_else(|| {
        let embedded = args.store.database_url.is_none();
        embedded.then(|| args.store.data_dir.join("index.vidx"))
    });
    config.vault = vault_keys(args.vault_keys.as_ref(), &args.store, true)?;
    if config.vault.is_none() {
        tracing::warn!("no vault keys (--vault-keys): reports with files will be refused");
    }
    if !args.no_takedown {
        config.takedown = Some(takedown_settings(
            default_worker_name(),
            &args.hotline,
            &args.takedown,
            config.vault.as_ref(),
        )?);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let started = vigie_server::start(config, stop_requested()).await?;
        let base = format!("http://{}", started.address);
        tracing::info!(address = %started.address, "serving");
        eprintln!("vigie: serving on {base}");
        if let Some(token) = &started.setup_token {
            eprintln!(
                "vigie: first run: open {base}/setup?token={token} to create the first administrator (the link works once)"
            );
        }
        started.serving.await.context("the server task")??;
        tracing::info!("stopped: in-flight requests finished");
        eprintln!("vigie: stopped");
        anyhow::Ok(ExitCode::SUCCESS)
    })
}
