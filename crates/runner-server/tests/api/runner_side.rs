//! The runner side (IdentityService.ExchangeToken, then our runnerside.v1
//! RunnerInteractionService) over every protocol: token exchange, sign-up, status reports and
//! heartbeats, sealed secrets, and deletion.

use std::time::Duration;

use gitpod_api::gitpod::v1::*;
use gitpod_api::runnerside::v1::*;
use runner_core::crypto::{generate_runner_keypair, open_sealed};
use runner_core::identity::OrgRole;
use runner_server::state::RunnerTimings;

use crate::runners::{aws_runner, create, get};
use runner_testkit::{ALL, Client, Failure, Protocol, TestServer, outcome, rcs, rs};

pub fn ris(method: &str) -> String {
    format!("/runnerside.v1.RunnerInteractionService/{method}")
}

pub fn identity(method: &str) -> String {
    format!("/gitpod.v1.IdentityService/{method}")
}

/// Trades an exchange token, calling without credentials.
pub async fn exchange(server: &TestServer, protocol: Protocol, token: &str) -> Result<ExchangeTokenResponse, Failure> {
    let anonymous = server.client_as(protocol, None).await;
    anonymous.call(&identity("ExchangeToken"), ExchangeTokenRequest { exchange_token: token.to_owned() }).await
}

/// An access token of `runner_id`'s own principal, from a fresh exchange token.
pub async fn runner_access_token(server: &TestServer, protocol: Protocol, runner_id: &str) -> String {
    let admin = server.client(protocol).await;
    let minted: CreateRunnerTokenResponse = admin
        .call(&rs("CreateRunnerToken"), CreateRunnerTokenRequest { runner_id: runner_id.to_owned() })
        .await
        .unwrap();
    exchange(server, protocol, &minted.exchange_token).await.unwrap().access_token
}

/// A runner as its process sees it.
pub struct RunnerProcess {
    pub id: String,
    pub client: Client,
    pub public_key: [u8; 32],
}

/// A runner the admin created, exchanged and signed up, and (unless `inactive`) reported ACTIVE.
pub async fn running_runner(server: &TestServer, protocol: Protocol, inactive: bool) -> RunnerProcess {
    let admin = server.client(protocol).await;
    let id = create(&admin, aws_runner("runner process")).await.unwrap().runner.unwrap().runner_id;
    let token = runner_access_token(server, protocol, &id).await;
    let client = server.client_as(protocol, Some(&token)).await;
    let (_, public_key) = generate_runner_keypair();
    let _: SignupResponse = client.call(&ris("Signup"), signup(&id, &public_key)).await.unwrap();
    if !inactive {
        let _: UpdateRunnerStatusResponse = client.call(&ris("UpdateRunnerStatus"), active(&id)).await.unwrap();
    }
    RunnerProcess { id, client, public_key }
}

fn signup(id: &str, public_key: &[u8]) -> SignupRequest {
    SignupRequest {
        runner_id: id.to_owned(),
        public_key: public_key.to_vec(),
        version: "2026.11.1".into(),
        region: "eu-central-1".into(),
        system_details: "linux/amd64\nkernel 6.8".into(),
        capabilities: vec![RunnerCapability::FetchLocalScmIntegrations as i32, RunnerCapability::AgentExecution as i32],
    }
}

/// A github.com integration of a runner with an OAuth client (secret `s3cret-oauth`) and PATs.
fn github_with_oauth(runner_id: &str) -> CreateScmIntegrationRequest {
    CreateScmIntegrationRequest {
        runner_id: runner_id.to_owned(),
        scm_id: "github".into(),
        host: "github.com".into(),
        oauth_client_id: Some("client-1".into()),
        oauth_plaintext_client_secret: Some("s3cret-oauth".into()),
        pat: true,
        ..Default::default()
    }
}

