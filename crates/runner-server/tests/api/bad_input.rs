//! Hostile and malformed input on every protocol, byte for byte as a broken or malicious client
//! would send it. Each case gets its documented code (docs/robustness.md, "Bad input"), the
//! server answers the next call, and nothing in the database changes.

use std::time::Duration;

use bytes::Bytes;
use gitpod_api::gitpod::v1::*;
use http_body_util::{BodyExt, Full};
use prost::Message;
use serde_json::json;

use runner_testkit::{TestServer, code_name, rs};

/// How a raw call is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    ConnectJson,
    ConnectProto,
    Grpc,
    GrpcWeb,
}

const WIRES: [Wire; 4] = [Wire::ConnectJson, Wire::ConnectProto, Wire::Grpc, Wire::GrpcWeb];

impl Wire {
    fn name(self) -> &'static str {
        match self {
            Wire::ConnectJson => "connect+json",
            Wire::ConnectProto => "connect+proto",
            Wire::Grpc => "grpc",
            Wire::GrpcWeb => "grpc-web",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Wire::ConnectJson => "application/json",
            Wire::ConnectProto => "application/proto",
            Wire::Grpc => "application/grpc",
            Wire::GrpcWeb => "application/grpc-web+proto",
        }
    }

    fn binary(self) -> bool {
        self != Wire::ConnectJson
    }
}

/// A 5-byte gRPC envelope around `payload`.
fn envelope(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut framed = vec![flags];
    framed.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    framed.extend_from_slice(payload);
    framed
}

/// The body a wire carries for a message's bytes (framed for gRPC and gRPC-web).
fn body_for(wire: Wire, payload: &[u8]) -> Vec<u8> {
    match wire {
        Wire::Grpc | Wire::GrpcWeb => envelope(0, payload),
        _ => payload.to_vec(),
    }
}

struct Raw {
    http1: hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    http2: hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    base: String,
}

/// What a raw call ended with: `ok` or the Connect code name, or `http NNN` when the answer
/// carried no RPC code at all.
impl Raw {
    fn new(base: &str) -> Self {
        let exec = hyper_util::rt::TokioExecutor::new();
        Self {
            http1: hyper_util::client::legacy::Client::builder(exec.clone()).build_http(),
            http2: hyper_util::client::legacy::Client::builder(exec).http2_only(true).build_http(),
            base: base.to_owned(),
        }
    }

