//! The real binary with JSON logs: after a known sequence of calls over each protocol, the
//! Prometheus counters say exactly that, and each call has one log line with its request id,
//! principal, RPC, protocol, code, duration and trace id.

use gitpod_api::gitpod::v1::runner_service_client::RunnerServiceClient;
use gitpod_api::gitpod::v1::{GetRunnerRequest, ListRunnersRequest};
use prost::Message;
use runner_testkit::ServerProcess;
use serde_json::Value;

use crate::bin;

const LIST: &str = "/gitpod.v1.RunnerService/ListRunners";
const GET: &str = "/gitpod.v1.RunnerService/GetRunner";

#[tokio::test]
async fn metrics_and_log_lines_per_call_on_every_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = ServerProcess::command_in(bin(), dir.path());
    command.args(["--log-format", "json"]).env("RUST_LOG", "info");
    let mut server = ServerProcess::start(command, dir.path(), "server").unwrap_or_else(|e| panic!("{e}"));
    let (token, base) = (server.token().to_owned(), server.url.clone());
    let http = reqwest::Client::new();
    let bearer = format!("Bearer {token}");

    // Connect JSON and Connect binary: one ListRunners (ok) and one GetRunner (invalid_argument) each.
    for (ct, list, get) in [
        ("application/json", b"{}".to_vec(), br#"{"runnerId":"x"}"#.to_vec()),
        ("application/proto", Vec::new(), GetRunnerRequest { runner_id: "x".into() }.encode_to_vec()),
    ] {
        for (path, body) in [(LIST, list), (GET, get)] {
            let r = http
                .post(format!("{base}{path}"))
                .header("authorization", &bearer)
                .header("content-type", ct)
                .header("x-request-id", format!("req-{ct}-{path}"))
                .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.headers()["x-request-id"], format!("req-{ct}-{path}"));
        }
    }
    // gRPC, through the generated client.
    let channel = tonic::transport::Endpoint::from_shared(base.clone()).unwrap().connect().await.unwrap();
    let value: tonic::metadata::MetadataValue<_> = bearer.parse().unwrap();
    let mut client = RunnerServiceClient::with_interceptor(channel, move |mut r: tonic::Request<()>| {
        r.metadata_mut().insert("authorization", value.clone());
        Ok(r)
    });
    client.list_runners(ListRunnersRequest::default()).await.unwrap();
    assert_eq!(
        client.get_runner(GetRunnerRequest { runner_id: "x".into() }).await.unwrap_err().code(),
        tonic::Code::InvalidArgument
    );
    // gRPC-web, framed by hand.
    for (path, msg) in [
        (LIST, ListRunnersRequest::default().encode_to_vec()),
        (GET, GetRunnerRequest { runner_id: "x".into() }.encode_to_vec()),
    ] {
        let mut frame = vec![0u8];
        frame.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        frame.extend_from_slice(&msg);
        let r = http
            .post(format!("{base}{path}"))
            .header("authorization", &bearer)
            .header("content-type", "application/grpc-web+proto")
            .body(frame)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
    }
    // And an unauthenticated call.
    http.post(format!("{base}{LIST}")).header("content-type", "application/json").body("{}").send().await.unwrap();

    // The counters: exactly the calls made.
    let metrics = http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let count = |rpc: &str, protocol: &str, code: &str| -> u64 {
        metrics
            .lines()
            .filter(|l| l.starts_with("rpc_requests_total{"))
            .filter(|l| {
                l.contains(&format!("rpc=\"{rpc}\""))
                    && l.contains(&format!("protocol=\"{protocol}\""))
                    && l.contains(&format!("code=\"{code}\""))
            })
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum()
    };
    for protocol in ["connect-json", "connect-proto", "grpc", "grpc-web"] {
        assert_eq!(count(LIST, protocol, "ok"), 1, "{protocol} ok\n{metrics}");
        assert_eq!(count(GET, protocol, "invalid_argument"), 1, "{protocol} invalid_argument\n{metrics}");
    }
    assert_eq!(count(LIST, "connect-json", "unauthenticated"), 1, "{metrics}");
    assert!(metrics.contains("rpc_request_duration_seconds_bucket{"), "{metrics}");
    assert!(metrics.contains("rpc_requests_in_flight"), "{metrics}");
    // The organization's local-configuration runner, as stored; no runner in any other phase.
    assert!(metrics.lines().any(|l| l == "runners{phase=\"active\"} 1"), "{metrics}");
    assert!(metrics.lines().any(|l| l == "runners{phase=\"created\"} 0"), "{metrics}");
    assert!(metrics.contains("db_pool_connections{state=\"open\"}"), "{metrics}");
    assert!(metrics.contains("db_ping_duration_seconds_count"), "{metrics}");
    assert!(metrics.contains("db_query_duration_seconds_count{op=\"list_runners\"}"), "{metrics}");
    // Log lines go through a bounded buffer to a writer thread; none was dropped here.
    assert!(metrics.lines().any(|l| l == "log_lines_dropped_total 0"), "{metrics}");

    // One JSON log line per call, with every field.
    server.kill();
    let log = server.stderr();
    let calls: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "runner_server::access")
        .collect();
    assert_eq!(calls.len(), 9, "{log}");
    for call in &calls {
        for field in ["request_id", "principal", "rpc", "protocol", "code", "duration_ms", "trace_id"] {
            assert!(!call[field].is_null(), "{field} missing in {call}");
        }
    }
    let first = calls.iter().find(|c| c["request_id"] == format!("req-application/json-{LIST}")).unwrap();
    assert!(first["principal"].as_str().unwrap().starts_with("user:"), "{first}");
    assert_eq!(
        (&first["rpc"], &first["protocol"], &first["code"]),
        (&LIST.into(), &"connect-json".into(), &"ok".into())
    );
    assert_eq!(first["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    let refused = calls.iter().find(|c| c["code"] == "unauthenticated").unwrap();
    assert_eq!(refused["principal"], "-");
    assert!(!log.contains(&token), "the bearer token is never logged");
}
