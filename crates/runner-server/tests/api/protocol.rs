//! Transport behaviour that every RPC shares: the exact Connect JSON shape, the `/api` prefix,
//! paging from the query string, compression, deadlines, CORS, health and shutdown. (The
//! server's limits, message size included, are tested on the binary: tests/binary/transport.rs.)

use std::time::{Duration, Instant};

use bytes::Bytes;
use gitpod_api::gitpod::v1::*;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use prost::Message;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::runners::aws_runner;
use runner_testkit::{ALL, PUBLIC_URL, TestServer, rs};

async fn post_json(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    server.post_json_as(&server.admin_token, path, body).await
}

/// Every object key, recursively.
fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn connect_json_has_the_proto3_json_shape() {
    let server = TestServer::start().await;
    // Enums by name and by number; unknown fields are ignored.
    let (status, by_name) = post_json(&server,
        &rs("CreateRunner"),
        json!({"name": "By Name", "provider": "RUNNER_PROVIDER_GCP", "spec": {"desiredPhase": "RUNNER_PHASE_INACTIVE"}, "someFutureField": 1}),
    )
    .await;
    assert_eq!(status, 200, "{by_name}");
    let (status, by_number) = post_json(
        &server,
        &rs("CreateRunner"),
        json!({"name": "By Number", "provider": 5, "spec": {"desiredPhase": 2}}),
    )
    .await;
    assert_eq!(status, 200, "{by_number}");
    for created in [&by_name, &by_number] {
        let r = &created["runner"];
        assert_eq!(r["provider"], "RUNNER_PROVIDER_GCP");
        assert_eq!(r["kind"], "RUNNER_KIND_REMOTE");
        assert_eq!(r["status"]["phase"], "RUNNER_PHASE_CREATED");
        assert_eq!(r["spec"]["desiredPhase"], "RUNNER_PHASE_INACTIVE");
        assert_eq!(r["spec"]["configuration"]["releaseChannel"], "RUNNER_RELEASE_CHANNEL_STABLE");
        let created_at = r["createdAt"].as_str().unwrap();
        assert!(
            created_at.len() >= 20
                && created_at.as_bytes()[10] == b'T'
                && created_at.ends_with('Z')
                && !created_at.contains('+'),
            "RFC 3339, Z-normalized: {created_at}"
        );
        assert!(created["exchangeToken"].as_str().unwrap().len() > 40);
        assert!(created.get("accessToken").is_none(), "empty strings are omitted");
        let mut all = Vec::new();
        keys(created, &mut all);
        assert!(all.iter().all(|k| !k.contains('_')), "camelCase only: {all:?}");
    }
    // Other fields round-trip under their camelCase names.
    let id = by_name["runner"]["runnerId"].as_str().unwrap();
    let (status, empty) = post_json(&server,
        &rs("UpdateRunner"),
        json!({"runnerId": id, "spec": {"configuration": {"autoUpdate": true, "logLevel": "LOG_LEVEL_WARN", "updateWindow": {"startHour": 1}}}}),
    )
    .await;
    assert_eq!((status, &empty), (200, &json!({})), "empty responses are {{}}");
    let (_, got) = post_json(&server, &rs("GetRunner"), json!({"runnerId": id})).await;
    let cfg = &got["runner"]["spec"]["configuration"];
    assert_eq!(cfg["logLevel"], "LOG_LEVEL_WARN");
    assert_eq!(cfg["autoUpdate"], true);
    assert_eq!(cfg["updateWindow"], json!({"startHour": 1, "endHour": 3}));
    // Unknown enum names and wrong types are the caller's error.
    let (status, err) =
        post_json(&server, &rs("CreateRunner"), json!({"name": "Bad Enum", "provider": "RUNNER_PROVIDER_MOON"})).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("invalid_argument")), "{err}");
    let (status, err) = post_json(&server, &rs("CreateRunner"), json!({"name": "Bad Number", "provider": 42})).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("invalid_argument")), "{err}");
    let (status, err) = post_json(&server, &rs("GetRunner"), json!({"runnerId": 12})).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("invalid_argument")), "{err}");
    // Errors: Connect JSON body, HTTP status from the code.
    let (status, err) =
        post_json(&server, &rs("GetRunner"), json!({"runnerId": uuid::Uuid::now_v7().to_string()})).await;
    assert_eq!(status, 404);
    assert_eq!(err["code"], "not_found");
    assert!(err["message"].as_str().unwrap().contains("not found"));
    let (status, empty) = post_json(&server, &rs("DeleteRunner"), json!({"runnerId": id})).await;
    assert_eq!((status, empty), (200, json!({})));
}

