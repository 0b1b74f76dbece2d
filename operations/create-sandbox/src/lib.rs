//! Built-in operation `create_sandbox`: an isolated supervision tree with its own budgets.

use arsenal_sdk::prelude::*;
use arsenal_sdk::sandboxes;

struct CreateSandbox;

impl Operation for CreateSandbox {
    fn config() -> Config {
        Config::post("create_sandbox", "/api/v1/sandboxes")
            .category(Category::Sandbox)
            .summary("Create a sandbox")
            .description(
                "Starts `supervisor` (a spec as start_supervisor takes it) as an isolated tree. \
                 `limits`: total_memory_mib (default 64, shared by all its processes), \
                 process_memory_mib (default and maximum: the host's worker cap), \
                 max_processes (default 100), message_deadline_ms (default: the host's worker \
                 deadline), cpu_time_ms (time its processes may spend handling messages; \
                 absent or 0: unlimited). `policy`: external_messaging (default false: its \
                 processes reach only processes of the same sandbox), directory (default \
                 false: a private directory at /data for its workers, through cap-std; \
                 workers importing wasi:filesystem run only where it is granted).",
            )
            .param(Param::body("id").string().pattern(sandboxes::ID_PATTERN))
            .param(
                Param::body("supervisor")
                    .object()
                    .describe("The tree to run"),
            )
            .param(Param::body("limits").object().default(json!({})))
            .param(Param::body("policy").object().default(json!({})))
            .response_schema(
                json!({ "type": "object", "required": ["id", "status", "limits", "usage"] }),
            )
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let spec = Value::Object(request.raw_params().clone());
        let info = sandboxes::create(&spec.to_string())?;
        log::info(&format!(
            "created sandbox {} with {} processes",
            info.id, info.usage.processes
        ));
        Ok(sandboxes::info_json(&info))
    }
}

arsenal_sdk::export!(CreateSandbox);
