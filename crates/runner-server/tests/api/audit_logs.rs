//! The audit log through the API: ListAuditLogs and GetAuditLog over every protocol, what the
//! writes of the services record (actor, subject, action, kind), authorization failures and
//! secret values read, filters, sort and paging, and that no secret value ever appears in an
//! entry. Who may read it is in the authorization matrix (authz.rs).

use gitpod_api::gitpod::v1::list_audit_logs_response::AuditLogEntry;
use gitpod_api::gitpod::v1::*;
use gitpod_api::runnerside::v1::{
    GetHostAuthenticationTokenValueRequest, GetHostAuthenticationTokenValueResponse, UpdateRunnerStatusRequest,
    UpdateRunnerStatusResponse,
};
use runner_core::identity::OrgRole;
use runner_testkit::{ALL, Client, Failure, Protocol, TestServer, es, os, outcome, rcs, rs};

use crate::runner_side::{ris, running_runner};
use crate::runners::{aws_runner, create};

pub async fn list(c: &Client, filter: list_audit_logs_request::Filter) -> Result<Vec<AuditLogEntry>, Failure> {
    list_page(c, filter, None, 100, "").await.map(|(entries, _)| entries)
}

async fn list_page(
    c: &Client,
    filter: list_audit_logs_request::Filter,
    sort: Option<Sort>,
    page_size: i32,
    token: &str,
) -> Result<(Vec<AuditLogEntry>, String), Failure> {
    let req = ListAuditLogsRequest {
        pagination: Some(PaginationRequest { token: token.to_owned(), page_size }),
        filter: Some(filter),
        sort,
    };
    let r: ListAuditLogsResponse = c.call(&es("ListAuditLogs"), req).await?;
    Ok((r.entries, r.pagination.map(|p| p.next_token).unwrap_or_default()))
}

pub async fn get(c: &Client, id: &str) -> Result<AuditLogEntry, Failure> {
    let r: GetAuditLogResponse =
        c.call(&es("GetAuditLog"), GetAuditLogRequest { audit_log_entry_id: id.to_owned() }).await?;
    Ok(r.entry.unwrap())
}

fn about(id: &str) -> list_audit_logs_request::Filter {
    list_audit_logs_request::Filter { subject_ids: vec![id.to_owned()], ..Default::default() }
}

fn action(method: &str) -> String {
    method.trim_start_matches('/').to_owned()
}