#[tokio::test]
async fn conflicts_tell_the_sdks_not_to_retry() {
    let server = TestServer::start().await;
    let (_, created) =
        post_json(&server, &rs("CreateRunner"), json!({"name": "Retry Runner", "provider": "RUNNER_PROVIDER_GCP"}))
            .await;
    let runner = created["runner"]["runnerId"].as_str().unwrap().to_owned();
    let group = server.identity.create_group(server.org.id, "team").await.unwrap();
    let body = json!({"runnerId": runner, "groupId": group.id.to_string(), "role": "RUNNER_ROLE_USER"});
    let send = || {
        reqwest::Client::new()
            .post(format!("{}{}", server.url(), rs("CreateRunnerPolicy")))
            .bearer_auth(&server.admin_token)
            .json(&body)
            .send()
    };
    assert_eq!(send().await.unwrap().status().as_u16(), 200);
    let again = send().await.unwrap();
    assert_eq!(again.status().as_u16(), 409);
    assert_eq!(again.headers()["x-should-retry"], "false");
}

#[tokio::test]
async fn empty_pages_name_their_items_key_in_json() {
    // The Stainless SDKs' strict mode needs the key; proto3 JSON alone would leave it out.
    let server = TestServer::start().await;
    let empty = [
        ("/gitpod.v1.RunnerService/ListRunners", "runners"),
        ("/gitpod.v1.RunnerConfigurationService/ListEnvironmentClasses", "environmentClasses"),
        ("/gitpod.v1.RunnerConfigurationService/ListSCMIntegrations", "integrations"),
        ("/gitpod.v1.RunnerConfigurationService/ListHostAuthenticationTokens", "tokens"),
    ];
    for (path, key) in empty {
        let (status, body) = post_json(&server, path, json!({})).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body[key], json!([]), "{path}: {body}");
    }
    // Non-list answers and errors are untouched.
    let (_, body) = post_json(&server, &rs("GetRunner"), json!({"runnerId": "x"})).await;
    assert!(body.get("runners").is_none() && body["code"] == "invalid_argument");
}

#[tokio::test]
async fn connect_paging_reads_the_query_string_and_the_api_prefix() {
    let server = TestServer::start().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let (_, created) = post_json(
            &server,
            "/api/gitpod.v1.RunnerService/CreateRunner",
            json!({"name": format!("runner {i}"), "provider": "RUNNER_PROVIDER_GCP"}),
        )
        .await;
        ids.push(created["runner"]["runnerId"].as_str().unwrap().to_owned());
    }
    // The Stainless SDKs re-send the same body and add ?token= for the next page.
    let body = json!({"pagination": {"pageSize": 50}});
    let mut seen = Vec::new();
    let mut query = "?pageSize=1".to_owned();
    loop {
        let (status, page) =
            post_json(&server, &format!("/api/gitpod.v1.RunnerService/ListRunners{query}"), body.clone()).await;
        assert_eq!(status, 200, "{page}");
        let runners = page["runners"].as_array().unwrap();
        assert_eq!(runners.len(), 1, "query pageSize wins over the body");
        seen.push(runners[0]["runnerId"].as_str().unwrap().to_owned());
        match page["pagination"]["nextToken"].as_str() {
            Some(t) if !t.is_empty() => query = format!("?pageSize=1&token={}", urlencode(t)),
            _ => break,
        }
    }
    assert_eq!(seen, ids);
    let (status, err) = post_json(&server, &format!("{}?pageSize=many", rs("ListRunners")), json!({})).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("invalid_argument")));
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn connect_headers_and_compression() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let url = format!("{}{}", server.url(), rs("ListRunners"));
    // Connect-Protocol-Version is optional; when present it must be 1.
    for (version, expect) in [(None, 200), (Some("1"), 200), (Some("2"), 400)] {
        let mut req =
            http.post(&url).bearer_auth(&server.admin_token).header("content-type", "application/json").body("{}");
        if let Some(v) = version {
            req = req.header("connect-protocol-version", v);
        }
        assert_eq!(req.send().await.unwrap().status().as_u16(), expect, "{version:?}");
    }
    // A compression we do not speak: a Connect `unimplemented` error, not a bare 415.
    let response = http
        .post(&url)
        .bearer_auth(&server.admin_token)
        .header("content-type", "application/json")
        .header("content-encoding", "br")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 501);
    let err: Value = response.json().await.unwrap();
    assert_eq!(err["code"], "unimplemented");
    assert!(err["message"].as_str().unwrap().contains("br"));
    // gzip works both ways.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, br#"{"pagination":{"pageSize":5}}"#).unwrap();
    let response = http
        .post(&url)
        .bearer_auth(&server.admin_token)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // Binary Connect answers with application/proto.
    let response = http
        .post(&url)
        .bearer_auth(&server.admin_token)
        .header("content-type", "application/proto")
        .body(Vec::new())
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/proto");
    ListRunnersResponse::decode(response.bytes().await.unwrap()).unwrap();
}

