//! Sandboxes: isolated supervision trees of wasm processes with their own budgets and
//! policy. A sandbox's processes share a memory budget (counted by each store's limiter),
//! a process count, a CPU-time budget and a per-message deadline, and by default may only
//! reach processes of their own sandbox.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::Pid;
use super::process::unix_ms;
use super::spec_document::{self, SpecError};
use super::supervisor::{ChildStart, SupervisorSpec};
use super::table::{ProcessTable, SpawnError};
use super::worker::{ExitReason, WorkerLimits};
use super::worker_code::WorkerCode;
use arsenal_engine::limits::SharedBudget;

/// A sandbox's budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxLimits {
    /// Linear memory of all its processes together.
    pub total_memory_bytes: u64,
    /// Linear memory of one process (at most the host's worker cap).
    pub process_memory_bytes: usize,
    pub max_processes: usize,
    /// Deadline of one `handle` (and `init`, `snapshot`, `restore`) call.
    pub message_deadline: Duration,
    /// Time its processes may spend handling messages, in total; `None` unlimited.
    pub cpu_time: Option<Duration>,
}

/// What a sandbox's processes may do beyond their own sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SandboxPolicy {
    /// Send to, call, link to, monitor and look up processes outside the sandbox.
    pub external_messaging: bool,
    /// A private directory, at `/data` for its workers (`wasi:filesystem`, through
    /// cap-std); workers importing `wasi:filesystem` run only where this is granted.
    pub directory: bool,
}

/// Why a sandbox request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    #[error("no sandbox `{0}`")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Failed(String),
}

impl From<SpecError> for SandboxError {
    fn from(error: SpecError) -> SandboxError {
        SandboxError::Invalid(error.to_string())
    }
}

/// One sandbox.
pub struct Sandbox {
    id: String,
    created: SystemTime,
    limits: RwLock<SandboxLimits>,
    policy: RwLock<SandboxPolicy>,
    memory: Arc<SharedBudget>,
    processes: AtomicUsize,
    busy_nanos: AtomicU64,
    /// Its tree, without the sandbox attached (that would be a reference cycle).
    spec: Mutex<SupervisorSpec>,
    root: Mutex<Option<Pid>>,
    /// Where its private directory lives on the host (created while the policy grants it).
    dir: PathBuf,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What a sandbox uses now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxUsage {
    pub processes: usize,
    pub memory_bytes: u64,
    pub cpu_time: Duration,
}

impl Sandbox {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn created_unix_ms(&self) -> u64 {
        unix_ms(self.created)
    }

    pub fn limits(&self) -> SandboxLimits {
        *self.limits.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn policy(&self) -> SandboxPolicy {
        *self.policy.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn usage(&self) -> SandboxUsage {
        SandboxUsage {
            processes: self.processes.load(Ordering::Acquire),
            memory_bytes: self.memory.used(),
            cpu_time: Duration::from_nanos(self.busy_nanos.load(Ordering::Relaxed)),
        }
    }

    /// The root supervisor's pid, when it has one.
    pub fn root(&self) -> Option<Pid> {
        self.root.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether its CPU-time budget is spent.
    pub fn cpu_exhausted(&self) -> bool {
        self.limits()
            .cpu_time
            .is_some_and(|budget| self.usage().cpu_time >= budget)
    }

    /// Worker limits for a process of this sandbox.
    pub(crate) fn worker_limits(&self, base: WorkerLimits) -> WorkerLimits {
        let limits = self.limits();
        WorkerLimits {
            memory_bytes: limits.process_memory_bytes.min(base.memory_bytes),
            call_timeout: limits.message_deadline,
            ..base
        }
    }

    /// Make its spec start `code` for workers of that name (for later restarts).
    pub(crate) fn swap_code(&self, code: &Arc<WorkerCode>) {
        fn swap(spec: &mut SupervisorSpec, code: &Arc<WorkerCode>) {
            for child in &mut spec.children {
                match &mut child.start {
                    ChildStart::Worker { code: old, .. } if old.name() == code.name() => {
                        *old = code.clone();
                    }
                    ChildStart::Supervisor(nested) => swap(nested, code),
                    ChildStart::Worker { .. } | ChildStart::Service(_) => {}
                }
            }
        }
        swap(
            &mut self.spec.lock().unwrap_or_else(|p| p.into_inner()),
            code,
        );
    }

    /// The private directory, when the policy grants one.
    pub fn private_dir(&self) -> Option<PathBuf> {
        self.policy().directory.then(|| self.dir.clone())
    }

    /// Create the private directory if the policy grants one.
    fn prepare_dir(&self) -> Result<(), SandboxError> {
        if self.policy().directory {
            std::fs::create_dir_all(&self.dir).map_err(|error| {
                SandboxError::Failed(format!(
                    "the private directory {} cannot be created: {error}",
                    self.dir.display()
                ))
            })?;
        }
        Ok(())
    }

    /// Remove the private directory and everything in it.
    fn remove_dir(&self) {
        match std::fs::remove_dir_all(&self.dir) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                tracing::warn!(sandbox = %self.id, dir = %self.dir.display(), %error, "sandbox directory not removed");
            }
            _ => {}
        }
    }

    pub(crate) fn memory_budget(&self) -> Arc<SharedBudget> {
        self.memory.clone()
    }

    /// Count a new process, or say which budget refuses it.
    pub(crate) fn admit(&self) -> Result<(), String> {
        if self.cpu_exhausted() {
            return Err(format!(
                "sandbox `{}` has spent its CPU-time budget",
                self.id
            ));
        }
        let max = self.limits().max_processes;
        self.processes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| {
                (count < max).then_some(count + 1)
            })
            .map(|_| ())
            .map_err(|_| {
                format!(
                    "sandbox `{}` already runs its maximum of {max} processes",
                    self.id
                )
            })
    }

