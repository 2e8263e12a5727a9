//! The WatchEvents benchmark (docs/performance.md): many concurrent watchers on one server
//! (SQLite), measured for
//!
//! - the server's RSS per idle watcher (RSS with the watchers open and idle, less RSS before,
//!   over their number);
//! - write throughput (UpdateRunner over gRPC, 8 writers in a closed loop) without watchers and
//!   with them (every write an event to every watcher);
//! - delivery latency under a paced write rate: from the moment a write is sent (so it includes
//!   the write's own round trip up to its commit: an upper bound of commit to delivery) to the
//!   moment each watcher reads its event, p50 and p99 over every (write, watcher) pair.
//!
//! Every watcher must receive every write's event; a missing one fails the run.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use gitpod_api::gitpod::v1::*;
use runner_testkit::{Client, ClientOptions, Protocol, ServerProcess, es, rs};

use crate::process::{percentile_ms, proc_stat};

/// Writers, each on its own runner and its own connection.
const WRITERS: usize = 8;
/// Watchers per HTTP/2 connection.
const PER_CONNECTION: usize = 50;

#[derive(clap::Args)]
pub struct WatchersArgs {
    /// The `runner-server` binary to measure.
    #[arg(long)]
    pub server_bin: std::path::PathBuf,
    /// Concurrent watchers.
    #[arg(long, default_value_t = 1000)]
    pub watchers: usize,
    /// The paced write rate of the latency run, writes per second.
    #[arg(long, default_value_t = 500)]
    pub rate: u32,
    /// How long each throughput and latency run lasts.
    #[arg(long, default_value = "10s", value_parser = crate::parse_duration)]
    pub duration: Duration,
    /// Only check that every watcher receives every event; no verdicts on the targets.
    #[arg(long)]
    pub smoke: bool,
}

fn options() -> ClientOptions {
    ClientOptions { leak_guard: false, timeout: Some(Duration::from_secs(30)), ..Default::default() }
}

async fn client(url: &str, token: &str) -> anyhow::Result<Client> {
    Client::connect(Protocol::Grpc, url, Some(token), options()).await
}

async fn new_runner(c: &Client, name: String) -> anyhow::Result<String> {
    let req = CreateRunnerRequest { name, provider: RunnerProvider::Gcp as i32, ..Default::default() };
    let created: CreateRunnerResponse = c.try_call(&rs("CreateRunner"), req).await?;
    Ok(created.runner.map(|r| r.runner_id).unwrap_or_default())
}

async fn rename(c: &Client, id: &str, name: String) -> anyhow::Result<()> {
    let req = UpdateRunnerRequest { runner_id: id.to_owned(), name: Some(name), ..Default::default() };
    let _: UpdateRunnerResponse = c.try_call(&rs("UpdateRunner"), req).await?;
    Ok(())
}

/// `WRITERS` writers, each renaming its runner, for `duration`; `interval`: the pace of each
/// (none: as fast as answered). The send time of each write, per writer.
async fn write(
    writers: &[(Client, String)],
    duration: Duration,
    interval: Option<Duration>,
    tag: &str,
) -> anyhow::Result<Vec<Vec<Instant>>> {
    let started = Instant::now();
    let runs = writers.iter().enumerate().map(|(w, (c, id))| async move {
        let mut sent = Vec::new();
        let offset = interval.map(|i| i * u32::try_from(w).unwrap_or(0) / u32::try_from(WRITERS).unwrap_or(1));
        while started.elapsed() < duration {
            if let (Some(interval), Some(offset)) = (interval, offset) {
                let at = started + offset + interval * u32::try_from(sent.len()).unwrap_or(u32::MAX);
                tokio::time::sleep_until(at.into()).await;
            }
            sent.push(Instant::now());
            rename(c, id, format!("{tag} {w} {}", sent.len())).await?;
        }
        anyhow::Ok(sent)
    });
    futures::future::try_join_all(runs).await
}

/// One watcher's receipts of the latency runners' updates: (writer, n-th update, when).
type Receipts = Vec<(usize, usize, Instant)>;

