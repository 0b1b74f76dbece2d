//! The `arsenal:process/process` import: what a worker may ask of the runtime about
//! itself and other processes — its pid, names, send, call, timers, links, monitors and
//! `trap_exit`. Every call acts as the calling process.

use std::sync::Arc;
use std::time::Duration;

use crate::kernel::{Kernel, SendError, TraceKind};
use crate::sandbox::Sandbox;
use crate::state::{ProcessContext, ProcessState};
use arsenal_engine::bindings::process::arsenal::process::process::Host;
use arsenal_engine::bindings::process::arsenal::process::types::SendError as WitSendError;

impl ProcessContext {
    fn kernel(&self) -> Result<Arc<Kernel>, WitSendError> {
        // The kernel outlives its processes except during shutdown.
        self.kernel.upgrade().ok_or(WitSendError::NoProcess)
    }

    /// Record a traced event of the calling process.
    fn note(&self, kind: TraceKind, detail: impl Fn() -> String) {
        if let Some(kernel) = self.kernel.upgrade()
            && let Some(entry) = kernel.entry_by_pid(&self.pid)
        {
            entry.trace(kind, detail);
        }
    }

    /// The kernel, once `to` is known to be within reach: a process in a sandbox sees
    /// only its own sandbox unless the policy allows external messaging. Out of reach
    /// looks exactly like not existing.
    fn reach(&self, to: &str) -> Result<Arc<Kernel>, WitSendError> {
        let kernel = self.kernel()?;
        let own = kernel
            .entry_by_pid(&self.pid)
            .ok_or(WitSendError::NoProcess)?;
        if let Some(sandbox) = Sandbox::of(&own) {
            let target = kernel.entry(to).map_err(convert)?;
            if !sandbox.reaches(Sandbox::of(&target).as_ref()) {
                return Err(WitSendError::NoProcess);
            }
        }
        Ok(kernel)
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
        let kernel = context.reach(&name).ok()?;
        kernel.whereis(&name).map(|pid| pid.to_string())
    }

    fn send(&mut self, to: String, payload: String) -> Result<(), WitSendError> {
        let context = self.process()?;
        context.note(TraceKind::Send, || format!("send to {to}: {payload}"));
        let kernel = context.reach(&to)?;
        kernel
            .send(&to, Some(context.pid.clone()), &payload)
            .map_err(convert)?;
        kernel.count_sent(&context.pid);
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
        let kernel = context.reach(&to)?;
        let answer = kernel
            .call(
                &to,
                Some(context.pid.clone()),
                &payload,
                Duration::from_millis(timeout_ms as u64),
            )
            .await
            .map_err(convert)?;
        kernel.count_sent(&context.pid);
        Ok(answer)
    }

    fn start_timer(&mut self, after_ms: u32, payload: String) -> u64 {
        let Ok(context) = self.process() else {
            return 0;
        };
        context.note(TraceKind::HostCall, || {
            format!("start_timer {after_ms} ms: {payload}")
        });
        let Ok(kernel) = context.kernel() else {
            return 0;
        };
        kernel.start_timer(
            &context.pid,
            Duration::from_millis(after_ms as u64),
            payload,
        )
    }

    fn cancel_timer(&mut self, id: u64) -> bool {
        let Ok(context) = self.process() else {
            return false;
        };
        context.kernel().is_ok_and(|kernel| kernel.cancel_timer(id))
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
            && let Ok(kernel) = context.kernel()
        {
            let _ = kernel.unlink(&context.pid.to_string(), &to);
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
            && let Ok(kernel) = context.kernel()
        {
            kernel.demonitor(id);
        }
    }

    fn trap_exit(&mut self, enabled: bool) {
        if let Ok(context) = self.process()
            && let Ok(kernel) = context.kernel()
        {
            context.note(TraceKind::HostCall, || format!("trap_exit {enabled}"));
            let _ = kernel.set_trap_exit(&context.pid.to_string(), enabled);
        }
    }
}
