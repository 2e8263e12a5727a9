//! Transport layers around the protocol switch. None of them holds business logic:
//!
//! - [`call`]: the one middleware every request passes inside CORS: telemetry
//!   ([`crate::telemetry::observe`]), the audit scope ([`crate::audit::scope`]) and [`rpc_guard`],
//!   in that order, on the call's [`CallKind`] read once. One layer, not three: axum clones a
//!   route's whole layer stack and boxes a future per layer on every call;
//! - [`EmptyLists`]: Connect JSON answers name their list fields even when they are empty;
//! - [`rpc_guard`]: what connectrpc-axum and tonic leave to us — `grpc-timeout` enforcement
//!   and the message size limit on gRPC and gRPC-web (`resource_exhausted`), a Connect
//!   error (`unimplemented`) for a unary request in a compression we do not speak, Connect
//!   errors for a GET that carries a body or names an encoding other than `json` and `proto`,
//!   and answers with a body that says what to fix for a path that names no RPC (404
//!   `unimplemented`, or gRPC's `unimplemented` status) and for a request to an RPC in no content
//!   type we speak (415 `invalid_argument` with `Accept-Post`), which would otherwise get empty
//!   bodies.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use connectrpc_axum::prelude::{Code, ConnectError};
use http::HeaderValue;
use http::header::{ACCEPT, CONTENT_ENCODING, CONTENT_TYPE};
use http_body_util::{BodyExt, Limited};

use crate::call::{CallKind, ClientDeadline, Protocol};

/// Limits the guard enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request message, in bytes (before any compression is undone).
    pub max_message_bytes: usize,
}

/// What [`call`] needs.
#[derive(Clone)]
pub struct CallLayer {
    pub limits: Limits,
    /// Where the audit entries of authorization failures go.
    pub store: std::sync::Arc<dyn runner_core::store::Store>,
}

/// The middleware; see the module documentation.
pub async fn call(State(layer): State<CallLayer>, req: Request, next: Next) -> Response {
    let kind = CallKind::get(&req);
    let CallLayer { limits, store } = layer;
    crate::telemetry::observe(&kind, req, |req| {
        crate::audit::scope(&kind, &store, req, |req| rpc_guard(State(limits), req, next))
    })
    .await
}

pub async fn rpc_guard(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    let kind = CallKind::get(&req);
    if let Some(answer) = unroutable(&kind, &req) {
        // Read a declared body first, so that an HTTP/1.1 connection stays usable.
        let _ = read_declared_body(limits, req).await;
        return answer;
    }
    if req.method() == http::Method::GET
        && let Some(rpc) = kind.rpc
    {
        let refused = if rpc.side_effect_free && rpc.is_unary() {
            connect_get_refusal(&req)
        } else {
            // Whatever its query says: only NO_SIDE_EFFECTS methods are served over GET.
            let mut response = http::StatusCode::METHOD_NOT_ALLOWED.into_response();
            response.headers_mut().insert(http::header::ALLOW, HeaderValue::from_static("POST"));
            Some(response)
        };
        if let Some(refused) = refused {
            return refused;
        }
    }
    // The Stainless SDKs' form of a server-streaming call: JSON in, JSON lines out.
    if kind.protocol == Protocol::ConnectJson && kind.streaming() && accepts_jsonl(&req) {
        return jsonl_bridge(limits, kind, req, next).await;
    }
    // Health and reflection: tonic alone serves them, so Connect calls to them are bridged.
    let tonic_only = kind.rpc.is_some_and(|r| !r.is_api());
    match kind.protocol {
        Protocol::ConnectStreamProto if tonic_only => connect_stream_bridge(req, next).await,
        Protocol::ConnectProto if tonic_only => connect_unary_bridge(limits, req, next).await,
        protocol if protocol.is_grpc_family() => grpc_guard(limits, &kind, req, next).await,
        _ => connect_guard(limits, req, next).await,
    }
}

/// Every content type the port speaks, for `Accept-Post`.
const ACCEPT_POST: &str = "application/json, application/proto, application/connect+json, application/connect+proto, \
     application/grpc, application/grpc+proto, application/grpc-web, application/grpc-web+proto, \
     application/grpc-web-text, application/grpc-web-text+proto";

