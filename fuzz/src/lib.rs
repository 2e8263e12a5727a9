//! What the fuzz targets run, shared by the libFuzzer binaries (`fuzz/fuzz_targets/*.rs`) and by
//! the replay test of the main workspace (`crates/runner-server/tests/api/fuzz_regressions.rs`,
//! which includes this file as a module), so that a saved input goes through exactly the same
//! code either way.
//!
//! Every `run` function panics when an invariant breaks; libFuzzer reports that as a crash. See
//! `docs/fuzzing.md`.

#![forbid(unsafe_code)]

/// The real application, built once per process and called in-process.
pub mod server {
    use std::sync::OnceLock;
    use std::time::Duration;

    use axum::body::Body;
    use bytes::Bytes;
    use connectrpc_axum::{Code, ConnectError};
    use http::{HeaderMap, HeaderValue, Request, StatusCode, Version};
    use http_body_util::BodyExt;
    use runner_core::accounts::Accounts;
    use runner_server::{AppState, MountOptions};
    use tower::ServiceExt;

    /// A runner id the inputs can carry; replaced by the id of the runner created at start-up.
    /// As long as a UUID, so that replacing it keeps protobuf lengths right.
    pub const RUNNER_ID_PLACEHOLDER: &[u8; 36] = b"ffffffff-ffff-4fff-bfff-ffffffffffff";

    /// How long one call (sending, answering and reading the whole answer) may take.
    const CALL_TIMEOUT: Duration = Duration::from_secs(10);

    /// Whether `code` is the name of a Connect error code (connectrpc-axum's names; not `ok`).
    fn is_error_code(code: &str) -> bool {
        code.parse::<Code>().is_ok_and(|c| c != Code::Ok && c.as_str() == code)
    }

