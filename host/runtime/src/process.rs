//! One wasm process: its entry in the table (what others may see and touch) and its actor
//! loop (the only owner of its worker). The loop handles control signals first, then
//! drains a batch of messages from the bounded mailbox into one `handle` call; an idle
//! stateful worker hibernates and is woken by its next message.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::Pid;
use super::mailbox::{Mailbox, Refused};
use super::table::ProcessTable;
use super::trace::{Observers, TraceKind, message_kind};
use super::worker::{Event, ExitReason, Hibernated, Worker, WorkerError};

/// Messages handled per `handle` call at most: the fixed cost of a call into the guest is
/// shared by the messages of a batch.
const BATCH: usize = 64;

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

/// A queued event, with where to send the reply of a call.
pub struct Envelope {
    pub event: Event,
    pub reply: Option<Reply>,
}

/// Where a call's answer goes.
pub(crate) type Reply = oneshot::Sender<Result<String, ExitReason>>;

/// Control signals, handled before messages and never dropped.
pub(crate) enum Signal {
    Exit {
        from: Option<Pid>,
        reason: ExitReason,
    },
    Suspend,
    Resume,
    Hibernate(oneshot::Sender<Result<(), WorkerError>>),
    /// The worker's state, without stopping it: `None` for a worker that does not export
    /// `state`.
    Snapshot(oneshot::Sender<Result<Option<Vec<u8>>, WorkerError>>),
    /// Move to new code keeping the state (snapshot, new instance, restore); the old
    /// instance stays when that fails. Replies with the version it ran before.
    Upgrade {
        code: Arc<super::WorkerCode>,
        reply: oneshot::Sender<Result<Arc<super::WorkerCode>, WorkerError>>,
    },
    /// Replace the state with one snapshotted by the given code version.
    Restore {
        version: String,
        state: Vec<u8>,
        reply: oneshot::Sender<Result<(), WorkerError>>,
    },
}

impl Signal {
    /// Answer a request about worker state on behalf of a process that has none (a
    /// supervisor, a host service). Exit, suspend and resume are for the caller's own
    /// loop, which handles them before it gets here.
    pub(crate) fn answer_stateless(self) {
        match self {
            Signal::Hibernate(reply) => {
                let _ = reply.send(Err(WorkerError::NotStateful));
            }
            Signal::Snapshot(reply) => {
                let _ = reply.send(Ok(None));
            }
            Signal::Restore { reply, .. } => {
                let _ = reply.send(Err(WorkerError::NotStateful));
            }
            Signal::Upgrade { reply, .. } => {
                let _ = reply.send(Err(WorkerError::NotStateful));
            }
            Signal::Exit { .. } | Signal::Suspend | Signal::Resume => {}
        }
    }
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
    pub(crate) restarts: std::sync::atomic::AtomicU32,
    /// Linear memory of the resident instance; 0 while hibernated.
    pub(crate) memory_bytes: AtomicU64,
    /// State kept while hibernated.
    pub(crate) state_bytes: AtomicU64,
}

/// What the table knows of a process.
pub struct ProcessEntry {
    pub pid: Pid,
    pub name: Mutex<Option<String>>,
    pub worker: String,
    /// The supervisor that started it, once known.
    pub parent: std::sync::OnceLock<Pid>,
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
    pub trap_exit: std::sync::atomic::AtomicBool,
    pub(crate) counters: Counters,
    /// Who waits for the exit, or the reason once exited.
    pub(crate) exit: Mutex<ExitWatch>,
    /// The process it is blocked calling, if any (for deadlock analysis).
    pub(crate) waiting_on: Mutex<Option<Pid>>,
    /// (unix ms, bytes) each time its memory changed, oldest first.
    pub(crate) memory_samples: Mutex<VecDeque<(u64, u64)>>,
    /// The sandbox it runs in.
    pub sandbox: Option<Arc<super::Sandbox>>,
    /// Traces and profiles watching it.
    pub(crate) observers: Observers,
    /// A host service (or their tree): operators may not stop, suspend or hibernate it.
    pub(crate) protected: std::sync::atomic::AtomicBool,
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

