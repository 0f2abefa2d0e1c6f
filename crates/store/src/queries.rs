// The store's queries, written once and compiled once per driver: `lib.rs` includes this file in
// the modules `on_sqlite` and `on_postgres`, each of which first names `Db` (the sqlx driver) and
// `dialect` (the module holding what differs between the two: transaction start, locks, id
// reservation, bulk rows). Every statement here is plain SQL both databases accept, with `$N` parameters
// (SQLite reads `$N` as the N-th argument too). See the crate documentation for why it is shaped so.

use sqlx::{Pool, Transaction};

use crate::audit::{self, ChainCheck, ChainRow};
use crate::model::{
    check_bank_name, check_content, check_enabled_ratio, check_limit, check_pdq_threshold,
};
use crate::{
    expect_one, now_millis, ApiKey, AuditEntry, AuditVerdict, Bank, BankUpdate, ChangeKind,
    ChangeRow, Content, Logs, NewApiKey, NewAuditEntry, NewBank, NewContent, Role, SignalRow,
    StoreError, User, SETUP_TOKEN_LIFETIME_MS,
};

/// A connection, or a transaction seen as one (`&mut *transaction`).
type Connection = <Db as sqlx::Database>::Connection;

const BANK_COLUMNS: &str =
    "id, name, source, default_category, pdq_threshold, matching_enabled_ratio, created_at";
const USER_COLUMNS: &str = "id, name, password_hash, role, disabled, created_at";
const API_KEY_COLUMNS: &str = "id, name, key_hash, scopes, created_by, created_at, revoked_at";
const AUDIT_COLUMNS: &str = "seq, at, actor, action, target, detail, prev_hash, hash";

/// How many audit rows the chain walk reads at a time.
const AUDIT_PAGE: i64 = 1_000;

pub(crate) async fn create_bank(
    pool: &Pool<Db>,
    bank: &NewBank,
    audit: impl FnOnce(&Bank) -> NewAuditEntry,
) -> Result<Bank, StoreError> {
    check_bank_name(&bank.name)?;
    check_pdq_threshold(bank.pdq_threshold)?;
    check_enabled_ratio(bank.matching_enabled_ratio)?;
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    let stored: Bank = sqlx::query_as(&format!(
        "INSERT INTO banks (name, source, default_category, pdq_threshold, \
         matching_enabled_ratio, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING {BANK_COLUMNS}"
    ))
    .bind(&bank.name)
    .bind(&bank.source)
    .bind(&bank.default_category)
    .bind(bank.pdq_threshold)
    .bind(bank.matching_enabled_ratio)
    .bind(now_millis())
    .fetch_one(&mut *transaction)
    .await
    .map_err(|error| StoreError::from_write(error, &format!("bank {}", bank.name), "bank"))?;
    commit_audited(transaction, &audit(&stored)).await?;
    Ok(stored)
}

pub(crate) async fn banks(pool: &Pool<Db>) -> Result<Vec<Bank>, StoreError> {
    let banks = sqlx::query_as(&format!("SELECT {BANK_COLUMNS} FROM banks ORDER BY name"))
        .fetch_all(pool)
        .await?;
    Ok(banks)
}

pub(crate) async fn bank(pool: &Pool<Db>, name: &str) -> Result<Bank, StoreError> {
    fetch_bank(&mut *pool.acquire().await?, name).await
}

pub(crate) async fn update_bank(
    pool: &Pool<Db>,
    name: &str,
    update: &BankUpdate,
    audit: impl FnOnce(&Bank) -> NewAuditEntry,
) -> Result<Bank, StoreError> {
    if let Some(new_name) = &update.name {
        check_bank_name(new_name)?;
    }
    update.pdq_threshold.map(check_pdq_threshold).transpose()?;
    update
        .matching_enabled_ratio
        .map(check_enabled_ratio)
        .transpose()?;
    // One statement, so two concurrent updates of different fields both take effect.
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    let stored: Bank = sqlx::query_as(&format!(
        "UPDATE banks SET name = COALESCE($1, name), \
         source = CASE WHEN $2 THEN $3 ELSE source END, \
         default_category = CASE WHEN $4 THEN $5 ELSE default_category END, \
         pdq_threshold = COALESCE($6, pdq_threshold), \
         matching_enabled_ratio = COALESCE($7, matching_enabled_ratio) \
         WHERE name = $8 RETURNING {BANK_COLUMNS}"
    ))
    .bind(&update.name)
    .bind(update.source.is_some())
    .bind(update.source.clone().flatten())
    .bind(update.default_category.is_some())
    .bind(update.default_category.clone().flatten())
    .bind(update.pdq_threshold)
    .bind(update.matching_enabled_ratio)
    .bind(name)
    .fetch_optional(&mut *transaction)
    .await
    .map_err(|error| {
        let taken = format!("bank {}", update.name.as_deref().unwrap_or(name));
        StoreError::from_write(error, &taken, "bank")
    })?
    .ok_or_else(|| StoreError::NotFound(format!("bank {name}")))?;
    commit_audited(transaction, &audit(&stored)).await?;
    Ok(stored)
}

