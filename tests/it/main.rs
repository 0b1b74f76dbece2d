//! Integration tests: real components (built from source by this crate's build script),
//! a real host, and HTTP through the real router — in-process with `oneshot`, or over a
//! loopback socket where the transport matters (disconnects, shutdown, the CLI's `--url`).

mod admin;
mod async_contract;
mod audit;
mod auth;
mod batch;
mod cli;
mod cluster_of_one;
mod config_caps;
mod console;
mod contract;
mod example_workers;
mod hardening;
mod health_prober;
mod host_services;
mod http_handlers;
mod http_service;
mod inspection_operations;
mod keyvalue;
mod languages;
mod limits;
mod loading;
mod openapi;
mod operations;
mod outbound;
mod permissions;
mod process_operations;
mod python_worker;
mod rate_limits;
mod restore;
mod sandbox_grants;
mod sandboxes;
mod scaffold;
mod serve;
mod storage;
mod supervisor_operations;
mod support;
mod telemetry;
mod toolchains;
mod tracing_operations;
mod validation;
mod warm;
mod watch;
mod worker_pool;

pub(crate) use support::*;
