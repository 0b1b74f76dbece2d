//! The process table: every live process of this node by pid and by registered name, and
//! the OTP relations between them — links, monitors, timers, exit signals. Sending,
//! calling, signalling and exit propagation go through here. What runs a process (a
//! worker's actor, a supervisor, a host service) admits and registers it here, owns its
//! receiving ends, and reports its exit; the table knows nothing of what runs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Pid;
use super::entry::{Counters, ExitWatch, ProcessEntry, ProcessInfo, SendError, Status};
use super::group::ProcessGroup;
use super::mailbox::{Mailbox, QueuedMessage};
use super::signal::{Envelope, Event, ExitReason, Signal};

/// A process entered into the table, with its signal queue.
pub(crate) type Registered = (Arc<ProcessEntry>, mpsc::UnboundedReceiver<Signal>);

/// What a process runs: the worker (or `supervisor`, `host_service`), its version and
/// `init` arguments.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Program<'a> {
    pub(crate) worker: &'a str,
    pub(crate) version: &'a str,
    pub(crate) args: &'a str,
}

/// How a new process enters the table.
#[derive(Default)]
pub(crate) struct EntryOptions {
    /// Register the process under this name.
    pub(crate) name: Option<String>,
    /// Link the new process to this one.
    pub(crate) link: Option<Pid>,
    /// Receive linked exits as events.
    pub(crate) trap_exit: bool,
    /// The group it counts against.
    pub(crate) group: Option<Arc<dyn ProcessGroup>>,
}

/// Why a process could not enter the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RegisterError {
    #[error("the name `{0}` is already registered")]
    NameTaken(String),
    #[error("`{0}` is not a valid process name: use letters, digits, `_`, `-` and `.`, at most 64")]
    InvalidName(String),
    #[error("{0}")]
    Link(SendError),
    #[error("{0}")]
    Budget(String),
}

/// A process admitted and not yet registered: counted against its group, which gets the
/// place back unless the process is registered.
pub(crate) struct Admission {
    name: Option<String>,
    trap_exit: bool,
    link: Option<Arc<ProcessEntry>>,
    group: Option<Arc<dyn ProcessGroup>>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        if let Some(group) = &self.group {
            group.release();
        }
    }
}

/// A mailbox as `inspect_mailbox` shows it.
#[derive(Debug, Clone)]
pub struct MailboxView {
    pub pid: Pid,
    pub len: usize,
    pub capacity: usize,
    pub messages: Vec<QueuedMessage>,
}

/// Every live process of this node.
pub struct Kernel {
    node: Arc<str>,
    incarnation: u32,
    serial: AtomicU64,
    monitor_ids: AtomicU64,
    processes: RwLock<HashMap<Pid, Arc<ProcessEntry>>>,
    names: RwLock<HashMap<String, Pid>>,
    /// Messages a mailbox holds; a send beyond is refused with `MailboxFull`.
    mailbox_capacity: usize,
    tasks: TaskTracker,
    /// Pending timers: id → (owner, cancel).
    timers: Mutex<HashMap<u64, (Pid, CancellationToken)>>,
}

impl Kernel {
    pub(crate) fn new(node: &str, incarnation: u32, mailbox_capacity: usize) -> Arc<Kernel> {
        Arc::new(Kernel {
            node: Arc::from(node),
            incarnation,
            serial: AtomicU64::new(1),
            monitor_ids: AtomicU64::new(1),
            processes: RwLock::new(HashMap::new()),
            names: RwLock::new(HashMap::new()),
            mailbox_capacity,
            tasks: TaskTracker::new(),
            timers: Mutex::new(HashMap::new()),
        })
    }

