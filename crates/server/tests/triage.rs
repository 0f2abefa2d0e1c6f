//! An analyst's day through the real server, with a plain HTTP client: the queue, a claim that
//! a colleague cannot take, a decision, a case and its four exports (each audited), the
//! supervisor's exposure page and the figures; the menus in the analyst's language, a
//! decision forwarding to a partner hotline with its country, a case's files downloaded (its
//! media only when confirmed, counted as a reveal), the reports in a case's timeline, and the
//! wellness limits (the daily reveal limit, the break reminder). Reports and items are written
//! with plain SQL, as the intake leaves them, or sent by a partner through the API.

use std::io::Read;

use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

mod common;
use common::*;

/// A signed-in browser-like client: its session and CSRF cookies, sent by hand.
struct Person {
    client: Client,
    base: String,
    cookies: String,
}

impl Person {
    async fn sign_in(base: &str, admin: &str, name: &str, role: &str) -> Person {
        let client = Client::builder().redirect(Policy::none()).build().unwrap();
        if role != "admin" {
            let created = client
                .post(format!("{base}/admin/users"))
                .header("cookie", admin)
                .json(&json!({"name": name, "password": "a long enough password", "role": role}))
                .send()
                .await
                .unwrap();
            assert_eq!(created.status(), StatusCode::CREATED);
        }
        let login = client
            .post(format!("{base}/login"))
            .json(&json!({"name": name, "password": "a long enough password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), StatusCode::OK);
        let session = session_from(&login);
        // Any page hands out the CSRF cookie; its token is the form's hidden field.
        let token = vigie_server::auth::new_secret();
        Person {
            client,
            base: base.to_owned(),
            cookies: format!("{session}; vigie_csrf={token}"),
        }
    }

    fn csrf(&self) -> &str {
        self.cookies.rsplit('=').next().unwrap()
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookies)
            .send()
            .await
            .unwrap()
    }

    async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    /// Posts a form with a token that is not the cookie's, as another site's form would.
    async fn forge(&self, path: &str) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookies)
            .form(&[("csrf", "0".repeat(64))])
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = vec![("csrf", self.csrf())];
        form.extend_from_slice(fields);
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookies)
            .form(&form)
            .send()
            .await
            .unwrap()
    }
}

/// One public report naming a new URL item with `status` (and `matched_bank` when known).
async fn report(database: &str, url: &str, category: &str, urgency: i64, status: &str) {
    let at = vigie_server::now() - 3_600_000;
    let bank = if status == "known" {
        "'BENIGN_BANK'"
    } else {
        "NULL"
    };
    execute_sqlite(
        database,
        &format!(
            "INSERT INTO reports (receipt, channel, category, description, language, received_at) \
             VALUES ('R-{url}', 'public', '{category}', 'Vu sur {url}', 'fr', {at})"
        ),
    )
    .await;
    execute_sqlite(
        database,
        &format!(
            "INSERT INTO items (kind, url, normalised_url, category, urgency, reporters, \
             first_reported_at, last_reported_at, status, matched_bank) \
             VALUES ('url', '{url}', '{url}', '{category}', {urgency}, 1, {at}, {at}, '{status}', {bank})"
        ),
    )
    .await;
    execute_sqlite(
        database,
        &format!(
            "INSERT INTO report_items (report_id, item_id) SELECT r.id, i.id \
             FROM reports r, items i WHERE r.receipt = 'R-{url}' AND i.normalised_url = '{url}'"
        ),
    )
    .await;
}

