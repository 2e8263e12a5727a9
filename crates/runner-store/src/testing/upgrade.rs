//! Databases made by earlier versions: their rows read the same after the later migrations
//! (role assignments, `20261208000001`; membership ids, `20261210000001`; runners' spec and
//! status as protobuf bytes, `20261212000019`, whose old rows keep their JSON).
//! Each backend's test migrates a database with the migrations before [`ROLE_ASSIGNMENTS`] only
//! (a folder of copies, so that their checksums are the real ones), writes [`OLD_ROWS`] with the
//! old schema, opens it as a store (which runs the rest) and calls [`old_rows_read_the_same`].

use std::path::Path;
use std::sync::Arc;

use runner_core::authz::Visibility;
use runner_core::identity::RoleAssignmentFilter;
use runner_core::model::*;
use runner_core::store::{Store, WriteOutcome};
use runner_core::time::Timestamp;
use uuid::Uuid;

/// The migration that moved runner policies and runners-admin groups into role assignments.
pub const ROLE_ASSIGNMENTS: i64 = 20261208000001;

const ORG: &str = "018f0c5e-0000-7000-8000-000000000001";
const MEMBERS: &str = "018f0c5e-0000-7000-8000-000000000002";
const ADMINS: &str = "018f0c5e-0000-7000-8000-000000000003";
const USERS: &str = "018f0c5e-0000-7000-8000-000000000004";
const RUNNER: &str = "018f0c5e-0000-7000-8000-000000000005";
const ALICE: &str = "018f0c5e-0000-7000-8000-000000000006";
const BOB: &str = "018f0c5e-0000-7000-8000-000000000007";
const CONFIGURED: &str = "018f0c5e-0000-7000-8000-000000000008";

/// An organization with its org-members group, a runners-admin group, another group, a runner
/// and two policies on it, and two users in the other group (memberships without ids), in the
/// schema before [`ROLE_ASSIGNMENTS`].
pub const OLD_ROWS: &str = "
INSERT INTO organizations (id, name, created_at) VALUES ('018f0c5e-0000-7000-8000-000000000001', 'old', 1);
INSERT INTO groups (id, org_id, name, system, runners_admin, created_at) VALUES
  ('018f0c5e-0000-7000-8000-000000000002', '018f0c5e-0000-7000-8000-000000000001', 'org-members', 1, 0, 1),
  ('018f0c5e-0000-7000-8000-000000000003', '018f0c5e-0000-7000-8000-000000000001', 'platform', 0, 1, 2),
  ('018f0c5e-0000-7000-8000-000000000004', '018f0c5e-0000-7000-8000-000000000001', 'developers', 0, 0, 3);
INSERT INTO runners (id, org_id, name, kind, provider, phase, spec, status, created_at, updated_at, revision) VALUES
  ('018f0c5e-0000-7000-8000-000000000005', '018f0c5e-0000-7000-8000-000000000001', 'old runner', 'remote', 'gcp',
   'created', '{}', '{\"phase\":\"created\"}', 4, 4, 1),
  ('018f0c5e-0000-7000-8000-000000000008', '018f0c5e-0000-7000-8000-000000000001', 'configured runner', 'remote', 'aws_ec2',
   'active', '{\"desired_phase\":\"active\",\"configuration\":{\"region\":\"eu-central-1\",\"release_channel\":\"latest\",\"auto_update\":true,\"metrics\":{\"enabled\":true,\"url\":\"https://m\",\"username\":\"u\",\"encrypted_password\":[1,2,3],\"managed_metrics_enabled\":false,\"include_verbose_metrics\":true},\"log_level\":\"warn\",\"devcontainer_image_cache_enabled\":false,\"update_window\":{\"start_hour\":22,\"end_hour\":4},\"encrypted_honeycomb_api_key\":[],\"continuous_profiling\":false},\"variant\":\"enterprise\"}',
   '{\"updated_at\":7,\"version\":\"1.2.3\",\"system_details\":\"\",\"phase\":\"active\",\"log_url\":\"\",\"message\":\"ok\",\"region\":\"eu\",\"additional_info\":[{\"key\":\"k\",\"value\":\"v\"}],\"capabilities\":[\"warm_pool\"],\"gateway_info\":{\"name\":\"g\",\"url\":\"https://g\",\"region\":\"eu\",\"latency_micros\":1500},\"llm_url\":\"\",\"public_key\":[9,9],\"support_bundle_url\":\"\"}',
   5, 6, 3);
