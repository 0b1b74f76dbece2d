//! Typed errors an operation returns; the host maps each kind to an HTTP status.

use std::fmt;

use serde_json::Value;

use crate::bindings::arsenal::operation::types as wit;

/// The result of an operation's handler.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    InvalidParams,
    NotFound,
    Conflict,
    Forbidden,
    Unavailable,
    Timeout,
    Internal,
}

/// A failure reported by an operation. The message reaches the client; keep internals
/// out of it.
#[derive(Debug, Clone)]
pub struct Error(Box<Inner>);

// Boxed: a `Result<T, Error>` stays one pointer wide on the error side.
#[derive(Debug, Clone)]
struct Inner {
    kind: Kind,
    message: String,
    details: Option<Value>,
    code: Option<String>,
}

impl Error {
    fn new(kind: Kind, message: impl Into<String>) -> Error {
        Error(Box::new(Inner {
            kind,
            message: message.into(),
            details: None,
            code: None,
        }))
    }

    /// 422 `invalid_params`: well-typed but unacceptable parameters.
    pub fn invalid_params(message: impl Into<String>) -> Error {
        Error::new(Kind::InvalidParams, message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(Kind::NotFound, message)
    }

    /// 409 `conflict`.
    pub fn conflict(message: impl Into<String>) -> Error {
        Error::new(Kind::Conflict, message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Error {
        Error::new(Kind::Forbidden, message)
    }

    /// 503 `unavailable`.
    pub fn unavailable(message: impl Into<String>) -> Error {
        Error::new(Kind::Unavailable, message)
    }

    /// 504 `timeout`.
    pub fn timeout(message: impl Into<String>) -> Error {
        Error::new(Kind::Timeout, message)
    }

    /// 500 `internal`.
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(Kind::Internal, message)
    }

    /// The message, as the error body will say it.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Attach structured details, shown in the error body's `details`.
    #[must_use]
    pub fn with_details(mut self, details: Value) -> Error {
        self.0.details = Some(details);
        self
    }

    /// A more specific error code than the kind's default (snake_case, e.g.
    /// `process_not_found`); the HTTP status stays the kind's.
    #[must_use]
    pub fn with_code(mut self, code: &str) -> Error {
        self.0.code = Some(code.to_owned());
        self
    }

    pub(crate) fn into_wit(self) -> wit::OpError {
        let Inner {
            kind,
            message,
            details,
            code,
        } = *self.0;
        let info = wit::ErrorInfo {
            message,
            details: details.map(|details| details.to_string()),
            code,
        };
        match kind {
            Kind::InvalidParams => wit::OpError::InvalidParams(info),
            Kind::NotFound => wit::OpError::NotFound(info),
            Kind::Conflict => wit::OpError::Conflict(info),
            Kind::Forbidden => wit::OpError::Forbidden(info),
            Kind::Unavailable => wit::OpError::Unavailable(info),
            Kind::Timeout => wit::OpError::Timeout(info),
            Kind::Internal => wit::OpError::Internal(info),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Error {
        Error::invalid_params(error.to_string())
    }
}
