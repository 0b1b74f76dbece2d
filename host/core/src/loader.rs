//! An operation as the component pipeline loads it (`arsenal_engine::component`): the
//! operation contract checks the handler export and its contract version — or finds a
//! `wasi:http/incoming-handler` — and finishes a linked component by reading its config
//! (running `describe()` through the cache, under the same limits as any call, or reading
//! the route an operator declared for an HTTP handler), parsing it into a validated spec
//! and working out its call limits. Each step refuses with a typed [`LoadError`] saying
//! exactly why.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Semaphore;
use wasmtime::component::Linker;

use crate::cache::CompileCache;
use crate::compiler::Compiler;
use crate::concurrent::{ConcurrentPool, ConcurrentReuse};
use crate::config::{LimitSettings, OperationOverride};
use crate::engine::OperationEngine;
use crate::facts::HostFacts;
use crate::handler::OperationPre;
use crate::inspect::{ComponentShape, Entry, HTTP_HANDLER_INTERFACE, HttpWorld, ShapeError};
use crate::invoke::{CallLimits, GuestCall, GuestFailure, GuestReturn, run_guest};
use crate::limits::Refusal;
use crate::policy::{Capability, Grants, Source};
use crate::spec::{
    ConfigProblem, DeclaredRoute, Described, Location, OperationSpec, RawConfig, caps,
};
use crate::store::CallState;
use crate::validation::ParamValidator;
use crate::warm::{WarmPool, WarmShelf};
use arsenal_engine::component::{Compilation, Contract, Kind, Linked, Pipeline, Versioned};
use arsenal_engine::wasi::add_baseline_to_linker;
use arsenal_wasi::{ReachError, Requests, WasiCapabilities};

pub use arsenal_engine::component::LoadError;

const MIB: usize = 1024 * 1024;
const WASM_PAGE: usize = 64 * 1024;

/// `describe` calls running at once; the engine's pool keeps this many slots beyond the
/// serving cap, so loading never takes a slot from a request.
const CONCURRENT_DESCRIBES: usize = 8;

/// Calls one instance of an asynchronous operation serves at once unless configured
/// (`wasmtime serve`'s default).
const DEFAULT_CONCURRENT_CALLS: u32 = 16;

/// A loaded, validated, ready-to-call operation. Immutable; replaced whole.
pub struct LoadedOperation {
    pub spec: OperationSpec,
    pub raw: RawConfig,
    pub validator: ParamValidator,
    /// Named capabilities the component imports (the baseline is not listed).
    pub capabilities: Vec<Capability>,
    pub source: Source,
    /// Where it came from: `builtin:echo`, a file path, `upload`.
    pub origin: String,
    /// Hex SHA-256 of the component bytes.
    pub content_hash: String,
    /// The contract version it was built against; for an HTTP handler, the exported
    /// `wasi:http/incoming-handler@…`.
    pub contract_version: String,
    pub interface: Interface,
    pub limits: CallLimits,
    pub(crate) pre: OperationPre,
    /// How its instances are kept between calls.
    pub instances: Instances,
    /// Set while the version is not live: its requests in flight are on the drain clock.
    pub(crate) retirement: crate::retirement::Retirement,
}

impl std::fmt::Debug for LoadedOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedOperation")
            .field("name", &self.spec.name)
            .field("origin", &self.origin)
            .finish()
    }
}

/// How an operation's instances are kept between calls.
#[derive(Debug)]
pub enum Instances {
    /// A fresh instance per call.
    Fresh,
    /// Kept instances, serving one call at a time each (`warm.rs`).
    Sequential(WarmPool),
    /// Live instances serving calls concurrently (`concurrent.rs`): an asynchronous
    /// operation's with reuse on, and every WASI 0.3 handler's.
    Concurrent(ConcurrentPool),
}

impl Instances {
    /// The kept instances of sequential reuse, if that is how.
    pub fn sequential(&self) -> Option<&WarmPool> {
        match self {
            Instances::Sequential(pool) => Some(pool),
            _ => None,
        }
    }

    /// The live instances of concurrent reuse, if that is how.
    pub fn concurrent(&self) -> Option<&ConcurrentPool> {
        match self {
            Instances::Concurrent(pool) => Some(pool),
            _ => None,
        }
    }

