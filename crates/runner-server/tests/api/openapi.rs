//! The OpenAPI description (`GET /openapi.json`, `/openapi.yaml`, `docs/openapi.json`): served
//! under `/api` too and never shadowed by the console, current in the source, and describing
//! exactly the unary RPCs the server answers, checked against the descriptor set and the live
//! server rather than against the list the document was built from.

use std::collections::BTreeSet;

use prost_reflect::DescriptorPool;
use runner_server::MountOptions;
use serde_json::{Value, json};

use runner_testkit::TestServer;

async fn get(url: String) -> (u16, String, String) {
    let response = reqwest::Client::new().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn the_document_is_served_as_json_and_yaml_under_api_too_and_never_by_the_console() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("index.html"), "<!doctype html><title>console</title>").unwrap();
    let with_console = MountOptions { console_dir: Some(root.path().to_owned()), ..Default::default() };
    for server in [TestServer::start().await, TestServer::builder().mount(with_console).start().await] {
        for prefix in ["", "/api"] {
            let (status, content_type, body) = get(format!("{}{prefix}/openapi.json", server.url())).await;
            assert_eq!((status, content_type.as_str()), (200, "application/json"), "{prefix}/openapi.json");
            let document: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(document["openapi"], "3.1.0");
            assert_eq!(body, runner_server::openapi::json());
            let (status, content_type, body) = get(format!("{}{prefix}/openapi.yaml", server.url())).await;
            assert_eq!((status, content_type.as_str()), (200, "application/yaml"), "{prefix}/openapi.yaml");
            let from_yaml: Value = serde_yaml::from_str(&body).unwrap();
            assert_eq!(from_yaml, document, "the YAML says what the JSON says");
        }
    }
}

#[test]
fn docs_openapi_json_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == runner_server::openapi::json(),
        "docs/openapi.json is not what the server serves; write it again with \
         `cargo run -p runner-server -- openapi --out docs/openapi.json`"
    );
}

