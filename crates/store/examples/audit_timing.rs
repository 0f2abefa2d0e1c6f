//! Times audit appends one by one (`append_audit`) and in batches (`append_audits`), the group
//! commit the server needs for lookups at thousands a second. Run by hand, not as a test (tests
//! never assert on time), against a fresh database:
//!
//! ```text
//! cargo run --release -p vigie-store --example audit_timing -- sqlite:/tmp/vigie-audit.db 2000 100
//! cargo run --release -p vigie-store --example audit_timing -- postgres://root@127.0.0.1:5432/vigie_audit 2000 100
//! ```

use std::error::Error;
use std::time::Instant;

use serde_json::json;
use vigie_store::{NewAuditEntry, Store};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut arguments = std::env::args().skip(1);
    let url = arguments
        .next()
        .ok_or("usage: audit_timing DATABASE_URL [COUNT] [BATCH]")?;
    let count: usize = arguments.next().map_or(Ok(2_000), |text| text.parse())?;
    let batch: usize = arguments.next().map_or(Ok(100), |text| text.parse())?;

    let store = Store::open(&url).await?;
    let entries: Vec<NewAuditEntry> = (0..count)
        .map(|n| NewAuditEntry {
            at: 1_700_000_000_000 + n as i64,
            actor: "key:1".into(),
            action: "lookup".into(),
            target: format!("{n:064x}"),
            detail: json!({"signal_type": "pdq", "matches": n % 3}),
        })
        .collect();

    let started = Instant::now();
    for entry in &entries {
        store.append_audit(entry).await?;
    }
    let single = count as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    for chunk in entries.chunks(batch) {
        store.append_audits(chunk).await?;
    }
    let batched = count as f64 / started.elapsed().as_secs_f64();

    println!(
        "{:?}: {single:.0} appends/s one by one, {batched:.0} appends/s in batches of {batch}",
        store.dialect()
    );
    Ok(())
}
