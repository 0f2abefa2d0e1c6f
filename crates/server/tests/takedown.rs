//! Takedown end to end: a test site on loopback serving a benign corpus image, a real SMTP
//! conversation with the notice crate's mail sink, a webhook receiver checking signatures,
//! the real server and its router, and the takedown worker on a clock the test moves, so that
//! days pass in milliseconds.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::Router;
use common::{api_key, corpus_file, create_bank, first_admin, image_form, start_with, PgDatabase};
use reqwest::Client;
use serde_json::{json, Value};
use vigie_notice::sink::SmtpSink;
use vigie_store::{NewAuditEntry, Store, TakedownState, DAY_MS};
use vigie_takedown::{Clock as _, ManualClock, Settings};

/// The benign image the bank knows and the site serves.
const KNOWN_IMAGE: &str = "bridge-mods/aaa-orig.jpg";

/// A hosting site on loopback: `/gallery/N` is a page showing `/media/N.jpg`, which is the
/// known image until the host removes it.
#[derive(Clone)]
struct Site {
    base: String,
    removed: Arc<AtomicBool>,
}

impl Site {
    async fn start() -> Site {
        Site::serving(KNOWN_IMAGE).await
    }

    /// A site whose pages show the corpus image `image`.
    async fn serving(image: &str) -> Site {
        let removed = Arc::new(AtomicBool::new(false));
        let image = Bytes::from(corpus_file(image));
        let gallery = |Path(n): Path<u32>| async move {
            Html(format!(
                "<html><body><h1>Gallery {n}</h1><img src=\"/media/{n}.jpg\" alt=\"\"></body></html>"
            ))
        };
        let media = {
            let removed = Arc::clone(&removed);
            move |Path(_): Path<String>| {
                let removed = removed.load(Ordering::SeqCst);
                let image = image.clone();
                async move {
                    if removed {
                        StatusCode::NOT_FOUND.into_response()
                    } else {
                        ([("content-type", "image/jpeg")], image).into_response()
                    }
                }
            }
        };
        let app = Router::new()
            .route("/gallery/{n}", get(gallery))
            .route("/media/{file}", get(media));
        let base = serve(app).await;
        Site { base, removed }
    }
}

/// Serves `app` on a free loopback port; its base URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

/// A host's webhook endpoint, keeping every notice posted to it.
#[derive(Clone, Default)]
struct Webhooks {
    received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

impl Webhooks {
    async fn start(&self) -> String {
        let app = Router::new()
            .route(
                "/notices",
                post(
                    |State(hooks): State<Webhooks>, headers: HeaderMap, body: Bytes| async move {
                        hooks.received.lock().unwrap().push((headers, body));
                        StatusCode::ACCEPTED
                    },
                ),
            )
            .with_state(self.clone());
        format!("{}/notices", serve(app).await)
    }

