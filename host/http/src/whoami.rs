//! `GET /api/v1/whoami`: the caller as authentication established it — name, role, whether
//! it presented a credential, and the access mode — so a client (the console) can show
//! only what that role may do. The server still checks every request.

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

use super::error::ApiError;
use arsenal_core::auth::Principal;
use arsenal_core::host::Host;

/// Where the endpoint is served.
pub(crate) const PATH: &str = "/api/v1/whoami";

/// `GET /api/v1/whoami`.
pub(super) async fn whoami(State(host): State<Arc<Host>>, request: Request) -> Response {
    let Some(principal) = request.extensions().get::<Principal>() else {
        tracing::error!("whoami was reached without a principal");
        return ApiError::logged_fault().into_response();
    };
    let mode = if host.access().is_local() {
        "local"
    } else {
        "keys"
    };
    Json(json!({
        "data": {
            "principal": principal.name(),
            "role": principal.role(),
            "authenticated": principal.is_authenticated(),
            "mode": mode,
        }
    }))
    .into_response()
}
