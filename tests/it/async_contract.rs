//! The asynchronous contract (`arsenal:operation/async-handler`, component-model async)
//! and concurrent instance reuse, through the router. The `async_meet` guest's calls wait
//! on each other inside one instance (`meet`), so a call that meets another proves both
//! were inside the same instance at once; each answer names its instance, the calls it
//! served and the component's version.

use std::sync::Arc;

use arsenal::Role;
use arsenal::config::{OperationOverride, Settings};
use arsenal_testing::{ADMIN_TOKEN, Reply, TestHost};
use axum::body::Body;
use http::Method;
use serde_json::{Value, json};

use crate::{guests, test_host_with};

const MEET: &str = "/api/v1/test/async-meet";
const ALICE: &str = "key-of-alice";
const BOB: &str = "key-of-bob";

/// Settings with alice and bob (operators) beside an admin, and `async_meet` reusing
/// instances for `calls` calls when `calls` is set.
fn settings(calls: Option<u32>, adjust: impl FnOnce(&mut OperationOverride)) -> Settings {
    let mut settings = crate::keyed(&[
        ("alice", ALICE, Role::Operator),
        ("bob", BOB, Role::Operator),
        ("admin", ADMIN_TOKEN, Role::Admin),
    ]);
    let mut over = OperationOverride {
        warm_instance_calls: calls,
        timeout_ms: Some(5_000),
        ..OperationOverride::default()
    };
    adjust(&mut over);
    settings
        .operations
        .overrides
        .insert("async_meet".to_owned(), over);
    settings
}

async fn meet_as(host: &TestHost, token: &str, body: Value) -> Reply {
    host.send_as(
        Some(token),
        Method::POST,
        MEET,
        Body::from(body.to_string()),
        &[("content-type", "application/json")],
    )
    .await
}

/// The answer of a call that must succeed.
async fn answer(host: &TestHost, token: &str, body: Value) -> Value {
    let reply = meet_as(host, token, body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["data"].clone()
}

/// `bodies`, sent at once as `token`.
async fn all_at_once(host: &Arc<TestHost>, token: &'static str, bodies: Vec<Value>) -> Vec<Reply> {
    let calls = bodies.into_iter().map(|body| {
        let host = host.clone();
        tokio::spawn(async move { meet_as(&host, token, body).await })
    });
    let mut replies = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        replies.push(call.await.expect("the call task ends"));
    }
    replies
}

