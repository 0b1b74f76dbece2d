//! Write Arsenal operations in Rust.
//!
//! An operation is a type implementing [`Operation`]: a [`Config`] describing its route
//! and typed parameters, and an `execute` function that receives parameters the host has
//! already decoded, coerced and validated. [`export!`] turns it into a component.
//!
//! ```no_run
//! use arsenal_sdk::prelude::*;
//!
//! struct Greet;
//!
//! impl Operation for Greet {
//!     fn config() -> Config {
//!         Config::get("greet", "/api/v1/greet/:name")
//!             .summary("Greet someone")
//!             .param(Param::path("name").string().max_length(64))
//!             .param(Param::query("excited").boolean().default(false))
//!     }
//!
//!     fn execute(request: Request) -> Result<impl Serialize> {
//!         let name: String = request.param("name")?;
//!         let excited: bool = request.param("excited")?;
//!         log::info(&format!("greeting {name}"));
//!         Ok(json!({ "greeting": format!("hello, {name}{}", if excited { "!" } else { "" }) }))
//!     }
//! }
//!
//! arsenal_sdk::export!(Greet);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2` and serve the `.wasm` with
//! `arsenal serve --operations DIR`.

mod config;
mod error;
mod request;

pub mod distributed;
pub mod http;
pub mod keyvalue;
pub mod log;
pub mod page;
pub mod processes;
pub mod sandboxes;
pub mod storage;
pub mod supervisors;
pub mod system;
pub mod tracing;
pub mod variables;

#[doc(hidden)]
pub mod __private;
#[doc(hidden)]
pub mod bindings;

pub use config::{Category, Config, Method, Param, ParamType};
pub use error::{Error, Result};
pub use request::{Caller, Request};

/// The version of the operation contract (`arsenal:operation`) this SDK builds against.
pub const CONTRACT_VERSION: &str = "0.1.0";

/// One operation: its configuration and its handler.
pub trait Operation {
    /// The operation's configuration. Called once when the host loads the component; the
    /// result is cached by the component's content hash, so it must be deterministic.
    fn config() -> Config;

    /// Handle one request whose parameters the host has validated against
    /// [`Operation::config`]. The returned value becomes the response's `data`.
    fn execute(request: Request) -> Result<impl serde::Serialize>;
}

/// Everything an operation usually needs, in one import.
pub mod prelude {
    pub use crate::{
        Caller, Category, Config, Error, Method, Operation, Param, ParamType, Request, Result, log,
    };
    pub use serde::{Deserialize, Serialize};
    pub use serde_json::{Value, json};
}

/// Export a type implementing [`Operation`] as the component's `handler`.
#[macro_export]
macro_rules! export {
    ($operation:ty) => {
        const _: () = {
            struct __ArsenalHandler;

            impl $crate::bindings::exports::arsenal::operation::handler::Guest for __ArsenalHandler {
                fn describe() -> $crate::bindings::arsenal::operation::types::Config {
                    $crate::__private::describe::<$operation>()
                }

                fn execute(
                    request: $crate::bindings::arsenal::operation::types::Request,
                ) -> ::core::result::Result<
                    $crate::bindings::arsenal::operation::types::Response,
                    $crate::bindings::arsenal::operation::types::OpError,
                > {
                    $crate::__private::execute::<$operation>(request)
                }
            }

            $crate::bindings::export!(__ArsenalHandler with_types_in $crate::bindings);
        };
    };
}
