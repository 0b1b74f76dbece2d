//! The one API error type. Every failure leaves the server as
//! `{"error": {"code", "message", "details", "request_id"}}`; the conversion only builds
//! the response (logging happens where the cause is known, never here).

use std::borrow::Cow;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

pub(crate) use super::error_code::ErrorCode;
use arsenal_core::component::Kind;
use arsenal_core::invoke::{AnswerError, CallError, GuestFailure, OpErrorKind};
use arsenal_core::loader::LoadError;
use arsenal_core::validation::ValidationError;

/// An error answer: a code of the table (which decides the status), a message, optional
/// details, and for an operation's own answer the more specific code it chose. Boxed: it
/// is the `Err` of every handler, and an answer refused is built once.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError(Box<Answer>);

#[derive(Debug, Clone, PartialEq)]
struct Answer {
    code: ErrorCode,
    /// An operation's own code, sent in place of `code` (whose status it answers with).
    own_code: Option<String>,
    message: String,
    details: Option<Value>,
    retry_after: Option<u64>,
    allow: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError(Box::new(Answer {
            code,
            own_code: None,
            message: message.into(),
            details: None,
            retry_after: None,
            allow: None,
        }))
    }

    /// The status of the answer, the code's.
    pub fn status(&self) -> StatusCode {
        self.0.code.status()
    }

    /// The code as it is sent: an operation's own, or the table's.
    pub fn code(&self) -> &str {
        self.0.own_code.as_deref().unwrap_or(self.0.code.as_str())
    }

    /// The table's code: the operation's own code stands for this one.
    pub fn kind(&self) -> ErrorCode {
        self.0.code
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }

    pub fn details(&self) -> Option<&Value> {
        self.0.details.as_ref()
    }

    /// Say when to retry (`Retry-After`, in whole seconds, at least 1).
    #[must_use]
    pub(crate) fn with_retry_after(mut self, wait: std::time::Duration) -> ApiError {
        self.0.retry_after =
            Some(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).map(|s| s.max(1));
        self
    }

    #[must_use]
    pub fn with_details(mut self, details: Value) -> ApiError {
        self.0.details = Some(details);
        self
    }

    pub fn operation_not_found(what: impl std::fmt::Display) -> ApiError {
        ApiError::new(ErrorCode::OperationNotFound, format!("no operation {what}"))
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
        let mut error = ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!("{method} is not allowed on {path}; allowed: {allow}"),
        )
        .with_details(json!({ "allow": allow.split(", ").collect::<Vec<_>>() }));
        error.0.allow = Some(allow);
        error
    }

    pub fn malformed(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::MalformedRequest, message)
    }

    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the request body is over the limit of {limit} bytes"),
        )
        .with_details(json!({ "limit_bytes": limit }))
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InternalError, message)
    }

    /// A fault of the server whose cause was logged where it was known.
    pub(crate) fn logged_fault() -> ApiError {
        ApiError::internal("the server hit an internal error; the cause is in the server log")
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
                "code": self.code(),
                "message": self.0.message,
                "details": self.0.details.clone().unwrap_or(Value::Null),
                "request_id": request_id,
            }
        })
    }
}

/// The code of an error answer, kept on the response for the layers after the handler
/// (the audit log) so they need not parse the body.
#[derive(Debug, Clone)]
pub(crate) struct AnsweredCode(pub(crate) Cow<'static, str>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        let answered = match &self.0.own_code {
            Some(own) => Cow::Owned(own.clone()),
            None => Cow::Borrowed(self.0.code.as_str()),
        };
        response.extensions_mut().insert(AnsweredCode(answered));
        if let Some(seconds) = self.0.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        // A 401 says how to authenticate (RFC 9110 §15.5.2).
        if self.0.code.status() == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"arsenal\""),
            );
        }
        if let Some(allow) = &self.0.allow
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
            ErrorCode::ValidationError,
            format!(
                "{count} parameter{} failed validation",
                if count == 1 { "" } else { "s" }
            ),
        )
        .with_details(json!({ "fields": error.0 }))
    }
}

