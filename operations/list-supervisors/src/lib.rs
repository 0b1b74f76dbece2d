//! Built-in operation `list_supervisors`: every live supervisor with its flags and counts.

use arsenal_sdk::page::{self, Page};
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
            .param(page::limit_param(100, 1000))
            .param(page::offset_param())
            .response_schema(page::schema("supervisors"))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let root_only: bool = request.param("root_only")?;
        let page = Page::of(&request)?;
        let matching: Vec<_> = supervisors::list()
            .into_iter()
            .filter(|info| !root_only || info.parent.is_none())
            .collect();
        Ok(page.answer("supervisors", &matching, supervisors::info_json))
    }
}

arsenal_sdk::export!(ListSupervisors);
