//! The `arsenal:process/process` import: what a worker may ask of the runtime about
//! itself and other processes — its pid, names, send, call, timers, links, monitors and
//! `trap_exit`. Every call acts as the calling process.

use std::time::Duration;

use crate::kernel::{ProcessHandle, SendError, TraceKind};
use crate::sandbox::Sandbox;
use crate::state::ProcessState;
use arsenal_engine::bindings::process::arsenal::process::process::Host;
use arsenal_engine::bindings::process::arsenal::process::types::SendError as WitSendError;

/// Whether the calling process may act on `to`: a process in a sandbox sees only its own
/// sandbox unless the policy allows external messaging. Out of reach looks exactly like
/// not existing.
fn reach(process: &ProcessHandle, to: &str) -> Result<(), WitSendError> {
    let own = process.own_entry().map_err(convert)?;
    if let Some(sandbox) = Sandbox::of(&own) {
        let target = process.entry(to).map_err(convert)?;
        if !sandbox.reaches(Sandbox::of(&target).as_ref()) {
            return Err(WitSendError::NoProcess);
        }
    }
    Ok(())
}

fn convert(error: SendError) -> WitSendError {
    match error {
        SendError::NoProcess(_) => WitSendError::NoProcess,
        SendError::MailboxFull(..) => WitSendError::MailboxFull,
        SendError::Timeout(..) => WitSendError::Timeout,
        SendError::Exited(_, reason) => WitSendError::Crashed(reason.to_string()),
        SendError::Protected(_) => WitSendError::NoProcess,
    }
}

impl ProcessState {
    fn process(&self) -> Result<&ProcessHandle, WitSendError> {
        self.process.as_ref().ok_or(WitSendError::NoProcess)
    }
}

impl Host for ProcessState {
    fn self_pid(&mut self) -> String {
        match &self.process {
            Some(process) => {
                process.note(TraceKind::HostCall, || "self".to_owned());
                process.pid().to_string()
            }
            None => self.context.request_id.to_string(),
        }
    }

    fn whereis(&mut self, name: String) -> Option<String> {
        let process = self.process().ok()?;
        process.note(TraceKind::HostCall, || format!("whereis {name}"));
        reach(process, &name).ok()?;
        process.whereis(&name).map(|pid| pid.to_string())
    }

    fn send(&mut self, to: String, payload: String) -> Result<(), WitSendError> {
        let process = self.process()?;
        process.note(TraceKind::Send, || format!("send to {to}: {payload}"));
        reach(process, &to)?;
        process.send(&to, &payload).map_err(convert)
    }

    async fn call(
        &mut self,
        to: String,
        payload: String,
        timeout_ms: u32,
    ) -> Result<String, WitSendError> {
        let process = self.process()?.clone();
        process.note(TraceKind::Send, || format!("call to {to}: {payload}"));
        reach(&process, &to)?;
        process
            .call(&to, &payload, Duration::from_millis(timeout_ms as u64))
            .await
            .map_err(convert)
    }

    fn start_timer(&mut self, after_ms: u32, payload: String) -> u64 {
        let Ok(process) = self.process() else {
            return 0;
        };
        process.note(TraceKind::HostCall, || {
            format!("start_timer {after_ms} ms: {payload}")
        });
        process
            .start_timer(Duration::from_millis(after_ms as u64), payload)
            .unwrap_or(0)
    }

    fn cancel_timer(&mut self, id: u64) -> bool {
        self.process().is_ok_and(|process| process.cancel_timer(id))
    }

    fn link(&mut self, to: String) -> Result<(), WitSendError> {
        let process = self.process()?;
        process.note(TraceKind::HostCall, || format!("link {to}"));
        reach(process, &to)?;
        process.link(&to).map_err(convert)
    }

    fn unlink(&mut self, to: String) {
        if let Ok(process) = self.process() {
            process.unlink(&to);
        }
    }

    fn monitor(&mut self, to: String) -> Result<u64, WitSendError> {
        let process = self.process()?;
        process.note(TraceKind::HostCall, || format!("monitor {to}"));
        reach(process, &to)?;
        process.monitor(&to).map_err(convert)
    }

    fn demonitor(&mut self, id: u64) {
        if let Ok(process) = self.process() {
            process.demonitor(id);
        }
    }

    fn trap_exit(&mut self, enabled: bool) {
        if let Ok(process) = self.process() {
            process.trap_exit(enabled);
        }
    }
}
