//! The hotline as people use it, in a real headless Chromium (Debian's `chromium`, driven over
//! WebDriver by `chromedriver` with `fantoccini`): a member of the public reports in French and
//! gets a receipt; an analyst signs in, claims an item, sees it blurred and grey (measured on
//! the pixels Chromium shows), reveals it (audited, counted in the header), classifies it, puts
//! it in a case and exports the case; a report whose file is in a bank is resolved with no
//! reveal. Screenshots are kept in `target/browser-artefacts/`.
//!
//! These tests need `chromium` and `chromedriver` on the PATH (`scripts/bootstrap` installs
//! them); without them they fail, they never skip.

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

mod common;
use common::*;

/// Where screenshots are kept: `target/browser-artefacts/` of this checkout.
fn artefacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let directory = target.join("browser-artefacts");
    std::fs::create_dir_all(&directory).expect("the artefacts directory");
    directory
}

/// A chromedriver of our own on a free port, stopped with the test.
struct Driver {
    process: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The path of a program on the PATH; the test fails, naming the package, if it is missing.
fn program(name: &str, package: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|directory| directory.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is not installed: install Debian's {package} (scripts/bootstrap does)")
        })
}

/// Starts chromedriver and a fresh headless Chromium session whose languages are `languages`
/// (what it sends as `Accept-Language`).
async fn browser(languages: &str) -> (Driver, Browser) {
    let chromium = program("chromium", "chromium");
    let chromedriver = program("chromedriver", "chromium-driver");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let process = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().expect("a profile directory");
    let driver = Driver {
        process,
        port,
        _profile: profile,
    };
    // chromedriver listens within a second or two; give up after 30 s rather than hang.
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", driver.port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "chromedriver did not listen"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--window-size=1280,2200",
                format!("--lang={}", languages.split(',').next().unwrap_or("en")),
                format!("--user-data-dir={}", driver._profile.path().display()),
            ],
            "prefs": {"intl.accept_languages": languages},
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session");
    (driver, client)
}

/// Saves a screenshot of the whole window under `name`.
async fn keep_screenshot(browser: &Browser, name: &str) {
    let png = browser.screenshot().await.expect("a screenshot");
    std::fs::write(artefacts().join(format!("{name}.png")), png).expect("the screenshot saved");
}

