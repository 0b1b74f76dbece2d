//! The registry of loaded operations: an immutable [`Catalog`] (operations + route
//! table) published through `arc-swap`. Readers take a snapshot and keep it for the whole
//! request, so a change never affects a request in flight; writers build the next catalog
//! whole, check it for conflicts, and only then swap it in.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use arc_swap::ArcSwap;
use http::Method;
use serde_json::{Map, Value};
use tracing::Instrument;

use crate::config::OperationSettings;
use crate::facts::HostFacts;
use crate::invoke::{
    CallError, Caller, GuestCall, GuestFailure, GuestReturn, InstanceGate, JsonText, interpret,
    request, run_guest, run_warm,
};
use crate::loader::{LoadError, LoadedOperation, Loader};
use crate::policy::Source;
use crate::routes::{RouteMatch, RouteTable};

/// One published set of operations and their routes.
#[derive(Debug, Default)]
pub struct Catalog {
    operations: Vec<Arc<LoadedOperation>>,
    routes: RouteTable,
}

/// A request resolved against a catalog.
#[derive(Debug)]
pub enum Resolved {
    Found {
        operation: Arc<LoadedOperation>,
        params: Vec<(String, String)>,
    },
    MethodNotAllowed {
        allow: Vec<Method>,
    },
    MalformedParam {
        name: String,
    },
    NotFound,
}

impl Catalog {
    /// The catalog of `operations` (sorted by name). `changed` names the operation being
    /// added or swapped in: its route goes into the table last, so a conflict is reported
    /// as its route against the operation already holding it, whatever the names' order.
    fn build(
        operations: Vec<Arc<LoadedOperation>>,
        changed: Option<&str>,
    ) -> Result<Catalog, LoadError> {
        let is_changed = |op: &LoadedOperation| Some(op.spec.name.as_str()) == changed;
        let indexed = || operations.iter().map(|op| &**op).enumerate();
        let (routes, conflicts) = RouteTable::build(
            indexed()
                .filter(|(_, op)| !is_changed(op))
                .chain(indexed().filter(|(_, op)| is_changed(op)))
                .map(|(index, op)| (index, &op.spec)),
        );
        if let Some(conflict) = conflicts.into_iter().next() {
            return Err(LoadError::RouteConflict(conflict));
        }
        Ok(Catalog { operations, routes })
    }

    /// Every operation, sorted by name.
    pub fn operations(&self) -> &[Arc<LoadedOperation>] {
        &self.operations
    }

    pub fn get(&self, name: &str) -> Option<&Arc<LoadedOperation>> {
        self.operations.iter().find(|op| op.spec.name == name)
    }

    pub fn resolve(&self, method: &Method, path: &str) -> Resolved {
        match self.routes.lookup(method, path) {
            RouteMatch::Found { operation, params } => Resolved::Found {
                operation: self.operations[operation].clone(),
                params,
            },
            RouteMatch::MethodNotAllowed { allow } => Resolved::MethodNotAllowed { allow },
            RouteMatch::MalformedParam { name } => Resolved::MalformedParam { name },
            RouteMatch::NotFound => Resolved::NotFound,
        }
    }
}

/// What happened to a component handed to [`Registry::add`].
#[derive(Debug)]
pub enum Added {
    Published(Arc<LoadedOperation>),
    /// Loaded fine, but disabled by configuration.
    Disabled(String),
}

/// Loaded operations and the means to call them.
pub struct Registry {
    loader: Loader,
    host: Arc<HostFacts>,
    gate: Arc<InstanceGate>,
    settings: OperationSettings,
    catalog: ArcSwap<Catalog>,
    changes: tokio::sync::Mutex<()>,
    /// Earlier versions of each operation, oldest first, for rollback.
    history: std::sync::Mutex<HashMap<String, VecDeque<Arc<LoadedOperation>>>>,
    /// The version of each name that loads at start on its own (built-in or from a
    /// directory), the last one made live: an unloaded name comes back to it with
    /// [`Registry::restore`], as it would if the unload had not been recorded.
    bases: std::sync::Mutex<HashMap<String, Arc<LoadedOperation>>>,
}

