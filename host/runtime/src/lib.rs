//! Arsenal's process runtime: long-lived wasm processes. A process kernel (`kernel`: pids,
//! the process table, mailboxes, links, monitors, timers and OTP exit signals) that knows
//! nothing of what runs in a process; worker processes (the worker lifecycle on the
//! workers' own engine: start, handle, hibernate, wake) on it; supervisors, sandboxes and
//! traces as libraries above both; and `ProcessTable`, the runtime assembled. It sits on
//! `arsenal-engine` and knows nothing of operations, HTTP or the cluster.

mod cpu_time;
mod imports;
mod kernel;
mod process;
mod reload;
mod residency;
mod restart;
mod sandbox;
mod sandboxes;
mod service;
mod spec_document;
mod state;
mod supervisor;
mod table;
mod trace;
mod worker;
mod worker_code;

pub use kernel::{
    Envelope, Event, ExitReason, Kernel, Mailbox, MailboxView, Pid, PidError, ProcessEntry,
    ProcessInfo, QueuedMessage, SendError, Status, TraceKind, is_valid_name,
};
pub use process::{SpawnError, SpawnOptions};
pub use reload::{Reloaded, RunOutcome};
pub use restart::{RestartError, Restarted};
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
pub use table::{ProcessTable, TableLimits};
pub use trace::{KindProfile, Profile, Trace, TraceError, TraceEvent, TraceOptions, TraceStatus};
pub use worker::{Hibernated, Worker, WorkerEngine, WorkerError, WorkerLimits};
pub use worker_code::{WorkerCode, WorkerSet, supported_contract as supported_worker_contract};
