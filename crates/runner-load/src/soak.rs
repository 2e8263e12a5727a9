//! The soak: a real server on a seeded database, `--concurrency` client tasks calling it over
//! every protocol for `--duration`, the server's RSS and open file descriptors sampled from
//! `/proc`, and a verdict.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use gitpod_api::gitpod::v1::runner_configuration_schema::field::Type;
use gitpod_api::gitpod::v1::*;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use crate::SoakArgs;
use crate::client::{Client, Proto};
use crate::process::{finish, mib, percentile_ms, proc_stat, runner_server, temp_dir};
use runner_testkit::{ServerProcess, rcs, rs};

/// Interval between samples of the server's RSS and file descriptors.
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// Allowed RSS growth from the reference point to the end.
const RSS_SLACK: f64 = 1.10;
/// Allowed growth in open file descriptors from the reference point to the end. Not zero:
/// the server's SQLite pool opens connections (each a database fd plus its WAL and shm
/// files) lazily up to its limit of 8, and an HTTP/1.1 client may replace a keep-alive
/// connection the server closed; a leak grows without bound, which 10 over the whole run
/// still catches.
const FD_SLACK: i64 = 10;
/// ListRunners page size.
const PAGE: i32 = 50;

/// One sample of the server process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: u64,
}

fn sample(pid: u32, at: Duration) -> anyhow::Result<Sample> {
    let stat = proc_stat(pid).context("server process is gone")?;
    Ok(Sample { at, rss_kib: stat.rss_kib, fds: stat.fds })
}

/// Latencies (µs) and errors of one RPC over one protocol.
#[derive(Default)]
struct Row {
    latencies_us: Vec<u32>,
    errors: u64,
}

