//! The storage conformance suite: every behaviour the use cases rely on, stated once and run
//! against each backend with a factory that returns a fresh, empty store.

use std::future::Future;
use std::sync::Arc;

use runner_core::authz::Visibility;
use runner_core::identity::*;
use runner_core::model::*;
use runner_core::store::{NewRunnerToken, RunnerTokenInfo, RunnerTokenKind, Store, StoreError, WriteOutcome};
use runner_core::time::Timestamp;
use uuid::Uuid;

/// Runs every case, each on a store from `factory`. Panics on the first failure.
pub async fn run_suite<F, Fut>(factory: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    runner_round_trip(factory().await).await;
    duplicate_runner_is_refused(factory().await).await;
    concurrent_creates_all_land_and_a_duplicate_fails_alone(factory().await).await;
    list_orders_filters_and_pages(factory().await).await;
    list_respects_visibility(factory().await).await;
    update_is_conditional_on_revision(factory().await).await;
    delete_removes_runner_and_tokens(factory().await).await;
    runner_tokens_resolve_and_redeem_once(factory().await).await;
    the_first_key_fingerprint_stays(factory().await).await;
    runners_are_counted_by_phase(factory().await).await;
    identity_round_trip(factory().await).await;
    policies(factory().await).await;
}

/// Creates an organization (with its org-members group) to put things in.
pub async fn new_org(store: &Arc<dyn Store>) -> (Organization, Group) {
    let now = Timestamp::now();
    let org = Organization { id: Uuid::now_v7(), name: format!("org {}", Uuid::new_v4()), created_at: now };
    let members = Group {
        id: Uuid::now_v7(),
        org_id: org.id,
        name: ORG_MEMBERS_GROUP.to_owned(),
        system: true,
        runners_admin: false,
        created_at: now,
    };
    let local = runner_core::accounts::local_configuration_runner(org.id, now);
    store.create_organization(&org, &members, &local).await.unwrap();
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

fn token_for(runner: &Runner) -> NewRunnerToken {
    NewRunnerToken {
        hash: runner_core::secrets::hash(&Uuid::new_v4().to_string()),
        runner_id: runner.id,
        kind: RunnerTokenKind::Exchange,
        created_at: runner.created_at,
        expires_at: runner.created_at.plus_seconds(60),
    }
}

async fn runner_round_trip(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = sample_runner(&org, RunnerProvider::AwsEc2, Some(Uuid::new_v4()));
    store.insert_runner(&r, &token_for(&r)).await.unwrap();
    assert_eq!(store.get_runner(r.id).await.unwrap(), Some(r.clone()));
    assert_eq!(store.get_runner(Uuid::now_v7()).await.unwrap(), None);
    store.insert_runner_token(&token_for(&r)).await.unwrap();
    store.ping().await.unwrap();
}

async fn duplicate_runner_is_refused(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = sample_runner(&org, RunnerProvider::Gcp, None);
    store.insert_runner(&r, &token_for(&r)).await.unwrap();
    let err = store.insert_runner(&r, &token_for(&r)).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists), "{err:?}");
    // The failed insert left nothing behind: still exactly one runner.
    assert_eq!(store.list_runners(&everything(&org), &RunnerFilter::default(), None, 10).await.unwrap().len(), 1);
}

