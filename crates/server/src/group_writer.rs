//! Group commit: one task writes, in one transaction, what many requests are waiting on, then
//! answers each of them.
//!
//! A request that must not be answered before its write is on disk (a lookup's audit row, a
//! report) pays for a commit, and a database commits only a few hundred times a second when
//! each commit syncs the disk. Writing each request's rows in a transaction of its own would
//! cap the server there. Instead one task takes every item that is waiting, writes them
//! together and answers each waiter with its own outcome. Under load the groups grow by
//! themselves (while one commits, the next gathers); a lone request waits for nothing but its
//! own commit. The write function answers after its commit, so no waiter hears "stored"
//! before it is.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

type Waiting<T, A> = (T, oneshot::Sender<A>);

/// The handle requests submit through; cheap to clone.
pub struct GroupWriter<T, A> {
    sender: mpsc::Sender<Waiting<T, A>>,
}

impl<T, A> Clone for GroupWriter<T, A> {
    fn clone(&self) -> Self {
        Self {
            sender: self.sender.clone(),
        }
    }
}

impl<T, A> std::fmt::Debug for GroupWriter<T, A> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("GroupWriter")
            .field(
                "waiting",
                &(self.sender.max_capacity() - self.sender.capacity()),
            )
            .finish()
    }
}

impl<T: Send + 'static, A: Send + 'static> GroupWriter<T, A> {
    /// Starts the writer task on the current runtime; it ends when the last handle is dropped.
    /// `write` gets up to `max_group` items in the order they came and returns one answer for
    /// each, in the same order. At most `queue` items wait; past that, submitters wait for
    /// room, which slows callers down instead of letting memory grow.
    pub fn start<W, F>(max_group: usize, queue: usize, mut write: W) -> Self
    where
        W: FnMut(Vec<T>) -> F + Send + 'static,
        F: Future<Output = Vec<A>> + Send,
    {
        let (sender, mut receiver) = mpsc::channel::<Waiting<T, A>>(queue);
        tokio::spawn(async move {
            let mut group = Vec::with_capacity(max_group);
            while receiver.recv_many(&mut group, max_group).await > 0 {
                let (items, waiters): (Vec<T>, Vec<_>) = group.drain(..).unzip();
                let answers = write(items).await;
                for (waiter, answer) in waiters.into_iter().zip(answers) {
                    // A request that gave up (its client went away) no longer listens.
                    let _ = waiter.send(answer);
                }
            }
        });
        Self { sender }
    }

    /// Submits an item and waits for its answer; `None` if the writer has stopped (or gave
    /// this item no answer, which a correct `write` never does).
    pub async fn submit(&self, item: T) -> Option<A> {
        let (answer, answered) = oneshot::channel();
        self.sender.send((item, answer)).await.ok()?;
        answered.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::GroupWriter;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_waiter_gets_its_own_answer() {
        let writer = GroupWriter::start(8, 64, |items: Vec<u32>| async move {
            items.into_iter().map(|item| item * 10).collect()
        });
        let waiters: Vec<_> = (0..100u32)
            .map(|item| {
                let writer = writer.clone();
                tokio::spawn(async move { (item, writer.submit(item).await) })
            })
            .collect();
        for waiter in waiters {
            let (item, answer) = waiter.await.unwrap();
            assert_eq!(answer, Some(item * 10));
        }
    }
}