    /// Whether the process runs in `sandbox`.
    pub(crate) fn in_sandbox(&self, sandbox: &Arc<super::Sandbox>) -> bool {
        self.sandbox
            .as_ref()
            .is_some_and(|own| Arc::ptr_eq(own, sandbox))
    }

    /// Refuse operators' signals to a host service.
    pub fn check_unprotected(&self) -> Result<(), SendError> {
        if self.protected.load(Ordering::Acquire) {
            return Err(SendError::Protected(self.pid.clone()));
        }
        Ok(())
    }

    /// Record the resident memory, sampling it when it changed.
    fn record_memory(&self, bytes: u64) {
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

/// The worker of a process, resident or asleep.
enum Slot {
    Resident(Worker),
    Hibernated(Hibernated),
    /// Momentarily empty while moving between the two.
    Moving,
}

/// The actor loop of one process; returns when the process exits.
pub(crate) async fn run(
    table: Arc<ProcessTable>,
    entry: Arc<ProcessEntry>,
    worker: Worker,
    mut signals: mpsc::UnboundedReceiver<Signal>,
    idle_hibernate: Option<Duration>,
) {
    entry.record_memory(worker.memory_bytes() as u64);
    let mut slot = Slot::Resident(worker);
    let mailbox = &entry.mailbox;
    let reason = loop {
        let suspended = entry.status() == Status::Suspended;
        let can_sleep = idle_hibernate.is_some()
            && !suspended
            && matches!(&slot, Slot::Resident(w) if w.code().is_stateful());
        let idle = idle_hibernate.unwrap_or(Duration::MAX);
        tokio::select! {
            biased;
            signal = signals.recv() => match signal {
                // The table dropped the sender: the host is shutting down.
                None => break ExitReason::Shutdown,
                Some(Signal::Exit { from, reason }) => {
                    if let Some(reason) = exit_signal(&table, &entry, &mut slot, from, reason).await {
                        break reason;
                    }
                }
                Some(Signal::Suspend) => {
                    entry.set_status(Status::Suspended);
                    entry.trace(TraceKind::Lifecycle, || "suspended".to_owned());
                }
                Some(Signal::Resume) => {
                    entry.set_status(match slot {
                        Slot::Hibernated(_) => Status::Hibernated,
                        _ => Status::Running,
                    });
                    entry.trace(TraceKind::Lifecycle, || "resumed".to_owned());
                }
                Some(Signal::Hibernate(reply)) => {
                    let result = hibernate(&entry, &mut slot).await;
                    let crashed = matches!(&result, Err(error) if *error != WorkerError::NotStateful);
                    let _ = reply.send(result.clone());
                    if crashed {
                        break ExitReason::Crash(result.unwrap_err().to_string());
                    }
                }
                Some(Signal::Snapshot(reply)) => {
                    let result = snapshot(&mut slot).await;
                    let crashed = result.as_ref().err().map(ToString::to_string);
                    let _ = reply.send(result);
                    if let Some(reason) = crashed {
                        break ExitReason::Crash(reason);
                    }
                }
                Some(Signal::Upgrade { code, reply }) => {
                    let version = code.version().to_owned();
                    let result = upgrade(&table, &entry, &mut slot, code).await;
                    entry.trace(TraceKind::Lifecycle, || match &result {
                        Ok(_) => format!("upgraded to {version}"),
                        Err(error) => format!("upgrade to {version} failed: {error}"),
                    });
                    let _ = reply.send(result);
                }
                Some(Signal::Restore { version, state, reply }) => {
                    let result = restore(&table, &entry, &mut slot, &version, &state).await;
                    let crashed = result.as_ref().err().map(ToString::to_string);
                    let _ = reply.send(result);
                    if let Some(reason) = crashed {
                        break ExitReason::Crash(reason);
                    }
                }
            },
            envelope = mailbox.recv(), if !suspended => {
                let Some(envelope) = envelope else { break ExitReason::Shutdown };
                let mut batch = vec![envelope];
                // A profiled process handles one message per call, so each is timed alone.
                let batch_size = if entry.observers.profiling() { 1 } else { BATCH };
                while batch.len() < batch_size {
                    match mailbox.try_recv() {
                        Some(envelope) => batch.push(envelope),
                        None => break,
                    }
                }
                if let Err(reason) = handle(&table, &entry, &mut slot, batch).await {
                    break reason;
                }
            },
            () = tokio::time::sleep(idle), if can_sleep => {
                if let Err(error) = hibernate(&entry, &mut slot).await {
                    break ExitReason::Crash(error.to_string());
                }
            }
        }
    };
    entry.set_status(Status::Exiting);
    entry.trace(TraceKind::Lifecycle, || format!("exited: {reason}"));
    // Calls still queued will never be answered.
    refuse(
        mailbox.close().into_iter().map(|envelope| envelope.reply),
        &reason,
    );
    drop(slot);
    table.exited(&entry, reason);
}

async fn handle(
    table: &ProcessTable,
    entry: &ProcessEntry,
    slot: &mut Slot,
    batch: Vec<Envelope>,
) -> Result<(), ExitReason> {
    if let Err(reason) = wake(table, entry, slot).await {
        // The calls that woke it hear why it could not (no worker slot, say), as calls
        // still queued do when the loop ends.
        refuse(batch.into_iter().map(|envelope| envelope.reply), &reason);
        return Err(reason);
    }
    let Slot::Resident(worker) = slot else {
        unreachable!("woken above")
    };
    let (events, replies): (Vec<Event>, Vec<_>) = batch
        .into_iter()
        .map(|envelope| (envelope.event, envelope.reply))
        .unzip();
    for event in &events {
        entry.trace(TraceKind::Receive, || super::mailbox::describe_event(event));
    }
    let profiled = (events.len() == 1 && entry.observers.profiling()).then(|| {
        (
            event_kind(&events[0]),
            entry.counters.memory_bytes.load(Ordering::Relaxed),
        )
    });
    let started = std::time::Instant::now();
    let (mut result, cpu) = super::cpu_time::measure(worker.handle(events)).await;
    entry.record_memory(worker.memory_bytes() as u64);
    entry.counters.handle_calls.fetch_add(1, Ordering::Relaxed);
    let took = started.elapsed();
    entry
        .counters
        .busy_nanos
        .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
    let cpu = cpu.as_nanos() as u64;
    entry.counters.cpu_nanos.fetch_add(cpu, Ordering::Relaxed);
    if let Some((kind, memory_before)) = profiled {
        let grown = entry
            .counters
            .memory_bytes
            .load(Ordering::Relaxed)
            .saturating_sub(memory_before);
        entry.observers.profile(&kind, took, grown);
    }
    if let Some(sandbox) = &entry.sandbox
        && !sandbox.charge(cpu)
        && result.is_ok()
    {
        result = Err(WorkerError::Crashed(format!(
            "sandbox `{}` has spent its CPU-time budget",
            sandbox.id()
        )));
    }
    match result {
        Ok(answers) => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                if let Some(reply) = reply {
                    entry.counters.messages_out.fetch_add(1, Ordering::Relaxed);
                    let _ = reply.send(Ok(answer.unwrap_or_default()));
                }
            }
            Ok(())
        }
        Err(error) => {
            let reason = ExitReason::Crash(error.to_string());
            refuse(replies, &reason);
            Err(reason)
        }
    }
}

