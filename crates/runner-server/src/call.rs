//! What a request is, decided once when it arrives: [`CallKind`] (its protocol, the method it
//! calls, whether that method streams, and the deadline the client set), stored in the
//! request's extensions by [`classify`] so that every layer after it (transport timeouts, the
//! console, telemetry, the guard) and the handlers ([`CallDeadline`]) read the same answer
//! instead of looking at paths and headers again.
//!
//! [`classify`] also removes the `/api` prefix the official SDKs put in front of every path:
//! what comes after it sees `/gitpod.v1.RunnerService/ListRunners` either way.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use connectrpc_axum::prelude::ConnectError;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{Method as HttpMethod, Uri};
use runner_core::time::Deadline;

use crate::state::AppState;

/// The prefix the official SDKs put in front of every path.
const API_PREFIX: &str = "/api";
/// Paths outside the RPC namespaces that belong to the API, never to the console.
const API_PATHS: &[&str] = &[
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/openapi.yaml",
    crate::handlers::identity::DISCOVERY_PATH,
    crate::handlers::identity::JWKS_PATH,
    crate::handlers::sso_login::START_PATH,
    crate::handlers::sso_login::CALLBACK_PATH,
    crate::handlers::sso_login::LOGOUT_PATH,
];

/// One RPC the server knows, from the descriptor sets it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rpc {
    /// `/gitpod.v1.RunnerService/ListRunners`.
    pub path: String,
    /// `gitpod.v1.RunnerService`.
    pub service: String,
    /// `ListRunners`.
    pub method: String,
    /// The request message's full name: `gitpod.v1.ListRunnersRequest`.
    pub input: String,
    pub client_streaming: bool,
    pub server_streaming: bool,
    /// Marked `idempotency_level = NO_SIDE_EFFECTS`: Connect serves it over GET too.
    pub side_effect_free: bool,
}

impl Rpc {
    /// A method of the API itself (`gitpod.v1` and our own runner-side packages), as opposed
    /// to health and reflection, which tonic alone serves.
    pub fn is_api(&self) -> bool {
        !self.service.starts_with("grpc.")
    }

    pub fn is_unary(&self) -> bool {
        !self.client_streaming && !self.server_streaming
    }
}

/// The wire protocol of a request, from its method and content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    /// `application/grpc-web` and `application/grpc-web+proto`.
    GrpcWeb,
    /// `application/grpc-web-text`, base64 frames.
    GrpcWebText,
    /// Connect unary, `application/json`, or a Connect GET with `encoding=json`.
    ConnectJson,
    /// Connect unary, `application/proto`, or a Connect GET with `encoding=proto`.
    ConnectProto,
    /// Connect streaming, `application/connect+json`.
    ConnectStreamJson,
    /// Connect streaming, `application/connect+proto`.
    ConnectStreamProto,
    /// Anything else: probes, the console, unknown content types.
    Other,
}

impl Protocol {
    fn of(method: &HttpMethod, uri: &Uri, content_type: &str) -> Protocol {
        if method == HttpMethod::GET {
            return match query_value(uri, "encoding").as_deref() {
                Some("json") => Protocol::ConnectJson,
                Some("proto") => Protocol::ConnectProto,
                _ => Protocol::Other,
            };
        }
        let ct = content_type.trim_start();
        if ct.starts_with("application/grpc-web-text") {
            Protocol::GrpcWebText
        } else if ct.starts_with("application/grpc-web") {
            Protocol::GrpcWeb
        } else if ct.starts_with("application/grpc") {
            Protocol::Grpc
        } else if ct.starts_with("application/connect+json") {
            Protocol::ConnectStreamJson
        } else if ct.starts_with("application/connect+proto") {
            Protocol::ConnectStreamProto
        } else if ct.starts_with("application/json") {
            Protocol::ConnectJson
        } else if ct.starts_with("application/proto") {
            Protocol::ConnectProto
        } else {
            Protocol::Other
        }
    }

    /// The `protocol` label of logs and metrics.
    pub fn label(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::GrpcWeb | Protocol::GrpcWebText => "grpc-web",
            Protocol::ConnectJson | Protocol::ConnectStreamJson => "connect-json",
            Protocol::ConnectProto | Protocol::ConnectStreamProto => "connect-proto",
            Protocol::Other => "other",
        }
    }

    /// gRPC or gRPC-web: errors are trailers, not Connect error bodies.
    pub fn is_grpc_family(self) -> bool {
        matches!(self, Protocol::Grpc | Protocol::GrpcWeb | Protocol::GrpcWebText)
    }
}

