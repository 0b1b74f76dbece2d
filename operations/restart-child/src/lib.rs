//! Built-in operation `restart_child`: stop a supervisor's child and start it again.

use arsenal_sdk::prelude::*;
use arsenal_sdk::supervisors;

struct RestartChild;

impl Operation for RestartChild {
    fn config() -> Config {
        Config::post(
            "restart_child",
            "/api/v1/supervisors/:id/children/:child/restart",
        )
        .category(Category::Supervisor)
        .summary("Restart a child")
        .description(
            "Stops the child as its shutdown says and starts it from its spec: it gets a new \
                 pid and the old one is gone. Recorded in the restart history.",
        )
        .status(200)
        .param(supervisors::target_param())
        .param(supervisors::child_param())
        .response_schema(json!({
            "type": "object",
            "required": ["child", "old_pid", "pid"],
            "properties": {
                "child": { "type": "string" },
                "old_pid": { "type": ["string", "null"] },
                "pid": { "type": "string" }
            }
        }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("id")?;
        let id: String = request.param("child")?;
        let old = supervisors::which_children(&target)?
            .into_iter()
            .find(|child| child.id == id)
            .and_then(|child| child.pid);
        let pid = supervisors::restart_child(&target, &id)?;
        log::info(&format!("restarted child `{id}` of {target}: {pid}"));
        Ok(json!({ "child": id, "old_pid": old, "pid": pid }))
    }
}

arsenal_sdk::export!(RestartChild);
