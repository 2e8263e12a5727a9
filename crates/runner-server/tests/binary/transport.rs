//! The real binary's transport: TLS (gRPC through tonic, a watch stream with calls beside it on
//! one connection among them, Connect through reqwest over HTTP/2 and HTTP/1.1), and the limits that cut slow, oversized, idle or surplus clients off while
//! everyone else keeps being served: the one home of the server's limits (message size,
//! headers, connections, read and idle timeouts), each set through its flag.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use gitpod_api::gitpod::v1::event_service_client::EventServiceClient;
use gitpod_api::gitpod::v1::runner_service_client::RunnerServiceClient;
use gitpod_api::gitpod::v1::watch_events_request::Scope;
use gitpod_api::gitpod::v1::{
    CreateRunnerRequest, CreateRunnerResponse, ListRunnersRequest, ListRunnersResponse, ResourceOperation,
    RunnerProvider, WatchEventsRequest,
};
use runner_testkit::{ALL, Client, Protocol, ServerProcess, list_request, list_status, rs};

use crate::{BIN, bin};

const LIST: &str = "/gitpod.v1.RunnerService/ListRunners";

/// `message` as a call with the bearer `token`.
fn authorized<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// The binary on a fresh database with `args`.
fn start(args: &[&str]) -> ServerProcess {
    ServerProcess::fresh(bin(), args)
}

/// Reads until the server closes the connection (EOF or reset) or `limit` passes; returns what
/// was read and whether the server closed it.
fn read_until_closed(conn: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(start.elapsed());
        if left.is_zero() {
            return (got, false);
        }
        conn.set_read_timeout(Some(left)).unwrap();
        match conn.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return (got, false),
            Err(_) => return (got, true),
        }
    }
}

/// Writes `bytes` one a second from another thread, until the connection fails or the bytes end.
fn trickle(conn: &TcpStream, bytes: &'static [u8]) -> std::thread::JoinHandle<()> {
    let mut conn = conn.try_clone().unwrap();
    std::thread::spawn(move || {
        for b in bytes {
            std::thread::sleep(Duration::from_secs(1));
            if conn.write_all(&[*b]).is_err() {
                return;
            }
        }
    })
}

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files; returns
/// (certificate PEM, certificate path, key path).
fn self_signed(dir: &std::path::Path) -> (String, PathBuf, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let pem = certified.cert.pem();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &pem).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (pem, cert, key)
}

