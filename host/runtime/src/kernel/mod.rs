//! The process kernel: pids, the table of live processes and their names, mailboxes,
//! links, monitors, timers and exit signals, after OTP. It knows nothing of what runs in a
//! process: workers, supervisors, host services and sandboxes are built above it on
//! admit/register/exit, and reach into it only through two hooks — the group a process
//! counts against ([`ProcessGroup`], a sandbox) and the observers watching it
//! ([`Observer`], traces and profiles) — and requests it passes through ([`Request`]).

mod entry;
mod group;
mod handle;
mod mailbox;
mod observer;
mod pid;
mod signal;
mod table;

pub(crate) use entry::unix_ms;
pub use entry::{ProcessEntry, ProcessInfo, SendError, Status};
pub(crate) use group::ProcessGroup;
pub(crate) use handle::ProcessHandle;
pub(crate) use mailbox::describe_event;
pub use mailbox::{Mailbox, QueuedMessage};
pub(crate) use observer::Observer;
pub use observer::TraceKind;
pub use pid::{Pid, PidError, is_valid_name};
pub use signal::{Envelope, Event, ExitReason};
pub(crate) use signal::{Reply, Request, Signal};
pub(crate) use table::{EntryOptions, Program, RegisterError};
pub use table::{Kernel, MailboxView};
