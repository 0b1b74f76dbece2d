//! `GET /api/v1/audit` (admin, gated by `auth`): the audit log's records, newest first, filtered, one page
//! at a time.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ErrorCode};
use super::extract::Query;
use arsenal_core::audit::{Filter, Outcome};
use arsenal_core::host::Host;

pub(crate) const PATH: &str = "/api/v1/audit";

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
    Query(query): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
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
