//! OrganizationService: founding an organization and acting in it with a token of the new user,
//! reading, renaming and deleting the caller's own, listing members (filters, sorts, paging,
//! count), roles and leaving, with the last-admin invariant (concurrent demotions included).

use gitpod_api::gitpod::v1::*;
use runner_core::identity::OrgRole;
use runner_core::model::Principal;
use runner_testkit::{ALL, Client, Failure, Protocol, TestServer, os};

use crate::users::{create_pat, days, get_user, me};

pub async fn create_org(c: &Client, name: &str, join: bool) -> Result<CreateOrganizationResponse, Failure> {
    let req = CreateOrganizationRequest {
        name: name.into(),
        join_organization: join,
        invite_accounts_with_matching_domain: false,
    };
    c.call(&os("CreateOrganization"), req).await
}

pub async fn get_org(c: &Client, id: impl ToString) -> Result<Organization, Failure> {
    let req = GetOrganizationRequest { organization_id: id.to_string() };
    let r: GetOrganizationResponse = c.call(&os("GetOrganization"), req).await?;
    Ok(r.organization.unwrap())
}

pub async fn rename_org(c: &Client, id: impl ToString, name: &str) -> Result<Organization, Failure> {
    let req =
        UpdateOrganizationRequest { organization_id: id.to_string(), name: Some(name.into()), invite_domains: None };
    let r: UpdateOrganizationResponse = c.call(&os("UpdateOrganization"), req).await?;
    Ok(r.organization.unwrap())
}

pub async fn delete_org(c: &Client, id: impl ToString) -> Result<(), Failure> {
    let req = DeleteOrganizationRequest { organization_id: id.to_string() };
    c.call::<_, DeleteOrganizationResponse>(&os("DeleteOrganization"), req).await.map(|_| ())
}

pub async fn set_role(
    c: &Client,
    org: impl ToString,
    user: impl ToString,
    role: OrganizationRole,
) -> Result<(), Failure> {
    let req = SetRoleRequest { organization_id: org.to_string(), user_id: user.to_string(), role: role as i32 };
    c.call::<_, SetRoleResponse>(&os("SetRole"), req).await.map(|_| ())
}

pub async fn leave(c: &Client, user: impl ToString) -> Result<(), Failure> {
    let req = LeaveOrganizationRequest { user_id: user.to_string() };
    c.call::<_, LeaveOrganizationResponse>(&os("LeaveOrganization"), req).await.map(|_| ())
}

pub async fn list_members(c: &Client, req: ListMembersRequest) -> Result<ListMembersResponse, Failure> {
    c.call(&os("ListMembers"), req).await
}

fn names(r: &ListMembersResponse) -> Vec<&str> {
    r.members.iter().map(|m| m.full_name.as_str()).collect()
}