    /// Validate the name, find the process to link to, and count the process against its
    /// group: what [`Kernel::register`] then enters. Dropped unregistered, it gives the
    /// group's place back.
    pub(crate) fn admit(&self, options: EntryOptions) -> Result<Admission, RegisterError> {
        if let Some(name) = &options.name {
            if !super::is_valid_name(name, 64) {
                return Err(RegisterError::InvalidName(name.clone()));
            }
            if self
                .names
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .contains_key(name)
            {
                return Err(RegisterError::NameTaken(name.clone()));
            }
        }
        let link = match &options.link {
            Some(target) => Some(
                self.entry_by_pid(target)
                    .ok_or_else(|| RegisterError::Link(SendError::NoProcess(target.to_string())))?,
            ),
            None => None,
        };
        if let Some(group) = &options.group {
            group.admit().map_err(RegisterError::Budget)?;
        }
        Ok(Admission {
            name: options.name,
            trap_exit: options.trap_exit,
            link,
            group: options.group,
        })
    }

    pub(crate) fn next_pid(&self) -> Pid {
        Pid::new(
            self.node.clone(),
            self.incarnation,
            self.serial.fetch_add(1, Ordering::Relaxed),
        )
    }

    /// Enter an admitted process into the table (name, links) and hand back its queues,
    /// for the loop that runs it.
    pub(crate) fn register(
        &self,
        pid: Pid,
        program: Program<'_>,
        mut admission: Admission,
    ) -> Result<Registered, RegisterError> {
        let mailbox = Mailbox::new(self.mailbox_capacity);
        let (signals, signal_inbox) = mpsc::unbounded_channel();
        let entry = Arc::new(ProcessEntry {
            pid: pid.clone(),
            name: Mutex::new(None),
            worker: program.worker.to_owned(),
            version: Mutex::new(program.version.to_owned()),
            parent: std::sync::OnceLock::new(),
            started: SystemTime::now(),
            status: AtomicU8::new(Status::Running as u8),
            args: program.args.to_owned(),
            mailbox,
            signals,
            links: Mutex::new(Default::default()),
            monitors: Mutex::new(Default::default()),
            trap_exit: AtomicBool::new(admission.trap_exit),
            counters: Counters::default(),
            exit: Mutex::new(ExitWatch::Waiting(Vec::new())),
            waiting_on: Mutex::new(None),
            memory_samples: Mutex::new(Default::default()),
            group: admission.group.take(),
            observers: Default::default(),
            protected: AtomicBool::new(false),
        });
        if let Some(name) = admission.name.take() {
            let mut names = self.names.write().unwrap_or_else(|p| p.into_inner());
            if names.contains_key(&name) {
                // Not entered: its group's place goes back.
                if let Some(group) = &entry.group {
                    group.release();
                }
                return Err(RegisterError::NameTaken(name));
            }
            names.insert(name.clone(), pid.clone());
            *entry.name.lock().unwrap_or_else(|p| p.into_inner()) = Some(name);
        }
        self.processes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(pid.clone(), entry.clone());
        if let Some(other) = admission.link.take() {
            relate(&entry.links, &other.pid, true);
            relate(&other.links, &pid, true);
        }
        Ok((entry, signal_inbox))
    }

    /// Record which supervisor started a process, and how often it restarted that child.
    pub(crate) fn set_parent(&self, pid: &Pid, parent: &Pid, restarts: u32) {
        if let Some(entry) = self.entry_by_pid(pid) {
            let _ = entry.parent.set(parent.clone());
            entry.counters.restarts.store(restarts, Ordering::Relaxed);
        }
    }

    /// Whether a process is a protected host service (or the host tree).
    pub fn is_protected(&self, target: &str) -> bool {
        self.entry(target)
            .is_ok_and(|entry| entry.protected.load(Ordering::Acquire))
    }

    /// The first `limit` queued messages of a process, left in place.
    pub fn mailbox(&self, target: &str, limit: usize) -> Result<MailboxView, SendError> {
        let entry = self.entry(target)?;
        Ok(MailboxView {
            pid: entry.pid.clone(),
            len: entry.mailbox.len(),
            capacity: entry.mailbox.capacity(),
            messages: entry.mailbox.peek(limit),
        })
    }

