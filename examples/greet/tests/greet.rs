//! The greet operation's component, built from the current sources and served by an
//! in-process Arsenal host (`arsenal-testing`): by route, by name, and its error answers.

use arsenal_testing::{TestHost, build_component};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greets_by_route_and_by_name_and_refuses_what_it_should() {
    let wasm = build_component(env!("CARGO_MANIFEST_DIR")).expect("the component builds");
    let host = TestHost::with_operations(&[&wasm])
        .await
        .expect("the host loads greet");

    let reply = host.get("/api/v1/greet/ann?times=2").await;
    assert_eq!(reply.assert_ok(200)["greeting"], "hello, ann! hello, ann!");
    assert_eq!(reply.header("x-operation-version"), "0.1.0");

    let reply = host.call("greet", json!({ "name": "bob" })).await;
    assert_eq!(
        reply.assert_ok(200)["greeting"],
        "hello, bob!",
        "times defaults to 1"
    );

    let reply = host.get("/api/v1/greet/nobody").await;
    reply.assert_error(404, "not_found");
    assert_eq!(reply.message(), "there is nobody to greet");
    host.get("/api/v1/greet/ann?times=9")
        .await
        .assert_error(422, "validation_error");
}