pub(crate) async fn delete_bank(
    pool: &Pool<Db>,
    name: &str,
    audit: &NewAuditEntry,
) -> Result<(), StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::ChangesAndAudit).await?;
    let bank = fetch_bank(&mut transaction, name).await?;
    // Disabled contents already had their Remove rows written when they were disabled.
    log_changes(
        &mut transaction,
        ChangeKind::Remove,
        "c.bank_id = $2 AND c.enabled = TRUE",
        &[bank.id],
    )
    .await?;
    sqlx::query("DELETE FROM banks WHERE id = $1")
        .bind(bank.id)
        .execute(&mut *transaction)
        .await?;
    commit_changes(transaction, audit).await
}

pub(crate) async fn add_content(
    pool: &Pool<Db>,
    bank: &str,
    content: &NewContent,
    audit: impl FnOnce(&Content) -> NewAuditEntry,
) -> Result<Content, StoreError> {
    check_content(content)?;
    let created_at = now_millis();
    let mut transaction = dialect::begin_write(pool, Logs::ChangesAndAudit).await?;
    let stored_bank = fetch_bank(&mut transaction, bank).await?;
    let id = insert_contents(
        &mut transaction,
        stored_bank.id,
        std::slice::from_ref(content),
        created_at,
    )
    .await?;
    let stored = Content {
        id,
        bank: stored_bank.name,
        label: content.label.clone(),
        category: content.category.clone(),
        note: content.note.clone(),
        enabled: true,
        created_at,
        signals: content.signals.clone(),
    };
    commit_changes(transaction, &audit(&stored)).await?;
    Ok(stored)
}

pub(crate) async fn content(pool: &Pool<Db>, bank: &str, id: i64) -> Result<Content, StoreError> {
    fetch_content(&mut *pool.acquire().await?, bank, id).await
}

pub(crate) async fn update_content(
    pool: &Pool<Db>,
    bank: &str,
    id: i64,
    enabled: Option<bool>,
    category: Option<Option<String>>,
    audit: impl FnOnce(&Content) -> NewAuditEntry,
) -> Result<Content, StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::ChangesAndAudit).await?;
    let mut content = fetch_content(&mut transaction, bank, id).await?;
    if let Some(category) = category {
        sqlx::query("UPDATE contents SET category = $1 WHERE id = $2")
            .bind(&category)
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        content.category = category;
    }
    if let Some(enabled) = enabled.filter(|&enabled| enabled != content.enabled) {
        sqlx::query("UPDATE contents SET enabled = $1 WHERE id = $2")
            .bind(enabled)
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        let kind = if enabled {
            ChangeKind::Add
        } else {
            ChangeKind::Remove
        };
        log_changes(&mut transaction, kind, "c.id = $2", &[id]).await?;
        content.enabled = enabled;
    }
    commit_changes(transaction, &audit(&content)).await?;
    Ok(content)
}

pub(crate) async fn delete_content(
    pool: &Pool<Db>,
    bank: &str,
    id: i64,
    audit: &NewAuditEntry,
) -> Result<(), StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::ChangesAndAudit).await?;
    let content = fetch_content(&mut transaction, bank, id).await?;
    if content.enabled {
        log_changes(&mut transaction, ChangeKind::Remove, "c.id = $2", &[id]).await?;
    }
    sqlx::query("DELETE FROM contents WHERE id = $1")
        .bind(id)
        .execute(&mut *transaction)
        .await?;
    commit_changes(transaction, audit).await
}

