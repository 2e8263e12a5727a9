//! Connect GET (`GET /<service>/<method>?connect=v1&encoding=json|proto[&base64=1][&compression=gzip]&message=…`):
//! served for exactly the methods the descriptors mark `NO_SIDE_EFFECTS`, by the same handler as
//! POST, under `/api` too, with the same authentication and errors; 405 with `Allow: POST` for
//! every other method; a clear error for a GET with a body or an unknown encoding.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use gitpod_api::gitpod::v1::*;
use prost::Message;
use serde_json::{Value, json};

use runner_testkit::{Protocol, TestServer, rs};

/// `?connect=v1&encoding=json&message=<url-encoded JSON>`.
fn json_query(message: &Value) -> String {
    let message: String = form_urlencoded::byte_serialize(message.to_string().as_bytes()).collect();
    format!("?connect=v1&encoding=json&message={message}")
}

struct Answer {
    status: u16,
    content_type: String,
    allow: Option<String>,
    body: bytes::Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

async fn get(http: &reqwest::Client, url: &str, token: Option<&str>) -> Answer {
    let mut request = http.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    answer(request).await
}

async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let (content_type, allow) = (header("content-type").unwrap_or_default(), header("allow"));
    Answer { status: response.status().as_u16(), content_type, allow, body: response.bytes().await.unwrap() }
}

#[tokio::test]
async fn get_is_served_for_exactly_the_side_effect_free_methods() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let mut served = Vec::new();
    let mut api_rpcs: Vec<_> = runner_server::call::rpcs().values().filter(|r| r.is_api()).collect();
    api_rpcs.sort_by(|a, b| a.path.cmp(&b.path));
    for rpc in api_rpcs {
        let url = format!("{}{}{}", server.url(), rpc.path, json_query(&json!({})));
        let a = get(&http, &url, Some(&server.admin_token)).await;
        if !runner_server::mount::is_served(&rpc.path) {
            // Not served (the services not served yet): unimplemented like a POST,
            // when GET would be served for it; 405 otherwise.
            if rpc.side_effect_free {
                assert_eq!((a.status, a.json()["code"].as_str()), (501, Some("unimplemented")), "{}", rpc.path);
            } else {
                assert_eq!((a.status, a.allow.as_deref()), (405, Some("POST")), "{}", rpc.path);
            }
        } else if rpc.side_effect_free {
            served.push(rpc.method.clone());
            // Served: an answer or a Connect error in JSON (an empty request may be invalid), never 405.
            assert_ne!(a.status, 405, "{}", rpc.path);
            assert!(a.content_type.starts_with("application/json"), "{} {}", rpc.path, a.content_type);
            if a.status != 200 {
                assert!(a.json()["code"].is_string(), "{}: {:?}", rpc.path, a.body);
            }
        } else {
            assert_eq!((a.status, a.allow.as_deref()), (405, Some("POST")), "{}", rpc.path);
        }
    }
    served.sort();
    assert_eq!(
        served,
        [
            "GetAccount",
            "GetAuditLog",
            "GetAuthenticatedIdentity",
            "GetAuthenticatedUser",
            "GetEnvironmentClass",
            "GetGroup",
            "GetHostAuthenticationToken",
            "GetLLMIntegration",
            "GetMembership",
            "GetOrganization",
            "GetOrganizationInviteSummary",
            "GetPersonalAccessToken",
            "GetRunner",
            "GetRunnerConfigurationSchema",
            "GetSCMIntegration",
            "GetSSOConfiguration",
            "GetSSOLoginURL",
            "GetServiceAccount",
            "GetServiceAccountToken",
            "GetUser",
            "ListAuditLogs",
            "ListEnvironmentClasses",
            "ListGroups",
            "ListHostAuthenticationTokens",
            "ListJoinableOrganizations",
            "ListLLMIntegrations",
            "ListLoginProviders",
            "ListMembers",
            "ListMemberships",
            "ListPersonalAccessTokens",
            "ListRoleAssignments",
            "ListRunnerPolicies",
            "ListRunners",
            "ListSCMIntegrations",
            "ListSSOConfigurations",
            "ListServiceAccountTokens",
            "ListServiceAccounts",
        ]
    );
    // Whatever the query says, a method without the option is not served over GET.
    let url = format!("{}/api{}?connect=v1&encoding=xml", server.url(), rs("CreateRunner"));
    let a = get(&http, &url, Some(&server.admin_token)).await;
    assert_eq!((a.status, a.allow.as_deref()), (405, Some("POST")));
}

