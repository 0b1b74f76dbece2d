//! The audit log at the HTTP edge: the middleware that records every state-changing
//! request (any method but GET, HEAD and OPTIONS: operation calls and admin actions) once
//! it is authenticated, the record of one refused before that (an admin action by a role
//! too low). `GET /api/v1/audit`, which reads the log, is `audit_log`.
//!
//! An audited request runs on a task of its own, so a client that hangs up does not cancel
//! a change half made: the change completes, its record is written (saying the client had
//! gone), and only then is the answer released. The answer waits for the record to be on
//! disk; if the log cannot take it, the client is told 503 `audit_unavailable` instead of a
//! success nobody could account for.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use http::Method;
use serde_json::Value;
use tracing::Instrument as _;

use super::error::{AnsweredCode, ApiError, ErrorCode};
use super::request_id::{self, RequestId};
use arsenal_core::audit::{AuditRecord, Outcome};
use arsenal_core::auth::Principal;
use arsenal_core::host::Host;

/// What the handler knew about an audited request, left on its response: the operation
/// and version it concerned and its parameters, secrets redacted.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditDetails {
    pub(crate) operation: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) revision: Option<String>,
    pub(crate) params: Option<Value>,
    /// The outbound HTTP destinations an operation's call reached.
    pub(crate) outbound: Vec<String>,
}

/// Handlers leave their details on the answer: `(details, answer)`.
impl IntoResponseParts for AuditDetails {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut parts: ResponseParts) -> Result<ResponseParts, Self::Error> {
        parts.extensions_mut().insert(self);
        Ok(parts)
    }
}

pub(crate) fn audited(method: &Method, path: &str) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        // A batch's calls are recorded one by one, with the batch's principal.
        && path != super::batch::PATH
}

/// Middleware: run a state-changing request to its end, record it, then answer.
pub(super) async fn record(
    State(host): State<Arc<Host>>,
    request: Request,
    next: Next,
) -> Response {
    if !audited(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    // The open paths carry no principal and change nothing.
    let Some(principal) = request.extensions().get::<Principal>().cloned() else {
        return next.run(request).await;
    };
    let arrived = SystemTime::now();
    let started = Instant::now();
    let (request_id, method, path) = request_of(&request);
    let (answer, answered) = tokio::sync::oneshot::channel::<Response>();
    let background = host.background().clone();
    let work = async move {
        let mut response = next.run(request).await;
        let details = response
            .extensions_mut()
            .remove::<AuditDetails>()
            .unwrap_or_default();
        let record = AuditRecord {
            operation: details.operation,
            version: details.version,
            revision: details.revision,
            params: details.params,
            outbound: details.outbound,
            duration_us: started.elapsed().as_micros() as u64,
            client_disconnected: answer.is_closed(),
            ..answered_record(arrived, (request_id, method, path), &principal, &response)
        };
        let status = record.status;
        if record.client_disconnected {
            tracing::info!(
                status,
                "the client left before the answer; the change is recorded"
            );
        }
        let answer_with = match host.audit().append(record).await {
            Ok(_) => response,
            Err(error) => {
                tracing::error!(%error, status, "a change was made but could not be recorded");
                ApiError::new(ErrorCode::AuditUnavailable, "the request was carried out but could not be recorded in the audit log; the cause is in the server log",
                )
                .with_retry_after(std::time::Duration::from_secs(1))
                .into_response()
            }
        };
        // The host goes before the answer: once a client has its answer, nothing of the
        // request holds the host (a test may drop it and open its state again at once).
        drop(host);
        let _ = answer.send(answer_with);
    };
    // Its own task, so that a client hanging up (which drops this handler) cannot stop a
    // change half-recorded; tracked, so that shutdown waits for it.
    background.spawn(request_id::carried(work).instrument(tracing::Span::current()));
    answered
        .await
        .unwrap_or_else(|_| ApiError::logged_fault().into_response())
}

/// Record a state-changing request refused before any handler ran — an authenticated
/// caller whose role is too low for the admin API — and answer `response`. Nothing changed,
/// so a record that cannot be written leaves the answer as it is (and is logged). Only an
/// authenticated caller's refusals are recorded: its key's rate limit bounds them, while
/// anonymous ones could flood the log (they are counted in `/metrics` instead).
pub(super) async fn refused(
    host: &Host,
    request: Request,
    principal: &Principal,
    response: Response,
) -> Response {
    if !principal.is_authenticated() || !audited(request.method(), request.uri().path()) {
        return response;
    }
    let record = answered_record(
        SystemTime::now(),
        request_of(&request),
        principal,
        &response,
    );
    let status = record.status;
    if let Err(error) = host.audit().append(record).await {
        tracing::error!(%error, status, "a refused request could not be recorded");
    }
    response
}

/// A request as its audit record names it: request id, method, path.
fn request_of(request: &Request) -> (String, String, String) {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.to_string())
        .unwrap_or_default();
    (
        request_id,
        request.method().to_string(),
        request.uri().path().to_owned(),
    )
}

/// The record of `principal`'s request, arrived at `arrived`, answered `response`. What
/// the answer alone does not say — the operation and its version, the parameters, how
/// long it took, whether the client stayed — is left empty for the caller to fill in.
fn answered_record(
    arrived: SystemTime,
    (request_id, method, path): (String, String, String),
    principal: &Principal,
    response: &Response,
) -> AuditRecord {
    let status = response.status().as_u16();
    AuditRecord {
        seq: 0,
        time: humantime::format_rfc3339_millis(arrived).to_string(),
        time_ms: arrived
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64),
        request_id,
        principal: principal.name().to_owned(),
        role: principal.role().name().to_owned(),
        method,
        path,
        operation: None,
        version: None,
        revision: None,
        params: None,
        outcome: Outcome::of_status(status),
        status,
        error_code: response
            .extensions()
            .get::<AnsweredCode>()
            .map(|code| code.0.to_string()),
        duration_us: 0,
        client_disconnected: false,
        outbound: Vec::new(),
    }
}
