//! The authorization matrix: every runner RPC, every GroupService RPC and ServiceAccountService,
//! called as every kind of principal (issue 17's list: org admin, member, runners admin, groups
//! admin, service account, runner principal, a member of another organization, a suspended user,
//! an anonymous caller), get exactly the code docs/authorization.md gives. Over Connect JSON and
//! gRPC.

use gitpod_api::gitpod::v1::*;
use runner_core::identity::OrgRole;

use crate::runner_side::runner_access_token;
use crate::runners::create;
use runner_testkit::{Client, Protocol, TestServer, gs, outcome, rcs, rs, sas};

/// The principals of the matrix, in column order.
const PRINCIPALS: [&str; 13] = [
    "org admin",
    "runners admin",
    "creator",
    "user policy",
    "admin policy",
    "plain member",
    "other org admin",
    "no token",
    "runner itself",
    "other runner",
    "groups admin",
    "service account",
    "suspended user",
];

/// Expected outcome per principal: "ok" or a Connect code.
type Row = [&'static str; 13];

const PD: &str = "permission_denied";
const NF: &str = "not_found";
const UN: &str = "unauthenticated";

// Columns: org admin, runners admin, creator, user policy, admin policy, plain member, other org
// admin, no token, runner itself, other runner, groups admin, service account, suspended user.
// A groups admin (a user, with no role on runners) and a plain service account are members
// without runner roles: as the plain member everywhere but in managing groups. A suspended
// user's token authenticates nothing.

/// Creating a runner: organization and runners admins (in their own organization).
const CREATE_RUNNER: Row = ["ok", "ok", PD, PD, PD, PD, "ok", UN, PD, PD, PD, PD, UN];

/// Reads of a runner: its users, its own principal; the rest cannot see it.
const RUNNER_USERS: Row = ["ok", "ok", "ok", "ok", "ok", NF, NF, UN, "ok", NF, NF, NF, UN];

/// Changes of a runner and its policies: its admins; a user of it (its own principal included)
/// sees it but may not.
const RUNNER_ADMIN_CALLS: Row = ["ok", "ok", "ok", PD, "ok", NF, NF, UN, PD, NF, NF, NF, UN];

/// IdentityService: every authenticated caller, about itself.
const EVERY_CALLER: Row = ["ok", "ok", "ok", "ok", "ok", "ok", "ok", UN, "ok", "ok", "ok", "ok", UN];

/// Listings of the caller's organization's groups and role assignments: every user and service
/// account (another organization's admin lists its own); runners may not call GroupService.
const LIST_IN_ORG: Row = ["ok", "ok", "ok", "ok", "ok", "ok", "ok", UN, PD, PD, "ok", "ok", UN];

/// GroupService changes to groups and memberships: organization admins and groups admins.
const MANAGE_GROUPS: Row = ["ok", PD, PD, PD, PD, PD, NF, UN, PD, PD, "ok", PD, UN];

/// GroupService reads (the transparency model): every user and service account of the
/// organization.
const READ_GROUPS: Row = ["ok", "ok", "ok", "ok", "ok", "ok", NF, UN, PD, PD, "ok", "ok", UN];

/// Role assignments and shares on a runner: the runner's admins.
const RUNNER_ADMINS: Row = ["ok", "ok", "ok", PD, "ok", NF, NF, UN, PD, PD, NF, NF, UN];

/// A groups admin, "groups-admin": a user in a group holding RESOURCE_ROLE_ORG_GROUPS_ADMIN on
/// the organization (assigned by the organization admin `admin`), and no other role. Its id and
/// token.
async fn groups_admin(server: &TestServer, admin: &Client) -> (uuid::Uuid, String) {
    let (id, org) = (&server.identity, server.org.id);
    let (member, token) = server.member("groups-admin", OrgRole::Member).await;
    let stewards = id.create_group(org, "group-stewards").await.unwrap();
    id.add_group_member(stewards.id, member).await.unwrap();
    crate::groups::assign(admin, stewards.id, ResourceType::Organization, org, ResourceRole::OrgGroupsAdmin)
        .await
        .unwrap();
    (member, token)
}

struct World {
    server: TestServer,
    tokens: Vec<Option<String>>,
    user_group: uuid::Uuid,
    admin_group: uuid::Uuid,
    spare_groups: Vec<uuid::Uuid>,
    creator_token: String,
    other_admin: uuid::Uuid,
    /// A runner that is not the one a call is about, and its access token.
    other_runner: String,
    other_runner_token: String,
}

async fn world() -> World {
    let server = TestServer::start().await;
    let id = &server.identity;
    let org = server.org.id;
    let (_, runners_admin) = server.member("runners-admin", OrgRole::Member).await;
    let (creator_id, creator) = server.member("creator", OrgRole::Member).await;
    let (user_id, user) = server.member("user-policy", OrgRole::Member).await;
    let (admin_id, admin_policy) = server.member("admin-policy", OrgRole::Member).await;
    let (_, plain) = server.member("plain", OrgRole::Member).await;
    let ra_group = id.create_group(org, "runner-admins").await.unwrap();
    id.set_group_runners_admin(ra_group.id, true).await.unwrap();
    let (ra_member, _) = (id.members(org).await.unwrap().into_iter().find(|m| m.name == "runners-admin").unwrap(), ());
    id.add_group_member(ra_group.id, ra_member.id).await.unwrap();
    // The creator was a runners admin while creating runners; its own group loses the role later.
    let creators = id.create_group(org, "creators").await.unwrap();
    id.set_group_runners_admin(creators.id, true).await.unwrap();
    id.add_group_member(creators.id, creator_id).await.unwrap();
    let user_group = id.create_group(org, "users").await.unwrap();
    id.add_group_member(user_group.id, user_id).await.unwrap();
    let admin_group = id.create_group(org, "admins").await.unwrap();
    id.add_group_member(admin_group.id, admin_id).await.unwrap();
    let mut spare_groups = Vec::new();
    for i in 0..40 {
        spare_groups.push(id.create_group(org, &format!("spare {i}")).await.unwrap().id);
    }
    let other = id.create_organization("other").await.unwrap();
    let other_admin =
        id.create_member(other.id, runner_core::model::Principal::User, "boss", OrgRole::Admin).await.unwrap();
    let other_token = id.issue_token(other_admin.id, "t", None).await.unwrap().token;
    let admin = server.client(Protocol::ConnectJson).await;
    let (_, groups_admin) = groups_admin(&server, &admin).await;
    // A plain service account of the organization: no group, no role beyond member.
    let bot = id.create_member(org, runner_core::model::Principal::ServiceAccount, "matrix-bot", OrgRole::Member);
    let bot_token = id.issue_token(bot.await.unwrap().id, "t", None).await.unwrap().token;
    // A user whose token worked (and so is in the token cache) until it was suspended: an
    // organization admin, so that the suspension, not a lack of role, is what refuses it.
    let (suspended_id, suspended) = server.member("suspended", OrgRole::Admin).await;
    crate::runners::list(&server.client_as(Protocol::ConnectJson, Some(&suspended)).await, 0, "", None).await.unwrap();
    id.set_suspended(suspended_id, true).await.unwrap();
    let tokens = vec![
        Some(server.admin_token.clone()),
        Some(runners_admin),
        Some(creator.clone()),
        Some(user),
        Some(admin_policy),
        Some(plain),
        Some(other_token),
        None,
        // The runners' own principals: see World::token.
        None,
        None,
        Some(groups_admin),
        Some(bot_token),
        Some(suspended),
    ];
    let other_runner = create(&admin, crate::runners::aws_runner("bystander")).await.unwrap().runner.unwrap();
    let other_runner_token = runner_access_token(&server, Protocol::ConnectJson, &other_runner.runner_id).await;
    World {
        server,
        other_runner: other_runner.runner_id,
        other_runner_token,
        tokens,
        user_group: user_group.id,
        admin_group: admin_group.id,
        spare_groups,
        creator_token: creator,
        other_admin: other_admin.id,
    }
}

impl World {
    /// The bearer token of principal `i` (a column) for a call about `runner_id`.
    async fn token(&self, i: usize, runner_id: &str) -> Option<String> {
        match PRINCIPALS[i] {
            "runner itself" => Some(runner_access_token(&self.server, Protocol::ConnectJson, runner_id).await),
            "other runner" => Some(self.other_runner_token.clone()),
            _ => self.tokens[i].clone(),
        }
    }

    /// A group of its own for one cell of the matrix.
    async fn fresh_group(&self, rpc: &str, i: usize) -> uuid::Uuid {
        self.server.identity.create_group(self.server.org.id, &format!("{rpc} {i}")).await.unwrap().id
    }

    /// A service account of its own for one cell of the matrix.
    async fn bot(&self, rpc: &str, i: usize) -> uuid::Uuid {
        let org = self.server.org.id;
        let name = format!("{rpc} bot {i}");
        self.server
            .identity
            .create_member(org, runner_core::model::Principal::ServiceAccount, &name, OrgRole::Member)
            .await
            .unwrap()
            .id
    }

    /// The id of the member named `name`.
    async fn member_id(&self, name: &str) -> uuid::Uuid {
        let members = self.server.identity.members(self.server.org.id).await.unwrap();
        members.into_iter().find(|m| m.name == name).unwrap().id
    }

    /// The subject of the user named `name`.
    async fn subject(&self, name: &str) -> Subject {
        Subject { id: self.member_id(name).await.to_string(), principal: Principal::User as i32 }
    }

    /// The creator's group loses the runners-admin role: it keeps admin on what it created.
    async fn demote_creator(&self) {
        let groups = self.server.identity.groups(self.server.org.id).await.unwrap();
        let creators = groups.into_iter().find(|g| g.name == "creators").unwrap();
        self.server.identity.set_group_runners_admin(creators.id, false).await.unwrap();
    }

    /// A runner made by the creator, with a USER policy for `users` and ADMIN for `admins`.
    async fn runner(&self, c: &Client) -> String {
        let creator = self.server.client_as(c.protocol, Some(&self.creator_token)).await;
        let id = create(&creator, crate::runners::aws_runner("matrix runner")).await.unwrap().runner.unwrap().runner_id;
        for (group, role) in [(self.user_group, RunnerRole::User), (self.admin_group, RunnerRole::Admin)] {
            let req =
                CreateRunnerPolicyRequest { runner_id: id.clone(), group_id: group.to_string(), role: role as i32 };
            let _: CreateRunnerPolicyResponse = creator.call(&rs("CreateRunnerPolicy"), req).await.unwrap();
        }
        id
    }
}

#[tokio::test]
async fn every_rpc_for_every_principal() {
    for protocol in [Protocol::ConnectJson, Protocol::Grpc] {
        let w = world().await;
        let admin = w.server.client(protocol).await;
        // Runners that exist before the creator loses its role.
        let mut runners = Vec::new();
        // One runner for each row of the table and principal.
        const ROWS: usize = 26;
        for _ in 0..(PRINCIPALS.len() * ROWS) {
            runners.push(w.runner(&admin).await);
        }
        w.demote_creator().await;
        let org = w.server.org.id;
        let mut next_runner = runners.into_iter();
        let mut spare = w.spare_groups.clone().into_iter();

        let table: Vec<(&str, Row)> = vec![
            ("CreateRunner", CREATE_RUNNER),
            ("GetRunner", RUNNER_USERS),
            ("UpdateRunner", RUNNER_ADMIN_CALLS),
            ("DeleteRunner", RUNNER_ADMIN_CALLS),
            ("CreateRunnerToken", RUNNER_ADMIN_CALLS),
            ("CreateRunnerLogsToken", RUNNER_ADMIN_CALLS),
            ("ListRunnerPolicies", RUNNER_USERS),
            ("CreateRunnerPolicy", RUNNER_ADMIN_CALLS),
            ("UpdateRunnerPolicy", RUNNER_ADMIN_CALLS),
            ("DeleteRunnerPolicy", RUNNER_ADMIN_CALLS),
            // IdentityService: every authenticated caller, about itself.
            ("GetAuthenticatedIdentity", EVERY_CALLER),
            ("GetIDToken", EVERY_CALLER),
            // Every user and service account reads its organization's groups; another
            // organization's group is not found.
            ("ListGroups", LIST_IN_ORG),
            ("GetGroup", READ_GROUPS),
            // Managing groups and memberships: organization admins and groups admins; another
            // organization's group is not found.
            ("CreateGroup", MANAGE_GROUPS),
            ("UpdateGroup", MANAGE_GROUPS),
            ("DeleteGroup", MANAGE_GROUPS),
            ("CreateMembership", MANAGE_GROUPS),
            ("DeleteMembership", MANAGE_GROUPS),
            // Memberships and role assignments are read by every user and service account.
            ("GetMembership", READ_GROUPS),
            ("ListMemberships", READ_GROUPS),
            ("ListRoleAssignments", LIST_IN_ORG),
            // Role assignments and shares on a runner: its admins, as its policies.
            ("CreateRoleAssignment", RUNNER_ADMINS),
            ("DeleteRoleAssignment", RUNNER_ADMINS),
            ("ShareResourceWithPrincipal", RUNNER_ADMINS),
            ("UnshareResourceWithPrincipal", RUNNER_ADMINS),
        ];
        assert_eq!(table.len(), ROWS);
        let mut differences = Vec::new();
        for (rpc, expected) in &table {
            for (i, principal) in PRINCIPALS.iter().enumerate() {
                let runner_id = next_runner.next().unwrap();
                let c = w.server.client_as(protocol, w.token(i, &runner_id).await.as_deref()).await;
                let got = match *rpc {
                    "CreateRunner" => outcome(create(&c, crate::runners::aws_runner("new runner")).await),
                    "GetRunner" => {
                        outcome(c.call::<_, GetRunnerResponse>(&rs(rpc), GetRunnerRequest { runner_id }).await)
                    }
                    "UpdateRunner" => outcome(
                        c.call::<_, UpdateRunnerResponse>(
                            &rs(rpc),
                            UpdateRunnerRequest { runner_id, name: Some("renamed".into()), spec: None },
                        )
                        .await,
                    ),
                    "DeleteRunner" => outcome(
                        c.call::<_, DeleteRunnerResponse>(&rs(rpc), DeleteRunnerRequest { runner_id, force: false })
                            .await,
                    ),
                    "CreateRunnerToken" => outcome(
                        c.call::<_, CreateRunnerTokenResponse>(&rs(rpc), CreateRunnerTokenRequest { runner_id }).await,
                    ),
                    "CreateRunnerLogsToken" => outcome(
                        c.call::<_, CreateRunnerLogsTokenResponse>(
                            &rs(rpc),
                            CreateRunnerLogsTokenRequest { runner_id },
                        )
                        .await,
                    ),
                    "ListRunnerPolicies" => outcome(
                        c.call::<_, ListRunnerPoliciesResponse>(
                            &rs(rpc),
                            ListRunnerPoliciesRequest { runner_id, pagination: None },
                        )
                        .await,
                    ),
                    "CreateRunnerPolicy" => {
                        let group_id = spare.next().unwrap().to_string();
                        let req = CreateRunnerPolicyRequest { runner_id, group_id, role: RunnerRole::User as i32 };
                        outcome(c.call::<_, CreateRunnerPolicyResponse>(&rs(rpc), req).await)
                    }
                    "UpdateRunnerPolicy" => {
                        let req = UpdateRunnerPolicyRequest {
                            runner_id,
                            group_id: w.user_group.to_string(),
                            role: RunnerRole::Admin as i32,
                        };
                        outcome(c.call::<_, UpdateRunnerPolicyResponse>(&rs(rpc), req).await)
                    }
                    "DeleteRunnerPolicy" => {
                        let req = DeleteRunnerPolicyRequest { runner_id, group_id: w.user_group.to_string() };
                        outcome(c.call::<_, DeleteRunnerPolicyResponse>(&rs(rpc), req).await)
                    }
                    "GetAuthenticatedIdentity" => outcome(
                        c.call::<_, GetAuthenticatedIdentityResponse>(
                            &crate::runner_side::identity(rpc),
                            GetAuthenticatedIdentityRequest {},
                        )
                        .await,
                    ),
                    "GetIDToken" => outcome(
                        c.call::<_, GetIdTokenResponse>(
                            &crate::runner_side::identity(rpc),
                            GetIdTokenRequest { audience: vec!["sts.example".into()], version: 0 },
                        )
                        .await,
                    ),
                    "ListGroups" => outcome(
                        c.call::<_, ListGroupsResponse>(&gs(rpc), ListGroupsRequest::default()).await.map(|r| {
                            assert!(!r.groups.is_empty(), "{principal}: a listing of its organization's groups");
                        }),
                    ),
                    "GetGroup" => {
                        let req = GetGroupRequest {
                            group: Some(get_group_request::Group::Id(w.user_group.to_string())),
                            ..Default::default()
                        };
                        outcome(c.call::<_, GetGroupResponse>(&gs(rpc), req).await)
                    }
                    "CreateGroup" => {
                        let req = CreateGroupRequest {
                            organization_id: org.to_string(),
                            name: format!("made by {principal}"),
                            description: String::new(),
                        };
                        outcome(c.call::<_, CreateGroupResponse>(&gs(rpc), req).await)
                    }
                    "UpdateGroup" => {
                        let group = w.fresh_group(rpc, i).await;
                        let req = UpdateGroupRequest {
                            group_id: group.to_string(),
                            name: format!("renamed by {principal}"),
                            description: "changed".into(),
                        };
                        outcome(c.call::<_, UpdateGroupResponse>(&gs(rpc), req).await)
                    }
                    "DeleteGroup" => {
                        let req = DeleteGroupRequest { group_id: w.fresh_group(rpc, i).await.to_string() };
                        outcome(c.call::<_, DeleteGroupResponse>(&gs(rpc), req).await)
                    }
                    "CreateMembership" => {
                        let req = CreateMembershipRequest {
                            group_id: w.fresh_group(rpc, i).await.to_string(),
                            subject: Some(w.subject("plain").await),
                        };
                        outcome(c.call::<_, CreateMembershipResponse>(&gs(rpc), req).await)
                    }
                    "DeleteMembership" => {
                        let group = w.fresh_group(rpc, i).await;
                        let plain = w.member_id("plain").await;
                        let membership = w.server.identity.add_group_member(group, plain).await.unwrap();
                        let req = DeleteMembershipRequest { membership_id: membership.id.to_string() };
                        outcome(c.call::<_, DeleteMembershipResponse>(&gs(rpc), req).await)
                    }
                    "GetMembership" => {
                        let req = GetMembershipRequest {
                            group_id: w.user_group.to_string(),
                            subject: Some(w.subject("user-policy").await),
                        };
                        outcome(c.call::<_, GetMembershipResponse>(&gs(rpc), req).await)
                    }
                    "ListMemberships" => {
                        let req = ListMembershipsRequest { group_id: w.user_group.to_string(), ..Default::default() };
                        outcome(c.call::<_, ListMembershipsResponse>(&gs(rpc), req).await)
                    }
                    "ListRoleAssignments" => {
                        let filter =
                            list_role_assignments_request::Filter { resource_id: runner_id, ..Default::default() };
                        let req = ListRoleAssignmentsRequest { filter: Some(filter), pagination: None };
                        outcome(c.call::<_, ListRoleAssignmentsResponse>(&gs(rpc), req).await)
                    }
                    "CreateRoleAssignment" => {
                        let req = CreateRoleAssignmentRequest {
                            group_id: spare.next().unwrap().to_string(),
                            resource_type: ResourceType::Runner as i32,
                            resource_id: runner_id,
                            resource_role: ResourceRole::RunnerUser as i32,
                        };
                        outcome(c.call::<_, CreateRoleAssignmentResponse>(&gs(rpc), req).await)
                    }
                    "DeleteRoleAssignment" => {
                        // The users group's policy on the runner, as an assignment.
                        let filter = runner_core::identity::RoleAssignmentFilter {
                            group_id: Some(w.user_group),
                            resource_ids: vec![runner_id.parse().unwrap()],
                            ..Default::default()
                        };
                        let held = w.server.store.list_role_assignments(org, &filter, None, 10).await.unwrap();
                        let req = DeleteRoleAssignmentRequest { assignment_id: held[0].id.to_string() };
                        outcome(c.call::<_, DeleteRoleAssignmentResponse>(&gs(rpc), req).await)
                    }
                    "ShareResourceWithPrincipal" => {
                        let bot = w.bot(rpc, i).await;
                        let req = ShareResourceWithPrincipalRequest {
                            resource_type: ResourceType::Runner as i32,
                            resource_id: runner_id,
                            principal: Principal::ServiceAccount as i32,
                            principal_id: bot.to_string(),
                            role: ResourceRole::RunnerUser as i32,
                        };
                        outcome(c.call::<_, ShareResourceWithPrincipalResponse>(&gs(rpc), req).await)
                    }
                    "UnshareResourceWithPrincipal" => {
                        let bot = w.bot(rpc, i).await;
                        let shared = ShareResourceWithPrincipalRequest {
                            resource_type: ResourceType::Runner as i32,
                            resource_id: runner_id.clone(),
                            principal: Principal::ServiceAccount as i32,
                            principal_id: bot.to_string(),
                            role: ResourceRole::RunnerUser as i32,
                        };
                        let _: ShareResourceWithPrincipalResponse =
                            admin.call(&gs("ShareResourceWithPrincipal"), shared).await.unwrap();
                        let req = UnshareResourceWithPrincipalRequest {
                            resource_type: ResourceType::Runner as i32,
                            resource_id: runner_id,
                            principal: Principal::ServiceAccount as i32,
                            principal_id: bot.to_string(),
                        };
                        outcome(c.call::<_, UnshareResourceWithPrincipalResponse>(&gs(rpc), req).await)
                    }
                    other => unreachable!("{other}"),
                };
                if got != expected[i] {
                    differences.push(format!("{protocol:?} {rpc} as {principal}: expected {}, got {got}", expected[i]));
                }
            }
        }
        for d in &differences {
            println!("{d}");
        }
        assert!(differences.is_empty(), "{} differences", differences.len());
    }
}

#[tokio::test]
async fn lists_show_only_what_the_caller_can_see() {
    let w = world().await;
    let protocol = Protocol::ConnectJson;
    let admin = w.server.client(protocol).await;
    let shared = w.runner(&admin).await;
    // A runner only org admins and runners admins see.
    let hidden = create(&admin, crate::runners::aws_runner("admins only")).await.unwrap().runner.unwrap().runner_id;
    w.demote_creator().await;
    // (The runners' own principals, 8 and 9, are checked below.)
    let expected: [&[&String]; 13] = [
        &[&shared, &hidden],
        &[&shared, &hidden],
        &[&shared],
        &[&shared],
        &[&shared],
        &[],
        &[],
        &[],
        &[],
        &[],
        &[],
        &[],
        &[],
    ];
    for (i, principal) in PRINCIPALS.iter().enumerate().filter(|(i, _)| ![8, 9].contains(i)) {
        let c = w.server.client_as(protocol, w.tokens[i].as_deref()).await;
        let got = crate::runners::list(&c, 100, "", None).await;
        match (principal, got) {
            (&"no token" | &"suspended user", got) => {
                assert_eq!(got.err().map(|f| f.code).as_deref(), Some("unauthenticated"), "{principal}")
            }
            (_, Ok(page)) => {
                // (The bystander runner of the "other runner" column aside.)
                let ids: Vec<&String> =
                    page.runners.iter().map(|r| &r.runner_id).filter(|id| **id != w.other_runner).collect();
                assert_eq!(ids, expected[i].to_vec(), "{principal}");
            }
            (_, Err(f)) => panic!("{principal}: {f:?}"),
        }
    }
    // A runner's own principal lists itself, whatever policies say.
    for (i, runner) in [(8, &shared), (9, &hidden)] {
        let c = w.server.client_as(protocol, w.token(i, runner).await.as_deref()).await;
        let ids: Vec<String> =
            crate::runners::list(&c, 100, "", None).await.unwrap().runners.into_iter().map(|r| r.runner_id).collect();
        assert_eq!(ids.len(), 1, "{}", PRINCIPALS[i]);
        assert_eq!(ids[0] == *runner, i == 8, "{}", PRINCIPALS[i]);
    }
}

#[tokio::test]
async fn tokens_expire_and_are_revoked() {
    let server = TestServer::start().await;
    let id = &server.identity;
    let (member, _) = server.member("temp", OrgRole::Admin).await;
    let expired = id.issue_token(member, "expired", Some(-1)).await.unwrap();
    let revoked = id.issue_token(member, "revoked", None).await.unwrap();
    id.delete_token(revoked.info.id).await.unwrap();
    for token in [expired.token.as_str(), revoked.token.as_str(), "gpat_forged", ""] {
        for protocol in [Protocol::ConnectJson, Protocol::Grpc, Protocol::GrpcWeb] {
            let c = server.client_as(protocol, Some(token)).await;
            let f = crate::runners::list(&c, 0, "", None).await.unwrap_err();
            assert_eq!(f.code, "unauthenticated", "{protocol:?} {token}");
            if let Some(status) = f.http_status {
                assert_eq!(status, 401);
            }
        }
    }
}

/// Suspending a member refuses its tokens on the very next call, on every protocol, and lifting
/// the suspension lets them in again; the last admin who is not suspended cannot be suspended.
#[tokio::test]
async fn a_suspended_members_tokens_are_refused_at_once_until_it_is_lifted() {
    let server = TestServer::start().await;
    let (member, token) = server.member("dana", OrgRole::Member).await;
    let list = |client: Client| async move {
        client.call(&rs("ListRunners"), ListRunnersRequest::default()).await.map(|_: ListRunnersResponse| ())
    };
    for protocol in runner_testkit::ALL {
        list(server.client_as(protocol, Some(&token)).await).await.unwrap();
    }
    server.identity.set_suspended(member, true).await.unwrap();
    for protocol in runner_testkit::ALL {
        let refused = list(server.client_as(protocol, Some(&token)).await).await.unwrap_err();
        assert_eq!(refused.code, "unauthenticated", "{protocol:?}");
        assert!(refused.message.contains("suspended"), "{refused:?}");
    }
    server.identity.set_suspended(member, false).await.unwrap();
    list(server.client_as(Protocol::ConnectJson, Some(&token)).await).await.unwrap();

    // The bootstrap admin is the organization's only admin.
    let err = server.identity.set_suspended(server.admin_id, true).await.unwrap_err();
    assert!(
        matches!(&err, runner_core::CoreError::FailedPrecondition(m) if m.contains("last organization admin")),
        "{err:?}"
    );
    let (second, _) = server.member("erin", OrgRole::Admin).await;
    server.identity.set_suspended(server.admin_id, true).await.unwrap();
    let err = server.identity.set_suspended(second, true).await.unwrap_err();
    assert!(matches!(err, runner_core::CoreError::FailedPrecondition(_)), "{err:?}");
}

/// Authenticated tokens are cached (runner_core::token_cache): a revocation through the server
/// applies to the very next call, and one by another process (an `admin` subcommand, another
/// replica) within the cache's time to live.
#[tokio::test]
async fn a_cached_token_is_refused_once_revoked() {
    let server = TestServer::start().await;
    let (member, _) = server.member("cached", OrgRole::Admin).await;
    let here = server.identity.issue_token(member, "revoked here", None).await.unwrap();
    let elsewhere = server.identity.issue_token(member, "revoked by another process", None).await.unwrap();
    let (c_here, c_elsewhere) = (
        server.client_as(Protocol::Grpc, Some(&here.token)).await,
        server.client_as(Protocol::ConnectJson, Some(&elsewhere.token)).await,
    );
    for c in [&c_here, &c_elsewhere] {
        crate::runners::list(c, 0, "", None).await.unwrap(); // now cached
        crate::runners::list(c, 0, "", None).await.unwrap();
    }

    server.identity.delete_token(here.info.id).await.unwrap();
    assert_eq!(crate::runners::list(&c_here, 0, "", None).await.unwrap_err().code, "unauthenticated");

    runner_core::accounts::Accounts::new(server.store.clone()).delete_token(elsewhere.info.id).await.unwrap();
    tokio::time::sleep(runner_server::state::DEFAULT_TOKEN_CACHE_TTL + std::time::Duration::from_millis(50)).await;
    assert_eq!(crate::runners::list(&c_elsewhere, 0, "", None).await.unwrap_err().code, "unauthenticated");
}

/// A role change applies to the next call of a cached token.
#[tokio::test]
async fn a_cached_token_follows_role_changes() {
    let server = TestServer::start().await;
    let (member, token) = server.member("demoted", OrgRole::Admin).await;
    let admin = server.client(Protocol::ConnectJson).await;
    let id = create(&admin, crate::runners::aws_runner("someone else's")).await.unwrap().runner.unwrap().runner_id;
    let c = server.client_as(Protocol::ConnectJson, Some(&token)).await;
    crate::runners::get(&c, &id).await.unwrap(); // an org admin sees it; the token is now cached
    server.identity.set_member_role(member, OrgRole::Member).await.unwrap();
    // A plain member sees no runner it has no policy for.
    assert_eq!(crate::runners::get(&c, &id).await.unwrap_err().code, "not_found");
}

#[tokio::test]
async fn duplicate_policy_is_already_exists_and_unknown_group_not_found() {
    let w = world().await;
    let admin = w.server.client(Protocol::ConnectJson).await;
    let runner_id = w.runner(&admin).await;
    let req = CreateRunnerPolicyRequest {
        runner_id: runner_id.clone(),
        group_id: w.user_group.to_string(),
        role: RunnerRole::Admin as i32,
    };
    let f = admin.call::<_, CreateRunnerPolicyResponse>(&rs("CreateRunnerPolicy"), req).await.unwrap_err();
    assert_eq!((f.code.as_str(), f.http_status), ("already_exists", Some(409)));
    let req =
        CreateRunnerPolicyRequest { runner_id: runner_id.clone(), group_id: uuid::Uuid::now_v7().to_string(), role: 1 };
    assert_eq!(
        admin.call::<_, CreateRunnerPolicyResponse>(&rs("CreateRunnerPolicy"), req).await.unwrap_err().code,
        "not_found"
    );
    let req =
        CreateRunnerPolicyRequest { runner_id: runner_id.clone(), group_id: w.spare_groups[0].to_string(), role: 0 };
    let f = admin.call::<_, CreateRunnerPolicyResponse>(&rs("CreateRunnerPolicy"), req).await.unwrap_err();
    assert_eq!((f.code.as_str(), f.bad_fields.clone()), ("invalid_argument", vec!["role".to_owned()]));
    // Policies list across pages.
    for g in &w.spare_groups[..5] {
        let req = CreateRunnerPolicyRequest { runner_id: runner_id.clone(), group_id: g.to_string(), role: 2 };
        let _: CreateRunnerPolicyResponse = admin.call(&rs("CreateRunnerPolicy"), req).await.unwrap();
    }
    let mut token = String::new();
    let mut seen = 0;
    loop {
        let req = ListRunnerPoliciesRequest {
            runner_id: runner_id.clone(),
            pagination: Some(PaginationRequest { page_size: 3, token }),
        };
        let page: ListRunnerPoliciesResponse = admin.call(&rs("ListRunnerPolicies"), req).await.unwrap();
        assert!(!page.policies.is_empty());
        seen += page.policies.len();
        token = page.pagination.unwrap_or_default().next_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, 7);
    // The creator is the runner's admin through authorship, not a policy: not listed.
    let _ = w.creator_token;
}

#[tokio::test]
async fn scm_questions_check_input_and_access_before_anything_else() {
    let w = world().await;
    let admin = w.server.client(Protocol::ConnectJson).await;
    let runner = w.runner(&admin).await;
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        ("ParseContextURL", serde_json::json!({"runnerId": runner, "contextUrl": "not a url"}), "invalid_argument"),
        (
            "ParseContextURL",
            serde_json::json!({"runnerId": "x", "contextUrl": "https://github.com/a/b"}),
            "invalid_argument",
        ),
        ("ParseContextURL", serde_json::json!({"contextUrl": "https://github.com/a/b"}), "failed_precondition"),
        ("SearchRepositories", serde_json::json!({"runnerId": runner, "limit": 101}), "invalid_argument"),
        ("SearchRepositories", serde_json::json!({"runnerId": runner, "searchMode": "SEARCH_MODE_NATIVE"}), "ok"),
        ("ListSCMOrganizations", serde_json::json!({"runnerId": runner}), "invalid_argument"),
        (
            "ListSCMOrganizations",
            serde_json::json!({"runnerId": runner, "scmHost": "github.com"}),
            "failed_precondition",
        ),
        ("CheckAuthenticationForHost", serde_json::json!({"runnerId": runner}), "invalid_argument"),
        // The real rules make runnerId a UUID (wire-runner-v2.json), so it cannot be left out.
        ("CheckAuthenticationForHost", serde_json::json!({"host": "github.com"}), "invalid_argument"),
        ("CheckAuthenticationForHost", serde_json::json!({"runnerId": runner, "host": "github.com"}), "ok"),
        (
            "CheckRepositoryAccess",
            serde_json::json!({"runnerId": runner, "repositoryUrl": "github.com/a/b"}),
            "invalid_argument",
        ),
        (
            "CheckRepositoryAccess",
            serde_json::json!({"runnerId": runner, "repositoryUrl": "https://github.com/a/b"}),
            "failed_precondition",
        ),
    ];
    let http = reqwest::Client::new();
    let call = |token: Option<String>, method: &str, body: serde_json::Value| {
        let mut req = http.post(format!("{}{}", w.server.url(), rs(method))).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let v: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
            v["code"].as_str().unwrap_or("ok").to_owned()
        }
    };
    for (method, body, code) in &cases {
        assert_eq!(call(Some(w.server.admin_token.clone()), method, body.clone()).await, *code, "{method} {body}");
    }
    // Access comes before the answer: a plain member cannot see the runner, a user of it gets
    // as far as the missing capability.
    let body = serde_json::json!({"runnerId": runner, "repositoryUrl": "https://github.com/a/b"});
    assert_eq!(call(w.tokens[5].clone(), "CheckRepositoryAccess", body.clone()).await, "not_found");
    assert_eq!(call(w.tokens[3].clone(), "CheckRepositoryAccess", body.clone()).await, "failed_precondition");
    assert_eq!(call(None, "CheckRepositoryAccess", body).await, "unauthenticated");
}

