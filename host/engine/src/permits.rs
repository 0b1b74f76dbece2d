//! Who may use which capability: every runtime host call checks the calling principal's
//! roles before it touches anything, and refuses by trapping the operation (403
//! `capability_denied`). The caller's role is the one `http::auth` established for the
//! request; `admin` may use every capability, `operator` every one but the admin-only
//! `sandboxes` and `storage_control`, `viewer` the read-only ones (the same ladder
//! `auth::roles` derives operations' roles from); any other role grants nothing.

use std::fmt;

use crate::policy::Capability;

/// The capabilities one call's caller may use.
#[derive(Debug, Clone, Default)]
pub struct Permits {
    principal: String,
    roles: Vec<String>,
    allowed: Vec<Capability>,
}

/// A host call refused for the caller's roles; traps the operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Denied {
    pub principal: String,
    pub roles: Vec<String>,
    pub capability: Capability,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "principal `{}` (roles: {}) may not use the `{}` capability",
            self.principal,
            if self.roles.is_empty() {
                "none".to_owned()
            } else {
                self.roles.join(", ")
            },
            self.capability
        )
    }
}

/// The capabilities a role grants.
fn granted_by(role: &str) -> impl Iterator<Item = Capability> {
    Capability::ALL
        .iter()
        .copied()
        .filter(move |capability| match role {
            "admin" => true,
            "operator" => !capability.is_admin_only(),
            "viewer" => capability.is_read_only(),
            _ => false,
        })
}

impl Permits {
    /// What `principal` with `roles` may use.
    pub fn for_caller(principal: &str, roles: &[String]) -> Permits {
        let mut allowed: Vec<Capability> = roles.iter().flat_map(|role| granted_by(role)).collect();
        allowed.sort();
        allowed.dedup();
        Permits {
            principal: principal.to_owned(),
            roles: roles.to_vec(),
            allowed,
        }
    }

    /// Whether these are the permits of `principal` with `roles`: a kept instance's next
    /// call of the same caller keeps them rather than deriving them again.
    pub fn are_for(&self, principal: &str, roles: &[String]) -> bool {
        self.principal == principal && self.roles == roles
    }

    /// Who the call runs for.
    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// The caller's roles.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Allow `capability`, or say why not.
    pub fn check(&self, capability: Capability) -> Result<(), Denied> {
        if self.allowed.contains(&capability) {
            return Ok(());
        }
        Err(Denied {
            principal: self.principal.clone(),
            roles: self.roles.clone(),
            capability,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_their_capabilities() {
        let roles = |roles: &[&str]| roles.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>();
        let viewer = Permits::for_caller("v", &roles(&["viewer"]));
        assert!(viewer.check(Capability::Processes).is_ok());
        assert_eq!(
            viewer
                .check(Capability::ProcessControl)
                .unwrap_err()
                .to_string(),
            "principal `v` (roles: viewer) may not use the `process_control` capability"
        );
        let operator = Permits::for_caller("o", &roles(&["operator"]));
        assert!(operator.check(Capability::ProcessControl).is_ok());
        assert!(operator.check(Capability::Sandboxes).is_err());
        assert!(operator.check(Capability::Storage).is_ok());
        assert!(operator.check(Capability::StorageControl).is_err());
        let viewer_storage = viewer.check(Capability::Storage);
        assert!(
            viewer_storage.is_err(),
            "a viewer reads no other component's data"
        );
        let admin = Permits::for_caller("a", &roles(&["viewer", "admin"]));
        assert!(Capability::ALL.iter().all(|c| admin.check(*c).is_ok()));
        assert!(
            Permits::default().check(Capability::System).is_err(),
            "describe calls nothing"
        );
    }
}
