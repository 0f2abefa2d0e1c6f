//! What only PostgreSQL does: connecting, starting write transactions, reserving ids, writing
//! bulk rows.
//!
//! Readers of the change log and of the audit log page by sequence number, so a row must never
//! become visible after a row with a larger number. Identity values are handed out at insert time
//! but become visible at commit, in any order; to keep the order, every transaction that appends
//! to one of these logs first takes `LOCK TABLE ... IN EXCLUSIVE MODE`, which lets readers through
//! and makes writers of that log wait their turn until commit. A write that appends to both
//! (a content change and its audit row) locks the change log first, as every writer does.
//!
//! Bulk rows go in with `COPY ... FROM STDIN` in text format: multi-row INSERTs spent most of
//! their time on parsing and planning thousands of parameters (1,000,000 contents took 34 s).

use sqlx::postgres::PgPoolOptions;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::{ChangeKind, Logs, NewContent, StoreError};

/// Connects to the database the URL names and migrates it.
pub(crate) async fn open(url: &str) -> Result<PgPool, StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .connect(url)
        .await?;
    sqlx::migrate!("./migrations/postgres").run(&pool).await?;
    Ok(pool)
}

/// Starts a transaction that appends to `logs` in turn with the other writers of them. One
/// `LOCK TABLE` takes the tables one by one in the order it names them, which is the same
/// order for every writer (see [`Logs`]).
pub(crate) async fn begin_write(
    pool: &PgPool,
    logs: Logs,
) -> Result<Transaction<'static, Postgres>, StoreError> {
    let mut transaction = pool.begin().await?;
    sqlx::query(&format!("LOCK TABLE {} IN EXCLUSIVE MODE", logs.tables()))
        .execute(&mut *transaction)
        .await?;
    Ok(transaction)
}

/// Notifies the change-log listeners of every process, with the log's last sequence number as
/// the payload. PostgreSQL delivers it when the transaction commits, after its rows are
/// visible; the caller holds the change-log lock, so the number is this transaction's last.
pub(crate) async fn announce_changes(connection: &mut PgConnection) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, COALESCE(MAX(seq), 0)::TEXT) FROM changes")
        .bind(crate::listen::CHANNEL)
        .execute(connection)
        .await?;
    Ok(())
}

/// Reserves `count` consecutive ids of `table` and returns the first. Sound because contents
/// and signals are only ever inserted by transactions holding the change-log lock, so no other
/// call takes from these sequences between the two statements.
pub(crate) async fn reserve_ids(
    connection: &mut PgConnection,
    table: &str,
    count: usize,
) -> Result<i64, StoreError> {
    let sequence = format!("pg_get_serial_sequence('{table}', 'id')");
    let first: i64 = sqlx::query_scalar(&format!("SELECT nextval({sequence})"))
        .fetch_one(&mut *connection)
        .await?;
    if count > 1 {
        sqlx::query(&format!("SELECT setval({sequence}, $1)"))
            .bind(first + count as i64 - 1)
            .execute(connection)
            .await?;
    }
    Ok(first)
}

/// Inserts enabled contents with ids from `first_id`, all in one bank and made at one time.
pub(crate) async fn insert_content_rows(
    connection: &mut PgConnection,
    first_id: i64,
    bank_id: i64,
    created_at: i64,
    contents: &[NewContent],
) -> Result<(), StoreError> {
    let mut data = String::new();
    for (id, content) in (first_id..).zip(contents) {
        data.push_str(&format!("{id}\t{bank_id}\t"));
        for field in [&content.label, &content.category, &content.note] {
            push_copy_field(&mut data, field.as_deref());
            data.push('\t');
        }
        data.push_str(&format!("t\t{created_at}\n"));
    }
    copy_in(
        connection,
        "COPY contents (id, bank_id, label, category, note, enabled, created_at) FROM STDIN",
        data,
    )
    .await
}

/// Inserts signals `(content id, type, value)` with ids from `first_id`.
pub(crate) async fn insert_signal_rows(
    connection: &mut PgConnection,
    first_id: i64,
    signals: &[(i64, &str, &str)],
) -> Result<(), StoreError> {
    let mut data = String::new();
    for (id, (content_id, signal_type, value)) in (first_id..).zip(signals) {
        data.push_str(&format!("{id}\t{content_id}\t"));
        push_copy_field(&mut data, Some(signal_type));
        data.push('\t');
        push_copy_field(&mut data, Some(value));
        data.push('\n');
    }
    copy_in(
        connection,
        "COPY signals (id, content_id, signal_type, value) FROM STDIN",
        data,
    )
    .await
}

/// Appends change rows of `kind` for signals `(content id, type, value)` with ids from
/// `first_signal`, in that order; the log numbers them as they come.
pub(crate) async fn insert_change_rows(
    connection: &mut PgConnection,
    bank_id: i64,
    kind: ChangeKind,
    first_signal: i64,
    signals: &[(i64, &str, &str)],
) -> Result<(), StoreError> {
    let mut data = String::new();
    for (signal_id, (content_id, signal_type, value)) in (first_signal..).zip(signals) {
        data.push_str(&format!(
            "{bank_id}\t{content_id}\t{signal_id}\t{}\t",
            kind.as_str()
        ));
        push_copy_field(&mut data, Some(signal_type));
        data.push('\t');
        push_copy_field(&mut data, Some(value));
        data.push('\n');
    }
    copy_in(
        connection,
        "COPY changes (bank_id, content_id, signal_id, kind, signal_type, value) FROM STDIN",
        data,
    )
    .await
}

/// Sends rows in COPY text format.
async fn copy_in(
    connection: &mut PgConnection,
    statement: &str,
    data: String,
) -> Result<(), StoreError> {
    let mut copy = connection.copy_in_raw(statement).await?;
    copy.send(data.into_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// Appends a text field in COPY text format: `\N` for NULL, and the characters that would end
/// the field or the row escaped, so any label or note arrives unchanged.
fn push_copy_field(data: &mut String, field: Option<&str>) {
    let Some(text) = field else {
        data.push_str("\\N");
        return;
    };
    for character in text.chars() {
        match character {
            '\\' => data.push_str("\\\\"),
            '\t' => data.push_str("\\t"),
            '\n' => data.push_str("\\n"),
            '\r' => data.push_str("\\r"),
            other => data.push(other),
        }
    }
}

/// What a job claim adds to its inner `SELECT`: rows another worker is claiming are skipped
/// rather than waited for, so several `vigie worker` share the queue without taking one job
/// twice or queueing behind each other.
pub(crate) const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";

#[cfg(test)]
mod tests {
    use super::push_copy_field;

    #[test]
    fn copy_fields_escape_what_would_end_them() {
        let mut data = String::new();
        push_copy_field(&mut data, Some("a\tb\nc\\d\re"));
        push_copy_field(&mut data, None);
        assert_eq!(data, "a\\tb\\nc\\\\d\\re\\N");
    }
}
