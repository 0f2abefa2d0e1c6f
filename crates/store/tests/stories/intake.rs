//! Reports come in from the public and from partners: the same URL however it is spelt, or
//! the same file, is one item counting its reporters; a partner's retry is answered with its
//! first report; a file the banks know is resolved without a human; every report is audited
//! in its own transaction, without the reporter's e-mail address.

use vigie_store::{
    Channel, ItemKind, ItemStatus, KnownMatch, MediaHashes, NewApiKey, NewAttachment, NewReport,
    ReportedUrl, Scopes, StoreError,
};

use crate::support::{audited, made_up_hex, TestDb};

on_both_databases!(
    spellings_of_one_url_are_one_item_counting_its_reporters,
    the_same_file_joins_its_item_and_is_stored_once,
    a_partner_retry_is_answered_with_the_first_report,
    a_file_the_banks_know_is_resolved_without_a_human,
    every_report_is_audited_without_the_reporters_address,
    a_bad_report_is_refused_and_the_others_are_kept,
);

/// A report from the public naming these URLs (each given with the normalised form that
/// `vigie_hotline::normalise_url` makes of it).
fn public_report(category: &str, urgency: i64, urls: &[(&str, &str)]) -> NewReport {
    NewReport {
        channel: Channel::Public,
        api_key_id: None,
        idempotency_key: None,
        partner_reference: None,
        category: category.into(),
        urgency,
        description: "seen on a forum".into(),
        contact_email: Some("reporter@example.org".into()),
        language: "fr".into(),
        submitted_by: None,
        urls: urls
            .iter()
            .map(|(url, normalised)| ReportedUrl {
                url: (*url).into(),
                normalised: (*normalised).into(),
            })
            .collect(),
        attachments: Vec::new(),
    }
}

/// A sealed file (the bytes stand for what the vault made) with made-up digests.
fn attachment(seed: u64, known: Option<KnownMatch>) -> NewAttachment {
    NewAttachment {
        file_name: Some("photo.jpg".into()),
        media_type: "image/jpeg".into(),
        size: 1234,
        hashes: MediaHashes {
            md5: made_up_hex(seed, 32),
            sha1: made_up_hex(seed, 40),
            sha256: made_up_hex(seed, 64),
            pdq: Some(made_up_hex(seed + 1, 64)),
            pdq_quality: Some(90),
            known,
        },
        key_id: "k1".into(),
        sealed: vec![1, 2, 3, 4],
    }
}

async fn partner_key(db: &TestDb, name: &str) -> i64 {
    db.store
        .create_api_key(
            &NewApiKey {
                name: name.into(),
                key_hash: made_up_hex(name.len() as u64 * 7919, 64),
                scopes: Scopes {
                    operations: vec!["report".into()],
                    banks: None,
                },
                created_by: None,
            },
            |_| audited("key.create"),
        )
        .await
        .expect("a partner key")
        .id
}

fn partner_report(key: i64, idempotency_key: Option<&str>, urls: &[(&str, &str)]) -> NewReport {
    NewReport {
        channel: Channel::Partner,
        api_key_id: Some(key),
        idempotency_key: idempotency_key.map(Into::into),
        partner_reference: Some("ticket-1".into()),
        contact_email: None,
        language: "en".into(),
        ..public_report("csam", 1, urls)
    }
}

async fn submit_one(db: &TestDb, report: NewReport) -> vigie_store::Submitted {
    let mut answers = db.store.submit_reports(&[report]).await.expect("submit");
    answers.remove(0).expect("accepted")
}

async fn spellings_of_one_url_are_one_item_counting_its_reporters(db: &TestDb) {
    let normalised = "https://example.com/gallery?id=7";
    let first = submit_one(
        db,
        public_report(
            "csam",
            1,
            &[("HTTPS://Example.COM:443/gallery?id=7#top", normalised)],
        ),
    )
    .await;
    assert!(!first.replayed);
    assert_eq!(first.report.items.len(), 1);
    let item = first.report.items[0].clone();
    assert!(item.new);
    assert_eq!(
        (item.kind, item.status),
        (ItemKind::Url, ItemStatus::Queued)
    );

    // Two more reports in one batch; the second names the URL twice and counts once.
    let second = public_report(
        "grooming",
        2,
        &[("https://example.com/gallery?utm_source=x&id=7", normalised)],
    );
    let third = public_report(
        "other",
        1,
        &[
            ("https://example.com./gallery?id=7", normalised),
            ("https://example.com/gallery?id=7&fbclid=abc", normalised),
            (
                "https://elsewhere.example/page",
                "https://elsewhere.example/page",
            ),
        ],
    );
    let answers = db.store.submit_reports(&[second, third]).await.unwrap();
    let (second, third) = (answers[0].as_ref().unwrap(), answers[1].as_ref().unwrap());
    assert_eq!(second.report.items[0].id, item.id);
    assert!(!second.report.items[0].new);
    assert_eq!(
        third.report.items.len(),
        2,
        "the URL named twice counts once"
    );
    assert_eq!(third.report.items[0].id, item.id);
    assert!(third.report.items[1].new);
    assert_ne!(first.report.receipt, second.report.receipt);

    let summary = db.store.item_summary(item.id).await.unwrap();
    assert_eq!(summary.reporters, 3);
    assert_eq!(summary.normalised_url.as_deref(), Some(normalised));
    assert_eq!(
        summary.url.as_deref(),
        Some("HTTPS://Example.COM:443/gallery?id=7#top"),
        "the item keeps the URL as first reported"
    );
    // Raised to the most urgent category any report gave, and not lowered after.
    assert_eq!(
        (summary.category.as_str(), summary.urgency),
        ("grooming", 2)
    );
    assert!(summary.last_reported_at >= summary.first_reported_at);
}

