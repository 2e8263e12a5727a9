//! The performance benchmark (docs/performance.md): our server on a SQLite database of
//! `--runners` runners, with authentication on, against a ceiling server that answers the same
//! calls with precomputed bytes of the same size ([`crate::ceiling`]). Each server is pinned to
//! one core and h2load, pinned to another, drives it; the table gives requests per second,
//! latency percentiles, server CPU per request, peak RSS and the ratio to the ceiling.
//!
//! The contention rows ([`contention`]) measure writes that wait for their turn: 64 Connect JSON
//! clients updating one runner as fast as they can, then 64 runners, one each; every update
//! must succeed.
//!
//! A load tool only sees HTTP statuses, and gRPC answers errors with HTTP 200. So before any
//! load every call is made once over every protocol and its answer checked (gRPC status,
//! content type, decoding); during the load the mean answer size must equal the checked
//! answer's; and after it the server's own `rpc_requests_total` must count no code but `ok`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use gitpod_api::gitpod::v1::*;
use http_body_util::{BodyExt as _, Full};
use prost::Message;

mod postgres;

use crate::BenchArgs;
use crate::ceiling::Canned;
use crate::process::{finish, mib, percentile_ms, proc_stat, runner_server, temp_dir};
use runner_testkit::ServerProcess;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Get,
    List,
    Create,
}

impl Call {
    fn name(self) -> &'static str {
        match self {
            Call::Get => "GetRunner",
            Call::List => "ListRunners (page of 50)",
            Call::Create => "CreateRunner",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Call::Get => "/gitpod.v1.RunnerService/GetRunner",
            Call::List => "/gitpod.v1.RunnerService/ListRunners",
            Call::Create => "/gitpod.v1.RunnerService/CreateRunner",
        }
    }
}

/// A protocol and HTTP version, as the load tool speaks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Grpc,
    JsonH1,
    JsonH2,
}

impl Wire {
    fn name(self) -> &'static str {
        match self {
            Wire::Grpc => "gRPC",
            Wire::JsonH1 => "Connect JSON h1",
            Wire::JsonH2 => "Connect JSON h2",
        }
    }

    fn grpc(self) -> bool {
        self == Wire::Grpc
    }

    fn h1(self) -> bool {
        self == Wire::JsonH1
    }

    fn headers(self, bearer: &str) -> Vec<(&'static str, String)> {
        let mut headers = vec![("authorization", bearer.to_owned())];
        if self.grpc() {
            headers.push(("content-type", "application/grpc".to_owned()));
            headers.push(("te", "trailers".to_owned()));
        } else {
            headers.push(("content-type", "application/json".to_owned()));
            headers.push(("connect-protocol-version", "1".to_owned()));
        }
        headers
    }
}

/// One row of the table: a call over a protocol at a concurrency of `connections × streams`
/// (HTTP/2 streams per connection; 1 for HTTP/1.1).
#[derive(Debug, Clone, Copy)]
struct Case {
    call: Call,
    wire: Wire,
    connections: u32,
    streams: u32,
}

impl Case {
    fn label(&self) -> String {
        format!("{} {} c={}", self.call.name(), self.wire.name(), self.connections * self.streams)
    }
}

const fn case(call: Call, wire: Wire, connections: u32, streams: u32) -> Case {
    Case { call, wire, connections, streams }
}

/// Every row. At c=64, HTTP/2 runs 8 connections × 8 streams and HTTP/1.1 64 connections.
const CASES: &[Case] = &[
    case(Call::Get, Wire::Grpc, 8, 8),
    case(Call::Get, Wire::JsonH1, 64, 1),
    case(Call::Get, Wire::JsonH2, 8, 8),
    case(Call::Get, Wire::Grpc, 1, 1),
    case(Call::Get, Wire::JsonH1, 1, 1),
    case(Call::List, Wire::Grpc, 8, 8),
    case(Call::List, Wire::JsonH1, 64, 1),
    case(Call::List, Wire::JsonH2, 8, 8),
    case(Call::Create, Wire::Grpc, 8, 8),
    case(Call::Create, Wire::JsonH1, 64, 1),
];

