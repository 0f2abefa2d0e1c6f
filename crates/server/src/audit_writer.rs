//! Group commit of the audit entries of reads (lookups, sign-ins).
//!
//! Every lookup is a sensitive read and gets its row in the hash-chained audit log before it is
//! answered. Rows of one chain are appended in turn, so one transaction a lookup would cap the
//! server at the database's commit rate (a few hundred a second on PostgreSQL). Instead, a
//! single task takes every entry that is waiting, appends them in one transaction, and then
//! answers each waiting request. Under load the groups grow by themselves (while one commits,
//! the next one gathers), and a lone request waits for nothing but its own commit. No lookup
//! is answered before its row is stored: a failed append fails the requests of its group.

use tokio::sync::{mpsc, oneshot};
use vigie_store::{NewAuditEntry, Store};

use crate::error::ApiError;

/// The most entries one transaction appends.
const MAX_GROUP: usize = 4_096;

/// Entries waiting for the writer at most; past this, requests wait for room, which slows
/// callers down instead of letting memory grow.
const QUEUE: usize = 65_536;

type Waiting = (NewAuditEntry, oneshot::Sender<bool>);

/// The handle requests append through.
#[derive(Debug, Clone)]
pub struct AuditWriter {
    sender: mpsc::Sender<Waiting>,
}

impl AuditWriter {
    /// Starts the writer task on the current runtime. It ends when the last handle is dropped.
    pub fn start(store: Store) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_groups(store, receiver));
        Self { sender }
    }

    /// Appends an entry, returning once it is stored.
    pub async fn append(&self, entry: NewAuditEntry) -> Result<(), ApiError> {
        let (stored, was_stored) = oneshot::channel();
        self.sender
            .send((entry, stored))
            .await
            .map_err(|_| ApiError::internal("the audit writer has stopped"))?;
        match was_stored.await {
            Ok(true) => Ok(()),
            // The writer logged the store's error; the caller only learns it failed.
            Ok(false) => Err(ApiError::internal("appending to the audit log failed")),
            Err(_) => Err(ApiError::internal("the audit writer has stopped")),
        }
    }
}

async fn write_groups(store: Store, mut receiver: mpsc::Receiver<Waiting>) {
    let mut group: Vec<Waiting> = Vec::with_capacity(MAX_GROUP);
    while receiver.recv_many(&mut group, MAX_GROUP).await > 0 {
        let (entries, waiters): (Vec<NewAuditEntry>, Vec<_>) = group.drain(..).unzip();
        let stored = match store.append_audits(&entries).await {
            Ok(_) => true,
            Err(error) => {
                tracing::error!(%error, entries = entries.len(), "appending to the audit log");
                false
            }
        };
        for waiting in waiters {
            // A request that gave up (its client went away) no longer listens; that is fine.
            let _ = waiting.send(stored);
        }
    }
}