async fn the_same_file_joins_its_item_and_is_stored_once(db: &TestDb) {
    let mut first = public_report("csam", 1, &[]);
    first.attachments = vec![attachment(1, None), attachment(1, None)];
    let first = submit_one(db, first).await;
    assert_eq!(
        first.report.items.len(),
        1,
        "the same bytes twice are one item"
    );
    let item = &first.report.items[0];
    assert_eq!((item.kind, item.new), (ItemKind::File, true));

    let mut second = public_report(
        "sextortion",
        2,
        &[("https://a.example/", "https://a.example/")],
    );
    second.attachments = vec![attachment(1, None), attachment(2, None)];
    let second = submit_one(db, second).await;
    let kinds: Vec<(ItemKind, bool)> = second
        .report
        .items
        .iter()
        .map(|item| (item.kind, item.new))
        .collect();
    assert_eq!(
        kinds,
        [
            (ItemKind::Url, true),
            (ItemKind::File, false),
            (ItemKind::File, true)
        ],
        "URLs first, then files, in the order given"
    );
    assert_eq!(second.report.items[1].id, item.id);
    let summary = db.store.item_summary(item.id).await.unwrap();
    assert_eq!(summary.reporters, 2);
    assert_eq!(summary.sha256, Some(made_up_hex(1, 64)));
    assert_eq!(summary.category, "sextortion");

    // Reading the report back gives the same items, in the same order.
    let read = db
        .store
        .report_by_receipt(&second.report.receipt)
        .await
        .unwrap();
    assert_eq!(read, second.report);
    assert!(matches!(
        db.store.report_by_receipt("VG-0000-0000-0000").await,
        Err(StoreError::NotFound(_))
    ));
}

async fn a_partner_retry_is_answered_with_the_first_report(db: &TestDb) {
    let key = partner_key(db, "platform").await;
    let other_key = partner_key(db, "other platform").await;
    let urls = [("https://b.example/x", "https://b.example/x")];
    let first = submit_one(db, partner_report(key, Some("retry-1"), &urls)).await;
    assert!(!first.replayed);
    let audit_rows = db.store.audit(0, 1_000).await.unwrap().len();

    // The retry in a later call, and twice more within one batch with a new report.
    let retry = submit_one(db, partner_report(key, Some("retry-1"), &urls)).await;
    assert!(retry.replayed);
    assert_eq!(retry.report, first.report);
    let answers = db
        .store
        .submit_reports(&[
            partner_report(key, Some("retry-2"), &urls),
            partner_report(key, Some("retry-2"), &urls),
            partner_report(key, Some("retry-1"), &urls),
        ])
        .await
        .unwrap();
    let answers: Vec<_> = answers.into_iter().map(Result::unwrap).collect();
    assert!(!answers[0].replayed);
    assert!(answers[1].replayed);
    assert_eq!(answers[1].report, answers[0].report);
    assert_eq!(answers[2].report, first.report);
    // The same idempotency key from another partner is another report.
    let other = submit_one(db, partner_report(other_key, Some("retry-1"), &urls)).await;
    assert!(!other.replayed);

    let summary = db
        .store
        .item_summary(first.report.items[0].id)
        .await
        .unwrap();
    assert_eq!(
        summary.reporters, 3,
        "the first, retry-2 and the other partner"
    );
    let rows = db.store.audit(0, 1_000).await.unwrap();
    assert_eq!(rows.len(), audit_rows + 2, "replays write no audit row");
}

