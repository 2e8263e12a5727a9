//! UserService: the caller's user and the organization's users, suspension and removal with
//! their revocation on the next call, and personal access tokens (the value once, listed,
//! deleted). Over every protocol.

use gitpod_api::gitpod::v1::*;
use runner_core::identity::OrgRole;
use runner_core::model::Principal;
use runner_testkit::{ALL, Client, Failure, Protocol, TestServer, us};

pub async fn me(c: &Client) -> Result<User, Failure> {
    let r: GetAuthenticatedUserResponse = c.call(&us("GetAuthenticatedUser"), GetAuthenticatedUserRequest {}).await?;
    Ok(r.user.unwrap())
}

pub async fn get_user(c: &Client, id: impl ToString) -> Result<User, Failure> {
    let r: GetUserResponse = c.call(&us("GetUser"), GetUserRequest { user_id: id.to_string() }).await?;
    Ok(r.user.unwrap())
}

pub async fn suspend(c: &Client, id: impl ToString, suspended: bool) -> Result<(), Failure> {
    let req = SetSuspendedRequest { user_id: id.to_string(), suspended };
    c.call::<_, SetSuspendedResponse>(&us("SetSuspended"), req).await.map(|_| ())
}

pub async fn delete_user(c: &Client, id: impl ToString) -> Result<(), Failure> {
    c.call::<_, DeleteUserResponse>(&us("DeleteUser"), DeleteUserRequest { user_id: id.to_string() }).await.map(|_| ())
}

/// A day, as `valid_for`.
pub fn days(n: i64) -> Option<pbjson_types::Duration> {
    Some(pbjson_types::Duration { seconds: n * 86_400, nanos: 0 })
}

pub async fn create_pat(
    c: &Client,
    user_id: impl ToString,
    description: &str,
    valid_for: Option<pbjson_types::Duration>,
) -> Result<String, Failure> {
    let req = CreatePersonalAccessTokenRequest {
        user_id: user_id.to_string(),
        description: description.into(),
        valid_for,
        read_only: false,
    };
    let r: CreatePersonalAccessTokenResponse = c.call(&us("CreatePersonalAccessToken"), req).await?;
    Ok(r.token)
}

pub async fn list_pats(
    c: &Client,
    user_ids: &[String],
    page_size: i32,
    token: &str,
) -> Result<ListPersonalAccessTokensResponse, Failure> {
    let req = ListPersonalAccessTokensRequest {
        pagination: Some(PaginationRequest { page_size, token: token.into() }),
        filter: Some(list_personal_access_tokens_request::Filter { user_ids: user_ids.to_vec() }),
    };
    c.call(&us("ListPersonalAccessTokens"), req).await
}

pub async fn get_pat(c: &Client, id: &str) -> Result<PersonalAccessToken, Failure> {
    let req = GetPersonalAccessTokenRequest { personal_access_token_id: id.into() };
    let r: GetPersonalAccessTokenResponse = c.call(&us("GetPersonalAccessToken"), req).await?;
    Ok(r.pat.unwrap())
}

pub async fn delete_pat(c: &Client, id: &str) -> Result<(), Failure> {
    let req = DeletePersonalAccessTokenRequest { personal_access_token_id: id.into() };
    c.call::<_, DeletePersonalAccessTokenResponse>(&us("DeletePersonalAccessToken"), req).await.map(|_| ())
}

fn bad_field(f: &Failure) -> (&str, Vec<String>) {
    (f.code.as_str(), f.bad_fields.clone())
}