/// RunnerConfigurationService and the SCM questions, for the same thirteen principals.
#[tokio::test]
async fn configuration_rpcs_for_every_principal() {
    let w = world().await;
    let protocol = Protocol::ConnectJson;
    let admin = w.server.client(protocol).await;
    let (_, public_key) = runner_core::crypto::generate_runner_keypair();
    // Runners made while the creator still was a runners admin.
    let mut runners = Vec::new();
    for _ in 0..(PRINCIPALS.len() * 17) {
        let id = w.runner(&admin).await;
        w.server.set_public_key(&id, &public_key).await;
        runners.push(id);
    }
    w.demote_creator().await;
    let mut next_runner = runners.into_iter();

    const FP: &str = "failed_precondition";
    let table: Vec<(&str, Row)> = vec![
        ("GetRunnerConfigurationSchema", RUNNER_USERS),
        ("CreateEnvironmentClass", RUNNER_ADMIN_CALLS),
        ("GetEnvironmentClass", RUNNER_USERS),
        ("UpdateEnvironmentClass", RUNNER_ADMIN_CALLS),
        ("ValidateRunnerConfiguration", RUNNER_ADMIN_CALLS),
        ("CreateSCMIntegration", RUNNER_ADMIN_CALLS),
        ("GetSCMIntegration", RUNNER_USERS),
        ("UpdateSCMIntegration", RUNNER_ADMIN_CALLS),
        ("DeleteSCMIntegration", RUNNER_ADMIN_CALLS),
        // Every user of the runner, for itself; not the runner's own principal.
        ("CreateHostAuthenticationToken", ["ok", "ok", "ok", "ok", "ok", NF, NF, UN, PD, NF, NF, NF, UN]),
        // The organization admin's token: the runner's admins, and the runner itself (it
        // refreshes host tokens); a runner user who is not its subject does not see it.
        ("GetHostAuthenticationToken", ["ok", "ok", "ok", NF, "ok", NF, NF, UN, "ok", NF, NF, NF, UN]),
        ("UpdateHostAuthenticationToken", ["ok", "ok", "ok", NF, "ok", NF, NF, UN, "ok", NF, NF, NF, UN]),
        ("DeleteHostAuthenticationToken", ["ok", "ok", "ok", NF, "ok", NF, NF, UN, NF, NF, NF, NF, UN]),
        ("CreateLLMIntegration", RUNNER_ADMIN_CALLS),
        ("GetLLMIntegration", RUNNER_USERS),
        ("DeleteLLMIntegration", RUNNER_ADMIN_CALLS),
        // A user of the runner gets as far as the missing capability.
        ("CheckRepositoryAccess", [FP, FP, FP, FP, FP, NF, NF, UN, FP, NF, NF, NF, UN]),
    ];
    // Each principal's own subject, for the tokens it stores for itself.
    let members = w.server.identity.members(w.server.org.id).await.unwrap();
    let subject_of = |i: usize| -> Subject {
        // Runners hold no tokens of their own: theirs are created for the organization admin.
        let name = [
            "admin",
            "runners-admin",
            "creator",
            "user-policy",
            "admin-policy",
            "plain",
            "",
            "",
            "admin",
            "admin",
            "groups-admin",
            "matrix-bot",
            "suspended",
        ][i];
        let id = match i {
            6 => w.other_admin.to_string(),
            7 => uuid::Uuid::now_v7().to_string(),
            _ => members.iter().find(|m| m.name == name).map(|m| m.id.to_string()).expect("a member"),
        };
        let principal = if PRINCIPALS[i] == "service account" { Principal::ServiceAccount } else { Principal::User };
        Subject { id, principal: principal as i32 }
    };
    let mut differences = Vec::new();
    for (rpc, expected) in &table {
        for (i, principal) in PRINCIPALS.iter().enumerate() {
            let runner_id = next_runner.next().unwrap();
            let c = w.server.client_as(protocol, w.token(i, &runner_id).await.as_deref()).await;
            // What the call acts on, made by the organization admin.
            let schema: GetRunnerConfigurationSchemaResponse = admin
                .call(
                    &rcs("GetRunnerConfigurationSchema"),
                    GetRunnerConfigurationSchemaRequest { runner_id: runner_id.clone() },
                )
                .await
                .unwrap();
            let config: Vec<FieldValue> = schema
                .schema
                .unwrap()
                .environment_classes
                .into_iter()
                .filter_map(|f| match f.r#type? {
                    runner_configuration_schema::field::Type::Int(x) => {
                        Some(FieldValue { key: f.id, value: x.default.to_string() })
                    }
                    _ => None,
                })
                .collect();
            let class = || CreateEnvironmentClassRequest {
                runner_id: runner_id.clone(),
                display_name: "Matrix Class".into(),
                description: "for the matrix".into(),
                configuration: config.clone(),
            };
            let scm = || CreateScmIntegrationRequest {
                runner_id: runner_id.clone(),
                scm_id: "github".into(),
                host: "github.com".into(),
                pat: true,
                ..Default::default()
            };
            let llm = || CreateLlmIntegrationRequest {
                runner_id: runner_id.clone(),
                models: vec![SupportedModel::Sonnet4 as i32],
                endpoint: "https://llm.example.com".into(),
                api_key: "sk-matrix".into(),
                max_tokens: 0,
            };
            let token_for = |subject: Subject| CreateHostAuthenticationTokenRequest {
                runner_id: runner_id.clone(),
                host: "github.com".into(),
                token: "ghp_matrix".into(),
                source: HostAuthenticationTokenSource::Pat as i32,
                subject: Some(subject),
                ..Default::default()
            };
            let class_id = || async {
                admin
                    .call::<_, CreateEnvironmentClassResponse>(&rcs("CreateEnvironmentClass"), class())
                    .await
                    .unwrap()
                    .id
            };
            let scm_id = || async {
                admin.call::<_, CreateScmIntegrationResponse>(&rcs("CreateSCMIntegration"), scm()).await.unwrap().id
            };
            let got = match *rpc {
                "GetRunnerConfigurationSchema" => outcome(
                    c.call::<_, GetRunnerConfigurationSchemaResponse>(
                        &rcs(rpc),
                        GetRunnerConfigurationSchemaRequest { runner_id },
                    )
                    .await,
                ),
                "CreateEnvironmentClass" => {
                    outcome(c.call::<_, CreateEnvironmentClassResponse>(&rcs(rpc), class()).await)
                }
                "GetEnvironmentClass" => {
                    let req = GetEnvironmentClassRequest { environment_class_id: class_id().await };
                    outcome(c.call::<_, GetEnvironmentClassResponse>(&rcs(rpc), req).await)
                }
                "UpdateEnvironmentClass" => {
                    let req = UpdateEnvironmentClassRequest {
                        environment_class_id: class_id().await,
                        enabled: Some(false),
                        ..Default::default()
                    };
                    outcome(c.call::<_, UpdateEnvironmentClassResponse>(&rcs(rpc), req).await)
                }
                "ValidateRunnerConfiguration" => {
                    let req = ValidateRunnerConfigurationRequest {
                        runner_id: runner_id.clone(),
                        config: Some(validate_runner_configuration_request::Config::EnvironmentClass(
                            EnvironmentClass {
                                display_name: "Checked Class".into(),
                                description: "checked".into(),
                                configuration: config.clone(),
                                ..Default::default()
                            },
                        )),
                    };
                    outcome(c.call::<_, ValidateRunnerConfigurationResponse>(&rcs(rpc), req).await)
                }
                "CreateSCMIntegration" => outcome(c.call::<_, CreateScmIntegrationResponse>(&rcs(rpc), scm()).await),
                "GetSCMIntegration" => outcome(
                    c.call::<_, GetScmIntegrationResponse>(&rcs(rpc), GetScmIntegrationRequest { id: scm_id().await })
                        .await,
                ),
                "UpdateSCMIntegration" => {
                    let req = UpdateScmIntegrationRequest {
                        id: scm_id().await,
                        virtual_directory: Some(String::new()),
                        ..Default::default()
                    };
                    outcome(c.call::<_, UpdateScmIntegrationResponse>(&rcs(rpc), req).await)
                }
                "DeleteSCMIntegration" => outcome(
                    c.call::<_, DeleteScmIntegrationResponse>(
                        &rcs(rpc),
                        DeleteScmIntegrationRequest { id: scm_id().await },
                    )
                    .await,
                ),
                "CreateHostAuthenticationToken" => {
                    scm_id().await;
                    outcome(
                        c.call::<_, CreateHostAuthenticationTokenResponse>(&rcs(rpc), token_for(subject_of(i))).await,
                    )
                }
                "GetHostAuthenticationToken" | "UpdateHostAuthenticationToken" | "DeleteHostAuthenticationToken" => {
                    // The organization admin's own token: others need the runner's admin role.
                    scm_id().await;
                    let created: CreateHostAuthenticationTokenResponse =
                        admin.call(&rcs("CreateHostAuthenticationToken"), token_for(subject_of(0))).await.unwrap();
                    let id = created.token.unwrap().id;
                    match *rpc {
                        "GetHostAuthenticationToken" => outcome(
                            c.call::<_, GetHostAuthenticationTokenResponse>(
                                &rcs(rpc),
                                GetHostAuthenticationTokenRequest { id },
                            )
                            .await,
                        ),
                        "UpdateHostAuthenticationToken" => {
                            let req = UpdateHostAuthenticationTokenRequest {
                                id,
                                token: Some("ghp_new".into()),
                                ..Default::default()
                            };
                            outcome(c.call::<_, UpdateHostAuthenticationTokenResponse>(&rcs(rpc), req).await)
                        }
                        _ => outcome(
                            c.call::<_, DeleteHostAuthenticationTokenResponse>(
                                &rcs(rpc),
                                DeleteHostAuthenticationTokenRequest { id },
                            )
                            .await,
                        ),
                    }
                }
                "CreateLLMIntegration" => outcome(c.call::<_, CreateLlmIntegrationResponse>(&rcs(rpc), llm()).await),
                "GetLLMIntegration" | "DeleteLLMIntegration" => {
                    let id = admin
                        .call::<_, CreateLlmIntegrationResponse>(&rcs("CreateLLMIntegration"), llm())
                        .await
                        .unwrap()
                        .id;
                    if *rpc == "GetLLMIntegration" {
                        outcome(
                            c.call::<_, GetLlmIntegrationResponse>(&rcs(rpc), GetLlmIntegrationRequest { id }).await,
                        )
                    } else {
                        outcome(
                            c.call::<_, DeleteLlmIntegrationResponse>(
                                &rcs(rpc),
                                DeleteLlmIntegrationRequest { id, force: false },
                            )
                            .await,
                        )
                    }
                }
                "CheckRepositoryAccess" => {
                    let req = CheckRepositoryAccessRequest {
                        runner_id,
                        repository_url: "https://github.com/org/repo".into(),
                    };
                    outcome(c.call::<_, CheckRepositoryAccessResponse>(&rs(rpc), req).await)
                }
                other => unreachable!("{other}"),
            };
            if got != expected[i] {
                differences.push(format!("{rpc} as {principal}: expected {}, got {got}", expected[i]));
            }
        }
    }
    for d in &differences {
        println!("{d}");
    }
    assert!(differences.is_empty(), "{} differences", differences.len());
}

