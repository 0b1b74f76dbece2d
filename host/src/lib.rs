//! Arsenal: a WebAssembly plugin host. Operations are wasm components that describe
//! themselves; the host turns each into a validated, documented REST endpoint and runs
//! every call in a fresh, limited instance.
//!
//! See `ARCHITECTURE.md` for the map of modules and the invariants.

pub mod audit;
mod auth;
mod bindings;
mod builtin;
mod cache;
mod capabilities;
mod cluster;
mod compiler;
mod engine;
mod handler;
mod host;
mod host_services;
mod inspect;
mod invoke;
mod limits;
mod loader;
mod openapi;
mod registry;
mod retirement;
mod routes;
pub mod runtime;
mod spec;
mod state;
mod store;
mod system_facts;
mod telemetry;
mod uploads;
mod validation;
mod warm;

pub mod cli;
pub mod config;
pub mod http;
pub mod watch;

pub use auth::{
    Access, AccessError, AuthError, KeyError, LOCAL_ADMIN, Limited, Principal, RateClock, Role,
    Scope, TokenError, hash_key, read_kept_token,
};
pub use builtin::components as builtin_components;
pub use cache::{CompileCache, content_hash};
pub use capabilities::{
    CONTRACT_VERSIONS, Capability, Denied, Grants, ImportProblem, ImportVerdict, Source,
    UnknownCapability, check_imports,
};
pub use cluster::ClusterError;
pub use compiler::{CompileError, Compiler, CompilerFacts};
pub use engine::{EngineFacts, EngineRecipe, OperationEngine};
pub use host::{Host, LoadProblem, StartError};
pub use inspect::{ComponentShape, ShapeError};
pub use invoke::{
    CallError, CallLimits, Caller, GuestFailure, InstanceGate, JsonText, OpErrorKind,
};
pub use limits::Refusal;
pub use loader::{LoadError, LoadSummary, LoadedOperation};
pub use openapi::document as openapi_document;
pub use registry::{Added, Catalog, Put, Registry, Resolved, Swapped};
pub use routes::{RouteConflict, RouteMatch, RouteTable};
pub use spec::{
    ConfigProblem, Location, OperationSpec, ParamSpec, ParamType, RawConfig, RawParam,
    RouteTemplate,
};
pub use telemetry::Telemetry;
pub use validation::{FieldError, ParamValidator, RawInput, ValidationError};
