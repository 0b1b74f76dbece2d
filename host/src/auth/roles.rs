//! Roles and the role each operation needs. Roles are ordered — `viewer` < `operator` <
//! `admin` — and a role grants everything a lower one does.
//!
//! An operation's role follows from what it can do, which is what it imports: a component
//! changes host state only through a capability, so one importing nothing or only
//! read-only capabilities is a read (`viewer`), one importing a state-changing capability
//! needs `operator`, and one importing `sandboxes` (sandbox directories and budgets)
//! needs `admin`. The method alone does not lower this: a GET importing a state-changing
//! capability still needs `operator`, because its host calls would refuse a viewer
//! (`capabilities::permits` grants the same capabilities per role). Configuration may
//! set the role of any operation by name.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::capabilities::Capability;
use crate::loader::LoadedOperation;

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

    /// The least role whose permits include `capability`.
    pub(crate) fn for_capability(capability: Capability) -> Role {
        if capability == Capability::Sandboxes {
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

/// The role every operation needs: configured by name, or derived from its imports.
#[derive(Debug, Clone, Default)]
pub(crate) struct RolePolicy {
    configured: BTreeMap<String, Role>,
}

impl RolePolicy {
    pub(crate) fn new(configured: BTreeMap<String, Role>) -> RolePolicy {
        RolePolicy { configured }
    }

    /// The role `operation` needs.
    pub(crate) fn required(&self, operation: &LoadedOperation) -> Role {
        self.configured
            .get(&operation.spec.name)
            .copied()
            .unwrap_or_else(|| derived(&operation.capabilities))
    }
}

/// The role an operation importing `capabilities` needs.
pub(crate) fn derived(capabilities: &[Capability]) -> Role {
    capabilities
        .iter()
        .map(|capability| Role::for_capability(*capability))
        .max()
        .unwrap_or(Role::Viewer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_decide_the_role() {
        assert_eq!(derived(&[]), Role::Viewer);
        assert_eq!(
            derived(&[Capability::System, Capability::Processes]),
            Role::Viewer
        );
        assert_eq!(
            derived(&[Capability::Processes, Capability::ProcessControl]),
            Role::Operator
        );
        assert_eq!(
            derived(&[Capability::Tracing, Capability::Sandboxes]),
            Role::Admin
        );
    }

    #[test]
    fn roles_are_ordered_and_read_in_lowercase() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        let role: Role = serde_json::from_str("\"operator\"").unwrap();
        assert_eq!(role, Role::Operator);
        assert!(serde_json::from_str::<Role>("\"root\"").is_err());
    }
}
