//! The host's own endpoints, declared once: method, path, the body each reads, the error
//! codes its handler answers, how it is served and how the OpenAPI document describes it.
//! The router serves exactly this table, and the document describes exactly this table
//! plus the catalogue's operations.
//!
//! What an endpoint can answer is its handler's codes plus those of the layers every
//! request passes, added here by construction from the path and method — the gate
//! authentication keeps ([`auth::gate`]), whether the audit log records it
//! ([`audit::audited`]), the body it reads, the edge's caps, load shedding and request
//! bound, and the node selector — so every status an endpoint can answer is in the
//! document.

pub(crate) mod pages;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::routing::{MethodFilter, MethodRouter, on};
use http::Method;
use serde_json::Value;

use super::admin::{Operations, Workers};
use super::auth::Gate;
use super::error::ErrorCode;
use super::{
    admin, audit, audit_log, auth, batch, catalog, console, dispatch, events, telemetry, whoami,
};
use arsenal_core::host::Host;
use arsenal_core::registry::Catalog;

/// The request body an endpoint reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reads {
    Nothing,
    /// A JSON object within `server.max_body_bytes`.
    Json,
    /// An `application/wasm` component within `server.max_upload_bytes`.
    Wasm,
}

/// The states a router's handlers are given. The router that a batch's calls and an event
/// stream's reads go through has neither batches nor events.
pub(crate) struct Handlers {
    pub(crate) host: Arc<Host>,
    pub(crate) batches: Option<batch::Batches>,
    pub(crate) events: Option<events::Events>,
}

/// The handler of an endpoint, for its method; `None` where the router does not serve it.
type Serve = fn(MethodFilter, &Handlers) -> Option<MethodRouter<Arc<Host>>>;

/// One endpoint of the host.
pub(crate) struct Endpoint {
    pub(crate) method: Method,
    /// In the router's and OpenAPI's syntax: `/api/v1/operations/{name}`.
    pub(crate) path: &'static str,
    pub(crate) reads: Reads,
    /// The codes the handler itself answers.
    pub(crate) errors: &'static [ErrorCode],
    /// Whether an operation's own codes may stand in for the codes of their kind (the
    /// handler calls operations).
    pub(crate) calls_operations: bool,
    pub(crate) serve: Serve,
    /// Its operation object in the OpenAPI document, without the error answers (added
    /// from [`Endpoint::answers`]).
    pub(crate) page: fn(&Catalog) -> Value,
}

use ErrorCode::*;

