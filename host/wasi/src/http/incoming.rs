//! Serving a request to a `wasi:http/incoming-handler` 0.2 component (the `proxy` world
//! of Spin, wasmCloud and `wasmtime serve`), through `wasmtime-wasi-http`'s server side:
//! the request goes into the instance's table as an `incoming-request`, the handler sets
//! its `response-outparam`, and its status, headers and body are its answer: a short,
//! quick body whole, a longer or slower one streamed as the handler writes it, capped.
//! A 0.3 handler's answer (`service.rs`) is read the same way.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use tokio::sync::oneshot;
use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre, Resource};
use wasmtime_wasi_http::p2::bindings::ProxyIndices;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::types::{HostIncomingRequest, HostResponseOutparam};

use super::state::{OutboundView, http_view};

/// A handler component's export, found and type-checked once per component.
#[derive(Clone)]
pub struct IncomingHandlerPre {
    indices: ProxyIndices,
}

/// One request handed to an instance: the resources its `handle` is called with, and
/// where its answer arrives.
pub struct Exchange {
    pub request: Resource<HostIncomingRequest>,
    pub outparam: Resource<HostResponseOutparam>,
    pub answer: Answer,
}

/// A handler's body as it writes it; a failure as text.
pub type WrittenBody = UnsyncBoxBody<Bytes, String>;

/// What a handler answers: its response, or the error code it refused with, as text.
pub type Head = Result<http::Response<WrittenBody>, String>;

/// Where a handler's answer arrives.
pub struct Answer(oneshot::Receiver<Head>);

/// A handler's answer: its status, headers and body. `E` is why its call failed, as
/// the host reports it.
pub struct HandlerResponse<E> {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: HandlerBody<E>,
}

/// A handler's body: what was read before the answer was sent and, when the handler was
/// still writing then, the rest as it comes — capped, and failing if the handler's call
/// fails before it ends.
pub struct HandlerBody<E> {
    prefix: Option<Bytes>,
    rest: Option<Rest<E>>,
}

struct Rest<E> {
    body: WrittenBody,
    body_done: bool,
    sent: usize,
    cap: usize,
    /// How the handler's call ended; `None` once it is known to have returned normally.
    ended: Option<oneshot::Receiver<Result<(), E>>>,
}

/// Why a streamed body stopped short.
#[derive(Debug, thiserror::Error)]
pub enum StreamError<E: std::error::Error + 'static> {
    #[error("the handler's body went over the response cap of {cap} bytes")]
    TooLarge { cap: usize },
    #[error("the handler's body failed: {0}")]
    Body(String),
    #[error("the handler failed while its body was sent: {0}")]
    Guest(#[source] E),
}

/// Why a handler's call gave no answer: its call failed, or its answer is unusable.
#[derive(Debug)]
pub enum Unanswered<E> {
    Guest(E),
    Answer(AnswerError),
}

/// Why a handler gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("the handler returned without setting a response")]
    NotSet,
    #[error("the handler answered with the error {0}")]
    Refused(String),
    #[error("the handler's body is over the response cap of {cap} bytes")]
    TooLarge { cap: usize },
    #[error("the handler's body failed: {0}")]
    Body(String),
}

impl IncomingHandlerPre {
    /// Find `wasi:http/incoming-handler@0.2.x`'s `handle` in `pre`'s component.
    pub fn new<T: 'static>(pre: &InstancePre<T>) -> wasmtime::Result<IncomingHandlerPre> {
        Ok(IncomingHandlerPre {
            indices: ProxyIndices::new(pre)?,
        })
    }

    /// Call `handle` on `instance` (an instance of the component this was made from).
    pub async fn handle<T: OutboundView>(
        &self,
        store: &mut Store<T>,
        instance: &Instance,
        request: Resource<HostIncomingRequest>,
        outparam: Resource<HostResponseOutparam>,
    ) -> wasmtime::Result<()> {
        let proxy = self.indices.load(&mut *store, instance)?;
        proxy
            .wasi_http_incoming_handler()
            .call_handle(store, request, outparam)
            .await
    }
}

/// Put `request` into `data`'s table for a handler, with the outparam it answers on.
pub fn exchange<T: OutboundView>(
    data: &mut T,
    request: http::Request<Bytes>,
) -> wasmtime::Result<Exchange> {
    let (sender, answer) = Answer::channel();
    let request = request.map(|body| {
        Full::new(body).map_err(|never: std::convert::Infallible| -> ErrorCode { match never {} })
    });
    let mut view = http_view(data);
    let request = view.new_incoming_request(Scheme::Http, request)?;
    let outparam = view.new_response_outparam_from_callback(move |set| {
        let head = match set {
            Ok(response) => {
                Ok(response.map(|body| body.map_err(|error| format!("{error:?}")).boxed_unsync()))
            }
            Err(code) => Err(format!("{code:?}")),
        };
        let _ = sender.send(head);
    })?;
    Ok(Exchange {
        request,
        outparam,
        answer,
    })
}

/// Bytes of a handler's body read before its answer is sent: a body ending within this
/// (and within [`STREAM_AFTER`]) is answered whole, so that a failure anywhere in the
/// call is answered as an error; a longer or slower one is streamed as it comes.
const BUFFER_BYTES: usize = 64 * 1024;

/// How long a handler's body is read before its answer is sent.
const STREAM_AFTER: Duration = Duration::from_millis(100);