    pub(crate) fn release(&self) {
        self.processes.fetch_sub(1, Ordering::AcqRel);
    }

    /// Charge handling time; false once the CPU-time budget is spent.
    pub(crate) fn charge(&self, nanos: u64) -> bool {
        self.busy_nanos.fetch_add(nanos, Ordering::Relaxed);
        !self.cpu_exhausted()
    }

    /// Whether a process of this sandbox may reach a process in `other` (none: outside
    /// any sandbox).
    pub(crate) fn reaches(self: &Arc<Self>, other: Option<&Arc<Sandbox>>) -> bool {
        other.is_some_and(|other| Arc::ptr_eq(self, other)) || self.policy().external_messaging
    }
}

/// The registry of sandboxes of a table.
#[derive(Default)]
pub(crate) struct Sandboxes {
    by_id: RwLock<BTreeMap<String, Arc<Sandbox>>>,
}

impl Sandboxes {
    fn get(&self, id: &str) -> Result<Arc<Sandbox>, SandboxError> {
        self.by_id
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| SandboxError::NotFound(id.to_owned()))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SandboxDocument {
    id: String,
    supervisor: serde_json::Value,
    #[serde(default)]
    limits: LimitsDocument,
    #[serde(default)]
    policy: PolicyDocument,
}

/// Limits as JSON; every field optional (defaults at creation, unchanged on update).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsDocument {
    pub total_memory_mib: Option<u64>,
    pub process_memory_mib: Option<u64>,
    pub max_processes: Option<usize>,
    pub message_deadline_ms: Option<u64>,
    /// 0 lifts the budget.
    pub cpu_time_ms: Option<u64>,
}

/// Policy as JSON; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    pub external_messaging: Option<bool>,
    pub directory: Option<bool>,
}

pub use arsenal_engine::settings::DEFAULT_MAX_SANDBOXES;
const MIB: u64 = 1 << 20;

impl LimitsDocument {
    /// Apply onto `base`, checking each value against the host's caps.
    fn apply(&self, base: SandboxLimits, worker_cap: usize) -> Result<SandboxLimits, SandboxError> {
        let invalid = |field: &str, problem: String| {
            SandboxError::Invalid(format!("limits.{field}: {problem}"))
        };
        let mut limits = base;
        if let Some(mib) = self.total_memory_mib {
            if !(1..=1 << 20).contains(&mib) {
                return Err(invalid(
                    "total_memory_mib",
                    "must be 1 to 1048576".to_owned(),
                ));
            }
            limits.total_memory_bytes = mib * MIB;
        }
        if let Some(mib) = self.process_memory_mib {
            let cap = worker_cap as u64 / MIB;
            if mib == 0 || mib > cap {
                return Err(invalid(
                    "process_memory_mib",
                    format!("must be 1 to {cap} (the host's worker memory cap)"),
                ));
            }
            limits.process_memory_bytes = (mib * MIB) as usize;
        }
        if let Some(max) = self.max_processes {
            if !(1..=100_000).contains(&max) {
                return Err(invalid("max_processes", "must be 1 to 100000".to_owned()));
            }
            limits.max_processes = max;
        }
        if let Some(ms) = self.message_deadline_ms {
            if !(1..=600_000).contains(&ms) {
                return Err(invalid(
                    "message_deadline_ms",
                    "must be 1 to 600000".to_owned(),
                ));
            }
            limits.message_deadline = Duration::from_millis(ms);
        }
        if let Some(ms) = self.cpu_time_ms {
            limits.cpu_time = (ms > 0).then(|| Duration::from_millis(ms));
        }
        Ok(limits)
    }
}

