//! Two replicas of the server on one PostgreSQL, as behind a load balancer: a page token of
//! one works on the other, an exchange token redeems once across both, and uniqueness holds
//! whichever replica writes. (Skipped, with one line on stderr, where no PostgreSQL is
//! reachable; CI requires it.)

use gitpod_api::gitpod::v1::*;
use runner_server::MountOptions;
use runner_server::state::RunnerTimings;
use runner_store::testing::PgSchema;

use crate::common::{Client, Protocol, TestServer, outcome};
use crate::runner_side::exchange;
use crate::runners::{aws_runner, create, list};

#[tokio::test]
async fn postgres_two_replicas_serve_one_deployment() {
    let Some(schema) = PgSchema::create("postgres_two_replicas_serve_one_deployment").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let a = TestServer::start_on(schema.store().await, dir, MountOptions::default(), RunnerTimings::default()).await;
    let b_server = a.replica(schema.store().await).await;
    for protocol in [Protocol::ConnectJson, Protocol::Grpc] {
        let on_a = a.client(protocol).await;
        let on_b = Client::new(protocol, &b_server.base_url(), Some(&a.admin_token)).await;

        // Paging across replicas: page tokens are signed with the deployment's shared key.
        let mut created = Vec::new();
        for i in 0..5 {
            let c = if i % 2 == 0 { &on_a } else { &on_b };
            created.push(create(c, aws_runner(&format!("replicated {i}"))).await.unwrap().runner.unwrap().runner_id);
        }
        let (mut seen, mut token, mut turn) = (Vec::new(), String::new(), 0);
        loop {
            let c = if turn % 2 == 0 { &on_a } else { &on_b };
            let page = list(c, 2, &token, None).await.unwrap();
            seen.extend(page.runners.into_iter().map(|r| r.runner_id));
            token = page.pagination.unwrap_or_default().next_token;
            turn += 1;
            if token.is_empty() {
                break;
            }
        }
        let mine: Vec<&String> = seen.iter().filter(|id| created.contains(id)).collect();
        assert_eq!(mine, created.iter().collect::<Vec<_>>(), "{protocol:?}: every runner once, in order");
        assert!(turn >= 3);

        // An exchange token works once, on whichever replica it reaches first.
        let minted = create(&on_b, aws_runner("exchanged")).await.unwrap();
        let attempts = [&a.url(), &b_server.base_url()].map(|base| {
            let token = minted.exchange_token.clone();
            let base = base.clone();
            async move {
                let anonymous = Client::new(protocol, &base, None).await;
                anonymous
                    .call::<_, ExchangeTokenResponse>(
                        "/gitpod.v1.IdentityService/ExchangeToken",
                        ExchangeTokenRequest { exchange_token: token },
                    )
                    .await
            }
        });
        let results = futures::future::join_all(attempts).await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{protocol:?}");
        assert!(exchange(&a, protocol, &minted.exchange_token).await.is_err());

        // One SCM integration per runner and host, across replicas.
        let runner_id = minted.runner.unwrap().runner_id;
        let scm = || CreateScmIntegrationRequest {
            runner_id: runner_id.clone(),
            scm_id: "github".into(),
            host: "github.com".into(),
            pat: true,
            ..Default::default()
        };
        let path = "/gitpod.v1.RunnerConfigurationService/CreateSCMIntegration";
        let (x, y) = tokio::join!(
            on_a.call::<_, CreateScmIntegrationResponse>(path, scm()),
            on_b.call::<_, CreateScmIntegrationResponse>(path, scm())
        );
        let codes: Vec<String> = [outcome(x), outcome(y)].into();
        let mut sorted = codes.clone();
        sorted.sort();
        assert_eq!(sorted, ["already_exists", "ok"], "{protocol:?}");
    }
    b_server.shutdown().await.unwrap();
    schema.drop_schema().await;
}
