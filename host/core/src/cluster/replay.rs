//! Replay protection for forwarded calls. Every signed call carries a random nonce; the
//! receiving node remembers the nonce of each call it accepted until that call's deadline
//! — after which the call is refused as expired anyway — so a captured call sent again
//! within its deadline is refused. The memory is bounded: with [`CAPACITY`] calls inside
//! their deadlines, a new one is refused as too many (503) rather than let a nonce go
//! early.

use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;

/// The most calls remembered at once. A call stays remembered until its deadline
/// (`cluster.call_timeout_ms`, five seconds by default), so this allows more than twenty
/// thousand forwarded calls a second to one node; each entry costs under a hundred bytes.
pub(super) const CAPACITY: usize = 1 << 17;

/// What [`SeenNonces::admit`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admission {
    /// Not seen before: remembered until its deadline.
    Fresh,
    /// Seen before, within its deadline: a replay.
    Replayed,
    /// Too many calls are within their deadlines to remember another.
    Full,
}

/// The nonces of the calls this node accepted, until their deadlines.
#[derive(Debug, Default)]
pub(super) struct SeenNonces {
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    nonces: HashSet<u128>,
    /// (deadline in ms since the epoch, nonce), so the expired ones go first.
    by_deadline: BTreeSet<(u64, u128)>,
}

impl SeenNonces {
    /// Remember `nonce` until `deadline_ms`, unless it is remembered already; nonces
    /// whose deadline is before `now_ms` are forgotten first.
    pub(super) fn admit(&self, nonce: u128, deadline_ms: u64, now_ms: u64) -> Admission {
        self.admit_within(nonce, deadline_ms, now_ms, CAPACITY)
    }

    fn admit_within(&self, nonce: u128, deadline_ms: u64, now_ms: u64, cap: usize) -> Admission {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(&(deadline, old)) = seen.by_deadline.first()
            && deadline < now_ms
        {
            seen.by_deadline.pop_first();
            seen.nonces.remove(&old);
        }
        if seen.nonces.contains(&nonce) {
            return Admission::Replayed;
        }
        if seen.nonces.len() >= cap {
            return Admission::Full;
        }
        seen.nonces.insert(nonce);
        seen.by_deadline.insert((deadline_ms, nonce));
        Admission::Fresh
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.lock().unwrap().nonces.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_refused_again_until_its_deadline_then_forgotten() {
        let seen = SeenNonces::default();
        assert_eq!(seen.admit(7, 1_000, 100), Admission::Fresh);
        assert_eq!(seen.admit(7, 1_000, 500), Admission::Replayed);
        assert_eq!(seen.admit(7, 1_000, 1_000), Admission::Replayed);
        assert_eq!(seen.admit(8, 2_000, 1_001), Admission::Fresh);
        // Nonce 7's deadline has passed: it is gone, nonce 8 is not.
        assert_eq!(seen.len(), 1);
        assert_eq!(seen.admit(8, 2_000, 1_500), Admission::Replayed);
    }

    #[test]
    fn a_full_memory_refuses_new_calls_until_deadlines_pass() {
        let seen = SeenNonces::default();
        assert_eq!(seen.admit_within(1, 1_000, 0, 2), Admission::Fresh);
        assert_eq!(seen.admit_within(2, 3_000, 0, 2), Admission::Fresh);
        assert_eq!(seen.admit_within(3, 3_000, 10, 2), Admission::Full);
        // A replay is still told apart while full.
        assert_eq!(seen.admit_within(2, 3_000, 10, 2), Admission::Replayed);
        assert_eq!(seen.admit_within(3, 3_000, 1_001, 2), Admission::Fresh);
    }
}