    fn received(&self) -> Vec<(HeaderMap, Bytes)> {
        self.received.lock().unwrap().clone()
    }
}

const WEBHOOK_SECRET: &[u8] = b"a secret the host and the hotline share";

/// The reference data of the test's world: loopback is `AS64500 EXAMPLE-HOSTING` in France
/// (the hotline's country), whose abuse desk takes e-mail and webhooks.
async fn import_reference_data(store: &Store, webhook: &str) {
    let audit = || NewAuditEntry {
        at: 0,
        actor: "test".into(),
        action: "hosting.import".into(),
        target: "reference".into(),
        detail: json!({}),
    };
    let table = "127.0.0.0\t127.255.255.255\t64500\tFR\tEXAMPLE-HOSTING\n";
    store
        .put_reference_data("ip-asn", table.as_bytes(), 0, &audit())
        .await
        .unwrap();
    let contacts = format!(
        "scope,value,email,webhook,language\nasn,64500,abuse@hosting.example,{webhook},fr\n"
    );
    store
        .put_reference_data("abuse-contacts", contacts.as_bytes(), 0, &audit())
        .await
        .unwrap();
}

/// The server, an administrator, a partner's reporting key, and a bank that knows the image.
struct Hotline {
    server: common::Server,
    client: Client,
    admin: String,
    report_key: String,
    config: vigie_server::Config,
}

impl Hotline {
    async fn start(database_url: &str) -> Hotline {
        let mut config = vigie_server::Config::new("127.0.0.1:0".parse().unwrap(), database_url);
        // The test site is on loopback; nothing else changes from production.
        config.fetch_policy.allow_loopback = true;
        config.vault = Some(vigie_vault::KeyRing::generate("test-1").unwrap());
        let server = start_with(config.clone()).await;
        let client = Client::new();
        let admin = first_admin(&client, &server).await;
        let report_key = api_key(&client, &server.base, &admin, &["report"], None).await;
        let bank_key = api_key(&client, &server.base, &admin, &["bank.write"], None).await;
        let bank_auth = format!("Bearer {bank_key}");
        create_bank(&client, &server.base, &bank_auth, "BENIGN_KNOWN").await;
        let banked = client
            .post(format!("{}/c/bank/BENIGN_KNOWN/content", server.base))
            .header("authorization", &bank_auth)
            .multipart(image_form(KNOWN_IMAGE))
            .send()
            .await
            .unwrap();
        assert_eq!(banked.status(), StatusCode::OK);
        Hotline {
            server,
            client,
            admin,
            report_key,
            config,
        }
    }

    /// A partner reports `url`; the id of its item.
    async fn report(&self, url: &str) -> i64 {
        let response = self
            .client
            .post(format!("{}/api/v1/reports", self.server.base))
            .header("authorization", format!("Bearer {}", self.report_key))
            .json(&json!({"urls": [url], "category": "csam", "description": "a gallery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let report: Value = response.json().await.unwrap();
        report["items"][0]["id"].as_i64().unwrap()
    }

    /// `path` as the administrator asks for it.
    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.server.base))
            .header("cookie", &self.admin)
            .send()
            .await
            .unwrap()
    }

    async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.text().await.unwrap()
    }
}

fn settings(name: &str, smtp: &SmtpSink) -> Settings {
    let country = vigie_hosting::Country::parse("FR").unwrap();
    let sender = vigie_notice::Sender {
        name: "Test hotline".into(),
        email: "notices@hotline.example".into(),
        country: "FR".into(),
    };
    let mut settings = Settings::new(name, country, sender);
    settings.mailer = Some(
        vigie_notice::Mailer::new(&vigie_notice::SmtpSettings {
            host: "127.0.0.1".into(),
            port: smtp.port,
            security: vigie_notice::Security::None,
            credentials: None,
            from: "Test hotline <notices@hotline.example>".into(),
            timeout: Duration::from_secs(10),
        })
        .unwrap(),
    );
    settings.webhook_secret = Some(WEBHOOK_SECRET.to_vec());
    settings.law_enforcement_email = Some("police@law.example".into());
    settings.idle_poll = Duration::from_millis(20);
    settings
}

