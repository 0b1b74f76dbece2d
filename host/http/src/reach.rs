//! What a component asks of the standard capabilities and what it is granted, as the
//! catalogue, the OpenAPI document and the admin API's worker listing show them.

use arsenal_core::loader::LoadedOperation;
use arsenal_core::spec::OperationSpec;
use arsenal_wasi::ComponentReach;
use serde_json::{Value, json};

/// What the operation requests of the standard capabilities in its config: outbound
/// destinations and shared buckets. Requests, not grants: it reaches what the operator
/// grants of them.
pub(crate) fn requested(spec: &OperationSpec) -> Value {
    json!({
        "outbound_hosts": spec.outbound_hosts,
        "buckets": spec.buckets,
    })
}

/// What the operation reaches of the standard capabilities: its requests narrowed to
/// what the operator grants it.
pub(crate) fn granted(op: &LoadedOperation) -> Value {
    shown(op.reach())
}

/// What a component reaches: destination patterns, shared buckets, and its configuration
/// keys with their plain values (a secret only as set or not set, never its value).
pub(crate) fn shown(reach: &ComponentReach) -> Value {
    json!({
        "outbound_hosts": reach.destinations(),
        "buckets": reach.shared_buckets(),
        "config": reach.config(),
    })
}
