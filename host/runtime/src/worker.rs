//! Wasm worker processes on their own engine: start (`init`), handle batches of events,
//! hibernate (snapshot the state through the worker's `state` export, drop the instance)
//! and wake (a fresh instance, `restore`). Each worker has its own memory cap and a
//! deadline per call; a trap is a crash with a reason, and a crashed worker is never run
//! again.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasSelf, Instance, InstancePre, Linker};
use wasmtime::{Engine, Store};

use super::sandbox::Sandbox;
use crate::state::ProcessState;
use crate::{Pid, ProcessContext, ProcessTable};
use arsenal_engine::bindings::process::{
    WorkerProcess, WorkerProcessIndices, arsenal::process::types as wit,
};
use arsenal_engine::cache::CompileCache;
use arsenal_engine::compiler::Compiler;
use arsenal_engine::engine::{EngineRecipe, EpochTicker, WorkerPool, worker_engine};
use arsenal_engine::failure::{GuestFailure, arm_deadline, classify};
use arsenal_engine::guest::add_log_to_linker;
use arsenal_engine::inspect::ComponentShape;
use arsenal_engine::limits::CallLimiter;
use arsenal_engine::lookups::CacheLookups;
use arsenal_engine::policy::{ImportVerdict, Source, check_imports};
use arsenal_engine::wasi::add_baseline_to_linker;
use std::sync::Weak;

const STATE_INTERFACE: &str = "arsenal:process/state@0.1.0";
const WORKER_INTERFACE: &str = "arsenal:process/worker@0.1.0";
/// The worker interface at any version, up to the `@`.
const WORKER_INTERFACE_UNVERSIONED: &str = "arsenal:process/worker@";
const PROCESS_INTERFACE: &str = "arsenal:process/process@";
const FILESYSTEM_PACKAGE: &str = "wasi:filesystem/";

/// Limits of one worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerLimits {
    /// Linear memory cap, in bytes.
    pub memory_bytes: usize,
    /// Table elements cap.
    pub table_elements: usize,
    /// Deadline of one `init`, `handle`, `snapshot` or `restore` call.
    pub call_timeout: Duration,
}

impl Default for WorkerLimits {
    /// 16 MiB of memory and 1 s per call: workers are many and small.
    fn default() -> Self {
        WorkerLimits {
            memory_bytes: 16 << 20,
            table_elements: 10_000,
            call_timeout: Duration::from_secs(1),
        }
    }
}

/// Why a worker failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    #[error("invalid worker component: {0}")]
    InvalidComponent(String),
    #[error("the worker crashed: {0}")]
    Crashed(String),
    #[error("the worker ran past its deadline of {0:?}")]
    Timeout(Duration),
    #[error("the worker exhausted a resource: {0}")]
    ResourceExhausted(arsenal_engine::limits::Refusal),
    /// The worker pool's slots are all held by resident workers (`limits.worker_slots`).
    #[error("no worker slot is free: as many workers are resident as `limits.worker_slots` allows")]
    NoSlot,
    #[error("the worker does not export `{STATE_INTERFACE}`, so it cannot hibernate")]
    NotStateful,
    #[error("unsupported imports: {}", .0.join(", "))]
    UnsupportedImports(Vec<String>),
    #[error(
        "unsupported contract version {found}; this host supports {}",
        supported_contract()
    )]
    UnsupportedContract { found: String },
    #[error("{0}")]
    CompileTimeout(String),
    #[error("{0}")]
    Compiler(String),
}

impl From<arsenal_engine::compiler::CompileError> for WorkerError {
    fn from(error: arsenal_engine::compiler::CompileError) -> WorkerError {
        use arsenal_engine::compiler::CompileError;
        match error {
            CompileError::Timeout(_) => WorkerError::CompileTimeout(error.to_string()),
            CompileError::Failed(reason) => WorkerError::InvalidComponent(reason),
            CompileError::Child(_) => WorkerError::Compiler(error.to_string()),
        }
    }
}