pub(crate) async fn bank_signals(
    pool: &Pool<Db>,
    bank: &str,
    after_id: i64,
    limit: i64,
) -> Result<Vec<SignalRow>, StoreError> {
    let limit = check_limit(limit)?;
    let mut connection = pool.acquire().await?;
    let bank = fetch_bank(&mut connection, bank).await?;
    let signals = sqlx::query_as(
        "SELECT s.id, s.content_id, s.signal_type, s.value \
         FROM signals s JOIN contents c ON c.id = s.content_id \
         WHERE c.bank_id = $1 AND c.enabled = TRUE AND s.id > $2 ORDER BY s.id LIMIT $3",
    )
    .bind(bank.id)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut *connection)
    .await?;
    Ok(signals)
}

pub(crate) async fn bank_contents(
    pool: &Pool<Db>,
    bank: &str,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Content>, StoreError> {
    let limit = check_limit(limit)?;
    let mut connection = pool.acquire().await?;
    let stored_bank = fetch_bank(&mut connection, bank).await?;
    let mut contents: Vec<Content> = sqlx::query_as(
        "SELECT c.id, b.name AS bank, c.label, c.category, c.note, c.enabled, c.created_at \
         FROM contents c JOIN banks b ON b.id = c.bank_id \
         WHERE c.bank_id = $1 AND c.id > $2 ORDER BY c.id LIMIT $3",
    )
    .bind(stored_bank.id)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut *connection)
    .await?;
    let (Some(first), Some(last)) = (contents.first(), contents.last()) else {
        return Ok(contents);
    };
    let signals: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT s.content_id, s.signal_type, s.value \
         FROM signals s JOIN contents c ON c.id = s.content_id \
         WHERE c.bank_id = $1 AND c.id BETWEEN $2 AND $3 ORDER BY s.id",
    )
    .bind(stored_bank.id)
    .bind(first.id)
    .bind(last.id)
    .fetch_all(&mut *connection)
    .await?;
    for (content_id, signal_type, value) in signals {
        // The page is sorted by id; a content added between the two reads is not in it.
        if let Ok(at) = contents.binary_search_by_key(&content_id, |content| content.id) {
            contents[at].signals.push((signal_type, value));
        }
    }
    Ok(contents)
}

pub(crate) async fn import_contents(
    pool: &Pool<Db>,
    bank: &str,
    contents: &[NewContent],
    audit: &NewAuditEntry,
) -> Result<u64, StoreError> {
    // Everything is checked before the first batch, so a bad item never leaves a partial import.
    for (position, content) in contents.iter().enumerate() {
        check_content(content).map_err(|error| match error {
            StoreError::Invalid(reason) => {
                StoreError::Invalid(format!("content {position}: {reason}"))
            }
            other => other,
        })?;
    }
    let mut transaction = dialect::begin_write(pool, Logs::ChangesAndAudit).await?;
    let stored_bank = fetch_bank(&mut transaction, bank).await?;
    if !contents.is_empty() {
        insert_contents(&mut transaction, stored_bank.id, contents, now_millis()).await?;
    }
    commit_changes(transaction, audit).await?;
    Ok(contents.len() as u64)
}

pub(crate) async fn changes_since(
    pool: &Pool<Db>,
    seq: i64,
    limit: i64,
) -> Result<Vec<ChangeRow>, StoreError> {
    let changes = sqlx::query_as(
        "SELECT seq, bank_id, content_id, signal_id, kind, signal_type, value \
         FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(seq)
    .bind(check_limit(limit)?)
    .fetch_all(pool)
    .await?;
    Ok(changes)
}

pub(crate) async fn last_change(pool: &Pool<Db>) -> Result<i64, StoreError> {
    let seq = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes")
        .fetch_one(pool)
        .await?;
    Ok(seq)
}

pub(crate) async fn store_id(pool: &Pool<Db>) -> Result<String, StoreError> {
    let id = sqlx::query_scalar("SELECT store_id FROM store_identity")
        .fetch_one(pool)
        .await?;
    Ok(id)
}

pub(crate) async fn create_user(
    pool: &Pool<Db>,
    name: &str,
    password_hash: &str,
    role: Role,
    audit: impl FnOnce(&User) -> NewAuditEntry,
) -> Result<User, StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    let stored: User = sqlx::query_as(&format!(
        "INSERT INTO users (name, password_hash, role, disabled, created_at) \
         VALUES ($1, $2, $3, FALSE, $4) RETURNING {USER_COLUMNS}"
    ))
    .bind(name)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now_millis())
    .fetch_one(&mut *transaction)
    .await
    .map_err(|error| StoreError::from_write(error, &format!("user {name}"), "user"))?;
    commit_audited(transaction, &audit(&stored)).await?;
    Ok(stored)
}

