//! GroupService ListGroups and GetGroup: every user and service account of an organization
//! reads its groups (with member counts), filtered and paged; other organizations' groups are
//! not found; runners may not read groups. Over every protocol.

use gitpod_api::gitpod::v1::list_groups_request::{Filter, filter::ExcludeAssignedToResource};
use gitpod_api::gitpod::v1::*;
use runner_core::identity::{Group as DomainGroup, ORG_MEMBERS_GROUP, OrgRole};
use runner_core::model::{ApiEnum, Principal};
use runner_core::time::Timestamp;

use crate::runner_side::runner_access_token;
use crate::runners::create;
use runner_testkit::{ALL, Client, Failure, TestServer, gs};

async fn list(c: &Client, filter: Option<Filter>, page_size: i32, token: &str) -> Result<ListGroupsResponse, Failure> {
    let req = ListGroupsRequest { pagination: Some(PaginationRequest { page_size, token: token.into() }), filter };
    c.call(&gs("ListGroups"), req).await
}

async fn get(c: &Client, req: GetGroupRequest) -> Result<Group, Failure> {
    c.call::<_, GetGroupResponse>(&gs("GetGroup"), req).await.map(|r| r.group.unwrap())
}

fn by_id(id: impl ToString) -> GetGroupRequest {
    GetGroupRequest { group: Some(get_group_request::Group::Id(id.to_string())), ..Default::default() }
}

fn names(r: &ListGroupsResponse) -> Vec<&str> {
    r.groups.iter().map(|g| g.name.as_str()).collect()
}

fn filter(f: Filter) -> Option<Filter> {
    Some(f)
}

#[tokio::test]
async fn members_list_and_get_their_organizations_groups() {
    for protocol in ALL {
        let server = TestServer::start().await;
        let (id, org) = (&server.identity, server.org.id);
        let (member_id, member_token) = server.member("plain", OrgRole::Member).await;
        let bot = id.create_member(org, Principal::ServiceAccount, "bot", OrgRole::Member).await.unwrap();
        let bot_token = id.issue_token(bot.id, "t", None).await.unwrap().token;
        let platform = DomainGroup::new(org, "platform", "The Platform team", Timestamp::now());
        server.store.create_group(&platform).await.unwrap();
        id.add_group_member(platform.id, member_id).await.unwrap();
        id.add_group_member(platform.id, bot.id).await.unwrap();
        let docs = id.create_group(org, "docs").await.unwrap();
        let shared = DomainGroup { direct_share: true, ..DomainGroup::new(org, "share-plain", "", Timestamp::now()) };
        server.store.create_group(&shared).await.unwrap();
        let other = id.create_organization("other").await.unwrap();
        let secret = id.create_group(other.id, "secret").await.unwrap();

        for token in [&member_token, &bot_token] {
            let c = server.client_as(protocol, Some(token)).await;
            // Every group but the direct-share ones, by id, with member counts.
            let all = list(&c, None, 0, "").await.unwrap();
            assert_eq!(names(&all), vec![ORG_MEMBERS_GROUP, "platform", "docs"], "{protocol:?}");
            assert_eq!(all.pagination.as_ref().unwrap().next_token, "");
            let members = &all.groups[0];
            assert!(members.system_managed && !members.direct_share);
            assert_eq!(members.member_count, 3, "admin, plain and bot");
            assert_eq!(members.organization_id, org.to_string());
            let p = &all.groups[1];
            assert_eq!(
                (p.id.as_str(), p.description.as_str(), p.member_count, p.system_managed),
                (platform.id.to_string().as_str(), "The Platform team", 2, false)
            );
            assert_eq!(p.created_at.unwrap().seconds, platform.created_at.to_seconds_nanos().0);
            assert!(p.updated_at.is_some());
            assert_eq!(all.groups[2].member_count, 0);

            // Pages of two: the second carries on with the token alone.
            let first = list(&c, None, 2, "").await.unwrap();
            assert_eq!(names(&first), vec![ORG_MEMBERS_GROUP, "platform"]);
            let next = first.pagination.unwrap().next_token;
            assert!(!next.is_empty());
            let second = list(&c, filter(Filter { search: "nothing".into(), ..Default::default() }), 2, &next).await;
            let second = second.unwrap();
            assert_eq!(names(&second), vec!["docs"], "the token's filter wins over the request's");
            assert_eq!(second.pagination.unwrap().next_token, "");

            // Filters.
            let search = |s: &str| filter(Filter { search: s.into(), ..Default::default() });
            assert_eq!(names(&list(&c, search("PLATF"), 0, "").await.unwrap()), vec!["platform"]);
            assert_eq!(names(&list(&c, search("platform team"), 0, "").await.unwrap()), vec!["platform"]);
            let tail = &docs.id.to_string()[24..];
            assert_eq!(names(&list(&c, search(tail), 0, "").await.unwrap()), vec!["docs"], "search by id");
            let ids =
                filter(Filter { group_ids: vec![docs.id.to_string(), secret.id.to_string()], ..Default::default() });
            assert_eq!(names(&list(&c, ids, 0, "").await.unwrap()), vec!["docs"], "never another org's");
            let system = filter(Filter { system_managed: Some(true), ..Default::default() });
            assert_eq!(names(&list(&c, system, 0, "").await.unwrap()), vec![ORG_MEMBERS_GROUP]);
            let custom = filter(Filter { system_managed: Some(false), ..Default::default() });
            assert_eq!(names(&list(&c, custom, 0, "").await.unwrap()), vec!["platform", "docs"]);
            let direct = filter(Filter { direct_share: Some(true), ..Default::default() });
            let direct = list(&c, direct, 0, "").await.unwrap();
            assert_eq!(names(&direct), vec!["share-plain"]);
            assert!(direct.groups[0].direct_share);

            // Get by id, by name, and by the deprecated group_id.
            let got = get(&c, by_id(platform.id)).await.unwrap();
            assert_eq!(got, all.groups[1]);
            let by_name =
                GetGroupRequest { group: Some(get_group_request::Group::Name("docs".into())), ..Default::default() };
            assert_eq!(get(&c, by_name).await.unwrap(), all.groups[2]);
            #[allow(deprecated)]
            let old = GetGroupRequest { group_id: docs.id.to_string(), group: None };
            assert_eq!(get(&c, old).await.unwrap().name, "docs");
            assert_eq!(get(&c, by_id(shared.id)).await.unwrap().name, "share-plain", "get finds direct-share groups");
        }

        let c = server.client_as(protocol, Some(&member_token)).await;
        // Another organization's group is not found, by id and by name; so is an unknown one.
        assert_eq!(get(&c, by_id(secret.id)).await.unwrap_err().code, "not_found");
        assert_eq!(get(&c, by_id(uuid::Uuid::now_v7())).await.unwrap_err().code, "not_found");
        let by_name =
            GetGroupRequest { group: Some(get_group_request::Group::Name("secret".into())), ..Default::default() };
        assert_eq!(get(&c, by_name).await.unwrap_err().code, "not_found");
        // Bad input.
        let f = get(&c, by_id("nope")).await.unwrap_err();
        assert_eq!((f.code.as_str(), f.bad_fields.clone()), ("invalid_argument", vec!["id".to_owned()]), "{f:?}");
        let f = get(&c, GetGroupRequest::default()).await.unwrap_err();
        assert_eq!(f.code, "invalid_argument", "no group named: {f:?}");
        let bad_ids = filter(Filter { group_ids: vec!["nope".into()], ..Default::default() });
        assert_eq!(list(&c, bad_ids, 0, "").await.unwrap_err().code, "invalid_argument");
        let f = list(&c, None, 0, "forged.token").await.unwrap_err();
        assert_eq!((f.code.as_str(), f.bad_fields.clone()), ("invalid_argument", vec!["pagination.token".to_owned()]));
        assert_eq!(list(&c, None, 101, "").await.unwrap_err().code, "invalid_argument");

        // No token: unauthenticated; a runner's own token: permission_denied.
        let anonymous = server.client_as(protocol, None).await;
        assert_eq!(list(&anonymous, None, 0, "").await.unwrap_err().code, "unauthenticated");
        assert_eq!(get(&anonymous, by_id(docs.id)).await.unwrap_err().code, "unauthenticated");
        let admin = server.client(protocol).await;
        let runner = create(&admin, crate::runners::aws_runner("reader")).await.unwrap().runner.unwrap().runner_id;
        let runner = server.client_as(protocol, Some(&runner_access_token(&server, protocol, &runner).await)).await;
        assert_eq!(list(&runner, None, 0, "").await.unwrap_err().code, "permission_denied");
        assert_eq!(get(&runner, by_id(docs.id)).await.unwrap_err().code, "permission_denied");
    }
}

