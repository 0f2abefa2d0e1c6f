//! Group commit of the audit entries of reads (lookups, sign-ins).
//!
//! Every lookup is a sensitive read and gets its row in the hash-chained audit log before it is
//! answered. Rows of one chain are appended in turn, so one transaction a lookup would cap the
//! server at the database's commit rate (a few hundred a second on PostgreSQL). The entries go
//! through a [`GroupWriter`]: one task appends every waiting entry in one transaction and then
//! answers each waiting request. No lookup is answered before its row is stored: a failed
//! append fails the requests of its group.

use vigie_store::{NewAuditEntry, Store};

use crate::error::ApiError;
use crate::group_writer::GroupWriter;

/// The most entries one transaction appends.
const MAX_GROUP: usize = 4_096;

/// Entries waiting for the writer at most.
const QUEUE: usize = 65_536;

/// The handle requests append through.
#[derive(Debug, Clone)]
pub struct AuditWriter {
    writer: GroupWriter<NewAuditEntry, bool>,
}

impl AuditWriter {
    /// Starts the writer task on the current runtime. It ends when the last handle is dropped.
    pub fn start(store: Store) -> Self {
        let writer = GroupWriter::start(MAX_GROUP, QUEUE, move |entries: Vec<NewAuditEntry>| {
            let store = store.clone();
            async move {
                let stored = match store.append_audits(&entries).await {
                    Ok(_) => true,
                    Err(error) => {
                        tracing::error!(%error, entries = entries.len(), "appending to the audit log");
                        false
                    }
                };
                vec![stored; entries.len()]
            }
        });
        Self { writer }
    }

    /// Appends an entry, returning once it is stored.
    pub async fn append(&self, entry: NewAuditEntry) -> Result<(), ApiError> {
        match self.writer.submit(entry).await {
            Some(true) => Ok(()),
            // The writer logged the store's error; the caller only learns it failed.
            Some(false) => Err(ApiError::internal("appending to the audit log failed")),
            None => Err(ApiError::internal("the audit writer has stopped")),
        }
    }
}
