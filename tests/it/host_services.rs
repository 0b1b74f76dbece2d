//! The host's own services as protected processes under the root supervisor `arsenal`:
//! visible and callable through the API, but not to be killed, suspended, hibernated,
//! restarted or reshaped (403 `critical_process_protection`).

use arsenal_testing::TestHost;
use axum::body::Body;
use http::Method;
use serde_json::json;

use crate::{settings, test_host_with};

const SERVICES: [&str; 6] = [
    "compile_cache",
    "engine",
    "http",
    "processes",
    "registry",
    "workers",
];

async fn host() -> TestHost {
    let mut settings = settings();
    settings.server.host_services = true;
    test_host_with(settings, &[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_services_run_as_a_supervised_tree() {
    let host = host().await;
    let tree = host.get("/api/v1/supervisors/arsenal/tree").await;
    assert_eq!(tree.status, 200, "{}", tree.body);
    let children = tree.body["data"]["root"]["children"].as_array().unwrap();
    let mut ids: Vec<_> = children.iter().map(|c| c["id"].as_str().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, SERVICES);
    assert!(
        children
            .iter()
            .all(|c| c["kind"] == "host_service" && c["status"] == "running")
    );

    let listed = host.get("/api/v1/processes?worker=host_service").await;
    assert_eq!(listed.body["data"]["total"], 6, "{}", listed.body);

    // A call to a service answers live facts about it.
    let reply = host
        .post(
            "/api/v1/processes/arsenal.registry/messages",
            json!({ "payload": "status", "call": true }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let facts: serde_json::Value =
        serde_json::from_str(reply.body["data"]["reply"].as_str().unwrap()).unwrap();
    assert_eq!(facts["service"], "registry");
    assert_eq!(facts["operations"], crate::BUILTINS.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_cannot_stop_or_reshape_the_host_services() {
    let host = host().await;
    let delete = |uri: String| {
        let host = &host;
        async move { host.send(Method::DELETE, &uri, Body::empty(), &[]).await }
    };
    for service in SERVICES {
        let target = format!("arsenal.{service}");
        delete(format!("/api/v1/processes/{target}"))
            .await
            .assert_error(403, "critical_process_protection");
        host.post(&format!("/api/v1/processes/{target}/suspend"), json!({}))
            .await
            .assert_error(403, "critical_process_protection");
        host.post(&format!("/api/v1/processes/{target}/hibernate"), json!({}))
            .await
            .assert_error(403, "critical_process_protection");
        host.post(&format!("/api/v1/processes/{target}/restart"), json!({}))
            .await
            .assert_error(403, "critical_process_protection");
    }
    delete("/api/v1/processes/arsenal".to_owned())
        .await
        .assert_error(403, "critical_process_protection");
    delete("/api/v1/supervisors/arsenal".to_owned())
        .await
        .assert_error(403, "critical_process_protection");
    delete("/api/v1/supervisors/arsenal/children/registry".to_owned())
        .await
        .assert_error(403, "critical_process_protection");
    host.post(
        "/api/v1/supervisors/arsenal/children/http/restart",
        json!({}),
    )
    .await
    .assert_error(403, "critical_process_protection");
    host.send(
        Method::PUT,
        "/api/v1/supervisors/arsenal/flags",
        Body::from(json!({ "intensity": 0 }).to_string()),
        &[("content-type", "application/json")],
    )
    .await
    .assert_error(403, "critical_process_protection");
    // Nothing changed.
    let tree = host.get("/api/v1/supervisors/arsenal/tree").await;
    assert_eq!(tree.body["data"]["size"], 7);
    let history = host.get("/api/v1/supervisors/arsenal/restarts").await;
    assert_eq!(history.body["data"]["total"], 0);
}