#[tokio::test]
async fn groups_with_a_role_on_a_resource_can_be_left_out() {
    let server = TestServer::start().await;
    let (id, org) = (&server.identity, server.org.id);
    let admins = id.create_group(org, "runner-admins").await.unwrap();
    id.create_group(org, "others").await.unwrap();
    id.set_group_runners_admin(admins.id, true).await.unwrap();
    let c = server.client(runner_testkit::Protocol::ConnectJson).await;
    let exclude = |resource_type: ResourceType, resource_id: String| {
        filter(Filter {
            exclude_assigned_to_resource: Some(ExcludeAssignedToResource {
                resource_type: resource_type as i32,
                resource_id,
            }),
            ..Default::default()
        })
    };
    let left = list(&c, exclude(ResourceType::Organization, org.to_string()), 0, "").await.unwrap();
    assert_eq!(names(&left), vec![ORG_MEMBERS_GROUP, "others"]);
    // A resource nothing is assigned on leaves every group in.
    let runner = create(&c, crate::runners::aws_runner("policy runner")).await.unwrap().runner.unwrap().runner_id;
    let all = list(&c, exclude(ResourceType::Runner, runner.clone()), 0, "").await.unwrap();
    assert_eq!(names(&all), vec![ORG_MEMBERS_GROUP, "runner-admins", "others"]);
    // A runner policy is a role assignment on the runner.
    let req = CreateRunnerPolicyRequest {
        runner_id: runner.clone(),
        group_id: admins.id.to_string(),
        role: RunnerRole::User as i32,
    };
    let _: CreateRunnerPolicyResponse = c.call(&runner_testkit::rs("CreateRunnerPolicy"), req).await.unwrap();
    let left = list(&c, exclude(ResourceType::Runner, runner), 0, "").await.unwrap();
    assert_eq!(names(&left), vec![ORG_MEMBERS_GROUP, "others"]);
    // A resource type this server keeps no roles on is refused, saying which field.
    let f = list(&c, exclude(ResourceType::Environment, org.to_string()), 0, "").await.unwrap_err();
    assert_eq!(
        (f.code.as_str(), f.bad_fields.clone()),
        ("invalid_argument", vec!["filter.excludeAssignedToResource.resourceType".to_owned()])
    );
}

// ---- Managing groups, memberships, role assignments and shares ----

pub(crate) fn user(id: impl ToString) -> Option<Subject> {
    Some(Subject { id: id.to_string(), principal: Principal::User.number() })
}

pub(crate) fn service_account(id: impl ToString) -> Option<Subject> {
    Some(Subject { id: id.to_string(), principal: Principal::ServiceAccount.number() })
}

pub(crate) async fn create_group(
    c: &Client,
    org: impl ToString,
    name: &str,
    description: &str,
) -> Result<Group, Failure> {
    let req =
        CreateGroupRequest { organization_id: org.to_string(), name: name.into(), description: description.into() };
    c.call::<_, CreateGroupResponse>(&gs("CreateGroup"), req).await.map(|r| r.group.unwrap())
}

pub(crate) async fn update_group(
    c: &Client,
    id: impl ToString,
    name: &str,
    description: &str,
) -> Result<Group, Failure> {
    let req = UpdateGroupRequest { group_id: id.to_string(), name: name.into(), description: description.into() };
    c.call::<_, UpdateGroupResponse>(&gs("UpdateGroup"), req).await.map(|r| r.group.unwrap())
}