    fn retire(&self) {
        match self {
            Instances::Fresh => {}
            Instances::Sequential(pool) => pool.retire(),
            Instances::Concurrent(pool) => pool.retire(),
        }
    }

    fn reinstate(&self) {
        match self {
            Instances::Fresh => {}
            Instances::Sequential(pool) => pool.reinstate(),
            Instances::Concurrent(pool) => pool.reinstate(),
        }
    }
}

/// How the host calls an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Interface {
    /// Arsenal's contract: `execute` with the validated parameters as JSON, its data
    /// answered as `{"data": …}`.
    Contract,
    /// The same contract with an asynchronous `execute`: with instance reuse on, one
    /// instance serves several calls at once.
    AsyncContract,
    /// `wasi:http/incoming-handler`: handed the HTTP request, its own status, headers
    /// and body are the response.
    HttpHandler,
}

/// A summary of a loaded component, for `arsenal check` and the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct LoadSummary {
    pub name: String,
    pub version: String,
    pub method: String,
    pub path: String,
    pub capabilities: Vec<Capability>,
    pub contract_version: String,
    pub interface: Interface,
    pub content_hash: String,
}

/// Loads operations for one engine.
pub struct Loader {
    /// Kept for as long as operations run: it owns the epoch ticker that ends a guest
    /// running past its deadline.
    _engines: [Arc<OperationEngine>; 2],
    pipeline: Pipeline<CallState>,
    /// The pipeline of components exporting the asynchronous contract, on the engine
    /// with concurrency support.
    async_pipeline: Pipeline<CallState>,
    /// The standard capabilities and the operator's grants of them per component.
    wasi: Arc<WasiCapabilities>,
    limits: LimitSettings,
    host: Arc<HostFacts>,
    describes: Semaphore,
    /// The bound on idle warm instances over all operations.
    shelf: Arc<WarmShelf>,
}

impl Loader {
    pub(crate) fn new(
        engines: [(Arc<OperationEngine>, CompileCache); 2],
        compiler: Arc<Compiler>,
        grants: Grants,
        wasi: Arc<WasiCapabilities>,
        limits: LimitSettings,
        host: Arc<HostFacts>,
    ) -> wasmtime::Result<Loader> {
        let [(engine, cache), (async_engine, async_cache)] = engines;
        let pipeline = |engine: &OperationEngine, cache: CompileCache| {
            let compilation = Compilation::new(
                engine.engine().clone(),
                engine.recipe(),
                cache,
                compiler.clone(),
                host.compile_cache.clone(),
            );
            let linker = operation_linker(engine)?;
            Ok::<_, wasmtime::Error>(Pipeline::new(compilation, linker, grants.clone()))
        };
        Ok(Loader {
            pipeline: pipeline(&engine, cache)?,
            async_pipeline: pipeline(&async_engine, async_cache)?,
            _engines: [engine, async_engine],
            wasi,
            host,
            describes: Semaphore::new(CONCURRENT_DESCRIBES),
            shelf: WarmShelf::new(
                limits.warm_instances,
                std::time::Duration::from_millis(limits.warm_idle_ms),
            ),
            limits,
        })
    }

    /// Both engines' compile caches.
    pub fn caches(&self) -> [&CompileCache; 2] {
        [
            self.pipeline.compilation().cache(),
            self.async_pipeline.compilation().cache(),
        ]
    }

    pub fn cache(&self) -> &CompileCache {
        self.pipeline.compilation().cache()
    }

    /// The compiler of code from outside the binary (shared with the worker engine).
    pub fn compiler(&self) -> &Compiler {
        self.pipeline.compilation().compiler()
    }

    /// Idle warm instances kept over all operations.
    pub fn warm_idle(&self) -> u32 {
        self.shelf.idle()
    }

    /// Load `bytes` from `source`. `overrides` are the configured limits for the
    /// operation's name, looked up once the name is known.
    pub async fn load(
        &self,
        bytes: &[u8],
        source: Source,
        origin: &str,
        overrides: impl Fn(&str) -> Option<OperationOverride> + Sync,
    ) -> Result<LoadedOperation, LoadError> {
        let contract = OperationContract {
            loader: self,
            overrides,
        };
        // A component that is no component is refused the same way by either pipeline.
        let asynchronous = ComponentShape::read(bytes).is_ok_and(|shape| shape.is_async());
        let pipeline = if asynchronous {
            &self.async_pipeline
        } else {
            &self.pipeline
        };
        pipeline.load(&contract, bytes, source, origin).await
    }

