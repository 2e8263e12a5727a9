//! The one mapping from database errors to [`StoreError`].

use runner_core::store::StoreError;

/// SQLite result codes that mean "try again later".
const SQLITE_BUSY: &str = "5";
const SQLITE_LOCKED: &str = "6";

pub(crate) fn map(e: sqlx::Error) -> StoreError {
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

pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("corrupt {what} in storage: {detail}"))
}