pub(crate) async fn delete_group(c: &Client, id: impl ToString) -> Result<(), Failure> {
    let req = DeleteGroupRequest { group_id: id.to_string() };
    c.call::<_, DeleteGroupResponse>(&gs("DeleteGroup"), req).await.map(|_| ())
}

pub(crate) async fn add(
    c: &Client,
    group: impl ToString,
    subject: Option<Subject>,
) -> Result<GroupMembership, Failure> {
    let req = CreateMembershipRequest { group_id: group.to_string(), subject };
    c.call::<_, CreateMembershipResponse>(&gs("CreateMembership"), req).await.map(|r| r.member.unwrap())
}

pub(crate) async fn remove(c: &Client, membership: &str) -> Result<(), Failure> {
    let req = DeleteMembershipRequest { membership_id: membership.into() };
    c.call::<_, DeleteMembershipResponse>(&gs("DeleteMembership"), req).await.map(|_| ())
}

async fn membership(c: &Client, group: impl ToString, subject: Option<Subject>) -> Result<GroupMembership, Failure> {
    let req = GetMembershipRequest { group_id: group.to_string(), subject };
    c.call::<_, GetMembershipResponse>(&gs("GetMembership"), req).await.map(|r| r.member.unwrap())
}

async fn memberships(
    c: &Client,
    group: impl ToString,
    search: &str,
    page_size: i32,
    token: &str,
) -> Result<ListMembershipsResponse, Failure> {
    let req = ListMembershipsRequest {
        pagination: Some(PaginationRequest { page_size, token: token.into() }),
        group_id: group.to_string(),
        filter: Some(list_memberships_request::Filter { search: search.into() }),
    };
    c.call(&gs("ListMemberships"), req).await
}

fn member_names(r: &ListMembershipsResponse) -> Vec<&str> {
    r.members.iter().map(|m| m.name.as_str()).collect()
}

pub(crate) async fn assign(
    c: &Client,
    group: impl ToString,
    kind: ResourceType,
    resource: impl ToString,
    role: ResourceRole,
) -> Result<RoleAssignment, Failure> {
    let req = CreateRoleAssignmentRequest {
        group_id: group.to_string(),
        resource_type: kind as i32,
        resource_id: resource.to_string(),
        resource_role: role as i32,
    };
    c.call::<_, CreateRoleAssignmentResponse>(&gs("CreateRoleAssignment"), req).await.map(|r| r.assignment.unwrap())
}

pub(crate) async fn unassign(c: &Client, id: &str) -> Result<(), Failure> {
    let req = DeleteRoleAssignmentRequest { assignment_id: id.into() };
    c.call::<_, DeleteRoleAssignmentResponse>(&gs("DeleteRoleAssignment"), req).await.map(|_| ())
}

async fn assignments(
    c: &Client,
    filter: list_role_assignments_request::Filter,
    page_size: i32,
    token: &str,
) -> Result<ListRoleAssignmentsResponse, Failure> {
    let req = ListRoleAssignmentsRequest {
        pagination: Some(PaginationRequest { page_size, token: token.into() }),
        filter: Some(filter),
    };
    c.call(&gs("ListRoleAssignments"), req).await
}

fn on(resource: impl ToString) -> list_role_assignments_request::Filter {
    list_role_assignments_request::Filter { resource_id: resource.to_string(), ..Default::default() }
}

async fn share(
    c: &Client,
    runner: &str,
    principal: Principal,
    id: impl ToString,
    role: ResourceRole,
) -> Result<(), Failure> {
    let req = ShareResourceWithPrincipalRequest {
        resource_type: ResourceType::Runner as i32,
        resource_id: runner.into(),
        principal: principal.number(),
        principal_id: id.to_string(),
        role: role as i32,
    };
    c.call::<_, ShareResourceWithPrincipalResponse>(&gs("ShareResourceWithPrincipal"), req).await.map(|_| ())
}

async fn unshare(c: &Client, runner: &str, principal: Principal, id: impl ToString) -> Result<(), Failure> {
    let req = UnshareResourceWithPrincipalRequest {
        resource_type: ResourceType::Runner as i32,
        resource_id: runner.into(),
        principal: principal.number(),
        principal_id: id.to_string(),
    };
    c.call::<_, UnshareResourceWithPrincipalResponse>(&gs("UnshareResourceWithPrincipal"), req).await.map(|_| ())
}

async fn policies(c: &Client, runner: &str) -> Vec<RunnerPolicy> {
    let req = ListRunnerPoliciesRequest { runner_id: runner.into(), pagination: None };
    c.call::<_, ListRunnerPoliciesResponse>(&runner_testkit::rs("ListRunnerPolicies"), req).await.unwrap().policies
}

fn code_and_fields(f: Failure) -> (String, Vec<String>) {
    (f.code, f.bad_fields)
}

fn invalid(field: &str) -> (String, Vec<String>) {
    ("invalid_argument".to_owned(), vec![field.to_owned()])
}

