//! Capabilities `processes` (read the process table) and `process_control` (kill,
//! suspend, resume). Calling a function here makes the component import the interface
//! behind it, which its source must be granted. Targets are pids (`<local.0.42>`) or
//! registered names.

pub use crate::bindings::arsenal::runtime::processes::{LookupError, ProcessInfo};
use crate::bindings::arsenal::runtime::{process_control, processes};

/// A pattern matching a pid or a registered name, for path parameters.
pub const TARGET_PATTERN: &str = r"^(<[A-Za-z0-9_-]{1,64}\.[0-9]+\.[0-9]+>|[A-Za-z0-9_.-]{1,64})$";

/// The `:pid` path parameter of process operations: a pid or a registered name, checked
/// by the host (422 `validation_error` when malformed) before the operation runs.
pub fn target_param() -> crate::Param {
    crate::Param::path("pid")
        .string()
        .pattern(TARGET_PATTERN)
        .describe("A pid such as <local.0.42>, or a registered name")
}

/// Every live process.
pub fn list() -> Vec<ProcessInfo> {
    processes::list_processes()
}

/// One process by pid or name.
pub fn get(target: &str) -> Result<ProcessInfo, LookupError> {
    processes::get_process(target)
}

/// Registered names and their pids.
pub fn registered() -> Vec<(String, String)> {
    processes::list_registered()
}

/// Send an exit signal (`normal`, `shutdown`, `kill`, or a crash reason); returns the pid.
pub fn kill(target: &str, reason: &str) -> Result<String, LookupError> {
    process_control::kill(target, reason)
}

/// Stop a process handling messages until resumed; returns the pid.
pub fn suspend(target: &str) -> Result<String, LookupError> {
    process_control::suspend(target)
}

/// Resume a suspended process; returns the pid.
pub fn resume(target: &str) -> Result<String, LookupError> {
    process_control::resume(target)
}

/// The usual answer to a failed lookup: 404 `process_not_found`.
impl From<LookupError> for crate::Error {
    fn from(error: LookupError) -> crate::Error {
        match error {
            LookupError::NotFound(message) => {
                crate::Error::not_found(message).with_code("process_not_found")
            }
            LookupError::Protected(message) => protected(message),
        }
    }
}

/// 403 `critical_process_protection`: the host's own services are not for operators to
/// stop, suspend, hibernate or restart.
pub(crate) fn protected(message: String) -> crate::Error {
    crate::Error::forbidden(message).with_code("critical_process_protection")
}

/// A process as JSON, with the host's field names.
pub fn to_json(info: &ProcessInfo) -> serde_json::Value {
    serde_json::json!({
        "pid": info.pid,
        "name": info.name,
        "worker": info.worker,
        "parent": info.parent,
        "status": info.status,
        "started_unix_ms": info.started_unix_ms,
        "links": info.links,
        "monitored_by": info.monitored_by,
        "trap_exit": info.trap_exit,
        "mailbox_len": info.mailbox_len,
        "mailbox_capacity": info.mailbox_capacity,
        "messages_in": info.messages_in,
        "messages_out": info.messages_out,
        "handle_calls": info.handle_calls,
        "busy_ms": info.busy_ms,
        "cpu_us": info.cpu_us,
        "restarts": info.restarts,
        "memory_bytes": info.memory_bytes,
        "state_bytes": info.state_bytes,
        "waiting_on": info.waiting_on,
    })
}

pub use crate::bindings::arsenal::runtime::processes::{
    Mailbox, MemoryHistory, QueuedMessage, StateError,
};

/// The first `limit` queued messages of a process, left in place.
pub fn mailbox(target: &str, limit: u32) -> Result<Mailbox, LookupError> {
    processes::inspect_mailbox(target, limit)
}

/// A process's state as its worker snapshots it; `None` for a worker without `state`.
pub fn state(target: &str) -> Result<Option<Vec<u8>>, StateError> {
    processes::get_state(target)
}

/// Memory histories of the processes with at least `min_samples` samples.
pub fn memory_histories(min_samples: u32) -> Vec<MemoryHistory> {
    processes::memory_histories(min_samples)
}

