//! Rate limits: keyed token buckets (`governor`, GCRA) per principal, per principal and
//! operation, and per client address for failed authentications. An address over its
//! failure quota is refused before its credential is even looked at, until its bucket
//! refills, so guessing keys cannot go faster than the quota.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, Reference as _};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::{RateLimitSettings, RateQuota};

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Key,
    Operation,
    FailedAuthentication,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Key => "key",
            Scope::Operation => "operation",
            Scope::FailedAuthentication => "failed_authentication",
        }
    }
}

/// A request over a limit, and when the next one would be let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub scope: Scope,
    pub retry_after: Duration,
}

/// The clock every limit of one host reads: monotonic time since the limits were made,
/// plus whatever was skipped with [`RateClock::advance`]. Tests wait out a limit by
/// advancing it by the `Retry-After` they were given instead of sleeping; a server never
/// advances it.
#[derive(Debug, Clone)]
pub struct RateClock(Arc<ClockState>);

#[derive(Debug)]
struct ClockState {
    origin: Instant,
    skipped_nanos: AtomicU64,
}

impl RateClock {
    fn new() -> RateClock {
        RateClock(Arc::new(ClockState {
            origin: Instant::now(),
            skipped_nanos: AtomicU64::new(0),
        }))
    }

    /// Move the limits' time forward by `by`, as if it had passed.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.0.skipped_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

impl Clock for RateClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let elapsed = u64::try_from(self.0.origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
        Nanos::from(elapsed.saturating_add(self.0.skipped_nanos.load(Ordering::Relaxed)))
    }
}

/// Every limit of one host; each is off when its quota's burst is 0, and the
/// per-principal ones are off in local mode unless configured on (see
/// [`RateLimitSettings`] for why).
///
/// Buckets are keyed by a hash of the principal (and operation) rather than the names
/// themselves, so counting a request allocates nothing. The hasher is seeded at random
/// per host, and names come from configuration and loaded components, not from callers,
/// so two sharing a bucket (and so a limit) would take a 64-bit collision nobody can aim
/// for.
#[derive(Debug)]
pub struct RateLimits {
    per_key: Option<Bucket<u64>>,
    per_operation: Option<Bucket<u64>>,
    failed_auth: Option<Bucket<IpAddr>>,
    /// Addresses over their failure quota, and until when (on [`RateLimits::clock`]).
    penalties: Mutex<HashMap<IpAddr, Nanos>>,
    hasher: RandomState,
    clock: RateClock,
}

/// Addresses kept in the penalty box before expired ones are swept out.
const PENALTIES_SWEPT_AT: usize = 1_024;

impl RateLimits {
    /// The limits `settings` put in force; `local` says the host runs in local mode, where
    /// the per-principal limits apply only if `settings.in_local_mode` asks for them.
    pub(crate) fn new(settings: &RateLimitSettings, local: bool) -> RateLimits {
        let clock = RateClock::new();
        let per_principal = |quota| {
            if local && !settings.in_local_mode {
                None
            } else {
                Bucket::new(quota, &clock)
            }
        };
        RateLimits {
            per_key: per_principal(settings.per_key),
            per_operation: per_principal(settings.per_operation),
            failed_auth: Bucket::new(settings.failed_auth, &clock),
            penalties: Mutex::default(),
            hasher: RandomState::new(),
            clock,
        }
    }

    /// The clock the limits read.
    pub(crate) fn clock(&self) -> &RateClock {
        &self.clock
    }

    /// Count one request of `principal`.
    pub fn request(&self, principal: &str) -> Result<(), Limited> {
        match &self.per_key {
            Some(bucket) => bucket.check(&self.hasher.hash_one(principal), Scope::Key),
            None => Ok(()),
        }
    }

    /// Count one call of `operation` by `principal`.
    pub fn call(&self, principal: &str, operation: &str) -> Result<(), Limited> {
        match &self.per_operation {
            Some(bucket) => {
                let key = self.hasher.hash_one((principal, operation));
                bucket.check(&key, Scope::Operation)
            }
            None => Ok(()),
        }
    }

    /// Refuse `client` while it is over its failure quota.
    pub fn penalised(&self, client: IpAddr) -> Result<(), Limited> {
        let penalties = self.penalties.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now();
        match penalties.get(&client) {
            Some(until) if *until > now => Err(Limited {
                scope: Scope::FailedAuthentication,
                retry_after: until.duration_since(now).into(),
            }),
            _ => Ok(()),
        }
    }

    /// Count one failed authentication from `client`; over the quota, the address is
    /// refused until its bucket lets it through again.
    pub fn failed(&self, client: IpAddr) -> Result<(), Limited> {
        let Some(bucket) = &self.failed_auth else {
            return Ok(());
        };
        let outcome = bucket.check(&client, Scope::FailedAuthentication);
        if let Err(limited) = outcome {
            let mut penalties = self.penalties.lock().unwrap_or_else(|e| e.into_inner());
            let now = self.clock.now();
            if penalties.len() >= PENALTIES_SWEPT_AT {
                penalties.retain(|_, until| *until > now);
            }
            penalties.insert(client, now + Nanos::from(limited.retry_after));
        }
        outcome
    }
}

