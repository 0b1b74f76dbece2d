//! The host's Prometheus recorder (`metrics` + `metrics-exporter-prometheus`). Each host
//! owns one and records through it explicitly — never the process-global recorder — so
//! several hosts in one process (the tests) keep their figures apart. Event counts and
//! latency histograms live here; state (processes, instances, sandboxes) is read at scrape
//! time instead (see `scrape`).

use std::sync::atomic::{AtomicU32, Ordering};

use metrics::{Counter, Histogram, Recorder, with_local_recorder};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// Calls per operation by HTTP status and error code (`ok` for successes).
pub(crate) const REQUESTS: &str = "arsenal_operation_requests_total";
/// Wall time of a call, from routing to the answer, per operation.
pub(crate) const DURATION: &str = "arsenal_operation_duration_seconds";
/// Requests refused by a rate limit, by the limit (`key`, `operation`,
/// `failed_authentication`).
pub(crate) const RATE_LIMITED: &str = "arsenal_rate_limited_total";
/// Requests refused at the edge, before any handler ran, by error code.
pub(crate) const REFUSED: &str = "arsenal_requests_refused_total";

/// Histogram buckets of [`DURATION`], in seconds: 10 µs (a fresh instance's order) to 10 s
/// (past the longest default deadline).
const DURATION_BUCKETS: &[f64] = &[
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Histogram samples are appended lock-free and folded into buckets by an upkeep; one
/// runs after this many samples so that a server nobody scrapes stays bounded.
const UPKEEP_EVERY: u32 = 1024;

/// One host's recorder.
pub(crate) struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    samples: AtomicU32,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(DURATION.to_owned()), DURATION_BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        with_local_recorder(&recorder, || {
            metrics::describe_counter!(REQUESTS, "Operation calls by HTTP status and error code.");
            metrics::describe_histogram!(
                DURATION,
                metrics::Unit::Seconds,
                "Time from routing a call to its answer, per operation."
            );
            metrics::describe_counter!(RATE_LIMITED, "Requests refused by a rate limit.");
            metrics::describe_counter!(
                REFUSED,
                "Requests refused at the edge (authentication, header caps, load shedding, \
                 request timeout), by error code."
            );
        });
        let handle = recorder.handle();
        Metrics {
            recorder,
            handle,
            samples: AtomicU32::new(0),
        }
    }

    /// The latency histogram of `operation`; keep it, recording through it is lock-free.
    pub(crate) fn duration(&self, operation: &str) -> Histogram {
        with_local_recorder(
            &self.recorder,
            || metrics::histogram!(DURATION, "operation" => operation.to_owned()),
        )
    }

    /// The call counter of `operation` for one status and code; keep it.
    pub(crate) fn requests(&self, operation: &str, status: u16, code: &str) -> Counter {
        with_local_recorder(&self.recorder, || {
            metrics::counter!(
                REQUESTS,
                "operation" => operation.to_owned(),
                "status" => status.to_string(),
                "code" => code.to_owned(),
            )
        })
    }

    pub(crate) fn rate_limited(&self, key_kind: &str) {
        let labels = vec![metrics::Label::new("key_kind", key_kind.to_owned())];
        let key = metrics::Key::from_parts(RATE_LIMITED, labels);
        self.counter(&key).increment(1);
    }

    pub(crate) fn refused(&self, code: &'static str) {
        let labels = vec![metrics::Label::new("code", code)];
        let key = metrics::Key::from_parts(REFUSED, labels);
        self.counter(&key).increment(1);
    }

    fn counter(&self, key: &metrics::Key) -> Counter {
        static METADATA: metrics::Metadata<'static> =
            metrics::Metadata::new(module_path!(), metrics::Level::INFO, None);
        self.recorder.register_counter(key, &METADATA)
    }

    /// Note a histogram sample; every [`UPKEEP_EVERY`] samples, fold them into buckets.
    pub(crate) fn sampled(&self) {
        if self.samples.fetch_add(1, Ordering::Relaxed) % UPKEEP_EVERY == UPKEEP_EVERY - 1 {
            self.handle.run_upkeep();
        }
    }

    /// Everything recorded, in the Prometheus text format.
    pub(crate) fn render(&self) -> String {
        self.handle.render()
    }
}
