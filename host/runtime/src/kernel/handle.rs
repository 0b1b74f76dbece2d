//! A process's own handle on the kernel: what the code running in it may do, always as
//! that process — its pid, names, send, call, timers, links, monitors and `trap_exit`. A
//! worker's store holds one and nothing more of the runtime. It is weak, so a store never
//! keeps the kernel alive; once the kernel is gone, every target is "no process".

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::{Kernel, Pid, ProcessEntry, SendError, TraceKind};

#[derive(Debug, Clone)]
pub(crate) struct ProcessHandle {
    kernel: Weak<Kernel>,
    pid: Pid,
}

impl ProcessHandle {
    pub(crate) fn new(kernel: &Arc<Kernel>, pid: Pid) -> ProcessHandle {
        ProcessHandle {
            kernel: Arc::downgrade(kernel),
            pid,
        }
    }

    pub(crate) fn pid(&self) -> &Pid {
        &self.pid
    }

    fn kernel(&self) -> Result<Arc<Kernel>, SendError> {
        // The kernel outlives its processes except during shutdown.
        self.kernel
            .upgrade()
            .ok_or_else(|| SendError::NoProcess(self.pid.to_string()))
    }

    /// Record an observed event of this process.
    pub(crate) fn note(&self, kind: TraceKind, detail: impl Fn() -> String) {
        if let Ok(kernel) = self.kernel()
            && let Some(entry) = kernel.entry_by_pid(&self.pid)
        {
            entry.trace(kind, detail);
        }
    }

    /// This process's entry, for what the layers above check before it acts (a
    /// sandbox's reach).
    pub(crate) fn own_entry(&self) -> Result<Arc<ProcessEntry>, SendError> {
        self.kernel()?
            .entry_by_pid(&self.pid)
            .ok_or_else(|| SendError::NoProcess(self.pid.to_string()))
    }

    /// A process's entry by pid text or registered name.
    pub(crate) fn entry(&self, target: &str) -> Result<Arc<ProcessEntry>, SendError> {
        self.kernel()?.entry(target)
    }

    pub(crate) fn whereis(&self, name: &str) -> Option<Pid> {
        self.kernel().ok()?.whereis(name)
    }

    /// Queue a message to `to`, counted as sent by this process.
    pub(crate) fn send(&self, to: &str, payload: &str) -> Result<(), SendError> {
        let kernel = self.kernel()?;
        kernel.send(to, Some(self.pid.clone()), payload)?;
        kernel.count_sent(&self.pid);
        Ok(())
    }

    /// Call `to` and wait for its reply, counted as sent by this process.
    pub(crate) async fn call(
        &self,
        to: &str,
        payload: &str,
        timeout: Duration,
    ) -> Result<String, SendError> {
        let kernel = self.kernel()?;
        let answer = kernel
            .call(to, Some(self.pid.clone()), payload, timeout)
            .await?;
        kernel.count_sent(&self.pid);
        Ok(answer)
    }

    /// A timer event for this process after `after`; its id, or `None` when the kernel is
    /// gone.
    pub(crate) fn start_timer(&self, after: Duration, payload: String) -> Option<u64> {
        Some(self.kernel().ok()?.start_timer(&self.pid, after, payload))
    }

    pub(crate) fn cancel_timer(&self, id: u64) -> bool {
        self.kernel().is_ok_and(|kernel| kernel.cancel_timer(id))
    }

    pub(crate) fn link(&self, to: &str) -> Result<(), SendError> {
        self.kernel()?.link(&self.pid.to_string(), to)
    }

    pub(crate) fn unlink(&self, to: &str) {
        if let Ok(kernel) = self.kernel() {
            let _ = kernel.unlink(&self.pid.to_string(), to);
        }
    }

    pub(crate) fn monitor(&self, to: &str) -> Result<u64, SendError> {
        self.kernel()?.monitor(&self.pid.to_string(), to)
    }

    pub(crate) fn demonitor(&self, id: u64) {
        if let Ok(kernel) = self.kernel() {
            kernel.demonitor(id);
        }
    }

    /// Set whether this process receives linked exits as events.
    pub(crate) fn trap_exit(&self, enabled: bool) {
        if let Ok(kernel) = self.kernel() {
            self.note(TraceKind::HostCall, || format!("trap_exit {enabled}"));
            let _ = kernel.set_trap_exit(&self.pid.to_string(), enabled);
        }
    }
}