/// What [`Registry::put`] did.
#[derive(Debug)]
pub enum Put {
    Added(Arc<LoadedOperation>),
    Replaced(Swapped),
    /// The live version of its name is this very code from this very origin: nothing was
    /// swapped (nor kept twice in the history).
    Unchanged(Arc<LoadedOperation>),
    /// The name is disabled by configuration; nothing was published.
    Disabled(String),
}

/// What a replacement or rollback swapped.
#[derive(Debug, Clone)]
pub struct Swapped {
    pub previous: Arc<LoadedOperation>,
    pub live: Arc<LoadedOperation>,
}

impl Registry {
    pub(crate) fn new(
        loader: Loader,
        host: Arc<HostFacts>,
        gate: Arc<InstanceGate>,
        settings: OperationSettings,
    ) -> Registry {
        Registry {
            loader,
            host,
            gate,
            settings,
            catalog: ArcSwap::from_pointee(Catalog::default()),
            changes: tokio::sync::Mutex::new(()),
            history: Default::default(),
            bases: Default::default(),
        }
    }

    /// The current catalog; keep it for the duration of a request.
    pub fn snapshot(&self) -> Arc<Catalog> {
        self.catalog.load_full()
    }

    pub fn instances(&self) -> &Arc<InstanceGate> {
        &self.gate
    }

    pub fn loader(&self) -> &Loader {
        &self.loader
    }

    /// Load a component without publishing it (`arsenal check`).
    pub async fn inspect(
        &self,
        bytes: &[u8],
        source: Source,
        origin: &str,
    ) -> Result<LoadedOperation, LoadError> {
        self.loader
            .load(bytes, source, origin, |name| {
                self.settings.overrides.get(name).cloned()
            })
            .await
    }

    /// Load a component and publish it, unless its name is disabled. Refused, with
    /// nothing changed, if the name is taken or its route conflicts.
    pub async fn add(
        &self,
        bytes: &[u8],
        source: Source,
        origin: &str,
    ) -> Result<Added, LoadError> {
        let operation = self.inspect(bytes, source, origin).await?;
        self.add_loaded(operation).await
    }

    /// Publish an operation [`Registry::inspect`] loaded, as [`Registry::add`] does. Split
    /// from loading so a caller can order publication (and what it records of it) without
    /// holding anything while the component compiles.
    pub async fn add_loaded(&self, operation: LoadedOperation) -> Result<Added, LoadError> {
        if self.settings.disabled.contains(&operation.spec.name) {
            tracing::info!(operation = %operation.spec.name, origin = %operation.origin, "operation disabled by configuration");
            return Ok(Added::Disabled(operation.spec.name.clone()));
        }
        let operation = Arc::new(operation);
        let _guard = self.changes.lock().await;
        self.insert(operation.clone())?;
        Ok(Added::Published(operation))
    }

    /// Replace the live version of `name` with a new component. The new one is loaded and
    /// its route checked against every other operation before anything is swapped; the
    /// old version is kept for rollback. Requests in flight finish on the version they
    /// started with (they hold it).
    pub async fn replace(
        &self,
        name: &str,
        bytes: &[u8],
        source: Source,
        origin: &str,
    ) -> Result<Swapped, LoadError> {
        let operation = self.inspect(bytes, source, origin).await?;
        self.replace_loaded(name, operation).await
    }

    /// Put an operation [`Registry::inspect`] loaded in place of the live version of
    /// `name`, as [`Registry::replace`] does.
    pub async fn replace_loaded(
        &self,
        name: &str,
        operation: LoadedOperation,
    ) -> Result<Swapped, LoadError> {
        if operation.spec.name != name {
            return Err(LoadError::NameMismatch {
                expected: name.to_owned(),
                found: operation.spec.name.clone(),
            });
        }
        let _guard = self.changes.lock().await;
        self.replace_live(Arc::new(operation))
    }

