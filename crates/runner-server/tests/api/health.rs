//! Health follows the database: a real PostgreSQL outage (the database stops accepting
//! connections and its sessions are ended) turns `/readyz` to 503 and every gRPC health status
//! to NOT_SERVING, and its end turns them back. `/healthz` stays 200 throughout: the process is
//! alive, it just cannot do real work. Draining (the start of a shutdown) turns them at once.

use std::time::{Duration, Instant};

use gitpod_api::tonic;
use runner_server::MountOptions;
use sqlx::ConnectOptions;
use tonic_health::pb::health_check_response::ServingStatus;

use runner_testkit::TestServer;

async fn status(server: &TestServer) -> (u16, u16, i32) {
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", server.url())).send();
    let healthz = get("/healthz").await.unwrap().status().as_u16();
    let readyz = get("/readyz").await.unwrap().status().as_u16();
    let channel = tonic::transport::Endpoint::from_shared(server.url()).unwrap().connect().await.unwrap();
    let grpc = tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest { service: "gitpod.v1.RunnerService".into() })
        .await
        // Not registered yet: the monitor has not reported its first result.
        .map_or(-1, |r| r.into_inner().status);
    (healthz, readyz, grpc)
}

async fn wait_for(server: &TestServer, want: (u16, u16, i32)) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = status(server).await;
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "expected {want:?}, still {got:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn health_flips_with_a_postgres_outage() {
    // A database of its own, so that closing it disturbs nothing else.
    let Some(schema) = runner_store::testing::PgSchema::create("health_flips_with_a_postgres_outage").await else {
        return;
    };
    schema.drop_schema().await;
    let admin_options: sqlx::postgres::PgConnectOptions = runner_store::testing::postgres_url().parse().unwrap();
    let mut admin = admin_options.connect().await.unwrap();
    let db = format!("health_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {db}")).execute(&mut admin).await.unwrap();
    let store = runner_store::PostgresStore::open_with(admin_options.clone().database(&db)).await.unwrap();
    let options = MountOptions { health_interval: Duration::from_millis(100), ..Default::default() };
    let server = TestServer::builder().store(std::sync::Arc::new(store)).mount(options).start().await;
    let serving = ServingStatus::Serving as i32;
    wait_for(&server, (200, 200, serving)).await;

    // The outage.
    sqlx::query(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS false")).execute(&mut admin).await.unwrap();
    sqlx::query(&format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"))
        .execute(&mut admin)
        .await
        .unwrap();
    wait_for(&server, (200, 503, ServingStatus::NotServing as i32)).await;
    // Calls get `unavailable`, which clients retry, rather than an internal error.
    let c = server.client(runner_testkit::Protocol::ConnectJson).await;
    let f = crate::runners::list(&c, 0, "", None).await.unwrap_err();
    assert_eq!(f.code, "unavailable", "{f:?}");

    // And back.
    sqlx::query(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true")).execute(&mut admin).await.unwrap();
    wait_for(&server, (200, 200, serving)).await;
    assert!(crate::runners::list(&c, 0, "", None).await.is_ok());

    server.server.shutdown().await.unwrap();
    sqlx::query(&format!("DROP DATABASE {db} WITH (FORCE)")).execute(&mut admin).await.unwrap();
}

#[tokio::test]
async fn draining_is_not_serving_at_once() {
    let server = TestServer::start().await;
    wait_for(&server, (200, 200, ServingStatus::Serving as i32)).await;
    // What SIGTERM does first: the health turns before the listener closes.
    server.health.begin_draining();
    wait_for(&server, (200, 503, ServingStatus::NotServing as i32)).await;
}