#[tokio::test]
async fn runner_writes_are_listed_with_who_did_them_on_every_protocol() {
    let server = TestServer::start().await;
    let admin = server.client(Protocol::ConnectJson).await;
    let id = create(&admin, aws_runner("audited")).await.unwrap().runner.unwrap().runner_id;
    let rename = UpdateRunnerRequest { runner_id: id.clone(), name: Some("renamed".into()), ..Default::default() };
    crate::runners::update(&admin, rename).await.unwrap();
    let _: DeleteRunnerResponse =
        admin.call(&rs("DeleteRunner"), DeleteRunnerRequest { runner_id: id.clone(), force: true }).await.unwrap();
    for protocol in ALL {
        let c = server.client(protocol).await;
        let entries = list(&c, about(&id)).await.unwrap();
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [rs("DeleteRunner"), rs("UpdateRunner"), rs("CreateRunner")].map(|m| action(&m)),
            "{protocol:?}: newest first"
        );
        for e in &entries {
            assert_eq!(e.actor_id, server.admin_id.to_string(), "{protocol:?}");
            assert_eq!(e.actor_principal, Principal::User as i32);
            assert_eq!((e.subject_id.as_str(), e.subject_type), (id.as_str(), ResourceType::Runner as i32));
            assert_eq!(e.kind, AuditLogEntryKind::ResourceChange as i32);
            assert!(e.created_at.is_some());
            assert_eq!(&get(&c, &e.id).await.unwrap(), e, "{protocol:?}: GetAuditLog reads the same entry");
        }
        let oldest = Sort { field: "createdAt".into(), order: SortOrder::Asc as i32 };
        let (asc, _) = list_page(&c, about(&id), Some(oldest), 100, "").await.unwrap();
        assert_eq!(asc.iter().rev().collect::<Vec<_>>(), entries.iter().collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn filters_and_pages() {
    let server = TestServer::start().await;
    let admin = server.client(Protocol::ConnectJson).await;
    let (member_id, member) = server.member("runner maker", OrgRole::Admin).await;
    let maker = server.client_as(Protocol::ConnectJson, Some(&member)).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let c = if n % 2 == 0 { &admin } else { &maker };
        ids.push(create(c, aws_runner(&format!("runner {n}"))).await.unwrap().runner.unwrap().runner_id);
    }
    let runners = list_audit_logs_request::Filter {
        subject_types: vec![ResourceType::Runner as i32],
        actor_principals: vec![Principal::User as i32],
        ..Default::default()
    };
    // Pages of two, newest first, continue with only the token.
    let (mut walked, mut token) = (Vec::new(), String::new());
    loop {
        let filter = if token.is_empty() { runners.clone() } else { Default::default() };
        let (page, next) = list_page(&admin, filter, None, 2, &token).await.unwrap();
        assert!(page.len() <= 2);
        walked.extend(page.into_iter().map(|e| e.subject_id));
        if next.is_empty() {
            break;
        }
        token = next;
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(walked, newest_first);
    // By actor.
    let by_maker = list_audit_logs_request::Filter { actor_ids: vec![member_id.to_string()], ..runners.clone() };
    let made: Vec<String> = list(&admin, by_maker).await.unwrap().into_iter().map(|e| e.subject_id).collect();
    assert_eq!(made, vec![ids[3].clone(), ids[1].clone()]);
    // By time: nothing before the server's first write, everything up to now.
    let epoch = Some(gitpod_api::wkt::Timestamp { seconds: 0, nanos: 0 });
    let later = Some(gitpod_api::wkt::Timestamp { seconds: 4_000_000_000, nanos: 0 });
    let early = list_audit_logs_request::Filter { to: epoch, ..runners.clone() };
    assert!(list(&admin, early).await.unwrap().is_empty());
    let window = list_audit_logs_request::Filter { from: epoch, to: later, ..runners.clone() };
    assert_eq!(list(&admin, window).await.unwrap().len(), 5);
    // Types this server has no entries of match nothing.
    let projects =
        list_audit_logs_request::Filter { subject_types: vec![ResourceType::Project as i32], ..Default::default() };
    assert!(list(&admin, projects).await.unwrap().is_empty());
    // Bad input names its field.
    let bad = list_audit_logs_request::Filter { actor_ids: vec!["nope".into()], ..Default::default() };
    assert_eq!(list(&admin, bad).await.unwrap_err().code, "invalid_argument");
    let by_name = Sort { field: "name".into(), order: SortOrder::Asc as i32 };
    let err = list_page(&admin, Default::default(), Some(by_name), 10, "").await.unwrap_err();
    assert_eq!(err.code, "invalid_argument");
    assert_eq!(outcome(get(&admin, &uuid::Uuid::now_v7().to_string()).await), "not_found");
}

#[tokio::test]
async fn denials_and_secret_reads_are_entries_and_heartbeats_are_not() {
    let server = TestServer::start().await;
    let admin = server.client(Protocol::ConnectJson).await;
    let (member_id, member) = server.member("curious", OrgRole::Member).await;
    let curious = server.client_as(Protocol::ConnectJson, Some(&member)).await;
    assert_eq!(outcome(crate::organizations::rename_org(&curious, server.org.id, "mine").await), "permission_denied");
    let by_member = list_audit_logs_request::Filter { actor_ids: vec![member_id.to_string()], ..Default::default() };
    let denied = list(&admin, by_member).await.unwrap();
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0].action, format!("{}: permission_denied", action(&os("UpdateOrganization"))));
    assert_eq!(denied[0].kind, AuditLogEntryKind::Unspecified as i32);
    assert_eq!(denied[0].subject_id, server.org.id.to_string());
    assert_eq!(denied[0].subject_type, ResourceType::Organization as i32);

    // The runner reads a host token's value: a credential access by the runner.
    let runner = running_runner(&server, Protocol::ConnectJson, false).await;
    let scm = CreateScmIntegrationRequest {
        runner_id: runner.id.clone(),
        scm_id: "github".into(),
        host: "github.com".into(),
        pat: true,
        ..Default::default()
    };
    let _: CreateScmIntegrationResponse = admin.call(&rcs("CreateSCMIntegration"), scm).await.unwrap();
    let token = CreateHostAuthenticationTokenRequest {
        runner_id: runner.id.clone(),
        host: "github.com".into(),
        token: "ghp_never_in_the_log".into(),
        source: HostAuthenticationTokenSource::Pat as i32,
        subject: Some(Subject { id: server.admin_id.to_string(), principal: Principal::User as i32 }),
        ..Default::default()
    };
    let created: CreateHostAuthenticationTokenResponse =
        admin.call(&rcs("CreateHostAuthenticationToken"), token).await.unwrap();
    let token_id = created.token.unwrap().id;
    let req = GetHostAuthenticationTokenValueRequest {
        runner_id: runner.id.clone(),
        id: token_id.clone(),
        ..Default::default()
    };
    let _: GetHostAuthenticationTokenValueResponse =
        runner.client.call(&ris("GetHostAuthenticationTokenValue"), req).await.unwrap();
    let entries = list(&admin, about(&token_id)).await.unwrap();
    let read = entries.iter().find(|e| e.kind == AuditLogEntryKind::CredentialAccess as i32).expect("a read entry");
    assert_eq!((read.actor_id.as_str(), read.actor_principal), (runner.id.as_str(), Principal::Runner as i32));
    assert_eq!(read.subject_type, ResourceType::HostAuthenticationToken as i32);
    assert_eq!(read.action, action(&ris("GetHostAuthenticationTokenValue")));

    // Status reports change the runner but are not audited; its sign-up is.
    let _: UpdateRunnerStatusResponse = runner
        .client
        .call(
            &ris("UpdateRunnerStatus"),
            UpdateRunnerStatusRequest {
                runner_id: runner.id.clone(),
                phase: RunnerPhase::Active as i32,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let actions: Vec<String> = list(&admin, about(&runner.id)).await.unwrap().into_iter().map(|e| e.action).collect();
    assert!(actions.contains(&action(&ris("Signup"))), "{actions:?}");
    assert!(!actions.iter().any(|a| a.contains("UpdateRunnerStatus")), "{actions:?}");
}

#[tokio::test]
async fn no_secret_value_appears_in_any_entry() {
    let server = TestServer::start().await;
    let admin = server.client(Protocol::ConnectJson).await;
    let mut secrets = Vec::new();
    let created = create(&admin, aws_runner("secretive")).await.unwrap();
    secrets.push(created.exchange_token.clone());
    // A runner that signed up (its key seals the OAuth client secret).
    let runner_id = running_runner(&server, Protocol::ConnectJson, false).await.id;
    let scm = CreateScmIntegrationRequest {
        runner_id: runner_id.clone(),
        scm_id: "github".into(),
        host: "github.com".into(),
        oauth_client_id: Some("client-1".into()),
        oauth_plaintext_client_secret: Some("oauth-secret-never-logged".into()),
        pat: true,
        ..Default::default()
    };
    secrets.push("oauth-secret-never-logged".into());
    let _: CreateScmIntegrationResponse = admin.call(&rcs("CreateSCMIntegration"), scm).await.unwrap();
    let token = CreateHostAuthenticationTokenRequest {
        runner_id: runner_id.clone(),
        host: "github.com".into(),
        token: "ghp_secret_value".into(),
        refresh_token: "ghr_secret_refresh".into(),
        source: HostAuthenticationTokenSource::Oauth as i32,
        subject: Some(Subject { id: server.admin_id.to_string(), principal: Principal::User as i32 }),
        ..Default::default()
    };
    secrets.extend(["ghp_secret_value".to_owned(), "ghr_secret_refresh".to_owned()]);
    let _: CreateHostAuthenticationTokenResponse =
        admin.call(&rcs("CreateHostAuthenticationToken"), token).await.unwrap();
    secrets.push(crate::users::create_pat(&admin, server.admin_id, "audited", crate::users::days(1)).await.unwrap());
    let new_token: CreateRunnerTokenResponse =
        admin.call(&rs("CreateRunnerToken"), CreateRunnerTokenRequest { runner_id: runner_id.clone() }).await.unwrap();
    secrets.push(new_token.exchange_token);
    // Every entry, as the JSON a client reads.
    let (status, body) = server
        .post_json_as(
            &server.admin_token,
            "/gitpod.v1.EventService/ListAuditLogs",
            serde_json::json!({"pagination": {"pageSize": 100}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let text = body.to_string();
    assert!(body["entries"].as_array().unwrap().len() >= 5, "{text}");
    for secret in &secrets {
        assert!(!secret.is_empty());
        assert!(!text.contains(secret.as_str()), "a secret value in the audit log: {text}");
    }
}