    /// Memory samples of every process that has at least `min` of them:
    /// (pid, [(unix ms, bytes)]), by pid.
    pub fn memory_histories(&self, min: usize) -> Vec<(Pid, Vec<(u64, u64)>)> {
        let mut histories: Vec<_> = self
            .entries()
            .into_iter()
            .filter_map(|entry| {
                let history = entry.memory_history();
                (history.len() >= min).then(|| (entry.pid.clone(), history))
            })
            .collect();
        histories.sort_by(|a, b| a.0.cmp(&b.0));
        histories
    }

    pub(crate) fn tasks(&self) -> &TaskTracker {
        &self.tasks
    }

    /// A process by pid text or registered name.
    pub fn entry(&self, target: &str) -> Result<Arc<ProcessEntry>, SendError> {
        let pid = match target.parse::<Pid>() {
            Ok(pid) => pid,
            Err(_) => self
                .whereis(target)
                .ok_or_else(|| SendError::NoProcess(target.to_owned()))?,
        };
        self.entry_by_pid(&pid)
            .ok_or_else(|| SendError::NoProcess(target.to_owned()))
    }

    /// A live process by pid.
    pub fn entry_by_pid(&self, pid: &Pid) -> Option<Arc<ProcessEntry>> {
        self.processes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(pid)
            .cloned()
    }

    /// Every registered name and its pid, by name.
    pub fn registered(&self) -> Vec<(String, String)> {
        let names = self.names.read().unwrap_or_else(|p| p.into_inner());
        let mut registered: Vec<(String, String)> = names
            .iter()
            .map(|(name, pid)| (name.clone(), pid.to_string()))
            .collect();
        registered.sort();
        registered
    }

    /// The pid of a live process, by pid text or registered name.
    pub fn resolve(&self, target: &str) -> Result<Pid, SendError> {
        Ok(self.entry(target)?.pid.clone())
    }

    /// The pid registered under `name`.
    pub fn whereis(&self, name: &str) -> Option<Pid> {
        self.names
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// Queue a message; refused at once when the mailbox is full.
    pub fn send(&self, to: &str, from: Option<Pid>, payload: &str) -> Result<(), SendError> {
        let event = Event::Message {
            from,
            payload: payload.to_owned(),
        };
        self.entry(to)?.deliver(Envelope { event, reply: None })
    }

    /// Send a call and wait for its reply.
    pub async fn call(
        &self,
        to: &str,
        from: Option<Pid>,
        payload: &str,
        timeout: Duration,
    ) -> Result<String, SendError> {
        let entry = self.entry(to)?;
        let (reply, answer) = oneshot::channel();
        // A process blocked in a call says on whom, for deadlock analysis.
        let _waiting = from
            .as_ref()
            .and_then(|from| self.entry_by_pid(from))
            .map(|caller| Waiting::on(caller, entry.pid.clone()));
        entry.deliver(Envelope {
            event: Event::Call {
                from,
                payload: payload.to_owned(),
            },
            reply: Some(reply),
        })?;
        match tokio::time::timeout(timeout, answer).await {
            Err(_) => Err(SendError::Timeout(entry.pid.clone(), timeout)),
            Ok(Ok(Ok(answer))) => Ok(answer),
            Ok(Ok(Err(reason))) => Err(SendError::Exited(entry.pid.clone(), reason)),
            Ok(Err(_closed)) => Err(SendError::Exited(entry.pid.clone(), ExitReason::Shutdown)),
        }
    }

    /// Send an exit signal to `to`, as `exit(Pid, Reason)` from `from` (none: an operator,
    /// refused for host services).
    pub fn exit(&self, to: &str, from: Option<Pid>, reason: ExitReason) -> Result<Pid, SendError> {
        let entry = self.entry(to)?;
        if from.is_none() {
            entry.check_unprotected()?;
        }
        entry.signal(Signal::Exit { from, reason });
        Ok(entry.pid.clone())
    }

    /// Stop handling messages until resumed; they queue up meanwhile. Takes effect before
    /// this returns: nothing sent afterwards is handled while suspended.
    pub fn suspend(&self, target: &str) -> Result<Pid, SendError> {
        let entry = self.entry(target)?;
        entry.check_unprotected()?;
        entry.set_status(Status::Suspended);
        // Wakes the loop, which then sees the status before any later message.
        entry.signal(Signal::Suspend);
        Ok(entry.pid.clone())
    }

    pub fn resume(&self, target: &str) -> Result<Pid, SendError> {
        let entry = self.entry(target)?;
        entry.signal(Signal::Resume);
        Ok(entry.pid.clone())
    }

    /// Link two processes.
    pub fn link(&self, a: &str, b: &str) -> Result<(), SendError> {
        let (a, b) = (self.entry(a)?, self.entry(b)?);
        relate(&a.links, &b.pid, true);
        relate(&b.links, &a.pid, true);
        Ok(())
    }

    pub fn unlink(&self, a: &str, b: &str) -> Result<(), SendError> {
        let (a, b) = (self.entry(a)?, self.entry(b)?);
        relate(&a.links, &b.pid, false);
        relate(&b.links, &a.pid, false);
        Ok(())
    }

    /// `watcher` monitors `target`: a `down` event arrives when it exits. Returns the id.
    pub fn monitor(&self, watcher: &str, target: &str) -> Result<u64, SendError> {
        let watcher = self.entry(watcher)?;
        let target = self.entry(target)?;
        let id = self.monitor_ids.fetch_add(1, Ordering::Relaxed);
        target
            .monitors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, watcher.pid.clone());
        Ok(id)
    }

