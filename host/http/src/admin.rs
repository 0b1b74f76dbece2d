//! The admin API for operations: upload a component (`POST`), replace it with a new
//! version (`PUT`), unload it (`DELETE`), list its versions, roll back, and restore an
//! unloaded one to the version it has on its own (built in or from a directory). Uploads are
//! `application/wasm` bodies up to `server.max_upload_bytes`; a bad one changes nothing
//! and says why with the load error's code.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use serde_json::{Value, json};

use super::audit::AuditDetails;
use super::cluster;
use super::error::{ApiError, ErrorCode};
use super::extract::{Component, Path};
use arsenal_core::cache::content_hash;
use arsenal_core::cluster::{Changed, ComponentKind, LiveChange};
use arsenal_core::host::Host;
use arsenal_core::loader::LoadedOperation;
use arsenal_core::policy::Source;
use arsenal_core::registry::{Added, Swapped, revision};
use arsenal_core::uploads::Change;

/// Where uploaded operations come from, as their origin says.
const ORIGIN: &str = "upload";

/// `POST /api/v1/admin/operations`: load a new operation.
pub(crate) async fn upload(
    State(host): State<Arc<Host>>,
    Component(bytes): Component,
) -> (AuditDetails, Result<(StatusCode, Json<Value>), ApiError>) {
    let mut live = None;
    let answer = async {
        let loaded = host
            .registry()
            .inspect(&bytes, Source::Upload, ORIGIN)
            .await;
        let _turn = host.admin_turn().await;
        cluster::admits_changes(&host)?;
        let operation = match host.registry().add_loaded(loaded?).await? {
            Added::Published(operation) => operation,
            Added::Disabled(name) => {
                return Err(ApiError::new(
                    ErrorCode::OperationDisabled,
                    format!("operation `{name}` is disabled by configuration"),
                ));
            }
        };
        live = Some(operation.clone());
        cluster::share(&host, shared(&operation, Changed::Loaded, Some(&bytes))).await?;
        keep(&host, Change::Added(&operation, &bytes))?;
        Ok((
            StatusCode::CREATED,
            Json(json!({ "data": version(&operation, true) })),
        ))
    }
    .await;
    let subject = live.as_ref().map(|operation| operation.spec.name.as_str());
    let details = noted(subject, live.as_deref().map(shown_version), Some(&bytes));
    (details, answer)
}

/// `PUT /api/v1/admin/operations/{name}`: replace the live version.
pub(crate) async fn replace(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
    component: Result<Component, ApiError>,
) -> (AuditDetails, Result<Json<Value>, ApiError>) {
    let bytes = match component {
        Ok(Component(bytes)) => bytes,
        Err(refused) => return (noted(Some(&name), None, None), Err(refused)),
    };
    let mut live = None;
    let answer = async {
        let loaded = host
            .registry()
            .inspect(&bytes, Source::Upload, ORIGIN)
            .await;
        let _turn = host.admin_turn().await;
        cluster::admits_changes(&host)?;
        let swapped = host.registry().replace_loaded(&name, loaded?).await?;
        live = Some(swapped.live.clone());
        let change = shared(&swapped.live, Changed::Replaced, Some(&bytes));
        cluster::share(&host, change).await?;
        keep(&host, Change::Replaced(&swapped, &bytes))?;
        Ok(swap_answer(&swapped))
    }
    .await;
    let details = noted(
        Some(&name),
        live.as_deref().map(shown_version),
        Some(&bytes),
    );
    (details, answer)
}

/// `POST /api/v1/admin/operations/{name}/rollback`: return to the previous version.
pub(crate) async fn rollback(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
) -> (AuditDetails, Result<Json<Value>, ApiError>) {
    let mut live = None;
    let answer = async {
        let _turn = host.admin_turn().await;
        cluster::admits_changes(&host)?;
        let swapped = host.registry().rollback(&name).await?;
        live = Some(swapped.live.clone());
        let change = shared(&swapped.live, Changed::RolledBack, None);
        cluster::share(&host, change).await?;
        keep(&host, Change::RolledBack(&swapped))?;
        Ok(swap_answer(&swapped))
    }
    .await;
    let details = noted(Some(&name), live.as_deref().map(shown_version), None);
    (details, answer)
}

/// `POST /api/v1/admin/operations/{name}/restore`: make an unloaded name live again at the
/// version it has on its own (built in, or from a directory).
pub(crate) async fn restore(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
) -> (AuditDetails, Result<Json<Value>, ApiError>) {
    let mut live = None;
    let answer = async {
        let _turn = host.admin_turn().await;
        cluster::admits_changes(&host)?;
        let operation = host.registry().restore(&name).await?;
        live = Some(operation.clone());
        let change = shared(&operation, Changed::Restored, None);
        cluster::share(&host, change).await?;
        keep(&host, Change::Restored(&name))?;
        Ok(Json(json!({ "data": version(&operation, true) })))
    }
    .await;
    let details = noted(Some(&name), live.as_deref().map(shown_version), None);
    (details, answer)
}