    /// Load a component and publish it: added when its name is new, replacing the live
    /// version otherwise (the watched directory's rule). The component is compiled once.
    pub async fn put(&self, bytes: &[u8], source: Source, origin: &str) -> Result<Put, LoadError> {
        let operation = self.inspect(bytes, source, origin).await?;
        if self.settings.disabled.contains(&operation.spec.name) {
            return Ok(Put::Disabled(operation.spec.name.clone()));
        }
        let operation = Arc::new(operation);
        let _guard = self.changes.lock().await;
        if let Some(live) = self.catalog.load().get(&operation.spec.name) {
            if live.origin == operation.origin && live.content_hash == operation.content_hash {
                return Ok(Put::Unchanged(live.clone()));
            }
            return self.replace_live(operation).map(Put::Replaced);
        }
        self.insert(operation.clone())?;
        Ok(Put::Added(operation))
    }

    /// Publish an operation under a new name. Callers hold `changes`.
    fn insert(&self, operation: Arc<LoadedOperation>) -> Result<(), LoadError> {
        let current = self.catalog.load();
        if current.get(&operation.spec.name).is_some() {
            return Err(LoadError::Duplicate(operation.spec.name.clone()));
        }
        let mut operations: Vec<_> = current.operations.clone();
        operations.push(operation.clone());
        operations.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
        self.publish(Catalog::build(operations, Some(&operation.spec.name))?);
        self.note_base(&operation);
        tracing::info!(operation = %operation.spec.name, version = %operation.spec.version, route = %format!("{} {}", operation.spec.method, operation.spec.route.template), origin = %operation.origin, "operation loaded");
        Ok(())
    }

    /// Keep `operation` as the version its name comes back to when it is not an upload.
    fn note_base(&self, operation: &Arc<LoadedOperation>) {
        if operation.source != Source::Upload {
            self.bases
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(operation.spec.name.clone(), operation.clone());
        }
    }

    /// Put `live` in place of the version of its name, keeping that one for rollback.
    /// Callers hold `changes`.
    fn replace_live(&self, live: Arc<LoadedOperation>) -> Result<Swapped, LoadError> {
        let previous = self.swap(live.clone())?;
        self.note_base(&live);
        self.remember(previous.clone());
        tracing::info!(operation = %live.spec.name, from = %previous.spec.version, to = %live.spec.version, revision = %revision(&live), origin = %live.origin, "operation replaced");
        Ok(Swapped { previous, live })
    }

    /// Return `name` to its previous version; the version live until now is dropped.
    pub async fn rollback(&self, name: &str) -> Result<Swapped, LoadError> {
        let _guard = self.changes.lock().await;
        let earlier = self
            .history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(name)
            .and_then(VecDeque::pop_back)
            .ok_or_else(|| LoadError::NoEarlierVersion(name.to_owned()))?;
        match self.swap(earlier.clone()) {
            Ok(previous) => {
                self.forget([previous.clone()]);
                tracing::info!(operation = name, to = %earlier.spec.version, revision = %revision(&earlier), "operation rolled back");
                Ok(Swapped {
                    previous,
                    live: earlier,
                })
            }
            Err(error) => {
                // Keep the version for a later try (its route may be free again then).
                self.remember(earlier);
                Err(error)
            }
        }
    }

