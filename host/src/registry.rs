//! The registry of loaded operations: an immutable [`Catalog`] (operations + route
//! table) published through `arc-swap`. Readers take a snapshot and keep it for the whole
//! request, so a change never affects a request in flight; writers build the next catalog
//! whole, check it for conflicts, and only then swap it in.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use arc_swap::ArcSwap;
use http::Method;
use serde_json::{Map, Value};

use crate::capabilities::{HostFacts, Source};
use crate::config::OperationSettings;
use crate::invoke::{
    CallError, Caller, GuestCall, GuestFailure, GuestReturn, InstanceGate, interpret, request,
    run_guest,
};
use crate::loader::{LoadError, LoadedOperation, Loader};
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
    fn build(operations: Vec<Arc<LoadedOperation>>) -> Result<Catalog, LoadError> {
        let (routes, conflicts) =
            RouteTable::build(operations.iter().map(|op| &op.spec).enumerate());
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
        if self.settings.disabled.contains(&operation.spec.name) {
            tracing::info!(operation = %operation.spec.name, origin, "operation disabled by configuration");
            return Ok(Added::Disabled(operation.spec.name.clone()));
        }
        let operation = Arc::new(operation);
        let _guard = self.changes.lock().await;
        let current = self.catalog.load();
        if current.get(&operation.spec.name).is_some() {
            return Err(LoadError::Duplicate(operation.spec.name.clone()));
        }
        let mut operations: Vec<_> = current.operations.clone();
        operations.push(operation.clone());
        operations.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
        let next = Catalog::build(operations)?;
        self.host
            .operations_loaded
            .store(next.operations.len() as u32, Ordering::Relaxed);
        self.catalog.store(Arc::new(next));
        tracing::info!(operation = %operation.spec.name, version = %operation.spec.version, route = %format!("{} {}", operation.spec.method, operation.spec.route.template), origin, "operation loaded");
        Ok(Added::Published(operation))
    }

    /// Call an operation with validated parameters.
    pub async fn call(
        &self,
        operation: &LoadedOperation,
        params: &Map<String, Value>,
        caller: &Caller,
    ) -> Result<Value, CallError> {
        let Some(_permit) = self.gate.try_acquire() else {
            return Err(CallError::Guest(GuestFailure::Overloaded(self.gate.max())));
        };
        let limits = operation.limits;
        let request = request(params, caller, limits.timeout);
        let returned = run_guest(
            &operation.pre,
            &self.host,
            limits,
            Arc::from(operation.spec.name.as_str()),
            Arc::from(caller.request_id.as_str()),
            GuestCall::Execute(request),
        )
        .await;
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
