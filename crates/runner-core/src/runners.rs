//! Runner use cases: one function per RPC. Inputs arrive as the raw values of the request
//! (strings, enum numbers, presence as `Option`) and are validated here, so every protocol
//! gets the same rules and messages.

use std::sync::Arc;

use uuid::Uuid;

use crate::authz::{self, RunnerAccess, Visibility};
use crate::crypto::AtRestKey;
use crate::error::{CoreError, FieldViolation, Resource, Result};
use crate::events::{Audience, Event, EventBus, EventResource, Operation};
use crate::identity::Caller;
use crate::model::*;
pub use crate::page::Page;
use crate::page::PageTokens;
use crate::secrets::{runner_token, seal};
use crate::store::{RunnerTokenKind, Store, WriteOutcome};
use crate::time::{Deadline, Timestamp};
use crate::turns::Turns;
use crate::validate::{self, Violations};

/// Runner names are 3 to 127 characters.
pub const NAME_MIN: usize = 3;
pub const NAME_MAX: usize = 127;
/// Exchange tokens are valid for 24 hours.
pub const EXCHANGE_TOKEN_TTL_SECS: i64 = 24 * 3600;
/// Logs tokens are valid for one hour.
pub const LOGS_TOKEN_TTL_SECS: i64 = 3600;
/// A runner that has not reported its status for this long is shown as INACTIVE.
pub const DEFAULT_HEARTBEAT_TIMEOUT_SECS: i64 = 90;
const LIST_KIND: &str = "runners";