pub(crate) fn active(id: &str) -> UpdateRunnerStatusRequest {
    UpdateRunnerStatusRequest {
        runner_id: id.to_owned(),
        phase: RunnerPhase::Active as i32,
        message: "all good".into(),
        log_url: "https://logs.example.com/runner".into(),
        additional_info: vec![FieldValue { key: "stack".into(), value: "arn:aws:cloudformation:x".into() }],
        gateway_info: Some(GatewayInfo {
            gateway: Some(Gateway { name: "eu".into(), url: "https://gw.example.com".into(), region: "eu".into() }),
            latency: Some(pbjson_types::Duration { seconds: 0, nanos: 12_000_000 }),
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_whole_lifecycle_over_every_protocol() {
    let server = TestServer::start().await;
    for protocol in ALL {
        let admin = server.client(protocol).await;
        let created = create(&admin, aws_runner("lifecycle")).await.unwrap();
        let id = created.runner.unwrap().runner_id;
        assert_eq!(get(&admin, &id).await.unwrap().status.unwrap().phase, RunnerPhase::Created as i32);

        // The exchange token works once; the access token names the runner.
        let exchanged = exchange(&server, protocol, &created.exchange_token).await.unwrap();
        assert!(exchanged.access_token.starts_with("gpr_"), "{protocol:?}");
        let replay = exchange(&server, protocol, &created.exchange_token).await.unwrap_err();
        assert_eq!(replay.code, "unauthenticated", "{protocol:?}");
        let runner = server.client_as(protocol, Some(&exchanged.access_token)).await;
        let me: GetAuthenticatedIdentityResponse =
            runner.call(&identity("GetAuthenticatedIdentity"), GetAuthenticatedIdentityRequest {}).await.unwrap();
        assert_eq!(me.subject, Some(Subject { id: id.clone(), principal: Principal::Runner as i32 }));
        assert_eq!(me.organization_id, server.org.id.to_string());

        // Status before sign-up is refused; sign-up publishes key, version and capabilities.
        assert_eq!(
            outcome(runner.call::<_, UpdateRunnerStatusResponse>(&ris("UpdateRunnerStatus"), active(&id)).await),
            "failed_precondition"
        );
        let (secret_key, public_key) = generate_runner_keypair();
        let signed: SignupResponse = runner.call(&ris("Signup"), signup(&id, &public_key)).await.unwrap();
        assert_eq!(signed.spec.unwrap().desired_phase, RunnerPhase::Active as i32);
        let seen = get(&admin, &id).await.unwrap().status.unwrap();
        assert_eq!(seen.phase, RunnerPhase::Inactive as i32);
        assert_eq!(seen.public_key, public_key.to_vec());
        assert_eq!(seen.version, "2026.11.1");
        assert_eq!(seen.capabilities.len(), 2);

        // ACTIVE, with the details a user sees.
        let _: UpdateRunnerStatusResponse = runner.call(&ris("UpdateRunnerStatus"), active(&id)).await.unwrap();
        let seen = get(&admin, &id).await.unwrap().status.unwrap();
        assert_eq!((seen.phase, seen.message.as_str()), (RunnerPhase::Active as i32, "all good"));
        assert_eq!(seen.gateway_info.unwrap().latency.unwrap().nanos, 12_000_000);
        assert_eq!(seen.additional_info.len(), 1);

        // The runner reads itself through the management API, and nothing else.
        assert_eq!(get(&runner, &id).await.unwrap().runner_id, id);
        let listed = crate::runners::list(&runner, 100, "", None).await.unwrap();
        assert_eq!(listed.runners.iter().map(|r| r.runner_id.as_str()).collect::<Vec<_>>(), vec![id.as_str()]);

        // A reported schema replaces the default one.
        let mut schema = GetRunnerConfigurationSchemaResponse::default().schema.unwrap_or_default();
        schema.version = "agent-1".into();
        schema.scm.push(runner_configuration_schema::ScmConfigSchema {
            scm_id: "github".into(),
            name: "GitHub".into(),
            default_hosts: vec!["github.com".into()],
            oauth: Some(runner_configuration_schema::OAuth {
                callback_url: "https://runner.example.com/auth/github".into(),
            }),
            pat: Some(runner_configuration_schema::PersonalAccessToken {
                description: "repo, read:user".into(),
                docs_link: "https://docs.github.com/".into(),
            }),
        });
        schema.environment_classes.push(runner_configuration_schema::Field {
            id: "cpu".into(),
            name: "CPUs".into(),
            required: true,
            r#type: Some(runner_configuration_schema::field::Type::Int(runner_configuration_schema::IntField {
                default: 2,
                min: 1,
                max: 16,
            })),
            ..Default::default()
        });
        let req = UpdateRunnerConfigurationSchemaRequest { runner_id: id.clone(), config_schema: Some(schema.clone()) };
        let _: UpdateRunnerConfigurationSchemaResponse =
            runner.call(&ris("UpdateRunnerConfigurationSchema"), req).await.unwrap();
        let got: GetRunnerConfigurationSchemaResponse = admin
            .call(&rcs("GetRunnerConfigurationSchema"), GetRunnerConfigurationSchemaRequest { runner_id: id.clone() })
            .await
            .unwrap();
        assert_eq!(got.schema.unwrap(), schema);

        // An environment class on that schema, listed for the runner.
        let class: CreateEnvironmentClassResponse = admin
            .call(
                &rcs("CreateEnvironmentClass"),
                CreateEnvironmentClassRequest {
                    runner_id: id.clone(),
                    display_name: "Small".into(),
                    description: "two cores".into(),
                    configuration: vec![FieldValue { key: "cpu".into(), value: "2".into() }],
                },
            )
            .await
            .unwrap();
        let classes: ListRunnerEnvironmentClassesResponse = runner
            .call(
                &ris("ListRunnerEnvironmentClasses"),
                ListRunnerEnvironmentClassesRequest { runner_id: id.clone(), pagination: None },
            )
            .await
            .unwrap();
        assert_eq!(classes.environment_classes.iter().map(|c| &c.id).collect::<Vec<_>>(), vec![&class.id]);

        // The OAuth client secret reaches the runner sealed to its key.
        let _: CreateScmIntegrationResponse =
            admin.call(&rcs("CreateSCMIntegration"), github_with_oauth(&id)).await.unwrap();
        let integrations: ListRunnerScmIntegrationsResponse = runner
            .call(
                &ris("ListRunnerSCMIntegrations"),
                ListRunnerScmIntegrationsRequest { runner_id: id.clone(), pagination: None },
            )
            .await
            .unwrap();
        let sealed = &integrations.integrations[0].oauth.as_ref().unwrap().encrypted_client_secret;
        assert_eq!(open_sealed(&secret_key, sealed).unwrap(), b"s3cret-oauth");

        // A host token's value, by id and by host and subject, sealed to the runner.
        let token = CreateHostAuthenticationTokenRequest {
            runner_id: id.clone(),
            host: "github.com".into(),
            token: "ghp_value".into(),
            refresh_token: "ghr_refresh".into(),
            source: HostAuthenticationTokenSource::Oauth as i32,
            subject: Some(Subject { id: server.admin_id.to_string(), principal: Principal::User as i32 }),
            ..Default::default()
        };
        let token_id = admin
            .call::<_, CreateHostAuthenticationTokenResponse>(&rcs("CreateHostAuthenticationToken"), token)
            .await
            .unwrap()
            .token
            .unwrap()
            .id;
        for req in [
            GetHostAuthenticationTokenValueRequest {
                runner_id: id.clone(),
                id: token_id.clone(),
                ..Default::default()
            },
            GetHostAuthenticationTokenValueRequest {
                runner_id: id.clone(),
                host: "github.com".into(),
                subject_id: server.admin_id.to_string(),
                ..Default::default()
            },
        ] {
            let value: GetHostAuthenticationTokenValueResponse =
                runner.call(&ris("GetHostAuthenticationTokenValue"), req).await.unwrap();
            assert_eq!(value.token.unwrap().id, token_id);
            assert_eq!(open_sealed(&secret_key, &value.encrypted_token).unwrap(), b"ghp_value");
            assert_eq!(open_sealed(&secret_key, &value.encrypted_refresh_token).unwrap(), b"ghr_refresh");
        }
        // The runner sees the token's metadata too, but may not delete it.
        let listed: ListHostAuthenticationTokensResponse = runner
            .call(&rcs("ListHostAuthenticationTokens"), ListHostAuthenticationTokensRequest::default())
            .await
            .unwrap();
        assert_eq!(listed.tokens.len(), 1);
        let del = DeleteHostAuthenticationTokenRequest { id: token_id.clone() };
        assert_eq!(
            outcome(
                runner
                    .call::<_, DeleteHostAuthenticationTokenResponse>(&rcs("DeleteHostAuthenticationToken"), del)
                    .await
            ),
            "not_found"
        );

        // The metrics password reaches the runner sealed to its key, never in the spec.
        let password = UpdateRunnerRequest {
            runner_id: id.clone(),
            name: None,
            spec: Some(update_runner_request::Spec {
                configuration: Some(update_runner_request::RunnerConfiguration {
                    metrics: Some(update_runner_request::MetricsConfiguration {
                        password: Some("metrics-pw".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        crate::runners::update(&admin, password).await.unwrap();
        let beat: UpdateRunnerStatusResponse = runner.call(&ris("UpdateRunnerStatus"), active(&id)).await.unwrap();
        assert_eq!(open_sealed(&secret_key, &beat.encrypted_metrics_password).unwrap(), b"metrics-pw");
        let metrics = beat.spec.unwrap().configuration.unwrap().metrics.unwrap();
        assert_eq!(metrics.password, "");

        // A refreshed access token works too.
        let refreshed: RefreshRunnerAccessTokenResponse =
            runner.call(&ris("RefreshRunnerAccessToken"), RefreshRunnerAccessTokenRequest {}).await.unwrap();
        assert_ne!(refreshed.access_token, exchanged.access_token);
        let runner = server.client_as(protocol, Some(&refreshed.access_token)).await;

        // Deletion waits for the runner: DELETING, the heartbeat says so, the runner acknowledges.
        assert_eq!(
            outcome(
                runner
                    .call::<_, MarkRunnerDeletedResponse>(
                        &ris("MarkRunnerDeleted"),
                        MarkRunnerDeletedRequest { runner_id: id.clone() }
                    )
                    .await
            ),
            "failed_precondition"
        );
        crate::runners::delete(&admin, &id, false).await.unwrap();
        assert_eq!(get(&admin, &id).await.unwrap().status.unwrap().phase, RunnerPhase::Deleting as i32);
        let beat: UpdateRunnerStatusResponse = runner.call(&ris("UpdateRunnerStatus"), active(&id)).await.unwrap();
        assert_eq!(beat.spec.unwrap().desired_phase, RunnerPhase::Deleting as i32);
        assert_eq!(get(&admin, &id).await.unwrap().status.unwrap().phase, RunnerPhase::Deleting as i32);
        let _: MarkRunnerDeletedResponse =
            runner.call(&ris("MarkRunnerDeleted"), MarkRunnerDeletedRequest { runner_id: id.clone() }).await.unwrap();
        assert_eq!(get(&admin, &id).await.unwrap_err().code, "not_found");
        // Its credentials went with it.
        assert_eq!(
            outcome(runner.call::<_, UpdateRunnerStatusResponse>(&ris("UpdateRunnerStatus"), active(&id)).await),
            "unauthenticated"
        );
    }
}

#[tokio::test]
async fn only_the_runner_itself_may_call() {
    let server = TestServer::start().await;
    let protocol = Protocol::ConnectJson;
    let a = running_runner(&server, protocol, false).await;
    let b = running_runner(&server, protocol, false).await;
    let admin = server.client(protocol).await;
    let (_, member_token) = server.member("member", OrgRole::Member).await;
    let member = server.client_as(protocol, Some(&member_token)).await;
    let anonymous = server.client_as(protocol, None).await;
    // Runner A acting for runner B: B does not exist for it.
    assert_eq!(
        outcome(a.client.call::<_, UpdateRunnerStatusResponse>(&ris("UpdateRunnerStatus"), active(&b.id)).await),
        "not_found"
    );
    assert_eq!(
        outcome(a.client.call::<_, SignupResponse>(&ris("Signup"), signup(&b.id, &a.public_key)).await),
        "not_found"
    );
    // Users, even the organization admin, are not runners.
    for c in [&admin, &member] {
        assert_eq!(
            outcome(c.call::<_, UpdateRunnerStatusResponse>(&ris("UpdateRunnerStatus"), active(&a.id)).await),
            "permission_denied"
        );
        assert_eq!(
            outcome(
                c.call::<_, RefreshRunnerAccessTokenResponse>(
                    &ris("RefreshRunnerAccessToken"),
                    RefreshRunnerAccessTokenRequest {}
                )
                .await
            ),
            "permission_denied"
        );
    }
    assert_eq!(
        outcome(anonymous.call::<_, SignupResponse>(&ris("Signup"), signup(&a.id, &a.public_key)).await),
        "unauthenticated"
    );
    // The runner reads only itself, and writes nothing on the management API.
    assert_eq!(get(&a.client, &b.id).await.unwrap_err().code, "not_found");
    let rename = UpdateRunnerRequest { runner_id: a.id.clone(), name: Some("mine now".into()), spec: None };
    assert_eq!(outcome(crate::runners::update(&a.client, rename).await), "permission_denied");
    assert_eq!(outcome(create(&a.client, aws_runner("spawned")).await), "permission_denied");
}

#[tokio::test]
async fn bad_runner_side_input_gets_invalid_argument() {
    let server = TestServer::start().await;
    for protocol in [Protocol::ConnectJson, Protocol::Grpc] {
        let r = running_runner(&server, protocol, true).await;
        let bad_signups = [
            ("publicKey", SignupRequest { public_key: vec![1; 31], ..signup(&r.id, &r.public_key) }),
            ("publicKey", SignupRequest { public_key: vec![0; 32], ..signup(&r.id, &r.public_key) }),
            ("version", SignupRequest { version: String::new(), ..signup(&r.id, &r.public_key) }),
            ("runnerId", SignupRequest { runner_id: "nope".into(), ..signup(&r.id, &r.public_key) }),
        ];
        // (An unknown enum number cannot be written as JSON; over gRPC it is sent as is.)
        let unknown_capability = SignupRequest { capabilities: vec![99], ..signup(&r.id, &r.public_key) };
        let bad_signups = bad_signups
            .into_iter()
            .chain((protocol == Protocol::Grpc).then_some(("capabilities[0]", unknown_capability)));
        for (field, req) in bad_signups {
            let f = r.client.call::<_, SignupResponse>(&ris("Signup"), req).await.unwrap_err();
            assert_eq!(
                (f.code.as_str(), f.bad_fields.clone()),
                ("invalid_argument", vec![field.to_owned()]),
                "{protocol:?}"
            );
        }
        let bad_status = [
            ("phase", UpdateRunnerStatusRequest { phase: RunnerPhase::Inactive as i32, ..active(&r.id) }),
            ("phase", UpdateRunnerStatusRequest { phase: 0, ..active(&r.id) }),
            ("logUrl", UpdateRunnerStatusRequest { log_url: "file:///etc/passwd".into(), ..active(&r.id) }),
            (
                "additionalInfo[0].key",
                UpdateRunnerStatusRequest { additional_info: vec![FieldValue::default()], ..active(&r.id) },
            ),
        ];
        for (field, req) in bad_status {
            let f = r.client.call::<_, UpdateRunnerStatusResponse>(&ris("UpdateRunnerStatus"), req).await.unwrap_err();
            assert_eq!(
                (f.code.as_str(), f.bad_fields.clone()),
                ("invalid_argument", vec![field.to_owned()]),
                "{protocol:?}"
            );
        }
        // A schema with a duplicate id and a pattern this server cannot evaluate.
        let field = |id: &str, pattern: &str| runner_configuration_schema::Field {
            id: id.into(),
            r#type: Some(runner_configuration_schema::field::Type::String(runner_configuration_schema::StringField {
                default: String::new(),
                pattern: pattern.into(),
            })),
            ..Default::default()
        };
        let schema = RunnerConfigurationSchema {
            environment_classes: vec![field("a", ""), field("a", ""), field("b", "(?=x)")],
            ..Default::default()
        };
        let req = UpdateRunnerConfigurationSchemaRequest { runner_id: r.id.clone(), config_schema: Some(schema) };
        let f = r
            .client
            .call::<_, UpdateRunnerConfigurationSchemaResponse>(&ris("UpdateRunnerConfigurationSchema"), req)
            .await
            .unwrap_err();
        assert_eq!(f.code, "invalid_argument");
        assert_eq!(
            f.bad_fields,
            vec!["configSchema.environmentClasses[1].id", "configSchema.environmentClasses[2].string.pattern"]
        );
        // Token lookups need exactly one way of naming the token.
        let req = GetHostAuthenticationTokenValueRequest {
            runner_id: r.id.clone(),
            host: "github.com".into(),
            ..Default::default()
        };
        assert_eq!(
            outcome(
                r.client
                    .call::<_, GetHostAuthenticationTokenValueResponse>(&ris("GetHostAuthenticationTokenValue"), req)
                    .await
            ),
            "invalid_argument"
        );
        let req = GetHostAuthenticationTokenValueRequest {
            runner_id: r.id.clone(),
            id: uuid::Uuid::now_v7().to_string(),
            ..Default::default()
        };
        assert_eq!(
            outcome(
                r.client
                    .call::<_, GetHostAuthenticationTokenValueResponse>(&ris("GetHostAuthenticationTokenValue"), req)
                    .await
            ),
            "not_found"
        );
        // Nothing of it stuck: still the first sign-up.
        let admin = server.client(protocol).await;
        let status = get(&admin, &r.id).await.unwrap().status.unwrap();
        assert_eq!((status.phase, status.public_key), (RunnerPhase::Inactive as i32, r.public_key.to_vec()));
        // An exchange without a token, and garbage tokens.
        assert_eq!(exchange(&server, protocol, "").await.unwrap_err().code, "invalid_argument");
        for junk in ["gpx_forged", "x".repeat(600).as_str()] {
            assert_eq!(exchange(&server, protocol, junk).await.unwrap_err().code, "unauthenticated");
        }
    }
}

#[tokio::test]
async fn a_silent_runner_is_shown_inactive_until_it_reports_again() {
    let timings = RunnerTimings { heartbeat_timeout_secs: 1, ..Default::default() };
    let server = TestServer::builder().timings(timings).start().await;
    let protocol = Protocol::ConnectJson;
    let r = running_runner(&server, protocol, false).await;
    let admin = server.client(protocol).await;
    assert_eq!(get(&admin, &r.id).await.unwrap().status.unwrap().phase, RunnerPhase::Active as i32);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let status = get(&admin, &r.id).await.unwrap().status.unwrap();
    assert_eq!(status.phase, RunnerPhase::Inactive as i32);
    assert!(status.message.starts_with("no status report from the runner since "), "{}", status.message);
    assert!(status.message.ends_with("it last reported ACTIVE: all good"), "{}", status.message);
    let listed = crate::runners::list(&admin, 100, "", None).await.unwrap();
    assert_eq!(listed.runners[0].status.as_ref().unwrap().phase, RunnerPhase::Inactive as i32);
    let _: UpdateRunnerStatusResponse = r.client.call(&ris("UpdateRunnerStatus"), active(&r.id)).await.unwrap();
    assert_eq!(get(&admin, &r.id).await.unwrap().status.unwrap().phase, RunnerPhase::Active as i32);
}

#[tokio::test]
async fn access_tokens_expire_and_refresh_before() {
    // Three seconds: the signup, the first report and the refresh below must all fit in the
    // first token's life on a loaded machine (one second did not, under load).
    let timings = RunnerTimings { access_token_ttl_secs: 3, ..Default::default() };
    let server = TestServer::builder().timings(timings).start().await;
    let protocol = Protocol::Grpc;
    let r = running_runner(&server, protocol, false).await;
    let fresh: RefreshRunnerAccessTokenResponse =
        r.client.call(&ris("RefreshRunnerAccessToken"), RefreshRunnerAccessTokenRequest {}).await.unwrap();
    tokio::time::sleep(Duration::from_millis(3100)).await;
    // Both expired by now: the runner needs a new exchange token.
    let late = server.client_as(protocol, Some(&fresh.access_token)).await;
    for c in [&r.client, &late] {
        assert_eq!(
            outcome(c.call::<_, UpdateRunnerStatusResponse>(&ris("UpdateRunnerStatus"), active(&r.id)).await),
            "unauthenticated"
        );
    }
    let token = runner_access_token(&server, protocol, &r.id).await;
    let again = server.client_as(protocol, Some(&token)).await;
    let _: UpdateRunnerStatusResponse = again.call(&ris("UpdateRunnerStatus"), active(&r.id)).await.unwrap();
}

#[tokio::test]
async fn concurrent_exchanges_of_one_token_succeed_once() {
    let server = TestServer::start().await;
    let admin = server.client(Protocol::ConnectJson).await;
    let created = create(&admin, aws_runner("raced")).await.unwrap();
    let attempts = ALL.iter().cycle().take(12).map(|p| exchange(&server, *p, &created.exchange_token));
    let results = futures::future::join_all(attempts).await;
    let codes: Vec<String> = results.into_iter().map(outcome).collect();
    assert_eq!(codes.iter().filter(|c| *c == "ok").count(), 1, "{codes:?}");
    assert!(codes.iter().all(|c| c == "ok" || c == "unauthenticated"), "{codes:?}");
}

#[tokio::test]
async fn force_delete_does_not_wait_for_the_runner() {
    let server = TestServer::start().await;
    let protocol = Protocol::ConnectJson;
    let r = running_runner(&server, protocol, false).await;
    let admin = server.client(protocol).await;
    crate::runners::delete(&admin, &r.id, true).await.unwrap();
    assert_eq!(get(&admin, &r.id).await.unwrap_err().code, "not_found");
    assert_eq!(
        outcome(r.client.call::<_, UpdateRunnerStatusResponse>(&ris("UpdateRunnerStatus"), active(&r.id)).await),
        "unauthenticated"
    );
}

#[tokio::test]
async fn exchange_tokens_name_their_runner() {
    let server = TestServer::start().await;
    let admin = server.client(Protocol::Grpc).await;
    let created = create(&admin, aws_runner("named")).await.unwrap();
    let id: uuid::Uuid = created.runner.unwrap().runner_id.parse().unwrap();
    assert!(created.exchange_token.starts_with(&format!("gpx_{}_", id.simple())), "{}", created.exchange_token);
    assert_eq!(runner_core::secrets::exchange_token_runner(&created.exchange_token), Some(id));
    let minted: CreateRunnerTokenResponse =
        admin.call(&rs("CreateRunnerToken"), CreateRunnerTokenRequest { runner_id: id.to_string() }).await.unwrap();
    assert_eq!(runner_core::secrets::exchange_token_runner(&minted.exchange_token), Some(id));
    assert_ne!(minted.exchange_token, created.exchange_token);
}

#[tokio::test]
async fn a_new_exchange_supersedes_the_earlier_sign_up() {
    let server = TestServer::start().await;
    for protocol in ALL {
        let first = running_runner(&server, protocol, false).await;
        let refreshed: RefreshRunnerAccessTokenResponse =
            first.client.call(&ris("RefreshRunnerAccessToken"), RefreshRunnerAccessTokenRequest {}).await.unwrap();
        let first_refreshed = server.client_as(protocol, Some(&refreshed.access_token)).await;

        // A second process redeems a new exchange token of the runner: the first sign-up, its
        // refreshed token included, stops working, and says why.
        let second = server.client_as(protocol, Some(&runner_access_token(&server, protocol, &first.id).await)).await;
        let _: UpdateRunnerStatusResponse = second.call(&ris("UpdateRunnerStatus"), active(&first.id)).await.unwrap();
        for old in [&first.client, &first_refreshed] {
            let f = old.call::<_, UpdateRunnerStatusResponse>(&ris("UpdateRunnerStatus"), active(&first.id)).await;
            let f = f.unwrap_err();
            assert_eq!(f.code, "unauthenticated", "{protocol:?}");
            assert!(f.message.starts_with("runner access token superseded: another runner process signed up"), "{f:?}");
            assert!(f.message.contains(&first.id), "{f:?}");
            let refresh = old
                .call::<_, RefreshRunnerAccessTokenResponse>(
                    &ris("RefreshRunnerAccessToken"),
                    RefreshRunnerAccessTokenRequest {},
                )
                .await;
            assert_eq!(outcome(refresh), "unauthenticated", "{protocol:?}");
        }
        // The new one refreshes within its own sign-up.
        let renewed: RefreshRunnerAccessTokenResponse =
            second.call(&ris("RefreshRunnerAccessToken"), RefreshRunnerAccessTokenRequest {}).await.unwrap();
        let renewed = server.client_as(protocol, Some(&renewed.access_token)).await;
        let _: UpdateRunnerStatusResponse = renewed.call(&ris("UpdateRunnerStatus"), active(&first.id)).await.unwrap();
    }
}

#[tokio::test]
async fn earlier_exchange_tokens_work_until_one_of_them_is_redeemed() {
    let server = TestServer::start().await;
    let protocol = Protocol::ConnectJson;
    let admin = server.client(protocol).await;
    let created = create(&admin, aws_runner("tokens")).await.unwrap();
    let id = created.runner.unwrap().runner_id;
    let mint = || async {
        let minted: CreateRunnerTokenResponse =
            admin.call(&rs("CreateRunnerToken"), CreateRunnerTokenRequest { runner_id: id.clone() }).await.unwrap();
        minted.exchange_token
    };
    // Issuing a new one leaves the earlier ones valid (the real API documents it)…
    let (second, third) = (mint().await, mint().await);
    exchange(&server, protocol, &second).await.unwrap();
    // …but redeeming one spends every other unused one.
    for spent in [&created.exchange_token, &third] {
        assert_eq!(outcome(exchange(&server, protocol, spent).await), "unauthenticated");
    }
}

/// The `state` query value of an authorization URL (base64url and `.`: never escaped).
fn state_of(auth_url: &str) -> String {
    let query = auth_url.split_once('?').unwrap().1;
    query.split('&').find_map(|p| p.strip_prefix("state=")).unwrap().to_owned()
}

async fn check_state(c: &Client, runner_id: &str, state: &str) -> Result<CheckOauthStateResponse, Failure> {
    let req = CheckOauthStateRequest { runner_id: runner_id.to_owned(), state: state.to_owned() };
    c.call(&ris("CheckOauthState"), req).await
}

#[tokio::test]
async fn oauth_states_are_checked_for_their_runner() {
    let server = TestServer::start().await;
    let protocol = Protocol::ConnectJson;
    let admin = server.client(protocol).await;
    let r = running_runner(&server, protocol, false).await;
    let other = running_runner(&server, protocol, false).await;
    let integration = admin
        .call::<_, CreateScmIntegrationResponse>(&rcs("CreateSCMIntegration"), github_with_oauth(&r.id))
        .await
        .unwrap()
        .id;
    let check: CheckAuthenticationForHostResponse = admin
        .call(
            &rs("CheckAuthenticationForHost"),
            CheckAuthenticationForHostRequest { runner_id: r.id.clone(), host: "github.com".into() },
        )
        .await
        .unwrap();
    let state = state_of(&check.supports_oauth2.unwrap().auth_url);
    // The runner learns whose authorization it is and where to exchange the code.
    let checked = check_state(&r.client, &r.id, &state).await.unwrap();
    assert_eq!(checked.subject, Some(Subject { id: server.admin_id.to_string(), principal: Principal::User as i32 }));
    assert_eq!((checked.host.as_str(), checked.scm_id.as_str()), ("github.com", "github"));
    assert_eq!(checked.integration_id, integration);
    assert_eq!(checked.token_url, "https://github.com/login/oauth/access_token");
    assert!(!checked.client_secret_basic);
    assert!(checked.redirect_uri.ends_with(&format!("/auth/github/callback?runner={}", r.id)), "{checked:?}");
    assert!(checked.expires_at.is_some());

    // Not for another runner, not for users, not altered.
    let f = check_state(&other.client, &other.id, &state).await.unwrap_err();
    assert_eq!((f.code.as_str(), f.bad_fields.as_slice()), ("invalid_argument", ["state".to_owned()].as_slice()));
    assert!(f.message.contains("signed for another runner"), "{f:?}");
    assert_eq!(outcome(check_state(&other.client, &r.id, &state).await), "not_found");
    assert_eq!(outcome(check_state(&admin, &r.id, &state).await), "permission_denied");
    for bad in ["", "x", &format!("{state}x")] {
        assert_eq!(check_state(&r.client, &r.id, bad).await.unwrap_err().bad_fields, ["state"], "{bad}");
    }

    // What the provider gave becomes the admin's token, replacing the admin's PAT for the host.
    let pat = CreateHostAuthenticationTokenRequest {
        runner_id: r.id.clone(),
        host: "github.com".into(),
        token: "ghp_pasted".into(),
        source: HostAuthenticationTokenSource::Pat as i32,
        subject: Some(Subject { id: server.admin_id.to_string(), principal: Principal::User as i32 }),
        ..Default::default()
    };
    let _: CreateHostAuthenticationTokenResponse =
        admin.call(&rcs("CreateHostAuthenticationToken"), pat).await.unwrap();
    let store = |state: &str, token: &str| StoreOauthHostTokenRequest {
        runner_id: r.id.clone(),
        state: state.to_owned(),
        token: token.to_owned(),
        refresh_token: "ghr_refresh".into(),
        expires_at: Some(gitpod_api::wkt::Timestamp { seconds: 4_102_444_800, nanos: 0 }),
        scopes: vec!["repo".into()],
    };
    let stored: StoreOauthHostTokenResponse =
        r.client.call(&ris("StoreOauthHostToken"), store(&state, "gho_from_oauth")).await.unwrap();
    let stored = stored.token.unwrap();
    assert_eq!(stored.source, HostAuthenticationTokenSource::Oauth as i32);
    assert_eq!(stored.scopes, ["repo"]);
    let listed: ListHostAuthenticationTokensResponse =
        admin.call(&rcs("ListHostAuthenticationTokens"), ListHostAuthenticationTokensRequest::default()).await.unwrap();
    assert_eq!(listed.tokens.len(), 1, "one token per user and host: {listed:?}");
    assert_eq!(listed.tokens[0].source, HostAuthenticationTokenSource::Oauth as i32);
    let value: GetHostAuthenticationTokenValueResponse = r
        .client
        .call(
            &ris("GetHostAuthenticationTokenValue"),
            GetHostAuthenticationTokenValueRequest { runner_id: r.id.clone(), id: stored.id, ..Default::default() },
        )
        .await
        .unwrap();
    assert!(!value.encrypted_refresh_token.is_empty());
    // Storing needs the same checks; users may not store this way.
    let f = other.client.call::<_, StoreOauthHostTokenResponse>(&ris("StoreOauthHostToken"), store(&state, "t")).await;
    assert_eq!(outcome(f), "not_found");
    let f = admin.call::<_, StoreOauthHostTokenResponse>(&ris("StoreOauthHostToken"), store(&state, "t")).await;
    assert_eq!(outcome(f), "permission_denied");
    let f = r.client.call::<_, StoreOauthHostTokenResponse>(&ris("StoreOauthHostToken"), store(&state, "")).await;
    assert_eq!(f.unwrap_err().bad_fields, ["token"]);

    // Once the integration has no OAuth any more, its states are of no use.
    let update =
        UpdateScmIntegrationRequest { id: integration, oauth_client_id: Some(String::new()), ..Default::default() };
    let _: UpdateScmIntegrationResponse = admin.call(&rcs("UpdateSCMIntegration"), update).await.unwrap();
    assert_eq!(outcome(check_state(&r.client, &r.id, &state).await), "failed_precondition");
}