    /// Unload `name`; its history goes with it, except the version it has on its own
    /// (built-in or from a directory), which [`Registry::restore`] brings back. Requests in
    /// flight finish.
    pub async fn remove(&self, name: &str) -> Result<Arc<LoadedOperation>, LoadError> {
        let _guard = self.changes.lock().await;
        let current = self.catalog.load();
        let removed = current
            .get(name)
            .cloned()
            .ok_or_else(|| LoadError::NotLoaded(name.to_owned()))?;
        let operations: Vec<_> = current
            .operations
            .iter()
            .filter(|op| op.spec.name != name)
            .cloned()
            .collect();
        self.publish(Catalog::build(operations, None)?);
        let earlier = self
            .history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name)
            .unwrap_or_default();
        self.forget(earlier.into_iter().chain([removed.clone()]));
        tracing::info!(operation = name, "operation unloaded");
        Ok(removed)
    }

    /// Make the version `name` has on its own (built-in or from a directory) live again
    /// after an unload. Refused when the name is loaded (`Duplicate`), has no such version
    /// (`NothingToRestore`), or its route is taken now.
    pub async fn restore(&self, name: &str) -> Result<Arc<LoadedOperation>, LoadError> {
        let _guard = self.changes.lock().await;
        if self.catalog.load().get(name).is_some() {
            return Err(LoadError::Duplicate(name.to_owned()));
        }
        let base = self
            .restorable(name)
            .ok_or_else(|| LoadError::NothingToRestore(name.to_owned()))?;
        self.insert(base.clone())?;
        tracing::info!(operation = name, version = %base.spec.version, origin = %base.origin, "operation restored");
        Ok(base)
    }

    /// The version [`Registry::restore`] would make live: the one `name` has on its own,
    /// while the name is not loaded.
    pub fn restorable(&self, name: &str) -> Option<Arc<LoadedOperation>> {
        if self.catalog.load().get(name).is_some() {
            return None;
        }
        self.bases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// Forget the version loaded from `origin` as one to restore: its file was deleted
    /// from a watched directory, so it no longer loads at start.
    pub(crate) fn forget_base_from(&self, origin: &str) {
        self.bases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, base| base.origin != origin);
    }

    /// Keep at most `len` earlier versions of `name`, dropping the oldest: how the state
    /// replay ends with the history it recorded. Replaying uploads over the version that
    /// loads at start on its own (built-in or from a directory) puts that one first in the
    /// history, where the record may no longer keep it. The dropped ones keep their cache
    /// entries: they are what loads at every start.
    pub(crate) fn trim_history(&self, name: &str, len: usize) {
        let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(kept) = history.get_mut(name) {
            let excess = kept.len().saturating_sub(len);
            kept.drain(..excess);
        }
    }

    /// The live version of `name` and the earlier ones kept, newest first.
    pub fn versions(&self, name: &str) -> Result<Vec<Arc<LoadedOperation>>, LoadError> {
        let live = self
            .snapshot()
            .get(name)
            .cloned()
            .ok_or_else(|| LoadError::NotLoaded(name.to_owned()))?;
        let history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        let earlier = history.get(name).into_iter().flatten().rev().cloned();
        Ok(std::iter::once(live).chain(earlier).collect())
    }

    /// Put `operation` in place of the live one of its name; returns the one replaced.
    /// Callers hold `changes`.
    fn swap(&self, operation: Arc<LoadedOperation>) -> Result<Arc<LoadedOperation>, LoadError> {
        let current = self.catalog.load();
        let name = operation.spec.name.clone();
        let previous = current
            .get(&name)
            .cloned()
            .ok_or_else(|| LoadError::NotLoaded(name.clone()))?;
        let operations: Vec<_> = current
            .operations
            .iter()
            .map(|op| {
                if op.spec.name == name {
                    operation.clone()
                } else {
                    op.clone()
                }
            })
            .collect();
        self.publish(Catalog::build(operations, Some(&name))?);
        Ok(previous)
    }

    fn publish(&self, next: Catalog) {
        self.host
            .operations_loaded
            .store(next.operations.len() as u32, Ordering::Relaxed);
        let live = Arc::new(next);
        let previous = self.catalog.swap(live.clone());
        // Versions that stopped being live keep no warm instances, and their requests still
        // running are on the drain clock; a version live again (a rollback) is reinstated.
        for operation in previous.operations.iter() {
            if !live.operations.iter().any(|op| Arc::ptr_eq(op, operation)) {
                operation.retire();
            }
        }
        for operation in live.operations.iter() {
            operation.reinstate();
        }
    }

    /// Keep a replaced version, dropping the oldest beyond `versions_kept`.
    fn remember(&self, operation: Arc<LoadedOperation>) {
        let dropped: Vec<_> = {
            let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
            let kept = history.entry(operation.spec.name.clone()).or_default();
            kept.push_back(operation);
            let excess = kept.len().saturating_sub(self.settings.versions_kept);
            kept.drain(..excess).collect()
        };
        self.forget(dropped);
    }

    /// Remove the compile cache entries of versions no longer live nor kept, unless they
    /// came with the binary or another live or kept version has the same code.
    fn forget(&self, dropped: impl IntoIterator<Item = Arc<LoadedOperation>>) {
        let catalog = self.catalog.load();
        let history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        let bases = self.bases.lock().unwrap_or_else(|p| p.into_inner());
        let in_use = |hash: &str| {
            catalog.operations.iter().any(|op| op.content_hash == hash)
                || history.values().flatten().any(|op| op.content_hash == hash)
                || bases.values().any(|op| op.content_hash == hash)
        };
        for operation in dropped {
            if operation.source != Source::Builtin && !in_use(&operation.content_hash) {
                self.loader.cache().remove(&operation.content_hash);
            }
        }
    }

    /// Make a fresh instance of `operation` and run its `describe` — never `execute`, so
    /// nothing changes — under its limits and an instance slot: the health check's proof
    /// that the operation instantiates now.
    pub async fn instantiate(
        &self,
        operation: &LoadedOperation,
        request_id: &str,
    ) -> Result<(), GuestFailure> {
        let Some(_permit) = self.gate.try_acquire() else {
            return Err(GuestFailure::Overloaded(self.gate.max()));
        };
        run_guest(
            &operation.pre,
            &self.host,
            operation.limits,
            Arc::from(operation.spec.name.as_str()),
            Arc::from(request_id),
            GuestCall::Describe,
        )
        .await
        .map(drop)
        .map_err(|failure| match failure {
            GuestFailure::Overloaded(_) => GuestFailure::Overloaded(self.gate.max()),
            other => other,
        })
    }

    /// Call an operation with validated parameters.
    pub async fn call(
        &self,
        operation: &LoadedOperation,
        params: &Map<String, Value>,
        caller: &Caller,
    ) -> Result<JsonText, CallError> {
        let Some(_permit) = self.gate.try_acquire() else {
            return Err(CallError::Guest(GuestFailure::Overloaded(self.gate.max())));
        };
        let limits = operation.limits;
        let request = request(params, caller, limits.timeout);
        // The span of the call; the request's span (with its trace id) is its parent.
        let span = tracing::info_span!("operation", operation = %operation.spec.name, version = %operation.spec.version, request_id = %caller.request_id);
        let name = Arc::from(operation.spec.name.as_str());
        let run = async {
            match &operation.warm {
                Some(pool) => {
                    run_warm(pool, &operation.pre, &self.host, limits, name, request).await
                }
                None => {
                    let request_id = Arc::from(caller.request_id.as_str());
                    let call = GuestCall::Execute(request);
                    run_guest(&operation.pre, &self.host, limits, name, request_id, call).await
                }
            }
        };
        let drain = Duration::from_millis(self.settings.drain_ms);
        // Biased: a call that finishes when first polled never sets up the drain clock.
        let returned = tokio::select! {
            biased;
            returned = run.instrument(span) => returned,
            () = operation.retirement.drained(drain) => Err(GuestFailure::Retired(drain)),
        };
        match returned {
            Ok(GuestReturn::Executed(result)) => interpret(result, limits.max_response_bytes),
            Ok(GuestReturn::Config(_)) => unreachable!("execute returns a result"),
            Err(GuestFailure::Overloaded(_)) => {
                Err(CallError::Guest(GuestFailure::Overloaded(self.gate.max())))
            }
            Err(failure) => Err(CallError::Guest(failure)),
        }
    }
}

/// A version's revision: the start of its content hash (versions an author does not bump
/// still differ here).
pub fn revision(operation: &LoadedOperation) -> &str {
    &operation.content_hash[..12.min(operation.content_hash.len())]
}
