//! Wasm worker processes on their own engine: start (`init`), handle batches of events,
//! hibernate (snapshot the state through the worker's `state` export, drop the instance)
//! and wake (a fresh instance, `restore`). Each worker has its own memory cap and a
//! deadline per call; a trap is a crash with a reason, and a crashed worker is never run
//! again.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::Store;
use wasmtime::component::{HasSelf, Instance, Linker};

use crate::kernel::{Event, ExitReason, Pid, ProcessHandle};
use crate::residency::Residency;
use crate::sandbox::Sandbox;
use crate::state::ProcessState;
use crate::worker_code::{STATE_INTERFACE, WorkerCode, WorkerContract, WorkerSet};
use arsenal_engine::bindings::process::{WorkerProcess, arsenal::process::types as wit};
use arsenal_engine::cache::CompileCache;
use arsenal_engine::compiler::Compiler;
use arsenal_engine::component::{
    Compilation, LiveSet, LoadError, Pipeline, Put, Upkeep, VersionStore,
};
use arsenal_engine::engine::{EngineRecipe, EpochTicker, WorkerPool, WorkerSlots, worker_engine};
use arsenal_engine::failure::{GuestFailure, arm_deadline, classify};
use arsenal_engine::guest::add_log_to_linker;
use arsenal_engine::limits::CallLimiter;
use arsenal_engine::lookups::CacheLookups;
use arsenal_engine::policy::Source;
use arsenal_engine::wasi::add_baseline_to_linker;
use arsenal_wasi::http::CallScope;
use arsenal_wasi::{ComponentReach, WasiCapabilities};

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

/// The events and exit reasons of the kernel as the worker's WIT spells them.
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

/// The engine, linker and live components of workers.
pub struct WorkerEngine {
    /// The worker components by name, with their earlier versions.
    versions: VersionStore<WorkerSet>,
    /// The engine, made when the first worker is compiled (see [`WorkerRuntime`]).
    runtime: std::sync::OnceLock<WorkerRuntime>,
    /// Held while the runtime is being made, so it is made once.
    making: std::sync::Mutex<()>,
    /// The runtime's compile cache, once made: versions dropped leave it.
    cache: Arc<std::sync::OnceLock<CompileCache>>,
    pool: WorkerPool,
    tick: Duration,
    cache_root: Option<std::path::PathBuf>,
    compiler: Arc<Compiler>,
    /// Compile-cache lookups of worker components, counted with the host's.
    lookups: Arc<CacheLookups>,
    grants: arsenal_engine::policy::Grants,
    /// The standard capabilities and the operator's grants of them per component.
    wasi: Arc<WasiCapabilities>,
    limits: WorkerLimits,
    /// The idle resident workers, which give up their slots when the pool is full.
    residency: Arc<Residency>,
}

/// The worker engine proper with its component pipeline (linker and compile cache). Made
/// when the first worker is compiled rather than with the host: reserving the pool's
/// slots costs one `mprotect` per fiber stack's guard page, which a host that runs no
/// workers, or has not yet, should not pay at start.
struct WorkerRuntime {
    pipeline: Pipeline<ProcessState>,
    _ticker: EpochTicker,
}

