//! Arsenal's process runtime: long-lived wasm processes. Pids, the worker lifecycle on the
//! workers' own engine (start, handle, hibernate, wake), and the process table with
//! mailboxes, links, monitors and OTP exit signals. Supervisors, sandboxes and traces
//! build on these. It sits on `arsenal-engine` and knows nothing of operations, HTTP or
//! the cluster.

mod cpu_time;
mod imports;
mod inspection;
mod mailbox;
mod pid;
mod process;
mod reload;
mod sandbox;
mod service;
mod spec_document;
mod state;
mod supervisor;
mod table;
mod trace;
mod worker;
mod worker_code;

pub use inspection::{MailboxView, RestartError, Restarted};
pub use mailbox::{Mailbox, QueuedMessage};
pub use pid::is_valid_name;
pub use pid::{Pid, PidError};
pub use process::Envelope;
pub use process::{ProcessEntry, ProcessInfo, SendError, Status};
pub use reload::{Reloaded, RunOutcome};
pub use sandbox::{
    DEFAULT_MAX_SANDBOXES, Destroyed, LimitsDocument, PolicyDocument, Sandbox, SandboxError,
    SandboxLimits, SandboxPolicy, SandboxUsage,
};
pub use service::{HOST_TREE, Probe, ServiceSpec};
pub use spec_document::{SpecError, checked_flags, child_spec, supervisor_spec};
pub(crate) use state::ProcessContext;
pub use supervisor::{
    ChildInfo, ChildSpec, ChildStart, Flags, Restart, RestartRecord, Shutdown, Strategy,
    SupervisorError, SupervisorHandle, SupervisorSpec, SupervisorSummary,
};
pub use table::{ProcessTable, SpawnError, SpawnOptions, TableLimits};
pub use trace::{
    KindProfile, Profile, Trace, TraceError, TraceEvent, TraceKind, TraceOptions, TraceStatus,
};
pub use worker::{Event, ExitReason, Hibernated, Worker, WorkerEngine, WorkerError, WorkerLimits};
pub use worker_code::{WorkerCode, WorkerSet, supported_contract as supported_worker_contract};