#[tokio::test]
async fn admins_create_rename_and_delete_groups() {
    for protocol in ALL {
        let server = TestServer::start().await;
        let org = server.org.id;
        let admin = server.client(protocol).await;
        let (plain_id, plain_token) = server.member("plain", OrgRole::Member).await;
        let plain = server.client_as(protocol, Some(&plain_token)).await;

        let g = create_group(&admin, org, "Backend Team", "Backend engineering team").await.unwrap();
        assert_eq!(
            (g.name.as_str(), g.description.as_str(), g.organization_id.clone(), g.member_count, g.system_managed),
            ("Backend Team", "Backend engineering team", org.to_string(), 0, false),
            "{protocol:?}"
        );
        assert_eq!(get(&admin, by_id(&g.id)).await.unwrap(), g);
        // Names are unique in an organization: an invariant.
        let f = create_group(&admin, org, "Backend Team", "").await.unwrap_err();
        assert_eq!(f.code, "failed_precondition", "{f:?}");
        assert!(f.message.contains("unique"), "{f:?}");
        assert_eq!(code_and_fields(create_group(&admin, org, "ab", "").await.unwrap_err()), invalid("name"));
        let f = create_group(&admin, org, "long description", &"d".repeat(256)).await.unwrap_err();
        assert_eq!(code_and_fields(f), invalid("description"));
        let other = server.identity.create_organization("other").await.unwrap();
        assert_eq!(create_group(&admin, other.id, "theirs", "").await.unwrap_err().code, "not_found");

        // Renamed and described; the name of another group is taken.
        let renamed = update_group(&admin, &g.id, "Platform Team", "Platform engineering team").await.unwrap();
        assert_eq!(
            (renamed.name.as_str(), renamed.description.as_str()),
            ("Platform Team", "Platform engineering team")
        );
        assert_eq!(renamed.created_at, g.created_at);
        assert!(renamed.updated_at.unwrap().seconds >= g.updated_at.unwrap().seconds);
        assert_eq!(get(&admin, by_id(&g.id)).await.unwrap(), renamed);
        let docs = create_group(&admin, org, "docs", "").await.unwrap();
        let f = update_group(&admin, &docs.id, "Platform Team", "").await.unwrap_err();
        assert_eq!(f.code, "failed_precondition", "{f:?}");
        assert_eq!(update_group(&admin, uuid::Uuid::now_v7(), "nothing", "").await.unwrap_err().code, "not_found");

        // The system group keeps its name and stays.
        let members = list(&admin, None, 0, "").await.unwrap().groups.remove(0);
        assert_eq!(members.name, ORG_MEMBERS_GROUP);
        let f = update_group(&admin, &members.id, "everyone", "").await.unwrap_err();
        assert_eq!(f.code, "failed_precondition", "{f:?}");
        assert_eq!(delete_group(&admin, &members.id).await.unwrap_err().code, "failed_precondition");

        // Plain members read but do not manage; runners neither; another organization's
        // groups are not found.
        assert_eq!(create_group(&plain, org, "mine", "").await.unwrap_err().code, "permission_denied");
        assert_eq!(update_group(&plain, &docs.id, "docs", "x").await.unwrap_err().code, "permission_denied");
        assert_eq!(delete_group(&plain, &docs.id).await.unwrap_err().code, "permission_denied");
        let theirs = server.identity.create_group(other.id, "their group").await.unwrap();
        assert_eq!(update_group(&admin, theirs.id, "mine now", "").await.unwrap_err().code, "not_found");
        assert_eq!(delete_group(&admin, theirs.id).await.unwrap_err().code, "not_found");

        // A groups admin manages groups: the role applies to the next call of its token.
        let admins = create_group(&admin, org, "group admins", "").await.unwrap();
        add(&admin, &admins.id, user(plain_id)).await.unwrap();
        assert_eq!(create_group(&plain, org, "mine", "").await.unwrap_err().code, "permission_denied");
        let role = assign(&admin, &admins.id, ResourceType::Organization, org, ResourceRole::OrgGroupsAdmin).await;
        let role = role.unwrap();
        let mine = create_group(&plain, org, "mine", "made by a groups admin").await.unwrap();
        update_group(&plain, &mine.id, "ours", "").await.unwrap();
        unassign(&admin, &role.id).await.unwrap();
        assert_eq!(delete_group(&plain, &mine.id).await.unwrap_err().code, "permission_denied");

        // Deleting a group removes its memberships, its role assignments and so its runner
        // policies, at once.
        let runner = create(&admin, crate::runners::aws_runner("team runner")).await.unwrap().runner.unwrap().runner_id;
        add(&admin, &docs.id, user(plain_id)).await.unwrap();
        assign(&admin, &docs.id, ResourceType::Runner, &runner, ResourceRole::RunnerUser).await.unwrap();
        assign(&admin, &docs.id, ResourceType::Organization, org, ResourceRole::OrgAuditLogReader).await.unwrap();
        assert_eq!(policies(&admin, &runner).await.len(), 1);
        crate::runners::get(&plain, &runner).await.unwrap();
        delete_group(&admin, &docs.id).await.unwrap();
        assert_eq!(get(&admin, by_id(&docs.id)).await.unwrap_err().code, "not_found");
        assert_eq!(policies(&admin, &runner).await, vec![]);
        let group_filter = list_role_assignments_request::Filter { group_id: docs.id.clone(), ..Default::default() };
        assert_eq!(assignments(&admin, group_filter, 0, "").await.unwrap().assignments, vec![]);
        assert_eq!(crate::runners::get(&plain, &runner).await.unwrap_err().code, "not_found", "access went with it");
        assert_eq!(delete_group(&admin, &docs.id).await.unwrap_err().code, "not_found");
        let names = names(&list(&admin, None, 0, "").await.unwrap()).join(",");
        assert_eq!(names, format!("{ORG_MEMBERS_GROUP},Platform Team,group admins,ours"));
    }
}

