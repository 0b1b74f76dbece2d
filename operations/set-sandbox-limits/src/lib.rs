//! Built-in operation `set_sandbox_limits`: change a sandbox's budgets at runtime.

use arsenal_sdk::prelude::*;
use arsenal_sdk::sandboxes;

struct SetSandboxLimits;

impl Operation for SetSandboxLimits {
    fn config() -> Config {
        Config::put("set_sandbox_limits", "/api/v1/sandboxes/:id/limits")
            .category(Category::Sandbox)
            .summary("Change a sandbox's limits")
            .description(
                "Sets any of the limits; the others keep their values. A lower total memory \
                 refuses new growth (memory held stays until freed); max_processes cannot go \
                 below the processes running (409); process memory and the message deadline \
                 apply to instances started afterwards; cpu_time_ms 0 lifts the budget.",
            )
            .status(200)
            .param(sandboxes::id_param())
            .param(
                Param::body("total_memory_mib")
                    .integer()
                    .min(1)
                    .max(1_048_576)
                    .optional(),
            )
            .param(
                Param::body("process_memory_mib")
                    .integer()
                    .min(1)
                    .max(65_536)
                    .optional(),
            )
            .param(
                Param::body("max_processes")
                    .integer()
                    .min(1)
                    .max(100_000)
                    .optional(),
            )
            .param(
                Param::body("message_deadline_ms")
                    .integer()
                    .min(1)
                    .max(600_000)
                    .optional(),
            )
            .param(Param::body("cpu_time_ms").integer().min(0).optional())
            .response_schema(json!({ "type": "object", "required": ["id", "limits"] }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let id: String = request.param("id")?;
        let mut update = request.raw_params().clone();
        update.remove("id");
        let info = sandboxes::set_limits(&id, &Value::Object(update).to_string())?;
        Ok(sandboxes::info_json(&info))
    }
}

arsenal_sdk::export!(SetSandboxLimits);
