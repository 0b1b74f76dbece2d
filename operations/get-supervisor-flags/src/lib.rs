//! Built-in operation `get_supervisor_flags`: a supervisor's strategy and restart intensity.

use arsenal_sdk::prelude::*;
use arsenal_sdk::supervisors;

struct GetSupervisorFlags;

impl Operation for GetSupervisorFlags {
    fn config() -> Config {
        Config::get("get_supervisor_flags", "/api/v1/supervisors/:id/flags")
            .category(Category::Supervisor)
            .summary("A supervisor's flags")
            .param(supervisors::target_param())
            .response_schema(json!({
                "type": "object",
                "required": ["pid", "strategy", "intensity", "period_ms"],
                "properties": {
                    "pid": { "type": "string" },
                    "strategy": { "enum": ["one_for_one", "one_for_all", "rest_for_one"] },
                    "intensity": { "type": "integer" },
                    "period_ms": { "type": "integer" }
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("id")?;
        let info = supervisors::get(&target)?;
        let mut answer = supervisors::flags_json(&info.flags);
        answer["pid"] = json!(info.pid);
        Ok(answer)
    }
}

arsenal_sdk::export!(GetSupervisorFlags);
