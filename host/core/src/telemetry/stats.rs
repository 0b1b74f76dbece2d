//! Analytics of one operation, kept by name so they outlive a hot replace: a ring of
//! ten-second slots (fifteen minutes) with counts and a latency histogram each, totals
//! since the host started, the versions that served, and the last errors — codes,
//! statuses and request ids only, never guest internals. Memory is bounded: the ring,
//! the error list and the version list have fixed sizes.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;

use super::latency::LatencyHistogram;

/// The width of one slot of the ring.
pub(crate) const SLOT: Duration = Duration::from_secs(10);
/// Slots kept: fifteen minutes, the longest window.
const SLOTS: usize = 90;
/// The windows reported, by name and length in slots.
pub(crate) const WINDOWS: [(&str, u64); 3] = [("1m", 6), ("5m", 30), ("15m", 90)];
/// Versions remembered per operation; the least recently used is forgotten beyond.
const VERSIONS: usize = 16;

/// How a call ended, as the statistics see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallOutcome<'a> {
    pub status: u16,
    /// The error code; `None` for a success.
    pub code: Option<&'a str>,
}

impl CallOutcome<'_> {
    /// A failure the operation answers for: a server error, except `overloaded` (the
    /// host's instance pool was full; the operation never ran). A caller's mistake (4xx)
    /// does not count against the operation.
    pub(crate) fn is_operation_failure(&self) -> bool {
        self.status >= 500 && self.code != Some("overloaded")
    }

    fn is_client_error(&self) -> bool {
        (400..500).contains(&self.status)
    }
}

/// One finished call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallRecord<'a> {
    pub(crate) outcome: CallOutcome<'a>,
    pub(crate) latency: Duration,
    pub(crate) request_id: &'a str,
    pub(crate) version: &'a str,
    pub(crate) revision: &'a str,
    pub(crate) at_unix_ms: u64,
    /// The slot the call finished in (time since the host started, in [`SLOT`]s).
    pub(crate) slot: u64,
}

#[derive(Debug, Default)]
struct Slot {
    index: u64,
    counts: Counts,
    latency: LatencyHistogram,
}

#[derive(Debug, Default, Clone, Copy, Serialize)]
struct Counts {
    calls: u64,
    /// Failures the operation answers for (see [`CallOutcome::is_operation_failure`]).
    failures: u64,
    client_errors: u64,
}

impl Counts {
    fn add(&mut self, outcome: CallOutcome<'_>) {
        self.calls += 1;
        self.failures += u64::from(outcome.is_operation_failure());
        self.client_errors += u64::from(outcome.is_client_error());
    }
}

/// One of the last errors of an operation.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ErrorRecord {
    pub(crate) at_unix_ms: u64,
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) request_id: String,
    pub(crate) version: String,
    pub(crate) revision: String,
}

/// A version that served calls.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct VersionServed {
    pub(crate) version: String,
    pub(crate) revision: String,
    pub(crate) calls: u64,
    pub(crate) last_call_unix_ms: u64,
}

/// Counts and latency over one window.
#[derive(Debug, Clone, Serialize)]
pub struct WindowSummary {
    pub(crate) window: &'static str,
    pub(crate) seconds: u64,
    pub(crate) calls: u64,
    pub(crate) failures: u64,
    pub(crate) client_errors: u64,
    /// `failures / calls`; 0 without calls.
    pub(crate) error_rate: f64,
    pub(crate) p50_ms: Option<f64>,
    pub(crate) p99_ms: Option<f64>,
}

/// Everything known about one operation's calls.
#[derive(Debug, Default)]
pub(crate) struct OperationStats {
    /// Allocated at the first call: operations never called cost nothing.
    slots: Vec<Slot>,
    totals: Counts,
    versions: VecDeque<VersionServed>,
    last_errors: VecDeque<ErrorRecord>,
}

