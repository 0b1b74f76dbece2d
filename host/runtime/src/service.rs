//! Host services as processes: the host's own parts (HTTP server, operation registry,
//! engine and epoch ticker, compile cache, worker engine, process table) appear as
//! protected processes under a root supervisor `arsenal`. Each answers a call with live
//! facts about its service (any payload; `status` by convention). Operators can see and
//! message them but not kill, suspend, hibernate or restart them, nor reshape their tree
//! (403 `critical_process_protection`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;

use super::Pid;
use super::process::{ProcessEntry, Signal, Status};
use super::supervisor::{ChildSpec, ChildStart, Restart, Shutdown, SupervisorSpec};
use super::table::{ProcessTable, Program, SpawnError, SpawnOptions};
use super::worker::{Event, ExitReason};

/// Live facts about one service, as JSON.
pub type Probe = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// A host service to run as a process.
#[derive(Clone)]
pub struct ServiceSpec {
    /// Its registered name, e.g. `arsenal.registry`.
    pub name: String,
    pub probe: Probe,
}

/// The name of the root supervisor of the host's services.
pub const HOST_TREE: &str = "arsenal";

impl ProcessTable {
    /// Start the root tree of host services; its processes are protected.
    pub async fn start_host_tree(
        self: &Arc<Self>,
        services: Vec<ServiceSpec>,
    ) -> Result<Pid, SpawnError> {
        let children = services
            .into_iter()
            .map(|service| ChildSpec {
                id: service.name.trim_start_matches("arsenal.").to_owned(),
                start: ChildStart::Service(service),
                restart: Restart::Permanent,
                shutdown: Shutdown::BrutalKill,
            })
            .collect();
        let spec = SupervisorSpec {
            name: Some(HOST_TREE.to_owned()),
            children,
            ..SupervisorSpec::default()
        };
        let handle = self.start_supervisor(spec).await?;
        if let Some(entry) = self.entry_by_pid(handle.pid()) {
            entry.protected.store(true, Ordering::Release);
        }
        Ok(handle.pid().clone())
    }

    /// Start one service process linked to its supervisor.
    pub(crate) async fn start_service(
        self: &Arc<Self>,
        service: &ServiceSpec,
        supervisor: &Pid,
    ) -> Result<Pid, SpawnError> {
        let options = SpawnOptions {
            name: Some(service.name.clone()),
            link: Some(supervisor.clone()),
            ..SpawnOptions::default()
        };
        let (link, admission) = self.check_spawn(&options)?;
        let pid = self.next_pid();
        let program = Program {
            worker: "host_service",
            version: env!("CARGO_PKG_VERSION"),
            args: "",
        };
        let (entry, signals) = self.register(pid.clone(), program, options, link, admission)?;
        entry.protected.store(true, Ordering::Release);
        self.tasks()
            .spawn(run(self.clone(), entry, signals, service.probe.clone()));
        Ok(pid)
    }

    /// Whether a process is a protected host service (or the host tree).
    pub fn is_protected(&self, target: &str) -> bool {
        self.entry(target)
            .is_ok_and(|entry| entry.protected.load(Ordering::Acquire))
    }
}

/// A service process: answers calls with its probe, and exits only when its supervisor
/// (or the host's shutdown) stops it.
async fn run(
    table: Arc<ProcessTable>,
    entry: Arc<ProcessEntry>,
    mut signals: mpsc::UnboundedReceiver<Signal>,
    probe: Probe,
) {
    let reason = loop {
        tokio::select! {
            biased;
            signal = signals.recv() => match signal {
                None => break ExitReason::Shutdown,
                // Only its supervisor (a linked exit) or the host reaches here: operators'
                // signals are refused by the table before they are sent.
                Some(Signal::Exit { reason: ExitReason::Normal, from: Some(_) }) => {}
                Some(Signal::Exit { reason, .. }) => break reason,
                // Suspend and resume are refused by the table before they are sent.
                Some(other) => other.answer_stateless(),
            },
            envelope = entry.mailbox.recv() => {
                let Some(envelope) = envelope else { break ExitReason::Shutdown };
                entry.counters.handle_calls.fetch_add(1, Ordering::Relaxed);
                if let (Event::Call { .. }, Some(reply)) = (&envelope.event, envelope.reply) {
                    entry.counters.messages_out.fetch_add(1, Ordering::Relaxed);
                    let _ = reply.send(Ok(probe().to_string()));
                }
            }
        }
    };
    entry.set_status(Status::Exiting);
    for envelope in entry.mailbox.close() {
        if let Some(reply) = envelope.reply {
            let _ = reply.send(Err(reason.clone()));
        }
    }
    table.exited(&entry, reason);
}
