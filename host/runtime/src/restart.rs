//! Restarting a process as an operator asks: `restart_process` gives it a new pid, through
//! its supervisor when it has one, with the state carried over where the worker exports
//! `state`.

use crate::kernel::{ExitReason, Pid, SendError};
use crate::process::{SpawnOptions, restore_state, state};
use crate::sandbox::Sandbox;
use crate::supervisor::Supervisors;

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

/// Restart a worker process: it gets a new pid and the old one exits. A supervised
/// process is restarted by its supervisor (`restart_child`); a standalone one is
/// started again with the same args, name, links and `trap_exit`. Where the worker
/// exports `state`, its state is snapshotted first and restored into the new process.
pub(crate) async fn restart(
    supervisors: &Supervisors,
    target: &str,
) -> Result<Restarted, RestartError> {
    let kernel = supervisors.kernel();
    let spawner = supervisors.spawner();
    let entry = kernel.entry(target)?;
    entry.check_unprotected()?;
    let old = entry.pid.clone();
    let code = supervisors
        .get(&old.to_string())
        .is_err()
        .then(|| spawner.engine.get(&entry.worker))
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
    let state = state(kernel, &old.to_string())
        .await?
        .map_err(|error| failed(format!("its state could not be taken: {error}")))?;
    let supervisor = entry.parent.get().cloned();
    let new = match supervisor
        .as_ref()
        .and_then(|parent| supervisors.get(&parent.to_string()).ok())
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
                let _ = kernel.unlink(&old.to_string(), &linked.to_string());
            }
            let exited = kernel.await_exit(&old.to_string())?;
            kernel.exit(&old.to_string(), None, ExitReason::Shutdown)?;
            exited.await;
            let options = SpawnOptions {
                name,
                link: None,
                trap_exit,
                sandbox: Sandbox::of(&entry),
            };
            let new = spawner
                .spawn(code, &entry.args, options)
                .await
                .map_err(|error| failed(error.to_string()))?;
            for linked in &links {
                let _ = kernel.link(&new.to_string(), &linked.to_string());
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
            restore_state(kernel, &new.to_string(), &version, state)
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