/// What one load run measured.
#[derive(Debug, Clone, Copy)]
struct Measured {
    requests: u64,
    failed: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_us_per_request: f64,
    /// h2load's own CPU per request.
    load_cpu_us_per_request: f64,
    /// PostgreSQL's CPU per request, on the PostgreSQL rows.
    postgres_cpu_us_per_request: Option<f64>,
    /// Answer bytes h2load received, and the requests it completed. A timed run ends with up to
    /// one request per stream in flight, whose bytes so far are counted but which are not done.
    data_bytes: f64,
    done: f64,
}

impl Measured {
    fn mean_answer_bytes(&self) -> f64 {
        if self.done == 0.0 { 0.0 } else { self.data_bytes / self.done }
    }

    /// Whether every answer had the checked size: the bytes received lie between `done` whole
    /// answers and `done + in_flight` of them (allowing 1% for the unexpected, as Create answers
    /// differ in content but not in length).
    fn answers_of_size(&self, size: usize, in_flight: u32) -> bool {
        let size = size as f64;
        self.data_bytes >= 0.99 * self.done * size
            && self.data_bytes <= 1.01 * (self.done + f64::from(in_flight)) * size
    }
}

/// A checked answer to one call.
struct Answer {
    content_type: String,
    /// The HTTP body: for gRPC, the length-prefixed message.
    body: Bytes,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<bool> {
    for (tool, package) in [("h2load", "nghttp2-client"), ("taskset", "util-linux")] {
        if Command::new(tool).arg("--version").output().is_err() {
            bail!("{tool} is not installed (Debian package {package}; bench/run.sh installs it)");
        }
    }
    let dir = temp_dir("runner-bench")?;
    let result = bench(&args, &dir).await;
    finish(&dir, args.keep, result)
}

fn pinned(cpu: &str, command: Command) -> Command {
    let mut pinned = Command::new("taskset");
    pinned.args(["-c", cpu]).arg(command.get_program()).args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => pinned.env(key, value),
            None => pinned.env_remove(key),
        };
    }
    pinned
}

