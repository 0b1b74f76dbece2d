//! The admin API for worker components (the code sandboxes and processes run): upload or
//! replace one under a name (`PUT`), list its versions, roll back, unload. Processes keep
//! the code they run; a sandbox moves to a new version with `hot_reload_sandbox`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use serde_json::{Value, json};

use super::admin::{Live, keep, noted, versions_answer};
use super::audit::AuditDetails;
use super::cluster;
use super::error::{ApiError, ErrorCode};
use super::extract::{Component, Path};
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

fn not_loaded(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::WorkerNotFound,
        format!("no worker named `{name}` is loaded"),
    )
}

/// `PUT /api/v1/admin/workers/{name}`: load or replace a worker.
pub(crate) async fn put(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
    Component(bytes): Component,
) -> (AuditDetails, Result<(StatusCode, Json<Value>), ApiError>) {
    if !arsenal_core::runtime::is_valid_name(&name, 128) {
        let refused = ApiError::new(
            ErrorCode::ValidationError,
            format!("`{name}` is not a worker name: use 1 to 128 letters, digits, `_`, `-` or `.`"),
        );
        return (AuditDetails::default(), Err(refused));
    }
    let mut live = None;
    let answer = async {
        let prepared = host.workers().prepare(&name, &bytes, Source::Upload).await;
        let _turn = host.admin_turn().await;
        cluster::admits_changes(&host)?;
        let Loaded { code, previous } = host.workers().install(prepared.map_err(refusal)?);
        live = Some(code.clone());
        let shared = LiveChange {
            kind: ComponentKind::Worker,
            name: &name,
            changed: match previous {
                Some(_) => Changed::Replaced,
                None => Changed::Loaded,
            },
            content_hash: Some(code.content_hash()),
            bytes: Some(&bytes),
        };
        cluster::share(&host, shared).await?;
        keep(
            &host,
            Change::WorkerLoaded(&code, previous.as_deref(), &bytes),
        )?;
        let status = match previous {
            Some(_) => StatusCode::OK,
            None => StatusCode::CREATED,
        };
        let previous = previous.map(|previous| shown(&previous, false));
        let data = json!({ "data": { "live": shown(&code, true), "previous": previous } });
        Ok((status, Json(data)))
    }
    .await;
    let details = noted(Some(&name), live.as_deref().map(live_version), Some(&bytes));
    (details, answer)
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
pub(crate) async fn versions(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let versions = host
        .workers()
        .versions(&name)
        .ok_or_else(|| not_loaded(&name))?;
    Ok(versions_answer(&name, &versions, |code| &**code, shown))
}

/// `POST /api/v1/admin/workers/{name}/rollback`.
pub(crate) async fn rollback(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
) -> (AuditDetails, Result<Json<Value>, ApiError>) {
    let mut live = None;
    let answer = async {
        let _turn = host.admin_turn().await;
        cluster::admits_changes(&host)?;
        if host.workers().get(&name).is_none() {
            return Err(not_loaded(&name));
        }
        let code = host.workers().rollback(&name).ok_or_else(|| {
            ApiError::new(
                ErrorCode::NoEarlierVersion,
                format!("worker `{name}` has no earlier version to roll back to"),
            )
        })?;
        live = Some(code.clone());
        let shared = LiveChange {
            kind: ComponentKind::Worker,
            name: &name,
            changed: Changed::RolledBack,
            content_hash: Some(code.content_hash()),
            bytes: None,
        };
        cluster::share(&host, shared).await?;
        keep(&host, Change::WorkerRolledBack(&code))?;
        Ok(Json(json!({ "data": { "live": shown(&code, true) } })))
    }
    .await;
    let details = noted(Some(&name), live.as_deref().map(live_version), None);
    (details, answer)
}

/// `DELETE /api/v1/admin/workers/{name}`.
pub(crate) async fn unload(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
) -> (AuditDetails, Result<Json<Value>, ApiError>) {
    let answer = async {
        let _turn = host.admin_turn().await;
        cluster::admits_changes(&host)?;
        let code = host
            .workers()
            .unload(&name)
            .ok_or_else(|| not_loaded(&name))?;
        let shared = LiveChange {
            kind: ComponentKind::Worker,
            name: &name,
            changed: Changed::Unloaded,
            content_hash: None,
            bytes: None,
        };
        cluster::share(&host, shared).await?;
        keep(&host, Change::WorkerRemoved(&name))?;
        Ok(Json(json!({ "data": shown(&code, false) })))
    }
    .await;
    (noted(Some(&name), None, None), answer)
}
