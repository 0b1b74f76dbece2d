//! The OpenAPI operation object of each of the host's own endpoints: its id, summary,
//! parameters, body and success answers. The error answers are not written here: the
//! document adds them from what the endpoint table says each endpoint can answer.

use serde_json::{Value, json};

use crate::batch::{DEFAULT_CONCURRENCY, MAX_CALLS, MAX_CONCURRENCY};
use crate::events::SECTIONS;
use crate::openapi::{data, ok};
use arsenal_core::registry::Catalog;

/// `GET /api/v1/health`.
pub(crate) fn health(_: &Catalog) -> Value {
    json!({
        "operationId": "health", "summary": "Server health", "tags": ["host"],
        "responses": { "200": ok("The server is up.", json!({
            "type": "object",
            "required": ["status", "operations", "instances_in_use", "max_instances"],
            "properties": {
                "status": { "const": "ok" },
                "operations": { "type": "integer", "minimum": 0 },
                "instances_in_use": { "type": "integer", "minimum": 0 },
                "max_instances": { "type": "integer", "minimum": 0 }
            }
        })) }
    })
}

/// `GET /api/v1/openapi.json`.
pub(crate) fn openapi(_: &Catalog) -> Value {
    json!({
        "operationId": "openapi", "summary": "This document", "tags": ["host"],
        "responses": { "200": {
            "description": "The OpenAPI document.",
            "content": { "application/json": { "schema": {
                "type": "object", "required": ["openapi", "info", "paths"]
            } } }
        } }
    })
}

/// `GET /api/v1/operations`.
pub(crate) fn list_operations(_: &Catalog) -> Value {
    json!({
        "operationId": "list_operations", "summary": "The operation catalogue", "tags": ["host"],
        "parameters": [
            { "name": "category", "in": "query", "required": false, "description": "Only this category.", "schema": { "type": "string" } },
            { "name": "q", "in": "query", "required": false, "description": "Search in names and summaries.", "schema": { "type": "string" } }
        ],
        "responses": {
            "200": ok("Matching operations; an unknown query parameter answers 422.", json!({
                "type": "array", "items": catalogue_entry()
            }))
        }
    })
}

/// One entry of the catalogue (`http::catalog::entry`).
pub(crate) fn catalogue_entry() -> Value {
    let text = json!({ "type": "string" });
    json!({
        "type": "object",
        "required": ["name", "version", "category", "summary", "method", "path", "interface", "reuse", "capabilities", "requested", "required_role", "source"],
        "properties": {
            "name": text, "version": text, "category": text, "summary": text,
            "method": { "type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"] },
            "path": text,
            "interface": {
                "type": "string", "enum": ["contract", "async_contract", "http_handler"],
                "description": "How the operation is called: `contract` (Arsenal's own: validated JSON parameters in, `{\"data\": ...}` out), `async_contract` (the same with an asynchronous `execute`: one instance may serve several calls at once) or `http_handler` (a `wasi:http/incoming-handler` handed the HTTP request, its own response sent back; not callable by name)."
            },
            "reuse": reuse(),
            "capabilities": { "type": "array", "items": text },
            "requested": requested(),
            "granted": granted(),
            "required_role": role(),
            "source": text
        }
    })
}

/// How an operation's instances are reused (`core::loader::InstanceReuse`).
pub(crate) fn reuse() -> Value {
    json!({
        "type": "object",
        "description": "How its instances are reused (the operator's `warm_instance_calls`, `warm_concurrent_calls`, `warm_across_principals`): `fresh` (an instance per call), `sequential` (an instance serves up to `max_calls` calls one at a time) or `concurrent` (an asynchronous operation's instance serves up to `at_once` calls at the same time). An instance serves one principal unless `across_principals`.",
        "required": ["mode"],
        "properties": {
            "mode": { "type": "string", "enum": ["fresh", "sequential", "concurrent"] },
            "max_calls": { "type": "integer" },
            "at_once": { "type": "integer" },
            "across_principals": { "type": "boolean" }
        }
    })
}