impl From<CallError> for ApiError {
    fn from(error: CallError) -> ApiError {
        match error {
            CallError::Guest(GuestFailure::Timeout(timeout)) => ApiError::new(
                ErrorCode::OperationTimeout,
                format!(
                    "the operation did not finish within {} ms",
                    timeout.as_millis()
                ),
            ),
            CallError::Guest(GuestFailure::ResourceExhausted(refusal)) => ApiError::new(
                ErrorCode::ResourceExhausted,
                format!("the operation exceeded its limits: {refusal}"),
            ),
            // The trap itself is logged with the request id; guest internals stay out of
            // the body.
            CallError::Guest(GuestFailure::Denied(denied)) => ApiError::new(ErrorCode::CapabilityDenied, denied.to_string()),
            CallError::Guest(GuestFailure::Crashed(_)) => ApiError::new(
                ErrorCode::OperationCrashed,
                "the operation crashed; the cause is in the server log under this request id",
            ),
            CallError::Guest(GuestFailure::Retired(drain)) => ApiError::new(
                ErrorCode::VersionRetired,
                format!(
                    "the operation's version was replaced or unloaded while this call ran, and the call did not finish within the drain deadline of {} ms; retry to reach the live version",
                    drain.as_millis()
                ),
            )
            .with_details(json!({ "drain_ms": drain.as_millis() as u64 }))
            .with_retry_after(std::time::Duration::from_secs(1)),
            CallError::Guest(GuestFailure::Overloaded(max)) => ApiError::new(
                ErrorCode::Overloaded,
                format!("all {max} operation instances are busy; retry shortly"),
            )
            .with_retry_after(std::time::Duration::from_secs(1)),
            CallError::ResponseTooLarge { size, cap } => ApiError::new(
                ErrorCode::ResponseTooLarge,
                format!("the operation returned {size} bytes, over the response cap of {cap}"),
            )
            .with_details(json!({ "size_bytes": size, "limit_bytes": cap })),
            CallError::InvalidResponse(_) => ApiError::new(
                ErrorCode::InvalidResponse,
                "the operation returned data that is not valid JSON",
            ),
            CallError::Handler(AnswerError::TooLarge { cap }) => ApiError::new(
                ErrorCode::ResponseTooLarge,
                format!("the handler's body went over the response cap of {cap} bytes"),
            )
            .with_details(json!({ "limit_bytes": cap })),
            // What the handler sent instead of a response is logged with the request id.
            CallError::Handler(_) => ApiError::new(
                ErrorCode::InvalidResponse,
                "the handler answered no usable response; the cause is in the server log under this request id",
            ),
            CallError::ServedAtRoute { name, method, path } => ApiError::new(
                ErrorCode::ServedAtRoute,
                format!("`{name}` is a wasi:http handler: call it with {method} {path}"),
            )
            .with_details(json!({ "method": method, "path": path })),
            CallError::Operation {
                kind,
                message,
                details,
                code: specific,
            } => {
                let code = match kind {
                    OpErrorKind::InvalidParams => ErrorCode::InvalidParams,
                    OpErrorKind::NotFound => ErrorCode::NotFound,
                    OpErrorKind::Conflict => ErrorCode::Conflict,
                    OpErrorKind::Forbidden => ErrorCode::Forbidden,
                    OpErrorKind::Unavailable => ErrorCode::Unavailable,
                    OpErrorKind::Timeout => ErrorCode::Timeout,
                    OpErrorKind::Internal => ErrorCode::Internal,
                };
                let mut error = ApiError::new(code, message);
                error.0.details = details;
                error.0.own_code = specific;
                error
            }
        }
    }
}

impl From<LoadError> for ApiError {
    fn from(error: LoadError) -> ApiError {
        let message = error.to_string();
        match error {
            LoadError::InvalidComponent(_) => ApiError::new(ErrorCode::InvalidComponent, message),
            LoadError::UnsupportedContract { found, supported } => {
                ApiError::new(ErrorCode::UnsupportedContractVersion, message)
                    .with_details(json!({ "found": found, "supported": supported }))
            }
            LoadError::UnsupportedImports(problems) => {
                ApiError::new(ErrorCode::UnsupportedImports, message)
                    .with_details(json!({ "imports": problems }))
            }
            LoadError::InvalidConfig(problems) => ApiError::new(ErrorCode::InvalidConfig, message)
                .with_details(json!({ "problems": problems })),
            LoadError::RouteConflict(conflict) => {
                ApiError::new(ErrorCode::RouteConflict, message).with_details(json!(conflict))
            }
            LoadError::Duplicate { kind, name } => {
                let code = match kind {
                    Kind::Operation => ErrorCode::OperationExists,
                    Kind::Worker => ErrorCode::WorkerExists,
                };
                ApiError::new(code, message).with_details(json!({ "name": name }))
            }
            LoadError::NotLoaded { kind, .. } => {
                let code = match kind {
                    Kind::Operation => ErrorCode::OperationNotFound,
                    Kind::Worker => ErrorCode::WorkerNotFound,
                };
                ApiError::new(code, message)
            }
            LoadError::NameMismatch {
                expected, found, ..
            } => ApiError::new(ErrorCode::NameMismatch, message)
                .with_details(json!({ "expected": expected, "found": found })),
            LoadError::NoEarlierVersion { .. } => {
                ApiError::new(ErrorCode::NoEarlierVersion, message)
            }
            LoadError::NothingToRestore { .. } => {
                ApiError::new(ErrorCode::NothingToRestore, message)
            }
            LoadError::CompileTimeout(_) => ApiError::new(ErrorCode::CompileTimeout, message),
            LoadError::Compiler(_) => {
                tracing::error!(error = %message, "the compiler failed");
                ApiError::new(ErrorCode::CompilerUnavailable, message)
            }
        }
    }
}