    /// Who calls.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Caller {
        Admin,
        Runner,
        Anonymous,
    }

    /// How a call is framed on the wire.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Wire {
        ConnectJson,
        ConnectProto,
        Grpc,
        GrpcWeb,
        GrpcWebText,
        ConnectStreamProto,
        ConnectStreamJson,
    }

    impl Wire {
        pub fn content_type(self) -> &'static str {
            match self {
                Wire::ConnectJson => "application/json",
                Wire::ConnectProto => "application/proto",
                Wire::Grpc => "application/grpc",
                Wire::GrpcWeb => "application/grpc-web+proto",
                Wire::GrpcWebText => "application/grpc-web-text+proto",
                Wire::ConnectStreamProto => "application/connect+proto",
                Wire::ConnectStreamJson => "application/connect+json",
            }
        }
    }

    /// One request as the targets describe it.
    pub struct Call<'a> {
        pub path: &'a str,
        pub wire: Wire,
        pub caller: Caller,
        pub headers: Vec<(&'static str, &'static str)>,
        /// The body, sent as these chunks (one chunk: a plain full body).
        pub chunks: Vec<Vec<u8>>,
    }

    /// The application and who can call it.
    pub struct Server {
        rt: tokio::runtime::Runtime,
        app: axum::Router,
        admin_token: String,
        runner_token: String,
        runner_id: String,
        /// `/{service}/{method}` of every method of the public and runner-side services, in
        /// descriptor order.
        pub methods: Vec<String>,
    }

    /// The process's server, built on first use.
    pub fn get() -> &'static Server {
        static SERVER: OnceLock<Server> = OnceLock::new();
        SERVER.get_or_init(Server::start)
    }

    impl Server {
        fn start() -> Self {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
            let pool = prost_reflect::DescriptorPool::decode(gitpod_api::FILE_DESCRIPTOR_SET).expect("descriptor set");
            let methods = runner_server::mount::SERVED_SERVICES
                .iter()
                .flat_map(|name| {
                    let service = pool.get_service_by_name(name).expect("service in descriptor set");
                    // Not the server-streaming ones (WatchEvents): a valid request's answer never
                    // ends, by design, as Health/Watch's (the API tests cover their refusals).
                    service
                        .methods()
                        .filter(|m| !m.is_server_streaming())
                        .map(|m| format!("/{}/{}", service.full_name(), m.name()))
                        .collect::<Vec<_>>()
                })
                .collect();
            let (app, admin_token) = rt.block_on(async {
                let store = runner_store::open("sqlite::memory:").await.expect("in-memory store");
                let (_, _, token) =
                    Accounts::new(store.clone()).bootstrap(None).await.expect("bootstrap").expect("empty database");
                let state = AppState::new(store, &[42; 32], "http://runner-api.test");
                let options = MountOptions { health_interval: Duration::from_secs(3600), ..MountOptions::default() };
                (runner_server::app(state, &options), token.token)
            });
            let mut server =
                Server { rt, app, admin_token, runner_token: String::new(), runner_id: String::new(), methods };
            // A runner, and its access token, for the runner-side services.
            let created = server.json(
                "/gitpod.v1.RunnerService/CreateRunner",
                r#"{"name":"fuzz","provider":"RUNNER_PROVIDER_GCP","spec":{"configuration":{"region":"europe-west1"}}}"#,
                Caller::Admin,
            );
            server.runner_id = created["runner"]["runnerId"].as_str().expect("runner id").to_owned();
            assert_eq!(server.runner_id.len(), RUNNER_ID_PLACEHOLDER.len());
            let exchange = created["exchangeToken"].as_str().expect("exchange token").to_owned();
            let exchanged = server.json(
                "/gitpod.v1.IdentityService/ExchangeToken",
                &serde_json::json!({ "exchangeToken": exchange }).to_string(),
                Caller::Anonymous,
            );
            server.runner_token = exchanged["accessToken"].as_str().expect("access token").to_owned();
            server
        }

        /// A Connect JSON call that must succeed, for the set-up.
        fn json(&self, path: &str, body: &str, caller: Caller) -> serde_json::Value {
            let call = Call {
                path,
                wire: Wire::ConnectJson,
                caller,
                headers: Vec::new(),
                chunks: vec![body.as_bytes().to_vec()],
            };
            let (status, _, body, _) = self.send(call);
            assert_eq!(status, StatusCode::OK, "{path}: {}", String::from_utf8_lossy(&body));
            serde_json::from_slice(&body).expect("JSON answer")
        }

        /// Replaces every [`RUNNER_ID_PLACEHOLDER`] in `bytes` by the real runner id.
        pub fn substitute(&self, bytes: &mut [u8]) {
            let id = self.runner_id.as_bytes();
            let mut i = 0;
            while i + id.len() <= bytes.len() {
                if &bytes[i..i + id.len()] == RUNNER_ID_PLACEHOLDER {
                    bytes[i..i + id.len()].copy_from_slice(id);
                    i += id.len();
                } else {
                    i += 1;
                }
            }
        }

        /// Sends `call` and reads the whole answer: status, headers, body and trailers. Panics
        /// when that does not finish within [`CALL_TIMEOUT`] or the body cannot be read.
        fn send(&self, call: Call<'_>) -> (StatusCode, HeaderMap, Bytes, Option<HeaderMap>) {
            let mut builder =
                Request::builder().method("POST").uri(call.path).header("content-type", call.wire.content_type());
            // tonic-web refuses plain gRPC that claims HTTP/1.1.
            builder = builder.version(if call.wire == Wire::Grpc { Version::HTTP_2 } else { Version::HTTP_11 });
            if call.wire == Wire::Grpc {
                builder = builder.header("te", "trailers");
            }
            if matches!(call.wire, Wire::ConnectJson | Wire::ConnectProto) {
                builder = builder.header("connect-protocol-version", "1");
            }
            let token = match call.caller {
                Caller::Admin => Some(&self.admin_token),
                Caller::Runner => Some(&self.runner_token),
                Caller::Anonymous => None,
            };
            if let Some(token) = token {
                builder = builder.header("authorization", format!("Bearer {token}"));
            }
            for (name, value) in &call.headers {
                builder = builder.header(*name, HeaderValue::from_static(value));
            }
            let body = if call.chunks.len() == 1 {
                Body::from(call.chunks.into_iter().next().unwrap_or_default())
            } else {
                Body::from_stream(futures::stream::iter(
                    call.chunks.into_iter().map(|c| Ok::<_, std::io::Error>(Bytes::from(c))),
                ))
            };
            let request = builder.body(body).expect("request");
            let app = self.app.clone();
            let path = call.path.to_owned();
            self.rt.block_on(async move {
                let answer = async {
                    let response = app.oneshot(request).await.expect("the router is infallible");
                    let (parts, body) = response.into_parts();
                    let collected = body.collect().await.unwrap_or_else(|e| panic!("{path}: reading the body: {e}"));
                    let trailers = collected.trailers().cloned();
                    (parts.status, parts.headers, collected.to_bytes(), trailers)
                };
                tokio::time::timeout(CALL_TIMEOUT, answer)
                    .await
                    .unwrap_or_else(|_| panic!("{path}: no complete answer within {CALL_TIMEOUT:?}"))
            })
        }

        /// Sends `call` and checks that the answer is well formed for its wire: a valid
        /// `grpc-status` (gRPC, gRPC-web), a valid Connect error or end-stream frame (Connect).
        pub fn check(&self, call: Call<'_>) {
            let (path, wire) = (call.path.to_owned(), call.wire);
            let (status, headers, body, trailers) = self.send(call);
            let what = format!("{path} over {wire:?}: HTTP {status}, headers {headers:?}, body {body:?}");
            match wire {
                Wire::Grpc => {
                    assert_eq!(status, StatusCode::OK, "{what}");
                    let code = grpc_status(&headers).or_else(|| trailers.as_ref().and_then(grpc_status));
                    check_grpc_code(code, &what);
                    check_frames(&body, false, &what);
                }
                Wire::GrpcWeb | Wire::GrpcWebText => {
                    assert_eq!(status, StatusCode::OK, "{what}");
                    let body = if wire == Wire::GrpcWebText { decode_text(&body, &what) } else { body.to_vec() };
                    let in_body = check_frames(&body, true, &what);
                    let code = grpc_status(&headers).or(in_body);
                    check_grpc_code(code, &what);
                }
                Wire::ConnectJson | Wire::ConnectProto => {
                    let body = decompress(&headers, "content-encoding", body.to_vec(), &what);
                    if status == StatusCode::OK {
                        if wire == Wire::ConnectJson {
                            serde_json::from_slice::<serde_json::Value>(&body)
                                .unwrap_or_else(|e| panic!("{what}: success is not JSON: {e}"));
                        }
                    } else {
                        check_connect_error(status, &body, &what);
                    }
                }
                Wire::ConnectStreamProto | Wire::ConnectStreamJson => {
                    if status == StatusCode::OK {
                        check_connect_stream(&headers, &body, &what);
                    } else {
                        check_connect_error(status, &body, &what);
                    }
                }
            }
        }
    }

    fn grpc_status(headers: &HeaderMap) -> Option<String> {
        headers.get("grpc-status").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    fn check_grpc_code(code: Option<String>, what: &str) {
        let code = code.unwrap_or_else(|| panic!("{what}: no grpc-status"));
        let n: u32 = code.trim().parse().unwrap_or_else(|_| panic!("{what}: grpc-status {code:?} is not a number"));
        assert!(n <= 16, "{what}: grpc-status {n} is not a gRPC code");
    }

    /// Splits a gRPC(-web) body into frames; every byte must belong to a whole frame. Returns
    /// the `grpc-status` of a gRPC-web trailers frame, which must be the last frame.
    fn check_frames(body: &[u8], web: bool, what: &str) -> Option<String> {
        let mut rest = body;
        let mut status = None;
        while !rest.is_empty() {
            assert!(rest.len() >= 5, "{what}: truncated frame header");
            let flags = rest[0];
            let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
            assert!(rest.len() - 5 >= len, "{what}: frame of {len} bytes truncated");
            let payload = &rest[5..5 + len];
            rest = &rest[5 + len..];
            if flags & 0x80 != 0 {
                assert!(web, "{what}: trailers frame in plain gRPC");
                assert!(rest.is_empty(), "{what}: frames after the trailers frame");
                let text = std::str::from_utf8(payload).unwrap_or_else(|_| panic!("{what}: trailers are not UTF-8"));
                for line in text.split("\r\n").filter(|l| !l.is_empty()) {
                    let (name, value) = line.split_once(':').unwrap_or_else(|| panic!("{what}: trailer line {line:?}"));
                    if name.trim().eq_ignore_ascii_case("grpc-status") {
                        status = Some(value.trim().to_owned());
                    }
                }
            } else {
                assert!(flags & !0x01 == 0, "{what}: frame flags {flags:#04x}");
            }
        }
        status
    }

    /// gRPC-web-text: base64 chunks, each padded on its own.
    fn decode_text(body: &[u8], what: &str) -> Vec<u8> {
        use base64::Engine;
        let mut out = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            // A chunk ends after its padding, or at the end of the body.
            let mut end = rest.iter().position(|&b| b == b'=').unwrap_or(rest.len());
            while end < rest.len() && rest[end] == b'=' {
                end += 1;
            }
            let chunk = &rest[..end];
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(chunk)
                .unwrap_or_else(|e| panic!("{what}: gRPC-web-text body is not base64: {e}"));
            out.extend_from_slice(&decoded);
            rest = &rest[end..];
        }
        out
    }

    fn decompress(headers: &HeaderMap, name: &str, body: Vec<u8>, what: &str) -> Vec<u8> {
        let encoding = headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).to_ascii_lowercase());
        match encoding.as_deref() {
            None | Some("identity") => body,
            Some("gzip") => {
                use std::io::Read;
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&body[..])
                    .read_to_end(&mut out)
                    .unwrap_or_else(|e| panic!("{what}: the answer is not valid gzip: {e}"));
                out
            }
            Some(other) => panic!("{what}: answer in unrequested encoding {other}"),
        }
    }

    /// The HTTP status the Connect protocol gives `code` (a name [`is_error_code`] accepts), as
    /// connectrpc-axum answers it.
    fn connect_http_status(code: &str) -> u16 {
        let code: Code = code.parse().expect("a Connect code name");
        axum::response::IntoResponse::into_response(ConnectError::from_code(code)).status().as_u16()
    }

    /// Statuses a Connect answer may carry without a JSON error body: the route or the protocol
    /// is not served at all, which a Connect client reads from the HTTP status alone (404 and
    /// 405 as `unimplemented`, 415 as `internal`).
    const ROUTE_LEVEL_STATUSES: [u16; 3] = [404, 405, 415];

    fn check_connect_error(status: StatusCode, body: &[u8], what: &str) {
        if body.is_empty() && ROUTE_LEVEL_STATUSES.contains(&status.as_u16()) {
            return;
        }
        let error: serde_json::Value =
            serde_json::from_slice(body).unwrap_or_else(|e| panic!("{what}: error body is not JSON: {e}"));
        let code = error["code"].as_str().unwrap_or_else(|| panic!("{what}: error without a code"));
        assert!(is_error_code(code), "{what}: unknown Connect code {code:?}");
        match status.as_u16() {
            // A path that names no RPC: 404, as connect-go answers it (and as clients read it:
            // `unimplemented`), with a body saying which methods exist. A 404 is otherwise
            // `not_found`, by the table below.
            404 if code == "unimplemented" => {}
            // A content type that is no protocol: 415, with a body saying what to send.
            415 => assert_eq!(code, "invalid_argument", "{what}: the code of a 415"),
            status => assert_eq!(status, connect_http_status(code), "{what}: HTTP status of {code}"),
        }
    }

    /// A Connect streaming answer: whole frames, the last one an end-stream frame with JSON.
    fn check_connect_stream(headers: &HeaderMap, body: &[u8], what: &str) {
        let mut rest = body;
        let mut end = None;
        while !rest.is_empty() {
            assert!(end.is_none(), "{what}: frames after the end-stream frame");
            assert!(rest.len() >= 5, "{what}: truncated frame header");
            let flags = rest[0];
            let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
            assert!(rest.len() - 5 >= len, "{what}: frame of {len} bytes truncated");
            if flags & 0x02 != 0 {
                let payload = if flags & 0x01 != 0 {
                    decompress(headers, "connect-content-encoding", rest[5..5 + len].to_vec(), what)
                } else {
                    rest[5..5 + len].to_vec()
                };
                end = Some(
                    serde_json::from_slice::<serde_json::Value>(&payload)
                        .unwrap_or_else(|e| panic!("{what}: end-stream frame is not JSON: {e}")),
                );
            }
            rest = &rest[5 + len..];
        }
        let end = end.unwrap_or_else(|| panic!("{what}: no end-stream frame"));
        if let Some(code) = end.get("error").map(|e| &e["code"]) {
            let code = code.as_str().unwrap_or_else(|| panic!("{what}: error without a code"));
            assert!(is_error_code(code), "{what}: unknown Connect code {code:?}");
        }
    }
}

