//! Worker processes: a wasm worker running as a process of the kernel. Spawning one
//! (instantiate, `init`, register), its actor loop (the only owner of its worker), and the
//! requests only a worker takes — hibernate, snapshot, upgrade, restore. The loop handles
//! control signals first, then drains a batch of messages from the bounded mailbox into
//! one `handle` call; an idle stateful worker hibernates (after `idle_hibernate`, or when
//! a full pool claims its slot through the residency queue) and is woken by its next
//! message.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::kernel::{
    EntryOptions, Envelope, Event, ExitReason, Kernel, Pid, ProcessEntry, ProcessGroup,
    ProcessHandle, Program, RegisterError, Reply, Request, SendError, Signal, Status, TraceKind,
    describe_event,
};
use crate::residency::Waiting;
use crate::sandbox::Sandbox;
use crate::worker::{Hibernated, Worker, WorkerEngine, WorkerError};
use crate::worker_code::WorkerCode;

/// Messages handled per `handle` call at most: the fixed cost of a call into the guest is
/// shared by the messages of a batch.
const BATCH: usize = 64;

/// Options of a new process.
#[derive(Debug, Clone, Default)]
pub struct SpawnOptions {
    /// Register the process under this name.
    pub name: Option<String>,
    /// Link the new process to this one.
    pub link: Option<Pid>,
    /// Receive linked exits as events.
    pub trap_exit: bool,
    /// The sandbox it belongs to, whose budgets and policy it runs under.
    pub sandbox: Option<Arc<Sandbox>>,
}

impl SpawnOptions {
    /// How the process enters the kernel: its sandbox is the group it counts against.
    pub(crate) fn entry(self) -> EntryOptions {
        EntryOptions {
            name: self.name,
            link: self.link,
            trap_exit: self.trap_exit,
            group: self.sandbox.map(|sandbox| sandbox as Arc<dyn ProcessGroup>),
        }
    }
}

/// Why a process could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpawnError {
    #[error("the name `{0}` is already registered")]
    NameTaken(String),
    #[error("`{0}` is not a valid process name: use letters, digits, `_`, `-` and `.`, at most 64")]
    InvalidName(String),
    #[error("{0}")]
    Link(SendError),
    #[error("the worker failed to start: {0}")]
    Worker(#[from] WorkerError),
    #[error("{0}")]
    Budget(String),
}

impl From<RegisterError> for SpawnError {
    fn from(error: RegisterError) -> SpawnError {
        match error {
            RegisterError::NameTaken(name) => SpawnError::NameTaken(name),
            RegisterError::InvalidName(name) => SpawnError::InvalidName(name),
            RegisterError::Link(error) => SpawnError::Link(error),
            RegisterError::Budget(message) => SpawnError::Budget(message),
        }
    }
}

/// Starts worker processes on a kernel, from the worker engine's code.
pub(crate) struct Spawner {
    pub(crate) kernel: Arc<Kernel>,
    pub(crate) engine: Arc<WorkerEngine>,
    /// Idle time after which a stateful worker hibernates; `None` never.
    idle_hibernate: Option<Duration>,
}

impl Spawner {
    pub(crate) fn new(
        kernel: Arc<Kernel>,
        engine: Arc<WorkerEngine>,
        idle_hibernate: Option<Duration>,
    ) -> Spawner {
        Spawner {
            kernel,
            engine,
            idle_hibernate,
        }
    }

    /// A place among the idle resident workers for a process whose worker is `slot`:
    /// only a resident stateful worker can give up its slot.
    fn waiting(&self, slot: &Slot) -> Option<Waiting> {
        matches!(slot, Slot::Resident(worker) if worker.code().is_stateful())
            .then(|| self.engine.residency().wait())
    }