/// Runs the worker until no job is due at the clock's time.
async fn work_until_idle(
    worker: &Arc<vigie_takedown::Worker<vigie_server::takedown::BankRecogniser>>,
) {
    for _ in 0..50 {
        if worker.run_once().await.unwrap() == 0 {
            return;
        }
    }
    panic!("the worker never ran out of due jobs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_material_is_noticed_rechecked_and_its_removal_measured() {
    let directory = tempfile::tempdir().unwrap();
    let database_url = format!(
        "sqlite:{}",
        directory.path().join("vigie.sqlite3").display()
    );
    let hotline = Hotline::start(&database_url).await;
    let site = Site::start().await;
    let smtp = SmtpSink::start().await.unwrap();
    let webhooks = Webhooks::default();
    let webhook_url = webhooks.start().await;
    let store = Store::open(&database_url).await.unwrap();
    import_reference_data(&store, &webhook_url).await;

    let url = format!("{}/gallery/1", site.base);
    let item_id = hotline.report(&url).await;
    let start = vigie_server::now();
    let clock = ManualClock::at(start);
    let worker = vigie_server::StandaloneWorker::open(
        &hotline.config,
        settings("test-worker", &smtp),
        Arc::new(clock.clone()),
    )
    .await
    .unwrap()
    .worker;

    // Fetched, matched, resolved with no human view, located, and noticed.
    work_until_idle(&worker).await;
    let item = store.triage_item(item_id).await.unwrap().item;
    assert_eq!(item.status, vigie_store::ItemStatus::Known);
    assert_eq!(item.matched_bank.as_deref(), Some("BENIGN_KNOWN"));
    assert_eq!(item.reveals, 0);
    let takedown = store.takedown_of_item(item_id).await.unwrap().unwrap();
    assert_eq!(takedown.state, TakedownState::Open);
    assert_eq!(takedown.country.as_deref(), Some("FR"));
    assert_eq!(takedown.asn, Some(64500));
    assert_eq!(takedown.network.as_deref(), Some("AS64500 EXAMPLE-HOSTING"));
    assert_eq!(takedown.recipients.as_deref(), Some("host"));
    assert_eq!(takedown.first_notice_at, Some(start));

    let mails = smtp.received();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, vec!["<ABUSE@HOSTING.EXAMPLE>"]);
    let first_id = mails[0].header("Message-ID").unwrap().to_owned();
    assert!(first_id.contains("takedown-"), "{first_id}");
    assert!(mails[0].data.contains(&url), "the notice names the URL");
    let hooks = webhooks.received();
    assert_eq!(hooks.len(), 1);
    let (headers, body) = &hooks[0];
    let signature = headers[vigie_notice::signature::HEADER].to_str().unwrap();
    vigie_notice::signature::verify(WEBHOOK_SECRET, signature, body, start / 1000, 300)
        .expect("the webhook is signed with the shared secret");
    let notice: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(notice["urls"][0], url.as_str());
    assert_eq!(notice["sequence"], 1);

    // A day later the image is still there: the notice is repeated, as the second of its
    // series, and nothing is sent twice.
    clock.advance(DAY_MS);
    work_until_idle(&worker).await;
    let mails = smtp.received();
    assert_eq!(mails.len(), 2);
    assert_ne!(mails[1].header("Message-ID").unwrap(), first_id);
    assert_eq!(webhooks.received().len(), 2);
    let takedown = store.takedown(takedown.id).await.unwrap();
    assert_eq!(
        (takedown.state, takedown.checks, takedown.notices),
        (TakedownState::Open, 2, 4)
    );

    // The host takes the image down; the next day's re-check finds the page without it.
    site.removed.store(true, Ordering::SeqCst);
    clock.advance(DAY_MS);
    work_until_idle(&worker).await;
    let takedown = store.takedown(takedown.id).await.unwrap();
    assert_eq!(takedown.state, TakedownState::Removed);
    assert_eq!(takedown.closed_at, Some(start + 2 * DAY_MS));
    assert_eq!(smtp.received().len(), 2, "no notice once removed");
    let checks = store.checks_of(takedown.id).await.unwrap();
    let outcomes: Vec<&str> = checks.iter().map(|check| check.outcome.as_str()).collect();
    assert_eq!(outcomes, ["online", "online", "removed"]);
    // No further re-check is left waiting, whatever time passes.
    clock.advance(10 * DAY_MS);
    assert_eq!(worker.run_once().await.unwrap(), 0);

    // The audit log tells it all, under the item; the item's page shows the takedown; the
    // figures and the transparency report measure two days from the first notice to removal.
    let target = vigie_store::item_target(item_id);
    let audited: Vec<String> = store
        .audit(0, 1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|entry| entry.target == target)
        .map(|entry| entry.action)
        .collect();
    for action in [
        "item.resolve_known",
        "takedown.locate",
        "takedown.notice",
        "takedown.check",
    ] {
        assert!(
            audited.iter().any(|a| a == action),
            "{action} in {audited:?}"
        );
    }
    let item_page = hotline.page(&format!("/triage/items/{item_id}")).await;
    assert!(
        item_page.contains("AS64500 EXAMPLE-HOSTING"),
        "the host on the item's page"
    );
    assert!(
        item_page.contains("abuse@hosting.example"),
        "the notices on the item's page"
    );
    let figures = hotline.page("/figures").await;
    assert!(
        figures.contains("2 d 0 h"),
        "the median time to removal on the figures page"
    );
    let report = vigie_takedown::transparency_input(
        &store,
        vigie_store::utc_day_start(start),
        vigie_store::utc_day_start(start) + 30 * DAY_MS,
        "Test hotline",
        "FR",
        start + 12 * DAY_MS,
    )
    .await
    .unwrap();
    let mut csv = Vec::new();
    vigie_figures::write_csv(&report, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.contains("notices"), "{csv}");
    assert!(!csv.contains(&url), "no URL in a transparency report");
    let overall = vigie_figures::removal_stats(
        &report.takedowns,
        vigie_figures::Grouping::Overall,
        start + 12 * DAY_MS,
    );
    assert_eq!(overall[0].removed, 1);
    assert_eq!(overall[0].median_ms, Some(2 * DAY_MS));
}

