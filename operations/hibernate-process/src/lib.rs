//! Built-in operation `hibernate_process`: snapshot a process's state and drop its
//! instance until its next message.

use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;

struct HibernateProcess;

impl Operation for HibernateProcess {
    fn config() -> Config {
        Config::post("hibernate_process", "/api/v1/processes/:pid/hibernate")
            .category(Category::Process)
            .summary("Hibernate a process")
            .description(
                "Snapshots the worker's state through its `state` export and drops its instance; \
                 the next message wakes it with that state. 409 `cannot_hibernate` for a worker \
                 without `state` or a supervisor.",
            )
            .status(200)
            .param(processes::target_param())
            .response_schema(json!({ "type": "object", "required": ["pid", "status"] }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("pid")?;
        let pid = processes::hibernate(&target)?;
        Ok(json!({ "pid": pid, "status": "hibernated" }))
    }
}

arsenal_sdk::export!(HibernateProcess);