/// Every endpoint of the host, in the order the document lists them.
pub(crate) static ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: Method::GET,
        path: "/api/v1/health",
        reads: Reads::Nothing,
        errors: &[],
        calls_operations: false,
        serve: |method, _| Some(on(method, catalog::health)),
        page: pages::health,
    },
    Endpoint {
        method: Method::GET,
        path: "/api/v1/openapi.json",
        reads: Reads::Nothing,
        errors: &[],
        calls_operations: false,
        serve: |method, _| Some(on(method, catalog::openapi)),
        page: pages::openapi,
    },
    Endpoint {
        method: Method::GET,
        path: "/api/v1/operations",
        reads: Reads::Nothing,
        errors: &[ValidationError],
        calls_operations: false,
        serve: |method, _| Some(on(method, catalog::list)),
        page: pages::list_operations,
    },
    Endpoint {
        method: Method::GET,
        path: "/api/v1/operations/{name}",
        reads: Reads::Nothing,
        errors: &[OperationNotFound],
        calls_operations: false,
        serve: |method, _| Some(on(method, catalog::describe)),
        page: pages::describe_operation,
    },
    Endpoint {
        method: Method::POST,
        path: "/api/v1/operations/{name}/execute",
        reads: Reads::Json,
        errors: OPERATION_CALL,
        calls_operations: true,
        serve: |method, _| Some(on(method, dispatch::by_name)),
        page: pages::execute_operation,
    },
    Endpoint {
        method: Method::POST,
        path: batch::PATH,
        reads: Reads::Json,
        errors: &[BatchTooLarge, ValidationError],
        calls_operations: false,
        serve: |method, handlers| {
            let batches = handlers.batches.clone()?;
            Some(on(method, batch::handle).with_state(batches))
        },
        page: pages::batch,
    },
    Endpoint {
        method: Method::GET,
        path: "/api/v1/operations/{name}/stats",
        reads: Reads::Nothing,
        errors: &[OperationNotFound],
        calls_operations: false,
        serve: |method, _| Some(on(method, telemetry::stats)),
        page: pages::operation_stats,
    },
    Endpoint {
        method: Method::GET,
        path: "/api/v1/operations/{name}/health",
        reads: Reads::Nothing,
        errors: &[OperationNotFound],
        calls_operations: false,
        serve: |method, _| Some(on(method, telemetry::health)),
        page: pages::operation_health,
    },
    Endpoint {
        method: Method::GET,
        path: "/metrics",
        reads: Reads::Nothing,
        errors: &[],
        calls_operations: false,
        serve: |method, _| Some(on(method, telemetry::metrics)),
        page: pages::metrics,
    },
    Endpoint {
        method: Method::GET,
        path: whoami::PATH,
        reads: Reads::Nothing,
        errors: &[],
        calls_operations: false,
        serve: |method, _| Some(on(method, whoami::whoami)),
        page: pages::whoami,
    },
    Endpoint {
        method: Method::GET,
        path: events::PATH,
        reads: Reads::Nothing,
        errors: &[TooManyStreams, ShuttingDown],
        calls_operations: false,
        serve: |method, handlers| {
            let events = handlers.events.clone()?;
            Some(on(method, events::stream).with_state(events))
        },
        page: pages::events,
    },
    Endpoint {
        method: Method::GET,
        path: audit_log::PATH,
        reads: Reads::Nothing,
        // The log is an admin's to read: authentication gates it like the admin API.
        errors: &[ValidationError, AuditUnavailable],
        calls_operations: false,
        serve: |method, _| Some(on(method, audit_log::query)),
        page: pages::audit_log,
    },
    Endpoint {
        method: Method::POST,
        path: "/api/v1/admin/operations",
        reads: Reads::Wasm,
        errors: &[
            OperationExists,
            RouteConflict,
            OperationDisabled,
            InvalidComponent,
            UnsupportedContractVersion,
            UnsupportedImports,
            InvalidConfig,
            CompileTimeout,
            CompilerUnavailable,
            ClusterConflict,
            ClusterUnavailable,
            StateNotSaved,
        ],
        calls_operations: false,
        serve: |method, _| Some(on(method, admin::upload)),
        page: pages::admin_upload,
    },
    Endpoint {
        method: Method::PUT,
        path: "/api/v1/admin/operations/{name}",
        reads: Reads::Wasm,
        errors: &[
            OperationNotFound,
            RouteConflict,
            NameMismatch,
            OperationDisabled,
            InvalidComponent,
            UnsupportedContractVersion,
            UnsupportedImports,
            InvalidConfig,
            CompileTimeout,
            CompilerUnavailable,
            ClusterConflict,
            ClusterUnavailable,
            StateNotSaved,
        ],
        calls_operations: false,
        serve: |method, _| Some(on(method, admin::put::<Operations>)),
        page: pages::admin_replace,
    },
    Endpoint {
        method: Method::DELETE,
        path: "/api/v1/admin/operations/{name}",
        reads: Reads::Nothing,
        errors: &[
            OperationNotFound,
            ClusterConflict,
            ClusterUnavailable,
            StateNotSaved,
        ],
        calls_operations: false,
        serve: |method, _| Some(on(method, admin::unload::<Operations>)),
        page: pages::admin_unload,
    },
    Endpoint {
        method: Method::GET,
        path: "/api/v1/admin/operations/{name}/versions",
        reads: Reads::Nothing,
        errors: &[OperationNotFound],
        calls_operations: false,
        serve: |method, _| Some(on(method, admin::versions::<Operations>)),
        page: pages::admin_versions,
    },
    Endpoint {
        method: Method::POST,
        path: "/api/v1/admin/operations/{name}/rollback",
        reads: Reads::Nothing,
        errors: &[
            OperationNotFound,
            NoEarlierVersion,
            RouteConflict,
            ClusterConflict,
            ClusterUnavailable,
            StateNotSaved,
        ],
        calls_operations: false,
        serve: |method, _| Some(on(method, admin::rollback::<Operations>)),
        page: pages::admin_rollback,
    },
    Endpoint {
        method: Method::POST,
        path: "/api/v1/admin/operations/{name}/restore",
        reads: Reads::Nothing,
        errors: &[
            NothingToRestore,
            OperationExists,
            RouteConflict,
            ClusterConflict,
            ClusterUnavailable,
            StateNotSaved,
        ],
        calls_operations: false,
        serve: |method, _| Some(on(method, admin::restore::<Operations>)),
        page: pages::admin_restore,
    },
    Endpoint {
        method: Method::PUT,
        path: "/api/v1/admin/workers/{name}",
        reads: Reads::Wasm,
        errors: &[
            ValidationError,
            InvalidComponent,
            UnsupportedContractVersion,
            UnsupportedImports,
            CompileTimeout,
            CompilerUnavailable,
            ClusterConflict,
            ClusterUnavailable,
            StateNotSaved,
        ],
        calls_operations: false,
        serve: |method, _| Some(on(method, admin::put::<Workers>)),
        page: pages::admin_worker_put,
    },
    Endpoint {
        method: Method::DELETE,
        path: "/api/v1/admin/workers/{name}",
        reads: Reads::Nothing,
        errors: &[
            WorkerNotFound,
            ClusterConflict,
            ClusterUnavailable,
            StateNotSaved,
        ],
        calls_operations: false,
        serve: |method, _| Some(on(method, admin::unload::<Workers>)),
        page: pages::admin_worker_unload,
    },
    Endpoint {
        method: Method::GET,
        path: "/api/v1/admin/workers/{name}/versions",
        reads: Reads::Nothing,
        errors: &[WorkerNotFound],
        calls_operations: false,
        serve: |method, _| Some(on(method, admin::versions::<Workers>)),
        page: pages::admin_worker_versions,
    },
    Endpoint {
        method: Method::POST,
        path: "/api/v1/admin/workers/{name}/rollback",
        reads: Reads::Nothing,
        errors: &[
            WorkerNotFound,
            NoEarlierVersion,
            ClusterConflict,
            ClusterUnavailable,
            StateNotSaved,
        ],
        calls_operations: false,
        serve: |method, _| Some(on(method, admin::rollback::<Workers>)),
        page: pages::admin_worker_rollback,
    },
    Endpoint {
        method: Method::POST,
        path: "/api/v1/admin/workers/{name}/restore",
        reads: Reads::Nothing,
        errors: &[
            NothingToRestore,
            WorkerExists,
            ClusterConflict,
            ClusterUnavailable,
            StateNotSaved,
        ],
        calls_operations: false,
        serve: |method, _| Some(on(method, admin::restore::<Workers>)),
        page: pages::admin_worker_restore,
    },
    Endpoint {
        method: Method::GET,
        path: "/",
        reads: Reads::Nothing,
        errors: &[],
        calls_operations: false,
        serve: |method, _| Some(on(method, console::page)),
        page: pages::console_page,
    },
    Endpoint {
        method: Method::GET,
        path: "/console/{file}",
        reads: Reads::Nothing,
        errors: &[NotFound],
        calls_operations: false,
        serve: |method, _| Some(on(method, console::asset)),
        page: pages::console_asset,
    },
];

