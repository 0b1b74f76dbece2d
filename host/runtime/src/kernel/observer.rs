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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// Keeps `wanted` events, then asks to be detached; counts what it is told.
    #[derive(Default)]
    struct Counting {
        wanted: usize,
        per_message: bool,
        events: AtomicUsize,
        handled: AtomicUsize,
        exited: AtomicBool,
    }

    impl Observer for Counting {
        fn event(&self, _kind: TraceKind, detail: &dyn Fn() -> String) -> bool {
            assert_eq!(detail(), "detail");
            self.events.fetch_add(1, Ordering::Relaxed) + 1 < self.wanted
        }

        fn per_message(&self) -> bool {
            self.per_message
        }

        fn handled(&self, _event: &Event, _took: Duration, _memory_growth: u64) {
            self.handled.fetch_add(1, Ordering::Relaxed);
        }

        fn exited(&self) {
            self.exited.store(true, Ordering::Relaxed);
        }
    }

    #[test]
    fn an_observer_that_wants_no_more_events_is_detached() {
        let observers = Observers::default();
        let trace = Arc::new(Counting {
            wanted: 2,
            ..Counting::default()
        });
        assert!(observers.attach(trace.clone()));
        for _ in 0..5 {
            observers.record(TraceKind::Send, || "detail".to_owned());
        }
        assert_eq!(trace.events.load(Ordering::Relaxed), 2);
        // Nobody watches now: details are not even built.
        observers.record(TraceKind::Send, || unreachable!("nobody watches"));
    }

    #[test]
    fn one_per_message_observer_at_a_time_and_all_told_of_the_exit() {
        let observers = Observers::default();
        let profile = || {
            Arc::new(Counting {
                wanted: usize::MAX,
                per_message: true,
                ..Counting::default()
            })
        };
        let (first, second) = (profile(), profile());
        assert!(!observers.per_message());
        assert!(observers.attach(first.clone()));
        assert!(!observers.attach(second.clone()));
        assert!(observers.per_message());
        let event = Event::Timer {
            id: 1,
            payload: String::new(),
        };
        observers.handled(&event, Duration::from_millis(1), 0);
        assert_eq!(first.handled.load(Ordering::Relaxed), 1);
        let first: Arc<dyn Observer> = first;
        observers.detach(&first);
        assert!(!observers.per_message());
        assert!(observers.attach(second.clone()));
        observers.close();
        assert!(second.exited.load(Ordering::Relaxed));
        assert!(!observers.per_message());
    }
}
