//! `vigie audit verify` on a real store: intact, then after a row is edited behind its back.

mod common;

use common::{stderr, stdout};
use serde_json::json;
use vigie_store::{NewAuditEntry, Store};

#[tokio::test(flavor = "multi_thread")]
async fn an_edited_audit_row_is_named_by_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let url = format!("sqlite:{}", data.join("vigie.sqlite3").display());
    let store = Store::open(&url).await.unwrap();
    for n in 0..5 {
        store
            .append_audit(&NewAuditEntry {
                at: 1_700_000_000_000 + n,
                actor: "user:admin".into(),
                action: "bank.create".into(),
                target: format!("BANK_{n}"),
                detail: json!({"n": n}),
            })
            .await
            .unwrap();
    }
    let verify = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
            .args(["audit", "verify", "--data-dir"])
            .arg(&data)
            .output()
            .unwrap()
    };
    let intact = verify();
    assert!(intact.status.success(), "{}", stderr(&intact));
    assert!(
        stdout(&intact).contains("intact: 5 rows"),
        "{}",
        stdout(&intact)
    );

    let mut connection = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET target = 'SOMETHING_ELSE' WHERE seq = 3")
        .execute(&mut connection)
        .await
        .unwrap();
    let broken = verify();
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        stdout(&broken).contains("BROKEN at row 3"),
        "{}",
        stdout(&broken)
    );
}