#[tokio::test]
async fn memberships_of_users_and_service_accounts() {
    for protocol in ALL {
        let server = TestServer::start().await;
        let (id, org) = (&server.identity, server.org.id);
        let admin = server.client(protocol).await;
        let (alice, alice_token) = server.member("alice", OrgRole::Member).await;
        let bot = id.create_member(org, Principal::ServiceAccount, "bot", OrgRole::Member).await.unwrap();
        let (carol, _) = server.member("carol", OrgRole::Member).await;
        let other = id.create_organization("other").await.unwrap();
        let stranger = id.create_member(other.id, Principal::User, "stranger", OrgRole::Member).await.unwrap();
        let team = create_group(&admin, org, "team", "").await.unwrap();

        let a = add(&admin, &team.id, user(alice)).await.unwrap();
        assert_eq!((a.group_id.as_str(), a.name.as_str(), a.subject.clone()), (team.id.as_str(), "alice", user(alice)));
        assert!(uuid::Uuid::parse_str(&a.id).is_ok(), "{a:?}");
        let b = add(&admin, &team.id, service_account(bot.id)).await.unwrap();
        assert_eq!(b.subject, service_account(bot.id));
        assert_eq!(add(&admin, &team.id, user(alice)).await.unwrap_err().code, "already_exists");
        // Only the organization's users and service accounts, as what they are.
        assert_eq!(add(&admin, &team.id, user(stranger.id)).await.unwrap_err().code, "not_found");
        assert_eq!(add(&admin, &team.id, service_account(alice)).await.unwrap_err().code, "not_found");
        assert_eq!(add(&admin, &team.id, user(uuid::Uuid::now_v7())).await.unwrap_err().code, "not_found");
        let runner_subject = Some(Subject { id: alice.to_string(), principal: Principal::Runner.number() });
        assert_eq!(
            code_and_fields(add(&admin, &team.id, runner_subject).await.unwrap_err()),
            invalid("subject.principal")
        );
        assert_eq!(code_and_fields(add(&admin, &team.id, None).await.unwrap_err()), invalid("subject"));
        assert_eq!(add(&admin, uuid::Uuid::now_v7(), user(alice)).await.unwrap_err().code, "not_found");
        // The system group holds everyone; nobody is added to it by hand.
        let everyone = list(&admin, None, 0, "").await.unwrap().groups.remove(0);
        assert_eq!(add(&admin, &everyone.id, user(carol)).await.unwrap_err().code, "failed_precondition");
        assert_eq!(get(&admin, by_id(&team.id)).await.unwrap().member_count, 2);

        // Read by every member of the organization, in membership order, searched, paged.
        let alices = server.client_as(protocol, Some(&alice_token)).await;
        let all = memberships(&alices, &team.id, "", 0, "").await.unwrap();
        assert_eq!(member_names(&all), vec!["alice", "bot"]);
        assert_eq!(all.members, vec![a.clone(), b.clone()]);
        assert_eq!(member_names(&memberships(&alices, &team.id, "BO", 0, "").await.unwrap()), vec!["bot"]);
        let first = memberships(&alices, &team.id, "", 1, "").await.unwrap();
        assert_eq!(member_names(&first), vec!["alice"]);
        let next = first.pagination.unwrap().next_token;
        let second = memberships(&alices, &team.id, "", 1, &next).await.unwrap();
        assert_eq!(member_names(&second), vec!["bot"]);
        assert_eq!(second.pagination.unwrap().next_token, "");
        let f = memberships(&alices, &everyone.id, "", 1, &next).await.unwrap_err();
        assert_eq!(code_and_fields(f), invalid("pagination.token"), "a token of another group's listing");
        let everyone_listed = memberships(&alices, &everyone.id, "", 0, "").await.unwrap();
        let mut listed = member_names(&everyone_listed);
        listed.sort();
        assert_eq!(listed, vec!["admin", "alice", "bot", "carol"]);
        assert_eq!(membership(&alices, &team.id, user(alice)).await.unwrap(), a);
        assert_eq!(membership(&alices, &everyone.id, user(carol)).await.unwrap().name, "carol");
        assert_eq!(membership(&alices, &team.id, user(carol)).await.unwrap_err().code, "not_found");
        assert_eq!(code_and_fields(membership(&alices, &team.id, None).await.unwrap_err()).0, "invalid_argument");
        // Plain members do not change memberships.
        assert_eq!(add(&alices, &team.id, user(carol)).await.unwrap_err().code, "permission_denied");
        assert_eq!(remove(&alices, &b.id).await.unwrap_err().code, "permission_denied");

        // Removing a membership takes the group's access away on the member's next call.
        let runner = create(&admin, crate::runners::aws_runner("team runner")).await.unwrap().runner.unwrap().runner_id;
        assign(&admin, &team.id, ResourceType::Runner, &runner, ResourceRole::RunnerUser).await.unwrap();
        crate::runners::get(&alices, &runner).await.unwrap();
        remove(&admin, &a.id).await.unwrap();
        assert_eq!(crate::runners::get(&alices, &runner).await.unwrap_err().code, "not_found");
        assert_eq!(remove(&admin, &a.id).await.unwrap_err().code, "not_found");
        assert_eq!(membership(&admin, &team.id, user(alice)).await.unwrap_err().code, "not_found");
        // And adding one gives it on the next call.
        add(&admin, &team.id, user(alice)).await.unwrap();
        crate::runners::get(&alices, &runner).await.unwrap();
        // Another organization's admin finds nothing.
        let boss = id.create_member(other.id, Principal::User, "boss", OrgRole::Admin).await.unwrap();
        let boss = server.client_as(protocol, Some(&id.issue_token(boss.id, "t", None).await.unwrap().token)).await;
        assert_eq!(remove(&boss, &b.id).await.unwrap_err().code, "not_found");
        assert_eq!(memberships(&boss, &team.id, "", 0, "").await.unwrap_err().code, "not_found");
    }
}

