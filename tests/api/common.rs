//! Test harness: a real server on 127.0.0.1:0 with a fresh SQLite database, and one client per
//! protocol that calls any RPC by its path.

use std::str::FromStr;

use gitpod_api::tonic;
use http::uri::PathAndQuery;
use prost::Message;
use runner_core::accounts::Accounts;
use runner_core::identity::{OrgRole, Organization};
use runner_core::model::Principal;
use runner_core::scm::provider::ScmConnector;
use runner_server::state::RunnerTimings;
use runner_server::{AppState, MountOptions, Server, app};
use serde::{Serialize, de::DeserializeOwned};
use tokio::net::TcpListener;

/// A running server, the temporary directory that holds its database, and an organization
/// with an admin to call it as.
pub struct TestServer {
    pub server: Server,
    pub _dir: tempfile::TempDir,
    pub identity: Accounts,
    pub store: std::sync::Arc<dyn runner_core::store::Store>,
    pub org: Organization,
    pub admin_id: uuid::Uuid,
    pub admin_token: String,
    /// The server's health, to start draining as SIGTERM would.
    pub health: std::sync::Arc<runner_server::health::Health>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(MountOptions::default()).await
    }

    pub async fn start_with(options: MountOptions) -> Self {
        Self::start_custom(options, RunnerTimings::default()).await
    }

    pub async fn start_custom(options: MountOptions, timings: RunnerTimings) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let store = runner_store::open(&url).await.unwrap();
        Self::start_on(store, dir, options, timings).await
    }

    /// A server whose SCM calls go to `api_urls` (integration host to API base URL), with a
    /// short provider timeout.
    pub async fn start_with_scm(api_urls: std::collections::HashMap<String, String>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let store = runner_store::open(&url).await.unwrap();
        let scm = runner_scm::HttpScm::new(runner_scm::HttpScmConfig {
            api_urls,
            timeout: std::time::Duration::from_secs(2),
            ..Default::default()
        })
        .unwrap();
        Self::start_full(store, dir, MountOptions::default(), RunnerTimings::default(), Some(std::sync::Arc::new(scm)))
            .await
    }

    /// A server on `store`, an empty database it bootstraps.
    pub async fn start_on(
        store: std::sync::Arc<dyn runner_core::store::Store>,
        dir: tempfile::TempDir,
        options: MountOptions,
        timings: RunnerTimings,
    ) -> Self {
        Self::start_full(store, dir, options, timings, None).await
    }

    async fn start_full(
        store: std::sync::Arc<dyn runner_core::store::Store>,
        dir: tempfile::TempDir,
        options: MountOptions,
        timings: RunnerTimings,
        scm: Option<std::sync::Arc<dyn ScmConnector>>,
    ) -> Self {
        crate::leaks::capture_server_log();
        let (org, admin, token) = Accounts::new(store.clone()).bootstrap().await.unwrap().expect("empty database");
        // The server's own identity use cases, so that identity changes the tests make reach
        // its token cache as an admin's changes through the API would.
        let (server, health, identity) = Self::serve(store.clone(), &options, timings, scm).await;
        Self { server, _dir: dir, identity, store, org, admin_id: admin.id, admin_token: token.token, health }
    }

    /// Another replica of this deployment: a server with the same key on `store`, which must
    /// be the same database.
    pub async fn replica(&self, store: std::sync::Arc<dyn runner_core::store::Store>) -> Server {
        Self::serve(store, &MountOptions::default(), RunnerTimings::default(), None).await.0
    }

    async fn serve(
        store: std::sync::Arc<dyn runner_core::store::Store>,
        options: &MountOptions,
        timings: RunnerTimings,
        scm: Option<std::sync::Arc<dyn ScmConnector>>,
    ) -> (Server, std::sync::Arc<runner_server::health::Health>, Accounts) {
        let mut state = AppState::with_timings(store, &[42; 32], "http://runner-api.test", timings);
        if let Some(scm) = scm {
            state = state.with_scm_connector(scm);
        }
        let (health, identity) = (state.health.clone(), state.identity.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        (Server::start(listener, app(state, options)).unwrap(), health, identity)
    }

    /// Stores a public key for a runner, as its sign-up would.
    pub async fn set_public_key(&self, runner_id: &str, public_key: &[u8]) {
        self.set_status(runner_id, |s| s.public_key = public_key.to_vec()).await;
    }

    /// Changes a runner's reported status in the database, as its reports would.
    pub async fn set_status(&self, runner_id: &str, change: impl FnOnce(&mut runner_core::model::RunnerStatus)) {
        let mut runner = self.store.get_runner(runner_id.parse().unwrap()).await.unwrap().unwrap();
        change(&mut runner.status);
        runner.revision += 1;
        assert_eq!(self.store.update_runner(&runner).await.unwrap(), runner_core::store::WriteOutcome::Written);
    }

    /// A new member of the test organization with a token: `(member id, token)`.
    pub async fn member(&self, name: &str, role: OrgRole) -> (uuid::Uuid, String) {
        let m = self.identity.create_member(self.org.id, Principal::User, name, role).await.unwrap();
        let t = self.identity.issue_token(m.id, "test", None).await.unwrap();
        (m.id, t.token)
    }

    pub fn url(&self) -> String {
        self.server.base_url()
    }

    /// A raw Connect JSON call to `path` with `token`: the HTTP status and the JSON body, as
    /// sent (error details included).
    pub async fn post_json_as(&self, token: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.url()))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// A client calling as the organization's admin.
    pub async fn client(&self, protocol: Protocol) -> Client {
        Client::new(protocol, &self.url(), Some(&self.admin_token)).await
    }

    /// A client calling with `token` (or none).
    pub async fn client_as(&self, protocol: Protocol, token: Option<&str>) -> Client {
        Client::new(protocol, &self.url(), token).await
    }
}

