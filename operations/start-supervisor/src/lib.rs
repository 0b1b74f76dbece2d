//! Built-in operation `start_supervisor`: start a supervision tree from a spec.

use arsenal_sdk::prelude::*;
use arsenal_sdk::{processes, supervisors};

struct StartSupervisor;

impl Operation for StartSupervisor {
    fn config() -> Config {
        Config::post("start_supervisor", "/api/v1/supervisors")
            .category(Category::Supervisor)
            .summary("Start a supervisor")
            .description(
                "Starts a root supervisor and its children in order. A child is \
                 `{\"id\", \"worker\", \"args\"?, \"name\"?, \"restart\"?, \"shutdown\"?}` or \
                 `{\"id\", \"supervisor\": {...}, \"restart\"?, \"shutdown\"?}`; `restart` is \
                 permanent (default), transient or temporary; `shutdown` is milliseconds \
                 (default 5000 for workers), \"brutal_kill\" or \"infinity\" (default for \
                 supervisors). If a child fails to start, nothing is left running.",
            )
            .param(
                Param::body("name")
                    .string()
                    .pattern(r"^[A-Za-z0-9_.-]{1,64}$")
                    .optional(),
            )
            .param(
                Param::body("strategy")
                    .string()
                    .one_of(["one_for_one", "one_for_all", "rest_for_one"])
                    .default("one_for_one"),
            )
            .param(
                Param::body("intensity")
                    .integer()
                    .min(0)
                    .max(10_000)
                    .default(1)
                    .describe("Restarts allowed within period_ms before the supervisor gives up"),
            )
            .param(
                Param::body("period_ms")
                    .integer()
                    .min(1)
                    .max(86_400_000)
                    .default(5_000),
            )
            .param(
                Param::body("children")
                    .array(ParamType::Object)
                    .default(json!([]))
                    .describe("Child specs, started in order"),
            )
            .response_schema(json!({ "type": "object", "required": ["pid", "flags", "children"] }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let spec = Value::Object(request.raw_params().clone());
        let pid = supervisors::start(&spec.to_string())?;
        let info = supervisors::get(&pid)?;
        log::info(&format!(
            "started supervisor {pid} with {} children",
            info.children
        ));
        let mut answer = supervisors::info_json(&info);
        answer["children"] = supervisors::which_children(&pid)?
            .iter()
            .map(supervisors::child_json)
            .collect();
        answer["status"] = json!(processes::get(&pid)?.status);
        Ok(answer)
    }
}

arsenal_sdk::export!(StartSupervisor);