#[tokio::test]
async fn role_assignments_and_runner_policies_are_one_record() {
    for protocol in ALL {
        let server = TestServer::start().await;
        let org = server.org.id;
        let admin = server.client(protocol).await;
        let (alice, alice_token) = server.member("alice", OrgRole::Member).await;
        let alices = server.client_as(protocol, Some(&alice_token)).await;
        let team = create_group(&admin, org, "team", "").await.unwrap();
        let ops = create_group(&admin, org, "ops", "").await.unwrap();
        add(&admin, &team.id, user(alice)).await.unwrap();
        let runner = create(&admin, crate::runners::aws_runner("shared")).await.unwrap().runner.unwrap().runner_id;
        let hidden = create(&admin, crate::runners::aws_runner("hidden")).await.unwrap().runner.unwrap().runner_id;

        // Created as an assignment, seen as a policy.
        let a = assign(&admin, &team.id, ResourceType::Runner, &runner, ResourceRole::RunnerUser).await.unwrap();
        assert_eq!(
            (a.group_id.as_str(), a.organization_id.clone(), a.resource_id.as_str(), a.resource_type, a.resource_role),
            (
                team.id.as_str(),
                org.to_string(),
                runner.as_str(),
                ResourceType::Runner as i32,
                ResourceRole::RunnerUser as i32
            ),
            "{protocol:?}"
        );
        assert_eq!(a.derived_from_org_role, None);
        let policy = RunnerPolicy { group_id: team.id.clone(), role: RunnerRole::User as i32 };
        assert_eq!(policies(&admin, &runner).await, vec![policy]);
        // One role per group on a runner.
        let f = assign(&admin, &team.id, ResourceType::Runner, &runner, ResourceRole::RunnerAdmin).await.unwrap_err();
        assert_eq!(f.code, "already_exists", "{f:?}");
        // Changed as a policy, seen as the same assignment.
        let req = UpdateRunnerPolicyRequest {
            runner_id: runner.clone(),
            group_id: team.id.clone(),
            role: RunnerRole::Admin as i32,
        };
        let _: UpdateRunnerPolicyResponse = admin.call(&runner_testkit::rs("UpdateRunnerPolicy"), req).await.unwrap();
        let seen = assignments(&admin, on(&runner), 0, "").await.unwrap().assignments;
        assert_eq!(seen, vec![RoleAssignment { resource_role: ResourceRole::RunnerAdmin as i32, ..a.clone() }]);
        // Deleted as a policy: gone as an assignment.
        let req = DeleteRunnerPolicyRequest { runner_id: runner.clone(), group_id: team.id.clone() };
        let _: DeleteRunnerPolicyResponse = admin.call(&runner_testkit::rs("DeleteRunnerPolicy"), req).await.unwrap();
        assert_eq!(assignments(&admin, on(&runner), 0, "").await.unwrap().assignments, vec![]);
        assert_eq!(unassign(&admin, &a.id).await.unwrap_err().code, "not_found");
        // Created as a policy, seen and deleted as an assignment.
        let req = CreateRunnerPolicyRequest {
            runner_id: runner.clone(),
            group_id: ops.id.clone(),
            role: RunnerRole::User as i32,
        };
        let _: CreateRunnerPolicyResponse = admin.call(&runner_testkit::rs("CreateRunnerPolicy"), req).await.unwrap();
        let seen = assignments(&admin, on(&runner), 0, "").await.unwrap().assignments;
        assert_eq!(seen.len(), 1);
        assert_eq!(
            (seen[0].group_id.as_str(), seen[0].resource_role),
            (ops.id.as_str(), ResourceRole::RunnerUser as i32)
        );
        unassign(&admin, &seen[0].id).await.unwrap();
        assert_eq!(policies(&admin, &runner).await, vec![]);

        // An organization role: alice's group becomes runners admin, on her next call.
        let deny = create(&alices, crate::runners::aws_runner("alice's")).await.unwrap_err();
        assert_eq!(deny.code, "permission_denied");
        let ra =
            assign(&admin, &team.id, ResourceType::Organization, org, ResourceRole::OrgRunnersAdmin).await.unwrap();
        create(&alices, crate::runners::aws_runner("alice's")).await.unwrap();
        crate::runners::get(&alices, &hidden).await.unwrap();
        unassign(&admin, &ra.id).await.unwrap();
        assert_eq!(create(&alices, crate::runners::aws_runner("again")).await.unwrap_err().code, "permission_denied");

        // Roles on resource types this server does not have, and roles on the wrong type.
        let bad = |kind: ResourceType, role: ResourceRole| assign(&admin, &team.id, kind, org, role);
        let f = bad(ResourceType::Environment, ResourceRole::EnvironmentAdmin).await.unwrap_err();
        let both = vec!["resourceType".to_owned(), "resourceRole".to_owned()];
        assert_eq!(code_and_fields(f), ("invalid_argument".to_owned(), both), "neither is one this server has");
        let f = bad(ResourceType::Environment, ResourceRole::OrgGroupsAdmin).await.unwrap_err();
        assert_eq!(code_and_fields(f), invalid("resourceType"));
        let f = assign(&admin, &team.id, ResourceType::Runner, &runner, ResourceRole::ProjectAdmin).await.unwrap_err();
        assert_eq!(code_and_fields(f), invalid("resourceRole"));
        let f = bad(ResourceType::Organization, ResourceRole::RunnerAdmin).await.unwrap_err();
        assert_eq!(code_and_fields(f), invalid("resourceRole"));
        let f =
            assign(&admin, &team.id, ResourceType::Organization, uuid::Uuid::now_v7(), ResourceRole::OrgGroupsAdmin);
        assert_eq!(f.await.unwrap_err().code, "not_found", "another organization");
        let f = assign(&admin, uuid::Uuid::now_v7(), ResourceType::Runner, &runner, ResourceRole::RunnerUser).await;
        assert_eq!(f.unwrap_err().code, "not_found", "no such group");

        // Filters, paging, and what a plain member sees.
        let on_shared =
            assign(&admin, &team.id, ResourceType::Runner, &runner, ResourceRole::RunnerUser).await.unwrap();
        let on_hidden =
            assign(&admin, &ops.id, ResourceType::Runner, &hidden, ResourceRole::RunnerAdmin).await.unwrap();
        let audit =
            assign(&admin, &ops.id, ResourceType::Organization, org, ResourceRole::OrgAuditLogReader).await.unwrap();
        let ids = |r: ListRoleAssignmentsResponse| r.assignments.into_iter().map(|a| a.id).collect::<Vec<_>>();
        let everything = list_role_assignments_request::Filter::default();
        let all = ids(assignments(&admin, everything.clone(), 0, "").await.unwrap());
        assert_eq!(all, vec![on_shared.id.clone(), on_hidden.id.clone(), audit.id.clone()]);
        let first = assignments(&admin, everything.clone(), 2, "").await.unwrap();
        let next = first.pagination.clone().unwrap().next_token;
        assert_eq!(ids(first), all[..2]);
        assert_eq!(ids(assignments(&admin, everything.clone(), 2, &next).await.unwrap()), all[2..]);
        let f = |f: list_role_assignments_request::Filter| assignments(&admin, f, 0, "");
        let by_group = list_role_assignments_request::Filter { group_id: ops.id.clone(), ..Default::default() };
        assert_eq!(ids(f(by_group).await.unwrap()), vec![on_hidden.id.clone(), audit.id.clone()]);
        let by_user = list_role_assignments_request::Filter { user_id: alice.to_string(), ..Default::default() };
        assert_eq!(ids(f(by_user).await.unwrap()), vec![on_shared.id.clone()]);
        let by_type = list_role_assignments_request::Filter {
            resource_types: vec![ResourceType::Organization as i32],
            ..Default::default()
        };
        assert_eq!(ids(f(by_type).await.unwrap()), vec![audit.id.clone()]);
        let by_role = list_role_assignments_request::Filter {
            resource_roles: vec![ResourceRole::RunnerAdmin as i32, ResourceRole::RunnerUser as i32],
            ..Default::default()
        };
        assert_eq!(ids(f(by_role).await.unwrap()), vec![on_shared.id.clone(), on_hidden.id.clone()]);
        let by_ids = list_role_assignments_request::Filter {
            resource_ids: vec![hidden.clone(), org.to_string()],
            ..Default::default()
        };
        assert_eq!(ids(f(by_ids).await.unwrap()), vec![on_hidden.id.clone(), audit.id.clone()]);
        let both = list_role_assignments_request::Filter {
            resource_id: runner.clone(),
            resource_ids: vec![hidden.clone()],
            ..Default::default()
        };
        assert_eq!(code_and_fields(f(both).await.unwrap_err()), invalid("filter.resourceId"));
        let bad_type = list_role_assignments_request::Filter {
            resource_types: vec![ResourceType::Environment as i32],
            ..Default::default()
        };
        assert_eq!(code_and_fields(f(bad_type).await.unwrap_err()).0, "invalid_argument");
        // Alice sees the assignments on the organization and on the runner she uses, not
        // those on a runner she cannot see; she changes none.
        assert_eq!(
            ids(assignments(&alices, everything, 0, "").await.unwrap()),
            vec![on_shared.id.clone(), audit.id.clone()]
        );
        assert_eq!(unassign(&alices, &on_hidden.id).await.unwrap_err().code, "not_found");
        assert_eq!(unassign(&alices, &on_shared.id).await.unwrap_err().code, "permission_denied");
        assert_eq!(unassign(&alices, &audit.id).await.unwrap_err().code, "permission_denied");
        let f = assign(&alices, &team.id, ResourceType::Organization, org, ResourceRole::OrgGroupsAdmin).await;
        assert_eq!(f.unwrap_err().code, "permission_denied");
        let f = assign(&alices, &team.id, ResourceType::Runner, &hidden, ResourceRole::RunnerUser).await;
        assert_eq!(f.unwrap_err().code, "not_found");
    }
}

