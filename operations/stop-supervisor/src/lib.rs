//! Built-in operation `stop_supervisor`: stop a supervisor and its whole tree.

use arsenal_sdk::prelude::*;
use arsenal_sdk::supervisors;

struct StopSupervisor;

impl Operation for StopSupervisor {
    fn config() -> Config {
        Config::delete("stop_supervisor", "/api/v1/supervisors/:id")
            .category(Category::Supervisor)
            .summary("Stop a supervisor")
            .description(
                "Stops the children in reverse start order (each `shutdown`, then `kill` after \
                 its shutdown timeout), then the supervisor; answers once it has exited. A \
                 nested supervisor is removed from its parent so it is not restarted. A second \
                 DELETE answers 404.",
            )
            .param(supervisors::target_param())
            .response_schema(json!({
                "type": "object",
                "required": ["pid", "stopped"],
                "properties": { "pid": { "type": "string" }, "stopped": { "type": "boolean" } }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("id")?;
        let pid = supervisors::stop(&target)?;
        log::info(&format!("stopped supervisor {pid}"));
        Ok(json!({ "pid": pid, "stopped": true }))
    }
}

arsenal_sdk::export!(StopSupervisor);
