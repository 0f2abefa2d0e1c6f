//! What the server's integration tests share: a real server on a random port, a fresh
//! PostgreSQL database per test, the first administrator, keys, banks and corpus uploads.
//! Each test binary uses part of it.
#![allow(dead_code)]

use std::path::PathBuf;

use reqwest::multipart::{Form, Part};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

pub fn corpus_file(name: &str) -> Vec<u8> {
    let shared = std::env::var_os("VIGIE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    std::fs::read(shared.join("corpus/pdq").join(name)).expect("the corpus beside the checkout")
}

/// A running server and the way to stop it.
pub struct Server {
    pub base: String,
    pub setup_token: Option<String>,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn start(database_url: &str) -> Server {
    start_with(vigie_server::Config::new(
        "127.0.0.1:0".parse().unwrap(),
        database_url,
    ))
    .await
}

pub async fn start_with(config: vigie_server::Config) -> Server {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = vigie_server::start(config, async {
        let _ = stopped.await;
    })
    .await
    .expect("the server starts");
    Server {
        base: format!("http://{}", started.address),
        setup_token: started.setup_token,
        stop: Some(stop),
    }
}

/// A fresh database on the PostgreSQL server the tests use (`$VIGIE_TEST_POSTGRES`, by default
/// the machine's), so that tests do not see each other; dropped by [`PgDatabase::drop_now`].
pub struct PgDatabase {
    pub admin_url: String,
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create() -> PgDatabase {
        let admin_url = std::env::var("VIGIE_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into());
        let name = format!(
            "vigie_server_test_{}",
            &vigie_server::auth::new_secret()[..16]
        );
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL is not reachable at {admin_url} ({e}); CI starts it")
            });
        sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let (server, _) = admin_url.rsplit_once('/').expect("a database in the URL");
        let url = format!("{server}/{name}");
        PgDatabase {
            admin_url,
            name,
            url,
        }
    }

    pub async fn drop_now(self) {
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&self.admin_url)
            .await
            .unwrap();
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        sqlx::Executor::execute(&mut admin, drop.as_str())
            .await
            .unwrap();
    }
}

/// The session cookie a response sets, as a `Cookie` header value.
pub fn session_from(response: &reqwest::Response) -> String {
    let set_cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("vigie_session="))
        .expect("a session cookie");
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("Secure"));
    assert!(set_cookie.contains("SameSite=Strict"));
    set_cookie.split(';').next().unwrap().to_string()
}

/// Follows the setup link, creates the first administrator, returns their cookie.
pub async fn first_admin(client: &Client, server: &Server) -> String {
    let token = server
        .setup_token
        .clone()
        .expect("a first run prints a setup link");
    let page = client
        .get(format!("{}/setup?token={token}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("<label for=\"password\">"));
    let form = [
        ("token", token.as_str()),
        ("name", "admin"),
        ("password", "a long enough password"),
    ];
    let created = client
        .post(format!("{}/setup", server.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let cookie = session_from(&created);
    // The link works once.
    let again = client
        .post(format!("{}/setup", server.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    cookie
}

pub async fn api_key(
    client: &Client,
    base: &str,
    cookie: &str,
    operations: &[&str],
    banks: Option<&[&str]>,
) -> String {
    let response = client
        .post(format!("{base}/admin/api_keys"))
        .header("cookie", cookie)
        .json(&json!({"name": "pipeline", "operations": operations, "banks": banks}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Creates a bank with the defaults, as a key with `bank.write`.
pub async fn create_bank(client: &Client, base: &str, auth: &str, name: &str) {
    let created = client
        .post(format!("{base}/c/banks"))
        .header("authorization", auth)
        .json(&json!({"name": name}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
}

pub fn image_form(name: &str) -> Form {
    Form::new().part(
        "file",
        Part::bytes(corpus_file(name)).file_name("upload.jpg"),
    )
}

/// Posts a corpus image as a multipart upload with a bearer key; the JSON answer.
pub async fn post_image(client: &Client, url: String, auth: &str, name: &str) -> Value {
    let response = client
        .post(url)
        .header("authorization", auth)
        .multipart(image_form(name))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "uploading {name}");
    response.json().await.unwrap()
}

/// The value of the `name` field of the first form on a page.
pub fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("the field is on the page") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

/// The `name=value` part of the cookie `name` a response sets.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(|value| value.split(';').next().unwrap().to_string())
}

/// Runs one SQL statement on a SQLite store (`sqlite:` URL), as another part of Vigie would
/// have written it.
pub async fn execute_sqlite(database: &str, sql: &str) {
    use sqlx::Connection;
    let mut connection = sqlx::SqliteConnection::connect(database).await.unwrap();
    sqlx::query(sql).execute(&mut connection).await.unwrap();
}

/// What a partner platform sends: a report with one file, as base64, and the URLs it was
/// found at.
pub async fn partner_report(
    client: &Client,
    base: &str,
    key: &str,
    file: &str,
    urls: &[&str],
) -> Value {
    use base64::Engine as _;
    let bytes = corpus_file(file);
    let response = client
        .post(format!("{base}/api/v1/reports"))
        .header("authorization", format!("Bearer {key}"))
        .json(&json!({
            "category": "csam",
            "description": "Uploaded to our service",
            "urls": urls,
            "attachments": [{
                "file_name": file.rsplit('/').next().unwrap(),
                "content_base64": base64::engine::general_purpose::STANDARD.encode(bytes),
            }],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}