    async fn describe(&self, pre: &OperationPre, origin: &str) -> Result<RawConfig, LoadError> {
        let _permit = self
            .describes
            .acquire()
            .await
            .expect("the describe semaphore is never closed");
        // The operation's own memory cap is unknown until `describe` says its name, so
        // `describe` runs with the host's ceiling; the cap is checked right after.
        let limits = CallLimits {
            memory_bytes: self.limits.max_memory_mib as usize * MIB,
            ..self.default_limits()
        };
        let returned = run_guest(
            pre,
            &self.host,
            limits,
            Arc::from(origin),
            Arc::from("describe"),
            GuestCall::Describe,
            None,
        )
        .await;
        match returned {
            Ok(GuestReturn::Config(Described::Config(raw))) => Ok(raw),
            Ok(GuestReturn::Config(Described::OverBudget)) => {
                Err(LoadError::InvalidConfig(vec![caps::over_whole_config()]))
            }
            Ok(GuestReturn::Executed(_) | GuestReturn::Instantiated) => {
                unreachable!("describe returns a config")
            }
            Err(GuestFailure::ResourceExhausted(Refusal::Memory { requested, cap })) => {
                Err(LoadError::InvalidComponent(format!(
                    "describe() asked for {} MiB of linear memory, over the ceiling of {} MiB",
                    requested.div_ceil(MIB),
                    cap / MIB
                )))
            }
            Err(failure) => Err(LoadError::InvalidComponent(format!(
                "describe() failed to {failure}"
            ))),
        }
    }

    /// The config of `pre` (the component of content `hash`), from the cache or by
    /// running `describe`.
    async fn described(
        &self,
        pre: &OperationPre,
        hash: &str,
        origin: &str,
    ) -> Result<RawConfig, LoadError> {
        let cache = self.cache();
        if let Some(raw) = cache
            .describe(hash)
            .and_then(|value| serde_json::from_value::<RawConfig>(value).ok())
        {
            return Ok(raw);
        }
        let raw = self.describe(pre, origin).await?;
        cache.store_describe(hash, serde_json::to_value(&raw).expect("config serializes"));
        Ok(raw)
    }

    /// Concurrent reuse of an asynchronous operation's instances, when the operator turned
    /// reuse on (`warm_instance_calls` over 1; 1 is one call per instance).
    fn concurrent_reuse(
        &self,
        calls: Option<u32>,
        over: Option<&OperationOverride>,
    ) -> Option<ConcurrentPool> {
        let max_calls = calls.filter(|calls| *calls > 0)?;
        let at_once = over
            .and_then(|over| over.warm_concurrent_calls)
            .unwrap_or(DEFAULT_CONCURRENT_CALLS)
            .clamp(1, max_calls);
        Some(ConcurrentPool::new(ConcurrentReuse {
            max_calls,
            at_once,
            across_principals: over
                .and_then(|over| over.warm_across_principals)
                .unwrap_or(false),
            max_idle: std::time::Duration::from_millis(self.limits.warm_idle_ms),
        }))
    }

    fn default_limits(&self) -> CallLimits {
        CallLimits {
            memory_bytes: self.limits.memory_mib as usize * MIB,
            table_elements: self.limits.table_elements as usize,
            timeout: std::time::Duration::from_millis(self.limits.timeout_ms as u64),
            max_response_bytes: self.limits.max_response_bytes,
        }
    }

    /// Configuration overrides win; then the operation's hints, capped by the host's
    /// ceiling (memory) and default (timeout); then the defaults.
    fn call_limits(&self, spec: &OperationSpec, over: Option<OperationOverride>) -> CallLimits {
        let over = over.unwrap_or_default();
        let ceiling = self.limits.max_memory_mib;
        let memory_mib = over
            .memory_mib
            .or(spec.memory_mib)
            .unwrap_or(self.limits.memory_mib)
            .min(ceiling);
        let timeout_ms = over
            .timeout_ms
            .or(spec.timeout_ms.map(|hint| hint.min(self.limits.timeout_ms)))
            .unwrap_or(self.limits.timeout_ms);
        CallLimits {
            memory_bytes: memory_mib as usize * MIB,
            timeout: std::time::Duration::from_millis(timeout_ms as u64),
            ..self.default_limits()
        }
    }
}

