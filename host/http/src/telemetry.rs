//! The HTTP face of telemetry: `GET /metrics` (Prometheus text), an operation's
//! `/stats` and `/health`, the trace-context middleware (`traceparent` in, a span id of
//! ours out), and the one place that turns a dispatched call's answer into a recorded
//! outcome.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::error::ApiError;
use super::extract::Path;
use super::request_id;
use arsenal_core::host::Host;
use arsenal_core::invoke::CallError;
use arsenal_core::loader::LoadedOperation;
use arsenal_core::telemetry::{CallOutcome, FinishedCall, TRACEPARENT, TraceContext};
use tracing::Instrument;

/// The content type of the Prometheus text format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Middleware: continue the caller's trace (or start one), run the rest of the request in
/// its `request` span (method, path, request id, trace id), and echo the context as
/// `traceparent` with this server's span id.
///
/// The span is made here rather than by tower-http's `TraceLayer`: that is one layer
/// less on every request, and no wrapper around every response body.
pub(crate) async fn trace_context(mut request: Request, next: Next) -> Response {
    let incoming = request
        .headers()
        .get(TRACEPARENT)
        .and_then(|value| value.to_str().ok());
    let context = TraceContext::continue_or_start(incoming);
    request.extensions_mut().insert(context);
    let span = {
        let request_id = request
            .headers()
            .get(request_id::HEADER)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.uri().path(),
            request_id = %request_id,
            trace_id = %context.trace_id_field(),
        )
    };
    let started = Instant::now();
    let answered = async move {
        let response = next.run(request).await;
        tracing::debug!(
            status = response.status().as_u16(),
            latency_us = started.elapsed().as_micros() as u64,
            "answered"
        );
        response
    };
    let mut response = answered.instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(context.encode().as_str()) {
        response.headers_mut().insert(TRACEPARENT, value);
    }
    response
}

/// Record a dispatched call of `operation` that began at `started`.
pub(super) fn record(
    host: &Host,
    operation: &LoadedOperation,
    outcome: &Result<arsenal_core::invoke::JsonText, ApiError>,
    started: Instant,
) {
    let status = outcome.as_ref().map(|_| operation.spec.success_status);
    record_status(host, operation, status, started);
}

/// Record a dispatched call of `operation` that began at `started` and was answered
/// with `status` (a `wasi:http` handler's own) or an error.
pub(super) fn record_status(
    host: &Host,
    operation: &LoadedOperation,
    outcome: Result<StatusCode, &ApiError>,
    started: Instant,
) {
    let outcome = match outcome {
        Ok(status) => CallOutcome {
            status: status.as_u16(),
            code: None,
        },
        Err(error) => CallOutcome {
            status: error.status().as_u16(),
            code: Some(error.code()),
        },
    };
    host.telemetry().record_call(&FinishedCall {
        operation: &operation.spec.name,
        version: &operation.spec.version,
        revision: arsenal_core::registry::revision(operation),
        outcome,
        latency: started.elapsed(),
        request_id: &request_id::current(),
    });
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(host): State<Arc<Host>>) -> Response {
    let text = host.telemetry().render(&host.live_state());
    ([(header::CONTENT_TYPE, PROMETHEUS_TEXT)], text).into_response()
}

/// `GET /api/v1/operations/{name}/stats`.
pub(crate) async fn stats(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let catalog = host.registry().snapshot();
    let operation = catalog
        .get(&name)
        .ok_or_else(|| ApiError::operation_not_found(format_args!("named `{name}`")))?;
    let mut stats = serde_json::to_value(host.telemetry().stats(&name)).expect("stats serialize");
    // Warm-instance mode of the live version: its call budget, idle instances, reuses.
    let instances = &operation.instances;
    stats["warm_instances"] = json!(instances.sequential().map(|pool| pool.facts()));
    // Concurrent reuse of an asynchronous operation: its settings, live instances, calls.
    stats["concurrent_instances"] = json!(instances.concurrent().map(|pool| pool.facts()));
    Ok(Json(json!({ "data": stats })))
}

/// `GET /api/v1/operations/{name}/health`: loaded, instantiates now, within its error
/// budget. Always 200 for a loaded operation; `healthy` says the verdict.
pub(crate) async fn health(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let operation = host
        .registry()
        .snapshot()
        .get(&name)
        .cloned()
        .ok_or_else(|| ApiError::operation_not_found(format_args!("named `{name}`")))?;
    let request_id = request_id::current();
    let instantiates = match host.registry().instantiate(&operation, &request_id).await {
        Ok(()) => json!({ "ok": true, "code": null }),
        Err(failure) => {
            // The cause (a trap message, say) stays in the log, under the request id.
            tracing::warn!(operation = %name, request_id = %request_id, error = %failure, "health check: the operation did not instantiate");
            let code = ApiError::from(CallError::Guest(failure)).kind();
            json!({ "ok": false, "code": code })
        }
    };
    let budget = host.telemetry().error_budget(&name);
    let healthy = instantiates["ok"] == true && budget.ok;
    Ok(Json(json!({
        "data": {
            "name": name,
            "healthy": healthy,
            "checks": {
                "loaded": {
                    "ok": true,
                    "version": operation.spec.version,
                    "revision": arsenal_core::registry::revision(&*operation),
                },
                "instantiates": instantiates,
                "error_budget": budget,
            }
        }
    })))
}
