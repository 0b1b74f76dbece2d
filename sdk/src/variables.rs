//! The component's configuration values and secrets, through the standard
//! `wasi:config/store` interface.
//!
//! Calling anything here makes the component import `wasi:config` (capability `config`,
//! granted to every source by default). The operator sets the values per component in
//! `[components.<name>]` (`config` and `secrets`); a secret reads like any other value.
//!
//! ```no_run
//! let channel = arsenal_sdk::variables::get("channel")?.unwrap_or_else(|| "#ops".into());
//! # Ok::<(), arsenal_sdk::variables::VariableError>(())
//! ```

use std::fmt;

#[allow(missing_docs, unreachable_pub, unsafe_code, reason = "generated code")]
mod wit {
    wit_bindgen::generate!({
        path: "../wit/deps/config",
        world: "wasi:config/imports",
    });
}

use wit::wasi::config::store;

/// Why the host could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableError(String);

impl fmt::Display for VariableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for VariableError {}

impl From<store::Error> for VariableError {
    fn from(error: store::Error) -> VariableError {
        match error {
            store::Error::Upstream(message) | store::Error::Io(message) => VariableError(message),
        }
    }
}

impl From<VariableError> for crate::Error {
    /// The configuration cannot be read: 503 `unavailable`.
    fn from(error: VariableError) -> crate::Error {
        crate::Error::unavailable(error.to_string())
    }
}

/// The value of `key`, or `None` when the operator set none.
pub fn get(key: &str) -> Result<Option<String>, VariableError> {
    Ok(store::get(key)?)
}

/// Every key and value the component has, in no particular order.
pub fn all() -> Result<Vec<(String, String)>, VariableError> {
    Ok(store::get_all()?)
}