/// What an operation requests in its config (`http::reach::requested`).
pub(crate) fn requested() -> Value {
    let list = json!({ "type": "array", "items": { "type": "string" } });
    json!({
        "type": "object",
        "description": "What the operation requests in its config: outbound HTTP destinations (`scheme://host:port` patterns) and shared key-value buckets. It reaches what the operator grants of them.",
        "required": ["outbound_hosts", "buckets"],
        "properties": { "outbound_hosts": list, "buckets": list }
    })
}

/// What an operation reaches of the standard capabilities (`http::reach::granted`).
fn granted() -> Value {
    let mut granted = granted_to("the operation");
    granted["description"] = json!(
        "What the operation reaches of the standard capabilities: its requests narrowed to the operator's grants (the grant whole where it requests none). Empty for a capability it does not import."
    );
    granted
}

/// What `whom` reaches of the standard capabilities (`http::reach::shown`).
fn granted_to(whom: &str) -> Value {
    json!({
        "type": "object",
        "description": format!("What {whom} reaches of the standard capabilities. Empty for a capability it does not import."),
        "required": ["outbound_hosts", "buckets", "config"],
        "properties": {
            "outbound_hosts": { "type": "array", "items": { "type": "string" }, "description": "Outbound HTTP destination patterns, `scheme://host:port`." },
            "buckets": { "type": "array", "items": { "type": "string" }, "description": "Shared key-value buckets it may open, beside its own." },
            "config": {
                "type": "object",
                "description": "Its configuration keys (`wasi:config/store`): a plain value as `{\"value\": text}`; a secret as `\"set\"`, never its value; `\"not_set\"` when the source gave nothing.",
                "additionalProperties": {
                    "oneOf": [
                        { "type": "string", "enum": ["set", "not_set"] },
                        { "type": "object", "required": ["value"], "properties": { "value": { "type": "string" } }, "additionalProperties": false }
                    ]
                }
            }
        }
    })
}

/// `GET /api/v1/operations/{name}`.
pub(crate) fn describe_operation(_: &Catalog) -> Value {
    json!({
        "operationId": "describe_operation", "summary": "One operation's description", "tags": ["host"],
        "parameters": [name_param("The operation's name.")],
        "responses": { "200": ok("The operation.", json!({
            "type": "object",
            "required": ["name", "version", "method", "path", "params", "success_status", "required_role"]
        })) }
    })
}

/// `POST /api/v1/operations/{name}/execute`.
pub(crate) fn execute_operation(_: &Catalog) -> Value {
    json!({
        "operationId": "execute_operation",
        "summary": "Run an operation by name, parameters as one JSON object",
        "description": "Answers as the operation does at its own route, with its declared success status (`204` without a body).",
        "tags": ["host"],
        "parameters": [name_param("The operation's name.")],
        "requestBody": { "required": false, "content": { "application/json": { "schema": { "type": "object" } } } },
        "responses": {
            "200": ok("The operation's data.", json!({})),
            "201": ok("The operation's data (an operation declaring 201).", json!({})),
            "202": ok("The operation's data (an operation declaring 202).", json!({})),
            "204": { "description": "Success without content (an operation declaring 204)." }
        }
    })
}

