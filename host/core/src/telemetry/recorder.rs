//! [`Telemetry`]: what one host records about itself — calls per operation (Prometheus
//! counters and histograms, and the analytics behind `/stats` and `/health`), rate-limit
//! refusals and the other refusals at the edge — and the `/metrics` text that adds the
//! live state.
//!
//! The hot path is one lock-free map read (operations by name, behind `arc-swap`; written
//! only when a name is first called) and one short lock private to the operation called.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use metrics::{Counter, Histogram};
use serde::Serialize;

use super::metrics::Metrics;
use super::scrape::LiveState;
use super::stats::{CallOutcome, CallRecord, OperationStats, SLOT, WindowSummary};
use crate::config::TelemetrySettings;

/// One host's telemetry.
pub struct Telemetry {
    metrics: Metrics,
    operations: ArcSwap<HashMap<Arc<str>, Arc<OperationTelemetry>>>,
    /// Serializes additions to `operations` (rare: the first call of a name).
    additions: Mutex<()>,
    started: Instant,
    settings: TelemetrySettings,
}

/// What is kept for one operation name, across its versions.
struct OperationTelemetry {
    duration: Histogram,
    state: Mutex<OperationState>,
}

struct OperationState {
    /// Counters already registered, by status and code: a handful per operation.
    counters: Vec<(u16, Box<str>, Counter)>,
    stats: OperationStats,
}

/// A finished call, as the HTTP layer reports it.
#[derive(Debug, Clone, Copy)]
pub struct FinishedCall<'a> {
    pub operation: &'a str,
    pub version: &'a str,
    pub revision: &'a str,
    pub outcome: CallOutcome<'a>,
    pub latency: Duration,
    pub request_id: &'a str,
}

/// `GET /api/v1/operations/{name}/stats`.
#[derive(Debug, Serialize)]
pub struct StatsReport {
    pub name: String,
    pub windows: Vec<WindowSummary>,
    pub totals: serde_json::Value,
    pub(crate) versions: Vec<super::stats::VersionServed>,
    pub(crate) last_errors: Vec<super::stats::ErrorRecord>,
}

/// Whether an operation stays within its error budget.
#[derive(Debug, Serialize)]
pub struct BudgetReport {
    pub ok: bool,
    /// The largest share of calls that may fail (the operation's own failures only).
    pub(crate) budget: f64,
    #[serde(flatten)]
    pub(crate) window: WindowSummary,
}

impl Telemetry {
    pub(crate) fn new(settings: TelemetrySettings) -> Telemetry {
        Telemetry {
            metrics: Metrics::new(),
            operations: ArcSwap::default(),
            additions: Mutex::new(()),
            started: Instant::now(),
            settings,
        }
    }

    /// Count a finished call of an operation.
    pub fn record_call(&self, call: &FinishedCall<'_>) {
        let operation = self.operation(call.operation);
        operation.duration.record(call.latency.as_secs_f64());
        self.metrics.sampled();
        let record = CallRecord {
            outcome: call.outcome,
            latency: call.latency,
            request_id: call.request_id,
            version: call.version,
            revision: call.revision,
            at_unix_ms: unix_ms(),
            slot: self.slot(),
        };
        let status = call.outcome.status;
        let code = call.outcome.code.unwrap_or("ok");
        let mut state = operation.state.lock().unwrap_or_else(|p| p.into_inner());
        match state
            .counters
            .iter()
            .find(|(known, known_code, _)| *known == status && &**known_code == code)
        {
            Some((_, _, counter)) => counter.increment(1),
            None => {
                let counter = self.metrics.requests(call.operation, status, code);
                counter.increment(1);
                state.counters.push((status, code.into(), counter));
            }
        }
        state.stats.record(&record, self.settings.last_errors);
    }

    /// Count a request refused by a rate limit. `key_kind` says which limit — `key`,
    /// `operation` or `failed_authentication` (`auth::Scope::name`) — and becomes the
    /// `key_kind` label of `arsenal_rate_limited_total`; keep it to a few fixed values.
    pub fn rate_limited(&self, key_kind: &str) {
        self.metrics.rate_limited(key_kind);
    }

    /// Count a request refused at the edge, before any handler ran, under its error code
    /// (`unauthenticated`, `forbidden`, `headers_too_large`, `overloaded`,
    /// `request_timeout`): the `code` label of `arsenal_requests_refused_total`.
    pub fn refused(&self, code: &'static str) {
        self.metrics.refused(code);
    }

    /// The analytics of `name`: zeros when it was never called.
    pub fn stats(&self, name: &str) -> StatsReport {
        let now = self.slot();
        let found = self.operations.load().get(name).cloned();
        let mut report = StatsReport {
            name: name.to_owned(),
            windows: OperationStats::default().windows(now),
            totals: OperationStats::default().totals(),
            versions: Vec::new(),
            last_errors: Vec::new(),
        };
        if let Some(operation) = found {
            let state = operation.state.lock().unwrap_or_else(|p| p.into_inner());
            report.windows = state.stats.windows(now);
            report.totals = state.stats.totals();
            report.versions = state.stats.versions().cloned().collect();
            report.last_errors = state.stats.last_errors().cloned().collect();
        }
        report
    }

    /// Whether `name`'s failures over the budget window stay under the error budget.
    pub fn error_budget(&self, name: &str) -> BudgetReport {
        let slots = self
            .settings
            .error_budget_window_secs
            .div_ceil(SLOT.as_secs())
            .clamp(1, 90);
        let now = self.slot();
        let window = match self.operations.load().get(name) {
            Some(operation) => operation
                .state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .stats
                .window("budget", slots, now),
            None => OperationStats::default().window("budget", slots, now),
        };
        BudgetReport {
            ok: window.calls == 0 || window.error_rate < self.settings.error_budget,
            budget: self.settings.error_budget,
            window,
        }
    }

    /// `/metrics`: what was recorded, then the live state.
    pub fn render(&self, live: &LiveState) -> String {
        let mut text = self.metrics.render();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        live.write(&mut text);
        text
    }

    /// The telemetry of `name`, made at its first call.
    fn operation(&self, name: &str) -> Arc<OperationTelemetry> {
        if let Some(found) = self.operations.load().get(name) {
            return found.clone();
        }
        let _adding = self.additions.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.operations.load_full();
        if let Some(found) = current.get(name) {
            return found.clone();
        }
        let made = Arc::new(OperationTelemetry {
            duration: self.metrics.duration(name),
            state: Mutex::new(OperationState {
                counters: Vec::new(),
                stats: OperationStats::default(),
            }),
        });
        let mut next = HashMap::clone(&current);
        next.insert(Arc::from(name), made.clone());
        self.operations.store(Arc::new(next));
        made
    }

    /// The current slot of the statistics' ring.
    fn slot(&self) -> u64 {
        self.started.elapsed().as_secs() / SLOT.as_secs()
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}
