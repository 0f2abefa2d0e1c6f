//! An analyst adds, disables and deletes contents, and an index replica follows the change log:
//! replaying the log must always give exactly the enabled signals the bank exports.

use std::collections::BTreeMap;

use vigie_store::{BankUpdate, ChangeKind, NewBank, NewContent, Store, StoreError};

use crate::support::{audited, made_up_hex, TestDb};

on_both_databases!(
    a_replica_follows_contents_through_the_change_log,
    concurrent_writers_keep_contents_and_log_consistent,
);

/// What a replica holds after applying every change: signal id to (type, value).
async fn replay(store: &Store) -> BTreeMap<i64, (String, String)> {
    let mut held = BTreeMap::new();
    let mut seq = 0;
    loop {
        let changes = store.changes_since(seq, 2).await.expect("read changes");
        let Some(last) = changes.last() else {
            return held;
        };
        seq = last.seq;
        for change in changes {
            match change.kind {
                ChangeKind::Add => {
                    let previous =
                        held.insert(change.signal_id, (change.signal_type, change.value));
                    assert!(
                        previous.is_none(),
                        "signal {} added twice",
                        change.signal_id
                    );
                }
                ChangeKind::Remove => {
                    let previous = held.remove(&change.signal_id);
                    assert!(
                        previous.is_some(),
                        "signal {} removed unheld",
                        change.signal_id
                    );
                }
            }
        }
    }
}

/// What the bank exports, read a page of two at a time.
async fn exported(store: &Store, bank: &str) -> BTreeMap<i64, (String, String)> {
    let mut signals = BTreeMap::new();
    let mut after_id = 0;
    loop {
        let page = store
            .bank_signals(bank, after_id, 2)
            .await
            .expect("export a page");
        let Some(last) = page.last() else {
            return signals;
        };
        after_id = last.id;
        for signal in page {
            signals.insert(signal.id, (signal.signal_type, signal.value));
        }
    }
}