#[tokio::test]
async fn shares_give_one_principal_a_role_on_a_runner() {
    for protocol in ALL {
        let server = TestServer::start().await;
        let (id, org) = (&server.identity, server.org.id);
        let admin = server.client(protocol).await;
        let (alice, alice_token) = server.member("alice", OrgRole::Member).await;
        let alices = server.client_as(protocol, Some(&alice_token)).await;
        let bot = id.create_member(org, Principal::ServiceAccount, "bot", OrgRole::Member).await.unwrap();
        let other = id.create_organization("other").await.unwrap();
        let stranger = id.create_member(other.id, Principal::User, "stranger", OrgRole::Member).await.unwrap();
        let runner = create(&admin, crate::runners::aws_runner("shared")).await.unwrap().runner.unwrap().runner_id;
        let direct = || filter(Filter { direct_share: Some(true), ..Default::default() });

        // Alice's token is cached while she cannot see the runner; the share applies at once.
        assert_eq!(crate::runners::get(&alices, &runner).await.unwrap_err().code, "not_found");
        share(&admin, &runner, Principal::User, alice, ResourceRole::RunnerUser).await.unwrap();
        crate::runners::get(&alices, &runner).await.unwrap();
        // Through a direct-share group holding only her, hidden from regular listings.
        let groups = list(&admin, direct(), 0, "").await.unwrap().groups;
        assert_eq!(groups.len(), 1, "{protocol:?}");
        let group = &groups[0];
        assert!(group.direct_share && !group.system_managed);
        assert_eq!(group.member_count, 1);
        assert!(!names(&list(&admin, None, 0, "").await.unwrap()).contains(&group.name.as_str()));
        let held = memberships(&admin, &group.id, "", 0, "").await.unwrap();
        assert_eq!(member_names(&held), vec!["alice"]);
        let policy = RunnerPolicy { group_id: group.id.clone(), role: RunnerRole::User as i32 };
        assert_eq!(policies(&admin, &runner).await, vec![policy]);
        // Its member is managed by sharing only.
        assert_eq!(add(&admin, &group.id, service_account(bot.id)).await.unwrap_err().code, "failed_precondition");
        assert_eq!(remove(&admin, &held.members[0].id).await.unwrap_err().code, "failed_precondition");
        // Sharing again changes the role; sharing with a service account makes its own group.
        share(&admin, &runner, Principal::User, alice, ResourceRole::RunnerAdmin).await.unwrap();
        assert_eq!(policies(&admin, &runner).await[0].role, RunnerRole::Admin as i32);
        let req = UpdateRunnerRequest {
            runner_id: runner.clone(),
            name: Some("renamed by alice".into()),
            ..Default::default()
        };
        crate::runners::update(&alices, req).await.unwrap();
        share(&admin, &runner, Principal::ServiceAccount, bot.id, ResourceRole::RunnerUser).await.unwrap();
        assert_eq!(list(&admin, direct(), 0, "").await.unwrap().groups.len(), 2);
        assert_eq!(policies(&admin, &runner).await.len(), 2);

        // Only admins of the runner share it; only with the organization's users and service
        // accounts, as what they are.
        let f = share(&admin, &runner, Principal::User, stranger.id, ResourceRole::RunnerUser).await.unwrap_err();
        assert_eq!(f.code, "not_found");
        let f = share(&admin, &runner, Principal::ServiceAccount, alice, ResourceRole::RunnerUser).await.unwrap_err();
        assert_eq!(f.code, "not_found");
        let (_, plain_token) = server.member("plain", OrgRole::Member).await;
        let plain = server.client_as(protocol, Some(&plain_token)).await;
        let f = share(&plain, &runner, Principal::User, alice, ResourceRole::RunnerUser).await.unwrap_err();
        assert_eq!(f.code, "not_found", "a runner plain cannot see");
        let f = share(&admin, &runner, Principal::User, alice, ResourceRole::OrgGroupsAdmin).await.unwrap_err();
        assert_eq!(code_and_fields(f), invalid("role"));
        let f = share(&admin, &runner, Principal::Runner, alice, ResourceRole::RunnerUser).await.unwrap_err();
        assert_eq!(f.code, "invalid_argument");

        // Unsharing takes the access away on the next call, and the group when it holds nothing.
        unshare(&admin, &runner, Principal::User, alice).await.unwrap();
        assert_eq!(crate::runners::get(&alices, &runner).await.unwrap_err().code, "not_found");
        let left = list(&admin, direct(), 0, "").await.unwrap().groups;
        assert_eq!(left.len(), 1);
        assert_ne!(left[0].id, group.id);
        assert_eq!(get(&admin, by_id(&group.id)).await.unwrap_err().code, "not_found");
        assert_eq!(unshare(&admin, &runner, Principal::User, alice).await.unwrap_err().code, "not_found");
        assert_eq!(policies(&admin, &runner).await.len(), 1);
        unshare(&admin, &runner, Principal::ServiceAccount, bot.id).await.unwrap();
        assert_eq!(policies(&admin, &runner).await, vec![]);
    }
}

