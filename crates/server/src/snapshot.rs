//! The replica's snapshot file: a cache of its index as of a prefix of the change log, so that
//! a start-up maps the index and reads only the tail of the log instead of all of it.
//!
//! The log is the truth. A snapshot holds the index as it was after the change with sequence
//! number `seq` and none after (the compacted copy [`vigie_index::SharedIndex::compact`]
//! returns, with its position), so the snapshot followed by the log's rows after `seq` is the
//! same index as the whole log. Its payload records `seq` and the store's identity
//! ([`vigie_store::Store::store_id`]). A snapshot is used only when it checks out (the index
//! crate verifies every checksum), is of this store, and is not ahead of the store's log;
//! otherwise the replica says why and loads from the log, as it does without one.
//!
//! Each replica keeps its own file (PostgreSQL replicas share nothing else); it is written
//! after start-up unless it already holds exactly the loaded state, and after every
//! compaction, off the async threads, and replaced atomically (`SignalIndex::save`).
//!
//! A database restored from a copy keeps its identity: if its log grows past the snapshot's
//! `seq` again before the replica restarts, the snapshot would be taken for a prefix of the new
//! log. Delete the snapshot files when restoring a database.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use vigie_index::{Compacted, SignalIndex, SnapshotError};

/// What a snapshot's payload records beside the index.
#[derive(Debug, Serialize, Deserialize)]
struct Tag {
    /// The store whose log the index is a prefix of.
    store_id: String,
    /// The sequence number of the last change in the index.
    seq: i64,
}

/// Why a replica did not start from its snapshot.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// There is no snapshot yet (a first start).
    #[error("{0}: no snapshot yet")]
    Missing(PathBuf),
    /// The file is not a sound snapshot: unreadable, truncated, altered.
    #[error("{0}")]
    Unreadable(SnapshotError),
    /// A sound snapshot whose payload is not what a replica writes.
    #[error("{path}: the snapshot's payload is not a replica's ({reason})")]
    UnknownPayload {
        /// The file.
        path: PathBuf,
        /// Why the payload does not parse.
        reason: String,
    },
    /// A snapshot of another database's index.
    #[error("{path}: a snapshot of store {theirs}, and this is store {ours}")]
    OtherStore {
        /// The file.
        path: PathBuf,
        /// The store it was made from.
        theirs: String,
        /// The store this replica serves.
        ours: String,
    },
    /// A snapshot of changes the store does not have (a database restored from an older copy).
    #[error("{path}: a snapshot up to change {seq}, past the store's last change {last}")]
    Ahead {
        /// The file.
        path: PathBuf,
        /// The last change in the snapshot.
        seq: i64,
        /// The last change in the store.
        last: i64,
    },
}

/// A replica's snapshot file, for one store.
#[derive(Debug)]
pub struct SnapshotFile {
    path: PathBuf,
    store_id: String,
    /// The sequence the file holds (-1 when unknown), under a lock held while writing, so that
    /// two writes never share the temporary file and an older state never replaces a newer.
    written: Mutex<i64>,
}

impl SnapshotFile {
    /// The snapshot at `path` of the store with this identity.
    pub fn new(path: PathBuf, store_id: String) -> Self {
        Self {
            path,
            store_id,
            written: Mutex::new(-1),
        }
    }

    /// Maps the snapshot, if the replica of a store whose log ends at `last_change` can start
    /// from it: the index and the sequence of its last change. Blocking: every byte of the
    /// file is read to check it.
    pub fn load(&self, last_change: i64) -> Result<(SignalIndex, i64), Refusal> {
        let snapshot = SignalIndex::load(&self.path).map_err(|error| match error {
            SnapshotError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Refusal::Missing(self.path.clone())
            }
            other => Refusal::Unreadable(other),
        })?;
        let tag: Tag = serde_json::from_slice(snapshot.payload()).map_err(|error| {
            Refusal::UnknownPayload {
                path: self.path.clone(),
                reason: error.to_string(),
            }
        })?;
        if tag.store_id != self.store_id {
            return Err(Refusal::OtherStore {
                path: self.path.clone(),
                theirs: tag.store_id,
                ours: self.store_id.clone(),
            });
        }
        if tag.seq > last_change {
            return Err(Refusal::Ahead {
                path: self.path.clone(),
                seq: tag.seq,
                last: last_change,
            });
        }
        *self.written.lock().unwrap_or_else(PoisonError::into_inner) = tag.seq;
        Ok((snapshot.index, tag.seq))
    }

    /// Writes a compacted index as the snapshot of the changes up to its position, unless the
    /// file already holds that state or a later one. Blocking: run it off the async threads.
    /// A failure is logged, not returned: without a snapshot the next start reads the log.
    pub fn write(&self, compacted: &Compacted) {
        let seq = compacted.position as i64;
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        if seq <= *written {
            return;
        }
        let tag = Tag {
            store_id: self.store_id.clone(),
            seq,
        };
        let payload = serde_json::to_vec(&tag).expect("a tag serialises");
        match compacted.index.save(&self.path, &payload) {
            Ok(()) => {
                *written = seq;
                tracing::info!(path = %self.path.display(), seq, "index snapshot written");
            }
            Err(error) => tracing::warn!(%error, "writing the index snapshot"),
        }
    }
}
