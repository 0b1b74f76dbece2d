//! Built-in operation `list_supervisors`: every live supervisor with its flags and counts.

use arsenal_sdk::prelude::*;
use arsenal_sdk::supervisors;

struct ListSupervisors;

impl Operation for ListSupervisors {
    fn config() -> Config {
        Config::get("list_supervisors", "/api/v1/supervisors")
            .category(Category::Supervisor)
            .summary("List supervisors")
            .description(
                "Live supervisors, roots and nested ones, with their flags, parent, children \
                 declared and running, and restarts in their history. Paginated.",
            )
            .param(
                Param::query("root_only")
                    .boolean()
                    .default(false)
                    .describe("Only supervisors without a parent"),
            )
            .param(
                Param::query("limit")
                    .integer()
                    .min(1)
                    .max(1000)
                    .default(100),
            )
            .param(Param::query("offset").integer().min(0).default(0))
            .response_schema(json!({
                "type": "object",
                "required": ["total", "offset", "limit", "supervisors"],
                "properties": {
                    "total": { "type": "integer" },
                    "offset": { "type": "integer" },
                    "limit": { "type": "integer" },
                    "supervisors": { "type": "array", "items": { "type": "object" } }
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let root_only: bool = request.param("root_only")?;
        let limit: usize = request.param("limit")?;
        let offset: usize = request.param("offset")?;
        let matching: Vec<_> = supervisors::list()
            .into_iter()
            .filter(|info| !root_only || info.parent.is_none())
            .collect();
        let page: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(limit)
            .map(supervisors::info_json)
            .collect();
        Ok(
            json!({ "total": matching.len(), "offset": offset, "limit": limit, "supervisors": page }),
        )
    }
}

arsenal_sdk::export!(ListSupervisors);
