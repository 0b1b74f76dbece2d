//! The host's own endpoints, declared once (each an [`Endpoint`]): method, path, the body
//! each reads, the error codes its handler answers, how it is served and how the OpenAPI
//! document describes it. The router serves exactly this table, and the document
//! describes exactly this table plus the catalogue's operations — `GET
//! /api/v1/openapi.json` included, served here since the table documents itself.

pub(crate) mod pages;

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::routing::on;
use http::Method;
use serde_json::Value;

use crate::admin::{Operations, Workers};
use crate::endpoint::{Endpoint, Handlers, OPERATION_CALL, Reads};
use crate::error::ErrorCode;
use crate::{
    admin, audit_log, batch, catalog, console, dispatch, events, openapi, telemetry, whoami,
    workers,
};
use arsenal_core::auth::Access;
use arsenal_core::host::Host;
use arsenal_core::registry::Catalog;

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
        serve: |method, _| Some(on(method, openapi_json)),
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
            ValidationError,
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
            ValidationError,
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
        method: Method::GET,
        path: "/api/v1/admin/workers",
        reads: Reads::Nothing,
        errors: &[],
        calls_operations: false,
        serve: |method, _| Some(on(method, workers::list)),
        page: pages::admin_workers,
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

/// The OpenAPI document of this table and the catalogue `catalog`; `access` says which
/// role each operation needs.
pub fn openapi_document(catalog: &Catalog, access: &Access) -> Value {
    openapi::document(catalog, access, ENDPOINTS)
}

/// `GET /api/v1/openapi.json`: the table documents itself.
async fn openapi_json(State(host): State<Arc<Host>>) -> Json<Value> {
    Json(openapi_document(&host.registry().snapshot(), host.access()))
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
    use std::collections::BTreeSet;

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
