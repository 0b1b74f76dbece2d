//! Built-in operation `process_tree`: every supervision tree and the processes outside them.

use arsenal_sdk::page::{self, Page};
use arsenal_sdk::prelude::*;
use arsenal_sdk::{processes, supervisors};

struct ProcessTree;

impl Operation for ProcessTree {
    fn config() -> Config {
        Config::get("process_tree", "/api/v1/system/process-tree")
            .category(Category::System)
            .summary("All processes as trees")
            .description(
                "Each root supervisor with its tree nested (supervisors carry `children`), then \
                 the processes no supervisor owns, paginated with limit and offset.",
            )
            .param(page::limit_param(100, 1000))
            .param(page::offset_param())
            .response_schema(json!({
                "type": "object",
                "required": ["trees", "unsupervised", "total_processes"]
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let page = Page::of(&request)?;
        let trees: Vec<Value> = supervisors::list()
            .into_iter()
            .filter(|supervisor| supervisor.parent.is_none())
            // A tree whose root stops meanwhile is left out.
            .filter_map(|root| supervisors::tree(&root.pid).ok())
            .filter_map(supervisors::nest)
            .collect();
        let all = processes::list();
        let unsupervised: Vec<_> = all
            .iter()
            .filter(|info| info.parent.is_none() && info.worker != "supervisor")
            .collect();
        let unsupervised = page.answer("processes", &unsupervised, |info| {
            json!({
                "pid": info.pid,
                "name": info.name,
                "worker": info.worker,
                "status": info.status,
                "links": info.links,
            })
        });
        Ok(json!({
            "total_processes": all.len(),
            "trees": trees,
            "unsupervised": unsupervised,
        }))
    }
}

arsenal_sdk::export!(ProcessTree);
