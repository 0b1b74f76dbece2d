//! The settings `auth` reads: keys, the local admin token, roles per operation, and rate
//! limits (`[auth]` and `[rate_limits]` of the configuration).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Role;

/// Who may call what (see the module). Without keys the server runs in local mode.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// API keys, each stored as the SHA-256 of the key (`arsenal hash-key` prints it).
    /// None configured: local mode (loopback only, reads open, changes need the admin
    /// token). Default none.
    pub keys: Vec<ApiKey>,
    /// Local mode's admin token, instead of one generated at first start and kept in the
    /// state directory; `ARSENAL_ADMIN_TOKEN` sets it too. Default none.
    pub admin_token: Option<String>,
    /// The role an operation needs, by operation name, instead of the one derived from its
    /// capabilities. Default none.
    pub required_role: BTreeMap<String, Role>,
}

/// One API key: who it is, the hex SHA-256 of the key, and its roles.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    pub name: String,
    pub sha256: String,
    pub roles: Vec<Role>,
}

/// Token buckets (see `rate`): `burst` requests at once, one more every
/// `replenish_ms`. A `burst` of 0 turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateQuota {
    pub burst: u32,
    pub replenish_ms: u64,
}

/// Rate limits; over one, a request answers 429 `rate_limited` with `Retry-After`.
///
/// The per-principal limits share a server between its keys, so that one cannot starve
/// the others. Local mode has no keys: its callers are the one user of a loopback server
/// (every anonymous reader is the same principal), whom a limit would only throttle — a
/// load test would be refused — so there they apply only when `in_local_mode` says so.
/// Failed authentications are limited in both modes: anything that reaches loopback can
/// guess at the admin token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Requests of one principal (a key, or in local mode the admin token or the
    /// anonymous readers), a batch counting once. Default 200 at once, 100 a second.
    pub per_key: RateQuota,
    /// Calls of one operation by one principal, batch calls included. Default 100 at
    /// once, 50 a second.
    pub per_operation: RateQuota,
    /// Failed authentications from one client address; past it even a right key is
    /// refused until the bucket refills. Default 10 at once, one more every 6 s.
    pub failed_auth: RateQuota,
    /// Whether `per_key` and `per_operation` apply in local mode too. Default `false`.
    pub in_local_mode: bool,
}

impl RateLimitSettings {
    /// Every limit off: for tests and benches where one principal sends bursts.
    pub fn off() -> RateLimitSettings {
        let off = RateQuota {
            burst: 0,
            replenish_ms: 1,
        };
        RateLimitSettings {
            per_key: off,
            per_operation: off,
            failed_auth: off,
            in_local_mode: false,
        }
    }
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            per_key: RateQuota {
                burst: 200,
                replenish_ms: 10,
            },
            per_operation: RateQuota {
                burst: 100,
                replenish_ms: 20,
            },
            failed_auth: RateQuota {
                burst: 10,
                replenish_ms: 6_000,
            },
            in_local_mode: false,
        }
    }
}
