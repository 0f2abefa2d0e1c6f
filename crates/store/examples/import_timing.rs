//! Times `Store::import_contents` on a large made-up list of single-PDQ contents. Run by hand,
//! not as a test (tests never assert on time), against a fresh database:
//!
//! ```text
//! cargo run -p vigie-store --example import_timing -- sqlite:/tmp/vigie-import.db 1000000
//! cargo run -p vigie-store --example import_timing -- postgres://root@127.0.0.1:5432/vigie_import 1000000
//! ```
//!
//! The list is built before the clock starts, so the figure is the store's alone.

use std::error::Error;
use std::time::Instant;

use vigie_store::{NewAuditEntry, NewBank, NewContent, Store};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut arguments = std::env::args().skip(1);
    let url = arguments
        .next()
        .ok_or("usage: import_timing DATABASE_URL [COUNT]")?;
    let count: u64 = arguments
        .next()
        .map_or(Ok(1_000_000), |text| text.parse())?;

    let store = Store::open(&url).await?;
    store
        .create_bank(&NewBank::named("IMPORT_TIMING"), |_| {
            timing_audit("bank.create")
        })
        .await?;
    let list: Vec<NewContent> = (0..count)
        .map(|item| {
            // Two multiplicative hashes of the item number: distinct, well spread, made up.
            let high = u128::from(item).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834);
            let low = high.rotate_left(64) ^ 0x2545_f491_4f6c_dd1d;
            NewContent {
                label: Some(format!("timing-{item}")),
                signals: vec![("pdq".into(), format!("{high:032x}{low:032x}"))],
                ..NewContent::default()
            }
        })
        .collect();

    let started = Instant::now();
    let imported = store
        .import_contents("IMPORT_TIMING", &list, &timing_audit("bank.import"))
        .await?;
    let elapsed = started.elapsed();
    println!(
        "{:?}: imported {imported} contents in {:.2} s ({:.0} contents/s)",
        store.dialect(),
        elapsed.as_secs_f64(),
        imported as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

/// The audit row each timed write needs.
fn timing_audit(action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: 0,
        actor: "system".into(),
        action: action.into(),
        target: "IMPORT_TIMING".into(),
        detail: serde_json::json!({}),
    }
}
