//! The audit log at the HTTP edge: the middleware that records every state-changing
//! request (any method but GET, HEAD and OPTIONS: operation calls and admin actions) once
//! it is authenticated, the record of one refused before that (an admin action by a role
//! too low), and `GET /api/v1/audit` to query the log.
//!
//! An audited request runs on a task of its own, so a client that hangs up does not cancel
//! a change half made: the change completes, its record is written (saying the client had
//! gone), and only then is the answer released. The answer waits for the record to be on
//! disk; if the log cannot take it, the client is told 503 `audit_unavailable` instead of a
//! success nobody could account for.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Json;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument as _;

use super::error::{AnsweredCode, ApiError, ErrorCode};
use super::extract::{Caller, Query};
use super::request_id::{self, RequestId};
use arsenal_core::audit::{AuditRecord, Filter, Outcome};
use arsenal_core::auth::{Principal, Role};
use arsenal_core::host::Host;

pub(crate) const PATH: &str = "/api/v1/audit";

/// What the handler knew about an audited request, left on its response: the operation
/// and version it concerned and its parameters, secrets redacted.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditDetails {
    pub(crate) operation: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) revision: Option<String>,
    pub(crate) params: Option<Value>,
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
    }
}

/// The query string of `GET /api/v1/audit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditQuery {
    principal: Option<String>,
    operation: Option<String>,
    outcome: Option<String>,
    request_id: Option<String>,
    /// RFC 3339.
    since: Option<String>,
    until: Option<String>,
    /// The `next` cursor of the previous page.
    before: Option<u64>,
    limit: Option<usize>,
}

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

/// `GET /api/v1/audit` (admin): records newest first, filtered, one page at a time.
pub(super) async fn query(
    State(host): State<Arc<Host>>,
    Caller(principal): Caller,
    query: Result<Query<AuditQuery>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    // The role first: a caller who may not read the log learns nothing from its filters.
    if !principal.may(Role::Admin) {
        let refused = super::auth::refusal(&principal, Role::Admin, "read the audit log");
        super::auth::count_refusal(&host, &refused);
        return Err(refused);
    }
    let Query(query) = query?;
    let filter = filter(query)?;
    let log = host.clone();
    let page = tokio::task::spawn_blocking(move || log.audit().query(&filter))
        .await
        .map_err(|error| {
            tracing::error!(%error, "reading the audit log failed");
            ApiError::logged_fault()
        })?
        .map_err(|error| {
            tracing::error!(%error, "the audit log could not be read");
            ApiError::new(
                ErrorCode::AuditUnavailable,
                "the audit log could not be read; the cause is in the server log",
            )
        })?;
    Ok(Json(json!({
        "data": {
            "records": page.records,
            "next": page.next,
            "durable": host.audit().is_durable(),
        }
    })))
}

/// A query field that does not say what it should: the field and why.
struct BadField(&'static str, String);

impl From<BadField> for ApiError {
    fn from(BadField(field, message): BadField) -> ApiError {
        ApiError::new(ErrorCode::ValidationError, format!("`{field}`: {message}"))
            .with_details(json!({ "fields": [{ "field": field, "message": message }] }))
    }
}

fn filter(query: AuditQuery) -> Result<Filter, BadField> {
    let instant = |field: &'static str, text: Option<String>| -> Result<Option<u64>, BadField> {
        text.map(|text| {
            humantime::parse_rfc3339_weak(&text)
                .map_err(|error| BadField(field, format!("not an RFC 3339 time: {error}")))
                .map(|time| {
                    time.duration_since(SystemTime::UNIX_EPOCH)
                        .map_or(0, |since| since.as_millis() as u64)
                })
        })
        .transpose()
    };
    let outcome = match query.outcome.as_deref() {
        None => None,
        Some("succeeded") => Some(Outcome::Succeeded),
        Some("refused") => Some(Outcome::Refused),
        Some("failed") => Some(Outcome::Failed),
        Some(other) => {
            return Err(BadField(
                "outcome",
                format!("`{other}` is not one of succeeded, refused, failed"),
            ));
        }
    };
    if query.before == Some(0) {
        return Err(BadField(
            "before",
            "must be 1 or more: a cursor is a record's position, from 1".to_owned(),
        ));
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(BadField("limit", format!("must be 1 to {MAX_LIMIT}")));
    }
    Ok(Filter {
        principal: query.principal,
        operation: query.operation,
        outcome,
        request_id: query.request_id,
        since_ms: instant("since", query.since)?,
        until_ms: instant("until", query.until)?,
        before: query.before,
        limit,
    })
}