/// The whole flow of a new organization: a user founds it and joins it as its first admin (a
/// new user of the same account), gets a token for that user through the API, and acts in the
/// new organization with it; each organization sees only its own resources.
#[tokio::test]
async fn a_user_founds_an_organization_and_acts_in_it_with_a_token_of_its_new_user() {
    for protocol in ALL {
        let server = TestServer::start().await;
        let (dana, dana_token) = server.member("dana", OrgRole::Member).await;
        let c = server.client_as(protocol, Some(&dana_token)).await;
        let created = create_org(&c, "newco", true).await.unwrap();
        let org = created.organization.unwrap();
        let member = created.member.unwrap();
        assert_eq!(org.name, "newco", "{protocol:?}");
        assert_eq!(org.tier, OrganizationTier::Enterprise as i32);
        assert!(org.created_at.is_some() && org.updated_at.is_some());
        assert_eq!((member.full_name.as_str(), member.role), ("dana", OrganizationRole::Admin as i32));
        assert_ne!(member.user_id, dana.to_string(), "a new user, of the same account");

        // A token for the new user, made with dana's token of the first organization.
        let value = create_pat(&c, &member.user_id, "newco", days(7)).await.unwrap();
        let newco = server.client_as(protocol, Some(&value)).await;
        let user = me(&newco).await.unwrap();
        assert_eq!((user.id.as_str(), user.organization_id.as_str()), (member.user_id.as_str(), org.id.as_str()));
        assert_eq!(get_org(&newco, &org.id).await.unwrap(), org);
        // It is the new organization's admin, with its own runners (none yet), and sees
        // nothing of the first organization; dana's first token sees nothing of the new one.
        let admin = server.client(protocol).await;
        let runner = crate::runners::create(&admin, crate::runners::aws_runner("first org's")).await.unwrap();
        let runner_id = runner.runner.unwrap().runner_id;
        assert_eq!(crate::runners::list(&newco, 0, "", None).await.unwrap().runners.len(), 0);
        assert_eq!(crate::runners::get(&newco, &runner_id).await.unwrap_err().code, "not_found");
        assert_eq!(get_org(&newco, server.org.id).await.unwrap_err().code, "not_found");
        assert_eq!(get_org(&c, &org.id).await.unwrap_err().code, "not_found");
        assert_eq!(get_user(&c, &member.user_id).await.unwrap_err().code, "not_found");
        crate::runners::create(&newco, crate::runners::aws_runner("newco's")).await.unwrap();
        let members =
            list_members(&newco, ListMembersRequest { organization_id: org.id.clone(), ..Default::default() });
        assert_eq!(names(&members.await.unwrap()), vec!["dana"]);

        // Someone of another account gets no token for that user.
        let (_, erin_token) = server.member("erin", OrgRole::Admin).await;
        let erin = server.client_as(protocol, Some(&erin_token)).await;
        assert_eq!(create_pat(&erin, &member.user_id, "x", days(1)).await.unwrap_err().code, "not_found");

        // Without joining: refused; a name taken: already_exists; a service account: denied.
        let f = create_org(&c, "lonely", false).await.unwrap_err();
        assert_eq!((f.code.as_str(), f.bad_fields.clone()), ("invalid_argument", vec!["joinOrganization".to_owned()]));
        assert_eq!(create_org(&c, "newco", true).await.unwrap_err().code, "already_exists");
        assert_eq!(create_org(&c, "ab", true).await.unwrap_err().code, "invalid_argument");
        let bot = server.identity.create_member(server.org.id, Principal::ServiceAccount, "bot", OrgRole::Admin).await;
        let bot_token = server.identity.issue_token(bot.unwrap().id, "t", None).await.unwrap().token;
        let bot = server.client_as(protocol, Some(&bot_token)).await;
        assert_eq!(create_org(&bot, "botco", true).await.unwrap_err().code, "permission_denied");
    }
}

#[tokio::test]
async fn organizations_are_read_renamed_and_deleted() {
    for protocol in ALL {
        let server = TestServer::start().await;
        let (_, dana_token) = server.member("dana", OrgRole::Member).await;
        let (admin, dana) = (server.client(protocol).await, server.client_as(protocol, Some(&dana_token)).await);
        let org = get_org(&dana, server.org.id).await.unwrap();
        assert_eq!((org.id.as_str(), org.name.as_str()), (server.org.id.to_string().as_str(), "default"));
        let other = server.identity.create_organization("other").await.unwrap();
        assert_eq!(get_org(&admin, other.id).await.unwrap_err().code, "not_found", "{protocol:?}");
        let f = get_org(&admin, "nope").await.unwrap_err();
        assert_eq!((f.code.as_str(), f.bad_fields.clone()), ("invalid_argument", vec!["organizationId".to_owned()]));

        // Renamed by an admin only; a taken name is already_exists.
        assert_eq!(rename_org(&dana, server.org.id, "mine").await.unwrap_err().code, "permission_denied");
        let renamed = rename_org(&admin, server.org.id, "acme").await.unwrap();
        assert_eq!(renamed.name, "acme");
        assert!(renamed.updated_at.unwrap().seconds >= org.updated_at.unwrap().seconds);
        assert_eq!(get_org(&dana, server.org.id).await.unwrap(), renamed);
        assert_eq!(rename_org(&admin, server.org.id, "other").await.unwrap_err().code, "already_exists");
        assert_eq!(rename_org(&admin, other.id, "x-other").await.unwrap_err().code, "not_found");
        // Invite domains: none is accepted, any is refused (no invitations here).
        let with = |domains: Vec<String>| UpdateOrganizationRequest {
            organization_id: server.org.id.to_string(),
            name: None,
            invite_domains: Some(InviteDomains { domains }),
        };
        let r: UpdateOrganizationResponse = admin.call(&os("UpdateOrganization"), with(vec![])).await.unwrap();
        assert_eq!(r.organization.unwrap().name, "acme");
        let f = admin
            .call::<_, UpdateOrganizationResponse>(&os("UpdateOrganization"), with(vec!["example.com".into()]))
            .await
            .unwrap_err();
        assert_eq!(
            (f.code.as_str(), f.bad_fields.clone()),
            ("invalid_argument", vec!["inviteDomains.domains".to_owned()])
        );

        // Deleted with everything in it, by an admin: its tokens stop at once.
        let founded = create_org(&dana, "doomed", true).await.unwrap();
        let doomed = founded.organization.unwrap();
        let value = create_pat(&dana, &founded.member.unwrap().user_id, "d", days(1)).await.unwrap();
        let doomed_c = server.client_as(protocol, Some(&value)).await;
        let runner = crate::runners::create(&doomed_c, crate::runners::aws_runner("doomed")).await.unwrap();
        let runner_id: uuid::Uuid = runner.runner.unwrap().runner_id.parse().unwrap();
        assert_eq!(delete_org(&dana, server.org.id).await.unwrap_err().code, "permission_denied");
        assert_eq!(delete_org(&admin, &doomed.id).await.unwrap_err().code, "not_found");
        delete_org(&doomed_c, &doomed.id).await.unwrap();
        assert_eq!(me(&doomed_c).await.unwrap_err().code, "unauthenticated");
        assert_eq!(server.store.get_runner(runner_id).await.unwrap(), None);
        assert!(server.store.get_organization(doomed.id.parse().unwrap()).await.unwrap().is_none());
        // The first organization and dana are as they were.
        assert_eq!(me(&dana).await.unwrap().name, "dana");
    }
}

