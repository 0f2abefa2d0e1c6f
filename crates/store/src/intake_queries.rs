// The intake's queries (reports, items, attachments), written once and compiled once per driver
// like `queries.rs`: `lib.rs` includes this file in `on_sqlite` and `on_postgres` beside it, so
// it uses that file's `Db`, `dialect`, `Connection` and `append_audit_in`.

/// The columns a report's items are read back with, `ri` being `report_items` and `i` `items`.
const REPORT_ITEM_COLUMNS: &str = "i.id, i.kind, i.status, ri.created_item, i.matched_bank, \
     i.matched_content_id, i.matched_distance";

const ITEM_SUMMARY_COLUMNS: &str = "id, kind, url, normalised_url, sha256, category, urgency, \
     reporters, first_reported_at, last_reported_at, status, matched_bank, matched_content_id, \
     matched_distance";

pub(crate) async fn submit_reports(
    pool: &Pool<Db>,
    reports: &[crate::intake::NewReport],
) -> Result<Vec<Result<crate::intake::Submitted, StoreError>>, StoreError> {
    let checks: Vec<Result<(), StoreError>> =
        reports.iter().map(crate::intake::check_report).collect();
    if checks.iter().all(Result::is_err) {
        // Nothing to write: no transaction, no lock.
        return Ok(checks
            .into_iter()
            .map(|check| check.map(|()| unreachable!("every check failed")))
            .collect());
    }
    let received_at = now_millis();
    // Every report appends its audit row, so the audit log's lock is held throughout: on
    // PostgreSQL that also makes the look-up-then-insert of items safe from a concurrent
    // writer (another replica) inserting the same normalised URL in between.
    let mut transaction = dialect::begin_write(pool, Logs::Audit).await?;
    let mut answers = Vec::with_capacity(reports.len());
    let mut entries = Vec::new();
    for (report, check) in reports.iter().zip(checks) {
        if let Err(refused) = check {
            answers.push(Err(refused));
            continue;
        }
        if let (Some(key), Some(idempotency_key)) = (report.api_key_id, &report.idempotency_key) {
            if let Some(first) = idempotent_report(&mut transaction, key, idempotency_key).await? {
                answers.push(Ok(crate::intake::Submitted {
                    report: first,
                    replayed: true,
                }));
                continue;
            }
        }
        let stored = insert_report(&mut transaction, report, received_at).await?;
        entries.push(receipt_entry(report, &stored));
        answers.push(Ok(crate::intake::Submitted {
            report: stored,
            replayed: false,
        }));
    }
    append_audit_in(&mut transaction, &entries).await?;
    transaction.commit().await?;
    Ok(answers)
}

pub(crate) async fn report_by_receipt(
    pool: &Pool<Db>,
    receipt: &str,
) -> Result<crate::intake::Report, StoreError> {
    let mut connection = pool.acquire().await?;
    let row: Option<crate::intake::ReportRow> = sqlx::query_as(
        "SELECT id, receipt, channel, api_key_id, partner_reference, category, received_at \
         FROM reports WHERE receipt = $1",
    )
    .bind(receipt)
    .fetch_optional(&mut *connection)
    .await?;
    let row = row.ok_or_else(|| StoreError::NotFound(format!("report {receipt}")))?;
    let items = report_items(&mut connection, row.id).await?;
    Ok(row.with_items(items))
}

