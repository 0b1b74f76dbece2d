//! Outbound requests counted by destination host and outcome, for `/metrics`. The host
//! label's values are bounded: past [`MAX_HOSTS`] distinct hosts, new ones count under
//! `_other`, so a guest naming random hosts cannot grow the host's memory or the scrape.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

/// Distinct host labels kept.
const MAX_HOSTS: usize = 256;

/// How one outbound request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// A response arrived with this status.
    Status(u16),
    /// Refused by the grant, the address check or the per-call cap.
    Denied,
    /// Connecting or waiting for the response took too long.
    Timeout,
    /// Anything else: DNS, connection, TLS or protocol failures.
    Failed,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Status(status) => write!(f, "{status}"),
            Outcome::Denied => f.write_str("denied"),
            Outcome::Timeout => f.write_str("timeout"),
            Outcome::Failed => f.write_str("failed"),
        }
    }
}

/// The counts of one host.
#[derive(Debug, Default)]
pub struct OutboundMetrics {
    counts: Mutex<BTreeMap<(String, Outcome), u64>>,
}

impl OutboundMetrics {
    pub(super) fn count(&self, host: &str, outcome: Outcome) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let known = counts.keys().any(|(known, _)| known == host);
        let distinct = || {
            let mut hosts: Vec<&str> = counts.keys().map(|(h, _)| h.as_str()).collect();
            hosts.dedup();
            hosts.len()
        };
        let host = if known || distinct() < MAX_HOSTS {
            host
        } else {
            "_other"
        };
        *counts.entry((host.to_owned(), outcome)).or_default() += 1;
    }

    /// Every (host, outcome, count), in order.
    pub fn snapshot(&self) -> Vec<(String, Outcome, u64)> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts
            .iter()
            .map(|((host, outcome), count)| (host.clone(), *outcome, *count))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_past_the_bound_count_as_other() {
        let metrics = OutboundMetrics::default();
        for index in 0..MAX_HOSTS + 3 {
            metrics.count(&format!("h{index}.example"), Outcome::Denied);
        }
        metrics.count("h0.example", Outcome::Status(200));
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.len(), MAX_HOSTS + 2);
        assert!(snapshot.contains(&("_other".to_owned(), Outcome::Denied, 3)));
        assert!(snapshot.contains(&("h0.example".to_owned(), Outcome::Status(200), 1)));
    }
}