async fn bench(args: &BenchArgs, dir: &Path) -> anyhow::Result<bool> {
    let url = format!("sqlite://{}", dir.join("db.sqlite").display());
    let prepared = crate::prepare(&url, args.runners, false).await?;
    let bearer = format!("Bearer {}", prepared.admin_token);
    let server = ServerProcess::start(
        pinned(&args.server_cpu, runner_server(&args.server_bin, &url, dir, "warn")),
        dir,
        "server",
    )?;
    println!("our server (pid {}, CPU {}) at {}", server.pid(), args.server_cpu, server.url);

    // The request bodies, exactly as the load tool sends them.
    let runner_id = prepared.runner_ids[prepared.runner_ids.len() / 2].to_string();
    let mut requests = Vec::new();
    for call in [Call::Get, Call::List, Call::Create] {
        for grpc in [true, false] {
            let body = request_body(call, grpc, &runner_id)?;
            let file = dir.join(format!("request-{call:?}-{}.bin", if grpc { "grpc" } else { "json" }));
            std::fs::write(&file, &body)?;
            requests.push(((call, grpc), file, Bytes::from(body)));
        }
    }
    let request_file = |call: Call, wire: Wire| -> &(_, PathBuf, Bytes) {
        requests.iter().find(|((c, g), _, _)| *c == call && *g == wire.grpc()).expect("every request was built")
    };

    // One checked call per call × protocol; the answers become the ceiling's.
    let mut canned = Vec::new();
    let mut expected = Vec::new();
    for c in CASES {
        let (_, _, body) = request_file(c.call, c.wire);
        let answer = check_call(&server.url, c.call, c.wire, &bearer, body.clone())
            .await
            .with_context(|| format!("{} over {} on our server", c.call.name(), c.wire.name()))?;
        expected.push(answer.body.len());
        if c.call != Call::Create && !canned.iter().any(|k: &Canned| k.path == c.call.path() && k.grpc == c.wire.grpc())
        {
            let body_file = dir.join(format!("answer-{:?}-{}.bin", c.call, c.wire.grpc()));
            std::fs::write(&body_file, &answer.body)?;
            canned.push(Canned {
                path: c.call.path().to_owned(),
                grpc: c.wire.grpc(),
                content_type: answer.content_type,
                body_file,
            });
        }
    }
    let manifest = dir.join("ceiling.json");
    std::fs::write(&manifest, serde_json::to_vec_pretty(&canned)?)?;
    let mut ceiling_command = Command::new(std::env::current_exe()?);
    ceiling_command.arg("ceiling").arg("--manifest").arg(&manifest);
    let ceiling = ServerProcess::start(pinned(&args.server_cpu, ceiling_command), dir, "ceiling")?;
    println!("ceiling server (pid {}, CPU {}) at {}", ceiling.pid(), args.server_cpu, ceiling.url);
    for (c, size) in CASES.iter().zip(&expected) {
        if c.call == Call::Create {
            continue;
        }
        let (_, _, body) = request_file(c.call, c.wire);
        let answer = check_call(&ceiling.url, c.call, c.wire, &bearer, body.clone()).await?;
        if answer.body.len() != *size {
            bail!("the ceiling answers {} bytes where our server answers {size}", answer.body.len());
        }
    }
    let mut rows = Vec::new();
    println!("{HEADER}");
    let mut failed = 0;
    for (c, size) in CASES.iter().zip(&expected) {
        if args.only.as_ref().is_some_and(|only| !c.label().contains(only.as_str())) {
            continue;
        }
        let (_, file, _) = request_file(c.call, c.wire);
        let codes_before = error_codes(&server.url).await?;
        let ours = load(args, dir, &[&server], c, file, &bearer, None)?;
        // The server's own count of calls answered with another code than ok during the row.
        // h2load ends a timed run by closing its connections: the calls then in flight (at
        // most c, in the warm-up and in the measured run) are `canceled`, which is no failure.
        for (code, after) in error_codes(&server.url).await? {
            let n = after - codes_before.get(&code).copied().unwrap_or(0.0);
            let allowed = if code == "canceled" { 2.0 * f64::from(c.connections * c.streams) } else { 0.0 };
            if n > allowed {
                failed += 1;
                println!("FAILED: {} on our server: {n} calls answered {code}", c.label());
            }
        }
        let top =
            if c.call == Call::Create { None } else { Some(load(args, dir, &[&ceiling], c, file, &bearer, None)?) };
        for (who, m) in [("our server", Some(&ours)), ("ceiling", top.as_ref())] {
            let Some(m) = m else { continue };
            if m.failed > 0 || m.requests == 0 || !m.answers_of_size(*size, c.connections * c.streams) {
                failed += 1;
                println!(
                    "FAILED: {} over {} c={} on the {who}: {} of {} requests failed; mean answer {:.1} bytes, checked answer {size}",
                    c.call.name(),
                    c.wire.name(),
                    c.connections * c.streams,
                    m.failed,
                    m.requests,
                    m.mean_answer_bytes()
                );
            }
        }
        println!("{}", markdown_row(c, &ours, top.as_ref()));
        rows.push((*c, ours, top));
    }
    let contended = contention(args, &server, &bearer, &prepared.runner_ids).await?;
    let postgres_rows = if args.pg.postgres || args.smoke { postgres::rows(args, dir).await? } else { None };
    failed += contended.iter().filter(|(_, m)| m.failed > 0 || m.updates == 0).count();
    let peak = proc_stat(server.pid())?.peak_rss_kib;
    let ceiling_peak = proc_stat(ceiling.pid())?.peak_rss_kib;

    let mut table = table(&rows, args, peak, ceiling_peak);
    table.push_str(&contention_table(&contended));
    if let Some((postgres_table, postgres_failed)) = postgres_rows {
        table.push_str(&postgres_table);
        failed += postgres_failed;
    }
    if !args.smoke {
        table.push_str(&targets(&rows, peak));
    }
    println!("\n{table}");
    if let Some(path) = &args.markdown {
        std::fs::write(path, &table).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(failed == 0)
}

/// Writers of the contention rows.
const WRITERS: usize = 64;

/// What one contention row measured.
#[derive(Debug, Clone, Copy)]
struct Contended {
    updates: u64,
    failed: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// The contention rows: [`WRITERS`] Connect JSON clients (HTTP/1.1, a connection each), each
/// sending UpdateRunner (a new name) one after the other for `--duration` after a warm-up, all
/// on one runner, then each on a runner of its own. This process runs them, pinned to the load
/// CPU like h2load (which cannot vary the body per connection).
async fn contention(
    args: &BenchArgs,
    server: &ServerProcess,
    bearer: &str,
    runner_ids: &[uuid::Uuid],
) -> anyhow::Result<Vec<(String, Contended)>> {
    let pin = Command::new("taskset")
        .args(["-a", "-p", "-c", &args.load_cpu, &std::process::id().to_string()])
        .output()
        .context("pinning the writers to the load CPU")?;
    if !pin.status.success() {
        bail!("taskset failed: {}", String::from_utf8_lossy(&pin.stderr));
    }
    if runner_ids.len() < WRITERS {
        bail!("the contention rows need {WRITERS} runners, the database has {}", runner_ids.len());
    }
    let mut rows = Vec::new();
    for spread in [1, WRITERS] {
        let label = format!(
            "UpdateRunner Connect JSON h1: {WRITERS} writers on {spread} runner{}",
            if spread == 1 { "" } else { "s" }
        );
        if args.only.as_ref().is_some_and(|only| !label.contains(only.as_str())) {
            continue;
        }
        let targets: Vec<String> = runner_ids[..spread].iter().map(ToString::to_string).collect();
        writers(server, bearer, &targets, args.warm_up.max(std::time::Duration::from_secs(1))).await?;
        let measured = writers(server, bearer, &targets, args.duration).await?;
        println!(
            "{label}: {:.0} updates/s, p50 {:.2} ms, p99 {:.2} ms, {} of {} failed",
            measured.per_second, measured.p50_ms, measured.p99_ms, measured.failed, measured.updates
        );
        if measured.failed > 0 {
            println!("FAILED: {label}: {} updates failed", measured.failed);
        }
        rows.push((label, measured));
    }
    Ok(rows)
}

/// Runs the writers for `duration`: writer `w` updates `targets[w % targets.len()]`.
async fn writers(
    server: &ServerProcess,
    bearer: &str,
    targets: &[String],
    duration: std::time::Duration,
) -> anyhow::Result<Contended> {
    let http = reqwest::Client::builder().http1_only().pool_max_idle_per_host(WRITERS).build()?;
    let url = format!("{}{}", server.url, "/gitpod.v1.RunnerService/UpdateRunner");
    let until = std::time::Instant::now() + duration;
    let started = std::time::Instant::now();
    let tasks = (0..WRITERS).map(|w| {
        let (http, url, target) = (http.clone(), url.clone(), targets[w % targets.len()].clone());
        async move {
            let (mut latencies, mut failed) = (Vec::<u32>::new(), 0u64);
            let mut n = 0u64;
            while std::time::Instant::now() < until {
                let body = serde_json::json!({"runnerId": target, "name": format!("contended {w} {n}")});
                n += 1;
                let sent = std::time::Instant::now();
                let response = http.post(&url).header("authorization", bearer).json(&body).send().await;
                let ok = match response {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                } else {
                    failed += 1;
                }
            }
            (latencies, failed)
        }
    });
    let results = futures::future::join_all(tasks).await;
    let took = started.elapsed().as_secs_f64();
    let mut latencies: Vec<u32> = results.iter().flat_map(|(l, _)| l.iter().copied()).collect();
    latencies.sort_unstable();
    let failed = results.iter().map(|(_, f)| f).sum();
    Ok(Contended {
        updates: latencies.len() as u64 + failed,
        failed,
        per_second: latencies.len() as f64 / took,
        p50_ms: percentile_ms(&latencies, 50.0),
        p99_ms: percentile_ms(&latencies, 99.0),
    })
}

/// The contention rows as a table.
fn contention_table(rows: &[(String, Contended)]) -> String {
    let mut t = String::from("\n| contention | updates/s | p50 ms | p99 ms | failed |\n|---|---|---|---|---|\n");
    for (label, m) in rows {
        let _ = writeln!(
            t,
            "| {label} | {:.0} | {:.2} | {:.2} | {} of {} |",
            m.per_second, m.p50_ms, m.p99_ms, m.failed, m.updates
        );
    }
    t
}

fn request_body(call: Call, grpc: bool, runner_id: &str) -> anyhow::Result<Vec<u8>> {
    fn encode<M: Message + serde::Serialize>(m: &M, grpc: bool) -> anyhow::Result<Vec<u8>> {
        if !grpc {
            return Ok(serde_json::to_vec(m)?);
        }
        let message = m.encode_to_vec();
        let mut framed = Vec::with_capacity(5 + message.len());
        framed.push(0);
        framed.extend_from_slice(&u32::try_from(message.len())?.to_be_bytes());
        framed.extend_from_slice(&message);
        Ok(framed)
    }
    match call {
        Call::Get => encode(&GetRunnerRequest { runner_id: runner_id.to_owned() }, grpc),
        Call::List => encode(
            &ListRunnersRequest {
                pagination: Some(PaginationRequest { page_size: 50, ..Default::default() }),
                ..Default::default()
            },
            grpc,
        ),
        Call::Create => encode(
            &CreateRunnerRequest {
                name: "bench runner".to_owned(),
                provider: RunnerProvider::AwsEc2 as i32,
                spec: Some(RunnerSpec {
                    configuration: Some(RunnerConfiguration {
                        region: "eu-central-1".to_owned(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            grpc,
        ),
    }
}

/// Makes one call the way the load tool will, and checks the answer all the way down.
async fn check_call(base: &str, call: Call, wire: Wire, bearer: &str, body: Bytes) -> anyhow::Result<Answer> {
    let mut builder = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new());
    builder.http2_only(!wire.h1());
    let client = builder.build_http::<Full<Bytes>>();
    let mut request = http::Request::post(format!("{base}{}", call.path()));
    for (name, value) in wire.headers(bearer) {
        request = request.header(name, value);
    }
    let response = client.request(request.body(Full::new(body))?).await?;
    let status = response.status();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let grpc_in_headers = response.headers().get("grpc-status").cloned();
    let collected = response.into_body().collect().await?;
    let grpc_status = collected.trailers().and_then(|t| t.get("grpc-status").cloned()).or(grpc_in_headers);
    let body = collected.to_bytes();
    if status != http::StatusCode::OK {
        bail!("HTTP {status}: {}", String::from_utf8_lossy(&body));
    }
    let listed = if wire.grpc() {
        if grpc_status.as_ref().map(|v| v.as_bytes()) != Some(b"0") {
            bail!("gRPC status {grpc_status:?}");
        }
        if body.len() < 5 || body[0] != 0 || u32::from_be_bytes(body[1..5].try_into()?) as usize != body.len() - 5 {
            bail!("not one uncompressed gRPC message: {} bytes", body.len());
        }
        let message = body.slice(5..);
        match call {
            Call::Get => GetRunnerResponse::decode(message).map(|_| 1),
            Call::List => ListRunnersResponse::decode(message).map(|r| r.runners.len()),
            Call::Create => CreateRunnerResponse::decode(message).map(|_| 1),
        }
        .context("decoding the answer")?
    } else {
        if content_type != "application/json" {
            bail!("content type {content_type:?}");
        }
        match call {
            Call::Get => serde_json::from_slice::<GetRunnerResponse>(&body).map(|_| 1),
            Call::List => serde_json::from_slice::<ListRunnersResponse>(&body).map(|r| r.runners.len()),
            Call::Create => serde_json::from_slice::<CreateRunnerResponse>(&body).map(|_| 1),
        }
        .context("decoding the answer")?
    };
    if call == Call::List && listed != 50 {
        bail!("a page of {listed} runners, not 50");
    }
    Ok(Answer { content_type, body })
}

/// Runs h2load, pinned to the load core, against `targets` (one h2load each, at once, the
/// case's connections split evenly between them): a warm-up, then the measured run. Server CPU
/// is the targets' together; with `postgres` (the benchmark's database name), PostgreSQL's
/// CPU too (`postgres::cpu`).
fn load(
    args: &BenchArgs,
    dir: &Path,
    targets: &[&ServerProcess],
    c: &Case,
    body: &Path,
    bearer: &str,
    postgres: Option<&str>,
) -> anyhow::Result<Measured> {
    let n = u32::try_from(targets.len())?.max(1);
    let logs: Vec<PathBuf> = (0..targets.len()).map(|i| dir.join(format!("h2load-{i}.log"))).collect();
    let h2load = |seconds: u64, measured: bool| -> anyhow::Result<Vec<String>> {
        let mut children = Vec::new();
        for (target, log) in targets.iter().zip(&logs) {
            let mut command = Command::new("taskset");
            command.args(["-c", &args.load_cpu, "h2load"]);
            if c.wire.h1() {
                command.arg("--h1");
            }
            command
                .args(["-t", "1", "-c", &(c.connections / n).max(1).to_string(), "-m", &c.streams.to_string()])
                .args(["-D", &seconds.to_string()])
                .arg("-d")
                .arg(body);
            for (name, value) in c.wire.headers(bearer) {
                command.arg("-H").arg(format!("{name}: {value}"));
            }
            if measured {
                command.arg(format!("--log-file={}", log.display()));
            }
            command.arg(format!("{}{}", target.url, c.call.path()));
            command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
            children.push(command.spawn().context("running h2load")?);
        }
        let mut outs = Vec::new();
        for child in children {
            let output = child.wait_with_output().context("running h2load")?;
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            if !output.status.success() {
                bail!("h2load failed ({}):\n{stdout}{}", output.status, String::from_utf8_lossy(&output.stderr));
            }
            outs.push(stdout);
        }
        Ok(outs)
    };
    h2load(args.warm_up.as_secs().max(1), false)?;
    // h2load appends to its log file.
    for log in &logs {
        let _ = std::fs::remove_file(log);
    }
    let cpu_of =
        |pids: &[u32]| -> anyhow::Result<std::time::Duration> { pids.iter().map(|pid| Ok(proc_stat(*pid)?.cpu)).sum() };
    let pids: Vec<u32> = targets.iter().map(|t| t.pid()).collect();
    let before = cpu_of(&pids)?;
    let load_before = proc_stat(std::process::id())?.children_cpu;
    let postgres_before = postgres.map(postgres::cpu);
    let outs = h2load(args.duration.as_secs(), true)?;
    let after = cpu_of(&pids)?;
    let load_after = proc_stat(std::process::id())?.children_cpu;
    let postgres_cpu = postgres.zip(postgres_before).map(|(db, before)| postgres::cpu_since(db, &before));

    let mut latencies = Vec::new();
    let mut failed = 0u64;
    for log in &logs {
        for line in std::fs::read_to_string(log)?.lines() {
            let mut columns = line.split('\t');
            let status = columns.nth(1).unwrap_or_default();
            match (status, columns.next().and_then(|v| v.trim().parse::<u32>().ok())) {
                ("200", Some(micros)) => latencies.push(micros),
                _ => failed += 1,
            }
        }
    }
    latencies.sort_unstable();
    let requests = latencies.len() as u64 + failed;
    let (mut per_second, mut data, mut done) = (0.0, 0.0, 0.0);
    for out in &outs {
        // "finished in 10.00s, 12345.67 req/s, 1.23MB/s" and "traffic: … , 1.00MB (1048576) data".
        per_second += out
            .lines()
            .find_map(|l| l.strip_prefix("finished in "))
            .and_then(|l| l.split(", ").nth(1))
            .and_then(|v| v.trim_end_matches(" req/s").parse::<f64>().ok())
            .with_context(|| format!("no req/s in h2load's output:\n{out}"))?;
        data += out
            .lines()
            .find_map(|l| l.strip_prefix("traffic: "))
            .and_then(|l| l.rsplit(", ").next())
            .and_then(|v| v.split_once('(')?.1.split_once(')')?.0.parse::<f64>().ok())
            .with_context(|| format!("no data bytes in h2load's output:\n{out}"))?;
        done += out
            .lines()
            .find_map(|l| l.strip_prefix("requests: "))
            .and_then(|l| l.split(", ").find_map(|p| p.strip_suffix(" done")))
            .and_then(|v| v.parse::<f64>().ok())
            .with_context(|| format!("no request count in h2load's output:\n{out}"))?;
    }
    let per_request =
        |cpu: std::time::Duration| if requests == 0 { 0.0 } else { cpu.as_micros() as f64 / requests as f64 };
    Ok(Measured {
        requests,
        failed,
        per_second,
        p50_ms: percentile_ms(&latencies, 50.0),
        p99_ms: percentile_ms(&latencies, 99.0),
        cpu_us_per_request: per_request(after.saturating_sub(before)),
        load_cpu_us_per_request: per_request(load_after.saturating_sub(load_before)),
        postgres_cpu_us_per_request: postgres_cpu.map(per_request),
        data_bytes: data,
        done,
    })
}

/// Calls the server answered with each code but `ok` so far, from its own metrics.
async fn error_codes(base: &str) -> anyhow::Result<std::collections::BTreeMap<String, f64>> {
    let text = reqwest::get(format!("{base}/metrics")).await?.error_for_status()?.text().await?;
    let mut codes = std::collections::BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("rpc_requests_total{")) {
        let code = line.split("code=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or("?");
        let count = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        if code != "ok" {
            *codes.entry(code.to_owned()).or_insert(0.0) += count;
        }
    }
    Ok(codes)
}

/// The cells of a row of the table, after the call, protocol and concurrency.
fn cells(ours: &Measured, top: Option<&Measured>) -> [String; 7] {
    let (top_rate, ratio, top_cpu) = match top {
        Some(t) => (
            format!("{:.0}", t.per_second),
            format!("{:.2}", ours.per_second / t.per_second),
            format!("{:.1}", t.cpu_us_per_request),
        ),
        None => ("-".to_owned(), "-".to_owned(), "-".to_owned()),
    };
    [
        format!("{:.0}", ours.per_second),
        format!("{:.2}", ours.p50_ms),
        format!("{:.2}", ours.p99_ms),
        format!("{:.1}", ours.cpu_us_per_request),
        top_rate,
        ratio,
        top_cpu,
    ]
}

const HEADER: &str = "| call | protocol | c | req/s | p50 ms | p99 ms | server CPU µs/req | ceiling req/s | ratio | ceiling CPU µs/req |";

fn markdown_row(c: &Case, ours: &Measured, top: Option<&Measured>) -> String {
    let concurrency = c.connections * c.streams;
    format!("| {} | {} | {concurrency} | {} |", c.call.name(), c.wire.name(), cells(ours, top).join(" | "))
}

fn table(
    rows: &[(Case, Measured, Option<Measured>)],
    args: &BenchArgs,
    peak_rss_kib: u64,
    ceiling_peak_rss_kib: u64,
) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{} runners on SQLite, authentication on; server and ceiling on CPU {}, h2load on CPU {}; {} s per row after a {} s warm-up.\n",
        args.runners,
        args.server_cpu,
        args.load_cpu,
        args.duration.as_secs(),
        args.warm_up.as_secs().max(1)
    );
    let _ = writeln!(t, "{HEADER}\n|---|---|---|---|---|---|---|---|---|---|");
    for (c, ours, top) in rows {
        let _ = writeln!(t, "{}", markdown_row(c, ours, top.as_ref()));
    }
    let _ = writeln!(
        t,
        "\nPeak RSS over the whole run: our server {:.1} MiB, the ceiling {:.1} MiB.",
        mib(peak_rss_kib),
        mib(ceiling_peak_rss_kib)
    );
    t
}

/// The targets of docs/performance.md, each met or missed by the figures of this run.
fn targets(rows: &[(Case, Measured, Option<Measured>)], peak_rss_kib: u64) -> String {
    let mut t = String::from("\n| target | figure | verdict |\n|---|---|---|\n");
    let mut check = |target: String, figure: String, met: bool| {
        let _ = writeln!(t, "| {target} | {figure} | {} |", if met { "met" } else { "MISSED" });
    };
    for (c, ours, top) in rows {
        let concurrency = c.connections * c.streams;
        let label = format!("{} over {} at c={concurrency}", c.call.name(), c.wire.name());
        let ratio = top.map(|t| ours.per_second / t.per_second);
        match (c.call, concurrency, ratio) {
            (Call::Get, 64, Some(r)) => check(format!("{label}: ≥ 0.40 of the ceiling"), format!("{r:.2}"), r >= 0.40),
            (Call::List, 64, Some(r)) => check(format!("{label}: ≥ 0.25 of the ceiling"), format!("{r:.2}"), r >= 0.25),
            (Call::Create, 64, _) => check(
                format!("{label}: ≥ 5,000 req/s"),
                format!("{:.0} req/s", ours.per_second),
                ours.per_second >= 5000.0,
            ),
            (Call::Get, 1, _) => {
                check(format!("{label}: p99 ≤ 0.5 ms"), format!("{:.2} ms", ours.p99_ms), ours.p99_ms <= 0.5)
            }
            _ => {}
        }
        if concurrency == 64 && c.call != Call::Create {
            check(format!("{label}: p99 ≤ 5 ms"), format!("{:.2} ms", ours.p99_ms), ours.p99_ms <= 5.0);
        }
        if c.call == Call::Get && concurrency == 64 {
            let cpu = ours.cpu_us_per_request;
            check(format!("{label}: server CPU ≤ 20 µs per call"), format!("{cpu:.1} µs"), cpu <= 20.0);
        }
    }
    let peak = mib(peak_rss_kib);
    check("peak RSS of our server ≤ 64 MiB".to_owned(), format!("{peak:.1} MiB"), peak <= 64.0);
    t
}

#[cfg(test)]
mod tests {
    use super::Measured;

    fn measured(data_bytes: f64, done: f64) -> Measured {
        Measured {
            requests: 0,
            failed: 0,
            per_second: 0.0,
            p50_ms: 0.0,
            p99_ms: 0.0,
            cpu_us_per_request: 0.0,
            load_cpu_us_per_request: 0.0,
            postgres_cpu_us_per_request: None,
            data_bytes,
            done,
        }
    }

    #[test]
    fn answers_in_flight_at_the_end_of_a_run_are_not_a_size_change() {
        // 5,000 CreateRunner answers of 563 bytes and the 64 in flight partly received: a mean
        // of 569.4 bytes per done request, which a 1% bound on the mean alone refused.
        let m = measured(5_000.0 * 563.0 + 64.0 * 500.0, 5_000.0);
        assert!(m.mean_answer_bytes() > 563.0 * 1.01);
        assert!(m.answers_of_size(563, 64));
        // The same bytes with nothing in flight are answers of another size.
        assert!(!m.answers_of_size(563, 0));
        // Answers 3% longer than the checked one are caught, in flight or not.
        assert!(!measured(5_000.0 * 563.0 * 1.03, 5_000.0).answers_of_size(563, 64));
        // And shorter ones.
        assert!(!measured(5_000.0 * 540.0, 5_000.0).answers_of_size(563, 64));
    }
}
