//! The hotline's intake through the real server, on SQLite and PostgreSQL: a member of the
//! public reports in French or English with the form (its token checked, its rate limit felt,
//! its mistakes shown back in their language), and a partner platform sends JSON reports that
//! retry safely, NDJSON batches with a bad line, and checks the status of what it sent.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

mod common;
use common::*;

/// The receipt a page or body shows: `VG-` and three groups of four.
fn receipt_in(text: &str) -> String {
    let start = text.find("VG-").expect("a receipt");
    text[start..start + 17].to_string()
}

/// Opens the form as a browser whose languages are `accept_language`: the page, and the CSRF
/// cookie and field to send it back with.
async fn open_form(client: &Client, base: &str, accept_language: &str) -> (String, String, String) {
    let response = client
        .get(format!("{base}/report"))
        .header("accept-language", accept_language)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = set_cookie(&response, "vigie_csrf").expect("a CSRF cookie");
    let html = response.text().await.unwrap();
    let token = hidden_field(&html, "csrf");
    (html, cookie, token)
}

async fn post_form(
    client: &Client,
    base: &str,
    cookie: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let response = client
        .post(format!("{base}/report"))
        .header("cookie", format!("{cookie}; vigie_lang=fr"))
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

async fn post_json(
    client: &Client,
    base: &str,
    key: &str,
    idempotency_key: Option<&str>,
    body: &Value,
) -> (StatusCode, Value) {
    let mut request = client
        .post(format!("{base}/api/v1/reports"))
        .bearer_auth(key)
        .json(body);
    if let Some(idempotency_key) = idempotency_key {
        request = request.header("idempotency-key", idempotency_key);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn story(database_url: String) {
    let mut config = vigie_server::Config::new("127.0.0.1:0".parse().unwrap(), database_url);
    config.public_report_limit = vigie_server::intake::RateLimit {
        reports: 3,
        window: std::time::Duration::from_secs(600),
    };
    let server = start_with(config).await;
    let base = server.base.clone();
    let client = Client::new();

    // A French browser gets the French form: every field labelled, the six categories.
    let (html, cookie, token) = open_form(&client, &base, "fr-FR,fr;q=0.9,en;q=0.5").await;
    assert!(html.contains("<html lang=\"fr\">"), "{html}");
    assert!(html.contains("Signaler un contenu pédocriminel"));
    for code in [
        "csam",
        "grooming",
        "live_abuse",
        "sextortion",
        "self_generated",
        "other",
    ] {
        assert!(
            html.contains(&format!("<label for=\"category-{code}\">")),
            "{code}"
        );
    }
    for field in ["urls", "description", "email"] {
        assert!(
            html.contains(&format!("<label for=\"{field}\">")),
            "{field}"
        );
    }
    // The switch shows it in English, whatever the browser says.
    let english = client
        .get(format!("{base}/report?lang=en"))
        .header("accept-language", "fr")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("<html lang=\"en\">"));
    assert!(english.contains("Report child sexual abuse material"));

    // A form from elsewhere (no token) is refused.
    let (status, _) = post_form(
        &client,
        &base,
        &cookie,
        &[("urls", "https://example.com/a"), ("category", "csam")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Mistakes are shown on the form, in French, with what was typed kept.
    let (status, page) = post_form(
        &client,
        &base,
        &cookie,
        &[
            ("csrf", &token),
            ("urls", "pas une adresse\nhttps://example.com/ok"),
            ("description", "vu sur un forum"),
            ("email", "pas-un-courriel"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("Le signalement n&#39;a pas été envoyé"),
        "{page}"
    );
    assert!(page.contains("pas une adresse\nhttps://example.com/ok</textarea>"));
    assert!(page.contains("vu sur un forum</textarea>"));
    assert!(page.contains("value=\"pas-un-courriel\""));
    assert!(page.contains("Choisissez de quoi il s&#39;agit."), "{page}");
    assert!(page.contains("aria-invalid=\"true\""));

    // A good report: 201 and a receipt.
    let (status, page) = post_form(
        &client,
        &base,
        &cookie,
        &[
            ("csrf", &token),
            (
                "urls",
                "HTTPS://Example.COM:443/gallery?utm_source=mail&id=7#photos",
            ),
            ("category", "grooming"),
            ("description", ""),
            ("email", ""),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    assert!(page.contains("Merci : votre signalement a bien été reçu"));
    let public_receipt = receipt_in(&page);

    // The third submission of this client in the window is its last.
    let (status, _) = post_form(
        &client,
        &base,
        &cookie,
        &[
            ("csrf", &token),
            ("urls", "https://example.net/"),
            ("category", "other"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, page) = post_form(
        &client,
        &base,
        &cookie,
        &[
            ("csrf", &token),
            ("urls", "https://example.org/kept"),
            ("category", "other"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.contains("Attendez dix minutes"));
    assert!(page.contains("https://example.org/kept</textarea>"));

    // A partner reports the same page under another spelling, and a new one.
    let admin = first_admin(&client, &server).await;
    let key = api_key(&client, &base, &admin, &["report"], None).await;
    let other_key = api_key(&client, &base, &admin, &["report"], None).await;
    let lookup_key = api_key(&client, &base, &admin, &["lookup"], None).await;
    let body = json!({
        "urls": ["https://example.com/gallery?id=7", "https://new.example/page"],
        "category": "live_abuse",
        "description": "flagged by our classifier",
        "reference": "T-1234",
    });
    let (status, first) = post_json(&client, &base, &key, Some("retry-me"), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let receipt = first["receipt"].as_str().unwrap().to_string();
    assert_ne!(receipt, public_receipt);
    assert_eq!(first["reference"], "T-1234");
    let items = first["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["new"], false, "joins the public report's item");
    assert_eq!(items[1]["new"], true);
    assert_eq!(items[0]["kind"], "url");
    assert_eq!(items[0]["status"], "queued");

    // Its retry is answered with the same body, 200, and stores nothing new.
    let (status, again) = post_json(&client, &base, &key, Some("retry-me"), &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, first);

    // Bad input gets a code and a reason.
    let (status, refused) = post_json(
        &client,
        &base,
        &key,
        None,
        &json!({"urls": ["ftp://example.com/"], "category": "csam"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"]["code"], "invalid_url");
    let (status, refused) = post_json(
        &client,
        &base,
        &key,
        None,
        &json!({"urls": ["https://example.com/"], "category": "spam"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"]["code"], "invalid_category");

    // The status of a report: to the key that sent it, and to no other.
    let status_of = |key: String, receipt: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            client
                .get(format!("{base}/api/v1/reports/{receipt}"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
        }
    };
    let read = status_of(key.clone(), receipt.clone()).await;
    assert_eq!(read.status(), StatusCode::OK);
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["items"], first["items"]);
    let hidden = status_of(other_key.clone(), receipt.clone()).await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let public = status_of(key.clone(), public_receipt.clone()).await;
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    let refused = status_of(lookup_key.clone(), receipt.clone()).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // A bulk batch: a bad line is answered with its number and does not stop the others.
    let lines = [
        json!({"urls": ["https://bulk.example/1"], "category": "csam", "idempotency_key": "b-1"})
            .to_string(),
        "{not json".to_string(),
        String::new(),
        json!({"urls": ["mailto:someone@example.org"], "category": "csam"}).to_string(),
        json!({"urls": ["https://new.example/page#again"], "category": "sextortion"}).to_string(),
    ];
    let response = client
        .post(format!("{base}/api/v1/reports/bulk"))
        .bearer_auth(&key)
        .header("content-type", "application/x-ndjson")
        .body(lines.join("\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let results: Vec<Value> = response
        .text()
        .await
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(results.len(), 4, "{results:?}");
    assert_eq!(results[0]["line"], 1);
    assert!(results[0]["receipt"].as_str().unwrap().starts_with("VG-"));
    assert_eq!(results[1]["line"], 2);
    assert_eq!(results[1]["error"]["code"], "invalid_json");
    assert_eq!(results[2]["line"], 4);
    assert_eq!(results[2]["error"]["code"], "invalid_url");
    assert_eq!(results[3]["line"], 5);
    assert_eq!(results[3]["items"][0]["id"], items[1]["id"]);
    assert_eq!(results[3]["items"][0]["new"], false);

    // One of the hotline's people enters a report taken by phone: it joins the items, and
    // they may read any report's status.
    let response = client
        .post(format!("{base}/api/v1/reports"))
        .header("cookie", &admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let entered: Value = response.json().await.unwrap();
    assert_eq!(entered["items"][1]["id"], items[1]["id"]);
    let read = client
        .get(format!("{base}/api/v1/reports/{receipt}"))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
}

/// A partner's files: one a bank knows (a benign corpus image, banked by its hashes) is
/// resolved without a human, a re-sent copy joins it, and what is stored is sealed: not the
/// bytes sent, and opened by the server's key into them.
async fn attachments_story(database_url: String) {
    let vault = vigie_vault::KeyRing::generate("test-1").unwrap();
    let mut config = vigie_server::Config::new("127.0.0.1:0".parse().unwrap(), &database_url);
    config.vault = Some(vault.clone());
    let server = start_with(config).await;
    let base = server.base.clone();
    let client = Client::new();
    let admin = first_admin(&client, &server).await;
    let key = api_key(&client, &base, &admin, &["report"], None).await;
    let bank_key = api_key(&client, &base, &admin, &["bank.write"], None).await;
    let bank_auth = format!("Bearer {bank_key}");
    create_bank(&client, &base, &bank_auth, "BENIGN_KNOWN").await;
    let known = corpus_file("bridge-mods/aaa-orig.jpg");
    let banked = client
        .post(format!("{base}/c/bank/BENIGN_KNOWN/content"))
        .header("authorization", &bank_auth)
        .multipart(image_form("bridge-mods/aaa-orig.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(banked.status(), StatusCode::OK);
    let content_id = banked.json::<Value>().await.unwrap()["id"].clone();
    let unknown = b"a plain text file, nobody's image".to_vec();
    let encode = |bytes: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let body = json!({
        "category": "csam",
        "attachments": [
            {"file_name": "holiday.jpg", "content_base64": encode(&known)},
            {"content_base64": encode(&unknown)},
        ],
    });
    let (status, first) = post_json(&client, &base, &key, None, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let items = first["items"].as_array().unwrap();
    assert_eq!(items[0]["kind"], "file");
    assert_eq!(items[0]["status"], "known", "{first}");
    assert_eq!(items[0]["known"]["bank"], "BENIGN_KNOWN");
    assert_eq!(items[0]["known"]["content_id"], content_id);
    assert_eq!(items[0]["known"]["distance"], 0);
    assert_eq!(items[1]["status"], "queued");
    assert!(items[1].get("known").is_none());

    // The same bytes again join the known item.
    let (status, again) = post_json(
        &client,
        &base,
        &key,
        None,
        &json!({"category": "other", "attachments": [{"content_base64": encode(&known)}]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again["items"][0]["id"], items[0]["id"]);
    assert_eq!(again["items"][0]["new"], false);
    assert_eq!(again["items"][0]["status"], "known");

    // What the store keeps is sealed: not the plaintext, and it opens into it.
    let sealed: Vec<(Vec<u8>, String, String)> = match database_url.strip_prefix("sqlite:") {
        Some(path) => {
            let mut connection =
                <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!("sqlite:{path}"))
                    .await
                    .unwrap();
            sqlx::query_as("SELECT sealed, key_id, media_type FROM attachments ORDER BY item_id")
                .fetch_all(&mut connection)
                .await
                .unwrap()
        }
        None => {
            let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&database_url)
                .await
                .unwrap();
            sqlx::query_as("SELECT sealed, key_id, media_type FROM attachments ORDER BY item_id")
                .fetch_all(&mut connection)
                .await
                .unwrap()
        }
    };
    assert_eq!(sealed.len(), 2, "one copy per item");
    for ((stored, key_id, _), plaintext) in sealed.iter().zip([&known, &unknown]) {
        assert_eq!(key_id, "test-1");
        assert!(!stored
            .windows(plaintext.len().min(16))
            .any(|window| window == &plaintext[..plaintext.len().min(16)]));
        assert_eq!(&vault.open(stored).unwrap(), plaintext);
    }
    assert_eq!(sealed[0].2, "image/jpeg");
    assert_eq!(sealed[1].2, "application/octet-stream");

    // A server without a vault key refuses files rather than keep them in the clear.
    let plain = start(&database_url).await;
    let (status, refused) = post_json(&client, &plain.base, &key, None, &body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused["error"]["code"], "attachments_unavailable");
}

#[tokio::test(flavor = "multi_thread")]
async fn attachments_on_sqlite() {
    let directory = tempfile::tempdir().unwrap();
    attachments_story(format!(
        "sqlite:{}",
        directory.path().join("files.sqlite3").display()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn attachments_on_postgresql() {
    let database = PgDatabase::create().await;
    attachments_story(database.url.clone()).await;
    database.drop_now().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_intake_story_on_sqlite() {
    let directory = tempfile::tempdir().unwrap();
    story(format!(
        "sqlite:{}",
        directory.path().join("intake.sqlite3").display()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_intake_story_on_postgresql() {
    let database = PgDatabase::create().await;
    story(database.url.clone()).await;
    database.drop_now().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partner_key_over_its_rate_limit_is_told_when_to_retry() {
    let directory = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", directory.path().join("keys.sqlite3").display());
    let mut config = vigie_server::Config::new("127.0.0.1:0".parse().unwrap(), &database);
    config.partner_report_limit = vigie_server::intake::RateLimit {
        reports: 2,
        window: std::time::Duration::from_secs(60),
    };
    let server = start_with(config).await;
    let client = Client::new();
    let admin = first_admin(&client, &server).await;
    let busy = api_key(&client, &server.base, &admin, &["report"], None).await;
    let calm = api_key(&client, &server.base, &admin, &["report"], None).await;
    let report =
        |n: u32| json!({"urls": [format!("https://rate.example/{n}")], "category": "csam"});

    // Two requests in the window: one report, one bulk batch of two.
    let (status, _) = post_json(&client, &server.base, &busy, None, &report(1)).await;
    assert_eq!(status, StatusCode::CREATED);
    let bulk = |key: &str| {
        client
            .post(format!("{}/api/v1/reports/bulk", server.base))
            .bearer_auth(key)
            .body(format!("{}\n{}\n", report(2), report(3)))
    };
    assert_eq!(bulk(&busy).send().await.unwrap().status(), StatusCode::OK);

    // The third is refused with the stable code and when to come back, and stores nothing.
    let refused = client
        .post(format!("{}/api/v1/reports", server.base))
        .bearer_auth(&busy)
        .json(&report(4))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    let refused_bulk = bulk(&busy).send().await.unwrap();
    assert_eq!(refused_bulk.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused_bulk.headers().contains_key("retry-after"));

    // Another partner's key has its own count.
    let (status, _) = post_json(&client, &server.base, &calm, None, &report(5)).await;
    assert_eq!(status, StatusCode::CREATED);
    let store = vigie_store::Store::open(&database).await.unwrap();
    let received = store
        .audit(0, 1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|row| row.action == vigie_store::REPORT_RECEIVE_ACTION)
        .count();
    assert_eq!(received, 4, "1 + 2 in a batch + the other key's 1");
}
