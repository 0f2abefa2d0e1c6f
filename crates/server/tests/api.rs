//! `vigie serve` as a platform uses it: the real server on a random port, a real SQLite file and
//! the real PostgreSQL, HTTP from a real client. The same story runs on both stores.

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use vigie_server::auth::Permission;
use vigie_server::routes::ROUTES;

mod common;
use common::*;

/// PDQ of the corpus's `bridge-mods/blur-a-little.jpg`, 2 bits from `aaa-orig.jpg`.
const BLURRED_PDQ: &str = "f8f8f0cee0f4a84f06370a2a038f63f0b36e26d596621e1d33e6b39c4e9c9b22";

/// A platform's story: set up, make a bank, bank an image, find its edited copy by hash and by
/// file, disable it, and find that the audit log kept everything in order.
async fn story(database_url: String) {
    let server = start(&database_url).await;
    let client = Client::new();
    let base = server.base.clone();

    // Nothing is open by default.
    let anonymous = client.get(format!("{base}/c/banks")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let error: Value = anonymous.json().await.unwrap();
    assert_eq!(error["error"]["code"], "unauthenticated");
    assert_eq!(
        client
            .get(format!("{base}/status"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "I-AM-ALIVE"
    );

    let cookie = first_admin(&client, &server).await;
    let key = api_key(
        &client,
        &base,
        &cookie,
        &["lookup", "hash", "bank.read", "bank.write"],
        None,
    )
    .await;
    let auth = format!("Bearer {key}");

    let created = client
        .post(format!("{base}/c/banks"))
        .header("authorization", &auth)
        .json(&json!({"name": "BENIGN_TEST_BANK", "source": "the tests"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let bank: Value = created.json().await.unwrap();
    assert_eq!(bank["matching_enabled_ratio"], 1.0);
    assert_eq!(bank["pdq_threshold"], 31);
    let taken = client
        .post(format!("{base}/c/banks"))
        .header("authorization", &auth)
        .json(&json!({"name": "BENIGN_TEST_BANK"}))
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), StatusCode::CONFLICT);

    let upload = |url: String, name: &'static str| post_image(&client, url, &auth, name);
    let added: Value = upload(
        format!("{base}/c/bank/BENIGN_TEST_BANK/content"),
        "bridge-mods/aaa-orig.jpg",
    )
    .await;
    let content_id = added["id"].as_i64().expect("a content id");
    assert_eq!(
        added["signals"]["pdq"],
        "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    );

    // The blurred copy matches by hash at once, with HMA's shapes.
    let lookup = |query: String| {
        let client = client.clone();
        let auth = auth.clone();
        async move {
            let response = client
                .get(query)
                .header("authorization", auth)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };
    let matches = lookup(format!(
        "{base}/m/lookup?signal={BLURRED_PDQ}&signal_type=pdq"
    ))
    .await;
    assert_eq!(
        matches,
        json!({"BENIGN_TEST_BANK": [{"bank_content_id": content_id, "distance": "2"}]})
    );
    let raw = lookup(format!(
        "{base}/m/raw_lookup?signal={BLURRED_PDQ}&signal_type=pdq&include_distance=true"
    ))
    .await;
    assert_eq!(
        raw,
        json!({"matches": [{"bank_content_id": content_id, "distance": "2"}]})
    );
    let raw = lookup(format!(
        "{base}/m/raw_lookup?signal={BLURRED_PDQ}&signal_type=pdq"
    ))
    .await;
    assert_eq!(raw, json!({"matches": [content_id]}));

    // Many hashes in one request, answered in order.
    let batch: Value = client
        .post(format!("{base}/m/lookup/batch"))
        .header("authorization", &auth)
        .json(&json!({"signals": [
            {"signal_type": "pdq", "signal": BLURRED_PDQ},
            {"signal_type": "md5", "signal": "d35c785545392755e7e4164457657269"},
            {"signal_type": "pdq", "signal": "0".repeat(64)},
        ]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        batch,
        json!({"results": [
            {"BENIGN_TEST_BANK": [{"bank_content_id": content_id, "distance": "2"}]},
            {"BENIGN_TEST_BANK": [{"bank_content_id": content_id, "distance": "0"}]},
            {},
        ]})
    );

    // And by file: PDQ within the threshold, and the exact copy by its digests too.
    let by_file: Value = upload(format!("{base}/m/lookup"), "bridge-mods/blur-a-little.jpg").await;
    assert_eq!(
        by_file["pdq"]["BENIGN_TEST_BANK"][0]["bank_content_id"],
        content_id
    );
    assert_eq!(by_file["md5"], json!({}));
    let exact: Value = upload(format!("{base}/m/lookup"), "bridge-mods/aaa-orig.jpg").await;
    assert_eq!(exact["sha256"]["BENIGN_TEST_BANK"][0]["distance"], "0");

    // An unrelated picture matches nothing.
    let other: Value = upload(format!("{base}/m/lookup"), "misc-images/c.png").await;
    assert_eq!(other["pdq"], json!({}));

    let content: Value = lookup(format!(
        "{base}/c/bank/BENIGN_TEST_BANK/content/{content_id}?include_signals=true"
    ))
    .await;
    assert_eq!(content["bank"]["name"], "BENIGN_TEST_BANK");
    assert_eq!(
        content["signals"]["md5"],
        "d35c785545392755e7e4164457657269"
    );

    // Disabled, it no longer matches; the bank list still shows the bank.
    let disabled = client
        .put(format!(
            "{base}/c/bank/BENIGN_TEST_BANK/content/{content_id}"
        ))
        .header("authorization", &auth)
        .json(&json!({"disable_until_ts": 4_000_000_000i64}))
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), StatusCode::OK);
    let matches = lookup(format!(
        "{base}/m/lookup?signal={BLURRED_PDQ}&signal_type=pdq"
    ))
    .await;
    assert_eq!(matches, json!({}));
    let banks = lookup(format!("{base}/c/banks")).await;
    assert_eq!(banks[0]["name"], "BENIGN_TEST_BANK");

    // Bad input gets a clear error with a stable code.
    let bad = client
        .get(format!("{base}/m/lookup?signal=xyz&signal_type=pdq"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_signal"
    );

    let verdict: Value = client
        .get(format!("{base}/admin/audit/verify"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(verdict["intact"], true, "{verdict}");
    assert!(verdict["rows"].as_i64().unwrap() >= 10, "{verdict}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_story_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    story(format!(
        "sqlite:{}",
        dir.path().join("vigie.sqlite3").display()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_story_on_postgresql() {
    let database = PgDatabase::create().await;
    story(database.url.clone()).await;
    database.drop_now().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hash_added_on_one_replica_matches_on_the_other_within_a_second() {
    let database = PgDatabase::create().await;
    let first = start(&database.url).await;
    let second = start(&database.url).await;
    let client = Client::new();
    let cookie = first_admin(&client, &first).await;
    let key = api_key(
        &client,
        &first.base,
        &cookie,
        &["lookup", "bank.write"],
        None,
    )
    .await;
    let auth = format!("Bearer {key}");
    create_bank(&client, &first.base, &auth, "REPLICATED").await;
    let added = Instant::now();
    let response = client
        .post(format!("{}/c/bank/REPLICATED/signal", first.base))
        .header("authorization", &auth)
        .json(&json!({"pdq": BLURRED_PDQ}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    loop {
        let matches: Value = client
            .get(format!(
                "{}/m/lookup?signal={BLURRED_PDQ}&signal_type=pdq",
                second.base
            ))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if matches.get("REPLICATED").is_some() {
            break;
        }
        assert!(
            added.elapsed() < Duration::from_secs(1),
            "not matched on the second replica within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every route of the table, called by every kind of caller: anonymous callers reach only
/// public routes; each role and each key reaches exactly what it holds. A route added to the
/// router without a row in the table would be refused to everyone (see `routes.rs`).
#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_each_caller_as_the_authorisation_matrix_says() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&format!(
        "sqlite:{}",
        dir.path().join("m.sqlite3").display()
    ))
    .await;
    let client = Client::new();
    let base = server.base.clone();
    let admin = first_admin(&client, &server).await;
    let mut cookies = vec![("admin", Some(admin.clone()))];
    for role in ["analyst", "readonly"] {
        let created = client
            .post(format!("{base}/admin/users"))
            .header("cookie", &admin)
            .json(&json!({"name": role, "password": "a long enough password", "role": role}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let login = client
            .post(format!("{base}/login"))
            .json(&json!({"name": role, "password": "a long enough password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), StatusCode::OK);
        cookies.push((role, Some(session_from(&login))));
    }
    let lookup_key = api_key(&client, &base, &admin, &["lookup"], None).await;
    let metrics_key = api_key(&client, &base, &admin, &["metrics"], None).await;
    let report_key = api_key(&client, &base, &admin, &["report"], None).await;
    let scoped_key = api_key(
        &client,
        &base,
        &admin,
        &["bank.read", "bank.write"],
        Some(&["MINE"]),
    )
    .await;

    let allowed = |caller: &str, permission: Permission, path: &str| -> bool {
        let names_other_bank = path.contains("{bank_name}");
        match (caller, permission) {
            (_, Permission::Public) => true,
            ("anonymous", _) => false,
            ("admin", _) => true,
            ("analyst", p) => p != Permission::Admin,
            ("readonly", p) => matches!(
                p,
                Permission::Lookup | Permission::Hash | Permission::BankRead | Permission::Figures
            ),
            ("lookup key", p) => p == Permission::Lookup,
            ("metrics key", p) => p == Permission::Metrics,
            ("report key", p) => p == Permission::Report,
            // Scoped to bank MINE; the calls below name bank OTHER.
            ("scoped key", p) => {
                matches!(p, Permission::BankRead | Permission::BankWrite) && !names_other_bank
            }
            _ => unreachable!(),
        }
    };
    let callers: Vec<(&str, Option<String>)> = cookies
        .into_iter()
        .map(|(name, cookie)| (name, cookie.map(|c| format!("cookie:{c}"))))
        .chain([
            ("anonymous", None),
            ("lookup key", Some(format!("bearer:Bearer {lookup_key}"))),
            ("metrics key", Some(format!("bearer:Bearer {metrics_key}"))),
            ("report key", Some(format!("bearer:Bearer {report_key}"))),
            ("scoped key", Some(format!("bearer:Bearer {scoped_key}"))),
        ])
        .collect();
    for spec in ROUTES {
        // Logging out would end the caller's session for the rest of the matrix.
        if spec.path == "/logout" {
            continue;
        }
        let path = spec
            .path
            .replace("{bank_name}", "OTHER")
            .replace("{content_id}", "1")
            .replace("{key_id}", "999")
            .replace("{item_id}", "999")
            .replace("{case_id}", "999")
            .replace("{file_id}", "999")
            .replace("{receipt}", "VG-0000-0000-0000");
        for (caller, credential) in &callers {
            let method = reqwest::Method::from_bytes(spec.method.as_bytes()).unwrap();
            let mut request = client.request(method, format!("{base}{path}"));
            match credential.as_deref().map(|c| c.split_once(':').unwrap()) {
                Some(("cookie", cookie)) => request = request.header("cookie", cookie),
                Some(("bearer", bearer)) => request = request.header("authorization", bearer),
                _ => {}
            }
            let status = request.send().await.unwrap().status();
            let refused = status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN;
            let expected = allowed(caller, spec.permission, spec.path);
            // A permitted call may still fail on its missing body or parameters (400, 404,
            // 415, 422): what matters is that the door is open or shut as the table says.
            // The setup route refuses a spent token with 403 whoever calls: not a door.
            if spec.path == "/setup" && spec.method == "POST" {
                continue;
            }
            assert_eq!(
                !refused, expected,
                "{} {} by {caller}: status {status}",
                spec.method, spec.path
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_lists_every_route_with_its_permission() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&format!(
        "sqlite:{}",
        dir.path().join("o.sqlite3").display()
    ))
    .await;
    let document: Value = Client::new()
        .get(format!("{}/api/openapi.json", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["openapi"], "3.0.3");
    let paths = document["paths"].as_object().unwrap();
    let operations: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(operations, ROUTES.len());
    for spec in ROUTES {
        let operation = &document["paths"][spec.path][spec.method.to_ascii_lowercase()];
        assert_eq!(
            operation["x-vigie-permission"],
            spec.permission.scope_name(),
            "{} {}",
            spec.method,
            spec.path
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_upload_matches_through_the_dihedral_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&format!(
        "sqlite:{}",
        dir.path().join("d.sqlite3").display()
    ))
    .await;
    let client = Client::new();
    let cookie = first_admin(&client, &server).await;
    let key = api_key(
        &client,
        &server.base,
        &cookie,
        &["lookup", "bank.write"],
        None,
    )
    .await;
    let auth = format!("Bearer {key}");
    create_bank(&client, &server.base, &auth, "BRIDGES").await;
    let original = "reg-test-input/dih/bridge-1-original.jpg";
    let banked = post_image(
        &client,
        format!("{}/c/bank/BRIDGES/content", server.base),
        &auth,
        original,
    )
    .await;
    let rotated = "reg-test-input/dih/bridge-2-rotate-90.jpg";
    let plain = post_image(&client, format!("{}/m/lookup", server.base), &auth, rotated).await;
    assert_eq!(
        plain["pdq"],
        json!({}),
        "a quarter turn is far from the original's hash"
    );
    let turned = post_image(
        &client,
        format!("{}/m/lookup?dihedral=true", server.base),
        &auth,
        rotated,
    )
    .await;
    let found = &turned["pdq"]["BRIDGES"][0];
    assert_eq!(found["bank_content_id"], banked["id"]);
    assert_ne!(found["variant"], "orig", "{turned}");
    assert!(found["distance"].as_str().unwrap().parse::<u32>().unwrap() <= 31);
}

#[tokio::test(flavor = "multi_thread")]
async fn hashes_compare_in_pairs_and_metrics_count_the_requests() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&format!(
        "sqlite:{}",
        dir.path().join("c.sqlite3").display()
    ))
    .await;
    let client = Client::new();
    let cookie = first_admin(&client, &server).await;
    let key = api_key(&client, &server.base, &cookie, &["lookup"], None).await;
    let auth = format!("Bearer {key}");
    // The blurred bridge against its original's hash, 2 bits apart, and a far hash.
    let original = "f8f8f0cee0f4a84f06370a2a038f63f0b36e26d596621e1d33e6b39c4e9c9b2a";
    let far = "07070f311f0b57b0f9c8f5d5fc709c0f4c91d92a699de1e2cc194c63b16364dd";
    let compared: Value = client
        .post(format!("{}/m/compare", server.base))
        .header("authorization", &auth)
        .json(&json!({"pdq": [BLURRED_PDQ, original], "md5": ["0".repeat(32), "0".repeat(32)]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let distance = |a: &str, b: &str| {
        a.chars()
            .zip(b.chars())
            .map(|(x, y)| (x.to_digit(16).unwrap() ^ y.to_digit(16).unwrap()).count_ones())
            .sum::<u32>()
    };
    assert_eq!(
        compared,
        json!({"pdq": [true, {"distance": distance(BLURRED_PDQ, original)}], "md5": [true, {}]})
    );
    let apart: Value = client
        .post(format!("{}/m/compare", server.base))
        .header("authorization", &auth)
        .json(&json!({"pdq": [BLURRED_PDQ, far]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(apart, json!({"pdq": [false, {"distance": 256}]}));
    let refused = client
        .post(format!("{}/m/compare", server.base))
        .header("authorization", &auth)
        .json(&json!({"pdq": [BLURRED_PDQ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"]["code"], "invalid_comparison");

    let metrics = client
        .get(format!("{}/metrics", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            r#"vigie_http_requests_total{route="/m/compare",method="POST",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(text
        .contains(r#"vigie_http_requests_total{route="/m/compare",method="POST",status="400"} 1"#));
    assert!(text.contains("vigie_http_request_duration_seconds_bucket{"));
    assert!(text.contains(r#"vigie_index_entries{signal_type="pdq"} 0"#));
    assert!(text.contains("vigie_changes_applied "));

    // A revoked key is refused at once, though the server had it cached.
    let keys: Value = client
        .post(format!("{}/admin/api_keys", server.base))
        .header("cookie", &cookie)
        .json(&json!({"name": "soon revoked", "operations": ["lookup"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let doomed = format!("Bearer {}", keys["key"].as_str().unwrap());
    let status_with = |auth: String| {
        let request = client
            .get(format!("{}/m/index/status", server.base))
            .header("authorization", auth);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(status_with(doomed.clone()).await, StatusCode::OK);
    let revoked = client
        .delete(format!("{}/admin/api_keys/{}", server.base, keys["id"]))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(status_with(doomed).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status_with(auth).await, StatusCode::OK);
}

/// A web site on loopback serving a corpus image at `/photo.jpg` and nothing else.
async fn test_site() -> String {
    use axum::routing::get;
    let photo = corpus_file("bridge-mods/aaa-orig.jpg");
    let site = axum::Router::new()
        .route("/photo.jpg", get(move || async move { photo }))
        .route(
            "/moved",
            get(|| async { axum::response::Redirect::temporary("/photo.jpg") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, site).await });
    format!("http://{address}")
}

#[tokio::test(flavor = "multi_thread")]
async fn urls_are_fetched_through_the_guarded_client() {
    let site = test_site().await;
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("u.sqlite3").display());
    // The test site is on loopback, which only the test setting lets through.
    let mut config = vigie_server::Config::new("127.0.0.1:0".parse().unwrap(), &database);
    config.fetch_policy.allow_loopback = true;
    let server = start_with(config).await;
    let client = Client::new();
    let cookie = first_admin(&client, &server).await;
    let key = api_key(
        &client,
        &server.base,
        &cookie,
        &["hash", "lookup", "bank.write"],
        None,
    )
    .await;
    let auth = format!("Bearer {key}");
    let get = |path: String| {
        client
            .get(format!("{}{path}", server.base))
            .header("authorization", &auth)
            .send()
    };

    let hashed: Value = get(format!("/h/hash?url={site}/photo.jpg"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uploaded = post_image(
        &client,
        format!("{}/h/hash", server.base),
        &auth,
        "bridge-mods/aaa-orig.jpg",
    )
    .await;
    assert_eq!(hashed, uploaded, "the same file fetched or uploaded");

    create_bank(&client, &server.base, &auth, "BRIDGES").await;
    let banked = client
        .post(format!(
            "{}/c/bank/BRIDGES/content?url={site}/moved",
            server.base
        ))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(banked.status(), StatusCode::OK);
    let banked: Value = banked.json().await.unwrap();
    let found: Value = get(format!("/m/lookup?url={site}/photo.jpg"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["pdq"]["BRIDGES"][0]["bank_content_id"], banked["id"]);
    assert_eq!(found["md5"]["BRIDGES"][0]["bank_content_id"], banked["id"]);
    let pdq_only: Value = get(format!("/m/lookup?url={site}/photo.jpg&signal_type=pdq"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pdq_only["BRIDGES"][0]["bank_content_id"], banked["id"]);

    for (path, status, code) in [
        (format!("/h/hash?url={site}/gone"), 502, "url_status"),
        (
            "/h/hash?url=http://10.0.0.1/x.jpg".to_string(),
            400,
            "url_refused",
        ),
        (
            "/m/lookup?url=http://169.254.169.254/latest/meta-data".to_string(),
            400,
            "url_refused",
        ),
        (
            "/h/hash?url=file:///etc/passwd".to_string(),
            400,
            "invalid_url",
        ),
        ("/h/hash".to_string(), 400, "missing_parameter"),
    ] {
        let response = get(path.clone()).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], code, "{path}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn loopback_urls_are_refused_without_the_test_setting() {
    let site = test_site().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start(&format!(
        "sqlite:{}",
        dir.path().join("l.sqlite3").display()
    ))
    .await;
    let client = Client::new();
    let cookie = first_admin(&client, &server).await;
    let response = client
        .get(format!("{}/h/hash?url={site}/photo.jpg", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "url_refused");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("loopback"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_upload_is_cut_off_at_the_request_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("t.sqlite3").display());
    let mut config = vigie_server::Config::new("127.0.0.1:0".parse().unwrap(), &database);
    config.request_timeout = Duration::from_millis(300);
    let server = start_with(config).await;
    let client = Client::new();
    let cookie = first_admin(&client, &server).await;
    let address = server.base.strip_prefix("http://").unwrap().to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    // Half of the announced body, then nothing.
    let head = format!(
        "POST /h/hash HTTP/1.1\r\nHost: {address}\r\nCookie: {cookie}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 1000\r\n\r\n--x\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut response))
        .await
        .expect("the server answers without waiting for the rest of the body")
        .unwrap();
    let response = String::from_utf8_lossy(&response[..read]);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("\"code\":\"timeout\""), "{response}");
}
