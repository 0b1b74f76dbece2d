//! What reaches a process: events through its mailbox (messages, calls, timers, linked
//! exits, downs), control signals ahead of them (exit, suspend, resume), and requests for
//! the program it runs, which the kernel passes through without knowing them.

use std::any::Any;

use tokio::sync::oneshot;

use super::Pid;

/// What a process receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Message {
        from: Option<Pid>,
        payload: String,
    },
    Call {
        from: Option<Pid>,
        payload: String,
    },
    Timer {
        id: u64,
        payload: String,
    },
    /// A linked process exited (delivered to processes that trap exits).
    Exit {
        from: Pid,
        reason: ExitReason,
    },
    /// A monitored process exited.
    Down {
        from: Pid,
        reason: ExitReason,
    },
}

/// Why a process exited, following OTP.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum ExitReason {
    /// Finished its work.
    Normal,
    /// Stopped by its supervisor or an operator.
    Shutdown,
    /// Killed unconditionally; cannot be trapped.
    Kill,
    /// Crashed, with why.
    Crash(String),
}

impl std::fmt::Display for ExitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitReason::Normal => f.write_str("normal"),
            ExitReason::Shutdown => f.write_str("shutdown"),
            ExitReason::Kill => f.write_str("killed"),
            ExitReason::Crash(reason) => write!(f, "crashed: {reason}"),
        }
    }
}

/// A queued event, with where to send the reply of a call.
pub struct Envelope {
    pub event: Event,
    pub reply: Option<Reply>,
}

/// Where a call's answer goes.
pub(crate) type Reply = oneshot::Sender<Result<String, ExitReason>>;

/// A request for the program a process runs (a worker's state, hibernation or code),
/// delivered in order with the other signals. The layer that defines it reads it back
/// by its type; every other program declines it.
pub(crate) trait Request: Any + Send {
    /// Answer on behalf of a program that takes no such request (a supervisor, a host
    /// service).
    fn decline(self: Box<Self>);
}

impl dyn Request {
    /// The request as an `R`, or back as it was when it is another kind.
    pub(crate) fn take<R: Request>(self: Box<Self>) -> Result<Box<R>, Box<dyn Request>> {
        if (&*self as &dyn Any).is::<R>() {
            let any: Box<dyn Any + Send> = self;
            Ok(any.downcast().expect("checked to be an R"))
        } else {
            Err(self)
        }
    }
}

/// Control signals, handled before messages and never dropped.
pub(crate) enum Signal {
    Exit {
        from: Option<Pid>,
        reason: ExitReason,
    },
    Suspend,
    Resume,
    Request(Box<dyn Request>),
}

impl Signal {
    /// Answer a request on behalf of a program that takes none. Exit, suspend and resume
    /// are for the caller's own loop, which handles them before it gets here.
    pub(crate) fn decline(self) {
        if let Signal::Request(request) = self {
            request.decline();
        }
    }
}