/// The answer for a request no service can take, in the caller's protocol, or `None` to go on.
/// A path that names no RPC gets `unimplemented` (HTTP 404 on Connect, as connect-go answers an
/// unknown procedure), a method of the descriptors no handler is mounted for `unimplemented`
/// with HTTP 501; an RPC's path without a content type we speak gets 415 with
/// `Accept-Post`, as the Connect protocol asks, and an `invalid_argument` body saying what to
/// send. Probes are left to their routes, and GET and HEAD of paths outside the API to the
/// console or the root page (which answer them before this layer).
fn unroutable(kind: &CallKind, req: &Request) -> Option<Response> {
    let page = matches!(*req.method(), http::Method::GET | http::Method::HEAD) && !kind.api_path;
    if kind.probe || page {
        return None;
    }
    // A method of the descriptors that no handler is mounted for (the services not
    // served yet): `unimplemented` with its own HTTP status (501), as connect-go answers a method
    // without a handler, instead of the router's bare 404. So is a Connect GET of one that is
    // free of side effects; a GET of any other goes on to the 405 of every POST-only method.
    let unserved = kind.rpc.filter(|r| r.is_api() && !crate::mount::is_served(&r.path));
    let asked = match *req.method() {
        http::Method::POST => true,
        http::Method::GET => unserved.is_some_and(|r| r.side_effect_free && r.is_unary()),
        _ => false,
    };
    if unserved.is_some() && asked && kind.protocol != Protocol::Other {
        let message = format!("{} is not implemented by this server", req.uri().path());
        if kind.protocol.is_grpc_family() {
            return Some(grpc_error(kind.protocol, tonic::Code::Unimplemented, &message));
        }
        return Some(connect_error(Code::Unimplemented, &message));
    }
    if kind.rpc.is_none() {
        let message = crate::call::unknown_method_message(req.uri().path());
        if kind.protocol.is_grpc_family() {
            return Some(grpc_error(kind.protocol, tonic::Code::Unimplemented, &message));
        }
        let mut response = connect_error(Code::Unimplemented, &message);
        *response.status_mut() = http::StatusCode::NOT_FOUND;
        return Some(response);
    }
    if kind.protocol != Protocol::Other || req.method() != http::Method::POST {
        return None;
    }
    let sent = match req.headers().get(CONTENT_TYPE) {
        None => "the request has no Content-Type".to_owned(),
        Some(v) => format!("unsupported Content-Type {:?}", v.to_str().unwrap_or("(not text)")),
    };
    let mut response = connect_error(
        Code::InvalidArgument,
        &format!(
            "{sent}: send Content-Type: application/json (Connect JSON) or application/proto (Connect binary); \
             gRPC and gRPC-web clients send application/grpc and application/grpc-web"
        ),
    );
    *response.status_mut() = http::StatusCode::UNSUPPORTED_MEDIA_TYPE;
    response.headers_mut().insert("accept-post", HeaderValue::from_static(ACCEPT_POST));
    Some(response)
}

async fn connect_guard(limits: Limits, req: Request, next: Next) -> Response {
    let req = match read_declared_body(limits, req).await {
        Ok(req) => req,
        Err(refused) => return refused,
    };
    // A JSON body kept for a better error if it does not decode (cheap: `Bytes` is shared).
    let json_body = match CallKind::get(&req) {
        kind if kind.protocol == Protocol::ConnectJson && kind.rpc.is_some_and(|r| r.is_api()) => {
            req.extensions().get::<DeclaredBody>().map(|b| (kind.rpc, b.0.clone()))
        }
        _ => None,
    };
    let mut compressed = false;
    if let Some(encoding) = req.headers().get(CONTENT_ENCODING) {
        let encoding = encoding.to_str().unwrap_or("?").trim().to_ascii_lowercase();
        if encoding != "gzip" && encoding != "identity" {
            let mut response = connect_error(
                Code::Unimplemented,
                &format!("unsupported content encoding {encoding:?}; supported encodings are gzip, identity"),
            );
            response.headers_mut().insert("accept-encoding", HeaderValue::from_static("gzip, identity"));
            return response;
        }
        compressed = encoding == "gzip";
    }
    let response = next.run(req).await;
    if compressed && response.status() == http::StatusCode::INTERNAL_SERVER_ERROR {
        return undecodable_gzip(response).await;
    }
    match json_body {
        Some((Some(rpc), body)) if !compressed && response.status() == http::StatusCode::BAD_REQUEST => {
            undecodable_json(response, &rpc.input, &body).await
        }
        _ => response,
    }
}

