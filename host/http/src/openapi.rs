//! The OpenAPI 3.1 document, generated from a catalog snapshot: every operation with its
//! parameters, request body, success schema and every status it can answer with the
//! shared error schema and the role it needs, plus the host's own endpoints, all behind
//! the bearer security scheme (health excepted).

use serde_json::{Map, Value, json};

use crate::{BATCH_DEFAULT_CONCURRENCY, BATCH_MAX_CALLS, BATCH_MAX_CONCURRENCY, BATCH_PATH};
use arsenal_core::auth::{Access, Role};
use arsenal_core::registry::Catalog;
use arsenal_core::spec::{Location, OperationSpec};

/// Statuses every operation can answer besides its success, with why.
const OPERATION_ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "Malformed request (`malformed_request`): bad JSON or nesting too deep.",
    ),
    (
        "401",
        "No valid credential (`unauthenticated`, with `WWW-Authenticate: Bearer`).",
    ),
    (
        "403",
        "The caller's role is below the operation's (`forbidden`), a host call refused it (`capability_denied`), or the operation refused it (`forbidden`).",
    ),
    (
        "429",
        "Over a rate limit (`rate_limited`, with `Retry-After`).",
    ),
    (
        "404",
        "The operation did not find what was named (`not_found`).",
    ),
    (
        "409",
        "The request conflicts with current state (`conflict`).",
    ),
    (
        "413",
        "The body is over the size limit (`payload_too_large`).",
    ),
    (
        "422",
        "Parameters failed validation (`validation_error`) or were refused by the operation (`invalid_params`).",
    ),
    (
        "500",
        "The operation crashed (`operation_crashed`), exceeded its memory (`resource_exhausted`), returned too much (`response_too_large`) or failed (`internal`).",
    ),
    (
        "503",
        "No instance is free (`overloaded`, with `Retry-After`) or a dependency is down (`unavailable`).",
    ),
    (
        "504",
        "The operation ran past its deadline (`operation_timeout`) or gave up (`timeout`).",
    ),
];

/// Build the document; `access` says which role each operation needs.
pub fn document(catalog: &Catalog, access: &Access) -> Value {
    let mut paths = Map::new();
    for operation in catalog.operations() {
        let spec = &operation.spec;
        let path = paths
            .entry(spec.route.openapi_path())
            .or_insert_with(|| json!({}));
        let mut entry = operation_object(spec);
        entry["x-arsenal-capabilities"] = json!(operation.capabilities);
        entry["x-arsenal-required-role"] = json!(access.required_role(operation));
        path[spec.method.as_str().to_lowercase()] = entry;
    }
    for (path, mut item) in host_paths() {
        if let Some(methods) = item.as_object_mut() {
            for method in methods.values_mut() {
                if path.starts_with("/api/v1/admin/") {
                    method["x-arsenal-required-role"] = json!(Role::Admin);
                } else if path == "/api/v1/health" {
                    method["security"] = json!([]);
                }
            }
        }
        paths.insert(path.to_owned(), item);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Arsenal",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Operations served by this Arsenal host. Every error answers with the `Error` schema.",
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
            "schemas": {
                "Error": {
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
    let success = if spec.success_status.as_u16() == 204 {
        json!({ "description": "Success, no content." })
    } else {
        json!({
            "description": "Success.",
            "content": { "application/json": { "schema": {
                "type": "object", "required": ["data"], "properties": { "data": data }
            } } }
        })
    };
    responses.insert(spec.success_status.as_u16().to_string(), success);
    for (status, description) in OPERATION_ERRORS {
        responses.insert((*status).to_owned(), error_response(description));
    }
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

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    })
}

/// A success answer: `{"data": DATA}`.
fn ok(description: &str, data: Value) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": {
            "type": "object", "required": ["data"], "properties": { "data": data }
        } } }
    })
}

