//! Built-in operation `migrate_process`: move a worker process to another node, its state
//! carried by snapshot and restore. A pid of another node is forwarded to that node.

use arsenal_sdk::distributed::{self, NODE_PATTERN};
use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;

struct MigrateProcess;

impl Operation for MigrateProcess {
    fn config() -> Config {
        Config::post("migrate_process", "/api/v1/processes/:pid/migrate")
            .category(Category::Distributed)
            .summary("Move a process to another node")
            .description(
                "Suspends the process, snapshots its state, starts the same worker version on \
                 `node` with the same args and name, restores the state there, then stops it \
                 here. Supervised, sandboxed and protected processes do not move. Messages \
                 still queued are not carried. A node that is not a member answers 404 \
                 `node_not_found`.",
            )
            .status(200)
            .param(processes::target_param())
            .param(
                Param::body("node")
                    .string()
                    .pattern(NODE_PATTERN)
                    .describe("The node to move it to"),
            )
            .response_schema(json!({
                "type": "object",
                "required": ["from", "to", "node", "state_bytes"]
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("pid")?;
        let node: String = request.param("node")?;
        let here = distributed::view().node;
        // `<node.incarnation.serial>`: a process of another node moves from there.
        if let Some(owner) = target
            .strip_prefix('<')
            .and_then(|rest| rest.split('.').next())
            .filter(|owner| *owner != here)
        {
            let body = json!({ "node": node }).to_string();
            let path = format!(
                "/api/v1/processes/{}/migrate",
                distributed::path_segment(&target)
            );
            let reply = distributed::call_node(owner, "POST", &path, &body)?;
            return distributed::data_of(owner, reply);
        }
        let moved = distributed::migrate(&target, &node)?;
        Ok(json!({
            "from": moved.from,
            "to": moved.to,
            "node": moved.node,
            "state_bytes": moved.state_bytes,
        }))
    }
}

arsenal_sdk::export!(MigrateProcess);