/// What an operation call can answer once it is routed: the operation gone meanwhile,
/// its parameters refused, its caller refused, and every way a call can fail, with the
/// codes of the kinds an operation answers itself.
const OPERATION_CALL: &[ErrorCode] = &[
    // The operation unloaded since: gone (404), or gone from a path another operation
    // still serves with another method (405).
    OperationNotFound,
    MethodNotAllowed,
    ValidationError,
    // Its role and its per-operation rate limit, checked before the call.
    Unauthenticated,
    Forbidden,
    RateLimited,
    // The call.
    CapabilityDenied,
    OperationTimeout,
    ResourceExhausted,
    OperationCrashed,
    VersionRetired,
    Overloaded,
    ResponseTooLarge,
    InvalidResponse,
    // The kinds of an operation's own answers.
    InvalidParams,
    NotFound,
    Conflict,
    Unavailable,
    Timeout,
    Internal,
];

/// The codes one endpoint can answer, by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answers {
    pub(crate) codes: BTreeSet<ErrorCode>,
    /// Whether an operation's own codes may stand in for the codes of their kind.
    pub(crate) operation_codes: bool,
}

impl Answers {
    /// Every code of the layers a request of `method` to `path` passes, a body of `reads`
    /// read, and `own` codes.
    fn of(method: &Method, path: &str, reads: Reads, own: &[ErrorCode]) -> Answers {
        let mut codes: BTreeSet<ErrorCode> = own.iter().copied().collect();
        // The edge (`hardening`): header caps, load shedding, the request bound; and a
        // panic caught.
        codes.extend([HeadersTooLarge, Overloaded, RequestTimeout, InternalError]);
        // The node selector (`cluster`): an unreadable `x-arsenal-node`, an unknown or
        // unavailable node, a body too large to forward.
        codes.extend([
            MalformedRequest,
            NodeNotFound,
            NodeUnavailable,
            PayloadTooLarge,
        ]);
        let gate = auth::gate(path);
        if gate != Gate::Open {
            codes.extend([Unauthenticated, RateLimited]);
            if audit::audited(method, path) {
                codes.insert(AuditUnavailable);
            }
        }
        if gate == Gate::Admin {
            codes.insert(Forbidden);
        }
        match reads {
            Reads::Nothing => {}
            Reads::Json => codes.extend([MalformedRequest, PayloadTooLarge]),
            Reads::Wasm => codes.extend([UnsupportedMediaType, PayloadTooLarge]),
        }
        if path.contains('{') {
            // A path parameter that is not valid UTF-8 once percent-decoded.
            codes.insert(MalformedRequest);
        }
        Answers {
            codes,
            operation_codes: false,
        }
    }

