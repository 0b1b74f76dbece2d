//! One process as the kernel knows it: pid, name, what it runs, its mailbox and signal
//! queue, links, monitors, counters and exit watch, the group it is in and the observers
//! watching it. Whatever runs the process (a worker's actor, a supervisor, a host service)
//! owns the receiving ends; everyone else touches it through its entry.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::Pid;
use super::group::{ProcessGroup, group_as};
use super::mailbox::{Mailbox, Refused};
use super::observer::{Observers, TraceKind};
use super::signal::{Envelope, ExitReason, Signal};

/// A process's life stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Running,
    Suspended,
    Hibernated,
    Exiting,
}

impl Status {
    /// The status as the API spells it (the same as its JSON form).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Suspended => "suspended",
            Status::Hibernated => "hibernated",
            Status::Exiting => "exiting",
        }
    }

    fn from_u8(value: u8) -> Status {
        match value {
            0 => Status::Running,
            1 => Status::Suspended,
            2 => Status::Hibernated,
            _ => Status::Exiting,
        }
    }
}

/// Why a message or call did not reach its process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("no process {0}")]
    NoProcess(String),
    #[error("the mailbox of {0} is full ({1} messages); nothing was queued")]
    MailboxFull(Pid, usize),
    #[error("{0} did not reply within {1:?}")]
    Timeout(Pid, Duration),
    #[error("{0} exited before replying: {1}")]
    Exited(Pid, ExitReason),
    #[error("{0} is a host service: it cannot be stopped, suspended, hibernated or restarted")]
    Protected(Pid),
}

/// Memory samples kept per process (one per change of its linear memory).
const MEMORY_SAMPLES: usize = 16;

/// Counters of one process.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) messages_in: AtomicU64,
    pub(crate) messages_out: AtomicU64,
    pub(crate) handle_calls: AtomicU64,
    /// Wall time spent handling messages.
    pub(crate) busy_nanos: AtomicU64,
    /// CPU time spent handling messages (the threads' CPU clocks, per poll).
    pub(crate) cpu_nanos: AtomicU64,
    /// Restarts of the child this process is, by its supervisor.
    pub(crate) restarts: AtomicU32,
    /// Linear memory of the resident instance; 0 while hibernated.
    pub(crate) memory_bytes: AtomicU64,
    /// State kept while hibernated.
    pub(crate) state_bytes: AtomicU64,
}

/// What the kernel knows of a process.
pub struct ProcessEntry {
    pub pid: Pid,
    pub name: Mutex<Option<String>>,
    /// What it runs: a worker component's name, `supervisor` or `host_service`.
    pub worker: String,
    /// The supervisor that started it, once known.
    pub parent: OnceLock<Pid>,
    pub(crate) started: SystemTime,
    pub(crate) status: AtomicU8,
    /// What `init` was given and the code version it started with, for restarts.
    pub args: String,
    pub(crate) version: Mutex<String>,
    pub mailbox: Mailbox,
    pub(crate) signals: mpsc::UnboundedSender<Signal>,
    pub(crate) links: Mutex<BTreeSet<Pid>>,
    /// Monitors held on this process: id → the watching process.
    pub(crate) monitors: Mutex<BTreeMap<u64, Pid>>,
    pub trap_exit: AtomicBool,
    pub(crate) counters: Counters,
    /// Who waits for the exit, or the reason once exited.
    pub(crate) exit: Mutex<ExitWatch>,
    /// The process it is blocked calling, if any (for deadlock analysis).
    pub(crate) waiting_on: Mutex<Option<Pid>>,
    /// (unix ms, bytes) each time its memory changed, oldest first.
    pub(crate) memory_samples: Mutex<VecDeque<(u64, u64)>>,
    /// The group it counts against (its sandbox).
    pub(crate) group: Option<Arc<dyn ProcessGroup>>,
    /// Traces and profiles watching it.
    pub(crate) observers: Observers,
    /// A host service (or their tree): operators may not stop, suspend or hibernate it.
    pub(crate) protected: AtomicBool,
}

/// Waiters for a process's exit, then its reason.
pub(crate) enum ExitWatch {
    Waiting(Vec<oneshot::Sender<ExitReason>>),
    Exited(ExitReason),
}

impl ProcessEntry {
    pub fn status(&self) -> Status {
        Status::from_u8(self.status.load(Ordering::Acquire))
    }

    pub(crate) fn set_status(&self, status: Status) {
        self.status.store(status as u8, Ordering::Release);
    }

    /// The group the process is in, as `G`; `None` outside any group or in another kind.
    pub(crate) fn group<G: ProcessGroup>(&self) -> Option<Arc<G>> {
        group_as(&self.group)
    }