/// The columns of the ServiceAccountService matrix: the principals of the main matrix and the
/// service account the call is about, calling with its own token.
const SA_PRINCIPALS: [&str; 14] = [
    "org admin",
    "runners admin",
    "creator",
    "user policy",
    "admin policy",
    "plain member",
    "other org admin",
    "no token",
    "runner itself",
    "other runner",
    "groups admin",
    "service account",
    "suspended user",
    "the service account",
];

#[tokio::test]
async fn service_account_rpcs_for_every_principal() {
    use crate::service_accounts as sa;
    // Rows of RPCs with the same outcomes, as in docs/authorization.md. The "service account"
    // column is another service account of the organization: its own tokens are the only ones
    // it makes, lists and sees.
    let rows: Vec<(Vec<&str>, [&str; 14])> = vec![
        (vec!["CreateServiceAccount"], ["ok", PD, PD, PD, PD, PD, "ok", UN, PD, PD, PD, PD, UN, PD]),
        (vec!["ListServiceAccounts"], ["ok", "ok", "ok", "ok", "ok", "ok", "ok", UN, PD, PD, "ok", "ok", UN, "ok"]),
        (vec!["GetServiceAccount"], ["ok", "ok", "ok", "ok", "ok", "ok", NF, UN, PD, PD, "ok", "ok", UN, "ok"]),
        (
            vec!["UpdateServiceAccount", "DeleteServiceAccount", "CreateServiceAccountAccessToken"],
            ["ok", PD, PD, PD, PD, PD, NF, UN, PD, PD, PD, PD, UN, PD],
        ),
        (vec!["CreateServiceAccountToken"], [PD, PD, PD, PD, PD, PD, PD, UN, PD, PD, PD, "ok", UN, "ok"]),
        (vec!["ListServiceAccountTokens"], ["ok", PD, PD, PD, PD, PD, "ok", UN, PD, PD, PD, "ok", UN, "ok"]),
        (
            vec!["GetServiceAccountToken", "DeleteServiceAccountToken"],
            ["ok", NF, NF, NF, NF, NF, NF, UN, PD, PD, NF, NF, UN, "ok"],
        ),
    ];
    let table: Vec<(&str, [&str; 14])> =
        rows.iter().flat_map(|(rpcs, expected)| rpcs.iter().map(move |rpc| (*rpc, *expected))).collect();
    assert_eq!(table.len(), 10, "every RPC of ServiceAccountService");
    for protocol in [Protocol::ConnectJson, Protocol::Grpc] {
        let w = world().await;
        let admin = w.server.client(protocol).await;
        let mine = create(&admin, crate::runners::aws_runner("mine")).await.unwrap().runner.unwrap().runner_id;
        let mut differences = Vec::new();
        let mut n = 0;
        for (rpc, expected) in &table {
            for (i, principal) in SA_PRINCIPALS.iter().enumerate() {
                // A service account of the organization for each call, and a token of it.
                n += 1;
                let target = sa::create_account(&admin, &format!("target {n}"), "").await.unwrap();
                let own = sa::access_token(&admin, &target.id).await.unwrap();
                let target_token = w.server.client_as(protocol, Some(&own)).await;
                let token_id =
                    sa::create_token(&target_token, "t", Some(3600)).await.unwrap().service_account_token.unwrap().id;
                let token = match *principal {
                    "the service account" => Some(own),
                    _ => w.token(i, &mine).await,
                };
                let c = w.server.client_as(protocol, token.as_deref()).await;
                let id = target.id.clone();
                let got = match *rpc {
                    "CreateServiceAccount" => outcome(sa::create_account(&c, &format!("new {n}"), "").await),
                    "ListServiceAccounts" => outcome(
                        c.call::<_, ListServiceAccountsResponse>(&sas(rpc), ListServiceAccountsRequest::default())
                            .await,
                    ),
                    "GetServiceAccount" => {
                        let req = GetServiceAccountRequest { service_account_id: id };
                        outcome(c.call::<_, GetServiceAccountResponse>(&sas(rpc), req).await)
                    }
                    "UpdateServiceAccount" => {
                        let req = UpdateServiceAccountRequest {
                            service_account_id: id,
                            name: None,
                            description: Some("changed".into()),
                        };
                        outcome(c.call::<_, UpdateServiceAccountResponse>(&sas(rpc), req).await)
                    }
                    "DeleteServiceAccount" => outcome(sa::delete(&c, &id).await),
                    "CreateServiceAccountAccessToken" => outcome(sa::access_token(&c, &id).await),
                    "CreateServiceAccountToken" => outcome(sa::create_token(&c, "mine", Some(60)).await),
                    "ListServiceAccountTokens" => outcome(sa::list_tokens(&c, 0, "").await),
                    "GetServiceAccountToken" => outcome(sa::get_token(&c, &token_id).await),
                    "DeleteServiceAccountToken" => outcome(sa::delete_token(&c, &token_id).await),
                    other => unreachable!("{other}"),
                };
                if got != expected[i] {
                    differences.push(format!("{protocol:?} {rpc} as {principal}: expected {}, got {got}", expected[i]));
                }
            }
        }
        for d in &differences {
            println!("{d}");
        }
        assert!(differences.is_empty(), "{} differences", differences.len());
    }
}