impl OperationStats {
    /// Count a call, keeping at most `keep_errors` errors.
    pub(crate) fn record(&mut self, call: &CallRecord<'_>, keep_errors: usize) {
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, Slot::default);
        }
        let slot = &mut self.slots[(call.slot % SLOTS as u64) as usize];
        if slot.index != call.slot {
            *slot = Slot {
                index: call.slot,
                ..Slot::default()
            };
        }
        slot.counts.add(call.outcome);
        slot.latency.record(call.latency);
        self.totals.add(call.outcome);
        self.served_by(call);
        if let Some(code) = call.outcome.code
            && keep_errors > 0
        {
            if self.last_errors.len() >= keep_errors {
                self.last_errors.pop_front();
            }
            self.last_errors.push_back(ErrorRecord {
                at_unix_ms: call.at_unix_ms,
                status: call.outcome.status,
                code: code.to_owned(),
                request_id: call.request_id.to_owned(),
                version: call.version.to_owned(),
                revision: call.revision.to_owned(),
            });
        }
    }

    fn served_by(&mut self, call: &CallRecord<'_>) {
        let position = self
            .versions
            .iter()
            .position(|served| served.revision == call.revision);
        let mut served = match position.and_then(|at| self.versions.remove(at)) {
            Some(served) => served,
            None => VersionServed {
                version: call.version.to_owned(),
                revision: call.revision.to_owned(),
                calls: 0,
                last_call_unix_ms: 0,
            },
        };
        served.calls += 1;
        served.last_call_unix_ms = call.at_unix_ms;
        if self.versions.len() >= VERSIONS {
            self.versions.pop_back();
        }
        self.versions.push_front(served);
    }

    /// Counts and latency over the last `length` slots up to `now` (the current slot).
    pub(crate) fn window(&self, name: &'static str, length: u64, now: u64) -> WindowSummary {
        let oldest = now.saturating_sub(length.saturating_sub(1));
        let mut counts = Counts::default();
        let mut latency = LatencyHistogram::default();
        for slot in &self.slots {
            if slot.counts.calls > 0 && (oldest..=now).contains(&slot.index) {
                counts.calls += slot.counts.calls;
                counts.failures += slot.counts.failures;
                counts.client_errors += slot.counts.client_errors;
                latency.merge(&slot.latency);
            }
        }
        let millis = |quantile: Option<Duration>| {
            quantile.map(|latency| (latency.as_secs_f64() * 1_000_000.0).round() / 1_000.0)
        };
        WindowSummary {
            window: name,
            seconds: length * SLOT.as_secs(),
            calls: counts.calls,
            failures: counts.failures,
            client_errors: counts.client_errors,
            error_rate: if counts.calls == 0 {
                0.0
            } else {
                counts.failures as f64 / counts.calls as f64
            },
            p50_ms: millis(latency.quantile(0.5)),
            p99_ms: millis(latency.quantile(0.99)),
        }
    }

    /// The reported windows, shortest first.
    pub(crate) fn windows(&self, now: u64) -> Vec<WindowSummary> {
        WINDOWS
            .iter()
            .map(|&(name, length)| self.window(name, length, now))
            .collect()
    }

    /// Calls, operation failures and client errors since the host started.
    pub(crate) fn totals(&self) -> serde_json::Value {
        serde_json::to_value(self.totals).expect("counts serialize")
    }

    /// Versions that served, most recently used first.
    pub(crate) fn versions(&self) -> impl Iterator<Item = &VersionServed> {
        self.versions.iter()
    }

    /// The last errors, newest first.
    pub(crate) fn last_errors(&self) -> impl Iterator<Item = &ErrorRecord> {
        self.last_errors.iter().rev()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(
        slot: u64,
        status: u16,
        code: Option<&'static str>,
        millis: u64,
    ) -> CallRecord<'static> {
        CallRecord {
            outcome: CallOutcome { status, code },
            latency: Duration::from_millis(millis),
            request_id: "r",
            version: "1.0.0",
            revision: "abc",
            at_unix_ms: slot * 10_000,
            slot,
        }
    }

    #[test]
    fn windows_count_only_their_slots() {
        let mut stats = OperationStats::default();
        stats.record(&call(0, 200, None, 1), 10);
        stats.record(&call(110, 500, Some("operation_crashed"), 1), 10);
        stats.record(&call(125, 422, Some("validation_error"), 1), 10);
        stats.record(&call(130, 200, None, 1), 10);
        let windows = stats.windows(130);
        let calls: Vec<u64> = windows.iter().map(|window| window.calls).collect();
        assert_eq!(calls, [2, 3, 3], "slot 0 fell out of every window");
        assert_eq!(windows[1].failures, 1);
        assert_eq!(windows[0].failures, 0);
        assert_eq!(windows[1].client_errors, 1);
        assert!((windows[1].error_rate - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(stats.totals()["calls"], 4);
    }

    #[test]
    fn a_reused_slot_forgets_its_old_round() {
        let mut stats = OperationStats::default();
        stats.record(&call(3, 200, None, 1), 10);
        stats.record(&call(3 + SLOTS as u64, 200, None, 1), 10);
        assert_eq!(stats.window("1m", 6, 3 + SLOTS as u64).calls, 1);
        assert_eq!(
            stats.window("15m", 90, 3).calls,
            0,
            "that slot now holds a later round"
        );
    }

    #[test]
    fn overloaded_and_client_errors_are_not_the_operations_failures() {
        for (status, code, failure) in [
            (503, "overloaded", false),
            (503, "unavailable", true),
            (504, "operation_timeout", true),
            (404, "not_found", false),
            (403, "capability_denied", false),
        ] {
            let outcome = CallOutcome {
                status,
                code: Some(code),
            };
            assert_eq!(outcome.is_operation_failure(), failure, "{code}");
        }
    }

    #[test]
    fn errors_and_versions_are_bounded() {
        let mut stats = OperationStats::default();
        for slot in 0..5 {
            stats.record(&call(slot, 404, Some("not_found"), 1), 3);
        }
        let kept: Vec<u64> = stats.last_errors().map(|error| error.at_unix_ms).collect();
        assert_eq!(kept, [40_000, 30_000, 20_000]);
        for index in 0..(VERSIONS + 4) {
            let revision = format!("r{index}");
            let record = CallRecord {
                revision: &revision,
                ..call(1, 200, None, 1)
            };
            stats.record(&record, 3);
        }
        assert_eq!(stats.versions().count(), VERSIONS);
        assert_eq!(
            stats.versions().next().unwrap().revision,
            format!("r{}", VERSIONS + 3)
        );
    }
}
