//! Many writers on one resource, as the concurrency tests run them in process
//! (`tests/api/concurrency.rs`) and across replicas (`tests/binary/replicas.rs`): [`WRITERS`]
//! clients each make [`UPDATES`] updates one after the other, all clients at once, and read the
//! resource back after each ([`updates_in_turn`]). Each update names its writer and its number
//! in every field it sets, so that what is read back tells whose update it is
//! ([`writer_and_update`]), whether it arrived whole, and whether every acknowledged update
//! became visible in order ([`assert_in_order`]).

use std::time::Duration;

use gitpod_api::gitpod::v1::*;

use crate::client::{Client, Failure};

/// Clients writing at once.
pub const WRITERS: usize = 64;
/// Updates each writer makes, one after the other.
pub const UPDATES: usize = 10;
/// The whole run ends within this, or it is taken for a deadlock.
const BOUND: Duration = Duration::from_secs(180);

/// What one writer read back after each of its acknowledged updates: the (writer, update) the
/// value it read came from.
pub type Seen = Vec<(usize, usize)>;

/// Each client makes [`UPDATES`] updates one after the other with `update(client, writer, n)`,
/// all clients at once, and after each reads the resource back with `read`. An update answered
/// `unavailable` is sent again after a pause, as the SDKs do: the server says so when a write
/// waited past its bound (`--write-wait-ms`) for its turn, and such a write wrote nothing (the
/// revision count of the tests would show it otherwise). On a loaded machine 64 writers of one
/// resource can wait that long. Panics when an update fails otherwise, or when the run does not
/// end within a bound. Returns what each writer read.
pub async fn updates_in_turn(
    what: &str,
    clients: &[Client],
    update: impl AsyncFn(&Client, usize, usize) -> Result<(), Failure>,
    read: impl AsyncFn(&Client) -> (usize, usize),
) -> Vec<Seen> {
    let (update, read) = (&update, &read);
    let retries = &std::sync::atomic::AtomicUsize::new(0);
    let writers = clients.iter().enumerate().map(|(w, c)| async move {
        let mut seen = Seen::new();
        for n in 0..UPDATES {
            loop {
                match update(c, w, n).await {
                    Ok(()) => break,
                    Err(f) if f.code == "unavailable" => {
                        retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(f) => panic!("{what}: writer {w}'s update {n} over {:?} failed: {f}", c.protocol),
                }
            }
            seen.push(read(c).await);
        }
        seen
    });
    let started = std::time::Instant::now();
    let seen = tokio::time::timeout(BOUND, futures::future::join_all(writers))
        .await
        .unwrap_or_else(|_| panic!("{what}: not finished after {BOUND:?} (deadlock?)"));
    let took = started.elapsed();
    let updates = clients.len() * UPDATES;
    let retries = retries.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "{what}: {updates} updates by {} writers in {} ms, all acknowledged ({retries} sent again after unavailable)",
        clients.len(),
        took.as_millis()
    );
    seen
}

/// Every acknowledged update is visible, in order: after its update `n` a writer reads that
/// update or a later write, never one of its own earlier ones, and no writer sees anybody's
/// updates go back.
pub fn assert_in_order(what: &str, seen: &[Seen]) {
    for (w, reads) in seen.iter().enumerate() {
        let mut latest: Vec<Option<usize>> = vec![None; seen.len()];
        for (n, &(writer, update)) in reads.iter().enumerate() {
            if writer == w {
                assert_eq!(update, n, "{what}: after its update {n} writer {w} read its own update {update}");
            }
            if let Some(before) = latest[writer] {
                assert!(update >= before, "{what}: writer {w} read writer {writer}'s update {update} after {before}");
            }
            latest[writer] = Some(update);
        }
    }
}

/// The writer and update numbers `W-N` right after `prefix` in `text`.
pub fn writer_and_update(text: &str, prefix: &str) -> (usize, usize) {
    let rest = text.split(prefix).nth(1).unwrap_or_else(|| panic!("{text:?} has no {prefix:?}"));
    let (w, n) = rest.split_once('-').unwrap_or_else(|| panic!("{text:?}"));
    let n: String = n.chars().take_while(char::is_ascii_digit).collect();
    (w.parse().expect(text), n.parse().expect(text))
}

