//! [`Principal`]: who is asking, as the HTTP layer established it and as every
//! operation call and host call sees it.

use std::sync::{Arc, LazyLock};

use super::roles::Role;

/// The caller of one request: a configured key, local mode's admin token, or (local mode
/// only) an anonymous reader on loopback. Cloned for every request (from the key ring,
/// into the request), so the name is shared rather than copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    name: Arc<str>,
    role: Role,
    authenticated: bool,
}

impl Principal {
    /// A principal that proved who it is.
    pub fn new(name: &str, role: Role) -> Principal {
        Principal {
            name: Arc::from(name),
            role,
            authenticated: true,
        }
    }

    /// Local mode's caller without a token: reads only.
    pub fn anonymous_reader() -> Principal {
        static ANONYMOUS: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("anonymous"));
        Principal {
            name: ANONYMOUS.clone(),
            role: Role::Viewer,
            authenticated: false,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether the caller presented a credential; an anonymous caller refused for its
    /// role is told to authenticate (401) rather than forbidden (403).
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Whether the caller's role grants `required`.
    pub fn may(&self, required: Role) -> bool {
        self.role >= required
    }
}
