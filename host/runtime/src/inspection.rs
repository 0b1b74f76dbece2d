//! Looking into processes and restarting them: state snapshots, mailboxes without
//! consuming them, memory histories, and `restart_process` (a new pid, the state carried
//! over where the worker exports `state`).

use std::sync::Arc;

use tokio::sync::oneshot;

use super::Pid;
use super::mailbox::QueuedMessage;
use super::process::{SendError, Signal};
use super::table::{ProcessTable, SpawnOptions};
use super::worker::{ExitReason, WorkerError};

/// A mailbox as `inspect_mailbox` shows it.
#[derive(Debug, Clone)]
pub struct MailboxView {
    pub pid: Pid,
    pub len: usize,
    pub capacity: usize,
    pub messages: Vec<QueuedMessage>,
}

/// What a restart did.
#[derive(Debug, Clone)]
pub struct Restarted {
    pub old: Pid,
    pub new: Pid,
    /// Bytes of state carried over; `None` when the worker has no `state` export.
    pub state_bytes: Option<usize>,
    /// The supervisor that restarted it, when supervised.
    pub supervisor: Option<Pid>,
}

/// Why a restart did not happen or did not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestartError {
    #[error("{0}")]
    NotFound(SendError),
    #[error("{0} cannot be restarted: {1}")]
    NotRestartable(Pid, String),
    #[error("the restart of {0} failed: {1}")]
    Failed(Pid, String),
}

impl From<SendError> for RestartError {
    fn from(error: SendError) -> RestartError {
        RestartError::NotFound(error)
    }
}

impl ProcessTable {
    /// The first `limit` queued messages of a process, left in place.
    pub fn mailbox(&self, target: &str, limit: usize) -> Result<MailboxView, SendError> {
        let entry = self.entry(target)?;
        Ok(MailboxView {
            pid: entry.pid.clone(),
            len: entry.mailbox.len(),
            capacity: entry.mailbox.capacity(),
            messages: entry.mailbox.peek(limit),
        })
    }

    /// A process's state as its worker's `snapshot` gives it, taken between messages;
    /// `None` for a worker without `state` or a supervisor. A hibernated process answers
    /// from its kept state without waking.
    pub async fn state(
        &self,
        target: &str,
    ) -> Result<Result<Option<Vec<u8>>, WorkerError>, SendError> {
        let entry = self.entry(target)?;
        let (reply, answer) = oneshot::channel();
        let _ = entry.signals.send(Signal::Snapshot(reply));
        answer
            .await
            .map_err(|_| SendError::NoProcess(target.to_owned()))
    }

    /// Replace a process's state with one taken from `from_version` of its worker.
    pub async fn restore(
        &self,
        target: &str,
        from_version: &str,
        state: Vec<u8>,
    ) -> Result<Result<(), WorkerError>, SendError> {
        let entry = self.entry(target)?;
        let (reply, answer) = oneshot::channel();
        let _ = entry.signals.send(Signal::Restore {
            version: from_version.to_owned(),
            state,
            reply,
        });
        answer
            .await
            .map_err(|_| SendError::NoProcess(target.to_owned()))
    }

    /// Memory samples of every process that has at least `min` of them:
    /// (pid, [(unix ms, bytes)]), by pid.
    pub fn memory_histories(&self, min: usize) -> Vec<(Pid, Vec<(u64, u64)>)> {
        let mut histories: Vec<_> = self
            .entries()
            .into_iter()
            .filter_map(|entry| {
                let history = entry.memory_history();
                (history.len() >= min).then(|| (entry.pid.clone(), history))
            })
            .collect();
        histories.sort_by(|a, b| a.0.cmp(&b.0));
        histories
    }

    /// Restart a worker process: it gets a new pid and the old one exits. A supervised
    /// process is restarted by its supervisor (`restart_child`); a standalone one is
    /// started again with the same args, name, links and `trap_exit`. Where the worker
    /// exports `state`, its state is snapshotted first and restored into the new process.
    pub async fn restart(self: &Arc<Self>, target: &str) -> Result<Restarted, RestartError> {
        let entry = self.entry(target)?;
        entry.check_unprotected()?;
        let old = entry.pid.clone();
        let code = self
            .supervisor(&old.to_string())
            .is_err()
            .then(|| self.workers().get(&entry.worker))
            .flatten()
            .ok_or_else(|| {
                RestartError::NotRestartable(
                    old.clone(),
                    format!(
                        "no loaded worker `{}` (supervisors restart through their parent)",
                        entry.worker
                    ),
                )
            })?;
        let failed = |why: String| RestartError::Failed(old.clone(), why);
        let state = self
            .state(&old.to_string())
            .await?
            .map_err(|error| failed(format!("its state could not be taken: {error}")))?;
        let supervisor = entry.parent.get().cloned();
        let new = match supervisor
            .as_ref()
            .and_then(|parent| self.supervisor(&parent.to_string()).ok())
        {
            Some(parent) => {
                let children = parent
                    .which_children()
                    .await
                    .map_err(|error| failed(error.to_string()))?;
                let id = children
                    .iter()
                    .find(|child| child.pid.as_deref() == Some(old.to_string().as_str()))
                    .map(|child| child.id.clone())
                    .ok_or_else(|| failed("its supervisor no longer lists it".to_owned()))?;
                parent
                    .restart_child(&id)
                    .await
                    .map_err(|error| failed(error.to_string()))?
                    .ok_or_else(|| failed(format!("child `{id}` did not start")))?
            }
            None => {
                let name = entry.name.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let links: Vec<Pid> = entry
                    .links
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                    .cloned()
                    .collect();
                let trap_exit = entry.trap_exit.load(std::sync::atomic::Ordering::Relaxed);
                // Unlinked first, so the old process's exit touches none of its links.
                for linked in &links {
                    let _ = self.unlink(&old.to_string(), &linked.to_string());
                }
                let exited = self.await_exit(&old.to_string())?;
                self.exit(&old.to_string(), None, ExitReason::Shutdown)?;
                exited.await;
                let options = SpawnOptions {
                    name,
                    link: None,
                    trap_exit,
                    sandbox: entry.sandbox.clone(),
                };
                let new = self
                    .spawn(code, &entry.args, options)
                    .await
                    .map_err(|error| failed(error.to_string()))?;
                for linked in &links {
                    let _ = self.link(&new.to_string(), &linked.to_string());
                }
                new
            }
        };
        let state_bytes = match state {
            Some(state) => {
                let bytes = state.len();
                let version = entry
                    .version
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                self.restore(&new.to_string(), &version, state)
                    .await?
                    .map_err(|error| {
                        failed(format!("restoring its state into {new} failed: {error}"))
                    })?;
                Some(bytes)
            }
            None => None,
        };
        Ok(Restarted {
            old,
            new,
            state_bytes,
            supervisor,
        })
    }
}
