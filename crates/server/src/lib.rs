//! `vigie serve`: an HMA-compatible matching service, safe to expose.
//!
//! Platforms call HMA's REST API from their upload pipelines; this server answers the same
//! paths with the same JSON ([`hma`]), but nothing is open without credentials ([`auth`],
//! [`setup`]), every change and every lookup goes to a hash-chained audit log, and the index is
//! never rebuilt: each replica follows the store's change log ([`matcher`]), so a hash added on
//! any replica matches on every replica within a second.
//!
//! Architecture invariant: this is the only crate that knows HTTP. Handlers extract, call the
//! store or the matcher, audit and answer; the work lives in `vigie-store` (SQL), `vigie-index`
//! (search) and `vigie-hash` (hashing).

pub mod audit_writer;
pub mod auth;
pub mod cases;
mod countries;
pub mod error;
pub mod figures;
pub mod group_writer;
pub mod hma;
pub mod intake;
pub mod matcher;
pub mod metrics;
pub mod routes;
pub mod setup;
pub mod snapshot;
pub mod takedown;
pub mod triage;
pub mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use vigie_hash::HashOptions;
use vigie_store::{NewAuditEntry, Store, StoreError};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::matcher::{Loaded, Matcher};
use crate::snapshot::SnapshotFile;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The store: a SQLite path or `sqlite:PATH`, or a `postgres://` URL.
    pub database_url: String,
    /// The largest request body accepted (uploads).
    pub max_upload_bytes: usize,
    /// How uploaded images are hashed (the pixel limit among them).
    pub hash_options: HashOptions,
    /// The bounds of fetching a `url=` parameter. Its `allow_loopback` is for tests only.
    pub fetch_policy: vigie_fetch::Policy,
    /// The longest a request may take, reading its body included; past it the client gets
    /// `timeout` (a slow or stalled upload cannot hold a connection and its memory forever).
    pub request_timeout: std::time::Duration,
    /// Where this replica keeps the snapshot of its index that start-up begins from (each
    /// replica its own file); `None` loads the whole change log at every start.
    pub snapshot_path: Option<PathBuf>,
    /// How analysts work (reveal time, daily limit, breaks) and who the hotline is.
    pub hotline: triage::HotlineSettings,
    /// How many reports one client may send through the public form in a window.
    pub public_report_limit: intake::RateLimit,
    /// How many requests one partner's API key may send to `/api/v1/reports` and its `/bulk`
    /// in a window (a bulk request counts once).
    pub partner_report_limit: intake::RateLimit,
    /// The keys reported files are sealed with before they are stored (the current one) and
    /// opened with (any of them). `None`: the partner API refuses attachments.
    pub vault: Option<vigie_vault::KeyRing>,
    /// The largest attachment accepted, decoded, in bytes.
    pub max_attachment_bytes: usize,
    /// How the takedown worker in the server's process works; `None` runs none (the jobs
    /// wait for a `vigie worker`).
    pub takedown: Option<vigie_takedown::Settings>,
}

