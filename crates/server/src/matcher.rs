//! The in-memory index every replica matches against, kept up to date from the store's change
//! log instead of being rebuilt.
//!
//! HMA rebuilds its whole index every minute and ships it to every matcher; a hash added takes
//! minutes to match. Here each replica holds a [`SharedIndex`] and applies the change log (a
//! monotonic sequence in the store) as it grows: a write on this replica is applied before its
//! response returns, writes on other replicas as soon as the store's change listener wakes
//! (PostgreSQL's NOTIFY), and at worst within the polling interval (250 ms), which stays as the
//! fallback for what a listener cannot see (another process writing a SQLite file, a lost
//! connection).
//!
//! An index id packs the bank and the content: `bank_id << 40 | content_id`, so a match says
//! which bank it is in without a database query, and the bank's threshold and enabled ratio
//! come from a small cache of the banks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::Mutex;
use vigie_hash::unhex;
use vigie_index::{Change, Hash256, SharedIndex, SignalIndex};
use vigie_store::{Bank, ChangeKind, ChangeListener, ChangeRow, Store, StoreError};

/// How often a replica looks for changes written by others when no listener wakes it.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Changes read from the store at a time.
const CHANGE_PAGE: i64 = 10_000;

/// Bits of an index id that hold the content id.
const CONTENT_BITS: u32 = 40;

/// The index id of a content of a bank.
pub fn index_id(bank_id: i64, content_id: i64) -> u64 {
    ((bank_id as u64) << CONTENT_BITS) | (content_id as u64 & ((1 << CONTENT_BITS) - 1))
}

/// The bank and content ids an index id packs.
pub fn split_id(id: u64) -> (i64, i64) {
    (
        (id >> CONTENT_BITS) as i64,
        (id & ((1 << CONTENT_BITS) - 1)) as i64,
    )
}

/// One replica's view of the banks.
#[derive(Debug)]
pub struct Matcher {
    index: SharedIndex,
    /// The last change applied.
    applied: AtomicI64,
    /// One catch-up at a time, so that changes are applied in order.
    catching_up: Mutex<()>,
    banks: RwLock<HashMap<i64, Bank>>,
    /// The largest PDQ threshold of any bank, kept with the cache so that a lookup does not
    /// walk the banks to know how far to search.
    widest_threshold: AtomicU32,
}

impl Default for Matcher {
    fn default() -> Self {
        let index = SharedIndex::new(SignalIndex::default());
        index.use_lookup_tables();
        Self {
            index,
            applied: AtomicI64::new(0),
            catching_up: Mutex::new(()),
            banks: RwLock::new(HashMap::new()),
            widest_threshold: AtomicU32::new(31),
        }
    }
}

impl Matcher {
    /// The index, for queries.
    pub fn index(&self) -> &SharedIndex {
        &self.index
    }

    /// Live entries of each signal type.
    pub fn sizes(&self) -> [(&'static str, usize); 4] {
        let index = self.index.read();
        [
            ("pdq", index.pdq.len()),
            ("md5", index.md5.len()),
            ("sha1", index.sha1.len()),
            ("sha256", index.sha256.len()),
        ]
    }

    /// The last change applied.
    pub fn applied(&self) -> i64 {
        self.applied.load(Ordering::Acquire)
    }

    /// The bank of an id, from the cache.
    pub fn bank(&self, bank_id: i64) -> Option<Bank> {
        self.banks
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&bank_id)
            .cloned()
    }

    /// The PDQ radius that reaches every bank's threshold.
    pub fn widest_threshold(&self) -> u32 {
        self.widest_threshold.load(Ordering::Acquire)
    }

    /// Reloads the bank cache (after a bank is created, changed or deleted, and on every poll).
    pub async fn refresh_banks(&self, store: &Store) -> Result<(), StoreError> {
        let banks = store.banks().await?;
        let widest = banks
            .iter()
            .map(|bank| bank.pdq_threshold.clamp(0, 256) as u32)
            .max()
            .unwrap_or(31);
        self.widest_threshold.store(widest, Ordering::Release);
        *self
            .banks
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            banks.into_iter().map(|bank| (bank.id, bank)).collect();
        Ok(())
    }

