//! The axum router: the host's fixed endpoints, every operation through the fallback,
//! the batch endpoint, and the layers every request passes (request id, sensitive
//! headers, hardening, authentication, panic catching, tracing) — batch calls and the
//! reads of event streams included, which carry their caller's principal and are guarded
//! with it. The web console's page and assets are served here too.

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::response::IntoResponse;
use http::header;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;

use super::endpoint::Handlers;
use super::endpoints;
use super::error::ApiError;
use super::{audit, auth, batch, cluster, dispatch, events, hardening, request_id, telemetry};
use arsenal_core::host::Host;

/// The full application router for `host`. Its event streams end only when they are
/// dropped; [`serving`] gives a server's router, whose streams end at shutdown.
pub fn router(host: Arc<Host>) -> Router {
    serving(host, CancellationToken::new())
}

/// The application router of a server: its event streams end when `stop` is cancelled.
pub(crate) fn serving(host: Arc<Host>, stop: CancellationToken) -> Router {
    // Batch calls and the reads of event streams go through the same endpoints and layers
    // as requests of their own, minus these two: a batch cannot nest (it is also refused
    // per call, more clearly), and a stream's reads are not streams.
    let calls = layered(Handlers {
        host: host.clone(),
        batches: None,
        events: None,
    });
    layered(Handlers {
        batches: Some(batch::Batches::new(host.clone(), calls.clone())),
        events: Some(events::Events::new(
            host.clone(),
            calls,
            events::EventStreams::new(stop),
        )),
        host,
    })
}

/// The endpoints `handlers` serve, operations through the fallback, and the layers.
fn layered(handlers: Handlers) -> Router {
    let host = handlers.host.clone();
    let guard = hardening::Guard::new(&host.settings().server, host.telemetry().clone());
    let host_for_auth = host.clone();
    let host_for_audit = host.clone();
    let host_for_cluster = host.clone();
    let routes = endpoints::routes(&handlers)
        .fallback(dispatch::by_route)
        .with_state(host)
        .method_not_allowed_fallback(method_not_allowed);
    // The layers wrap the router as a whole, outermost first, rather than each of its
    // routes (`Router::layer`): a middleware clones the service inside it on every
    // request, and a whole router is one `Arc` to clone where a route's stack of layers
    // was a chain of boxed services, cloned and dropped again at every layer.
    let layered = ServiceBuilder::new()
        .layer(middleware::from_fn(request_id::assign))
        // Credentials are marked sensitive before anything below could print a header.
        .layer(SetSensitiveHeadersLayer::new([
            header::AUTHORIZATION,
            header::PROXY_AUTHORIZATION,
            header::COOKIE,
            header::SET_COOKIE,
        ]))
        // The request's span and trace context wrap everything that may answer it, so a
        // request refused at the edge (401, 429, 431, 503) is logged in its span and
        // answers with its `traceparent` too.
        .layer(middleware::from_fn(telemetry::trace_context))
        .layer(middleware::from_fn_with_state(guard, hardening::guard))
        .layer(middleware::from_fn_with_state(
            host_for_auth,
            auth::authenticate,
        ))
        // Inside authentication (it needs the principal), outside everything that answers.
        .layer(middleware::from_fn_with_state(
            host_for_audit,
            audit::record,
        ))
        // A call for another node leaves here, as the caller authentication established.
        .layer(middleware::from_fn_with_state(
            host_for_cluster,
            cluster::select_node,
        ))
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| ApiError::logged_fault().into_response(),
        ))
        .service(routes);
    Router::new().fallback_service(layered)
}

async fn method_not_allowed(request: axum::extract::Request) -> axum::response::Response {
    let path = request.uri().path();
    ApiError::method_not_allowed(request.method(), path, &endpoints::allowed(path)).into_response()
}
