//! Capability `sandboxes` (`arsenal:runtime/sandboxes`): create, inspect, change, run in
//! and destroy sandboxes.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::Linker;

use crate::bindings::arsenal::runtime::sandboxes::{
    self as wit, Destroyed, Reloaded, RunOutcome, SandboxError as Refused, SandboxInfo,
};
use crate::policy::Capability;
use crate::runtime::{LimitsDocument, PolicyDocument, ProcessTable, Sandbox, SandboxError};

use super::{Gated, Granted, Reach, RuntimeView, answer};

/// Link this module's interfaces, each behind its capability.
pub(super) fn add_to_linker<T: RuntimeView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, Gated>(linker, |state| {
        Granted::check(state.reach(), Capability::Sandboxes)
    })?;
    Ok(())
}

fn refused(error: SandboxError) -> Refused {
    let message = error.to_string();
    match error {
        SandboxError::NotFound(_) => Refused::NotFound(message),
        SandboxError::Invalid(_) => Refused::Invalid(message),
        SandboxError::Conflict(_) => Refused::Conflict(message),
        SandboxError::Failed(_) => Refused::Failed(message),
    }
}

fn info(table: &ProcessTable, sandbox: &Arc<Sandbox>) -> SandboxInfo {
    let limits = sandbox.limits();
    let usage = sandbox.usage();
    let status = if sandbox.cpu_exhausted() {
        "exhausted"
    } else if table.sandbox_running(sandbox) {
        "running"
    } else {
        "stopped"
    };
    SandboxInfo {
        id: sandbox.id().to_owned(),
        created_unix_ms: sandbox.created_unix_ms(),
        status: status.to_owned(),
        root: sandbox.root().map(|pid| pid.to_string()),
        limits: wit::SandboxLimits {
            total_memory_bytes: limits.total_memory_bytes,
            process_memory_bytes: limits.process_memory_bytes as u64,
            max_processes: limits.max_processes as u32,
            message_deadline_ms: limits.message_deadline.as_millis() as u64,
            cpu_time_ms: limits.cpu_time.map(|cpu| cpu.as_millis() as u64),
        },
        policy: wit::SandboxPolicy {
            external_messaging: sandbox.policy().external_messaging,
            directory: sandbox.policy().directory,
        },
        usage: wit::SandboxUsage {
            processes: usage.processes as u32,
            memory_bytes: usage.memory_bytes,
            cpu_time_ms: usage.cpu_time.as_millis() as u64,
        },
        members: table
            .sandbox_members(sandbox)
            .iter()
            .map(ToString::to_string)
            .collect(),
    }
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T, Refused> {
    serde_json::from_str(json).map_err(|error| Refused::Invalid(format!("{what}: {error}")))
}

impl Reach<'_> {
    fn sandbox_table(&self) -> Result<Arc<ProcessTable>, Refused> {
        self.table()
            .ok_or_else(|| Refused::Failed("no process table".to_owned()))
    }
}

