//! Loading a component into an operation: structural checks, the capability policy,
//! compilation (through the cache), linking, `describe()` (through the cache, under the
//! same limits as any call), and parsing the config into a validated spec. Each step
//! refuses with a typed [`LoadError`] saying exactly why.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Semaphore;
use wasmtime::component::{HasSelf, Linker};

use crate::cache::{CompileCache, content_hash};
use crate::compiler::{CompileError, Compiler};
use crate::config::{LimitSettings, OperationOverride};
use crate::engine::OperationEngine;
use crate::facts::HostFacts;
use crate::handler::OperationPre;
use crate::inspect::{ComponentShape, ShapeError};
use crate::invoke::{CallLimits, GuestCall, GuestFailure, GuestReturn, run_guest};
use crate::limits::Refusal;
use crate::policy::{Capability, Grants, ImportProblem, ImportVerdict, Source, check_imports};
use crate::routes::RouteConflict;
use crate::spec::{ConfigProblem, Described, OperationSpec, RawConfig, caps};
use crate::store::CallState;
use crate::validation::ParamValidator;
use crate::warm::{WarmPool, WarmShelf};
use arsenal_engine::wasi::add_baseline_to_linker;

const MIB: usize = 1024 * 1024;
const WASM_PAGE: usize = 64 * 1024;

/// `describe` calls running at once; the engine's pool keeps this many slots beyond the
/// serving cap, so loading never takes a slot from a request.
const CONCURRENT_DESCRIBES: usize = 8;

/// Why a component was not loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    #[error("invalid component: {0}")]
    InvalidComponent(String),
    #[error("unsupported contract version {found}; this host supports {supported}")]
    UnsupportedContract { found: String, supported: String },
    #[error("unsupported imports: {}", .0.iter().map(|p| format!("{} ({})", p.import, p.reason)).collect::<Vec<_>>().join(", "))]
    UnsupportedImports(Vec<ImportProblem>),
    #[error("invalid config: {}", .0.iter().map(|p| format!("{}: {}", p.field, p.message)).collect::<Vec<_>>().join("; "))]
    InvalidConfig(Vec<ConfigProblem>),
    #[error("{0}")]
    RouteConflict(#[from] RouteConflict),
    #[error("operation `{0}` is already loaded")]
    Duplicate(String),
    #[error("no operation `{0}` is loaded")]
    NotLoaded(String),
    #[error("the component is operation `{found}`, not `{expected}`")]
    NameMismatch { expected: String, found: String },
    #[error("operation `{0}` has no earlier version to roll back to")]
    NoEarlierVersion(String),
    #[error("operation `{0}` has no version of its own (built in or from a directory) to restore")]
    NothingToRestore(String),
    #[error("{0}")]
    CompileTimeout(String),
    #[error("{0}")]
    Compiler(String),
}

impl From<CompileError> for LoadError {
    fn from(error: CompileError) -> LoadError {
        match error {
            CompileError::Timeout(_) => LoadError::CompileTimeout(error.to_string()),
            CompileError::Failed(reason) => LoadError::InvalidComponent(reason),
            CompileError::Child(_) => LoadError::Compiler(error.to_string()),
        }
    }
}

impl From<ShapeError> for LoadError {
    fn from(error: ShapeError) -> LoadError {
        match error {
            ShapeError::UnsupportedContract { found } => LoadError::UnsupportedContract {
                found,
                supported: crate::policy::CONTRACT_VERSIONS.join(", "),
            },
            other => LoadError::InvalidComponent(other.to_string()),
        }
    }
}

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
    pub contract_version: String,
    pub limits: CallLimits,
    pub(crate) pre: OperationPre,
    /// Kept instances, when the operation runs in warm-instance mode.
    pub warm: Option<WarmPool>,
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

/// A summary of a loaded component, for `arsenal check` and the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct LoadSummary {
    pub name: String,
    pub version: String,
    pub method: String,
    pub path: String,
    pub capabilities: Vec<Capability>,
    pub contract_version: String,
    pub content_hash: String,
}

/// Loads components for one engine.
pub struct Loader {
    engine: Arc<OperationEngine>,
    linker: Linker<CallState>,
    cache: CompileCache,
    compiler: Arc<Compiler>,
    grants: Grants,
    limits: LimitSettings,
    host: Arc<HostFacts>,
    describes: Semaphore,
    /// The bound on idle warm instances over all operations.
    shelf: Arc<WarmShelf>,
}

impl Loader {
    pub(crate) fn new(
        engine: Arc<OperationEngine>,
        cache: CompileCache,
        compiler: Arc<Compiler>,
        grants: Grants,
        limits: LimitSettings,
        host: Arc<HostFacts>,
    ) -> wasmtime::Result<Loader> {
        let mut linker = Linker::new(engine.engine());
        add_baseline_to_linker(&mut linker)?;
        arsenal_engine::guest::add_log_to_linker(&mut linker)?;
        crate::bindings::arsenal::operation::types::add_to_linker::<CallState, HasSelf<CallState>>(
            &mut linker,
            |state| state,
        )?;
        crate::capabilities::add_to_linker(&mut linker)?;
        Ok(Loader {
            engine,
            linker,
            cache,
            compiler,
            grants,
            host,
            describes: Semaphore::new(CONCURRENT_DESCRIBES),
            shelf: WarmShelf::new(
                limits.warm_instances,
                std::time::Duration::from_millis(limits.warm_idle_ms),
            ),
            limits,
        })
    }