/// Answer every call among `replies` (casts have none) with `reason`: the process ended
/// without handling them.
fn refuse(replies: impl IntoIterator<Item = Option<Reply>>, reason: &ExitReason) {
    for reply in replies.into_iter().flatten() {
        let _ = reply.send(Err(reason.clone()));
    }
}

/// An event's kind for profiles.
fn event_kind(event: &Event) -> String {
    match event {
        Event::Message { payload, .. } | Event::Call { payload, .. } => message_kind(payload),
        Event::Timer { .. } => "(timer)".to_owned(),
        Event::Exit { .. } => "(exit)".to_owned(),
        Event::Down { .. } => "(down)".to_owned(),
    }
}

async fn wake(
    table: &ProcessTable,
    entry: &ProcessEntry,
    slot: &mut Slot,
) -> Result<(), ExitReason> {
    if let Slot::Hibernated(_) = slot {
        let Slot::Hibernated(sleeper) = std::mem::replace(slot, Slot::Moving) else {
            unreachable!()
        };
        let worker = Worker::wake(table.workers(), sleeper)
            .await
            .map_err(|error| ExitReason::Crash(error.to_string()))?;
        entry.counters.state_bytes.store(0, Ordering::Relaxed);
        entry.record_memory(worker.memory_bytes() as u64);
        entry.trace(TraceKind::Lifecycle, || "woke from hibernation".to_owned());
        *slot = Slot::Resident(worker);
        if entry.status() == Status::Hibernated {
            entry.set_status(Status::Running);
        }
    }
    Ok(())
}