pub(crate) async fn item_summary(
    pool: &Pool<Db>,
    id: i64,
) -> Result<crate::intake::ItemSummary, StoreError> {
    sqlx::query_as(&format!(
        "SELECT {ITEM_SUMMARY_COLUMNS} FROM items WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("item {id}")))
}

/// The report a partner's key already sent with this idempotency key, if any.
async fn idempotent_report(
    connection: &mut Connection,
    api_key_id: i64,
    idempotency_key: &str,
) -> Result<Option<crate::intake::Report>, StoreError> {
    let row: Option<crate::intake::ReportRow> = sqlx::query_as(
        "SELECT id, receipt, channel, api_key_id, partner_reference, category, received_at \
         FROM reports WHERE api_key_id = $1 AND idempotency_key = $2",
    )
    .bind(api_key_id)
    .bind(idempotency_key)
    .fetch_optional(&mut *connection)
    .await?;
    match row {
        Some(row) => {
            let items = report_items(connection, row.id).await?;
            Ok(Some(row.with_items(items)))
        }
        None => Ok(None),
    }
}

/// A report's items in the order it named them.
async fn report_items(
    connection: &mut Connection,
    report_id: i64,
) -> Result<Vec<crate::intake::ReportItem>, StoreError> {
    let rows: Vec<crate::intake::ReportItemRow> = sqlx::query_as(&format!(
        "SELECT {REPORT_ITEM_COLUMNS} FROM report_items ri JOIN items i ON i.id = ri.item_id \
         WHERE ri.report_id = $1 ORDER BY ri.position"
    ))
    .bind(report_id)
    .fetch_all(connection)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Inserts one checked report with its items, in the caller's write transaction.
async fn insert_report(
    connection: &mut Connection,
    report: &crate::intake::NewReport,
    received_at: i64,
) -> Result<crate::intake::Report, StoreError> {
    let receipt = crate::intake::new_receipt();
    let report_id: i64 = sqlx::query_scalar(
        "INSERT INTO reports (receipt, channel, api_key_id, idempotency_key, partner_reference, \
         category, description, contact_email, language, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(&receipt)
    .bind(report.channel.as_str())
    .bind(report.api_key_id)
    .bind(&report.idempotency_key)
    .bind(&report.partner_reference)
    .bind(&report.category)
    .bind(&report.description)
    .bind(&report.contact_email)
    .bind(&report.language)
    .bind(received_at)
    .fetch_one(&mut *connection)
    .await?;

    let mut items: Vec<crate::intake::ReportItem> = Vec::new();
    // A report counts once for each item however often it names it (the same URL twice, or
    // two spellings of it; the same file twice).
    let mut seen_urls = std::collections::HashSet::new();
    for url in &report.urls {
        if seen_urls.insert(url.normalised.as_str()) {
            let item = join_item(connection, report, ItemKey::Url(url), received_at).await?;
            items.push(item);
        }
    }
    let mut seen_files = std::collections::HashSet::new();
    for file in &report.attachments {
        if seen_files.insert(file.hashes.sha256.as_str()) {
            let item = join_item(connection, report, ItemKey::File(file), received_at).await?;
            items.push(item);
        }
    }
    for (position, item) in items.iter().enumerate() {
        sqlx::query(
            "INSERT INTO report_items (report_id, item_id, position, created_item) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(report_id)
        .bind(item.id)
        .bind(position as i64)
        .bind(item.new)
        .execute(&mut *connection)
        .await?;
    }
    Ok(crate::intake::Report {
        id: report_id,
        receipt,
        channel: report.channel,
        api_key_id: report.api_key_id,
        partner_reference: report.partner_reference.clone(),
        category: report.category.clone(),
        received_at,
        items,
    })
}

/// An item a report joined, as the join's UPDATE returns it: id, status, and the bank match
/// (bank, content id, distance).
type JoinedItem = (i64, String, Option<String>, Option<i64>, Option<i64>);

/// What an item is found by.
#[derive(Clone, Copy)]
enum ItemKey<'a> {
    Url(&'a crate::intake::ReportedUrl),
    File(&'a crate::intake::NewAttachment),
}

/// Joins the report to the item its URL or file names, or makes the item (with the file's
/// attachment row). A join counts a reporter, raises the category when this report's is more
/// urgent, and a bank match turns a queued item known.
async fn join_item(
    connection: &mut Connection,
    report: &crate::intake::NewReport,
    key: ItemKey<'_>,
    received_at: i64,
) -> Result<crate::intake::ReportItem, StoreError> {
    use crate::intake::{ItemKind, ItemStatus, KnownMatch, ReportItem};
    let (kind, column, value, known) = match key {
        ItemKey::Url(url) => (ItemKind::Url, "normalised_url", &url.normalised, None),
        ItemKey::File(file) => (
            ItemKind::File,
            "sha256",
            &file.hashes.sha256,
            file.hashes.known.as_ref(),
        ),
    };
    // One statement joins an existing item; in SQL every right-hand side reads the row as it
    // was, so the category test and the status test see the old urgency and status.
    let joined: Option<JoinedItem> = sqlx::query_as(&format!(
        "UPDATE items SET reporters = reporters + 1, last_reported_at = $1, \
             category = CASE WHEN $2 > urgency THEN $3 ELSE category END, \
             urgency = CASE WHEN $2 > urgency THEN $2 ELSE urgency END, \
             status = CASE WHEN $4 AND status = 'queued' THEN 'known' ELSE status END, \
             matched_bank = CASE WHEN $4 AND status = 'queued' THEN $5 ELSE matched_bank END, \
             matched_content_id = CASE WHEN $4 AND status = 'queued' THEN $6 \
             ELSE matched_content_id END, \
             matched_distance = CASE WHEN $4 AND status = 'queued' THEN $7 \
             ELSE matched_distance END \
             WHERE {column} = $8 \
             RETURNING id, status, matched_bank, matched_content_id, matched_distance"
    ))
    .bind(received_at)
    .bind(report.urgency)
    .bind(&report.category)
    .bind(known.is_some())
    .bind(known.map(|k| k.bank.as_str()))
    .bind(known.map(|k| k.content_id))
    .bind(known.map(|k| k.distance))
    .bind(value)
    .fetch_optional(&mut *connection)
    .await?;
    if let Some((id, status, bank, content_id, distance)) = joined {
        let status = ItemStatus::try_from(status)?;
        let known = match (status, bank, content_id) {
            (ItemStatus::Known, Some(bank), Some(content_id)) => Some(KnownMatch {
                bank,
                content_id,
                distance: distance.unwrap_or_default(),
            }),
            _ => None,
        };
        return Ok(ReportItem {
            id,
            kind,
            status,
            new: false,
            known,
        });
    }
    let status = if known.is_some() {
        ItemStatus::Known
    } else {
        ItemStatus::Queued
    };
    let url = match key {
        ItemKey::Url(url) => Some(url),
        ItemKey::File(_) => None,
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO items (kind, url, normalised_url, sha256, category, urgency, reporters, \
         first_reported_at, last_reported_at, status, matched_bank, matched_content_id, \
         matched_distance) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7, $8, $9, $10, $11) \
         RETURNING id",
    )
    .bind(kind.as_str())
    .bind(url.map(|url| url.url.as_str()))
    .bind(url.map(|url| url.normalised.as_str()))
    .bind(match key {
        ItemKey::File(file) => Some(file.hashes.sha256.as_str()),
        ItemKey::Url(_) => None,
    })
    .bind(&report.category)
    .bind(report.urgency)
    .bind(received_at)
    .bind(status.as_str())
    .bind(known.map(|k| k.bank.as_str()))
    .bind(known.map(|k| k.content_id))
    .bind(known.map(|k| k.distance))
    .fetch_one(&mut *connection)
    .await?;
    // A new URL is fetched by a takedown worker, which hashes what it serves and resolves
    // the item without a human view when that is known material.
    if let ItemKey::Url(_) = key {
        enqueue_job_in(connection, &crate::takedown::page_job(id, received_at)).await?;
    }
    if let ItemKey::File(file) = key {
        sqlx::query(
            "INSERT INTO attachments (item_id, file_name, media_type, size, md5, sha1, sha256, \
             pdq, pdq_quality, key_id, sealed, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(id)
        .bind(&file.file_name)
        .bind(&file.media_type)
        .bind(file.size)
        .bind(&file.hashes.md5)
        .bind(&file.hashes.sha1)
        .bind(&file.hashes.sha256)
        .bind(&file.hashes.pdq)
        .bind(file.hashes.pdq_quality)
        .bind(&file.key_id)
        .bind(&file.sealed)
        .bind(received_at)
        .execute(&mut *connection)
        .await?;
    }
    Ok(ReportItem {
        id,
        kind,
        status,
        new: true,
        known: known.cloned(),
    })
}

/// The audit row of a stored report: who sent it (the key, or the public), its receipt, and
/// what it named; never the description nor the reporter's e-mail address.
fn receipt_entry(
    report: &crate::intake::NewReport,
    stored: &crate::intake::Report,
) -> NewAuditEntry {
    let actor = match (report.api_key_id, &report.submitted_by) {
        (Some(key), _) => format!("key:{key}"),
        (None, Some(person)) => person.clone(),
        (None, None) => "public".to_owned(),
    };
    let items: Vec<serde_json::Value> = stored
        .items
        .iter()
        .map(|item| {
            serde_json::json!({
                "id": item.id,
                "kind": item.kind.as_str(),
                "new": item.new,
                "status": item.status.as_str(),
            })
        })
        .collect();
    NewAuditEntry {
        at: stored.received_at,
        actor,
        action: crate::intake::REPORT_RECEIVE_ACTION.to_owned(),
        target: stored.receipt.clone(),
        detail: serde_json::json!({
            "channel": report.channel.as_str(),
            "category": report.category,
            "items": items,
        }),
    }
}