impl WorkerRuntime {
    fn new(engine: &WorkerEngine) -> wasmtime::Result<WorkerRuntime> {
        let (wasm, ticker) = worker_engine(engine.pool, engine.tick)?;
        let cache = CompileCache::new(
            engine.cache_root.as_deref(),
            &arsenal_engine::engine::fingerprint(&wasm),
        );
        let mut linker = Linker::new(&wasm);
        add_baseline_to_linker(&mut linker)?;
        arsenal_engine::bindings::process::arsenal::process::types::add_to_linker::<
            ProcessState,
            HasSelf<ProcessState>,
        >(&mut linker, |state| state)?;
        arsenal_engine::bindings::process::arsenal::process::process::add_to_linker::<
            ProcessState,
            HasSelf<ProcessState>,
        >(&mut linker, |state| state)?;
        add_log_to_linker(&mut linker)?;
        arsenal_wasi::keyvalue::add_to_linker(&mut linker)?;
        arsenal_wasi::http::add_to_linker(&mut linker)?;
        arsenal_wasi::config::add_to_linker(&mut linker)?;
        // What a compiler child process builds its engine from: this engine's settings.
        let recipe = EngineRecipe::Workers {
            max_memory_bytes: engine.pool.max_memory_bytes,
        };
        let compilation = Compilation::new(
            wasm,
            recipe,
            cache.clone(),
            engine.compiler.clone(),
            engine.lookups.clone(),
        );
        let _ = engine.cache.set(cache);
        Ok(WorkerRuntime {
            pipeline: Pipeline::new(compilation, linker, engine.grants.clone()),
            _ticker: ticker,
        })
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
        wasi: Arc<WasiCapabilities>,
        limits: WorkerLimits,
        slots: WorkerSlots,
        tick: Duration,
        cache_root: Option<&std::path::Path>,
        compiler: Arc<Compiler>,
        versions_kept: usize,
    ) -> WorkerEngine {
        let max_memory_bytes = limits.memory_bytes.max(1 << 20);
        let cache: Arc<std::sync::OnceLock<CompileCache>> = Arc::default();
        let dropped = {
            let cache = cache.clone();
            move |hash: &str| {
                // Code that was compiled was compiled by the runtime, so its cache exists.
                if let Some(cache) = cache.get() {
                    cache.remove(hash);
                }
            }
        };
        let upkeep = Upkeep {
            dropped: Box::new(dropped),
            ..Upkeep::default()
        };
        WorkerEngine {
            versions: VersionStore::new(versions_kept, Vec::new(), upkeep),
            runtime: std::sync::OnceLock::new(),
            making: std::sync::Mutex::new(()),
            cache,
            pool: WorkerPool {
                slots,
                max_memory_bytes,
                table_elements: limits.table_elements,
            },
            tick,
            cache_root: cache_root.map(std::path::Path::to_path_buf),
            compiler,
            lookups,
            grants,
            wasi,
            limits,
            residency: Arc::default(),
        }
    }

    /// The idle resident workers, least recently active first.
    pub(crate) fn residency(&self) -> &Arc<Residency> {
        &self.residency
    }

    /// Workers hibernated so far to make room for a spawn or wake in a full pool.
    pub fn hibernated_to_make_room(&self) -> u64 {
        self.residency.made_room()
    }

