//! Capabilities `supervisors` (`arsenal:runtime/supervisors`, read-only) and
//! `supervisor_control` (`arsenal:runtime/supervisor-control`): supervision trees as
//! operations see them. Targets are supervisor pids or registered names.

use std::sync::Arc;

use wasmtime::component::Linker;

use crate::bindings::arsenal::runtime::supervisor_control;
use crate::bindings::arsenal::runtime::supervisors::{
    self as wit, ChildInfo, RestartRecord, SupervisorError as Refused, SupervisorInfo, TreeNode,
};
use crate::policy::Capability;
use crate::runtime::{
    self, ExitReason, Pid, ProcessTable, SpecError, SupervisorError, SupervisorHandle,
};

use super::{Gated, Granted, Reach, RuntimeView};

/// Link this module's interfaces, each behind its capability.
pub(super) fn add_to_linker<T: RuntimeView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, Gated>(linker, |state| {
        Granted::check(state.reach(), Capability::Supervisors)
    })?;
    supervisor_control::add_to_linker::<T, Gated>(linker, |state| {
        Granted::check(state.reach(), Capability::SupervisorControl)
    })?;
    Ok(())
}

fn strategy(strategy: runtime::Strategy) -> wit::Strategy {
    match strategy {
        runtime::Strategy::OneForOne => wit::Strategy::OneForOne,
        runtime::Strategy::OneForAll => wit::Strategy::OneForAll,
        runtime::Strategy::RestForOne => wit::Strategy::RestForOne,
    }
}

fn restart(restart: runtime::Restart) -> wit::Restart {
    match restart {
        runtime::Restart::Permanent => wit::Restart::Permanent,
        runtime::Restart::Transient => wit::Restart::Transient,
        runtime::Restart::Temporary => wit::Restart::Temporary,
    }
}

fn flags(flags: runtime::Flags) -> wit::SupervisorFlags {
    wit::SupervisorFlags {
        strategy: strategy(flags.strategy),
        intensity: flags.intensity,
        period_ms: flags.period.as_millis() as u64,
    }
}

fn refused(error: SupervisorError) -> Refused {
    let message = error.to_string();
    match error {
        SupervisorError::NoSupervisor(_) => Refused::NotFound(message),
        SupervisorError::NoChild(_) => Refused::NoChild(message),
        SupervisorError::ChildExists(_) => Refused::ChildExists(message),
        SupervisorError::Running(_) => Refused::Invalid(message),
        SupervisorError::Start(..) => Refused::StartFailed(message),
    }
}

fn spec_refused(error: SpecError) -> Refused {
    Refused::Invalid(error.to_string())
}

fn child_info(child: runtime::ChildInfo) -> ChildInfo {
    ChildInfo {
        id: child.id,
        pid: child.pid,
        kind: child.kind.to_owned(),
        worker: child.worker,
        restart: restart(child.restart),
        shutdown: child.shutdown.to_string(),
        restarts: child.restarts,
    }
}

impl Reach<'_> {
    fn supervisor_table(&self) -> Result<Arc<ProcessTable>, Refused> {
        self.table()
            .ok_or_else(|| Refused::NotFound("no process table".to_owned()))
    }

    /// A supervisor an operator may change: not the host's own tree.
    fn find_changeable(
        &self,
        target: &str,
    ) -> Result<(Arc<ProcessTable>, SupervisorHandle), Refused> {
        let (table, handle) = self.find_supervisor(target)?;
        if table.is_protected(&handle.pid().to_string()) {
            return Err(Refused::Protected(format!(
                "{} is the host's own tree: it cannot be stopped or reshaped",
                handle.pid()
            )));
        }
        Ok((table, handle))
    }

    fn find_supervisor(
        &self,
        target: &str,
    ) -> Result<(Arc<ProcessTable>, SupervisorHandle), Refused> {
        let table = self.supervisor_table()?;
        let handle = table
            .supervisor(target)
            .map_err(|_| Refused::NotFound(format!("no supervisor {target}")))?;
        Ok((table, handle))
    }
}

async fn supervisor_info(
    table: &ProcessTable,
    handle: &SupervisorHandle,
) -> Result<SupervisorInfo, SupervisorError> {
    let summary = handle.summary().await?;
    let target = handle.pid().to_string();
    let process = table
        .info(&target)
        .map_err(|_| SupervisorError::NoSupervisor(target.clone()))?;
    Ok(SupervisorInfo {
        pid: target,
        name: process.name,
        parent: process.parent,
        flags: flags(summary.flags),
        children: summary.children as u32,
        active: summary.active as u32,
        restarts: summary.restarts as u32,
    })
}

