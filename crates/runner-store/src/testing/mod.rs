//! The storage conformance suite: every behaviour the use cases rely on, stated once and run
//! against each backend with a factory that returns a fresh, empty store. One file per entity,
//! as the traits of `runner_core::store`.
//!
//! Each [`Case`] names the `Store` methods it checks. [`run_suite`] runs every case on a fresh
//! store behind a recorder that notes each call, and fails when a case does not call a method it
//! names, or when some method of `Store` is named by no case: a method added to a trait without
//! a case fails the suite, on every backend (and `every_store_method_has_a_case`, which needs
//! no database). The list of methods is the recorder's own trait impls, which the compiler keeps
//! complete, checked against the trait declarations parsed from runner-core's source.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use runner_core::authz::Visibility;
use runner_core::identity::*;
use runner_core::model::*;
use runner_core::store::{NewRunnerToken, RunnerTokenKind, Store};
use runner_core::time::Timestamp;
use uuid::Uuid;

mod accounts;
mod audit;
mod configuration;
mod coverage;
mod groups;
mod host_tokens;
mod identity;
mod invites;
mod llm_integrations;
mod pg;
mod policies;
mod role_assignments;
mod runner_tokens;
mod runners;
mod scm_integrations;
mod seed;
mod server;
mod service_accounts;
mod sessions;
mod sso;
pub mod upgrade;

pub use pg::{PgSchema, postgres_url};
pub use seed::seed_runners;

/// What a case runs: a check on one fresh store.
pub type CaseFuture = Pin<Box<dyn Future<Output = ()>>>;

/// One conformance case.
pub struct Case {
    pub name: &'static str,
    /// The `Store` methods whose behaviour the case checks; it must call each of them.
    pub methods: &'static [&'static str],
    pub run: fn(Arc<dyn Store>) -> CaseFuture,
}

/// `case!(function: method, method, …)`: the case that runs `function`, checking those methods.
macro_rules! case {
    ($run:ident: $($method:ident),+ $(,)?) => {
        crate::testing::Case {
            name: stringify!($run),
            methods: &[$(stringify!($method)),+],
            run: |store| -> crate::testing::CaseFuture { Box::pin($run(store)) },
        }
    };
}
use case;

