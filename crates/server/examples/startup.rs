//! How long a replica takes to load its index: from the whole change log, then from the
//! snapshot that load wrote.
//!
//! `cargo run -p vigie-server --example startup -- [HASHES] [DIR]` banks HASHES made-up PDQ
//! hashes (default 1,000,000; seeded, so every run is the same) in a SQLite store in DIR (a
//! temporary directory by default; a DIR already filled is reused), then times both loads.

use std::time::Instant;

use vigie_server::matcher::Matcher;
use vigie_server::snapshot::SnapshotFile;
use vigie_store::{NewBank, NewContent, Store};

const BANK: &str = "BENIGN_BENCH_BANK";

/// A made-up PDQ hash, different for every `i` (splitmix64 of a fixed seed).
fn pdq(i: u64) -> String {
    let mut state = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5eed;
    (0..4)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            format!("{:016x}", z ^ (z >> 31))
        })
        .collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let hashes: u64 = args.next().map_or(Ok(1_000_000), |n| n.parse())?;
    let temporary = tempfile::tempdir()?;
    let dir = args
        .next()
        .map_or(temporary.path().to_path_buf(), Into::into);
    let store = Store::open(&format!("sqlite:{}", dir.join("vigie.db").display())).await?;
    if store.last_change().await? == 0 {
        let started = Instant::now();
        store
            .create_bank(&NewBank::named(BANK), |_| by_the_example("bank.create"))
            .await?;
        let contents: Vec<NewContent> = (0..hashes)
            .map(|i| NewContent {
                label: None,
                category: None,
                note: None,
                signals: vec![("pdq".into(), pdq(i))],
            })
            .collect();
        store
            .import_contents(BANK, &contents, &by_the_example("bank.import"))
            .await?;
        println!("banked {hashes} hashes in {:.1?}", started.elapsed());
    }
    let snapshot = dir.join("index.vidx");
    let _ = std::fs::remove_file(&snapshot);
    let store_id = store.store_id().await?;

    for from in ["the log", "the snapshot"] {
        let matcher = Matcher::new(Some(SnapshotFile::new(snapshot.clone(), store_id.clone())));
        let started = Instant::now();
        let (loaded, writing) = matcher.load(&store).await?;
        let elapsed = started.elapsed();
        println!(
            "from {from}: {:.2?} ({} live PDQ hashes, {loaded:?})",
            elapsed,
            matcher.sizes()[0].1
        );
        if let Some(writing) = writing {
            let started = Instant::now();
            writing.await?;
            println!("  snapshot written in {:.2?}", started.elapsed());
        }
    }
    Ok(())
}

/// The audit entry of a write this example makes.
fn by_the_example(action: &str) -> vigie_store::NewAuditEntry {
    vigie_store::NewAuditEntry {
        at: 0,
        actor: "example".into(),
        action: action.into(),
        target: BANK.into(),
        detail: serde_json::json!({}),
    }
}
