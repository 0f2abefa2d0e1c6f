//! Analysts work the queue: the most urgent first, one analyst an item, reveals counted day by
//! day, items grouped in cases whose timeline tells what happened, and the figures that add it
//! up. The reports and items are written with plain SQL, as the intake would leave them.

use vigie_store::{
    case_target, item_target, CaseFileRevealRequest, Classification, ItemStatus, NewAuditEntry,
    NewCaseFile, RevealOutcome, RevealRequest, Role, StoreError, TimelineEvent, DAY_MS,
};

use crate::support::{audited, TestDb};

on_both_databases!(
    analysts_share_the_queue,
    reveals_are_counted_day_by_day,
    a_case_keeps_its_timeline,
    figures_add_up_the_work
);

/// A day well after the epoch, so that "yesterday" is a valid time too.
const DAY: i64 = 20_000 * DAY_MS;

/// One public report of `url` received at `at`, naming a new item of that URL with `status`.
async fn report(db: &TestDb, url: &str, category: &str, urgency: i64, at: i64, status: &str) {
    db.execute(&format!(
        "INSERT INTO reports (receipt, channel, category, description, language, received_at) \
         VALUES ('R-{url}', 'public', '{category}', 'seen at {url}', 'fr', {at})"
    ))
    .await;
    db.execute(&format!(
        "INSERT INTO items (kind, url, normalised_url, category, urgency, reporters, \
         first_reported_at, last_reported_at, status) \
         VALUES ('url', '{url}', '{url}', '{category}', {urgency}, 1, {at}, {at}, '{status}')"
    ))
    .await;
    link(db, url, url).await;
}

/// Another report of an existing item, as deduplication joins it.
async fn report_again(db: &TestDb, url: &str, receipt: &str, at: i64) {
    db.execute(&format!(
        "INSERT INTO reports (receipt, channel, category, description, language, received_at) \
         VALUES ('{receipt}', 'partner', 'csam', 'again', 'en', {at})"
    ))
    .await;
    db.execute(&format!(
        "UPDATE items SET reporters = reporters + 1 WHERE normalised_url = '{url}'"
    ))
    .await;
    link(db, receipt, url).await;
}

async fn link(db: &TestDb, receipt_suffix: &str, url: &str) {
    db.execute(&format!(
        "INSERT INTO report_items (report_id, item_id) SELECT r.id, i.id FROM reports r, items i \
         WHERE (r.receipt = 'R-{receipt_suffix}' OR r.receipt = '{receipt_suffix}') \
         AND i.normalised_url = '{url}'"
    ))
    .await;
}

/// The id of the item of `url`, found in the queue or among the resolved.
async fn item_id(db: &TestDb, url: &str) -> i64 {
    let queue = db.store.triage_queue(100).await.expect("queue");
    let resolved = db.store.resolved_items(100).await.expect("resolved");
    queue
        .into_iter()
        .map(|entry| entry.item)
        .chain(resolved)
        .find(|item| item.url.as_deref() == Some(url))
        .unwrap_or_else(|| panic!("no item for {url}"))
        .id
}

async fn analyst(db: &TestDb, name: &str) -> i64 {
    db.store
        .create_user(name, "$argon2id$made-up", Role::Analyst, |_| {
            audited("user.create")
        })
        .await
        .expect("create an analyst")
        .id
}

/// An audit entry naming `target`, at `at`.
fn entry(action: &str, target: &str, at: i64) -> NewAuditEntry {
    NewAuditEntry {
        at,
        actor: "user:story".into(),
        action: action.into(),
        target: target.into(),
        detail: serde_json::json!({}),
    }
}

fn baseline() -> Classification {
    Classification {
        iccam_classification: "baseline".into(),
        site_type: Some("image_hosting".into()),
        age_group: Some("pre_pubescent".into()),
        gender: Some("female".into()),
        ncmec_category: Some("A1".into()),
        vics_category: Some(1),
        decision: "law_enforcement".into(),
        decision_country: None,
    }
}

