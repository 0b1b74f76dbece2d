//! Capabilities `distributed` (the cluster as this node sees it, calls to other nodes as
//! the caller) and `distributed-control` (moving processes between nodes). A node that
//! is not clustered answers as a cluster of one.

pub use crate::bindings::arsenal::runtime::distributed::{
    CallError, ClusterView, ComponentRevision, GlobalName, GlobalRegistry, Member, NameConflict,
    NodeLoad, NodeReply, NodeStatus,
};
pub use crate::bindings::arsenal::runtime::distributed_control::{MigrateError, Migrated};
use crate::bindings::arsenal::runtime::{distributed, distributed_control};

/// A pattern for node ids in path and query parameters.
pub const NODE_PATTERN: &str = r"^[A-Za-z0-9_-]{1,64}$";

/// The cluster: this node, the connection, every member known.
pub fn view() -> ClusterView {
    distributed::view()
}

/// Call `method path` on `node` as the operation's caller; `body` is JSON (or empty).
/// The answer is the node's status and JSON body.
pub fn call_node(node: &str, method: &str, path: &str, body: &str) -> Result<NodeReply, CallError> {
    distributed::call_node(node, method, path, body)
}

/// `GET path` on `node`, answering the `data` of a success and an [`crate::Error`]
/// with the node's own code otherwise.
pub fn get_data(node: &str, path: &str) -> Result<serde_json::Value, crate::Error> {
    let reply = call_node(node, "GET", path, "")?;
    data_of(node, reply)
}

/// The `data` of a node's success answer, or its error as an [`crate::Error`].
pub fn data_of(node: &str, reply: NodeReply) -> Result<serde_json::Value, crate::Error> {
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap_or_default();
    if (200..300).contains(&reply.status) {
        return Ok(body.get("data").cloned().unwrap_or(serde_json::Value::Null));
    }
    let error = &body["error"];
    let message = error["message"]
        .as_str()
        .unwrap_or("the node refused the call");
    let code = error["code"].as_str().unwrap_or("node_error");
    let base = match reply.status {
        400 | 422 => crate::Error::invalid_params(format!("node {node}: {message}")),
        401 | 403 => crate::Error::forbidden(format!("node {node}: {message}")),
        404 => crate::Error::not_found(format!("node {node}: {message}")),
        409 => crate::Error::conflict(format!("node {node}: {message}")),
        503 => crate::Error::unavailable(format!("node {node}: {message}")),
        504 => crate::Error::timeout(format!("node {node}: {message}")),
        _ => crate::Error::internal(format!("node {node}: {message}")),
    };
    Err(base
        .with_code(code)
        .with_details(serde_json::json!({ "node": node, "status": reply.status })))
}

/// `text` made safe as one path segment for [`call_node`] (a pid's `<` and `>`, ...).
pub fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// The global name registry and its conflicts.
pub fn global_registry() -> GlobalRegistry {
    distributed::names()
}

/// Move a local process to `node`, its state carried by snapshot and restore.
pub fn migrate(target: &str, node: &str) -> Result<Migrated, MigrateError> {
    distributed_control::migrate(target, node)
}

/// A status as the API spells it.
pub fn status_name(status: NodeStatus) -> &'static str {
    match status {
        NodeStatus::ThisNode => "this_node",
        NodeStatus::Up => "up",
        NodeStatus::Down => "down",
        NodeStatus::Unknown => "unknown",
    }
}

/// A member as JSON, with the host's field names.
pub fn member_json(member: &Member) -> serde_json::Value {
    serde_json::json!({
        "node": member.node,
        "address": member.address,
        "version": member.version,
        "incarnation": member.incarnation,
        "started_unix_ms": member.started_unix_ms,
        "status": status_name(member.status),
        "last_heartbeat_ms": member.last_heartbeat_ms,
        "load": {
            "processes": member.load.processes,
            "instances_in_use": member.load.instances_in_use,
            "load_average": member.load.load_average,
            "rss_bytes": member.load.rss_bytes,
        },
    })
}

/// The usual answer to a failed call: 404 `node_not_found` or 503 `node_unavailable`
/// naming the node, or 422.
impl From<CallError> for crate::Error {
    fn from(error: CallError) -> crate::Error {
        match error {
            CallError::NodeUnavailable(node) => unreachable_or_unknown(&node),
            CallError::Invalid(message) => crate::Error::invalid_params(message),
        }
    }
}

/// 404 `node_not_found` naming `node`: it is not a member of the cluster.
pub fn node_not_found(node: &str) -> crate::Error {
    crate::Error::not_found(format!("no node `{node}` is known to this cluster"))
        .with_code("node_not_found")
        .with_details(serde_json::json!({ "node": node }))
}

/// Whether `node` is a member of the cluster as `view` sees it (this node included).
pub fn is_member(view: &ClusterView, node: &str) -> bool {
    view.members.iter().any(|member| member.node == node)
}

/// A node the host could not reach: 404 `node_not_found` when it is not a member of the
/// cluster, 503 `node_unavailable` when it is (down, or silent).
fn unreachable_or_unknown(node: &str) -> crate::Error {
    if is_member(&view(), node) {
        unavailable(node)
    } else {
        node_not_found(node)
    }
}

/// 503 `node_unavailable` naming `node`.
pub fn unavailable(node: &str) -> crate::Error {
    crate::Error::unavailable(format!("node `{node}` is unavailable"))
        .with_code("node_unavailable")
        .with_details(serde_json::json!({ "node": node }))
}

impl From<MigrateError> for crate::Error {
    fn from(error: MigrateError) -> crate::Error {
        match error {
            MigrateError::NotFound(message) => {
                crate::Error::not_found(message).with_code("process_not_found")
            }
            MigrateError::NotMovable(message) => {
                crate::Error::conflict(message).with_code("not_movable")
            }
            MigrateError::NodeUnavailable(node) => unreachable_or_unknown(&node),
            MigrateError::Failed(message) => {
                crate::Error::internal(message).with_code("migration_failed")
            }
        }
    }
}
