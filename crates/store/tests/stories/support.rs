//! The databases the stories run on: a SQLite file in a temporary directory, or a fresh
//! PostgreSQL database on the server CI starts (`$VIGIE_TEST_POSTGRES`, by default
//! `postgres://root@127.0.0.1:5432/test`). PostgreSQL being unreachable fails the test: a story
//! that silently skipped one database would prove nothing about it.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, PgConnection, SqliteConnection};
use vigie_store::{NewAuditEntry, Store};

/// The server and database a fresh test database is created from.
const DEFAULT_POSTGRES: &str = "postgres://root@127.0.0.1:5432/test";

/// Where a test database lives, kept so the test can reach it behind the store's back.
#[derive(Debug)]
enum Place {
    Sqlite {
        path: PathBuf,
        _directory: tempfile::TempDir,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

/// A store on a database of its own, and the means to tamper with that database directly.
#[derive(Debug)]
pub struct TestDb {
    pub store: Store,
    place: Place,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let directory = tempfile::tempdir().expect("temporary directory");
        // A directory that does not exist yet: the store must create it.
        let path = directory.path().join("data").join("vigie.db");
        let store = Store::open(&format!("sqlite:{}", path.display()))
            .await
            .expect("open the SQLite store");
        TestDb {
            store,
            place: Place::Sqlite {
                path,
                _directory: directory,
            },
        }
    }

    pub async fn postgres() -> TestDb {
        let admin_url =
            std::env::var("VIGIE_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "PostgreSQL is not reachable at {admin_url} ({error}). These tests need it: \
                 start PostgreSQL (CI does) or point $VIGIE_TEST_POSTGRES at a server where \
                 this user may CREATE DATABASE."
                )
            });
        let name = format!(
            "vigie_test_{:016x}",
            RandomState::new().build_hasher().finish()
        );
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        let url = match admin_url.rsplit_once('/') {
            Some((server, _database)) => format!("{server}/{name}"),
            None => panic!("{admin_url} names no database"),
        };
        let store = Store::open(&url).await.expect("open the PostgreSQL store");
        TestDb {
            store,
            place: Place::Postgres {
                admin_url,
                name,
                url,
            },
        }
    }

    /// Another handle on the same database, as another replica holds: a pool of its own on
    /// PostgreSQL, a clone on SQLite (whose listeners are woken within one process).
    pub async fn other_handle(&self) -> Store {
        match &self.place {
            Place::Sqlite { .. } => self.store.clone(),
            Place::Postgres { url, .. } => Store::open(url).await.expect("open a second pool"),
        }
    }

    /// Runs SQL on the database directly, as someone tampering with it would.
    pub async fn execute(&self, sql: &str) {
        match &self.place {
            Place::Sqlite { path, .. } => {
                let options = SqliteConnectOptions::new().filename(path);
                let mut connection = SqliteConnection::connect_with(&options)
                    .await
                    .expect("connect to SQLite");
                sqlx::query(sql).execute(&mut connection).await.expect(sql);
            }
            Place::Postgres { url, .. } => {
                let mut connection = PgConnection::connect(url)
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::query(sql).execute(&mut connection).await.expect(sql);
            }
        }
    }

    /// Drops the PostgreSQL database (a SQLite file goes with its temporary directory). A test
    /// that panics leaves its `vigie_test_*` database behind for inspection.
    pub async fn finish(self) {
        if let Place::Postgres {
            admin_url, name, ..
        } = &self.place
        {
            let mut admin = PgConnection::connect(admin_url)
                .await
                .expect("reconnect to PostgreSQL");
            sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .expect("drop the test database");
        }
    }
}

/// Runs each story once on SQLite and once on PostgreSQL, as tests `story::sqlite` and
/// `story::postgres`.
macro_rules! on_both_databases {
    ($($story:ident),* $(,)?) => {
        $(
            mod $story {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    let db = $crate::support::TestDb::sqlite().await;
                    super::$story(&db).await;
                    db.finish().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    let db = $crate::support::TestDb::postgres().await;
                    super::$story(&db).await;
                    db.finish().await;
                }
            }
        )*
    };
}

/// A made-up lowercase hex value of `digits` digits, different for each `seed`.
pub fn made_up_hex(seed: u64, digits: usize) -> String {
    let mut state = seed;
    let mut hex = String::with_capacity(digits + 16);
    while hex.len() < digits {
        // SplitMix64: cheap, well spread, and fixed, so failures are reproducible.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        hex.push_str(&format!("{:016x}", mixed ^ (mixed >> 31)));
    }
    hex.truncate(digits);
    hex
}

/// The audit entry of a story's write, by the system at a fixed time. Stories about the audit
/// log check their own entries; the others only need one to give.
pub fn audited(action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: 1_000,
        actor: "system".into(),
        action: action.into(),
        target: "story".into(),
        detail: serde_json::json!({}),
    }
}
