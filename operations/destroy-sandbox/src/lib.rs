//! Built-in operation `destroy_sandbox`: stop every process of a sandbox and free it.

use arsenal_sdk::prelude::*;
use arsenal_sdk::sandboxes;

struct DestroySandbox;

impl Operation for DestroySandbox {
    fn config() -> Config {
        Config::delete("destroy_sandbox", "/api/v1/sandboxes/:id")
            .category(Category::Sandbox)
            .summary("Destroy a sandbox")
            .description(
                "Stops its tree (children in reverse start order) and any one-shot process, \
                 then forgets it; its memory budget is back to zero when this answers. A \
                 second DELETE answers 404.",
            )
            .param(sandboxes::id_param())
            .response_schema(json!({
                "type": "object",
                "required": ["id", "processes_stopped", "memory_freed_bytes"]
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let id: String = request.param("id")?;
        let destroyed = sandboxes::destroy(&id)?;
        log::info(&format!(
            "destroyed sandbox {id}: {} processes stopped",
            destroyed.processes_stopped
        ));
        Ok(json!({
            "id": id,
            "processes_stopped": destroyed.processes_stopped,
            "memory_freed_bytes": destroyed.memory_freed_bytes,
        }))
    }
}

arsenal_sdk::export!(DestroySandbox);