/// The operation contract: the component exports `arsenal:operation/handler` at a
/// supported version and describes itself, or it is a `wasi:http` handler whose route it
/// describes or the operator declared.
struct OperationContract<'a, F> {
    loader: &'a Loader,
    /// The configured limits for an operation's name.
    overrides: F,
}

/// What the contract reads from a component's shape.
enum Facts {
    /// Arsenal's contract, at this version; asynchronous or not.
    Contract(String, bool),
    /// A `wasi:http` handler.
    Http {
        export: String,
        world: HttpWorld,
        describe: Option<String>,
        /// The operator's declared route section, if any.
        route: Option<Vec<u8>>,
    },
}

impl<F> Contract<CallState> for OperationContract<'_, F>
where
    F: Fn(&str) -> Option<OperationOverride> + Sync,
{
    type Facts = Facts;
    type Loaded = LoadedOperation;

    fn inspect(&self, shape: &ComponentShape) -> Result<(Facts, Vec<String>), LoadError> {
        let entry = shape.entry().map_err(|error| match error {
            ShapeError::UnsupportedContract { found } => LoadError::UnsupportedContract {
                found,
                supported: crate::policy::CONTRACT_VERSIONS
                    .iter()
                    .map(|version| (*version).to_owned())
                    .collect(),
            },
            other => LoadError::InvalidComponent(other.to_string()),
        })?;
        Ok(match entry {
            Entry::Contract(_) | Entry::AsyncContract(_) if shape.route.is_some() => {
                return Err(LoadError::InvalidConfig(vec![ConfigProblem::new(
                    "route",
                    "declared for a component that describes itself through \
                     `arsenal:operation/handler`: only a wasi:http handler is given a route"
                        .to_owned(),
                )]));
            }
            Entry::Contract(version) => (Facts::Contract(version, false), shape.imports.clone()),
            Entry::AsyncContract(version) => {
                (Facts::Contract(version, true), shape.imports.clone())
            }
            // `wasi:http/types` is what a handler is served through: it is not judged
            // as outbound HTTP, which `wasi:http/outgoing-handler` still is.
            Entry::HttpHandler {
                export,
                world,
                describe,
            } => (
                Facts::Http {
                    export,
                    world,
                    describe,
                    route: shape.route.clone(),
                },
                shape
                    .imports
                    .iter()
                    .filter(|import| !provided_to_handlers(import))
                    .cloned()
                    .collect(),
            ),
        })
    }

    async fn finish(&self, linked: Linked<CallState, Facts>) -> Result<LoadedOperation, LoadError> {
        let loader = self.loader;
        let hash = linked.content_hash;
        let (pre, raw, contract_version, interface) = match linked.facts {
            Facts::Contract(version, asynchronous) => {
                let pre =
                    OperationPre::new(linked.pre, &version, asynchronous).map_err(|error| {
                        LoadError::InvalidComponent(format!(
                            "does not implement the operation world: {error:#}"
                        ))
                    })?;
                let raw = loader.described(&pre, &hash, &linked.origin).await?;
                let interface = if asynchronous {
                    Interface::AsyncContract
                } else {
                    Interface::Contract
                };
                (pre, raw, version, interface)
            }
            Facts::Http {
                export,
                world,
                describe,
                route,
            } => {
                let pre = OperationPre::http(linked.pre, world, describe.as_deref()).map_err(
                    |error| {
                        let interface = export.split('@').next().unwrap_or(HTTP_HANDLER_INTERFACE);
                        LoadError::InvalidComponent(format!(
                            "does not implement `{interface}`: {error:#}"
                        ))
                    },
                )?;
                // The operator's declaration has the last word over the component's own.
                let raw = match route {
                    Some(section) => DeclaredRoute::from_section(&section)
                        .map_err(|error| {
                            LoadError::InvalidConfig(vec![ConfigProblem::new(
                                "route",
                                error.to_string(),
                            )])
                        })?
                        .to_raw_config(),
                    None if pre.describes() => {
                        loader.described(&pre, &hash, &linked.origin).await?
                    }
                    None => return Err(LoadError::InvalidConfig(vec![no_route()])),
                };
                (pre, raw, export, Interface::HttpHandler)
            }
        };
        let mut spec = OperationSpec::parse(&raw).map_err(LoadError::InvalidConfig)?;
        if interface == Interface::HttpHandler {
            let body_params = body_params(&spec);
            if !body_params.is_empty() {
                return Err(LoadError::InvalidConfig(body_params));
            }
        }
        let requests = Requests {
            buckets: &spec.buckets,
            outbound_hosts: &spec.outbound_hosts,
        };
        let reach = loader
            .wasi
            .for_operation(&spec.name, linked.source, &linked.capabilities, requests)
            .map_err(|error| LoadError::InvalidConfig(reach_problems(error)))?;
        let pre = pre.reaching(reach);
        let over = (self.overrides)(&spec.name);
        let calls = over.as_ref().and_then(|over| over.warm_instance_calls);
        let instances = match interface {
            Interface::Contract => {
                let across = over.as_ref().and_then(|over| over.warm_across_principals);
                let calls = crate::warm::sequential_calls(calls, linked.source);
                WarmPool::new(calls, across.unwrap_or(false), &loader.shelf)
                    .map_or(Instances::Fresh, Instances::Sequential)
            }
            Interface::AsyncContract => {
                let calls = calls.filter(|calls| *calls > 1);
                loader
                    .concurrent_reuse(calls, over.as_ref())
                    .map_or(Instances::Fresh, Instances::Concurrent)
            }
            // A 0.3 handler's instance runs its event loop while its body is sent, reused
            // or not (one call per instance).
            Interface::HttpHandler if pre.service().is_some() => {
                let calls = Some(calls.unwrap_or(1).max(1));
                loader
                    .concurrent_reuse(calls, over.as_ref())
                    .map_or(Instances::Fresh, Instances::Concurrent)
            }
            // A wasi:http 0.2 instance serves one request: 0.2 handlers always run fresh.
            Interface::HttpHandler => Instances::Fresh,
        };
        let limits = loader.call_limits(&spec, over);
        spec.bound_by_deadline(limits.timeout);
        // Checked here, not by instantiating: `describe` may come from the cache, and runs
        // before the operation's own cap is known.
        let initial_memory = linked
            .component
            .resources_required()
            .and_then(|resources| resources.max_initial_memory_size)
            .map_or(0, |pages| pages as usize * WASM_PAGE);
        if initial_memory > limits.memory_bytes {
            return Err(LoadError::InvalidComponent(format!(
                "its initial linear memory of {} MiB is over the memory cap of {} MiB",
                initial_memory.div_ceil(MIB),
                limits.memory_bytes / MIB
            )));
        }
        Ok(LoadedOperation {
            validator: ParamValidator::compile(&spec),
            spec,
            raw,
            capabilities: linked.capabilities,
            source: linked.source,
            origin: linked.origin,
            content_hash: hash,
            contract_version,
            interface,
            limits,
            pre,
            instances,
            retirement: Default::default(),
        })
    }
}

