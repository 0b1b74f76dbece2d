//! Arsenal: a WebAssembly plugin host. Operations are wasm components that describe
//! themselves; the host turns each into a validated, documented REST endpoint.
//!
//! This crate is the binary's assembly and command line. The host below HTTP is
//! `arsenal-core`, the HTTP surface `arsenal-http`; their public API is re-exported here so
//! that an embedder or a test names one crate. See `ARCHITECTURE.md`.

pub mod cli;

pub use arsenal_core::*;
pub use arsenal_http as http;
pub use arsenal_http::openapi_document;
