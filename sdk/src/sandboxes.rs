//! Capability `sandboxes`: isolated supervision trees with their own budgets and policy.
//! Calling a function here makes the component import `arsenal:runtime/sandboxes`.

use crate::bindings::arsenal::runtime::sandboxes as host;
pub use crate::bindings::arsenal::runtime::sandboxes::{
    Destroyed, Reloaded, RunOutcome, SandboxError, SandboxInfo,
};

/// The `:id` path parameter of sandbox operations.
pub fn id_param() -> crate::Param {
    crate::Param::path("id")
        .string()
        .pattern(ID_PATTERN)
        .describe("The sandbox's id")
}

/// What a sandbox id looks like.
pub const ID_PATTERN: &str = r"^[A-Za-z0-9_.-]{1,64}$";

/// Every sandbox.
pub fn list() -> Vec<SandboxInfo> {
    host::list_sandboxes()
}

/// One sandbox.
pub fn get(id: &str) -> Result<SandboxInfo, SandboxError> {
    host::get_sandbox(id)
}

/// Create a sandbox from its JSON spec.
pub fn create(spec: &str) -> Result<SandboxInfo, SandboxError> {
    host::create_sandbox(spec)
}

/// Stop every process of a sandbox and forget it.
pub fn destroy(id: &str) -> Result<Destroyed, SandboxError> {
    host::destroy_sandbox(id)
}

/// Stop a sandbox's tree and start it again from its spec.
pub fn restart(id: &str) -> Result<SandboxInfo, SandboxError> {
    host::restart_sandbox(id)
}

/// Change some limits (a JSON object of the spec's `limits` fields).
pub fn set_limits(id: &str, limits: &str) -> Result<SandboxInfo, SandboxError> {
    host::set_limits(id, limits)
}

/// Change the policy (a JSON object of the spec's `policy` fields).
pub fn set_policy(id: &str, policy: &str) -> Result<SandboxInfo, SandboxError> {
    host::set_policy(id, policy)
}

/// A one-shot call of `worker` inside the sandbox.
pub fn run(
    id: &str,
    worker: &str,
    args: &str,
    payload: &str,
    timeout_ms: u32,
) -> Result<RunOutcome, SandboxError> {
    host::run_in_sandbox(id, worker, args, payload, timeout_ms)
}

/// Move the sandbox's processes of `worker` to its loaded version.
pub fn hot_reload(id: &str, worker: &str) -> Result<Reloaded, SandboxError> {
    host::hot_reload(id, worker)
}

/// A sandbox as JSON.
pub fn info_json(info: &SandboxInfo) -> serde_json::Value {
    serde_json::json!({
        "id": info.id,
        "created_unix_ms": info.created_unix_ms,
        "status": info.status,
        "root": info.root,
        "limits": {
            "total_memory_bytes": info.limits.total_memory_bytes,
            "process_memory_bytes": info.limits.process_memory_bytes,
            "max_processes": info.limits.max_processes,
            "message_deadline_ms": info.limits.message_deadline_ms,
            "cpu_time_ms": info.limits.cpu_time_ms,
        },
        "policy": {
            "external_messaging": info.policy.external_messaging,
            "directory": info.policy.directory,
        },
        "usage": {
            "processes": info.usage.processes,
            "memory_bytes": info.usage.memory_bytes,
            "cpu_time_ms": info.usage.cpu_time_ms,
        },
        "members": info.members,
    })
}

/// The usual answers to a refused sandbox request.
impl From<SandboxError> for crate::Error {
    fn from(error: SandboxError) -> crate::Error {
        match error {
            SandboxError::NotFound(message) => {
                crate::Error::not_found(message).with_code("sandbox_not_found")
            }
            SandboxError::Invalid(message) => {
                crate::Error::invalid_params(message).with_code("validation_error")
            }
            SandboxError::Conflict(message) => {
                crate::Error::conflict(message).with_code("sandbox_conflict")
            }
            SandboxError::Failed(message) => {
                crate::Error::invalid_params(message).with_code("sandbox_failed")
            }
        }
    }
}
