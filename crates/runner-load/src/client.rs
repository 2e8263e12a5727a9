//! One client per wire protocol, calling any unary RPC by its path: Connect JSON and Connect
//! binary over HTTP/1.1 and HTTP/2 (reqwest), gRPC (a tonic `Channel`) and gRPC-web (tonic-web's
//! client layer over a hyper-util HTTP/1.1 client).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use gitpod_api::tonic;
use http::uri::PathAndQuery;
use prost::Message;
use serde::{Serialize, de::DeserializeOwned};

/// How long one call may take before it counts as an error.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A protocol and, for Connect, the HTTP version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    ConnectJsonH1,
    ConnectJsonH2,
    ConnectProtoH1,
    ConnectProtoH2,
    Grpc,
    GrpcWeb,
}

impl Proto {
    pub const ALL: [Proto; 6] = [
        Proto::ConnectJsonH1,
        Proto::ConnectJsonH2,
        Proto::ConnectProtoH1,
        Proto::ConnectProtoH2,
        Proto::Grpc,
        Proto::GrpcWeb,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Proto::ConnectJsonH1 => "connect-json/h1",
            Proto::ConnectJsonH2 => "connect-json/h2",
            Proto::ConnectProtoH1 => "connect-proto/h1",
            Proto::ConnectProtoH2 => "connect-proto/h2",
            Proto::Grpc => "grpc/h2",
            Proto::GrpcWeb => "grpc-web/h1",
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

type GrpcWebService = tonic_web::GrpcWebClientService<
    hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        tonic_web::GrpcWebCall<tonic::body::Body>,
    >,
>;

enum Transport {
    Connect { http: reqwest::Client, json: bool },
    Grpc(tonic::transport::Channel),
    GrpcWeb(Box<GrpcWebService>),
}

/// Calls the server over one protocol, as one bearer.
pub struct Client {
    pub proto: Proto,
    base: String,
    origin: http::Uri,
    bearer: String,
    transport: Transport,
}

impl Client {
    pub async fn new(proto: Proto, base: &str, token: &str) -> anyhow::Result<Self> {
        let connect = |json: bool, h2: bool| -> anyhow::Result<Transport> {
            let builder = reqwest::Client::builder().timeout(CALL_TIMEOUT);
            let builder = if h2 { builder.http2_prior_knowledge() } else { builder.http1_only() };
            Ok(Transport::Connect { http: builder.build()?, json })
        };
        let transport = match proto {
            Proto::ConnectJsonH1 => connect(true, false)?,
            Proto::ConnectJsonH2 => connect(true, true)?,
            Proto::ConnectProtoH1 => connect(false, false)?,
            Proto::ConnectProtoH2 => connect(false, true)?,
            Proto::Grpc => Transport::Grpc(
                tonic::transport::Endpoint::from_shared(base.to_owned())?
                    .timeout(CALL_TIMEOUT)
                    .connect()
                    .await
                    .with_context(|| format!("gRPC connect to {base}"))?,
            ),
            Proto::GrpcWeb => {
                let http =
                    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
                Transport::GrpcWeb(Box::new(tower::Layer::layer(&tonic_web::GrpcWebClientLayer::new(), http)))
            }
        };
        Ok(Self {
            proto,
            base: base.to_owned(),
            origin: http::Uri::from_str(base)?,
            bearer: format!("Bearer {token}"),
            transport,
        })
    }

    /// Calls `path` (`/<service>/<method>`) with `req`. Any failure, including an error status
    /// inside an HTTP 200 and a response that does not decode, is an `Err` describing it.
    pub async fn call<Req, Resp>(&self, path: &'static str, req: Req) -> Result<Resp, String>
    where
        Req: Message + Serialize + Send + Sync + 'static,
        Resp: Message + DeserializeOwned + Default + Send + Sync + 'static,
    {
        let call = async {
            match &self.transport {
                Transport::Connect { http, json } => self.connect_call(http, *json, path, &req).await,
                Transport::Grpc(channel) => self.tonic_call(channel.clone(), path, req).await,
                Transport::GrpcWeb(svc) => self.tonic_call((**svc).clone(), path, req).await,
            }
        };
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {CALL_TIMEOUT:?}")),
        }
    }

    async fn connect_call<Req: Message + Serialize, Resp: Message + DeserializeOwned + Default>(
        &self,
        http: &reqwest::Client,
        json: bool,
        path: &str,
        req: &Req,
    ) -> Result<Resp, String> {
        let (content_type, body) = if json {
            ("application/json", serde_json::to_vec(req).map_err(|e| format!("encoding the request: {e}"))?)
        } else {
            ("application/proto", req.encode_to_vec())
        };
        let response = http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .header("authorization", &self.bearer)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("transport: {e:#}"))?;
        let status = response.status();
        let ct = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let bytes = response.bytes().await.map_err(|e| format!("reading the body: {e:#}"))?;
        if status != reqwest::StatusCode::OK {
            let body = String::from_utf8_lossy(&bytes);
            return Err(format!("HTTP {status}: {}", body.chars().take(300).collect::<String>()));
        }
        if ct != content_type {
            return Err(format!("HTTP 200 with content-type {ct:?}, expected {content_type}"));
        }
        if json {
            serde_json::from_slice(&bytes).map_err(|e| format!("decoding the JSON answer: {e}"))
        } else {
            Resp::decode(bytes).map_err(|e| format!("decoding the binary answer: {e}"))
        }
    }

    async fn tonic_call<T, Req, Resp>(&self, service: T, path: &'static str, req: Req) -> Result<Resp, String>
    where
        T: tonic::client::GrpcService<tonic::body::Body>,
        T::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        <T::ResponseBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
        Req: Message + Send + Sync + 'static,
        Resp: Message + Default + Send + Sync + 'static,
    {
        let mut grpc = tonic::client::Grpc::with_origin(service, self.origin.clone());
        grpc.ready().await.map_err(|e| format!("transport not ready: {}", e.into()))?;
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        let mut request = tonic::Request::new(req);
        let bearer = self.bearer.parse().map_err(|e| format!("bad token: {e}"))?;
        request.metadata_mut().insert("authorization", bearer);
        // A gRPC error status, in the trailers of an HTTP 200 or trailers-only, is an Err here.
        match grpc.unary(request, PathAndQuery::from_static(path), codec).await {
            Ok(r) => Ok(r.into_inner()),
            Err(status) => Err(format!("gRPC {:?}: {}", status.code(), status.message())),
        }
    }
}
