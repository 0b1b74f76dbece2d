//! Rate limits: keyed token buckets (`governor`, GCRA) per principal, per principal and
//! operation, and per client address for failed authentications. An address over its
//! failure quota is refused before its credential is even looked at, until its bucket
//! refills, so guessing keys cannot go faster than the quota.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::{RateLimitSettings, RateQuota};

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

/// Every limit of one host; each is off when its quota's burst is 0.
#[derive(Debug)]
pub(crate) struct RateLimits {
    per_key: Option<Bucket<String>>,
    per_operation: Option<Bucket<(String, String)>>,
    failed_auth: Option<Bucket<IpAddr>>,
    /// Addresses over their failure quota, and until when.
    penalties: Mutex<HashMap<IpAddr, Instant>>,
}

/// Addresses kept in the penalty box before expired ones are swept out.
const PENALTIES_SWEPT_AT: usize = 1_024;

impl RateLimits {
    pub(crate) fn new(settings: &RateLimitSettings) -> RateLimits {
        RateLimits {
            per_key: Bucket::new(settings.per_key),
            per_operation: Bucket::new(settings.per_operation),
            failed_auth: Bucket::new(settings.failed_auth),
            penalties: Mutex::default(),
        }
    }

    /// Count one request of `principal`.
    pub(crate) fn request(&self, principal: &str) -> Result<(), Limited> {
        check(&self.per_key, &principal.to_owned(), Scope::Key)
    }

    /// Count one call of `operation` by `principal`.
    pub(crate) fn call(&self, principal: &str, operation: &str) -> Result<(), Limited> {
        let key = (principal.to_owned(), operation.to_owned());
        check(&self.per_operation, &key, Scope::Operation)
    }

    /// Refuse `client` while it is over its failure quota.
    pub(crate) fn penalised(&self, client: IpAddr) -> Result<(), Limited> {
        let penalties = self.penalties.lock().unwrap_or_else(|e| e.into_inner());
        match penalties.get(&client) {
            Some(until) if *until > Instant::now() => Err(Limited {
                scope: Scope::FailedAuthentication,
                retry_after: *until - Instant::now(),
            }),
            _ => Ok(()),
        }
    }

    /// Count one failed authentication from `client`; over the quota, the address is
    /// refused until its bucket lets it through again.
    pub(crate) fn failed(&self, client: IpAddr) -> Result<(), Limited> {
        let outcome = check(&self.failed_auth, &client, Scope::FailedAuthentication);
        if let Err(limited) = outcome {
            let mut penalties = self.penalties.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if penalties.len() >= PENALTIES_SWEPT_AT {
                penalties.retain(|_, until| *until > now);
            }
            penalties.insert(client, now + limited.retry_after);
        }
        outcome
    }
}

fn check<K: Hash + Eq + Clone>(
    bucket: &Option<Bucket<K>>,
    key: &K,
    scope: Scope,
) -> Result<(), Limited> {
    match bucket {
        Some(bucket) => bucket
            .check(key)
            .map_err(|retry_after| Limited { scope, retry_after }),
        None => Ok(()),
    }
}

/// One keyed limiter.
struct Bucket<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

/// Checks between sweeps of keys whose buckets are full again (and so hold no state).
const CHECKS_PER_SWEEP: u64 = 4_096;

impl<K: Hash + Eq + Clone> Bucket<K> {
    fn new(quota: RateQuota) -> Option<Bucket<K>> {
        let burst = NonZeroU32::new(quota.burst)?;
        let quota = Quota::with_period(Duration::from_millis(quota.replenish_ms.max(1)))?
            .allow_burst(burst);
        Some(Bucket {
            limiter: RateLimiter::keyed(quota),
            checks: AtomicU64::new(0),
        })
    }

    /// Take a token for `key`, or say how long until one is there.
    fn check(&self, key: &K) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % CHECKS_PER_SWEEP == CHECKS_PER_SWEEP - 1 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
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

    fn limits(burst: u32) -> RateLimits {
        let quota = RateQuota {
            burst,
            replenish_ms: 60_000,
        };
        RateLimits::new(&RateLimitSettings {
            per_key: quota,
            per_operation: quota,
            failed_auth: quota,
        })
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
