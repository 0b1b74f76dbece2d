//! Built-in operation `node_info`: one node as this node sees it, with the components it
//! serves.

use arsenal_sdk::distributed::{self, NODE_PATTERN};
use arsenal_sdk::prelude::*;

struct NodeInfo;

impl Operation for NodeInfo {
    fn config() -> Config {
        Config::get("node_info", "/api/v1/cluster/nodes/:node")
            .category(Category::Distributed)
            .summary("One node of the cluster")
            .param(
                Param::path("node")
                    .string()
                    .pattern(NODE_PATTERN)
                    .describe("A node id, as it appears in pids"),
            )
            .response_schema(json!({
                "type": "object",
                "required": ["node", "status", "load", "components"]
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let node: String = request.param("node")?;
        let view = distributed::view();
        let Some(member) = view.members.iter().find(|member| member.node == node) else {
            return Err(distributed::node_not_found(&node));
        };
        let mut answer = distributed::member_json(member);
        answer["components"] = member
            .components
            .iter()
            .map(|component| {
                json!({
                    "kind": component.kind,
                    "name": component.name,
                    "version": component.version,
                    "revision": component.revision,
                })
            })
            .collect();
        Ok(answer)
    }
}

arsenal_sdk::export!(NodeInfo);
