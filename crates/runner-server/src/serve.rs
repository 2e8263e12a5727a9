//! Serving the application on a listener: HTTP/1.1 and HTTP/2 on one port (h2c in plain text,
//! ALPN `h2`/`http/1.1` with TLS), Nagle off, transport limits that cut slow or idle clients off,
//! and graceful shutdown that lets in-flight calls finish within a drain deadline.
//!
//! Every connection runs in its own task: the TLS handshake (bounded by the header-read timeout)
//! happens there, so a client that stalls its handshake only holds its own connection.
//!
//! Idle and header-read are two timeouts, as in Go's server and Envoy: a keep-alive connection
//! between calls is idle (`idle_timeout`, 120 s by default), and only once a request's first
//! byte arrives does its head have `header_read_timeout` to arrive whole. hyper's own HTTP/1
//! header timer also runs while a keep-alive connection waits, which closed idle connections
//! after 10 s: a client whose pool kept them longer (Go's and reqwest's keep them 90 s) sent
//! requests on connections the server was closing and got "connection closed before message
//! completed". That timer is off here; [`HeadWatch`] and the connection's loop do both.
//!
//! [`HeadWatch`] also paces the socket writes of an HTTP/2 connection with a streaming call open
//! ([`PACED_WRITE_PAUSE`]), so that the events of its watch streams share writes.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use bytes::{Buf, Bytes, BytesMut};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tower::ServiceExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Transport limits and timeouts. The defaults are the server's flags' defaults.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Connections served at once; beyond it new connections wait in the listen backlog (they
    /// are not accepted) until one closes.
    pub max_connections: usize,
    /// Concurrent HTTP/2 streams (calls) per connection.
    pub max_concurrent_streams: u32,
    /// Largest request head: HTTP/1 read buffer (a larger head gets 431) and HTTP/2 header list.
    pub max_header_bytes: usize,
    /// Time a connection gets to send its first byte (plain) or finish its TLS handshake, and
    /// an HTTP/1 request to send its whole head, from its first byte.
    pub header_read_timeout: Duration,
    /// Time a request gets to send its whole body, from its head. Streaming methods
    /// (reflection, health watch), with or without the `/api` prefix, are exempt: their request
    /// stream is the session.
    pub body_read_timeout: Duration,
    /// A connection without a call in flight this long is closed (HTTP/2 with GOAWAY).
    pub idle_timeout: Duration,
    /// HTTP/2 keep-alive pings this often (`None`: no pings) ...
    pub http2_keepalive_interval: Option<Duration>,
    /// ... and the connection is closed if a ping is not answered within this.
    pub http2_keepalive_timeout: Duration,
    /// After shutdown begins, calls in flight get this long before the connections are cut.
    pub drain: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            max_concurrent_streams: 256,
            max_header_bytes: 64 * 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(120),
            http2_keepalive_interval: Some(Duration::from_secs(60)),
            http2_keepalive_timeout: Duration::from_secs(20),
            drain: Duration::from_secs(20),
        }
    }
}

/// hyper's HTTP/1 read buffer cannot be smaller.
pub const MIN_HEADER_BYTES: usize = 8192;