INSERT INTO runner_policies (runner_id, group_id, role) VALUES
  ('018f0c5e-0000-7000-8000-000000000005', '018f0c5e-0000-7000-8000-000000000003', 'admin'),
  ('018f0c5e-0000-7000-8000-000000000005', '018f0c5e-0000-7000-8000-000000000004', 'user');
INSERT INTO members (id, org_id, principal, name, role, created_at) VALUES
  ('018f0c5e-0000-7000-8000-000000000006', '018f0c5e-0000-7000-8000-000000000001', 'user', 'alice', 'member', 5),
  ('018f0c5e-0000-7000-8000-000000000007', '018f0c5e-0000-7000-8000-000000000001', 'user', 'bob', 'member', 6);
INSERT INTO group_members (group_id, member_id) VALUES
  ('018f0c5e-0000-7000-8000-000000000004', '018f0c5e-0000-7000-8000-000000000006'),
  ('018f0c5e-0000-7000-8000-000000000004', '018f0c5e-0000-7000-8000-000000000007');
";

/// Copies the migrations of `dir` older than `before` into `into`.
pub fn copy_migrations_before(dir: &Path, before: i64, into: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let version: i64 = name.split('_').next().unwrap().parse().unwrap();
        if version < before {
            std::fs::copy(&path, into.join(&name)).unwrap();
        }
    }
}

/// What [`OLD_ROWS`] became: the same policies, the runners-admin role as an assignment on the
/// organization, and the groups with the new fields filled in.
pub async fn old_rows_read_the_same(store: Arc<dyn Store>) {
    let id = |s: &str| Uuid::parse_str(s).unwrap();
    let (org, admins, users, runner) = (id(ORG), id(ADMINS), id(USERS), id(RUNNER));
    let mut policies = store.list_runner_policies(runner, None, 10).await.unwrap();
    policies.sort_by_key(|p| p.group_id);
    assert_eq!(
        policies,
        vec![
            RunnerPolicy { runner_id: runner, group_id: admins, role: RunnerRole::Admin },
            RunnerPolicy { runner_id: runner, group_id: users, role: RunnerRole::User },
        ]
    );
    assert_eq!(store.policy_roles(runner, &[users]).await.unwrap(), vec![RunnerRole::User]);
    assert_eq!(store.organization_roles(org, &[admins]).await.unwrap(), vec![ResourceRole::OrgRunnersAdmin]);
    assert_eq!(store.organization_roles(org, &[users, id(MEMBERS)]).await.unwrap(), vec![]);
    let assignments = store.list_role_assignments(org, &RoleAssignmentFilter::default(), None, 10).await.unwrap();
    assert_eq!(assignments.len(), 3);
    assert!(assignments.iter().all(|a| a.org_id == org && a.id.get_version_num() == 4), "{assignments:?}");
    let groups = store.list_groups(org).await.unwrap();
    assert_eq!(groups.len(), 3);
    let members = &groups[0];
    assert_eq!(
        (members.name.as_str(), members.system, members.description.as_str()),
        ("org-members", true, "Every member of the organization")
    );
    assert!(groups.iter().all(|g| g.updated_at == g.created_at && !g.direct_share));
    assert_eq!(groups[1].description, "");
    // Each membership got an id of its own (version 4), by which it is read and deleted.
    let memberships = store.list_memberships(users).await.unwrap();
    let mut held: Vec<Uuid> = memberships.iter().map(|m| m.member_id).collect();
    held.sort();
    assert_eq!(held, vec![id(ALICE), id(BOB)]);
    assert!(memberships.iter().all(|m| m.group_id == users && m.id.get_version_num() == 4), "{memberships:?}");
    assert_ne!(memberships[0].id, memberships[1].id);
    // The runners' JSON reads as it did, by id and in a page; written again, it reads the same.
    let configured = store.get_runner(id(CONFIGURED)).await.unwrap().expect("the configured runner");
    assert_eq!(configured, configured_runner(org));
    let plain = store.get_runner(runner).await.unwrap().expect("the old runner");
    assert_eq!((plain.spec, plain.status), (RunnerSpec::default(), RunnerStatus::default()));
    let page = store.list_runners(&Visibility::All { org_id: org }, &RunnerFilter::default(), None, 10).await.unwrap();
    assert_eq!(page.iter().map(|r| r.id).collect::<Vec<_>>(), vec![runner, id(CONFIGURED)]);
    assert_eq!(page[1], configured);
    let rewritten = Runner { revision: configured.revision + 1, ..configured.clone() };
    assert_eq!(store.update_runner(&rewritten).await.unwrap(), WriteOutcome::Written);
    assert_eq!(store.get_runner(id(CONFIGURED)).await.unwrap(), Some(rewritten));
    assert_eq!(store.get_membership(memberships[0].id).await.unwrap(), Some(memberships[0]));
    assert!(store.delete_membership(memberships[0].id).await.unwrap());
    assert_eq!(store.list_memberships(users).await.unwrap(), vec![memberships[1]]);
    // New memberships get ids as usual.
    assert_ne!(store.add_group_member(admins, id(ALICE)).await.unwrap(), memberships[0].id);
    // And the policies go with the runner, as before.
    assert!(store.delete_runner(runner).await.unwrap());
    assert_eq!(store.list_role_assignments(org, &RoleAssignmentFilter::default(), None, 10).await.unwrap().len(), 1);
}

