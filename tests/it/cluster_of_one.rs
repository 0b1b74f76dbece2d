//! A node with no `cluster.nats_url` is a cluster of one: the distributed operations
//! answer truthfully about it, and a call addressed to any other node answers 404
//! `node_not_found` naming it. (Clusters on NATS are tested in `tests/cluster/`.)

use axum::body::Body;
use http::Method;
use serde_json::json;

use crate::{encode, host_with_counters};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_operations_describe_a_cluster_of_one() {
    let host = host_with_counters(&["solo"]).await;
    let health = host.get("/api/v1/cluster/health").await;
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(
        health.body["data"],
        json!({
            "status": "healthy", "node": "local", "clustered": false,
            "connection": "standalone", "nodes": 1, "up": 1, "up_nodes": [],
            "down_nodes": [], "unknown_nodes": [], "heartbeat_ms": 1000, "down_after_ms": 5000,
        })
    );
    let topology = host.get("/api/v1/cluster/topology").await;
    assert_eq!(topology.status, 200);
    let nodes = topology.body["data"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0]["status"], "this_node");
    assert_eq!(nodes[0]["load"]["processes"], 1);
    assert_eq!(topology.body["data"]["inconsistent"], json!([]));

    let node = host.get("/api/v1/cluster/nodes/local").await;
    assert_eq!(node.status, 200);
    assert!(
        node.body["data"]["components"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "worker" && c["name"] == "counter")
    );
    let other = host.get("/api/v1/cluster/nodes/elsewhere").await;
    assert_eq!(
        (other.status.as_u16(), other.body["error"]["code"].as_str()),
        (404, Some("node_not_found"))
    );
    let malformed = host.get("/api/v1/cluster/nodes/no.dots").await;
    assert_eq!(malformed.status, 422);

    let processes = host.get("/api/v1/cluster/processes").await;
    assert_eq!(processes.status, 200, "{}", processes.body);
    assert_eq!(processes.body["data"]["total"], 1);
    assert_eq!(processes.body["data"]["nodes"][0]["node"], "local");
    assert_eq!(
        processes.body["data"]["nodes"][0]["processes"][0]["name"],
        "solo"
    );
    // A node that is not a member is not there: 404, not "unavailable".
    for node in ["b", "0"] {
        let elsewhere = host
            .get(&format!("/api/v1/cluster/processes?node={node}"))
            .await;
        elsewhere.assert_error(404, "node_not_found");
        assert_eq!(elsewhere.body["error"]["details"]["node"], node);
    }

    let trees = host.get("/api/v1/cluster/supervision-trees").await;
    assert_eq!(trees.status, 200);
    assert_eq!(trees.body["data"]["nodes"][0]["total_processes"], 1);

    let registry = host.get("/api/v1/cluster/registry").await;
    assert_eq!(registry.status, 200);
    assert_eq!(registry.body["data"]["names"][0]["name"], "solo");
    assert_eq!(
        registry.body["data"]["names"][0]["node_status"],
        "this_node"
    );
    assert_eq!(registry.body["data"]["conflicts"], json!([]));

    let plan = host
        .post("/api/v1/cluster/balance", json!({ "apply": true }))
        .await;
    assert_eq!(plan.status, 200, "{}", plan.body);
    assert_eq!(plan.body["data"]["plan"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_node_is_not_found_without_a_cluster() {
    let host = host_with_counters(&["solo"]).await;
    let forwarded = host
        .send(
            Method::GET,
            "/api/v1/system/info",
            Body::empty(),
            &[("x-arsenal-node", "b")],
        )
        .await;
    forwarded.assert_error(404, "node_not_found");
    assert_eq!(forwarded.body["error"]["details"]["node"], "b");
    // Naming this node runs the call here.
    let here = host
        .send(
            Method::GET,
            "/api/v1/system/info",
            Body::empty(),
            &[("x-arsenal-node", "local")],
        )
        .await;
    assert_eq!(here.status, 200);
    let pid = host.host().processes().whereis("solo").unwrap().to_string();
    let moved = host
        .post(
            &format!("/api/v1/processes/{}/migrate", encode(&pid)),
            json!({ "node": "b" }),
        )
        .await;
    moved.assert_error(404, "node_not_found");
    assert_eq!(moved.body["error"]["details"]["node"], "b");
    let to_self = host
        .post("/api/v1/processes/solo/migrate", json!({ "node": "local" }))
        .await;
    assert_eq!(
        (
            to_self.status.as_u16(),
            to_self.body["error"]["code"].as_str()
        ),
        (409, Some("not_movable"))
    );
    // Reads of the cluster are a viewer's; moving processes is an operator's.
    let anonymous = host
        .send_as(
            None,
            Method::GET,
            "/api/v1/cluster/health",
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(anonymous.status, 200);
    let refused = host
        .send_as(
            None,
            Method::POST,
            "/api/v1/processes/solo/migrate",
            Body::from(json!({ "node": "b" }).to_string()),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(refused.status, 401, "{}", refused.body);
}
