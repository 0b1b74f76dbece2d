//! Access at the HTTP edge: the middleware that authenticates every request
//! (`Authorization: Bearer`), counts it against its principal's rate limit and keeps the
//! admin API to admins, and the check of an operation's role before it is called. The
//! principal travels as a request extension to dispatch, which hands it to the operation
//! and its host calls. Errors: 401 `unauthenticated` (with `WWW-Authenticate`), 403
//! `forbidden`, 429 `rate_limited` (with `Retry-After`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use serde_json::json;

use super::error::{ApiError, ErrorCode};
use arsenal_core::auth::{Access, AuthError, Limited, Principal, Role};
use arsenal_core::host::Host;
use arsenal_core::loader::LoadedOperation;

/// Who may call an endpoint, as authentication decides it before any handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Anyone, without a credential.
    Open,
    /// An authenticated caller, or in local mode an anonymous reader; counted against the
    /// caller's rate limit.
    Caller,
    /// An admin.
    Admin,
}

/// Paths of the admin API: admins only.
const ADMIN_PREFIX: &str = "/api/v1/admin/";
/// Admins only outside the admin API: the audit log, which tells who did what.
const ADMIN_PATHS: &[&str] = &[super::audit_log::PATH];
/// Answered to anyone: liveness probes carry no credentials, and the console's page and
/// assets are static (the data they fetch is authenticated as usual).
const OPEN_PATHS: &[&str] = &["/api/v1/health", "/"];
const OPEN_PREFIXES: &[&str] = &[super::console::ASSET_PREFIX];

/// Who may call `path`: what [`authenticate`] lets through, and what the OpenAPI
/// document says each endpoint can answer for it.
pub(crate) fn gate(path: &str) -> Gate {
    if OPEN_PATHS.contains(&path) || OPEN_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) {
        Gate::Open
    } else if path.starts_with(ADMIN_PREFIX) || ADMIN_PATHS.contains(&path) {
        Gate::Admin
    } else {
        Gate::Caller
    }
}

/// Middleware: establish the request's [`Principal`].
///
/// A call of a batch already carries the batch's principal — set by the batch runner;
/// extensions never come from the wire — and was authenticated and counted with the batch.
pub(super) async fn authenticate(
    State(host): State<Arc<Host>>,
    mut request: Request,
    next: Next,
) -> Response {
    let principal = match request.extensions().get::<Principal>() {
        Some(principal) => principal.clone(),
        None if gate(request.uri().path()) == Gate::Open => return next.run(request).await,
        None => match admit(&host, &request) {
            Ok(principal) => principal,
            Err(error) => {
                count_refusal(&host, &error);
                return error.into_response();
            }
        },
    };
    if gate(request.uri().path()) == Gate::Admin && !principal.may(Role::Admin) {
        let refused = refusal(&principal, Role::Admin, "use the admin API");
        count_refusal(&host, &refused);
        // An attempted admin action is an audit record, refused.
        return super::audit::refused(&host, request, &principal, refused.into_response()).await;
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// Count a refusal of access outside an operation call (whose refusals the operation's
/// own counters hold): `arsenal_requests_refused_total`. A 429 is counted by its limit
/// (`arsenal_rate_limited_total`), a server fault is none.
pub(super) fn count_refusal(host: &Host, refused: &ApiError) {
    match refused.status() {
        StatusCode::UNAUTHORIZED => host.telemetry().refused("unauthenticated"),
        StatusCode::FORBIDDEN => host.telemetry().refused("forbidden"),
        _ => {}
    }
}

/// Authenticate a request of its own and count it against its principal's limit.
fn admit(host: &Host, request: &Request) -> Result<Principal, ApiError> {
    let access: &Access = host.access();
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let bearer = bearer(request.headers());
    // An address over its failure quota is refused before its credential is looked at.
    if !matches!(bearer, Ok(None)) {
        access
            .limits
            .penalised(client)
            .map_err(|limited| rate_limited(host, limited))?;
    }
    match bearer.and_then(|bearer| access.authenticate(bearer)) {
        Ok(principal) => {
            access
                .limits
                .request(principal.name())
                .map_err(|limited| rate_limited(host, limited))?;
            Ok(principal)
        }
        Err(AuthError::Token(error)) => {
            tracing::error!(%error, "the local admin token is unavailable");
            Err(ApiError::internal(
                "the server cannot read its admin token; the cause is in the server log",
            ))
        }
        // Asking without a credential is no guess at one: only wrong ones are counted.
        Err(AuthError::Missing) => Err(unauthenticated(AuthError::Missing.to_string())),
        Err(error) => {
            access
                .limits
                .failed(client)
                .map_err(|limited| rate_limited(host, limited))?;
            Err(unauthenticated(error.to_string()))
        }
    }
}

/// The credential of `Authorization: Bearer <credential>`, if any.
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AuthError::Malformed)?;
    let (scheme, credential) = value.split_once(' ').ok_or(AuthError::Malformed)?;
    let credential = credential.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || credential.is_empty() {
        return Err(AuthError::Malformed);
    }
    Ok(Some(credential))
}