    /// Start a process running `code`, initialised with `args`.
    pub(crate) async fn spawn(
        self: &Arc<Self>,
        code: Arc<WorkerCode>,
        args: &str,
        options: SpawnOptions,
    ) -> Result<Pid, SpawnError> {
        let sandbox = options.sandbox.clone();
        let admission = self.kernel.admit(options.entry())?;
        let pid = self.kernel.next_pid();
        let worker = Worker::start_in(
            &self.engine,
            code.clone(),
            pid.clone(),
            args,
            Some(ProcessHandle::new(&self.kernel, pid.clone())),
            sandbox,
        )
        .await?;
        let program = Program {
            worker: code.name(),
            version: code.version(),
            args,
        };
        let (entry, signal_inbox) = self.kernel.register(pid.clone(), program, admission)?;
        let slot = Slot::Resident(worker);
        // Claimable from the moment it is started, before its loop first runs.
        let waiting = self.waiting(&slot);
        self.kernel
            .tasks()
            .spawn(run(self.clone(), entry, slot, waiting, signal_inbox));
        Ok(pid)
    }
}

/// What only a worker process is asked.
enum WorkerRequest {
    Hibernate(oneshot::Sender<Result<(), WorkerError>>),
    /// The worker's state, without stopping it: `None` for a worker that does not export
    /// `state`.
    Snapshot(oneshot::Sender<Result<Option<Vec<u8>>, WorkerError>>),
    /// Move to new code keeping the state (snapshot, new instance, restore); the old
    /// instance stays when that fails. Replies with the version it ran before.
    Upgrade {
        code: Arc<WorkerCode>,
        reply: oneshot::Sender<Result<Arc<WorkerCode>, WorkerError>>,
    },
    /// Replace the state with one snapshotted by the given code version.
    Restore {
        version: String,
        state: Vec<u8>,
        reply: oneshot::Sender<Result<(), WorkerError>>,
    },
}

impl Request for WorkerRequest {
    /// A process without worker state (a supervisor, a host service): nothing to
    /// hibernate, snapshot, upgrade or restore.
    fn decline(self: Box<Self>) {
        match *self {
            WorkerRequest::Hibernate(reply) => {
                let _ = reply.send(Err(WorkerError::NotStateful));
            }
            WorkerRequest::Snapshot(reply) => {
                let _ = reply.send(Ok(None));
            }
            WorkerRequest::Restore { reply, .. } => {
                let _ = reply.send(Err(WorkerError::NotStateful));
            }
            WorkerRequest::Upgrade { reply, .. } => {
                let _ = reply.send(Err(WorkerError::NotStateful));
            }
        }
    }
}

/// Send a request to a process and wait for its answer; `None` when it exited first.
async fn ask<T>(
    entry: &ProcessEntry,
    request: impl FnOnce(oneshot::Sender<T>) -> WorkerRequest,
) -> Option<T> {
    let (reply, answer) = oneshot::channel();
    entry.signal(Signal::Request(Box::new(request(reply))));
    answer.await.ok()
}

/// Hibernate a process now; waits until it is asleep.
pub(crate) async fn hibernate_process(
    kernel: &Kernel,
    target: &str,
) -> Result<Result<(), WorkerError>, SendError> {
    let entry = kernel.entry(target)?;
    entry.check_unprotected()?;
    ask(&entry, WorkerRequest::Hibernate)
        .await
        .ok_or_else(|| SendError::NoProcess(target.to_owned()))
}

/// A process's state as its worker's `snapshot` gives it, taken between messages; `None`
/// for a worker without `state` or a supervisor. A hibernated process answers from its
/// kept state without waking.
pub(crate) async fn state(
    kernel: &Kernel,
    target: &str,
) -> Result<Result<Option<Vec<u8>>, WorkerError>, SendError> {
    let entry = kernel.entry(target)?;
    ask(&entry, WorkerRequest::Snapshot)
        .await
        .ok_or_else(|| SendError::NoProcess(target.to_owned()))
}