#[tokio::test]
async fn tls_serves_grpc_and_connect_over_http2_and_http1() {
    let dir = tempfile::tempdir().unwrap();
    let (pem, cert, key) = self_signed(dir.path());
    let server = start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--header-read-timeout-seconds",
        "2",
    ]);
    assert!(server.url.starts_with("https://"), "{}", server.url);

    // A client that stalls its handshake holds only its own connection.
    let stalled = TcpStream::connect(&server.addr).unwrap();

    // gRPC through tonic, over TLS with ALPN h2.
    let tls = tonic::transport::ClientTlsConfig::new().ca_certificate(tonic::transport::Certificate::from_pem(&pem));
    let channel =
        tonic::transport::Channel::from_shared(server.url.clone()).unwrap().tls_config(tls).unwrap().connect().await;
    let channel = channel.unwrap_or_else(|e| panic!("{e:?}\n{}", server.stderr()));
    let token = server.token();
    let mut client = RunnerServiceClient::new(channel.clone());
    client.list_runners(authorized(token, ListRunnersRequest::default())).await.unwrap();

    // A watch stream on the same connection, whose writes are then paced (serve::HeadWatch):
    // each write's event arrives, and the calls beside the stream are answered.
    let watch = WatchEventsRequest { scope: Some(Scope::Organization(true)), ..Default::default() };
    let mut events = EventServiceClient::new(channel).watch_events(authorized(token, watch)).await;
    let events = events.as_mut().unwrap().get_mut();
    for n in 0..5 {
        let create = CreateRunnerRequest {
            name: format!("tls {n}"),
            provider: RunnerProvider::Gcp as i32,
            ..Default::default()
        };
        let created = client.create_runner(authorized(token, create)).await.unwrap().into_inner();
        let id = created.runner.unwrap().runner_id;
        loop {
            let event = tokio::time::timeout(Duration::from_secs(10), events.message()).await;
            let event = event.expect("the event within 10 s").unwrap().expect("the stream goes on");
            if event.resource_id == id && event.operation == ResourceOperation::Create as i32 {
                break;
            }
        }
    }

    // Connect JSON through reqwest: HTTP/2 (what ALPN picks) and HTTP/1.1.
    let root = reqwest::Certificate::from_pem(pem.as_bytes()).unwrap();
    for (http1_only, version) in [(false, reqwest::Version::HTTP_2), (true, reqwest::Version::HTTP_11)] {
        let mut builder = reqwest::Client::builder().add_root_certificate(root.clone());
        if http1_only {
            builder = builder.http1_only();
        }
        let response = builder
            .build()
            .unwrap()
            .post(format!("{}{LIST}", server.url))
            .bearer_auth(server.token())
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.version(), version);
        assert_eq!(response.status(), 200);
        let body = response.text().await.unwrap();
        assert!(body.contains("\"runners\""), "{body}");
    }

    // Plain HTTP on the TLS port fails cleanly (no HTTP answer, the connection is closed)...
    let mut plain = TcpStream::connect(&server.addr).unwrap();
    plain.write_all(list_request(&server.addr, server.token(), "close").as_bytes()).unwrap();
    let (answer, closed) = read_until_closed(&mut plain, Duration::from_secs(5));
    assert!(closed && !answer.starts_with(b"HTTP/"), "{}", String::from_utf8_lossy(&answer));
    // ... and the stalled handshake is cut at the header-read timeout ...
    let mut stalled = stalled;
    let (_, closed) = read_until_closed(&mut stalled, Duration::from_secs(5));
    assert!(closed, "a stalled TLS handshake is cut off");
    // ... while the server keeps serving.
    let response = reqwest::Client::builder()
        .add_root_certificate(root)
        .build()
        .unwrap()
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn tls_needs_both_flags_and_readable_files() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, key) = self_signed(dir.path());
    for (flag, path, other) in [("--tls-cert", &cert, "--tls-key"), ("--tls-key", &key, "--tls-cert")] {
        let output = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--database-url", "sqlite::memory:"])
            .arg(flag)
            .arg(path)
            .arg("--key-file")
            .arg(dir.path().join("server.key"))
            .env_remove("RUNNER_SERVER_TLS_CERT")
            .env_remove("RUNNER_SERVER_TLS_KEY")
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(flag) && stderr.contains(other), "{stderr}");
    }
    // Both given, but the key is not a key: a clear error naming the file, no panic.
    let output = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--database-url", "sqlite::memory:"])
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&cert)
        .arg("--key-file")
        .arg(dir.path().join("server.key"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TLS key") && stderr.contains("cert.pem"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn slowloris_headers_are_cut_off() {
    let server = start(&["--header-read-timeout-seconds", "2"]);
    let mut slow = TcpStream::connect(&server.addr).unwrap();
    let start = Instant::now();
    slow.write_all(format!("POST {LIST} HTTP/1.1\r\nHost: x\r\n").as_bytes()).unwrap();
    let writer = trickle(&slow, b"X-Slow: aaaaaaaaaaaaaaaaaaa");
    // Meanwhile another connection is served.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(list_status(&server.addr, server.token()), "HTTP/1.1 200 OK");
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(8));
    let elapsed = start.elapsed();
    assert!(closed, "the connection is closed");
    assert!(elapsed >= Duration::from_millis(1500) && elapsed < Duration::from_secs(5), "closed after {elapsed:?}");
    writer.join().unwrap();
    assert_eq!(list_status(&server.addr, server.token()), "HTTP/1.1 200 OK");
}

