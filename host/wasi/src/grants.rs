//! What the operator grants one component of the standard capabilities, by name: the
//! `[components.<name>]` tables of the configuration. An operation and a worker are both
//! named components; each capability module adds its own fields here.

use serde::{Deserialize, Serialize};

use crate::http::DestinationPattern;

/// The standard capabilities granted to one component (operation or worker).
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
}