fn host_paths() -> Vec<(&'static str, Value)> {
    let name_param = operation_name_param();
    vec![
        (
            "/api/v1/health",
            json!({ "get": {
                "operationId": "health", "summary": "Server health", "tags": ["host"],
                "responses": { "200": ok("The server is up.", json!({ "type": "object" })) }
            }}),
        ),
        (
            "/api/v1/openapi.json",
            json!({ "get": {
                "operationId": "openapi", "summary": "This document", "tags": ["host"],
                "responses": { "200": { "description": "The OpenAPI document.", "content": { "application/json": { "schema": { "type": "object" } } } } }
            }}),
        ),
        (
            "/api/v1/operations",
            json!({ "get": {
                "operationId": "list_operations", "summary": "The operation catalogue", "tags": ["host"],
                "parameters": [
                    { "name": "category", "in": "query", "required": false, "schema": { "type": "string" } },
                    { "name": "q", "in": "query", "required": false, "description": "Search in names and summaries.", "schema": { "type": "string" } }
                ],
                "responses": {
                    "200": ok("Matching operations.", json!({ "type": "array", "items": { "type": "object" } })),
                    "422": error_response("Unknown query parameter (`validation_error`).")
                }
            }}),
        ),
        (
            "/api/v1/operations/{name}",
            json!({ "get": {
                "operationId": "describe_operation", "summary": "One operation's description", "tags": ["host"],
                "parameters": [name_param.clone()],
                "responses": {
                    "200": ok("The operation.", json!({ "type": "object" })),
                    "404": error_response("No such operation (`operation_not_found`).")
                }
            }}),
        ),
        (
            "/api/v1/operations/{name}/execute",
            json!({ "post": {
                "operationId": "execute_operation", "summary": "Run an operation by name, parameters as one JSON object", "tags": ["host"],
                "parameters": [name_param],
                "requestBody": { "required": false, "content": { "application/json": { "schema": { "type": "object" } } } },
                "responses": {
                    "200": ok("The operation's data.", json!({})),
                    "404": error_response("No such operation (`operation_not_found`) or the operation's `not_found`."),
                    "422": error_response("Parameters failed validation."),
                    "500": error_response("The operation failed."),
                    "503": error_response("Overloaded."),
                    "504": error_response("Deadline passed.")
                }
            }}),
        ),
        (BATCH_PATH, batch_path()),
        ("/api/v1/operations/{name}/stats", stats_path()),
        ("/api/v1/operations/{name}/health", operation_health_path()),
        ("/metrics", metrics_path()),
        ("/api/v1/whoami", whoami_path()),
        ("/api/v1/events", events_path()),
        ("/api/v1/audit", audit_path()),
        ("/api/v1/admin/operations", admin_upload_path()),
        ("/api/v1/admin/workers/{name}", admin_worker_path()),
        (
            "/api/v1/admin/workers/{name}/versions",
            json!({ "get": {
                "operationId": "admin_worker_versions", "summary": "A worker component's loaded version and the earlier ones kept", "tags": ["admin"],
                "parameters": [operation_name_param()],
                "responses": {
                    "200": ok("Versions, the loaded one first.", json!({ "type": "object", "required": ["name", "loaded", "versions"] })),
                    "404": error_response("No such worker (`worker_not_found`).")
                }
            }}),
        ),
        (
            "/api/v1/admin/workers/{name}/rollback",
            json!({ "post": {
                "operationId": "admin_worker_rollback", "summary": "Return a worker component to its previous version", "tags": ["admin"],
                "parameters": [operation_name_param()],
                "responses": {
                    "200": ok("The version now loaded.", json!({ "type": "object", "required": ["live"] })),
                    "404": error_response("No such worker (`worker_not_found`)."),
                    "409": error_response("No earlier version is kept (`no_earlier_version`).")
                }
            }}),
        ),
        ("/api/v1/admin/operations/{name}", admin_operation_path()),
        (
            "/api/v1/admin/operations/{name}/versions",
            json!({ "get": {
                "operationId": "admin_versions", "summary": "An operation's live version and the earlier ones kept", "tags": ["admin"],
                "parameters": [operation_name_param()],
                "responses": {
                    "200": ok("Versions, the live one first; for an unloaded name (`loaded` false), the version `restore` brings back.", json!({ "type": "object", "required": ["name", "loaded", "versions"] })),
                    "404": error_response("No such operation, loaded or to restore (`operation_not_found`).")
                }
            }}),
        ),
        (
            "/api/v1/admin/operations/{name}/rollback",
            json!({ "post": {
                "operationId": "admin_rollback", "summary": "Return an operation to its previous version", "tags": ["admin"],
                "parameters": [operation_name_param()],
                "responses": {
                    "200": ok("The version now live and the one replaced.", json!({ "type": "object", "required": ["live", "previous"] })),
                    "404": error_response("No such operation (`operation_not_found`)."),
                    "409": error_response("No earlier version is kept (`no_earlier_version`), or its route is taken now (`route_conflict`).")
                }
            }}),
        ),
        (
            "/api/v1/admin/operations/{name}/restore",
            json!({ "post": {
                "operationId": "admin_restore", "summary": "Make an unloaded operation live again at the version it has on its own", "tags": ["admin"],
                "description": "For a built-in operation, or one loaded from a configured directory, that was unloaded: it answers again, and stays loaded across restarts. `versions` lists the version this brings back while the name is unloaded.",
                "parameters": [operation_name_param()],
                "responses": {
                    "200": ok("The version now live.", json!({ "type": "object", "required": ["name", "version", "revision"] })),
                    "401": error_response("No valid credential (`unauthenticated`, with `WWW-Authenticate: Bearer`)."),
                    "403": error_response("Not an admin (`forbidden`)."),
                    "404": error_response("The name has no version of its own, built in or from a directory (`nothing_to_restore`)."),
                    "409": error_response("The name is loaded (`operation_exists`), its route is taken now (`route_conflict`), or another node changed it first (`cluster_conflict`)."),
                    "429": error_response("Over a rate limit (`rate_limited`, with `Retry-After`)."),
                    "500": error_response("Restored, but the change could not be saved, so a restart loses it (`state_not_saved`)."),
                    "503": error_response("The cluster's NATS is unreachable (`cluster_unavailable`).")
                }
            }}),
        ),
    ]
}

