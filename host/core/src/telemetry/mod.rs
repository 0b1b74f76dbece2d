//! Telemetry: what the host tells about itself. Per-host Prometheus metrics (`/metrics`),
//! operation analytics over recent windows (`/stats`, `/health`), and W3C trace context
//! for the request spans. Everything is owned by one [`Telemetry`] per host — nothing is
//! installed process-wide — so hosts sharing a process keep their figures apart.

mod latency;
mod metrics;
mod recorder;
mod scrape;
mod stats;
mod traceparent;

pub use arsenal_engine::lookups::CacheLookups;
pub use recorder::Telemetry;
pub use recorder::{BudgetReport, FinishedCall, StatsReport};
pub use scrape::LiveState;
pub use stats::{CallOutcome, WindowSummary};
pub use traceparent::{HEADER as TRACEPARENT, TraceContext, TraceId, TraceParent};