/// The usual answers to a failed state read.
impl From<StateError> for crate::Error {
    fn from(error: StateError) -> crate::Error {
        match error {
            StateError::NotFound(message) => {
                crate::Error::not_found(message).with_code("process_not_found")
            }
            StateError::Failed(message) => {
                crate::Error::internal(message).with_code("snapshot_failed")
            }
        }
    }
}

pub use crate::bindings::arsenal::runtime::process_control::{RestartError, Restarted};

/// Restart a worker process, keeping its state where it can (capability `process_control`).
pub fn restart(target: &str) -> Result<Restarted, RestartError> {
    process_control::restart(target)
}

/// The usual answers to a refused restart.
impl From<RestartError> for crate::Error {
    fn from(error: RestartError) -> crate::Error {
        match error {
            RestartError::NotFound(message) => {
                crate::Error::not_found(message).with_code("process_not_found")
            }
            RestartError::Protected(message) => protected(message),
            RestartError::NotRestartable(message) => {
                crate::Error::conflict(message).with_code("not_restartable")
            }
            RestartError::Failed(message) => {
                crate::Error::internal(message).with_code("restart_failed")
            }
        }
    }
}

pub use crate::bindings::arsenal::runtime::process_control::{SpawnError, SpawnOptions};

/// Start a process running the loaded worker `worker`; returns its pid.
pub fn spawn(worker: &str, args: &str, options: &SpawnOptions) -> Result<String, SpawnError> {
    process_control::spawn(worker, args, options)
}

/// The loaded worker components: name and version.
pub fn workers() -> Vec<(String, String)> {
    process_control::list_workers()
}

/// The usual answers to a refused spawn.
impl From<SpawnError> for crate::Error {
    fn from(error: SpawnError) -> crate::Error {
        match error {
            SpawnError::UnknownWorker(worker) => {
                crate::Error::not_found(format!("no worker named `{worker}` is loaded"))
                    .with_code("worker_not_found")
            }
            SpawnError::Invalid(message) => {
                crate::Error::conflict(message).with_code("spawn_refused")
            }
            SpawnError::StartFailed(message) => {
                crate::Error::invalid_params(message).with_code("start_failed")
            }
        }
    }
}

pub use crate::bindings::arsenal::runtime::messaging::DeliveryError;

/// Queue a message for a process (capability `messaging`).
pub fn send(target: &str, payload: &str) -> Result<(), DeliveryError> {
    crate::bindings::arsenal::runtime::messaging::send(target, payload)
}

/// Send a call and wait up to `timeout_ms` for the reply (capability `messaging`).
pub fn call(target: &str, payload: &str, timeout_ms: u32) -> Result<String, DeliveryError> {
    crate::bindings::arsenal::runtime::messaging::call(target, payload, timeout_ms)
}

/// The usual answers to a failed delivery.
impl From<DeliveryError> for crate::Error {
    fn from(error: DeliveryError) -> crate::Error {
        match error {
            DeliveryError::NotFound(message) => {
                crate::Error::not_found(message).with_code("process_not_found")
            }
            DeliveryError::MailboxFull(message) => {
                crate::Error::unavailable(message).with_code("mailbox_full")
            }
            DeliveryError::Timeout(message) => {
                crate::Error::timeout(message).with_code("call_timeout")
            }
            DeliveryError::Exited(message) => {
                crate::Error::conflict(message).with_code("process_exited")
            }
        }
    }
}

pub use crate::bindings::arsenal::runtime::process_control::HibernateError;

/// Hibernate a process now; returns the pid (capability `process_control`).
pub fn hibernate(target: &str) -> Result<String, HibernateError> {
    process_control::hibernate(target)
}

/// The usual answers to a refused hibernation.
impl From<HibernateError> for crate::Error {
    fn from(error: HibernateError) -> crate::Error {
        match error {
            HibernateError::NotFound(message) => {
                crate::Error::not_found(message).with_code("process_not_found")
            }
            HibernateError::Protected(message) => protected(message),
            HibernateError::NotSupported(message) => {
                crate::Error::conflict(message).with_code("cannot_hibernate")
            }
            HibernateError::Failed(message) => {
                crate::Error::internal(message).with_code("hibernate_failed")
            }
        }
    }
}