/// Everything an operation may import, linked for `engine`. On the engine with
/// concurrency support, WASI 0.3 too (its clocks' `wait-for` is how an asynchronous
/// operation waits without holding its instance; `wasi:http` 0.3 for its handlers).
fn operation_linker(engine: &OperationEngine) -> wasmtime::Result<Linker<CallState>> {
    let mut linker = Linker::new(engine.engine());
    add_baseline_to_linker(&mut linker)?;
    arsenal_engine::guest::add_log_to_linker(&mut linker)?;
    arsenal_engine::guest::add_types_to_linker(&mut linker)?;
    crate::capabilities::add_to_linker(&mut linker)?;
    arsenal_wasi::keyvalue::add_to_linker(&mut linker)?;
    arsenal_wasi::http::add_to_linker(&mut linker)?;
    arsenal_wasi::config::add_to_linker(&mut linker)?;
    if engine.recipe() == crate::engine::EngineRecipe::AsyncOperations {
        wasmtime_wasi::p3::add_to_linker(&mut linker)?;
        arsenal_wasi::http::add_p3_to_linker(&mut linker)?;
    }
    Ok(linker)
}

/// The imports every `wasi:http` handler is given, outside the capability policy.
fn provided_to_handlers(import: &str) -> bool {
    import.starts_with("wasi:http/types@")
}