    /// Remove a monitor; false when it no longer exists.
    pub fn demonitor(&self, id: u64) -> bool {
        let processes = self.processes.read().unwrap_or_else(|p| p.into_inner());
        processes.values().any(|entry| {
            entry
                .monitors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id)
                .is_some()
        })
    }

    /// Count a message or call sent by `pid`.
    pub(crate) fn count_sent(&self, pid: &Pid) {
        if let Some(entry) = self.entry_by_pid(pid) {
            entry.counters.messages_out.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Deliver a timer event to `pid` after `after`; returns the timer id. The timer is
    /// cancelled when the process exits.
    pub(crate) fn start_timer(
        self: &Arc<Self>,
        pid: &Pid,
        after: Duration,
        payload: String,
    ) -> u64 {
        let id = self.monitor_ids.fetch_add(1, Ordering::Relaxed);
        let token = CancellationToken::new();
        self.timers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (pid.clone(), token.clone()));
        let table = Arc::downgrade(self);
        let pid = pid.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                () = token.cancelled() => {}
                () = tokio::time::sleep(after) => {
                    let Some(table) = table.upgrade() else { return };
                    table.timers.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                    if let Some(entry) = table.entry_by_pid(&pid) {
                        let event = Event::Timer { id, payload };
                        if let Err(error) = entry.deliver(Envelope { event, reply: None }) {
                            tracing::warn!(%pid, timer = id, %error, "timer event not delivered");
                        }
                    }
                }
            }
        });
        id
    }

    /// Cancel a timer; false when it already fired or never existed.
    pub(crate) fn cancel_timer(&self, id: u64) -> bool {
        match self
            .timers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id)
        {
            Some((_, token)) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Set whether a process receives linked exits as events.
    pub fn set_trap_exit(&self, target: &str, enabled: bool) -> Result<(), SendError> {
        self.entry(target)?
            .trap_exit
            .store(enabled, Ordering::Relaxed);
        Ok(())
    }

    /// Resolves with the exit reason once `target` has exited and its links and monitors
    /// have been told.
    pub fn await_exit(
        &self,
        target: &str,
    ) -> Result<impl Future<Output = ExitReason> + use<>, SendError> {
        let entry = self.entry(target)?;
        let (tell, told) = oneshot::channel();
        match &mut *entry.exit.lock().unwrap_or_else(|p| p.into_inner()) {
            ExitWatch::Waiting(waiters) => waiters.push(tell),
            ExitWatch::Exited(reason) => {
                let _ = tell.send(reason.clone());
            }
        }
        Ok(async move { told.await.unwrap_or(ExitReason::Shutdown) })
    }

    pub fn info(&self, target: &str) -> Result<ProcessInfo, SendError> {
        Ok(self.entry(target)?.info())
    }

    /// Every live process, ordered by pid.
    pub fn list(&self) -> Vec<ProcessInfo> {
        let mut entries = self.entries();
        // Pids of one table share node and incarnation, so this is serial (start) order.
        entries.sort_by(|a, b| a.pid.cmp(&b.pid));
        entries.iter().map(|entry| entry.info()).collect()
    }

    /// Stop every process, for a server shutdown: each process no supervisor owns — root
    /// supervisors (which stop their trees in reverse start order, each child within its
    /// shutdown timeout) and standalone processes — is told to shut down; what has not
    /// exited within `grace` is killed. Returns how many were killed.
    pub async fn shutdown(&self, grace: std::time::Duration) -> usize {
        let exits: Vec<_> = self
            .entries()
            .into_iter()
            .filter(|entry| entry.parent.get().is_none())
            .filter_map(|entry| {
                let exited = self.await_exit(&entry.pid.to_string()).ok()?;
                stop(&entry, ExitReason::Shutdown);
                Some(exited)
            })
            .collect();
        if tokio::time::timeout(grace, futures::future::join_all(exits))
            .await
            .is_ok()
            && self.is_empty()
        {
            return 0;
        }
        let left = self.entries();
        tracing::warn!(
            processes = left.len(),
            "shutdown grace passed; killing what is left"
        );
        let killed: Vec<_> = left
            .iter()
            .filter_map(|entry| {
                let exited = self.await_exit(&entry.pid.to_string()).ok()?;
                stop(entry, ExitReason::Kill);
                Some(exited)
            })
            .collect();
        let count = killed.len();
        // A kill cannot be trapped and ends the actor at its next poll.
        let _ = tokio::time::timeout(grace, futures::future::join_all(killed)).await;
        count
    }

    /// Kill every process at once, without waiting: for a host going away, whose
    /// processes must not outlive it (their tasks hold parts of it).
    pub fn kill_all(&self) {
        for entry in self.entries() {
            stop(&entry, ExitReason::Kill);
        }
    }

    /// Every live process's entry, in no order.
    pub fn entries(&self) -> Vec<Arc<ProcessEntry>> {
        self.processes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.processes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A process ended: forget it and tell its links and monitors.
    pub(crate) fn exited(&self, entry: &ProcessEntry, reason: ExitReason) {
        if let Some(group) = &entry.group {
            group.release();
        }
        entry.observers.close();
        self.processes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&entry.pid);
        if let Some(name) = entry.name.lock().unwrap_or_else(|p| p.into_inner()).take() {
            self.names
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&name);
        }
        tracing::debug!(pid = %entry.pid, %reason, "process exited");
        self.timers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, (owner, token)| {
                let keep = *owner != entry.pid;
                if !keep {
                    token.cancel();
                }
                keep
            });
        // Linked processes see `killed`, which they may trap, not the untrappable `kill`.
        let propagated = match &reason {
            ExitReason::Kill => ExitReason::Crash("killed".to_owned()),
            other => other.clone(),
        };
        let links = std::mem::take(&mut *entry.links.lock().unwrap_or_else(|p| p.into_inner()));
        for linked in links {
            if let Some(other) = self.entry_by_pid(&linked) {
                relate(&other.links, &entry.pid, false);
                let _ = other.signals.send(Signal::Exit {
                    from: Some(entry.pid.clone()),
                    reason: propagated.clone(),
                });
            }
        }
        let monitors =
            std::mem::take(&mut *entry.monitors.lock().unwrap_or_else(|p| p.into_inner()));
        let waiters = match std::mem::replace(
            &mut *entry.exit.lock().unwrap_or_else(|p| p.into_inner()),
            ExitWatch::Exited(reason.clone()),
        ) {
            ExitWatch::Waiting(waiters) => waiters,
            ExitWatch::Exited(_) => Vec::new(),
        };
        for watcher in monitors.into_values() {
            if let Some(other) = self.entry_by_pid(&watcher) {
                let event = Event::Down {
                    from: entry.pid.clone(),
                    reason: reason.clone(),
                };
                // A down message is a message: a full mailbox refuses it like any other,
                // and the refusal is logged rather than silently lost.
                if let Err(error) = other.deliver(Envelope { event, reply: None }) {
                    tracing::warn!(watcher = %watcher, pid = %entry.pid, %error, "down message not delivered");
                }
            }
        }
        for waiter in waiters {
            let _ = waiter.send(reason.clone());
        }
    }
}