    /// The error codes, grouped by status, in status order.
    pub(crate) fn by_status(&self) -> Vec<(http::StatusCode, Vec<ErrorCode>)> {
        let mut grouped: Vec<(http::StatusCode, Vec<ErrorCode>)> = Vec::new();
        for code in &self.codes {
            match grouped.last_mut() {
                Some((status, codes)) if *status == code.status() => codes.push(*code),
                _ => grouped.push((code.status(), vec![*code])),
            }
        }
        grouped.sort_by_key(|(status, _)| *status);
        grouped
    }
}

impl Endpoint {
    /// Every code this endpoint can answer.
    pub(crate) fn answers(&self) -> Answers {
        Answers {
            operation_codes: self.calls_operations,
            ..Answers::of(&self.method, self.path, self.reads, self.errors)
        }
    }

    /// The method filter the router serves it under.
    fn filter(&self) -> MethodFilter {
        MethodFilter::try_from(self.method.clone())
            .unwrap_or_else(|_| unreachable!("{} is a method axum routes", self.method))
    }

    /// Whether this endpoint's path template matches `path`.
    fn matches(&self, path: &str) -> bool {
        let mut template = self.path.split('/');
        let mut actual = path.split('/');
        loop {
            match (template.next(), actual.next()) {
                (None, None) => return true,
                (Some(expected), Some(segment)) => {
                    let is_param = expected.starts_with('{') && expected.ends_with('}');
                    if !(is_param && !segment.is_empty() || expected == segment) {
                        return false;
                    }
                }
                _ => return false,
            }
        }
    }
}

/// What a call of a catalogued operation declared with `method` at `path` can answer.
pub(crate) fn operation_answers(method: &Method, path: &str) -> Answers {
    Answers {
        operation_codes: true,
        // Every call reads its body as a JSON object, whatever its method.
        ..Answers::of(method, path, Reads::Json, OPERATION_CALL)
    }
}

/// The router of every endpoint `handlers` can serve, each under its method.
pub(crate) fn routes(handlers: &Handlers) -> axum::Router<Arc<Host>> {
    ENDPOINTS
        .iter()
        .filter_map(|endpoint| {
            (endpoint.serve)(endpoint.filter(), handlers).map(|served| (endpoint.path, served))
        })
        .fold(axum::Router::new(), |router, (path, served)| {
            router.route(path, served)
        })
}

/// The methods served at `path`, for the `Allow` of a 405.
pub(crate) fn allowed(path: &str) -> Vec<Method> {
    ENDPOINTS
        .iter()
        .filter(|endpoint| endpoint.matches(path))
        .map(|endpoint| endpoint.method.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_method_and_path_is_declared_once() {
        let mut seen = BTreeSet::new();
        for endpoint in ENDPOINTS {
            assert!(
                seen.insert((endpoint.method.to_string(), endpoint.path)),
                "{} {} twice",
                endpoint.method,
                endpoint.path
            );
        }
    }

    #[test]
    fn the_layers_codes_are_added_by_construction() {
        let find = |method: Method, path: &str| {
            ENDPOINTS
                .iter()
                .find(|endpoint| endpoint.method == method && endpoint.path == path)
                .unwrap_or_else(|| panic!("no {method} {path}"))
                .answers()
                .codes
        };
        let health = find(Method::GET, "/api/v1/health");
        assert!(health.contains(&HeadersTooLarge) && health.contains(&Overloaded));
        assert!(!health.contains(&Unauthenticated), "health is open");
        let whoami = find(Method::GET, whoami::PATH);
        assert!(whoami.contains(&Unauthenticated) && whoami.contains(&RateLimited));
        assert!(!whoami.contains(&Forbidden), "any caller may ask who it is");
        let unload = find(Method::DELETE, "/api/v1/admin/operations/{name}");
        for code in [Unauthenticated, Forbidden, RateLimited, AuditUnavailable] {
            assert!(unload.contains(&code), "{code}");
        }
        let upload = find(Method::POST, "/api/v1/admin/operations");
        assert!(upload.contains(&UnsupportedMediaType) && upload.contains(&PayloadTooLarge));
    }

    #[test]
    fn allowed_methods_come_from_the_table() {
        assert_eq!(
            allowed("/api/v1/admin/operations/echo"),
            [Method::PUT, Method::DELETE]
        );
        assert_eq!(allowed("/api/v1/admin/operations"), [Method::POST]);
        assert_eq!(allowed("/api/v1/operations/echo/execute"), [Method::POST]);
        assert!(allowed("/api/v1/nothing").is_empty());
    }
}
