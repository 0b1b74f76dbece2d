//! The runtime: long-lived wasm processes. Pids, the worker lifecycle on the workers' own
//! engine (start, handle, hibernate, wake), and the process table with mailboxes, links,
//! monitors and OTP exit signals. Supervisors and sandboxes build on these.

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
mod supervisor;
mod table;
mod trace;
mod worker;

pub(crate) use imports::ProcessContext;
pub use inspection::{MailboxView, RestartError, Restarted};
pub use mailbox::QueuedMessage;
pub use pid::is_valid_name;
pub use pid::{Pid, PidError};
pub(crate) use process::Envelope;
pub use process::{ProcessInfo, SendError, Status};
pub use reload::{Reloaded, RunOutcome};
pub use sandbox::{
    DEFAULT_MAX_SANDBOXES, Destroyed, LimitsDocument, PolicyDocument, Sandbox, SandboxError,
    SandboxLimits, SandboxPolicy, SandboxUsage,
};
pub use service::{HOST_TREE, Probe, ServiceSpec};
pub use spec_document::{SpecError, checked_flags, child_spec, supervisor_spec};
pub use supervisor::{
    ChildInfo, ChildSpec, ChildStart, Flags, Restart, RestartRecord, Shutdown, Strategy,
    SupervisorError, SupervisorHandle, SupervisorSpec, SupervisorSummary,
};
pub use table::{ProcessTable, SpawnError, SpawnOptions, TableLimits};
pub use trace::{
    KindProfile, Profile, Trace, TraceError, TraceEvent, TraceKind, TraceOptions, TraceStatus,
};
pub use worker::{
    Event, ExitReason, Hibernated, Loaded, Worker, WorkerCode, WorkerEngine, WorkerError,
    WorkerLimits, supported_contract as supported_worker_contract,
};
