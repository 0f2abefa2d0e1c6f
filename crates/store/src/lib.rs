//! Vigie's store: banks, their contents and signals, the change log that index replicas follow,
//! accounts, API keys, sessions, and the tamper-evident audit log, on SQLite or PostgreSQL.
//!
//! **Architecture invariant:** nothing here knows about HTTP. The store takes and returns plain
//! data; deciding who may call what, and turning errors into responses, is the server's job.
//!
//! # Shape
//!
//! [`Store`] wraps an enum of the two sqlx pools, and each method dispatches to the same query
//! code compiled for one driver or the other: `queries.rs` is written once and included in two
//! modules, `on_sqlite` and `on_postgres`, which each name the driver (`Db`) and the few
//! dialect-specific steps (`sqlite.rs`, `postgres.rs`: opening, starting a write transaction,
//! reserving ids, writing bulk rows: multi-row INSERTs on SQLite, `COPY` on PostgreSQL).
//!
//! Why not a trait with two implementations: both would be the same text, and writing it once
//! as generic code needs a dozen sqlx bounds on every function (executor, arguments, encode and
//! decode for each type), which Rust cannot gather in one trait alias. Why not sqlx's `Any`
//! driver: it has no `COPY`, a narrower set of types, and it would still need the dialect steps
//! above. The SQL itself is common: `$N` parameters, `RETURNING`, `TRUE`/`FALSE`, which both
//! databases accept.
//!
//! # The change log
//!
//! Every write that changes what an index should hold (adding, enabling, disabling or deleting
//! a content, deleting a bank) writes one `changes` row per signal in the same transaction, so a
//! replica that applies `changes_since` in order holds exactly the enabled signals. Sequence
//! numbers become visible in increasing order: writers of the log take turns (see `postgres.rs`;
//! SQLite has one writer anyway), so a replica paging by `seq` never skips a late commit.
//! Whether a bank matches (`matching_enabled_ratio`) is not in the log: its contents stay
//! indexed and the matcher reads the bank's setting.
//!
//! # Times and ids
//!
//! Times are Unix milliseconds (`i64`); the store stamps `created_at` itself, and takes `now`
//! from the caller where a decision depends on it (session expiry), so tests control the clock.
//! Ids are `i64` and never reused, since the logs name them after the rows are gone.

mod audit;
mod error;
mod listen;
mod model;
mod postgres;
mod sqlite;

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use audit::GENESIS_HASH;
pub use error::StoreError;
pub use intake::{
    Channel, ItemKind, ItemStatus, ItemSummary, KnownMatch, MediaHashes, NewAttachment, NewReport,
    Report, ReportItem, ReportedUrl, Submitted, MAX_REPORT_ITEMS, MAX_REPORT_TEXT,
    REPORT_RECEIVE_ACTION,
};
pub use listen::ChangeListener;
pub use model::{
    ApiKey, AuditEntry, AuditVerdict, Bank, BankUpdate, ChangeKind, ChangeRow, Content, NewApiKey,
    NewAuditEntry, NewBank, NewContent, Role, Scopes, SignalRow, User, DEFAULT_PDQ_THRESHOLD,
    MAX_BANK_NAME, SETUP_TOKEN_LIFETIME_MS,
};

/// The queries compiled for SQLite.
mod on_sqlite {
    type Db = sqlx::Sqlite;
    use crate::sqlite as dialect;
    include!("queries.rs");
    include!("triage_queries.rs");
    include!("intake_queries.rs");
    include!("jobs_queries.rs");
    include!("takedown_queries.rs");
}

/// The queries compiled for PostgreSQL.
mod on_postgres {
    type Db = sqlx::Postgres;
    use crate::postgres as dialect;
    include!("queries.rs");
    include!("triage_queries.rs");
    include!("intake_queries.rs");
    include!("jobs_queries.rs");
    include!("takedown_queries.rs");
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The pool of connections, one variant per database. SQLite's carries the signal its change
/// listeners wait on, shared by every clone of the store (see `listen.rs`).
#[derive(Debug, Clone)]
enum Pools {
    Sqlite(sqlx::SqlitePool, Arc<tokio::sync::watch::Sender<()>>),
    Postgres(sqlx::PgPool),
}

/// A handle on the database; cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct Store {
    pools: Pools,
}

/// Calls the query of the same name for the store's database.
macro_rules! dispatch {
    ($store:ident . $query:ident ( $($argument:expr),* )) => {
        match &$store.pools {
            Pools::Sqlite(pool, _) => on_sqlite::$query(pool $(, $argument)*).await,
            Pools::Postgres(pool) => on_postgres::$query(pool $(, $argument)*).await,
        }
    };
}