impl Config {
    /// Defaults for everything but where to listen and the store.
    pub fn new(listen: SocketAddr, database_url: impl Into<String>) -> Self {
        Self {
            listen,
            database_url: database_url.into(),
            max_upload_bytes: 32 << 20,
            hash_options: HashOptions::default(),
            fetch_policy: vigie_fetch::Policy::default(),
            request_timeout: std::time::Duration::from_secs(60),
            snapshot_path: None,
            hotline: triage::HotlineSettings::default(),
            public_report_limit: intake::RateLimit::default(),
            // Ten requests a second on average, each possibly a bulk of many reports: room for
            // a platform's pipeline, not for a loop gone wrong.
            partner_report_limit: intake::RateLimit {
                reports: 600,
                window: std::time::Duration::from_secs(60),
            },
            vault: None,
            max_attachment_bytes: 16 << 20,
            takedown: None,
        }
    }
}

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub matcher: Arc<Matcher>,
    /// The one client through which `url=` parameters are fetched.
    pub fetcher: vigie_fetch::Fetcher,
    pub login_limiter: setup::LoginLimiter,
    pub metrics: metrics::Metrics,
    /// Appends the audit entries of reads, many requests' in one transaction.
    pub audit_writer: audit_writer::AuditWriter,
    /// API keys recently seen, so that a lookup does not query the store for its key.
    pub keys: auth::KeyCache,
    /// Stores reports, many requests' in one transaction, and limits the public form.
    pub intake: intake::Intake,
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store could not be opened or read.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The fetch policy is not usable.
    #[error("fetch policy: {0}")]
    Fetch(#[from] vigie_fetch::FetchError),
    /// The address could not be bound, or serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A started server: its address, the setup link to print on a first run, and how its index
/// was loaded.
#[derive(Debug)]
pub struct Started {
    pub address: SocketAddr,
    pub setup_token: Option<String>,
    pub loaded: Loaded,
    /// Finishes once in-flight requests have been answered and the snapshot of the index
    /// written at start-up, if any, is on disk.
    pub serving: tokio::task::JoinHandle<Result<(), std::io::Error>>,
}

/// The state every handler shares, opened: the store, the index loaded and followed.
struct Opened {
    state: Arc<AppState>,
    loaded: Loaded,
    /// Follows the store's change log into the index until aborted.
    follower: tokio::task::JoinHandle<()>,
    /// Writes the snapshot of the index start-up made, if it made one.
    writing_snapshot: Option<tokio::task::JoinHandle<()>>,
}

async fn open(config: &Config) -> Result<Opened, ServerError> {
    let fetcher = vigie_fetch::Fetcher::new(config.fetch_policy.clone())?;
    let store = Store::open(&config.database_url).await?;
    let snapshot = match &config.snapshot_path {
        Some(path) => Some(SnapshotFile::new(path.clone(), store.store_id().await?)),
        None => None,
    };
    let matcher = Arc::new(Matcher::new(snapshot));
    let (loaded, writing_snapshot) = matcher.load(&store).await?;
    let follower = matcher.follow(store.clone());
    let state = Arc::new(AppState {
        config: config.clone(),
        store: store.clone(),
        matcher,
        fetcher,
        login_limiter: setup::LoginLimiter::default(),
        metrics: metrics::Metrics::default(),
        audit_writer: audit_writer::AuditWriter::start(store.clone()),
        keys: auth::KeyCache::default(),
        intake: intake::Intake::start(
            store.clone(),
            config.public_report_limit,
            config.partner_report_limit,
        ),
    });
    Ok(Opened {
        state,
        loaded,
        follower,
        writing_snapshot,
    })
}

/// A takedown worker over the server's store, fetcher and banks.
fn takedown_worker(
    state: &Arc<AppState>,
    settings: vigie_takedown::Settings,
    clock: Arc<dyn vigie_takedown::Clock>,
) -> Arc<vigie_takedown::Worker<takedown::BankRecogniser>> {
    vigie_takedown::Worker::new(
        state.store.clone(),
        state.fetcher.clone(),
        Arc::new(takedown::BankRecogniser::new(Arc::clone(state))),
        clock,
        settings,
    )
}

/// Opens the store, loads the index, binds and serves in the background until `shutdown`
/// completes; in-flight requests finish first. With `config.takedown`, a takedown worker
/// runs in the same process until then too.
pub async fn start(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Started, ServerError> {
    let Opened {
        state,
        loaded,
        follower,
        writing_snapshot,
    } = open(&config).await?;
    let setup_token = setup::first_run_token(&state).await?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let address = listener.local_addr()?;
    // One stop for the server and its worker: the signal is turned into a channel both watch.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let worker = config.takedown.clone().map(|settings| {
        let worker = takedown_worker(&state, settings, Arc::new(vigie_takedown::SystemClock));
        tokio::spawn(worker.run(until_stopped(stopped.clone())))
    });
    let app = routes::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let serving = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(until_stopped(stopped))
            .await;
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        follower.abort();
        if let Some(writing) = writing_snapshot {
            // A stop right after a start waits for the start-up snapshot rather than throw
            // away the work of writing it (a write cut short leaves the previous file).
            let _ = writing.await;
        }
        served
    });
    Ok(Started {
        address,
        setup_token,
        loaded,
        serving,
    })
}

/// A takedown worker of its own process (`vigie worker`), or of a test's: the store and the
/// banks' index opened as `start` opens them, without serving HTTP.
#[derive(Debug)]
pub struct StandaloneWorker {
    pub worker: Arc<vigie_takedown::Worker<takedown::BankRecogniser>>,
    follower: tokio::task::JoinHandle<()>,
    writing_snapshot: Option<tokio::task::JoinHandle<()>>,
}

impl StandaloneWorker {
    /// Opens the store and the index for a worker reading the time from `clock`.
    pub async fn open(
        config: &Config,
        settings: vigie_takedown::Settings,
        clock: Arc<dyn vigie_takedown::Clock>,
    ) -> Result<StandaloneWorker, ServerError> {
        let Opened {
            state,
            follower,
            writing_snapshot,
            ..
        } = open(config).await?;
        Ok(StandaloneWorker {
            worker: takedown_worker(&state, settings, clock),
            follower,
            writing_snapshot,
        })
    }

    /// Works until `shutdown` completes, then stops following the store.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        Arc::clone(&self.worker).run(shutdown).await;
        self.follower.abort();
        if let Some(writing) = self.writing_snapshot {
            let _ = writing.await;
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The audit entry of an action by `principal`, stamped now. Writes hand it to the store, which
/// appends it in the write's own transaction.
pub fn audit_entry(
    principal: &Principal,
    action: &str,
    target: &str,
    detail: Value,
) -> NewAuditEntry {
    NewAuditEntry {
        at: now(),
        actor: principal.actor(),
        action: action.to_string(),
        target: target.to_string(),
        detail,
    }
}

/// Appends to the audit log what is audited without a write of its own (lookups and
/// sign-ins), returning once the entry is stored.
pub async fn audit(
    state: &AppState,
    principal: &Principal,
    action: &str,
    target: &str,
    detail: Value,
) -> Result<(), ApiError> {
    state
        .audit_writer
        .append(audit_entry(principal, action, target, detail))
        .await
}
