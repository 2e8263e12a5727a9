//! The web console (`web/`, built with Vite into `web/dist`), served from `--console-dir` at `/`.
//!
//! Only GET and HEAD requests for paths that are not the API's reach it: a file of the directory
//! when there is one, else `index.html` (the console routes inside the page). Everything else,
//! including every path of the RPCs, the `/api` prefix, health, readiness and metrics, goes to
//! the API exactly as without a console.
//!
//! Without a console, [`front`] answers the same requests: `/` (and `/api/`) with a plain text
//! page saying that this is the API server, where its methods are, how to serve the console and
//! where the documentation is; any other such path with a 404 pointing at that page.

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::call::CallKind;

/// Checks that `dir` holds a built console, for a start-up error that says what to do.
pub fn check_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.join("index.html").is_file() {
        Ok(())
    } else {
        anyhow::bail!(
            "console directory {} has no index.html; build the console first: (cd web && npm ci && npm run build)",
            dir.display()
        )
    }
}

/// What answers GET and HEAD of non-API paths, in front of the API ([`front`]): the console's
/// files, or the page that explains the address.
#[derive(Clone)]
pub enum Front {
    Console(ServeDir<ServeFile>),
    /// The page of `/` and the text of a 404.
    Explain(Arc<(String, String)>),
}

impl Front {
    /// The console in `dir`, or without one the page for a server at `public_url`.
    pub fn new(console_dir: Option<&Path>, public_url: &str) -> Self {
        match console_dir {
            Some(dir) => Self::Console(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")))),
            None => {
                let url = public_url.trim_end_matches('/');
                Self::Explain(Arc::new((
                    root_page(url),
                    format!("Nothing here. This is the runner API server; see {url}/\n"),
                )))
            }
        }
    }
}

/// The middleware of [`Front`]: the console for GET and HEAD of non-API paths; without a
/// console, GET and HEAD of `/` (or `/api/`) get the page that explains the address, of any
/// other non-API path a 404 that points at it. Everything else goes on to the API.
pub async fn front(State(front): State<Front>, req: Request, next: Next) -> Response {
    match front {
        Front::Console(files) => console(files, req, next).await,
        Front::Explain(texts) => explain_page(&texts, req, next).await,
    }
}

async fn console(files: ServeDir<ServeFile>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) || CallKind::get(&req).api_path {
        return next.run(req).await;
    }
    // Vite names the files under /assets/ by their content hash; the rest must be revalidated.
    let immutable = req.uri().path().starts_with("/assets/");
    let Ok::<_, Infallible>(response) = files.oneshot(req).await;
    let mut response = response.map(Body::new);
    let cache =
        if immutable && response.status().is_success() { "public, max-age=31536000, immutable" } else { "no-cache" };
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

async fn explain_page(texts: &(String, String), req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let kind = CallKind::get(&req);
    let (status, text) = if req.uri().path() == "/" {
        (StatusCode::OK, texts.0.clone())
    } else if !kind.api_path {
        (StatusCode::NOT_FOUND, texts.1.clone())
    } else {
        return next.run(req).await;
    };
    let mut response = (status, text).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The text of `/` without a console.
fn root_page(url: &str) -> String {
    format!(
        "runner-server {version}: the Ona (formerly Gitpod) runner management API server.

This address serves the API, not web pages:
  RPCs     POST {url}/api/gitpod.v1.RunnerService/METHOD and {url}/api/gitpod.v1.RunnerConfigurationService/METHOD
           (also without /api) over gRPC, gRPC-web and Connect (JSON or binary); gRPC server reflection lists them
  try      curl -H 'Authorization: Bearer TOKEN' -H 'Content-Type: application/json' -d '{{}}' \\
             {url}/api/gitpod.v1.RunnerService/ListRunners
  probes   {url}/healthz (alive), {url}/readyz (ready), {url}/metrics (Prometheus), grpc.health.v1.Health
  OpenAPI  {url}/openapi.json (and /openapi.yaml): the Connect JSON API described, for REST tools

The web console is not served here. To serve it from this address, build it and restart with --console-dir:
  (cd web && npm ci && npm run build)
  runner-server --console-dir web/dist
or host web/dist anywhere else and enter {url} as the API URL on its sign-in page.

Documentation: README.md in the source, sections \"Using the API\", \"Identity and tokens\" (the admin
token and more tokens), \"Web console\", \"Run a runner\" and \"Server options\"; behaviour in docs/.
",
        version = env!("CARGO_PKG_VERSION"),
    )
}
