//! The web console (`web/`, built with Vite into `web/dist`), served from `--console-dir` at `/`.
//!
//! Only GET and HEAD requests for paths that are not the API's reach it: a file of the directory
//! when there is one, else `index.html` (the console routes inside the page). Everything else,
//! including every path of the RPCs, the `/api` prefix, health, readiness and metrics, goes to
//! the API exactly as without a console.

use std::convert::Infallible;
use std::path::{Path, PathBuf};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use http::header::CACHE_CONTROL;
use http::{HeaderValue, Method};
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

/// `app` with the console in `dir` in front of it, for GET and HEAD of non-API paths.
pub fn serve(app: Router, dir: PathBuf) -> Router {
    let files = ServeDir::new(&dir).fallback(ServeFile::new(dir.join("index.html")));
    app.layer(from_fn_with_state(files, console))
}

async fn console(State(files): State<ServeDir<ServeFile>>, req: Request, next: Next) -> Response {
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