/// The principals of the UserService and OrganizationService matrix, in column order.
/// The runners admin and the groups admin are users with the organization role member and a
/// group holding the org-level role; neither role is one over users or the organization.
const ACCESS_PRINCIPALS: [&str; 9] = [
    "org admin",
    "plain member",
    "service account",
    "suspended user",
    "other org admin",
    "no token",
    "runner",
    "runners admin",
    "groups admin",
];

/// Expected outcome per principal of [`ACCESS_PRINCIPALS`].
type AccessRow = [&'static str; 9];
const DENIED: &str = "permission_denied";
const UNAUTH: &str = "unauthenticated";
const GONE: &str = "not_found";
const EXISTS: &str = "already_exists";
/// What only users do, each for itself.
const USERS_ONLY: AccessRow = ["ok", "ok", DENIED, UNAUTH, "ok", UNAUTH, DENIED, "ok", "ok"];
/// Reads of the caller's organization.
const IN_THE_ORG: AccessRow = ["ok", "ok", "ok", UNAUTH, GONE, UNAUTH, DENIED, "ok", "ok"];
/// Changes of the caller's organization and its users.
const ADMINS_ONLY: AccessRow = ["ok", DENIED, DENIED, UNAUTH, GONE, UNAUTH, DENIED, DENIED, DENIED];
/// Another user's token: its own user and org admins only.
const ADMINS_SEE: AccessRow = ["ok", GONE, GONE, UNAUTH, GONE, UNAUTH, DENIED, GONE, GONE];
/// What needs no sign-in: everyone, with any token or none.
const ANYONE: AccessRow = ["ok"; 9];
/// What nobody may do for another user.
const NOBODY: AccessRow = [DENIED, DENIED, DENIED, UNAUTH, GONE, UNAUTH, DENIED, DENIED, DENIED];

/// UserService, OrganizationService and AccountService, called as every kind of principal, get
/// exactly the code docs/authorization.md gives. Each call is about a user, token or name of its
/// own, so that no call depends on another; DeleteOrganization (of the organization the matrix runs in)
/// comes last, with the org admin's call last of all. Over Connect JSON and gRPC.
#[tokio::test]
async fn user_and_organization_rpcs_for_every_principal() {
    use runner_core::model::Principal;
    for protocol in [Protocol::ConnectJson, Protocol::Grpc] {
        let server = TestServer::start().await;
        let (id, org) = (&server.identity, server.org.id);
        let (member_id, member) = server.member("plain", OrgRole::Member).await;
        let bot = id.create_member(org, Principal::ServiceAccount, "bot", OrgRole::Member).await.unwrap();
        let bot_token = id.issue_token(bot.id, "t", None).await.unwrap().token;
        let (sleeper, sleeper_token) = server.member("sleeper", OrgRole::Member).await;
        id.set_suspended(sleeper, true).await.unwrap();
        let other = id.create_organization("other").await.unwrap();
        let boss = id.create_member(other.id, Principal::User, "boss", OrgRole::Admin).await.unwrap();
        let boss_token = id.issue_token(boss.id, "t", None).await.unwrap().token;
        let admin = server.client(protocol).await;
        let runner = create(&admin, crate::runners::aws_runner("matrix")).await.unwrap().runner.unwrap().runner_id;
        let runner_token = runner_access_token(&server, protocol, &runner).await;
        let (runners_admin_id, runners_admin) = server.member("runners-admin", OrgRole::Member).await;
        let runner_admins = id.create_group(org, "runner-admins").await.unwrap();
        id.add_group_member(runner_admins.id, runners_admin_id).await.unwrap();
        id.set_group_runners_admin(runner_admins.id, true).await.unwrap();
        let (groups_admin_id, groups_admin) = groups_admin(&server, &admin).await;
        let tokens = [
            Some(server.admin_token.clone()),
            Some(member),
            Some(bot_token),
            Some(sleeper_token),
            Some(boss_token),
            None,
            Some(runner_token),
            Some(runners_admin),
            Some(groups_admin),
        ];
        // The callers' own user ids (none for the service account, the anonymous and the runner).
        let own = [
            Some(server.admin_id),
            Some(member_id),
            None,
            Some(sleeper),
            Some(boss.id),
            None,
            None,
            Some(runners_admin_id),
            Some(groups_admin_id),
        ];

        let table: Vec<(&str, AccessRow)> = vec![
            ("GetAuthenticatedUser", USERS_ONLY),
            ("GetUser", IN_THE_ORG),
            ("SetSuspended", ADMINS_ONLY),
            ("DeleteUser", ADMINS_ONLY),
            // For the caller's own user.
            ("CreatePersonalAccessToken", USERS_ONLY),
            // For another user of the organization: nobody.
            ("CreatePersonalAccessToken for another", NOBODY),
            // Of another user of the organization.
            ("GetPersonalAccessToken", ADMINS_SEE),
            ("ListPersonalAccessTokens", ["ok", "ok", "ok", UNAUTH, "ok", UNAUTH, DENIED, "ok", "ok"]),
            (
                "ListPersonalAccessTokens of another",
                ["ok", DENIED, DENIED, UNAUTH, "ok", UNAUTH, DENIED, DENIED, DENIED],
            ),
            ("DeletePersonalAccessToken", ADMINS_SEE),
            ("CreateOrganization", USERS_ONLY),
            ("GetOrganization", IN_THE_ORG),
            ("UpdateOrganization", ADMINS_ONLY),
            ("ListMembers", IN_THE_ORG),
            ("SetRole", ADMINS_ONLY),
            // Of another user: a user leaves by itself only.
            ("LeaveOrganization", NOBODY),
            // SSO configurations: each call on one of its own (another organization's admin
            // names this organization's, which it cannot see).
            ("CreateSSOConfiguration", ADMINS_ONLY),
            ("GetSSOConfiguration", ADMINS_ONLY),
            ("ListSSOConfigurations", ADMINS_ONLY),
            ("UpdateSSOConfiguration", ADMINS_ONLY),
            ("DeleteSSOConfiguration", ADMINS_ONLY),
            // The organization's invite; what an invite leads to and how to sign in to accept
            // it are for whoever holds its id.
            ("CreateOrganizationInvite", ADMINS_ONLY),
            ("GetOrganizationInvite", ADMINS_ONLY),
            ("GetOrganizationInviteSummary", ANYONE),
            ("ListLoginProviders", ANYONE),
            // The caller's account: people only.
            ("GetAccount", USERS_ONLY),
            ("ListJoinableOrganizations", USERS_ONLY),
            // By this organization's invite: its users are members already; another
            // organization's admin joins.
            ("JoinOrganization", [EXISTS, EXISTS, DENIED, UNAUTH, "ok", UNAUTH, DENIED, EXISTS, EXISTS]),
            // AccountService's sign-in URL, for a domain of an active configuration.
            ("GetSSOLoginURL", ANYONE),
            ("DeleteOrganization", ADMINS_ONLY),
        ];
        let issuer = crate::sso::issuer().await;
        let mut differences = Vec::new();
        let mut n = 0;
        for (rpc, expected) in &table {
            // The org admin's DeleteOrganization ends the organization: it goes last.
            let order: Vec<usize> = if *rpc == "DeleteOrganization" {
                (1..ACCESS_PRINCIPALS.len()).chain([0]).collect()
            } else {
                (0..ACCESS_PRINCIPALS.len()).collect()
            };
            for i in order {
                n += 1;
                let c = server.client_as(protocol, tokens[i].as_deref()).await;
                // A user of the organization of its own for this call, with a token.
                let (target, _) = server.member(&format!("target {n}"), OrgRole::Member).await;
                let target_pat = id.issue_token(target, "target's", Some(3600)).await.unwrap().info.id.to_string();
                let user_id = |u: uuid::Uuid| u.to_string();
                let got = match *rpc {
                    "GetAuthenticatedUser" => outcome(crate::users::me(&c).await),
                    "GetUser" => outcome(crate::users::get_user(&c, target).await),
                    "SetSuspended" => outcome(crate::users::suspend(&c, target, true).await),
                    "DeleteUser" => outcome(crate::users::delete_user(&c, target).await),
                    "CreatePersonalAccessToken" => {
                        let whom = own[i].unwrap_or(target);
                        outcome(crate::users::create_pat(&c, user_id(whom), "own", crate::users::days(1)).await)
                    }
                    "CreatePersonalAccessToken for another" => {
                        outcome(crate::users::create_pat(&c, user_id(target), "theirs", crate::users::days(1)).await)
                    }
                    "GetPersonalAccessToken" => outcome(crate::users::get_pat(&c, &target_pat).await),
                    "ListPersonalAccessTokens" => outcome(crate::users::list_pats(&c, &[], 0, "").await),
                    "ListPersonalAccessTokens of another" => {
                        // Another organization's admin may ask: another organization's user
                        // matches nothing.
                        outcome(crate::users::list_pats(&c, &[user_id(target)], 0, "").await)
                    }
                    "DeletePersonalAccessToken" => outcome(crate::users::delete_pat(&c, &target_pat).await),
                    "CreateOrganization" => {
                        outcome(crate::organizations::create_org(&c, &format!("founded {n}"), true).await)
                    }
                    "GetOrganization" => outcome(crate::organizations::get_org(&c, org).await),
                    "UpdateOrganization" => {
                        outcome(crate::organizations::rename_org(&c, org, &format!("renamed {n}")).await)
                    }
                    "ListMembers" => outcome(
                        crate::organizations::list_members(
                            &c,
                            ListMembersRequest { organization_id: org.to_string(), ..Default::default() },
                        )
                        .await,
                    ),
                    "SetRole" => {
                        outcome(crate::organizations::set_role(&c, org, target, OrganizationRole::Admin).await)
                    }
                    "LeaveOrganization" => outcome(crate::organizations::leave(&c, target).await),
                    "CreateSSOConfiguration" => outcome(
                        crate::sso::create_sso(
                            &c,
                            crate::sso::create_request(org, &issuer, &crate::sso::fresh_domain()),
                        )
                        .await,
                    ),
                    "ListSSOConfigurations" => outcome(crate::sso::list_sso(&c, org, 0, "").await),
                    rpc if rpc.ends_with("SSOConfiguration") => {
                        let domain = crate::sso::fresh_domain();
                        let request = crate::sso::create_request(org, &issuer, &domain);
                        let config = crate::sso::create_sso(&admin, request).await.unwrap().id;
                        outcome(match rpc {
                            "GetSSOConfiguration" => crate::sso::get_sso(&c, &config).await.map(|_| ()),
                            "UpdateSSOConfiguration" => {
                                let req = UpdateSsoConfigurationRequest {
                                    sso_configuration_id: config,
                                    display_name: Some(format!("renamed {n}")),
                                    ..Default::default()
                                };
                                crate::sso::update_sso(&c, req).await
                            }
                            _ => crate::sso::delete_sso(&c, &config).await,
                        })
                    }
                    "CreateOrganizationInvite" => outcome(crate::invites::create_invite(&c, org).await),
                    "GetOrganizationInvite" => outcome(crate::invites::get_invite(&c, org).await),
                    "GetOrganizationInviteSummary" => {
                        let invite = crate::invites::get_invite(&admin, org).await.unwrap();
                        outcome(crate::invites::summary(&c, &invite).await)
                    }
                    "ListLoginProviders" => {
                        let invite = crate::invites::get_invite(&admin, org).await.unwrap();
                        outcome(crate::invites::login_providers(&c, crate::invites::by_invite(&invite), 0, "").await)
                    }
                    "GetAccount" => outcome(crate::invites::get_account(&c).await),
                    "ListJoinableOrganizations" => outcome(crate::invites::joinable(&c, 0, "").await),
                    "JoinOrganization" => {
                        let invite = crate::invites::get_invite(&admin, org).await.unwrap();
                        outcome(crate::invites::join(&c, crate::invites::by_invite_id(&invite)).await)
                    }
                    "GetSSOLoginURL" => {
                        let domain = crate::sso::fresh_domain();
                        let request = crate::sso::create_request(org, &issuer, &domain);
                        crate::sso::create_sso(&admin, request).await.unwrap();
                        let req = GetSsoLoginUrlRequest { email: format!("p{n}@{domain}"), return_to: None };
                        outcome(
                            c.call::<_, GetSsoLoginUrlResponse>("/gitpod.v1.AccountService/GetSSOLoginURL", req).await,
                        )
                    }
                    "DeleteOrganization" => outcome(crate::organizations::delete_org(&c, org).await),
                    other => unreachable!("{other}"),
                };
                if got != expected[i] {
                    let principal = ACCESS_PRINCIPALS[i];
                    differences.push(format!("{protocol:?} {rpc} as {principal}: expected {}, got {got}", expected[i]));
                }
            }
        }
        for d in &differences {
            println!("{d}");
        }
        assert!(differences.is_empty(), "{} differences", differences.len());
    }
}

/// The audit log (ListAuditLogs, GetAuditLog): organization admins and the members of a group
/// holding RESOURCE_ROLE_ORG_AUDIT_LOG_READER on the organization; another organization's admin
/// reads its own organization's log only.
#[tokio::test]
async fn audit_log_rpcs_for_every_principal() {
    use runner_core::model::Principal;
    const AUDIT_PRINCIPALS: [&str; 10] = [
        "org admin",
        "audit log reader",
        "plain member",
        "runners admin",
        "groups admin",
        "service account",
        "other org admin",
        "runner",
        "suspended user",
        "no token",
    ];
    const LIST: [&str; 10] = ["ok", "ok", PD, PD, PD, PD, "ok", PD, UN, UN];
    const GET: [&str; 10] = ["ok", "ok", PD, PD, PD, PD, NF, PD, UN, UN];
    for protocol in [Protocol::ConnectJson, Protocol::Grpc] {
        let server = TestServer::start().await;
        let (id, org) = (&server.identity, server.org.id);
        let admin = server.client(protocol).await;
        let (reader_id, reader) = server.member("auditor", OrgRole::Member).await;
        let auditors = id.create_group(org, "auditors").await.unwrap();
        id.add_group_member(auditors.id, reader_id).await.unwrap();
        crate::groups::assign(&admin, auditors.id, ResourceType::Organization, org, ResourceRole::OrgAuditLogReader)
            .await
            .unwrap();
        let (_, plain) = server.member("plain", OrgRole::Member).await;
        let (ra_id, runners_admin) = server.member("runners-admin", OrgRole::Member).await;
        let ra_group = id.create_group(org, "runner-admins").await.unwrap();
        id.add_group_member(ra_group.id, ra_id).await.unwrap();
        id.set_group_runners_admin(ra_group.id, true).await.unwrap();
        let (_, groups_admin) = groups_admin(&server, &admin).await;
        let bot = id.create_member(org, Principal::ServiceAccount, "bot", OrgRole::Member).await.unwrap();
        let bot_token = id.issue_token(bot.id, "t", None).await.unwrap().token;
        let other = id.create_organization("other").await.unwrap();
        let boss = id.create_member(other.id, Principal::User, "boss", OrgRole::Admin).await.unwrap();
        let boss_token = id.issue_token(boss.id, "t", None).await.unwrap().token;
        let runner = create(&admin, crate::runners::aws_runner("audited")).await.unwrap().runner.unwrap().runner_id;
        let runner_token = runner_access_token(&server, protocol, &runner).await;
        let (sleeper, sleeper_token) = server.member("sleeper", OrgRole::Admin).await;
        id.set_suspended(sleeper, true).await.unwrap();
        let tokens = [
            Some(server.admin_token.clone()),
            Some(reader),
            Some(plain),
            Some(runners_admin),
            Some(groups_admin),
            Some(bot_token),
            Some(boss_token),
            Some(runner_token),
            Some(sleeper_token),
            None,
        ];
        let filter = list_audit_logs_request::Filter { subject_ids: vec![runner.clone()], ..Default::default() };
        let entry = crate::audit_logs::list(&admin, filter.clone()).await.unwrap().remove(0);
        let mut differences = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            let c = server.client_as(protocol, token.as_deref()).await;
            let listed = crate::audit_logs::list(&c, filter.clone()).await;
            if i == 6 {
                // Another organization's admin reads its own log: not this runner's entries.
                assert!(listed.as_ref().is_ok_and(|l| l.is_empty()), "{protocol:?}: {listed:?}");
            }
            for (rpc, got, expected) in [
                ("ListAuditLogs", outcome(listed), LIST[i]),
                ("GetAuditLog", outcome(crate::audit_logs::get(&c, &entry.id).await), GET[i]),
            ] {
                if got != expected {
                    differences
                        .push(format!("{protocol:?} {rpc} as {}: expected {expected}, got {got}", AUDIT_PRINCIPALS[i]));
                }
            }
        }
        assert!(differences.is_empty(), "{differences:#?}");
    }
}
