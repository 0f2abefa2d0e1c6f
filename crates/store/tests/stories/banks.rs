//! A hotline sets up its banks: HMA's naming rule, taken names, renames and settings.

use vigie_store::{BankUpdate, NewBank, StoreError};

use crate::support::{audited, TestDb};

on_both_databases!(a_hotline_organises_its_banks);

async fn a_hotline_organises_its_banks(db: &TestDb) {
    let store = &db.store;
    let created = store
        .create_bank(&NewBank::named("TEST_BANK"), |_| audited("bank.create"))
        .await
        .expect("create TEST_BANK");
    assert_eq!(created.name, "TEST_BANK");
    assert_eq!(created.pdq_threshold, 31);
    assert_eq!(created.matching_enabled_ratio, 1.0);
    assert!(created.created_at > 0);
    assert_eq!(
        store.bank("TEST_BANK").await.expect("read it back"),
        created
    );

    for bad in ["lower_case", "9_LEADING_DIGIT", "WITH-DASH", ""] {
        let refused = store
            .create_bank(&NewBank::named(bad), |_| audited("bank.create"))
            .await;
        assert!(
            matches!(refused, Err(StoreError::Invalid(_))),
            "{bad}: {refused:?}"
        );
    }
    let too_long = NewBank::named("B".repeat(256));
    assert!(matches!(
        store
            .create_bank(&too_long, |_| audited("bank.create"))
            .await,
        Err(StoreError::Invalid(_))
    ));
    let bad_threshold = NewBank {
        pdq_threshold: 300,
        ..NewBank::named("THRESHOLD")
    };
    assert!(matches!(
        store
            .create_bank(&bad_threshold, |_| audited("bank.create"))
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .create_bank(&NewBank::named("TEST_BANK"), |_| audited("bank.create"))
            .await,
        Err(StoreError::Conflict(_))
    ));

    let partner = NewBank {
        source: Some("Partner hotline".into()),
        default_category: Some("category-a".into()),
        ..NewBank::named("ANOTHER_BANK")
    };
    store
        .create_bank(&partner, |_| audited("bank.create"))
        .await
        .expect("create ANOTHER_BANK");
    let names: Vec<String> = store
        .banks()
        .await
        .expect("list banks")
        .into_iter()
        .map(|bank| bank.name)
        .collect();
    assert_eq!(names, ["ANOTHER_BANK", "TEST_BANK"]);

    let update = BankUpdate {
        name: Some("RENAMED_BANK".into()),
        source: Some(Some("Own reports".into())),
        pdq_threshold: Some(16),
        matching_enabled_ratio: Some(0.0),
        ..BankUpdate::default()
    };
    let renamed = store
        .update_bank("TEST_BANK", &update, |_| audited("bank.update"))
        .await
        .expect("rename TEST_BANK");
    assert_eq!(renamed.id, created.id);
    assert_eq!(renamed.name, "RENAMED_BANK");
    assert_eq!(renamed.source.as_deref(), Some("Own reports"));
    assert_eq!(renamed.pdq_threshold, 16);
    assert_eq!(renamed.matching_enabled_ratio, 0.0);
    assert_eq!(renamed.created_at, created.created_at);
    assert!(matches!(
        store.bank("TEST_BANK").await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.bank("RENAMED_BANK").await.expect("renamed"), renamed);

    let cleared = store
        .update_bank(
            "ANOTHER_BANK",
            &BankUpdate {
                default_category: Some(None),
                ..BankUpdate::default()
            },
            |_| audited("bank.update"),
        )
        .await
        .expect("clear the default category");
    assert_eq!(cleared.default_category, None);
    assert_eq!(cleared.source.as_deref(), Some("Partner hotline"));

    let onto_taken = BankUpdate {
        name: Some("ANOTHER_BANK".into()),
        ..BankUpdate::default()
    };
    assert!(matches!(
        store
            .update_bank("RENAMED_BANK", &onto_taken, |_| audited("bank.update"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let onto_bad = BankUpdate {
        name: Some("not upper".into()),
        ..BankUpdate::default()
    };
    assert!(matches!(
        store
            .update_bank("RENAMED_BANK", &onto_bad, |_| audited("bank.update"))
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .update_bank("NO_SUCH_BANK", &BankUpdate::default(), |_| audited(
                "bank.update"
            ))
            .await,
        Err(StoreError::NotFound(_))
    ));

    store
        .delete_bank("ANOTHER_BANK", &audited("bank.delete"))
        .await
        .expect("delete ANOTHER_BANK");
    assert!(matches!(
        store.bank("ANOTHER_BANK").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .delete_bank("ANOTHER_BANK", &audited("bank.delete"))
            .await,
        Err(StoreError::NotFound(_))
    ));
}
