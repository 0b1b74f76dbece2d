//! Built-in operation `get_process_info`: one process by pid or registered name.

use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;

struct GetProcessInfo;

impl Operation for GetProcessInfo {
    fn config() -> Config {
        Config::get("get_process_info", "/api/v1/processes/:pid")
            .category(Category::Process)
            .summary("One process")
            .description("Status, links, monitors, mailbox and counters of a process, by pid or registered name.")
            .param(processes::target_param())
            .response_schema(json!({ "type": "object", "required": ["pid", "status"] }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("pid")?;
        Ok(processes::to_json(&processes::get(&target)?))
    }
}

arsenal_sdk::export!(GetProcessInfo);