/// Target `requests`: any method, any of the four protocols, the input as the request message.
pub mod requests {
    use super::server::{self, Call, Caller, Wire};

    /// Input: `[method, mode, body…]`; `mode` bits 0–1 pick the wire, bits 2–3 the caller.
    pub fn run(data: &[u8]) {
        let [method, mode, body @ ..] = data else { return };
        let server = server::get();
        let path = &server.methods[*method as usize % server.methods.len()];
        let wire = [Wire::ConnectJson, Wire::ConnectProto, Wire::Grpc, Wire::GrpcWeb][(mode & 3) as usize];
        let caller = match (mode >> 2) & 3 {
            0 | 1 => Caller::Admin,
            2 => Caller::Runner,
            _ => Caller::Anonymous,
        };
        let mut message = body.to_vec();
        server.substitute(&mut message);
        let body = match wire {
            Wire::Grpc | Wire::GrpcWeb => super::envelope(0, message.len() as u32, &message),
            _ => message,
        };
        server.check(Call { path, wire, caller, headers: Vec::new(), chunks: vec![body] });
    }
}

/// Target `framing`: envelope-ish bodies (random flags and lengths, compression flags with and
/// without an encoding, garbage gzip, truncated frames, trailers frames) on every wire.
pub mod framing {
    use super::server::{self, Call, Caller, Wire};

