//! Configuration and secrets through `wasi:config/store` (wasmtime's `wasmtime-wasi-config`).
//!
//! The operator gives each component its values by name in `[components.<name>]`:
//! `config` (plain text, or read from an environment variable) and `secrets` (read from
//! an environment variable or a file). They are resolved when an operation is loaded or
//! a worker starts ([`ConfigValues`]), and every instance reads the same map. A secret's
//! value goes to the component alone: the catalogue says only whether it is set, and no
//! log line, audit record or error message names it.

mod host;
mod source;
mod values;

pub use host::{ConfigState, ConfigView, add_to_linker};
pub use source::{ConfigSource, InvalidConfigGrant, SecretSource};
pub use values::{ConfigGrant, ConfigValues, Configuration, Shown};