async fn concurrent_stats(host: &TestHost) -> Value {
    host.get("/api/v1/operations/async_meet/stats").await.body["data"]["concurrent_instances"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_operation_loads_and_runs_on_a_fresh_instance_per_call_by_default() {
    let host = test_host_with(settings(None, |_| {}), &[guests::ASYNC_MEET]).await;
    let listed = host.get("/api/v1/operations/async_meet").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["data"]["interface"], "async_contract");
    assert_eq!(listed.body["data"]["reuse"], json!({ "mode": "fresh" }));

    // It waits on the WASI 0.3 clock, then answers; each call sees a new instance.
    let first = answer(&host, ALICE, json!({ "sleep_ms": 5 })).await;
    let second = answer(&host, ALICE, json!({ "sleep_ms": 5 })).await;
    assert_eq!(first["calls"], 1);
    assert_eq!(second["calls"], 1);
    assert_ne!(first["instance"], second["instance"]);
    assert_eq!(concurrent_stats(&host).await, Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_reuse_calls_run_inside_one_instance_at_once() {
    let host = Arc::new(test_host_with(settings(Some(100), |_| {}), &[guests::ASYNC_MEET]).await);
    // Four calls that return only once all four are inside: one instance serves them all.
    let replies = all_at_once(&host, ALICE, vec![json!({ "meet": "k", "parties": 4 }); 4]).await;
    let mut instances = Vec::new();
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["data"]["most_inside"], 4);
        instances.push(reply.body["data"]["instance"].clone());
    }
    instances.dedup();
    assert_eq!(instances.len(), 1, "one instance: {instances:?}");

    let catalogue = host.get("/api/v1/operations").await;
    let entry = catalogue.body["data"]
        .as_array()
        .and_then(|ops| ops.iter().find(|op| op["name"] == "async_meet"))
        .cloned()
        .unwrap_or_else(|| panic!("async_meet is listed: {}", catalogue.body));
    assert_eq!(
        entry["reuse"],
        json!({ "mode": "concurrent", "max_calls": 100, "at_once": 16, "across_principals": false })
    );

    let next = answer(&host, ALICE, json!({})).await;
    assert_eq!(next["instance"], instances[0], "the instance is kept");
    assert_eq!(next["calls"], 5);
    let stats = concurrent_stats(&host).await;
    assert_eq!(stats["max_calls"], 100);
    assert_eq!(stats["at_once"], 16);
    assert_eq!(stats["across_principals"], false);
    assert_eq!(stats["instances"], 1);
    assert_eq!(stats["in_flight"], 0);
    assert_eq!(stats["reused"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_takes_at_most_its_concurrent_calls_and_its_call_budget() {
    // One call at a time: two calls waiting for each other never meet, and each fails at
    // its deadline.
    let host = Arc::new(
        test_host_with(
            settings(Some(100), |over| {
                over.warm_concurrent_calls = Some(1);
                over.timeout_ms = Some(300);
            }),
            &[guests::ASYNC_MEET],
        )
        .await,
    );
    let replies = all_at_once(&host, ALICE, vec![json!({ "meet": "k", "parties": 2 }); 2]).await;
    for reply in &replies {
        assert_eq!(reply.status, 504, "{}", reply.body);
        assert_eq!(reply.body["error"]["code"], "operation_timeout");
    }

    // A budget of 2 calls: the third call starts a new instance.
    let host = test_host_with(settings(Some(2), |_| {}), &[guests::ASYNC_MEET]).await;
    let calls: Vec<Value> = [
        answer(&host, ALICE, json!({})).await,
        answer(&host, ALICE, json!({})).await,
        answer(&host, ALICE, json!({})).await,
    ]
    .into_iter()
    .map(|answer| answer["calls"].clone())
    .collect();
    assert_eq!(calls, [1, 2, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_fails_only_the_calls_inside_its_instance() {
    let host = Arc::new(test_host_with(settings(Some(100), |_| {}), &[guests::ASYNC_MEET]).await);
    let bobs = answer(&host, BOB, json!({})).await;

    // Three calls meet; then one traps while the other two are still inside (they hang).
    let replies = all_at_once(
        &host,
        ALICE,
        vec![
            json!({ "meet": "t", "parties": 3, "then": "hang" }),
            json!({ "meet": "t", "parties": 3, "then": "hang" }),
            json!({ "meet": "t", "parties": 3, "then": "trap" }),
        ],
    )
    .await;
    let seen: Vec<_> = replies.iter().map(|reply| reply.body.to_string()).collect();
    for reply in &replies {
        assert_eq!(reply.status, 500, "{seen:?}");
        assert_eq!(
            reply.body["error"]["code"], "operation_crashed",
            "{}",
            reply.body
        );
    }

    // Alice's next call gets a new instance; bob's instance never noticed.
    let after = answer(&host, ALICE, json!({})).await;
    assert_eq!(after["calls"], 1);
    let bobs_next = answer(&host, BOB, json!({})).await;
    assert_eq!(bobs_next["instance"], bobs["instance"]);
    assert_eq!(bobs_next["calls"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_serve_one_principal_unless_the_operator_shares_them() {
    let host = test_host_with(settings(Some(100), |_| {}), &[guests::ASYNC_MEET]).await;
    let alices = answer(&host, ALICE, json!({})).await;
    let bobs = answer(&host, BOB, json!({})).await;
    assert_ne!(alices["instance"], bobs["instance"]);
    assert_eq!(bobs["principal"], "bob");
    let again = answer(&host, ALICE, json!({})).await;
    assert_eq!(
        (&again["instance"], &again["calls"]),
        (&alices["instance"], &json!(2))
    );

    let shared = test_host_with(
        settings(Some(100), |over| over.warm_across_principals = Some(true)),
        &[guests::ASYNC_MEET],
    )
    .await;
    let alices = answer(&shared, ALICE, json!({})).await;
    let bobs = answer(&shared, BOB, json!({})).await;
    assert_eq!(bobs["instance"], alices["instance"]);
    assert_eq!(bobs["calls"], 2);
    assert_eq!(concurrent_stats(&shared).await["across_principals"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_replace_lets_the_calls_inside_finish_and_sends_new_ones_to_the_new_version() {
    let host = Arc::new(test_host_with(settings(Some(100), |_| {}), &[guests::ASYNC_MEET]).await);
    let in_flight = {
        let host = host.clone();
        tokio::spawn(async move { meet_as(&host, ALICE, json!({ "sleep_ms": 300 })).await })
    };
    // The call holds the version's one instance (and its instance slot) until it answers.
    host.host().registry().instances().busy_at_least(1).await;

    let replaced = host
        .send(
            Method::PUT,
            "/api/v1/admin/operations/async_meet",
            Body::from(arsenal_tests::read(guests::ASYNC_MEET_V2)),
            &[("content-type", "application/wasm")],
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    let next = answer(&host, ALICE, json!({})).await;
    assert_eq!(
        (&next["version"], &next["calls"]),
        (&json!("2.0.0"), &json!(1))
    );

    let finished = in_flight.await.expect("the call task ends");
    assert_eq!(finished.status, 200, "{}", finished.body);
    assert_eq!(finished.body["data"]["version"], "1.0.0");
}
