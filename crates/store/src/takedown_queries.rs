// The takedown queries, compiled once per driver like `queries.rs` (see `takedown.rs`).

/// The columns of a [`crate::takedown::Takedown`], read from [`TAKEDOWN_FROM`].
const TAKEDOWN_COLUMNS: &str = "t.id, t.item_id, t.url, t.host, t.decision, t.state, t.address, \
     t.asn, t.network, t.country, t.recipients, t.opened_at, t.located_at, t.first_notice_at, \
     t.closed_at, t.checks, t.notices, t.escalated_at, i.category, i.first_reported_at, \
     i.iccam_classification, i.ncmec_category, i.matched_bank, i.decision_country";

const TAKEDOWN_FROM: &str = "takedowns t JOIN items i ON i.id = t.item_id";

const PAGE_MEDIA_COLUMNS: &str = "id, item_id, url, media_type, size, md5, sha1, sha256, pdq, \
     pdq_quality, matched_bank, matched_content_id, matched_distance, fetched_at";

const NOTICE_COLUMNS: &str =
    "id, takedown_id, notice_key, sequence, recipient, channel, address, sent_at";

/// The decisions that open a takedown: all but `not_illegal`, and the bank's `automatic`.
const TAKEDOWN_DECISIONS: [&str; 4] = [
    "notice_to_host",
    "partner_hotline",
    "law_enforcement",
    "automatic",
];

/// Opens the takedown of a URL item decided with `decision`, and asks for its `locate` job,
/// in the caller's transaction. Nothing for a file item, a decision that takes nothing down,
/// or an item whose takedown is open already.
async fn open_takedown_in(
    connection: &mut Connection,
    item_id: i64,
    decision: &str,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    if !TAKEDOWN_DECISIONS.contains(&decision) {
        return Ok(None);
    }
    let url: Option<(Option<String>,)> =
        sqlx::query_as("SELECT url FROM items WHERE id = $1 AND kind = 'url'")
            .bind(item_id)
            .fetch_optional(&mut *connection)
            .await?;
    let Some((Some(url),)) = url else {
        return Ok(None);
    };
    let host = url::Url::parse(&url)
        .ok()
        .and_then(|parsed| parsed.host_str().map(str::to_owned))
        .unwrap_or_default();
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO takedowns (item_id, url, host, decision, state, opened_at, checks, notices) \
         VALUES ($1, $2, $3, $4, 'locating', $5, 0, 0) \
         ON CONFLICT (item_id) DO NOTHING RETURNING id",
    )
    .bind(item_id)
    .bind(&url)
    .bind(&host)
    .bind(decision)
    .bind(now)
    .fetch_optional(&mut *connection)
    .await?;
    if let Some(id) = id {
        enqueue_job_in(connection, &crate::takedown::locate_job(id, now)).await?;
    }
    Ok(id)
}

pub(crate) async fn record_page_media(
    pool: &Pool<Db>,
    item_id: i64,
    media: &[crate::takedown::NewPageMedia],
    fetched_at: i64,
    audit: &NewAuditEntry,
) -> Result<(), StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    for medium in media {
        let known = medium.hashes.known.as_ref();
        sqlx::query(
            "INSERT INTO page_media (item_id, url, media_type, size, md5, sha1, sha256, pdq, \
             pdq_quality, matched_bank, matched_content_id, matched_distance, fetched_at, \
             key_id, sealed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (item_id, sha256) DO NOTHING",
        )
        .bind(item_id)
        .bind(&medium.url)
        .bind(&medium.media_type)
        .bind(medium.size)
        .bind(&medium.hashes.md5)
        .bind(&medium.hashes.sha1)
        .bind(&medium.hashes.sha256)
        .bind(&medium.hashes.pdq)
        .bind(medium.hashes.pdq_quality)
        .bind(known.map(|k| k.bank.as_str()))
        .bind(known.map(|k| k.content_id))
        .bind(known.map(|k| k.distance))
        .bind(fetched_at)
        .bind(medium.sealed.as_ref().map(|(key_id, _)| key_id.as_str()))
        .bind(medium.sealed.as_ref().map(|(_, sealed)| sealed.as_slice()))
        .execute(&mut *transaction)
        .await?;
    }
    commit_audited(transaction, audit).await
}

