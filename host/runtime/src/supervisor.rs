//! OTP supervisors: a supervisor is a process of the kernel that links to its children
//! and traps their exits. On a child's exit it restarts per the child's restart type
//! (permanent, transient, temporary) and its strategy (one_for_one, one_for_all,
//! rest_for_one), within a restart intensity (default 1 in 5 s); past it, it stops its
//! children and exits, and its own supervisor decides (escalation). Children stop in
//! reverse start order: `shutdown`, then `kill` after the child's shutdown timeout.
//! Built on the kernel's spawn, link, trap_exit and exit alone, as OTP's `supervisor` is;
//! the kernel does not know supervisors exist.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::kernel::{
    ExitReason, Kernel, Pid, ProcessEntry, Program, SendError, Signal, Status, unix_ms,
};
use crate::process::{SpawnError, SpawnOptions, Spawner};
use crate::sandbox::Sandbox;
use crate::service::{self, ServiceSpec};
use crate::worker_code::WorkerCode;

/// Restart history entries kept per supervisor.
const HISTORY: usize = 100;

/// Which children restart when one exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    OneForOne,
    OneForAll,
    RestForOne,
}

/// When a child is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// Always.
    Permanent,
    /// Only after an abnormal exit (not `normal` nor `shutdown`).
    Transient,
    /// Never; removed when it exits.
    Temporary,
}

/// How a child is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shutdown {
    /// `kill` at once.
    BrutalKill,
    /// `shutdown`, then `kill` after this long (default 5,000 ms for workers).
    Timeout(Duration),
    /// `shutdown`, and wait as long as it takes (the default for supervisors).
    Infinity,
}

impl std::fmt::Display for Shutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shutdown::BrutalKill => f.write_str("brutal_kill"),
            Shutdown::Timeout(timeout) => write!(f, "{}", timeout.as_millis()),
            Shutdown::Infinity => f.write_str("infinity"),
        }
    }
}

/// A supervisor's flags, changeable at runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Flags {
    pub strategy: Strategy,
    /// Restarts allowed within `period` (OTP `intensity`, default 1).
    pub intensity: u32,
    /// Default 5 s.
    pub period: Duration,
}

impl Default for Flags {
    fn default() -> Flags {
        Flags {
            strategy: Strategy::OneForOne,
            intensity: 1,
            period: Duration::from_secs(5),
        }
    }
}

/// How to start a child.
#[derive(Clone)]
pub enum ChildStart {
    Worker {
        code: Arc<WorkerCode>,
        args: String,
        name: Option<String>,
    },
    Supervisor(SupervisorSpec),
    /// A protected host service.
    Service(ServiceSpec),
}

/// One child of a supervisor.
#[derive(Clone)]
pub struct ChildSpec {
    pub id: String,
    pub start: ChildStart,
    pub restart: Restart,
    pub shutdown: Shutdown,
}

impl ChildSpec {
    /// A permanent worker child with the default shutdown of 5 s.
    pub fn worker(id: &str, code: Arc<WorkerCode>, args: &str) -> ChildSpec {
        ChildSpec {
            id: id.to_owned(),
            start: ChildStart::Worker {
                code,
                args: args.to_owned(),
                name: None,
            },
            restart: Restart::Permanent,
            shutdown: Shutdown::Timeout(Duration::from_secs(5)),
        }
    }

    /// A permanent supervisor child, waited for without limit when stopped.
    pub fn supervisor(id: &str, spec: SupervisorSpec) -> ChildSpec {
        ChildSpec {
            id: id.to_owned(),
            start: ChildStart::Supervisor(spec),
            restart: Restart::Permanent,
            shutdown: Shutdown::Infinity,
        }
    }
}

/// A supervisor to start.
#[derive(Clone, Default)]
pub struct SupervisorSpec {
    pub name: Option<String>,
    pub flags: Flags,
    pub children: Vec<ChildSpec>,
    /// The sandbox the tree runs in; its children inherit it.
    pub sandbox: Option<Arc<Sandbox>>,
}