/// The body of a Connect unary request, read before the call ([`read_declared_body`]).
#[derive(Clone)]
struct DeclaredBody(bytes::Bytes);

/// A JSON request that did not decode because an enum field holds a value its enum does not
/// define (the generated JSON decoder refuses those, so the declared rules never see them):
/// the same `invalid_argument` as over the binary protocols, naming each such field.
async fn undecodable_json(response: Response, input: &str, body: &[u8]) -> Response {
    const DECODE_FAILURE: &str = "failed to decode JSON message: ";
    let (parts, answer) = response.into_parts();
    let Ok(bytes) = answer.collect().await.map(|c| c.to_bytes()) else {
        return connect_error(Code::Internal, "internal error");
    };
    let decode_failure = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .is_some_and(|v| v["message"].as_str().is_some_and(|m| m.starts_with(DECODE_FAILURE)));
    if decode_failure {
        let violations = crate::validation::undefined_enum_values(input, body);
        if !violations.is_empty() {
            return crate::error::to_connect(runner_core::CoreError::InvalidArgument(violations)).into_response();
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// What is wrong with a Connect GET of a method served over GET, if anything connectrpc-axum
/// would not say clearly: a body (the message belongs in the query string), or an encoding other
/// than `json` and `proto` (which it would answer with a bare 415).
fn connect_get_refusal(req: &Request) -> Option<Response> {
    let declared = req.headers().get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    let has_body = declared.is_some_and(|n| n.trim() != "0")
        || req.headers().contains_key(http::header::TRANSFER_ENCODING)
        || declared.is_none() && !axum::body::HttpBody::is_end_stream(req.body());
    if has_body {
        return Some(connect_error(
            Code::InvalidArgument,
            "a Connect GET request has no body: its message goes in the query string (message=…)",
        ));
    }
    match crate::call::query_value(req.uri(), "encoding").as_deref() {
        Some("json" | "proto") => None,
        Some(other) => Some(connect_error(
            Code::InvalidArgument,
            &format!("invalid message encoding {other:?}: a Connect GET names encoding=json or encoding=proto"),
        )),
        None => Some(connect_error(
            Code::InvalidArgument,
            "missing encoding parameter: a Connect GET names encoding=json or encoding=proto",
        )),
    }
}

/// Reads a Connect unary body whose length is declared and within the message limit before the
/// call runs. HTTP/1.1 keeps a connection only when the request body was read to its end, and a
/// call refused before its body is read (a missing or wrong token) would close it: a client that
/// reuses the socket meanwhile gets EPIPE. The read keeps to `connect-timeout-ms`; bodies of
/// unknown length (streamed) and oversized ones are left to connectrpc-axum.
async fn read_declared_body(limits: Limits, req: Request) -> Result<Request, Response> {
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_none_or(|n| n > limits.max_message_bytes) {
        return Ok(req);
    }
    let deadline = CallKind::get(&req).deadline;
    let (parts, body) = req.into_parts();
    let read = Limited::new(body, limits.max_message_bytes).collect();
    let collected = match deadline {
        ClientDeadline::At(at) => match tokio::time::timeout_at(at.into(), read).await {
            Ok(r) => r,
            Err(_) => return Err(connect_error(Code::DeadlineExceeded, "the request body did not arrive in time")),
        },
        ClientDeadline::None | ClientDeadline::Malformed => read.await,
    };
    match collected {
        Ok(c) => {
            let bytes = c.to_bytes();
            let mut req = Request::from_parts(parts, Body::from(bytes.clone()));
            req.extensions_mut().insert(DeclaredBody(bytes));
            Ok(req)
        }
        // The body is within the limit (checked above), so the read failed because the client
        // reset the stream or closed the connection before sending all of it: it cancelled.
        Err(_) => {
            Err(connect_error(Code::Canceled, "the client stopped sending the request body before its declared length"))
        }
    }
}

/// connectrpc-axum reports a request body it cannot read as `internal`; when the body was
/// declared gzip, that is the client's undecodable gzip: `invalid_argument`.
async fn undecodable_gzip(response: Response) -> Response {
    const BODY_FAILURE: &str = "failed to read request body: ";
    let (parts, body) = response.into_parts();
    let Ok(bytes) = body.collect().await.map(|c| c.to_bytes()) else {
        return connect_error(Code::Internal, "internal error");
    };
    let message = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["message"].as_str().and_then(|m| m.strip_prefix(BODY_FAILURE)).map(str::to_owned));
    match message {
        Some(cause) => connect_error(Code::InvalidArgument, &format!("request body is not valid gzip: {cause}")),
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}

/// Reads a unary request's message (within the message limit) and puts it in a frame (flags 0,
/// 4-byte length), as gRPC and Connect streaming carry messages.
async fn enveloped(limits: Limits, body: Body) -> Result<Vec<u8>, Response> {
    let message = match Limited::new(body, limits.max_message_bytes).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => return Err(connect_error(Code::ResourceExhausted, "request message too large")),
    };
    let mut framed = Vec::with_capacity(message.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(&message);
    Ok(framed)
}

/// Serves a binary Connect unary call (`grpc.health.v1.Health/Check`) with a tonic service:
/// the message gets a gRPC frame on the way in and loses it on the way out.
async fn connect_unary_bridge(limits: Limits, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let framed = match enveloped(limits, body).await {
        Ok(framed) => framed,
        Err(refused) => return refused,
    };
    parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    parts.headers.insert("te", HeaderValue::from_static("trailers"));
    // In process, frames and trailers pass whatever the client\'s HTTP version; tonic-web
    // refuses plain gRPC that claims HTTP/1.1.
    parts.version = http::Version::HTTP_2;
    let response = next.run(Request::from_parts(parts, Body::from(framed))).await;
    let (parts, body) = response.into_parts();
    let collected = match body.collect().await {
        Ok(c) => c,
        Err(e) => return connect_error(Code::Internal, &e.to_string()),
    };
    let status = grpc_status_of(&parts.headers).or_else(|| collected.trailers().and_then(grpc_status_of));
    match status {
        Some((0, _)) => {
            let data = collected.to_bytes();
            let message = if data.len() >= 5 { data.slice(5..) } else { bytes::Bytes::new() };
            ([(CONTENT_TYPE, "application/proto")], message).into_response()
        }
        Some((code, message)) => {
            ConnectError::from(tonic::Status::new(tonic::Code::from_i32(code), message)).into_response()
        }
        None => connect_error(Code::Internal, "no status from the service"),
    }
}

/// Serves a Connect streaming call (binary) with a tonic service, so that clients speaking
/// Connect (`buf curl --protocol connect`) can use server reflection. Connect and gRPC frame
/// messages the same way (flags byte, 4-byte length); only the end differs: gRPC ends with
/// trailers, Connect with an end-stream frame (flag 0x02) holding JSON.
async fn connect_stream_bridge(req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    parts.headers.insert("te", HeaderValue::from_static("trailers"));
    // In process, frames and trailers pass whatever the client\'s HTTP version; tonic-web
    // refuses plain gRPC that claims HTTP/1.1.
    parts.version = http::Version::HTTP_2;
    let response = next.run(Request::from_parts(parts, body)).await;
    let (mut parts, body) = response.into_parts();
    // A trailers-only answer has its status in the headers.
    let header_status = grpc_status_of(&parts.headers);
    parts.status = http::StatusCode::OK;
    parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/connect+proto"));
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin", "grpc-encoding"] {
        parts.headers.remove(name);
    }
    let frames = futures::stream::unfold(Some((body, header_status)), |state| async move {
        let (mut body, header_status) = state?;
        if let Some(status) = header_status {
            return Some((Ok::<_, axum::Error>(end_stream(status)), None));
        }
        match body.frame().await {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => Some((Ok(data), Some((body, None)))),
                Err(frame) => {
                    let status = frame.trailers_ref().and_then(grpc_status_of).unwrap_or((0, String::new()));
                    Some((Ok(end_stream(status)), None))
                }
            },
            Some(Err(e)) => Some((Ok(end_stream((13, e.to_string()))), None)),
            None => Some((Ok(end_stream((0, String::new()))), None)),
        }
    });
    Response::from_parts(parts, Body::from_stream(frames))
}

/// `grpc-status` and `grpc-message` from headers or trailers.
fn grpc_status_of(headers: &http::HeaderMap) -> Option<(i32, String)> {
    let code = headers.get("grpc-status")?.to_str().ok()?.parse().ok()?;
    let message = headers.get("grpc-message").and_then(|m| m.to_str().ok()).unwrap_or_default();
    let message = percent_encoding::percent_decode_str(message).decode_utf8_lossy().into_owned();
    Some((code, message))
}

/// The Connect end-stream frame for a gRPC status.
fn end_stream((code, message): (i32, String)) -> bytes::Bytes {
    let json = if code == 0 {
        serde_json::json!({})
    } else {
        let code = tonic::Code::from_i32(code);
        let name = ConnectError::from(tonic::Status::new(code, "")).code().as_str();
        serde_json::json!({ "error": { "code": name, "message": message } })
    };
    let payload = json.to_string().into_bytes();
    let mut frame = Vec::with_capacity(5 + payload.len());
    frame.push(0x02);
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(&payload);
    frame.into()
}

/// The content type of a JSON-lines stream.
const JSONL: &str = "application/jsonl";

/// How long the JSON-lines bridge waits for the stream's first frame before it answers 200:
/// a call the server refuses (validation, authentication, scope) has its error frame ready at
/// once, and gets an ordinary Connect error answer instead.
const JSONL_FIRST_FRAME_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

fn accepts_jsonl(req: &Request) -> bool {
    req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains(JSONL))
}

