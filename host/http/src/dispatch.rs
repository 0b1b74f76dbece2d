//! Serving operations: resolve the route against a catalog snapshot, read and bound the
//! body, decode and validate parameters, call the operation, and answer `{"data": ...}`
//! with the declared status — or the error shape. A `wasi:http` handler is authorised and
//! its path and query parameters validated the same way, then handed the request itself
//! (without the caller's credential) and its own answer sent back. Every answer tied to
//! an operation carries `x-operation-version`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, Uri, header};
use serde_json::{Map, Value};

use super::error::ApiError;
use super::extract::{Path, read_json_object};
use super::request_id::RequestId;
use super::telemetry;
use arsenal_core::auth::Principal;
use arsenal_core::host::Host;
use arsenal_core::invoke::{CallError, Caller, GuestFailure, HandlerResponse, JsonText, Onward};
use arsenal_core::loader::{Interface, LoadedOperation};
use arsenal_core::registry::Resolved;
use arsenal_core::telemetry::TraceContext;
use arsenal_core::validation::{FieldError, RawInput, ValidationError};

pub(crate) const OPERATION_VERSION: &str = "x-operation-version";
/// The start of the serving component's content hash: which upload answered.
pub(crate) const OPERATION_REVISION: &str = "x-operation-revision";

/// Fallback handler: every path not served by the host itself may be an operation.
pub(crate) async fn by_route(State(host): State<Arc<Host>>, request: Request) -> Response {
    let catalog = host.registry().snapshot();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    // HEAD is GET without the body (hyper drops it), as for the host's own endpoints.
    let lookup = if method == Method::HEAD {
        Method::GET
    } else {
        method.clone()
    };
    let resolved = catalog.resolve(&lookup, &path);
    // The request holds its own version only: a whole catalog kept to the end of a long
    // request would keep every version it names alive with it.
    drop(catalog);
    match resolved {
        Resolved::MalformedParam { name } => ApiError::malformed(format!(
            "path parameter `{name}` is not valid UTF-8 once percent-decoded"
        ))
        .into_response(),
        Resolved::NotFound => {
            ApiError::operation_not_found(format_args!("at {method} {path}")).into_response()
        }
        Resolved::MethodNotAllowed { allow } => {
            ApiError::method_not_allowed(&method, &path, &allow).into_response()
        }
        Resolved::Found { operation, params } if operation.interface == Interface::HttpHandler => {
            serve_handler(&host, &operation, params, request).await
        }
        Resolved::Found { operation, params } => {
            let started = Instant::now();
            let query = request.uri().query().map(parse_query).unwrap_or_default();
            // Kept for the audit log, which records state changes only.
            let audit = super::audit::audited(&method, &path);
            let mut audited = None;
            let onward = onward(&request, audit);
            let outcome = async {
                let caller = super::auth::authorize(&host, &request, &operation)?;
                let (request_id, body) = read_body(&host, request).await?;
                let input = RawInput {
                    path: params,
                    query,
                    body,
                };
                let params = operation.validator.from_http(input)?;
                if audit {
                    audited = Some(params.clone());
                }
                call(
                    &host,
                    &operation,
                    &params,
                    request_id,
                    &caller,
                    onward.clone(),
                )
                .await
            }
            .await;
            telemetry::record(&host, &operation, &outcome, started);
            let response = respond(&operation, outcome);
            if !audit {
                return response;
            }
            with_audit_details(response, &operation, audited, reached(onward))
        }
    }
}

/// Serve `request` to `operation`, a `wasi:http` handler resolved with `path_params`.
async fn serve_handler(
    host: &Host,
    operation: &LoadedOperation,
    path_params: Vec<(String, String)>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let audit = super::audit::audited(request.method(), request.uri().path());
    let mut audited = None;
    let onward = onward(&request, audit);
    let outcome = async {
        let principal = super::auth::authorize(host, &request, operation)?;
        let query = request.uri().query().map(parse_query).unwrap_or_default();
        let input = RawInput {
            path: path_params,
            query,
            body: Map::new(),
        };
        let params = operation.validator.from_http(input)?;
        if audit {
            audited = Some(params);
        }
        let request_id = request_id(&request);
        let handed = handed_over(host, request).await?;
        let caller = caller(&principal, &request_id, onward.clone());
        host.registry()
            .serve(operation, handed, &caller)
            .await
            .map_err(|error| {
                log_failure(operation, &request_id, &error);
                ApiError::from(error)
            })
    }
    .await;
    let status = outcome.as_ref().map(|answer| answer.status);
    telemetry::record_status(host, operation, status, started);
    let mut response = match outcome {
        Ok(answer) => handler_response(answer),
        Err(error) => error.into_response(),
    };
    stamp(&mut response, operation);
    if !audit {
        return response;
    }
    with_audit_details(response, operation, audited, reached(onward))
}

