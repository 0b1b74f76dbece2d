//! Built-in operation `get_supervision_tree`: a supervisor and everything under it.

use arsenal_sdk::prelude::*;
use arsenal_sdk::supervisors;

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
        let root = supervisors::nest(nodes)
            .ok_or_else(|| Error::internal("the host answered an empty tree"))?;
        Ok(json!({ "root": root, "size": size }))
    }
}

arsenal_sdk::export!(GetSupervisionTree);
