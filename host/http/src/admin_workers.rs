//! The admin API for worker components (the code sandboxes and processes run): upload or
//! replace one under a name (`PUT`), list its versions, roll back, unload. Processes keep
//! the code they run; a sandbox moves to a new version with `hot_reload_sandbox`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

use super::admin::{Live, component, keep, noted, versions_answer};
use super::cluster;
use super::error::{ApiError, ErrorCode};
use arsenal_core::cluster::{Changed, ComponentKind, LiveChange};
use arsenal_core::host::Host;
use arsenal_core::policy::Source;
use arsenal_core::runtime::{Loaded, WorkerCode, WorkerError};
use arsenal_core::uploads::Change;

fn shown(code: &WorkerCode, live: bool) -> Value {
    json!({
        "name": code.name(),
        "version": code.version(),
        "stateful": code.is_stateful(),
        "uses_filesystem": code.uses_filesystem(),
        "live": live,
    })
}

fn not_loaded(name: &str) -> Response {
    ApiError::new(
        ErrorCode::WorkerNotFound,
        format!("no worker named `{name}` is loaded"),
    )
    .into_response()
}

/// `PUT /api/v1/admin/workers/{name}`: load or replace a worker.
pub(crate) async fn put(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let bytes = match component(&host, request).await {
        Ok(bytes) => bytes,
        Err(error) => return error.into_response(),
    };
    if !arsenal_core::runtime::is_valid_name(&name, 128) {
        return ApiError::new(
            ErrorCode::ValidationError,
            format!("`{name}` is not a worker name: use 1 to 128 letters, digits, `_`, `-` or `.`"),
        )
        .into_response();
    }
    let prepared = host.workers().prepare(&name, &bytes, Source::Upload).await;
    let _turn = host.admin_turn().await;
    if let Some(refused) = cluster::admits_changes(&host) {
        return noted(refused, Some(&name), None, Some(&bytes));
    }
    let (response, live) = match prepared.map(|code| host.workers().install(code)) {
        Ok(Loaded { code, previous }) => {
            let changed = match previous {
                Some(_) => Changed::Replaced,
                None => Changed::Loaded,
            };
            let shared = LiveChange {
                kind: ComponentKind::Worker,
                name: &name,
                changed,
                content_hash: Some(code.content_hash()),
                bytes: Some(&bytes),
            };
            if let Some(refused) = cluster::share(&host, shared).await {
                return noted(
                    refused,
                    Some(&name),
                    Some(live_version(&code)),
                    Some(&bytes),
                );
            }
            let change = Change::WorkerLoaded(&code, previous.as_deref(), &bytes);
            let response = keep(&host, change).unwrap_or_else(|| {
                let status = if previous.is_some() {
                    StatusCode::OK
                } else {
                    StatusCode::CREATED
                };
                let previous = previous.map(|previous| shown(&previous, false));
                let data = json!({ "data": { "live": shown(&code, true), "previous": previous } });
                (status, Json(data)).into_response()
            });
            (response, Some(code))
        }
        Err(error) => (refusal(error).into_response(), None),
    };
    noted(
        response,
        Some(&name),
        live.as_deref().map(live_version),
        Some(&bytes),
    )
}

/// A worker's version is the start of its content hash, and so its revision too.
fn live_version(code: &WorkerCode) -> Live<'_> {
    Live {
        version: code.version(),
        revision: code.version(),
        content_hash: code.content_hash(),
    }
}

/// Why a worker component was not loaded, as the one error format says it.
fn refusal(error: WorkerError) -> ApiError {
    let message = error.to_string();
    match error {
        WorkerError::UnsupportedImports(_) => ApiError::new(ErrorCode::UnsupportedImports, message),
        WorkerError::UnsupportedContract { found } => {
            ApiError::new(ErrorCode::UnsupportedContractVersion, message).with_details(json!({
                "found": found,
                "supported": [arsenal_core::runtime::supported_worker_contract()],
            }))
        }
        WorkerError::CompileTimeout(_) => ApiError::new(ErrorCode::CompileTimeout, message),
        WorkerError::Compiler(_) => {
            tracing::error!(error = %message, "the compiler failed");
            ApiError::new(ErrorCode::CompilerUnavailable, message)
        }
        _ => ApiError::new(ErrorCode::InvalidComponent, message),
    }
}

/// `GET /api/v1/admin/workers/{name}/versions`.
pub(crate) async fn versions(State(host): State<Arc<Host>>, Path(name): Path<String>) -> Response {
    match host.workers().versions(&name) {
        Some(versions) => versions_answer(&name, &versions, |code| &**code, shown),
        None => not_loaded(&name),
    }
}

/// `POST /api/v1/admin/workers/{name}/rollback`.
pub(crate) async fn rollback(State(host): State<Arc<Host>>, Path(name): Path<String>) -> Response {
    let _turn = host.admin_turn().await;
    if let Some(refused) = cluster::admits_changes(&host) {
        return noted(refused, Some(&name), None, None);
    }
    if host.workers().get(&name).is_none() {
        return not_loaded(&name);
    }
    match host.workers().rollback(&name) {
        Some(code) => {
            let shared = LiveChange {
                kind: ComponentKind::Worker,
                name: &name,
                changed: Changed::RolledBack,
                content_hash: Some(code.content_hash()),
                bytes: None,
            };
            if let Some(refused) = cluster::share(&host, shared).await {
                return noted(refused, Some(&name), Some(live_version(&code)), None);
            }
            let response = keep(&host, Change::WorkerRolledBack(&code)).unwrap_or_else(|| {
                Json(json!({ "data": { "live": shown(&code, true) } })).into_response()
            });
            noted(response, Some(&name), Some(live_version(&code)), None)
        }
        None => ApiError::new(
            ErrorCode::NoEarlierVersion,
            format!("worker `{name}` has no earlier version to roll back to"),
        )
        .into_response(),
    }
}

/// `DELETE /api/v1/admin/workers/{name}`.
pub(crate) async fn unload(State(host): State<Arc<Host>>, Path(name): Path<String>) -> Response {
    let _turn = host.admin_turn().await;
    if let Some(refused) = cluster::admits_changes(&host) {
        return noted(refused, Some(&name), None, None);
    }
    match host.workers().unload(&name) {
        Some(code) => {
            let shared = LiveChange {
                kind: ComponentKind::Worker,
                name: &name,
                changed: Changed::Unloaded,
                content_hash: None,
                bytes: None,
            };
            let response = match cluster::share(&host, shared).await {
                Some(refused) => refused,
                None => keep(&host, Change::WorkerRemoved(&name)).unwrap_or_else(|| {
                    Json(json!({ "data": shown(&code, false) })).into_response()
                }),
            };
            noted(response, Some(&name), None, None)
        }
        None => not_loaded(&name),
    }
}