/// The request as a handler receives it: method, an absolute URI (the authority from
/// `Host`, else the server's address), the headers without the caller's credentials,
/// and the body read within `server.max_body_bytes`.
async fn handed_over(host: &Host, request: Request) -> Result<http::Request<Bytes>, ApiError> {
    let method = request.method().clone();
    let mut headers = request.headers().clone();
    headers.remove(header::AUTHORIZATION);
    headers.remove(header::PROXY_AUTHORIZATION);
    let authority = match headers.get(header::HOST) {
        Some(value) => value
            .to_str()
            .map_err(|_| ApiError::malformed("the `host` header is not valid text"))?
            .to_owned(),
        None => host.settings().server.addr.to_string(),
    };
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or("/", |path| path.as_str())
        .to_owned();
    let uri = Uri::builder()
        .scheme("http")
        .authority(authority)
        .path_and_query(path_and_query)
        .build()
        .map_err(|_| ApiError::malformed("the `host` header is not a valid authority"))?;
    let body = super::extract::read_capped(request, host.settings().server.max_body_bytes).await?;
    let mut handed = http::Request::new(body);
    *handed.method_mut() = method;
    *handed.uri_mut() = uri;
    *handed.headers_mut() = headers;
    Ok(handed)
}

/// A handler's answer as the response: its status, headers and body. Framing headers
/// are the server's to set for the body as read.
fn handler_response(answer: HandlerResponse) -> Response {
    let mut headers = answer.headers;
    for framing in [
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
    ] {
        headers.remove(framing);
    }
    let mut response = Response::new(axum::body::Body::new(answer.body));
    *response.status_mut() = answer.status;
    *response.headers_mut() = headers;
    response
}

/// `POST /api/v1/operations/{name}/execute`: parameters as one JSON object.
pub(crate) async fn by_name(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let Some(operation) = host.registry().snapshot().get(&name).cloned() else {
        return ApiError::operation_not_found(format_args!("named `{name}`")).into_response();
    };
    // Parameters of `/execute` travel in the body only; a query would be silently lost.
    if let Some(query) = request.uri().query() {
        let fields = parse_query(query)
            .into_iter()
            .map(|(field, _)| FieldError {
                field,
                message: "send parameters of /execute in the JSON body".to_owned(),
            })
            .collect();
        let outcome = Err(ValidationError(fields).into());
        telemetry::record(&host, &operation, &outcome, started);
        return respond(&operation, outcome);
    }
    let mut audited = None;
    let onward = onward(&request, true);
    let outcome = async {
        let caller = super::auth::authorize(&host, &request, &operation)?;
        if operation.interface == Interface::HttpHandler {
            return Err(ApiError::from(CallError::ServedAtRoute {
                name: operation.spec.name.clone(),
                method: operation.spec.method.to_string(),
                path: operation.spec.route.template.clone(),
            }));
        }
        let (request_id, body) = read_body(&host, request).await?;
        let params = operation.validator.from_json(body)?;
        audited = Some(params.clone());
        call(
            &host,
            &operation,
            &params,
            request_id,
            &caller,
            onward.clone(),
        )
        .await
    }
    .await;
    telemetry::record(&host, &operation, &outcome, started);
    with_audit_details(
        respond(&operation, outcome),
        &operation,
        audited,
        reached(onward),
    )
}

/// What the call hands on to its outbound requests: this request's trace context, and
/// a ledger of the destinations reached when the call is `audited`.
fn onward(request: &Request, audited: bool) -> Onward {
    Onward {
        traceparent: request
            .extensions()
            .get::<TraceContext>()
            .map(|context| Arc::from(context.encode().as_str())),
        reached: audited.then(Arc::default),
    }
}