/// The configured runner of [`OLD_ROWS`], as its JSON says.
fn configured_runner(org: Uuid) -> Runner {
    Runner {
        id: Uuid::parse_str(CONFIGURED).unwrap(),
        org_id: org,
        name: "configured runner".to_owned(),
        kind: RunnerKind::Remote,
        provider: Some(RunnerProvider::AwsEc2),
        runner_manager_id: None,
        creator: None,
        created_at: Timestamp(5),
        updated_at: Timestamp(6),
        spec: RunnerSpec {
            desired_phase: Some(RunnerPhase::Active),
            configuration: RunnerConfiguration {
                region: "eu-central-1".to_owned(),
                release_channel: Some(ReleaseChannel::Latest),
                auto_update: true,
                metrics: Some(MetricsConfiguration {
                    enabled: true,
                    url: "https://m".to_owned(),
                    username: "u".to_owned(),
                    encrypted_password: vec![1, 2, 3],
                    managed_metrics_enabled: false,
                    include_verbose_metrics: true,
                }),
                log_level: Some(LogLevel::Warn),
                devcontainer_image_cache_enabled: false,
                update_window: Some(UpdateWindow { start_hour: 22, end_hour: 4 }),
                encrypted_honeycomb_api_key: vec![],
                continuous_profiling: false,
            },
            variant: Some(RunnerVariant::Enterprise),
        },
        status: RunnerStatus {
            updated_at: Some(Timestamp(7)),
            version: "1.2.3".to_owned(),
            phase: RunnerPhase::Active,
            message: "ok".to_owned(),
            region: "eu".to_owned(),
            additional_info: vec![FieldValue { key: "k".to_owned(), value: "v".to_owned() }],
            capabilities: vec![RunnerCapability::WarmPool],
            gateway_info: Some(GatewayInfo {
                name: "g".to_owned(),
                url: "https://g".to_owned(),
                region: "eu".to_owned(),
                latency_micros: Some(1500),
            }),
            public_key: vec![9, 9],
            ..Default::default()
        },
        revision: 3,
    }
}