    async fn call(
        &self,
        wire: Wire,
        method: &str,
        headers: &[(&str, &str)],
        token: Option<&str>,
        body: Vec<u8>,
    ) -> String {
        let path = if method.starts_with('/') { method.to_owned() } else { rs(method) };
        let mut req = http::Request::post(format!("{}{path}", self.base));
        let mut content_type = Some(wire.content_type());
        for (k, v) in headers {
            if k.eq_ignore_ascii_case("content-type") {
                content_type = (!v.is_empty()).then_some(*v);
            } else {
                req = req.header(*k, *v);
            }
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if wire == Wire::Grpc {
            req = req.header("te", "trailers");
        }
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = req.body(Full::new(Bytes::from(body))).unwrap();
        let client = if wire == Wire::Grpc { &self.http2 } else { &self.http1 };
        let response = tokio::time::timeout(Duration::from_secs(10), client.request(req))
            .await
            .expect("the server answers, without hanging")
            .expect("the server keeps the connection sane");
        let status = response.status().as_u16();
        let grpc_status_header = response.headers().get("grpc-status").map(|v| v.to_str().unwrap().to_owned());
        let collected = tokio::time::timeout(Duration::from_secs(10), response.into_body().collect())
            .await
            .expect("the body ends")
            .expect("the body reads");
        let trailers = collected.trailers().cloned();
        let bytes = collected.to_bytes();
        let grpc_code = |n: &str| code_name(tonic::Code::from_i32(n.trim().parse().unwrap())).to_owned();
        match wire {
            Wire::ConnectJson | Wire::ConnectProto => {
                if status == 200 {
                    return "ok".to_owned();
                }
                match serde_json::from_slice::<serde_json::Value>(&bytes) {
                    Ok(v) if v["code"].is_string() => v["code"].as_str().unwrap().to_owned(),
                    _ => format!("http {status}"),
                }
            }
            Wire::Grpc => {
                let from_trailers =
                    trailers.as_ref().and_then(|t| t.get("grpc-status")).map(|v| v.to_str().unwrap().to_owned());
                match grpc_status_header.or(from_trailers) {
                    Some(n) => grpc_code(&n),
                    None => format!("http {status}"),
                }
            }
            Wire::GrpcWeb => {
                if let Some(n) = grpc_status_header {
                    return grpc_code(&n);
                }
                // The trailers come as the last frame of the body (flag 0x80).
                let mut rest = &bytes[..];
                while rest.len() >= 5 {
                    let len = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
                    let frame = &rest[5..(5 + len).min(rest.len())];
                    if rest[0] & 0x80 != 0 {
                        let text = String::from_utf8_lossy(frame);
                        if let Some(line) = text.lines().find(|l| l.to_ascii_lowercase().starts_with("grpc-status:")) {
                            return grpc_code(&line["grpc-status:".len()..]);
                        }
                    }
                    rest = &rest[(5 + len).min(rest.len())..];
                }
                format!("http {status}")
            }
        }
    }
}

/// Everything the database holds that a bad call could change, as comparable text.
async fn snapshot(server: &TestServer) -> String {
    use runner_core::authz::Visibility;
    let all = Visibility::All { org_id: server.org.id };
    let store = &server.store;
    let runners = store.list_runners(&all, &Default::default(), None, 1000).await.unwrap();
    let policies: usize = {
        let mut n = 0;
        for r in &runners {
            n += store.list_runner_policies(r.id, None, 1000).await.unwrap().len();
        }
        n
    };
    let classes = store.list_environment_classes(&all, &Default::default(), None, 1000).await.unwrap();
    let scm = store.list_scm_integrations(&all, &[], None, 1000).await.unwrap();
    let tokens = store.list_host_tokens(&all, None, None, None, 1000).await.unwrap();
    format!("{runners:?}\n{policies}\n{classes:?}\n{scm:?}\n{}", tokens.len())
}

#[tokio::test]
async fn bad_input_gets_its_code_on_every_protocol_and_changes_nothing() {
    let server = TestServer::start().await;
    let raw = Raw::new(&server.url());
    let admin = server.admin_token.clone();
    let token = Some(admin.as_str());

    // Something to read, and to see unchanged afterwards.
    let create =
        CreateRunnerRequest { name: "steady".into(), provider: RunnerProvider::Gcp as i32, ..Default::default() };
    let created = raw.call(Wire::ConnectProto, "CreateRunner", &[], token, create.encode_to_vec()).await;
    assert_eq!(created, "ok");
    let runner = server
        .store
        .list_runners(&runner_core::authz::Visibility::All { org_id: server.org.id }, &Default::default(), None, 1)
        .await
        .unwrap()[0]
        .id
        .to_string();
    let get = GetRunnerRequest { runner_id: runner.clone() };

    // A real page token (of the runner's policies), to alter, cut and use on another listing.
    let policy_token = {
        // Two policies so that a page of one has a next token.
        let mut next = String::new();
        for name in ["group 1", "group 2"] {
            let g = server.identity.create_group(server.org.id, name).await.unwrap();
            let req = CreateRunnerPolicyRequest {
                runner_id: runner.clone(),
                group_id: g.id.to_string(),
                role: RunnerRole::User as i32,
            };
            assert_eq!(raw.call(Wire::ConnectProto, "CreateRunnerPolicy", &[], token, req.encode_to_vec()).await, "ok");
        }
        let req = ListRunnerPoliciesRequest {
            runner_id: runner.clone(),
            pagination: Some(PaginationRequest { page_size: 1, token: String::new() }),
        };
        let client = server.client(runner_testkit::Protocol::ConnectJson).await;
        let page: ListRunnerPoliciesResponse = client.call(&rs("ListRunnerPolicies"), req).await.unwrap();
        next.push_str(&page.pagination.unwrap().next_token);
        next
    };
    assert!(!policy_token.is_empty());
    let before = snapshot(&server).await;
    let mut forged = policy_token.clone().into_bytes();
    forged[3] ^= 1;
    let forged = String::from_utf8_lossy(&forged).into_owned();
    let truncated = &policy_token[..policy_token.len() / 2];

    // The same malformed message, in each binary form.
    let valid_create =
        CreateRunnerRequest { name: "x".repeat(20), provider: RunnerProvider::Gcp as i32, ..Default::default() }
            .encode_to_vec();
    let truncated_proto = valid_create[..valid_create.len() - 5].to_vec();
    let garbage = vec![0xff; 64];
    // Field 1 (runner_id, a string) with bytes that are not UTF-8.
    let bad_utf8 = vec![0x0a, 0x04, 0xff, 0xfe, 0xfd, 0xfc];
    let huge_page = ListRunnersRequest {
        pagination: Some(PaginationRequest { page_size: i32::MAX, token: String::new() }),
        ..Default::default()
    };
    let negative_page = ListRunnersRequest {
        pagination: Some(PaginationRequest { page_size: -1, token: String::new() }),
        ..Default::default()
    };
    let unknown_enum = CreateRunnerRequest { name: "enum".into(), provider: 999, ..Default::default() };
    let many_ids = ListScmIntegrationsRequest {
        filter: Some(list_scm_integrations_request::Filter {
            runner_ids: (0..1000).map(|_| uuid::Uuid::now_v7().to_string()).collect(),
        }),
        ..Default::default()
    };
    let nul_name =
        CreateRunnerRequest { name: "nul\0name".into(), provider: RunnerProvider::Gcp as i32, ..Default::default() };
    let long_name =
        CreateRunnerRequest { name: "n".repeat(10_000), provider: RunnerProvider::Gcp as i32, ..Default::default() };
    let policies_page = |t: &str| ListRunnerPoliciesRequest {
        runner_id: runner.clone(),
        pagination: Some(PaginationRequest { page_size: 1, token: t.to_owned() }),
    };
    let runners_page = |t: &str| ListRunnersRequest {
        pagination: Some(PaginationRequest { page_size: 1, token: t.to_owned() }),
        ..Default::default()
    };

    // (case, method, wires, body per wire, extra headers, expected)
    type Body = Box<dyn Fn(Wire) -> Vec<u8>>;
    let msg = |m: Vec<u8>| -> Body { Box::new(move |w| body_for(w, &m)) };
    let json_only = |j: &'static str| -> Body { Box::new(move |_| j.as_bytes().to_vec()) };
    let binary = [Wire::ConnectProto, Wire::Grpc, Wire::GrpcWeb];
    let json = [Wire::ConnectJson];
    // A message that does not decode is the client's error on Connect (`invalid_argument`, as
    // connect-go says); gRPC and gRPC-web answer it as tonic and grpc-go do (`internal`).
    let grpc = [Wire::Grpc, Wire::GrpcWeb];
    let mut cases: Vec<Case> = vec![
        (
            "truncated protobuf",
            "CreateRunner",
            vec![Wire::ConnectProto],
            msg(truncated_proto.clone()),
            vec![],
            "invalid_argument",
        ),
        ("truncated protobuf", "CreateRunner", grpc.to_vec(), msg(truncated_proto), vec![], "internal"),
        (
            "garbage protobuf",
            "CreateRunner",
            vec![Wire::ConnectProto],
            msg(garbage.clone()),
            vec![],
            "invalid_argument",
        ),
        ("garbage protobuf", "CreateRunner", grpc.to_vec(), msg(garbage.clone()), vec![], "internal"),
        (
            "invalid UTF-8 in a protobuf string",
            "GetRunner",
            vec![Wire::ConnectProto],
            msg(bad_utf8.clone()),
            vec![],
            "invalid_argument",
        ),
        ("invalid UTF-8 in a protobuf string", "GetRunner", grpc.to_vec(), msg(bad_utf8), vec![], "internal"),
        ("invalid JSON", "CreateRunner", json.to_vec(), json_only(r#"{"name": "#), vec![], "invalid_argument"),
        ("JSON not an object", "GetRunner", json.to_vec(), json_only("[1, 2, 3]"), vec![], "invalid_argument"),
        (
            "wrong JSON type (number for string)",
            "GetRunner",
            json.to_vec(),
            json_only(r#"{"runnerId": 12}"#),
            vec![],
            "invalid_argument",
        ),
        (
            "wrong JSON type (string for message)",
            "CreateRunner",
            json.to_vec(),
            json_only(r#"{"name": "n", "spec": "x"}"#),
            vec![],
            "invalid_argument",
        ),
        (
            "null for a required field",
            "GetRunner",
            json.to_vec(),
            json_only(r#"{"runnerId": null}"#),
            vec![],
            "invalid_argument",
        ),
        (
            "null everywhere (list)",
            "ListRunners",
            json.to_vec(),
            json_only(r#"{"pagination": null, "filter": null}"#),
            vec![],
            "ok",
        ),
        (
            "unknown enum name",
            "CreateRunner",
            json.to_vec(),
            json_only(r#"{"name": "n", "provider": "RUNNER_PROVIDER_NOPE"}"#),
            vec![],
            "invalid_argument",
        ),
        (
            "unknown enum number (JSON)",
            "CreateRunner",
            json.to_vec(),
            json_only(r#"{"name": "n", "provider": 999}"#),
            vec![],
            "invalid_argument",
        ),
        (
            "unknown enum number",
            "CreateRunner",
            binary.to_vec(),
            msg(unknown_enum.encode_to_vec()),
            vec![],
            "invalid_argument",
        ),
        (
            "invalid UTF-8 in JSON",
            "GetRunner",
            json.to_vec(),
            Box::new(|_| b"{\"runnerId\": \"\xff\xfe\"}".to_vec()),
            vec![],
            "invalid_argument",
        ),
        (
            "deeply nested JSON (100,000 levels)",
            "GetRunner",
            json.to_vec(),
            Box::new(|_| format!("{{\"x\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes()),
            vec![],
            "invalid_argument",
        ),
        (
            "negative pageSize",
            "ListRunners",
            WIRES.to_vec(),
            Box::new({
                let m = negative_page.clone();
                move |w| wire_msg(w, &m)
            }),
            vec![],
            "invalid_argument",
        ),
        (
            "huge pageSize",
            "ListRunners",
            WIRES.to_vec(),
            Box::new({
                let m = huge_page.clone();
                move |w| wire_msg(w, &m)
            }),
            vec![],
            "invalid_argument",
        ),
        (
            "forged page token",
            "ListRunnerPolicies",
            WIRES.to_vec(),
            Box::new({
                let m = policies_page(&forged);
                move |w| wire_msg(w, &m)
            }),
            vec![],
            "invalid_argument",
        ),
        (
            "truncated page token",
            "ListRunnerPolicies",
            WIRES.to_vec(),
            Box::new({
                let m = policies_page(truncated);
                move |w| wire_msg(w, &m)
            }),
            vec![],
            "invalid_argument",
        ),
        (
            "page token of another list",
            "ListRunners",
            WIRES.to_vec(),
            Box::new({
                let m = runners_page(&policy_token);
                move |w| wire_msg(w, &m)
            }),
            vec![],
            "invalid_argument",
        ),
        (
            "replayed page token (stateless: same page)",
            "ListRunnerPolicies",
            WIRES.to_vec(),
            Box::new({
                let m = policies_page(&policy_token);
                move |w| wire_msg(w, &m)
            }),
            vec![],
            "ok",
        ),
        (
            "NUL byte in a name",
            "CreateRunner",
            WIRES.to_vec(),
            Box::new({
                let m = nul_name.clone();
                move |w| wire_msg(w, &m)
            }),
            vec![],
            "invalid_argument",
        ),
        (
            "10,000-character name",
            "CreateRunner",
            WIRES.to_vec(),
            Box::new({
                let m = long_name.clone();
                move |w| wire_msg(w, &m)
            }),
            vec![],
            "invalid_argument",
        ),
        (
            "1,000 ids in a filter",
            "/gitpod.v1.RunnerConfigurationService/ListSCMIntegrations",
            WIRES.to_vec(),
            Box::new({
                let m = many_ids.clone();
                move |w| wire_msg(w, &m)
            }),
            vec![],
            "invalid_argument",
        ),
        (
            "SQL metacharacters in an id",
            "GetRunner",
            WIRES.to_vec(),
            Box::new(|w| wire_msg(w, &GetRunnerRequest { runner_id: "1' OR '1'='1".into() })),
            vec![],
            "invalid_argument",
        ),
        // Framing and content types.
        (
            "wrong content type",
            "GetRunner",
            vec![Wire::ConnectJson],
            msg(serde_json::to_vec(&json!({"runnerId": runner})).unwrap()),
            vec![("content-type", "text/plain")],
            "invalid_argument",
        ),
        (
            "missing content type",
            "GetRunner",
            vec![Wire::ConnectJson],
            msg(serde_json::to_vec(&json!({"runnerId": runner})).unwrap()),
            vec![("content-type", "")],
            "invalid_argument",
        ),
        (
            "JSON sent as proto",
            "GetRunner",
            vec![Wire::ConnectProto],
            json_only(r#"{"runnerId": "x"}"#),
            vec![],
            "invalid_argument",
        ),
        (
            "gRPC frame longer than the body",
            "GetRunner",
            vec![Wire::Grpc, Wire::GrpcWeb],
            Box::new(|_| {
                let mut f = envelope(0, &[0x0a, 0x02, b'a', b'b']);
                f[4] = 200;
                f
            }),
            vec![],
            "internal",
        ),
        (
            "gRPC frame header cut short",
            "GetRunner",
            vec![Wire::Grpc, Wire::GrpcWeb],
            Box::new(|_| vec![0, 0, 0]),
            vec![],
            "internal",
        ),
        (
            "compressed flag without grpc-encoding",
            "GetRunner",
            vec![Wire::Grpc, Wire::GrpcWeb],
            Box::new({
                let m = get.clone();
                move |_| envelope(1, &m.encode_to_vec())
            }),
            vec![],
            "internal",
        ),
        (
            "gzip encoding with a body that is not gzip",
            "GetRunner",
            vec![Wire::Grpc, Wire::GrpcWeb],
            Box::new({
                let m = get.clone();
                move |_| envelope(1, &m.encode_to_vec())
            }),
            vec![("grpc-encoding", "gzip")],
            "internal",
        ),
        (
            "Connect gzip body that is not gzip",
            "GetRunner",
            vec![Wire::ConnectJson, Wire::ConnectProto],
            Box::new({
                let m = get.clone();
                move |w| wire_msg(w, &m)
            }),
            vec![("content-encoding", "gzip")],
            "invalid_argument",
        ),
        // Credentials.
        (
            "no bearer token",
            "GetRunner",
            WIRES.to_vec(),
            Box::new({
                let m = get.clone();
                move |w| wire_msg(w, &m)
            }),
            vec![("x-no-auth", "1")],
            "unauthenticated",
        ),
    ];
    let mut differences = Vec::new();
    let mut rows = Vec::new();
    for (case, method, wires, body, headers, want) in cases.drain(..) {
        for wire in wires {
            let no_auth = headers.iter().any(|(k, _)| *k == "x-no-auth");
            let headers: Vec<(&str, &str)> = headers.iter().copied().filter(|(k, _)| *k != "x-no-auth").collect();
            let got = raw.call(wire, method, &headers, if no_auth { None } else { token }, body(wire)).await;
            rows.push(format!("| {case} | {} | `{got}` |", wire.name()));
            if got != want {
                differences.push(format!("{case} over {}: expected {want}, got {got}", wire.name()));
            }
            // The server answers the next call at once.
            let next = raw.call(wire, "GetRunner", &[], token, wire_msg(wire, &get)).await;
            assert_eq!(next, "ok", "after {case} over {}", wire.name());
        }
    }
    println!("{}", rows.join("\n"));
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    assert_eq!(snapshot(&server).await, before, "a rejected call changed the database");
}

/// One bad-input case: name, method, the wires it is sent over, the body per wire, extra
/// headers, and the code it must get.
type Case<'a> = (&'a str, &'a str, Vec<Wire>, Box<dyn Fn(Wire) -> Vec<u8>>, Vec<(&'a str, &'a str)>, &'a str);

/// A message in a wire's body form: JSON for Connect JSON, framed protobuf for gRPC(-web).
fn wire_msg<M: Message + serde::Serialize>(wire: Wire, m: &M) -> Vec<u8> {
    if wire.binary() { body_for(wire, &m.encode_to_vec()) } else { serde_json::to_vec(m).unwrap() }
}

#[tokio::test]
async fn bad_credentials_and_hostile_strings_on_every_protocol() {
    let server = TestServer::start().await;
    let raw = Raw::new(&server.url());
    let admin = server.admin_token.clone();
    let create =
        CreateRunnerRequest { name: "mine".into(), provider: RunnerProvider::Gcp as i32, ..Default::default() };
    assert_eq!(raw.call(Wire::ConnectProto, "CreateRunner", &[], Some(&admin), create.encode_to_vec()).await, "ok");
    let all = runner_core::authz::Visibility::All { org_id: server.org.id };
    let runner = server.store.list_runners(&all, &Default::default(), None, 1).await.unwrap()[0].id.to_string();
    let get = GetRunnerRequest { runner_id: runner.clone() };

    // An expired token, a revoked one, a made-up one, and a valid one of another organization.
    let expired = server.identity.issue_token(server.admin_id, "expired", Some(-60)).await.unwrap().token;
    let revoked = server.identity.issue_token(server.admin_id, "revoked", None).await.unwrap();
    server.identity.delete_token(revoked.info.id).await.unwrap();
    let other_org = server.identity.create_organization("other").await.unwrap();
    let stranger = server
        .identity
        .create_member(
            other_org.id,
            runner_core::model::Principal::User,
            "stranger",
            runner_core::identity::OrgRole::Admin,
        )
        .await
        .unwrap();
    let stranger = server.identity.issue_token(stranger.id, "t", None).await.unwrap().token;
    for t in [&expired, &revoked.token, &stranger] {
        runner_testkit::leaks::remember(t);
    }
    let before = snapshot(&server).await;
    let cases: [(&str, &str, &str); 5] = [
        ("expired token", &expired, "unauthenticated"),
        ("revoked token", &revoked.token, "unauthenticated"),
        ("made-up token", "gpat_0000000000000000000000000000000000000000000", "unauthenticated"),
        ("not a token at all", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "unauthenticated"),
        // Another organization's runner does not exist for this caller.
        ("token of another organization", &stranger, "not_found"),
    ];
    for wire in WIRES {
        for (case, token, want) in cases {
            assert_eq!(
                raw.call(wire, "GetRunner", &[], Some(token), wire_msg(wire, &get)).await,
                want,
                "{case} {wire:?}"
            );
            let delete = DeleteRunnerRequest { runner_id: runner.clone(), force: true };
            let deleted = raw.call(wire, "DeleteRunner", &[], Some(token), wire_msg(wire, &delete)).await;
            assert_eq!(deleted, want, "{case} {wire:?}: delete");
        }
    }
    assert_eq!(snapshot(&server).await, before, "a refused call changed the database");

    // SQL metacharacters and quotes are data: stored and read back exactly as sent.
    for (i, wire) in WIRES.into_iter().enumerate() {
        let name = format!("'; DROP TABLE runners; -- \" \\ %_ {i}");
        let req =
            CreateRunnerRequest { name: name.clone(), provider: RunnerProvider::Gcp as i32, ..Default::default() };
        assert_eq!(raw.call(wire, "CreateRunner", &[], Some(&admin), wire_msg(wire, &req)).await, "ok", "{wire:?}");
        let found = server.store.list_runners(&all, &Default::default(), None, 100).await.unwrap();
        assert!(found.iter().any(|r| r.name == name), "{wire:?}: {name}");
    }
}

#[tokio::test]
async fn authorization_failures_are_audit_events() {
    let server = TestServer::start().await;
    let raw = Raw::new(&server.url());
    let admin = server.admin_token.clone();
    let create =
        CreateRunnerRequest { name: "audited".into(), provider: RunnerProvider::Gcp as i32, ..Default::default() };
    assert_eq!(raw.call(Wire::ConnectProto, "CreateRunner", &[], Some(&admin), create.encode_to_vec()).await, "ok");
    let (member_id, member) = server.member("auditee", runner_core::identity::OrgRole::Member).await;
    // A member may not create runners: permission_denied, audited with who, what and where.
    let again = CreateRunnerRequest { name: "not allowed".into(), ..create };
    let got = raw.call(Wire::Grpc, "CreateRunner", &[], Some(&member), wire_msg(Wire::Grpc, &again)).await;
    assert_eq!(got, "permission_denied");
    let lines = runner_testkit::leaks::log_lines_with(&[
        "runner_server::audit",
        "authorization_denied",
        &format!("principal=\"user:{member_id}\""),
        "rpc=/gitpod.v1.RunnerService/CreateRunner",
        &format!("resource=organization {}", server.org.id),
    ]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    // Refused credentials too, without the token.
    let bogus = "gpat_audit_bogus_token_value_0123456789";
    runner_testkit::leaks::remember(bogus);
    let got = raw.call(Wire::ConnectJson, "ListRunners", &[], Some(bogus), b"{}".to_vec()).await;
    assert_eq!(got, "unauthenticated");
    let lines = runner_testkit::leaks::log_lines_with(&[
        "runner_server::audit",
        "rpc=/gitpod.v1.RunnerService/ListRunners",
        "invalid, expired or revoked token",
    ]);
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|l| !l.contains(bogus) && l.contains("principal=\"-\"")), "{lines:?}");
}
