//! Group commit: many concurrent writes of one kind committed by one transaction, so that they
//! share its `fsync`. A commit on SQLite with `synchronous = FULL` costs one flush of the WAL
//! (about 0.7 ms on our disks), and SQLite commits one transaction at a time, so writers that
//! each commit alone top out near 1,400 per second however many there are. Here a single task
//! takes every write waiting in the queue, writes them all in one transaction, commits it, and
//! only then answers each caller: a write is still acknowledged only once it is on disk, and
//! the batch grows by itself with the load (whatever arrived during the previous commit).

use std::future::Future;

use runner_core::store::StoreError;
use tokio::sync::{mpsc, oneshot};

/// Writes per transaction at most.
pub(crate) const MAX_BATCH: usize = 256;

type Job<T> = (T, oneshot::Sender<Result<(), StoreError>>);

/// The queue in front of the one task that commits writes of `T`.
#[derive(Debug)]
pub(crate) struct GroupCommit<T> {
    queue: mpsc::UnboundedSender<Job<T>>,
}

impl<T: Send + 'static> GroupCommit<T> {
    /// Starts the committing task. `write` commits a batch and returns one result per item, in
    /// order; it is expected to write every item, or none.
    pub(crate) fn spawn<F, Fut>(write: F) -> Self
    where
        F: Fn(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<Result<(), StoreError>>> + Send,
    {
        let (queue, mut jobs) = mpsc::unbounded_channel::<Job<T>>();
        tokio::spawn(async move {
            // Ends when every sender (every clone of the store) is gone and the queue is empty.
            while let Some(first) = jobs.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match jobs.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                let (items, replies): (Vec<T>, Vec<_>) = batch.into_iter().unzip();
                let results = write(items).await;
                debug_assert_eq!(results.len(), replies.len());
                for (reply, result) in replies.into_iter().zip(results) {
                    // The caller may have gone (its request was cancelled); the write stands.
                    let _ = reply.send(result);
                }
            }
        });
        Self { queue }
    }

    /// Queues `item` and waits until its transaction committed (or failed).
    pub(crate) async fn submit(&self, item: T) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((item, reply)).map_err(|_| StoreError::Unavailable("the store is shutting down".to_owned()))?;
        answer.await.map_err(|_| StoreError::Unavailable("the write was abandoned".to_owned()))?
    }
}
