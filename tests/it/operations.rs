//! The built-in operations and the SDK example, end to end through HTTP.

use crate::{guests, test_host};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_answers_its_path_and_query_with_headers() {
    let host = test_host(&[]).await;
    let reply = host.get("/api/v1/echo/abc?x=1&y=two").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body,
        serde_json::json!({ "data": { "id": "abc", "query": { "x": "1", "y": "two" } } })
    );
    assert_eq!(reply.header("x-operation-version"), "0.1.0");
    assert!(!reply.header("x-request-id").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_info_reports_the_host() {
    let host = test_host(&[]).await;
    let reply = host.get("/api/v1/system/info").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let data = &reply.body["data"];
    assert_eq!(data["pid"], std::process::id());
    assert_eq!(data["node"], "local");
    assert_eq!(data["os"], std::env::consts::OS);
    assert!(data["cpus"].as_u64().unwrap() >= 1);
    assert!(data["rss_bytes"].as_u64().unwrap() > 0);
    assert!(
        data["memory_total_bytes"].as_u64().unwrap()
            >= data["memory_available_bytes"].as_u64().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_info_counts_operations_and_the_calling_instance() {
    let host = test_host(&[guests::GREET]).await;
    let reply = host.get("/api/v1/system/engine").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let data = &reply.body["data"];
    assert_eq!(data["wasmtime_version"], "48.0.10");
    assert_eq!(
        data["contract_versions"],
        serde_json::json!(["0.1.0", "0.2.0"])
    );
    assert_eq!(data["max_instances"], 8);
    // The call itself holds one instance.
    assert_eq!(data["instances_in_use"], 1);
    assert_eq!(data["operations_loaded"], crate::BUILTINS.len() + 1);
    assert_eq!(data["default_timeout_ms"], 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_example_serves_success_and_its_error_path() {
    let host = test_host(&[guests::GREET]).await;
    let reply = host.get("/api/v1/greet/ann?times=2").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["greeting"], "hello, ann! hello, ann!");
    let reply = host.get("/api/v1/greet/ann").await;
    assert_eq!(
        reply.body["data"]["greeting"], "hello, ann!",
        "the default applies"
    );
    host.get("/api/v1/greet/nobody")
        .await
        .assert_error(404, "not_found");
    host.get("/api/v1/greet/ann?times=9")
        .await
        .assert_error(422, "validation_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_lists_capabilities_but_not_the_baseline() {
    let host = test_host(&[guests::GREET]).await;
    let reply = host.get("/api/v1/operations").await;
    let operations = reply.body["data"].as_array().unwrap();
    let names: Vec<_> = operations
        .iter()
        .map(|op| op["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, crate::catalogue_with(&["greet"]));
    let capabilities = |name: &str| {
        operations.iter().find(|op| op["name"] == name).unwrap()["capabilities"].clone()
    };
    assert_eq!(capabilities("system_info"), serde_json::json!(["system"]));
    assert_eq!(capabilities("greet"), serde_json::json!([]));
    assert_eq!(
        operations.iter().find(|op| op["name"] == "greet").unwrap()["source"],
        "directory"
    );
}