impl wit::Host for Granted<'_> {
    fn list_sandboxes(&mut self) -> wasmtime::Result<Vec<SandboxInfo>> {
        let reach = self.reach()?;
        answer(|| -> Vec<SandboxInfo> {
            let Some(table) = reach.table() else {
                return Vec::new();
            };
            table
                .sandboxes()
                .iter()
                .map(|sandbox| info(&table, sandbox))
                .collect()
        })
    }

    fn get_sandbox(&mut self, id: String) -> wasmtime::Result<Result<SandboxInfo, Refused>> {
        let reach = self.reach()?;
        answer(|| -> Result<SandboxInfo, Refused> {
            let table = reach.sandbox_table()?;
            let sandbox = table.sandbox(&id).map_err(refused)?;
            Ok(info(&table, &sandbox))
        })
    }

    async fn create_sandbox(
        &mut self,
        spec: String,
    ) -> wasmtime::Result<Result<SandboxInfo, Refused>> {
        let reach = self.reach()?;
        let result: Result<SandboxInfo, Refused> = async move {
            let table = reach.sandbox_table()?;
            let sandbox = table.create_sandbox(&spec).await.map_err(refused)?;
            Ok(info(&table, &sandbox))
        }
        .await;
        Ok(result)
    }

    async fn destroy_sandbox(
        &mut self,
        id: String,
    ) -> wasmtime::Result<Result<Destroyed, Refused>> {
        let reach = self.reach()?;
        let result: Result<Destroyed, Refused> = async move {
            let table = reach.sandbox_table()?;
            let destroyed = table.destroy_sandbox(&id).await.map_err(refused)?;
            Ok(Destroyed {
                processes_stopped: destroyed.processes_stopped as u32,
                memory_freed_bytes: destroyed.memory_freed_bytes,
            })
        }
        .await;
        Ok(result)
    }

    async fn restart_sandbox(
        &mut self,
        id: String,
    ) -> wasmtime::Result<Result<SandboxInfo, Refused>> {
        let reach = self.reach()?;
        let result: Result<SandboxInfo, Refused> = async move {
            let table = reach.sandbox_table()?;
            let sandbox = table.restart_sandbox(&id).await.map_err(refused)?;
            Ok(info(&table, &sandbox))
        }
        .await;
        Ok(result)
    }

    fn set_limits(
        &mut self,
        id: String,
        limits: String,
    ) -> wasmtime::Result<Result<SandboxInfo, Refused>> {
        let reach = self.reach()?;
        answer(|| -> Result<SandboxInfo, Refused> {
            let table = reach.sandbox_table()?;
            let update: LimitsDocument = parse("limits", &limits)?;
            let sandbox = table.set_sandbox_limits(&id, &update).map_err(refused)?;
            Ok(info(&table, &sandbox))
        })
    }

    fn set_policy(
        &mut self,
        id: String,
        policy: String,
    ) -> wasmtime::Result<Result<SandboxInfo, Refused>> {
        let reach = self.reach()?;
        answer(|| -> Result<SandboxInfo, Refused> {
            let table = reach.sandbox_table()?;
            let update: PolicyDocument = parse("policy", &policy)?;
            let sandbox = table.set_sandbox_policy(&id, &update).map_err(refused)?;
            Ok(info(&table, &sandbox))
        })
    }

    async fn run_in_sandbox(
        &mut self,
        id: String,
        worker: String,
        args: String,
        payload: String,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<RunOutcome, Refused>> {
        let reach = self.reach()?;
        let result: Result<RunOutcome, Refused> = async move {
            let table = reach.sandbox_table()?;
            let outcome = table
                .run_in_sandbox(
                    &id,
                    &worker,
                    &args,
                    &payload,
                    Duration::from_millis(timeout_ms as u64),
                )
                .await
                .map_err(refused)?;
            Ok(RunOutcome {
                pid: outcome.pid.to_string(),
                reply: outcome.reply,
                memory_bytes: outcome.memory_bytes,
                busy_ms: outcome.busy.as_millis() as u64,
            })
        }
        .await;
        Ok(result)
    }

    async fn hot_reload(
        &mut self,
        id: String,
        worker: String,
    ) -> wasmtime::Result<Result<Reloaded, Refused>> {
        let reach = self.reach()?;
        let result: Result<Reloaded, Refused> = async move {
            let table = reach.sandbox_table()?;
            let reloaded = table
                .hot_reload_sandbox(&id, &worker)
                .await
                .map_err(refused)?;
            Ok(Reloaded {
                worker: reloaded.worker,
                version: reloaded.version,
                upgraded: reloaded.upgraded.iter().map(ToString::to_string).collect(),
                restarted: reloaded
                    .restarted
                    .iter()
                    .map(|(old, new)| (old.to_string(), new.to_string()))
                    .collect(),
            })
        }
        .await;
        Ok(result)
    }
}