pub(crate) async fn user_by_name(pool: &Pool<Db>, name: &str) -> Result<User, StoreError> {
    sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1"))
        .bind(name)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {name}")))
}

pub(crate) async fn user(pool: &Pool<Db>, id: i64) -> Result<User, StoreError> {
    sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {id}")))
}

pub(crate) async fn users(pool: &Pool<Db>) -> Result<Vec<User>, StoreError> {
    let users = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
        .fetch_all(pool)
        .await?;
    Ok(users)
}

pub(crate) async fn count_users(pool: &Pool<Db>) -> Result<i64, StoreError> {
    let count = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await?;
    Ok(count)
}

pub(crate) async fn set_user_disabled(
    pool: &Pool<Db>,
    id: i64,
    disabled: bool,
    audit: &NewAuditEntry,
) -> Result<(), StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    let done = sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
        .bind(disabled)
        .bind(id)
        .execute(&mut *transaction)
        .await?;
    expect_one(done.rows_affected(), || format!("user {id}"))?;
    commit_audited(transaction, audit).await
}

pub(crate) async fn create_api_key(
    pool: &Pool<Db>,
    key: &NewApiKey,
    audit: impl FnOnce(&ApiKey) -> NewAuditEntry,
) -> Result<ApiKey, StoreError> {
    let scopes = serde_json::to_string(&key.scopes)
        .map_err(|error| StoreError::Invalid(format!("scopes: {error}")))?;
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    let stored: ApiKey = sqlx::query_as(&format!(
        "INSERT INTO api_keys (name, key_hash, scopes, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {API_KEY_COLUMNS}"
    ))
    .bind(&key.name)
    .bind(&key.key_hash)
    .bind(scopes)
    .bind(key.created_by)
    .bind(now_millis())
    .fetch_one(&mut *transaction)
    .await
    .map_err(|error| {
        let creator = format!("user {}", key.created_by.unwrap_or_default());
        StoreError::from_write(error, "an API key with this hash", &creator)
    })?;
    commit_audited(transaction, &audit(&stored)).await?;
    Ok(stored)
}

pub(crate) async fn api_key_by_hash(pool: &Pool<Db>, key_hash: &str) -> Result<ApiKey, StoreError> {
    sqlx::query_as(&format!(
        "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
    ))
    .bind(key_hash)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| StoreError::NotFound("API key".into()))
}

pub(crate) async fn api_keys(pool: &Pool<Db>) -> Result<Vec<ApiKey>, StoreError> {
    let keys = sqlx::query_as(&format!(
        "SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY id"
    ))
    .fetch_all(pool)
    .await?;
    Ok(keys)
}

pub(crate) async fn revoke_api_key(
    pool: &Pool<Db>,
    id: i64,
    audit: &NewAuditEntry,
) -> Result<(), StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    // Revoking twice keeps the first revocation time.
    let done =
        sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(now_millis())
            .bind(id)
            .execute(&mut *transaction)
            .await?;
    expect_one(done.rows_affected(), || format!("API key {id}"))?;
    commit_audited(transaction, audit).await
}

pub(crate) async fn create_session(
    pool: &Pool<Db>,
    token_hash: &str,
    user_id: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(user_id)
        .bind(expires_at)
        .execute(pool)
        .await
        .map_err(|error| {
            StoreError::from_write(
                error,
                "a session with this token",
                &format!("user {user_id}"),
            )
        })?;
    Ok(())
}

pub(crate) async fn session_user(
    pool: &Pool<Db>,
    token_hash: &str,
    now: i64,
) -> Result<User, StoreError> {
    sqlx::query_as(
        "SELECT u.id, u.name, u.password_hash, u.role, u.disabled, u.created_at \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = FALSE",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| StoreError::NotFound("session".into()))
}

