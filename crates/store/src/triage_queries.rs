// The triage queries (queue, claims, decisions, reveals, cases, figures), written once and
// compiled per driver beside `queries.rs`, whose imports, `Connection` type and helpers
// (`commit_audited`, `append_audit_in`) they share: `lib.rs` includes both files in `on_sqlite`
// and `on_postgres`. Only names of this file's own are imported here, since one module cannot
// import a name twice. See `triage.rs` for what each query promises.

use crate::triage::{
    Case, CaseFile, CaseNote, Classification, Exposure, Figures, ItemMedia, QueueEntry,
    ReportSummary, Reveal, RevealOutcome, TimelineEvent, TriageItem, CASE_FILE_ACTION,
    CASE_NOTE_ACTION, DAY_MS,
};

/// The columns of a [`TriageItem`], read from [`TRIAGE_ITEM_FROM`].
const TRIAGE_ITEM_COLUMNS: &str = "i.id, i.kind, i.url, i.sha256, i.category, i.urgency, \
     i.reporters, i.first_reported_at, i.last_reported_at, i.status, i.claimed_by, \
     cu.name AS claimed_by_name, i.claimed_at, i.matched_bank, i.matched_content_id, \
     i.matched_distance, i.iccam_classification, i.site_type, i.age_group, i.gender, \
     i.ncmec_category, i.vics_category, i.decision, i.decision_country, i.decided_by, \
     du.name AS decided_by_name, \
     i.decided_at, i.case_id, COALESCE(a.media_type, (SELECT pm.media_type FROM page_media pm \
     WHERE pm.item_id = i.id AND pm.sealed IS NOT NULL ORDER BY pm.id LIMIT 1)) AS media_type, \
     (SELECT COUNT(*) FROM reveals rv WHERE rv.item_id = i.id) AS reveals";

const TRIAGE_ITEM_FROM: &str = "items i LEFT JOIN users cu ON cu.id = i.claimed_by \
     LEFT JOIN users du ON du.id = i.decided_by LEFT JOIN attachments a ON a.item_id = i.id";

const REVEAL_COLUMNS: &str = "id, item_id, user_id, revealed_at, expires_at";

/// Everything anyone has seen: items' reveals and media case files' downloads, each row naming
/// what was seen (`item:ID`, `file:ID`), so that one count covers both.
const SEEN: &str = "(SELECT user_id, 'item:' || item_id AS seen, revealed_at FROM reveals \
     UNION ALL SELECT user_id, 'file:' || case_file_id, revealed_at FROM case_file_reveals)";

const CASE_COLUMNS: &str = "c.id, c.title, c.status, c.created_by, u.name AS created_by_name, \
     c.created_at, (SELECT COUNT(*) FROM items ci WHERE ci.case_id = c.id) AS items";

const CASE_NOTE_COLUMNS: &str =
    "n.id, n.case_id, n.author_id, u.name AS author_name, n.body, n.created_at";

/// A case file's columns but its bytes, for listings.
const CASE_FILE_COLUMNS: &str = "f.id, f.case_id, f.file_name, f.media_type, f.size, f.sha256, \
     f.key_id, f.added_by, u.name AS added_by_name, f.added_at";

pub(crate) async fn triage_queue(
    pool: &Pool<Db>,
    limit: i64,
) -> Result<Vec<QueueEntry>, StoreError> {
    let items: Vec<TriageItem> = sqlx::query_as(&format!(
        "SELECT {TRIAGE_ITEM_COLUMNS} FROM {TRIAGE_ITEM_FROM} \
         WHERE i.status IN ('queued', 'claimed') \
         ORDER BY i.urgency DESC, i.first_reported_at ASC, i.reporters DESC, i.id ASC LIMIT $1"
    ))
    .bind(crate::model::check_limit(limit)?)
    .fetch_all(pool)
    .await?;
    with_reports(&mut *pool.acquire().await?, items).await
}