    /// The runtime, made on first use. Making it blocks for as long as reserving the pool
    /// takes (once per host).
    fn runtime(&self) -> Result<&WorkerRuntime, LoadError> {
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime);
        }
        let _making = self.making.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime);
        }
        let runtime = WorkerRuntime::new(self).map_err(|error| {
            LoadError::Compiler(format!("the worker engine cannot be made: {error:#}"))
        })?;
        Ok(self.runtime.get_or_init(|| runtime))
    }

    /// Check and compile a worker component for `name` through the component pipeline,
    /// without making it live. Its version is the start of its content hash.
    pub async fn prepare(
        &self,
        name: &str,
        bytes: &[u8],
        source: Source,
        origin: &str,
    ) -> Result<Arc<WorkerCode>, LoadError> {
        let contract = WorkerContract { name };
        self.runtime()?
            .pipeline
            .load(&contract, bytes, source, origin)
            .await
    }

    /// Prepare a worker and make it live under `name`, replacing the live version for
    /// processes started from now on.
    pub async fn load(
        &self,
        name: &str,
        bytes: &[u8],
        source: Source,
        origin: &str,
    ) -> Result<Put<WorkerCode>, LoadError> {
        let code = self.prepare(name, bytes, source, origin).await?;
        self.versions.put(code)
    }

    /// The worker components live, with their history: load, replace, roll back, unload,
    /// restore.
    pub fn versions(&self) -> &VersionStore<WorkerSet> {
        &self.versions
    }

    /// A loaded worker by name.
    pub fn get(&self, name: &str) -> Option<Arc<WorkerCode>> {
        self.versions.get(name)
    }

    /// The loaded worker components, by name.
    pub fn loaded(&self) -> Vec<Arc<WorkerCode>> {
        let mut loaded = self.versions.snapshot().items().to_vec();
        loaded.sort_by(|a, b| a.name.cmp(&b.name));
        loaded
    }

    /// Loaded workers: name and version.
    pub fn list(&self) -> Vec<(String, String)> {
        self.versions
            .snapshot()
            .items()
            .iter()
            .map(|code| (code.name.clone(), code.version.clone()))
            .collect()
    }

    /// What a process of `code` reaches of the standard capabilities in `sandbox` (by
    /// name) or outside one: its grant and its sandbox's. A sandbox's workers share its
    /// buckets; a worker outside one has its own.
    pub fn reach(&self, code: &WorkerCode, sandbox: Option<&str>) -> ComponentReach {
        self.wasi
            .for_worker(&code.name, code.source(), sandbox, code.capabilities())
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
        let limits = sandbox.map_or(self.limits, |sandbox| limits_in(sandbox, self.limits));
        let mut limiter = CallLimiter::new(limits.memory_bytes, limits.table_elements);
        if let Some(sandbox) = sandbox {
            limiter = limiter.sharing(sandbox.memory_budget());
        }
        let reach = self.reach(code, sandbox.map(|sandbox| sandbox.id()));
        let mut state = ProcessState::new(
            limiter,
            Arc::from(code.name.as_str()),
            Arc::from(pid.to_string()),
            &reach,
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

/// Worker limits for a process of `sandbox`: its per-process memory and message deadline.
fn limits_in(sandbox: &Sandbox, base: WorkerLimits) -> WorkerLimits {
    let limits = sandbox.limits();
    WorkerLimits {
        memory_bytes: limits.process_memory_bytes.min(base.memory_bytes),
        call_timeout: limits.message_deadline,
        ..base
    }
}

/// A resident worker: a live instance holding the process's state.
pub struct Worker {
    code: Arc<WorkerCode>,
    pid: Pid,
    process: Option<ProcessHandle>,
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
    process: Option<ProcessHandle>,
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

    /// Start a worker that runs a process of the kernel (its `process` import acts as
    /// that process, through `process`).
    pub(crate) async fn start_in(
        engine: &WorkerEngine,
        code: Arc<WorkerCode>,
        pid: Pid,
        args: &str,
        process: Option<ProcessHandle>,
        sandbox: Option<Arc<Sandbox>>,
    ) -> Result<Worker, WorkerError> {
        let mut worker = Worker::instantiate(engine, code, pid, process, sandbox).await?;
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
        process: Option<ProcessHandle>,
        sandbox: Option<Arc<Sandbox>>,
    ) -> Result<Worker, WorkerError> {
        let timeout = sandbox
            .as_ref()
            .map_or(engine.limits, |sandbox| limits_in(sandbox, engine.limits))
            .call_timeout;
        // A full pool makes room by hibernating the least recently active idle worker,
        // as often as it takes: each attempt that finds no slot hibernates one more, so
        // it ends when a slot is won or no worker is left to hibernate.
        let (mut store, instance) = loop {
            let mut store = engine.store(&code, &pid, sandbox.as_ref())?;
            store.data_mut().process = process.clone();
            arm_deadline(&mut store, timeout);
            let error = match code.instance_pre.instantiate_async(&mut store).await {
                Ok(instance) => break (store, instance),
                Err(error) => {
                    WorkerError::from(classify(error, store.data().limiter.refusal(), timeout))
                }
            };
            if error != WorkerError::NoSlot || !engine.residency.make_room().await {
                return Err(error);
            }
        };
        let bindings = code
            .indices
            .load(&mut store, &instance)
            .map_err(|error| WorkerError::InvalidComponent(format!("{error:#}")))?;
        Ok(Worker {
            code,
            pid,
            process,
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
        if !self.code.is_stateful() {
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
        if !code.is_stateful() {
            return Err(WorkerError::NotStateful);
        }
        let state = self.snapshot().await?;
        let from_version = self.code.version.clone();
        let mut worker = Worker::instantiate(
            engine,
            code,
            self.pid.clone(),
            self.process.clone(),
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
            process: self.process,
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
            process,
            sandbox,
            state,
        } = hibernated;
        let version = code.version.clone();
        let mut worker = Worker::instantiate(engine, code, pid, process, sandbox).await?;
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
        let pid = self.store.data().context.request_id.clone();
        let scope = CallScope::new(pid, self.timeout, None, None);
        self.store.data_mut().serve_outbound(scope);
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