/// What one request is; see the module documentation.
#[derive(Debug, Clone)]
pub struct CallKind {
    pub protocol: Protocol,
    /// The RPC the path names, if the server has it.
    pub rpc: Option<&'static Rpc>,
    /// The path is in an RPC namespace (`/gitpod.v1.…`, `/grpc.…`), known or not.
    pub rpc_path: bool,
    /// The path belongs to the API (an RPC namespace, the `/api` prefix, probes, metrics):
    /// the console never answers it.
    pub api_path: bool,
    /// The request came under the `/api` prefix.
    pub prefixed: bool,
    /// `/healthz`, `/readyz`, `/metrics`, `/openapi.json` or `/openapi.yaml`: plain HTTP
    /// endpoints of the API, not RPCs.
    pub probe: bool,
    /// The deadline the client set, counted from the request's arrival.
    pub deadline: ClientDeadline,
}

/// The deadline a client sets for its call: `grpc-timeout` on gRPC and gRPC-web,
/// `Connect-Timeout-Ms` on Connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientDeadline {
    None,
    At(Instant),
    /// The header is there but does not parse: gRPC answers `invalid_argument`
    /// ([`crate::layers`]), and connectrpc-axum refuses a bad `Connect-Timeout-Ms` itself.
    Malformed,
}

impl ClientDeadline {
    fn of(protocol: Protocol, headers: &http::HeaderMap) -> Self {
        let (name, parse): (&str, fn(&str) -> Option<Duration>) = match protocol {
            p if p.is_grpc_family() => ("grpc-timeout", parse_grpc_timeout),
            Protocol::Other => return ClientDeadline::None,
            _ => ("connect-timeout-ms", parse_connect_timeout),
        };
        let Some(value) = headers.get(name) else { return ClientDeadline::None };
        match value.to_str().ok().and_then(parse) {
            // A timeout too far ahead to represent is no deadline.
            Some(timeout) => Instant::now().checked_add(timeout).map_or(ClientDeadline::None, ClientDeadline::At),
            None => ClientDeadline::Malformed,
        }
    }
}

/// Parses a `grpc-timeout` value: up to 8 digits and a unit (H, M, S, m, u, n).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Parses a `Connect-Timeout-Ms` value: 1 to 10 digits of milliseconds.
fn parse_connect_timeout(value: &str) -> Option<Duration> {
    if value.is_empty() || value.len() > 10 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().map(Duration::from_millis)
}

/// The call's [`Deadline`] for the use cases that may wait: the client's, read once when the
/// request arrived ([`CallKind::deadline`]), or, when it set none, the server's bound on
/// waiting from now ([`AppState::write_wait`]).
pub struct CallDeadline(pub Deadline);

impl FromRequestParts<AppState> for CallDeadline {
    type Rejection = ConnectError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let client = match parts.extensions.get::<CallKind>() {
            Some(kind) => kind.deadline,
            None => CallKind::of(&parts.method, &parts.uri, &parts.headers).deadline,
        };
        Ok(CallDeadline(match client {
            ClientDeadline::At(at) => Deadline::callers(at),
            ClientDeadline::None | ClientDeadline::Malformed => Deadline::servers(state.write_wait),
        }))
    }
}

impl CallKind {
    /// The request's kind, computed once: later calls return the stored one.
    pub fn get<B>(req: &http::Request<B>) -> CallKind {
        match req.extensions().get::<CallKind>() {
            Some(kind) => kind.clone(),
            None => Self::of(req.method(), req.uri(), req.headers()),
        }
    }

    fn of(method: &HttpMethod, uri: &Uri, headers: &http::HeaderMap) -> CallKind {
        let raw = uri.path();
        let (path, prefixed) = match raw.strip_prefix(API_PREFIX) {
            Some(rest) if rest.starts_with('/') => (rest, true),
            Some("") => ("/", true),
            _ => (raw, false),
        };
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let rpc_path = in_rpc_namespace(path);
        let protocol = Protocol::of(method, uri, content_type);
        let probe = API_PATHS.contains(&path);
        CallKind {
            protocol,
            rpc: rpcs().get(path),
            rpc_path,
            api_path: prefixed || rpc_path || probe,
            prefixed,
            probe,
            deadline: ClientDeadline::of(protocol, headers),
        }
    }

    /// The request streams in either direction, so its body is a session rather than one
    /// message: the body read timeout does not apply.
    pub fn streaming(&self) -> bool {
        self.rpc.is_some_and(|r| !r.is_unary())
    }