    /// Paths besides the API's own: tonic-only services (reflection streams), and an unknown method.
    const EXTRA_PATHS: [&str; 4] = [
        "/grpc.health.v1.Health/Check",
        // Not `Health/Watch`: its answer never ends, by design.
        "/gitpod.v1.RunnerService/NoSuchMethod",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    ];

    const WIRES: [Wire; 7] = [
        Wire::Grpc,
        Wire::GrpcWeb,
        Wire::GrpcWebText,
        Wire::ConnectProto,
        Wire::ConnectJson,
        Wire::ConnectStreamProto,
        Wire::ConnectStreamJson,
    ];

    const ENCODINGS: [Option<&str>; 8] = [
        None,
        Some("gzip"),
        Some("identity"),
        Some("deflate"),
        Some("br"),
        Some("GZIP"),
        Some("gzip, identity"),
        Some("zstd"),
    ];

    const TIMEOUTS: [&str; 6] = ["1S", "100m", "0n", "99999999H", "1x", "-1S"];

    struct Input<'a>(&'a [u8]);

    impl Input<'_> {
        fn byte(&mut self) -> u8 {
            let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
            self.0 = rest;
            first
        }

        fn take(&mut self, n: usize) -> Vec<u8> {
            let n = n.min(self.0.len());
            let (taken, rest) = self.0.split_at(n);
            self.0 = rest;
            taken.to_vec()
        }
    }

    /// Input: `[path, wire, encoding, flags, chunk size, frames…]`, each frame
    /// `[flags, length mode, payload length, payload…]`; see docs/fuzzing.md.
    pub fn run(data: &[u8]) {
        if data.len() < 5 {
            return;
        }
        let server = server::get();
        let mut input = Input(data);
        let choice = input.byte() as usize % (EXTRA_PATHS.len() + server.methods.len());
        let path = EXTRA_PATHS.get(choice).copied().unwrap_or_else(|| &server.methods[choice - EXTRA_PATHS.len()]);
        let wire = WIRES[input.byte() as usize % WIRES.len()];
        let encoding_byte = input.byte();
        let encoding = ENCODINGS[encoding_byte as usize % ENCODINGS.len()];
        let flags = input.byte();
        let chunk_size = input.byte() as usize + 1;
        let real_gzip = flags & 0x01 != 0;

        let mut headers = Vec::new();
        let (encoding_header, accept_header) = match wire {
            Wire::Grpc | Wire::GrpcWeb | Wire::GrpcWebText => ("grpc-encoding", "grpc-accept-encoding"),
            Wire::ConnectProto | Wire::ConnectJson => ("content-encoding", "accept-encoding"),
            Wire::ConnectStreamProto | Wire::ConnectStreamJson => {
                ("connect-content-encoding", "connect-accept-encoding")
            }
        };
        if let Some(encoding) = encoding {
            headers.push((encoding_header, encoding));
        }
        if encoding_byte & 0x80 != 0 {
            headers.push((accept_header, "gzip"));
        }
        if flags & 0x08 != 0 && matches!(wire, Wire::Grpc | Wire::GrpcWeb | Wire::GrpcWebText) {
            headers.push(("grpc-timeout", TIMEOUTS[(flags >> 5) as usize % TIMEOUTS.len()]));
        }
        let caller = match (flags >> 4) & 3 {
            0 | 1 => Caller::Admin,
            2 => Caller::Runner,
            _ => Caller::Anonymous,
        };

        // Frames (or, for Connect unary, the message parts run together).
        let mut body = Vec::new();
        while !input.0.is_empty() {
            let frame_flags = input.byte();
            let length_mode = input.byte();
            let payload_len = input.byte() as usize;
            let mut payload = input.take(payload_len);
            server.substitute(&mut payload);
            let compress = real_gzip && (frame_flags & 0x01 != 0 || !matches!(wire, Wire::Grpc | Wire::GrpcWeb));
            if compress {
                payload = super::gzip(&payload);
            }
            if matches!(wire, Wire::ConnectProto | Wire::ConnectJson) {
                body.extend_from_slice(&payload);
                continue;
            }
            let actual = payload.len() as u32;
            let delta = u32::from(length_mode >> 3);
            let declared = match length_mode % 5 {
                0 | 1 => actual,
                2 => actual.saturating_add(delta),
                3 => actual.saturating_sub(delta),
                _ => u32::MAX - delta,
            };
            body.extend_from_slice(&super::envelope(frame_flags, declared, &payload));
        }
        if flags & 0x02 != 0 {
            // A gRPC-web trailers frame, which a request should not carry.
            let trailers = b"grpc-status: 0\r\ngrpc-message: hi\r\n";
            body.extend_from_slice(&super::envelope(0x80, trailers.len() as u32, trailers));
        }
        if flags & 0x04 != 0 && wire == Wire::Grpc {
            // Cut the last byte: a truncated frame.
            body.pop();
        }
        if wire == Wire::GrpcWebText {
            use base64::Engine;
            body = base64::engine::general_purpose::STANDARD.encode(&body).into_bytes();
        }
        let chunks = if flags & 0x04 != 0 && body.len() > chunk_size {
            body.chunks(chunk_size).map(<[u8]>::to_vec).collect()
        } else {
            vec![body]
        };
        server.check(Call { path, wire, caller, headers, chunks });
    }
}

