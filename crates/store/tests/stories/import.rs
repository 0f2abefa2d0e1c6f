//! A partner's hash list of 100,000 items is imported in one call and comes back out whole,
//! in order, through both the export and the change log.

use vigie_store::{NewBank, NewContent, StoreError};

use crate::support::{audited, made_up_hex, TestDb};

on_both_databases!(a_large_list_is_imported_and_exported_whole);

const ITEMS: u64 = 100_000;

async fn a_large_list_is_imported_and_exported_whole(db: &TestDb) {
    let store = &db.store;
    store
        .create_bank(&NewBank::named("PARTNER_LIST"), |_| audited("bank.create"))
        .await
        .expect("create the bank");
    let mut list: Vec<NewContent> = (0..ITEMS)
        .map(|item| NewContent {
            label: Some(format!("partner-{item}")),
            signals: vec![("pdq".into(), made_up_hex(item, 64))],
            ..NewContent::default()
        })
        .collect();
    // Text that would end a field or a row in a bulk format must arrive unchanged.
    list[0].label = Some("tab\there, new\nline, back\\slash, \\N".into());
    list[0].note = Some("carriage\rreturn".into());
    assert_eq!(
        store
            .import_contents("PARTNER_LIST", &list, &audited("bank.import"))
            .await
            .expect("import"),
        ITEMS
    );

    let mut exported = Vec::new();
    let mut after_id = 0;
    loop {
        let page = store
            .bank_signals("PARTNER_LIST", after_id, 30_000)
            .await
            .expect("export a page");
        let Some(last) = page.last() else { break };
        after_id = last.id;
        exported.extend(page);
    }
    let values: Vec<&str> = exported
        .iter()
        .map(|signal| signal.value.as_str())
        .collect();
    let expected: Vec<&str> = list
        .iter()
        .map(|content| content.signals[0].1.as_str())
        .collect();
    assert_eq!(values, expected);

    let first = store
        .content("PARTNER_LIST", exported[0].content_id)
        .await
        .expect("first content");
    assert_eq!(
        (first.label, first.note),
        (list[0].label.clone(), list[0].note.clone())
    );
    assert_eq!(first.category, None);

    let last = exported.last().expect("a last signal");
    let stored = store
        .content("PARTNER_LIST", last.content_id)
        .await
        .expect("last content");
    assert_eq!(stored.label.as_deref(), Some("partner-99999"));
    assert_eq!(stored.signals, list[99_999].signals);

    assert_eq!(
        store.last_change().await.expect("last change"),
        ITEMS as i64
    );
    let tail = store
        .changes_since(ITEMS as i64 - 3, 10)
        .await
        .expect("tail of the log");
    let tail_signals: Vec<i64> = tail.iter().map(|change| change.signal_id).collect();
    let last_signals: Vec<i64> = exported[exported.len() - 3..]
        .iter()
        .map(|signal| signal.id)
        .collect();
    assert_eq!(tail_signals, last_signals);

    // One bad item at the end refuses the whole list before anything is written.
    let mut flawed = list[..20_001].to_vec();
    flawed[20_000].signals[0].1 = "short".into();
    match store
        .import_contents("PARTNER_LIST", &flawed, &audited("bank.import"))
        .await
    {
        Err(StoreError::Invalid(reason)) => {
            assert!(reason.starts_with("content 20000"), "{reason}")
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(store.last_change().await.expect("unchanged"), ITEMS as i64);
}
