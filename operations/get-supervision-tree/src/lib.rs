//! Built-in operation `get_supervision_tree`: a supervisor and everything under it.

use arsenal_sdk::prelude::*;
use arsenal_sdk::supervisors::{self, TreeNode};

struct GetSupervisionTree;

impl Operation for GetSupervisionTree {
    fn config() -> Config {
        Config::get("get_supervision_tree", "/api/v1/supervisors/:id/tree")
            .category(Category::Supervisor)
            .summary("A supervision tree")
            .description(
                "The supervisor and its children, nested: supervisors carry their own \
                 `children`. Children not running show status `stopped` and no pid.",
            )
            .param(supervisors::target_param())
            .response_schema(json!({
                "type": "object",
                "required": ["root", "size"],
                "properties": {
                    "root": { "type": "object", "required": ["id", "kind", "children"] },
                    "size": { "type": "integer" }
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("id")?;
        let nodes = supervisors::tree(&target)?;
        let size = nodes.len();
        let mut nodes = nodes.into_iter().peekable();
        let root = nodes
            .next()
            .ok_or_else(|| Error::internal("the host answered an empty tree"))?;
        let root = nest(root, &mut nodes);
        Ok(json!({ "root": root, "size": size }))
    }
}

/// Nodes arrive depth first, each after its parent: a node's children are the nodes that
/// follow it one level deeper, up to the next node at its own depth or above.
fn nest(node: TreeNode, rest: &mut std::iter::Peekable<impl Iterator<Item = TreeNode>>) -> Value {
    let mut children = Vec::new();
    while rest.peek().is_some_and(|next| next.depth > node.depth) {
        let child = rest.next().expect("peeked");
        children.push(nest(child, rest));
    }
    json!({
        "id": node.id,
        "pid": node.pid,
        "kind": node.kind,
        "worker": node.worker,
        "status": node.status,
        "restarts": node.restarts,
        "children": children,
    })
}

arsenal_sdk::export!(GetSupervisionTree);
