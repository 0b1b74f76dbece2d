//! Arsenal's engine layer: the one wasmtime configuration (engines, pooling, epochs), the
//! per-call limits, the on-disk cache of compiled components and the compiler that fills
//! it, a component's shape (`inspect`), the generated bindings of the contracts, the
//! store data every guest has with its baseline interfaces (WASI, `log`), how guest code
//! fails, a component's self-description parsed into a typed spec with its parameter
//! validation and route table, the capability vocabulary with its grants and role
//! permits, and the life of a component of either kind (`component`: the loading
//! pipeline, its error, the version store).
//!
//! Nothing here knows the process runtime, the HTTP surface or the cluster: the crates
//! above build on it (`arsenal-core`, `arsenal-http`, the `arsenal` binary).

pub mod bindings;
pub mod cache;
pub mod compiler;
pub mod component;
pub mod engine;
pub mod failure;
pub mod guest;
pub mod inspect;
pub mod limits;
mod logging;
pub mod lookups;
pub mod permits;
pub mod policy;
pub mod routes;
pub mod settings;
pub mod spec;
pub mod system_facts;
pub mod validation;
pub mod wasi;
