//! Everyone's actions go into the audit chain; concurrent writers never fork it, and each kind
//! of tampering done behind the store's back is named at the row where it happened.

use serde_json::json;
use vigie_store::{AuditVerdict, NewAuditEntry, GENESIS_HASH};

use crate::support::TestDb;

on_both_databases!(tampering_with_the_audit_log_is_caught);

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