/// `GET /api/v1/operations/{name}/stats`.
fn stats_path() -> Value {
    let counts = json!({
        "calls": { "type": "integer" },
        "failures": { "type": "integer", "description": "Failures the operation answers for: 5xx except `overloaded`." },
        "client_errors": { "type": "integer", "description": "4xx answers: the caller's mistakes." }
    });
    let window = json!({
        "type": "object",
        "required": ["window", "seconds", "calls", "failures", "client_errors", "error_rate", "p50_ms", "p99_ms"],
        "properties": {
            "window": { "type": "string", "enum": ["1m", "5m", "15m"] },
            "seconds": { "type": "integer" },
            "calls": counts["calls"], "failures": counts["failures"], "client_errors": counts["client_errors"],
            "error_rate": { "type": "number", "description": "failures / calls; 0 without calls." },
            "p50_ms": { "type": ["number", "null"] },
            "p99_ms": { "type": ["number", "null"] }
        }
    });
    json!({ "get": {
        "operationId": "operation_stats", "summary": "An operation's calls, error rate and latency over recent windows, and its last errors", "tags": ["telemetry"],
        "parameters": [operation_name_param()],
        "responses": {
            "200": ok("Statistics, kept by name across versions.", json!({
                "type": "object",
                "required": ["name", "windows", "totals", "versions", "last_errors"],
                "properties": {
                    "name": { "type": "string" },
                    "windows": { "type": "array", "items": window },
                    "totals": { "type": "object", "properties": counts, "description": "Since the host started." },
                    "versions": { "type": "array", "description": "Versions that served, most recently used first.", "items": {
                        "type": "object",
                        "required": ["version", "revision", "calls", "last_call_unix_ms"],
                        "properties": {
                            "version": { "type": "string" }, "revision": { "type": "string" },
                            "calls": { "type": "integer" }, "last_call_unix_ms": { "type": "integer" }
                        }
                    } },
                    "last_errors": { "type": "array", "description": "Newest first.", "items": {
                        "type": "object",
                        "required": ["at_unix_ms", "status", "code", "request_id", "version", "revision"],
                        "properties": {
                            "at_unix_ms": { "type": "integer" }, "status": { "type": "integer" },
                            "code": { "type": "string" }, "request_id": { "type": "string" },
                            "version": { "type": "string" }, "revision": { "type": "string" }
                        }
                    } }
                }
            })),
            "404": error_response("No such operation (`operation_not_found`).")
        }
    }})
}