#[tokio::test]
async fn concurrent_shares_with_one_principal_make_one_direct_share_group() {
    let server = TestServer::start().await;
    let (alice, _) = server.member("alice", OrgRole::Member).await;
    let admin = server.client(runner_testkit::Protocol::ConnectJson).await;
    let runner = create(&admin, crate::runners::aws_runner("shared")).await.unwrap().runner.unwrap().runner_id;
    let shares = (0..8).map(|_| share(&admin, &runner, Principal::User, alice, ResourceRole::RunnerUser));
    for shared in futures::future::join_all(shares).await {
        shared.unwrap();
    }
    let direct = list(&admin, filter(Filter { direct_share: Some(true), ..Default::default() }), 0, "").await.unwrap();
    assert_eq!(direct.groups.len(), 1, "{direct:?}");
    assert_eq!(direct.groups[0].member_count, 1);
    assert_eq!(policies(&admin, &runner).await.len(), 1);
}

/// A membership removed by another process (an `admin` subcommand, another replica) applies to
/// a cached token within the token cache's time to live, as any other identity change.
#[tokio::test]
async fn a_membership_removed_elsewhere_applies_within_the_token_cache_time() {
    let server = TestServer::start().await;
    let (alice, token) = server.member("alice", OrgRole::Member).await;
    let admin = server.client(runner_testkit::Protocol::ConnectJson).await;
    let team = create_group(&admin, server.org.id, "team", "").await.unwrap();
    let m = add(&admin, &team.id, user(alice)).await.unwrap();
    let runner = create(&admin, crate::runners::aws_runner("team's")).await.unwrap().runner.unwrap().runner_id;
    assign(&admin, &team.id, ResourceType::Runner, &runner, ResourceRole::RunnerUser).await.unwrap();
    let alices = server.client_as(runner_testkit::Protocol::Grpc, Some(&token)).await;
    crate::runners::get(&alices, &runner).await.unwrap(); // now cached

    let elsewhere = runner_core::accounts::Accounts::new(server.store.clone());
    let group = server.store.get_group(team.id.parse().unwrap()).await.unwrap().unwrap();
    let membership = server.store.get_membership(m.id.parse().unwrap()).await.unwrap().unwrap();
    elsewhere.remove_membership(&group, &membership).await.unwrap();
    tokio::time::sleep(runner_server::state::DEFAULT_TOKEN_CACHE_TTL + std::time::Duration::from_millis(50)).await;
    assert_eq!(crate::runners::get(&alices, &runner).await.unwrap_err().code, "not_found");
}

/// A groups admin (a group with RESOURCE_ROLE_ORG_GROUPS_ADMIN on the organization) manages
/// groups and memberships, over every protocol, but gives no roles: those need the admin role
/// on the resource. A service account can be one too.
#[tokio::test]
async fn a_groups_admin_manages_groups_and_memberships_but_gives_no_roles() {
    for protocol in ALL {
        let server = TestServer::start().await;
        let (id, org) = (&server.identity, server.org.id);
        let admin = server.client(protocol).await;
        let bot = id.create_member(org, Principal::ServiceAccount, "group-bot", OrgRole::Member).await.unwrap();
        let bots = server.client_as(protocol, Some(&id.issue_token(bot.id, "t", None).await.unwrap().token)).await;
        let (carol, _) = server.member("carol", OrgRole::Member).await;
        let stewards = create_group(&admin, org, "stewards", "").await.unwrap();
        add(&admin, &stewards.id, service_account(bot.id)).await.unwrap();
        assign(&admin, &stewards.id, ResourceType::Organization, org, ResourceRole::OrgGroupsAdmin).await.unwrap();

        let team = create_group(&bots, org, "team", "made by a service account").await.unwrap();
        let m = add(&bots, &team.id, user(carol)).await.unwrap();
        update_group(&bots, &team.id, "team renamed", "").await.unwrap();
        remove(&bots, &m.id).await.unwrap();
        // No roles: not on the organization, not on a runner it cannot see.
        let f = assign(&bots, &team.id, ResourceType::Organization, org, ResourceRole::OrgRunnersAdmin).await;
        assert_eq!(f.unwrap_err().code, "permission_denied", "{protocol:?}");
        let runner = create(&admin, crate::runners::aws_runner("not theirs")).await.unwrap().runner.unwrap().runner_id;
        let f = assign(&bots, &team.id, ResourceType::Runner, &runner, ResourceRole::RunnerAdmin).await;
        assert_eq!(f.unwrap_err().code, "not_found");
        let f = share(&bots, &runner, Principal::User, carol, ResourceRole::RunnerUser).await;
        assert_eq!(f.unwrap_err().code, "not_found");
        // The system group stays the system's.
        let everyone = list(&bots, None, 0, "").await.unwrap().groups.remove(0);
        assert_eq!(delete_group(&bots, &everyone.id).await.unwrap_err().code, "failed_precondition");
        delete_group(&bots, &team.id).await.unwrap();
    }
}