/// A request body that the test feeds by hand, to hold a call open.
fn held_body()
-> (mpsc::Sender<Bytes>, StreamBody<impl futures::Stream<Item = Result<Frame<Bytes>, std::convert::Infallible>>>) {
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx).map(|b| Ok(Frame::data(b)));
    (tx, StreamBody::new(stream))
}

use futures::StreamExt;

fn grpc_frame(msg: &impl Message) -> Bytes {
    let body = msg.encode_to_vec();
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    framed.into()
}

#[tokio::test]
async fn grpc_timeout_is_enforced_even_while_the_body_is_still_coming() {
    let server = TestServer::start().await;
    let client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).http2_only(true).build_http();
    for content_type in ["application/grpc", "application/grpc-web+proto"] {
        let (_tx, body) = held_body();
        let req = http::Request::post(format!("{}{}", server.url(), rs("ListRunners")))
            .header("content-type", content_type)
            .header("te", "trailers")
            .header("authorization", format!("Bearer {}", server.admin_token))
            .header("grpc-timeout", "200m")
            .body(body)
            .unwrap();
        let started = Instant::now();
        let response =
            tokio::time::timeout(Duration::from_secs(10), client.request(req)).await.expect("answered").unwrap();
        assert!(started.elapsed() >= Duration::from_millis(190), "{:?}", started.elapsed());
        let status = response.headers().get("grpc-status").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(status.as_deref(), Some("4"), "{content_type}: DEADLINE_EXCEEDED");
    }
    // A malformed timeout is refused, not ignored.
    let req = http::Request::post(format!("{}{}", server.url(), rs("ListRunners")))
        .header("content-type", "application/grpc")
        .header("grpc-timeout", "soon")
        .header("authorization", format!("Bearer {}", server.admin_token))
        .body(Full::new(grpc_frame(&ListRunnersRequest::default())))
        .unwrap();
    let client2 =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).http2_only(true).build_http();
    let response = client2.request(req).await.unwrap();
    assert_eq!(response.headers()["grpc-status"], "3");
}

#[tokio::test]
async fn connect_timeout_is_enforced() {
    let server = TestServer::start().await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let (_tx, body) = held_body();
    let req = http::Request::post(format!("{}{}", server.url(), rs("ListRunners")))
        .header("content-type", "application/json")
        .header("connect-timeout-ms", "200")
        .header("authorization", format!("Bearer {}", server.admin_token))
        .body(body)
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(req)).await.expect("answered").unwrap();
    assert_eq!(response.status().as_u16(), 504);
    let body: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["code"], "deadline_exceeded");
}

#[tokio::test]
async fn grpc_web_text_and_cors_preflight() {
    let server = TestServer::start().await;
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/api{}", server.url(), rs("ListRunners")))
        .bearer_auth(&server.admin_token)
        .header("content-type", "application/grpc-web-text")
        .header("origin", "http://console.example")
        .body(b64.encode(grpc_frame(&ListRunnersRequest::default())))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "http://console.example");
    let expose = response.headers()["access-control-expose-headers"].to_str().unwrap().to_owned();
    assert!(expose.contains("grpc-status") && expose.contains("grpc-message"), "{expose}");
    // The text form may be several base64 runs, each padded: decode quantum by quantum.
    let text = response.bytes().await.unwrap();
    let raw: Vec<u8> = text.chunks(4).flat_map(|q| b64.decode(q).unwrap()).collect();
    assert_eq!(raw[0], 0, "a data frame first");
    let len = u32::from_be_bytes(raw[1..5].try_into().unwrap()) as usize;
    ListRunnersResponse::decode(&raw[5..5 + len]).unwrap();
    assert_eq!(raw[5 + len], 0x80, "then the trailers frame");
    assert!(String::from_utf8_lossy(&raw[5 + len + 5..]).contains("grpc-status:0"));

    let preflight = http
        .request(reqwest::Method::OPTIONS, format!("{}{}", server.url(), rs("GetRunner")))
        .header("origin", "http://console.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-grpc-web,connect-protocol-version")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 200);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "http://console.example");
    let allowed = preflight.headers()["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("x-grpc-web") && allowed.contains("connect-protocol-version"), "{allowed}");
}

