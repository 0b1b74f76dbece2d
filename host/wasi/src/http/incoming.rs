//! Serving a request to a `wasi:http/incoming-handler` 0.2 component (the `proxy` world
//! of Spin, wasmCloud and `wasmtime serve`), through `wasmtime-wasi-http`'s server side:
//! the request goes into the instance's table as an `incoming-request`, the handler sets
//! its `response-outparam`, and its status, headers and body (read up to a cap while the
//! handler writes it) are its answer.

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre, Resource};
use wasmtime_wasi_http::p2::bindings::ProxyIndices;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
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

/// What the handler sets its `response-outparam` to.
pub struct Answer(
    tokio::sync::oneshot::Receiver<Result<hyper::Response<HyperOutgoingBody>, ErrorCode>>,
);

/// A handler's whole answer.
#[derive(Debug)]
pub struct HandlerResponse {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: Bytes,
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
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let request = request.map(|body| {
        Full::new(body).map_err(|never: std::convert::Infallible| -> ErrorCode { match never {} })
    });
    let mut view = http_view(data);
    let request = view.new_incoming_request(Scheme::Http, request)?;
    let outparam = view.new_response_outparam(sender)?;
    Ok(Exchange {
        request,
        outparam,
        answer: Answer(receiver),
    })
}

impl Answer {
    /// Wait for the response and read its body, at most `cap` bytes. Runs beside the
    /// handler's call, which writes the body as this reads it.
    pub async fn collect(self, cap: usize) -> Result<HandlerResponse, AnswerError> {
        let response = match self.0.await {
            Ok(Ok(response)) => response,
            Ok(Err(code)) => return Err(AnswerError::Refused(format!("{code:?}"))),
            Err(_dropped) => return Err(AnswerError::NotSet),
        };
        let (parts, mut body) = response.into_parts();
        let mut bytes = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| AnswerError::Body(format!("{error:?}")))?;
            if let Ok(data) = frame.into_data() {
                if bytes.len() + data.len() > cap {
                    return Err(AnswerError::TooLarge { cap });
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok(HandlerResponse {
            status: parts.status,
            headers: parts.headers,
            body: bytes.freeze(),
        })
    }
}