/// Serves a server-streaming method the way the Stainless SDKs call it (`events.watch()`): a
/// `POST` of `application/json` with `Accept: application/jsonl`, answered `application/jsonl`,
/// one proto3-JSON message per line, each flushed as it is produced. The call goes to the same
/// handler as a Connect streaming call (`application/connect+json`): the request is enveloped on
/// the way in, and the frames become lines on the way out. An error before the first message is
/// an ordinary Connect error answer (JSON body, HTTP status of its code); an error after it is
/// the last line, `{"error":{"code":…,"message":…}}`.
async fn jsonl_bridge(limits: Limits, mut kind: CallKind, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let framed = match enveloped(limits, body).await {
        Ok(framed) => framed,
        Err(refused) => return refused,
    };
    parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/connect+json"));
    parts.headers.remove(http::header::CONTENT_LENGTH);
    kind.protocol = Protocol::ConnectStreamJson;
    parts.extensions.insert(kind);
    let response = next.run(Request::from_parts(parts, Body::from(framed))).await;
    let (mut parts, body) = response.into_parts();
    if parts.status != http::StatusCode::OK {
        return Response::from_parts(parts, body);
    }
    let mut frames = ConnectFrames { body, buffer: bytes::BytesMut::new() };
    let first = match tokio::time::timeout(JSONL_FIRST_FRAME_WAIT, frames.next()).await {
        Ok(Some((flags, payload))) if flags & 0x02 != 0 => {
            let end: serde_json::Value = serde_json::from_slice(&payload).unwrap_or_default();
            match end.get("error") {
                Some(error) => return jsonl_error_answer(error),
                None => return ([(CONTENT_TYPE, JSONL)], Body::empty()).into_response(),
            }
        }
        Ok(Some(frame)) => Some(frame),
        Ok(None) => return connect_error(Code::Internal, "the stream ended without its end-of-stream message"),
        Err(_) => None,
    };
    parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSONL));
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let lines = futures::stream::unfold(Some((frames, first)), |state| async move {
        let (mut frames, first) = state?;
        let (flags, payload) = match first {
            Some(frame) => frame,
            None => frames.next().await?,
        };
        if flags & 0x02 == 0 {
            return Some((Ok::<_, axum::Error>(jsonl_line(&payload)), Some((frames, None))));
        }
        let end: serde_json::Value = serde_json::from_slice(&payload).unwrap_or_default();
        let error = end.get("error")?;
        let line = serde_json::to_vec(&serde_json::json!({ "error": error })).unwrap_or_default();
        Some((Ok(jsonl_line(&line)), None))
    });
    Response::from_parts(parts, Body::from_stream(lines))
}

