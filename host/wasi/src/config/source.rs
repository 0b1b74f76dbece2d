//! Where the operator says a component's configuration values come from.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::granted::Grantee;

/// A plain configuration value: the text itself, or an environment variable to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum ConfigSource {
    Text(String),
    Env { env: String },
}

/// Where a secret is read from: an environment variable, or a file (its contents, less
/// one trailing newline). The configuration holds only the source, never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum SecretSource {
    Env { env: String },
    File { file: PathBuf },
}

/// The longest key a component's configuration may have.
pub(crate) const MAX_KEY: usize = 256;

/// A component's configuration tables cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidConfigGrant {
    #[error("{grantee}: `{key}` is both a config value and a secret")]
    Both { grantee: Grantee, key: String },
    #[error("{grantee}: the key `{key}` is not 1 to {MAX_KEY} letters, digits, `-`, `_` or `.`")]
    Key { grantee: Grantee, key: String },
}

/// Whether `key` is a configuration key: 1 to [`MAX_KEY`] ASCII letters, digits, `-`, `_`
/// and `.`.
pub(super) fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}