#[tokio::test]
async fn get_answers_as_post_does() {
    let server = TestServer::start().await;
    let client = server.client(Protocol::ConnectJson).await;
    for name in ["get one", "get two", "get three"] {
        crate::runners::create(&client, crate::runners::aws_runner(name)).await.unwrap();
    }
    let token = server.admin_token.clone();
    let http = reqwest::Client::new();
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();

    // ListRunners: the same page as the POST, with and without /api, over HTTP/1.1 and h2.
    let request = json!({"pagination": {"pageSize": 2}});
    let (status, posted) = server.post_json_as(&token, &rs("ListRunners"), request.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(posted["runners"].as_array().map(Vec::len), Some(2));
    for (client, prefix) in [(&http, ""), (&http, "/api"), (&h2, ""), (&h2, "/api")] {
        let url = format!("{}{prefix}{}{}", server.url(), rs("ListRunners"), json_query(&request));
        let a = get(client, &url, Some(&token)).await;
        assert_eq!((a.status, a.content_type.as_str()), (200, "application/json"), "{prefix}");
        assert_eq!(a.json(), posted, "{prefix}");
    }

    // GetRunner in binary: base64url without padding, with padding, and gzip-compressed.
    let id = posted["runners"][0]["runnerId"].as_str().unwrap().to_owned();
    let message = GetRunnerRequest { runner_id: id.clone() }.encode_to_vec();
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&message).unwrap();
    let gzipped = gzip.finish().unwrap();
    for query in [
        format!("encoding=proto&base64=1&message={}", URL_SAFE_NO_PAD.encode(&message)),
        format!("encoding=proto&base64=1&message={}", URL_SAFE.encode(&message).replace('=', "%3D")),
        format!("encoding=proto&base64=1&compression=gzip&message={}", URL_SAFE_NO_PAD.encode(&gzipped)),
    ] {
        let url = format!("{}/api{}?connect=v1&{query}", server.url(), rs("GetRunner"));
        let a = get(&http, &url, Some(&token)).await;
        assert_eq!((a.status, a.content_type.as_str()), (200, "application/proto"), "{query}: {:?}", a.body);
        let runner = GetRunnerResponse::decode(a.body).unwrap().runner.unwrap();
        assert_eq!(runner.runner_id, id, "{query}");
    }
    // JSON, gzip-compressed and base64url.
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(json!({"runnerId": id}).to_string().as_bytes()).unwrap();
    let query =
        format!("encoding=json&base64=1&compression=gzip&message={}", URL_SAFE_NO_PAD.encode(gzip.finish().unwrap()));
    let a = get(&http, &format!("{}{}?connect=v1&{query}", server.url(), rs("GetRunner")), Some(&token)).await;
    assert_eq!((a.status, a.json()["runner"]["runnerId"].as_str()), (200, Some(id.as_str())));

    // Errors: Connect error JSON with the usual HTTP status, details included.
    let get_runner = |id: &str| format!("{}{}{}", server.url(), rs("GetRunner"), json_query(&json!({"runnerId": id})));
    let a = get(&http, &get_runner(&id), None).await;
    assert_eq!((a.status, a.json()["code"].as_str()), (401, Some("unauthenticated")));
    let a = get(&http, &get_runner(&id), Some("gpat_wrong")).await;
    assert_eq!((a.status, a.json()["code"].as_str()), (401, Some("unauthenticated")));
    let a = get(&http, &get_runner("not-a-uuid"), Some(&token)).await;
    let body = a.json();
    assert_eq!((a.status, body["code"].as_str()), (400, Some("invalid_argument")));
    assert_eq!(body["details"][0]["type"], "google.rpc.BadRequest", "{body}");
    let a = get(&http, &get_runner(&uuid::Uuid::now_v7().to_string()), Some(&token)).await;
    assert_eq!((a.status, a.json()["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn malformed_gets_get_clear_errors() {
    let server = TestServer::start().await;
    let token = server.admin_token.clone();
    let http = reqwest::Client::new();
    let list = format!("{}{}", server.url(), rs("ListRunners"));
    let cases = [
        ("?connect=v1&encoding=xml&message=%7B%7D", 400, "invalid_argument", "invalid message encoding \"xml\""),
        ("?connect=v1&message=%7B%7D", 400, "invalid_argument", "missing encoding parameter"),
        ("?connect=v1&encoding=json", 400, "invalid_argument", "missing message parameter"),
        ("?connect=v2&encoding=json&message=%7B%7D", 400, "invalid_argument", "connect must be \"v1\""),
        ("?connect=v1&encoding=json&message=%7Bnot%20json", 400, "invalid_argument", "failed to decode JSON message"),
        ("?connect=v1&encoding=proto&base64=1&message=*", 400, "invalid_argument", "Invalid"),
        // As for a POST in a compression the server does not speak (connect-go says the same).
        ("?connect=v1&encoding=json&compression=br&message=%7B%7D", 501, "unimplemented", "unsupported compression"),
    ];
    for (query, status, code, message) in cases {
        let a = get(&http, &format!("{list}{query}"), Some(&token)).await;
        let body = a.json();
        assert_eq!((a.status, body["code"].as_str()), (status, Some(code)), "{query}: {body}");
        assert!(body["message"].as_str().unwrap().contains(message), "{query}: {body}");
    }
    // A body: the message belongs in the query string.
    let a = answer(http.get(format!("{list}{}", json_query(&json!({})))).bearer_auth(&token).body("{}")).await;
    let body = a.json();
    assert_eq!((a.status, body["code"].as_str()), (400, Some("invalid_argument")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("has no body"), "{body}");
}
