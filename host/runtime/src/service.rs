//! Host services as processes: the host's own parts (HTTP server, operation registry,
//! engine and epoch ticker, compile cache, worker engine, process table) appear as
//! protected processes under a root supervisor `arsenal`. Each answers a call with live
//! facts about its service (any payload; `status` by convention). Operators can see and
//! message them but not kill, suspend, hibernate or restart them, nor reshape their tree
//! (403 `critical_process_protection`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;

use crate::kernel::{
    EntryOptions, Event, ExitReason, Kernel, Pid, ProcessEntry, Program, RegisterError, Signal,
    Status,
};

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

/// Start one service process linked to its supervisor; it is protected.
pub(crate) fn start(
    kernel: &Arc<Kernel>,
    service: &ServiceSpec,
    supervisor: &Pid,
) -> Result<Pid, RegisterError> {
    let options = EntryOptions {
        name: Some(service.name.clone()),
        link: Some(supervisor.clone()),
        ..EntryOptions::default()
    };
    let admission = kernel.admit(options)?;
    let pid = kernel.next_pid();
    let program = Program {
        worker: "host_service",
        version: env!("CARGO_PKG_VERSION"),
        args: "",
    };
    let (entry, signals) = kernel.register(pid.clone(), program, admission)?;
    entry.protect();
    kernel
        .tasks()
        .spawn(run(kernel.clone(), entry, signals, service.probe.clone()));
    Ok(pid)
}

/// A service process: answers calls with its probe, and exits only when its supervisor
/// (or the host's shutdown) stops it.
async fn run(
    kernel: Arc<Kernel>,
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
                // signals are refused by the kernel before they are sent.
                Some(Signal::Exit { reason: ExitReason::Normal, from: Some(_) }) => {}
                Some(Signal::Exit { reason, .. }) => break reason,
                // Suspend and resume are refused by the kernel before they are sent.
                Some(other) => other.decline(),
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
    kernel.exited(&entry, reason);
}
