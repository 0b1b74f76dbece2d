//! `GET /api/v1/whoami`: the caller as authentication established it — name, role, whether
//! it presented a credential, and the access mode — so a client (the console) can show
//! only what that role may do. The server still checks every request.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::extract::Caller;
use arsenal_core::host::Host;

/// Where the endpoint is served.
pub(crate) const PATH: &str = "/api/v1/whoami";

/// `GET /api/v1/whoami`.
pub(super) async fn whoami(
    State(host): State<Arc<Host>>,
    Caller(principal): Caller,
) -> Json<Value> {
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
}
