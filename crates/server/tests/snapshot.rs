//! A replica starts from its index snapshot and the log's tail, and from the whole log when the
//! snapshot is missing, corrupt or of another database: the real server on a SQLite file, the
//! database written behind its back through the store as another replica would.

use std::path::{Path, PathBuf};

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use vigie_server::auth::{new_secret, secret_digest};
use vigie_server::matcher::Loaded;
use vigie_store::{NewApiKey, NewBank, NewContent, Scopes, Store};

const BANK: &str = "BENIGN_TEST_BANK";

/// A made-up PDQ hash: 64 hex digits from a seed.
fn pdq(seed: u8) -> String {
    format!("{seed:02x}").repeat(32)
}

/// A database with a bank and an API key, and where its replica keeps its snapshot.
struct Replica {
    database_url: String,
    snapshot: PathBuf,
    auth: String,
    _directory: tempfile::TempDir,
}

impl Replica {
    async fn new() -> Replica {
        let directory = tempfile::tempdir().unwrap();
        let database_url = format!("sqlite:{}", directory.path().join("vigie.db").display());
        let store = Store::open(&database_url).await.unwrap();
        store
            .create_bank(&NewBank::named(BANK), |_| by_the_test("bank.create"))
            .await
            .unwrap();
        let key = new_secret();
        store
            .create_api_key(
                &NewApiKey {
                    name: "pipeline".into(),
                    key_hash: secret_digest(&key),
                    scopes: Scopes {
                        operations: vec!["lookup".into(), "bank.write".into()],
                        banks: None,
                    },
                    created_by: None,
                },
                |_| by_the_test("key.create"),
            )
            .await
            .unwrap();
        Replica {
            database_url,
            snapshot: directory.path().join("index.vidx"),
            auth: format!("Bearer {key}"),
            _directory: directory,
        }
    }

    async fn start(&self) -> Running {
        self.start_with(&self.snapshot).await
    }

    async fn start_with(&self, snapshot: &Path) -> Running {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let mut config =
            vigie_server::Config::new("127.0.0.1:0".parse().unwrap(), &self.database_url);
        config.snapshot_path = Some(snapshot.to_path_buf());
        let started = vigie_server::start(config, async {
            let _ = stopped.await;
        })
        .await
        .expect("the server starts");
        Running {
            base: format!("http://{}", started.address),
            auth: self.auth.clone(),
            loaded: started.loaded,
            stop,
            serving: started.serving,
        }
    }

    /// Banks a content with a PDQ hash directly in the store, while no server runs.
    async fn add_behind_the_back(&self, hash: &str) {
        let store = Store::open(&self.database_url).await.unwrap();
        let content = NewContent {
            label: None,
            category: None,
            note: None,
            signals: vec![("pdq".into(), hash.into())],
        };
        store
            .add_content(BANK, &content, |_| by_the_test("content.add"))
            .await
            .unwrap();
    }
}

/// A started server.
struct Running {
    base: String,
    auth: String,
    loaded: Loaded,
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<Result<(), std::io::Error>>,
}