/// Clicks what submits a form or follows a link, and waits until the next page has loaded
/// (the old document gone, the new one complete, its images included), at most 20 s.
async fn click_through(browser: &Browser, locator: Locator<'_>) {
    let old = browser.find(Locator::Css("html")).await.unwrap();
    browser
        .find(locator)
        .await
        .unwrap_or_else(|error| panic!("{locator:?} on the page: {error}"))
        .click()
        .await
        .unwrap();
    let started = Instant::now();
    let waited = || {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the next page did not load"
        )
    };
    while old.tag_name().await.is_ok() {
        waited();
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    loop {
        let state = browser
            .execute("return document.readyState", Vec::new())
            .await
            .unwrap_or_default();
        if state == "complete" {
            break;
        }
        waited();
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn text_of(browser: &Browser, id: &str) -> String {
    browser
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|error| panic!("#{id} on the page: {error}"))
        .text()
        .await
        .unwrap()
}

/// The server, on `localhost` (a secure context for Chromium, so the `Secure` cookies hold
/// over plain HTTP), with a vault key for attachments.
async fn hotline() -> (tempfile::TempDir, String, Server, String) {
    let directory = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", directory.path().join("b.sqlite3").display());
    let mut config = vigie_server::Config::new("127.0.0.1:0".parse().unwrap(), &database);
    config.vault = Some(vigie_vault::KeyRing::generate("browser-1").unwrap());
    let server = start_with(config).await;
    let localhost = server.base.replace("127.0.0.1", "localhost");
    (directory, database, server, localhost)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_of_the_public_reports_in_french_and_gets_a_receipt() {
    let (_directory, database, _server, base) = hotline().await;
    let (_driver, browser) = browser("fr-FR,fr").await;

    browser.goto(&format!("{base}/report")).await.unwrap();
    let html = browser.source().await.unwrap();
    assert!(html.contains("<html lang=\"fr\">"), "{html}");
    browser
        .find(Locator::Id("urls"))
        .await
        .unwrap()
        .send_keys("https://photos.example/album/42")
        .await
        .unwrap();
    browser
        .find(Locator::Id("category-csam"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .find(Locator::Id("description"))
        .await
        .unwrap()
        .send_keys("Des photos d'enfants sur un album public.")
        .await
        .unwrap();
    keep_screenshot(&browser, "public-report-form-fr").await;
    click_through(&browser, Locator::Css("#form button[type=submit]")).await;
    let receipt = text_of(&browser, "receipt").await;
    keep_screenshot(&browser, "public-report-receipt-fr").await;
    assert!(!receipt.trim().is_empty());
    assert!(browser
        .source()
        .await
        .unwrap()
        .contains("<html lang=\"fr\">"));

    // The report is kept as sent, in French, and its URL waits in the queue.
    let store = vigie_store::Store::open(&database).await.unwrap();
    let report = store.report_by_receipt(receipt.trim()).await.unwrap();
    assert_eq!(report.category, "csam");
    let queue = store.triage_queue(10).await.unwrap();
    assert_eq!(
        queue[0].item.url.as_deref(),
        Some("https://photos.example/album/42")
    );
    assert_eq!(queue[0].reports[0].receipt, receipt.trim());
    assert_eq!(queue[0].reports[0].language, "fr");
    browser.close().await.unwrap();
}

/// The grey levels and channels of a PNG: (RGBA bytes, luma bytes, width, height).
fn pixels(png: &[u8]) -> (Vec<u8>, Vec<u8>, u32, u32) {
    let image = image::load_from_memory(png).expect("a PNG");
    let rgba = image.to_rgba8();
    let luma = image.to_luma8();
    (
        rgba.into_raw(),
        luma.into_raw(),
        image.width(),
        image.height(),
    )
}

/// The sharpness of a corpus image scaled to `width` x `height`, as the page would show it
/// unblurred.
fn original_sharpness(file: &str, width: u32, height: u32) -> f64 {
    let image = image::load_from_memory(&corpus_file(file)).expect("the corpus image");
    let scaled = image
        .resize_exact(width, height, image::imageops::FilterType::Triangle)
        .to_luma8();
    vigie_media::sharpness(scaled.as_raw(), width as usize, height as usize)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_analyst_triages_a_report_from_claim_to_export() {
    let (_directory, database, server, base) = hotline().await;
    let client = Client::new();
    let admin = first_admin(&client, &server).await;
    let created = client
        .post(format!("{}/admin/users", server.base))
        .header("cookie", &admin)
        .json(&json!({"name": "anne", "password": "a long enough password", "role": "analyst"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    // A bank of known (benign) material, and a partner that reports two files: one of them
    // in the bank, one new.
    let bank_key = api_key(&client, &server.base, &admin, &["bank.write"], None).await;
    create_bank(
        &client,
        &server.base,
        &format!("Bearer {bank_key}"),
        "BENIGN_KNOWN",
    )
    .await;
    let banked = client
        .post(format!("{}/c/bank/BENIGN_KNOWN/content", server.base))
        .header("authorization", format!("Bearer {bank_key}"))
        .multipart(image_form("bridge-mods/aaa-orig.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(banked.status(), StatusCode::OK);
    let partner = api_key(&client, &server.base, &admin, &["report"], None).await;
    let known = partner_report(
        &client,
        &server.base,
        &partner,
        "bridge-mods/aaa-orig.jpg",
        &[],
    )
    .await;
    assert_eq!(known["items"][0]["status"], "known", "{known}");
    let known_id = known["items"][0]["id"]
        .as_i64()
        .expect("the known item's id");
    let new_file = "reg-test-input/pen-and-coaster.png";
    let page_url = "https://upload.example/u/7";
    let new = partner_report(&client, &server.base, &partner, new_file, &[page_url]).await;
    let item_of = |kind: &str| {
        new["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["kind"] == kind)
            .unwrap_or_else(|| panic!("a {kind} item in {new}"))
            .clone()
    };
    assert_eq!(item_of("file")["status"], "queued", "{new}");
    let item_id = item_of("file")["id"].as_i64().expect("the file item's id");
    let url_item_id = item_of("url")["id"].as_i64().expect("the URL item's id");

    let (_driver, browser) = browser("en-GB,en").await;
    browser
        .goto(&format!("{base}/login?next=/triage"))
        .await
        .unwrap();
    browser
        .find(Locator::Id("name"))
        .await
        .unwrap()
        .send_keys("anne")
        .await
        .unwrap();
    browser
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys("a long enough password")
        .await
        .unwrap();
    click_through(
        &browser,
        Locator::Css("form[action='/login'] button[type=submit]"),
    )
    .await;

    // The queue: the new file waits; the known one is resolved from its bank, unseen.
    browser.goto(&format!("{base}/triage")).await.unwrap();
    keep_screenshot(&browser, "analyst-queue").await;
    assert_eq!(text_of(&browser, "exposure-count").await, "0");
    let queue = text_of(&browser, "queue").await;
    assert!(queue.contains(&format!("#{item_id}")), "{queue}");
    assert!(!queue.contains(&format!("#{known_id} ")), "{queue}");
    let resolved = browser
        .find(Locator::Css(&format!(
            "#resolved a[href='/triage/items/{known_id}']"
        )))
        .await
        .expect("the known item among the resolved");
    let row = resolved
        .find(Locator::XPath("./ancestor::tr"))
        .await
        .unwrap();
    let row_text = row.text().await.unwrap();
    assert!(
        row_text.contains("Known material") && row_text.contains("BENIGN_KNOWN"),
        "{row_text}"
    );
    assert_eq!(
        row.find(Locator::Css("td.reveals"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "0"
    );

    // Claim it, and look at what the page shows of it: grey and blurred.
    click_through(
        &browser,
        Locator::Css(&format!("#queue a[href='/triage/items/{item_id}']")),
    )
    .await;
    click_through(&browser, Locator::Id("claim")).await;
    assert_eq!(text_of(&browser, "claimed-by").await, "anne");
    keep_screenshot(&browser, "analyst-item-blurred").await;
    let thumbnail = browser.find(Locator::Id("thumbnail")).await.unwrap();
    let shown = thumbnail
        .screenshot()
        .await
        .expect("the thumbnail's pixels");
    std::fs::write(artefacts().join("thumbnail-as-shown.png"), &shown).unwrap();
    let (rgba, luma, width, height) = pixels(&shown);
    assert!(width > 16 && height > 16, "{width}x{height}");
    assert!(
        vigie_media::is_grey(&rgba),
        "the thumbnail as shown is grey"
    );
    let blurred = vigie_media::sharpness(&luma, width as usize, height as usize);
    let sharp = original_sharpness(new_file, width, height);
    assert!(
        blurred * 4.0 < sharp,
        "the thumbnail as shown ({blurred:.2}) is far less sharp than the original ({sharp:.2})"
    );
    // Before the reveal the original is refused, even to the analyst holding the item.
    let cookies = browser.get_all_cookies().await.unwrap();
    let cookie_header = cookies
        .iter()
        .map(|cookie| format!("{}={}", cookie.name(), cookie.value()))
        .collect::<Vec<_>>()
        .join("; ");
    let original_url = format!("{}/triage/items/{item_id}/original", server.base);
    let before = client
        .get(&original_url)
        .header("cookie", &cookie_header)
        .send()
        .await
        .unwrap();
    assert_eq!(before.status(), StatusCode::FORBIDDEN);

    // Reveal: an audit row appears and the counter in the header moves to 1.
    let store = vigie_store::Store::open(&database).await.unwrap();
    let reveals_logged = |rows: &[vigie_store::AuditEntry]| {
        rows.iter()
            .filter(|row| row.action == "item.reveal" && row.target == format!("item:{item_id}"))
            .count()
    };
    assert_eq!(reveals_logged(&store.audit(0, 10_000).await.unwrap()), 0);
    click_through(&browser, Locator::Id("reveal")).await;
    assert_eq!(text_of(&browser, "exposure-count").await, "1");
    assert!(!text_of(&browser, "revealed-until").await.is_empty());
    keep_screenshot(&browser, "analyst-item-revealed").await;
    assert_eq!(reveals_logged(&store.audit(0, 10_000).await.unwrap()), 1);
    let original = browser.find(Locator::Id("original")).await.unwrap();
    let (rgba, _, _, _) = pixels(&original.screenshot().await.unwrap());
    assert!(
        !vigie_media::is_grey(&rgba),
        "the revealed original is in colour"
    );
    let during = client
        .get(&original_url)
        .header("cookie", &cookie_header)
        .send()
        .await
        .unwrap();
    assert_eq!(during.status(), StatusCode::OK);
    assert_eq!(during.headers()["cache-control"], "no-store");
    assert_eq!(
        during.bytes().await.unwrap().to_vec(),
        corpus_file(new_file)
    );

    // Classify and decide.
    for (select, value) in [
        ("iccam", "baseline"),
        ("site_type", "image_host"),
        ("age_group", "pre_pubescent"),
        ("gender", "female"),
        ("ncmec", "a1"),
        ("vics", "1"),
        ("decision", "law_enforcement"),
    ] {
        browser
            .find(Locator::Id(select))
            .await
            .unwrap()
            .select_by_value(value)
            .await
            .unwrap_or_else(|error| panic!("{select} = {value}: {error}"));
    }
    click_through(&browser, Locator::Id("decide")).await;
    assert_eq!(
        text_of(&browser, "decision").await,
        "Forward to law enforcement"
    );

    // Into a new case, then its exports.
    browser
        .find(Locator::Id("new_title"))
        .await
        .unwrap()
        .send_keys("Partner upload, browser test")
        .await
        .unwrap();
    click_through(&browser, Locator::Id("add-to-case")).await;
    let case_path = browser.current_url().await.unwrap().path().to_owned();
    let case_id = case_path
        .strip_prefix("/cases/")
        .unwrap_or_else(|| panic!("a case page, not {case_path}"))
        .to_owned();
    // The page the file was found at joins the same case.
    browser
        .goto(&format!("{base}/triage/items/{url_item_id}"))
        .await
        .unwrap();
    browser
        .find(Locator::Id("case_id"))
        .await
        .unwrap()
        .select_by_value(&case_id)
        .await
        .unwrap();
    click_through(&browser, Locator::Id("add-to-case")).await;
    assert_eq!(browser.current_url().await.unwrap().path(), case_path);
    let in_case = text_of(&browser, "case-items").await;
    assert!(in_case.contains(&format!("#{item_id}")), "{in_case}");
    assert!(in_case.contains(page_url), "{in_case}");
    let timeline = text_of(&browser, "timeline").await;
    for action in ["item.claim", "item.reveal", "item.decide", "case.add_item"] {
        assert!(timeline.contains(action), "{action} in {timeline}");
    }
    keep_screenshot(&browser, "analyst-case").await;
    let mut exported = Vec::new();
    for link in browser.find_all(Locator::Css("#exports a")).await.unwrap() {
        let href = link.attr("href").await.unwrap().expect("an export link");
        let response = client
            .get(format!("{}{href}", server.base))
            .header("cookie", &cookie_header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{href}");
        exported.push((href, response.bytes().await.unwrap().to_vec()));
    }
    assert_eq!(exported.len(), 4);
    let media = store.item_media(item_id).await.unwrap();
    for (href, bytes) in &exported {
        if href.ends_with("iccam.json") {
            let document: Value = serde_json::from_slice(bytes).expect("ICCAM JSON");
            assert!(document.to_string().contains(page_url), "{document}");
        } else if href.ends_with("vics.json") {
            let document: Value = serde_json::from_slice(bytes).expect("VICS JSON");
            let text = document.to_string().to_lowercase();
            assert!(text.contains(&media.md5), "{document}");
        } else if href.ends_with(".xml") {
            let text = String::from_utf8(bytes.clone()).unwrap();
            assert!(
                text.contains("<report") && text.contains(page_url),
                "{text}"
            );
        } else {
            let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
            let mut hashes = String::new();
            archive
                .by_name("hashes.csv")
                .unwrap()
                .read_to_string(&mut hashes)
                .unwrap();
            assert!(hashes.contains(&media.sha256), "{hashes}");
        }
    }
    let exports_logged = store
        .audit(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|row| row.action == "case.export")
        .count();
    assert_eq!(exports_logged, 4);

    // The known item was never revealed by anyone.
    assert_eq!(store.triage_item(known_id).await.unwrap().item.reveals, 0);
    browser.close().await.unwrap();
}
