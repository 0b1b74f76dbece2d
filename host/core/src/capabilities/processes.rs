//! Capabilities `processes` (`arsenal:runtime/processes`, read-only),
//! `process_control` (`arsenal:runtime/process-control`) and `messaging`
//! (`arsenal:runtime/messaging`): the process table as operations see it. Targets are
//! pids or registered names.

use std::sync::Arc;

use wasmtime::component::Linker;

use crate::bindings::arsenal::runtime::messaging::{self, DeliveryError};
use crate::bindings::arsenal::runtime::process_control;
use crate::bindings::arsenal::runtime::processes::{self, LookupError, ProcessInfo};
use crate::policy::Capability;
use crate::runtime::{ExitReason, ProcessTable, SendError};

use super::{Gated, Granted, Reach, RuntimeView, answer};

/// Link this module's interfaces, each behind its capability.
pub(super) fn add_to_linker<T: RuntimeView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    processes::add_to_linker::<T, Gated>(linker, |state| {
        Granted::check(state.reach(), Capability::Processes)
    })?;
    process_control::add_to_linker::<T, Gated>(linker, |state| {
        Granted::check(state.reach(), Capability::ProcessControl)
    })?;
    messaging::add_to_linker::<T, Gated>(linker, |state| {
        Granted::check(state.reach(), Capability::Messaging)
    })?;
    Ok(())
}

fn info(info: crate::runtime::ProcessInfo) -> ProcessInfo {
    ProcessInfo {
        pid: info.pid,
        name: info.name,
        worker: info.worker,
        parent: info.parent,
        status: info.status.as_str().to_owned(),
        started_unix_ms: info.started_unix_ms,
        links: info.links,
        monitored_by: info.monitored_by,
        trap_exit: info.trap_exit,
        mailbox_len: info.mailbox_len as u32,
        mailbox_capacity: info.mailbox_capacity as u32,
        messages_in: info.messages_in,
        messages_out: info.messages_out,
        handle_calls: info.handle_calls,
        busy_ms: info.busy_ms,
        cpu_us: info.cpu_us,
        restarts: info.restarts,
        memory_bytes: info.memory_bytes,
        state_bytes: info.state_bytes,
        waiting_on: info.waiting_on,
    }
}

/// Payloads shown by `inspect-mailbox` are cut at this many bytes.
const PAYLOAD_PREVIEW: usize = 1024;

fn preview(payload: String) -> String {
    if payload.len() <= PAYLOAD_PREVIEW {
        return payload;
    }
    let mut end = PAYLOAD_PREVIEW;
    while !payload.is_char_boundary(end) {
        end -= 1;
    }
    payload[..end].to_owned()
}

fn not_found(error: SendError) -> LookupError {
    match error {
        SendError::Protected(_) => LookupError::Protected(error.to_string()),
        other => LookupError::NotFound(other.to_string()),
    }
}

impl Reach<'_> {
    pub(super) fn table(&self) -> Option<Arc<ProcessTable>> {
        self.host.processes.upgrade()
    }

    fn lookup<T>(
        &self,
        target: &str,
        act: impl FnOnce(&ProcessTable) -> Result<T, SendError>,
    ) -> Result<T, LookupError> {
        let table = self
            .table()
            .ok_or_else(|| LookupError::NotFound(format!("no process {target}")))?;
        act(&table).map_err(not_found)
    }
}