pub(crate) async fn resolved_items(
    pool: &Pool<Db>,
    limit: i64,
) -> Result<Vec<TriageItem>, StoreError> {
    let items = sqlx::query_as(&format!(
        "SELECT {TRIAGE_ITEM_COLUMNS} FROM {TRIAGE_ITEM_FROM} \
         WHERE i.status IN ('decided', 'known') \
         ORDER BY COALESCE(i.decided_at, i.last_reported_at) DESC, i.id DESC LIMIT $1"
    ))
    .bind(crate::model::check_limit(limit)?)
    .fetch_all(pool)
    .await?;
    Ok(items)
}

pub(crate) async fn triage_item(pool: &Pool<Db>, item_id: i64) -> Result<QueueEntry, StoreError> {
    let mut connection = pool.acquire().await?;
    let item = fetch_triage_item(&mut connection, item_id).await?;
    let mut entries = with_reports(&mut connection, vec![item]).await?;
    // One item in, one out.
    Ok(entries.remove(0))
}

pub(crate) async fn item_media(pool: &Pool<Db>, item_id: i64) -> Result<ItemMedia, StoreError> {
    let attached: Option<ItemMedia> = sqlx::query_as(
        "SELECT item_id, file_name, media_type, size, md5, sha1, sha256, key_id, sealed, \
         received_at FROM attachments WHERE item_id = $1",
    )
    .bind(item_id)
    .fetch_optional(pool)
    .await?;
    if let Some(media) = attached {
        return Ok(media);
    }
    // A URL item's media: the first the page served that the hotline kept (sealed).
    sqlx::query_as(
        "SELECT item_id, NULL AS file_name, media_type, size, md5, sha1, sha256, key_id, \
         sealed, fetched_at AS received_at FROM page_media \
         WHERE item_id = $1 AND sealed IS NOT NULL ORDER BY id LIMIT 1",
    )
    .bind(item_id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("media of item {item_id}")))
}

pub(crate) async fn claim_item(
    pool: &Pool<Db>,
    item_id: i64,
    user_id: i64,
    now: i64,
    audit: &NewAuditEntry,
) -> Result<TriageItem, StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    let done = sqlx::query(
        "UPDATE items SET status = 'claimed', claimed_by = $1, claimed_at = $2 \
         WHERE id = $3 AND (status = 'queued' OR (status = 'claimed' AND claimed_by = $1))",
    )
    .bind(user_id)
    .bind(now)
    .bind(item_id)
    .execute(&mut *transaction)
    .await?;
    let item = fetch_triage_item(&mut transaction, item_id).await?;
    if done.rows_affected() == 0 {
        return Err(not_yours(&item, "claim"));
    }
    commit_audited(transaction, audit).await?;
    Ok(item)
}

pub(crate) async fn release_item(
    pool: &Pool<Db>,
    item_id: i64,
    user_id: i64,
    supervisor: bool,
    audit: &NewAuditEntry,
) -> Result<TriageItem, StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    let done = sqlx::query(
        "UPDATE items SET status = 'queued', claimed_by = NULL, claimed_at = NULL \
         WHERE id = $1 AND status = 'claimed' AND (claimed_by = $2 OR $3)",
    )
    .bind(item_id)
    .bind(user_id)
    .bind(supervisor)
    .execute(&mut *transaction)
    .await?;
    let item = fetch_triage_item(&mut transaction, item_id).await?;
    if done.rows_affected() == 0 {
        return Err(not_yours(&item, "release"));
    }
    commit_audited(transaction, audit).await?;
    Ok(item)
}