    pub fn cache(&self) -> &CompileCache {
        &self.cache
    }

    /// The compiler of code from outside the binary (shared with the worker engine).
    pub fn compiler(&self) -> &Compiler {
        &self.compiler
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
        overrides: impl Fn(&str) -> Option<OperationOverride>,
    ) -> Result<LoadedOperation, LoadError> {
        let shape = ComponentShape::read(bytes)?;
        let contract_version = shape.contract_version()?.to_owned();
        let capabilities = match check_imports(&shape.imports, source, &self.grants) {
            ImportVerdict::Allowed(capabilities) => capabilities,
            ImportVerdict::Refused(problems) => {
                return Err(LoadError::UnsupportedImports(problems));
            }
        };

        let hash = content_hash(bytes);
        let component = self.compile(&hash, bytes, source).await?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|error| LoadError::InvalidComponent(format!("cannot link: {error:#}")))?;
        let pre = OperationPre::new(instance_pre, &contract_version).map_err(|error| {
            LoadError::InvalidComponent(format!(
                "does not implement the operation world: {error:#}"
            ))
        })?;

        let raw = match self
            .cache
            .describe(&hash)
            .and_then(|value| serde_json::from_value::<RawConfig>(value).ok())
        {
            Some(raw) => raw,
            None => {
                let raw = self.describe(&pre, origin).await?;
                self.cache.store_describe(
                    &hash,
                    serde_json::to_value(&raw).expect("config serializes"),
                );
                raw
            }
        };
        let mut spec = OperationSpec::parse(&raw).map_err(LoadError::InvalidConfig)?;
        let over = overrides(&spec.name);
        let warm = WarmPool::new(
            over.as_ref().and_then(|over| over.warm_instance_calls),
            &self.shelf,
        );
        let limits = self.call_limits(&spec, over);
        spec.bound_by_deadline(limits.timeout);
        // Checked here, not by instantiating: `describe` may come from the cache, and runs
        // before the operation's own cap is known.
        let initial_memory = component
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
            capabilities,
            source,
            origin: origin.to_owned(),
            content_hash: hash,
            contract_version,
            limits,
            pre,
            warm,
            retirement: Default::default(),
        })
    }

    /// The compiled component: from the cache when it holds a verified entry; else
    /// built-ins compile here, on a blocking thread (they come with the binary), and
    /// everything else through the [`Compiler`], bounded in time and number.
    async fn compile(
        &self,
        hash: &str,
        bytes: &[u8],
        source: Source,
    ) -> Result<wasmtime::component::Component, LoadError> {
        let engine = self.engine.engine().clone();
        let cached = self.cache.cached(&engine, hash);
        self.host.compile_cache.count(cached.is_some());
        if let Some(component) = cached {
            return Ok(component);
        }
        if source == Source::Builtin {
            let cache = self.cache.clone();
            let (hash, bytes) = (hash.to_owned(), bytes.to_vec());
            // Compiling is CPU-bound and can take seconds; keep it off the async workers.
            return tokio::task::spawn_blocking(move || cache.compile(&engine, &hash, &bytes))
                .await
                .map_err(|error| {
                    LoadError::InvalidComponent(format!("compilation panicked: {error}"))
                })?
                .map_err(|error| LoadError::InvalidComponent(format!("{error:#}")));
        }
        let artifact = self.compiler.compile(self.engine.recipe(), bytes).await?;
        self.cache.adopt(&engine, hash, &artifact).map_err(|error| {
            LoadError::Compiler(format!("the compiled artifact is unusable: {error:#}"))
        })
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
        )
        .await;
        match returned {
            Ok(GuestReturn::Config(Described::Config(raw))) => Ok(raw),
            Ok(GuestReturn::Config(Described::OverBudget)) => {
                Err(LoadError::InvalidConfig(vec![caps::over_whole_config()]))
            }
            Ok(GuestReturn::Executed(_)) => unreachable!("describe returns a config"),
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

impl LoadedOperation {
    /// The version stopped being live: its requests in flight go on the drain clock and
    /// it keeps no warm instances.
    pub(crate) fn retire(&self) {
        if self.retirement.retire()
            && let Some(pool) = &self.warm
        {
            pool.retire();
        }
    }

    /// The version is live again (a rollback to it): off the drain clock, keeping warm
    /// instances again.
    pub(crate) fn reinstate(&self) {
        if self.retirement.reinstate()
            && let Some(pool) = &self.warm
        {
            pool.reinstate();
        }
    }

    pub fn summary(&self) -> LoadSummary {
        LoadSummary {
            name: self.spec.name.clone(),
            version: self.spec.version.clone(),
            method: self.spec.method.to_string(),
            path: self.spec.route.template.clone(),
            capabilities: self.capabilities.clone(),
            contract_version: self.contract_version.clone(),
            content_hash: self.content_hash.clone(),
        }
    }
}
