//! The OpenAPI 3.1 document, generated from a catalog snapshot: every operation with its
//! parameters, request body, success schema and every status it can answer with the
//! shared error schema and the role it needs, plus the host's own endpoints, all behind
//! the bearer security scheme (health excepted).

use serde_json::{Map, Value, json};

use crate::auth::Gate;
use crate::endpoint::{Answers, Endpoint, operation_answers};
use crate::error::ErrorCode;
use arsenal_core::auth::{Access, Role};
use arsenal_core::loader::Interface;
use arsenal_core::registry::Catalog;
use arsenal_core::spec::{Location, OperationSpec};

/// The node selector header, documented on every endpoint (see `http::cluster`).
const NODE_PARAMETER: &str = "#/components/parameters/Node";

/// Build the document of `endpoints` and the catalogue's operations; `access` says which
/// role each operation needs.
pub(crate) fn document(catalog: &Catalog, access: &Access, endpoints: &[Endpoint]) -> Value {
    let mut paths = Map::new();
    // Error answers, shared by every endpoint that answers the same codes with a status.
    let mut errors = Map::new();
    // Local mode lets a caller without a credential read: a viewer's endpoints say so.
    let anonymous_reads = access.is_local();
    for operation in catalog.operations() {
        let spec = &operation.spec;
        let path = paths
            .entry(spec.route.openapi_path())
            .or_insert_with(|| json!({}));
        let mut entry = match operation.interface {
            Interface::Contract | Interface::AsyncContract => operation_object(spec),
            Interface::HttpHandler => handler_object(spec),
        };
        add_errors(
            &mut entry,
            &operation_answers(&spec.method, &spec.route.openapi_path()),
            &mut errors,
        );
        with_node_parameter(&mut entry);
        entry["x-arsenal-interface"] = json!(operation.interface);
        entry["x-arsenal-capabilities"] = json!(operation.capabilities);
        entry["x-arsenal-requested"] = crate::reach::requested(spec);
        entry["x-arsenal-granted"] = crate::reach::granted(operation);
        let role = access.required_role(&operation.spec, &operation.capabilities);
        if anonymous_reads && role == Role::Viewer {
            entry["security"] = credential_optional();
        }
        entry["x-arsenal-required-role"] = json!(role);
        path[spec.method.as_str().to_lowercase()] = entry;
    }
    for endpoint in endpoints {
        let mut page = (endpoint.page)(catalog);
        add_errors(&mut page, &endpoint.answers(), &mut errors);
        with_node_parameter(&mut page);
        match crate::auth::gate(endpoint.path) {
            Gate::Open => page["security"] = json!([]),
            Gate::Admin => page["x-arsenal-required-role"] = json!(Role::Admin),
            Gate::Caller if anonymous_reads => page["security"] = credential_optional(),
            Gate::Caller => {}
        }
        let path = paths
            .entry(endpoint.path.to_owned())
            .or_insert_with(|| json!({}));
        path[endpoint.method.as_str().to_lowercase()] = page;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Arsenal",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Operations served by this Arsenal host. Every error answers with the `Error` schema; each status lists the codes it can carry.",
        },
        "paths": paths,
        "security": [{ "bearer": [] }],
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key, or in local mode (no keys configured) the admin token; in local mode reads need none.",
                }
            },
            "schemas": { "Error": error_schema() },
            "responses": errors,
            "parameters": {
                "Node": {
                    "name": crate::cluster::NODE_HEADER,
                    "in": "header",
                    "required": false,
                    "description": "Run the request on this node of the cluster and relay its answer; absent, empty or this node's id runs it here. An unknown node answers 404 `node_not_found`, one that is down or silent 503 `node_unavailable`.",
                    "schema": { "type": "string", "pattern": "^[A-Za-z0-9_-]{0,64}$" }
                }
            },
            "headers": {
                "RequestId": {
                    "description": "The request's id: the client's `x-request-id` when well-formed, otherwise generated.",
                    "required": true,
                    "schema": { "type": "string", "minLength": 1 }
                },
                "Traceparent": {
                    "description": "The W3C trace context, continued from the request's or started here.",
                    "required": true,
                    "schema": { "type": "string", "pattern": "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$" }
                },
                "OperationVersion": {
                    "description": "The version of the operation that answered.",
                    "required": true,
                    "schema": { "type": "string" }
                },
                "OperationRevision": {
                    "description": "The start of the content hash of the component that answered.",
                    "required": true,
                    "schema": { "type": "string" }
                },
                "Allow": {
                    "description": "The methods the path is served for.",
                    "required": true,
                    "schema": { "type": "string" }
                },
                "RetryAfter": {
                    "description": "Seconds to wait before retrying.",
                    "required": true,
                    "schema": { "type": "integer", "minimum": 1 }
                },
                "WwwAuthenticate": {
                    "description": "How to authenticate: `Bearer`.",
                    "required": true,
                    "schema": { "type": "string", "pattern": "^Bearer" }
                }
            }
        }
    })
}