pub(crate) async fn decide_item(
    pool: &Pool<Db>,
    item_id: i64,
    user_id: i64,
    classification: &Classification,
    now: i64,
    audit: &NewAuditEntry,
) -> Result<TriageItem, StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    let done = sqlx::query(
        "UPDATE items SET status = 'decided', iccam_classification = $1, site_type = $2, \
         age_group = $3, gender = $4, ncmec_category = $5, vics_category = $6, decision = $7, \
         decided_by = $8, decided_at = $9, decision_country = $11 \
         WHERE id = $10 AND status = 'claimed' AND claimed_by = $8",
    )
    .bind(&classification.iccam_classification)
    .bind(&classification.site_type)
    .bind(&classification.age_group)
    .bind(&classification.gender)
    .bind(&classification.ncmec_category)
    .bind(classification.vics_category)
    .bind(&classification.decision)
    .bind(user_id)
    .bind(now)
    .bind(item_id)
    .bind(&classification.decision_country)
    .execute(&mut *transaction)
    .await?;
    let item = fetch_triage_item(&mut transaction, item_id).await?;
    if done.rows_affected() == 0 {
        return Err(not_yours(&item, "decide"));
    }
    open_takedown_in(&mut transaction, item_id, &classification.decision, now).await?;
    commit_audited(transaction, audit).await?;
    Ok(item)
}

pub(crate) async fn reveal_item(
    pool: &Pool<Db>,
    request: &crate::triage::RevealRequest,
    audit: impl FnOnce(&Reveal) -> NewAuditEntry,
) -> Result<RevealOutcome, StoreError> {
    let crate::triage::RevealRequest {
        item_id,
        user_id,
        now,
        lifetime_ms,
        day_start,
        daily_limit,
    } = *request;
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    let item = fetch_triage_item(&mut transaction, item_id).await?;
    if item.status != crate::ItemStatus::Claimed || item.claimed_by != Some(user_id) {
        return Err(not_yours(&item, "reveal"));
    }
    let (items_today, seen_today) =
        seen_since(&mut transaction, user_id, day_start, &format!("item:{item_id}")).await?;
    if refused(daily_limit, items_today, seen_today) {
        // Nothing written: the transaction rolls back as it is dropped.
        return Ok(RevealOutcome::LimitReached { items_today });
    }
    // One item at a time: whatever this analyst still had open closes now.
    sqlx::query("UPDATE reveals SET expires_at = $1 WHERE user_id = $2 AND expires_at > $1")
        .bind(now)
        .bind(user_id)
        .execute(&mut *transaction)
        .await?;
    let reveal: Reveal = sqlx::query_as(&format!(
        "INSERT INTO reveals (item_id, user_id, revealed_at, expires_at) VALUES ($1, $2, $3, $4) \
         RETURNING {REVEAL_COLUMNS}"
    ))
    .bind(item_id)
    .bind(user_id)
    .bind(now)
    .bind(now.saturating_add(lifetime_ms))
    .fetch_one(&mut *transaction)
    .await?;
    let reveals_today = reveals_since(&mut transaction, user_id, day_start).await?;
    commit_audited(transaction, &audit(&reveal)).await?;
    Ok(RevealOutcome::Revealed {
        reveal,
        items_today: items_today + 1 - seen_today,
        reveals_today,
    })
}

pub(crate) async fn reveal_case_file(
    pool: &Pool<Db>,
    request: &crate::triage::CaseFileRevealRequest,
    audit: impl FnOnce(&CaseFile) -> NewAuditEntry,
) -> Result<RevealOutcome<CaseFile>, StoreError> {
    let crate::triage::CaseFileRevealRequest {
        case_id,
        file_id,
        user_id,
        now,
        day_start,
        daily_limit,
    } = *request;
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    let file = fetch_case_file(&mut transaction, case_id, file_id, true).await?;
    let (items_today, seen_today) =
        seen_since(&mut transaction, user_id, day_start, &format!("file:{file_id}")).await?;
    if refused(daily_limit, items_today, seen_today) {
        return Ok(RevealOutcome::LimitReached { items_today });
    }
    sqlx::query(
        "INSERT INTO case_file_reveals (case_file_id, user_id, revealed_at) VALUES ($1, $2, $3)",
    )
    .bind(file_id)
    .bind(user_id)
    .bind(now)
    .execute(&mut *transaction)
    .await?;
    let reveals_today = reveals_since(&mut transaction, user_id, day_start).await?;
    commit_audited(transaction, &audit(&file)).await?;
    Ok(RevealOutcome::Revealed {
        reveal: file,
        items_today: items_today + 1 - seen_today,
        reveals_today,
    })
}