/// Marks a caller as blocked on another process until dropped.
struct Waiting(Arc<ProcessEntry>);

impl Waiting {
    fn on(caller: Arc<ProcessEntry>, callee: Pid) -> Waiting {
        *caller.waiting_on.lock().unwrap_or_else(|p| p.into_inner()) = Some(callee);
        Waiting(caller)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        *self.0.waiting_on.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

fn relate(set: &Mutex<std::collections::BTreeSet<Pid>>, pid: &Pid, present: bool) {
    let mut set = set.lock().unwrap_or_else(|p| p.into_inner());
    if present {
        set.insert(pid.clone());
    } else {
        set.remove(pid);
    }
}

/// Signal `entry` to exit with `reason`, protected or not: for the host itself stopping
/// its processes (shutdown, a host going away), never for callers.
fn stop(entry: &ProcessEntry, reason: ExitReason) {
    entry.signal(Signal::Exit { from: None, reason });
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// A group of at most `max` members.
    struct Group {
        max: usize,
        members: AtomicUsize,
    }

    impl ProcessGroup for Group {
        fn admit(&self) -> Result<(), String> {
            self.members
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| {
                    (count < self.max).then_some(count + 1)
                })
                .map(drop)
                .map_err(|_| format!("at most {}", self.max))
        }

        fn release(&self) {
            self.members.fetch_sub(1, Ordering::AcqRel);
        }
    }

    fn program() -> Program<'static> {
        Program {
            worker: "test",
            version: "1",
            args: "",
        }
    }

