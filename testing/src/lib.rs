//! Test support for Arsenal authors: load your component into an in-process host from
//! `cargo test`, call it by HTTP or by name, and assert on data, status and error codes;
//! start a worker under a supervisor, message it, crash it and assert its restarts.
//!
//! ```no_run
//! # async fn example() -> Result<(), arsenal_testing::Error> {
//! use arsenal_testing::{TestHost, build_component};
//!
//! let wasm = build_component(env!("CARGO_MANIFEST_DIR"))?;
//! let host = TestHost::builder().operation(&wasm).start().await?;
//! let reply = host.get("/api/v1/greet/ann?times=2").await;
//! assert_eq!(reply.data()["greeting"], "hello, ann! hello, ann!");
//! host.get("/api/v1/greet/nobody").await.assert_error(404, "not_found");
//! # Ok(())
//! # }
//! ```
//!
//! The host is the real one (`arsenal::Host` behind its real router), with the built-in
//! operations, local-mode access and a known admin token that every request carries, a
//! private state directory, and no rate limits.
//!
//! A component that calls out gets its grants as an operator would give them in
//! `[components.<name>]`, through [`TestHostBuilder::grant`] ([`Grant`]: destinations,
//! shared buckets, configuration values, secrets), and a real server to call: an
//! [`Upstream`] on 127.0.0.1 that keeps the requests it received.
//!
//! ```no_run
//! # async fn example(wasm: &std::path::Path) -> Result<(), arsenal_testing::Error> {
//! use arsenal_testing::{TestHost, Upstream};
//! use axum::{Router, routing::get};
//! use serde_json::json;
//!
//! let upstream = Upstream::start(Router::new().route("/status", get(|| async { "up" }))).await?;
//! let host = TestHost::builder()
//!     .operation(wasm)
//!     .grant("status", |grant| grant.upstream(&upstream).secret("token", "t0"))
//!     .start()
//!     .await?;
//! host.call("status", json!({ "url": upstream.url("/status") })).await.assert_ok(200);
//! assert_eq!(upstream.requests()[0].header("authorization"), Some("Bearer t0"));
//! # Ok(())
//! # }
//! ```
//!
//! A test that needs other settings (API keys and their roles, rate limits, a state
//! directory it reopens) starts the host with exactly those settings through
//! [`TestHost::with_settings`], or serves a host it started itself through
//! [`TestHost::serving`]; [`TestHost::send_as`] sends a request with any credential, or
//! none, and any headers.

#![warn(missing_docs)]

mod build;
mod error;
mod grant;
mod host;
mod reply;
mod upstream;
mod worker;

pub use build::{BuildError, build_component};
pub use error::Error;
pub use grant::Grant;
pub use host::{ADMIN_TOKEN, TestHost, TestHostBuilder};
pub use reply::Reply;
pub use upstream::{Received, Upstream};
pub use worker::SupervisedWorker;

/// The host crate, for settings and runtime types (`arsenal::config::Settings`, ...).
pub use arsenal;
/// The HTTP framework an [`Upstream`] serves (`axum::Router`, `axum::http::StatusCode`),
/// at the version it takes.
pub use axum;