/// How many distinct things `user_id` has seen since `day_start`, and whether `subject`
/// (`item:ID`, `file:ID`) is among them (1) or not (0). Read inside the write transaction of a
/// new reveal, so that two reveals at once cannot both pass the limit.
async fn seen_since(
    connection: &mut Connection,
    user_id: i64,
    day_start: i64,
    subject: &str,
) -> Result<(i64, i64), StoreError> {
    let counts = sqlx::query_as(&format!(
        "SELECT COUNT(DISTINCT seen), COUNT(DISTINCT CASE WHEN seen = $3 THEN seen END) \
         FROM {SEEN} s WHERE user_id = $1 AND revealed_at >= $2"
    ))
    .bind(user_id)
    .bind(day_start)
    .bind(subject)
    .fetch_one(connection)
    .await?;
    Ok(counts)
}

/// Whether the daily limit refuses a new reveal: something not yet seen today, once the limit
/// is reached (what was seen today may be seen again).
fn refused(daily_limit: Option<i64>, items_today: i64, seen_today: i64) -> bool {
    daily_limit.is_some_and(|limit| seen_today == 0 && items_today >= limit)
}

/// Every reveal and media download of `user_id` since `day_start`.
async fn reveals_since(
    connection: &mut Connection,
    user_id: i64,
    day_start: i64,
) -> Result<i64, StoreError> {
    let count = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM {SEEN} s WHERE user_id = $1 AND revealed_at >= $2"
    ))
    .bind(user_id)
    .bind(day_start)
    .fetch_one(connection)
    .await?;
    Ok(count)
}

pub(crate) async fn open_reveal(
    pool: &Pool<Db>,
    item_id: i64,
    user_id: i64,
    now: i64,
) -> Result<Option<Reveal>, StoreError> {
    let reveal = sqlx::query_as(&format!(
        "SELECT {REVEAL_COLUMNS} FROM reveals \
         WHERE item_id = $1 AND user_id = $2 AND revealed_at <= $3 AND expires_at > $3 \
         ORDER BY id DESC LIMIT 1"
    ))
    .bind(item_id)
    .bind(user_id)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(reveal)
}

pub(crate) async fn revealed_today(
    pool: &Pool<Db>,
    user_id: i64,
    day_start: i64,
) -> Result<i64, StoreError> {
    let count = sqlx::query_scalar(&format!(
        "SELECT COUNT(DISTINCT seen) FROM {SEEN} s WHERE user_id = $1 AND revealed_at >= $2"
    ))
    .bind(user_id)
    .bind(day_start)
    .fetch_one(pool)
    .await?;
    Ok(count)
}

pub(crate) async fn exposure(pool: &Pool<Db>, day_start: i64) -> Result<Vec<Exposure>, StoreError> {
    let rows = sqlx::query_as(&format!(
        "SELECT u.id AS user_id, u.name, COUNT(DISTINCT r.seen) AS items, \
         COUNT(r.seen) AS reveals, MAX(r.revealed_at) AS last_reveal_at \
         FROM users u LEFT JOIN {SEEN} r ON r.user_id = u.id AND r.revealed_at >= $1 \
         WHERE u.role IN ('analyst', 'admin') \
         GROUP BY u.id, u.name ORDER BY COUNT(DISTINCT r.seen) DESC, u.name"
    ))
    .bind(day_start)
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

pub(crate) async fn create_case(
    pool: &Pool<Db>,
    title: &str,
    created_by: i64,
    audit: impl FnOnce(&Case) -> NewAuditEntry,
) -> Result<Case, StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO cases (title, status, created_by, created_at) VALUES ($1, 'open', $2, $3) \
         RETURNING id",
    )
    .bind(title)
    .bind(created_by)
    .bind(now_millis())
    .fetch_one(&mut *transaction)
    .await
    .map_err(|error| StoreError::from_write(error, "case", &format!("user {created_by}")))?;
    let case = fetch_case(&mut transaction, id).await?;
    commit_audited(transaction, &audit(&case)).await?;
    Ok(case)
}