/// Before `operation` is called: the caller's role must grant the one it needs, and the
/// call is counted against the caller's limit for it. Returns the caller.
pub(super) fn authorize(
    host: &Host,
    request: &Request,
    operation: &LoadedOperation,
) -> Result<Principal, ApiError> {
    let Some(principal) = request.extensions().get::<Principal>().cloned() else {
        tracing::error!("a request reached an operation without a principal");
        return Err(ApiError::logged_fault());
    };
    let required = host
        .access()
        .required_role(&operation.spec, &operation.capabilities);
    if !principal.may(required) {
        let action = format!("call `{}`", operation.spec.name);
        return Err(refusal(&principal, required, &action));
    }
    host.access()
        .limits
        .call(principal.name(), &operation.spec.name)
        .map_err(|limited| rate_limited(host, limited))?;
    Ok(principal)
}

/// A caller whose role does not grant `required`: an anonymous one is asked to
/// authenticate, anyone else is forbidden.
pub(super) fn refusal(principal: &Principal, required: Role, action: &str) -> ApiError {
    let details = json!({ "required_role": required, "role": principal.role() });
    if !principal.is_authenticated() {
        return unauthenticated(format!(
            "to {action} you need the `{required}` role: send the admin token as \
             `Authorization: Bearer <token>`"
        ))
        .with_details(details);
    }
    ApiError::new(
        ErrorCode::Forbidden,
        format!(
            "principal `{}` (role {}) may not {action}: that needs the `{required}` role",
            principal.name(),
            principal.role()
        ),
    )
    .with_details(details)
}

fn unauthenticated(message: String) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, message)
}

fn rate_limited(host: &Host, limited: Limited) -> ApiError {
    host.telemetry().rate_limited(limited.scope.name());
    let wait_ms = limited.retry_after.as_millis().max(1) as u64;
    let what = match limited.scope {
        arsenal_core::auth::Scope::Key => "requests of this key",
        arsenal_core::auth::Scope::Operation => "calls of this operation by this key",
        arsenal_core::auth::Scope::FailedAuthentication => {
            "failed authentications from this address"
        }
    };
    ApiError::new(
        ErrorCode::RateLimited,
        format!("too many {what}; retry in {wait_ms} ms"),
    )
    .with_details(json!({ "limit": limited.scope.name(), "retry_after_ms": wait_ms }))
    .with_retry_after(limited.retry_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bearer_credentials_are_read() {
        let headers = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            headers
        };
        assert_eq!(bearer(&HeaderMap::new()).unwrap(), None);
        assert_eq!(bearer(&headers("Bearer abc")).unwrap(), Some("abc"));
        assert_eq!(bearer(&headers("bearer  abc ")).unwrap(), Some("abc"));
        assert!(matches!(
            bearer(&headers("Basic abc")),
            Err(AuthError::Malformed)
        ));
        assert!(matches!(
            bearer(&headers("Bearer ")),
            Err(AuthError::Malformed)
        ));
        assert!(matches!(bearer(&headers("abc")), Err(AuthError::Malformed)));
    }
}
