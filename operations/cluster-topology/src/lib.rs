//! Built-in operation `cluster_topology`: every known node with its address, version and
//! load, and whether the nodes that are up serve the same component versions.

use std::collections::{BTreeMap, BTreeSet};

use arsenal_sdk::distributed::{self, NodeStatus};
use arsenal_sdk::prelude::*;

struct ClusterTopology;

impl Operation for ClusterTopology {
    fn config() -> Config {
        Config::get("cluster_topology", "/api/v1/cluster/topology")
            .category(Category::Distributed)
            .summary("Cluster topology")
            .description(
                "The nodes (this one first) with status, address, version, incarnation and \
                 load, and `inconsistent`: components whose revision differs between nodes \
                 that are up.",
            )
            .response_schema(json!({
                "type": "object",
                "required": ["node", "nodes", "inconsistent"]
            }))
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        let view = distributed::view();
        // kind/name → revision → nodes serving it.
        let mut revisions: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for member in &view.members {
            if !matches!(member.status, NodeStatus::ThisNode | NodeStatus::Up) {
                continue;
            }
            for component in &member.components {
                revisions
                    .entry(format!("{}/{}", component.kind, component.name))
                    .or_default()
                    .entry(component.revision.clone())
                    .or_default()
                    .insert(member.node.clone());
            }
        }
        // A component some of those nodes lack differs there too: admin changes, unloads
        // included, reach every node, so only a node that failed to follow one (or a
        // directory of its own) lacks it.
        let serving: BTreeSet<String> = view
            .members
            .iter()
            .filter(|member| matches!(member.status, NodeStatus::ThisNode | NodeStatus::Up))
            .map(|member| member.node.clone())
            .collect();
        for by_revision in revisions.values_mut() {
            let holding: BTreeSet<String> = by_revision.values().flatten().cloned().collect();
            let lacking: BTreeSet<String> = serving.difference(&holding).cloned().collect();
            if !lacking.is_empty() {
                by_revision.insert("absent".to_owned(), lacking);
            }
        }
        let inconsistent: Vec<Value> = revisions
            .into_iter()
            .filter(|(_, by_revision)| by_revision.len() > 1)
            .map(|(component, by_revision)| json!({ "component": component, "revisions": by_revision }))
            .collect();
        let nodes: Vec<Value> = view
            .members
            .iter()
            .map(|member| {
                let mut node = distributed::member_json(member);
                node["components"] = json!(member.components.len());
                node
            })
            .collect();
        Ok(json!({
            "node": view.node,
            "clustered": view.clustered,
            "connection": view.connection,
            "nodes": nodes,
            "inconsistent": inconsistent,
        }))
    }
}

arsenal_sdk::export!(ClusterTopology);