#[tokio::test]
async fn members_are_listed_filtered_sorted_and_paged() {
    for protocol in ALL {
        let server = TestServer::start().await;
        let id = &server.identity;
        let org = server.org.id;
        let (carol, _) = server.member("Carol", OrgRole::Member).await;
        let (_, bob_token) = server.member("bob", OrgRole::Admin).await;
        let (alice, _) = server.member("alice", OrgRole::Member).await;
        let (dave, _) = server.member("dave", OrgRole::Member).await;
        id.set_suspended(carol, true).await.unwrap();
        let team = id.create_group(org, "team").await.unwrap();
        id.add_group_member(team.id, dave).await.unwrap();
        id.create_member(org, Principal::ServiceAccount, "robot", OrgRole::Member).await.unwrap();
        let c = server.client_as(protocol, Some(&bob_token)).await;
        let org_id = org.to_string();
        let list = |filter: Option<list_members_request::Filter>, sort: Option<list_members_request::Sort>| {
            list_members(&c, ListMembersRequest { organization_id: org_id.clone(), filter, sort, ..Default::default() })
        };

        // By default the caller first, then by name (case-insensitive); users only.
        let all = list(None, None).await.unwrap();
        assert_eq!(names(&all), vec!["bob", "admin", "alice", "Carol", "dave"], "{protocol:?}");
        assert_eq!(all.pagination.as_ref().unwrap().next_token, "");
        assert!(all.count.is_none());
        let c_row = &all.members[3];
        assert_eq!(c_row.user_id, carol.to_string());
        assert_eq!((c_row.status, c_row.role), (UserStatus::Suspended as i32, OrganizationRole::Member as i32));
        assert!(c_row.member_since.is_some());
        assert_eq!(all.members[0].role, OrganizationRole::Admin as i32);

        // Sorts.
        use list_members_request::{Filter, Sort, SortField};
        let sort = |field: SortField, order: SortOrder| Some(Sort { field: field as i32, order: order as i32 });
        let by_name = list(None, sort(SortField::Name, SortOrder::Asc)).await.unwrap();
        assert_eq!(names(&by_name), vec!["admin", "alice", "bob", "Carol", "dave"]);
        let desc = list(None, sort(SortField::Name, SortOrder::Desc)).await.unwrap();
        assert_eq!(names(&desc), vec!["dave", "Carol", "bob", "alice", "admin"]);
        let joined = list(None, sort(SortField::DateJoined, SortOrder::Asc)).await.unwrap();
        assert_eq!(names(&joined), vec!["admin", "Carol", "bob", "alice", "dave"]);

        // Filters.
        let f = |f: Filter| Some(f);
        let search = list(f(Filter { search: "A".into(), ..Default::default() }), None).await.unwrap();
        assert_eq!(names(&search), vec!["admin", "alice", "Carol", "dave"]);
        let suspended = Filter { statuses: vec![UserStatus::Suspended as i32], ..Default::default() };
        assert_eq!(names(&list(f(suspended), None).await.unwrap()), vec!["Carol"]);
        let admins = Filter { roles: vec![OrganizationRole::Admin as i32], ..Default::default() };
        assert_eq!(names(&list(f(admins), None).await.unwrap()), vec!["bob", "admin"]);
        let ids = Filter { user_ids: vec![alice.to_string(), dave.to_string()], ..Default::default() };
        assert_eq!(names(&list(f(ids), None).await.unwrap()), vec!["alice", "dave"]);
        let not_team = Filter { exclude_group_ids: vec![team.id.to_string()], ..Default::default() };
        assert_eq!(names(&list(f(not_team), None).await.unwrap()), vec!["bob", "admin", "alice", "Carol"]);
        let no_team = Filter { exclude_members_in_any_team: true, ..Default::default() };
        assert_eq!(names(&list(f(no_team), None).await.unwrap()), vec!["bob", "admin", "alice", "Carol"]);
        let email = Filter { email: "a@example.com".into(), ..Default::default() };
        assert_eq!(names(&list(f(email), None).await.unwrap()), Vec::<&str>::new(), "no user has an email here");
        let left = Filter { statuses: vec![UserStatus::Left as i32], ..Default::default() };
        assert_eq!(names(&list(f(left), None).await.unwrap()), Vec::<&str>::new());
        // An undefined role: the typed client cannot write it as JSON, so JSON goes raw.
        let e = if protocol == Protocol::ConnectJson {
            let body = serde_json::json!({ "organizationId": org_id, "filter": { "roles": [7] } });
            c.call_json(&os("ListMembers"), body).await.unwrap_err()
        } else {
            list(f(Filter { roles: vec![7], ..Default::default() }), None).await.unwrap_err()
        };
        // Over JSON the decoder refuses the undefined value first; either way the field is named.
        assert_eq!(e.code, "invalid_argument", "{e:?}");
        assert!(!e.bad_fields.is_empty() && e.bad_fields.iter().all(|b| b.starts_with("filter.roles")), "{e:?}");

        // Pages of two, carried on by the token alone; with a count.
        let page = |token: String| ListMembersRequest {
            organization_id: org_id.clone(),
            pagination: Some(PaginationRequest { page_size: 2, token }),
            sort: sort(SortField::Name, SortOrder::Asc),
            count: Some(CountRequest { include: true }),
            ..Default::default()
        };
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let r = list_members(&c, page(token)).await.unwrap();
            assert_eq!(r.count.as_ref().map(|c| (c.value, c.relation)), Some((5, CountResponseRelation::Eq as i32)));
            seen.extend(names(&r).into_iter().map(str::to_owned));
            token = r.pagination.unwrap().next_token;
            if token.is_empty() {
                break;
            }
        }
        assert_eq!(seen, vec!["admin", "alice", "bob", "Carol", "dave"]);
        let forged = list_members(&c, page("forged.token".into())).await.unwrap_err();
        assert_eq!(forged.bad_fields, vec!["pagination.token".to_owned()]);

        // Another organization's members: not found.
        let other = id.create_organization("other").await.unwrap();
        let theirs = ListMembersRequest { organization_id: other.id.to_string(), ..Default::default() };
        assert_eq!(list_members(&c, theirs).await.unwrap_err().code, "not_found");
    }
}