/// Target `page_token`: decoding arbitrary strings, and round trips of tokens it made itself.
pub mod page_token {
    use runner_core::model::RunnerFilter;
    use runner_core::page::PageTokens;

    /// `runner_core::page`'s limit on the length of a token it decodes.
    const MAX_TOKEN_LEN: usize = 4096;

    const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub fn run(data: &[u8]) {
        let tokens = PageTokens::new([7; 32]);
        let text = String::from_utf8_lossy(data);

        // Arbitrary strings: an error or a token, never a panic.
        let _ = tokens.decode::<RunnerFilter>("pagination.token", "runners", &text);
        let _ = tokens.decode::<serde_json::Value>("pagination.token", "policies", &text);
        if let Ok(cursor) = tokens.cursor::<Vec<String>>("pagination.token", "scm", &text, Vec::new()) {
            let _ = cursor.after_id();
        }
        let _ = tokens.runner_scoped("llm", 25, &[], &text);

        // A token of its own round-trips, filter and position, and only for its listing; one
        // longer than decoding accepts (4096 characters) is refused, as designed: a real
        // listing's filter (at most 25 values per list) and position (a UUID) stay far below.
        let filter: Vec<String> = text.split('\u{0}').map(str::to_owned).collect();
        let token = tokens.encode("scm", &filter, &text);
        if token.len() > MAX_TOKEN_LEN {
            assert!(tokens.decode::<Vec<String>>("pagination.token", "scm", &token).is_err(), "oversized token");
            return;
        }
        let (back, after) = tokens.decode::<Vec<String>>("pagination.token", "scm", &token).expect("own token decodes");
        assert_eq!((back, after.as_str()), (filter.clone(), &*text));
        let cursor =
            tokens.cursor::<Vec<String>>("pagination.token", "scm", &token, Vec::new()).expect("own token is a cursor");
        assert_eq!(cursor.filter, filter);
        assert_eq!(cursor.after.as_deref(), Some(&*text));
        assert!(tokens.decode::<Vec<String>>("pagination.token", "llm", &token).is_err(), "other listing");

        // Any one character changed: refused.
        if !token.is_empty() {
            let seed = data.iter().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(*b as usize));
            let at = seed % token.len();
            let old = token.as_bytes()[at];
            let mut new = BASE64URL[(seed / token.len().max(1)) % BASE64URL.len()];
            if new == old {
                new = if old == b'A' { b'B' } else { b'A' };
            }
            let mut forged = token.clone().into_bytes();
            forged[at] = new;
            let forged = String::from_utf8(forged).expect("ASCII");
            assert!(
                tokens.decode::<Vec<String>>("pagination.token", "scm", &forged).is_err(),
                "forged token accepted: {token} -> {forged}"
            );
        }
    }
}

