//! Built-in operation `cluster_supervision_trees`: the supervision trees of every node
//! that is up, each node asked as the caller.

use arsenal_sdk::distributed::{self, NodeStatus};
use arsenal_sdk::prelude::*;

struct ClusterSupervisionTrees;

impl Operation for ClusterSupervisionTrees {
    fn config() -> Config {
        Config::get("cluster_supervision_trees", "/api/v1/cluster/supervision-trees")
            .category(Category::Distributed)
            .summary("Supervision trees of every node")
            .description(
                "Each node's `process_tree` (its root supervisors with their trees nested, and \
                 the count of processes outside them); a node that cannot answer says why.",
            )
            .response_schema(json!({ "type": "object", "required": ["nodes"] }))
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        let view = distributed::view();
        let nodes: Vec<Value> = view
            .members
            .iter()
            .filter(|member| matches!(member.status, NodeStatus::ThisNode | NodeStatus::Up))
            .map(|member| {
                match distributed::get_data(&member.node, "/api/v1/system/process-tree?limit=1") {
                    Ok(data) => json!({
                        "node": member.node,
                        "trees": data["trees"],
                        "total_processes": data["total_processes"],
                    }),
                    Err(error) => json!({ "node": member.node, "error": error.message() }),
                }
            })
            .collect();
        Ok(json!({ "nodes": nodes }))
    }
}

arsenal_sdk::export!(ClusterSupervisionTrees);
