//! Hot reads on SQLite without a thread hop. sqlx runs every SQLite connection on its own
//! worker thread and hands each query, and each row back, over channels: one read costs two
//! context switches and a copy of every value, which on the hottest calls (GetRunner's runner,
//! ListRunners' page) cost more than the reads themselves (docs/performance.md). These readers
//! are plain rusqlite connections, opened read-only on the same file and used inline by the
//! calling task, with their prepared statements cached: an indexed read of one row or one page
//! in a WAL database takes microseconds and never waits on a writer (a WAL reader sees the last
//! commit and takes no lock a writer holds). Writes, and every other read, stay on sqlx.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use runner_core::store::StoreError;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Params, Row};

use crate::rows::RunnerRow;
use crate::sql_store::SqlText;

/// Idle connections kept; more are opened when needed and closed after use.
const MAX_IDLE: usize = 8;
/// A reader waits this long for the rare lock it can meet (WAL recovery after a crash).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A small pool of read-only connections to one database file.
#[derive(Debug)]
pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub(crate) fn new(path: &Path) -> Self {
        Self { path: path.to_owned(), idle: Mutex::new(Vec::new()) }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(&self.path, flags)?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        connection.set_prepared_statement_cache_capacity(32);
        Ok(connection)
    }

    /// Every row of `select`, as `map` makes them; `expected`: how many rows to make room for.
    pub(crate) fn all<T>(
        &self,
        select: &Select,
        expected: usize,
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        self.with(|connection| {
            let mut statement = connection.prepare_cached(&select.text)?;
            let rows = statement.query_map(rusqlite::params_from_iter(&select.values), map)?;
            // Sized for the rows expected (a page's limit): no growing on the way.
            let mut all = Vec::with_capacity(expected);
            for row in rows {
                all.push(row?);
            }
            Ok(all)
        })
    }

    /// At most one row of `sql` (a cached prepared statement) with `params`, as `map` makes it.
    pub(crate) fn optional<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>, StoreError> {
        self.with(|connection| connection.prepare_cached(sql)?.query_row(params, map).optional())
    }

    /// Runs `read` on an idle connection (or a new one), then keeps it for the next read.
    fn with<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let connection = match idle {
            Some(c) => c,
            None => self.open().map_err(map_error)?,
        };
        let result = read(&connection);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(connection);
        }
        result.map_err(map_error)
    }
}

/// A statement with `?` placeholders and their values, built by the same code that builds the
/// sqlx queries ([`SqlText`]).
#[derive(Debug)]
pub(crate) struct Select {
    text: String,
    values: Vec<Value>,
}

impl Select {
    pub(crate) fn new(text: String) -> Self {
        Self { text, values: Vec::new() }
    }

    fn push_bind(&mut self, value: Value) -> &mut Self {
        self.text.push('?');
        self.values.push(value);
        self
    }
}

impl SqlText for Select {
    fn text(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }
    fn bind_text(&mut self, value: String) -> &mut Self {
        self.push_bind(value.into())
    }
    fn bind_int(&mut self, value: i64) -> &mut Self {
        self.push_bind(value.into())
    }
}

/// Busy or locked (after the timeout) is `Unavailable`, as on the sqlx path.
fn map_error(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable("database is busy".to_owned())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

impl RunnerRow {
    /// The row of `crate::sql_store::SELECT_RUNNER` (and `SELECT_RUNNERS_WHERE`), by position (a lookup by name compares every
    /// column's name).
    pub(crate) fn from_rusqlite(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            org_id: row.get(1)?,
            name: row.get(2)?,
            kind: row.get(3)?,
            provider: row.get(4)?,
            runner_manager_id: row.get(5)?,
            creator_id: row.get(6)?,
            creator_principal: row.get(7)?,
            spec: row.get(8)?,
            status: row.get(9)?,
            created_at: row.get(10)?,
            updated_at: row.get(11)?,
            revision: row.get(12)?,
            spec_proto: row.get(13)?,
            status_proto: row.get(14)?,
        })
    }
}