/// A child as `which_children` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct ChildInfo {
    pub id: String,
    /// None while not running (a transient child that exited normally, say).
    pub pid: Option<String>,
    pub kind: &'static str,
    /// The worker component, for worker children.
    pub worker: Option<String>,
    pub restart: Restart,
    pub shutdown: Shutdown,
    pub restarts: u32,
}

/// A supervisor's own facts, for listings.
#[derive(Debug, Clone, Serialize)]
pub struct SupervisorSummary {
    pub flags: Flags,
    /// Children declared, and those running now.
    pub children: usize,
    pub active: usize,
    /// Entries in its restart history.
    pub restarts: usize,
}

/// One restart, for `restart_history`.
#[derive(Debug, Clone, Serialize)]
pub struct RestartRecord {
    pub at_unix_ms: u64,
    pub child: String,
    pub old_pid: String,
    pub new_pid: Option<String>,
    pub reason: ExitReason,
}

/// A restart as the supervisor keeps it: its pids are written out when the history is
/// asked for, keeping the formatting off the restart path.
struct Restarted {
    at: SystemTime,
    child: String,
    old: Pid,
    new: Option<Pid>,
    reason: ExitReason,
}

impl Restarted {
    fn record(&self) -> RestartRecord {
        RestartRecord {
            at_unix_ms: unix_ms(self.at),
            child: self.child.clone(),
            old_pid: self.old.to_string(),
            new_pid: self.new.as_ref().map(Pid::to_string),
            reason: self.reason.clone(),
        }
    }
}

/// Why a supervisor request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupervisorError {
    #[error("no supervisor {0}")]
    NoSupervisor(String),
    #[error("no child `{0}`")]
    NoChild(String),
    #[error("a child `{0}` already exists")]
    ChildExists(String),
    #[error("child `{0}` is running; terminate it first")]
    Running(String),
    #[error("failed to start child `{0}`: {1}")]
    Start(String, SpawnError),
}

pub(crate) enum Command {
    WhichChildren(oneshot::Sender<Vec<ChildInfo>>),
    Summary(oneshot::Sender<SupervisorSummary>),
    Flags(oneshot::Sender<Flags>),
    SetFlags(Flags, oneshot::Sender<()>),
    History(oneshot::Sender<Vec<RestartRecord>>),
    AddChild(
        ChildSpec,
        oneshot::Sender<Result<Option<Pid>, SupervisorError>>,
    ),
    TerminateChild(String, oneshot::Sender<Result<(), SupervisorError>>),
    RestartChild(
        String,
        oneshot::Sender<Result<Option<Pid>, SupervisorError>>,
    ),
    DeleteChild(String, oneshot::Sender<Result<(), SupervisorError>>),
    SwapCode(Arc<WorkerCode>, oneshot::Sender<usize>),
}

/// A way to ask a supervisor things.
#[derive(Clone)]
pub struct SupervisorHandle {
    pid: Pid,
    commands: mpsc::UnboundedSender<Command>,
    /// Restarts since it started, counted by the supervisor; read or waited for without
    /// asking it.
    restarted: watch::Receiver<u64>,
}

impl SupervisorHandle {
    pub fn pid(&self) -> &Pid {
        &self.pid
    }

    /// Children restarted since the supervisor started (each restart recorded in its
    /// history, which keeps only the last ones, counts here for good).
    pub fn restarts_total(&self) -> u64 {
        *self.restarted.borrow()
    }

