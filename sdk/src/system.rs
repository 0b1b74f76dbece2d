//! Capability `system`: read-only facts about the host and its engine.
//!
//! Calling anything here makes the component import `arsenal:runtime/system`, which its
//! source must be granted.

pub use crate::bindings::arsenal::runtime::system::{EngineInfo, HostInfo};

/// The host process and machine.
pub fn host_info() -> HostInfo {
    crate::bindings::arsenal::runtime::system::get_host_info()
}

/// The wasm engine, its limits and how many operations are loaded.
pub fn engine_info() -> EngineInfo {
    crate::bindings::arsenal::runtime::system::get_engine_info()
}
