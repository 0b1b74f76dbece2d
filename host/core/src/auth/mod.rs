//! Who may call what: API keys (stored hashed, compared in constant time) or local mode's
//! admin token, roles and the role each operation needs, and rate limits. The HTTP layer
//! (`http::auth`) applies it; the principal it establishes reaches every operation call
//! and, through `arsenal_engine::permits`, every host call.

mod access;
mod keys;
mod local_token;
mod principal;
mod rate;
mod roles;
mod settings;

pub use access::{Access, AccessError, AuthError, LOCAL_ADMIN};
pub use keys::{KeyError, hash_key};
pub use local_token::{TokenError, read_kept as read_kept_token};
pub use principal::Principal;
pub use rate::{Limited, RateClock, RateLimits, Scope};
pub use roles::Role;
pub use settings::{ApiKey, AuthSettings, RateLimitSettings, RateQuota};
