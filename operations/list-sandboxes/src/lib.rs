//! Built-in operation `list_sandboxes`: every sandbox with its status and usage.

use arsenal_sdk::prelude::*;
use arsenal_sdk::sandboxes;

struct ListSandboxes;

impl Operation for ListSandboxes {
    fn config() -> Config {
        Config::get("list_sandboxes", "/api/v1/sandboxes")
            .category(Category::Sandbox)
            .summary("List sandboxes")
            .param(
                Param::query("status")
                    .string()
                    .one_of(["running", "stopped", "exhausted"])
                    .optional(),
            )
            .response_schema(json!({
                "type": "object",
                "required": ["total", "sandboxes"],
                "properties": {
                    "total": { "type": "integer" },
                    "sandboxes": { "type": "array", "items": { "type": "object" } }
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let status: Option<String> = request.param("status")?;
        let listed: Vec<Value> = sandboxes::list()
            .iter()
            .filter(|info| status.as_ref().is_none_or(|status| &info.status == status))
            .map(sandboxes::info_json)
            .collect();
        Ok(json!({ "total": listed.len(), "sandboxes": listed }))
    }
}

arsenal_sdk::export!(ListSandboxes);
