//! The WatchEvents benchmark (docs/performance.md): many concurrent watchers on one server
//! (SQLite), then across two replicas on one PostgreSQL database (writes on one, watchers on
//! the other: every event goes through PostgreSQL), measured for
//!
//! - the server's RSS per idle watcher (RSS with the idle watchers open, less RSS before, over
//!   their number);
//! - write throughput (UpdateRunner over gRPC, 8 writers in a closed loop) without watchers
//!   (before and after the next run, and their mean), with the watchers idle (each watches one
//!   runner nobody writes: every write is one they skip), and with watchers of every event
//!   (every write an event to every watcher); and in each of those runs the servers' CPU time
//!   per write, which the other processes on a shared machine disturb less than the rate;
//! - delivery latency under a paced write rate: from the moment a write is sent (so it includes
//!   the write's own round trip up to its commit: an upper bound of commit to delivery) to the
//!   moment each watcher reads its event, p50 and p99 over every (write, watcher) pair.
//!
//! In the paced run every watcher must receive every write's event; a missing one fails the
//! run. In the closed-loop run with watchers of every write, the watchers the server cuts off
//! for falling behind (`resource_exhausted`, its designed answer to a consumer it cannot keep
//! up with) are counted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use gitpod_api::gitpod::v1::*;
use runner_testkit::{Client, ClientOptions, Protocol, ServerProcess, es, rs};

use crate::process::{FreshDatabase, finish, percentile_ms, proc_stat, runner_server, temp_dir};

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
    /// The run across two replicas on PostgreSQL.
    #[command(flatten)]
    pub pg: crate::process::PostgresArgs,
}

/// Where one run writes and watches.
struct Setup<'a> {
    /// What the table's title says of it.
    label: &'a str,
    /// The server the writers call.
    writes: &'a ServerProcess,
    /// The server the watchers watch (whose RSS is measured).
    watches: &'a ServerProcess,
    token: &'a str,
    /// The p99 delivery target, in milliseconds.
    p99_target_ms: f64,
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

/// A closed-loop run's writes per second, and the CPU time the servers, and this load
/// generator, spent per write.
struct Rate {
    per_second: f64,
    server_cpu_us: f64,
    load_cpu_us: f64,
}

/// `WRITERS` writers as fast as answered, for `duration`; `servers`: the processes whose CPU
/// each write is charged (the one that takes the writes and the one that has the watchers).
async fn rate(writers: &[(Client, String)], duration: Duration, tag: &str, servers: &[u32]) -> anyhow::Result<Rate> {
    let cpu = || servers.iter().map(|pid| Ok(proc_stat(*pid)?.cpu)).sum::<anyhow::Result<Duration>>();
    let own_cpu = || Ok::<_, anyhow::Error>(proc_stat(std::process::id())?.cpu);
    let (cpu_before, own_before) = (cpu()?, own_cpu()?);
    let sent = write(writers, duration, None, tag).await?;
    let (cpu, own) = (cpu()? - cpu_before, own_cpu()? - own_before);
    let writes = sent.iter().map(Vec::len).sum::<usize>();
    let per_write = |cpu: Duration| cpu.as_secs_f64() * 1e6 / writes.max(1) as f64;
    Ok(Rate {
        per_second: writes as f64 / duration.as_secs_f64(),
        server_cpu_us: per_write(cpu),
        load_cpu_us: per_write(own),
    })
}

/// One watcher's receipts of the latency runners' updates: (writer, n-th update, when).
type Receipts = Vec<(usize, usize, Instant)>;

pub async fn run(args: WatchersArgs) -> anyhow::Result<bool> {
    let server = ServerProcess::fresh(&args.server_bin, &[]);
    let one = Setup {
        label: "one server (SQLite)",
        writes: &server,
        watches: &server,
        token: server.token(),
        p99_target_ms: 50.0,
    };
    let sqlite = measure(&args, &one).await?;
    drop(server);
    let Some(db) = FreshDatabase::create(&args.pg, "the two-replica run").await? else {
        return Ok(sqlite);
    };
    let result = two_replicas(&args, &db).await;
    db.drop_database().await;
    Ok(result? && sqlite)
}

