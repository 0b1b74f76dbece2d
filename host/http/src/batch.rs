//! `POST /api/v1/batch`: up to 1,000 calls in one request, each sent through the same
//! router as a request of its own (route lookup, parameter validation, instance gate,
//! deadlines, the one error shape), at most `concurrency` at a time, answered in order.
//!
//! The body is `{"calls": [{"method", "path", "query"?, "body"?, "id"?}, ...],
//! "concurrency"?: 1..=64 (default 8), "stop_on_error"?: false}`. The answer is 200
//! `{"data": {"results": [{"index", "id", "status", "body"}, ...], "succeeded", "failed",
//! "skipped"}}` whatever the calls answered; each `body` is what that request would have
//! answered on its own. The batch as a whole is refused only when its body is not JSON
//! (400 `malformed_request`), holds more than 1,000 calls (413 `batch_too_large`) or is
//! otherwise ill-formed, an empty list included (422 `validation_error`). A call of the
//! batch endpoint itself is answered 422 `nested_batch`; calls not started after a
//! failure under `stop_on_error` are answered 424 `skipped`.

mod request;
mod run;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{FromRef, State};
use http::Extensions;
use serde_json::{Value, json};

pub(crate) use request::{DEFAULT_CONCURRENCY, MAX_CALLS, MAX_CONCURRENCY};

use super::error::ApiError;
use super::extract::JsonObject;
use super::request_id::RequestId;
use arsenal_core::auth::Principal;
use arsenal_core::host::Host;
use arsenal_core::telemetry::TraceContext;
use request::{BatchRequest, ENVELOPE_DEPTH};
use run::Runner;

/// Where the endpoint is served.
pub(crate) const PATH: &str = "/api/v1/batch";

/// The endpoint's state: the host, and the router its calls go through.
#[derive(Clone)]
pub(super) struct Batches {
    host: Arc<Host>,
    /// Every endpoint but this one, with the layers of a request of its own.
    calls: Router,
}

impl Batches {
    pub(super) fn new(host: Arc<Host>, calls: Router) -> Batches {
        Batches { host, calls }
    }
}

/// `POST /api/v1/batch`.
pub(super) async fn handle(
    State(batches): State<Batches>,
    extensions: Extensions,
    JsonObject(body): JsonObject<ENVELOPE_DEPTH>,
) -> Result<Json<Value>, ApiError> {
    let batch = BatchRequest::parse(body)?;
    let runner = Runner {
        calls: batches.calls,
        parent_id: extensions
            .get::<RequestId>()
            .map(|id| id.0.clone())
            .unwrap_or_else(|| Arc::from("")),
        caller: extensions.get::<Principal>().cloned(),
        trace: extensions.get::<TraceContext>().copied(),
        max_instances: batches.host.registry().instances().max() as usize,
    };
    Ok(Json(json!({ "data": runner.run(batch).await })))
}

impl FromRef<Batches> for Arc<Host> {
    fn from_ref(batches: &Batches) -> Arc<Host> {
        batches.host.clone()
    }
}
