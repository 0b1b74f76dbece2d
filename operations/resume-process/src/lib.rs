//! Built-in operation `resume_process`.

const DESCRIPTION: &str = "Let a suspended process handle its queued messages again.";
const STATUS: &str = "running";

use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;

struct ResumeProcess;

impl Operation for ResumeProcess {
    fn config() -> Config {
        Config::post("resume_process", "/api/v1/processes/:pid/resume")
            .category(Category::Process)
            .summary("Resume a process")
            .description(DESCRIPTION)
            .status(200)
            .param(processes::target_param())
            .response_schema(json!({ "type": "object", "required": ["pid", "status"] }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("pid")?;
        let pid = processes::resume(&target)?;
        Ok(json!({ "pid": pid, "status": STATUS }))
    }
}

arsenal_sdk::export!(ResumeProcess);
