//! Request hardening at the edge, for every request of its own (a batch's calls are
//! guarded with their batch): caps on the number and size of headers (431
//! `headers_too_large`), a bound on the whole request (504 `request_timeout`), and a
//! global limit on requests in flight that sheds the excess at once (503 `overloaded`
//! with `Retry-After`) rather than queueing it. Body and JSON nesting caps are applied
//! where bodies are read (`dispatch`), header read timeouts and the transport's own
//! header backstop where connections are served (`connections`).
//!
//! The limit is a semaphore tried without waiting: tower's `load_shed` over
//! `concurrency_limit` does the same, but `Router::layer` would give each route a limit
//! of its own, and its refusal would not be the one error shape.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::Semaphore;

use super::error::{ApiError, ErrorCode};
use arsenal_core::auth::Principal;
use arsenal_core::config::ServerSettings;
use arsenal_core::telemetry::Telemetry;

/// The edge limits of one router, shared by all its routes.
#[derive(Clone)]
pub(super) struct Guard(Arc<Limits>);

struct Limits {
    max_headers: usize,
    max_header_bytes: usize,
    request_timeout: Option<Duration>,
    in_flight: Option<Arc<Semaphore>>,
    max_in_flight: usize,
    /// Where refusals are counted.
    telemetry: Arc<Telemetry>,
}

impl Guard {
    pub(super) fn new(settings: &ServerSettings, telemetry: Arc<Telemetry>) -> Guard {
        Guard(Arc::new(Limits {
            telemetry,
            max_headers: settings.max_headers,
            max_header_bytes: settings.max_header_bytes,
            request_timeout: (settings.request_timeout_ms > 0)
                .then(|| Duration::from_millis(settings.request_timeout_ms)),
            in_flight: (settings.max_concurrent_requests > 0)
                .then(|| Arc::new(Semaphore::new(settings.max_concurrent_requests))),
            max_in_flight: settings.max_concurrent_requests,
        }))
    }
}

/// Middleware: the header caps, the in-flight limit and the request timeout.
pub(super) async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    if request.extensions().get::<Principal>().is_some() {
        return next.run(request).await;
    }
    let limits = &guard.0;
    if let Some(refusal) = header_refusal(limits, request.headers()) {
        limits.telemetry.refused("headers_too_large");
        return refusal.into_response();
    }
    let _slot = match &limits.in_flight {
        Some(slots) => match slots.clone().try_acquire_owned() {
            Ok(slot) => Some(slot),
            Err(_) => {
                limits.telemetry.refused("overloaded");
                return ApiError::new(
                    ErrorCode::Overloaded,
                    format!(
                        "the server is handling its limit of {} requests; retry shortly",
                        limits.max_in_flight
                    ),
                )
                .with_details(json!({ "limit_requests": limits.max_in_flight }))
                .with_retry_after(Duration::from_secs(1))
                .into_response();
            }
        },
        None => None,
    };
    match limits.request_timeout {
        Some(bound) => match tokio::time::timeout(bound, next.run(request)).await {
            Ok(response) => response,
            Err(_) => {
                limits.telemetry.refused("request_timeout");
                let ms = bound.as_millis() as u64;
                ApiError::new(
                    ErrorCode::RequestTimeout,
                    format!("the request did not finish within {ms} ms"),
                )
                .with_details(json!({ "limit_ms": ms }))
                .into_response()
            }
        },
        None => next.run(request).await,
    }
}

/// The answer to headers over a cap, if they are.
fn header_refusal(limits: &Limits, headers: &http::HeaderMap) -> Option<ApiError> {
    let too_large = |message: String, details| {
        Some(ApiError::new(ErrorCode::HeadersTooLarge, message).with_details(details))
    };
    let count = headers.len();
    if count > limits.max_headers {
        return too_large(
            format!(
                "the request has {count} headers, over the limit of {}",
                limits.max_headers
            ),
            json!({ "headers": count, "limit_headers": limits.max_headers }),
        );
    }
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if bytes > limits.max_header_bytes {
        return too_large(
            format!(
                "the request's headers hold {bytes} bytes, over the limit of {}",
                limits.max_header_bytes
            ),
            json!({ "bytes": bytes, "limit_bytes": limits.max_header_bytes }),
        );
    }
    None
}