/// The `Error` schema every error answer has.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details", "request_id"],
                "properties": {
                    "code": { "type": "string", "description": "Stable, machine-readable error code." },
                    "message": { "type": "string" },
                    "details": { "description": "Structured details, or null." },
                    "request_id": { "type": "string" }
                }
            }
        }
    })
}

fn operation_object(spec: &OperationSpec) -> Value {
    let parameters: Vec<Value> = spec
        .params
        .iter()
        .filter(|param| param.location != Location::Body)
        .map(|param| {
            json!({
                "name": param.name,
                "in": if param.location == Location::Path { "path" } else { "query" },
                "required": param.required,
                "description": param.description,
                "schema": param.schema(),
            })
        })
        .collect();
    let body: Vec<_> = spec
        .params
        .iter()
        .filter(|param| param.location == Location::Body)
        .cloned()
        .collect();
    let mut responses = Map::new();
    let data = spec.response_schema.clone().unwrap_or_else(|| json!({}));
    let mut success = if spec.success_status.as_u16() == 204 {
        json!({ "description": "Success, no content." })
    } else {
        ok("Success.", data)
    };
    success["headers"]["x-operation-version"] =
        json!({ "$ref": "#/components/headers/OperationVersion" });
    success["headers"]["x-operation-revision"] =
        json!({ "$ref": "#/components/headers/OperationRevision" });
    responses.insert(spec.success_status.as_u16().to_string(), success);
    let mut object = json!({
        "operationId": spec.name,
        "summary": spec.summary,
        "description": spec.description,
        "tags": [spec.category],
        "parameters": parameters,
        "responses": responses,
    });
    if !body.is_empty()
        || spec.additional_params
            && !matches!(spec.method, http::Method::GET | http::Method::DELETE)
    {
        let schema = arsenal_core::validation::object_schema(&body, spec.additional_params);
        object["requestBody"] = json!({
            "required": body.iter().any(|param| param.required),
            "content": { "application/json": { "schema": schema } }
        });
    }
    object
}

/// The operation object of a `wasi:http` handler: its declared path and query
/// parameters, and its own answer (any status, headers and body) as the success; a body
/// of any type for the methods that carry one.
fn handler_object(spec: &OperationSpec) -> Value {
    let mut object = operation_object(spec);
    let mut success = json!({
        "description": "The handler's own response: its status, headers and body, as it answered them.",
    });
    success["headers"]["x-operation-version"] =
        json!({ "$ref": "#/components/headers/OperationVersion" });
    success["headers"]["x-operation-revision"] =
        json!({ "$ref": "#/components/headers/OperationRevision" });
    object["responses"] = json!({ "default": success });
    if let Some(object) = object.as_object_mut() {
        object.remove("requestBody");
    }
    if !matches!(spec.method, http::Method::GET | http::Method::DELETE) {
        object["requestBody"] = json!({
            "required": false,
            "description": "Handed to the handler as it is sent.",
            "content": { "*/*": { "schema": {} } }
        });
    }
    object
}

