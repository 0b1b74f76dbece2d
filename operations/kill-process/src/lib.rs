//! Built-in operation `kill_process`: send a process an exit signal.

use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;

struct KillProcess;

impl Operation for KillProcess {
    fn config() -> Config {
        Config::delete("kill_process", "/api/v1/processes/:pid")
            .category(Category::Process)
            .summary("Kill a process")
            .description(
                "Sends an exit signal. `kill` cannot be trapped; `shutdown` and other reasons \
                 follow OTP: a process trapping exits receives them as an event. Linked \
                 processes and monitors are told. A second DELETE answers 404.",
            )
            .param(processes::target_param())
            .param(
                Param::query("reason")
                    .string()
                    .min_length(1)
                    .max_length(256)
                    .default("kill"),
            )
            .response_schema(json!({
                "type": "object",
                "required": ["pid", "reason"],
                "properties": { "pid": { "type": "string" }, "reason": { "type": "string" } }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("pid")?;
        let reason: String = request.param("reason")?;
        let pid = processes::kill(&target, &reason)?;
        Ok(json!({ "pid": pid, "reason": reason }))
    }
}

arsenal_sdk::export!(KillProcess);
