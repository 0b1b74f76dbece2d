//! Work done inside a sandbox on an operator's behalf: a one-shot run of a worker under
//! the sandbox's budgets and policy, and hot reload of a worker's code in place.

use std::sync::Arc;
use std::time::Duration;

use crate::kernel::{ExitReason, Pid};
use crate::process::{SpawnError, SpawnOptions, upgrade_process};
use crate::restart::restart;
use crate::sandbox::{Sandbox, SandboxError};
use crate::sandboxes::Sandboxes;
use crate::worker::WorkerError;
use crate::worker_code::WorkerCode;

/// The result of `run_in_sandbox`.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The one-shot process (gone by now).
    pub pid: Pid,
    /// The reply, or why the call failed (a trap, a refused grow, a timeout).
    pub reply: Result<String, String>,
    pub memory_bytes: u64,
    pub busy: Duration,
}

/// What a hot reload did.
#[derive(Debug, Clone)]
pub struct Reloaded {
    pub worker: String,
    pub version: String,
    /// Moved to the new code in place, with their state.
    pub upgraded: Vec<Pid>,
    /// Restarted on the new code (workers without `state`): old and new pid.
    pub restarted: Vec<(Pid, Pid)>,
}

impl Sandboxes {
    /// Start a process of `worker` in the sandbox, send it one call, and stop it.
    pub(crate) async fn run_in(
        &self,
        id: &str,
        worker: &str,
        args: &str,
        payload: &str,
        timeout: Duration,
    ) -> Result<RunOutcome, SandboxError> {
        let sandbox = self.get(id)?;
        let code = self.loaded_worker(worker)?;
        let options = SpawnOptions {
            sandbox: Some(sandbox),
            ..SpawnOptions::default()
        };
        let kernel = self.supervisors().kernel();
        let pid = match self
            .supervisors()
            .spawner()
            .spawn(code, args, options)
            .await
        {
            Ok(pid) => pid,
            Err(SpawnError::Budget(message)) => return Err(SandboxError::Conflict(message)),
            // The sandbox's memory budget refused the new instance.
            Err(SpawnError::Worker(error @ WorkerError::ResourceExhausted(_))) => {
                return Err(SandboxError::Conflict(error.to_string()));
            }
            Err(error) => return Err(SandboxError::Failed(error.to_string())),
        };
        let target = pid.to_string();
        let exited = kernel
            .await_exit(&target)
            .map_err(|error| SandboxError::Failed(error.to_string()))?;
        let reply = kernel
            .call(&target, None, payload, timeout)
            .await
            .map_err(|error| error.to_string());
        let (memory_bytes, busy) = kernel
            .info(&target)
            .map(|info| (info.memory_bytes, Duration::from_millis(info.busy_ms)))
            .unwrap_or_default();
        let _ = kernel.exit(&target, None, ExitReason::Kill);
        exited.await;
        Ok(RunOutcome {
            pid,
            reply,
            memory_bytes,
            busy,
        })
    }

    /// Move the sandbox's processes running `worker` to its loaded code. Workers with
    /// `state` move in place (snapshot, new instance, restore); if one fails, those
    /// already moved go back and nothing changes. Workers without `state` restart on the
    /// new code through their supervisors.
    pub(crate) async fn hot_reload(
        &self,
        id: &str,
        worker: &str,
    ) -> Result<Reloaded, SandboxError> {
        let sandbox = self.get(id)?;
        let code = self.loaded_worker(worker)?;
        let stale: Vec<Pid> = self
            .supervisors()
            .kernel()
            .entries()
            .into_iter()
            .filter(|entry| {
                Sandbox::of(entry).is_some_and(|own| Arc::ptr_eq(&own, &sandbox))
                    && entry.worker == worker
                    && *entry.version.lock().unwrap_or_else(|p| p.into_inner()) != code.version()
            })
            .map(|entry| entry.pid.clone())
            .collect();
        let mut upgraded: Vec<(Pid, Arc<WorkerCode>)> = Vec::new();
        let mut to_restart = Vec::new();
        if code.is_stateful() {
            for pid in &stale {
                match upgrade_process(self.supervisors().kernel(), pid, code.clone()).await {
                    Ok(old) => upgraded.push((pid.clone(), old)),
                    Err(WorkerError::NotStateful) => to_restart.push(pid.clone()),
                    Err(error) => {
                        let rolled_back = self.roll_back(upgraded).await;
                        return Err(SandboxError::Failed(format!(
                            "{pid} could not move to {worker} {}: {error}; {rolled_back}",
                            code.version()
                        )));
                    }
                }
            }
        } else {
            to_restart = stale;
        }
        // From now on the sandbox's supervisors start the new code.
        self.swap_code(id, &code);
        self.swap_supervisor_code(&sandbox, &code).await;
        let mut restarted = Vec::new();
        for pid in to_restart {
            match restart(self.supervisors(), &pid.to_string()).await {
                Ok(done) => restarted.push((done.old, done.new)),
                Err(error) => {
                    return Err(SandboxError::Failed(format!(
                        "{pid} did not restart on the new code: {error}"
                    )));
                }
            }
        }
        Ok(Reloaded {
            worker: worker.to_owned(),
            version: code.version().to_owned(),
            upgraded: upgraded.into_iter().map(|(pid, _)| pid).collect(),
            restarted,
        })
    }

    fn loaded_worker(&self, worker: &str) -> Result<Arc<WorkerCode>, SandboxError> {
        self.supervisors()
            .spawner()
            .engine
            .get(worker)
            .ok_or_else(|| SandboxError::Invalid(format!("no worker named `{worker}` is loaded")))
    }

    /// Put processes back on the code they ran; says how that went.
    async fn roll_back(&self, upgraded: Vec<(Pid, Arc<WorkerCode>)>) -> String {
        let count = upgraded.len();
        let mut failures = Vec::new();
        for (pid, old) in upgraded {
            if let Err(error) = upgrade_process(self.supervisors().kernel(), &pid, old).await {
                failures.push(format!("{pid}: {error}"));
            }
        }
        if failures.is_empty() {
            format!("rolled back ({count} moved back to the previous version)")
        } else {
            format!("rollback failed for {}", failures.join(", "))
        }
    }

    async fn swap_supervisor_code(&self, sandbox: &Arc<Sandbox>, code: &Arc<WorkerCode>) {
        for pid in self.members(sandbox) {
            if let Ok(supervisor) = self.supervisors().get(&pid.to_string()) {
                let _ = supervisor.swap_code(code.clone()).await;
            }
        }
    }
}
