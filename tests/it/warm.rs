//! Warm-instance mode, through the router: an instance is reused up to its call budget,
//! only by the principal (and roles) it first served, never after a trap, and never once
//! its version stopped being live. The `instance_counter` guest answers how many calls
//! its instance has served, so each reply shows whether it ran on a fresh instance. The
//! built-ins reuse theirs by default, each instance for one principal.

use arsenal::Role;
use arsenal::config::{OperationOverride, Settings};
use arsenal_testing::{ADMIN_TOKEN, Reply, TestHost};
use axum::body::Body;
use http::Method;

use crate::{guests, test_host_with};

const COUNTER: &str = "/api/v1/test/instance-counter";
const ALICE: &str = "key-of-alice";
const BOB: &str = "key-of-bob";

/// Settings with `instance_counter` in warm-instance mode for `calls` calls, and two
/// viewers, alice and bob, beside an admin.
fn warm(calls: u32) -> Settings {
    // The admin key is the token `TestHost::get` and `send` use.
    let mut settings = crate::keyed(&[
        ("alice", ALICE, Role::Viewer),
        ("bob", BOB, Role::Viewer),
        ("admin", ADMIN_TOKEN, Role::Admin),
    ]);
    settings.operations.overrides.insert(
        "instance_counter".to_owned(),
        OperationOverride {
            warm_instance_calls: Some(calls),
            ..OperationOverride::default()
        },
    );
    settings
}

async fn count_as(host: &TestHost, token: &str, query: &str) -> Reply {
    host.send_as(
        Some(token),
        Method::GET,
        &format!("{COUNTER}{query}"),
        Body::empty(),
        &[],
    )
    .await
}

/// The number of calls the serving instance has answered, this one included.
async fn calls_as(host: &TestHost, token: &str) -> u64 {
    let reply = count_as(host, token, "").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["data"]["calls"].as_u64().expect("a call count")
}

