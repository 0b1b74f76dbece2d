//! The registry of loaded operations: the immutable [`Catalog`] (operations + route
//! table) kept by the component version store, and the executor that calls them. Readers
//! take a snapshot and keep it for the whole request, so a change never affects a request
//! in flight; a change builds the next catalog whole, checks it for route conflicts, and
//! only then swaps it in.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde_json::{Map, Value};
use tracing::Instrument;

use crate::cache::CompileCache;
use crate::concurrent::Site;
use crate::config::OperationSettings;
use crate::facts::HostFacts;
use crate::handler::OperationPre;
use crate::incoming::run_handler;
use crate::invoke::{
    CallError, CallLimits, Caller, GuestCall, GuestFailure, GuestReturn, HandlerResponse,
    InstanceGate, JsonText, interpret, request, run_guest, run_warm,
};
use crate::loader::{Instances, Interface, LoadError, LoadedOperation, Loader};
use crate::permits::Permits;
use crate::policy::Source;
use crate::routes::{RouteMatch, RouteTable};
use crate::warm::Owner;
use arsenal_engine::component::{LiveSet, Upkeep, VersionStore};

pub use arsenal_engine::component::revision;

/// What [`Registry::add`] did.
pub type Added = arsenal_engine::component::Added<LoadedOperation>;
/// What [`Registry::put`] did.
pub type Put = arsenal_engine::component::Put<LoadedOperation>;
/// What a replacement or rollback of an operation swapped.
pub type Swapped = arsenal_engine::component::Swapped<LoadedOperation>;

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

impl LiveSet for Catalog {
    type Item = LoadedOperation;

    fn items(&self) -> &[Arc<LoadedOperation>] {
        &self.operations
    }

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
}

impl Catalog {
    /// Every operation, sorted by name.
    pub fn operations(&self) -> &[Arc<LoadedOperation>] {
        &self.operations
    }

