//! Built-in operation `which_children`: a supervisor's children, as OTP's `which_children`.

use arsenal_sdk::prelude::*;
use arsenal_sdk::supervisors;

struct WhichChildren;

impl Operation for WhichChildren {
    fn config() -> Config {
        Config::get("which_children", "/api/v1/supervisors/:id/children")
            .category(Category::Supervisor)
            .summary("A supervisor's children")
            .description(
                "Children in start order: id, pid (none while not running), kind, worker, \
                 restart type, shutdown and restarts so far.",
            )
            .param(supervisors::target_param())
            .response_schema(json!({
                "type": "object",
                "required": ["supervisor", "children"],
                "properties": {
                    "supervisor": { "type": "string" },
                    "children": { "type": "array", "items": { "type": "object" } }
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("id")?;
        let supervisor = supervisors::get(&target)?;
        let children: Vec<Value> = supervisors::which_children(&target)?
            .iter()
            .map(supervisors::child_json)
            .collect();
        Ok(json!({ "supervisor": supervisor.pid, "children": children }))
    }
}

arsenal_sdk::export!(WhichChildren);