impl Answer {
    /// Where a handler's answer is sent, and where it arrives.
    pub fn channel() -> (oneshot::Sender<Head>, Answer) {
        let (sender, receiver) = oneshot::channel();
        (sender, Answer(receiver))
    }

    /// Read the handler's answer beside its call, whose end `ended` reports: its head,
    /// then its body up to [`BUFFER_BYTES`] or [`STREAM_AFTER`]. A body that ends by
    /// then counts once the call returned normally; one still coming is streamed, at
    /// most `cap` bytes in all.
    pub async fn read<E>(
        self,
        cap: usize,
        mut ended: oneshot::Receiver<Result<(), E>>,
    ) -> Result<HandlerResponse<E>, Unanswered<E>> {
        let mut head = self.0;
        // Whether the call has returned normally (then `ended` is spent).
        let mut returned = false;
        let response = tokio::select! {
            set = &mut head => set,
            end = &mut ended => match end {
                Ok(Err(error)) => return Err(Unanswered::Guest(error)),
                // Returned: the head is set by now, or never will be.
                _ => {
                    returned = true;
                    head.await
                }
            },
        };
        let response = match response {
            Ok(Ok(response)) => response,
            Ok(Err(code)) => return Err(Unanswered::Answer(AnswerError::Refused(code))),
            Err(_dropped) => {
                // A call that failed dropped the outparam: its failure is the cause.
                if !returned && let Ok(Err(error)) = ended.await {
                    return Err(Unanswered::Guest(error));
                }
                return Err(Unanswered::Answer(AnswerError::NotSet));
            }
        };
        let (parts, mut body) = response.into_parts();
        let mut buffered = BytesMut::new();
        let stream_at = tokio::time::sleep(STREAM_AFTER);
        tokio::pin!(stream_at);
        loop {
            tokio::select! {
                frame = body.frame() => match frame {
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            if buffered.len() + data.len() > cap {
                                return Err(Unanswered::Answer(AnswerError::TooLarge { cap }));
                            }
                            buffered.extend_from_slice(&data);
                            if buffered.len() > BUFFER_BYTES {
                                break;
                            }
                        }
                    }
                    Some(Err(error)) => return Err(Unanswered::Answer(AnswerError::Body(error))),
                    None => {
                        // The whole body: it counts once the call returned normally.
                        if !returned && let Ok(Err(error)) = ended.await {
                            return Err(Unanswered::Guest(error));
                        }
                        return Ok(HandlerResponse {
                            status: parts.status,
                            headers: parts.headers,
                            body: HandlerBody { prefix: Some(buffered.freeze()), rest: None },
                        });
                    }
                },
                end = &mut ended, if !returned => match end {
                    Ok(Err(error)) => return Err(Unanswered::Guest(error)),
                    _ => returned = true,
                },
                () = &mut stream_at => break,
            }
        }
        Ok(HandlerResponse {
            status: parts.status,
            headers: parts.headers,
            body: HandlerBody {
                rest: Some(Rest {
                    body,
                    body_done: false,
                    sent: buffered.len(),
                    cap,
                    ended: (!returned).then_some(ended),
                }),
                prefix: Some(buffered.freeze()),
            },
        })
    }
}

impl<E> HandlerBody<E> {
    /// Whether it is sent as it comes rather than whole.
    pub fn is_streamed(&self) -> bool {
        self.rest.is_some()
    }
}

impl<E: std::error::Error + Send + 'static> http_body::Body for HandlerBody<E> {
    type Data = Bytes;
    type Error = StreamError<E>;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamError<E>>>> {
        let polled = self.get_mut().poll_rest(context);
        if let Poll::Ready(Some(Err(error))) = &polled {
            tracing::warn!(%error, "a streamed handler body stopped short");
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_none() && self.prefix.as_ref().is_none_or(Bytes::is_empty)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match (&self.rest, &self.prefix) {
            (None, Some(prefix)) => http_body::SizeHint::with_exact(prefix.len() as u64),
            (None, None) => http_body::SizeHint::with_exact(0),
            (Some(_), _) => http_body::SizeHint::default(),
        }
    }
}

impl<E> HandlerBody<E> {
    fn poll_rest(
        &mut self,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamError<E>>>>
    where
        E: std::error::Error + 'static,
    {
        use http_body::Body as _;
        let this = self;
        if let Some(prefix) = this.prefix.take()
            && !prefix.is_empty()
        {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        let Some(rest) = &mut this.rest else {
            return Poll::Ready(None);
        };
        if !rest.body_done {
            match Pin::new(&mut rest.body).poll_frame(context) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        rest.sent += data.len();
                        if rest.sent > rest.cap {
                            let cap = rest.cap;
                            this.rest = None;
                            return Poll::Ready(Some(Err(StreamError::TooLarge { cap })));
                        }
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                Poll::Ready(Some(Err(error))) => {
                    this.rest = None;
                    return Poll::Ready(Some(Err(StreamError::Body(error))));
                }
                Poll::Ready(None) => rest.body_done = true,
            }
        }
        let outcome = match &mut rest.ended {
            None => None,
            Some(ended) => match Pin::new(ended).poll(context) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(Ok(()))) => None,
                Poll::Ready(Ok(Err(error))) => Some(StreamError::Guest(error)),
                Poll::Ready(Err(_dropped)) => Some(StreamError::Body(
                    "the handler's call ended without a result".to_owned(),
                )),
            },
        };
        this.rest = None;
        Poll::Ready(outcome.map(Err))
    }
}