// Declared after `dispatch!`, which their `impl Store` blocks use.
mod intake;
mod jobs;
mod takedown;
mod triage;
pub use jobs::{backoff_ms, Job, JobState, NewJob};
pub use takedown::{
    takedown_job, CheckOutcome, Location, NewCheck, NewNotice, NewPageMedia, NoticeRecord,
    PageMedia, ReferenceData, Takedown, TakedownState, UrlCheck, LOCATE_JOB, NOTICE_JOB, PAGE_JOB,
    RECHECK_JOB, TAKEDOWN_JOB_ATTEMPTS,
};
pub use triage::{
    case_target, item_target, utc_day_start, Case, CaseFile, CaseFileRevealRequest, CaseNote,
    Classification, Exposure, Figures, ItemMedia, NewCaseFile, QueueEntry, ReportSummary, Reveal,
    RevealOutcome, RevealRequest, TimelineEvent, TriageItem, CASE_FILE_ACTION, CASE_NOTE_ACTION,
    DAY_MS,
};

impl Store {
    /// Opens the store and brings its schema up to date. `postgres://...` (or `postgresql://`)
    /// is a PostgreSQL server; `sqlite:PATH`, `sqlite://PATH` or a plain path is a SQLite file,
    /// created with its directory if missing, in WAL mode with foreign keys on.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let pools = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Pools::Postgres(postgres::open(url).await?)
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            if path.is_empty() {
                return Err(StoreError::Invalid("empty SQLite path".into()));
            }
            let signal = tokio::sync::watch::Sender::new(());
            Pools::Sqlite(sqlite::open(Path::new(path)).await?, Arc::new(signal))
        };
        Ok(Store { pools })
    }

    pub fn dialect(&self) -> Dialect {
        match self.pools {
            Pools::Sqlite(..) => Dialect::Sqlite,
            Pools::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Creates a bank, with the audit row `audit` makes of it in the same transaction.
    /// `Invalid` if the name is not UPPER_SNAKE_CASE (or the threshold or ratio is out of
    /// range), `Conflict` if a bank has the name.
    pub async fn create_bank(
        &self,
        bank: &NewBank,
        audit: impl FnOnce(&Bank) -> NewAuditEntry,
    ) -> Result<Bank, StoreError> {
        dispatch!(self.create_bank(bank, audit))
    }

    /// All banks, by name.
    pub async fn banks(&self) -> Result<Vec<Bank>, StoreError> {
        dispatch!(self.banks())
    }

    pub async fn bank(&self, name: &str) -> Result<Bank, StoreError> {
        dispatch!(self.bank(name))
    }

    /// Changes a bank's settings or name, with the audit row `audit` makes of the bank as
    /// changed; `Conflict` if the new name is taken. The bank keeps its id, so the change log
    /// needs no rows for a rename.
    pub async fn update_bank(
        &self,
        name: &str,
        update: &BankUpdate,
        audit: impl FnOnce(&Bank) -> NewAuditEntry,
    ) -> Result<Bank, StoreError> {
        dispatch!(self.update_bank(name, update, audit))
    }

    /// Deletes a bank with its contents and signals, logging a Remove change for each signal
    /// still enabled, and appends `audit`.
    pub async fn delete_bank(&self, name: &str, audit: &NewAuditEntry) -> Result<(), StoreError> {
        let deleted = dispatch!(self.delete_bank(name, audit));
        self.changes_committed();
        deleted
    }

    /// Adds one enabled content with its signals, an Add change per signal and the audit row
    /// `audit` makes of the stored content (its id is known only then), in one transaction.
    /// `Invalid` for an unknown signal type or a value that is not lowercase hex of the type's
    /// length, or no signal at all.
    pub async fn add_content(
        &self,
        bank: &str,
        content: &NewContent,
        audit: impl FnOnce(&Content) -> NewAuditEntry,
    ) -> Result<Content, StoreError> {
        let added = dispatch!(self.add_content(bank, content, audit));
        self.changes_committed();
        added
    }

    /// A content of the bank; `NotFound` if the id belongs to another bank.
    pub async fn content(&self, bank: &str, id: i64) -> Result<Content, StoreError> {
        dispatch!(self.content(bank, id))
    }

    /// Enables or disables a content (writing Add or Remove changes when the state flips) and
    /// sets or clears its category, with the audit row `audit` makes of the content as changed.
    pub async fn update_content(
        &self,
        bank: &str,
        id: i64,
        enabled: Option<bool>,
        category: Option<Option<String>>,
        audit: impl FnOnce(&Content) -> NewAuditEntry,
    ) -> Result<Content, StoreError> {
        let updated = dispatch!(self.update_content(bank, id, enabled, category, audit));
        self.changes_committed();
        updated
    }

    /// Deletes a content and its signals, logging a Remove change per signal if it was
    /// enabled, and appends `audit`.
    pub async fn delete_content(
        &self,
        bank: &str,
        id: i64,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        let deleted = dispatch!(self.delete_content(bank, id, audit));
        self.changes_committed();
        deleted
    }

    /// The signals of the bank's enabled contents with an id above `after_id`, by id, at most
    /// `limit`: page through by passing the last id seen.
    pub async fn bank_signals(
        &self,
        bank: &str,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<SignalRow>, StoreError> {
        dispatch!(self.bank_signals(bank, after_id, limit))
    }

    /// The bank's contents, enabled or not, with an id above `after_id`, by id, at most
    /// `limit`, each with its signals: page through by passing the last id seen.
    pub async fn bank_contents(
        &self,
        bank: &str,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Content>, StoreError> {
        dispatch!(self.bank_contents(bank, after_id, limit))
    }

    /// Adds many contents and appends `audit`, all in one transaction: every item is checked
    /// first (`Invalid` names the first bad one and nothing is written), then the rows go in
    /// bulk (multi-row INSERTs on SQLite, `COPY` on PostgreSQL). Returns how many were added.
    /// The transaction holds the change-log lock throughout, so a list of millions is imported
    /// in calls of tens of thousands, each committed with its own audit row, to let other
    /// writers in between.
    pub async fn import_contents(
        &self,
        bank: &str,
        contents: &[NewContent],
        audit: &NewAuditEntry,
    ) -> Result<u64, StoreError> {
        let imported = dispatch!(self.import_contents(bank, contents, audit));
        self.changes_committed();
        imported
    }

    /// Change-log rows with a sequence number above `seq`, ascending, at most `limit`.
    pub async fn changes_since(&self, seq: i64, limit: i64) -> Result<Vec<ChangeRow>, StoreError> {
        dispatch!(self.changes_since(seq, limit))
    }

    /// A listener woken when the change log may have grown: by any process's write on
    /// PostgreSQL (`LISTEN vigie_changes`, on a connection of its own), by writes through this
    /// store or its clones on SQLite. Only writes committed after it is made wake it.
    pub async fn change_listener(&self) -> Result<ChangeListener, StoreError> {
        match &self.pools {
            Pools::Sqlite(_, signal) => Ok(ChangeListener::sqlite(signal)),
            Pools::Postgres(pool) => ChangeListener::postgres(pool).await,
        }
    }

    /// Wakes SQLite's change listeners after a write to the change log has ended, committed or
    /// not (a spurious wake-up costs one empty read). PostgreSQL's listeners need nothing here:
    /// the write's transaction sent its NOTIFY.
    fn changes_committed(&self) {
        if let Pools::Sqlite(_, signal) = &self.pools {
            signal.send_replace(());
        }
    }

    /// The latest sequence number of the change log, 0 when it is empty.
    pub async fn last_change(&self) -> Result<i64, StoreError> {
        dispatch!(self.last_change())
    }

    /// The store's identity: random, made once with the database, and the same on every
    /// replica of it (a copy of the database keeps it too).
    pub async fn store_id(&self) -> Result<String, StoreError> {
        dispatch!(self.store_id())
    }

    /// Creates an enabled account, with the audit row `audit` makes of it in the same
    /// transaction; `Conflict` if the name is taken.
    pub async fn create_user(
        &self,
        name: &str,
        password_hash: &str,
        role: Role,
        audit: impl FnOnce(&User) -> NewAuditEntry,
    ) -> Result<User, StoreError> {
        dispatch!(self.create_user(name, password_hash, role, audit))
    }

    pub async fn user_by_name(&self, name: &str) -> Result<User, StoreError> {
        dispatch!(self.user_by_name(name))
    }

    pub async fn user(&self, id: i64) -> Result<User, StoreError> {
        dispatch!(self.user(id))
    }

    /// All accounts, by id.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        dispatch!(self.users())
    }

    pub async fn count_users(&self) -> Result<i64, StoreError> {
        dispatch!(self.count_users())
    }

    /// Disables or re-enables an account and appends `audit`; a disabled account's sessions
    /// stop working at once.
    pub async fn set_user_disabled(
        &self,
        id: i64,
        disabled: bool,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        dispatch!(self.set_user_disabled(id, disabled, audit))
    }

    /// Stores an API key by the SHA-256 hex of its secret, with the audit row `audit` makes of
    /// it (its id is known only then); `Conflict` if the hash is taken, `NotFound` if
    /// `created_by` names no user.
    pub async fn create_api_key(
        &self,
        key: &NewApiKey,
        audit: impl FnOnce(&ApiKey) -> NewAuditEntry,
    ) -> Result<ApiKey, StoreError> {
        dispatch!(self.create_api_key(key, audit))
    }

    /// The key with this hash; `NotFound` if there is none or it was revoked.
    pub async fn api_key_by_hash(&self, key_hash: &str) -> Result<ApiKey, StoreError> {
        dispatch!(self.api_key_by_hash(key_hash))
    }

    /// All keys, revoked ones included, by id.
    pub async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        dispatch!(self.api_keys())
    }

    /// Revokes a key for good and appends `audit`; revoking again keeps the first time.
    pub async fn revoke_api_key(&self, id: i64, audit: &NewAuditEntry) -> Result<(), StoreError> {
        dispatch!(self.revoke_api_key(id, audit))
    }

    /// Stores a session by the hash of its token; `NotFound` if the user does not exist.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self.create_session(token_hash, user_id, expires_at))
    }

    /// The user of a session; `NotFound` if the session is absent, expired at `now`, or its
    /// user disabled.
    pub async fn session_user(&self, token_hash: &str, now: i64) -> Result<User, StoreError> {
        dispatch!(self.session_user(token_hash, now))
    }

    /// Ends a session; ending one that does not exist is not an error.
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        dispatch!(self.delete_session(token_hash))
    }

    /// Stores the hash of a one-time link for creating the first admin. Each start of a server
    /// without accounts makes one (several replicas print one each); any of them works once,
    /// for [`SETUP_TOKEN_LIFETIME_MS`] after it was made.
    pub async fn create_setup_token(&self, token_hash: &str, now: i64) -> Result<(), StoreError> {
        dispatch!(self.create_setup_token(token_hash, now))
    }

    /// Marks a setup token used; `NotFound` if it is absent, already used or expired. Of two concurrent
    /// uses exactly one succeeds.
    pub async fn use_setup_token(&self, token_hash: &str, now: i64) -> Result<(), StoreError> {
        dispatch!(self.use_setup_token(token_hash, now))
    }

    /// Appends an entry to the audit chain, for what is audited without a write of its own
    /// (lookups, sign-ins); every write above appends its entry in its own transaction. Appends
    /// take turns (a write lock), so concurrent callers never fork the chain.
    pub async fn append_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry, StoreError> {
        dispatch!(self.append_audit(entry))
    }

    /// Appends entries to the audit chain in one transaction, chained in the order given: one
    /// lock and one commit for many events, for callers that gather them (the server's lookups,
    /// at thousands a second). Returns the rows as stored.
    pub async fn append_audits(
        &self,
        entries: &[NewAuditEntry],
    ) -> Result<Vec<AuditEntry>, StoreError> {
        dispatch!(self.append_audits(entries))
    }

    /// Audit rows with a sequence number above `after_seq`, ascending, at most `limit`.
    pub async fn audit(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        dispatch!(self.audit(after_seq, limit))
    }

    /// Walks the whole audit chain page by page and names the first row that does not check out.
    pub async fn verify_audit(&self) -> Result<AuditVerdict, StoreError> {
        dispatch!(self.verify_audit())
    }
}

/// The current time in Unix milliseconds.
fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

/// The logs a write transaction appends to. Every audited write appends to the audit log;
/// those that change what an index holds append to the change log too. PostgreSQL locks the
/// tables in the order named here, the change log first, and every writer takes them in that
/// order, so two writers never each hold the lock the other waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logs {
    Audit,
    ChangesAndAudit,
}

impl Logs {
    /// The tables, in locking order.
    fn tables(self) -> &'static str {
        match self {
            Logs::Audit => "audit_log",
            Logs::ChangesAndAudit => "changes, audit_log",
        }
    }
}

/// A write that names one row must have found it.
fn expect_one(rows_affected: u64, what: impl FnOnce() -> String) -> Result<(), StoreError> {
    if rows_affected == 0 {
        Err(StoreError::NotFound(what()))
    } else {
        Ok(())
    }
}
