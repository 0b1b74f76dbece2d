//! Built-in operation `list_registered`: registered process names and their pids.

use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;

struct ListRegistered;

impl Operation for ListRegistered {
    fn config() -> Config {
        Config::get("list_registered", "/api/v1/registry")
            .category(Category::Process)
            .summary("Registered process names")
            .response_schema(json!({
                "type": "array",
                "items": { "type": "object", "required": ["name", "pid"] }
            }))
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        let names: Vec<Value> = processes::registered()
            .into_iter()
            .map(|(name, pid)| json!({ "name": name, "pid": pid }))
            .collect();
        Ok(names)
    }
}

arsenal_sdk::export!(ListRegistered);