pub(crate) async fn page_media(
    pool: &Pool<Db>,
    item_id: i64,
) -> Result<Vec<crate::takedown::PageMedia>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {PAGE_MEDIA_COLUMNS} FROM page_media WHERE item_id = $1 ORDER BY id"
    ))
    .bind(item_id)
    .fetch_all(pool)
    .await?)
}

pub(crate) async fn resolve_known_page(
    pool: &Pool<Db>,
    item_id: i64,
    known: &crate::KnownMatch,
    now: i64,
    audit: &NewAuditEntry,
) -> Result<Option<crate::takedown::Takedown>, StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    let resolved = sqlx::query(
        "UPDATE items SET status = 'known', matched_bank = $1, matched_content_id = $2, \
         matched_distance = $3, decided_at = $4 WHERE id = $5 AND status = 'queued'",
    )
    .bind(&known.bank)
    .bind(known.content_id)
    .bind(known.distance)
    .bind(now)
    .bind(item_id)
    .execute(&mut *transaction)
    .await?;
    if resolved.rows_affected() == 0 {
        return Ok(None);
    }
    let opened = open_takedown_in(&mut transaction, item_id, "automatic", now).await?;
    commit_audited(transaction, audit).await?;
    match opened {
        Some(id) => Ok(Some(takedown(pool, id).await?)),
        None => Ok(None),
    }
}

pub(crate) async fn takedown(
    pool: &Pool<Db>,
    id: i64,
) -> Result<crate::takedown::Takedown, StoreError> {
    sqlx::query_as(&format!(
        "SELECT {TAKEDOWN_COLUMNS} FROM {TAKEDOWN_FROM} WHERE t.id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("takedown {id}")))
}

pub(crate) async fn takedown_of_item(
    pool: &Pool<Db>,
    item_id: i64,
) -> Result<Option<crate::takedown::Takedown>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {TAKEDOWN_COLUMNS} FROM {TAKEDOWN_FROM} WHERE t.item_id = $1"
    ))
    .bind(item_id)
    .fetch_optional(pool)
    .await?)
}

pub(crate) async fn takedowns_opened(
    pool: &Pool<Db>,
    from: i64,
    to: i64,
) -> Result<Vec<crate::takedown::Takedown>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {TAKEDOWN_COLUMNS} FROM {TAKEDOWN_FROM} \
         WHERE t.opened_at >= $1 AND t.opened_at < $2 ORDER BY t.opened_at, t.id"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?)
}

pub(crate) async fn locate_takedown(
    pool: &Pool<Db>,
    id: i64,
    location: &crate::takedown::Location,
    now: i64,
    audit: &NewAuditEntry,
) -> Result<crate::takedown::Takedown, StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    let located = sqlx::query(
        "UPDATE takedowns SET state = 'open', address = $1, asn = $2, network = $3, \
         country = $4, recipients = $5, located_at = $6 WHERE id = $7 AND state = 'locating'",
    )
    .bind(&location.address)
    .bind(location.asn)
    .bind(&location.network)
    .bind(&location.country)
    .bind(location.recipients.join(","))
    .bind(now)
    .bind(id)
    .execute(&mut *transaction)
    .await?;
    if located.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "takedown {id} is not waiting to be located"
        )));
    }
    commit_audited(transaction, audit).await?;
    takedown(pool, id).await
}

pub(crate) async fn record_check(
    pool: &Pool<Db>,
    id: i64,
    check: &crate::takedown::NewCheck,
    audit: &NewAuditEntry,
) -> Result<crate::takedown::Takedown, StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    sqlx::query(
        "INSERT INTO url_checks (takedown_id, checked_at, http_status, outcome, detail, \
         media_served) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(check.checked_at)
    .bind(check.http_status)
    .bind(check.outcome.as_str())
    .bind(&check.detail)
    .bind(check.media_served)
    .execute(&mut *transaction)
    .await?;
    let closes_as = check.outcome.closes_as().map(|state| state.as_str());
    sqlx::query(
        "UPDATE takedowns SET checks = checks + 1, \
         state = CASE WHEN $1 IS NOT NULL AND state IN ('locating', 'open') THEN $1 \
         ELSE state END, \
         closed_at = CASE WHEN $1 IS NOT NULL AND state IN ('locating', 'open') THEN $2 \
         ELSE closed_at END \
         WHERE id = $3",
    )
    .bind(closes_as)
    .bind(check.checked_at)
    .bind(id)
    .execute(&mut *transaction)
    .await?;
    commit_audited(transaction, audit).await?;
    takedown(pool, id).await
}