/// Add the error answers of `answers` to the operation object `page`, one per status,
/// each listing its codes, as references to `errors` (added there when new); and the
/// headers every answer carries to every answer.
fn add_errors(page: &mut Value, answers: &Answers, errors: &mut Map<String, Value>) {
    for (status, codes) in answers.by_status() {
        // Named by its status and codes (`404.node_not_found.operation_not_found`).
        let mut name = status.as_str().to_owned();
        for code in &codes {
            name.push('.');
            name.push_str(code.as_str());
        }
        let listed: Vec<String> = codes
            .iter()
            .map(|code| format!("`{code}`: {}", code.meaning()))
            .collect();
        // Where an operation's own code may stand in for one of these, the code is open.
        let open = answers.operation_codes
            && codes
                .iter()
                .any(|code| ErrorCode::OPERATION_KINDS.contains(code));
        let schema = if open {
            json!({ "$ref": "#/components/schemas/Error" })
        } else {
            let enumerated: Vec<&str> = codes.iter().map(|code| code.as_str()).collect();
            json!({ "allOf": [
                { "$ref": "#/components/schemas/Error" },
                { "properties": { "error": { "properties": { "code": { "enum": enumerated } } } } }
            ] })
        };
        let mut description = listed.join("\n");
        if open {
            name.push_str(".own");
            description.push_str(
                "\nAn operation may answer a more specific code of its own in place of the code of its kind.",
            );
        }
        let mut answer = json!({
            "description": description,
            "content": { "application/json": { "schema": schema } }
        });
        match status {
            http::StatusCode::UNAUTHORIZED => {
                answer["headers"]["WWW-Authenticate"] =
                    json!({ "$ref": "#/components/headers/WwwAuthenticate" });
            }
            http::StatusCode::METHOD_NOT_ALLOWED => {
                answer["headers"]["Allow"] = json!({ "$ref": "#/components/headers/Allow" });
            }
            http::StatusCode::TOO_MANY_REQUESTS => {
                answer["headers"]["Retry-After"] =
                    json!({ "$ref": "#/components/headers/RetryAfter" });
            }
            http::StatusCode::SERVICE_UNAVAILABLE => {
                answer["headers"]["Retry-After"] = json!({
                    "description": "Seconds to wait before retrying, where waiting helps (`overloaded`, `too_many_streams`, `version_retired`, `audit_unavailable`).",
                    "schema": { "type": "integer", "minimum": 1 }
                });
            }
            _ => {}
        }
        answer["headers"]["x-request-id"] = json!({ "$ref": "#/components/headers/RequestId" });
        answer["headers"]["traceparent"] = json!({ "$ref": "#/components/headers/Traceparent" });
        page["responses"][status.as_str()] =
            json!({ "$ref": format!("#/components/responses/{name}") });
        errors.entry(name).or_insert(answer);
    }
    if let Some(responses) = page["responses"].as_object_mut() {
        for answer in responses
            .values_mut()
            .filter(|answer| answer.get("$ref").is_none())
        {
            answer["headers"]["x-request-id"] = json!({ "$ref": "#/components/headers/RequestId" });
            answer["headers"]["traceparent"] =
                json!({ "$ref": "#/components/headers/Traceparent" });
        }
    }
}

/// A security requirement met by a bearer credential or by none.
fn credential_optional() -> Value {
    json!([{}, { "bearer": [] }])
}

/// The node selector, among the parameters of the operation object `page`.
fn with_node_parameter(page: &mut Value) {
    let node = json!({ "$ref": NODE_PARAMETER });
    match page["parameters"].as_array_mut() {
        Some(parameters) => parameters.push(node),
        None => page["parameters"] = json!([node]),
    }
}

/// A success answer: `{"data": DATA}`.
pub(crate) fn ok(description: &str, data: Value) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": self::data(data) } }
    })
}

/// The schema of `{"data": DATA}`.
pub(crate) fn data(data: Value) -> Value {
    json!({ "type": "object", "required": ["data"], "properties": { "data": data } })
}