#[test]
fn a_slow_body_is_cut_off_with_an_error() {
    let server = start(&["--body-read-timeout-seconds", "2"]);
    let mut slow = TcpStream::connect(&server.addr).unwrap();
    let start = Instant::now();
    write!(
        slow,
        "POST {LIST} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
        server.token()
    )
    .unwrap();
    let writer = trickle(&slow, b"                    ");
    let (answer, closed) = read_until_closed(&mut slow, Duration::from_secs(8));
    let elapsed = start.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.lines().next().unwrap_or_default();
    assert!(status.starts_with("HTTP/1.1 4") || status.starts_with("HTTP/1.1 5"), "an error answer: {answer}");
    assert!(closed, "the connection is closed: {answer}");
    assert!(elapsed >= Duration::from_millis(1500) && elapsed < Duration::from_secs(5), "cut off after {elapsed:?}");
    writer.join().unwrap();
    assert_eq!(list_status(&server.addr, server.token()), "HTTP/1.1 200 OK");
}

#[tokio::test]
async fn oversized_messages_are_resource_exhausted_on_every_protocol() {
    let server = start(&["--max-message-bytes", "1024"]);
    for protocol in ALL {
        let c = Client::new(protocol, &server.url, Some(server.token())).await;
        let req =
            CreateRunnerRequest { name: "n".repeat(2000), provider: RunnerProvider::Gcp as i32, ..Default::default() };
        let f = c.call::<_, CreateRunnerResponse>(&rs("CreateRunner"), req).await.unwrap_err();
        assert_eq!(f.code, "resource_exhausted", "{protocol:?} {f:?}");
        if protocol == Protocol::ConnectJson || protocol == Protocol::ConnectProto {
            assert_eq!(f.http_status, Some(429));
        }
        // The server is still there.
        c.call::<_, ListRunnersResponse>(&rs("ListRunners"), ListRunnersRequest::default()).await.unwrap();
    }
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let server = start(&[]);
    // HTTP/1.1: a 200 KiB header against the 64 KiB default.
    let mut conn = TcpStream::connect(&server.addr).unwrap();
    let big = "a".repeat(200 * 1024);
    let request = format!("POST {LIST} HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\nContent-Length: 2\r\n\r\n{{}}");
    // The server answers before it has read it all: write from another thread, read here.
    let mut writer = conn.try_clone().unwrap();
    let writing = std::thread::spawn(move || {
        let _ = writer.write_all(request.as_bytes());
    });
    let (answer, _) = read_until_closed(&mut conn, Duration::from_secs(5));
    writing.join().unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    // HTTP/2 (h2c): a header list just over the limit gets 431 on its stream; one far over it
    // (more CONTINUATION frames than the limit allows) loses its connection.
    let client = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    let call = |header: String| {
        client
            .post(format!("{}{LIST}", server.url))
            .bearer_auth(server.token())
            .header("content-type", "application/json")
            .header("x-big", header)
            .body("{}")
            .send()
    };
    let refused = call("a".repeat(70 * 1024)).await.unwrap();
    assert_eq!((refused.version(), refused.status().as_u16()), (reqwest::Version::HTTP_2, 431));
    let refused = call(big).await;
    assert!(refused.is_err(), "{refused:?}");

    // The server keeps serving, over both.
    assert_eq!(list_status(&server.addr, server.token()), "HTTP/1.1 200 OK");
    let ok = client
        .post(format!("{}{LIST}", server.url))
        .bearer_auth(server.token())
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!((ok.version(), ok.status().as_u16()), (reqwest::Version::HTTP_2, 200));
}