async fn a_file_the_banks_know_is_resolved_without_a_human(db: &TestDb) {
    let known = KnownMatch {
        bank: "BENIGN_TEST_BANK".into(),
        content_id: 42,
        distance: 3,
    };
    let mut report = public_report("csam", 1, &[]);
    report.attachments = vec![attachment(10, Some(known.clone())), attachment(11, None)];
    let stored = submit_one(db, report).await;
    let items = &stored.report.items;
    assert_eq!(items[0].status, ItemStatus::Known);
    assert_eq!(items[0].known.as_ref(), Some(&known));
    assert_eq!(items[1].status, ItemStatus::Queued);
    assert_eq!(items[1].known, None);

    // A file first reported unknown becomes known when a later copy matches (a bank entry
    // added since); a known file stays known with its first match.
    let mut later = public_report("other", 1, &[]);
    let newer = KnownMatch {
        bank: "ANOTHER_BANK".into(),
        content_id: 7,
        distance: 0,
    };
    later.attachments = vec![
        attachment(11, Some(newer.clone())),
        attachment(10, Some(newer.clone())),
    ];
    let later = submit_one(db, later).await;
    assert_eq!(later.report.items[0].known.as_ref(), Some(&newer));
    assert_eq!(later.report.items[1].known.as_ref(), Some(&known));
    let summary = db.store.item_summary(items[1].id).await.unwrap();
    assert_eq!(summary.status, ItemStatus::Known);
    assert_eq!(summary.matched_bank.as_deref(), Some("ANOTHER_BANK"));
    assert_eq!(summary.matched_distance, Some(0));
}

async fn every_report_is_audited_without_the_reporters_address(db: &TestDb) {
    let key = partner_key(db, "auditor").await;
    let before = db.store.audit(0, 1_000).await.unwrap().len();
    let answers = db
        .store
        .submit_reports(&[
            public_report(
                "live_abuse",
                3,
                &[("https://c.example/", "https://c.example/")],
            ),
            partner_report(key, None, &[("https://c.example/", "https://c.example/")]),
            NewReport {
                submitted_by: Some("user:alice".into()),
                ..public_report("other", 1, &[("https://c.example/", "https://c.example/")])
            },
        ])
        .await
        .unwrap();
    let receipts: Vec<String> = answers
        .iter()
        .map(|answer| answer.as_ref().unwrap().report.receipt.clone())
        .collect();
    let rows = db.store.audit(0, 1_000).await.unwrap();
    let rows = &rows[before..];
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].actor, "public");
    assert_eq!(rows[1].actor, format!("key:{key}"));
    assert_eq!(
        rows[2].actor, "user:alice",
        "a person entering a report is named"
    );
    for (row, receipt) in rows.iter().zip(&receipts) {
        assert_eq!(row.action, "report.receive");
        assert_eq!(&row.target, receipt);
        let detail = row.detail.to_string();
        assert!(!detail.contains("reporter@example.org"), "{detail}");
        assert!(!detail.contains("seen on a forum"), "{detail}");
    }
    assert_eq!(rows[0].detail["channel"], "public");
    assert_eq!(rows[0].detail["category"], "live_abuse");
    assert_eq!(rows[0].detail["items"][0]["new"], true);
    assert_eq!(rows[1].detail["channel"], "partner");
    assert_eq!(rows[1].detail["items"][0]["new"], false);
    assert_eq!(
        rows[1].detail["items"][0]["id"],
        rows[0].detail["items"][0]["id"]
    );
    assert!(matches!(
        db.store.verify_audit().await.unwrap(),
        vigie_store::AuditVerdict::Intact { .. }
    ));
}

async fn a_bad_report_is_refused_and_the_others_are_kept(db: &TestDb) {
    let mut nothing = public_report("csam", 1, &[]);
    nothing.urls.clear();
    let mut bad_digest = public_report("csam", 1, &[]);
    let mut file = attachment(20, None);
    file.hashes.sha256 = "NOT HEX".into();
    bad_digest.attachments = vec![file];
    let mut keyless = partner_report(1, None, &[("https://d.example/", "https://d.example/")]);
    keyless.api_key_id = None;
    let good = public_report("csam", 1, &[("https://d.example/", "https://d.example/")]);
    let answers = db
        .store
        .submit_reports(&[nothing.clone(), bad_digest, keyless, good])
        .await
        .unwrap();
    for refused in &answers[..3] {
        assert!(
            matches!(refused, Err(StoreError::Invalid(_))),
            "{refused:?}"
        );
    }
    let good = answers[3].as_ref().unwrap();
    assert!(db
        .store
        .report_by_receipt(&good.report.receipt)
        .await
        .is_ok());

    // A call with nothing acceptable writes nothing at all.
    let before = db.store.audit(0, 1_000).await.unwrap().len();
    let answers = db.store.submit_reports(&[nothing]).await.unwrap();
    assert!(answers[0].is_err());
    assert_eq!(db.store.audit(0, 1_000).await.unwrap().len(), before);
}
