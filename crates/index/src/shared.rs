//! An index that threads query while others change it, compacted in the background.
//!
//! A matching service answers lookups on every core while hashes arrive and leave. Queries
//! take a read lock and run against the current [`SignalIndex`]; an add or a remove takes the
//! write lock for as long as it takes to append to the fresh segment or set a bit. Compaction
//! is the slow part (it rewrites the arrays), so it works on a copy outside the lock: the
//! changes made meanwhile are written to a journal, replayed onto the compacted copy, and the
//! copy is swapped in under the write lock. No change is lost and no query waits for the
//! rewrite.
//!
//! A caller that follows a log of changes can tag each change with its position in the log
//! ([`SharedIndex::apply_at`]). A compaction then returns the compacted copy as it was when it
//! was taken, with the position it was at ([`Compacted`]): exactly the changes up to that
//! position are in it, none after, which is what a snapshot of the index must record to be
//! completed later from the log.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};

use crate::{Hash256, SignalIndex};

/// One change to the index, as the journal records it.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    /// A PDQ hash for an entry.
    AddPdq(u64, Hash256),
    /// An MD5 digest for an entry.
    AddMd5(u64, [u8; 16]),
    /// A SHA-1 digest for an entry.
    AddSha1(u64, [u8; 20]),
    /// A SHA-256 digest for an entry.
    AddSha256(u64, [u8; 32]),
    /// Every hash of an entry goes.
    Remove(u64),
}

impl SignalIndex {
    /// Applies one change.
    pub fn apply(&mut self, change: Change) {
        match change {
            Change::AddPdq(id, hash) => self.pdq.add(id, hash),
            Change::AddMd5(id, digest) => self.md5.add(id, digest),
            Change::AddSha1(id, digest) => self.sha1.add(id, digest),
            Change::AddSha256(id, digest) => self.sha256.add(id, digest),
            Change::Remove(id) => {
                self.pdq.remove(id);
                self.md5.remove(id);
                self.sha1.remove(id);
                self.sha256.remove(id);
            }
        }
    }

    /// The same entries with adds folded in and removes dropped (see [`crate::PdqIndex::compacted`]).
    pub fn compacted(&self) -> SignalIndex {
        SignalIndex {
            pdq: self.pdq.compacted(),
            md5: self.md5.compacted(),
            sha1: self.sha1.compacted(),
            sha256: self.sha256.compacted(),
        }
    }
}

/// A compacted index as it was when its compaction copied the live one, and the position
/// (see [`SharedIndex::apply_at`]) the live index was at then: what a snapshot should hold.
/// It shares its arrays with the index swapped in, so holding it costs little memory until
/// the next compaction replaces them.
#[derive(Debug)]
pub struct Compacted {
    /// The entries, compacted (no fresh segment, no removed entries).
    pub index: SignalIndex,
    /// The position of the last change in it.
    pub position: u64,
}

/// A [`SignalIndex`] shared between threads.
#[derive(Debug, Default)]
pub struct SharedIndex {
    current: RwLock<SignalIndex>,
    /// The position of the last change applied to `current`, written under its write lock so
    /// that a copy taken under the lock and this position agree.
    position: AtomicU64,
    /// While a compaction runs, the changes made since it copied the index.
    journal: Mutex<Option<Vec<Change>>>,
    /// One compaction at a time.
    compaction: Mutex<()>,
    /// Whether compactions build PDQ lookup tables (see [`crate::PdqIndex::with_lookup_tables`]).
    lookup_tables: AtomicBool,
}

impl SharedIndex {
    /// Shares an index.
    pub fn new(index: SignalIndex) -> Self {
        Self {
            current: RwLock::new(index),
            position: AtomicU64::new(0),
            journal: Mutex::new(None),
            compaction: Mutex::new(()),
            lookup_tables: AtomicBool::new(false),
        }
    }

    /// From the next compaction on, build PDQ lookup tables for single queries (44 to 64
    /// bytes an entry): what a server answering one lookup at a time wants.
    pub fn use_lookup_tables(&self) {
        self.lookup_tables.store(true, Ordering::Relaxed);
    }

    /// The current index, for queries. Changes wait while the guard is held: keep it for one
    /// query or one batch.
    pub fn read(&self) -> RwLockReadGuard<'_, SignalIndex> {
        self.current.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Swaps in another index holding the changes up to `position` (a snapshot loaded at
    /// start-up). It waits for a compaction in progress, which would otherwise swap in its
    /// copy of the index replaced.
    pub fn replace(&self, index: SignalIndex, position: u64) {
        let _one_at_a_time = self
            .compaction
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        *current = index;
        self.position.store(position, Ordering::Relaxed);
    }

    /// Applies a change; the next query sees it.
    pub fn apply(&self, change: Change) {
        self.apply_then(change, None);
    }

    /// Applies a change that is at `position` in the caller's log of changes (positions
    /// increase); [`SharedIndex::compact`] reports the position its copy was at.
    pub fn apply_at(&self, change: Change, position: u64) {
        self.apply_then(change, Some(position));
    }

    fn apply_then(&self, change: Change, position: Option<u64>) {
        let mut index = self.current.write().unwrap_or_else(PoisonError::into_inner);
        index.apply(change);
        if let Some(position) = position {
            self.position.store(position, Ordering::Relaxed);
        }
        // Under the write lock, so that the journal's order is the order of the changes.
        if let Some(journal) = self
            .journal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            journal.push(change);
        }
    }

    /// Entries a compaction would fold in or drop, against the live entries: a caller compacts
    /// when the first grows past a share of the second.
    pub fn pending(&self) -> (usize, usize) {
        let index = self.read();
        (index.pdq.pending(), index.pdq.len())
    }

    /// Compacts without holding up queries: copies the index, compacts the copy, replays the
    /// changes made meanwhile onto it and swaps it in. Returns the compacted copy before the
    /// replay, with its position, for a caller that saves snapshots (others drop it).
    pub fn compact(&self) -> Compacted {
        let _one_at_a_time = self
            .compaction
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (copy, position) = {
            // Under the write lock, so that no change falls between the copy and the journal,
            // and the position is that of the last change in the copy.
            let index = self.current.write().unwrap_or_else(PoisonError::into_inner);
            *self.journal.lock().unwrap_or_else(PoisonError::into_inner) = Some(Vec::new());
            (index.clone(), self.position.load(Ordering::Relaxed))
        };
        let mut compacted = copy.compacted();
        drop(copy);
        if self.lookup_tables.load(Ordering::Relaxed) && !compacted.pdq.has_lookup_tables() {
            compacted.pdq = compacted.pdq.with_lookup_tables();
        }
        // Cheap: the arrays (and lookup tables) are shared; the replay below only appends to
        // the live copy's fresh segment and sets its removal bits.
        let saved = compacted.clone();
        let mut index = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let journal = self
            .journal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .unwrap_or_default();
        for change in journal {
            compacted.apply(change);
        }
        *index = compacted;
        Compacted {
            index: saved,
            position,
        }
    }

    /// Runs [`SharedIndex::compact`] on a thread of its own.
    pub fn compact_in_background(self: &Arc<Self>) -> std::thread::JoinHandle<Compacted> {
        let shared = Arc::clone(self);
        std::thread::spawn(move || shared.compact())
    }
}
