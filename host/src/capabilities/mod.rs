//! The permission model: an operation's imports are its permissions. The policy decides
//! which imports a component may have; the other modules implement the host side of each
//! import (the baseline WASI, logging, and the named capabilities).

mod logging;
mod policy;
mod processes;
mod sandboxes;
mod supervisors;
mod system;
mod tracing;
mod wasi;

pub use policy::{
    CONTRACT_VERSIONS, Capability, Grants, ImportProblem, ImportVerdict, Source, UnknownCapability,
    check_imports,
};
pub(crate) use system::HostFacts;
pub(crate) use wasi::{
    GuestOutput, add_baseline_to_linker, add_filesystem_to_linker, wasi_ctx, wasi_ctx_with_dir,
};
