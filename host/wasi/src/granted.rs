//! Whom the operator grants to ([`Grantee`]: a component, or the workers of a sandbox),
//! and one capability's part of all the grants ([`Granted`]), which each capability
//! module checks and keeps in its own shape.

use std::collections::BTreeMap;
use std::fmt;

/// Who a grant is to: one component, or the workers in one sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    /// An operation or worker, by name: `[components.<name>]`.
    Component(String),
    /// Every worker process in a sandbox of this name: `[sandboxes.<name>]`.
    Sandbox(String),
}

impl fmt::Display for Grantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grantee::Component(name) => write!(f, "components.{name}"),
            Grantee::Sandbox(name) => write!(f, "sandboxes.{name}"),
        }
    }
}

/// One capability's part of the operator's grants, per component and per sandbox name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted<T> {
    pub components: BTreeMap<String, T>,
    pub sandboxes: BTreeMap<String, T>,
}

impl<T> Default for Granted<T> {
    fn default() -> Self {
        Granted {
            components: BTreeMap::new(),
            sandboxes: BTreeMap::new(),
        }
    }
}

impl<T> Granted<T> {
    /// What component `name` is granted.
    pub fn component(&self, name: &str) -> Option<&T> {
        self.components.get(name)
    }

    /// What the workers in `sandbox` (by name) are granted; nothing outside a sandbox.
    pub fn sandbox(&self, sandbox: Option<&str>) -> Option<&T> {
        sandbox.and_then(|name| self.sandboxes.get(name))
    }

    /// Every grant, with whom it is to.
    pub fn iter(&self) -> impl Iterator<Item = (Grantee, &T)> {
        let components = self
            .components
            .iter()
            .map(|(name, part)| (Grantee::Component(name.clone()), part));
        let sandboxes = self
            .sandboxes
            .iter()
            .map(|(name, part)| (Grantee::Sandbox(name.clone()), part));
        components.chain(sandboxes)
    }
}