/// `GET /api/v1/operations/{name}/health`.
fn operation_health_path() -> Value {
    let check = json!({ "type": "object", "required": ["ok"], "properties": { "ok": { "type": "boolean" } } });
    json!({ "get": {
        "operationId": "operation_health", "summary": "Whether an operation is loaded, instantiates now and keeps within its error budget", "tags": ["telemetry"],
        "parameters": [operation_name_param()],
        "responses": {
            "200": ok("The verdict and each check; `healthy` is false when a check fails.", json!({
                "type": "object",
                "required": ["name", "healthy", "checks"],
                "properties": {
                    "name": { "type": "string" },
                    "healthy": { "type": "boolean" },
                    "checks": {
                        "type": "object",
                        "required": ["loaded", "instantiates", "error_budget"],
                        "properties": {
                            "loaded": check,
                            "instantiates": { "type": "object", "required": ["ok", "code"], "properties": {
                                "ok": { "type": "boolean" },
                                "code": { "type": ["string", "null"], "description": "Why a fresh instance failed, as an error code." }
                            } },
                            "error_budget": { "type": "object", "required": ["ok", "budget", "seconds", "calls", "failures", "error_rate"], "properties": {
                                "ok": { "type": "boolean" },
                                "budget": { "type": "number" },
                                "seconds": { "type": "integer" },
                                "calls": { "type": "integer" },
                                "failures": { "type": "integer" },
                                "error_rate": { "type": "number" }
                            } }
                        }
                    }
                }
            })),
            "404": error_response("No such operation (`operation_not_found`).")
        }
    }})
}

/// `GET /api/v1/audit`.
fn audit_path() -> Value {
    let text = json!({ "type": "string" });
    let query = |name: &str, description: &str, schema: Value| json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema });
    let record = json!({
        "type": "object",
        "required": ["seq", "time", "time_ms", "request_id", "principal", "role", "method", "path", "outcome", "status", "duration_us", "client_disconnected"],
        "properties": {
            "seq": { "type": "integer", "description": "Position in the log, from 1." },
            "time": { "type": "string", "format": "date-time" },
            "time_ms": { "type": "integer" },
            "request_id": text, "principal": text, "role": text, "method": text, "path": text,
            "operation": { "type": ["string", "null"] },
            "version": { "type": ["string", "null"] },
            "revision": { "type": ["string", "null"] },
            "params": { "description": "Parameters with secrets redacted; an uploaded component by `component_bytes` and `content_hash`." },
            "outcome": { "type": "string", "enum": ["succeeded", "refused", "failed"] },
            "status": { "type": "integer" },
            "error_code": { "type": ["string", "null"] },
            "duration_us": { "type": "integer" },
            "client_disconnected": { "type": "boolean" }
        }
    });
    json!({ "get": {
        "operationId": "audit_log", "summary": "State changes and admin actions, newest first (admin)", "tags": ["audit"],
        "parameters": [
            query("principal", "Only this principal's records.", text.clone()),
            query("operation", "Only records about this operation (or worker).", text.clone()),
            query("outcome", "Only this outcome.", json!({ "type": "string", "enum": ["succeeded", "refused", "failed"] })),
            query("request_id", "Only this request's record.", text.clone()),
            query("since", "Arrived at or after (RFC 3339).", json!({ "type": "string", "format": "date-time" })),
            query("until", "Arrived before (RFC 3339).", json!({ "type": "string", "format": "date-time" })),
            query("before", "The `next` cursor of the previous page.", json!({ "type": "integer", "minimum": 1 })),
            query("limit", "Records per page.", json!({ "type": "integer", "minimum": 1, "maximum": 500, "default": 50 }))
        ],
        "responses": {
            "200": ok("One page of records.", json!({
                "type": "object",
                "required": ["records", "next", "durable"],
                "properties": {
                    "records": { "type": "array", "items": record },
                    "next": { "type": ["integer", "null"], "description": "Pass as `before` for the next page; null at the start of the log." },
                    "durable": { "type": "boolean", "description": "False when the server keeps no state directory: the log lives in memory." }
                }
            })),
            "401": error_response("No or a wrong credential (`unauthenticated`)."),
            "403": error_response("Not an admin (`forbidden`)."),
            "422": error_response("An invalid filter (`validation_error`)."),
            "503": error_response("The log could not be read (`audit_unavailable`).")
        }
    }})
}

/// `GET /metrics`.
fn metrics_path() -> Value {
    json!({ "get": {
        "operationId": "metrics", "summary": "Prometheus metrics of this host", "tags": ["telemetry"],
        "responses": {
            "200": { "description": "The Prometheus text format (0.0.4).", "content": { "text/plain": { "schema": { "type": "string" } } } }
        }
    }})
}

