//! The one API error type. Every failure leaves the server as
//! `{"error": {"code", "message", "details", "request_id"}}`; the conversion only builds
//! the response (logging happens where the cause is known, never here).

use std::borrow::Cow;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::batch::BatchError;
use arsenal_core::invoke::{CallError, GuestFailure, OpErrorKind};
use arsenal_core::loader::LoadError;
use arsenal_core::validation::ValidationError;

/// An error answer: status, stable code, message, optional details.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: String,
    pub details: Option<Value>,
    retry_after: Option<u64>,
    allow: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: Cow::Borrowed(code),
            message: message.into(),
            details: None,
            retry_after: None,
            allow: None,
        }
    }

    /// Say when to retry (`Retry-After`, in whole seconds, at least 1).
    #[must_use]
    pub(crate) fn with_retry_after(mut self, wait: std::time::Duration) -> ApiError {
        self.retry_after =
            Some(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).map(|s| s.max(1));
        self
    }

    #[must_use]
    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = Some(details);
        self
    }

    pub fn operation_not_found(what: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "operation_not_found",
            format!("no operation {what}"),
        )
    }

    pub fn method_not_allowed(
        method: &http::Method,
        path: &str,
        allow: &[http::Method],
    ) -> ApiError {
        let allow = allow
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        ApiError {
            allow: Some(allow.clone()),
            ..ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{method} is not allowed on {path}; allowed: {allow}"),
            )
        }
        .with_details(json!({ "allow": allow.split(", ").collect::<Vec<_>>() }))
    }

    pub fn malformed(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_request", message)
    }

    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is over the limit of {limit} bytes"),
        )
        .with_details(json!({ "limit_bytes": limit }))
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
    }

    /// The JSON body, with the request id of the current request.
    pub fn body(&self) -> Value {
        self.body_for(&super::request_id::current())
    }

    /// The JSON body, with the given request id (a batch call answered without a request
    /// of its own).
    pub(crate) fn body_for(&self, request_id: &str) -> Value {
        json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "details": self.details.clone().unwrap_or(Value::Null),
                "request_id": request_id,
            }
        })
    }
}

/// The code of an error answer, kept on the response for the layers after the handler
/// (the audit log) so they need not parse the body.
#[derive(Debug, Clone)]
pub(crate) struct ErrorCode(pub(crate) Cow<'static, str>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        response
            .extensions_mut()
            .insert(ErrorCode(self.code.clone()));
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        // A 401 says how to authenticate (RFC 9110 §15.5.2).
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"arsenal\""),
            );
        }
        if let Some(allow) = &self.allow
            && let Ok(value) = HeaderValue::from_str(allow)
        {
            response.headers_mut().insert(header::ALLOW, value);
        }
        response
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> ApiError {
        let count = error.0.len();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
            format!(
                "{count} parameter{} failed validation",
                if count == 1 { "" } else { "s" }
            ),
        )
        .with_details(json!({ "fields": error.0 }))
    }
}

impl From<BatchError> for ApiError {
    fn from(error: BatchError) -> ApiError {
        match error {
            // 413 like a body over the byte limit: the remedy is the same, send less at once.
            BatchError::TooManyCalls { count, limit } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "batch_too_large",
                format!("the batch holds {count} calls, over the limit of {limit}; split it"),
            )
            .with_details(json!({ "calls": count, "limit_calls": limit })),
            BatchError::Invalid(error) => ApiError::from(error),
        }
    }
}

impl From<CallError> for ApiError {
    fn from(error: CallError) -> ApiError {
        match error {
            CallError::Guest(GuestFailure::Timeout(timeout)) => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "operation_timeout",
                format!(
                    "the operation did not finish within {} ms",
                    timeout.as_millis()
                ),
            ),
            CallError::Guest(GuestFailure::ResourceExhausted(refusal)) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "resource_exhausted",
                format!("the operation exceeded its limits: {refusal}"),
            ),
            // The trap itself is logged with the request id; guest internals stay out of
            // the body.
            CallError::Guest(GuestFailure::Denied(denied)) => ApiError::new(
                StatusCode::FORBIDDEN,
                "capability_denied",
                denied.to_string(),
            ),
            CallError::Guest(GuestFailure::Crashed(_)) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "operation_crashed",
                "the operation crashed; the cause is in the server log under this request id",
            ),
            CallError::Guest(GuestFailure::Retired(drain)) => ApiError {
                retry_after: Some(1),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "version_retired",
                    format!(
                        "the operation's version was replaced or unloaded while this call ran, and the call did not finish within the drain deadline of {} ms; retry to reach the live version",
                        drain.as_millis()
                    ),
                )
                .with_details(json!({ "drain_ms": drain.as_millis() as u64 }))
            },
            CallError::Guest(GuestFailure::Overloaded(max)) => ApiError {
                retry_after: Some(1),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    format!("all {max} operation instances are busy; retry shortly"),
                )
            },
            CallError::ResponseTooLarge { size, cap } => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "response_too_large",
                format!("the operation returned {size} bytes, over the response cap of {cap}"),
            )
            .with_details(json!({ "size_bytes": size, "limit_bytes": cap })),
            CallError::InvalidResponse(_) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "invalid_response",
                "the operation returned data that is not valid JSON",
            ),
            CallError::Operation {
                kind,
                message,
                details,
                code: specific,
            } => {
                let (status, code) = match kind {
                    OpErrorKind::InvalidParams => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_params")
                    }
                    OpErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
                    OpErrorKind::Conflict => (StatusCode::CONFLICT, "conflict"),
                    OpErrorKind::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
                    OpErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
                    OpErrorKind::Timeout => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
                    OpErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
                };
                let mut error = ApiError {
                    details,
                    ..ApiError::new(status, code, message)
                };
                if let Some(specific) = specific {
                    error.code = Cow::Owned(specific);
                }
                error
            }
        }
    }
}

impl From<LoadError> for ApiError {
    fn from(error: LoadError) -> ApiError {
        let message = error.to_string();
        match error {
            LoadError::InvalidComponent(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_component",
                message,
            ),
            LoadError::UnsupportedContract { found, supported } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unsupported_contract_version",
                message,
            )
            .with_details(
                json!({ "found": found, "supported": supported.split(", ").collect::<Vec<_>>() }),
            ),
            LoadError::UnsupportedImports(problems) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unsupported_imports",
                message,
            )
            .with_details(json!({ "imports": problems })),
            LoadError::InvalidConfig(problems) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_config", message)
                    .with_details(json!({ "problems": problems }))
            }
            LoadError::RouteConflict(conflict) => {
                ApiError::new(StatusCode::CONFLICT, "route_conflict", message)
                    .with_details(json!(conflict))
            }
            LoadError::Duplicate(name) => {
                ApiError::new(StatusCode::CONFLICT, "operation_exists", message)
                    .with_details(json!({ "name": name }))
            }
            LoadError::NotLoaded(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "operation_not_found", message)
            }
            LoadError::NameMismatch { expected, found } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "name_mismatch", message)
                    .with_details(json!({ "expected": expected, "found": found }))
            }
            LoadError::NoEarlierVersion(_) => {
                ApiError::new(StatusCode::CONFLICT, "no_earlier_version", message)
            }
            LoadError::NothingToRestore(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "nothing_to_restore", message)
            }
            LoadError::CompileTimeout(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "compile_timeout", message)
            }
            LoadError::Compiler(_) => {
                tracing::error!(error = %message, "the compiler failed");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "compiler_unavailable",
                    message,
                )
            }
        }
    }
}
