//! Built-in operation `restart_history`: a supervisor's recent restarts.

use arsenal_sdk::page;
use arsenal_sdk::prelude::*;
use arsenal_sdk::supervisors;

struct RestartHistory;

impl Operation for RestartHistory {
    fn config() -> Config {
        Config::get("restart_history", "/api/v1/supervisors/:id/restarts")
            .category(Category::Supervisor)
            .summary("A supervisor's restart history")
            .description(
                "Restarts newest first: when, which child, old and new pid, and the exit reason \
                 that caused it. The supervisor keeps the last 100.",
            )
            .param(supervisors::target_param())
            .param(page::limit_param(100, 100))
            .response_schema(json!({
                "type": "object",
                "required": ["pid", "total", "restarts"],
                "properties": {
                    "pid": { "type": "string" },
                    "total": { "type": "integer" },
                    "restarts": { "type": "array", "items": { "type": "object" } }
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("id")?;
        let limit: usize = request.param("limit")?;
        let info = supervisors::get(&target)?;
        let history = supervisors::history(&target)?;
        let restarts: Vec<Value> = history
            .iter()
            .rev()
            .take(limit)
            .map(|record| {
                json!({
                    "at_unix_ms": record.at_unix_ms,
                    "child": record.child,
                    "old_pid": record.old_pid,
                    "new_pid": record.new_pid,
                    "reason": record.reason,
                })
            })
            .collect();
        Ok(json!({ "pid": info.pid, "total": history.len(), "restarts": restarts }))
    }
}

arsenal_sdk::export!(RestartHistory);