/// The worker contract version this host accepts.
pub fn supported_contract() -> &'static str {
    WORKER_INTERFACE
        .strip_prefix(WORKER_INTERFACE_UNVERSIONED)
        .expect("the worker interface is versioned")
}

/// What a worker component offers, read before it is compiled.
#[derive(Debug, Clone, Copy)]
struct Checked {
    stateful: bool,
    uses_filesystem: bool,
}

/// A worker made live by [`WorkerEngine::load`], and the version it replaced.
pub struct Loaded {
    pub code: Arc<WorkerCode>,
    pub previous: Option<Arc<WorkerCode>>,
}

impl From<GuestFailure> for WorkerError {
    fn from(failure: GuestFailure) -> WorkerError {
        match failure {
            GuestFailure::Timeout(timeout) => WorkerError::Timeout(timeout),
            GuestFailure::ResourceExhausted(refusal) => WorkerError::ResourceExhausted(refusal),
            GuestFailure::Crashed(reason) => WorkerError::Crashed(reason),
            // Only the worker pool refuses a worker an instance.
            GuestFailure::Overloaded(_) => WorkerError::NoSlot,
            GuestFailure::Denied(denied) => WorkerError::Crashed(denied.to_string()),
            // Only operation calls are drained; a worker's code lives in its process.
            GuestFailure::Retired(_) => WorkerError::Crashed(failure.to_string()),
        }
    }
}

/// What a worker receives, host side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Message {
        from: Option<Pid>,
        payload: String,
    },
    Call {
        from: Option<Pid>,
        payload: String,
    },
    Timer {
        id: u64,
        payload: String,
    },
    /// A linked process exited (delivered to processes that trap exits).
    Exit {
        from: Pid,
        reason: ExitReason,
    },
    /// A monitored process exited.
    Down {
        from: Pid,
        reason: ExitReason,
    },
}

/// Why a process exited, following OTP.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum ExitReason {
    /// Finished its work.
    Normal,
    /// Stopped by its supervisor or an operator.
    Shutdown,
    /// Killed unconditionally; cannot be trapped.
    Kill,
    /// Crashed, with why.
    Crash(String),
}

impl ExitReason {
    fn into_wit(self) -> wit::ExitReason {
        match self {
            ExitReason::Normal => wit::ExitReason::Normal,
            ExitReason::Shutdown => wit::ExitReason::Shutdown,
            ExitReason::Kill => wit::ExitReason::Kill,
            ExitReason::Crash(reason) => wit::ExitReason::Crash(reason),
        }
    }
}

impl std::fmt::Display for ExitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitReason::Normal => f.write_str("normal"),
            ExitReason::Shutdown => f.write_str("shutdown"),
            ExitReason::Kill => f.write_str("killed"),
            ExitReason::Crash(reason) => write!(f, "crashed: {reason}"),
        }
    }
}

impl Event {
    fn into_wit(self) -> wit::Event {
        match self {
            Event::Message { from, payload } => wit::Event::Message(wit::Message {
                from: from.map(|pid| pid.to_string()),
                payload,
            }),
            Event::Call { from, payload } => wit::Event::Call(wit::Message {
                from: from.map(|pid| pid.to_string()),
                payload,
            }),
            Event::Timer { id, payload } => wit::Event::Timer(wit::TimerFired { id, payload }),
            Event::Exit { from, reason } => wit::Event::Exit(wit::ExitSignal {
                from: from.to_string(),
                reason: reason.into_wit(),
            }),
            Event::Down { from, reason } => wit::Event::Down(wit::ExitSignal {
                from: from.to_string(),
                reason: reason.into_wit(),
            }),
        }
    }
}