    /// Resolves once `restarts_total` reaches `count`. A restart counts once its child
    /// runs again (started, `init` done, in the kernel, taking messages), or once it has
    /// failed to start, which ends the supervisor. Fails when the supervisor exits first.
    pub async fn restarted(&self, count: u64) -> Result<(), SupervisorError> {
        self.restarted
            .clone()
            .wait_for(|restarts| *restarts >= count)
            .await
            .map(drop)
            .map_err(|_| SupervisorError::NoSupervisor(self.pid.to_string()))
    }

    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SupervisorError> {
        let gone = || SupervisorError::NoSupervisor(self.pid.to_string());
        let (reply, answer) = oneshot::channel();
        self.commands.send(command(reply)).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())
    }

    pub async fn which_children(&self) -> Result<Vec<ChildInfo>, SupervisorError> {
        self.ask(Command::WhichChildren).await
    }

    pub async fn summary(&self) -> Result<SupervisorSummary, SupervisorError> {
        self.ask(Command::Summary).await
    }

    pub async fn flags(&self) -> Result<Flags, SupervisorError> {
        self.ask(Command::Flags).await
    }

    pub async fn set_flags(&self, flags: Flags) -> Result<(), SupervisorError> {
        self.ask(|reply| Command::SetFlags(flags, reply)).await
    }

    pub async fn history(&self) -> Result<Vec<RestartRecord>, SupervisorError> {
        self.ask(Command::History).await
    }

    pub async fn add_child(&self, spec: ChildSpec) -> Result<Option<Pid>, SupervisorError> {
        self.ask(|reply| Command::AddChild(spec, reply)).await?
    }

    pub async fn terminate_child(&self, id: &str) -> Result<(), SupervisorError> {
        self.ask(|reply| Command::TerminateChild(id.to_owned(), reply))
            .await?
    }

    pub async fn restart_child(&self, id: &str) -> Result<Option<Pid>, SupervisorError> {
        self.ask(|reply| Command::RestartChild(id.to_owned(), reply))
            .await?
    }

    /// Make worker children running a worker of the same name start `code` from now on;
    /// returns how many specs changed (nested supervisors are asked separately).
    pub async fn swap_code(&self, code: Arc<WorkerCode>) -> Result<usize, SupervisorError> {
        self.ask(|reply| Command::SwapCode(code, reply)).await
    }

    pub async fn delete_child(&self, id: &str) -> Result<(), SupervisorError> {
        self.ask(|reply| Command::DeleteChild(id.to_owned(), reply))
            .await?
    }
}

struct Child {
    spec: ChildSpec,
    pid: Option<Pid>,
    restarts: u32,
}

/// The supervisors running on a kernel, by pid, and what they start children with.
pub(crate) struct Supervisors {
    spawner: Arc<Spawner>,
    by_pid: RwLock<HashMap<Pid, SupervisorHandle>>,
}

