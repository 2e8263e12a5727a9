//! One client per wire protocol, calling any unary RPC by its path: Connect JSON and Connect
//! binary (reqwest, HTTP/1.1 or HTTP/2), gRPC (a tonic `Channel`) and gRPC-web (tonic-web's
//! client layer over a hyper-util client, HTTP/1.1 as browsers mostly use it or HTTP/2, in the
//! binary form or the text form, `application/grpc-web-text`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use gitpod_api::tonic;
use http::uri::PathAndQuery;
use prost::Message;
use serde::{Serialize, de::DeserializeOwned};
use tonic::client::GrpcService;

use crate::leaks;

/// The messages of a server stream as they arrive: an `Err` item is the error the server
/// ended the stream with (the last item).
pub type MessageStream<Resp> = std::pin::Pin<Box<dyn futures::Stream<Item = Result<Resp, Failure>> + Send>>;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type TonicBody = tonic::body::Body;

/// What tonic calls go over: a channel, a plain HTTP/2 client, gRPC-web.
trait GrpcTransport: GrpcService<TonicBody, Error: Into<BoxError>, ResponseBody: ResponseBody> {}
impl<T: GrpcService<TonicBody, Error: Into<BoxError>, ResponseBody: ResponseBody>> GrpcTransport for T {}

/// The body of a tonic call's answer.
trait ResponseBody: http_body::Body<Data = bytes::Bytes, Error: Into<BoxError> + Send> + Send + 'static {}
impl<B: http_body::Body<Data = bytes::Bytes, Error: Into<BoxError> + Send> + Send + 'static> ResponseBody for B {}

/// A gRPC status as a [`Failure`], with its `google.rpc.BadRequest` fields and, for a
/// transport error (no status from the server), its causes.
fn status_failure(status: &tonic::Status) -> Failure {
    let bad_request: Vec<(String, String)> = {
        use tonic_types::StatusExt;
        status
            .get_details_bad_request()
            .map(|b| b.field_violations.into_iter().map(|v| (v.field, v.reason)).collect())
            .unwrap_or_default()
    };
    let mut message = status.message().to_owned();
    let mut cause = std::error::Error::source(status);
    while let Some(e) = cause {
        let text = e.to_string();
        if !message.ends_with(&text) {
            message = format!("{message}: {text}");
        }
        cause = e.source();
    }
    Failure {
        code: code_name(status.code()).to_owned(),
        message,
        http_status: None,
        bad_fields: bad_request.iter().map(|(field, _)| field.clone()).collect(),
        bad_request,
    }
}

/// A Connect error (`{"code", "message"}`) as a [`Failure`], without its details.
fn json_failure(error: &serde_json::Value, http_status: Option<u16>) -> Failure {
    Failure {
        code: error["code"].as_str().unwrap_or_default().to_owned(),
        message: error["message"].as_str().unwrap_or_default().to_owned(),
        http_status,
        bad_fields: Vec::new(),
        bad_request: Vec::new(),
    }
}

/// The four encodings every scenario runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    ConnectJson,
    ConnectProto,
    Grpc,
    GrpcWeb,
}

/// How long an idle HTTP/1.1 connection stays in a client's pool: below the server's idle
/// timeout (`--idle-timeout-seconds`, 120 s), after which it closes an idle keep-alive
/// connection.
pub const POOL_IDLE: Duration = Duration::from_secs(5);

pub const ALL: [Protocol; 4] = [Protocol::ConnectJson, Protocol::ConnectProto, Protocol::Grpc, Protocol::GrpcWeb];

/// How a [`Client`] talks; the default is what the tests use.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Connect and gRPC-web over HTTP/2 (prior knowledge, h2c) rather than HTTP/1.1. gRPC is
    /// always HTTP/2.
    pub http2: bool,
    /// gRPC-web in its text form (`application/grpc-web-text`, base64) rather than binary.
    pub grpc_web_text: bool,
    /// The HTTP/2 flow-control window this client grants the server (each stream's, and the
    /// connection's), in bytes; `None`: the HTTP client's default. A small one makes a client
    /// that stops reading a stream stop the server at once, rather than after megabytes.
    pub http2_window: Option<u32>,
    /// How long one call may take before it fails; `None`: no limit.
    pub timeout: Option<Duration>,
    /// The deadline sent with every call, in its protocol's header (`Connect-Timeout-Ms`,
    /// `grpc-timeout`), for the server to keep (the client does not enforce it, so a test sees
    /// the server's answer); `None`: none sent.
    pub deadline: Option<Duration>,
    /// Run the [secrets guard](crate::leaks) on every call (the token, each request's secret
    /// fields, each answer). On by default; off for load, where it would be the bottleneck.
    pub leak_guard: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self { http2: false, grpc_web_text: false, http2_window: None, timeout: None, deadline: None, leak_guard: true }
    }
}