pub(crate) async fn cases(pool: &Pool<Db>) -> Result<Vec<Case>, StoreError> {
    let cases = sqlx::query_as(&format!(
        "SELECT {CASE_COLUMNS} FROM cases c JOIN users u ON u.id = c.created_by \
         ORDER BY c.id DESC"
    ))
    .fetch_all(pool)
    .await?;
    Ok(cases)
}

pub(crate) async fn case(pool: &Pool<Db>, case_id: i64) -> Result<Case, StoreError> {
    fetch_case(&mut *pool.acquire().await?, case_id).await
}

pub(crate) async fn case_items(
    pool: &Pool<Db>,
    case_id: i64,
) -> Result<Vec<TriageItem>, StoreError> {
    let items = sqlx::query_as(&format!(
        "SELECT {TRIAGE_ITEM_COLUMNS} FROM {TRIAGE_ITEM_FROM} WHERE i.case_id = $1 ORDER BY i.id"
    ))
    .bind(case_id)
    .fetch_all(pool)
    .await?;
    Ok(items)
}

pub(crate) async fn add_case_item(
    pool: &Pool<Db>,
    case_id: i64,
    item_id: i64,
    audit: &NewAuditEntry,
) -> Result<(), StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    open_case(&mut transaction, case_id).await?;
    let item = fetch_triage_item(&mut transaction, item_id).await?;
    match item.case_id {
        Some(other) if other != case_id => {
            return Err(StoreError::Conflict(format!(
                "item {item_id} is in case {other}"
            )))
        }
        _ => {}
    }
    sqlx::query("UPDATE items SET case_id = $1 WHERE id = $2")
        .bind(case_id)
        .bind(item_id)
        .execute(&mut *transaction)
        .await?;
    commit_audited(transaction, audit).await
}

pub(crate) async fn remove_case_item(
    pool: &Pool<Db>,
    case_id: i64,
    item_id: i64,
    audit: &NewAuditEntry,
) -> Result<(), StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    open_case(&mut transaction, case_id).await?;
    let done = sqlx::query("UPDATE items SET case_id = NULL WHERE id = $1 AND case_id = $2")
        .bind(item_id)
        .bind(case_id)
        .execute(&mut *transaction)
        .await?;
    expect_one(done.rows_affected(), || {
        format!("item {item_id} in case {case_id}")
    })?;
    commit_audited(transaction, audit).await
}

pub(crate) async fn add_case_note(
    pool: &Pool<Db>,
    case_id: i64,
    author_id: i64,
    body: &str,
    audit: impl FnOnce(&CaseNote) -> NewAuditEntry,
) -> Result<CaseNote, StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    open_case(&mut transaction, case_id).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO case_notes (case_id, author_id, body, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING id",
    )
    .bind(case_id)
    .bind(author_id)
    .bind(body)
    .bind(now_millis())
    .fetch_one(&mut *transaction)
    .await
    .map_err(|error| StoreError::from_write(error, "note", &format!("user {author_id}")))?;
    let note: CaseNote = sqlx::query_as(&format!(
        "SELECT {CASE_NOTE_COLUMNS} FROM case_notes n JOIN users u ON u.id = n.author_id \
         WHERE n.id = $1"
    ))
    .bind(id)
    .fetch_one(&mut *transaction)
    .await?;
    commit_audited(transaction, &audit(&note)).await?;
    Ok(note)
}

