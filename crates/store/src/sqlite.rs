//! What only SQLite does: opening the file, starting write transactions, reserving ids,
//! writing bulk rows.
//!
//! SQLite has one writer at a time for the whole database, so every write transaction starts
//! with `BEGIN IMMEDIATE`: it takes the write lock at once (waiting up to the busy timeout)
//! instead of failing with `SQLITE_BUSY` when a read inside the transaction later turns into a
//! write. That single writer is also what serialises the change log and the audit chain.
//!
//! Bulk rows go in as multi-row `INSERT ... VALUES` of 1,000 rows with anonymous `?`
//! parameters. Numbered `$N` parameters work too, but SQLite finds each bound parameter's name
//! by a linear search of all the statement's names: a 7,000-parameter INSERT then spent most of
//! its time binding (an import of 1,000,000 contents took 42 s instead of 7.5 s).

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::{ChangeKind, Logs, NewContent, StoreError};

/// How long a writer waits for another to finish before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens (creating it and its directory if missing) the database file and migrates it.
pub(crate) async fn open(path: &Path) -> Result<SqlitePool, StoreError> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|error| {
            StoreError::Invalid(format!("cannot create {}: {error}", parent.display()))
        })?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL, not WAL's usual NORMAL: a commit syncs the log before it returns, so what the
        // server acknowledged (a report, an audit row) survives a power cut, not only a crash.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
    Ok(pool)
}

/// Starts a transaction holding the database's write lock. `_logs` are the tables PostgreSQL
/// locks; SQLite's lock already covers every table.
pub(crate) async fn begin_write(
    pool: &SqlitePool,
    _logs: Logs,
) -> Result<Transaction<'static, Sqlite>, StoreError> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// Nothing to send: SQLite's listeners live in this process and the store wakes them after the
/// commit (`Store::changes_committed`).
pub(crate) async fn announce_changes(_connection: &mut SqliteConnection) -> Result<(), StoreError> {
    Ok(())
}

/// Reserves `count` consecutive ids of `table` and returns the first. Sound because the caller
/// holds the write lock and the table is AUTOINCREMENT: `sqlite_sequence` holds the largest id
/// ever used, and inserting the reserved ids moves it past them.
pub(crate) async fn reserve_ids(
    connection: &mut SqliteConnection,
    table: &str,
    _count: usize,
) -> Result<i64, StoreError> {
    let last: i64 =
        sqlx::query_scalar("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = $1), 0)")
            .bind(table)
            .fetch_one(connection)
            .await?;
    Ok(last + 1)
}

/// How many rows one multi-row INSERT carries: at 7 parameters a row, below SQLite's limit of
/// 32,766 parameters a statement.
const ROWS_PER_STATEMENT: usize = 1_000;

/// Inserts enabled contents with ids from `first_id`, all in one bank and made at one time.
pub(crate) async fn insert_content_rows(
    connection: &mut SqliteConnection,
    first_id: i64,
    bank_id: i64,
    created_at: i64,
    contents: &[NewContent],
) -> Result<(), StoreError> {
    let rows: Vec<_> = (first_id..).zip(contents).collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = values_sql(
            "INSERT INTO contents (id, bank_id, label, category, note, enabled, created_at)",
            chunk.len(),
            7,
        );
        let mut insert = sqlx::query(&sql);
        for (id, content) in chunk {
            insert = insert
                .bind(*id)
                .bind(bank_id)
                .bind(content.label.as_deref())
                .bind(content.category.as_deref())
                .bind(content.note.as_deref())
                .bind(true)
                .bind(created_at);
        }
        insert.execute(&mut *connection).await?;
    }
    Ok(())
}

/// Inserts signals `(content id, type, value)` with ids from `first_id`.
pub(crate) async fn insert_signal_rows(
    connection: &mut SqliteConnection,
    first_id: i64,
    signals: &[(i64, &str, &str)],
) -> Result<(), StoreError> {
    let rows: Vec<_> = (first_id..).zip(signals).collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = values_sql(
            "INSERT INTO signals (id, content_id, signal_type, value)",
            chunk.len(),
            4,
        );
        let mut insert = sqlx::query(&sql);
        for (id, (content_id, signal_type, value)) in chunk {
            insert = insert
                .bind(*id)
                .bind(*content_id)
                .bind(*signal_type)
                .bind(*value);
        }
        insert.execute(&mut *connection).await?;
    }
    Ok(())
}

/// Appends change rows of `kind` for signals `(content id, type, value)` with ids from
/// `first_signal`, in that order; the log numbers them as they come.
pub(crate) async fn insert_change_rows(
    connection: &mut SqliteConnection,
    bank_id: i64,
    kind: ChangeKind,
    first_signal: i64,
    signals: &[(i64, &str, &str)],
) -> Result<(), StoreError> {
    let rows: Vec<_> = (first_signal..).zip(signals).collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = values_sql(
            "INSERT INTO changes (bank_id, content_id, signal_id, kind, signal_type, value)",
            chunk.len(),
            6,
        );
        let mut insert = sqlx::query(&sql);
        for (signal_id, (content_id, signal_type, value)) in chunk {
            insert = insert
                .bind(bank_id)
                .bind(*content_id)
                .bind(*signal_id)
                .bind(kind.as_str())
                .bind(*signal_type)
                .bind(*value);
        }
        insert.execute(&mut *connection).await?;
    }
    Ok(())
}

/// Builds `head VALUES (?, ...), ...` for `rows` rows of `width` parameters each.
fn values_sql(head: &str, rows: usize, width: usize) -> String {
    let tuple = format!("({})", vec!["?"; width].join(", "));
    format!("{head} VALUES {}", vec![tuple; rows].join(", "))
}

/// What a job claim adds to its inner `SELECT`: nothing, since SQLite runs one writer at a
/// time and the claiming `UPDATE` is that writer.
pub(crate) const SKIP_LOCKED: &str = "";
