//! Outbound HTTP over the standard `wasi:http/outgoing-handler` interface: one request,
//! its whole response. The host lets a component reach only the destinations the
//! operator grants it (and it requests in its config); anything else fails with
//! [`ErrorCode::HttpRequestDenied`]. Redirects are not followed: a `3xx` is a response
//! like any other, and following it is a new request, checked again.
//!
//! ```no_run
//! use arsenal_sdk::http;
//!
//! # fn run() -> Result<(), http::HttpError> {
//! let response = http::get("https://api.example.com/status")
//!     .header("accept", "application/json")
//!     .send()?;
//! if response.status == 200 {
//!     let text = response.text();
//! #   let _ = text;
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;

use wasip2::http::outgoing_handler;
use wasip2::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};
use wasip2::io::streams::StreamError;

/// The standard error codes of `wasi:http`, as the host reports a failed request.
pub use wasip2::http::types::ErrorCode;

/// A request being built: method, URL, headers and an optional body.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    method: Method,
    url: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
}

/// A response, its body read whole.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers, names in lowercase, in the order received.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Why a request failed.
#[derive(Debug, Clone)]
pub enum HttpError {
    /// The URL is not `http(s)://authority/path`.
    InvalidUrl(String),
    /// A header name or value the interface refuses.
    InvalidHeader(String),
    /// The host or the upstream failed the request, with the standard code: refused by
    /// the grant (`HttpRequestDenied`), a restricted address (`DestinationIpProhibited`),
    /// too many requests in this call (`ConnectionLimitReached`), a timeout, a body over
    /// the cap (`HttpResponseBodySize`), ...
    Failed(ErrorCode),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::InvalidUrl(url) => write!(f, "`{url}` is not an http(s) URL"),
            HttpError::InvalidHeader(name) => write!(f, "header `{name}` is not allowed"),
            HttpError::Failed(code) => write!(f, "the request failed: {code:?}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// A failed outbound request answers the operation's caller 503 `unavailable`.
impl From<HttpError> for crate::Error {
    fn from(error: HttpError) -> crate::Error {
        crate::Error::unavailable(error.to_string())
    }
}

/// A `GET` of `url`.
pub fn get(url: &str) -> HttpRequest {
    HttpRequest::new(Method::Get, url)
}

/// A `POST` to `url`.
pub fn post(url: &str) -> HttpRequest {
    HttpRequest::new(Method::Post, url)
}

impl HttpRequest {
    /// A request with `method` (e.g. `Method::Put`) to `url`.
    pub fn new(method: Method, url: &str) -> HttpRequest {
        HttpRequest {
            method,
            url: url.to_owned(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Add a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> HttpRequest {
        self.headers
            .push((name.to_owned(), value.as_bytes().to_vec()));
        self
    }

    /// Send `body` with the request.
    #[must_use]
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> HttpRequest {
        self.body = Some(body.into());
        self
    }

    /// Send the request and read the whole response.
    pub fn send(self) -> Result<HttpResponse, HttpError> {
        let (scheme, authority, path) = split_url(&self.url)?;
        let headers = Fields::new();
        for (name, value) in &self.headers {
            headers
                .append(name, value)
                .map_err(|_| HttpError::InvalidHeader(name.clone()))?;
        }
        let request = OutgoingRequest::new(headers);
        let invalid = || HttpError::InvalidUrl(self.url.clone());
        request.set_method(&self.method).map_err(|()| invalid())?;
        request.set_scheme(Some(&scheme)).map_err(|()| invalid())?;
        request
            .set_authority(Some(authority))
            .map_err(|()| invalid())?;
        request
            .set_path_with_query(Some(path))
            .map_err(|()| invalid())?;
        let outgoing = request.body().map_err(|()| invalid())?;
        // Sent first, so the host takes the body as it is written.
        let future = outgoing_handler::handle(request, None).map_err(HttpError::Failed)?;
        if let Some(body) = &self.body {
            let stream = outgoing.write().map_err(|()| invalid())?;
            for chunk in body.chunks(4096) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|error| HttpError::Failed(stream_code(error)))?;
            }
            drop(stream);
        }
        OutgoingBody::finish(outgoing, None).map_err(HttpError::Failed)?;
        let response = loop {
            match future.get() {
                Some(Ok(result)) => break result.map_err(HttpError::Failed)?,
                Some(Err(())) => unreachable!("a response is taken once"),
                None => future.subscribe().block(),
            }
        };
        let status = response.status();
        let headers = response.headers().entries();
        let incoming = response
            .consume()
            .expect("a response's body is consumed once");
        let stream = incoming.stream().expect("a body's stream is taken once");
        let mut body = Vec::new();
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(error) => return Err(HttpError::Failed(stream_code(error))),
            }
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

impl HttpResponse {
    /// The first value of header `name` (any case), as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// The standard code a failed stream carries, else `InternalError`.
fn stream_code(error: StreamError) -> ErrorCode {
    match error {
        StreamError::LastOperationFailed(error) => wasip2::http::types::http_error_code(&error)
            .unwrap_or_else(|| ErrorCode::InternalError(Some(error.to_debug_string()))),
        StreamError::Closed => ErrorCode::HttpResponseIncomplete,
    }
}

/// `scheme://authority/path?query` as its parts; the path defaults to `/`.
fn split_url(url: &str) -> Result<(Scheme, &str, &str), HttpError> {
    let invalid = || HttpError::InvalidUrl(url.to_owned());
    let (scheme, rest) = url.split_once("://").ok_or_else(invalid)?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        _ => return Err(invalid()),
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.is_empty() {
        return Err(invalid());
    }
    Ok((scheme, authority, if path.is_empty() { "/" } else { path }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_authority_and_path() {
        let (scheme, authority, path) = split_url("http://127.0.0.1:8080/a?b=c").unwrap();
        assert!(matches!(scheme, Scheme::Http));
        assert_eq!((authority, path), ("127.0.0.1:8080", "/a?b=c"));
        let (_, authority, path) = split_url("HTTPS://example.com").unwrap();
        assert_eq!((authority, path), ("example.com", "/"));
        let (_, authority, path) = split_url("https://example.com?x").unwrap();
        assert_eq!((authority, path), ("example.com", "?x"));
        assert!(split_url("ftp://example.com/").is_err());
        assert!(split_url("https:///x").is_err());
    }
}
