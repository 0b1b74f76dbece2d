//! The sandboxes of a node: creating one from its JSON spec (its tree started under its
//! budgets and policy), stopping, restarting and destroying it, and changing its limits
//! and policy. Each keeps the supervisor spec its tree starts from; its processes are the
//! kernel's processes whose group it is.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use serde::Deserialize;

use crate::kernel::{ExitReason, Kernel, Pid};
use crate::process::SpawnError;
use crate::sandbox::{
    Destroyed, LimitsDocument, MIB, PolicyDocument, Sandbox, SandboxError, SandboxLimits,
    SandboxPolicy,
};
use crate::spec_document::{self, SpecError};
use crate::supervisor::{ChildStart, SupervisorSpec, Supervisors};
use crate::worker_code::WorkerCode;

impl From<SpecError> for SandboxError {
    fn from(error: SpecError) -> SandboxError {
        SandboxError::Invalid(error.to_string())
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

/// A sandbox and the tree it runs.
#[derive(Clone)]
struct Tree {
    sandbox: Arc<Sandbox>,
    /// Its tree, without the sandbox attached (that would be a reference cycle).
    spec: Arc<Mutex<SupervisorSpec>>,
}

/// Every sandbox of a node by id.
pub(crate) struct Sandboxes {
    supervisors: Arc<Supervisors>,
    by_id: RwLock<BTreeMap<String, Tree>>,
    /// Where sandboxes' private directories go: one directory per node's runtime.
    dir: PathBuf,
    max: usize,
}

impl Sandboxes {
    pub(crate) fn new(supervisors: Arc<Supervisors>, dir: PathBuf, max: usize) -> Sandboxes {
        Sandboxes {
            supervisors,
            by_id: RwLock::new(BTreeMap::new()),
            dir,
            max,
        }
    }

    pub(crate) fn supervisors(&self) -> &Arc<Supervisors> {
        &self.supervisors
    }

    fn kernel(&self) -> &Arc<Kernel> {
        self.supervisors.kernel()
    }

    fn tree(&self, id: &str) -> Result<Tree, SandboxError> {
        self.by_id
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| SandboxError::NotFound(id.to_owned()))
    }

    /// Create a sandbox from its JSON spec and start its tree.
    pub(crate) async fn create(&self, document: &str) -> Result<Arc<Sandbox>, SandboxError> {
        let document: SandboxDocument = serde_json::from_str(document)
            .map_err(|error| SandboxError::Invalid(format!("the spec is not valid: {error}")))?;
        if !crate::kernel::is_valid_name(&document.id, 64) {
            return Err(SandboxError::Invalid(format!(
                "id `{}`: use 1 to 64 letters, digits, `_`, `-` or `.`",
                document.id
            )));
        }
        let workers = &self.supervisors.spawner().engine;
        let worker_limits = workers.limits();
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
        let spec = spec_document::supervisor_spec(&document.supervisor.to_string(), workers)
            .map_err(|error| SandboxError::Invalid(format!("supervisor: {error}")))?;
        let sandbox = Arc::new(Sandbox::new(
            &document.id,
            limits,
            policy,
            self.dir.join(&document.id),
        ));
        sandbox.prepare_dir()?;
        let tree = Tree {
            sandbox: sandbox.clone(),
            spec: Arc::new(Mutex::new(spec)),
        };
        {
            let mut by_id = self.by_id.write().unwrap_or_else(|p| p.into_inner());
            if by_id.contains_key(&document.id) {
                return Err(SandboxError::Conflict(format!(
                    "a sandbox `{}` exists",
                    document.id
                )));
            }
            if by_id.len() >= self.max {
                return Err(SandboxError::Conflict(format!(
                    "the host runs its maximum of {} sandboxes",
                    self.max
                )));
            }
            by_id.insert(document.id.clone(), tree.clone());
        }
        if let Err(error) = self.start_tree(&tree).await {
            self.by_id
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&document.id);
            sandbox.remove_dir();
            return Err(error);
        }
        Ok(sandbox)
    }

    async fn start_tree(&self, tree: &Tree) -> Result<(), SandboxError> {
        let mut spec = tree.spec.lock().unwrap_or_else(|p| p.into_inner()).clone();
        spec.sandbox = Some(tree.sandbox.clone());
        let handle = self
            .supervisors
            .start(spec)
            .await
            .map_err(|error| match error {
                SpawnError::Budget(message) => SandboxError::Conflict(message),
                other => SandboxError::Failed(format!("its tree did not start: {other}")),
            })?;
        tree.sandbox.set_root(Some(handle.pid().clone()));
        Ok(())
    }

