//! The soak's six protocols: the test kit's four encodings, Connect over both HTTP/1.1 and
//! HTTP/2, each called through the test kit's client (`runner_testkit::Client`).

use std::fmt;
use std::time::Duration;

use prost::Message;
use runner_testkit::{ClientOptions, Protocol};
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

    /// The encoding, and whether Connect runs over HTTP/2.
    fn protocol(self) -> (Protocol, bool) {
        match self {
            Proto::ConnectJsonH1 => (Protocol::ConnectJson, false),
            Proto::ConnectJsonH2 => (Protocol::ConnectJson, true),
            Proto::ConnectProtoH1 => (Protocol::ConnectProto, false),
            Proto::ConnectProtoH2 => (Protocol::ConnectProto, true),
            Proto::Grpc => (Protocol::Grpc, true),
            Proto::GrpcWeb => (Protocol::GrpcWeb, false),
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// Calls the server over one protocol, as one bearer, each call within [`CALL_TIMEOUT`] (the
/// test kit's secrets guard is off: it would be the bottleneck).
pub struct Client {
    pub proto: Proto,
    inner: runner_testkit::Client,
}

impl Client {
    pub async fn new(proto: Proto, base: &str, token: &str) -> anyhow::Result<Self> {
        let (protocol, http2) = proto.protocol();
        let options = ClientOptions { http2, timeout: Some(CALL_TIMEOUT), leak_guard: false, ..Default::default() };
        Ok(Self { proto, inner: runner_testkit::Client::connect(protocol, base, Some(token), options).await? })
    }

    /// Calls `path` (`/<service>/<method>`) with `req`. Any failure, including an error status
    /// inside an HTTP 200 and a response that does not decode, is an `Err` describing it.
    pub async fn call<Req, Resp>(&self, path: &str, req: Req) -> Result<Resp, String>
    where
        Req: Message + Serialize + Send + Sync + 'static,
        Resp: Message + DeserializeOwned + Default + Send + Sync + 'static,
    {
        self.inner.try_call(path, req).await.map_err(|e| e.to_string())
    }
}
