//! The admin API, one set of handlers for both kinds of component: operations under
//! `/api/v1/admin/operations`, worker components (the code sandboxes and processes run)
//! under `/api/v1/admin/workers`. `PUT …/{name}` replaces a version (a worker's also loads
//! a new name; a new operation is `POST`ed, since it names itself), `DELETE` unloads,
//! `GET …/versions` lists the live version and those kept, `POST …/rollback` returns to
//! the previous one, `POST …/restore` makes an unloaded name live again at the version it
//! has on its own (built in, or from a directory). Uploads are `application/wasm` bodies
//! up to `server.max_upload_bytes`; a bad one changes nothing and says why with the load
//! error's code. A change is compiled first, then made live, shared with the cluster and
//! recorded in the state directory under the host's admin turn, so changes are kept in
//! the order they went live. Processes keep the worker code they run; a sandbox moves to
//! a new version with `hot_reload_sandbox`. A `wasi:http` handler that does not describe
//! itself is given its route in the upload's query (`name`, `method`, `path`, …), which
//! is kept in the component's bytes (`spec::DeclaredRoute`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use serde_json::{Value, json};

use super::audit::AuditDetails;
use super::cluster;
use super::error::{ApiError, ErrorCode};
use super::extract::{Component, Path, Query};
use arsenal_core::cache::content_hash;
use arsenal_core::cluster::{Changed, LiveChange};
use arsenal_core::component::{Added, LoadError, Put, Swapped, VersionStore, Versioned, revision};
use arsenal_core::host::Host;
use arsenal_core::lifecycle::{Item, Lifecycle};
use arsenal_core::loader::LoadedOperation;
use arsenal_core::policy::Source;
use arsenal_core::registry::Registry;
use arsenal_core::runtime::{WorkerCode, WorkerEngine};
use arsenal_core::spec::{DeclaredParam, DeclaredRoute};
use arsenal_core::uploads::Change;
use bytes::Bytes;
use serde::Deserialize;

/// Where uploaded components come from, as their origin says.
const ORIGIN: &str = "upload";

/// A kind of component as the admin API serves it.
pub(crate) trait AdminKind: Send + Sync + 'static {
    type Components: Lifecycle;

    /// Whether `PUT` on a name not loaded loads it (workers, named by whoever loads them),
    /// or answers 404 (operations, which `POST` loads under the name they give themselves).
    const PUT_ADDS: bool;

    fn of(host: &Host) -> &Self::Components;

    /// A version as the admin API shows it.
    fn show(version: &Item<Self::Components>, live: bool) -> Value;

    /// Refuse a name given in the path that this kind cannot have.
    fn check_name(_name: &str) -> Result<(), ApiError> {
        Ok(())
    }

    /// `bytes` with the route `query` declares for the component `name` (given in the
    /// path, for a `PUT`); only an operation has one.
    fn declare(_name: Option<&str>, query: RouteQuery, bytes: Bytes) -> Result<Bytes, ApiError> {
        if query.is_empty() {
            return Ok(bytes);
        }
        Err(ApiError::new(
            ErrorCode::ValidationError,
            "only a wasi:http handler loaded as an operation is given a route",
        ))
    }
}

/// The route an operator declares for a `wasi:http` handler in an upload's query:
/// `name` (a `PUT` names it in its path), `method` and `path`, and optionally `version`,
/// `category`, `summary`, `description`, `additional_params` and `params` (a JSON array
/// of parameters, each `{"name", "in": "path"|"query", "type", "required", ...}`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteQuery {
    name: Option<String>,
    method: Option<String>,
    path: Option<String>,
    version: Option<String>,
    category: Option<String>,
    summary: Option<String>,
    description: Option<String>,
    params: Option<String>,
    additional_params: Option<bool>,
}

impl RouteQuery {
    fn is_empty(&self) -> bool {
        let RouteQuery {
            name,
            method,
            path,
            version,
            category,
            summary,
            description,
            params,
            additional_params,
        } = self;
        name.is_none()
            && method.is_none()
            && path.is_none()
            && version.is_none()
            && category.is_none()
            && summary.is_none()
            && description.is_none()
            && params.is_none()
            && additional_params.is_none()
    }