/// The destinations the call reached, for its audit record.
fn reached(onward: Onward) -> Vec<String> {
    onward
        .reached
        .map(|reached| reached.destinations())
        .unwrap_or_default()
}

/// Tell the audit log which operation and version answered, and with which parameters
/// (when they were valid), secrets redacted.
fn with_audit_details(
    mut response: Response,
    operation: &LoadedOperation,
    params: Option<Map<String, Value>>,
    outbound: Vec<String>,
) -> Response {
    response
        .extensions_mut()
        .insert(super::audit::AuditDetails {
            operation: Some(operation.spec.name.clone()),
            version: Some(operation.spec.version.clone()),
            revision: Some(arsenal_core::registry::revision(operation).to_owned()),
            params: params.map(|params| audited_params(operation, params)),
            outbound,
        });
    response
}

/// The parameters as the audit log keeps them: those the operation declares sensitive,
/// and any whose name looks like a secret, redacted.
fn audited_params(operation: &LoadedOperation, mut params: Map<String, Value>) -> Value {
    for param in operation.spec.params.iter().filter(|param| param.sensitive) {
        if let Some(value) = params.get_mut(&param.name) {
            *value = Value::String(arsenal_core::audit::REDACTED.to_owned());
        }
    }
    arsenal_core::audit::redact(&Value::Object(params))
}

async fn call(
    host: &Host,
    operation: &LoadedOperation,
    params: &Map<String, Value>,
    request_id: Arc<str>,
    principal: &Principal,
    onward: Onward,
) -> Result<JsonText, ApiError> {
    let caller = caller(principal, &request_id, onward);
    host.registry()
        .call(operation, params, &caller)
        .await
        .map_err(|error| {
            log_failure(operation, &request_id, &error);
            ApiError::from(error)
        })
}

/// The caller as the operation and each of its host calls see it (`capabilities::permits`
/// checks the role against every capability used).
fn caller(principal: &Principal, request_id: &str, onward: Onward) -> Caller {
    Caller {
        principal: principal.name().to_owned(),
        roles: vec![principal.role().name().to_owned()],
        request_id: request_id.to_owned(),
        onward,
    }
}

fn log_failure(operation: &LoadedOperation, request_id: &str, error: &CallError) {
    let name = &operation.spec.name;
    match error {
        CallError::Guest(GuestFailure::Crashed(cause)) => {
            tracing::error!(operation = %name, request_id, %cause, "operation crashed");
        }
        CallError::Guest(GuestFailure::Overloaded(_))
        | CallError::Operation { .. }
        | CallError::ServedAtRoute { .. } => {}
        other => tracing::warn!(operation = %name, request_id, error = %other, "operation failed"),
    }
}

fn respond(operation: &LoadedOperation, outcome: Result<JsonText, ApiError>) -> Response {
    let mut response = match outcome {
        Ok(_) if operation.spec.success_status == StatusCode::NO_CONTENT => {
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(data) => (operation.spec.success_status, data_envelope(&data)).into_response(),
        Err(error) => error.into_response(),
    };
    stamp(&mut response, operation);
    response
}

/// Name the version and revision that answered.
fn stamp(response: &mut Response, operation: &LoadedOperation) {
    if let Ok(version) = HeaderValue::from_str(&operation.spec.version) {
        response.headers_mut().insert(OPERATION_VERSION, version);
    }
    if let Ok(revision) = HeaderValue::from_str(arsenal_core::registry::revision(operation)) {
        response.headers_mut().insert(OPERATION_REVISION, revision);
    }
}

/// `{"data": ...}` around the operation's JSON as it sent it (checked valid when received),
/// without parsing and serializing it again.
fn data_envelope(data: &JsonText) -> impl IntoResponse + use<> {
    (
        [(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        data.enveloped(),
    )
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Read the body under the size cap and parse it as a JSON object (empty is `{}`).
async fn read_body(
    host: &Host,
    request: Request,
) -> Result<(Arc<str>, Map<String, Value>), ApiError> {
    let request_id = request_id(&request);
    let body = read_json_object(host, request, host.settings().server.max_json_depth).await?;
    Ok((request_id, body))
}

/// The request's id, as the request-id middleware set it.
fn request_id(request: &Request) -> Arc<str> {
    request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_else(|| Arc::from(""))
}
