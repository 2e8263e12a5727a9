//! GroupService ListGroups and GetGroup: every user and service account of an organization
//! reads its groups (with member counts), filtered and paged; other organizations' groups are
//! not found; runners may not read groups. Over every protocol.

use gitpod_api::gitpod::v1::list_groups_request::{Filter, filter::ExcludeAssignedToResource};
use gitpod_api::gitpod::v1::*;
use runner_core::identity::{Group as DomainGroup, ORG_MEMBERS_GROUP, OrgRole};
use runner_core::model::Principal;
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