#[tokio::test]
async fn users_read_themselves_and_their_organizations_users() {
    for protocol in ALL {
        let server = TestServer::start().await;
        let (id, org) = (&server.identity, server.org.id);
        let (dana, dana_token) = server.member("dana", OrgRole::Member).await;
        let bot = id.create_member(org, Principal::ServiceAccount, "bot", OrgRole::Member).await.unwrap();
        let bot_token = id.issue_token(bot.id, "t", None).await.unwrap().token;
        let other = id.create_organization("other").await.unwrap();
        let stranger = id.create_member(other.id, Principal::User, "stranger", OrgRole::Admin).await.unwrap();
        let (admin, dana_c) = (server.client(protocol).await, server.client_as(protocol, Some(&dana_token)).await);

        let mine = me(&admin).await.unwrap();
        assert_eq!(
            (mine.id.as_str(), mine.organization_id.as_str(), mine.name.as_str(), mine.status),
            (server.admin_id.to_string().as_str(), org.to_string().as_str(), "admin", UserStatus::Active as i32),
            "{protocol:?}"
        );
        assert!(mine.created_at.is_some());
        assert_eq!(me(&dana_c).await.unwrap().id, dana.to_string());
        // Each reads the other; a service account reads users too.
        assert_eq!(get_user(&dana_c, server.admin_id).await.unwrap(), mine);
        assert_eq!(get_user(&admin, dana).await.unwrap().name, "dana");
        let bot_c = server.client_as(protocol, Some(&bot_token)).await;
        assert_eq!(get_user(&bot_c, dana).await.unwrap().name, "dana");
        // A service account is no user: it has no profile, and is not found as one.
        assert_eq!(me(&bot_c).await.unwrap_err().code, "permission_denied");
        assert_eq!(get_user(&admin, bot.id).await.unwrap_err().code, "not_found");
        // Another organization's user is not found; neither is an unknown one.
        assert_eq!(get_user(&admin, stranger.id).await.unwrap_err().code, "not_found");
        assert_eq!(get_user(&admin, uuid::Uuid::now_v7()).await.unwrap_err().code, "not_found");
        let f = get_user(&admin, "nope").await.unwrap_err();
        assert_eq!(bad_field(&f), ("invalid_argument", vec!["userId".to_owned()]), "{f:?}");
        let anonymous = server.client_as(protocol, None).await;
        assert_eq!(me(&anonymous).await.unwrap_err().code, "unauthenticated");
    }
}

#[tokio::test]
async fn personal_access_tokens_are_shown_once_listed_and_deleted() {
    for protocol in ALL {
        let server = TestServer::start().await;
        let (dana, dana_token) = server.member("dana", OrgRole::Member).await;
        let (erin, _) = server.member("erin", OrgRole::Member).await;
        let (admin, c) = (server.client(protocol).await, server.client_as(protocol, Some(&dana_token)).await);

        // The value once; it acts as dana.
        let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let value = create_pat(&c, dana, "laptop", days(1)).await.unwrap();
        assert!(value.starts_with("gpat_"), "{value}");
        let as_new = server.client_as(protocol, Some(&value)).await;
        assert_eq!(me(&as_new).await.unwrap().id, dana.to_string(), "{protocol:?}");

        // Listed (never with its value), with its creator, expiry and last use.
        let listed = list_pats(&c, &[], 0, "").await.unwrap();
        let pats = &listed.personal_access_tokens;
        // dana's test token (admin subcommand: no creator, no expiry) and the new one.
        assert_eq!(pats.len(), 2, "{pats:?}");
        let pat = pats.iter().find(|p| p.description == "laptop").unwrap().clone();
        assert_eq!(pat.user_id, dana.to_string());
        assert_eq!(pat.creator.as_ref().map(|s| s.id.clone()), Some(dana.to_string()));
        assert_eq!(pat.creator.as_ref().map(|s| s.principal), Some(gitpod_api::gitpod::v1::Principal::User as i32));
        let expires = pat.expires_at.unwrap().seconds;
        assert!((before + 86_400..=before + 86_400 + 60).contains(&expires), "{expires} vs {before}");
        assert!(pat.last_used.is_some(), "it authenticated once: {pat:?}");
        assert!(!pat.read_only);
        assert_eq!(get_pat(&c, &pat.id).await.unwrap(), pat);

        // Pages of one, carried on by the token.
        let first = list_pats(&c, &[], 1, "").await.unwrap();
        assert_eq!(first.personal_access_tokens.len(), 1);
        let next = first.pagination.unwrap().next_token;
        let second = list_pats(&c, &[], 1, &next).await.unwrap();
        assert_eq!(second.personal_access_tokens.len(), 1);
        assert_ne!(second.personal_access_tokens[0].id, first.personal_access_tokens[0].id);
        assert_eq!(second.pagination.unwrap().next_token, "");

        // A member sees only its own; an admin may ask for a user's.
        let f = list_pats(&c, &[erin.to_string()], 0, "").await.unwrap_err();
        assert_eq!(f.code, "permission_denied", "{f:?}");
        assert_eq!(list_pats(&c, &[dana.to_string()], 0, "").await.unwrap().personal_access_tokens.len(), 2);
        let by_admin = list_pats(&admin, &[dana.to_string()], 0, "").await.unwrap();
        assert_eq!(by_admin.personal_access_tokens.len(), 2);
        assert_eq!(get_pat(&admin, &pat.id).await.unwrap(), get_pat(&c, &pat.id).await.unwrap());
        let admins_own = list_pats(&admin, &[], 0, "").await.unwrap().personal_access_tokens;
        assert!(admins_own.iter().all(|p| p.user_id == server.admin_id.to_string()), "{admins_own:?}");
        let f = get_pat(&c, &admins_own[0].id).await.unwrap_err();
        assert_eq!(f.code, "not_found", "another user's token, for a member");
        assert_eq!(delete_pat(&c, &admins_own[0].id).await.unwrap_err().code, "not_found");

        // Tokens for others: no one makes them for another user.
        assert_eq!(create_pat(&c, erin, "x", days(1)).await.unwrap_err().code, "permission_denied");
        assert_eq!(create_pat(&admin, erin, "x", days(1)).await.unwrap_err().code, "permission_denied");
        let other = server.identity.create_organization("other").await.unwrap();
        let stranger =
            server.identity.create_member(other.id, Principal::User, "stranger", OrgRole::Admin).await.unwrap();
        assert_eq!(create_pat(&c, stranger.id, "x", days(1)).await.unwrap_err().code, "not_found");

        // Expiry is required and at most 90 days; read-only tokens are refused.
        let f = create_pat(&c, dana, "x", None).await.unwrap_err();
        assert_eq!(bad_field(&f), ("invalid_argument", vec!["validFor".to_owned()]), "{f:?}");
        let f = create_pat(&c, dana, "x", days(0)).await.unwrap_err();
        assert_eq!(bad_field(&f), ("invalid_argument", vec!["validFor".to_owned()]), "{f:?}");
        let f = create_pat(&c, dana, "x", days(91)).await.unwrap_err();
        assert_eq!(bad_field(&f), ("invalid_argument", vec!["validFor".to_owned()]), "{f:?}");
        create_pat(&c, dana, "longest", days(90)).await.unwrap();
        let req = CreatePersonalAccessTokenRequest {
            user_id: dana.to_string(),
            description: "ro".into(),
            valid_for: days(1),
            read_only: true,
        };
        let f = c.call::<_, CreatePersonalAccessTokenResponse>(&us("CreatePersonalAccessToken"), req).await;
        assert_eq!(bad_field(&f.unwrap_err()), ("invalid_argument", vec!["readOnly".to_owned()]));

        // Deleting one refuses it on the very next call, cached as it is.
        me(&as_new).await.unwrap();
        delete_pat(&c, &pat.id).await.unwrap();
        assert_eq!(me(&as_new).await.unwrap_err().code, "unauthenticated");
        assert_eq!(get_pat(&c, &pat.id).await.unwrap_err().code, "not_found");
        assert_eq!(delete_pat(&c, &pat.id).await.unwrap_err().code, "not_found");
        // An admin deletes a user's token.
        let second = create_pat(&c, dana, "second", days(1)).await.unwrap();
        let second_c = server.client_as(protocol, Some(&second)).await;
        me(&second_c).await.unwrap();
        let listed = list_pats(&admin, &[dana.to_string()], 0, "").await.unwrap().personal_access_tokens;
        let id = &listed.iter().find(|p| p.description == "second").unwrap().id;
        delete_pat(&admin, id).await.unwrap();
        assert_eq!(me(&second_c).await.unwrap_err().code, "unauthenticated");
    }
}