impl processes::Host for Granted<'_> {
    fn list_processes(&mut self) -> wasmtime::Result<Vec<ProcessInfo>> {
        let reach = self.reach()?;
        Ok(reach
            .table()
            .map(|table| table.list().into_iter().map(info).collect())
            .unwrap_or_default())
    }

    fn get_process(
        &mut self,
        target: String,
    ) -> wasmtime::Result<Result<ProcessInfo, LookupError>> {
        let reach = self.reach()?;
        Ok(reach.lookup(&target, |table| table.info(&target)).map(info))
    }

    fn list_registered(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        let reach = self.reach()?;
        Ok(reach
            .table()
            .map(|table| table.registered())
            .unwrap_or_default())
    }

    fn inspect_mailbox(
        &mut self,
        target: String,
        limit: u32,
    ) -> wasmtime::Result<Result<processes::Mailbox, LookupError>> {
        let reach = self.reach()?;
        answer(|| -> Result<processes::Mailbox, LookupError> {
            let view = reach.lookup(&target, |table| table.mailbox(&target, limit as usize))?;
            Ok(processes::Mailbox {
                pid: view.pid.to_string(),
                len: view.len as u32,
                capacity: view.capacity as u32,
                messages: view
                    .messages
                    .into_iter()
                    .map(|message| processes::QueuedMessage {
                        position: message.position as u32,
                        kind: message.kind.to_owned(),
                        from: message.from,
                        payload_bytes: message.payload.len() as u32,
                        payload: preview(message.payload),
                        age_ms: message.age_ms,
                    })
                    .collect(),
            })
        })
    }

    async fn get_state(
        &mut self,
        target: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, processes::StateError>> {
        let reach = self.reach()?;
        let result: Result<Option<Vec<u8>>, processes::StateError> = async move {
            use processes::StateError;
            let table = reach
                .table()
                .ok_or_else(|| StateError::NotFound(format!("no process {target}")))?;
            match table.state(&target).await {
                Err(error) => Err(StateError::NotFound(error.to_string())),
                Ok(Err(error)) => Err(StateError::Failed(error.to_string())),
                Ok(Ok(state)) => Ok(state),
            }
        }
        .await;
        Ok(result)
    }

    fn memory_histories(
        &mut self,
        min_samples: u32,
    ) -> wasmtime::Result<Vec<processes::MemoryHistory>> {
        let reach = self.reach()?;
        Ok(reach
            .table()
            .map(|table| {
                table
                    .memory_histories(min_samples as usize)
                    .into_iter()
                    .map(|(pid, samples)| processes::MemoryHistory {
                        pid: pid.to_string(),
                        samples,
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}

impl process_control::Host for Granted<'_> {
    async fn spawn(
        &mut self,
        worker: String,
        args: String,
        options: process_control::SpawnOptions,
    ) -> wasmtime::Result<Result<String, process_control::SpawnError>> {
        let reach = self.reach()?;
        let result: Result<String, process_control::SpawnError> = async move {
            use process_control::SpawnError as Refused;
            let table = reach
                .table()
                .ok_or_else(|| Refused::Invalid("no process table".to_owned()))?;
            let code = table
                .workers()
                .get(&worker)
                .ok_or_else(|| Refused::UnknownWorker(worker.clone()))?;
            let link = options
                .link
                .map(|target| table.resolve(&target))
                .transpose()
                .map_err(|error| Refused::Invalid(error.to_string()))?;
            let options = crate::runtime::SpawnOptions {
                name: options.name,
                link,
                trap_exit: options.trap_exit,
                sandbox: None,
            };
            match table.spawn(code, &args, options).await {
                Ok(pid) => Ok(pid.to_string()),
                Err(crate::runtime::SpawnError::Worker(error)) => {
                    Err(Refused::StartFailed(error.to_string()))
                }
                Err(error) => Err(Refused::Invalid(error.to_string())),
            }
        }
        .await;
        Ok(result)
    }

    async fn hibernate(
        &mut self,
        target: String,
    ) -> wasmtime::Result<Result<String, process_control::HibernateError>> {
        let reach = self.reach()?;
        let result: Result<String, process_control::HibernateError> = async move {
            use process_control::HibernateError as Refused;
            let table = reach
                .table()
                .ok_or_else(|| Refused::NotFound(format!("no process {target}")))?;
            let pid = table
                .resolve(&target)
                .map_err(|error| Refused::NotFound(error.to_string()))?;
            match table.hibernate(&target).await {
                Err(error @ SendError::Protected(_)) => Err(Refused::Protected(error.to_string())),
                Err(error) => Err(Refused::NotFound(error.to_string())),
                Ok(Ok(())) => Ok(pid.to_string()),
                Ok(Err(error @ crate::runtime::WorkerError::NotStateful)) => {
                    Err(Refused::NotSupported(error.to_string()))
                }
                Ok(Err(error)) => Err(Refused::Failed(error.to_string())),
            }
        }
        .await;
        Ok(result)
    }

    async fn restart(
        &mut self,
        target: String,
    ) -> wasmtime::Result<Result<process_control::Restarted, process_control::RestartError>> {
        let reach = self.reach()?;
        let result: Result<process_control::Restarted, process_control::RestartError> =
            async move {
                use crate::runtime::RestartError;
                use process_control::RestartError as Refused;
                let table = reach
                    .table()
                    .ok_or_else(|| Refused::NotFound(format!("no process {target}")))?;
                match table.restart(&target).await {
                    Ok(restarted) => Ok(process_control::Restarted {
                        old_pid: restarted.old.to_string(),
                        new_pid: restarted.new.to_string(),
                        state_bytes: restarted.state_bytes.map(|bytes| bytes as u64),
                        supervisor: restarted.supervisor.map(|pid| pid.to_string()),
                    }),
                    Err(RestartError::NotFound(error @ SendError::Protected(_))) => {
                        Err(Refused::Protected(error.to_string()))
                    }
                    Err(error @ RestartError::NotFound(_)) => {
                        Err(Refused::NotFound(error.to_string()))
                    }
                    Err(error @ RestartError::NotRestartable(..)) => {
                        Err(Refused::NotRestartable(error.to_string()))
                    }
                    Err(error @ RestartError::Failed(..)) => {
                        Err(Refused::Failed(error.to_string()))
                    }
                }
            }
            .await;
        Ok(result)
    }

    fn list_workers(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        let reach = self.reach()?;
        Ok(reach
            .table()
            .map(|table| table.workers().list())
            .unwrap_or_default())
    }

    fn kill(
        &mut self,
        target: String,
        reason: String,
    ) -> wasmtime::Result<Result<String, LookupError>> {
        let reach = self.reach()?;
        answer(|| -> Result<String, LookupError> {
            let reason = match reason.as_str() {
                "normal" => ExitReason::Normal,
                "shutdown" => ExitReason::Shutdown,
                "kill" => ExitReason::Kill,
                other => ExitReason::Crash(other.to_owned()),
            };
            reach
                .lookup(&target, |table| table.exit(&target, None, reason))
                .map(|pid| pid.to_string())
        })
    }

    fn suspend(&mut self, target: String) -> wasmtime::Result<Result<String, LookupError>> {
        let reach = self.reach()?;
        Ok(reach
            .lookup(&target, |table| table.suspend(&target))
            .map(|pid| pid.to_string()))
    }

    fn resume(&mut self, target: String) -> wasmtime::Result<Result<String, LookupError>> {
        let reach = self.reach()?;
        Ok(reach
            .lookup(&target, |table| table.resume(&target))
            .map(|pid| pid.to_string()))
    }
}

impl messaging::Host for Granted<'_> {
    fn send(
        &mut self,
        target: String,
        payload: String,
    ) -> wasmtime::Result<Result<(), DeliveryError>> {
        let reach = self.reach()?;
        answer(|| -> Result<(), DeliveryError> {
            let table = reach
                .table()
                .ok_or_else(|| DeliveryError::NotFound(format!("no process {target}")))?;
            table.send(&target, None, &payload).map_err(delivery)
        })
    }

    async fn call(
        &mut self,
        target: String,
        payload: String,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<String, DeliveryError>> {
        let reach = self.reach()?;
        let result: Result<String, DeliveryError> = async move {
            let table = reach
                .table()
                .ok_or_else(|| DeliveryError::NotFound(format!("no process {target}")))?;
            table
                .call(
                    &target,
                    None,
                    &payload,
                    std::time::Duration::from_millis(timeout_ms as u64),
                )
                .await
                .map_err(delivery)
        }
        .await;
        Ok(result)
    }
}

fn delivery(error: SendError) -> DeliveryError {
    let message = error.to_string();
    match error {
        SendError::NoProcess(_) => DeliveryError::NotFound(message),
        SendError::MailboxFull(..) => DeliveryError::MailboxFull(message),
        SendError::Timeout(..) => DeliveryError::Timeout(message),
        SendError::Exited(..) => DeliveryError::Exited(message),
        // Messages and calls to host services are allowed; nothing else refuses them.
        SendError::Protected(_) => DeliveryError::NotFound(message),
    }
}
