//! Built-in operation `list_workers`: the worker components processes can run.

use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;

struct ListWorkers;

impl Operation for ListWorkers {
    fn config() -> Config {
        Config::get("list_workers", "/api/v1/workers")
            .category(Category::Process)
            .summary("Loaded worker components")
            .response_schema(json!({
                "type": "array",
                "items": { "type": "object", "required": ["name", "version"] }
            }))
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        let workers: Vec<Value> = processes::workers()
            .into_iter()
            .map(|(name, version)| json!({ "name": name, "version": version }))
            .collect();
        Ok(workers)
    }
}

arsenal_sdk::export!(ListWorkers);
