//! ServiceAccountService: organization admins create, list, update and delete service
//! accounts and get short-lived tokens for them; a service account manages its own tokens,
//! authenticates as itself on every protocol (until its `validUntil`, its suspension or its
//! deletion) and can drive RunnerService with the roles its groups give it.

use gitpod_api::gitpod::v1::list_service_accounts_request::Filter;
use gitpod_api::gitpod::v1::*;
use gitpod_api::wkt::Timestamp as PbTimestamp;
use runner_core::accounts::NewServiceAccount;
use runner_core::identity::OrgRole;
use runner_core::model::Principal as DomainPrincipal;
use runner_core::time::Timestamp;

use crate::runner_side::identity;
use crate::runners::{aws_runner, create};
use runner_testkit::{ALL, Client, Failure, Protocol, TestServer, sas};

/// A time `seconds` from now, on the wire.
fn from_now(seconds: i64) -> PbTimestamp {
    let (seconds, nanos) = Timestamp::now().plus_seconds(seconds).to_seconds_nanos();
    PbTimestamp { seconds, nanos }
}

pub async fn create_account(c: &Client, name: &str, description: &str) -> Result<ServiceAccount, Failure> {
    let req = CreateServiceAccountRequest {
        name: name.into(),
        description: description.into(),
        valid_until: Some(from_now(86_400)),
    };
    c.call::<_, CreateServiceAccountResponse>(&sas("CreateServiceAccount"), req)
        .await
        .map(|r| r.service_account.unwrap())
}

async fn list(
    c: &Client,
    filter: Option<Filter>,
    page_size: i32,
    token: &str,
) -> Result<ListServiceAccountsResponse, Failure> {
    let req =
        ListServiceAccountsRequest { pagination: Some(PaginationRequest { page_size, token: token.into() }), filter };
    c.call(&sas("ListServiceAccounts"), req).await
}

async fn get(c: &Client, id: &str) -> Result<ServiceAccount, Failure> {
    let req = GetServiceAccountRequest { service_account_id: id.into() };
    c.call::<_, GetServiceAccountResponse>(&sas("GetServiceAccount"), req).await.map(|r| r.service_account.unwrap())
}