fn location(response: &reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    response.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_analyst_claims_decides_and_exports_a_case() {
    let directory = tempfile::tempdir().unwrap();
    let (database, server, admin) = hotline(&directory, |_| {}).await;
    report(&database, "https://a.example/slow", "csam", 1, "queued").await;
    report(
        &database,
        "https://a.example/live",
        "live_abuse",
        3,
        "queued",
    )
    .await;
    report(&database, "https://a.example/known", "csam", 1, "known").await;

    let anne = Person::sign_in(&server.base, &admin, "anne", "analyst").await;
    let bruno = Person::sign_in(&server.base, &admin, "bruno", "analyst").await;
    let reader = Person::sign_in(&server.base, &admin, "reader", "readonly").await;

    // The queue: live abuse first; known material only among the resolved, with no reveal.
    let queue = anne.page("/triage").await;
    let live = queue
        .find("https://a.example/live")
        .expect("live item queued");
    let slow = queue
        .find("https://a.example/slow")
        .expect("slow item queued");
    let resolved = queue.find("id=\"resolved\"").unwrap();
    assert!(live < slow && slow < resolved, "{queue}");
    let known = queue.find("https://a.example/known").unwrap();
    assert!(known > resolved);
    assert!(queue.contains("BENIGN_BANK"));
    assert!(queue.contains("id=\"exposure-count\">0<"), "{queue}");
    let item_id: i64 = queue[..live]
        .rsplit("/triage/items/")
        .next()
        .and_then(|rest| rest.split('"').next())
        .and_then(|id| id.parse().ok())
        .expect("the live item's link");
    let item = format!("/triage/items/{item_id}");

    // A form without the page's token is refused; with it, anne claims the item.
    let forged = anne.forge(&format!("{item}/claim")).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        location(&anne.post(&format!("{item}/claim"), &[]).await),
        item
    );
    let taken = bruno.post(&format!("{item}/claim"), &[]).await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert!(taken.text().await.unwrap().contains("claimed by anne"));
    let page = anne.page(&item).await;
    assert!(page.contains("Vu sur https://a.example/live"));
    assert!(page.contains("id=\"claimed-by\">anne<"));
    assert!(page.contains("id=\"classify\""));
    // The menus show words in the analyst's language and send the codes.
    assert!(
        page.contains("<option value=\"pre_pubescent\">Pre-pubescent</option>"),
        "{page}"
    );
    assert!(page.contains("<option value=\"a1\">A1: prepubescent child, sex act</option>"));
    let french = anne.page(&format!("{item}?lang=fr")).await;
    assert!(french.contains("<option value=\"pre_pubescent\">Prépubère</option>"));
    assert!(french.contains("<option value=\"a1\">A1 : enfant prépubère, acte sexuel</option>"));
    assert!(french.contains("<option value=\"notice_to_host\">Notifier l&#39;hébergeur</option>"));
    assert!(
        french.contains("<option value=\"1\">1 : contenu d&#39;abus sexuel sur enfant</option>")
    );
    assert!(french.contains("id=\"status\">Pris en charge<"));
    assert!(!french.contains(">pre_pubescent<") && !french.contains(">law_enforcement<"));
    // A URL item has no media to reveal, and read-only accounts see no item at all.
    assert_eq!(
        anne.post(&format!("{item}/reveal"), &[]).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(reader.get(&item).await.status(), StatusCode::FORBIDDEN);

    // Unknown codes are refused; known ones decide the item.
    let bad = anne
        .post(
            &format!("{item}/decide"),
            &[("iccam", "illegal"), ("decision", "law_enforcement")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let decided = anne
        .post(
            &format!("{item}/decide"),
            &[
                ("iccam", "baseline"),
                ("site_type", "forum"),
                ("age_group", "pre_pubescent"),
                ("gender", "female"),
                ("ncmec", "a1"),
                ("vics", "1"),
                ("decision", "law_enforcement"),
            ],
        )
        .await;
    assert_eq!(location(&decided), item);
    let page = anne.page(&item).await;
    assert!(
        page.contains("id=\"decision\">Forward to law enforcement<"),
        "{page}"
    );
    let french = anne.page(&format!("{item}?lang=fr")).await;
    assert!(french.contains("id=\"decision\">Transmettre aux forces de l&#39;ordre<"));
    assert!(!anne.page("/triage").await[..resolved].contains("https://a.example/live"));

    // Into a new case, with a note; the case page tells the story.
    let to_case = anne
        .post(
            &format!("{item}/case"),
            &[("case_id", ""), ("new_title", "Live stream, forum X")],
        )
        .await;
    let case = location(&to_case);
    assert!(case.starts_with("/cases/"));
    assert_eq!(
        location(
            &anne
                .post(&format!("{case}/notes"), &[("body", "Host notified.")])
                .await
        ),
        case
    );
    // A file joins the case sealed: the page lists its name and digest, never its bytes.
    let letter = b"Letter to the host, benign test text.".to_vec();
    let upload = reqwest::multipart::Form::new()
        .text("csrf", anne.csrf().to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(letter.clone()).file_name("letter.txt"),
        );
    let added = anne
        .client
        .post(format!("{}{case}/files", server.base))
        .header("cookie", &anne.cookies)
        .multipart(upload)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&added), case);
    let case_id: i64 = case.trim_start_matches("/cases/").parse().unwrap();
    let store = vigie_store::Store::open(&database).await.unwrap();
    let files = store.case_files(case_id).await.unwrap();
    let stored = store.case_file(case_id, files[0].id).await.unwrap();
    assert_ne!(stored.sealed, letter, "kept sealed");
    let sha256 = vigie_hash::hex(&<sha2::Sha256 as sha2::Digest>::digest(&letter));
    assert_eq!(stored.sha256, sha256);
    let case_page = anne.page(&case).await;
    assert!(case_page.contains("letter.txt") && case_page.contains(&sha256));
    assert!(case_page.contains("case.file: letter.txt"), "{case_page}");
    assert!(case_page.contains("Live stream, forum X"));
    assert!(case_page.contains("<td>Decided</td>\n      <td>Forward to law enforcement</td>"));
    let french_case = anne.page(&format!("{case}?lang=fr")).await;
    assert!(french_case
        .contains("<td>Décidé</td>\n      <td>Transmettre aux forces de l&#39;ordre</td>"));
    assert!(case_page.contains("Host notified."));
    for action in ["item.claim", "item.decide", "case.create", "case.add_item"] {
        assert!(case_page.contains(action), "{action} in the timeline");
    }

    // The four exports, each parsed back and each audited.
    let xml = anne.get(&format!("{case}/export/cybertipline.xml")).await;
    assert_eq!(xml.status(), StatusCode::OK);
    assert_eq!(xml.headers()["cache-control"], "no-store");
    let xml = xml.text().await.unwrap();
    assert!(
        xml.contains("<report") && xml.contains("https://a.example/live"),
        "{xml}"
    );
    let iccam: Value = anne
        .get(&format!("{case}/export/iccam.json"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        iccam.to_string().contains("https://a.example/live"),
        "{iccam}"
    );
    let vics: Value = anne
        .get(&format!("{case}/export/vics.json"))
        .await
        .json()
        .await
        .unwrap();
    assert!(vics["@odata.context"]
        .as_str()
        .unwrap()
        .contains("VICSDATAMODEL"));
    let zip = anne.get(&format!("{case}/export/referral.zip")).await;
    assert_eq!(zip.headers()["content-type"], "application/zip");
    let bytes = zip.bytes().await.unwrap().to_vec();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut audit = String::new();
    archive
        .by_name("audit.jsonl")
        .unwrap()
        .read_to_string(&mut audit)
        .unwrap();
    assert!(audit.contains("item.decide"), "{audit}");
    assert!(archive.by_name("manifest.json").is_ok());
    let case_page = anne.page(&case).await;
    assert_eq!(case_page.matches("case.export").count(), 4, "{case_page}");

    // The supervisor's page is the administrator's; figures are everyone's.
    assert_eq!(
        anne.get("/triage/exposure").await.status(),
        StatusCode::FORBIDDEN
    );
    let cookie_admin = Person {
        client: Client::new(),
        base: server.base.clone(),
        cookies: admin.clone(),
    };
    let exposure = cookie_admin.page("/triage/exposure").await;
    assert!(exposure.contains("<td>anne</td><td>0</td>"), "{exposure}");
    let figures = reader.page("/figures").await;
    // Two resolved (the decision and the known item), neither revealed.
    assert!(
        figures.contains("id=\"share-without-reveal\">100 %<"),
        "{figures}"
    );
    assert!(figures.contains("<td>csam</td><td>2</td>"), "{figures}");
}

/// A server on a fresh SQLite file with a vault key; the database URL and the first
/// administrator's cookie.
async fn hotline(
    directory: &tempfile::TempDir,
    settings: impl FnOnce(&mut vigie_server::Config),
) -> (String, Server, String) {
    let database = format!("sqlite:{}", directory.path().join("t.sqlite3").display());
    let mut config = vigie_server::Config::new("127.0.0.1:0".parse().unwrap(), &database);
    config.vault = Some(vigie_vault::KeyRing::generate("t-1").unwrap());
    settings(&mut config);
    let server = start_with(config).await;
    let admin = first_admin(&Client::new(), &server).await;
    (database, server, admin)
}

/// The id of the item of `url` in the queue.
async fn queued_item(person: &Person, url: &str) -> i64 {
    let queue = person.page("/triage").await;
    let at = queue.find(url).expect("the item is queued");
    queue[..at]
        .rsplit("/triage/items/")
        .next()
        .and_then(|rest| rest.split('"').next())
        .and_then(|id| id.parse().ok())
        .expect("the item's link")
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarding_to_a_partner_hotline_names_its_country() {
    let directory = tempfile::tempdir().unwrap();
    let (database, server, admin) = hotline(&directory, |_| {}).await;
    report(&database, "https://b.example/abroad", "csam", 1, "queued").await;
    let anne = Person::sign_in(&server.base, &admin, "anne", "analyst").await;
    let id = queued_item(&anne, "https://b.example/abroad").await;
    let item = format!("/triage/items/{id}");
    location(&anne.post(&format!("{item}/claim"), &[]).await);
    let page = anne.page(&item).await;
    assert!(page.contains("name=\"decision_country\""), "{page}");
    assert!(
        !page.contains("name=\"decision_country\" value="),
        "empty by default"
    );

    let decide = |country: &'static str, decision: &'static str| {
        let fields = [
            ("iccam", "baseline"),
            ("decision", decision),
            ("decision_country", country),
        ];
        let anne = &anne;
        let path = format!("{item}/decide");
        async move { anne.post(&path, &fields).await }
    };
    // Each mistake comes back on the form, in words, and decides nothing.
    for (country, decision, why) in [
        (
            "",
            "partner_hotline",
            "give the two-letter code of its country",
        ),
        (
            "XX",
            "partner_hotline",
            "&#39;XX&#39; is not the ISO code of a country",
        ),
        ("fr", "partner_hotline", "FR is our own country"),
        (
            "DE",
            "notice_to_host",
            "A country is only for forwarding to a partner hotline",
        ),
    ] {
        let refused = decide(country, decision).await;
        assert_eq!(
            refused.status(),
            StatusCode::BAD_REQUEST,
            "{country} {decision}"
        );
        let text = refused.text().await.unwrap();
        assert!(text.contains(why), "{why}: {text}");
        assert!(text.contains("id=\"classify\""), "the form is shown again");
    }
    let french = anne
        .post(
            &format!("{item}/decide?lang=fr"),
            &[("iccam", "baseline"), ("decision", "partner_hotline")],
        )
        .await;
    assert!(french
        .text()
        .await
        .unwrap()
        .contains("donnez le code à deux lettres de son pays"));
    assert!(anne.page(&item).await.contains("id=\"status\">Claimed<"));

    // A country in either case is taken, kept, and shown with the decision.
    assert_eq!(location(&decide("de", "partner_hotline").await), item);
    let page = anne.page(&item).await;
    assert!(
        page.contains(
            "id=\"decision\">Forward to the partner hotline of the hosting country (DE)<"
        ),
        "{page}"
    );
    let to_case = anne
        .post(
            &format!("{item}/case"),
            &[("case_id", ""), ("new_title", "Hosted in Germany")],
        )
        .await;
    let case = location(&to_case);
    assert!(anne
        .page(&case)
        .await
        .contains("<td>Forward to the partner hotline of the hosting country (DE)</td>"));

    // ICCAM hears of the move to the German hotline: action "Moved" (0) in DE.
    let iccam: Value = anne
        .get(&format!("{case}/export/iccam.json"))
        .await
        .json()
        .await
        .unwrap();
    let action = &iccam["urls"][0]["actions"][0];
    assert_eq!(action["actionType"], 0, "{iccam}");
    assert_eq!(action["country"], "DE", "{iccam}");
    let store = vigie_store::Store::open(&database).await.unwrap();
    let decided = store
        .audit(0, 1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|row| row.action == "item.decide")
        .collect::<Vec<_>>();
    assert_eq!(decided.len(), 1, "the refused forms decided nothing");
    assert_eq!(decided[0].detail["country"], "DE");
}

/// A partner's report of one benign corpus image; the id of its file item, queued.
async fn file_item(base: &str, partner: &str, file: &str) -> i64 {
    let answer = partner_report(&Client::new(), base, partner, file, &[]).await;
    assert_eq!(answer["items"][0]["status"], "queued", "{answer}");
    answer["items"][0]["id"].as_i64().expect("the item's id")
}

/// The audit rows of `action` so far.
async fn audited(database: &str, action: &str) -> Vec<vigie_store::AuditEntry> {
    let store = vigie_store::Store::open(database).await.unwrap();
    let rows = store.audit(0, 10_000).await.unwrap();
    rows.into_iter()
        .filter(|row| row.action == action)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn reveals_stop_at_the_daily_limit_and_breaks_come_every_few() {
    let directory = tempfile::tempdir().unwrap();
    let (database, server, admin) = hotline(&directory, |config| {
        config.hotline.daily_reveal_limit = 2;
        config.hotline.break_every = 2;
    })
    .await;
    let partner = api_key(&Client::new(), &server.base, &admin, &["report"], None).await;
    let mut items = Vec::new();
    for file in [
        "misc-images/small.jpg",
        "misc-images/wee.jpg",
        "bridge-mods/square-128x128.jpg",
    ] {
        items.push(file_item(&server.base, &partner, file).await);
    }
    let anne = Person::sign_in(&server.base, &admin, "anne", "analyst").await;
    for id in &items {
        location(&anne.post(&format!("/triage/items/{id}/claim"), &[]).await);
    }
    let reveal = |id: i64| {
        let anne = &anne;
        async move { anne.post(&format!("/triage/items/{id}/reveal"), &[]).await }
    };
    let page_of = |id: i64| format!("/triage/items/{id}");

    // The first reveal of the day: no break yet.
    assert_eq!(location(&reveal(items[0]).await), page_of(items[0]));
    assert!(!anne.page(&page_of(items[0])).await.contains("id=\"break\""));
    // The second: a break is suggested on the page it lands on.
    let second = location(&reveal(items[1]).await);
    assert_eq!(second, format!("{}?break=1", page_of(items[1])));
    let page = anne.page(&second).await;
    assert!(
        page.contains("id=\"break\"") && page.contains("Take a break"),
        "{page}"
    );
    assert!(page.contains("id=\"exposure-count\">2<"), "{page}");

    // A third item is past the limit: refused on the page, nothing revealed or audited.
    assert_eq!(audited(&database, "item.reveal").await.len(), 2);
    let refused = reveal(items[2]).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let text = refused.text().await.unwrap();
    assert!(
        text.contains("id=\"message\">You have revealed 2 items today, the daily limit"),
        "{text}"
    );
    assert!(!text.contains("id=\"original\"") && text.contains("id=\"thumbnail\""));
    assert_eq!(audited(&database, "item.reveal").await.len(), 2);
    let original = anne.get(&format!("{}/original", page_of(items[2]))).await;
    assert_eq!(original.status(), StatusCode::FORBIDDEN);
    let french = anne
        .post(&format!("{}/reveal?lang=fr", page_of(items[2])), &[])
        .await;
    assert_eq!(french.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(french
        .text()
        .await
        .unwrap()
        .contains("Vous avez dévoilé 2 contenus aujourd&#39;hui, la limite quotidienne"));

    // What was seen today may be seen again; every second reveal suggests a break.
    assert_eq!(location(&reveal(items[0]).await), page_of(items[0]));
    assert_eq!(
        location(&reveal(items[1]).await),
        format!("{}?break=1", page_of(items[1]))
    );
    assert_eq!(audited(&database, "item.reveal").await.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_case_s_files_download_and_its_media_only_when_confirmed() {
    let directory = tempfile::tempdir().unwrap();
    let (database, server, admin) = hotline(&directory, |config| {
        config.hotline.daily_reveal_limit = 1;
    })
    .await;
    let partner = api_key(&Client::new(), &server.base, &admin, &["report"], None).await;
    let anne = Person::sign_in(&server.base, &admin, "anne", "analyst").await;
    let created = anne.post("/cases", &[("title", "Files of a forum")]).await;
    let case = location(&created);
    let add = |name: &'static str, bytes: Vec<u8>| {
        let anne = &anne;
        let url = format!("{}{case}/files", server.base);
        async move {
            let form = reqwest::multipart::Form::new()
                .text("csrf", anne.csrf().to_owned())
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(bytes).file_name(name),
                );
            let added = anne
                .client
                .post(url)
                .header("cookie", &anne.cookies)
                .multipart(form)
                .send()
                .await
                .unwrap();
            assert_eq!(added.status(), StatusCode::SEE_OTHER);
        }
    };
    let letter = b"Letter to the host, benign test text.".to_vec();
    let picture = corpus_file("misc-images/small.jpg");
    add("letter \"to\" host.txt", letter.clone()).await;
    add("screenshot.jpg", picture.clone()).await;
    let case_id: i64 = case.trim_start_matches("/cases/").parse().unwrap();
    let store = vigie_store::Store::open(&database).await.unwrap();
    let files = store.case_files(case_id).await.unwrap();
    let (letter_id, picture_id) = (files[0].id, files[1].id);

    // The letter is a link; the picture a confirmation form.
    let page = anne.page(&case).await;
    let letter_path = format!("{case}/files/{letter_id}");
    let picture_path = format!("{case}/files/{picture_id}");
    assert!(
        page.contains(&format!("<a href=\"{letter_path}\">")),
        "{page}"
    );
    assert!(!page.contains(&format!("<a href=\"{picture_path}\">")));
    assert!(page.contains(&format!("<form method=\"post\" action=\"{picture_path}\">")));
    assert!(page.contains("counts as a reveal"));

    // The letter downloads, audited, opened, never cached, and is no reveal.
    let download = anne.get(&letter_path).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()["cache-control"], "no-store");
    assert_eq!(
        download.headers()["content-disposition"],
        "attachment; filename=\"letter__to__host.txt\""
    );
    assert_eq!(download.bytes().await.unwrap().to_vec(), letter);
    let downloads = audited(&database, "case.file.download").await;
    assert_eq!(downloads.len(), 1);
    assert_eq!(downloads[0].target, format!("case:{case_id}"));
    assert_eq!(downloads[0].detail["file"], letter_id);
    assert!(anne.page(&case).await.contains("id=\"exposure-count\">0<"));

    // The picture is not sent on a plain GET, nor on a form from another site.
    let refused = anne.get(&picture_path).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("asks you to confirm"));
    let forged = anne.forge(&picture_path).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(audited(&database, "case.file.download").await.len(), 1);

    // Confirmed, it is sent, audited and counted as a reveal of the day.
    let confirmed = anne.post(&picture_path, &[]).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert_eq!(confirmed.headers()["content-type"], "image/jpeg");
    assert_eq!(confirmed.headers()["cache-control"], "no-store");
    assert_eq!(
        confirmed.headers()["content-disposition"],
        "attachment; filename=\"screenshot.jpg\""
    );
    assert_eq!(confirmed.bytes().await.unwrap().to_vec(), picture);
    let downloads = audited(&database, "case.file.download").await;
    assert_eq!(downloads.len(), 2);
    assert_eq!(downloads[1].detail["media"], true);
    let page = anne.page(&case).await;
    assert!(page.contains("id=\"exposure-count\">1<"), "{page}");
    assert!(page.contains("case.file.download"), "in the timeline");
    let admin_person = Person {
        client: Client::new(),
        base: server.base.clone(),
        cookies: admin.clone(),
    };
    let exposure = admin_person.page("/triage/exposure").await;
    assert!(exposure.contains("<td>anne</td><td>1</td>"), "{exposure}");

    // The limit (one) is reached: an item's media is refused, the same picture is not.
    let item = file_item(&server.base, &partner, "misc-images/wee.jpg").await;
    location(&anne.post(&format!("/triage/items/{item}/claim"), &[]).await);
    let over = anne
        .post(&format!("/triage/items/{item}/reveal"), &[])
        .await;
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(anne.post(&picture_path, &[]).await.status(), StatusCode::OK);
    assert_eq!(audited(&database, "case.file.download").await.len(), 3);
    // Another picture is refused on the case page, and nothing is written of it.
    add("another.jpg", corpus_file("bridge-mods/square-128x128.jpg")).await;
    let another = store.case_files(case_id).await.unwrap()[2].id;
    let refused = anne.post(&format!("{case}/files/{another}"), &[]).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let text = refused.text().await.unwrap();
    assert!(
        text.contains("id=\"message\">You have revealed 1 items today, the daily limit"),
        "{text}"
    );
    assert_eq!(audited(&database, "case.file.download").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_case_s_timeline_starts_with_the_reports_of_its_items() {
    let directory = tempfile::tempdir().unwrap();
    let (_database, server, admin) = hotline(&directory, |_| {}).await;
    let partner = api_key(&Client::new(), &server.base, &admin, &["report"], None).await;
    let client = Client::new();
    let first = partner_report(
        &client,
        &server.base,
        &partner,
        "misc-images/small.jpg",
        &[],
    )
    .await;
    let other = partner_report(&client, &server.base, &partner, "misc-images/wee.jpg", &[]).await;
    let receipt = first["receipt"].as_str().expect("a receipt");
    let id = first["items"][0]["id"].as_i64().expect("the item's id");
    let anne = Person::sign_in(&server.base, &admin, "anne", "analyst").await;
    let to_case = anne
        .post(
            &format!("/triage/items/{id}/case"),
            &[("case_id", ""), ("new_title", "From a partner")],
        )
        .await;
    let page = anne.page(&location(&to_case)).await;
    let timeline = &page[page.find("id=\"timeline\"").expect("a timeline")..];
    let received = timeline
        .find(&format!("report.receive {receipt}"))
        .unwrap_or_else(|| panic!("the report's receipt in {timeline}"));
    // The report came before the case, and another item's report is not the case's.
    assert!(received < timeline.find("case.create").unwrap());
    assert!(!timeline.contains(other["receipt"].as_str().unwrap()));
}
