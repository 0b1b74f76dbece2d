//! What an operation asks of the standard capabilities and what it is granted, as the
//! catalogue and the OpenAPI document show them.

use arsenal_core::loader::LoadedOperation;
use arsenal_core::spec::OperationSpec;
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
    json!({
        "outbound_hosts": op.reach().destinations(),
        "buckets": op.reach().shared_buckets(),
        "config": op.reach().config(),
    })
}