/// A rustls server configuration (ring provider, TLS 1.2 and 1.3, ALPN `h2` and `http/1.1`)
/// from PEM files: a certificate chain (leaf first) and its private key (PKCS#8, PKCS#1 or SEC1).
pub fn tls_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let cert_pem = std::fs::read(cert).with_context(|| format!("cannot read TLS certificate {}", cert.display()))?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("TLS certificate {} is not valid PEM", cert.display()))?;
    anyhow::ensure!(!chain.is_empty(), "TLS certificate {} holds no CERTIFICATE", cert.display());
    let key_pem = std::fs::read(key).with_context(|| format!("cannot read TLS key {}", key.display()))?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
        .with_context(|| format!("TLS key {} holds no PEM private key", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .with_context(|| format!("TLS key {} does not fit certificate {}", key.display(), cert.display()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `app` in plain text with the default limits until `shutdown` resolves, then stops
/// accepting and waits (at most `drain`) for the calls in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> std::io::Result<()> {
    serve_with(listener, app, None, ServeOptions { drain, ..ServeOptions::default() }, shutdown).await
}

/// Serves `app`, over TLS when `tls` is given, with the given limits until `shutdown`
/// resolves, then stops accepting and waits (at most `options.drain`) for the calls in flight.
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<ServerConfig>>,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max_connections = options.max_connections.max(1);
    let shared = Arc::new(Shared {
        builder: builder(&options),
        app,
        tls: tls.map(TlsAcceptor::from),
        options,
        in_flight: Arc::default(),
    });
    let permits = Arc::new(Semaphore::new(max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    let mut last_limit_warning: Option<Instant> = None;
    loop {
        while connections.try_join_next().is_some() {}
        // At the limit the listener is not polled: new connections wait in the backlog.
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if last_limit_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                    tracing::warn!(max_connections, "connection limit reached; new connections wait until one closes");
                    last_limit_warning = Some(Instant::now());
                }
                tokio::select! {
                    () = &mut shutdown => break,
                    permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                }
            }
        };
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::error!(error = %e, "accept failed; retrying in 1 s");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            },
        };
        // Nagle would hold a multi-kilobyte h2 answer back until the client's delayed ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
        connections.spawn(connection(shared.clone(), tcp, peer, permit, stop_rx.clone()));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drain = shared.options.drain;
    let waiting = shared.in_flight.load(Ordering::SeqCst);
    tracing::info!(
        in_flight = waiting,
        deadline_seconds = drain.as_secs(),
        "stopped accepting connections; {} in flight, given up to {} s to finish",
        calls(waiting),
        drain.as_secs()
    );
    let started = Instant::now();
    let drained = tokio::time::timeout(drain, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            in_flight = shared.in_flight.load(Ordering::SeqCst),
            deadline_seconds = drain.as_secs(),
            "shutdown deadline passed with {} in flight; closing the remaining connections",
            calls(shared.in_flight.load(Ordering::SeqCst))
        );
        connections.abort_all();
    } else if waiting > 0 {
        tracing::info!("calls in flight finished after {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// `1 call`, `3 calls`.
fn calls(n: usize) -> String {
    if n == 1 { "1 call".to_owned() } else { format!("{n} calls") }
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}

fn builder(options: &ServeOptions) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // Off: it would also close keep-alive connections idle this long (see the module's
        // documentation); the connection's loop bounds a head's time instead.
        .header_read_timeout(None)
        .max_buf_size(options.max_header_bytes.max(MIN_HEADER_BYTES));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(options.max_concurrent_streams)
        .max_header_list_size(u32::try_from(options.max_header_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(options.http2_keepalive_interval)
        .keep_alive_timeout(options.http2_keepalive_timeout);
    builder
}

struct Shared {
    builder: auto::Builder<TokioExecutor>,
    app: Router,
    tls: Option<TlsAcceptor>,
    options: ServeOptions,
    /// Calls in flight on every connection, for shutdown's log lines.
    in_flight: Arc<AtomicUsize>,
}

/// One connection, start to end; holds its `permit` of the connection limit throughout.
async fn connection(
    shared: Arc<Shared>,
    tcp: TcpStream,
    peer: SocketAddr,
    _permit: OwnedSemaphorePermit,
    mut stop: watch::Receiver<bool>,
) {
    let first_deadline = shared.options.header_read_timeout;
    match &shared.tls {
        None => {
            // hyper's HTTP/1 head timer only starts once the protocol is known (first bytes);
            // a connection that sends nothing must not hold its place for ever.
            let mut byte = [0u8; 1];
            let first = tokio::select! {
                first = tokio::time::timeout(first_deadline, tcp.peek(&mut byte)) => first,
                _ = stop.wait_for(|stopping| *stopping) => return,
            };
            match first {
                Ok(Ok(n)) if n > 0 => serve_connection(&shared, tcp, stop).await,
                Ok(_) => {}
                Err(_) => tracing::debug!(%peer, "closing a connection that sent nothing"),
            }
        }
        Some(acceptor) => {
            let handshake = tokio::select! {
                handshake = tokio::time::timeout(first_deadline, acceptor.accept(tcp)) => handshake,
                _ = stop.wait_for(|stopping| *stopping) => return,
            };
            match handshake {
                Ok(Ok(tls)) => serve_connection(&shared, tls, stop).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

/// Serves HTTP on an established connection until it ends, is idle too long, or shutdown asks
/// it to finish (HTTP/2 GOAWAY, HTTP/1 close after the answer in progress).
async fn serve_connection<I>(shared: &Shared, io: I, mut stop: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new(shared.in_flight.clone()));
    let service = RequestService {
        app: shared.app.clone(),
        activity: activity.clone(),
        body_read_timeout: shared.options.body_read_timeout,
    };
    let (idle_timeout, head_timeout) = (shared.options.idle_timeout, shared.options.header_read_timeout);
    let io = HeadWatch {
        io,
        activity: activity.clone(),
        http2: None,
        held: BytesMut::new(),
        pace: PACED_WRITE_PAUSE,
        pause: None,
    };
    let mut conn = pin!(shared.builder.serve_connection_with_upgrades(TokioIo::new(io), service));
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = stop.wait_for(|stopping| *stopping) => break,
            () = activity.head_began.notified() => {}
            () = tokio::time::sleep_until(activity.deadline(idle_timeout, head_timeout)) => {
                match activity.expired(idle_timeout, head_timeout) {
                    Some(Expired::Idle) => {
                        tracing::debug!(?idle_timeout, "closing an idle connection");
                        break;
                    }
                    // A head that is still arriving cannot be answered: the connection is closed.
                    Some(Expired::Head) => {
                        tracing::debug!(?head_timeout, "closing a connection whose request head did not arrive in time");
                        return;
                    }
                    None => {}
                }
            }
        }
    }
    conn.as_mut().graceful_shutdown();
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Calls in flight on one connection, when the last one ended, and when the head of the next
/// began to arrive; each call also counts in the server's total.
struct Activity {
    state: Mutex<ActivityState>,
    /// Streaming calls open on the connection: while there are any, its writes are paced
    /// ([`HeadWatch`]).
    streams: AtomicUsize,
    server_total: Arc<AtomicUsize>,
    /// A head began: the connection's loop waits for a nearer deadline now.
    head_began: tokio::sync::Notify,
}

struct ActivityState {
    in_flight: usize,
    /// When the last call ended (or the connection began).
    since: Instant,
    /// When bytes of a request head arrived with no call in flight, until its call begins.
    head_since: Option<Instant>,
}

/// Which timeout a connection ran out of.
#[derive(Debug, PartialEq, Eq)]
enum Expired {
    Idle,
    Head,
}

impl Activity {
    fn new(server_total: Arc<AtomicUsize>) -> Self {
        let state = ActivityState { in_flight: 0, since: Instant::now(), head_since: None };
        Self {
            state: Mutex::new(state),
            streams: AtomicUsize::new(0),
            server_total,
            head_began: tokio::sync::Notify::new(),
        }
    }

    fn begin(self: &Arc<Self>, streaming: bool) -> CallGuard {
        let mut state = self.state.lock().expect("not poisoned");
        state.in_flight += 1;
        state.head_since = None;
        self.server_total.fetch_add(1, Ordering::SeqCst);
        if streaming {
            self.streams.fetch_add(1, Ordering::Relaxed);
        }
        CallGuard { activity: self.clone(), streaming }
    }

    /// Bytes of an HTTP/1 request arrived: with no call in flight, a head has begun.
    fn head_bytes(&self) {
        let mut state = self.state.lock().expect("not poisoned");
        if state.in_flight == 0 && state.head_since.is_none() {
            state.head_since = Some(Instant::now());
            self.head_began.notify_one();
        }
    }

    /// When the connection runs out of a timeout if nothing happens meanwhile (with a call in
    /// flight, none runs: one `idle` from now, to look again).
    fn deadline(&self, idle: Duration, head: Duration) -> Instant {
        let state = self.state.lock().expect("not poisoned");
        match (state.in_flight, state.head_since) {
            (0, Some(began)) => began + head,
            (0, None) => state.since + idle,
            _ => Instant::now() + idle,
        }
    }

    fn expired(&self, idle: Duration, head: Duration) -> Option<Expired> {
        let state = self.state.lock().expect("not poisoned");
        match (state.in_flight, state.head_since) {
            (0, Some(began)) => (began.elapsed() >= head).then_some(Expired::Head),
            (0, None) => (state.since.elapsed() >= idle).then_some(Expired::Idle),
            _ => None,
        }
    }
}

/// One call in flight, from its head until its response body is done or dropped.
struct CallGuard {
    activity: Arc<Activity>,
    streaming: bool,
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if self.streaming {
            self.activity.streams.fetch_sub(1, Ordering::Relaxed);
        }
        let mut state = self.activity.state.lock().expect("not poisoned");
        state.in_flight -= 1;
        state.since = Instant::now();
        self.activity.server_total.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A connection's reads, watched for the start of an HTTP/1 request head ([`Activity`]). An
/// HTTP/2 connection (its first bytes are the preface, `PRI * HTTP/2.0`) is not watched: its
/// frames between calls (pings, settings, window updates) are not requests, and it has no
/// heads to bound (its header list has a size limit instead). Its writes are paced while a
/// streaming call is open ([`PACED_WRITE_PAUSE`]).
struct HeadWatch<I> {
    io: I,
    activity: Arc<Activity>,
    /// Decided by the first bytes read.
    http2: Option<bool>,
    /// Written by hyper and not yet to the socket: only while writes are paced.
    held: BytesMut,
    /// How long a paced write waits after the previous one ([`PACED_WRITE_PAUSE`]).
    pace: Duration,
    /// No paced write before it ends.
    pause: Option<Pin<Box<Sleep>>>,
}

/// While an HTTP/2 connection has a streaming call open, a write to its socket waits until this
/// long after the previous one, and takes every frame that came meanwhile: the events of the
/// connection's watch streams, which each leave in their own bursts, then share one write
/// instead of costing one each (docs/performance.md, "WatchEvents"). The first write after a
/// quiet spell leaves at once.
const PACED_WRITE_PAUSE: Duration = Duration::from_millis(2);
/// Bytes held for a paced write at most: beyond it they are written at once.
const PACED_WRITE_MAX: usize = 256 * 1024;

impl<I: AsyncWrite + Unpin> HeadWatch<I> {
    fn paced(&self) -> bool {
        !self.held.is_empty() || (self.http2 == Some(true) && self.activity.streams.load(Ordering::Relaxed) > 0)
    }

    /// Writes every byte held.
    fn poll_write_held(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while !self.held.is_empty() {
            let n = std::task::ready!(Pin::new(&mut self.io).poll_write(cx, &self.held))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            self.held.advance(n);
        }
        Poll::Ready(Ok(()))
    }

    /// Holds `bufs` for the next paced write: `None` when that would hold too much (write
    /// what is held first, then directly).
    fn hold(&mut self, bufs: &[std::io::IoSlice<'_>]) -> Option<usize> {
        let n = bufs.iter().map(|buf| buf.len()).sum::<usize>();
        if self.held.len() + n > PACED_WRITE_MAX {
            return None;
        }
        for buf in bufs {
            self.held.extend_from_slice(buf);
        }
        Some(n)
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for HeadWatch<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.io).poll_read(cx, buf);
        let read = &buf.filled()[before..];
        if !read.is_empty() {
            let http2 = *self.http2.get_or_insert_with(|| read.starts_with(b"PRI"));
            if !http2 {
                self.activity.head_bytes();
            }
        }
        result
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for HeadWatch<I> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.poll_write_vectored(cx, &[std::io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        if self.paced() {
            if let Some(n) = self.hold(bufs) {
                return Poll::Ready(Ok(n));
            }
            std::task::ready!(self.poll_write_held(cx))?;
        }
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if !self.held.is_empty() {
            // Within the pause, what is held waits for it to end; the task is woken then, and
            // hyper, which flushes on every turn, flushes again. Answering "not yet" instead
            // would hold hyper's next frames back too (it flushes before taking each one).
            if let Some(pause) = &mut self.pause
                && pause.as_mut().poll(cx).is_pending()
            {
                return Poll::Ready(Ok(()));
            }
            std::task::ready!(self.poll_write_held(cx))?;
            let next = Instant::now() + self.pace;
            match &mut self.pause {
                Some(pause) => pause.as_mut().reset(next),
                None => self.pause = Some(Box::pin(tokio::time::sleep_until(next))),
            }
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        std::task::ready!(self.poll_write_held(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The app as a hyper service: counts calls for the idle timeout and bounds body reads.
#[derive(Clone)]
struct RequestService {
    app: Router,
    activity: Arc<Activity>,
    body_read_timeout: Duration,
}

impl hyper::service::Service<http::Request<Incoming>> for RequestService {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, req: http::Request<Incoming>) -> Self::Future {
        // Classified here, before the app (which would do it too), so that the `/api` prefix is
        // gone before deciding whether the body is a stream.
        let req = crate::call::classify(req);
        let streaming = req.extensions().get::<crate::call::CallKind>().is_some_and(|k| k.streaming());
        let guard = self.activity.begin(streaming);
        let timeout = self.body_read_timeout;
        let req = req.map(|body| if streaming { Body::new(body) } else { Body::new(DeadlineBody::new(body, timeout)) });
        let call = self.app.clone().oneshot(req);
        Box::pin(async move {
            let response = call.await?;
            Ok(response.map(|body| Body::new(GuardedBody { inner: body, _guard: guard })))
        })
    }
}

/// A request body that fails once its deadline passes before it ended: the handler (the
/// `rpc_guard` layer and connectrpc-axum read bodies) answers with an error, and HTTP/1 closes
/// the connection since the body was not read to its end.
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
    timeout: Duration,
}

impl DeadlineBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        Self { inner, deadline: Box::pin(tokio::time::sleep(timeout)), timeout }
    }
}

/// The request body did not arrive within the body read timeout.
#[derive(Debug)]
pub struct BodyReadTimeout(pub Duration);

impl std::fmt::Display for BodyReadTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body did not arrive within {} s", self.0.as_secs_f64())
    }
}

impl std::error::Error for BodyReadTimeout {}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(BodyReadTimeout(this.timeout).into()))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that keeps its call counted as in flight until it is done or dropped.
struct GuardedBody {
    inner: Body,
    _guard: CallGuard,
}

impl HttpBody for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A server running in the background, for tests and embedding.
pub struct Server {
    pub local_addr: SocketAddr,
    tls: bool,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Starts serving `app` on `listener` in a background task (plain text, default limits,
    /// 10 s drain).
    pub fn start(listener: TcpListener, app: Router) -> std::io::Result<Self> {
        let options = ServeOptions { drain: Duration::from_secs(10), ..ServeOptions::default() };
        Self::start_with(listener, app, None, options)
    }

    /// Starts serving `app` on `listener` in a background task, over TLS when `tls` is given.
    pub fn start_with(
        listener: TcpListener,
        app: Router,
        tls: Option<Arc<ServerConfig>>,
        options: ServeOptions,
    ) -> std::io::Result<Self> {
        Self::start_with_hook(listener, app, tls, options, || {})
    }

    /// As [`Server::start_with`], calling `on_stop` when the shutdown begins (before the drain).
    pub fn start_with_hook(
        listener: TcpListener,
        app: Router,
        tls: Option<Arc<ServerConfig>>,
        options: ServeOptions,
        on_stop: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let is_tls = tls.is_some();
        let task = tokio::spawn(serve_with(listener, app, tls, options, async move {
            let _ = stopped.await;
            on_stop();
        }));
        Ok(Self { local_addr, tls: is_tls, stop: Some(stop), task })
    }

    /// `http://ADDR`, or `https://ADDR` with TLS.
    pub fn base_url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.local_addr)
    }

    /// Stops accepting, lets in-flight calls finish, and waits for the server to end.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.map_err(std::io::Error::other)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A socket that keeps each write as it came.
    #[derive(Default)]
    struct Socket {
        writes: Vec<Vec<u8>>,
    }

    impl AsyncWrite for Socket {
        fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
            self.writes.push(buf.to_vec());
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Long enough that a test's writes meant to come within it do, on a loaded machine too.
    const PACE: Duration = Duration::from_millis(300);

    fn connection(activity: &Arc<Activity>) -> HeadWatch<Socket> {
        let io = Socket::default();
        HeadWatch { io, activity: activity.clone(), http2: Some(true), held: BytesMut::new(), pace: PACE, pause: None }
    }

    /// A connection with a streaming call open (until the guard drops) that has just written
    /// `a`: a pause has begun.
    async fn streaming() -> (Arc<Activity>, CallGuard, HeadWatch<Socket>) {
        let activity = Arc::new(Activity::new(Arc::default()));
        let stream = activity.begin(true);
        let mut io = connection(&activity);
        send(&mut io, b"a").await;
        assert_eq!(writes(&io), [&b"a"[..]], "the first write after a quiet spell leaves at once");
        (activity, stream, io)
    }

    async fn send(io: &mut HeadWatch<Socket>, bytes: &[u8]) {
        io.write_all(bytes).await.unwrap();
        io.flush().await.unwrap();
    }

    fn writes(io: &HeadWatch<Socket>) -> Vec<&[u8]> {
        io.io.writes.iter().map(Vec::as_slice).collect()
    }

    /// Without a streaming call, every flush writes (a unary call's answer is not held).
    #[tokio::test]
    async fn without_a_stream_every_flush_writes() {
        let activity = Arc::new(Activity::new(Arc::default()));
        let _unary = activity.begin(false);
        let mut io = connection(&activity);
        for bytes in [&b"one"[..], b"two", b"three"] {
            send(&mut io, bytes).await;
        }
        assert_eq!(writes(&io), [&b"one"[..], b"two", b"three"]);
    }

    /// With a streaming call open, the first write leaves at once; what comes within the pause
    /// leaves together once it ends (the task is woken for it), in order, and shutdown writes
    /// what is held. Once the stream ends, writes leave at once again.
    #[tokio::test]
    async fn with_a_stream_open_writes_within_the_pause_leave_together() {
        let (activity, stream, mut io) = streaming().await;
        let held_at = Instant::now();
        send(&mut io, b"b").await;
        send(&mut io, b"c").await;
        assert_eq!(writes(&io), [&b"a"[..]], "held within the pause");

        // Nothing else happens on the connection: the end of the pause wakes its task, whose
        // flush writes what was held.
        let written = std::future::poll_fn(|cx| {
            let _ = Pin::new(&mut io).poll_flush(cx);
            if io.io.writes.len() == 2 { Poll::Ready(()) } else { Poll::Pending }
        });
        tokio::time::timeout(PACE * 20, written).await.expect("woken at the end of the pause");
        assert!(held_at.elapsed() >= PACE / 2, "written after {:?}", held_at.elapsed());
        assert_eq!(writes(&io), [&b"a"[..], b"bc"]);

        send(&mut io, b"d").await;
        io.shutdown().await.unwrap();
        assert_eq!(writes(&io), [&b"a"[..], b"bc", b"d"], "shutdown writes what is held");

        drop(stream);
        let mut io = connection(&activity);
        send(&mut io, b"e").await;
        send(&mut io, b"f").await;
        assert_eq!(writes(&io), [&b"e"[..], b"f"]);
    }

    /// No more than [`PACED_WRITE_MAX`] is held: what is held leaves first, then the rest.
    #[tokio::test]
    async fn a_large_write_is_not_held() {
        let (_activity, _stream, mut io) = streaming().await;
        send(&mut io, b"b").await;
        let large = vec![7u8; PACED_WRITE_MAX];
        send(&mut io, &large).await;
        assert_eq!(writes(&io), [&b"a"[..], b"b", &large[..]]);
        send(&mut io, b"c").await;
        assert_eq!(writes(&io).len(), 3, "held again");
        io.shutdown().await.unwrap();
        assert_eq!(writes(&io), [&b"a"[..], b"b", &large[..], b"c"]);
    }
}