/// A token's last use is recorded when it authenticates from the database, at most once a
/// minute: calls within the minute write nothing.
#[tokio::test]
async fn a_tokens_last_use_is_recorded_at_most_once_a_minute() {
    let server = TestServer::start().await;
    let (dana, token) = server.member("dana", OrgRole::Member).await;
    // Without a token cache every call authenticates from the database.
    let accounts = runner_core::accounts::Accounts::new(server.store.clone());
    let stored = |server: &TestServer| {
        let store = server.store.clone();
        async move { store.list_member_access_tokens(&[dana], None, 10).await.unwrap()[0].clone() }
    };
    assert_eq!(stored(&server).await.last_used_at, None);
    accounts.authenticate(&token).await.unwrap();
    let first = stored(&server).await.last_used_at.expect("recorded");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    accounts.authenticate(&token).await.unwrap();
    assert_eq!(stored(&server).await.last_used_at, Some(first), "not again within the minute");
    // One older than a minute is written again.
    let t = stored(&server).await;
    server.store.touch_access_token(t.id, first.plus_seconds(-61)).await.unwrap();
    accounts.authenticate(&token).await.unwrap();
    assert!(stored(&server).await.last_used_at.unwrap() >= first);
    let c = server.client_as(Protocol::ConnectJson, Some(&token)).await;
    let listed = list_pats(&c, &[], 0, "").await.unwrap().personal_access_tokens;
    assert!(listed[0].last_used.is_some_and(|t| t.seconds >= first.to_seconds_nanos().0), "{listed:?}");
}