/// `GET /api/v1/operations/{name}/stats`.
pub(crate) fn operation_stats(_: &Catalog) -> Value {
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
    json!({
        "operationId": "operation_stats", "summary": "An operation's calls, error rate and latency over recent windows, and its last errors", "tags": ["telemetry"],
        "parameters": [name_param("The operation's name.")],
        "responses": {
            "200": ok("Statistics, kept by name across versions.", json!({
                "type": "object",
                "required": ["name", "windows", "totals", "versions", "last_errors", "warm_instances", "concurrent_instances"],
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
                    } },
                    "warm_instances": { "type": ["object", "null"], "description": "Warm-instance mode of the live version; null when off." },
                    "concurrent_instances": {
                        "type": ["object", "null"],
                        "description": "Concurrent reuse of an asynchronous operation's instances (live version); null when off.",
                        "properties": {
                            "max_calls": { "type": "integer", "description": "Calls one instance serves in all." },
                            "at_once": { "type": "integer", "description": "Calls one instance serves at the same time." },
                            "across_principals": { "type": "boolean", "description": "Whether one instance serves callers of different principals." },
                            "instances": { "type": "integer", "description": "Instances alive now." },
                            "in_flight": { "type": "integer", "description": "Calls inside them now." },
                            "reused": { "type": "integer", "description": "Calls served by an instance already running." }
                        }
                    }
                }
            }))
        }
    })
}

/// `GET /api/v1/operations/{name}/health`.
pub(crate) fn operation_health(_: &Catalog) -> Value {
    let check = json!({ "type": "object", "required": ["ok"], "properties": { "ok": { "type": "boolean" } } });
    json!({
        "operationId": "operation_health", "summary": "Whether an operation is loaded, instantiates now and keeps within its error budget", "tags": ["telemetry"],
        "parameters": [name_param("The operation's name.")],
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
            }))
        }
    })
}

/// `GET /metrics`.
pub(crate) fn metrics(_: &Catalog) -> Value {
    json!({
        "operationId": "metrics", "summary": "Prometheus metrics of this host", "tags": ["telemetry"],
        "responses": {
            "200": { "description": "The Prometheus text format (0.0.4).", "content": { "text/plain": { "schema": { "type": "string" } } } }
        }
    })
}

/// `GET /api/v1/whoami` (see `http::whoami`).
pub(crate) fn whoami(_: &Catalog) -> Value {
    json!({
        "operationId": "whoami", "summary": "The caller: principal, role, whether it presented a credential, and the access mode", "tags": ["host"],
        "responses": {
            "200": ok("The caller.", json!({
                "type": "object",
                "required": ["principal", "role", "authenticated", "mode"],
                "properties": {
                    "principal": { "type": "string" },
                    "role": role(),
                    "authenticated": { "type": "boolean" },
                    "mode": { "type": "string", "enum": ["keys", "local"] }
                }
            }))
        }
    })
}

/// `GET /api/v1/events` (see `http::events`): one schema per kind of event, each event's
/// `data` the JSON answer the caller would get from the section's endpoint — its data or
/// the error it answers (a role too low for sandboxes, say).
pub(crate) fn events(catalog: &Catalog) -> Value {
    let kinds: Vec<Value> = SECTIONS
        .iter()
        .map(|section| {
            let answer = match section.path {
                Some(path) => routed_answer(catalog, path),
                None => data(stats_brief()),
            };
            json!({
                "type": "object",
                "required": ["event", "data"],
                "properties": {
                    "event": { "const": section.name },
                    "data": {
                        "type": "string",
                        "description": section.description,
                        "contentMediaType": "application/json",
                        "contentSchema": { "oneOf": [answer, { "$ref": "#/components/schemas/Error" }] }
                    }
                }
            })
        })
        .collect();
    json!({
        "operationId": "events",
        "summary": "Live state as server-sent events: catalog, processes, tree, sandboxes and stats, each sent when it changed",
        "description": "Each event is `event: <section>` with the JSON answer the caller would get from the section's endpoint as `data`; every section is sent when the stream opens and again whenever its answer changes. Comments keep a quiet stream alive.",
        "tags": ["host"],
        "responses": {
            "200": {
                "description": "The stream; the schema is that of one event.",
                "content": { "text/event-stream": { "schema": { "oneOf": kinds } } }
            }
        }
    })
}

