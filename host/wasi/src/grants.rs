//! What the operator grants of the standard capabilities: to one component by name (the
//! `[components.<name>]` tables of the configuration; an operation and a worker are both
//! named components), and to every worker process in a sandbox by the sandbox's name (the
//! `[sandboxes.<name>]` tables, the same fields). Each capability module adds its own
//! fields here, and takes its part of every table (`reach.rs` hands it over).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigSource, SecretSource};

use arsenal_engine::spec::DestinationPattern;

/// The standard capabilities granted to one component (operation or worker), or to every
/// worker process in one sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComponentGrants {
    /// Shared key-value buckets the component may open by name, beside its own. An
    /// operation gets those of them it requests in its config; a worker gets them all.
    /// A name granted to any component is no component's private bucket. Default none.
    pub buckets: Vec<String>,
    /// Destinations the component may call over HTTP, as `scheme://host:port` patterns
    /// (`*` for any scheme or port, `*.example.com` for any name under a domain), added
    /// to those its source is granted in `[outbound]`. Default none.
    pub outbound_hosts: Vec<DestinationPattern>,
    /// Configuration values the component reads through `wasi:config/store`, by key:
    /// the text, or `{ env = "VARIABLE" }` to read it from the environment. Default none.
    pub config: BTreeMap<String, ConfigSource>,
    /// Secrets the component reads through `wasi:config/store` like its other values, by
    /// key: `{ env = "VARIABLE" }` or `{ file = "/path" }`. Never shown, logged or audited:
    /// the catalogue says only whether each is set. Default none.
    pub secrets: BTreeMap<String, SecretSource>,
}