impl PolicyDocument {
    fn apply(&self, base: SandboxPolicy) -> SandboxPolicy {
        SandboxPolicy {
            external_messaging: self.external_messaging.unwrap_or(base.external_messaging),
            directory: self.directory.unwrap_or(base.directory),
        }
    }
}

/// What destroying a sandbox stopped and freed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Destroyed {
    pub processes_stopped: usize,
    pub memory_freed_bytes: u64,
}

impl ProcessTable {
    /// Create a sandbox from its JSON spec and start its tree.
    pub async fn create_sandbox(
        self: &Arc<Self>,
        document: &str,
    ) -> Result<Arc<Sandbox>, SandboxError> {
        let document: SandboxDocument = serde_json::from_str(document)
            .map_err(|error| SandboxError::Invalid(format!("the spec is not valid: {error}")))?;
        if !super::is_valid_name(&document.id, 64) {
            return Err(SandboxError::Invalid(format!(
                "id `{}`: use 1 to 64 letters, digits, `_`, `-` or `.`",
                document.id
            )));
        }
        let worker_limits = self.workers().limits();
        let defaults = SandboxLimits {
            total_memory_bytes: 64 * MIB,
            process_memory_bytes: worker_limits.memory_bytes,
            max_processes: 100,
            message_deadline: worker_limits.call_timeout,
            cpu_time: None,
        };
        let limits = document
            .limits
            .apply(defaults, worker_limits.memory_bytes)?;
        let policy = document.policy.apply(SandboxPolicy::default());
        let spec = spec_document::supervisor_spec(&document.supervisor.to_string(), self.workers())
            .map_err(|error| SandboxError::Invalid(format!("supervisor: {error}")))?;
        let sandbox = Arc::new(Sandbox {
            id: document.id.clone(),
            created: SystemTime::now(),
            memory: Arc::new(SharedBudget::new(limits.total_memory_bytes)),
            limits: RwLock::new(limits),
            policy: RwLock::new(policy),
            processes: AtomicUsize::new(0),
            busy_nanos: AtomicU64::new(0),
            spec: Mutex::new(spec),
            root: Mutex::new(None),
            dir: self.sandbox_root().join(&document.id),
        });
        sandbox.prepare_dir()?;
        {
            let mut by_id = self
                .sandbox_registry()
                .by_id
                .write()
                .unwrap_or_else(|p| p.into_inner());
            if by_id.contains_key(&document.id) {
                return Err(SandboxError::Conflict(format!(
                    "a sandbox `{}` exists",
                    document.id
                )));
            }
            if by_id.len() >= self.max_sandboxes() {
                return Err(SandboxError::Conflict(format!(
                    "the host runs its maximum of {} sandboxes",
                    self.max_sandboxes()
                )));
            }
            by_id.insert(document.id.clone(), sandbox.clone());
        }
        if let Err(error) = self.start_sandbox_tree(&sandbox).await {
            self.sandbox_registry()
                .by_id
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&document.id);
            sandbox.remove_dir();
            return Err(error);
        }
        Ok(sandbox)
    }

    async fn start_sandbox_tree(
        self: &Arc<Self>,
        sandbox: &Arc<Sandbox>,
    ) -> Result<(), SandboxError> {
        let mut spec = sandbox
            .spec
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        spec.sandbox = Some(sandbox.clone());
        let handle = self
            .start_supervisor(spec)
            .await
            .map_err(|error| match error {
                SpawnError::Budget(message) => SandboxError::Conflict(message),
                SpawnError::NotGranted(message) => SandboxError::Invalid(message),
                other => SandboxError::Failed(format!("its tree did not start: {other}")),
            })?;
        *sandbox.root.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle.pid().clone());
        Ok(())
    }

    pub fn sandbox(&self, id: &str) -> Result<Arc<Sandbox>, SandboxError> {
        self.sandbox_registry().get(id)
    }

    /// Every sandbox, by id.
    pub fn sandboxes(&self) -> Vec<Arc<Sandbox>> {
        self.sandbox_registry()
            .by_id
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Whether the sandbox's root supervisor is alive.
    pub fn sandbox_running(&self, sandbox: &Sandbox) -> bool {
        sandbox
            .root()
            .is_some_and(|root| self.resolve(&root.to_string()).is_ok())
    }

    /// Stop every process of the sandbox (its tree, then anything else it still runs).
    async fn stop_sandbox(&self, sandbox: &Arc<Sandbox>) -> usize {
        let mut stopped = 0;
        let root = sandbox
            .root
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(root) = root {
            let target = root.to_string();
            if let Ok(exited) = self.await_exit(&target) {
                stopped += self.sandbox_members(sandbox).len();
                let _ = self.exit(&target, None, ExitReason::Shutdown);
                exited.await;
            }
        }
        // One-shot processes of `run_in_sandbox` still running, if any.
        for entry in self.sandbox_members(sandbox) {
            let target = entry.to_string();
            if let Ok(exited) = self.await_exit(&target) {
                let _ = self.exit(&target, None, ExitReason::Kill);
                exited.await;
                stopped += 1;
            }
        }
        stopped
    }

    /// Pids of the live processes in a sandbox.
    pub fn sandbox_members(&self, sandbox: &Arc<Sandbox>) -> Vec<Pid> {
        let mut members: Vec<Pid> = self
            .entries()
            .into_iter()
            .filter(|entry| entry.in_sandbox(sandbox))
            .map(|entry| entry.pid.clone())
            .collect();
        members.sort();
        members
    }

    /// Stop every process of a sandbox and forget it.
    pub async fn destroy_sandbox(&self, id: &str) -> Result<Destroyed, SandboxError> {
        let sandbox = self
            .sandbox_registry()
            .by_id
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id)
            .ok_or_else(|| SandboxError::NotFound(id.to_owned()))?;
        let memory = sandbox.usage().memory_bytes;
        let processes_stopped = self.stop_sandbox(&sandbox).await;
        sandbox.remove_dir();
        Ok(Destroyed {
            processes_stopped,
            memory_freed_bytes: memory.saturating_sub(sandbox.usage().memory_bytes),
        })
    }

    /// Stop the sandbox's tree and start it again from its spec, with its CPU-time
    /// budget renewed.
    pub async fn restart_sandbox(self: &Arc<Self>, id: &str) -> Result<Arc<Sandbox>, SandboxError> {
        let sandbox = self.sandbox(id)?;
        self.stop_sandbox(&sandbox).await;
        sandbox.busy_nanos.store(0, Ordering::Relaxed);
        self.start_sandbox_tree(&sandbox).await?;
        Ok(sandbox)
    }

    /// Change some limits. Memory already held beyond a lowered total stays until freed;
    /// new growth is refused.
    pub fn set_sandbox_limits(
        &self,
        id: &str,
        update: &LimitsDocument,
    ) -> Result<Arc<Sandbox>, SandboxError> {
        let sandbox = self.sandbox(id)?;
        let limits = update.apply(sandbox.limits(), self.workers().limits().memory_bytes)?;
        let processes = sandbox.usage().processes;
        if limits.max_processes < processes {
            return Err(SandboxError::Conflict(format!(
                "limits.max_processes: {} processes run now; stop some first",
                processes
            )));
        }
        *sandbox.limits.write().unwrap_or_else(|p| p.into_inner()) = limits;
        sandbox.memory.set_cap(limits.total_memory_bytes);
        Ok(sandbox)
    }

    pub fn set_sandbox_policy(
        &self,
        id: &str,
        update: &PolicyDocument,
    ) -> Result<Arc<Sandbox>, SandboxError> {
        let sandbox = self.sandbox(id)?;
        let policy = update.apply(sandbox.policy());
        *sandbox.policy.write().unwrap_or_else(|p| p.into_inner()) = policy;
        sandbox.prepare_dir()?;
        Ok(sandbox)
    }
}
