//! `Upstream`: a real HTTP server on 127.0.0.1 for a component to call, answering as the
//! test says and keeping every request it received, so the test can assert what the guest
//! sent.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode};
use tokio::sync::{oneshot, watch};

use crate::Error;

/// The largest request body an upstream keeps; a larger one is answered 413 and kept
/// without its body.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// An HTTP server on `127.0.0.1` and a port of its own, serving a router the test gave it,
/// and keeping the requests it received. It stops when dropped.
///
/// A loopback address is restricted for components: grant the upstream by its exact
/// [`origin`](Upstream::origin) ([`crate::Grant::upstream`] does), as a wildcard pattern
/// reaches public addresses only.
///
/// ```no_run
/// # async fn example() -> Result<(), arsenal_testing::Error> {
/// use arsenal_testing::{TestHost, Upstream};
/// use axum::{Router, routing::get};
///
/// let upstream = Upstream::start(Router::new().route("/ok", get(|| async { "hello" }))).await?;
/// let host = TestHost::builder()
///     .operation("target/my_operation.wasm")
///     .grant("my_operation", |grant| grant.upstream(&upstream))
///     .start()
///     .await?;
/// host.call("my_operation", serde_json::json!({ "url": upstream.url("/ok") })).await;
/// assert_eq!(upstream.requests()[0].path, "/ok");
/// # Ok(())
/// # }
/// ```
pub struct Upstream {
    addr: SocketAddr,
    received: watch::Receiver<Vec<Received>>,
    // Dropping it stops the server.
    _stop: oneshot::Sender<()>,
}

/// One request an [`Upstream`] received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its method.
    pub method: Method,
    /// Its path and query, as sent (`/ok?x=1`).
    pub path: String,
    /// Its headers (`traceparent`, `authorization`, ...).
    pub headers: HeaderMap,
    /// Its body; empty when it was larger than the upstream keeps (16 MiB).
    pub body: Bytes,
}

impl Received {
    /// The value of header `name` (any case), as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Upstream {
    /// Serve `router` on `127.0.0.1` and a free port.
    pub async fn start(router: Router) -> Result<Upstream, Error> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(Error::Upstream)?;
        let addr = listener.local_addr().map_err(Error::Upstream)?;
        let (keep, received) = watch::channel(Vec::new());
        let app = router.layer(axum::middleware::from_fn_with_state(keep, record));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            // Stopped when the sender is dropped, too.
            let shutdown = async move {
                let _ = stopped.await;
            };
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        });
        Ok(Upstream {
            addr,
            received,
            _stop: stop,
        })
    }

    /// An upstream answering every request with `status` and `body`.
    pub async fn answering(status: StatusCode, body: impl Into<Bytes>) -> Result<Upstream, Error> {
        let body = body.into();
        let answer = move || async move { (status, body).into_response() };
        Upstream::start(Router::new().fallback(answer)).await
    }

    /// `http://127.0.0.1:PORT`: what to grant a component for it to reach this upstream.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL of `path` (`/ok?x=1`) on this upstream.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The requests received so far, in the order they came.
    pub fn requests(&self) -> Vec<Received> {
        self.received.borrow().clone()
    }

    /// Wait until it has received at least `count` requests, at most `within`; the
    /// requests received. A request made by a call that already returned has been
    /// received: this is for what a component does on its own (a worker's timer, a
    /// message it was sent).
    pub async fn wait_for(&self, count: usize, within: Duration) -> Result<Vec<Received>, Error> {
        let mut received = self.received.clone();
        let waited = tokio::time::timeout(
            within,
            received.wait_for(|requests| requests.len() >= count),
        )
        .await;
        match waited {
            Ok(Ok(requests)) => Ok(requests.clone()),
            // The sender lives as long as the server, which lives as long as `self`.
            Ok(Err(_)) | Err(_) => Err(Error::NotReceived {
                expected: count,
                received: self.received.borrow().len(),
                within,
            }),
        }
    }
}

/// Keep the request, then let the router answer it.
async fn record(
    State(keep): State<watch::Sender<Vec<Received>>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or_else(
        || parts.uri.path().to_owned(),
        |path| path.as_str().to_owned(),
    );
    let (body, too_large) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => (bytes, false),
        Err(_) => (Bytes::new(), true),
    };
    keep.send_modify(|requests| {
        requests.push(Received {
            method: parts.method.clone(),
            path,
            headers: parts.headers.clone(),
            body: body.clone(),
        });
    });
    if too_large {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(body))).await
}
