//! Built-in operation `get_process_links`: a process's links, monitors and `trap_exit`.

use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;

struct GetProcessLinks;

impl Operation for GetProcessLinks {
    fn config() -> Config {
        Config::get("get_process_links", "/api/v1/processes/:pid/links")
            .category(Category::Process)
            .summary("A process's links and monitors")
            .param(processes::target_param())
            .response_schema(json!({
                "type": "object",
                "required": ["pid", "links", "monitored_by", "trap_exit"],
                "properties": {
                    "pid": { "type": "string" },
                    "links": { "type": "array", "items": { "type": "string" } },
                    "monitored_by": { "type": "array", "items": { "type": "string" } },
                    "trap_exit": { "type": "boolean" }
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("pid")?;
        let info = processes::get(&target)?;
        Ok(json!({
            "pid": info.pid,
            "links": info.links,
            "monitored_by": info.monitored_by,
            "trap_exit": info.trap_exit,
        }))
    }
}

arsenal_sdk::export!(GetProcessLinks);
