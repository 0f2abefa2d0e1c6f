//! `vigie worker`: a takedown worker on the store, without serving HTTP. Any number of them
//! share one PostgreSQL store's queue; `vigie serve` runs one in its own process too.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use crate::serve_command::{start_logging, stop_requested, vault_keys, LogFormat, StoreArgs};

#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    store: StoreArgs,

    #[command(flatten)]
    hotline: HotlineArgs,

    #[command(flatten)]
    takedown: TakedownArgs,

    /// The vault's key ring, to keep the media pages serve sealed (`--keep-page-media`):
    /// the ring `vigie serve` uses. Also `$VIGIE_VAULT_KEYS_FILE`; on the embedded store,
    /// `<data-dir>/vault.keys` when it exists.
    #[arg(long, value_name = "FILE")]
    vault_keys: Option<PathBuf>,

    /// This worker's name in the queue and the audit log (default: `HOST-PID`).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,

    /// How log lines are written to standard error.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

/// Who the hotline is, as its notices and exports say.
#[derive(Debug, Args)]
pub struct HotlineArgs {
    /// The hotline's name, as its notices and exports give it to recipients.
    #[arg(long, default_value = "Vigie hotline", value_name = "NAME")]
    pub hotline_name: String,

    /// The hotline's country (ISO 3166-1 alpha-2): content hosted there gets its notice
    /// from this hotline; elsewhere it goes to the partner hotline of the country.
    #[arg(long, default_value = "FR", value_name = "CODE")]
    pub hotline_country: String,

    /// The address recipients of the hotline's notices and exports write to; notices are
    /// sent from it.
    #[arg(long, default_value = "hotline@example.invalid", value_name = "EMAIL")]
    pub hotline_email: String,
}

/// How notices are sent and re-checks made.
#[derive(Debug, Args)]
pub struct TakedownArgs {
    /// The mail server notices are sent through (without it, e-mail notices wait and are
    /// retried).
    #[arg(long, value_name = "HOST")]
    smtp_host: Option<String>,

    #[arg(long, default_value_t = 587, value_name = "PORT")]
    smtp_port: u16,

    /// `starttls` (port 587), `tls` (465), or `none` for a relay on this machine only.
    #[arg(long, value_enum, default_value = "starttls")]
    smtp_security: SmtpSecurity,

    /// The SMTP user name; its password is read from `--smtp-password-file`.
    #[arg(long, value_name = "USER", requires = "smtp_password_file")]
    smtp_user: Option<String>,

    #[arg(long, value_name = "FILE")]
    smtp_password_file: Option<PathBuf>,

    /// Where notices to law enforcement go (the decision to forward, and escalations).
    #[arg(long, value_name = "EMAIL")]
    law_enforcement_email: Option<String>,

    /// A webhook of law enforcement's that takes signed notices.
    #[arg(long, value_name = "URL")]
    law_enforcement_webhook: Option<String>,

    /// The secret webhook notices are signed with (HMAC-SHA256, header `Vigie-Signature`),
    /// read from this file.
    #[arg(long, value_name = "FILE")]
    webhook_secret_file: Option<PathBuf>,

    /// Hours from one check of an open takedown to the next.
    #[arg(long, default_value_t = 24, value_name = "HOURS")]
    recheck_hours: u32,

    /// Escalate a takedown still online after this many re-checks.
    #[arg(long, default_value_t = 3, value_name = "CHECKS")]
    escalate_after: u32,

    /// Keep the media reported pages serve, sealed with the vault's current key, so analysts
    /// see them (blurred first) on the item's page; without it only their hashes are kept.
    #[arg(long)]
    keep_page_media: bool,

    /// For tests only: lets the fetcher reach loopback addresses (a test's site on
    /// 127.0.0.1). Never in production.
    #[arg(long, hide = true)]
    pub test_allow_loopback: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SmtpSecurity {
    Starttls,
    Tls,
    None,
}

/// The worker's settings from the command line.
pub fn takedown_settings(
    name: String,
    hotline: &HotlineArgs,
    args: &TakedownArgs,
    vault: Option<&vigie_vault::KeyRing>,
) -> anyhow::Result<vigie_takedown::Settings> {
    let country = vigie_hosting::Country::parse(&hotline.hotline_country).with_context(|| {
        format!(
            "--hotline-country {:?} is not an ISO 3166-1 alpha-2 code",
            hotline.hotline_country
        )
    })?;
    let sender = vigie_notice::Sender {
        name: hotline.hotline_name.clone(),
        email: hotline.hotline_email.clone(),
        country: country.code().to_owned(),
    };
    let mut settings = vigie_takedown::Settings::new(name, country, sender);
    settings.law_enforcement_email = args.law_enforcement_email.clone();
    settings.law_enforcement_webhook = args.law_enforcement_webhook.clone();
    settings.recheck_interval_ms = i64::from(args.recheck_hours.max(1)) * 60 * 60 * 1000;
    settings.escalate_after = i64::from(args.escalate_after);
    if args.keep_page_media {
        let keys = vault.context("--keep-page-media needs the vault's keys (--vault-keys)")?;
        settings.keep_media = Some(keys.clone());
    }
    if let Some(path) = &args.webhook_secret_file {
        let secret = std::fs::read(path)
            .with_context(|| format!("reading the webhook secret {}", path.display()))?;
        settings.webhook_secret = Some(secret.trim_ascii().to_vec());
    }
    if let Some(host) = &args.smtp_host {
        let credentials = match (&args.smtp_user, &args.smtp_password_file) {
            (Some(user), Some(path)) => {
                let password = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the SMTP password {}", path.display()))?;
                Some((user.clone(), password.trim().to_owned()))
            }
            _ => None,
        };
        let smtp = vigie_notice::SmtpSettings {
            host: host.clone(),
            port: args.smtp_port,
            security: match args.smtp_security {
                SmtpSecurity::Starttls => vigie_notice::Security::StartTls,
                SmtpSecurity::Tls => vigie_notice::Security::Tls,
                SmtpSecurity::None => vigie_notice::Security::None,
            },
            credentials,
            from: format!("{} <{}>", hotline.hotline_name, hotline.hotline_email),
            timeout: Duration::from_secs(30),
        };
        settings.mailer = Some(vigie_notice::Mailer::new(&smtp).context("--smtp-host")?);
    }
    Ok(settings)
}

/// A name that tells workers apart in leases and logs.
pub fn default_worker_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "vigie".to_owned());
    format!("{host}-{}", std::process::id())
}

pub fn run(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    start_logging(args.log_format);
    let database_url = args.store.database_url()?;
    let name = args.name.clone().unwrap_or_else(default_worker_name);
    let vault = vault_keys(args.vault_keys.as_ref(), &args.store, false)?;
    let settings = takedown_settings(name.clone(), &args.hotline, &args.takedown, vault.as_ref())?;
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let mut config = vigie_server::Config::new(listen, database_url);
    config.fetch_policy.allow_loopback = args.takedown.test_allow_loopback;
    config.vault = vault;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        eprintln!("vigie: takedown worker {name} started");
        let clock = std::sync::Arc::new(vigie_takedown::SystemClock);
        vigie_server::StandaloneWorker::open(&config, settings, clock)
            .await?
            .run(stop_requested())
            .await;
        eprintln!("vigie: takedown worker {name} stopped");
        anyhow::Ok(ExitCode::SUCCESS)
    })
}