/// Target `context_url`: the parser on arbitrary strings, with integrations of all four providers.
pub mod context_url {
    use runner_core::scm::context_url::{IntegrationHost, ParseError, Target, parse};
    use runner_core::scm::provider::ScmKind;

    const fn host(host: &'static str, kind: ScmKind) -> IntegrationHost<'static> {
        IntegrationHost { host, kind, virtual_directory: None }
    }

    /// github.com, a GitHub Enterprise configured upper-case, gitlab.com, a self-managed GitLab
    /// on 8443, bitbucket.org, Azure DevOps (Entra) for one organization and for all, and an
    /// Azure DevOps Server under /tfs.
    const INTEGRATIONS: [IntegrationHost<'static>; 8] = [
        host("github.com", ScmKind::GitHub),
        host("GHE.example.com", ScmKind::GitHub),
        host("gitlab.com", ScmKind::GitLab),
        host("gitlab.example.com:8443", ScmKind::GitLab),
        host("bitbucket.org", ScmKind::Bitbucket),
        host("dev.azure.com/contoso", ScmKind::AzureDevOps),
        host("dev.azure.com", ScmKind::AzureDevOps),
        IntegrationHost { host: "tfs.example.com", kind: ScmKind::AzureDevOps, virtual_directory: Some("/tfs") },
    ];

    pub fn run(data: &[u8]) {
        let url = String::from_utf8_lossy(data);
        match parse(&url, &INTEGRATIONS) {
            Ok(c) => {
                assert_eq!(c.host, c.host.to_lowercase(), "{url:?}: host not lower-case");
                assert!(c.integration < INTEGRATIONS.len(), "{url:?}: integration index");
                assert_eq!(INTEGRATIONS[c.integration].kind, c.kind, "{url:?}: kind of the integration");
                assert!(
                    c.base_url.starts_with("https://") || c.base_url.starts_with("http://"),
                    "{url:?}: base URL {}",
                    c.base_url
                );
                assert!(!c.base_url.ends_with('/'), "{url:?}: base URL {} ends with /", c.base_url);
                assert!(
                    c.clone_url().starts_with(&c.base_url),
                    "{url:?}: clone URL {} vs {}",
                    c.clone_url(),
                    c.base_url
                );
                assert!(!c.repo.owner.is_empty() && !c.repo.name.is_empty(), "{url:?}: {:?}", c.repo);
                match &c.target {
                    Target::Commit { sha } => assert!(
                        (7..=64).contains(&sha.len()) && sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                        "{url:?}: sha {sha:?}"
                    ),
                    Target::PullRequest { number } | Target::Issue { number } => {
                        assert!(*number >= 1, "{url:?}: number {number}")
                    }
                    Target::Branch { name, .. } | Target::Tag { name, .. } => {
                        assert!(!name.is_empty(), "{url:?}: empty ref name")
                    }
                    Target::RefAndPath { segments, .. } => {
                        assert!(!segments.is_empty(), "{url:?}: no ref segments")
                    }
                    Target::Repository => {}
                }
            }
            Err(ParseError::UnknownHost(host)) => {
                assert_eq!(host, host.to_lowercase(), "{url:?}: unknown host not lower-case");
            }
            Err(ParseError::Invalid(message)) => assert!(!message.is_empty(), "{url:?}: empty message"),
        }
    }
}

/// A gRPC / Connect envelope: flags, a big-endian length (as declared, right or not) and the
/// payload.
pub fn envelope(flags: u8, declared_len: u32, payload: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(payload.len() + 5);
    framed.push(flags);
    framed.extend_from_slice(&declared_len.to_be_bytes());
    framed.extend_from_slice(payload);
    framed
}

/// `bytes`, gzip-compressed.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("writing to a Vec");
    encoder.finish().expect("writing to a Vec")
}