    /// Applies every change the store has that this replica has not applied yet.
    pub async fn catch_up(&self, store: &Store) -> Result<(), StoreError> {
        let _in_order = self.catching_up.lock().await;
        loop {
            let changes = store.changes_since(self.applied(), CHANGE_PAGE).await?;
            let Some(last) = changes.last().map(|change| change.seq) else {
                return Ok(());
            };
            for change in &changes {
                if let Some(change) = index_change(change) {
                    self.index.apply(change);
                }
            }
            self.applied.store(last, Ordering::Release);
            if (changes.len() as i64) < CHANGE_PAGE {
                return Ok(());
            }
        }
    }

    /// Loads everything at start-up, then compacts once, which builds the lookup tables for
    /// single queries.
    pub async fn load(&self, store: &Store) -> Result<(), StoreError> {
        self.refresh_banks(store).await?;
        self.catch_up(store).await?;
        self.index.compact();
        Ok(())
    }

    /// Follows the change log for as long as the server runs, woken by the store's change
    /// listener or the poll timer, whichever comes first, and compacting when enough changes
    /// have piled up. A listener that fails is dropped and made again at the next turn.
    pub fn follow(self: &Arc<Self>, store: Store) -> tokio::task::JoinHandle<()> {
        let matcher = Arc::clone(self);
        tokio::spawn(async move {
            let mut listener: Option<ChangeListener> = None;
            loop {
                if listener.is_none() {
                    listener = store
                        .change_listener()
                        .await
                        .map_err(|error| tracing::warn!(%error, "listening for changes"))
                        .ok();
                }
                tokio::select! {
                    () = tokio::time::sleep(POLL_INTERVAL) => {}
                    woken = changed(&mut listener) => {
                        if let Err(error) = woken {
                            tracing::warn!(%error, "listening for changes");
                            listener = None;
                        }
                    }
                }
                let caught_up = async {
                    matcher.refresh_banks(&store).await?;
                    matcher.catch_up(&store).await
                };
                if let Err(error) = caught_up.await {
                    tracing::warn!(%error, "following the change log");
                    continue;
                }
                let (pending, live) = matcher.index.pending();
                if pending > 10_000 && pending * 8 > live {
                    let shared = Arc::clone(&matcher);
                    // Compaction is CPU work; it runs beside queries, off the async threads.
                    let _ = tokio::task::spawn_blocking(move || shared.index.compact()).await;
                }
            }
        })
    }
}

/// Waits for the listener, if there is one; without one, only the poll timer wakes.
async fn changed(listener: &mut Option<ChangeListener>) -> Result<(), StoreError> {
    match listener {
        Some(listener) => listener.changed().await,
        None => std::future::pending().await,
    }
}

/// The index change a change-log row makes, if it is of a type the index holds.
fn index_change(change: &ChangeRow) -> Option<Change> {
    let id = index_id(change.bank_id, change.content_id);
    match change.kind {
        ChangeKind::Remove => Some(Change::Remove(id)),
        ChangeKind::Add => match change.signal_type.as_str() {
            "pdq" => {
                unhex::<32>(&change.value).map(|b| Change::AddPdq(id, Hash256::from_bytes(&b)))
            }
            "md5" => unhex::<16>(&change.value).map(|b| Change::AddMd5(id, b)),
            "sha1" => unhex::<20>(&change.value).map(|b| Change::AddSha1(id, b)),
            "sha256" => unhex::<32>(&change.value).map(|b| Change::AddSha256(id, b)),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_pack_the_bank_and_the_content() {
        assert_eq!(split_id(index_id(3, 12345)), (3, 12345));
        assert_eq!(
            split_id(index_id(1 << 20, (1 << 40) - 1)),
            (1 << 20, (1 << 40) - 1)
        );
    }
}