/// The tree under `root`, depth first in start order. A subtree whose supervisor exits
/// meanwhile shows no children rather than failing the whole walk.
async fn walk(table: &ProcessTable, root: &SupervisorHandle) -> Vec<TreeNode> {
    let root_pid = root.pid().to_string();
    let mut nodes = vec![TreeNode {
        id: root_pid.clone(),
        pid: Some(root_pid.clone()),
        parent: table.info(&root_pid).ok().and_then(|info| info.parent),
        depth: 0,
        kind: "supervisor".to_owned(),
        worker: None,
        status: status(table, &root_pid),
        restarts: 0,
    }];
    let children = |handle: SupervisorHandle| async move {
        let parent = handle.pid().to_string();
        let children = handle.which_children().await.unwrap_or_default();
        (parent, std::collections::VecDeque::from(children))
    };
    // Frames of (depth of the children, their supervisor, children not yet shown).
    let (parent, first) = children(root.clone()).await;
    let mut frames = vec![(1u32, parent, first)];
    while let Some((depth, parent, remaining)) = frames.last_mut() {
        let Some(child) = remaining.pop_front() else {
            frames.pop();
            continue;
        };
        let (depth, parent) = (*depth, parent.clone());
        nodes.push(TreeNode {
            id: child.id.clone(),
            status: child
                .pid
                .as_deref()
                .map_or_else(|| "stopped".to_owned(), |pid| status(table, pid)),
            pid: child.pid.clone(),
            parent: Some(parent),
            depth,
            kind: child.kind.to_owned(),
            worker: child.worker,
            restarts: child.restarts,
        });
        if let Some(pid) = child.pid.filter(|_| child.kind == "supervisor")
            && let Ok(sub) = table.supervisor(&pid)
        {
            let (parent, below) = children(sub).await;
            frames.push((depth + 1, parent, below));
        }
    }
    nodes
}

fn status(table: &ProcessTable, pid: &str) -> String {
    table
        .entry(pid)
        .map_or("stopped", |entry| entry.status().as_str())
        .to_owned()
}

impl wit::Host for Granted<'_> {
    async fn list_supervisors(&mut self) -> wasmtime::Result<Vec<SupervisorInfo>> {
        let reach = self.reach()?;
        let result: Vec<SupervisorInfo> = async move {
            let Some(table) = reach.table() else {
                return Vec::new();
            };
            let mut infos = Vec::new();
            for handle in table.supervisors() {
                // One that exits while listed is left out.
                if let Ok(info) = supervisor_info(&table, &handle).await {
                    infos.push(info);
                }
            }
            infos
        }
        .await;
        Ok(result)
    }

    async fn get_supervisor(
        &mut self,
        target: String,
    ) -> wasmtime::Result<Result<SupervisorInfo, Refused>> {
        let reach = self.reach()?;
        let result: Result<SupervisorInfo, Refused> = async move {
            let (table, handle) = reach.find_supervisor(&target)?;
            supervisor_info(&table, &handle).await.map_err(refused)
        }
        .await;
        Ok(result)
    }

    async fn which_children(
        &mut self,
        target: String,
    ) -> wasmtime::Result<Result<Vec<ChildInfo>, Refused>> {
        let reach = self.reach()?;
        let result: Result<Vec<ChildInfo>, Refused> = async move {
            let (_, handle) = reach.find_supervisor(&target)?;
            let children = handle.which_children().await.map_err(refused)?;
            Ok(children.into_iter().map(child_info).collect())
        }
        .await;
        Ok(result)
    }

    async fn tree(&mut self, target: String) -> wasmtime::Result<Result<Vec<TreeNode>, Refused>> {
        let reach = self.reach()?;
        let result: Result<Vec<TreeNode>, Refused> = async move {
            let (table, handle) = reach.find_supervisor(&target)?;
            Ok(walk(&table, &handle).await)
        }
        .await;
        Ok(result)
    }

    async fn history(
        &mut self,
        target: String,
    ) -> wasmtime::Result<Result<Vec<RestartRecord>, Refused>> {
        let reach = self.reach()?;
        let result: Result<Vec<RestartRecord>, Refused> = async move {
            let (_, handle) = reach.find_supervisor(&target)?;
            let history = handle.history().await.map_err(refused)?;
            Ok(history
                .into_iter()
                .map(|record| RestartRecord {
                    at_unix_ms: record.at_unix_ms,
                    child: record.child,
                    old_pid: record.old_pid,
                    new_pid: record.new_pid,
                    reason: record.reason.to_string(),
                })
                .collect())
        }
        .await;
        Ok(result)
    }
}

