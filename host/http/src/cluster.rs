//! The `node` selector: a request carrying `x-arsenal-node: <node>` naming another node
//! is forwarded there (`cluster::forward`) with its caller's identity and deadline, and
//! that node's answer is relayed as is; a node that is not a member answers 404
//! `node_not_found`, one that is down or silent 503 `node_unavailable`, naming it, within
//! the deadline. The selector is a header, not a
//! query parameter, so that it never collides with an operation's own parameters.
//! Forwarded calls arriving here, and calls an operation makes on its own node, run
//! through the router the assembly built once and handed over ([`serve_forwarded`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::json;
use tower::ServiceExt;

use super::error::{ApiError, ErrorCode};
use super::request_id::RequestId;
use arsenal_core::auth::Principal;
use arsenal_core::cluster::{
    ForwardedCall, LiveChange, LocalDispatch, Reply, ServedCalls, ShareError, Unavailable,
    VerifiedCall,
};
use arsenal_core::host::Host;

/// The request header choosing the node that runs the call.
pub(crate) const NODE_HEADER: &str = "x-arsenal-node";

/// Middleware (inside authentication): forward a call addressed to another node.
pub(super) async fn select_node(
    State(host): State<Arc<Host>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(value) = request.headers().get(NODE_HEADER) else {
        return next.run(request).await;
    };
    let Ok(node) = value.to_str().map(|node| node.trim().to_owned()) else {
        return ApiError::malformed(format!("the {NODE_HEADER} header is not text"))
            .into_response();
    };
    let cluster = host.cluster();
    if node.is_empty() || node == cluster.node() {
        return next.run(request).await;
    }
    let principal = request
        .extensions()
        .get::<Principal>()
        .cloned()
        .unwrap_or_else(Principal::anonymous_reader);
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.to_string())
        .unwrap_or_default();
    // The caller's deadline: the server's bound on a request, within the cluster's.
    let server_bound = host.settings().server.request_timeout_ms;
    let bound = match server_bound {
        0 => cluster.call_timeout(),
        ms => Duration::from_millis(ms).min(cluster.call_timeout()),
    };
    let deadline = SystemTime::now() + bound;
    // The trace continues on the other node, under this node's span.
    let traceparent = request
        .extensions()
        .get::<arsenal_core::telemetry::TraceContext>()
        .map(ToString::to_string);
    let method = request.method().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_owned(), ToString::to_string);
    let content_type = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body =
        match super::extract::read_capped(request, host.settings().server.max_body_bytes).await {
            Ok(body) => body,
            Err(error) => return error.into_response(),
        };
    let call = ForwardedCall {
        principal,
        method,
        path,
        content_type,
        body,
        request_id,
        deadline,
        traceparent,
    };
    match cluster.call(&node, call).await {
        Ok(reply) => relay(reply),
        Err(unavailable) => {
            let code = match unavailable {
                Unavailable::Unknown(_) => ErrorCode::NodeNotFound,
                _ => ErrorCode::NodeUnavailable,
            };
            ApiError::new(code, unavailable.to_string())
                .with_details(json!({ "node": unavailable.node() }))
                .into_response()
        }
    }
}

/// Whether an admin change may go ahead: always when not clustered; when clustered, only
/// while this node can record it for the others. Otherwise 503 `cluster_unavailable`,
/// answered before anything changes.
pub(super) fn admits_changes(host: &Host) -> Result<(), ApiError> {
    host.cluster()
        .admits_changes()
        .map_err(|refused| share_refusal(&refused))
}

/// Record an admin change made live here (under the admin turn) as the state of its name
/// for every node, when clustered. Refused with 409 `cluster_conflict` when another
/// node's change to the name came first (this node then follows that one), 503
/// `cluster_unavailable` when NATS did not take it.
pub(super) async fn share(host: &Host, change: LiveChange<'_>) -> Result<(), ApiError> {
    host.cluster()
        .share(change)
        .await
        .map_err(|refused| share_refusal(&refused))
}

fn share_refusal(refused: &ShareError) -> ApiError {
    let message = refused.to_string();
    match refused {
        ShareError::Conflict {
            kind,
            name,
            revision,
            origin,
            content_hash,
        } => ApiError::new(ErrorCode::ClusterConflict, message).with_details(json!({
            "kind": kind.name(),
            "name": name,
            "revision": revision,
            "node": origin,
            "content_hash": content_hash,
        })),
        ShareError::Unavailable(_) | ShareError::Disconnected => {
            ApiError::new(ErrorCode::ClusterUnavailable, message)
        }
    }
}

/// A node's reply as this server's response.
fn relay(reply: Reply) -> Response {
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Runs verified forwarded calls through the router built once for the host. It holds the
/// router, and so the host, only while the guard [`serve_forwarded`] gave lives.
struct ServedDispatch {
    router: Router,
    node: String,
    cap: usize,
}

impl LocalDispatch for ServedDispatch {
    fn dispatch(&self, call: VerifiedCall) -> Pin<Box<dyn Future<Output = Reply> + Send>> {
        Box::pin(run(self.router.clone(), self.node.clone(), self.cap, call))
    }
}

/// Run calls for this node through `router`, the host's own, until the returned guard drops
/// (when its server stops, or its embedder lets it go).
pub fn serve_forwarded(host: &Host, router: Router) -> ServedCalls {
    let cluster = host.cluster();
    cluster.serve_calls(Arc::new(ServedDispatch {
        router,
        node: cluster.node().to_owned(),
        cap: reply_cap(host),
    }))
}

/// The most bytes of an answer relayed back.
fn reply_cap(host: &Host) -> usize {
    host.settings().limits.max_response_bytes.max(1 << 20) * 2
}

/// Run `call` through `router` as its verified caller, and collect the answer.
async fn run(router: Router, node: String, cap: usize, call: VerifiedCall) -> Reply {
    let mut builder = http::Request::builder()
        .method(call.method.as_str())
        .uri(call.path.as_str());
    if let Ok(id) = HeaderValue::try_from(call.request_id.as_str()) {
        builder = builder.header(super::request_id::HEADER, id);
    }
    if let Some(content_type) = &call.content_type {
        builder = builder.header(http::header::CONTENT_TYPE, content_type.as_str());
    }
    if let Some(traceparent) = &call.traceparent {
        builder = builder.header(arsenal_core::telemetry::TRACEPARENT, traceparent.as_str());
    }
    let mut request = match builder.body(Body::from(call.body)) {
        Ok(request) => request,
        Err(error) => {
            return Reply::error(
                400,
                "malformed_request",
                &error.to_string(),
                &call.request_id,
            );
        }
    };
    // The verified identity, as the batch runner sets its principal: extensions never
    // come from the wire.
    request.extensions_mut().insert(call.principal);
    let response = match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status().as_u16();
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| arsenal_core::cluster::CARRIED.contains(&name.as_str()))
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    headers.push((NODE_HEADER.to_owned(), node));
    let body = axum::body::to_bytes(response.into_body(), cap)
        .await
        .unwrap_or_default();
    Reply {
        status,
        headers,
        body,
    }
}