/// The Stainless SDKs read a JSON-lines answer in 64-byte chunks (`iter_bytes(chunk_size=64)`)
/// and hold a partial chunk until more bytes arrive: a line that ended mid-chunk would reach the
/// caller only with the next event. So each line is padded with spaces (JSON whitespace, which
/// every JSON parser skips) to a multiple of 64 bytes, newline included.
const JSONL_LINE_ALIGN: usize = 64;

/// One line of a JSON-lines answer: the JSON, padding to [`JSONL_LINE_ALIGN`], a newline.
fn jsonl_line(json: &[u8]) -> bytes::Bytes {
    let padding = (JSONL_LINE_ALIGN - (json.len() + 1) % JSONL_LINE_ALIGN) % JSONL_LINE_ALIGN;
    let mut line = Vec::with_capacity(json.len() + padding + 1);
    line.extend_from_slice(json);
    line.resize(json.len() + padding, b' ');
    line.push(b'\n');
    line.into()
}

/// A Connect error from an end-of-stream frame as a unary error answer: the same JSON, with the
/// HTTP status of its code.
fn jsonl_error_answer(error: &serde_json::Value) -> Response {
    const CODES: [Code; 16] = [
        Code::Canceled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];
    let name = error["code"].as_str().unwrap_or_default();
    let code = CODES.into_iter().find(|c| c.as_str() == name).unwrap_or(Code::Internal);
    let status = connect_error(code, "").status();
    let body = serde_json::to_vec(error).unwrap_or_default();
    (status, [(CONTENT_TYPE, "application/json")], body).into_response()
}