/// The HTTP status and Connect error code of a JSON call as the admin, or `None` for a 200.
async fn code_of(server: &TestServer, path: &str, body: &str) -> Option<(u16, String)> {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", server.url()))
        .bearer_auth(&server.admin_token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    if status == 200 {
        return None;
    }
    let body: Value =
        response.json().await.unwrap_or_else(|e| panic!("{path}: HTTP {status} without a Connect error: {e}"));
    Some((status, body["code"].as_str().unwrap_or_default().to_owned()))
}

#[tokio::test]
async fn an_operation_for_every_unary_rpc_the_server_answers_and_none_other() {
    let server = TestServer::start().await;
    let document = runner_server::openapi::document();
    let paths = document["paths"].as_object().unwrap();
    let pool = DescriptorPool::decode(gitpod_api::FILE_DESCRIPTOR_SET).unwrap();
    let (mut expected, mut with_get) = (BTreeSet::new(), BTreeSet::new());
    for service in pool.services() {
        for method in service.methods() {
            let path = format!("/{}/{}", service.full_name(), method.name());
            if method.is_client_streaming() || method.is_server_streaming() {
                assert!(!paths.contains_key(&path), "{path} streams: not in the document");
                continue;
            }
            if !runner_server::mount::is_served(&path) {
                // Every method of the services not served yet (SERVED_SERVICES).
                // A Connect error with the status of its code, not the router's bare 404.
                let answer = code_of(&server, &path, "{}").await;
                assert_eq!(answer, Some((501, "unimplemented".to_owned())), "{path}");
                continue;
            }
            let no_side_effects = method.method_descriptor_proto().options.as_ref().and_then(|o| o.idempotency_level)
                == Some(prost_reflect::prost_types::method_options::IdempotencyLevel::NoSideEffects as i32);
            if no_side_effects {
                with_get.insert(path.clone());
            }
            expected.insert(path);
        }
    }
    let described: BTreeSet<String> = paths.keys().cloned().collect();
    assert_eq!(described, expected, "operations ≠ the descriptor set's unary RPCs but those not served");
    for (path, item) in paths {
        // The server answers it (an empty request may be refused, but not as unknown).
        let answer = code_of(&server, path, "{}").await;
        assert!(answer.is_none_or(|(_, code)| code != "unimplemented"), "{path} is described but not served");
        let (input, output) = (method_of(&pool, path).input(), method_of(&pool, path).output());
        let post = &item["post"];
        assert_eq!(post["requestBody"]["content"]["application/json"]["schema"]["$ref"], schema_ref(input.full_name()));
        assert_eq!(
            post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            schema_ref(output.full_name())
        );
        for status in ["400", "401", "403", "404", "409", "415", "429", "500", "501", "503", "504"] {
            assert!(post["responses"][status]["$ref"].is_string(), "{path}: {status}");
        }
        assert_eq!(
            item.get("get").is_some(),
            with_get.contains(path),
            "{path}: a GET form exactly when NO_SIDE_EFFECTS"
        );
        // Every operation has the proto comment of its method as its description.
        assert!(post["description"].as_str().is_some_and(|d| d.len() > 10), "{path} has no description");
    }
}

fn method_of(pool: &DescriptorPool, path: &str) -> prost_reflect::MethodDescriptor {
    let (service, method) = path[1..].split_once('/').unwrap();
    pool.get_service_by_name(service).unwrap().methods().find(|m| m.name() == method).unwrap()
}

fn schema_ref(name: &str) -> Value {
    json!(format!("#/components/schemas/{name}"))
}

#[test]
fn schemas_are_in_proto3_json_form_with_the_declared_rules() {
    let document = runner_server::openapi::document();
    let schemas = &document["components"]["schemas"];
    // camelCase names, the proto comment as description, a UUID rule as a format.
    let get_runner = &schemas["gitpod.v1.GetRunnerRequest"]["properties"]["runnerId"];
    assert_eq!(get_runner["type"], "string");
    assert!(serde_json::to_string(get_runner).unwrap().contains("\"format\":\"uuid\""), "{get_runner}");
    // Enums by name.
    let phase = &schemas["gitpod.v1.RunnerPhase"];
    assert_eq!(phase["type"], "string");
    assert!(phase["enum"].as_array().unwrap().contains(&json!("RUNNER_PHASE_ACTIVE")));
    // Timestamps as RFC 3339 strings.
    let runner = &schemas["gitpod.v1.Runner"]["properties"];
    assert_eq!(runner["createdAt"]["format"], "date-time");
    // Length rules.
    let name = &schemas["gitpod.v1.CreateRunnerRequest"]["properties"]["name"];
    assert_eq!((name["minLength"].as_u64(), name["maxLength"].as_u64()), (Some(3), Some(127)));
    // Bearer authentication everywhere, the /api prefix as a server variable.
    assert_eq!(document["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
    assert_eq!(document["security"], json!([{ "bearerAuth": [] }]));
    assert_eq!(document["servers"][0]["variables"]["prefix"]["default"], "/api");
    // The Connect error body.
    let error = &schemas["connect.error"];
    assert!(error["properties"]["code"]["enum"].as_array().unwrap().contains(&json!("invalid_argument")));
}

/// Schemathesis found (docs/robustness.md): a runner that has not signed up has no `publicKey`
/// in its status, which the document had made required from the field's rule (32 bytes), though
/// rules are checked on requests only. Messages an answer holds have no required properties now,
/// and a fresh runner's answer leaves the key out.
#[tokio::test]
async fn answers_need_no_field_their_rules_require_of_requests() {
    let document = runner_server::openapi::document();
    let schemas = document["components"]["schemas"].as_object().unwrap();
    let status = &schemas["gitpod.v1.RunnerStatus"];
    assert!(status.get("required").is_none(), "{status}");
    assert!(schemas["gitpod.v1.CreateRunnerResponse"].get("required").is_none());
    // Requests keep theirs: GetRunner needs its runnerId (an empty one is no UUID).
    assert_eq!(schemas["gitpod.v1.GetRunnerRequest"]["required"], json!(["runnerId"]));

    let server = TestServer::start().await;
    let (status, created) = server
        .post_json_as(
            &server.admin_token,
            "/api/gitpod.v1.RunnerService/CreateRunner",
            json!({ "name": "No key yet", "provider": "RUNNER_PROVIDER_GCP" }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let runner_id = created["runner"]["runnerId"].as_str().unwrap();
    let (status, got) = server
        .post_json_as(&server.admin_token, "/api/gitpod.v1.RunnerService/GetRunner", json!({ "runnerId": runner_id }))
        .await;
    assert_eq!(status, 200, "{got}");
    assert!(got["runner"]["status"].get("publicKey").is_none(), "{got}");
}
