//! The benchmark's ceiling: a trivial axum server answering each benchmarked call with the
//! precomputed bytes our server answered it with (captured by the benchmark), so that both are
//! measured moving the same bytes. It reads the request body, as any server must, and does
//! nothing else: no authentication, no decoding, no storage.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use http_body::Frame;
use serde::{Deserialize, Serialize};

/// One canned answer: for a POST to `path` whose content type is gRPC (`grpc`) or not.
#[derive(Debug, Serialize, Deserialize)]
pub struct Canned {
    pub path: String,
    pub grpc: bool,
    pub content_type: String,
    pub body_file: PathBuf,
}

struct Answer {
    content_type: HeaderValue,
    body: Bytes,
    grpc: bool,
}

type Table = Arc<HashMap<(String, bool), Answer>>;

/// Serves the answers listed in the JSON file `manifest` (a list of [`Canned`]) until killed.
pub async fn serve(listen: SocketAddr, manifest: &Path) -> anyhow::Result<()> {
    let canned: Vec<Canned> =
        serde_json::from_slice(&std::fs::read(manifest)?).with_context(|| format!("reading {}", manifest.display()))?;
    let mut table = HashMap::new();
    for c in canned {
        let body =
            Bytes::from(std::fs::read(&c.body_file).with_context(|| format!("reading {}", c.body_file.display()))?);
        let content_type = HeaderValue::from_str(&c.content_type)?;
        table.insert((c.path, c.grpc), Answer { content_type, body, grpc: c.grpc });
    }
    let app = Router::new().fallback(answer).with_state(Arc::new(table));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    // Nagle off, as on our server: otherwise a small answer waits for the client's delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

async fn answer(State(table): State<Table>, request: Request) -> Response {
    let grpc =
        request.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    let key = (request.uri().path().to_owned(), grpc);
    if axum::body::to_bytes(request.into_body(), 4 * 1024 * 1024).await.is_err() {
        return status(StatusCode::BAD_REQUEST);
    }
    let Some(answer) = table.get(&key) else { return status(StatusCode::NOT_FOUND) };
    let body = if answer.grpc {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        let frames =
            [Ok::<_, std::convert::Infallible>(Frame::data(answer.body.clone())), Ok(Frame::trailers(trailers))];
        Body::new(http_body_util::StreamBody::new(futures::stream::iter(frames)))
    } else {
        Body::from(answer.body.clone())
    };
    let mut response = Response::new(body);
    response.headers_mut().insert(header::CONTENT_TYPE, answer.content_type.clone());
    response
}

fn status(code: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response
}
