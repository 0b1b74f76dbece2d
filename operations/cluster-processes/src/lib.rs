//! Built-in operation `cluster_processes`: the processes of every node that is up (or of
//! one), each node asked as the caller. A node that cannot answer is listed with why; one
//! asked for alone answers 404 `node_not_found` when it is not a member, and the node's
//! own refusal when it cannot answer.

use arsenal_sdk::distributed::{self, NODE_PATTERN, NodeStatus};
use arsenal_sdk::prelude::*;

struct ClusterProcesses;

impl Operation for ClusterProcesses {
    fn config() -> Config {
        Config::get("cluster_processes", "/api/v1/cluster/processes")
            .category(Category::Distributed)
            .summary("Processes of every node")
            .param(
                Param::query("node")
                    .string()
                    .pattern(NODE_PATTERN)
                    .optional()
                    .describe("Only this node"),
            )
            .param(Param::query("limit").integer().min(1).max(1000).default(100))
            .response_schema(json!({
                "type": "object",
                "required": ["nodes", "total"]
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let only: Option<String> = request.param("node")?;
        let limit: u32 = request.param("limit")?;
        let view = distributed::view();
        let nodes: Vec<String> = match &only {
            Some(node) => {
                if !distributed::is_member(&view, node) {
                    return Err(distributed::node_not_found(node));
                }
                vec![node.clone()]
            }
            None => view
                .members
                .iter()
                .filter(|member| matches!(member.status, NodeStatus::ThisNode | NodeStatus::Up))
                .map(|member| member.node.clone())
                .collect(),
        };
        let mut total = 0;
        let mut answers = Vec::new();
        for node in nodes {
            match distributed::get_data(&node, &format!("/api/v1/processes?limit={limit}")) {
                Ok(data) => {
                    total += data["total"].as_u64().unwrap_or(0);
                    answers.push(json!({
                        "node": node,
                        "processes": data["processes"],
                        "total": data["total"],
                    }));
                }
                Err(error) if only.is_some() => return Err(error),
                Err(error) => answers.push(json!({ "node": node, "error": error.message() })),
            }
        }
        Ok(json!({ "nodes": answers, "total": total }))
    }
}

arsenal_sdk::export!(ClusterProcesses);
