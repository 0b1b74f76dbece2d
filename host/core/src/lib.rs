//! Arsenal's host below HTTP: the engine and the component pipeline, the operation
//! catalogue and its executor, the process runtime, the capabilities guests import, audit,
//! telemetry and the cluster. `arsenal-http` serves it; the `arsenal` binary assembles both.
//!
//! See `ARCHITECTURE.md` for the map of modules and the invariants.

pub mod audit;
pub mod auth;
mod builtin;
pub mod capabilities;
pub mod cluster;
pub mod concurrent;
mod handler;
pub mod host;
mod incoming;
pub mod invoke;
pub mod lifecycle;
pub mod loader;
pub mod registry;
mod replica;
mod retirement;
mod state;
mod store;
pub mod telemetry;
pub mod uploads;
pub mod warm;

pub mod config;
pub mod facts;
mod gate;

pub use arsenal_runtime as runtime;

pub use arsenal_engine::{
    bindings, cache, compiler, component, engine, inspect, limits, permits, policy, routes, spec,
    system_facts, validation,
};
pub mod watch;

pub use auth::{
    Access, AccessError, AuthError, KeyError, LOCAL_ADMIN, Limited, Principal, RateClock, Role,
    Scope, TokenError, hash_key, read_kept_token,
};
pub use builtin::components as builtin_components;
pub use cache::{CompileCache, content_hash};
pub use cluster::ClusterError;
pub use compiler::{CompileError, Compiler, CompilerFacts};
pub use engine::{EngineFacts, EngineRecipe, OperationEngine};
pub use host::{Host, LoadProblem, StartError};
pub use inspect::{ComponentShape, ShapeError};
pub use invoke::{
    CallError, CallLimits, Caller, GuestFailure, InstanceGate, JsonText, OpErrorKind,
};
pub use limits::Refusal;
pub use loader::{Instances, LoadError, LoadSummary, LoadedOperation};
pub use permits::Denied;
pub use policy::{
    CONTRACT_VERSIONS, Capability, Grants, ImportProblem, ImportVerdict, Source, UnknownCapability,
    check_imports,
};
pub use registry::{Added, Catalog, Put, Registry, Resolved, Swapped};
pub use routes::{RouteConflict, RouteMatch, RouteTable};
pub use spec::{
    ConfigProblem, Location, OperationSpec, ParamSpec, ParamType, RawConfig, RawParam,
    RouteTemplate,
};
pub use telemetry::Telemetry;
pub use validation::{FieldError, ParamValidator, RawInput, ValidationError};