pub async fn run(args: WatchersArgs) -> anyhow::Result<bool> {
    let server = ServerProcess::fresh(&args.server_bin, &[]);
    let (url, token) = (server.url.clone(), server.token().to_owned());
    let pid = server.pid();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let c = client(&url, &token).await?;
        let id = new_runner(&c, format!("throughput {w}")).await?;
        writers.push((c, id));
    }
    println!("WatchEvents benchmark: {} watchers on one server (SQLite), {} writers", args.watchers, WRITERS);

    let without = write(&writers, args.duration, None, "alone").await?;
    let without_rate = without.iter().map(Vec::len).sum::<usize>() as f64 / args.duration.as_secs_f64();

    // The latency runs' runners, known to the watchers before they start.
    let mut paced = Vec::new();
    for w in 0..WRITERS {
        let c = client(&url, &token).await?;
        let id = new_runner(&c, format!("latency {w}")).await?;
        paced.push((c, id));
    }
    let index: Arc<HashMap<String, usize>> =
        Arc::new(paced.iter().enumerate().map(|(w, (_, id))| (id.clone(), w)).collect());

    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = proc_stat(pid)?.rss_kib;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    let mut connection = None;
    for i in 0..args.watchers {
        if i % PER_CONNECTION == 0 {
            connection = Some(client(&url, &token).await?);
        }
        let c = connection.as_ref().expect("a connection");
        let req = WatchEventsRequest {
            scope: Some(watch_events_request::Scope::Organization(true)),
            resource_type_filters: vec![],
        };
        let mut stream = c
            .server_stream::<_, WatchEventsResponse>(&es("WatchEvents"), req)
            .await
            .map_err(|f| anyhow::anyhow!("watcher {i}: {f}"))?;
        let (index, mut stop) = (index.clone(), stop_rx.clone());
        tasks.push(tokio::spawn(async move {
            let mut receipts: Receipts = Vec::new();
            let mut counts = [0usize; WRITERS];
            loop {
                tokio::select! {
                    item = stream.next() => match item {
                        Some(Ok(event)) => {
                            if let Some(&w) = index.get(&event.resource_id)
                                && event.operation == ResourceOperation::Update as i32
                            {
                                receipts.push((w, counts[w], Instant::now()));
                                counts[w] += 1;
                            }
                        }
                        Some(Err(f)) => return Err(anyhow::anyhow!("watcher {i}: the stream ended: {f}")),
                        None => return Err(anyhow::anyhow!("watcher {i}: the stream ended")),
                    },
                    _ = stop.changed() => return Ok(receipts),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = proc_stat(pid)?.rss_kib;
    let per_watcher_kib = idle.saturating_sub(before) as f64 / args.watchers.max(1) as f64;

    let with = write(&writers, args.duration, None, "watched").await?;
    let with_rate = with.iter().map(Vec::len).sum::<usize>() as f64 / args.duration.as_secs_f64();

    let interval = Duration::from_secs_f64(WRITERS as f64 / f64::from(args.rate.max(1)));
    let sent = write(&paced, args.duration, Some(interval), "paced").await?;
    let achieved = sent.iter().map(Vec::len).sum::<usize>() as f64 / args.duration.as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop_tx.send(true)?;
    let mut latencies_us: Vec<u32> = Vec::new();
    let mut missing = 0usize;
    let expected: usize = sent.iter().map(Vec::len).sum();
    for task in tasks {
        let receipts = task.await??;
        missing += expected.saturating_sub(receipts.len());
        for (w, n, at) in receipts {
            let Some(start) = sent[w].get(n) else { continue };
            let us = at.saturating_duration_since(*start).as_micros();
            latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
        }
    }
    latencies_us.sort_unstable();
    let (p50, p99) = (percentile_ms(&latencies_us, 50.0), percentile_ms(&latencies_us, 99.0));
    let slowdown = 100.0 * (1.0 - with_rate / without_rate);
    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!(
        "| server RSS per idle watcher | {per_watcher_kib:.1} KiB ({:.1} MiB before, {:.1} MiB with {} idle watchers) | ≤ 64 KiB |",
        before as f64 / 1024.0,
        idle as f64 / 1024.0,
        args.watchers
    );
    println!("| writes/s without watchers | {without_rate:.0} | |");
    println!("| writes/s with {} watchers | {with_rate:.0} ({slowdown:+.1}% slower) | ≤ 10% slower |", args.watchers);
    println!(
        "| delivery, send to read, at {} writes/s (achieved {achieved:.0}) | p50 {p50:.1} ms, p99 {p99:.1} ms ({} deliveries) | p99 ≤ 50 ms |",
        args.rate,
        latencies_us.len()
    );
    if missing > 0 {
        println!("FAILED: {missing} deliveries missing");
        return Ok(false);
    }
    if args.smoke {
        println!("smoke: every watcher received every event (no verdicts on the targets)");
        return Ok(true);
    }
    let met = [
        ("p99 delivery ≤ 50 ms", p99 <= 50.0),
        ("≤ 64 KiB per idle watcher", per_watcher_kib <= 64.0),
        ("writes ≤ 10% slower", slowdown <= 10.0),
    ];
    for (target, ok) in met {
        println!("{target}: {}", if ok { "met" } else { "MISSED" });
    }
    Ok(true)
}
