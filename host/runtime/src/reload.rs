//! Work done inside a sandbox on an operator's behalf: a one-shot run of a worker under
//! the sandbox's budgets and policy, and hot reload of a worker's code in place.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use super::Pid;
use super::process::Signal;
use super::sandbox::{Sandbox, SandboxError};
use super::table::{ProcessTable, SpawnError, SpawnOptions};
use super::worker::{ExitReason, WorkerError};
use super::worker_code::WorkerCode;

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

impl ProcessTable {
    /// Start a process of `worker` in the sandbox, send it one call, and stop it.
    pub async fn run_in_sandbox(
        self: &Arc<Self>,
        id: &str,
        worker: &str,
        args: &str,
        payload: &str,
        timeout: Duration,
    ) -> Result<RunOutcome, SandboxError> {
        let sandbox = self.sandbox(id)?;
        let code = self.loaded_worker(worker)?;
        let options = SpawnOptions {
            sandbox: Some(sandbox),
            ..SpawnOptions::default()
        };
        let pid = match self.spawn(code, args, options).await {
            Ok(pid) => pid,
            Err(SpawnError::Budget(message)) => return Err(SandboxError::Conflict(message)),
            Err(SpawnError::NotGranted(message)) => return Err(SandboxError::Invalid(message)),
            // The sandbox's memory budget refused the new instance.
            Err(SpawnError::Worker(error @ WorkerError::ResourceExhausted(_))) => {
                return Err(SandboxError::Conflict(error.to_string()));
            }
            Err(error) => return Err(SandboxError::Failed(error.to_string())),
        };
        let target = pid.to_string();
        let exited = self
            .await_exit(&target)
            .map_err(|error| SandboxError::Failed(error.to_string()))?;
        let reply = self
            .call(&target, None, payload, timeout)
            .await
            .map_err(|error| error.to_string());
        let (memory_bytes, busy) = self
            .info(&target)
            .map(|info| (info.memory_bytes, Duration::from_millis(info.busy_ms)))
            .unwrap_or_default();
        let _ = self.exit(&target, None, ExitReason::Kill);
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
    pub async fn hot_reload_sandbox(
        self: &Arc<Self>,
        id: &str,
        worker: &str,
    ) -> Result<Reloaded, SandboxError> {
        let sandbox = self.sandbox(id)?;
        let code = self.loaded_worker(worker)?;
        let stale: Vec<Pid> = self
            .entries()
            .into_iter()
            .filter(|entry| {
                entry.in_sandbox(&sandbox)
                    && entry.worker == worker
                    && *entry.version.lock().unwrap_or_else(|p| p.into_inner()) != code.version()
            })
            .map(|entry| entry.pid.clone())
            .collect();
        let mut upgraded: Vec<(Pid, Arc<WorkerCode>)> = Vec::new();
        let mut to_restart = Vec::new();
        if code.is_stateful() {
            for pid in &stale {
                match self.upgrade(pid, code.clone()).await {
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
        sandbox.swap_code(&code);
        self.swap_supervisor_code(&sandbox, &code).await;
        let mut restarted = Vec::new();
        for pid in to_restart {
            match self.restart(&pid.to_string()).await {
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
        self.workers()
            .get(worker)
            .ok_or_else(|| SandboxError::Invalid(format!("no worker named `{worker}` is loaded")))
    }

    async fn upgrade(
        &self,
        pid: &Pid,
        code: Arc<WorkerCode>,
    ) -> Result<Arc<WorkerCode>, WorkerError> {
        let entry = self
            .entry_by_pid(pid)
            .ok_or_else(|| WorkerError::Crashed(format!("no process {pid}")))?;
        let (reply, answer) = oneshot::channel();
        let _ = entry.signals.send(Signal::Upgrade { code, reply });
        answer
            .await
            .map_err(|_| WorkerError::Crashed(format!("{pid} exited during the upgrade")))?
    }

    /// Put processes back on the code they ran; says how that went.
    async fn roll_back(&self, upgraded: Vec<(Pid, Arc<WorkerCode>)>) -> String {
        let count = upgraded.len();
        let mut failures = Vec::new();
        for (pid, old) in upgraded {
            if let Err(error) = self.upgrade(&pid, old).await {
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
        for pid in self.sandbox_members(sandbox) {
            if let Ok(supervisor) = self.supervisor(&pid.to_string()) {
                let _ = supervisor.swap_code(code.clone()).await;
            }
        }
    }
}
