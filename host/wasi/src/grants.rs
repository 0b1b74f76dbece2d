//! What the operator grants one component of the standard capabilities, by name: the
//! `[components.<name>]` tables of the configuration. An operation and a worker are both
//! named components; each capability module adds its own fields here.

use serde::{Deserialize, Serialize};

/// The standard capabilities granted to one component (operation or worker).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComponentGrants {
    /// Shared key-value buckets the component may open by name, beside its own. An
    /// operation gets those of them it requests in its config; a worker gets them all.
    /// A name granted to any component is no component's private bucket. Default none.
    pub buckets: Vec<String>,
}