#[tokio::test]
async fn health_is_served_over_grpc() {
    let server = TestServer::start().await;
    let channel = tonic::transport::Endpoint::from_shared(server.url()).unwrap().connect().await.unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    for service in ["", "gitpod.v1.RunnerService", "gitpod.v1.RunnerConfigurationService"] {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let status = health
                .check(tonic_health::pb::HealthCheckRequest { service: service.into() })
                .await
                .map(|r| r.into_inner().status)
                .ok();
            if status == Some(tonic_health::pb::health_check_response::ServingStatus::Serving as i32) {
                break;
            }
            assert!(Instant::now() < deadline, "{service}: {status:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn health_is_served_over_connect_too() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let url = format!("{}/grpc.health.v1.Health/Check", server.url());
    let check = |service: &str| tonic_health::pb::HealthCheckRequest { service: service.into() }.encode_to_vec();
    // NOT_SERVING until the health monitor's first database ping; then SERVING.
    let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
    let mut status = None;
    for _ in 0..50 {
        let response = http
            .post(&url)
            .bearer_auth(&server.admin_token)
            .header("content-type", "application/proto")
            .body(check(""))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["content-type"], "application/proto");
        let answer = tonic_health::pb::HealthCheckResponse::decode(response.bytes().await.unwrap()).unwrap();
        status = Some(answer.status);
        if answer.status == serving {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, Some(serving));
    let response = http
        .post(&url)
        .bearer_auth(&server.admin_token)
        .header("content-type", "application/proto")
        .body(check("no.such.Service"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let err: Value = response.json().await.unwrap();
    assert_eq!(err["code"], "not_found");
}

#[tokio::test]
async fn shutdown_lets_calls_in_flight_finish() {
    let server = TestServer::start().await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let (tx, body) = held_body();
    let req = http::Request::post(format!("{}{}", server.url(), rs("CreateRunner")))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", server.admin_token))
        .body(body)
        .unwrap();
    let call = tokio::spawn(client.request(req));
    let json = serde_json::to_vec(&aws_runner("In Flight")).unwrap();
    tx.send(Bytes::copy_from_slice(&json[..10])).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let TestServer { server, dir: _dir, .. } = server;
    let stopping = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!stopping.is_finished(), "waits for the call in flight");
    tx.send(Bytes::copy_from_slice(&json[10..])).await.unwrap();
    drop(tx);
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    tokio::time::timeout(Duration::from_secs(10), stopping).await.unwrap().unwrap().unwrap();
}

/// Methods of the served services that have no handler yet: `unimplemented` (HTTP 501).
const UNSERVED_METHODS: [&str; 0] = [];

/// Services in the descriptor set that have no handler yet: their calls are `unimplemented`.
const UNSERVED_SERVICES: [&str; 0] = [];

#[tokio::test]
async fn every_rpc_of_every_service_is_served_on_every_protocol() {
    // All 37 RPCs of the runner services, IdentityService's 3, GroupService's 14,
    // ServiceAccountService's 10, UserService's 8, OrganizationService's 7, its five SSO
    // configuration methods and four invitation methods, EventService's 3, AccountService's 4,
    // and the 10 of our runner side are mounted for every protocol: an
    // empty request gets an answer of the RPC itself (here mostly invalid_argument), never a
    // missing route or `unimplemented`. (The empty message type stands in for every request and
    // response: it ignores unknown fields.)
    let server = TestServer::start().await;
    let pool = prost_reflect::DescriptorPool::decode(gitpod_api::FILE_DESCRIPTOR_SET).unwrap();
    let mut methods = Vec::new();
    for name in runner_server::mount::SERVED_SERVICES {
        for m in pool.get_service_by_name(name).unwrap().methods() {
            let path = format!("/{name}/{}", m.name());
            if UNSERVED_METHODS.contains(&path.as_str()) {
                assert!(!runner_server::mount::is_served(&path), "{path} is served: take it off UNSERVED_METHODS");
                continue;
            }
            methods.push((path, m.is_server_streaming()));
        }
    }
    assert_eq!(methods.len(), 37 + 3 + 14 + 10 + 8 + 7 + 5 + 4 + 3 + 4 + 10);
    assert!(methods.iter().all(|(m, _)| runner_server::mount::is_served(m)), "every method of a served service");
    for protocol in ALL {
        let c = server.client(protocol).await;
        // A valid request to a streaming method opens a stream that stays open:
        // tests/api/events.rs calls it on every protocol.
        for (path, _) in methods.iter().filter(|(_, streams)| !streams) {
            if let Err(f) = c.call::<_, UpdateRunnerResponse>(path, UpdateRunnerResponse {}).await {
                assert_ne!(f.code, "unimplemented", "{protocol:?} {path}: {f:?}");
                assert_ne!(f.http_status, Some(404), "{protocol:?} {path}: {f:?}");
            }
        }
    }
}

#[test]
fn every_service_of_the_api_is_served() {
    // The descriptor set has every service of the API, and each has handlers now but those of
    // UNSERVED_SERVICES (a method without one answers `unimplemented`, 501 on Connect:
    // runner_server::mount::is_served).
    let unserved: Vec<&str> =
        gitpod_api::SERVICE_NAMES.into_iter().filter(|s| !runner_server::mount::SERVED_SERVICES.contains(s)).collect();
    assert_eq!(unserved, UNSERVED_SERVICES, "services without handlers");
}

#[tokio::test]
async fn grpc_gzip_both_ways() {
    use gitpod_api::gitpod::v1::runner_service_client::RunnerServiceClient;
    use tonic::codec::CompressionEncoding::Gzip;
    let server = TestServer::start().await;
    let channel = tonic::transport::Endpoint::from_shared(server.url()).unwrap().connect().await.unwrap();
    let token: tonic::metadata::MetadataValue<_> = format!("Bearer {}", server.admin_token).parse().unwrap();
    let mut client = RunnerServiceClient::with_interceptor(channel, move |mut req: tonic::Request<()>| {
        req.metadata_mut().insert("authorization", token.clone());
        Ok(req)
    })
    .send_compressed(Gzip)
    .accept_compressed(Gzip);
    let created = client
        .create_runner(CreateRunnerRequest {
            name: "gzip runner".into(),
            provider: RunnerProvider::Gcp as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    let id = created.into_inner().runner.unwrap().runner_id;
    let got = client.get_runner(GetRunnerRequest { runner_id: id }).await.unwrap();
    assert_eq!(got.metadata().get("grpc-encoding").map(|v| v.to_str().unwrap()), Some("gzip"));
    assert_eq!(got.into_inner().runner.unwrap().name, "gzip runner");
}

#[tokio::test]
async fn a_refused_connect_call_keeps_its_http1_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start().await;
    let mut socket = tokio::net::TcpStream::connect(server.server.local_addr).await.unwrap();
    let body = r#"{"pagination":{"pageSize":5}}"#;
    let head = |token: &str| {
        format!(
            "POST {} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: Bearer {token}\r\n\
             content-length: {}\r\n\r\n",
            rs("ListRunners"),
            body.len()
        )
    };
    // Refused before the handler reads the body, which comes a little after the headers (as
    // Node sends it): the connection must stay usable, or a client writing the body or reusing
    // the socket would write into a closed socket (EPIPE).
    for (token, status) in [("gpat_wrong", "401"), (server.admin_token.as_str(), "200")] {
        socket.write_all(head(token).as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        socket.write_all(body.as_bytes()).await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        // Read one whole response: the headers, then content-length bytes of body.
        loop {
            let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf)).await.unwrap().unwrap();
            assert!(n > 0, "the server closed the connection after {token:?}");
            seen.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&seen).to_string();
            if let Some((head, rest)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.parse().unwrap()))
                    .unwrap();
                if rest.len() >= length {
                    assert!(head.starts_with(&format!("HTTP/1.1 {status}")), "{head}");
                    break;
                }
            }
        }
    }
}