/// What a call ended with: `ok`, or the Connect code name of its failure.
pub fn outcome<T>(r: Result<T, Failure>) -> String {
    match r {
        Ok(_) => "ok".to_owned(),
        Err(f) => f.code,
    }
}

/// Connect's name for a gRPC code, from connectrpc-axum.
pub fn code_name(code: tonic::Code) -> &'static str {
    connectrpc_axum::message::error::code_from_tonic(code).as_str()
}

/// An RPC failure as the client saw it: the Connect code name, the message, and for Connect
/// the HTTP status.
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: String,
    pub message: String,
    pub http_status: Option<u16>,
    /// Raw `google.rpc.BadRequest` field paths, when the error carried that detail.
    pub bad_fields: Vec<String>,
    /// The same violations as (field path, reason): the reason names the declared rule
    /// (`STRING_UUID`), empty for the core's own checks.
    pub bad_request: Vec<(String, String)>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(status) = self.http_status {
            write!(f, "HTTP {status} ")?;
        }
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// Why a call did not succeed: the server refused it with an RPC error, or the exchange broke
/// the protocol (no answer in time, a transport error, a wrong content type, an undecodable
/// body).
#[derive(Debug, Clone)]
pub enum CallError {
    Failed(Failure),
    Broken(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Failed(failure) => failure.fmt(f),
            CallError::Broken(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for CallError {}

fn broken(what: impl fmt::Display) -> CallError {
    CallError::Broken(what.to_string())
}

type PlainHttp2 =
    hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, tonic::body::Body>;

type GrpcWebService = tonic_web::GrpcWebClientService<
    crate::web_text::WebText<
        hyper_util::client::legacy::Client<
            hyper_util::client::legacy::connect::HttpConnector,
            crate::web_text::Encode<tonic_web::GrpcWebCall<tonic::body::Body>>,
        >,
    >,
>;

enum Transport {
    Connect {
        http: reqwest::Client,
        json: bool,
    },
    Grpc(tonic::transport::Channel),
    /// gRPC through a plain HTTP/2 client, for calls with a deadline: tonic's `Channel`
    /// enforces `grpc-timeout` itself (`canceled`, "Timeout expired"), hiding the server's answer.
    GrpcPlain(Box<PlainHttp2>),
    GrpcWeb(Box<GrpcWebService>),
}

/// Calls any RPC of the server over one protocol, as one bearer (or none).
pub struct Client {
    pub protocol: Protocol,
    base: String,
    origin: http::Uri,
    /// The credential header: `authorization: Bearer …`, or a session's `cookie`.
    bearer: Option<(&'static str, String)>,
    options: ClientOptions,
    transport: Transport,
}

impl Client {
    /// A test client: default options; panics if it cannot connect.
    pub async fn new(protocol: Protocol, base: &str, token: Option<&str>) -> Self {
        Self::connect(protocol, base, token, ClientOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{protocol:?} client for {base}: {e:#}"))
    }

    /// Connects the way a client of `protocol` does. An HTTP/1.1 connection idle for
    /// [`POOL_IDLE`] is not reused: a request sent on a keep-alive connection just as the server
    /// closes it fails (`SendRequest`); real clients avoid that with an idle timeout below the
    /// server's, as here.
    pub async fn connect(
        protocol: Protocol,
        base: &str,
        token: Option<&str>,
        options: ClientOptions,
    ) -> anyhow::Result<Self> {
        let transport = match protocol {
            Protocol::ConnectJson | Protocol::ConnectProto => {
                let mut builder = reqwest::Client::builder().pool_idle_timeout(POOL_IDLE);
                if let Some(window) = options.http2_window {
                    builder =
                        builder.http2_initial_stream_window_size(window).http2_initial_connection_window_size(window);
                }
                let builder = if options.http2 { builder.http2_prior_knowledge() } else { builder.http1_only() };
                Transport::Connect { http: builder.build()?, json: protocol == Protocol::ConnectJson }
            }
            Protocol::Grpc if options.deadline.is_some() => Transport::GrpcPlain(Box::new(
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .http2_only(true)
                    .build_http(),
            )),
            Protocol::Grpc => Transport::Grpc(
                tonic::transport::Endpoint::from_shared(base.to_owned())?
                    .initial_stream_window_size(options.http2_window)
                    .initial_connection_window_size(options.http2_window)
                    .connect()
                    .await
                    .with_context(|| format!("gRPC connect to {base}"))?,
            ),
            Protocol::GrpcWeb => {
                let mut builder = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new());
                builder.pool_timer(hyper_util::rt::TokioTimer::new()).pool_idle_timeout(POOL_IDLE);
                if options.http2 {
                    builder.http2_only(true);
                }
                if let Some(window) = options.http2_window {
                    builder.http2_initial_stream_window_size(window).http2_initial_connection_window_size(window);
                }
                let http = crate::web_text::WebText::new(builder.build_http(), options.grpc_web_text);
                Transport::GrpcWeb(Box::new(tower::Layer::layer(&tonic_web::GrpcWebClientLayer::new(), http)))
            }
        };
        if let Some(token) = token.filter(|_| options.leak_guard) {
            leaks::remember(token);
        }
        Ok(Self {
            protocol,
            base: base.to_owned(),
            origin: http::Uri::from_str(base)?,
            bearer: token.map(|t| ("authorization", format!("Bearer {t}"))),
            options,
            transport,
        })
    }

    /// A client of `protocol` calling with a console session (the `runner_session` cookie of a
    /// user signed in through SSO) instead of a bearer token.
    pub async fn with_session(protocol: Protocol, base: &str, session_token: &str) -> Self {
        leaks::remember(session_token);
        let mut client = Self::new(protocol, base, None).await;
        client.bearer = Some(("cookie", format!("runner_session={session_token}")));
        client
    }

    /// Calls `path` (`/<service>/<method>`) with `req`: the answer, or the RPC error. Panics
    /// if the exchange breaks the protocol (see [`CallError::Broken`]).
    pub async fn call<Req, Resp>(&self, path: &str, req: Req) -> Result<Resp, Failure>
    where
        Req: Message + Serialize + Send + Sync + 'static,
        Resp: Message + DeserializeOwned + Default + Send + Sync + 'static,
    {
        match self.try_call(path, req).await {
            Ok(resp) => Ok(resp),
            Err(CallError::Failed(failure)) => Err(failure),
            Err(CallError::Broken(why)) => panic!("{:?} {path}: {why}", self.protocol),
        }
    }

    /// Calls `path` with `req`; every way it can fail is an `Err`.
    pub async fn try_call<Req, Resp>(&self, path: &str, req: Req) -> Result<Resp, CallError>
    where
        Req: Message + Serialize + Send + Sync + 'static,
        Resp: Message + DeserializeOwned + Default + Send + Sync + 'static,
    {
        if self.options.leak_guard {
            leaks::remember_request(&req);
        }
        let call = async {
            match &self.transport {
                Transport::Connect { http, json } => self.connect_call::<Req, Resp>(http, *json, path, &req).await,
                Transport::Grpc(channel) => self.tonic_call(channel.clone(), path, req).await,
                Transport::GrpcPlain(http) => self.tonic_call((**http).clone(), path, req).await,
                Transport::GrpcWeb(svc) => self.tonic_call((**svc).clone(), path, req).await,
            }
        };
        let result = match self.options.timeout {
            Some(limit) => tokio::time::timeout(limit, call)
                .await
                .unwrap_or_else(|_| Err(broken(format!("no answer within {limit:?}")))),
            None => call.await,
        };
        if self.options.leak_guard {
            // No answer (and no server log line) ever holds a secret a test sent.
            let seen = match &result {
                Ok(resp) => resp.encode_to_vec(),
                Err(CallError::Failed(f)) => format!("{} {}", f.message, f.bad_fields.join(" ")).into_bytes(),
                Err(CallError::Broken(why)) => why.clone().into_bytes(),
            };
            leaks::check(&format!("the answer to {path}"), &seen);
        }
        result
    }

    async fn connect_call<Req: Message + Serialize, Resp: Message + DeserializeOwned + Default>(
        &self,
        http: &reqwest::Client,
        json: bool,
        path: &str,
        req: &Req,
    ) -> Result<Resp, CallError> {
        let body = if json {
            serde_json::to_vec(req).map_err(|e| broken(format!("encoding the request: {e}")))?
        } else {
            req.encode_to_vec()
        };
        let bytes = self.connect_raw(http, json, path, body).await?;
        if json {
            serde_json::from_slice(&bytes).map_err(|e| broken(format!("decoding the JSON answer: {e}")))
        } else {
            Resp::decode(bytes).map_err(|e| broken(format!("decoding the binary answer: {e}")))
        }
    }

    /// One Connect unary call with an encoded body: the answer's bytes, or its failure.
    async fn connect_raw(
        &self,
        http: &reqwest::Client,
        json: bool,
        path: &str,
        body: Vec<u8>,
    ) -> Result<bytes::Bytes, CallError> {
        let content_type = if json { "application/json" } else { "application/proto" };
        let mut request = http.post(format!("{}{path}", self.base)).header("content-type", content_type).body(body);
        if let Some((name, value)) = &self.bearer {
            request = request.header(*name, value);
        }
        if let Some(deadline) = self.options.deadline {
            request = request.header("connect-timeout-ms", deadline.as_millis().max(1).to_string());
        }
        let response = request.send().await.map_err(|e| broken(format!("transport: {e:#}")))?;
        let status = response.status().as_u16();
        let ct = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let bytes = response.bytes().await.map_err(|e| broken(format!("reading the body: {e:#}")))?;
        let text = || String::from_utf8_lossy(&bytes).chars().take(300).collect::<String>();
        if status == 200 {
            if ct != content_type {
                return Err(broken(format!("HTTP 200 with content type {ct:?}, expected {content_type}")));
            }
            return Ok(bytes);
        }
        if ct != "application/json" {
            // Connect errors are JSON for every codec.
            return Err(broken(format!("HTTP {status} with content type {ct:?}: {}", text())));
        }
        let body: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| broken(format!("HTTP {status}, the error is not JSON ({e}): {}", text())))?;
        let code = body["code"].as_str().ok_or_else(|| broken(format!("HTTP {status}, no code: {body}")))?;
        let mut bad_request = Vec::new();
        for detail in body["details"].as_array().into_iter().flatten() {
            if detail["type"] != "google.rpc.BadRequest" {
                continue;
            }
            use base64::Engine;
            let value = detail["value"].as_str().ok_or_else(|| broken(format!("a detail without a value: {body}")))?;
            let raw = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(value.trim_end_matches('='))
                .map_err(|e| broken(format!("a BadRequest detail is not base64: {e}")))?;
            let decoded = tonic_types::pb::BadRequest::decode(raw.as_slice())
                .map_err(|e| broken(format!("a BadRequest detail does not decode: {e}")))?;
            bad_request.extend(decoded.field_violations.into_iter().map(|v| (v.field, v.reason)));
        }
        Err(CallError::Failed(Failure {
            code: code.to_owned(),
            message: body["message"].as_str().unwrap_or_default().to_owned(),
            http_status: Some(status),
            bad_fields: bad_request.iter().map(|(field, _)| field.clone()).collect(),
            bad_request,
        }))
    }

    async fn tonic_call<T, Req, Resp>(&self, service: T, path: &str, req: Req) -> Result<Resp, CallError>
    where
        T: GrpcTransport,
        Req: Message + Send + Sync + 'static,
        Resp: Message + Default + Send + Sync + 'static,
    {
        self.tonic_unary(service, path, req, tonic_prost::ProstCodec::<Req, Resp>::default()).await
    }

    async fn tonic_unary<T, C>(&self, service: T, path: &str, req: C::Encode, codec: C) -> Result<C::Decode, CallError>
    where
        T: GrpcTransport,
        C: tonic::codec::Codec + Send + 'static,
        C::Encode: Send + Sync + 'static,
        C::Decode: Send + Sync + 'static,
    {
        let mut grpc = tonic::client::Grpc::with_origin(service, self.origin.clone());
        grpc.ready().await.map_err(|e| broken(format!("transport not ready: {}", e.into())))?;
        let mut request = tonic::Request::new(req);
        if let Some(deadline) = self.options.deadline {
            let value = format!("{}m", deadline.as_millis().max(1));
            request.metadata_mut().insert("grpc-timeout", value.parse().map_err(|e| broken(format!("timeout: {e}")))?);
        }
        if let Some((name, value)) = &self.bearer {
            request.metadata_mut().insert(*name, value.parse().map_err(|e| broken(format!("token: {e}")))?);
        }
        let path = PathAndQuery::from_str(path).map_err(|e| broken(format!("path {path:?}: {e}")))?;
        // A gRPC error status, in the trailers of an HTTP 200 or trailers-only, is a Failure.
        match grpc.unary(request, path, codec).await {
            Ok(r) => Ok(r.into_inner()),
            Err(status) => Err(CallError::Failed(status_failure(&status))),
        }
    }

    /// Calls the server-streaming method at `path` with `req`: the stream of its messages,
    /// which ends with `None` when the server ended it cleanly and with an `Err` item when it
    /// ended it with an error; or the failure of the call itself (before any message).
    pub async fn server_stream<Req, Resp>(&self, path: &str, req: Req) -> Result<MessageStream<Resp>, Failure>
    where
        Req: Message + Serialize + Send + Sync + 'static,
        Resp: Message + DeserializeOwned + Default + Send + Sync + 'static,
    {
        let result = match &self.transport {
            Transport::Connect { http, json } => self.connect_stream::<Req, Resp>(http, *json, path, &req).await,
            Transport::Grpc(channel) => self.tonic_stream(channel.clone(), path, req).await,
            Transport::GrpcPlain(http) => self.tonic_stream((**http).clone(), path, req).await,
            Transport::GrpcWeb(svc) => self.tonic_stream((**svc).clone(), path, req).await,
        };
        match result {
            Ok(stream) => Ok(stream),
            Err(CallError::Failed(failure)) => Err(failure),
            Err(CallError::Broken(why)) => panic!("{:?} {path}: {why}", self.protocol),
        }
    }

    async fn tonic_stream<T, Req, Resp>(
        &self,
        service: T,
        path: &str,
        req: Req,
    ) -> Result<MessageStream<Resp>, CallError>
    where
        T: GrpcTransport,
        Req: Message + Send + Sync + 'static,
        Resp: Message + Default + Send + Sync + 'static,
    {
        let mut grpc = tonic::client::Grpc::with_origin(service, self.origin.clone());
        grpc.ready().await.map_err(|e| broken(format!("transport not ready: {}", e.into())))?;
        let mut request = tonic::Request::new(req);
        if let Some((name, value)) = &self.bearer {
            request.metadata_mut().insert(*name, value.parse().map_err(|e| broken(format!("token: {e}")))?);
        }
        let path = PathAndQuery::from_str(path).map_err(|e| broken(format!("path {path:?}: {e}")))?;
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        let stream = match grpc.server_streaming(request, path, codec).await {
            Ok(r) => r.into_inner(),
            Err(status) => return Err(CallError::Failed(status_failure(&status))),
        };
        // tonic's stream ends after its error.
        Ok(Box::pin(futures::StreamExt::map(stream, |item| item.map_err(|status| status_failure(&status)))))
    }

    /// Connect server streaming: one enveloped request, enveloped messages, then the
    /// end-of-stream message (flag 0x02) holding the error, if any.
    async fn connect_stream<Req: Message + Serialize, Resp: Message + DeserializeOwned + Default + Send + 'static>(
        &self,
        http: &reqwest::Client,
        json: bool,
        path: &str,
        req: &Req,
    ) -> Result<MessageStream<Resp>, CallError> {
        let payload = if json {
            serde_json::to_vec(req).map_err(|e| broken(format!("encoding the request: {e}")))?
        } else {
            req.encode_to_vec()
        };
        let mut body = vec![0u8];
        body.extend_from_slice(&u32::try_from(payload.len()).expect("small").to_be_bytes());
        body.extend_from_slice(&payload);
        let content_type = if json { "application/connect+json" } else { "application/connect+proto" };
        let mut request = http.post(format!("{}{path}", self.base)).header("content-type", content_type).body(body);
        if let Some((name, value)) = &self.bearer {
            request = request.header(*name, value);
        }
        let response = request.send().await.map_err(|e| broken(format!("transport: {e:#}")))?;
        let status = response.status().as_u16();
        let ct = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        if status != 200 {
            let body: serde_json::Value = response.json().await.map_err(|e| broken(format!("HTTP {status}: {e}")))?;
            return Err(CallError::Failed(json_failure(&body, Some(status))));
        }
        if ct != content_type {
            return Err(broken(format!("HTTP 200 with content type {ct:?}, expected {content_type}")));
        }
        let state = (response, bytes::BytesMut::new());
        Ok(Box::pin(futures::stream::unfold(Some(state), move |state| async move {
            let (mut response, mut buffer) = state?;
            loop {
                if buffer.len() >= 5 {
                    let length = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
                    if buffer.len() >= 5 + length {
                        let flags = buffer[0];
                        let frame = buffer.split_to(5 + length).split_off(5).freeze();
                        if flags & 0x02 != 0 {
                            let end: serde_json::Value = serde_json::from_slice(&frame).unwrap_or_default();
                            return end.get("error").map(|error| (Err(json_failure(error, None)), None));
                        }
                        let message = if json {
                            serde_json::from_slice::<Resp>(&frame).map_err(|e| e.to_string())
                        } else {
                            Resp::decode(frame).map_err(|e| e.to_string())
                        };
                        let message = message.unwrap_or_else(|e| panic!("a streamed message does not decode: {e}"));
                        return Some((Ok(message), Some((response, buffer))));
                    }
                }
                match response.chunk().await {
                    Ok(Some(chunk)) => buffer.extend_from_slice(&chunk),
                    Ok(None) => panic!("the Connect stream ended without its end-of-stream message"),
                    Err(e) => panic!("reading the Connect stream: {e:#}"),
                }
            }
        })))
    }

    /// Calls `path` with a request in proto3 JSON and gives the answer in proto3 JSON, over this
    /// client's protocol: Connect JSON sends the JSON as it is; the binary protocols transcode it
    /// through the API's descriptors. For requests built from data (the validation table), where
    /// no Rust type is at hand. Panics if the exchange breaks the protocol.
    pub async fn call_json(&self, path: &str, request: serde_json::Value) -> Result<serde_json::Value, Failure> {
        let (input, output) = crate::dynamic::method(path);
        if self.options.leak_guard {
            leaks::remember_request(&request);
        }
        let result = match &self.transport {
            Transport::Connect { http, json: true } => {
                let body = serde_json::to_vec(&request).expect("JSON serializes");
                self.connect_raw(http, true, path, body).await.and_then(|bytes| {
                    serde_json::from_slice(&bytes).map_err(|e| broken(format!("decoding the JSON answer: {e}")))
                })
            }
            transport => {
                let body = crate::dynamic::encode(&input, &request);
                let bytes = match transport {
                    Transport::Connect { http, .. } => {
                        self.connect_raw(http, false, path, body).await.map(|b| b.to_vec())
                    }
                    Transport::Grpc(channel) => {
                        self.tonic_unary(channel.clone(), path, body, crate::dynamic::RawCodec).await
                    }
                    Transport::GrpcPlain(http) => {
                        self.tonic_unary((**http).clone(), path, body, crate::dynamic::RawCodec).await
                    }
                    Transport::GrpcWeb(svc) => {
                        self.tonic_unary((**svc).clone(), path, body, crate::dynamic::RawCodec).await
                    }
                };
                bytes.map(|b| crate::dynamic::to_json(&output, &b))
            }
        };
        if self.options.leak_guard {
            let seen = match &result {
                Ok(answer) => answer.to_string().into_bytes(),
                Err(CallError::Failed(f)) => format!("{} {}", f.message, f.bad_fields.join(" ")).into_bytes(),
                Err(CallError::Broken(why)) => why.clone().into_bytes(),
            };
            leaks::check(&format!("the answer to {path}"), &seen);
        }
        match result {
            Ok(answer) => Ok(answer),
            Err(CallError::Failed(failure)) => Err(failure),
            Err(CallError::Broken(why)) => panic!("{:?} {path}: {why}", self.protocol),
        }
    }
}