/// Roles change through SetRole and apply to the next call of a cached token; the last admin
/// who is not suspended can neither be demoted nor leave; a user leaves by itself only.
#[tokio::test]
async fn roles_change_and_the_last_admin_stays() {
    for protocol in ALL {
        let server = TestServer::start().await;
        let org = server.org.id;
        let (dana, dana_token) = server.member("dana", OrgRole::Member).await;
        let (erin, erin_token) = server.member("erin", OrgRole::Member).await;
        let (admin, dana_c, erin_c) = (
            server.client(protocol).await,
            server.client_as(protocol, Some(&dana_token)).await,
            server.client_as(protocol, Some(&erin_token)).await,
        );
        // A member may not change roles.
        let f = set_role(&dana_c, org, dana, OrganizationRole::Admin).await.unwrap_err();
        assert_eq!(f.code, "permission_denied", "{protocol:?}");
        assert_eq!(crate::users::suspend(&dana_c, erin, true).await.unwrap_err().code, "permission_denied");
        // Made admin: the cached token may do an admin's work on the next call.
        set_role(&admin, org, dana, OrganizationRole::Admin).await.unwrap();
        crate::users::suspend(&dana_c, erin, true).await.unwrap();
        crate::users::suspend(&dana_c, erin, false).await.unwrap();
        // Demoted again.
        set_role(&admin, org, dana, OrganizationRole::Member).await.unwrap();
        assert_eq!(crate::users::suspend(&dana_c, erin, true).await.unwrap_err().code, "permission_denied");
        let f = set_role(&admin, org, dana, OrganizationRole::Unspecified).await.unwrap_err();
        assert_eq!(f.code, "invalid_argument", "{f:?}");

        // The only admin cannot demote itself nor leave.
        let f = set_role(&admin, org, server.admin_id, OrganizationRole::Member).await.unwrap_err();
        assert!(f.code == "failed_precondition" && f.message.contains("demoted"), "{f:?}");
        let f = leave(&admin, server.admin_id).await.unwrap_err();
        assert!(f.code == "failed_precondition" && f.message.contains("last organization admin"), "{f:?}");

        // A user leaves by itself, not another.
        assert_eq!(leave(&dana_c, erin).await.unwrap_err().code, "permission_denied");
        assert_eq!(leave(&admin, erin).await.unwrap_err().code, "permission_denied");
        leave(&erin_c, erin).await.unwrap();
        assert_eq!(me(&erin_c).await.unwrap_err().code, "unauthenticated");
        assert_eq!(get_user(&admin, erin).await.unwrap_err().code, "not_found");
        let other = server.identity.create_organization("other").await.unwrap();
        let f = set_role(&admin, other.id, dana, OrganizationRole::Admin).await.unwrap_err();
        assert_eq!(f.code, "not_found");
    }
}