/// The frames of a Connect streaming body: (flags, payload).
struct ConnectFrames {
    body: Body,
    buffer: bytes::BytesMut,
}

impl ConnectFrames {
    async fn next(&mut self) -> Option<(u8, bytes::Bytes)> {
        loop {
            if self.buffer.len() >= 5 {
                let length =
                    u32::from_be_bytes([self.buffer[1], self.buffer[2], self.buffer[3], self.buffer[4]]) as usize;
                if self.buffer.len() >= 5 + length {
                    let flags = self.buffer[0];
                    let payload = self.buffer.split_to(5 + length).split_off(5).freeze();
                    return Some((flags, payload));
                }
            }
            match self.body.frame().await? {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.extend_from_slice(&data);
                    }
                }
                Err(_) => return None,
            }
        }
    }
}

/// A Connect unary error response: JSON error body, HTTP status from the code.
pub fn connect_error(code: Code, message: &str) -> Response {
    ConnectError::new(code, message).into_response()
}

async fn grpc_guard(limits: Limits, kind: &CallKind, mut req: Request, next: Next) -> Response {
    let wire = kind.protocol;
    // tonic-web picks the answer's encoding from `Accept` alone; a text request from a client
    // that accepts anything (curl, many proxies) gets a text answer, as the gRPC-web spec
    // expects the response to mirror the request.
    if wire == Protocol::GrpcWebText {
        let accepts_grpc_web =
            req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/grpc-web"));
        if !accepts_grpc_web {
            req.headers_mut().insert(ACCEPT, HeaderValue::from_static("application/grpc-web-text"));
        }
    }
    let deadline = match kind.deadline {
        ClientDeadline::None => None,
        ClientDeadline::At(at) => Some(at),
        ClientDeadline::Malformed => {
            return grpc_error(wire, tonic::Code::InvalidArgument, "malformed grpc-timeout header");
        }
    };
    // The deadline covers reading the request too: a client that never finishes its body
    // gets its answer when its deadline passes. Only unary methods (and unknown paths, which
    // get their error after the body) are read ahead; streaming methods (reflection, health
    // watch) keep their streams, and tonic's decoding limit bounds their messages.
    let read_ahead = !kind.streaming();
    let call =
        async move { if read_ahead { limited_call(limits, wire, req, next).await } else { next.run(req).await } };
    match deadline {
        None => call.await,
        Some(at) => tokio::time::timeout_at(at.into(), call)
            .await
            .unwrap_or_else(|_| grpc_error(wire, tonic::Code::DeadlineExceeded, "deadline exceeded")),
    }
}

