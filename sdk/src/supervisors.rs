//! Capabilities `supervisors` (read supervision trees) and `supervisor_control` (start,
//! stop and reshape them). Calling a function here makes the component import the
//! interface behind it. Targets are supervisor pids or registered names.

pub use crate::bindings::arsenal::runtime::supervisors::{
    ChildInfo, Restart, RestartRecord, Strategy, SupervisorError, SupervisorFlags, SupervisorInfo,
    TreeNode,
};
use crate::bindings::arsenal::runtime::{supervisor_control, supervisors};

/// The `:id` path parameter of supervisor operations: a supervisor's pid or registered name.
pub fn target_param() -> crate::Param {
    crate::Param::path("id")
        .string()
        .pattern(crate::processes::TARGET_PATTERN)
        .describe("A supervisor's pid such as <local.0.42>, or its registered name")
}

/// The `:child` path parameter: a child id within its supervisor.
pub fn child_param() -> crate::Param {
    crate::Param::path("child")
        .string()
        .pattern(r"^[A-Za-z0-9_.-]{1,64}$")
        .describe("The child's id within its supervisor")
}

/// Every live supervisor.
pub fn list() -> Vec<SupervisorInfo> {
    supervisors::list_supervisors()
}

/// One supervisor.
pub fn get(target: &str) -> Result<SupervisorInfo, SupervisorError> {
    supervisors::get_supervisor(target)
}

/// A supervisor's children, in start order.
pub fn which_children(target: &str) -> Result<Vec<ChildInfo>, SupervisorError> {
    supervisors::which_children(target)
}

/// The tree under a supervisor, depth first.
pub fn tree(target: &str) -> Result<Vec<TreeNode>, SupervisorError> {
    supervisors::tree(target)
}

/// A supervisor's restart history, oldest first.
pub fn history(target: &str) -> Result<Vec<RestartRecord>, SupervisorError> {
    supervisors::history(target)
}

/// Start a root supervisor from a JSON spec; returns its pid.
pub fn start(spec: &str) -> Result<String, SupervisorError> {
    supervisor_control::start_supervisor(spec)
}

/// Stop a supervisor and its tree; returns its pid.
pub fn stop(target: &str) -> Result<String, SupervisorError> {
    supervisor_control::stop_supervisor(target)
}

/// Add and start a child from a JSON child spec; returns its pid.
pub fn add_child(target: &str, child: &str) -> Result<String, SupervisorError> {
    supervisor_control::add_child(target, child)
}

/// Restart a child; returns its new pid.
pub fn restart_child(target: &str, id: &str) -> Result<String, SupervisorError> {
    supervisor_control::restart_child(target, id)
}

/// Stop a child and remove it.
pub fn delete_child(target: &str, id: &str) -> Result<(), SupervisorError> {
    supervisor_control::delete_child(target, id)
}

/// Change strategy and intensity; returns the flags in force.
pub fn set_flags(target: &str, flags: SupervisorFlags) -> Result<SupervisorFlags, SupervisorError> {
    supervisor_control::set_flags(target, flags)
}

/// A strategy's name in JSON.
pub fn strategy_name(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::OneForOne => "one_for_one",
        Strategy::OneForAll => "one_for_all",
        Strategy::RestForOne => "rest_for_one",
    }
}

/// Parse a strategy name.
pub fn parse_strategy(name: &str) -> Option<Strategy> {
    match name {
        "one_for_one" => Some(Strategy::OneForOne),
        "one_for_all" => Some(Strategy::OneForAll),
        "rest_for_one" => Some(Strategy::RestForOne),
        _ => None,
    }
}

/// A restart type's name in JSON.
pub fn restart_name(restart: Restart) -> &'static str {
    match restart {
        Restart::Permanent => "permanent",
        Restart::Transient => "transient",
        Restart::Temporary => "temporary",
    }
}

/// Flags as JSON.
pub fn flags_json(flags: &SupervisorFlags) -> serde_json::Value {
    serde_json::json!({
        "strategy": strategy_name(flags.strategy),
        "intensity": flags.intensity,
        "period_ms": flags.period_ms,
    })
}

/// A supervisor as JSON.
pub fn info_json(info: &SupervisorInfo) -> serde_json::Value {
    serde_json::json!({
        "pid": info.pid,
        "name": info.name,
        "parent": info.parent,
        "flags": flags_json(&info.flags),
        "children": info.children,
        "active": info.active,
        "restarts": info.restarts,
    })
}

/// A child as JSON.
pub fn child_json(child: &ChildInfo) -> serde_json::Value {
    serde_json::json!({
        "id": child.id,
        "pid": child.pid,
        "kind": child.kind,
        "worker": child.worker,
        "restart": restart_name(child.restart),
        "shutdown": child.shutdown,
        "restarts": child.restarts,
    })
}

/// The usual answers to a refused supervisor request.
impl From<SupervisorError> for crate::Error {
    fn from(error: SupervisorError) -> crate::Error {
        match error {
            SupervisorError::NotFound(message) => {
                crate::Error::not_found(message).with_code("supervisor_not_found")
            }
            SupervisorError::NoChild(message) => {
                crate::Error::not_found(message).with_code("child_not_found")
            }
            SupervisorError::ChildExists(message) => {
                crate::Error::conflict(message).with_code("child_exists")
            }
            SupervisorError::NameTaken(message) => {
                crate::Error::conflict(message).with_code("name_taken")
            }
            SupervisorError::Invalid(message) => {
                crate::Error::invalid_params(message).with_code("validation_error")
            }
            SupervisorError::StartFailed(message) => {
                crate::Error::invalid_params(message).with_code("start_failed")
            }
            SupervisorError::Protected(message) => crate::processes::protected(message),
        }
    }
}

/// Nest a tree as [`tree`] returns it (depth first, each node after its parent) into JSON
/// where each node carries its `children`. `None` for an empty list.
pub fn nest(nodes: Vec<TreeNode>) -> Option<serde_json::Value> {
    let mut nodes = nodes.into_iter().peekable();
    let root = nodes.next()?;
    Some(nest_node(root, &mut nodes))
}

/// A node's children are the nodes that follow it one level deeper, up to the next node
/// at its own depth or above.
fn nest_node(
    node: TreeNode,
    rest: &mut std::iter::Peekable<impl Iterator<Item = TreeNode>>,
) -> serde_json::Value {
    let mut children = Vec::new();
    while rest.peek().is_some_and(|next| next.depth > node.depth) {
        if let Some(child) = rest.next() {
            children.push(nest_node(child, rest));
        }
    }
    serde_json::json!({
        "id": node.id,
        "pid": node.pid,
        "kind": node.kind,
        "worker": node.worker,
        "status": node.status,
        "restarts": node.restarts,
        "children": children,
    })
}