    /// The `rpc` label of logs and metrics: the method's path, or `unknown` for a path in an
    /// RPC namespace that no method has (bounded label values).
    pub fn rpc_label(&self) -> &'static str {
        self.rpc.map_or("unknown", |r| r.path.as_str())
    }
}

/// Classifies `req` (once) and removes the `/api` prefix from its path.
pub fn classify<B>(mut req: http::Request<B>) -> http::Request<B> {
    if req.extensions().get::<CallKind>().is_some() {
        return req;
    }
    let kind = CallKind::get(&req);
    if kind.prefixed {
        strip_prefix(req.uri_mut());
    }
    req.extensions_mut().insert(kind);
    req
}

/// `/api/<rest>` → `/<rest>`, keeping the query.
fn strip_prefix(uri: &mut Uri) {
    let Some(rest) = uri.path().strip_prefix(API_PREFIX) else { return };
    let rest = if rest.is_empty() { "/" } else { rest };
    let pq = match uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    };
    let mut parts = std::mem::take(uri).into_parts();
    if let Ok(pq) = pq.parse() {
        parts.path_and_query = Some(pq);
    }
    *uri = Uri::from_parts(parts).unwrap_or_default();
}

/// Whether `path` is in a namespace the server serves RPCs in (`/gitpod.…`, `/runnerside.…`,
/// `/grpc.…`): the first component of a served service's package, from the descriptor sets.
fn in_rpc_namespace(path: &str) -> bool {
    static NAMESPACES: OnceLock<Vec<String>> = OnceLock::new();
    let namespaces = NAMESPACES.get_or_init(|| {
        let mut names: Vec<String> =
            rpcs().values().filter_map(|r| r.service.split('.').next()).map(|n| format!("/{n}.")).collect();
        names.sort();
        names.dedup();
        names
    });
    namespaces.iter().any(|n| path.starts_with(n.as_str()))
}

/// The value of `name` in the URI's query string, percent-decoded.
pub fn query_value(uri: &Uri, name: &str) -> Option<String> {
    form_urlencoded::parse(uri.query()?.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Every RPC the server serves, by path, from the descriptor sets: the API's own, health and
/// reflection (both versions).
pub fn rpcs() -> &'static HashMap<String, Rpc> {
    static RPCS: OnceLock<HashMap<String, Rpc>> = OnceLock::new();
    RPCS.get_or_init(|| {
        let sets = [
            gitpod_api::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ];
        let mut rpcs = HashMap::new();
        for set in sets {
            let pool = prost_reflect::DescriptorPool::decode(set).expect("a served descriptor set decodes");
            for service in pool.services() {
                for method in service.methods() {
                    let rpc = Rpc {
                        path: format!("/{}/{}", service.full_name(), method.name()),
                        service: service.full_name().to_owned(),
                        method: method.name().to_owned(),
                        input: method.input().full_name().to_owned(),
                        client_streaming: method.is_client_streaming(),
                        server_streaming: method.is_server_streaming(),
                        side_effect_free: side_effect_free(&method),
                    };
                    rpcs.insert(rpc.path.clone(), rpc);
                }
            }
        }
        rpcs
    })
}

/// The API method whose request message is `input` (each has its own), if exactly one is.
pub fn rpc_taking(input: &str) -> Option<&'static Rpc> {
    let mut found = rpcs().values().filter(|r| r.input == input && r.is_api());
    let rpc = found.next()?;
    found.next().is_none().then_some(rpc)
}

/// What to tell a caller whose path names no RPC of this server (`path` without the `/api`
/// prefix): the service or method it missed, the nearest one that exists, or where the RPCs are.
pub fn unknown_method_message(path: &str) -> String {
    let rpcs = rpcs();
    let mut services: Vec<&str> = rpcs.values().map(|r| r.service.as_str()).collect();
    services.sort_unstable();
    services.dedup();
    let rpc_shaped = path
        .strip_prefix('/')
        .and_then(|p| p.split_once('/'))
        .filter(|(service, method)| service.contains('.') && !method.is_empty() && !method.contains('/'));
    let Some((service, method)) = rpc_shaped else {
        return format!(
            "no RPC at {path}: methods are at /api/SERVICE/METHOD (or /SERVICE/METHOD), for example \
             POST /api/gitpod.v1.RunnerService/ListRunners with Content-Type: application/json"
        );
    };
    if !services.contains(&service) {
        let api: Vec<&str> = services.iter().copied().filter(|s| s.starts_with("gitpod.")).collect();
        return match nearest(service, &services) {
            Some(near) => format!("unknown service {service}; did you mean {near}?"),
            None => format!("unknown service {service} (at {path}); the services here are {}", api.join(", ")),
        };
    }
    let mut methods: Vec<&str> = rpcs.values().filter(|r| r.service == service).map(|r| r.method.as_str()).collect();
    methods.sort_unstable();
    match nearest(method, &methods) {
        Some(near) => format!("{service} has no method {method}; did you mean {near}?"),
        None => format!("{service} has no method {method}; its methods are {}", methods.join(", ")),
    }
}