#[derive(Default)]
struct Stats {
    rows: BTreeMap<(&'static str, Proto), Row>,
    /// The first few distinct error messages, with the RPC and protocol.
    examples: Vec<String>,
}

impl Stats {
    fn merge(&mut self, other: Stats) {
        for (k, row) in other.rows {
            let mine = self.rows.entry(k).or_default();
            mine.latencies_us.extend(row.latencies_us);
            mine.errors += row.errors;
        }
        for e in other.examples {
            if self.examples.len() < 10 && !self.examples.contains(&e) {
                self.examples.push(e);
            }
        }
    }
}

/// Counters shared by the workers, for the progress lines.
#[derive(Default)]
struct Live {
    calls: AtomicU64,
    errors: AtomicU64,
}

/// What every worker shares.
struct Shared {
    runner_ids: Vec<String>,
    group_id: String,
    class_configuration: Vec<FieldValue>,
    deadline: Instant,
    live: Live,
}

struct Worker {
    client: Client,
    shared: Arc<Shared>,
    stats: Stats,
    rng: StdRng,
    /// Where this worker's walk through ListRunners is: the next page's token.
    list_token: String,
}

impl Worker {
    /// Calls one RPC, times it, checks the answer with `check`, and records the outcome.
    async fn rpc<Req, Resp, T>(
        &mut self,
        name: &'static str,
        path: &str,
        req: Req,
        check: impl FnOnce(Resp) -> Result<T, String>,
    ) -> Option<T>
    where
        Req: prost::Message + serde::Serialize + Send + Sync + 'static,
        Resp: prost::Message + serde::de::DeserializeOwned + Default + Send + Sync + 'static,
    {
        let started = Instant::now();
        let result = self.client.call::<Req, Resp>(path, req).await.and_then(check);
        let elapsed = started.elapsed();
        let row = self.stats.rows.entry((name, self.client.proto)).or_default();
        row.latencies_us.push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
        self.shared.live.calls.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                row.errors += 1;
                self.shared.live.errors.fetch_add(1, Ordering::Relaxed);
                let e = format!("{name} over {}: {e}", self.client.proto);
                if self.stats.examples.len() < 10 && !self.stats.examples.contains(&e) {
                    self.stats.examples.push(e);
                }
                None
            }
        }
    }

    fn random_runner(&mut self) -> String {
        let i = self.rng.random_range(0..self.shared.runner_ids.len());
        self.shared.runner_ids[i].clone()
    }

    async fn run(mut self) -> Stats {
        while Instant::now() < self.shared.deadline {
            match self.rng.random_range(0..100) {
                0..45 => self.get_runner().await,
                45..70 => self.list_runners().await,
                70..80 => self.validate_configuration().await,
                80..95 => self.check_authentication().await,
                _ => self.write_cycle().await,
            }
        }
        self.stats
    }

    async fn get_runner(&mut self) {
        let id = self.random_runner();
        let req = GetRunnerRequest { runner_id: id.clone() };
        self.rpc("GetRunner", &rs("GetRunner"), req, |r: GetRunnerResponse| match r.runner {
            Some(runner) if runner.runner_id == id => Ok(()),
            other => Err(format!("asked for {id}, got {:?}", other.map(|r| r.runner_id))),
        })
        .await;
    }

    /// The next page of this worker's walk through all runners; at the end it starts over.
    async fn list_runners(&mut self) {
        let req = ListRunnersRequest {
            pagination: Some(PaginationRequest { page_size: PAGE, token: self.list_token.clone() }),
            filter: None,
        };
        let next = self
            .rpc("ListRunners", &rs("ListRunners"), req, |r: ListRunnersResponse| {
                let next = r.pagination.unwrap_or_default().next_token;
                let n = r.runners.len();
                if n > PAGE as usize || (n < PAGE as usize && !next.is_empty()) {
                    return Err(format!("a page of {n} runners with next token {next:?}"));
                }
                if r.runners.iter().any(|x| x.runner_id.is_empty()) {
                    return Err("a runner without an id".to_owned());
                }
                Ok(next)
            })
            .await;
        self.list_token = next.unwrap_or_default();
    }

    fn class(&self, name: &str) -> EnvironmentClass {
        EnvironmentClass {
            display_name: name.to_owned(),
            description: "created by the soak".to_owned(),
            configuration: self.shared.class_configuration.clone(),
            ..Default::default()
        }
    }

    async fn validate_configuration(&mut self) {
        let req = ValidateRunnerConfigurationRequest {
            runner_id: self.random_runner(),
            config: Some(validate_runner_configuration_request::Config::EnvironmentClass(self.class("Soak Class"))),
        };
        self.rpc(
            "ValidateRunnerConfiguration",
            &rcs("ValidateRunnerConfiguration"),
            req,
            |r: ValidateRunnerConfigurationResponse| match r.result {
                Some(validate_runner_configuration_response::Result::EnvironmentClass(v)) if v.valid => Ok(()),
                other => Err(format!("expected a valid class, got {other:?}")),
            },
        )
        .await;
    }

    async fn check_authentication(&mut self) {
        let req = CheckAuthenticationForHostRequest { runner_id: self.random_runner(), host: "github.com".to_owned() };
        // The seeded runners have no SCM integration: nothing to authenticate with.
        self.rpc(
            "CheckAuthenticationForHost",
            &rs("CheckAuthenticationForHost"),
            req,
            |r: CheckAuthenticationForHostResponse| {
                if r.authenticated || !r.scm_id.is_empty() { Err(format!("no integration, yet {r:?}")) } else { Ok(()) }
            },
        )
        .await;
    }

    /// A runner's short life: created, renamed, given a policy and an environment class, each
    /// listed, then deleted (it never signed up, so it goes at once).
    async fn write_cycle(&mut self) {
        let name = format!("soak runner {}", self.rng.random_range(0..1_000_000u32));
        let req = CreateRunnerRequest {
            name: name.clone(),
            provider: RunnerProvider::Gcp as i32,
            spec: Some(RunnerSpec {
                configuration: Some(RunnerConfiguration { region: "europe-west1".to_owned(), ..Default::default() }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = self
            .rpc("CreateRunner", &rs("CreateRunner"), req, |r: CreateRunnerResponse| match r.runner {
                Some(runner) if runner.name == name && !r.exchange_token.is_empty() => Ok(runner.runner_id),
                other => Err(format!(
                    "unexpected answer: runner {other:?}, exchange token set: {}",
                    !r.exchange_token.is_empty()
                )),
            })
            .await;
        let Some(id) = created else { return };

        let req = UpdateRunnerRequest { runner_id: id.clone(), name: Some(format!("{name} renamed")), spec: None };
        self.rpc("UpdateRunner", &rs("UpdateRunner"), req, |_: UpdateRunnerResponse| Ok(())).await;

        let group = self.shared.group_id.clone();
        let req =
            CreateRunnerPolicyRequest { runner_id: id.clone(), group_id: group.clone(), role: RunnerRole::User as i32 };
        self.rpc("CreateRunnerPolicy", &rs("CreateRunnerPolicy"), req, |r: CreateRunnerPolicyResponse| {
            match r.policy {
                Some(p) if p.group_id == group => Ok(()),
                other => Err(format!("unexpected policy {other:?}")),
            }
        })
        .await;
        let req = ListRunnerPoliciesRequest {
            runner_id: id.clone(),
            pagination: Some(PaginationRequest { page_size: PAGE, token: String::new() }),
        };
        self.rpc("ListRunnerPolicies", &rs("ListRunnerPolicies"), req, |r: ListRunnerPoliciesResponse| {
            match r.policies.as_slice() {
                [p] if p.group_id == group => Ok(()),
                other => Err(format!("expected the one policy, got {other:?}")),
            }
        })
        .await;

        let class = self.class("Soak Class");
        let req = CreateEnvironmentClassRequest {
            runner_id: id.clone(),
            display_name: class.display_name,
            description: class.description,
            configuration: class.configuration,
        };
        let class_id = self
            .rpc("CreateEnvironmentClass", &rcs("CreateEnvironmentClass"), req, |r: CreateEnvironmentClassResponse| {
                if r.id.is_empty() { Err("no class id".to_owned()) } else { Ok(r.id) }
            })
            .await;
        let req = ListEnvironmentClassesRequest {
            pagination: Some(PaginationRequest { page_size: PAGE, token: String::new() }),
            filter: Some(list_environment_classes_request::Filter {
                runner_ids: vec![id.clone()],
                ..Default::default()
            }),
        };
        self.rpc("ListEnvironmentClasses", &rcs("ListEnvironmentClasses"), req, |r: ListEnvironmentClassesResponse| {
            let ids: Vec<&str> = r.environment_classes.iter().map(|c| c.id.as_str()).collect();
            match (&class_id, ids.as_slice()) {
                (Some(want), [got]) if want == got => Ok(()),
                (None, _) => Ok(()),
                _ => Err(format!("expected class {class_id:?}, got {ids:?}")),
            }
        })
        .await;

        let req = DeleteRunnerRequest { runner_id: id, force: false };
        self.rpc("DeleteRunner", &rs("DeleteRunner"), req, |_: DeleteRunnerResponse| Ok(())).await;
    }
}

/// A configuration the schema accepts: every environment-class field with a usable default.
fn valid_configuration(schema: &RunnerConfigurationSchema) -> Vec<FieldValue> {
    schema
        .environment_classes
        .iter()
        .filter_map(|f| {
            let value = match f.r#type.as_ref()? {
                Type::String(s) if !s.default.is_empty() => s.default.clone(),
                Type::Bool(b) => b.default.to_string(),
                Type::Int(i) => i.default.to_string(),
                Type::Enum(e) => e.default_value.as_ref().or(e.possible_values.first())?.title.clone(),
                _ => return None,
            };
            Some(FieldValue { key: f.id.clone(), value })
        })
        .collect()
}

pub async fn run(args: SoakArgs) -> anyhow::Result<bool> {
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let dir = temp_dir("runner-load")?;
    let result = soak(&args, &dir).await;
    finish(&dir, args.keep, result)
}

async fn soak(args: &SoakArgs, dir: &Path) -> anyhow::Result<bool> {
    let (url, seed) = match &args.database_url {
        Some(url) => (url.clone(), 0),
        None => (format!("sqlite://{}", dir.join("db.sqlite").display()), args.runners),
    };
    let prepared = crate::prepare(&url, seed, true).await?;
    if prepared.runner_ids.is_empty() {
        bail!("the database has no runners to read; seed it first");
    }
    let runners = prepared.runner_ids.len();

    let server_bin: PathBuf = args.server_bin.clone();
    let mut server = ServerProcess::start(runner_server(&server_bin, &url, dir, &args.server_log), dir, "server")?;
    let pid = server.pid();
    println!("server pid {pid} listening on {} with {runners} runners", server.url);

    let probe = Client::new(Proto::ConnectJsonH1, &server.url, &prepared.admin_token).await?;
    let schema: GetRunnerConfigurationSchemaResponse = probe
        .call(
            &rcs("GetRunnerConfigurationSchema"),
            GetRunnerConfigurationSchemaRequest { runner_id: prepared.runner_ids[0].to_string() },
        )
        .await
        .map_err(|e| anyhow::anyhow!("GetRunnerConfigurationSchema: {e}"))?;
    let class_configuration = valid_configuration(&schema.schema.unwrap_or_default());
    drop(probe);

    let mut clients = Vec::with_capacity(args.concurrency);
    for i in 0..args.concurrency {
        clients.push(Client::new(Proto::ALL[i % Proto::ALL.len()], &server.url, &prepared.admin_token).await?);
    }
    let idle = sample(pid, Duration::ZERO)?;

    let duration = args.duration;
    // The reference point for memory and descriptors: minute 1, or 10% into a shorter run.
    let reference = args.reference.unwrap_or(Duration::from_secs(60).min(duration / 10)).max(Duration::from_secs(1));
    if reference >= duration {
        bail!("the reference point ({} s) must come before the end of the run", reference.as_secs());
    }
    let started = Instant::now();
    let shared = Arc::new(Shared {
        runner_ids: prepared.runner_ids.iter().map(|id| id.to_string()).collect(),
        group_id: prepared.group_id.to_string(),
        class_configuration,
        deadline: started + duration,
        live: Live::default(),
    });
    println!(
        "soak: {} s, {} tasks over {} protocols, {} runners, org {}; reference point at {} s",
        duration.as_secs(),
        args.concurrency,
        Proto::ALL.len(),
        runners,
        prepared.org_id,
        reference.as_secs()
    );
    let workers: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, client)| {
            let worker = Worker {
                client,
                shared: shared.clone(),
                stats: Stats::default(),
                rng: StdRng::seed_from_u64(i as u64),
                list_token: String::new(),
            };
            tokio::spawn(worker.run())
        })
        .collect();

    // Samples at the reference point, every 10 s, and at the end.
    let mut times: Vec<Duration> = (1..).map(|n| SAMPLE_EVERY * n).take_while(|t| *t < duration).collect();
    times.push(reference);
    times.push(duration);
    times.sort();
    times.dedup();
    let mut samples = Vec::new();
    let mut last_calls = 0;
    let mut last_at = Duration::ZERO;
    for at in times {
        tokio::time::sleep_until((started + at).into()).await;
        let s = sample(pid, started.elapsed())?;
        let calls = shared.live.calls.load(Ordering::Relaxed);
        let rate = (calls - last_calls) as f64 / (s.at - last_at).as_secs_f64();
        (last_calls, last_at) = (calls, s.at);
        println!(
            "[{:>4} s] calls {calls:>9} ({rate:>6.0}/s)  errors {:>4}  rss {:>7.1} MiB  fds {}",
            at.as_secs(),
            shared.live.errors.load(Ordering::Relaxed),
            mib(s.rss_kib),
            s.fds
        );
        samples.push((at, s));
    }

    let mut stats = Stats::default();
    for w in workers {
        stats.merge(w.await.context("a worker panicked")?);
    }
    let elapsed = started.elapsed();
    let exit = server.stop()?;

    // --- Report -------------------------------------------------------------------------
    let at_reference = samples.iter().find(|(at, _)| *at == reference).map(|(_, s)| *s).context("no sample")?;
    let at_end = samples.last().map(|(_, s)| *s).context("no sample")?;
    let bound_ms = args.p99_bound_ms as f64;

    println!();
    println!(
        "{:<28} {:<17} {:>9} {:>7} {:>9} {:>9} {:>9}",
        "rpc", "protocol", "count", "errors", "p50 ms", "p99 ms", "max ms"
    );
    let mut all: Vec<u32> = Vec::new();
    let mut by_proto: BTreeMap<Proto, (Vec<u32>, u64)> = BTreeMap::new();
    let mut errors = 0;
    let mut slow = Vec::new();
    for ((rpc, proto), row) in &mut stats.rows {
        row.latencies_us.sort_unstable();
        let (p50, p99) = (percentile_ms(&row.latencies_us, 50.0), percentile_ms(&row.latencies_us, 99.0));
        let max = percentile_ms(&row.latencies_us, 100.0);
        let flag = if p99 > bound_ms { " > bound" } else { "" };
        println!(
            "{rpc:<28} {proto:<17} {:>9} {:>7} {p50:>9.2} {p99:>9.2} {max:>9.2}{flag}",
            row.latencies_us.len(),
            row.errors
        );
        if p99 > bound_ms {
            slow.push(format!("{rpc} over {proto}: p99 {p99:.1} ms"));
        }
        errors += row.errors;
        all.extend(&row.latencies_us);
        let p = by_proto.entry(*proto).or_default();
        p.0.extend(&row.latencies_us);
        p.1 += row.errors;
    }
    println!("{}", "-".repeat(96));
    for (proto, (mut lat, errs)) in by_proto {
        lat.sort_unstable();
        println!(
            "{:<28} {proto:<17} {:>9} {errs:>7} {:>9.2} {:>9.2} {:>9.2}",
            "all rpcs",
            lat.len(),
            percentile_ms(&lat, 50.0),
            percentile_ms(&lat, 99.0),
            percentile_ms(&lat, 100.0)
        );
    }
    all.sort_unstable();
    println!(
        "{:<28} {:<17} {:>9} {errors:>7} {:>9.2} {:>9.2} {:>9.2}",
        "TOTAL",
        "all",
        all.len(),
        percentile_ms(&all, 50.0),
        percentile_ms(&all, 99.0),
        percentile_ms(&all, 100.0)
    );
    println!();
    println!(
        "throughput: {:.0} calls/s over {:.1} s; {} tasks; {runners} runners; server exit: {exit}",
        all.len() as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        args.concurrency
    );
    if let Some(secs) = prepared.seed_seconds {
        println!("seeding: {runners} runners in {secs:.1} s");
    }
    let ratio = at_end.rss_kib as f64 / at_reference.rss_kib as f64;
    println!(
        "rss: {:.1} MiB idle, {:.1} MiB at {} s (reference), {:.1} MiB at the end; end/reference = {ratio:.3} (limit {RSS_SLACK:.2})",
        mib(idle.rss_kib),
        mib(at_reference.rss_kib),
        reference.as_secs(),
        mib(at_end.rss_kib)
    );
    let fd_growth = at_end.fds as i64 - at_reference.fds as i64;
    println!(
        "fds: {} idle, {} at {} s (reference), {} at the end; growth {fd_growth:+} (limit +{FD_SLACK})",
        idle.fds,
        at_reference.fds,
        reference.as_secs(),
        at_end.fds
    );
    println!("p99 bound: {bound_ms:.0} ms for every rpc × protocol");

    let mut failures = Vec::new();
    if errors > 0 {
        failures.push(format!("{errors} errors"));
        for e in &stats.examples {
            println!("  error: {e}");
        }
    }
    if ratio > RSS_SLACK {
        failures.push(format!("RSS grew {ratio:.3}× from the reference point"));
    }
    if fd_growth > FD_SLACK {
        failures.push(format!("{fd_growth} more file descriptors than at the reference point"));
    }
    failures.extend(slow);
    if !exit.success() {
        failures.push(format!("the server exited with {exit} on SIGTERM"));
    }
    if failures.is_empty() {
        println!("verdict: PASS");
        Ok(true)
    } else {
        println!("verdict: FAIL: {}", failures.join("; "));
        Ok(false)
    }
}