/// Many creates at once (on SQLite they share transactions, crate::group_commit): each lands
/// with its token, and one that cannot be written fails alone.
async fn concurrent_creates_all_land_and_a_duplicate_fails_alone(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let existing = sample_runner(&org, RunnerProvider::Gcp, None);
    store.insert_runner(&existing, &token_for(&existing)).await.unwrap();
    let mut runners: Vec<Runner> = (0..99).map(|_| sample_runner(&org, RunnerProvider::AwsEc2, None)).collect();
    runners.insert(50, existing.clone());
    let tasks: Vec<_> = runners
        .iter()
        .map(|r| {
            let (store, runner, token) = (store.clone(), r.clone(), token_for(r));
            tokio::spawn(async move { store.insert_runner(&runner, &token).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    for (r, result) in runners.iter().zip(&results) {
        if r.id == existing.id {
            assert!(matches!(result, Err(StoreError::AlreadyExists)), "{result:?}");
        } else {
            result.as_ref().unwrap();
            assert_eq!(store.get_runner(r.id).await.unwrap().as_ref(), Some(r));
        }
    }
    assert_eq!(store.list_runners(&everything(&org), &RunnerFilter::default(), None, 200).await.unwrap().len(), 100);
}

async fn list_orders_filters_and_pages(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let alice = Uuid::new_v4();
    let mut ids = Vec::new();
    for i in 0..7 {
        let provider = if i % 2 == 0 { RunnerProvider::AwsEc2 } else { RunnerProvider::Gcp };
        let r = sample_runner(&org, provider, Some(if i < 3 { alice } else { Uuid::new_v4() }));
        store.insert_runner(&r, &token_for(&r)).await.unwrap();
        ids.push(r.id);
    }
    let all = store.list_runners(&everything(&org), &RunnerFilter::default(), None, 100).await.unwrap();
    assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), ids, "ordered by id");

    let page1 = store.list_runners(&everything(&org), &RunnerFilter::default(), None, 3).await.unwrap();
    let page2 = store.list_runners(&everything(&org), &RunnerFilter::default(), Some(page1[2].id), 3).await.unwrap();
    assert_eq!(page1.iter().chain(&page2).map(|r| r.id).collect::<Vec<_>>(), ids[..6]);

    let gcp = RunnerFilter { providers: vec![RunnerProvider::Gcp], ..Default::default() };
    assert_eq!(store.list_runners(&everything(&org), &gcp, None, 100).await.unwrap().len(), 3);
    let alice_aws =
        RunnerFilter { creator_ids: vec![alice], providers: vec![RunnerProvider::AwsEc2], ..Default::default() };
    let got = store.list_runners(&everything(&org), &alice_aws, None, 100).await.unwrap();
    assert_eq!(got.iter().map(|r| r.id).collect::<Vec<_>>(), vec![ids[0], ids[2]]);
    // Asked for by kind, only the organization's own local-configuration runner.
    let kinds = RunnerFilter { kinds: vec![RunnerKind::LocalConfiguration], ..Default::default() };
    let locals = store.list_runners(&everything(&org), &kinds, None, 100).await.unwrap();
    assert_eq!(locals.iter().map(|r| r.kind).collect::<Vec<_>>(), vec![RunnerKind::LocalConfiguration]);
    assert!(locals.iter().all(|r| kinds.matches(r) && !RunnerFilter::default().matches(r)));
    for r in &all {
        assert!(
            alice_aws.matches(r) == got.iter().any(|g| g.id == r.id),
            "SQL filter agrees with RunnerFilter::matches"
        );
    }
}

async fn update_is_conditional_on_revision(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = sample_runner(&org, RunnerProvider::Gcp, None);
    store.insert_runner(&r, &token_for(&r)).await.unwrap();
    let mut a = r.clone();
    a.name = "renamed".to_owned();
    a.status.phase = RunnerPhase::Deleting;
    a.revision += 1;
    assert_eq!(store.update_runner(&a).await.unwrap(), WriteOutcome::Written);
    // A writer that read the old revision loses.
    let mut b = r.clone();
    b.name = "lost".to_owned();
    b.revision += 1;
    assert_eq!(store.update_runner(&b).await.unwrap(), WriteOutcome::Conflict);
    assert_eq!(store.get_runner(r.id).await.unwrap(), Some(a.clone()));
    // A vanished runner is a conflict too.
    let mut ghost = sample_runner(&org, RunnerProvider::Gcp, None);
    ghost.revision = 2;
    assert_eq!(store.update_runner(&ghost).await.unwrap(), WriteOutcome::Conflict);
}

async fn delete_removes_runner_and_tokens(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = sample_runner(&org, RunnerProvider::AwsEc2, None);
    store.insert_runner(&r, &token_for(&r)).await.unwrap();
    assert!(store.delete_runner(r.id).await.unwrap());
    assert!(!store.delete_runner(r.id).await.unwrap());
    assert_eq!(store.get_runner(r.id).await.unwrap(), None);
    // Tokens went with it: a token for the deleted runner cannot be stored any more.
    assert!(store.insert_runner_token(&token_for(&r)).await.is_err());
}

async fn list_respects_visibility(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let (other, _) = new_org(&store).await;
    let me = Uuid::now_v7();
    let group = Group {
        id: Uuid::now_v7(),
        org_id: org.id,
        name: "team".into(),
        system: false,
        runners_admin: false,
        created_at: Timestamp::now(),
    };
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
    let ids = |v: Vec<Runner>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let restricted = Visibility::Restricted { org_id: org.id, subject_id: me, groups: vec![group.id] };
    assert_eq!(
        ids(store.list_runners(&restricted, &RunnerFilter::default(), None, 10).await.unwrap()),
        vec![mine.id, shared.id]
    );
    let no_groups = Visibility::Restricted { org_id: org.id, subject_id: me, groups: vec![] };
    assert_eq!(ids(store.list_runners(&no_groups, &RunnerFilter::default(), None, 10).await.unwrap()), vec![mine.id]);
    assert_eq!(
        ids(store.list_runners(&everything(&org), &RunnerFilter::default(), None, 10).await.unwrap()),
        vec![mine.id, shared.id, hidden.id]
    );
    assert_eq!(
        ids(store.list_runners(&everything(&other), &RunnerFilter::default(), None, 10).await.unwrap()),
        vec![foreign.id]
    );
    // A runner's own principal sees itself, in its own organization only.
    let itself = Visibility::Runner { org_id: org.id, runner_id: shared.id };
    assert_eq!(ids(store.list_runners(&itself, &RunnerFilter::default(), None, 10).await.unwrap()), vec![shared.id]);
    let elsewhere = Visibility::Runner { org_id: other.id, runner_id: shared.id };
    assert!(store.list_runners(&elsewhere, &RunnerFilter::default(), None, 10).await.unwrap().is_empty());
}

async fn runner_tokens_resolve_and_redeem_once(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = sample_runner(&org, RunnerProvider::Gcp, None);
    let exchange = token_for(&r);
    store.insert_runner(&r, &exchange).await.unwrap();
    let info = store.resolve_runner_token(&exchange.hash).await.unwrap().unwrap();
    assert_eq!(
        info,
        RunnerTokenInfo {
            runner_id: r.id,
            org_id: org.id,
            kind: RunnerTokenKind::Exchange,
            expires_at: exchange.expires_at,
            used_at: None
        }
    );
    assert_eq!(store.resolve_runner_token(&[7; 32]).await.unwrap(), None);

    // Concurrent redemptions of one token: exactly one wins, and only its access token is stored.
    let now = Timestamp::now();
    let bought = |r: &Runner| NewRunnerToken { kind: RunnerTokenKind::Access, ..token_for(r) };
    let attempts = (0..8).map(|_| {
        let (store, hash, access) = (store.clone(), exchange.hash.clone(), bought(&r));
        tokio::spawn(async move {
            let won = store.redeem_exchange_token_for_access(&hash, now, &access).await.unwrap();
            (won, access.hash)
        })
    });
    let mut winners = Vec::new();
    for a in attempts {
        let (won, access_hash) = a.await.unwrap();
        let stored = store.resolve_runner_token(&access_hash).await.unwrap();
        assert_eq!(stored.is_some(), won.is_some());
        winners.extend(won);
    }
    assert_eq!(winners, vec![r.id]);
    assert_eq!(store.resolve_runner_token(&exchange.hash).await.unwrap().unwrap().used_at, Some(now));
    assert_eq!(store.redeem_exchange_token_for_access(&exchange.hash, now, &bought(&r)).await.unwrap(), None);

    // Expired tokens and other kinds do not redeem.
    let expired = NewRunnerToken { expires_at: now, ..token_for(&r) };
    store.insert_runner_token(&expired).await.unwrap();
    assert_eq!(store.redeem_exchange_token_for_access(&expired.hash, now, &bought(&r)).await.unwrap(), None);
    let access = bought(&r);
    store.insert_runner_token(&access).await.unwrap();
    assert_eq!(store.redeem_exchange_token_for_access(&access.hash, now, &bought(&r)).await.unwrap(), None);
    assert_eq!(store.resolve_runner_token(&access.hash).await.unwrap().unwrap().kind, RunnerTokenKind::Access);

    // They all go with the runner.
    assert!(store.delete_runner(r.id).await.unwrap());
    assert_eq!(store.resolve_runner_token(&access.hash).await.unwrap(), None);
}

async fn identity_round_trip(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let now = Timestamp::now();
    assert!(store.list_organizations().await.unwrap().iter().any(|o| o.id == org.id));
    // Organization names are unique.
    let dup = Organization { id: Uuid::now_v7(), name: org.name.clone(), created_at: now };
    let dup_group = Group {
        id: Uuid::now_v7(),
        org_id: dup.id,
        name: ORG_MEMBERS_GROUP.into(),
        system: true,
        runners_admin: false,
        created_at: now,
    };
    let dup_local = runner_core::accounts::local_configuration_runner(dup.id, now);
    assert!(matches!(store.create_organization(&dup, &dup_group, &dup_local).await, Err(StoreError::AlreadyExists)));
    // The failed create left no runner behind: the duplicate's local runner is not there.
    assert_eq!(store.get_runner(dup_local.id).await.unwrap(), None);
    // Every organization has one local-configuration runner, listed only when asked for by kind.
    let local = RunnerFilter { kinds: vec![RunnerKind::LocalConfiguration], ..Default::default() };
    let locals = store.list_runners(&everything(&org), &local, None, 10).await.unwrap();
    assert_eq!(locals.len(), 1);
    assert!(store.list_runners(&everything(&org), &RunnerFilter::default(), None, 10).await.unwrap().is_empty());

    let alice = Member {
        id: Uuid::now_v7(),
        org_id: org.id,
        principal: Principal::User,
        name: "alice".into(),
        role: OrgRole::Member,
        created_at: now,
    };
    store.create_member(&alice).await.unwrap();
    assert!(matches!(
        store.create_member(&Member { id: Uuid::now_v7(), ..alice.clone() }).await,
        Err(StoreError::AlreadyExists)
    ));
    let bot =
        Member { id: Uuid::now_v7(), principal: Principal::ServiceAccount, name: "alice".into(), ..alice.clone() };
    store.create_member(&bot).await.unwrap();
    assert_eq!(store.list_members(org.id).await.unwrap(), vec![alice.clone(), bot.clone()]);
    assert!(store.set_member_role(alice.id, OrgRole::Admin).await.unwrap());
    assert!(!store.set_member_role(Uuid::now_v7(), OrgRole::Admin).await.unwrap());
    assert_eq!(store.get_member(alice.id).await.unwrap().unwrap().role, OrgRole::Admin);

    let team = Group {
        id: Uuid::now_v7(),
        org_id: org.id,
        name: "team".into(),
        system: false,
        runners_admin: false,
        created_at: now,
    };
    store.create_group(&team).await.unwrap();
    store.add_group_member(team.id, alice.id).await.unwrap();
    assert!(matches!(store.add_group_member(team.id, alice.id).await, Err(StoreError::AlreadyExists)));
    assert!(store.set_group_runners_admin(team.id, true).await.unwrap());
    assert!(store.get_group(team.id).await.unwrap().unwrap().runners_admin);

    let token = AccessTokenInfo {
        id: Uuid::now_v7(),
        org_id: org.id,
        member_id: alice.id,
        description: "d".into(),
        created_at: now,
        expires_at: Some(now.plus_seconds(60)),
        revoked_at: None,
    };
    store.insert_access_token(&token, b"hash-a").await.unwrap();
    let (got, member, groups) = store.resolve_access_token(b"hash-a").await.unwrap().unwrap();
    assert_eq!((got, member.id), (token.clone(), alice.id));
    let names: Vec<_> = groups.iter().map(|g| g.name.as_str()).collect();
    assert!(names.contains(&ORG_MEMBERS_GROUP) && names.contains(&"team"), "{names:?}");
    // The service account is in org-members only.
    let bot_token = AccessTokenInfo { id: Uuid::now_v7(), member_id: bot.id, ..token.clone() };
    store.insert_access_token(&bot_token, b"hash-b").await.unwrap();
    let (_, _, groups) = store.resolve_access_token(b"hash-b").await.unwrap().unwrap();
    assert_eq!(groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), vec![ORG_MEMBERS_GROUP]);
    assert!(store.resolve_access_token(b"nope").await.unwrap().is_none());
    assert!(store.revoke_access_token(token.id, now).await.unwrap());
    assert!(!store.revoke_access_token(token.id, now).await.unwrap(), "revoking twice");
    assert!(store.resolve_access_token(b"hash-a").await.unwrap().unwrap().0.revoked_at.is_some());
    assert_eq!(store.list_access_tokens(org.id).await.unwrap().len(), 2);
}

async fn policies(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    let r = sample_runner(&org, RunnerProvider::Gcp, None);
    store.insert_runner(&r, &token_for(&r)).await.unwrap();
    let mut groups = Vec::new();
    for i in 0..3 {
        let g = Group {
            id: Uuid::now_v7(),
            org_id: org.id,
            name: format!("g{i}"),
            system: false,
            runners_admin: false,
            created_at: Timestamp::now(),
        };
        store.create_group(&g).await.unwrap();
        groups.push(g.id);
    }
    let p = |g: Uuid, role| RunnerPolicy { runner_id: r.id, group_id: g, role };
    store.insert_runner_policy(&p(groups[0], RunnerRole::User)).await.unwrap();
    store.insert_runner_policy(&p(groups[1], RunnerRole::Admin)).await.unwrap();
    assert!(matches!(
        store.insert_runner_policy(&p(groups[0], RunnerRole::Admin)).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(store.policy_roles(r.id, &[groups[0]]).await.unwrap(), vec![RunnerRole::User]);
    assert_eq!(store.policy_roles(r.id, &[groups[2]]).await.unwrap(), vec![]);
    assert_eq!(store.policy_roles(r.id, &[]).await.unwrap(), vec![]);
    let page = store.list_runner_policies(r.id, None, 1).await.unwrap();
    assert_eq!(page, vec![p(groups[0], RunnerRole::User)]);
    assert_eq!(
        store.list_runner_policies(r.id, Some(groups[0]), 10).await.unwrap(),
        vec![p(groups[1], RunnerRole::Admin)]
    );
    assert!(store.update_runner_policy(&p(groups[0], RunnerRole::Admin)).await.unwrap());
    assert!(!store.update_runner_policy(&p(groups[2], RunnerRole::Admin)).await.unwrap());
    assert!(store.delete_runner_policy(r.id, groups[0]).await.unwrap());
    assert!(!store.delete_runner_policy(r.id, groups[0]).await.unwrap());
    // Policies go with their runner.
    store.delete_runner(r.id).await.unwrap();
    assert_eq!(store.list_runner_policies(r.id, None, 10).await.unwrap(), vec![]);
}

/// The PostgreSQL the tests use: `RUNNER_TEST_POSTGRES_URL`, by default the local server with
/// trust authentication.
pub fn postgres_url() -> String {
    std::env::var("RUNNER_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema of its own on the test PostgreSQL, so that parallel runs and tests never collide.
pub struct PgSchema {
    admin: sqlx::postgres::PgConnectOptions,
    pub name: String,
}

impl PgSchema {
    /// A fresh schema, or `None` (with one line on stderr saying why) when no PostgreSQL is
    /// reachable. With `RUNNER_TEST_REQUIRE_POSTGRES=1` (CI) an unreachable server fails the
    /// test instead.
    pub async fn create(test: &str) -> Option<Self> {
        use std::str::FromStr;
        let url = postgres_url();
        let attempt = async {
            let admin = sqlx::postgres::PgConnectOptions::from_str(&url).map_err(|e| e.to_string())?;
            let mut conn = sqlx::ConnectOptions::connect(&admin).await.map_err(|e| e.to_string())?;
            let name = format!("test_{}", Uuid::new_v4().simple());
            sqlx::query(&format!("CREATE SCHEMA {name}")).execute(&mut conn).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(Self { admin, name })
        };
        match tokio::time::timeout(std::time::Duration::from_secs(10), attempt).await {
            Ok(Ok(schema)) => Some(schema),
            Ok(Err(why)) => Self::unavailable(test, &url, &why),
            Err(_) => Self::unavailable(test, &url, "timed out connecting"),
        }
    }

    fn unavailable(test: &str, url: &str, why: &str) -> Option<Self> {
        if std::env::var("RUNNER_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
            panic!("{test}: PostgreSQL is required (RUNNER_TEST_REQUIRE_POSTGRES=1) but {url} is unreachable: {why}");
        }
        eprintln!("PostgreSQL suite SKIPPED ({test}): {url} is unreachable: {why}; set RUNNER_TEST_POSTGRES_URL");
        None
    }

    /// Connection options whose `search_path` is this schema.
    pub fn options(&self) -> sqlx::postgres::PgConnectOptions {
        self.admin.clone().options([("search_path", self.name.as_str())])
    }

    /// A migrated store on this schema; each call is another "replica" with its own pool.
    pub async fn store(&self) -> Arc<dyn Store> {
        Arc::new(crate::postgres::PostgresStore::open_with(self.options()).await.unwrap())
    }

    /// Removes the schema and everything in it.
    pub async fn drop_schema(self) {
        let mut conn = sqlx::ConnectOptions::connect(&self.admin).await.unwrap();
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name)).execute(&mut conn).await.unwrap();
    }
}

async fn the_first_key_fingerprint_stays(store: Arc<dyn Store>) {
    assert_eq!(store.key_fingerprint("first").await.unwrap(), "first");
    assert_eq!(store.key_fingerprint("second").await.unwrap(), "first");
}

async fn runners_are_counted_by_phase(store: Arc<dyn Store>) {
    let (org, _) = new_org(&store).await;
    for phase in [RunnerPhase::Created, RunnerPhase::Active, RunnerPhase::Active] {
        let mut r = sample_runner(&org, RunnerProvider::Gcp, None);
        r.status.phase = phase;
        store.insert_runner(&r, &token_for(&r)).await.unwrap();
    }
    let mut counts = store.count_runners_by_phase().await.unwrap();
    counts.sort_by_key(|(p, _)| p.number());
    // The organization's local-configuration runner is ACTIVE too.
    assert_eq!(counts, vec![(RunnerPhase::Created, 1), (RunnerPhase::Active, 3)]);
    let (open, idle) = store.pool_usage();
    assert!(open >= 1 && idle <= open, "{open} {idle}");
}

/// Seeds `count` runners into the organization `org_id` of the database at `url` (migrating it
/// first), as `runner_core::runners::Runners::create` would write them: GCP runners named
/// `load runner N`, created by `creator`, in phase CREATED, each with an unused exchange token
/// whose plaintext is thrown away. Bulk inserts of 500 rows per statement, 5,000 runners per
/// transaction, with the Store's own row mapping. For load tests: run it before a server opens
/// the database. Returns the new runners' ids, in id (creation) order.
pub async fn seed_runners(
    url: &str,
    org_id: Uuid,
    creator: Option<Subject>,
    count: usize,
) -> Result<Vec<Uuid>, StoreError> {
    use sqlx::QueryBuilder;
    const PER_STATEMENT: usize = 500;
    const PER_TRANSACTION: usize = 5_000;
    const RUNNER_INSERT: &str = "INSERT INTO runners (id, org_id, name, kind, provider, runner_manager_id, creator_id, \
        creator_principal, phase, spec, status, created_at, updated_at, revision) ";
    const TOKEN_INSERT: &str = "INSERT INTO runner_tokens (hash, runner_id, kind, created_at, expires_at) ";

    // One transaction's rows: the runners' columns and their exchange tokens.
    let batch = |n: usize| -> Result<(Vec<crate::rows::RunnerColumns>, Vec<NewRunnerToken>), StoreError> {
        let now = Timestamp::now();
        let mut columns = Vec::with_capacity(n);
        let mut tokens = Vec::with_capacity(n);
        for i in 0..n {
            let runner = Runner {
                id: Uuid::now_v7(),
                org_id,
                name: format!("load runner {i}"),
                kind: RunnerProvider::Gcp.kind(),
                provider: Some(RunnerProvider::Gcp),
                runner_manager_id: None,
                creator: creator.clone(),
                created_at: now,
                updated_at: now,
                spec: RunnerSpec {
                    desired_phase: Some(RunnerPhase::Active),
                    configuration: RunnerConfiguration {
                        release_channel: Some(ReleaseChannel::Stable),
                        ..Default::default()
                    },
                    variant: None,
                },
                status: RunnerStatus::default(),
                revision: 1,
            };
            tokens.push(NewRunnerToken {
                hash: runner_core::secrets::mint("gpx").hash,
                runner_id: runner.id,
                kind: RunnerTokenKind::Exchange,
                created_at: now,
                expires_at: now.plus_seconds(runner_core::runners::EXCHANGE_TOKEN_TTL_SECS),
            });
            columns.push(crate::rows::RunnerColumns::from_domain(&runner)?);
        }
        Ok((columns, tokens))
    };

    // The same statements on either backend; QueryBuilder numbers PostgreSQL's placeholders.
    macro_rules! seed {
        ($pool:expr, $db:ty, $map:path) => {{
            let pool = $pool;
            let mut ids = Vec::with_capacity(count);
            let mut left = count;
            while left > 0 {
                let n = left.min(PER_TRANSACTION);
                let (columns, tokens) = batch(n)?;
                let mut tx = pool.begin().await.map_err($map)?;
                for chunk in columns.chunks(PER_STATEMENT) {
                    let mut q = QueryBuilder::<$db>::new(RUNNER_INSERT);
                    q.push_values(chunk, |mut b, c| {
                        b.push_bind(&c.id)
                            .push_bind(&c.org_id)
                            .push_bind(&c.name)
                            .push_bind(c.kind)
                            .push_bind(c.provider)
                            .push_bind(&c.runner_manager_id)
                            .push_bind(&c.creator_id)
                            .push_bind(c.creator_principal)
                            .push_bind(c.phase)
                            .push_bind(&c.spec)
                            .push_bind(&c.status)
                            .push_bind(c.created_at)
                            .push_bind(c.updated_at)
                            .push_bind(c.revision);
                    });
                    q.build().execute(&mut *tx).await.map_err($map)?;
                }
                for chunk in tokens.chunks(PER_STATEMENT) {
                    let mut q = QueryBuilder::<$db>::new(TOKEN_INSERT);
                    q.push_values(chunk, |mut b, t| {
                        b.push_bind(&t.hash)
                            .push_bind(t.runner_id.to_string())
                            .push_bind(t.kind.as_str())
                            .push_bind(t.created_at.0)
                            .push_bind(t.expires_at.0);
                    });
                    q.build().execute(&mut *tx).await.map_err($map)?;
                }
                tx.commit().await.map_err($map)?;
                ids.extend(tokens.iter().map(|t| t.runner_id));
                left -= n;
            }
            pool.close().await;
            ids.sort();
            Ok(ids)
        }};
    }

    if url.starts_with("sqlite:") {
        use std::str::FromStr;
        // Migrates (and creates) the database, then writes through a connection of its own.
        drop(crate::SqliteStore::open(url).await?);
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("bad SQLite URL: {e}")))?
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(crate::error::map_sqlite)?;
        seed!(pool, sqlx::Sqlite, crate::error::map_sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        drop(crate::PostgresStore::open(url).await?);
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .map_err(crate::error::map_postgres)?;
        seed!(pool, sqlx::Postgres, crate::error::map_postgres)
    } else {
        Err(StoreError::Other(format!("unsupported database URL for seeding: {url}")))
    }
}
