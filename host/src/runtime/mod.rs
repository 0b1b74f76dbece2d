//! The runtime: long-lived wasm processes. Today: pids and the worker lifecycle (start,
//! handle, hibernate, wake) on the workers' own engine; the process table, supervisors and
//! sandboxes build on these.

mod pid;
mod worker;

pub use pid::{Pid, PidError};
pub use worker::{Event, Hibernated, Worker, WorkerCode, WorkerEngine, WorkerError, WorkerLimits};
