//! A version's retirement: once it stops being live (replaced, unloaded, or left behind
//! by a rollback), the requests already running on it may finish — for at most the drain
//! deadline (`operations.drain_ms`), after which they are stopped and answered 503
//! `version_retired`. A version made live again (a rollback to it) is reinstated, and its
//! calls in flight are no longer on the clock.
//!
//! The old version itself is freed with its last request: every request holds its
//! `Arc<LoadedOperation>`, so this only bounds how long that can take.

use std::time::Duration;

use tokio::sync::watch;

/// Whether a version is retired, with a way to wait for the drain deadline.
#[derive(Debug)]
pub(crate) struct Retirement {
    retired: watch::Sender<bool>,
}

impl Default for Retirement {
    fn default() -> Self {
        Retirement {
            retired: watch::Sender::new(false),
        }
    }
}

impl Retirement {
    /// The version is no longer live; returns whether it was live until now.
    pub(crate) fn retire(&self) -> bool {
        self.retired
            .send_if_modified(|retired| !std::mem::replace(retired, true))
    }

    /// The version is live again; returns whether it was retired until now.
    pub(crate) fn reinstate(&self) -> bool {
        self.retired
            .send_if_modified(|retired| std::mem::replace(retired, false))
    }

    /// Resolves once the version has been retired for `drain` without being reinstated;
    /// never while it is live.
    pub(crate) async fn drained(&self, drain: Duration) {
        let mut changes = self.retired.subscribe();
        loop {
            // The sender lives in `self`, so the channel cannot close while we wait.
            let _ = changes.wait_for(|retired| *retired).await;
            tokio::select! {
                () = tokio::time::sleep(drain) => return,
                _ = changes.wait_for(|retired| !*retired) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three drain periods: a drain that should not end has had ample time to.
    const DRAIN: Duration = Duration::from_millis(20);
    const LONG_ENOUGH: Duration = Duration::from_millis(60);
    const PATIENCE: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn the_drain_runs_only_while_retired() {
        let retirement = Retirement::default();
        let waiting = retirement.drained(DRAIN);
        tokio::pin!(waiting);
        let pending = tokio::time::timeout(LONG_ENOUGH, &mut waiting).await;
        assert!(pending.is_err(), "a live version is never drained");

        assert!(retirement.retire());
        assert!(!retirement.retire(), "retiring twice changes nothing");
        tokio::time::timeout(PATIENCE, &mut waiting)
            .await
            .expect("drained once retired");

        // Reinstated during the drain: the clock stops until the next retirement.
        let waiting = retirement.drained(DRAIN);
        tokio::pin!(waiting);
        assert!(futures::poll!(&mut waiting).is_pending());
        assert!(retirement.reinstate());
        assert!(!retirement.reinstate(), "reinstating twice changes nothing");
        let pending = tokio::time::timeout(LONG_ENOUGH, &mut waiting).await;
        assert!(pending.is_err(), "reinstated: no longer on the clock");
        retirement.retire();
        tokio::time::timeout(PATIENCE, &mut waiting)
            .await
            .expect("drained once retired again");
    }
}
