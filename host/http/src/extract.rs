//! Extractors whose rejections are [`ApiError`]s, so that a request the host cannot read
//! is answered in the one error shape, with a code of the table, like any other refusal:
//! a path parameter (400 `malformed_request`), a query (422 `validation_error`), a JSON
//! object body within the body and nesting caps (413, 400), an `application/wasm`
//! component within the upload cap (415, 413), and the caller authentication established.
//! An operation's own body is read by dispatch after its caller is authorized, with
//! [`read_json_object`], so a refused caller costs no body.

use std::sync::Arc;

use axum::body::{Body, Bytes, HttpBody as _};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::{ApiError, ErrorCode};
use arsenal_core::auth::Principal;
use arsenal_core::host::Host;
use arsenal_core::validation::exceeds_depth;

/// The parameters of the path, as `T` (a `String` for one); one that is not valid UTF-8
/// once percent-decoded is refused with 400 `malformed_request`.
#[derive(Debug)]
pub(crate) struct Path<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(ApiError::malformed(format!(
                "the path cannot be read: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// The query string, as `T`; one that does not fit `T` (an unknown field, a value of the
/// wrong type) is refused with 422 `validation_error`.
#[derive(Debug)]
pub(crate) struct Query<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(ApiError::new(
                ErrorCode::ValidationError,
                format!("the query cannot be read: {}", rejection.body_text()),
            )),
        }
    }
}

/// The caller, as authentication established it: every route behind authentication has
/// one. Its absence is a fault of the server (500, logged).
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub(crate) Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match parts.extensions.get::<Principal>() {
            Some(principal) => Ok(Caller(principal.clone())),
            None => {
                tracing::error!(path = %parts.uri.path(), "a request was handled without a principal");
                Err(ApiError::logged_fault())
            }
        }
    }
}

/// A JSON object body within `server.max_body_bytes` (413 `payload_too_large`) nesting at
/// most `server.max_json_depth` levels plus `EXTRA_DEPTH` (400 `malformed_request`, as
/// for a body that is not a JSON object); an empty body is `{}`.
#[derive(Debug)]
pub(crate) struct JsonObject<const EXTRA_DEPTH: usize = 0>(pub(crate) Map<String, Value>);

impl<S: Send + Sync, const EXTRA_DEPTH: usize> FromRequest<S> for JsonObject<EXTRA_DEPTH>
where
    Arc<Host>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let host = Arc::<Host>::from_ref(state);
        let depth = host.settings().server.max_json_depth + EXTRA_DEPTH;
        read_json_object(&host, request, depth)
            .await
            .map(JsonObject)
    }
}

/// An uploaded component: an `application/wasm` body (415 `unsupported_media_type`
/// otherwise) within `server.max_upload_bytes` (413 `payload_too_large`).
#[derive(Debug)]
pub(crate) struct Component(pub(crate) Bytes);

impl<S: Send + Sync> FromRequest<S> for Component
where
    Arc<Host>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let host = Arc::<Host>::from_ref(state);
        let content_type = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if content_type.split(';').next().map(str::trim) != Some("application/wasm") {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!("send the component as `application/wasm`, not `{content_type}`"),
            ));
        }
        read_capped(request, host.settings().server.max_upload_bytes)
            .await
            .map(Component)
    }
}

/// Read a whole body of at most `cap` bytes (413 `payload_too_large` beyond).
pub(crate) async fn read_capped(request: Request, cap: usize) -> Result<Bytes, ApiError> {
    let declared = request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length > cap) {
        return Err(ApiError::payload_too_large(cap));
    }
    // Most calls (every GET) have no body: nothing to collect.
    if request.body().is_end_stream() {
        return Ok(Bytes::new());
    }
    axum::body::to_bytes(Body::new(request.into_body()), cap)
        .await
        .map_err(|error| {
            if std::error::Error::source(&error)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>())
            {
                ApiError::payload_too_large(cap)
            } else {
                ApiError::malformed(format!("failed to read the request body: {error}"))
            }
        })
}

/// Read a body within `server.max_body_bytes` and parse it as a JSON object nesting at most
/// `max_depth` levels (empty is `{}`).
pub(crate) async fn read_json_object(
    host: &Host,
    request: Request,
    max_depth: usize,
) -> Result<Map<String, Value>, ApiError> {
    let bytes = read_capped(request, host.settings().server.max_body_bytes).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    if exceeds_depth(&bytes, max_depth) {
        return Err(ApiError::malformed(format!(
            "the JSON body nests deeper than {max_depth} levels"
        )));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::malformed(
            "the request body must be a JSON object",
        )),
        Err(error) => Err(ApiError::malformed(format!(
            "the request body is not valid JSON: {error}"
        ))),
    }
}
