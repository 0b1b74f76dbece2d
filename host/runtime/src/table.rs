//! A node's process runtime, assembled: the kernel, worker processes on the worker
//! engine, and the supervisor, sandbox and trace libraries above them. This is the API the
//! host uses; each operation goes to the layer that owns it, and the kernel's own
//! operations (send, call, link, monitor, exit, lookups) are called on it directly.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::kernel::{Kernel, Pid, SendError};
use crate::process::{self, SpawnError, SpawnOptions, Spawner};
use crate::reload::{Reloaded, RunOutcome};
use crate::restart::{self, RestartError, Restarted};
use crate::sandbox::{Destroyed, LimitsDocument, PolicyDocument, Sandbox, SandboxError};
use crate::sandboxes::Sandboxes;
use crate::service::{HOST_TREE, ServiceSpec};
use crate::supervisor::{
    ChildSpec, ChildStart, Restart, Shutdown, SupervisorHandle, SupervisorSpec, Supervisors,
};
use crate::trace::{Profile, Trace, TraceError, TraceOptions, Traces};
use crate::worker::{WorkerEngine, WorkerError};
use crate::worker_code::WorkerCode;

/// Sizes and timers of the runtime.
#[derive(Debug, Clone)]
pub struct TableLimits {
    /// Messages a mailbox holds; a send beyond is refused with `MailboxFull`.
    pub mailbox_capacity: usize,
    /// Idle time after which a stateful worker hibernates; `None` never.
    pub idle_hibernate: Option<Duration>,
    /// Sandboxes at most.
    pub max_sandboxes: usize,
    /// Where sandboxes' private directories go (each runtime uses its own subdirectory).
    pub sandbox_dir: std::path::PathBuf,
}

/// Runtimes made by this OS process, to name their sandbox directories apart.
static TABLES: AtomicU64 = AtomicU64::new(0);

/// Every process of this node and the libraries that run them.
pub struct ProcessTable {
    kernel: Arc<Kernel>,
    spawner: Arc<Spawner>,
    supervisors: Arc<Supervisors>,
    sandboxes: Sandboxes,
    traces: Traces,
}

impl ProcessTable {
    pub fn new(
        node: &str,
        incarnation: u32,
        workers: Arc<WorkerEngine>,
        limits: TableLimits,
    ) -> Arc<ProcessTable> {
        let kernel = Kernel::new(node, incarnation, limits.mailbox_capacity);
        let spawner = Arc::new(Spawner::new(kernel.clone(), workers, limits.idle_hibernate));
        let supervisors = Arc::new(Supervisors::new(spawner.clone()));
        // One directory per runtime, so hosts never share one.
        let sandbox_dir = limits.sandbox_dir.join(format!(
            "{}-{incarnation}-{}",
            std::process::id(),
            TABLES.fetch_add(1, Ordering::Relaxed)
        ));
        Arc::new(ProcessTable {
            traces: Traces::new(kernel.clone()),
            sandboxes: Sandboxes::new(supervisors.clone(), sandbox_dir, limits.max_sandboxes),
            kernel,
            spawner,
            supervisors,
        })
    }

    /// The kernel the processes run on.
    pub fn kernel(&self) -> &Arc<Kernel> {
        &self.kernel
    }

    pub fn workers(&self) -> &WorkerEngine {
        &self.spawner.engine
    }

    /// Start a process running `code`, initialised with `args`.
    pub async fn spawn(
        &self,
        code: Arc<WorkerCode>,
        args: &str,
        options: SpawnOptions,
    ) -> Result<Pid, SpawnError> {
        self.spawner.spawn(code, args, options).await
    }

    /// Hibernate a process now; waits until it is asleep.
    pub async fn hibernate(&self, target: &str) -> Result<Result<(), WorkerError>, SendError> {
        process::hibernate_process(&self.kernel, target).await
    }

    /// A process's state as its worker's `snapshot` gives it, taken between messages;
    /// `None` for a worker without `state` or a supervisor. A hibernated process answers
    /// from its kept state without waking.
    pub async fn state(
        &self,
        target: &str,
    ) -> Result<Result<Option<Vec<u8>>, WorkerError>, SendError> {
        process::state(&self.kernel, target).await
    }

    /// Replace a process's state with one taken from `from_version` of its worker.
    pub async fn restore(
        &self,
        target: &str,
        from_version: &str,
        state: Vec<u8>,
    ) -> Result<Result<(), WorkerError>, SendError> {
        process::restore_state(&self.kernel, target, from_version, state).await
    }

    /// Restart a worker process: it gets a new pid and the old one exits (see
    /// `restart::restart`).
    pub async fn restart(&self, target: &str) -> Result<Restarted, RestartError> {
        restart::restart(&self.supervisors, target).await
    }