/// An analyst forwards a page to the partner hotline of the country they name; the content
/// stays online, and after the re-checks the police are told, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_to_a_partner_still_online_is_escalated_to_the_police_once() {
    let directory = tempfile::tempdir().unwrap();
    let database_url = format!(
        "sqlite:{}",
        directory.path().join("vigie.sqlite3").display()
    );
    let hotline = Hotline::start(&database_url).await;
    // An image no bank knows: it waits for an analyst.
    let site = Site::serving("misc-images/small.jpg").await;
    let smtp = SmtpSink::start().await.unwrap();
    let webhooks = Webhooks::default();
    let store = Store::open(&database_url).await.unwrap();
    import_reference_data(&store, &webhooks.start().await).await;
    let partners = "country,hotline,email,webhook\nNL,Offlimits,reports@offlimits.example,\n";
    let audit = |action: &str| NewAuditEntry {
        at: vigie_server::now(),
        actor: "user:admin".into(),
        action: action.into(),
        target: "test".into(),
        detail: json!({}),
    };
    store
        .put_reference_data(
            "partner-hotlines",
            partners.as_bytes(),
            0,
            &audit("hosting.import"),
        )
        .await
        .unwrap();
    let item_id = hotline.report(&format!("{}/gallery/7", site.base)).await;
    let start = vigie_server::now();
    let clock = ManualClock::at(start);
    let mut settings = settings("test-worker", &smtp);
    settings.escalate_after = 2;
    // This hotline keeps what pages serve, sealed, for its analysts.
    settings.keep_media = hotline.config.vault.clone();
    let worker =
        vigie_server::StandaloneWorker::open(&hotline.config, settings, Arc::new(clock.clone()))
            .await
            .unwrap()
            .worker;
    work_until_idle(&worker).await;
    assert_eq!(
        store.triage_item(item_id).await.unwrap().item.status,
        vigie_store::ItemStatus::Queued,
        "unknown material waits for a person"
    );
    assert!(store.takedown_of_item(item_id).await.unwrap().is_none());
    assert_eq!(
        store.page_media(item_id).await.unwrap().len(),
        1,
        "its hashes are kept"
    );
    // And the medium, sealed: the analyst sees it blurred, the original only once revealed.
    let thumbnail = hotline
        .get(&format!("/triage/items/{item_id}/thumbnail"))
        .await;
    assert_eq!(thumbnail.status(), StatusCode::OK);
    assert_eq!(thumbnail.headers()["content-type"], "image/png");
    let original = hotline
        .get(&format!("/triage/items/{item_id}/original"))
        .await;
    assert_eq!(original.status(), StatusCode::FORBIDDEN);
    let mut connection = <sqlx::SqliteConnection as sqlx::Connection>::connect(&database_url)
        .await
        .unwrap();
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT sealed FROM page_media WHERE item_id = $1")
        .bind(item_id)
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_ne!(
        sealed,
        corpus_file("misc-images/small.jpg"),
        "kept sealed, not as served"
    );

    let analyst = store.user_by_name("admin").await.unwrap();
    store
        .claim_item(item_id, analyst.id, clock.now(), &audit("item.claim"))
        .await
        .unwrap();
    let classification = vigie_store::Classification {
        iccam_classification: "baseline".into(),
        site_type: None,
        age_group: None,
        gender: None,
        ncmec_category: Some("A1".into()),
        vics_category: None,
        decision: "partner_hotline".into(),
        decision_country: Some("NL".into()),
    };
    store
        .decide_item(
            item_id,
            analyst.id,
            &classification,
            clock.now(),
            &audit("item.decide"),
        )
        .await
        .unwrap();
    work_until_idle(&worker).await;
    let takedown = store.takedown_of_item(item_id).await.unwrap().unwrap();
    assert_eq!(takedown.recipients.as_deref(), Some("partner_hotline"));
    let mails = smtp.received();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["<REPORTS@OFFLIMITS.EXAMPLE>"]);
    assert!(
        mails[0].data.contains("NCMEC industry category: A1"),
        "{}",
        mails[0].data
    );

    // Two re-checks find it online: a partner is not told again each day, but after the
    // second the police are.
    for _ in 0..2 {
        clock.advance(DAY_MS);
        work_until_idle(&worker).await;
    }
    let mails = smtp.received();
    let recipients: Vec<&str> = mails.iter().map(|mail| mail.to[0].as_str()).collect();
    assert_eq!(
        recipients,
        ["<REPORTS@OFFLIMITS.EXAMPLE>", "<POLICE@LAW.EXAMPLE>"]
    );
    let takedown = store.takedown(takedown.id).await.unwrap();
    assert_eq!(takedown.escalated_at, Some(start + 2 * DAY_MS));
    assert_eq!(takedown.state, TakedownState::Open);
    // Once.
    clock.advance(DAY_MS);
    work_until_idle(&worker).await;
    assert_eq!(smtp.received().len(), 2);
    assert!(webhooks.received().is_empty(), "the partner has no webhook");
}