    pub fn get(&self, name: &str) -> Option<&Arc<LoadedOperation>> {
        self.find(name)
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

/// Loaded operations and the means to call them.
pub struct Registry {
    loader: Loader,
    host: Arc<HostFacts>,
    gate: Arc<InstanceGate>,
    settings: OperationSettings,
    /// The catalog, the earlier versions of each operation and the ones to restore.
    versions: VersionStore<Catalog>,
}

impl Registry {
    pub(crate) fn new(
        loader: Loader,
        host: Arc<HostFacts>,
        gate: Arc<InstanceGate>,
        settings: OperationSettings,
    ) -> Registry {
        let counted = host.clone();
        let caches = loader.caches().map(CompileCache::clone);
        let upkeep = Upkeep {
            published: Box::new(move |catalog: &Catalog| {
                counted
                    .operations_loaded
                    .store(catalog.operations.len() as u32, Ordering::Relaxed);
            }),
            dropped: Box::new(move |hash| caches.iter().for_each(|cache| cache.remove(hash))),
        };
        Registry {
            versions: VersionStore::new(settings.versions_kept, settings.disabled.clone(), upkeep),
            loader,
            host,
            gate,
            settings,
        }
    }

    /// The current catalog; keep it for the duration of a request.
    pub fn snapshot(&self) -> Arc<Catalog> {
        self.versions.snapshot()
    }

    /// The operations live, with their history: add, replace, roll back, unload, restore.
    pub fn versions(&self) -> &VersionStore<Catalog> {
        &self.versions
    }

    pub fn instances(&self) -> &Arc<InstanceGate> {
        &self.gate
    }

    pub fn loader(&self) -> &Loader {
        &self.loader
    }

    /// Load a component without publishing it (`arsenal check`, and the admin API, which
    /// compiles before it takes its turn to publish).
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
        self.versions.add(Arc::new(operation))
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
        self.versions.replace(name, Arc::new(operation))
    }

    /// Load a component and publish it: added when its name is new, replacing the live
    /// version otherwise (the watched directory's rule). The component is compiled once.
    pub async fn put(&self, bytes: &[u8], source: Source, origin: &str) -> Result<Put, LoadError> {
        let operation = self.inspect(bytes, source, origin).await?;
        self.versions.put(Arc::new(operation))
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
        let call = if operation.pre.describes() {
            GuestCall::Describe
        } else {
            GuestCall::Instantiate
        };
        run_guest(
            &operation.pre,
            &self.host,
            operation.limits,
            Arc::from(operation.spec.name.as_str()),
            Arc::from(request_id),
            call,
            None,
        )
        .await
        .map(drop)
        .map_err(|failure| match failure {
            GuestFailure::Overloaded(_) => GuestFailure::Overloaded(self.gate.max()),
            other => other,
        })
    }

    /// Where a call of the operation `name` (its component `pre`) runs, within `limits`.
    fn site<'a>(&'a self, pre: &'a OperationPre, limits: CallLimits, name: Arc<str>) -> Site<'a> {
        Site {
            pre,
            host: &self.host,
            gate: &self.gate,
            limits,
            operation: name,
        }
    }

    /// Call an operation with validated parameters.
    pub async fn call(
        &self,
        operation: &LoadedOperation,
        params: &Map<String, Value>,
        caller: &Caller,
    ) -> Result<JsonText, CallError> {
        if operation.interface == Interface::HttpHandler {
            return Err(CallError::ServedAtRoute {
                name: operation.spec.name.clone(),
                method: operation.spec.method.to_string(),
                path: operation.spec.route.template.clone(),
            });
        }
        // A call into a live concurrent instance takes no slot of its own: the instance
        // holds one for as long as it lives.
        let _permit = match operation.instances {
            Instances::Concurrent(_) => None,
            Instances::Fresh | Instances::Sequential(_) => match self.gate.try_acquire() {
                Some(permit) => Some(permit),
                None => {
                    return Err(CallError::Guest(GuestFailure::Overloaded(self.gate.max())));
                }
            },
        };
        let limits = operation.limits;
        let request = request(params, caller, limits.timeout);
        // The span of the call; the request's span (with its trace id) is its parent.
        let span = tracing::info_span!("operation", operation = %operation.spec.name, version = %operation.spec.version, request_id = %caller.request_id);
        let name = Arc::from(operation.spec.name.as_str());
        let request_id: Arc<str> = Arc::from(caller.request_id.as_str());
        let scope = caller.onward.scope(request_id.clone(), limits.timeout);
        let run = async {
            let pre = &operation.pre;
            match &operation.instances {
                Instances::Concurrent(pool) => {
                    pool.call(self.site(pre, limits, name), request, scope)
                        .await
                }
                Instances::Sequential(pool) => {
                    run_warm(pool, pre, &self.host, limits, name, request, scope).await
                }
                Instances::Fresh => {
                    let call = GuestCall::Execute(request);
                    let scope = Some(scope);
                    run_guest(pre, &self.host, limits, name, request_id, call, scope).await
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
            Ok(GuestReturn::Config(_) | GuestReturn::Instantiated) => {
                unreachable!("execute returns a result")
            }
            Err(GuestFailure::Overloaded(_)) => {
                Err(CallError::Guest(GuestFailure::Overloaded(self.gate.max())))
            }
            Err(failure) => Err(CallError::Guest(failure)),
        }
    }

    /// Serve an HTTP request to an operation that is a `wasi:http` handler (its
    /// parameters already validated), under the same instance gate, limits, span and
    /// drain deadline as [`Registry::call`].
    pub async fn serve(
        &self,
        operation: &LoadedOperation,
        request: http::Request<Bytes>,
        caller: &Caller,
    ) -> Result<HandlerResponse, CallError> {
        let limits = operation.limits;
        let span = tracing::info_span!("operation", operation = %operation.spec.name, version = %operation.spec.version, request_id = %caller.request_id);
        let name = Arc::from(operation.spec.name.as_str());
        let request_id: Arc<str> = Arc::from(caller.request_id.as_str());
        let scope = caller.onward.scope(request_id.clone(), limits.timeout);
        let pre = &operation.pre;
        let run = async {
            match &operation.instances {
                // A 0.3 handler: its instances take their own slots, reused or not.
                Instances::Concurrent(pool) => {
                    let owner = Owner::new(&caller.principal, &caller.roles);
                    let site = self.site(pre, limits, name);
                    pool.serve(site, &owner, request_id, request, scope).await
                }
                Instances::Fresh | Instances::Sequential(_) => {
                    let Some(permit) = self.gate.try_acquire() else {
                        return Err(GuestFailure::Overloaded(self.gate.max()).into());
                    };
                    let permits = Permits::for_caller(&caller.principal, &caller.roles);
                    run_handler(
                        pre, &self.host, limits, name, request_id, permits, request, scope, permit,
                    )
                    .await
                }
            }
        };
        let drain = Duration::from_millis(self.settings.drain_ms);
        tokio::select! {
            biased;
            served = run.instrument(span) => served.map_err(|error| match error {
                CallError::Guest(GuestFailure::Overloaded(_)) => {
                    CallError::Guest(GuestFailure::Overloaded(self.gate.max()))
                }
                other => other,
            }),
            () = operation.retirement.drained(drain) => Err(GuestFailure::Retired(drain).into()),
        }
    }
}
