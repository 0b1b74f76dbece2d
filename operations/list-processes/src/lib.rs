//! Built-in operation `list_processes`: the live processes, filtered, sorted and paginated.

use arsenal_sdk::page::{self, Page};
use arsenal_sdk::prelude::*;
use arsenal_sdk::processes::{self, ProcessInfo};

struct ListProcesses;

impl Operation for ListProcesses {
    fn config() -> Config {
        Config::get("list_processes", "/api/v1/processes")
            .category(Category::Process)
            .summary("List processes")
            .description(
                "Live processes with their status and counters, filtered, sorted and paginated.",
            )
            .param(
                Param::query("status")
                    .string()
                    .one_of(["running", "suspended", "hibernated", "exiting"])
                    .optional(),
            )
            .param(
                Param::query("worker")
                    .string()
                    .max_length(128)
                    .optional()
                    .describe("Only processes running this worker"),
            )
            .param(
                Param::query("name")
                    .string()
                    .max_length(64)
                    .optional()
                    .describe("Registered names containing this text"),
            )
            .param(
                Param::query("sort")
                    .string()
                    .one_of(["pid", "messages_in", "mailbox_len", "busy_ms", "started"])
                    .default("pid"),
            )
            .param(page::limit_param(100, 1000))
            .param(page::offset_param())
            .response_schema(page::schema("processes"))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let status: Option<String> = request.param("status")?;
        let worker: Option<String> = request.param("worker")?;
        let name: Option<String> = request.param("name")?;
        let sort: String = request.param("sort")?;
        let page = Page::of(&request)?;
        let mut matching: Vec<ProcessInfo> = processes::list()
            .into_iter()
            .filter(|p| status.as_ref().is_none_or(|status| &p.status == status))
            .filter(|p| worker.as_ref().is_none_or(|worker| &p.worker == worker))
            .filter(|p| {
                name.as_ref()
                    .is_none_or(|name| p.name.as_ref().is_some_and(|n| n.contains(name.as_str())))
            })
            .collect();
        match sort.as_str() {
            "messages_in" => matching.sort_by(|a, b| b.messages_in.cmp(&a.messages_in)),
            "mailbox_len" => matching.sort_by(|a, b| b.mailbox_len.cmp(&a.mailbox_len)),
            "busy_ms" => matching.sort_by(|a, b| b.busy_ms.cmp(&a.busy_ms)),
            "started" => matching.sort_by_key(|p| p.started_unix_ms),
            // The host lists processes in pid order already.
            _ => {}
        }
        Ok(page.answer("processes", &matching, processes::to_json))
    }
}

arsenal_sdk::export!(ListProcesses);