pub(crate) async fn case_notes(pool: &Pool<Db>, case_id: i64) -> Result<Vec<CaseNote>, StoreError> {
    let notes = sqlx::query_as(&format!(
        "SELECT {CASE_NOTE_COLUMNS} FROM case_notes n JOIN users u ON u.id = n.author_id \
         WHERE n.case_id = $1 ORDER BY n.id"
    ))
    .bind(case_id)
    .fetch_all(pool)
    .await?;
    Ok(notes)
}

pub(crate) async fn add_case_file(
    pool: &Pool<Db>,
    case_id: i64,
    added_by: i64,
    file: &crate::triage::NewCaseFile,
    audit: impl FnOnce(&CaseFile) -> NewAuditEntry,
) -> Result<CaseFile, StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    open_case(&mut transaction, case_id).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO case_files (case_id, file_name, media_type, size, sha256, key_id, sealed, \
         added_by, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(case_id)
    .bind(&file.file_name)
    .bind(&file.media_type)
    .bind(file.size)
    .bind(&file.sha256)
    .bind(&file.key_id)
    .bind(&file.sealed)
    .bind(added_by)
    .bind(now_millis())
    .fetch_one(&mut *transaction)
    .await
    .map_err(|error| StoreError::from_write(error, "file", &format!("user {added_by}")))?;
    let stored = fetch_case_file(&mut transaction, case_id, id, false).await?;
    commit_audited(transaction, &audit(&stored)).await?;
    Ok(stored)
}

pub(crate) async fn case_files(pool: &Pool<Db>, case_id: i64) -> Result<Vec<CaseFile>, StoreError> {
    let files = sqlx::query_as(&format!(
        "SELECT {CASE_FILE_COLUMNS} FROM case_files f JOIN users u ON u.id = f.added_by \
         WHERE f.case_id = $1 ORDER BY f.id"
    ))
    .bind(case_id)
    .fetch_all(pool)
    .await?;
    Ok(files)
}

pub(crate) async fn case_file(
    pool: &Pool<Db>,
    case_id: i64,
    file_id: i64,
) -> Result<CaseFile, StoreError> {
    fetch_case_file(&mut *pool.acquire().await?, case_id, file_id, true).await
}

pub(crate) async fn close_case(
    pool: &Pool<Db>,
    case_id: i64,
    audit: &NewAuditEntry,
) -> Result<(), StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    open_case(&mut transaction, case_id).await?;
    sqlx::query("UPDATE cases SET status = 'closed' WHERE id = $1")
        .bind(case_id)
        .execute(&mut *transaction)
        .await?;
    commit_audited(transaction, audit).await
}

pub(crate) async fn case_timeline(
    pool: &Pool<Db>,
    case_id: i64,
) -> Result<Vec<TimelineEvent>, StoreError> {
    let mut connection = pool.acquire().await?;
    fetch_case(&mut connection, case_id).await?;
    let notes: Vec<CaseNote> = sqlx::query_as(&format!(
        "SELECT {CASE_NOTE_COLUMNS} FROM case_notes n JOIN users u ON u.id = n.author_id \
         WHERE n.case_id = $1 ORDER BY n.id"
    ))
    .bind(case_id)
    .fetch_all(&mut *connection)
    .await?;
    let files: Vec<CaseFile> = sqlx::query_as(&format!(
        "SELECT {CASE_FILE_COLUMNS} FROM case_files f JOIN users u ON u.id = f.added_by \
         WHERE f.case_id = $1 ORDER BY f.id"
    ))
    .bind(case_id)
    .fetch_all(&mut *connection)
    .await?;
    // The audit rows naming the case, or one of its items by `item:ID`, and the receipt of
    // the reports naming its items (`report.receive` is about the report, so it names the
    // receipt); each target is looked up by the (target, seq) index of migration 0005. Notes
    // and files stand for their own rows.
    let rows: Vec<crate::audit::ChainRow> = sqlx::query_as(&format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log \
         WHERE (target = $1 OR target IN (SELECT 'item:' || id FROM items WHERE case_id = $2) \
         OR (action = $5 AND target IN (SELECT r.receipt FROM reports r \
         JOIN report_items ri ON ri.report_id = r.id \
         JOIN items i ON i.id = ri.item_id WHERE i.case_id = $2))) \
         AND action NOT IN ($3, $4) ORDER BY seq"
    ))
    .bind(crate::triage::case_target(case_id))
    .bind(case_id)
    .bind(CASE_NOTE_ACTION)
    .bind(CASE_FILE_ACTION)
    .bind(crate::intake::REPORT_RECEIVE_ACTION)
    .fetch_all(&mut *connection)
    .await?;
    let mut events: Vec<TimelineEvent> = Vec::with_capacity(notes.len() + files.len() + rows.len());
    for row in rows {
        let detail = serde_json::from_str(&row.detail).map_err(StoreError::undecodable)?;
        events.push(TimelineEvent::Audit(AuditEntry {
            seq: row.seq,
            at: row.at,
            actor: row.actor,
            action: row.action,
            target: row.target,
            detail,
            prev_hash: row.prev_hash,
            hash: row.hash,
        }));
    }
    events.extend(notes.into_iter().map(TimelineEvent::Note));
    events.extend(files.into_iter().map(TimelineEvent::File));
    // A stable sort keeps audit rows in chain order within one millisecond.
    events.sort_by_key(TimelineEvent::at);
    Ok(events)
}