pub(crate) async fn checks_of(
    pool: &Pool<Db>,
    takedown_id: i64,
) -> Result<Vec<crate::takedown::UrlCheck>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, takedown_id, checked_at, http_status, outcome, detail, media_served \
         FROM url_checks WHERE takedown_id = $1 ORDER BY checked_at, id",
    )
    .bind(takedown_id)
    .fetch_all(pool)
    .await?)
}

pub(crate) async fn notice_sent(pool: &Pool<Db>, notice_key: &str) -> Result<bool, StoreError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM notices WHERE notice_key = $1")
        .bind(notice_key)
        .fetch_optional(pool)
        .await?;
    Ok(found.is_some())
}

pub(crate) async fn record_notice(
    pool: &Pool<Db>,
    notice: &crate::takedown::NewNotice,
    audit: &NewAuditEntry,
) -> Result<bool, StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO notices (takedown_id, notice_key, sequence, recipient, channel, address, \
         sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (notice_key) DO NOTHING RETURNING id",
    )
    .bind(notice.takedown_id)
    .bind(&notice.notice_key)
    .bind(notice.sequence)
    .bind(&notice.recipient)
    .bind(&notice.channel)
    .bind(&notice.address)
    .bind(notice.sent_at)
    .fetch_optional(&mut *transaction)
    .await?;
    if inserted.is_none() {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE takedowns SET notices = notices + 1, \
         first_notice_at = COALESCE(first_notice_at, $1) WHERE id = $2",
    )
    .bind(notice.sent_at)
    .bind(notice.takedown_id)
    .execute(&mut *transaction)
    .await?;
    commit_audited(transaction, audit).await?;
    Ok(true)
}

pub(crate) async fn notices_of(
    pool: &Pool<Db>,
    takedown_id: i64,
) -> Result<Vec<crate::takedown::NoticeRecord>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {NOTICE_COLUMNS} FROM notices WHERE takedown_id = $1 ORDER BY sent_at, id"
    ))
    .bind(takedown_id)
    .fetch_all(pool)
    .await?)
}

pub(crate) async fn notices_sent_between(
    pool: &Pool<Db>,
    from: i64,
    to: i64,
) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM notices WHERE sent_at >= $1 AND sent_at < $2")
            .bind(from)
            .bind(to)
            .fetch_one(pool)
            .await?,
    )
}

pub(crate) async fn record_escalation(
    pool: &Pool<Db>,
    id: i64,
    now: i64,
    audit: &NewAuditEntry,
) -> Result<bool, StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    let escalated = sqlx::query(
        "UPDATE takedowns SET escalated_at = $1 WHERE id = $2 AND escalated_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *transaction)
    .await?;
    if escalated.rows_affected() == 0 {
        return Ok(false);
    }
    commit_audited(transaction, audit).await?;
    Ok(true)
}

pub(crate) async fn put_reference_data(
    pool: &Pool<Db>,
    name: &str,
    content: &[u8],
    now: i64,
    audit: &NewAuditEntry,
) -> Result<(), StoreError> {
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    sqlx::query(
        "INSERT INTO reference_data (name, content, imported_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET content = $2, imported_at = $3",
    )
    .bind(name)
    .bind(content)
    .bind(now)
    .execute(&mut *transaction)
    .await?;
    commit_audited(transaction, audit).await
}

pub(crate) async fn reference_data(
    pool: &Pool<Db>,
) -> Result<Vec<crate::takedown::ReferenceData>, StoreError> {
    Ok(
        sqlx::query_as("SELECT name, content, imported_at FROM reference_data ORDER BY name")
            .fetch_all(pool)
            .await?,
    )
}

pub(crate) async fn reference_data_version(
    pool: &Pool<Db>,
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT name, imported_at FROM reference_data ORDER BY name")
            .fetch_all(pool)
            .await?,
    )
}

pub(crate) async fn decisions_between(
    pool: &Pool<Db>,
    from: i64,
    to: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT CASE WHEN status = 'known' THEN 'known' ELSE decision END AS outcome, \
         COUNT(*) AS items FROM items \
         WHERE status IN ('decided', 'known') \
           AND COALESCE(decided_at, first_reported_at) >= $1 \
           AND COALESCE(decided_at, first_reported_at) < $2 \
         GROUP BY outcome ORDER BY items DESC, outcome",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?)
}