    /// Start a supervisor tree.
    pub async fn start_supervisor(
        &self,
        spec: SupervisorSpec,
    ) -> Result<SupervisorHandle, SpawnError> {
        self.supervisors.start(spec).await
    }

    /// A supervisor by pid text or registered name.
    pub fn supervisor(&self, target: &str) -> Result<SupervisorHandle, SendError> {
        self.supervisors.get(target)
    }

    /// Every live supervisor, ordered by pid.
    pub fn supervisors(&self) -> Vec<SupervisorHandle> {
        self.supervisors.list()
    }

    /// Start the root tree of host services; its processes are protected.
    pub async fn start_host_tree(&self, services: Vec<ServiceSpec>) -> Result<Pid, SpawnError> {
        let children = services
            .into_iter()
            .map(|service| ChildSpec {
                id: service.name.trim_start_matches("arsenal.").to_owned(),
                start: ChildStart::Service(service),
                restart: Restart::Permanent,
                shutdown: Shutdown::BrutalKill,
            })
            .collect();
        let spec = SupervisorSpec {
            name: Some(HOST_TREE.to_owned()),
            children,
            ..SupervisorSpec::default()
        };
        let handle = self.start_supervisor(spec).await?;
        if let Some(entry) = self.kernel.entry_by_pid(handle.pid()) {
            entry.protect();
        }
        Ok(handle.pid().clone())
    }

    /// Create a sandbox from its JSON spec and start its tree.
    pub async fn create_sandbox(&self, document: &str) -> Result<Arc<Sandbox>, SandboxError> {
        self.sandboxes.create(document).await
    }

    pub fn sandbox(&self, id: &str) -> Result<Arc<Sandbox>, SandboxError> {
        self.sandboxes.get(id)
    }

    /// Every sandbox, by id.
    pub fn sandboxes(&self) -> Vec<Arc<Sandbox>> {
        self.sandboxes.list()
    }

    /// Whether the sandbox's root supervisor is alive.
    pub fn sandbox_running(&self, sandbox: &Sandbox) -> bool {
        self.sandboxes.running(sandbox)
    }

    /// Pids of the live processes in a sandbox.
    pub fn sandbox_members(&self, sandbox: &Arc<Sandbox>) -> Vec<Pid> {
        self.sandboxes.members(sandbox)
    }

    /// Stop every process of a sandbox and forget it.
    pub async fn destroy_sandbox(&self, id: &str) -> Result<Destroyed, SandboxError> {
        self.sandboxes.destroy(id).await
    }

    /// Stop the sandbox's tree and start it again from its spec, with its CPU-time
    /// budget renewed.
    pub async fn restart_sandbox(&self, id: &str) -> Result<Arc<Sandbox>, SandboxError> {
        self.sandboxes.restart(id).await
    }

    /// Change some limits. Memory already held beyond a lowered total stays until freed;
    /// new growth is refused.
    pub fn set_sandbox_limits(
        &self,
        id: &str,
        update: &LimitsDocument,
    ) -> Result<Arc<Sandbox>, SandboxError> {
        self.sandboxes.set_limits(id, update)
    }

    pub fn set_sandbox_policy(
        &self,
        id: &str,
        update: &PolicyDocument,
    ) -> Result<Arc<Sandbox>, SandboxError> {
        self.sandboxes.set_policy(id, update)
    }

    /// Start a process of `worker` in the sandbox, send it one call, and stop it.
    pub async fn run_in_sandbox(
        &self,
        id: &str,
        worker: &str,
        args: &str,
        payload: &str,
        timeout: Duration,
    ) -> Result<RunOutcome, SandboxError> {
        self.sandboxes
            .run_in(id, worker, args, payload, timeout)
            .await
    }

    /// Move the sandbox's processes running `worker` to its loaded code (see
    /// `reload`).
    pub async fn hot_reload_sandbox(
        &self,
        id: &str,
        worker: &str,
    ) -> Result<Reloaded, SandboxError> {
        self.sandboxes.hot_reload(id, worker).await
    }

    /// Start tracing a process.
    pub fn start_trace(
        &self,
        target: &str,
        options: TraceOptions,
    ) -> Result<Arc<Trace>, TraceError> {
        self.traces.start(target, options)
    }

    pub fn trace(&self, id: u64) -> Result<Arc<Trace>, TraceError> {
        self.traces.get(id)
    }

    /// Stop a trace and forget it; its events come back one last time.
    pub fn stop_trace(&self, id: u64) -> Result<Arc<Trace>, TraceError> {
        self.traces.stop(id)
    }

    /// Profile a process for `window`: time and memory per message kind.
    pub async fn profile(&self, target: &str, window: Duration) -> Result<Profile, TraceError> {
        self.traces.profile(target, window).await
    }
}

/// The runtime's kernel operations are the kernel's.
impl Deref for ProcessTable {
    type Target = Kernel;

    fn deref(&self) -> &Kernel {
        &self.kernel
    }
}
