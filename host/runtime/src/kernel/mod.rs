//! The process kernel: pids, the table of live processes and their names, mailboxes,
//! links, monitors, timers and exit signals, after OTP. It knows nothing of what runs in a
//! process: workers, supervisors and host services run on its admit, register and exit;
//! sandboxes and traces plug into its two hooks, the group a process counts against
//! ([`ProcessGroup`]) and the observers told of its events ([`Observer`]); requests for
//! a process's program pass through it unread ([`Request`]). A worker's store reaches it
//! only through its process's [`ProcessHandle`].

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
