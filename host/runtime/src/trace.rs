//! Tracing and profiling of processes. A trace records a process's events of the kinds
//! asked for (messages sent, messages received, lifecycle changes, host calls) for a
//! duration or up to a number of events, whichever comes first. A profile measures, over
//! a window, the handling time and memory growth per message kind (the first word of a
//! payload); while profiled a process handles one message per call so each is timed alone.
//! Both are observers the kernel tells of a process's events ([`Observer`]); this module
//! keeps what they record.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::kernel::{Event, Kernel, Observer, Pid, SendError, TraceKind, unix_ms};

/// Traces kept at once (active or finished and not yet deleted).
const MAX_TRACES: usize = 100;

/// What to trace.
#[derive(Debug, Clone)]
pub struct TraceOptions {
    pub kinds: Vec<TraceKind>,
    pub duration: Duration,
    pub max_events: usize,
}

/// One recorded event.
#[derive(Debug, Clone)]
pub struct TraceEvent {
    /// Microseconds since the trace started.
    pub offset_us: u64,
    pub kind: TraceKind,
    pub detail: String,
}

/// Why a trace no longer records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceStatus {
    Active,
    /// Its duration passed.
    Expired,
    /// It holds its maximum of events.
    Full,
    ProcessExited,
    Stopped,
}

impl TraceStatus {
    pub fn name(self) -> &'static str {
        match self {
            TraceStatus::Active => "active",
            TraceStatus::Expired => "expired",
            TraceStatus::Full => "full",
            TraceStatus::ProcessExited => "process_exited",
            TraceStatus::Stopped => "stopped",
        }
    }
}

/// One trace of one process.
#[derive(Debug)]
pub struct Trace {
    pub id: u64,
    pub pid: Pid,
    pub options: TraceOptions,
    started: Instant,
    started_at: SystemTime,
    inner: Mutex<TraceLog>,
}

#[derive(Debug)]
struct TraceLog {
    events: Vec<TraceEvent>,
    status: TraceStatus,
}

impl Trace {
    pub fn started_unix_ms(&self) -> u64 {
        unix_ms(self.started_at)
    }

    fn log(&self) -> std::sync::MutexGuard<'_, TraceLog> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The status now (an active trace past its duration reads as expired).
    pub fn status(&self) -> TraceStatus {
        let mut log = self.log();
        if log.status == TraceStatus::Active && self.started.elapsed() >= self.options.duration {
            log.status = TraceStatus::Expired;
        }
        log.status
    }

    /// Events from `offset`, at most `limit`, and how many there are in all.
    pub fn events(&self, offset: usize, limit: usize) -> (Vec<TraceEvent>, usize) {
        let log = self.log();
        let page = log
            .events
            .iter()
            .skip(offset)
            .take(limit)
            .cloned()
            .collect();
        (page, log.events.len())
    }

    fn end(&self, status: TraceStatus) {
        let mut log = self.log();
        if log.status == TraceStatus::Active {
            log.status = status;
        }
    }

    /// Record an event; false once the trace no longer records.
    fn record(&self, kind: TraceKind, detail: &dyn Fn() -> String) -> bool {
        let elapsed = self.started.elapsed();
        let mut log = self.log();
        if log.status != TraceStatus::Active {
            return false;
        }
        if elapsed >= self.options.duration {
            log.status = TraceStatus::Expired;
            return false;
        }
        if self.options.kinds.contains(&kind) {
            log.events.push(TraceEvent {
                offset_us: elapsed.as_micros() as u64,
                kind,
                detail: detail(),
            });
            if log.events.len() >= self.options.max_events {
                log.status = TraceStatus::Full;
                return false;
            }
        }
        true
    }
}

/// Time and memory of one message kind over a profile window.
#[derive(Debug, Clone, Default)]
pub struct KindProfile {
    pub count: u64,
    pub total: Duration,
    pub max: Duration,
    pub memory_growth_bytes: u64,
}

/// The result of a profile.
#[derive(Debug, Clone)]
pub struct Profile {
    pub pid: Pid,
    pub window: Duration,
    pub kinds: BTreeMap<String, KindProfile>,
    pub memory_start: u64,
    pub memory_end: u64,
    /// The process exited during the window.
    pub exited: bool,
}

impl Observer for Trace {
    fn event(&self, kind: TraceKind, detail: &dyn Fn() -> String) -> bool {
        self.record(kind, detail)
    }

    fn exited(&self) {
        self.end(TraceStatus::ProcessExited);
    }
}

/// A profile in progress: time and memory per message kind.
#[derive(Default)]
struct Profiler {
    kinds: Mutex<BTreeMap<String, KindProfile>>,
}

impl Observer for Profiler {
    fn event(&self, _kind: TraceKind, _detail: &dyn Fn() -> String) -> bool {
        true
    }

    fn per_message(&self) -> bool {
        true
    }

    fn handled(&self, event: &Event, took: Duration, memory_growth: u64) {
        let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        let entry = kinds.entry(event_kind(event)).or_default();
        entry.count += 1;
        entry.total += took;
        entry.max = entry.max.max(took);
        entry.memory_growth_bytes += memory_growth;
    }

    fn exited(&self) {}
}

