//! `runner-load`: seeds a database with many runners, and soaks a real `runner-server` binary
//! with mixed traffic over every protocol, reporting errors, latency, memory and file
//! descriptors. See docs/soak.md.

mod bench;
mod ceiling;
mod client;
mod process;
mod soak;
mod watchers;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use runner_core::accounts::Accounts;
use runner_core::authz::Visibility;
use runner_core::identity::OrgRole;
use runner_core::model::{Principal, RunnerFilter, Subject};
use uuid::Uuid;

#[derive(Parser)]
#[command(name = "runner-load", about = "Seeding and soak testing of the runner API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Seeds runners into a database in bulk, before a server opens it. On an empty database
    /// it first creates the `default` organization and its `admin` (as the server's first
    /// start would); it prints an admin token either way.
    Seed {
        /// `sqlite://PATH` or `postgres://…`.
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 100_000)]
        count: usize,
    },
    /// Starts the server binary on a seeded database and runs mixed traffic against it.
    Soak(SoakArgs),
    /// The performance benchmark (docs/performance.md): our server against a static-answer
    /// ceiling server, each pinned to one core, driven by h2load from another.
    Bench(BenchArgs),
    /// The WatchEvents benchmark (docs/performance.md): many watchers on one server, the
    /// server's RSS per idle watcher, write throughput without and with them, delivery latency
    /// under a paced write rate.
    Watchers(watchers::WatchersArgs),
    /// The benchmark's ceiling server: canned answers from a manifest written by `bench`.
    Ceiling {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        /// A JSON list of {path, grpc, content_type, body_file}.
        #[arg(long)]
        manifest: PathBuf,
    },
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// The `runner-server` binary to measure.
    #[arg(long)]
    pub server_bin: PathBuf,
    /// Runners to seed into a fresh temporary SQLite database.
    #[arg(long, default_value_t = 100_000)]
    pub runners: usize,
    /// How long each row is measured.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// An unmeasured run before each measured one.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub warm_up: Duration,
    /// The CPU (taskset list) for the servers.
    #[arg(long, default_value = "0")]
    pub server_cpu: String,
    /// The CPU (taskset list) for h2load.
    #[arg(long, default_value = "1")]
    pub load_cpu: String,
    /// Only check that every row runs without a failed request; no verdicts on the targets.
    #[arg(long)]
    pub smoke: bool,
    /// Also write the table (and the targets' verdicts) to this Markdown file.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Only the rows whose label ("GetRunner gRPC c=64") contains this.
    #[arg(long)]
    pub only: Option<String>,
    /// Keep the temporary directory (database, logs, request and answer files).
    #[arg(long)]
    pub keep: bool,
    /// The PostgreSQL rows (always tried with `--smoke`).
    #[command(flatten)]
    pub pg: process::PostgresArgs,
}

#[derive(clap::Args)]
pub struct SoakArgs {
    /// The `runner-server` binary to start.
    #[arg(long)]
    pub server_bin: PathBuf,
    /// How long to run traffic: `600s`, `10m`, `90` (seconds).
    #[arg(long, default_value = "600s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Concurrent client tasks, spread evenly over the six protocol variants.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Runners to seed into a fresh temporary SQLite database.
    #[arg(long, default_value_t = 100_000)]
    pub runners: usize,
    /// An already seeded database to use instead (nothing is seeded; its runners are read).
    #[arg(long)]
    pub database_url: Option<String>,
    /// When to take the reference sample of RSS and file descriptors. By default minute 1, or
    /// 10% into a run shorter than 10 minutes.
    #[arg(long, value_parser = parse_duration)]
    pub reference: Option<Duration>,
    /// The bound on every RPC × protocol p99 latency, in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub p99_bound_ms: u64,
    /// The server's log filter (`RUST_LOG`).
    #[arg(long, default_value = "warn")]
    pub server_log: String,
    /// Keep the temporary directory (database, key, server logs) for inspection.
    #[arg(long)]
    pub keep: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = number.parse().map_err(|_| format!("bad duration {s:?}: expected e.g. 600s, 10m, 90"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("bad duration unit in {s:?}: use s, m or h")),
    };
    if secs == 0 {
        return Err("the duration must be at least one second".to_owned());
    }
    Ok(Duration::from_secs(secs))
}

/// What a soak needs from the database: who to call as, a group for policies, and the ids of
/// the runners to read.
pub struct Prepared {
    pub org_id: Uuid,
    pub admin_token: String,
    pub group_id: Uuid,
    pub runner_ids: Vec<Uuid>,
    pub seed_seconds: Option<f64>,
}

/// Bootstraps (or finds) the organization and its admin, issues the admin a token, and seeds
/// `seed` runners; with `seed == 0`, reads the ids of the runners already there. `group`
/// also creates a group for runner policies.
pub async fn prepare(url: &str, seed: usize, group: bool) -> anyhow::Result<Prepared> {
    let store = runner_store::open(url).await.with_context(|| format!("cannot open database {url}"))?;
    let identity = Accounts::new(store.clone());
    let (org_id, admin_id, admin_token) = match identity.bootstrap(None).await? {
        Some((org, admin, token)) => {
            println!("created organization {:?} (id {}) with admin user {:?}", org.name, org.id, admin.name);
            (org.id, admin.id, token.token)
        }
        None => {
            let org = identity.organizations().await?.into_iter().next().context("no organization")?;
            let admin = identity
                .members(org.id)
                .await?
                .into_iter()
                .find(|m| m.role == OrgRole::Admin && m.principal == Principal::User)
                .with_context(|| format!("organization {:?} has no admin user", org.name))?;
            let token = identity.issue_token(admin.id, "runner-load", None).await?;
            println!("organization {:?} (id {}) exists; issued a token for admin {:?}", org.name, org.id, admin.name);
            (org.id, admin.id, token.token)
        }
    };
    println!("admin token: {admin_token}");
    let group_id = if group {
        identity.create_group(org_id, &format!("soak-{}", Uuid::new_v4().simple())).await?.id
    } else {
        Uuid::nil()
    };
    let (runner_ids, seed_seconds) = if seed > 0 {
        drop((identity, store));
        let started = Instant::now();
        let creator = Subject { id: admin_id, principal: Principal::User };
        let ids = runner_store::testing::seed_runners(url, org_id, Some(creator), seed).await?;
        let secs = started.elapsed().as_secs_f64();
        println!("seeded {} runners in {secs:.1} s ({:.0} runners/s)", ids.len(), ids.len() as f64 / secs);
        (ids, Some(secs))
    } else {
        let everything = Visibility::All { org_id };
        let mut ids = Vec::new();
        loop {
            let page = store.list_runners(&everything, &RunnerFilter::default(), ids.last().copied(), 1000).await?;
            if page.is_empty() {
                break;
            }
            ids.extend(page.iter().map(|r| r.id));
        }
        (ids, None)
    };
    Ok(Prepared { org_id, admin_token, group_id, runner_ids, seed_seconds })
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(async {
        match cli.command {
            Command::Seed { database_url, count } => {
                if count == 0 {
                    bail!("--count must be at least 1");
                }
                prepare(&database_url, count, false).await.map(|_| true)
            }
            Command::Soak(args) => soak::run(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Watchers(args) => watchers::run(args).await,
            Command::Ceiling { listen, manifest } => ceiling::serve(listen, &manifest).await.map(|()| true),
        }
    });
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("runner-load: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
