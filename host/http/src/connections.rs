//! Serving connections: hyper's HTTP/1 server over accepted TCP streams, with the
//! transport limits that `axum::serve` does not expose — a header read timeout, and caps
//! on header count and head size as a backstop behind the router's own 431s — each
//! connection's client address as `ConnectInfo` (rate limits of failed authentication
//! key on it), and graceful shutdown: stop accepting, let every connection finish the
//! requests in flight. Every connection runs on a tracked task.

use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;

use arsenal_core::config::ServerSettings;

/// Headers and head bytes the transport takes before answering a bare 431 itself: twice
/// the router's caps, so that a request the router should refuse reaches it (and gets
/// the JSON answer), while a flood is cut before it is buffered.
const BACKSTOP: usize = 2;
/// hyper's smallest read buffer.
const MIN_BUFFER: usize = 8 * 1024;

/// Accept connections on `listener` and serve `app` on them until `stop`; then wait for
/// the requests in flight.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    settings: &ServerSettings,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(
            settings.header_read_timeout_ms.max(1),
        ))
        .max_headers(settings.max_headers.saturating_mul(BACKSTOP).max(1))
        .max_buf_size(
            settings
                .max_header_bytes
                .saturating_mul(BACKSTOP)
                .max(MIN_BUFFER),
        );
    let graceful = GracefulShutdown::new();
    let tasks = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    pause_after(&error).await;
                    continue;
                }
            },
        };
        // Small answers go out at once rather than waiting for more to send.
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tasks.spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    tasks.close();
    tasks.wait().await;
    Ok(())
}

/// After a failed accept: a connection that failed on its own is skipped; anything else
/// (out of file descriptors, say) is logged and waited out briefly so the loop does not
/// spin.
async fn pause_after(error: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "failed to accept a connection");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
