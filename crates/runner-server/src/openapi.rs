//! The OpenAPI 3.1 description of the Connect JSON API this server serves, built by
//! [`proto_openapi`] from the descriptor set and the server's own list of mounted RPCs
//! ([`crate::mount::served_rpcs`]): served at `GET /openapi.json` and `/openapi.yaml` (under
//! `/api` too), written to `docs/openapi.json` by `runner-server openapi`.

use std::sync::OnceLock;

use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};

const DESCRIPTION: &str = "The Ona (formerly Gitpod) runner management API as this server serves it over the \
Connect protocol's JSON form: every unary RPC is `POST /SERVICE/METHOD` with the request message as a JSON \
body (`Content-Type: application/json`), and the answer is the response message as JSON, or a Connect error \
(`code`, `message`, `details`) with the HTTP status of its code. Methods without side effects can also be \
called with `GET` (the Connect GET form). Messages are in proto3 JSON form: lowerCamelCase field names \
(the proto names are accepted too), enums by name, 64-bit integers as strings, `bytes` as base64, \
timestamps as RFC 3339 strings; unknown fields are ignored.

The same methods are served over gRPC, gRPC-web and Connect's binary encoding on the same port; this \
document describes the JSON form only, and unary methods only: the server-streaming `EventService/WatchEvents` is served on every protocol and as JSON lines (`Accept: application/jsonl`), but is not described here. It is generated from the API's protobuf descriptors: the proto \
comments are the descriptions and the declared `buf.validate` rules the schema constraints.";

const BEARER: &str = "`Authorization: Bearer TOKEN`: a personal access token (the first start prints the \
admin's; `runner-server admin issue-token` makes more), or for the runner-side methods a runner's access \
token.";

/// The document, built once.
pub fn document() -> &'static serde_json::Value {
    static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let options = proto_openapi::Options {
            title: "Ona runner management API (runner-server)",
            version: env!("CARGO_PKG_VERSION"),
            description: DESCRIPTION,
            prefixes: &["/api", ""],
            bearer_description: BEARER,
            license: Some(env!("CARGO_PKG_LICENSE")),
            public: &crate::handlers::PUBLIC_RPCS,
        };
        // Streaming methods (WatchEvents) have no place in a document of unary JSON calls: they
        // are left out on purpose (README, "Watching events", says how to call them).
        let unary: Vec<String> = crate::mount::served_rpcs()
            .into_iter()
            .filter(|path| crate::call::rpcs().get(path).is_none_or(|rpc| rpc.is_unary()))
            .collect();
        proto_openapi::document(gitpod_api::FILE_DESCRIPTOR_SET, &unary, &options)
            .expect("the served RPCs are described from the descriptor set")
    })
}

/// The document as pretty-printed JSON with a final newline: what `docs/openapi.json` holds.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut text = serde_json::to_string_pretty(document()).expect("a JSON value serializes");
        text.push('\n');
        text
    })
}

/// The document in YAML.
pub fn yaml() -> &'static str {
    static YAML: OnceLock<String> = OnceLock::new();
    YAML.get_or_init(|| serde_yaml::to_string(document()).expect("a JSON value serializes as YAML"))
}

/// `GET /openapi.json`.
pub async fn json_endpoint() -> Response {
    text(json(), "application/json")
}

/// `GET /openapi.yaml`.
pub async fn yaml_endpoint() -> Response {
    text(yaml(), "application/yaml")
}

fn text(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