/// Why an HTTP handler with no route of its own or declared is refused.
fn no_route() -> ConfigProblem {
    ConfigProblem::new(
        "route",
        format!(
            "a `{HTTP_HANDLER_INTERFACE}` component needs a route: export \
             `arsenal:operation/describe`, or declare its name, method and path when loading \
             it (the admin upload's `name`, `method` and `path` query parameters, or \
             `[[operations.http_handlers]]` in the configuration)"
        ),
    )
}

/// The parameters an HTTP handler declares in the body, which it reads itself.
fn body_params(spec: &OperationSpec) -> Vec<ConfigProblem> {
    spec.params
        .iter()
        .enumerate()
        .filter(|(_, param)| param.location == Location::Body)
        .map(|(index, _)| {
            ConfigProblem::new(
                &format!("params[{index}].location"),
                "an HTTP handler reads its own body: declare path and query parameters only"
                    .to_owned(),
            )
        })
        .collect()
}

impl Versioned for LoadedOperation {
    const KIND: Kind = Kind::Operation;

    fn name(&self) -> &str {
        &self.spec.name
    }

    fn version(&self) -> &str {
        &self.spec.version
    }

    fn content_hash(&self) -> &str {
        &self.content_hash
    }

    fn source(&self) -> Source {
        self.source
    }

    fn origin(&self) -> &str {
        &self.origin
    }

    /// Its requests in flight go on the drain clock and it keeps no warm instances.
    fn retire(&self) {
        if self.retirement.retire() {
            self.instances.retire();
        }
    }

    /// Off the drain clock, keeping warm instances again.
    fn reinstate(&self) {
        if self.retirement.reinstate() {
            self.instances.reinstate();
        }
    }
}

/// How an operation's instances are reused, as the catalogue shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum InstanceReuse {
    /// A fresh instance per call.
    Fresh,
    /// An instance serves up to `max_calls` calls, one at a time.
    Sequential {
        max_calls: u32,
        across_principals: bool,
    },
    /// An instance of an asynchronous operation serves up to `at_once` calls at the same
    /// time and `max_calls` in all.
    Concurrent {
        max_calls: u32,
        at_once: u32,
        across_principals: bool,
    },
}

impl LoadedOperation {
    /// How its instances are reused.
    pub fn reuse(&self) -> InstanceReuse {
        match &self.instances {
            Instances::Concurrent(pool) if pool.reuse().max_calls > 1 => {
                let reuse = pool.reuse();
                InstanceReuse::Concurrent {
                    max_calls: reuse.max_calls,
                    at_once: reuse.at_once,
                    across_principals: reuse.across_principals,
                }
            }
            Instances::Sequential(pool) => {
                let facts = pool.facts();
                InstanceReuse::Sequential {
                    max_calls: facts.max_calls,
                    across_principals: facts.across_principals,
                }
            }
            Instances::Fresh | Instances::Concurrent(_) => InstanceReuse::Fresh,
        }
    }

    /// What it reaches of the standard capabilities: its requests ∩ the operator's grants.
    pub fn reach(&self) -> &arsenal_wasi::ComponentReach {
        self.pre.reach()
    }

    pub fn summary(&self) -> LoadSummary {
        LoadSummary {
            name: self.spec.name.clone(),
            version: self.spec.version.clone(),
            method: self.spec.method.to_string(),
            path: self.spec.route.template.clone(),
            capabilities: self.capabilities.clone(),
            contract_version: self.contract_version.clone(),
            interface: self.interface,
            content_hash: self.content_hash.clone(),
        }
    }
}

/// The config fields a component's requests name, for a request beyond its grant.
fn reach_problems(error: ReachError) -> Vec<ConfigProblem> {
    let destinations = error
        .destinations
        .into_iter()
        .map(|(index, refused)| ConfigProblem {
            field: format!("outbound_hosts[{index}]"),
            message: refused.to_string(),
            cap: None,
        });
    let buckets = error.buckets.map(|refused| ConfigProblem {
        field: "buckets".to_owned(),
        message: refused.to_string(),
        cap: None,
    });
    destinations.chain(buckets).collect()
}