/// The success answer of the catalogued operation serving `GET path`, or the catalogue's.
fn routed_answer(catalog: &Catalog, path: &str) -> Value {
    let route = path.split('?').next().unwrap_or(path);
    if route == "/api/v1/operations" {
        return data(json!({ "type": "array", "items": catalogue_entry() }));
    }
    let schema = match catalog.resolve(&http::Method::GET, route) {
        arsenal_core::registry::Resolved::Found { operation, .. } => {
            operation.spec.response_schema.clone()
        }
        _ => None,
    };
    data(schema.unwrap_or_else(|| json!({})))
}

/// The `stats` event: every loaded operation's totals and last minute.
fn stats_brief() -> Value {
    json!({
        "type": "array",
        "items": {
            "type": "object",
            "required": ["name", "totals", "last_minute"],
            "properties": {
                "name": { "type": "string" },
                "totals": { "type": "object" },
                "last_minute": { "type": ["object", "null"] }
            }
        }
    })
}

/// `GET /api/v1/audit`.
pub(crate) fn audit_log(_: &Catalog) -> Value {
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
            "client_disconnected": { "type": "boolean" },
            "outbound": { "type": "array", "items": { "type": "string" }, "description": "The outbound HTTP destinations (`scheme://host:port`) the call reached; absent when none." }
        }
    });
    json!({
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
            }))
        }
    })
}

/// `POST /api/v1/admin/operations`.
pub(crate) fn admin_upload(_: &Catalog) -> Value {
    json!({
        "operationId": "admin_upload", "summary": "Load a new operation from its component", "tags": ["admin"],
        "description": "A component exporting `arsenal:operation/handler`, or a `wasi:http/incoming-handler` 0.2 component: one that exports `arsenal:operation/describe` names its own route; for one that does not, the query declares it (`name`, `method`, `path` at least).",
        "parameters": route_query(true),
        "requestBody": wasm_body(),
        "responses": {
            "201": ok("The operation is live.", operation_version())
        }
    })
}

/// `PUT /api/v1/admin/operations/{name}`.
pub(crate) fn admin_replace(_: &Catalog) -> Value {
    let mut replace_params = vec![name_param("The operation's name.")];
    replace_params.extend(route_query(false));
    json!({
        "operationId": "admin_replace", "summary": "Replace an operation with a new version", "tags": ["admin"],
        "description": "The new version is loaded and its route checked against every other operation before anything is swapped; requests in flight finish on the version they started with. A `wasi:http` handler that does not describe itself is given its route in the query (`method`, `path` at least).",
        "parameters": replace_params,
        "requestBody": wasm_body(),
        "responses": {
            "200": ok("The version now live and the one replaced.", swapped())
        }
    })
}

/// `DELETE /api/v1/admin/operations/{name}`.
pub(crate) fn admin_unload(_: &Catalog) -> Value {
    json!({
        "operationId": "admin_unload", "summary": "Unload an operation", "tags": ["admin"],
        "parameters": [name_param("The operation's name.")],
        "responses": {
            "200": ok("The version unloaded.", operation_version())
        }
    })
}

/// `GET /api/v1/admin/operations/{name}/versions`.
pub(crate) fn admin_versions(_: &Catalog) -> Value {
    json!({
        "operationId": "admin_versions", "summary": "An operation's live version and the earlier ones kept", "tags": ["admin"],
        "parameters": [name_param("The operation's name.")],
        "responses": {
            "200": ok(
                "Versions, the live one first; for an unloaded name (`loaded` false), the version `restore` brings back.",
                versions(operation_version())
            )
        }
    })
}

/// `POST /api/v1/admin/operations/{name}/rollback`.
pub(crate) fn admin_rollback(_: &Catalog) -> Value {
    json!({
        "operationId": "admin_rollback", "summary": "Return an operation to its previous version", "tags": ["admin"],
        "parameters": [name_param("The operation's name.")],
        "responses": {
            "200": ok("The version now live and the one replaced.", swapped())
        }
    })
}

