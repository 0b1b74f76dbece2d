//! The standard WASI interfaces Arsenal grants as capabilities, one module each: outbound
//! HTTP (`wasi:http/outgoing-handler`), key-value storage (`wasi:keyvalue`) and
//! configuration (`wasi:config/store`).
//!
//! A module links its interfaces against a view trait of its own, never a store type, so
//! operations (`arsenal_core`'s `CallState`) and workers (`arsenal_runtime`'s
//! `ProcessState`) link the same code. What a component may reach is decided when it is
//! loaded (its request, intersected with the operator's grant) and carried in the
//! instance's state; every host call checks against that, never against configuration.

pub mod config;
mod granted;
pub mod grants;
pub mod http;
pub mod keyvalue;
mod reach;

pub use granted::{Granted, Grantee};
pub use reach::{ComponentReach, GrantError, ReachError, Requests, WasiCapabilities, WasiState};
