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
//! At start-up a replica maps its snapshot file, if it has a usable one, and reads only the
//! log's rows after it ([`crate::snapshot`]); it writes a new snapshot after start-up and
//! after each compaction.
//!
//! An index id packs the bank and the content: `bank_id << 40 | content_id`, so a match says
//! which bank it is in without a database query, and the bank's threshold and enabled ratio
//! come from a small cache of the banks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use vigie_hash::unhex;
use vigie_index::{Change, Hash256, SharedIndex, SignalIndex};
use vigie_store::{Bank, ChangeKind, ChangeListener, ChangeRow, Store, StoreError};

use crate::snapshot::{Refusal, SnapshotFile};

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
    /// The replica's snapshot file, if it keeps one.
    snapshot: Option<Arc<SnapshotFile>>,
}

/// How the index was loaded at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    /// The sequence of the last change in the snapshot the index started from, if one was
    /// usable.
    pub snapshot_seq: Option<i64>,
    /// Change-log rows read after it (the whole log without a snapshot).
    pub log_rows: u64,
}

impl Matcher {
    /// An empty replica, which keeps its index's snapshot in `snapshot` if given.
    pub fn new(snapshot: Option<SnapshotFile>) -> Self {
        let index = SharedIndex::new(SignalIndex::default());
        index.use_lookup_tables();
        Self {
            index,
            applied: AtomicI64::new(0),
            catching_up: Mutex::new(()),
            banks: RwLock::new(HashMap::new()),
            widest_threshold: AtomicU32::new(31),
            snapshot: snapshot.map(Arc::new),
        }
    }

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

    /// Applies every change the store has that this replica has not applied yet; returns how
    /// many rows of the log it read.
    pub async fn catch_up(&self, store: &Store) -> Result<u64, StoreError> {
        let _in_order = self.catching_up.lock().await;
        let mut read = 0;
        loop {
            let changes = store.changes_since(self.applied(), CHANGE_PAGE).await?;
            let Some(last) = changes.last().map(|change| change.seq) else {
                return Ok(read);
            };
            for row in &changes {
                if let Some(change) = index_change(row) {
                    // Tagged with its sequence, so that a compaction knows which prefix of
                    // the log its copy holds (what a snapshot records).
                    self.index.apply_at(change, row.seq as u64);
                }
            }
            read += changes.len() as u64;
            self.applied.store(last, Ordering::Release);
            if (changes.len() as i64) < CHANGE_PAGE {
                return Ok(read);
            }
        }
    }

    /// Loads the index at start-up: the snapshot if there is a usable one, then the log's rows
    /// after it (the whole log without one), then compacts once, which builds the lookup
    /// tables for single queries. The handle is that of the snapshot being written of the
    /// loaded index, off the async threads, when the replica keeps one.
    pub async fn load(
        &self,
        store: &Store,
    ) -> Result<(Loaded, Option<JoinHandle<()>>), StoreError> {
        self.refresh_banks(store).await?;
        let snapshot_seq = self.restore_snapshot(store).await?;
        let log_rows = self.catch_up(store).await?;
        let compacted = self.index.compact();
        let writing = self
            .snapshot
            .clone()
            .map(|file| tokio::task::spawn_blocking(move || file.write(&compacted)));
        let loaded = Loaded {
            snapshot_seq,
            log_rows,
        };
        tracing::info!(?loaded, "index loaded");
        Ok((loaded, writing))
    }

    /// Starts the index from the snapshot file if it is usable, and returns the sequence it
    /// holds changes up to; otherwise logs why and leaves the index empty.
    async fn restore_snapshot(&self, store: &Store) -> Result<Option<i64>, StoreError> {
        let Some(file) = self.snapshot.clone() else {
            return Ok(None);
        };
        let last_change = store.last_change().await?;
        // Mapping checks every byte of the file: blocking work.
        let loaded = tokio::task::spawn_blocking(move || file.load(last_change))
            .await
            .unwrap_or_else(|panicked| std::panic::resume_unwind(panicked.into_panic()));
        match loaded {
            Ok((index, seq)) => {
                self.index.replace(index, seq as u64);
                self.applied.store(seq, Ordering::Release);
                Ok(Some(seq))
            }
            Err(refusal @ Refusal::Missing(_)) => {
                tracing::info!(%refusal, "loading the index from the change log");
                Ok(None)
            }
            Err(refusal) => {
                tracing::warn!(%refusal, "index snapshot refused, loading from the change log");
                Ok(None)
            }
        }
    }

    /// Compacts the index and writes the compacted copy as the replica's snapshot, if it
    /// keeps one. Blocking: compaction rewrites the arrays.
    pub fn compact(&self) {
        let compacted = self.index.compact();
        if let Some(file) = &self.snapshot {
            file.write(&compacted);
        }
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
                    let _ = tokio::task::spawn_blocking(move || shared.compact()).await;
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
