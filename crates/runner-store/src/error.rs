//! The one mapping from database errors to [`StoreError`].

use runner_core::store::StoreError;

/// SQLite result codes that mean "try again later".
const SQLITE_BUSY: &str = "5";
const SQLITE_LOCKED: &str = "6";

/// SQLite errors: a unique violation is `AlreadyExists`, a busy or locked database (after the
/// busy timeout) and connection trouble are `Unavailable`.
pub(crate) fn map_sqlite(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                return StoreError::AlreadyExists;
            }
            // Extended codes keep the primary code in the low byte (SQLITE_BUSY_SNAPSHOT = 517, …).
            let primary = db.code().and_then(|c| c.parse::<i32>().ok()).map(|c| (c & 0xff).to_string());
            match primary.as_deref() {
                Some(SQLITE_BUSY | SQLITE_LOCKED) => StoreError::Unavailable("database is busy".to_owned()),
                _ => StoreError::Other(e.to_string()),
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

/// Errors of the rusqlite connections (`crate::sqlite_read`, `crate::sqlite_write`), as on the
/// sqlx path: busy or locked (after the timeout) is `Unavailable`.
pub(crate) fn map_rusqlite(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable("database is busy".to_owned())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("corrupt {what} in storage: {detail}"))
}

/// PostgreSQL errors, by SQLSTATE: 23505 (unique violation) is `AlreadyExists`; 40001
/// (serialization failure) and 40P01 (deadlock) are `Conflict`, which transactions retry;
/// class 08 (connection), 53 (insufficient resources), 57P01-57P03 (shutdown), a database
/// that does not accept connections (55000, 3D000) and pool trouble are `Unavailable`.
pub(crate) fn map_postgres(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("23505") => StoreError::AlreadyExists,
            Some("40001" | "40P01") => StoreError::Conflict,
            // 55000 and 3D000: the database does not accept connections (closed by an operator, or gone).
            Some(code)
                if code.starts_with("08")
                    || code.starts_with("53")
                    || code.starts_with("57P")
                    || code == "55000"
                    || code == "3D000" =>
            {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Other(e.to_string()),
        },
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}
