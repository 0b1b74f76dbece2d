//! The `arsenal:process/process` import: what a worker may ask of the runtime about
//! itself and other processes — its pid, names, send, call, timers, links, monitors and
//! `trap_exit`. Every call acts as the calling process.

use std::sync::Arc;
use std::time::Duration;

use crate::state::{ProcessContext, ProcessState};
use crate::{ProcessTable, SendError, TraceKind};
use arsenal_engine::bindings::process::arsenal::process::process::Host;
use arsenal_engine::bindings::process::arsenal::process::types::SendError as WitSendError;

impl ProcessContext {
    fn table(&self) -> Result<Arc<ProcessTable>, WitSendError> {
        // The table outlives its processes except during shutdown.
        self.table.upgrade().ok_or(WitSendError::NoProcess)
    }

    /// Record a traced event of the calling process.
    fn note(&self, kind: TraceKind, detail: impl Fn() -> String) {
        if let Some(table) = self.table.upgrade()
            && let Some(entry) = table.entry_by_pid(&self.pid)
        {
            entry.trace(kind, detail);
        }
    }

    /// The table, once `to` is known to be within reach: a process in a sandbox sees only
    /// its own sandbox unless the policy allows external messaging. Out of reach looks
    /// exactly like not existing.
    fn reach(&self, to: &str) -> Result<Arc<ProcessTable>, WitSendError> {
        let table = self.table()?;
        let own = table
            .entry_by_pid(&self.pid)
            .ok_or(WitSendError::NoProcess)?;
        if let Some(sandbox) = &own.sandbox {
            let target = table.entry(to).map_err(convert)?;
            if !sandbox.reaches(target.sandbox.as_ref()) {
                return Err(WitSendError::NoProcess);
            }
        }
        Ok(table)
    }
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
    fn process(&self) -> Result<&ProcessContext, WitSendError> {
        self.process.as_ref().ok_or(WitSendError::NoProcess)
    }
}

impl Host for ProcessState {
    fn self_pid(&mut self) -> String {
        match &self.process {
            Some(context) => {
                context.note(TraceKind::HostCall, || "self".to_owned());
                context.pid.to_string()
            }
            None => self.context.request_id.to_string(),
        }
    }

    fn whereis(&mut self, name: String) -> Option<String> {
        let context = self.process().ok()?;
        context.note(TraceKind::HostCall, || format!("whereis {name}"));
        let table = context.reach(&name).ok()?;
        table.whereis(&name).map(|pid| pid.to_string())
    }

    fn send(&mut self, to: String, payload: String) -> Result<(), WitSendError> {
        let context = self.process()?;
        context.note(TraceKind::Send, || format!("send to {to}: {payload}"));
        let table = context.reach(&to)?;
        table
            .send(&to, Some(context.pid.clone()), &payload)
            .map_err(convert)?;
        table.count_sent(&context.pid);
        Ok(())
    }

    async fn call(
        &mut self,
        to: String,
        payload: String,
        timeout_ms: u32,
    ) -> Result<String, WitSendError> {
        let context = self.process()?.clone();
        context.note(TraceKind::Send, || format!("call to {to}: {payload}"));
        let table = context.reach(&to)?;
        let answer = table
            .call(
                &to,
                Some(context.pid.clone()),
                &payload,
                Duration::from_millis(timeout_ms as u64),
            )
            .await
            .map_err(convert)?;
        table.count_sent(&context.pid);
        Ok(answer)
    }

    fn start_timer(&mut self, after_ms: u32, payload: String) -> u64 {
        let Ok(context) = self.process() else {
            return 0;
        };
        context.note(TraceKind::HostCall, || {
            format!("start_timer {after_ms} ms: {payload}")
        });
        let Ok(table) = context.table() else { return 0 };
        table.start_timer(
            &context.pid,
            Duration::from_millis(after_ms as u64),
            payload,
        )
    }

    fn cancel_timer(&mut self, id: u64) -> bool {
        let Ok(context) = self.process() else {
            return false;
        };
        context.table().is_ok_and(|table| table.cancel_timer(id))
    }

    fn link(&mut self, to: String) -> Result<(), WitSendError> {
        let context = self.process()?;
        context.note(TraceKind::HostCall, || format!("link {to}"));
        context
            .reach(&to)?
            .link(&context.pid.to_string(), &to)
            .map_err(convert)
    }

    fn unlink(&mut self, to: String) {
        if let Ok(context) = self.process()
            && let Ok(table) = context.table()
        {
            let _ = table.unlink(&context.pid.to_string(), &to);
        }
    }

    fn monitor(&mut self, to: String) -> Result<u64, WitSendError> {
        let context = self.process()?;
        context.note(TraceKind::HostCall, || format!("monitor {to}"));
        context
            .reach(&to)?
            .monitor(&context.pid.to_string(), &to)
            .map_err(convert)
    }

    fn demonitor(&mut self, id: u64) {
        if let Ok(context) = self.process()
            && let Ok(table) = context.table()
        {
            table.demonitor(id);
        }
    }

    fn trap_exit(&mut self, enabled: bool) {
        if let Ok(context) = self.process()
            && let Ok(table) = context.table()
        {
            context.note(TraceKind::HostCall, || format!("trap_exit {enabled}"));
            let _ = table.set_trap_exit(&context.pid.to_string(), enabled);
        }
    }
}
