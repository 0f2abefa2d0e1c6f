//! The first admin arrives by a one-time link, then people log in and out, get disabled, and
//! machines get API keys.

use vigie_store::{NewApiKey, Role, Scopes, StoreError};

use crate::support::{audited, made_up_hex, TestDb};

on_both_databases!(people_sign_in_and_machines_use_keys);

async fn people_sign_in_and_machines_use_keys(db: &TestDb) {
    let store = &db.store;
    assert_eq!(store.count_users().await.expect("count"), 0);

    // The setup link works once, even when clicked many times at once.
    // A link never used expires.
    let stale = made_up_hex(9, 64);
    store
        .create_setup_token(&stale, 500)
        .await
        .expect("create an old setup token");
    assert!(matches!(
        store
            .use_setup_token(&stale, 500 + vigie_store::SETUP_TOKEN_LIFETIME_MS + 1)
            .await,
        Err(StoreError::NotFound(_))
    ));
    let setup = made_up_hex(10, 64);
    store
        .create_setup_token(&setup, 1_000)
        .await
        .expect("create the setup token");
    assert!(matches!(
        store.create_setup_token(&setup, 1_000).await,
        Err(StoreError::Conflict(_))
    ));
    let attempts: Vec<_> = (0..8)
        .map(|attempt| {
            let store = store.clone();
            let setup = setup.clone();
            tokio::spawn(async move { store.use_setup_token(&setup, 2_000 + attempt).await })
        })
        .collect();
    let mut successes = 0;
    for attempt in attempts {
        match attempt.await.expect("task") {
            Ok(()) => successes += 1,
            Err(StoreError::NotFound(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(successes, 1);
    assert!(matches!(
        store.use_setup_token(&setup, 3_000).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.use_setup_token(&made_up_hex(11, 64), 3_000).await,
        Err(StoreError::NotFound(_))
    ));

    let alice = store
        .create_user("alice", "$argon2id$made-up", Role::Admin, |_| {
            audited("user.create")
        })
        .await
        .expect("create alice");
    assert_eq!((alice.role, alice.disabled), (Role::Admin, false));
    let bob = store
        .create_user("bob", "$argon2id$other", Role::Analyst, |_| {
            audited("user.create")
        })
        .await
        .expect("create bob");
    store
        .create_user("carol", "$argon2id$third", Role::ReadOnly, |_| {
            audited("user.create")
        })
        .await
        .expect("create carol");
    assert!(matches!(
        store
            .create_user("alice", "x", Role::ReadOnly, |_| audited("user.create"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.count_users().await.expect("count"), 3);
    assert_eq!(store.user_by_name("bob").await.expect("bob by name"), bob);
    assert_eq!(store.user(alice.id).await.expect("alice by id"), alice);
    let roles: Vec<Role> = store
        .users()
        .await
        .expect("list")
        .iter()
        .map(|user| user.role)
        .collect();
    assert_eq!(roles, [Role::Admin, Role::Analyst, Role::ReadOnly]);
    assert!(matches!(
        store.user_by_name("mallory").await,
        Err(StoreError::NotFound(_))
    ));

    // Sessions expire, and die with a disabled account.
    let token = made_up_hex(12, 64);
    store
        .create_session(&token, alice.id, 10_000)
        .await
        .expect("log in");
    assert_eq!(
        store.session_user(&token, 9_999).await.expect("valid"),
        alice
    );
    assert!(matches!(
        store.session_user(&token, 10_000).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.session_user(&made_up_hex(13, 64), 0).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .create_session(&made_up_hex(14, 64), 999_999, 10_000)
            .await,
        Err(StoreError::NotFound(_))
    ));
    store
        .set_user_disabled(alice.id, true, &audited("user.disable"))
        .await
        .expect("disable alice");
    assert!(store.user(alice.id).await.expect("alice").disabled);
    assert!(matches!(
        store.session_user(&token, 5_000).await,
        Err(StoreError::NotFound(_))
    ));
    store
        .set_user_disabled(alice.id, false, &audited("user.disable"))
        .await
        .expect("enable alice");
    assert_eq!(
        store.session_user(&token, 5_000).await.expect("back"),
        alice
    );
    assert!(matches!(
        store
            .set_user_disabled(999_999, true, &audited("user.disable"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    store.delete_session(&token).await.expect("log out");
    assert!(matches!(
        store.session_user(&token, 5_000).await,
        Err(StoreError::NotFound(_))
    ));

    // API keys are found by the hash of their secret until revoked.
    let platform = NewApiKey {
        name: "platform uploads".into(),
        key_hash: made_up_hex(20, 64),
        scopes: Scopes {
            operations: vec!["lookup".into(), "hash".into()],
            banks: Some(vec!["REPORTS".into()]),
        },
        created_by: Some(alice.id),
    };
    let key = store
        .create_api_key(&platform, |_| audited("key.create"))
        .await
        .expect("create a key");
    assert_eq!(
        (key.name.as_str(), &key.scopes),
        (platform.name.as_str(), &platform.scopes)
    );
    assert_eq!(key.revoked_at, None);
    assert_eq!(
        store
            .api_key_by_hash(&platform.key_hash)
            .await
            .expect("by hash"),
        key
    );
    let unrestricted = NewApiKey {
        name: "partner export".into(),
        key_hash: made_up_hex(21, 64),
        scopes: Scopes {
            operations: vec!["bank.read".into()],
            banks: None,
        },
        created_by: None,
    };
    let second = store
        .create_api_key(&unrestricted, |_| audited("key.create"))
        .await
        .expect("second key");
    assert_eq!(second.scopes.banks, None);
    assert!(matches!(
        store
            .create_api_key(&platform, |_| audited("key.create"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let orphan = NewApiKey {
        key_hash: made_up_hex(22, 64),
        created_by: Some(999_999),
        ..unrestricted.clone()
    };
    assert!(matches!(
        store
            .create_api_key(&orphan, |_| audited("key.create"))
            .await,
        Err(StoreError::NotFound(_))
    ));

    store
        .revoke_api_key(key.id, &audited("key.revoke"))
        .await
        .expect("revoke");
    assert!(matches!(
        store.api_key_by_hash(&platform.key_hash).await,
        Err(StoreError::NotFound(_))
    ));
    let keys = store.api_keys().await.expect("list keys");
    assert_eq!(keys.len(), 2);
    assert!(keys[0].revoked_at.is_some());
    assert_eq!(keys[1], second);
    assert!(matches!(
        store.revoke_api_key(999_999, &audited("key.revoke")).await,
        Err(StoreError::NotFound(_))
    ));
}