/// `POST /api/v1/admin/operations/{name}/restore`.
pub(crate) fn admin_restore(_: &Catalog) -> Value {
    json!({
        "operationId": "admin_restore", "summary": "Make an unloaded operation live again at the version it has on its own", "tags": ["admin"],
        "description": "For a built-in operation, or one loaded from a configured directory, that was unloaded: it answers again, and stays loaded across restarts. `versions` lists the version this brings back while the name is unloaded.",
        "parameters": [name_param("The operation's name.")],
        "responses": {
            "200": ok("The version now live.", operation_version())
        }
    })
}

/// `GET /api/v1/admin/workers` (`http::workers`).
pub(crate) fn admin_workers(_: &Catalog) -> Value {
    let mut worker = worker_version();
    let reach = granted_to("a process of the worker");
    let properties = &mut worker["properties"];
    properties["capabilities"] = json!({ "type": "array", "items": { "type": "string" }, "description": "The capabilities it imports; it reaches nothing of a standard capability it does not import." });
    properties["granted"] = reach.clone();
    properties["sandboxes"] = json!({
        "type": "array",
        "description": "Each sandbox where a process of it runs now, by name: what it reaches there (its own grant and the sandbox's `[sandboxes.<name>]` grant).",
        "items": {
            "type": "object",
            "required": ["sandbox", "processes", "granted"],
            "properties": {
                "sandbox": { "type": "string" },
                "processes": { "type": "array", "items": { "type": "string" }, "description": "Pids of its processes in the sandbox." },
                "granted": reach
            }
        }
    });
    for field in ["capabilities", "granted", "sandboxes"] {
        worker["required"]
            .as_array_mut()
            .expect("a list")
            .push(json!(field));
    }
    json!({
        "operationId": "admin_workers", "summary": "The worker components loaded, and what they reach", "tags": ["admin"],
        "description": "Each loaded worker component's live version with what its processes reach of the standard capabilities (outbound HTTP, shared buckets, configuration): outside a sandbox, and in each sandbox where one of them runs now. A secret shows only as set or not set.",
        "responses": {
            "200": ok("The worker components, by name.", json!({ "type": "array", "items": worker }))
        }
    })
}

/// `PUT /api/v1/admin/workers/{name}`.
pub(crate) fn admin_worker_put(_: &Catalog) -> Value {
    json!({
        "operationId": "admin_worker_put", "summary": "Load or replace a worker component", "tags": ["admin"],
        "description": "Processes started or upgraded from now on use it; running ones keep their code until `hot_reload_sandbox` moves them.",
        "parameters": [name_param("The worker's name: 1 to 128 letters, digits, `_`, `-` or `.`.")],
        "requestBody": wasm_body(),
        "responses": {
            "200": ok("Replaced (or sent again unchanged): the version now loaded and the previous one.", worker_swapped()),
            "201": ok("Loaded under a new name.", json!({
                "type": "object", "required": ["live", "previous"],
                "properties": { "live": worker_version(), "previous": { "type": "null" } }
            }))
        }
    })
}

/// `DELETE /api/v1/admin/workers/{name}`.
pub(crate) fn admin_worker_unload(_: &Catalog) -> Value {
    json!({
        "operationId": "admin_worker_unload", "summary": "Unload a worker component", "tags": ["admin"],
        "parameters": [name_param("The worker's name.")],
        "responses": {
            "200": ok("The version unloaded; running processes keep it.", worker_version())
        }
    })
}

/// `GET /api/v1/admin/workers/{name}/versions`.
pub(crate) fn admin_worker_versions(_: &Catalog) -> Value {
    json!({
        "operationId": "admin_worker_versions", "summary": "A worker component's loaded version and the earlier ones kept", "tags": ["admin"],
        "parameters": [name_param("The worker's name.")],
        "responses": {
            "200": ok(
                "Versions, the loaded one first; for an unloaded name (`loaded` false), the version `restore` brings back.",
                versions(worker_version())
            )
        }
    })
}