impl Supervisors {
    pub(crate) fn new(spawner: Arc<Spawner>) -> Supervisors {
        Supervisors {
            spawner,
            by_pid: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn kernel(&self) -> &Arc<Kernel> {
        &self.spawner.kernel
    }

    pub(crate) fn spawner(&self) -> &Arc<Spawner> {
        &self.spawner
    }

    /// Start a supervisor tree.
    pub(crate) async fn start(
        self: &Arc<Self>,
        spec: SupervisorSpec,
    ) -> Result<SupervisorHandle, SpawnError> {
        start(self.clone(), spec, None).await
    }

    /// A supervisor by pid text or registered name.
    pub(crate) fn get(&self, target: &str) -> Result<SupervisorHandle, SendError> {
        let entry = self.kernel().entry(target)?;
        self.by_pid
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&entry.pid)
            .cloned()
            .ok_or_else(|| SendError::NoProcess(target.to_owned()))
    }

    /// Every live supervisor, ordered by pid.
    pub(crate) fn list(&self) -> Vec<SupervisorHandle> {
        let mut handles: Vec<SupervisorHandle> = self
            .by_pid
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        handles.sort_by(|a, b| a.pid().cmp(b.pid()));
        handles
    }

    fn register(&self, handle: SupervisorHandle) {
        self.by_pid
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(handle.pid().clone(), handle);
    }

    fn unregister(&self, pid: &Pid) {
        self.by_pid
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(pid);
    }
}

struct Supervisor {
    supervisors: Arc<Supervisors>,
    sandbox: Option<Arc<Sandbox>>,
    pid: Pid,
    flags: Flags,
    children: Vec<Child>,
    restarts: VecDeque<Instant>,
    history: VecDeque<Restarted>,
    restarted: watch::Sender<u64>,
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Start a supervisor and its children, in order. If a child fails to start, the ones
/// already started are stopped and the supervisor does not start.
fn start(
    supervisors: Arc<Supervisors>,
    spec: SupervisorSpec,
    link: Option<Pid>,
) -> Boxed<'static, Result<SupervisorHandle, SpawnError>> {
    Box::pin(async move {
        let kernel = supervisors.kernel().clone();
        let options = SpawnOptions {
            name: spec.name.clone(),
            link,
            trap_exit: true,
            sandbox: spec.sandbox.clone(),
        };
        let admission = kernel.admit(options.entry())?;
        let pid = kernel.next_pid();
        let program = Program {
            worker: "supervisor",
            version: env!("CARGO_PKG_VERSION"),
            args: "",
        };
        let (entry, signals) = kernel.register(pid.clone(), program, admission)?;
        // Supervisors take no messages: a send to one is refused, never left unread.
        entry.mailbox.close();
        let (commands, command_inbox) = mpsc::unbounded_channel();
        let mut supervisor = Supervisor {
            supervisors: supervisors.clone(),
            sandbox: spec.sandbox.clone(),
            pid: pid.clone(),
            flags: spec.flags,
            children: Vec::new(),
            restarts: VecDeque::new(),
            history: VecDeque::new(),
            restarted: watch::Sender::new(0),
        };
        for child in spec.children {
            let id = child.id.clone();
            match supervisor.start_child(&child, 0).await {
                Ok(pid) => supervisor.children.push(Child {
                    spec: child,
                    pid: Some(pid),
                    restarts: 0,
                }),
                Err(error) => {
                    supervisor.stop_children(0).await;
                    kernel.exited(
                        &entry,
                        ExitReason::Crash(format!("child `{id}` failed to start")),
                    );
                    return Err(error);
                }
            }
        }
        let handle = SupervisorHandle {
            pid,
            commands,
            restarted: supervisor.restarted.subscribe(),
        };
        supervisors.register(handle.clone());
        kernel
            .tasks()
            .spawn(run(supervisor, entry, signals, command_inbox));
        Ok(handle)
    })
}

async fn run(
    mut supervisor: Supervisor,
    entry: Arc<ProcessEntry>,
    mut signals: mpsc::UnboundedReceiver<Signal>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let reason = loop {
        tokio::select! {
            biased;
            signal = signals.recv() => match signal {
                None => break ExitReason::Shutdown,
                Some(Signal::Exit { from: Some(from), reason }) if supervisor.child_index(&from).is_some() => {
                    if let Err(reason) = supervisor.child_exited(&from, reason).await {
                        break reason;
                    }
                }
                // From its parent, another linked process or an operator: supervisors
                // trap exits, but a parent's or an operator's exit stops them (OTP).
                Some(Signal::Exit { reason: ExitReason::Normal, from: Some(_) }) => {}
                Some(Signal::Exit { reason, .. }) => break reason,
                Some(Signal::Suspend) => entry.set_status(Status::Suspended),
                Some(Signal::Resume) => entry.set_status(Status::Running),
                Some(other) => other.decline(),
            },
            command = commands.recv() => match command {
                None => break ExitReason::Shutdown,
                Some(command) => supervisor.command(command).await,
            },
        }
    };
    supervisor.stop_children(0).await;
    supervisor.supervisors.unregister(&supervisor.pid);
    supervisor.kernel().exited(&entry, reason);
}

impl Supervisor {
    fn kernel(&self) -> &Kernel {
        self.supervisors.kernel()
    }

    fn child_index(&self, pid: &Pid) -> Option<usize> {
        self.children
            .iter()
            .position(|child| child.pid.as_ref() == Some(pid))
    }

    /// Start a child; `restarts` is how many times it has been restarted with this start.
    async fn start_child(&self, spec: &ChildSpec, restarts: u32) -> Result<Pid, SpawnError> {
        let pid = self.spawn_child(spec).await?;
        self.kernel().set_parent(&pid, &self.pid, restarts);
        Ok(pid)
    }

    async fn spawn_child(&self, spec: &ChildSpec) -> Result<Pid, SpawnError> {
        match &spec.start {
            ChildStart::Worker { code, args, name } => {
                let options = SpawnOptions {
                    name: name.clone(),
                    link: Some(self.pid.clone()),
                    trap_exit: false,
                    sandbox: self.sandbox.clone(),
                };
                self.supervisors
                    .spawner()
                    .spawn(code.clone(), args, options)
                    .await
            }
            ChildStart::Service(service) => Ok(service::start(
                self.supervisors.kernel(),
                service,
                &self.pid,
            )?),
            ChildStart::Supervisor(child) => {
                let child = SupervisorSpec {
                    sandbox: self.sandbox.clone(),
                    ..child.clone()
                };
                start(self.supervisors.clone(), child, Some(self.pid.clone()))
                    .await
                    .map(|handle| handle.pid)
            }
        }
    }

