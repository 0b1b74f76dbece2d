//! Built-in operation `delete_child`: stop a supervisor's child and remove its spec.

use arsenal_sdk::prelude::*;
use arsenal_sdk::supervisors;

struct DeleteChild;

impl Operation for DeleteChild {
    fn config() -> Config {
        Config::delete("delete_child", "/api/v1/supervisors/:id/children/:child")
            .category(Category::Supervisor)
            .summary("Delete a child")
            .description(
                "Stops the child if it is running (OTP `terminate_child`) and removes its spec \
                 (`delete_child`), so it is never restarted. A second DELETE answers 404.",
            )
            .param(supervisors::target_param())
            .param(supervisors::child_param())
            .response_schema(json!({
                "type": "object",
                "required": ["child", "deleted"],
                "properties": { "child": { "type": "string" }, "deleted": { "type": "boolean" } }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("id")?;
        let id: String = request.param("child")?;
        supervisors::delete_child(&target, &id)?;
        log::info(&format!("deleted child `{id}` of {target}"));
        Ok(json!({ "child": id, "deleted": true }))
    }
}

arsenal_sdk::export!(DeleteChild);