#[test]
fn beyond_max_connections_new_connections_wait() {
    let server = start(&["--max-connections", "4", "--header-read-timeout-seconds", "30"]);
    // Four keep-alive connections, each served once and then idle.
    let mut idle: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut conn = TcpStream::connect(&server.addr).unwrap();
            conn.write_all(list_request(&server.addr, server.token(), "keep-alive").as_bytes()).unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = [0u8; 4096];
            let n = conn.read(&mut buf).unwrap();
            assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
            conn
        })
        .collect();
    // The fifth connects (the kernel's backlog) but is not served while the four are open.
    let mut fifth = TcpStream::connect(&server.addr).unwrap();
    fifth.write_all(list_request(&server.addr, server.token(), "close").as_bytes()).unwrap();
    let (answer, closed) = read_until_closed(&mut fifth, Duration::from_millis(1500));
    assert!(answer.is_empty() && !closed, "the fifth waits: {}", String::from_utf8_lossy(&answer));
    // Once one closes, it is served.
    drop(idle.pop());
    let (answer, _) = read_until_closed(&mut fifth, Duration::from_secs(5));
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(server.stderr().contains("connection limit reached"), "{}", server.stderr());
}

/// One whole HTTP/1.1 response on a keep-alive connection (head and `Content-Length` body).
fn read_response(conn: &mut TcpStream) -> String {
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (mut got, mut buf) = (Vec::new(), [0u8; 4096]);
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse::<usize>().unwrap());
            if got.len() >= end + 4 + length.expect("a Content-Length") {
                return String::from_utf8_lossy(&got).into_owned();
            }
        }
        let n = conn.read(&mut buf).expect("the response arrives");
        assert!(n > 0, "closed after {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn http1_keep_alive_connections_are_idle_between_calls_not_reading_headers() {
    let server = start(&["--header-read-timeout-seconds", "1", "--idle-timeout-seconds", "4"]);
    let call = |conn: &mut TcpStream| {
        conn.write_all(list_request(&server.addr, server.token(), "keep-alive").as_bytes()).unwrap();
        let answer = read_response(conn);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    };
    let mut conn = TcpStream::connect(&server.addr).unwrap();
    call(&mut conn);
    // Twice the header-read timeout between two calls: the connection was idle, not reading a
    // head, and still serves (hyper's own header timer closed it here).
    std::thread::sleep(Duration::from_secs(2));
    call(&mut conn);
    // A head that begins and stalls is cut at the header-read timeout, not the idle one.
    let start = Instant::now();
    conn.write_all(format!("POST {LIST} HTTP/1.1\r\nHost: x\r\n").as_bytes()).unwrap();
    let (_, closed) = read_until_closed(&mut conn, Duration::from_secs(8));
    let elapsed = start.elapsed();
    assert!(
        closed && elapsed >= Duration::from_millis(800) && elapsed < Duration::from_secs(3),
        "{closed} {elapsed:?}"
    );
    // A connection left idle is closed at the idle timeout.
    let mut idle = TcpStream::connect(&server.addr).unwrap();
    call(&mut idle);
    let start = Instant::now();
    let (_, closed) = read_until_closed(&mut idle, Duration::from_secs(10));
    let elapsed = start.elapsed();
    assert!(
        closed && elapsed >= Duration::from_millis(3500) && elapsed < Duration::from_secs(8),
        "{closed} {elapsed:?}"
    );
}

#[test]
fn idle_http2_connections_are_closed() {
    let server = start(&["--idle-timeout-seconds", "1"]);
    let mut conn = TcpStream::connect(&server.addr).unwrap();
    let start = Instant::now();
    // The h2c preface and an empty SETTINGS frame; then only what a client must answer
    // (SETTINGS and PING acknowledgements), no request.
    conn.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00").unwrap();
    let mut received = Vec::new();
    let mut goaway_at = None;
    let mut buf = [0u8; 4096];
    let closed_at = loop {
        assert!(start.elapsed() < Duration::from_secs(5), "the idle connection is still open");
        conn.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        match conn.read(&mut buf) {
            Ok(0) => break start.elapsed(),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => break start.elapsed(),
        }
        // Whole frames: 3 bytes length, type, flags, 4 bytes stream id, payload.
        while received.len() >= 9 {
            let len = usize::from(received[0]) << 16 | usize::from(received[1]) << 8 | usize::from(received[2]);
            if received.len() < 9 + len {
                break;
            }
            let frame: Vec<u8> = received.drain(..9 + len).collect();
            let (kind, ack) = (frame[3], frame[4] & 1 == 1);
            match kind {
                4 if !ack => conn.write_all(b"\x00\x00\x00\x04\x01\x00\x00\x00\x00").unwrap(),
                6 if !ack => {
                    conn.write_all(b"\x00\x00\x08\x06\x01\x00\x00\x00\x00").unwrap();
                    conn.write_all(&frame[9..]).unwrap();
                }
                7 => goaway_at = goaway_at.or(Some(start.elapsed())),
                _ => {}
            }
        }
    };
    let goaway_at = goaway_at.expect("a GOAWAY before the close");
    assert!(
        goaway_at >= Duration::from_millis(900) && goaway_at < Duration::from_secs(3),
        "GOAWAY after {goaway_at:?}"
    );
    assert!(closed_at < Duration::from_secs(4), "closed after {closed_at:?}");
}

