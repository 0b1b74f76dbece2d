//! [`Host`]: one running instance of Arsenal — settings, engine, registry — assembled in
//! one place and shared by the HTTP server and the in-process CLI.

mod services;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Instant;

use crate::cache::CompileCache;
use crate::config::{HttpHandlerFile, Settings};
use crate::engine::OperationEngine;
use crate::facts::HostFacts;
use crate::invoke::InstanceGate;
pub use crate::lifecycle::LoadProblem;
use crate::loader::{LoadError, Loader};
use crate::policy::{Grants, Source, UnknownCapability};
use crate::registry::{Added, Registry};
use crate::runtime::{ProcessTable, TableLimits, WorkerEngine, WorkerLimits, is_valid_name};

/// Why the host could not start.
use arsenal_wasi::WasiCapabilities;
use arsenal_wasi::keyvalue::{ClusterStore, KeyValueStore, LocalStore, Quotas, SecretKeys};

/// `mib` MiB in bytes.
fn mib(mib: u64) -> usize {
    usize::try_from(mib.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("failed to build the wasm engine: {0:#}")]
    Engine(wasmtime::Error),
    #[error(transparent)]
    Capabilities(#[from] UnknownCapability),
    #[error("failed to load built-in operation `{name}`: {error}")]
    Builtin { name: String, error: Box<LoadError> },
    #[error("failed to read operations directory {}: {error}", .dir.display())]
    Directory { dir: PathBuf, error: std::io::Error },
    #[error("failed to start the host services: {0}")]
    Services(#[from] crate::runtime::SpawnError),
    #[error("invalid access configuration: {0}")]
    Access(#[from] crate::auth::AccessError),
    #[error("failed to open the audit log: {0}")]
    Audit(#[from] crate::audit::AuditError),
    #[error("failed to join the cluster: {0}")]
    Cluster(#[from] crate::cluster::ClusterError),
    #[error("failed to watch {}: {error}", .dir.display())]
    Watch { dir: PathBuf, error: String },
    #[error("failed to open the key-value store: {0}")]
    KeyValue(#[from] arsenal_wasi::keyvalue::StoreError),
    #[error("invalid key-value settings: {0}")]
    SecretKeys(#[from] arsenal_wasi::keyvalue::InvalidSecretPattern),
    #[error("invalid grants: {0}")]
    Grants(#[from] arsenal_wasi::GrantError),
    #[error(
        "invalid grants: sandboxes.{0}: not a sandbox name (1 to 64 letters, digits, `_`, `-` or `.`)"
    )]
    SandboxName(String),
}

/// A running Arsenal host.
pub struct Host {
    settings: Settings,
    registry: Arc<Registry>,
    workers: Arc<WorkerEngine>,
    processes: Arc<ProcessTable>,
    problems: Vec<LoadProblem>,
    pub(crate) facts: Arc<HostFacts>,
    /// The address the HTTP server listens on, once it does.
    pub listening: Arc<std::sync::OnceLock<std::net::SocketAddr>>,
    /// What the admin API changed, kept across restarts (none when persistence is off).
    pub uploads: Option<crate::uploads::Uploads>,
    /// Who may call what: keys or the local admin token, roles, rate limits.
    access: Arc<crate::auth::Access>,
    telemetry: Arc<crate::telemetry::Telemetry>,
    /// Every state change and admin action, durably.
    audit: crate::audit::AuditLog,
    /// The standard WASI capabilities (key-value storage) and their grants.
    wasi: Arc<WasiCapabilities>,
    /// The watched directories (`operations.watch_dirs`); dropped with the host.
    watches: Vec<crate::watch::DirectoryWatch>,
    /// Held by an admin change from publishing it to recording it (see `admin_turn`);
    /// shared with the cluster, which changes what is loaded under it too.
    admin_turn: Arc<tokio::sync::Mutex<()>>,
    /// Work a request started that must finish even when its client leaves (recording a
    /// change in the audit log); a server waits for it at shutdown, within its grace.
    background: tokio_util::task::TaskTracker,
}

impl Host {
    /// Build the engine and registry with no operations loaded.
    pub fn empty(settings: Settings) -> Result<Host, StartError> {
        let engine = OperationEngine::new(&settings.limits).map_err(StartError::Engine)?;
        let cache_root = settings
            .cache
            .enabled
            .then(|| settings.cache.resolved_dir());
        let cache = CompileCache::new(cache_root.as_deref(), engine.fingerprint());
        let compiler = Arc::new(crate::compiler::Compiler::new(&settings.compile));
        let grants = Grants::from_settings(&settings.capabilities)?;
        let access = Arc::new(crate::auth::Access::new(
            &settings.auth,
            &settings.rate_limits,
            settings.server.resolved_state_dir(),
        )?);
        let gate = InstanceGate::new(engine.facts().max_instances);
        let incarnation = incarnation();
        let compile_cache = Arc::new(crate::telemetry::CacheLookups::default());
        let state_dir = settings.server.resolved_state_dir();
        let keyvalue = KeyValueStore::local(
            LocalStore::open(state_dir.as_deref(), mib(settings.keyvalue.cache_mib))?,
            Quotas::from(&settings.keyvalue),
        );
        let secret_keys = SecretKeys::new(&settings.keyvalue.secret_keys)?;
        // A table no sandbox can be named after is a mistake, never a grant.
        if let Some(name) = settings
            .sandboxes
            .keys()
            .find(|name| !is_valid_name(name, 64))
        {
            return Err(StartError::SandboxName(name.clone()));
        }
        let wasi = Arc::new(WasiCapabilities::new(
            keyvalue.clone(),
            &settings.outbound,
            &settings.components,
            &settings.sandboxes,
        )?);
        let workers = Arc::new(WorkerEngine::new(
            compile_cache.clone(),
            grants.clone(),
            wasi.clone(),
            WorkerLimits {
                memory_bytes: settings.limits.worker_memory_mib as usize * 1024 * 1024,
                table_elements: settings.limits.table_elements as usize,
                call_timeout: std::time::Duration::from_millis(
                    settings.limits.worker_timeout_ms as u64,
                ),
            },
            arsenal_engine::engine::WorkerSlots::from(&settings.limits),
            std::time::Duration::from_millis(settings.limits.epoch_tick_ms.max(1)),
            cache_root.as_deref(),
            compiler.clone(),
            settings.operations.versions_kept,
        ));
        let processes = ProcessTable::new(
            &settings.server.node,
            incarnation,
            workers.clone(),
            TableLimits {
                mailbox_capacity: settings.limits.mailbox_capacity,
                idle_hibernate: (settings.limits.idle_hibernate_ms > 0)
                    .then(|| std::time::Duration::from_millis(settings.limits.idle_hibernate_ms)),
                max_sandboxes: settings.limits.max_sandboxes,
                sandbox_dir: settings.server.resolved_sandbox_dir(),
            },
        );
        let facts = Arc::new(HostFacts {
            node: settings.server.node.clone(),
            started: Instant::now(),
            engine: engine.facts().clone(),
            instances: gate.clone(),
            operations_loaded: AtomicU32::new(0),
            processes: Arc::downgrade(&processes),
            compile_cache,
            cluster: arc_swap::ArcSwap::from_pointee(crate::cluster::Cluster::standalone(
                &settings.server.node,
                incarnation,
                &settings.cluster,
            )),
            keyvalue,
            secret_keys,
        });
        let async_engine =
            OperationEngine::asynchronous(&settings.limits).map_err(StartError::Engine)?;
        let async_cache = CompileCache::new(cache_root.as_deref(), async_engine.fingerprint());
        let loader = Loader::new(
            [(engine, cache), (async_engine, async_cache)],
            compiler.clone(),
            grants,
            wasi.clone(),
            settings.limits.clone(),
            facts.clone(),
        )
        .map_err(StartError::Engine)?;
        let registry = Arc::new(Registry::new(
            loader,
            facts.clone(),
            gate,
            settings.operations.clone(),
        ));
        let uploads = state_dir
            .as_deref()
            .map(|dir| crate::uploads::Uploads::open(dir, settings.operations.versions_kept));
        let audit = crate::audit::AuditLog::open(
            state_dir.as_deref(),
            settings.audit.retain_records,
            mib(settings.audit.cache_mib),
        )?;
        let telemetry_settings = settings.telemetry.clone();
        Ok(Host {
            settings,
            registry,
            workers,
            processes,
            problems: Vec::new(),
            uploads,
            facts,
            listening: Arc::default(),
            access,
            telemetry: Arc::new(crate::telemetry::Telemetry::new(telemetry_settings)),
            audit,
            wasi,
            watches: Vec::new(),
            admin_turn: Arc::default(),
            background: tokio_util::task::TaskTracker::new(),
        })
    }

    /// Build the host and load the built-in operations and the configured directories.
    /// A built-in that fails to load is a bug and stops start-up; a directory component
    /// that fails is reported in [`Host::problems`] and the log, and skipped.
    pub async fn start(settings: Settings) -> Result<Host, StartError> {
        let mut host = Host::empty(settings)?;
        host.load_builtins().await?;
        for dir in host.settings.operations.dirs.clone() {
            host.load_dir(&dir).await?;
        }
        for handler in host.settings.operations.http_handlers.clone() {
            host.load_http_handler(&handler).await;
        }
        for dir in host.settings.operations.worker_dirs.clone() {
            host.load_worker_dir(&dir).await?;
        }
        // Before the admin changes are replayed, like the other directories: a change made
        // through the admin API after a watched file was applied stays the later one.
        for dir in host.settings.operations.watch_dirs.clone() {
            host.watch_dir(&dir).await?;
        }
        if let Some(uploads) = &host.uploads {
            let problems = uploads.replay(host.registry(), host.workers()).await;
            host.problems.extend(problems);
        }
        if host.settings.server.host_services {
            services::start(&host).await?;
        }
        host.join_cluster().await?;
        Ok(host)
    }

    /// Join NATS when `cluster.nats_url` is set, and start announcing this node (its
    /// heartbeat reads the live facts below) and following the cluster's admin changes.
    async fn join_cluster(&mut self) -> Result<(), StartError> {
        let standalone = self.facts.cluster.load_full();
        let cluster = Arc::new(
            crate::cluster::Cluster::new(
                &self.settings.server.node,
                standalone.incarnation(),
                &self.settings.cluster,
            )
            .await?,
        );
        let registry = Arc::downgrade(&self.registry);
        let workers = Arc::downgrade(&self.workers);
        let facts = Arc::downgrade(&self.facts);
        let listening = self.listening.clone();
        let probe: crate::cluster::FactsProbe = Arc::new(move || {
            let mut local = crate::cluster::LocalFacts {
                address: listening.get().map(ToString::to_string),
                ..Default::default()
            };
            if let Some(facts) = facts.upgrade() {
                let table = facts.processes.upgrade();
                local.load = crate::cluster::NodeLoad {
                    processes: table.as_ref().map_or(0, |table| table.len() as u32),
                    instances_in_use: facts.instances.in_use(),
                    load_average: crate::system_facts::load_average()
                        .first()
                        .copied()
                        .unwrap_or(0.0),
                    rss_bytes: crate::system_facts::rss_bytes().unwrap_or(0),
                };
                local.names = table.map(|table| table.registered()).unwrap_or_default();
            }
            if let Some(registry) = registry.upgrade() {
                local.components.extend(revisions(&*registry));
            }
            if let Some(workers) = workers.upgrade() {
                local.components.extend(revisions(&*workers));
            }
            local.components.sort();
            local
        });
        cluster.start(probe, Arc::downgrade(&self.processes));
        // Admin changes made on any node, from the first: this node follows them.
        cluster.follow_live(Arc::new(crate::replica::Replica {
            registry: Arc::downgrade(&self.registry),
            workers: Arc::downgrade(&self.workers),
            turn: self.admin_turn.clone(),
        }));
        // Clustered, buckets are kept where every node sees them.
        if let Some(js) = cluster.jetstream() {
            let store = self.wasi.keyvalue.store();
            store.use_cluster(ClusterStore::new(
                js,
                cluster.call_timeout(),
                store.quotas(),
            ));
        }
        self.facts.cluster.store(cluster);
        Ok(())
    }

    /// This node's place in the cluster.
    pub fn cluster(&self) -> Arc<crate::cluster::Cluster> {
        self.facts.cluster.load_full()
    }

    async fn load_builtins(&mut self) -> Result<(), StartError> {
        for (name, bytes) in crate::builtin::components() {
            let origin = format!("builtin:{name}");
            self.registry
                .add(bytes, Source::Builtin, &origin)
                .await
                .map_err(|error| StartError::Builtin {
                    name: (*name).to_owned(),
                    error: Box::new(error),
                })?;
        }
        Ok(())
    }

    /// Load every `.wasm` file of `dir`, in name order.
    pub async fn load_dir(&mut self, dir: &Path) -> Result<(), StartError> {
        for file in wasm_files(dir)? {
            self.load_file(&file).await;
        }
        Ok(())
    }

    /// Watch `dir` (created if missing), then load or replace with every `.wasm` file it
    /// holds, so what was deployed there comes back after a restart. The watch is armed
    /// first: a file written meanwhile is applied by the watcher too (once; a file whose
    /// code is live already is left alone). A file that does not load is recorded.
    pub async fn watch_dir(&mut self, dir: &Path) -> Result<(), StartError> {
        let failed = |error: String| StartError::Watch {
            dir: dir.to_owned(),
            error,
        };
        std::fs::create_dir_all(dir).map_err(|error| failed(error.to_string()))?;
        let debounce = std::time::Duration::from_millis(self.settings.operations.watch_debounce_ms);
        let watch = crate::watch::watch(self.registry.clone(), dir, debounce)
            .map_err(|error| failed(error.to_string()))?;
        self.watches.push(watch);
        for file in wasm_files(dir)? {
            let put = async |registry: Arc<Registry>, bytes: Vec<u8>, origin: String| {
                registry.put(&bytes, Source::Directory, &origin).await
            };
            self.load_file_with(&file, "watched operation not loaded", put)
                .await;
        }
        Ok(())
    }

    /// The admin API's turn to change what is loaded: held from making a change live to
    /// recording it in the state directory (and handing it to the cluster), so changes are
    /// kept in the order they were made and a restart comes back to the state last served.
    /// Taken after compiling, never during.
    pub async fn admin_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.admin_turn.lock().await
    }

    /// The watched directories, in the order configured.
    pub fn watches(&self) -> &[crate::watch::DirectoryWatch] {
        &self.watches
    }

    /// Load every `.wasm` worker of `dir` under its file name; a failure is recorded.
    pub async fn load_worker_dir(&mut self, dir: &Path) -> Result<(), StartError> {
        for file in wasm_files(dir)? {
            let origin = file.display().to_string();
            let name = file
                .file_stem()
                .and_then(|stem| stem.to_str())
                .unwrap_or_default()
                .replace('_', "-");
            let loaded = match std::fs::read(&file) {
                Ok(bytes) => self
                    .workers
                    .load(&name, &bytes, Source::Directory, &origin)
                    .await
                    .map(drop),
                Err(error) => Err(LoadError::InvalidComponent(format!(
                    "cannot read the file: {error}"
                ))),
            };
            if let Err(error) = loaded {
                tracing::error!(origin, %error, "worker not loaded");
                self.problems.push(LoadProblem { origin, error });
            }
        }
        Ok(())
    }

    /// Load one component file from the `directory` source; a failure is recorded.
    pub async fn load_file(&mut self, file: &Path) -> Option<Added> {
        self.load_file_with(
            file,
            "operation not loaded",
            async |registry, bytes, origin| registry.add(&bytes, Source::Directory, &origin).await,
        )
        .await
    }

    /// Load a `wasi:http` handler's file from the `directory` source with the route the
    /// configuration declares for it; a failure is recorded.
    pub async fn load_http_handler(&mut self, handler: &HttpHandlerFile) -> Option<Added> {
        let route = handler.route.clone();
        self.load_file_with(
            &handler.file,
            "http handler not loaded",
            async move |registry, bytes, origin| {
                let bytes = route.attach(&bytes);
                registry.add(&bytes, Source::Directory, &origin).await
            },
        )
        .await
    }

    /// Read `file` and hand its bytes, under the file's path as origin, to `load`; a file
    /// that cannot be read or loaded is logged as `what` and kept in [`Host::problems`].
    async fn load_file_with<T>(
        &mut self,
        file: &Path,
        what: &str,
        load: impl AsyncFnOnce(Arc<Registry>, Vec<u8>, String) -> Result<T, LoadError>,
    ) -> Option<T> {
        let origin = file.display().to_string();
        let outcome = match std::fs::read(file) {
            Ok(bytes) => load(self.registry.clone(), bytes, origin.clone()).await,
            Err(error) => Err(LoadError::InvalidComponent(format!(
                "cannot read the file: {error}"
            ))),
        };
        match outcome {
            Ok(loaded) => Some(loaded),
            Err(error) => {
                tracing::error!(origin, %error, "{what}");
                self.problems.push(LoadProblem { origin, error });
                None
            }
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// This host's metrics and operation analytics.
    pub fn telemetry(&self) -> &Arc<crate::telemetry::Telemetry> {
        &self.telemetry
    }

    /// What the host looks like now, for a metrics scrape.
    pub fn live_state(&self) -> crate::telemetry::LiveState {
        crate::telemetry::LiveState::of(
            &self.registry,
            &self.processes,
            &self.facts.compile_cache,
            self.wasi.outbound.metrics(),
        )
    }

    /// Who may call what.
    pub fn access(&self) -> &Arc<crate::auth::Access> {
        &self.access
    }

    /// The audit log.
    /// Tasks of requests that outlive their connection; see the field.
    pub fn background(&self) -> &tokio_util::task::TaskTracker {
        &self.background
    }

    pub fn audit(&self) -> &crate::audit::AuditLog {
        &self.audit
    }

    /// The engine of worker processes.
    pub fn workers(&self) -> &WorkerEngine {
        &self.workers
    }

    /// Every live process of this node.
    pub(crate) fn workers_arc(&self) -> Arc<WorkerEngine> {
        self.workers.clone()
    }

    pub fn processes(&self) -> &Arc<ProcessTable> {
        &self.processes
    }

    /// Components that failed to load at start-up.
    pub fn problems(&self) -> &[LoadProblem] {
        &self.problems
    }
}

impl Drop for Host {
    /// The host's processes go with it. They are tasks on the runtime holding parts of the
    /// host (the service processes hold the registry, and so the engine with its pooled
    /// reservation); left running, they would keep all of it alive.
    fn drop(&mut self) {
        self.facts.cluster.load().stop();
        self.processes.kill_all();
    }
}

/// The live components of one kind, as a node announces them to the cluster.
fn revisions<L: crate::lifecycle::Lifecycle>(
    lifecycle: &L,
) -> Vec<crate::cluster::ComponentRevision> {
    use arsenal_engine::component::{LiveSet, Versioned, revision};
    lifecycle
        .versions()
        .snapshot()
        .items()
        .iter()
        .map(|version| crate::cluster::ComponentRevision {
            kind: <crate::lifecycle::Item<L> as Versioned>::KIND
                .name()
                .to_owned(),
            name: version.name().to_owned(),
            version: version.version().to_owned(),
            revision: revision(&**version).to_owned(),
        })
        .collect()
}

/// This run's incarnation: seconds since the epoch, truncated, so pids of an earlier run
/// of this node never name processes of this one.
fn incarnation() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as u32)
        .unwrap_or(0)
}

/// The `.wasm` files of `dir`, in name order.
fn wasm_files(dir: &Path) -> Result<Vec<PathBuf>, StartError> {
    let entries = std::fs::read_dir(dir).map_err(|error| StartError::Directory {
        dir: dir.to_owned(),
        error,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "wasm") && path.is_file())
        .collect();
    files.sort();
    Ok(files)
}