/// The state of a stateful worker, resident or asleep; `None` when it has no `state`.
async fn snapshot(slot: &mut Slot) -> Result<Option<Vec<u8>>, WorkerError> {
    match slot {
        Slot::Hibernated(sleeper) => Ok(Some(sleeper.state().to_vec())),
        Slot::Resident(worker) if !worker.code().is_stateful() => Ok(None),
        Slot::Resident(worker) => worker.snapshot().await.map(Some),
        // Only seen inside one step that then ends the process.
        Slot::Moving => Err(WorkerError::Crashed("the worker is gone".to_owned())),
    }
}

async fn upgrade(
    table: &ProcessTable,
    entry: &ProcessEntry,
    slot: &mut Slot,
    code: Arc<super::WorkerCode>,
) -> Result<Arc<super::WorkerCode>, WorkerError> {
    wake(table, entry, slot)
        .await
        .map_err(|reason| WorkerError::Crashed(reason.to_string()))?;
    let Slot::Resident(worker) = slot else {
        unreachable!("woken above")
    };
    let new = worker.upgraded(table.workers(), code.clone()).await?;
    let Slot::Resident(old) = std::mem::replace(slot, Slot::Resident(new)) else {
        unreachable!("resident above")
    };
    *entry.version.lock().unwrap_or_else(|p| p.into_inner()) = code.version().to_owned();
    if let Slot::Resident(worker) = slot {
        entry.record_memory(worker.memory_bytes() as u64);
    }
    Ok(old.code().clone())
}

async fn restore(
    table: &ProcessTable,
    entry: &ProcessEntry,
    slot: &mut Slot,
    version: &str,
    state: &[u8],
) -> Result<(), WorkerError> {
    wake(table, entry, slot)
        .await
        .map_err(|reason| WorkerError::Crashed(reason.to_string()))?;
    let Slot::Resident(worker) = slot else {
        unreachable!("woken above")
    };
    worker.restore(version, state).await?;
    entry.record_memory(worker.memory_bytes() as u64);
    Ok(())
}

async fn hibernate(entry: &ProcessEntry, slot: &mut Slot) -> Result<(), WorkerError> {
    match std::mem::replace(slot, Slot::Moving) {
        Slot::Resident(worker) if !worker.code().is_stateful() => {
            *slot = Slot::Resident(worker);
            Err(WorkerError::NotStateful)
        }
        Slot::Resident(worker) => {
            let sleeper = worker.hibernate().await?;
            entry
                .counters
                .state_bytes
                .store(sleeper.state_len() as u64, Ordering::Relaxed);
            entry.record_memory(0);
            entry.trace(TraceKind::Lifecycle, || {
                format!("hibernated ({} bytes of state)", sleeper.state_len())
            });
            *slot = Slot::Hibernated(sleeper);
            if entry.status() == Status::Running {
                entry.set_status(Status::Hibernated);
            }
            Ok(())
        }
        other => {
            *slot = other;
            Ok(())
        }
    }
}

/// OTP's rules for an incoming exit signal; `Some(reason)` when this process must exit.
async fn exit_signal(
    table: &ProcessTable,
    entry: &ProcessEntry,
    slot: &mut Slot,
    from: Option<Pid>,
    reason: ExitReason,
) -> Option<ExitReason> {
    // From no process, or from the process itself: an explicit exit (kill_process).
    let Some(from) = from.filter(|from| *from != entry.pid) else {
        return Some(reason);
    };
    if reason == ExitReason::Kill {
        return Some(ExitReason::Kill);
    }
    if entry.trap_exit.load(Ordering::Relaxed) {
        entry.counters.messages_in.fetch_add(1, Ordering::Relaxed);
        let event = Event::Exit { from, reason };
        return handle(table, entry, slot, vec![Envelope { event, reply: None }])
            .await
            .err();
    }
    match reason {
        ExitReason::Normal => None,
        other => Some(other),
    }
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
