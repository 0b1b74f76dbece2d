//! Built-in operation `cluster_registry`: the global name registry and its conflicts.
//! The conflict rule: the first claim of a name holds it cluster-wide; a holder on a node
//! that is down loses it to the next live claimant (see `docs/cluster.md`).

use arsenal_sdk::distributed;
use arsenal_sdk::prelude::*;

struct ClusterRegistry;

impl Operation for ClusterRegistry {
    fn config() -> Config {
        Config::get("cluster_registry", "/api/v1/cluster/registry")
            .category(Category::Distributed)
            .summary("Global name registry")
            .description(
                "Every name registered cluster-wide with the node and pid holding it, and the \
                 conflicts: names registered on more than one node (the first claim wins) or \
                 held by a node that is down.",
            )
            .response_schema(json!({ "type": "object", "required": ["names", "conflicts"] }))
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        let registry = distributed::global_registry();
        let names: Vec<Value> = registry
            .names
            .iter()
            .map(|name| {
                json!({
                    "name": name.name,
                    "pid": name.pid,
                    "node": name.node,
                    "node_status": distributed::status_name(name.status),
                })
            })
            .collect();
        let conflicts: Vec<Value> = registry
            .conflicts
            .iter()
            .map(|conflict| {
                json!({
                    "name": conflict.name,
                    "holders": conflict.holders,
                    "winner": conflict.winner,
                    "reason": conflict.reason,
                })
            })
            .collect();
        Ok(json!({ "names": names, "conflicts": conflicts }))
    }
}

arsenal_sdk::export!(ClusterRegistry);
