//! The admin API for operations: upload a component (`POST`), replace it with a new
//! version (`PUT`), unload it (`DELETE`), list its versions, roll back, and restore an
//! unloaded one to the version it has on its own (built in or from a directory). Uploads are
//! `application/wasm` bodies up to `server.max_upload_bytes`; a bad one changes nothing
//! and says why with the load error's code.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

use super::audit::AuditDetails;
use super::cluster;
use super::dispatch::read_capped;
use super::error::{ApiError, ErrorCode};
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
pub(crate) async fn upload(State(host): State<Arc<Host>>, request: Request) -> Response {
    let bytes = match component(&host, request).await {
        Ok(bytes) => bytes,
        Err(error) => return error.into_response(),
    };
    let loaded = host
        .registry()
        .inspect(&bytes, Source::Upload, ORIGIN)
        .await;
    let _turn = host.admin_turn().await;
    if let Some(refused) = cluster::admits_changes(&host) {
        return noted(refused, None, None, Some(&bytes));
    }
    let added = match loaded {
        Ok(operation) => host.registry().add_loaded(operation).await,
        Err(error) => Err(error),
    };
    let refused = match &added {
        Ok(Added::Published(operation)) => {
            cluster::share(&host, shared(operation, Changed::Loaded, Some(&bytes))).await
        }
        _ => None,
    };
    let response = match (&added, refused) {
        (_, Some(refused)) => refused,
        (Ok(Added::Published(operation)), None) => keep(&host, Change::Added(operation, &bytes))
            .unwrap_or_else(|| {
                (
                    StatusCode::CREATED,
                    Json(json!({ "data": version(operation, true) })),
                )
                    .into_response()
            }),
        (Ok(Added::Disabled(name)), None) => ApiError::new(
            ErrorCode::OperationDisabled,
            format!("operation `{name}` is disabled by configuration"),
        )
        .into_response(),
        (Err(error), None) => ApiError::from(error.clone()).into_response(),
    };
    let live = match &added {
        Ok(Added::Published(operation)) => Some(&**operation),
        _ => None,
    };
    noted(
        response,
        live.map(|op| op.spec.name.as_str()),
        live.map(shown_version),
        Some(&bytes),
    )
}

/// `PUT /api/v1/admin/operations/{name}`: replace the live version.
pub(crate) async fn replace(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let bytes = match component(&host, request).await {
        Ok(bytes) => bytes,
        Err(error) => return noted(error.into_response(), Some(&name), None, None),
    };
    let loaded = host
        .registry()
        .inspect(&bytes, Source::Upload, ORIGIN)
        .await;
    let _turn = host.admin_turn().await;
    if let Some(refused) = cluster::admits_changes(&host) {
        return noted(refused, Some(&name), None, Some(&bytes));
    }
    let result = match loaded {
        Ok(operation) => host.registry().replace_loaded(&name, operation).await,
        Err(error) => Err(error),
    };
    swap_answer(&host, &name, result, Some(&bytes)).await
}

/// `POST /api/v1/admin/operations/{name}/rollback`: return to the previous version.
pub(crate) async fn rollback(State(host): State<Arc<Host>>, Path(name): Path<String>) -> Response {
    let _turn = host.admin_turn().await;
    if let Some(refused) = cluster::admits_changes(&host) {
        return noted(refused, Some(&name), None, None);
    }
    let result = host.registry().rollback(&name).await;
    swap_answer(&host, &name, result, None).await
}

