//! An analyst's day through the real server, with a plain HTTP client: the queue, a claim that
//! a colleague cannot take, a decision, a case and its four exports (each audited), the
//! supervisor's exposure page and the figures. Reports and items are written with plain SQL, as
//! the intake leaves them.

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

/// Runs SQL on the server's SQLite file, as the intake would have written it.
async fn execute(database: &str, sql: &str) {
    use sqlx::Connection;
    let mut connection = sqlx::SqliteConnection::connect(database).await.unwrap();
    sqlx::query(sql).execute(&mut connection).await.unwrap();
}

/// One public report naming a new URL item with `status` (and `matched_bank` when known).
async fn report(database: &str, url: &str, category: &str, urgency: i64, status: &str) {
    let at = vigie_server::now() - 3_600_000;
    let bank = if status == "known" {
        "'BENIGN_BANK'"
    } else {
        "NULL"
    };
    execute(
        database,
        &format!(
            "INSERT INTO reports (receipt, channel, category, description, language, received_at) \
             VALUES ('R-{url}', 'public', '{category}', 'Vu sur {url}', 'fr', {at})"
        ),
    )
    .await;
    execute(
        database,
        &format!(
            "INSERT INTO items (kind, url, normalised_url, category, urgency, reporters, \
             first_reported_at, last_reported_at, status, matched_bank) \
             VALUES ('url', '{url}', '{url}', '{category}', {urgency}, 1, {at}, {at}, '{status}', {bank})"
        ),
    )
    .await;
    execute(
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
    let database = format!("sqlite:{}", directory.path().join("t.sqlite3").display());
    let mut config = vigie_server::Config::new("127.0.0.1:0".parse().unwrap(), &database);
    config.vault = Some(vigie_vault::KeyRing::generate("t-1").unwrap());
    let server = start_with(config).await;
    let admin = first_admin(&Client::new(), &server).await;
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
    let forged = anne
        .client
        .post(format!("{}{item}/claim", server.base))
        .header("cookie", &anne.cookies)
        .form(&[("csrf", "0".repeat(64))])
        .send()
        .await
        .unwrap();
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
