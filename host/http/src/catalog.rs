//! The host's own read endpoints: the operation catalogue, one operation's description,
//! health, and the OpenAPI document.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use serde_json::{Value, json};

use super::error::ApiError;
use super::extract::Path;
use arsenal_core::auth::Role;
use arsenal_core::host::Host;
use arsenal_core::loader::LoadedOperation;
use arsenal_core::validation::{FieldError, ValidationError};

/// `GET /api/v1/operations?category=&q=`.
pub(crate) async fn list(
    State(host): State<Arc<Host>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let access = host.access();
    let mut category = None;
    let mut search = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match &*key {
            "category" => category = Some(value.into_owned()),
            "q" => search = Some(value.to_lowercase()),
            other => {
                return Err(ApiError::from(ValidationError(vec![FieldError {
                    field: other.to_owned(),
                    message: "unknown parameter".to_owned(),
                }])));
            }
        }
    }
    let catalog = host.registry().snapshot();
    let operations: Vec<Value> = catalog
        .operations()
        .iter()
        .filter(|op| {
            category
                .as_ref()
                .is_none_or(|category| &op.spec.category == category)
        })
        .filter(|op| {
            search.as_ref().is_none_or(|q| {
                op.spec.name.to_lowercase().contains(q)
                    || op.spec.summary.to_lowercase().contains(q)
            })
        })
        .map(|op| entry(op, access.required_role(&op.spec, &op.capabilities)))
        .collect();
    Ok(Json(json!({ "data": operations })))
}

/// `GET /api/v1/operations/{name}`.
pub(crate) async fn describe(
    State(host): State<Arc<Host>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let catalog = host.registry().snapshot();
    let op = catalog
        .get(&name)
        .ok_or_else(|| ApiError::operation_not_found(format_args!("named `{name}`")))?;
    let role = host.access().required_role(&op.spec, &op.capabilities);
    Ok(Json(json!({ "data": description(op, role) })))
}

/// `GET /api/v1/health`.
pub(crate) async fn health(State(host): State<Arc<Host>>) -> Json<Value> {
    let registry = host.registry();
    Json(json!({
        "data": {
            "status": "ok",
            "operations": registry.snapshot().operations().len(),
            "instances_in_use": registry.instances().in_use(),
            "max_instances": registry.instances().max(),
        }
    }))
}

/// One line of the catalogue.
pub(super) fn entry(op: &LoadedOperation, required_role: Role) -> Value {
    json!({
        "name": op.spec.name,
        "version": op.spec.version,
        "category": op.spec.category,
        "summary": op.spec.summary,
        "method": op.spec.method.as_str(),
        "path": op.spec.route.template,
        "interface": op.interface,
        "reuse": op.reuse(),
        "capabilities": op.capabilities,
        "requested": crate::reach::requested(&op.spec),
        "granted": crate::reach::granted(op),
        "required_role": required_role,
        "source": op.source,
    })
}

/// Everything about one operation.
pub(super) fn description(op: &LoadedOperation, required_role: Role) -> Value {
    json!({
        "name": op.spec.name,
        "version": op.spec.version,
        "category": op.spec.category,
        "summary": op.spec.summary,
        "description": op.spec.description,
        "method": op.spec.method.as_str(),
        "path": op.spec.route.template,
        "params": op.spec.params.iter().map(|p| json!({
            "name": p.name,
            "in": p.location,
            "required": p.required,
            "schema": p.schema(),
            "sensitive": p.sensitive,
        })).collect::<Vec<_>>(),
        "additional_params": op.spec.additional_params,
        "success_status": op.spec.success_status.as_u16(),
        "response_schema": op.spec.response_schema,
        "capabilities": op.capabilities,
        "requested": crate::reach::requested(&op.spec),
        "granted": crate::reach::granted(op),
        "required_role": required_role,
        "limits": op.limits,
        "source": op.source,
        "origin": op.origin,
        "contract_version": op.contract_version,
        "interface": op.interface,
        "reuse": op.reuse(),
        "content_hash": op.content_hash,
    })
}