pub(crate) async fn update(
    c: &Client,
    id: &str,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<ServiceAccount, Failure> {
    let req = UpdateServiceAccountRequest {
        service_account_id: id.into(),
        name: name.map(str::to_owned),
        description: description.map(str::to_owned),
    };
    c.call::<_, UpdateServiceAccountResponse>(&sas("UpdateServiceAccount"), req)
        .await
        .map(|r| r.service_account.unwrap())
}

pub async fn delete(c: &Client, id: &str) -> Result<DeleteServiceAccountResponse, Failure> {
    c.call(&sas("DeleteServiceAccount"), DeleteServiceAccountRequest { service_account_id: id.into() }).await
}

pub async fn access_token(c: &Client, id: &str) -> Result<String, Failure> {
    let req = CreateServiceAccountAccessTokenRequest { service_account_id: id.into() };
    c.call::<_, CreateServiceAccountAccessTokenResponse>(&sas("CreateServiceAccountAccessToken"), req)
        .await
        .map(|r| r.token)
}

pub async fn create_token(
    c: &Client,
    description: &str,
    valid_for_seconds: Option<i64>,
) -> Result<CreateServiceAccountTokenResponse, Failure> {
    let req = CreateServiceAccountTokenRequest {
        description: description.into(),
        valid_for: valid_for_seconds.map(|seconds| pbjson_types::Duration { seconds, nanos: 0 }),
    };
    c.call(&sas("CreateServiceAccountToken"), req).await
}

pub async fn list_tokens(c: &Client, page_size: i32, token: &str) -> Result<ListServiceAccountTokensResponse, Failure> {
    let req =
        ListServiceAccountTokensRequest { pagination: Some(PaginationRequest { page_size, token: token.into() }) };
    c.call(&sas("ListServiceAccountTokens"), req).await
}

pub async fn get_token(c: &Client, id: &str) -> Result<ServiceAccountToken, Failure> {
    let req = GetServiceAccountTokenRequest { service_account_token_id: id.into() };
    c.call::<_, GetServiceAccountTokenResponse>(&sas("GetServiceAccountToken"), req).await.map(|r| r.token.unwrap())
}

pub async fn delete_token(c: &Client, id: &str) -> Result<DeleteServiceAccountTokenResponse, Failure> {
    let req = DeleteServiceAccountTokenRequest { service_account_token_id: id.into() };
    c.call(&sas("DeleteServiceAccountToken"), req).await
}

async fn whoami(c: &Client) -> Result<GetAuthenticatedIdentityResponse, Failure> {
    c.call(&identity("GetAuthenticatedIdentity"), GetAuthenticatedIdentityRequest {}).await
}

fn names(r: &ListServiceAccountsResponse) -> Vec<&str> {
    r.service_accounts.iter().map(|a| a.name.as_str()).collect()
}

fn search(s: &str) -> Option<Filter> {
    Some(Filter { search: s.into(), ..Default::default() })
}

fn bad(f: &Failure) -> (&str, Vec<String>) {
    (f.code.as_str(), f.bad_fields.clone())
}

#[tokio::test]
async fn admins_create_list_update_and_delete_service_accounts() {
    for protocol in ALL {
        let server = TestServer::start().await;
        let admin = server.client(protocol).await;
        let admin_id = server.admin_id.to_string();

        let ci = create_account(&admin, "ci", "Builds every branch").await.unwrap();
        assert!(uuid::Uuid::parse_str(&ci.id).is_ok());
        assert_eq!((ci.name.as_str(), ci.description.as_str()), ("ci", "Builds every branch"));
        assert_eq!(ci.organization_id, server.org.id.to_string());
        let creator = ci.creator.clone().unwrap();
        assert_eq!((creator.id.as_str(), creator.principal), (admin_id.as_str(), Principal::User as i32));
        assert!(!ci.suspended && !ci.system_managed);
        let until = ci.valid_until.unwrap().seconds - Timestamp::now().to_seconds_nanos().0;
        assert!((86_300..=86_400).contains(&until), "{until}");
        assert!(ci.created_at.is_some());
        assert_eq!(get(&admin, &ci.id).await.unwrap(), ci, "{protocol:?}");
        // A service account is a member of the organization, with the role `member`.
        let member = server.identity.members(server.org.id).await.unwrap().into_iter().find(|m| m.name == "ci");
        let member = member.unwrap();
        assert_eq!((member.principal, member.role), (DomainPrincipal::ServiceAccount, OrgRole::Member));

        let deploy = create_account(&admin, "deploy", "Ships releases").await.unwrap();
        let nightly = create_account(&admin, "nightly", "").await.unwrap();
        // One made with the admin subcommand's use case shows too, with the defaults.
        let old = server
            .identity
            .create_service_account(NewServiceAccount::without_details(server.org.id, "old-bot", OrgRole::Member))
            .await
            .unwrap();
        // Users are not service accounts; another organization's are not listed.
        server.member("alice", OrgRole::Member).await;
        let other = server.identity.create_organization("other").await.unwrap();
        let theirs = server
            .identity
            .create_service_account(NewServiceAccount::without_details(other.id, "ci", OrgRole::Member))
            .await
            .unwrap();

        let all = list(&admin, None, 0, "").await.unwrap();
        assert_eq!(names(&all), vec!["ci", "deploy", "nightly", "old-bot"], "by id: creation order");
        assert_eq!(all.pagination.as_ref().unwrap().next_token, "");
        assert_eq!(all.service_accounts[0], ci);
        let o = &all.service_accounts[3];
        assert_eq!((o.creator.as_ref(), o.valid_until, o.description.as_str()), (None, None, ""));

        // Pages of two; the token carries the filter.
        let first = list(&admin, None, 2, "").await.unwrap();
        assert_eq!(names(&first), vec!["ci", "deploy"]);
        let next = first.pagination.unwrap().next_token;
        let second = list(&admin, search("nothing"), 2, &next).await.unwrap();
        assert_eq!(names(&second), vec!["nightly", "old-bot"], "the token's filter wins over the request's");
        assert_eq!(second.pagination.unwrap().next_token, "");

        // Search: name or description, case-insensitive; ids; suspended only when asked.
        assert_eq!(names(&list(&admin, search("DEPL"), 0, "").await.unwrap()), vec!["deploy"]);
        assert_eq!(names(&list(&admin, search("every branch"), 0, "").await.unwrap()), vec!["ci"]);
        let ids = Some(Filter {
            service_account_ids: vec![nightly.id.clone(), theirs.member.id.to_string()],
            ..Default::default()
        });
        assert_eq!(names(&list(&admin, ids, 0, "").await.unwrap()), vec!["nightly"], "never another org's");
        server.identity.set_suspended(old.member.id, true).await.unwrap();
        assert_eq!(names(&list(&admin, None, 0, "").await.unwrap()), vec!["ci", "deploy", "nightly"]);
        let with = Some(Filter { include_suspended: true, ..Default::default() });
        let with = list(&admin, with, 0, "").await.unwrap();
        assert_eq!(names(&with), vec!["ci", "deploy", "nightly", "old-bot"]);
        assert!(with.service_accounts[3].suspended);

        // Update: only what is given changes.
        let renamed = update(&admin, &ci.id, Some("builds"), None).await.unwrap();
        assert_eq!((renamed.name.as_str(), renamed.description.as_str()), ("builds", "Builds every branch"));
        assert_eq!((renamed.valid_until, renamed.creator.clone()), (ci.valid_until, ci.creator.clone()));
        let described = update(&admin, &ci.id, None, Some("")).await.unwrap();
        assert_eq!((described.name.as_str(), described.description.as_str()), ("builds", ""));
        assert_eq!(get(&admin, &ci.id).await.unwrap(), described);
        let f = update(&admin, &ci.id, Some("deploy"), None).await.unwrap_err();
        assert_eq!(f.code, "already_exists", "{f:?}");
        assert!(f.message.contains("deploy"), "{f:?}");
        let f = create_account(&admin, "deploy", "").await.unwrap_err();
        assert_eq!(f.code, "already_exists", "{f:?}");

        // Delete: gone, once.
        delete(&admin, &deploy.id).await.unwrap();
        assert_eq!(get(&admin, &deploy.id).await.unwrap_err().code, "not_found");
        assert_eq!(delete(&admin, &deploy.id).await.unwrap_err().code, "not_found");
        assert_eq!(update(&admin, &deploy.id, Some("x"), None).await.unwrap_err().code, "not_found");

        // Another organization's, an unknown one, and a user are not found.
        for id in [theirs.member.id.to_string(), uuid::Uuid::now_v7().to_string(), admin_id.clone()] {
            assert_eq!(get(&admin, &id).await.unwrap_err().code, "not_found", "{id}");
            assert_eq!(delete(&admin, &id).await.unwrap_err().code, "not_found", "{id}");
        }

        // Bad input, naming the field.
        let f = get(&admin, "nope").await.unwrap_err();
        assert_eq!(bad(&f), ("invalid_argument", vec!["serviceAccountId".to_owned()]), "{f:?}");
        let past = CreateServiceAccountRequest {
            name: "late".into(),
            description: String::new(),
            valid_until: Some(from_now(-60)),
        };
        let f = admin.call::<_, CreateServiceAccountResponse>(&sas("CreateServiceAccount"), past).await.unwrap_err();
        assert_eq!(bad(&f), ("invalid_argument", vec!["validUntil".to_owned()]), "{f:?}");
        let none = CreateServiceAccountRequest { name: "late".into(), ..Default::default() };
        let f = admin.call::<_, CreateServiceAccountResponse>(&sas("CreateServiceAccount"), none).await.unwrap_err();
        assert_eq!(bad(&f), ("invalid_argument", vec!["validUntil".to_owned()]), "{f:?}");
        let f = create_account(&admin, "   ", "").await.unwrap_err();
        assert_eq!(bad(&f), ("invalid_argument", vec!["name".to_owned()]), "{f:?}");
        let f = update(&admin, &ci.id, Some(""), None).await.unwrap_err();
        assert_eq!(bad(&f), ("invalid_argument", vec!["name".to_owned()]), "{f:?}");
        let f = list(&admin, None, 0, "forged.token").await.unwrap_err();
        assert_eq!(bad(&f), ("invalid_argument", vec!["pagination.token".to_owned()]));
        let bad_ids = Some(Filter { service_account_ids: vec!["nope".into()], ..Default::default() });
        assert_eq!(list(&admin, bad_ids, 0, "").await.unwrap_err().code, "invalid_argument");
    }
}

#[tokio::test]
async fn service_accounts_manage_their_own_tokens() {
    for protocol in ALL {
        let server = TestServer::start().await;
        let admin = server.client(protocol).await;
        let ci = create_account(&admin, "ci", "").await.unwrap();
        let other = create_account(&admin, "other", "").await.unwrap();

        // The admin gets a short-lived token; it authenticates as the service account.
        let short = access_token(&admin, &ci.id).await.unwrap();
        let bot = server.client_as(protocol, Some(&short)).await;
        let me = whoami(&bot).await.unwrap();
        let subject = me.subject.unwrap();
        assert_eq!((subject.id.as_str(), subject.principal), (ci.id.as_str(), Principal::ServiceAccount as i32));
        assert_eq!(me.organization_id, server.org.id.to_string());

        // With it, the service account creates a token of its own: the value once, the metadata.
        let created = create_token(&bot, "deploys from CI", Some(7 * 86_400)).await.unwrap();
        assert!(created.token.len() > 32);
        let meta = created.service_account_token.unwrap();
        assert_eq!((meta.service_account_id.as_str(), meta.description.as_str()), (ci.id.as_str(), "deploys from CI"));
        let lifetime = meta.expires_at.unwrap().seconds - meta.created_at.unwrap().seconds;
        assert!((7 * 86_400 - 1..=7 * 86_400).contains(&lifetime), "{lifetime}");
        let creator = meta.creator.clone().unwrap();
        assert_eq!((creator.id.as_str(), creator.principal), (ci.id.as_str(), Principal::ServiceAccount as i32));
        assert_eq!(meta.last_used, None, "not used yet");
        let own = server.client_as(protocol, Some(&created.token)).await;
        assert_eq!(whoami(&own).await.unwrap().subject.unwrap().id, ci.id);
        // Used now: when, to the minute.
        let used = get_token(&admin, &meta.id).await.unwrap();
        let last_used = used.last_used.expect("used once");
        assert!((Timestamp::now().to_seconds_nanos().0 - last_used.seconds).abs() <= 60, "{last_used:?}");
        assert_eq!(ServiceAccountToken { last_used: None, ..used.clone() }, meta);
        let meta = used;
        // The one-hour token was created by the admin.
        let short_meta = list_tokens(&bot, 0, "").await.unwrap().tokens.into_iter().find(|t| t.id != meta.id).unwrap();
        let short_creator = short_meta.creator.unwrap();
        assert_eq!((short_creator.id, short_creator.principal), (server.admin_id.to_string(), Principal::User as i32));
        let short_life = short_meta.expires_at.unwrap().seconds - short_meta.created_at.unwrap().seconds;
        assert!((3599..=3600).contains(&short_life), "one hour: {short_life}");

        // An expiry is required, and bounded by 90 days, as for personal access tokens.
        for (valid_for, why) in [(None, "none"), (Some(0), "zero"), (Some(91 * 86_400), "over 90 days")] {
            let f = create_token(&bot, "x", valid_for).await.unwrap_err();
            assert_eq!(bad(&f), ("invalid_argument", vec!["validFor".to_owned()]), "{why}: {f:?}");
        }
        // Only a service account creates its own tokens.
        assert_eq!(create_token(&admin, "x", Some(60)).await.unwrap_err().code, "permission_denied");

        // Lists: a service account its own (both), an admin every service account's.
        let other_short = access_token(&admin, &other.id).await.unwrap();
        let other_bot = server.client_as(protocol, Some(&other_short)).await;
        let mine = list_tokens(&own, 0, "").await.unwrap();
        assert_eq!(mine.tokens.len(), 2, "{mine:?}");
        assert!(mine.tokens.iter().all(|t| t.service_account_id == ci.id));
        assert!(mine.tokens.iter().any(|t| t == &meta));
        let theirs = list_tokens(&other_bot, 0, "").await.unwrap();
        assert_eq!(
            theirs.tokens.iter().map(|t| t.service_account_id.as_str()).collect::<Vec<_>>(),
            vec![other.id.as_str()]
        );
        let all = list_tokens(&admin, 0, "").await.unwrap();
        assert_eq!(all.tokens.len(), 3, "no personal access token of a user: {all:?}");
        let first = list_tokens(&admin, 2, "").await.unwrap();
        assert_eq!(first.tokens, all.tokens[..2]);
        let rest = list_tokens(&admin, 2, &first.pagination.unwrap().next_token).await.unwrap();
        assert_eq!(rest.tokens, all.tokens[2..]);
        assert_eq!(rest.pagination.unwrap().next_token, "");
        let (_, plain) = server.member("plain", OrgRole::Member).await;
        let plain = server.client_as(protocol, Some(&plain)).await;
        assert_eq!(list_tokens(&plain, 0, "").await.unwrap_err().code, "permission_denied");

        // Get: the service account and admins; another service account or a member: not found.
        assert_eq!(get_token(&own, &meta.id).await.unwrap(), meta);
        assert_eq!(get_token(&admin, &meta.id).await.unwrap(), meta);
        assert_eq!(get_token(&other_bot, &meta.id).await.unwrap_err().code, "not_found");
        assert_eq!(get_token(&plain, &meta.id).await.unwrap_err().code, "not_found");
        assert_eq!(delete_token(&other_bot, &meta.id).await.unwrap_err().code, "not_found");
        let f = get_token(&own, "nope").await.unwrap_err();
        assert_eq!(bad(&f), ("invalid_argument", vec!["serviceAccountTokenId".to_owned()]), "{f:?}");

        // Delete: the token stops working at once, and is gone.
        whoami(&own).await.unwrap();
        delete_token(&bot, &meta.id).await.unwrap();
        assert_eq!(whoami(&own).await.unwrap_err().code, "unauthenticated", "{protocol:?}");
        assert_eq!(get_token(&admin, &meta.id).await.unwrap_err().code, "not_found");
        assert_eq!(delete_token(&admin, &meta.id).await.unwrap_err().code, "not_found");
        // An admin deletes the short-lived one.
        let short_id = list_tokens(&bot, 0, "").await.unwrap().tokens[0].id.clone();
        delete_token(&admin, &short_id).await.unwrap();
        assert_eq!(whoami(&bot).await.unwrap_err().code, "unauthenticated");
    }
}

#[tokio::test]
async fn deleting_a_service_account_revokes_it_at_once_with_its_memberships() {
    for protocol in ALL {
        let server = TestServer::start().await;
        let admin = server.client(protocol).await;
        let ci = create_account(&admin, "ci", "").await.unwrap();
        let id = uuid::Uuid::parse_str(&ci.id).unwrap();
        let team = server.identity.create_group(server.org.id, "team").await.unwrap();
        server.identity.add_group_member(team.id, id).await.unwrap();
        let bot = server.client_as(protocol, Some(&access_token(&admin, &ci.id).await.unwrap())).await;
        // Cached by now.
        whoami(&bot).await.unwrap();
        whoami(&bot).await.unwrap();
        delete(&admin, &ci.id).await.unwrap();
        assert_eq!(whoami(&bot).await.unwrap_err().code, "unauthenticated", "{protocol:?}");
        assert_eq!(server.store.count_group_members(server.org.id).await.unwrap(), vec![], "no membership left");
        assert!(server.identity.tokens(server.org.id).await.unwrap().iter().all(|t| t.member_id != id));

        // Suspended: refused at once, and no new tokens for it.
        let deploy = create_account(&admin, "deploy", "").await.unwrap();
        let deploy_id = uuid::Uuid::parse_str(&deploy.id).unwrap();
        let bot = server.client_as(protocol, Some(&access_token(&admin, &deploy.id).await.unwrap())).await;
        whoami(&bot).await.unwrap();
        server.identity.set_suspended(deploy_id, true).await.unwrap();
        assert_eq!(whoami(&bot).await.unwrap_err().code, "unauthenticated");
        assert_eq!(access_token(&admin, &deploy.id).await.unwrap_err().code, "failed_precondition");
    }
}

#[tokio::test]
async fn a_service_account_past_its_valid_until_does_not_authenticate() {
    let server = TestServer::start().await;
    let admin = server.client(Protocol::ConnectJson).await;
    // Valid for two more seconds: its token works, also from the cache, until then.
    let req = CreateServiceAccountRequest {
        name: "brief".into(),
        description: String::new(),
        valid_until: Some(from_now(2)),
    };
    let brief: CreateServiceAccountResponse = admin.call(&sas("CreateServiceAccount"), req).await.unwrap();
    let brief = brief.service_account.unwrap();
    let token = access_token(&admin, &brief.id).await.unwrap();
    for protocol in ALL {
        let c = server.client_as(protocol, Some(&token)).await;
        whoami(&c).await.unwrap();
    }
    let c = server.client_as(Protocol::ConnectJson, Some(&token)).await;
    let until = brief.valid_until.unwrap();
    let end = Timestamp::from_seconds_nanos(until.seconds, until.nanos).unwrap();
    // Calls that surely arrive before the end work …
    while Timestamp::now().plus_seconds(1) < end {
        whoami(&c).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // … and none after it.
    while Timestamp::now() <= end {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for protocol in ALL {
        let c = server.client_as(protocol, Some(&token)).await;
        let f = whoami(&c).await.unwrap_err();
        assert_eq!(f.code, "unauthenticated", "{protocol:?}");
        assert!(f.message.contains("valid until"), "{f:?}");
    }
    // And it gets no new token.
    assert_eq!(access_token(&admin, &brief.id).await.unwrap_err().code, "failed_precondition");
    // Still listed, with its validity, for the admin to see and delete.
    assert_eq!(get(&admin, &brief.id).await.unwrap().valid_until, Some(until));
    delete(&admin, &brief.id).await.unwrap();
}

#[tokio::test]
async fn a_service_account_in_a_runners_admin_group_creates_runners() {
    let server = TestServer::start().await;
    let admin = server.client(Protocol::ConnectJson).await;
    let ci = create_account(&admin, "ci", "creates runners").await.unwrap();
    let ci_id = uuid::Uuid::parse_str(&ci.id).unwrap();
    let short = access_token(&admin, &ci.id).await.unwrap();
    let bot = server.client_as(Protocol::ConnectJson, Some(&short)).await;
    let token = create_token(&bot, "CI", Some(86_400)).await.unwrap().token;
    // Without a role: not allowed.
    let c = server.client_as(Protocol::Grpc, Some(&token)).await;
    assert_eq!(create(&c, aws_runner("from CI")).await.unwrap_err().code, "permission_denied");
    // Given runners admin through a group, on every protocol at once.
    let group = server.identity.create_group(server.org.id, "automation").await.unwrap();
    server.identity.set_group_runners_admin(group.id, true).await.unwrap();
    server.identity.add_group_member(group.id, ci_id).await.unwrap();
    for protocol in ALL {
        let c = server.client_as(protocol, Some(&token)).await;
        let runner = create(&c, aws_runner(&format!("from CI {protocol:?}"))).await.unwrap().runner.unwrap();
        let creator = runner.creator.unwrap();
        assert_eq!((creator.id.as_str(), creator.principal), (ci.id.as_str(), Principal::ServiceAccount as i32));
        let got = crate::runners::get(&c, &runner.runner_id).await.unwrap();
        assert_eq!(got.name, format!("from CI {protocol:?}"));
        let exchange: CreateRunnerTokenResponse = c
            .call(&runner_testkit::rs("CreateRunnerToken"), CreateRunnerTokenRequest { runner_id: runner.runner_id })
            .await
            .unwrap();
        assert!(!exchange.exchange_token.is_empty());
    }
}