/// `GET /api/v1/whoami` (see `http::whoami`).
fn whoami_path() -> Value {
    json!({ "get": {
        "operationId": "whoami", "summary": "The caller: principal, role, whether it presented a credential, and the access mode", "tags": ["host"],
        "responses": {
            "200": ok("The caller.", json!({
                "type": "object",
                "required": ["principal", "role", "authenticated", "mode"],
                "properties": {
                    "principal": { "type": "string" },
                    "role": { "type": "string", "enum": ["viewer", "operator", "admin"] },
                    "authenticated": { "type": "boolean" },
                    "mode": { "type": "string", "enum": ["keys", "local"] }
                }
            })),
            "401": error_response("No or a wrong credential (`unauthenticated`).")
        }
    }})
}

/// `GET /api/v1/events` (see `http::events`).
fn events_path() -> Value {
    json!({ "get": {
        "operationId": "events", "summary": "Live state as server-sent events: catalog, processes, tree, sandboxes and stats, each sent when it changed", "tags": ["host"],
        "responses": {
            "200": { "description": "`event: <section>` with the API's JSON answer for it as `data` (an error body where the caller's role falls short).", "content": { "text/event-stream": { "schema": { "type": "string" } } } },
            "401": error_response("No or a wrong credential (`unauthenticated`)."),
            "503": error_response("Too many streams open (`too_many_streams`), or the server is shutting down (`shutting_down`).")
        }
    }})
}

/// The `{name}` path parameter of an operation.
fn operation_name_param() -> Value {
    json!({ "name": "name", "in": "path", "required": true, "schema": { "type": "string" } })
}

fn wasm_body() -> Value {
    json!({ "required": true, "content": { "application/wasm": { "schema": { "type": "string", "format": "binary" } } } })
}

/// Answers of an upload that was refused, whatever the endpoint.
fn upload_refusals(mut responses: serde_json::Map<String, Value>) -> Value {
    responses.insert(
        "413".into(),
        error_response("Over `server.max_upload_bytes` (`payload_too_large`)."),
    );
    responses.insert(
        "415".into(),
        error_response("Not sent as `application/wasm` (`unsupported_media_type`)."),
    );
    responses.insert("422".into(), error_response("Not a component (`invalid_component`), imports not granted (`unsupported_imports`), invalid config (`invalid_config`), unsupported contract, or another operation's component (`name_mismatch`)."));
    Value::Object(responses)
}

/// `POST /api/v1/admin/operations`.
fn admin_upload_path() -> Value {
    let mut responses = serde_json::Map::new();
    responses.insert(
        "201".into(),
        ok(
            "The operation is live.",
            json!({ "type": "object", "required": ["name", "version", "revision"] }),
        ),
    );
    responses.insert("409".into(), error_response("The name is loaded (`operation_exists`; replace it with PUT) or the route is taken (`route_conflict`)."));
    json!({ "post": {
        "operationId": "admin_upload", "summary": "Load a new operation from its component", "tags": ["admin"],
        "requestBody": wasm_body(),
        "responses": upload_refusals(responses)
    }})
}

/// `PUT` and `DELETE /api/v1/admin/workers/{name}`.
fn admin_worker_path() -> Value {
    let mut responses = serde_json::Map::new();
    responses.insert(
        "200".into(),
        ok(
            "Replaced: the version now loaded and the previous one.",
            json!({ "type": "object", "required": ["live", "previous"] }),
        ),
    );
    responses.insert(
        "201".into(),
        ok(
            "Loaded under a new name.",
            json!({ "type": "object", "required": ["live"] }),
        ),
    );
    json!({
        "put": {
            "operationId": "admin_worker_put", "summary": "Load or replace a worker component", "tags": ["admin"],
            "description": "Processes started or upgraded from now on use it; running ones keep their code until `hot_reload_sandbox` moves them.",
            "parameters": [operation_name_param()],
            "requestBody": wasm_body(),
            "responses": upload_refusals(responses)
        },
        "delete": {
            "operationId": "admin_worker_unload", "summary": "Unload a worker component", "tags": ["admin"],
            "parameters": [operation_name_param()],
            "responses": {
                "200": ok("The version unloaded; running processes keep it.", json!({ "type": "object" })),
                "404": error_response("No such worker (`worker_not_found`).")
            }
        }
    })
}

