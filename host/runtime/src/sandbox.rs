//! Sandboxes: isolated supervision trees of wasm processes with their own budgets and
//! policy. A sandbox's processes share a memory budget (counted by each store's limiter),
//! a process count, a CPU-time budget and a per-message deadline, and by default may only
//! reach processes of their own sandbox. A sandbox is the group its processes count
//! against in the kernel ([`ProcessGroup`]); its tree and lifecycle are in `sandboxes`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::kernel::{Pid, ProcessEntry, ProcessGroup, unix_ms};
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

/// One sandbox.
pub struct Sandbox {
    id: String,
    created: SystemTime,
    limits: RwLock<SandboxLimits>,
    policy: RwLock<SandboxPolicy>,
    memory: Arc<SharedBudget>,
    processes: AtomicUsize,
    busy_nanos: AtomicU64,
    /// Its root supervisor, while its tree runs.
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
    /// A sandbox with nothing running yet; its private directory (when granted) at `dir`.
    pub(crate) fn new(
        id: &str,
        limits: SandboxLimits,
        policy: SandboxPolicy,
        dir: PathBuf,
    ) -> Sandbox {
        Sandbox {
            id: id.to_owned(),
            created: SystemTime::now(),
            memory: Arc::new(SharedBudget::new(limits.total_memory_bytes)),
            limits: RwLock::new(limits),
            policy: RwLock::new(policy),
            processes: AtomicUsize::new(0),
            busy_nanos: AtomicU64::new(0),
            root: Mutex::new(None),
            dir,
        }
    }

    /// The sandbox a process runs in.
    pub fn of(entry: &ProcessEntry) -> Option<Arc<Sandbox>> {
        entry.group()
    }

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

    /// The private directory, when the policy grants one.
    pub fn private_dir(&self) -> Option<PathBuf> {
        self.policy().directory.then(|| self.dir.clone())
    }

    pub(crate) fn set_root(&self, root: Option<Pid>) {
        *self.root.lock().unwrap_or_else(|p| p.into_inner()) = root;
    }

    pub(crate) fn take_root(&self) -> Option<Pid> {
        self.root.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    pub(crate) fn set_limits(&self, limits: SandboxLimits) {
        *self.limits.write().unwrap_or_else(|p| p.into_inner()) = limits;
        self.memory.set_cap(limits.total_memory_bytes);
    }

    pub(crate) fn set_policy(&self, policy: SandboxPolicy) {
        *self.policy.write().unwrap_or_else(|p| p.into_inner()) = policy;
    }

    /// Give back the CPU-time budget.
    pub(crate) fn renew_cpu(&self) {
        self.busy_nanos.store(0, Ordering::Relaxed);
    }

    /// Create the private directory if the policy grants one.
    pub(crate) fn prepare_dir(&self) -> Result<(), SandboxError> {
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
    pub(crate) fn remove_dir(&self) {
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
pub(crate) const MIB: u64 = 1 << 20;

impl LimitsDocument {
    /// Apply onto `base`, checking each value against the host's caps.
    pub(crate) fn apply(
        &self,
        base: SandboxLimits,
        worker_cap: usize,
    ) -> Result<SandboxLimits, SandboxError> {
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
    pub(crate) fn apply(&self, base: SandboxPolicy) -> SandboxPolicy {
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

impl ProcessGroup for Sandbox {
    /// Count a new process, or say which budget refuses it.
    fn admit(&self) -> Result<(), String> {
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

    fn release(&self) {
        self.processes.fetch_sub(1, Ordering::AcqRel);
    }
}
