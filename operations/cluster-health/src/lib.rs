//! Built-in operation `cluster_health`: whether every known node is up, as this node sees
//! the cluster. A node that is not clustered is a healthy cluster of one.

use arsenal_sdk::distributed::{self, NodeStatus};
use arsenal_sdk::prelude::*;

struct ClusterHealth;

impl Operation for ClusterHealth {
    fn config() -> Config {
        Config::get("cluster_health", "/api/v1/cluster/health")
            .category(Category::Distributed)
            .summary("Cluster health")
            .description(
                "`healthy` when every known node is up; `degraded` when some are down; \
                 `isolated` when this node is cut off from NATS (peers are then `unknown`).",
            )
            .response_schema(json!({
                "type": "object",
                "required": ["status", "node", "clustered", "connection", "nodes"]
            }))
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        let view = distributed::view();
        let named = |wanted: NodeStatus| -> Vec<String> {
            view.members
                .iter()
                .filter(|member| member.status == wanted)
                .map(|member| member.node.clone())
                .collect()
        };
        let (up, down, unknown) = (named(NodeStatus::Up), named(NodeStatus::Down), named(NodeStatus::Unknown));
        let status = if view.clustered && view.connection != "connected" {
            "isolated"
        } else if !down.is_empty() {
            "degraded"
        } else {
            "healthy"
        };
        Ok(json!({
            "status": status,
            "node": view.node,
            "clustered": view.clustered,
            "connection": view.connection,
            "nodes": view.members.len(),
            "up": up.len() + 1,
            "up_nodes": up,
            "down_nodes": down,
            "unknown_nodes": unknown,
            "heartbeat_ms": view.heartbeat_ms,
            "down_after_ms": view.down_after_ms,
        }))
    }
}

arsenal_sdk::export!(ClusterHealth);
