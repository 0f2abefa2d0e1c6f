//! The durable job queue the takedown workers share: fetch a reported page, send a notice,
//! re-check a URL. Jobs live in the store, so they survive restarts and any number of
//! `vigie worker` processes on one PostgreSQL share them (`FOR UPDATE SKIP LOCKED`).
//!
//! A job is asked for with a `dedup_key` that names what it does (`notice:item-42-3`): asking
//! twice, from any process, makes one job. A worker claims due jobs with a lease; it completes
//! each, or reports the failure, which schedules a retry after a back-off until the job's
//! attempts run out. A worker that dies holding a lease loses it when it expires, and another
//! worker takes the job over: delivery is at least once, so what a job sends must carry its own
//! id (a notice's `Message-ID`, a webhook's notice id) for the recipient to recognise a repeat.
//!
//! Jobs are the queue's mechanics, not decisions: they are not audited. What a job does (a
//! notice sent, a URL found removed) is recorded and audited by the code that does it.

// What `dispatch!` names, in scope where it expands.
use crate::{on_postgres, on_sqlite, Pools};
use crate::{Store, StoreError};

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for its `run_at`.
    Pending,
    /// Claimed by a worker whose lease has not expired.
    Running,
    Done,
    /// Failed as many times as it may; kept with its last error for an operator.
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }
}

impl TryFrom<String> for JobState {
    type Error = StoreError;

    fn try_from(text: String) -> Result<Self, StoreError> {
        [
            JobState::Pending,
            JobState::Running,
            JobState::Done,
            JobState::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
        .ok_or_else(|| StoreError::Invalid(format!("unknown job state '{text}'")))
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub dedup_key: String,
    pub payload: String,
    #[sqlx(try_from = "String")]
    pub state: JobState,
    pub run_at: i64,
    /// Claims so far, the current one included.
    pub attempts: i64,
    pub max_attempts: i64,
    pub locked_by: Option<String>,
    pub locked_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// A job to ask for.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    /// What makes two requests the same job.
    pub dedup_key: String,
    pub payload: String,
    pub run_at: i64,
    pub max_attempts: i64,
}

/// The most jobs completed in one statement: one bound parameter each, well under SQLite's
/// limit of 32,766.
pub const MAX_JOBS_AT_ONCE: usize = 1_000;

/// How long to wait before retry `attempt` (1 after the first failure): a minute, doubling,
/// at most a day, so a host that is down for hours is not hammered and a day-long outage still
/// gets a try every day.
pub fn backoff_ms(attempt: i64) -> i64 {
    const MINUTE: i64 = 60_000;
    const DAY: i64 = 24 * 60 * MINUTE;
    let doublings = attempt.clamp(1, 20) - 1;
    (MINUTE << doublings).min(DAY)
}

impl Store {
    /// Asks for a job; `None` if a job with its `dedup_key` exists already (in any state: a
    /// notice sent is never asked for again).
    pub async fn enqueue_job(&self, job: &NewJob) -> Result<Option<Job>, StoreError> {
        if job.max_attempts < 1 {
            return Err(StoreError::Invalid(
                "a job needs at least one attempt".into(),
            ));
        }
        dispatch!(self.enqueue_job(job))
    }

    /// Claims up to `limit` due jobs for `worker`, leased until `now + lease_ms`: pending jobs
    /// whose time has come, and running jobs whose lease expired (their worker died). Of
    /// several workers claiming at once, each job goes to one.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        kinds: &[&str],
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<Job>, StoreError> {
        let kinds: Vec<String> = kinds.iter().map(|kind| kind.to_string()).collect();
        dispatch!(self.claim_jobs(worker, &kinds, now, lease_ms, limit))
    }

    /// Marks a claimed job done; `Conflict` if `worker` no longer holds it (its lease expired
    /// and another worker took it over).
    pub async fn complete_job(&self, id: i64, worker: &str, now: i64) -> Result<(), StoreError> {
        match self.complete_jobs(&[id], worker, now).await? {
            1 => Ok(()),
            _ => Err(StoreError::Conflict(format!(
                "job {id} is not held by {worker}"
            ))),
        }
    }

    /// Marks claimed jobs done in one statement (a worker's batch, one commit); returns how
    /// many were, leaving those `worker` no longer holds as they are.
    pub async fn complete_jobs(
        &self,
        ids: &[i64],
        worker: &str,
        now: i64,
    ) -> Result<u64, StoreError> {
        if ids.len() > MAX_JOBS_AT_ONCE {
            return Err(StoreError::Invalid(format!(
                "at most {MAX_JOBS_AT_ONCE} jobs are completed at once"
            )));
        }
        dispatch!(self.complete_jobs(ids, worker, now))
    }

    /// Records a claimed job's failure: retried at `now + backoff_ms(attempts)` while it has
    /// attempts left, `Failed` after. `Conflict` if `worker` no longer holds it.
    pub async fn fail_job(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        now: i64,
    ) -> Result<Job, StoreError> {
        dispatch!(self.fail_job(id, worker, error, now))
    }

    pub async fn job(&self, id: i64) -> Result<Job, StoreError> {
        dispatch!(self.job(id))
    }
}
