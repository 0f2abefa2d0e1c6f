//! Everyone's actions go into the audit chain; concurrent writers never fork it, each kind of
//! tampering done behind the store's back is named at the row where it happened, and a change
//! is never kept without its audit row, nor a row without its change.

use serde_json::json;
use vigie_store::{AuditVerdict, NewAuditEntry, NewBank, NewContent, StoreError, GENESIS_HASH};

use crate::support::{made_up_hex, TestDb};

on_both_databases!(
    tampering_with_the_audit_log_is_caught,
    a_change_and_its_audit_row_are_kept_together,
    a_batch_of_entries_is_chained_in_order,
);

const APPENDS: usize = 50;
const WRITERS: usize = 8;

async fn tampering_with_the_audit_log_is_caught(db: &TestDb) {
    let store = &db.store;
    assert_eq!(
        store.verify_audit().await.expect("verify"),
        AuditVerdict::Intact { rows: 0 }
    );

    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in (writer..APPENDS).step_by(WRITERS) {
                    let entry = NewAuditEntry {
                        at: 1_000 + n as i64,
                        actor: format!("user:writer{writer}"),
                        action: "bank.create".into(),
                        target: format!("BANK_{n}"),
                        detail: json!({ "n": n, "note": "made-up event" }),
                    };
                    store.append_audit(&entry).await.expect("append");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer task");
    }

    let rows = store.audit(0, 100).await.expect("read the log");
    assert_eq!(rows.len(), APPENDS);
    assert_eq!(rows[0].prev_hash, GENESIS_HASH);
    for (position, pair) in rows.windows(2).enumerate() {
        assert_eq!(pair[1].seq, position as i64 + 2);
        assert_eq!(pair[1].prev_hash, pair[0].hash, "fork at {}", pair[1].seq);
    }
    assert_eq!(rows[9].detail["note"], "made-up event");
    assert_eq!(store.audit(45, 100).await.expect("tail").len(), 5);
    assert_eq!(
        store.verify_audit().await.expect("verify"),
        AuditVerdict::Intact {
            rows: APPENDS as u64
        }
    );

    // Each tampering is earlier in the chain than the last, so each verdict names the new one.
    db.execute("DELETE FROM audit_log WHERE seq = 40").await;
    assert_eq!(
        store.verify_audit().await.expect("verify"),
        broken(41, "row deleted or reordered")
    );

    db.execute("UPDATE audit_log SET seq = -1 WHERE seq = 25")
        .await;
    db.execute("UPDATE audit_log SET seq = 25 WHERE seq = 30")
        .await;
    db.execute("UPDATE audit_log SET seq = 30 WHERE seq = -1")
        .await;
    assert_eq!(
        store.verify_audit().await.expect("verify"),
        broken(25, "row deleted or reordered")
    );

    db.execute("UPDATE audit_log SET detail = '{\"n\":999}' WHERE seq = 10")
        .await;
    assert_eq!(
        store.verify_audit().await.expect("verify"),
        broken(10, "row edited")
    );
}

fn broken(seq: i64, reason: &str) -> AuditVerdict {
    AuditVerdict::Broken {
        seq,
        reason: reason.into(),
    }
}

/// The entry an analyst's write leaves.
fn by_analyst(action: &str, target: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: 2_000,
        actor: "user:analyst".into(),
        action: action.into(),
        target: target.into(),
        detail: json!({}),
    }
}