/// Replace a process's state with one taken from `from_version` of its worker.
pub(crate) async fn restore_state(
    kernel: &Kernel,
    target: &str,
    from_version: &str,
    state: Vec<u8>,
) -> Result<Result<(), WorkerError>, SendError> {
    let entry = kernel.entry(target)?;
    let version = from_version.to_owned();
    ask(&entry, |reply| WorkerRequest::Restore {
        version,
        state,
        reply,
    })
    .await
    .ok_or_else(|| SendError::NoProcess(target.to_owned()))
}

/// Move a process to `code` in place, keeping its state; returns the code it ran before.
pub(crate) async fn upgrade_process(
    kernel: &Kernel,
    pid: &Pid,
    code: Arc<WorkerCode>,
) -> Result<Arc<WorkerCode>, WorkerError> {
    let entry = kernel
        .entry_by_pid(pid)
        .ok_or_else(|| WorkerError::Crashed(format!("no process {pid}")))?;
    ask(&entry, |reply| WorkerRequest::Upgrade { code, reply })
        .await
        .ok_or_else(|| WorkerError::Crashed(format!("{pid} exited during the upgrade")))?
}

/// Answer a request in the loop; `Some(reason)` when the process must exit.
async fn answer(
    spawner: &Spawner,
    entry: &ProcessEntry,
    slot: &mut Slot,
    request: Box<dyn Request>,
) -> Option<ExitReason> {
    let request = match request.take::<WorkerRequest>() {
        Ok(request) => *request,
        Err(other) => {
            other.decline();
            return None;
        }
    };
    match request {
        WorkerRequest::Hibernate(reply) => {
            let result = hibernate(entry, slot, Why::Asked).await;
            let crashed = matches!(&result, Err(error) if *error != WorkerError::NotStateful);
            let _ = reply.send(result.clone());
            crashed.then(|| ExitReason::Crash(result.unwrap_err().to_string()))
        }
        WorkerRequest::Snapshot(reply) => {
            let result = snapshot(slot).await;
            let crashed = result.as_ref().err().map(ToString::to_string);
            let _ = reply.send(result);
            crashed.map(ExitReason::Crash)
        }
        WorkerRequest::Upgrade { code, reply } => {
            let version = code.version().to_owned();
            let result = upgrade(spawner, entry, slot, code).await;
            entry.trace(TraceKind::Lifecycle, || match &result {
                Ok(_) => format!("upgraded to {version}"),
                Err(error) => format!("upgrade to {version} failed: {error}"),
            });
            let _ = reply.send(result);
            None
        }
        WorkerRequest::Restore {
            version,
            state,
            reply,
        } => {
            let result = restore(spawner, entry, slot, &version, &state).await;
            let crashed = result.as_ref().err().map(ToString::to_string);
            let _ = reply.send(result);
            crashed.map(ExitReason::Crash)
        }
    }
}

/// The worker of a process, resident or asleep.
enum Slot {
    Resident(Worker),
    Hibernated(Hibernated),
    /// Momentarily empty while moving between the two.
    Moving,
}

/// What woke a process's loop.
enum Step {
    Signal(Option<Signal>),
    Mail(Option<Envelope>),
    /// Idle past `idle_hibernate`.
    Idle,
    /// A spawn or wake wants its worker slot.
    Claimed,
}