/// Two `vigie worker`s on one PostgreSQL share the queue: every page is fetched, every host
/// noticed, and no notice is sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_on_postgres_send_each_notice_once() {
    const PAGES: usize = 24;
    let database = PgDatabase::create().await;
    let database_url = database.url.clone();
    let hotline = Hotline::start(&database_url).await;
    let site = Site::start().await;
    let smtp = SmtpSink::start().await.unwrap();
    let webhooks = Webhooks::default();
    let webhook_url = webhooks.start().await;
    let store = Store::open(&database_url).await.unwrap();
    import_reference_data(&store, &webhook_url).await;
    for page in 0..PAGES {
        hotline
            .report(&format!("{}/gallery/{page}", site.base))
            .await;
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut running = Vec::new();
    for name in ["worker-a", "worker-b"] {
        let worker = vigie_server::StandaloneWorker::open(
            &hotline.config,
            settings(name, &smtp),
            Arc::new(vigie_takedown::SystemClock),
        )
        .await
        .unwrap();
        let mut stopped = stopped.clone();
        running.push(tokio::spawn(worker.run(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })));
    }
    // E-mail and webhook for each page's host.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while smtp.received().len() + webhooks.received().len() < 2 * PAGES {
        assert!(
            std::time::Instant::now() < deadline,
            "the notices did not all arrive"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Time for a duplicate to show up, were one on its way.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.send(true).unwrap();
    for worker in running {
        worker.await.unwrap();
    }
    let mails = smtp.received();
    assert_eq!(mails.len(), PAGES);
    let mut ids: Vec<&str> = mails
        .iter()
        .filter_map(|mail| mail.header("Message-ID"))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), PAGES, "every Message-ID once");
    assert_eq!(webhooks.received().len(), PAGES);
    drop(hotline);
    database.drop_now().await;
}