/// `PUT` and `DELETE /api/v1/admin/operations/{name}`.
fn admin_operation_path() -> Value {
    let mut responses = serde_json::Map::new();
    responses.insert(
        "200".into(),
        ok(
            "The version now live and the one replaced.",
            json!({ "type": "object", "required": ["live", "previous"] }),
        ),
    );
    responses.insert(
        "404".into(),
        error_response("No such operation (`operation_not_found`)."),
    );
    responses.insert(
        "409".into(),
        error_response("The new route is taken by another operation (`route_conflict`)."),
    );
    json!({
        "put": {
            "operationId": "admin_replace", "summary": "Replace an operation with a new version", "tags": ["admin"],
            "description": "The new version is loaded and its route checked against every other operation before anything is swapped; requests in flight finish on the version they started with.",
            "parameters": [operation_name_param()],
            "requestBody": wasm_body(),
            "responses": upload_refusals(responses)
        },
        "delete": {
            "operationId": "admin_unload", "summary": "Unload an operation", "tags": ["admin"],
            "parameters": [operation_name_param()],
            "responses": {
                "200": ok("The version unloaded.", json!({ "type": "object", "required": ["name", "version", "revision"] })),
                "404": error_response("No such operation (`operation_not_found`).")
            }
        }
    })
}

/// `POST /api/v1/batch` (see `http::batch` for the behaviour).
fn batch_path() -> Value {
    let call = json!({
        "type": "object",
        "required": ["method", "path"],
        "additionalProperties": false,
        "properties": {
            "method": { "type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"], "description": "Case-insensitive." },
            "path": { "type": "string", "pattern": "^/", "description": "The path as a request of its own would send it, optionally with a query string.", "examples": ["/api/v1/echo/abc"] },
            "query": {
                "type": "object",
                "description": "Query parameters, appended to the path's; an array repeats the key.",
                "additionalProperties": {
                    "oneOf": [
                        { "type": ["string", "number", "boolean"] },
                        { "type": "array", "items": { "type": ["string", "number", "boolean"] } }
                    ]
                }
            },
            "body": { "description": "The JSON body; absent or null sends none." },
            "id": { "type": ["string", "number"], "description": "Echoed in the call's result." }
        }
    });
    let result = json!({
        "type": "object",
        "required": ["index", "id", "status", "body"],
        "properties": {
            "index": { "type": "integer", "minimum": 0 },
            "id": { "type": ["string", "number", "null"] },
            "status": { "type": "integer", "description": "The status the call answered, as a request of its own." },
            "body": { "description": "The call's answer, `{\"data\": ...}` or the `Error` shape; null when it had none." }
        }
    });
    json!({ "post": {
        "operationId": "batch",
        "summary": format!("Run up to {BATCH_MAX_CALLS} calls in one request"),
        "description": "Each call goes through the same routing, validation, limits and error shape as a request of its own, at most `concurrency` at a time (never more than the instance pool); results come back in request order and the batch answers 200 whatever its calls answered. A call of this endpoint answers 422 `nested_batch`; with `stop_on_error`, calls not started after a failure answer 424 `skipped`.",
        "tags": ["host"],
        "requestBody": { "required": true, "content": { "application/json": { "schema": {
            "type": "object",
            "required": ["calls"],
            "additionalProperties": false,
            "properties": {
                "calls": { "type": "array", "minItems": 1, "maxItems": BATCH_MAX_CALLS, "items": call },
                "concurrency": { "type": "integer", "minimum": 1, "maximum": BATCH_MAX_CONCURRENCY, "default": BATCH_DEFAULT_CONCURRENCY },
                "stop_on_error": { "type": "boolean", "default": false, "description": "Start no further calls once one fails." }
            }
        } } } },
        "responses": {
            "200": {
                "description": "Every call's answer, in request order.",
                "content": { "application/json": { "schema": {
                    "type": "object", "required": ["data"], "properties": { "data": {
                        "type": "object",
                        "required": ["results", "succeeded", "failed", "skipped"],
                        "properties": {
                            "results": { "type": "array", "items": result },
                            "succeeded": { "type": "integer", "description": "Calls answered below 400." },
                            "failed": { "type": "integer", "description": "Calls answered 400 or above." },
                            "skipped": { "type": "integer", "description": "Calls not run under `stop_on_error`." }
                        }
                    } }
                } } }
            },
            "400": error_response("The body is not a JSON object (`malformed_request`)."),
            "413": error_response(&format!("The body is over the size limit (`payload_too_large`) or holds more than {BATCH_MAX_CALLS} calls (`batch_too_large`).")),
            "422": error_response("The body is not a valid batch, an empty `calls` included (`validation_error`).")
        }
    }})
}