/// The engine and linker for workers.
pub struct WorkerEngine {
    /// Loaded worker components by name.
    loaded: std::sync::RwLock<std::collections::BTreeMap<String, Arc<WorkerCode>>>,
    /// Earlier versions of each worker, oldest first, for rollback.
    history: std::sync::Mutex<
        std::collections::HashMap<String, std::collections::VecDeque<Arc<WorkerCode>>>,
    >,
    /// The engine, made when the first worker is compiled (see [`WorkerRuntime`]).
    runtime: std::sync::OnceLock<WorkerRuntime>,
    /// Held while the runtime is being made, so it is made once.
    making: std::sync::Mutex<()>,
    pool: WorkerPool,
    tick: Duration,
    cache_root: Option<std::path::PathBuf>,
    compiler: Arc<Compiler>,
    /// Earlier versions kept per worker for rollback.
    versions_kept: usize,
    /// Compile-cache lookups of worker components, counted with the host's.
    lookups: Arc<CacheLookups>,
    grants: arsenal_engine::policy::Grants,
    limits: WorkerLimits,
}

/// The worker engine proper, its linker and its compile cache. Made when the first worker
/// is compiled rather than with the host: reserving the pool's slots costs one `mprotect`
/// per fiber stack's guard page, which a host that runs no workers, or has not yet,
/// should not pay at start.
struct WorkerRuntime {
    engine: Engine,
    linker: Linker<ProcessState>,
    cache: CompileCache,
    _ticker: EpochTicker,
}

impl WorkerRuntime {
    fn new(
        pool: WorkerPool,
        tick: Duration,
        cache_root: Option<&std::path::Path>,
    ) -> wasmtime::Result<WorkerRuntime> {
        let (engine, ticker) = worker_engine(pool, tick)?;
        let cache = CompileCache::new(cache_root, &arsenal_engine::engine::fingerprint(&engine));
        let mut linker = Linker::new(&engine);
        add_baseline_to_linker(&mut linker)?;
        arsenal_engine::wasi::add_filesystem_to_linker(&mut linker)?;
        arsenal_engine::bindings::process::arsenal::process::types::add_to_linker::<
            ProcessState,
            HasSelf<ProcessState>,
        >(&mut linker, |state| state)?;
        arsenal_engine::bindings::process::arsenal::process::process::add_to_linker::<
            ProcessState,
            HasSelf<ProcessState>,
        >(&mut linker, |state| state)?;
        add_log_to_linker(&mut linker)?;
        Ok(WorkerRuntime {
            engine,
            linker,
            cache,
            _ticker: ticker,
        })
    }
}

/// A compiled worker component, shared by every process running it.
pub struct WorkerCode {
    name: String,
    version: String,
    /// Hex SHA-256 of the component bytes.
    content_hash: String,
    source: Source,
    instance_pre: InstancePre<ProcessState>,
    /// Where the worker interface's exports are, found once: bindgen's
    /// `WorkerProcess::new` looks them up by name again for every instance.
    indices: WorkerProcessIndices,
    stateful: bool,
    /// It imports `wasi:filesystem`: only a sandbox granting a directory may run it.
    uses_filesystem: bool,
}

impl WorkerCode {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn content_hash(&self) -> &str {
        &self.content_hash
    }

    pub fn source(&self) -> Source {
        self.source
    }

    /// Whether the worker exports `state` (can hibernate and upgrade with its state).
    pub fn is_stateful(&self) -> bool {
        self.stateful
    }

    /// Whether the worker imports `wasi:filesystem`.
    pub fn uses_filesystem(&self) -> bool {
        self.uses_filesystem
    }
}

