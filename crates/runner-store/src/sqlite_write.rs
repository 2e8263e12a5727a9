//! UpdateRunner on SQLite in one hop. On sqlx, its transaction is four round trips to the
//! connection's worker thread (BEGIN IMMEDIATE, the UPDATE, the audit entry, COMMIT), and
//! between them the calling task must be scheduled again: while it waits for a busy runtime, it
//! holds SQLite's one write lock, and every other write waits behind it. Under load (1,000
//! watchers of every write, say) that wait, not the disk, set the write rate
//! (docs/performance.md). Here one thread of its own owns a rusqlite connection and runs each
//! write's whole transaction as one job: the write lock is held for SQLite's work and the
//! commit's flush only. Jobs run in the order they come; a caller that goes away does not undo
//! its write.

use std::path::Path;
use std::sync::mpsc;

use runner_core::model::ApiEnum;
use runner_core::store::StoreError;
use rusqlite::{Connection, OpenFlags};

use crate::error::map_rusqlite;
use crate::sqlite::BUSY_TIMEOUT;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The thread that runs write transactions on its own connection to one database file. It ends,
/// closing the connection, when the last store clone holding it is dropped.
#[derive(Debug)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Opens a connection to the database at `path` (which exists: sqlx made and migrated it)
    /// with sqlx's settings (WAL, `synchronous = FULL`, foreign keys on), and starts its thread.
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut connection = Connection::open_with_flags(path, flags).map_err(map_rusqlite)?;
        connection
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(map_rusqlite)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(map_rusqlite)?;
        connection.set_prepared_statement_cache_capacity(16);
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || {
                for job in queue {
                    job(&mut connection);
                }
            })
            .map_err(|e| StoreError::Other(format!("cannot start the SQLite writer thread: {e}")))?;
        Ok(Self { jobs })
    }

    /// Runs `write` on the writer's connection, after the writes queued before it.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        write: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |connection| {
            // A panic would end the thread and every write after it: it becomes this write's error
            // (a transaction it left open was rolled back as it unwound).
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write(connection).map_err(map_rusqlite)))
                    .unwrap_or_else(|_| Err(StoreError::Other("the write panicked".to_owned())));
            // The caller may have gone (its request was cancelled); the write stands.
            let _ = reply.send(result);
        });
        self.jobs.send(job).map_err(|_| StoreError::Unavailable("the store is shutting down".to_owned()))?;
        answer.await.map_err(|_| StoreError::Unavailable("the write was abandoned".to_owned()))?
    }
}

/// Inserts the audit log entry `e` (`crate::sql_store::INSERT_AUDIT`, bound as the sqlx path
/// binds it) in the writer's transaction.
pub(crate) fn insert_audit(connection: &Connection, e: &runner_core::audit::AuditEntry) -> rusqlite::Result<()> {
    connection.prepare_cached(crate::sql_store::INSERT_AUDIT)?.execute(rusqlite::params![
        e.id.to_string(),
        e.org_id.to_string(),
        e.actor.map(|(id, _)| id.to_string()),
        e.actor.map(|(_, p)| p.as_str()),
        e.subject.map(|(id, _)| id.to_string()),
        e.subject.map(|(_, t)| t.as_str()),
        e.action,
        e.kind.as_str(),
        e.created_at.0,
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> (tempfile::TempDir, Writer) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        Connection::open(&path).unwrap().execute_batch("CREATE TABLE t (n INTEGER NOT NULL)").unwrap();
        let writer = Writer::open(&path).unwrap();
        (dir, writer)
    }

    /// The writer's connection is as durable as sqlx's: WAL, a flush at every commit, foreign
    /// keys enforced.
    #[tokio::test]
    async fn the_writer_connection_has_the_stores_settings() {
        let (_dir, writer) = writer();
        let settings = writer
            .run(|c| {
                let int = |name: &str| c.query_row(&format!("PRAGMA {name}"), [], |row| row.get::<_, i64>(0));
                let journal = c.query_row("PRAGMA journal_mode", [], |row| row.get::<_, String>(0))?;
                Ok((journal, int("synchronous")?, int("foreign_keys")?))
            })
            .await
            .unwrap();
        // synchronous 2: FULL.
        assert_eq!(settings, ("wal".to_owned(), 2, 1));
    }

    /// A write that panics is that write's error; the writes after it still run.
    #[tokio::test]
    async fn a_panicking_write_fails_alone() {
        let (_dir, writer) = writer();
        let failed = writer
            .run(|c| -> rusqlite::Result<()> {
                c.execute("INSERT INTO t (n) VALUES (1)", [])?;
                panic!("a bug");
            })
            .await;
        assert!(matches!(&failed, Err(StoreError::Other(m)) if m.contains("panicked")), "{failed:?}");
        let n = writer
            .run(|c| {
                c.execute("INSERT INTO t (n) VALUES (2)", [])?;
                c.query_row("SELECT COUNT(*) FROM t", [], |row| row.get::<_, i64>(0))
            })
            .await
            .unwrap();
        // The panicking write ran outside a transaction, so its insert stands: only its answer
        // was lost, not the thread.
        assert_eq!(n, 2);
    }

    /// Writes run in the order they were queued, and a write whose caller went away still lands.
    #[tokio::test]
    async fn writes_run_in_order_and_outlive_their_callers() {
        let (_dir, writer) = writer();
        // Queued at its first poll, then dropped before its answer (it comes from another thread).
        let _ = futures::FutureExt::now_or_never(writer.run(|c| c.execute("INSERT INTO t (n) VALUES (1)", [])));
        let queued: Vec<_> =
            (2..=50).map(|n| writer.run(move |c| c.execute("INSERT INTO t (n) VALUES (?)", [n]))).collect();
        for write in futures::future::join_all(queued).await {
            assert_eq!(write.unwrap(), 1);
        }
        let order = writer
            .run(|c| {
                let mut s = c.prepare("SELECT n FROM t ORDER BY rowid")?;
                s.query_map([], |row| row.get::<_, i64>(0))?.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await
            .unwrap();
        assert_eq!(order, (1..=50).collect::<Vec<i64>>(), "{order:?}");
    }
}