async fn analysts_share_the_queue(db: &TestDb) {
    let store = &db.store;
    // Live abuse first, then possible contact with a child; within one urgency the longest
    // waiting, then the most reported. Known material never enters the queue.
    report(
        db,
        "https://a.example/old-csam",
        "csam",
        1,
        DAY + 10,
        "queued",
    )
    .await;
    report(
        db,
        "https://a.example/new-csam",
        "csam",
        1,
        DAY + 20,
        "queued",
    )
    .await;
    report(db, "https://a.example/twice", "csam", 1, DAY + 20, "queued").await;
    report_again(db, "https://a.example/twice", "P-1", DAY + 30).await;
    report(
        db,
        "https://a.example/grooming",
        "grooming",
        2,
        DAY + 40,
        "queued",
    )
    .await;
    report(
        db,
        "https://a.example/live",
        "live_abuse",
        3,
        DAY + 50,
        "queued",
    )
    .await;
    report(db, "https://a.example/known", "csam", 1, DAY, "known").await;

    let queue = store.triage_queue(100).await.expect("queue");
    let order: Vec<&str> = queue
        .iter()
        .map(|entry| entry.item.url.as_deref().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "https://a.example/live",
            "https://a.example/grooming",
            "https://a.example/old-csam",
            "https://a.example/twice",
            "https://a.example/new-csam",
        ]
    );
    let twice = &queue[3];
    assert_eq!(twice.item.reporters, 2);
    let receipts: Vec<&str> = twice.reports.iter().map(|r| r.receipt.as_str()).collect();
    assert_eq!(receipts, ["R-https://a.example/twice", "P-1"]);
    assert_eq!(
        twice.reports[0].description,
        "seen at https://a.example/twice"
    );
    assert_eq!(store.triage_queue(2).await.expect("a page").len(), 2);
    let known = store.resolved_items(10).await.expect("resolved");
    assert_eq!(known.len(), 1);
    assert_eq!((known[0].status, known[0].reveals), (ItemStatus::Known, 0));

    // Two analysts claim the live item at once, many times over: exactly one wins.
    let anne = analyst(db, "anne").await;
    let bruno = analyst(db, "bruno").await;
    let live = queue[0].item.id;
    let claims: Vec<_> = (0..8)
        .map(|attempt| {
            let store = store.clone();
            let user = if attempt % 2 == 0 { anne } else { bruno };
            tokio::spawn(async move {
                let claimed = store
                    .claim_item(live, user, DAY + 100, &entry("item.claim", "race", 1))
                    .await;
                (user, claimed)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for claim in claims {
        match claim.await.expect("task") {
            (user, Ok(item)) => {
                assert_eq!(item.claimed_by, Some(user));
                winners.push(user);
            }
            (_, Err(StoreError::Conflict(message))) => assert!(message.contains("claimed by")),
            (_, Err(other)) => panic!("unexpected {other:?}"),
        }
    }
    let successes = winners.len();
    winners.dedup();
    assert_eq!(winners.len(), 1, "one analyst holds the item: {winners:?}");
    let (holder, other) = if winners[0] == anne {
        (anne, bruno)
    } else {
        (bruno, anne)
    };
    let shown = store.triage_item(live).await.expect("the item");
    assert_eq!(shown.item.status, ItemStatus::Claimed);
    assert_eq!(
        shown.item.claimed_by_name.as_deref(),
        Some(if holder == anne { "anne" } else { "bruno" })
    );
    // Still in the queue, showing who has it.
    assert_eq!(
        store.triage_queue(1).await.unwrap()[0].item.claimed_by,
        Some(holder)
    );

    // Only the holder decides or releases; a release puts it back for the other.
    let audit = entry("item.decide", &item_target(live), 2);
    assert!(matches!(
        store
            .decide_item(live, other, &baseline(), DAY + 200, &audit)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .release_item(live, other, false, &entry("item.release", "x", 3))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let released = store
        .release_item(
            live,
            holder,
            false,
            &entry("item.release", &item_target(live), 3),
        )
        .await
        .expect("release");
    assert_eq!(
        (released.status, released.claimed_by),
        (ItemStatus::Queued, None)
    );
    store
        .claim_item(
            live,
            other,
            DAY + 300,
            &entry("item.claim", &item_target(live), 4),
        )
        .await
        .expect("the other analyst claims it now");
    assert!(matches!(
        store
            .decide_item(
                live,
                other,
                &Classification {
                    decision: String::new(),
                    ..baseline()
                },
                DAY + 400,
                &audit
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    let decided = store
        .decide_item(live, other, &baseline(), DAY + 400, &audit)
        .await
        .expect("decide");
    assert_eq!(decided.status, ItemStatus::Decided);
    assert_eq!(decided.decision.as_deref(), Some("law_enforcement"));
    assert_eq!(decided.ncmec_category.as_deref(), Some("A1"));
    assert_eq!(decided.vics_category, Some(1));
    assert_eq!(decided.decided_at, Some(DAY + 400));
    assert!(store
        .triage_queue(100)
        .await
        .unwrap()
        .iter()
        .all(|entry| entry.item.id != live));
    assert!(matches!(
        store
            .claim_item(live, holder, DAY + 500, &entry("item.claim", "x", 5))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .claim_item(9_999, holder, DAY, &entry("item.claim", "x", 5))
            .await,
        Err(StoreError::NotFound(_))
    ));

    // Each claim (a renewal too), release and decision that took is in the audit log;
    // refusals are not.
    let rows = store.audit(0, 100).await.unwrap();
    let raced = rows.iter().filter(|row| row.target == "race").count();
    assert_eq!(raced, successes);
    let actions: Vec<&str> = rows
        .iter()
        .filter(|row| row.target == item_target(live))
        .map(|row| row.action.as_str())
        .collect();
    assert_eq!(actions, ["item.release", "item.claim", "item.decide"]);
}

async fn reveals_are_counted_day_by_day(db: &TestDb) {
    let store = &db.store;
    for url in [
        "https://r.example/1",
        "https://r.example/2",
        "https://r.example/3",
    ] {
        report(db, url, "csam", 1, DAY, "queued").await;
    }
    let anne = analyst(db, "anne").await;
    let bruno = analyst(db, "bruno").await;
    let first = item_id(db, "https://r.example/1").await;
    let second = item_id(db, "https://r.example/2").await;
    let third = item_id(db, "https://r.example/3").await;
    let reveal = |item: i64, user: i64, at: i64, limit: Option<i64>| {
        let store = store.clone();
        async move {
            store
                .reveal_item(
                    &RevealRequest {
                        item_id: item,
                        user_id: user,
                        now: at,
                        lifetime_ms: 60_000,
                        day_start: vigie_store::utc_day_start(at),
                        daily_limit: limit,
                    },
                    |r| entry("item.reveal", &item_target(r.item_id), at),
                )
                .await
        }
    };

    // Nobody reveals what they have not claimed.
    assert!(matches!(
        reveal(first, anne, DAY + 1_000, None).await,
        Err(StoreError::Conflict(_))
    ));
    for item in [first, second, third] {
        store
            .claim_item(item, anne, DAY + 1_000, &entry("item.claim", "x", 1))
            .await
            .expect("claim");
    }
    assert!(matches!(
        reveal(first, bruno, DAY + 1_000, None).await,
        Err(StoreError::Conflict(_))
    ));

    // Yesterday's reveal does not count today.
    let Ok(RevealOutcome::Revealed { items_today, .. }) =
        reveal(first, anne, DAY - 5_000, Some(2)).await
    else {
        panic!("yesterday's reveal");
    };
    assert_eq!(items_today, 1);
    assert_eq!(store.revealed_today(anne, DAY).await.unwrap(), 0);

    let Ok(RevealOutcome::Revealed {
        reveal: opened,
        items_today,
        reveals_today,
    }) = reveal(first, anne, DAY + 2_000, Some(2)).await
    else {
        panic!("first reveal today");
    };
    assert_eq!((items_today, reveals_today), (1, 1));
    assert_eq!(opened.expires_at, DAY + 62_000);
    assert_eq!(
        store.open_reveal(first, anne, DAY + 3_000).await.unwrap(),
        Some(opened.clone())
    );
    assert_eq!(
        store.open_reveal(first, anne, DAY + 62_000).await.unwrap(),
        None
    );
    assert_eq!(
        store.open_reveal(first, bruno, DAY + 3_000).await.unwrap(),
        None
    );

    // One item at a time: revealing the second ends the first.
    let Ok(RevealOutcome::Revealed { items_today, .. }) =
        reveal(second, anne, DAY + 4_000, Some(2)).await
    else {
        panic!("second reveal");
    };
    assert_eq!(items_today, 2);
    assert_eq!(
        store.open_reveal(first, anne, DAY + 5_000).await.unwrap(),
        None
    );
    assert!(store
        .open_reveal(second, anne, DAY + 5_000)
        .await
        .unwrap()
        .is_some());

    // The limit refuses a third item and writes nothing; an item seen today may be seen again.
    let audit_rows = store.audit(0, 1_000).await.unwrap().len();
    assert_eq!(
        reveal(third, anne, DAY + 6_000, Some(2)).await.unwrap(),
        RevealOutcome::LimitReached { items_today: 2 }
    );
    assert_eq!(store.audit(0, 1_000).await.unwrap().len(), audit_rows);
    assert!(store
        .open_reveal(second, anne, DAY + 6_500)
        .await
        .unwrap()
        .is_some());
    let Ok(RevealOutcome::Revealed {
        items_today,
        reveals_today,
        ..
    }) = reveal(first, anne, DAY + 7_000, Some(2)).await
    else {
        panic!("an item seen today, again");
    };
    assert_eq!((items_today, reveals_today), (2, 3));
    assert_eq!(store.revealed_today(anne, DAY).await.unwrap(), 2);
    // The next day starts from zero.
    assert_eq!(store.revealed_today(anne, DAY + DAY_MS).await.unwrap(), 0);

    // The supervisor sees every analyst's count, the busiest first.
    let exposure = store.exposure(DAY).await.unwrap();
    let counts: Vec<(&str, i64, i64)> = exposure
        .iter()
        .map(|row| (row.name.as_str(), row.items, row.reveals))
        .collect();
    assert_eq!(counts, [("anne", 2, 3), ("bruno", 0, 0)]);
    assert_eq!(exposure[0].last_reveal_at, Some(DAY + 7_000));

    // A case file of media downloaded is a reveal too: counted for bruno, under the limit.
    let case = store
        .create_case("Pictures", bruno, |_| audited("case.create"))
        .await
        .unwrap();
    let mut pictures = Vec::new();
    for name in ["one.png", "two.png"] {
        let file = NewCaseFile {
            file_name: name.into(),
            media_type: "image/png".into(),
            size: 3,
            sha256: "cd".repeat(32),
            key_id: "k1".into(),
            sealed: vec![7, 8, 9],
        };
        let stored = store
            .add_case_file(case.id, bruno, &file, |_| audited("case.file"))
            .await
            .unwrap();
        pictures.push(stored.id);
    }
    let download = |file_id: i64, at: i64| {
        let store = store.clone();
        async move {
            store
                .reveal_case_file(
                    &CaseFileRevealRequest {
                        case_id: case.id,
                        file_id,
                        user_id: bruno,
                        now: at,
                        day_start: DAY,
                        daily_limit: Some(1),
                    },
                    |file| entry("case.file.download", &case_target(file.case_id), at),
                )
                .await
        }
    };
    let Ok(RevealOutcome::Revealed {
        reveal: file,
        items_today,
        reveals_today,
    }) = download(pictures[0], DAY + 8_000).await
    else {
        panic!("the first picture");
    };
    assert_eq!(file.sealed, [7, 8, 9], "with its bytes");
    assert_eq!((items_today, reveals_today), (1, 1));
    let rows = store.audit(0, 1_000).await.unwrap().len();
    assert_eq!(
        download(pictures[1], DAY + 9_000).await.unwrap(),
        RevealOutcome::LimitReached { items_today: 1 }
    );
    assert_eq!(store.audit(0, 1_000).await.unwrap().len(), rows);
    assert!(matches!(
        download(pictures[0], DAY + 9_500).await,
        Ok(RevealOutcome::Revealed {
            reveals_today: 2,
            ..
        })
    ));
    assert!(matches!(
        download(9_999, DAY + 9_600).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.revealed_today(bruno, DAY).await.unwrap(), 1);
    let counts: Vec<(String, i64, i64)> = store
        .exposure(DAY)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.name, row.items, row.reveals))
        .collect();
    assert_eq!(
        counts,
        [("anne".to_owned(), 2, 3), ("bruno".to_owned(), 1, 2)]
    );
    let reveal_rows = store
        .audit(0, 1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|row| row.action == "item.reveal")
        .count();
    assert_eq!(reveal_rows, 4);
}

async fn a_case_keeps_its_timeline(db: &TestDb) {
    let store = &db.store;
    report(db, "https://c.example/1", "csam", 1, DAY, "queued").await;
    report(db, "https://c.example/2", "csam", 1, DAY, "queued").await;
    report(db, "https://elsewhere.example/", "csam", 1, DAY, "queued").await;
    // The intake's audit rows name the reports' receipts; another row naming a receipt is
    // not a receipt, and another report's receipt is not the case's.
    for (action, receipt, at) in [
        (
            vigie_store::REPORT_RECEIVE_ACTION,
            "R-https://c.example/1",
            5,
        ),
        (
            vigie_store::REPORT_RECEIVE_ACTION,
            "R-https://elsewhere.example/",
            6,
        ),
        ("report.status", "R-https://c.example/1", 7),
    ] {
        store
            .append_audit(&entry(action, receipt, at))
            .await
            .unwrap();
    }
    let anne = analyst(db, "anne").await;
    let first = item_id(db, "https://c.example/1").await;
    let second = item_id(db, "https://c.example/2").await;
    store
        .claim_item(
            first,
            anne,
            DAY,
            &entry("item.claim", &item_target(first), 10),
        )
        .await
        .unwrap();

    assert!(matches!(
        store
            .create_case("  ", anne, |_| audited("case.create"))
            .await,
        Err(StoreError::Invalid(_))
    ));
    let case = store
        .create_case("Forum X", anne, |case| {
            entry("case.create", &case_target(case.id), 20)
        })
        .await
        .expect("create a case");
    assert_eq!((case.status.as_str(), case.items), ("open", 0));
    assert_eq!(case.created_by_name, "anne");
    let target = case_target(case.id);
    store
        .add_case_item(case.id, first, &entry("case.add_item", &target, 30))
        .await
        .unwrap();
    store
        .add_case_item(case.id, second, &entry("case.add_item", &target, 31))
        .await
        .unwrap();
    let note = store
        .add_case_note(case.id, anne, "Same forum as last week.", |note| {
            assert_eq!(note.author_name, "anne");
            entry(vigie_store::CASE_NOTE_ACTION, &target, note.created_at)
        })
        .await
        .unwrap();
    let file = store
        .add_case_file(
            case.id,
            anne,
            &NewCaseFile {
                file_name: "letter.txt".into(),
                media_type: "text/plain".into(),
                size: 5,
                sha256: "ab".repeat(32),
                key_id: "k1".into(),
                sealed: vec![1, 2, 3, 4, 5, 6],
            },
            |file| entry(vigie_store::CASE_FILE_ACTION, &target, file.added_at),
        )
        .await
        .unwrap();
    assert!(file.sealed.is_empty(), "listed without its bytes");
    assert_eq!(
        store.case_file(case.id, file.id).await.unwrap().sealed,
        [1, 2, 3, 4, 5, 6]
    );
    assert_eq!(store.case_files(case.id).await.unwrap().len(), 1);
    assert_eq!(store.case_notes(case.id).await.unwrap(), [note]);
    // Something happens to an item after it joined: the timeline shows it. It goes to the
    // partner hotline of its country, which is kept with the decision.
    let forward = Classification {
        decision: "partner_hotline".into(),
        decision_country: Some("DE".into()),
        ..baseline()
    };
    let decided = store
        .decide_item(
            first,
            anne,
            &forward,
            DAY,
            &entry("item.decide", &item_target(first), 40),
        )
        .await
        .unwrap();
    assert_eq!(decided.decision.as_deref(), Some("partner_hotline"));
    assert_eq!(decided.decision_country.as_deref(), Some("DE"));
    assert_eq!(
        store.case_items(case.id).await.unwrap()[0].decision_country,
        decided.decision_country
    );
    store
        .remove_case_item(case.id, second, &entry("case.remove_item", &target, 50))
        .await
        .unwrap();
    assert!(matches!(
        store
            .remove_case_item(case.id, second, &entry("case.remove_item", &target, 51))
            .await,
        Err(StoreError::NotFound(_))
    ));
    let items = store.case_items(case.id).await.unwrap();
    assert_eq!(
        items.iter().map(|item| item.id).collect::<Vec<_>>(),
        [first]
    );
    assert_eq!(store.case(case.id).await.unwrap().items, 1);

    // Audit rows of the case and of the items it holds now (the removed one's claim is not
    // there), the receipt of the report naming the item it holds, with the note and the file,
    // in time order; the note's and file's own audit rows are not shown twice.
    let timeline = store.case_timeline(case.id).await.unwrap();
    let told: Vec<String> = timeline
        .iter()
        .map(|event| match event {
            TimelineEvent::Note(note) => format!("note {}", note.body),
            TimelineEvent::File(file) => format!("file {}", file.file_name),
            TimelineEvent::Audit(row) => format!("{} {}", row.action, row.target),
        })
        .collect();
    let item = item_target(first);
    let timed: Vec<String> = vec![
        "report.receive R-https://c.example/1".into(),
        format!("item.claim {item}"),
        format!("case.create {target}"),
        format!("case.add_item {target}"),
        format!("case.add_item {target}"),
        format!("item.decide {item}"),
        format!("case.remove_item {target}"),
    ];
    // The note and the file carry the store's own clock, after every made-up time above.
    let mut expected = timed;
    expected.push("note Same forum as last week.".into());
    expected.push("file letter.txt".into());
    assert_eq!(told, expected);

    store
        .close_case(case.id, &entry("case.close", &target, 60))
        .await
        .unwrap();
    assert_eq!(store.case(case.id).await.unwrap().status, "closed");
    assert!(matches!(
        store
            .add_case_item(case.id, second, &entry("case.add_item", &target, 70))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .close_case(case.id, &entry("case.close", &target, 70))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let other = store
        .create_case("Other", anne, |case| {
            entry("case.create", &case_target(case.id), 80)
        })
        .await
        .unwrap();
    assert!(matches!(
        store
            .add_case_item(other.id, first, &entry("case.add_item", "x", 90))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let listed: Vec<i64> = store.cases().await.unwrap().iter().map(|c| c.id).collect();
    assert_eq!(listed, [other.id, case.id]);
    assert!(matches!(
        store.case_timeline(9_999).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn figures_add_up_the_work(db: &TestDb) {
    let store = &db.store;
    let empty = store.figures(0, DAY).await.unwrap();
    assert_eq!(
        (empty.waiting, empty.oldest_wait_ms, empty.median_wait_ms),
        (0, None, None)
    );
    assert_eq!(empty.resolved, 0);

    // Two days of reports: four waiting items reported at DAY + 1 s, 2 s, 3 s and 10 s.
    report(db, "https://f.example/1", "csam", 1, DAY + 1_000, "queued").await;
    report(
        db,
        "https://f.example/2",
        "grooming",
        2,
        DAY + 2_000,
        "queued",
    )
    .await;
    report(db, "https://f.example/3", "csam", 1, DAY + 3_000, "queued").await;
    report(db, "https://f.example/4", "csam", 1, DAY + 10_000, "queued").await;
    report(
        db,
        "https://f.example/known",
        "csam",
        1,
        DAY + DAY_MS,
        "known",
    )
    .await;
    report(
        db,
        "https://f.example/seen",
        "sextortion",
        2,
        DAY + DAY_MS,
        "queued",
    )
    .await;
    report(
        db,
        "https://f.example/unseen",
        "csam",
        1,
        DAY + DAY_MS,
        "queued",
    )
    .await;
    report(
        db,
        "https://f.example/old",
        "csam",
        1,
        DAY - DAY_MS,
        "known",
    )
    .await;

    // One item decided after a reveal, one without; one resolved from a bank.
    let anne = analyst(db, "anne").await;
    let now = DAY + DAY_MS + 50_000;
    for (url, reveal) in [
        ("https://f.example/seen", true),
        ("https://f.example/unseen", false),
    ] {
        let id = item_id(db, url).await;
        store
            .claim_item(id, anne, now, &entry("item.claim", "x", 1))
            .await
            .unwrap();
        if reveal {
            store
                .reveal_item(
                    &RevealRequest {
                        item_id: id,
                        user_id: anne,
                        now,
                        lifetime_ms: 60_000,
                        day_start: DAY,
                        daily_limit: None,
                    },
                    |_| entry("item.reveal", "x", 1),
                )
                .await
                .unwrap();
        }
        store
            .decide_item(id, anne, &baseline(), now, &entry("item.decide", "x", 1))
            .await
            .unwrap();
    }

    let figures = store.figures(DAY, now).await.unwrap();
    assert_eq!(
        figures.reports_per_day,
        [(DAY, 4), (DAY + DAY_MS, 3)],
        "yesterday's report is before `since`"
    );
    assert_eq!(
        figures.reports_by_category,
        [
            ("csam".to_string(), 5),
            ("grooming".to_string(), 1),
            ("sextortion".to_string(), 1)
        ]
    );
    // Resolved: the two decided and the two known; only one was ever revealed.
    assert_eq!((figures.resolved, figures.resolved_without_reveal), (4, 3));
    assert_eq!(figures.waiting, 4);
    assert_eq!(figures.oldest_wait_ms, Some(now - (DAY + 1_000)));
    // Four waits: the median is halfway between the 2nd and 3rd oldest.
    assert_eq!(figures.median_wait_ms, Some(now - (DAY + 2_500)));
    // An odd count reads the middle one.
    let id = item_id(db, "https://f.example/4").await;
    store
        .claim_item(id, anne, now, &entry("item.claim", "x", 1))
        .await
        .unwrap();
    store
        .decide_item(id, anne, &baseline(), now, &entry("item.decide", "x", 1))
        .await
        .unwrap();
    let figures = store.figures(DAY, now).await.unwrap();
    assert_eq!(figures.waiting, 3);
    assert_eq!(figures.median_wait_ms, Some(now - (DAY + 2_000)));
}