/// `POST /api/v1/admin/operations/{name}/restore`: make an unloaded name live again at the
/// version it has on its own (built in, or from a directory).
pub(crate) async fn restore(State(host): State<Arc<Host>>, Path(name): Path<String>) -> Response {
    let _turn = host.admin_turn().await;
    if let Some(refused) = cluster::admits_changes(&host) {
        return noted(refused, Some(&name), None, None);
    }
    let restored = host.registry().restore(&name).await;
    let response = match &restored {
        Ok(operation) => {
            match cluster::share(&host, shared(operation, Changed::Restored, None)).await {
                Some(refused) => refused,
                None => keep(&host, Change::Restored(&name)).unwrap_or_else(|| {
                    Json(json!({ "data": version(operation, true) })).into_response()
                }),
            }
        }
        Err(error) => ApiError::from(error.clone()).into_response(),
    };
    let live = restored
        .as_ref()
        .ok()
        .map(|operation| shown_version(operation));
    noted(response, Some(&name), live, None)
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

/// Keep a swap made — a replacement with `component`, or a rollback — for the cluster and
/// here, and answer it, or say why it was not made; noted for the audit log either way.
async fn swap_answer(
    host: &Host,
    name: &str,
    result: Result<Swapped, arsenal_core::loader::LoadError>,
    component: Option<&[u8]>,
) -> Response {
    let live = result.as_ref().ok().map(|swapped| swapped.live.clone());
    let changed = match component {
        Some(_) => Changed::Replaced,
        None => Changed::RolledBack,
    };
    let refused = match &live {
        Some(operation) => cluster::share(host, shared(operation, changed, component)).await,
        None => None,
    };
    let response = match (&result, component) {
        _ if refused.is_some() => refused,
        (Ok(swapped), Some(bytes)) => keep(host, Change::Replaced(swapped, bytes)),
        (Ok(swapped), None) => keep(host, Change::RolledBack(swapped)),
        (Err(_), _) => None,
    }
    .unwrap_or_else(|| answer_swap(result));
    noted(
        response,
        Some(name),
        live.as_deref().map(shown_version),
        component,
    )
}

/// `DELETE /api/v1/admin/operations/{name}`: unload.
pub(crate) async fn unload(State(host): State<Arc<Host>>, Path(name): Path<String>) -> Response {
    let _turn = host.admin_turn().await;
    if let Some(refused) = cluster::admits_changes(&host) {
        return noted(refused, Some(&name), None, None);
    }
    let response = match host.registry().remove(&name).await {
        Ok(removed) => {
            let unloaded = LiveChange {
                content_hash: None,
                ..shared(&removed, Changed::Unloaded, None)
            };
            match cluster::share(&host, unloaded).await {
                Some(refused) => refused,
                None => keep(&host, Change::Removed(&name)).unwrap_or_else(|| {
                    Json(json!({ "data": version(&removed, false) })).into_response()
                }),
            }
        }
        Err(error) => ApiError::from(error).into_response(),
    };
    noted(response, Some(&name), None, None)
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
    mut response: Response,
    subject: Option<&str>,
    live: Option<Live<'_>>,
    component: Option<&[u8]>,
) -> Response {
    // A component made live was hashed when it loaded; only a refused one is hashed here.
    let hash_of = |bytes: &[u8]| {
        live.map_or_else(|| content_hash(bytes), |live| live.content_hash.to_owned())
    };
    response.extensions_mut().insert(AuditDetails {
        operation: subject.map(str::to_owned),
        version: live.map(|live| live.version.to_owned()),
        revision: live.map(|live| live.revision.to_owned()),
        params: component
            .map(|bytes| json!({ "component_bytes": bytes.len(), "content_hash": hash_of(bytes) })),
    });
    response
}

/// `GET /api/v1/admin/operations/{name}/versions`: the live version and those kept; for
/// an unloaded name, the version `restore` brings back.
pub(crate) async fn versions(State(host): State<Arc<Host>>, Path(name): Path<String>) -> Response {
    match host.registry().versions(&name) {
        Ok(versions) => versions_answer(&name, &versions, |operation| &**operation, version),
        Err(error) => match host.registry().restorable(&name) {
            Some(base) => Json(json!({ "data": {
                "name": name,
                "loaded": false,
                "versions": [version(&base, false)],
            } }))
            .into_response(),
            None => ApiError::from(error).into_response(),
        },
    }
}

/// Record a change in the state directory. The change is live already; when it cannot
/// be kept, the answer (returned here) says so: it will not survive a restart.
pub(super) fn keep(host: &Host, change: Change<'_>) -> Option<Response> {
    let error = host.uploads.as_ref()?.record(change).err()?;
    tracing::error!(%error, "an admin change is live but could not be kept");
    let refused = ApiError::new(
        ErrorCode::StateNotSaved,
        format!("the change is live but was not saved, so a restart loses it: {error}"),
    );
    Some(refused.into_response())
}

/// `{"name", "loaded": true, "versions": [...]}`, the live version (the first) marked live.
pub(super) fn versions_answer<T, U: ?Sized>(
    name: &str,
    versions: &[T],
    item: impl Fn(&T) -> &U,
    show: impl Fn(&U, bool) -> Value,
) -> Response {
    let listed: Vec<Value> = versions
        .iter()
        .enumerate()
        .map(|(index, entry)| show(item(entry), index == 0))
        .collect();
    Json(json!({ "data": { "name": name, "loaded": true, "versions": listed } })).into_response()
}

fn answer_swap(result: Result<Swapped, arsenal_core::loader::LoadError>) -> Response {
    match result {
        Ok(swapped) => Json(json!({
            "data": {
                "live": version(&swapped.live, true),
                "previous": version(&swapped.previous, false),
            }
        }))
        .into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
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

/// The uploaded component: an `application/wasm` body within the upload cap.
pub(super) async fn component(
    host: &Host,
    request: Request,
) -> Result<axum::body::Bytes, ApiError> {
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
    read_capped(request, host.settings().server.max_upload_bytes).await
}