/// `POST /api/v1/admin/workers/{name}/rollback`.
pub(crate) fn admin_worker_rollback(_: &Catalog) -> Value {
    json!({
        "operationId": "admin_worker_rollback", "summary": "Return a worker component to its previous version", "tags": ["admin"],
        "parameters": [name_param("The worker's name.")],
        "responses": {
            "200": ok("The version now loaded and the one it replaced.", worker_swapped())
        }
    })
}

/// `POST /api/v1/admin/workers/{name}/restore`.
pub(crate) fn admin_worker_restore(_: &Catalog) -> Value {
    json!({
        "operationId": "admin_worker_restore", "summary": "Make an unloaded worker component live again at the version it has on its own", "tags": ["admin"],
        "description": "For a worker loaded from a configured directory (`--workers`) that was unloaded: processes can start on it again, and it stays loaded across restarts. `versions` lists the version this brings back while the name is unloaded.",
        "parameters": [name_param("The worker's name.")],
        "responses": {
            "200": ok("The version now loaded.", worker_version())
        }
    })
}

/// `POST /api/v1/batch` (see `http::batch` for the behaviour).
pub(crate) fn batch(_: &Catalog) -> Value {
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
    json!({
        "operationId": "batch",
        "summary": format!("Run up to {MAX_CALLS} calls in one request"),
        "description": "Each call goes through the same routing, validation, limits and error shape as a request of its own, at most `concurrency` at a time (never more than the instance pool); results come back in request order and the batch answers 200 whatever its calls answered. A call of this endpoint answers 422 `nested_batch`; with `stop_on_error`, calls not started after a failure answer 424 `skipped`.",
        "tags": ["host"],
        "requestBody": { "required": true, "content": { "application/json": { "schema": {
            "type": "object",
            "required": ["calls"],
            "additionalProperties": false,
            "properties": {
                "calls": { "type": "array", "minItems": 1, "maxItems": MAX_CALLS, "items": call },
                "concurrency": { "type": "integer", "minimum": 1, "maximum": MAX_CONCURRENCY, "default": DEFAULT_CONCURRENCY },
                "stop_on_error": { "type": "boolean", "default": false, "description": "Start no further calls once one fails." }
            }
        } } } },
        "responses": {
            "200": ok("Every call's answer, in request order.", json!({
                "type": "object",
                "required": ["results", "succeeded", "failed", "skipped"],
                "properties": {
                    "results": { "type": "array", "items": result },
                    "succeeded": { "type": "integer", "description": "Calls answered below 400." },
                    "failed": { "type": "integer", "description": "Calls answered 400 or above." },
                    "skipped": { "type": "integer", "description": "Calls not run under `stop_on_error`." }
                }
            }))
        }
    })
}

/// `GET /`.
pub(crate) fn console_page(_: &Catalog) -> Value {
    json!({
        "operationId": "console_page", "summary": "The web console's page", "tags": ["console"],
        "parameters": [if_none_match()],
        "responses": {
            "200": { "description": "The page.", "headers": asset_headers(), "content": { "text/html": { "schema": { "type": "string" } } } },
            "304": { "description": "The page has not changed since the `ETag` sent in `If-None-Match`.", "headers": asset_headers() }
        }
    })
}

/// `GET /console/{file}`.
pub(crate) fn console_asset(_: &Catalog) -> Value {
    let text = json!({ "schema": { "type": "string" } });
    json!({
        "operationId": "console_asset", "summary": "A script, style sheet or page of the web console", "tags": ["console"],
        "parameters": [
            { "name": "file", "in": "path", "required": true, "description": "The file's name, as the page refers to it.", "schema": { "type": "string" } },
            if_none_match()
        ],
        "responses": {
            "200": {
                "description": "The file.",
                "headers": asset_headers(),
                "content": { "text/html": text, "text/css": text, "text/javascript": text }
            },
            "304": { "description": "The file has not changed since the `ETag` sent in `If-None-Match`.", "headers": asset_headers() }
        }
    })
}

