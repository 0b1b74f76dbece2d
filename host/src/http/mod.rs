//! The HTTP surface, and the only part of the host that knows axum: operation routes,
//! the catalogue, health, the OpenAPI document, and one error shape everywhere.

mod catalog;
mod dispatch;
mod error;
mod request_id;
mod router;
mod serve;

pub use error::ApiError;
pub use router::router;
pub use serve::{serve, shutdown_signal};
