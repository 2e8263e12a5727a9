//! The PostgreSQL rows (`--postgres`, and always in `--smoke`): GetRunner, ListRunners and
//! CreateRunner over gRPC at c=64 against our server on a fresh PostgreSQL database of
//! `--runners` runners, first one replica, then two on the same database, each driven by its own
//! h2load (h2load takes one host per run) with half the connections. The same checks as the
//! SQLite rows (every call checked once, the answer size under load, the server's own error
//! counts); no ceiling and no targets. The table splits the CPU per call between our servers,
//! PostgreSQL and h2load: on this machine all three share two cores.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use runner_testkit::ServerProcess;

use super::{Call, Case, Measured, Wire, case, check_call, error_codes, load, pinned, request_body};
use crate::BenchArgs;
use crate::process::{FreshDatabase, runner_server};

/// The rows, their table and how many of them failed; `None` when no PostgreSQL answers and
/// neither `--postgres` nor `RUNNER_TEST_REQUIRE_POSTGRES=1` asked for them (a smoke run
/// elsewhere than CI).
pub(super) async fn rows(args: &BenchArgs, dir: &Path) -> anyhow::Result<Option<(String, usize)>> {
    let Some(db) = FreshDatabase::create(&args.pg, "PostgreSQL rows").await? else {
        return Ok(None);
    };
    let result = measure(args, dir, &db.url, &db.name).await;
    db.drop_database().await;
    result.map(Some)
}

async fn measure(args: &BenchArgs, dir: &Path, url: &str, db: &str) -> anyhow::Result<(String, usize)> {
    let dir = dir.join("postgres");
    std::fs::create_dir_all(&dir)?;
    let prepared = crate::prepare(url, args.runners, false).await?;
    let bearer = format!("Bearer {}", prepared.admin_token);
    let start = |name: &str| -> anyhow::Result<ServerProcess> {
        let server = ServerProcess::start(
            pinned(&args.server_cpu, runner_server(&args.server_bin, url, &dir, "warn")),
            &dir,
            name,
        )?;
        println!("our server on PostgreSQL, {name} (pid {}, CPU {}) at {}", server.pid(), args.server_cpu, server.url);
        Ok(server)
    };
    let replicas = [start("replica-a")?, start("replica-b")?];
    let runner_id = prepared.runner_ids[prepared.runner_ids.len() / 2].to_string();

    let mut table = format!(
        "\nPostgreSQL: {} runners in a fresh database, authentication on; our servers on CPU {}, h2load on CPU {}, \
         PostgreSQL unpinned; {} s per row after a {} s warm-up; CPU per call split between our servers, PostgreSQL \
         (its backends for this database and its background processes) and h2load.\n\n\
         | call | protocol | replicas | c | req/s | p50 ms | p99 ms | server CPU µs/req | PostgreSQL CPU µs/req | h2load CPU µs/req |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
        args.runners,
        args.server_cpu,
        args.load_cpu,
        args.duration.as_secs(),
        args.warm_up.as_secs().max(1)
    );
    let mut failed = 0;
    for call in [Call::Get, Call::List, Call::Create] {
        let c = case(call, Wire::Grpc, 8, 8);
        let body = request_body(call, true, &runner_id)?;
        let file = dir.join(format!("request-{call:?}.bin"));
        std::fs::write(&file, &body)?;
        let mut size = None;
        for replica in &replicas {
            let answer = check_call(&replica.url, call, Wire::Grpc, &bearer, Bytes::from(body.clone()))
                .await
                .with_context(|| format!("{} over gRPC on PostgreSQL", call.name()))?;
            size = Some(answer.body.len());
        }
        let size = size.expect("two replicas");
        for n in [1, 2] {
            let label = format!("{} gRPC c=64 PostgreSQL, {n} replica{}", call.name(), if n == 1 { "" } else { "s" });
            if args.only.as_ref().is_some_and(|only| !label.contains(only.as_str())) {
                continue;
            }
            let targets: Vec<&ServerProcess> = replicas[..n].iter().collect();
            let mut codes_before = Vec::new();
            for t in &targets {
                codes_before.push(error_codes(&t.url).await?);
            }
            let m = load(args, &dir, &targets, &c, &file, &bearer, Some(db))?;
            for (t, before) in targets.iter().zip(&codes_before) {
                for (code, after) in error_codes(&t.url).await? {
                    let calls = after - before.get(&code).copied().unwrap_or(0.0);
                    let allowed = if code == "canceled" { 2.0 * f64::from(c.connections * c.streams) } else { 0.0 };
                    if calls > allowed {
                        failed += 1;
                        println!("FAILED: {label}: {calls} calls answered {code}");
                    }
                }
            }
            if m.failed > 0 || m.requests == 0 || !m.answers_of_size(size, c.connections * c.streams) {
                failed += 1;
                println!(
                    "FAILED: {label}: {} of {} requests failed; mean answer {:.1} bytes, checked answer {size}",
                    m.failed,
                    m.requests,
                    m.mean_answer_bytes()
                );
            }
            let row = row(&c, n, &m);
            println!("{row}");
            let _ = writeln!(table, "{row}");
        }
    }
    Ok((table, failed))
}

fn row(c: &Case, replicas: usize, m: &Measured) -> String {
    format!(
        "| {} | {} | {replicas} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {:.1} | {:.1} |",
        c.call.name(),
        c.wire.name(),
        c.connections * c.streams,
        m.per_second,
        m.p50_ms,
        m.p99_ms,
        m.cpu_us_per_request,
        m.postgres_cpu_us_per_request.unwrap_or(0.0),
        m.load_cpu_us_per_request
    )
}

/// The CPU used so far by each PostgreSQL process that works for database `db`: its backends
/// (process title `postgres: … DB … HOST(PORT) …`) and the background processes that serve
/// every database (checkpointer, WAL writer, background writer, autovacuum), by pid.
pub(super) fn cpu(db: &str) -> HashMap<u32, Duration> {
    let mut used = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return used };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else { continue };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let title = String::from_utf8_lossy(&cmdline);
        let Some(rest) = title.strip_prefix("postgres: ") else { continue };
        let backend = rest.contains('(');
        if backend && !rest.split_whitespace().any(|word| word == db) {
            continue;
        }
        if let Ok(stat) = crate::process::proc_stat(pid) {
            used.insert(pid, stat.cpu);
        }
    }
    used
}

/// The CPU PostgreSQL used for `db` since `before` (a process started since counts whole).
pub(super) fn cpu_since(db: &str, before: &HashMap<u32, Duration>) -> Duration {
    cpu(db).into_iter().map(|(pid, now)| now.saturating_sub(before.get(&pid).copied().unwrap_or_default())).sum()
}
