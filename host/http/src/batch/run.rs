//! Running a parsed batch: each call becomes an `http::Request` sent through the
//! operation router (`oneshot` on a clone), so it is resolved, validated, limited and
//! answered exactly as a request of its own. At most `concurrency` calls are in flight;
//! results are put back in request order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use futures::StreamExt;
use http::{Request, StatusCode, header};
use serde::Serialize;
use serde_json::Value;
use tokio::task::JoinError;
use tokio_util::task::AbortOnDropHandle;
use tower::ServiceExt;
use tracing::Instrument;

use super::PATH;
use super::request::{BatchRequest, Call};
use crate::error::{ApiError, ErrorCode};
use crate::request_id;
use arsenal_core::auth::Principal;
use arsenal_core::telemetry::{TRACEPARENT, TraceContext};

/// What every call of one batch shares.
pub(crate) struct Runner {
    /// The router calls go through: every endpoint except the batch endpoint itself.
    pub(crate) calls: Router,
    /// The batch's request id; call `i` runs as `<id>.i`.
    pub(crate) parent_id: Arc<str>,
    /// The batch's caller, carried by every call (as the request extension the auth
    /// middleware set) so each is authorised as that caller without authenticating again.
    pub(crate) caller: Option<Principal>,
    /// The batch's trace: every call continues it, as a child of the batch's span.
    pub(crate) trace: Option<TraceContext>,
    /// The instance pool's size: more calls in flight would only be refused `overloaded`.
    pub(crate) max_instances: usize,
}

/// The answer to one call.
#[derive(Debug, Serialize)]
struct CallResult {
    index: usize,
    id: Value,
    status: u16,
    body: Value,
    #[serde(skip)]
    skipped: bool,
}

/// The data of the batch's answer.
#[derive(Debug, Serialize)]
pub(crate) struct BatchResults {
    results: Vec<CallResult>,
    /// Calls answered below 400.
    succeeded: usize,
    /// Calls answered 400 or above, refused nested batches included.
    failed: usize,
    /// Calls not run because an earlier one failed under `stop_on_error`.
    skipped: usize,
}

impl Runner {
    /// Run every call of `batch` and answer them in request order.
    pub(crate) async fn run(self, batch: BatchRequest) -> BatchResults {
        let concurrency = batch.concurrency.get().min(self.max_instances.max(1));
        let state = Arc::new(Shared {
            runner: self,
            stop_on_error: batch.stop_on_error,
            stopped: AtomicBool::new(false),
        });
        // Calls start in request order (the stream is pulled in order); `buffer_unordered`
        // starts the next call as soon as any finishes instead of waiting on the oldest.
        let mut results: Vec<CallResult> =
            futures::stream::iter(batch.calls.into_iter().enumerate())
                .map(|(index, call)| state.clone().answer(index, call))
                .buffer_unordered(concurrency)
                .collect()
                .await;
        results.sort_by_key(|result| result.index);
        let skipped = results.iter().filter(|result| result.skipped).count();
        let succeeded = results.iter().filter(|result| result.status < 400).count();
        BatchResults {
            failed: results.len() - succeeded - skipped,
            succeeded,
            skipped,
            results,
        }
    }
}

/// The runner and the stop flag, shared by the calls in flight.
struct Shared {
    runner: Runner,
    stop_on_error: bool,
    /// Set by the first failed call when `stop_on_error` is set.
    stopped: AtomicBool,
}

impl Shared {
    async fn answer(self: Arc<Self>, index: usize, mut call: Call) -> CallResult {
        let id = std::mem::take(&mut call.id);
        let request_id = request_id::child(&self.runner.parent_id, index);
        let refusal = |error: ApiError| {
            let body = error.body_for(request_id.as_deref().unwrap_or_default());
            (error.status(), body)
        };
        let skipped = self.stopped.load(Ordering::Acquire);
        let (status, body) = if skipped {
            refusal(ApiError::new(
                ErrorCode::Skipped,
                "not run: an earlier call failed and `stop_on_error` is set",
            ))
        } else if call.target.path() == PATH {
            refusal(ApiError::new(
                ErrorCode::NestedBatch,
                format!("a batch cannot call {PATH}; put those calls in this batch instead"),
            ))
        } else {
            match self.runner.call(call, request_id.as_deref()).await {
                Ok(answer) => answer,
                Err(error) => {
                    let request_id = request_id.as_deref().unwrap_or_default();
                    tracing::error!(index, request_id, %error, "batch call failed");
                    refusal(ApiError::internal(
                        "the server hit an internal error; the cause is in the server log under this request id",
                    ))
                }
            }
        };
        if self.stop_on_error && !skipped && status.as_u16() >= 400 {
            self.stopped.store(true, Ordering::Release);
        }
        CallResult {
            index,
            id,
            status: status.as_u16(),
            body,
            skipped,
        }
    }
}

/// A host fault around one call (the call's own failures are answers, not these).
#[derive(Debug, thiserror::Error)]
enum CallFault {
    #[error("build the request: {0}")]
    Request(#[from] http::Error),
    #[error("run the call's task: {0}")]
    Task(#[from] JoinError),
    #[error("read the answer: {0}")]
    Answer(#[from] axum::Error),
}

impl Runner {
    /// Send `call` through the router as the request a client would have sent, and read
    /// the answer.
    ///
    /// Each call runs on a task of its own: guest code runs on the task that awaits it, so
    /// calls polled by one task would share one thread. The handle aborts the task when
    /// dropped, so a client that goes away cancels its calls in flight.
    async fn call(
        &self,
        call: Call,
        request_id: Option<&str>,
    ) -> Result<(StatusCode, Value), CallFault> {
        let request = self.request(call, request_id)?;
        let router = self.calls.clone();
        let task = tokio::spawn(
            async move {
                let response = match router.oneshot(request).await {
                    Ok(response) => response,
                    Err(infallible) => match infallible {},
                };
                read(response).await
            }
            .in_current_span(),
        );
        AbortOnDropHandle::new(task).await?
    }

    fn request(&self, call: Call, request_id: Option<&str>) -> Result<Request<Body>, http::Error> {
        let mut request = Request::builder()
            .method(call.method)
            .uri(http::Uri::from(call.target));
        if let Some(id) = request_id {
            request = request.header(request_id::HEADER, id);
        }
        if let Some(caller) = &self.caller {
            request = request.extension(caller.clone());
        }
        if let Some(trace) = &self.trace {
            request = request.header(TRACEPARENT, trace.to_string());
        }
        match call.body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body)),
            None => request.body(Body::empty()),
        }
    }
}

/// The status and JSON body of an answer (`null` when it has none).
async fn read(response: Response) -> Result<(StatusCode, Value), CallFault> {
    let status = response.status();
    // Answers of the router are already whole in memory (JSON the host built, an
    // operation's data under its response cap), so reading them sets no new bound.
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        // Every answer of the router is JSON; text is kept rather than lost if one is not.
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Ok((status, body))
}