/// `UpdateWindow` as sent: both hours optional.
#[derive(Debug, Clone, Default)]
pub struct UpdateWindowInput {
    pub start_hour: Option<u32>,
    pub end_hour: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct MetricsInput {
    pub enabled: bool,
    pub url: String,
    pub username: String,
    pub password: String,
    pub managed_metrics_enabled: bool,
    pub include_verbose_metrics: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ConfigurationInput {
    pub region: String,
    pub release_channel: i32,
    pub auto_update: bool,
    pub metrics: Option<MetricsInput>,
    pub log_level: i32,
    pub devcontainer_image_cache_enabled: bool,
    pub update_window: Option<UpdateWindowInput>,
    pub encrypted_honeycomb_api_key: Vec<u8>,
    pub continuous_profiling: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SpecInput {
    pub desired_phase: i32,
    pub configuration: Option<ConfigurationInput>,
    pub variant: i32,
}

/// CreateRunner as sent.
#[derive(Debug, Clone, Default)]
pub struct CreateRunnerInput {
    pub name: String,
    pub kind: i32,
    pub provider: i32,
    pub runner_manager_id: String,
    pub spec: Option<SpecInput>,
}

/// ListRunners as sent (after the query string was merged into `pagination`).
#[derive(Debug, Clone, Default)]
pub struct ListRunnersInput {
    pub page_size: i32,
    pub token: String,
    pub creator_ids: Vec<String>,
    pub kinds: Vec<i32>,
    pub providers: Vec<i32>,
}

#[derive(Debug, Clone, Default)]
pub struct MetricsPatch {
    pub enabled: Option<bool>,
    pub url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub managed_metrics_enabled: Option<bool>,
    pub include_verbose_metrics: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct ConfigurationPatch {
    pub release_channel: Option<i32>,
    pub auto_update: Option<bool>,
    pub metrics: Option<MetricsPatch>,
    pub log_level: Option<i32>,
    pub devcontainer_image_cache_enabled: Option<bool>,
    pub update_window: Option<UpdateWindowInput>,
    pub honeycomb_api_key: Option<String>,
    pub continuous_profiling: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct SpecPatch {
    pub configuration: Option<ConfigurationPatch>,
    pub desired_phase: Option<i32>,
}

/// UpdateRunner as sent: every field but the id is optional.
#[derive(Debug, Clone, Default)]
pub struct UpdateRunnerInput {
    pub runner_id: String,
    pub name: Option<String>,
    pub spec: Option<SpecPatch>,
}

/// A new runner and the one-time exchange token minted with it (plaintext, shown once).
#[derive(Debug)]
pub struct CreatedRunner {
    pub runner: Runner,
    pub exchange_token: String,
}

/// The runner use cases over a store.
#[derive(Clone)]
pub struct Runners {
    store: Arc<dyn Store>,
    page_tokens: PageTokens,
    at_rest: AtRestKey,
    heartbeat_timeout_secs: i64,
    turns: Turns,
    /// Where committed runner writes are published (crate::events).
    events: EventBus,
}

impl Runners {
    pub fn new(store: Arc<dyn Store>, page_tokens: PageTokens, at_rest: AtRestKey) -> Self {
        let turns = Turns::new(store.clone(), Resource::Runner);
        Self {
            store,
            page_tokens,
            at_rest,
            heartbeat_timeout_secs: DEFAULT_HEARTBEAT_TIMEOUT_SECS,
            turns,
            events: EventBus::default(),
        }
    }

    /// The bus runner events are published on.
    pub fn event_bus(&self) -> &EventBus {
        &self.events
    }

    /// Publishes a committed write of `runner` (call only after the store returned `Ok`).
    pub(crate) fn published(&self, runner: &Runner, operation: Operation) {
        self.events.publish(Event {
            org_id: runner.org_id,
            operation,
            resource: EventResource::Runner,
            resource_id: runner.id,
            creator_id: runner.creator.as_ref().map(|c| c.id),
            audience: Audience::Runner(runner.id),
        });
    }

    /// Publishes a committed write of `resource` `id`, which belongs to `runner` (call only after
    /// the store returned `Ok`).
    pub(crate) fn published_part(&self, runner: &Runner, resource: EventResource, id: Uuid, operation: Operation) {
        self.events.publish(Event {
            org_id: runner.org_id,
            operation,
            resource,
            resource_id: id,
            creator_id: None,
            audience: Audience::Runner(runner.id),
        });
    }

    /// After how many seconds without a status report an ACTIVE or DEGRADED runner is shown as
    /// INACTIVE.
    pub fn with_heartbeat_timeout(mut self, seconds: i64) -> Self {
        self.heartbeat_timeout_secs = seconds;
        self
    }

    /// The runner as users see it. The stored phase is what the runner last reported; a runner
    /// that has not reported for longer than the heartbeat timeout is shown as INACTIVE, its
    /// message saying since when and what it last reported. Computed when read, so every
    /// replica agrees without a background job, and the next report restores the phase.
    /// When the runner last reported, if it is stale at `now`: ACTIVE or DEGRADED as stored, and
    /// silent for longer than the heartbeat timeout.
    pub(crate) fn stale_since(&self, runner: &Runner, now: Timestamp) -> Option<Timestamp> {
        let last = self.reported(runner)?;
        (last.plus_seconds(self.heartbeat_timeout_secs) < now).then_some(last)
    }

    /// When an ACTIVE or DEGRADED runner (as stored) last reported; `None` in any other phase,
    /// which never goes stale.
    pub(crate) fn reported(&self, runner: &Runner) -> Option<Timestamp> {
        let status = &runner.status;
        if matches!(status.phase, RunnerPhase::Active | RunnerPhase::Degraded) { status.updated_at } else { None }
    }

    /// The heartbeat timeout, in seconds.
    pub(crate) fn heartbeat_timeout_secs(&self) -> i64 {
        self.heartbeat_timeout_secs
    }

    /// The store, for the server's own followers of runners (`crate::heartbeats`).
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn observed(&self, mut runner: Runner, now: Timestamp) -> Runner {
        self.observe(&mut runner, now);
        runner
    }

    /// Shows a runner whose heartbeat lapsed as INACTIVE, saying since when.
    fn observe(&self, runner: &mut Runner, now: Timestamp) {
        if let Some(last) = self.stale_since(runner, now) {
            let status = &mut runner.status;
            let phase = status.phase.as_str().to_uppercase();
            let was = if status.message.is_empty() { phase } else { format!("{phase}: {}", status.message) };
            status.message = format!(
                "no status report from the runner since {} (timeout {} s); it last reported {was}",
                last.rfc3339(),
                self.heartbeat_timeout_secs
            );
            status.phase = RunnerPhase::Inactive;
        }
    }

    pub async fn create(&self, caller: &Caller, input: CreateRunnerInput) -> Result<CreatedRunner> {
        authz::require_runner_creator(caller)?;
        let mut v = Violations::default();
        let name = v.check(validate::name("name", &input.name, NAME_MIN, NAME_MAX));
        let kind_provider = v.check(kind_and_provider(input.kind, input.provider));
        let manager = v.check(validate::optional_uuid("runnerManagerId", &input.runner_manager_id));
        let metrics_password = input
            .spec
            .as_ref()
            .and_then(|s| s.configuration.as_ref())
            .and_then(|c| c.metrics.as_ref())
            .map(|m| m.password.clone())
            .filter(|p| !p.is_empty());
        let spec = v.check(create_spec(input.spec.unwrap_or_default()));
        if let (Some((_, provider)), Some(manager)) = (&kind_provider, &manager) {
            let managed = *provider == Some(RunnerProvider::Managed);
            if managed && manager.is_none() {
                v.push(FieldViolation::new("runnerManagerId", "is required for managed runners"));
            } else if !managed && manager.is_some() {
                v.push(FieldViolation::new("runnerManagerId", "must not be set for runners that are not managed"));
            }
        }
        if let (Some((_, Some(RunnerProvider::AwsEc2))), Some(spec)) = (&kind_provider, &spec)
            && spec.configuration.region.trim().is_empty()
        {
            v.push(FieldViolation::new("spec.configuration.region", "is required for AWS EC2 runners"));
        }
        if let (Some((_, Some(provider))), Some(spec)) = (&kind_provider, &spec)
            && let Some(problem) = region_problem(*provider, &spec.configuration.region)
        {
            v.push(FieldViolation::new("spec.configuration.region", problem));
        }
        v.finish()?;
        let (kind, provider) = kind_provider.expect("checked");
        if let Some(p) = provider.filter(|p| p.is_internal()) {
            return Err(CoreError::denied(
                format!("organization {}", caller.org_id),
                format!("runners of provider {} are reserved for the service operator", p.as_str()),
            ));
        }

        let now = Timestamp::now();
        let mut runner = Runner {
            id: Uuid::now_v7(),
            org_id: caller.org_id,
            name: name.expect("checked"),
            kind,
            provider,
            runner_manager_id: manager.flatten(),
            creator: Some(caller.subject.clone()),
            created_at: now,
            updated_at: now,
            spec: spec.expect("checked"),
            status: RunnerStatus::default(),
            revision: 1,
        };
        if let (Some(password), Some(m)) = (metrics_password, runner.spec.configuration.metrics.as_mut()) {
            m.encrypted_password = self.at_rest.encrypt(password.as_bytes(), &metrics_aad(runner.id));
        }
        let (token, record) = runner_token(runner.id, RunnerTokenKind::Exchange, EXCHANGE_TOKEN_TTL_SECS);
        self.store.insert_runner(&runner, &record).await?;
        self.published(&runner, Operation::Create);
        Ok(CreatedRunner { runner, exchange_token: token })
    }

    pub async fn get(&self, caller: &Caller, runner_id: &str) -> Result<Runner> {
        let id = validate::uuid("runnerId", runner_id)?;
        let runner = self.load_for(caller, id, RunnerAccess::User).await?;
        Ok(self.observed(runner, Timestamp::now()))
    }

    /// The runner, if the caller has at least `needed` access to it; `not_found` when it cannot
    /// see it, `permission_denied` when its role is too weak.
    pub async fn load_for(&self, caller: &Caller, id: Uuid, needed: RunnerAccess) -> Result<Runner> {
        let runner = self.store.get_runner(id).await?.ok_or_else(|| CoreError::not_found(Resource::Runner, id))?;
        authz::require(self.access(caller, &runner).await?, needed, id)?;
        Ok(runner)
    }

    /// The runner a resource belongs to, if the caller has `needed` access to it. A runner the
    /// caller cannot see hides its resources too: that is the resource's `not_found`
    /// (`missing`), not the runner's.
    pub async fn parent_of(
        &self,
        caller: &Caller,
        runner_id: Uuid,
        needed: RunnerAccess,
        missing: CoreError,
    ) -> Result<Runner> {
        match self.load_for(caller, runner_id, needed).await {
            Err(CoreError::NotFound { .. }) => Err(missing),
            other => other,
        }
    }

    /// The caller's access to a runner, reading its policies only when they matter.
    pub async fn access(&self, caller: &Caller, runner: &Runner) -> Result<RunnerAccess> {
        let quick = authz::runner_access(caller, runner, &[]);
        if quick == RunnerAccess::Admin || runner.org_id != caller.org_id {
            return Ok(quick);
        }
        let roles = self.store.policy_roles(runner.id, &caller.groups).await?;
        Ok(authz::runner_access(caller, runner, &roles))
    }

    /// A new one-time exchange token for a runner; earlier ones stay valid.
    pub async fn create_token(&self, caller: &Caller, runner_id: &str) -> Result<String> {
        let id = validate::uuid("runnerId", runner_id)?;
        let runner = self.load_for(caller, id, RunnerAccess::Admin).await?;
        if runner.kind == RunnerKind::LocalConfiguration {
            return Err(CoreError::FailedPrecondition(
                "the local-configuration runner has no process to bootstrap".into(),
            ));
        }
        if runner.status.phase == RunnerPhase::Deleting {
            return Err(CoreError::FailedPrecondition("runner is being deleted".to_owned()));
        }
        let (token, record) = runner_token(id, RunnerTokenKind::Exchange, EXCHANGE_TOKEN_TTL_SECS);
        self.store.insert_runner_token(&record).await?;
        Ok(token)
    }

    /// A one-hour token for one runner's logs and support bundle.
    pub async fn create_logs_token(&self, caller: &Caller, runner_id: &str) -> Result<String> {
        let id = validate::uuid("runnerId", runner_id)?;
        self.load_for(caller, id, RunnerAccess::Admin).await?;
        let (token, record) = runner_token(id, RunnerTokenKind::Logs, LOGS_TOKEN_TTL_SECS);
        self.store.insert_runner_token(&record).await?;
        Ok(token)
    }

    pub async fn list(&self, caller: &Caller, input: ListRunnersInput) -> Result<Page<Runner>> {
        let mut v = Violations::default();
        let size = v.check(validate::page_size("pagination.pageSize", input.page_size));
        let creator_ids =
            v.check(validate::filter_list("filter.creatorIds", &input.creator_ids, |f, s| validate::uuid(f, s)));
        let kinds = v.check(validate::filter_list("filter.kinds", &input.kinds, |f, n| {
            validate::enum_value::<RunnerKind>(f, *n)
        }));
        let providers = v.check(validate::filter_list("filter.providers", &input.providers, |f, n| {
            validate::enum_value::<RunnerProvider>(f, *n)
        }));
        let request_filter = RunnerFilter {
            creator_ids: creator_ids.unwrap_or_default(),
            kinds: kinds.unwrap_or_default(),
            providers: providers.unwrap_or_default(),
        };
        let cursor = v.check(self.page_tokens.cursor("pagination.token", LIST_KIND, &input.token, request_filter));
        v.finish()?;
        let (size, cursor) = (size.expect("checked"), cursor.expect("checked"));
        let after = cursor.after_id()?;
        let mut items = self.store.list_runners(&Visibility::of(caller), &cursor.filter, after, size + 1).await?;
        let now = Timestamp::now();
        for runner in &mut items {
            self.observe(runner, now);
        }
        Ok(self.page_tokens.page(LIST_KIND, &cursor.filter, items, size, |item| item.id))
    }

    pub async fn update(&self, caller: &Caller, deadline: Deadline, input: UpdateRunnerInput) -> Result<()> {
        let id = validate::uuid("runnerId", &input.runner_id)?;
        let mut v = Violations::default();
        let name = match &input.name {
            Some(n) => v.check(validate::name("name", n, NAME_MIN, NAME_MAX)).map(Some),
            None => Some(None),
        };
        let spec = match input.spec.as_ref().map(check_spec_patch).transpose() {
            Ok(spec) => Some(spec),
            Err(violations) => {
                v.0.extend(violations);
                None
            }
        };
        v.finish()?;
        let (name, spec) = (name.expect("checked"), spec.expect("checked"));

        self.modify(caller, id, RunnerAccess::Admin, deadline, Operation::Update, |runner| {
            if runner.status.phase == RunnerPhase::Deleting {
                return Err(CoreError::FailedPrecondition("runner is being deleted".to_owned()));
            }
            if let Some(name) = &name {
                runner.name = name.clone();
            }
            if let Some(spec) = &spec {
                apply_spec_patch(runner, spec, &self.at_rest)?;
            }
            Ok(true)
        })
        .await?;
        Ok(())
    }

    /// Loads a runner the caller has `needed` access to, lets `change` edit it, and writes it
    /// back, in the runner's write turn (crate::turns) until `deadline`: the write is
    /// conditional on the runner's revision, and one that lost to another process starts over.
    /// `change` returns `false` to write nothing. A write is published as `operation`, still in
    /// the turn, so events of one runner leave in commit order.
    pub(crate) async fn modify(
        &self,
        caller: &Caller,
        id: Uuid,
        needed: RunnerAccess,
        deadline: Deadline,
        operation: Operation,
        mut change: impl FnMut(&mut Runner) -> Result<bool>,
    ) -> Result<Runner> {
        let mut turn = self.turns.take(id, deadline).await?;
        loop {
            let mut runner = self.load_for(caller, id, needed).await?;
            if !change(&mut runner)? {
                return Ok(runner);
            }
            runner.updated_at = Timestamp::now().max(runner.updated_at);
            runner.revision += 1;
            if self.store.update_runner(&runner).await? == WriteOutcome::Written {
                self.published(&runner, operation);
                return Ok(runner);
            }
            turn.lost_race().await?;
        }
    }

    pub async fn delete(&self, caller: &Caller, deadline: Deadline, runner_id: &str, force: bool) -> Result<()> {
        let id = validate::uuid("runnerId", runner_id)?;
        let mut remove_now = false;
        let runner = self
            .modify(caller, id, RunnerAccess::Admin, deadline, Operation::UpdateStatus, |runner| {
                if runner.kind == RunnerKind::LocalConfiguration {
                    return Err(CoreError::FailedPrecondition(
                        "the local-configuration runner cannot be deleted".to_owned(),
                    ));
                }
                // A runner that never signed up has nothing to drain; force skips the lifecycle.
                // Otherwise the runner finishes on its own and acknowledges (MarkRunnerDeleted).
                remove_now = force || runner.status.phase == RunnerPhase::Created;
                if remove_now || runner.status.phase == RunnerPhase::Deleting {
                    return Ok(false);
                }
                runner.spec.desired_phase = Some(RunnerPhase::Deleting);
                runner.status.phase = RunnerPhase::Deleting;
                Ok(true)
            })
            .await?;
        if remove_now {
            self.store.delete_runner(id).await?;
            self.published(&runner, Operation::Delete);
        }
        Ok(())
    }
}

impl Runners {
    /// The runner's metrics password, decrypted from rest and sealed to the runner's public
    /// key, for the runner itself; empty when there is none or no key yet.
    pub(crate) fn sealed_metrics_password(&self, runner: &Runner) -> Result<Vec<u8>> {
        let stored = runner.spec.configuration.metrics.as_ref().map(|m| m.encrypted_password.as_slice());
        let Some(stored) = stored.filter(|s| !s.is_empty()) else {
            return Ok(Vec::new());
        };
        if runner.status.public_key.is_empty() {
            return Ok(Vec::new());
        }
        let plain = self.at_rest.decrypt(stored, &metrics_aad(runner.id)).map_err(|_| {
            CoreError::Internal(format!("the metrics password of runner {} does not decrypt", runner.id))
        })?;
        let plain = String::from_utf8(plain).map_err(|_| CoreError::Internal("stored password is not UTF-8".into()))?;
        seal(runner, &plain)
    }
}

/// Associated data that binds an encrypted metrics password to its runner.
fn metrics_aad(runner_id: Uuid) -> Vec<u8> {
    let mut aad = runner_id.as_bytes().to_vec();
    aad.extend_from_slice(b"metrics password");
    aad
}

/// Exactly one of kind and provider; the kind follows from the provider.
fn kind_and_provider(kind: i32, provider: i32) -> Result<(RunnerKind, Option<RunnerProvider>), FieldViolation> {
    match (kind, provider) {
        (0, 0) => Err(FieldViolation::new("provider", "is required (set provider, or the deprecated kind)")),
        (k, p) if k != 0 && p != 0 => Err(FieldViolation::new("kind", "only one of kind and provider may be set")),
        (0, p) => {
            let provider = validate::enum_value::<RunnerProvider>("provider", p)?;
            if provider.is_deprecated() {
                return Err(FieldViolation::new(
                    "provider",
                    "is no longer supported; use RUNNER_PROVIDER_AWS_EC2 or RUNNER_PROVIDER_GCP",
                ));
            }
            Ok((provider.kind(), Some(provider)))
        }
        (k, _) => match validate::enum_value::<RunnerKind>("kind", k)? {
            RunnerKind::Remote => Ok((RunnerKind::Remote, None)),
            RunnerKind::Local => {
                Err(FieldViolation::new("kind", "local runners are no longer supported; set provider instead"))
            }
            RunnerKind::LocalConfiguration => {
                Err(FieldViolation::new("kind", "runners of kind LOCAL_CONFIGURATION cannot be created"))
            }
        },
    }
}

/// The hours of an update window, checked: start required, end defaulting to start + 2, at
/// least two hours long (overnight windows allowed). `None` for an empty window.
fn update_window(field: &str, w: &UpdateWindowInput) -> Result<Option<UpdateWindow>, FieldViolation> {
    let Some(start) = w.start_hour else {
        return match w.end_hour {
            None => Ok(None),
            Some(_) => Err(FieldViolation::new(format!("{field}.startHour"), "is required when endHour is set")),
        };
    };
    if start > 23 {
        return Err(FieldViolation::new(format!("{field}.startHour"), "must be an hour from 0 to 23"));
    }
    let end = w.end_hour.unwrap_or((start + 2) % 24);
    if end > 23 {
        return Err(FieldViolation::new(format!("{field}.endHour"), "must be an hour from 0 to 23"));
    }
    let length = (end + 24 - start) % 24;
    if length < 2 {
        return Err(FieldViolation::new(field, "must be at least 2 hours long"));
    }
    Ok(Some(UpdateWindow { start_hour: start, end_hour: end }))
}

fn create_spec(input: SpecInput) -> Result<RunnerSpec, FieldViolation> {
    let desired_phase = match validate::optional_enum::<RunnerPhase>("spec.desiredPhase", input.desired_phase)? {
        None | Some(RunnerPhase::Active) => RunnerPhase::Active,
        Some(RunnerPhase::Inactive) => RunnerPhase::Inactive,
        Some(_) => {
            return Err(FieldViolation::new(
                "spec.desiredPhase",
                "must be RUNNER_PHASE_ACTIVE or RUNNER_PHASE_INACTIVE",
            ));
        }
    };
    let variant = validate::optional_enum::<RunnerVariant>("spec.variant", input.variant)?;
    let c = input.configuration.unwrap_or_default();
    let f = "spec.configuration";
    if !c.encrypted_honeycomb_api_key.is_empty() {
        return Err(FieldViolation::new(format!("{f}.encryptedHoneycombApiKey"), "is set by the server"));
    }
    let configuration = RunnerConfiguration {
        region: bounded(&format!("{f}.region"), &c.region, 64)?,
        release_channel: Some(
            validate::optional_enum(&format!("{f}.releaseChannel"), c.release_channel)?
                .unwrap_or(ReleaseChannel::Stable),
        ),
        auto_update: c.auto_update,
        metrics: c.metrics.map(|m| metrics(&format!("{f}.metrics"), m)).transpose()?,
        log_level: validate::optional_enum(&format!("{f}.logLevel"), c.log_level)?,
        devcontainer_image_cache_enabled: c.devcontainer_image_cache_enabled,
        update_window: match &c.update_window {
            Some(w) => update_window(&format!("{f}.updateWindow"), w)?,
            None => None,
        },
        encrypted_honeycomb_api_key: Vec::new(),
        continuous_profiling: c.continuous_profiling,
    };
    Ok(RunnerSpec { desired_phase: Some(desired_phase), configuration, variant })
}

/// Directions in the region names of AWS and Google Cloud.
const DIRECTIONS: &str = "north|south|east|west|central|northeast|northwest|southeast|southwest";

/// AWS region names: a geography, an optional partition (`gov`, `iso`, `isob`, …), a
/// direction and a number (`eu-central-1`, `us-gov-west-1`).
static AWS_REGION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(&format!(r"^(af|ap|ca|cn|eu|il|me|mx|sa|us)-(gov-|iso[a-z]?-)?({DIRECTIONS})-[1-9][0-9]?$"))
        .expect("a valid pattern")
});

/// Google Cloud region names: a geography, a direction and a number (`europe-west1`).
static GCP_REGION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(&format!(
        r"^(africa|asia|australia|europe|me|northamerica|southamerica|us)-({DIRECTIONS})[1-9][0-9]?$"
    ))
    .expect("a valid pattern")
});

/// Why `region` cannot be a region of `provider`, if it cannot. The region is a hint (the runner
/// reports where it really runs) and providers add regions every year, so names are checked by
/// their form within the geographies each provider has, not against a list: a typo, an invented
/// region or another provider's name is caught, a region opened next year is not refused. An
/// empty region is left to the rule that requires one.
fn region_problem(provider: RunnerProvider, region: &str) -> Option<String> {
    if region.is_empty() {
        return None;
    }
    let (ours, theirs, name, other) = match provider {
        RunnerProvider::AwsEc2 => (&*AWS_REGION, &*GCP_REGION, "an AWS region", "a Google Cloud region"),
        RunnerProvider::Gcp => (&*GCP_REGION, &*AWS_REGION, "a Google Cloud region", "an AWS region"),
        _ => return None,
    };
    if ours.is_match(region) {
        return None;
    }
    let example = match provider {
        RunnerProvider::AwsEc2 => "eu-central-1 or us-east-1",
        _ => "europe-west1 or us-central1",
    };
    Some(if theirs.is_match(region) {
        format!("{region:?} is {other}, not {name}; {name} is named like {example}")
    } else {
        format!("{region:?} is not {name}; {name} is named like {example}, in lower case")
    })
}

/// Free text with an upper bound and no control characters.
fn bounded(field: &str, value: &str, max: usize) -> Result<String, FieldViolation> {
    validate::length(field, value, 0, max)?;
    Ok(value.to_owned())
}

fn metrics(field: &str, m: MetricsInput) -> Result<MetricsConfiguration, FieldViolation> {
    Ok(MetricsConfiguration {
        enabled: m.enabled,
        url: bounded(&format!("{field}.url"), &m.url, 2048)?,
        username: bounded(&format!("{field}.username"), &m.username, 256)?,
        encrypted_password: {
            bounded(&format!("{field}.password"), &m.password, 1024)?;
            Vec::new()
        },
        managed_metrics_enabled: m.managed_metrics_enabled,
        include_verbose_metrics: m.include_verbose_metrics,
    })
}

/// A spec patch with its enums and window already checked.
struct CheckedSpecPatch {
    desired_phase: Option<RunnerPhase>,
    release_channel: Option<ReleaseChannel>,
    log_level: Option<LogLevel>,
    /// `Some(None)` clears the window.
    update_window: Option<Option<UpdateWindow>>,
    raw: SpecPatch,
}

fn check_spec_patch(p: &SpecPatch) -> Result<CheckedSpecPatch, Vec<FieldViolation>> {
    let mut v = Violations::default();
    let desired_phase = match p.desired_phase {
        None => None,
        Some(n) => match v.check(validate::enum_value::<RunnerPhase>("spec.desiredPhase", n)) {
            Some(ph @ (RunnerPhase::Active | RunnerPhase::Inactive)) => Some(ph),
            Some(_) => {
                v.push(FieldViolation::new(
                    "spec.desiredPhase",
                    "must be RUNNER_PHASE_ACTIVE or RUNNER_PHASE_INACTIVE",
                ));
                None
            }
            None => None,
        },
    };
    let f = "spec.configuration";
    let c = p.configuration.clone().unwrap_or_default();
    let release_channel =
        c.release_channel.and_then(|n| v.check(validate::enum_value(&format!("{f}.releaseChannel"), n)));
    let log_level = c.log_level.and_then(|n| v.check(validate::enum_value(&format!("{f}.logLevel"), n)));
    let update_window = match &c.update_window {
        None => None,
        Some(w) => v.check(update_window(&format!("{f}.updateWindow"), w)),
    };
    if let Some(m) = &c.metrics {
        for (name, value, max) in
            [("url", &m.url, 2048), ("username", &m.username, 256), ("password", &m.password, 1024)]
        {
            if let Some(value) = value {
                v.check(bounded(&format!("{f}.metrics.{name}"), value, max));
            }
        }
    }
    if v.0.is_empty() {
        Ok(CheckedSpecPatch { desired_phase, release_channel, log_level, update_window, raw: p.clone() })
    } else {
        Err(v.0)
    }
}

fn apply_spec_patch(runner: &mut Runner, p: &CheckedSpecPatch, at_rest: &AtRestKey) -> Result<()> {
    if let Some(phase) = p.desired_phase {
        if runner.kind != RunnerKind::LocalConfiguration {
            return Err(CoreError::invalid(
                "spec.desiredPhase",
                "can only be changed on the local-configuration runner",
            ));
        }
        runner.spec.desired_phase = Some(phase);
    }
    let Some(c) = &p.raw.configuration else {
        return Ok(());
    };
    // Sealed to the runner's public key, like every secret meant for the runner; an empty key
    // removes it.
    let honeycomb = match c.honeycomb_api_key.as_deref() {
        None => None,
        Some("") => Some(Vec::new()),
        Some(key) => Some(seal(runner, key)?),
    };
    let cfg = &mut runner.spec.configuration;
    if let Some(sealed) = honeycomb {
        cfg.encrypted_honeycomb_api_key = sealed;
    }
    if let Some(rc) = p.release_channel {
        cfg.release_channel = Some(rc);
    }
    if let Some(a) = c.auto_update {
        cfg.auto_update = a;
    }
    if let Some(m) = &c.metrics {
        let cur = cfg.metrics.get_or_insert_with(MetricsConfiguration::default);
        if let Some(x) = m.enabled {
            cur.enabled = x;
        }
        if let Some(x) = &m.url {
            cur.url = x.clone();
        }
        if let Some(x) = &m.username {
            cur.username = x.clone();
        }
        if let Some(x) = &m.password {
            cur.encrypted_password =
                if x.is_empty() { Vec::new() } else { at_rest.encrypt(x.as_bytes(), &metrics_aad(runner.id)) };
        }
        if let Some(x) = m.managed_metrics_enabled {
            cur.managed_metrics_enabled = x;
        }
        if let Some(x) = m.include_verbose_metrics {
            cur.include_verbose_metrics = x;
        }
    }
    if let Some(l) = p.log_level {
        cfg.log_level = Some(l);
    }
    if let Some(x) = c.devcontainer_image_cache_enabled {
        cfg.devcontainer_image_cache_enabled = x;
    }
    if let Some(w) = p.update_window {
        cfg.update_window = w;
    }
    if let Some(x) = c.continuous_profiling {
        cfg.continuous_profiling = x;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_provider_rules() {
        assert_eq!(kind_and_provider(0, 1).unwrap(), (RunnerKind::Remote, Some(RunnerProvider::AwsEc2)));
        assert_eq!(kind_and_provider(2, 0).unwrap(), (RunnerKind::Remote, None));
        assert!(kind_and_provider(0, 0).is_err());
        assert!(kind_and_provider(2, 1).unwrap_err().description.contains("only one"));
        assert!(kind_and_provider(3, 0).unwrap_err().description.contains("cannot be created"));
        assert!(kind_and_provider(1, 0).is_err());
        assert!(kind_and_provider(0, 2).is_err());
        assert!(kind_and_provider(0, 99).is_err());
    }

    #[test]
    fn regions_by_provider() {
        let (aws, gcp) = (RunnerProvider::AwsEc2, RunnerProvider::Gcp);
        for ok in ["eu-central-1", "us-east-1", "us-gov-west-1", "us-isob-east-1", "ap-southeast-7", "sa-east-1"] {
            assert_eq!(region_problem(aws, ok), None, "{ok}");
        }
        for ok in ["europe-west12", "us-east5", "asia-southeast1", "australia-southeast2", "southamerica-west1", ""] {
            assert_eq!(region_problem(gcp, ok), None, "{ok}");
        }
        for bad in ["mars-north-1", "eu-central", "eu-central-0", "eu-middle-1", "EU-CENTRAL-1", " eu-central-1"] {
            assert!(region_problem(aws, bad).unwrap().contains("is not an AWS region"), "{bad}");
        }
        assert!(region_problem(aws, "europe-west1").unwrap().contains("is a Google Cloud region, not an AWS region"));
        assert!(region_problem(gcp, "us-east-1").unwrap().contains("is an AWS region, not a Google Cloud region"));
        assert!(region_problem(gcp, "europe-west").unwrap().contains("is not a Google Cloud region"));
        assert_eq!(region_problem(RunnerProvider::Managed, "anything"), None);
    }

    #[test]
    fn update_windows() {
        let w = |s, e| UpdateWindowInput { start_hour: s, end_hour: e };
        assert_eq!(update_window("w", &w(None, None)).unwrap(), None);
        assert_eq!(update_window("w", &w(Some(3), None)).unwrap(), Some(UpdateWindow { start_hour: 3, end_hour: 5 }));
        assert_eq!(update_window("w", &w(Some(22), None)).unwrap(), Some(UpdateWindow { start_hour: 22, end_hour: 0 }));
        assert_eq!(
            update_window("w", &w(Some(22), Some(4))).unwrap(),
            Some(UpdateWindow { start_hour: 22, end_hour: 4 })
        );
        assert!(update_window("w", &w(Some(3), Some(4))).is_err());
        assert!(update_window("w", &w(Some(3), Some(3))).is_err());
        assert!(update_window("w", &w(Some(24), None)).is_err());
        assert!(update_window("w", &w(Some(1), Some(24))).is_err());
        assert_eq!(update_window("w", &w(None, Some(4))).unwrap_err().field, "w.startHour");
    }
}