async fn a_replica_follows_contents_through_the_change_log(db: &TestDb) {
    let store = &db.store;
    store
        .create_bank(&NewBank::named("REPORTS"), |_| audited("bank.create"))
        .await
        .expect("create REPORTS");
    store
        .create_bank(&NewBank::named("OTHER"), |_| audited("bank.create"))
        .await
        .expect("create OTHER");
    assert_eq!(store.last_change().await.expect("empty log"), 0);

    let first = NewContent {
        label: Some("https://example.invalid/item/1".into()),
        category: Some("category-a".into()),
        note: Some("seen twice".into()),
        signals: vec![
            ("pdq".into(), made_up_hex(1, 64)),
            ("md5".into(), made_up_hex(2, 32)),
        ],
    };
    let first = store
        .add_content("REPORTS", &first, |_| audited("content.add"))
        .await
        .expect("add the first content");
    assert_eq!(first.bank, "REPORTS");
    assert!(first.enabled);
    assert_eq!(
        store
            .content("REPORTS", first.id)
            .await
            .expect("read it back"),
        first
    );

    let second = NewContent {
        signals: vec![("sha256".into(), made_up_hex(3, 64))],
        ..NewContent::default()
    };
    let second = store
        .add_content("REPORTS", &second, |_| audited("content.add"))
        .await
        .expect("add the second content");
    let other = NewContent {
        signals: vec![("sha1".into(), made_up_hex(4, 40))],
        ..NewContent::default()
    };
    store
        .add_content("OTHER", &other, |_| audited("content.add"))
        .await
        .expect("add to OTHER");

    let changes = store.changes_since(0, 100).await.expect("read the log");
    let values: Vec<&str> = changes.iter().map(|change| change.value.as_str()).collect();
    assert_eq!(
        values,
        [
            &first.signals[0].1,
            &first.signals[1].1,
            &second.signals[0].1,
            &other.signals[0].1
        ]
    );
    assert!(changes.windows(2).all(|pair| pair[0].seq < pair[1].seq));
    assert!(changes.iter().all(|change| change.kind == ChangeKind::Add));
    assert_eq!(changes[0].content_id, first.id);
    assert_eq!(
        store.last_change().await.expect("last change"),
        changes[3].seq
    );
    assert_eq!(
        store
            .changes_since(changes[1].seq, 100)
            .await
            .expect("tail"),
        changes[2..]
    );

    let reports = exported(store, "REPORTS").await;
    assert_eq!(reports.len(), 3);
    assert_eq!(replay(store).await.len(), 4);

    // Nothing of a refused content is written, not even a change.
    let malformed = NewContent {
        signals: vec![("md5".into(), "NOT-HEX".into())],
        ..NewContent::default()
    };
    assert!(matches!(
        store
            .add_content("REPORTS", &malformed, |_| audited("content.add"))
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .add_content("NO_SUCH_BANK", &other, |_| audited("content.add"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.last_change().await.expect("unchanged"),
        changes[3].seq
    );
    assert!(matches!(
        store.content("OTHER", first.id).await,
        Err(StoreError::NotFound(_))
    ));

    // Disabling writes Remove rows, once; re-enabling writes Add rows.
    let disabled = store
        .update_content(
            "REPORTS",
            first.id,
            Some(false),
            Some(Some("category-b".into())),
            |_| audited("content.update"),
        )
        .await
        .expect("disable the first content");
    assert!(!disabled.enabled);
    assert_eq!(disabled.category.as_deref(), Some("category-b"));
    let removes = store
        .changes_since(changes[3].seq, 100)
        .await
        .expect("removes");
    assert_eq!(removes.len(), 2);
    assert!(removes
        .iter()
        .all(|change| change.kind == ChangeKind::Remove));
    store
        .update_content("REPORTS", first.id, Some(false), None, |_| {
            audited("content.update")
        })
        .await
        .expect("disable again");
    assert_eq!(
        store.last_change().await.expect("no new rows"),
        removes[1].seq
    );
    assert_eq!(exported(store, "REPORTS").await.len(), 1);
    assert_eq!(replay(store).await, {
        let mut enabled = exported(store, "REPORTS").await;
        enabled.extend(exported(store, "OTHER").await);
        enabled
    });

    let enabled = store
        .update_content("REPORTS", first.id, Some(true), Some(None), |_| {
            audited("content.update")
        })
        .await
        .expect("enable again");
    assert!(enabled.enabled);
    assert_eq!(enabled.category, None);
    assert_eq!(
        store.content("REPORTS", first.id).await.expect("stored"),
        enabled
    );
    assert_eq!(exported(store, "REPORTS").await, reports);

    // A bank with matching switched off keeps its contents.
    let switched_off = BankUpdate {
        matching_enabled_ratio: Some(0.0),
        ..BankUpdate::default()
    };
    store
        .update_bank("REPORTS", &switched_off, |_| audited("bank.update"))
        .await
        .expect("switch matching off");
    assert_eq!(
        store
            .content("REPORTS", second.id)
            .await
            .expect("still stored"),
        second
    );

    store
        .delete_content("REPORTS", second.id, &audited("content.delete"))
        .await
        .expect("delete the second content");
    assert!(matches!(
        store.content("REPORTS", second.id).await,
        Err(StoreError::NotFound(_))
    ));
    let last = store
        .changes_since(store.last_change().await.expect("seq") - 1, 10)
        .await;
    let last = last.expect("the delete's change");
    assert_eq!(last.len(), 1);
    assert_eq!(
        (last[0].kind, last[0].content_id),
        (ChangeKind::Remove, second.id)
    );
    assert_eq!(last[0].value, second.signals[0].1);

    store
        .delete_bank("REPORTS", &audited("bank.delete"))
        .await
        .expect("delete REPORTS");
    assert_eq!(replay(store).await, exported(store, "OTHER").await);
}

/// Analysts adding one by one while an import runs: ids are reserved in blocks, so this checks
/// that no two writers get the same block and that every signal is logged under its content.
async fn concurrent_writers_keep_contents_and_log_consistent(db: &TestDb) {
    let store = &db.store;
    store
        .create_bank(&NewBank::named("BUSY"), |_| audited("bank.create"))
        .await
        .expect("create BUSY");
    let import: Vec<NewContent> = (0..2_500)
        .map(|item| NewContent {
            signals: vec![("md5".into(), made_up_hex(1_000_000 + item, 32))],
            ..NewContent::default()
        })
        .collect();
    let importer = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .import_contents("BUSY", &import, &audited("bank.import"))
                .await
        })
    };
    let analysts: Vec<_> = (0..8u64)
        .map(|analyst| {
            let store = store.clone();
            tokio::spawn(async move {
                for item in 0..20 {
                    let content = NewContent {
                        signals: vec![
                            ("pdq".into(), made_up_hex(analyst * 100 + item, 64)),
                            ("sha1".into(), made_up_hex(analyst * 100 + item, 40)),
                        ],
                        ..NewContent::default()
                    };
                    store
                        .add_content("BUSY", &content, |_| audited("content.add"))
                        .await
                        .expect("add");
                }
            })
        })
        .collect();
    for analyst in analysts {
        analyst.await.expect("analyst task");
    }
    assert_eq!(importer.await.expect("import task").expect("import"), 2_500);

    let exported = exported(store, "BUSY").await;
    assert_eq!(exported.len(), 2_500 + 8 * 20 * 2);
    assert_eq!(replay(store).await, exported);
    let changes = store.changes_since(0, 10_000).await.expect("the log");
    for change in &changes {
        let content = store
            .content("BUSY", change.content_id)
            .await
            .expect("content");
        assert!(content
            .signals
            .contains(&(change.signal_type.clone(), change.value.clone())));
    }
}
