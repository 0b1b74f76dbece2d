//! Built-in operation `start_process`: start a process running a loaded worker.

use arsenal_sdk::prelude::*;
use arsenal_sdk::processes::{self, SpawnOptions};

struct StartProcess;

impl Operation for StartProcess {
    fn config() -> Config {
        Config::post("start_process", "/api/v1/processes")
            .category(Category::Process)
            .summary("Start a process")
            .description(
                "Starts a process running a loaded worker component, initialised with `args`, \
                 optionally registered under `name`, linked to `link`, trapping exits.",
            )
            .param(
                Param::body("worker")
                    .string()
                    .min_length(1)
                    .max_length(128)
                    .describe("A loaded worker (GET /api/v1/workers)"),
            )
            .param(
                Param::body("args")
                    .string()
                    .max_length(65536)
                    .default("")
                    .describe("Passed to the worker's init"),
            )
            .param(
                Param::body("name")
                    .string()
                    .pattern(r"^[A-Za-z0-9_.-]{1,64}$")
                    .optional(),
            )
            .param(
                Param::body("link")
                    .string()
                    .pattern(processes::TARGET_PATTERN)
                    .optional(),
            )
            .param(Param::body("trap_exit").boolean().default(false))
            .response_schema(json!({ "type": "object", "required": ["pid", "status"] }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let worker: String = request.param("worker")?;
        let args: String = request.param("args")?;
        let options = SpawnOptions {
            name: request.param("name")?,
            link: request.param("link")?,
            trap_exit: request.param("trap_exit")?,
        };
        let pid = processes::spawn(&worker, &args, &options)?;
        log::info(&format!("started {pid} running {worker}"));
        Ok(processes::to_json(&processes::get(&pid)?))
    }
}

arsenal_sdk::export!(StartProcess);
