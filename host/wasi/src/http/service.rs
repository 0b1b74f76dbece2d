//! Serving a request to a `wasi:http/handler` 0.3 component (the `service` world of WASI
//! 0.3), through `wasmtime-wasi-http`'s `p3` server side: from inside the store's event
//! loop the request goes into the instance's table, `handle` is called (several calls may
//! be inside one instance at once) and the response it returns is the answer, its body
//! read from the guest's stream as the guest writes it — while the event loop runs.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;
use http_body_util::{BodyExt as _, Full};
use tokio::sync::oneshot;
use wasmtime::AsContextMut;
use wasmtime::component::{Accessor, Instance, InstancePre};
use wasmtime_wasi_http::p3::Request;
use wasmtime_wasi_http::p3::bindings::{Service, ServiceIndices};

use super::incoming::Head;
use super::state::{OutboundView, http_view};

/// How the request's body was taken, reported to the guest with its response's.
type RequestIo =
    Pin<Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send + 'static>>;

/// A 0.3 handler component's export, found and type-checked once per component.
#[derive(Clone)]
pub struct ServicePre {
    indices: ServiceIndices,
}

/// One instance's `handle`.
pub struct ServiceHandle(Service);

impl ServicePre {
    /// Find `wasi:http/handler@0.3.x`'s `handle` in `pre`'s component.
    pub fn new<T: 'static>(pre: &InstancePre<T>) -> wasmtime::Result<ServicePre> {
        Ok(ServicePre {
            indices: ServiceIndices::new(pre)?,
        })
    }

    /// `handle` of `instance` (an instance of the component this was made from).
    pub fn load(
        &self,
        store: impl AsContextMut,
        instance: &Instance,
    ) -> wasmtime::Result<ServiceHandle> {
        Ok(ServiceHandle(self.indices.load(store, instance)?))
    }
}

impl ServiceHandle {
    /// Serve `request` from inside the store's event loop (`accessor`): the response
    /// `handle` returns, or the error code it refuses with, goes to `head`; this returns
    /// once that response's body has ended or been dropped, so the event loop that
    /// feeds it runs until then. An error is the instance's failure (a trap).
    pub async fn serve<T: OutboundView>(
        &self,
        accessor: &Accessor<T>,
        request: http::Request<Bytes>,
        head: oneshot::Sender<Head>,
    ) -> wasmtime::Result<()> {
        let (request, request_io) = accessor.with(|mut store| {
            let view = http_view(store.data_mut());
            let (request, request_io) = Request::from_http(view.hooks, request.map(Full::new));
            // Boxed: the future is `'static`, but its opaque type names the view's lifetime.
            let request_io: RequestIo = Box::pin(request_io);
            let request = view.table.push(request)?;
            Ok::<_, wasmtime::Error>((request, request_io))
        })?;
        let response = match self
            .0
            .wasi_http_handler()
            .call_handle(accessor, request)
            .await?
        {
            Ok(response) => response,
            Err(code) => {
                let _ = head.send(Err(format!("{code:?}")));
                return Ok(());
            }
        };
        let response = accessor.with(|mut store| {
            let response = http_view(store.data_mut()).table.delete(response)?;
            response.into_http_with_getter(&mut store, request_io, http_view::<T>)
        })?;
        let (ended, end) = oneshot::channel();
        let response = response.map(|body| {
            Watched {
                body,
                ended: Some(ended),
            }
            .map_err(|error| format!("{error:?}"))
            .boxed_unsync()
        });
        // A caller that is gone drops the response, and with it the body.
        let _ = head.send(Ok(response));
        let _ = end.await;
        Ok(())
    }
}

/// A body that says when it has ended, failed or been dropped.
struct Watched<B> {
    body: B,
    ended: Option<oneshot::Sender<()>>,
}

impl<B: http_body::Body + Unpin> http_body::Body for Watched<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(context);
        if let Poll::Ready(None | Some(Err(_))) = &polled
            && let Some(ended) = self.ended.take()
        {
            let _ = ended.send(());
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl<B> Drop for Watched<B> {
    fn drop(&mut self) {
        if let Some(ended) = self.ended.take() {
            let _ = ended.send(());
        }
    }
}
