//! `SupervisedWorker`: a worker started under a one-for-one supervisor, to message,
//! crash, and watch being restarted.

use std::sync::Arc;
use std::time::Duration;

use arsenal::runtime::{
    ChildSpec, ExitReason, Flags, ProcessTable, SupervisorHandle, SupervisorSpec,
};

use crate::{Error, TestHost};

/// How long a call or a restart may take before the helpers give up.
const WAIT: Duration = Duration::from_secs(10);

/// The only child, `worker`, of a supervisor the test started.
pub struct SupervisedWorker {
    table: Arc<ProcessTable>,
    supervisor: SupervisorHandle,
}

/// The child id of the supervised worker.
const CHILD: &str = "worker";

impl TestHost {
    /// Start the worker component `worker` (loaded by [`crate::TestHostBuilder::worker`])
    /// with `args` as the only child of a one-for-one supervisor allowing `intensity`
    /// restarts in 5 s.
    pub async fn supervise(
        &self,
        worker: &str,
        args: &str,
        intensity: u32,
    ) -> Result<SupervisedWorker, Error> {
        let table = self.host().processes().clone();
        let supervisor = table
            .start_supervisor(SupervisorSpec {
                name: None,
                flags: Flags {
                    intensity,
                    ..Flags::default()
                },
                children: vec![ChildSpec::worker(CHILD, self.worker_code(worker)?, args)],
                sandbox: None,
            })
            .await?;
        Ok(SupervisedWorker { table, supervisor })
    }
}

impl SupervisedWorker {
    /// The supervisor, for what the helpers do not cover (history, flags, children).
    pub fn supervisor(&self) -> &SupervisorHandle {
        &self.supervisor
    }

    /// The worker's current pid; `None` while it is not running (after the supervisor
    /// gave up, say).
    pub async fn pid(&self) -> Result<Option<String>, Error> {
        let children = self.supervisor.which_children().await?;
        Ok(children
            .into_iter()
            .find(|child| child.id == CHILD)
            .and_then(|child| child.pid))
    }

    /// How many times the supervisor restarted the worker.
    pub async fn restarts(&self) -> Result<u32, Error> {
        let children = self.supervisor.which_children().await?;
        Ok(children
            .iter()
            .find(|child| child.id == CHILD)
            .map_or(0, |child| child.restarts))
    }

    /// Send a message (no reply).
    pub async fn send(&self, payload: &str) -> Result<(), Error> {
        let pid = self.running_pid().await?;
        Ok(self.table.send(&pid, None, payload)?)
    }

    /// Send a call and wait for the reply.
    pub async fn call(&self, payload: &str) -> Result<String, Error> {
        let pid = self.running_pid().await?;
        Ok(self.table.call(&pid, None, payload, WAIT).await?)
    }

    /// Send `payload`, which should crash the worker, and wait until it exited and its
    /// supervisor restarted it; the exit reason. An exit that is no crash, or a
    /// supervisor that gives up, is reported as such by the reason and [`Self::pid`].
    pub async fn crash(&self, payload: &str) -> Result<ExitReason, Error> {
        let pid = self.running_pid().await?;
        let exited = self.table.await_exit(&pid)?;
        self.table.send(&pid, None, payload)?;
        let reason = tokio::time::timeout(WAIT, exited)
            .await
            .map_err(|_| Error::NotRestarted(pid.clone(), WAIT))?;
        // The supervisor hears of the exit after the waiter does: wait for the new child
        // (or for the supervisor to have gone, when the restart intensity ran out).
        tokio::time::timeout(WAIT, async {
            loop {
                match self.supervisor.which_children().await {
                    Ok(children) => {
                        let now = children.iter().find(|child| child.id == CHILD);
                        if now.is_some_and(|child| child.pid.as_deref() != Some(pid.as_str())) {
                            return;
                        }
                    }
                    Err(_) => return,
                }
                tokio::task::yield_now().await;
            }
        })
        .await
        .map_err(|_| Error::NotRestarted(pid, WAIT))?;
        Ok(reason)
    }

    async fn running_pid(&self) -> Result<String, Error> {
        self.pid()
            .await?
            .ok_or_else(|| Error::NotRestarted(CHILD.to_owned(), Duration::ZERO))
    }
}
