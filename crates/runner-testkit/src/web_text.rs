//! gRPC-web's text form (`application/grpc-web-text`) for the test client: tonic-web's client
//! speaks the binary form only, so this service, under it, base64-encodes the request body and
//! decodes the answer's, as a browser's gRPC-web text client does. With `text` off it passes
//! every call through unchanged (the binary form).

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use base64::Engine as _;
use bytes::{Buf, Bytes, BytesMut};
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderValue, Request, Response};
use http_body::{Body, Frame};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The service under tonic-web's client layer: the text form when `text` is set.
#[derive(Clone)]
pub(crate) struct WebText<S> {
    inner: S,
    text: bool,
}

impl<S> WebText<S> {
    pub(crate) fn new(inner: S, text: bool) -> Self {
        Self { inner, text }
    }
}

impl<S, B, RB> tower::Service<Request<B>> for WebText<S>
where
    S: tower::Service<Request<Encode<B>>, Response = Response<RB>>,
    S::Future: Send + 'static,
    B: Body<Data = Bytes>,
{
    type Response = Response<Decode<RB>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let text = self.text;
        if text {
            req.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc-web-text"));
            req.headers_mut().insert(ACCEPT, HeaderValue::from_static("application/grpc-web-text"));
        }
        let req = req.map(|inner| Encode { inner, text, left: BytesMut::new(), done: false });
        let call = self.inner.call(req);
        Box::pin(async move {
            let response = call.await?;
            Ok(response.map(|inner| Decode { inner, text, pending: BytesMut::new() }))
        })
    }
}

/// The request body, base64-encoded in one run (the server decodes it as one).
pub(crate) struct Encode<B> {
    inner: B,
    text: bool,
    left: BytesMut,
    done: bool,
}

impl<B: Body<Data = Bytes> + Unpin> Body for Encode<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        if !this.text {
            return Pin::new(&mut this.inner).poll_frame(cx);
        }
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    let Ok(mut data) = frame.into_data() else { continue };
                    this.left.extend_from_slice(&data.copy_to_bytes(data.remaining()));
                    // Whole 3-byte groups only: the rest waits for the next chunk or the end.
                    let whole = this.left.len() / 3 * 3;
                    if whole > 0 {
                        let run = this.left.split_to(whole);
                        return Poll::Ready(Some(Ok(Frame::data(B64.encode(run).into()))));
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    this.done = true;
                    if this.left.is_empty() {
                        return Poll::Ready(None);
                    }
                    let run = this.left.split();
                    return Poll::Ready(Some(Ok(Frame::data(B64.encode(run).into()))));
                }
            }
        }
    }
}

/// The answer's body, base64-decoded. The text form may be several runs, each padded:
/// decoded quantum by quantum.
pub(crate) struct Decode<B> {
    inner: B,
    text: bool,
    pending: BytesMut,
}

impl<B> Body for Decode<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if !this.text {
            return Pin::new(&mut this.inner).poll_frame(cx).map_err(Into::into);
        }
        loop {
            let whole = this.pending.len() / 4 * 4;
            if whole > 0 {
                let quanta = this.pending.split_to(whole);
                let mut raw = Vec::with_capacity(whole / 4 * 3);
                for quantum in quanta.chunks(4) {
                    raw.extend(B64.decode(quantum).map_err(|e| format!("the gRPC-web text answer: {e}"))?);
                }
                return Poll::Ready(Some(Ok(Frame::data(raw.into()))));
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => this.pending.extend_from_slice(&data),
                    Err(_) => return Poll::Ready(Some(Err("the gRPC-web text answer has HTTP trailers".into()))),
                },
                Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                None if this.pending.is_empty() => return Poll::Ready(None),
                None => return Poll::Ready(Some(Err("the gRPC-web text answer ends in a partial quantum".into()))),
            }
        }
    }
}