impl WorkerEngine {
    #[expect(
        clippy::too_many_arguments,
        reason = "the host's settings handed over one by one by `Host::new`, its only caller"
    )]
    pub fn new(
        lookups: Arc<CacheLookups>,
        grants: arsenal_engine::policy::Grants,
        limits: WorkerLimits,
        slots: u32,
        tick: Duration,
        cache_root: Option<&std::path::Path>,
        compiler: Arc<Compiler>,
        versions_kept: usize,
    ) -> WorkerEngine {
        let max_memory_bytes = limits.memory_bytes.max(1 << 20);
        WorkerEngine {
            loaded: Default::default(),
            history: Default::default(),
            runtime: std::sync::OnceLock::new(),
            making: std::sync::Mutex::new(()),
            pool: WorkerPool {
                slots,
                max_memory_bytes,
                table_elements: limits.table_elements,
            },
            tick,
            cache_root: cache_root.map(std::path::Path::to_path_buf),
            compiler,
            versions_kept,
            lookups,
            grants,
            limits,
        }
    }

    /// What a compiler child process builds its engine from: this engine's settings.
    fn recipe(&self) -> EngineRecipe {
        EngineRecipe::Workers {
            max_memory_bytes: self.pool.max_memory_bytes,
        }
    }

    /// The runtime, made on first use. Making it blocks for as long as reserving the pool
    /// takes (once per host).
    fn runtime(&self) -> Result<&WorkerRuntime, WorkerError> {
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime);
        }
        let _making = self.making.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime);
        }
        let runtime = WorkerRuntime::new(self.pool, self.tick, self.cache_root.as_deref())
            .map_err(|error| {
                WorkerError::Compiler(format!("the worker engine cannot be made: {error:#}"))
            })?;
        Ok(self.runtime.get_or_init(|| runtime))
    }

    /// Check and compile a worker component here and now (through the cache): for
    /// built-in and trusted code. Uploaded code goes through [`WorkerEngine::load`].
    pub fn compile(
        &self,
        name: &str,
        version: &str,
        bytes: &[u8],
        source: Source,
    ) -> Result<Arc<WorkerCode>, WorkerError> {
        let checked = self.check(bytes, source)?;
        let hash = arsenal_engine::cache::content_hash(bytes);
        let runtime = self.runtime()?;
        let (component, _hit) = runtime
            .cache
            .component(&runtime.engine, &hash, bytes)
            .map_err(|error| WorkerError::InvalidComponent(format!("{error:#}")))?;
        self.link(name, version, &hash, source, component, checked)
    }

    /// Its imports must be the baseline plus the `process` interface (and `wasi:filesystem`,
    /// checked when it starts), and it must export the worker interface.
    fn check(&self, bytes: &[u8], source: Source) -> Result<Checked, WorkerError> {
        let invalid = |message: String| WorkerError::InvalidComponent(message);
        let shape = ComponentShape::read(bytes).map_err(|error| invalid(error.to_string()))?;
        if !shape
            .exports
            .iter()
            .any(|export| export == WORKER_INTERFACE)
        {
            // Built against another version of the contract: say which, and which this
            // host takes.
            if let Some(found) = shape
                .exports
                .iter()
                .find_map(|export| export.strip_prefix(WORKER_INTERFACE_UNVERSIONED))
            {
                return Err(WorkerError::UnsupportedContract {
                    found: found.to_owned(),
                });
            }
            return Err(invalid(format!("it does not export `{WORKER_INTERFACE}`")));
        }
        // The `process` interface is every worker's own baseline (never an operation's);
        // `wasi:filesystem` is checked when the worker starts (a sandbox must grant it).
        let uses_filesystem = shape
            .imports
            .iter()
            .any(|import| import.starts_with(FILESYSTEM_PACKAGE));
        let imports: Vec<String> = shape
            .imports
            .iter()
            .filter(|import| {
                !import.starts_with(PROCESS_INTERFACE) && !import.starts_with(FILESYSTEM_PACKAGE)
            })
            .cloned()
            .collect();
        if let ImportVerdict::Refused(problems) = check_imports(&imports, source, &self.grants) {
            return Err(WorkerError::UnsupportedImports(
                problems
                    .iter()
                    .map(|p| format!("{} ({})", p.import, p.reason))
                    .collect(),
            ));
        }
        Ok(Checked {
            stateful: shape.exports.iter().any(|export| export == STATE_INTERFACE),
            uses_filesystem,
        })
    }

    fn link(
        &self,
        name: &str,
        version: &str,
        hash: &str,
        source: Source,
        component: wasmtime::component::Component,
        checked: Checked,
    ) -> Result<Arc<WorkerCode>, WorkerError> {
        let invalid = |message: String| WorkerError::InvalidComponent(message);
        let instance_pre = self
            .runtime()?
            .linker
            .instantiate_pre(&component)
            .map_err(|error| invalid(format!("cannot link: {error:#}")))?;
        let indices = WorkerProcessIndices::new(&instance_pre)
            .map_err(|error| invalid(format!("{error:#}")))?;
        Ok(Arc::new(WorkerCode {
            name: name.to_owned(),
            version: version.to_owned(),
            content_hash: hash.to_owned(),
            source,
            instance_pre,
            indices,
            stateful: checked.stateful,
            uses_filesystem: checked.uses_filesystem,
        }))
    }

    /// Check and compile a worker (built-ins here, anything else through the bounded
    /// compiler, both through the cache) and make it available under `name`, replacing
    /// the live version for processes started from now on. Its version is the start of
    /// its content hash. Returns the new code and the version it replaced.
    pub async fn load(
        &self,
        name: &str,
        bytes: &[u8],
        source: Source,
    ) -> Result<Loaded, WorkerError> {
        let code = self.prepare(name, bytes, source).await?;
        Ok(self.install(code))
    }

    /// Check and compile a worker component for `name` without making it available: the
    /// first half of [`WorkerEngine::load`], split so a caller can order installations
    /// (and what it records of them) without holding anything while the code compiles.
    pub async fn prepare(
        &self,
        name: &str,
        bytes: &[u8],
        source: Source,
    ) -> Result<Arc<WorkerCode>, WorkerError> {
        let hash = arsenal_engine::cache::content_hash(bytes);
        let version = hash[..12].to_owned();
        Ok(if source == Source::Builtin {
            self.compile(name, &version, bytes, source)?
        } else {
            let checked = self.check(bytes, source)?;
            let runtime = self.runtime()?;
            let cached = runtime.cache.cached(&runtime.engine, &hash);
            self.lookups.count(cached.is_some());
            let component = match cached {
                Some(component) => component,
                None => {
                    let artifact = self.compiler.compile(self.recipe(), bytes).await?;
                    runtime
                        .cache
                        .adopt(&runtime.engine, &hash, &artifact)
                        .map_err(|error| {
                            WorkerError::Compiler(format!(
                                "the compiled artifact is unusable: {error:#}"
                            ))
                        })?
                }
            };
            self.link(name, &version, &hash, source, component, checked)?
        })
    }

    /// Make prepared code available under its name, replacing the live version for
    /// processes started from now on; the second half of [`WorkerEngine::load`].
    pub fn install(&self, code: Arc<WorkerCode>) -> Loaded {
        let name = code.name.as_str();
        let previous = self
            .loaded
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), code.clone());
        if let Some(previous) = previous
            .as_ref()
            .filter(|previous| previous.version != code.version)
        {
            let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
            let kept = history.entry(name.to_owned()).or_default();
            kept.push_back(previous.clone());
            let excess = kept.len().saturating_sub(self.versions_kept);
            let dropped: Vec<_> = kept.drain(..excess).collect();
            for dropped in dropped {
                self.forget(&dropped, &history);
            }
        }
        tracing::info!(worker = name, version = %code.version, "worker loaded");
        Loaded { code, previous }
    }

    /// Drop the compile cache entry of a version no longer kept, unless another loaded or
    /// kept worker has the same code, or it came with the binary.
    fn forget(
        &self,
        dropped: &WorkerCode,
        history: &std::collections::HashMap<String, std::collections::VecDeque<Arc<WorkerCode>>>,
    ) {
        if dropped.source == Source::Builtin {
            return;
        }
        let hash = &dropped.content_hash;
        let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        let in_use = loaded.values().any(|code| code.content_hash == *hash)
            || history
                .values()
                .flatten()
                .any(|code| code.content_hash == *hash);
        // Code that was compiled was compiled by the runtime, so it exists.
        if let (false, Some(runtime)) = (in_use, self.runtime.get()) {
            runtime.cache.remove(hash);
        }
    }

    /// Return `name` to its previous version (for processes started or upgraded from now
    /// on); `None` when no earlier version is kept.
    pub fn rollback(&self, name: &str) -> Option<Arc<WorkerCode>> {
        let earlier = self
            .history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(name)?
            .pop_back()?;
        let dropped = self
            .loaded
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), earlier.clone());
        if let Some(dropped) = dropped {
            let history = self.history.lock().unwrap_or_else(|p| p.into_inner());
            self.forget(&dropped, &history);
        }
        tracing::info!(worker = name, version = %earlier.version, "worker rolled back");
        Some(earlier)
    }

    /// Stop offering `name` to new processes; running ones keep their code.
    pub fn unload(&self, name: &str) -> Option<Arc<WorkerCode>> {
        let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        let earlier = history.remove(name).unwrap_or_default();
        let removed = self
            .loaded
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        for dropped in earlier.iter().chain(removed.as_ref()) {
            self.forget(dropped, &history);
        }
        if removed.is_some() {
            tracing::info!(worker = name, "worker unloaded");
        }
        removed
    }

    /// Keep at most `len` earlier versions of `name`, dropping the oldest (the state
    /// replay's way to end with the history it recorded; see `Registry::trim_history`).
    pub fn trim_history(&self, name: &str, len: usize) {
        let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(kept) = history.get_mut(name) {
            let excess = kept.len().saturating_sub(len);
            kept.drain(..excess);
        }
    }

    /// The loaded version of `name` and the earlier ones kept, newest first.
    pub fn versions(&self, name: &str) -> Option<Vec<Arc<WorkerCode>>> {
        let live = self.get(name)?;
        let history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        let earlier = history.get(name).into_iter().flatten().rev().cloned();
        Some(std::iter::once(live).chain(earlier).collect())
    }

    /// A loaded worker by name.
    pub fn get(&self, name: &str) -> Option<Arc<WorkerCode>> {
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// Loaded workers: name and version.
    pub fn list(&self) -> Vec<(String, String)> {
        let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        loaded
            .iter()
            .map(|(name, code)| (name.clone(), code.version.clone()))
            .collect()
    }

    /// The limits every worker gets unless its sandbox narrows them.
    pub fn limits(&self) -> WorkerLimits {
        self.limits
    }

    fn store(
        &self,
        code: &WorkerCode,
        pid: &Pid,
        sandbox: Option<&Arc<Sandbox>>,
    ) -> Result<Store<ProcessState>, WorkerError> {
        let limits = sandbox.map_or(self.limits, |sandbox| sandbox.worker_limits(self.limits));
        let mut limiter = CallLimiter::new(limits.memory_bytes, limits.table_elements);
        if let Some(sandbox) = sandbox {
            limiter = limiter.sharing(sandbox.memory_budget());
        }
        let mut state = ProcessState::new(
            limiter,
            Arc::from(code.name.as_str()),
            Arc::from(pid.to_string()),
        );
        if let Some(dir) = sandbox.and_then(|sandbox| sandbox.private_dir()) {
            state = state.with_private_dir(&dir).map_err(|error| {
                WorkerError::Crashed(format!(
                    "the sandbox directory {} cannot be opened: {error:#}",
                    dir.display()
                ))
            })?;
        }
        let mut store = Store::new(code.instance_pre.engine(), state);
        store.limiter(|state| &mut state.limiter);
        Ok(store)
    }
}

