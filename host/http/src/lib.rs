//! The HTTP surface, and the only crate of the host (with the binary that serves it) that
//! knows axum: operation routes,
//! the catalogue, health, the OpenAPI document, batches of calls, the web console and its
//! event stream, and one error shape everywhere.

mod admin;
mod audit;
mod audit_log;
mod auth;
mod batch;
mod catalog;
mod cluster;
mod connections;
mod console;
mod dispatch;
mod endpoint;
mod endpoints;
mod error;
mod error_code;
mod events;
mod extract;
mod hardening;
mod openapi;
mod reach;
mod request_id;
mod router;
mod serve;
mod telemetry;
mod whoami;
mod workers;

pub use cluster::serve_forwarded;
pub use endpoints::openapi_document;
pub use error::ApiError;
pub use error_code::ErrorCode;
pub use events::MAX_STREAMS as MAX_EVENT_STREAMS;
pub use router::router;
pub use serve::{serve, shutdown_signal};