    /// Queue an event; never blocks.
    pub(crate) fn deliver(&self, envelope: Envelope) -> Result<(), SendError> {
        self.mailbox
            .push(envelope)
            .map_err(|refused| match refused {
                Refused::Full => SendError::MailboxFull(self.pid.clone(), self.mailbox.capacity()),
                Refused::Closed => SendError::NoProcess(self.pid.to_string()),
            })?;
        self.counters.messages_in.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Send a signal; lost only when the process is already gone.
    pub(crate) fn signal(&self, signal: Signal) {
        let _ = self.signals.send(signal);
    }

    /// Refuse operators' signals to a host service.
    pub fn check_unprotected(&self) -> Result<(), SendError> {
        if self.protected.load(Ordering::Acquire) {
            return Err(SendError::Protected(self.pid.clone()));
        }
        Ok(())
    }

    /// Mark the process a protected host service.
    pub(crate) fn protect(&self) {
        self.protected.store(true, Ordering::Release);
    }

    /// Record an observed event of this process.
    pub(crate) fn trace(&self, kind: TraceKind, detail: impl Fn() -> String) {
        self.observers.record(kind, detail);
    }

    /// Record the resident memory, sampling it when it changed.
    pub(crate) fn record_memory(&self, bytes: u64) {
        if self.counters.memory_bytes.swap(bytes, Ordering::Relaxed) == bytes {
            return;
        }
        let mut samples = self
            .memory_samples
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if samples.back().is_some_and(|(_, last)| *last == bytes) {
            return;
        }
        if samples.len() == MEMORY_SAMPLES {
            samples.pop_front();
        }
        samples.push_back((unix_ms(SystemTime::now()), bytes));
    }

    /// The memory samples, oldest first.
    pub(crate) fn memory_history(&self) -> Vec<(u64, u64)> {
        self.memory_samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect()
    }
}

/// A serializable view of a process.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessInfo {
    pub pid: String,
    pub name: Option<String>,
    pub worker: String,
    /// The supervisor that started it.
    pub parent: Option<String>,
    pub status: Status,
    pub started_unix_ms: u64,
    pub links: Vec<String>,
    pub monitored_by: Vec<String>,
    pub trap_exit: bool,
    pub mailbox_len: usize,
    pub mailbox_capacity: usize,
    /// Linear memory of the resident instance (0 while hibernated) and state kept while
    /// hibernated, in bytes.
    pub memory_bytes: u64,
    pub state_bytes: u64,
    /// The process it is blocked calling.
    pub waiting_on: Option<String>,
    pub messages_in: u64,
    pub messages_out: u64,
    pub handle_calls: u64,
    pub busy_ms: u64,
    /// CPU time spent handling messages, in microseconds.
    pub cpu_us: u64,
    /// Times its supervisor restarted the child it is.
    pub restarts: u32,
}

impl ProcessEntry {
    pub(crate) fn info(&self) -> ProcessInfo {
        let lock = |set: &Mutex<BTreeSet<Pid>>| {
            set.lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .map(Pid::to_string)
                .collect()
        };
        ProcessInfo {
            pid: self.pid.to_string(),
            name: self.name.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            worker: self.worker.clone(),
            parent: self.parent.get().map(Pid::to_string),
            status: self.status(),
            started_unix_ms: unix_ms(self.started),
            links: lock(&self.links),
            monitored_by: self
                .monitors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .values()
                .map(Pid::to_string)
                .collect(),
            trap_exit: self.trap_exit.load(Ordering::Relaxed),
            mailbox_len: self.mailbox.len(),
            mailbox_capacity: self.mailbox.capacity(),
            memory_bytes: self.counters.memory_bytes.load(Ordering::Relaxed),
            state_bytes: self.counters.state_bytes.load(Ordering::Relaxed),
            waiting_on: self
                .waiting_on
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .map(Pid::to_string),
            messages_in: self.counters.messages_in.load(Ordering::Relaxed),
            messages_out: self.counters.messages_out.load(Ordering::Relaxed),
            handle_calls: self.counters.handle_calls.load(Ordering::Relaxed),
            busy_ms: self.counters.busy_nanos.load(Ordering::Relaxed) / 1_000_000,
            cpu_us: self.counters.cpu_nanos.load(Ordering::Relaxed) / 1_000,
            restarts: self.counters.restarts.load(Ordering::Relaxed),
        }
    }
}

pub(crate) fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_match_their_json() {
        for status in [
            Status::Running,
            Status::Suspended,
            Status::Hibernated,
            Status::Exiting,
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
    }
}