async fn a_change_and_its_audit_row_are_kept_together(db: &TestDb) {
    let store = &db.store;
    let targets = || async {
        let rows = store.audit(0, 100).await.expect("read the log");
        rows.into_iter()
            .map(|row| (row.action, row.target))
            .collect::<Vec<_>>()
    };
    let pdq = |seed| NewContent {
        signals: vec![("pdq".into(), made_up_hex(seed, 64))],
        ..NewContent::default()
    };

    let bank = store
        .create_bank(&NewBank::named("REPORTS"), |bank| {
            by_analyst("bank.create", &bank.name)
        })
        .await
        .expect("create the bank");
    let content = store
        .add_content("REPORTS", &pdq(1), |content| {
            by_analyst("content.add", &format!("{}/{}", content.bank, content.id))
        })
        .await
        .expect("add a content");
    let created = vec![
        ("bank.create".to_owned(), bank.name.clone()),
        ("content.add".to_owned(), format!("REPORTS/{}", content.id)),
    ];
    assert_eq!(targets().await, created);

    // Changes refused by the store leave no row.
    assert!(matches!(
        store
            .create_bank(&NewBank::named("REPORTS"), |bank| {
                by_analyst("bank.create", &bank.name)
            })
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .add_content("NO_SUCH_BANK", &pdq(2), |content| {
                by_analyst("content.add", &content.id.to_string())
            })
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .delete_content(
                "REPORTS",
                content.id + 100,
                &by_analyst("content.delete", "x")
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(targets().await, created);

    // An audit row that cannot be written takes its change with it: here an index made behind
    // the store's back refuses a second row with the same action.
    db.execute("CREATE UNIQUE INDEX one_row_per_action ON audit_log (action)")
        .await;
    let changes = store.last_change().await.expect("last change");
    assert!(store
        .add_content("REPORTS", &pdq(3), |content| {
            by_analyst("content.add", &content.id.to_string())
        })
        .await
        .is_err());
    assert!(store
        .import_contents(
            "REPORTS",
            &[pdq(4), pdq(5)],
            &by_analyst("content.add", "two")
        )
        .await
        .is_err());
    assert!(store
        .create_bank(&NewBank::named("UNAUDITED"), |bank| {
            by_analyst("bank.create", &bank.name)
        })
        .await
        .is_err());
    assert_eq!(store.last_change().await.expect("unchanged"), changes);
    assert_eq!(
        store
            .bank_signals("REPORTS", 0, 10)
            .await
            .expect("signals")
            .len(),
        1
    );
    assert!(matches!(
        store.bank("UNAUDITED").await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(targets().await, created);

    store
        .delete_content(
            "REPORTS",
            content.id,
            &by_analyst("content.delete", "REPORTS/1"),
        )
        .await
        .expect("delete the content");
    let mut deleted = created.clone();
    deleted.push(("content.delete".to_owned(), "REPORTS/1".to_owned()));
    assert_eq!(targets().await, deleted);
    assert_eq!(
        store.verify_audit().await.expect("verify"),
        AuditVerdict::Intact { rows: 3 }
    );
}

async fn a_batch_of_entries_is_chained_in_order(db: &TestDb) {
    let store = &db.store;
    store
        .append_audit(&by_analyst("lookup", "before"))
        .await
        .expect("append one");
    let batch: Vec<NewAuditEntry> = (0..5)
        .map(|n| by_analyst("lookup", &format!("batch-{n}")))
        .collect();
    // A single append racing the batch goes before or after it, never into it.
    let beside = by_analyst("lookup", "beside");
    let (appended, single) = tokio::join!(store.append_audits(&batch), store.append_audit(&beside));
    let appended = appended.expect("append the batch");
    single.expect("append beside");
    let targets: Vec<&str> = appended.iter().map(|row| row.target.as_str()).collect();
    assert_eq!(
        targets,
        ["batch-0", "batch-1", "batch-2", "batch-3", "batch-4"]
    );
    for pair in appended.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq + 1);
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    let stored = store
        .audit(appended[0].seq - 1, 5)
        .await
        .expect("read the batch");
    assert_eq!(stored, appended);
    assert!(store
        .append_audits(&[])
        .await
        .expect("append nothing")
        .is_empty());
    assert_eq!(
        store.verify_audit().await.expect("verify"),
        AuditVerdict::Intact { rows: 7 }
    );
}