pub(crate) async fn figures(pool: &Pool<Db>, since: i64, now: i64) -> Result<Figures, StoreError> {
    let mut connection = pool.acquire().await?;
    // Days are numbered from the epoch (UTC) in SQL and turned back into times here.
    let days: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT received_at / $1, COUNT(*) FROM reports WHERE received_at >= $2 \
         GROUP BY 1 ORDER BY 1",
    )
    .bind(DAY_MS)
    .bind(since)
    .fetch_all(&mut *connection)
    .await?;
    let reports_per_day = days
        .into_iter()
        .map(|(day, count)| (day * DAY_MS, count))
        .collect();
    let reports_by_category: Vec<(String, i64)> = sqlx::query_as(
        "SELECT category, COUNT(*) FROM reports WHERE received_at >= $1 \
         GROUP BY category ORDER BY COUNT(*) DESC, category",
    )
    .bind(since)
    .fetch_all(&mut *connection)
    .await?;
    let (resolved, resolved_without_reveal): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN NOT EXISTS \
         (SELECT 1 FROM reveals r WHERE r.item_id = i.id) THEN 1 ELSE 0 END), 0) \
         FROM items i WHERE i.status IN ('decided', 'known')",
    )
    .fetch_one(&mut *connection)
    .await?;
    let waiting: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM items WHERE status IN ('queued', 'claimed')")
            .fetch_one(&mut *connection)
            .await?;
    // The median is read at its place in the sorted queue rather than computing every wait:
    // the middle one, or the two middle ones of an even count.
    let middle: Vec<i64> = if waiting == 0 {
        Vec::new()
    } else {
        sqlx::query_scalar(
            "SELECT first_reported_at FROM items WHERE status IN ('queued', 'claimed') \
             ORDER BY first_reported_at LIMIT $1 OFFSET $2",
        )
        .bind(if waiting % 2 == 0 { 2_i64 } else { 1 })
        .bind((waiting - 1) / 2)
        .fetch_all(&mut *connection)
        .await?
    };
    let oldest: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(first_reported_at) FROM items WHERE status IN ('queued', 'claimed')",
    )
    .fetch_one(&mut *connection)
    .await?;
    let median_wait_ms = (!middle.is_empty()).then(|| {
        let waits: Vec<i64> = middle.iter().map(|first| now - first).collect();
        waits.iter().sum::<i64>() / waits.len() as i64
    });
    Ok(Figures {
        reports_per_day,
        reports_by_category,
        resolved,
        resolved_without_reveal,
        waiting,
        oldest_wait_ms: oldest.map(|first| now - first),
        median_wait_ms,
    })
}

