//! Built-in operation `add_child`: add a dynamic child to a running supervisor.

use arsenal_sdk::prelude::*;
use arsenal_sdk::supervisors;

struct AddChild;

impl Operation for AddChild {
    fn config() -> Config {
        Config::post("add_child", "/api/v1/supervisors/:id/children")
            .category(Category::Supervisor)
            .summary("Add a child to a supervisor")
            .description(
                "Adds a child spec and starts it at the end of the start order. Give exactly \
                 one of `worker` and `supervisor`.",
            )
            .param(supervisors::target_param())
            .param(
                Param::body("child_id")
                    .string()
                    .pattern(r"^[A-Za-z0-9_.-]{1,64}$")
                    .describe("The child's id, unique within the supervisor"),
            )
            .param(Param::body("worker").string().max_length(128).optional())
            .param(Param::body("args").string().max_length(65536).optional())
            .param(
                Param::body("name")
                    .string()
                    .pattern(r"^[A-Za-z0-9_.-]{1,64}$")
                    .optional(),
            )
            .param(
                Param::body("supervisor")
                    .object()
                    .optional()
                    .describe("A nested supervisor spec, as start_supervisor takes"),
            )
            .param(
                Param::body("restart")
                    .string()
                    .one_of(["permanent", "transient", "temporary"])
                    .default("permanent"),
            )
            .param(
                Param::body("shutdown")
                    .string()
                    .pattern(r"^([0-9]{1,9}|brutal_kill|infinity)$")
                    .optional()
                    .describe("Milliseconds, brutal_kill or infinity"),
            )
            .response_schema(json!({ "type": "object", "required": ["supervisor", "child"] }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("id")?;
        // The child spec is the body, with `child_id` as its `id` (the path's `:id` names
        // the supervisor).
        let mut child = request.raw_params().clone();
        child.remove("id");
        let child_id = child.remove("child_id").unwrap_or_default();
        child.insert("id".to_owned(), child_id);
        let pid = supervisors::add_child(&target, &Value::Object(child).to_string())?;
        let info = supervisors::which_children(&target)?
            .into_iter()
            .find(|child| child.pid.as_deref() == Some(pid.as_str()))
            .ok_or_else(|| Error::conflict(format!("child {pid} exited at once")))?;
        Ok(json!({ "supervisor": target, "child": supervisors::child_json(&info) }))
    }
}

arsenal_sdk::export!(AddChild);