    /// Stop one child: unlink, `shutdown`, then `kill` after its timeout.
    async fn stop_child(&mut self, index: usize) {
        let Some(pid) = self.children[index].pid.take() else {
            return;
        };
        let target = pid.to_string();
        let kernel = self.supervisors.kernel().clone();
        let _ = kernel.unlink(&self.pid.to_string(), &target);
        let Ok(exited) = kernel.await_exit(&target) else {
            return;
        };
        let first = match self.children[index].spec.shutdown {
            Shutdown::BrutalKill => ExitReason::Kill,
            _ => ExitReason::Shutdown,
        };
        let _ = kernel.exit(&target, Some(self.pid.clone()), first);
        match self.children[index].spec.shutdown {
            Shutdown::Timeout(timeout) => {
                tokio::pin!(exited);
                if tokio::time::timeout(timeout, &mut exited).await.is_err() {
                    let _ = kernel.exit(&target, Some(self.pid.clone()), ExitReason::Kill);
                    exited.await;
                }
            }
            Shutdown::BrutalKill | Shutdown::Infinity => {
                exited.await;
            }
        }
    }

    /// Stop children from `from` on, in reverse start order.
    async fn stop_children(&mut self, from: usize) {
        for index in (from..self.children.len()).rev() {
            self.stop_child(index).await;
        }
    }

    async fn child_exited(&mut self, pid: &Pid, reason: ExitReason) -> Result<(), ExitReason> {
        let index = self.child_index(pid).expect("checked by the caller");
        self.children[index].pid = None;
        let restart = match self.children[index].spec.restart {
            Restart::Permanent => true,
            Restart::Transient => !matches!(reason, ExitReason::Normal | ExitReason::Shutdown),
            Restart::Temporary => false,
        };
        if !restart {
            if self.children[index].spec.restart == Restart::Temporary {
                self.children.remove(index);
            }
            return Ok(());
        }
        // Restart intensity: more than `intensity` restarts within `period` escalate.
        let now = Instant::now();
        self.restarts.push_back(now);
        while self
            .restarts
            .front()
            .is_some_and(|at| now.duration_since(*at) > self.flags.period)
        {
            self.restarts.pop_front();
        }
        if self.restarts.len() > self.flags.intensity as usize {
            tracing::warn!(supervisor = %self.pid, "restart intensity reached; shutting down");
            return Err(ExitReason::Crash(
                "reached_max_restart_intensity".to_owned(),
            ));
        }
        let range = match self.flags.strategy {
            Strategy::OneForOne => index..index + 1,
            Strategy::OneForAll => 0..self.children.len(),
            Strategy::RestForOne => index..self.children.len(),
        };
        for other in range.clone().rev() {
            if other != index {
                self.stop_child(other).await;
            }
        }
        for other in range {
            let spec = self.children[other].spec.clone();
            let restarts = self.children[other].restarts + 1;
            match self.start_child(&spec, restarts).await {
                Ok(new_pid) => {
                    self.children[other].pid = Some(new_pid.clone());
                    self.children[other].restarts += 1;
                    if other == index {
                        self.record(&spec.id, pid, Some(&new_pid), &reason);
                    }
                }
                Err(error) => {
                    // A child that cannot be restarted counts as a crash at the level above.
                    self.record(&spec.id, pid, None, &reason);
                    return Err(ExitReason::Crash(format!(
                        "child `{}` failed to restart: {error}",
                        spec.id
                    )));
                }
            }
        }
        Ok(())
    }