/// Suspending or deleting a user refuses its tokens on the very next call; an admin does it,
/// a member may not; the last admin who is not suspended can be neither.
#[tokio::test]
async fn suspension_and_deletion_apply_on_the_next_call() {
    for protocol in ALL {
        let server = TestServer::start().await;
        let (dana, dana_token) = server.member("dana", OrgRole::Member).await;
        let (erin, erin_token) = server.member("erin", OrgRole::Member).await;
        let admin = server.client(protocol).await;
        let (dana_c, erin_c) =
            (server.client_as(protocol, Some(&dana_token)).await, server.client_as(protocol, Some(&erin_token)).await);
        me(&dana_c).await.unwrap(); // cached now

        suspend(&admin, dana, true).await.unwrap();
        let f = me(&dana_c).await.unwrap_err();
        assert!(f.code == "unauthenticated" && f.message.contains("suspended"), "{protocol:?} {f:?}");
        assert_eq!(get_user(&admin, dana).await.unwrap().status, UserStatus::Suspended as i32);
        suspend(&admin, dana, false).await.unwrap();
        assert_eq!(me(&dana_c).await.unwrap().status, UserStatus::Active as i32);

        // A member may not; another organization's user is not found.
        assert_eq!(suspend(&erin_c, dana, true).await.unwrap_err().code, "permission_denied");
        assert_eq!(delete_user(&erin_c, dana).await.unwrap_err().code, "permission_denied");
        let other = server.identity.create_organization("other").await.unwrap();
        let stranger =
            server.identity.create_member(other.id, Principal::User, "stranger", OrgRole::Admin).await.unwrap();
        assert_eq!(suspend(&admin, stranger.id, true).await.unwrap_err().code, "not_found");
        assert_eq!(delete_user(&admin, stranger.id).await.unwrap_err().code, "not_found");

        // The only admin: neither suspended nor deleted.
        for f in [suspend(&admin, server.admin_id, true).await, delete_user(&admin, server.admin_id).await] {
            let f = f.unwrap_err();
            assert!(
                f.code == "failed_precondition" && f.message.contains("last organization admin"),
                "{protocol:?} {f:?}"
            );
        }
        me(&admin).await.unwrap();

        // Deleted: its tokens are refused at once, and it is not found.
        delete_user(&admin, dana).await.unwrap();
        assert_eq!(me(&dana_c).await.unwrap_err().code, "unauthenticated");
        assert_eq!(get_user(&admin, dana).await.unwrap_err().code, "not_found");
        assert_eq!(delete_user(&admin, dana).await.unwrap_err().code, "not_found");
        me(&erin_c).await.unwrap();
        let _ = erin;
    }
}

/// Deleting a user takes what was shared with it directly (its direct-share group and that
/// group's role assignments) with it.
#[tokio::test]
async fn deleting_a_user_takes_its_direct_shares() {
    use runner_core::model::ApiEnum;
    let server = TestServer::start().await;
    let (dana, dana_token) = server.member("dana", OrgRole::Member).await;
    let admin = server.client(Protocol::ConnectJson).await;
    let dana_c = server.client_as(Protocol::ConnectJson, Some(&dana_token)).await;
    let runner = crate::runners::create(&admin, crate::runners::aws_runner("shared with dana")).await.unwrap();
    let runner_id = runner.runner.unwrap().runner_id;
    let req = ShareResourceWithPrincipalRequest {
        resource_type: ResourceType::Runner as i32,
        resource_id: runner_id.clone(),
        principal: Principal::User.number(),
        principal_id: dana.to_string(),
        role: ResourceRole::RunnerUser as i32,
    };
    let path = runner_testkit::gs("ShareResourceWithPrincipal");
    admin.call::<_, ShareResourceWithPrincipalResponse>(&path, req).await.unwrap();
    crate::runners::get(&dana_c, &runner_id).await.unwrap();
    let direct = || async {
        let filter = list_groups_request::Filter { direct_share: Some(true), ..Default::default() };
        let req = ListGroupsRequest { pagination: None, filter: Some(filter) };
        let r: ListGroupsResponse = admin.call(&runner_testkit::gs("ListGroups"), req).await.unwrap();
        r.groups.len()
    };
    assert_eq!(direct().await, 1);
    delete_user(&admin, dana).await.unwrap();
    assert_eq!(direct().await, 0, "the direct-share group went with the user");
    let req = ListRoleAssignmentsRequest {
        filter: Some(list_role_assignments_request::Filter { resource_id: runner_id, ..Default::default() }),
        ..Default::default()
    };
    let r: ListRoleAssignmentsResponse = admin.call(&runner_testkit::gs("ListRoleAssignments"), req).await.unwrap();
    assert!(r.assignments.is_empty(), "{r:?}");
}