/// What the cluster records of `operation` made live by `changed` (an unload clears the
/// content hash).
fn shared<'a>(
    operation: &'a LoadedOperation,
    changed: Changed,
    bytes: Option<&'a [u8]>,
) -> LiveChange<'a> {
    LiveChange {
        kind: ComponentKind::Operation,
        name: &operation.spec.name,
        changed,
        content_hash: Some(&operation.content_hash),
        bytes,
    }
}

/// The answer to a swap made: the version now live and the one it replaced.
fn swap_answer(swapped: &Swapped) -> Json<Value> {
    Json(json!({
        "data": {
            "live": version(&swapped.live, true),
            "previous": version(&swapped.previous, false),
        }
    }))
}

/// `DELETE /api/v1/admin/operations/{name}`: unload.
pub(crate) async fn unload(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
) -> (AuditDetails, Result<Json<Value>, ApiError>) {
    let answer = async {
        let _turn = host.admin_turn().await;
        cluster::admits_changes(&host)?;
        let removed = host.registry().remove(&name).await?;
        let unloaded = LiveChange {
            content_hash: None,
            ..shared(&removed, Changed::Unloaded, None)
        };
        cluster::share(&host, unloaded).await?;
        keep(&host, Change::Removed(&name))?;
        Ok(Json(json!({ "data": version(&removed, false) })))
    }
    .await;
    (noted(Some(&name), None, None), answer)
}

fn shown_version(operation: &LoadedOperation) -> Live<'_> {
    Live {
        version: &operation.spec.version,
        revision: revision(operation),
        content_hash: &operation.content_hash,
    }
}

/// The version an admin action made live, as the audit log names it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Live<'a> {
    pub(super) version: &'a str,
    pub(super) revision: &'a str,
    pub(super) content_hash: &'a str,
}

/// What the audit log keeps of an admin action: the operation or worker it concerned, the
/// version made live, and the component sent — by size and content hash, never its bytes.
pub(super) fn noted(
    subject: Option<&str>,
    live: Option<Live<'_>>,
    component: Option<&[u8]>,
) -> AuditDetails {
    // A component made live was hashed when it loaded; only a refused one is hashed here.
    let hash_of = |bytes: &[u8]| {
        live.map_or_else(|| content_hash(bytes), |live| live.content_hash.to_owned())
    };
    AuditDetails {
        operation: subject.map(str::to_owned),
        version: live.map(|live| live.version.to_owned()),
        revision: live.map(|live| live.revision.to_owned()),
        params: component
            .map(|bytes| json!({ "component_bytes": bytes.len(), "content_hash": hash_of(bytes) })),
    }
}

/// `GET /api/v1/admin/operations/{name}/versions`: the live version and those kept; for
/// an unloaded name, the version `restore` brings back.
pub(crate) async fn versions(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match host.registry().versions(&name) {
        Ok(versions) => Ok(versions_answer(
            &name,
            &versions,
            |operation| &**operation,
            version,
        )),
        Err(error) => match host.registry().restorable(&name) {
            Some(base) => Ok(Json(json!({ "data": {
                "name": name,
                "loaded": false,
                "versions": [version(&base, false)],
            } }))),
            None => Err(ApiError::from(error)),
        },
    }
}

/// Record a change in the state directory. The change is live already; when it cannot
/// be kept, the refusal says so: it will not survive a restart.
pub(super) fn keep(host: &Host, change: Change<'_>) -> Result<(), ApiError> {
    let Some(uploads) = host.uploads.as_ref() else {
        return Ok(());
    };
    uploads.record(change).map_err(|error| {
        tracing::error!(%error, "an admin change is live but could not be kept");
        ApiError::new(
            ErrorCode::StateNotSaved,
            format!("the change is live but was not saved, so a restart loses it: {error}"),
        )
    })
}

/// `{"name", "loaded": true, "versions": [...]}`, the live version (the first) marked live.
pub(super) fn versions_answer<T, U: ?Sized>(
    name: &str,
    versions: &[T],
    item: impl Fn(&T) -> &U,
    show: impl Fn(&U, bool) -> Value,
) -> Json<Value> {
    let listed: Vec<Value> = versions
        .iter()
        .enumerate()
        .map(|(index, entry)| show(item(entry), index == 0))
        .collect();
    Json(json!({ "data": { "name": name, "loaded": true, "versions": listed } }))
}

/// A version as the admin API shows it.
fn version(operation: &LoadedOperation, live: bool) -> Value {
    json!({
        "name": operation.spec.name,
        "version": operation.spec.version,
        "revision": revision(operation),
        "live": live,
        "method": operation.spec.method.as_str(),
        "path": operation.spec.route.template,
        "capabilities": operation.capabilities,
        "source": operation.source,
        "content_hash": operation.content_hash,
    })
}
