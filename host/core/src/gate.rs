//! The instance gate: a cap on the operation instances alive at once, and how many are in
//! use. Every call takes a slot before it gets an instance, fresh or warm (503 when none
//! frees up in time).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::Notify;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Caps concurrent instances and reports how many are in use.
///
/// The count is an atomic and waiters are woken only when someone waits: taking and
/// returning a slot is on every call's path, and a watch channel there cost a lock and a
/// notification per change whether or not anyone listened.
#[derive(Debug)]
pub struct InstanceGate {
    semaphore: Arc<Semaphore>,
    max: u32,
    in_use: AtomicU32,
    /// Callers of `busy_at_least`/`settled_at` now waiting.
    watchers: AtomicU32,
    changed: Notify,
}

/// One instance slot; released on drop, also when a call is cancelled.
pub(crate) struct InstancePermit {
    _permit: OwnedSemaphorePermit,
    gate: Arc<InstanceGate>,
}

impl Drop for InstancePermit {
    fn drop(&mut self) {
        self.gate.in_use.fetch_sub(1, Ordering::SeqCst);
        self.gate.announce();
    }
}

impl InstanceGate {
    pub(crate) fn new(max: u32) -> Arc<InstanceGate> {
        Arc::new(InstanceGate {
            semaphore: Arc::new(Semaphore::new(max as usize)),
            max,
            in_use: AtomicU32::new(0),
            watchers: AtomicU32::new(0),
            changed: Notify::new(),
        })
    }

    pub(crate) fn try_acquire(self: &Arc<Self>) -> Option<InstancePermit> {
        let permit = self.semaphore.clone().try_acquire_owned().ok()?;
        self.in_use.fetch_add(1, Ordering::SeqCst);
        self.announce();
        Some(InstancePermit {
            _permit: permit,
            gate: self.clone(),
        })
    }

    /// Wake waiters, if any. Counts and watchers are read and written `SeqCst`: a waiter
    /// registers and then reads the count, a changer writes the count and then reads the
    /// watchers, and at least one of them must see the other.
    fn announce(&self) {
        if self.watchers.load(Ordering::SeqCst) > 0 {
            self.changed.notify_waiters();
        }
    }

    /// Instances serving calls now.
    pub fn in_use(&self) -> u32 {
        self.in_use.load(Ordering::SeqCst)
    }

    pub fn max(&self) -> u32 {
        self.max
    }

    /// Resolves once at least `count` instances are in use.
    pub async fn busy_at_least(&self, count: u32) {
        self.wait_until(|in_use| in_use >= count).await;
    }

    /// Resolves once at most `count` instances are in use.
    pub async fn settled_at(&self, count: u32) {
        self.wait_until(|in_use| in_use <= count).await;
    }

    async fn wait_until(&self, reached: impl Fn(u32) -> bool) {
        let _watching = Watching::start(&self.watchers);
        loop {
            // Registered before the count is read, so a change in between still wakes us.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if reached(self.in_use()) {
                return;
            }
            changed.await;
        }
    }
}

/// One waiter counted in `InstanceGate::watchers`, uncounted when it stops waiting —
/// also when its wait is cancelled (a timeout around it), or every later call would go
/// on notifying nobody.
struct Watching<'a>(&'a AtomicU32);

impl<'a> Watching<'a> {
    fn start(watchers: &'a AtomicU32) -> Watching<'a> {
        watchers.fetch_add(1, Ordering::SeqCst);
        Watching(watchers)
    }
}

impl Drop for Watching<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_gate_wakes_its_waiters_and_forgets_cancelled_ones() {
        let gate = InstanceGate::new(2);
        let first = gate.try_acquire().expect("a free slot");
        let cancelled = tokio::time::timeout(Duration::from_millis(1), gate.busy_at_least(2));
        assert!(cancelled.await.is_err(), "one of two is in use");
        assert_eq!(
            gate.watchers.load(Ordering::SeqCst),
            0,
            "a cancelled wait is uncounted"
        );

        let waiting = gate.settled_at(0);
        tokio::pin!(waiting);
        assert!(futures::poll!(&mut waiting).is_pending());
        assert_eq!(gate.watchers.load(Ordering::SeqCst), 1);
        drop(first);
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("woken when the slot is returned");
        assert_eq!(gate.watchers.load(Ordering::SeqCst), 0);
    }
}
