//! The takedown workers' queue: a job asked for twice exists once, two workers never hold one
//! job, a dead worker's lease runs out and another takes over, failures back off and give up.

use std::collections::HashSet;

use vigie_store::{backoff_ms, JobState, NewJob, StoreError};

use crate::support::TestDb;

fn notice(key: &str, run_at: i64) -> NewJob {
    NewJob {
        kind: "notice".into(),
        dedup_key: key.into(),
        payload: format!("{{\"notice\":\"{key}\"}}"),
        run_at,
        max_attempts: 3,
    }
}

async fn a_job_asked_for_twice_exists_once(db: &TestDb) {
    let store = &db.store;
    let first = store
        .enqueue_job(&notice("notice:item-1-1", 0))
        .await
        .unwrap();
    assert!(first.is_some());
    assert_eq!(first.unwrap().state, JobState::Pending);
    assert!(store
        .enqueue_job(&notice("notice:item-1-1", 0))
        .await
        .unwrap()
        .is_none());
    let claimed = store
        .claim_jobs("w1", &["notice"], 10, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    store.complete_job(claimed[0].id, "w1", 20).await.unwrap();
    // Done, it is still never asked for again.
    assert!(store
        .enqueue_job(&notice("notice:item-1-1", 0))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.job(claimed[0].id).await.unwrap().state,
        JobState::Done
    );
}
on_both_databases!(a_job_asked_for_twice_exists_once);

async fn only_due_jobs_of_the_asked_kinds_are_claimed_in_time_order(db: &TestDb) {
    let store = &db.store;
    store.enqueue_job(&notice("late", 500)).await.unwrap();
    store.enqueue_job(&notice("early", 100)).await.unwrap();
    let mut fetch = notice("a fetch", 0);
    fetch.kind = "fetch".into();
    store.enqueue_job(&fetch).await.unwrap();
    let now = store
        .claim_jobs("w", &["notice"], 200, 1_000, 10)
        .await
        .unwrap();
    let keys: Vec<&str> = now.iter().map(|job| job.dedup_key.as_str()).collect();
    assert_eq!(keys, ["early"]);
    assert_eq!(now[0].attempts, 1);
    assert_eq!(now[0].locked_until, Some(1_200));
    let later = store
        .claim_jobs("w", &["notice"], 600, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].dedup_key, "late");
    assert!(store
        .claim_jobs("w", &[], 600, 1_000, 10)
        .await
        .unwrap()
        .is_empty());
}
on_both_databases!(only_due_jobs_of_the_asked_kinds_are_claimed_in_time_order);

async fn workers_claiming_at_once_never_share_a_job(db: &TestDb) {
    let store = &db.store;
    for n in 0..200 {
        store
            .enqueue_job(&notice(&format!("notice:item-{n}-1"), 0))
            .await
            .unwrap();
    }
    let mut workers = Vec::new();
    for worker in 0..4 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let name = format!("worker-{worker}");
            let mut mine = Vec::new();
            loop {
                let claimed = store
                    .claim_jobs(&name, &["notice"], 1, 60_000, 7)
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                for job in claimed {
                    store.complete_job(job.id, &name, 2).await.unwrap();
                    mine.push(job.id);
                }
            }
        }));
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    for worker in workers {
        for id in worker.await.unwrap() {
            total += 1;
            assert!(seen.insert(id), "job {id} was claimed twice");
        }
    }
    assert_eq!(total, 200);
}
on_both_databases!(workers_claiming_at_once_never_share_a_job);

async fn a_dead_worker_s_job_is_taken_over_and_failures_back_off(db: &TestDb) {
    let store = &db.store;
    let job = store.enqueue_job(&notice("n", 0)).await.unwrap().unwrap();
    let held = store
        .claim_jobs("dies", &["notice"], 0, 1_000, 1)
        .await
        .unwrap();
    assert_eq!(held[0].id, job.id);
    // Within the lease nobody else gets it; after, another worker does.
    assert!(store
        .claim_jobs("w2", &["notice"], 999, 1_000, 1)
        .await
        .unwrap()
        .is_empty());
    let taken = store
        .claim_jobs("w2", &["notice"], 1_001, 1_000, 1)
        .await
        .unwrap();
    assert_eq!(taken[0].attempts, 2);
    // The dead worker, back, can no longer complete it.
    let late = store.complete_job(job.id, "dies", 1_002).await.unwrap_err();
    assert!(matches!(late, StoreError::Conflict(_)));

    let retried = store
        .fail_job(job.id, "w2", "connection refused", 2_000)
        .await
        .unwrap();
    assert_eq!(retried.state, JobState::Pending);
    assert_eq!(retried.run_at, 2_000 + backoff_ms(2));
    assert_eq!(retried.last_error.as_deref(), Some("connection refused"));
    assert!(store
        .claim_jobs("w2", &["notice"], retried.run_at - 1, 1_000, 1)
        .await
        .unwrap()
        .is_empty());
    let third = store
        .claim_jobs("w2", &["notice"], retried.run_at, 1_000, 1)
        .await
        .unwrap();
    assert_eq!(third[0].attempts, 3);
    let failed = store
        .fail_job(job.id, "w2", "still refused", 9_000_000)
        .await
        .unwrap();
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.finished_at, Some(9_000_000));
    assert!(store
        .claim_jobs("w2", &["notice"], i64::MAX / 2, 1_000, 1)
        .await
        .unwrap()
        .is_empty());
}
on_both_databases!(a_dead_worker_s_job_is_taken_over_and_failures_back_off);

#[test]
fn back_off_doubles_from_a_minute_to_a_day() {
    assert_eq!(backoff_ms(1), 60_000);
    assert_eq!(backoff_ms(2), 120_000);
    assert_eq!(backoff_ms(0), 60_000);
    assert_eq!(backoff_ms(30), 24 * 3_600_000);
}
