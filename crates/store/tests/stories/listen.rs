//! A replica is woken as soon as another writes to the change log, instead of at its next poll.

use std::time::Duration;

use vigie_store::{NewBank, NewContent};

use crate::support::{audited, made_up_hex, TestDb};

on_both_databases!(a_write_wakes_the_listener_of_another_handle);

async fn a_write_wakes_the_listener_of_another_handle(db: &TestDb) {
    let replica = db.other_handle().await;
    let mut listener = replica.change_listener().await.expect("listen");
    let store = &db.store;
    store
        .create_bank(&NewBank::named("WATCHED"), |_| audited("bank.create"))
        .await
        .expect("create the bank");
    let content = NewContent {
        signals: vec![("pdq".into(), made_up_hex(1, 64))],
        ..NewContent::default()
    };
    store
        .add_content("WATCHED", &content, |_| audited("content.add"))
        .await
        .expect("add a content");
    // The bound only keeps a broken listener from hanging the test; waking takes milliseconds.
    tokio::time::timeout(Duration::from_secs(5), listener.changed())
        .await
        .expect("woken by the write")
        .expect("still listening");
    assert_eq!(replica.last_change().await.expect("last change"), 1);
}
