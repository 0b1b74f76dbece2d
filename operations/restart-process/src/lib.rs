//! Built-in operation `restart_process`: restart a worker process, keeping its state.

use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;

struct RestartProcess;

impl Operation for RestartProcess {
    fn config() -> Config {
        Config::post("restart_process", "/api/v1/processes/:pid/restart")
            .category(Category::Process)
            .summary("Restart a process")
            .description(
                "The process gets a new pid and the old one exits. Where the worker exports \
                 `state`, its state is snapshotted first and restored into the new process. A \
                 supervised process is restarted by its supervisor (and recorded in its \
                 history); a standalone one keeps its args, registered name, links and \
                 trap_exit. Supervisors cannot be restarted this way (409).",
            )
            .status(200)
            .param(processes::target_param())
            .response_schema(json!({
                "type": "object",
                "required": ["old_pid", "pid", "state_kept"],
                "properties": {
                    "old_pid": { "type": "string" },
                    "pid": { "type": "string" },
                    "state_kept": { "type": "boolean" },
                    "state_bytes": { "type": ["integer", "null"] },
                    "supervisor": { "type": ["string", "null"] }
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("pid")?;
        let restarted = processes::restart(&target)?;
        log::info(&format!(
            "restarted {} as {}",
            restarted.old_pid, restarted.new_pid
        ));
        Ok(json!({
            "old_pid": restarted.old_pid,
            "pid": restarted.new_pid,
            "state_kept": restarted.state_bytes.is_some(),
            "state_bytes": restarted.state_bytes,
            "supervisor": restarted.supervisor,
        }))
    }
}

arsenal_sdk::export!(RestartProcess);
