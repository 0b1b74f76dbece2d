//! Built-in operation `suspend_process`.

const DESCRIPTION: &str =
    "Stop the process handling messages; they queue in its mailbox (bounded) until it is resumed.";
const STATUS: &str = "suspended";

use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;

struct SuspendProcess;

impl Operation for SuspendProcess {
    fn config() -> Config {
        Config::post("suspend_process", "/api/v1/processes/:pid/suspend")
            .category(Category::Process)
            .summary("Suspend a process")
            .description(DESCRIPTION)
            .status(200)
            .param(processes::target_param())
            .response_schema(json!({ "type": "object", "required": ["pid", "status"] }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("pid")?;
        let pid = processes::suspend(&target)?;
        Ok(json!({ "pid": pid, "status": STATUS }))
    }
}

arsenal_sdk::export!(SuspendProcess);