/// A resident worker: a live instance holding the process's state.
pub struct Worker {
    code: Arc<WorkerCode>,
    pid: Pid,
    table: Option<Weak<ProcessTable>>,
    sandbox: Option<Arc<Sandbox>>,
    store: Store<ProcessState>,
    instance: Instance,
    bindings: WorkerProcess,
    timeout: Duration,
    crashed: Option<WorkerError>,
}

/// A hibernated worker: its state, no instance.
#[derive(Clone)]
pub struct Hibernated {
    code: Arc<WorkerCode>,
    pid: Pid,
    table: Option<Weak<ProcessTable>>,
    sandbox: Option<Arc<Sandbox>>,
    state: Vec<u8>,
}

impl Hibernated {
    /// Bytes of state kept while hibernated.
    pub fn state_len(&self) -> usize {
        self.state.len()
    }

    /// The state kept while hibernated.
    pub fn state(&self) -> &[u8] {
        &self.state
    }
}

impl Worker {
    /// Instantiate `code` and run `init(args)`.
    pub async fn start(
        engine: &WorkerEngine,
        code: Arc<WorkerCode>,
        pid: Pid,
        args: &str,
    ) -> Result<Worker, WorkerError> {
        Worker::start_in(engine, code, pid, args, None, None).await
    }