/// The last two admins, demoted and suspended at the same moment (by a service account that is
/// an admin too, and does not count as one, so both calls authenticate whatever happens): one is
/// done, the other refused, and one admin is left (the check and the write are one transaction
/// in the store).
#[tokio::test]
async fn concurrent_demotions_leave_one_admin() {
    let server = TestServer::start().await;
    let org = server.org.id;
    let ops = server.identity.create_member(org, Principal::ServiceAccount, "ops", OrgRole::Admin).await.unwrap();
    let ops_token = server.identity.issue_token(ops.id, "t", None).await.unwrap().token;
    let (grpc, connect) = (
        server.client_as(Protocol::Grpc, Some(&ops_token)).await,
        server.client_as(Protocol::ConnectJson, Some(&ops_token)).await,
    );
    for round in 0..6 {
        let (a, _) = server.member(&format!("a{round}"), OrgRole::Admin).await;
        let (b, _) = server.member(&format!("b{round}"), OrgRole::Admin).await;
        // Every other admin steps down, so that a and b are the last two.
        for m in server.identity.members(org).await.unwrap() {
            if m.is_active_admin() && m.principal == Principal::User && m.id != a && m.id != b {
                server.identity.set_member_role(m.id, OrgRole::Member).await.unwrap();
            }
        }
        let (x, y) = if round % 2 == 0 {
            tokio::join!(set_role(&grpc, org, a, OrganizationRole::Member), crate::users::suspend(&connect, b, true))
        } else {
            tokio::join!(crate::users::delete_user(&grpc, a), set_role(&connect, org, b, OrganizationRole::Member))
        };
        let outcomes = [x.map_err(|f| f.code), y.map_err(|f| f.code)];
        let done = outcomes.iter().filter(|o| o.is_ok()).count();
        let refused = outcomes.iter().filter(|o| o.as_ref().is_err_and(|c| c == "failed_precondition")).count();
        assert_eq!((done, refused), (1, 1), "round {round}: {outcomes:?}");
        let admins: Vec<_> = server
            .identity
            .members(org)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.principal == Principal::User && m.is_active_admin())
            .collect();
        assert_eq!(admins.len(), 1, "round {round}: {admins:?}");
    }
}