/// Reads the whole request body up to the message size limit, then calls the service.
async fn limited_call(limits: Limits, wire: Protocol, req: Request, next: Next) -> Response {
    // One frame header (5 bytes) plus the message; base64 grows the text form by 4/3.
    let framed = limits.max_message_bytes.saturating_add(5);
    let wire_limit = if wire == Protocol::GrpcWebText { framed.saturating_mul(4) / 3 + 4 } else { framed };
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, wire_limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return grpc_error(
                wire,
                tonic::Code::ResourceExhausted,
                &format!("request message larger than the limit of {} bytes", limits.max_message_bytes),
            );
        }
        Err(_) => {
            return grpc_error(wire, tonic::Code::Cancelled, "request body could not be read");
        }
    };
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// A trailers-only gRPC (or gRPC-web) error response.
pub fn grpc_error(wire: Protocol, code: tonic::Code, message: &str) -> Response {
    let (mut parts, _) = tonic::Status::new(code, message).into_http::<Body>().into_parts();
    let content_type = match wire {
        Protocol::GrpcWebText => "application/grpc-web-text+proto",
        Protocol::GrpcWeb => "application/grpc-web+proto",
        _ => "application/grpc",
    };
    parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Response::from_parts(parts, Body::empty())
}

/// The list fields of the API's responses, by method path: `/gitpod.v1.RunnerService/ListRunners`
/// → `["runners"]`. Proto3 JSON leaves empty lists out; the Stainless SDKs' strict mode (the mode
/// of their own tests) requires the items key of every page, so Connect JSON answers get `[]`
/// for a top-level list field they lack. Only the wire form changes, for every method alike.
#[derive(Debug, Clone, Default)]
pub struct EmptyLists {
    by_path: std::sync::Arc<std::collections::HashMap<String, Vec<String>>>,
}

/// Answers longer than this hold items, so they already name their list field.
const EMPTY_PAGE_MAX_BYTES: u64 = 4096;

impl EmptyLists {
    /// Reads the response types of the API's services from the descriptor set.
    pub fn from_descriptors(encoded: &[u8]) -> Self {
        let pool = prost_reflect::DescriptorPool::decode(encoded).expect("the API descriptor set decodes");
        let mut by_path = std::collections::HashMap::new();
        for service in pool.services().filter(|s| s.package_name() == "gitpod.v1") {
            for method in service.methods() {
                let lists: Vec<String> =
                    method.output().fields().filter(|f| f.is_list()).map(|f| f.json_name().to_owned()).collect();
                if !lists.is_empty() {
                    by_path.insert(format!("/{}/{}", service.full_name(), method.name()), lists);
                }
            }
        }
        Self { by_path: std::sync::Arc::new(by_path) }
    }
}

pub async fn fill_empty_lists(State(lists): State<EmptyLists>, req: Request, next: Next) -> Response {
    let fields = lists.by_path.get(req.uri().path()).cloned();
    let response = next.run(req).await;
    let Some(fields) = fields else { return response };
    let json = response.headers().get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let small = hyper::body::Body::size_hint(response.body()).upper().is_some_and(|n| n <= EMPTY_PAGE_MAX_BYTES);
    if response.status() != http::StatusCode::OK || !json || !small {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = body.collect().await.map(|c| c.to_bytes()) else {
        return connect_error(Code::Internal, "response body could not be read");
    };
    let patched = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut map)) if fields.iter().any(|f| !map.contains_key(f)) => {
            for f in &fields {
                map.entry(f.clone()).or_insert_with(|| serde_json::Value::Array(Vec::new()));
            }
            Some(serde_json::Value::Object(map).to_string())
        }
        _ => None,
    };
    match patched {
        None => Response::from_parts(parts, Body::from(bytes)),
        Some(text) => {
            parts.headers.remove(http::header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(text))
        }
    }
}