impl Running {
    /// Banks a content with a PDQ and an MD5 through the API; its id.
    async fn add(&self, hash: &str, md5: &str) -> i64 {
        let response = Client::new()
            .post(format!("{}/c/bank/{BANK}/signal", self.base))
            .header("authorization", &self.auth)
            .json(&json!({"pdq": hash, "md5": md5}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["id"]
            .as_i64()
            .unwrap()
    }

    /// The ids of the bank's contents a signal matches.
    async fn matches(&self, signal_type: &str, signal: &str) -> Vec<i64> {
        let response = Client::new()
            .get(format!(
                "{}/m/lookup?signal={signal}&signal_type={signal_type}",
                self.base
            ))
            .header("authorization", &self.auth)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let found: Value = response.json().await.unwrap();
        let mut ids: Vec<i64> = found[BANK]
            .as_array()
            .map(|matches| {
                matches
                    .iter()
                    .map(|m| m["bank_content_id"].as_i64().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// Stops the server and waits until it has (and its start-up snapshot is written).
    async fn stop(self) {
        self.stop.send(()).unwrap();
        self.serving.await.unwrap().unwrap();
    }
}

/// Starts, banks two contents through the API and stops; then starts again, which applies
/// them from the log onto the first start's (empty) snapshot and writes a new one. Returns
/// the contents' ids.
async fn two_contents_in_the_snapshot(replica: &Replica) -> [i64; 2] {
    let first = replica.start().await;
    assert_eq!(
        first.loaded.snapshot_seq, None,
        "a first start has no snapshot"
    );
    let a = first.add(&pdq(0x11), &"a1".repeat(16)).await;
    let b = first.add(&pdq(0x22), &"b2".repeat(16)).await;
    first.stop().await;
    let second = replica.start().await;
    assert_eq!(
        second.loaded,
        Loaded {
            snapshot_seq: Some(0),
            log_rows: 4
        }
    );
    second.stop().await;
    [a, b]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_maps_the_snapshot_and_reads_nothing_from_the_log() {
    let replica = Replica::new().await;
    let [a, b] = two_contents_in_the_snapshot(&replica).await;
    let third = replica.start().await;
    assert_eq!(
        third.loaded,
        Loaded {
            snapshot_seq: Some(4),
            log_rows: 0
        }
    );
    assert_eq!(third.matches("pdq", &pdq(0x11)).await, [a]);
    assert_eq!(third.matches("pdq", &pdq(0x22)).await, [b]);
    assert_eq!(third.matches("md5", &"b2".repeat(16)).await, [b]);
    assert_eq!(third.matches("pdq", &pdq(0x33)).await, Vec::<i64>::new());
    third.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_made_while_the_server_was_down_are_applied_from_the_tail() {
    let replica = Replica::new().await;
    let [a, b] = two_contents_in_the_snapshot(&replica).await;
    replica.add_behind_the_back(&pdq(0x33)).await;
    // A disabled content's Remove rows are in the tail too.
    let store = Store::open(&replica.database_url).await.unwrap();
    store
        .update_content(BANK, a, Some(false), None, |_| {
            by_the_test("content.update")
        })
        .await
        .unwrap();
    drop(store);

    let restarted = replica.start().await;
    assert_eq!(
        restarted.loaded,
        Loaded {
            snapshot_seq: Some(4),
            log_rows: 3
        }
    );
    assert_eq!(
        restarted.matches("pdq", &pdq(0x11)).await,
        Vec::<i64>::new()
    );
    assert_eq!(
        restarted.matches("md5", &"a1".repeat(16)).await,
        Vec::<i64>::new()
    );
    assert_eq!(restarted.matches("pdq", &pdq(0x22)).await, [b]);
    assert_eq!(restarted.matches("pdq", &pdq(0x33)).await, [b + 1]);
    restarted.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_snapshot_is_refused_and_the_log_loaded() {
    let replica = Replica::new().await;
    let [a, b] = two_contents_in_the_snapshot(&replica).await;
    let mut bytes = std::fs::read(&replica.snapshot).unwrap();
    let last = bytes.len() - 1;
    bytes[last / 2] ^= 0x10;
    std::fs::write(&replica.snapshot, bytes).unwrap();

    let restarted = replica.start().await;
    assert_eq!(
        restarted.loaded,
        Loaded {
            snapshot_seq: None,
            log_rows: 4
        }
    );
    assert_eq!(restarted.matches("pdq", &pdq(0x11)).await, [a]);
    assert_eq!(restarted.matches("md5", &"b2".repeat(16)).await, [b]);
    restarted.stop().await;
    // And the start wrote a sound snapshot in its place.
    let again = replica.start().await;
    assert_eq!(again.loaded.snapshot_seq, Some(4));
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_of_another_database_is_refused() {
    let replica = Replica::new().await;
    let [a, _] = two_contents_in_the_snapshot(&replica).await;
    let other = Replica::new().await;
    // The other database has one content of its own.
    let first = other.start_with(&other.snapshot).await;
    let c = first.add(&pdq(0x44), &"c3".repeat(16)).await;
    first.stop().await;

    let confused = other.start_with(&replica.snapshot).await;
    assert_eq!(
        confused.loaded,
        Loaded {
            snapshot_seq: None,
            log_rows: 2
        }
    );
    assert_eq!(confused.matches("pdq", &pdq(0x11)).await, Vec::<i64>::new());
    assert_eq!(confused.matches("pdq", &pdq(0x44)).await, [c]);
    confused.stop().await;
    // That start replaced the file with the other database's snapshot, which the first
    // database's replica refuses in turn.
    let own = replica.start().await;
    assert_eq!(own.loaded.snapshot_seq, None);
    assert_eq!(own.matches("pdq", &pdq(0x11)).await, [a]);
    own.stop().await;
}

/// The audit entry of a write the test makes behind the server's back.
fn by_the_test(action: &str) -> vigie_store::NewAuditEntry {
    vigie_store::NewAuditEntry {
        at: 0,
        actor: "test".into(),
        action: action.into(),
        target: BANK.into(),
        detail: serde_json::json!({}),
    }
}
