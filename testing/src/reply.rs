//! `Reply`: a response with its JSON body, and the assertions tests make on it.

use axum::body::Body;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::Value;

/// A response with its body parsed as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    /// The response's status.
    pub status: StatusCode,
    /// The response's headers.
    pub headers: HeaderMap,
    /// The response's body as JSON; `Null` when it is empty.
    pub body: Value,
}

impl Reply {
    /// Read a response the router answered, such as one to a request sent through
    /// [`crate::TestHost::router`].
    ///
    /// # Panics
    ///
    /// When the body cannot be read, or is neither empty nor JSON.
    pub async fn read(response: http::Response<Body>) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .unwrap_or_else(|error| panic!("the response body cannot be read: {error}"))
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                panic!(
                    "the body is not JSON ({error}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// The `data` of a success; panics, showing the body, when the status is not 2xx.
    #[track_caller]
    pub fn data(&self) -> &Value {
        assert!(
            self.status.is_success(),
            "expected a success, got {}: {}",
            self.status,
            self.body
        );
        &self.body["data"]
    }

    /// Assert the status of a success, and return its `data`.
    #[track_caller]
    pub fn assert_ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        self.data()
    }

    /// The error code of an error answer; panics when the body is not one.
    #[track_caller]
    pub fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error body: {}", self.body))
    }

    /// The error message of an error answer.
    #[track_caller]
    pub fn message(&self) -> &str {
        self.body["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error body: {}", self.body))
    }

    /// A header's value; panics when it is absent or not text.
    #[track_caller]
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_else(|| panic!("no header {name}"))
    }

    /// Assert the status and error code, and that the body has the one error shape
    /// (`{"error": {"code", "message", "details", "request_id"}}`).
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.code(), code, "body: {}", self.body);
        assert!(!self.message().is_empty(), "{}", self.body);
        let error = &self.body["error"];
        assert!(error.get("details").is_some(), "{}", self.body);
        assert_eq!(
            error["request_id"].as_str(),
            Some(self.header("x-request-id")),
            "{}",
            self.body
        );
    }
}
