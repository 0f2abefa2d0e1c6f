// The job queue's queries, compiled once per driver like `queries.rs` (see `jobs.rs`).

const JOB_COLUMNS: &str = "id, kind, dedup_key, payload, state, run_at, attempts, \
     max_attempts, locked_by, locked_until, last_error, created_at, finished_at";

pub(crate) async fn enqueue_job(
    pool: &Pool<Db>,
    job: &crate::jobs::NewJob,
) -> Result<Option<crate::jobs::Job>, StoreError> {
    enqueue_job_in(&mut *pool.acquire().await?, job).await
}

/// [`enqueue_job`] in the caller's connection or transaction, so that a job is asked for
/// together with the write that needs it (a takedown opened, an item made).
async fn enqueue_job_in(
    connection: &mut Connection,
    job: &crate::jobs::NewJob,
) -> Result<Option<crate::jobs::Job>, StoreError> {
    let stored = sqlx::query_as(&format!(
        "INSERT INTO jobs (kind, dedup_key, payload, state, run_at, attempts, max_attempts, \
         created_at) VALUES ($1, $2, $3, 'pending', $4, 0, $5, $6) \
         ON CONFLICT (dedup_key) DO NOTHING RETURNING {JOB_COLUMNS}"
    ))
    .bind(&job.kind)
    .bind(&job.dedup_key)
    .bind(&job.payload)
    .bind(job.run_at)
    .bind(job.max_attempts)
    .bind(now_millis())
    .fetch_optional(&mut *connection)
    .await?;
    Ok(stored)
}

pub(crate) async fn claim_jobs(
    pool: &Pool<Db>,
    worker: &str,
    kinds: &[String],
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<crate::jobs::Job>, StoreError> {
    check_limit(limit)?;
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    // The kinds are bound one parameter each: both databases take `IN ($n, ...)`.
    let kind_parameters: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 5)).collect();
    let sql = format!(
        "UPDATE jobs SET state = 'running', locked_by = $1, locked_until = $2, \
         attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM jobs \
           WHERE ((state = 'pending' AND run_at <= $3) \
                  OR (state = 'running' AND locked_until < $3)) \
             AND kind IN ({}) \
           ORDER BY run_at, id LIMIT $4{}) \
         RETURNING {JOB_COLUMNS}",
        kind_parameters.join(", "),
        dialect::SKIP_LOCKED,
    );
    let mut query = sqlx::query_as(&sql)
        .bind(worker)
        .bind(now.saturating_add(lease_ms))
        .bind(now)
        .bind(limit);
    for kind in kinds {
        query = query.bind(kind);
    }
    let mut claimed: Vec<crate::jobs::Job> = query.fetch_all(pool).await?;
    claimed.sort_by_key(|job| (job.run_at, job.id));
    Ok(claimed)
}

pub(crate) async fn complete_jobs(
    pool: &Pool<Db>,
    ids: &[i64],
    worker: &str,
    now: i64,
) -> Result<u64, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    // The ids are bound one parameter each, as the kinds of `claim_jobs` are.
    let id_parameters: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "UPDATE jobs SET state = 'done', finished_at = $1, locked_by = NULL, \
         locked_until = NULL WHERE id IN ({}) AND state = 'running' AND locked_by = $2",
        id_parameters.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(now).bind(worker);
    for id in ids {
        query = query.bind(id);
    }
    Ok(query.execute(pool).await?.rows_affected())
}

pub(crate) async fn fail_job(
    pool: &Pool<Db>,
    id: i64,
    worker: &str,
    error: &str,
    now: i64,
) -> Result<crate::jobs::Job, StoreError> {
    let current = job(pool, id).await?;
    let retry_at = now.saturating_add(crate::jobs::backoff_ms(current.attempts));
    let failed: Option<crate::jobs::Job> = sqlx::query_as(&format!(
        "UPDATE jobs SET last_error = $1, locked_by = NULL, locked_until = NULL, \
         state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END, \
         run_at = CASE WHEN attempts >= max_attempts THEN run_at ELSE $2 END, \
         finished_at = CASE WHEN attempts >= max_attempts THEN $3 ELSE NULL END \
         WHERE id = $4 AND state = 'running' AND locked_by = $5 RETURNING {JOB_COLUMNS}"
    ))
    .bind(error)
    .bind(retry_at)
    .bind(now)
    .bind(id)
    .bind(worker)
    .fetch_optional(pool)
    .await?;
    failed.ok_or_else(|| StoreError::Conflict(format!("job {id} is not held by {worker}")))
}

pub(crate) async fn job(pool: &Pool<Db>, id: i64) -> Result<crate::jobs::Job, StoreError> {
    sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("job {id}")))
}