pub(crate) async fn delete_session(pool: &Pool<Db>, token_hash: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

pub(crate) async fn create_setup_token(
    pool: &Pool<Db>,
    token_hash: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO setup_tokens (token_hash, created_at) VALUES ($1, $2)")
        .bind(token_hash)
        .bind(now)
        .execute(pool)
        .await
        .map_err(|error| StoreError::from_write(error, "this setup token", "setup token"))?;
    Ok(())
}

pub(crate) async fn use_setup_token(
    pool: &Pool<Db>,
    token_hash: &str,
    now: i64,
) -> Result<(), StoreError> {
    // One conditional UPDATE is atomic on both databases: of two concurrent uses, the second
    // finds `used_at` already set (PostgreSQL re-checks the condition after the first commits).
    // A link that was never used expires, so that one printed in an old log opens nothing.
    let done = sqlx::query(
        "UPDATE setup_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND used_at IS NULL AND created_at > $3",
    )
    .bind(now)
    .bind(token_hash)
    .bind(now - SETUP_TOKEN_LIFETIME_MS)
    .execute(pool)
    .await?;
    expect_one(done.rows_affected(), || "setup token".to_owned())
}

pub(crate) async fn append_audit(
    pool: &Pool<Db>,
    entry: &NewAuditEntry,
) -> Result<AuditEntry, StoreError> {
    let mut appended = append_audits(pool, std::slice::from_ref(entry)).await?;
    // One entry in, one out.
    Ok(appended.remove(0))
}

pub(crate) async fn append_audits(
    pool: &Pool<Db>,
    entries: &[NewAuditEntry],
) -> Result<Vec<AuditEntry>, StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    let appended = append_audit_in(&mut transaction, entries).await?;
    transaction.commit().await?;
    Ok(appended)
}

/// Appends the write's audit row and commits, so that the change and its row are kept or lost
/// together. The transaction must hold the audit log's lock (see [`Logs`]).
async fn commit_audited(
    mut transaction: Transaction<'static, Db>,
    entry: &NewAuditEntry,
) -> Result<(), StoreError> {
    append_audit_in(&mut transaction, std::slice::from_ref(entry)).await?;
    transaction.commit().await?;
    Ok(())
}

/// Commits a write to the change log with its audit row, announcing the change to listeners
/// (see `listen.rs`): PostgreSQL delivers the notification at commit, or never if the
/// transaction fails.
async fn commit_changes(
    mut transaction: Transaction<'static, Db>,
    entry: &NewAuditEntry,
) -> Result<(), StoreError> {
    dialect::announce_changes(&mut transaction).await?;
    commit_audited(transaction, entry).await
}

/// Rows of the audit log one INSERT carries: 8 parameters a row, under SQLite's limit of 32,766
/// parameters a statement (PostgreSQL allows 65,535).
const AUDIT_ROWS_PER_INSERT: usize = 1_000;

/// Appends entries to the audit chain in order, in the caller's transaction, which must hold
/// the audit log's lock: the last row is read once and each new row links to the one before.
/// The rows go in as multi-row INSERTs, so that a group of lookups costs a few statements, not
/// one round trip each.
async fn append_audit_in(
    connection: &mut Connection,
    entries: &[NewAuditEntry],
) -> Result<Vec<AuditEntry>, StoreError> {
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *connection)
            .await?;
    let (mut seq, mut prev_hash) = last.unwrap_or_else(|| (0, audit::GENESIS_HASH.to_owned()));
    let mut appended = Vec::with_capacity(entries.len());
    for entry in entries {
        seq += 1;
        let detail = entry.detail.to_string();
        let hash = audit::row_hash(
            seq,
            entry.at,
            [
                entry.actor.as_str(),
                &entry.action,
                &entry.target,
                &detail,
                &prev_hash,
            ],
        );
        appended.push((
            detail,
            AuditEntry {
                seq,
                at: entry.at,
                actor: entry.actor.clone(),
                action: entry.action.clone(),
                target: entry.target.clone(),
                detail: entry.detail.clone(),
                prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
                hash,
            },
        ));
    }
    for rows in appended.chunks(AUDIT_ROWS_PER_INSERT) {
        let mut insert =
            sqlx::QueryBuilder::<Db>::new(format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) "));
        insert.push_values(rows, |mut row, (detail, entry)| {
            row.push_bind(entry.seq)
                .push_bind(entry.at)
                .push_bind(&entry.actor)
                .push_bind(&entry.action)
                .push_bind(&entry.target)
                .push_bind(detail)
                .push_bind(&entry.prev_hash)
                .push_bind(&entry.hash);
        });
        insert.build().execute(&mut *connection).await?;
    }
    Ok(appended.into_iter().map(|(_, entry)| entry).collect())
}

