//! The permission model: an operation's imports are its permissions. The policy decides
//! which imports a component may have; the other modules implement the host side of each
//! import (the baseline WASI, logging, and the named capabilities).

mod distributed;
mod processes;
mod sandboxes;
mod supervisors;
mod system;
mod tracing;

pub use arsenal_engine::permits::{Denied, Permits};
pub use arsenal_engine::policy::{
    CONTRACT_VERSIONS, Capability, Grants, ImportProblem, ImportVerdict, Source, UnknownCapability,
    check_imports,
};
pub use arsenal_engine::wasi::{GuestOutput, add_baseline_to_linker, add_filesystem_to_linker};
pub(crate) use system::HostFacts;

/// A host function's answer, for the trappable bindings: its value, never a trap (the
/// refusal of a capability is the one trap, checked before).
fn answer<T>(compute: impl FnOnce() -> T) -> wasmtime::Result<T> {
    Ok(compute())
}
