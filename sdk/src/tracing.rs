//! Capability `tracing`: traces and profiles of processes. Calling a function here makes
//! the component import `arsenal:runtime/tracing`.

use crate::bindings::arsenal::runtime::tracing as host;
pub use crate::bindings::arsenal::runtime::tracing::{
    KindProfile, Profile, TraceError, TraceEvent, TraceInfo, TraceOptions,
};

/// Start tracing a process.
pub fn start(target: &str, options: TraceOptions) -> Result<TraceInfo, TraceError> {
    host::start_trace(target, options)
}

/// A trace and its events from `offset`, at most `limit`.
pub fn get(id: u64, offset: u32, limit: u32) -> Result<(TraceInfo, Vec<TraceEvent>), TraceError> {
    host::get_trace(id, offset, limit)
}

/// Stop a trace and forget it.
pub fn stop(id: u64) -> Result<TraceInfo, TraceError> {
    host::stop_trace(id)
}

/// Profile a process for `window_ms`.
pub fn profile(target: &str, window_ms: u32) -> Result<Profile, TraceError> {
    host::profile_process(target, window_ms)
}

/// A trace as JSON.
pub fn info_json(info: &TraceInfo) -> serde_json::Value {
    serde_json::json!({
        "id": info.id,
        "pid": info.pid,
        "status": info.status,
        "started_unix_ms": info.started_unix_ms,
        "events_traced": info.kinds,
        "duration_ms": info.duration_ms,
        "max_events": info.max_events,
        "events_recorded": info.events,
    })
}

/// The usual answers to a refused trace request.
impl From<TraceError> for crate::Error {
    fn from(error: TraceError) -> crate::Error {
        match error {
            TraceError::NotFound(message) => {
                crate::Error::not_found(message).with_code("trace_not_found")
            }
            TraceError::NoProcess(message) => {
                crate::Error::not_found(message).with_code("process_not_found")
            }
            TraceError::Invalid(message) => {
                crate::Error::invalid_params(message).with_code("validation_error")
            }
            TraceError::Conflict(message) => {
                crate::Error::conflict(message).with_code("too_many_traces")
            }
        }
    }
}
