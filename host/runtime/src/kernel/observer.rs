//! The hook tracing and profiling hang on: observers attached to a process hear its
//! events (sent, received, lifecycle, host calls), the messages it handled and its exit.
//! The kernel and the programs running on it report; what an observer keeps is its own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Event;

/// Kinds of observed event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceKind {
    Send,
    Receive,
    Lifecycle,
    HostCall,
}

impl TraceKind {
    pub fn name(self) -> &'static str {
        match self {
            TraceKind::Send => "send",
            TraceKind::Receive => "receive",
            TraceKind::Lifecycle => "lifecycle",
            TraceKind::HostCall => "host_call",
        }
    }
}

/// Something watching one process.
pub(crate) trait Observer: Send + Sync {
    /// An event of the process; `detail` is built only when wanted. False once the
    /// observer wants no more events, which detaches it.
    fn event(&self, kind: TraceKind, detail: &dyn Fn() -> String) -> bool;

    /// Whether the process should handle one message per call while watched, so each is
    /// timed alone (a profile).
    fn per_message(&self) -> bool {
        false
    }

    /// One message handled alone: how long it took and how much memory grew.
    fn handled(&self, _event: &Event, _took: Duration, _memory_growth: u64) {}

    /// The process exited.
    fn exited(&self);
}

/// The observers of one process.
#[derive(Default)]
pub(crate) struct Observers {
    /// Set while any observer is attached (checked on every event).
    watched: AtomicBool,
    /// Set while a per-message observer is attached.
    per_message: AtomicBool,
    list: Mutex<Vec<Arc<dyn Observer>>>,
}

impl Observers {
    fn list(&self) -> std::sync::MutexGuard<'_, Vec<Arc<dyn Observer>>> {
        self.list.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, list: &[Arc<dyn Observer>]) {
        self.watched.store(!list.is_empty(), Ordering::Release);
        self.per_message.store(
            list.iter().any(|observer| observer.per_message()),
            Ordering::Release,
        );
    }

    /// Attach an observer; false for a per-message one while another is attached (one
    /// profile at a time).
    pub(crate) fn attach(&self, observer: Arc<dyn Observer>) -> bool {
        let mut list = self.list();
        if observer.per_message() && list.iter().any(|other| other.per_message()) {
            return false;
        }
        list.push(observer);
        self.update(&list);
        true
    }

    /// Detach an observer, if attached.
    pub(crate) fn detach(&self, observer: &Arc<dyn Observer>) {
        let mut list = self.list();
        list.retain(|other| !Arc::ptr_eq(other, observer));
        self.update(&list);
    }

    /// Whether messages are to be handled one per call.
    pub(crate) fn per_message(&self) -> bool {
        self.per_message.load(Ordering::Acquire)
    }

    /// Tell every observer of an event; `detail` is only built when one wants it.
    pub(crate) fn record(&self, kind: TraceKind, detail: impl Fn() -> String) {
        if !self.watched.load(Ordering::Acquire) {
            return;
        }
        let mut list = self.list();
        let before = list.len();
        list.retain(|observer| observer.event(kind, &detail));
        if list.len() != before {
            self.update(&list);
        }
    }

    /// Tell the per-message observers of one handled message.
    pub(crate) fn handled(&self, event: &Event, took: Duration, memory_growth: u64) {
        if !self.per_message() {
            return;
        }
        for observer in self.list().iter() {
            observer.handled(event, took, memory_growth);
        }
    }

    /// The process exited: every observer is told and detached.
    pub(crate) fn close(&self) {
        let list = std::mem::take(&mut *self.list());
        self.update(&[]);
        for observer in list {
            observer.exited();
        }
    }
}