    /// The declaration, for a component named `named` in the path (a `PUT`).
    fn declared(self, named: Option<&str>) -> Result<DeclaredRoute, ApiError> {
        let refuse = |message: String| ApiError::new(ErrorCode::ValidationError, message);
        let name = match (self.name, named) {
            (Some(given), Some(named)) if given != named => {
                return Err(refuse(format!(
                    "the query names `{given}`, the path `{named}`"
                )));
            }
            (Some(given), _) => given,
            (None, Some(named)) => named.to_owned(),
            (None, None) => return Err(refuse("a declared route needs a `name`".to_owned())),
        };
        let (Some(method), Some(path)) = (self.method, self.path) else {
            return Err(refuse(
                "a declared route needs both `method` and `path`".to_owned(),
            ));
        };
        let params: Vec<DeclaredParam> = match self.params {
            Some(text) => serde_json::from_str(&text).map_err(|error| {
                refuse(format!("`params` is not a list of parameters: {error}"))
            })?,
            None => Vec::new(),
        };
        Ok(DeclaredRoute {
            name,
            method: method.to_ascii_uppercase(),
            path,
            version: self.version,
            category: self.category,
            summary: self.summary.unwrap_or_default(),
            description: self.description.unwrap_or_default(),
            params,
            additional_params: self.additional_params,
        })
    }
}

/// Operations: `/api/v1/admin/operations`.
pub(crate) struct Operations;

/// Worker components: `/api/v1/admin/workers`.
pub(crate) struct Workers;

impl AdminKind for Operations {
    type Components = Registry;
    const PUT_ADDS: bool = false;

    fn of(host: &Host) -> &Registry {
        host.registry()
    }

    fn declare(name: Option<&str>, query: RouteQuery, bytes: Bytes) -> Result<Bytes, ApiError> {
        if query.is_empty() {
            return Ok(bytes);
        }
        Ok(Bytes::from(query.declared(name)?.attach(&bytes)))
    }

    fn show(operation: &LoadedOperation, live: bool) -> Value {
        json!({
            "name": operation.spec.name,
            "version": operation.spec.version,
            "revision": revision(operation),
            "live": live,
            "method": operation.spec.method.as_str(),
            "path": operation.spec.route.template,
            "interface": operation.interface,
            "capabilities": operation.capabilities,
            "source": operation.source,
            "content_hash": operation.content_hash,
        })
    }
}

impl AdminKind for Workers {
    type Components = WorkerEngine;
    const PUT_ADDS: bool = true;

    fn of(host: &Host) -> &WorkerEngine {
        host.workers()
    }

    fn show(code: &WorkerCode, live: bool) -> Value {
        json!({
            "name": code.name(),
            "version": code.version(),
            "revision": revision(code),
            "live": live,
            "stateful": code.is_stateful(),
            "uses_filesystem": code.uses_filesystem(),
            "source": code.source(),
            "content_hash": code.content_hash(),
        })
    }

    fn check_name(name: &str) -> Result<(), ApiError> {
        if arsenal_core::runtime::is_valid_name(name, 128) {
            return Ok(());
        }
        Err(ApiError::new(
            ErrorCode::ValidationError,
            format!("`{name}` is not a worker name: use 1 to 128 letters, digits, `_`, `-` or `.`"),
        ))
    }
}

/// What an admin change did.
enum Made<T> {
    /// `POST`: a new name loaded.
    Posted(Arc<T>),
    /// `PUT`: a new name loaded, a version replaced, or the live code sent again.
    Put(Put<T>),
    RolledBack(Swapped<T>),
    Unloaded(Arc<T>),
    Restored(Arc<T>),
}

impl<T> Made<T> {
    /// The version the change made live, if it made one live.
    fn live(&self) -> Option<&Arc<T>> {
        match self {
            Made::Posted(live) | Made::Restored(live) => Some(live),
            Made::Put(put) => put.live(),
            Made::RolledBack(swapped) => Some(&swapped.live),
            Made::Unloaded(_) => None,
        }
    }
}

/// An admin answer: its status and `{"data": …}`, or why nothing was changed.
type Answer = Result<(StatusCode, Json<Value>), ApiError>;

/// `POST /api/v1/admin/operations`: load a new operation, under the name it gives itself.
pub(crate) async fn upload(
    State(host): State<Arc<Host>>,
    Query(route): Query<RouteQuery>,
    Component(bytes): Component,
) -> (AuditDetails, Answer) {
    let mut made = None;
    let bytes = match Operations::declare(None, route, bytes) {
        Ok(bytes) => bytes,
        Err(refused) => return (noted::<LoadedOperation>(None, None, None), Err(refused)),
    };
    let answer = async {
        let loaded = host
            .registry()
            .inspect(&bytes, Source::Upload, ORIGIN)
            .await;
        let _turn = host.admin_turn().await;
        cluster::admits_changes(&host)?;
        let operation = match host.registry().versions().add(Arc::new(loaded?))? {
            Added::Published(operation) => operation,
            Added::Disabled(name) => return Err(disabled(&name)),
        };
        settle::<Operations>(&host, made.insert(Made::Posted(operation)), Some(&bytes)).await
    }
    .await;
    let live = made.as_ref().and_then(Made::live);
    let subject = live.map(|operation| operation.name());
    (noted(subject, live, Some(&bytes)), answer)
}

