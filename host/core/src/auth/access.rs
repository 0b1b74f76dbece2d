//! [`Access`]: one host's access policy — how callers authenticate (API keys, or local
//! mode's admin token), which role each operation needs, and the rate limits. The HTTP
//! layer asks it; nothing here knows HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;

use super::keys::{KeyError, KeyRing, SecretDigest};
use super::local_token::{AdminToken, Origin, TokenError};
use super::principal::Principal;
use super::rate::{RateClock, RateLimits};
use super::roles::{Role, RolePolicy};
use super::{AuthSettings, RateLimitSettings};
use crate::policy::Capability;
use crate::spec::OperationSpec;

/// The principal that local mode's admin token authenticates.
pub const LOCAL_ADMIN: &str = "local-admin";

/// A policy that cannot be put in force.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(
        "refusing to serve on {addr}: without API keys (local mode) the server binds only to \
         loopback (127.0.0.1 or ::1); configure `[auth] keys` to serve on other addresses"
    )]
    NotLoopback { addr: SocketAddr },
}

/// Why a request was not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("this request needs `Authorization: Bearer <key>`")]
    Missing,
    #[error("the `Authorization` header is not `Bearer <key>`")]
    Malformed,
    #[error("the bearer credential is not a valid key")]
    Invalid,
    /// The server could not read or make its admin token: a fault of the server.
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// How callers prove who they are.
#[derive(Debug)]
enum Mode {
    /// API keys from configuration.
    Keys(KeyRing),
    /// No keys: loopback only, reads open, the admin token for everything else.
    Local(LocalMode),
}

/// Local mode's admin token, settled at the first need (serving, or a request presenting
/// a token), so a host run for one in-process CLI command makes none.
#[derive(Debug)]
struct LocalMode {
    configured: Option<String>,
    dir: Option<PathBuf>,
    token: Mutex<Option<SecretDigest>>,
    /// The principal the token authenticates, cloned for each request.
    admin: Principal,
}

impl LocalMode {
    /// The admin token's digest.
    fn token(&self) -> Result<SecretDigest, TokenError> {
        let mut token = self.token.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(digest) = *token {
            return Ok(digest);
        }
        let resolved = AdminToken::resolve(self.configured.as_deref(), self.dir.as_deref())?;
        match &resolved.origin {
            Origin::Generated { token, path } => announce(token, path.as_deref()),
            Origin::Kept(path) => {
                tracing::info!(path = %path.display(), "using the kept local admin token");
            }
            Origin::Configured => tracing::info!("using the configured local admin token"),
        }
        *token = Some(resolved.digest);
        Ok(resolved.digest)
    }
}

/// The access policy of one host.
#[derive(Debug)]
pub struct Access {
    mode: Mode,
    roles: RolePolicy,
    pub limits: RateLimits,
}

impl Access {
    /// Access from its settings; `state_dir` keeps local mode's generated admin token.
    pub(crate) fn new(
        auth: &AuthSettings,
        rate_limits: &RateLimitSettings,
        state_dir: Option<PathBuf>,
    ) -> Result<Access, AccessError> {
        let keys = KeyRing::new(&auth.keys)?;
        let mode = if keys.is_empty() {
            Mode::Local(LocalMode {
                configured: auth.admin_token.clone(),
                dir: state_dir,
                token: Mutex::new(None),
                admin: Principal::new(LOCAL_ADMIN, Role::Admin),
            })
        } else {
            Mode::Keys(keys)
        };
        let limits = RateLimits::new(rate_limits, matches!(mode, Mode::Local(_)));
        Ok(Access {
            mode,
            roles: RolePolicy::new(auth.required_role.clone()),
            limits,
        })
    }

    /// Whether the host runs without API keys.
    pub fn is_local(&self) -> bool {
        matches!(self.mode, Mode::Local(_))
    }

    /// Before serving on `addr`: local mode refuses a non-loopback address and settles
    /// its admin token (a new one is printed once, on stderr).
    pub fn prepare(&self, addr: SocketAddr) -> Result<(), AccessError> {
        if let Mode::Local(local) = &self.mode {
            if !addr.ip().is_loopback() {
                return Err(AccessError::NotLoopback { addr });
            }
            local.token()?;
        }
        Ok(())
    }

    /// The caller presenting `bearer` (the credential of `Authorization: Bearer`), or why
    /// not. In local mode a request without one is an anonymous reader.
    pub fn authenticate(&self, bearer: Option<&str>) -> Result<Principal, AuthError> {
        match (&self.mode, bearer) {
            (Mode::Keys(keys), Some(presented)) => keys
                .find(presented)
                .map(|principal| (*principal).clone())
                .ok_or(AuthError::Invalid),
            (Mode::Keys(_), None) => Err(AuthError::Missing),
            (Mode::Local(_), None) => Ok(Principal::anonymous_reader()),
            (Mode::Local(local), Some(presented)) => {
                if local.token()?.matches(&SecretDigest::of(presented)) {
                    Ok(local.admin.clone())
                } else {
                    Err(AuthError::Invalid)
                }
            }
        }
    }

    /// The role the operation `spec` needs, importing `capabilities`.
    pub fn required_role(&self, spec: &OperationSpec, capabilities: &[Capability]) -> Role {
        self.roles.required(spec, capabilities)
    }

    /// The clock of the rate limits, which tests advance to wait out a limit.
    pub fn rate_clock(&self) -> &RateClock {
        self.limits.clock()
    }
}

/// Show a newly generated admin token, once, on stderr and not through the log, which
/// never carries secrets.
fn announce(token: &str, path: Option<&std::path::Path>) {
    let kept = match path {
        Some(path) => {
            tracing::info!(path = %path.display(), "generated the local admin token");
            format!("kept in {} (mode 0600)", path.display())
        }
        None => "not kept: persistence is off, a new one is made at each start".to_owned(),
    };
    eprintln!(
        "arsenal: local admin token: {token}\n         {kept}; send it as `Authorization: Bearer <token>` \
         (the CLI finds it by itself)"
    );
}