    fn record(&mut self, child: &str, old: &Pid, new: Option<&Pid>, reason: &ExitReason) {
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(Restarted {
            at: SystemTime::now(),
            child: child.to_owned(),
            old: old.clone(),
            new: new.cloned(),
            reason: reason.clone(),
        });
        self.restarted.send_modify(|restarts| *restarts += 1);
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::WhichChildren(reply) => {
                let children = self
                    .children
                    .iter()
                    .map(|child| ChildInfo {
                        id: child.spec.id.clone(),
                        pid: child.pid.as_ref().map(Pid::to_string),
                        kind: match child.spec.start {
                            ChildStart::Worker { .. } => "worker",
                            ChildStart::Supervisor(_) => "supervisor",
                            ChildStart::Service(_) => "host_service",
                        },
                        worker: match &child.spec.start {
                            ChildStart::Worker { code, .. } => Some(code.name().to_owned()),
                            ChildStart::Supervisor(_) | ChildStart::Service(_) => None,
                        },
                        restart: child.spec.restart,
                        shutdown: child.spec.shutdown,
                        restarts: child.restarts,
                    })
                    .collect();
                let _ = reply.send(children);
            }
            Command::Summary(reply) => {
                let _ = reply.send(SupervisorSummary {
                    flags: self.flags,
                    children: self.children.len(),
                    active: self.children.iter().filter(|c| c.pid.is_some()).count(),
                    restarts: self.history.len(),
                });
            }
            Command::Flags(reply) => {
                let _ = reply.send(self.flags);
            }
            Command::SetFlags(flags, reply) => {
                self.flags = flags;
                let _ = reply.send(());
            }
            Command::History(reply) => {
                let _ = reply.send(self.history.iter().map(Restarted::record).collect());
            }
            Command::AddChild(spec, reply) => {
                if self.children.iter().any(|child| child.spec.id == spec.id) {
                    let _ = reply.send(Err(SupervisorError::ChildExists(spec.id)));
                    return;
                }
                let result = match self.start_child(&spec, 0).await {
                    Ok(pid) => {
                        self.children.push(Child {
                            spec,
                            pid: Some(pid.clone()),
                            restarts: 0,
                        });
                        Ok(Some(pid))
                    }
                    Err(error) => Err(SupervisorError::Start(spec.id, error)),
                };
                let _ = reply.send(result);
            }
            Command::TerminateChild(id, reply) => {
                let result = match self.children.iter().position(|child| child.spec.id == id) {
                    Some(index) => {
                        self.stop_child(index).await;
                        if self.children[index].spec.restart == Restart::Temporary {
                            self.children.remove(index);
                        }
                        Ok(())
                    }
                    None => Err(SupervisorError::NoChild(id)),
                };
                let _ = reply.send(result);
            }
            Command::RestartChild(id, reply) => {
                let result = match self.children.iter().position(|child| child.spec.id == id) {
                    None => Err(SupervisorError::NoChild(id)),
                    Some(index) => {
                        let old = self.children[index].pid.clone();
                        self.stop_child(index).await;
                        let spec = self.children[index].spec.clone();
                        let restarts = self.children[index].restarts + 1;
                        match self.start_child(&spec, restarts).await {
                            Ok(pid) => {
                                self.children[index].pid = Some(pid.clone());
                                self.children[index].restarts += 1;
                                if let Some(old) = old {
                                    self.record(&spec.id, &old, Some(&pid), &ExitReason::Shutdown);
                                }
                                Ok(Some(pid))
                            }
                            Err(error) => Err(SupervisorError::Start(id, error)),
                        }
                    }
                };
                let _ = reply.send(result);
            }
            Command::SwapCode(new, reply) => {
                let mut swapped = 0;
                for child in &mut self.children {
                    if let ChildStart::Worker { code, .. } = &mut child.spec.start
                        && code.name() == new.name()
                    {
                        *code = new.clone();
                        swapped += 1;
                    }
                }
                let _ = reply.send(swapped);
            }
            Command::DeleteChild(id, reply) => {
                let result = match self.children.iter().position(|child| child.spec.id == id) {
                    None => Err(SupervisorError::NoChild(id)),
                    Some(index) if self.children[index].pid.is_some() => {
                        Err(SupervisorError::Running(id))
                    }
                    Some(index) => {
                        self.children.remove(index);
                        Ok(())
                    }
                };
                let _ = reply.send(result);
            }
        }
    }
}
