//! The web console served with `console_dir` (`--console-dir`): its files and the page for any
//! other non-API path, while every API path answers as without it, on every protocol and from
//! other origins.

use gitpod_api::gitpod::v1::*;
use runner_server::MountOptions;

use runner_testkit::{ALL, TestServer, rs};

const INDEX: &str = "<!doctype html><title>Runner console</title><div id=app></div>";
const SCRIPT: &str = "console.log('console');";

/// A built console (index.html and one hashed asset) in `dist` of a temporary directory, next
/// to a file the console must not serve.
fn console_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let dist = root.path().join("dist");
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(dist.join("index.html"), INDEX).unwrap();
    std::fs::write(dist.join("assets/index-3f2a9c.js"), SCRIPT).unwrap();
    std::fs::write(root.path().join("secret.txt"), "outside").unwrap();
    (root, dist)
}

fn with_console(dist: &std::path::Path) -> MountOptions {
    MountOptions { console_dir: Some(dist.to_owned()), ..Default::default() }
}

async fn get(url: String) -> reqwest::Response {
    reqwest::Client::new().get(url).send().await.unwrap()
}

#[tokio::test]
async fn console_files_and_the_page_for_other_paths() {
    let (_root, dist) = console_dir();
    let server = TestServer::builder().mount(with_console(&dist)).start().await;

    let index = get(format!("{}/", server.url())).await;
    assert_eq!(index.status().as_u16(), 200);
    assert!(index.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(index.headers()["cache-control"], "no-cache");
    assert_eq!(index.text().await.unwrap(), INDEX);

    let script = get(format!("{}/assets/index-3f2a9c.js", server.url())).await;
    assert_eq!(script.status().as_u16(), 200);
    assert!(script.headers()["content-type"].to_str().unwrap().contains("javascript"));
    assert_eq!(script.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(script.text().await.unwrap(), SCRIPT);

    // Any other path is the page, which routes inside itself.
    for path in ["/runners", "/runners/0190c6d4-0000-7000-8000-000000000000", "/index.html"] {
        let page = get(format!("{}{path}", server.url())).await;
        assert_eq!(page.status().as_u16(), 200, "{path}");
        assert_eq!(page.text().await.unwrap(), INDEX, "{path}");
    }
    let head = reqwest::Client::new().head(format!("{}/", server.url())).send().await.unwrap();
    assert_eq!(head.status().as_u16(), 200);
    // No escape from the directory (an encoded `..`, which the client does not normalize away).
    let outside = get(format!("{}/..%2Fsecret.txt", server.url())).await;
    assert_eq!(outside.text().await.unwrap(), INDEX);
}

#[tokio::test]
async fn the_api_is_never_shadowed_by_the_console() {
    let (_root, dist) = console_dir();
    let server = TestServer::builder().mount(with_console(&dist)).start().await;

    // Every protocol, at the plain path and under /api.
    for protocol in ALL {
        let client = server.client(protocol).await;
        let _: ListRunnersResponse = client.call(&rs("ListRunners"), ListRunnersRequest::default()).await.unwrap();
    }
    let (status, body) =
        server.post_json_as(&server.admin_token, &format!("/api{}", rs("ListRunners")), serde_json::json!({})).await;
    assert_eq!((status, body["runners"].clone()), (200, serde_json::json!([])));

    // GET on API paths is the API's: Connect GET, an unknown method, health, metrics.
    for path in [
        format!("/api{}?encoding=json&message=%7B%7D", rs("ListRunners")),
        rs("NoSuchMethod"),
        "/api/anything".to_owned(),
        "/grpc.health.v1.Health/Check".to_owned(),
    ] {
        let response = get(format!("{}{path}", server.url())).await;
        assert_ne!(response.text().await.unwrap(), INDEX, "{path}");
    }
    let healthz = get(format!("{}/healthz", server.url())).await;
    assert_eq!(healthz.text().await.unwrap(), "ok\n");
    let metrics = get(format!("{}/metrics", server.url())).await;
    assert!(metrics.text().await.unwrap().contains("rpc_requests_total"));

    // A page from another origin still calls the API (preflight, then the call).
    let http = reqwest::Client::new();
    let preflight = http
        .request(reqwest::Method::OPTIONS, format!("{}{}", server.url(), rs("ListRunners")))
        .header("origin", "http://other.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-grpc-web,authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 200);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "http://other.example");
    let call = http
        .post(format!("{}{}", server.url(), rs("ListRunners")))
        .bearer_auth(&server.admin_token)
        .header("origin", "http://other.example")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(call.status().as_u16(), 200);
    assert_eq!(call.headers()["access-control-allow-origin"], "http://other.example");
}

#[tokio::test]
async fn without_a_console_dir_the_root_explains_the_api_server() {
    let (_root, dist) = console_dir();
    let plain = TestServer::start().await;
    let with = TestServer::builder().mount(with_console(&dist)).start().await;
    // Not the console: the page saying how to serve it (api/protocol.rs checks the page).
    let root = get(format!("{}/", plain.url())).await;
    assert!(root.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = root.text().await.unwrap();
    assert!(text.contains("--console-dir") && text != INDEX, "{text}");
    // POST to a non-API path is not the console's either: the same answer as without one.
    let post = |base: String| async move {
        let r = reqwest::Client::new().post(format!("{base}/runners")).body("x").send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    assert_eq!(post(plain.url()).await, post(with.url()).await);
}