    /// Start a worker that belongs to a process of `table` (its `process` import acts as
    /// that process).
    pub(crate) async fn start_in(
        engine: &WorkerEngine,
        code: Arc<WorkerCode>,
        pid: Pid,
        args: &str,
        table: Option<Weak<ProcessTable>>,
        sandbox: Option<Arc<Sandbox>>,
    ) -> Result<Worker, WorkerError> {
        let mut worker = Worker::instantiate(engine, code, pid, table, sandbox).await?;
        let bindings = worker.bindings.arsenal_process_worker().clone();
        let args = args.to_owned();
        let result = worker
            .guarded(|store| Box::pin(async move { bindings.call_init(store, &args).await }))
            .await?;
        result.map_err(WorkerError::Crashed)?;
        Ok(worker)
    }

    async fn instantiate(
        engine: &WorkerEngine,
        code: Arc<WorkerCode>,
        pid: Pid,
        table: Option<Weak<ProcessTable>>,
        sandbox: Option<Arc<Sandbox>>,
    ) -> Result<Worker, WorkerError> {
        let timeout = sandbox
            .as_ref()
            .map_or(engine.limits, |sandbox| {
                sandbox.worker_limits(engine.limits)
            })
            .call_timeout;
        let mut store = engine.store(&code, &pid, sandbox.as_ref())?;
        store.data_mut().process = table.clone().map(|table| ProcessContext {
            table,
            pid: pid.clone(),
        });
        arm_deadline(&mut store, timeout);
        let instance = code
            .instance_pre
            .instantiate_async(&mut store)
            .await
            .map_err(|error| {
                WorkerError::from(classify(error, store.data().limiter.refusal(), timeout))
            })?;
        let bindings = code
            .indices
            .load(&mut store, &instance)
            .map_err(|error| WorkerError::InvalidComponent(format!("{error:#}")))?;
        Ok(Worker {
            code,
            pid,
            table,
            sandbox,
            store,
            instance,
            bindings,
            timeout,
            crashed: None,
        })
    }