fn if_none_match() -> Value {
    json!({ "name": "If-None-Match", "in": "header", "required": false, "description": "The `ETag` of a copy the client holds.", "schema": { "type": "string" } })
}

fn asset_headers() -> Value {
    json!({ "ETag": { "required": true, "schema": { "type": "string" } } })
}

/// A `{name}` path parameter.
fn name_param(description: &str) -> Value {
    json!({ "name": "name", "in": "path", "required": true, "description": description, "schema": { "type": "string" } })
}

fn role() -> Value {
    json!({ "type": "string", "enum": ["viewer", "operator", "admin"] })
}

/// The query declaring a `wasi:http` handler's route (`http::admin::RouteQuery`), with
/// `name` where the path does not give it.
fn route_query(with_name: bool) -> Vec<Value> {
    let text = |name: &str, description: &str| json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": "string" } });
    let mut params = Vec::new();
    if with_name {
        params.push(text(
            "name",
            "A wasi:http handler's operation name (snake_case).",
        ));
    }
    params.extend([
        text("method", "A wasi:http handler's method: GET, POST, PUT, PATCH or DELETE."),
        text("path", "A wasi:http handler's path template, `:name` for a parameter segment."),
        text("version", "Its version (semver); default 0.1.0."),
        text("category", "Its catalogue category; default `http`."),
        text("summary", "One line for listings."),
        text("description", "Longer documentation."),
        text("params", "Its path and query parameters as a JSON array of `{\"name\", \"in\", \"type\", \"required\", \"default\", \"minimum\", ...}`."),
        json!({ "name": "additional_params", "in": "query", "required": false, "description": "Let query parameters beyond the declared ones through (default true).", "schema": { "type": "boolean" } }),
    ]);
    params
}

fn wasm_body() -> Value {
    json!({ "required": true, "content": { "application/wasm": { "schema": { "type": "string", "format": "binary" } } } })
}

/// A version of an operation as the admin API shows it (`http::admin::version`).
fn operation_version() -> Value {
    let text = json!({ "type": "string" });
    json!({
        "type": "object",
        "required": ["name", "version", "revision", "live", "method", "path", "capabilities", "source", "content_hash"],
        "properties": {
            "name": text, "version": text, "revision": text,
            "live": { "type": "boolean" },
            "method": text, "path": text,
            "capabilities": { "type": "array", "items": text },
            "source": text, "content_hash": text
        }
    })
}

/// A version of a worker component as the admin API shows it.
fn worker_version() -> Value {
    let text = json!({ "type": "string" });
    json!({
        "type": "object",
        "required": ["name", "version", "revision", "live", "stateful", "uses_filesystem", "source", "content_hash"],
        "properties": {
            "name": text, "version": text, "revision": text,
            "live": { "type": "boolean" },
            "stateful": { "type": "boolean" },
            "uses_filesystem": { "type": "boolean" },
            "source": text, "content_hash": text
        }
    })
}

fn worker_swapped() -> Value {
    json!({
        "type": "object", "required": ["live", "previous"],
        "properties": { "live": worker_version(), "previous": worker_version() }
    })
}

fn swapped() -> Value {
    json!({
        "type": "object", "required": ["live", "previous"],
        "properties": { "live": operation_version(), "previous": operation_version() }
    })
}

fn versions(version: Value) -> Value {
    json!({
        "type": "object", "required": ["name", "loaded", "versions"],
        "properties": {
            "name": { "type": "string" },
            "loaded": { "type": "boolean", "description": "False for a name unloaded that `restore` can bring back." },
            "versions": { "type": "array", "items": version }
        }
    })
}
