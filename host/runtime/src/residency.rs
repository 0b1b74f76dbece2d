//! Who gives up a worker slot when the pool is full: the idle resident workers, least
//! recently active first. A process's loop enters the queue each time it waits with a
//! stateful worker resident and leaves it when it wakes for anything. A spawn or wake that
//! finds every slot held claims the oldest entry; that process hibernates before doing
//! anything else and answers, and the claimer tries its instance again. A claim is taken
//! and a wait left under the queue's lock, so two spawns never claim the same process and
//! a process that left the queue is never claimed; no lock is held across an await.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, oneshot};

/// The idle resident workers of one worker pool, by when they went idle.
#[derive(Default)]
pub(crate) struct Residency {
    queue: Mutex<Queue>,
    /// Claimed workers that gave up their slot, since the pool was made.
    made_room: AtomicU64,
}

#[derive(Default)]
struct Queue {
    /// The next place's number: places are numbered in the order their workers went idle.
    next: u64,
    idle: BTreeMap<u64, Place>,
}

/// A waiting process as the queue holds it: how to wake it, and where it answers.
struct Place {
    claimed: Arc<Notify>,
    answer: oneshot::Receiver<()>,
}

/// A process's place in the queue while it waits, held by its loop.
pub(crate) struct Waiting {
    residency: Arc<Residency>,
    number: u64,
    claimed: Arc<Notify>,
    /// Taken when the place is left.
    answer: Option<oneshot::Sender<()>>,
}

/// A claim on a process that waited: the claimer waits until it is answered.
pub(crate) struct Claim {
    answer: oneshot::Sender<()>,
}

impl Residency {
    /// Enter the queue as the most recently active idle worker.
    pub(crate) fn wait(self: &Arc<Self>) -> Waiting {
        let (answer, answered) = oneshot::channel();
        let claimed = Arc::new(Notify::new());
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let number = queue.next;
        queue.next += 1;
        queue.idle.insert(
            number,
            Place {
                claimed: claimed.clone(),
                answer: answered,
            },
        );
        drop(queue);
        Waiting {
            residency: self.clone(),
            number,
            claimed,
            answer: Some(answer),
        }
    }

    /// Have the least recently active idle worker give up its slot, and wait until it
    /// has; `false` when none waits. A claimed process that ends instead of answering
    /// has given its slot back too (its worker drops before its place).
    pub(crate) async fn make_room(&self) -> bool {
        let oldest = {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.idle.pop_first()
        };
        let Some((_, place)) = oldest else {
            return false;
        };
        place.claimed.notify_one();
        if place.answer.await.is_ok() {
            self.made_room.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// Workers hibernated to make room so far.
    pub(crate) fn made_room(&self) -> u64 {
        self.made_room.load(Ordering::Relaxed)
    }

    /// Idle resident workers waiting now.
    #[cfg(test)]
    fn idle(&self) -> usize {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .idle
            .len()
    }

    /// Take `number` out of the queue; `false` when a claimer took it first.
    fn leave(&self, number: u64) -> bool {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.idle.remove(&number).is_some()
    }
}

impl Waiting {
    /// Resolves when a claimer wants this process's slot.
    pub(crate) async fn claimed(&self) {
        self.claimed.notified().await;
    }

    /// Leave the queue on waking; `Some` when a claimer took the place first and waits for
    /// the process to hibernate.
    pub(crate) fn leave(mut self) -> Option<Claim> {
        let answer = self.answer.take().expect("left once");
        (!self.residency.leave(self.number)).then_some(Claim { answer })
    }
}

impl Drop for Waiting {
    /// A place dropped without leaving (its loop ended) leaves the queue; a claimer
    /// waiting on it hears that the process is gone.
    fn drop(&mut self) {
        if self.answer.is_some() {
            self.residency.leave(self.number);
        }
    }
}

impl Claim {
    /// Tell the claimer that the process gave its slot back.
    pub(crate) fn answer(self) {
        let _ = self.answer.send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_claim_is_answered_and_counted() {
        let residency = Arc::new(Residency::default());
        let first = residency.wait();
        let second = residency.wait();
        let claimer = tokio::spawn({
            let residency = residency.clone();
            async move { residency.make_room().await }
        });
        first.claimed().await;
        let claim = first.leave().expect("the oldest place is claimed");
        assert!(second.leave().is_none(), "the newer place is not claimed");
        claim.answer();
        assert!(claimer.await.unwrap());
        assert_eq!(residency.made_room(), 1);
        assert_eq!(residency.idle(), 0);
    }

    #[tokio::test]
    async fn a_process_that_ends_while_claimed_has_made_room_and_an_empty_queue_has_none() {
        let residency = Arc::new(Residency::default());
        assert!(!residency.make_room().await);
        let waiting = residency.wait();
        let claimer = tokio::spawn({
            let residency = residency.clone();
            async move { residency.make_room().await }
        });
        waiting.claimed().await;
        drop(waiting);
        assert!(claimer.await.unwrap());
        assert_eq!(residency.made_room(), 0, "it ended rather than hibernated");
        assert!(!residency.make_room().await);
    }

    #[test]
    fn a_place_left_before_a_claim_is_never_claimed() {
        let residency = Arc::new(Residency::default());
        let waiting = residency.wait();
        assert!(waiting.leave().is_none());
        assert_eq!(residency.idle(), 0);
    }
}
