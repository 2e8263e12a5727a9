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
use rusqlite::types::{FromSqlResult, Value, ValueRef};
use rusqlite::{Connection, OpenFlags, Params, Row};

use crate::error::{corrupt, map_rusqlite as map_error};
use crate::rows::RunnerFields;
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
        mut map: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        self.with(|connection| {
            let mut statement = connection.prepare_cached(&select.text).map_err(map_error)?;
            let mut rows = statement.query(rusqlite::params_from_iter(&select.values)).map_err(map_error)?;
            // Sized for the rows expected (a page's limit): no growing on the way.
            let mut all = Vec::with_capacity(expected);
            while let Some(row) = rows.next().map_err(map_error)? {
                all.push(map(row)?);
            }
            Ok(all)
        })
    }

    /// At most one row of `sql` (a cached prepared statement) with `params`, as `map` makes it.
    pub(crate) fn optional<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        self.with(|connection| {
            let mut statement = connection.prepare_cached(sql).map_err(map_error)?;
            let mut rows = statement.query(params).map_err(map_error)?;
            rows.next().map_err(map_error)?.map(map).transpose()
        })
    }

    /// Runs `read` on an idle connection (or a new one), then keeps it for the next read.
    fn with<T>(&self, read: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
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
        result
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

impl<'a> RunnerFields<'a> {
    /// The row of `crate::sql_store::SELECT_RUNNER` (and `SELECT_RUNNERS_WHERE`), by position (a
    /// lookup by name compares every column's name), borrowing its columns from the row.
    pub(crate) fn from_rusqlite(row: &'a Row<'_>) -> Result<Self, StoreError> {
        /// Column `i`, as `read` takes it from SQLite's value.
        fn column<'a, T>(
            row: &'a Row<'_>,
            i: usize,
            read: impl FnOnce(ValueRef<'a>) -> FromSqlResult<T>,
        ) -> Result<T, StoreError> {
            read(row.get_ref(i).map_err(map_error)?).map_err(|e| corrupt(&format!("runners column {i}"), e))
        }
        let text = |i| column(row, i, |v| v.as_str());
        let optional_text = |i| column(row, i, |v| v.as_str_or_null());
        let int = |i| column(row, i, |v| v.as_i64());
        Ok(Self {
            id: text(0)?,
            org_id: text(1)?,
            name: text(2)?.to_owned(),
            kind: text(3)?,
            provider: optional_text(4)?,
            runner_manager_id: optional_text(5)?,
            creator_id: optional_text(6)?,
            creator_principal: optional_text(7)?,
            spec: text(8)?,
            status: text(9)?,
            created_at: int(10)?,
            updated_at: int(11)?,
            revision: int(12)?,
            spec_proto: column(row, 13, |v| v.as_blob_or_null())?,
            status_proto: column(row, 14, |v| v.as_blob_or_null())?,
        })
    }
}