/// The actor loop of one process; returns when the process exits. `waiting` is its place
/// among the idle resident workers while it has one.
async fn run(
    spawner: Arc<Spawner>,
    entry: Arc<ProcessEntry>,
    mut slot: Slot,
    mut waiting: Option<Waiting>,
    mut signals: mpsc::UnboundedReceiver<Signal>,
) {
    let idle_hibernate = spawner.idle_hibernate;
    let sandbox = Sandbox::of(&entry);
    if let Slot::Resident(worker) = &slot {
        entry.record_memory(worker.memory_bytes() as u64);
    }
    let mailbox = &entry.mailbox;
    let reason = loop {
        let suspended = entry.status() == Status::Suspended;
        let can_sleep = idle_hibernate.is_some() && !suspended && waiting.is_some();
        let idle = idle_hibernate.unwrap_or(Duration::MAX);
        let step = tokio::select! {
            biased;
            signal = signals.recv() => Step::Signal(signal),
            envelope = mailbox.recv(), if !suspended => Step::Mail(envelope),
            () = tokio::time::sleep(idle), if can_sleep => Step::Idle,
            () = claimed(waiting.as_ref()) => Step::Claimed,
        };
        // Whatever woke it, a claim on its slot is answered first.
        if let Some(claim) = waiting.take().and_then(Waiting::leave) {
            let hibernated = hibernate(&entry, &mut slot, Why::MakeRoom).await;
            // A worker that failed to hibernate was dropped, so its slot is free too.
            claim.answer();
            if let Err(error) = hibernated {
                let reason = ExitReason::Crash(error.to_string());
                if let Step::Mail(Some(envelope)) = step {
                    refuse([envelope.reply], &reason);
                }
                break reason;
            }
        }
        match step {
            // The kernel dropped the sender: the host is shutting down.
            Step::Signal(None) => break ExitReason::Shutdown,
            Step::Signal(Some(Signal::Exit { from, reason })) => {
                if let Some(reason) = exit_signal(
                    &spawner,
                    &entry,
                    sandbox.as_deref(),
                    &mut slot,
                    &mut waiting,
                    from,
                    reason,
                )
                .await
                {
                    break reason;
                }
            }
            Step::Signal(Some(Signal::Suspend)) => {
                entry.set_status(Status::Suspended);
                entry.trace(TraceKind::Lifecycle, || "suspended".to_owned());
            }
            Step::Signal(Some(Signal::Resume)) => {
                entry.set_status(match slot {
                    Slot::Hibernated(_) => Status::Hibernated,
                    _ => Status::Running,
                });
                entry.trace(TraceKind::Lifecycle, || "resumed".to_owned());
            }
            Step::Signal(Some(Signal::Request(request))) => {
                if let Some(reason) = answer(&spawner, &entry, &mut slot, request).await {
                    break reason;
                }
            }
            Step::Mail(None) => break ExitReason::Shutdown,
            Step::Mail(Some(envelope)) => {
                let mut batch = vec![envelope];
                // A profiled process handles one message per call, so each is timed alone.
                let batch_size = if entry.observers.per_message() {
                    1
                } else {
                    BATCH
                };
                while batch.len() < batch_size {
                    match mailbox.try_recv() {
                        Some(envelope) => batch.push(envelope),
                        None => break,
                    }
                }
                if let Err(reason) = handle(
                    &spawner,
                    &entry,
                    sandbox.as_deref(),
                    &mut slot,
                    &mut waiting,
                    batch,
                )
                .await
                {
                    break reason;
                }
            }
            Step::Idle => {
                if let Err(error) = hibernate(&entry, &mut slot, Why::Idle).await {
                    break ExitReason::Crash(error.to_string());
                }
            }
            // Answered above.
            Step::Claimed => {}
        }
        if waiting.is_none() {
            waiting = spawner.waiting(&slot);
        }
    };
    entry.set_status(Status::Exiting);
    entry.trace(TraceKind::Lifecycle, || format!("exited: {reason}"));
    // Calls still queued will never be answered.
    refuse(
        mailbox.close().into_iter().map(|envelope| envelope.reply),
        &reason,
    );
    // The worker first, so a claimer told that this process is gone finds its slot free.
    drop(slot);
    drop(waiting);
    spawner.kernel.exited(&entry, reason);
}

/// Resolves when the process's place in the residency queue is claimed; never without one.
async fn claimed(waiting: Option<&Waiting>) {
    match waiting {
        Some(waiting) => waiting.claimed().await,
        None => std::future::pending().await,
    }
}