/// Why a claim, release, decision or reveal of `item` by this caller did not take: it is gone,
/// someone else has it, or it is resolved.
fn not_yours(item: &TriageItem, verb: &str) -> StoreError {
    use crate::ItemStatus;
    let id = item.id;
    match (item.status, &item.claimed_by_name) {
        (ItemStatus::Claimed, Some(name)) => StoreError::Conflict(format!(
            "item {id} is claimed by {name}; only they may {verb} it"
        )),
        (ItemStatus::Queued, _) => StoreError::Conflict(format!(
            "item {id} is not claimed: claim it before you {verb} it"
        )),
        (status, _) => StoreError::Conflict(format!(
            "item {id} is {}: there is nothing to {verb}",
            status.as_str()
        )),
    }
}

async fn fetch_triage_item(
    connection: &mut Connection,
    item_id: i64,
) -> Result<TriageItem, StoreError> {
    sqlx::query_as(&format!(
        "SELECT {TRIAGE_ITEM_COLUMNS} FROM {TRIAGE_ITEM_FROM} WHERE i.id = $1"
    ))
    .bind(item_id)
    .fetch_optional(connection)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("item {item_id}")))
}

/// Pairs items with the reports naming them, oldest report first.
async fn with_reports(
    connection: &mut Connection,
    items: Vec<TriageItem>,
) -> Result<Vec<QueueEntry>, StoreError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let mut select = sqlx::QueryBuilder::<Db>::new(
        "SELECT ri.item_id, r.id, r.receipt, r.channel, r.partner_reference, r.category, \
         r.description, r.contact_email, r.language, r.received_at \
         FROM report_items ri JOIN reports r ON r.id = ri.report_id WHERE ri.item_id IN (",
    );
    let mut ids = select.separated(", ");
    for item in &items {
        ids.push_bind(item.id);
    }
    select.push(") ORDER BY r.received_at, r.id");
    let rows: Vec<ReportRow> = select.build_query_as().fetch_all(connection).await?;
    let mut entries: Vec<QueueEntry> = items
        .into_iter()
        .map(|item| QueueEntry {
            item,
            reports: Vec::new(),
        })
        .collect();
    for row in rows {
        if let Some(entry) = entries
            .iter_mut()
            .find(|entry| entry.item.id == row.item_id)
        {
            entry.reports.push(row.report);
        }
    }
    Ok(entries)
}

/// A report with the item it was read for.
#[derive(sqlx::FromRow)]
struct ReportRow {
    item_id: i64,
    #[sqlx(flatten)]
    report: ReportSummary,
}

async fn fetch_case(connection: &mut Connection, case_id: i64) -> Result<Case, StoreError> {
    sqlx::query_as(&format!(
        "SELECT {CASE_COLUMNS} FROM cases c JOIN users u ON u.id = c.created_by WHERE c.id = $1"
    ))
    .bind(case_id)
    .fetch_optional(connection)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("case {case_id}")))
}

/// The case, which must be open for anything to change in it.
async fn open_case(connection: &mut Connection, case_id: i64) -> Result<Case, StoreError> {
    let case = fetch_case(connection, case_id).await?;
    if case.status != "open" {
        return Err(StoreError::Conflict(format!("case {case_id} is closed")));
    }
    Ok(case)
}

async fn fetch_case_file(
    connection: &mut Connection,
    case_id: i64,
    file_id: i64,
    with_bytes: bool,
) -> Result<CaseFile, StoreError> {
    let bytes = if with_bytes { ", f.sealed" } else { "" };
    sqlx::query_as(&format!(
        "SELECT {CASE_FILE_COLUMNS}{bytes} FROM case_files f JOIN users u ON u.id = f.added_by \
         WHERE f.case_id = $1 AND f.id = $2"
    ))
    .bind(case_id)
    .bind(file_id)
    .fetch_optional(connection)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("file {file_id} of case {case_id}")))
}