impl supervisor_control::Host for Granted<'_> {
    async fn start_supervisor(
        &mut self,
        spec: String,
    ) -> wasmtime::Result<Result<String, Refused>> {
        let reach = self.reach()?;
        let result: Result<String, Refused> = async move {
            let table = reach.supervisor_table()?;
            let spec = runtime::supervisor_spec(&spec, table.workers()).map_err(spec_refused)?;
            match table.start_supervisor(spec).await {
                Ok(handle) => Ok(handle.pid().to_string()),
                Err(error @ runtime::SpawnError::NameTaken(_)) => {
                    Err(Refused::NameTaken(error.to_string()))
                }
                Err(error @ runtime::SpawnError::InvalidName(_)) => {
                    Err(Refused::Invalid(error.to_string()))
                }
                Err(error) => Err(Refused::StartFailed(error.to_string())),
            }
        }
        .await;
        Ok(result)
    }

    async fn stop_supervisor(
        &mut self,
        target: String,
    ) -> wasmtime::Result<Result<String, Refused>> {
        let reach = self.reach()?;
        let result: Result<String, Refused> = async move {
            let (table, handle) = reach.find_changeable(&target)?;
            let pid = handle.pid().clone();
            // A nested supervisor is removed through its parent, which would otherwise restart it.
            let parent = table
                .info(&pid.to_string())
                .ok()
                .and_then(|info| info.parent);
            if let Some(parent) = parent
                && let Ok(parent) = table.supervisor(&parent)
                && let Ok(children) = parent.which_children().await
                && let Some(child) = children
                    .iter()
                    .find(|child| child.pid.as_deref() == Some(&pid.to_string()))
            {
                parent.terminate_child(&child.id).await.map_err(refused)?;
                let _ = parent.delete_child(&child.id).await;
                return Ok(pid.to_string());
            }
            stop(&table, &pid).await?;
            Ok(pid.to_string())
        }
        .await;
        Ok(result)
    }

    async fn add_child(
        &mut self,
        target: String,
        child: String,
    ) -> wasmtime::Result<Result<String, Refused>> {
        let reach = self.reach()?;
        let result: Result<String, Refused> = async move {
            let (table, handle) = reach.find_changeable(&target)?;
            let spec = runtime::child_spec(&child, table.workers()).map_err(spec_refused)?;
            match handle.add_child(spec).await.map_err(refused)? {
                Some(pid) => Ok(pid.to_string()),
                None => Err(Refused::StartFailed("the child did not start".to_owned())),
            }
        }
        .await;
        Ok(result)
    }

    async fn restart_child(
        &mut self,
        target: String,
        id: String,
    ) -> wasmtime::Result<Result<String, Refused>> {
        let reach = self.reach()?;
        let result: Result<String, Refused> = async move {
            let (_, handle) = reach.find_changeable(&target)?;
            match handle.restart_child(&id).await.map_err(refused)? {
                Some(pid) => Ok(pid.to_string()),
                None => Err(Refused::StartFailed(format!("child `{id}` did not start"))),
            }
        }
        .await;
        Ok(result)
    }

    async fn delete_child(
        &mut self,
        target: String,
        id: String,
    ) -> wasmtime::Result<Result<(), Refused>> {
        let reach = self.reach()?;
        let result: Result<(), Refused> = async move {
            let (_, handle) = reach.find_changeable(&target)?;
            handle.terminate_child(&id).await.map_err(refused)?;
            match handle.delete_child(&id).await {
                // A temporary child is already gone once terminated.
                Ok(()) | Err(SupervisorError::NoChild(_)) => Ok(()),
                Err(error) => Err(refused(error)),
            }
        }
        .await;
        Ok(result)
    }

    async fn set_flags(
        &mut self,
        target: String,
        wanted: wit::SupervisorFlags,
    ) -> wasmtime::Result<Result<wit::SupervisorFlags, Refused>> {
        let reach = self.reach()?;
        let result: Result<wit::SupervisorFlags, Refused> = async move {
            let (_, handle) = reach.find_changeable(&target)?;
            let strategy = match wanted.strategy {
                wit::Strategy::OneForOne => runtime::Strategy::OneForOne,
                wit::Strategy::OneForAll => runtime::Strategy::OneForAll,
                wit::Strategy::RestForOne => runtime::Strategy::RestForOne,
            };
            let new = runtime::checked_flags(strategy, wanted.intensity, wanted.period_ms)
                .map_err(spec_refused)?;
            handle.set_flags(new).await.map_err(refused)?;
            Ok(flags(handle.flags().await.map_err(refused)?))
        }
        .await;
        Ok(result)
    }
}

/// Send `shutdown` and wait for the exit (a supervisor stops its children first).
async fn stop(table: &ProcessTable, pid: &Pid) -> Result<(), Refused> {
    let target = pid.to_string();
    let gone = |_| Refused::NotFound(format!("no supervisor {target}"));
    let exited = table.await_exit(&target).map_err(gone)?;
    table
        .exit(&target, None, ExitReason::Shutdown)
        .map_err(gone)?;
    exited.await;
    Ok(())
}
