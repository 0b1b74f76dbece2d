//! Built-in operation `get_sandbox_info`: one sandbox, its limits, policy and usage.

use arsenal_sdk::prelude::*;
use arsenal_sdk::sandboxes;

struct GetSandboxInfo;

impl Operation for GetSandboxInfo {
    fn config() -> Config {
        Config::get("get_sandbox_info", "/api/v1/sandboxes/:id")
            .category(Category::Sandbox)
            .summary("One sandbox")
            .description(
                "Status (running, stopped once its root supervisor exited, exhausted once its \
                 CPU-time budget is spent), limits, policy, usage (processes, memory held \
                 together, CPU time) and its live processes.",
            )
            .param(sandboxes::id_param())
            .response_schema(
                json!({ "type": "object", "required": ["id", "status", "usage", "members"] }),
            )
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let id: String = request.param("id")?;
        Ok(sandboxes::info_json(&sandboxes::get(&id)?))
    }
}

arsenal_sdk::export!(GetSandboxInfo);
