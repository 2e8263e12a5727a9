//! The PostgreSQL the tests use, and a schema of its own for each of them.

use std::sync::Arc;

use runner_core::store::Store;
use uuid::Uuid;

/// The PostgreSQL the tests use: `RUNNER_TEST_POSTGRES_URL`, by default the local server with
/// trust authentication.
pub fn postgres_url() -> String {
    std::env::var("RUNNER_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema of its own on the test PostgreSQL, so that parallel runs and tests never collide.
pub struct PgSchema {
    admin: sqlx::postgres::PgConnectOptions,
    pub name: String,
}

impl PgSchema {
    /// A fresh schema, or `None` (with one line on stderr saying why) when no PostgreSQL is
    /// reachable. With `RUNNER_TEST_REQUIRE_POSTGRES=1` (CI) an unreachable server fails the
    /// test instead.
    pub async fn create(test: &str) -> Option<Self> {
        use std::str::FromStr;
        let url = postgres_url();
        let attempt = async {
            let admin = sqlx::postgres::PgConnectOptions::from_str(&url).map_err(|e| e.to_string())?;
            let mut conn = sqlx::ConnectOptions::connect(&admin).await.map_err(|e| e.to_string())?;
            let name = format!("test_{}", Uuid::new_v4().simple());
            sqlx::query(&format!("CREATE SCHEMA {name}")).execute(&mut conn).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(Self { admin, name })
        };
        match tokio::time::timeout(std::time::Duration::from_secs(10), attempt).await {
            Ok(Ok(schema)) => Some(schema),
            Ok(Err(why)) => Self::unavailable(test, &url, &why),
            Err(_) => Self::unavailable(test, &url, "timed out connecting"),
        }
    }

    fn unavailable(test: &str, url: &str, why: &str) -> Option<Self> {
        if std::env::var("RUNNER_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
            panic!("{test}: PostgreSQL is required (RUNNER_TEST_REQUIRE_POSTGRES=1) but {url} is unreachable: {why}");
        }
        eprintln!("PostgreSQL suite SKIPPED ({test}): {url} is unreachable: {why}; set RUNNER_TEST_POSTGRES_URL");
        None
    }

    /// Connection options whose `search_path` is this schema.
    pub fn options(&self) -> sqlx::postgres::PgConnectOptions {
        self.admin.clone().options([("search_path", self.name.as_str())])
    }

    /// A migrated store on this schema; each call is another "replica" with its own pool.
    pub async fn store(&self) -> Arc<dyn Store> {
        Arc::new(crate::postgres::PostgresStore::open_with(self.options()).await.unwrap())
    }

    /// Removes the schema and everything in it.
    pub async fn drop_schema(self) {
        let mut conn = sqlx::ConnectOptions::connect(&self.admin).await.unwrap();
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name)).execute(&mut conn).await.unwrap();
    }
}
