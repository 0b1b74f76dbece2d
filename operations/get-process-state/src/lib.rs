//! Built-in operation `get_process_state`: a process's state as its worker snapshots it.

use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;
use base64::Engine as _;

struct GetProcessState;

impl Operation for GetProcessState {
    fn config() -> Config {
        Config::get("get_process_state", "/api/v1/processes/:pid/state")
            .category(Category::Process)
            .summary("A process's state")
            .description(
                "Takes the worker's `snapshot` between two messages without stopping it (a \
                 hibernated process answers from its kept state and stays asleep). The bytes \
                 come as base64, and also as text and JSON when they are. A worker without a \
                 `state` export answers `stateful: false`.",
            )
            .param(processes::target_param())
            .response_schema(json!({
                "type": "object",
                "required": ["pid", "stateful", "status"],
                "properties": {
                    "pid": { "type": "string" },
                    "stateful": { "type": "boolean" },
                    "status": { "type": "string" },
                    "bytes": { "type": "integer" },
                    "base64": { "type": "string" },
                    "text": { "type": ["string", "null"] },
                    "json": {}
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("pid")?;
        let info = processes::get(&target)?;
        let Some(state) = processes::state(&info.pid)? else {
            return Ok(json!({ "pid": info.pid, "stateful": false, "status": info.status }));
        };
        let text = std::str::from_utf8(&state).ok();
        let parsed = text.and_then(|text| serde_json::from_str::<Value>(text).ok());
        Ok(json!({
            "pid": info.pid,
            "stateful": true,
            "status": info.status,
            "bytes": state.len(),
            "base64": base64::engine::general_purpose::STANDARD.encode(&state),
            "text": text,
            "json": parsed,
        }))
    }
}

arsenal_sdk::export!(GetProcessState);