/// A client that stops sending its request body (it closes its side, or resets the stream)
/// cancelled the call: `canceled`, counted as such, not as the client's bad input.
#[test]
fn a_body_cut_short_by_the_client_is_canceled() {
    let server = start(&[]);
    let mut conn = TcpStream::connect(&server.addr).unwrap();
    let head = format!(
        "POST {LIST} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"pagination\"",
        server.addr,
        server.token()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.shutdown(std::net::Shutdown::Write).unwrap();
    let (answer, _) = read_until_closed(&mut conn, Duration::from_secs(5));
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 499"), "{answer}");
    assert!(answer.contains(r#""code":"canceled""#), "{answer}");

    let mut metrics = TcpStream::connect(&server.addr).unwrap();
    metrics.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let (text, _) = read_until_closed(&mut metrics, Duration::from_secs(5));
    let text = String::from_utf8_lossy(&text);
    assert!(
        text.lines()
            .any(|l| l.starts_with("rpc_requests_total{") && l.contains(r#"code="canceled""#) && l.ends_with(" 1")),
        "{text}"
    );
    assert_eq!(list_status(&server.addr, server.token()), "HTTP/1.1 200 OK");
}

/// A streaming call's request body is its session, so the body read timeout does not apply to
/// it, with or without the `/api` prefix the official SDKs use (the transport once decided this
/// from the path before the prefix was removed, and cut reflection under `/api` off).
#[tokio::test]
async fn a_reflection_stream_under_the_api_prefix_outlives_the_body_read_timeout() {
    use prost::Message;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

    let server = start(&["--body-read-timeout-seconds", "1"]);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    }
    .encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(request.len() as u32).to_be_bytes());
    frame.extend_from_slice(&request);
    let frame = bytes::Bytes::from(frame);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let client = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    tx.send(Ok(frame.clone())).await.unwrap();
    let mut response = client
        .post(format!("{}/api/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", server.url))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(reqwest::Body::wrap_stream(tokio_stream::wrappers::ReceiverStream::new(rx)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // One answer per request, each a whole gRPC frame listing the services.
    let mut received = Vec::new();
    let mut answers = 0;
    let mut next_answer = async |received: &mut Vec<u8>| {
        loop {
            if received.len() >= 5 {
                let len = u32::from_be_bytes(received[1..5].try_into().unwrap()) as usize;
                if received.len() >= 5 + len {
                    let answer = ServerReflectionResponse::decode(&received[5..5 + len]).unwrap();
                    received.drain(..5 + len);
                    return answer;
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(5), response.chunk())
                .await
                .expect("an answer within 5 s")
                .expect("the stream is still open")
                .expect("the stream has not ended");
            received.extend_from_slice(&chunk);
        }
    };
    for pause in [Duration::ZERO, Duration::from_millis(2500)] {
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
            tx.send(Ok(frame.clone())).await.unwrap();
        }
        let answer = next_answer(&mut received).await;
        assert!(format!("{answer:?}").contains("gitpod.v1.RunnerService"), "{answer:?}");
        answers += 1;
    }
    assert_eq!(answers, 2, "the second request, past the body read timeout, was answered");
}
