//! The processes under load: the server under test (started with the test kit's
//! `ServerProcess`, like the benchmark's ceiling server), and what `/proc` says about them.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;
use runner_testkit::ServerProcess;

/// The runner-server binary on `database_url`, with its key file in `dir`, `RUST_LOG=log` and
/// the C library's settings the server is deployed with ([`deployed_libc_env`]).
pub fn runner_server(bin: &Path, database_url: &str, dir: &Path, log: &str) -> Command {
    let mut command = ServerProcess::command(bin, database_url, &dir.join("server.key"));
    command.env("RUST_LOG", log).envs(deployed_libc_env());
    command
}

/// The systemd unit's settings of glibc (`MALLOC_*`, such as the arena cap), which the Dockerfile
/// and the Kubernetes manifest repeat (the packaging test checks that they agree): the server
/// under load runs as it is deployed.
pub fn deployed_libc_env() -> impl Iterator<Item = (&'static str, &'static str)> {
    include_str!("../../../deploy/systemd/runner-server.service")
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .filter_map(|setting| setting.split_once('='))
        .filter(|(name, _)| name.starts_with("MALLOC_"))
}

/// One reading of a process's `/proc` entries.
#[derive(Debug, Clone, Copy)]
pub struct ProcStat {
    pub rss_kib: u64,
    /// Peak RSS so far (`VmHWM`).
    pub peak_rss_kib: u64,
    pub fds: u64,
    /// User plus system CPU time consumed so far.
    pub cpu: Duration,
    /// The same of its children that ended and were waited for.
    pub children_cpu: Duration,
}

pub fn proc_stat(pid: u32) -> anyhow::Result<ProcStat> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("the process is gone")?;
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .with_context(|| format!("no {key} in /proc/{pid}/status"))
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).context("reading /proc/PID/fd")?.count() as u64;
    // Fields 14 and 15 of /proc/PID/stat (utime, stime) in clock ticks, counted after the
    // parenthesised command name, which may itself hold spaces.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).context("the process is gone")?;
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).context("malformed /proc/PID/stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).context("malformed /proc/PID/stat");
    // After the name, field 3 (state) is at index 0, so utime (14) is at 11 and stime at 12.
    let total_ticks = ticks(11)? + ticks(12)?;
    // USER_HZ: 100 on every Linux architecture (the kernel's ABI for /proc, whatever CONFIG_HZ).
    let per_second = 100u64;
    Ok(ProcStat {
        rss_kib: kib("VmRSS:")?,
        peak_rss_kib: kib("VmHWM:")?,
        fds,
        cpu: Duration::from_micros(total_ticks * 1_000_000 / per_second),
        // cutime (16) and cstime (17).
        children_cpu: Duration::from_micros((ticks(13)? + ticks(14)?) * 1_000_000 / per_second),
    })
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Nearest-rank percentile of sorted latencies in microseconds, in milliseconds.
pub fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    f64::from(sorted_us[rank.clamp(1, sorted_us.len()) - 1]) / 1000.0
}

/// A fresh temporary directory for one run's database, logs and files.
pub fn temp_dir(prefix: &str) -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Removes a run's directory, unless asked to keep it or the run failed (then says where it is).
pub fn finish<T>(dir: &Path, keep: bool, result: anyhow::Result<T>) -> anyhow::Result<T> {
    if keep || result.is_err() {
        println!("kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

/// The PostgreSQL runs of a benchmark (`bench`, `watchers`): made when asked for, or when
/// PostgreSQL answers (always under `RUNNER_TEST_REQUIRE_POSTGRES=1`).
#[derive(clap::Args)]
pub struct PostgresArgs {
    /// Also the runs on PostgreSQL, and fail if it does not answer: the `bench` rows
    /// (GetRunner, ListRunners and CreateRunner over gRPC at c=64, one replica and two) and the
    /// `watchers` run across two replicas.
    #[arg(long)]
    pub postgres: bool,
    /// The PostgreSQL server for those runs: a database is created there and dropped after.
    #[arg(long, env = "RUNNER_TEST_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub postgres_url: String,
}

/// A database of its own on a PostgreSQL server, created for one run and dropped after it.
pub struct FreshDatabase {
    admin: sqlx::PgConnection,
    /// Its name.
    pub name: String,
    /// Its URL: the server's URL with this database's name.
    pub url: String,
}

impl FreshDatabase {
    /// Creates one on the server of `args.postgres_url` (a URL naming any database there).
    /// `None` when the server does not answer and the run did not ask for PostgreSQL
    /// (`--postgres`, or `RUNNER_TEST_REQUIRE_POSTGRES=1`): then it says so on stdout, naming
    /// `what` it skips.
    pub async fn create(args: &PostgresArgs, what: &str) -> anyhow::Result<Option<Self>> {
        use sqlx::ConnectOptions as _;
        use std::str::FromStr as _;
        let server_url = args.postgres_url.as_str();
        let required = args.postgres || std::env::var("RUNNER_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
        let options = sqlx::postgres::PgConnectOptions::from_str(server_url)?;
        let mut admin = match tokio::time::timeout(Duration::from_secs(10), options.connect()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) if !required => {
                println!("{what} skipped: {server_url} does not answer ({e})");
                return Ok(None);
            }
            Err(_) if !required => {
                println!("{what} skipped: {server_url} does not answer");
                return Ok(None);
            }
            Ok(Err(e)) => return Err(e).with_context(|| format!("connecting to PostgreSQL for {what}")),
            Err(_) => anyhow::bail!("connecting to PostgreSQL at {server_url} timed out"),
        };
        let name = format!("runner_bench_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
        let (base, query) = server_url.split_once('?').unwrap_or((server_url, ""));
        let (server_part, _) = base.rsplit_once('/').context("a PostgreSQL URL names a database")?;
        let url =
            if query.is_empty() { format!("{server_part}/{name}") } else { format!("{server_part}/{name}?{query}") };
        Ok(Some(Self { admin, name, url }))
    }

    /// Drops it, ending its connections; says so if it cannot.
    pub async fn drop_database(mut self) {
        if let Err(e) = sqlx::query(&format!("DROP DATABASE {} WITH (FORCE)", self.name)).execute(&mut self.admin).await
        {
            println!("could not drop the benchmark's database {}: {e}", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_server_under_load_gets_the_deployed_arena_cap() {
        assert_eq!(super::deployed_libc_env().collect::<Vec<_>>(), [("MALLOC_ARENA_MAX", "2")]);
    }
}
