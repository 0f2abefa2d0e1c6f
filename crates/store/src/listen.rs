//! Being woken when the change log grows, so that replicas apply a change at once instead of at
//! their next poll.
//!
//! On PostgreSQL every transaction that appends to the change log sends `NOTIFY vigie_changes`
//! (its payload the log's last sequence number), which the server delivers at commit to every
//! connection listening, in any process. On SQLite the store's handles in one process share a
//! `watch` channel, signalled after each such commit; another process writing the same file
//! (a `vigie bank import` beside `vigie serve`) wakes no one, which is why a listener is an
//! addition to polling, never a replacement.

use std::sync::Arc;

use sqlx::postgres::PgListener;
use tokio::sync::watch;

use crate::StoreError;

/// The channel PostgreSQL notifies on.
pub(crate) const CHANNEL: &str = "vigie_changes";

/// Waits for writes to the change log. Made by [`crate::Store::change_listener`].
#[derive(Debug)]
pub struct ChangeListener {
    listening: Listening,
}

#[derive(Debug)]
enum Listening {
    Sqlite {
        changed: watch::Receiver<()>,
        /// Kept so that the channel stays open, and `changed` never fails, for as long as this
        /// listener lives, even if every store handle is dropped.
        _signal: Arc<watch::Sender<()>>,
    },
    Postgres(PgListener),
}

impl ChangeListener {
    /// Listens on the SQLite store's in-process signal; only changes committed from now on wake.
    pub(crate) fn sqlite(signal: &Arc<watch::Sender<()>>) -> ChangeListener {
        ChangeListener {
            listening: Listening::Sqlite {
                changed: signal.subscribe(),
                _signal: Arc::clone(signal),
            },
        }
    }

    /// Listens on a connection of its own, taken from the pool's settings.
    pub(crate) async fn postgres(pool: &sqlx::PgPool) -> Result<ChangeListener, StoreError> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(ChangeListener {
            listening: Listening::Postgres(listener),
        })
    }

    /// Returns when a change may have been written since the last call (or since the listener
    /// was made). Wake-ups can be spurious: after a lost PostgreSQL connection is re-established
    /// it returns at once, since notifications sent meanwhile are lost. An error means the
    /// database cannot be reached; make a new listener later.
    pub async fn changed(&mut self) -> Result<(), StoreError> {
        match &mut self.listening {
            Listening::Sqlite { changed, .. } => {
                // Cannot fail: this listener holds a sender, so the channel is open.
                let _ = changed.changed().await;
                Ok(())
            }
            Listening::Postgres(listener) => {
                // `None` is a connection lost and made again (on the next call).
                listener.try_recv().await?;
                Ok(())
            }
        }
    }
}