fn idle(host: &TestHost) -> u32 {
    host.host().registry().loader().warm_idle()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_serves_up_to_its_call_budget_then_a_fresh_one_takes_over() {
    let host = test_host_with(warm(3), &[guests::INSTANCE_COUNTER]).await;
    let mut seen = Vec::new();
    for _ in 0..7 {
        seen.push(calls_as(&host, ALICE).await);
    }
    assert_eq!(seen, [1, 2, 3, 1, 2, 3, 1]);
    assert_eq!(idle(&host), 1);
    let stats = host.get("/api/v1/operations/instance_counter/stats").await;
    assert_eq!(
        stats.body["data"]["warm_instances"],
        serde_json::json!({ "max_calls": 3, "across_principals": false, "idle": 1, "reused": 4 })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_setting_every_call_gets_a_fresh_instance() {
    let mut settings = warm(3);
    settings.operations.overrides.clear();
    let host = test_host_with(settings, &[guests::INSTANCE_COUNTER]).await;
    for _ in 0..3 {
        assert_eq!(calls_as(&host, ALICE).await, 1);
    }
    assert_eq!(idle(&host), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_discards_the_instance_and_an_operation_error_does_not() {
    let host = test_host_with(warm(100), &[guests::INSTANCE_COUNTER]).await;
    assert_eq!(calls_as(&host, ALICE).await, 1);
    count_as(&host, ALICE, "?fail=true")
        .await
        .assert_error(409, "conflict");
    assert_eq!(calls_as(&host, ALICE).await, 3, "an error return keeps it");

    count_as(&host, ALICE, "?trap=true")
        .await
        .assert_error(500, "operation_crashed");
    assert_eq!(idle(&host), 0, "the trapped instance is not kept");
    assert_eq!(calls_as(&host, ALICE).await, 1, "a fresh instance follows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_never_serves_another_principal() {
    let host = test_host_with(warm(100), &[guests::INSTANCE_COUNTER]).await;
    let mut seen = Vec::new();
    for token in [ALICE, BOB, ALICE, BOB, BOB, ALICE] {
        let reply = count_as(&host, token, "").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        seen.push((
            reply.body["data"]["principal"].as_str().unwrap().to_owned(),
            reply.body["data"]["calls"].as_u64().unwrap(),
        ));
    }
    let expected = [
        ("alice", 1),
        ("bob", 1),
        ("alice", 2),
        ("bob", 2),
        ("bob", 3),
        ("alice", 3),
    ];
    let seen: Vec<(&str, u64)> = seen.iter().map(|(p, c)| (p.as_str(), *c)).collect();
    assert_eq!(seen, expected);
    assert_eq!(idle(&host), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_instances_are_bounded_over_the_whole_host() {
    let mut settings = warm(100);
    settings.limits.warm_instances = 1;
    let host = test_host_with(settings, &[guests::INSTANCE_COUNTER]).await;
    assert_eq!(calls_as(&host, ALICE).await, 1);
    // Alice's instance holds the only place: bob's is dropped after each call.
    assert_eq!(calls_as(&host, BOB).await, 1);
    assert_eq!(calls_as(&host, BOB).await, 1);
    assert_eq!(calls_as(&host, ALICE).await, 2);
    assert_eq!(idle(&host), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_never_share_an_instance() {
    let host = test_host_with(warm(1_000), &[guests::INSTANCE_COUNTER]).await;
    // Every reply's count is that instance's own sequence: were an instance shared by two
    // calls at once, two replies would carry the same count of the same instance, and the
    // counts over all instances would not add up to the calls made.
    let calls = 64;
    let host = std::sync::Arc::new(host);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..calls {
        let host = host.clone();
        tasks.spawn(async move { calls_as(&host, ALICE).await });
    }
    let mut counts = tasks.join_all().await;
    counts.sort_unstable();
    // Each instance answered 1, 2, ..., n_i: the ones are the instances, and for every k
    // there are at most as many k's as (k-1)'s.
    let instances = counts.iter().filter(|&&count| count == 1).count();
    assert!(instances >= 1);
    let mut previous = usize::MAX;
    for k in 1..=calls as u64 {
        let with_k = counts.iter().filter(|&&count| count == k).count();
        assert!(with_k <= previous, "counts {counts:?}");
        previous = with_k;
    }
    assert_eq!(counts.len(), calls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_version_keeps_no_warm_instances() {
    let host = test_host_with(warm(100), &[guests::INSTANCE_COUNTER]).await;
    assert_eq!(calls_as(&host, ALICE).await, 1);
    assert_eq!(calls_as(&host, ALICE).await, 2);
    assert_eq!(idle(&host), 1);

    let next = arsenal_tests::distinct(&arsenal_tests::read(guests::INSTANCE_COUNTER), "v2");
    let replaced = host
        .send(
            Method::PUT,
            "/api/v1/admin/operations/instance_counter",
            Body::from(next),
            &[("content-type", "application/wasm")],
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_eq!(idle(&host), 0, "the old version's instance was dropped");
    assert_eq!(
        calls_as(&host, ALICE).await,
        1,
        "the new version starts fresh"
    );
    assert_eq!(idle(&host), 1);

    // Rolled back to, the first version is live again and keeps instances again.
    let rolled_back = host
        .send(
            Method::POST,
            "/api/v1/admin/operations/instance_counter/rollback",
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(rolled_back.status, 200, "{}", rolled_back.body);
    assert_eq!(
        idle(&host),
        0,
        "the replaced version's instance was dropped"
    );
    assert_eq!(calls_as(&host, ALICE).await, 1);
    assert_eq!(
        calls_as(&host, ALICE).await,
        2,
        "kept again after the rollback"
    );
}

/// `echo` as `token`, answered with its one parameter back.
async fn echo_as(host: &TestHost, token: &str) {
    let reply = host
        .send_as(
            Some(token),
            Method::GET,
            "/api/v1/echo/7",
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["id"], "7");
}

async fn echo_reuse(host: &TestHost) -> serde_json::Value {
    let stats = host.get("/api/v1/operations/echo/stats").await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    stats.body["data"]["warm_instances"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_built_in_reuses_its_instance_for_one_principal_and_not_across_two() {
    let host = test_host_with(warm(3), &[]).await;
    let listed = host.get("/api/v1/operations/echo").await;
    assert_eq!(
        listed.body["data"]["reuse"],
        serde_json::json!({ "mode": "sequential", "max_calls": 128, "across_principals": false })
    );
    echo_as(&host, ALICE).await;
    echo_as(&host, ALICE).await;
    // Bob's first call does not get alice's instance: a fresh one, kept for him.
    echo_as(&host, BOB).await;
    echo_as(&host, BOB).await;
    assert_eq!(
        echo_reuse(&host).await,
        serde_json::json!({ "max_calls": 128, "across_principals": false, "idle": 2, "reused": 2 })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_built_in_set_to_zero_calls_runs_fresh() {
    let mut settings = warm(3);
    settings.operations.overrides.insert(
        "echo".to_owned(),
        OperationOverride {
            warm_instance_calls: Some(0),
            ..OperationOverride::default()
        },
    );
    let host = test_host_with(settings, &[]).await;
    let listed = host.get("/api/v1/operations/echo").await;
    assert_eq!(
        listed.body["data"]["reuse"],
        serde_json::json!({ "mode": "fresh" })
    );
    echo_as(&host, ALICE).await;
    echo_as(&host, ALICE).await;
    assert_eq!(echo_reuse(&host).await, serde_json::Value::Null);
    assert_eq!(idle(&host), 0);
}