/// The candidate closest to `wanted` when it is close enough to be a typo (case aside, a
/// Jaro-Winkler similarity of at least 0.8).
fn nearest<'a>(wanted: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let wanted = wanted.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(&wanted, &c.to_ascii_lowercase()), *c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// `option idempotency_level = NO_SIDE_EFFECTS` on a method.
fn side_effect_free(method: &prost_reflect::MethodDescriptor) -> bool {
    method.method_descriptor_proto().options.as_ref().and_then(|o| o.idempotency_level)
        == Some(prost_reflect::prost_types::method_options::IdempotencyLevel::NoSideEffects as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::Request;

    fn request(method: &str, uri: &str, content_type: &str) -> Request {
        Request::builder().method(method).uri(uri).header(CONTENT_TYPE, content_type).body(Body::empty()).unwrap()
    }

    #[test]
    fn the_api_prefix_is_removed_once_and_remembered() {
        let req = classify(request("POST", "/api/gitpod.v1.RunnerService/ListRunners?token=a", "application/json"));
        assert_eq!(req.uri(), "/gitpod.v1.RunnerService/ListRunners?token=a");
        let kind = req.extensions().get::<CallKind>().unwrap().clone();
        assert!(kind.prefixed && kind.api_path && kind.rpc_path);
        assert_eq!(kind.protocol, Protocol::ConnectJson);
        assert_eq!(kind.rpc_label(), "/gitpod.v1.RunnerService/ListRunners");
        // Classifying again changes nothing (the path no longer has the prefix anyway).
        let again = classify(req);
        assert!(again.extensions().get::<CallKind>().unwrap().prefixed);
        for (uri, expected) in [("/apix/y", "/apix/y"), ("/api", "/"), ("/api/", "/")] {
            assert_eq!(classify(request("GET", uri, "")).uri(), expected, "{uri}");
        }
    }

    #[test]
    fn protocols() {
        let path = "/gitpod.v1.RunnerService/GetRunner";
        for (method, ct, query, protocol) in [
            ("POST", "application/grpc", "", Protocol::Grpc),
            ("POST", "application/grpc+proto", "", Protocol::Grpc),
            ("POST", "application/grpc-web+proto", "", Protocol::GrpcWeb),
            ("POST", "application/grpc-web-text", "", Protocol::GrpcWebText),
            ("POST", "application/json; charset=utf-8", "", Protocol::ConnectJson),
            ("POST", "application/proto", "", Protocol::ConnectProto),
            ("POST", "application/connect+json", "", Protocol::ConnectStreamJson),
            ("POST", "application/connect+proto", "", Protocol::ConnectStreamProto),
            ("POST", "text/plain", "", Protocol::Other),
            ("GET", "", "?connect=v1&encoding=json&message=%7B%7D", Protocol::ConnectJson),
            ("GET", "", "?connect=v1&encoding=proto&base64=1&message=", Protocol::ConnectProto),
            ("GET", "", "", Protocol::Other),
        ] {
            let kind = CallKind::get(&request(method, &format!("{path}{query}"), ct));
            assert_eq!(kind.protocol, protocol, "{method} {ct} {query}");
        }
    }

    #[test]
    fn methods_and_streaming_come_from_the_descriptors() {
        let get = |path: &str| CallKind::get(&request("POST", path, "application/grpc"));
        let list = get("/gitpod.v1.RunnerService/ListRunners");
        assert!(list.rpc.is_some_and(|r| r.is_api() && r.is_unary()) && !list.streaming());
        let reflection = get("/api/grpc.reflection.v1.ServerReflection/ServerReflectionInfo");
        assert!(reflection.streaming() && reflection.prefixed, "reflection streams, under /api too");
        assert!(get("/grpc.health.v1.Health/Watch").streaming());
        assert!(!get("/grpc.health.v1.Health/Check").streaming());
        let unknown = get("/gitpod.v1.RunnerService/Nope");
        assert!(unknown.rpc.is_none() && unknown.rpc_path && unknown.api_path);
        assert_eq!(unknown.rpc_label(), "unknown");
        let own = get("/runnerside.v1.RunnerInteractionService/Signup");
        assert!(own.rpc.is_some_and(|r| r.is_api()) && own.rpc_path && own.api_path);
        assert!(get("/runnerside.v1.Nope/X").rpc_path, "our own package is an RPC namespace");
        assert!(!get("/runners/x").rpc_path);
    }

    #[test]
    fn grpc_timeouts() {
        assert_eq!(parse_grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("99999999n"), Some(Duration::from_nanos(99_999_999)));
        for bad in ["", "m", "100", "123456789S", "-1S", "1x", "1.5S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_deadline_is_the_protocols_header_read_once() {
        let with = |ct: &str, header: &str, value: &str| {
            let req = Request::builder()
                .method("POST")
                .uri("/gitpod.v1.RunnerService/UpdateRunner")
                .header(CONTENT_TYPE, ct)
                .header(header, value)
                .body(Body::empty())
                .unwrap();
            CallKind::get(&req).deadline
        };
        let soon = |d: ClientDeadline, ms: u64| match d {
            ClientDeadline::At(at) => {
                let left = at.saturating_duration_since(Instant::now());
                left <= Duration::from_millis(ms) && left + Duration::from_secs(1) > Duration::from_millis(ms)
            }
            _ => false,
        };
        assert!(soon(with("application/grpc", "grpc-timeout", "1500m"), 1500));
        assert!(soon(with("application/grpc-web+proto", "grpc-timeout", "2S"), 2000));
        assert!(soon(with("application/json", "connect-timeout-ms", "2500"), 2500));
        assert!(soon(with("application/proto", "connect-timeout-ms", "300"), 300));
        // Each protocol reads its own header only.
        assert_eq!(with("application/json", "grpc-timeout", "1S"), ClientDeadline::None);
        assert_eq!(with("application/grpc", "connect-timeout-ms", "1000"), ClientDeadline::None);
        assert_eq!(with("application/grpc", "grpc-timeout", "soon"), ClientDeadline::Malformed);
        assert_eq!(with("application/json", "connect-timeout-ms", "-5"), ClientDeadline::Malformed);
        assert_eq!(with("application/json", "connect-timeout-ms", "12345678901"), ClientDeadline::Malformed);
        assert_eq!(CallKind::get(&request("POST", "/x", "application/json")).deadline, ClientDeadline::None);
    }

    #[test]
    fn unknown_methods_are_named_with_the_nearest_one() {
        let message = unknown_method_message("/gitpod.v1.RunnerService/ListRunnerz");
        assert_eq!(message, "gitpod.v1.RunnerService has no method ListRunnerz; did you mean ListRunners?");
        let message = unknown_method_message("/gitpod.v1.RunnerService/listrunners");
        assert!(message.ends_with("did you mean ListRunners?"), "{message}");
        let message = unknown_method_message("/gitpod.v1.RunnerService/Frobnicate");
        assert!(message.contains("its methods are CheckAuthenticationForHost, CheckRepositoryAccess,"), "{message}");
        let message = unknown_method_message("/gitpod.v1.RunnerServise/ListRunners");
        assert_eq!(message, "unknown service gitpod.v1.RunnerServise; did you mean gitpod.v1.RunnerService?");
        let message = unknown_method_message("/acme.Thing/Do");
        assert!(message.contains("the services here are gitpod.v1."), "{message}");
        assert!(!message.contains("grpc."), "health and reflection are not offered as a guess: {message}");
        let message = unknown_method_message("/v1/runners/x");
        assert!(message.starts_with("no RPC at /v1/runners/x"), "{message}");
    }

    #[test]
    fn api_paths_are_never_the_consoles() {
        let api_path = |path: &str| CallKind::get(&request("GET", path, "")).api_path;
        for api in [
            "/gitpod.v1.RunnerService/ListRunners",
            "/api/gitpod.v1.RunnerService/ListRunners",
            "/api",
            "/api/",
            "/grpc.health.v1.Health/Check",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/healthz",
            "/readyz",
            "/metrics",
        ] {
            assert!(api_path(api), "{api}");
        }
        for page in ["/", "/index.html", "/assets/index-3f2a.js", "/runners", "/apiary", "/healthz.html"] {
            assert!(!api_path(page), "{page}");
        }
    }
}