/// `PUT /api/v1/admin/{kind}/{name}`: replace the live version (a worker's name may be
/// new).
pub(crate) async fn put<K: AdminKind>(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
    Query(route): Query<RouteQuery>,
    component: Result<Component, ApiError>,
) -> (AuditDetails, Answer) {
    let bytes = match component.and_then(|Component(bytes)| K::declare(Some(&name), route, bytes)) {
        Ok(bytes) => bytes,
        Err(refused) => {
            return (
                noted::<Item<K::Components>>(Some(&name), None, None),
                Err(refused),
            );
        }
    };
    let mut made = None;
    let answer = async {
        K::check_name(&name)?;
        let components = K::of(&host);
        let prepared = components
            .prepare(&name, &bytes, Source::Upload, ORIGIN)
            .await;
        let _turn = host.admin_turn().await;
        cluster::admits_changes(&host)?;
        let versions = components.versions();
        let put = if K::PUT_ADDS {
            versions.put(prepared?)?
        } else {
            Put::Replaced(versions.replace(&name, prepared?)?)
        };
        settle::<K>(&host, made.insert(Made::Put(put)), Some(&bytes)).await
    }
    .await;
    let live = made.as_ref().and_then(Made::live);
    (noted(Some(&name), live, Some(&bytes)), answer)
}

/// `POST /api/v1/admin/{kind}/{name}/rollback`: return to the previous version.
pub(crate) async fn rollback<K: AdminKind>(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
) -> (AuditDetails, Answer) {
    change::<K>(&host, &name, |versions| {
        versions.rollback(&name).map(Made::RolledBack)
    })
    .await
}

/// `DELETE /api/v1/admin/{kind}/{name}`: unload. Requests in flight finish; running
/// processes keep their code.
pub(crate) async fn unload<K: AdminKind>(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
) -> (AuditDetails, Answer) {
    change::<K>(&host, &name, |versions| {
        versions.remove(&name).map(Made::Unloaded)
    })
    .await
}

/// `POST /api/v1/admin/{kind}/{name}/restore`: make an unloaded name live again at the
/// version it has on its own (built in, or from a directory).
pub(crate) async fn restore<K: AdminKind>(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
) -> (AuditDetails, Answer) {
    change::<K>(&host, &name, |versions| {
        versions.restore(&name).map(Made::Restored)
    })
    .await
}

/// `GET /api/v1/admin/{kind}/{name}/versions`: the live version and those kept; for an
/// unloaded name, the version `restore` brings back.
pub(crate) async fn versions<K: AdminKind>(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let versions = K::of(&host).versions();
    let (loaded, listed) = match versions.of(&name) {
        Ok(kept) => (true, kept),
        Err(error) => match versions.restorable(&name) {
            Some(base) => (false, vec![base]),
            None => return Err(ApiError::from(error)),
        },
    };
    let listed: Vec<Value> = listed
        .iter()
        .enumerate()
        .map(|(index, version)| K::show(version, loaded && index == 0))
        .collect();
    Ok(Json(
        json!({ "data": { "name": name, "loaded": loaded, "versions": listed } }),
    ))
}

/// A change that needs no component sent: made under the admin turn, then settled.
async fn change<K: AdminKind>(
    host: &Host,
    name: &str,
    make: impl FnOnce(
        &VersionStore<<K::Components as Lifecycle>::Set>,
    ) -> Result<Made<Item<K::Components>>, LoadError>,
) -> (AuditDetails, Answer) {
    let mut made = None;
    let answer = async {
        let _turn = host.admin_turn().await;
        cluster::admits_changes(host)?;
        let change = make(K::of(host).versions())?;
        settle::<K>(host, made.insert(change), None).await
    }
    .await;
    let live = made.as_ref().and_then(Made::live);
    (noted(Some(name), live, None), answer)
}

/// Share a change made live with the cluster, record it in the state directory, and
/// answer it. Called under the admin turn.
async fn settle<K: AdminKind>(
    host: &Host,
    made: &Made<Item<K::Components>>,
    component: Option<&[u8]>,
) -> Answer {
    if let Some(change) = shared(made, component) {
        cluster::share(host, change).await?;
    }
    keep(host, made, component)?;
    answer::<K>(made)
}