    pub fn pid(&self) -> &Pid {
        &self.pid
    }

    pub fn code(&self) -> &Arc<WorkerCode> {
        &self.code
    }

    /// Handle a batch of events in order; returns one reply per event (for calls).
    pub async fn handle(&mut self, events: Vec<Event>) -> Result<Vec<Option<String>>, WorkerError> {
        let events: Vec<wit::Event> = events.into_iter().map(Event::into_wit).collect();
        let bindings = self.bindings.arsenal_process_worker().clone();
        let result = self
            .guarded(|store| Box::pin(async move { bindings.call_handle(store, &events).await }))
            .await?;
        result.map_err(|reason| self.crash(WorkerError::Crashed(reason)))
    }

    /// Linear memory of the instance, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.store.data().limiter.memory_bytes()
    }

    /// The worker's state as its `snapshot` export gives it; the worker keeps running.
    pub async fn snapshot(&mut self) -> Result<Vec<u8>, WorkerError> {
        if !self.code.stateful {
            return Err(WorkerError::NotStateful);
        }
        let func = self.state_func("snapshot")?;
        let typed = func
            .typed::<(), (Vec<u8>,)>(&self.store)
            .map_err(|error| WorkerError::InvalidComponent(format!("{error:#}")))?;
        let (state,) = self
            .guarded(|store| Box::pin(async move { typed.call_async(store, ()).await }))
            .await?;
        Ok(state)
    }

    /// Replace the worker's state with one snapshotted by version `from_version` of its
    /// code (OTP's `code_change` when the versions differ).
    pub async fn restore(&mut self, from_version: &str, state: &[u8]) -> Result<(), WorkerError> {
        let func = self.state_func("restore")?;
        let typed = func
            .typed::<(&str, &[u8]), (Result<(), String>,)>(&self.store)
            .map_err(|error| WorkerError::InvalidComponent(format!("{error:#}")))?;
        let (from_version, state) = (from_version.to_owned(), state.to_owned());
        let (result,) = self
            .guarded(|store| {
                Box::pin(async move { typed.call_async(store, (&from_version, &state)).await })
            })
            .await?;
        result.map_err(|reason| self.crash(WorkerError::Crashed(reason)))
    }

    /// A new instance of `code` for the same process, holding this worker's state
    /// (snapshotted here, restored there as coming from this worker's version). This
    /// worker is left as it was when the new one fails to take the state.
    pub async fn upgraded(
        &mut self,
        engine: &WorkerEngine,
        code: Arc<WorkerCode>,
    ) -> Result<Worker, WorkerError> {
        if !code.stateful {
            return Err(WorkerError::NotStateful);
        }
        let state = self.snapshot().await?;
        let from_version = self.code.version.clone();
        let mut worker = Worker::instantiate(
            engine,
            code,
            self.pid.clone(),
            self.table.clone(),
            self.sandbox.clone(),
        )
        .await?;
        worker.restore(&from_version, &state).await?;
        Ok(worker)
    }

    /// Snapshot the state and drop the instance.
    pub async fn hibernate(mut self) -> Result<Hibernated, WorkerError> {
        let state = self.snapshot().await?;
        Ok(Hibernated {
            code: self.code,
            pid: self.pid,
            table: self.table,
            sandbox: self.sandbox,
            state,
        })
    }

    /// A fresh instance with the hibernated state restored (no `init`).
    pub async fn wake(
        engine: &WorkerEngine,
        hibernated: Hibernated,
    ) -> Result<Worker, WorkerError> {
        let Hibernated {
            code,
            pid,
            table,
            sandbox,
            state,
        } = hibernated;
        let version = code.version.clone();
        let mut worker = Worker::instantiate(engine, code, pid, table, sandbox).await?;
        worker.restore(&version, &state).await?;
        Ok(worker)
    }

    fn state_func(&mut self, name: &str) -> Result<wasmtime::component::Func, WorkerError> {
        let missing = || WorkerError::NotStateful;
        let interface = self
            .instance
            .get_export_index(&mut self.store, None, STATE_INTERFACE)
            .ok_or_else(missing)?;
        let func = self
            .instance
            .get_export_index(&mut self.store, Some(&interface), name)
            .ok_or_else(missing)?;
        self.instance
            .get_func(&mut self.store, func)
            .ok_or_else(missing)
    }

    /// Run one guest call under the per-call deadline; a failure poisons the worker.
    async fn guarded<R>(
        &mut self,
        call: impl for<'a> FnOnce(
            &'a mut Store<ProcessState>,
        ) -> std::pin::Pin<
            Box<dyn Future<Output = wasmtime::Result<R>> + Send + 'a>,
        >,
    ) -> Result<R, WorkerError> {
        if let Some(error) = &self.crashed {
            return Err(error.clone());
        }
        arm_deadline(&mut self.store, self.timeout);
        let outcome = tokio::time::timeout(
            self.timeout + Duration::from_millis(50),
            call(&mut self.store),
        )
        .await;
        self.store.data_mut().flush_output();
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                let failure = classify(error, self.store.data().limiter.refusal(), self.timeout);
                Err(self.crash(failure.into()))
            }
            Err(_) => Err(self.crash(WorkerError::Timeout(self.timeout))),
        }
    }

    fn crash(&mut self, error: WorkerError) -> WorkerError {
        self.crashed = Some(error.clone());
        error
    }
}