pub(crate) async fn audit(
    pool: &Pool<Db>,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    audit_page(pool, after_seq, check_limit(limit)?)
        .await?
        .into_iter()
        .map(|row| {
            let detail = serde_json::from_str(&row.detail).map_err(StoreError::undecodable)?;
            Ok(AuditEntry {
                seq: row.seq,
                at: row.at,
                actor: row.actor,
                action: row.action,
                target: row.target,
                detail,
                prev_hash: row.prev_hash,
                hash: row.hash,
            })
        })
        .collect()
}

pub(crate) async fn verify_audit(pool: &Pool<Db>) -> Result<AuditVerdict, StoreError> {
    let mut check = ChainCheck::new();
    let mut after_seq = i64::MIN;
    loop {
        let page = audit_page(pool, after_seq, AUDIT_PAGE).await?;
        if let Some(verdict) = page.iter().find_map(|row| check.check(row)) {
            return Ok(verdict);
        }
        match page.last() {
            Some(last) => after_seq = last.seq,
            None => return Ok(check.intact()),
        }
    }
}

async fn audit_page(
    pool: &Pool<Db>,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<ChainRow>, StoreError> {
    let rows = sqlx::query_as(&format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
    ))
    .bind(after_seq)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

async fn fetch_bank(connection: &mut Connection, name: &str) -> Result<Bank, StoreError> {
    sqlx::query_as(&format!("SELECT {BANK_COLUMNS} FROM banks WHERE name = $1"))
        .bind(name)
        .fetch_optional(connection)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("bank {name}")))
}

async fn fetch_content(
    connection: &mut Connection,
    bank: &str,
    id: i64,
) -> Result<Content, StoreError> {
    let content: Option<Content> = sqlx::query_as(
        "SELECT c.id, b.name AS bank, c.label, c.category, c.note, c.enabled, c.created_at \
         FROM contents c JOIN banks b ON b.id = c.bank_id WHERE b.name = $1 AND c.id = $2",
    )
    .bind(bank)
    .bind(id)
    .fetch_optional(&mut *connection)
    .await?;
    let mut content =
        content.ok_or_else(|| StoreError::NotFound(format!("content {id} in bank {bank}")))?;
    content.signals =
        sqlx::query_as("SELECT signal_type, value FROM signals WHERE content_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(connection)
            .await?;
    Ok(content)
}

/// Inserts contents with their signals and an Add change per signal; returns the first content's
/// id (the others follow it). The caller's transaction must hold the change-log lock: ids are
/// reserved as a block, which only holds while no other writer takes ids from the same sequences.
async fn insert_contents(
    connection: &mut Connection,
    bank_id: i64,
    contents: &[NewContent],
    created_at: i64,
) -> Result<i64, StoreError> {
    let first_content = dialect::reserve_ids(connection, "contents", contents.len()).await?;
    let signal_count = contents.iter().map(|content| content.signals.len()).sum();
    let first_signal = dialect::reserve_ids(connection, "signals", signal_count).await?;

    dialect::insert_content_rows(connection, first_content, bank_id, created_at, contents).await?;
    let signals: Vec<(i64, &str, &str)> = contents
        .iter()
        .zip(first_content..)
        .flat_map(|(content, content_id)| {
            content
                .signals
                .iter()
                .map(move |(signal_type, value)| (content_id, signal_type.as_str(), value.as_str()))
        })
        .collect();
    dialect::insert_signal_rows(connection, first_signal, &signals).await?;

    // The Add rows are written from the signals at hand, in signal order, rather than selected
    // back from the tables: on PostgreSQL that join, planned on statistics that lag behind a
    // table growing by millions, took most of a large import's time.
    dialect::insert_change_rows(connection, bank_id, ChangeKind::Add, first_signal, &signals)
        .await?;
    Ok(first_content)
}

/// Writes one change row of `kind` for each signal matching `condition`, in signal order.
/// The condition reads `s` (signals) and `c` (contents); its parameters start at `$2` and take
/// `keys` in order.
async fn log_changes(
    connection: &mut Connection,
    kind: ChangeKind,
    condition: &str,
    keys: &[i64],
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO changes (bank_id, content_id, signal_id, kind, signal_type, value) \
         SELECT c.bank_id, s.content_id, s.id, $1, s.signal_type, s.value \
         FROM signals s JOIN contents c ON c.id = s.content_id WHERE {condition} ORDER BY s.id"
    );
    let mut insert = sqlx::query(&sql).bind(kind.as_str());
    for key in keys {
        insert = insert.bind(*key);
    }
    insert.execute(connection).await?;
    Ok(())
}