    pub(crate) fn get(&self, id: &str) -> Result<Arc<Sandbox>, SandboxError> {
        Ok(self.tree(id)?.sandbox)
    }

    /// Every sandbox, by id.
    pub(crate) fn list(&self) -> Vec<Arc<Sandbox>> {
        self.by_id
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|tree| tree.sandbox.clone())
            .collect()
    }

    /// Whether the sandbox's root supervisor is alive.
    pub(crate) fn running(&self, sandbox: &Sandbox) -> bool {
        sandbox
            .root()
            .is_some_and(|root| self.kernel().resolve(&root.to_string()).is_ok())
    }

    /// Stop every process of the sandbox (its tree, then anything else it still runs).
    async fn stop(&self, sandbox: &Arc<Sandbox>) -> usize {
        let kernel = self.kernel();
        let mut stopped = 0;
        if let Some(root) = sandbox.take_root() {
            let target = root.to_string();
            if let Ok(exited) = kernel.await_exit(&target) {
                stopped += self.members(sandbox).len();
                let _ = kernel.exit(&target, None, ExitReason::Shutdown);
                exited.await;
            }
        }
        // One-shot processes of `run_in_sandbox` still running, if any.
        for entry in self.members(sandbox) {
            let target = entry.to_string();
            if let Ok(exited) = kernel.await_exit(&target) {
                let _ = kernel.exit(&target, None, ExitReason::Kill);
                exited.await;
                stopped += 1;
            }
        }
        stopped
    }

    /// Pids of the live processes in a sandbox.
    pub(crate) fn members(&self, sandbox: &Arc<Sandbox>) -> Vec<Pid> {
        let mut members: Vec<Pid> = self
            .kernel()
            .entries()
            .into_iter()
            .filter(|entry| Sandbox::of(entry).is_some_and(|own| Arc::ptr_eq(&own, sandbox)))
            .map(|entry| entry.pid.clone())
            .collect();
        members.sort();
        members
    }

    /// Stop every process of a sandbox and forget it.
    pub(crate) async fn destroy(&self, id: &str) -> Result<Destroyed, SandboxError> {
        let tree = self
            .by_id
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id)
            .ok_or_else(|| SandboxError::NotFound(id.to_owned()))?;
        let sandbox = tree.sandbox;
        let memory = sandbox.usage().memory_bytes;
        let processes_stopped = self.stop(&sandbox).await;
        sandbox.remove_dir();
        Ok(Destroyed {
            processes_stopped,
            memory_freed_bytes: memory.saturating_sub(sandbox.usage().memory_bytes),
        })
    }

    /// Stop the sandbox's tree and start it again from its spec, with its CPU-time
    /// budget renewed.
    pub(crate) async fn restart(&self, id: &str) -> Result<Arc<Sandbox>, SandboxError> {
        let tree = self.tree(id)?;
        self.stop(&tree.sandbox).await;
        tree.sandbox.renew_cpu();
        self.start_tree(&tree).await?;
        Ok(tree.sandbox)
    }

    /// Change some limits. Memory already held beyond a lowered total stays until freed;
    /// new growth is refused.
    pub(crate) fn set_limits(
        &self,
        id: &str,
        update: &LimitsDocument,
    ) -> Result<Arc<Sandbox>, SandboxError> {
        let sandbox = self.get(id)?;
        let worker_cap = self.supervisors.spawner().engine.limits().memory_bytes;
        let limits = update.apply(sandbox.limits(), worker_cap)?;
        let processes = sandbox.usage().processes;
        if limits.max_processes < processes {
            return Err(SandboxError::Conflict(format!(
                "limits.max_processes: {} processes run now; stop some first",
                processes
            )));
        }
        sandbox.set_limits(limits);
        Ok(sandbox)
    }

    pub(crate) fn set_policy(
        &self,
        id: &str,
        update: &PolicyDocument,
    ) -> Result<Arc<Sandbox>, SandboxError> {
        let sandbox = self.get(id)?;
        sandbox.set_policy(update.apply(sandbox.policy()));
        sandbox.prepare_dir()?;
        Ok(sandbox)
    }

    /// Make the sandbox's spec start `code` for workers of that name (for later
    /// restarts of its tree).
    pub(crate) fn swap_code(&self, id: &str, code: &Arc<WorkerCode>) {
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
        if let Ok(tree) = self.tree(id) {
            swap(
                &mut tree.spec.lock().unwrap_or_else(|p| p.into_inner()),
                code,
            );
        }
    }
}
