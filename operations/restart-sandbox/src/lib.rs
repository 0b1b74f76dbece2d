//! Built-in operation `restart_sandbox`: stop a sandbox's tree and start it afresh.

use arsenal_sdk::prelude::*;
use arsenal_sdk::sandboxes;

struct RestartSandbox;

impl Operation for RestartSandbox {
    fn config() -> Config {
        Config::post("restart_sandbox", "/api/v1/sandboxes/:id/restart")
            .category(Category::Sandbox)
            .summary("Restart a sandbox")
            .description(
                "Stops every process of the sandbox and starts its tree again from its spec \
                 (with any hot-reloaded code), with its CPU-time budget renewed. Processes get \
                 new pids and fresh state.",
            )
            .status(200)
            .param(sandboxes::id_param())
            .response_schema(json!({ "type": "object", "required": ["id", "status", "root"] }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let id: String = request.param("id")?;
        let info = sandboxes::restart(&id)?;
        log::info(&format!("restarted sandbox {id}"));
        Ok(sandboxes::info_json(&info))
    }
}

arsenal_sdk::export!(RestartSandbox);