/// Two replicas on `db`: the writers call one, the watchers watch the other.
async fn two_replicas(args: &WatchersArgs, db: &FreshDatabase) -> anyhow::Result<bool> {
    let dir = temp_dir("runner-watchers")?;
    let run = async {
        let token = crate::prepare(&db.url, 0, false).await?.admin_token;
        let start =
            |name: &str| ServerProcess::start(runner_server(&args.server_bin, &db.url, &dir, "warn"), &dir, name);
        let (a, b) = (start("replica-a")?, start("replica-b")?);
        let label = "two replicas on one PostgreSQL database (writes on one, watchers on the other)";
        measure(args, &Setup { label, writes: &a, watches: &b, token: &token, p99_target_ms: 200.0 }).await
    };
    let result = run.await;
    finish(&dir, false, result)
}

async fn measure(args: &WatchersArgs, setup: &Setup<'_>) -> anyhow::Result<bool> {
    let (url, token) = (setup.writes.url.as_str(), setup.token);
    let watch_url = setup.watches.url.as_str();
    let pid = setup.watches.pid();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let c = client(url, token).await?;
        let id = new_runner(&c, format!("throughput {w}")).await?;
        writers.push((c, id));
    }
    println!("\nWatchEvents benchmark: {} watchers, {} writers; {}", args.watchers, WRITERS, setup.label);

    let mut servers = vec![setup.writes.pid(), pid];
    servers.dedup();
    let before = rate(&writers, args.duration, "alone", &servers).await?;

    // The latency runs' runners, known to the watchers before they start.
    let mut paced = Vec::new();
    for w in 0..WRITERS {
        let c = client(url, token).await?;
        let id = new_runner(&c, format!("latency {w}")).await?;
        paced.push((c, id));
    }
    let ids: Arc<Vec<String>> = Arc::new(paced.iter().map(|(_, id)| id.clone()).collect());

    // Watchers of one runner nobody writes: idle, each write is theirs to skip.
    let idle_runner = new_runner(&paced[0].0, "watched, never written".to_owned()).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = proc_stat(pid)?.rss_kib;
    let only_idle = vec![watch_events_request::ResourceTypeFilter {
        resource_type: ResourceType::Runner as i32,
        resource_ids: vec![idle_runner],
        creator_ids: vec![],
    }];
    let idle_watchers = open_watchers(args.watchers, watch_url, token, &only_idle, &ids).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = proc_stat(pid)?.rss_kib;
    let per_watcher_kib = idle.saturating_sub(rss_before) as f64 / args.watchers.max(1) as f64;
    let beside = rate(&writers, args.duration, "beside", &servers).await?;
    for receipts in idle_watchers.stop().await? {
        anyhow::ensure!(receipts.is_some_and(|r| r.is_empty()), "a watcher of an unwritten runner received an event");
    }
    // Without watchers again: the rate to compare with is the mean of the runs before and after,
    // so that the machine's drift during the runs (it is shared) weighs on both sides.
    let after = rate(&writers, args.duration, "alone again", &servers).await?;
    let without_rate = f64::midpoint(before.per_second, after.per_second);
    let without_cpu_us = f64::midpoint(before.server_cpu_us, after.server_cpu_us);
    let without_load_us = f64::midpoint(before.load_cpu_us, after.load_cpu_us);

    // Watchers of every event. A server that cannot deliver as fast as the closed-loop writers
    // write cuts the watchers that fall behind off (`resource_exhausted`, by design): counted
    // here, and the latency run has watchers of its own.
    let watchers = open_watchers(args.watchers, watch_url, token, &[], &ids).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let with = rate(&writers, args.duration, "watched", &servers).await?;
    let fell_behind = watchers.stop().await?.iter().filter(|w| w.is_none()).count();
    let (beside_rate, with_rate) = (beside.per_second, with.per_second);
    let watchers = open_watchers(args.watchers, watch_url, token, &[], &ids).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let interval = Duration::from_secs_f64(WRITERS as f64 / f64::from(args.rate.max(1)));
    let cpu_before = (proc_stat(pid)?.cpu, proc_stat(std::process::id())?.cpu);
    let sent = write(&paced, args.duration, Some(interval), "paced").await?;
    let achieved = sent.iter().map(Vec::len).sum::<usize>() as f64 / args.duration.as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (server_cpu, load_cpu) =
        (proc_stat(pid)?.cpu - cpu_before.0, proc_stat(std::process::id())?.cpu - cpu_before.1);
    let all_receipts = watchers.stop().await?;
    let mut latencies_us: Vec<u32> = Vec::new();
    let mut missing = 0usize;
    let expected: usize = sent.iter().map(Vec::len).sum();
    let cut_off = all_receipts.iter().filter(|r| r.is_none()).count();
    for receipts in all_receipts {
        // A watcher cut off for falling behind received none of what it missed.
        let receipts = receipts.unwrap_or_default();
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
    let idle_slowdown = 100.0 * (1.0 - beside_rate / without_rate);
    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!(
        "| server RSS per idle watcher | {per_watcher_kib:.1} KiB ({:.1} MiB before, {:.1} MiB with {} idle watchers) | ≤ 64 KiB |",
        rss_before as f64 / 1024.0,
        idle as f64 / 1024.0,
        args.watchers
    );
    let per_delivery = |cpu: Duration| cpu.as_secs_f64() * 1e6 / latencies_us.len().max(1) as f64;
    println!(
        "| writes/s without watchers (before and after the idle watchers' run) | {without_rate:.0} ({:.0}, {:.0}) | |",
        before.per_second, after.per_second
    );
    println!(
        "| writes/s with {} idle watchers (of another runner: each write is theirs to skip) | {beside_rate:.0} ({idle_slowdown:+.1}% slower) | ≤ 10% slower |",
        args.watchers
    );
    println!(
        "| writes/s with {} watchers of every write (each write {} deliveries) | {with_rate:.0} ({slowdown:+.1}% slower; {fell_behind} watchers fell behind and were cut off) | ≤ 10% slower |",
        args.watchers, args.watchers
    );
    println!(
        "| server CPU per write (CPU time over writes): without, with idle watchers, with watchers of every write | {without_cpu_us:.0} µs, {:.0} µs ({:+.1}%), {:.0} µs | |",
        beside.server_cpu_us,
        100.0 * (beside.server_cpu_us / without_cpu_us - 1.0),
        with.server_cpu_us
    );
    // The closed-loop writers alone keep both cores busy: a write then costs the machine the two
    // processes' CPU per write, and whatever this process spends reading the events it receives
    // (its CPU per write with watchers of every write, less that without) is taken from the
    // writes even were the server's deliveries free.
    let reading_us = (with.load_cpu_us - without_load_us).max(0.0);
    let machine_us = without_cpu_us + without_load_us;
    println!(
        "| this load generator's CPU per write: without watchers, with watchers of every write (reading their events) | {without_load_us:.0} µs, {:.0} µs | |",
        with.load_cpu_us
    );
    println!(
        "| the slowdown this load generator's reading alone costs on a machine it shares (server and generator CPU per write alone {machine_us:.0} µs, reading {reading_us:.0} µs more), were the server's deliveries free | {:.1}% | |",
        100.0 * reading_us / (machine_us + reading_us)
    );
    println!(
        "| delivery, send to read, at {} writes/s (achieved {achieved:.0}) | p50 {p50:.1} ms, p99 {p99:.1} ms ({} deliveries) | p99 ≤ {} ms |",
        args.rate,
        latencies_us.len(),
        setup.p99_target_ms
    );
    println!(
        "| CPU per delivery in that run (its writes included): the watchers' server, this load generator | {:.1} µs, {:.1} µs | |",
        per_delivery(server_cpu),
        per_delivery(load_cpu)
    );
    if missing > 0 {
        println!("FAILED: {missing} deliveries missing ({cut_off} watchers fell behind and were cut off)");
        return Ok(false);
    }
    if args.smoke {
        println!("smoke: every watcher received every event (no verdicts on the targets)");
        return Ok(true);
    }
    let met = [
        (format!("p99 delivery ≤ {} ms", setup.p99_target_ms), p99 <= setup.p99_target_ms),
        ("≤ 64 KiB per idle watcher".to_owned(), per_watcher_kib <= 64.0),
        ("writes ≤ 10% slower with idle watchers".to_owned(), idle_slowdown <= 10.0),
        (
            "writes ≤ 10% slower with watchers of every write, none cut off".to_owned(),
            slowdown <= 10.0 && fell_behind == 0,
        ),
    ];
    for (target, ok) in met {
        println!("{target}: {}", if ok { "met" } else { "MISSED" });
    }
    Ok(true)
}