/// Answers that come before any handler still say what to fix: a Connect error body with the
/// status the Connect protocol gives the case, and gRPC's own status for gRPC clients.
#[tokio::test]
async fn answers_before_any_handler_say_what_to_fix() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let list = format!("{}{}", server.url(), rs("ListRunners"));

    // No Content-Type, or one no protocol here speaks: 415, the supported types in Accept-Post,
    // and a Connect error naming what to send.
    for (content_type, named) in [(None, "no Content-Type"), (Some("text/plain"), "text/plain")] {
        let mut req = http.post(&list).bearer_auth(&server.admin_token).body("{}");
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let response = req.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 415, "{content_type:?}");
        let accept = response.headers()["accept-post"].to_str().unwrap().to_owned();
        for t in ["application/json", "application/proto", "application/grpc", "application/grpc-web"] {
            assert!(accept.contains(t), "Accept-Post {accept:?} lacks {t}");
        }
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        let err: Value = response.json().await.unwrap();
        assert_eq!(err["code"], "invalid_argument", "{err}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(named) && message.contains("Content-Type: application/json"), "{message}");
    }

    // A misspelled method, under /api too, JSON and binary: 404 `unimplemented`, naming the
    // method and the nearest one the service has.
    for path in [rs("ListRunnerz"), format!("/api{}", rs("ListRunnerz"))] {
        for content_type in ["application/json", "application/proto"] {
            let response = http
                .post(format!("{}{path}", server.url()))
                .bearer_auth(&server.admin_token)
                .header("content-type", content_type)
                .body(if content_type == "application/json" { "{}" } else { "" })
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 404, "{path} {content_type}");
            let err: Value = response.json().await.unwrap();
            assert_eq!(err["code"], "unimplemented", "{err}");
            let message = err["message"].as_str().unwrap();
            assert!(message.contains("ListRunnerz") && message.contains("did you mean ListRunners?"), "{message}");
        }
    }
    // A browser's GET of a misspelled method, or of a path under /api that is no method.
    for (path, named) in [(rs("ListRunnerz"), "did you mean ListRunners?"), ("/api/runners".to_owned(), "/api/")] {
        let response = http.get(format!("{}{path}", server.url())).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 404, "{path}");
        let err: Value = response.json().await.unwrap();
        assert_eq!(err["code"], "unimplemented", "{err}");
        assert!(err["message"].as_str().unwrap().contains(named), "{err}");
    }
    // An unknown service, or a path outside every service.
    for (path, named) in [("/gitpod.v1.RunnerServise/ListRunners", "gitpod.v1.RunnerService"), ("/v1/runners", "/api/")]
    {
        let response = http
            .post(format!("{}{path}", server.url()))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404, "{path}");
        let err: Value = response.json().await.unwrap();
        assert_eq!(err["code"], "unimplemented", "{err}");
        assert!(err["message"].as_str().unwrap().contains(named), "{err}");
    }

    // gRPC and gRPC-web clients get their own status for an unknown method, Connect clients
    // theirs: `unimplemented` everywhere.
    for protocol in ALL {
        let client = server.client(protocol).await;
        let failure = client
            .call::<_, ListRunnersResponse>(&rs("ListRunnerz"), ListRunnersRequest::default())
            .await
            .expect_err("no such method");
        assert_eq!(failure.code, "unimplemented", "{protocol:?}: {failure}");
        assert!(failure.message.contains("ListRunnerz"), "{protocol:?}: {failure}");
    }
}

/// `GET /` without a console: a plain page saying what this address serves and where the
/// console and the documentation are, instead of a protocol error.
#[tokio::test]
async fn the_root_says_this_is_the_api_server() {
    let server = TestServer::start().await;
    for path in ["/", "/api/"] {
        let response = reqwest::get(format!("{}{path}", server.url())).await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"), "{path}");
        let text = response.text().await.unwrap();
        for needle in [
            "runner management API",
            "/api/gitpod.v1.RunnerService/ListRunners",
            "--console-dir web/dist",
            "npm run build",
            "README.md",
            "/healthz",
        ] {
            assert!(text.contains(needle), "{path}: {needle:?} not in:\n{text}");
        }
        assert!(text.contains(&format!("{PUBLIC_URL}/api/")), "names the public URL:\n{text}");
    }
    // HEAD too; other GETs outside the API are a plain 404 pointing at the same page.
    let head = reqwest::Client::new().head(server.url()).send().await.unwrap();
    assert_eq!(head.status().as_u16(), 200);
    let other = reqwest::get(format!("{}/runners", server.url())).await.unwrap();
    assert_eq!(other.status().as_u16(), 404);
    assert!(other.text().await.unwrap().contains(&format!("{PUBLIC_URL}/")));
}