/// Every trace of a kernel's processes by id, and the profiles in progress.
pub(crate) struct Traces {
    kernel: Arc<Kernel>,
    next: AtomicU64,
    by_id: Mutex<HashMap<u64, Arc<Trace>>>,
}

/// Why a trace or profile request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    #[error("no trace {0}")]
    NotFound(u64),
    #[error("{0}")]
    NoProcess(SendError),
    #[error("{0} traces are kept at most; delete finished ones first")]
    TooMany(usize),
    #[error("{0}")]
    Invalid(String),
}

/// The kind of a message for profiles: for a JSON object, its `type`, `kind`, `op` or
/// `command` field; otherwise the first word of the payload.
fn message_kind(payload: &str) -> String {
    if let Ok(serde_json::Value::Object(object)) = serde_json::from_str(payload) {
        let named = ["type", "kind", "op", "command"]
            .iter()
            .find_map(|key| object.get(*key).and_then(|value| value.as_str()));
        if let Some(kind) = named {
            return kind.chars().take(64).collect();
        }
    }
    let word = payload
        .trim()
        .trim_matches('"')
        .split_whitespace()
        .next()
        .unwrap_or("(empty)");
    word.chars().take(64).collect()
}

/// An event's kind for profiles.
fn event_kind(event: &Event) -> String {
    match event {
        Event::Message { payload, .. } | Event::Call { payload, .. } => message_kind(payload),
        Event::Timer { .. } => "(timer)".to_owned(),
        Event::Exit { .. } => "(exit)".to_owned(),
        Event::Down { .. } => "(down)".to_owned(),
    }
}

impl Traces {
    pub(crate) fn new(kernel: Arc<Kernel>) -> Traces {
        Traces {
            kernel,
            next: AtomicU64::new(0),
            by_id: Mutex::new(HashMap::new()),
        }
    }

    /// Start tracing a process.
    pub(crate) fn start(
        &self,
        target: &str,
        options: TraceOptions,
    ) -> Result<Arc<Trace>, TraceError> {
        if options.kinds.is_empty() {
            return Err(TraceError::Invalid(
                "trace at least one kind of event".to_owned(),
            ));
        }
        let entry = self.kernel.entry(target).map_err(TraceError::NoProcess)?;
        let mut by_id = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        if by_id.len() >= MAX_TRACES {
            return Err(TraceError::TooMany(MAX_TRACES));
        }
        let trace = Arc::new(Trace {
            id: self.next.fetch_add(1, Ordering::Relaxed) + 1,
            pid: entry.pid.clone(),
            options,
            started: Instant::now(),
            started_at: SystemTime::now(),
            inner: Mutex::new(TraceLog {
                events: Vec::new(),
                status: TraceStatus::Active,
            }),
        });
        by_id.insert(trace.id, trace.clone());
        entry.observers.attach(trace.clone());
        Ok(trace)
    }

    pub(crate) fn get(&self, id: u64) -> Result<Arc<Trace>, TraceError> {
        self.by_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
            .ok_or(TraceError::NotFound(id))
    }

    /// Stop a trace and forget it; its events come back one last time.
    pub(crate) fn stop(&self, id: u64) -> Result<Arc<Trace>, TraceError> {
        let trace = self
            .by_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id)
            .ok_or(TraceError::NotFound(id))?;
        trace.end(TraceStatus::Stopped);
        if let Some(entry) = self.kernel.entry_by_pid(&trace.pid) {
            let observer: Arc<dyn Observer> = trace.clone();
            entry.observers.detach(&observer);
        }
        Ok(trace)
    }

    /// Profile a process for `window`: time and memory per message kind.
    pub(crate) async fn profile(
        &self,
        target: &str,
        window: Duration,
    ) -> Result<Profile, TraceError> {
        let entry = self.kernel.entry(target).map_err(TraceError::NoProcess)?;
        let profiler = Arc::new(Profiler::default());
        let observer: Arc<dyn Observer> = profiler.clone();
        if !entry.observers.attach(observer.clone()) {
            return Err(TraceError::Invalid(format!(
                "{} is being profiled already",
                entry.pid
            )));
        }
        let memory_start = entry.counters.memory_bytes.load(Ordering::Relaxed);
        let exited = self.kernel.await_exit(&entry.pid.to_string());
        let exited = match exited {
            Ok(exited) => tokio::select! {
                _ = exited => true,
                () = tokio::time::sleep(window) => false,
            },
            Err(error) => {
                entry.observers.detach(&observer);
                return Err(TraceError::NoProcess(error));
            }
        };
        entry.observers.detach(&observer);
        let kinds = std::mem::take(&mut *profiler.kinds.lock().unwrap_or_else(|p| p.into_inner()));
        Ok(Profile {
            pid: entry.pid.clone(),
            window,
            kinds,
            memory_start,
            memory_end: entry.counters.memory_bytes.load(Ordering::Relaxed),
            exited,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_kinds_are_first_words() {
        assert_eq!(message_kind("add 5"), "add");
        assert_eq!(message_kind("\"inc\""), "inc");
        assert_eq!(message_kind(r#"{"key":1,"op":"put"}"#), "put");
        assert_eq!(message_kind("   "), "(empty)");
    }
}