/// One keyed limiter.
struct Bucket<K: Hash + Eq + Clone> {
    limiter: RateLimiter<K, DefaultKeyedStateStore<K>, RateClock, NoOpMiddleware<Nanos>>,
    checks: AtomicU64,
}

/// Checks between sweeps of keys whose buckets are full again (and so hold no state).
const CHECKS_PER_SWEEP: u64 = 4_096;

impl<K: Hash + Eq + Clone> Bucket<K> {
    fn new(quota: RateQuota, clock: &RateClock) -> Option<Bucket<K>> {
        let burst = NonZeroU32::new(quota.burst)?;
        let quota = Quota::with_period(Duration::from_millis(quota.replenish_ms.max(1)))?
            .allow_burst(burst);
        Some(Bucket {
            limiter: RateLimiter::dashmap_with_clock(quota, clock.clone()),
            checks: AtomicU64::new(0),
        })
    }

    /// Take a token for `key`, or say how long until one is there.
    fn check(&self, key: &K, scope: Scope) -> Result<(), Limited> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % CHECKS_PER_SWEEP == CHECKS_PER_SWEEP - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(key).map_err(|not_until| Limited {
            scope,
            retry_after: not_until.wait_time_from(self.limiter.clock().now()),
        })
    }
}

impl<K: Hash + Eq + Clone> std::fmt::Debug for Bucket<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(burst: u32) -> RateLimitSettings {
        let quota = RateQuota {
            burst,
            replenish_ms: 60_000,
        };
        RateLimitSettings {
            per_key: quota,
            per_operation: quota,
            failed_auth: quota,
            in_local_mode: false,
        }
    }

    fn limits(burst: u32) -> RateLimits {
        RateLimits::new(&settings(burst), false)
    }

    #[test]
    fn local_mode_limits_only_failed_authentications_unless_asked() {
        let local = RateLimits::new(&settings(1), true);
        for _ in 0..1_000 {
            assert!(local.request("anonymous").is_ok());
            assert!(local.call("anonymous", "echo").is_ok());
        }
        let client = IpAddr::from([127, 0, 0, 1]);
        assert!(local.failed(client).is_ok());
        assert_eq!(
            local.failed(client).unwrap_err().scope,
            Scope::FailedAuthentication
        );

        let asked = RateLimits::new(
            &RateLimitSettings {
                in_local_mode: true,
                ..settings(1)
            },
            true,
        );
        assert!(asked.request("anonymous").is_ok());
        assert_eq!(asked.request("anonymous").unwrap_err().scope, Scope::Key);
        assert!(asked.call("anonymous", "echo").is_ok());
        assert_eq!(
            asked.call("anonymous", "echo").unwrap_err().scope,
            Scope::Operation
        );
    }

    #[test]
    fn a_bucket_refuses_past_its_burst_per_key() {
        let limits = limits(2);
        assert!(limits.request("a").is_ok() && limits.request("a").is_ok());
        let limited = limits.request("a").unwrap_err();
        assert_eq!(limited.scope, Scope::Key);
        assert!(limited.retry_after > Duration::from_secs(50), "{limited:?}");
        assert!(
            limits.request("b").is_ok(),
            "another key has its own bucket"
        );
        assert!(
            limits.call("a", "op").is_ok(),
            "operations have their own buckets"
        );
    }

    #[test]
    fn a_refused_key_is_let_through_once_its_wait_has_passed() {
        let limits = limits(1);
        assert!(limits.request("a").is_ok());
        let limited = limits.request("a").unwrap_err();
        limits.clock().advance(limited.retry_after / 2);
        assert!(limits.request("a").is_err(), "half the wait is not enough");
        limits.clock().advance(limited.retry_after);
        assert!(limits.request("a").is_ok());
        assert!(limits.request("a").is_err(), "one token came back, not two");
    }

    #[test]
    fn a_penalty_ends_when_the_failure_bucket_refills() {
        let limits = limits(1);
        let client = IpAddr::from([10, 0, 0, 9]);
        assert!(limits.failed(client).is_ok());
        let limited = limits.failed(client).unwrap_err();
        assert_eq!(limits.penalised(client).unwrap_err().scope, limited.scope);
        limits.clock().advance(limited.retry_after);
        assert!(limits.penalised(client).is_ok());
        assert!(limits.failed(client).is_ok(), "the bucket refilled too");
    }

    #[test]
    fn a_zero_burst_turns_a_limit_off() {
        let limits = limits(0);
        for _ in 0..1_000 {
            assert!(limits.request("a").is_ok());
        }
    }

    #[test]
    fn an_address_over_its_failures_is_penalised() {
        let limits = limits(1);
        let client = IpAddr::from([10, 0, 0, 1]);
        assert!(limits.penalised(client).is_ok());
        assert!(limits.failed(client).is_ok());
        assert!(limits.penalised(client).is_ok(), "within the quota");
        assert_eq!(
            limits.failed(client).unwrap_err().scope,
            Scope::FailedAuthentication
        );
        assert!(limits.penalised(client).is_err());
        assert!(limits.penalised(IpAddr::from([10, 0, 0, 2])).is_ok());
    }
}
