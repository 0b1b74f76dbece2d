//! Roles and the role each operation needs. Roles are ordered — `viewer` < `operator` <
//! `admin` — and a role grants everything a lower one does.
//!
//! An operation's role follows from its method and what it imports, whichever asks more.
//! The method says what the call means to HTTP: GET and HEAD read, anything else changes
//! something (and is recorded in the audit log as a change), so it needs `operator` even
//! when the component imports nothing that could change host state — local mode keeps
//! every such call behind the admin token. The imports say what the call can do: a
//! state-changing capability needs `operator`, and `sandboxes` (sandbox directories and
//! budgets) and `storage_control` (other components' data) need `admin`, whatever the
//! method — a GET importing a state-changing capability still needs `operator`, because
//! its host calls would refuse a viewer (`arsenal_engine::permits` grants the same
//! capabilities per role). Configuration may set the role of any operation by name,
//! lower or higher.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use http::Method;

use crate::policy::Capability;
use crate::spec::OperationSpec;

/// What a principal may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads: catalogue, listings, inspections.
    Viewer,
    /// Reads and state changes through the runtime capabilities.
    Operator,
    /// Everything: sandboxes and the admin API too.
    Admin,
}

impl Role {
    pub const fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// The least role whose permits include `capability`; a capability that is the
    /// component's own reach (its buckets, its destinations) asks nothing of the caller.
    pub(crate) fn for_capability(capability: Capability) -> Role {
        if !capability.is_runtime() {
            Role::Viewer
        } else if capability.is_admin_only() {
            Role::Admin
        } else if capability.is_read_only() {
            Role::Viewer
        } else {
            Role::Operator
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The role every operation needs: configured by name, or derived from its method and
/// imports.
#[derive(Debug, Clone, Default)]
pub(crate) struct RolePolicy {
    configured: BTreeMap<String, Role>,
}

impl RolePolicy {
    pub(crate) fn new(configured: BTreeMap<String, Role>) -> RolePolicy {
        RolePolicy { configured }
    }

    /// The role the operation `spec` needs, importing `capabilities`.
    pub(crate) fn required(&self, spec: &OperationSpec, capabilities: &[Capability]) -> Role {
        self.configured
            .get(&spec.name)
            .copied()
            .unwrap_or_else(|| derived(&spec.method, capabilities))
    }
}

/// The role an operation served on `method` and importing `capabilities` needs.
pub(crate) fn derived(method: &Method, capabilities: &[Capability]) -> Role {
    let by_method = if matches!(*method, Method::GET | Method::HEAD) {
        Role::Viewer
    } else {
        Role::Operator
    };
    capabilities
        .iter()
        .map(|capability| Role::for_capability(*capability))
        .fold(by_method, Role::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_decide_the_role_of_a_read() {
        let get = Method::GET;
        assert_eq!(derived(&get, &[]), Role::Viewer);
        assert_eq!(
            derived(&get, &[Capability::System, Capability::Processes]),
            Role::Viewer
        );
        assert_eq!(
            derived(&get, &[Capability::Processes, Capability::ProcessControl]),
            Role::Operator
        );
        assert_eq!(
            derived(&get, &[Capability::Tracing, Capability::Sandboxes]),
            Role::Admin
        );
        assert_eq!(derived(&Method::HEAD, &[Capability::System]), Role::Viewer);
        assert_eq!(derived(&get, &[Capability::OutboundHttp]), Role::Viewer);
    }

    #[test]
    fn a_method_that_changes_state_needs_an_operator_at_least() {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert_eq!(derived(&method, &[]), Role::Operator, "{method}");
            assert_eq!(
                derived(&method, &[Capability::Distributed]),
                Role::Operator,
                "{method}"
            );
            assert_eq!(
                derived(&method, &[Capability::Sandboxes]),
                Role::Admin,
                "{method}: the imports may ask more"
            );
        }
    }

    #[test]
    fn roles_are_ordered_and_read_in_lowercase() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        let role: Role = serde_json::from_str("\"operator\"").unwrap();
        assert_eq!(role, Role::Operator);
        assert!(serde_json::from_str::<Role>("\"root\"").is_err());
    }
}