/// Writer `w`'s update `n` of a runner: its name (`writer W-N`) and settings all follow from
/// `w` and `n`.
pub fn runner_update(runner_id: &str, w: usize, n: usize) -> UpdateRunnerRequest {
    let i = w * UPDATES + n;
    UpdateRunnerRequest {
        runner_id: runner_id.to_owned(),
        name: Some(format!("writer {w}-{n}")),
        spec: Some(update_runner_request::Spec {
            configuration: Some(update_runner_request::RunnerConfiguration {
                release_channel: Some(
                    (if i.is_multiple_of(2) { RunnerReleaseChannel::Stable } else { RunnerReleaseChannel::Latest })
                        as i32,
                ),
                auto_update: Some(i.is_multiple_of(3)),
                metrics: Some(update_runner_request::MetricsConfiguration {
                    enabled: Some(!i.is_multiple_of(5)),
                    url: Some(format!("https://metrics.example.com/{i}")),
                    username: Some(format!("user-{i}")),
                    ..Default::default()
                }),
                log_level: Some([LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error][i % 4] as i32),
                devcontainer_image_cache_enabled: Some(i.is_multiple_of(7)),
                update_window: Some(UpdateWindow { start_hour: Some((i % 24) as u32), end_hour: None }),
                continuous_profiling: Some(!i.is_multiple_of(2)),
                ..Default::default()
            }),
            desired_phase: None,
        }),
    }
}

/// The runner holds one writer's update whole: its name and every setting of that update.
/// Returns (writer, update).
pub fn assert_whole_runner_update(runner: &Runner) -> (usize, usize) {
    let (w, n) = writer_and_update(&runner.name, "writer ");
    let c = runner.spec.as_ref().and_then(|s| s.configuration.clone()).expect("a configuration");
    let want = runner_update(&runner.runner_id, w, n).spec.unwrap().configuration.unwrap();
    let m = c.metrics.expect("metrics");
    let want_m = want.metrics.unwrap();
    assert_eq!(
        (
            Some(c.release_channel),
            Some(c.auto_update),
            Some(c.log_level),
            Some(c.devcontainer_image_cache_enabled),
            Some(c.continuous_profiling),
            c.update_window.and_then(|u| u.start_hour),
            Some(m.enabled),
            Some(m.url),
            Some(m.username),
        ),
        (
            want.release_channel,
            want.auto_update,
            want.log_level,
            want.devcontainer_image_cache_enabled,
            want.continuous_profiling,
            want.update_window.unwrap().start_hour,
            want_m.enabled,
            want_m.url,
            want_m.username,
        ),
        "the settings of writer {w}'s update {n}, whole"
    );
    (w, n)
}

/// An Azure DevOps (Entra) integration with OAuth on `runner_id` (which needs a public key), for
/// [`scm_update`]s.
pub fn entra_integration(runner_id: &str) -> CreateScmIntegrationRequest {
    CreateScmIntegrationRequest {
        runner_id: runner_id.to_owned(),
        scm_id: "azuredevops_entra".into(),
        host: "dev.azure.com/acme".into(),
        oauth_client_id: Some("client-initial".into()),
        oauth_plaintext_client_secret: Some("secret-initial".into()),
        issuer_url: Some("https://login.microsoftonline.com/initial/v2.0".into()),
        pat: false,
        ..Default::default()
    }
}

/// Writer `w`'s update `n` of an Azure DevOps (Entra) integration: client id `client-W-N`,
/// sealed secret and issuer (Entra has no PAT, so `pat` stays false).
pub fn scm_update(id: &str, w: usize, n: usize) -> UpdateScmIntegrationRequest {
    UpdateScmIntegrationRequest {
        id: id.to_owned(),
        oauth_client_id: Some(format!("client-{w}-{n}")),
        oauth_plaintext_client_secret: Some(format!("secret-of-writer-{w}-{n}")),
        pat: Some(false),
        issuer_url: Some(format!("https://login.microsoftonline.com/tenant-{w}-{n}/v2.0")),
        virtual_directory: None,
    }
}

/// The integration holds one writer's update whole: client id, issuer, and the client secret
/// sealed to the runner (opened with `runner_secret_key`). Returns (writer, update).
pub fn assert_whole_scm_update(got: &ScmIntegration, runner_secret_key: &[u8; 32]) -> (usize, usize) {
    let oauth = got.oauth.as_ref().expect("OAuth");
    let (w, n) = writer_and_update(&oauth.client_id, "client-");
    let want = scm_update(&got.id, w, n);
    assert_eq!(
        (Some(&oauth.issuer_url), Some(got.pat)),
        (want.issuer_url.as_ref(), want.pat),
        "writer {w}'s update {n}"
    );
    let secret = runner_core::crypto::open_sealed(runner_secret_key, &oauth.encrypted_client_secret).unwrap();
    assert_eq!(Some(String::from_utf8(secret).unwrap()), want.oauth_plaintext_client_secret, "writer {w}'s secret {n}");
    (w, n)
}
