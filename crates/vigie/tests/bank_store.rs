//! `vigie bank import` and `vigie bank export` as a hotline's operator runs them against the
//! server's store, on SQLite in a data directory and on PostgreSQL: partners' lists go in, come
//! out, go into another bank and come out the same.

mod common;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};

use common::{corpus, stderr, stdout, vigie_in};
use sqlx::{Connection, PgConnection};

/// The server and database a fresh PostgreSQL test database is created from.
const DEFAULT_POSTGRES: &str = "postgres://root@127.0.0.1:5432/test";

fn shared() -> PathBuf {
    corpus().join("../..")
}

/// The store options a command is given, and the PostgreSQL database to drop afterwards.
struct TestStore {
    options: Vec<String>,
    postgres: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl TestStore {
    fn sqlite() -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        TestStore {
            options: vec!["--data-dir".into(), data.display().to_string()],
            postgres: None,
            _dir: dir,
        }
    }

    /// A fresh database on the PostgreSQL server CI starts (`$VIGIE_TEST_POSTGRES`); being
    /// unreachable fails the test, since a skipped database would prove nothing.
    async fn postgres() -> TestStore {
        let admin_url =
            std::env::var("VIGIE_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|error| panic!("PostgreSQL is not reachable at {admin_url}: {error}"));
        let name = format!(
            "vigie_cli_{:016x}",
            RandomState::new().build_hasher().finish()
        );
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let (server, _) = admin_url.rsplit_once('/').unwrap();
        TestStore {
            options: vec!["--database-url".into(), format!("{server}/{name}")],
            postgres: Some((admin_url, name)),
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Runs `vigie` on this store in `dir`.
    fn vigie(&self, dir: &Path, args: &[&str]) -> std::process::Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(self.options.iter().map(String::as_str));
        vigie_in(dir, &all)
    }

    async fn finish(self) {
        if let Some((admin_url, name)) = &self.postgres {
            let mut admin = PgConnection::connect(admin_url).await.unwrap();
            sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .unwrap();
        }
    }
}

/// A made-up PDQ hash per seed (SplitMix64), so the list is the same on every run.
fn made_up_pdq(seed: u64) -> String {
    let mut state = seed;
    (0..4)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut mixed = state;
            mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            format!("{:016x}", mixed ^ (mixed >> 31))
        })
        .collect()
}

const GENERATED: u64 = 2_500;

async fn partners_lists_go_in_and_come_out_the_same(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("generated.txt");
    let mut list: String = (0..GENERATED)
        .map(|n| format!("{}\n", made_up_pdq(n)))
        .collect();
    list.push_str("not-a-hash\n");
    std::fs::write(&generated, list).unwrap();
    let ncmec = shared().join("schemas/ncmec-hashsharing-v2/ENTRIES_XML.xml");
    let vics = shared().join("schemas/projectvic-vics/NSRL-CAID-MOV.json");
    let path = |path: &Path| path.to_str().unwrap().to_owned();

    let refused = store.vigie(
        dir.path(),
        &["bank", "import", "PARTNERS", &path(&generated)],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("--create"),
        "{}",
        stderr(&refused)
    );

    let imported = store.vigie(
        dir.path(),
        &[
            "bank",
            "import",
            "PARTNERS",
            &path(&generated),
            &path(&ncmec),
            &path(&vics),
            "--create",
            "--batch",
            "1000",
        ],
    );
    let report = stderr(&imported);
    assert!(imported.status.success(), "{report}");
    assert!(
        report.contains(&format!("{}:{}: ", path(&generated), GENERATED + 1)),
        "{report}"
    );
    assert!(report.contains("1 lines not read"), "{report}");

    let export = |bank: &str, format: &str, name: &str| {
        let out = dir.path().join(name);
        let exported = store.vigie(
            dir.path(),
            &[
                "bank",
                "export",
                bank,
                "--format",
                format,
                "-o",
                &path(&out),
            ],
        );
        assert!(exported.status.success(), "{}", stderr(&exported));
        std::fs::read_to_string(out).unwrap()
    };
    let first = export("PARTNERS", "csv", "first.csv");
    let text = export("PARTNERS", "text", "first.txt");
    for n in [0, 1, GENERATED - 1] {
        assert!(text.contains(&format!("pdq {}\n", made_up_pdq(n))), "{n}");
    }
    let second_import = store.vigie(
        dir.path(),
        &[
            "bank",
            "import",
            "AGAIN",
            &path(&dir.path().join("first.csv")),
            "--create",
        ],
    );
    assert!(second_import.status.success(), "{}", stderr(&second_import));
    let second = export("AGAIN", "csv", "second.csv");
    assert_eq!(first, second);
    assert!(first.lines().count() > GENERATED as usize);

    // Each partner's list comes back in its own format, and that export imports to the same.
    for (sample, format, bank) in [
        (&ncmec, "ncmec", "NCMEC_LIST"),
        (&vics, "vics", "VICS_LIST"),
        (&generated, "threatexchange", "TE_LIST"),
    ] {
        let imported = store.vigie(
            dir.path(),
            &["bank", "import", bank, &path(sample), "--create"],
        );
        assert!(imported.status.success(), "{}", stderr(&imported));
        let once = export(bank, format, &format!("{bank}.once"));
        let again = format!("{bank}_AGAIN");
        let once_path = path(&dir.path().join(format!("{bank}.once")));
        let reimported = store.vigie(
            dir.path(),
            &[
                "bank",
                "import",
                &again,
                &once_path,
                "--create",
                "--list-format",
                format,
            ],
        );
        assert!(reimported.status.success(), "{}", stderr(&reimported));
        assert_eq!(
            once,
            export(&again, format, &format!("{bank}.twice")),
            "{format}"
        );
        assert!(!once.is_empty(), "{format}");
    }
    let verified = store.vigie(dir.path(), &["audit", "verify"]);
    assert!(verified.status.success(), "{}", stdout(&verified));
    store.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_round_trip_through_a_sqlite_store() {
    partners_lists_go_in_and_come_out_the_same(TestStore::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_round_trip_through_a_postgres_store() {
    partners_lists_go_in_and_come_out_the_same(TestStore::postgres().await).await;
}