/// What the cluster records of a change: the name's new state (an unload clears the
/// content hash), and the bytes when the change brought them. `None`: nothing changed.
fn shared<'a, T: Versioned>(made: &'a Made<T>, bytes: Option<&'a [u8]>) -> Option<LiveChange<'a>> {
    let (version, changed, bytes): (&T, Changed, Option<&[u8]>) = match made {
        Made::Posted(live) | Made::Put(Put::Added(live)) => (&**live, Changed::Loaded, bytes),
        Made::Put(Put::Replaced(swapped)) => (&*swapped.live, Changed::Replaced, bytes),
        Made::RolledBack(swapped) => (&*swapped.live, Changed::RolledBack, None),
        Made::Restored(live) => (&**live, Changed::Restored, None),
        Made::Unloaded(removed) => {
            return Some(LiveChange {
                kind: T::KIND,
                name: removed.name(),
                changed: Changed::Unloaded,
                content_hash: None,
                bytes: None,
            });
        }
        Made::Put(Put::Unchanged(_) | Put::Disabled(_)) => return None,
    };
    Some(LiveChange {
        kind: T::KIND,
        name: version.name(),
        changed,
        content_hash: Some(version.content_hash()),
        bytes,
    })
}

/// Record a change in the state directory. The change is live already; when it cannot
/// be kept, the refusal says so: it will not survive a restart.
fn keep<T: Versioned>(host: &Host, made: &Made<T>, bytes: Option<&[u8]>) -> Result<(), ApiError> {
    let Some(uploads) = host.uploads.as_ref() else {
        return Ok(());
    };
    let bytes = bytes.unwrap_or_default();
    let change = match made {
        Made::Posted(live) => Change::Added(&**live, bytes),
        Made::Put(put) => match Change::of_put(put, bytes) {
            Some(change) => change,
            None => return Ok(()),
        },
        Made::RolledBack(swapped) => Change::RolledBack(swapped),
        Made::Unloaded(removed) => Change::Removed(removed.name()),
        Made::Restored(live) => Change::Restored(live.name()),
    };
    uploads.record(change).map_err(|error| {
        tracing::error!(%error, "an admin change is live but could not be kept");
        ApiError::new(
            ErrorCode::StateNotSaved,
            format!("the change is live but was not saved, so a restart loses it: {error}"),
        )
    })
}

/// The answer to a change made: `POST` and `restore` answer the version now live,
/// `DELETE` the one unloaded, `PUT` and `rollback` the live one and the one before it
/// (`null` for a name `PUT` loaded); a disabled name is refused.
fn answer<K: AdminKind>(made: &Made<Item<K::Components>>) -> Answer {
    let show = |version: &Item<K::Components>, live| K::show(version, live);
    let swap = |swapped: &Swapped<Item<K::Components>>| json!({ "live": show(&swapped.live, true), "previous": show(&swapped.previous, false) });
    let (status, data) = match made {
        Made::Posted(live) => (StatusCode::CREATED, show(live, true)),
        Made::Restored(live) => (StatusCode::OK, show(live, true)),
        Made::Unloaded(removed) => (StatusCode::OK, show(removed, false)),
        Made::Put(Put::Added(live)) => (
            StatusCode::CREATED,
            json!({ "live": show(live, true), "previous": null }),
        ),
        Made::Put(Put::Unchanged(live)) => (
            StatusCode::OK,
            json!({ "live": show(live, true), "previous": show(live, false) }),
        ),
        Made::Put(Put::Replaced(swapped)) | Made::RolledBack(swapped) => {
            (StatusCode::OK, swap(swapped))
        }
        Made::Put(Put::Disabled(name)) => return Err(disabled(name)),
    };
    Ok((status, Json(json!({ "data": data }))))
}

fn disabled(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::OperationDisabled,
        format!("operation `{name}` is disabled by configuration"),
    )
}

/// What the audit log keeps of an admin action: the operation or worker it concerned, the
/// version made live, and the component sent — by size and content hash, never its bytes.
fn noted<T: Versioned>(
    subject: Option<&str>,
    live: Option<&Arc<T>>,
    component: Option<&[u8]>,
) -> AuditDetails {
    // A component made live was hashed when it loaded; only a refused one is hashed here.
    let hash_of = |bytes: &[u8]| {
        live.map_or_else(
            || content_hash(bytes),
            |live| live.content_hash().to_owned(),
        )
    };
    AuditDetails {
        operation: subject.map(str::to_owned),
        version: live.map(|live| live.version().to_owned()),
        revision: live.map(|live| revision(&**live).to_owned()),
        params: component
            .map(|bytes| json!({ "component_bytes": bytes.len(), "content_hash": hash_of(bytes) })),
        ..AuditDetails::default()
    }
}