/// The four encodings every scenario runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    ConnectJson,
    ConnectProto,
    Grpc,
    GrpcWeb,
}

pub const ALL: [Protocol; 4] = [Protocol::ConnectJson, Protocol::ConnectProto, Protocol::Grpc, Protocol::GrpcWeb];

/// What a call ended with: `ok`, or the Connect code name of its failure.
pub fn outcome<T>(r: Result<T, Failure>) -> String {
    match r {
        Ok(_) => "ok".to_owned(),
        Err(f) => f.code,
    }
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

/// Calls any RPC of the server over one protocol.
pub struct Client {
    pub protocol: Protocol,
    base: String,
    token: Option<String>,
    transport: Transport,
}

impl Client {
    pub async fn new(protocol: Protocol, base: &str, token: Option<&str>) -> Self {
        let transport = match protocol {
            Protocol::ConnectJson | Protocol::ConnectProto => {
                Transport::Connect { http: reqwest::Client::new(), json: protocol == Protocol::ConnectJson }
            }
            Protocol::Grpc => Transport::Grpc(
                tonic::transport::Endpoint::from_shared(base.to_owned()).unwrap().connect().await.unwrap(),
            ),
            Protocol::GrpcWeb => {
                // HTTP/1.1, as browsers' gRPC-web clients mostly use it.
                let http =
                    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
                Transport::GrpcWeb(Box::new(tower::Layer::layer(&tonic_web::GrpcWebClientLayer::new(), http)))
            }
        };
        if let Some(token) = token {
            crate::leaks::remember(token);
        }
        Self { protocol, base: base.to_owned(), token: token.map(str::to_owned), transport }
    }

    /// Calls `/<service>/<method>` with `req`.
    pub async fn call<Req, Resp>(&self, path: &str, req: Req) -> Result<Resp, Failure>
    where
        Req: Message + Serialize + Send + Sync + 'static,
        Resp: Message + DeserializeOwned + Default + Send + Sync + 'static,
    {
        crate::leaks::remember_request(&req);
        let result: Result<Resp, Failure> = match &self.transport {
            Transport::Connect { http, json } => {
                connect_call(http, &self.base, self.token.as_deref(), path, *json, &req).await
            }
            Transport::Grpc(channel) => tonic_call(channel.clone(), &self.base, self.token.as_deref(), path, req).await,
            Transport::GrpcWeb(svc) => tonic_call((**svc).clone(), &self.base, self.token.as_deref(), path, req).await,
        };
        // No answer (and no server log line) ever holds a secret a test sent.
        let seen = match &result {
            Ok(resp) => resp.encode_to_vec(),
            Err(f) => format!("{} {}", f.message, f.bad_fields.join(" ")).into_bytes(),
        };
        crate::leaks::check(&format!("the answer to {path}"), &seen);
        result
    }
}

async fn connect_call<Req: Message + Serialize, Resp: Message + DeserializeOwned + Default>(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    path: &str,
    json: bool,
    req: &Req,
) -> Result<Resp, Failure> {
    let (content_type, body) = if json {
        ("application/json", serde_json::to_vec(req).unwrap())
    } else {
        ("application/proto", req.encode_to_vec())
    };
    let mut request = http.post(format!("{base}{path}")).header("content-type", content_type).body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let ct = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let bytes = response.bytes().await.unwrap();
    if status == 200 {
        assert_eq!(ct, content_type, "success content type");
        return Ok(if json { serde_json::from_slice(&bytes).unwrap() } else { Resp::decode(bytes).unwrap() });
    }
    assert_eq!(ct, "application/json", "Connect errors are JSON for every codec");
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let bad_fields = body["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["type"] == "google.rpc.BadRequest")
        .flat_map(|d| {
            use base64::Engine;
            let raw = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(d["value"].as_str().unwrap().trim_end_matches('='))
                .unwrap();
            tonic_types::pb::BadRequest::decode(raw.as_slice()).unwrap().field_violations.into_iter().map(|v| v.field)
        })
        .collect();
    Err(Failure {
        code: body["code"].as_str().unwrap().to_owned(),
        message: body["message"].as_str().unwrap_or_default().to_owned(),
        http_status: Some(status),
        bad_fields,
    })
}

async fn tonic_call<T, Req, Resp>(
    service: T,
    base: &str,
    token: Option<&str>,
    path: &str,
    req: Req,
) -> Result<Resp, Failure>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
    Req: Message + Send + Sync + 'static,
    Resp: Message + Default + Send + Sync + 'static,
{
    let origin = http::Uri::from_str(base).unwrap();
    let mut grpc = tonic::client::Grpc::with_origin(service, origin);
    grpc.ready().await.map_err(Into::into).expect("transport ready");
    let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
    let mut request = tonic::Request::new(req);
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    match grpc.unary(request, PathAndQuery::from_str(path).unwrap(), codec).await {
        Ok(r) => Ok(r.into_inner()),
        Err(status) => {
            let bad_fields = {
                use tonic_types::StatusExt;
                status
                    .get_details_bad_request()
                    .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
                    .unwrap_or_default()
            };
            Err(Failure {
                code: code_name(status.code()).to_owned(),
                message: status.message().to_owned(),
                http_status: None,
                bad_fields,
            })
        }
    }
}

/// Connect's name for a gRPC code.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "ok",
        Cancelled => "canceled",
        Unknown => "unknown",
        InvalidArgument => "invalid_argument",
        DeadlineExceeded => "deadline_exceeded",
        NotFound => "not_found",
        AlreadyExists => "already_exists",
        PermissionDenied => "permission_denied",
        ResourceExhausted => "resource_exhausted",
        FailedPrecondition => "failed_precondition",
        Aborted => "aborted",
        OutOfRange => "out_of_range",
        Unimplemented => "unimplemented",
        Internal => "internal",
        Unavailable => "unavailable",
        DataLoss => "data_loss",
        Unauthenticated => "unauthenticated",
    }
}