/// Handle a batch of messages, waking the worker first if it sleeps. Once handled, and
/// before anyone hears a reply, the worker takes its place among the idle resident ones
/// (`waiting`), so a reply seen means the worker can give up its slot.
async fn handle(
    spawner: &Spawner,
    entry: &ProcessEntry,
    sandbox: Option<&Sandbox>,
    slot: &mut Slot,
    waiting: &mut Option<Waiting>,
    batch: Vec<Envelope>,
) -> Result<(), ExitReason> {
    if let Err(reason) = wake(spawner, entry, slot).await {
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
        entry.trace(TraceKind::Receive, || describe_event(event));
    }
    let profiled = (events.len() == 1 && entry.observers.per_message()).then(|| {
        (
            events[0].clone(),
            entry.counters.memory_bytes.load(Ordering::Relaxed),
        )
    });
    let started = std::time::Instant::now();
    let (mut result, cpu) = crate::cpu_time::measure(worker.handle(events)).await;
    entry.record_memory(worker.memory_bytes() as u64);
    entry.counters.handle_calls.fetch_add(1, Ordering::Relaxed);
    let took = started.elapsed();
    entry
        .counters
        .busy_nanos
        .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
    let cpu = cpu.as_nanos() as u64;
    entry.counters.cpu_nanos.fetch_add(cpu, Ordering::Relaxed);
    if let Some((event, memory_before)) = profiled {
        let grown = entry
            .counters
            .memory_bytes
            .load(Ordering::Relaxed)
            .saturating_sub(memory_before);
        entry.observers.handled(&event, took, grown);
    }
    if let Some(sandbox) = sandbox
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
            if waiting.is_none() {
                *waiting = spawner.waiting(slot);
            }
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

async fn wake(spawner: &Spawner, entry: &ProcessEntry, slot: &mut Slot) -> Result<(), ExitReason> {
    if let Slot::Hibernated(_) = slot {
        let Slot::Hibernated(sleeper) = std::mem::replace(slot, Slot::Moving) else {
            unreachable!()
        };
        let worker = Worker::wake(&spawner.engine, sleeper)
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
    spawner: &Spawner,
    entry: &ProcessEntry,
    slot: &mut Slot,
    code: Arc<WorkerCode>,
) -> Result<Arc<WorkerCode>, WorkerError> {
    wake(spawner, entry, slot)
        .await
        .map_err(|reason| WorkerError::Crashed(reason.to_string()))?;
    let Slot::Resident(worker) = slot else {
        unreachable!("woken above")
    };
    let new = worker.upgraded(&spawner.engine, code.clone()).await?;
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
    spawner: &Spawner,
    entry: &ProcessEntry,
    slot: &mut Slot,
    version: &str,
    state: &[u8],
) -> Result<(), WorkerError> {
    wake(spawner, entry, slot)
        .await
        .map_err(|reason| WorkerError::Crashed(reason.to_string()))?;
    let Slot::Resident(worker) = slot else {
        unreachable!("woken above")
    };
    worker.restore(version, state).await?;
    entry.record_memory(worker.memory_bytes() as u64);
    Ok(())
}

/// Why a worker hibernates, as its trace tells.
#[derive(Debug, Clone, Copy)]
enum Why {
    /// Idle past `idle_hibernate`.
    Idle,
    /// Asked to (`hibernate_process`).
    Asked,
    /// The pool was full and it was the least recently active idle worker.
    MakeRoom,
}

async fn hibernate(entry: &ProcessEntry, slot: &mut Slot, why: Why) -> Result<(), WorkerError> {
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
                let why = match why {
                    Why::Idle => "when idle",
                    Why::Asked => "when asked",
                    Why::MakeRoom => "to make room",
                };
                format!("hibernated {why} ({} bytes of state)", sleeper.state_len())
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
    spawner: &Spawner,
    entry: &ProcessEntry,
    sandbox: Option<&Sandbox>,
    slot: &mut Slot,
    waiting: &mut Option<Waiting>,
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
        return handle(
            spawner,
            entry,
            sandbox,
            slot,
            waiting,
            vec![Envelope { event, reply: None }],
        )
        .await
        .err();
    }
    match reason {
        ExitReason::Normal => None,
        other => Some(other),
    }
}