/// Open watchers: each task records its receipts until its stop signal, or until the server
/// cuts it off for falling behind (`None`).
struct Watching {
    tasks: Vec<(WatcherTask, tokio::sync::oneshot::Sender<()>)>,
}

/// One watcher's task: its receipts, `None` when the server cut it off for falling behind.
type WatcherTask = tokio::task::JoinHandle<anyhow::Result<Option<Receipts>>>;

impl Watching {
    /// Stops every watcher at once; their receipts (`None`: cut off for falling behind).
    async fn stop(self) -> anyhow::Result<Vec<Option<Receipts>>> {
        let (tasks, stops): (Vec<_>, Vec<_>) = self.tasks.into_iter().unzip();
        for stop in stops {
            // A watcher that ended already has its error to tell.
            let _ = stop.send(());
        }
        let mut all = Vec::with_capacity(tasks.len());
        for task in tasks {
            all.push(task.await??);
        }
        Ok(all)
    }
}

/// Opens `count` watchers of `url` with `filters`, `PER_CONNECTION` to an HTTP/2 connection;
/// each records its receipts of the runners of `ids` (the n-th id: writer n) until stopped.
/// Reading is kept cheap (no shared lock or hashing per event): this process shares the
/// machine with the server it measures.
async fn open_watchers(
    count: usize,
    url: &str,
    token: &str,
    filters: &[watch_events_request::ResourceTypeFilter],
    ids: &Arc<Vec<String>>,
) -> anyhow::Result<Watching> {
    let mut tasks = Vec::new();
    let mut connection = None;
    for i in 0..count {
        if i % PER_CONNECTION == 0 {
            connection = Some(client(url, token).await?);
        }
        let c = connection.as_ref().expect("a connection");
        let req = WatchEventsRequest {
            scope: Some(watch_events_request::Scope::Organization(true)),
            resource_type_filters: filters.to_vec(),
        };
        let mut stream = c
            .server_stream::<_, WatchEventsResponse>(&es("WatchEvents"), req)
            .await
            .map_err(|f| anyhow::anyhow!("watcher {i}: {f}"))?;
        let ids = ids.clone();
        let (stop_tx, mut stop) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut receipts: Receipts = Vec::new();
            let mut counts = [0usize; WRITERS];
            loop {
                tokio::select! {
                    biased;
                    item = stream.next() => match item {
                        Some(Ok(event)) => {
                            if event.operation == ResourceOperation::Update as i32
                                && let Some(w) = ids.iter().position(|id| *id == event.resource_id)
                            {
                                receipts.push((w, counts[w], Instant::now()));
                                counts[w] += 1;
                            }
                        }
                        Some(Err(f)) if f.code == "resource_exhausted" => return Ok(None),
                        Some(Err(f)) => return Err(anyhow::anyhow!("watcher {i}: the stream ended: {f}")),
                        None => return Err(anyhow::anyhow!("watcher {i}: the stream ended")),
                    },
                    _ = &mut stop => return Ok(Some(receipts)),
                }
            }
        });
        tasks.push((task, stop_tx));
    }
    Ok(Watching { tasks })
}