    #[test]
    fn a_group_counts_its_processes_from_admission_to_exit() {
        let kernel = Kernel::new("local", 0, 4);
        let group = Arc::new(Group {
            max: 1,
            members: AtomicUsize::new(0),
        });
        let options = || EntryOptions {
            group: Some(group.clone() as Arc<dyn ProcessGroup>),
            ..EntryOptions::default()
        };
        // Admitted and never registered: the place goes back.
        drop(kernel.admit(options()).unwrap());
        assert_eq!(group.members.load(Ordering::Acquire), 0);

        let admission = kernel.admit(options()).unwrap();
        assert_eq!(
            kernel.admit(options()).err(),
            Some(RegisterError::Budget("at most 1".to_owned()))
        );
        let (entry, _signals) = kernel
            .register(kernel.next_pid(), program(), admission)
            .unwrap();
        assert_eq!(group.members.load(Ordering::Acquire), 1);
        assert!(
            entry
                .group::<Group>()
                .is_some_and(|own| Arc::ptr_eq(&own, &group))
        );

        kernel.exited(&entry, ExitReason::Normal);
        assert_eq!(group.members.load(Ordering::Acquire), 0);
        assert!(kernel.is_empty());
    }

    #[test]
    fn names_are_checked_at_admission() {
        let kernel = Kernel::new("local", 0, 4);
        let named = |name: &str| EntryOptions {
            name: Some(name.to_owned()),
            ..EntryOptions::default()
        };
        let admission = kernel.admit(named("a")).unwrap();
        let (entry, _signals) = kernel
            .register(kernel.next_pid(), program(), admission)
            .unwrap();
        assert_eq!(kernel.whereis("a"), Some(entry.pid.clone()));
        assert_eq!(
            kernel.admit(named("a")).err(),
            Some(RegisterError::NameTaken("a".to_owned()))
        );
        assert_eq!(
            kernel.admit(named("no spaces")).err(),
            Some(RegisterError::InvalidName("no spaces".to_owned()))
        );
    }
}