/// Every case, entity by entity.
pub fn cases() -> Vec<Case> {
    [
        runners::cases(),
        runner_tokens::cases(),
        identity::cases(),
        invites::cases(),
        groups::cases(),
        policies::cases(),
        role_assignments::cases(),
        configuration::cases(),
        scm_integrations::cases(),
        host_tokens::cases(),
        llm_integrations::cases(),
        server::cases(),
        service_accounts::cases(),
        sso::cases(),
        accounts::cases(),
        sessions::cases(),
        audit::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Runs every case, each on a store from `factory`. Panics on the first failure, when a case
/// does not call a method it names, and when a method of `Store` has no case.
pub async fn run_suite<F, Fut>(factory: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    let mut checked = std::collections::BTreeSet::new();
    for case in cases() {
        let recorder = Arc::new(coverage::Recorder::new(factory().await));
        (case.run)(recorder.clone()).await;
        let called = recorder.called();
        for method in case.methods {
            assert!(called.contains(method), "case {} names {method} but does not call it", case.name);
            checked.insert(*method);
        }
    }
    let unchecked: Vec<_> = coverage::store_methods().into_iter().filter(|m| !checked.contains(m)).collect();
    assert!(unchecked.is_empty(), "Store methods without a conformance case: {unchecked:?}");
}

/// Creates an organization (with its org-members group) to put things in.
pub async fn new_org(store: &Arc<dyn Store>) -> (Organization, Group) {
    let now = Timestamp::now();
    let org =
        Organization { id: Uuid::now_v7(), name: format!("org {}", Uuid::new_v4()), created_at: now, updated_at: now };
    let members =
        Group { system: true, ..Group::new(org.id, ORG_MEMBERS_GROUP, "Every member of the organization", now) };
    let local = runner_core::accounts::local_configuration_runner(org.id, now);
    store.create_organization(&org, &members, &local, None).await.unwrap();
    (org, members)
}

fn everything(org: &Organization) -> Visibility {
    Visibility::All { org_id: org.id }
}

/// A runner with every field set.
pub fn sample_runner(org: &Organization, provider: RunnerProvider, creator: Option<Uuid>) -> Runner {
    let now = Timestamp::now();
    Runner {
        id: Uuid::now_v7(),
        org_id: org.id,
        name: "sample runner".to_owned(),
        kind: provider.kind(),
        provider: Some(provider),
        runner_manager_id: None,
        creator: creator.map(|id| Subject { id, principal: Principal::User }),
        created_at: now,
        updated_at: now,
        spec: RunnerSpec {
            desired_phase: Some(RunnerPhase::Active),
            configuration: RunnerConfiguration {
                region: "eu-central-1".to_owned(),
                release_channel: Some(ReleaseChannel::Latest),
                auto_update: true,
                metrics: Some(MetricsConfiguration {
                    enabled: true,
                    url: "https://m".to_owned(),
                    ..Default::default()
                }),
                log_level: Some(LogLevel::Warn),
                devcontainer_image_cache_enabled: true,
                update_window: Some(UpdateWindow { start_hour: 22, end_hour: 4 }),
                encrypted_honeycomb_api_key: vec![1, 2, 3],
                continuous_profiling: true,
            },
            variant: Some(RunnerVariant::Enterprise),
        },
        status: RunnerStatus {
            capabilities: vec![RunnerCapability::WarmPool],
            additional_info: vec![FieldValue { key: "k".to_owned(), value: "v".to_owned() }],
            public_key: vec![9; 32],
            ..Default::default()
        },
        revision: 1,
    }
}

/// A new exchange token for `runner`, valid for a minute.
fn token_for(runner: &Runner) -> NewRunnerToken {
    NewRunnerToken {
        hash: runner_core::secrets::hash(&Uuid::new_v4().to_string()),
        runner_id: runner.id,
        kind: RunnerTokenKind::Exchange,
        created_at: runner.created_at,
        expires_at: runner.created_at.plus_seconds(60),
    }
}

/// Inserts a sample runner of `provider` into `org`.
async fn add_runner(store: &Arc<dyn Store>, org: &Organization, provider: RunnerProvider) -> Runner {
    let r = sample_runner(org, provider, None);
    store.insert_runner(&r, &token_for(&r)).await.unwrap();
    r
}

/// A non-system group of `org`.
fn sample_group(org: &Organization, name: &str) -> Group {
    Group::new(org.id, name, &format!("the {name} group"), Timestamp::now())
}

/// An enabled environment class on `runner`, every field set.
fn sample_class(runner: &Runner) -> EnvironmentClass {
    let now = Timestamp::now();
    EnvironmentClass {
        id: Uuid::now_v7(),
        runner_id: runner.id,
        display_name: "Small".to_owned(),
        description: "two cores, 8 GiB".to_owned(),
        configuration: vec![
            FieldValue { key: "machine_type".to_owned(), value: "e2-standard-2".to_owned() },
            FieldValue { key: "disk_gb".to_owned(), value: "100".to_owned() },
        ],
        enabled: true,
        created_at: now,
        updated_at: now,
        revision: 1,
    }
}

/// An SCM integration of `runner` for `host` with OAuth (the client secret sealed to the
/// runner's key) and PAT.
fn sample_scm_integration(runner: &Runner, host: &str) -> ScmIntegration {
    let (public, _) = runner_core::crypto::generate_runner_keypair();
    let now = Timestamp::now();
    ScmIntegration {
        id: Uuid::now_v7(),
        runner_id: runner.id,
        scm_id: "github".to_owned(),
        host: host.to_owned(),
        oauth: Some(ScmOAuthConfig {
            client_id: "client-id".to_owned(),
            encrypted_client_secret: runner_core::crypto::seal_to_runner(&public, b"client secret").unwrap(),
            issuer_url: "https://login.example/tenant".to_owned(),
        }),
        pat: true,
        virtual_directory: Some("/tfs".to_owned()),
        created_at: now,
        updated_at: now,
        revision: 1,
    }
}

/// The at-rest key host token values are encrypted with in the suite.
fn at_rest_key() -> runner_core::crypto::AtRestKey {
    runner_core::crypto::AtRestKey::new([7; 32])
}

/// What a host token's `what` ("token", "refresh") is bound to: its id.
fn aad(id: Uuid, what: &str) -> Vec<u8> {
    [id.as_bytes().as_slice(), what.as_bytes()].concat()
}

/// `value` encrypted at rest, bound to the token `id`.
fn encrypted(id: Uuid, what: &str, value: &str) -> Vec<u8> {
    at_rest_key().encrypt(value.as_bytes(), &aad(id, what))
}

/// A host token of `subject` on `runner` for `host`, every field set, its values encrypted.
fn sample_host_token(runner: &Runner, host: &str, subject: Uuid, source: HostTokenSource) -> HostToken {
    let now = Timestamp::now();
    let id = Uuid::now_v7();
    HostToken {
        id,
        runner_id: runner.id,
        host: host.to_owned(),
        subject: Subject { id: subject, principal: Principal::User },
        source,
        token_ciphertext: encrypted(id, "token", "gho_token"),
        refresh_token_ciphertext: Some(encrypted(id, "refresh", "ghr_refresh")),
        expires_at: Some(now.plus_seconds(3600)),
        integration_id: Some(Uuid::now_v7()),
        scopes: vec!["repo".to_owned(), "read:org".to_owned()],
        created_at: now,
        updated_at: now,
        revision: 1,
    }
}

/// An LLM integration of `runner`, every field set.
fn sample_llm_integration(runner: &Runner) -> LlmIntegration {
    let now = Timestamp::now();
    LlmIntegration {
        id: Uuid::now_v7(),
        runner_id: runner.id,
        body: LlmIntegrationBody {
            models: vec![1, 3],
            endpoint: "https://llm.example/v1".to_owned(),
            encrypted_api_key: vec![4; 80],
            max_tokens: 4096,
            phase: 1,
            phase_reason: "ready".to_owned(),
            request_headers: vec![LlmRequestHeader {
                key: "x-org".to_owned(),
                sealed_value: vec![5; 60],
                header_type: 1,
            }],
            provider: 2,
        },
        created_at: now,
        updated_at: now,
        revision: 1,
    }
}

/// Who sees which runners. `me` created `mine`; my group has a policy on `shared`; nobody
/// gave me `hidden`; `foreign` (also mine) is in another organization.
struct Views {
    org: Organization,
    other: Organization,
    me: Uuid,
    group: Group,
    mine: Runner,
    shared: Runner,
    hidden: Runner,
    foreign: Runner,
}

impl Views {
    async fn new(store: &Arc<dyn Store>) -> Self {
        let (org, _) = new_org(store).await;
        let (other, _) = new_org(store).await;
        let me = Uuid::now_v7();
        let group = sample_group(&org, "team");
        store.create_group(&group).await.unwrap();
        let mine = sample_runner(&org, RunnerProvider::Gcp, Some(me));
        let shared = sample_runner(&org, RunnerProvider::Gcp, None);
        let hidden = sample_runner(&org, RunnerProvider::Gcp, None);
        let foreign = sample_runner(&other, RunnerProvider::Gcp, Some(me));
        for r in [&mine, &shared, &hidden, &foreign] {
            store.insert_runner(r, &token_for(r)).await.unwrap();
        }
        store
            .insert_runner_policy(&RunnerPolicy { runner_id: shared.id, group_id: group.id, role: RunnerRole::User })
            .await
            .unwrap();
        Self { org, other, me, group, mine, shared, hidden, foreign }
    }

    /// The four runners, in id order.
    fn runners(&self) -> [&Runner; 4] {
        [&self.mine, &self.shared, &self.hidden, &self.foreign]
    }

    /// Each visibility with the runners it shows, in id order.
    fn cases(&self) -> Vec<(Visibility, Vec<Uuid>)> {
        let (org, other) = (self.org.id, self.other.id);
        vec![
            (
                Visibility::Restricted { org_id: org, subject_id: self.me, groups: vec![self.group.id] },
                vec![self.mine.id, self.shared.id],
            ),
            (Visibility::Restricted { org_id: org, subject_id: self.me, groups: vec![] }, vec![self.mine.id]),
            (Visibility::All { org_id: org }, vec![self.mine.id, self.shared.id, self.hidden.id]),
            (Visibility::All { org_id: other }, vec![self.foreign.id]),
            // A runner's own principal sees itself, in its own organization only.
            (Visibility::Runner { org_id: org, runner_id: self.shared.id }, vec![self.shared.id]),
            (Visibility::Runner { org_id: other, runner_id: self.shared.id }, vec![]),
        ]
    }

    /// Checks a list under every visibility: `list` gives the runner ids of what it lists
    /// (one item per runner, created in runner order).
    async fn check<F, Fut>(&self, mut list: F)
    where
        F: FnMut(Visibility) -> Fut,
        Fut: Future<Output = Vec<Uuid>>,
    {
        for (visibility, expected) in self.cases() {
            assert_eq!(list(visibility.clone()).await, expected, "{visibility:?}");
        }
    }
}

/// Walks a list `limit` items at a time, each page after the last id of the one before, until
/// a short page; returns every id in order. No page is longer than `limit`.
async fn walk<F, Fut>(limit: u32, mut page: F) -> Vec<Uuid>
where
    F: FnMut(Option<Uuid>, u32) -> Fut,
    Fut: Future<Output = Vec<Uuid>>,
{
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let ids = page(after, limit).await;
        assert!(ids.len() <= limit as usize, "a page of {} with limit {limit}", ids.len());
        all.extend(&ids);
        if ids.len() < limit as usize {
            return all;
        }
        after = ids.last().copied();
    }
}

/// Checks a list filtered by runner ids (SCM and LLM integrations). `items` are the `(id,
/// runner id)` of everything on the two `runners`, in id order; `list(runner_ids, after,
/// limit)` lists the ids of what the organization's admin sees.
async fn check_runner_ids_filter<F, Fut>(items: &[(Uuid, Uuid)], runners: [Uuid; 2], list: F)
where
    F: Fn(Vec<Uuid>, Option<Uuid>, u32) -> Fut,
    Fut: Future<Output = Vec<Uuid>>,
{
    let on = |runner: Uuid| -> Vec<Uuid> { items.iter().filter(|(_, r)| *r == runner).map(|(id, _)| *id).collect() };
    let every: Vec<Uuid> = items.iter().map(|(id, _)| *id).collect();
    for limit in [1, 4, items.len() as u32] {
        assert_eq!(walk(limit, |after, limit| list(vec![], after, limit)).await, every);
    }
    assert_eq!(list(vec![runners[1]], None, 100).await, on(runners[1]));
    assert_eq!(walk(2, |after, limit| list(vec![runners[0]], after, limit)).await, on(runners[0]));
    assert_eq!(list(runners.to_vec(), None, 100).await, every);
    assert_eq!(list(vec![Uuid::now_v7()], None, 100).await, Vec::<Uuid>::new());
}

/// The ids of `items`, as `id` reads them.
fn ids<T>(items: Vec<T>, id: impl Fn(&T) -> Uuid) -> Vec<Uuid> {
    items.iter().map(id).collect()
}
